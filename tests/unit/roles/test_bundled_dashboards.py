"""The bundled dashboards query only series and labels the stack really produces.

Every PromQL selector, `by (...)` label, template-variable query, Tempo service-map filter and Loki stream selector
of roles/grafana/files/dashboards/*.json is checked against the tables below.
"""

import json
import re
from pathlib import Path

import pytest

DASHBOARDS = Path(__file__).resolve().parents[3] / "roles" / "grafana" / "files" / "dashboards"

# /work/shared/reference/stack-facts.md, "Tempo 3.0" (series seen in Mimir, checked on a real Tempo 3.0.3) and
# "Checked in Grafana and Tempo source" (service-graph labels). __metrics_gen_instance and external labels are on
# every generator series; `le` only on buckets.
_SPANMETRICS_LABELS = {"service", "span_name", "span_kind", "status_code", "__metrics_gen_instance"}
_SERVICE_GRAPH_LABELS = {"client", "server", "connection_type", "__metrics_gen_instance"}
TEMPO_GENERATOR_SERIES = {
    "traces_spanmetrics_calls_total": _SPANMETRICS_LABELS,
    "traces_spanmetrics_size_total": _SPANMETRICS_LABELS,
    "traces_spanmetrics_latency_bucket": _SPANMETRICS_LABELS | {"le"},
    "traces_spanmetrics_latency_count": _SPANMETRICS_LABELS,
    "traces_spanmetrics_latency_sum": _SPANMETRICS_LABELS,
    "traces_service_graph_request_total": _SERVICE_GRAPH_LABELS,
}
for _side in ("client", "server"):
    TEMPO_GENERATOR_SERIES["traces_service_graph_request_%s_seconds_bucket" % _side] = _SERVICE_GRAPH_LABELS | {"le"}
    for _suffix in ("count", "sum"):
        TEMPO_GENERATOR_SERIES["traces_service_graph_request_%s_seconds_%s" % (_side, _suffix)] = _SERVICE_GRAPH_LABELS
# Values Tempo writes for the enumerated labels (stack-facts.md: SPAN_KIND_SERVER..., STATUS_CODE_OK...).
LABEL_VALUES = {
    "span_kind": {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
                  "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"},
    "status_code": {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"},
}
# Exemplars (label traceID) exist only on histogram buckets (stack-facts.md, "Tempo 3.0").
EXEMPLAR_SERIES = {name for name in TEMPO_GENERATOR_SERIES if name.endswith("_bucket")}

# Series Alloy scrapes (prometheus.scrape adds job and instance): the stack's components (jobs tempo, loki, mimir,
# grafana: roles/alloy/vars/main.yml) and the exporters (jobs mysqld-exporter, redis-exporter). Their names come from
# the components' and exporters' own /metrics, not from stack-facts.md: a rename upstream shows up here first.
_SCRAPED = {"job", "instance"}
SCRAPED_SERIES = {
    "up": _SCRAPED,
    "tempo_distributor_spans_received_total": _SCRAPED | {"tenant"},
    "tempo_metrics_generator_registry_active_series": _SCRAPED | {"tenant"},
    "loki_distributor_lines_received_total": _SCRAPED | {"tenant"},
    "cortex_distributor_received_samples_total": _SCRAPED | {"user"},
    "cortex_distributor_received_exemplars_total": _SCRAPED | {"user"},
    "mysql_up": _SCRAPED,
    "mysql_global_status_queries": _SCRAPED,
    "mysql_global_status_threads_connected": _SCRAPED,
    "mysql_global_variables_max_connections": _SCRAPED,
    "mysql_global_status_slow_queries": _SCRAPED,
    "mysql_global_status_innodb_buffer_pool_reads": _SCRAPED,
    "mysql_global_status_innodb_buffer_pool_read_requests": _SCRAPED,
    "redis_up": _SCRAPED,
    "redis_commands_total": _SCRAPED | {"cmd"},
    "redis_connected_clients": _SCRAPED,
    "redis_memory_used_bytes": _SCRAPED,
    "redis_keyspace_hits_total": _SCRAPED,
    "redis_keyspace_misses_total": _SCRAPED,
}
SERIES = dict(TEMPO_GENERATOR_SERIES, **SCRAPED_SERIES)

# Loki stream labels (stack-facts.md "Loki 3.x": OTLP resource attributes; Alloy's Docker logs add stream).
LOKI_LABELS = {"service_name", "service_namespace", "deployment_environment", "deployment_environment_name", "stream",
               "service_instance_id"}

_PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
                 "unless", "inf", "nan"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def selectors(expr):
    """(metric, {label: [(op, value)]}) for every vector selector of a PromQL expression, and the grouping labels."""
    grouping = set()
    for group in _GROUPING.findall(expr):
        grouping |= {g.strip() for g in group.split(",") if g.strip()}
    body = _GROUPING.sub(" ", expr)
    body = re.sub(r"\[[^\]]*\]", " ", body)  # range and subquery durations ($__rate_interval...)
    found = []
    pos = 0
    token = re.compile(r"([a-zA-Z_:][\w:]*)\s*(\{)?|(\{)|(\")")
    while True:
        m = token.search(body, pos)
        if not m:
            break
        if m.group(4):  # a string outside a selector (histogram_quantile's first argument is a number): skip it
            s = _STRING.match(body, m.start())
            pos = s.end()
            continue
        name = m.group(1)
        if m.group(2) or m.group(3):
            end = m.end()
            while body[end] != "}":  # the closing brace, stepping over quoted values
                end = _STRING.match(body, end).end() if body[end] == '"' else end + 1
            inner = body[m.end():end]
            pos = end + 1
        else:
            inner = ""
            pos = m.end()
            rest = body[pos:].lstrip()
            if rest.startswith("(") or name in _PROMQL_WORDS or re.fullmatch(r"[0-9.e]+", name):
                continue  # a function or a keyword
        labels = {}
        for label, op, value in _MATCHER.findall(inner):
            labels.setdefault(label, []).append((op, value))
        found.append((name, labels))
    return found, grouping


def _dashboards():
    for path in sorted(DASHBOARDS.glob("*.json")):
        yield path.name, json.loads(path.read_text())


def _targets():
    for name, dashboard in _dashboards():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                yield name, panel, target


def _check_values(label, matches, where):
    for op, value in matches:
        if "$" in value or label not in LABEL_VALUES:
            continue
        wanted = set(value.split("|")) if op in ("=~", "!~") else {value}
        unknown = wanted - LABEL_VALUES[label]
        assert not unknown, "%s: %s values %s are never written by Tempo" % (where, label, sorted(unknown))


def problems_in_promql(expr, where):
    """The mismatches between a PromQL expression and the recorded series (empty: none)."""
    problems = []
    found, grouping = selectors(expr)
    if not found:
        problems.append("%s: no metric selector in %r" % (where, expr))
    available = set()
    for metric, labels in found:
        if metric not in SERIES:
            problems.append("%s: %s is not a recorded series" % (where, metric))
            continue
        available |= SERIES[metric]
        for label, matches in labels.items():
            if label not in SERIES[metric]:
                problems.append("%s: %s has no label %s (it has %s)" % (where, metric, label, sorted(SERIES[metric])))
            try:
                _check_values(label, matches, where)
            except AssertionError as exc:
                problems.append(str(exc))
    missing = grouping - available
    if missing and available:
        problems.append("%s: grouping by %s that no selected series has" % (where, sorted(missing)))
    return problems


def problems_in_service_map(query, where):
    queries = query if isinstance(query, list) else [query]
    problems = []
    for q in queries:
        labels = _MATCHER.findall(q or "")
        if not labels:
            problems.append("%s: empty service-map filter %r" % (where, q))
        for label, _, _ in labels:
            if label not in _SERVICE_GRAPH_LABELS:
                problems.append("%s: traces_service_graph_* series have no label %s (they have client, server, "
                                "connection_type)" % (where, label))
    return problems


def test_the_selector_parser_reads_what_dashboards_write():
    found, grouping = selectors('histogram_quantile(0.95, sum by (le, span_name) (rate(traces_spanmetrics_latency_bucket'
                                '{service="$service", span_kind=~"A|B"}[$__rate_interval])))')
    assert found == [("traces_spanmetrics_latency_bucket", {"service": [("=", "$service")],
                                                             "span_kind": [("=~", "A|B")]})]
    assert grouping == {"le", "span_name"}
    assert selectors("sum(rate(up[5m])) / 1 - up")[0] == [("up", {}), ("up", {})]
    assert problems_in_promql('rate(traces_spanmetrics_calls_total{service_name="x"}[5m])', "t")
    assert problems_in_promql('rate(traces_spanmetrics_calls_total{status_code="ERROR"}[5m])', "t")
    assert problems_in_promql("rate(traces_spanmetrics_calls[5m])", "t")


@pytest.mark.parametrize("name", sorted(p.name for p in DASHBOARDS.glob("*.json")))
def test_every_promql_query_matches_recorded_series(name):
    problems = []
    for dashboard_name, panel, target in _targets():
        if dashboard_name != name or panel["datasource"]["type"] != "prometheus":
            continue
        where = "%s / %s" % (name, panel["title"])
        problems += problems_in_promql(target["expr"], where)
        if target.get("exemplar"):
            metrics = {m for m, _ in selectors(target["expr"])[0]}
            if not metrics & EXEMPLAR_SERIES:
                problems.append("%s: exemplars on %s, which carry none (only histogram buckets do)" % (where, metrics))
    assert problems == []


@pytest.mark.parametrize("name", sorted(p.name for p in DASHBOARDS.glob("*.json")))
def test_template_variables_read_recorded_labels(name):
    dashboard = json.loads((DASHBOARDS / name).read_text())
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable["query"]["query"] if isinstance(variable.get("query"), dict) else variable.get("query", "")
        m = re.fullmatch(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*(\w+)\s*\)", query)
        assert m, "%s: variable %s: unexpected query %r" % (name, variable["name"], query)
        assert m.group(1) in SERIES and m.group(2) in SERIES[m.group(1)], (name, query)


def test_service_graph_panels_filter_by_client_or_server():
    """Fails on a panel that filters traces_service_graph_* by `service` (as service-red.json used to)."""
    seen = 0
    for name, panel, target in _targets():
        if target.get("queryType") == "serviceMap":
            seen += 1
            assert problems_in_service_map(target.get("serviceMapQuery"), "%s / %s" % (name, panel["title"])) == []
    assert seen, "the RED dashboard has a service graph"
    assert problems_in_service_map('{service="$service"}', "old panel")  # the old filter is caught


def test_loki_panels_use_only_stream_labels():
    seen = 0
    for name, panel, target in _targets():
        if panel["datasource"]["type"] != "loki":
            continue
        seen += 1
        selector = re.match(r"\s*\{([^}]*)\}", target["expr"])
        assert selector, (name, target["expr"])
        labels = {label for label, _, _ in _MATCHER.findall(selector.group(1))}
        assert labels and labels <= LOKI_LABELS, (name, panel["title"], labels - LOKI_LABELS)
    assert seen
