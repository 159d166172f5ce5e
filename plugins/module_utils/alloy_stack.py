# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the stack's Alloy configuration from role settings, with the collection's writer, and check it.

Signals and their way:
  OTLP (gRPC 4317, HTTP 4318) and, when asked, Jaeger -> memory_limiter -> batch ->
    traces  -> otelcol.exporter.otlp "tempo"
    logs    -> otelcol.exporter.otlphttp "loki" (Loki's native OTLP endpoint)
    metrics -> otelcol.exporter.prometheus -> prometheus.remote_write "mimir" (exemplars, native histograms)
  Docker container logs of the project (minus excluded services) -> loki.process (trace/span ids lifted from JSON
    lines into structured metadata, never labels) -> loki.write, labelled with DOCKER_LOG_LABELS
  prometheus.scrape: the stack itself, Alloy, the exporters, and every carried-over legacy job (job names kept).
With remote backends (spec["remote"], alloy_remote.py) the same pipeline ends at the remote Tempo, Loki and Mimir,
with their tenant, auth (secrets from mounted files) and TLS.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils import alloy_remote, otelcol_convert, prometheus_convert
from ansible_collections.lgtm.stack.plugins.module_utils.alloy import AlloyError, Attribute, Block, Expr, render, validate_all

REMOTE_WRITE = "prometheus.remote_write.mimir.receiver"
JAEGER_PORTS = otelcol_convert.JAEGER_PORTS
# Files carried scrape jobs read are mounted read-only at FILES_ROOT + <path in the old Prometheus container>
# (roles/alloy/vars/main.yml mounts lgtm_alloy_scrape_files the same way).
FILES_ROOT = "/etc/alloy/files"
COMPOSE_SERVICE = "__meta_docker_container_label_com_docker_compose_service"

# The identity labels both log paths write. Loki's native OTLP endpoint turns the resource attributes
# service.name, service.namespace and deployment.environment(.name) into service_name, service_namespace and
# deployment_environment_name (stack-facts.md, "Loki 3.x"); the docker path writes exactly these from the compose
# service (or the app's identity from service_identities) and the project's namespace and environment.
IDENTITY_LABELS = ("service_name", "service_namespace", "deployment_environment_name")
# Every label a container log stream carries: the identity labels plus `stream` (stdout/stderr). Nothing else
# (no container id or name: they would only add cardinality). Dashboards' LogQL selectors may use only these.
DOCKER_LOG_LABELS = IDENTITY_LABELS + ("stream",)
TARGETS = {"traces": "otelcol.exporter.otlp.tempo.input", "metrics": "otelcol.exporter.prometheus.mimir.input",
           "logs": "otelcol.exporter.otlphttp.loki.input"}


def targets(spec):
    """The exporter input of each signal (remote traces over OTLP/HTTP use otelcol.exporter.otlphttp)."""
    remote = spec.get("remote") or {}
    if (remote.get("traces") or {}).get("protocol") == "http":
        return dict(TARGETS, traces="otelcol.exporter.otlphttp.tempo.input")
    return dict(TARGETS)


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
        converted = otelcol_convert.convert(collector, targets=targets(spec), label_prefix="legacy")
        collector_text = converted["alloy"]
        unconverted += [dict(u, source="otel_collector") for u in converted["unconverted"]]
        pipeline_start = dict((s, converted["otlp_inputs"].get(s) or pipeline_start[s]) for s in pipeline_start)

    blocks.append(Block("otelcol.receiver.otlp", "default", [
        Block("grpc", body={"endpoint": "0.0.0.0:4317"}),
        Block("http", body={"endpoint": "0.0.0.0:4318"}),
        _output(pipeline_start),
    ], comment="Applications send OTLP here: http://%s:4317 (gRPC) or :4318 (HTTP)." % spec.get("service_name", "alloy")))
    jaeger = [p for p in spec.get("jaeger_protocols") or [] if p in JAEGER_PORTS]
    if collector:
        # One port, one receiver: a protocol the legacy collector's Jaeger receiver already listens on (on its
        # pipeline) is not declared again by the default receiver.
        taken = set(port for r in converted["jaeger_receivers"] for port in r["ports"].values())
        jaeger = [p for p in jaeger if JAEGER_PORTS[p] not in taken]
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
        Block("otelcol.processor.batch", "default", [_output(dict((s, [t]) for s, t in targets(spec).items()))]),
    ] + _exporters(spec)

    if spec.get("docker_logs", True):
        blocks += _docker_logs(spec)

    scrape_jobs = list(spec.get("scrape_jobs") or [])
    interval = prometheus_convert._go_duration(spec.get("scrape_interval") or "15s")
    blocks.append(Block("prometheus.exporter.self", "alloy"))
    blocks.append(Block("prometheus.scrape", "alloy", body=_own_scrape(
        "prometheus.exporter.self.alloy.targets", "alloy", interval)))
    if spec.get("host_metrics"):
        blocks.append(Block("prometheus.exporter.unix", "host", body={
            "procfs_path": "/host/proc", "sysfs_path": "/host/sys", "rootfs_path": "/host/root"}))
        blocks.append(Block("prometheus.scrape", "host", body=_own_scrape(
            "prometheus.exporter.unix.host.targets", "integrations/unix", interval)))
    for job in spec.get("self_scrape") or []:
        scrape_jobs.append({"job_name": job["job_name"], "metrics_path": job.get("metrics_path", "/metrics"),
                            "scrape_interval": interval,
                            "static_configs": [{"targets": [job["target"]]}]})
    prom = prometheus_convert.convert({"global": {"scrape_interval": interval}, "scrape_configs": scrape_jobs},
                                      forward_to=REMOTE_WRITE, file_map=file_map(spec.get("scrape_files")))
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


def _exporters(spec):
    """Where the batched signals leave Alloy: the stack's Tempo, Loki and Mimir, or the remote ones."""
    blocks = alloy_remote.exporters(spec["remote"]) if spec.get("remote") else [
        Block("otelcol.exporter.otlp", "tempo", [Block("client", body=[
            Attribute("endpoint", spec["tempo_endpoint"]), Block("tls", body={"insecure": True})])]),
        Block("otelcol.exporter.otlphttp", "loki", [Block("client", body={"endpoint": spec["loki_otlp_endpoint"]})],
              comment="Loki's native OTLP endpoint: resource attributes become labels or structured metadata."),
    ]
    return blocks + [
        Block("otelcol.exporter.prometheus", "mimir", body={"forward_to": [Expr(REMOTE_WRITE)]},
              comment="job = <service.namespace>/<service.name>, instance = service.instance.id."),
        Block("prometheus.remote_write", "mimir", _remote_write_body(spec),
              comment="external_labels: the legacy Prometheus' global.external_labels, on every series sent."
              if spec.get("external_labels") else None),
    ]


def file_map(scrape_files):
    """{path in the old Prometheus container: path in Alloy} for lgtm_alloy_scrape_files entries."""
    mapping = {}
    for item in scrape_files or []:
        container_path = str(item.get("container_path") or "")
        if not container_path.startswith("/") or not item.get("host_path"):
            raise ValueError("scrape_files entries need host_path and an absolute container_path: %r" % (item,))
        mapping[container_path] = FILES_ROOT + container_path.rstrip("/")
    return mapping


def _own_scrape(targets, job_name, interval):
    body = {"targets": Expr(targets), "forward_to": [Expr(REMOTE_WRITE)], "job_name": job_name,
            "scrape_interval": interval}
    seconds = prometheus_convert._seconds(interval)
    if seconds is not None and seconds < prometheus_convert.ALLOY_DEFAULT_TIMEOUT:
        body["scrape_timeout"] = interval  # Alloy's 10s default timeout may not exceed the interval
    return body


def _remote_write_body(spec):
    body = []
    labels = spec.get("external_labels") or {}
    if labels:
        body.append(Attribute("external_labels", dict((str(k), str(v)) for k, v in labels.items())))
    endpoint = {"url": spec["mimir_push_url"], "send_exemplars": True, "send_native_histograms": True}
    if spec.get("remote"):
        metrics = spec["remote"]["metrics"]
        endpoint["url"] = metrics["push_url"]
        body.append(Block("endpoint", body=[Attribute(k, v) for k, v in endpoint.items()]
                          + alloy_remote.http_client(metrics, "X-Scope-OrgID")))
    else:
        body.append(Block("endpoint", body=endpoint))
    return body


def _regex_literal(text):
    """A literal for an RE2 regex (relabel regexes are anchored by Alloy)."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in str(text))


def _identity_rules(spec):
    """Relabel rules giving each app's container logs its OTLP identity (service_identities), applied after the
    compose service name and the project's static labels."""
    rules = []
    for service, identity in sorted((spec.get("service_identities") or {}).items()):
        if not isinstance(identity, dict) or not identity.get("service_name"):
            raise ValueError("service_identities.%s needs a service_name" % service)
        values = (("service_name", identity["service_name"]),
                  ("service_namespace", identity.get("service_namespace") or spec["service_namespace"]),
                  ("deployment_environment_name", identity.get("environment") or spec["environment"]))
        for label, value in values:
            rules.append(Block("rule", body={"source_labels": [COMPOSE_SERVICE], "regex": _regex_literal(service),
                                             "target_label": label,
                                             "replacement": str(value).replace("$", "$$")}))
    return rules


def _docker_logs(spec):
    """Container logs of this compose project, labelled like the OTLP path (DOCKER_LOG_LABELS), trace ids as metadata.

    Excluded services are dropped from the targets before loki.source.docker sees them: its `relabel_rules` only
    compute each stream's labels and a `drop` there does not stop the lines (grafana/alloy v1.18.1,
    internal/component/loki/source/docker/internal/dockertarget/target.go, getStreamLabels ignores relabel.Process's
    keep result), whereas discovery.relabel's `output` leaves out every target a rule drops
    (internal/component/discovery/relabel/relabel.go) and keeps the __meta_docker_* labels the source needs.
    """
    rules = [
        Block("rule", body={"source_labels": [COMPOSE_SERVICE], "target_label": "service_name"}),
        Block("rule", body={"source_labels": ["__meta_docker_container_log_stream"], "target_label": "stream"}),
    ] + _identity_rules(spec)
    # loki.source.docker merges `labels` into each target's labels before the relabel rules run, so the identity
    # rules above override these for the apps listed in service_identities.
    static_labels = {"service_namespace": spec["service_namespace"],
                     "deployment_environment_name": spec["environment"]}
    filters = [Block("filter", body={"name": "label",
                                     "values": ["com.docker.compose.project=%s" % spec["compose_project"]]})]
    # JMESPath alternatives cover the usual spellings of the ids in JSON log lines.
    ids = {"trace_id": "trace_id || traceID || traceId || \"trace.id\"",
           "span_id": "span_id || spanID || spanId || \"span.id\""}
    blocks = [Block("discovery.docker", "containers", [Attribute("host", "unix:///var/run/docker.sock")] + filters)]
    targets = Expr("discovery.docker.containers.targets")
    exclude = sorted(set(str(s) for s in spec.get("docker_logs_exclude") or []))
    if exclude:
        blocks.append(Block("discovery.relabel", "containers_kept", [
            Attribute("targets", targets),
            Block("rule", body={"source_labels": [COMPOSE_SERVICE],
                                "regex": "|".join(_regex_literal(s) for s in exclude), "action": "drop"}),
        ], comment="Excluded services: their containers are not read at all."))
        targets = Expr("discovery.relabel.containers_kept.output")
    return blocks + [
        Block("discovery.relabel", "containers", [Attribute("targets", [])] + rules,
              comment="Rules only: loki.source.docker applies them to each stream. Labels written: %s."
                      % ", ".join(DOCKER_LOG_LABELS)),
        Block("loki.source.docker", "containers", body={
            "host": "unix:///var/run/docker.sock",
            "targets": targets,
            "labels": static_labels,
            "relabel_rules": Expr("discovery.relabel.containers.rules"),
            "forward_to": [Expr("loki.process.containers.receiver")]}),
        Block("loki.process", "containers", [
            Block("stage.json", body={"expressions": ids}),
            Block("stage.structured_metadata", body={"values": {"trace_id": "trace_id", "span_id": "span_id"}}),
            Attribute("forward_to", [Expr("loki.write.loki.receiver")]),
        ], comment="Trace and span ids from JSON lines go to structured metadata, never to labels."),
        Block("loki.write", "loki", [Block("endpoint", body=[Attribute("url", spec["remote"]["logs"]["push_url"])]
                                           + alloy_remote.http_client(spec["remote"]["logs"], "tenant_id"))]
              if spec.get("remote") else [Block("endpoint", body={"url": spec["loki_push_url"]})]),
    ]
