"""stack_verify against remote backends: the queries carry the tenant and the credentials read from the secret
files, over real HTTP to a local server playing Alloy and the remote Tempo, Loki and Mimir; nothing secret comes
back in the result."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.lgtm.stack.plugins.modules import stack_verify


class Remote(BaseHTTPRequestHandler):
    seen = []
    trace_id = None

    def log_message(self, *args):
        pass

    def _answer(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/v1/traces"):
            Remote.trace_id = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
        self._answer(200, "{}")

    def do_GET(self):
        Remote.seen.append((self.path, self.headers.get("Authorization"), self.headers.get("X-Scope-OrgID")))
        tid = Remote.trace_id
        if self.path.startswith("/tempo/api/v2/traces/"):
            return self._answer(200, json.dumps(
                {"trace": {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": tid}]}]}]}}))
        if self.path.startswith("/loki/"):
            return self._answer(200, json.dumps({"data": {"result": [{"values": [["1", "trace %s" % tid]]}]}}))
        if "query_exemplars" in self.path:
            return self._answer(200, json.dumps({"data": [{"exemplars": [{"labels": {"trace_id": tid}}]}]}))
        if self.path.startswith("/mimir/prometheus/api/v1/query"):
            return self._answer(200, json.dumps({"data": {"result": [{"value": [1, "1"]}]}}))
        return self._answer(404, "")


@pytest.fixture
def server():
    Remote.seen, Remote.trace_id = [], None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Remote)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_queries_carry_tenant_and_credentials_from_files(run_module, server, tmp_path):
    password = tmp_path / "central.password"
    password.write_text("s3cr3t-central\n")
    token = tmp_path / "logs.token"
    token.write_text("tok-logs-42")
    settings = {
        "tenant": "team-payments",
        "auth": {"username": "payments", "password_file": str(password)},
        "traces": {"endpoint": server + "/otlp", "protocol": "http",
                   "query_url": server + "/tempo"},
        "logs": {"url": server + "/loki", "auth": {"token_file": str(token)}},
        "metrics": {"url": server + "/mimir", "tenant": ""},
    }
    result, failed = run_module(stack_verify, {"otlp_http_url": server + "/alloy", "remote": settings,
                                               "timeout": 5, "tempo_url": "http://127.0.0.1:1"})
    assert not failed, result.get("msg")
    basic = "Basic " + base64.b64encode(b"payments:s3cr3t-central").decode()
    by_backend = dict((path.split("/")[1], (auth, tenant)) for path, auth, tenant in Remote.seen)
    assert by_backend["tempo"] == (basic, "team-payments"), "trimmed password, tenant header"
    assert by_backend["loki"] == ("Bearer tok-logs-42", "team-payments")
    assert by_backend["mimir"] == (basic, None), "a per-signal empty tenant sends no header"
    text = json.dumps(result)
    assert "s3cr3t-central" not in text and "tok-logs-42" not in text and basic.split()[1] not in text


def test_bad_remote_settings_fail_before_sending(run_module, server):
    result, failed = run_module(stack_verify, {"otlp_http_url": server + "/alloy", "remote": {"logs": {}}})
    assert failed and "remote.traces is required" in result["msg"] and Remote.seen == []


def test_unreadable_secret_file(run_module, server, tmp_path):
    settings = {"auth": {"username": "u", "password_file": str(tmp_path / "missing")},
                "traces": {"endpoint": server, "protocol": "http", "query_url": server + "/tempo"},
                "logs": {"url": server + "/loki"}, "metrics": {"url": server + "/mimir"}}
    result, failed = run_module(stack_verify, {"otlp_http_url": server + "/alloy", "remote": settings})
    assert failed and "cannot read a remote backend's secret file" in result["msg"]
