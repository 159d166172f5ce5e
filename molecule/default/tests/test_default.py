"""Verify the default scenario on the docker-host instance (testinfra).

The smoke project runs a real Redis (not a stand-in), so these checks are about
real behaviour: the container runs with its named volume, its port is published
on loopback only, and Redis answers PING through it.
"""

import json
import os

PROJECT = "lgtm-molecule-default"
PORT = 16379
PROJECT_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "smoke-project")


def _containers(host):
    out = host.check_output(f"docker compose -p {PROJECT} ps --all --format json")
    # Compose prints one JSON object per line (2.21+) or a JSON array (older).
    text = out.strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_instance_drives_the_host_engine(host):
    assert host.file("/var/run/docker.sock").is_socket
    assert host.check_output("docker version --format '{{.Server.Version}}'")
    version = host.check_output("docker compose version --short")
    assert tuple(int(p) for p in version.lstrip("v").split("-")[0].split(".")[:2]) >= (2, 20)


def test_project_dir_is_shared_at_the_same_path(host):
    compose = host.file(os.path.join(PROJECT_DIR, "compose.yaml"))
    assert compose.exists
    assert f"name: {PROJECT}" in compose.content_string
    # The same bytes on the controller side: the bind mount resolves on the host.
    with open(os.path.join(PROJECT_DIR, "compose.yaml"), encoding="utf-8") as handle:
        assert handle.read() == compose.content_string


def test_redis_container_runs_with_its_volume(host):
    containers = _containers(host)
    assert [c["Service"] for c in containers] == ["redis"]
    assert containers[0]["State"] == "running"
    mounts = json.loads(host.check_output("docker inspect --format '{{json .Mounts}}' %s", containers[0]["Name"]))
    assert any(m["Type"] == "volume" and m["Destination"] == "/data" and m["Name"] == f"{PROJECT}_redis-data" for m in mounts)


def test_port_published_on_loopback_only(host):
    ports = json.loads(host.check_output("docker inspect --format '{{json .NetworkSettings.Ports}}' %s-redis-1", PROJECT))
    bindings = ports["6379/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": str(PORT)}]


def test_redis_answers_ping_through_the_published_port(host):
    script = (
        "import socket; s=socket.create_connection(('127.0.0.1', %d), 5); "
        "s.sendall(b'PING\\r\\n'); print(s.recv(64).decode().strip())" % PORT
    )
    assert host.check_output("python3 -c %s", script) == "+PONG"
