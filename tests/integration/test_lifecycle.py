"""The migration on real containers: secrets, kills at several points, rollback.

The example runs from this machine's images (tests/harness/dockerhost.py legacy-override): MariaDB, Redis,
Prometheus and the exporters are real, the rest are orchestration-only stand-ins - these tests are about files,
containers, volumes and data, not telemetry. The compose project is `lgtm-it`; the tests run one after another
and tear it down.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests import docs_commands
from tests.integration.conftest import EXAMPLE, ROOT, Output, snapshot
from tests.integration.test_two_projects import stack_vars

PROJECT = "lgtm-it"
EXPORTER_PW = "it-exporter-S3cret-71"
GRAFANA_PW = "it-grafana-S3cret-72"
SECRETS = (EXPORTER_PW, GRAFANA_PW)


def _sh(*argv, **kwargs):
    return subprocess.run(list(argv), capture_output=True, text=True, check=True, **kwargs).stdout


def _teardown():
    for kind, extra in (("container", ["--all"]), ("volume", [])):
        ids = _sh("docker", kind, "ls", "--quiet", *extra, "--filter",
                  "label=com.docker.compose.project=%s" % PROJECT).split()
        if ids:
            subprocess.run(["docker", kind, "rm", "--force"] + ids, capture_output=True)
    subprocess.run(["docker", "network", "rm", PROJECT + "_" + PROJECT, PROJECT, PROJECT + "_default"], capture_output=True)


@pytest.fixture
def project(tmp_path):
    """The example, with recognisable stack secrets, running its legacy stack; torn down afterwards."""
    _teardown()
    target = tmp_path / "shop"
    shutil.copytree(EXAMPLE, target)
    for rel in ("exporters/mysqld-exporter.my.cnf", "mysql/init.sql"):
        path = target / rel
        path.write_text(path.read_text().replace("example-exporter-pw", EXPORTER_PW))
    override = _sh(sys.executable, "-m", "tests.harness.dockerhost", "legacy-override", cwd=str(ROOT))
    (target / "docker-compose.override.yml").write_text(override + "name: %s\n" % PROJECT)
    varsfile = tmp_path / "vars.json"
    varsfile.write_text(json.dumps(dict(stack_vars(), lgtm_network=PROJECT, lgtm_grafana_admin_password=GRAFANA_PW)))
    os.chmod(varsfile, 0o600)
    _sh("docker", "compose", "up", "--detach", "--wait", cwd=str(target))
    _wait_for_mariadb(target)
    # A row of real data that must survive everything.
    _mariadb(target, "INSERT INTO products (sku, name, price_cents) VALUES ('IT-KEEP', 'kept', 1);")
    try:
        yield target, varsfile
    finally:
        _teardown()


def _mariadb(target, sql):
    env = dict(line.split("=", 1) for line in (target / ".env").read_text().splitlines() if "=" in line
               and not line.startswith("#"))
    return _sh("docker", "compose", "exec", "-T", "-e", "MYSQL_PWD=" + env["MYSQL_ROOT_PASSWORD"], "mysql",
               "mariadb", "-uroot", "-N", "shop", "-e", sql, cwd=str(target))


def _wait_for_mariadb(target, deadline=90):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            _mariadb(target, "SELECT 1;")
            return
        except subprocess.CalledProcessError:
            time.sleep(2)
    raise AssertionError("MariaDB did not come up")


def _migrate(target, varsfile, *extra, playbook="migrate.yml", fault=None):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    if fault:
        env.update({"ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "tests/integration/callback_plugins"),
                    "ANSIBLE_CALLBACKS_ENABLED": "lgtm_fault"})
        env.update(fault)
    argv = ["ansible-playbook", str(ROOT / playbook), "-e", "lgtm_project_dir=%s" % target, "-e", "@%s" % varsfile]
    proc = subprocess.run(argv + list(extra), cwd=str(ROOT), capture_output=True, text=True, env=env,
                          start_new_session=True, timeout=900)
    return proc.returncode, Output(proc.stdout + proc.stderr)


def _services(state="running"):
    out = _sh("docker", "container", "ls", "--all", "--filter", "label=com.docker.compose.project=%s" % PROJECT,
              "--format", '{{.Label "com.docker.compose.service"}} {{.State}}')
    return sorted(line.split()[0] for line in out.splitlines() if line.endswith(" " + state))


def _normalised(target, rel, entry):
    """A file's entry with the project's own path (it differs between test runs) taken out of the content."""
    if not entry.startswith("file"):
        return entry
    content = (target / rel).read_bytes().replace(str(target).encode(), b"<project>")
    return "file %s %s" % (entry.split()[1], hashlib.sha256(content).hexdigest())


def _end_state(target):
    """Everything a migration decides, without what differs by run time (backup and stamp names)."""
    tree = dict((k, _normalised(target, k, v)) for k, v in snapshot.tree(str(target)).items())
    files = dict((k, v) for k, v in tree.items()
                 if not k.startswith(".lgtm-backup") and k not in ("observability/.lgtm-stamp.json",
                                                                   "observability/MIGRATION_REPORT.json"))
    report = json.loads((target / "observability/MIGRATION_REPORT.json").read_text().replace(str(target), "<project>"))
    report.pop("backup")
    backups = [d for d in sorted(os.listdir(str(target / ".lgtm-backup"))) if not d.startswith(".")]
    backup = dict((k.split("/", 2)[2], v) for k, v in tree.items()
                  if k.startswith(".lgtm-backup/") and k.count("/") >= 2)
    volumes = sorted(v[len(PROJECT) + 1:] for v in _sh("docker", "volume", "ls", "--format", "{{.Name}}").split()
                     if v.startswith(PROJECT + "_"))
    return {"files": files, "report": report, "backups": len(backups), "backup": backup,
            "running": _services(), "volumes": volumes}


def test_secrets_stay_secret_and_rollback_restores_every_byte(project):
    target, varsfile = project
    before = snapshot.tree(str(target))
    rc, out = _migrate(target, varsfile, "-v", "--diff")
    assert rc == 0, out[-4000:]
    rc, out2 = _migrate(target, varsfile, "--diff")
    assert rc == 0 and "changed=0" in out2, out2[-3000:]
    for secret in SECRETS:
        assert secret not in out + out2, "secret in the Ansible output"
    # Only in files of mode 0600 among what the migration wrote.
    for rel, entry in snapshot.tree(str(target)).items():
        if not entry.startswith("file") or (rel in before and not rel.startswith("observability")):
            continue
        content = (target / rel).read_bytes()
        for secret in SECRETS:
            if secret.encode() in content:
                assert entry.split()[1] == "600", (rel, entry)
    assert GRAFANA_PW in (target / "observability/grafana/admin_password").read_text()
    # Never in a process argument list or a container's environment.
    for cid in _sh("docker", "container", "ls", "-q", "--filter", "label=com.docker.compose.project=%s" % PROJECT).split():
        config = _sh("docker", "inspect", "--format", "{{json .Config.Env}} {{json .Args}} {{json .Config.Cmd}}", cid)
        for secret in SECRETS:
            assert secret not in config, cid
    assert not any(s in _sh("ps", "-eo", "args") for s in SECRETS)
    _assert_hardened(target)
    # verify.yml on stand-ins (the harness turns the probe off): it must say that it checked nothing, not pretend.
    rc, out = _migrate(target, varsfile, playbook="verify.yml")
    assert rc == 0 and "lgtm_verify_probe is false" in out and "checked nothing" in out, out[-2000:]
    # The paths the docs name exist on the migrated project; then every command the docs show runs on it, as
    # written, ending with both rollbacks (named backup, then newest): every file that existed before is back
    # byte for byte (and mode), the old services run again.
    missing = docs_commands.missing_paths("lifecycle", target)
    assert missing == [], "the docs name paths the migration did not make: %s" % missing
    _run_documented_commands(target, varsfile)
    after = snapshot.tree(str(target))
    assert dict((k, after.get(k)) for k in before) == before
    assert _services() == ["api", "grafana", "jaeger", "loki", "mysql", "mysqld-exporter", "prometheus", "promtail",
                           "redis", "redis-exporter"]
    assert "IT-KEEP" in _mariadb(target, "SELECT sku FROM products;")


def _run_documented_commands(target, varsfile):
    """tests/docs_commands.yml's `lifecycle` commands, in order, as the docs spell them (placeholders filled in,
    the test's stand-in images and variables added to ansible-playbook with -e @vars.json)."""
    # Backups are the timestamped directories (.gitignore keeps them out of git; .undo lives only during a run).
    backups = sorted(d for d in os.listdir(str(target / ".lgtm-backup")) if not d.startswith("."))
    assert len(backups) == 1, backups
    base_image = json.loads((ROOT / "tests/harness/images.json").read_text())["base"]["local"]
    docs_vars = target.parent / "docs-vars.json"
    docs_vars.write_text(json.dumps(dict(json.loads(varsfile.read_text()), lgtm_project_dir=str(target))))
    os.chmod(str(docs_vars), 0o600)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    for entry in docs_commands.load()["lifecycle"]:
        command = (entry["cmd"].replace("/srv/shop", str(target)).replace("<projeto>", PROJECT)
                   .replace("<uma imagem local com tar>", base_image).replace("20261125T120000Z", backups[0]))
        playbook = command.startswith("ansible-playbook ")
        if playbook:
            command += " -e @%s" % docs_vars
        script = command if entry.get("pipe") != "first" else command + '; exit "${PIPESTATUS[0]}"'
        started = time.monotonic()
        proc = subprocess.run(["bash", "-c", script], cwd=str(ROOT if playbook else target), capture_output=True,
                              text=True, env=env, timeout=900)
        out = proc.stdout + proc.stderr
        print("documented command, rc %s in %.1fs: %s" % (proc.returncode, time.monotonic() - started, command))
        assert proc.returncode == 0, "documented command failed (%s): %s\n%s" % (proc.returncode, entry["cmd"],
                                                                                 out[-2500:])
        assert not any(secret in out for secret in SECRETS), "a stack secret in the output of %s" % entry["cmd"]
        if entry.get("expect"):
            # Whitespace runs as one space: the YAML callback folds long lines where the path length decides.
            assert re.search(entry["expect"], " ".join(out.split())), "%s: no match for %r in\n%s" % (
                entry["cmd"], entry["expect"], out[-2500:])
        if entry.get("creates"):
            created = target / entry["creates"]
            assert created.is_file() and created.stat().st_size > 0, entry["cmd"]
            created.unlink()
        if entry["cmd"] == "docker compose up -d":
            _wait_for_mariadb(target)
            assert "IT-KEEP" in _mariadb(target, "SELECT sku FROM products;"), "data lost by down/up"
    docs_vars.unlink()


def _assert_hardened(target):
    """The stack's containers: ports on 127.0.0.1 only, nothing privileged, the Docker socket read-only, pinned
    images, Grafana without anonymous access or sign-up."""
    stack = ("alloy", "tempo", "loki", "mimir", "grafana", "mysqld-exporter", "redis-exporter")
    model = json.loads(_sh("docker", "compose", "config", "--format", "json", cwd=str(target)))
    for name in stack:
        svc = model["services"][name]
        assert not svc.get("privileged"), name
        assert ":" in svc["image"].rsplit("/", 1)[-1] and not svc["image"].endswith(":latest"), name
        for port in svc.get("ports") or []:
            assert port.get("host_ip") == "127.0.0.1", (name, port)
        for volume in svc.get("volumes") or []:
            if volume.get("source") == "/var/run/docker.sock":
                assert volume.get("read_only") is True and name == "alloy", name
    env = model["services"]["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    # This project's containers only: the other lane's projects come and go while this runs.
    cids = _sh("docker", "container", "ls", "-q", "--filter", "label=org.lgtm-stack.component",
               "--filter", "label=com.docker.compose.project=%s" % PROJECT).split()
    assert len(cids) >= len(stack), cids
    for cid in cids:
        assert _sh("docker", "inspect", "--format", "{{.HostConfig.Privileged}}", cid).strip() == "false"


KILL_POINTS = {
    "after-plan-recorded": {"LGTM_FAULT_AT": "Apply | Deploy the exporters", "LGTM_FAULT_WHEN": "start"},
    "mid-compose-edit": {"LGTM_FAULT_AT": "Apply | Edit the project's compose files", "LGTM_FAULT_WHEN": "item_ok"},
    "mid-dashboards": {"LGTM_FAULT_AT": "Apply | Carry the legacy dashboards", "LGTM_FAULT_WHEN": "start",
                       "LGTM_FAULT_DELAY": "0.3"},
    "mid-compose-up": {"LGTM_FAULT_AT": "Deploy | Bring the project and the stack up", "LGTM_FAULT_WHEN": "start",
                       "LGTM_FAULT_DELAY": "4"},
}
REFERENCE = {}


@pytest.mark.parametrize("point", ["uninterrupted"] + sorted(KILL_POINTS))
def test_killed_run_converges_to_the_same_end_state(project, point):
    target, varsfile = project
    if point != "uninterrupted":
        if "state" not in REFERENCE:
            pytest.skip("needs the uninterrupted run first")
        rc, out = _migrate(target, varsfile, fault=KILL_POINTS[point])
        assert rc == -9, "the fault did not fire: %s" % out[-2000:]
        assert (target / "observability/MIGRATION_REPORT.json").exists() or point == "after-plan-recorded"
    rc, out = _migrate(target, varsfile)
    assert rc == 0, out[-4000:]
    state = _end_state(target)
    assert state["backups"] == 1 and "docker-compose.yml" in state["backup"]
    assert state["backup"]["docker-compose.yml"] == snapshot.tree(str(EXAMPLE))["docker-compose.yml"]
    assert "prometheus-data" in state["volumes"] and "mysql-data" in state["volumes"]
    assert "IT-KEEP" in _mariadb(target, "SELECT sku FROM products;"), "real data lost"
    if point == "uninterrupted":
        REFERENCE["state"] = state
    else:
        reference = REFERENCE["state"]
        for key in ("files", "report", "backup", "running", "volumes"):
            assert state[key] == reference[key], key
    rc, out = _migrate(target, varsfile)
    assert rc == 0 and re.search(r"changed=0 ", out), out[-2000:]
