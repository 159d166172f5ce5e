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


def edit_includes(text, present=(), absent=(), path=None, read=load):
    """Return (new_text, changes). A new or plain `include:` block (`include:` then `  - path` lines) is edited
    as text so that every other byte of the file stays as the user wrote it; other shapes go through ruamel.
    `read(text, path)` parses a text this function only looks at (see edit_compose)."""
    doc = read(text, path)
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
        doc = load(text, path)  # a copy of its own to change
        set_includes(doc, to_add, to_drop, path)
        new_text = dump(doc)
    check = read(new_text, path)
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


# ---------------------------------------------------------------------------- service edits


def _env_keys(env):
    if isinstance(env, dict):
        return list(env.keys())
    return [str(item).split("=", 1)[0] for item in env or []]


def _env_set(env, key, value):
    """Set KEY in a mapping or `KEY=value` list environment. Returns True when something changed."""
    if isinstance(env, dict):
        if key in env and str(env[key]) == value:
            return False
        env[key] = value
        return True
    for index, item in enumerate(env):
        name, _sep, current = str(item).partition("=")
        if name == key:
            if current == value:
                return False
            env[index] = "%s=%s" % (key, value)
            return True
    env.append("%s=%s" % (key, value))
    return True


def _env_remove(env, key):
    if isinstance(env, dict):
        if key in env:
            _pop(env, key)
            return True
        return False
    for index in range(len(env) - 1, -1, -1):
        if str(env[index]).split("=", 1)[0] == key:
            _pop(env, index)
            return True
    return False


def _own_keys(mapping):
    """Keys written in this mapping (ruamel's keys() also yields those merged in with `<<:`)."""
    if hasattr(mapping, "non_merged_items"):
        return [k for k, _v in mapping.non_merged_items()]
    return list(mapping.keys())


def _comment_slot(container, key):
    """(container, key, position) holding the comment printed after an entry (deepest last node of a block)."""
    value = container[key]
    if isinstance(value, (CommentedMap, CommentedSeq)) and len(value) and not value.fa.flow_style() and \
            (not isinstance(value, CommentedMap) or _own_keys(value)):
        last = _own_keys(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        return _comment_slot(value, last)
    return container, key, 2 if isinstance(container, CommentedMap) else 0


def _pop(container, key):
    """Delete a map key or sequence index; the blank lines and comments printed after the last entry are kept
    (ruamel stores them on the entry itself) by handing them to the entry before it."""
    if not hasattr(container, "ca"):
        del container[key]
        return
    keys = _own_keys(container) if isinstance(container, CommentedMap) else list(range(len(container)))
    index = keys.index(key)
    slot_container, slot_key, position = _comment_slot(container, key)
    items = getattr(slot_container, "ca").items.get(slot_key)
    comment = items[position] if items and len(items) > position else None
    del container[key]
    if comment is not None and index == len(keys) - 1 and index > 0:
        previous = keys[index - 1]
        target, target_key, target_position = _comment_slot(container, previous)
        slots = target.ca.items.setdefault(target_key, [None, None, None, None])
        if slots[target_position] is None:
            slots[target_position] = comment


def _drop_refs(svc, key, names):
    """Remove entries naming `names` from a list or mapping key (depends_on, links). Returns removed names."""
    value = svc.get(key)
    if isinstance(value, dict):
        doomed = [n for n in value if n in names]
        indexes = []
    elif isinstance(value, list):
        indexes = [i for i, item in enumerate(value) if str(item).split(":", 1)[0] in names]
        doomed = [str(value[i]).split(":", 1)[0] for i in indexes]
    else:
        return []
    if not doomed:
        return []
    if len(doomed) == len(value):
        _pop(svc, key)  # the whole key goes, with the comments after it kept
    elif isinstance(value, dict):
        for name in doomed:
            _pop(value, name)
    else:
        for index in reversed(indexes):
            _pop(value, index)
    return sorted(doomed)


def _volume_sources(svc):
    out = set()
    for vol in svc.get("volumes") or []:
        if isinstance(vol, str):
            out.add(vol.split(":", 1)[0])
        elif isinstance(vol, dict) and vol.get("source"):
            out.add(str(vol["source"]))
    return out


def _edit_env(svc, service, edit, add_missing, name):
    """The env_remove and env_set edits of one service. Returns the list of changes."""
    changes = []
    env = svc.get("environment")
    if env is not None and not isinstance(env, (dict, list)):
        raise InputError(name, "environment of service '%s' must be a mapping or a list" % service)
    for key in edit.get("env_remove") or []:
        if env is not None and _env_remove(env, key):
            changes.append("%s: unset %s" % (service, key))
    for key, value in sorted((edit.get("env_set") or {}).items()):
        present = env is not None and key in _env_keys(env)
        if not present and not add_missing:
            continue
        if env is None:
            env = CommentedMap()
            svc["environment"] = env
        if _env_set(env, key, str(value)):
            changes.append("%s: set %s" % (service, key))
    return changes


def _join_networks(svc, service, wanted, add_missing, name):
    """The networks_add edit of one service. Returns the list of changes."""
    changes = []
    if wanted and "network_mode" not in svc and (add_missing or "networks" in svc):
        nets = svc.get("networks")
        if nets is None:
            # A service without `networks:` is on `default`: keep it there.
            nets = CommentedSeq(["default"])
            svc["networks"] = nets
        for net in wanted:
            if isinstance(nets, dict):
                if net not in nets:
                    nets[net] = None
                    changes.append("%s: join network %s" % (service, net))
            elif isinstance(nets, list):
                if net not in nets:
                    nets.append(net)
                    changes.append("%s: join network %s" % (service, net))
            else:
                raise InputError(name, "networks of service '%s' must be a list or a mapping" % service)
    return changes


def _rewire_service(svc, service, edit, add_missing, name):
    """One per-service edit (a `rewire` entry of the plan). Returns the list of changes."""
    changes = _edit_env(svc, service, edit, add_missing, name)
    for dep in _drop_refs(svc, "depends_on", set(edit.get("depends_on_remove") or [])):
        changes.append("%s: drop depends_on %s" % (service, dep))
    if edit.get("logging_remove") and "logging" in svc:
        _pop(svc, "logging")
        changes.append("%s: remove logging (Alloy reads container logs)" % service)
    changes += _join_networks(svc, service, list(edit.get("networks_add") or []), add_missing, name)
    return changes


def _remove_unused_volumes(doc, svcs, remove_volumes):
    """Drop the top-level named volumes no remaining service mounts. Returns the list of changes."""
    changes = []
    volumes = doc.get("volumes")
    if isinstance(volumes, dict):
        used = set()
        for svc in svcs.values():
            used |= _volume_sources(svc)
        for volume in remove_volumes:
            if volume in volumes and volume not in used:
                _pop(volumes, volume)
                changes.append("remove volume %s (the data stays in Docker)" % volume)
        if len(volumes) == 0 and remove_volumes:
            del doc["volumes"]
    return changes


def edit_services(doc, remove_services=(), remove_volumes=(), services=(), add_missing=True, path=None):
    """Apply the migration's service edits to a loaded compose document. Returns the list of changes.

    - remove_services: services to drop (those not defined in this file are ignored); `depends_on` and `links`
      entries of the remaining services that name them are dropped too.
    - remove_volumes: top-level named volumes to drop, only when no remaining service of this file mounts them.
    - services: per-service edits (the plan's `rewire` entries): env_set, env_remove, networks_add,
      depends_on_remove, logging_remove. Services not defined in this file are skipped. With add_missing
      false, env_set only changes variables the file already defines and networks are only joined where the
      service already lists networks (for override files).
    """
    name = path or "compose"
    changes = []
    svcs = doc.get("services")
    if svcs is not None and not isinstance(svcs, dict):
        raise InputError(name, "'services' must be a mapping")
    svcs = svcs if svcs is not None else {}
    gone = [s for i, s in enumerate(remove_services) if s in svcs and s not in remove_services[:i]]
    for service in gone:
        _pop(svcs, service)
        changes.append("remove service %s" % service)
    all_removed = set(remove_services)
    for service, svc in svcs.items():
        if not isinstance(svc, dict):
            raise InputError(name, "service '%s' must be a mapping" % service)
        for key in ("depends_on", "links"):
            for dep in _drop_refs(svc, key, all_removed):
                changes.append("%s: drop %s %s" % (service, key, dep))
    for edit in services:
        service = edit.get("service")
        svc = svcs.get(service)
        if svc is None:
            continue
        changes += _rewire_service(svc, service, edit, add_missing, name)
    changes += _remove_unused_volumes(doc, svcs, remove_volumes)
    return changes


def _is_comment_or_blank(line, max_indent):
    stripped = line.strip()
    if not stripped:
        return True
    return stripped.startswith("#") and len(line) - len(line.lstrip(" ")) <= max_indent


def remove_block_entries(text, parent, names, path=None, read=load):
    """Remove whole entries of a top-level block mapping (`services:`, `volumes:`) as text, so that every other
    byte - blank lines and comments between entries included - stays as written. An entry goes with the comment
    lines directly above it; the comments and blank lines after it belong to what follows. Returns
    (new_text, removed_names); entries of a flow-style mapping are left for the round-trip pass. `read(text, path)`
    parses a text this function only looks at (see edit_compose)."""
    if not names:
        return text, []
    doc = read(text, path)
    mapping = doc.get(parent)
    if not isinstance(mapping, CommentedMap) or mapping.fa.flow_style() or not names:
        return text, []
    lines = text.splitlines(True)
    top_keys = list(doc.keys())
    after_parent = top_keys[top_keys.index(parent) + 1] if top_keys.index(parent) + 1 < len(top_keys) else None
    parent_end = doc.lc.key(after_parent)[0] if after_parent is not None else len(lines)
    keys = list(mapping.keys())
    spans = []
    for index, name in enumerate(keys):
        if name not in names:
            continue
        start, col = mapping.lc.key(name)
        end = mapping.lc.key(keys[index + 1])[0] if index + 1 < len(keys) else parent_end
        while end > start + 1 and _is_comment_or_blank(lines[end - 1], col):
            end -= 1
        while start > 0 and lines[start - 1].strip().startswith("#") and \
                len(lines[start - 1]) - len(lines[start - 1].lstrip(" ")) == col:
            start -= 1
        spans.append((start, end, name))
    removed = []
    for start, end, name in reversed(spans):
        # Do not leave two blank lines where the entry was.
        if start > 0 and not lines[start - 1].strip() and end < len(lines) and not lines[end].strip():
            end += 1
        del lines[start:end]
        removed.append(name)
    new_text = "".join(lines)
    check = read(new_text, path).get(parent)
    if check is None and len(removed) == len(keys):
        return new_text, sorted(removed)
    if not isinstance(check, dict) or any(n in check for n in removed) or len(check) != len(keys) - len(removed):
        return text, []  # unexpected layout: let the round-trip pass do it
    return new_text, sorted(removed)


def edit_compose(text, path=None, remove_services=(), remove_volumes=(), services=(), add_missing=True,
                 include=(), exclude=()):
    """Return (new_text, changes) for all the edits of one compose file. Whole services go as text (see
    remove_block_entries); the other edits go through ruamel round-trip; include lines are then edited as text
    (see edit_includes).

    A compose file is parsed once per text it goes through: the steps that only look at a text share one parse
    (`read`), a step that changes a document takes that parse out of the cache (`take`) so that nothing reads a
    changed document as the text it came from. Round-trip parsing is most of the cost of an edit."""
    parsed = {}

    def read(text_, path_):
        if text_ not in parsed:
            parsed[text_] = load(text_, path_)
        return parsed[text_]

    def take(text_):
        return parsed.pop(text_, None) or load(text_, path)

    doc = read(text, path)
    # Each once, in the order given (a service named twice is removed once).
    present = [s for i, s in enumerate(remove_services) if s in (doc.get("services") or {}) and s not in remove_services[:i]]
    new_text, gone = remove_block_entries(text, "services", present, path, read)
    doc = take(new_text)
    # Every service of the file went (the legacy backends were all it had): `services:` left empty is null, which
    # Compose refuses ("services must be a mapping"): it becomes `services: {}`.
    emptied = bool(gone) and doc.get("services") is None
    if emptied:
        doc["services"] = CommentedMap()
        doc["services"].fa.set_flow_style()
    changes = ["remove service %s" % s for s in present if s in gone]
    changes += edit_services(doc, remove_services, [], services, add_missing, path)
    new_text = dump(doc) if len(changes) > len(gone) or emptied else new_text
    # Top-level volumes last: they may only go once no remaining service mounts them.
    doc = read(new_text, path)
    used = set()
    for svc in (doc.get("services") or {}).values():
        used |= _volume_sources(svc or {})
    volumes = doc.get("volumes") if isinstance(doc.get("volumes"), dict) else {}
    doomed = [v for v in remove_volumes if v in volumes and v not in used]
    vol_text, vol_gone = remove_block_entries(new_text, "volumes", doomed, path, read)
    if vol_gone:
        new_text = vol_text
        doc = read(new_text, path)
        if doc.get("volumes") is None and "volumes" in doc:
            doc = take(new_text)
            del doc["volumes"]
            new_text = dump(doc)
    elif doomed:
        doc = take(new_text)
        changes_vol = edit_services(doc, [], doomed, [], add_missing, path)
        new_text = dump(doc) if changes_vol else new_text
        vol_gone = [v for v in doomed if "remove volume %s (the data stays in Docker)" % v in changes_vol]
    changes += ["remove volume %s (the data stays in Docker)" % v for v in doomed if v in vol_gone]
    new_text, include_changes = edit_includes(new_text, include, exclude, path, read)
    after = read(new_text, path)
    left = [s for s in remove_services if s in (after.get("services") or {})]
    if left:
        raise InputError(path or "compose", "could not remove services %s safely; edit them by hand"
                         % ", ".join(left))
    return new_text, changes + include_changes
