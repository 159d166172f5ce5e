"""grafana_dashboards and module_utils.dashboards: legacy dashboards onto the mimir/loki/tempo uids."""

import json
import os
import shutil

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import dashboards as D
from ansible_collections.lgtm.stack.plugins.modules import grafana_dashboards
from tests.unit.conftest import EXAMPLE, FIXTURES

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
