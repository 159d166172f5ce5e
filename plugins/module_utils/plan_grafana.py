# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: legacy Grafana datasources and dashboards (uid mapping, inventory, query findings)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lgtm.stack.plugins.module_utils import spm
from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import NEW_UIDS, STREAM_SELECTOR, TRACE_LABEL


def plan_datasources(ctx):
    """{"by_uid_or_name", "inputs", "default"}: legacy datasource uid/name and dashboard input -> new uid."""
    grafana = ctx.legacy.get("grafana") or {}
    mapping = {}
    jaeger_uids = set(d.get("uid") for d in grafana.get("datasources") or [] if d.get("type") == "jaeger")
    for ds in grafana.get("datasources") or []:
        new = NEW_UIDS.get(ds.get("type"))
        if not new:
            ctx.finding("P023", "Datasource '%s' of type %s has no counterpart in the new stack and is "
                        "not provisioned any more." % (ds["name"], ds.get("type")), ds.get("file"), ds.get("line"))
            continue
        if ds.get("uid"):
            mapping[ds["uid"]] = new
        mapping[ds["name"]] = new
        for field in (ds.get("json_data") or {}).get("derivedFields") or []:
            if field.get("matcherType") == "label":
                continue
            target = field.get("datasourceUid")
            to_jaeger = target in jaeger_uids
            ctx.finding("P003", "Derived field '%s' of datasource '%s' matches the log body with %r%s; "
                        "OTLP logs keep trace ids in structured metadata, so it never matches."
                        % (field.get("name"), ds["name"], field.get("matcherRegex"),
                           " and points at Jaeger" if to_jaeger else ""),
                        ds.get("file"), ds.get("line"), None,
                        "Replaced by a derived field on the trace_id structured metadata (matcherType: label) "
                        "pointing at Tempo.")
    inputs = {}
    for dash in grafana.get("dashboards") or []:
        for item in dash.get("inputs") or []:
            new = NEW_UIDS.get(item.get("plugin"))
            if new:
                inputs[item["name"]] = new
            else:
                ctx.finding("P024", "Dashboard input %s (%s) has no datasource in the new stack."
                            % (item["name"], item.get("plugin")), dash["file"], None)
    default = next((d for d in grafana.get("datasources") or [] if d.get("is_default")), None)
    return {"by_uid_or_name": mapping, "inputs": inputs,
            "default": NEW_UIDS.get(default["type"]) if default else "mimir"}


def plan_dashboards(ctx, datasource_map, dropped_jobs, collector_prefixes):
    """Findings on legacy dashboards: Jaeger and SPM panels, unknown datasources, queries that lose their data."""
    grafana = ctx.legacy.get("grafana") or {}
    known = datasource_map["by_uid_or_name"]
    for dash in grafana.get("dashboards") or []:
        _dashboard_findings(ctx, dash, known)
        for query in dash.get("queries") or []:
            _query_findings(ctx, dash, query, dropped_jobs, collector_prefixes)


def _dashboard_findings(ctx, dash, known):
    jaeger_panels = sorted(set(q["panel_title"] or str(q["panel_id"]) for q in dash.get("queries") or []
                               if q.get("datasource_type") == "jaeger"
                               or known.get(q.get("datasource") or "") == "tempo"
                               and q.get("datasource_type") in (None, "jaeger")))
    if jaeger_panels:
        ctx.finding("P001", "Dashboard '%s' has %d panel(s) on the Jaeger datasource (%s)."
                    % (dash.get("title"), len(jaeger_panels), ", ".join(jaeger_panels)), dash["file"], None,
                    None, "Rewritten to Tempo with TraceQL where a faithful query exists; the rest are listed "
                          "in the dashboards step's report.")
    for ref in dash.get("datasource_refs") or []:
        if ref["kind"] in ("uid", "name") and ref["value"] not in known and ref["value"] not in (
                "grafana", "-- Grafana --", "-- Dashboard --"):
            ctx.finding("P024", "Dashboard '%s' refers to datasource %s %r, which no provisioned "
                        "datasource has." % (dash.get("title"), ref["kind"], ref["value"]), dash["file"], None,
                        None, "Point the panel at mimir, loki or tempo by hand.")
    spm_panels = sorted(set(q.get("panel_title") or str(q.get("panel_id")) for q in dash.get("queries") or []
                            if q.get("expr") and spm.uses_spm(q["expr"])))
    if spm_panels:
        ctx.finding("P033", "Dashboard '%s' queries Jaeger's span metrics (SPM) in %d panel(s): %s. Tempo's "
                    "span metrics have other names, labels and units (seconds)."
                    % (dash.get("title"), len(spm_panels), ", ".join(spm_panels)), dash["file"], None, None,
                    "Rewritten to traces_spanmetrics_* (label service, ms kept by a factor of 1000) where "
                    "exact; the dashboards step lists each query and flags the rest on the panel.")


def _query_findings(ctx, dash, query, dropped_jobs, collector_prefixes):
    expr = query.get("expr") or ""
    for job in dropped_jobs:
        if re.search(r'job\s*=~?\s*"%s"' % re.escape(job), expr):
            ctx.finding("P002", "Panel '%s' of dashboard '%s' queries job=\"%s\", whose series "
                        "stop after the migration." % (query.get("panel_title"), dash.get("title"), job),
                        dash["file"], None, None, "Query the stack's own metrics or remove the panel.")
    for prefix in collector_prefixes:
        if re.search(r"\b%s_" % re.escape(prefix), expr):
            ctx.finding("P019", "Panel '%s' of dashboard '%s' uses metrics prefixed '%s_' by "
                        "the collector's prometheus exporter; OTLP metrics reach Mimir without that "
                        "prefix and with job=\"<namespace>/<service>\"."
                        % (query.get("panel_title"), dash.get("title"), prefix), dash["file"], None,
                        None, "Rewrite the query for the new metric names and labels.")
            break
    for selector in STREAM_SELECTOR.findall(expr if query.get("datasource_type") in (None, "loki") else ""):
        for label in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", selector):
            if TRACE_LABEL.match(label):
                ctx.finding("P005", "Panel '%s' of dashboard '%s' selects logs by the label '%s'; "
                            "trace ids are never labels in the new Loki." % (
                                query.get("panel_title"), dash.get("title"), label),
                            dash["file"], None, None,
                            "Use a structured-metadata filter: {service_name=\"...\"} | trace_id=\"...\".")


def grafana_inventory(ctx, datasource_map):
    """Every legacy datasource and dashboard with its fate (the report lists them)."""
    grafana = ctx.legacy.get("grafana") or {}
    known = datasource_map["by_uid_or_name"]
    root = ctx.legacy.get("project_dir") or ""

    def rel(path):
        return path[len(root):].lstrip("/") if root and (path or "").startswith(root) else path

    datasources = [{"name": d["name"], "type": d.get("type"), "file": rel(d.get("file")),
                    "fate": "replaced" if known.get(d["name"]) else "dropped",
                    "new": known.get(d["name"])} for d in grafana.get("datasources") or []]
    dashboards = [{"title": d.get("title"), "file": rel(d.get("file")), "fate": "carried",
                   "folder": d.get("folder")} for d in grafana.get("dashboards") or []]
    return {"datasources": datasources, "dashboards": dashboards}


def grafana_settings_findings(ctx):
    """Legacy Grafana server settings that are secrets (P034) or not carried (P035), anonymous access (P011)."""
    grafana = ctx.legacy.get("grafana")
    for setting in (grafana or {}).get("settings") or []:
        svc = ctx.services.get(grafana["service"]) or {}
        if setting.get("needs_value"):
            ctx.finding("P034", "Grafana setting %s is a secret written in clear in the compose file; it is not "
                        "copied to the new Grafana." % setting["key"], svc.get("file"), svc.get("line"),
                        grafana["service"], "Keep it in the project's .env as a variable and set "
                        "lgtm_grafana_settings_env: {%s: '${VAR}'}." % setting["key"])
        elif not setting.get("carried") and not setting["key"].startswith("GF_AUTH_ANONYMOUS_"):
            ctx.finding("P035", "Grafana setting %s is not carried: %s." % (setting["key"], setting["reason"]),
                        svc.get("file"), svc.get("line"), grafana["service"],
                        "Set it through the grafana role's variables if you still need it.")
    if grafana and grafana.get("anonymous_enabled"):
        svc = ctx.services.get(grafana["service"]) or {}
        ctx.finding("P011", "Grafana allows anonymous access.", svc.get("file"), svc.get("line"),
                    grafana["service"], "The new Grafana turns anonymous access and sign-up off.")
