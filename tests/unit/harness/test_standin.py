"""Unit tests for the orchestration-only stand-in server."""

import base64
import http.client
import importlib.util
import json
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

STANDIN = Path(__file__).resolve().parents[2] / "harness" / "images" / "standin" / "standin.py"


@pytest.fixture(scope="module")
def standin():
    spec = importlib.util.spec_from_file_location("standin", STANDIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server(standin):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), standin.Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def _request(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    resp = conn.getresponse()
    return resp.status, resp.read()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-config.file=/etc/tempo/tempo.yaml", "-target=all"], ["/etc/tempo/tempo.yaml"]),
        (["--config.file=/etc/prometheus/prometheus.yml"], ["/etc/prometheus/prometheus.yml"]),
        (["run", "/etc/alloy/config.alloy", "--server.http.listen-addr=0.0.0.0:12345"], ["/etc/alloy/config.alloy"]),
        (["--config=/etc/otelcol/config.yaml"], ["/etc/otelcol/config.yaml"]),
        (["run", "--stability.level=generally-available"], []),
        ([], []),
    ],
)
def test_config_paths(standin, argv, expected):
    assert standin.config_paths(argv) == expected


def test_ready_path_and_root_answer_200(server, standin):
    assert _request(server, "GET", standin.READY_PATH)[0] == 200
    assert _request(server, "GET", "/")[0] == 200
    assert _request(server, "GET", "/api/v1/query")[0] == 404


def test_posts_are_accepted_and_counted(server):
    before = json.loads(_request(server, "GET", "/standin")[1])
    status, body = _request(server, "POST", "/v1/traces", b'{"resourceSpans": []}')
    assert status == 200 and body == b""
    after = json.loads(_request(server, "GET", "/standin")[1])
    assert after["posts"] == before["posts"] + 1
    assert after["orchestration_only"] is True


def test_posts_are_handed_back_as_they_came(server):
    """A test decodes what a real client posted to a stand-in's address; the stand-in keeps the bytes only."""
    _request(server, "POST", "/v1/logs", b"\x0a\x00binary")
    kept = json.loads(_request(server, "GET", "/standin/posts")[1])
    assert kept[-1]["path"] == "/v1/logs" and kept[-1]["content_type"] == "application/json"
    assert base64.b64decode(kept[-1]["body"]) == b"\x0a\x00binary"


@pytest.mark.parametrize("argv", [
    ["validate", "/etc/alloy/config.alloy"],
    ["-config.file=/etc/lgtm-validate/tempo.yaml", "-config.verify=true"],
    ["-config.file=/etc/lgtm-validate/loki.yaml", "-verify-config"],
    ["-config.file=/etc/lgtm-validate/mimir.yaml", "-print.config"],
])
def test_asked_to_check_a_configuration_it_refuses_at_once(argv):
    """What the roles run a real image with: a stand-in vouches for nothing and never blocks the run."""
    # The file need not exist: the refusal comes first.
    proc = subprocess.run([sys.executable, str(STANDIN)] + argv, capture_output=True, text=True, timeout=20,
                          env={"STANDIN_PORTS": "0"}, check=False)
    assert proc.returncode == 3 and "cannot check a configuration" in proc.stderr


def test_a_normal_start_is_not_taken_for_a_check(standin):
    assert not standin.asks_for_a_check(["-config.file=/etc/tempo.yaml", "-target=all"])
    assert not standin.asks_for_a_check(["run", "/etc/alloy/config.alloy", "--server.http.listen-addr=0.0.0.0:12345"])


def test_missing_config_file_fails_the_start(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(STANDIN), f"-config.file={tmp_path / 'absent.yaml'}"],
        capture_output=True, text=True, timeout=20, env={"STANDIN_PORTS": "0"}, check=False,
    )
    assert proc.returncode == 2
    assert "absent.yaml is missing or unreadable" in proc.stderr
