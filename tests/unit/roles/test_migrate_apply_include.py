"""The migrate role's apply step is an include: skipped whole on a converged or plan-only run, it leaves the
variables it registers as they were - in a play that runs the role twice, the earlier run's results. Every result of
it that the role reads outside the step is reset when a run starts (tasks/lock.yml)."""

import re
from pathlib import Path

import yaml

TASKS = Path(__file__).resolve().parents[3] / "roles" / "migrate" / "tasks"


def _walk(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _walk(task.get(key))


def _load(name):
    return yaml.safe_load((TASKS / name).read_text(encoding="utf-8"))


def test_apply_is_included_with_its_condition():
    (apply,) = [t for t in _walk(_load("main.yml")) if t.get("name") == "Apply"]
    assert apply.get("ansible.builtin.include_tasks") == "apply.yml"
    assert "not __lgtm_migrate_converged" in apply["when"]


def test_what_the_apply_step_leaves_behind_is_reset_when_a_run_starts():
    apply = list(_walk(_load("apply.yml"))) + list(_walk(_load("credentials.yml")))
    produced = {t["register"] for t in apply if "register" in t}
    for task in apply:
        facts = task.get("ansible.builtin.set_fact") or {}
        produced |= {k for k in facts if isinstance(k, str) and k.startswith("__lgtm_migrate_")}
    outside = "\n".join(yaml.safe_dump(_load(n)) for n in ("main.yml", "summary.yml"))
    read_outside = {name for name in produced if re.search(r"\b%s\b" % re.escape(name), outside)}
    assert {"__lgtm_migrate_undo", "__lgtm_migrate_compose", "__lgtm_migrate_up_started"} <= read_outside
    (identify,) = [t for t in _load("lock.yml") if t["name"].startswith("Lock | Identify this run")]
    reset = set(identify["ansible.builtin.set_fact"])
    assert read_outside <= reset, "read after the apply step but not reset when a run starts: %s" % (read_outside - reset)
    assert identify["ansible.builtin.set_fact"]["__lgtm_migrate_undo"] == {"skipped": True}
