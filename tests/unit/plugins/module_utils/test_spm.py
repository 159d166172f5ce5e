"""module_utils.spm: Jaeger SPM span-metric queries onto Tempo's span metrics, and SPM scrape jobs' fate."""

import re

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import spm

# Tempo's span-metric series and labels (stack-facts.md, "Series it writes").
TEMPO_SERIES = {"traces_spanmetrics_calls_total", "traces_spanmetrics_latency_bucket",
                "traces_spanmetrics_latency_sum", "traces_spanmetrics_latency_count"}
TEMPO_LABELS = {"service", "span_name", "span_kind", "status_code", "le"}
FUNCTIONS = {"sum", "rate", "histogram_quantile", "by", "on", "group_left", "label_values", "max", "bool"}

CASES = [
    # (legacy query, expected rewrite)
    ('sum by (service_name, span_name) (rate(traces_span_metrics_calls_total{service_name="$service", '
     'span_kind="SPAN_KIND_SERVER"}[$__rate_interval]))',
     'sum by (service, span_name) (rate(traces_spanmetrics_calls_total{service="$service", '
     'span_kind="SPAN_KIND_SERVER"}[$__rate_interval]))'),
    ('histogram_quantile(0.95, sum(rate(traces_span_metrics_duration_milliseconds_bucket{service_name="$service"}[5m]))'
     ' by (le))',
     'histogram_quantile(0.95, sum(rate(traces_spanmetrics_latency_bucket{service="$service"}[5m])) by (le)) * 1000'),
    ('sum(rate(traces_span_metrics_calls_total{service_name="$service", status_code="STATUS_CODE_ERROR"}[5m])) / '
     'sum(rate(traces_span_metrics_calls_total{service_name="$service"}[5m]))',
     'sum(rate(traces_spanmetrics_calls_total{service="$service", status_code="STATUS_CODE_ERROR"}[5m])) / '
     'sum(rate(traces_spanmetrics_calls_total{service="$service"}[5m]))'),
    ('sum(rate(traces_span_metrics_duration_milliseconds_sum[5m])) / '
     'sum(rate(traces_span_metrics_duration_milliseconds_count[5m]))',
     '(sum(rate(traces_spanmetrics_latency_sum[5m])) * 1000) / sum(rate(traces_spanmetrics_latency_count[5m]))'),
    ('histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_milliseconds_bucket[5m]))) > 500',
     '(histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket[5m]))) * 1000) > 500'),
    ('sum(rate(traces_span_metrics_calls_total{job="aggregated-trace-metrics", service_name="a"}[5m]))',
     'sum(rate(traces_spanmetrics_calls_total{service="a"}[5m]))'),
    ('sum(rate(traces_span_metrics_calls_total{job="aggregated-trace-metrics"}[5m]))',
     'sum(rate(traces_spanmetrics_calls_total[5m]))'),
    # Jaeger v1 SPM (spanmetrics processor): no namespace, `operation`, latency in ms.
    ('histogram_quantile(0.95, sum(rate(latency_bucket{service_name=~"$service",operation=~"$operation"}[1m])) '
     'by (operation,le))',
     'histogram_quantile(0.95, sum(rate(traces_spanmetrics_latency_bucket{service=~"$service",span_name=~"$operation"}'
     '[1m])) by (span_name,le)) * 1000'),
    ('sum by (operation)(rate(calls_total{service_name="$service"}[5m]))',
     'sum by (span_name)(rate(traces_spanmetrics_calls_total{service="$service"}[5m]))'),
    ('label_values(traces_span_metrics_calls_total, service_name)',
     'label_values(traces_spanmetrics_calls_total, service)'),
    # a bound in ms becomes the same bound in seconds; a ratio of counts keeps no factor
    ('sum(rate(traces_span_metrics_duration_milliseconds_bucket{le="256"}[5m])) / '
     'sum(rate(traces_span_metrics_duration_milliseconds_count[5m]))',
     'sum(rate(traces_spanmetrics_latency_bucket{le="0.256"}[5m])) / sum(rate(traces_spanmetrics_latency_count[5m]))'),
]


@pytest.mark.parametrize("before,expected", CASES)
def test_rewrite(before, expected):
    after, changes, problems = spm.rewrite_spm_query(before)
    assert after == expected
    assert changes and problems == []
    assert spm.uses_spm(before) and not spm.uses_spm(after)


@pytest.mark.parametrize("before,_expected", CASES)
def test_rewritten_queries_use_only_tempo_series_and_labels(before, _expected):
    after, _changes, _problems = spm.rewrite_spm_query(before)
    without_strings = re.sub(r'"[^"]*"|\[[^\]]*\]', "", after)
    selectors = re.findall(r"\{([^}]*)\}", without_strings)
    for selector in selectors:
        assert set(re.findall(r"([A-Za-z_]+)\s*[=!]", selector)) <= TEMPO_LABELS
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r"\{[^}]*\}", "", without_strings)))
    assert names - FUNCTIONS <= TEMPO_SERIES | TEMPO_LABELS, names
    # enum values are Tempo's too
    for value in re.findall(r'(?:span_kind|status_code)="([^"]+)"', after):
        assert value.startswith(("SPAN_KIND_", "STATUS_CODE_"))


def test_le_not_in_tempo_buckets_is_a_problem():
    after, changes, problems = spm.rewrite_spm_query(
        'sum(rate(traces_span_metrics_duration_milliseconds_bucket{le="250"}[5m]))')
    assert 'le="0.25"' in after
    assert any('le="250" (ms) -> le="0.25" (s)' in c for c in changes)
    assert problems and "0.25" in problems[0]


def test_unknown_labels_and_regex_le_are_problems():
    _after, _changes, problems = spm.rewrite_spm_query(
        'sum by (http_method) (rate(traces_span_metrics_calls_total{http_status_code="500"}[5m]))')
    assert any("http_method" in p for p in problems) and any("http_status_code" in p for p in problems)
    _after, _changes, problems = spm.rewrite_spm_query(
        'sum(rate(traces_span_metrics_duration_milliseconds_bucket{le=~"100|250"}[5m]))')
    assert any("regex" in p for p in problems)


def test_seconds_histogram_needs_no_factor():
    after, _changes, problems = spm.rewrite_spm_query(
        'histogram_quantile(0.9, sum by (le) (rate(traces_span_metrics_duration_seconds_bucket[5m])))')
    assert after == 'histogram_quantile(0.9, sum by (le) (rate(traces_spanmetrics_latency_bucket[5m])))'
    assert problems == []


def test_other_queries_are_left_alone():
    for expr in ('sum(rate(http_requests_total{job="shop"}[5m]))', "rate(calls_total[5m])",
                 'traces_spanmetrics_calls_total{service="a"}'):
        assert spm.rewrite_spm_query(expr) == (expr, [], [])
        assert not spm.uses_spm(expr)


def test_strings_are_not_tokens():
    after, _changes, _problems = spm.rewrite_spm_query(
        'sum(rate(traces_span_metrics_calls_total{span_name="GET {service_name} by (operation)"}[5m]))')
    assert 'span_name="GET {service_name} by (operation)"' in after


# --------------------------------------------------------------------------- scrape jobs

REMOVED = {"jaeger": "jaeger", "spm_metrics_source": "jaeger", "prometheus": "prometheus",
           "otel-collector": "otel_collector"}


def _job(name, *targets):
    return {"job_name": name, "static_configs": [{"targets": list(targets)}]}


def test_spm_job_is_dropped_with_its_replacement():
    fate = spm.scrape_job_fate(_job("aggregated-trace-metrics", "spm_metrics_source:8889"), REMOVED, ["tempo"])
    assert fate["action"] == "drop"
    assert "SPM" in fate["reason"] and "spm_metrics_source:8889" in fate["reason"]
    assert "metrics generator" in fate["replacement"] and "no scrape needed" in fate["replacement"]


def test_spm_job_without_generator_says_so():
    fate = spm.scrape_job_fate(_job("aggregated-trace-metrics", "jaeger:8889"), REMOVED,
                               {"tempo": {"generator_processors": ["service-graphs"]}})
    assert fate["replacement"] is None and "lgtm_tempo_generator_processors" in fate["reason"]


def test_other_removed_targets_and_kept_ones():
    fate = spm.scrape_job_fate(_job("jaeger-collector-metrics", "jaeger:8888"), REMOVED, ["tempo"])
    assert fate["action"] == "drop" and fate["replacement"] is None and "Jaeger's own" in fate["reason"]
    assert spm.scrape_job_fate(_job("self", "localhost:9090"), REMOVED, ["tempo"])["action"] == "drop"
    assert spm.scrape_job_fate(_job("shop", "shop:8080"), REMOVED, ["tempo"]) is None
    assert spm.scrape_job_fate(_job("mixed", "jaeger:8889", "shop:8080"), REMOVED, ["tempo"]) is None
    assert spm.scrape_job_fate({"job_name": "sd", "file_sd_configs": [{"files": ["x"]}]}, REMOVED) is None
