#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: migration_lock
short_description: Take or release the per-project lock of a migration
version_added: 0.1.0
description:
  - The lock is a small JSON file naming its O(owner). Taking it is atomic (C(O_CREAT|O_EXCL)), so two runs that
    start together cannot both get it.
  - When another owner holds it, the action plugin of the same name (on the controller) judges that holder. On this
    controller it is alive while its ansible-playbook process runs; from another controller, until it is
    O(stale_after) seconds old. Alive, the task fails naming it; gone, the lock is taken over (RV(taken_over)).
  - Releasing only removes a lock of the same owner (or any lock with O(force)).
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  path:
    description: The lock file.
    type: path
    required: true
  owner:
    description:
      - Who takes the lock. By default this run, as the action plugin names it (RV(owner)).
    type: dict
  stale_after:
    description:
      - Seconds after which the lock of a run on another controller (whose process cannot be looked at) counts as
        stale. 0 takes such a lock over at once.
    type: int
    default: 0
  state:
    description: C(present) takes it, C(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description: Take over (or remove) a lock held by another owner.
    type: bool
    default: false
attributes:
  action:
    support: full
    description: The action plugin of the same name names this run and judges another holder, on the controller.
  check_mode:
    support: full
    description: Reads the lock and reports what would happen; never writes or removes it.
  diff_mode:
    support: none
    description: Not supported.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""

EXAMPLES = r"""
- name: Take the project's lock (fails when a live run holds it; takes over the lock of a run that is gone)
  lgtm.stack.migration_lock:
    path: /srv/shop/.lgtm-migrate.lock
    stale_after: 86400
  register: lock

- name: Release it
  lgtm.stack.migration_lock:
    path: /srv/shop/.lgtm-migrate.lock
    owner: "{{ lock.owner }}"
    state: absent
"""

RETURN = r"""
acquired:
  description: Whether the lock is (or in check mode would be) held by O(owner) now.
  returned: state is present
  type: bool
holder:
  description: The owner recorded in the lock file before this call, or null.
  returned: always
  type: dict
owner:
  description: Who holds the lock now (this run's controller, pid, started, stamp unless O(owner) was given).
  returned: always
  type: dict
taken_over:
  description: The owner of the stale lock this call took over.
  returned: when a stale lock was taken over
  type: dict
free_bytes:
  description: Free space, in bytes, on the file system of the lock's directory (for the caller's disk check).
  returned: always
  type: int
"""

import binascii
import json
import os

from ansible.module_utils.basic import AnsibleModule


def read_holder(path):
    try:
        with open(path, encoding="utf-8") as handle:
            holder = json.load(handle)
        return holder if isinstance(holder, dict) else {"unreadable": True}
    except (IOError, OSError) as exc:
        return None if not os.path.exists(path) else {"unreadable": str(exc)}
    except ValueError:
        return {"unreadable": "not JSON"}


def same_owner(holder, owner):
    """The same run: controller and ansible-playbook PID, and its nonce when both carry one (two hosts of one run
    that point at the same project must not both hold its lock)."""
    keys = ("controller", "pid") + (("run",) if "run" in (holder or {}) and "run" in owner else ())
    return holder is not None and all(str(holder.get(k)) == str(owner.get(k)) for k in keys)


def _write(path, data, replace):
    """Writes the lock with its whole content at once (a reader never sees it empty or half written), from a unique
    temporary file: hard-linked into place for a new lock (FileExistsError when another run created it first),
    renamed over a stale one."""
    tmp = "%s.%d.%s.tmp" % (path, os.getpid(), binascii.hexlify(os.urandom(4)).decode())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(data)
    try:
        (os.rename if replace else os.link)(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            owner=dict(type="dict"),
            stale_after=dict(type="int", default=0),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    path, owner = module.params["path"], module.params["owner"]
    if not owner:
        module.fail_json(msg="%s: no owner given (the action plugin names this run; a direct module call must)" % path)
    holder = read_holder(path)
    try:
        fs = os.statvfs(os.path.dirname(path) or ".")
        free = fs.f_bavail * fs.f_frsize
    except OSError:
        free = -1
    if module.params["state"] == "absent":
        remove = holder is not None and (same_owner(holder, owner) or module.params["force"])
        if remove and not module.check_mode:
            os.remove(path)
        module.exit_json(changed=remove, holder=holder, free_bytes=free)
    if holder is not None and not same_owner(holder, owner) and not module.params["force"]:
        module.exit_json(changed=False, acquired=False, holder=holder, free_bytes=free)
    if module.check_mode:
        module.exit_json(changed=False, acquired=True, holder=holder, free_bytes=free)
    data = json.dumps(owner, sort_keys=True) + "\n"
    try:
        _write(path, data, replace=holder is not None)
    except FileExistsError:
        # Another run took it between our read and our create.
        module.exit_json(changed=False, acquired=False, holder=read_holder(path), free_bytes=free)
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: cannot write the migration's lock: %s (is the project directory writable?)"
                         % (path, exc))
    # Two runs that took the same stale lock over at once: the last rename wins, and only that run holds it.
    now = read_holder(path)
    if not same_owner(now, owner):
        module.exit_json(changed=False, acquired=False, holder=now, free_bytes=free)
    module.exit_json(changed=True, acquired=True, holder=holder, free_bytes=free)


if __name__ == "__main__":
    main()
