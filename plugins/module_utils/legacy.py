# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only analysis of a legacy observability stack (used by legacy_stack_info).

Components are detected by what the container runs: its image, its
Dockerfile's base image, or a component's config mounted where that software
reads it. Service names and ports only tell apart databases, caches and apps;
they never make a service one the migration removes. Each component's mounted configuration (bind mounts and
compose `configs:`, inline `content:` included) is parsed; a problem in a file the migration needs is an InputError
naming the file and line. A Grafana provisioning file that does not parse, or a mount whose host path does not
exist, is a warning naming file and line instead: the legacy Grafana never loaded it. Secret values are
masked before anything leaves this module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.lgtm.stack.plugins.module_utils.compose_model import (
    command_flag,
    container_to_host,
    dockerfile,
    dockerfile_instructions,
    image_parts,
    load_project,
    mounted_file,
    mounted_files,
)
from ansible_collections.lgtm.stack.plugins.module_utils import spm
from ansible_collections.lgtm.stack.plugins.module_utils.promtail import label_model as promtail_label_model
from ansible_collections.lgtm.stack.plugins.module_utils.otelcol_config import collector_config
from ansible_collections.lgtm.stack.plugins.module_utils.otelcol_config import pipelines as otelcol_pipelines
from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK, is_secret_key, redact_argv, redact_mapping
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import (
    InputError,
    line_of,
    load_json,
    load_yaml,
    parse_yaml,
    read_text,
)

COMPONENTS = ("jaeger", "prometheus", "otel_collector", "promtail", "grafana_agent", "loki", "grafana", "tempo",
              "mimir", "alloy", "mysqld_exporter", "redis_exporter", "mysql", "redis", "app", "other")

# Repository (without registry and tag) -> component. Checked first.
_IMAGE_RULES = [
    (r"(^|/)jaegertracing/(all-in-one|jaeger|jaeger-collector|jaeger-query|jaeger-agent|jaeger-ingester)$", "jaeger"),
    (r"(^|/)(prom|prometheus)/prometheus$|(^|/)bitnami/prometheus$", "prometheus"),
    (r"(^|/)otel/opentelemetry-collector(-contrib|-k8s)?$|opentelemetry-collector-releases/", "otel_collector"),
    (r"(^|/)grafana/promtail$", "promtail"),
    (r"(^|/)grafana/agent$", "grafana_agent"),
    (r"(^|/)grafana/loki$", "loki"),
    (r"(^|/)grafana/grafana(-oss|-enterprise)?$|(^|/)bitnami/grafana$", "grafana"),
    (r"(^|/)grafana/tempo$", "tempo"),
    (r"(^|/)grafana/mimir$", "mimir"),
    (r"(^|/)grafana/alloy$", "alloy"),
    (r"(^|/)(prom|prometheus)/mysqld-exporter$|(^|/)bitnami/mysqld-exporter$", "mysqld_exporter"),
    (r"(^|/)oliver006/redis_exporter$|(^|/)bitnami/redis-exporter$", "redis_exporter"),
    (r"(^|/)(mysql|mariadb|percona|bitnami/mysql|bitnami/mariadb|mysql/mysql-server)$", "mysql"),
    (r"(^|/)(redis|bitnami/redis|redis/redis-stack-server|valkey/valkey|redis/redis-stack)$", "redis"),
]
# Words in the last image path segment or the service name -> component.
_NAME_RULES = [
    ("mysqld[-_]?exporter", "mysqld_exporter"), ("redis[-_]?exporter", "redis_exporter"),
    ("otel[-_]?col|opentelemetry[-_]?collector|otel[-_]collector", "otel_collector"),
    ("jaeger", "jaeger"), ("promtail", "promtail"), ("grafana[-_]?agent", "grafana_agent"),
    ("prometheus", "prometheus"), ("loki", "loki"), ("tempo", "tempo"), ("mimir", "mimir"), ("alloy", "alloy"),
    ("grafana", "grafana"), ("mariadb|mysql", "mysql"), ("redis|valkey", "redis"),
]
# Mounted config paths -> component (the last resort before ports).
_CONFIG_RULES = [
    (r"(^|/)prometheus\.ya?ml$|^/etc/prometheus(/|$)", "prometheus"),
    (r"^/etc/otelcol(-contrib)?(/|$)|otel[-_]?collector[^/]*\.ya?ml$", "otel_collector"),
    (r"^/etc/loki(/|$)", "loki"),
    (r"^/etc/promtail(/|$)", "promtail"),
    (r"^/etc/tempo(/|$)|(^|/)tempo\.ya?ml$", "tempo"),
    (r"^/etc/grafana(/|$)", "grafana"),
    (r"^/etc/alloy(/|$)|\.alloy$", "alloy"),
]
_PORT_RULES = {16686: "jaeger", 14268: "jaeger", 9090: "prometheus", 3100: "loki", 3000: "grafana", 9104: "mysqld_exporter",
               9121: "redis_exporter", 3306: "mysql", 6379: "redis", 3200: "tempo", 12345: "alloy", 13133: "otel_collector"}

TELEMETRY_ENV = re.compile(r"^(OTEL_|JAEGER_|ZIPKIN_|DD_TRACE_AGENT|TRACING_|TRACE_|OTLP_)")
_ENDPOINT_ENV = re.compile(r"(ENDPOINT|_HOST|_URL|_ADDR|AGENT_HOST|COLLECTOR)")
HOST_ALIASES = ("host.docker.internal", "host-gateway", "172.17.0.1", "gateway.docker.internal")


# Components the migration removes or replaces: only evidence of what the container runs (its image, the base
# image of its Dockerfile, or the component's config mounted where that software reads it) may classify a service
# as one of them. A name or a published port alone never does: a user's own `tempo` or `grafana-proxy` service, or
# a web app on port 3000, stays untouched.
_REPLACED = ("jaeger", "prometheus", "otel_collector", "promtail", "grafana_agent", "loki", "grafana", "tempo", "mimir",
             "alloy", "mysqld_exporter", "redis_exporter")


def _by_image(image):
    repo, _tag, _digest = image_parts(image)
    if not repo:
        return None, None
    for pattern, component in _IMAGE_RULES:
        if re.search(pattern, repo):
            return component, "image %s" % repo
    last = repo.rsplit("/", 1)[-1]
    for pattern, component in _NAME_RULES:
        if re.fullmatch(pattern, last):
            return component, "image name %s" % last
    return None, None


def _dockerfile_base(svc):
    """The base image of the stage a service's Dockerfile ends with - what the container runs - following
    `FROM <earlier stage>` (None when it cannot be read)."""
    _path, text = dockerfile(svc)
    stages, base = {}, None
    for _line, instruction, args in dockerfile_instructions(text or ""):
        words = [w for w in args.split() if not w.startswith("--")]
        if instruction != "FROM" or not words:
            continue
        base = stages.get(words[0].lower(), words[0])
        if len(words) >= 3 and words[1].upper() == "AS":
            stages[words[2].lower()] = base
    return base


def classify(name, svc):
    """(component, evidence) for one service."""
    component, evidence = _by_image(svc.get("image"))
    if component:
        return component, evidence
    if svc.get("build"):
        base = _dockerfile_base(svc)
        component, _evidence = _by_image(base)
        if component in _REPLACED:
            return component, "Dockerfile FROM %s" % base
        return "app", "built from source"
    for vol in svc.get("volumes") or []:
        target = vol.get("target") or ""
        for pattern, component in _CONFIG_RULES:
            if vol.get("type") == "bind" and re.search(pattern, target):
                return component, "mounted config %s" % target
    if any(TELEMETRY_ENV.match(k) for k in svc.get("environment") or {}):
        return "app", "telemetry environment"
    for pattern, component in _NAME_RULES:
        if re.search(pattern, name) and component not in _REPLACED:
            return component, "service name %s" % name
    for port in svc.get("ports") or []:
        component = _PORT_RULES.get(port.get("target"))
        if component and component not in _REPLACED:
            return component, "container port %s" % port.get("target")
    return "other", "no rule matched"


def unrecognised_lookalike(name, svc, component):
    """A warning when a kept service is named or published like a stack component but runs something else."""
    if component not in ("other", "app"):
        return None
    for pattern, looks_like in _NAME_RULES:
        if looks_like in _REPLACED and re.search(pattern, name):
            return ("%s: named like %s, but its image %s is not %s's; it is kept untouched (the image, not the name, "
                    "decides)" % (name, looks_like, svc.get("image") or "(built)", looks_like))
    return None


def _config_file(svc, flags, defaults):
    """(container_path, host_path_or_None) of a component's config file."""
    path = command_flag(svc, flags)
    if path and path.startswith("file:"):
        path = path[len("file:"):]
    candidates = [path] if path else list(defaults)
    for candidate in candidates:
        host = container_to_host(svc, candidate)
        if host:
            return candidate, host
    return candidates[0] if candidates else None, None


def _service_summary(project, name, svc, component, evidence):
    repo, tag, digest = image_parts(svc.get("image"))
    env, secret_env = redact_mapping(svc.get("environment"))
    path, line = project.service_origin(name)
    mounted = []
    for vol in svc.get("volumes") or []:
        if vol.get("type") == "bind":
            source = vol.get("source")
            mounted.append({
                "source": source, "target": vol.get("target"), "read_only": bool(vol.get("read_only")),
                "kind": "dir" if source and os.path.isdir(source) else "file" if source and os.path.isfile(source) else "missing",
            })
    return {
        "name": name,
        "component": component,
        "detected_by": evidence,
        "file": path,
        "line": line,
        "image": svc.get("image"),
        "image_repository": repo,
        "image_tag": tag,
        "image_pinned": bool(digest) or (tag not in (None, "", "latest")),
        "build": bool(svc.get("build")),
        "container_name": svc.get("container_name"),
        "ports": svc.get("ports") or [],
        "volumes": svc.get("volumes") or [],
        "mounted_files": mounted,
        "environment": env,
        "secret_env": sorted(secret_env),
        "depends_on": sorted(svc.get("depends_on") or {}),
        "networks": sorted(svc.get("networks") or {}),
        # Names the service also answers to on its networks (scrape targets may use them).
        "network_aliases": sorted(set(a for n in (svc.get("networks") or {}).values() if isinstance(n, dict)
                                      for a in n.get("aliases") or [])),
        "network_mode": svc.get("network_mode"),
        "logging_driver": (svc.get("logging") or {}).get("driver"),
        "logging_url": ((svc.get("logging") or {}).get("options") or {}).get("loki-url"),
        "command": redact_argv(svc.get("command") or []),
    }


# --------------------------------------------------------------------------- per-component configs


def _require_mounted(component, svc_name, container_path, host_path, warnings):
    if host_path is None:
        warnings.append("%s (%s): config %s is not bind-mounted from the project; it cannot be read or carried over"
                        % (svc_name, component, container_path))
        return False
    if not os.path.exists(host_path):
        raise InputError(host_path, "%s config of service '%s' (mounted at %s) not found"
                         % (component, svc_name, container_path))
    return True


_AUTH_SECRETS = ("password", "bearer_token", "credentials", "client_secret")


def _redact_auth(config):
    """Mask passwords and bearer tokens inside scrape configs / client configs."""
    if isinstance(config, dict):
        return dict((key, MASK if key in _AUTH_SECRETS and isinstance(value, str) else _redact_auth(value))
                    for key, value in config.items())
    if isinstance(config, list):
        return [_redact_auth(v) for v in config]
    return config


def _mounted_config(project, svc, flags, defaults):
    """(container_path, mounted_file entry or None) of a component's config file (bind mount or compose config)."""
    path = command_flag(svc, flags)
    if path and path.startswith("file:"):
        path = path[len("file:"):]
    candidates = [path] if path else list(defaults)
    for candidate in candidates:
        entry = mounted_file(project, svc, candidate)
        if entry:
            return candidate, entry
    return candidates[0] if candidates else None, None


def _load_mounted_yaml(entry, what):
    """Parse a mounted file: a host file, or the inline `content:` of a compose config (named by its pseudo path)."""
    if entry.get("content") is None:
        return load_yaml(entry["host_path"], what)
    doc = parse_yaml(entry["content"], entry["path"])
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(entry["path"], "expected a mapping at the top of the %s, found %s" % (what, type(doc).__name__), 1)
    return doc


def _mounted_exists(entry):
    return entry is not None and (entry.get("content") is not None or os.path.isfile(entry.get("host_path") or ""))


# Prometheus' rulefmt reads rule files strictly (an unknown key refuses the file): the keys of Prometheus 2.x
# (query_offset since 2.53) - a superset of what Mimir's ruler, which parses with a newer rulefmt, also takes.
_RULE_FILE_KEYS = ("groups",)
_RULE_GROUP_KEYS = ("name", "interval", "limit", "rules", "query_offset")
_RULE_KEYS = ("record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations")
_BINARY_WORDS = ("and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left", "group_right",
                 "bool")


def rule_file_problems(doc):
    """What makes a Prometheus rule file unloadable (Prometheus' rulefmt: only known keys, groups with a unique
    name, each rule exactly one of record/alert, an expr that reads as PromQL, a valid recorded metric name);
    empty when it loads. A file without groups loads (and evaluates nothing)."""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        return ["not a mapping"]
    problems = ["unknown key %r" % k for k in doc if k not in _RULE_FILE_KEYS]
    groups = doc.get("groups") or []
    if not isinstance(groups, list):
        return problems + ["`groups` is not a list"]
    names = set()
    for index, group in enumerate(groups):
        if not isinstance(group, dict) or not group.get("name"):
            problems.append("group %d has no name" % index)
            continue
        if group["name"] in names:
            problems.append("group %s is defined twice" % group["name"])
        names.add(group["name"])
        problems += ["group %s has an unknown key %r" % (group["name"], k) for k in group if k not in _RULE_GROUP_KEYS]
        for number, rule in enumerate(group.get("rules") or []):
            where = "group %s rule %d" % (group["name"], number)
            if not isinstance(rule, dict):
                problems.append("%s is not a mapping" % where)
                continue
            problems += ["%s has an unknown key %r" % (where, k) for k in rule if k not in _RULE_KEYS]
            if bool(rule.get("record")) == bool(rule.get("alert")):
                problems.append("%s needs exactly one of record and alert" % where)
            expr = str(rule.get("expr") or "").strip()
            if not expr:
                problems.append("%s has no expr" % where)
            elif promql_shape_problem(expr):
                problems.append("%s: expr %s" % (where, promql_shape_problem(expr)))
            if rule.get("record") and not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", str(rule["record"])):
                problems.append("%s records an invalid metric name %r" % (where, rule["record"]))
    return problems


def promql_shape_problem(expr):
    """Why an expression cannot be PromQL at the token level (unreadable text, unbalanced brackets, an operator
    with nothing on one side), or None. Not a parser: a well-shaped expression may still be refused by one."""
    try:
        tokens = [t for t in spm.tokenize(expr) if t.kind != "ws"]
    except ValueError as exc:
        return "cannot be read (%s)" % exc
    depth = []
    pairs = {"rparen": "lparen", "rbrace": "lbrace"}
    for tok in tokens:
        if tok.kind in ("lparen", "lbrace"):
            depth.append(tok.kind)
        elif tok.kind in pairs:
            if not depth or depth.pop() != pairs[tok.kind]:
                return "has an unbalanced %s" % tok.text
    if depth:
        return "has an unclosed %s" % ("(" if depth[-1] == "lparen" else "{")
    binary = [t for t in tokens if (t.kind == "op" and t.text not in ("=", "=~", "!~")) or
              (t.kind == "ident" and t.text in _BINARY_WORDS)]
    if tokens and tokens[-1] in binary:
        return "ends with the operator %s" % tokens[-1].text
    if tokens and tokens[0] in binary and tokens[0].text not in ("-", "+"):
        return "starts with the operator %s" % tokens[0].text
    return None


def analyse_prometheus(project, name, svc, warnings):
    container, entry = _mounted_config(project, svc, ["config.file"], ["/etc/prometheus/prometheus.yml"])
    host = entry["path"] if entry else None
    result = {"service": name, "config_container_path": container, "file": host, "global": {}, "scrape_configs": [],
              "rule_files": [], "remote_write": [], "retention": command_flag(svc, ["storage.tsdb.retention.time"]),
              "inline_config": bool(entry and entry.get("content") is not None)}
    if entry is None or entry.get("content") is None:
        if not _require_mounted("prometheus", name, container, entry and entry["host_path"], warnings):
            return result
    doc = _load_mounted_yaml(entry, "Prometheus config")
    scrape = doc.get("scrape_configs") or []
    if not isinstance(scrape, list):
        raise InputError(host, "scrape_configs must be a list", line_of(doc, "scrape_configs"))
    jobs = []
    seen = {}
    for job in scrape:
        if not isinstance(job, dict) or "job_name" not in job:
            raise InputError(host, "every scrape_configs entry needs a job_name", getattr(job, "line", None))
        if job["job_name"] in seen:
            raise InputError(host, "job_name %r is used twice (first at line %s)" % (job["job_name"], seen[job["job_name"]]),
                             getattr(job, "line", None))
        seen[job["job_name"]] = getattr(job, "line", None)
        entry_out = _redact_auth(dict(job))
        entry_out["line"] = getattr(job, "line", None)
        for sd in job.get("file_sd_configs") or []:
            entry_out.setdefault("file_sd_files", [])
            for pattern in sd.get("files") or []:
                sd_file = mounted_file(project, svc, pattern)
                entry_out["file_sd_files"].append({"container_path": pattern,
                                                   "host_path": sd_file["path"] if sd_file else None})
        jobs.append(entry_out)
    rule_files = []
    for pattern in doc.get("rule_files") or []:
        rule = mounted_file(project, svc, pattern)
        info = {"container_path": pattern, "host_path": rule["path"] if rule else None, "groups": 0, "rules": 0}
        if _mounted_exists(rule):
            rules_doc = _load_mounted_yaml(rule, "Prometheus rule file")
            groups = rules_doc.get("groups") or []
            info["groups"] = len(groups)
            info["rules"] = sum(len(g.get("rules") or []) for g in groups if isinstance(g, dict))
            info["alerts"] = sorted(r.get("alert") for g in groups if isinstance(g, dict)
                                    for r in (g.get("rules") or []) if isinstance(r, dict) and r.get("alert"))
            info["problems"] = rule_file_problems(rules_doc)
            info["on_disk"] = rule.get("content") is None and os.path.isfile(rule.get("host_path") or "")
        rule_files.append(info)
    result.update({"global": dict(doc.get("global") or {}), "scrape_configs": jobs, "rule_files": rule_files,
                   "remote_write": _redact_auth(doc.get("remote_write") or []),
                   "alerting": prometheus_alertmanagers(doc)})
    return result


_AM_CLIENT_KEYS = ("basic_auth", "authorization", "oauth2", "tls_config", "bearer_token", "bearer_token_file",
                   "proxy_url", "sigv4", "follow_redirects", "enable_http2")


def prometheus_alertmanagers(doc):
    """prometheus.yml's alerting.alertmanagers: [{name, line, scheme, path_prefix, api_version, targets (static),
    discovery (other *_sd_configs keys), client (HTTP client keys set), relabel}] (Prometheus' defaults: scheme
    http, path_prefix /, api_version v2)."""
    alerting = doc.get("alerting") if isinstance(doc, dict) else None
    out = []
    for index, am in enumerate((alerting or {}).get("alertmanagers") or [] if isinstance(alerting, dict) else []):
        if not isinstance(am, dict):
            continue
        out.append({
            "name": "alertmanagers[%d]" % index, "line": getattr(am, "line", None),
            "scheme": str(am.get("scheme") or "http"), "path_prefix": str(am.get("path_prefix") or "/"),
            "api_version": str(am.get("api_version") or "v2"),
            "targets": [str(t) for s in am.get("static_configs") or [] if isinstance(s, dict)
                        for t in s.get("targets") or []],
            "discovery": sorted(k for k in am if k.endswith("_sd_configs")),
            "client": sorted(k for k in am if k in _AM_CLIENT_KEYS),
            "relabel": bool(am.get("relabel_configs") or am.get("alert_relabel_configs")),
        })
    return out


def analyse_otel_collector(project, name, svc, warnings):
    """Every config source of the collector merged as the collector merges them (otelcol_config)."""
    resolved = collector_config(svc, name, project.project_dir, project.resolved_by != "raw")
    files = [s for s in resolved["sources"] if s["kind"] in ("file", "default")]
    first = files[0] if files else resolved["sources"][0]
    result = {"service": name, "config_container_path": first["container_path"], "file": first["host_path"],
              "receivers": {}, "processors": {}, "exporters": {}, "connectors": {}, "extensions": {},
              "pipelines": {}, "sources": resolved["sources"], "problems": resolved["problems"]}
    warnings.extend(p["message"] for p in resolved["problems"])
    doc, origins = resolved["config"], resolved["origins"]
    for section in ("receivers", "processors", "exporters", "connectors", "extensions"):
        value = doc.get(section) or {}
        if not isinstance(value, dict):
            raise InputError(first["host_path"] or name, "%s must be a mapping" % section)
        result[section] = dict((k, _redact_auth(v or {})) for k, v in value.items())
    for pname, pipe in otelcol_pipelines(doc).items():
        for role in ("receivers", "processors", "exporters"):
            for comp in pipe[role]:
                if comp not in result[role] and comp not in result["connectors"]:
                    origin = origins["pipelines"].get(pname) or {}
                    raise InputError(origin.get("where") or name, "pipeline %s uses %s %r, which is not declared"
                                     % (pname, role[:-1], comp), origin.get("line"))
        result["pipelines"][pname] = pipe
    return result


def analyse_loki(project, name, svc, warnings):
    container, host = _config_file(svc, ["config.file"], ["/etc/loki/local-config.yaml", "/etc/loki/config.yaml"])
    result = {"service": name, "config_container_path": container, "file": host, "schemas": [], "retention_period": None,
              "retention_enabled": False, "delete_request_store": None, "structured_metadata": None}
    if not _require_mounted("loki", name, container, host, warnings):
        return result
    doc = load_yaml(host, "Loki config")
    schemas = ((doc.get("schema_config") or {}).get("configs")) or []
    result["schemas"] = [{"from": str(s.get("from")), "store": s.get("store"), "schema": s.get("schema"),
                          "object_store": s.get("object_store"), "line": getattr(s, "line", None)} for s in schemas]
    limits = doc.get("limits_config") or {}
    compactor = doc.get("compactor") or {}
    result.update({
        "retention_period": limits.get("retention_period"),
        "retention_enabled": bool(compactor.get("retention_enabled")),
        "delete_request_store": compactor.get("delete_request_store"),
        "structured_metadata": limits.get("allow_structured_metadata"),
        "retention_line": line_of(limits, "retention_period"),
        # Loki 2.x's other retention: the table manager's (boltdb-shipper), in force with retention_deletes_enabled.
        "table_manager_retention": ((doc.get("table_manager") or {}).get("retention_period")
                                    if (doc.get("table_manager") or {}).get("retention_deletes_enabled") else None),
        "read": True,
    })
    return result


def analyse_promtail(project, name, svc, warnings):
    container, host = _config_file(svc, ["config.file"], ["/etc/promtail/config.yml"])
    result = {"service": name, "config_container_path": container, "file": host, "clients": [], "jobs": [],
              "labels_from_logs": [], "label_model": {}}
    if not _require_mounted("promtail", name, container, host, warnings):
        return result
    doc = load_yaml(host, "Promtail config")
    # What every label the config makes means (relabel rules, static labels, stages): dashboards are rewritten from it.
    result["label_model"] = promtail_label_model(doc)
    result["clients"] = [c.get("url") for c in doc.get("clients") or [] if isinstance(c, dict)]
    for job in doc.get("scrape_configs") or []:
        stages = job.get("pipeline_stages") or []
        labels = []
        for stage in stages:
            if isinstance(stage, dict) and "labels" in stage:
                for label in (stage["labels"] or {}):
                    labels.append({"label": label, "line": line_of(stage, "labels")})
        result["jobs"].append({"job_name": job.get("job_name"), "line": getattr(job, "line", None),
                               "docker_sd": bool(job.get("docker_sd_configs")), "labels_from_logs": labels})
        result["labels_from_logs"].extend(dict(l, job=job.get("job_name")) for l in labels)
    return result


_DS_INPUT = re.compile(r"^\$\{?(DS_[A-Za-z0-9_]+)\}?$")


def _datasource_refs(node, out):
    """Collect datasource references of a dashboard (panel, target, templating levels)."""
    if isinstance(node, dict):
        ds = node.get("datasource")
        if ds is not None:
            if isinstance(ds, dict):
                uid = ds.get("uid")
                match = _DS_INPUT.match(uid or "")
                if match:
                    out.append({"kind": "input", "value": match.group(1), "type": ds.get("type")})
                elif uid in ("-- Mixed --",) or ds.get("type") == "datasource":
                    out.append({"kind": "mixed" if uid == "-- Mixed --" else "builtin", "value": uid, "type": ds.get("type")})
                elif uid:
                    out.append({"kind": "uid", "value": uid, "type": ds.get("type")})
            elif isinstance(ds, str):
                match = _DS_INPUT.match(ds)
                out.append({"kind": "input", "value": match.group(1), "type": None} if match else
                           {"kind": "name", "value": ds, "type": None})
        for key, value in node.items():
            if key != "datasource":
                _datasource_refs(value, out)
    elif isinstance(node, list):
        for item in node:
            _datasource_refs(item, out)


# Settings the grafana role sets itself: never carried, refused in lgtm_grafana_settings_env.
GRAFANA_ROLE_SETTINGS = ("GF_SECURITY_ADMIN_USER", "GF_SECURITY_ADMIN_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD__FILE",
                         "GF_AUTH_ANONYMOUS_ENABLED", "GF_USERS_ALLOW_SIGN_UP", "GF_USERS_ALLOW_ORG_CREATE",
                         "GF_ANALYTICS_REPORTING_ENABLED", "GF_ANALYTICS_CHECK_FOR_UPDATES",
                         "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES", "GF_NEWS_NEWS_FEED_ENABLED", "GF_PATHS_PROVISIONING",
                         "GF_PATHS_DATA", "GF_INSTALL_PLUGINS", "GF_PLUGINS_PREINSTALL")
_GRAFANA_CARRIED = re.compile(r"^GF_(SERVER|SMTP|AUTH|USERS|FEATURE_TOGGLES)_")
_GRAFANA_SECRET = re.compile(r"^GF_(SMTP_PASSWORD|AUTH_.*CLIENT_SECRET|AUTH_.*PASSWORD|.*_SECRET(_KEY)?|.*_TOKEN)$")
_GRAFANA_NOT_CARRIED = {
    "GF_SERVER_HTTP_PORT": "the new Grafana listens on 3000, the port its compose fragment publishes",
    "GF_SERVER_HTTP_ADDR": "the new Grafana listens on all addresses inside its container",
    "GF_SERVER_PROTOCOL": "TLS files are paths inside the legacy container; terminate TLS in front of Grafana",
    "GF_SERVER_CERT_FILE": "a path inside the legacy container; the file is not carried",
    "GF_SERVER_CERT_KEY": "a path inside the legacy container; the file is not carried",
}
_PLUGIN_SPLIT = re.compile(r"[\s,]+")


def grafana_plugins(value):
    """GF_INSTALL_PLUGINS / GF_PLUGINS_PREINSTALL -> list of plugin specs (id, id@version or url;id)."""
    return [p for p in _PLUGIN_SPLIT.split(value or "") if p]


def _grafana_setting_fate(key):
    """(carried, reason) of one legacy Grafana environment setting."""
    if key.startswith("GF_AUTH_ANONYMOUS_"):
        return False, "the new Grafana turns anonymous access off on purpose"
    if key in ("GF_INSTALL_PLUGINS", "GF_PLUGINS_PREINSTALL"):
        return True, "carried as lgtm_grafana_plugins (GF_PLUGINS_PREINSTALL; plugins download at start, network needed)"
    if key in GRAFANA_ROLE_SETTINGS:
        return False, "the grafana role sets it (admin account, sign-up, paths and telemetry are the role's)"
    if key.endswith("__FILE"):
        return False, "a file inside the legacy container; the file is not carried (give the value, or mount it)"
    if key in _GRAFANA_NOT_CARRIED:
        return False, _GRAFANA_NOT_CARRIED[key]
    if _GRAFANA_CARRIED.match(key):
        return True, "carried in lgtm_grafana_settings_env"
    return False, "not a setting the migration carries; add it to lgtm_grafana_settings_env if the new Grafana needs it"


def grafana_settings(project, name, env):
    """The legacy Grafana's GF_* settings, each with its fate; secret values masked, referenced as ${VAR}.

    Returns (settings, carried_env, plugins): settings is a list of {key, value (masked), secret, carried, reason,
    value_ref, needs_value}; carried_env maps GF_* -> value for lgtm_grafana_settings_env (a secret only as the
    `${VAR}` the legacy compose file used); plugins is the list for lgtm_grafana_plugins.
    """
    settings, carried_env, plugins = [], {}, []
    for key in sorted(env):
        if not key.startswith("GF_"):
            continue
        value = env[key]
        secret = bool(_GRAFANA_SECRET.match(key)) or is_secret_key(key) and not key.endswith("__FILE")
        carried, reason = _grafana_setting_fate(key)
        entry = {"key": key, "value": MASK if secret and value else value, "secret": secret, "carried": carried,
                 "reason": reason, "value_ref": None, "needs_value": False}
        if key in ("GF_INSTALL_PLUGINS", "GF_PLUGINS_PREINSTALL"):
            plugins.extend(p for p in grafana_plugins(value) if p not in plugins)
        elif carried and secret:
            raw = project.raw_environment(name, key) if project is not None else None
            match = _WHOLE_REF.match(raw or "")
            if match:
                entry["value_ref"] = "${%s}" % match.group(1)
                carried_env[key] = entry["value_ref"]
                entry["reason"] = ("carried as ${%s} (defined in the legacy project's .env or environment); never "
                                   "copied in clear" % match.group(1))
            else:
                entry["carried"], entry["needs_value"] = False, True
                entry["reason"] = ("a secret written in clear in the compose file: it is not copied; set it in "
                                   "lgtm_grafana_settings_env as a ${VAR} reference")
        elif carried and value is not None:
            carried_env[key] = value
        settings.append(entry)
    return settings, carried_env, plugins


def _never_loaded(name, path, line, problem, what):
    where = "%s:%d" % (path, line) if line else str(path)
    return ("%s (grafana): %s: %s; the legacy Grafana never loaded it, so %s not carried over"
            % (name, where, problem, what))


def _grafana_yaml(entry, what, name, warnings, lost):
    """A provisioning file as a mapping, or None (and a warning naming file and line) when it is broken."""
    try:
        return _load_mounted_yaml(entry, what)
    except InputError as exc:
        message = str(exc)
        prefix = "%s:%d: " % (exc.path, exc.line) if exc.line else "%s: " % exc.path
        warnings.append(_never_loaded(name, exc.path, exc.line, message[len(prefix):] if message.startswith(prefix)
                                      else message, lost))
        return None


def analyse_grafana(project, name, svc, warnings):
    env = svc.get("environment") or {}
    prov_container = (env.get("GF_PATHS_PROVISIONING") or "/etc/grafana/provisioning").rstrip("/")
    prov_host = container_to_host(svc, prov_container)
    data_container = (env.get("GF_PATHS_DATA") or "/var/lib/grafana").rstrip("/")
    data_dir = None
    for vol in svc.get("volumes") or []:
        if (vol.get("target") or "").rstrip("/") == data_container:
            data_dir = {"type": vol.get("type"), "source": vol.get("source"), "container_path": data_container}
    settings, settings_env, plugins = grafana_settings(project, name, env)
    result = {"service": name, "provisioning_dir": prov_host, "datasources": [], "dashboard_providers": [],
              "dashboards": [], "anonymous_enabled": str(env.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() == "true",
              "admin_password_in_env": "GF_SECURITY_ADMIN_PASSWORD" in env, "provisioning_files": [],
              "data_dir": data_dir, "settings": settings, "settings_env": settings_env, "plugins": plugins}
    ds_files, ds_missing, ds_mounted = mounted_files(project, svc, prov_container + "/datasources", (".yaml", ".yml"))
    dash_files, dash_missing, dash_mounted = mounted_files(project, svc, prov_container + "/dashboards",
                                                           (".yaml", ".yml"))
    for missing in _unique(ds_missing + dash_missing):
        warnings.append(_never_loaded(name, missing["path"], None, "mounted at %s, but this path does not exist"
                                      % missing["container_path"], "nothing from it is"))
    if not ds_mounted and not dash_mounted:
        warnings.append("%s (grafana): %s is not bind-mounted; datasources and dashboards cannot be carried over"
                        % (name, prov_container))
        return result
    for entry in ds_files:
        result["provisioning_files"].append({"kind": "datasources", "file": entry["path"],
                                             "container_path": entry["container_path"]})
        doc = _grafana_yaml(entry, "Grafana datasource provisioning file", name, warnings, "its datasources are")
        if doc is None:
            continue
        for ds in doc.get("datasources") or []:
            if not isinstance(ds, dict) or "name" not in ds:
                warnings.append(_never_loaded(name, entry["path"], getattr(ds, "line", None),
                                              "a datasource without a name", "that datasource is"))
                continue
            json_data = dict(ds.get("jsonData") or {})
            result["datasources"].append({
                "file": entry["path"], "line": getattr(ds, "line", None), "name": ds.get("name"), "uid": ds.get("uid"),
                "type": ds.get("type"), "url": ds.get("url"), "is_default": bool(ds.get("isDefault")),
                "json_data": _redact_auth(json_data), "has_secure_json_data": bool(ds.get("secureJsonData")),
            })
    for entry in dash_files:
        result["provisioning_files"].append({"kind": "dashboards", "file": entry["path"],
                                             "container_path": entry["container_path"]})
        doc = _grafana_yaml(entry, "Grafana dashboard provisioning file", name, warnings, "the dashboards it names are")
        if doc is None:
            continue
        for provider in doc.get("providers") or []:
            if not isinstance(provider, dict):
                continue
            options = provider.get("options") or {}
            container_path = options.get("path")
            container_path = str(container_path).rstrip("/") or "/" if container_path else None
            host_path = container_to_host(svc, container_path) if container_path else None
            files, missing, mounted = (mounted_files(project, svc, container_path, (".json",)) if container_path
                                       else ([], [], False))
            result["dashboard_providers"].append({
                "file": entry["path"], "line": getattr(provider, "line", None), "name": provider.get("name"),
                "folder": provider.get("folder"), "container_path": container_path, "host_path": host_path,
                "folders_from_files": bool(options.get("foldersFromFilesStructure")),
            })
            if container_path and not mounted:
                warnings.append("%s (grafana): dashboards path %s of provider %s is not bind-mounted"
                                % (name, container_path, provider.get("name")))
            for missing_mount in missing:
                if missing_mount not in ds_missing + dash_missing:
                    warnings.append(_never_loaded(name, missing_mount["path"], None, "mounted at %s, but this path "
                                                  "does not exist" % missing_mount["container_path"],
                                                  "no dashboard from it is"))
            for dash in files:
                if dash.get("host_path"):
                    root = host_path if host_path and _is_under(dash["host_path"], host_path) else \
                        os.path.dirname(dash["host_path"])
                    result["dashboards"].append(_dashboard_summary(dash["host_path"], root, provider))
    return result


def _is_under(path, directory):
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _unique(items):
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _dashboard_summary(path, root, provider):
    doc = load_json(path, "Grafana dashboard")
    if not isinstance(doc, dict):
        raise InputError(path, "a dashboard must be a JSON object")
    if "dashboard" in doc and isinstance(doc["dashboard"], dict):
        doc = doc["dashboard"]  # API export wrapper
    refs = []
    _datasource_refs(doc.get("panels") or [], refs)
    _datasource_refs(doc.get("templating") or {}, refs)
    _datasource_refs(doc.get("annotations") or {}, refs)
    _datasource_refs(doc.get("rows") or [], refs)
    unique = []
    for ref in refs:
        if ref not in unique:
            unique.append(ref)
    relative = os.path.relpath(path, root)
    return {
        "file": path, "relative_path": relative, "uid": doc.get("uid"), "title": doc.get("title"),
        "provider": provider.get("name"), "folder": os.path.dirname(relative) or provider.get("folder") or "",
        "inputs": [{"name": i.get("name"), "plugin": i.get("pluginId")}
                   for i in doc.get("__inputs") or [] if isinstance(i, dict)],
        "datasource_refs": unique, "panels": _count_panels(doc), "queries": _queries(doc),
    }


def _queries(doc):
    """Every target query of every panel (rows' nested panels included)."""
    out = []

    def walk(panels):
        for panel in panels or []:
            if not isinstance(panel, dict):
                continue
            panel_ds = panel.get("datasource")
            for target in panel.get("targets") or []:
                if not isinstance(target, dict):
                    continue
                ds = target.get("datasource") or panel_ds
                ds_type = ds.get("type") if isinstance(ds, dict) else None
                ds_ref = (ds.get("uid") if isinstance(ds, dict) else ds) if ds else None
                query = target.get("expr") or target.get("query")
                out.append({"panel_id": panel.get("id"), "panel_title": panel.get("title"), "panel_type": panel.get("type"),
                            "ref_id": target.get("refId"), "datasource_type": ds_type, "datasource": ds_ref,
                            "expr": query if isinstance(query, str) else None,
                            "query_type": target.get("queryType")})
            walk(panel.get("panels"))

    walk(doc.get("panels"))
    for row in doc.get("rows") or []:
        walk(row.get("panels"))
    return out


def _count_panels(doc):
    count = 0
    for panel in doc.get("panels") or []:
        count += 1 + len(panel.get("panels") or [])
    for row in doc.get("rows") or []:
        count += len(row.get("panels") or [])
    return count


def _yaml_files(directory):
    return _files(directory, (".yaml", ".yml"))


def _files(directory, suffixes):
    if not os.path.isdir(directory):
        return []
    out = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(suffixes))
    return out


_MYCNF_KEY = re.compile(r"^\s*([a-z_-]+)\s*=\s*(.*?)\s*$", re.I)


_VAR_REF = r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}?"
_DSN_PASSWORD_REF = re.compile(r"^([^:@/]+):" + _VAR_REF + r"@")
_WHOLE_REF = re.compile(r"^" + _VAR_REF + r"$")


def _secret_ref(project, name, variable, where):
    """Where a `${VAR}` secret is kept: the project's env file that defines it, else the environment."""
    for path in reversed(project.env_files or []):
        if os.path.isfile(path) and any(line.split("=", 1)[0].strip() == variable for line in _read_lines(path)):
            return {"variable": variable, "kept_in": path, "used_in": where}
    return {"variable": variable, "kept_in": None, "used_in": where}


def analyse_mysqld_exporter(project, name, svc, warnings):
    env = svc.get("environment") or {}
    result = {"service": name, "auth": None, "target": None, "my_cnf": None, "password_ref": None, "user": None}
    cnf_container = command_flag(svc, ["config.my-cnf"])
    if env.get("DATA_SOURCE_NAME"):
        dsn = env["DATA_SOURCE_NAME"]
        match = re.search(r"@(?:tcp|unix)?\(([^)]*)\)", dsn)
        result.update({"auth": "DATA_SOURCE_NAME", "target": match.group(1) if match else None,
                       "user": dsn.split(":", 1)[0] if ":" in dsn.split("@", 1)[0] else None})
        ref = _DSN_PASSWORD_REF.match(project.raw_environment(name, "DATA_SOURCE_NAME") or "")
        if ref:
            result["password_ref"] = _secret_ref(project, name, ref.group(2), "DATA_SOURCE_NAME")
    elif cnf_container:
        host = container_to_host(svc, cnf_container)
        result.update({"auth": "my.cnf", "my_cnf": {"container_path": cnf_container, "host_path": host}})
        if host and os.path.isfile(host):
            values = {}
            for line in _read_lines(host):
                match = _MYCNF_KEY.match(line)
                if match:
                    values[match.group(1).lower()] = match.group(2)
            result["target"] = "%s:%s" % (values.get("host", "localhost"), values.get("port", "3306"))
            result["my_cnf"]["mode"] = oct(os.stat(host).st_mode & 0o777)
            result["my_cnf"]["user"] = values.get("user")
            result["user"] = values.get("user")
        elif host:
            # A secret file kept out of git (a fresh clone has none): the old exporter could not start here
            # either. Not a reason to refuse a preview; the real run asks for the password (finding P028).
            result["my_cnf"]["missing"] = True
    elif command_flag(svc, ["mysqld.address"]):
        result.update({"auth": "flags", "target": command_flag(svc, ["mysqld.address"]),
                       "user": command_flag(svc, ["mysqld.username"])})
        ref = _WHOLE_REF.match(project.raw_environment(name, "MYSQLD_EXPORTER_PASSWORD") or "")
        if ref:
            result["password_ref"] = _secret_ref(project, name, ref.group(1), "MYSQLD_EXPORTER_PASSWORD")
    return result


def _read_lines(path):
    with open(path) as handle:
        return handle.read().splitlines()


def analyse_redis_exporter(project, name, svc, warnings):
    env = svc.get("environment") or {}
    addr = command_flag(svc, ["redis.addr"]) or env.get("REDIS_ADDR") or "redis://localhost:6379"
    ref = _WHOLE_REF.match(project.raw_environment(name, "REDIS_PASSWORD") or "")
    return {"service": name, "target": re.sub(r"^rediss?://", "", addr.split("@")[-1]),
            "password_set": bool(env.get("REDIS_PASSWORD") or command_flag(svc, ["redis.password"])),
            "password_ref": _secret_ref(project, name, ref.group(1), "REDIS_PASSWORD") if ref else None}


# --------------------------------------------------------------------------- apps

_URL_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]*@)?\[?([A-Za-z0-9_.-]+)\]?(?::(\d+))?")


def _endpoint_target(value, services):
    match = _URL_HOST.match(value or "")
    if not match:
        return None, None
    host, port = match.group(1), match.group(2)
    return (host if host in services else None), (int(port) if port else None)


def _telemetry(env, services, components):
    found = []
    for key, value in sorted(env.items()):
        if not TELEMETRY_ENV.match(key) or value is None:
            continue
        entry = {"key": key, "value": value}
        if _ENDPOINT_ENV.search(key):
            svc_name, port = _endpoint_target(value, services)
            if svc_name:
                entry["points_at"] = svc_name
                entry["points_at_component"] = components.get(svc_name)
            if port:
                entry["port"] = port
        found.append(entry)
    return found


def _scrape_targets(prometheus):
    """(job, target, line) for every static target."""
    for job in (prometheus or {}).get("scrape_configs") or []:
        for static in job.get("static_configs") or []:
            for target in static.get("targets") or []:
                yield job.get("job_name"), str(target), job.get("line")


def analyse_apps(project, summaries, prometheus):
    components = dict((n, s["component"]) for n, s in summaries.items())
    names = set(summaries)
    for s in summaries.values():
        if s.get("container_name"):
            names.add(s["container_name"])
    apps = []
    targets = list(_scrape_targets(prometheus))
    by_host = {}
    for job, target, line in targets:
        by_host.setdefault(target.split(":")[0], []).append({"job": job, "target": target, "line": line})
    for name, summary in sorted(summaries.items()):
        if summary["component"] != "app":
            continue
        svc = project.services[name]
        scrape = list(by_host.get(name, []))
        if summary.get("container_name") and summary["container_name"] != name:
            scrape += by_host.get(summary["container_name"], [])
        apps.append({
            "name": name, "where": "compose", "service": name,
            "telemetry_env": _telemetry(summary["environment"], names, components),
            "scrape_jobs": scrape,
            "jaeger_env": sorted(k for k in svc.get("environment") or {} if k.startswith(("JAEGER_", "OTEL_EXPORTER_JAEGER_"))),
        })
    for job, target, line in targets:
        host = target.split(":")[0]
        if host in HOST_ALIASES:
            apps.append({"name": job, "where": "host", "service": None, "telemetry_env": [],
                         "scrape_jobs": [{"job": job, "target": target, "line": line}], "jaeger_env": []})
    return apps


# --------------------------------------------------------------------------- entry point

_ANALYSERS = {
    "prometheus": analyse_prometheus, "otel_collector": analyse_otel_collector, "loki": analyse_loki,
    "promtail": analyse_promtail, "grafana": analyse_grafana,
}


def analyse_project(project_dir, compose_files=None, env_files=None, run_command=None, docker_cli="docker"):
    project = load_project(project_dir, compose_files, env_files, run_command, docker_cli)
    warnings = []
    summaries = {}
    for name, svc in sorted(project.services.items()):
        component, evidence = classify(name, svc)
        summaries[name] = _service_summary(project, name, svc, component, evidence)
        lookalike = unrecognised_lookalike(name, svc, component)
        if lookalike:
            warnings.append(lookalike)
    by_component = {}
    for name, summary in sorted(summaries.items()):
        by_component.setdefault(summary["component"], []).append(name)
    legacy = {
        "project_dir": project.project_dir,
        "project_name": project.name,
        "compose_files": project.files,
        "env_files": project.env_files,
        "resolved_by": project.resolved_by,
        "services": summaries,
        "components": by_component,
        "prometheus": None, "otel_collector": None, "loki": None, "promtail": None, "grafana": None,
        "exporters": {"mysqld_exporter": [], "redis_exporter": []},
        "named_volumes": {},
        "networks": sorted((project.model.get("networks") or {}).keys()),
        "warnings": warnings,
    }
    for component, analyser in _ANALYSERS.items():
        services = by_component.get(component) or []
        if services:
            legacy[component] = analyser(project, services[0], project.services[services[0]], warnings)
            if len(services) > 1:
                warnings.append("more than one %s service (%s); only %s is analysed" % (
                    component, ", ".join(services), services[0]))
    for name in by_component.get("mysqld_exporter", []):
        legacy["exporters"]["mysqld_exporter"].append(analyse_mysqld_exporter(project, name, project.services[name], warnings))
    for name in by_component.get("redis_exporter", []):
        legacy["exporters"]["redis_exporter"].append(analyse_redis_exporter(project, name, project.services[name], warnings))
    users = {}
    for name, svc in project.services.items():
        for vol in svc.get("volumes") or []:
            if vol.get("type") == "volume" and vol.get("source"):
                users.setdefault(vol["source"], set()).add(name)
    for vol_name, vol in sorted((project.model.get("volumes") or {}).items()):
        vol = vol if isinstance(vol, dict) else {}
        legacy["named_volumes"][vol_name] = {
            "used_by": sorted(users.get(vol_name, ())),
            # The engine's name: `name:` when set (compose config always resolves it), else <project>_<key>.
            "name": vol.get("name") or "%s_%s" % (legacy["project_name"], vol_name),
            "external": bool(vol.get("external")),
        }
    legacy["alertmanagers"] = [analyse_alertmanager(project, name, svc)
                               for name, svc in sorted(project.services.items()) if is_alertmanager(svc)]
    legacy["apps"] = analyse_apps(project, summaries, legacy["prometheus"])
    return legacy


def is_alertmanager(svc):
    """A Prometheus Alertmanager, by its image (the migration keeps it: it is not a stack component)."""
    repo = image_parts(svc.get("image"))[0] or ""
    return bool(re.search(r"(^|/)alertmanager$", repo))


_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-[^}]*)?\}|\$[A-Z_][A-Z0-9_]*")


def analyse_alertmanager(project, name, svc):
    """An Alertmanager service's config: its receivers, and the `${VAR}` placeholders in it - Alertmanager does not
    expand environment variables, so such a value is sent as written (the receiver did not work before either).
    A config that is not mounted or does not parse is recorded, never refused: the migration needs none of it."""
    container = command_flag(svc, ["config.file"]) or "/etc/alertmanager/alertmanager.yml"
    entry = mounted_file(project, svc, container)
    result = {"service": name, "config_container_path": container, "file": entry["path"] if entry else None,
              "receivers": [], "placeholders": [], "problem": None}
    if not _mounted_exists(entry):
        result["problem"] = "its config %s is not mounted from the project" % container
        return result
    try:
        text = entry["content"] if entry.get("content") is not None else read_text(entry["host_path"])
        doc = parse_yaml(text, entry["path"]) or {}
    except InputError as exc:
        result["problem"] = "its config does not parse: %s" % exc
        return result
    result["receivers"] = [str(r.get("name")) for r in (doc.get("receivers") or []) if isinstance(r, dict)]
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for match in _PLACEHOLDER.finditer(line):
            result["placeholders"].append({"line": number, "text": match.group()})
    return result
