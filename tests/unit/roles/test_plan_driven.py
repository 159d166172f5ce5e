"""Every role rendered from a plan built on a legacy fixture, through the one mapping (plan_to_vars)."""

import json

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.filter.alloy_config import alloy_config
from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_to_vars
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE, PROJECTS

FIXTURES = {"example": EXAMPLE, "otel-collector": PROJECTS / "otel-collector", "jaeger-split": PROJECTS / "jaeger-split",
            "grafana-promtail": PROJECTS / "grafana-promtail", "host-apps": PROJECTS / "host-apps",
            "partial-lgtm": PROJECTS / "partial-lgtm"}


def plan_vars(name):
    plan = build_plan(L.analyse_project(str(FIXTURES[name])))
    mapped = plan_to_vars(json.loads(json.dumps(plan)))
    return plan, mapped["vars"], mapped["requires"]


def alloy_of(render, variables):
    _, resolved = render("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/p", **variables)
    built = alloy_config(resolved["__lgtm_alloy_spec"])
    return built, A.validate(built["alloy"]).components()


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_fixture_renders_a_checked_alloy_config(render_role_template, name):
    plan, variables, _ = plan_vars(name)
    built, comps = alloy_of(render_role_template, variables)
    jobs = {A.body_values(n)[0]["job_name"] for (kind, _), n in comps.items() if kind == "prometheus.scrape"}
    carried = {j["job_name"] for j in plan["scrape_jobs"] if j["action"] == "carry"}
    assert carried <= jobs, "every carried legacy job keeps its name"
    assert {"alloy", "tempo", "loki", "mimir", "grafana"} <= jobs
    assert (("otelcol.receiver.jaeger", "default") in comps) == bool(plan["jaeger_receivers"])
    source, _ = A.body_values(comps[("loki.source.docker", "containers")])
    assert source["labels"]["service_namespace"] == plan["service_namespace"]
    _, docker = A.body_values(comps[("discovery.docker", "containers")])
    assert A.body_values(docker["filter"][0])[0]["values"] == ["com.docker.compose.project=%s" % plan["project_name"]]


def test_example_mapping(render_role_template):
    plan, variables, requires = plan_vars("example")
    assert variables["lgtm_alloy_jaeger_receivers"] == ["thrift_compact"]
    assert variables["lgtm_alloy_host_gateway"] is True
    assert variables["lgtm_loki_retention_period"] == "168h"
    assert (variables["lgtm_exporters_mysqld_host"], variables["lgtm_exporters_mysqld_port"],
            variables["lgtm_exporters_mysqld_user"]) == ("mysql", 3306, "exporter")
    assert variables["lgtm_exporters_redis_address"] == "redis://redis:6379"
    assert requires == ["lgtm_exporters_mysqld_password"]
    # The legacy jobs "mysql" and "redis" already scrape the new exporters: no second job for them.
    assert variables["lgtm_alloy_scrape_exporters"] == []
    compose = yaml.safe_load(render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/p", **variables)[0])
    svc = compose["services"]["alloy"]
    assert "127.0.0.1:6831:6831/udp" in svc["ports"] and svc["extra_hosts"] == ["host.docker.internal:host-gateway"]
    loki = yaml.safe_load(render_role_template("loki", "loki.yaml.j2", lgtm_project_dir="/srv/p", **variables)[0])
    assert loki["limits_config"]["retention_period"] == "168h"
    exporters = yaml.safe_load(render_role_template(
        "exporters", "compose.yaml.j2", lgtm_project_dir="/srv/p", lgtm_exporters_mysqld_password="x", **variables)[0])
    assert set(exporters["services"]) == {"mysqld-exporter", "redis-exporter"}
    # One network per project: a compose key with no fixed name, so Compose scopes it to the project (a clone
    # under another project name, or a second project, gets its own).
    assert exporters["networks"] == {"lgtm-shop": {}}
    my_cnf = render_role_template("exporters", "mysqld-exporter.my.cnf.j2", lgtm_project_dir="/srv/p",
                                  lgtm_exporters_mysqld_password="x", **variables)[0]
    assert "host = mysql" in my_cnf and "user = exporter" in my_cnf


def test_renamed_alloy_flows_to_every_role(render_role_template):
    _, variables, _ = plan_vars("partial-lgtm")
    # One shared knob names every service: the alloy role takes its own name from it, nothing else is mapped.
    assert variables["lgtm_service_names"]["alloy"] == "lgtm-alloy" and "lgtm_alloy_service_name" not in variables
    assert variables["lgtm_service_names"]["tempo"] == "tempo"
    text, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/p", **variables)
    assert list(yaml.safe_load(text)["services"]) == ["lgtm-alloy"] and resolved["lgtm_alloy_service_name"] == "lgtm-alloy"
    assert variables["lgtm_enabled_exporters"] == []


def test_the_shared_knobs_reach_every_role_that_needs_them(render_role_template):
    """Service names and the exporters the stack runs: set once, followed by every role (none reads another's)."""
    names = {"tempo": "traces", "loki": "logs", "mimir": "metrics", "grafana": "ui", "mysqld_exporter": "dbx",
             "redis_exporter": "cachex"}
    knobs = dict(lgtm_project_dir="/srv/p", lgtm_service_names=names, lgtm_enabled_exporters=["mysqld", "redis"],
                 lgtm_exporters_mysqld_password="x", lgtm_exporters_redis_password="y")
    _, alloy = render_role_template("alloy", "compose.yaml.j2", **knobs)
    assert alloy["lgtm_alloy_tempo_endpoint"] == "traces:4317" and alloy["lgtm_alloy_loki_url"] == "http://logs:3100"
    assert alloy["lgtm_alloy_scrape_exporters"] == [{"job_name": "mysqld-exporter", "target": "dbx:9104"},
                                                    {"job_name": "redis-exporter", "target": "cachex:9121"}]
    ds = yaml.safe_load(render_role_template("grafana", "datasources.yaml.j2", **knobs)[0])
    assert {d["uid"]: d["url"] for d in ds["datasources"]} == {
        "mimir": "http://metrics:9009/prometheus", "tempo": "http://traces:3200", "loki": "http://logs:3100"}
    tempo = yaml.safe_load(render_role_template("tempo", "tempo.yaml.j2", **knobs)[0])
    assert tempo["metrics_generator"]["storage"]["remote_write"][0]["url"] == "http://metrics:9009/api/v1/push"
    exporters = yaml.safe_load(render_role_template("exporters", "compose.yaml.j2", **knobs)[0])
    assert set(exporters["services"]) == {"dbx", "cachex"}
    stack, resolved = render_role_template("stack", "compose.yaml.j2", **knobs)
    assert "observability/exporters/compose.yaml" in stack and resolved["lgtm_stack_grafana_service"] == "ui"
    only_redis = dict(knobs, lgtm_enabled_exporters=["redis"])
    exporters = yaml.safe_load(render_role_template("exporters", "compose.yaml.j2", **only_redis)[0])
    assert set(exporters["services"]) == {"cachex"}
    assert render_role_template("alloy", "compose.yaml.j2", **only_redis)[1]["lgtm_alloy_scrape_exporters"] == [
        {"job_name": "redis-exporter", "target": "cachex:9121"}]
    none = dict(knobs, lgtm_enabled_exporters=[])
    assert "exporters" not in render_role_template("stack", "compose.yaml.j2", **none)[0]


def test_collector_pipelines_and_grafana_urls(render_role_template):
    _, variables, _ = plan_vars("otel-collector")
    built, comps = alloy_of(render_role_template, variables)
    _, blocks = A.body_values(comps[("otelcol.receiver.otlp", "default")])
    traces = A.body_values(blocks["output"][0])[0]["traces"]
    assert [t.text for t in traces] == ["otelcol.processor.memory_limiter.legacy_memory_limiter.input"]
    assert [u["component"] for u in built["unconverted"]] == ["hostmetrics"]
    ds = yaml.safe_load(render_role_template("grafana", "datasources.yaml.j2", lgtm_project_dir="/srv/p", **variables)[0])
    assert {d["uid"]: d["url"] for d in ds["datasources"]} == {
        "mimir": "http://mimir:9009/prometheus", "tempo": "http://tempo:3200", "loki": "http://loki:3100"}
    tempo = yaml.safe_load(render_role_template("tempo", "tempo.yaml.j2", lgtm_project_dir="/srv/p", **variables)[0])
    assert tempo["metrics_generator"]["storage"]["remote_write"][0]["url"] == "http://mimir:9009/api/v1/push"


def test_jaeger_split_needs_the_redis_password_and_keeps_carried_exporter_jobs():
    _, variables, requires = plan_vars("jaeger-split")
    assert requires == ["lgtm_exporters_mysqld_password", "lgtm_exporters_redis_password"]
    assert variables["lgtm_exporters_mysqld_host"] == "db"
    assert variables["lgtm_alloy_jaeger_receivers"] == ["thrift_http"]
    assert variables["lgtm_alloy_scrape_exporters"] == [], "jobs mysqld and redis are carried with new targets"


def test_bad_input():
    with pytest.raises(Exception, match="expects the 'plan'"):
        plan_to_vars({"legacy": 1})


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_every_template_renders_from_the_plan(render_role_template, name):
    """Each role's templates, fed only by plan_to_vars, render to valid YAML with the plan's identity."""
    plan, variables, _ = plan_vars(name)
    secrets = {"lgtm_exporters_mysqld_password": "x", "lgtm_exporters_redis_password": "y"}
    templates = {"tempo": ["tempo.yaml.j2", "compose.yaml.j2"], "loki": ["loki.yaml.j2", "compose.yaml.j2"],
                 "mimir": ["mimir.yaml.j2", "compose.yaml.j2"], "alloy": ["compose.yaml.j2"],
                 "grafana": ["datasources.yaml.j2", "dashboards.yaml.j2", "compose.yaml.j2"],
                 "exporters": ["compose.yaml.j2", "mysqld-exporter.my.cnf.j2"], "stack": ["compose.yaml.j2"]}
    for role, names in templates.items():
        for template in names:
            text, resolved = render_role_template(role, template, lgtm_project_dir="/srv/p", **dict(variables, **secrets))
            if template.endswith(".cnf.j2"):
                assert "[client]" in text
                continue
            doc = yaml.safe_load(text)
            assert isinstance(doc, dict), (role, template)
            if template == "compose.yaml.j2" and role != "stack":
                assert doc["networks"] == {plan["network"]: {}}, (role, template)
                for svc in doc["services"].values():
                    assert all(p.startswith(plan["bind_address"] + ":") for p in svc.get("ports", []))
    mimir = yaml.safe_load(render_role_template("mimir", "mimir.yaml.j2", lgtm_project_dir="/srv/p", **variables)[0])
    assert mimir["limits"]["max_global_exemplars_per_user"] > 0 and mimir["ingest_storage"] == {"enabled": False}
    stack, _ = render_role_template("stack", "compose.yaml.j2", lgtm_project_dir="/srv/p", **variables)
    included = [line.strip()[2:] for line in stack.splitlines() if line.strip().startswith("- ")]
    expected = ["alloy", "tempo", "loki", "mimir", "grafana"] + (
        ["exporters"] if variables["lgtm_enabled_exporters"] else [])
    # Relative paths: a clone in another directory starts the same stack (root_include off: from the project dir).
    assert included == ["observability/%s/compose.yaml" % c for c in expected]


def test_the_migrate_view_of_the_example():
    """What the migrate role's tasks read of the plan: the compose edits, dashboards, summaries and guide fields."""
    plan = build_plan(L.analyse_project(str(EXAMPLE)))
    view = plan_to_vars(json.loads(json.dumps(plan)))["migrate"]
    assert view["compose_files"] == plan["compose_files"] and len(view["compose_files"]) == 1
    assert view["compose_edit"]["remove_services"] == [s["service"] for s in plan["remove_services"]]
    assert {"jaeger", "prometheus", "promtail"} <= set(view["compose_edit"]["remove_services"])
    assert view["compose_edit"]["services"] == plan["rewire"]
    assert view["compose_edit"]["remove_volumes"] == [v["volume"] for v in plan["volumes"]]
    assert set(view["deletable_volumes"]) == {v["name"] for v in plan["volumes"] if not v["external"]}
    assert view["counts"] == plan["summary"] and view["findings"] == plan["findings"]
    assert view["mysqld_my_cnf"].endswith("exporters/mysqld-exporter.my.cnf")
    assert view["mysqld_my_cnf"] in view["read_paths"] and set(plan["compose_files"]) <= set(view["read_paths"])
    assert view["exporters"] == ["mysqld_exporter", "redis_exporter"]
    assert "api" in view["apps"] and "mysql" in view["data_services"] and "api" not in view["data_services"]
    assert view["backend"] == {"mode": "local", "grafana": True}
    assert view["dashboards"]["service_namespace"] == plan["service_namespace"]


def test_a_volume_declared_external_is_never_deletable():
    plan = build_plan(L.analyse_project(str(EXAMPLE)))
    plan["volumes"] = [dict(plan["volumes"][0], external=True, name="shared-data")] + plan["volumes"][1:]
    view = plan_to_vars(json.loads(json.dumps(plan)))["migrate"]
    assert "shared-data" not in view["deletable_volumes"]
    assert plan["volumes"][0]["volume"] in view["compose_edit"]["remove_volumes"]


def test_the_migrate_role_reads_the_plan_only_through_the_mapping():
    """Its tasks, vars and templates (and verify.yml) read `__lgtm_migrate_view`, never `lgtm_migrate_plan.<key>`."""
    from pathlib import Path
    import re

    root = Path(__file__).resolve().parents[3]
    paths = sorted((root / "roles" / "migrate").rglob("*.yml")) + sorted((root / "roles" / "migrate").rglob("*.j2"))
    raw = [("%s:%d" % (p.relative_to(root), n), line.strip()) for p in paths + [root / "playbooks" / "verify.yml"]
           for n, line in enumerate(p.read_text().splitlines(), 1)
           if re.search(r"\blgtm_migrate_plan\s*(\.|\[)|\bset p = lgtm_migrate_plan\b|__lgtm_verify_plan\.(?!backend|"
                        r"service_namespace|environment|project_name)", line)]
    assert raw == []
