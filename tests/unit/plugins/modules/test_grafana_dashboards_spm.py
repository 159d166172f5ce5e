"""grafana_dashboards on a Jaeger v2 SPM project: span-metric panels onto Tempo's, flagged when not faithful."""

import json

from ansible_collections.lgtm.stack.plugins.module_utils import dashboards as D
from tests.unit.conftest import PROJECTS

ROOT = PROJECTS / "jaeger-spm"
DS_MAP = {"by_uid_or_name": {"prom": "mimir", "Prometheus": "mimir", "jaeger": "tempo", "Jaeger": "tempo"},
          "inputs": {}, "default": "mimir"}
PROVIDERS = [{"name": "shop", "host_path": str(ROOT / "grafana" / "dashboards"), "folder": "Shop"}]


def _run(tmp_path, **kwargs):
    [entry] = D.rewrite_all(PROVIDERS, str(tmp_path), DS_MAP, **kwargs)
    doc = json.loads(entry["text"])
    return entry, dict((p["title"], p) for p in doc["panels"]), doc


def test_spm_panels_are_rewritten(tmp_path):
    entry, panels, doc = _run(tmp_path)
    assert "traces_span_metrics" not in entry["text"]
    p95 = panels["p95 latency"]
    assert p95["targets"][0]["expr"] == ('histogram_quantile(0.95, sum(rate(traces_spanmetrics_latency_bucket'
                                         '{service="$service"}[5m])) by (le)) * 1000')
    assert p95["fieldConfig"]["defaults"]["unit"] == "ms"  # the query keeps ms
    assert 'status_code="STATUS_CODE_ERROR"' in panels["Error rate"]["targets"][0]["expr"]
    assert panels["Average latency"]["targets"][0]["expr"].startswith("(sum(rate(traces_spanmetrics_latency_sum")
    variable = doc["templating"]["list"][0]
    assert variable["query"]["query"] == "label_values(traces_spanmetrics_calls_total, service)"
    assert variable["definition"] == "label_values(traces_spanmetrics_calls_total, service)"
    assert panels["Shop HTTP requests"]["targets"][0]["expr"] == 'sum(rate(http_requests_total{job="shop"}[5m]))'
    wheres = [q["where"] for q in entry["metric_queries"]]
    assert "p95 latency/A" in wheres and "Shop HTTP requests/A" not in wheres
    assert entry["metric_unconverted"] == []
    assert entry["traces_converted"] == [{"panel": "Recent traces/A", "query": '{resource.service.name="$service"}'}]


def test_unfaithful_panels_are_flagged(tmp_path):
    entry, panels, _doc = _run(tmp_path)
    assert "description" not in panels["p95 latency"]
    assert "le=\"0.25\"" in panels["Requests under 250 ms"]["description"]
    assert "http_method" in panels["Calls by HTTP method"]["description"]
    assert 'job=' not in panels["Calls by HTTP method"]["targets"][0]["expr"]
    flagged = [q["where"] for q in entry["metric_queries"] if q["problems"]]
    assert sorted(flagged) == ["Calls by HTTP method/A", "Requests under 250 ms/A"]


def test_option_off_leaves_span_metrics(tmp_path):
    entry, panels, _doc = _run(tmp_path, span_metrics=False)
    assert "traces_span_metrics_calls_total" in entry["text"] and entry["metric_queries"] == []
