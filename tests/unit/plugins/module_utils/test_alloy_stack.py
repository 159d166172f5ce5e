"""The stack's Alloy configuration: wiring, identity labels, trace ids as metadata, scrape jobs."""

import pytest

from ansible_collections.lgtm.stack.plugins.filter.alloy_config import alloy_config
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE, PROJECTS

SPEC = {
    "tempo_endpoint": "tempo:4317", "loki_otlp_endpoint": "http://loki:3100/otlp",
    "loki_push_url": "http://loki:3100/loki/api/v1/push", "mimir_push_url": "http://mimir:9009/api/v1/push",
    "compose_project": "shop", "service_namespace": "shop", "environment": "dev",
    "self_scrape": [{"job_name": "tempo", "target": "tempo:3200"}, {"job_name": "mysqld-exporter", "target": "mysqld-exporter:9104"}],
}


def build(**overrides):
    result = alloy_config(dict(SPEC, **overrides))
    return result, A.validate(result["alloy"])


def output_of(config, name, label):
    _, blocks = A.body_values(config.components()[(name, label)])
    return dict((k, [e.text for e in v]) for k, v in A.body_values(blocks["output"][0])[0].items())


def test_signals_reach_their_backends():
    _, config = build()
    assert output_of(config, "otelcol.receiver.otlp", "default") == {
        s: ["otelcol.processor.memory_limiter.default.input"] for s in ("metrics", "logs", "traces")}
    assert output_of(config, "otelcol.processor.batch", "default") == {
        "traces": ["otelcol.exporter.otlp.tempo.input"], "metrics": ["otelcol.exporter.prometheus.mimir.input"],
        "logs": ["otelcol.exporter.otlphttp.loki.input"]}
    comps = config.components()
    _, client = A.body_values(comps[("otelcol.exporter.otlp", "tempo")])
    assert A.body_values(client["client"][0])[0] == {"endpoint": "tempo:4317"}
    _, client = A.body_values(comps[("otelcol.exporter.otlphttp", "loki")])
    assert A.body_values(client["client"][0])[0] == {"endpoint": "http://loki:3100/otlp"}
    _, endpoint = A.body_values(comps[("prometheus.remote_write", "mimir")])
    assert A.body_values(endpoint["endpoint"][0])[0] == {
        "url": "http://mimir:9009/api/v1/push", "send_exemplars": True, "send_native_histograms": True}
    _, grpc = A.body_values(comps[("otelcol.receiver.otlp", "default")])
    assert A.body_values(grpc["grpc"][0])[0] == {"endpoint": "0.0.0.0:4317"}
    assert ("otelcol.receiver.jaeger", "default") not in comps


def test_container_logs_get_identity_labels_and_trace_ids_as_metadata():
    _, config = build()
    comps = config.components()
    source, _ = A.body_values(comps[("loki.source.docker", "containers")])
    assert source["labels"] == {"service_namespace": "shop", "deployment_environment_name": "dev"}
    assert source["relabel_rules"].text == "discovery.relabel.containers.rules"
    _, relabel = A.body_values(comps[("discovery.relabel", "containers")])
    rules = [A.body_values(r)[0] for r in relabel["rule"]]
    assert {"source_labels": ["__meta_docker_container_label_com_docker_compose_service"],
            "target_label": "service_name"} in rules
    _, docker = A.body_values(comps[("discovery.docker", "containers")])
    assert A.body_values(docker["filter"][0])[0] == {"name": "label", "values": ["com.docker.compose.project=shop"]}
    _, process = A.body_values(comps[("loki.process", "containers")])
    assert A.body_values(process["stage.structured_metadata"][0])[0] == {
        "values": {"trace_id": "trace_id", "span_id": "span_id"}}
    assert "stage.labels" not in process, "trace ids never become labels"
    assert A.body_values(process["stage.json"][0])[0]["expressions"]["trace_id"].startswith("trace_id || traceID")


def test_scrape_jobs_keep_their_names():
    legacy = L.analyse_project(str(EXAMPLE))
    plan = build_plan(legacy)
    carried = [j["config"] for j in plan["scrape_jobs"] if j["action"] == "carry"]
    result, config = build(scrape_jobs=carried)
    assert result["jobs"] == ["shop-api", "shop-worker", "mysql", "redis", "tempo", "mysqld-exporter"]
    scrapes = {A.body_values(n)[0]["job_name"]: A.body_values(n)[0] for (name, _), n in config.components().items()
               if name == "prometheus.scrape"}
    assert set(scrapes) == {"alloy", "shop-api", "shop-worker", "mysql", "redis", "tempo", "mysqld-exporter"}
    # The mysql job relabels, so its targets go through discovery.relabel "mysql".
    relabel, _ = A.body_values(config.components()[("discovery.relabel", "mysql")])
    assert relabel["targets"] == [{"__address__": "mysqld-exporter:9104"}]
    assert scrapes["mysql"]["targets"].text == "discovery.relabel.mysql.output"
    forwards = {job: s["forward_to"][0].text for job, s in scrapes.items()}
    assert forwards.pop("redis") == "prometheus.relabel.redis.receiver", "metric_relabel_configs kept"
    assert set(forwards.values()) == {"prometheus.remote_write.mimir.receiver"}
    relabel, _ = A.body_values(config.components()[("prometheus.relabel", "redis")])
    assert relabel["forward_to"][0].text == "prometheus.remote_write.mimir.receiver"


def test_jaeger_receivers_when_asked():
    _, config = build(jaeger_protocols=["thrift_compact", "thrift_http"])
    _, blocks = A.body_values(config.components()[("otelcol.receiver.jaeger", "default")])
    protocols = A.body_values(blocks["protocols"][0])[1]
    assert A.body_values(protocols["thrift_compact"][0])[0] == {"endpoint": "0.0.0.0:6831"}
    assert A.body_values(protocols["thrift_http"][0])[0] == {"endpoint": "0.0.0.0:14268"}
    assert output_of(config, "otelcol.receiver.jaeger", "default") == {
        "traces": ["otelcol.processor.memory_limiter.default.input"]}


def test_legacy_collector_pipelines_sit_behind_the_receiver():
    legacy = L.analyse_project(str(PROJECTS / "otel-collector"))
    result, config = build(otelcol=legacy["otel_collector"])
    assert output_of(config, "otelcol.receiver.otlp", "default")["traces"] == [
        "otelcol.processor.memory_limiter.legacy_memory_limiter.input"]
    assert [u["component"] for u in result["unconverted"]] == ["hostmetrics"]


def test_extra_config_is_checked_with_the_rest():
    result, config = build(extra_config='prometheus.scrape "extra" {\n  targets = []\n  forward_to = [prometheus.remote_write.mimir.receiver]\n}\n')
    assert ("prometheus.scrape", "extra") in config.components()
    with pytest.raises(Exception, match="does not refer to any component"):
        build(extra_config='loki.source.file "x" {\n  targets = []\n  forward_to = [loki.write.nowhere.receiver]\n}\n')


def test_required_settings():
    with pytest.raises(Exception, match="missing tempo_endpoint"):
        alloy_config(dict(SPEC, tempo_endpoint=""))
