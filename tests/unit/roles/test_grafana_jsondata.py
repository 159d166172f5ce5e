"""lgtm.stack.grafana writes only jsonData keys the Tempo, Loki and Prometheus datasources read.

The key lists were checked in Grafana's source (grafana/grafana, main in 2026):
- Tempo: public/app/plugins/datasource/tempo/types.ts `TempoJsonData` (serviceMap, search, nodeGraph, spanBar,
  tagLimit, traceQuery, streamingEnabled, timeRangeForTags) plus the trace-link options the datasource's config
  editor writes from @grafana/o11y-ds-frontend (tracesToLogsV2, tracesToMetrics, tracesToProfiles). `lokiSearch`
  was removed from TempoJsonData: Grafana ignores it.
- Trace to logs: `TraceToLogsOptionsV2` as read by public/app/features/explore/TraceView/traceToLogsQuery.ts.
- Prometheus: packages/grafana-prometheus/src/types.ts `PromOptions` and `ExemplarTraceIdDestination`.
- Loki: public/app/plugins/datasource/loki/types.ts `LokiOptions` and `DerivedFieldConfig`.
"""

import yaml

TEMPO_KEYS = {"tracesToLogsV2", "tracesToMetrics", "tracesToProfiles", "serviceMap", "search", "nodeGraph", "spanBar",
              "tagLimit", "traceQuery", "streamingEnabled", "timeRangeForTags"}
TRACES_TO_LOGS_V2_KEYS = {"datasourceUid", "spanStartTimeShift", "spanEndTimeShift", "tags", "filterByTraceID",
                          "filterBySpanID", "customQuery", "query"}
TRACES_TO_METRICS_KEYS = {"datasourceUid", "spanStartTimeShift", "spanEndTimeShift", "tags", "queries"}
TEMPO_NESTED = {"serviceMap": {"datasourceUid"}, "nodeGraph": {"enabled"}, "search": {"hide", "filters"},
                "traceQuery": {"timeShiftEnabled", "spanStartTimeShift", "spanEndTimeShift"},
                "streamingEnabled": {"search", "metrics"}, "tracesToLogsV2": TRACES_TO_LOGS_V2_KEYS,
                "tracesToMetrics": TRACES_TO_METRICS_KEYS}
PROMETHEUS_KEYS = {"timeInterval", "queryTimeout", "httpMethod", "customQueryParameters", "disableMetricsLookup",
                   "exemplarTraceIdDestinations", "prometheusType", "prometheusVersion", "cacheLevel", "defaultEditor",
                   "incrementalQuerying", "incrementalQueryOverlapWindow", "disableRecordingRules", "seriesEndpoint",
                   "seriesLimit"}
EXEMPLAR_DESTINATION_KEYS = {"name", "url", "urlDisplayLabel", "datasourceUid"}
LOKI_KEYS = {"maxLines", "derivedFields", "alertmanager", "keepCookies", "predefinedOperations"}
DERIVED_FIELD_KEYS = {"matcherRegex", "name", "url", "urlDisplayLabel", "datasourceUid", "matcherType"}


def _datasources(render):
    text, _ = render("grafana", "datasources.yaml.j2", lgtm_project_dir="/srv/shop")
    return dict((ds["uid"], ds) for ds in yaml.safe_load(text)["datasources"])


def test_tempo_keys_are_read_by_the_tempo_datasource(render_role_template):
    j = _datasources(render_role_template)["tempo"]["jsonData"]
    assert set(j) <= TEMPO_KEYS, set(j) - TEMPO_KEYS
    for key, allowed in TEMPO_NESTED.items():
        if key in j:
            assert set(j[key]) <= allowed, (key, set(j[key]) - allowed)
    assert "lokiSearch" not in j


def test_prometheus_keys_are_read_by_the_prometheus_datasource(render_role_template):
    j = _datasources(render_role_template)["mimir"]["jsonData"]
    assert set(j) <= PROMETHEUS_KEYS, set(j) - PROMETHEUS_KEYS
    for dest in j["exemplarTraceIdDestinations"]:
        assert set(dest) <= EXEMPLAR_DESTINATION_KEYS


def test_loki_keys_are_read_by_the_loki_datasource(render_role_template):
    j = _datasources(render_role_template)["loki"]["jsonData"]
    assert set(j) <= LOKI_KEYS, set(j) - LOKI_KEYS
    for field in j["derivedFields"]:
        assert set(field) <= DERIVED_FIELD_KEYS
        assert field["matcherType"] in ("label", "regex")
