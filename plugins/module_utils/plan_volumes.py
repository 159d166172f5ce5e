# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: legacy volumes and bind mounts, the new stack's volumes, and Grafana data adoption."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import (
    GRAFANA_DATA_PATH, STACK_COMPONENTS, STACK_VOLUMES, removed_service_names)


def plan_volumes(ctx, removed, adopted=None, stack_volumes=None):
    """(legacy named volumes orphaned by the migration, bind mounts of removed services)."""
    removed_names = removed_service_names(removed)
    ours = set(v["volume"] for v in (stack_volumes or {}).values())
    volumes = []
    for name, info in sorted((ctx.legacy.get("named_volumes") or {}).items()):
        if name == adopted or name in ours:
            continue  # the new Grafana runs on it, or this stack's own volume from an earlier run
        users = info.get("used_by") or []
        if users and all(u in removed_names for u in users):
            volumes.append({"volume": name, "name": info.get("name") or name, "used_by": users, "orphaned": True,
                            "external": bool(info.get("external")),
                            "action": "delete" if ctx.remove_legacy_data and not info.get("external")
                            else "keep"})
    binds = []
    for removal in removed:
        svc = ctx.services[removal["service"]]
        for mount in svc.get("mounted_files") or []:
            if mount.get("source", "").startswith("/var/run/docker.sock"):
                continue
            binds.append({"service": removal["service"], "source": mount["source"], "target": mount["target"],
                          "kind": mount["kind"], "action": "keep"})
    if volumes and not ctx.remove_legacy_data:
        ctx.finding("P022", "Legacy data is kept: volumes %s are no longer used by any service."
                    % ", ".join(v["volume"] for v in volumes), None, None, None,
                    "Delete them with lgtm_migrate_remove_legacy_data: true once nobody needs the old data.")
    return volumes, binds


def plan_stack_volumes(ctx, removed):
    """The volume each new component stores its data in: never a legacy one, unless adoption was asked.

    Returns ({component: {"volume", "name", "state"}}, adopted legacy volume key or None). `state` is `new`
    (created empty), `reused` (this stack's own volume from an earlier run) or `adopted` (a legacy Grafana
    database, lgtm_migrate_adopt_grafana_data)."""
    project = ctx.legacy.get("project_name") or "project"
    named = ctx.legacy.get("named_volumes") or {}
    stack_services = set(r["service"] for r in removed if r["component"] in STACK_COMPONENTS)
    out = {}
    for component, key in sorted(STACK_VOLUMES.items()):
        wanted, state = key, "new"
        info = named.get(wanted)
        if info is not None:
            users = set(info.get("used_by") or [])
            if users and users <= stack_services:
                state = "reused"
            else:
                n = 2
                while "%s-%d" % (key, n) in named:
                    n += 1
                wanted = "%s-%d" % (key, n)
        out[component] = {"volume": wanted, "name": "%s_%s" % (project, wanted), "state": state}
    return out, _grafana_data(ctx, removed, named, project, out)


def _grafana_data(ctx, removed, named, project, out):
    """The legacy Grafana volume adopted (out["grafana"] then points at it), or None (P026/P027 say why)."""
    adopted = None
    grafana = next((r for r in removed if r["component"] == "grafana"), None)
    legacy_data = None
    if grafana:
        for vol in ctx.services[grafana["service"]].get("volumes") or []:
            if vol.get("target") == GRAFANA_DATA_PATH and vol.get("source"):
                legacy_data = vol
    if grafana and ctx.adopt_grafana_data:
        if legacy_data and legacy_data.get("type") == "volume" and legacy_data["source"] in named:
            adopted = legacy_data["source"]
            out["grafana"] = {"volume": adopted, "name": named[adopted].get("name") or "%s_%s" % (project, adopted),
                              "state": "adopted"}
        else:
            svc = ctx.services[grafana["service"]]
            ctx.finding("P026", "lgtm_migrate_adopt_grafana_data is set, but the legacy Grafana '%s' keeps "
                        "its database %s, not in a named volume of the project." % (
                            grafana["service"], "on the host path %s" % legacy_data["source"] if legacy_data
                            else "inside its container (no volume at %s)" % GRAFANA_DATA_PATH),
                        svc.get("file"), svc.get("line"), grafana["service"],
                        "Move the database into a named volume first, or migrate without adoption (the new "
                        "Grafana starts empty; export UI-made dashboards from the old one).")
    elif grafana and legacy_data:
        svc = ctx.services[grafana["service"]]
        ctx.finding("P027", "The new Grafana starts with an empty database in volume %s; the legacy "
                    "Grafana's database (%s %s) keeps the dashboards, users and datasources made in its UI, and "
                    "the new Grafana does not read it." % (
                        out["grafana"]["name"], legacy_data.get("type"), legacy_data["source"]),
                    svc.get("file"), svc.get("line"), grafana["service"],
                    "Export UI-made dashboards before the migration, or set lgtm_migrate_adopt_grafana_data: true "
                    "to run the new Grafana on the old database (its legacy datasources are then deleted through "
                    "provisioning and the admin password is reset to the generated one).")
    return adopted
