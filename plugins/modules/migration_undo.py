#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: migration_undo
short_description: Put back what a failed migration run changed
version_added: 0.1.0
description:
  - A migration run's undo record - the files and directories the run may change (the project's compose files, the
    stack's directory, the SRE guide), as they were before it started.
  - With O(state=snapshot) the record is written (replacing an older one); with O(state=restore) every recorded path
    that changed since is put back (files and whole directories, modes kept; a path that did not exist is removed
    again); with O(state=discard) the record is removed after a successful run.
  - The run's backup under C(.lgtm-backup/) is a different thing - the state before the FIRST run, for
    C(rollback.yml). The undo record is the state before THIS run, so a failed re-run of a migrated project goes back
    to the migrated state, not to the legacy one.
  - The record holds copies of the stack's secret files; its directory is created 0700 and it is removed when the
    run succeeds.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  path:
    description: Directory of the undo record.
    type: path
    required: true
  paths:
    description: Files and directories to record (O(state=snapshot)). Ignored otherwise.
    type: list
    elements: path
    default: []
  state:
    description: C(snapshot), C(restore) or C(discard).
    type: str
    choices: [snapshot, restore, discard]
    required: true
attributes:
  check_mode:
    support: full
    description: Nothing is written; O(state=restore) reports what it would put back.
  diff_mode:
    support: none
    description: The restored paths are listed in RV(restored).
  idempotent:
    support: full
    description: A second C(restore) or C(discard) changes nothing; C(snapshot) records the current state again.
"""

EXAMPLES = r"""
- name: Record what this run may change
  lgtm.stack.migration_undo:
    path: /srv/shop/.lgtm-backup/.undo
    paths: [/srv/shop/docker-compose.yml, /srv/shop/observability]
    state: snapshot

- name: The run failed - put it back
  lgtm.stack.migration_undo:
    path: /srv/shop/.lgtm-backup/.undo
    state: restore
"""

RETURN = r"""
restored:
  description: Paths put back (O(state=restore)), or that would be in check mode.
  returned: always
  type: list
  elements: str
recorded:
  description: Paths recorded (O(state=snapshot)).
  returned: always
  type: list
  elements: str
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lgtm.stack.plugins.module_utils import undo


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            paths=dict(type="list", elements="path", default=[]),
            state=dict(type="str", required=True, choices=["snapshot", "restore", "discard"]),
        ),
        supports_check_mode=True,
    )
    path, state = module.params["path"], module.params["state"]
    result = {"changed": False, "restored": [], "recorded": []}
    try:
        if state == "snapshot":
            result["recorded"] = sorted(os.path.abspath(p) for p in module.params["paths"])
            if not module.check_mode:
                undo.snapshot(path, module.params["paths"])
            result["changed"] = True
        elif state == "restore":
            changed = undo.changed_paths(path)
            if changed is None:
                module.exit_json(msg="no undo record at %s: nothing to put back" % path, **result)
            result["restored"] = changed
            result["changed"] = bool(changed)
            if changed and not module.check_mode:
                undo.restore(path, changed)
        else:
            result["changed"] = os.path.exists(path)
            if result["changed"] and not module.check_mode:
                shutil.rmtree(path)
    except (IOError, OSError, ValueError, KeyError) as exc:
        module.fail_json(msg="%s: %s" % (path, exc), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
