# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files of one stack component, written in one call: compare, check every new content, then move them all.

What each component role used to repeat in four to eight tasks (create the directory, look for the real image,
template the configuration with `validate`, template the compose fragment with `validate`) is one module call:
Ansible starts one Python process per module task, and on a small machine that start-up, not the work, was the
cost of a migration.

A check runs on a temporary file next to the destination, before anything is moved: a refused content leaves
every file of the component as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import read_text as _read_existing

CHECKS = ("none", "yaml", "json_dashboard", "compose", "image")


def image_can_vouch(run, image):
    """(True, "") when `image` is present on the engine; else (False, why). No image given (the role's image check
    is off) never vouches either."""
    if not image:
        return False, "no image given (the role's image check is off)"
    rc, out, err = run(["docker", "image", "inspect", "--format", "{{.Id}}", image])
    if rc != 0:
        lines = (err or out).strip().splitlines()
        return False, "%s is not on the engine (%s)" % (image, lines[-1] if lines else "rc %d" % rc)
    return True, ""


def temp_path(path):
    """The temporary file next to `path` a new content is written to (and checked on) before it is moved in
    (`.gitignore` keeps `*.lgtm-tmp` out of git)."""
    return os.path.join(os.path.dirname(path), ".%s.lgtm-tmp" % os.path.basename(path))


def read_text(path):
    """The file's text, or None when it does not exist (InputError when it cannot be read as UTF-8 text)."""
    if not os.path.lexists(path):
        return None
    if not os.path.isfile(path):
        raise InputError(path, "exists and is not a regular file")
    return _read_existing(path)


def check_argv(kind, tmp, name, directory, image=None, image_check=None):
    """The command that checks the temporary file `tmp` (destined to `name` in `directory`), or None for a check
    done in Python (yaml, json_dashboard) or no check at all."""
    if kind == "compose":
        return ["docker", "compose", "--project-directory", directory, "-f", tmp, "config", "--quiet"]
    if kind == "image":
        spec = image_check or {}
        mount = spec.get("mount") or "/etc/lgtm-validate/%s" % os.path.basename(name)
        argv = ["docker", "run", "--rm", "--network", "none"]
        if spec.get("user"):
            argv += ["--user", spec["user"]]
        argv += ["--volume", "%s:%s:ro" % (tmp, mount), image]
        return argv + [arg.replace("{path}", mount) for arg in spec.get("args") or []]
    return None


def python_check(kind, text):
    """The problem of `text` for the checks done in Python ("" when it passes)."""
    if kind == "yaml":
        import yaml  # the target's PyYAML, as the validate commands these checks replace used

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            return "not YAML: %s" % exc
        return "" if isinstance(data, dict) else "not a YAML mapping"
    if kind == "json_dashboard":
        try:
            data = json.loads(text)
        except ValueError as exc:
            return "not JSON: %s" % exc
        return "" if isinstance(data, dict) and data.get("uid") else "not a dashboard with a uid"
    return ""


def effective_check(spec, vouch):
    """The check a file gets: `image` only when the real image can vouch, else the file's fallback."""
    kind = spec.get("check") or "none"
    if kind == "image" and not vouch:
        return spec.get("fallback_check") or "none"
    return kind


def diff_entry(path, before, after):
    return dict(before_header=path if before is not None else "%s (absent)" % path,
                after_header=path if after is not None else "%s (absent)" % path,
                before=before or "", after=after or "")


# --------------------------------------------------------------------------- secret files


def owner_ids(owner, group):
    """(uid, gid) for names or numbers; None for an unset one. KeyError names the unknown one."""
    import grp
    import pwd

    def one(value, lookup, kind):
        if value in (None, ""):
            return None
        if str(value).isdigit():
            return int(value)
        try:
            return lookup(value)
        except KeyError:
            raise KeyError("unknown %s %r" % (kind, value))

    return (one(owner, lambda n: pwd.getpwnam(n).pw_uid, "user"), one(group, lambda n: grp.getgrnam(n).gr_gid, "group"))


def secret_state(path):
    """(bytes, mode, uid, gid) of an existing file, or None. An unreadable file raises OSError."""
    if not os.path.lexists(path):
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        raise InputError(path, "exists and is not a regular file")
    info = os.stat(path)
    with open(path, "rb") as handle:
        return handle.read(), info.st_mode & 0o7777, info.st_uid, info.st_gid


def write_secret(path, data, mode, uid=None, gid=None):
    """Replace `path` by `data` through a temporary file that has its final mode, owner and group before the first
    byte is written; a file never exists with other permissions."""
    tmp = temp_path(path)
    if os.path.lexists(tmp):
        os.remove(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if uid is not None or gid is not None:
                os.fchown(handle.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        os.remove(tmp)
        raise
    os.rename(tmp, path)


def secret_bytes(value):
    """The bytes of a secret file: a string as it is, a mapping or a list as JSON and a line break (what a template
    engine may have made of a JSON text is written back as that JSON)."""
    if isinstance(value, (dict, list)):
        return (json.dumps(value) + "\n").encode("utf-8")
    return ("%s" % value).encode("utf-8")


def secret_differs(state, data, mode, uid, gid):
    """What must change for a secret file: "content", "attributes" or ""."""
    if state is None or data is None:
        return "content" if (state is None) != (data is None) else ""
    if state[0] != data:
        return "content"
    if state[1] != mode or (uid is not None and state[2] != uid) or (gid is not None and state[3] != gid):
        return "attributes"
    return ""


def secret_diff_entry(path, state, data):
    """A diff entry that names the file and never shows its content."""
    return diff_entry(path, None if state is None else "(secret content, not shown)\n",
                      None if data is None else "(secret content, not shown: %s)\n"
                      % ("new file" if state is None else "changes"))
