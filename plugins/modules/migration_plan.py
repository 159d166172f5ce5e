#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: migration_plan
short_description: Plan the move of a legacy observability stack to Alloy, Tempo, Loki, Mimir and Grafana
version_added: 0.1.0
description:
  - Pure computation over the result of M(lgtm.stack.legacy_stack_info) (and optionally M(lgtm.stack.go_telemetry_info)).
    Reads no file and changes nothing.
  - Returns the plan - which services leave, stay and arrive; how each application is rewired (OTLP endpoints to
    Alloy, Jaeger variables pointed at Alloy's Jaeger receiver, service identity in C(OTEL_SERVICE_NAME) and
    C(OTEL_RESOURCE_ATTRIBUTES), the shared network, C(depends_on) on removed services); ports released, claimed and
    in conflict; volumes left without users (deleted only when O(remove_legacy_data) is true); every legacy scrape job
    carried into Alloy with its job name kept and its targets rewritten; the datasource map from old uids and names
    to C(mimir), C(tempo), C(loki); and every risk as a finding with a file and a reason.
  - The report is Markdown in English or Brazilian Portuguese.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  legacy:
    description: The C(legacy) dict returned by M(lgtm.stack.legacy_stack_info).
    type: dict
    required: true
  go_findings:
    description: The C(findings) returned by M(lgtm.stack.go_telemetry_info); they become findings of the plan.
    type: list
    elements: dict
    default: []
  service_names:
    description: Service names of the new components (keys C(alloy), C(tempo), C(loki), C(mimir), C(grafana),
      C(mysqld_exporter), C(redis_exporter)). A name already taken by a kept service gets a C(lgtm-) prefix and a finding.
    type: dict
    default: {}
  ports:
    description: Host ports of the stack (keys C(alloy_otlp_grpc), C(alloy_otlp_http), C(alloy_ui), C(grafana), C(tempo),
      C(loki), C(mimir)).
    type: dict
    default: {}
  bind_address:
    description: Host address the stack's ports are published on.
    type: str
    default: 127.0.0.1
  service_namespace:
    description: C(service.namespace) given to applications that have none. Default is the compose project name.
    type: str
  environment:
    description: C(deployment.environment) (and C(deployment.environment.name)) given to applications that have none.
    type: str
    default: dev
  network:
    description:
      - Network that applications, exporters and the stack share.
      - Default C(lgtm-<compose project name>), one per project, so that two projects on one docker host never
        resolve each other's C(tempo), C(loki) or C(mimir).
    type: str
  remove_legacy_data:
    description: Mark named volumes left without users for deletion. Off by default; legacy data is kept.
    type: bool
    default: false
  adopt_grafana_data:
    description:
      - Run the new Grafana on the legacy Grafana's named volume (its database, with the dashboards and users made
        in its UI) instead of a new one. The plan then lists the legacy provisioned datasources for deletion and
        asks for the admin password to be reset to the generated one.
      - Off by default, the new Grafana starts on its own empty volume and the legacy volume is kept (finding P027).
    type: bool
    default: false
  occupied_ports:
    description: Host ports held by processes outside compose, as C(port) and C(holder); a clash is a finding.
    type: list
    elements: dict
    default: []
  report_language:
    description: Language of RV(report).
    type: str
    choices: [en, pt_BR]
    default: en
  backend:
    description:
      - Where the signals are stored. C(mode) V(local) (default) deploys Tempo, Loki and Mimir here; V(remote) ships
        to the backends of C(endpoints) (per signal C(push), C(query), C(tenant), C(auth) - what the
        P(lgtm.stack.remote_settings#filter) returns as C(endpoints); no secrets) and plans only Alloy and, with
        C(grafana) (default true), Grafana.
    type: dict
    default: {}
extends_documentation_fragment:
  - lgtm.stack.attributes.info_module
"""

EXAMPLES = r"""
- name: Analyse
  lgtm.stack.legacy_stack_info:
    project_dir: /srv/shop
  register: legacy_info

- name: Check the Go code
  lgtm.stack.go_telemetry_info:
    path: /srv/shop
  register: go_info

- name: Plan
  lgtm.stack.migration_plan:
    legacy: "{{ legacy_info.legacy }}"
    go_findings: "{{ go_info.findings }}"
    environment: dev
    report_language: pt_BR
  register: migration

- name: Show the high findings
  ansible.builtin.debug:
    msg: "{{ migration.plan.findings | selectattr('severity', 'equalto', 'high') | list }}"
"""

RETURN = r"""
plan:
  description: The migration plan.
  returned: success
  type: dict
  contains:
    format:
      description: Version of the plan's shape; a re-run refuses a recorded plan of another format.
      type: int
    inventory:
      description:
        - Every legacy artifact (service, volume, bind mount, scrape job, rule group, alerting, datasource, derived
          field, dashboard, panel query, collector component and pipeline, Promtail job and label, Grafana setting)
          with C(kind), C(name), C(where), C(fate) (carried, converted, replaced or dropped), C(detail) and the
          C(finding) code that says what stops working. The report shows it as a table per kind.
      type: list
      elements: dict
    service_identities:
      description:
        - Per compose application, the identity its signals carry - C(service_name) (from C(OTEL_SERVICE_NAME) or
          C(service.name) in C(OTEL_RESOURCE_ATTRIBUTES), else the compose service name, which the plan then sets),
          C(service_namespace) and C(environment). Its container logs get the same labels.
      type: dict
    stack_volumes:
      description:
        - Per new component, the named volume it stores data in - C(volume) (compose key), C(name) (engine name)
          and C(state) C(new), C(reused) (this stack's own, from an earlier run) or C(adopted) (the legacy Grafana
          database, with O(adopt_grafana_data)). Never a legacy volume otherwise.
      type: dict
    grafana_adopted_volume:
      description: Compose key of the legacy Grafana volume the new Grafana runs on, or null.
      type: str
    grafana_delete_datasources:
      description: Legacy provisioned datasources (C(name), C(orgId)) deleted from an adopted Grafana database.
      type: list
      elements: dict
    remove_services:
      description: Services that leave, with C(component) and C(reason).
      type: list
      elements: dict
    keep_services:
      description: Services that stay.
      type: list
      elements: str
    add_services:
      description: Services the stack adds, with C(component).
      type: list
      elements: dict
    service_names:
      description: Final service names of the new components.
      type: dict
    rewire:
      description: Per service - C(env_set), C(env_remove), C(networks_add), C(depends_on_remove), C(notes).
      type: list
      elements: dict
    jaeger_receivers:
      description: Jaeger protocols Alloy must accept because applications still use them (empty when none do).
      type: list
      elements: str
    ports:
      description: C(released), C(claimed) and C(conflicts).
      type: dict
    volumes:
      description: Named volumes left without users, with C(action) C(keep) or C(delete).
      type: list
      elements: dict
    legacy_bind_mounts:
      description: Bind mounts of removed services; always kept.
      type: list
      elements: dict
    scrape_jobs:
      description: Every legacy job with C(action) C(carry) (and its C(config), targets rewritten) or C(drop) and the reason.
      type: list
      elements: dict
    scrape_target_map:
      description: Old exporter targets to new ones.
      type: dict
    alloy_needs_host_gateway:
      description: A carried job scrapes the host (C(host.docker.internal)), so the Alloy container needs the host-gateway extra host.
      type: bool
    datasource_map:
      description: C(by_uid_or_name) and C(inputs) (C(DS_*) names) to new uids, and the C(default) uid.
      type: dict
    loki_retention_period:
      description: Retention carried from the legacy Loki, or null.
      type: str
    findings:
      description: Risks and impacts, most severe first - C(severity), C(code), C(file), C(line), C(service), C(message),
        C(recommendation).
      type: list
      elements: dict
    summary:
      description: Number of findings per severity.
      type: dict
report:
  description: Markdown report of the plan.
  returned: success
  type: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lgtm.stack.plugins.module_utils.plan import build_plan
from ansible_collections.lgtm.stack.plugins.module_utils.report import render_report


def _backend(module, backend):
    backend = dict(backend or {})
    unknown = sorted(set(backend) - {"mode", "endpoints", "grafana"})
    if unknown or backend.get("mode", "local") not in ("local", "remote"):
        module.fail_json(msg="backend takes mode (local or remote), endpoints and grafana; got %s" % sorted(backend))
    if backend.get("mode") == "remote" and sorted(backend.get("endpoints") or {}) != ["logs", "metrics", "traces"]:
        module.fail_json(msg="backend mode remote needs endpoints for traces, logs and metrics")
    backend["grafana"] = bool(backend.get("grafana", True))
    return backend


def main():
    module = AnsibleModule(
        argument_spec=dict(
            legacy=dict(type="dict", required=True),
            go_findings=dict(type="list", elements="dict", default=[]),
            service_names=dict(type="dict", default={}),
            ports=dict(type="dict", default={}),
            bind_address=dict(type="str", default="127.0.0.1"),
            service_namespace=dict(type="str"),
            environment=dict(type="str", default="dev"),
            network=dict(type="str"),
            remove_legacy_data=dict(type="bool", default=False),
            adopt_grafana_data=dict(type="bool", default=False),
            occupied_ports=dict(type="list", elements="dict", default=[]),
            report_language=dict(type="str", default="en", choices=["en", "pt_BR"]),
            backend=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    params = module.params
    legacy = params["legacy"]
    for key in ("services", "components"):
        if not isinstance(legacy.get(key), dict):
            module.fail_json(msg="legacy must be the 'legacy' result of lgtm.stack.legacy_stack_info (no '%s' mapping)"
                             % key)
    unknown = sorted(set(params["service_names"]) - {"alloy", "tempo", "loki", "mimir", "grafana", "mysqld_exporter",
                                                     "redis_exporter"})
    if unknown:
        module.fail_json(msg="service_names has unknown keys: %s" % ", ".join(unknown))
    try:
        plan = build_plan(
            legacy, go_findings=params["go_findings"], service_names=params["service_names"], ports=params["ports"],
            bind_address=params["bind_address"], service_namespace=params["service_namespace"],
            environment=params["environment"], network=params["network"],
            remove_legacy_data=params["remove_legacy_data"], occupied_ports=params["occupied_ports"],
            adopt_grafana_data=params["adopt_grafana_data"], backend=_backend(module, params["backend"]),
        )
        report = render_report(plan, params["report_language"])
    except (KeyError, TypeError, ValueError) as exc:
        module.fail_json(msg="migration_plan could not use its input: %s" % exc, exception=traceback.format_exc())
    module.exit_json(changed=False, plan=plan, report=report)


if __name__ == "__main__":
    main()
