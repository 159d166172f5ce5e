"""otelcol_to_alloy rebuilds the collector's pipelines in order and wires them to the new backends."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.lgtm.stack.plugins.filter.otelcol_to_alloy import FilterModule
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils import otelcol_convert as O
from tests.unit.conftest import PROJECTS

FILTER = FilterModule().filters()["otelcol_to_alloy"]


def chain(config, start, signal):
    """Follow one signal from an input reference to its terminal target; return the component names."""
    comps = config.components()
    hops, ref = [], start
    while True:
        parts = ref.split(".")
        key = (".".join(parts[:-2]), parts[-2])
        blocks = A.body_values(comps[key])[1] if key in comps else {}
        if "output" not in blocks:  # a backend exporter (stub): the end of the chain
            return hops + [ref]
        hops.append(ref.rsplit(".", 1)[0])
        out = A.body_values(blocks["output"][0])[0]
        targets = out[signal]
        assert len(targets) == 1, targets
        ref = targets[0].text


@pytest.fixture(scope="module")
def converted():
    legacy = L.analyse_project(str(PROJECTS / "otel-collector"))
    return FILTER(legacy["otel_collector"])


def test_processor_order_is_kept_per_signal(converted):
    config = O.check_converted(converted["alloy"])
    (start,) = converted["otlp_inputs"]["traces"]
    assert chain(config, start, "traces") == [
        "otelcol.processor.memory_limiter.legacy_memory_limiter",
        "otelcol.processor.transform.legacy_resource",
        "otelcol.processor.transform.legacy_transform",
        "otelcol.processor.batch.legacy_batch",
        "otelcol.exporter.otlp.tempo.input",
    ]
    assert chain(config, converted["otlp_inputs"]["metrics"][0], "metrics")[-1] == "otelcol.exporter.prometheus.mimir.input"
    # attributes/loki only carried Loki hints: it disappears from the logs chain, with a note.
    assert chain(config, converted["otlp_inputs"]["logs"][0], "logs") == [
        "otelcol.processor.memory_limiter.legacy_memory_limiter",
        "otelcol.processor.transform.legacy_resource",
        "otelcol.processor.batch.legacy_batch",
        "otelcol.exporter.otlphttp.loki.input",
    ]
    assert {n["key"] for n in converted["notes"]} == {"loki.attribute.labels", "loki.resource.labels"}


def test_statements_and_settings_survive(converted):
    config = O.check_converted(converted["alloy"])
    comps = config.components()
    _, blocks = A.body_values(comps[("otelcol.processor.transform", "legacy_transform")])
    stmts = A.body_values(blocks["trace_statements"][0])[0]
    assert stmts == {"context": "span", "statements": [
        'set(attributes["peer.service"], "postgres") where attributes["db.system"] == "postgresql"',
        'delete_key(attributes, "http.request.header.authorization")']}
    _, blocks = A.body_values(comps[("otelcol.processor.transform", "legacy_resource")])
    assert A.body_values(blocks["trace_statements"][0])[0]["statements"] == [
        'set(attributes["deployment.environment"], "staging")']
    attrs, _ = A.body_values(comps[("otelcol.processor.memory_limiter", "legacy_memory_limiter")])
    assert attrs == {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20}
    assert "`set(attributes[\"peer.service\"]" in converted["alloy"], "OTTL written as raw strings"


def test_everything_dropped_is_said(converted):
    assert [u["component"] for u in converted["unconverted"]] == ["hostmetrics"]
    assert sorted(d["exporter"] for d in converted["dropped_exporters"]) == ["debug", "loki", "otlp/jaeger", "prometheus"]
    assert converted["otlp_endpoints"] == {"grpc": "0.0.0.0:4317", "http": "0.0.0.0:4318"}


def test_jaeger_receiver_and_resource_actions():
    collector = {
        "receivers": {"jaeger": {"protocols": {"thrift_http": {"endpoint": "0.0.0.0:14268"}, "thrift_compact": {}}},
                      "otlp": {"protocols": {"grpc": {}}}},
        "processors": {"resource": {"attributes": [
            {"key": "env", "value": "dev", "action": "insert"}, {"key": "tmp", "action": "delete"},
            {"key": "svc", "from_attribute": "service.name", "action": "update"},
            {"key": "x", "action": "hash"}]},
            "memory_limiter": {"limit_mib": 400, "spike_limit_mib": 100, "check_interval": "5s"}},
        "exporters": {"jaeger": {"endpoint": "jaeger:14250"}, "kafka": {}},
        "pipelines": {"traces": {"receivers": ["jaeger", "otlp"], "processors": ["memory_limiter", "resource"],
                                 "exporters": ["jaeger", "kafka"]}},
    }
    result = FILTER(collector)
    config = O.check_converted(result["alloy"])
    comps = config.components()
    assert result["jaeger"] == {"label": "legacy_jaeger", "protocols": ["thrift_http", "thrift_compact"],
                                "ports": {"thrift_http": 14268, "thrift_compact": 6831}}
    assert result["jaeger_receivers"] == [result["jaeger"]]
    _, blocks = A.body_values(comps[("otelcol.receiver.jaeger", "legacy_jaeger")])
    protocols = A.body_values(blocks["protocols"][0])[1]
    assert A.body_values(protocols["thrift_http"][0])[0] == {"endpoint": "0.0.0.0:14268"}
    assert chain(config, "otelcol.receiver.jaeger.legacy_jaeger.x", "traces")[1:] == [
        "otelcol.processor.memory_limiter.legacy_memory_limiter", "otelcol.processor.transform.legacy_resource",
        "otelcol.exporter.otlp.tempo.input"]
    attrs, _ = A.body_values(comps[("otelcol.processor.memory_limiter", "legacy_memory_limiter")])
    assert attrs == {"check_interval": "5s", "limit": "400MiB", "spike_limit": "100MiB"}
    _, blocks = A.body_values(comps[("otelcol.processor.transform", "legacy_resource")])
    assert A.body_values(blocks["trace_statements"][0])[0]["statements"] == [
        'set(attributes["env"], "dev") where attributes["env"] == nil',
        'delete_key(attributes, "tmp")',
        'set(attributes["svc"], attributes["service.name"]) where attributes["svc"] != nil']
    reasons = {u["component"]: u["reason"] for u in result["unconverted"]}
    assert "hash" in reasons["resource"] and "kafka" in reasons["kafka"]


def test_same_processor_different_successors_gets_two_instances():
    collector = {
        "processors": {"batch": {}, "attributes/a": {"actions": [{"key": "a", "value": "1", "action": "insert"}]}},
        "pipelines": {"traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["otlp"]},
                      "traces/2": {"receivers": ["otlp"], "processors": ["batch", "attributes/a"], "exporters": ["otlp"]}},
        "receivers": {"otlp": {}}, "exporters": {"otlp": {}},
    }
    result = FILTER(collector)
    config = O.check_converted(result["alloy"])
    assert sorted(result["otlp_inputs"]["traces"]) == ["otelcol.processor.batch.legacy_batch.input",
                                                       "otelcol.processor.batch.legacy_batch_traces_2.input"]
    assert chain(config, "otelcol.processor.batch.legacy_batch_traces_2.input", "traces")[-1] == "otelcol.exporter.otlp.tempo.input"


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="expects a collector config mapping"):
        FILTER("receivers: {}")
    result = FILTER({"pipelines": {"traces": {"receivers": ["otlp"], "exporters": ["debug"]}}, "receivers": {"otlp": {}}})
    assert any("no exporter left" in u["reason"] for u in result["unconverted"])
