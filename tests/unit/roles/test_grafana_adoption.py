"""Adopting a legacy Grafana database: explicit, secret-safe, idempotent, off when you say so.

The grafana role mounts the adopted volume and deletes the listed legacy datasources (tests in test_grafana.py); the
stack role sets the admin password after `up` (roles/stack/tasks/deploy.yml includes grafana_admin.yml), checked
here task by task.
"""

import base64
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "roles" / "stack" / "tasks" / "deploy.yml"
UP = ROOT / "roles" / "stack" / "tasks" / "up.yml"
ADMIN = ROOT / "roles" / "stack" / "tasks" / "grafana_admin.yml"
NAME = "Deploy | Set Grafana's admin password on an adopted database"


def _adoption_block(load=lambda path: yaml.safe_load(path.read_text())):
    """The include in up.yml (itself included by deploy.yml), with the tasks it includes as its "block"; its when
    holds both includes' conditions (each include's applies to what it includes)."""
    (outer,) = [t for t in load(DEPLOY) if t.get("ansible.builtin.include_tasks") == UP.name]
    (include,) = [t for t in load(UP) if t["name"] == NAME]
    assert include["ansible.builtin.include_tasks"] == ADMIN.name
    return dict(include, when=list(outer["when"]) + list(include["when"]), block=load(ADMIN))


def _walk(tasks):
    for task in tasks:
        yield task
        yield from _walk(task.get("block", []))


EXEC = "ansible.builtin.command"  # `docker exec -i <container> ...`: the docker CLI, no Docker SDK on the host


def _execs(block):
    return [t for t in _walk(block["block"]) if EXEC in t and "exec" in str(t[EXEC].get("argv"))]


def test_off_by_default_and_never_in_check_mode_or_without_up():
    defaults = yaml.safe_load((ROOT / "roles" / "stack" / "defaults" / "main.yml").read_text())
    assert defaults["lgtm_stack_grafana_admin_reset"] is False
    when = _adoption_block()["when"]
    assert "lgtm_stack_grafana_admin_reset | bool" in when
    assert "not ansible_check_mode" in when and "lgtm_stack_up | bool" in when


def test_a_value_you_set_wins_over_the_plan():
    """The plan turns the reset on for an adopted database; a value set by the user (false, for an image without
    the grafana cli - the test harness does so for its stand-ins) is kept: the migrate role hands over only the
    plan's variables nobody set."""
    apply = yaml.safe_load((ROOT / "roles" / "migrate" / "tasks" / "apply.yml").read_text())
    (hand_over,) = [t for t in apply if t["name"].startswith("Apply | Hand the plan's variables")]
    assert "rejectattr('key', 'in', __lgtm_migrate_user_vars)" in hand_over["loop"]
    assert hand_over["vars"]["__lgtm_migrate_user_vars"] == "{{ query('ansible.builtin.varnames', '^lgtm_') }}"
    block = _adoption_block()
    assert not [t["name"] for t in _walk(block["block"]) if "inspect" in str(t.get(EXEC, ""))], \
        "no test of the image behind the user's back: the variable decides"


def test_the_password_goes_on_stdin_only_and_never_to_a_log():
    execs = _execs(_adoption_block())
    assert len(execs) == 3  # check, reset, check again
    for task in execs:
        module = task[EXEC]
        assert task["no_log"] is True, task["name"]
        argv = module["argv"]
        argv_text = yaml.safe_dump(argv) if isinstance(argv, list) else argv
        assert "pw" not in argv_text and "password_file" not in argv_text, task["name"]
        assert module["stdin"].startswith("{{ __lgtm_stack_grafana_"), task["name"]
        assert module["stdin_add_newline"] is False, task["name"]
    slurp = [t for t in _walk(_adoption_block()["block"]) if "ansible.builtin.slurp" in t]
    assert slurp and all(t["no_log"] is True for t in slurp)
    reset = [t for t in execs if "reset-admin-password" in t[EXEC]["argv"]]
    (reset,) = reset
    argv = reset[EXEC]["argv"]
    # pkg/cmd/grafana-cli/commands/reset_password_command.go reads the password from stdin with this flag.
    assert argv[:3] == ["docker", "exec", "-i"] and argv[4:6] == ["grafana", "cli"]
    assert argv[-1] == "--password-from-stdin"
    assert reset[EXEC]["stdin"] == "{{ __lgtm_stack_grafana_pw }}"


def test_resets_only_when_the_check_fails_so_a_rerun_changes_nothing():
    execs = _execs(_adoption_block())
    check, reset, again = execs
    assert check["changed_when"] is False and check["register"] == "__lgtm_stack_grafana_auth"
    assert reset["when"] == "__lgtm_stack_grafana_auth.stdout == '401'" and reset["changed_when"] is True
    assert again["changed_when"] is False
    assert check[EXEC]["argv"].endswith("+ __lgtm_stack_grafana_check_argv }}")
    (inner,) = [t for t in _adoption_block()["block"] if "block" in t]
    argv = inner["vars"]["__lgtm_stack_grafana_check_argv"]
    assert argv[0] == "curl" and argv[argv.index("--header") + 1] == "@-"  # curl reads the header from stdin
    assert argv[-1] == "http://127.0.0.1:3000/api/user"


def test_the_auth_header_is_basic_auth_of_the_kept_password():
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    block = _adoption_block()
    (inner,) = [t for t in block["block"] if "block" in t]
    loader = DataLoader()
    trusted = _adoption_block(lambda path: loader.load_from_file(str(path), trusted_as_template=True))
    (trusted_inner,) = [t for t in trusted["block"] if "block" in t]
    for password in ("Abc123", 'a"b\\c d:e'):
        content = base64.b64encode((password + "\n").encode()).decode()
        templar = Templar(loader=loader, variables=dict(
            trusted_inner["vars"], lgtm_stack_grafana_admin_user="admin",
            __lgtm_stack_grafana_pw_file={"content": content}))
        assert templar.template(trusted_inner["vars"]["__lgtm_stack_grafana_pw"]) == password
        header = templar.template(trusted_inner["vars"]["__lgtm_stack_grafana_auth_header"])
        assert header == "Authorization: Basic " + base64.b64encode(("admin:" + password).encode()).decode()
    assert inner["vars"].keys() == trusted_inner["vars"].keys()
