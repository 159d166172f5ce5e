"""One identity per app, followed through every signal and every Grafana link, for every fixture.

From a fixture's plan: the environment the app runs with after the rewiring (what the OpenTelemetry SDK reads),
the labels Loki gives its OTLP logs (Loki's default OTLP resource-attribute labels, stack-facts.md "Loki 3.x"),
the `service` label of Tempo's span metrics (stack-facts.md "Tempo 3.0"), the labels of its container logs in the
Alloy configuration the alloy role renders (followed rule by rule like Alloy relabels), and the queries of the
bundled RED dashboard and the Tempo datasource's links. They must all name the same service.
"""

import json

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.filter.alloy_config import alloy_config
from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_to_vars
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.alloy_stack import DOCKER_LOG_LABELS
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE, PROJECTS, ROOT
from tests.unit.plugins.module_utils.test_convert_upstream import relabel

FIXTURES = dict([("example", EXAMPLE)] + [(p.name, p) for p in sorted(PROJECTS.iterdir()) if p.is_dir()])
# Loki's native OTLP endpoint: default resource attributes that become stream labels (stack-facts.md).
LOKI_OTLP_LABELS = {"service.name": "service_name", "service.namespace": "service_namespace",
                    "deployment.environment.name": "deployment_environment_name"}
COMPOSE_SERVICE = "__meta_docker_container_label_com_docker_compose_service"


def _otel_env(legacy, plan, service):
    env = dict(legacy["services"][service].get("environment") or {})
    (rewire,) = [r for r in plan["rewire"] if r["service"] == service]
    env.update(rewire["env_set"])
    return env


def _sdk_resource(env):
    """The resource the OpenTelemetry SDK builds from the environment (OTEL_SERVICE_NAME wins over service.name)."""
    attrs = dict(p.split("=", 1) for p in (env.get("OTEL_RESOURCE_ATTRIBUTES") or "").split(",") if "=" in p)
    if env.get("OTEL_SERVICE_NAME"):
        attrs["service.name"] = env["OTEL_SERVICE_NAME"]
    return attrs


def _container_log_labels(render, variables, service):
    """Labels Alloy gives the stdout stream of one compose service, following the rendered config."""
    _, resolved = render("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/p", **variables)
    built = alloy_config(resolved["__lgtm_alloy_spec"])
    comps = A.validate(built["alloy"]).components()
    source = A.body_values(comps[("loki.source.docker", "containers")])[0]
    labels = dict({COMPOSE_SERVICE: service, "__meta_docker_container_log_stream": "stdout"}, **source["labels"])
    _, blocks = A.body_values(comps[("discovery.relabel", source["relabel_rules"].text.split(".")[2])])
    out = relabel(labels, [A.body_values(r)[0] for r in blocks.get("rule", [])])
    return dict((k, v) for k, v in out.items() if not k.startswith("__"))


def _apps(name):
    legacy = L.analyse_project(str(FIXTURES[name]))
    plan = json.loads(json.dumps(build_plan(legacy)))
    return legacy, plan, plan_to_vars(plan)["vars"]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_one_identity_on_every_signal(render_role_template, name):
    legacy, plan, variables = _apps(name)
    apps = [a["service"] for a in legacy.get("apps") or [] if a["where"] == "compose"]
    for service in apps:
        identity = plan["service_identities"][service]
        resource = _sdk_resource(_otel_env(legacy, plan, service))
        # Traces, OTLP metrics and OTLP logs carry the resource the SDK builds.
        assert resource["service.name"] == identity["service_name"], (name, service)
        assert resource["service.namespace"] == identity["service_namespace"], (name, service)
        assert resource["deployment.environment.name"] == identity["environment"], (name, service)
        otlp_log_labels = dict((LOKI_OTLP_LABELS[k], v) for k, v in resource.items() if k in LOKI_OTLP_LABELS)
        # Container logs: the same identity labels as the OTLP logs, plus the stream.
        container = _container_log_labels(render_role_template, variables, service)
        assert set(container) == set(DOCKER_LOG_LABELS), (name, service, container)
        assert dict((k, container[k]) for k in otlp_log_labels) == otlp_log_labels, (name, service, container)
        # Tempo's span metrics label the service with service.name: the RED dashboard's $service.
        span_metrics_service = resource["service.name"]
        assert span_metrics_service == container["service_name"]


def test_every_fixture_is_followed():
    assert {"example", "name-clash", "jaeger-split", "otel-collector"} <= set(FIXTURES)
    assert sum(1 for name in FIXTURES for a in (L.analyse_project(str(FIXTURES[name])).get("apps") or [])
               if a["where"] == "compose") >= 5


def test_grafana_links_use_the_same_identity(render_role_template):
    """$service comes from the span metrics' `service` label and selects logs by `service_name`, metrics by
    `service`, the service graph by client/server, traces by resource.service.name: one value, every link."""
    red = json.loads((ROOT / "roles" / "grafana" / "files" / "dashboards" / "service-red.json").read_text())
    (variable,) = red["templating"]["list"]
    assert variable["query"]["query"] == "label_values(traces_spanmetrics_calls_total, service)"
    queries = []
    for panel in red["panels"]:
        for target in panel.get("targets") or []:
            queries.append((panel["datasource"]["uid"] if isinstance(panel.get("datasource"), dict) else None,
                            json.dumps(target)))
    loki = [q for uid, q in queries if uid == "loki"]
    assert loki and all('service_name=\\"$service\\"' in q for q in loki)
    mimir = [q for uid, q in queries if uid == "mimir"]
    assert mimir and all('service=\\"$service\\"' in q for q in mimir)
    tempo = [q for uid, q in queries if uid == "tempo"]
    assert any('resource.service.name=\\"$service\\"' in q for q in tempo)
    assert any('client=\\"$service\\"' in q and 'server=\\"$service\\"' in q for q in tempo)
    text, _ = render_role_template("grafana", "datasources.yaml.j2", lgtm_project_dir="/srv/p")
    by_uid = dict((d["uid"], d) for d in yaml.safe_load(text)["datasources"])
    to_metrics = by_uid["tempo"]["jsonData"]["tracesToMetrics"]
    assert {"key": "service.name", "value": "service"} in to_metrics["tags"]
    to_logs = by_uid["tempo"]["jsonData"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == "loki" and "trace_id" in to_logs["query"]
