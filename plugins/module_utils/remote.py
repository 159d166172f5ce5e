# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote backends (``lgtm_backend: remote``): where each signal goes and how it authenticates.

One normalised description of the user's ``lgtm_remote`` settings, read by everything that talks to the
backends: Alloy's exporters (alloy_stack.py), Grafana's datasources (the grafana role, through the
``remote_settings`` filter), ``stack_verify`` and the Helm values. Secrets only ever come from files: the
settings name files on the docker host, which are mounted read-only into the containers that need them
(``mounts``), and the rendered configurations reference the mounted path, never the content.

Settings (every key of ``tenant``/``auth``/``tls`` may be given at the top, for every signal, or per signal)::

    tenant: team-a                      # X-Scope-OrgID on every request (none when empty)
    auth: {type: basic, username: "1234", password_file: /etc/lgtm/remote.password}
    #     {type: bearer, token_file: /etc/lgtm/remote.token}   {type: none}
    tls: {ca_file: /etc/ssl/corp-ca.pem, insecure_skip_verify: false, server_name: ""}
    traces:  {endpoint: https://tempo.example.com:443, protocol: grpc, query_url: https://tempo.example.com}
    logs:    {url: https://loki.example.com}          # push_url, otlp_url, query_url derived (or given)
    metrics: {url: https://mimir.example.com}         # push_url /api/v1/push, query_url /prometheus
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

SIGNALS = ("traces", "logs", "metrics")
BACKENDS = {"traces": "tempo", "logs": "loki", "metrics": "mimir"}
AUTH_TYPES = ("none", "basic", "bearer")
TENANT_HEADER = "X-Scope-OrgID"
SHARED_KEYS = ("tenant", "auth", "tls")
SIGNAL_KEYS = {
    "traces": ("endpoint", "protocol", "query_url"),
    "logs": ("url", "push_url", "otlp_url", "query_url"),
    "metrics": ("url", "push_url", "query_url"),
}
AUTH_KEYS = ("type", "username", "password_file", "token_file")
TLS_KEYS = ("ca_file", "insecure_skip_verify", "server_name")
# File name of each secret or certificate inside <root>/<signal>/ in a container.
MOUNT_NAMES = {"password_file": "password", "token_file": "token", "ca_file": "ca.pem"}
_URL = re.compile(r"^(https?)://([^/\s:]+|\[[0-9a-fA-F:]+\])(?::(\d+))?(/\S*)?$")


class RemoteError(ValueError):
    """Settings the remote mode cannot use; the message names the key."""


def _mapping(value, where):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RemoteError("%s must be a mapping, got %s" % (where, type(value).__name__))
    return value


def _unknown(value, allowed, where):
    extra = sorted(str(k) for k in value if k not in allowed)
    if extra:
        raise RemoteError("%s: unknown key(s) %s (known: %s)" % (where, ", ".join(extra), ", ".join(allowed)))


def _url(value, where):
    """The URL without a trailing slash. Credentials never travel in a URL: userinfo (user:password@), a query
    string or a fragment is refused, and the value is never repeated in the message (it may hold a secret)."""
    text = str(value or "").strip()
    if "@" in text.split("/", 3)[2 if text.count("/") >= 2 else 0] or "?" in text or "#" in text:
        raise RemoteError("%s: no user:password@, query string or fragment in the URL (credentials belong in "
                          "password_file or token_file; the value is not shown)" % where)
    if not _URL.match(text):
        raise RemoteError("%s must be an http:// or https:// URL (scheme://host[:port][/path])" % where)
    return text.rstrip("/")


def _abs_file(value, where):
    text = str(value or "")
    if not posixpath.isabs(text):
        raise RemoteError("%s must be an absolute path to a file on the docker host, got %r" % (where, text))
    return posixpath.normpath(text)


def _auth(settings, where):
    auth = dict(_mapping(settings, where))
    literal = [k for k in ("password", "token", "bearer_token") if k in auth]
    if literal:
        raise RemoteError("%s.%s: secrets are read from files only (use password_file / token_file), never "
                          "written in variables" % (where, literal[0]))
    _unknown(auth, AUTH_KEYS, where)
    kind = auth.get("type") or ("bearer" if auth.get("token_file") else
                                "basic" if auth.get("username") or auth.get("password_file") else "none")
    if kind not in AUTH_TYPES:
        raise RemoteError("%s.type must be one of %s, got %r" % (where, ", ".join(AUTH_TYPES), kind))
    out = {"type": kind}
    if kind == "basic":
        if not auth.get("username") or not auth.get("password_file"):
            raise RemoteError("%s: basic auth needs username and password_file" % where)
        out.update(username=str(auth["username"]), password_file=_abs_file(auth["password_file"],
                                                                           where + ".password_file"))
    elif kind == "bearer":
        if not auth.get("token_file"):
            raise RemoteError("%s: bearer auth needs token_file" % where)
        out["token_file"] = _abs_file(auth["token_file"], where + ".token_file")
    return out


def _tls(top, own, where):
    tls = dict(_mapping(top, "lgtm_remote.tls"))
    tls.update(_mapping(own, where))
    _unknown(tls, TLS_KEYS, where)
    out = {"insecure_skip_verify": bool(tls.get("insecure_skip_verify", False)),
           "server_name": str(tls.get("server_name") or "")}
    if tls.get("ca_file"):
        out["ca_file"] = _abs_file(tls["ca_file"], where + ".ca_file")
    return out


def _traces(own, where):
    protocol = str(own.get("protocol") or "grpc")
    if protocol not in ("grpc", "http"):
        raise RemoteError("%s.protocol must be grpc or http, got %r" % (where, protocol))
    endpoint = _url(own.get("endpoint"), where + ".endpoint")
    if not own.get("query_url"):
        raise RemoteError("%s.query_url (Tempo's HTTP API, for Grafana and stack_verify) is required" % where)
    out = {"protocol": protocol, "query_url": _url(own["query_url"], where + ".query_url")}
    if protocol == "grpc":
        scheme, host, port, path = _URL.match(endpoint).groups()
        if not port or (path or "/") != "/":
            raise RemoteError("%s.endpoint: OTLP gRPC needs scheme://host:port and no path, got %r"
                              % (where, endpoint))
        out.update(endpoint="%s:%s" % (host, port), plaintext=scheme == "http")
    else:
        out.update(endpoint=endpoint, plaintext=endpoint.startswith("http://"))
    return out


def _derived(own, where, defaults):
    """push/otlp/query URLs of logs and metrics: given, or derived from `url` by the backend's API paths."""
    base = _url(own["url"], where + ".url") if own.get("url") else None
    out = {}
    for key, suffix in defaults:
        if own.get(key):
            out[key] = _url(own[key], "%s.%s" % (where, key))
        elif base is not None:
            out[key] = base + suffix
        else:
            raise RemoteError("%s: set url (the backend's base URL) or %s" % (where, key))
    out["plaintext"] = all(v.startswith("http://") for v in out.values())
    return out


def normalise(settings, source="lgtm_remote"):
    """The settings checked and completed: {signal: {backend, urls..., tenant, auth, tls}}."""
    top = _mapping(settings, source)
    _unknown(top, SHARED_KEYS + SIGNALS, source)
    result = {}
    for signal in SIGNALS:
        where = "%s.%s" % (source, signal)
        own = _mapping(top.get(signal), where)
        if not own:
            raise RemoteError("%s is required with lgtm_backend remote (where %s go)" % (where, signal))
        _unknown(own, SIGNAL_KEYS[signal] + SHARED_KEYS, where)
        if signal == "traces":
            spec = _traces(own, where)
        elif signal == "logs":
            spec = _derived(own, where, (("push_url", "/loki/api/v1/push"), ("otlp_url", "/otlp"), ("query_url", "")))
        else:
            spec = _derived(own, where, (("push_url", "/api/v1/push"), ("query_url", "/prometheus")))
        tenant = str(own.get("tenant", top.get("tenant")) or "")
        # Mimir's and Loki's tenant ids (dskit tenant.ValidTenantID): at most 150 of letters, digits and !-_.*'(),
        # not "." or ".."; "|" joins several tenants, for federated queries only (never for writes).
        if not re.match(r"^[A-Za-z0-9!._*'()-]{0,150}$", tenant) or tenant in (".", ".."):
            raise RemoteError("%s tenant %r: a tenant id is at most 150 letters, digits and !-_.*'() (not . or ..)"
                              % (where, tenant))
        auth_where = where + ".auth" if "auth" in own else source + ".auth"
        spec.update(backend=BACKENDS[signal], tenant=str(tenant),
                    auth=_auth(own["auth"] if "auth" in own else top.get("auth"), auth_where),
                    tls=_tls(top.get("tls"), own.get("tls"), where + ".tls"))
        result[signal] = spec
    return result


def files(norm):
    """[(signal, kind, host path)] of every secret or certificate file the settings name."""
    out = []
    for signal in SIGNALS:
        spec = norm[signal]
        for kind in ("password_file", "token_file"):
            if spec["auth"].get(kind):
                out.append((signal, kind, spec["auth"][kind]))
        if spec["tls"].get("ca_file"):
            out.append((signal, "ca_file", spec["tls"]["ca_file"]))
    return out


def read_verbatim(signal, kind):
    """Whether a file is sent byte for byte: OTLP credentials (traces, logs) go through Alloy's local.file,
    which does not trim; prometheus.remote_write and loki.write (metrics, container logs) trim password and
    token files themselves, and Grafana reads its own copy of the path."""
    return signal in ("traces", "logs") and kind in ("password_file", "token_file")


def container_path(root, signal, kind):
    return "%s/%s/%s" % (root.rstrip("/"), signal, MOUNT_NAMES[kind])


def mounts(norm, root):
    """Compose bind mounts (read-only) of those files at <root>/<signal>/<password|token|ca.pem>."""
    return ["%s:%s:ro" % (host, container_path(root, signal, kind)) for signal, kind, host in files(norm)]


def in_container(norm, root):
    """The settings with every file path replaced by where the container sees it."""
    out = {}
    for signal in SIGNALS:
        spec = dict(norm[signal], auth=dict(norm[signal]["auth"]), tls=dict(norm[signal]["tls"]))
        for kind in ("password_file", "token_file"):
            if spec["auth"].get(kind):
                spec["auth"][kind] = container_path(root, signal, kind)
        if spec["tls"].get("ca_file"):
            spec["tls"]["ca_file"] = container_path(root, signal, "ca_file")
        out[signal] = spec
    return out


def endpoints(norm):
    """What the report and the summary may show: URLs, tenant and auth type, never a file's content."""
    return dict((signal, {"backend": spec["backend"],
                          "push": spec.get("endpoint") or spec.get("push_url"),
                          "query": spec["query_url"], "tenant": spec["tenant"], "auth": spec["auth"]["type"]})
                for signal, spec in norm.items())


# Grafana datasource keys for a remote backend (Grafana's datasource service and plugin SDK: basicAuth,
# basicAuthUser, secureJsonData.basicAuthPassword, jsonData.httpHeaderNameN + secureJsonData.httpHeaderValueN
# numbered from 1 without gaps, jsonData.tlsAuthWithCACert + secureJsonData.tlsCACert, tlsSkipVerify,
# serverName). Secrets are `$__file{path}` references, which datasource provisioning (apiVersion 1) expands in
# basicAuthUser, jsonData and secureJsonData, trimming the file's surrounding whitespace.
GRAFANA_UIDS = {"mimir": "metrics", "tempo": "traces", "loki": "logs"}
GRAFANA_HTTP_KEYS = ("httpHeaderName1", "httpHeaderName2", "tlsAuthWithCACert", "tlsSkipVerify", "serverName")


def _file_ref(path):
    return "$__file{%s}" % path


def grafana_patch(spec):
    """{url, basicAuth, basicAuthUser, jsonData, secureJsonData} of one signal (container paths)."""
    patch = {"url": spec["query_url"], "jsonData": {}, "secureJsonData": {}}
    auth = spec["auth"]
    headers = []
    if auth["type"] == "basic":
        patch.update(basicAuth=True, basicAuthUser=auth["username"])
        patch["secureJsonData"]["basicAuthPassword"] = _file_ref(auth["password_file"])
    elif auth["type"] == "bearer":
        headers.append(("Authorization", "Bearer " + _file_ref(auth["token_file"])))
    if spec["tenant"]:
        headers.append((TENANT_HEADER, spec["tenant"]))
    for index, (name, value) in enumerate(headers, 1):
        patch["jsonData"]["httpHeaderName%d" % index] = name
        patch["secureJsonData"]["httpHeaderValue%d" % index] = value
    tls = spec["tls"]
    if tls.get("ca_file"):
        patch["jsonData"]["tlsAuthWithCACert"] = True
        patch["secureJsonData"]["tlsCACert"] = _file_ref(tls["ca_file"])
    if tls.get("insecure_skip_verify"):
        patch["jsonData"]["tlsSkipVerify"] = True
    if tls.get("server_name"):
        patch["jsonData"]["serverName"] = tls["server_name"]
    if not patch["secureJsonData"]:
        del patch["secureJsonData"]
    return patch


def grafana_datasources(datasources, signals):
    """The stack's datasources (fixed uids mimir, tempo, loki) pointed at the remote backends, correlation kept."""
    out = []
    for ds in datasources:
        signal = GRAFANA_UIDS.get(ds.get("uid"))
        if not signals or signal is None:
            out.append(ds)
            continue
        patch = grafana_patch(signals[signal])
        merged = dict(ds, **dict((k, v) for k, v in patch.items() if k not in ("jsonData",)))
        merged["jsonData"] = dict(ds.get("jsonData") or {}, **patch["jsonData"])
        out.append(merged)
    return out
