# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each label of a legacy Promtail config means, and what becomes of it in the new pipeline.

The new pipeline writes one identity for container logs (the OTLP one): ``service_name``, ``service_namespace``,
``deployment_environment(_name)`` and ``stream``. Promtail's labels are therefore mapped, not reproduced:

- ``label_model(doc)`` reads a parsed Promtail config (``yamlutil.load_yaml``, line numbers kept) and says, for every
  label a scrape job makes, where it comes from: relabel rule, static label or pipeline stage, and its *kind*
  (service, project, job, stream, trace, stage, static, relabel).
- ``label_fates(model, identities, namespace)`` gives every (label, job) pair a fate record:
  ``{label, promtail_job, source, fate: carried|converted|replaced|dropped, new, reason, line}``.

``plugins/module_utils/logql.py`` applies the same decisions to dashboard queries.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import line_of

# Labels the new pipeline writes for container logs (alloy_stack._docker_logs) and Loki's OTLP path (stack-facts).
_DOCKER_LOG_LABELS_FALLBACK = frozenset(("service_name", "service_namespace", "deployment_environment",
                                         "deployment_environment_name", "stream"))
try:
    from ansible_collections.lgtm.stack.plugins.module_utils.alloy_stack import DOCKER_LOG_LABELS
except ImportError:  # pragma: no cover - until alloy_stack exports it
    DOCKER_LOG_LABELS = _DOCKER_LOG_LABELS_FALLBACK
OTLP_LOG_LABELS = frozenset(("service_name", "service_namespace", "service_instance_id",
                             "deployment_environment_name"))
NEW_LOG_LABELS = frozenset(DOCKER_LOG_LABELS) | OTLP_LOG_LABELS

CONTAINER_NAME = "__meta_docker_container_name"
COMPOSE_SERVICE = "__meta_docker_container_label_com_docker_compose_service"
COMPOSE_PROJECT = "__meta_docker_container_label_com_docker_compose_project"
LOG_STREAM = "__meta_docker_container_log_stream"
# Discovery labels a `labelmap` rule is expanded over (the ones a dashboard may plausibly query).
_DOCKER_META = (CONTAINER_NAME, COMPOSE_SERVICE, COMPOSE_PROJECT, LOG_STREAM, "__meta_docker_container_id",
                "__meta_docker_container_label_com_docker_compose_container_number",
                "__meta_docker_container_label_com_docker_compose_oneoff")
_SOURCE_KINDS = {CONTAINER_NAME: "service", COMPOSE_SERVICE: "service", COMPOSE_PROJECT: "project",
                 LOG_STREAM: "stream"}
SERVICE_STATIC_NAMES = ("app", "service", "compose_service", "container", "service_name")
_TRACE_NAME = re.compile(r"^(trace[_.]?id|traceid|trace)$", re.IGNORECASE)
DOCKER_LOG_PATH = "/var/lib/docker/containers"


def is_trace_label(name):
    return bool(_TRACE_NAME.match(str(name)))


def _go_expand(template, match):
    """Prometheus relabel replacement: $1, ${1}, $name."""
    def sub(m):
        key = m.group(1) or m.group(2)
        try:
            return (match.group(int(key)) if key.isdigit() else match.group(key)) or ""
        except IndexError:
            return ""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, template)


def _job_collects(job):
    """'docker' when the job reads container logs (docker_sd or docker's json files), else 'host'."""
    if job.get("docker_sd_configs"):
        return "docker", None
    paths = []
    for static in job.get("static_configs") or []:
        if isinstance(static, dict):
            path = (static.get("labels") or {}).get("__path__")
            if path:
                paths.append(str(path))
    for key in job:
        if key not in ("job_name", "static_configs", "file_sd_configs", "relabel_configs", "pipeline_stages"):
            if key.endswith("_configs") or key in ("journal", "syslog", "gcplog", "gelf", "loki_push_api",
                                                   "windows_events", "kafka", "cloudflare", "heroku_drain"):
                return "host", key
    if paths and all(p.startswith(DOCKER_LOG_PATH) for p in paths):
        return "docker", ", ".join(paths)
    return "host", ", ".join(paths) or "file_sd targets"


def _entry(job_name, collects, where, source, kind, line, **extra):
    entry = {"promtail_job": job_name, "collects": collects, "where": where, "source": source, "kind": kind,
             "line": line}
    entry.update(extra)
    return entry


def _relabel_entries(job_name, collects, where, rules):
    out = []
    for rule in rules or []:
        if not isinstance(rule, dict):
            continue
        action = str(rule.get("action") or "replace").lower()
        sources = [str(s) for s in rule.get("source_labels") or []]
        regex = str(rule.get("regex") if rule.get("regex") is not None else "(.*)")
        replacement = str(rule.get("replacement") if rule.get("replacement") is not None else "$1")
        line = getattr(rule, "line", None)
        if action == "labelmap":
            try:
                pattern = re.compile(regex)
            except re.error:
                continue
            for meta in _DOCKER_META:
                match = pattern.fullmatch(meta)
                if match:
                    target = _go_expand(replacement, match)
                    out.append((target, _entry(job_name, collects, where, "relabel rule", _SOURCE_KINDS.get(
                        meta, "relabel"), line, source_labels=[meta], regex=regex, action=action)))
            continue
        if action != "replace":
            continue
        target = rule.get("target_label")
        if not target or str(target).startswith("__"):
            continue
        kind = "relabel"
        known = [_SOURCE_KINDS[s] for s in sources if s in _SOURCE_KINDS]
        if len(sources) == 1 and known:
            kind = known[0]
        extra = {"source_labels": sources, "regex": regex, "replacement": replacement, "action": action}
        if not sources or "$" not in replacement:
            kind = "job" if target == "job" else ("service_static" if target in SERVICE_STATIC_NAMES else "static")
            extra["value"] = replacement
        if kind == "service" and sources == [CONTAINER_NAME]:
            extra["container_name"] = True
        out.append((str(target), _entry(job_name, collects, where, "relabel rule", kind, line, **extra)))
    return out


def _stage_entries(job_name, collects, where, stages, parsed=None):
    """Labels made by pipeline stages; `parsed` maps extracted names to the parser stage that made them."""
    out = []
    parsed = dict(parsed or {})
    for stage in stages or []:
        if not isinstance(stage, dict):
            continue
        for name, body in stage.items():
            line = line_of(stage, name)
            body = body if isinstance(body, dict) else {}
            if name in ("docker", "cri"):
                out.append(("stream", _entry(job_name, collects, where, "stage", "stream", line, stage=name)))
            elif name == "json":
                for key, expr in (body.get("expressions") or {}).items():
                    parsed[str(key)] = {"parser": "json", "expression": str(expr if expr else key),
                                        "from_source": body.get("source")}
            elif name == "logfmt":
                for key, field in (body.get("mapping") or {}).items():
                    parsed[str(key)] = {"parser": "logfmt", "expression": str(field if field else key),
                                        "from_source": body.get("source")}
            elif name == "regex":
                expression = str(body.get("expression") or "")
                for group in re.findall(r"\(\?P?<([A-Za-z_]\w*)>", expression):
                    parsed[group] = {"parser": "regex", "expression": expression, "from_source": body.get("source")}
            elif name == "labels":
                for label, field in (stage.get("labels") or {}).items():
                    field = str(field) if field else str(label)
                    origin = parsed.get(field) or {}
                    kind = "trace" if is_trace_label(label) else "stage"
                    if str(label) == "stream" and origin.get("expression") == "stream":
                        kind = "stream"  # docker json-file's own stream field
                    out.append((str(label), _entry(job_name, collects, where, "stage", kind, line, stage="labels",
                                                   field=field, parser=origin.get("parser"),
                                                   expression=origin.get("expression"),
                                                   parsed_from=origin.get("from_source"))))
            elif name == "static_labels":
                for label, value in (stage.get("static_labels") or {}).items():
                    kind = "job" if label == "job" else (
                        "service_static" if label in SERVICE_STATIC_NAMES else "static")
                    out.append((str(label), _entry(job_name, collects, where, "stage", kind, line,
                                                   stage="static_labels", value=str(value))))
            elif name == "match":
                out += _stage_entries(job_name, collects, where, body.get("stages"), parsed)
    return out


def quote(value):
    """A LogQL double-quoted string."""
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def parser_for(entry, label):
    """(LogQL parser, (label, field) or None) a query needs for a label a Promtail parser stage extracted."""
    parser = entry.get("parser")
    expression = entry.get("expression") or label
    if parser in ("json", "logfmt"):
        if parser == "json" and not re.match(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", expression):
            return "json", None  # a JMESPath LogQL cannot express: the plain parser, fields by their names
        return parser, (label, expression)
    if parser == "regex":
        return "regexp " + ("`%s`" % expression if "`" not in expression else quote(expression)), None
    return None, None


def label_model(doc):
    """{label: {"label", "sources": [entry...]}} for every label the Promtail config `doc` makes.

    An entry: promtail_job, collects (docker|host), where (what the job reads), source (relabel rule | static |
    stage), kind (service | service_static | project | job | stream | trace | stage | static | relabel), line, and
    the details of its origin (value, source_labels, regex, parser, expression...).
    """
    model = {}
    for job in (doc or {}).get("scrape_configs") or []:
        if not isinstance(job, dict):
            continue
        job_name = str(job.get("job_name") or "")
        collects, where = _job_collects(job)
        found = []
        for static in job.get("static_configs") or []:
            if not isinstance(static, dict):
                continue
            labels = static.get("labels") or {}
            for label, value in labels.items():
                if str(label).startswith("__"):
                    continue
                kind = "job" if label == "job" else (
                    "service_static" if label in SERVICE_STATIC_NAMES else (
                        "trace" if is_trace_label(label) else "static"))
                found.append((str(label), _entry(job_name, collects, where, "static", kind,
                                                 line_of(labels, label), value=str(value))))
        found += _relabel_entries(job_name, collects, where, job.get("relabel_configs"))
        found += _stage_entries(job_name, collects, where, job.get("pipeline_stages"))
        for label, entry in found:
            model.setdefault(label, {"label": label, "sources": []})["sources"].append(entry)
    return model


def _identity(identities, value):
    if value in identities:
        return identities[value]
    return None


def _fate(label, entry, identities, namespace):
    kind = entry["kind"]
    rec = {"label": label, "promtail_job": entry["promtail_job"], "source": entry["source"], "line": entry["line"],
           "kind": kind}
    if entry["collects"] == "host" and kind not in ("service", "service_static"):
        return dict(rec, fate="dropped", new=None, reason=(
            "job %s read %s, which the new pipeline does not collect: queries on it find nothing; add a "
            "loki.source.file (or the matching Alloy source) for it, or remove the panels"
            % (entry["promtail_job"], entry["where"])))
    if kind == "service":
        what = "container name" if entry.get("container_name") else "compose service"
        return dict(rec, fate="replaced", new="service_name", reason=(
            "the %s becomes the service's identity: service_name (the app's service.name; the compose service name "
            "for other containers)" % what))
    if kind == "service_static":
        value = entry.get("value")
        new = _identity(identities, value)
        if new is None:
            return dict(rec, fate="dropped", new=None, reason=(
                "static %s=%r names no compose service; the new pipeline writes no such label" % (label, value)))
        return dict(rec, fate="replaced", new='service_name="%s"' % new, reason=(
            "static %s=%r names compose service %s: its logs carry service_name=%r" % (label, value, value, new)))
    if kind == "project":
        return dict(rec, fate="dropped", new=None, reason=(
            "the new pipeline collects only this compose project; the matcher is removed"))
    if kind in ("job", "static"):
        return dict(rec, fate="dropped", new=None, reason=(
            "%s=%r was a constant for every line of Promtail job %s; the new pipeline collects the project's "
            "containers under service_namespace=%r, so the matcher is removed"
            % (label, entry.get("value"), entry["promtail_job"], namespace)))
    if kind == "stream":
        if label == "stream":
            return dict(rec, fate="carried", new="stream", reason="the new pipeline writes stream (stdout/stderr)")
        return dict(rec, fate="replaced", new="stream", reason="the new pipeline writes the log stream as stream")
    if kind == "trace":
        return dict(rec, fate="replaced", new="| trace_id", reason=(
            "trace ids are structured metadata trace_id, never a label: a label filter after the selector"))
    if kind == "stage":
        parser, param = parser_for(entry, label)
        if parser and param and param[0] != param[1]:
            parser = "%s %s=%s" % (parser, param[0], quote(param[1]))
        new = "| %s | %s" % (parser, label) if parser else "| %s" % label
        return dict(rec, fate="converted", new=new, reason=(
            "made by a Promtail %s stage: a LogQL label filter after the selector (it also matches parsed labels "
            "and structured metadata)" % entry.get("stage", "pipeline")))
    return dict(rec, fate="converted", new="| %s" % label, reason=(
        "made by a relabel rule from %s, which the new pipeline does not write: a label filter after the selector "
        "matches only lines that carry the field" % ", ".join(entry.get("source_labels") or ["a constant"])))


def label_fates(model, identities, namespace):
    """A fate record per (label, Promtail job) of the model, in the model's order."""
    identities = identities or {}
    return [_fate(label, entry, identities, namespace)
            for label, meaning in (model or {}).items() for entry in meaning.get("sources") or []]
