"""Helm values for Grafana's charts, rendered by the component roles for the example project and every fixture,
use only the chart keys recorded in tests/unit/roles/helm_chart_facts.yml; what the charts pass through to the
applications (Loki's limits, Mimir's structuredConfig, the Alloy configuration, Grafana's datasources) is checked
against the applications' own recorded facts. The settings are the compose stack's: same identity labels,
retention, exemplars, span metrics and service graphs, datasource uids and links, Alloy pipeline and scrape jobs.
"""

import json

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.filter.helm_values import helm_yaml
from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_to_vars
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import helm_values as H
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE, PROJECTS, ROOT
from tests.unit.roles import test_grafana_jsondata as J

FIXTURES = dict([("example", EXAMPLE)] + [(p.name, p) for p in sorted(PROJECTS.iterdir()) if p.is_dir()])
FACTS = yaml.safe_load((ROOT / "tests" / "unit" / "roles" / "helm_chart_facts.yml").read_text())["charts"]
BACKEND = yaml.safe_load((ROOT / "tests" / "unit" / "roles" / "backend_config_facts.yml").read_text())
PROVIDER_KEYS = {"name", "orgId", "folder", "type", "disableDeletion", "allowUiUpdates", "options"}
PROVIDER_OPTIONS = {"path", "foldersFromFilesStructure"}
GRAFANA_INI = {"analytics": {"reporting_enabled", "check_for_updates", "check_for_plugin_updates"},
               "users": {"allow_sign_up", "allow_org_create"}, "auth.anonymous": {"enabled"}}
JSONDATA = {"mimir": J.PROMETHEUS_KEYS, "tempo": J.TEMPO_KEYS, "loki": J.LOKI_KEYS}


def flatten(value, prefix=""):
    """{path: value} of every map key and list item ("[]"), maps and lists included."""
    out = {}
    if isinstance(value, dict):
        for key, sub in value.items():
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            out[path] = sub
            out.update(flatten(sub, path))
    elif isinstance(value, list):
        for sub in value:
            path = prefix + "[]"
            out[path] = sub
            out.update(flatten(sub, path))
    return out


def values_for(render, name):
    legacy = L.analyse_project(str(FIXTURES[name]))
    plan = json.loads(json.dumps(build_plan(legacy)))
    variables = plan_to_vars(plan)["vars"]
    variables = dict((k, v) for k, v in variables.items() if v is not None)
    out = {}
    for component in H.ORDER:
        _, resolved = render(component, "compose.yaml.j2", lgtm_project_dir="/srv/p", lgtm_helm_namespace="obs",
                             **variables)
        out[component] = resolved["__lgtm_%s_helm_values" % component]
    return plan, out


def _passthrough(chart, path):
    for root, spec in (FACTS[chart].get("passthrough") or {}).items():
        if path == root or path.startswith(root + ".") or path.startswith(root + "["):
            return root, spec
    return None, None


def _check_app_keys(app, prefix_as, root, content):
    keys = BACKEND[app]["keys"]
    problems = []
    for path in flatten(content):
        own = "%s.%s" % (prefix_as, path) if prefix_as else path
        if own not in keys:
            problems.append("%s.%s: %s has no recorded key %s" % (root, path, app, own))
    return problems


def check_values(chart, values):
    """Everything in `values` the facts do not allow (empty when it conforms)."""
    facts = FACTS[chart]
    problems = []
    for path, value in flatten(values).items():
        root, spec = _passthrough(chart, path)
        if root is not None:
            continue
        if path not in facts["keys"]:
            problems.append("%s: not a recorded key of %s %s" % (path, facts["chart"], facts["version"]))
            continue
        allowed = facts["keys"][path].get("allowed")
        if allowed is not None and not isinstance(value, (dict, list)) and value not in allowed:
            problems.append("%s: %r not in %s" % (path, value, allowed))
    for root, spec in (facts.get("passthrough") or {}).items():
        content = flatten(values).get(root)
        if content is None:
            continue
        problems += CHECKS[spec["check"]](root, spec, content)
    return problems


def _check_alloy(root, spec, content):
    text = content.replace('{{ "{{" }}', "{{")
    return ["%s: %s" % (root, e) for e in A.validate_all(text, "alloy-values.yaml")]


def _check_app(root, spec, content):
    return _check_app_keys(spec["check"], spec.get("as", ""), root, content)


def _check_datasources(root, spec, content):
    problems = []
    for ds in content["datasources"]:
        extra = set(ds.get("jsonData") or {}) - JSONDATA.get(ds["uid"], set())
        if extra:
            problems.append("%s: %s jsonData keys the datasource does not read: %s" % (root, ds["uid"], sorted(extra)))
    return problems


def _check_providers(root, spec, content):
    problems = []
    for provider in content["providers"]:
        problems += ["%s: provider key %s" % (root, k) for k in set(provider) - PROVIDER_KEYS]
        problems += ["%s: provider option %s" % (root, k) for k in set(provider["options"]) - PROVIDER_OPTIONS]
    return problems


def _check_ini(root, spec, content):
    section = root.split("grafana.ini.", 1)[1]
    return ["%s.%s: not a setting the role sets" % (root, k) for k in set(content) - GRAFANA_INI[section]]


def _check_configmap(root, spec, content):
    names = set("lgtm-dashboards-%s" % p for p in H.DASHBOARD_PROVIDERS)
    return [] if content in names else ["%s: %s is not a ConfigMap the playbook writes" % (root, content)]


CHECKS = {"alloy": _check_alloy, "loki": _check_app, "mimir": _check_app, "grafana_datasources": _check_datasources,
          "grafana_providers": _check_providers, "grafana_ini": _check_ini, "configmap_name": _check_configmap}


def test_facts_and_module_pin_the_same_charts():
    for component in H.ORDER:
        assert FACTS[component]["chart"] == H.CHARTS[component]["chart"]
        assert FACTS[component]["version"] == H.CHARTS[component]["version"]


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_values_use_only_recorded_chart_keys(render_role_template, name):
    plan, values = values_for(render_role_template, name)
    for component, chart_values in values.items():
        assert check_values(component, chart_values) == [], (name, component)
        yaml.safe_load(helm_yaml(chart_values))  # writes and reads back


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_values_carry_the_stack_settings(render_role_template, name):
    plan, values = values_for(render_role_template, name)
    alloy_text = values["alloy"]["alloy"]["configMap"]["content"]
    # The Alloy pipeline: OTLP in, the in-cluster backends out, every carried scrape job kept by name.
    assert "tempo.obs.svc.cluster.local:4317" in alloy_text
    assert "http://loki-gateway.obs.svc.cluster.local/otlp" in alloy_text
    assert "http://mimir-gateway.obs.svc.cluster.local/api/v1/push" in alloy_text
    assert "send_exemplars         = true" in alloy_text and "loki.source.docker" not in alloy_text
    for job in plan["scrape_jobs"]:
        if job["action"] == "carry":
            assert 'job_name        = "%s"' % job["job_name"] in alloy_text or \
                '"%s"' % job["job_name"] in alloy_text, (name, job["job_name"])
    # Span metrics and service graphs with exemplars into Mimir; Mimir keeps exemplars.
    tempo = values["tempo"]["tempo"]
    assert tempo["overrides"]["defaults"]["metrics_generator"]["processors"] == ["span-metrics", "service-graphs"]
    assert tempo["metricsGenerator"]["storage"]["remote_write"] == [
        {"url": "http://mimir-gateway.obs.svc.cluster.local/api/v1/push", "send_exemplars": True}]
    limits = values["mimir"]["mimir"]["structuredConfig"]["limits"]
    assert int(limits["max_global_exemplars_per_user"]) > 0
    # Loki: the same identity labels and retention as the compose stack.
    loki = values["loki"]["loki"]
    attrs = loki["limits_config"]["otlp_config"]["resource_attributes"]["attributes_config"][0]["attributes"]
    assert {"service.name", "service.namespace", "deployment.environment.name"} <= set(attrs)
    assert loki["compactor"]["retention_enabled"] is True
    assert loki["limits_config"]["retention_period"] == (plan.get("loki_retention_period") or "168h")
    # Grafana: fixed uids, in-cluster URLs, every correlation link.
    ds = dict((d["uid"], d) for d in values["grafana"]["datasources"]["datasources.yaml"]["datasources"])
    assert ds["mimir"]["url"] == "http://mimir-gateway.obs.svc.cluster.local/prometheus"
    assert ds["tempo"]["url"] == "http://tempo.obs.svc.cluster.local:3200"
    assert ds["loki"]["url"] == "http://loki-gateway.obs.svc.cluster.local"
    assert ds["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert ds["loki"]["jsonData"]["derivedFields"][0]["matcherRegex"] == "^trace_id$"
    assert ds["tempo"]["jsonData"]["streamingEnabled"] == {"search": False, "metrics": False}


def test_a_check_catches_an_unknown_key_a_bad_value_and_a_bad_passthrough(render_role_template):
    _plan, values = values_for(render_role_template, "example")
    bad = json.loads(json.dumps(values["loki"]))
    bad["loki"]["storage"]["type"] = "s3"
    bad["singleBinary"]["extraArgs"] = ["-x"]
    bad["loki"]["limits_config"]["retention_days"] = 7
    problems = check_values("loki", bad)
    assert any("loki.storage.type" in p for p in problems)
    assert any("singleBinary.extraArgs" in p for p in problems)
    assert any("limits_config.retention_days" in p for p in problems)
    alloy = json.loads(json.dumps(values["alloy"]))
    alloy["alloy"]["configMap"]["content"] += '\nprometheus.scrape "x" {\n  targets = []\n}\n'
    assert any("forward_to" in p for p in check_values("alloy", alloy))


def test_tpl_escape_and_dashboards_configmaps():
    assert H.escape_tpl('legend = "{{instance}}"') == 'legend = "{{ "{{" }}instance}}"'
    maps = H.dashboards_configmaps({"lgtm-stack": {"red.json": '{"uid": "x"}'}, "project": {"team/a.json": "{}"}},
                                   "obs")
    assert [m["metadata"]["name"] for m in maps] == ["lgtm-dashboards-lgtm-stack", "lgtm-dashboards-project"]
    assert maps[1]["data"] == {"team__a.json": "{}"} and maps[0]["metadata"]["namespace"] == "obs"
    with pytest.raises(ValueError):
        H.dashboards_configmaps({"project": {"broken.json": "{"}}, "obs")


def test_install_commands_pin_every_chart_and_take_no_secret():
    files = dict((c, "%s-values.yaml" % c) for c in H.ORDER)
    commands = H.install_commands("obs", "lgtm-grafana-admin", files)
    installs = [c for c in commands if c.startswith("helm upgrade --install")]
    assert [c.split()[3] for c in installs] == list(H.ORDER), "backends first, Alloy last"
    for component, command in zip(H.ORDER, installs):
        assert "--version %s" % H.CHARTS[component]["version"] in command and "-n obs" in command
    assert any("--from-file=admin-password=" in c for c in commands)
    assert all("kubectl apply" in c for c in commands if c.startswith("kubectl") and " create " in c), \
        "every create can run again"
    assert not any("--from-literal=admin-password" in c for c in commands)
