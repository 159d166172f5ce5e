"""Every real-world shape under tests/unit/fixtures/projects, migrated for real on the local engine.

Each fixture is copied, given a compose override that runs its kept services from images this machine has (real
MariaDB and Redis; the orchestration-only stand-in base for apps, search engines, Postgres and Alertmanager) on
ephemeral loopback ports (Compose's `!override`, which the migration must read and keep), and a compose project
name of its own. Then one `ansible-playbook migrate.yml` run over all of them in parallel (one inventory host per
fixture, each with its own project directory and host ports): first `--check --diff` (must succeed and change no
file and nothing in the engine), then the real migration (every kept service and the stack's components running,
no removed service left). A converging re-run is proven on the example (molecule's idempotence) and on the remote
and object-storage migrations; here it would add about a third to the step's time on two cores.

Stand-ins are orchestration only: this proves that the plan of every shape applies, starts and converges, never
anything about telemetry (the unit suites and molecule/e2e do that).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, Output, engine_state, snapshot
from tests.integration.test_two_projects import HOST_PORT_VARS, free_ports, stack_vars

sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.lgtm.stack.plugins.module_utils import compose_edit, compose_model  # noqa: E402
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L  # noqa: E402

FIXTURES_DIR = ROOT / "tests" / "unit" / "fixtures" / "projects"
FIXTURES = sorted(p.name for p in FIXTURES_DIR.iterdir() if p.is_dir())
# lgtm-par-: the suite's second engine lane (tests/suite.py), which the other lane's engine snapshots leave out.
PREFIX = "lgtm-par-fx-"
CATALOG = json.loads((ROOT / "tests" / "harness" / "images.json").read_text())
# Kept services run from these (the rest of a kept project: the orchestration-only stand-in base).
REAL = {"mysql": "mariadb", "redis": "redis"}
VOLUME_PATHS = {"mysql": "/var/lib/mysql", "redis": "/data"}
STACK = ("alloy", "tempo", "loki", "mimir", "grafana")
# What the user answers when the migration refuses a name clash (P017): the stack's service gets another name.
FIXTURE_VARS = {"name-clash": {"lgtm_migrate_service_names": {"tempo": "lgtm-tempo"}},
                "partial-lgtm": {"lgtm_migrate_service_names": {"alloy": "lgtm-alloy"}}}


def _project(name):
    return PREFIX + name


def _sh(*argv, check=True, **kwargs):
    proc = subprocess.run(list(argv), capture_output=True, text=True, **kwargs)
    if check and proc.returncode:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def teardown(project):
    for kind, extra in (("container", ["--all"]), ("volume", [])):
        ids = _sh("docker", kind, "ls", "--quiet", *extra, "--filter",
                  "label=com.docker.compose.project=%s" % project).split()
        if ids:
            _sh("docker", kind, "rm", "--force", *(["--volumes"] if kind == "container" else []), *ids, check=False)
    networks = _sh("docker", "network", "ls", "--format", "{{.Name}}").split()
    for network in networks:
        if network in ("lgtm-" + project, project + "_default") or network.startswith(project + "_"):
            _sh("docker", "network", "rm", network, check=False)


def runnable_copy(name, target):
    """The fixture as compose project lgtm-par-fx-<name>, runnable here: its kept services on local images."""
    shutil.copytree(str(FIXTURES_DIR / name), str(target))
    files = compose_model.discover_compose_files(str(target))
    # The last file Compose reads (an override, or the last of COMPOSE_FILE), else a new override twin.
    override = files[-1] if len(files) > 1 else re.sub(r"(\.ya?ml)$", r".override\1", files[0])
    legacy = L.analyse_project(str(target))
    kept = dict((svc, info) for svc, info in legacy["services"].items()
                if info.get("component") in ("app", "other", "mysql", "redis"))
    text = Path(override).read_text() if os.path.exists(override) else ""
    doc = compose_edit.load(text, override)
    doc["name"] = _project(name)
    services = doc.setdefault("services", {})
    local = dict((key, spec["local"]) for key, spec in CATALOG["images"].items())
    for svc, info in sorted(kept.items()):
        entry = services.get(svc)
        if entry is None:
            services[svc] = entry = compose_edit.CommentedMap()
        entry["image"] = local[REAL.get(info["component"], "standin_base")]
        # The real images declare VOLUME /var/lib/mysql and /data: a service that mounts nothing there would get an
        # anonymous volume, named by a hash and labelled with no project, which the suite's other engine lane
        # would see appear in its engine snapshots. A named volume of this project holds it instead.
        path = VOLUME_PATHS.get(info["component"])
        if path and not any(v.get("target") == path for v in info.get("volumes") or []):
            volume = "lgtm-par-data-%s" % svc
            entry.setdefault("volumes", []).append("%s:%s" % (volume, path))
            doc.setdefault("volumes", compose_edit.CommentedMap())[volume] = None
        # No build (the image is there), ephemeral loopback ports (fixtures publish the same ones: they run side by
        # side here).
        entry["build"] = _tagged("!reset", None)
        targets = sorted(set(p["target"] for p in info.get("ports") or []))
        entry["ports"] = _tagged("!override", ["127.0.0.1::%d" % t for t in targets])
    with open(override, "w") as handle:
        handle.write(compose_edit.dump(doc))
    return legacy


def _tagged(tag, value):
    """A value carrying a Compose merge tag, as the round-trip loader reads one."""
    return compose_edit.load("v: %s %s\n" % (tag, json.dumps(value)), "tag")["v"]


def inventory(tmp_path, projects):
    harness_vars = stack_vars()
    ports = free_ports(len(projects) * len(HOST_PORT_VARS))
    hosts = {}
    for index, (name, directory) in enumerate(sorted(projects.items())):
        host = dict(harness_vars, **dict(zip(HOST_PORT_VARS, ports[index * len(HOST_PORT_VARS):][:len(HOST_PORT_VARS)])))
        host.update({"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                     "lgtm_project_dir": str(directory),
                     "lgtm_alloy_jaeger_host_ports": {"thrift_compact": 0, "thrift_binary": 0, "thrift_http": 0,
                                                      "grpc": 0},
                     # Fixtures whose exporters keep their secret elsewhere: the real run asks for it.
                     "lgtm_exporters_mysqld_password": "fx-exporter-pw", "lgtm_exporters_redis_password": "fx-redis"})
        host.update(FIXTURE_VARS.get(name) or {})
        hosts["fx_" + name.replace("-", "_")] = host
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"fixtures": {"hosts": hosts}}))
    os.chmod(str(path), 0o600)
    return path


def playbook(inv, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(["ansible-playbook", "-i", str(inv), "--forks", str(len(FIXTURES)), str(ROOT / "migrate.yml"),
                           "-e", "lgtm_hosts=fixtures", *extra], cwd=str(ROOT), capture_output=True, text=True,
                          env=env, timeout=1800)
    return proc.returncode, Output(proc.stdout + proc.stderr)


def failures(out, tail=2000):
    """What a failed run says: each `fatal:`/`failed:` block (the task before it and the block up to the next
    task, without compose's per-object action list, so that the message is never cut off), then the tail.
    Ten hosts' output interleaves; the last 6000 characters alone can miss the one that failed."""
    lines = str(out).splitlines()
    blocks = []
    for index, line in enumerate(lines):
        if re.match(r"^(fatal|failed): \[", line):
            task = next((lines[i] for i in range(index, -1, -1) if lines[i].startswith("TASK [")), "")
            block = []
            for following in lines[index:index + 400]:
                if block and (following.startswith("TASK [") or re.match(r"^(ok|changed|skipping|fatal): \[", following)):
                    break
                if not re.match(r"^\s*(-\s+id:|status:|what:)", following):
                    block.append(following)
            blocks.append("\n".join([task] + block[:80]))
    return "\n...\n".join(blocks)[-12000:] + "\n--- tail ---\n" + str(out)[-tail:]


def recap(out):
    """host -> {ok, changed, failed, ...} of a run's PLAY RECAP (the last one per host)."""
    found = {}
    for host, counts in re.findall(r"^(fx_\S+)\s*:\s*(ok=.*)$", out, re.M):
        found[host] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", counts))
    return found


def running(project):
    out = _sh("docker", "container", "ls", "--filter", "label=com.docker.compose.project=%s" % project,
              "--format", '{{.Label "com.docker.compose.service"}} {{.State}}')
    return dict(line.split() for line in out.splitlines())


@pytest.fixture
def fixtures(tmp_path):
    for name in FIXTURES:
        teardown(_project(name))
    try:
        yield tmp_path
    finally:
        for name in FIXTURES:
            teardown(_project(name))


def test_every_fixture_previews_and_migrates(fixtures):
    tmp = fixtures
    projects, legacies = {}, {}
    for name in FIXTURES:
        projects[name] = tmp / name
        legacies[name] = runnable_copy(name, projects[name])
    inv = inventory(tmp, projects)
    hosts = dict(("fx_" + name.replace("-", "_"), name) for name in FIXTURES)

    # The preview: succeeds on every shape, changes no file and nothing in the engine.
    trees = dict((name, snapshot.tree(str(path))) for name, path in projects.items())
    # The engine as far as these projects go: the suite's other engine lane runs beside this one.
    engine = engine_state(PREFIX)
    rc, out = playbook(inv, "--check", "--diff")
    assert rc == 0, failures(out)
    counts = recap(out)
    assert set(counts) == set(hosts), sorted(counts)
    for host, name in hosts.items():
        assert counts[host]["failed"] == 0 and counts[host]["changed"] > 0, (name, counts[host])
        assert snapshot.tree(str(projects[name])) == trees[name], "--check changed %s" % name
    assert engine_state(PREFIX) == engine, "--check changed containers, volumes or networks"

    # The migration itself.
    rc, out = playbook(inv)
    assert rc == 0, failures(out)
    counts = recap(out)
    for host, name in hosts.items():
        assert counts[host]["failed"] == 0 and counts[host]["changed"] > 0, (name, counts[host])
        report = json.loads((projects[name] / "observability" / "MIGRATION_REPORT.json").read_text())
        plan = report["plan"]
        names = plan.get("service_names") or {}
        state = running(_project(name))
        stack = set(names.get(c, c) for c in STACK)
        removed = set(r["service"] for r in plan["remove_services"])
        kept = set(legacies[name]["services"]) - removed
        assert stack | kept <= set(state), (name, sorted(state), sorted(stack | kept))
        assert set(state.values()) == {"running"}, (name, state)
        # A removed service runs no more, unless the stack's own service took its name (service_names: a new
        # exporter may keep the legacy exporter's name).
        assert not removed & (set(state) - stack - set(names.values())), (name, sorted(state))
