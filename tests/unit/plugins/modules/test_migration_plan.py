"""migration_plan on every fixture: the key decisions and findings a senior SRE would check."""

import json

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import go_telemetry as G
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from ansible_collections.lgtm.stack.plugins.module_utils.report import render_report
from ansible_collections.lgtm.stack.plugins.modules import migration_plan
from tests.unit.conftest import EXAMPLE, PROJECTS

CACHE = {}


def legacy_of(name):
    if name not in CACHE:
        CACHE[name] = L.analyse_project(str(EXAMPLE if name == "example" else PROJECTS / name))
    return json.loads(json.dumps(CACHE[name]))


def codes(plan):
    return [f["code"] for f in plan["findings"]]


def by_code(plan, code):
    return [f for f in plan["findings"] if f["code"] == code]


def test_every_finding_has_a_reason_and_a_place():
    for name in ("example", "otel-collector", "jaeger-split", "grafana-promtail", "host-apps", "partial-lgtm"):
        plan = build_plan(legacy_of(name))
        for finding in plan["findings"]:
            assert finding["message"], (name, finding)
            assert finding["severity"] in ("high", "medium", "low", "info")
            if finding["code"] not in ("P018", "P022"):
                assert finding["file"] or finding["service"], (name, finding)
        order = [("high", "medium", "low", "info").index(f["severity"]) for f in plan["findings"]]
        assert order == sorted(order), "most severe first"


def test_example_plan():
    legacy = legacy_of("example")
    plan = build_plan(legacy, go_findings=G.scan(str(EXAMPLE))["findings"], environment="dev")
    assert [r["service"] for r in plan["remove_services"]] == [
        "grafana", "jaeger", "loki", "mysqld-exporter", "prometheus", "promtail", "redis-exporter"]
    assert plan["keep_services"] == ["api", "mysql", "redis"]
    assert [a["service"] for a in plan["add_services"]] == [
        "alloy", "tempo", "loki", "mimir", "grafana", "mysqld-exporter", "redis-exporter"]
    (api,) = [r for r in plan["rewire"] if r["service"] == "api"]
    assert api["env_set"] == {
        "JAEGER_AGENT_HOST": "alloy",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://alloy:4318",
        "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=shop,deployment.environment=dev,deployment.environment.name=dev",
    }
    assert api["networks_add"] == ["lgtm-shop"] and api["depends_on_remove"] == ["jaeger"]
    assert plan["jaeger_receivers"] == ["thrift_compact"]
    # Ports: Jaeger's 4317/4318 are released and claimed again by Alloy on loopback; no conflict.
    assert {"4317", "4318"} <= {p["port"] for p in plan["ports"]["released"]}
    assert all(c["host_ip"] == "127.0.0.1" for c in plan["ports"]["claimed"]) and plan["ports"]["conflicts"] == []
    # Data is kept unless asked.
    assert [(v["volume"], v["action"]) for v in plan["volumes"]] == [
        ("grafana-data", "keep"), ("loki-data", "keep"), ("prometheus-data", "keep")]
    jobs = {j["job_name"]: j for j in plan["scrape_jobs"]}
    assert jobs["prometheus"]["action"] == "drop" and jobs["jaeger"]["action"] == "drop"
    assert [jobs[j]["action"] for j in ("shop-api", "shop-worker", "mysql", "redis")] == ["carry"] * 4
    assert jobs["mysql"]["config"]["static_configs"][0]["targets"] == ["mysqld-exporter:9104"]
    assert plan["alloy_needs_host_gateway"] is True
    assert plan["datasource_map"]["by_uid_or_name"] == {
        "Jaeger": "tempo", "jaeger": "tempo", "Loki": "loki", "Prometheus": "mimir", "prometheus-main": "mimir"}
    assert plan["datasource_map"]["inputs"] == {"DS_PROMETHEUS": "mimir"}
    assert plan["loki_retention_period"] == "168h"
    found = set(codes(plan))
    assert {"GO001", "GO006", "P001", "P002", "P003", "P006", "P007", "P008", "P010", "P011", "P016",
            "P021", "P022", "P043"} <= found
    # The example's rule file goes to Mimir's ruler (nothing left unevaluated).
    assert "P015" not in found
    assert plan["mimir_rule_files"] == [{"host_path": str(EXAMPLE / "prometheus" / "rules.yml"),
                                         "container_path": "/etc/prometheus/rules.yml", "name": "rules", "groups": 1,
                                         "rules": 3, "alerts": ["MySQLDown", "ShopApiDown"]}]
    (latest,) = by_code(plan, "P007")
    assert latest["service"] == "redis-exporter" and latest["line"] == 130
    (derived,) = by_code(plan, "P003")
    assert "points at Jaeger" in derived["message"] and derived["line"] == 11
    assert "example-shop-pw" not in json.dumps(plan)


def test_remove_legacy_data_marks_volumes_for_deletion():
    plan = build_plan(legacy_of("example"), remove_legacy_data=True)
    assert {v["action"] for v in plan["volumes"]} == {"delete"}
    assert "P022" not in codes(plan)
    assert {"mysql-data", "redis-data"}.isdisjoint(v["volume"] for v in plan["volumes"]), "data of kept services"


def test_otel_collector_plan():
    plan = build_plan(legacy_of("otel-collector"), service_namespace="payments", environment="staging")
    removed = {r["service"] for r in plan["remove_services"]}
    assert removed == {"otel-collector", "jaeger", "loki", "prometheus", "grafana"}
    rewire = {r["service"]: r for r in plan["rewire"]}
    assert rewire["payments"]["env_set"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://alloy:4317"
    assert rewire["ledger"]["env_set"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://alloy:4317"
    # The app's own deployment.environment (staging, from .env) is kept and mirrored to .name.
    assert "deployment.environment.name=staging" in rewire["payments"]["env_set"]["OTEL_RESOURCE_ATTRIBUTES"]
    assert "team=payments" in rewire["payments"]["env_set"]["OTEL_RESOURCE_ATTRIBUTES"]
    assert rewire["payments"]["depends_on_remove"] == ["otel-collector"]
    assert plan["jaeger_receivers"] == []
    jobs = {j["job_name"]: j["action"] for j in plan["scrape_jobs"]}
    assert jobs == {"otel-collector": "drop", "otel-collector-internal": "drop"}
    assert {"P002", "P003", "P004", "P019"} <= set(codes(plan))
    assert any("const labels source" in f["message"] for f in by_code(plan, "P019"))
    assert any("prefixed 'payments_'" in f["message"] for f in by_code(plan, "P019")), "dashboard uses the prefix"
    assert any("job=\"otel-collector\"" in f["message"] for f in by_code(plan, "P002") if f["file"].endswith(".json"))
    assert plan["datasource_map"]["by_uid_or_name"]["Prometheus"] == "mimir"


def test_jaeger_split_plan():
    plan = build_plan(legacy_of("jaeger-split"))
    rewire = {r["service"]: r for r in plan["rewire"]}
    orders = rewire["orders"]["env_set"]
    assert orders["OTEL_EXPORTER_JAEGER_ENDPOINT"] == "http://alloy:14268/api/traces"
    assert orders["OTEL_TRACES_EXPORTER"] == "otlp"
    assert plan["jaeger_receivers"] == ["thrift_http"]
    assert {r["service"] for r in plan["remove_services"]} >= {"jaeger-collector", "jaeger-query", "prometheus"}
    assert "elasticsearch" in plan["keep_services"]
    assert {j["job_name"]: j["action"] for j in plan["scrape_jobs"]}["jaeger-collector"] == "drop"
    assert plan["scrape_target_map"] == {"mysql-exporter:9104": "mysqld-exporter:9104",
                                         "redis-exporter:9121": "redis-exporter:9121"}
    carried = {j["job_name"]: j for j in plan["scrape_jobs"] if j["action"] == "carry"}
    assert carried["mysqld"]["config"]["static_configs"][0]["targets"] == ["mysqld-exporter:9104"]
    assert [v["volume"] for v in plan["volumes"]] == ["prom-data"]
    pinned = {f["service"] for f in by_code(plan, "P007")}
    assert pinned == {"orders", "prometheus", "redis-exporter"}
    assert "P025" not in codes(plan), "the Loki driver is on Prometheus, which is removed anyway"
    legacy = legacy_of("jaeger-split")
    legacy["services"]["orders"]["logging_driver"] = "loki"
    plan = build_plan(legacy)
    (orders,) = [r for r in plan["rewire"] if r["service"] == "orders"]
    assert orders["logging_remove"] is True and by_code(plan, "P025")[0]["service"] == "orders"


def test_grafana_promtail_plan():
    plan = build_plan(legacy_of("grafana-promtail"))
    high = [f for f in plan["findings"] if f["severity"] == "high"]
    assert {f["code"] for f in high} == {"P005"}
    assert any("traceID" in f["message"] and f["file"].endswith("promtail/config.yml") for f in high)
    assert any("dashboard 'Web logs'" in f["message"] for f in high), "dashboard selecting by the traceID label"
    assert plan["datasource_map"]["inputs"] == {"DS_JAEGER": "tempo", "DS_LOKI": "loki"}
    assert {"P006", "P010", "P011", "P018"} <= set(codes(plan))
    assert plan["jaeger_receivers"] == ["thrift_compact"]


def test_host_apps_plan():
    plan = build_plan(legacy_of("host-apps"))
    assert plan["keep_services"] == [] and plan["rewire"] == []
    assert {r["service"] for r in plan["remove_services"]} == {"jaeger", "prometheus"}
    assert "P018" in codes(plan), "the unmounted Prometheus config is reported"


def test_partial_lgtm_plan_renames_the_colliding_service():
    plan = build_plan(legacy_of("partial-lgtm"))
    assert plan["service_names"]["alloy"] == "lgtm-alloy"
    (collision,) = by_code(plan, "P017")
    assert collision["service"] == "alloy" and collision["severity"] == "high"
    (app,) = [r for r in plan["rewire"] if r["service"] == "alloy"]
    assert app["env_set"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://lgtm-alloy:4318"
    assert {r["service"] for r in plan["remove_services"]} == {"tempo", "loki"}
    assert "P006" not in codes(plan) and "P010" not in codes(plan), "Loki 3 v13 with enforced retention is fine"
    assert plan["ports"]["conflicts"] == []


def test_a_loki_without_retention_is_a_finding_and_a_zero_retention_is_carried_as_forever():
    """otel-collector: its Loki sets no retention_period (it kept logs until the disk filled): the new Loki's 168h
    default is a change of policy, said by P046. A legacy retention of 0 ("forever") is carried as 0, not dropped."""
    from ansible_collections.lgtm.stack.plugins.module_utils.plan_vars import plan_to_vars

    legacy = legacy_of("otel-collector")
    plan = build_plan(legacy)
    (p046,) = by_code(plan, "P046")
    assert p046["severity"] == "medium" and "lgtm_loki_retention_period" in p046["recommendation"]
    assert "lgtm_loki_retention_period" not in plan_to_vars(plan)[0]
    assert "built-in config" in p046["message"], "no config mounted: the image's own, which sets no retention"
    legacy["loki"]["table_manager_retention"] = "720h"
    assert "P046" not in codes(build_plan(legacy)), "Loki 2.x's table manager retention was a policy too"
    legacy["loki"].update(table_manager_retention=None, file="/srv/p/loki.yaml")
    assert "P046" not in codes(build_plan(legacy)), "a mounted config that could not be read says nothing"
    legacy["loki"]["retention_period"] = 0
    plan = build_plan(legacy)
    assert "P046" not in codes(plan) and plan_to_vars(plan)[0]["lgtm_loki_retention_period"] == "0"
    assert "P046" not in codes(build_plan(legacy_of("partial-lgtm")))


def test_port_conflicts():
    legacy = legacy_of("partial-lgtm")
    plan = build_plan(legacy, occupied_ports=[{"port": 3000, "holder": "a local grafana-server"}])
    assert plan["ports"]["conflicts"] == [{"port": "3000", "wanted_by": "grafana", "held_by": "a local grafana-server",
                                           "variable": "lgtm_grafana_host_port"}]
    assert by_code(plan, "P009")[0]["recommendation"] == \
        "Free the port, or publish grafana elsewhere with lgtm_grafana_host_port."
    # A port the project's own legacy service publishes (Tempo's 4317 here) is released by the migration.
    assert build_plan(legacy, occupied_ports=[{"port": 4317, "holder": "docker-proxy"}])["ports"]["conflicts"] == []
    plan = build_plan(legacy, ports={"grafana": 3300}, occupied_ports=[{"port": 3300, "holder": "x"}])
    assert [c["port"] for c in plan["ports"]["conflicts"]] == ["3300"]
    legacy["services"]["redis"]["ports"] = [{"published": "9009", "target": 6379, "protocol": "tcp"}]
    plan = build_plan(legacy, occupied_ports=[{"port": 9009, "holder": "docker-proxy"}])
    assert plan["ports"]["conflicts"] == [{"port": "9009", "wanted_by": "mimir", "held_by": "redis",
                                           "variable": "lgtm_mimir_host_port"}], "reported once, as the kept service"
    assert by_code(plan, "P009")[0]["severity"] == "high" and by_code(plan, "P009")[0]["file"]


@pytest.mark.parametrize("language", ["en", "pt_BR"])
def test_report(language):
    plan = build_plan(legacy_of("example"))
    report = render_report(plan, language)
    title = {"en": "# Migration report: shop", "pt_BR": "# Relatório de migração: shop"}[language]
    assert report.startswith(title + "\n")
    for finding in plan["findings"]:
        assert finding["code"] in report
    assert "docker-compose.yml:130" in report, "relative file:line"
    assert "| redis-exporter | redis_exporter |" in report
    if language == "pt_BR":
        assert "Próximos passos" in report and "Achados:" in report and "| médio |" in report
    with pytest.raises(ValueError):
        render_report(plan, "fr")


def test_report_names_bind_mounts_inside_the_project_relative_and_others_whole():
    plan = build_plan(legacy_of("example"))
    root = plan["project_dir"].rstrip("/")
    plan["legacy_bind_mounts"] = [{"source": root + "/prometheus/data", "service": "prometheus"},
                                  {"source": root + "2/data", "service": "loki"}]
    report = render_report(plan, "en")
    assert "- `prometheus/data` (prometheus)" in report
    assert "- `%s2/data` (loki)" % root in report, "a sibling directory whose name starts like the project's"


def test_module(run_module):
    result, failed = run_module(migration_plan, {"legacy": legacy_of("example"), "report_language": "pt_BR"},
                                check_mode=True)
    assert not failed and result["changed"] is False
    assert result["plan"]["keep_services"] == ["api", "mysql", "redis"]
    assert result["report"].startswith("# Relatório de migração")
    result, failed = run_module(migration_plan, {"legacy": {"foo": 1}})
    assert failed and "no 'services' mapping" in result["msg"]
    result, failed = run_module(migration_plan, {"legacy": legacy_of("example"), "service_names": {"jaeger": "x"}})
    assert failed and result["msg"] == "service_names has unknown keys: jaeger"
