"""The finding registry is the one source of docs/findings.md and of every finding's severity."""

import re

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import findings
from ansible_collections.lgtm.stack.plugins.module_utils.plan import Planner, build_plan
from tests.unit.conftest import ROOT
from tests.unit.plugins.modules.test_migration_plan import legacy_of


def test_docs_page_is_generated_from_the_registry():
    page = (ROOT / "docs" / "findings.md").read_text()
    assert page == findings.render_markdown(), "run: python scripts/findings_doc.py"


def test_every_code_the_code_can_emit_is_registered():
    emitted = set()
    for path in (ROOT / "plugins").rglob("*.py"):
        emitted |= set(re.findall(r'"((?:P|GO)\d{3})"', path.read_text()))
    emitted -= set(findings.REGISTRY)
    assert not emitted, "codes used in plugins/ but missing from the registry: %s" % sorted(emitted)


def test_an_unregistered_code_cannot_be_reported():
    with pytest.raises(ValueError, match="P999 is not in the registry"):
        Planner(legacy_of("example")).finding("P999", "nothing")


@pytest.mark.parametrize("name", ["example", "otel-collector", "jaeger-split", "grafana-promtail", "host-apps",
                                  "partial-lgtm"])
def test_plan_findings_carry_the_registered_severity(name):
    for finding in build_plan(legacy_of(name))["findings"]:
        assert finding["severity"] == findings.severity(finding["code"]), finding


def test_go_advice_names_the_symbol_of_the_proven_example():
    from ansible_collections.lgtm.stack.plugins.module_utils.go_telemetry import FIXES
    assert set(FIXES) == set(findings.GO)
    for code, (_example, symbol) in FIXES.items():
        assert symbol.split("(")[0].rstrip(".") in findings.GO[code].advice, (code, symbol)
