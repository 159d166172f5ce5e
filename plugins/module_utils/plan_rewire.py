# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: how kept services are rewired (telemetry environment, identity, network, depends_on)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import (
    JAEGER_PROTOCOL_BY_PORT, removed_service_names)


def plan_rewire(ctx, removed):
    """(rewire entries, sorted Jaeger receiver protocols); records each app's identity in ctx.identities."""
    removed_names = removed_service_names(removed)
    rewire, jaeger_protocols = [], set()
    for app in ctx.legacy.get("apps") or []:
        if app["where"] != "compose":
            continue
        rewire.append(_rewire_app(ctx, app, removed_names, jaeger_protocols))
    # Kept services that merely depended on removed ones, or ship logs with the Loki Docker driver.
    by_service = dict((r["service"], r) for r in rewire)
    _unhook_kept_services(ctx, removed_names, rewire, by_service)
    _join_network(ctx, removed_names, rewire, by_service)
    _host_apps(ctx)
    return rewire, sorted(jaeger_protocols)


def _rewire_app(ctx, app, removed_names, jaeger_protocols):
    svc = ctx.services[app["service"]]
    env = svc.get("environment") or {}
    remove_env, notes = [], []
    set_env = _telemetry_env(ctx, app, env, jaeger_protocols)
    if env.get("OTEL_TRACES_EXPORTER") == "jaeger":
        set_env["OTEL_TRACES_EXPORTER"] = "otlp"
        notes.append("OTEL_TRACES_EXPORTER=jaeger switched to otlp (the Jaeger exporter is gone from the "
                     "OpenTelemetry SDKs)")
    if app["jaeger_env"] and any(k.startswith("JAEGER_") or k.startswith("OTEL_EXPORTER_JAEGER")
                                 for k in set_env):
        ctx.finding("P021", "Service '%s' still sends traces with Jaeger protocols; Alloy's Jaeger "
                    "receiver accepts them, but those spans carry no log or metric correlation."
                    % app["service"], svc.get("file"), svc.get("line"), app["service"],
                    "Move the service to an OTLP exporter (see the Go findings and docs/go_instrumentation.md)"
                    ", then drop the JAEGER_* variables.")
    _identity(ctx, app, env, set_env, notes)
    depends_remove = sorted(d for d in svc.get("depends_on") or [] if d in removed_names)
    return {"service": app["service"], "env_set": set_env, "env_remove": sorted(remove_env),
            "networks_add": [ctx.network] if ctx.network not in (svc.get("networks") or []) else [],
            "depends_on_remove": depends_remove, "notes": notes}


def _telemetry_env(ctx, app, env, jaeger_protocols):
    """The new values of the variables that pointed the app's telemetry at a legacy component."""
    set_env = {}
    protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    for entry in app["telemetry_env"]:
        key = entry["key"]
        target = entry.get("points_at_component")
        if key.startswith("OTEL_EXPORTER_OTLP") and key.endswith("ENDPOINT") and target in (
                "jaeger", "otel_collector", "tempo", "alloy", "grafana_agent"):
            set_env[key] = _new_otlp_endpoint(ctx, entry, protocol)
        elif key == "JAEGER_AGENT_HOST" and target in ("jaeger", "otel_collector", "grafana_agent"):
            set_env[key] = ctx.names["alloy"]
            port = int(env.get("JAEGER_AGENT_PORT") or 6831)
            jaeger_protocols.add(JAEGER_PROTOCOL_BY_PORT.get(port, "thrift_compact"))
        elif key in ("OTEL_EXPORTER_JAEGER_ENDPOINT", "JAEGER_ENDPOINT") and target in (
                "jaeger", "otel_collector", "grafana_agent"):
            set_env[key] = "http://%s:14268/api/traces" % ctx.names["alloy"]
            jaeger_protocols.add("thrift_http")
        elif key in ("OTEL_EXPORTER_JAEGER_AGENT_HOST",) and target:
            set_env[key] = ctx.names["alloy"]
            jaeger_protocols.add("thrift_compact")
    return set_env


def _new_otlp_endpoint(ctx, entry, protocol_env):
    port = entry.get("port")
    grpc = port == 4317 or (port is None and protocol_env == "grpc")
    value = entry["value"]
    path = ""
    match = re.match(r"^(?:[a-z]+://)?[^/]+(/.*)?$", value)
    if match and match.group(1):
        path = match.group(1)
    scheme = "https" if value.startswith("https://") else "http"
    return "%s://%s:%d%s" % (scheme, ctx.names["alloy"], 4317 if grpc else 4318, path)


def _identity(ctx, app, env, set_env, notes):
    """The service.name/namespace/environment the app's signals carry: set_env gets what changes."""
    attrs = _parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES") or "")
    # A service.name the project already gives (variable or resource attribute) is its identity: kept.
    if "OTEL_SERVICE_NAME" not in env and not attrs.get("service.name"):
        set_env["OTEL_SERVICE_NAME"] = app["service"]
    merged = dict(attrs)
    namespace = attrs.get("service.namespace", ctx.namespace)
    environment = attrs.get("deployment.environment.name") or attrs.get("deployment.environment") \
        or ctx.environment
    for key, value, default in (("service.namespace", namespace, ctx.namespace),
                                ("deployment.environment", environment, ctx.environment)):
        if value != default:
            notes.append("%s kept as %r (the stack's default is %r)" % (key, value, default))
    # Both names of the environment attribute: older tools read deployment.environment, current
    # semantic conventions (and Loki's default OTLP labels) deployment.environment.name.
    merged["service.namespace"] = namespace
    merged["deployment.environment"] = environment
    merged["deployment.environment.name"] = environment
    new_attrs = _format_resource_attributes(merged)
    if new_attrs != (env.get("OTEL_RESOURCE_ATTRIBUTES") or ""):
        set_env["OTEL_RESOURCE_ATTRIBUTES"] = new_attrs
    # The SDK takes service.name from OTEL_SERVICE_NAME first, then from the resource attributes.
    ctx.identities[app["service"]] = {
        "service_name": env.get("OTEL_SERVICE_NAME") or attrs.get("service.name") or set_env.get(
            "OTEL_SERVICE_NAME") or app["service"],
        "service_namespace": namespace, "environment": environment}


def _entry_for(rewire, by_service, name, depends_on_remove):
    """The rewire entry of a service, created (nothing to set) when the service had none."""
    entry = by_service.get(name)
    if entry is None:
        entry = {"service": name, "env_set": {}, "env_remove": [], "networks_add": [],
                 "depends_on_remove": depends_on_remove, "notes": []}
        rewire.append(entry)
        by_service[name] = entry
    return entry


def _unhook_kept_services(ctx, removed_names, rewire, by_service):
    for name, svc in sorted(ctx.services.items()):
        if name in removed_names:
            continue
        deps = sorted(d for d in svc.get("depends_on") or [] if d in removed_names)
        loki_driver = svc.get("logging_driver") == "loki"
        if not deps and not loki_driver:
            continue
        entry = _entry_for(rewire, by_service, name, deps)
        if loki_driver:
            entry["logging_remove"] = True
            ctx.finding("P025", "Service '%s' ships its logs with the Loki Docker logging driver to %s; "
                        "after the migration that URL no longer answers and `docker logs` shows nothing."
                        % (name, svc.get("logging_url") or "the old Loki"), svc.get("file"), svc.get("line"), name,
                        "Its logging section is removed: Alloy reads container logs from the Docker socket.")


def _join_network(ctx, removed_names, rewire, by_service):
    # Every kept service joins the shared network: the exporters reach the databases over it, Alloy scrapes
    # carried targets over it, and apps send OTLP over it.
    for name, svc in sorted(ctx.services.items()):
        if name in removed_names or svc.get("network_mode") or ctx.network in (svc.get("networks") or []):
            continue
        entry = _entry_for(rewire, by_service, name, [])
        if ctx.network not in entry["networks_add"]:
            entry["networks_add"].append(ctx.network)


def _host_apps(ctx):
    for app in ctx.legacy.get("apps") or []:
        if app["where"] == "host":
            ctx.finding("P016", "'%s' runs on the host (scraped at %s): send its OTLP telemetry to "
                        "http://%s:%d (gRPC) or http://%s:%d (HTTP); Alloy keeps scraping it."
                        % (app["name"], app["scrape_jobs"][0]["target"], ctx.bind, ctx.ports["alloy_otlp_grpc"],
                           ctx.bind, ctx.ports["alloy_otlp_http"]),
                        (ctx.legacy.get("prometheus") or {}).get("file"),
                        app["scrape_jobs"][0].get("line"), None,
                        "export OTEL_EXPORTER_OTLP_ENDPOINT=http://%s:%d OTEL_SERVICE_NAME=%s"
                        % (ctx.bind, ctx.ports["alloy_otlp_grpc"], app["name"]))


def _parse_resource_attributes(text):
    out = {}
    for part in text.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _format_resource_attributes(attrs):
    return ",".join("%s=%s" % (k, v) for k, v in attrs.items())
