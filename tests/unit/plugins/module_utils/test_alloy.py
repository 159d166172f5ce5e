"""Tests for the Alloy writer and checking parser (plugins/module_utils/alloy.py)."""

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A

GOOD = r'''
// A realistic pipeline.
otelcol.receiver.otlp "default" {
	grpc {
		endpoint = "0.0.0.0:4317"
	}
	http { endpoint = "0.0.0.0:4318" }
	output {
		metrics = [otelcol.processor.batch.default.input]
		logs    = [otelcol.processor.batch.default.input]
		traces  = [otelcol.processor.batch.default.input]
	}
}

otelcol.processor.batch "default" {
	output {
		metrics = [otelcol.exporter.prometheus.default.input]
		logs    = [otelcol.exporter.otlphttp.loki.input]
		traces  = [otelcol.exporter.otlp.tempo.input]
	}
}

otelcol.exporter.otlp "tempo" {
	client {
		endpoint = "tempo:4317"
		tls { insecure = true }
	}
}

otelcol.exporter.otlphttp "loki" {
	client { endpoint = "http://loki:3100/otlp" }
}

otelcol.exporter.prometheus "default" {
	forward_to = [prometheus.remote_write.mimir.receiver]
}

prometheus.remote_write "mimir" {
	endpoint {
		url            = "http://mimir:9009/api/v1/push"
		send_exemplars = true
		headers        = {
			"X-Scope-OrgID" = "anonymous",
		}
	}
	external_labels = { cluster = sys.env("CLUSTER"), "deployment.environment" = "dev" }
}

discovery.docker "containers" {
	host = "unix:///var/run/docker.sock"
}

discovery.relabel "containers" {
	targets = discovery.docker.containers.targets
	rule {
		source_labels = ["__meta_docker_container_label_com_docker_compose_service"]
		target_label  = "service_name"
	}
}

prometheus.scrape "api" {
	targets = array.concat(
		discovery.relabel.containers.output,
		[{"__address__" = "api:8080", job = "shop-api"}],
	)
	forward_to      = [prometheus.remote_write.mimir.receiver]
	scrape_interval = "15s"
	/* a block comment */
	enable_protobuf_negotiation = !false && (1 + 2 * 3 ^ 2 >= 10)
	raw = `C:\no\escapes "here"`
	hostname = constants.hostname
}
'''


def test_realistic_config_is_valid():
    config = A.validate(GOOD, "config.alloy")
    components = config.components()
    assert ("prometheus.remote_write", "mimir") in components
    assert ("discovery.relabel", "containers") in components
    refs = {".".join(r.parts) for r in config.refs}
    assert "discovery.docker.containers.targets" in refs
    assert "otelcol.exporter.otlp.tempo.input" in refs
    assert not any(r.startswith("sys.env") or r == "array.concat" for r in refs), "calls are not references"


@pytest.mark.parametrize(
    ("text", "line", "col", "fragment"),
    [
        ('a = "unterminated\n', 1, 5, "unterminated string"),
        ('prometheus.scrape "my-job" {\n}\n', 1, 19, "must be a valid identifier"),
        ("x = [\n  1,\n  2\n]\n", 3, 4, "missing ',' before newline"),
        ("x = {\n  a = 1\n}\n", 2, 8, "missing ',' before newline"),
        ("block {\n  a = 1\n", 3, 1, "expected '}' to close the block opened at 1:7"),
        ("a.b = 1\n", 1, 1, "cannot contain '.'"),
        ("a = 1 b = 2\n", 1, 7, "expected a newline after the statement"),
        ('x = "bad \\q escape"\n', 1, 10, "unknown escape"),
        ("x = 1 +\n", 1, 8, "expected a value, found newline"),
        ("/* never closed\n", 1, 1, "unterminated block comment"),
        ("x = @\n", 1, 5, "unexpected character '@'"),
        ("foo \"a\" = 1\n", 1, 9, "expected '{' after the label"),
        ("x = { 1 = 2 }\n", 1, 7, "expected an object key"),
        # Only ASCII digits start a number; Go refuses code points above U+10FFFF and surrogate halves.
        ("x = \u00b2\n", 1, 5, "unexpected character"),
        ('x = "\\U00110000"\n', 1, 6, "not a valid Unicode code point"),
        ('x = "\\uD800"\n', 1, 6, "not a valid Unicode code point"),
    ],
)
def test_syntax_errors_name_line_and_column(text, line, col, fragment):
    with pytest.raises(A.AlloyError) as err:
        A.parse(text, "bad.alloy")
    assert fragment in err.value.message
    assert (err.value.line, err.value.column) == (line, col), str(err.value)
    assert str(err.value).startswith("bad.alloy:%d:%d: " % (line, col))


def test_unresolved_reference_is_reported_with_position():
    text = 'prometheus.scrape "a" {\n  targets    = []\n  forward_to = [prometheus.remote_write.missing.receiver]\n}\n'
    errors = A.check(A.parse(text))
    assert len(errors) == 1
    assert errors[0].line == 3 and errors[0].column == 17
    assert "prometheus.remote_write.missing.receiver does not refer to any component" in errors[0].message


def test_wrong_export_name_and_self_reference():
    text = (
        'prometheus.remote_write "m" {\n  endpoint { url = "http://m/api/v1/push" }\n}\n'
        'prometheus.scrape "a" {\n  targets = []\n  forward_to = [prometheus.remote_write.m.input]\n}\n'
        'prometheus.scrape "b" {\n  targets = []\n  forward_to = [prometheus.remote_write.m]\n}\n'
        'discovery.relabel "r" {\n  targets = discovery.relabel.r.targets\n}\n'
    )
    messages = [e.message for e in A.check(A.parse(text))]
    assert "prometheus.remote_write has no export 'input' (exports: receiver)" in messages
    assert any("refers to the component itself" in m for m in messages)
    assert "discovery.relabel has no export 'targets' (exports: output, rules)" in messages


def test_duplicate_component_label():
    text = 'loki.write "a" {\n}\nloki.write "a" {\n}\nloki.write "b" {\n}\n'
    errors = A.check(A.parse(text))
    assert [(e.line, e.message) for e in errors] == [(3, 'block loki.write "a" is declared twice (first at 1:1)')]


def test_otelcol_output_signals_must_be_accepted():
    text = (
        'otelcol.exporter.prometheus "p" {\n  forward_to = []\n}\n'
        'otelcol.receiver.otlp "r" {\n  http { }\n  output {\n'
        '    traces = [otelcol.exporter.prometheus.p.input]\n'
        '    spans = []\n  }\n}\n'
    )
    messages = [e.message for e in A.check(A.parse(text))]
    assert "otelcol.exporter.prometheus.p.input accepts only metrics, not traces" in messages
    assert "output of otelcol.receiver.otlp has no signal 'spans' (use metrics, logs, traces)" in messages


def test_receiver_exports_nothing():
    text = 'otelcol.receiver.otlp "r" {\n  http { }\n}\nx = otelcol.receiver.otlp.r.output\n'
    assert "it exports nothing" in A.check(A.parse(text))[0].message


def test_writer_output_round_trips_through_the_parser():
    remote = A.Block("prometheus.remote_write", "mimir", [
        A.Block("endpoint", body={"url": "http://mimir:9009/api/v1/push", "send_exemplars": True}),
    ])
    scrape = A.Block("prometheus.scrape", A.sanitize_label("shop-api"), [
        A.Attribute("targets", [{"__address__": "api:8080", "service": "shop-api"}]),
        A.Attribute("forward_to", [remote.export("receiver")]),
        A.Attribute("job_name", "shop-api"),
        A.Attribute("scrape_interval", "15s"),
        A.Attribute("params", {"module": ["http_2xx"], "odd key": 'quote " and \\ and \n'}),
        A.Attribute("honor_labels", False),
        A.Attribute("sample_limit", 0),
        A.Attribute("empty", []),
        A.Attribute("nothing", None),
        A.Attribute("env", A.Expr('sys.env("HOSTNAME")')),
    ])
    text = A.render([scrape, remote], header="Generated by a test.")
    assert text.startswith("// Generated by a test.\n\n")
    assert 'prometheus.scrape "shop_api" {' in text
    assert "\tforward_to      = [prometheus.remote_write.mimir.receiver]\n" in text
    config = A.validate(text)
    scrape_node = config.components()[("prometheus.scrape", "shop_api")]
    values = {n.name: n.value for n in scrape_node.body}
    assert values["job_name"] == ("literal", "shop-api")
    params = dict(values["params"][1])
    assert params["odd key"] == ("literal", 'quote " and \\ and \n')
    assert A.render([scrape, remote], header="Generated by a test.") == text, "stable output"


@pytest.mark.parametrize(("raw", "label"), [("shop-api", "shop_api"), ("9lives", "_9lives"), ("", "_"), ("a.b c", "a_b_c")])
def test_sanitize_label(raw, label):
    assert A.sanitize_label(raw) == label
    A.Block("x", label)


def test_writer_refuses_invalid_names():
    with pytest.raises(A.AlloyError):
        A.Block("prometheus.scrape", "not-valid")
    with pytest.raises(A.AlloyError):
        A.Block("bad-name")
    with pytest.raises(A.AlloyError):
        A.Attribute("a.b", 1)
    with pytest.raises(A.AlloyError):
        A.render_value(object())


def test_validate_all_collects_every_error():
    text = 'a "x" {\n}\na "x" {\n}\nb = c.d.e\n'
    errors = A.validate_all(text, "f.alloy", contract=False)
    assert len(errors) == 2
    assert errors[0].startswith("f.alloy:3:1:") and errors[1].startswith("f.alloy:5:5:")
    assert A.validate_all("x = [\n", "f.alloy")[0].startswith("f.alloy:2:1:")
    # With the upstream contract (the default), the unknown component `a` is reported too.
    errors = A.validate_all(text, "f.alloy")
    assert errors[:2] == [e for e in errors if "no such component" not in e]
    assert 'f.alloy:1:1: a "x": no such component in Alloy v1.18.1' in errors


def test_validate_all_reports_contract_errors_without_raising():
    text = 'prometheus.scrape "x" {\n\ttargets = []\n\tforward_to = []\n\tbody_size_limit = 10485760\n}\n'
    assert A.validate_all(text, "c.alloy", contract=False) == []
    errors = A.validate_all(text, "c.alloy")
    assert len(errors) == 1 and errors[0].startswith('c.alloy:4:2: prometheus.scrape "x": body_size_limit: ')
