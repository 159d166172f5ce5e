"""The plan's identity per app, the stack's own volumes, Grafana adoption, and the plan's format."""

import json

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils.plan import PLAN_FORMAT, STACK_VOLUMES, build_plan
from ansible_collections.lgtm.stack.plugins.module_utils.plan_vars import PlanFormatError, plan_to_vars, upgrade_plan
from ansible_collections.lgtm.stack.plugins.module_utils.report import render_report
from tests.unit.plugins.modules.test_migration_plan import by_code, legacy_of

FIXTURES = ("example", "otel-collector", "jaeger-split", "grafana-promtail", "host-apps", "partial-lgtm")


def test_example_identity_is_the_service_name_the_app_already_has():
    plan = build_plan(legacy_of("example"))
    # The compose file sets OTEL_SERVICE_NAME=shop-api: that is the identity, not the compose name "api".
    assert plan["service_identities"]["api"] == {"service_name": "shop-api", "service_namespace": "shop",
                                                 "environment": "dev"}
    (api,) = [r for r in plan["rewire"] if r["service"] == "api"]
    assert "OTEL_SERVICE_NAME" not in api["env_set"]
    variables, _requires = plan_to_vars(plan)
    assert variables["lgtm_alloy_service_identities"]["api"]["service_name"] == "shop-api"


def _with_app_env(env):
    legacy = legacy_of("example")
    legacy["services"]["api"]["environment"] = dict(
        (k, v) for k, v in legacy["services"]["api"]["environment"].items()
        if k not in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"))
    legacy["services"]["api"]["environment"].update(env)
    return legacy


def test_identity_from_resource_attributes_is_kept_and_not_overridden():
    plan = build_plan(_with_app_env({"OTEL_RESOURCE_ATTRIBUTES": "service.name=checkout,service.namespace=team-a"}))
    (api,) = [r for r in plan["rewire"] if r["service"] == "api"]
    # Setting OTEL_SERVICE_NAME=api would override the resource attribute and split the identity.
    assert "OTEL_SERVICE_NAME" not in api["env_set"]
    assert plan["service_identities"]["api"] == {"service_name": "checkout", "service_namespace": "team-a",
                                                 "environment": "dev"}


def test_identity_defaults_to_the_compose_name_which_the_plan_then_sets():
    plan = build_plan(_with_app_env({}))
    (api,) = [r for r in plan["rewire"] if r["service"] == "api"]
    assert api["env_set"]["OTEL_SERVICE_NAME"] == "api"
    assert plan["service_identities"]["api"]["service_name"] == "api"


@pytest.mark.parametrize("name", FIXTURES)
def test_every_compose_app_has_one_identity_matching_its_environment(name):
    plan = build_plan(legacy_of(name))
    legacy = legacy_of(name)
    for app in legacy.get("apps") or []:
        if app["where"] != "compose":
            continue
        identity = plan["service_identities"][app["service"]]
        env = dict(legacy["services"][app["service"]].get("environment") or {})
        (rewire,) = [r for r in plan["rewire"] if r["service"] == app["service"]]
        env.update(rewire["env_set"])
        # What the SDK will read after the migration is what the plan says the identity is.
        attrs = dict(p.split("=", 1) for p in (env.get("OTEL_RESOURCE_ATTRIBUTES") or "").split(",") if "=" in p)
        assert identity["service_name"] == (env.get("OTEL_SERVICE_NAME") or attrs.get("service.name")), name
        assert identity["service_namespace"] == attrs["service.namespace"], name
        assert identity["environment"] == attrs["deployment.environment.name"], name


@pytest.mark.parametrize("name", FIXTURES)
def test_no_new_component_gets_a_legacy_volume(name):
    legacy = legacy_of(name)
    plan = build_plan(legacy)
    legacy_keys = set(legacy.get("named_volumes") or {})
    for component, volume in plan["stack_volumes"].items():
        assert volume["state"] in ("new", "reused"), (name, component)
        assert volume["volume"] not in legacy_keys or volume["state"] == "reused", (name, component)
        assert volume["name"] == "%s_%s" % (legacy["project_name"], volume["volume"])
    variables, _requires = plan_to_vars(plan)
    for component in STACK_VOLUMES:
        assert variables["lgtm_%s_volume_name" % component] == plan["stack_volumes"][component]["volume"]
    assert "lgtm_grafana_adopt_volume" not in variables
    assert plan["grafana_adopted_volume"] is None and plan["grafana_delete_datasources"] == []


def test_example_volumes_are_distinct_and_the_report_names_them():
    plan = build_plan(legacy_of("example"))
    assert plan["stack_volumes"]["grafana"] == {"volume": "lgtm-grafana-data", "name": "shop_lgtm-grafana-data",
                                                "state": "new"}
    assert plan["stack_volumes"]["loki"]["name"] == "shop_lgtm-loki-data"
    # The legacy Grafana database stays where it is, unused, and the report says what that means.
    assert "grafana-data" in [v["volume"] for v in plan["volumes"]]
    (p027,) = by_code(plan, "P027")
    assert "shop_lgtm-grafana-data" in p027["message"] and "grafana-data" in p027["message"]
    report = render_report(plan)
    assert "- grafana: `shop_lgtm-grafana-data` (new, starts empty)" in report
    assert "- loki: `shop_lgtm-loki-data` (new, starts empty)" in report
    assert "`api`: service.name `shop-api`" in report
    assert "`shop_lgtm-grafana-data` (novo, começa vazio)" in render_report(plan, "pt_BR")


def test_a_project_volume_with_the_stack_key_is_not_taken_over():
    legacy = legacy_of("example")
    legacy["named_volumes"]["lgtm-loki-data"] = {"used_by": ["mysql"], "name": "shop_lgtm-loki-data",
                                                 "external": False}
    plan = build_plan(legacy)
    assert plan["stack_volumes"]["loki"] == {"volume": "lgtm-loki-data-2", "name": "shop_lgtm-loki-data-2",
                                             "state": "new"}


def test_a_replan_reuses_the_stacks_own_volumes():
    legacy = legacy_of("example")
    # After a migration the stack's grafana service (a stack component, re-deployed) uses lgtm-grafana-data.
    legacy["named_volumes"]["lgtm-grafana-data"] = {"used_by": ["grafana"], "name": "shop_lgtm-grafana-data",
                                                    "external": False}
    plan = build_plan(legacy)
    assert plan["stack_volumes"]["grafana"] == {"volume": "lgtm-grafana-data", "name": "shop_lgtm-grafana-data",
                                                "state": "reused"}
    assert "lgtm-grafana-data" not in [v["volume"] for v in plan["volumes"]]


def test_adoption_runs_grafana_on_the_legacy_database_and_never_deletes_it():
    legacy = legacy_of("example")
    plan = build_plan(legacy, adopt_grafana_data=True, remove_legacy_data=True)
    assert plan["stack_volumes"]["grafana"] == {"volume": "grafana-data", "name": "shop_grafana-data",
                                                "state": "adopted"}
    assert plan["grafana_adopted_volume"] == "grafana-data"
    assert "grafana-data" not in [v["volume"] for v in plan["volumes"]], "an adopted volume is never deleted"
    assert not by_code(plan, "P027")
    names = [d["name"] for d in plan["grafana_delete_datasources"]]
    assert names and names == [d["name"] for d in legacy["grafana"]["datasources"]]
    variables, _requires = plan_to_vars(plan)
    assert variables["lgtm_grafana_adopt_volume"] == "shop_grafana-data"
    assert variables["lgtm_grafana_delete_datasources"] == plan["grafana_delete_datasources"]
    assert variables["lgtm_stack_grafana_admin_reset"] is True
    assert "lgtm_grafana_volume_name" not in variables
    assert "adopted" in render_report(plan)


def test_adoption_without_a_named_volume_is_a_blocking_finding():
    legacy = legacy_of("example")
    legacy["services"]["grafana"]["volumes"] = [v for v in legacy["services"]["grafana"]["volumes"]
                                                if v.get("target") != "/var/lib/grafana"]
    plan = build_plan(legacy, adopt_grafana_data=True)
    (p026,) = by_code(plan, "P026")
    assert p026["severity"] == "high" and "no volume at /var/lib/grafana" in p026["message"]
    assert plan["stack_volumes"]["grafana"]["state"] == "new"


def test_plan_format_is_recorded_and_checked():
    plan = build_plan(legacy_of("example"))
    assert plan["format"] == PLAN_FORMAT
    assert upgrade_plan(plan) == plan, "a plan of the current format comes back as it is"
    with pytest.raises(PlanFormatError, match="format 99"):
        plan_to_vars(dict(plan, format=99))
    with pytest.raises(PlanFormatError, match="format 'x'"):
        plan_to_vars(dict(plan, format="x"))


def test_a_format_1_plan_keeps_the_volumes_its_stack_runs_on():
    plan = json.loads(json.dumps(build_plan(legacy_of("example"))))
    for key in ("format", "service_identities", "stack_volumes", "grafana_adopted_volume",
                "grafana_delete_datasources"):
        plan.pop(key)
    variables, _requires = plan_to_vars(plan)
    assert variables["lgtm_grafana_volume_name"] == "grafana-data"
    assert variables["lgtm_loki_volume_name"] == "loki-data"
    assert variables["lgtm_alloy_service_identities"] == {}


def test_a_users_service_named_like_a_stack_component_is_kept_untouched():
    legacy = legacy_of("name-clash")
    services = legacy["services"]
    assert services["tempo"]["component"] == "app", "its Dockerfile is FROM python, whatever its name"
    assert services["prometheus"]["component"] == "prometheus"
    assert services["prometheus"]["detected_by"] == "Dockerfile FROM prom/prometheus:v2.53.0"
    plan = build_plan(legacy)
    assert "tempo" in plan["keep_services"]
    assert "tempo" not in [r["service"] for r in plan["remove_services"]]
    # The new Tempo cannot take the name: the migration refuses before any change (P017 blocks by default)
    # and says how to name it.
    (p017,) = by_code(plan, "P017")
    assert p017["service"] == "tempo" and "lgtm_migrate_service_names" in p017["recommendation"]
    assert plan["service_names"]["tempo"] == "lgtm-tempo"


def _example_copy(tmp_path):
    import shutil

    from tests.unit.conftest import EXAMPLE
    dest = tmp_path / "shop"
    shutil.copytree(EXAMPLE, dest)
    return dest


def test_a_secret_file_absent_on_this_machine_is_a_finding_not_a_refusal(tmp_path):
    from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
    project = _example_copy(tmp_path)
    (project / "exporters" / "mysqld-exporter.my.cnf").unlink()  # gitignored: a teammate's fresh clone
    legacy = L.analyse_project(str(project))
    (mysqld,) = legacy["exporters"]["mysqld_exporter"]
    assert mysqld["my_cnf"]["missing"] is True
    plan = build_plan(legacy)
    (p028,) = by_code(plan, "P028")
    assert p028["file"].endswith("exporters/mysqld-exporter.my.cnf")
    assert "lgtm_exporters_mysqld_password" in p028["recommendation"]
    _variables, requires = plan_to_vars(plan)
    assert requires == ["lgtm_exporters_mysqld_password"]


def test_an_exporter_password_kept_in_dotenv_is_referenced_not_required(tmp_path):
    from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
    project = _example_copy(tmp_path)
    compose = project / "docker-compose.yml"
    text = compose.read_text()
    text = text.replace('''    command: ["--config.my-cnf=/etc/mysqld-exporter/.my.cnf"]
    volumes:
      - ./exporters/mysqld-exporter.my.cnf:/etc/mysqld-exporter/.my.cnf:ro
''', '''    environment:
      DATA_SOURCE_NAME: "exporter:${MYSQL_EXPORTER_PASSWORD}@(mysql:3306)/"
''')
    text = text.replace("      REDIS_ADDR: redis://redis:6379\n",
                        "      REDIS_ADDR: redis://redis:6379\n      REDIS_PASSWORD: ${REDIS_PASSWORD:-}\n", 1)
    compose.write_text(text)
    with open(project / ".env", "a") as env:
        env.write("MYSQL_EXPORTER_PASSWORD=kept-in-dotenv\nREDIS_PASSWORD=redis-in-dotenv\n")
    legacy = L.analyse_project(str(project))
    (mysqld,) = legacy["exporters"]["mysqld_exporter"]
    assert mysqld["password_ref"] == {"variable": "MYSQL_EXPORTER_PASSWORD", "kept_in": str(project / ".env"),
                                      "used_in": "DATA_SOURCE_NAME"}
    assert "kept-in-dotenv" not in str(legacy) and "redis-in-dotenv" not in str(legacy)
    plan = build_plan(legacy)
    assert {f["service"] for f in by_code(plan, "P029")} == {"mysqld-exporter", "redis-exporter"}
    variables, requires = plan_to_vars(plan)
    assert requires == [], "nothing to ask: the secrets stay in .env"
    assert variables["lgtm_exporters_mysqld_password_env"] == "MYSQL_EXPORTER_PASSWORD"
    assert variables["lgtm_exporters_mysqld_user"] == "exporter"
    assert variables["lgtm_exporters_redis_password_env"] == "REDIS_PASSWORD"


def test_legacy_global_scrape_settings_are_kept():
    plan = build_plan(legacy_of("example"))
    assert plan["scrape_global"] == {"scrape_interval": "15s", "external_labels": {"env": "dev"}}
    variables, _requires = plan_to_vars(plan)
    assert variables["lgtm_alloy_scrape_interval"] == "15s"
    assert variables["lgtm_alloy_external_labels"] == {"env": "dev"}


def test_files_a_carried_job_reads_are_mounted_into_alloy_and_inline_secrets_are_findings():
    legacy = legacy_of("jaeger-split")
    plan = build_plan(legacy)
    # file_sd reads /etc/prom/targets/*.json: the project's ./prom directory, mounted at /etc/prom, goes to Alloy.
    assert plan["scrape_files"] == [{"host_path": legacy["services"]["prometheus"]["volumes"][0]["source"],
                                     "container_path": "/etc/prom"}]
    assert plan["scrape_files"][0]["host_path"].endswith("/jaeger-split/prom")
    (p030,) = by_code(plan, "P030")
    assert "'orders'" in p030["message"] and "basic_auth.password" in p030["message"]
    assert "orders-metrics-pw" not in json.dumps(plan)
    variables, _requires = plan_to_vars(plan)
    assert variables["lgtm_alloy_scrape_files"] == plan["scrape_files"]
    assert variables["lgtm_alloy_scrape_interval"] == "20s"


def test_a_file_outside_every_mount_is_a_finding():
    legacy = legacy_of("jaeger-split")
    (job,) = [j for j in legacy["prometheus"]["scrape_configs"] if j["job_name"] == "orders"]
    job["tls_config"]["ca_file"] = "/run/secrets/orders-ca.pem"
    plan = build_plan(legacy)
    (p031,) = by_code(plan, "P031")
    assert "/run/secrets/orders-ca.pem" in p031["message"] and "tls_config.ca_file" in p031["message"]


def test_every_promtail_label_has_a_fate_and_dashboards_get_the_same_model():
    plan = build_plan(legacy_of("example"))
    fates = dict((f["label"], (f["fate"], f["new"])) for f in plan["promtail_labels"])
    assert fates == {"container": ("replaced", "service_name"), "stream": ("carried", "stream"),
                     "level": ("converted", "| json | level")}
    # The dashboards step rewrites {container="..."} to the identity the app's container logs now carry.
    assert plan["log_identities"]["api"] == "shop-api"
    assert set(plan["log_label_model"]) == {"container", "stream", "level"}
    assert "## Promtail labels" in render_report(plan) and "`container` (job `docker`" in render_report(plan)


def test_a_promtail_label_nothing_writes_any_more_is_a_finding():
    legacy = legacy_of("example")
    model = legacy["promtail"]["label_model"]
    model["filename"] = {"label": "filename", "sources": [
        dict(model["level"]["sources"][0], kind="relabel", source="relabel rule", collects="host")]}
    plan = build_plan(legacy)
    assert [f["label"] for f in plan["promtail_labels"] if f["fate"] == "dropped"] == ["filename"]
    (p032,) = by_code(plan, "P032")
    assert "filename" in p032["message"]


def test_a_jaeger_spm_stack_drops_its_span_metrics_scrape_and_flags_its_dashboard():
    plan = build_plan(legacy_of("jaeger-spm"))
    jobs = dict((j["job_name"], j) for j in plan["scrape_jobs"])
    # Upstream's shape scrapes a network alias of the jaeger service: it is removed, so the job is dropped.
    assert jobs["aggregated-trace-metrics"]["action"] == "drop"
    (p002,) = [f for f in by_code(plan, "P002") if f["message"].startswith("Scrape job 'aggregated-trace-metrics'")]
    assert "Tempo's metrics generator" in p002["recommendation"]
    (p033,) = by_code(plan, "P033")
    assert "p95" in p033["message"].lower() or "latency" in p033["message"].lower()


def test_piecewise_grafana_is_carried_whole():
    plan = build_plan(legacy_of("grafana-piecewise"))
    legacy = legacy_of("grafana-piecewise")
    grafana = legacy["grafana"]
    assert len(grafana["dashboards"]) == 5 and len(grafana["datasources"]) == 3
    # Every dashboard provider is carried, every datasource mapped to a new uid, and the report says so.
    assert {p["name"] for p in plan["dashboard_providers"]} == {p["name"] for p in grafana["dashboard_providers"]}
    assert all(p["host_path"] for p in plan["dashboard_providers"])
    mapped = plan["datasource_map"]["by_uid_or_name"]
    assert all(d["name"] in mapped for d in grafana["datasources"])
    # The body-regex derived field that pointed at Jaeger is flagged and replaced.
    assert any("points at Jaeger" in f["message"] for f in by_code(plan, "P003"))
    variables, _requires = plan_to_vars(plan)
    assert variables["lgtm_grafana_settings_env"]["GF_SMTP_PASSWORD"] == "${SMTP_PASSWORD}"
    assert variables["lgtm_grafana_plugins"] == ["grafana-piechart-panel", "grafana-clock-panel"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in variables["lgtm_grafana_settings_env"]
    assert [f["message"] for f in by_code(plan, "P035")] == [
        "Grafana setting GF_SECURITY_ADMIN_PASSWORD is not carried: the grafana role sets it (admin account, "
        "sign-up, paths and telemetry are the role's)."]


def test_the_report_lists_every_legacy_dashboard_and_datasource_with_its_fate():
    plan = build_plan(legacy_of("grafana-piecewise"))
    report = render_report(plan)
    legacy = legacy_of("grafana-piecewise")
    for dash in legacy["grafana"]["dashboards"]:
        assert "- %s (`" % dash["title"] in report and "): carried" in report
    for ds in legacy["grafana"]["datasources"]:
        assert "- `%s` (%s, `" % (ds["name"], ds["type"]) in report
    assert all(d["fate"] == "replaced" for d in plan["grafana_inventory"]["datasources"])
    assert len(plan["grafana_inventory"]["dashboards"]) == 5


def test_a_recorded_plan_moves_with_the_project():
    from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_rebase
    plan = json.loads(json.dumps(build_plan(legacy_of("example"))))
    old = plan["project_dir"]
    moved = plan_rebase(plan, "/home/ana/src/shop")
    assert moved["project_dir"] == "/home/ana/src/shop"
    assert moved["compose_files"] == [f.replace(old, "/home/ana/src/shop") for f in plan["compose_files"]]
    assert all(p["host_path"].startswith("/home/ana/src/shop/") for p in moved["dashboard_providers"])
    (mysqld,) = moved["exporters"]["mysqld_exporter"]
    assert mysqld["my_cnf"]["host_path"].startswith("/home/ana/src/shop/")
    assert old not in json.dumps(moved)
    assert plan_rebase(plan, old) == plan


def test_a_recorded_plan_of_another_shape_is_refused_when_it_is_read():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.lgtm.stack.plugins.filter.plan_to_vars import plan_rebase
    plan = json.loads(json.dumps(build_plan(legacy_of("example"))))
    plan["compose_files"] = "docker-compose.yml"
    with pytest.raises(AnsibleFilterError, match="MIGRATION_REPORT.json.*compose_files: expected a list"):
        plan_rebase(plan, "/home/ana/src/shop")
    with pytest.raises(AnsibleFilterError, match="format 7"):
        plan_rebase(dict(plan, format=7), "/home/ana/src/shop")
