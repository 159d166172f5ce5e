"""Verify the migration of examples/legacy-project (testinfra, on the docker-host instance).

Real here: MariaDB, Redis, Prometheus (legacy), mysqld-exporter and redis-exporter - the `mysql_up 1` and
`redis_up 1` checks are real scrapes of real databases, over the stack's network; the dashboards' PromQL is
parsed by the real promtool, and the bundled MySQL/Redis dashboards' metrics are looked up in the real
exporters' output. The API is the real Go program of docs/examples/go (the example's code after the Go
guide, built against Debian's OpenTelemetry Go SDK): what it logs and the OTLP it sends are real, decoded here
with the real protobuf definitions. Jaeger, Loki, Promtail, Grafana, Alloy, Tempo and Mimir containers are
orchestration-only stand-ins (lgtm-test/standin/*): checks on them prove that compose created, replaced,
removed and mounted the right containers, nothing about telemetry, config acceptance or correlation (the Alloy
stand-in only hands back, undecoded, the bytes the API posted to its address).
"""

import base64
import gzip
import json
import os
import re
import sys
import time
import uuid

import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "collections"))
from ansible_collections.lgtm.stack.plugins.module_utils import alloy  # noqa: E402 - the collection's own parser

SCENARIO = os.environ.get("MOLECULE_SCENARIO_NAME", "default")
PROJECT = "lgtm-molecule-%s" % SCENARIO
# The stack's network: compose key PROJECT (lgtm_network), scoped by Compose to the project.
NETWORK = "%s_%s" % (PROJECT, PROJECT)
PROJECT_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "legacy-project")
EXAMPLE_DIR = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "examples", "legacy-project")
LEGACY = ("jaeger", "prometheus", "promtail")
KEPT = ("api", "mysql", "redis")
STACK = ("alloy", "tempo", "loki", "mimir", "grafana", "mysqld-exporter", "redis-exporter")
OTLP_HTTP_PORT = 24318  # vars/main.yml lgtm_test_ports.otlp_http: Alloy's OTLP/HTTP port on the host
SECRETS = ("example-root-pw", "example-shop-pw", "example-admin-pw", "example-exporter-pw")


def _containers(host):
    out = host.check_output("docker container ls --all --no-trunc --filter label=com.docker.compose.project=%s "
                            "--format '{{json .}}'", PROJECT)
    items = [json.loads(line) for line in out.splitlines() if line.strip()]
    return dict((c["Labels"].split("com.docker.compose.service=")[1].split(",")[0], c) for c in items)


def _inspect(host, name):
    return json.loads(host.check_output("docker inspect %s", name))[0]


def test_legacy_containers_are_gone_and_the_new_ones_run(host):
    containers = _containers(host)
    assert set(containers) == set(KEPT + STACK)
    assert {c["State"] for c in containers.values()} == {"running"}
    # Loki and Grafana kept their service names but are the stack's now, from pinned images.
    for name in STACK:
        labels = _inspect(host, containers[name]["ID"])["Config"]["Labels"]
        assert labels.get("org.lgtm-stack.component"), name
        assert not containers[name]["Image"].endswith(":latest")


def test_legacy_data_is_kept(host):
    volumes = host.check_output("docker volume ls --format '{{.Name}}'").split()
    for name in ("prometheus-data", "loki-data", "grafana-data", "mysql-data", "redis-data"):
        assert "%s_%s" % (PROJECT, name) in volumes
    for path in ("prometheus/prometheus.yml", "promtail/promtail.yml", "loki/loki.yml",
                 "grafana/dashboards/shop/api-overview.json", "exporters/mysqld-exporter.my.cnf"):
        assert host.file(os.path.join(PROJECT_DIR, path)).exists, path


def test_no_new_component_mounts_a_legacy_volume(host):
    """The stack's volumes are its own (lgtm-<component>-data); the legacy ones stay unused and untouched."""
    containers = _containers(host)
    legacy = set("%s_%s" % (PROJECT, n) for n in ("prometheus-data", "loki-data", "grafana-data"))
    for name in STACK:
        mounts = _inspect(host, containers[name]["ID"])["Mounts"]
        named = set(m["Name"] for m in mounts if m.get("Type") == "volume")
        assert not named & legacy, (name, named)
    for component in ("loki", "grafana", "tempo", "mimir"):
        mounts = _inspect(host, containers[component]["ID"])["Mounts"]
        assert "%s_lgtm-%s-data" % (PROJECT, component) in [m.get("Name") for m in mounts], component


def test_compose_file_edited_round_trip(host):
    main = host.file(os.path.join(PROJECT_DIR, "docker-compose.yml")).content_string
    with open(os.path.join(EXAMPLE_DIR, "docker-compose.yml"), encoding="utf-8") as handle:
        original = handle.read()
    # Comments, the anchor and its aliases, quoting and the order of what stays are the user's.
    for line in original.splitlines():
        if line.lstrip().startswith("#"):
            assert line in main, line
    assert "x-logging: &default-logging" in main and main.count("logging: *default-logging") == 3
    assert '      MYSQL_DSN: "shop:${MYSQL_PASSWORD}@tcp(mysql:3306)/shop?parseTime=true"' in main
    assert main.index("  api:") < main.index("  mysql:") < main.index("  redis:")
    assert "include:\n  - observability/compose.yaml\n" in main
    for name in LEGACY + ("loki", "grafana", "mysqld-exporter", "redis-exporter"):
        assert "\n  %s:\n" % name not in main
    model = json.loads(host.check_output("docker compose --project-directory %s config --format json", PROJECT_DIR))
    assert set(model["services"]) == set(KEPT + STACK)
    assert "prometheus-data" not in model.get("volumes", {})


def test_apps_are_rewired_to_alloy(host):
    env = dict(item.split("=", 1) for item in _inspect(host, _containers(host)["api"]["ID"])["Config"]["Env"])
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://alloy:4318"
    assert env["JAEGER_AGENT_HOST"] == "alloy"
    assert env["OTEL_SERVICE_NAME"] == "shop-api"
    assert "service.namespace=%s" % PROJECT in env["OTEL_RESOURCE_ATTRIBUTES"]
    for name in KEPT:
        networks = _inspect(host, _containers(host)[name]["ID"])["NetworkSettings"]["Networks"]
        assert NETWORK in networks, name


def test_one_backup_with_the_originals(host):
    root = os.path.join(PROJECT_DIR, ".lgtm-backup")
    runs = host.check_output("ls %s", root).split()
    assert len(runs) == 1, "an unchanged re-run must make no backup: %s" % runs
    backup = os.path.join(root, runs[0])
    assert host.file(backup).mode == 0o700
    with open(os.path.join(EXAMPLE_DIR, "docker-compose.yml"), encoding="utf-8") as handle:
        assert host.file(os.path.join(backup, "docker-compose.yml")).content_string == handle.read()
    assert "jaeger:" in host.file(os.path.join(backup, "docker-compose.override.yml")).content_string
    for rel in ("grafana/dashboards/shop/api-overview.json", "grafana/dashboards/infra/mysql-redis.json"):
        with open(os.path.join(EXAMPLE_DIR, rel), encoding="utf-8") as handle:
            assert host.file(os.path.join(backup, rel)).content_string == handle.read()


def _datasource_uids(node, out):
    if isinstance(node, dict):
        ds = node.get("datasource")
        if isinstance(ds, dict):
            out.add(ds.get("uid"))
        elif isinstance(ds, str):
            out.add(ds)
        for value in node.values():
            _datasource_uids(value, out)
    elif isinstance(node, list):
        for item in node:
            _datasource_uids(item, out)
    return out


def test_dashboards_rewritten_onto_the_new_datasources(host):
    base = os.path.join(PROJECT_DIR, "observability", "grafana", "dashboards", "project")
    api = json.loads(host.file(os.path.join(base, "shop", "api-overview.json")).content_string)
    infra = json.loads(host.file(os.path.join(base, "infra", "mysql-redis.json")).content_string)
    assert api["uid"] == "shop-api-overview" and infra["uid"] == "shop-mysql-redis"
    assert _datasource_uids(api, set()) <= {"mimir", "loki", "tempo", "-- Mixed --"}
    assert _datasource_uids(infra, set()) == {"mimir"}
    assert "__inputs" not in infra
    traces = [p for p in api["panels"] if p["title"] == "Slow traces"][0]["targets"][0]
    assert traces["queryType"] == "traceql"
    assert traces["query"] == '{resource.service.name="shop-api" && name="GET /products" && duration>=500ms}'
    assert traces["datasource"] == {"type": "tempo", "uid": "tempo"}


def test_report_and_recorded_plan(host):
    report = host.file(os.path.join(PROJECT_DIR, "observability", "MIGRATION_REPORT.md"))
    state = json.loads(host.file(os.path.join(PROJECT_DIR, "observability", "MIGRATION_REPORT.json")).content_string)
    assert report.exists and "P001" in report.content_string
    assert state["generator"] == "lgtm.stack.migrate"
    assert sorted(r["service"] for r in state["plan"]["remove_services"]) == sorted(
        LEGACY + ("loki", "grafana", "mysqld-exporter", "redis-exporter"))
    assert not host.file(os.path.join(PROJECT_DIR, ".lgtm-migrate.lock")).exists


def test_sre_guide_block_in_portuguese(host):
    guide = host.file(os.path.join(PROJECT_DIR, "docs", "sre_guide.md")).content_string
    assert guide.count("<!-- BEGIN lgtm.stack") == 1 and guide.count("<!-- END lgtm.stack") == 1
    for text in ("Arquitetura e fluxo de dados", "```mermaid", "Endpoints e portas", "Runbooks",
                 "http://127.0.0.1:23000"):
        assert text in guide, text


def test_secrets_only_in_0600_files(host):
    cnf = host.file(os.path.join(PROJECT_DIR, "observability", "exporters", "mysqld-exporter.my.cnf"))
    assert cnf.mode == 0o600 and "example-exporter-pw" in cnf.content_string
    for rel in ("docker-compose.yml", "observability/compose.yaml", "observability/exporters/compose.yaml",
                "observability/MIGRATION_REPORT.md", "observability/MIGRATION_REPORT.json", "docs/sre_guide.md"):
        content = host.file(os.path.join(PROJECT_DIR, rel)).content_string
        for secret in SECRETS:
            assert secret not in content, (rel, secret)


@pytest.mark.parametrize(("service", "port", "metric"), [("mysqld-exporter", 9104, "mysql_up"),
                                                          ("redis-exporter", 9121, "redis_up")])
def test_real_exporter_metrics_through_the_stack_network(host, service, port, metric):
    deadline, last = time.monotonic() + 90, None
    while time.monotonic() < deadline:
        last = [line for line in _scrape(host, service, port).splitlines() if line.startswith(metric + " ")]
        if last == ["%s 1" % metric]:
            break
        time.sleep(3)
    assert last == ["%s 1" % metric]


def _scrape(host, service, port):
    """/metrics of a service, fetched from a throw-away container of this test on the stack's network, as Alloy
    would scrape it."""
    script = ("import urllib.request as u; print(u.urlopen('http://%s:%d/metrics', timeout=5).read().decode())"
              % (service, port))
    return host.run("docker run --rm --network %s --entrypoint python3 lgtm-test/standin:orchestration-only -c %s",
                    NETWORK, script).stdout


def _promql_queries(host):
    """(dashboard, panel, query) for every PromQL query of the provisioned dashboards (the bundled ones and the
    rewritten legacy ones), with Grafana's variables filled in so that the query is plain PromQL."""
    base = os.path.join(PROJECT_DIR, "observability", "grafana", "dashboards")
    paths = host.run("find %s -name '*.json'", base).stdout.split()
    assert len(paths) >= 6, paths

    def panels(nodes):
        for node in nodes:
            yield node
            yield from panels(node.get("panels") or [])

    def uid(node):
        ds = node.get("datasource")
        return ds.get("uid") if isinstance(ds, dict) else ds

    queries = []
    for path in sorted(paths):
        doc = json.loads(host.file(path).content_string)
        for panel in panels(doc.get("panels") or []):
            for target in panel.get("targets") or []:
                if (uid(target) or uid(panel)) == "mimir" and target.get("expr"):
                    query = re.sub(r"\$\{?__(rate_interval|interval|range)\}?", "5m", target["expr"])
                    query = re.sub(r"\$\{(\w+)(:\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", "x", query)
                    queries.append((os.path.relpath(path, base), panel.get("title"), query))
    return queries


def test_every_promql_query_of_the_dashboards_parses(host):
    """promtool (Prometheus 2.42 from Debian, in the local test image; real software) parses every PromQL query
    of the bundled and the rewritten dashboards: no dashboard ships a query Mimir would reject as malformed."""
    queries = _promql_queries(host)
    assert len(queries) >= 20
    workdir = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "promql")
    os.makedirs(workdir, exist_ok=True)
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": "dashboard_query_%d" % i, "expr": query} for i, (_, _, query) in enumerate(queries)]}]}
    with open(os.path.join(workdir, "rules.json"), "w") as handle:
        json.dump(rules, handle)  # JSON is YAML: promtool reads it as a rule file
    cmd = host.run("docker run --rm --network none --volume %s:/r:ro --entrypoint promtool lgtm-test/prometheus:2.42 "
                   "check rules /r/rules.json", workdir)
    assert cmd.rc == 0 and "SUCCESS: %d rules found" % len(queries) in cmd.stdout, cmd.stdout + cmd.stderr


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                "offset", "sum", "avg", "min", "max", "count", "x", "le", "inf", "nan"}


def _metric_names(query):
    query = re.sub(r'"[^"]*"', "", query)                     # label values
    query = re.sub(r"\{[^}]*\}", "", query)                   # label matchers
    query = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", query)
    query = re.sub(r"\[[^\]]*\]", "", query)                  # ranges
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", query)
    return set(n for n in names if n.lower() not in PROMQL_WORDS and not re.match(r"^\d", n))


@pytest.mark.parametrize(("dashboard", "service", "port"), [("lgtm/mysql.json", "mysqld-exporter", 9104),
                                                            ("lgtm/redis.json", "redis-exporter", 9121)])
def test_bundled_exporter_dashboards_use_metrics_the_real_exporter_exposes(host, dashboard, service, port):
    """Every metric the bundled MySQL/Redis dashboard queries is exposed by the real exporter scraped over the
    stack's network. The exporters here are Debian's (mysqld_exporter 0.14, redis_exporter 1.45), not the pinned
    upstream v0.20.0 / v1.88.0 the stack runs: a metric renamed between them would not show here."""
    wanted = set()
    for path, _, query in _promql_queries(host):
        if path == dashboard:
            wanted |= _metric_names(query)
    assert len(wanted) >= 4, wanted
    exposed = set(re.split(r"[{ ]", line, 1)[0] for line in _scrape(host, service, port).splitlines()
                  if line and not line.startswith("#"))
    assert wanted - exposed == set(), "the dashboard queries metrics %s doesn't expose" % service


def _alloy_identity_and_trace_fields(host, service):
    """What the rendered Alloy config writes for a compose service's container logs ({label: value}) and the JSON
    fields its log pipeline lifts into the trace_id metadata."""
    config = alloy.parse(host.file(os.path.join(PROJECT_DIR, "observability", "alloy", "config.alloy")).content_string)
    components = config.components()
    _, rules = alloy.body_values(components[("discovery.relabel", "containers")])
    labels = {}
    for rule in rules.get("rule", []):
        attrs, _ = alloy.body_values(rule)
        if attrs.get("regex") == service and "replacement" in attrs:
            labels[attrs["target_label"]] = attrs["replacement"]
    _, stages = alloy.body_values(components[("loki.process", "containers")])
    expressions = alloy.body_values(stages["stage.json"][0])[0]["expressions"]
    fields = [alt.strip().strip('"') for alt in expressions["trace_id"].split("||")]
    return labels, fields


def _otlp_posts(host, port):
    """The OTLP/HTTP requests the Alloy stand-in received on its published port, decoded (traces, logs)."""
    kept = json.loads(host.check_output("curl -sf http://127.0.0.1:%s/standin/posts", str(port)))
    decoded = {"traces": [], "logs": []}
    for post in kept:
        body = base64.b64decode(post["body"])
        if post.get("content_encoding") == "gzip":
            body = gzip.decompress(body)
        for path, name, message in (("/v1/traces", "traces", trace_service_pb2.ExportTraceServiceRequest),
                                    ("/v1/logs", "logs", logs_service_pb2.ExportLogsServiceRequest)):
            if post["path"] == path:
                assert post["content_type"] == "application/x-protobuf", post["content_type"]
                request = message()
                request.ParseFromString(body)
                decoded[name].append(request)
    return decoded


def _resource(resource):
    return {kv.key: kv.value.string_value for kv in resource.attributes}


def test_the_real_api_speaks_the_identity_alloy_gives_its_logs(host):
    """The API (the real Go program) answers a request carrying a W3C traceparent: its stdout JSON line carries
    the trace id in a field Alloy's log pipeline lifts, and the spans and log records it posts to Alloy's OTLP
    address carry that trace and the same service name, namespace and environment as the labels Alloy gives
    its container logs - one identity on every signal."""
    api = _inspect(host, _containers(host)["api"]["ID"])
    assert not api["Config"]["Labels"].get("org.lgtm-test.standin"), "the API must be the real Go program"
    alloy_labels = _inspect(host, _containers(host)["alloy"]["ID"])["Config"]["Labels"]
    if not alloy_labels.get("org.lgtm-test.standin"):
        pytest.skip("a real Alloy: molecule/e2e follows the telemetry through it")
    trace_id = uuid.uuid4().hex
    script = ("import urllib.request as u; r = u.Request('http://api:8080/products', headers={'traceparent': "
              "'00-%s-00f067aa0ba902b7-01'}); print(u.urlopen(r, timeout=10).status)" % trace_id)
    status = host.check_output("docker run --rm --network %s --entrypoint python3 "
                               "lgtm-test/standin:orchestration-only -c %s", NETWORK, script)
    assert status.strip() == "200"

    labels, fields = _alloy_identity_and_trace_fields(host, "api")
    assert set(labels) == {"service_name", "service_namespace", "deployment_environment_name"}, labels
    lines = [json.loads(line) for line in host.check_output("docker logs %s 2>&1", api["Id"]).splitlines()
             if line.startswith("{")]
    listed = [line for line in lines if line.get("msg") == "products listed"]
    assert listed and any(line.get(field) == trace_id for line in listed for field in fields), (fields, lines[-3:])

    deadline, spans, records = time.monotonic() + 45, [], []
    while time.monotonic() < deadline and not (spans and records):
        posts = _otlp_posts(host, OTLP_HTTP_PORT)
        spans = [(_resource(rs.resource), span) for request in posts["traces"] for rs in request.resource_spans
                 for ss in rs.scope_spans for span in ss.spans if span.trace_id.hex() == trace_id]
        records = [(_resource(rl.resource), rec) for request in posts["logs"] for rl in request.resource_logs
                   for sl in rl.scope_logs for rec in sl.log_records if rec.trace_id.hex() == trace_id]
        time.sleep(2)
    assert spans, "no span of trace %s reached Alloy's OTLP address" % trace_id
    assert records, "no log record of trace %s reached Alloy's OTLP address" % trace_id
    server = [span for _, span in spans if span.kind == span.SPAN_KIND_SERVER]
    assert server and server[0].parent_span_id.hex() == "00f067aa0ba902b7"
    assert {rec.span_id.hex() for _, rec in records} <= {span.span_id.hex() for _, span in spans}
    for resource, _ in spans + records:
        assert resource.get("service.name") == labels["service_name"], resource
        assert resource.get("service.namespace") == labels["service_namespace"], resource
        assert resource.get("deployment.environment.name") == labels["deployment_environment_name"], resource
