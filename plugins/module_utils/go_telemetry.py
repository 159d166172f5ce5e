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


def _read_sources(module_dir, other_module_dirs):
    """({file: text}, [(import path, file, line)]) of the module's own .go files."""
    texts, imports = {}, []
    for path in _go_files(module_dir, other_module_dirs):
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        texts[path] = text
        imports.extend((imp, path, line) for imp, line in _imports(text))
    return texts, imports


# Legacy tracing libraries: (import or module prefixes, code, severity, message, recommendation).
_LEGACY_TRACING = (
    (JAEGER_EXPORTER, "GO001", "high",
     "Uses go.opentelemetry.io/otel/exporters/jaeger, deprecated upstream and removed from OpenTelemetry Go "
     "since v1.18; Jaeger itself is being removed from the stack.",
     "Replace it with otlptracehttp.New(ctx) and let the exporter read OTEL_EXPORTER_OTLP_ENDPOINT "
     "(http://alloy:4318 in compose, http://127.0.0.1:4318 on the host)."),
    (JAEGER_CLIENT, "GO002", "high",
     "Uses github.com/uber/jaeger-client-go, archived and unmaintained; it speaks only Jaeger protocols.",
     "Move to the OpenTelemetry SDK: sdktrace.NewTracerProvider with an OTLP exporter (otlptracehttp). Until "
     "then Alloy's Jaeger receiver can accept its spans (lgtm_alloy_jaeger_receivers), without log or metric "
     "correlation."),
    (OPENTRACING, "GO003", "medium",
     "Uses the OpenTracing API, archived since 2022.",
     "Instrument with the OpenTelemetry API (otel.Tracer(...).Start(ctx, ...)); "
     "go.opentelemetry.io/otel/bridge/opentracing keeps existing OpenTracing calls working during the move."),
)


class _ModuleScan(object):
    """One Go module: its go.mod requirements, its sources' imports, and the findings the checks add."""

    def __init__(self, go_mod, other_module_dirs):
        self.go_mod = go_mod
        self.module, self.requires = parse_go_mod(go_mod)
        self.texts, self.imports = _read_sources(os.path.dirname(go_mod), other_module_dirs)
        self.findings = []

    def add(self, code, severity, file, line, message, recommendation):
        example, symbol = FIXES[code]
        self.findings.append({"module": self.module, "go_mod": self.go_mod, "code": code, "severity": severity,
                              "file": file, "line": line, "message": message,
                              "recommendation": "%s. Example: %s in %s (%s)." % (
                                  recommendation.rstrip("."), symbol, example, GUIDE),
                              "example": example, "symbol": symbol})

    def imported(self, prefixes):
        prefixes = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
        return [(i, f, l) for i, f, l in self.imports if i.startswith(prefixes)]

    def required(self, prefixes):
        prefixes = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
        return sorted((dep, version, line) for dep, (version, line) in self.requires.items() if dep.startswith(prefixes))

    def evidence(self, prefixes):
        """(file, line) of the first import, else of the go.mod require line."""
        hits = self.imported(prefixes)
        if hits:
            return hits[0][1], hits[0][2]
        reqs = self.required(prefixes)
        return (self.go_mod, reqs[0][2]) if reqs else (None, None)

    def uses(self, prefixes):
        return bool(self.imported(prefixes) or self.required(prefixes))

    def uses_otel(self):
        return self.uses(OTEL)

    def tracing_sdk(self):
        """Whether the module creates a tracer provider (in code, or by requiring the SDK)."""
        return any(_SDK_TRACE.search(t) for t in self.texts.values()) or bool(self.required(OTEL + "/sdk"))

    def check_legacy_tracing(self):
        """GO001-GO003: Jaeger exporter, Jaeger client, OpenTracing."""
        for prefixes, code, severity, message, recommendation in _LEGACY_TRACING:
            if self.uses(prefixes):
                file, line = self.evidence(prefixes)
                self.add(code, severity, file, line, message, recommendation)

    def check_trace_export(self):
        """GO004: a tracer provider without an OTLP trace exporter."""
        if (self.uses_otel() and self.tracing_sdk()) and not self.uses(OTLP_TRACE):
            file, line = self.evidence(OTEL + "/sdk")
            if file is None:
                file, line = self.evidence(OTEL)
            self.add("GO004", "high", file, line,
                     "Creates a tracer provider but exports no traces over OTLP.",
                     "Add go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp and register it with "
                     "sdktrace.WithBatcher.")

    def check_metrics(self):
        """GO005: metrics scraped without exemplars, or not exported at all."""
        if self.uses(OTLP_METRIC):
            return
        if self.uses(PROM_CLIENT):
            file, line = self.evidence(PROM_CLIENT)
            self.add("GO005", "low", file, line,
                     "Metrics are exposed with prometheus/client_golang only: they are scraped (the job name is kept in "
                     "Alloy) but carry no trace exemplars and no service.name/service.namespace resource.",
                     "Either add exemplars with prometheus.ExemplarAdder/ExemplarObserver from the span context, or "
                     "export OTel metrics with otlpmetrichttp.New in a sdkmetric.NewPeriodicReader so Mimir gets "
                     "exemplars and job=\"<namespace>/<service>\".")
        elif self.uses_otel() and not self.uses(OTEL_PROM_EXPORTER):
            file, line = self.evidence(OTEL)
            self.add("GO005", "medium", file, line, "No metrics are exported (no OTLP metric exporter, no /metrics).",
                     "Add a meter provider with otlpmetrichttp.New and record histograms with the request's context; "
                     "RED metrics with exemplars then reach Mimir.")

    def check_logs(self):
        """GO006: logs without trace context; GO007: a log bridge without an OTLP log exporter."""
        bridges = self.uses(LOG_BRIDGES)
        manual_ids = any(_TRACE_ID_IN_LOGS.search(t) for t in self.texts.values())
        if not bridges and not manual_ids:
            loggers = [(LOGGERS[i], f, l) for i, f, l in self.imports if i in LOGGERS]
            if loggers:
                name, file, line = loggers[0]
                self.add("GO006", "high", file, line,
                         "Logs are written with %s but carry no trace_id/span_id: Grafana cannot link a log line to its trace."
                         % name,
                         "Route logs through an OpenTelemetry log bridge (otelslog.NewLogger for slog; otellogrus, otelzap) "
                         "with an otlploghttp exporter and log with the request's context (InfoContext(ctx, ...)), or add "
                         "trace_id and span_id from trace.SpanContextFromContext(ctx) to every JSON log line (Alloy lifts "
                         "them into structured metadata).")
        elif bridges and not self.uses(OTLP_LOG):
            file, line = self.evidence(LOG_BRIDGES)
            self.add("GO007", "medium", file, line, "A log bridge is used but no OTLP log exporter is configured.",
                     "Add otlploghttp.New(ctx) to the logger provider (sdklog.NewBatchProcessor).")

    def check_sources(self):
        """Per file, in path order: GO008 hard-coded endpoints, GO009 service.name set in code."""
        for path, text in sorted(self.texts.items()):
            for match in _ENDPOINT_OPTION.finditer(text):
                self.add("GO008", "medium", path, _line_at(text, match.start()),
                         "Hard-coded telemetry endpoint %s(%r): it still points at the old stack after the migration."
                         % (match.group(1), match.group(2)),
                         "Drop the option: otlptracehttp.New(ctx) without options reads OTEL_EXPORTER_OTLP_ENDPOINT, set in "
                         "compose by the migration.")
            for match in _ENDPOINT_LITERAL.finditer(text):
                if _ENDPOINT_OPTION.search(text[max(0, match.start() - 40):match.end()]):
                    continue
                self.add("GO008", "medium", path, _line_at(text, match.start()),
                         "Hard-coded collector address %r." % match.group(1),
                         "Read the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT instead: otlptracehttp.New(ctx) without options "
                         "does.")
            resource_hit = _RESOURCE_IN_CODE.search(text)
            if resource_hit and not _FROM_ENV.search(text):
                self.add("GO009", "medium", path, _line_at(text, resource_hit.start()),
                         "service.name is set in code (%r): it overrides OTEL_SERVICE_NAME from compose, so the migrated "
                         "identity (service.name, service.namespace, deployment.environment) is not the one the stack expects."
                         % (resource_hit.group(1) or resource_hit.group(2)),
                         "Set no service.name in code: build the resource with resource.New(ctx, resource.WithFromEnv(), "
                         "resource.WithTelemetrySDK()) so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES set the identity.")

    def check_sdk_setup(self):
        """GO010: tracing without a propagator; GO011: no OpenTelemetry (nor legacy tracing) at all."""
        uses_otel = self.uses_otel()
        if uses_otel and self.tracing_sdk() and not any(_PROPAGATOR.search(t) for t in self.texts.values()):
            file, line = self.evidence(OTEL)
            self.add("GO010", "medium", file, line,
                     "No propagator is registered: trace context is not passed between services, so traces break at "
                     "every hop.",
                     "otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, "
                     "propagation.Baggage{})), and otelhttp.NewHandler / otelhttp.NewTransport on servers and clients.")
        if not uses_otel and not (self.imported(JAEGER_CLIENT) or self.imported(OPENTRACING)):
            self.add("GO011", "medium", self.go_mod, 1, "The module has no OpenTelemetry instrumentation at all.",
                     "Add the OpenTelemetry SDK with OTLP exporters for traces, metrics and logs: a telemetry.Setup like the "
                     "guide's.")

    def result(self):
        """The module's entry, findings most severe first."""
        self.findings.sort(key=lambda f: (SEVERITY_ORDER[f["severity"]], f["code"], f["file"] or "", f["line"] or 0))
        return {"module": self.module, "go_mod": self.go_mod, "files_scanned": len(self.texts), "findings": self.findings,
                "dependencies": sorted(self.requires)}


def scan_module(go_mod, other_module_dirs=frozenset()):
    """{module, go_mod, files_scanned, findings (most severe first), dependencies} of one go.mod."""
    module_scan = _ModuleScan(go_mod, other_module_dirs)
    module_scan.check_legacy_tracing()
    module_scan.check_trace_export()
    module_scan.check_metrics()
    module_scan.check_logs()
    module_scan.check_sources()
    module_scan.check_sdk_setup()
    return module_scan.result()


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
