# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: host ports the migration releases, claims, and the conflicts between them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import removed_service_names

# (ports key, component, what) of every host port the new stack publishes.
_CLAIMS = (("alloy_otlp_grpc", "alloy", "OTLP gRPC"), ("alloy_otlp_http", "alloy", "OTLP HTTP"),
           ("alloy_ui", "alloy", "Alloy UI"), ("grafana", "grafana", "Grafana"), ("tempo", "tempo", "Tempo API"),
           ("loki", "loki", "Loki API"), ("mimir", "mimir", "Mimir API"))


def plan_ports(ctx, removed):
    """{"released", "claimed", "conflicts"}; findings for kept ports on every interface (P012) and conflicts (P009)."""
    released, held = _published_ports(ctx, removed_service_names(removed))
    claimed = [
        {"service": ctx.names[component], "port": str(ctx.ports[key]), "what": what,
         "variable": "lgtm_%s_host_port" % key}
        for key, component, what in _CLAIMS if component in ctx.deployed]
    for entry in claimed:
        entry["host_ip"] = ctx.bind
        entry["protocol"] = "tcp"
    conflicts = _conflicts(ctx, claimed, released, held)
    for conflict in conflicts:
        svc = ctx.services.get(conflict["held_by"]) or {}
        ctx.finding("P009", "Port %s is needed by %s but held by %s." % (
            conflict["port"], conflict["wanted_by"], conflict["held_by"]), svc.get("file"), svc.get("line"),
            conflict["held_by"] if svc else None,
            "Free the port, or publish %s elsewhere with %s." % (conflict["wanted_by"], conflict["variable"]))
    return {"released": released, "claimed": claimed, "conflicts": conflicts}


def _published_ports(ctx, removed_names):
    """(ports of removed services, {(port, protocol): [entries of kept services]})."""
    released, held = [], {}
    for name, svc in sorted(ctx.services.items()):
        for port in svc.get("ports") or []:
            published = port.get("published")
            if not published:
                continue
            entry = {"service": name, "port": str(published), "protocol": port.get("protocol", "tcp"),
                     "host_ip": port.get("host_ip") or "0.0.0.0"}
            if name in removed_names:
                released.append(entry)
            else:
                held.setdefault((str(published), entry["protocol"]), []).append(entry)
                if entry["host_ip"] in ("0.0.0.0", "::"):
                    ctx.finding("P012", "Kept service '%s' publishes port %s on every interface."
                                % (name, published), svc.get("file"), svc.get("line"), name,
                                "Publish it on 127.0.0.1 (\"127.0.0.1:%s:%s\") unless other hosts need it."
                                % (published, port.get("target")))
    return released, held


def _conflicts(ctx, claimed, released, held):
    conflicts = []
    for entry in claimed:
        for other in held.get((entry["port"], "tcp"), []):
            if other["host_ip"] in ("0.0.0.0", "::", ctx.bind):
                conflicts.append({"port": entry["port"], "wanted_by": entry["service"], "held_by": other["service"],
                                  "variable": entry["variable"]})
        own = set(r["port"] for r in released) | set(p for p, _proto in held)
        for occupied in ctx.occupied:
            # This project's own containers (legacy ones about to go, kept ones: P009 above) are not strangers.
            if str(occupied.get("port")) == entry["port"] and entry["port"] not in own:
                conflicts.append({"port": entry["port"], "wanted_by": entry["service"],
                                  "held_by": occupied.get("holder") or "another process",
                                  "variable": entry["variable"]})
    return conflicts
