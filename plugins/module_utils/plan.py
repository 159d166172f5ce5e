# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn legacy_stack_info's `legacy` (and go_telemetry_info's findings) into a migration plan.

Pure computation: no file or network access. The plan says what leaves, what
stays, what arrives, how each app is rewired, which ports and volumes are
affected, which scrape jobs are carried into Alloy, how datasources map to the
new uids, and every risk as a finding with a file and a reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lgtm.stack.plugins.module_utils import findings
from ansible_collections.lgtm.stack.plugins.module_utils import promtail as promtail_config
from ansible_collections.lgtm.stack.plugins.module_utils import spm
from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK

LEGACY_COMPONENTS = ("jaeger", "prometheus", "otel_collector", "promtail", "grafana_agent")
STACK_COMPONENTS = ("loki", "grafana", "tempo", "mimir", "alloy")
EXPORTER_COMPONENTS = ("mysqld_exporter", "redis_exporter")
NEW_UIDS = {"prometheus": "mimir", "mimir": "mimir", "loki": "loki", "jaeger": "tempo", "tempo": "tempo",
            "zipkin": "tempo"}
SEVERITIES = findings.SEVERITIES
# Version of the plan's shape. The JSON report records it; a re-run refuses a plan recorded in another format.
PLAN_FORMAT = 2
# Volume keys of the new stack: distinct from the keys legacy stacks use (grafana-data, loki-data...), so that a
# new component never starts on a legacy database by accident (compose `include:` shares one volume namespace).
STACK_VOLUMES = {"alloy": "lgtm-alloy-data", "tempo": "lgtm-tempo-data", "loki": "lgtm-loki-data",
                 "mimir": "lgtm-mimir-data", "grafana": "lgtm-grafana-data"}
GRAFANA_DATA_PATH = "/var/lib/grafana"

DEFAULT_SERVICE_NAMES = {"alloy": "alloy", "tempo": "tempo", "loki": "loki", "mimir": "mimir", "grafana": "grafana",
                         "mysqld_exporter": "mysqld-exporter", "redis_exporter": "redis-exporter"}
DEFAULT_PORTS = {"alloy_otlp_grpc": 4317, "alloy_otlp_http": 4318, "alloy_ui": 12345, "grafana": 3000,
                 "tempo": 3200, "loki": 3100, "mimir": 9009}
# Container ports of the new services, for scrape target rewriting.
EXPORTER_PORTS = {"mysqld_exporter": 9104, "redis_exporter": 9121}
JAEGER_PROTOCOL_BY_PORT = {6831: "thrift_compact", 6832: "thrift_binary", 14268: "thrift_http", 14250: "grpc"}
_TRACE_LABEL = re.compile(r"^(trace_?id|traceid|trace|span_?id)$", re.I)
_STREAM_SELECTOR = re.compile(r"\{([^}]*)\}")


class Planner(object):
    def __init__(self, legacy, go_findings=None, service_names=None, ports=None, bind_address="127.0.0.1",
                 service_namespace=None, environment="dev", network=None, remove_legacy_data=False,
                 occupied_ports=None, adopt_grafana_data=False):
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

    def finding(self, code, message, file=None, line=None, service=None, recommendation=None, severity=None):
        """Record a finding; its severity is the registry's (findings.py) unless given (Go findings)."""
        if code not in findings.REGISTRY:
            raise ValueError("finding code %s is not in the registry (plugins/module_utils/findings.py)" % code)
        severity = severity or findings.severity(code)
        self.findings.append({"severity": severity, "code": code, "file": file, "line": line, "service": service,
                              "message": message, "recommendation": recommendation})

    # ------------------------------------------------------------------ services
    def plan_services(self):
        remove, keep = [], []
        for name, svc in sorted(self.services.items()):
            component = svc["component"]
            if component in LEGACY_COMPONENTS:
                remove.append({"service": name, "component": component, "reason": "replaced by Alloy, Tempo and Mimir"
                               if component != "promtail" else "replaced by Alloy's Docker log collection"})
            elif component in STACK_COMPONENTS:
                remove.append({"service": name, "component": component,
                               "reason": "re-deployed by the stack with pinned version and correlation settings"})
            elif component in EXPORTER_COMPONENTS:
                remove.append({"service": name, "component": component,
                               "reason": "re-deployed by the exporters role (pinned, credentials in a 0600 file)"})
            else:
                keep.append(name)
        kept = set(keep)
        for component in sorted(DEFAULT_SERVICE_NAMES):
            wanted = self.names[component]
            if wanted in kept:
                svc = self.services[wanted]
                new_name = "lgtm-%s" % wanted
                self.finding("P017", "Service '%s' already exists and is not %s (%s); the new %s service is "
                             "named '%s' instead." % (wanted, component, svc.get("detected_by"), component, new_name),
                             svc.get("file"), svc.get("line"), wanted,
                             "Rename that service, or name the new one with lgtm_migrate_service_names: "
                             "{%s: <name>} (for example '%s')." % (component, new_name))
                self.names[component] = new_name
        add = [{"service": self.names[c], "component": c} for c in ("alloy", "tempo", "loki", "mimir", "grafana")]
        components = self.legacy.get("components") or {}
        for exporter in EXPORTER_COMPONENTS:
            if components.get(exporter):
                add.append({"service": self.names[exporter], "component": exporter})
        if components.get("mysql") and not components.get("mysqld_exporter"):
            self.finding("P020", "MySQL/MariaDB runs without an exporter.", None, None, components["mysql"][0],
                         "Enable lgtm_exporters_mysqld (credentials from variables) to get the MySQL dashboard.")
        if components.get("redis") and not components.get("redis_exporter"):
            self.finding("P020", "Redis runs without an exporter.", None, None, components["redis"][0],
                         "Enable lgtm_exporters_redis to get the Redis dashboard.")
        return remove, keep, add

    # ------------------------------------------------------------------ rewiring
    def _new_otlp_endpoint(self, entry, protocol_env):
        port = entry.get("port")
        grpc = port == 4317 or (port is None and protocol_env == "grpc")
        value = entry["value"]
        path = ""
        match = re.match(r"^(?:[a-z]+://)?[^/]+(/.*)?$", value)
        if match and match.group(1):
            path = match.group(1)
        scheme = "https" if value.startswith("https://") else "http"
        return "%s://%s:%d%s" % (scheme, self.names["alloy"], 4317 if grpc else 4318, path)

    def plan_rewire(self, removed):
        removed_names = set(r["service"] for r in removed)
        rewire, jaeger_protocols = [], set()
        for app in self.legacy.get("apps") or []:
            if app["where"] != "compose":
                continue
            svc = self.services[app["service"]]
            env = svc.get("environment") or {}
            set_env, remove_env, notes = {}, [], []
            protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            for entry in app["telemetry_env"]:
                key = entry["key"]
                target = entry.get("points_at_component")
                if key.startswith("OTEL_EXPORTER_OTLP") and key.endswith("ENDPOINT") and target in (
                        "jaeger", "otel_collector", "tempo", "alloy", "grafana_agent"):
                    set_env[key] = self._new_otlp_endpoint(entry, protocol)
                elif key == "JAEGER_AGENT_HOST" and target in ("jaeger", "otel_collector", "grafana_agent"):
                    set_env[key] = self.names["alloy"]
                    port = int(env.get("JAEGER_AGENT_PORT") or 6831)
                    jaeger_protocols.add(JAEGER_PROTOCOL_BY_PORT.get(port, "thrift_compact"))
                elif key in ("OTEL_EXPORTER_JAEGER_ENDPOINT", "JAEGER_ENDPOINT") and target in (
                        "jaeger", "otel_collector", "grafana_agent"):
                    set_env[key] = "http://%s:14268/api/traces" % self.names["alloy"]
                    jaeger_protocols.add("thrift_http")
                elif key in ("OTEL_EXPORTER_JAEGER_AGENT_HOST",) and target:
                    set_env[key] = self.names["alloy"]
                    jaeger_protocols.add("thrift_compact")
            if env.get("OTEL_TRACES_EXPORTER") == "jaeger":
                set_env["OTEL_TRACES_EXPORTER"] = "otlp"
                notes.append("OTEL_TRACES_EXPORTER=jaeger switched to otlp (the Jaeger exporter is gone from the "
                             "OpenTelemetry SDKs)")
            if app["jaeger_env"] and any(k.startswith("JAEGER_") or k.startswith("OTEL_EXPORTER_JAEGER")
                                         for k in set_env):
                self.finding("P021", "Service '%s' still sends traces with Jaeger protocols; Alloy's Jaeger "
                             "receiver accepts them, but those spans carry no log or metric correlation."
                             % app["service"], svc.get("file"), svc.get("line"), app["service"],
                             "Move the service to an OTLP exporter (see the Go findings and docs/go_instrumentation.md)"
                             ", then drop the JAEGER_* variables.")
            attrs = _parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES") or "")
            # A service.name the project already gives (variable or resource attribute) is its identity: kept.
            if "OTEL_SERVICE_NAME" not in env and not attrs.get("service.name"):
                set_env["OTEL_SERVICE_NAME"] = app["service"]
            merged = dict(attrs)
            namespace = attrs.get("service.namespace", self.namespace)
            environment = attrs.get("deployment.environment.name") or attrs.get("deployment.environment") \
                or self.environment
            for key, value, default in (("service.namespace", namespace, self.namespace),
                                        ("deployment.environment", environment, self.environment)):
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
            self.identities[app["service"]] = {
                "service_name": env.get("OTEL_SERVICE_NAME") or attrs.get("service.name") or set_env.get(
                    "OTEL_SERVICE_NAME") or app["service"],
                "service_namespace": namespace, "environment": environment}
            depends_remove = sorted(d for d in svc.get("depends_on") or [] if d in removed_names)
            rewire.append({"service": app["service"], "env_set": set_env, "env_remove": sorted(remove_env),
                           "networks_add": [self.network] if self.network not in (svc.get("networks") or []) else [],
                           "depends_on_remove": depends_remove, "notes": notes})
        # Kept services that merely depended on removed ones, or ship logs with the Loki Docker driver.
        by_service = dict((r["service"], r) for r in rewire)
        for name, svc in sorted(self.services.items()):
            if name in removed_names:
                continue
            deps = sorted(d for d in svc.get("depends_on") or [] if d in removed_names)
            loki_driver = svc.get("logging_driver") == "loki"
            if not deps and not loki_driver:
                continue
            entry = by_service.get(name)
            if entry is None:
                entry = {"service": name, "env_set": {}, "env_remove": [], "networks_add": [],
                         "depends_on_remove": deps, "notes": []}
                rewire.append(entry)
                by_service[name] = entry
            if loki_driver:
                entry["logging_remove"] = True
                self.finding("P025", "Service '%s' ships its logs with the Loki Docker logging driver to %s; "
                             "after the migration that URL no longer answers and `docker logs` shows nothing."
                             % (name, svc.get("logging_url") or "the old Loki"), svc.get("file"), svc.get("line"), name,
                             "Its logging section is removed: Alloy reads container logs from the Docker socket.")
        # Every kept service joins the shared network: the exporters reach the databases over it, Alloy scrapes
        # carried targets over it, and apps send OTLP over it.
        for name, svc in sorted(self.services.items()):
            if name in removed_names or svc.get("network_mode") or self.network in (svc.get("networks") or []):
                continue
            entry = by_service.get(name)
            if entry is None:
                entry = {"service": name, "env_set": {}, "env_remove": [], "networks_add": [],
                         "depends_on_remove": [], "notes": []}
                rewire.append(entry)
                by_service[name] = entry
            if self.network not in entry["networks_add"]:
                entry["networks_add"].append(self.network)
        for app in self.legacy.get("apps") or []:
            if app["where"] == "host":
                self.finding("P016", "'%s' runs on the host (scraped at %s): send its OTLP telemetry to "
                             "http://%s:%d (gRPC) or http://%s:%d (HTTP); Alloy keeps scraping it."
                             % (app["name"], app["scrape_jobs"][0]["target"], self.bind, self.ports["alloy_otlp_grpc"],
                                self.bind, self.ports["alloy_otlp_http"]),
                             (self.legacy.get("prometheus") or {}).get("file"),
                             app["scrape_jobs"][0].get("line"), None,
                             "export OTEL_EXPORTER_OTLP_ENDPOINT=http://%s:%d OTEL_SERVICE_NAME=%s"
                             % (self.bind, self.ports["alloy_otlp_grpc"], app["name"]))
        return rewire, sorted(jaeger_protocols)

    # ------------------------------------------------------------------ ports
    def plan_ports(self, removed):
        removed_names = set(r["service"] for r in removed)
        released, held = [], {}
        for name, svc in sorted(self.services.items()):
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
                        self.finding("P012", "Kept service '%s' publishes port %s on every interface."
                                     % (name, published), svc.get("file"), svc.get("line"), name,
                                     "Publish it on 127.0.0.1 (\"127.0.0.1:%s:%s\") unless other hosts need it."
                                     % (published, port.get("target")))
        claimed = [
            {"service": self.names[component], "port": str(self.ports[key]), "what": what,
             "variable": "lgtm_%s_host_port" % key}
            for key, component, what in (("alloy_otlp_grpc", "alloy", "OTLP gRPC"),
                                         ("alloy_otlp_http", "alloy", "OTLP HTTP"), ("alloy_ui", "alloy", "Alloy UI"),
                                         ("grafana", "grafana", "Grafana"), ("tempo", "tempo", "Tempo API"),
                                         ("loki", "loki", "Loki API"), ("mimir", "mimir", "Mimir API"))]
        for entry in claimed:
            entry["host_ip"] = self.bind
            entry["protocol"] = "tcp"
        conflicts = []
        for entry in claimed:
            for other in held.get((entry["port"], "tcp"), []):
                if other["host_ip"] in ("0.0.0.0", "::", self.bind):
                    conflicts.append({"port": entry["port"], "wanted_by": entry["service"], "held_by": other["service"],
                                      "variable": entry["variable"]})
            own = set(r["port"] for r in released) | set(p for p, _proto in held)
            for occupied in self.occupied:
                # This project's own containers (legacy ones about to go, kept ones: P009 above) are not strangers.
                if str(occupied.get("port")) == entry["port"] and entry["port"] not in own:
                    conflicts.append({"port": entry["port"], "wanted_by": entry["service"],
                                      "held_by": occupied.get("holder") or "another process",
                                      "variable": entry["variable"]})
        for conflict in conflicts:
            svc = self.services.get(conflict["held_by"]) or {}
            self.finding("P009", "Port %s is needed by %s but held by %s." % (
                conflict["port"], conflict["wanted_by"], conflict["held_by"]), svc.get("file"), svc.get("line"),
                conflict["held_by"] if svc else None,
                "Free the port, or publish %s elsewhere with %s." % (conflict["wanted_by"], conflict["variable"]))
        return {"released": released, "claimed": claimed, "conflicts": conflicts}

    # ------------------------------------------------------------------ volumes and data
    def plan_volumes(self, removed, adopted=None, stack_volumes=None):
        removed_names = set(r["service"] for r in removed)
        ours = set(v["volume"] for v in (stack_volumes or {}).values())
        volumes = []
        for name, info in sorted((self.legacy.get("named_volumes") or {}).items()):
            if name == adopted or name in ours:
                continue  # the new Grafana runs on it, or this stack's own volume from an earlier run
            users = info.get("used_by") or []
            if users and all(u in removed_names for u in users):
                volumes.append({"volume": name, "name": info.get("name") or name, "used_by": users, "orphaned": True,
                                "external": bool(info.get("external")),
                                "action": "delete" if self.remove_legacy_data and not info.get("external")
                                else "keep"})
        binds = []
        for removal in removed:
            svc = self.services[removal["service"]]
            for mount in svc.get("mounted_files") or []:
                if mount.get("source", "").startswith("/var/run/docker.sock"):
                    continue
                binds.append({"service": removal["service"], "source": mount["source"], "target": mount["target"],
                              "kind": mount["kind"], "action": "keep"})
        if volumes and not self.remove_legacy_data:
            self.finding("P022", "Legacy data is kept: volumes %s are no longer used by any service."
                         % ", ".join(v["volume"] for v in volumes), None, None, None,
                         "Delete them with lgtm_migrate_remove_legacy_data: true once nobody needs the old data.")
        return volumes, binds

    def plan_stack_volumes(self, removed):
        """The volume each new component stores its data in: never a legacy one, unless adoption was asked.

        Returns ({component: {"volume", "name", "state"}}, adopted legacy volume key or None). `state` is `new`
        (created empty), `reused` (this stack's own volume from an earlier run) or `adopted` (a legacy Grafana
        database, lgtm_migrate_adopt_grafana_data)."""
        project = self.legacy.get("project_name") or "project"
        named = self.legacy.get("named_volumes") or {}
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
        adopted = None
        grafana = next((r for r in removed if r["component"] == "grafana"), None)
        legacy_data = None
        if grafana:
            for vol in self.services[grafana["service"]].get("volumes") or []:
                if vol.get("target") == GRAFANA_DATA_PATH and vol.get("source"):
                    legacy_data = vol
        if grafana and self.adopt_grafana_data:
            if legacy_data and legacy_data.get("type") == "volume" and legacy_data["source"] in named:
                adopted = legacy_data["source"]
                out["grafana"] = {"volume": adopted, "name": named[adopted].get("name") or "%s_%s" % (project, adopted),
                                  "state": "adopted"}
            else:
                svc = self.services[grafana["service"]]
                self.finding("P026", "lgtm_migrate_adopt_grafana_data is set, but the legacy Grafana '%s' keeps "
                             "its database %s, not in a named volume of the project." % (
                                 grafana["service"], "on the host path %s" % legacy_data["source"] if legacy_data
                                 else "inside its container (no volume at %s)" % GRAFANA_DATA_PATH),
                             svc.get("file"), svc.get("line"), grafana["service"],
                             "Move the database into a named volume first, or migrate without adoption (the new "
                             "Grafana starts empty; export UI-made dashboards from the old one).")
        elif grafana and legacy_data:
            svc = self.services[grafana["service"]]
            self.finding("P027", "The new Grafana starts with an empty database in volume %s; the legacy "
                         "Grafana's database (%s %s) keeps the dashboards, users and datasources made in its UI, and "
                         "the new Grafana does not read it." % (
                             out["grafana"]["name"], legacy_data.get("type"), legacy_data["source"]),
                         svc.get("file"), svc.get("line"), grafana["service"],
                         "Export UI-made dashboards before the migration, or set lgtm_migrate_adopt_grafana_data: true "
                         "to run the new Grafana on the old database (its legacy datasources are then deleted through "
                         "provisioning and the admin password is reset to the generated one).")
        return out, adopted

    # ------------------------------------------------------------------ scrape jobs
    def plan_scrape_jobs(self, removed):
        prometheus = self.legacy.get("prometheus") or {}
        removed_by_name = dict((r["service"], r["component"]) for r in removed)
        target_map = {}
        for exporter in (self.legacy.get("exporters") or {}).values():
            for entry in exporter:
                component = self.services[entry["service"]]["component"]
                for port in [EXPORTER_PORTS[component]]:
                    target_map["%s:%d" % (entry["service"], port)] = "%s:%d" % (self.names[component], port)
        jobs = []
        self_targets = ("localhost:9090", "127.0.0.1:9090")
        # Every name a removed (non-exporter) service answers to: service, container_name, network aliases.
        removed_names = {}
        for removal in removed:
            if removal["component"] in EXPORTER_COMPONENTS:
                continue
            svc = self.services.get(removal["service"]) or {}
            for name in [removal["service"], svc.get("container_name")] + list(svc.get("network_aliases") or []):
                if name:
                    removed_names[name] = removal["component"]
        for job in prometheus.get("scrape_configs") or []:
            fate = spm.scrape_job_fate(job, removed_names, {"tempo": {}})
            if fate:
                jobs.append({"job_name": job["job_name"], "action": "drop", "line": job.get("line"),
                             "reason": fate["reason"]})
                self.finding("P002", "Scrape job '%s' scraped %s, which the migration removes; its series "
                             "(job=\"%s\") stop." % (job["job_name"], ", ".join(sorted(set(
                                 t.rsplit(":", 1)[0] for s in job.get("static_configs") or []
                                 for t in s.get("targets") or []))), job["job_name"]),
                             prometheus.get("file"), job.get("line"), None,
                             fate.get("replacement") or "Alloy, Tempo, Loki and Mimir report their own health on "
                                                        "the stack dashboard.")
                continue
            statics = [str(t) for s in job.get("static_configs") or [] for t in s.get("targets") or []]
            hosts = set(t.split(":")[0] for t in statics)
            dropped_by = [removed_by_name[h] for h in hosts if h in removed_by_name
                          and removed_by_name[h] not in EXPORTER_COMPONENTS]
            if statics and (set(statics) <= set(self_targets) or (dropped_by and len(dropped_by) == len(hosts))):
                component = "prometheus" if set(statics) <= set(self_targets) else dropped_by[0]
                jobs.append({"job_name": job["job_name"], "action": "drop", "line": job.get("line"),
                             "reason": "it scraped %s, which the migration removes" % component})
                self.finding("P002", "Scrape job '%s' scraped the legacy %s; its series (job=\"%s\") stop."
                             % (job["job_name"], component, job["job_name"]), prometheus.get("file"), job.get("line"),
                             None, "Alloy, Tempo, Loki and Mimir report their own health on the stack dashboard.")
                continue
            carried = dict((k, v) for k, v in job.items() if k not in ("line", "file_sd_files"))
            for static in carried.get("static_configs") or []:
                static["targets"] = [target_map.get(str(t), str(t)) for t in static.get("targets") or []]
            jobs.append({"job_name": job["job_name"], "action": "carry", "line": job.get("line"), "config": carried,
                         "reason": "job name kept, so dashboards keep their job label"})
        host_targets = any(t.split(":")[0] in ("host.docker.internal", "172.17.0.1")
                           for j in jobs if j["action"] == "carry"
                           for s in j["config"].get("static_configs") or [] for t in s.get("targets") or [])
        self._scrape_secrets_and_files(prometheus, [j for j in jobs if j["action"] == "carry"])
        for rule in prometheus.get("rule_files") or []:
            self.finding("P015", "Prometheus rule file %s (%d rules%s) is not evaluated by the new stack."
                         % (rule["container_path"], rule.get("rules", 0),
                            ": alerts " + ", ".join(rule["alerts"]) if rule.get("alerts") else ""),
                         rule.get("host_path") or prometheus.get("file"), None, None,
                         "Load the rules into Mimir's ruler or recreate the alerts in Grafana Alerting.")
        return jobs, target_map, host_targets

    def _scrape_secrets_and_files(self, prometheus, carried):
        """Files the carried jobs read (paths inside the old Prometheus container) become read-only mounts of
        Alloy; a password written in prometheus.yml itself is a finding (Alloy reads it from an env file)."""
        svc = self.services.get(prometheus.get("service")) or {}
        binds = [v for v in svc.get("volumes") or [] if v.get("type") == "bind" and v.get("source")]
        files = []
        for job in carried:
            for key, path in _file_references(job["config"]):
                bind = _containing_bind(binds, path)
                if bind is None:
                    self.finding("P031", "Scrape job '%s' reads %s (%s) inside the old Prometheus container, from no "
                                 "mount of the project: Alloy cannot read it." % (job["job_name"], path, key),
                                 prometheus.get("file"), job.get("line"), prometheus.get("service"),
                                 "Mount the file into the Prometheus service first, or set lgtm_alloy_scrape_files.")
                    continue
                entry = {"host_path": bind["source"], "container_path": bind["target"]}
                if entry not in files:
                    files.append(entry)
            for path in _masked_paths(job["config"]):
                self.finding("P030", "Scrape job '%s' has a secret written in prometheus.yml (%s); Alloy reads it "
                             "from the environment, and the migration does not copy it." % (job["job_name"], path),
                             prometheus.get("file"), job.get("line"), None,
                             "Move it to a password_file / credentials_file next to prometheus.yml (mounted into Alloy "
                             "read-only), or give it in lgtm_alloy_scrape_secrets from Ansible Vault.")
        self.scrape_files = files

    def grafana_inventory(self, datasource_map):
        """Every legacy datasource and dashboard with its fate (the report lists them)."""
        grafana = self.legacy.get("grafana") or {}
        known = datasource_map["by_uid_or_name"]
        root = self.legacy.get("project_dir") or ""

        def rel(path):
            return path[len(root):].lstrip("/") if root and (path or "").startswith(root) else path

        datasources = [{"name": d["name"], "type": d.get("type"), "file": rel(d.get("file")),
                        "fate": "replaced" if known.get(d["name"]) else "dropped",
                        "new": known.get(d["name"])} for d in grafana.get("datasources") or []]
        dashboards = [{"title": d.get("title"), "file": rel(d.get("file")), "fate": "carried",
                       "folder": d.get("folder")} for d in grafana.get("dashboards") or []]
        return {"datasources": datasources, "dashboards": dashboards}

    def log_identities(self):
        """compose service (and container_name) -> the service_name its container logs carry."""
        out = {}
        for name, svc in sorted(self.services.items()):
            if svc.get("component") in LEGACY_COMPONENTS + STACK_COMPONENTS + EXPORTER_COMPONENTS:
                continue
            service_name = (self.identities.get(name) or {}).get("service_name") or name
            out[name] = service_name
            if svc.get("container_name"):
                out[svc["container_name"]] = service_name
        return out

    # ------------------------------------------------------------------ datasources and dashboards
    def plan_datasources(self):
        grafana = self.legacy.get("grafana") or {}
        mapping = {}
        jaeger_uids = set(d.get("uid") for d in grafana.get("datasources") or [] if d.get("type") == "jaeger")
        for ds in grafana.get("datasources") or []:
            new = NEW_UIDS.get(ds.get("type"))
            if not new:
                self.finding("P023", "Datasource '%s' of type %s has no counterpart in the new stack and is "
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
                self.finding("P003", "Derived field '%s' of datasource '%s' matches the log body with %r%s; "
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
                    self.finding("P024", "Dashboard input %s (%s) has no datasource in the new stack."
                                 % (item["name"], item.get("plugin")), dash["file"], None)
        default = next((d for d in grafana.get("datasources") or [] if d.get("is_default")), None)
        return {"by_uid_or_name": mapping, "inputs": inputs,
                "default": NEW_UIDS.get(default["type"]) if default else "mimir"}

    def plan_dashboards(self, datasource_map, dropped_jobs, collector_prefixes):
        grafana = self.legacy.get("grafana") or {}
        known = datasource_map["by_uid_or_name"]
        for dash in grafana.get("dashboards") or []:
            jaeger_panels = sorted(set(q["panel_title"] or str(q["panel_id"]) for q in dash.get("queries") or []
                                       if q.get("datasource_type") == "jaeger"
                                       or known.get(q.get("datasource") or "") == "tempo"
                                       and q.get("datasource_type") in (None, "jaeger")))
            if jaeger_panels:
                self.finding("P001", "Dashboard '%s' has %d panel(s) on the Jaeger datasource (%s)."
                             % (dash.get("title"), len(jaeger_panels), ", ".join(jaeger_panels)), dash["file"], None,
                             None, "Rewritten to Tempo with TraceQL where a faithful query exists; the rest are listed "
                                   "in the dashboards step's report.")
            for ref in dash.get("datasource_refs") or []:
                if ref["kind"] in ("uid", "name") and ref["value"] not in known and ref["value"] not in (
                        "grafana", "-- Grafana --", "-- Dashboard --"):
                    self.finding("P024", "Dashboard '%s' refers to datasource %s %r, which no provisioned "
                                 "datasource has." % (dash.get("title"), ref["kind"], ref["value"]), dash["file"], None,
                                 None, "Point the panel at mimir, loki or tempo by hand.")
            spm_panels = sorted(set(q.get("panel_title") or str(q.get("panel_id")) for q in dash.get("queries") or []
                                    if q.get("expr") and spm.uses_spm(q["expr"])))
            if spm_panels:
                self.finding("P033", "Dashboard '%s' queries Jaeger's span metrics (SPM) in %d panel(s): %s. Tempo's "
                             "span metrics have other names, labels and units (seconds)."
                             % (dash.get("title"), len(spm_panels), ", ".join(spm_panels)), dash["file"], None, None,
                             "Rewritten to traces_spanmetrics_* (label service, ms kept by a factor of 1000) where "
                             "exact; the dashboards step lists each query and flags the rest on the panel.")
            for query in dash.get("queries") or []:
                expr = query.get("expr") or ""
                for job in dropped_jobs:
                    if re.search(r'job\s*=~?\s*"%s"' % re.escape(job), expr):
                        self.finding("P002", "Panel '%s' of dashboard '%s' queries job=\"%s\", whose series "
                                     "stop after the migration." % (query.get("panel_title"), dash.get("title"), job),
                                     dash["file"], None, None, "Query the stack's own metrics or remove the panel.")
                for prefix in collector_prefixes:
                    if re.search(r"\b%s_" % re.escape(prefix), expr):
                        self.finding("P019", "Panel '%s' of dashboard '%s' uses metrics prefixed '%s_' by "
                                     "the collector's prometheus exporter; OTLP metrics reach Mimir without that "
                                     "prefix and with job=\"<namespace>/<service>\"."
                                     % (query.get("panel_title"), dash.get("title"), prefix), dash["file"], None,
                                     None, "Rewrite the query for the new metric names and labels.")
                        break
                for selector in _STREAM_SELECTOR.findall(expr if query.get("datasource_type") in (None, "loki") else ""):
                    for label in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", selector):
                        if _TRACE_LABEL.match(label):
                            self.finding("P005", "Panel '%s' of dashboard '%s' selects logs by the label '%s'; "
                                         "trace ids are never labels in the new Loki." % (
                                             query.get("panel_title"), dash.get("title"), label),
                                         dash["file"], None, None,
                                         "Use a structured-metadata filter: {service_name=\"...\"} | trace_id=\"...\".")

    # ------------------------------------------------------------------ legacy configs
    def plan_config_findings(self):
        loki = self.legacy.get("loki")
        retention = None
        if loki:
            retention = loki.get("retention_period")
            if retention and (not loki.get("retention_enabled") or not loki.get("delete_request_store")):
                self.finding("P006", "Loki retention_period %s is configured but not enforced (%s)."
                             % (retention, "compactor.retention_enabled is off" if not loki.get("retention_enabled")
                                else "compactor.delete_request_store is missing"),
                             loki.get("file"), loki.get("retention_line"), loki.get("service"),
                             "The new Loki enforces it: compactor retention enabled with a delete request store.")
            old = [s for s in loki.get("schemas") or [] if s.get("schema") != "v13" or s.get("store") != "tsdb"]
            if old:
                self.finding("P010", "Loki schema %s/%s cannot hold structured metadata or native OTLP logs; "
                             "the new Loki starts with tsdb/v13 on fresh storage and does not read the old logs."
                             % (old[0].get("store"), old[0].get("schema")), loki.get("file"), old[0].get("line"),
                             loki.get("service"), "The old volume is kept; query it with the old Loki if you need it.")
        promtail = self.legacy.get("promtail")
        if promtail:
            for label in promtail.get("labels_from_logs") or []:
                if _TRACE_LABEL.match(label["label"]):
                    self.finding("P005", "Promtail job '%s' turns '%s' into a Loki label: one stream per "
                                 "trace, the cardinality problem Loki warns about." % (label["job"], label["label"]),
                                 promtail.get("file"), label.get("line"), promtail.get("service"),
                                 "Alloy lifts trace ids into structured metadata (trace_id), never into labels.")
        self.promtail_labels = []
        if promtail:
            self.promtail_labels = promtail_config.label_fates(
                promtail_model(self.legacy), self.log_identities(), self.namespace)
            for fate in self.promtail_labels:
                # A constant that only named the Promtail job or the project: queries keep their meaning without it
                # (the report lists it). Anything else that is dropped changes what a query finds.
                if fate["fate"] == "dropped" and fate.get("kind") not in ("job", "project"):
                    self.finding("P032", "Promtail job '%s' labels its logs %s=...; the new pipeline writes no such "
                                 "label: %s." % (fate["promtail_job"], fate["label"], fate["reason"]),
                                 promtail.get("file"), fate.get("line"), promtail.get("service"),
                                 "Queries on it are rewritten where a faithful query exists; the migrated dashboards "
                                 "report the rest. Collect those logs with your own Alloy config if you need them.")
        collector = self.legacy.get("otel_collector")
        prefixes = []
        if collector:
            for name, cfg in (collector.get("processors") or {}).items():
                for action in (cfg or {}).get("actions") or []:
                    if str(action.get("key", "")).startswith("loki."):
                        self.finding("P004", "Processor %s sets the %s hint, which Loki's native OTLP endpoint "
                                     "ignores." % (name, action["key"]), collector.get("file"), None,
                                     collector.get("service"), "service.name, service.namespace and "
                                     "deployment.environment become labels; other attributes are structured metadata.")
            for name, cfg in (collector.get("exporters") or {}).items():
                if name.split("/")[0] == "prometheus":
                    if (cfg or {}).get("namespace"):
                        prefixes.append(cfg["namespace"])
                    if (cfg or {}).get("const_labels"):
                        self.finding("P019", "The collector's prometheus exporter adds const labels %s; "
                                     "they disappear." % ", ".join(sorted(cfg["const_labels"])), collector.get("file"),
                                     None, collector.get("service"), "Drop them from dashboard queries.")
        for name, svc in sorted(self.services.items()):
            if not svc.get("image_pinned") and not svc.get("build"):
                self.finding("P007", "Service '%s' uses an unpinned image (%s)." % (name, svc.get("image")),
                             svc.get("file"), svc.get("line"), name,
                             "Pin a version tag (the stack's own images are pinned).")
            if svc.get("secret_env"):
                self.finding("P008", "Service '%s' has plain-text secrets in its compose environment: %s."
                             % (name, ", ".join(svc["secret_env"])), svc.get("file"), svc.get("line"), name,
                             "Move them to Docker secrets or *_FILE variables (the new Grafana reads its admin "
                             "password from a 0600 file).")
        for component, entries in sorted((self.legacy.get("exporters") or {}).items()):
            for entry in entries:
                svc = self.services.get(entry["service"]) or {}
                cnf = entry.get("my_cnf") or {}
                if cnf.get("missing"):
                    self.finding("P028", "The credentials file %s of '%s' (mounted at %s) is not on this machine "
                                 "(kept out of git?): the preview goes on, the real migration needs the password."
                                 % (cnf.get("host_path"), entry["service"], cnf.get("container_path")),
                                 cnf.get("host_path"), None, entry["service"],
                                 "Put the file back where the compose file mounts it (the migration reads the password "
                                 "from it), or set lgtm_exporters_mysqld_password from Ansible Vault.")
                ref = entry.get("password_ref")
                if ref:
                    self.finding("P029", "The password of '%s' stays where the project keeps it: the new exporter "
                                 "reads ${%s} (%s) at start, nothing is copied." % (
                                     entry["service"], ref["variable"],
                                     ref["kept_in"] or "from the environment compose runs in"),
                                 ref.get("kept_in") or svc.get("file"), None, entry["service"],
                                 "Keep %s defined wherever you run docker compose (a fresh clone needs it too)."
                                 % ref["variable"])
        grafana = self.legacy.get("grafana")
        for setting in (grafana or {}).get("settings") or []:
            svc = self.services.get(grafana["service"]) or {}
            if setting.get("needs_value"):
                self.finding("P034", "Grafana setting %s is a secret written in clear in the compose file; it is not "
                             "copied to the new Grafana." % setting["key"], svc.get("file"), svc.get("line"),
                             grafana["service"], "Keep it in the project's .env as a variable and set "
                             "lgtm_grafana_settings_env: {%s: '${VAR}'}." % setting["key"])
            elif not setting.get("carried") and not setting["key"].startswith("GF_AUTH_ANONYMOUS_"):
                self.finding("P035", "Grafana setting %s is not carried: %s." % (setting["key"], setting["reason"]),
                             svc.get("file"), svc.get("line"), grafana["service"],
                             "Set it through the grafana role's variables if you still need it.")
        if grafana and grafana.get("anonymous_enabled"):
            svc = self.services.get(grafana["service"]) or {}
            self.finding("P011", "Grafana allows anonymous access.", svc.get("file"), svc.get("line"),
                         grafana["service"], "The new Grafana turns anonymous access and sign-up off.")
        for warning in self.legacy.get("warnings") or []:
            self.finding("P018", warning)
        for go in self.go_findings:
            self.finding(go["code"], go["message"], go.get("file"), go.get("line"), None, go.get("recommendation"),
                         severity=go.get("severity"))
        return retention, prefixes

    # ------------------------------------------------------------------ all together
    def plan(self):
        remove, keep, add = self.plan_services()
        rewire, jaeger_protocols = self.plan_rewire(remove)
        ports = self.plan_ports(remove)
        stack_volumes, adopted = self.plan_stack_volumes(remove)
        volumes, binds = self.plan_volumes(remove, adopted, stack_volumes)
        retention, prefixes = self.plan_config_findings()
        scrape_jobs, target_map, host_targets = self.plan_scrape_jobs(remove)
        datasource_map = self.plan_datasources()
        dropped = [j["job_name"] for j in scrape_jobs if j["action"] == "drop"]
        self.plan_dashboards(datasource_map, dropped, prefixes)
        self.findings.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["code"], f["file"] or "", f["line"] or 0))
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
                for d in (self.legacy.get("grafana") or {}).get("datasources") or []] if adopted else [],
            "service_identities": self.identities,
            # Legacy Grafana server settings carried to the new Grafana (secrets only as ${VAR} references).
            "grafana_inventory": self.grafana_inventory(datasource_map),
            "grafana_settings_env": dict((self.legacy.get("grafana") or {}).get("settings_env") or {}),
            "grafana_plugins": list((self.legacy.get("grafana") or {}).get("plugins") or []),
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
            "alloy_needs_host_gateway": host_targets,
            "datasource_map": datasource_map,
            # Where the legacy dashboards are, so that re-runs can carry them again without a new analysis.
            "dashboard_providers": [dict((k, p.get(k)) for k in ("name", "host_path", "folder", "folders_from_files"))
                                    for p in (self.legacy.get("grafana") or {}).get("dashboard_providers") or []],
            "loki_retention_period": retention,
            "exporters": self.legacy.get("exporters") or {},
            # Pipelines Alloy takes over from a legacy collector (secrets already masked by the analysis).
            "otel_collector": self.legacy.get("otel_collector"),
            "findings": self.findings,
            "summary": dict((s, sum(1 for f in self.findings if f["severity"] == s)) for s in SEVERITIES),
        }


def promtail_model(legacy):
    return dict(((legacy.get("promtail") or {}).get("label_model")) or {})


_FILE_KEYS = ("password_file", "credentials_file", "bearer_token_file", "ca_file", "cert_file", "key_file",
              "client_secret_file")


def _file_references(config, where=""):
    """(key, path) of every file a scrape config reads: auth and TLS files, file_sd files (their directory)."""
    out = []
    if isinstance(config, dict):
        for key, value in config.items():
            if key in _FILE_KEYS and isinstance(value, str) and value:
                out.append((where + key, value))
            elif key == "file_sd_configs":
                for sd in value or []:
                    for pattern in (sd or {}).get("files") or []:
                        out.append((where + "file_sd_configs.files", str(pattern).rsplit("/", 1)[0] or "/"))
            else:
                out += _file_references(value, where + key + ".")
    elif isinstance(config, list):
        for item in config:
            out += _file_references(item, where)
    return out


def _masked_paths(config, where=""):
    out = []
    if isinstance(config, dict):
        for key, value in config.items():
            if value == MASK:
                out.append(where + key)
            else:
                out += _masked_paths(value, where + key + ".")
    elif isinstance(config, list):
        for item in config:
            out += _masked_paths(item, where)
    return out


def _containing_bind(binds, path):
    """The bind mount (deepest first) whose target holds a container path."""
    for bind in sorted(binds, key=lambda b: len(b.get("target") or ""), reverse=True):
        target = (bind.get("target") or "").rstrip("/")
        if path == target or path.startswith(target + "/"):
            return bind
    return None


def _parse_resource_attributes(text):
    out = {}
    for part in text.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def _format_resource_attributes(attrs):
    return ",".join("%s=%s" % (k, v) for k, v in attrs.items())


def build_plan(legacy, **kwargs):
    return Planner(legacy, **kwargs).plan()
