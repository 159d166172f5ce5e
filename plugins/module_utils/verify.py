# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Payloads, queries and checks of stack_verify: one trace, one log record and one histogram with an exemplar,
sent through Alloy's OTLP/HTTP receiver, then found again in Tempo, Loki, Mimir and Grafana.

Everything here is pure (no network): the module passes an `http(method, url, body, headers)` callable and a
clock, so the unit tests drive every path with canned answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import binascii
import json
import os
import time

try:
    from urllib.parse import urlencode
except ImportError:  # pragma: no cover - Python 2
    from urllib import urlencode

METRIC = "lgtm_verify_duration"  # OTLP name lgtm.verify.duration, unit s -> _seconds through the Prometheus path


def new_ids():
    return binascii.hexlify(os.urandom(16)).decode(), binascii.hexlify(os.urandom(8)).decode()


def resource(service_name, namespace, environment):
    attrs = [("service.name", service_name), ("service.namespace", namespace),
             ("deployment.environment", environment), ("deployment.environment.name", environment)]
    return {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs]}


def trace_payload(ids, now_ns, service_name, namespace, environment):
    trace_id, span_id = ids
    return {"resourceSpans": [{"resource": resource(service_name, namespace, environment), "scopeSpans": [{
        "scope": {"name": "lgtm.stack.stack_verify"},
        "spans": [{"traceId": trace_id, "spanId": span_id, "name": "GET /lgtm-verify", "kind": 2,
                   "startTimeUnixNano": str(now_ns - 250000000), "endTimeUnixNano": str(now_ns),
                   "attributes": [{"key": "http.route", "value": {"stringValue": "/lgtm-verify"}},
                                  {"key": "http.response.status_code", "value": {"intValue": "200"}}],
                   "status": {"code": 1}}]}]}]}


def log_payload(ids, now_ns, service_name, namespace, environment):
    trace_id, span_id = ids
    return {"resourceLogs": [{"resource": resource(service_name, namespace, environment), "scopeLogs": [{
        "scope": {"name": "lgtm.stack.stack_verify"},
        "logRecords": [{"timeUnixNano": str(now_ns), "observedTimeUnixNano": str(now_ns), "severityNumber": 9,
                        "severityText": "INFO", "body": {"stringValue": "lgtm-verify log for trace %s" % trace_id},
                        "traceId": trace_id, "spanId": span_id}]}]}]}


def metric_payload(ids, now_ns, service_name, namespace, environment):
    trace_id, span_id = ids
    return {"resourceMetrics": [{"resource": resource(service_name, namespace, environment), "scopeMetrics": [{
        "scope": {"name": "lgtm.stack.stack_verify"},
        "metrics": [{"name": "lgtm.verify.duration", "unit": "s", "description": "stack_verify probe",
                     "histogram": {"aggregationTemporality": 2, "dataPoints": [{
                         "startTimeUnixNano": str(now_ns - 1000000000), "timeUnixNano": str(now_ns),
                         "count": "1", "sum": 0.25, "explicitBounds": [0.1, 0.5, 1.0],
                         "bucketCounts": ["0", "1", "0", "0"],
                         "exemplars": [{"timeUnixNano": str(now_ns), "asDouble": 0.25,
                                        "traceId": trace_id, "spanId": span_id}]}]}}]}]}]}


def queries(ids, service_name, namespace, start_s, end_s):
    """Every query a check runs, exactly as sent (shown in the result)."""
    trace_id = ids[0]
    job = "%s/%s" % (namespace, service_name)
    logql = '{service_name="%s"} | trace_id="%s"' % (service_name, trace_id)
    window = {"start": str(int(start_s)), "end": str(int(end_s) + 60)}
    return {
        "tempo_trace": "/api/v2/traces/%s" % trace_id,
        "loki_log": "/loki/api/v1/query_range?" + urlencode(dict(window, query=logql, limit="10")),
        "mimir_metric": "/api/v1/query?" + urlencode({"query": '%s_seconds_count{job="%s"}' % (METRIC, job)}),
        "mimir_exemplar": "/api/v1/query_exemplars?" + urlencode(dict(
            window, query='%s_seconds_bucket{job="%s"}' % (METRIC, job))),
        "span_metrics": "/api/v1/query?" + urlencode({"query": 'traces_spanmetrics_calls_total{service="%s"}'
                                                               % service_name}),
    }


def found_trace(body, trace_id):
    doc = json.loads(body or "{}")
    batches = (doc.get("trace") or {}).get("resourceSpans") or doc.get("batches") or []
    for batch in batches:
        for scope in batch.get("scopeSpans") or batch.get("instrumentationLibrarySpans") or []:
            for span in scope.get("spans") or []:
                if span.get("traceId") in (trace_id,) or _b64_to_hex(span.get("traceId")) == trace_id:
                    return True
    return False


def _b64_to_hex(value):
    try:
        return binascii.hexlify(binascii.a2b_base64(value or "")).decode()
    except (binascii.Error, ValueError):
        return None


def found_log(body, trace_id):
    doc = json.loads(body or "{}")
    return any(trace_id in line for stream in (doc.get("data") or {}).get("result") or []
               for _ts, line in stream.get("values") or [])


def found_series(body):
    doc = json.loads(body or "{}")
    return len((doc.get("data") or {}).get("result") or []) > 0


def found_exemplar(body, trace_id):
    doc = json.loads(body or "{}")
    for series in doc.get("data") or []:
        for exemplar in series.get("exemplars") or []:
            labels = exemplar.get("labels") or {}
            if trace_id in (labels.get("trace_id"), labels.get("traceID")):
                return True
    return False


def _matches_only_trace_id(regex):
    """Grafana matches a label derived field's regex unanchored against label keys, first match wins: it must
    match trace_id and not keys that merely contain it (parent_trace_id, trace_id_hex)."""
    try:
        return bool(re.search(regex or "", "trace_id")) and not any(
            re.search(regex, key) for key in ("parent_trace_id", "trace_id_hex", "otel_trace_id"))
    except re.error:
        return False


def grafana_settings_problems(datasources):
    """What is wrong with the provisioned correlation settings (empty list: nothing)."""
    by_uid = dict((d.get("uid"), d) for d in datasources)
    problems = []
    for uid in ("mimir", "loki", "tempo"):
        if uid not in by_uid:
            problems.append("no datasource with uid %s" % uid)
    tempo = (by_uid.get("tempo") or {}).get("jsonData") or {}
    t2l = tempo.get("tracesToLogsV2") or {}
    if t2l.get("datasourceUid") != "loki":
        problems.append("tempo: tracesToLogsV2 does not point at loki")
    elif "trace_id" not in (t2l.get("query") or "") or not t2l.get("customQuery"):
        problems.append("tempo: tracesToLogsV2 has no custom query on the trace_id structured metadata")
    mimir = (by_uid.get("mimir") or {}).get("jsonData") or {}
    if not any(d.get("datasourceUid") == "tempo" and d.get("name") == "trace_id"
               for d in mimir.get("exemplarTraceIdDestinations") or []):
        problems.append("mimir: no exemplar destination trace_id -> tempo")
    loki = (by_uid.get("loki") or {}).get("jsonData") or {}
    if not any(f.get("matcherType") == "label" and _matches_only_trace_id(f.get("matcherRegex"))
               and f.get("datasourceUid") == "tempo" for f in loki.get("derivedFields") or []):
        problems.append("loki: no derived field on the trace_id label/metadata -> tempo")
    return problems


def poll(check, deadline_s, clock=time.monotonic, sleep=time.sleep, first_wait=1.0, max_wait=8.0):
    """Call check() until it returns (True, detail) or the deadline passes; backoff doubles up to max_wait.
    Returns (ok, detail, attempts, seconds)."""
    start = clock()
    wait, attempts, detail = first_wait, 0, None
    while True:
        attempts += 1
        try:
            ok, detail = check()
        except Exception as exc:  # noqa: BLE001 - an unreachable backend is a failed attempt, not a crash
            ok, detail = False, "%s: %s" % (type(exc).__name__, exc)
        if ok:
            return True, detail, attempts, clock() - start
        if clock() - start + wait > deadline_s:
            return False, detail, attempts, clock() - start
        sleep(wait)
        wait = min(wait * 2, max_wait)


def table(results):
    rows = ["| check | result | seconds | attempts | query |", "|---|---|---|---|---|"]
    for r in results:
        result = "ok" if r["ok"] else "FAILED: %s" % r["detail"]
        rows.append("| %s | %s | %.1f | %d | `%s` |" % (r["check"], result, r["seconds"], r["attempts"], r["query"]))
    return "\n".join(rows)
