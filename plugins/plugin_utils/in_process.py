# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin behind every lgtm.stack module: on a local connection, the module runs in Ansible's worker.

Ansible runs a module by starting a new Python process on the target, which compiles C(ansible.module_utils.basic)
and its imports from the module's zip payload (no bytecode cache there) before the module does anything: about
0.15 s a call on a 2-core machine, most of a migration's time (bench/RESULTS.md). When the target is the
controller itself - a C(local) connection, no C(become), no C(async) - this plugin runs the same module file in the
worker process Ansible forked for the task, which has Python and ansible-core loaded already:

- the same arguments, built by C(ActionBase._update_module_args) (check mode, diff, no_log, verbosity...) and
  handed over as the JSON text the module would read from its payload, in the same serialization profile;
- the module's own C(main()) and exit: its JSON output is parsed by C(ActionBase._parse_returned_data), as a
  module process's would be, so warnings, no_log masking, diffs and failures reach the play unchanged;
- the task's C(environment) applied to the process while the module runs, as on a module process;
- module-side mode: C(ansible.module_utils) is told it runs on a target, not on the controller, while the module
  runs (warnings and deprecations are returned in the result, as from a module process).

Anything else - another connection, C(become), C(async), or C(lgtm_modules_in_process: false) - takes Ansible's
ordinary path. The worker is a fork per task, so what the module leaves behind ends with the task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import io
import json
import os
import runpy
import traceback

from ansible.module_utils import basic
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible.vars.clean import remove_internal_keys

try:  # ansible-core 2.19 and later: serialization profiles and module_utils' controller/target switch
    from ansible.module_utils import _internal as _module_side
    from ansible.module_utils.common.json import Direction, get_module_encoder
    SUPPORTED = hasattr(_module_side, "is_controller") and hasattr(basic, "_ANSIBLE_PROFILE")
except ImportError:  # earlier releases take Ansible's ordinary path, always
    SUPPORTED = False

COLLECTION = "lgtm.stack"
PROFILE = "legacy"  # the serialization profile of a module without metadata, as the collection's are
SWITCH = "lgtm_modules_in_process"
display = Display()


def collection_module(loader, name, collections):
    """The Python module name of the lgtm.stack module a task's name resolves to, or None for any other module."""
    found = loader.find_plugin_with_context(name, collection_list=collections)
    if not found.resolved or found.plugin_resolved_collection != COLLECTION:
        return None
    return found.plugin_resolved_name


@contextlib.contextmanager
def module_side(environment):
    """While a module runs in this process: the task's environment, and module_utils in target mode."""
    saved_env = dict(os.environ)
    was_controller = _module_side.is_controller
    saved_args = (basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE)
    os.environ.update(environment)
    _module_side.is_controller = False
    try:
        yield
    finally:
        _module_side.is_controller = was_controller
        basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = saved_args
        os.environ.clear()
        os.environ.update(saved_env)


def run_module(fqn, payload, environment):
    """Run the module file `fqn` as __main__ with `payload` as its input; (rc, stdout, stderr) as from a process."""
    out, err, rc = io.StringIO(), io.StringIO(), 0
    with module_side(environment), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        basic._ANSIBLE_ARGS, basic._ANSIBLE_PROFILE = payload, PROFILE
        try:
            runpy.run_module(fqn, run_name="__main__", alter_sys=True)
            raise RuntimeError("%s did not exit through exit_json or fail_json" % fqn)
        except SystemExit as ex:
            rc = ex.code if isinstance(ex.code, int) else (0 if ex.code is None else 1)
        except Exception as ex:  # what a module process's wrapper reports: the exception, as a failed result
            rc = 1
            print(json.dumps(dict(failed=True, msg="%s raised %s: %s" % (fqn, type(ex).__name__, ex),
                                  exception=traceback.format_exc())))
    return rc, out.getvalue(), err.getvalue()


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

    def _in_process(self, task_vars, wrap_async):
        """Whether a module may run here: the target is this process's machine and user, synchronously."""
        if not SUPPORTED or wrap_async or self._task.async_val or self._play_context.become:
            return False
        if getattr(self._connection, "transport", None) != "local":
            return False
        wanted = (task_vars or {}).get(SWITCH, True)
        return boolean(self._templar.template(wanted), strict=False)

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        task_vars = task_vars if task_vars is not None else {}
        fqn = collection_module(self._shared_loader_obj.module_loader, module_name or self._task.action,
                                self._task.collections)
        if fqn is None or not self._in_process(task_vars, wrap_async):
            return super(ActionModule, self)._execute_module(
                module_name=module_name, module_args=module_args, task_vars=task_vars, wrap_async=wrap_async,
                ignore_unknown_opts=ignore_unknown_opts)
        module_name = module_name or self._task.action
        module_args = self._task.args.copy() if module_args is None else module_args
        self._update_module_args(module_name, module_args, task_vars, ignore_unknown_opts=ignore_unknown_opts)
        encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
        payload = json.dumps(dict(ANSIBLE_MODULE_ARGS=module_args), cls=encoder).encode()
        environment = {}
        self._compute_environment_string(raw_environment_out=environment)
        display.vvv("%s.%s runs in this worker process (local connection; %s: false runs it in its own)"
                    % (COLLECTION, fqn.rpartition(".")[2], SWITCH), host=self._play_context.remote_addr)
        rc, stdout, stderr = run_module(fqn, payload,
                                        dict((str(k), str(v)) for k, v in environment.items()))
        data = self._parse_returned_data(dict(rc=rc, stdout=stdout, stderr=stderr), PROFILE)
        data.pop("_ansible_suppress_tmpdir_delete", None)
        remove_internal_keys(data)
        return data
