#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: grafana_dashboards
short_description: Carry legacy Grafana dashboards over to the LGTM stack's datasources
version_added: 0.1.0
description:
  - Reads every C(*.json) dashboard under the legacy dashboard providers' directories and writes a rewritten copy
    under O(dest), keeping the Grafana folders (the stack's C(project) provider uses C(foldersFromFilesStructure)).
  - Datasource references are rewritten at every level (panel, target, templating variable, annotation, rows of
    old dashboards) whether they name the datasource by uid, by name, as a C(${DS_*}) import input or inside a
    C(-- Mixed --) panel; they become C({type, uid}) references to C(mimir), C(loki) or C(tempo). C(__inputs) is
    dropped once every input is resolved.
  - Jaeger targets become Tempo TraceQL targets when a faithful query exists (search by service, operation,
    duration bounds and string tags; trace id lookups). The rest are left untouched and listed in
    RV(dashboards[].traces_unconverted) with the reason.
  - With O(log_label_model), O(service_identities) or O(service_namespace), every Loki query (panel targets,
    annotations, C(label_values) templating queries) is rewritten from Promtail's labels to the labels the new
    pipeline writes - C(service_name), C(service_namespace), C(deployment_environment(_name)), C(stream). A
    container or compose service matcher becomes C(service_name) with the service's identity, matchers on the
    Promtail job or compose project are removed, labels made by pipeline stages become label filters after the
    selector (with the parser they need), trace ids become a C(trace_id) structured-metadata filter, C(by) and
    C(without) groupings follow. A query that cannot keep its meaning (it selects logs the new pipeline does not
    collect, or names no known service) is left as it was, noted in its panel's description and listed in
    RV(dashboards[].log_unconverted).
  - With O(span_metrics) (the default), a Prometheus query on Jaeger SPM span metrics (Jaeger v2
    C(traces_span_metrics_calls_total), C(traces_span_metrics_duration_milliseconds_*); Jaeger v1 C(calls_total),
    C(latency_*)) is rewritten onto Tempo's C(traces_spanmetrics_calls_total) / C(traces_spanmetrics_latency_*). Then
    C(service_name) becomes C(service), C(operation) becomes C(span_name), matchers on the old scrape job's
    C(job)/C(instance) are removed, C(le) bounds go from milliseconds to seconds, and a value in seconds
    (C(histogram_quantile) over the buckets, a rate of C(_sum)) is multiplied by 1000 so the panel's ms unit and
    thresholds stay right. A query that is not faithful is noted in its panel's description and listed with its
    problems in RV(dashboards[].metric_queries) or RV(dashboards[].metric_unconverted).
  - The legacy files are never modified. With O(backup_dir), the originals of the dashboards written in this run
    are copied there as well.
  - Every dashboard is read and rewritten before anything is written, so a malformed file fails the task with its
    path and line and nothing changes.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  providers:
    description:
      - Legacy dashboard providers, as listed by M(lgtm.stack.legacy_stack_info) (C(grafana.dashboard_providers)).
      - Providers without a readable C(host_path) are skipped.
    type: list
    elements: dict
    required: true
    suboptions:
      host_path:
        description: Directory of the provider's dashboards on the docker host.
        type: path
      folder:
        description: The provider's Grafana folder.
        type: str
      folders_from_files:
        description: Whether the provider derived folders from sub-directories.
        type: bool
        default: false
      name:
        description: The provider's name (informational).
        type: str
  datasource_map:
    description:
      - The C(datasource_map) of the migration plan - C(by_uid_or_name) (legacy uid or name to new uid),
        C(inputs) (C(DS_*) input name to new uid) and C(default).
    type: dict
    required: true
  dest:
    description: Directory of the stack's project dashboards (C(observability/grafana/dashboards/project)).
    type: path
    required: true
  mode:
    description: Mode of the written dashboards.
    type: raw
    default: "0644"
  backup_dir:
    description: Directory that receives a copy of each rewritten dashboard's original (relative to O(project_dir)).
    type: path
  project_dir:
    description: Root that O(backup_dir) paths are relative to. Defaults to the parent of O(dest).
    type: path
  log_label_model:
    description:
      - What each label of the legacy Promtail config means, as returned by M(lgtm.stack.legacy_stack_info) in
        C(promtail.label_model) (label to C(sources), each with C(promtail_job), C(source), C(kind)...).
      - Labels missing from it (and not written by the new pipeline) become label filters, with a problem listed.
    type: dict
    default: {}
  service_identities:
    description:
      - Compose service name (or a C(container_name)) to the C(service_name) its logs carry in the new pipeline
        (the app's OTel C(service.name); the compose service name for other containers).
      - Container names C(<project>-<service>-<n>) and C(<project>_<service>_<n>) are resolved through it.
    type: dict
    default: {}
  service_namespace:
    description:
      - The project's C(service.namespace); a selector left with no matcher gets C(service_namespace="<this>").
    type: str
  span_metrics:
    description:
      - Rewrite Prometheus queries on Jaeger SPM span metrics onto Tempo's span metrics (see above).
    type: bool
    default: true
requirements: []
attributes:
  check_mode:
    support: full
    description: Reads and rewrites in memory, reports which files would change, writes nothing.
  diff_mode:
    support: full
    description: One before/after pair per dashboard that changes.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""

EXAMPLES = r"""
- name: Carry the dashboards over
  lgtm.stack.grafana_dashboards:
    providers: "{{ legacy.grafana.dashboard_providers }}"
    datasource_map: "{{ plan.datasource_map }}"
    dest: /srv/shop/observability/grafana/dashboards/project
    log_label_model: "{{ legacy.promtail.label_model }}"
    service_identities: {api: shop-api, worker: shop-worker, mysql: mysql}
    service_namespace: shop
  register: dashboards

- name: Show the Jaeger panels that need a hand
  ansible.builtin.debug:
    msg: "{{ dashboards.dashboards | map(attribute='traces_unconverted') | flatten }}"
"""

RETURN = r"""
dashboards:
  description: One entry per legacy dashboard.
  returned: always
  type: list
  elements: dict
  contains:
    source: {description: Legacy file., type: str, returned: always}
    dest: {description: Written file., type: str, returned: always}
    uid: {description: Dashboard uid (kept)., type: str, returned: always}
    title: {description: Dashboard title., type: str, returned: always}
    changed: {description: Whether the written file changed in this run., type: bool, returned: always}
    datasources_rewritten: {description: Number of references rewritten., type: int, returned: always}
    traces_converted:
      description: Jaeger targets turned into TraceQL (C(panel), C(query)).
      type: list
      elements: dict
      returned: always
    traces_unconverted:
      description: Jaeger targets left as they were (C(panel), C(ref_id), C(reason)).
      type: list
      elements: dict
      returned: always
    unresolved:
      description: Datasource references with no counterpart in the new stack.
      type: list
      elements: str
      returned: always
    log_queries:
      description:
        - Loki queries rewritten onto the new labels (or kept with a problem) - C(where) (panel/refId or
          templating variable), C(before), C(after), C(changes) (one record per label - C(label), C(promtail_job),
          C(source), C(fate) carried/converted/replaced/dropped, C(new), C(reason)) and C(problems).
      type: list
      elements: dict
      returned: always
    log_unconverted:
      description: Loki queries left as they were (C(where), C(query), C(reasons), C(changes)).
      type: list
      elements: dict
      returned: always
    metric_queries:
      description:
        - PromQL queries on Jaeger SPM span metrics rewritten onto Tempo's - C(where) (panel/refId or templating
          variable), C(before), C(after), C(changes) and C(problems) (not empty - the panel is flagged).
      type: list
      elements: dict
      returned: always
    metric_unconverted:
      description: Span-metrics queries left as they were (C(where), C(query), C(reasons), C(changes)).
      type: list
      elements: dict
      returned: always
  sample:
    - source: /srv/shop/grafana/dashboards/shop/api-overview.json
      dest: /srv/shop/observability/grafana/dashboards/project/shop/api-overview.json
      uid: shop-api-overview
      title: Shop API overview
      changed: true
      datasources_rewritten: 9
      traces_converted:
        - panel: Slow traces/A
          query: '{resource.service.name="shop-api" && name="GET /products" && duration>=500ms}'
      traces_unconverted: []
      unresolved: []
      log_queries:
        - where: API errors/A
          before: '{container="api", level="error"}'
          after: '{service_name="shop-api"} | json | level="error"'
          changes:
            - {label: container, promtail_job: docker, source: relabel rule, fate: replaced,
               new: 'service_name="shop-api"', reason: container (from __meta_docker_container_name) -> service_name}
            - {label: level, promtail_job: docker, source: stage, fate: converted, new: '| level="error"',
               reason: 'made by a Promtail labels stage: a label filter after the selector with | json'}
          problems: []
      log_unconverted: []
      metric_queries:
        - where: p95 latency/A
          before: >-
            histogram_quantile(0.95, sum(rate(
            traces_span_metrics_duration_milliseconds_bucket{service_name="shop"}[5m]))
            by (le))
          after: >-
            histogram_quantile(0.95, sum(rate(traces_spanmetrics_latency_bucket{service="shop"}[5m])) by (le)) * 1000
          changes:
            - traces_span_metrics_duration_milliseconds_bucket -> traces_spanmetrics_latency_bucket
            - service_name -> service
          problems: []
      metric_unconverted: []
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lgtm.stack.plugins.module_utils.backup import backup_into, write_atomic
from ansible_collections.lgtm.stack.plugins.module_utils.dashboards import rewrite_all
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            providers=dict(type="list", elements="dict", required=True, options=dict(
                host_path=dict(type="path"),
                folder=dict(type="str"),
                folders_from_files=dict(type="bool", default=False),
                name=dict(type="str"),
            )),
            datasource_map=dict(type="dict", required=True),
            dest=dict(type="path", required=True),
            mode=dict(type="raw", default="0644"),
            backup_dir=dict(type="path"),
            project_dir=dict(type="path"),
            log_label_model=dict(type="dict", default={}),
            service_identities=dict(type="dict", default={}),
            service_namespace=dict(type="str"),
            span_metrics=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    try:
        results = rewrite_all(module.params["providers"], dest, module.params["datasource_map"],
                              log_label_model=module.params["log_label_model"],
                              service_identities=module.params["service_identities"],
                              service_namespace=module.params["service_namespace"],
                              span_metrics=module.params["span_metrics"])
    except InputError as exc:
        module.fail_json(msg=str(exc), file=str(exc.path), line=exc.line)
    diffs, changed = [], False
    for entry in results:
        before = _read(entry["dest"])
        entry["changed"] = before != entry["text"]
        if entry["changed"]:
            changed = True
            diffs.append(dict(before=before or "", after=entry["text"],
                              before_header=entry["dest"] if before is not None else "(absent)",
                              after_header=entry["dest"]))
    if changed and not module.check_mode:
        root = module.params["project_dir"] or os.path.dirname(dest)
        for entry in results:
            if not entry["changed"]:
                continue
            if module.params["backup_dir"]:
                backup_into(entry["source"], module.params["backup_dir"], root)
            write_atomic(module, entry["dest"], entry["text"], module.params["mode"])
    for entry in results:
        entry.pop("text")
    result = dict(changed=changed, dashboards=results)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
