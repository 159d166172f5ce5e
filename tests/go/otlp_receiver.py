"""A small OTLP/HTTP receiver for tests: decodes the real protobuf requests (opentelemetry-proto) that an SDK
posts to /v1/traces, /v1/metrics and /v1/logs, and keeps them for assertions."""

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

SIGNALS = {
    "/v1/traces": ("traces", trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    "/v1/metrics": ("metrics", metrics_service_pb2.ExportMetricsServiceRequest,
                    metrics_service_pb2.ExportMetricsServiceResponse),
    "/v1/logs": ("logs", logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
}


def any_value(value):
    """The Python value of an OTLP AnyValue (scalars only; arrays and maps as their repr)."""
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def attributes(key_values):
    return {kv.key: any_value(kv.value) for kv in key_values}


class Receiver:
    """Start with `with Receiver() as rx:`; rx.endpoint is the OTEL_EXPORTER_OTLP_ENDPOINT to give the SDK."""

    def __init__(self, host="127.0.0.1"):
        self.requests = {"traces": [], "metrics": [], "logs": []}
        self.errors = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                signal = SIGNALS.get(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if signal is None or self.headers.get("Content-Type") != "application/x-protobuf":
                    receiver.errors.append("%s %s" % (self.path, self.headers.get("Content-Type")))
                    self.send_response(404 if signal is None else 415)
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                name, request_type, response_type = signal
                message = request_type()
                message.ParseFromString(body)
                with receiver._lock:
                    receiver.requests[name].append(message)
                reply = response_type().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self.endpoint = "http://%s:%d" % (host, self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ flattened views

    def resources(self, signal):
        """Resource attribute dicts of every resource batch received for a signal."""
        field = {"traces": "resource_spans", "metrics": "resource_metrics", "logs": "resource_logs"}[signal]
        return [attributes(batch.resource.attributes) for req in self.requests[signal] for batch in getattr(req, field)]

    def spans(self):
        return [span for req in self.requests["traces"] for rs in req.resource_spans for ss in rs.scope_spans
                for span in ss.spans]

    def metrics(self, name):
        return [m for req in self.requests["metrics"] for rm in req.resource_metrics for sm in rm.scope_metrics
                for m in sm.metrics if m.name == name]

    def log_records(self):
        return [rec for req in self.requests["logs"] for rl in req.resource_logs for sl in rl.scope_logs
                for rec in sl.log_records]
