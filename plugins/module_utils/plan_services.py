# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: which services leave, stay and arrive, and the names the new ones take."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import (
    DEFAULT_SERVICE_NAMES, EXPORTER_COMPONENTS, LEGACY_COMPONENTS, STACK_COMPONENTS)


def plan_services(ctx):
    """(remove, keep, add); renames a new service whose default name a kept service already has (P017)."""
    remove, keep = [], []
    for name, svc in sorted(ctx.services.items()):
        component = svc["component"]
        if component in LEGACY_COMPONENTS:
            remove.append({"service": name, "component": component, "reason": "replaced by Alloy, Tempo and Mimir"
                           if component != "promtail" else "replaced by Alloy's Docker log collection"})
        elif component in STACK_COMPONENTS:
            remove.append({"service": name, "component": component,
                           "reason": "re-deployed by the stack with pinned version and correlation settings"})
        elif component in EXPORTER_COMPONENTS:
            remove.append({"service": name, "component": component,
                           "reason": "re-deployed by the exporters role (pinned, credentials in a secret file, never in compose)"})
        else:
            keep.append(name)
    _rename_clashes(ctx, set(keep))
    return remove, keep, _services_to_add(ctx)


def _rename_clashes(ctx, kept):
    for component in sorted(DEFAULT_SERVICE_NAMES):
        wanted = ctx.names[component]
        if wanted in kept:
            svc = ctx.services[wanted]
            new_name = "lgtm-%s" % wanted
            ctx.finding("P017", "Service '%s' already exists and is not %s (%s); the new %s service is "
                        "named '%s' instead." % (wanted, component, svc.get("detected_by"), component, new_name),
                        svc.get("file"), svc.get("line"), wanted,
                        "Rename that service, or name the new one with lgtm_migrate_service_names: "
                        "{%s: <name>} (for example '%s')." % (component, new_name))
            ctx.names[component] = new_name


def _services_to_add(ctx):
    add = [{"service": ctx.names[c], "component": c} for c in ctx.deployed]
    components = ctx.legacy.get("components") or {}
    for exporter in EXPORTER_COMPONENTS:
        if components.get(exporter):
            add.append({"service": ctx.names[exporter], "component": exporter})
    if components.get("mysql") and not components.get("mysqld_exporter"):
        ctx.finding("P020", "MySQL/MariaDB runs without an exporter.", None, None, components["mysql"][0],
                    "Enable lgtm_exporters_mysqld (credentials from variables) to get the MySQL dashboard.")
    if components.get("redis") and not components.get("redis_exporter"):
        ctx.finding("P020", "Redis runs without an exporter.", None, None, components["redis"][0],
                    "Enable lgtm_exporters_redis to get the Redis dashboard.")
    return add
