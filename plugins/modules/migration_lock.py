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
  - When another owner holds it, the module does not fail; it returns that RV(holder) with RV(acquired=false), and
    the caller decides whether the holder is still alive (the migrate role asks the controller whether the
    holder's ansible-playbook process still runs) and may take it over with O(force).
  - Releasing only removes a lock of the same owner (or any lock with O(force)).
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  path:
    description: The lock file.
    type: path
    required: true
  owner:
    description: Who takes the lock (the migrate role uses controller, pid, started, stamp).
    type: dict
    required: true
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
- name: Take the project's lock
  lgtm.stack.migration_lock:
    path: /srv/shop/.lgtm-migrate.lock
    owner: {controller: ctl1, pid: 4242, started: 1764115200}
  register: lock
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
free_bytes:
  description: Free space, in bytes, on the file system of the lock's directory (for the caller's disk check).
  returned: always
  type: int
"""

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
    keys = ("controller", "pid")
    return holder is not None and all(str(holder.get(k)) == str(owner.get(k)) for k in keys)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            owner=dict(type="dict", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    path, owner = module.params["path"], module.params["owner"]
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
        if holder is None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w") as handle:
                handle.write(data)
        else:
            tmp = path + ".lgtm-tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.rename(tmp, path)
    except FileExistsError:
        # Another run took it between our read and our create.
        module.exit_json(changed=False, acquired=False, holder=read_holder(path), free_bytes=free)
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: cannot write the migration's lock: %s (is the project directory writable?)"
                         % (path, exc))
    module.exit_json(changed=True, acquired=True, holder=holder, free_bytes=free)


if __name__ == "__main__":
    main()
