#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: stack_verify
short_description: Prove that traces, logs and metrics flow and correlate through the LGTM stack
version_added: 0.1.0
description:
  - Sends through Alloy's OTLP/HTTP receiver one trace with a fresh trace id and a known C(service.name), one log
    record carrying that trace id, and one histogram with an exemplar pointing at the trace.
  - Then polls, with backoff (Tempo and its metrics generator take up to about 30 s), Tempo for the trace, Loki
    for the log line by C(service_name) and the C(trace_id) structured metadata, Mimir for the metric and its
    exemplar, Mimir for the span metrics Tempo generated for the service, and Grafana for the health of the
    C(mimir), C(loki) and C(tempo) datasources and their correlation settings (traces to logs on C(trace_id),
    exemplar destination to Tempo, derived field on C(trace_id)).
  - Returns one result per check with its time, attempts and the exact query; fails the task with a readable
    table when a check fails.
  - The Grafana admin password is read on the docker host from O(grafana_password_file); it never appears in the
    task's arguments or results.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  otlp_http_url:
    description: Alloy's OTLP/HTTP receiver.
    type: str
    default: http://127.0.0.1:4318
  tempo_url:
    description: Tempo's HTTP API.
    type: str
    default: http://127.0.0.1:3200
  loki_url:
    description: Loki's HTTP API.
    type: str
    default: http://127.0.0.1:3100
  mimir_url:
    description: Mimir's Prometheus API prefix.
    type: str
    default: http://127.0.0.1:9009/prometheus
  grafana_url:
    description: Grafana.
    type: str
    default: http://127.0.0.1:3000
  grafana_user:
    description: Grafana user for the datasource checks.
    type: str
    default: admin
  grafana_password_file:
    description: File (on the docker host) holding that user's password. Without it the Grafana checks are skipped.
    type: path
  service_name:
    description: C(service.name) of the probe signals.
    type: str
    default: lgtm-verify
  service_namespace:
    description: C(service.namespace) of the probe signals.
    type: str
    default: lgtm
  environment:
    description: C(deployment.environment) of the probe signals.
    type: str
    default: dev
  timeout:
    description: Seconds each check may poll.
    type: int
    default: 120
  span_metrics:
    description: Check Tempo's span metrics in Mimir (needs the metrics generator).
    type: bool
    default: true
  remote:
    description:
      - Remote backends (C(lgtm_remote), see the alloy role). When set, the Tempo, Loki and Mimir checks query each
        signal's C(query_url) (O(tempo_url), O(loki_url) and O(mimir_url) are ignored) with its tenant
        (C(X-Scope-OrgID)), auth (basic with the password file, or bearer with the token file, read on the docker
        host and never returned) and TLS (C(ca_file), C(insecure_skip_verify)). The probe signals still go through
        the local Alloy, which ships them there.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Sends nothing and checks nothing in check mode (C(skipped=true)).
  diff_mode:
    support: none
    description: Not supported.
  idempotent:
    support: full
    description: Writes probe signals into the stack, changes no configuration; reports C(changed=false).
"""

EXAMPLES = r"""
- name: Prove the correlation end to end
  lgtm.stack.stack_verify:
    grafana_password_file: /srv/shop/observability/grafana/admin_password
    service_namespace: shop
  register: verify
"""

RETURN = r"""
trace_id:
  description: The probe's trace id (search it in Grafana).
  returned: when not skipped
  type: str
checks:
  description: One entry per check - C(check), C(ok), C(detail), C(seconds), C(attempts), C(query).
  returned: when not skipped
  type: list
  elements: dict
table:
  description: The checks as a Markdown table.
  returned: when not skipped
  type: str
skipped:
  description: Whether nothing was checked (check mode).
  returned: always
  type: bool
"""

import base64
import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

from ansible_collections.lgtm.stack.plugins.module_utils import remote
from ansible_collections.lgtm.stack.plugins.module_utils import verify as V


def http(method, url, body=None, headers=None, timeout=10, tls=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(headers or {})
    if data is not None:
        headers["Content-Type"] = "application/json"
    tls = tls or {}
    try:
        response = open_url(url, data=data, method=method, headers=headers, timeout=timeout,
                            validate_certs=not tls.get("insecure_skip_verify"), ca_path=tls.get("ca_file"))
        return response.getcode(), response.read().decode("utf-8", "replace")
    except Exception as exc:  # noqa: BLE001 - HTTPError carries the code; the rest are unreachable
        code = getattr(exc, "code", None)
        body = exc.read().decode("utf-8", "replace") if hasattr(exc, "read") else str(exc)
        return code or 0, body


def backend_access(norm, read=None):
    """{backend: (query URL, headers, tls)} for remote settings (remote.normalise); secrets read from their files."""
    read = read or _read_secret
    out = {}
    for spec in norm.values():
        headers = {}
        if spec["tenant"]:
            headers[remote.TENANT_HEADER] = spec["tenant"]
        auth = spec["auth"]
        if auth["type"] == "basic":
            token = "%s:%s" % (auth["username"], read(auth["password_file"]))
            headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        elif auth["type"] == "bearer":
            headers["Authorization"] = "Bearer " + read(auth["token_file"])
        out[spec["backend"]] = (spec["query_url"], headers, spec["tls"])
    return out


def _read_secret(path):
    with open(path) as handle:
        return handle.read().strip()


def run_checks(p, http_call=None, clock=time.monotonic, sleep=time.sleep, password=None, access=None):
    """`access`: {tempo|loki|mimir: (base URL, headers, tls)} of remote backends (backend_access), else local."""
    http_call = http_call or http  # looked up at call time (tests replace the module's http)
    access = access or {}
    ids = V.new_ids()
    now = time.time()
    now_ns = int(now * 1e9)
    identity = (p["service_name"], p["service_namespace"], p["environment"])
    results = []
    for signal, build in (("traces", V.trace_payload), ("logs", V.log_payload), ("metrics", V.metric_payload)):
        url = "%s/v1/%s" % (p["otlp_http_url"].rstrip("/"), signal)
        code, body = http_call("POST", url, build(ids, now_ns, *identity))
        results.append({"check": "send %s to Alloy" % signal, "ok": code == 200, "detail": "HTTP %s %s" % (
            code, body[:200]), "seconds": 0.0, "attempts": 1, "query": "POST " + url})
    if not all(r["ok"] for r in results):
        return ids, results
    q = V.queries(ids, p["service_name"], p["service_namespace"], now - 300, now)

    def check(name, backend, key, found):
        base, headers, tls = access.get(backend) or (p["%s_url" % backend], None, None)
        url = base.rstrip("/") + q[key]

        def attempt():
            code, body = http_call("GET", url, headers=headers, tls=tls)
            return (code == 200 and found(body)), "HTTP %s %s" % (code, body[:200])

        ok, detail, attempts, seconds = V.poll(attempt, p["timeout"], clock, sleep)
        results.append({"check": name, "ok": ok, "detail": "found" if ok else detail, "seconds": seconds,
                        "attempts": attempts, "query": "GET " + url})

    check("trace in Tempo", "tempo", "tempo_trace", lambda b: V.found_trace(b, ids[0]))
    check("log in Loki by service_name and trace_id", "loki", "loki_log", lambda b: V.found_log(b, ids[0]))
    check("metric in Mimir", "mimir", "mimir_metric", V.found_series)
    check("exemplar in Mimir points at the trace", "mimir", "mimir_exemplar", lambda b: V.found_exemplar(b, ids[0]))
    if p["span_metrics"]:
        check("span metrics generated by Tempo", "mimir", "span_metrics", V.found_series)
    if password is not None:
        auth = {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (p["grafana_user"], password)).encode())
                .decode()}
        base = p["grafana_url"].rstrip("/")
        for uid in ("mimir", "loki", "tempo"):
            url = "%s/api/datasources/uid/%s/health" % (base, uid)

            def health(url=url):
                code, body = http_call("GET", url, headers=auth)
                return code == 200 and json.loads(body or "{}").get("status") == "OK", "HTTP %s %s" % (code, body[:200])

            ok, detail, attempts, seconds = V.poll(health, p["timeout"], clock, sleep)
            results.append({"check": "Grafana datasource %s healthy" % uid, "ok": ok, "detail": "OK" if ok else detail,
                            "seconds": seconds, "attempts": attempts, "query": "GET " + url})
        url = "%s/api/datasources" % base
        code, body = http_call("GET", url, headers=auth)
        problems = V.grafana_settings_problems(json.loads(body or "[]")) if code == 200 else ["HTTP %s" % code]
        results.append({"check": "Grafana correlation settings", "ok": not problems,
                        "detail": "; ".join(problems) or "ok", "seconds": 0.0, "attempts": 1, "query": "GET " + url})
    return ids, results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            otlp_http_url=dict(type="str", default="http://127.0.0.1:4318"),
            tempo_url=dict(type="str", default="http://127.0.0.1:3200"),
            loki_url=dict(type="str", default="http://127.0.0.1:3100"),
            mimir_url=dict(type="str", default="http://127.0.0.1:9009/prometheus"),
            grafana_url=dict(type="str", default="http://127.0.0.1:3000"),
            grafana_user=dict(type="str", default="admin"),
            grafana_password_file=dict(type="path", no_log=False),
            service_name=dict(type="str", default="lgtm-verify"),
            service_namespace=dict(type="str", default="lgtm"),
            environment=dict(type="str", default="dev"),
            timeout=dict(type="int", default=120),
            span_metrics=dict(type="bool", default=True),
            # Settings, not secrets (those are files), but a literal password in them must never come back.
            remote=dict(type="dict", default={}, no_log=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if module.check_mode:
        module.exit_json(changed=False, skipped=True, msg="check mode: nothing sent, nothing checked")
    password = None
    if p["grafana_password_file"]:
        try:
            password = _read_secret(p["grafana_password_file"])
        except (IOError, OSError) as exc:
            module.fail_json(msg="%s: cannot read Grafana's admin password: %s" % (p["grafana_password_file"], exc))
        module.no_log_values.add(password)
    access = None
    if p["remote"]:
        def read(path):
            secret = _read_secret(path)
            module.no_log_values.add(secret)
            return secret

        try:
            access = backend_access(remote.normalise(p["remote"], "remote"), read)
        except remote.RemoteError as exc:
            module.fail_json(msg="stack_verify: %s" % exc)
        except (IOError, OSError) as exc:
            module.fail_json(msg="stack_verify: cannot read a remote backend's secret file: %s" % exc)
        for entry in access.values():
            if "Authorization" in entry[1]:
                module.no_log_values.add(entry[1]["Authorization"])
                module.no_log_values.add(entry[1]["Authorization"].split(" ", 1)[1])
    ids, results = run_checks(p, password=password, access=access)
    out = dict(changed=False, skipped=False, trace_id=ids[0], checks=results, table=V.table(results))
    failed = [r["check"] for r in results if not r["ok"]]
    if failed:
        module.fail_json(msg="stack_verify: %d check(s) failed: %s\n%s"
                         % (len(failed), ", ".join(failed), out["table"]), **out)
    module.exit_json(msg="all %d checks passed (trace %s)" % (len(results), ids[0]), **out)


if __name__ == "__main__":
    main()
