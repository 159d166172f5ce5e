# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helm values for Grafana's charts, from the same settings the compose stack is rendered from.

Each component role hands its own settings (the Alloy configuration it builds, Tempo's retention and generator,
Loki's limits and compactor, Mimir's limits, Grafana's datasources) to one function here; the chart keys used are
the ones recorded in tests/unit/roles/helm_chart_facts.yml (from helm-charts-facts.md and the charts' files), and a test
checks every rendered values file against them.

One namespace, fixed release names (the Service names below follow from them: each chart names its resources
after the release when the release name contains the chart's name):

- mimir   (grafana/mimir-distributed 6.0.5): classic architecture (no Kafka, as the compose stack), the chart's
  MinIO for blocks; gateway Service ``mimir-gateway`` port 80: ``/api/v1/push``, ``/otlp/v1/metrics``,
  ``/prometheus``.
- loki    (grafana-community/loki 18.11.0): Monolithic, filesystem on a volume; gateway ``loki-gateway`` port 80:
  ``/loki/api/v1/push``, ``/otlp/v1/logs``; the Loki Service ``loki`` port 3100.
- tempo   (grafana-community/tempo 2.2.4, single binary): Service ``tempo`` ports 3200, 4317, 4318.
- grafana (grafana-community/grafana 12.11.1): Service ``grafana`` port 80.
- alloy   (grafana/alloy 1.11.1): a Deployment receiving OTLP (Service ``alloy``: 12345 plus 4317/4318).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.lgtm.stack.plugins.module_utils import alloy_stack
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import plain

CHARTS = {
    "mimir": {"chart": "grafana/mimir-distributed", "version": "6.0.5", "repo": "grafana",
              "repo_url": "https://grafana.github.io/helm-charts"},
    "loki": {"chart": "grafana-community/loki", "version": "18.11.0", "repo": "grafana-community",
             "repo_url": "https://grafana-community.github.io/helm-charts"},
    "tempo": {"chart": "grafana-community/tempo", "version": "2.2.4", "repo": "grafana-community",
              "repo_url": "https://grafana-community.github.io/helm-charts"},
    "grafana": {"chart": "grafana-community/grafana", "version": "12.11.1", "repo": "grafana-community",
                "repo_url": "https://grafana-community.github.io/helm-charts"},
    "alloy": {"chart": "grafana/alloy", "version": "1.11.1", "repo": "grafana",
              "repo_url": "https://grafana.github.io/helm-charts"},
}
# Install order: the backends, then Grafana (its dashboards ConfigMaps and admin Secret first), then Alloy.
ORDER = ("mimir", "loki", "tempo", "grafana", "alloy")
DASHBOARD_PROVIDERS = ("lgtm-stack", "project")
JAEGER_PORTS = {"thrift_compact": (6831, "UDP"), "thrift_binary": (6832, "UDP"), "thrift_http": (14268, "TCP"),
                "grpc": (14250, "TCP")}


def service_urls(namespace):
    """In-cluster URLs of the backends (release names as above)."""
    svc = "%s.svc.cluster.local" % namespace

    def host(name):
        return "%s.%s" % (name, svc)

    return {
        "tempo_otlp": "%s:4317" % host("tempo"),
        "tempo_http": "http://%s:3200" % host("tempo"),
        "loki": "http://%s" % host("loki-gateway"),
        "mimir": "http://%s" % host("mimir-gateway"),
        "mimir_query": "http://%s/prometheus" % host("mimir-gateway"),
        "mimir_push": "http://%s/api/v1/push" % host("mimir-gateway"),
    }


def escape_tpl(text):
    """Text the chart passes through Helm's `tpl`: a literal `{{` must not start an action."""
    return text.replace("{{", '{{ "{{" }}')


def alloy(config_text, jaeger_protocols=()):
    ports = [{"name": "otlp-grpc", "port": 4317, "targetPort": 4317, "protocol": "TCP"},
             {"name": "otlp-http", "port": 4318, "targetPort": 4318, "protocol": "TCP"}]
    for protocol in jaeger_protocols or ():
        if protocol in JAEGER_PORTS:
            port, kind = JAEGER_PORTS[protocol]
            ports.append({"name": "jaeger-%s" % protocol.replace("_", "-"), "port": port, "targetPort": port,
                          "protocol": kind})
    return {
        "controller": {"type": "deployment", "replicas": 1},
        # Indented with spaces (the writer's tabs would force a quoted YAML string; Alloy ignores indentation).
        "alloy": {"configMap": {"create": True, "content": escape_tpl(config_text.replace("\t", "  "))},
                  "extraPorts": ports},
    }


def tempo(retention, processors, remote_write_url):
    generator = {"enabled": True, "remoteWriteUrl": remote_write_url,
                 # remoteWriteUrl alone writes no send_exemplars; storage.remote_write replaces it verbatim.
                 "storage": {"remote_write": [{"url": remote_write_url, "send_exemplars": True}]}}
    values = {
        "tempo": {
            "retention": retention,
            "reportingEnabled": False,
            "multitenancyEnabled": False,
            "metricsGenerator": generator,
            "overrides": {"defaults": {"metrics_generator": {"processors": list(processors)}}},
            "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"},
                                                 "http": {"endpoint": "0.0.0.0:4318"}}}},
            "storage": {"trace": {"backend": "local"}},
        },
        "persistence": {"enabled": True, "size": "10Gi"},
    }
    return values


def loki(config):
    """From the loki role's own configuration: the same schema, limits (OTLP labels, retention) and compactor."""
    compactor = dict((k, v) for k, v in config["compactor"].items() if k != "working_directory")
    return {
        "deploymentMode": "Monolithic",
        "loki": {
            "auth_enabled": False,
            "commonConfig": {"replication_factor": 1},
            "schemaConfig": plain(config["schema_config"]),
            "storage": {"type": "filesystem"},
            "limits_config": plain(config["limits_config"]),
            "compactor": compactor,
            "pattern_ingester": plain(config.get("pattern_ingester") or {"enabled": True}),
        },
        "singleBinary": {"replicas": 1, "persistence": {"enabled": True, "size": "10Gi"}},
        "read": {"replicas": 0}, "write": {"replicas": 0}, "backend": {"replicas": 0},
        # The caches' defaults reserve several GiB; a dev or staging cluster does without them.
        "chunksCache": {"enabled": False}, "resultsCache": {"enabled": False},
        "lokiCanary": {"enabled": False}, "test": {"enabled": False},
        "gateway": {"enabled": True}, "minio": {"enabled": False},
    }


def mimir(config):
    """Classic architecture (no Kafka, as the compose stack runs) with the mimir role's limits."""
    return {
        "kafka": {"enabled": False},
        "minio": {"enabled": True},
        "gateway": {"enabled": True},
        "mimir": {"structuredConfig": {
            "multitenancy_enabled": config.get("multitenancy_enabled", False),
            "ingest_storage": {"enabled": False},
            "ingester": {"push_grpc_method_enabled": True},
            "limits": plain(config["limits"]),
        }},
    }


def grafana(datasources, bundled_folder, admin_secret, admin_user="admin"):
    providers = [
        {"name": "lgtm-stack", "orgId": 1, "folder": bundled_folder, "type": "file", "disableDeletion": False,
         "allowUiUpdates": False, "options": {"path": "/var/lib/grafana/dashboards/lgtm-stack"}},
        {"name": "project", "orgId": 1, "type": "file", "disableDeletion": True, "allowUiUpdates": False,
         "options": {"path": "/var/lib/grafana/dashboards/project", "foldersFromFilesStructure": False}},
    ]
    return {
        "adminUser": admin_user,
        "admin": {"existingSecret": admin_secret, "userKey": "admin-user", "passwordKey": "admin-password"},
        "persistence": {"enabled": True},
        "grafana.ini": {"analytics": {"reporting_enabled": False, "check_for_updates": False,
                                      "check_for_plugin_updates": False},
                        "users": {"allow_sign_up": False, "allow_org_create": False},
                        "auth.anonymous": {"enabled": False}},
        "datasources": {"datasources.yaml": {"apiVersion": 1, "datasources": plain(datasources)}},
        "dashboardProviders": {"dashboardproviders.yaml": {"apiVersion": 1, "providers": providers}},
        "dashboardsConfigMaps": dict((p, "lgtm-dashboards-%s" % p) for p in DASHBOARD_PROVIDERS),
    }


def dashboards_configmaps(dashboards, namespace):
    """ConfigMaps holding the dashboards per provider ({provider: {file name: JSON text}}), as one YAML stream's
    documents (mappings); Grafana's chart mounts them through dashboardsConfigMaps."""
    out = []
    for provider in DASHBOARD_PROVIDERS:
        files = dashboards.get(provider) or {}
        data = {}
        for name, text in sorted(files.items()):
            json.loads(text)  # a broken dashboard fails here, not in Grafana
            key = name.replace("/", "__")
            data[key if key.endswith(".json") else key + ".json"] = text
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "lgtm-dashboards-%s" % provider, "namespace": namespace,
                                 "labels": {"app.kubernetes.io/part-of": "lgtm-stack"}},
                    "data": data})
    return out


def alloy_config(spec, namespace):
    """The stack's Alloy configuration (alloy_stack.build, the alloy role's spec) for the cluster: the same OTLP
    pipeline, Jaeger receivers and carried scrape jobs, exporting to the in-cluster backends; no Docker socket
    (pod logs are not read: loki.source.kubernetes is not among the components whose facts are recorded), no
    scrape of the stack's own components (the charts expose their own metrics), no remote backends."""
    urls = service_urls(namespace)
    spec = dict(spec, docker_logs=False, remote={}, self_scrape=[], host_metrics=False,
                tempo_endpoint=urls["tempo_otlp"], loki_otlp_endpoint=urls["loki"] + "/otlp",
                loki_push_url=urls["loki"] + "/loki/api/v1/push", mimir_push_url=urls["mimir_push"],
                source="alloy-values.yaml (alloy.configMap.content)")
    text, _info = alloy_stack.build(spec)
    return text


def _datasources(datasources, namespace):
    urls = service_urls(namespace)
    by_uid = {"mimir": urls["mimir_query"], "tempo": urls["tempo_http"], "loki": urls["loki"]}
    out = []
    for ds in plain(datasources):
        ds["url"] = by_uid.get(ds.get("uid"), ds.get("url"))
        if ds.get("uid") == "tempo":
            # The tempo chart's 2.x line exposes no stream_over_http_enabled switch (tempo.streamOverHttpEnabled
            # appears with the 3.x chart): Grafana queries Tempo without streaming there.
            ds.setdefault("jsonData", {})["streamingEnabled"] = {"search": False, "metrics": False}
        out.append(ds)
    return out


def build(component, settings):
    """Values of one chart from the settings its role hands over (namespace plus what each function takes)."""
    namespace = settings.get("namespace") or "lgtm"
    if component == "alloy":
        return alloy(alloy_config(settings["spec"], namespace), settings["spec"].get("jaeger_protocols") or ())
    if component == "tempo":
        return tempo(settings["retention"], settings["processors"], service_urls(namespace)["mimir_push"])
    if component == "loki":
        return loki(settings["config"])
    if component == "mimir":
        return mimir(settings["config"])
    if component == "grafana":
        return grafana(_datasources(settings["datasources"], namespace), settings["bundled_folder"],
                       settings["admin_secret"], settings.get("admin_user") or "admin")
    raise ValueError("no Helm values for %r (known: %s)" % (component, ", ".join(ORDER)))


def install_commands(namespace, admin_secret, files, admin_user="admin"):
    """The commands that install the values files, in order (files: {component: values file name}); each can run
    again (create ... --dry-run=client -o yaml | kubectl apply, helm upgrade --install)."""
    repos = sorted(set((c["repo"], c["repo_url"]) for c in CHARTS.values()))
    out = ["helm repo add %s %s --force-update" % repo for repo in repos] + ["helm repo update"]
    out.append("kubectl create namespace %s --dry-run=client -o yaml | kubectl apply -f -" % namespace)
    out.append("kubectl -n %s apply -f grafana-dashboards.yaml" % namespace)
    out.append("kubectl -n %s create secret generic %s --from-literal=admin-user=%s "
               "--from-file=admin-password=<file holding the password> --dry-run=client -o yaml | kubectl apply -f -"
               % (namespace, admin_secret, admin_user))
    for component in ORDER:
        chart = CHARTS[component]
        out.append("helm upgrade --install %s %s --version %s -n %s -f %s"
                   % (component, chart["chart"], chart["version"], namespace, files[component]))
    return out
