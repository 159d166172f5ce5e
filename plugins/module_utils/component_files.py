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
