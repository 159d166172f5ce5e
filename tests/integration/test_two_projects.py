"""Two migrated projects on one Docker engine: each stack has its own network, containers and host ports, and its
services' names resolve only to its own containers, so one project's telemetry cannot land in the other's stack.

Stand-in images (orchestration only): the proof is about where traffic goes (DNS, networks, which container a
POST reaches), never about telemetry content. Compose projects `lgtm-par-two-a` and `lgtm-par-two-b`, torn down by
name (`lgtm-par-`: the suite's second engine lane, which the engine snapshots of the other lane leave out).
"""

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import uuid

import pytest

from tests.harness import dockerhost
from tests.integration.conftest import EXAMPLE, ROOT

PROJECTS = ("lgtm-par-two-a", "lgtm-par-two-b")
HOST_PORT_VARS = ("lgtm_alloy_otlp_grpc_host_port", "lgtm_alloy_otlp_http_host_port", "lgtm_alloy_ui_host_port",
                  "lgtm_grafana_host_port", "lgtm_tempo_host_port", "lgtm_loki_host_port", "lgtm_mimir_host_port",
                  "lgtm_exporters_mysqld_host_port", "lgtm_exporters_redis_host_port")
STACK = ("alloy", "tempo", "loki", "mimir")


def sh(*argv, **kwargs):
    return subprocess.run(list(argv), capture_output=True, text=True, check=True, **kwargs).stdout


def teardown(project):
    # Containers first: a network is removed only once nothing is attached to it.
    for kind, extra in (("container", ["--all"]), ("volume", []), ("network", [])):
        ids = sh("docker", kind, "ls", "--quiet", *extra, "--filter",
                 "label=com.docker.compose.project=%s" % project).split()
        if ids:
            subprocess.run(["docker", kind, "rm"] + (["--force"] if kind != "network" else []) + ids,
                           capture_output=True)
    # Networks of earlier versions (a fixed name, lgtm-<project>).
    subprocess.run(["docker", "network", "rm", "lgtm-" + project], capture_output=True)


def isolated(tmp_path, *projects):
    """Body of a fixture: the compose projects torn down before the test and after it, whatever it did."""
    for project in projects:
        teardown(project)
    try:
        yield tmp_path
    finally:
        for project in projects:
            teardown(project)


# Every port free_ports handed out in this process: a port picked for one purpose (the example's api) is not
# bound until compose starts, so a later pick could return it again (seen: loki and the api on one port).
_HANDED_OUT = set()
# Below the kernel's ephemeral range (32768-60999 here): a port picked there by binding port 0 can be taken by an
# outgoing connection's local end before compose binds it. Above the molecule scenarios' fixed ports (13xxx-24xxx)
# and below their 29xxx ones.
FREE_RANGE = range(25000, 29000)


def free_ports(count):
    """Host ports nothing listens on now and that this process has not handed out before (the engine is shared:
    never the stack's defaults)."""
    ports = []
    for port in random.sample(FREE_RANGE, len(FREE_RANGE)):
        if len(ports) == count:
            break
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        _HANDED_OUT.add(port)
    assert len(ports) == count, "no %d free ports in %s" % (count, FREE_RANGE)
    return ports


def images():
    return json.loads(sh(sys.executable, "-m", "tests.harness.dockerhost", "print-images", cwd=str(ROOT)))


def stack_vars(keys=dockerhost.STACK_KEYS):
    """`lgtm_images` for `keys`, plus what the harness sets for stand-ins (tests/harness/images.json)."""
    return json.loads(sh(sys.executable, "-m", "tests.harness.dockerhost", "stack-vars", "--keys", *keys,
                         cwd=str(ROOT)))


def example_copy(target, project):
    """The example as compose project `project`, on stand-ins, its own host ports for the kept services."""
    shutil.copytree(EXAMPLE, target)
    app_port, db_port = free_ports(2)
    compose = target / "docker-compose.yml"
    text = compose.read_text()
    for old, new in (('"8080:8080"', '"127.0.0.1:%d:8080"' % app_port), ('"3306:3306"', '"127.0.0.1:%d:3306"' % db_port)):
        assert old in text
        text = text.replace(old, new)
    compose.write_text(text)
    override = sh(sys.executable, "-m", "tests.harness.dockerhost", "legacy-override", cwd=str(ROOT))
    (target / "docker-compose.override.yml").write_text(override + "name: %s\n" % project)


def vars_file(path, ports):
    data = stack_vars()
    data.update(zip(HOST_PORT_VARS, ports))
    # The legacy Jaeger ports Alloy takes over (6831/udp, 14268...) have no host-port variable yet: two projects
    # migrated from Jaeger would both publish them. Off here; the test is about the OTLP path.
    data["lgtm_alloy_jaeger_receivers"] = []
    path.write_text(json.dumps(data))
    os.chmod(str(path), 0o600)
    return path


def migrate(project_dir, varsfile, env=None):
    full_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", **(env or {}))
    proc = subprocess.run(["ansible-playbook", str(ROOT / "migrate.yml"), "-e", "lgtm_project_dir=%s" % project_dir,
                           "-e", "@%s" % varsfile], cwd=str(ROOT), capture_output=True, text=True, env=full_env,
                          timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def containers(project):
    """service -> container name, of the running containers of a compose project."""
    out = sh("docker", "container", "ls", "--filter", "label=com.docker.compose.project=%s" % project, "--format",
             '{{.Label "com.docker.compose.service"}} {{.Names}}')
    return dict(line.split() for line in out.splitlines())


def network_members(network):
    """container name -> IPv4 address on `network`."""
    info = json.loads(sh("docker", "network", "inspect", network))[0]
    return dict((c["Name"], c["IPv4Address"].split("/")[0]) for c in (info.get("Containers") or {}).values())


PROBE = r"""
import json, socket, sys, urllib.request
names, post = sys.argv[1].split(","), sys.argv[2]
out = {"dns": dict((n, sorted({a[4][0] for a in socket.getaddrinfo(n, None, socket.AF_INET)})) for n in names)}
if post:
    req = urllib.request.Request(post, data=b"{}", headers={"Content-Type": "application/json"}, method="POST")
    out["post"] = urllib.request.urlopen(req, timeout=10).status
print(json.dumps(out))
"""


def probe(network, names, post=""):
    """From a throwaway container on `network`: the IPv4 addresses each name resolves to, and an optional POST."""
    image = images()["alloy"]
    out = sh("docker", "run", "--rm", "--name", "lgtm-par-probe-%s" % uuid.uuid4().hex[:8], "--network", network,
             "--entrypoint", "python3", image, "-c", PROBE, ",".join(names), post)
    return json.loads(out)


def posts_kept(network, url):
    """The paths of the POSTs the stand-in at `url` (…/standin/posts) kept, asked from a container on `network`."""
    image = images()["alloy"]
    code = ("import json,sys,urllib.request; "
            "print(json.dumps([p['path'] for p in json.load(urllib.request.urlopen(sys.argv[1], timeout=10))]))")
    return json.loads(sh("docker", "run", "--rm", "--name", "lgtm-par-probe-%s" % uuid.uuid4().hex[:8], "--network",
                         network, "--entrypoint", "python3", image, "-c", code, url))


@pytest.fixture
def two_projects(tmp_path):
    yield from isolated(tmp_path, *PROJECTS)


def test_two_projects_on_one_engine_do_not_cross_talk(two_projects):
    tmp = two_projects
    ports = free_ports(2 * len(HOST_PORT_VARS))
    networks = {}
    for index, project in enumerate(PROJECTS):
        target = tmp / project / "shop"
        example_copy(target, project)
        varsfile = vars_file(tmp / project / "vars.json", ports[index * len(HOST_PORT_VARS):][:len(HOST_PORT_VARS)])
        rc, out = migrate(target, varsfile)
        assert rc == 0, out[-4000:]
        plan = json.loads((target / "observability/MIGRATION_REPORT.json").read_text())["plan"]
        assert plan["network"] == "lgtm-" + project
        # The plan names the compose key; Compose scopes the network to the project (no fixed name to share).
        networks[project] = "%s_%s" % (project, plan["network"])
        assert sh("docker", "network", "inspect", "--format", "{{index .Labels \"com.docker.compose.project\"}}",
                  networks[project]).strip() == project
        # The host ports are the ones given (the documented variables), published on 127.0.0.1 only.
        published = sh("docker", "container", "ls", "--filter", "label=com.docker.compose.project=%s" % project,
                       "--format", "{{.Ports}}")
        for port in ports[index * len(HOST_PORT_VARS):][:len(HOST_PORT_VARS)]:
            assert "127.0.0.1:%d->" % port in published, (project, port, published)
    a, b = PROJECTS
    running = dict((p, containers(p)) for p in PROJECTS)
    for project in PROJECTS:
        assert set(STACK + ("api", "grafana")) <= set(running[project]), running[project]
        # Compose's project-prefixed names: no role sets container_name.
        assert all(name.startswith(project + "-") for name in running[project].values()), running[project]
        # Each project's network holds its own containers only.
        members = network_members(networks[project])
        assert set(members) <= set(running[project].values()), (project, sorted(members))
        other = [p for p in PROJECTS if p != project][0]
        assert not set(members) & set(running[other].values())
    # From project A's network, the stack's names resolve to A's containers only.
    members_a, members_b = network_members(networks[a]), network_members(networks[b])
    seen = probe(networks[a], STACK)["dns"]
    for service in STACK:
        assert seen[service] == [members_a[running[a][service]]], (service, seen, members_a)
        assert not set(seen[service]) & set(members_b.values())
    # A POST to A's alloy reaches A's alloy and not B's (stand-ins keep the POSTs they get; orchestration only). The
    # POST carries a marker of its own: the apps' real OpenTelemetry SDKs export to their alloy on their own schedule,
    # so counting POSTs would race with them.
    marker = "/v1/traces?lgtm-par-two-probe=%s" % uuid.uuid4().hex
    result = probe(networks[a], ["alloy"], post="http://alloy:4318" + marker)
    assert result["post"] == 200
    kept = dict((p, posts_kept(networks[p], "http://alloy:4318/standin/posts")) for p in PROJECTS)
    assert kept[a].count(marker) == 1 and marker not in kept[b], kept
