#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: managed_block
short_description: Keep a marked block of text in a file the user also edits
version_added: 0.1.0
description:
  - Replaces the text between two marker lines (or appends the markers and the block at the end of the file), the
    way M(ansible.builtin.blockinfile) does, for multi-line Markdown blocks such as the SRE guide's section.
  - Text outside the markers is never touched. Broken markers (one without the other, two of a kind) fail the task
    and change nothing.
  - With O(backup_dir), the original file is copied to O(backup_dir)/<path relative to O(project_dir)> before the
    first change.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  path:
    description: File to edit.
    type: path
    required: true
  block:
    description: Text of the block (without the markers).
    type: str
    default: ""
  marker:
    description: Marker line template; C({mark}) becomes C(BEGIN) or C(END).
    type: str
    default: "<!-- {mark} lgtm.stack managed block: edits inside are replaced on every run -->"
  state:
    description: Whether the block should be there.
    type: str
    choices: [present, absent]
    default: present
  create:
    description: Create the file (and its directory) when it does not exist.
    type: bool
    default: true
  remove_empty_file:
    description: With O(state=absent), delete the file when nothing but blank lines is left in it.
    type: bool
    default: false
  mode:
    description: Mode of a file the module creates.
    type: raw
    default: "0644"
  backup_dir:
    description: Directory that receives a copy of the original before the first change.
    type: path
  project_dir:
    description: Root that O(backup_dir) paths are relative to. Defaults to the directory of O(path).
    type: path
attributes:
  check_mode:
    support: full
    description: Computes the new text and reports the change without writing.
  diff_mode:
    support: full
    description: Shows the file before and after.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""

EXAMPLES = r"""
- name: Keep the observability section of the SRE guide
  lgtm.stack.managed_block:
    path: /srv/shop/docs/sre_guide.md
    block: "{{ lookup('ansible.builtin.template', 'sre_guide_block.md.j2') }}"
    backup_dir: /srv/shop/.lgtm-backup/20261125T120000Z
    project_dir: /srv/shop
"""

RETURN = r"""
created:
  description: Whether the file was (or would be) created.
  returned: always
  type: bool
removed:
  description: Whether the file was (or would be) deleted (O(remove_empty_file)).
  returned: always
  type: bool
backup_file:
  description: Path of the copy of the original.
  returned: changed, the file existed and backup_dir is set
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lgtm.stack.plugins.module_utils.backup import backup_into, write_atomic
from ansible_collections.lgtm.stack.plugins.module_utils.managed_block import apply_block
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            block=dict(type="str", default=""),
            marker=dict(type="str", default="<!-- {mark} lgtm.stack managed block: edits inside are replaced on "
                                            "every run -->"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            create=dict(type="bool", default=True),
            remove_empty_file=dict(type="bool", default=False),
            mode=dict(type="raw", default="0644"),
            backup_dir=dict(type="path"),
            project_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    if "{mark}" not in module.params["marker"]:
        module.fail_json(msg="marker must contain {mark} (got %r)" % module.params["marker"])
    exists = os.path.exists(path)
    if exists and not os.path.isfile(path):
        module.fail_json(msg="%s: not a regular file" % path)
    if not exists and not module.params["create"] and module.params["state"] == "present":
        module.fail_json(msg="%s: does not exist (set create: true to create it)" % path)
    try:
        before = ""
        if exists:
            with open(path, encoding="utf-8") as handle:
                before = handle.read()
        after = apply_block(before, module.params["block"], module.params["marker"], module.params["state"], path)
    except InputError as exc:
        module.fail_json(msg=str(exc), file=str(exc.path))
    except (IOError, OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg="%s: cannot read: %s" % (path, exc))
    remove = (exists and module.params["state"] == "absent" and module.params["remove_empty_file"]
              and not after.strip())
    changed = remove or (after != before and (exists or module.params["state"] == "present"))
    result = dict(changed=changed, created=changed and not exists, removed=remove)
    if module._diff:
        result["diff"] = dict(before=before, after=after, before_header=path if exists else "(absent)",
                              after_header=path)
    if remove and not module.check_mode:
        if module.params["backup_dir"]:
            result["backup_file"] = backup_into(path, module.params["backup_dir"],
                                                module.params["project_dir"] or os.path.dirname(path))
        os.remove(path)
    elif changed and not module.check_mode:
        if exists and module.params["backup_dir"]:
            result["backup_file"] = backup_into(path, module.params["backup_dir"],
                                                module.params["project_dir"] or os.path.dirname(path))
        write_atomic(module, path, after, module.params["mode"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
