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


def _signal(pipeline_name):
    base = pipeline_name.split("/", 1)[0]
    return base if base in SIGNALS else None


def _kind(name):
    return name.split("/", 1)[0]


def _ottl_string(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def _processor_block(name, cfg, unconverted, notes):
    """(block_name, body) for one processor, or None when it cannot be converted."""
    kind = _kind(name)
    cfg = cfg or {}
    if kind == "batch":
        body = [Attribute(k, cfg[k] if isinstance(cfg[k], int) else str(cfg[k]))
                for k in ("timeout", "send_batch_size", "send_batch_max_size") if k in cfg]
        return "otelcol.processor.batch", body
    if kind == "memory_limiter":
        body = []
        for key in ("check_interval", "limit_percentage", "spike_limit_percentage"):
            if key in cfg:
                body.append(Attribute(key, cfg[key] if isinstance(cfg[key], int) else str(cfg[key])))
        for key, target in (("limit_mib", "limit"), ("spike_limit_mib", "spike_limit")):
            if key in cfg:
                body.append(Attribute(target, "%sMiB" % cfg[key]))
        return "otelcol.processor.memory_limiter", body
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
        body = []
        if cfg.get("error_mode"):
            body.append(Attribute("error_mode", str(cfg["error_mode"])))
        for key, block_name in _TRANSFORM_BLOCKS.items():
            for group in cfg.get(key) or []:
                if isinstance(group, str):  # flat statement list (newer collector syntax)
                    body.append(Block(block_name, body=[Attribute("statements", [Raw(group)])]))
                    continue
                inner = []
                if group.get("context"):
                    inner.append(Attribute("context", str(group["context"])))
                inner.append(Attribute("statements", [Raw(str(s)) for s in group.get("statements") or []]))
                if group.get("conditions"):
                    inner.append(Attribute("conditions", [Raw(str(c)) for c in group["conditions"]]))
                body.append(Block(block_name, body=inner))
        return "otelcol.processor.transform", body
    if kind == "filter":
        unconverted.append({"component": name, "key": None,
                            "reason": "filter processor not converted automatically; rewrite it as "
                                      "otelcol.processor.filter (OTTL conditions)"})
        return None
    unconverted.append({"component": name, "key": None, "reason": "processor %r has no conversion" % kind})
    return None


def convert(collector, targets=None, label_prefix="legacy", header=None):
    """Rebuild the collector's pipelines for Alloy.

    `collector` is the parsed collector config or legacy_stack_info's `otel_collector`.
    Returns {"alloy", "otlp_inputs", "otlp_endpoints", "jaeger", "components", "unconverted", "notes",
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
    jaeger = None

    def add_output(key, signal, expr):
        bucket = outputs.setdefault(key, {}).setdefault(signal, [])
        if expr not in bucket:
            bucket.append(expr)

    for pname in sorted(pipelines, key=lambda n: (SIGNALS.index(_signal(n)) if _signal(n) else 9, n)):
        pipe = pipelines[pname] or {}
        signal = _signal(pname)
        if signal is None:
            unconverted.append({"component": "pipeline %s" % pname, "key": None, "reason": "unknown signal"})
            continue
        exporters_here = pipe.get("exporters") or []
        sinks = []
        for exp in exporters_here:
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
        if not sinks:
            unconverted.append({"component": "pipeline %s" % pname, "key": None,
                                "reason": "no exporter left; the pipeline's %s are dropped" % signal})
            continue
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
                add_output(key, signal, hop)
            next_hops = ["%s.%s.input" % key]
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
                    protos = []
                    for proto in ("grpc", "thrift_http", "thrift_binary", "thrift_compact"):
                        if proto in (rcfg.get("protocols") or {}):
                            endpoint = ((rcfg["protocols"][proto]) or {}).get("endpoint")
                            protos.append(Block(proto, body=[Attribute("endpoint", endpoint)] if endpoint else []))
                    blocks[key] = Block("otelcol.receiver.jaeger", label, [Block("protocols", body=protos)])
                    jaeger = {"label": label, "protocols": [p.name for p in protos]}
                for hop in next_hops:
                    add_output(key, signal, hop)
            elif kind == "zipkin":
                label = sanitize_label("%s_%s" % (label_prefix, recv.replace("/", "_")))
                key = ("otelcol.receiver.zipkin", label)
                if key not in blocks:
                    body = [Attribute("endpoint", rcfg["endpoint"])] if rcfg.get("endpoint") else []
                    blocks[key] = Block("otelcol.receiver.zipkin", label, body)
                for hop in next_hops:
                    add_output(key, signal, hop)
            elif kind == "hostmetrics":
                unconverted.append({"component": recv, "key": None,
                                    "reason": "host metrics come from Alloy's prometheus.exporter.unix "
                                              "(lgtm_alloy_host_metrics) instead of the hostmetrics receiver"})
            elif kind == "prometheus":
                unconverted.append({"component": recv, "key": None,
                                    "reason": "convert its scrape_configs with the prometheus_to_alloy filter"})
            else:
                unconverted.append({"component": recv, "key": None, "reason": "receiver %r has no conversion" % kind})
    ordered = []
    for key, block in blocks.items():
        if key in outputs:
            block.add(Block("output", body=[Attribute(s, [Expr(e) for e in outputs[key][s]])
                                            for s in SIGNALS if s in outputs[key]]))
        ordered.append(block)
    # Receivers first, then processors in pipeline order (they were created walking backwards).
    receivers_out = [b for b in ordered if b.name.startswith("otelcol.receiver.")]
    ordered = receivers_out + list(reversed([b for b in ordered if not b.name.startswith("otelcol.receiver.")]))
    text = render(ordered, header=header)
    return {
        "alloy": text,
        "otlp_inputs": otlp_inputs,
        "otlp_endpoints": otlp_endpoints,
        "jaeger": jaeger,
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
