# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read YAML and JSON files with clear errors (file:line: problem) and line numbers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

try:
    import yaml

    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_YAML = False
    YAML_IMPORT_ERROR = exc


class InputError(Exception):
    """Bad user input: a missing, unreadable or malformed file. The message names the file."""

    def __init__(self, path, message, line=None):
        self.path = path
        self.line = line
        where = "%s:%d" % (path, line) if line else str(path)
        super(InputError, self).__init__("%s: %s" % (where, message))


def read_text(path, what="file"):
    if not os.path.exists(path):
        raise InputError(path, "%s not found" % what)
    if os.path.isdir(path):
        raise InputError(path, "%s is a directory, expected a file" % what)
    if not os.access(path, os.R_OK):
        raise InputError(path, "%s is not readable (permissions)" % what)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise InputError(path, "cannot read %s: %s" % (what, exc))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, "not UTF-8 text (byte %d)" % exc.start)


if HAS_YAML:

    # libyaml's parser when PyYAML has it (about ten times faster), the pure-Python one otherwise.
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _LineLoader(_BaseLoader):
        """A safe loader that records the line of every mapping key."""

    def _construct_mapping(loader, node, deep=False):
        loader.flatten_mapping(node)
        mapping = {}
        lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark)
            mapping[key] = loader.construct_object(value_node, deep=deep)
            lines[key] = key_node.start_mark.line + 1
        return _LinedDict(mapping, lines, node.start_mark.line + 1)

    _LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

    def _construct_compose_tag(kind):
        """Compose's merge tags (Compose >= 2.24): `!reset` drops what earlier files set, `!override` replaces it
        instead of merging. The value is read as written and marked, so the raw merge can honour the tag."""

        def construct(loader, node):
            if isinstance(node, yaml.MappingNode):
                value = _construct_mapping(loader, node, deep=True)
                return ComposeTagDict(kind, value, value._lines, value.line)
            if isinstance(node, yaml.SequenceNode):
                return ComposeTagList(kind, loader.construct_sequence(node, deep=True))
            value = loader.construct_scalar(node)
            return ComposeTagScalar(kind) if kind == "reset" or value in ("", None) else value

        return construct

    _LineLoader.add_constructor("!reset", _construct_compose_tag("reset"))
    _LineLoader.add_constructor("!override", _construct_compose_tag("override"))


class _LinedDict(dict):
    """A dict that remembers the line of each key (`.line_of(key)`) and its own line (`.line`)."""

    def __init__(self, data, lines, line):
        super(_LinedDict, self).__init__(data)
        self._lines = lines
        self.line = line

    def line_of(self, key, default=None):
        return self._lines.get(key, default)


class ComposeTagDict(_LinedDict):
    """A mapping tagged `!reset` or `!override` in a compose file (`.compose_tag`)."""

    def __init__(self, kind, data, lines, line):
        super(ComposeTagDict, self).__init__(data, lines, line)
        self.compose_tag = kind


class ComposeTagList(list):
    """A sequence tagged `!reset` or `!override` in a compose file (`.compose_tag`)."""

    def __init__(self, kind, items):
        super(ComposeTagList, self).__init__(items)
        self.compose_tag = kind


class ComposeTagScalar(object):
    """`key: !reset null` (or an empty `!reset`): the key is dropped by the merge; reads as absent."""

    def __init__(self, kind):
        self.compose_tag = kind

    def __bool__(self):
        return False

    __nonzero__ = __bool__

    def __repr__(self):
        return "!%s null" % self.compose_tag


def compose_tag(value):
    """'reset', 'override' or None: the compose merge tag a parsed value carries."""
    return getattr(value, "compose_tag", None)


def line_of(mapping, key, default=None):
    getter = getattr(mapping, "line_of", None)
    return getter(key, default) if getter else default


def parse_yaml(text, path):
    """Parse YAML text; an error names the file and line. Empty documents give None."""
    if not HAS_YAML:
        raise InputError(path, "PyYAML is required to read YAML (pip install pyyaml / apt install python3-yaml)")
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise InputError(path, "malformed YAML: %s" % problem, line)
    except yaml.YAMLError as exc:
        raise InputError(path, "malformed YAML: %s" % exc)


def load_yaml(path, what="YAML file", expect=dict):
    data = parse_yaml(read_text(path, what), path)
    if data is None and expect is dict:
        return _LinedDict({}, {}, 1)
    if expect is not None and not isinstance(data, expect):
        raise InputError(path, "expected a %s at the top of the %s, found %s"
                         % ("mapping" if expect is dict else expect.__name__, what, type(data).__name__), 1)
    return data


def load_json(path, what="JSON file"):
    text = read_text(path, what)
    try:
        return json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", str(exc))
        raise InputError(path, "malformed JSON: %s" % msg, line)


def plain(value):
    """A deep copy made of plain dicts, lists and scalars. A template engine's lazy containers (ansible-core 2.19)
    are read item by item: copy.deepcopy of them fails inside a filter."""
    if isinstance(value, dict):
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value
