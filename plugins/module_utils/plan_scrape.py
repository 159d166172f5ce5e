# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planner concern: Prometheus scrape jobs carried into Alloy or dropped, the files and secrets they read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.lgtm.stack.plugins.module_utils import spm
from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import EXPORTER_COMPONENTS, EXPORTER_PORTS
from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK

_SELF_TARGETS = ("localhost:9090", "127.0.0.1:9090")
_FILE_KEYS = ("password_file", "credentials_file", "bearer_token_file", "ca_file", "cert_file", "key_file",
              "client_secret_file")


def plan_scrape_jobs(ctx, removed):
    """(jobs with their action, exporter target map, whether carried jobs scrape the Docker host); sets
    ctx.scrape_files."""
    prometheus = ctx.legacy.get("prometheus") or {}
    removed_by_name = dict((r["service"], r["component"]) for r in removed)
    target_map = _exporter_target_map(ctx)
    removed_names = _removed_names(ctx, removed)
    jobs = []
    for job in prometheus.get("scrape_configs") or []:
        jobs.append(_job_plan(ctx, prometheus, job, removed_names, removed_by_name, target_map))
    host_targets = any(t.split(":")[0] in ("host.docker.internal", "172.17.0.1")
                       for j in jobs if j["action"] == "carry"
                       for s in j["config"].get("static_configs") or [] for t in s.get("targets") or [])
    _scrape_secrets_and_files(ctx, prometheus, [j for j in jobs if j["action"] == "carry"])
    _rule_files(ctx, prometheus)
    _alertmanagers(ctx, prometheus)
    return jobs, target_map, host_targets


def _alertmanagers(ctx, prometheus):
    """prometheus.yml's Alertmanagers, carried to Mimir's ruler (ctx.alertmanagers: one URL per static target, as
    Prometheus sends every alert to every target; Mimir's ruler takes a comma-separated list, path = path prefix,
    API v2) when the ruler evaluates alerting rules; P036 for each one that cannot be, saying why. An Alertmanager
    service whose config holds `${VAR}` placeholders gets P045 (it is kept; the placeholders never worked)."""
    for config in ctx.legacy.get("alertmanagers") or []:
        if config.get("placeholders"):
            ctx.finding("P045", "Alertmanager '%s' reads %s, which holds %s: Alertmanager does not expand environment "
                        "variables, so these are sent as written and the receivers using them do not deliver (they "
                        "did not before the migration either)." % (
                            config["service"], config["config_container_path"],
                            ", ".join("%s (line %d)" % (p["text"], p["line"]) for p in config["placeholders"])),
                        config.get("file"), config["placeholders"][0]["line"], config["service"], None)
    alerts = any(rule.get("alerts") for rule in ctx.rule_files)
    for am in prometheus.get("alerting") or []:
        why = None
        if ctx.backend.get("mode") == "remote":
            why = "the backends are remote: the central Mimir's ruler has its own Alertmanager settings"
        elif not alerts:
            why = "no alerting rule is evaluated by Mimir's ruler (see the rule files' findings)"
        elif am["discovery"] or not am["targets"]:
            why = "it is found by service discovery (%s), which Mimir's ruler does not take" % (
                ", ".join(am["discovery"]) or "no static target")
        elif am["client"] or am["relabel"]:
            why = "it needs HTTP client settings or relabelling (%s) the ruler's URL cannot carry" % ", ".join(
                am["client"] + (["relabel_configs"] if am["relabel"] else []))
        elif am["api_version"] != "v2" or am["scheme"] not in ("http", "https"):
            why = "Mimir's ruler posts to Alertmanager API v2 over http(s) only (this one: %s, %s)" % (
                am["api_version"], am["scheme"])
        prefix = "" if am["path_prefix"].strip("/") == "" else "/" + am["path_prefix"].strip("/")
        urls = [] if why else ["%s://%s%s" % (am["scheme"], target, prefix) for target in am["targets"]]
        ctx.alertmanagers.append({"name": am["name"], "line": am.get("line"), "urls": urls, "why": why})
        if why:
            ctx.finding("P036", "Prometheus sent alerts to %s (alerting.%s); nothing sends alerts there any more: %s."
                        % (", ".join(am["targets"]) or "discovered Alertmanagers", am["name"], why),
                        prometheus.get("file"), am.get("line"), None, None)
        else:
            ctx.finding("P044", "Prometheus' Alertmanager %s (alerting.%s) now receives the alerts of Mimir's ruler "
                        "(ruler.alertmanager_url %s)." % (", ".join(am["targets"]), am["name"], ",".join(urls)),
                        prometheus.get("file"), am.get("line"), None, None)


def _rule_files(ctx, prometheus):
    """Rule files Mimir's ruler takes over (ctx.rule_files, P043), or P015 saying why one is not evaluated."""
    names = set()
    for rule in prometheus.get("rule_files") or []:
        alerts = ": alerts " + ", ".join(rule["alerts"]) if rule.get("alerts") else ""
        where = rule.get("host_path") or prometheus.get("file")
        why = None
        if ctx.backend.get("mode") == "remote":
            why = "the backends are remote: load it into the central Mimir's ruler (mimirtool rules load)"
        elif rule.get("problems"):
            why = "it does not load (the old Prometheus did not evaluate it either): %s" % "; ".join(rule["problems"])
        elif not rule.get("on_disk"):
            why = "its file is not on the docker host (not bind-mounted, or matched by a glob)"
        if why:
            ctx.finding("P015", "Prometheus rule file %s (%d rules%s) is not evaluated by the new stack: %s."
                        % (rule["container_path"], rule.get("rules", 0), alerts, why), where, None, None,
                        "Load the rules into Mimir's ruler or recreate the alerts in Grafana Alerting.")
            continue
        base = re.sub(r"[^A-Za-z0-9_-]", "_", posixpath.splitext(posixpath.basename(rule["container_path"]))[0]) or "rules"
        name, n = base, 2
        while name in names:
            name, n = "%s_%d" % (base, n), n + 1
        names.add(name)
        ctx.rule_files.append({"host_path": rule["host_path"], "container_path": rule["container_path"], "name": name,
                               "groups": rule.get("groups", 0), "rules": rule.get("rules", 0),
                               "alerts": list(rule.get("alerts") or [])})
        ctx.finding("P043", "Prometheus rule file %s (%d rules%s) is evaluated by Mimir's ruler (namespace %s); "
                    "recorded series keep their names." % (rule["container_path"], rule.get("rules", 0), alerts, name),
                    where, None, None,
                    "Alerting rules reach an Alertmanager only with lgtm_mimir_alertmanager_url." if alerts else None)


def _exporter_target_map(ctx):
    """legacy exporter target -> the new exporter service's target."""
    target_map = {}
    for exporter in (ctx.legacy.get("exporters") or {}).values():
        for entry in exporter:
            component = ctx.services[entry["service"]]["component"]
            for port in [EXPORTER_PORTS[component]]:
                target_map["%s:%d" % (entry["service"], port)] = "%s:%d" % (ctx.names[component], port)
    return target_map


def _removed_names(ctx, removed):
    """Every name a removed (non-exporter) service answers to: service, container_name, network aliases."""
    removed_names = {}
    for removal in removed:
        if removal["component"] in EXPORTER_COMPONENTS:
            continue
        svc = ctx.services.get(removal["service"]) or {}
        for name in [removal["service"], svc.get("container_name")] + list(svc.get("network_aliases") or []):
            if name:
                removed_names[name] = removal["component"]
    return removed_names


def _job_plan(ctx, prometheus, job, removed_names, removed_by_name, target_map):
    """One job's fate: dropped (P002) when it scraped only removed services, carried otherwise."""
    fate = spm.scrape_job_fate(job, removed_names, {"tempo": {}})
    if fate:
        ctx.finding("P002", "Scrape job '%s' scraped %s, which the migration removes; its series "
                    "(job=\"%s\") stop." % (job["job_name"], ", ".join(sorted(set(
                        t.rsplit(":", 1)[0] for s in job.get("static_configs") or []
                        for t in s.get("targets") or []))), job["job_name"]),
                    prometheus.get("file"), job.get("line"), None,
                    fate.get("replacement") or "Alloy, Tempo, Loki and Mimir report their own health on "
                                               "the stack dashboard.")
        return {"job_name": job["job_name"], "action": "drop", "line": job.get("line"), "reason": fate["reason"]}
    statics = [str(t) for s in job.get("static_configs") or [] for t in s.get("targets") or []]
    hosts = set(t.split(":")[0] for t in statics)
    dropped_by = [removed_by_name[h] for h in hosts if h in removed_by_name
                  and removed_by_name[h] not in EXPORTER_COMPONENTS]
    if statics and (set(statics) <= set(_SELF_TARGETS) or (dropped_by and len(dropped_by) == len(hosts))):
        component = "prometheus" if set(statics) <= set(_SELF_TARGETS) else dropped_by[0]
        ctx.finding("P002", "Scrape job '%s' scraped the legacy %s; its series (job=\"%s\") stop."
                    % (job["job_name"], component, job["job_name"]), prometheus.get("file"), job.get("line"),
                    None, "Alloy, Tempo, Loki and Mimir report their own health on the stack dashboard.")
        return {"job_name": job["job_name"], "action": "drop", "line": job.get("line"),
                "reason": "it scraped %s, which the migration removes" % component}
    carried = dict((k, v) for k, v in job.items() if k not in ("line", "file_sd_files"))
    for static in carried.get("static_configs") or []:
        static["targets"] = [target_map.get(str(t), str(t)) for t in static.get("targets") or []]
    return {"job_name": job["job_name"], "action": "carry", "line": job.get("line"), "config": carried,
            "reason": "job name kept, so dashboards keep their job label"}


def _scrape_secrets_and_files(ctx, prometheus, carried):
    """Files the carried jobs read (paths inside the old Prometheus container) become read-only mounts of
    Alloy; a password written in prometheus.yml itself is a finding (Alloy reads it from an env file)."""
    svc = ctx.services.get(prometheus.get("service")) or {}
    binds = [v for v in svc.get("volumes") or [] if v.get("type") == "bind" and v.get("source")]
    files = []
    for job in carried:
        for key, path in _file_references(job["config"]):
            bind = _containing_bind(binds, path)
            if bind is None:
                ctx.finding("P031", "Scrape job '%s' reads %s (%s) inside the old Prometheus container, from no "
                            "mount of the project: Alloy cannot read it." % (job["job_name"], path, key),
                            prometheus.get("file"), job.get("line"), prometheus.get("service"),
                            "Mount the file into the Prometheus service first, or set lgtm_alloy_scrape_files.")
                continue
            entry = {"host_path": bind["source"], "container_path": bind["target"]}
            if entry not in files:
                files.append(entry)
        for path in _masked_paths(job["config"]):
            ctx.finding("P030", "Scrape job '%s' has a secret written in prometheus.yml (%s); Alloy reads it "
                        "from the environment, and the migration does not copy it." % (job["job_name"], path),
                        prometheus.get("file"), job.get("line"), None,
                        "Move it to a password_file / credentials_file next to prometheus.yml (mounted into Alloy "
                        "read-only), or give it in lgtm_alloy_scrape_secrets from Ansible Vault.")
    ctx.scrape_files = files


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
