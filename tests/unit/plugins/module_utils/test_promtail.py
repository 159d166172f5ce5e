"""module_utils.promtail: what Promtail's labels mean and what becomes of them in the new pipeline."""

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import legacy, promtail
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import load_yaml, parse_yaml
from tests.unit.conftest import EXAMPLE, FIXTURES, PROJECTS

CONFIG = FIXTURES / "promtail" / "config.yml"
IDENTITIES = {"api": "shop-api", "worker": "shop-worker", "mysql": "mysql"}


def _kinds(model):
    return {label: [(s["promtail_job"], s["source"], s["kind"], s["line"]) for s in meaning["sources"]]
            for label, meaning in model.items()}


def test_label_model_of_a_docker_sd_job_with_relabel_rules_stages_and_host_files():
    model = promtail.label_model(load_yaml(str(CONFIG)))
    assert _kinds(model) == {
        "container": [("docker", "relabel rule", "service", 22)],
        "compose_service": [("docker", "relabel rule", "service", 25)],
        "compose_project": [("docker", "relabel rule", "project", 27)],
        "logstream": [("docker", "relabel rule", "stream", 29)],
        "job": [("docker", "relabel rule", "job", 31), ("system", "static", "job", 48)],
        "level": [("docker", "stage", "stage", 39)],
        "trace_id": [("docker", "stage", "trace", 39)],
        "method": [("docker", "stage", "stage", 39)],
    }
    container = model["container"]["sources"][0]
    assert container["container_name"] is True and container["regex"] == "/(.*)"
    assert model["job"]["sources"][0]["value"] == "docker" and model["job"]["sources"][0]["collects"] == "docker"
    varlogs = model["job"]["sources"][1]
    assert (varlogs["value"], varlogs["collects"], varlogs["where"]) == ("varlogs", "host", "/var/log/*log")
    method = model["method"]["sources"][0]
    assert (method["parser"], method["expression"]) == ("json", "request.method")


def test_every_label_gets_a_fate():
    model = promtail.label_model(load_yaml(str(CONFIG)))
    fates = {(f["label"], f["promtail_job"]): f for f in promtail.label_fates(model, IDENTITIES, "shop")}
    assert {key: (f["fate"], f["new"]) for key, f in fates.items()} == {
        ("container", "docker"): ("replaced", "service_name"),
        ("compose_service", "docker"): ("replaced", "service_name"),
        ("compose_project", "docker"): ("dropped", None),
        ("logstream", "docker"): ("replaced", "stream"),
        ("job", "docker"): ("dropped", None),
        ("job", "system"): ("dropped", None),
        ("level", "docker"): ("converted", "| json | level"),
        ("trace_id", "docker"): ("replaced", "| trace_id"),
        ("method", "docker"): ("converted", '| json method="request.method" | method'),
    }
    # A dropped label says what stops working and what to do.
    assert "does not collect" in fates[("job", "system")]["reason"]
    assert "loki.source.file" in fates[("job", "system")]["reason"]
    assert all(f["reason"] and f["source"] and f["line"] for f in fates.values())


def test_labelmap_static_labels_docker_stage_and_logfmt():
    doc = parse_yaml("""
scrape_configs:
  - job_name: containers
    docker_sd_configs: [{host: "unix:///var/run/docker.sock"}]
    relabel_configs:
      - action: labelmap
        regex: __meta_docker_container_label_com_docker_compose_(.+)
      - source_labels: [__meta_docker_container_id]
        target_label: container_id
    pipeline_stages:
      - docker: {}
      - match:
          selector: '{service="api"}'
          stages:
            - logfmt: {mapping: {lvl: level}}
            - labels: {lvl: }
            - static_labels: {team: payments}
  - job_name: app-files
    static_configs:
      - labels: {app: api, env: prod, __path__: /srv/api/logs/*.log}
""", "inline.yml")
    model = promtail.label_model(doc)
    kinds = {label: [s["kind"] for s in m["sources"]] for label, m in model.items()}
    assert kinds == {"app": ["service_static"], "env": ["static"], "service": ["service"], "project": ["project"],
                     "container_number": ["relabel"], "oneoff": ["relabel"], "container_id": ["relabel"],
                     "stream": ["stream"], "lvl": ["stage"], "team": ["static"]}
    assert (model["lvl"]["sources"][0]["parser"], model["lvl"]["sources"][0]["expression"]) == ("logfmt", "level")
    fates = {(f["label"], f["promtail_job"]): f for f in promtail.label_fates(model, {"api": "shop-api"}, "shop")}
    assert fates[("app", "app-files")]["new"] == 'service_name="shop-api"'
    assert fates[("env", "app-files")]["fate"] == "dropped"
    assert fates[("stream", "containers")]["fate"] == "carried"
    assert fates[("lvl", "containers")]["new"] == '| logfmt lvl="level" | lvl'


def test_grafana_promtail_fixture_model():
    model = promtail.label_model(load_yaml(str(PROJECTS / "grafana-promtail" / "promtail" / "config.yml")))
    # Docker's json files read by path: a docker-log job; its json stage's stream is docker's own stream.
    assert _kinds(model) == {"job": [("containers", "static", "job", 10)],
                             "stream": [("containers", "stage", "stream", 18)],
                             "traceID": [("containers", "stage", "trace", 18)]}
    assert model["job"]["sources"][0]["collects"] == "docker"


@pytest.mark.parametrize(("project", "label", "kind"), [(EXAMPLE, "container", "service"),
                                                      (PROJECTS / "grafana-promtail", "traceID", "trace")])
def test_analyse_promtail_returns_the_model_and_keeps_its_keys(project, label, kind):
    result = legacy.analyse_project(str(project))["promtail"]
    assert {"service", "file", "clients", "jobs", "labels_from_logs", "label_model"} <= set(result)
    assert result["label_model"][label]["sources"][0]["kind"] == kind
    assert result["labels_from_logs"], "the existing keys keep their content"


def test_trace_label_names():
    assert all(promtail.is_trace_label(n) for n in ("trace_id", "traceID", "traceId", "trace.id", "TraceId"))
    assert not any(promtail.is_trace_label(n) for n in ("span_id", "tracer", "level"))
