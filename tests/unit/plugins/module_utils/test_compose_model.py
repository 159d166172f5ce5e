"""Compose model helpers: interpolation, short syntax, discovery, mounts."""

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import compose_model as C
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError

ENV = {"SET": "v", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("${SET}", "v"), ("$SET-x", "v-x"), ("${UNSET}", ""), ("${UNSET:-d}", "d"), ("${EMPTY:-d}", "d"),
     ("${EMPTY-d}", ""), ("${SET:+alt}", "alt"), ("${UNSET:+alt}", ""), ("$$SET", "$SET"),
     ("${UNSET:-${SET}}", "v"), ("a ${SET} b", "a v b")],
)
def test_interpolate(text, expected):
    assert C.interpolate(text, ENV) == expected


def test_interpolate_required():
    with pytest.raises(InputError, match="required variable TAG is not set: give a tag"):
        C.interpolate("${TAG:?give a tag}", ENV, "compose.yaml", 3)
    assert C.interpolate("${EMPTY?x}", ENV) == ""


@pytest.mark.parametrize(
    ("short", "long"),
    [("8080:80", {"published": "8080", "target": 80, "protocol": "tcp"}),
     ("127.0.0.1:3000:3000", {"host_ip": "127.0.0.1", "published": "3000", "target": 3000, "protocol": "tcp"}),
     ("6831:6831/udp", {"published": "6831", "target": 6831, "protocol": "udp"}),
     ("9000", {"target": 9000, "protocol": "tcp"}),
     ("[::1]:80:80", {"host_ip": "::1", "published": "80", "target": 80, "protocol": "tcp"}),
     (4317, {"target": 4317, "protocol": "tcp"})],
)
def test_normalize_port(short, long):
    assert C.normalize_port(short) == long


def test_normalize_port_rejects_garbage():
    with pytest.raises(InputError, match="cannot read port mapping 'abc:def'"):
        C.normalize_port("abc:def", "compose.yaml")


def test_normalize_volume(tmp_path):
    assert C.normalize_volume("./cfg/x.yml:/etc/x.yml:ro", str(tmp_path)) == {
        "type": "bind", "source": str(tmp_path / "cfg" / "x.yml"), "target": "/etc/x.yml", "read_only": True}
    assert C.normalize_volume("data:/var/lib/x", str(tmp_path)) == {"type": "volume", "source": "data", "target": "/var/lib/x"}
    assert C.normalize_volume("/anon", str(tmp_path)) == {"type": "volume", "target": "/anon"}


def test_discovery_order_and_override(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    assert C.discover_compose_files(str(tmp_path)) == [str(tmp_path / "docker-compose.yml")]
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "compose.override.yaml").write_text("services: {}\n")
    assert C.discover_compose_files(str(tmp_path)) == [str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yaml")]


def test_container_to_host_longest_match():
    svc = {"volumes": [{"type": "bind", "source": "/p/grafana", "target": "/etc/grafana"},
                       {"type": "bind", "source": "/p/prov", "target": "/etc/grafana/provisioning"},
                       {"type": "volume", "source": "data", "target": "/var/lib/grafana"}]}
    assert C.container_to_host(svc, "/etc/grafana/provisioning/datasources") == "/p/prov/datasources"
    assert C.container_to_host(svc, "/etc/grafana/grafana.ini") == "/p/grafana/grafana.ini"
    assert C.container_to_host(svc, "/var/lib/grafana/x") is None


@pytest.mark.parametrize(
    ("svc", "value"),
    [({"command": ["--config.file=/a.yml"]}, "/a.yml"), ({"command": ["-config.file", "/b.yml"]}, "/b.yml"),
     ({"entrypoint": ["/bin/prometheus", "--config.file=/c.yml"]}, "/c.yml"), ({"command": ["--other=1"]}, None)],
)
def test_command_flag(svc, value):
    assert C.command_flag(svc, ["config.file"]) == value


@pytest.mark.parametrize(
    ("image", "parts"),
    [("redis", ("redis", None, None)), ("redis:7.2", ("redis", "7.2", None)),
     ("registry:5000/ns/app:1.0", ("registry:5000/ns/app", "1.0", None)),
     ("registry:5000/ns/app", ("registry:5000/ns/app", None, None)),
     ("app@sha256:abc", ("app", None, "sha256:abc")), (None, (None, None, None))],
)
def test_image_parts(image, parts):
    assert C.image_parts(image) == parts
