# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Convert an OpenTelemetry Collector configuration's pipelines to Alloy `otelcol.*` components.

The legacy collector is replaced by Alloy, so its pipelines are rebuilt with
the same order of processors and wired to the new backends (traces to Tempo,
logs to Loki, metrics to Mimir) instead of the old exporters. OTLP receivers
are not re-declared: Alloy's own OTLP receiver (owned by the alloy role) feeds
the returned `otlp_inputs`. Whatever has no faithful equivalent is returned
in `unconverted` with the reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.alloy import Attribute, Block, Expr, Raw, render, sanitize_label

SIGNALS = ("traces", "metrics", "logs")
DEFAULT_TARGETS = {
    "traces": "otelcol.exporter.otlp.tempo.input",
    "metrics": "otelcol.exporter.prometheus.mimir.input",
    "logs": "otelcol.exporter.otlphttp.loki.input",
}
_LOKI_HINTS = ("loki.attribute.labels", "loki.resource.labels", "loki.format", "loki.tenant")
_ATTR_ACTION_KEYS = ("key", "value", "pattern", "from_attribute", "from_context", "converted_type", "action")
_TRANSFORM_BLOCKS = {"trace_statements": "trace_statements", "metric_statements": "metric_statements",
                     "log_statements": "log_statements"}
_FLAT_KEYS = {"trace_statements": "trace", "metric_statements": "metric", "log_statements": "log"}
COLLECTOR_BATCH_SIZE = 8192
# otelcol.receiver.jaeger's default endpoints (alloy-v1.18.1-components.json): 0.0.0.0:<port>.
JAEGER_PORTS = {"grpc": 14250, "thrift_http": 14268, "thrift_binary": 6832, "thrift_compact": 6831}


def endpoint_port(endpoint, default):
    """The port of a "host:port" endpoint, or `default` when none is given."""
    if not endpoint:
        return default
    tail = str(endpoint).rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else default


def _signal(pipeline_name):
    base = pipeline_name.split("/", 1)[0]
    return base if base in SIGNALS else None


def _kind(name):
    return name.split("/", 1)[0]


def _ottl_string(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def _number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _batch(name, cfg, unconverted):
    """The collector's batch defaults are 8192 / no maximum (0); Alloy's are 2000 / 3000 and Validate() refuses
    send_batch_max_size below send_batch_size unless it is 0 (alloy-v1.18.1-components.json,
    otelcol.processor.batch). Like `alloy convert`, the collector's effective values are written out."""
    body = []
    if "timeout" in cfg:
        body.append(Attribute("timeout", str(cfg["timeout"])))
    size = _number(cfg.get("send_batch_size", COLLECTOR_BATCH_SIZE))
    maximum = _number(cfg.get("send_batch_max_size", 0))
    if size is None or size < 0:
        unconverted.append({"component": name, "key": "send_batch_size",
                            "reason": "%r is not a batch size; the collector's default %d is used"
                                      % (cfg.get("send_batch_size"), COLLECTOR_BATCH_SIZE)})
        size = COLLECTOR_BATCH_SIZE
    if maximum is None or maximum < 0 or (maximum and maximum < size):
        unconverted.append({"component": name, "key": "send_batch_max_size",
                            "reason": "%r is below send_batch_size %d (the collector refuses it too); no maximum "
                                      "(0) is written" % (cfg.get("send_batch_max_size"), size)})
        maximum = 0
    body.append(Attribute("send_batch_size", size))
    body.append(Attribute("send_batch_max_size", maximum))
    for extra in sorted(set(cfg) - {"timeout", "send_batch_size", "send_batch_max_size"}):
        unconverted.append({"component": name, "key": extra, "reason": "batch option not converted"})
    return body


def _memory_limiter(name, cfg, unconverted):
    """Alloy's Validate(): check_interval > 0; exactly one of limit / limit_percentage; with a percentage,
    spike_limit_percentage in (0, 100] with no automatic default (the collector accepts 0 there);
    alloy-v1.18.1-components.json, otelcol.processor.memory_limiter."""
    body = []
    check = cfg.get("check_interval")
    if not check or str(check).strip() in ("0", "0s"):
        unconverted.append({"component": name, "key": "check_interval",
                            "reason": "missing or zero (the collector refuses it too); 1s is written"})
        check = "1s"
    body.append(Attribute("check_interval", str(check)))
    mib = _number(cfg.get("limit_mib"))
    percent = _number(cfg.get("limit_percentage"))
    if mib and percent:
        unconverted.append({"component": name, "key": "limit_percentage",
                            "reason": "both limit_mib and limit_percentage are set; Alloy takes one: limit_mib "
                                      "is kept"})
        percent = None
    if mib:
        body.append(Attribute("limit", "%dMiB" % mib))
        spike = _number(cfg.get("spike_limit_mib"))
        if spike and spike < mib:
            body.append(Attribute("spike_limit", "%dMiB" % spike))
        elif spike:
            unconverted.append({"component": name, "key": "spike_limit_mib",
                                "reason": "%d is not below limit_mib %d; Alloy's default (a fifth of the limit) "
                                          "is used" % (spike, mib)})
    elif percent and 0 < percent <= 100:
        spike = _number(cfg.get("spike_limit_percentage"))
        if not spike or not 0 < spike < percent:
            substitute = max(1, percent // 5)
            unconverted.append({"component": name, "key": "spike_limit_percentage",
                                "reason": "%r has no Alloy form (Alloy needs a spike percentage in (0, 100] below "
                                          "the limit); %d (a fifth of limit_percentage, Alloy's rule for limit) "
                                          "is written" % (cfg.get("spike_limit_percentage"), substitute)})
            spike = substitute
        body.append(Attribute("limit_percentage", percent))
        body.append(Attribute("spike_limit_percentage", spike))
    else:
        unconverted.append({"component": name, "key": "limit_mib",
                            "reason": "no usable limit_mib or limit_percentage (the collector refuses it too); "
                                      "limit_percentage 80 with spike 20 is written"})
        body.append(Attribute("limit_percentage", 80))
        body.append(Attribute("spike_limit_percentage", 20))
    return body


def _transform(name, cfg, unconverted):
    """Groups with a `context` become <signal>_statements blocks; statements without one (the collector's flat
    lists, or a group with no context) go to Alloy's `statements` block, whose lists take context-inferred
    statements (alloy-v1.18.1-components.json, otelcol.processor.transform: the blocks require `context`)."""
    body = []
    if cfg.get("error_mode"):
        body.append(Attribute("error_mode", str(cfg["error_mode"])))
    flat = dict((k, []) for k in _TRANSFORM_BLOCKS)
    for key, block_name in _TRANSFORM_BLOCKS.items():
        groups = cfg.get(key) or []
        for index, group in enumerate(groups):
            if isinstance(group, str):
                flat[key].append(group)
                continue
            if not isinstance(group, dict):
                unconverted.append({"component": name, "key": "%s[%d]" % (key, index), "reason": "not a mapping"})
                continue
            statements = [str(s) for s in group.get("statements") or []]
            if not group.get("context"):
                if group.get("conditions") or group.get("error_mode"):
                    unconverted.append({"component": name, "key": "%s[%d]" % (key, index),
                                        "reason": "a group without context cannot keep its conditions or "
                                                  "error_mode in Alloy's context-inferred statements block; give "
                                                  "it a context"})
                    continue
                flat[key].extend(statements)
                continue
            inner = [Attribute("context", str(group["context"]))]
            inner.append(Attribute("statements", [Raw(s) for s in statements]))
            if group.get("conditions"):
                inner.append(Attribute("conditions", [Raw(str(c)) for c in group["conditions"]]))
            if group.get("error_mode"):
                inner.append(Attribute("error_mode", str(group["error_mode"])))
            body.append(Block(block_name, body=inner))
    lists = [Attribute(_FLAT_KEYS[key], [Raw(s) for s in flat[key]]) for key in _TRANSFORM_BLOCKS if flat[key]]
    if lists:
        body.append(Block("statements", body=lists))
    return body


def _processor_block(name, cfg, unconverted, notes):
    """(block_name, body) for one processor, or None when it cannot be converted."""
    kind = _kind(name)
    cfg = cfg or {}
    if kind == "batch":
        return "otelcol.processor.batch", _batch(name, cfg, unconverted)
    if kind == "memory_limiter":
        return "otelcol.processor.memory_limiter", _memory_limiter(name, cfg, unconverted)
    if kind == "attributes":
        body = []
        for index, action in enumerate(cfg.get("actions") or []):
            if action.get("key") in _LOKI_HINTS:
                notes.append({"component": name, "key": action.get("key"),
                              "reason": "Loki's native OTLP endpoint ignores %s hints: service.name, service.namespace "
                                        "and deployment.environment become labels, other attributes structured "
                                        "metadata" % action.get("key")})
                continue
            inner = [Attribute(k, str(action[k])) for k in _ATTR_ACTION_KEYS if k in action]
            for extra in sorted(set(action) - set(_ATTR_ACTION_KEYS)):
                unconverted.append({"component": name, "key": "actions[%d].%s" % (index, extra),
                                    "reason": "attribute action option not converted"})
            body.append(Block("action", body=inner))
        for extra in sorted(set(cfg) - {"actions"}):
            unconverted.append({"component": name, "key": extra, "reason": "include/exclude filters not converted"})
        if not body:
            return None
        return "otelcol.processor.attributes", body
    if kind == "resource":
        # Alloy has no resource processor: the same actions as OTTL on the resource context.
        statements = []
        for action in cfg.get("attributes") or []:
            key, verb = _ottl_string(action.get("key")), action.get("action")
            target = "attributes[%s]" % key
            if action.get("from_attribute"):
                value = "attributes[%s]" % _ottl_string(action["from_attribute"])
            else:
                value = _ottl_string(action.get("value"))
            if verb in ("upsert",):
                statements.append("set(%s, %s)" % (target, value))
            elif verb == "insert":
                statements.append("set(%s, %s) where %s == nil" % (target, value, target))
            elif verb == "update":
                statements.append("set(%s, %s) where %s != nil" % (target, value, target))
            elif verb == "delete":
                statements.append("delete_key(attributes, %s)" % key)
            else:
                unconverted.append({"component": name, "key": action.get("key"),
                                    "reason": "resource action %r not converted" % verb})
        if not statements:
            return None
        body = [Attribute("error_mode", "ignore")]
        for block in ("trace_statements", "metric_statements", "log_statements"):
            body.append(Block(block, body=[Attribute("context", "resource"),
                                           Attribute("statements", [Raw(s) for s in statements])]))
        return "otelcol.processor.transform", body
    if kind == "transform":
        return "otelcol.processor.transform", _transform(name, cfg, unconverted)
    if kind == "filter":
        unconverted.append({"component": name, "key": None,
                            "reason": "filter processor not converted automatically; rewrite it as "
                                      "otelcol.processor.filter (OTTL conditions)"})
        return None
    unconverted.append({"component": name, "key": None, "reason": "processor %r has no conversion" % kind})
    return None


def _add_output(outputs, key, signal, expr):
    bucket = outputs.setdefault(key, {}).setdefault(signal, [])
    if expr not in bucket:
        bucket.append(expr)


def _exporter_sinks(pname, pipe, signal, targets, unconverted, dropped):
    """The new backend each of the pipeline's exporters is replaced by (diagnostic exporters are dropped)."""
    sinks = []
    for exp in pipe.get("exporters") or []:
        kind = _kind(exp)
        if kind in ("debug", "logging", "file"):
            dropped.append({"exporter": exp, "pipeline": pname, "reason": "diagnostic output, not carried over"})
            continue
        if kind in ("otlp", "otlphttp", "jaeger", "loki", "prometheus", "prometheusremotewrite", "zipkin"):
            dropped.append({"exporter": exp, "pipeline": pname,
                            "reason": "replaced by the new %s backend (%s)" % (signal, targets[signal])})
            sinks.append(targets[signal])
            continue
        unconverted.append({"component": exp, "key": None,
                            "reason": "exporter %r has no counterpart in the new stack; %s now go to %s"
                                      % (kind, signal, targets[signal])})
        sinks.append(targets[signal])
    return sinks


def _processor_chain(pname, pipe, signal, sinks, processors, label_prefix, blocks, outputs, unconverted, notes):
    """Declare the pipeline's processors, each wired to its successor; returns the hops its receivers feed."""
    # Walk processors backwards so each knows its successor.
    next_hops = sorted(set(sinks))
    for proc in reversed(pipe.get("processors") or []):
        converted = _processor_block(proc, processors.get(proc), unconverted, notes)
        if converted is None:
            continue
        block_name, body = converted
        label = sanitize_label("%s_%s" % (label_prefix, proc.replace("/", "_")))
        key = (block_name, label)
        # Two pipelines of the same signal using one processor with different successors need two instances.
        if key in outputs and outputs[key].get(signal) and outputs[key][signal] != next_hops:
            label = sanitize_label("%s_%s_%s" % (label_prefix, proc.replace("/", "_"), pname.replace("/", "_")))
            key = (block_name, label)
        if key not in blocks:
            blocks[key] = Block(block_name, label, body)
        for hop in next_hops:
            _add_output(outputs, key, signal, hop)
        next_hops = ["%s.%s.input" % key]
    return next_hops


def _jaeger_receiver(recv, rcfg, label, unconverted):
    """(Block, info) for a Jaeger receiver, or None when it enables no protocol."""
    protos, ports = [], {}
    protocols = rcfg.get("protocols") or {}
    for proto in JAEGER_PORTS:
        if proto in protocols:
            pcfg = protocols[proto] or {}
            endpoint = pcfg.get("endpoint")
            protos.append(Block(proto, body=[Attribute("endpoint", endpoint)] if endpoint else []))
            ports[proto] = endpoint_port(endpoint, JAEGER_PORTS[proto])
            for extra in sorted(set(pcfg) - {"endpoint"}):
                unconverted.append({"component": recv, "key": "protocols.%s.%s" % (proto, extra),
                                    "reason": "Jaeger receiver option not converted"})
    for extra in sorted(set(protocols) - set(JAEGER_PORTS)):
        unconverted.append({"component": recv, "key": "protocols.%s" % extra,
                            "reason": "unknown Jaeger protocol"})
    if not protos:
        unconverted.append({"component": recv, "key": "protocols",
                            "reason": "no Jaeger protocol enabled; the receiver is not converted"})
        return None
    block = Block("otelcol.receiver.jaeger", label, [Block("protocols", body=protos)])
    return block, {"label": label, "protocols": [p.name for p in protos], "ports": ports}


def _wire_receivers(pipe, signal, next_hops, receivers, label_prefix, blocks, outputs, otlp_inputs, otlp_endpoints,
                    jaeger_receivers, unconverted):
    """Feed the pipeline's receivers into `next_hops`: OTLP through the returned `otlp_inputs`, Jaeger and Zipkin as
    otelcol.receiver.* components; the others are reported."""
    for recv in pipe.get("receivers") or []:
        kind = _kind(recv)
        rcfg = receivers.get(recv) or {}
        if kind == "otlp":
            for hop in next_hops:
                if hop not in otlp_inputs[signal]:
                    otlp_inputs[signal].append(hop)
            for proto, pcfg in ((rcfg.get("protocols") or {}).items()):
                otlp_endpoints[proto] = (pcfg or {}).get("endpoint")
        elif kind == "jaeger":
            label = sanitize_label("%s_%s" % (label_prefix, recv.replace("/", "_")))
            key = ("otelcol.receiver.jaeger", label)
            if key not in blocks:
                converted = _jaeger_receiver(recv, rcfg, label, unconverted)
                if converted is None:
                    continue
                blocks[key], info = converted
                jaeger_receivers.append(info)
            for hop in next_hops:
                _add_output(outputs, key, signal, hop)
        elif kind == "zipkin":
            label = sanitize_label("%s_%s" % (label_prefix, recv.replace("/", "_")))
            key = ("otelcol.receiver.zipkin", label)
            if key not in blocks:
                body = [Attribute("endpoint", rcfg["endpoint"])] if rcfg.get("endpoint") else []
                blocks[key] = Block("otelcol.receiver.zipkin", label, body)
            for hop in next_hops:
                _add_output(outputs, key, signal, hop)
        elif kind == "hostmetrics":
            unconverted.append({"component": recv, "key": None,
                                "reason": "host metrics come from Alloy's prometheus.exporter.unix "
                                          "(lgtm_alloy_host_metrics) instead of the hostmetrics receiver"})
        elif kind == "prometheus":
            unconverted.append({"component": recv, "key": None,
                                "reason": "convert its scrape_configs with the prometheus_to_alloy filter"})
        else:
            unconverted.append({"component": recv, "key": None, "reason": "receiver %r has no conversion" % kind})


def _render(blocks, outputs, header):
    """The Alloy text: each block with its output, receivers first."""
    ordered = []
    for key, block in blocks.items():
        if key in outputs:
            block.add(Block("output", body=[Attribute(s, [Expr(e) for e in outputs[key][s]])
                                            for s in SIGNALS if s in outputs[key]]))
        ordered.append(block)
    # Receivers first, then processors in pipeline order (they were created walking backwards).
    receivers_out = [b for b in ordered if b.name.startswith("otelcol.receiver.")]
    ordered = receivers_out + list(reversed([b for b in ordered if not b.name.startswith("otelcol.receiver.")]))
    return render(ordered, header=header)


def convert(collector, targets=None, label_prefix="legacy", header=None):
    """Rebuild the collector's pipelines for Alloy.

    `collector` is the parsed collector config or legacy_stack_info's `otel_collector`.
    Returns {"alloy", "otlp_inputs", "otlp_endpoints", "jaeger" (the first Jaeger receiver), "jaeger_receivers"
    (each with label, protocols and the port each protocol listens on), "components", "unconverted", "notes",
    "dropped_exporters"}.
    """
    targets = dict(DEFAULT_TARGETS, **(targets or {}))
    receivers = collector.get("receivers") or {}
    processors = collector.get("processors") or {}
    pipelines = collector.get("pipelines") or ((collector.get("service") or {}).get("pipelines")) or {}
    unconverted, notes, dropped = [], [], []
    blocks = {}  # (block name, label) -> Block (insertion ordered)
    outputs = {}  # (block name, label) -> {signal: [expr text]}
    otlp_inputs = dict((s, []) for s in SIGNALS)
    otlp_endpoints = {}
    jaeger_receivers = []

    for pname in sorted(pipelines, key=lambda n: (SIGNALS.index(_signal(n)) if _signal(n) else 9, n)):
        pipe = pipelines[pname] or {}
        signal = _signal(pname)
        if signal is None:
            unconverted.append({"component": "pipeline %s" % pname, "key": None, "reason": "unknown signal"})
            continue
        sinks = _exporter_sinks(pname, pipe, signal, targets, unconverted, dropped)
        if not sinks:
            unconverted.append({"component": "pipeline %s" % pname, "key": None,
                                "reason": "no exporter left; the pipeline's %s are dropped" % signal})
            continue
        next_hops = _processor_chain(pname, pipe, signal, sinks, processors, label_prefix, blocks, outputs,
                                     unconverted, notes)
        _wire_receivers(pipe, signal, next_hops, receivers, label_prefix, blocks, outputs, otlp_inputs,
                        otlp_endpoints, jaeger_receivers, unconverted)
    text = _render(blocks, outputs, header)
    return {
        "alloy": text,
        "otlp_inputs": otlp_inputs,
        "otlp_endpoints": otlp_endpoints,
        "jaeger": jaeger_receivers[0] if jaeger_receivers else None,
        "jaeger_receivers": jaeger_receivers,
        "components": ["%s.%s" % k for k in blocks],
        "unconverted": unconverted,
        "notes": notes,
        "dropped_exporters": dropped,
    }


def check_converted(text, targets=None):
    """Validate converted text together with stubs of the target exporters it references."""
    from ansible_collections.lgtm.stack.plugins.module_utils.alloy import validate

    stubs = []
    for expr in sorted(set(dict(DEFAULT_TARGETS, **(targets or {})).values())):
        parts = expr.split(".")
        stubs.append('%s "%s" {\n}\n' % (".".join(parts[:-2]), parts[-2]))
    return validate(text + "\n" + "".join(stubs))
