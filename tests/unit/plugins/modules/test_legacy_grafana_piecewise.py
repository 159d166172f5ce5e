"""A Grafana mounted piece by piece, its settings, and a Prometheus config inline in compose `configs:` (issue 12)."""

import json

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import legacy as L
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError

from tests.unit.conftest import PROJECTS

PIECEWISE = PROJECTS / "grafana-piecewise"


def analyse(path, resolver):
    return L.analyse_project(str(path), run_command=resolver)


def test_every_datasource_found_with_file_and_line(resolver):
    legacy = analyse(PIECEWISE, resolver)
    grafana = legacy["grafana"]
    ds_file = str(PIECEWISE / "grafana" / "datasources" / "datasources.yaml")
    assert [(d["name"], d["uid"], d["type"], d["file"], d["line"]) for d in grafana["datasources"]] == [
        ("Prometheus", "prom", "prometheus", ds_file, 3), ("Loki", "loki", "loki", ds_file, 9),
        ("Jaeger", "jaeger", "jaeger", ds_file, 20)]
    # The body-regex derived field that points at the Jaeger datasource, as written (Grafana expands $$ itself).
    loki = grafana["datasources"][1]
    assert loki["json_data"]["derivedFields"] == [
        {"name": "TraceID", "matcherRegex": "traceID=(\\w+)", "datasourceUid": "jaeger", "url": "$${__value.raw}"}]
    assert not [w for w in legacy["warnings"] if "grafana" in w]


def test_every_dashboard_found_through_the_provider_path(resolver):
    grafana = analyse(PIECEWISE, resolver)["grafana"]
    provider_file = str(PIECEWISE / "grafana" / "provisioning-dashboards" / "main.yaml")
    files = PIECEWISE / "grafana" / "dashboard-files"
    assert grafana["dashboard_providers"] == [{
        "file": provider_file, "line": 3, "name": "files", "folder": "Shop",
        "container_path": "/var/lib/grafana/dashboards", "host_path": str(files), "folders_from_files": True}]
    dashboards = dict((d["relative_path"], d) for d in grafana["dashboards"])
    assert sorted(dashboards) == ["app/shop-logs.json", "app/shop-red.json", "app/shop-traces.json",
                                  "infra/node-imported.json", "infra/prometheus-self.json"]
    assert all(d["file"] == str(files / rel) for rel, d in dashboards.items())
    assert dashboards["app/shop-traces.json"]["datasource_refs"] == [{"kind": "uid", "value": "jaeger", "type": "jaeger"}]
    imported = dashboards["infra/node-imported.json"]
    assert imported["inputs"] == [{"name": "DS_PROMETHEUS", "plugin": "prometheus"}]
    assert imported["datasource_refs"] == [{"kind": "input", "value": "DS_PROMETHEUS", "type": "prometheus"}]
    assert dashboards["app/shop-logs.json"]["datasource_refs"] == [{"kind": "name", "value": "Loki", "type": None}]
    assert [p["kind"] for p in grafana["provisioning_files"]] == ["datasources", "dashboards"]
    assert grafana["provisioning_files"][1]["container_path"] == "/etc/grafana/provisioning/dashboards/main.yaml"


def test_settings_with_their_fates_and_no_secret_in_clear(resolver):
    legacy = analyse(PIECEWISE, resolver)
    grafana = legacy["grafana"]
    fates = dict((s["key"], (s["carried"], s["value"])) for s in grafana["settings"])
    assert fates == {
        "GF_AUTH_ANONYMOUS_ENABLED": (False, "true"),
        "GF_INSTALL_PLUGINS": (True, "grafana-piechart-panel,grafana-clock-panel"),
        "GF_SECURITY_ADMIN_PASSWORD": (False, "********"),
        "GF_SERVER_ROOT_URL": (True, "https://ops.example.com/grafana/"),
        "GF_SERVER_SERVE_FROM_SUB_PATH": (True, "true"),
        "GF_SMTP_ENABLED": (True, "true"),
        "GF_SMTP_HOST": (True, "smtp.example.com:587"),
        "GF_SMTP_PASSWORD": (True, "********"),
    }
    reasons = dict((s["key"], s["reason"]) for s in grafana["settings"])
    assert "anonymous access off on purpose" in reasons["GF_AUTH_ANONYMOUS_ENABLED"]
    assert "GF_PLUGINS_PREINSTALL" in reasons["GF_INSTALL_PLUGINS"]
    # The SMTP password goes on as the variable the legacy compose file used, never in clear.
    assert grafana["settings_env"] == {
        "GF_SERVER_ROOT_URL": "https://ops.example.com/grafana/", "GF_SERVER_SERVE_FROM_SUB_PATH": "true",
        "GF_SMTP_ENABLED": "true", "GF_SMTP_HOST": "smtp.example.com:587", "GF_SMTP_PASSWORD": "${SMTP_PASSWORD}"}
    assert grafana["plugins"] == ["grafana-piechart-panel", "grafana-clock-panel"]
    assert grafana["data_dir"] == {"type": "bind", "source": str(PIECEWISE / "data" / "grafana"),
                                   "container_path": "/var/lib/grafana"}
    assert "piecewise-smtp-pw" not in json.dumps(legacy)


def test_secret_in_clear_is_not_copied(project_copy, resolver):
    project = project_copy("grafana-piecewise")
    path = project / "compose.yaml"
    path.write_text(path.read_text().replace("GF_SMTP_PASSWORD: ${SMTP_PASSWORD}", "GF_SMTP_PASSWORD: clear-smtp-pw"))
    grafana = analyse(project, resolver)["grafana"]
    smtp = [s for s in grafana["settings"] if s["key"] == "GF_SMTP_PASSWORD"][0]
    assert smtp["carried"] is False and smtp["needs_value"] is True and smtp["value"] == "********"
    assert "GF_SMTP_PASSWORD" not in grafana["settings_env"]
    assert "clear-smtp-pw" not in json.dumps(grafana)


def test_inline_prometheus_config_is_read(resolver):
    prom = analyse(PIECEWISE, resolver)["prometheus"]
    assert prom["inline_config"] is True
    assert prom["file"] == "%s#configs.prometheus_config" % (PIECEWISE / "compose.yaml")
    assert [(j["job_name"], j["line"]) for j in prom["scrape_configs"]] == [
        ("prometheus", 6), ("shop-app", 9), ("jaeger", 12)]
    # A file-based compose config: the rule file on the host.
    assert prom["rule_files"] == [{"container_path": "/etc/prometheus/rules.yml",
                                   "host_path": str(PIECEWISE / "prometheus" / "rules.yml"),
                                   "groups": 1, "rules": 1, "alerts": ["ShopAppDown"], "problems": [],
                                   "on_disk": True}]


def test_file_config_prometheus_is_read(project_copy, resolver):
    project = project_copy("grafana-piecewise")
    (project / "prometheus" / "prometheus.yml").write_text(
        "scrape_configs:\n  - job_name: from-file\n    static_configs: [{targets: ['app:8080']}]\n")
    path = project / "compose.yaml"
    text = path.read_text().replace("  prometheus_rules:\n", "  prometheus_file:\n    file: ./prometheus/prometheus.yml\n"
                                    "  prometheus_rules:\n")
    path.write_text(text.replace("source: prometheus_config", "source: prometheus_file"))
    prom = analyse(project, resolver)["prometheus"]
    assert prom["file"] == str(project / "prometheus" / "prometheus.yml") and prom["inline_config"] is False
    assert [j["job_name"] for j in prom["scrape_configs"]] == ["from-file"]


def test_malformed_inline_prometheus_config_is_refused_naming_it(project_copy, resolver):
    project = project_copy("grafana-piecewise")
    path = project / "compose.yaml"
    path.write_text(path.read_text().replace("      global:\n        scrape_interval: 15s\n",
                                             "      global: [\n        scrape_interval: 15s\n"))
    with pytest.raises(InputError) as err:
        analyse(project, resolver)
    assert str(err.value).startswith("%s#configs.prometheus_config:" % (project / "compose.yaml"))
    assert "malformed YAML" in str(err.value)


def test_broken_provisioning_file_is_a_warning_with_file_and_line(project_copy, resolver):
    project = project_copy("grafana-piecewise")
    ds = project / "grafana" / "datasources" / "datasources.yaml"
    ds.write_text("apiVersion: 1\ndatasources:\n  - name: [\n")
    provider = project / "grafana" / "provisioning-dashboards" / "main.yaml"
    provider.write_text("providers:\n  - name: files\n    options: {path: \n")
    legacy = analyse(project, resolver)
    grafana = legacy["grafana"]
    assert grafana["datasources"] == [] and grafana["dashboards"] == []
    ds_warning = [w for w in legacy["warnings"] if str(ds) in w]
    assert len(ds_warning) == 1 and "%s:4: malformed YAML" % ds in ds_warning[0]
    assert "never loaded it" in ds_warning[0]
    provider_warning = [w for w in legacy["warnings"] if str(provider) in w]
    assert len(provider_warning) == 1 and "%s:4: malformed YAML" % provider in provider_warning[0]


def test_datasource_without_name_is_a_warning(project_copy, resolver):
    project = project_copy("grafana-piecewise")
    ds = project / "grafana" / "datasources" / "datasources.yaml"
    ds.write_text(ds.read_text().replace("  - name: Jaeger\n    type: jaeger\n", "  - type: jaeger\n"))
    legacy = analyse(project, resolver)
    assert [d["name"] for d in legacy["grafana"]["datasources"]] == ["Prometheus", "Loki"]
    assert [w for w in legacy["warnings"] if "%s:20: a datasource without a name" % ds in w]


def test_mount_from_a_missing_path_is_a_warning(project_copy):
    project = project_copy("grafana-piecewise")
    path = project / "compose.yaml"
    path.write_text(path.read_text().replace("./grafana/datasources:", "./grafana/gone:"))
    legacy = analyse(project, None)  # compose config would only plan to create the directory
    gone = str(project / "grafana" / "gone")
    assert [w for w in legacy["warnings"] if gone in w and "does not exist" in w]
    assert legacy["grafana"]["datasources"] == [] and len(legacy["grafana"]["dashboards"]) == 5


def test_malformed_dashboard_json_is_still_refused(project_copy, resolver):
    project = project_copy("grafana-piecewise")
    (project / "grafana" / "dashboard-files" / "app" / "shop-red.json").write_text('{"uid": "x",\n  "panels": [}\n')
    with pytest.raises(InputError) as err:
        analyse(project, resolver)
    assert "shop-red.json:2: malformed JSON" in str(err.value)


def test_cli_and_raw_agree_on_the_piecewise_project():
    from tests.unit.conftest import COMPOSE_AVAILABLE, real_run_command
    if not COMPOSE_AVAILABLE:
        pytest.skip("docker compose is not installed here")
    via_cli, raw = analyse(PIECEWISE, real_run_command), analyse(PIECEWISE, None)
    for key in ("components", "prometheus", "grafana", "warnings"):
        assert via_cli[key] == raw[key], key
