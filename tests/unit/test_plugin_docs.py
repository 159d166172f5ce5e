"""Every plugin's documentation blocks are YAML that parses (ansible-doc and ansible-test sanity find out much
later, in their own steps): a description line holding ": " or a stray quote breaks a whole module's docs."""

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1].parent
PLUGINS = sorted(p for p in (ROOT / "plugins").rglob("*.py") if "module_utils" not in p.parts and p.name != "__init__.py")
BLOCKS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def _blocks(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", None) in BLOCKS:
            yield node.targets[0].id, node.value.value


@pytest.mark.parametrize("path", PLUGINS, ids=[str(p.relative_to(ROOT)) for p in PLUGINS])
def test_documentation_blocks_parse(path):
    for name, text in _blocks(path):
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            pytest.fail("%s: %s is not YAML: %s" % (path.relative_to(ROOT), name, exc))


def test_every_module_has_its_blocks():
    modules = [p for p in PLUGINS if p.parent.name == "modules"]
    assert len(modules) > 10
    for path in modules:
        assert set(name for name, _text in _blocks(path)) == set(BLOCKS), path.name


def test_a_broken_block_is_caught():
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load("description:\n  - Secrets go here (never there): their content\n    is never shown\n")
