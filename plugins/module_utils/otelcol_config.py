# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The effective configuration of an OpenTelemetry Collector service, resolved as the collector resolves it.

Upstream behaviour reproduced here (open-telemetry/opentelemetry-collector):
- otelcol/flags.go: `--config` may be repeated; every value is one config URI, in order. `--set a.b=v` values
  become `yaml:a::b: v` URIs appended after all `--config` values.
- confmap/README.md ("Configuration Resolving"): each config URI is retrieved and merged into the result in order
  (later wins: maps are merged recursively, every other value, lists included, is replaced); only then are the
  embedded `${...}` URIs of the merged result expanded, then the converters run.
- confmap/expand.go: a URI is `<scheme>:<opaque>` with scheme `[A-Za-z][A-Za-z0-9+.-]+`; a config value without
  a scheme is a file path. Embedded `${scheme:...}` values are expanded in strings; a value that is exactly one
  `${env:X}` takes the YAML type of the variable's value.
- confmap/provider/envprovider/provider.go: `env:NAME` and `env:NAME:-default`; an unset variable without a
  default gives an empty value (the collector only logs a warning).
- confmap/provider/yamlprovider/provider.go: `yaml:processors::batch::timeout: 2s`; `::` is confmap's key
  delimiter, so such keys nest.
- confmap/converter/expandconverter/expand.go: `${VAR}` and `$VAR` (no scheme) come from the environment, `$$`
  escapes a dollar.

The environment is the service's own (after Compose interpolation, which the compose model already did, plus its
`env_file:` files): the project's `.env` reaches the collector only through the service's `environment:` entries.
A source the collector cannot read (a file that is not mounted, an unset variable) is a problem to report, not an
exception; a YAML syntax error in a source is an InputError naming the file (or variable) and the line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.lgtm.stack.plugins.module_utils.compose_model import (
    container_to_host,
    image_parts,
    load_env_file,
)
from ansible_collections.lgtm.stack.plugins.module_utils.redaction import MASK, is_secret_key
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError, line_of, load_yaml, parse_yaml

WHAT = "OpenTelemetry Collector config"
SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")

# Image repository -> the config path its default CMD passes (`--config <path>`).
_IMAGE_DEFAULTS = [
    (r"(^|/)otel/opentelemetry-collector-contrib$", "/etc/otelcol-contrib/config.yaml"),
    (r"(^|/)otel/opentelemetry-collector$", "/etc/otelcol/config.yaml"),
]
# Unknown images: the first of these that is bind-mounted, else the first.
FALLBACK_DEFAULTS = ("/etc/otelcol-contrib/config.yaml", "/etc/otelcol/config.yaml", "/etc/otel-collector-config.yaml")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):(.*)$", re.S)
_ENV_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# `$$`, `${...}` (no `$`, `{` or `}` inside), `$NAME`.
_EXPANSION = re.compile(r"\$(?:(\$)|\{([^${}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_KEY_DELIMITER = "::"


# --------------------------------------------------------------------------- command line


def _unescape(value, dollars_escaped):
    return value.replace("$$", "$") if dollars_escaped else value


def config_uris(svc, dollars_escaped=False):
    """The config URIs of the collector's command line, in the order the collector resolves them.

    Returns a list of (flag, value): every `--config` value (`--config X`, `--config=X`, `-config ...`), then every
    `--set` turned into its `yaml:` URI. dollars_escaped: the model came from `docker compose config`, which
    prints every `$` of a value as `$$`.
    """
    argv = [_unescape(str(a), dollars_escaped)
            for a in list(svc.get("entrypoint") or []) + list(svc.get("command") or [])]
    configs, sets = [], []
    index = 0
    while index < len(argv):
        arg = argv[index]
        for name, bucket in (("config", configs), ("set", sets)):
            matched = None
            for prefix in ("--" + name, "-" + name):
                if arg == prefix and index + 1 < len(argv):
                    matched = argv[index + 1]
                    index += 1
                elif arg.startswith(prefix + "="):
                    matched = arg[len(prefix) + 1:]
                if matched is not None:
                    break
            if matched is not None:
                bucket.append(matched)
                break
        index += 1
    uris = [("config", value) for value in configs]
    for value in sets:
        key, sep, val = value.partition("=")
        if sep:
            uris.append(("set", "yaml:%s: %s" % (key.strip().replace(".", _KEY_DELIMITER), val.strip())))
    return uris


def default_config_path(svc):
    """The config path the image's own CMD passes, when the command gives none."""
    repo, _tag, _digest = image_parts(svc.get("image"))
    for pattern, path in _IMAGE_DEFAULTS:
        if repo and re.search(pattern, repo):
            return path
    for candidate in FALLBACK_DEFAULTS:
        if container_to_host(svc, candidate):
            return candidate
    return FALLBACK_DEFAULTS[0]


# --------------------------------------------------------------------------- environment


def service_environment(svc, project_dir=None, dollars_escaped=False):
    """The collector process's environment: `env_file:` files, then `environment:` (None values are unset)."""
    env = {}
    env_files = svc.get("env_file") or []
    if isinstance(env_files, (str, dict)):
        env_files = [env_files]
    for entry in env_files:
        path = entry.get("path") if isinstance(entry, dict) else entry
        required = entry.get("required", True) if isinstance(entry, dict) else True
        if not path:
            continue
        if not os.path.isabs(path) and project_dir:
            path = os.path.join(project_dir, path)
        if os.path.isfile(path) or required:
            env.update(load_env_file(path))
    for key, value in (svc.get("environment") or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = _unescape(str(value), dollars_escaped)
    return env


# --------------------------------------------------------------------------- documents


def split_keys(node):
    """Nest `a::b::c: v` keys the way confmap does (its key delimiter is `::`); other keys keep their lines."""
    if isinstance(node, list):
        return [split_keys(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    lines = {}
    for key, value in node.items():
        value = split_keys(value)
        parts = str(key).split(_KEY_DELIMITER) if isinstance(key, str) and _KEY_DELIMITER in key else [key]
        for part in reversed(parts[1:]):
            value = {part: value}
        head = parts[0]
        out[head] = merge(out[head], value) if head in out else value
        lines.setdefault(head, line_of(node, key))
    return _Lined(out, lines)


class _Lined(dict):
    """A dict that keeps the source line of each key (like yamlutil's mappings)."""

    def __init__(self, data, lines):
        super(_Lined, self).__init__(data)
        self._lines = lines

    def line_of(self, key, default=None):
        value = self._lines.get(key)
        return default if value is None else value


def merge(base, override):
    """confmap's merge: mappings merge recursively, anything else (lists included) is replaced by the later value."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return override


# --------------------------------------------------------------------------- sources


def _problem(problems, kind, source, message, file=None, line=None):
    problems.append({"kind": kind, "source": source, "message": message, "file": file, "line": line})


def _as_config(doc, where, line=None):
    if doc is None:
        return _Lined({}, {})
    if not isinstance(doc, dict):
        raise InputError(where, "expected a mapping at the top of the %s, found %s" % (WHAT, type(doc).__name__), line)
    return doc


def _read_source(svc, service_name, flag, uri, env, problems):
    """(source record, document or None) for one config URI."""
    match = _SCHEME.match(uri)
    scheme, opaque = (match.group(1), match.group(2)) if match else ("file", uri)
    source = {"flag": flag, "uri": uri, "kind": scheme, "container_path": None, "host_path": None, "env_var": None,
              "loaded": False}
    label = "%s: --config=%s" % (service_name, uri) if flag != "set" else "%s: --set" % service_name
    if scheme == "file":
        path = opaque
        if not os.path.isabs(path):
            path = os.path.normpath(os.path.join(str(svc.get("working_dir") or "/"), path))
        host = container_to_host(svc, path)
        source.update(container_path=path, host_path=host)
        if host is None:
            _problem(problems, "not_mounted", uri,
                     "%s: config %s is not bind-mounted from the project: its content cannot be read (unless the "
                     "image holds that file, the collector refuses to start)" % (service_name, path))
            return source, None
        if not os.path.exists(host):
            _problem(problems, "missing_file", uri,
                     "%s: config %s is mounted from %s, which does not exist: the collector cannot read it and "
                     "refuses to start" % (service_name, path, host), file=host)
            return source, None
        if os.path.isdir(host):
            _problem(problems, "not_a_file", uri,
                     "%s: config %s is mounted from the directory %s: the collector refuses to start"
                     % (service_name, path, host), file=host)
            return source, None
        source["loaded"] = True
        return source, split_keys(load_yaml(host, WHAT))
    if scheme == "env":
        name, has_default, default = opaque.partition(":-")
        source["env_var"] = name
        if not _ENV_NAME.match(name):
            _problem(problems, "bad_uri", uri, "%s: %r is not a valid environment variable name: the collector "
                                               "refuses to start" % (label, name))
            return source, None
        if name in env:
            text = env[name]
        elif has_default:
            text = default
        else:
            _problem(problems, "unset_env", uri,
                     "%s: environment variable %s is not set in the service: this config source is empty (the "
                     "collector only logs a warning)" % (label, name))
            return source, None
        where = "%s environment %s" % (service_name, name)
        source["loaded"] = True
        return source, split_keys(_as_config(parse_yaml(text, where), where))
    if scheme == "yaml":
        source["loaded"] = True
        return source, split_keys(_as_config(parse_yaml(opaque, label), label))
    _problem(problems, "unsupported_uri", uri,
             "%s: %s: sources are not read by the analysis (offline): their content is unknown to the plan"
             % (label, scheme))
    return source, None


def _source_name(source):
    if source["host_path"]:
        return source["host_path"]
    if source["env_var"]:
        return "env:%s" % source["env_var"]
    return source["uri"]


def _record_origins(origins, doc, index, source):
    where = _source_name(source)
    for section in SECTIONS:
        body = doc.get(section)
        if isinstance(body, dict):
            for name in body:
                origins[section][name] = {"source": index, "where": where, "line": line_of(body, name)}
    pipelines = (doc.get("service") or {}).get("pipelines") if isinstance(doc.get("service"), dict) else None
    if isinstance(pipelines, dict):
        for name in pipelines:
            origins["pipelines"][name] = {"source": index, "where": where, "line": line_of(pipelines, name)}


# --------------------------------------------------------------------------- expansion


class _Expander(object):
    def __init__(self, svc, service_name, env, problems, mask_secrets):
        self.svc = svc
        self.service_name = service_name
        self.env = env
        self.problems = problems
        self.mask_secrets = mask_secrets
        self.reported = set()

    def env_value(self, name, default, has_default, path):
        if not _ENV_NAME.match(name):
            self._once("bad_uri", name, "%s: %s: %r is not a valid environment variable name" % (
                self.service_name, path, name))
            return ""
        if name in self.env:
            value = self.env[name]
        elif has_default:
            return default
        else:
            self._once("unset_env", name, "%s: %s uses environment variable %s, which is not set in the service: "
                                          "the collector uses an empty value" % (self.service_name, path, name))
            return ""
        if self.mask_secrets and is_secret_key(name) and value != "":
            return MASK
        return value

    def _once(self, kind, key, message):
        if (kind, key) not in self.reported:
            self.reported.add((kind, key))
            _problem(self.problems, kind, key, message)

    def uri(self, inner, path):
        """The value of `${inner}`, or None to leave the text as written."""
        match = _SCHEME.match(inner)
        if not match:
            if ":" in inner:
                return None
            return self.env_value(inner, None, False, path)
        scheme, opaque = match.groups()
        if scheme == "env":
            name, has_default, default = opaque.partition(":-")
            return self.env_value(name, default, bool(has_default), path)
        if scheme == "file":
            host = container_to_host(self.svc, opaque)
            if host and os.path.isfile(host):
                with open(host) as handle:
                    return handle.read().rstrip("\n")
            self._once("not_mounted", opaque, "%s: %s reads %s, which is not bind-mounted from the project"
                       % (self.service_name, path, opaque))
            return None
        self._once("unsupported_uri", inner, "%s: %s uses ${%s}: not expanded by the analysis"
                   % (self.service_name, path, inner))
        return None

    def string(self, text, path):
        whole = _EXPANSION.fullmatch(text)
        if whole and whole.group(2) is not None:
            value = self.uri(whole.group(2), path)
            if value is None:
                return text
            if value == MASK or not value.strip():
                return value
            # A value that is one URI takes the YAML type of what it retrieves (confmap/expand.go).
            try:
                parsed = parse_yaml(value, path)
            except InputError:
                return value
            return parsed if isinstance(parsed, (str, int, float, bool)) else value

        def repl(match):
            escaped, inner, bare = match.groups()
            if escaped:
                return "$"
            if inner is not None:
                value = self.uri(inner, path)
                return match.group(0) if value is None else str(value)
            return str(self.env_value(bare, None, False, path))

        return _EXPANSION.sub(repl, text)

    def tree(self, node, path=""):
        if isinstance(node, str):
            return self.string(node, path or "(top)")
        if isinstance(node, list):
            return [self.tree(v, "%s[%d]" % (path, i)) for i, v in enumerate(node)]
        if isinstance(node, dict):
            return dict((k, self.tree(v, "%s.%s" % (path, k) if path else str(k))) for k, v in node.items())
        return node


# --------------------------------------------------------------------------- entry point


def collector_config(svc, service_name="otel-collector", project_dir=None, dollars_escaped=False, mask_secrets=True):
    """The effective config of one collector service.

    svc is a service of the compose model (normalised: volumes, environment, command as lists). Returns a dict:
    - config: the merged and expanded document (secret environment values masked unless mask_secrets is False);
    - sources: one record per config URI, in order (flag, uri, kind file/env/yaml/default/..., container_path,
      host_path, env_var, loaded);
    - origins: {section: {component: {source, where, line}}} for receivers, processors, exporters, connectors,
      extensions and pipelines: the source that defined (or last changed) each one, `where` a host path,
      `env:NAME` or the URI;
    - problems: sources or variables the collector could not read ({kind, source, message, file, line}); kinds are
      not_mounted, missing_file, not_a_file, unset_env, bad_uri, unsupported_uri.
    dollars_escaped: True when the model was resolved by `docker compose config` (ComposeProject.resolved_by), which
    prints a literal `$` as `$$`.
    Raises InputError for malformed YAML in a source (naming the file or variable and the line).
    """
    env = service_environment(svc, project_dir, dollars_escaped)
    problems = []
    uris = config_uris(svc, dollars_escaped)
    defaulted = not any(flag == "config" for flag, _uri in uris)
    if defaulted:
        uris.insert(0, ("default", default_config_path(svc)))
    sources = []
    origins = dict((section, {}) for section in SECTIONS + ("pipelines",))
    merged = {}
    for flag, uri in uris:
        source, doc = _read_source(svc, service_name, flag, uri, env, problems)
        if flag == "default":
            source["kind"] = "default"
        sources.append(source)
        if doc is None:
            continue
        _record_origins(origins, doc, len(sources) - 1, source)
        merged = merge(merged, doc)
    expander = _Expander(svc, service_name, env, problems, mask_secrets)
    return {"config": expander.tree(merged), "sources": sources, "origins": origins, "problems": problems,
            "default_config": defaulted}


def pipelines(config):
    """{name: {receivers, processors, exporters}} of a merged config (lists as written, missing ones empty)."""
    out = {}
    service = config.get("service") if isinstance(config.get("service"), dict) else {}
    for name, pipe in (service.get("pipelines") or {}).items():
        pipe = pipe if isinstance(pipe, dict) else {}
        out[name] = dict((role, list(pipe.get(role) or [])) for role in ("receivers", "processors", "exporters"))
    return out
