# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration lock's judgement, on the controller: who this run is, and whether the run that holds the lock is
still alive. Used by the action plugin `migration_lock`; taking and releasing the lock file is the module's, on
the docker host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import os
import time


def run_identity(now=None):
    """This run: the controller's name, the ansible-playbook process (the parent of the worker that runs an action
    plugin), when it started and the UTC stamp of its backup directory."""
    started = int(time.time() if now is None else now)
    return {"controller": os.uname()[1], "pid": os.getppid(), "started": started,
            "stamp": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)),
            # One per call: two hosts of the same run that point at one project are two owners.
            "run": binascii.hexlify(os.urandom(8)).decode()}


def process_cmdline(pid):
    """The command line of a process on this machine ("" when there is none)."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return ""
    if pid <= 0:
        return ""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except (IOError, OSError):
        return ""


def holder_alive(holder, run, stale_after, cmdline=process_cmdline):
    """Whether the run recorded in `holder` may still be running.

    On this controller, the holder's ansible-playbook process is looked at: gone (or another program with that
    PID), the lock is stale. A holder on another controller cannot be looked at: its lock counts as alive until it
    is `stale_after` seconds old. An unreadable lock has no owner to wait for."""
    holder = holder or {}
    if holder.get("controller") is not None and str(holder.get("controller")) == str(run["controller"]):
        return "ansible" in cmdline(holder.get("pid"))
    try:
        started = int(holder.get("started") or 0)
    except (TypeError, ValueError):
        started = 0
    return int(run["started"]) - started < int(stale_after)


def refusal(path, holder):
    """The message that refuses to run next to a live holder."""
    holder = holder or {}
    try:
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(holder.get("started") or 0)))
    except (TypeError, ValueError):
        started = "?"
    return ("%s: another migration of this project is running (controller %s, ansible-playbook PID %s, started %s). "
            "Wait for it to finish. If it is not running any more, delete the lock file and run again."
            % (path, holder.get("controller", "?"), holder.get("pid", "?"), started))
