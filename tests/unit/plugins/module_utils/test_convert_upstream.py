"""Converter and stack output that upstream Alloy v1.18.1 accepts, and container logs with the app's identity.

Every config is checked against the recorded argument facts (alloy-v1.18.1-components.json): attribute and block
names, `format: bytes` values as strings, required attributes, and the Validate() rules these tests are about.
When plugins/module_utils/alloy_contract.py exists, its checker runs too.
"""

import json
import re
from pathlib import Path

import pytest

from ansible_collections.lgtm.stack.plugins.filter.alloy_config import alloy_config
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import alloy_stack as S
from ansible_collections.lgtm.stack.plugins.module_utils import otelcol_convert as O
from ansible_collections.lgtm.stack.plugins.module_utils import prometheus_convert as P
from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK

FACTS_FILE = Path("/work/shared/reference/alloy-v1.18.1-components.json")
SPEC = {
    "tempo_endpoint": "tempo:4317", "loki_otlp_endpoint": "http://loki:3100/otlp",
    "loki_push_url": "http://loki:3100/loki/api/v1/push", "mimir_push_url": "http://mimir:9009/api/v1/push",
    "compose_project": "shop", "service_namespace": "shop", "environment": "dev",
}


@pytest.fixture(scope="module")
def facts():
    if not FACTS_FILE.is_file():
        pytest.skip("Alloy argument facts not available")
    return json.loads(FACTS_FILE.read_text())["components"]


def _check_body(node, args, where, errors):
    attrs, blocks = A.body_values(node)
    for name, value in attrs.items():
        fact = args.get(name)
        if fact is None or fact["kind"] != "attr":
            errors.append("%s: unknown attribute %s" % (where, name))
        elif fact.get("format") == "bytes" and not isinstance(value, (str, A.Expr)):
            errors.append("%s.%s: a size string such as \"10MiB\", not %r" % (where, name, value))
    for name, fact in args.items():
        if fact["kind"] == "attr" and fact.get("required") and name not in attrs:
            errors.append("%s: missing required %s" % (where, name))
    for name, nodes in blocks.items():
        fact = args.get(name)
        if fact is None or fact["kind"] != "block":
            errors.append("%s: unknown block %s" % (where, name))
            continue
        for child in nodes:
            _check_body(child, fact.get("arguments") or {}, "%s.%s" % (where, name), errors)


def upstream_errors(text, facts, stub=""):
    """Errors of `text` against the facts (components the facts do not list are the caller's stubs)."""
    config = A.validate(text + "\n" + stub)
    errors = []
    for (name, label), node in config.components().items():
        if name in facts and not (stub and '%s "%s"' % (name, label) in stub):
            _check_body(node, facts[name]["arguments"], "%s.%s" % (name, label), errors)
    try:
        from ansible_collections.lgtm.stack.plugins.module_utils import alloy_contract
    except ImportError:
        return errors
    return errors + list(alloy_contract.check(text + "\n" + stub, "test.alloy"))


def prom_stub():
    return 'prometheus.remote_write "mimir" {\n}\n'


def otel_stub():
    """The backends otelcol_convert wires to, as the stack declares them."""
    return ('otelcol.exporter.otlp "tempo" {\n  client {\n    endpoint = "tempo:4317"\n  }\n}\n'
            'otelcol.exporter.otlphttp "loki" {\n  client {\n    endpoint = "http://loki:3100/otlp"\n  }\n}\n'
            'otelcol.exporter.prometheus "mimir" {\n  forward_to = [prometheus.remote_write.mimir.receiver]\n}\n'
            + prom_stub())


def component(text, name, label, stub=""):
    return A.body_values(A.validate(text + "\n" + stub).components()[(name, label)])


# --- prometheus_to_alloy --------------------------------------------------------------------------------------


def test_body_size_limit_is_a_size_string(facts):
    converted = P.convert({"scrape_configs": [{"job_name": "a", "body_size_limit": "10MB",
                                               "static_configs": [{"targets": ["a:1"]}]}]})
    attrs, _ = component(converted["alloy"], "prometheus.scrape", "a", prom_stub())
    assert attrs["body_size_limit"] == "10MiB"  # Prometheus' "10MB" is base 2
    assert upstream_errors(converted["alloy"], facts, prom_stub()) == []


def test_tls_inline_pem_uses_alloy_names_and_masked_key_is_an_env(facts):
    tls = {"ca": "-----BEGIN CERTIFICATE-----", "cert": "-----BEGIN CERTIFICATE-----", "key": MASK,
           "server_name": "x", "min_version": "TLS12"}
    converted = P.convert({"scrape_configs": [{"job_name": "a", "tls_config": tls, "scheme": "https",
                                               "static_configs": [{"targets": ["a:1"]}]}]})
    _, blocks = component(converted["alloy"], "prometheus.scrape", "a", prom_stub())
    inner = A.body_values(blocks["tls_config"][0])[0]
    assert set(inner) == {"ca_pem", "cert_pem", "key_pem", "server_name", "min_version"}
    assert inner["key_pem"] == A.Expr('sys.env("LGTM_SCRAPE_A_TLS_KEY")')
    assert {"job": "a", "variable": "LGTM_SCRAPE_A_TLS_KEY", "what": "TLS_KEY"} in converted["env_vars"]
    assert upstream_errors(converted["alloy"], facts, prom_stub()) == []


@pytest.mark.parametrize(("job", "glob", "interval", "timeout"), [
    ({"scrape_interval": "5s"}, {}, "5s", "5s"),                      # Alloy's 10s default would exceed 5s
    ({"scrape_interval": "5s"}, {"scrape_timeout": "10s"}, "5s", "5s"),  # Prometheus caps the global timeout
    ({}, {"scrape_interval": "2s"}, "2s", "2s"),
    ({"scrape_interval": "30s"}, {}, "30s", None),                     # 10s fits: nothing written
    ({"scrape_interval": "30s", "scrape_timeout": "20s"}, {}, "30s", "20s"),
    ({"scrape_interval": "1d"}, {}, "24h", None),                      # Go durations have no d/w/y
])
def test_scrape_timeout_never_exceeds_the_interval(facts, job, glob, interval, timeout):
    converted = P.convert({"global": glob, "scrape_configs": [dict(job, job_name="a",
                                                                   static_configs=[{"targets": ["a:1"]}])]})
    attrs, _ = component(converted["alloy"], "prometheus.scrape", "a", prom_stub())
    assert (attrs["scrape_interval"], attrs.get("scrape_timeout")) == (interval, timeout)
    assert converted["unconverted"] == []
    assert upstream_errors(converted["alloy"], facts, prom_stub()) == []


def test_timeout_above_interval_is_reported_and_capped():
    converted = P.convert({"scrape_configs": [{"job_name": "a", "scrape_interval": "15s", "scrape_timeout": "20s"}]})
    attrs, _ = component(converted["alloy"], "prometheus.scrape", "a", prom_stub())
    assert attrs["scrape_timeout"] == "15s"
    assert [(u["job"], u["key"]) for u in converted["unconverted"]] == [("a", "scrape_timeout")]


def test_files_are_listed_and_rewritten_through_file_map(facts):
    job = {"job_name": "a", "basic_auth": {"username": "u", "password_file": "/etc/prom/secrets/pw"},
           "tls_config": {"ca_file": "/etc/prom/ca.pem"}, "file_sd_configs": [{"files": ["/etc/prom/targets/*.json"]}]}
    file_map = {"/etc/prom/secrets": "/etc/alloy/files/etc/prom/secrets",
                "/etc/prom/targets/": "/etc/alloy/files/etc/prom/targets"}
    converted = P.convert({"scrape_configs": [job, {"job_name": "b", "bearer_token_file": "/run/token"}]},
                          file_map=file_map)
    text = converted["alloy"]
    _, blocks = component(text, "prometheus.scrape", "a", prom_stub())
    assert A.body_values(blocks["basic_auth"][0])[0]["password_file"] == "/etc/alloy/files/etc/prom/secrets/pw"
    assert A.body_values(blocks["tls_config"][0])[0]["ca_file"] == "/etc/prom/ca.pem"  # not mapped: kept, listed
    assert component(text, "discovery.file", "a", prom_stub())[0]["files"] == ["/etc/alloy/files/etc/prom/targets/*.json"]
    assert [(m["job"], m["key"], m["container_path"], m["mapped"]) for m in converted["mounts"]] == [
        ("a", "file_sd_configs[0].files", "/etc/prom/targets/*.json", True),
        ("a", "basic_auth.password_file", "/etc/prom/secrets/pw", True),
        ("a", "tls_config.ca_file", "/etc/prom/ca.pem", False),
        ("b", "bearer_token_file", "/run/token", False),
    ]
    assert upstream_errors(text, facts, prom_stub()) == []


def test_global_interval_and_external_labels_are_returned():
    converted = P.convert({"global": {"scrape_interval": "1w", "external_labels": {"cluster": "eu"}}})
    assert converted["scrape_interval"] == "168h" and converted["external_labels"] == {"cluster": "eu"}


# --- otelcol_to_alloy -----------------------------------------------------------------------------------------


def _pipeline(processors, names):
    return {"receivers": {"otlp": {"protocols": {"grpc": {}}}}, "processors": processors, "exporters": {"otlp": {}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": names, "exporters": ["otlp"]}}}}


def test_transform_statements_without_context_go_to_the_statements_block(facts):
    collector = _pipeline({"transform": {"trace_statements": [
        'set(span.attributes["a"], "b")',
        {"statements": ['set(resource.attributes["c"], "d")']},
        {"context": "span", "statements": ['set(attributes["e"], "f")']}]}}, ["transform"])
    result = O.convert(collector)
    _, blocks = component(result["alloy"], "otelcol.processor.transform", "legacy_transform", otel_stub())
    assert A.body_values(blocks["statements"][0])[0] == {
        "trace": ['set(span.attributes["a"], "b")', 'set(resource.attributes["c"], "d")']}
    assert [A.body_values(b)[0]["context"] for b in blocks["trace_statements"]] == ["span"]
    assert upstream_errors(result["alloy"], facts, otel_stub()) == []


def test_batch_keeps_the_collectors_sizes_within_alloys_rule(facts):
    collector = _pipeline({"batch": {"send_batch_size": 5000}, "batch/2": {}}, ["batch", "batch/2"])
    result = O.convert(collector)
    for label in ("legacy_batch", "legacy_batch_2"):
        attrs, _ = component(result["alloy"], "otelcol.processor.batch", label, otel_stub())
        size, maximum = attrs["send_batch_size"], attrs["send_batch_max_size"]
        assert maximum == 0 or maximum >= size, (label, attrs)
    assert component(result["alloy"], "otelcol.processor.batch", "legacy_batch", otel_stub())[0] == {
        "send_batch_size": 5000, "send_batch_max_size": 0}
    assert component(result["alloy"], "otelcol.processor.batch", "legacy_batch_2", otel_stub())[0] == {
        "send_batch_size": 8192, "send_batch_max_size": 0}  # the collector's defaults, not Alloy's 2000/3000
    assert result["unconverted"] == []
    assert upstream_errors(result["alloy"], facts, otel_stub()) == []


def test_memory_limiter_percentage_without_spike_is_valid_and_reported(facts):
    result = O.convert(_pipeline({"memory_limiter": {"check_interval": "1s", "limit_percentage": 75}},
                                 ["memory_limiter"]))
    attrs, _ = component(result["alloy"], "otelcol.processor.memory_limiter", "legacy_memory_limiter", otel_stub())
    assert attrs == {"check_interval": "1s", "limit_percentage": 75, "spike_limit_percentage": 15}
    assert [(u["component"], u["key"]) for u in result["unconverted"]] == [("memory_limiter", "spike_limit_percentage")]
    assert upstream_errors(result["alloy"], facts, otel_stub()) == []


# --- alloy_config (the stack) ---------------------------------------------------------------------------------


def relabel(labels, rules):
    """Prometheus relabelling (replace, drop, keep) as Alloy applies it: regexes anchored, $1 in replacements."""
    labels = dict(labels)
    for rule in rules:
        value = rule.get("separator", ";").join(labels.get(name, "") for name in rule.get("source_labels", []))
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        action = rule.get("action", "replace")
        if action == "drop" and match:
            return None
        if action == "keep" and not match:
            return None
        if action == "replace" and match:
            replacement = re.sub(r"\$(\d+)", r"\\\1", rule.get("replacement", "$1").replace("$$", "\0"))
            result = match.expand(replacement).replace("\0", "$")
            if result:
                labels[rule["target_label"]] = result
            else:
                labels.pop(rule["target_label"], None)
    return labels


def docker_streams(spec, containers):
    """The label set of each container's stdout stream, following the generated config like Alloy does."""
    result = alloy_config(dict(SPEC, **spec))
    comps = A.validate(result["alloy"]).components()
    source = A.body_values(comps[("loki.source.docker", "containers")])[0]
    targets = [{"__meta_docker_container_id": name, "__meta_docker_container_label_com_docker_compose_service": svc}
               for name, svc in containers]
    ref = source["targets"].text
    if ref.startswith("discovery.relabel."):
        attrs, blocks = A.body_values(comps[("discovery.relabel", ref.split(".")[2])])
        assert attrs["targets"].text == "discovery.docker.containers.targets"
        rules = [A.body_values(r)[0] for r in blocks.get("rule", [])]
        targets = [t for t in (relabel(t, rules) for t in targets) if t is not None]
    else:
        assert ref == "discovery.docker.containers.targets"
    _, blocks = A.body_values(comps[("discovery.relabel", source["relabel_rules"].text.split(".")[2])])
    rules = [A.body_values(r)[0] for r in blocks.get("rule", [])]
    streams = {}
    for target in targets:
        labels = dict(target, **source["labels"])
        labels["__meta_docker_container_log_stream"] = "stdout"
        out = relabel(labels, rules)
        # target.go getStreamLabels: labels starting with __ are dropped; a `drop` result is not honoured.
        streams[target["__meta_docker_container_id"]] = dict((k, v) for k, v in (out or {}).items()
                                                             if not k.startswith("__"))
    return result, streams


def test_container_logs_carry_the_apps_identity():
    identities = {"api": {"service_name": "shop-api", "service_namespace": "shop", "environment": "prod"},
                  "worker.v2": {"service_name": "shop-worker"}}
    _, streams = docker_streams({"service_identities": identities},
                                [("c1", "api"), ("c2", "worker.v2"), ("c3", "mysql"), ("c4", "workerxv2")])
    assert streams["c1"] == {"service_name": "shop-api", "service_namespace": "shop",
                             "deployment_environment_name": "prod", "stream": "stdout"}
    assert streams["c2"]["service_name"] == "shop-worker" and streams["c2"]["deployment_environment_name"] == "dev"
    assert streams["c3"] == {"service_name": "mysql", "service_namespace": "shop",
                             "deployment_environment_name": "dev", "stream": "stdout"}
    assert streams["c4"]["service_name"] == "workerxv2", "service names are matched literally"
    assert all(set(labels) == set(S.DOCKER_LOG_LABELS) for labels in streams.values())


def test_identity_labels_are_the_ones_lokis_otlp_endpoint_writes():
    assert S.IDENTITY_LABELS == ("service_name", "service_namespace", "deployment_environment_name")
    with pytest.raises(Exception, match="needs a service_name"):
        alloy_config(dict(SPEC, service_identities={"api": {"service_namespace": "x"}}))


def test_excluded_services_produce_no_lines_and_others_keep_their_labels():
    _, before = docker_streams({}, [("c1", "api"), ("c2", "mysql")])
    result, after = docker_streams({"docker_logs_exclude": ["api"]}, [("c1", "api"), ("c2", "mysql")])
    assert "c1" not in after, "an excluded container is not tailed at all"
    assert after["c2"] == before["c2"]
    assert "action = \"drop\"" not in result["alloy"].split('discovery.relabel "containers" {')[1].split("}\n")[0]


def test_one_port_one_jaeger_receiver():
    collector = {"receivers": {"jaeger": {"protocols": {"thrift_compact": {}, "grpc": {"endpoint": "0.0.0.0:14250"}}},
                               "otlp": {"protocols": {"grpc": {}}}},
                 "processors": {"batch": {}}, "exporters": {"otlp": {}},
                 "service": {"pipelines": {"traces": {"receivers": ["jaeger", "otlp"], "processors": ["batch"],
                                                      "exporters": ["otlp"]}}}}
    result = alloy_config(dict(SPEC, otelcol=collector, jaeger_protocols=["thrift_compact", "thrift_http", "grpc"]))
    comps = A.validate(result["alloy"]).components()
    ports = []
    for (name, label), node in comps.items():
        if name != "otelcol.receiver.jaeger":
            continue
        protocols = A.body_values(A.body_values(node)[1]["protocols"][0])[1]
        for proto, nodes in protocols.items():
            endpoint = A.body_values(nodes[0])[0].get("endpoint")
            default = {"grpc": 14250, "thrift_http": 14268, "thrift_binary": 6832, "thrift_compact": 6831}[proto]
            ports.append(int(endpoint.rsplit(":", 1)[1]) if endpoint else default)
    assert sorted(ports) == [6831, 14250, 14268]
    protocols = A.body_values(A.body_values(comps[("otelcol.receiver.jaeger", "default")])[1]["protocols"][0])[1]
    assert list(protocols) == ["thrift_http"]


def test_external_labels_scrape_files_and_short_interval(facts):
    jobs = [{"job_name": "orders", "scrape_interval": "5s", "basic_auth": {"username": "u", "password_file": "/etc/prom/pw"},
             "static_configs": [{"targets": ["orders:8080"]}]}]
    result = alloy_config(dict(SPEC, external_labels={"cluster": "eu"}, scrape_jobs=jobs, scrape_interval="5s",
                               scrape_files=[{"host_path": "/srv/shop/prometheus/pw", "container_path": "/etc/prom/pw"}]))
    comps = A.validate(result["alloy"]).components()
    attrs, _ = A.body_values(comps[("prometheus.remote_write", "mimir")])
    assert attrs["external_labels"] == {"cluster": "eu"}
    attrs, blocks = A.body_values(comps[("prometheus.scrape", "orders")])
    assert A.body_values(blocks["basic_auth"][0])[0]["password_file"] == S.FILES_ROOT + "/etc/prom/pw"
    for (name, label), node in comps.items():
        if name == "prometheus.scrape":
            scrape = A.body_values(node)[0]
            assert scrape.get("scrape_timeout") == "5s", label
    assert result["mounts"][0]["mapped"] is True
    assert upstream_errors(result["alloy"], facts) == []


def test_default_stack_config_meets_the_facts(facts):
    result = alloy_config(dict(SPEC, service_identities={"api": {"service_name": "shop-api"}},
                               docker_logs_exclude=["db"], jaeger_protocols=["thrift_compact"]))
    assert upstream_errors(result["alloy"], facts) == []
