#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: secret_file_info
short_description: Check secret files on the docker host without reading them into the play
version_added: 0.2.0
description:
  - For each path, says whether it is a readable, non-empty regular file, its mode, and whether its content ends
    with a line break or other whitespace. Never returns, logs or diffs the content.
  - The remote backends read passwords and tokens from files. Prometheus-style clients trim the content, but
    Alloy's C(local.file) (which feeds C(otelcol.auth.basic) and C(otelcol.auth.bearer)) passes it unchanged, so a
    password written with C(echo) would be sent with its newline; the roles refuse such a file for those uses.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  paths:
    description: Files to look at.
    type: list
    elements: path
    required: true
  return_content:
    description:
      - Also return each readable regular file's content as C(content) (text). For a caller that needs the secret
        itself in the play (the migration reads the MySQL exporter's password from a legacy C(my.cnf)); such a task
        must set C(no_log). A file that is not UTF-8 text gets no C(content) and a C(problem) instead. Off, as by
        default, nothing of the content leaves the docker host.
    type: bool
    default: false
  reader:
    description:
      - C(uid:gid) of the container user that will read the files (e.g. Grafana's C(472:0)). Each entry's
        C(reader_access) then says how it may read the file.
    type: str
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
  idempotent:
    support: full
    description: Reads only.
"""

EXAMPLES = r"""
- name: Check the remote backends' password file
  lgtm.stack.secret_file_info:
    paths: [/etc/lgtm/remote.password]
  register: secrets
"""

RETURN = r"""
files:
  description: One entry per path, in order - C(path), C(exists), C(regular), C(readable), C(size), C(mode) (octal
    string), C(uid), C(gid), C(trailing_whitespace) (the content ends with a space, tab or line break), C(dollar)
    (the content holds a C($), which Grafana's provisioning would expand), C(problem) (empty when the file is
    usable, else a sentence naming the file and what is wrong), and with O(reader) C(reader_access) - V(owner),
    V(group) (its primary group), V(other), V(root), V(group_add) (readable once the file's group is added to the
    container, e.g. compose C(group_add)) or V(none); with O(return_content) C(content) for a readable regular
    file.
  returned: always
  type: list
  elements: dict
"""

import os
import re
import stat

from ansible.module_utils.basic import AnsibleModule


def describe(path, return_content=False):
    out = {"path": path, "exists": False, "regular": False, "readable": False, "size": 0, "mode": "", "uid": -1,
           "gid": -1, "trailing_whitespace": False, "dollar": False, "problem": ""}
    try:
        st = os.stat(path)
    except OSError as exc:
        out["problem"] = "%s: cannot be read (%s)" % (path, exc.strerror or exc)
        return out
    out.update(exists=True, regular=stat.S_ISREG(st.st_mode), size=st.st_size, mode="%04o" % stat.S_IMODE(st.st_mode),
               uid=st.st_uid, gid=st.st_gid)
    if not out["regular"]:
        out["problem"] = "%s: not a regular file" % path
        return out
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        out["problem"] = "%s: cannot be read (%s)" % (path, exc.strerror or exc)
        return out
    out["readable"] = True
    out["trailing_whitespace"] = data[-1:] in (b"\n", b"\r", b" ", b"\t")
    out["dollar"] = b"$" in data
    if not data.strip():
        out["problem"] = "%s: empty" % path
    if return_content:
        try:
            out["content"] = data.decode("utf-8")
        except UnicodeDecodeError:  # never a mangled secret: no content, and why
            out["problem"] = "%s: not UTF-8 text; its content is not returned" % path
    del data
    return out


def access(info, reader):
    """How the container user `reader` ("uid:gid") may read the file described by `info`."""
    uid, gid = (int(part) for part in reader.split(":", 1))
    mode = int(info["mode"] or "0", 8)
    if uid == 0:
        return "root"
    # The kernel checks one class only: the owner's bits for the owner, the group's for a member, else other's.
    if info["uid"] == uid:
        return "owner" if mode & 0o400 else "none"
    if info["gid"] == gid:
        return "group" if mode & 0o040 else "none"
    if mode & 0o004:
        return "other"
    return "group_add" if mode & 0o040 else "none"


def main():
    module = AnsibleModule(argument_spec=dict(paths=dict(type="list", elements="path", required=True),
                                              reader=dict(type="str"),
                                              return_content=dict(type="bool", default=False)),
                           supports_check_mode=True)
    reader = module.params["reader"]
    if reader is not None and not re.match(r"^[0-9]+:[0-9]+$", reader):
        module.fail_json(msg="reader must be uid:gid (numbers), got %r" % reader)
    files = [describe(p, module.params["return_content"]) for p in module.params["paths"]]
    if reader is not None:
        for info in files:
            info["reader_access"] = access(info, reader) if info["exists"] else "none"
    module.exit_json(changed=False, files=files)


if __name__ == "__main__":
    main()
