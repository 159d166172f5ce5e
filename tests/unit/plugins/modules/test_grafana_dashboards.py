"""grafana_dashboards and module_utils.dashboards: legacy dashboards onto the mimir/loki/tempo uids."""

import json
import os
import shutil

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import dashboards as D
from ansible_collections.lgtm.stack.plugins.modules import grafana_dashboards
from tests.unit.conftest import EXAMPLE, FIXTURES, PROJECTS

LEGACY = FIXTURES / "dashboards" / "legacy"
DS_MAP = {
    "by_uid_or_name": {"prom-main": "mimir", "Prometheus": "mimir", "Loki": "loki", "jaeger-uid": "tempo",
                       "Jaeger": "tempo"},
    "inputs": {"DS_PROMETHEUS": "mimir", "DS_LOKI": "loki"},
    "default": "mimir",
}


@pytest.fixture
def legacy(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(LEGACY, root / "grafana" / "dashboards")
    return root


def _providers(root):
    base = root / "grafana" / "dashboards"
    return [{"name": "team-a", "host_path": str(base / "team-a"), "folder": "Team A", "folders_from_files": True},
            {"name": "flat", "host_path": str(base / "flat"), "folder": "Flat / Old", "folders_from_files": False}]


def _run(run_module, root, **extra):
    check = extra.pop("_check", False)
    args = {"providers": _providers(root), "datasource_map": DS_MAP,
            "dest": str(root / "observability" / "grafana" / "dashboards" / "project")}
    args.update(extra)
    return run_module(grafana_dashboards, args, check_mode=check)


def _load(root, rel):
    return json.loads((root / "observability" / "grafana" / "dashboards" / "project" / rel).read_text())


def test_folders_are_kept(legacy, run_module):
    result, failed = _run(run_module, legacy)
    assert not failed, result
    dests = sorted(os.path.relpath(d["dest"], str(legacy / "observability/grafana/dashboards/project"))
                   for d in result["dashboards"])
    # foldersFromFilesStructure: sub-directories stay folders, root files go to the provider's folder;
    # a flat provider's files all go to its folder (a '/' in its name cannot be a directory).
    assert dests == ["Flat - Old/api-export.json", "Flat - Old/mixed-and-traces.json", "Team A/inputs.json",
                     "payments/by-uid.json"]


def test_references_by_uid_name_and_inputs_at_every_level(legacy, run_module):
    _run(run_module, legacy)
    by_uid = _load(legacy, "payments/by-uid.json")
    assert by_uid["panels"][0]["datasource"] == {"type": "prometheus", "uid": "mimir"}
    assert by_uid["templating"]["list"][0]["datasource"] == {"type": "prometheus", "uid": "mimir"}
    assert by_uid["annotations"]["list"][0]["datasource"] == {"type": "prometheus", "uid": "mimir"}
    assert by_uid["annotations"]["list"][1]["datasource"] == {"type": "grafana", "uid": "-- Grafana --"}
    # A datasource variable is left to its own query; an unknown datasource is left and reported.
    assert by_uid["panels"][1]["datasource"]["uid"] == "${ds}"
    assert by_uid["panels"][2]["datasource"] == {"type": "elasticsearch", "uid": "es-logs"}
    inputs = _load(legacy, "Team A/inputs.json")
    assert "__inputs" not in inputs
    assert inputs["panels"][0]["datasource"] == inputs["panels"][0]["targets"][0]["datasource"] == \
        {"type": "prometheus", "uid": "mimir"}
    assert inputs["panels"][1]["targets"][0]["datasource"] == {"type": "loki", "uid": "loki"}


def test_mixed_panels_rows_and_api_exports(legacy, run_module):
    result, _ = _run(run_module, legacy)
    mixed = _load(legacy, "Flat - Old/mixed-and-traces.json")
    panel = mixed["panels"][0]
    assert panel["datasource"] == {"type": "datasource", "uid": "-- Mixed --"}
    assert [t["datasource"]["uid"] for t in panel["targets"]] == ["mimir", "loki"]
    assert mixed["panels"][5]["panels"][0]["datasource"] == {"type": "prometheus", "uid": "mimir"}
    exported = _load(legacy, "Flat - Old/api-export.json")
    assert exported["uid"] == "exported" and "meta" not in exported, "the file provider wants the dashboard itself"
    entry = [d for d in result["dashboards"] if d["uid"] == "payments-overview"][0]
    assert entry["unresolved"] == ["datasource es-logs (panel 'Elasticsearch hits')"]


def test_jaeger_panels_become_traceql_where_faithful(legacy, run_module):
    result, _ = _run(run_module, legacy)
    panels = _load(legacy, "Flat - Old/mixed-and-traces.json")["panels"]
    search = panels[1]["targets"][0]
    assert search == {"refId": "A", "queryType": "traceql",
                      "query": '{resource.service.name="checkout" && name="POST /pay" && duration>=1.5s && '
                               'duration<=10s && .peer.service="payments db" && .region="eu"}',
                      "tableType": "traces", "limit": 50}
    assert panels[1]["datasource"] == {"type": "tempo", "uid": "tempo"}
    assert panels[2]["targets"][0]["query"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert panels[2]["targets"][0]["queryType"] == "traceql"
    # Not faithful: a numeric tag (Jaeger compares text, TraceQL types) and the dependency graph stay as they were.
    assert panels[3]["targets"][0]["tags"] == "http.status_code=500"
    assert panels[3]["description"].startswith("lgtm.stack: Jaeger query A was not converted to TraceQL (tag")
    assert panels[4]["targets"][0]["queryType"] == "dependencyGraph"
    assert panels[6]["targets"][0] == {"refId": "A", "queryType": "traceql", "query": "{}"}
    entry = [d for d in result["dashboards"] if d["uid"] == "mixed-traces"][0]
    assert [c["panel"] for c in entry["traces_converted"]] == ["Checkout traces/A", "One trace/A"]
    assert [(u["panel"], u["reason"].split(":")[0]) for u in entry["traces_unconverted"]] == [
        ("Errors by tag", "tag http.status_code=500"), ("Dependencies", "Jaeger query type 'dependencyGraph' has no TraceQL equivalent")]


def test_idempotent_check_mode_and_backups(legacy, run_module):
    before = {p: p.read_bytes() for p in (legacy / "grafana").rglob("*.json")}
    result, failed = _run(run_module, legacy, _check=True, _ansible_diff=True)
    assert not failed and result["changed"] and not (legacy / "observability").exists()
    assert len(result["diff"]) == 4 and result["diff"][0]["before_header"] == "(absent)"
    backup = legacy / ".lgtm-backup" / "run"
    result, _ = _run(run_module, legacy, backup_dir=str(backup), project_dir=str(legacy))
    assert result["changed"] and all(d["changed"] for d in result["dashboards"])
    assert (backup / "grafana/dashboards/flat/mixed-and-traces.json").read_bytes() == \
        before[legacy / "grafana/dashboards/flat/mixed-and-traces.json"]
    again, _ = _run(run_module, legacy, backup_dir=str(legacy / ".lgtm-backup" / "run2"), project_dir=str(legacy))
    assert again["changed"] is False and not (legacy / ".lgtm-backup" / "run2").exists()
    assert {p: p.read_bytes() for p in (legacy / "grafana").rglob("*.json")} == before, "legacy files untouched"


def test_malformed_json_fails_with_file_and_line_and_writes_nothing(legacy, run_module):
    broken = legacy / "grafana" / "dashboards" / "team-a" / "zz-broken.json"
    shutil.copy(FIXTURES / "dashboards" / "broken" / "bad.json", broken)
    result, failed = _run(run_module, legacy)
    assert failed and str(broken) in result["msg"] and result["line"] == 5
    assert "malformed dashboard JSON" in result["msg"]
    assert not (legacy / "observability").exists()


def test_duplicate_uid_is_refused(legacy, run_module):
    shutil.copy(legacy / "grafana/dashboards/flat/api-export.json", legacy / "grafana/dashboards/team-a/copy.json")
    result, failed = _run(run_module, legacy)
    assert failed and "dashboard uid 'exported' is also used by" in result["msg"]


def test_example_project_dashboards():
    providers = [{"host_path": str(EXAMPLE / "grafana" / "dashboards"), "folder": "Shop", "folders_from_files": True}]
    ds_map = {"by_uid_or_name": {"prometheus-main": "mimir", "Prometheus": "mimir", "Loki": "loki", "jaeger": "tempo",
                                 "Jaeger": "tempo"}, "inputs": {"DS_PROMETHEUS": "mimir"}, "default": "mimir"}
    out = D.rewrite_all(providers, "/dest", ds_map)
    assert [o["dest"] for o in out] == ["/dest/infra/mysql-redis.json", "/dest/shop/api-overview.json"]
    assert all(not o["unresolved"] for o in out)
    assert "${DS_PROMETHEUS}" not in out[0]["text"] and '"uid": "jaeger"' not in out[1]["text"]


@pytest.mark.parametrize(("target", "query"), [
    ({"queryType": "search"}, "{}"),
    ({"queryType": "search", "service": 'we"ird'}, '{resource.service.name="we\\"ird"}'),
    ({"query": "$traceId"}, "$traceId"),
    ({"queryType": "search", "minDuration": "250µs"}, "{duration>=250us}"),
])
def test_jaeger_to_traceql(target, query):
    assert D.jaeger_to_traceql(target) == (query, None)


@pytest.mark.parametrize(("target", "reason"), [
    ({"query": "not-a-trace"}, "is not a 16 or 32 digit hex id"),
    ({"queryType": "search", "minDuration": "fast"}, "is not a TraceQL duration"),
    ({"queryType": "search", "tags": "error=true"}, "TraceQL its type"),
    ({"queryType": "upload"}, "has no TraceQL equivalent"),
])
def test_jaeger_targets_without_faithful_traceql(target, reason):
    query, why = D.jaeger_to_traceql(target)
    assert query is None and reason in why


# --- Loki queries: Promtail's labels onto the new pipeline's (promtail.label_model + logql) ---

PROMTAIL_DASHBOARDS = FIXTURES / "dashboards" / "promtail"
IDENTITIES = {"api": "shop-api", "worker": "shop-worker", "mysql": "mysql"}


@pytest.fixture
def promtail_project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(PROMTAIL_DASHBOARDS, root / "grafana" / "dashboards")
    return root


def _run_logs(run_module, root, **extra):
    from ansible_collections.lgtm.stack.plugins.module_utils.promtail import label_model
    from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import load_yaml

    check = extra.pop("_check", False)
    args = {"providers": [{"host_path": str(root / "grafana" / "dashboards"), "folder": "Logs",
                           "folders_from_files": True}],
            "datasource_map": DS_MAP, "dest": str(root / "observability" / "grafana" / "dashboards" / "project"),
            "log_label_model": label_model(load_yaml(str(FIXTURES / "promtail" / "config.yml"))),
            "service_identities": IDENTITIES, "service_namespace": "shop"}
    args.update(extra)
    return run_module(grafana_dashboards, args, check_mode=check)


def test_loki_queries_move_to_the_new_labels(promtail_project, run_module):
    from ansible_collections.lgtm.stack.plugins.module_utils.logql import stream_labels
    from ansible_collections.lgtm.stack.plugins.module_utils.promtail import NEW_LOG_LABELS

    result, failed = _run_logs(run_module, promtail_project)
    assert not failed, result
    doc = _load(promtail_project, "logs/api-logs.json")
    exprs = [p["targets"][0]["expr"] for p in doc["panels"]]
    assert exprs[:5] == [
        '{service_name="shop-api"}',
        'sum by (service_name) (count_over_time({service_name=~"shop-api|shop-worker"} |= "error" [5m]))',
        '{service_namespace="shop"} | json | level="error"',
        '{service_name=~"$container", stream="stderr"} |= "$search"',
        '{service_namespace="shop"} | trace_id="${trace}"',
    ]
    variable = doc["templating"]["list"][0]
    assert variable["query"] == variable["definition"] == "label_values(service_name)"
    # Every migrated query's stream-selector and grouping labels are labels the new pipeline writes.
    entry = result["dashboards"][0]
    rewritten = [q["after"] for q in entry["log_queries"] if q["where"].startswith(("API", "Errors", "Error",
                                                                                     "Selected", "Logs"))]
    assert len(rewritten) == 5 and rewritten == exprs[:5]
    for expr in rewritten:
        assert stream_labels(expr) <= NEW_LOG_LABELS, expr
    changes = [c for q in entry["log_queries"] for c in q["changes"]]
    assert {(c["label"], c["fate"]) for c in changes} >= {
        ("container", "replaced"), ("compose_service", "replaced"), ("job", "dropped"), ("level", "converted"),
        ("logstream", "replaced"), ("compose_project", "dropped"), ("trace_id", "replaced")}
    assert all(c["reason"] for c in changes)


def test_a_loki_query_on_logs_nobody_collects_is_left_and_said(promtail_project, run_module):
    result, _ = _run_logs(run_module, promtail_project)
    doc = _load(promtail_project, "logs/api-logs.json")
    syslog = doc["panels"][5]
    assert syslog["targets"][0]["expr"] == '{job="varlogs"} |= "oom"'
    assert syslog["description"].startswith("lgtm.stack: Loki query A was not rewritten to the new labels (job=")
    [left] = result["dashboards"][0]["log_unconverted"]
    assert left["where"] == "Host syslog/A" and "does not collect" in left["reasons"][0]
    # Prometheus targets are not LogQL: untouched even when they use the same label names.
    assert doc["panels"][6]["targets"][0]["expr"] == \
        'sum by (container) (rate(http_requests_total{container="api"}[5m]))'


def test_loki_rewrite_check_mode_diff_and_idempotence(promtail_project, run_module):
    result, failed = _run_logs(run_module, promtail_project, _check=True, _ansible_diff=True)
    assert not failed and result["changed"] and not (promtail_project / "observability").exists()
    assert 'service_name=\\"shop-api\\"' in result["diff"][0]["after"]
    assert result["dashboards"][0]["log_queries"], "check mode reports the rewrites too"
    first, _ = _run_logs(run_module, promtail_project)
    again, _ = _run_logs(run_module, promtail_project)
    assert first["changed"] and again["changed"] is False


def test_without_label_options_loki_queries_are_kept(promtail_project, run_module):
    result, _ = _run_logs(run_module, promtail_project, log_label_model={}, service_identities={},
                          service_namespace=None)
    doc = _load(promtail_project, "logs/api-logs.json")
    assert doc["panels"][0]["targets"][0]["expr"] == '{container="legacy-project-api-1"}'
    assert result["dashboards"][0]["log_queries"] == []


def test_grafana_promtail_project_dashboard():
    from ansible_collections.lgtm.stack.plugins.module_utils.legacy import analyse_project

    project = PROJECTS / "grafana-promtail"
    legacy = analyse_project(str(project))
    providers = [{"host_path": str(project / "grafana" / "dashboards"), "folders_from_files": True}]
    ds_map = {"by_uid_or_name": {"Loki": "loki", "Jaeger": "tempo"}, "inputs": {"DS_LOKI": "loki",
                                                                               "DS_JAEGER": "tempo"}}
    [out] = D.rewrite_all(providers, "/dest", ds_map, legacy["promtail"]["label_model"], {"web": "web"}, "grafana")
    doc = json.loads(out["text"])
    assert doc["panels"][0]["targets"][0]["expr"] == '{service_namespace="grafana"} | trace_id="$trace"'
    assert [c["label"] for c in out["log_queries"][0]["changes"]] == ["job", "traceID", "service_namespace"]


def test_structured_loki_variable_and_annotation():
    from ansible_collections.lgtm.stack.plugins.module_utils.promtail import label_model
    from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import load_yaml

    model = label_model(load_yaml(str(FIXTURES / "promtail" / "config.yml")))
    rewriter = D.Rewriter(DS_MAP, model, IDENTITIES, "shop")
    doc = {"templating": {"list": [{"name": "c", "type": "query", "datasource": {"type": "loki", "uid": "Loki"},
                                    "query": {"qryType": 1, "label": "container", "stream": '{job="docker"}',
                                              "query": "label_values(container)", "refId": "X"}}]},
           "annotations": {"list": [{"name": "deploys", "datasource": "Loki",
                                     "expr": '{compose_service="api"} |= "deploy"'}]}}
    new, report = rewriter.rewrite(doc)
    query = new["templating"]["list"][0]["query"]
    assert (query["label"], query["stream"], query["query"]) == (
        "service_name", '{service_namespace="shop"}', "label_values(service_name)")
    assert new["annotations"]["list"][0]["expr"] == '{service_name="shop-api"} |= "deploy"'
    assert not report["log_unconverted"]
