# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where a migration plan becomes role variables.

Component roles never read the plan: they take these variables, so they stay
reusable on a project that has no legacy stack at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

EXPORTER_PORTS = {"mysqld_exporter": 9104, "redis_exporter": 9121}


def _split_target(target, default_port):
    host, _sep, port = (target or "").rpartition(":")
    if not host:
        return target or None, default_port
    try:
        return host, int(port)
    except ValueError:
        return target, default_port


def plan_to_vars(plan):
    """Return (variables, requires): role variables, and the variables the user must still provide."""
    names = plan.get("service_names") or {}
    variables = {
        "lgtm_compose_project": plan.get("project_name"),
        "lgtm_service_namespace": plan.get("service_namespace"),
        "lgtm_environment": plan.get("environment"),
        "lgtm_network": plan.get("network"),
        "lgtm_bind_address": plan.get("bind_address"),
        "lgtm_alloy_service_name": names.get("alloy", "alloy"),
        "lgtm_tempo_service_name": names.get("tempo", "tempo"),
        "lgtm_loki_service_name": names.get("loki", "loki"),
        "lgtm_mimir_service_name": names.get("mimir", "mimir"),
        "lgtm_grafana_service_name": names.get("grafana", "grafana"),
        "lgtm_alloy_jaeger_receivers": list(plan.get("jaeger_receivers") or []),
        "lgtm_alloy_scrape_jobs": [job["config"] for job in plan.get("scrape_jobs") or [] if job.get("action") == "carry"],
        "lgtm_alloy_host_gateway": bool(plan.get("alloy_needs_host_gateway")),
        "lgtm_alloy_otelcol_config": plan.get("otel_collector") or {},
    }
    requires = []
    if plan.get("loki_retention_period"):
        variables["lgtm_loki_retention_period"] = str(plan["loki_retention_period"])
    exporters = plan.get("exporters") or {}
    mysqld = (exporters.get("mysqld_exporter") or [None])[0]
    redis = (exporters.get("redis_exporter") or [None])[0]
    variables["lgtm_exporters_mysqld_enabled"] = mysqld is not None
    variables["lgtm_exporters_redis_enabled"] = redis is not None
    if mysqld:
        host, port = _split_target(mysqld.get("target"), 3306)
        variables.update({"lgtm_exporters_mysqld_service_name": names.get("mysqld_exporter", "mysqld-exporter"),
                          "lgtm_exporters_mysqld_host": host or "mysql", "lgtm_exporters_mysqld_port": port})
        user = (mysqld.get("my_cnf") or {}).get("user")
        if user:
            variables["lgtm_exporters_mysqld_user"] = user
        # The analysis masks credentials: the password must come from the user (vault), never from the plan.
        requires.append("lgtm_exporters_mysqld_password")
    if redis:
        variables.update({"lgtm_exporters_redis_service_name": names.get("redis_exporter", "redis-exporter"),
                          "lgtm_exporters_redis_address": "redis://%s" % (redis.get("target") or "redis:6379")})
        if redis.get("password_set"):
            requires.append("lgtm_exporters_redis_password")
    # Carried legacy jobs that already scrape the new exporter services keep their job names; no second job.
    carried_targets = set(str(t) for cfg in variables["lgtm_alloy_scrape_jobs"]
                          for static in cfg.get("static_configs") or [] for t in static.get("targets") or [])
    exporter_jobs = []
    for component, entry in (("mysqld_exporter", mysqld), ("redis_exporter", redis)):
        if entry:
            target = "%s:%d" % (names.get(component, component.replace("_", "-")), EXPORTER_PORTS[component])
            if target not in carried_targets:
                exporter_jobs.append({"job_name": component.replace("_", "-"), "target": target})
    variables["lgtm_alloy_scrape_exporters"] = exporter_jobs
    return dict((k, v) for k, v in variables.items() if v is not None), requires
