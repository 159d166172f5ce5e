"""go_telemetry_info: evidence-backed findings on real-looking Go modules."""

import re
import shutil

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import go_telemetry as G
from ansible_collections.lgtm.stack.plugins.modules import go_telemetry_info
from tests.unit.conftest import EXAMPLE, FIXTURES, ROOT

GO = FIXTURES / "go"


def codes(result):
    return sorted({f["code"] for f in result["findings"]})


def test_example_api_lists_what_must_change():
    result = G.scan(str(EXAMPLE))
    assert [m["module"] for m in result["modules"]] == ["github.com/example/shop-api"]
    assert codes(result) == ["GO001", "GO004", "GO005", "GO006", "GO009", "GO010"]
    by_code = {f["code"]: f for f in result["findings"]}
    jaeger = by_code["GO001"]
    assert jaeger["file"].endswith("api/main.go") and jaeger["line"] == 19 and jaeger["severity"] == "high"
    assert "otlptracehttp.New(ctx)" in jaeger["recommendation"] and "alloy:4318" in jaeger["recommendation"]
    assert jaeger["example"] == "docs/examples/go/telemetry/telemetry.go" and jaeger["symbol"] == "otlptracehttp.New"
    assert by_code["GO006"]["file"].endswith("api/handlers.go") and "logrus" in by_code["GO006"]["message"]
    assert by_code["GO009"]["line"] == 37 and "'shop-api'" in by_code["GO009"]["message"]
    assert by_code["GO005"]["severity"] == "low"
    assert result["changes_required"] is True
    assert result["findings"][0]["severity"] == "high", "most severe first"


def test_modern_module_needs_nothing_and_vendor_is_skipped():
    result = G.scan(str(GO / "modern"))
    assert result["findings"] == []
    assert result["changes_required"] is False
    assert result["summary"].startswith("Nothing must change in the Go code")
    assert result["modules"][0]["files_scanned"] == 1


def test_opentracing_and_jaeger_client_with_nested_module():
    result = G.scan(str(GO / "opentracing"))
    assert sorted(m["module"] for m in result["modules"]) == ["example.com/legacy/worker", "example.com/legacy/worker/tools/gen"]
    worker = [f for f in result["findings"] if f["module"] == "example.com/legacy/worker"]
    gen = [f for f in result["findings"] if f["module"].endswith("/gen")]
    assert sorted(f["code"] for f in worker) == ["GO002", "GO003", "GO006", "GO008"]
    agent = [f for f in worker if f["code"] == "GO008"][0]
    assert agent["line"] == 12 and "jaeger:6831" in agent["message"]
    ot = [f for f in worker if f["code"] == "GO003"][0]
    assert ot["file"].endswith("cmd/worker/main.go") and ot["line"] == 4
    assert [f["code"] for f in gen] == ["GO011"], "the nested module is scanned on its own"
    assert "2 Go module(s)" in result["summary"]


def test_hard_coded_endpoints(tmp_path):
    (tmp_path / "go.mod").write_text("module x\n\nrequire go.opentelemetry.io/otel v1.30.0\n"
                                     "require go.opentelemetry.io/otel/exporters/otlp/otlptrace v1.30.0\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport (\n\t"go.opentelemetry.io/otel"\n\t"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"\n)\n\n'
        'func main() {\n\t_ = otel.Tracer\n\t_, _ = otlptracegrpc.New(nil, otlptracegrpc.WithEndpoint("otel-collector:4317"))\n'
        '\tconst fallback = "http://localhost:4318/v1/traces"\n}\n')
    result = G.scan(str(tmp_path))
    endpoints = [(f["line"], f["message"]) for f in result["findings"] if f["code"] == "GO008"]
    assert endpoints == [(10, "Hard-coded telemetry endpoint WithEndpoint('otel-collector:4317'): it still points at the "
                              "old stack after the migration."),
                         (11, "Hard-coded collector address 'http://localhost:4318/v1/traces'.")]


def test_manual_trace_ids_in_logs_count_as_correlation(tmp_path):
    shutil.copytree(EXAMPLE / "api", tmp_path / "api")
    handlers = tmp_path / "api" / "handlers.go"
    handlers.write_text(handlers.read_text().replace(
        'log.WithError(err).Error("query products")',
        'log.WithError(err).WithField("trace_id", trace.SpanContextFromContext(ctx).TraceID().String()).Error("query products")'))
    assert "GO006" not in codes(G.scan(str(tmp_path)))


def test_no_go_code(tmp_path):
    result = G.scan(str(tmp_path))
    assert result == {"modules": [], "findings": [], "changes_required": False,
                      "summary": "No go.mod below %s: there is no Go code to check." % tmp_path}


def test_parse_go_mod_single_and_block_requires():
    module, requires = G.parse_go_mod(str(GO / "opentracing" / "go.mod"))
    assert module == "example.com/legacy/worker"
    assert requires["github.com/opentracing/opentracing-go"] == ("v1.2.0", 5)
    assert requires["go.uber.org/zap"] == ("v1.24.0", 8)


def test_module_runs_and_fails_cleanly(run_module, tmp_path):
    result, failed = run_module(go_telemetry_info, {"path": str(EXAMPLE)}, check_mode=True)
    assert not failed and result["changed"] is False and result["changes_required"] is True
    result, failed = run_module(go_telemetry_info, {"path": str(tmp_path / "missing")})
    assert failed and result["msg"] == "%s: not a directory" % (tmp_path / "missing")


def _guide_rows():
    """{code: table row} of docs/go_instrumentation.md's "What changes and why" table."""
    text = (ROOT / G.GUIDE).read_text()
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| (GO\d{3}) \|.*$", text, re.M)}


def test_each_finding_points_at_a_symbol_the_proven_code_uses():
    """The advice names a symbol that docs/examples/go (built and run by tests/go) uses, in the file it names,
    and the guide's row for the code names the same symbol."""
    assert sorted(G.FIXES) == ["GO%03d" % n for n in range(1, 12)]
    rows = _guide_rows()
    assert sorted(rows) == sorted(G.FIXES)
    for code, (example, symbol) in G.FIXES.items():
        assert example.startswith(G.EXAMPLE_DIR + "/")
        assert symbol in (ROOT / example).read_text(), "%s: %s is not in %s" % (code, symbol, example)
        assert symbol in rows[code], "%s: the guide's row does not name %s" % (code, symbol)


def test_every_recommendation_names_its_symbol_and_the_guide(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "example")
    (tmp_path / "bridge" / "go.mod").parent.mkdir()
    (tmp_path / "bridge" / "go.mod").write_text("module x\n\nrequire go.opentelemetry.io/contrib/bridges/otelslog v0.6.0\n")
    findings = [f for path in (tmp_path, GO) for f in G.scan(str(path))["findings"]]
    assert {f["code"] for f in findings} == set(G.FIXES), "a fixture for every code"
    for finding in findings:
        example, symbol = G.FIXES[finding["code"]]
        assert (finding["example"], finding["symbol"]) == (example, symbol)
        assert symbol in finding["recommendation"] and G.GUIDE in finding["recommendation"], finding
        assert "grpc" not in finding["recommendation"], "the proven code exports over OTLP/HTTP"


def test_the_proven_example_has_no_findings():
    """docs/examples/go is what every finding asks for: the scan finds nothing to change in it."""
    result = G.scan(str(ROOT / G.EXAMPLE_DIR))
    assert [m["module"] for m in result["modules"]] == ["example.com/shop-api"]
    assert result["findings"] == [] and result["changes_required"] is False
