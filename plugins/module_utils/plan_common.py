# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Constants the migration planner's modules share (plan.py re-exports the public ones).

The planner is split by concern (plan_services, plan_rewire, plan_ports, plan_volumes, plan_scrape, plan_grafana,
plan_logs, plan_findings); each module's functions take the `plan.Planner` as their context: its inputs (legacy,
names, ports, bind, namespace, environment, network, flags), the shared state it accumulates (identities,
scrape_files, promtail_labels) and `finding()`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.lgtm.stack.plugins.module_utils import findings

LEGACY_COMPONENTS = ("jaeger", "prometheus", "otel_collector", "promtail", "grafana_agent")
STACK_COMPONENTS = ("loki", "grafana", "tempo", "mimir", "alloy")
EXPORTER_COMPONENTS = ("mysqld_exporter", "redis_exporter")
NEW_UIDS = {"prometheus": "mimir", "mimir": "mimir", "loki": "loki", "jaeger": "tempo", "tempo": "tempo",
            "zipkin": "tempo"}
SEVERITIES = findings.SEVERITIES
# Version of the plan's shape. The JSON report records it; a re-run refuses a plan recorded in another format.
PLAN_FORMAT = 2
# Volume keys of the new stack: distinct from the keys legacy stacks use (grafana-data, loki-data...), so that a
# new component never starts on a legacy database by accident (compose `include:` shares one volume namespace).
STACK_VOLUMES = {"alloy": "lgtm-alloy-data", "tempo": "lgtm-tempo-data", "loki": "lgtm-loki-data",
                 "mimir": "lgtm-mimir-data", "grafana": "lgtm-grafana-data"}
GRAFANA_DATA_PATH = "/var/lib/grafana"

DEFAULT_SERVICE_NAMES = {"alloy": "alloy", "tempo": "tempo", "loki": "loki", "mimir": "mimir", "grafana": "grafana",
                         "mysqld_exporter": "mysqld-exporter", "redis_exporter": "redis-exporter"}
DEFAULT_PORTS = {"alloy_otlp_grpc": 4317, "alloy_otlp_http": 4318, "alloy_ui": 12345, "grafana": 3000,
                 "tempo": 3200, "loki": 3100, "mimir": 9009}
# Container ports of the new services, for scrape target rewriting.
EXPORTER_PORTS = {"mysqld_exporter": 9104, "redis_exporter": 9121}
JAEGER_PROTOCOL_BY_PORT = {6831: "thrift_compact", 6832: "thrift_binary", 14268: "thrift_http", 14250: "grpc"}
TRACE_LABEL = re.compile(r"^(trace_?id|traceid|trace|span_?id)$", re.I)
STREAM_SELECTOR = re.compile(r"\{([^}]*)\}")


def promtail_model(legacy):
    return dict(((legacy.get("promtail") or {}).get("label_model")) or {})


def removed_service_names(removed):
    """The compose names of the services the plan removes."""
    return set(r["service"] for r in removed)
