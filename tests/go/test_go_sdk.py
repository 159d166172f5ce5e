"""The Go code docs/go_instrumentation.md prescribes, built and run against the real OpenTelemetry Go SDK.

The image `go_sdk` (tests/harness/images/go-sdk: Debian trixie's golang-go and OpenTelemetry Go SDK sources) is
built through the harness; docs/examples/go is compiled in it offline (GOPATH mode, no module proxy), run with
the OTEL_* environment the migration sets, and its OTLP/HTTP output is decoded by tests/go/otlp_receiver.py.

Run: python -m pytest tests/go -q (needs the Docker engine; scripts/test.sh sets LGTM_REQUIRE_GO=1 so that
a missing engine fails instead of skipping).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.go.otlp_receiver import Receiver, attributes

ROOT = Path(__file__).resolve().parents[2]
# LGTM_GO_EXAMPLE: another copy of the module (e.g. a deliberately broken one, to see these tests fail).
EXAMPLE = Path(os.environ.get("LGTM_GO_EXAMPLE") or ROOT / "docs" / "examples" / "go")
MODULE = "example.com/shop-api"
CACHE = ROOT / ".work" / "go-build-cache"
IMAGES = json.loads((ROOT / "tests" / "harness" / "images.json").read_text())
IMAGE = IMAGES["images"]["go_sdk"]["local"]
NAME = "lgtm-par-go-%s" % uuid.uuid4().hex[:8]

# What the migration writes into compose for a service (roles/migrate): the resource comes from here only.
ENVIRONMENT = {
    "OTEL_SERVICE_NAME": "shop-api",
    "OTEL_RESOURCE_ATTRIBUTES": "service.namespace=shop,deployment.environment=test,deployment.environment.name=test",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "OTEL_BLRP_SCHEDULE_DELAY": "200",
}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


def _docker(*args, check=True, timeout=600):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode:
        raise AssertionError("docker %s failed (%d):\n%s%s" % (" ".join(args), proc.returncode, proc.stdout,
                                                              proc.stderr[-4000:]))
    return proc


def _remove(name):
    _docker("rm", "-f", "-v", name, check=False, timeout=60)


@pytest.fixture(scope="module")
def image():
    engine = shutil.which("docker") and _docker("info", check=False, timeout=60).returncode == 0
    if not engine:
        assert os.environ.get("LGTM_REQUIRE_GO") != "1", "the Docker engine does not answer"
        pytest.skip("no Docker engine: the Go SDK image cannot be built")
    proc = subprocess.run([sys.executable, "-m", "tests.harness.dockerhost", "images", "--only", "go_sdk"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return IMAGE


def _volumes(out):
    CACHE.mkdir(parents=True, exist_ok=True)
    return ["-v", "%s:/go/src/%s:ro" % (EXAMPLE, MODULE), "-v", "%s:/out" % out, "-v", "%s:/root/.cache" % CACHE]


@pytest.fixture(scope="module")
def binary(image, tmp_path_factory):
    """docs/examples/go, vetted and built offline against Debian's SDK sources."""
    out = tmp_path_factory.mktemp("go-out")
    name = NAME + "-build"
    try:
        _docker("run", "--rm", "--name", name, "--network", "none", *_volumes(out), "-w", "/go/src/" + MODULE,
                image, "sh", "-ec", "test -z \"$(gofmt -l .)\" || { gofmt -l .; exit 1; }; go vet ./...; "
                "go build -o /out/shop-api .", timeout=900)
    finally:
        _remove(name)
    assert (out / "shop-api").is_file()
    return out


def _debian_versions(image):
    fmt = "${Package} ${Version}\\n"
    packages = ["golang-opentelemetry-otel-dev", "golang-opentelemetry-contrib-dev", "golang-google-grpc-dev",
                "golang-github-go-sql-driver-mysql-dev"]
    name = NAME + "-dpkg"
    try:
        text = _docker("run", "--rm", "--name", name, "--network", "none", image, "dpkg-query", "-W", "-f", fmt,
                       *packages).stdout
    finally:
        _remove(name)
    return {pkg: version.split("-")[0] for pkg, version in (line.split() for line in text.splitlines())}


def test_go_mod_pins_the_versions_debian_ships(image):
    """The guide's go.mod names the versions the suite builds with (the SDK's own version.go agrees)."""
    versions = _debian_versions(image)
    required = dict(re.findall(r"^\t(\S+) v(\S+)", (EXAMPLE / "go.mod").read_text(), re.M))
    otel, contrib = versions["golang-opentelemetry-otel-dev"], versions["golang-opentelemetry-contrib-dev"]
    for module, version in required.items():
        if module.startswith("go.opentelemetry.io/otel") and not re.search(r"/log$|otlplog", module):
            assert version == otel, (module, version, otel)
        elif module.startswith("go.opentelemetry.io/contrib/instrumentation/"):
            assert version == contrib, (module, version, contrib)
    assert required["google.golang.org/grpc"] == versions["golang-google-grpc-dev"]
    assert required["github.com/go-sql-driver/mysql"] == versions["golang-github-go-sql-driver-mysql-dev"]
    guide = (ROOT / "docs" / "go_instrumentation.md").read_text()
    assert "%s" % otel in guide and "%s" % contrib in guide, "the guide names the versions it was proven with"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code  # the server answers
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture(scope="module")
def run(image, binary):
    """Run the program once: one request carrying a W3C traceparent, then SIGTERM (the SDK flushes)."""
    port = _free_port()
    name = NAME + "-run"
    with Receiver() as rx:
        env = dict(ENVIRONMENT, OTEL_EXPORTER_OTLP_ENDPOINT=rx.endpoint, HTTP_ADDR="127.0.0.1:%d" % port,
                   GRPC_ADDR="127.0.0.1:%d" % _free_port())
        flags = [arg for key, value in env.items() for arg in ("-e", "%s=%s" % (key, value))]
        try:
            _docker("run", "-d", "--name", name, "--network", "host", "-v", "%s:/out:ro" % binary, *flags, image,
                    "/out/shop-api")
            assert _wait_http("http://127.0.0.1:%d/not-a-route" % port) == 404
            request = urllib.request.Request("http://127.0.0.1:%d/products" % port, headers={
                "traceparent": "00-%s-%s-01" % (TRACE_ID, PARENT_SPAN_ID)})
            with urllib.request.urlopen(request, timeout=10) as resp:
                status = resp.status
            _docker("stop", "-t", "20", name, timeout=60)
            state = json.loads(_docker("inspect", "--format", "{{json .State}}", name).stdout)
            logs = _docker("logs", name)
        finally:
            _remove(name)
    return {"status": status, "exit": state["ExitCode"], "stdout": logs.stdout, "stderr": logs.stderr, "rx": rx}


def test_the_program_serves_and_exits_cleanly(run):
    assert run["status"] == 200
    assert run["exit"] == 0, run["stdout"] + run["stderr"]
    assert run["rx"].errors == []


def test_resource_comes_from_the_environment(run):
    rx = run["rx"]
    for signal in ("traces", "metrics", "logs"):
        resources = rx.resources(signal)
        assert resources, "no %s received" % signal
        for attrs in resources:
            assert attrs.get("service.name") == "shop-api", (signal, attrs)
            assert attrs.get("service.namespace") == "shop", (signal, attrs)
            assert attrs.get("deployment.environment") == "test", (signal, attrs)
            assert attrs.get("deployment.environment.name") == "test", (signal, attrs)


def _server_span(rx):
    """The server span of the /products request (the readiness probe before it has one too)."""
    servers = sorted((s for s in rx.spans() if s.kind == s.SPAN_KIND_SERVER), key=lambda s: s.start_time_unix_nano)
    assert len(servers) == 2, [(s.name, s.kind) for s in rx.spans()]
    return servers[-1]


def test_incoming_traceparent_is_continued(run):
    span = _server_span(run["rx"])
    assert span.trace_id.hex() == TRACE_ID
    assert span.parent_span_id.hex() == PARENT_SPAN_ID


def test_histogram_has_an_exemplar_of_the_server_span(run):
    span = _server_span(run["rx"])
    metrics = run["rx"].metrics("shop.products.duration")
    assert metrics, "no shop.products.duration histogram"
    points = [p for m in metrics for p in m.histogram.data_points]
    assert points and sum(p.count for p in points) >= 1
    exemplars = [e for p in points for e in p.exemplars]
    assert any(e.trace_id == span.trace_id and e.span_id == span.span_id for e in exemplars), (
        "no exemplar points at the server span: %s" % exemplars)


def test_log_record_carries_the_span_of_the_request(run):
    span = _server_span(run["rx"])
    records = [r for r in run["rx"].log_records() if r.body.string_value == "products listed"]
    assert records, [r.body for r in run["rx"].log_records()]
    assert records[0].trace_id == span.trace_id and records[0].span_id == span.span_id
    assert attributes(records[0].attributes).get("count") == 0


def test_stdout_json_line_carries_the_ids_alloy_lifts(run):
    """Alloy's docker-log pipeline lifts `trace_id`/`span_id` from JSON lines (module_utils/alloy_stack.py)."""
    span = _server_span(run["rx"])
    lines = [json.loads(line) for line in run["stdout"].splitlines() if line.startswith("{")]
    listed = [line for line in lines if line.get("msg") == "products listed"]
    assert listed, run["stdout"]
    assert listed[0]["trace_id"] == span.trace_id.hex() and listed[0]["span_id"] == span.span_id.hex()
