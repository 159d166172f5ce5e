"""OpenTelemetry Collector configs merged as the collector does (several --config sources, URIs, env expansion)."""

import json
import shutil

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import compose_model as C
from ansible_collections.lgtm.stack.plugins.module_utils import otelcol_config as O
from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError

from tests.unit.conftest import PROJECTS

FIXTURE = PROJECTS / "otel-multi-config"


def resolve(project_dir, resolver, name="otelcol"):
    project = C.load_project(str(project_dir), run_command=resolver)
    svc = project.services[name]
    return project, O.collector_config(svc, name, project.project_dir, project.resolved_by != "raw")


def svc_with(tmp_path, command, files=None, environment=None, image="otel/opentelemetry-collector-contrib:0.102.1"):
    """A normalised service whose files are bind-mounted from tmp_path into /etc/otelcol."""
    volumes = []
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
        volumes.append({"type": "bind", "source": str(tmp_path / name), "target": "/etc/otelcol/" + name})
    return {"image": image, "command": command, "volumes": volumes, "environment": environment or {}}


# --------------------------------------------------------------------------- merge semantics


def test_merge_maps_merged_lists_replaced_later_wins():
    base = {"processors": {"batch": {"timeout": "5s"}},
            "service": {"pipelines": {"traces": {"processors": ["a", "b"]}}}}
    later = {"processors": {"batch": {"send_batch_size": 10}, "x": {}},
             "service": {"pipelines": {"traces": {"processors": ["c"]}}}}
    assert O.merge(base, later) == {
        "processors": {"batch": {"timeout": "5s", "send_batch_size": 10}, "x": {}},
        "service": {"pipelines": {"traces": {"processors": ["c"]}}}}
    assert O.merge({"a": {"b": 1}}, {"a": None}) == {"a": None}
    assert O.merge({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_key_delimiter_nests():
    assert O.split_keys({"exporters::debug::verbosity": "basic", "exporters": {"debug": {"x": 1}}}) == {
        "exporters": {"debug": {"verbosity": "basic", "x": 1}}}


# --------------------------------------------------------------------------- command line and URIs


def test_config_flags_every_form_in_order():
    svc = {"entrypoint": ["/otelcol-contrib"],
           "command": ["--config", "/a.yaml", "--config=file:/b.yaml", "-config=env:X", "-config", "yaml:a::b: 1",
                       "--set=processors.batch.timeout=2s", "--feature-gates=foo"]}
    assert O.config_uris(svc) == [("config", "/a.yaml"), ("config", "file:/b.yaml"), ("config", "env:X"),
                                  ("config", "yaml:a::b: 1"), ("set", "yaml:processors::batch::timeout: 2s")]


def test_default_config_path_by_image(tmp_path):
    svc = svc_with(tmp_path, [], {}, image="otel/opentelemetry-collector:0.102.1")
    result = O.collector_config(svc)
    assert result["default_config"] is True
    assert result["sources"][0]["kind"] == "default"
    assert result["sources"][0]["container_path"] == "/etc/otelcol/config.yaml"
    assert O.default_config_path({"image": "otel/opentelemetry-collector-contrib:0.102.1"}) == \
        "/etc/otelcol-contrib/config.yaml"
    mounted = {"image": "example/collector:1", "volumes": [
        {"type": "bind", "source": "/p/c.yaml", "target": "/etc/otel-collector-config.yaml"}]}
    assert O.default_config_path(mounted) == "/etc/otel-collector-config.yaml"


def test_file_env_yaml_sources_merged_in_order(tmp_path):
    files = {"a.yaml": "exporters:\n  debug:\n    verbosity: detailed\n  otlp:\n    endpoint: jaeger:4317\n",
             "b.yaml": "exporters:\n  otlp:\n    endpoint: tempo:4317\n"}
    svc = svc_with(tmp_path, ["--config=/etc/otelcol/a.yaml", "--config", "file:/etc/otelcol/b.yaml",
                              "--config=env:EXTRA", "--config=yaml:exporters::debug::verbosity: basic"],
                   files, {"EXTRA": "receivers:\n  otlp:\n    protocols: {grpc: {}}\n"})
    result = O.collector_config(svc, "col")
    config = result["config"]
    assert config["exporters"] == {"debug": {"verbosity": "basic"}, "otlp": {"endpoint": "tempo:4317"}}
    assert config["receivers"] == {"otlp": {"protocols": {"grpc": {}}}}
    assert [(s["kind"], s["container_path"], s["env_var"], s["loaded"]) for s in result["sources"]] == [
        ("file", "/etc/otelcol/a.yaml", None, True), ("file", "/etc/otelcol/b.yaml", None, True),
        ("env", None, "EXTRA", True), ("yaml", None, None, True)]
    assert result["sources"][1]["host_path"] == str(tmp_path / "b.yaml")
    origins = result["origins"]["exporters"]
    assert origins["otlp"] == {"source": 1, "where": str(tmp_path / "b.yaml"), "line": 2}
    assert origins["debug"]["source"] == 3 and origins["debug"]["where"].startswith("yaml:")
    assert result["origins"]["receivers"]["otlp"]["where"] == "env:EXTRA"
    assert result["problems"] == []


# --------------------------------------------------------------------------- expansion


@pytest.mark.parametrize(
    ("text", "expected"),
    [("${env:SET}", "v"), ("${SET}", "v"), ("$SET", "v"), ("x-${env:SET}-y", "x-v-y"), ("${env:UNSET:-d}", "d"),
     ("${env:EMPTY:-d}", ""), ("$${env:SET}", "${env:SET}"), ("$$SET", "$SET"), ("${env:PORT}", 4317),
     ("a ${env:PORT}", "a 4317"), ("${env:API_TOKEN}", MASK), ("${http://x/y}", "${http://x/y}")],
)
def test_expansion(tmp_path, text, expected):
    svc = svc_with(tmp_path, ["--config=/etc/otelcol/c.yaml"], {"c.yaml": "k: %s\n" % json.dumps(text)},
                   {"SET": "v", "EMPTY": "", "PORT": "4317", "API_TOKEN": "t0k3n"})
    assert O.collector_config(svc)["config"]["k"] == expected


def test_expansion_after_merge_and_unset_variable(tmp_path):
    files = {"a.yaml": "exporters:\n  otlp:\n    endpoint: ${env:GONE}\n  loki:\n    endpoint: ${env:ALSO_GONE}\n",
             "b.yaml": "exporters:\n  otlp:\n    endpoint: tempo:4317\n"}
    svc = svc_with(tmp_path, ["--config=/etc/otelcol/a.yaml", "--config=/etc/otelcol/b.yaml"], files)
    result = O.collector_config(svc, "col")
    # The overridden value is never expanded (the collector merges first); the surviving one is empty.
    assert result["config"]["exporters"] == {"otlp": {"endpoint": "tempo:4317"}, "loki": {"endpoint": ""}}
    assert [(p["kind"], p["source"]) for p in result["problems"]] == [("unset_env", "ALSO_GONE")]
    assert "exporters.loki.endpoint" in result["problems"][0]["message"]


# --------------------------------------------------------------------------- problems and errors


def test_unmounted_file_and_unset_env_source_are_problems(tmp_path):
    svc = svc_with(tmp_path, ["--config=/etc/otelcol/a.yaml", "--config=/etc/otelcol-contrib/not-mounted.yaml",
                              "--config=env:NOT_SET", "--config=https://config.example.com/c.yaml"],
                   {"a.yaml": "receivers:\n  otlp: {}\n"})
    result = O.collector_config(svc, "col")
    assert result["config"] == {"receivers": {"otlp": {}}}
    assert [(p["kind"], p["source"]) for p in result["problems"]] == [
        ("not_mounted", "/etc/otelcol-contrib/not-mounted.yaml"), ("unset_env", "env:NOT_SET"),
        ("unsupported_uri", "https://config.example.com/c.yaml")]
    assert "not bind-mounted" in result["problems"][0]["message"]
    assert [s["loaded"] for s in result["sources"]] == [True, False, False, False]


def test_mount_source_missing_is_a_problem(tmp_path):
    svc = {"command": ["--config=/etc/otelcol/c.yaml"],
           "volumes": [{"type": "bind", "source": str(tmp_path / "nope.yaml"), "target": "/etc/otelcol/c.yaml"}]}
    result = O.collector_config(svc, "col")
    problem = result["problems"][0]
    assert problem["kind"] == "missing_file" and problem["file"] == str(tmp_path / "nope.yaml")


def test_malformed_yaml_names_file_and_line(tmp_path):
    svc = svc_with(tmp_path, ["--config=/etc/otelcol/a.yaml", "--config=/etc/otelcol/b.yaml"],
                   {"a.yaml": "receivers: {}\n", "b.yaml": "receivers:\n  otlp: {}\n exporters: [\n"})
    with pytest.raises(InputError) as err:
        O.collector_config(svc, "col")
    assert err.value.path == str(tmp_path / "b.yaml") and err.value.line == 3


def test_malformed_env_source_names_the_variable():
    svc = {"command": ["--config=env:EXTRA"], "environment": {"EXTRA": "a: [\n"}}
    with pytest.raises(InputError, match="col environment EXTRA"):
        O.collector_config(svc, "col")


# --------------------------------------------------------------------------- the fixture, both ways


def test_fixture_merged_pipelines(resolver):
    project, result = resolve(FIXTURE, resolver)
    assert project.resolved_by == ("docker compose config" if resolver else "raw")
    config = result["config"]
    assert O.pipelines(config) == {
        "traces": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                   "exporters": ["otlp/jaeger", "spanmetrics"]},
        "metrics": {"receivers": ["otlp", "spanmetrics"], "processors": ["memory_limiter", "resource/env", "batch"],
                    "exporters": ["prometheus"]},
        "logs": {"receivers": ["otlp"], "processors": ["memory_limiter", "attributes/tenant", "batch"],
                 "exporters": ["opensearch", "debug"]},
    }
    # The override's command: five sources, the tenant file last.
    assert [s["uri"] for s in result["sources"]][-1] == "file:/etc/otelcol/config-tenant.yaml"
    assert [s["kind"] for s in result["sources"]] == ["file", "file", "env", "yaml", "file"]
    assert all(s["loaded"] for s in result["sources"]) and result["problems"] == []
    assert config["processors"]["batch"] == {"timeout": "5s", "send_batch_size": 2048}
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert config["exporters"]["prometheus"]["endpoint"] == "0.0.0.0:8889"
    assert config["exporters"]["debug"] == {"verbosity": "basic"}
    # ${env:OPENSEARCH_URL} from the project's .env through the service's environment.
    assert config["exporters"]["opensearch"]["http"]["endpoint"] == "http://opensearch:9200"
    # `$$` in compose reached the collector as `$`: its own default applies.
    assert config["processors"]["resource/env"]["attributes"][0]["value"] == "staging"
    assert config["processors"]["attributes/tenant"]["actions"][0]["value"] == "acme"
    assert config["extensions"]["basicauth/opensearch"]["client_auth"]["password"] == MASK
    assert "fixture-os-Pw-91" not in json.dumps(result)
    origins = result["origins"]
    assert origins["exporters"]["opensearch"]["where"].endswith("otelcol/config-extras.yaml")
    assert origins["pipelines"]["traces"]["where"].endswith("otelcol/config-extras.yaml")
    assert origins["pipelines"]["metrics"]["where"] == "env:OTELCOL_EXTRA"
    assert origins["pipelines"]["logs"]["where"].endswith("otelcol/config-tenant.yaml")
    assert origins["exporters"]["otlp/jaeger"] == {"source": 0, "where": str(FIXTURE / "otelcol" / "config.yaml"),
                                                   "line": 29}


def test_fixture_override_that_drops_sources(tmp_path, resolver):
    project_dir = tmp_path / "p"
    shutil.copytree(FIXTURE, project_dir)
    (project_dir / "compose.override.yaml").write_text(
        "services:\n  otelcol:\n    command: [\"--config=/etc/otelcol/config-tenant.yaml\","
        " \"--config=/etc/otelcol/config.yaml\"]\n"
        "    volumes:\n      - ./otelcol/config-tenant.yaml:/etc/otelcol/config-tenant.yaml:ro\n")
    _project, result = resolve(project_dir, resolver)
    uris = [s["uri"] for s in result["sources"]]
    assert uris == ["/etc/otelcol/config-tenant.yaml", "/etc/otelcol/config.yaml"]
    # Without config-extras.yaml there is no logs exporter: the tenant file's logs pipeline is incomplete.
    assert "opensearch" not in result["config"]["exporters"]
    assert O.pipelines(result["config"])["traces"]["processors"] == ["memory_limiter", "attributes/scrub", "batch"]


def test_fixture_unset_variable_and_unmounted_file(tmp_path, resolver):
    project_dir = tmp_path / "p"
    shutil.copytree(FIXTURE, project_dir)
    (project_dir / ".env").write_text("OPENSEARCH_PASSWORD=x\n")  # OPENSEARCH_URL now unset in the service
    override = project_dir / "compose.override.yaml"
    override.write_text(override.read_text().replace(
        "      - ./otelcol/config-tenant.yaml:/etc/otelcol/config-tenant.yaml:ro\n",
        "      - ./otelcol:/srv/otelcol:ro\n"))
    _project, result = resolve(project_dir, resolver)
    kinds = [(p["kind"], p["source"]) for p in result["problems"]]
    assert ("not_mounted", "file:/etc/otelcol/config-tenant.yaml") in kinds
    assert result["sources"][-1]["loaded"] is False
    # Compose itself makes an unset ${OPENSEARCH_URL} an empty value: the collector sees it set and empty.
    assert result["config"]["exporters"]["opensearch"]["http"]["endpoint"] == ""
    assert O.pipelines(result["config"])["logs"]["processors"] == ["memory_limiter", "batch"]
