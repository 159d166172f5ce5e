"""prometheus_to_alloy keeps the semantics of every job: names, targets, labels, timing, path, scheme, auth, relabeling."""

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.lgtm.stack.plugins.filter.prometheus_to_alloy import FilterModule
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils import prometheus_convert as P
from tests.unit.conftest import EXAMPLE, PROJECTS

FILTER = FilterModule().filters()["prometheus_to_alloy"]


def semantics_of_alloy(text):
    """Per job name: what Alloy will scrape, read back from the generated config with our parser."""
    config = P.check_converted(text)
    comps = config.components()
    jobs = {}
    for (name, label), node in comps.items():
        if name != "prometheus.scrape":
            continue
        attrs, blocks = A.body_values(node)
        targets = attrs["targets"]
        relabel = []
        if isinstance(targets, A.Expr) and targets.text.startswith("discovery.relabel."):
            r_attrs, r_blocks = A.body_values(comps[("discovery.relabel", label)])
            relabel = [A.body_values(rule)[0] for rule in r_blocks.get("rule", [])]
            targets = r_attrs["targets"]
        sd = []
        if isinstance(targets, A.Expr) and targets.text.startswith("discovery.file."):
            sd = A.body_values(comps[("discovery.file", targets.text.split(".")[2])])[0]["files"]
            targets = []
        metric_relabel = []
        forward = attrs["forward_to"][0].text
        if forward.startswith("prometheus.relabel."):
            m_attrs, m_blocks = A.body_values(comps[("prometheus.relabel", label)])
            metric_relabel = [A.body_values(rule)[0] for rule in m_blocks.get("rule", [])]
            forward = m_attrs["forward_to"][0].text
        auth = A.body_values(blocks["basic_auth"][0])[0] if "basic_auth" in blocks else None
        tls = A.body_values(blocks["tls_config"][0])[0] if "tls_config" in blocks else None
        jobs[attrs["job_name"]] = {
            "targets": sorted((t["__address__"], tuple(sorted((k, v) for k, v in t.items() if k != "__address__")))
                              for t in targets),
            "file_sd": sd, "interval": attrs["scrape_interval"], "timeout": attrs.get("scrape_timeout"),
            "path": attrs.get("metrics_path", "/metrics"), "scheme": attrs.get("scheme", "http"),
            "params": attrs.get("params"), "auth": auth, "tls": tls, "relabel": relabel,
            "metric_relabel": metric_relabel, "forward_to": forward,
        }
    return jobs


def semantics_of_prometheus(prom, secret_as=None):
    glob = prom.get("global") or {}
    jobs = {}
    for job in prom["scrape_configs"]:
        targets = []
        for static in job.get("static_configs") or []:
            labels = tuple(sorted((str(k), str(v)) for k, v in (static.get("labels") or {}).items()))
            targets.extend((str(t), labels) for t in static.get("targets") or [])
        auth = job.get("basic_auth")
        if auth and secret_as:
            auth = dict(auth, password=secret_as(job["job_name"]))
        jobs[job["job_name"]] = {
            "targets": sorted(targets),
            "file_sd": [f for sd in job.get("file_sd_configs") or [] for f in sd.get("files") or []],
            "interval": job.get("scrape_interval") or glob.get("scrape_interval") or "1m",
            "timeout": job.get("scrape_timeout") or glob.get("scrape_timeout"),
            "path": job.get("metrics_path", "/metrics"), "scheme": job.get("scheme", "http"),
            "params": job.get("params"), "auth": auth, "tls": job.get("tls_config"),
            "relabel": [dict((k, v) for k, v in r.items()) for r in job.get("relabel_configs") or []],
            "metric_relabel": [dict(r) for r in job.get("metric_relabel_configs") or []],
            "forward_to": P.DEFAULT_FORWARD_TO,
        }
    return jobs


@pytest.mark.parametrize("project", [EXAMPLE, PROJECTS / "jaeger-split", PROJECTS / "otel-collector"],
                         ids=["example", "jaeger-split", "otel-collector"])
def test_every_job_keeps_its_semantics(project):
    legacy = L.analyse_project(str(project))
    prom_path = legacy["prometheus"]["file"]
    with open(prom_path) as handle:
        original = yaml.safe_load(handle)
    converted = FILTER(legacy["prometheus"])
    expected = semantics_of_prometheus(
        original, secret_as=lambda job: A.Expr('sys.env("%s")' % P._env_name(job, "PASSWORD")))
    assert semantics_of_alloy(converted["alloy"]) == expected
    assert [j["job_name"] for j in converted["jobs"]] == [j["job_name"] for j in original["scrape_configs"]]


def test_raw_prometheus_yaml_with_real_secret_stays_literal():
    prom = {"scrape_configs": [{"job_name": "a", "basic_auth": {"username": "u", "password": "p"},
                                "static_configs": [{"targets": ["a:1"]}]}]}
    converted = FILTER(prom)
    attrs = semantics_of_alloy(converted["alloy"])["a"]
    assert attrs["auth"] == {"username": "u", "password": "p"} and converted["env_vars"] == []


def test_masked_secret_becomes_env_and_is_listed():
    legacy = L.analyse_project(str(PROJECTS / "jaeger-split"))
    converted = FILTER(legacy["prometheus"])
    assert converted["env_vars"] == [{"job": "orders", "variable": "LGTM_SCRAPE_ORDERS_PASSWORD", "what": "PASSWORD"}]
    assert "orders-metrics-pw" not in converted["alloy"] and "********" not in converted["alloy"]
    assert converted["mounts"] == [{"job": "file-targets", "key": "file_sd_configs[0].files",
                                    "container_path": "/etc/prom/targets/*.json",
                                    "alloy_path": "/etc/prom/targets/*.json", "mapped": False}]


def test_target_map_and_exclusion():
    legacy = L.analyse_project(str(EXAMPLE))
    converted = FILTER(legacy["prometheus"], target_map={"mysqld-exporter:9104": "exporters-mysqld:9104"},
                       exclude_jobs=["prometheus", "jaeger"])
    jobs = semantics_of_alloy(converted["alloy"])
    assert sorted(jobs) == ["mysql", "redis", "shop-api", "shop-worker"]
    assert jobs["mysql"]["targets"] == [("exporters-mysqld:9104", ())]
    assert jobs["shop-api"]["targets"] == [("api:8080", (("service", "shop-api"),))]
    assert jobs["redis"]["metric_relabel"][0]["action"] == "keep"


def test_unconvertible_parts_are_reported_not_dropped():
    prom = {
        "global": {"scrape_interval": "15s", "query_log_file": "/q.log", "external_labels": {"env": "dev"}},
        "rule_files": ["/etc/prometheus/rules.yml"], "remote_read": [{"url": "http://x"}],
        "scrape_configs": [{
            "job_name": "k8s", "kubernetes_sd_configs": [{"role": "pod"}], "oauth2": {"client_id": "x"},
            "relabel_configs": [{"action": "keep", "regex": "a", "bogus": 1}], "body_size_limit": "10MB",
            "tls_config": {"insecure_skip_verify": True, "min_version": "TLS12", "weird": 1},
        }],
    }
    converted = FILTER(prom)
    reported = {(u["job"], u["key"]) for u in converted["unconverted"]}
    assert reported == {(None, "rule_files"), (None, "remote_read"), (None, "global.query_log_file"),
                        ("k8s", "kubernetes_sd_configs"), ("k8s", "oauth2"), ("k8s", "relabel_configs[0].bogus"),
                        ("k8s", "tls_config.weird")}
    assert 'body_size_limit = "10MiB"' in converted["alloy"]
    assert converted["external_labels"] == {"env": "dev"}
    P.check_converted(converted["alloy"])


def test_label_collision_is_an_error():
    prom = {"scrape_configs": [{"job_name": "a-b"}, {"job_name": "a_b"}]}
    with pytest.raises(AnsibleFilterError, match="map to the same Alloy label 'a_b'"):
        FILTER(prom)
    with pytest.raises(AnsibleFilterError, match="expects a Prometheus config mapping"):
        FILTER(["not", "a", "mapping"])


def test_multiple_discoveries_are_concatenated():
    prom = {"scrape_configs": [{"job_name": "mixed", "static_configs": [{"targets": ["a:1"]}],
                                "file_sd_configs": [{"files": ["/f/*.json"]}],
                                "docker_sd_configs": [{"host": "unix:///var/run/docker.sock", "port": 8080,
                                                       "filters": [{"name": "label", "values": ["scrape=true"]}]}]}]}
    text = FILTER(prom)["alloy"]
    config = P.check_converted(text)
    attrs, _ = A.body_values(config.components()[("prometheus.scrape", "mixed")])
    assert attrs["targets"].text.startswith("array.concat(")
    docker_attrs, docker_blocks = A.body_values(config.components()[("discovery.docker", "mixed")])
    assert docker_attrs == {"host": "unix:///var/run/docker.sock", "port": 8080}
    assert A.body_values(docker_blocks["filter"][0])[0] == {"name": "label", "values": ["scrape=true"]}


def test_every_discovery_refresh_interval_is_a_go_duration():
    """Prometheus reads 1d, 2w; Alloy reads Go durations only (no d, w or y): every discovery converts it."""
    prom = {"scrape_configs": [{"job_name": "sd", "file_sd_configs": [{"files": ["/f/*.json"], "refresh_interval": "1d"}],
                                "docker_sd_configs": [{"host": "unix:///var/run/docker.sock", "refresh_interval": "2d"}],
                                "dns_sd_configs": [{"names": ["db.example"], "type": "A", "port": 9104,
                                                    "refresh_interval": "1w"}],
                                "http_sd_configs": [{"url": "http://sd:8080/targets", "refresh_interval": "1d12h"}]}]}
    components = P.check_converted(FILTER(prom)["alloy"]).components()
    seen = dict((kind, A.body_values(components[(kind, "sd")])[0]["refresh_interval"])
                for kind in ("discovery.file", "discovery.docker", "discovery.dns", "discovery.http"))
    assert seen == {"discovery.file": "24h", "discovery.docker": "48h", "discovery.dns": "168h",
                    "discovery.http": "36h"}


@pytest.mark.parametrize(("size", "expected"), [("10MB", 10485760), ("512KiB", 524288), ("0", 0), (42, 42), ("lots", None)])
def test_sizes(size, expected):
    assert P._bytes(size) == expected


def test_an_empty_or_zero_refresh_interval_leaves_alloys_default():
    """Alloy refuses a refresh interval that is not positive: 0 or "" means the default, as file and http did."""
    prom = {"scrape_configs": [{"job_name": "sd", "docker_sd_configs": [{"host": "unix:///var/run/docker.sock",
                                                                          "refresh_interval": 0}],
                                "file_sd_configs": [{"files": ["/f/*.json"], "refresh_interval": ""}]}]}
    components = P.check_converted(FILTER(prom)["alloy"]).components()
    for kind in ("discovery.docker", "discovery.file"):
        assert "refresh_interval" not in A.body_values(components[(kind, "sd")])[0], kind
