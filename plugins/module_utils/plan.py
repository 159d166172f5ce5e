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

LEGACY_COMPONENTS = ("jaeger", "prometheus", "otel_collector", "promtail", "grafana_agent")
STACK_COMPONENTS = ("loki", "grafana", "tempo", "mimir", "alloy")
EXPORTER_COMPONENTS = ("mysqld_exporter", "redis_exporter")
NEW_UIDS = {"prometheus": "mimir", "mimir": "mimir", "loki": "loki", "jaeger": "tempo", "tempo": "tempo",
            "zipkin": "tempo"}
SEVERITIES = ("high", "medium", "low", "info")

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
                 service_namespace=None, environment="dev", network="lgtm", remove_legacy_data=False,
                 occupied_ports=None):
        self.legacy = legacy
        self.go_findings = go_findings or []
        self.names = dict(DEFAULT_SERVICE_NAMES, **(service_names or {}))
        self.ports = dict(DEFAULT_PORTS, **(ports or {}))
        self.bind = bind_address
        self.namespace = service_namespace or legacy.get("project_name") or "default"
        self.environment = environment
        self.network = network
        self.remove_legacy_data = remove_legacy_data
        self.occupied = occupied_ports or []
        self.findings = []
        self.services = legacy.get("services") or {}

    def finding(self, severity, code, message, file=None, line=None, service=None, recommendation=None):
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
                self.finding("high", "P017", "Service '%s' already exists and is not %s (%s); the new %s service is "
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
            self.finding("info", "P020", "MySQL/MariaDB runs without an exporter.", None, None, components["mysql"][0],
                         "Enable lgtm_exporters_mysqld (credentials from variables) to get the MySQL dashboard.")
        if components.get("redis") and not components.get("redis_exporter"):
            self.finding("info", "P020", "Redis runs without an exporter.", None, None, components["redis"][0],
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
                self.finding("medium", "P021", "Service '%s' still sends traces with Jaeger protocols; Alloy's Jaeger "
                             "receiver accepts them, but those spans carry no log or metric correlation."
                             % app["service"], svc.get("file"), svc.get("line"), app["service"],
                             "Move the service to an OTLP exporter (see the Go findings and docs/go_instrumentation.md)"
                             ", then drop the JAEGER_* variables.")
            if "OTEL_SERVICE_NAME" not in env:
                set_env["OTEL_SERVICE_NAME"] = app["service"]
            attrs = _parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES") or "")
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
                self.finding("medium", "P025", "Service '%s' ships its logs with the Loki Docker logging driver to %s; "
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
                self.finding("info", "P016", "'%s' runs on the host (scraped at %s): send its OTLP telemetry to "
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
                        self.finding("low", "P012", "Kept service '%s' publishes port %s on every interface."
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
            self.finding("high", "P009", "Port %s is needed by %s but held by %s." % (
                conflict["port"], conflict["wanted_by"], conflict["held_by"]), svc.get("file"), svc.get("line"),
                conflict["held_by"] if svc else None,
                "Free the port, or publish %s elsewhere with %s." % (conflict["wanted_by"], conflict["variable"]))
        return {"released": released, "claimed": claimed, "conflicts": conflicts}

    # ------------------------------------------------------------------ volumes and data
    def plan_volumes(self, removed):
        removed_names = set(r["service"] for r in removed)
        volumes = []
        for name, info in sorted((self.legacy.get("named_volumes") or {}).items()):
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
            self.finding("info", "P022", "Legacy data is kept: volumes %s are no longer used by any service."
                         % ", ".join(v["volume"] for v in volumes), None, None, None,
                         "Delete them with lgtm_migrate_remove_legacy_data: true once nobody needs the old data.")
        return volumes, binds

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
        for job in prometheus.get("scrape_configs") or []:
            statics = [str(t) for s in job.get("static_configs") or [] for t in s.get("targets") or []]
            hosts = set(t.split(":")[0] for t in statics)
            dropped_by = [removed_by_name[h] for h in hosts if h in removed_by_name
                          and removed_by_name[h] not in EXPORTER_COMPONENTS]
            if statics and (set(statics) <= set(self_targets) or (dropped_by and len(dropped_by) == len(hosts))):
                component = "prometheus" if set(statics) <= set(self_targets) else dropped_by[0]
                jobs.append({"job_name": job["job_name"], "action": "drop", "line": job.get("line"),
                             "reason": "it scraped %s, which the migration removes" % component})
                self.finding("medium", "P002", "Scrape job '%s' scraped the legacy %s; its series (job=\"%s\") stop."
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
        for rule in prometheus.get("rule_files") or []:
            self.finding("medium", "P015", "Prometheus rule file %s (%d rules%s) is not evaluated by the new stack."
                         % (rule["container_path"], rule.get("rules", 0),
                            ": alerts " + ", ".join(rule["alerts"]) if rule.get("alerts") else ""),
                         rule.get("host_path") or prometheus.get("file"), None, None,
                         "Load the rules into Mimir's ruler or recreate the alerts in Grafana Alerting.")
        return jobs, target_map, host_targets

    # ------------------------------------------------------------------ datasources and dashboards
    def plan_datasources(self):
        grafana = self.legacy.get("grafana") or {}
        mapping = {}
        jaeger_uids = set(d.get("uid") for d in grafana.get("datasources") or [] if d.get("type") == "jaeger")
        for ds in grafana.get("datasources") or []:
            new = NEW_UIDS.get(ds.get("type"))
            if not new:
                self.finding("low", "P023", "Datasource '%s' of type %s has no counterpart in the new stack and is "
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
                self.finding("medium", "P003", "Derived field '%s' of datasource '%s' matches the log body with %r%s; "
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
                    self.finding("medium", "P024", "Dashboard input %s (%s) has no datasource in the new stack."
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
                self.finding("medium", "P001", "Dashboard '%s' has %d panel(s) on the Jaeger datasource (%s)."
                             % (dash.get("title"), len(jaeger_panels), ", ".join(jaeger_panels)), dash["file"], None,
                             None, "Rewritten to Tempo with TraceQL where a faithful query exists; the rest are listed "
                                   "in the dashboards step's report.")
            for ref in dash.get("datasource_refs") or []:
                if ref["kind"] in ("uid", "name") and ref["value"] not in known and ref["value"] not in (
                        "grafana", "-- Grafana --", "-- Dashboard --"):
                    self.finding("medium", "P024", "Dashboard '%s' refers to datasource %s %r, which no provisioned "
                                 "datasource has." % (dash.get("title"), ref["kind"], ref["value"]), dash["file"], None,
                                 None, "Point the panel at mimir, loki or tempo by hand.")
            for query in dash.get("queries") or []:
                expr = query.get("expr") or ""
                for job in dropped_jobs:
                    if re.search(r'job\s*=~?\s*"%s"' % re.escape(job), expr):
                        self.finding("medium", "P002", "Panel '%s' of dashboard '%s' queries job=\"%s\", whose series "
                                     "stop after the migration." % (query.get("panel_title"), dash.get("title"), job),
                                     dash["file"], None, None, "Query the stack's own metrics or remove the panel.")
                for prefix in collector_prefixes:
                    if re.search(r"\b%s_" % re.escape(prefix), expr):
                        self.finding("medium", "P019", "Panel '%s' of dashboard '%s' uses metrics prefixed '%s_' by "
                                     "the collector's prometheus exporter; OTLP metrics reach Mimir without that "
                                     "prefix and with job=\"<namespace>/<service>\"."
                                     % (query.get("panel_title"), dash.get("title"), prefix), dash["file"], None,
                                     None, "Rewrite the query for the new metric names and labels.")
                        break
                for selector in _STREAM_SELECTOR.findall(expr if query.get("datasource_type") in (None, "loki") else ""):
                    for label in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=", selector):
                        if _TRACE_LABEL.match(label):
                            self.finding("high", "P005", "Panel '%s' of dashboard '%s' selects logs by the label '%s'; "
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
                self.finding("medium", "P006", "Loki retention_period %s is configured but not enforced (%s)."
                             % (retention, "compactor.retention_enabled is off" if not loki.get("retention_enabled")
                                else "compactor.delete_request_store is missing"),
                             loki.get("file"), loki.get("retention_line"), loki.get("service"),
                             "The new Loki enforces it: compactor retention enabled with a delete request store.")
            old = [s for s in loki.get("schemas") or [] if s.get("schema") != "v13" or s.get("store") != "tsdb"]
            if old:
                self.finding("medium", "P010", "Loki schema %s/%s cannot hold structured metadata or native OTLP logs; "
                             "the new Loki starts with tsdb/v13 on fresh storage and does not read the old logs."
                             % (old[0].get("store"), old[0].get("schema")), loki.get("file"), old[0].get("line"),
                             loki.get("service"), "The old volume is kept; query it with the old Loki if you need it.")
        promtail = self.legacy.get("promtail")
        if promtail:
            for label in promtail.get("labels_from_logs") or []:
                if _TRACE_LABEL.match(label["label"]):
                    self.finding("high", "P005", "Promtail job '%s' turns '%s' into a Loki label: one stream per "
                                 "trace, the cardinality problem Loki warns about." % (label["job"], label["label"]),
                                 promtail.get("file"), label.get("line"), promtail.get("service"),
                                 "Alloy lifts trace ids into structured metadata (trace_id), never into labels.")
        collector = self.legacy.get("otel_collector")
        prefixes = []
        if collector:
            for name, cfg in (collector.get("processors") or {}).items():
                for action in (cfg or {}).get("actions") or []:
                    if str(action.get("key", "")).startswith("loki."):
                        self.finding("low", "P004", "Processor %s sets the %s hint, which Loki's native OTLP endpoint "
                                     "ignores." % (name, action["key"]), collector.get("file"), None,
                                     collector.get("service"), "service.name, service.namespace and "
                                     "deployment.environment become labels; other attributes are structured metadata.")
            for name, cfg in (collector.get("exporters") or {}).items():
                if name.split("/")[0] == "prometheus":
                    if (cfg or {}).get("namespace"):
                        prefixes.append(cfg["namespace"])
                    if (cfg or {}).get("const_labels"):
                        self.finding("medium", "P019", "The collector's prometheus exporter adds const labels %s; "
                                     "they disappear." % ", ".join(sorted(cfg["const_labels"])), collector.get("file"),
                                     None, collector.get("service"), "Drop them from dashboard queries.")
        for name, svc in sorted(self.services.items()):
            if not svc.get("image_pinned") and not svc.get("build"):
                self.finding("medium", "P007", "Service '%s' uses an unpinned image (%s)." % (name, svc.get("image")),
                             svc.get("file"), svc.get("line"), name,
                             "Pin a version tag (the stack's own images are pinned).")
            if svc.get("secret_env"):
                self.finding("medium", "P008", "Service '%s' has plain-text secrets in its compose environment: %s."
                             % (name, ", ".join(svc["secret_env"])), svc.get("file"), svc.get("line"), name,
                             "Move them to Docker secrets or *_FILE variables (the new Grafana reads its admin "
                             "password from a 0600 file).")
        grafana = self.legacy.get("grafana")
        if grafana and grafana.get("anonymous_enabled"):
            svc = self.services.get(grafana["service"]) or {}
            self.finding("medium", "P011", "Grafana allows anonymous access.", svc.get("file"), svc.get("line"),
                         grafana["service"], "The new Grafana turns anonymous access and sign-up off.")
        for warning in self.legacy.get("warnings") or []:
            self.finding("low", "P018", warning)
        for go in self.go_findings:
            self.finding(go.get("severity", "medium"), go["code"], go["message"], go.get("file"), go.get("line"),
                         None, go.get("recommendation"))
        return retention, prefixes

    # ------------------------------------------------------------------ all together
    def plan(self):
        remove, keep, add = self.plan_services()
        rewire, jaeger_protocols = self.plan_rewire(remove)
        ports = self.plan_ports(remove)
        volumes, binds = self.plan_volumes(remove)
        retention, prefixes = self.plan_config_findings()
        scrape_jobs, target_map, host_targets = self.plan_scrape_jobs(remove)
        datasource_map = self.plan_datasources()
        dropped = [j["job_name"] for j in scrape_jobs if j["action"] == "drop"]
        self.plan_dashboards(datasource_map, dropped, prefixes)
        self.findings.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["code"], f["file"] or "", f["line"] or 0))
        return {
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
            "legacy_bind_mounts": binds,
            "scrape_jobs": scrape_jobs,
            "scrape_target_map": target_map,
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
