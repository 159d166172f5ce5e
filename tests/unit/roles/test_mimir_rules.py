"""Prometheus rule files carried into Mimir's ruler: which files are carried (and why not), how the mimir role
mounts them into its read-only local rule storage, and where firing alerts go."""

import json
import shutil

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_to_vars
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE


@pytest.mark.parametrize("doc, problem", [
    ({}, "no `groups` list"),
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
