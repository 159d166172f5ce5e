# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the stack's Alloy configuration from role settings, with the collection's writer, and check it.

Signals and their way:
  OTLP (gRPC 4317, HTTP 4318) and, when asked, Jaeger -> memory_limiter -> batch ->
    traces  -> otelcol.exporter.otlp "tempo"
    logs    -> otelcol.exporter.otlphttp "loki" (Loki's native OTLP endpoint)
    metrics -> otelcol.exporter.prometheus -> prometheus.remote_write "mimir" (exemplars, native histograms)
  Docker container logs of the project -> loki.process (trace/span ids lifted from JSON lines into structured
    metadata, never labels) -> loki.write
  prometheus.scrape: the stack itself, Alloy, the exporters, and every carried-over legacy job (job names kept).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils import otelcol_convert, prometheus_convert
from ansible_collections.lgtm.stack.plugins.module_utils.alloy import AlloyError, Attribute, Block, Expr, render, validate_all

REMOTE_WRITE = "prometheus.remote_write.mimir.receiver"
JAEGER_PORTS = {"grpc": 14250, "thrift_http": 14268, "thrift_binary": 6832, "thrift_compact": 6831}
TARGETS = {"traces": "otelcol.exporter.otlp.tempo.input", "metrics": "otelcol.exporter.prometheus.mimir.input",
           "logs": "otelcol.exporter.otlphttp.loki.input"}


def _output(inputs):
    return Block("output", body=[Attribute(signal, [Expr(i) for i in inputs[signal]])
                                 for signal in ("metrics", "logs", "traces") if inputs.get(signal)])


def build(spec):
    """Return (text, info). `spec` keys: see roles/alloy/vars/main.yml (__lgtm_alloy_spec)."""
    blocks = [Block("logging", body={"level": spec.get("log_level", "info"), "format": "logfmt"})]
    pipeline_start = {s: ["otelcol.processor.memory_limiter.default.input"] for s in ("metrics", "logs", "traces")}
    unconverted = []

    # A legacy collector's pipelines replace the default chain behind the receivers.
    collector = spec.get("otelcol")
    collector_text = ""
    if collector:
        converted = otelcol_convert.convert(collector, targets=TARGETS, label_prefix="legacy")
        collector_text = converted["alloy"]
        unconverted += [dict(u, source="otel_collector") for u in converted["unconverted"]]
        pipeline_start = dict((s, converted["otlp_inputs"].get(s) or pipeline_start[s]) for s in pipeline_start)

    blocks.append(Block("otelcol.receiver.otlp", "default", [
        Block("grpc", body={"endpoint": "0.0.0.0:4317"}),
        Block("http", body={"endpoint": "0.0.0.0:4318"}),
        _output(pipeline_start),
    ], comment="Applications send OTLP here: http://%s:4317 (gRPC) or :4318 (HTTP)." % spec.get("service_name", "alloy")))
    jaeger = [p for p in spec.get("jaeger_protocols") or [] if p in JAEGER_PORTS]
    if jaeger:
        blocks.append(Block("otelcol.receiver.jaeger", "default", [
            Block("protocols", body=[Block(p, body={"endpoint": "0.0.0.0:%d" % JAEGER_PORTS[p]}) for p in jaeger]),
            _output({"traces": pipeline_start["traces"]}),
        ], comment="Applications still on Jaeger protocols: their spans carry no log or metric correlation."))
    blocks += [
        Block("otelcol.processor.memory_limiter", "default", [
            Attribute("check_interval", "1s"),
            Attribute("limit_percentage", 80),
            Attribute("spike_limit_percentage", 20),
            _output({s: ["otelcol.processor.batch.default.input"] for s in ("metrics", "logs", "traces")}),
        ]),
        Block("otelcol.processor.batch", "default", [_output(dict((s, [TARGETS[s]]) for s in TARGETS))]),
        Block("otelcol.exporter.otlp", "tempo", [Block("client", body=[
            Attribute("endpoint", spec["tempo_endpoint"]), Block("tls", body={"insecure": True})])]),
        Block("otelcol.exporter.otlphttp", "loki", [Block("client", body={"endpoint": spec["loki_otlp_endpoint"]})],
              comment="Loki's native OTLP endpoint: resource attributes become labels or structured metadata."),
        Block("otelcol.exporter.prometheus", "mimir", body={"forward_to": [Expr(REMOTE_WRITE)]},
              comment="job = <service.namespace>/<service.name>, instance = service.instance.id."),
        Block("prometheus.remote_write", "mimir", [Block("endpoint", body={
            "url": spec["mimir_push_url"], "send_exemplars": True, "send_native_histograms": True})]),
    ]

    if spec.get("docker_logs", True):
        blocks += _docker_logs(spec)

    scrape_jobs = list(spec.get("scrape_jobs") or [])
    blocks.append(Block("prometheus.exporter.self", "alloy"))
    blocks.append(Block("prometheus.scrape", "alloy", body={
        "targets": Expr("prometheus.exporter.self.alloy.targets"), "forward_to": [Expr(REMOTE_WRITE)],
        "job_name": "alloy", "scrape_interval": spec.get("scrape_interval", "15s")}))
    if spec.get("host_metrics"):
        blocks.append(Block("prometheus.exporter.unix", "host", body={
            "procfs_path": "/host/proc", "sysfs_path": "/host/sys", "rootfs_path": "/host/root"}))
        blocks.append(Block("prometheus.scrape", "host", body={
            "targets": Expr("prometheus.exporter.unix.host.targets"), "forward_to": [Expr(REMOTE_WRITE)],
            "job_name": "integrations/unix", "scrape_interval": spec.get("scrape_interval", "15s")}))
    for job in spec.get("self_scrape") or []:
        scrape_jobs.append({"job_name": job["job_name"], "metrics_path": job.get("metrics_path", "/metrics"),
                            "scrape_interval": spec.get("scrape_interval", "15s"),
                            "static_configs": [{"targets": [job["target"]]}]})
    prom = prometheus_convert.convert({"global": {"scrape_interval": spec.get("scrape_interval", "15s")},
                                       "scrape_configs": scrape_jobs}, forward_to=REMOTE_WRITE)
    unconverted += [dict(u, source="prometheus") for u in prom["unconverted"]]

    text = render(blocks, header=spec.get("header"))
    for part in (prom["alloy"], collector_text, spec.get("extra_config") or ""):
        if part.strip():
            text += "\n" + part.rstrip("\n") + "\n"
    errors = validate_all(text, spec.get("source", "config.alloy"))
    if errors:
        raise AlloyError("the generated Alloy configuration does not check: " + "; ".join(errors))
    return text, {"unconverted": unconverted, "env_vars": prom["env_vars"], "mounts": prom["mounts"],
                  "jobs": [j["job_name"] for j in prom["jobs"]]}


def _docker_logs(spec):
    """Container logs of this compose project, labelled like the OTLP path, trace ids as metadata."""
    rules = [
        Block("rule", body={"source_labels": ["__meta_docker_container_label_com_docker_compose_service"],
                            "target_label": "service_name"}),
        Block("rule", body={"source_labels": ["__meta_docker_container_log_stream"], "target_label": "stream"}),
    ]
    static_labels = {"service_namespace": spec["service_namespace"],
                     "deployment_environment": spec["environment"],
                     "deployment_environment_name": spec["environment"]}
    for service in spec.get("docker_logs_exclude") or []:
        rules.append(Block("rule", body={"source_labels": ["__meta_docker_container_label_com_docker_compose_service"],
                                         "regex": service, "action": "drop"}))
    filters = [Block("filter", body={"name": "label",
                                     "values": ["com.docker.compose.project=%s" % spec["compose_project"]]})]
    # JMESPath alternatives cover the usual spellings of the ids in JSON log lines.
    ids = {"trace_id": "trace_id || traceID || traceId || \"trace.id\"",
           "span_id": "span_id || spanID || spanId || \"span.id\""}
    return [
        Block("discovery.docker", "containers", [Attribute("host", "unix:///var/run/docker.sock")] + filters),
        Block("discovery.relabel", "containers", [Attribute("targets", [])] + rules,
              comment="Rules only: loki.source.docker applies them to the discovered containers."),
        Block("loki.source.docker", "containers", body={
            "host": "unix:///var/run/docker.sock",
            "targets": Expr("discovery.docker.containers.targets"),
            "labels": static_labels,
            "relabel_rules": Expr("discovery.relabel.containers.rules"),
            "forward_to": [Expr("loki.process.containers.receiver")]}),
        Block("loki.process", "containers", [
            Block("stage.json", body={"expressions": ids}),
            Block("stage.structured_metadata", body={"values": {"trace_id": "trace_id", "span_id": "span_id"}}),
            Attribute("forward_to", [Expr("loki.write.loki.receiver")]),
        ], comment="Trace and span ids from JSON lines go to structured metadata, never to labels."),
        Block("loki.write", "loki", [Block("endpoint", body={"url": spec["loki_push_url"]})]),
    ]
