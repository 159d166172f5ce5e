"""Collection-wide conventions for every role under roles/.

* every variable in defaults/main.yml is documented in meta/argument_specs.yml
  (entry point `main`) with a matching default, and the reverse;
* every role variable is named lgtm_<role>_* (see .ansible-lint for why);
* every role has tasks/preflight.yml and a README whose variables table is generated from the specs;
* no role reads another role's inputs (issue 11): what several roles need is a shared knob (lgtm_network,
  lgtm_service_names, lgtm_enabled_exporters...), and the migrate role, the orchestrator, passes the rest.
"""

import re
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import role_readmes  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def test_there_are_roles():
    assert ROLES, "roles/ holds no role"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_and_argument_specs_agree(role):
    defaults = _load(role / "defaults" / "main.yml")
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]
    options = specs["main"].get("options", {})
    assert set(defaults) - set(options) == set(), "defaults missing from argument_specs"
    required = {name for name, opt in options.items() if opt.get("required")}
    assert set(options) - set(defaults) - required == set(), "argument_specs options without a default"
    for name, opt in options.items():
        if name in defaults and not opt.get("required"):
            assert opt.get("default") == defaults[name], f"{name}: default differs between defaults/ and argument_specs"
        assert opt.get("description"), f"{name}: no description"
        assert opt.get("type"), f"{name}: no type"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_variables_are_prefixed(role):
    prefix = f"lgtm_{role.name}_"
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]
    names = set(_load(role / "defaults" / "main.yml"))
    for entry in specs.values():
        names |= set(entry.get("options", {}))
    bad = sorted(n for n in names if not n.startswith(prefix))
    assert not bad, f"variables of role {role.name} must start with {prefix}: {bad}"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_has_preflight_and_readme(role):
    assert (role / "tasks" / "preflight.yml").is_file()
    assert (role / "README.md").is_file()
    main = (role / "tasks" / "main.yml").read_text(encoding="utf-8")
    assert "preflight.yml" in main, "tasks/main.yml must run the preflight first"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_readme_table_is_generated_from_the_specs(role):
    """The variables table is what scripts/role_readmes.py makes of meta/argument_specs.yml, and no Ansible
    markup (C(), O() ...) is left anywhere in the README."""
    readme = (role / "README.md").read_text(encoding="utf-8")
    assert role_readmes.render(role) == readme, "run python3 scripts/role_readmes.py"
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"].get("options", {})
    missing = sorted(name for name in specs if "| `%s` |" % name not in readme)
    assert not missing, "README of %s does not list %s" % (role.name, missing)
    assert not re.search(r"\b(RV|[CIOVBEMUL])\([^)]*\)", readme), "Ansible markup left in %s" % role.name


def test_markup_becomes_markdown():
    assert role_readmes.markdown("C(a) O(b=1) I(c) B(d) U(https://x) L(the docs, https://y) RV(r)") == \
        "`a` `b=1` *c* **d** https://x [the docs](https://y) `r`"
    assert role_readmes._default([1, "a"]) == "`[1, a]`" and role_readmes._default("") == '`""`'


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_secret_variables_are_no_log(role):
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"].get("options", {})
    for name, opt in specs.items():
        if name.endswith(("_password", "_token", "_secret")):
            assert opt.get("no_log") is True, "%s must be no_log in argument_specs" % name


# The orchestrator: it turns the plan into every role's variables and calls the roles with them.
ORCHESTRATOR = "migrate"
# Shared knobs that are also a role's input: the stack's directory, where every component renders its fragment.
SHARED_ROLE_INPUTS = {"lgtm_stack_dir"}


def _role_inputs(role):
    names = set()
    for entry in _load(role / "meta" / "argument_specs.yml")["argument_specs"].values():
        names |= set(entry.get("options", {}))
    return names


def _role_code_lines(role):
    """(path, line number, line) of what a role evaluates: defaults, vars, tasks, handlers, templates; no comments."""
    paths = [role / "defaults" / "main.yml"]
    for sub in ("vars", "tasks", "handlers"):
        paths += sorted((role / sub).glob("*.yml"))
    paths += sorted(p for p in (role / "templates").rglob("*") if p.is_file())
    for path in paths:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.lstrip().startswith("#"):
                yield path, number, line


ASSIGNMENT = re.compile(r"^\s*(- )?lgtm_[a-z0-9_]+:")


def cross_role_reads(roles):
    """Messages for every place a role reads a variable that is another role's input."""
    inputs = dict((role.name, _role_inputs(role)) for role in roles)
    found = []
    for role in roles:
        if role.name == ORCHESTRATOR:
            continue
        others = set().union(*(names for name, names in inputs.items() if name != role.name)) - SHARED_ROLE_INPUTS
        for path, number, line in _role_code_lines(role):
            # A name as a YAML key in a task (`vars:` of an import_role) passes that role its input: no read.
            key = ASSIGNMENT.match(line) if path.parent.name == "tasks" else None
            read = line[key.end():] if key else line
            for name in sorted(set(re.findall(r"\blgtm_[a-z0-9_]+", read)) & others):
                found.append("%s:%d reads %s" % (path.relative_to(ROOT), number, name))
    return found


def test_no_role_reads_another_roles_inputs():
    assert cross_role_reads(ROLES) == []


def _cross_role_reads_under(root):
    """cross_role_reads on the roles of another tree (paths in its messages relative to that tree)."""
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return cross_role_reads(sorted((root / "roles").iterdir()))
    finally:
        ROOT = saved


def test_the_cross_role_check_sees_a_read(tmp_path):
    for name, default in (("alpha", "x"), ("beta", "{{ lgtm_alpha_port }}")):
        role = tmp_path / "roles" / name
        (role / "meta").mkdir(parents=True)
        (role / "defaults").mkdir()
        (role / "meta" / "argument_specs.yml").write_text(
            "argument_specs:\n  main:\n    options:\n      lgtm_%s_port: {type: str}\n" % name)
        (role / "defaults" / "main.yml").write_text("# lgtm_alpha_port in a comment is no read\nlgtm_%s_port: \"%s\"\n"
                                                   % (name, default))
    found = _cross_role_reads_under(tmp_path)
    assert found == ["roles/beta/defaults/main.yml:2 reads lgtm_alpha_port"]


def test_passing_an_internal_roles_inputs_is_no_read_but_a_value_that_reads_one_is(tmp_path):
    """tempo calls lgtm.stack.component with `vars: {lgtm_component_dir: ...}`: that line sets component's input."""
    for name in ("alpha", "beta"):
        role = tmp_path / "roles" / name
        (role / "meta").mkdir(parents=True)
        (role / "tasks").mkdir()
        (role / "meta" / "argument_specs.yml").write_text(
            "argument_specs:\n  main:\n    options:\n      lgtm_%s_port: {type: str}\n      lgtm_%s_dir: {type: str}\n"
            % (name, name))
    (tmp_path / "roles" / "beta" / "tasks" / "main.yml").write_text(
        "- ansible.builtin.import_role:\n    name: alpha\n  vars:\n    lgtm_alpha_port: \"{{ lgtm_beta_port }}\"\n"
        "    lgtm_alpha_dir: \"{{ lgtm_alpha_port }}\"\n")
    found = _cross_role_reads_under(tmp_path)
    assert found == ["roles/beta/tasks/main.yml:5 reads lgtm_alpha_port"]
