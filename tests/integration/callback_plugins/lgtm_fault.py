# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only fault injection: SIGKILL the whole ansible-playbook process group at a chosen point.

    LGTM_FAULT_AT=<part of a task name>  LGTM_FAULT_WHEN=start|ok|item_ok  LGTM_FAULT_DELAY=<seconds>

With `start` the kill comes DELAY seconds after the task starts (from a timer, so the task is running by then:
a kill in the middle of a module); with `ok`/`item_ok` right after the task (or its first item) succeeded.
Only tests/integration enables it; the playbook must run in its own session.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: lgtm_fault
type: aggregate
short_description: test-only fault injection (SIGKILL at a task)
description: Kills the ansible-playbook process group at the task named by LGTM_FAULT_AT.
requirements: [enabled in callbacks_enabled]
"""

import os
import signal
import threading

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lgtm_fault"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.at = os.environ.get("LGTM_FAULT_AT", "")
        self.when = os.environ.get("LGTM_FAULT_WHEN", "start")
        self.delay = float(os.environ.get("LGTM_FAULT_DELAY", "0"))

    def _kill(self):
        os.killpg(os.getpgrp(), signal.SIGKILL)

    def _maybe(self, name, when):
        if self.at and self.at in (name or "") and when == self.when:
            if self.delay:
                threading.Timer(self.delay, self._kill).start()
            else:
                self._kill()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._maybe(task.get_name(), "start")

    def v2_runner_on_ok(self, result):
        self._maybe(result._task.get_name(), "ok")

    def v2_runner_item_on_ok(self, result):
        self._maybe(result._task.get_name(), "item_ok")
