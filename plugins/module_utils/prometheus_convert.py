# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Convert a Prometheus configuration's scrape jobs to Alloy components.

Follows the shape `alloy convert --source-format=prometheus` produces: one
`prometheus.scrape` per job with `job_name` kept (so dashboards keep their
`job` label), service discovery as `discovery.*` components, `relabel_configs`
as a `discovery.relabel`, `metric_relabel_configs` as a `prometheus.relabel`
in front of the remote write. What cannot be converted is returned in
`unconverted` with the job and the reason, never silently dropped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lgtm.stack.plugins.module_utils.alloy import (
    Attribute,
    Block,
    Expr,
    render,
    render_value,
    sanitize_label,
    validate,
)
from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK

DEFAULT_FORWARD_TO = "prometheus.remote_write.mimir.receiver"
PROMETHEUS_DEFAULT_INTERVAL = "1m"

# Scrape options whose Alloy argument has the same name and meaning.
_SAME_NAME = ("scrape_interval", "scrape_timeout", "metrics_path", "scheme", "honor_labels", "honor_timestamps",
              "track_timestamps_staleness", "params", "sample_limit", "target_limit", "label_limit",
              "label_name_length_limit", "label_value_length_limit", "body_size_limit", "enable_http2",
              "follow_redirects", "proxy_url", "no_proxy", "proxy_from_environment", "scrape_protocols",
              "enable_compression", "native_histogram_bucket_limit", "scrape_classic_histograms",
              "bearer_token_file")
_RULE_KEYS = ("source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action")
_TLS_KEYS = ("ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify", "min_version", "ca", "cert")
_SD_HANDLED = ("static_configs", "file_sd_configs", "docker_sd_configs", "dns_sd_configs", "http_sd_configs")
_HANDLED = set(_SAME_NAME) | set(_SD_HANDLED) | {
    "job_name",
    "relabel_configs",
    "metric_relabel_configs",
    "basic_auth",
    "authorization",
    "bearer_token",
    "tls_config",
    "line",
    "file_sd_files",
}


_SIZE = re.compile(r"^\s*(\d+)\s*([KMGTP]?i?B)?\s*$", re.I)


def _bytes(value):
    """Prometheus sizes ("10MB", base 2 like Prometheus' units.Base2Bytes) to a byte count."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        return None
    power = "BKMGTP".index((match.group(2) or "B")[0].upper())
    return int(match.group(1)) * 1024 ** power


def _env_name(job, what):
    return "LGTM_SCRAPE_%s_%s" % (re.sub(r"\W", "_", job).upper(), what)


def _rules(block_name, rules, job, unconverted, key):
    blocks = []
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, dict):
            unconverted.append({"job": job, "key": "%s[%d]" % (key, index), "reason": "not a mapping"})
            continue
        body = []
        for name in _RULE_KEYS:
            if name in rule:
                value = rule[name]
                if name == "source_labels":
                    value = [str(v) for v in value]
                elif name == "modulus":
                    value = int(value)
                else:
                    value = str(value)
                body.append(Attribute(name, value))
        for extra in sorted(set(rule) - set(_RULE_KEYS)):
            unconverted.append({"job": job, "key": "%s[%d].%s" % (key, index, extra), "reason": "unknown relabel key"})
        blocks.append(Block(block_name, body=body))
    return blocks


def _credential(job, value, what, env_vars):
    """A secret value: a masked one (from legacy_stack_info) becomes sys.env(); a real one stays."""
    if value == MASK:
        name = _env_name(job, what)
        env_vars.append({"job": job, "variable": name, "what": what})
        return Expr('sys.env("%s")' % name)
    return value


def _auth_block(block_name, auth, secret_key, file_key, what, job, env_vars, mounts):
    """basic_auth / authorization: plain fields as they are, the secret through _credential, the file mounted."""
    inner = []
    if block_name == "authorization":
        inner.append(Attribute("type", str(auth.get("type", "Bearer"))))
    if "username" in auth:
        inner.append(Attribute("username", str(auth["username"])))
    if secret_key in auth:
        inner.append(Attribute(secret_key, _credential(job, auth[secret_key], what, env_vars)))
    if file_key in auth:
        inner.append(Attribute(file_key, str(auth[file_key])))
        mounts.append({"job": job, "container_path": str(auth[file_key])})
    return Block(block_name, body=inner)


def convert_job(job, global_cfg, forward_to, target_map, unconverted, env_vars, mounts):
    """(blocks, info) for one scrape job."""
    name = str(job["job_name"])
    label = sanitize_label(name)
    blocks = []
    target_exprs = []
    static_targets = []
    for static in job.get("static_configs") or []:
        labels = dict((str(k), str(v)) for k, v in (static.get("labels") or {}).items())
        for target in static.get("targets") or []:
            address = target_map.get(str(target), str(target))
            entry = {"__address__": address}
            entry.update(labels)
            static_targets.append(entry)
    if static_targets:
        target_exprs.append(static_targets)
    for index, sd in enumerate(job.get("file_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        body = [Attribute("files", [str(f) for f in sd.get("files") or []])]
        if sd.get("refresh_interval"):
            body.append(Attribute("refresh_interval", str(sd["refresh_interval"])))
        blocks.append(Block("discovery.file", sd_label, body))
        target_exprs.append(Expr("discovery.file.%s.targets" % sd_label))
        for pattern in sd.get("files") or []:
            mounts.append({"job": name, "container_path": str(pattern)})
    for index, sd in enumerate(job.get("docker_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        body = [Attribute("host", str(sd.get("host", "unix:///var/run/docker.sock")))]
        for key in ("port", "host_networking_host", "refresh_interval"):
            if key in sd:
                body.append(Attribute(key, sd[key] if isinstance(sd[key], int) else str(sd[key])))
        for flt in sd.get("filters") or []:
            body.append(Block("filter", body=[Attribute("name", str(flt.get("name"))),
                                              Attribute("values", [str(v) for v in flt.get("values") or []])]))
        blocks.append(Block("discovery.docker", sd_label, body))
        target_exprs.append(Expr("discovery.docker.%s.targets" % sd_label))
    for index, sd in enumerate(job.get("dns_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        body = [Attribute("names", [str(n) for n in sd.get("names") or []])]
        for key in ("type", "port", "refresh_interval"):
            if key in sd:
                body.append(Attribute(key, sd[key] if isinstance(sd[key], int) else str(sd[key])))
        blocks.append(Block("discovery.dns", sd_label, body))
        target_exprs.append(Expr("discovery.dns.%s.targets" % sd_label))
    for index, sd in enumerate(job.get("http_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        body = [Attribute("url", str(sd.get("url")))]
        if sd.get("refresh_interval"):
            body.append(Attribute("refresh_interval", str(sd["refresh_interval"])))
        blocks.append(Block("discovery.http", sd_label, body))
        target_exprs.append(Expr("discovery.http.%s.targets" % sd_label))
    for key in sorted(k for k in job if k.endswith("_sd_configs") and k not in _SD_HANDLED):
        unconverted.append({"job": name, "key": key,
                            "reason": "service discovery not converted; add the matching discovery.* component by hand"})

    if not target_exprs:
        targets = []
    elif len(target_exprs) == 1:
        targets = target_exprs[0]
    else:
        targets = Expr("array.concat(%s)" % ", ".join(
            e.text if isinstance(e, Expr) else render_value(e, 1) for e in target_exprs))

    if job.get("relabel_configs"):
        rules = _rules("rule", job["relabel_configs"], name, unconverted, "relabel_configs")
        blocks.append(Block("discovery.relabel", label, [Attribute("targets", targets)] + rules))
        targets = Expr("discovery.relabel.%s.output" % label)

    scrape_forward = Expr(forward_to)
    if job.get("metric_relabel_configs"):
        rules = _rules("rule", job["metric_relabel_configs"], name, unconverted, "metric_relabel_configs")
        blocks.append(Block("prometheus.relabel", label, [Attribute("forward_to", [Expr(forward_to)])] + rules))
        scrape_forward = Expr("prometheus.relabel.%s.receiver" % label)

    body = [Attribute("targets", targets), Attribute("forward_to", [scrape_forward]), Attribute("job_name", name)]
    interval = job.get("scrape_interval") or global_cfg.get("scrape_interval")
    timeout = job.get("scrape_timeout") or global_cfg.get("scrape_timeout")
    settings = dict(job)
    settings["scrape_interval"] = interval or PROMETHEUS_DEFAULT_INTERVAL  # Alloy's own default is 60s too
    if timeout:
        settings["scrape_timeout"] = timeout
    for key in _SAME_NAME:
        if key in settings and settings[key] is not None:
            value = settings[key]
            if key == "params":
                value = dict((str(k), [str(x) for x in v]) for k, v in value.items())
            elif key == "scrape_protocols":
                value = [str(v) for v in value]
            elif key == "body_size_limit":
                value = _bytes(value)
                if value is None:
                    unconverted.append({"job": name, "key": key, "reason": "size %r not understood" % settings[key]})
                    continue
            elif not isinstance(value, (bool, int)):
                value = str(value)
            body.append(Attribute(key, value))
    if job.get("bearer_token"):
        body.append(Attribute("bearer_token", _credential(name, job["bearer_token"], "BEARER_TOKEN", env_vars)))
    for block_name, secret_key, file_key, what in (("basic_auth", "password", "password_file", "PASSWORD"),
                                                   ("authorization", "credentials", "credentials_file", "CREDENTIALS")):
        if job.get(block_name):
            body.append(_auth_block(block_name, job[block_name], secret_key, file_key, what, name, env_vars, mounts))
    if job.get("tls_config"):
        tls = job["tls_config"]
        inner = [Attribute(k, tls[k] if isinstance(tls[k], bool) else str(tls[k])) for k in _TLS_KEYS if k in tls]
        for extra in sorted(set(tls) - set(_TLS_KEYS)):
            unconverted.append({"job": name, "key": "tls_config.%s" % extra, "reason": "TLS option not converted"})
        for key in ("ca_file", "cert_file", "key_file"):
            if key in tls:
                mounts.append({"job": name, "container_path": str(tls[key])})
        body.append(Block("tls_config", body=inner))
    for key in sorted(set(job) - _HANDLED):
        if not key.endswith("_sd_configs"):
            unconverted.append({"job": name, "key": key, "reason": "scrape option not converted"})
    blocks.append(Block("prometheus.scrape", label, body, comment="Carried over from Prometheus job %r." % name))
    return blocks, {"job_name": name, "label": label, "static_targets": [t["__address__"] for t in static_targets]}


def convert(prometheus, forward_to=DEFAULT_FORWARD_TO, target_map=None, exclude_jobs=None, header=None):
    """Convert a parsed prometheus.yml (or legacy_stack_info's `prometheus`) to Alloy.

    Returns {"alloy": text, "jobs": [...], "unconverted": [...], "env_vars": [...], "mounts": [...],
    "external_labels": {...}}. The text passes the collection's Alloy parser except for the
    reference to `forward_to`, which the caller's config declares.
    """
    prometheus = prometheus or {}
    global_cfg = dict(prometheus.get("global") or {})
    target_map = dict(target_map or {})
    exclude = set(exclude_jobs or [])
    unconverted, env_vars, mounts, blocks, jobs = [], [], [], [], []
    seen_labels = {}
    for job in prometheus.get("scrape_configs") or []:
        name = str(job.get("job_name"))
        if name in exclude:
            continue
        label = sanitize_label(name)
        if label in seen_labels:
            raise ValueError("jobs %r and %r map to the same Alloy label %r" % (seen_labels[label], name, label))
        seen_labels[label] = name
        job_blocks, info = convert_job(job, global_cfg, forward_to, target_map, unconverted, env_vars, mounts)
        blocks.extend(job_blocks)
        jobs.append(info)
    for key in ("rule_files", "alerting", "remote_read"):
        if prometheus.get(key):
            reason = {"rule_files": "Alloy does not evaluate rules: load them into Mimir's ruler",
                      "alerting": "alerting moves to Grafana or Mimir's Alertmanager",
                      "remote_read": "not supported by Alloy"}[key]
            unconverted.append({"job": None, "key": key, "reason": reason})
    for key in sorted(set(global_cfg) - {"scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels"}):
        unconverted.append({"job": None, "key": "global.%s" % key, "reason": "global option not converted"})
    text = render(blocks, header=header)
    return {"alloy": text, "jobs": jobs, "unconverted": unconverted, "env_vars": env_vars, "mounts": mounts,
            "external_labels": dict((str(k), str(v)) for k, v in (global_cfg.get("external_labels") or {}).items())}


def check_converted(text, forward_to=DEFAULT_FORWARD_TO):
    """Validate converted text together with a stub of its forward_to target."""
    parts = forward_to.split(".")
    stub = '%s "%s" {\n}\n' % (".".join(parts[:-2]), parts[-2]) if len(parts) >= 3 else ""
    return validate(text + "\n" + stub)
