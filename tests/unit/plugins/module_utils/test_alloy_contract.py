"""The upstream contract: Alloy configs checked against the argument facts of Alloy v1.18.1."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import alloy_contract as C
from ansible_collections.lgtm.stack.plugins.module_utils import alloy_facts as F

ROOT = Path(__file__).resolve().parents[4]
FACTS_JSON = ROOT.parent / "shared" / "reference" / "alloy-v1.18.1-components.json"


def errors_of(text):
    return C.check(text, "t.alloy")


def one_error(text, *needles):
    errors = errors_of(text)
    assert len(errors) == 1, errors
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


SCRAPE = 'prometheus.scrape "job" {\n\ttargets    = []\n\tforward_to = [prometheus.remote_write.mimir.receiver]\n%s}\n'


def scrape(extra):
    return SCRAPE % "".join("\t%s\n" % line for line in extra.splitlines())


def test_valid_configs_pass():
    assert errors_of(scrape('scrape_interval = "15s"\nbody_size_limit = "10MB"\ntls_config {\n\tca_file = "/ca"\n}')) == []
    assert errors_of(scrape('scrape_interval = "5s"\nscrape_timeout = "5s"')) == []
    # Expressions are accepted (references, calls, operators), and Alloy's number <-> string conversions.
    assert errors_of(scrape('job_name = sys.env("JOB")\nsample_limit = "100"\nmetrics_path = 42\n'
                            'basic_auth {\n\tpassword = sys.env("P")\n}')) == []
    assert errors_of('logging {\n\tlevel = "info"\n\tformat = "logfmt"\n}\n') == []


def test_error_names_source_line_column_component_and_argument():
    message = one_error(scrape("body_size_limit = 10485760"))
    assert message.startswith('t.alloy:4:2: prometheus.scrape "job": body_size_limit: ')


def test_body_size_limit_as_a_number():
    one_error(scrape("body_size_limit = 10485760"), "body_size_limit", "byte size string", "10485760")
    one_error(scrape('body_size_limit = "10 megabytes"'), "body_size_limit", "byte size")
    assert errors_of(scrape('body_size_limit = "512KiB"')) == []


def test_tls_ca_and_cert_attributes():
    errors = errors_of(scrape('tls_config {\n\tca = "PEM"\n\tcert = "PEM"\n}'))
    assert len(errors) == 2
    assert "tls_config.ca: unknown attribute" in errors[0] and "ca_pem" in errors[0] and "ca_file" in errors[0]
    assert "tls_config.cert: unknown attribute" in errors[1] and "cert_pem" in errors[1]


def test_tls_pairs_rule():
    one_error(scrape('tls_config {\n\tca_pem = "x"\n\tca_file = "/ca"\n}'), "tls_config.ca_file", "at most one")
    one_error(scrape('tls_config {\n\tcert_file = "/c"\n}'), "tls_config.key_file", "requires a client key")


def test_scrape_timeout_above_interval():
    one_error(scrape('scrape_interval = "5s"'), "scrape_interval", "must not exceed", "10s (default)")
    one_error(scrape('scrape_interval = "30s"\nscrape_timeout = "1m"'), "scrape_timeout", "must not exceed")


def test_transform_statements_without_context():
    text = ('otelcol.processor.transform "t" {\n\ttrace_statements {\n\t\tstatements = [`set(attributes["a"], "b")`]\n'
            '\t}\n\toutput { }\n}\n')
    one_error(text, "trace_statements.context", "missing required attribute")
    assert errors_of(text.replace("\t\tstatements", '\t\tcontext = "SPAN"\n\t\tstatements')) == []
    one_error(text.replace("\t\tstatements", '\t\tcontext = "log"\n\t\tstatements'), "does not fit trace_statements")


def test_batch_sizes():
    text = 'otelcol.processor.batch "b" {\n\tsend_batch_size = 5000\n\toutput { }\n}\n'
    one_error(text, "send_batch_size", "must be >= send_batch_size", "the default")
    assert errors_of(text.replace("5000", "5000\n\tsend_batch_max_size = 0")) == []
    assert errors_of(text.replace("5000", "1000")) == []


def test_memory_limiter_percentages():
    text = 'otelcol.processor.memory_limiter "m" {\n\tcheck_interval = "1s"\n\tlimit_percentage = 80\n\toutput { }\n}\n'
    one_error(text, "spike_limit_percentage", "(0, 100]", "no default")
    assert errors_of(text.replace("80", "80\n\tspike_limit_percentage = 20")) == []
    one_error(text.replace("limit_percentage = 80", 'limit = "0B"'), "limit", "exactly one of limit or limit_percentage")
    both = errors_of(text.replace("80", '80\n\tspike_limit_percentage = 20\n\tlimit = "1GiB"'))
    assert len(both) == 1 and "limit_percentage: set exactly one of limit or limit_percentage" in both[0]


def test_unknown_and_not_ga_components():
    one_error('discovery.static "s" {\n}\n', "discovery.static", "no such component", "no component.Register")
    one_error('otelcol.exporter.debug "d" { }\n', "otelcol.exporter.debug", "experimental", "--stability.level")
    assert errors_of('otelcol.exporter.debug "d" { }\n') != C.check('otelcol.exporter.debug "d" { }\n',
                                                                    stability="experimental")
    assert C.check('otelcol.exporter.debug "d" {\n\tverbosity = "Detailed"\n}\n', stability="experimental") == []
    one_error('prometheus.scrape {\n\ttargets = []\n\tforward_to = []\n}\n', "needs a label")
    one_error('logging "x" { }\n', "takes no label")


def test_unknown_attribute_and_block():
    one_error(scrape("scrape_intervall = \"15s\""), "scrape_intervall", "unknown attribute", "scrape_interval")
    one_error(scrape("tls {\n}"), "tls: unknown block")


def test_block_for_attribute_and_attribute_for_block():
    one_error(scrape("tls_config = {}"), "tls_config", "is a block, not an attribute")
    one_error(scrape("job_name {\n}"), "job_name", "is an attribute, not a block")


def test_non_repeatable_block_and_duplicate_attribute():
    one_error(scrape("tls_config {\n}\ntls_config {\n}"), "tls_config", "only once", "first at 4:2")
    one_error(scrape('job_name = "a"\njob_name = "b"'), "job_name", "set twice")
    assert errors_of(scrape("")).count("x") == 0
    text = 'discovery.relabel "r" {\n\ttargets = []\n\trule {\n\t\taction = "keep"\n\t}\n\trule {\n\t\taction = "drop"\n\t}\n}\n'
    assert errors_of(text) == []
    one_error(text.replace("\trule {\n\t\taction = \"keep\"", '\trule "x" {\n\t\taction = "keep"'), "takes no label")


def test_missing_required_argument():
    one_error('prometheus.scrape "s" {\n\ttargets = []\n}\n', "forward_to: missing required attribute")
    one_error('otelcol.processor.batch "b" { }\n', "output: missing required block")
    one_error('prometheus.remote_write "m" {\n\tendpoint { }\n}\n', "endpoint.url: missing required attribute")


@pytest.mark.parametrize("line, needle", [
    ('honor_labels = "yes"', "expects a bool, not the string"),
    ('sample_limit = "many"', "expects a number"),
    ("sample_limit = true", "expects a number, not the bool"),
    ("metrics_path = [\"/m\"]", "expects a string string, not a list"),
    ('params = ["a"]', "expects map(list(string)), not a list"),
    ('params = {a = "b"}', 'params["a"]: expects list(string)'),
    ('targets2 = 1', "unknown attribute"),
    ("scrape_interval = 15", "expects a duration"),
    ('scrape_interval = "15 seconds"', "expects a duration"),
    ('scrape_timeout = "1d"', "expects a duration"),
    ('bearer_token = 12', "expects a string (secret)"),
])
def test_wrong_kinds(line, needle):
    one_error(scrape(line), needle)


def test_capsule_needs_a_reference():
    one_error('prometheus.scrape "s" {\n\ttargets = []\n\tforward_to = ["prometheus.remote_write.m.receiver"]\n}\n',
              "forward_to[0]", "expects a reference to a MetricsReceiver")


def test_enum_outside_its_set():
    one_error(scrape('scrape_protocols = ["PrometheusText0.0.4", "JSON"]'), "scrape_protocols[1]", "must be one of")
    one_error(scrape('scrape_protocols = ["PrometheusText0.0.4", "PrometheusText0.0.4"]'), "listed twice")
    one_error('logging {\n\tlevel = "verbose"\n}\n', "logging: level: must be one of debug, info, warn, error")
    one_error(scrape('tls_config {\n\tmin_version = "TLS1.2"\n}'), "tls_config.min_version", "TLS12")


def test_client_and_relabel_rules():
    one_error(scrape('bearer_token = "t"\nbasic_auth {\n\tusername = "u"\n}'), "at most one of basic_auth")
    one_error(scrape('basic_auth {\n\tpassword = "p"\n\tpassword_file = "/p"\n}'), "basic_auth.password_file")
    one_error(scrape('no_proxy = "x"'), "no_proxy: requires proxy_url")
    text = 'prometheus.relabel "r" {\n\tforward_to = []\n\trule {\n\t\taction = "%s"\n\t}\n}\n'
    one_error(text.replace("\t\taction", '\t\ttarget_label = "t"\n\t\taction') % "hashmod", "rule.modulus",
              "hashmod requires modulus")
    one_error(text % "lowercase", "rule.target_label", "requires target_label")
    assert errors_of(text % "labeldrop") == []


def test_every_stack_config_is_contract_checked_by_validate_all():
    # The hook: validate_all reports contract errors in its list (alloy_stack.build then refuses to write).
    assert any("no such component" in e for e in A.validate_all('discovery.static "s" {\n}\n', "x.alloy"))


def core(rule_text):
    """A rule without its place and tag: "endpoint: [Validate] rule: x" and "[Validate] x" cite the same rule."""
    return re.sub(r"^(?:[\w.]+: |\[\w+\] )+", "", rule_text)


def test_every_rule_cites_a_rule_of_the_facts():
    assert len(C.RULES) >= 50
    for func in C.RULES:
        for component in func.components:
            rules = F.COMPONENTS[component]["rules"]
            assert core(func.rule_text) in [core(r) for r in rules], (func.__name__, component, func.rule_text)
    for (component, _), text in C.CASE_INSENSITIVE_ENUMS.items():
        assert text in F.COMPONENTS[component]["rules"]


def test_value_grammars():
    assert C.parse_duration("1m30s") == 90e9 and C.parse_duration("0") == 0 and C.parse_duration("250ms") == 250e6
    assert C.parse_duration("10") is None and C.parse_duration("1d") is None
    assert C.parse_bytes("10MB") == C.parse_bytes("10MiB") == 10 * 1024 ** 2
    assert C.parse_bytes("0") == 0 and C.parse_bytes("100") is None and C.parse_bytes("1kB") is None


@pytest.mark.skipif(not FACTS_JSON.is_file(), reason="../shared/reference is not beside this checkout")
def test_generated_facts_module_is_what_the_script_produces():
    spec = importlib.util.spec_from_file_location("alloy_facts_script", ROOT / "scripts" / "alloy_facts.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    supplement = ROOT / "scripts" / "alloy-v1.18.1-supplement.json"
    data = script.merge(json.loads(FACTS_JSON.read_text(encoding="utf-8")),
                        [(supplement.name, json.loads(supplement.read_text(encoding="utf-8")))])
    expected = script.generate(data, FACTS_JSON.name, [supplement.name])
    actual = (ROOT / "plugins" / "module_utils" / "alloy_facts.py").read_text(encoding="utf-8")
    assert actual == expected, "run: python scripts/alloy_facts.py %s --supplement %s" % (FACTS_JSON, supplement)
    assert F.ALLOY_VERSION == data["alloy_version"] and F.SOURCE_COMMIT == data["source_commit"]
    assert F.COMPONENTS == script.reduce_facts(data)
