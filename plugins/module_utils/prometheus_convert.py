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
PROMETHEUS_DEFAULT_TIMEOUT = "10s"
# prometheus.scrape's own default scrape_timeout (alloy-v1.18.1-components.json); Validate() refuses a timeout
# above the interval, so an interval under 10s needs an explicit timeout.
ALLOY_DEFAULT_TIMEOUT = 10.0

# Scrape options whose Alloy argument has the same name and meaning.
_SAME_NAME = ("scrape_interval", "scrape_timeout", "metrics_path", "scheme", "honor_labels", "honor_timestamps",
              "track_timestamps_staleness", "params", "sample_limit", "target_limit", "label_limit",
              "label_name_length_limit", "label_value_length_limit", "body_size_limit", "enable_http2",
              "follow_redirects", "proxy_url", "no_proxy", "proxy_from_environment", "scrape_protocols",
              "enable_compression", "native_histogram_bucket_limit", "scrape_classic_histograms")
_RULE_KEYS = ("source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action")
# Prometheus tls_config key -> Alloy tls_config attribute (Alloy takes the inline PEM as ca_pem/cert_pem/key_pem,
# never ca/cert/key: alloy-v1.18.1-components.json, prometheus.scrape tls_config).
_TLS_KEYS = (("ca_file", "ca_file"), ("cert_file", "cert_file"), ("key_file", "key_file"), ("ca", "ca_pem"),
             ("cert", "cert_pem"), ("key", "key_pem"), ("server_name", "server_name"),
             ("insecure_skip_verify", "insecure_skip_verify"), ("min_version", "min_version"))
_TLS_VERSIONS = ("TLS10", "TLS11", "TLS12", "TLS13")
_FILE_KEYS = ("ca_file", "cert_file", "key_file")
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
    "bearer_token_file",
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


_UNITS = "BKMGTP"


def _alloy_bytes(count):
    """A byte count as Alloy's `format: bytes` string ("10MiB", "512KiB", "0B"): the largest exact unit."""
    power = 0
    while count and count % 1024 == 0 and power < len(_UNITS) - 1:
        count //= 1024
        power += 1
    return "%d%s" % (count, "B" if power == 0 else _UNITS[power] + "iB")


_DURATION_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_DURATION_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def _seconds(value):
    """A Prometheus duration ("1m30s", "1d", "500ms") in seconds, or None when it is not one."""
    text = str(value).strip()
    if not text:
        return None
    if text == "0":
        return 0.0
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return float(sum(int(n) * _DURATION_SECONDS[u] for n, u in parts))


def _go_duration(value):
    """A Prometheus duration as Go's time.ParseDuration reads it (Alloy has no d, w or y units)."""
    text = str(value).strip()
    if not re.search(r"\d+[dwy]", text):
        return text
    seconds = _seconds(text)
    if seconds is None:
        return text
    hours, rest = divmod(int(round(seconds * 1000)), 3600000)
    minutes, rest = divmod(rest, 60000)
    secs, millis = divmod(rest, 1000)
    out = "".join("%d%s" % (n, u) for n, u in ((hours, "h"), (minutes, "m"), (secs, "s"), (millis, "ms")) if n)
    return out or "0s"


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


def _map_file(path, file_map):
    """The path Alloy reads for a file the old Prometheus container read at `path` (exact or under a directory)."""
    path = str(path)
    if path in file_map:
        return file_map[path]
    for source in sorted(file_map, key=len, reverse=True):
        if path.startswith(source.rstrip("/") + "/"):
            return file_map[source].rstrip("/") + path[len(source.rstrip("/")):]
    return None


def _file(job, key, path, mounts, file_map):
    """Record a file the job reads (it must be mounted into Alloy) and return the path to write."""
    mapped = _map_file(path, file_map)
    mounts.append({"job": job, "key": key, "container_path": str(path), "alloy_path": mapped or str(path),
                   "mapped": mapped is not None})
    return mapped or str(path)


def _auth_block(block_name, auth, secret_key, file_key, what, job, env_vars, mounts, file_map):
    """basic_auth / authorization: plain fields as they are, the secret through _credential, the file mounted."""
    inner = []
    if block_name == "authorization":
        inner.append(Attribute("type", str(auth.get("type", "Bearer"))))
    if "username" in auth:
        inner.append(Attribute("username", str(auth["username"])))
    if secret_key in auth:
        inner.append(Attribute(secret_key, _credential(job, auth[secret_key], what, env_vars)))
    if file_key in auth:
        inner.append(Attribute(file_key, _file(job, "%s.%s" % (block_name, file_key), auth[file_key], mounts,
                                               file_map)))
    return Block(block_name, body=inner)


def _timing(job, global_cfg, name, unconverted):
    """(interval, timeout or None) as Prometheus resolves them, in a form prometheus.scrape accepts.

    Prometheus: a job without scrape_timeout takes the global one (10s by default) capped at its interval; an
    explicit timeout above the interval is refused. Alloy: scrape_timeout defaults to 10s and Validate() refuses it
    above scrape_interval, so the timeout is written whenever it differs from 10s.
    """
    interval = str(job.get("scrape_interval") or global_cfg.get("scrape_interval") or PROMETHEUS_DEFAULT_INTERVAL)
    interval_s = _seconds(interval)
    if interval_s is None:
        unconverted.append({"job": name, "key": "scrape_interval",
                            "reason": "duration %r not understood; Alloy's default 1m is used" % interval})
        interval, interval_s = PROMETHEUS_DEFAULT_INTERVAL, 60.0
    explicit = job.get("scrape_timeout")
    timeout = str(explicit or global_cfg.get("scrape_timeout") or PROMETHEUS_DEFAULT_TIMEOUT)
    timeout_s = _seconds(timeout)
    if timeout_s is None:
        unconverted.append({"job": name, "key": "scrape_timeout",
                            "reason": "duration %r not understood; the interval is used" % timeout})
        timeout, timeout_s = interval, interval_s
    if timeout_s > interval_s:
        if explicit:
            unconverted.append({"job": name, "key": "scrape_timeout",
                                "reason": "scrape_timeout %s is above scrape_interval %s (Prometheus and Alloy "
                                          "refuse it); the interval is used as the timeout" % (timeout, interval)})
        timeout, timeout_s = interval, interval_s
    interval = _go_duration(interval)
    if timeout_s == ALLOY_DEFAULT_TIMEOUT and not explicit and not global_cfg.get("scrape_timeout"):
        return interval, None
    return interval, _go_duration(timeout)


def _tls_block(name, tls, unconverted, env_vars, mounts, file_map):
    inner = []
    for key, alloy_key in _TLS_KEYS:
        if key not in tls or tls[key] is None:
            continue
        value = tls[key]
        if key in _FILE_KEYS:
            value = _file(name, "tls_config.%s" % key, value, mounts, file_map)
        elif key == "key":
            value = _credential(name, value, "TLS_KEY", env_vars)
        elif key == "min_version" and str(value) not in _TLS_VERSIONS:
            unconverted.append({"job": name, "key": "tls_config.min_version",
                                "reason": "%r is not one of %s" % (value, ", ".join(_TLS_VERSIONS))})
            continue
        elif not isinstance(value, bool):
            value = str(value)
        inner.append(Attribute(alloy_key, value))
    for extra in sorted(set(tls) - set(k for k, _alloy_key in _TLS_KEYS)):
        unconverted.append({"job": name, "key": "tls_config.%s" % extra, "reason": "TLS option not converted"})
    return Block("tls_config", body=inner)


def _static_targets(job, target_map):
    """static_configs as Alloy target maps, addresses passed through `target_map`."""
    static_targets = []
    for static in job.get("static_configs") or []:
        labels = dict((str(k), str(v)) for k, v in (static.get("labels") or {}).items())
        for target in static.get("targets") or []:
            address = target_map.get(str(target), str(target))
            entry = {"__address__": address}
            entry.update(labels)
            static_targets.append(entry)
    return static_targets


def _sd_attributes(sd, keys):
    """The Attributes of a *_sd_configs entry's keys that Alloy takes under the same name; a refresh_interval as Go
    reads durations (Prometheus' 1d is 24h to Alloy), and none when it is empty or 0 (Alloy's default applies: it
    refuses a refresh interval that is not positive)."""
    out = []
    for key in keys:
        value = sd.get(key)
        if value in (None, "") or (key == "refresh_interval" and not value):
            continue
        if key == "refresh_interval":
            value = _go_duration(value)
        out.append(Attribute(key, value if isinstance(value, int) and not isinstance(value, bool) else str(value)))
    return out


def _discovery(job, name, label, static_targets, unconverted, mounts, file_map):
    """(blocks, target expressions): the static targets and one discovery.* component per *_sd_configs entry."""
    blocks = []
    target_exprs = []
    if static_targets:
        target_exprs.append(static_targets)
    for index, sd in enumerate(job.get("file_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        files = [_file(name, "file_sd_configs[%d].files" % index, f, mounts, file_map) for f in sd.get("files") or []]
        body = [Attribute("files", files)] + _sd_attributes(sd, ("refresh_interval",))
        blocks.append(Block("discovery.file", sd_label, body))
        target_exprs.append(Expr("discovery.file.%s.targets" % sd_label))
    for index, sd in enumerate(job.get("docker_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        body = [Attribute("host", str(sd.get("host", "unix:///var/run/docker.sock")))]
        body += _sd_attributes(sd, ("port", "host_networking_host", "refresh_interval"))
        for flt in sd.get("filters") or []:
            body.append(Block("filter", body=[Attribute("name", str(flt.get("name"))),
                                              Attribute("values", [str(v) for v in flt.get("values") or []])]))
        blocks.append(Block("discovery.docker", sd_label, body))
        target_exprs.append(Expr("discovery.docker.%s.targets" % sd_label))
    for index, sd in enumerate(job.get("dns_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        body = [Attribute("names", [str(n) for n in sd.get("names") or []])]
        body += _sd_attributes(sd, ("type", "port", "refresh_interval"))
        blocks.append(Block("discovery.dns", sd_label, body))
        target_exprs.append(Expr("discovery.dns.%s.targets" % sd_label))
    for index, sd in enumerate(job.get("http_sd_configs") or []):
        sd_label = label if index == 0 else "%s_%d" % (label, index)
        body = [Attribute("url", str(sd.get("url")))]
        body += _sd_attributes(sd, ("refresh_interval",))
        blocks.append(Block("discovery.http", sd_label, body))
        target_exprs.append(Expr("discovery.http.%s.targets" % sd_label))
    for key in sorted(k for k in job if k.endswith("_sd_configs") and k not in _SD_HANDLED):
        unconverted.append({"job": name, "key": key,
                            "reason": "service discovery not converted; add the matching discovery.* component by hand"})
    return blocks, target_exprs


def _targets(target_exprs):
    """The scrape's targets: nothing, the one source, or every source concatenated."""
    if not target_exprs:
        return []
    if len(target_exprs) == 1:
        return target_exprs[0]
    return Expr("array.concat(%s)" % ", ".join(
        e.text if isinstance(e, Expr) else render_value(e, 1) for e in target_exprs))


def _relabel(job, name, label, targets, forward_to, unconverted):
    """(blocks, targets, scrape forward_to): relabel_configs as a discovery.relabel over the targets,
    metric_relabel_configs as a prometheus.relabel in front of `forward_to`."""
    blocks = []
    if job.get("relabel_configs"):
        rules = _rules("rule", job["relabel_configs"], name, unconverted, "relabel_configs")
        blocks.append(Block("discovery.relabel", label, [Attribute("targets", targets)] + rules))
        targets = Expr("discovery.relabel.%s.output" % label)

    scrape_forward = Expr(forward_to)
    if job.get("metric_relabel_configs"):
        rules = _rules("rule", job["metric_relabel_configs"], name, unconverted, "metric_relabel_configs")
        blocks.append(Block("prometheus.relabel", label, [Attribute("forward_to", [Expr(forward_to)])] + rules))
        scrape_forward = Expr("prometheus.relabel.%s.receiver" % label)
    return blocks, targets, scrape_forward


def _scrape_settings(job, global_cfg, name, unconverted):
    """The scrape options Alloy takes under the same name, with the interval and timeout as _timing resolves them."""
    body = []
    interval, timeout = _timing(job, global_cfg, name, unconverted)
    settings = dict(job)
    settings["scrape_interval"] = interval
    settings.pop("scrape_timeout", None)
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
                # Prometheus reads it as units.Base2Bytes ("10MB" = 10 MiB); Alloy takes a bytes string, never a number.
                value = _bytes(value)
                if value is None:
                    unconverted.append({"job": name, "key": key, "reason": "size %r not understood" % settings[key]})
                    continue
                value = _alloy_bytes(value)
            elif not isinstance(value, (bool, int)):
                value = str(value)
            body.append(Attribute(key, value))
    return body


def _scrape_auth(job, name, unconverted, env_vars, mounts, file_map):
    """The job's bearer token, basic_auth / authorization and tls_config."""
    body = []
    if job.get("bearer_token"):
        body.append(Attribute("bearer_token", _credential(name, job["bearer_token"], "BEARER_TOKEN", env_vars)))
    if job.get("bearer_token_file"):
        body.append(Attribute("bearer_token_file", _file(name, "bearer_token_file", job["bearer_token_file"], mounts,
                                                         file_map)))
    for block_name, secret_key, file_key, what in (("basic_auth", "password", "password_file", "PASSWORD"),
                                                   ("authorization", "credentials", "credentials_file", "CREDENTIALS")):
        if job.get(block_name):
            body.append(_auth_block(block_name, job[block_name], secret_key, file_key, what, name, env_vars, mounts,
                                    file_map))
    if job.get("tls_config"):
        body.append(_tls_block(name, job["tls_config"], unconverted, env_vars, mounts, file_map))
    return body


def convert_job(job, global_cfg, forward_to, target_map, unconverted, env_vars, mounts, file_map=None):
    """(blocks, info) for one scrape job."""
    file_map = dict(file_map or {})
    name = str(job["job_name"])
    label = sanitize_label(name)
    static_targets = _static_targets(job, target_map)
    blocks, target_exprs = _discovery(job, name, label, static_targets, unconverted, mounts, file_map)
    relabel_blocks, targets, scrape_forward = _relabel(job, name, label, _targets(target_exprs), forward_to,
                                                       unconverted)
    blocks.extend(relabel_blocks)

    body = [Attribute("targets", targets), Attribute("forward_to", [scrape_forward]), Attribute("job_name", name)]
    body.extend(_scrape_settings(job, global_cfg, name, unconverted))
    body.extend(_scrape_auth(job, name, unconverted, env_vars, mounts, file_map))
    for key in sorted(set(job) - _HANDLED):
        if not key.endswith("_sd_configs"):
            unconverted.append({"job": name, "key": key, "reason": "scrape option not converted"})
    blocks.append(Block("prometheus.scrape", label, body, comment="Carried over from Prometheus job %r." % name))
    return blocks, {"job_name": name, "label": label, "static_targets": [t["__address__"] for t in static_targets]}


def convert(prometheus, forward_to=DEFAULT_FORWARD_TO, target_map=None, exclude_jobs=None, header=None,
            file_map=None):
    """Convert a parsed prometheus.yml (or legacy_stack_info's `prometheus`) to Alloy.

    `file_map` maps a path inside the old Prometheus container (a file or a directory) to the path where Alloy
    reads it; every file a job reads is listed in `mounts` (job, key, container_path, alloy_path, mapped).
    Returns {"alloy": text, "jobs": [...], "unconverted": [...], "env_vars": [...], "mounts": [...],
    "external_labels": {...}, "scrape_interval": the global interval or None}. The text passes the collection's
    Alloy parser except for the reference to `forward_to`, which the caller's config declares.
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
        job_blocks, info = convert_job(job, global_cfg, forward_to, target_map, unconverted, env_vars, mounts,
                                       file_map)
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
            "external_labels": dict((str(k), str(v)) for k, v in (global_cfg.get("external_labels") or {}).items()),
            "scrape_interval": _go_duration(global_cfg["scrape_interval"]) if global_cfg.get("scrape_interval") else None}


def check_converted(text, forward_to=DEFAULT_FORWARD_TO):
    """Validate converted text together with a stub of its forward_to target."""
    parts = forward_to.split(".")
    stub = '%s "%s" {\n}\n' % (".".join(parts[:-2]), parts[-2]) if len(parts) >= 3 else ""
    return validate(text + "\n" + stub)
