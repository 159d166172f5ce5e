# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static scan of Go modules for what must change to send correlated OTLP telemetry to Alloy.

Every finding carries evidence (file and line), a stable code, what is wrong
and what to do. The scan reads go.mod and *.go files only; it never builds.

What to do is the code docs/go_instrumentation.md prescribes: each finding names
the symbol and the file of docs/examples/go that shows the change (FIXES), the
code tests/go builds against Debian's OpenTelemetry Go SDK and runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

SKIP_DIRS = frozenset(["vendor", "testdata", ".git", "node_modules", "third_party"])

OTEL = "go.opentelemetry.io/otel"
JAEGER_EXPORTER = "go.opentelemetry.io/otel/exporters/jaeger"
JAEGER_CLIENT = ("github.com/uber/jaeger-client-go", "github.com/uber/jaeger-lib")
OPENTRACING = ("github.com/opentracing/opentracing-go", "github.com/opentracing-contrib/")
OTLP_TRACE = "go.opentelemetry.io/otel/exporters/otlp/otlptrace"
OTLP_METRIC = "go.opentelemetry.io/otel/exporters/otlp/otlpmetric"
OTLP_LOG = "go.opentelemetry.io/otel/exporters/otlp/otlplog"
PROM_CLIENT = "github.com/prometheus/client_golang"
OTEL_PROM_EXPORTER = "go.opentelemetry.io/otel/exporters/prometheus"
LOG_BRIDGES = ("go.opentelemetry.io/contrib/bridges/otelslog", "go.opentelemetry.io/contrib/bridges/otelzap",
               "go.opentelemetry.io/contrib/bridges/otellogrus", "go.opentelemetry.io/contrib/bridges/otelzerolog",
               "go.opentelemetry.io/contrib/bridges/otellogr")
LOGGERS = {"github.com/sirupsen/logrus": "logrus", "go.uber.org/zap": "zap", "github.com/rs/zerolog": "zerolog",
           "log/slog": "slog", "log": "log"}

_REQUIRE_LINE = re.compile(r"^\s*(?:require\s+)?([A-Za-z0-9._~/-]+\.[A-Za-z0-9._~/-]+)\s+(v[0-9][^\s/]*)")
_IMPORT_BLOCK = re.compile(r"^import\s*\((.*?)^\)", re.S | re.M)
_IMPORT_SINGLE = re.compile(r'^import\s+(?:[A-Za-z_.][A-Za-z0-9_]*\s+)?"([^"]+)"', re.M)
_IMPORT_PATH = re.compile(r'^\s*(?:[A-Za-z_.][A-Za-z0-9_]*\s+)?"([^"]+)"', re.M)
_ENDPOINT_LITERAL = re.compile(
    r'"((?:https?://)?(?:localhost|127\.0\.0\.1|jaeger|otel-collector|otelcol|collector|tempo|alloy|'
    r'[a-z0-9-]*jaeger[a-z0-9-]*)(?::(?:4317|4318|14268|14250|6831|6832|9411))(?:/[^"]*)?)"')
_ENDPOINT_OPTION = re.compile(r'(WithEndpoint(?:URL)?|WithAgentHost|WithCollectorEndpoint|WithAgentPort)\(\s*"([^"]+)"')
_RESOURCE_IN_CODE = re.compile(r'semconv\.ServiceName(?:Key\.String)?\(\s*"([^"]*)"|attribute\.String\(\s*"service\.name"\s*,\s*"([^"]*)"')
_FROM_ENV = re.compile(r"resource\.WithFromEnv\(|resource\.Default\(\)|resource\.Environment\(\)|autoexport\.|"
                       r"otelconf\.|resource\.WithDetectors\(")
_PROPAGATOR = re.compile(r"SetTextMapPropagator\(|autoprop\.")
_TRACE_ID_IN_LOGS = re.compile(r"TraceID\(\)\.String\(\)|SpanContextFromContext|\"trace_id\"|\"traceID\"")
_SDK_TRACE = re.compile(r"sdktrace\.NewTracerProvider|trace\.NewTracerProvider\(|go\.opentelemetry\.io/otel/sdk/trace")

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}

GUIDE = "docs/go_instrumentation.md"
EXAMPLE_DIR = "docs/examples/go"
_TELEMETRY = EXAMPLE_DIR + "/telemetry/telemetry.go"
_MAIN = EXAMPLE_DIR + "/main.go"
# code -> (file of the proven example that makes the change, the symbol it uses). Every recommendation names its
# symbol; the guide's table row for the code names it too (tests/unit/plugins/modules/test_go_telemetry_info.py).
FIXES = {
    "GO001": (_TELEMETRY, "otlptracehttp.New"),
    "GO002": (_TELEMETRY, "sdktrace.NewTracerProvider"),
    "GO003": (_MAIN, "otel.Tracer"),
    "GO004": (_TELEMETRY, "sdktrace.WithBatcher"),
    "GO005": (_TELEMETRY, "otlpmetrichttp.New"),
    "GO006": (_TELEMETRY, "otelslog.NewLogger"),
    "GO007": (_TELEMETRY, "otlploghttp.New"),
    "GO008": (_TELEMETRY, "otlptracehttp.New(ctx)"),
    "GO009": (_TELEMETRY, "resource.WithFromEnv()"),
    "GO010": (_TELEMETRY, "propagation.TraceContext{}"),
    "GO011": (_MAIN, "telemetry.Setup"),
}


def find_modules(path):
    """Every go.mod below path (vendor/, testdata/ and hidden dirs skipped)."""
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        if "go.mod" in files:
            found.append(os.path.join(root, "go.mod"))
    return found


def parse_go_mod(path):
    """(module_path, {dependency: (version, line)})."""
    module, requires = None, {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    in_block = False
    for number, raw in enumerate(lines, 1):
        line = raw.split("//", 1)[0].strip()
        if line.startswith("module "):
            module = line.split(None, 1)[1].strip().strip('"')
            continue
        if line.startswith("require ("):
            in_block = True
            continue
        if in_block and line == ")":
            in_block = False
            continue
        if in_block or line.startswith("require "):
            match = _REQUIRE_LINE.match(line)
            if match:
                requires[match.group(1)] = (match.group(2), number)
    return module, requires


def _go_files(module_dir, other_module_dirs):
    """The module's own .go files: a subdirectory holding another go.mod is another module."""
    for root, dirs, files in os.walk(module_dir):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")
                         and os.path.join(root, d) not in other_module_dirs)
        for name in sorted(files):
            if name.endswith(".go") and not name.endswith("_test.go"):
                yield os.path.join(root, name)


def _line_at(text, offset):
    return text.count("\n", 0, offset) + 1


def _imports(text):
    """[(path, line)] of a Go file's imports."""
    out = []
    for block in _IMPORT_BLOCK.finditer(text):
        base = block.start(1)
        for match in _IMPORT_PATH.finditer(block.group(1)):
            out.append((match.group(1), _line_at(text, base + match.start(1))))
    for match in _IMPORT_SINGLE.finditer(text):
        out.append((match.group(1), _line_at(text, match.start(1))))
    return out


def _first(entries, predicate):
    for entry in entries:
        if predicate(entry[0]):
            return entry
    return None


def scan_module(go_mod, other_module_dirs=frozenset()):
    module_dir = os.path.dirname(go_mod)
    module, requires = parse_go_mod(go_mod)
    findings = []

    def add(code, severity, file, line, message, recommendation):
        example, symbol = FIXES[code]
        findings.append({"module": module, "go_mod": go_mod, "code": code, "severity": severity, "file": file,
                         "line": line, "message": message,
                         "recommendation": "%s. Example: %s in %s (%s)." % (
                             recommendation.rstrip("."), symbol, example, GUIDE),
                         "example": example, "symbol": symbol})

    imports = []  # (path, file, line)
    texts = {}
    for path in _go_files(module_dir, other_module_dirs):
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        texts[path] = text
        imports.extend((imp, path, line) for imp, line in _imports(text))

    def imported(prefixes):
        prefixes = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
        return [(i, f, l) for i, f, l in imports if i.startswith(prefixes)]

    def required(prefixes):
        prefixes = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
        return sorted((dep, version, line) for dep, (version, line) in requires.items() if dep.startswith(prefixes))

    def evidence(prefixes):
        """(file, line) of the first import, else of the go.mod require line."""
        hits = imported(prefixes)
        if hits:
            return hits[0][1], hits[0][2]
        reqs = required(prefixes)
        return (go_mod, reqs[0][2]) if reqs else (None, None)

    def uses(prefixes):
        return bool(imported(prefixes) or required(prefixes))

    uses_otel = uses(OTEL)
    tracing_sdk = any(_SDK_TRACE.search(t) for t in texts.values()) or bool(required(OTEL + "/sdk"))

    if uses(JAEGER_EXPORTER):
        file, line = evidence(JAEGER_EXPORTER)
        add("GO001", "high", file, line,
            "Uses go.opentelemetry.io/otel/exporters/jaeger, deprecated upstream and removed from OpenTelemetry Go "
            "since v1.18; Jaeger itself is being removed from the stack.",
            "Replace it with otlptracehttp.New(ctx) and let the exporter read OTEL_EXPORTER_OTLP_ENDPOINT "
            "(http://alloy:4318 in compose, http://127.0.0.1:4318 on the host).")
    if uses(JAEGER_CLIENT):
        file, line = evidence(JAEGER_CLIENT)
        add("GO002", "high", file, line,
            "Uses github.com/uber/jaeger-client-go, archived and unmaintained; it speaks only Jaeger protocols.",
            "Move to the OpenTelemetry SDK: sdktrace.NewTracerProvider with an OTLP exporter (otlptracehttp). Until "
            "then Alloy's Jaeger receiver can accept its spans (lgtm_alloy_jaeger_receivers), without log or metric "
            "correlation.")
    if uses(OPENTRACING):
        file, line = evidence(OPENTRACING)
        add("GO003", "medium", file, line,
            "Uses the OpenTracing API, archived since 2022.",
            "Instrument with the OpenTelemetry API (otel.Tracer(...).Start(ctx, ...)); "
            "go.opentelemetry.io/otel/bridge/opentracing keeps existing OpenTracing calls working during the move.")
    if (uses_otel and tracing_sdk) and not uses(OTLP_TRACE):
        file, line = evidence(OTEL + "/sdk")
        if file is None:
            file, line = evidence(OTEL)
        add("GO004", "high", file, line,
            "Creates a tracer provider but exports no traces over OTLP.",
            "Add go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp and register it with "
            "sdktrace.WithBatcher.")
    if not uses(OTLP_METRIC):
        if uses(PROM_CLIENT):
            file, line = evidence(PROM_CLIENT)
            add("GO005", "low", file, line,
                "Metrics are exposed with prometheus/client_golang only: they are scraped (the job name is kept in "
                "Alloy) but carry no trace exemplars and no service.name/service.namespace resource.",
                "Either add exemplars with prometheus.ExemplarAdder/ExemplarObserver from the span context, or "
                "export OTel metrics with otlpmetrichttp.New in a sdkmetric.NewPeriodicReader so Mimir gets "
                "exemplars and job=\"<namespace>/<service>\".")
        elif uses_otel and not uses(OTEL_PROM_EXPORTER):
            file, line = evidence(OTEL)
            add("GO005", "medium", file, line, "No metrics are exported (no OTLP metric exporter, no /metrics).",
                "Add a meter provider with otlpmetrichttp.New and record histograms with the request's context; "
                "RED metrics with exemplars then reach Mimir.")
    bridges = uses(LOG_BRIDGES)
    manual_ids = [(p, _line_at(t, m.start())) for p, t in texts.items() for m in [_TRACE_ID_IN_LOGS.search(t)] if m]
    if not bridges and not manual_ids:
        loggers = [(LOGGERS[i], f, l) for i, f, l in imports if i in LOGGERS]
        if loggers:
            name, file, line = loggers[0]
            add("GO006", "high", file, line,
                "Logs are written with %s but carry no trace_id/span_id: Grafana cannot link a log line to its trace."
                % name,
                "Route logs through an OpenTelemetry log bridge (otelslog.NewLogger for slog; otellogrus, otelzap) "
                "with an otlploghttp exporter and log with the request's context (InfoContext(ctx, ...)), or add "
                "trace_id and span_id from trace.SpanContextFromContext(ctx) to every JSON log line (Alloy lifts "
                "them into structured metadata).")
    elif bridges and not uses(OTLP_LOG):
        file, line = evidence(LOG_BRIDGES)
        add("GO007", "medium", file, line, "A log bridge is used but no OTLP log exporter is configured.",
            "Add otlploghttp.New(ctx) to the logger provider (sdklog.NewBatchProcessor).")
    for path, text in sorted(texts.items()):
        for match in _ENDPOINT_OPTION.finditer(text):
            add("GO008", "medium", path, _line_at(text, match.start()),
                "Hard-coded telemetry endpoint %s(%r): it still points at the old stack after the migration."
                % (match.group(1), match.group(2)),
                "Drop the option: otlptracehttp.New(ctx) without options reads OTEL_EXPORTER_OTLP_ENDPOINT, set in "
                "compose by the migration.")
        for match in _ENDPOINT_LITERAL.finditer(text):
            if _ENDPOINT_OPTION.search(text[max(0, match.start() - 40):match.end()]):
                continue
            add("GO008", "medium", path, _line_at(text, match.start()),
                "Hard-coded collector address %r." % match.group(1),
                "Read the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT instead: otlptracehttp.New(ctx) without options "
                "does.")
        resource_hit = _RESOURCE_IN_CODE.search(text)
        if resource_hit and not _FROM_ENV.search(text):
            add("GO009", "medium", path, _line_at(text, resource_hit.start()),
                "service.name is set in code (%r): it overrides OTEL_SERVICE_NAME from compose, so the migrated "
                "identity (service.name, service.namespace, deployment.environment) is not the one the stack expects."
                % (resource_hit.group(1) or resource_hit.group(2)),
                "Set no service.name in code: build the resource with resource.New(ctx, resource.WithFromEnv(), "
                "resource.WithTelemetrySDK()) so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES set the identity.")
    if uses_otel and tracing_sdk and not any(_PROPAGATOR.search(t) for t in texts.values()):
        file, line = evidence(OTEL)
        add("GO010", "medium", file, line,
            "No propagator is registered: trace context is not passed between services, so traces break at "
            "every hop.",
            "otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, "
            "propagation.Baggage{})), and otelhttp.NewHandler / otelhttp.NewTransport on servers and clients.")
    if not uses_otel and not (imported(JAEGER_CLIENT) or imported(OPENTRACING)):
        add("GO011", "medium", go_mod, 1, "The module has no OpenTelemetry instrumentation at all.",
            "Add the OpenTelemetry SDK with OTLP exporters for traces, metrics and logs: a telemetry.Setup like the "
            "guide's.")
    findings.sort(key=lambda f: (SEVERITY_ORDER[f["severity"]], f["code"], f["file"] or "", f["line"] or 0))
    return {"module": module, "go_mod": go_mod, "files_scanned": len(texts), "findings": findings,
            "dependencies": sorted(requires)}


def scan(path):
    if not os.path.isdir(path):
        raise ValueError("%s: not a directory" % path)
    go_mods = find_modules(path)
    module_dirs = frozenset(os.path.dirname(m) for m in go_mods)
    modules, findings = [], []
    for go_mod in go_mods:
        result = scan_module(go_mod, module_dirs - {os.path.dirname(go_mod)})
        findings.extend(result.pop("findings"))
        modules.append(result)
    must_change = [f for f in findings if f["severity"] in ("high", "medium")]
    if not go_mods:
        summary = "No go.mod below %s: there is no Go code to check." % path
    elif not findings:
        summary = "Nothing must change in the Go code: OTLP exporters, trace context in logs and the resource from the environment are in place."
    else:
        summary = "%d finding(s) in %d Go module(s); %d must change before traces, logs and metrics correlate." % (
            len(findings), len(go_mods), len(must_change))
    return {"modules": modules, "findings": findings, "changes_required": bool(must_change), "summary": summary}
