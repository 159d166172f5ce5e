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


def _project_with_configs(tmp_path, configs):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services: {}\n")
    return C.ComposeProject(str(tmp_path), [str(compose)], [], {"configs": configs}, [(str(compose), {})], "raw")


def test_mounted_files_combines_directory_deeper_mounts_and_configs(tmp_path):
    (tmp_path / "prov" / "dashboards").mkdir(parents=True)
    (tmp_path / "prov" / "dashboards" / "hidden.yaml").write_text("x: 1\n")  # hidden by the deeper mount below
    (tmp_path / "prov" / "datasources").mkdir()
    (tmp_path / "prov" / "datasources" / "ds.yaml").write_text("x: 1\n")
    (tmp_path / "prov" / "datasources" / "notes.txt").write_text("x\n")
    (tmp_path / "dash").mkdir()
    (tmp_path / "dash" / "a.yaml").write_text("x: 1\n")
    (tmp_path / "main.yaml").write_text("x: 1\n")
    project = _project_with_configs(tmp_path, {"extra": {"content": "x: 2\n"}, "onfile": {"file": str(tmp_path / "main.yaml")}})
    svc = C.normalize_service({
        "volumes": ["./prov:/etc/grafana/provisioning", "./dash:/etc/grafana/provisioning/dashboards",
                    "./main.yaml:/etc/grafana/provisioning/dashboards/main.yaml", "./gone:/etc/grafana/provisioning/x"],
        "configs": [{"source": "extra", "target": "/etc/grafana/provisioning/dashboards/extra.yaml"}, "onfile"],
    }, str(tmp_path))
    assert svc["configs"][1] == {"source": "onfile", "target": "/onfile"}
    files, missing, mounted = C.mounted_files(project, svc, "/etc/grafana/provisioning/dashboards", (".yaml",))
    assert mounted is True
    assert [(f["container_path"], f["path"], f["content"]) for f in files] == [
        ("/etc/grafana/provisioning/dashboards/a.yaml", str(tmp_path / "dash" / "a.yaml"), None),
        ("/etc/grafana/provisioning/dashboards/extra.yaml", "%s#configs.extra" % (tmp_path / "compose.yaml"), "x: 2\n"),
        ("/etc/grafana/provisioning/dashboards/main.yaml", str(tmp_path / "main.yaml"), None)]
    assert missing == []
    files, missing, _ = C.mounted_files(project, svc, "/etc/grafana/provisioning", (".yaml",))
    assert [f["container_path"] for f in files] == [
        "/etc/grafana/provisioning/dashboards/a.yaml", "/etc/grafana/provisioning/dashboards/extra.yaml",
        "/etc/grafana/provisioning/dashboards/main.yaml", "/etc/grafana/provisioning/datasources/ds.yaml"]
    assert missing == [{"container_path": "/etc/grafana/provisioning/x", "path": str(tmp_path / "gone")}]
    assert C.mounted_files(project, svc, "/var/lib/grafana", (".json",)) == ([], [], False)


def test_mounted_file_through_binds_and_configs(tmp_path):
    project = _project_with_configs(tmp_path, {"prom": {"content": "scrape_configs: []\n"}})
    svc = C.normalize_service({"volumes": ["./etc:/etc/prometheus"],
                               "configs": [{"source": "prom", "target": "/etc/prometheus/prometheus.yml"}]}, str(tmp_path))
    inline = C.mounted_file(project, svc, "/etc/prometheus/prometheus.yml")
    assert inline["content"] == "scrape_configs: []\n" and inline["host_path"] is None
    assert inline["path"] == "%s#configs.prom" % (tmp_path / "compose.yaml")
    assert C.mounted_file(project, svc, "/etc/prometheus/rules.yml")["host_path"] == str(tmp_path / "etc" / "rules.yml")
    assert C.mounted_file(project, svc, "/etc/other.yml") is None


def test_load_project_makes_config_files_absolute(tmp_path):
    (tmp_path / "compose.yaml").write_text(
        "configs:\n  p: {file: ./prom/p.yml}\n  q: {content: 'a: 1'}\nservices:\n  s: {image: x:1, configs: [p]}\n")
    project = C.load_project(str(tmp_path))
    assert project.model["configs"] == {"p": {"file": str(tmp_path / "prom" / "p.yml")}, "q": {"content": "a: 1"}}
    assert project.services["s"]["configs"] == [{"source": "p", "target": "/p"}]
    assert project.config_origin("q") == str(tmp_path / "compose.yaml")


def _built(tmp_path, dockerfile, files=()):
    context = tmp_path / "prometheus"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    for rel in files:
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        (context / rel).write_text("# %s\n" % rel)
    return context, {"build": {"context": str(context)}, "volumes": []}


def test_baked_files_follow_the_final_stage_workdir_and_directories(tmp_path):
    context, svc = _built(tmp_path, "\n".join([
        "# syntax=docker/dockerfile:1",
        "FROM golang:1.22 AS tools",
        "COPY build.sh /build.sh",  # an earlier stage: not in the image
        "FROM --platform=linux/amd64 prom/prometheus:v2.53.0",
        "COPY --chown=nobody:nobody prometheus.yml /etc/prometheus/prometheus.yml",
        "WORKDIR /etc/prometheus",
        "COPY rules/ rules/",
        'ADD ["alerts.yml", "extra.yml", "/etc/prometheus/more/"]',
        "COPY --from=tools /go/bin/x /bin/x",
        "COPY https://example.com/a.yml /a.yml",
        "COPY *.json /dash/",
        "COPY ../outside.yml /outside.yml",
        "COPY \\",
        "  web.yml /etc/prometheus/web.yml",
    ]), ["build.sh", "prometheus.yml", "rules/a.yml", "alerts.yml", "extra.yml", "web.yml"])
    dockerfile = str(context / "Dockerfile")
    mounts = {m["target"]: (m["host"], m["label"]) for m in C.baked_files(svc)}
    assert mounts == {
        "/etc/prometheus/prometheus.yml": (str(context / "prometheus.yml"), dockerfile + ":5"),
        "/etc/prometheus/rules": (str(context / "rules"), dockerfile + ":7"),
        "/etc/prometheus/more/alerts.yml": (str(context / "alerts.yml"), dockerfile + ":8"),
        "/etc/prometheus/more/extra.yml": (str(context / "extra.yml"), dockerfile + ":8"),
        "/etc/prometheus/web.yml": (str(context / "web.yml"), dockerfile + ":13"),
    }
    entry = C.mounted_file(None, svc, "/etc/prometheus/rules/a.yml")
    assert entry["host_path"] == str(context / "rules" / "a.yml") and entry["baked"] == dockerfile + ":7"


def test_a_mount_hides_what_the_image_has_there(tmp_path):
    """A bind mount wins over the image's own file, even over a deeper one (Docker mounts over the image)."""
    context, svc = _built(tmp_path, "FROM prom/prometheus:v2.53.0\nCOPY prometheus.yml /etc/prometheus/prometheus.yml\n",
                          ["prometheus.yml"])
    (tmp_path / "conf").mkdir()
    svc["volumes"] = [{"type": "bind", "source": str(tmp_path / "conf"), "target": "/etc/prometheus"}]
    entry = C.mounted_file(None, svc, "/etc/prometheus/prometheus.yml")
    assert entry["host_path"] == str(tmp_path / "conf" / "prometheus.yml") and "baked" not in entry


@pytest.mark.parametrize("build", [None, "https://github.com/x/y.git", {"context": "git@github.com:x/y.git"}])
def test_no_local_dockerfile_bakes_nothing(build):
    assert C.baked_files({"build": build}) == [] if build else C.dockerfile({}) == (None, None)


def test_an_unreadable_dockerfile_bakes_nothing(tmp_path):
    svc = {"build": {"context": str(tmp_path), "dockerfile": "missing.Dockerfile"}}
    assert C.dockerfile(svc) == (str(tmp_path / "missing.Dockerfile"), None) and C.baked_files(svc) == []


def test_compose_merge_tags_reset_and_override(tmp_path):
    """Compose >= 2.24's `!reset` and `!override` in an override file: read (not refused as malformed YAML) and
    merged as Compose merges them when the CLI is not there."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  api:\n    image: shop/api:1\n    ports: ['8080:8080']\n    build: .\n"
        "    environment:\n      A: '1'\n      B: '2'\n  db:\n    image: postgres:16\n")
    (tmp_path / "compose.override.yaml").write_text(
        "services:\n  api:\n    ports: !reset []\n    build: !reset null\n    environment: !override\n"
        "      A: ${TAG:-x}\n")
    project = C.load_project(str(tmp_path))
    api = project.services["api"]
    assert api["ports"] == [] and "build" not in api and api["environment"] == {"A": "x"}
    assert project.service_origin("api") == (str(tmp_path / "compose.override.yaml"), 2)


def test_compose_file_from_the_projects_env(tmp_path):
    """COMPOSE_FILE in the project's .env decides which files Compose reads (and no override twin is added)."""
    for name in ("compose.yaml", "compose.override.yaml", "compose.monitoring.yaml", "b.yml"):
        (tmp_path / name).write_text("services: {}\n")
    (tmp_path / ".env").write_text("COMPOSE_FILE=compose.yaml:compose.monitoring.yaml\n")
    assert C.discover_compose_files(str(tmp_path)) == [str(tmp_path / "compose.yaml"),
                                                       str(tmp_path / "compose.monitoring.yaml")]
    (tmp_path / ".env").write_text("COMPOSE_PATH_SEPARATOR=;\nCOMPOSE_FILE=b.yml;compose.yaml\n")
    assert C.discover_compose_files(str(tmp_path)) == [str(tmp_path / "b.yml"), str(tmp_path / "compose.yaml")]
    (tmp_path / ".env").write_text("COMPOSE_FILE=compose.yaml:missing.yaml\n")
    with pytest.raises(InputError, match="COMPOSE_FILE names .*missing.yaml, which does not exist"):
        C.discover_compose_files(str(tmp_path))
    (tmp_path / ".env").write_text("OTHER=1\n")
    assert C.discover_compose_files(str(tmp_path)) == [str(tmp_path / "compose.yaml"),
                                                       str(tmp_path / "compose.override.yaml")]
