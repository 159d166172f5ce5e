"""Property-based: generated Prometheus and collector configs, converted, meet the upstream Alloy contract
(or the element that would break it is reported as unconverted)."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.lgtm.stack.plugins.module_utils import alloy_contract as C
from ansible_collections.lgtm.stack.plugins.module_utils import otelcol_convert, prometheus_convert

SETTINGS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
DURATIONS = st.sampled_from(["1s", "5s", "10s", "15s", "30s", "1m", "2m", "5m"])
NAMES = st.from_regex(r"\A[a-z][a-z0-9_-]{0,10}\Z", fullmatch=True)


def _tls():
    pair = st.sampled_from([{}, {"cert_file": "/c.pem", "key_file": "/k.pem"}, {"cert": "PEM", "key_file": "/k.pem"}])
    ca = st.sampled_from([{}, {"ca_file": "/ca.pem"}, {"ca": "PEM"}])
    extra = st.fixed_dictionaries({}, optional={"server_name": NAMES, "insecure_skip_verify": st.booleans(),
                                                "min_version": st.sampled_from(["TLS12", "TLS13"])})
    return st.tuples(pair, ca, extra).map(lambda t: dict(t[0], **dict(t[1], **t[2])))


def _relabel():
    label = st.from_regex(r"\A[a-z_][a-z0-9_]{0,8}\Z", fullmatch=True)
    return st.one_of(
        st.fixed_dictionaries({"source_labels": st.lists(label, min_size=1, max_size=2), "target_label": label}),
        st.fixed_dictionaries({"action": st.sampled_from(["keep", "drop"]), "source_labels": st.lists(label, min_size=1),
                               "regex": st.sampled_from(["a.*", "b|c"])}),
        st.fixed_dictionaries({"action": st.sampled_from(["labeldrop", "labelkeep"]), "regex": st.just("tmp_.*")}),
        st.fixed_dictionaries({"action": st.just("labelmap"), "regex": st.just("__meta_(.+)")}),
        st.fixed_dictionaries({"action": st.just("hashmod"), "source_labels": st.lists(label, min_size=1),
                               "modulus": st.integers(1, 8), "target_label": label}),
        st.fixed_dictionaries({"action": st.sampled_from(["lowercase", "uppercase"]), "target_label": label,
                               "source_labels": st.lists(label, min_size=1)}),
    )


def _sd():
    target = st.tuples(NAMES, st.integers(1, 65535)).map(lambda t: "%s:%d" % t)
    return st.fixed_dictionaries({}, optional={
        "static_configs": st.lists(st.fixed_dictionaries({"targets": st.lists(target, min_size=1, max_size=3)},
                                                         optional={"labels": st.dictionaries(NAMES.filter(
                                                             lambda n: re.match(r"^\w+$", n)), NAMES, max_size=2)}),
                                   min_size=1, max_size=2),
        "file_sd_configs": st.lists(st.fixed_dictionaries({"files": st.just(["/sd/*.json"])},
                                                          optional={"refresh_interval": DURATIONS}), min_size=1, max_size=1),
        "dns_sd_configs": st.lists(st.one_of(
            st.fixed_dictionaries({"names": st.just(["_x._tcp.example"])}, optional={"refresh_interval": DURATIONS}),
            st.fixed_dictionaries({"names": st.just(["db.example"]), "type": st.just("A"), "port": st.integers(1, 9999)})),
            min_size=1, max_size=1),
    })


def _job():
    optional = {
        "scrape_interval": DURATIONS, "scrape_timeout": DURATIONS,
        "body_size_limit": st.sampled_from(["10MB", "1GB", "512KB", "0", "100MiB"]),
        "tls_config": _tls(),
        "basic_auth": st.one_of(st.fixed_dictionaries({"username": NAMES, "password": st.just("secret")}),
                                st.fixed_dictionaries({"username": NAMES, "password_file": st.just("/run/pw")})),
        "relabel_configs": st.lists(_relabel(), min_size=1, max_size=3),
        "metric_relabel_configs": st.lists(_relabel(), min_size=1, max_size=2),
        "metrics_path": st.sampled_from(["/metrics", "/stats"]), "honor_labels": st.booleans(),
    }
    return st.tuples(st.fixed_dictionaries({"job_name": NAMES}, optional=optional), _sd()).map(
        lambda t: dict(t[0], **t[1])).filter(
        lambda j: _seconds(j.get("scrape_timeout", "0s")) <= _seconds(j.get("scrape_interval", "1m")))


def _seconds(text):
    return C.parse_duration(text) / 1e9


def _label_and_arg(error):
    match = re.search(r': [\w.]+ "(\w+)": ([\w.\[\]"]+)', error)
    return (match.group(1), match.group(2).split(".")[0].split("[")[0]) if match else (None, None)


def _accounted(errors, unconverted, label_of):
    """Errors left once those on an element reported as unconverted (same job/component, same key) are set aside."""
    reported = set((label_of(u), str(u.get("key") or "").split(".")[0].split("[")[0]) for u in unconverted)
    return [e for e in errors if _label_and_arg(e) not in reported]


# Both properties failed on the converters of HEAD (body_size_limit as a number, TLS ca/cert, an interval
# under 10s without a timeout; transform blocks without context, limit_percentage without a spike): they pass
# since the converters were fixed in the same change.
@SETTINGS
@given(jobs=st.lists(_job(), min_size=1, max_size=3, unique_by=lambda j: re.sub(r"\W", "_", j["job_name"])),
       interval=st.one_of(st.none(), DURATIONS))
def test_converted_prometheus_configs_meet_the_contract(jobs, interval):
    prometheus = {"scrape_configs": jobs}
    if interval:
        prometheus["global"] = {"scrape_interval": interval}
    result = prometheus_convert.convert(prometheus)
    errors = C.check(result["alloy"], "prometheus.alloy")
    label_of = lambda u: re.sub(r"\W", "_", str(u.get("job")))  # noqa: E731
    assert _accounted(errors, result["unconverted"], label_of) == [], result["alloy"]


def _processors():
    return st.fixed_dictionaries({}, optional={
        "batch": st.fixed_dictionaries({}, optional={"timeout": DURATIONS, "send_batch_size": st.integers(1, 10000),
                                                     "send_batch_max_size": st.integers(0, 10000)}).filter(
            lambda b: not b.get("send_batch_max_size") or b["send_batch_max_size"] >= b.get("send_batch_size", 8192)),
        "memory_limiter": st.one_of(
            st.fixed_dictionaries({"check_interval": DURATIONS, "limit_percentage": st.integers(50, 90)},
                                  optional={"spike_limit_percentage": st.integers(5, 20)}),
            st.fixed_dictionaries({"check_interval": DURATIONS, "limit_mib": st.integers(512, 4096)},
                                  optional={"spike_limit_mib": st.integers(64, 256)})),
        "attributes": st.fixed_dictionaries({"actions": st.lists(st.fixed_dictionaries({
            "key": NAMES, "action": st.sampled_from(["insert", "upsert", "delete"]), "value": NAMES}), min_size=1)}),
        "resource": st.fixed_dictionaries({"attributes": st.lists(st.fixed_dictionaries({
            "key": NAMES, "action": st.sampled_from(["insert", "upsert", "update", "delete"]), "value": NAMES}),
            min_size=1)}),
        "transform": st.fixed_dictionaries({"trace_statements": st.lists(st.one_of(
            st.fixed_dictionaries({"context": st.sampled_from(["span", "resource"]),
                                   "statements": st.just(['set(attributes["x"], "y")'])}),
            st.just('set(span.attributes["x"], "y")')), min_size=1, max_size=2)}),
        "filter": st.just({"error_mode": "ignore", "traces": {"span": ['attributes["drop"] == true']}}),
    })


@st.composite
def collectors(draw):
    processors = draw(_processors())
    receivers = {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}}}}
    extra = draw(st.lists(st.sampled_from(["jaeger", "zipkin", "prometheus"]), unique=True))
    for name in extra:
        receivers[name] = {"jaeger": {"protocols": {"thrift_compact": {"endpoint": "0.0.0.0:6831"}}},
                           "zipkin": {"endpoint": "0.0.0.0:9411"},
                           "prometheus": {"config": {"scrape_configs": []}}}[name]
    exporters = draw(st.lists(st.sampled_from(["otlp", "otlphttp", "prometheus", "loki", "debug"]), min_size=1,
                              unique=True))
    connectors = draw(st.lists(st.sampled_from(["spanmetrics", "servicegraph"]), unique=True))
    order = draw(st.permutations(sorted(processors)))
    pipelines = {"traces": {"receivers": ["otlp"] + [r for r in extra if r != "prometheus"],
                            "processors": list(order), "exporters": exporters + connectors},
                 "metrics": {"receivers": ["otlp"] + (["prometheus"] if "prometheus" in extra else []) + connectors,
                             "processors": [p for p in order if p in ("batch", "memory_limiter")],
                             "exporters": exporters},
                 "logs": {"receivers": ["otlp"], "processors": [p for p in order if p == "batch"],
                          "exporters": exporters}}
    return {"receivers": receivers, "processors": processors, "exporters": dict((e, {}) for e in exporters),
            "connectors": dict((c, {}) for c in connectors), "service": {"pipelines": pipelines}}


@SETTINGS
@given(collector=collectors())
def test_converted_collector_configs_meet_the_contract(collector):
    result = otelcol_convert.convert(collector)
    errors = C.check(result["alloy"], "collector.alloy")
    label_of = lambda u: re.sub(r"\W", "_", "legacy_%s" % str(u.get("component")).replace("/", "_"))  # noqa: E731
    assert _accounted(errors, result["unconverted"], label_of) == [], result["alloy"]
