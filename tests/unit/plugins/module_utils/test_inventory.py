"""inventory(legacy, plan): the fate of each kind of legacy artifact, and its Markdown rendering."""

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import findings
from ansible_collections.lgtm.stack.plugins.module_utils.inventory import (
    FATES, KINDS, PROPOSED, inventory, query_name, render_inventory)


def _one(entries, kind, name):
    hits = [e for e in entries if e["kind"] == kind and e["name"] == name]
    assert len(hits) == 1, (kind, name, entries)
    return hits[0]


def _plan(**kwargs):
    plan = {"remove_services": [], "scrape_jobs": [], "volumes": [], "stack_volumes": {}, "findings": [],
            "datasource_map": {"by_uid_or_name": {}, "inputs": {}, "default": "mimir"}, "promtail_labels": []}
    plan.update(kwargs)
    return plan


def test_services_removed_are_replaced_kept_are_carried():
    legacy = {"project_dir": "/p", "services": {
        "jaeger": {"component": "jaeger", "file": "/p/compose.yaml", "line": 3},
        "api": {"component": "app", "file": "/p/compose.yaml", "line": 9}}}
    plan = _plan(remove_services=[{"service": "jaeger", "component": "jaeger", "reason": "replaced by Alloy"}])
    entries = inventory(legacy, plan)
    jaeger = _one(entries, "service", "jaeger")
    assert jaeger["fate"] == "replaced" and jaeger["where"] == {"file": "compose.yaml", "line": 3}
    assert _one(entries, "service", "api")["fate"] == "carried"


def test_scrape_jobs_and_rule_groups(tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text("groups:\n  - name: api\n    rules:\n      - alert: ApiDown\n        expr: up == 0\n"
                     "  - name: recording\n    rules:\n      - record: x\n        expr: sum(up)\n")
    legacy = {"prometheus": {"file": str(tmp_path / "prometheus.yml"), "rule_files": [
        {"container_path": "/etc/prometheus/rules.yml", "host_path": str(rules), "groups": 2, "rules": 2}]}}
    plan = _plan(scrape_jobs=[{"job_name": "api", "action": "carry", "line": 4, "reason": "kept"},
                              {"job_name": "prometheus", "action": "drop", "line": 9, "reason": "self"}])
    entries = inventory(legacy, plan)
    assert _one(entries, "scrape_job", "api")["fate"] == "carried"
    dropped = _one(entries, "scrape_job", "prometheus")
    assert (dropped["fate"], dropped["finding"], dropped["where"]["line"]) == ("dropped", "P002", 9)
    api = _one(entries, "rule_group", "api")
    assert (api["fate"], api["finding"], api["where"]["line"]) == ("dropped", "P015", 2)
    assert "ApiDown" in api["detail"]
    assert _one(entries, "rule_group", "recording")["fate"] == "dropped"


def test_rule_groups_recorded_by_the_analysis_win_over_the_file():
    legacy = {"prometheus": {"rule_files": [{"container_path": "/r.yml", "host_path": "/nowhere/r.yml",
                                             "group_names": [{"name": "g1", "rules": 1, "line": 2}]}]}}
    assert _one(inventory(legacy, _plan()), "rule_group", "g1")["finding"] == "P015"


def _alertmanager(**extra):
    return dict({"name": "alertmanagers[0]", "line": 2, "scheme": "http", "path_prefix": "/", "api_version": "v2",
                 "targets": ["am:9093"], "discovery": [], "client": [], "relabel": False}, **extra)


def test_alerting_is_dropped_with_a_finding():
    legacy = {"prometheus": {"file": "/p/prometheus.yml", "alerting": [_alertmanager()]},
              "services": {"am": {"component": "other", "image": "prom/alertmanager:v0.27.0"}}}
    plan = _plan(mimir_alertmanagers=[{"name": "alertmanagers[0]", "urls": [], "why": "no alerting rule is evaluated"}])
    entries = inventory(legacy, plan)
    target = _one(entries, "alerting", "alertmanagers[0]")
    assert (target["fate"], target["finding"]) == ("dropped", "P036") and "am:9093" in target["detail"]
    assert "no alerting rule is evaluated" in target["detail"]
    assert _one(entries, "alerting", "service am")["finding"] == "P036"
    assert _one(entries, "service", "am")["fate"] == "carried"


def test_alerting_carried_to_the_ruler():
    legacy = {"prometheus": {"file": "/p/prometheus.yml", "alerting": [_alertmanager()]},
              "services": {"am": {"component": "other", "image": "prom/alertmanager:v0.27.0"}}}
    plan = _plan(mimir_alertmanagers=[{"name": "alertmanagers[0]", "urls": ["http://am:9093"], "why": None}])
    entries = inventory(legacy, plan)
    target = _one(entries, "alerting", "alertmanagers[0]")
    assert (target["fate"], target["finding"]) == ("converted", "P044") and "http://am:9093" in target["detail"]
    assert (_one(entries, "alerting", "service am")["fate"], _one(entries, "alerting", "service am")["finding"]) == (
        "carried", "P044")


@pytest.mark.parametrize("action, code", [("keep", "P022"), ("delete", "P041")])
def test_orphaned_volumes(action, code):
    legacy = {"named_volumes": {"old": {"used_by": ["loki"]}, "db": {"used_by": ["mysql"]},
                                "gdata": {"used_by": ["grafana"]}}}
    plan = _plan(volumes=[{"volume": "old", "used_by": ["loki"], "action": action}], grafana_adopted_volume="gdata")
    entries = inventory(legacy, plan)
    old = _one(entries, "volume", "old")
    assert (old["fate"], old["finding"]) == ("dropped", code)
    assert _one(entries, "volume", "db")["fate"] == "carried"
    assert _one(entries, "volume", "gdata")["fate"] == "carried"


def test_bind_mounts_of_removed_services():
    legacy = {"project_dir": "/p", "services": {
        "prometheus": {"component": "prometheus", "mounted_files": [
            {"source": "/p/prom.yml", "target": "/etc/prometheus/prometheus.yml", "kind": "file"},
            {"source": "/p/rules.yml", "target": "/etc/prometheus/rules.yml", "kind": "file"}]},
        "jaeger": {"component": "jaeger", "mounted_files": [
            {"source": "/p/jaeger.yml", "target": "/etc/jaeger/config.yml", "kind": "file"}]},
        "mysql": {"component": "mysql", "mounted_files": [
            {"source": "/p/init.sql", "target": "/docker-entrypoint-initdb.d/init.sql", "kind": "file"}]}},
        "prometheus": {"config_container_path": "/etc/prometheus/prometheus.yml",
                       "rule_files": [{"container_path": "/etc/prometheus/rules.yml"}]}}
    plan = _plan(remove_services=[{"service": "prometheus", "component": "prometheus", "reason": "r"},
                                  {"service": "jaeger", "component": "jaeger", "reason": "r"}])
    entries = inventory(legacy, plan)
    assert _one(entries, "bind_mount", "prometheus:/etc/prometheus/prometheus.yml")["fate"] == "converted"
    assert _one(entries, "bind_mount", "prometheus:/etc/prometheus/rules.yml")["finding"] == "P015"
    jaeger = _one(entries, "bind_mount", "jaeger:/etc/jaeger/config.yml")
    assert (jaeger["fate"], jaeger["finding"], jaeger["where"]["file"]) == ("dropped", "P038", "jaeger.yml")
    assert _one(entries, "bind_mount", "mysql:/docker-entrypoint-initdb.d/init.sql")["fate"] == "carried"


def test_datasources_derived_fields_dashboards_and_queries():
    legacy = {"grafana": {"service": "grafana", "datasources": [
        {"name": "Loki", "type": "loki", "uid": "L", "json_data": {"derivedFields": [
            {"name": "TraceID", "matcherRegex": "traceID=(\\w+)", "datasourceUid": "J"}]}},
        {"name": "Jaeger", "type": "jaeger", "uid": "J"},
        {"name": "ES", "type": "elasticsearch", "uid": "E"}],
        "dashboards": [{"title": "D", "file": "/d.json", "queries": [
            {"panel_title": "logs", "ref_id": "A", "datasource": "${DS_LOKI}", "expr": '{job="varlogs"}'},
            {"panel_title": "traces", "ref_id": "A", "datasource": "J", "datasource_type": "jaeger"},
            {"panel_title": "spm", "ref_id": "A", "datasource": "P",
             "expr": "sum(rate(traces_span_metrics_calls_total[5m]))"},
            {"panel_title": "old", "ref_id": "A", "datasource": "P", "expr": 'up{job="prometheus"}'},
            {"panel_title": "rps", "ref_id": "A", "datasource": "P", "expr": "sum(rate(http_requests_total[5m]))"}]}]}}
    plan = _plan(datasource_map={"by_uid_or_name": {"L": "loki", "Loki": "loki", "J": "tempo", "Jaeger": "tempo",
                                                    "P": "mimir"},
                                 "inputs": {"DS_LOKI": "loki"}, "default": "mimir"},
                 scrape_jobs=[{"job_name": "prometheus", "action": "drop", "reason": "self"}],
                 promtail_labels=[{"label": "job", "promtail_job": "varlogs", "fate": "dropped", "kind": "job",
                                   "new": None, "reason": "constant"}])
    entries = inventory(legacy, plan)
    assert _one(entries, "datasource", "Loki")["fate"] == "replaced"
    assert _one(entries, "datasource", "ES")["finding"] == "P023"
    field = _one(entries, "derived_field", "Loki/TraceID")
    assert (field["fate"], field["finding"]) == ("replaced", "P003") and "Jaeger" in field["detail"]
    assert _one(entries, "dashboard", "D")["fate"] == "carried"
    logs = _one(entries, "panel_query", query_name("D", "logs", "A"))  # ${DS_LOKI} resolved through the inputs
    assert (logs["fate"], logs["finding"]) == ("converted", "P040")
    assert _one(entries, "panel_query", query_name("D", "traces", "A"))["finding"] == "P001"
    assert _one(entries, "panel_query", query_name("D", "spm", "A"))["finding"] == "P033"
    assert _one(entries, "panel_query", query_name("D", "old", "A"))[("fate")] == "dropped"
    assert _one(entries, "panel_query", query_name("D", "rps", "A"))["fate"] == "carried"


def test_grafana_settings():
    legacy = {"grafana": {"service": "grafana", "settings": [
        {"key": "GF_SERVER_ROOT_URL", "carried": True, "reason": "carried"},
        {"key": "GF_SMTP_PASSWORD", "carried": False, "needs_value": True, "reason": "clear"},
        {"key": "GF_AUTH_ANONYMOUS_ENABLED", "carried": False, "reason": "off on purpose"},
        {"key": "GF_SECURITY_ADMIN_USER", "carried": False, "reason": "the grafana role sets it (admin ...)"},
        {"key": "GF_LOG_LEVEL", "carried": False, "reason": "not a setting the migration carries"}]}}
    got = dict((e["name"], (e["fate"], e["finding"])) for e in inventory(legacy, _plan()))
    assert got == {"GF_SERVER_ROOT_URL": ("carried", None), "GF_SMTP_PASSWORD": ("dropped", "P034"),
                   "GF_AUTH_ANONYMOUS_ENABLED": ("dropped", "P011"), "GF_SECURITY_ADMIN_USER": ("replaced", "P035"),
                   "GF_LOG_LEVEL": ("dropped", "P035")}


def test_collector_components_and_pipelines():
    collector = {"file": "/c.yaml",
                 "receivers": {"otlp": {}, "jaeger": {"protocols": {"thrift_http": {}}}, "kafka": {}},
                 "processors": {"batch": {}, "filter/noise": {}, "unused": {},
                                "attributes/loki": {"actions": [{"key": "loki.attribute.labels", "value": "x",
                                                                 "action": "insert"}]}},
                 "exporters": {"otlp/jaeger": {}, "debug": {}},
                 "connectors": {"spanmetrics": {}}, "extensions": {"health_check": {}},
                 "pipelines": {
                     "traces": {"receivers": ["otlp", "jaeger"], "processors": ["batch", "filter/noise"],
                                "exporters": ["otlp/jaeger", "spanmetrics"]},
                     "metrics": {"receivers": ["spanmetrics", "kafka"], "processors": [], "exporters": ["debug"]},
                     "logs": {"receivers": ["otlp"], "processors": ["attributes/loki"], "exporters": ["otlp/jaeger"]}}}
    entries = inventory({"otel_collector": collector}, _plan())
    fates = dict((e["name"], (e["fate"], e["finding"])) for e in entries if e["kind"] == "collector_component")
    assert fates["receiver otlp"] == ("replaced", None)
    assert fates["receiver jaeger"] == ("converted", None)
    assert fates["receiver kafka"] == ("dropped", "P037")
    assert fates["processor batch"] == ("converted", None)
    assert fates["processor filter/noise"] == ("dropped", "P037")
    assert fates["processor unused"] == ("dropped", "P037")
    assert fates["processor attributes/loki"] == ("dropped", "P004")
    assert fates["exporter otlp/jaeger"] == ("replaced", None)
    assert fates["exporter debug"] == ("dropped", "P037")
    assert fates["connector spanmetrics"] == ("dropped", "P037")
    assert fates["extension health_check"] == ("dropped", "P037")
    pipes = dict((e["name"], (e["fate"], e["finding"])) for e in entries if e["kind"] == "collector_pipeline")
    assert pipes == {"traces": ("converted", None), "logs": ("converted", None), "metrics": ("dropped", "P037")}


def test_promtail_jobs_and_labels():
    legacy = {"promtail": {"file": "/pt.yml", "jobs": [{"job_name": "docker", "docker_sd": True, "line": 3},
                                                       {"job_name": "varlogs", "docker_sd": False, "line": 9}]}}
    plan = _plan(log_label_model={"job": {"sources": [{"promtail_job": "varlogs", "collects": "host",
                                                       "where": "/var/log/*.log"}]}},
                 promtail_labels=[
                     {"label": "traceID", "promtail_job": "docker", "fate": "replaced", "kind": "trace",
                      "new": "| trace_id", "reason": "r", "line": 5},
                     {"label": "env", "promtail_job": "docker", "fate": "dropped", "kind": "static", "new": None,
                      "reason": "r"},
                     {"label": "job", "promtail_job": "varlogs", "fate": "dropped", "kind": "job", "new": None,
                      "reason": "r"}])
    entries = inventory(legacy, plan)
    assert _one(entries, "promtail_job", "docker")["fate"] == "replaced"
    host = _one(entries, "promtail_job", "varlogs")
    assert (host["fate"], host["finding"]) == ("dropped", "P039") and "/var/log/*.log" in host["detail"]
    assert _one(entries, "promtail_label", "docker/traceID")["finding"] == "P005"
    assert _one(entries, "promtail_label", "docker/env")["finding"] == "P032"
    assert _one(entries, "promtail_label", "varlogs/job")["finding"] == "P040"


def test_proposed_findings_are_complete_entries():
    for code, (severity, meaning, advice) in PROPOSED.items():
        assert code not in findings.REGISTRY and severity in findings.SEVERITIES and meaning and advice


def test_render_inventory_groups_by_kind_in_both_languages():
    entries = [
        {"kind": "scrape_job", "name": "a|b", "where": {"file": "prom.yml", "line": 4}, "fate": "dropped",
         "detail": "self", "finding": "P002"},
        {"kind": "service", "name": "jaeger", "where": {"file": "compose.yaml", "line": None}, "fate": "replaced",
         "detail": "by Tempo", "finding": None}]
    text = render_inventory(entries, "en")
    assert text.index("### service (1)") < text.index("### scrape job (1)")  # KINDS order, not input order
    assert "| scrape job | a\\|b | prom.yml:4 | dropped | self | P002 |" in text
    assert "| service | jaeger | compose.yaml | replaced | by Tempo |  |" in text
    pt = render_inventory(entries, "pt_BR")
    assert "## Inventário" in pt and "| job de scrape | a\\|b | prom.yml:4 | descartado | self | P002 |" in pt
    assert "Nenhum artefato" in render_inventory([], "pt_BR")
    with pytest.raises(ValueError):
        render_inventory(entries, "fr")


def test_kinds_and_fates_are_the_documented_ones():
    assert FATES == ("carried", "converted", "replaced", "dropped")
    assert len(KINDS) == 15
