#!/usr/bin/env python3
"""ORCHESTRATION-ONLY stand-in for an observability component.

It exists so that tests on machines without registry access can prove that
containers are created, replaced, removed, mounted and restarted correctly.
It does NOT implement Grafana, Loki, Tempo, Mimir, Alloy, Jaeger or the OTel
Collector: nothing it answers says anything about telemetry, config acceptance
or correlation.

Behaviour:
* listens on every port in STANDIN_PORTS (HTTP/1.1 only);
* GET STANDIN_READY_PATH and GET / answer 200; GET /standin answers a JSON
  description (component, arguments, counts of POSTs received);
* any POST answers 200 with an empty body (what OTLP/HTTP clients accept);
  the last POSTs are kept as they came (GET /standin/posts: path, headers
  that describe the body, body in base64) so that a test can decode what a
  real client sent to this address - the stand-in itself never reads them;
* every argument of the form --*config.file=PATH, --config=PATH or `run PATH`
  must name a readable file, else it exits 2: a broken bind mount fails the
  container like it would fail the real component's start;
* asked to check a configuration (`validate PATH`, -config.verify,
  -verify-config, -print.config: what the roles run the real image with) it
  exits 3 at once and says so: it can vouch for nothing, and a run that forgot
  the harness's standin_variables (lgtm_image_checks: false) fails instead of
  waiting on a server that never ends.
"""

import base64
import json
import os
import re
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMPONENT = os.environ.get("STANDIN_COMPONENT", "unknown")
READY_PATH = os.environ.get("STANDIN_READY_PATH", "/ready")
PORTS = [int(p) for p in os.environ.get("STANDIN_PORTS", "8080").split()]
CONFIG_ARG = re.compile(r"^--?(?:[\w.-]*config[.-]file|config)=(.+)$")
CHECK_ARG = re.compile(r"^--?(?:config\.verify|verify-config|print\.config)(?:=.*)?$")
POSTS = {"count": 0, "kept": []}
KEEP = 200
LOCK = threading.Lock()


def config_paths(argv):
    paths = []
    for index, arg in enumerate(argv):
        match = CONFIG_ARG.match(arg)
        if match:
            paths.append(match.group(1))
        elif arg == "run" and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
            paths.append(argv[index + 1])
    return paths


def asks_for_a_check(argv):
    return bool(argv) and argv[0] == "validate" or any(CHECK_ARG.match(arg) for arg in argv)


class Handler(BaseHTTPRequestHandler):
    server_version = "lgtm-test-standin"

    def _send(self, code, body=b"", ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path == "/standin":
            info = {"component": COMPONENT, "orchestration_only": True, "args": sys.argv[1:], "posts": POSTS["count"]}
            self._send(200, json.dumps(info).encode(), "application/json")
        elif path == "/standin/posts":
            with LOCK:
                kept = list(POSTS["kept"])
            self._send(200, json.dumps(kept).encode(), "application/json")
        elif path in (READY_PATH, "/"):
            self._send(200, b"ready (orchestration-only stand-in)\n")
        else:
            self._send(404, b"not implemented by the stand-in\n")

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        entry = {"path": self.path, "content_type": self.headers.get("Content-Type"),
                 "content_encoding": self.headers.get("Content-Encoding"),
                 "body": base64.b64encode(body).decode()}
        with LOCK:
            POSTS["count"] += 1
            POSTS["kept"] = (POSTS["kept"] + [entry])[-KEEP:]
        self._send(200, b"", self.headers.get("Content-Type") or "application/x-protobuf")

    def log_message(self, fmt, *args):
        return


def main():
    print(f"lgtm-test stand-in for {COMPONENT}: ORCHESTRATION ONLY, not the real component", flush=True)
    if asks_for_a_check(sys.argv[1:]):
        print(f"stand-in {COMPONENT}: cannot check a configuration (orchestration only); runs on stand-ins need "
              "tests/harness/images.json's standin_variables (lgtm_image_checks: false)", file=sys.stderr, flush=True)
        return 3
    for path in config_paths(sys.argv[1:]):
        if not os.access(path, os.R_OK) or not os.path.isfile(path):
            print(f"stand-in {COMPONENT}: config file {path} is missing or unreadable", file=sys.stderr, flush=True)
            return 2
    servers = []
    for port in PORTS:
        server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
