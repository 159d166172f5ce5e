"""What a task pays to use one of the collection's filters or tests.

Ansible loads every filter file of a collection to find any one filter, in the forked worker process of each task
that uses one, compiling the source each time (the collection loader keeps no bytecode). A filter file that
imported its module_utils at load time made every such task compile the plan and converter modules: ~0.16 s a
task on the CI machine. These tests hold the files to importing only when a filter runs."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.conftest import COLLECTIONS, ROOT

PLUGIN_FILES = sorted((ROOT / "plugins" / "filter").glob("*.py")) + sorted((ROOT / "plugins" / "test").glob("*.py"))
MODULE_UTILS = "ansible_collections.lgtm.stack.plugins.module_utils"


def module_level_imports(path):
    """The modules `path` imports when it loads (top level, and inside top-level if/try blocks)."""
    names = []
    body = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
        elif isinstance(node, (ast.If, ast.Try)):
            handlers = [n for h in getattr(node, "handlers", []) for n in h.body]
            body += list(node.body) + list(getattr(node, "orelse", [])) + handlers
    return names


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: p.parent.name + "/" + p.name)
def test_a_plugin_file_imports_no_module_utils_when_it_loads(path):
    eager = [name for name in module_level_imports(path) if name.startswith(MODULE_UTILS)]
    assert not eager, "%s imports %s when it loads: import it inside the filter that uses it" % (path.name, eager)


def test_the_check_sees_an_eager_import(tmp_path):
    # The test above can fail: a file with a module-level import of a module_utils is caught.
    sample = tmp_path / "eager.py"
    sample.write_text("from %s.plan import build_plan\n\ndef f():\n    pass\n" % MODULE_UTILS, encoding="utf-8")
    assert module_level_imports(sample) == [MODULE_UTILS + ".plan"]


PROBE = r"""
import json, sys
from ansible.plugins.loader import init_plugin_loader, filter_loader, test_loader
init_plugin_loader([sys.argv[1]])
before = set(sys.modules)
kind, name = sys.argv[2], sys.argv[3]
plugin = (filter_loader if kind == "filter" else test_loader).get(name)
assert plugin is not None, name
print(json.dumps(sorted(m for m in set(sys.modules) - before if m.startswith("ansible_collections.lgtm.stack.plugins.module_utils."))))
"""


def loaded_module_utils(kind, name, *call_args):
    """The collection's module_utils in sys.modules after Ansible's loader found the filter or test `name` in a
    fresh interpreter (as a task's worker finds it)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    out = subprocess.run([sys.executable, "-c", PROBE, str(COLLECTIONS), kind, name], env=env, cwd=str(ROOT),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("kind,name", [("filter", "lgtm.stack.object_storage"), ("filter", "lgtm.stack.plan_to_vars"),
                                       ("test", "lgtm.stack.pinned_image")])
def test_finding_one_plugin_loads_no_module_utils(kind, name):
    assert loaded_module_utils(kind, name) == []


def test_the_plan_mapping_does_not_load_the_planner():
    # plan_to_vars and plan_rebase run on every re-run (the recorded plan); they need the plan's vocabulary
    # (plan_common), not the planner and the analysis behind it (plan -> inventory -> legacy, converters).
    code = ("import json, sys\nimport tests.unit.conftest\n"
            "from %s import plan_vars\n"
            "print(json.dumps(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('%s.'))))" % (MODULE_UTILS, MODULE_UTILS))
    out = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert "plan_vars" in loaded
    assert not {"plan", "inventory", "legacy", "otelcol_convert", "prometheus_convert"} & set(loaded), loaded
