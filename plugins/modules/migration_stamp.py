#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: migration_stamp
short_description: Record, and later recognise, the converged state of a migrated project
version_added: 0.1.0
description:
  - Digests the content, mode and layout of a set of files and directories (the stack's directory, the project's
    compose files, the SRE guide, the legacy files the migration reads) together with a digest of the run's inputs
    (collection code, recorded plan, variables) computed by the caller.
  - With O(state=write) the two digests are stored in O(path) at the end of a successful run; with O(state=check) a
    later run learns whether anything that could change the outcome has changed since. The migrate role uses it
    to skip re-rendering a project that is already converged; any edit, by hand or by a tool, of a digested file
    or any change of input makes the match fail and the full run happen.
  - Only digests are stored, never content.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  path:
    description: The stamp file.
    type: path
    required: true
  paths:
    description: Files and directories (recursively) whose state is digested. Missing paths count as missing.
    type: list
    elements: path
    required: true
  exclude:
    description: Paths left out of the digest (the stamp file itself is always left out).
    type: list
    elements: path
    default: []
  inputs:
    description: Digest of the run's inputs, computed by the caller.
    type: str
    required: true
  state:
    description: C(check) compares, C(write) records.
    type: str
    choices: [check, write]
    default: check
attributes:
  check_mode:
    support: full
    description: C(check) runs as usual; C(write) reports whether it would write.
  diff_mode:
    support: none
    description: Not supported.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""

EXAMPLES = r"""
- name: Is the project as the last successful run left it?
  lgtm.stack.migration_stamp:
    path: /srv/shop/observability/.lgtm-stamp.json
    paths: [/srv/shop/observability, /srv/shop/docker-compose.yml]
    inputs: "{{ inputs_digest }}"
  register: stamp

- name: Record the converged state
  lgtm.stack.migration_stamp:
    path: /srv/shop/observability/.lgtm-stamp.json
    paths: [/srv/shop/observability, /srv/shop/docker-compose.yml]
    inputs: "{{ inputs_digest }}"
    state: write
"""

RETURN = r"""
match:
  description: Whether the stored stamp equals the current inputs and files (always false when there is none).
  returned: always
  type: bool
digest:
  description: Digest of the files now.
  returned: always
  type: str
files:
  description: Number of files digested.
  returned: always
  type: int
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lgtm.stack.plugins.module_utils.backup import write_atomic


def digest_paths(paths, exclude):
    """(hex digest, file count) of paths, modes and contents below `paths`."""
    skip = set(os.path.abspath(p) for p in exclude)
    digest, count = hashlib.sha256(), 0

    def add(path):
        nonlocal count
        st = os.lstat(path)
        digest.update(("%s\0%o\0" % (path, st.st_mode)).encode("utf-8", "surrogateescape"))
        if os.path.islink(path):
            digest.update(os.readlink(path).encode("utf-8", "surrogateescape"))
        elif os.path.isfile(path):
            count += 1
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        digest.update(b"\0")

    for root in sorted(set(os.path.abspath(p) for p in paths)):
        if root in skip:
            continue
        if not os.path.lexists(root):
            digest.update(("%s\0missing\0" % root).encode("utf-8", "surrogateescape"))
            continue
        add(root)
        if os.path.isdir(root) and not os.path.islink(root):
            for current, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if os.path.join(current, d) not in skip)
                for name in sorted(dirs + files):
                    full = os.path.join(current, name)
                    if full not in skip:
                        add(full)
    return digest.hexdigest(), count


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            paths=dict(type="list", elements="path", required=True),
            exclude=dict(type="list", elements="path", default=[]),
            inputs=dict(type="str", required=True, no_log=False),
            state=dict(type="str", choices=["check", "write"], default="check"),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    exclude = module.params["exclude"] + [path, path + ".lgtm-tmp"]
    try:
        digest, count = digest_paths(module.params["paths"], exclude)
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s: cannot read it to record the migration's state: %s"
                         % (getattr(exc, "filename", None) or "?", exc))
    wanted = {"format": 1, "inputs": module.params["inputs"], "files": digest}
    stored = None
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as handle:
                stored = json.load(handle)
        except (IOError, OSError, ValueError):
            stored = None  # unreadable or torn: simply no match
    match = stored == wanted
    changed = module.params["state"] == "write" and not match
    if changed and not module.check_mode:
        write_atomic(module, path, json.dumps(wanted, indent=2, sort_keys=True) + "\n", "0644")
    module.exit_json(changed=changed, match=match, digest=digest, files=count)


if __name__ == "__main__":
    main()
