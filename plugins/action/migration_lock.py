# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lgtm.stack.migration_lock (documented with the module).

The holder of a lock is an ansible-playbook process on a controller: only the controller can tell whether it still
runs. This plugin names this run (when no owner is given), has the module take the lock on the docker host, and,
when another run holds it, judges that run (plugins/module_utils/migration_lock.py): alive, the task fails with
who holds it; gone, the module takes the lock over.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.migration_lock import holder_alive, refusal, run_identity
from ansible_collections.lgtm.stack.plugins.plugin_utils.in_process import ActionModule as InProcessAction


class ActionModule(InProcessAction):
    """The module runs in the worker on a local connection, as every lgtm.stack module does (in_process.py)."""

    TRANSFERS_FILES = False
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(InProcessAction, self).run(tmp, task_vars)
        args = dict(self._task.args)
        args["owner"] = args.get("owner") or run_identity()
        stale_after = int(args.get("stale_after") or 0)
        taken = self._execute_module(module_name="lgtm.stack.migration_lock", module_args=args, task_vars=task_vars)
        result.update(taken)
        result["owner"] = args["owner"]
        if taken.get("failed") or args.get("state", "present") != "present" or taken.get("acquired"):
            return result
        holder = taken.get("holder")
        if holder_alive(holder, args["owner"], stale_after):
            result.update(failed=True, msg=refusal(args["path"], holder))
            return result
        taken = self._execute_module(module_name="lgtm.stack.migration_lock", module_args=dict(args, force=True),
                                     task_vars=task_vars)
        result.update(taken)
        if not taken.get("failed") and not taken.get("acquired"):
            # Another run took the same stale lock over at the same moment, and its rename came last: it holds it.
            result.update(failed=True, msg=refusal(args["path"], taken.get("holder")))
            return result
        result["taken_over"] = holder
        return result
