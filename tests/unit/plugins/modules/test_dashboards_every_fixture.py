"""Every fixture's migrated dashboards query only what the new stack writes.

For each fixture with legacy dashboards: the dashboards step (dashboards.rewrite_all, with the plan's datasource
map, Promtail label model and identities, as the migrate role passes them) rewrites every dashboard; each Loki query
that comes out rewritten must select streams only by labels the new pipeline writes (container logs through Alloy,
OTLP logs through Loki's endpoint), and no query is left on a Jaeger SPM metric name.
"""

import json

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import dashboards as D
from ansible_collections.lgtm.stack.plugins.module_utils import logql
from ansible_collections.lgtm.stack.plugins.module_utils import spm
from ansible_collections.lgtm.stack.plugins.module_utils.alloy_stack import DOCKER_LOG_LABELS
from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from tests.unit.conftest import EXAMPLE, PROJECTS
from tests.unit.plugins.modules.test_migration_plan import legacy_of

# Container logs (alloy_stack.DOCKER_LOG_LABELS) and Loki's default OTLP resource labels (stack-facts.md).
NEW_LOG_LABELS = set(DOCKER_LOG_LABELS) | {"service_name", "service_namespace", "deployment_environment_name",
                                           "service_instance_id"}
FIXTURES = ["example"] + sorted(p.name for p in PROJECTS.iterdir() if p.is_dir())


def _targets(doc):
    for panel in doc.get("panels") or []:
        for inner in [panel] + list(panel.get("panels") or []):
            for target in inner.get("targets") or []:
                yield inner, target


@pytest.mark.parametrize("name", FIXTURES)
def test_migrated_dashboards_use_only_what_the_new_stack_writes(tmp_path, name):
    plan = json.loads(json.dumps(build_plan(legacy_of(name))))
    if not plan["dashboard_providers"]:
        pytest.skip("no legacy dashboards")
    results = D.rewrite_all(plan["dashboard_providers"], str(tmp_path), plan["datasource_map"],
                            plan["log_label_model"], plan["log_identities"], plan["service_namespace"])
    assert results, name
    checked = 0
    for result in results:
        doc = json.loads(result["text"])
        unconverted = set(json.dumps(u, sort_keys=True) for u in result.get("log_unconverted") or [])
        for panel, target in _targets(doc):
            ds = target.get("datasource") or panel.get("datasource") or {}
            uid = ds.get("uid") if isinstance(ds, dict) else ds
            expr = target.get("expr") or ""
            if uid == "loki" and expr:
                flagged = "lgtm.stack" in (panel.get("description") or "")
                if not flagged:
                    assert logql.stream_labels(expr) <= NEW_LOG_LABELS, (name, result["source"], expr, unconverted)
                    checked += 1
            if uid == "mimir" and expr and spm.uses_spm(expr):
                assert "lgtm.stack" in (panel.get("description") or ""), (name, expr)
    assert checked or all(not any((t.get("datasource") or {}).get("uid") == "loki" for _, t in _targets(
        json.loads(r["text"]))) for r in results), name
