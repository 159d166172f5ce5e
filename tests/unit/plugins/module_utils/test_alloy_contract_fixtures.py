"""The collection's rendered Alloy config for every fixture project, checked against the upstream contract."""

import json

import pytest

from ansible_collections.lgtm.stack.plugins.filter.alloy_config import alloy_config
from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_to_vars
from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A
from ansible_collections.lgtm.stack.plugins.module_utils import alloy_contract as C
from ansible_collections.lgtm.stack.plugins.module_utils import alloy_stack
from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE, PROJECTS
from tests.unit.roles.conftest import render_role_template  # noqa: F401 (a fixture)

FIXTURES = dict([("example", EXAMPLE)] + [(p.name, p) for p in sorted(PROJECTS.iterdir()) if p.is_dir()])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_rendered_config_meets_the_upstream_contract(render_role_template, monkeypatch, name):  # noqa: F811
    plan = build_plan(L.analyse_project(str(FIXTURES[name])))
    variables = plan_to_vars(json.loads(json.dumps(plan)))["vars"]
    _, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/p", **variables)
    # Render without the contract so every contract error is reported here, not only the first build failure.
    monkeypatch.setattr(alloy_stack, "validate_all", lambda text, source=None: A.validate_all(text, source, False))
    text = alloy_config(resolved["__lgtm_alloy_spec"])["alloy"]
    errors = C.check(text, "%s/observability/alloy/config.alloy" % name)
    assert errors == [], "\n".join(errors)
