"""legacy_stack_info on realistic legacy projects, resolved by Compose and by the module's own merge."""

import json
import os

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError
from ansible_collections.lgtm.stack.plugins.modules import legacy_stack_info

from tests.unit.conftest import EXAMPLE, PROJECTS, real_run_command


def analyse(path, resolver, **kwargs):
    return L.analyse_project(str(path), run_command=resolver, **kwargs)


def test_example_project(resolver):
    legacy = analyse(EXAMPLE, resolver)
    assert legacy["resolved_by"] == ("docker compose config" if resolver else "raw")
    assert legacy["components"] == {
        "app": ["api"], "grafana": ["grafana"], "jaeger": ["jaeger"], "loki": ["loki"], "mysql": ["mysql"],
        "mysqld_exporter": ["mysqld-exporter"], "prometheus": ["prometheus"], "promtail": ["promtail"],
        "redis": ["redis"], "redis_exporter": ["redis-exporter"],
    }
    services = legacy["services"]
    assert services["api"]["line"] == 14 and services["api"]["file"].endswith("docker-compose.yml")
    assert services["redis-exporter"]["image_pinned"] is False
    assert services["jaeger"]["image_pinned"] is True
    assert {"published": "16686", "target": 16686, "protocol": "tcp"}.items() <= services["jaeger"]["ports"][0].items()
    # Secrets: masked values, named keys.
    assert services["api"]["environment"]["MYSQL_DSN"] == "shop:********@tcp(mysql:3306)/shop?parseTime=true"
    assert services["mysql"]["secret_env"] == ["MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"]
    assert "GF_SECURITY_ADMIN_PASSWORD" in services["grafana"]["secret_env"]
    blob = json.dumps(legacy)
    for secret in ("example-shop-pw", "example-root-pw", "example-admin-pw", "example-exporter-pw"):
        assert secret not in blob
    # Prometheus: every job, in order, with lines; rule files with their alerts.
    prom = legacy["prometheus"]
    assert [j["job_name"] for j in prom["scrape_configs"]] == ["prometheus", "shop-api", "shop-worker", "mysql", "redis", "jaeger"]
    assert prom["scrape_configs"][1]["line"] == 15
    assert prom["rule_files"][0]["alerts"] == ["MySQLDown", "ShopApiDown"]
    assert prom["retention"] == "15d"
    # Apps: the API in compose (pointing at Jaeger twice) and the worker on the host.
    api, worker = legacy["apps"]
    assert api["name"] == "api" and api["jaeger_env"] == ["JAEGER_AGENT_HOST", "JAEGER_AGENT_PORT"]
    otlp = [e for e in api["telemetry_env"] if e["key"] == "OTEL_EXPORTER_OTLP_ENDPOINT"][0]
    assert otlp["points_at_component"] == "jaeger" and otlp["port"] == 4318
    assert api["scrape_jobs"] == [{"job": "shop-api", "target": "api:8080", "line": 15}]
    assert worker == {"name": "shop-worker", "where": "host", "service": None, "telemetry_env": [],
                      "scrape_jobs": [{"job": "shop-worker", "target": "host.docker.internal:9464", "line": 23}],
                      "jaeger_env": []}
    # Grafana: datasources with and without uid, dashboards with every kind of reference.
    grafana = legacy["grafana"]
    assert [(d["name"], d["uid"], d["type"]) for d in grafana["datasources"]] == [
        ("Prometheus", "prometheus-main", "prometheus"), ("Loki", None, "loki"), ("Jaeger", "jaeger", "jaeger")]
    dashboards = {d["relative_path"]: d for d in grafana["dashboards"]}
    assert set(dashboards) == {"infra/mysql-redis.json", "shop/api-overview.json"}
    assert dashboards["infra/mysql-redis.json"]["inputs"] == [{"name": "DS_PROMETHEUS", "plugin": "prometheus"}]
    queries = dashboards["shop/api-overview.json"]["queries"]
    assert [(q["panel_id"], q["ref_id"], q["datasource_type"]) for q in queries] == [
        (1, "A", "prometheus"), (2, "A", "prometheus"), (3, "A", None), (4, "A", "jaeger"), (5, "A", "prometheus"),
        (5, "B", "loki")]
    assert queries[2]["datasource"] == "Loki" and queries[2]["expr"] == '{container="api"} |= "error"'
    assert queries[3]["query_type"] == "search"
    assert len(dashboards["infra/mysql-redis.json"]["queries"]) == 4
    kinds = {r["kind"] for r in dashboards["shop/api-overview.json"]["datasource_refs"]}
    assert kinds == {"uid", "name", "mixed"}
    assert dashboards["infra/mysql-redis.json"]["panels"] == 6
    assert grafana["anonymous_enabled"] is True
    # Loki v12 with retention "enabled" but no delete_request_store; Promtail's labels.
    assert legacy["loki"]["schemas"][0]["schema"] == "v12"
    assert legacy["loki"]["retention_enabled"] is True and legacy["loki"]["delete_request_store"] is None
    assert legacy["promtail"]["labels_from_logs"] == [{"job": "docker", "label": "level", "line": 29}]
    # Exporters and volumes.
    mysqld = legacy["exporters"]["mysqld_exporter"][0]
    assert mysqld["auth"] == "my.cnf" and mysqld["target"] == "mysql:3306" and mysqld["my_cnf"]["user"] == "exporter"
    assert legacy["exporters"]["redis_exporter"][0]["target"] == "redis:6379"
    assert legacy["named_volumes"]["prometheus-data"] == {"used_by": ["prometheus"], "name": "shop_prometheus-data",
                                                         "external": False}
    assert legacy["warnings"] == []


def test_otel_collector_project(resolver):
    legacy = analyse(PROJECTS / "otel-collector", resolver)
    assert legacy["compose_files"][1].endswith("compose.override.yaml")
    comps = legacy["components"]
    assert comps["otel_collector"] == ["otel-collector"] and comps["app"] == ["ledger", "payments"]
    assert comps["other"] == ["postgres"]
    services = legacy["services"]
    assert services["payments"]["image"] == "registry.example.com/payments/api:1.14.2"  # .env interpolation
    assert any(p.get("host_ip") == "127.0.0.1" for p in services["payments"]["ports"])  # override merged
    assert services["payments"]["environment"]["OTEL_RESOURCE_ATTRIBUTES"] == "deployment.environment=staging,team=payments"
    assert services["payments"]["environment"]["DB_PASSWORD"] == "********"
    assert "s3cr3t-pg-pw" not in json.dumps(legacy)
    col = legacy["otel_collector"]
    assert set(col["receivers"]) == {"otlp", "hostmetrics"}
    assert col["pipelines"]["logs"]["processors"] == ["memory_limiter", "resource", "attributes/loki", "batch"]
    assert col["exporters"]["prometheus"]["const_labels"] == {"source": "otel-collector"}
    ledger = [a for a in legacy["apps"] if a["name"] == "ledger"][0]
    endpoint = [e for e in ledger["telemetry_env"] if e["key"] == "OTEL_EXPORTER_OTLP_ENDPOINT"][0]
    assert endpoint["points_at_component"] == "otel_collector" and endpoint["port"] == 4317
    # Prometheus config comes from a mounted directory, not a file.
    assert legacy["prometheus"]["file"].endswith("prometheus/prometheus.yml")
    assert [j["job_name"] for j in legacy["prometheus"]["scrape_configs"]] == ["otel-collector", "otel-collector-internal"]
    # Loki runs on its image's default config: not mounted, said so.
    assert any("loki" in w and "not bind-mounted" in w for w in legacy["warnings"])
    grafana = legacy["grafana"]
    assert [d["uid"] for d in grafana["datasources"]] == [None, "jaeger-ds", "loki-ds"]
    dash = grafana["dashboards"][0]
    assert dash["uid"] == "pay-red" and dash["folder"] == "Payments"  # API export wrapper unwrapped


def test_jaeger_split_project(resolver):
    legacy = analyse(PROJECTS / "jaeger-split", resolver)
    comps = legacy["components"]
    assert comps["jaeger"] == ["jaeger-collector", "jaeger-query"]
    assert comps["mysql"] == ["db"] and comps["redis"] == ["cache"]
    assert comps["mysqld_exporter"] == ["mysql-exporter"] and comps["redis_exporter"] == ["redis-exporter"]
    assert comps["other"] == ["elasticsearch"] and comps["app"] == ["orders"]
    unpinned = sorted(n for n, s in legacy["services"].items() if not s["image_pinned"])
    assert unpinned == ["orders", "prometheus", "redis-exporter"]
    assert legacy["exporters"]["mysqld_exporter"][0] == {"service": "mysql-exporter", "auth": "DATA_SOURCE_NAME",
                                                        "target": "db:3306", "my_cnf": None,
                                                        "password_ref": None, "user": "exporter"}
    assert legacy["exporters"]["redis_exporter"][0]["password_set"] is True
    blob = json.dumps(legacy)
    for secret in ("maria-root-pw", "maria-exporter-pw", "orders-redis-pw", "orders-metrics-pw"):
        assert secret not in blob, secret
    jobs = {j["job_name"]: j for j in legacy["prometheus"]["scrape_configs"]}
    assert jobs["orders"]["basic_auth"] == {"username": "prom", "password": "********"}
    assert jobs["orders"]["scheme"] == "https" and jobs["orders"]["metrics_path"] == "/internal/metrics"
    assert jobs["file-targets"]["file_sd_files"][0]["host_path"].endswith("prom/targets/*.json")
    assert len(jobs["file-targets"]["relabel_configs"]) == 2
    host_apps = [a for a in legacy["apps"] if a["where"] == "host"]
    assert [a["scrape_jobs"][0]["target"] for a in host_apps] == ["host.docker.internal:2112", "172.17.0.1:2113"]
    orders = [a for a in legacy["apps"] if a["name"] == "orders"][0]
    assert orders["jaeger_env"] == ["OTEL_EXPORTER_JAEGER_ENDPOINT"]
    assert orders["scrape_jobs"] == [{"job": "orders", "target": "orders:8443", "line": 5}]
    assert legacy["named_volumes"] == {
        "es-data": {"used_by": ["elasticsearch"], "name": "jaeger-split_es-data", "external": False},
        "prom-data": {"used_by": ["prometheus"], "name": "jaeger-split_prom-data", "external": False}}
    assert legacy["services"]["prometheus"]["logging_driver"] == "loki"
    assert legacy["services"]["prometheus"]["logging_url"] == "http://localhost:3100/loki/api/v1/push"


def test_grafana_promtail_project(resolver):
    legacy = analyse(PROJECTS / "grafana-promtail", resolver)
    assert legacy["components"]["app"] == ["web"]
    assert [d["uid"] for d in legacy["grafana"]["datasources"]] == [None, None]
    dash = legacy["grafana"]["dashboards"][0]
    assert dash["folder"] == "team-a"
    assert dash["inputs"] == [{"name": "DS_LOKI", "plugin": "loki"}, {"name": "DS_JAEGER", "plugin": "jaeger"}]
    assert {r["value"] for r in dash["datasource_refs"] if r["kind"] == "input"} == {"DS_LOKI", "DS_JAEGER"}
    labels = [entry["label"] for entry in legacy["promtail"]["labels_from_logs"]]
    assert labels == ["stream", "traceID"]
    assert legacy["loki"]["schemas"][0]["schema"] == "v11"
    assert legacy["loki"]["retention_period"] == "720h" and legacy["loki"]["retention_enabled"] is False
    assert any("/opt/dashboards" in w for w in legacy["warnings"])
    assert legacy["grafana"]["admin_password_in_env"] is True


def test_host_apps_project(resolver):
    legacy = analyse(PROJECTS / "host-apps", resolver)
    assert legacy["components"] == {"jaeger": ["jaeger"], "prometheus": ["prometheus"]}
    assert legacy["prometheus"]["file"] is None
    assert any("prometheus" in w and "not bind-mounted" in w for w in legacy["warnings"])
    assert all(p["host_ip"] == "127.0.0.1" for p in legacy["services"]["jaeger"]["ports"])


def test_partial_lgtm_project(resolver):
    legacy = analyse(PROJECTS / "partial-lgtm", resolver)
    comps = legacy["components"]
    # Detected by image first: the service named "alloy" is an application, not Grafana Alloy.
    assert comps["app"] == ["alloy"] and comps["tempo"] == ["tempo"] and comps["loki"] == ["loki"]
    assert legacy["services"]["alloy"]["detected_by"] == "telemetry environment"
    assert legacy["loki"]["schemas"][0]["schema"] == "v13" and legacy["loki"]["delete_request_store"] == "filesystem"
    app = legacy["apps"][0]
    assert [e.get("points_at_component") for e in app["telemetry_env"] if e["key"] == "OTEL_EXPORTER_OTLP_ENDPOINT"] == ["tempo"]


# ------------------------------------------------------------------ classification rules


@pytest.mark.parametrize(
    ("name", "svc", "component"),
    [
        ("x", {"image": "quay.io/prometheus/prometheus:v2.45.0"}, "prometheus"),
        ("x", {"image": "ghcr.io/open-telemetry/opentelemetry-collector-releases/opentelemetry-collector-contrib:0.99.0"},
         "otel_collector"),
        ("x", {"image": "grafana/grafana-enterprise:10.2.0"}, "grafana"),
        ("x", {"image": "bitnami/redis-exporter:1.58.0"}, "redis_exporter"),
        ("x", {"image": "valkey/valkey:7.2"}, "redis"),
        ("x", {"image": "lgtm-test/standin/jaeger:orchestration-only"}, "jaeger"),
        ("x", {"image": "lgtm-test/mariadb:10.11"}, "mysql"),
        ("x", {"image": "registry:5000/grafana/agent:v0.40.0"}, "grafana_agent"),
        # A name or a port alone never makes a service one the migration removes.
        ("monitoring", {"image": "acme/tool:1", "ports": [{"target": 9090}]}, "other"),
        ("otel-col", {"image": "acme/custom:1"}, "other"),
        ("tempo", {"image": "acme/tempo-scheduler:2.1"}, "other"),
        ("grafana", {"image": "nginx:1.25", "ports": [{"target": 3000}]}, "other"),
        ("web", {"image": "node:20", "ports": [{"target": 3000}]}, "other"),
        ("db", {"image": "acme/db:1", "ports": [{"target": 3306}]}, "mysql"),
        ("cache", {"image": "acme/kv:1"}, "other"),
        ("redis-cache", {"image": "acme/kv:1"}, "redis"),
        ("svc", {"build": "."}, "app"),
        ("metrics", {"image": "acme/prom-fork:2", "volumes": [
            {"type": "bind", "source": "/p/prometheus.yml", "target": "/etc/prom/prometheus.yml"}]}, "prometheus"),
        ("collector", {"image": "acme/otel:1", "volumes": [
            {"type": "bind", "source": "/p/c.yaml", "target": "/etc/otelcol-contrib/config.yaml"}]}, "otel_collector"),
        ("svc", {"image": "nginx:1.25"}, "other"),
    ],
)
def test_classify(name, svc, component):
    assert L.classify(name, svc)[0] == component


@pytest.mark.parametrize(("dockerfile", "component"), [
    ("FROM prom/prometheus:v2.53.0\n", "prometheus"),
    ("FROM prom/prometheus:v2.53.0 AS base\nRUN true\nFROM base\n", "prometheus"),
    ("FROM golang:1.22 AS build\nFROM grafana/loki:3.0.0\n", "loki"),
    # What runs is the final stage: a build stage on a stack image does not make the service one.
    ("FROM grafana/loki:3.0.0 AS tools\nFROM debian:12\nCOPY --from=tools /usr/bin/loki /x\n", "app"),
])
def test_classify_by_the_final_stage_of_the_dockerfile(tmp_path, dockerfile, component):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    assert L.classify("svc", {"build": {"context": str(tmp_path)}})[0] == component


# ------------------------------------------------------------------ bad input: clear errors naming the file


def test_malformed_compose_yaml_names_file_and_line(project_copy, resolver):
    project = project_copy("host-apps")
    (project / "compose.yml").write_text("services:\n  jaeger:\n    image: [unclosed\n")
    with pytest.raises(InputError) as err:
        analyse(project, resolver)
    assert str(err.value).startswith(str(project / "compose.yml") + ":")
    assert "malformed YAML" in str(err.value) and err.value.line == 4


def test_malformed_prometheus_config(project_copy, resolver):
    project = project_copy("example")
    (project / "prometheus" / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n   bad: indent\n")
    with pytest.raises(InputError) as err:
        analyse(project, resolver)
    assert str(err.value).startswith(str(project / "prometheus" / "prometheus.yml") + ":5: malformed YAML")


def test_duplicate_job_name(project_copy, resolver):
    project = project_copy("example")
    path = project / "prometheus" / "prometheus.yml"
    path.write_text(path.read_text() + "  - job_name: redis\n    static_configs: [{targets: ['x:1']}]\n")
    with pytest.raises(InputError, match=r"job_name 'redis' is used twice \(first at line 36\)"):
        analyse(project, resolver)


def test_missing_mounted_config(project_copy, resolver):
    project = project_copy("example")
    os.remove(project / "loki" / "loki.yml")
    with pytest.raises(InputError) as err:
        analyse(project, None)  # compose itself would only create a directory there
    assert "loki.yml" in str(err.value) and "not found" in str(err.value)


def test_malformed_dashboard_json(project_copy, resolver):
    project = project_copy("example")
    (project / "grafana" / "dashboards" / "shop" / "api-overview.json").write_text('{"uid": "x",\n  "panels": [}\n')
    with pytest.raises(InputError) as err:
        analyse(project, resolver)
    assert err.value.line == 2 and "api-overview.json:2: malformed JSON" in str(err.value)


def test_unset_required_variable(project_copy, resolver):
    project = project_copy("otel-collector")
    (project / ".env").write_text("DB_PASSWORD=x\n")
    with pytest.raises(InputError) as err:
        analyse(project, resolver)
    assert "PAYMENTS_TAG" in str(err.value)
    assert str(err.value).startswith(str(project / "compose.yaml"))


def test_pipeline_with_undeclared_component(project_copy, resolver):
    project = project_copy("otel-collector")
    path = project / "otel" / "collector.yaml"
    path.write_text(path.read_text().replace("exporters: [loki, debug]", "exporters: [loki, kafka]"))
    with pytest.raises(InputError, match="pipeline logs uses exporter 'kafka', which is not declared"):
        analyse(project, resolver)


def test_bad_env_file_line(project_copy):
    project = project_copy("otel-collector")
    (project / ".env").write_text("PAYMENTS_TAG=1\nthis is not an assignment\n")
    with pytest.raises(InputError) as err:
        analyse(project, None)
    assert str(err.value) == "%s:2: not a KEY=VALUE line: 'this is not an assignment'" % (project / ".env")


def test_no_compose_file(tmp_path, resolver):
    with pytest.raises(InputError, match="no compose file found"):
        analyse(tmp_path, resolver)


def test_unreadable_compose_file(project_copy, monkeypatch):
    project = project_copy("host-apps")
    target = str(project / "compose.yml")
    real_access = os.access
    # Tests run as root, who reads everything: simulate the permission denial.
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == target else real_access(path, mode))
    with pytest.raises(InputError) as err:
        analyse(project, None)
    assert str(err.value) == "%s: compose file is not readable (permissions)" % target


def test_services_must_be_a_mapping(project_copy, resolver):
    project = project_copy("host-apps")
    (project / "compose.yml").write_text("services:\n  - jaeger\n")
    with pytest.raises(InputError, match=r"compose.yml:1: 'services' must be a mapping"):
        analyse(project, resolver)


# ------------------------------------------------------------------ the module itself


def test_module_returns_legacy_in_check_mode(run_module):
    result, failed = run_module(legacy_stack_info, {"project_dir": str(EXAMPLE)}, check_mode=True)
    assert not failed and result["changed"] is False
    assert result["legacy"]["components"]["jaeger"] == ["jaeger"]


def test_module_fails_cleanly_on_bad_input(run_module, tmp_path):
    (tmp_path / "compose.yaml").write_text("services: {a: {image: x:1}\n")
    result, failed = run_module(legacy_stack_info, {"project_dir": str(tmp_path)})
    assert failed
    assert result["msg"].startswith(str(tmp_path / "compose.yaml") + ":")
    assert result["file"] == str(tmp_path / "compose.yaml") and "exception" not in result


def test_cli_and_raw_agree_on_the_example():
    if real_run_command(["docker", "compose", "version"])[0] != 0:
        pytest.skip("docker compose is not installed here")
    via_cli = L.analyse_project(str(EXAMPLE), run_command=real_run_command)
    raw = L.analyse_project(str(EXAMPLE), run_command=None)
    for key in ("components", "prometheus", "grafana", "loki", "promtail", "exporters", "apps", "named_volumes"):
        assert via_cli[key] == raw[key], key
    for name, svc in via_cli["services"].items():
        for key in ("component", "image", "environment", "secret_env", "depends_on", "mounted_files"):
            assert svc[key] == raw["services"][name][key], (name, key)


def test_ports_in_use_sees_a_listener_and_not_a_free_port():
    import socket

    from ansible_collections.lgtm.stack.plugins.modules.legacy_stack_info import ports_in_use

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    busy = listener.getsockname()[1]
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    try:
        assert [p["port"] for p in ports_in_use("127.0.0.1", [busy, free])] == [busy]
    finally:
        listener.close()
