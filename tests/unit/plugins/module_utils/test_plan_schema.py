"""The plan's declared shape (plan_schema): every plan the planner produces conforms, and a plan that does not is
refused with the key that is wrong - when it is built, and when a re-run reads a recorded one."""

import copy
import json

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import plan_schema as S
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import PLAN_FORMAT, build_plan
from ansible_collections.lgtm.stack.plugins.module_utils.plan_vars import PlanFormatError, plan_to_vars, upgrade_plan
from tests.unit.conftest import EXAMPLE, PROJECTS

NAMES = ["example"] + sorted(p.name for p in PROJECTS.iterdir() if p.is_dir())
CACHE = {}


def plan_of(name, **kwargs):
    if name not in CACHE:
        CACHE[name] = L.analyse_project(str(EXAMPLE if name == "example" else PROJECTS / name))
    return build_plan(json.loads(json.dumps(CACHE[name])), **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_every_plan_the_planner_makes_conforms_and_survives_json(name):
    plan = plan_of(name)
    assert S.plan_errors(plan) == []
    assert S.plan_errors(json.loads(json.dumps(plan))) == [], "the recorded (JSON) plan conforms too"


@pytest.mark.parametrize("kwargs", [
    {"adopt_grafana_data": True, "remove_legacy_data": True},
    {"backend": {"mode": "remote", "endpoints": {"traces": {"push": "https://tempo.example/otlp"}}, "grafana": False}},
], ids=["adopted-grafana", "remote"])
def test_the_planners_other_modes_conform(kwargs):
    assert S.plan_errors(plan_of("example", **kwargs)) == []


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda p: p.pop("network"), "network: missing"),
    (lambda p: p.update(networks="lgtm"), "networks: not a key of this plan format"),
    (lambda p: p.update(compose_files="docker-compose.yml"), "compose_files: expected a list, found str"),
    (lambda p: p["remove_services"][0].pop("component"), "remove_services[0].component: missing"),
    (lambda p: p["rewire"][0].update(env_set={"A": 1}), "rewire[0].env_set.A: expected a string, found int"),
    (lambda p: p["summary"].update(high="2"), "summary.high: expected an integer, found str"),
    (lambda p: p["volumes"][0].update(external="no"), "volumes[0].external: expected true or false, found str"),
    (lambda p: p.update(loki_retention_period=None), None),
    (lambda p: p.update(grafana_adopted_volume=7), "grafana_adopted_volume: expected a string or null, found int"),
    (lambda p: p["findings"][0].update(line=True), "findings[0].line: expected an integer or null, found bool"),
])
def test_a_plan_that_differs_is_named_by_key(mutate, expected):
    plan = copy.deepcopy(plan_of("example"))
    mutate(plan)
    errors = S.plan_errors(plan)
    assert errors == ([expected] if expected else []), errors


def test_a_recorded_plan_that_does_not_conform_is_refused_before_anything_reads_it():
    plan = json.loads(json.dumps(plan_of("example")))
    assert upgrade_plan(plan)["format"] == PLAN_FORMAT
    del plan["rewire"]
    plan["keep_services"] = "api"
    with pytest.raises(PlanFormatError) as err:
        plan_to_vars(plan)
    assert "rewire: missing" in str(err.value) and "keep_services: expected a list" in str(err.value)
    assert "format %d" % PLAN_FORMAT in str(err.value)


def test_a_plan_recorded_before_keys_were_added_to_its_format_reads_them_as_nothing():
    plan = json.loads(json.dumps(plan_of("example")))
    for key in S.ADDED_WITHIN_FORMAT:
        plan.pop(key)
    assert sorted(S.plan_errors(plan)) == ["%s: missing" % k for k in sorted(S.ADDED_WITHIN_FORMAT)]
    upgraded = upgrade_plan(plan)
    assert S.plan_errors(upgraded) == [] and upgraded["mimir_rule_files"] == []
    assert upgraded["backend"]["mode"] == "local"


@pytest.mark.parametrize("name", ["format-1-example.json", "format-2-first-example.json"])
def test_plans_recorded_by_earlier_releases_are_read(name):
    """Plans the collection recorded before (the example, format 1 and the first format 2), kept as they were."""
    recorded = json.loads((PROJECTS.parent / "plans" / name).read_text())["plan"]
    upgraded = upgrade_plan(recorded)
    assert S.plan_errors(upgraded) == [] and upgraded["format"] == PLAN_FORMAT
    variables, requires = plan_to_vars(recorded)
    assert variables["lgtm_service_names"]["alloy"] == "alloy" and variables["lgtm_enabled_exporters"] == [
        "mysqld", "redis"]
    assert requires == ["lgtm_exporters_mysqld_password"]


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda p: p["scrape_global"].update(external_labels={"replica": 1}), []),
    (lambda p: p["datasource_map"].update(default=None), []),
    (lambda p: p.update(loki_retention_period=0), []),
    (lambda p: p.update(loki_retention_period=[]), ["loki_retention_period: expected a string or an integer or null, "
                                                    "found list"]),
    (lambda p: p["dashboard_providers"][0].pop("name"), []),
])
def test_values_real_projects_have_are_accepted(mutate, expected):
    """prometheus.yml's `replica: 1`, loki.yml's `retention_period: 0`, a default datasource the stack does not map,
    a dashboard provider without a name: all valid in the legacy stack, so valid in its plan."""
    plan = copy.deepcopy(plan_of("example"))
    mutate(plan)
    assert S.plan_errors(plan) == expected
