"""stack_verify: OTLP payloads, queries, answer parsing, polling, and the module's skip paths."""

import json
import re

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import verify as V
from ansible_collections.lgtm.stack.plugins.modules import stack_verify

IDS = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
NOW = 1764115200 * 10**9
IDENTITY = ("lgtm-verify", "shop", "dev")


def _attrs(resource):
    return dict((a["key"], a["value"]["stringValue"]) for a in resource["attributes"])


def test_payloads_are_otlp_json_with_one_identity_and_one_trace_id():
    trace = V.trace_payload(IDS, NOW, *IDENTITY)
    log = V.log_payload(IDS, NOW, *IDENTITY)
    metric = V.metric_payload(IDS, NOW, *IDENTITY)
    for payload, key in ((trace, "resourceSpans"), (log, "resourceLogs"), (metric, "resourceMetrics")):
        json.loads(json.dumps(payload))
        assert _attrs(payload[key][0]["resource"]) == {
            "service.name": "lgtm-verify", "service.namespace": "shop", "deployment.environment": "dev",
            "deployment.environment.name": "dev"}
    span = trace["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert re.fullmatch("[0-9a-f]{32}", span["traceId"]) and re.fullmatch("[0-9a-f]{16}", span["spanId"])
    assert int(span["endTimeUnixNano"]) > int(span["startTimeUnixNano"]) and span["kind"] == 2
    record = log["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert (record["traceId"], record["spanId"]) == IDS and IDS[0] in record["body"]["stringValue"]
    point = metric["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["histogram"]["dataPoints"][0]
    assert len(point["bucketCounts"]) == len(point["explicitBounds"]) + 1
    assert sum(int(c) for c in point["bucketCounts"]) == int(point["count"])
    assert point["exemplars"][0]["traceId"] == IDS[0]
    assert re.fullmatch("[0-9a-f]{32}", V.new_ids()[0]) and V.new_ids() != V.new_ids()


def test_queries_are_the_documented_ones():
    q = V.queries(IDS, "lgtm-verify", "shop", 1000, 2000)
    assert q["tempo_trace"] == "/api/v2/traces/" + IDS[0]
    assert "query=%7Bservice_name%3D%22lgtm-verify%22%7D+%7C+trace_id%3D%22" + IDS[0] in q["loki_log"]
    assert "start=1000" in q["loki_log"] and "end=2060" in q["loki_log"]
    assert q["mimir_metric"].endswith("lgtm_verify_duration_seconds_count%7Bjob%3D%22shop%2Flgtm-verify%22%7D")
    assert "lgtm_verify_duration_seconds_bucket" in q["mimir_exemplar"]
    assert "traces_spanmetrics_calls_total%7Bservice%3D%22lgtm-verify%22%7D" in q["span_metrics"]


def test_answers_are_read():
    tempo = {"trace": {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": IDS[0]}]}]}]}}
    assert V.found_trace(json.dumps(tempo), IDS[0]) and not V.found_trace("{}", IDS[0])
    b64 = {"batches": [{"scopeSpans": [{"spans": [{"traceId": "CvdlGRbNQ92ESOshHIAxnA=="}]}]}]}
    assert V.found_trace(json.dumps(b64), IDS[0])
    loki = {"data": {"result": [{"stream": {}, "values": [["1", "lgtm-verify log for trace " + IDS[0]]]}]}}
    assert V.found_log(json.dumps(loki), IDS[0]) and not V.found_log(json.dumps(loki), "x" * 32)
    assert V.found_series('{"data": {"result": [{"metric": {}, "value": [1, "1"]}]}}')
    assert not V.found_series('{"data": {"result": []}}')
    ex = {"data": [{"seriesLabels": {}, "exemplars": [{"labels": {"trace_id": IDS[0]}, "value": "0.25"}]}]}
    assert V.found_exemplar(json.dumps(ex), IDS[0]) and not V.found_exemplar('{"data": []}', IDS[0])


def test_poll_backs_off_and_gives_up_at_the_deadline():
    clock = {"t": 0.0}
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        clock["t"] += s

    ok, detail, attempts, seconds = V.poll(lambda: (False, "not yet"), 30, lambda: clock["t"], sleep)
    assert not ok and detail == "not yet" and sleeps == [1.0, 2.0, 4.0, 8.0, 8.0] and attempts == 6
    calls = iter([(False, "no"), (True, "yes")])
    assert V.poll(lambda: next(calls), 30, lambda: clock["t"], sleep)[:3] == (True, "yes", 2)

    def boom():
        raise OSError("connection refused")

    assert V.poll(boom, 0, lambda: 0.0, sleep)[1] == "OSError: connection refused"


class FakeStack(object):
    """Answers like the real stack would once the probe arrived (or not, per `broken`)."""

    def __init__(self, broken=()):
        self.broken, self.trace_id, self.calls = broken, None, []

    def __call__(self, method, url, body=None, headers=None, tls=None):
        self.calls.append((method, url, headers))
        if method == "POST":
            if "traces" in url:
                self.trace_id = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
            return (503, "down") if "alloy" in self.broken else (200, "{}")
        tid = self.trace_id
        if url.endswith("/health"):
            return 200, '{"status": "OK"}'
        if "/api/v2/traces/" in url:
            return (404, "") if "tempo" in self.broken else (200, json.dumps(
                {"trace": {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": tid}]}]}]}}))
        if "/loki/" in url:
            return 200, json.dumps({"data": {"result": [{"values": [["1", "log for trace %s" % tid]]}]}})
        if "query_exemplars" in url:
            return 200, json.dumps({"data": [{"exemplars": [{"labels": {"trace_id": tid}}]}]})
        if "/api/v1/query" in url:
            return 200, json.dumps({"data": {"result": [{"value": [1, "1"]}]}})
        if url.endswith("/api/datasources"):
            return 200, json.dumps([
                {"uid": "mimir", "jsonData": {"exemplarTraceIdDestinations": [{"name": "trace_id", "datasourceUid": "tempo"}]}},
                {"uid": "tempo", "jsonData": {"tracesToLogsV2": {"datasourceUid": "loki", "customQuery": True,
                                                                   "query": '{${__tags}} | trace_id = "x"'}}},
                {"uid": "loki", "jsonData": {"derivedFields": [{"matcherType": "label", "matcherRegex": "^trace_id$",
                                                                 "datasourceUid": "tempo"}]}}])
        return 404, ""


PARAMS = {"otlp_http_url": "http://alloy:4318", "tempo_url": "http://tempo:3200", "loki_url": "http://loki:3100",
          "mimir_url": "http://mimir:9009/prometheus", "grafana_url": "http://grafana:3000", "grafana_user": "admin",
          "service_name": "lgtm-verify", "service_namespace": "shop", "environment": "dev", "timeout": 5,
          "span_metrics": True}


def test_run_checks_all_green_with_grafana():
    fake = FakeStack()
    ids, results = stack_verify.run_checks(PARAMS, fake, lambda: 0.0, lambda s: None, password="pw")
    assert [r["check"] for r in results if not r["ok"]] == []
    assert len(results) == 3 + 5 + 3 + 1 and fake.trace_id == ids[0]
    auth = [h for _m, u, h in fake.calls if "grafana" in u][0]["Authorization"]
    assert auth == "Basic YWRtaW46cHc="


def test_run_checks_reports_what_failed_with_its_query():
    clock = {"t": 0.0}

    def sleep(s):
        clock["t"] += s

    ids, results = stack_verify.run_checks(PARAMS, FakeStack(broken=("tempo",)), lambda: clock["t"], sleep)
    failed = [r for r in results if not r["ok"]]
    assert [r["check"] for r in failed] == ["trace in Tempo"]
    assert failed[0]["query"] == "GET http://tempo:3200/api/v2/traces/" + ids[0] and failed[0]["attempts"] > 1
    assert "| trace in Tempo | FAILED: HTTP 404" in V.table(results)
    _ids, results = stack_verify.run_checks(PARAMS, FakeStack(broken=("alloy",)), lambda: 0.0, lambda s: None)
    assert len(results) == 3 and not any(r["ok"] for r in results), "nothing is polled when Alloy refuses"


def test_module_skips_in_check_mode(run_module):
    result, failed = run_module(stack_verify, {}, check_mode=True)
    assert not failed and result["skipped"]


def test_module_fails_with_a_table(run_module, monkeypatch, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cr3t-admin\n")
    monkeypatch.setattr(stack_verify, "http", FakeStack(broken=("alloy",)))
    result, failed = run_module(stack_verify, {"grafana_password_file": str(secret)})
    assert failed and "3 check(s) failed" in result["msg"] and "| send traces to Alloy | FAILED" in result["msg"]
    assert "s3cr3t-admin" not in json.dumps(result)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Unit tests never reach a real endpoint (something may listen on 127.0.0.1:4318 on a test machine)."""

    def refuse(*args, **kwargs):
        raise AssertionError("stack_verify unit test tried the network: %s" % (args,))

    monkeypatch.setattr(stack_verify, "open_url", refuse)


def test_unreadable_password_file(run_module, tmp_path):
    result, failed = run_module(stack_verify, {"grafana_password_file": str(tmp_path / "none")})
    assert failed and str(tmp_path / "none") in result["msg"]
