# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alloy's exporters for remote backends (``lgtm_backend: remote``), from remote.normalise settings whose file
paths are the container's (remote.in_container).

- Prometheus-style clients (``prometheus.remote_write`` and ``loki.write`` endpoints) read secrets themselves:
  ``basic_auth { password_file }``, ``bearer_token_file``, ``tls_config { ca_file }``.
- OTLP exporters (``otelcol.exporter.otlp``/``otlphttp``) take an auth extension: ``otelcol.auth.basic`` or
  ``otelcol.auth.bearer``, whose secret comes from ``local.file`` with ``is_secret = true`` (the content stays a
  secret value: never shown in Alloy's UI or debug output). The tenant goes in the ``X-Scope-OrgID`` header
  (``tenant_id`` for loki.write).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.alloy import Attribute, Block, Expr
from ansible_collections.lgtm.stack.plugins.module_utils.remote import TENANT_HEADER


def _tls_body(spec, insecure_key=None):
    tls = spec["tls"]
    body = {}
    if tls.get("ca_file"):
        body["ca_file"] = tls["ca_file"]
    if tls.get("server_name"):
        body["server_name"] = tls["server_name"]
    if tls.get("insecure_skip_verify"):
        body["insecure_skip_verify"] = True
    if insecure_key and spec.get("plaintext"):
        body[insecure_key] = True
    return body


def http_client(spec, tenant_key):
    """Auth, tenant and TLS of a prometheus.remote_write / loki.write endpoint (tenant_key: `tenant_id` for
    loki.write, else the X-Scope-OrgID header)."""
    items = []
    if spec["tenant"]:
        items.append(Attribute("tenant_id", spec["tenant"]) if tenant_key == "tenant_id"
                     else Attribute("headers", {TENANT_HEADER: spec["tenant"]}))
    auth = spec["auth"]
    if auth["type"] == "bearer":
        items.append(Attribute("bearer_token_file", auth["token_file"]))
    elif auth["type"] == "basic":
        items.append(Block("basic_auth", body={"username": auth["username"], "password_file": auth["password_file"]}))
    tls = _tls_body(spec)
    if tls:
        items.append(Block("tls_config", body=tls))
    return items


def _otel_auth(signal, auth):
    """(blocks, handler expression) of the auth extension an OTLP exporter uses, or ([], None)."""
    if auth["type"] == "none":
        return [], None
    kind, path = ("bearer", auth["token_file"]) if auth["type"] == "bearer" else ("basic", auth["password_file"])
    secret = Block("local.file", "%s_%s" % (signal, "token" if kind == "bearer" else "password"),
                   body={"filename": path, "is_secret": True},
                   comment="Read by Alloy from the mounted file; a secret value, never shown.")
    if kind == "bearer":
        extension = Block("otelcol.auth.bearer", signal, body={"token": secret.export("content")})
    else:
        extension = Block("otelcol.auth.basic", signal, body={"username": auth["username"],
                                                              "password": secret.export("content")})
    return [secret, extension], extension.export("handler").text


def _exporter(name, label, signal, spec, endpoint, comment):
    blocks, handler = _otel_auth(signal, spec["auth"])
    client = [Attribute("endpoint", endpoint)]
    if handler:
        client.append(Attribute("auth", Expr(handler)))
    if spec["tenant"]:
        client.append(Attribute("headers", {TENANT_HEADER: spec["tenant"]}))
    # gRPC needs `insecure` for a plaintext connection; OTLP/HTTP follows the URL's scheme.
    tls = _tls_body(spec, "insecure" if name == "otelcol.exporter.otlp" else None)
    if tls:
        client.append(Block("tls", body=tls))
    return blocks + [Block(name, label, [Block("client", body=client)], comment=comment)]


def exporters(remote):
    """The traces and OTLP-logs exporters (labels `tempo` and `loki`, the names the pipeline sends to)."""
    traces, logs = remote["traces"], remote["logs"]
    if traces["protocol"] == "grpc":
        out = _exporter("otelcol.exporter.otlp", "tempo", "traces", traces, traces["endpoint"],
                        "Remote Tempo (OTLP gRPC).")
    else:
        out = _exporter("otelcol.exporter.otlphttp", "tempo", "traces", traces, traces["endpoint"],
                        "Remote Tempo (OTLP/HTTP, the exporter appends /v1/traces).")
    return out + _exporter("otelcol.exporter.otlphttp", "loki", "logs", logs, logs["otlp_url"],
                           "Remote Loki's native OTLP endpoint (the exporter appends /v1/logs).")
