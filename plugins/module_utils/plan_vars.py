# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where a migration plan becomes role variables - and the migrate role's own view of it.

Component roles never read the plan: they take these variables, so they stay
reusable on a project that has no legacy stack at all. The migrate role's tasks
and templates read `migrate_view`, never raw plan keys.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils import plan_schema
from ansible_collections.lgtm.stack.plugins.module_utils.plan_common import DEFAULT_SERVICE_NAMES, EXPORTER_PORTS, PLAN_FORMAT

# Format 1 (lgtm.stack before the plan carried its volumes) kept each component's data in these volume keys.
FORMAT_1_VOLUMES = {"alloy": "alloy-data", "tempo": "tempo-data", "loki": "loki-data", "mimir": "mimir-data",
                    "grafana": "grafana-data"}


class PlanFormatError(ValueError):
    pass


def rebase_plan(plan, project_dir):
    """The recorded plan of a project that moved (a teammate's clone, another checkout path): every path under the
    recorded project_dir is rewritten onto project_dir. A plan recorded here comes back unchanged."""
    old = (plan.get("project_dir") or "").rstrip("/")
    new = (project_dir or "").rstrip("/")
    if not old or not new or old == new:
        return plan

    def move(value):
        if isinstance(value, dict):
            return dict((k, move(v)) for k, v in value.items())
        if isinstance(value, list):
            return [move(v) for v in value]
        if isinstance(value, str) and (value == old or value.startswith(old + "/")):
            return new + value[len(old):]
        return value

    return move(plan)


def upgrade_plan(plan):
    """Bring a recorded plan to the current format, or refuse one this version cannot read.

    Format 1 had no identities and no volume names: its stack keeps the volumes it already runs on."""
    version = plan.get("format", 1)
    if not isinstance(version, int) or version < 1 or version > PLAN_FORMAT:
        raise PlanFormatError("the plan has format %r; this version of lgtm.stack reads formats 1 to %d. Use the "
                              "lgtm.stack version that recorded it, or roll the project back and migrate again."
                              % (version, PLAN_FORMAT))
    if version == 1:
        project = plan.get("project_name") or "project"
        plan = dict(plan, format=PLAN_FORMAT, service_identities={}, grafana_adopted_volume=None, scrape_global={},
                    scrape_files=[], grafana_settings_env={}, grafana_plugins=[],
                    grafana_delete_datasources=[], log_label_model={}, log_identities={}, promtail_labels=[],
                    stack_volumes=dict((c, {"volume": key, "name": "%s_%s" % (project, key), "state": "reused"})
                                       for c, key in FORMAT_1_VOLUMES.items()))
    plan = dict(plan_schema.ADDED_WITHIN_FORMAT, **plan)
    errors = plan_schema.plan_errors(plan)
    if errors:
        shown = "; ".join(errors[:8]) + ("; ..." if len(errors) > 8 else "")
        raise PlanFormatError("the recorded plan does not have the shape of plan format %d: %s. It was not written by "
                              "lgtm.stack, or was edited: restore it from the backup of that run, or roll the project "
                              "back and migrate again." % (PLAN_FORMAT, shown))
    return plan


def _split_target(target, default_port):
    host, _sep, port = (target or "").rpartition(":")
    if not host:
        return target or None, default_port
    try:
        return host, int(port)
    except ValueError:
        return target, default_port


def map_plan(plan):
    """(variables, requires, view) of a plan, upgraded and checked against its declared shape once: what the
    lgtm.stack.plan_to_vars filter returns."""
    plan = upgrade_plan(plan)
    variables, requires = _variables(plan)
    return variables, requires, _view(plan)


def plan_to_vars(plan):
    """Return (variables, requires): role variables, and the variables the user must still provide."""
    return _variables(upgrade_plan(plan))


def migrate_view(plan):
    """What the migrate role's own steps need of a plan - the compose edits, the dashboards step, the summaries, the
    SRE guide, the credentials and the paths a run reads - as one mapping, so that no task or template of the
    role reads a raw plan key (plan_to_vars gives the component roles theirs). The plan is upgraded and checked
    against its declared shape first, like every read of a plan."""
    return _view(upgrade_plan(plan))


def _variables(plan):
    """plan_to_vars of an upgraded plan."""
    names = plan.get("service_names") or {}
    variables = {
        "lgtm_compose_project": plan.get("project_name"),
        "lgtm_service_namespace": plan.get("service_namespace"),
        "lgtm_environment": plan.get("environment"),
        "lgtm_network": plan.get("network"),
        "lgtm_bind_address": plan.get("bind_address"),
        # Shared knob: every role names its own service, and reaches the others', from this one mapping.
        "lgtm_service_names": dict((component, names.get(component, default))
                                   for component, default in sorted(DEFAULT_SERVICE_NAMES.items())),
        "lgtm_alloy_jaeger_receivers": list(plan.get("jaeger_receivers") or []),
        "lgtm_alloy_scrape_jobs": [job["config"] for job in plan.get("scrape_jobs") or [] if job.get("action") == "carry"],
        "lgtm_alloy_host_gateway": bool(plan.get("alloy_needs_host_gateway")),
        "lgtm_alloy_otelcol_config": plan.get("otel_collector") or {},
        # The legacy global scrape settings, and the files carried jobs read, mounted read-only into Alloy.
        "lgtm_alloy_scrape_interval": (plan.get("scrape_global") or {}).get("scrape_interval"),
        "lgtm_alloy_external_labels": dict((plan.get("scrape_global") or {}).get("external_labels") or {}) or None,
        "lgtm_alloy_scrape_files": list(plan.get("scrape_files") or []) or None,
        "lgtm_grafana_settings_env": dict(plan.get("grafana_settings_env") or {}) or None,
        "lgtm_grafana_plugins": list(plan.get("grafana_plugins") or []) or None,
        # One identity per app on every signal: its container logs get the service.name its OTLP signals carry.
        "lgtm_alloy_service_identities": dict(plan.get("service_identities") or {}),
        # Prometheus rule files Mimir's ruler evaluates.
        "lgtm_mimir_rule_files": [{"host_path": r["host_path"], "name": r["name"]}
                                  for r in plan.get("mimir_rule_files") or []] or None,
        # ... and the Alertmanagers the legacy Prometheus sent their alerts to.
        "lgtm_mimir_alertmanager_url": ",".join(url for am in plan.get("mimir_alertmanagers") or []
                                                for url in am.get("urls") or []) or None,
    }
    # Each component's data volume: the plan keeps them apart from the project's own (legacy) volumes.
    for component, volume in sorted((plan.get("stack_volumes") or {}).items()):
        if volume.get("state") != "adopted":
            variables["lgtm_%s_volume_name" % component] = volume["volume"]
    if plan.get("grafana_adopted_volume"):
        adopted = (plan.get("stack_volumes") or {}).get("grafana") or {}
        variables.update({"lgtm_grafana_adopt_volume": adopted.get("name"),
                          "lgtm_grafana_delete_datasources": list(plan.get("grafana_delete_datasources") or []),
                          "lgtm_stack_grafana_admin_reset": True})
    # 0 is the legacy Loki's "keep logs forever", and must stay that (a falsy check would give the role's 168h).
    if plan.get("loki_retention_period") not in (None, ""):
        variables["lgtm_loki_retention_period"] = str(plan["loki_retention_period"])
    requires = _exporter_vars(plan, names, variables)
    return dict((k, v) for k, v in variables.items() if v is not None), requires


def _view(plan):
    """migrate_view of an upgraded plan."""
    rewire = list(plan["rewire"])
    volumes = list(plan["volumes"])
    providers = list(plan["dashboard_providers"])
    mysqld = [entry for entry in (plan["exporters"].get("mysqld_exporter") or []) if entry]
    my_cnfs = [(entry.get("my_cnf") or {}).get("host_path") for entry in mysqld]
    apps = [item["service"] for item in rewire if item.get("env_set")]
    return {
        "project_name": plan["project_name"],
        "compose_files": list(plan["compose_files"]),
        # Legacy files the run reads (their digest is part of the stamp), besides what it writes.
        "read_paths": list(plan["compose_files"]) + [p["host_path"] for p in providers if p.get("host_path")]
        + [path for path in my_cnfs if path],
        "compose_edit": {"remove_services": [s["service"] for s in plan["remove_services"]],
                         "remove_volumes": [v["volume"] for v in volumes], "services": rewire},
        "dashboards": {"providers": providers, "datasource_map": plan["datasource_map"],
                       "log_label_model": dict(plan.get("log_label_model") or {}),
                       "service_identities": dict(plan.get("log_identities") or {}),
                       "service_namespace": plan["service_namespace"]},
        "mysqld_my_cnf": (my_cnfs[0] if my_cnfs else None) or "",
        "removed": [{"service": s["service"], "component": s["component"]} for s in plan["remove_services"]],
        "kept": list(plan["keep_services"]),
        "added": [s["service"] for s in plan["add_services"]],
        "carried_scrape_jobs": [j.get("job_name") for j in plan["scrape_jobs"] if j.get("action") == "carry"],
        "findings": list(plan["findings"]),
        "counts": dict(plan["summary"]),
        # A volume the project declared external belongs to something else: never deleted.
        "deletable_volumes": [v["name"] for v in volumes if not v.get("external")],
        "bind_address": plan["bind_address"],
        # Where the signals go (verify.yml): the stack's own backends, or remote ones; Grafana here or not.
        "backend": {"mode": plan["backend"]["mode"], "grafana": bool(plan["backend"].get("grafana", True))},
        "network": plan["network"],
        "service_names": dict(DEFAULT_SERVICE_NAMES, **(plan.get("service_names") or {})),
        "service_namespace": plan["service_namespace"],
        "environment": plan["environment"],
        "jaeger_receivers": list(plan.get("jaeger_receivers") or []),
        "exporters": sorted(kind for kind in ("mysqld_exporter", "redis_exporter") if plan["exporters"].get(kind)),
        # The SRE guide's picture: the apps that send telemetry, and the kept services that do not (databases...).
        "apps": apps,
        "data_services": [s for s in plan["keep_services"] if s not in apps],
    }


def _exporter_vars(plan, names, variables):
    """The exporters' variables (into `variables`); returns the secrets the user must still provide."""
    requires = []
    exporters = plan.get("exporters") or {}
    mysqld = (exporters.get("mysqld_exporter") or [None])[0]
    redis = (exporters.get("redis_exporter") or [None])[0]
    # Shared knob: the exporters role deploys these, the alloy role scrapes them, the stack role includes them.
    variables["lgtm_enabled_exporters"] = [kind for kind, entry in (("mysqld", mysqld), ("redis", redis)) if entry]
    if mysqld:
        host, port = _split_target(mysqld.get("target"), 3306)
        variables.update({"lgtm_exporters_mysqld_host": host or "mysql", "lgtm_exporters_mysqld_port": port})
        user = mysqld.get("user") or (mysqld.get("my_cnf") or {}).get("user")
        if user:
            variables["lgtm_exporters_mysqld_user"] = user
        if mysqld.get("password_ref"):
            # A ${VAR} the project already keeps (.env): referenced, never copied.
            variables["lgtm_exporters_mysqld_password_env"] = mysqld["password_ref"]["variable"]
        else:
            # The analysis masks credentials: the password comes from the legacy my.cnf (read on the docker host
            # by the migrate role) or from the user (vault), never from the plan.
            requires.append("lgtm_exporters_mysqld_password")
    if redis:
        variables["lgtm_exporters_redis_address"] = "redis://%s" % (redis.get("target") or "redis:6379")
        if redis.get("password_ref"):
            variables["lgtm_exporters_redis_password_env"] = redis["password_ref"]["variable"]
        elif redis.get("password_set"):
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
    return requires
