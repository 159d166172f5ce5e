"""compose_file: the migration's service edits (remove, rewire, join networks) on files with comments, anchors,
merge keys, list and mapping syntaxes and override files."""

import os
import re
import shutil
import stat

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import compose_edit as E
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError
from ansible_collections.lgtm.stack.plugins.modules import compose_file
from tests.unit.conftest import EXAMPLE, FIXTURES

SOURCE = FIXTURES / "compose" / "legacy-with-override"
REWIRE = [
    {"service": "orders", "env_set": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4317",
                                      "OTEL_SERVICE_NAME": "orders"},
     "env_remove": ["JAEGER_AGENT_HOST"], "networks_add": ["lgtm"], "depends_on_remove": ["jaeger"]},
    {"service": "postgres", "networks_add": ["lgtm"]},
    {"service": "worker", "networks_add": ["lgtm"]},
]


@pytest.fixture
def project(tmp_path):
    target = tmp_path / "orders"
    shutil.copytree(SOURCE, target)
    os.chmod(target / "docker-compose.yml", 0o640)
    return target


def _args(project, **extra):
    args = {"path": str(project / "docker-compose.yml"), "remove_services": ["jaeger", "prometheus"],
            "remove_volumes": ["prom-data"], "services": REWIRE, "include": ["observability/compose.yaml"]}
    args.update(extra)
    return args


def test_migration_edits_keep_everything_else(project, run_module):
    result, failed = run_module(compose_file, _args(project))
    assert not failed, result
    text = (project / "docker-compose.yml").read_text()
    assert "\n  jaeger:" not in text and "\n  prometheus:" not in text
    # Comments, the anchor, merge keys, flow style and quoting of what stays are untouched.
    for kept in ("# orders: the team's dev stack.", "x-defaults: &defaults", "options: {max-size: \"10m\"}   # small local logs",
                 "  # The Go API.", "<<: *defaults", "- APP_ENV=dev", "image: postgres:16.2",
                 "aliases: [db]", "pg-data: {}", "networks:\n  backend: {}"):
        assert kept in text, kept
    # List-style environment: value replaced in place, comment kept; the Jaeger variable unset; new one appended.
    assert re.search(r"\n      - OTEL_EXPORTER_OTLP_ENDPOINT=http://alloy:4317 +# gRPC\n", text)
    assert "JAEGER_AGENT_HOST" not in text and "- OTEL_SERVICE_NAME=orders" in text
    # depends_on (long syntax) and links lose the removed service, not the others.
    assert "condition: service_healthy" in text and "service_started" not in text and "links" not in text
    # networks: flow list gets the shared network; mapping form too; network_mode: host is left alone.
    assert "networks: [backend, lgtm]\n\n  postgres:" in text, "the blank line after the last key of a service stays"
    assert "      backend:\n        aliases: [db]\n      lgtm:" in text
    worker = text[text.index("  worker:"):text.index("\nvolumes:")]
    assert "networks" not in worker and "depends_on" not in worker
    # The TSDB volume leaves the file (its data stays in Docker); the other one stays.
    assert "prom-data" not in text and "pg-data: {}" in text
    assert text.index("include:\n  - observability/compose.yaml\n") < text.index("x-defaults")
    assert result["changes"][:2] == ["remove service jaeger", "remove service prometheus"]
    assert "orders: drop links jaeger" in result["changes"] and "worker: drop depends_on jaeger" in result["changes"]
    assert stat.S_IMODE(os.stat(project / "docker-compose.yml").st_mode) == 0o640


def test_second_run_changes_nothing(project, run_module):
    run_module(compose_file, _args(project))
    first = (project / "docker-compose.yml").read_text()
    result, failed = run_module(compose_file, _args(project))
    assert not failed and result["changed"] is False and result["changes"] == []
    assert (project / "docker-compose.yml").read_text() == first


def test_service_without_networks_keeps_default(tmp_path, run_module):
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  api:\n    image: shop/api:1.0\n")
    result, _ = run_module(compose_file, {"path": str(path), "services": [{"service": "api", "networks_add": ["lgtm"]}]})
    assert result["changed"]
    assert path.read_text() == "services:\n  api:\n    image: shop/api:1.0\n    networks:\n      - default\n      - lgtm\n"


def test_override_file_only_changes_what_it_sets(project, run_module):
    override = project / "docker-compose.override.yml"
    result, failed = run_module(compose_file, {"path": str(override), "remove_services": ["jaeger"],
                                               "services": REWIRE, "add_missing": False})
    assert not failed
    assert override.read_text() == (
        "# Local overrides: debug ports.\nservices:\n  orders:\n    environment:\n"
        "      OTEL_EXPORTER_OTLP_ENDPOINT: http://alloy:4317\n      DEBUG: \"1\"\n")
    assert result["changes"] == ["remove service jaeger", "orders: set OTEL_EXPORTER_OTLP_ENDPOINT"]


def test_loki_logging_driver_removed(project, run_module):
    run_module(compose_file, {"path": str(project / "docker-compose.yml"),
                              "services": [{"service": "prometheus", "logging_remove": True}]})
    text = (project / "docker-compose.yml").read_text()
    prometheus = text[text.index("  prometheus:"):text.index("  worker:")]
    assert "logging" not in prometheus and "loki-url" not in text


def test_check_mode_writes_nothing_and_diff_is_masked(project, run_module):
    before = (project / "docker-compose.yml").read_text()
    result, failed = run_module(compose_file, dict(_args(project), _ansible_diff=True), check_mode=True)
    assert not failed and result["changed"]
    assert (project / "docker-compose.yml").read_text() == before
    assert "s3cr3t-orders" not in result["diff"]["before"] + result["diff"]["after"]
    assert "jaeger:" in result["diff"]["before"] and "\n  jaeger:" not in result["diff"]["after"]
    assert not (project / ".lgtm-backup").exists()


def test_backup_dir_keeps_the_first_original(project, run_module):
    backup = project / ".lgtm-backup" / "run1"
    original = (project / "docker-compose.yml").read_bytes()
    result, _ = run_module(compose_file, _args(project, backup_dir=str(backup), project_dir=str(project)))
    kept = backup / "docker-compose.yml"
    assert result["backup_file"] == str(kept) and kept.read_bytes() == original
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640 and stat.S_IMODE(os.stat(backup).st_mode) == 0o700
    # A second change in the same run must not overwrite the original copy.
    run_module(compose_file, {"path": str(project / "docker-compose.yml"), "exclude": ["observability/compose.yaml"],
                              "backup_dir": str(backup), "project_dir": str(project)})
    assert kept.read_bytes() == original


def test_unchanged_file_makes_no_backup(project, run_module):
    backup = project / ".lgtm-backup" / "run1"
    result, _ = run_module(compose_file, {"path": str(project / "docker-compose.yml"), "remove_services": ["nope"],
                                          "backup_dir": str(backup), "project_dir": str(project)})
    assert result["changed"] is False and not backup.exists()


@pytest.mark.parametrize(("text", "message"), [
    ("services:\n  api: [not, a, mapping]\n", "service 'api' must be a mapping"),
    ("services:\n  api:\n    environment: FOO\n", "environment of service 'api' must be a mapping or a list"),
    ("services:\n  api:\n    image: x:1\n    networks: lgtm\n", "networks of service 'api' must be a list or a mapping"),
    ("services: [api]\n", "'services' must be a mapping"),
    ("services:\n  api:\n    image: x:1\n  bad: [\n", "malformed YAML"),
])
def test_bad_input_names_the_file_and_changes_nothing(tmp_path, run_module, text, message):
    path = tmp_path / "compose.yaml"
    path.write_text(text)
    result, failed = run_module(compose_file, {"path": str(path), "remove_services": ["jaeger"],
                                               "services": [{"service": "api", "env_set": {"A": "b"},
                                                             "networks_add": ["lgtm"]}],
                                               "backup_dir": str(tmp_path / "bk")})
    assert failed and message in result["msg"] and str(path) in result["msg"]
    assert path.read_text() == text and not (tmp_path / "bk").exists()


def test_env_helpers_keep_types_of_both_syntaxes():
    doc = E.load("services:\n  a:\n    environment:\n      PORT: 8080\n", "x")
    env = doc["services"]["a"]["environment"]
    assert E._env_set(env, "PORT", "8080") is False, "same value as text: no change"
    assert E._env_set(env, "PORT", "9090") is True and E.dump(doc).endswith("PORT: '9090'\n")
    listed = ["A=1", "B"]
    assert E._env_remove(listed, "B") and listed == ["A=1"]
    with pytest.raises(InputError):
        E.edit_services(E.load("services: 3\n", "f"), path="f")


def test_a_file_left_without_services_keeps_an_empty_mapping():
    """host-apps: only Jaeger and Prometheus lived in compose; both go. `services:` alone would be null, which
    Compose refuses ("services must be a mapping")."""
    text = ("# Apps run on the host.\nservices:\n  jaeger:\n    image: jaegertracing/all-in-one:1.57.0\n"
            "  prometheus:\n    image: prom/prometheus:v2.53.0\n")
    out, changes = E.edit_compose(text, "compose.yml", remove_services=["jaeger", "prometheus"],
                                  include=["observability/compose.yaml"])
    assert out == "# Apps run on the host.\ninclude:\n  - observability/compose.yaml\nservices: {}\n"
    assert changes[:2] == ["remove service jaeger", "remove service prometheus"]


def test_a_service_named_twice_is_removed_once():
    text = "services:\n  jaeger:\n    image: jaegertracing/all-in-one:1.57.0\n  api:\n    image: shop/api:1\n"
    out, changes = E.edit_compose(text, "compose.yml", remove_services=["jaeger", "jaeger"])
    assert out == "services:\n  api:\n    image: shop/api:1\n" and changes == ["remove service jaeger"]


def test_compose_merge_tags_survive_the_edits():
    """Compose's `!reset` / `!override` (2.24+) in an override file are kept as written around the edits."""
    text = ("services:\n  api:\n    image: a:1\n    ports: !reset []\n    environment: !override\n"
            "      OTEL_EXPORTER_OTLP_ENDPOINT: http://jaeger:4318\n  jaeger:\n    image: jaegertracing/all-in-one:1.57\n")
    out, _ = E.edit_compose(text, "compose.override.yaml", remove_services=["jaeger"], services=[
        {"service": "api", "env_set": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4318"}}])
    assert out == ("services:\n  api:\n    image: a:1\n    ports: !reset []\n    environment: !override\n"
                   "      OTEL_EXPORTER_OTLP_ENDPOINT: http://alloy:4318\n")


@pytest.mark.parametrize("rewire", [False, True])
def test_each_text_of_an_edit_is_parsed_once(monkeypatch, rewire):
    """Round-trip parsing is most of an edit's cost (the example's compose file: ~0.05 s a parse on a two-core
    machine); every step used to parse the text again (11 parses for the example's migration edit). Each text is
    parsed once: the original, the text after the services went, after the rewiring (the dropped depends_on), after
    the volumes went, after the include line."""
    text = (EXAMPLE / "docker-compose.yml").read_text(encoding="utf-8")
    services = [{"service": "api", "env_set": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4318"}}] if rewire else []
    expected = E.edit_compose(text, "docker-compose.yml", remove_services=["jaeger", "prometheus", "promtail"],
                              remove_volumes=["prometheus-data"], services=services,
                              include=["observability/compose.yaml"])
    parsed = []
    load = E.load
    monkeypatch.setattr(E, "load", lambda text_, path: parsed.append(text_) or load(text_, path))
    assert E.edit_compose(text, "docker-compose.yml", remove_services=["jaeger", "prometheus", "promtail"],
                          remove_volumes=["prometheus-data"], services=services,
                          include=["observability/compose.yaml"]) == expected
    assert len(parsed) == len(set(parsed)) and len(parsed) <= 5, len(parsed)
