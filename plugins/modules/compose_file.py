#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compose_file
short_description: Edit a user's docker-compose file round-trip
version_added: 0.1.0
description:
  - Edits a compose file the user wrote without rewriting it - comments, key order, anchors and quoting survive
    (ruamel.yaml round-trip).
  - Today it manages top-level C(include:) entries; the migration's service edits build on it.
  - With O(backup), the original is copied next to the file before the edit.
  - In diff mode the before and after texts are shown with secret values masked (C(*PASSWORD*), C(*TOKEN*), ...,
    credentials in URLs), so a C(--diff) run never prints the project's secrets.
  - A malformed or unreadable file fails the task with the file and line, and nothing is written.
author:
  - lgtm.stack developers
options:
  path:
    description: Compose file to edit.
    type: path
    required: true
  include:
    description: Paths that must be listed under C(include:) (relative to the file, or absolute).
    type: list
    elements: str
    default: []
  exclude:
    description: Paths that must not be listed under C(include:); the key is dropped when it becomes empty.
    type: list
    elements: str
    default: []
  backup:
    description: Copy the file (timestamped, next to it) before changing it.
    type: bool
    default: false
requirements:
  - ruamel.yaml on the host the module runs on.
attributes:
  check_mode:
    support: full
    description: Computes the new text and reports the change without writing.
  diff_mode:
    support: full
    description: Shows the file before and after, with secret values masked.
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Add the stack to the project
  lgtm.stack.compose_file:
    path: /srv/shop/docker-compose.yml
    include:
      - observability/compose.yaml
    backup: true
"""

RETURN = r"""
changes:
  description: What was (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
  sample: ["include observability/compose.yaml"]
backup_file:
  description: Path of the backup copy, when one was made.
  returned: changed and backup is true
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.lgtm.stack.plugins.module_utils.compose_edit import (
    HAS_RUAMEL,
    RUAMEL_IMPORT_ERROR,
    edit_includes,
    redact_text,
)
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError, read_text


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            include=dict(type="list", elements="str", default=[]),
            exclude=dict(type="list", elements="str", default=[]),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    if not HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=str(RUAMEL_IMPORT_ERROR))
    path = module.params["path"]
    overlap = sorted(set(module.params["include"]) & set(module.params["exclude"]))
    if overlap:
        module.fail_json(msg="%s: paths both included and excluded: %s" % (path, ", ".join(overlap)))
    try:
        before = read_text(path, "compose file")
        after, changes = edit_includes(before, module.params["include"], module.params["exclude"], path)
    except InputError as exc:
        module.fail_json(msg=str(exc), file=str(exc.path), line=exc.line)
    result = dict(changed=bool(changes), changes=changes)
    if module._diff:
        result["diff"] = dict(before=redact_text(before), after=redact_text(after),
                              before_header=path, after_header=path)
    if changes and not module.check_mode:
        if module.params["backup"]:
            result["backup_file"] = module.backup_local(path)
        tmp = "%s.lgtm-tmp" % path
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(after)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        module.atomic_move(tmp, path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
