# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: findings on the legacy configs (collector, images, secrets, exporter credentials, Grafana
settings), the analysis' warnings and go_telemetry_info's findings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.plan_grafana import grafana_settings_findings
from ansible_collections.lgtm.stack.plugins.module_utils.plan_logs import loki_findings, promtail_findings


def plan_config_findings(ctx):
    """(Loki retention period to carry, metric prefixes the legacy collector's prometheus exporters added)."""
    retention = loki_findings(ctx)
    promtail_findings(ctx)
    prefixes = _collector_findings(ctx)
    _service_findings(ctx)
    _exporter_credential_findings(ctx)
    grafana_settings_findings(ctx)
    for warning in ctx.legacy.get("warnings") or []:
        ctx.finding("P018", warning)
    for go in ctx.go_findings:
        ctx.finding(go["code"], go["message"], go.get("file"), go.get("line"), None, go.get("recommendation"),
                    severity=go.get("severity"))
    return retention, prefixes


def _collector_findings(ctx):
    """Loki hints the collector sets (P004), const labels of its prometheus exporters (P019); returns their
    namespaces (metric prefixes)."""
    collector = ctx.legacy.get("otel_collector")
    prefixes = []
    if collector:
        for name, cfg in (collector.get("processors") or {}).items():
            for action in (cfg or {}).get("actions") or []:
                if str(action.get("key", "")).startswith("loki."):
                    ctx.finding("P004", "Processor %s sets the %s hint, which Loki's native OTLP endpoint "
                                "ignores." % (name, action["key"]), collector.get("file"), None,
                                collector.get("service"), "service.name, service.namespace and "
                                "deployment.environment become labels; other attributes are structured metadata.")
        for name, cfg in (collector.get("exporters") or {}).items():
            if name.split("/")[0] == "prometheus":
                if (cfg or {}).get("namespace"):
                    prefixes.append(cfg["namespace"])
                if (cfg or {}).get("const_labels"):
                    ctx.finding("P019", "The collector's prometheus exporter adds const labels %s; "
                                "they disappear." % ", ".join(sorted(cfg["const_labels"])), collector.get("file"),
                                None, collector.get("service"), "Drop them from dashboard queries.")
    return prefixes


def _service_findings(ctx):
    for name, svc in sorted(ctx.services.items()):
        if not svc.get("image_pinned") and not svc.get("build"):
            ctx.finding("P007", "Service '%s' uses an unpinned image (%s)." % (name, svc.get("image")),
                        svc.get("file"), svc.get("line"), name,
                        "Pin a version tag (the stack's own images are pinned).")
        if svc.get("secret_env"):
            ctx.finding("P008", "Service '%s' has plain-text secrets in its compose environment: %s."
                        % (name, ", ".join(svc["secret_env"])), svc.get("file"), svc.get("line"), name,
                        "Move them to Docker secrets or *_FILE variables (the new Grafana reads its admin "
                        "password from a 0600 file).")


def _exporter_credential_findings(ctx):
    for component, entries in sorted((ctx.legacy.get("exporters") or {}).items()):
        for entry in entries:
            svc = ctx.services.get(entry["service"]) or {}
            cnf = entry.get("my_cnf") or {}
            if cnf.get("missing"):
                ctx.finding("P028", "The credentials file %s of '%s' (mounted at %s) is not on this machine "
                            "(kept out of git?): the preview goes on, the real migration needs the password."
                            % (cnf.get("host_path"), entry["service"], cnf.get("container_path")),
                            cnf.get("host_path"), None, entry["service"],
                            "Put the file back where the compose file mounts it (the migration reads the password "
                            "from it), or set lgtm_exporters_mysqld_password from Ansible Vault.")
            ref = entry.get("password_ref")
            if ref:
                ctx.finding("P029", "The password of '%s' stays where the project keeps it: the new exporter "
                            "reads ${%s} (%s) at start, nothing is copied." % (
                                entry["service"], ref["variable"],
                                ref["kept_in"] or "from the environment compose runs in"),
                            ref.get("kept_in") or svc.get("file"), None, entry["service"],
                            "Keep %s defined wherever you run docker compose (a fresh clone needs it too)."
                            % ref["variable"])


def remote_backend_finding(ctx, removed):
    """P042: with remote backends nothing is stored here; name the legacy stores whose data stays behind."""
    endpoints = ctx.backend.get("endpoints") or {}
    where = ", ".join("%s -> %s" % (signal, (endpoints.get(signal) or {}).get("push") or "?")
                      for signal in ("traces", "logs", "metrics"))
    stores = sorted(r["service"] for r in removed
                    if r["component"] in ("jaeger", "prometheus", "loki", "tempo", "mimir", "grafana_agent"))
    ctx.finding("P042", "Signals ship to remote backends (%s). Legacy stores whose data stays on this host: %s."
                % (where, ", ".join(stores) or "none"))
