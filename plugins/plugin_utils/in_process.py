# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin behind every lgtm.stack module: on a local connection, the module runs in Ansible's worker.

Ansible runs a module by starting a new Python process on the target, which compiles C(ansible.module_utils.basic)
and its imports from the module's zip payload (no bytecode cache there) before the module does anything: about
0.15 s a call on a 2-core machine, most of a migration's time (bench/RESULTS.md). When the target is the
controller itself - a C(local) connection, no C(become), no C(async), the host's C(ansible_python_interpreter) this
very Python, on the ansible-core release this was tested with (2.19) - this plugin runs the same module file in the
worker process Ansible forked for the task, which has Python and ansible-core loaded already:

- the same arguments, built by C(ActionBase._update_module_args) (check mode, diff, no_log, verbosity...) and
  handed over as the JSON text the module would read from its payload, in the same serialization profile;
- the module run by ansible-core's own module loader (as in a module process: an exception or a module that does
  not exit is reported the same way), its JSON output parsed by C(ActionBase._parse_returned_data) and finished as
  C(ActionBase._execute_module) finishes it, so warnings, no_log masking, diffs and failures reach the play
  unchanged;
- the task's C(environment) applied to the process while the module runs, as on a module process;
- module-side mode: C(ansible.module_utils) is told it runs on a target, not on the controller, while the module
  runs (warnings and deprecations are returned in the result, as from a module process), and starts with no
  warnings of an earlier run (a loop's items share one worker);
- afterwards the process has its environment, locale, working directory and module_utils' state back (a module
  may leave the syslog connection it opened, and a temporary directory it registered for removal at exit: none of
  this collection's modules asks for one).

Anything else - another connection, C(become), C(async), another interpreter (or none set: discovery), another
ansible-core release, a task C(environment) with start-up or locale variables (C(PYTHON*), C(LANG), C(LC_*)), an
unusable working directory, C(PYTHON_MODULE_RLIMIT_NOFILE), or C(lgtm_modules_in_process: false) - takes
Ansible's ordinary path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import io
import json
import locale
import os
import re
import sys
from collections.abc import Sequence

from ansible import constants as C
from ansible.module_utils import basic
from ansible.module_utils.ansible_release import __version__ as ANSIBLE_CORE_VERSION
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible.vars.clean import remove_internal_keys

try:  # ansible-core 2.19: serialization profiles, module_utils' controller/target switch, the module loader
    from ansible.module_utils import _internal as _module_side
    from ansible.module_utils._internal._ansiballz import _loader
    from ansible.module_utils.common import warnings as _warnings
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # other releases take Ansible's ordinary path, always
    _module_side = _loader = _warnings = None

COLLECTION = "lgtm.stack"
PROFILE = "legacy"  # the serialization profile of a module without metadata, as the collection's are
SWITCH = "lgtm_modules_in_process"
# The releases whose internals this was written and tested against (tests/unit/plugins/action/test_in_process.py):
# on any other, the modules run in their own process, as Ansible runs them.
TESTED_CORE = ("2.19",)
SUPPORTED = (".".join(ANSIBLE_CORE_VERSION.split(".")[:2]) in TESTED_CORE and _loader is not None
             and hasattr(_module_side, "is_controller") and hasattr(basic, "_ANSIBLE_PROFILE")
             and hasattr(basic, "_PARSED_MODULE_ARGS")
             and hasattr(_warnings, "_global_warnings") and hasattr(_warnings, "_global_deprecations"))
# Task environment variables that act when a Python process starts (PYTHON*) or that set its locale: a module
# process would start under them, this process has started already - such a task takes the ordinary path.
STARTUP_ENVIRONMENT = re.compile(r"^(PYTHON|LANG$|LANGUAGE$|LC_)")
display = Display()


def collection_module(loader, name, collections):
    """The Python module name of the lgtm.stack module a task's name resolves to, or None for any other module."""
    found = loader.find_plugin_with_context(name, collection_list=collections)
    if not found.resolved or found.plugin_resolved_collection != COLLECTION:
        return None
    return found.plugin_resolved_name


@contextlib.contextmanager
def module_side(environment):
    """While a module runs in this process: the task's environment, module_utils in target mode, no warnings of
    an earlier module run (a loop's items share one worker); everything as it was afterwards, cwd included."""
    saved_env, saved_cwd, saved_locale = dict(os.environ), os.getcwd(), locale.setlocale(locale.LC_ALL)
    was_controller = _module_side.is_controller
    saved_args = (basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS)
    saved_messages = (dict(_warnings._global_warnings), dict(_warnings._global_deprecations))
    try:
        _warnings._global_warnings.clear()
        _warnings._global_deprecations.clear()
        os.environ.update(environment)
        _module_side.is_controller = False
        yield
    finally:
        _module_side.is_controller = was_controller
        basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE, basic._PARSED_MODULE_ARGS = saved_args
        for store, saved in zip((_warnings._global_warnings, _warnings._global_deprecations), saved_messages):
            store.clear()
            store.update(saved)
        os.environ.clear()
        os.environ.update(saved_env)
        # AnsibleModule sets the locale from the environment (LC_ALL=C would leave this process ASCII-only).
        locale.setlocale(locale.LC_ALL, saved_locale)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)


def run_module(fqn, payload, environment):
    """Run the module file `fqn` as a module process's wrapper does (ansible-core's own loader: the same input,
    the same report of an exception or of a module that does not exit); (rc, stdout, stderr) as from a process."""
    out, err, rc = io.StringIO(), io.StringIO(), 0
    with module_side(environment), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            _loader.run_module(json_params=payload, profile=PROFILE, module_fqn=fqn, modlib_path="", extensions={})
        except SystemExit as ex:
            rc = ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
    return rc, out.getvalue(), err.getvalue()


def finish(data):
    """What ActionBase._execute_module does to a module's parsed result, after the internal keys."""
    data.pop("_ansible_suppress_tmpdir_delete", None)
    if "results" in data and (not isinstance(data["results"], Sequence) or isinstance(data["results"], str)):
        data["ansible_module_results"] = data.pop("results")
        display.warning("Found internal 'results' key in module return, renamed to 'ansible_module_results'.")
    remove_internal_keys(data)
    for key in ("stdout", "stderr"):
        if key in data and key + "_lines" not in data:
            data[key + "_lines"] = (data.get(key) or "").splitlines()
    return data


class ActionModule(ActionBase):
    """ansible.builtin.normal's work, with the module run in this process when the target is this machine."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _in_process(self, task_vars, wrap_async, environment):
        """Whether a module may run here: the target is this process's machine, user and Python, synchronously,
        under what this process already is (locale, start-up settings, a working directory it can use)."""
        if not SUPPORTED or wrap_async or self._task.async_val or self._play_context.become:
            return False
        if getattr(self._connection, "transport", None) != "local":
            return False
        if not boolean(self._templar.template(task_vars.get(SWITCH, True)), strict=False):
            return False
        if any(STARTUP_ENVIRONMENT.match(str(name)) for name in environment):
            return False
        try:  # a module process started in an unusable directory moves to ~ first (the AnsiballZ wrapper)
            if not os.access(os.getcwd(), os.R_OK | os.X_OK):
                return False
        except OSError:
            return False
        rlimit = C.config.get_config_value("PYTHON_MODULE_RLIMIT_NOFILE", variables=task_vars)
        if str(self._templar.template(rlimit) if isinstance(rlimit, str) else rlimit).strip() not in ("", "0"):
            return False
        # The host's interpreter must be this very Python (the default inventory's {{ ansible_playbook_python }}
        # and Ansible's implicit localhost are): another one may lack, or have other versions of, what the
        # module imports. Unset means interpreter discovery, which only a module process does.
        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        interpreter = host_vars.get("ansible_python_interpreter")
        return bool(interpreter) and self._templar.template(interpreter) == sys.executable

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        task_vars = task_vars if task_vars is not None else {}
        fqn = collection_module(self._shared_loader_obj.module_loader, module_name or self._task.action,
                                self._task.collections)
        environment = {}
        if fqn is not None:
            self._compute_environment_string(raw_environment_out=environment)
        if fqn is None or not self._in_process(task_vars, wrap_async, environment):
            return super(ActionModule, self)._execute_module(
                module_name=module_name, module_args=module_args, task_vars=task_vars, wrap_async=wrap_async,
                ignore_unknown_opts=ignore_unknown_opts)
        module_name = module_name or self._task.action
        module_args = self._task.args.copy() if module_args is None else module_args
        self._update_module_args(module_name, module_args, task_vars, ignore_unknown_opts=ignore_unknown_opts)
        encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
        payload = json.dumps(dict(ANSIBLE_MODULE_ARGS=module_args), cls=encoder).encode()
        display.vvv("%s.%s runs in this worker process (local connection; %s: false runs it in its own)"
                    % (COLLECTION, fqn.rpartition(".")[2], SWITCH), host=self._play_context.remote_addr)
        rc, stdout, stderr = run_module(fqn, payload, dict((str(k), str(v)) for k, v in environment.items()))
        return finish(self._parse_returned_data(dict(rc=rc, stdout=stdout, stderr=stderr), PROFILE))
