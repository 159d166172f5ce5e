# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn legacy_stack_info's `legacy` (and go_telemetry_info's findings) into a migration plan.

Pure computation: no file or network access. The plan says what leaves, what
stays, what arrives, how each app is rewired, which ports and volumes are
affected, which scrape jobs are carried into Alloy, how datasources map to the
new uids, and every risk as a finding with a file and a reason.

`Planner` is the orchestrator: it holds the inputs and the shared state, and
each concern lives in its own module (plan_services, plan_rewire, plan_ports,
plan_volumes, plan_scrape, plan_grafana, plan_logs, plan_findings), whose
functions take the Planner as their context.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils import findings
from ansible_collections.lgtm.stack.plugins.module_utils import inventory
from ansible_collections.lgtm.stack.plugins.module_utils import plan_findings
from ansible_collections.lgtm.stack.plugins.module_utils import plan_grafana
from ansible_collections.lgtm.stack.plugins.module_utils import plan_logs
from ansible_collections.lgtm.stack.plugins.module_utils import plan_ports
from ansible_collections.lgtm.stack.plugins.module_utils import plan_rewire
from ansible_collections.lgtm.stack.plugins.module_utils import plan_scrape
from ansible_collections.lgtm.stack.plugins.module_utils import plan_schema
from ansible_collections.lgtm.stack.plugins.module_utils import plan_services
from ansible_collections.lgtm.stack.plugins.module_utils import plan_volumes
# Public names of the plan's vocabulary, importable from here as before the split.
from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import (
    DEFAULT_PORTS, DEFAULT_SERVICE_NAMES, EXPORTER_COMPONENTS, EXPORTER_PORTS, GRAFANA_DATA_PATH,
    JAEGER_PROTOCOL_BY_PORT, LEGACY_COMPONENTS, NEW_UIDS, PLAN_FORMAT, SEVERITIES, STACK_COMPONENTS, STACK_VOLUMES,
    promtail_model)

__all__ = ["DEFAULT_PORTS", "DEFAULT_SERVICE_NAMES", "EXPORTER_COMPONENTS", "EXPORTER_PORTS", "GRAFANA_DATA_PATH",
           "JAEGER_PROTOCOL_BY_PORT", "LEGACY_COMPONENTS", "NEW_UIDS", "PLAN_FORMAT", "SEVERITIES", "STACK_COMPONENTS",
           "STACK_VOLUMES", "Planner", "build_plan", "promtail_model"]


class Planner(object):
    """The planning context: inputs, shared state, findings; plan() runs every concern in a fixed order.

    State the concerns share: `names` (service names of the new stack; plan_services renames on a clash),
    `identities` (compose service -> identity its signals carry; set by plan_rewire, read by plan_logs),
    `scrape_files` (set by plan_scrape), `promtail_labels` (set by plan_logs), `findings`."""

    def __init__(self, legacy, go_findings=None, service_names=None, ports=None, bind_address="127.0.0.1",
                 service_namespace=None, environment="dev", network=None, remove_legacy_data=False,
                 occupied_ports=None, adopt_grafana_data=False, backend=None):
        self.legacy = legacy
        self.go_findings = go_findings or []
        self.names = dict(DEFAULT_SERVICE_NAMES, **(service_names or {}))
        self.ports = dict(DEFAULT_PORTS, **(ports or {}))
        self.bind = bind_address
        self.namespace = service_namespace or legacy.get("project_name") or "default"
        self.environment = environment
        # One network per project by default: a fixed name is shared by every project on the docker host, and
        # the DNS names tempo, loki, mimir... would then resolve to several projects' containers.
        self.network = network or "lgtm-%s" % (legacy.get("project_name") or "default")
        self.remove_legacy_data = remove_legacy_data
        self.adopt_grafana_data = adopt_grafana_data
        self.occupied = occupied_ports or []
        self.findings = []
        self.services = legacy.get("services") or {}
        # compose service -> the identity its signals carry (service.name, service.namespace, environment).
        self.identities = {}
        self.scrape_files = []
        self.promtail_labels = []
        self.rule_files = []
        # prometheus.yml's Alertmanagers: the URLs Mimir's ruler sends to, or why one cannot be carried.
        self.alertmanagers = []
        # local: the stack runs Tempo, Loki and Mimir here; remote: Alloy ships to backends elsewhere
        # (backend["endpoints"], URLs only, no secrets), and only Alloy (and Grafana) run here.
        self.backend = dict({"mode": "local", "endpoints": {}, "grafana": True}, **(backend or {}))
        self.deployed = tuple(c for c in ("alloy", "tempo", "loki", "mimir", "grafana")
                              if self.backend["mode"] == "local" or c == "alloy"
                              or (c == "grafana" and self.backend["grafana"]))

    def finding(self, code, message, file=None, line=None, service=None, recommendation=None, severity=None):
        """Record a finding; its severity is the registry's (findings.py) unless given (Go findings)."""
        if code not in findings.REGISTRY:
            raise ValueError("finding code %s is not in the registry (plugins/module_utils/findings.py)" % code)
        severity = severity or findings.severity(code)
        self.findings.append({"severity": severity, "code": code, "file": file, "line": line, "service": service,
                              "message": message, "recommendation": recommendation})

    # One method per concern, kept for callers of the pre-split class; the work is in the plan_* modules.
    def plan_services(self):
        return plan_services.plan_services(self)

    def plan_rewire(self, removed):
        return plan_rewire.plan_rewire(self, removed)

    def plan_ports(self, removed):
        return plan_ports.plan_ports(self, removed)

    def plan_volumes(self, removed, adopted=None, stack_volumes=None):
        return plan_volumes.plan_volumes(self, removed, adopted, stack_volumes)

    def plan_stack_volumes(self, removed):
        return plan_volumes.plan_stack_volumes(self, removed)

    def plan_scrape_jobs(self, removed):
        return plan_scrape.plan_scrape_jobs(self, removed)

    def grafana_inventory(self, datasource_map):
        return plan_grafana.grafana_inventory(self, datasource_map)

    def log_identities(self):
        return plan_logs.log_identities(self)

    def plan_datasources(self):
        return plan_grafana.plan_datasources(self)

    def plan_dashboards(self, datasource_map, dropped_jobs, collector_prefixes):
        return plan_grafana.plan_dashboards(self, datasource_map, dropped_jobs, collector_prefixes)

    def plan_config_findings(self):
        return plan_findings.plan_config_findings(self)

    # ------------------------------------------------------------------ all together
    def plan(self):
        remove, keep, add = self.plan_services()
        rewire, jaeger_protocols = self.plan_rewire(remove)
        ports = self.plan_ports(remove)
        stack_volumes, adopted = self.plan_stack_volumes(remove)
        stack_volumes = dict((c, v) for c, v in stack_volumes.items() if c in self.deployed)
        if self.backend["mode"] == "remote":
            plan_findings.remote_backend_finding(self, remove)
        volumes, binds = self.plan_volumes(remove, adopted, stack_volumes)
        retention, prefixes = self.plan_config_findings()
        scrape_jobs, target_map, host_targets = self.plan_scrape_jobs(remove)
        datasource_map = self.plan_datasources()
        dropped = [j["job_name"] for j in scrape_jobs if j["action"] == "drop"]
        self.plan_dashboards(datasource_map, dropped, prefixes)
        self.findings.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["code"], f["file"] or "", f["line"] or 0))
        grafana = self.legacy.get("grafana") or {}
        return {
            "format": PLAN_FORMAT,
            "project_dir": self.legacy.get("project_dir"),
            "project_name": self.legacy.get("project_name"),
            "compose_files": list(self.legacy.get("compose_files") or []),
            "service_names": self.names,
            "service_namespace": self.namespace,
            "environment": self.environment,
            "network": self.network,
            "bind_address": self.bind,
            "backend": self.backend,
            "remove_services": remove,
            "keep_services": keep,
            "add_services": add,
            "rewire": rewire,
            "jaeger_receivers": jaeger_protocols,
            "ports": ports,
            "volumes": volumes,
            "stack_volumes": stack_volumes,
            "grafana_adopted_volume": adopted,
            # Legacy provisioned datasources the adopted database still holds: deleted through provisioning.
            "grafana_delete_datasources": [
                {"name": d["name"], "orgId": d.get("org_id") or 1}
                for d in grafana.get("datasources") or []] if adopted else [],
            "service_identities": self.identities,
            # Legacy Grafana server settings carried to the new Grafana (secrets only as ${VAR} references).
            "grafana_inventory": self.grafana_inventory(datasource_map),
            "grafana_settings_env": dict(grafana.get("settings_env") or {}),
            "grafana_plugins": list(grafana.get("plugins") or []),
            # Promtail's labels and their fate; the dashboards step rewrites LogQL with the same model.
            "log_label_model": promtail_model(self.legacy),
            "log_identities": self.log_identities(),
            "promtail_labels": self.promtail_labels,
            "legacy_bind_mounts": binds,
            "scrape_jobs": scrape_jobs,
            "scrape_target_map": target_map,
            # The legacy global scrape settings Alloy keeps, and the files carried jobs read (host <-> container).
            "scrape_global": dict((k, v) for k, v in ((self.legacy.get("prometheus") or {}).get("global") or {}).items()
                                  if k in ("scrape_interval", "scrape_timeout", "external_labels")),
            "scrape_files": self.scrape_files,
            # Prometheus rule files Mimir's ruler evaluates (mounted read-only into its local rule storage).
            "mimir_rule_files": self.rule_files,
            "mimir_alertmanagers": self.alertmanagers,
            "alloy_needs_host_gateway": host_targets,
            "datasource_map": datasource_map,
            # Where the legacy dashboards are, so that re-runs can carry them again without a new analysis.
            "dashboard_providers": [dict((k, p.get(k)) for k in ("name", "host_path", "folder", "folders_from_files"))
                                    for p in grafana.get("dashboard_providers") or []],
            "loki_retention_period": retention,
            "exporters": self.legacy.get("exporters") or {},
            # Pipelines Alloy takes over from a legacy collector (secrets already masked by the analysis).
            "otel_collector": self.legacy.get("otel_collector"),
            "findings": self.findings,
            "summary": dict((s, sum(1 for f in self.findings if f["severity"] == s)) for s in SEVERITIES),
        }


def build_plan(legacy, **kwargs):
    plan = Planner(legacy, **kwargs).plan()
    # Every legacy artifact with its fate (carried, converted, replaced, dropped and the finding that says so).
    plan["inventory"] = inventory.inventory(legacy, plan)
    # The contract: a plan that differs from its declared shape is a bug of the planner, caught here.
    errors = plan_schema.plan_errors(plan)
    if errors:
        raise ValueError("the planner produced a plan that does not have the shape of format %d: %s"
                         % (PLAN_FORMAT, "; ".join(errors)))
    return plan
