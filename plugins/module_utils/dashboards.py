# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rewrite legacy Grafana dashboards onto the stack's datasources (uids mimir, loki, tempo).

Pure functions over parsed JSON plus a planner that reads the legacy provider directories and says where each
dashboard goes; the module does the writing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re

from ansible_collections.lgtm.stack.plugins.module_utils.logql import LogQLRewriter
from ansible_collections.lgtm.stack.plugins.module_utils import spm
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError

NEW_TYPES = {"mimir": "prometheus", "loki": "loki", "tempo": "tempo"}
TYPE_TO_UID = {"prometheus": "mimir", "loki": "loki", "jaeger": "tempo", "tempo": "tempo", "zipkin": "tempo"}
BUILTIN = ("-- Mixed --", "-- Grafana --", "-- Dashboard --", "grafana")
TEMPO_QUERY_TYPES = ("traceql", "traceqlSearch", "serviceMap", "nativeSearch", "search_v2", "clear")
_INPUT = re.compile(r"^\$\{?(DS_[A-Za-z0-9_]+)\}?$")
_TRACE_ID = re.compile(r"^[0-9a-fA-F]{16}$|^[0-9a-fA-F]{32}$")
_DURATION = re.compile(r"^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$")
_LOGFMT = re.compile(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|\S+)')


def _traceql_string(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def jaeger_to_traceql(target):
    """(query, None) for a Jaeger target that has a faithful TraceQL equivalent, else (None, reason)."""
    query_type = target.get("queryType") or ""
    if query_type in ("", None) and target.get("query"):
        trace_id = str(target["query"]).strip()
        if _TRACE_ID.match(trace_id):
            return trace_id, None
        if trace_id.startswith("$"):
            return trace_id, None  # a dashboard variable holding a trace id
        return None, "trace id %r is not a 16 or 32 digit hex id" % trace_id
    if query_type != "search":
        return None, "Jaeger query type %r has no TraceQL equivalent" % (query_type or "none")
    terms = []
    if target.get("service"):
        terms.append("resource.service.name=%s" % _traceql_string(str(target["service"])))
    if target.get("operation"):
        terms.append("name=%s" % _traceql_string(str(target["operation"])))
    for bound, operator in (("minDuration", ">="), ("maxDuration", "<=")):
        value = str(target.get(bound) or "").strip()
        if value:
            if not _DURATION.match(value):
                return None, "%s %r is not a TraceQL duration" % (bound, value)
            terms.append("duration%s%s" % (operator, value.replace("µs", "us")))
    tags = str(target.get("tags") or "").strip()
    if tags:
        pairs = _LOGFMT.findall(tags)
        if not pairs or len(" ".join("%s=%s" % p for p in pairs)) < len(" ".join(tags.split())):
            return None, "tags %r are not key=value pairs" % tags
        for key, value in pairs:
            if value.startswith('"'):
                value = json.loads(value)
            if value.lower() in ("true", "false") or re.match(r"^-?\d+(\.\d+)?$", value):
                # Jaeger compares the tag's text; TraceQL compares typed values: not the same query.
                return None, "tag %s=%s: Jaeger matches its text, TraceQL its type (string, int or bool)" % (key, value)
            terms.append(".%s=%s" % (key, _traceql_string(value)))
    if not terms:
        return "{}", None
    return "{%s}" % " && ".join(terms), None


class Rewriter(object):
    def __init__(self, datasource_map, log_label_model=None, service_identities=None, service_namespace=None,
                 span_metrics=True):
        datasource_map = datasource_map or {}
        # PromQL on Jaeger SPM span metrics is rewritten onto Tempo's (module_utils/spm.py).
        self.span_metrics = span_metrics
        self.by_ref = dict(datasource_map.get("by_uid_or_name") or {})
        self.inputs = dict(datasource_map.get("inputs") or {})
        self.default = datasource_map.get("default") or "mimir"
        # LogQL is rewritten onto the new pipeline's labels once the caller says what they are.
        self.logql = None
        if log_label_model or service_identities or service_namespace:
            self.logql = LogQLRewriter(log_label_model, service_identities, service_namespace)

    def resolve(self, ds):
        """(new_uid or None, old_type, kind) of a datasource reference; kind: keep | input | mapped | unresolved."""
        if isinstance(ds, dict):
            ref, old_type = ds.get("uid"), ds.get("type")
        else:
            ref, old_type = ds, None
        if ref is None and old_type is None:
            return None, None, "keep"
        if isinstance(ref, str):
            match = _INPUT.match(ref)
            if match:
                new = self.inputs.get(match.group(1))
                return (new, old_type, "input") if new else (None, old_type, "unresolved")
            if ref in BUILTIN or old_type == "datasource":
                return None, old_type, "keep"
            if ref in NEW_TYPES and old_type in (None, NEW_TYPES[ref]):
                return ref, old_type, "keep"
            if ref in self.by_ref:
                return self.by_ref[ref], old_type, "mapped"
            if ref.startswith("$"):
                return None, old_type, "keep"  # a datasource variable: its own query decides
        if ref is None and old_type in TYPE_TO_UID:
            return TYPE_TO_UID[old_type], old_type, "mapped"
        return None, old_type, "unresolved"

    def rewrite(self, doc):
        doc = copy.deepcopy(doc)
        if isinstance(doc.get("dashboard"), dict):
            doc = doc["dashboard"]  # an API export: Grafana's file provider wants the dashboard itself
        report = {"datasources_rewritten": 0, "traces_converted": [], "traces_unconverted": [], "unresolved": [],
                  "log_queries": [], "log_unconverted": [], "metric_queries": [], "metric_unconverted": []}
        self._walk_panels(doc.get("panels") or [], report)
        for row in doc.get("rows") or []:
            if isinstance(row, dict):
                self._walk_panels(row.get("panels") or [], report)
        for section in ("templating", "annotations"):
            for item in (doc.get(section) or {}).get("list") or []:
                if isinstance(item, dict) and "datasource" in item:
                    where = "%s %s" % (section, item.get("name"))
                    uid = self._rewrite_ref(item, report, where)
                    if uid == "loki" and self.logql and section == "templating":
                        self._rewrite_variable(item, where, report)
                    elif uid == "loki" and self.logql and isinstance(item.get("expr"), str):
                        self._rewrite_logql(item, "expr", where, report)
                    elif uid == "mimir" and self.span_metrics:
                        self._rewrite_spm_item(item, where, report)
        if doc.get("__inputs") and not any(u.startswith("input ") for u in report["unresolved"]):
            del doc["__inputs"]
            report["datasources_rewritten"] += 1
        return doc, report

    def _rewrite_ref(self, node, report, where):
        ds = node.get("datasource")
        new, _old_type, kind = self.resolve(ds)
        if kind == "unresolved":
            ref = ds.get("uid") if isinstance(ds, dict) else ds
            match = _INPUT.match(ref or "") if isinstance(ref, str) else None
            report["unresolved"].append("%s %s (%s)" % ("input" if match else "datasource", ref, where))
            return None
        if new is None:
            return None
        wanted = {"type": NEW_TYPES[new], "uid": new}
        if ds != wanted:
            node["datasource"] = wanted
            report["datasources_rewritten"] += 1
        return new

    def _walk_panels(self, panels, report):
        for panel in panels:
            if not isinstance(panel, dict):
                continue
            title = panel.get("title") or "panel %s" % panel.get("id")
            panel_uid = self._rewrite_ref(panel, report, "panel '%s'" % title) if "datasource" in panel else None
            for target in panel.get("targets") or []:
                if not isinstance(target, dict):
                    continue
                uid = self._rewrite_ref(target, report, "panel '%s' target %s" % (title, target.get("refId"))) \
                    if "datasource" in target else panel_uid
                if self.span_metrics and isinstance(target.get("expr"), str) and (
                        uid == "mimir" or uid is None and "datasource" not in panel and self.default == "mimir"):
                    where = "%s/%s" % (title, target.get("refId") or "A")
                    note = self._rewrite_promql(target, "expr", where, report)
                    if note:
                        note = "lgtm.stack: span-metrics query %s %s" % (target.get("refId") or "A", note)
                        description = panel.get("description") or ""
                        if note not in description:
                            panel["description"] = (description + "\n\n" + note).strip()
                if uid == "tempo" and target.get("queryType") not in TEMPO_QUERY_TYPES:
                    self._convert_jaeger(panel, target, title, report)
                if uid == "loki" and self.logql and isinstance(target.get("expr"), str):
                    where = "%s/%s" % (title, target.get("refId") or "A")
                    if not self._rewrite_logql(target, "expr", where, report):
                        note = "lgtm.stack: Loki query %s was not rewritten to the new labels (%s)." % (
                            target.get("refId") or "A", "; ".join(report["log_unconverted"][-1]["reasons"]))
                        description = panel.get("description") or ""
                        if note not in description:
                            panel["description"] = (description + "\n\n" + note).strip()
            self._walk_panels(panel.get("panels") or [], report)

    def _rewrite_logql(self, node, key, where, report):
        """Rewrite node[key] (LogQL) onto the new labels; False when it was left as it was."""
        return _apply_log_rewrite(node, key, where, report, self.logql.rewrite(node[key]))

    def _rewrite_promql(self, node, key, where, report):
        """Rewrite node[key] when it queries Jaeger SPM metrics; the panel note to add (None: nothing to say)."""
        before = node[key]
        if not spm.uses_spm(before):
            return None
        after, changes, problems = spm.rewrite_spm_query(before)
        if after is None:
            report["metric_unconverted"].append({"where": where, "query": before, "reasons": problems,
                                                 "changes": changes})
            return "was not rewritten to Tempo's span metrics (%s)." % "; ".join(problems)
        report["metric_queries"].append({"where": where, "before": before, "after": after, "changes": changes,
                                         "problems": problems})
        node[key] = after
        if problems:
            return "was rewritten to Tempo's span metrics; check it: %s." % "; ".join(problems)
        return None

    def _rewrite_spm_item(self, item, where, report):
        """A templating variable or annotation on the metrics datasource."""
        for key in ("expr", "query", "definition"):
            value = item.get(key)
            if isinstance(value, str):
                self._rewrite_promql(item, key, "%s %s" % (where, key), report)
            elif isinstance(value, dict) and isinstance(value.get("query"), str):
                self._rewrite_promql(value, "query", "%s %s" % (where, key), report)

    def _rewrite_variable(self, item, where, report):
        """A Loki query variable: `label_values(...)` as a string, or Grafana's structured form."""
        query = item.get("query")
        if isinstance(query, dict):
            if isinstance(query.get("label"), str) and query["label"]:
                new, record, problem, _parser = self.logql.group_label(query["label"])
                if new is None or problem:
                    report["log_unconverted"].append({
                        "where": where, "query": query["label"], "changes": [record] if record else [],
                        "reasons": [problem or "label %s: the new pipeline writes no such label" % query["label"]]})
                elif new != query["label"]:
                    report["log_queries"].append({"where": where + " label", "before": query["label"], "after": new,
                                                  "changes": [record] if record else [], "problems": []})
                    query["label"] = new
            if isinstance(query.get("stream"), str) and query["stream"].strip():
                self._rewrite_logql(query, "stream", where + " stream", report)
            if isinstance(query.get("query"), str):
                self._rewrite_label_values(query, "query", where, report)
        elif isinstance(query, str):
            self._rewrite_label_values(item, "query", where, report)
        if isinstance(item.get("definition"), str) and item["definition"].lstrip().startswith("label_values"):
            after, _changes, _problems = self.logql.rewrite_variable_query(item["definition"])
            if after is not None:
                item["definition"] = after

    def _rewrite_label_values(self, node, key, where, report):
        _apply_log_rewrite(node, key, where, report, self.logql.rewrite_variable_query(node[key]))

    def _convert_jaeger(self, panel, target, title, report):
        query, reason = jaeger_to_traceql(target)
        where = "%s/%s" % (title, target.get("refId") or "A")
        if query is None:
            report["traces_unconverted"].append({"panel": title, "ref_id": target.get("refId"), "reason": reason})
            # Say it where the user looks: the panel's description (shown on hover in Grafana).
            note = "lgtm.stack: Jaeger query %s was not converted to TraceQL (%s); rewrite it for Tempo." % (
                target.get("refId") or "A", reason)
            description = panel.get("description") or ""
            if note not in description:
                panel["description"] = (description + "\n\n" + note).strip()
            return
        limit = target.get("limit")
        for key in ("service", "operation", "tags", "minDuration", "maxDuration", "limit", "queryType", "query",
                    "spanName"):
            target.pop(key, None)
        target["queryType"] = "traceql"
        target["query"] = query
        if not _TRACE_ID.match(query) and not query.startswith("$"):
            target["tableType"] = "traces"
            target["limit"] = int(limit) if str(limit or "").isdigit() else 20
        report["traces_converted"].append({"panel": where, "query": query})


def _apply_log_rewrite(node, key, where, report, result):
    """Apply a LogQL rewrite result (after, changes, problems) to node[key] and report it; False when the query
    could not keep its meaning and was left as it was."""
    before = node[key]
    after, changes, problems = result
    if after is None:
        report["log_unconverted"].append({"where": where, "query": before, "reasons": problems, "changes": changes})
        return False
    if after != before or problems:
        report["log_queries"].append({"where": where, "before": before, "after": after, "changes": changes,
                                      "problems": problems})
    node[key] = after
    return True


def load_dashboard(path):
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except ValueError as exc:
        raise InputError(path, "malformed dashboard JSON: %s" % getattr(exc, "msg", exc), getattr(exc, "lineno", None))
    except (IOError, OSError) as exc:
        raise InputError(path, "cannot read the dashboard: %s" % exc)
    if not isinstance(doc, dict):
        raise InputError(path, "a dashboard must be a JSON object", 1)
    return doc


def dump_dashboard(doc):
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _safe_folder(name):
    return re.sub(r"[/\\\x00]", "-", name).strip() or "General"


def plan_files(providers, dest):
    """[(source, destination)] for every dashboard of the legacy providers, keeping their Grafana folders."""
    pairs, seen = [], {}
    for provider in providers or []:
        root = provider.get("host_path")
        if not root or not os.path.isdir(root):
            continue
        for current, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(f for f in files if f.endswith(".json")):
                source = os.path.join(current, name)
                rel = os.path.relpath(source, root)
                folder = provider.get("folder") or ""
                if provider.get("folders_from_files") and os.path.dirname(rel):
                    target = rel
                elif folder:
                    target = os.path.join(_safe_folder(folder), rel.replace(os.sep, "-"))
                else:
                    target = rel
                target = os.path.join(dest, target)
                if target in seen and seen[target] != source:
                    raise InputError(source, "lands on the same file as %s (%s); rename one of them"
                                     % (seen[target], target))
                if target not in seen:
                    seen[target] = source
                    pairs.append((source, target))
    return pairs


def rewrite_all(providers, dest, datasource_map, log_label_model=None, service_identities=None,
                service_namespace=None, span_metrics=True):
    """Read and rewrite every legacy dashboard. Nothing is written; raises InputError on the first bad file."""
    rewriter = Rewriter(datasource_map, log_label_model, service_identities, service_namespace, span_metrics)
    out = []
    uids = {}
    for source, target in plan_files(providers, dest):
        doc = load_dashboard(source)
        new_doc, report = rewriter.rewrite(doc)
        uid = new_doc.get("uid")
        if uid and uid in uids:
            raise InputError(source, "dashboard uid %r is also used by %s; Grafana would load only one of them"
                             % (uid, uids[uid]))
        if uid:
            uids[uid] = source
        out.append(dict(report, source=source, dest=target, uid=uid, title=new_doc.get("title"),
                        text=dump_dashboard(new_doc)))
    return out
