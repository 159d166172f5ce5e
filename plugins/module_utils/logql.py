# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rewrite LogQL written for Promtail's labels onto the labels the new pipeline writes.

Stream selectors are found inside whole expressions (log and metric queries), string literals and Grafana variables
(``$x``, ``${x}``, ``[[x]]``) are left alone, and each matcher follows the fate of its label
(``promtail.label_model``): a service matcher becomes ``service_name``, job/project/constant matchers go, labels made
by pipeline stages become label filters after the selector (with the parser the query needs), trace ids become a
``trace_id`` structured-metadata filter. ``by``/``without`` (and ``on``/``ignoring``/``group_*``) groupings follow the
same mapping. A query that cannot keep its meaning is not rewritten: ``rewrite`` returns ``None`` and says why.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lgtm.stack.plugins.module_utils.promtail import (
    NEW_LOG_LABELS,
    is_trace_label,
    parser_for,
    quote,
)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)\s*')
_VARIABLE = re.compile(r"\$\{?\w|\[\[\w")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)(\s*)\(([^()]*)\)")
_FORMAT_STAGE = re.compile(r"\|\s*(unwrap|line_format|label_format|keep|drop|decolorize)\b")
_PARSER_STAGE = re.compile(r"\|\s*(json|logfmt|regexp|pattern|unpack)\b")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(\{.*\})\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)
_RE_SPECIAL = set("\\.+*?()|[]{}^$")


class Untranslatable(Exception):
    """A query whose meaning the new labels cannot keep."""


def unquote(text):
    if text.startswith("`"):
        return text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])


def re_escape(value):
    return "".join("\\" + c if c in _RE_SPECIAL else c for c in value)


def has_variable(value):
    return bool(_VARIABLE.search(value))


def mask_strings(expr):
    """The expression with the inside of every string literal blanked (same length, same positions)."""
    return _STRING.sub(lambda m: m.group(0)[0] + "\x01" * (len(m.group(0)) - 2) + m.group(0)[-1], expr)


def selectors(expr):
    """[(start, end)] of the stream selectors `{...}` of an expression (end is the index of the `}`)."""
    masked, out = mask_strings(expr), []
    for match in re.finditer(r"\{", masked):
        start = match.start()
        if start and masked[start - 1] == "$":
            continue  # ${variable}
        end = masked.find("}", start)
        if end > 0:
            out.append((start, end))
    return out


def parse_selector(text):
    """[(name, op, value)] of a selector body (without braces); None when it is not one."""
    out, pos = [], 0
    if not text.strip():
        return out
    while pos < len(text):
        match = _MATCHER.match(text, pos)
        if not match:
            return None
        out.append((match.group(1), match.group(2), unquote(match.group(3))))
        pos = match.end()
        if pos < len(text):
            if text[pos] != ",":
                return None
            pos += 1
    return out


def _literal_alternatives(regex):
    """The literal names of a regex made of plain alternatives (`a|b\\.c`), else None."""
    parts = []
    for part in regex.split("|"):
        plain = re.sub(r"\\(.)", r"\1", part)
        if not part or any(c in _RE_SPECIAL for c in re.sub(r"\\.", "", part)):
            return None
        parts.append(plain)
    return parts


def _matches_empty(op, value):
    if has_variable(value):
        return False
    if op == "=":
        return value == ""
    if op == "=~":
        try:
            return re.fullmatch(value, "") is not None
        except re.error:
            return False
    return True


# --- scanning groupings and log pipelines -----------------------------------------------------------------------
def _grouping_names(expr, match):
    """The label names of a `_GROUPING` match on the masked expression, read from the expression itself."""
    return [n.strip() for n in expr[match.start(3):match.end(3)].split(",") if n.strip()]


def _grouping_removal(masked, match):
    """(start, end) that removes a whole `by (...)`/`without (...)` with the white space on one side of it."""
    start, end = match.start(), match.end()
    if end < len(masked) and masked[end].isspace():
        end = len(masked) - len(masked[end:].lstrip())
    else:
        start = len(masked[:start].rstrip())
    return start, end


def _pipeline_slot(masked, pos):
    """(insert position, has_parser) for label filters in the log pipeline that starts at `pos`."""
    depth, stop = 0, len(masked)
    for index in range(pos, len(masked)):
        char = masked[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                stop = index
                break
        elif char == "[" and depth == 0:
            stop = index
            break
    region = masked[pos:stop]
    fmt = _FORMAT_STAGE.search(region)
    end = pos + fmt.start() if fmt else stop
    has_parser = bool(_PARSER_STAGE.search(masked[pos:end]))
    while end > pos and masked[end - 1].isspace():
        end -= 1
    return end, has_parser


def _parser_text(parsers):
    """The parser stages, once each: `| json` when every field keeps its name, else `| json a="b", ...`."""
    text, seen = "", []
    for kind, _param in parsers:
        if kind in seen:
            continue
        seen.append(kind)
        params = []
        for other, param in parsers:
            if other == kind and param and param not in params:
                params.append(param)
        if kind in ("json", "logfmt") and any(label != field for label, field in params) \
                and all(param for other, param in parsers if other == kind):
            text += " | %s %s" % (kind, ", ".join("%s=%s" % (label, quote(field)) for label, field in params))
        else:
            text += " | " + kind
    return text


# --- service identities -----------------------------------------------------------------------------------------
def _service_of(identities, value, entry):
    """The compose service a container name / service label value names, or None."""
    name = value.lstrip("/") if entry.get("container_name") else value
    if name in identities:
        return name
    if entry.get("container_name") or entry.get("kind") == "service":
        for service in sorted(identities, key=len, reverse=True):
            if re.fullmatch(r".+[-_]%s[-_]\d+" % re.escape(service), name):
                return service
    return None


def _service_value(identities, name, op, value, entry):
    """The new service_name value of the service matcher `name op value` (a variable is kept as it is)."""
    if has_variable(value):
        return value
    if op in ("=", "!="):
        service = _service_of(identities, value, entry)
        if service is None:
            raise Untranslatable("%s=%r names no compose service of this project (known: %s)"
                                 % (name, value, ", ".join(sorted(identities)) or "none given"))
        return identities[service]
    literals = _literal_alternatives(value)
    if literals is not None:
        services = [_service_of(identities, v, entry) for v in literals]
        if None in services:
            raise Untranslatable("%s=~%r: %r names no compose service of this project"
                                 % (name, value, literals[services.index(None)]))
    else:
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise Untranslatable("%s=~%r is not a regex the rewriter understands (%s)" % (name, value, exc))
        services = [s for s in identities if regex.fullmatch(s) or regex.fullmatch("/" + s)]
        if services and len(services) == len(identities):
            return ".*" if regex.fullmatch("") else ".+"
        if not services:
            raise Untranslatable("%s=~%r matches no compose service of this project" % (name, value))
    names = []
    for service in services:
        if identities[service] not in names:
            names.append(identities[service])
    return "|".join(re_escape(n) for n in names)


class LogQLRewriter(object):
    """Rewrites whole expressions: decides the fate of each matcher and grouping label, then edits the text."""
    def __init__(self, model, identities, namespace, new_labels=None):
        self.model = model or {}
        self.identities = dict(identities or {})
        self.namespace = namespace or ""
        self.new_labels = frozenset(new_labels or NEW_LOG_LABELS)

    # --- what a label means -------------------------------------------------------------------------------------
    def meaning(self, name, op=None, value=None):
        """The Promtail origin (a label_model entry) that best explains `name op value`, or None."""
        sources = (self.model.get(name) or {}).get("sources") or []
        if not sources:
            return None
        if value is not None and not has_variable(value):
            with_value = [s for s in sources if s.get("value") is not None]
            if op == "=":
                hits = [s for s in with_value if s["value"] == value]
            elif op == "=~":
                hits = [s for s in with_value if _fullmatch(value, s["value"])]
            else:
                hits = []
            if hits:
                return hits[0]
        docker = [s for s in sources if s.get("collects") == "docker"]
        return (docker or sources)[0]

    def _record(self, name, entry, fate, new, reason):
        return {"label": name, "promtail_job": entry.get("promtail_job") if entry else None,
                "source": entry.get("source") if entry else None, "fate": fate, "new": new, "reason": reason}

    _parser = staticmethod(parser_for)

    # --- one matcher --------------------------------------------------------------------------------------------
    def _matcher(self, name, op, value, out):
        """Append the matcher's rewrite to `out` (keep, filters, parsers, changes, problems)."""
        if name in self.new_labels:
            out["keep"].append((name, op, value))
            return
        entry = self.meaning(name, op, value)
        if entry is None:
            out["filters"].append((name, op, value))
            reason = ("label %s is made neither by the Promtail config nor by the new pipeline: moved to a label "
                      "filter, which matches only lines that carry it" % name)
            out["changes"].append(self._record(name, None, "converted", "| %s%s%s" % (name, op, quote(value)), reason))
            out["problems"].append(reason)
            return
        kind = entry["kind"]
        if entry.get("collects") == "host" and kind not in ("service", "service_static"):
            raise Untranslatable("%s%s%r selects Promtail job %s, which read %s; the new pipeline does not collect "
                                 "it: add an Alloy source for it or remove the query"
                                 % (name, op, value, entry["promtail_job"], entry["where"]))
        if kind in ("service", "service_static"):
            new_value = _service_value(self.identities, name, op, value, entry)
            new = "service_name%s%s" % (op, quote(new_value))
            out["keep"].append(("service_name", op, new_value))
            out["changes"].append(self._record(name, entry, "replaced", new, (
                "%s (from %s) -> the service identity service_name%s" % (
                    name, ", ".join(entry.get("source_labels") or [entry["source"]]),
                    "; the variable's values must be service names (its label_values query is rewritten)"
                    if has_variable(value) else ""))))
        elif kind in ("project", "job", "static"):
            constant = entry.get("value")
            if kind != "project" and not has_variable(value) and constant is not None and not (
                    (op == "=" and value == constant) or (op == "=~" and _fullmatch(value, constant))
                    or (op == "!=" and value != constant) or (op == "!~" and not _fullmatch(value, constant))):
                raise Untranslatable("%s%s%r never matched: Promtail job %s set %s=%r"
                                     % (name, op, value, entry["promtail_job"], name, constant))
            reason = ("the new pipeline collects only this compose project" if kind == "project" else
                      "%s was a constant of Promtail job %s; the project's logs are all under service_namespace"
                      % (name, entry["promtail_job"]))
            out["changes"].append(self._record(name, entry, "dropped", None, "matcher removed: " + reason))
            if has_variable(value):
                out["problems"].append("%s%s%s: a variable on %s, a label the new pipeline does not write; the "
                                       "matcher was removed, the variable is now unused" % (name, op, value, name))
        elif kind == "stream":
            out["keep"].append(("stream", op, value))
            if name != "stream":
                out["changes"].append(self._record(name, entry, "replaced", "stream%s%s" % (op, quote(value)),
                                                   "the log stream is the stream label"))
        elif kind == "trace":
            out["filters"].append(("trace_id", op, value))
            out["changes"].append(self._record(name, entry, "replaced", "| trace_id%s%s" % (op, quote(value)),
                                               "trace ids are structured metadata trace_id, not a label"))
        else:
            out["filters"].append((name, op, value))
            parser, param = self._parser(entry, name) if kind == "stage" else (None, None)
            if parser:
                out["parsers"].append((parser, param))
            new = "| %s%s%s" % (name, op, quote(value))
            reason = ("made by a Promtail %s stage: a label filter after the selector%s" % (
                entry.get("stage", "pipeline"), " with | %s" % parser if parser else "")) if kind == "stage" else (
                "made by a relabel rule from %s, which the new pipeline does not write: a label filter matches "
                "only lines that carry the field" % ", ".join(entry.get("source_labels") or ["a constant"]))
            out["changes"].append(self._record(name, entry, "converted", new, reason))
            if kind != "stage":
                out["problems"].append("%s: %s" % (name, reason))

    # --- groupings ----------------------------------------------------------------------------------------------
    def group_label(self, name):
        """(new name or None when removed, change record or None, problem or None, parser or None)."""
        if name in self.new_labels:
            return name, None, None, None
        entry = self.meaning(name)
        if entry is None:
            return name, None, "grouping on %s: no pipeline writes this label" % name, None
        kind = entry["kind"]
        if kind in ("service", "service_static"):
            return "service_name", self._record(name, entry, "replaced", "service_name", "grouping label"), None, None
        if kind == "stream":
            if name == "stream":
                return name, None, None, None
            return "stream", self._record(name, entry, "replaced", "stream", "grouping label"), None, None
        if kind in ("project", "job", "static"):
            return None, self._record(name, entry, "dropped", None, "grouping label removed: a constant now"), \
                None, None
        if kind == "trace":
            return "trace_id", self._record(name, entry, "replaced", "trace_id",
                                            "grouping on structured metadata trace_id"), None, None
        if kind == "stage":
            parser, param = self._parser(entry, name)
            return name, None, None, (parser, param) if parser else None
        return name, None, "grouping on %s: made by a relabel rule the new pipeline does not reproduce" % name, None

    # --- whole expressions --------------------------------------------------------------------------------------
    def rewrite(self, expr):
        """(new_expr or None when it cannot keep its meaning, changes, problems)."""
        changes, problems = [], []
        try:
            new = self._rewrite(expr, changes, problems)
        except Untranslatable as exc:
            problems.append(str(exc))
            return None, changes, problems
        return new, changes, problems

    def _rewrite(self, expr, changes, problems):
        masked = mask_strings(expr)
        global_parsers = []
        edits = self._grouping_edits(expr, masked, changes, problems, global_parsers)
        for start, end in selectors(expr):
            edits.extend(self._selector_edits(expr, masked, start, end, global_parsers, changes, problems))
        for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            expr = expr[:start] + text + expr[end:]
        return expr

    def _grouping_edits(self, expr, masked, changes, problems, global_parsers):
        """Edits that map the labels of every grouping; the parsers its stage labels need go to `global_parsers`."""
        edits = []
        for match in _GROUPING.finditer(masked):
            names = _grouping_names(expr, match)
            new_names = []
            for name in names:
                new, record, problem, parser = self.group_label(name)
                if record:
                    changes.append(record)
                if problem:
                    problems.append(problem)
                if parser:
                    global_parsers.append(parser)
                if new and new not in new_names:
                    new_names.append(new)
            if new_names == names:
                continue
            if not new_names and match.group(1) in ("by", "without"):
                edits.append(_grouping_removal(masked, match) + ("",))
            else:
                edits.append((match.start(3), match.end(3), ", ".join(new_names)))
        return edits

    def _selector_edits(self, expr, masked, start, end, global_parsers, changes, problems):
        """Edits that rewrite the selector expr[start:end + 1] and add the label filters (and parsers) it needs."""
        matchers = parse_selector(expr[start + 1:end])
        if matchers is None:
            raise Untranslatable("cannot read the stream selector %s" % expr[start:end + 1])
        out = {"keep": [], "filters": [], "parsers": list(global_parsers), "changes": [], "problems": []}
        for name, op, value in matchers:
            self._matcher(name, op, value, out)
        changes.extend(out["changes"])
        problems.extend(out["problems"])
        if not any(not _matches_empty(op, value) for _n, op, value in out["keep"]):
            if not self.namespace:
                raise Untranslatable("the selector %s keeps no matcher and no service_namespace was given"
                                     % expr[start:end + 1])
            out["keep"].insert(0, ("service_namespace", "=", self.namespace))
            changes.append({"label": "service_namespace", "promtail_job": None, "source": None,
                            "fate": "converted", "new": 'service_namespace="%s"' % self.namespace,
                            "reason": "a selector needs one non-empty matcher: the project's namespace"})
        if [tuple(m) for m in out["keep"]] == matchers and not out["filters"] and not out["parsers"]:
            return []
        edits = [(start, end + 1, "{%s}" % ", ".join("%s%s%s" % (n, o, quote(v)) for n, o, v in out["keep"]))]
        if out["filters"] or out["parsers"]:
            at, has_parser = _pipeline_slot(masked, end + 1)
            text = "" if has_parser else _parser_text(out["parsers"])
            text += "".join(" | %s%s%s" % (n, o, quote(v)) for n, o, v in out["filters"])
            if text:
                edits.append((at, at, text))
        return edits

    def rewrite_variable_query(self, query):
        """A templating query (`label_values(label)`, `label_values({...}, label)`): (new or None, changes,
        problems). Other queries come back unchanged."""
        match = _LABEL_VALUES.match(query or "")
        if not match:
            return query, [], []
        changes, problems = [], []
        selector, label = match.group(1), match.group(2)
        new_label, record, problem, _parser = self.group_label(label)
        if record:
            changes.append(record)
        if problem:
            problems.append(problem)
        if new_label is None:
            problems.append("label_values(%s): the new pipeline writes no %s label (it was a constant)"
                            % (label, label))
            return None, changes, problems
        if new_label not in self.new_labels:
            problems.append("label_values(%s): %s is not an index label of the new pipeline" % (label, label))
            return None, changes, problems
        new_selector = None
        if selector:
            new_selector, more, more_problems = self.rewrite(selector)
            changes += more
            problems += more_problems
            if new_selector is None:
                return None, changes, problems
            found = selectors(new_selector)
            if found and new_selector[found[0][1] + 1:].strip():
                # The first selector's own `}`, not one inside a quoted value.
                new_selector = new_selector[:found[0][1] + 1]
                problems.append("label_values: label filters cannot be part of its selector; kept %s" % new_selector)
        return "label_values(%s%s)" % (new_selector + ", " if new_selector else "", new_label), changes, problems


def _fullmatch(regex, value):
    try:
        return re.fullmatch(regex, value) is not None
    except re.error:
        return False


def stream_labels(expr):
    """Labels used in the stream selectors and by/without/on/ignoring groupings of an expression."""
    labels = set()
    for start, end in selectors(expr):
        for name, _op, _value in parse_selector(expr[start + 1:end]) or []:
            labels.add(name)
    masked = mask_strings(expr)
    for match in _GROUPING.finditer(masked):
        labels.update(_grouping_names(expr, match))
    return labels


__all__ = ["LogQLRewriter", "Untranslatable", "is_trace_label", "parse_selector", "selectors", "stream_labels"]
