# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: logs (legacy Loki settings, Promtail labels and their fate, the identity container logs carry)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils import promtail as promtail_config
from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import (
    EXPORTER_COMPONENTS, LEGACY_COMPONENTS, STACK_COMPONENTS, TRACE_LABEL, promtail_model)


def log_identities(ctx):
    """compose service (and container_name) -> the service_name its container logs carry."""
    out = {}
    for name, svc in sorted(ctx.services.items()):
        if svc.get("component") in LEGACY_COMPONENTS + STACK_COMPONENTS + EXPORTER_COMPONENTS:
            continue
        service_name = (ctx.identities.get(name) or {}).get("service_name") or name
        out[name] = service_name
        if svc.get("container_name"):
            out[svc["container_name"]] = service_name
    return out


def loki_findings(ctx):
    """The legacy Loki's retention period (carried), with findings on unenforced retention and old schemas."""
    loki = ctx.legacy.get("loki")
    retention = None
    if loki:
        retention = loki.get("retention_period")
        if retention and (not loki.get("retention_enabled") or not loki.get("delete_request_store")):
            ctx.finding("P006", "Loki retention_period %s is configured but not enforced (%s)."
                        % (retention, "compactor.retention_enabled is off" if not loki.get("retention_enabled")
                           else "compactor.delete_request_store is missing"),
                        loki.get("file"), loki.get("retention_line"), loki.get("service"),
                        "The new Loki enforces it: compactor retention enabled with a delete request store.")
        # About a config that was read, or the image's built-in one (no file mounted: it sets no retention); a table
        # manager's retention (Loki 2.x) was a policy too.
        if (retention is None or retention == "") and (loki.get("read") or not loki.get("file")) \
                and not loki.get("table_manager_retention"):
            ctx.finding("P046", "The legacy Loki sets no retention_period (%s): it kept logs until its disk filled; "
                        "the new Loki deletes logs older than lgtm_loki_retention_period (168h unless set)."
                        % ("in its config" if loki.get("file") else "it runs its image's built-in config"),
                        loki.get("file"), None, loki.get("service"),
                        "Set lgtm_loki_retention_period (720h, 30d; 0s keeps logs forever) before migrating.")
        old = [s for s in loki.get("schemas") or [] if s.get("schema") != "v13" or s.get("store") != "tsdb"]
        if old:
            ctx.finding("P010", "Loki schema %s/%s cannot hold structured metadata or native OTLP logs; "
                        "the new Loki starts with tsdb/v13 on fresh storage and does not read the old logs."
                        % (old[0].get("store"), old[0].get("schema")), loki.get("file"), old[0].get("line"),
                        loki.get("service"), "The old volume is kept; query it with the old Loki if you need it.")
    return retention


def promtail_findings(ctx):
    """Trace ids turned into labels (P005) and Promtail labels the new pipeline drops (P032); sets
    ctx.promtail_labels (each label's fate)."""
    promtail = ctx.legacy.get("promtail")
    if promtail:
        for label in promtail.get("labels_from_logs") or []:
            if TRACE_LABEL.match(label["label"]):
                ctx.finding("P005", "Promtail job '%s' turns '%s' into a Loki label: one stream per "
                            "trace, the cardinality problem Loki warns about." % (label["job"], label["label"]),
                            promtail.get("file"), label.get("line"), promtail.get("service"),
                            "Alloy lifts trace ids into structured metadata (trace_id), never into labels.")
    ctx.promtail_labels = []
    if promtail:
        ctx.promtail_labels = promtail_config.label_fates(
            promtail_model(ctx.legacy), log_identities(ctx), ctx.namespace)
        for fate in ctx.promtail_labels:
            # A constant that only named the Promtail job or the project: queries keep their meaning without it
            # (the report lists it). Anything else that is dropped changes what a query finds.
            if fate["fate"] == "dropped" and fate.get("kind") not in ("job", "project"):
                ctx.finding("P032", "Promtail job '%s' labels its logs %s=...; the new pipeline writes no such "
                            "label: %s." % (fate["promtail_job"], fate["label"], fate["reason"]),
                            promtail.get("file"), fate.get("line"), promtail.get("service"),
                            "Queries on it are rewritten where a faithful query exists; the migrated dashboards "
                            "report the rest. Collect those logs with your own Alloy config if you need them.")
