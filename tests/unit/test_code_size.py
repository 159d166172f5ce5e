"""Size limits of the collection's Python code (issue 11): no function over 80 lines, no class over 250 lines.

Sizes are counted with `ast` from the `def`/`class` line to the node's last line (docstrings and comments inside
included, decorators not). Nested functions and methods count on their own, under their qualified name.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 250

# Offenders allowed to stay over the limits, with their size as a ceiling: the test fails when an item grows, and
# when it fits the limit (or is gone) but is still listed, so this list can only shrink. It is empty since every
# offender of the first version was split (issue 11); do not add to it: split the function or class instead.
ALLOWED = {}


def measure(source, relpath):
    """{"<relpath>::<qualified name>": (kind, lines)} of every function and class in one module."""
    sizes = {}

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                lines = child.end_lineno - child.lineno + 1
                key = "%s::%s" % (relpath, name)
                # A name defined twice in one scope: the larger definition is the one that counts.
                sizes[key] = max((kind, lines), sizes.get(key, (kind, 0)), key=lambda s: s[1])
                walk(child, name + ".")
            else:
                walk(child, prefix)

    walk(ast.parse(source), "")
    return sizes


def limit(kind):
    return MAX_CLASS_LINES if kind == "class" else MAX_FUNCTION_LINES


def violations(sizes, allowed):
    """Messages for every item over its limit and not allowed, grown past its allowance, or listed needlessly."""
    out = []
    for key, (kind, lines) in sorted(sizes.items()):
        if lines <= limit(kind):
            if key in allowed:
                out.append("%s is %d lines now, within the %s limit: remove it from ALLOWED" % (key, lines, kind))
        elif key not in allowed:
            out.append("%s %s is %d lines (limit %d): split it" % (kind, key, lines, limit(kind)))
        elif lines > allowed[key]:
            out.append("%s %s grew to %d lines (allowed %d, limit %d): split it"
                       % (kind, key, lines, allowed[key], limit(kind)))
    for key in sorted(set(allowed) - set(sizes)):
        out.append("%s no longer exists: remove it from ALLOWED" % key)
    return out


def collection_sizes():
    sizes = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        sizes.update(measure(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()))
    return sizes


def test_no_function_or_class_over_the_limits():
    assert violations(collection_sizes(), ALLOWED) == []


def test_the_planner_is_split_by_concern():
    sizes = collection_sizes()
    planner = [k for k in sizes if k.startswith("plugins/module_utils/plan")]
    assert "plugins/module_utils/plan.py::Planner" in planner
    assert not [k for k in planner if k in ALLOWED], "the planner's modules never need an allowance"


SAMPLE = '''
class Small(object):
    def short(self):
        return 1
''' + "\n\ndef long_one():\n" + "    x = 1\n" * 85 + '''

class Big(object):
''' + "".join("    def method%d(self):\n" % n + "        y = 2\n" * 70 + "\n" for n in range(4))


def test_measure_counts_functions_methods_and_classes():
    sizes = measure(SAMPLE, "m.py")
    assert sizes["m.py::Small"] == ("class", 3)
    assert sizes["m.py::Small.short"] == ("function", 2)
    assert sizes["m.py::long_one"] == ("function", 86)
    assert sizes["m.py::Big.method3"] == ("function", 71)
    assert sizes["m.py::Big"][1] > MAX_CLASS_LINES


@pytest.mark.parametrize("allowed, expected", [
    ({}, ["class m.py::Big is 288 lines", "function m.py::long_one is 86 lines"]),
    ({"m.py::long_one": 86, "m.py::Big": 1000}, []),
    ({"m.py::long_one": 85, "m.py::Big": 1000}, ["m.py::long_one grew to 86 lines"]),
    ({"m.py::long_one": 86, "m.py::Big": 1000, "m.py::Small.short": 2}, ["m.py::Small.short is 2 lines now"]),
    ({"m.py::long_one": 86, "m.py::Big": 1000, "m.py::gone": 90}, ["m.py::gone no longer exists"]),
])
def test_the_allow_list_can_only_shrink(allowed, expected):
    found = violations(measure(SAMPLE, "m.py"), allowed)
    assert len(found) == len(expected), found
    for message, start in zip(found, expected):
        assert start in message, (start, message)
