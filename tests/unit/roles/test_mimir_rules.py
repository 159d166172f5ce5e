"""Prometheus rule files carried into Mimir's ruler: which files are carried (and why not), how the mimir role
mounts them into its read-only local rule storage, and where firing alerts go."""

import json
import shutil

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_to_vars
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE, PROJECTS


@pytest.mark.parametrize("doc, problem", [
    ({"groups": {"name": "a"}}, "`groups` is not a list"),
    ({"groups": [], "rule_files": []}, "unknown key 'rule_files'"),
    ({"groups": [{"name": "a", "limit": 1, "source_tenants": ["t"], "rules": []}]}, "unknown key 'source_tenants'"),
    ({"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "up", "severity": "page"}]}]},
     "rule 0 has an unknown key 'severity'"),
    ({"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "up > "}]}]}, "ends with the operator >"),
    ({"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "sum(rate(x[5m])"}]}]}, "unclosed ("),
    ({"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "up{job=\"a\")"}]}]}, "unbalanced )"),
    ({"groups": [{"name": "a", "rules": [{"alert": "X", "expr": "and up"}]}]}, "starts with the operator and"),
    ({"groups": [{"rules": []}]}, "group 0 has no name"),
    ({"groups": [{"name": "a", "rules": []}, {"name": "a", "rules": []}]}, "group a is defined twice"),
    ({"groups": [{"name": "a", "rules": [{"expr": "up"}]}]}, "needs exactly one of record and alert"),
    ({"groups": [{"name": "a", "rules": [{"record": "x", "alert": "y", "expr": "up"}]}]}, "exactly one"),
    ({"groups": [{"name": "a", "rules": [{"alert": "Down"}]}]}, "has no expr"),
    ({"groups": [{"name": "a", "rules": [{"record": "job:up-5m", "expr": "up"}]}]}, "invalid metric name"),
])
def test_rule_file_problems(doc, problem):
    assert any(problem in p for p in L.rule_file_problems(doc)), L.rule_file_problems(doc)


def test_a_valid_file_has_no_problem():
    doc = yaml.safe_load((EXAMPLE / "prometheus" / "rules.yml").read_text())
    assert L.rule_file_problems(doc) == []
    # Without groups a file loads and evaluates nothing (promtool: "SUCCESS: 0 rules found").
    assert L.rule_file_problems({}) == L.rule_file_problems({"groups": []}) == L.rule_file_problems(None) == []


@pytest.mark.parametrize("expr", ["sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m])) > 0",
                                  "-up", "up offset 5m", "histogram_quantile(0.99, sum by (le) (rate(x[1m])))",
                                  "a and on (job) b", "count(up == bool 1)"])
def test_well_shaped_expressions(expr):
    assert L.promql_shape_problem(expr) is None


def _plan(project, **kwargs):
    return json.loads(json.dumps(build_plan(L.analyse_project(str(project)), **kwargs)))


def test_a_broken_rule_file_gets_a_finding_not_a_refusal(tmp_path):
    project = tmp_path / "shop"
    shutil.copytree(str(EXAMPLE), str(project))
    (project / "prometheus" / "rules.yml").write_text("groups:\n  - name: shop\n    rules:\n      - expr: up\n")
    plan = _plan(project)
    assert plan["mimir_rule_files"] == []
    (p015,) = [f for f in plan["findings"] if f["code"] == "P015"]
    assert "does not load" in p015["message"] and "exactly one of record and alert" in p015["message"]


def test_remote_backends_carry_no_rule_file(tmp_path):
    endpoints = dict((s, {"push": "x", "query": "y"}) for s in ("traces", "logs", "metrics"))
    plan = _plan(EXAMPLE, backend={"mode": "remote", "endpoints": endpoints})
    assert plan["mimir_rule_files"] == []
    assert any(f["code"] == "P015" and "central Mimir's ruler" in f["message"] for f in plan["findings"])


def test_the_mimir_role_mounts_carried_rules_read_only(render_role_template):
    variables = plan_to_vars(_plan(EXAMPLE))["vars"]
    rules = variables["lgtm_mimir_rule_files"]
    assert rules == [{"host_path": str(EXAMPLE / "prometheus" / "rules.yml"), "name": "rules"}]
    on_host = [{"host_path": "/srv/shop/prometheus/rules.yml", "name": "rules"}]
    text, _ = render_role_template("mimir", "compose.yaml.j2", lgtm_project_dir="/srv/shop",
                                   lgtm_mimir_rule_files=on_host)
    volumes = yaml.safe_load(text)["services"]["mimir"]["volumes"]
    # Relative to the fragment (observability/mimir/): a clone at another path mounts its own copy.
    assert "../../prometheus/rules.yml:/etc/mimir/rules/anonymous/rules.yaml:ro" in volumes
    text, _ = render_role_template("mimir", "mimir.yaml.j2", lgtm_project_dir="/srv/shop", lgtm_mimir_rule_files=rules,
                                   lgtm_mimir_alertmanager_url="http://alertmanager:9093")
    cfg = yaml.safe_load(text)
    assert cfg["ruler_storage"] == {"backend": "local", "local": {"directory": "/etc/mimir/rules"}}
    assert cfg["ruler"] == {"rule_path": "/data/ruler", "alertmanager_url": "http://alertmanager:9093"}
    # Object storage keeps the carried rules local.
    s3 = {"endpoint": "minio:9000", "bucket": "shop-metrics"}
    text, _ = render_role_template("mimir", "mimir.yaml.j2", lgtm_project_dir="/srv/shop", lgtm_mimir_rule_files=rules,
                                   lgtm_mimir_object_storage=s3)
    assert yaml.safe_load(text)["ruler_storage"]["backend"] == "local"
    # Without rule files nothing changes.
    text, _ = render_role_template("mimir", "mimir.yaml.j2", lgtm_project_dir="/srv/shop")
    cfg = yaml.safe_load(text)
    assert cfg["ruler_storage"]["backend"] == "filesystem" and "alertmanager_url" not in cfg["ruler"]


def test_the_legacy_alertmanager_receives_the_rulers_alerts():
    """grafana-piecewise: prometheus.yml sends to alertmanager:9093 (a kept prom/alertmanager service) and its rule
    file has an alert: Mimir's ruler gets the same Alertmanager (P044), the service joins the stack's network."""
    plan = _plan(PROJECTS / "grafana-piecewise")
    assert plan["mimir_alertmanagers"] == [
        {"name": "alertmanagers[0]", "line": 17, "urls": ["http://alertmanager:9093"], "why": None}]
    assert any(f["code"] == "P044" and "alertmanager:9093" in f["message"] for f in plan["findings"])
    assert not any(f["code"] == "P036" for f in plan["findings"])
    assert plan_to_vars(plan)["vars"]["lgtm_mimir_alertmanager_url"] == "http://alertmanager:9093"
    (entry,) = [r for r in plan["rewire"] if r["service"] == "alertmanager"]
    assert plan["network"] in entry["networks_add"]


@pytest.mark.parametrize("alertmanager, why", [
    ("    - scheme: https\n      path_prefix: /am/\n      static_configs:\n        - targets: [a:9093, b:9093]\n",
     None),
    ("    - dns_sd_configs:\n        - names: [am.example]\n", "service discovery (dns_sd_configs)"),
    ("    - basic_auth: {username: u, password: p}\n      static_configs:\n        - targets: [a:9093]\n",
     "HTTP client settings or relabelling (basic_auth)"),
    ("    - api_version: v1\n      static_configs:\n        - targets: [a:9093]\n", "API v2 over http(s) only"),
])
def test_which_alertmanagers_the_ruler_can_take(tmp_path, alertmanager, why):
    project = tmp_path / "shop"
    shutil.copytree(str(EXAMPLE), str(project))
    prom = project / "prometheus" / "prometheus.yml"
    prom.write_text(prom.read_text() + "\nalerting:\n  alertmanagers:\n" + alertmanager)
    (am,) = _plan(project)["mimir_alertmanagers"]
    assert am["why"] == why if why is None else why in am["why"]
    if why is None:
        # Prometheus sends every alert to every target: one ruler URL (group) per target, path as the prefix.
        assert am["urls"] == ["https://a:9093/am", "https://b:9093/am"]
    else:
        assert am["urls"] == []


def test_no_alerting_rule_carried_no_alertmanager(tmp_path):
    project = tmp_path / "shop"
    shutil.copytree(str(EXAMPLE), str(project))
    prom = project / "prometheus" / "prometheus.yml"
    prom.write_text(prom.read_text().replace("rule_files:\n  - /etc/prometheus/rules.yml\n", "")
                    + "\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [am:9093]\n")
    plan = _plan(project)
    assert "no alerting rule" in plan["mimir_alertmanagers"][0]["why"]
    (p036,) = [f for f in plan["findings"] if f["code"] == "P036"]
    assert "am:9093" in p036["message"]
    assert "lgtm_mimir_alertmanager_url" not in plan_to_vars(plan)["vars"]


def test_alertmanager_placeholders_are_a_finding_not_a_refusal(tmp_path):
    """compose-file-env: Alertmanager's config holds ${SLACK_WEBHOOK_URL}, which Alertmanager never expands."""
    legacy = L.analyse_project(str(PROJECTS / "compose-file-env"))
    (config,) = legacy["alertmanagers"]
    assert config["receivers"] == ["billing-team"] and config["problem"] is None
    assert config["placeholders"] == [{"line": 7, "text": "${SLACK_WEBHOOK_URL}"}]
    plan = json.loads(json.dumps(build_plan(legacy)))
    (p045,) = [f for f in plan["findings"] if f["code"] == "P045"]
    assert p045["line"] == 7 and p045["file"].endswith("monitoring/alertmanager.yml")
    assert "not-a-real-token" not in json.dumps(plan)
    # Not mounted, or not YAML: recorded, never refused.
    project = tmp_path / "p"
    shutil.copytree(str(PROJECTS / "compose-file-env"), str(project))
    (project / "monitoring" / "alertmanager.yml").write_text("route: [\n")
    (config,) = L.analyse_project(str(project))["alertmanagers"]
    assert "does not parse" in config["problem"] and config["receivers"] == []
