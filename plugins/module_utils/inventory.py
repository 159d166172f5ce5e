# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The accounting: every artifact of the legacy stack with its fate in the migration.

``inventory(legacy, plan)`` reads legacy_stack_info's ``legacy`` and the plan built from it and returns one entry per
legacy artifact::

    {"kind", "name", "where": {"file", "line"}, "fate": carried|converted|replaced|dropped, "detail", "finding"}

``finding`` is the code of the finding that says what stops working and what to do; it is set on every dropped
artifact (and on replaced/converted ones where a finding exists). Codes in ``PROPOSED`` are not in the findings
registry yet. ``render_inventory(entries, language)`` renders the Markdown section of the report.

Pure computation over ``legacy`` and ``plan``, except for Prometheus rule files and the ``alerting`` section of
prometheus.yml, which the analysis does not record yet: those are read (never written) from the host files the
analysis names when it does not give them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.lgtm.stack.plugins.module_utils import spm
from ansible_collections.lgtm.stack.plugins.module_utils.legacy import is_alertmanager
from ansible_collections.lgtm.stack.plugins.module_utils.otelcol_convert import convert as otelcol_convert
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError, load_yaml

FATES = ("carried", "converted", "replaced", "dropped")
KINDS = ("service", "volume", "bind_mount", "scrape_job", "rule_group", "alerting", "datasource", "derived_field",
         "dashboard", "panel_query", "collector_component", "collector_pipeline", "promtail_job", "promtail_label",
         "grafana_setting")
COLLECTOR_SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")

# Findings the accounting needs that the registry (findings.py) does not hold yet: code -> (severity, meaning, advice).
# Empty: every code it uses is registered (tests/unit/test_accounting.py checks both).
PROPOSED = {}

_JAEGER_TYPES = (None, "jaeger")
_DS_INPUT = re.compile(r"^\$\{?(DS_[A-Za-z0-9_]+)\}?$")
_SELECTOR = re.compile(r"\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)")
_DOCKER_LOGS = "/var/lib/docker/containers"
_DOCKER_SOCKET = "/var/run/docker.sock"


def _entry(kind, name, fate, detail, finding=None, file=None, line=None):
    if fate not in FATES:
        raise ValueError("unknown fate %r for %s %s" % (fate, kind, name))
    return {"kind": kind, "name": str(name), "where": {"file": file, "line": line}, "fate": fate,
            "detail": detail, "finding": finding}


class _Base(object):
    """What every part of the accounting shares: the inputs and the list of entries."""

    def __init__(self, legacy, plan):
        self.legacy = legacy or {}
        self.plan = plan or {}
        self.root = self.legacy.get("project_dir") or self.plan.get("project_dir") or ""
        self.services = self.legacy.get("services") or {}
        self.removed = dict((r["service"], r) for r in self.plan.get("remove_services") or [])
        self.codes = set(f["code"] for f in self.plan.get("findings") or [])
        self.out = []

    def rel(self, path):
        if not path or not self.root:
            return path
        root = self.root.rstrip("/") + "/"
        return path[len(root):] if str(path).startswith(root) else path

    def add(self, kind, name, fate, detail, finding=None, file=None, line=None):
        self.out.append(_entry(kind, name, fate, detail, finding, self.rel(file), line))


class _ComposeAccounting(_Base):
    """Services, volumes, bind mounts, and the Prometheus side (scrape jobs, rules, alerting)."""

    def services_(self):
        for name, svc in sorted(self.services.items()):
            removal = self.removed.get(name)
            if removal:
                self.add("service", name, "replaced", "%s: %s" % (removal["component"], removal["reason"]),
                         None, svc.get("file"), svc.get("line"))
            else:
                self.add("service", name, "carried", "kept (%s); only rewired" % svc.get("component"), None,
                         svc.get("file"), svc.get("line"))

    def volumes(self):
        planned = dict((v["volume"], v) for v in self.plan.get("volumes") or [])
        adopted = self.plan.get("grafana_adopted_volume")
        ours = dict((v["volume"], c) for c, v in (self.plan.get("stack_volumes") or {}).items())
        compose = (self.legacy.get("compose_files") or [None])[0]
        for name, info in sorted((self.legacy.get("named_volumes") or {}).items()):
            users = ", ".join(info.get("used_by") or []) or "no service"
            if name == adopted:
                self.add("volume", name, "carried", "the new Grafana runs on it (lgtm_migrate_adopt_grafana_data)",
                         "P026" if "P026" in self.codes else None, compose)
            elif name in ours:
                self.add("volume", name, "carried", "the new %s's own volume from an earlier run" % ours[name],
                         None, compose)
            elif name in planned:
                entry = planned[name]
                if entry["action"] == "delete":
                    self.add("volume", name, "dropped", "used only by removed services (%s); deleted" % users,
                             "P041", compose)
                else:
                    self.add("volume", name, "dropped", "used only by removed services (%s); kept on disk, no longer "
                             "mounted" % users, "P022", compose)
            else:
                self.add("volume", name, "carried", "untouched (used by %s)" % users, None, compose)

    def bind_mounts(self):
        for name, svc in sorted(self.services.items()):
            for mount in svc.get("mounted_files") or []:
                label = "%s:%s" % (name, mount.get("target"))
                if name not in self.removed:
                    self.add("bind_mount", label, "carried", "mounted by a kept service, untouched", None,
                             mount.get("source"))
                    continue
                fate, detail, finding = self._bind_fate(name, svc, mount)
                self.add("bind_mount", label, fate, detail, finding, mount.get("source"))

    def _bind_fate(self, name, svc, mount):
        component = svc.get("component")
        source, target = mount.get("source") or "", (mount.get("target") or "").rstrip("/") or "/"
        if source.startswith(_DOCKER_SOCKET) or target == _DOCKER_SOCKET:
            return "replaced", "Alloy mounts the Docker socket itself", None
        if target == _DOCKER_LOGS:
            return "replaced", "Alloy reads container logs from the Docker API instead of the json files", None
        for scrape_file in self.plan.get("scrape_files") or []:
            if scrape_file.get("host_path") == mount.get("source"):
                return "carried", "mounted read-only into Alloy (files the carried scrape jobs read)", None
        grafana = self.legacy.get("grafana") or {}
        if component == "grafana":
            data = grafana.get("data_dir") or {}
            if target == (data.get("container_path") or "/var/lib/grafana") and data.get("source") == source:
                return "dropped", "the legacy Grafana database; the new Grafana starts on its own volume", "P027"
            for provider in grafana.get("dashboard_providers") or []:
                if _under(provider.get("container_path"), target) or _under(target, provider.get("container_path")):
                    return "converted", "dashboards copied into the new Grafana, datasource references mapped", None
            if _under(target, "/etc/grafana/provisioning") or _under("/etc/grafana/provisioning", target):
                return "converted", "provisioning read: datasources mapped to mimir/loki/tempo, dashboards carried", \
                    None
        configs = {"prometheus": "scrape jobs converted to Alloy's prometheus.scrape",
                   "promtail": "labels mapped to the new pipeline (Promtail label fates); logs collected by Alloy",
                   "loki": "retention carried to the new Loki; the rest is the loki role's config",
                   "otel_collector": "pipelines converted to Alloy otelcol.* components"}
        info = self.legacy.get(component) if component in configs else None
        if info:
            paths = [info.get("config_container_path")] + [s.get("container_path") for s in info.get("sources") or []]
            if any(p and (_under(p, target)) for p in paths):
                return "converted", configs[component], None
            if component == "prometheus":
                carried = set(r["container_path"] for r in self.plan.get("mimir_rule_files") or [])
                for rule in info.get("rule_files") or []:
                    if _under(rule.get("container_path"), target):
                        if rule.get("container_path") in carried:
                            return "converted", "rule file %s: mounted into Mimir's ruler" % rule["container_path"], \
                                "P043"
                        return "dropped", "rule file %s: not evaluated by the new stack" % rule["container_path"], \
                            "P015"
        if component in ("tempo", "mimir", "alloy"):
            return "replaced", "the %s role renders its own configuration" % component, None
        if component == "mysqld_exporter":
            return "converted", "credentials read into the new exporter's my.cnf (a secret file: 0600, or 0640 to the user's group when not run as root)", None
        return "dropped", "read by nothing in the new stack; the file stays on disk", "P038"

    def prometheus(self):
        prometheus = self.legacy.get("prometheus") or {}
        prom_file = prometheus.get("file")
        for job in self.plan.get("scrape_jobs") or []:
            if job["action"] == "carry":
                self.add("scrape_job", job["job_name"], "carried", job.get("reason"), None, prom_file,
                         job.get("line"))
            else:
                self.add("scrape_job", job["job_name"], "dropped", job.get("reason"), "P002", prom_file,
                         job.get("line"))
        carried = dict((r["container_path"], r["name"]) for r in self.plan.get("mimir_rule_files") or [])
        for rule in prometheus.get("rule_files") or []:
            groups = _rule_groups(rule)
            where = rule.get("host_path") or prom_file
            for group in groups:
                alerts = ", ".join(group.get("alerts") or [])
                suffix = " (alerts %s)" % alerts if alerts else ""
                what = "%s: %d rule(s)%s" % (rule.get("container_path"), group.get("rules", 0), suffix)
                if rule.get("container_path") in carried:
                    self.add("rule_group", group["name"], "carried", "%s; evaluated by Mimir's ruler (namespace %s)"
                             % (what, carried[rule["container_path"]]), "P043", where, group.get("line"))
                else:
                    self.add("rule_group", group["name"], "dropped", "%s; not evaluated by the new stack" % what,
                             "P015", where, group.get("line"))
        carried = dict((am["name"], am) for am in self.plan.get("mimir_alertmanagers") or [])
        receiving = set()
        for am in prometheus.get("alerting") or []:
            fate = carried.get(am["name"]) or {}
            targets = ", ".join(am["targets"]) or "discovered"
            if fate.get("urls"):
                receiving.update(t.rsplit(":", 1)[0] for t in am["targets"])
                self.add("alerting", am["name"], "converted", "Prometheus alerting.%s (%s) -> Mimir ruler "
                         "alertmanager_url %s" % (am["name"], targets, ",".join(fate["urls"])), "P044", prom_file,
                         am.get("line"))
            else:
                self.add("alerting", am["name"], "dropped", "Prometheus alerting.%s (%s): %s" % (
                    am["name"], targets, fate.get("why") or "no Prometheus is left to send alerts"), "P036",
                    prom_file, am.get("line"))
        for config in self.legacy.get("alertmanagers") or []:
            where = "Alertmanager '%s'" % config["service"]
            if config.get("problem"):
                self.add("alerting", "%s config" % where, "carried", "kept as it is (%s)" % config["problem"],
                         None, config.get("file"), None)
                continue
            finding = "P045" if config.get("placeholders") else None
            for receiver in config.get("receivers") or []:
                self.add("alerting", "%s receiver %s" % (where, receiver), "carried", "kept with its Alertmanager"
                         + ("; its config holds unexpanded ${VAR} placeholders" if finding else ""), finding,
                         config.get("file"), None)
        for name, svc in sorted(self.services.items()):
            if not is_alertmanager(svc):
                continue
            if receiving & set([name, svc.get("container_name")] + list(svc.get("network_aliases") or [])):
                self.add("alerting", "service %s" % name, "carried", "Alertmanager '%s' keeps running and receives "
                         "the alerts of Mimir's ruler" % name, "P044", svc.get("file"), svc.get("line"))
            else:
                self.add("alerting", "service %s" % name, "dropped", "Alertmanager '%s' keeps running, but no "
                         "Prometheus rule sends it alerts any more" % name, "P036", svc.get("file"), svc.get("line"))


class _GrafanaAccounting(_Base):
    """Datasources, derived fields, dashboards, panel queries and server settings of the legacy Grafana."""

    def grafana(self):
        grafana = self.legacy.get("grafana") or {}
        known = (self.plan.get("datasource_map") or {}).get("by_uid_or_name") or {}
        jaeger_uids = set(d.get("uid") for d in grafana.get("datasources") or [] if d.get("type") == "jaeger")
        for ds in grafana.get("datasources") or []:
            new = known.get(ds["name"])
            if new:
                self.add("datasource", ds["name"], "replaced", "%s -> uid %s" % (ds.get("type"), new), None,
                         ds.get("file"), ds.get("line"))
            else:
                self.add("datasource", ds["name"], "dropped", "type %s has no counterpart in the new stack"
                         % ds.get("type"), "P023", ds.get("file"), ds.get("line"))
            for field in (ds.get("json_data") or {}).get("derivedFields") or []:
                name = "%s/%s" % (ds["name"], field.get("name"))
                if not new:
                    self.add("derived_field", name, "dropped", "its datasource is not provisioned any more", "P023",
                             ds.get("file"), ds.get("line"))
                elif field.get("matcherType") == "label":
                    self.add("derived_field", name, "replaced", "the new %s datasource's trace_id derived field "
                             "(matcherType label) -> tempo" % new, None, ds.get("file"), ds.get("line"))
                else:
                    self.add("derived_field", name, "replaced", "regex on the log body%s -> derived field on the "
                             "trace_id structured metadata pointing at tempo" % (
                                 " (to Jaeger)" if field.get("datasourceUid") in jaeger_uids else ""),
                             "P003", ds.get("file"), ds.get("line"))
        for dash in grafana.get("dashboards") or []:
            self.add("dashboard", dash.get("title"), "carried", "copied into the new Grafana (folder %s); datasource "
                     "references mapped" % (dash.get("folder") or "General"), None, dash.get("file"))
            self._queries(dash)
        for setting in grafana.get("settings") or []:
            svc = self.services.get(grafana.get("service")) or {}
            key = setting["key"]
            if setting.get("carried"):
                self.add("grafana_setting", key, "carried", setting.get("reason"), None, svc.get("file"),
                         svc.get("line"))
            elif setting.get("needs_value"):
                self.add("grafana_setting", key, "dropped", setting.get("reason"), "P034", svc.get("file"),
                         svc.get("line"))
            elif key.startswith("GF_AUTH_ANONYMOUS_"):
                self.add("grafana_setting", key, "dropped", setting.get("reason"), "P011", svc.get("file"),
                         svc.get("line"))
            elif "role sets it" in (setting.get("reason") or ""):
                self.add("grafana_setting", key, "replaced", setting.get("reason"), "P035", svc.get("file"),
                         svc.get("line"))
            else:
                self.add("grafana_setting", key, "dropped", setting.get("reason"), "P035", svc.get("file"),
                         svc.get("line"))

    def _resolve(self, ref):
        """The new uid a panel's datasource reference lands on (uid, name, ${DS_*} input; none: the default)."""
        ds_map = self.plan.get("datasource_map") or {}
        if not ref:
            return ds_map.get("default")
        match = _DS_INPUT.match(str(ref))
        if match:
            return (ds_map.get("inputs") or {}).get(match.group(1))
        return (ds_map.get("by_uid_or_name") or {}).get(ref)

    def _queries(self, dash):
        dropped_jobs = [j["job_name"] for j in self.plan.get("scrape_jobs") or [] if j["action"] == "drop"]
        labels = {}
        for fate in self.plan.get("promtail_labels") or []:
            labels.setdefault(fate["label"], []).append(fate)
        for query in dash.get("queries") or []:
            name = query_name(dash.get("title"), query.get("panel_title") or query.get("panel_id"),
                              query.get("ref_id"))
            expr = query.get("expr") or ""
            ds_type = query.get("datasource_type")
            target = self._resolve(query.get("datasource"))
            fate, detail, finding = "carried", "query unchanged%s" % (
                "; datasource -> %s" % target if target else ""), None
            if ds_type == "jaeger" or target == "tempo" and ds_type in _JAEGER_TYPES:
                fate, detail, finding = "converted", "Jaeger query -> Tempo (TraceQL) where faithful; the dashboards " \
                                                     "step flags the rest", "P001"
            elif expr and spm.uses_spm(expr):
                fate, detail, finding = "converted", "Jaeger SPM metric query -> traces_spanmetrics_* where exact", \
                    "P033"
            elif expr and any(re.search(r'job\s*=~?\s*"%s"' % re.escape(job), expr) for job in dropped_jobs):
                fate, detail, finding = "dropped", "queries a scrape job the migration drops: its series stop", "P002"
            elif expr and (ds_type == "loki" or target == "loki"):
                changed = []
                for selector in _SELECTOR.findall(expr):
                    for label, _op in _MATCHER.findall(selector):
                        changed += [f for f in labels.get(label, []) if f["fate"] != "carried"]
                if changed:
                    codes = [_label_finding(f) for f in changed]
                    finding = next((c for c in ("P005", "P032", "P040") if c in codes), None)
                    fate = "converted"
                    detail = "LogQL on Promtail labels rewritten: %s" % ", ".join(
                        "%s -> %s" % (f["label"], f.get("new") or "removed") for f in changed)
            self.add("panel_query", name, fate, detail, finding, dash.get("file"))


class _CollectorAccounting(_Base):
    """The OpenTelemetry Collector's components and pipelines, and Promtail's jobs and labels."""

    def collector(self):
        collector = self.legacy.get("otel_collector")
        if not collector:
            return
        where = collector.get("file")
        converted = otelcol_convert(collector)
        unconverted = {}
        for item in converted["unconverted"]:
            unconverted.setdefault(item["component"], []).append(item)
        dropped_exporters = {}
        for item in converted["dropped_exporters"]:
            dropped_exporters.setdefault(item["exporter"], item)
        notes = {}
        for item in converted["notes"]:
            notes.setdefault(item["component"], []).append(item)
        pipelines = collector.get("pipelines") or {}
        used = dict((s, set()) for s in COLLECTOR_SECTIONS)
        dead = {}  # component -> the dropped pipeline it was in
        for pname, pipe in sorted(pipelines.items()):
            if unconverted.get("pipeline %s" % pname):
                for role in ("receivers", "processors", "exporters"):
                    for comp in pipe.get(role) or []:
                        dead.setdefault(comp, pname)
                continue
            for role in ("receivers", "processors", "exporters"):
                for comp in pipe.get(role) or []:
                    used["connectors" if comp in (collector.get("connectors") or {}) else role].add(comp)
        for section in COLLECTOR_SECTIONS:
            for comp in sorted(collector.get(section) or {}):
                name = "%s %s" % (section[:-1], comp)
                fate, detail, finding = self._component_fate(section, comp, used, unconverted, dropped_exporters,
                                                             notes, collector)
                if comp not in used[section] and comp in dead and section not in ("extensions", "exporters"):
                    fate, detail, finding = "dropped", "only in pipeline %s, which is not converted (%s)" % (
                        dead[comp], unconverted["pipeline %s" % dead[comp]][0]["reason"]), "P037"
                self.add("collector_component", name, fate, detail, finding, where)
        for pname in sorted(pipelines):
            problems = unconverted.get("pipeline %s" % pname)
            if problems:
                self.add("collector_pipeline", pname, "dropped", problems[0]["reason"], "P037", where)
            else:
                self.add("collector_pipeline", pname, "converted", "rebuilt in Alloy, wired to the new %s backend"
                         % pname.split("/")[0], None, where)

    def _component_fate(self, section, comp, used, unconverted, dropped_exporters, notes, collector):
        kind = comp.split("/", 1)[0]
        if section == "extensions":
            return "dropped", "collector extension %r: Alloy has no counterpart to carry (its own /-/ready and " \
                              "UI replace health_check, zpages, pprof)" % kind, "P037"
        if comp not in used[section]:
            return "dropped", "declared but in no pipeline: the legacy collector never ran it", "P037"
        if section == "connectors":
            return "dropped", ("connector %r is not converted; span metrics come from Tempo's metrics generator"
                               % kind), "P037"
        problems = list(unconverted.get(comp) or [])
        whole = [p for p in problems if p.get("key") is None]
        if section == "receivers":
            if kind == "otlp":
                return "replaced", "Alloy's own OTLP receiver (alloy role) takes the pipelines' input", None
            if whole or any(p.get("key") == "protocols" for p in problems):
                return "dropped", (whole or problems)[0]["reason"], "P037"
            return _partial("converted", "otelcol.receiver.%s" % kind, problems)
        if section == "exporters":
            if comp in dropped_exporters:
                item = dropped_exporters[comp]
                if item["reason"].startswith("diagnostic"):
                    return "dropped", item["reason"], "P037"
                finding = "P019" if kind == "prometheus" and "P019" in self.codes else None
                return "replaced", item["reason"], finding
            if whole:
                return "replaced", whole[0]["reason"], "P037"
            return "replaced", "replaced by the new backends", None
        # processors
        if whole:
            return "dropped", whole[0]["reason"], "P037"
        hints = notes.get(comp) or []
        if hints and not any(a for a in ((collector.get("processors") or {}).get(comp) or {}).get("actions") or []
                             if a.get("key") not in [h["key"] for h in hints]):
            return "dropped", hints[0]["reason"], "P004"
        fate, detail, finding = _partial("converted", "otelcol.processor.%s" % kind, problems)
        if hints and not finding:
            finding = "P004"
        return fate, detail, finding

    def promtail(self):
        promtail = self.legacy.get("promtail") or {}
        where = promtail.get("file")
        collects = {}
        for meaning in (self.plan.get("log_label_model") or {}).values():
            for source in meaning.get("sources") or []:
                collects.setdefault(source.get("promtail_job"), (source.get("collects"), source.get("where")))
        for job in promtail.get("jobs") or []:
            how, what = collects.get(job.get("job_name"), ("docker" if job.get("docker_sd") else None, None))
            if how == "host":
                self.add("promtail_job", job.get("job_name"), "dropped", "read %s, which the new pipeline does not "
                         "collect" % (what or "host files"), "P039", where, job.get("line"))
            else:
                self.add("promtail_job", job.get("job_name"), "replaced", "container logs collected by Alloy from the "
                         "Docker API, labelled with the service identity", None, where, job.get("line"))
        for fate in self.plan.get("promtail_labels") or []:
            self.add("promtail_label", "%s/%s" % (fate["promtail_job"], fate["label"]), fate["fate"],
                     "%s%s" % ("-> %s: " % fate["new"] if fate.get("new") else "", fate.get("reason")),
                     _label_finding(fate), where, fate.get("line"))


class _Accounting(_ComposeAccounting, _GrafanaAccounting, _CollectorAccounting):
    def run(self):
        self.services_()
        self.volumes()
        self.bind_mounts()
        self.prometheus()
        self.grafana()
        self.collector()
        self.promtail()
        return self.out


def _partial(fate, block, problems):
    if not problems:
        return fate, "-> %s" % block, None
    return fate, "-> %s; not converted: %s" % (block, "; ".join(
        "%s (%s)" % (p.get("key"), p["reason"]) for p in problems)), "P037"


def _label_finding(fate):
    if fate.get("kind") == "trace":
        return "P005"
    if fate["fate"] != "dropped":
        return None
    if fate.get("kind") in ("job", "project"):
        return "P040"
    return "P032"


def _under(path, directory):
    if not path or not directory:
        return False
    directory = directory.rstrip("/") or "/"
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def query_name(dashboard, panel, ref_id):
    """The inventory name of one panel query: `<dashboard> / <panel title or id> / <refId>`."""
    return "%s / %s / %s" % (dashboard, panel, ref_id or "-")


def _load(path):
    if not path or not os.path.isfile(path):
        return None
    try:
        return load_yaml(path, "inventory")
    except (InputError, IOError, OSError):  # the analysis already reported unreadable files
        return None


def _rule_groups(rule):
    """[{name, rules, alerts, line}] of a rule file: legacy's `group_names` when recorded, else read from the file."""
    if rule.get("group_names") is not None:
        return list(rule["group_names"])
    doc = _load(rule.get("host_path")) or {}
    groups = []
    for index, group in enumerate(doc.get("groups") or [] if isinstance(doc, dict) else []):
        if not isinstance(group, dict):
            continue
        rules = group.get("rules") or []
        groups.append({"name": str(group.get("name") or "#%d" % index), "rules": len(rules),
                       "alerts": [r.get("alert") for r in rules if isinstance(r, dict) and r.get("alert")],
                       "line": getattr(group, "line", None)})
    if not groups and rule.get("groups"):
        groups = [{"name": "%s#%d" % (rule.get("container_path"), i), "rules": 0, "alerts": [], "line": None}
                  for i in range(rule["groups"])]
    return groups


def inventory(legacy, plan):
    """Every legacy artifact with its fate (see the module docstring)."""
    return _Accounting(legacy, plan).run()


TEXT = {
    "en": {"title": "Inventory", "intro": "Every artifact of the legacy stack and what becomes of it.",
           "kind": "kind", "name": "name", "where": "where", "fate": "fate", "detail": "detail", "finding": "finding",
           "none": "No legacy artifact found.",
           "fates": {"carried": "carried", "converted": "converted", "replaced": "replaced", "dropped": "dropped"},
           "kinds": dict((k, k.replace("_", " ")) for k in KINDS)},
    "pt_BR": {"title": "Inventário", "intro": "Cada artefato da stack legada e o que acontece com ele.",
              "kind": "tipo", "name": "nome", "where": "onde", "fate": "destino", "detail": "detalhe",
              "finding": "achado", "none": "Nenhum artefato legado encontrado.",
              "fates": {"carried": "levado", "converted": "convertido", "replaced": "substituído",
                        "dropped": "descartado"},
              "kinds": {"service": "serviço", "volume": "volume", "bind_mount": "bind mount",
                        "scrape_job": "job de scrape", "rule_group": "grupo de regras", "alerting": "alertas",
                        "datasource": "datasource", "derived_field": "derived field", "dashboard": "dashboard",
                        "panel_query": "consulta de painel", "collector_component": "componente do collector",
                        "collector_pipeline": "pipeline do collector", "promtail_job": "job do Promtail",
                        "promtail_label": "label do Promtail", "grafana_setting": "configuração do Grafana"}},
}


def _cell(text):
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_inventory(entries, language="en"):
    """The inventory as Markdown: a `## Inventory` section with one table per kind (in KINDS order)."""
    if language not in TEXT:
        raise ValueError("report language must be one of %s, not %r" % (", ".join(sorted(TEXT)), language))
    t = TEXT[language]
    out = ["## " + t["title"], "", t["intro"], ""]
    if not entries:
        return "\n".join(out + [t["none"], ""])
    order = list(KINDS) + sorted(set(e["kind"] for e in entries) - set(KINDS))
    for kind in order:
        rows = [e for e in entries if e["kind"] == kind]
        if not rows:
            continue
        out += ["### %s (%d)" % (t["kinds"].get(kind, kind), len(rows)), "",
                "| %s | %s | %s | %s | %s | %s |" % (t["kind"], t["name"], t["where"], t["fate"], t["detail"],
                                                     t["finding"]),
                "|---|---|---|---|---|---|"]
        for e in rows:
            where = e.get("where") or {}
            loc = where.get("file") or ""
            if loc and where.get("line"):
                loc = "%s:%s" % (loc, where["line"])
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                _cell(t["kinds"].get(kind, kind)), _cell(e["name"]), _cell(loc), t["fates"].get(e["fate"], e["fate"]),
                _cell(e.get("detail")), _cell(e.get("finding"))))
        out.append("")
    return "\n".join(out)
