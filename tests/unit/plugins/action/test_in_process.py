"""plugins/plugin_utils/in_process.py: on a local connection the collection's modules run in Ansible's worker, and
what the play sees is what a module process gives - results, diffs, check mode, failures, warnings, no_log,
the task's environment. Each playbook below runs twice, in the worker and with lgtm_modules_in_process=false (a
module process), and the two JSON outputs must match, apart from timings."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_collections.lgtm.stack.plugins.plugin_utils import in_process

ROOT = Path(__file__).resolve().parents[4]
VENV_BIN = str(Path(sys.executable).parent)

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: A file edited (changed, with a diff; only previewed under --check)
      lgtm.stack.managed_block:
        path: "{dir}/notes.md"
        block: "one line"
      register: edited

    - name: The same edit again (unchanged)
      lgtm.stack.managed_block:
        path: "{dir}/notes.md"
        block: "one line"

    - name: A module failure (missing argument)
      lgtm.stack.secret_file_info:
        reader: "0:0"
      ignore_errors: true

    - name: A module's own refusal (a compose file that is not there)
      lgtm.stack.compose_file:
        path: "{dir}/missing/compose.yaml"
      ignore_errors: true

    - name: A no_log argument and the task's environment
      lgtm.stack.secret_file_info:
        paths: ["{dir}/${{LGTM_IN_PROCESS_PROBE}}"]
      environment:
        LGTM_IN_PROCESS_PROBE: value-of-the-environment
      no_log: true

    - name: A module warning (the legacy analysis of a Grafana without its provisioning mounted)
      lgtm.stack.legacy_stack_info:
        project_dir: "{dir}"

    - name: The task's environment reaches the module and what it runs (a Docker CLI that prints it)
      lgtm.stack.docker_project_info:
        project_dir: "{dir}"
        docker_cli: "{dir}/docker"
      environment:
        LGTM_IN_PROCESS_PROBE: value-of-the-environment

    - name: A loop - each item's warnings are its own (items share one worker)
      lgtm.stack.legacy_stack_info:
        project_dir: "{dir}/{{{{ item }}}}"
      loop: [warns, quiet]
"""


def _strip(value):
    """The JSON callback's output without what differs from run to run (timings, temporary paths)."""
    if isinstance(value, dict):
        return dict((k, _strip(v)) for k, v in value.items()
                    if k not in ("duration", "start", "end", "_ansible_no_log_warning"))
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _play(tmp_path, *args, **env):
    work = tmp_path / env.get("mode", "x") / "shop"  # one name: the compose project's name comes from it
    work.mkdir(parents=True)
    book = work / "play.yml"
    book.write_text(PLAYBOOK.format(dir=work))
    for where in (work, work / "warns"):
        where.mkdir(exist_ok=True)
        (where / "compose.yaml").write_text("services:\n  grafana:\n    image: grafana/grafana:11.1.0\n")
    (work / "quiet").mkdir()
    (work / "quiet" / "compose.yaml").write_text("services:\n  api:\n    image: shop/api:1.0\n")
    (work / "docker").write_text("#!/bin/sh\necho \"probe=$LGTM_IN_PROCESS_PROBE\"\n")
    (work / "docker").chmod(0o755)
    run_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                   PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), str(book)] + list(args), cwd=str(ROOT),
                          env=run_env, capture_output=True, text=True, check=False)
    text = proc.stdout.replace(str(work), "<work>")
    return proc.returncode, json.loads(text[text.index("{"):]), proc.stderr


def _tasks(output):
    return [(t["task"]["name"], _strip(t["hosts"]["localhost"])) for t in output["plays"][0]["tasks"]]


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check-diff"])
def test_the_worker_and_a_module_process_give_the_play_the_same_results(tmp_path, check):
    args = ["--check", "--diff"] if check else ["--diff"]
    rc_in, out_in, _ = _play(tmp_path, *args, mode="worker")
    rc_out, out_out, _ = _play(tmp_path, "-e", "lgtm_modules_in_process=false", *args, mode="process")
    assert rc_in == rc_out == 0
    ours, theirs = _tasks(out_in), _tasks(out_out)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (name, mine), (_, other) in zip(ours, theirs):
        assert mine == other, name
    results = dict(ours)
    edited = results["A file edited (changed, with a diff; only previewed under --check)"]
    assert edited["changed"] and edited["diff"]
    assert results["The same edit again (unchanged)"]["changed"] is check  # --check wrote nothing the first time
    assert "missing required arguments: paths" in results["A module failure (missing argument)"]["msg"]
    assert results["A no_log argument and the task's environment"]["censored"].startswith("the output has been hidden")
    warned = results["A module warning (the legacy analysis of a Grafana without its provisioning mounted)"]
    assert any("is not bind-mounted" in w for w in warned["warnings"])
    docker = results["The task's environment reaches the module and what it runs (a Docker CLI that prints it)"]
    assert docker["docker_version"]["stdout"] == "probe=value-of-the-environment\n"
    looped = results["A loop - each item's warnings are its own (items share one worker)"]
    assert len(looped["warnings"]) == 1, "the second item repeated the first one's warning"
    assert out_in["stats"] == out_out["stats"]


def test_the_worker_runs_the_module_only_where_it_may(tmp_path):
    """-vvv says where each module ran: in the worker by default, in a module process when switched off."""
    book = tmp_path / "one.yml"
    book.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - lgtm.stack.secret_file_info: {paths: [/nonexistent]}\n")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    for extra, in_worker in (([], True), (["-e", "lgtm_modules_in_process=false"], False),
                             (["-e", "lgtm_modules_in_process={{ 1 == 2 }}"], False)):
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), str(book), "-vvv"] + extra, cwd=str(ROOT),
                              env=env, capture_output=True, text=True, check=True)
        assert ("secret_file_info runs in this worker process" in proc.stdout) is in_worker, extra
        assert ("AnsiballZ_secret_file_info" in proc.stdout) is not in_worker, extra


class _Found:
    def __init__(self, resolved, collection, name):
        self.resolved, self.plugin_resolved_collection, self.plugin_resolved_name = resolved, collection, name


class _Loader:
    def __init__(self, found):
        self.found = found

    def find_plugin_with_context(self, name, collection_list=None):
        return self.found


class _Templar:
    def template(self, value):
        return {"{{ ansible_playbook_python }}": sys.executable, "{{ 1 == 2 }}": False}.get(value, value)


def _action(transport="local", become=False, async_val=0, delegate_to=None):
    task = SimpleNamespace(async_val=async_val, delegate_to=delegate_to)
    action = in_process.ActionModule(task, SimpleNamespace(transport=transport), SimpleNamespace(become=become),
                                     None, _Templar(), None)
    return action


@pytest.mark.parametrize("case, kwargs, task_vars, expected", [
    ("local, this Python", {}, {"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, True),
    ("local, implicit localhost", {}, {"ansible_python_interpreter": sys.executable}, True),
    ("another connection", {"transport": "ssh"}, {"ansible_python_interpreter": sys.executable}, False),
    ("become", {"become": True}, {"ansible_python_interpreter": sys.executable}, False),
    ("async", {"async_val": 10}, {"ansible_python_interpreter": sys.executable}, False),
    ("switched off", {}, {"ansible_python_interpreter": sys.executable, "lgtm_modules_in_process": "{{ 1 == 2 }}"},
     False),
    ("another interpreter", {}, {"ansible_python_interpreter": "/usr/bin/python3"}, False),
    ("interpreter discovery", {}, {}, False),
    ("delegated to a host with this Python", {"delegate_to": "localhost"},
     {"ansible_python_interpreter": "/usr/bin/python3",
      "ansible_delegated_vars": {"localhost": {"ansible_python_interpreter": sys.executable}}}, True),
    ("delegated to a host with another", {"delegate_to": "db"},
     {"ansible_python_interpreter": sys.executable,
      "ansible_delegated_vars": {"db": {"ansible_python_interpreter": "/usr/bin/python3"}}}, False),
])
def test_the_worker_runs_a_module_only_for_this_machine_user_and_python(case, kwargs, task_vars, expected):
    assert in_process.SUPPORTED, "tested on ansible-core %s" % in_process.ANSIBLE_CORE_VERSION
    assert _action(**kwargs)._in_process(task_vars, False, {}) is expected, case


@pytest.mark.parametrize("environment, expected", [
    ({"HTTPS_PROXY": "http://127.0.0.1:3128"}, True),
    ({"LC_ALL": "C"}, False), ({"LANG": "C.UTF-8"}, False), ({"PYTHONPATH": "/opt/x"}, False),
])
def test_a_task_environment_that_acts_at_python_start_or_on_the_locale_takes_a_module_process(environment, expected):
    task_vars = {"ansible_python_interpreter": sys.executable}
    assert _action()._in_process(task_vars, False, environment) is expected


def test_a_working_directory_that_is_gone_takes_a_module_process(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert _action()._in_process({"ansible_python_interpreter": sys.executable}, False, {}) is False


def test_only_the_collections_own_modules_run_in_the_worker():
    mine = "ansible_collections.lgtm.stack.plugins.modules.compose_file"
    assert in_process.collection_module(_Loader(_Found(True, "lgtm.stack", mine)), "compose_file", None) == mine
    assert in_process.collection_module(_Loader(_Found(True, "ansible.builtin", "x")), "copy", None) is None
    assert in_process.collection_module(_Loader(_Found(False, None, None)), "nothing", None) is None


def test_a_module_run_in_the_worker_gets_its_input_and_environment_and_leaves_nothing_behind(tmp_path, monkeypatch):
    from ansible.module_utils import _internal, basic

    (tmp_path / "lgtm_probe_modules").mkdir()
    (tmp_path / "lgtm_probe_modules" / "__init__.py").write_text("")
    (tmp_path / "lgtm_probe_modules" / "echo.py").write_text(
        "import json, locale, os, sys\n"
        "locale.setlocale(locale.LC_ALL, 'C')\n"  # as AnsibleModule does under LC_ALL=C
        "os.chdir('/')\n"
        "from ansible.module_utils import basic, _internal\n"
        "print(json.dumps(dict(args=json.loads(basic._ANSIBLE_ARGS), profile=basic._ANSIBLE_PROFILE,\n"
        "                      env=os.environ.get('LGTM_PROBE'), controller=_internal.is_controller)))\n"
        "sys.exit(3)\n")
    (tmp_path / "lgtm_probe_modules" / "raises.py").write_text("raise ValueError('broken on purpose')\n")
    (tmp_path / "lgtm_probe_modules" / "returns.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import locale

    before = (_internal.is_controller, basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE)
    locale_before, cwd_before = locale.setlocale(locale.LC_ALL), os.getcwd()
    rc, out, _ = in_process.run_module("lgtm_probe_modules.echo", b'{"ANSIBLE_MODULE_ARGS": {"a": 1}}',
                                       {"LGTM_PROBE": "seen"})
    expected = dict(args={"ANSIBLE_MODULE_ARGS": {"a": 1}}, profile="legacy", env="seen", controller=False)
    assert rc == 3 and json.loads(out) == expected
    # ansible-core's loader reports these as in a module process (the play sees "Module failed: ...").
    rc, out, _ = in_process.run_module("lgtm_probe_modules.raises", b"{}", {})
    assert rc == 1 and json.loads(out)["failed"] and "broken on purpose" in out
    rc, out, _ = in_process.run_module("lgtm_probe_modules.returns", b"{}", {})
    assert rc == 1 and json.loads(out)["failed"] and "did not handle its own exit" in out
    assert (_internal.is_controller, basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE) == before
    assert "LGTM_PROBE" not in os.environ
    assert (locale.setlocale(locale.LC_ALL), os.getcwd()) == (locale_before, cwd_before)
    rc, out, _ = in_process.run_module("ansible_collections.lgtm.stack.plugins.modules.secret_file_info",
                                       b'{"ANSIBLE_MODULE_ARGS": {"paths": ["/nonexistent"]}}', {})
    assert rc == 0 and json.loads(out)["files"][0]["exists"] is False


def test_every_module_has_the_action_plugin_that_runs_it_in_the_worker():
    """A new module without its plugins/action/<name>.py would silently run in a process of its own."""
    import importlib

    modules = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    assert modules
    for name in modules:
        action = importlib.import_module("ansible_collections.lgtm.stack.plugins.action." + name).ActionModule
        assert issubclass(action, in_process.ActionModule), name
