# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Round-trip edits of a user's compose file: comments, order, anchors and quoting survive."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import re

from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK, is_secret_key, mask_userinfo
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import MarkedYAMLError

    HAS_RUAMEL = True
    RUAMEL_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the module
    HAS_RUAMEL = False
    RUAMEL_IMPORT_ERROR = exc


def _yaml():
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(text, path):
    if not HAS_RUAMEL:
        raise InputError(path, "ruamel.yaml is required to edit compose files (pip install ruamel.yaml / "
                               "apt install python3-ruamel.yaml)")
    try:
        doc = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(path, "malformed YAML: %s" % (exc.problem or exc), mark.line + 1 if mark else None)
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise InputError(path, "a compose file must be a mapping at the top", 1)
    return doc


def dump(doc):
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def _include_paths(entry):
    if isinstance(entry, str):
        return [entry]
    if isinstance(entry, dict):
        path = entry.get("path")
        return list(path) if isinstance(path, list) else [path] if path else []
    return []


def set_includes(doc, present=(), absent=(), path=None):
    """Ensure include entries are present / absent. Returns the list of changes made."""
    changes = []
    includes = doc.get("include")
    if includes is not None and not isinstance(includes, list):
        raise InputError(path or "compose", "'include' must be a list")
    existing = [p for entry in includes or [] for p in _include_paths(entry)]
    for wanted in present:
        if wanted in existing:
            continue
        if includes is None:
            includes = CommentedSeq()
            # Compose reads includes first; put the key at the top, after `name:` when there is one.
            position = 1 if "name" in doc and list(doc.keys())[0] == "name" else 0
            doc.insert(position, "include", includes)
        includes.append(wanted)
        existing.append(wanted)
        changes.append("include %s" % wanted)
    for unwanted in absent:
        for index in range(len(includes or []) - 1, -1, -1):
            if unwanted in _include_paths(includes[index]):
                del includes[index]
                changes.append("exclude %s" % unwanted)
    if includes is not None and len(includes) == 0:
        del doc["include"]
    return changes


_TOP_KEY = re.compile(r"^[A-Za-z_][\w.-]*\s*:")
_NAME_LINE = re.compile(r"^name\s*:\s*\S")
_PLAIN_ENTRY = re.compile(r"^  - ([^\s#]+)\s*$")


def edit_includes(text, present=(), absent=(), path=None):
    """Return (new_text, changes). A new or plain `include:` block (`include:` then `  - path` lines) is edited
    as text so that every other byte of the file stays as the user wrote it; other shapes go through ruamel."""
    doc = load(text, path)
    includes = doc.get("include")
    if includes is not None and not isinstance(includes, list):
        raise InputError(path or "compose", "'include' must be a list")
    existing = [p for entry in includes or [] for p in _include_paths(entry)]
    to_add = [p for p in dict.fromkeys(present) if p not in existing]
    to_drop = [p for p in dict.fromkeys(absent) if p in existing]
    if not to_add and not to_drop:
        return text, []
    changes = ["include %s" % p for p in to_add] + ["exclude %s" % p for p in to_drop]
    lines = text.splitlines(True)
    block = _plain_block(lines)
    if includes is None:
        position = 0
        for index, line in enumerate(lines):
            if _TOP_KEY.match(line):
                position = index + 1 if _NAME_LINE.match(line) else index
                break
        else:
            position = len(lines)
        new_lines = lines[:position] + ["include:\n"] + ["  - %s\n" % p for p in to_add] + lines[position:]
        new_text = "".join(new_lines)
    elif block is not None:
        start, end, entries = block
        kept = [e for e in entries if e not in to_drop] + to_add
        new_block = (["include:\n"] + ["  - %s\n" % e for e in kept]) if kept else []
        new_text = "".join(lines[:start] + new_block + lines[end:])
    else:
        set_includes(doc, to_add, to_drop, path)
        new_text = dump(doc)
    check = load(new_text, path)
    now = [p for entry in check.get("include") or [] for p in _include_paths(entry)]
    if any(p not in now for p in present) or any(p in now for p in absent):
        raise InputError(path or "compose", "could not edit include: safely; edit it by hand")
    return new_text, changes


def _plain_block(lines):
    """(start, end, entries) of an `include:` block made only of `  - path` lines, else None."""
    for start, line in enumerate(lines):
        if line.rstrip() == "include:":
            end, entries = start + 1, []
            while end < len(lines):
                match = _PLAIN_ENTRY.match(lines[end].rstrip("\n"))
                if not match:
                    break
                entries.append(match.group(1))
                end += 1
            if end < len(lines) and lines[end].startswith((" ", "\t")) and lines[end].strip():
                return None
            return start, end, entries
    return None


_KEY_VALUE = re.compile(r"^(\s*-?\s*)([A-Za-z_][A-Za-z0-9_.-]*)(\s*[:=]\s*)(\S.*)$")


def redact_text(text):
    """Mask secret values in compose text for diffs: `KEY: value`, `- KEY=value`, credentials in URLs."""
    out = []
    for line in text.splitlines(True):
        match = _KEY_VALUE.match(line.rstrip("\n"))
        if match and is_secret_key(match.group(2)) and not match.group(4).startswith(("${", "/run/secrets/")):
            line = "%s%s%s%s\n" % (match.group(1), match.group(2), match.group(3), MASK)
        out.append(mask_userinfo(line))
    return "".join(out)
