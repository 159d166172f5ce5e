"""lgtm.stack.grafana: every correlation setting, field by field, and the bundled dashboards."""

import json
from pathlib import Path

import yaml

DASHBOARDS = Path(__file__).resolve().parents[3] / "roles" / "grafana" / "files" / "dashboards"


def datasources(render, **overrides):
    text, _ = render("grafana", "datasources.yaml.j2", lgtm_project_dir="/srv/shop", **overrides)
    doc = yaml.safe_load(text)
    assert doc["apiVersion"] == 1
    return dict((ds["uid"], ds) for ds in doc["datasources"])


def test_fixed_uids_and_urls(render_role_template):
    ds = datasources(render_role_template)
    assert set(ds) == {"mimir", "tempo", "loki"}
    assert (ds["mimir"]["type"], ds["mimir"]["url"], ds["mimir"]["isDefault"]) == ("prometheus", "http://mimir:9009/prometheus", True)
    assert (ds["tempo"]["type"], ds["tempo"]["url"]) == ("tempo", "http://tempo:3200")
    assert (ds["loki"]["type"], ds["loki"]["url"]) == ("loki", "http://loki:3100")
    assert all(d["editable"] is False for d in ds.values())


def test_exemplars_point_at_tempo_for_both_label_names(render_role_template):
    dest = datasources(render_role_template)["mimir"]["jsonData"]["exemplarTraceIdDestinations"]
    assert sorted((d["name"], d["datasourceUid"]) for d in dest) == [("traceID", "tempo"), ("trace_id", "tempo")]


def test_traces_to_logs_uses_structured_metadata_and_a_real_time_window(render_role_template):
    t2l = datasources(render_role_template)["tempo"]["jsonData"]["tracesToLogsV2"]
    assert t2l["datasourceUid"] == "loki"
    assert t2l["customQuery"] is True
    # $$ is the provisioning escape for a literal $; the trace id is matched as structured metadata.
    assert t2l["query"] == '{service_name=~".+"} | trace_id = "$${__trace.traceId}"'


def test_traces_to_logs_query_stays_valid_logql_when_a_span_has_no_service_name(render_role_template):
    """With customQuery Grafana substitutes $${__tags} verbatim and always makes the link
    (public/app/features/explore/TraceView/traceToLogsQuery.ts): a span without service.name made `{} | ...`."""
    t2l = datasources(render_role_template)["tempo"]["jsonData"]["tracesToLogsV2"]
    # What Grafana sends for a span without any tag: the query with $${__tags} replaced by "".
    expanded = t2l["query"].replace("$$", "$").replace("${__tags}", "").replace("${__trace.traceId}", "0af7651916cd43dd")
    selector = expanded[:expanded.index("}") + 1]
    assert selector not in ("{}", "{ }") and ", }" not in selector and "{," not in selector
    assert "${__tags}" not in t2l["query"].replace("$$", "$")
    assert (t2l["spanStartTimeShift"], t2l["spanEndTimeShift"]) == ("-5m", "5m")


def test_traces_to_metrics_matches_the_span_metrics_labels(render_role_template):
    t2m = datasources(render_role_template)["tempo"]["jsonData"]["tracesToMetrics"]
    assert t2m["datasourceUid"] == "mimir"
    assert t2m["tags"] == [{"key": "service.name", "value": "service"}]
    queries = {q["name"]: q["query"] for q in t2m["queries"]}
    assert "traces_spanmetrics_calls_total{$$__tags}" in queries["Request rate"]
    assert 'status_code="STATUS_CODE_ERROR"' in queries["Error rate"]
    assert "traces_spanmetrics_latency_bucket{$$__tags}" in queries["p95 latency"]


def test_service_map_node_graph_search_streaming(render_role_template):
    j = datasources(render_role_template)["tempo"]["jsonData"]
    assert j["serviceMap"] == {"datasourceUid": "mimir"}
    assert j["nodeGraph"] == {"enabled": True}
    assert "lokiSearch" not in j  # not a Tempo datasource key: Grafana ignores it
    assert j["traceQuery"] == {"timeShiftEnabled": True, "spanStartTimeShift": "-5m", "spanEndTimeShift": "5m"}
    assert j["streamingEnabled"] == {"search": True, "metrics": True}


def test_loki_derived_field_on_trace_id_metadata(render_role_template):
    (field,) = datasources(render_role_template)["loki"]["jsonData"]["derivedFields"]
    # Matched unanchored against label keys, first match wins: anchored so parent_trace_id or trace_id_x never win.
    assert field == {"name": "TraceID", "matcherType": "label", "matcherRegex": "^trace_id$", "datasourceUid": "tempo",
                     "url": "$${__value.raw}", "urlDisplayLabel": "View trace"}
    import re
    assert [k for k in ("trace_id", "parent_trace_id", "trace_id_hex") if re.search(field["matcherRegex"], k)] == ["trace_id"]


def test_urls_follow_service_names_and_time_shift(render_role_template):
    ds = datasources(render_role_template, lgtm_service_names={"mimir": "metrics"}, lgtm_grafana_span_time_shift="2m")
    assert ds["mimir"]["url"] == "http://metrics:9009/prometheus"
    assert ds["tempo"]["jsonData"]["tracesToLogsV2"]["spanStartTimeShift"] == "-2m"


def test_dashboard_providers(render_role_template):
    text, _ = render_role_template("grafana", "dashboards.yaml.j2", lgtm_project_dir="/p")
    providers = {p["name"]: p for p in yaml.safe_load(text)["providers"]}
    assert providers["lgtm-stack"]["options"]["path"] == "/etc/grafana/dashboards/lgtm"
    assert providers["lgtm-stack"]["folder"] == "LGTM stack"
    assert providers["project"]["options"] == {"path": "/etc/grafana/dashboards/project", "foldersFromFilesStructure": True}
    # Turning the bundled dashboards off removes their files: only disableDeletion false removes them from Grafana.
    assert providers["lgtm-stack"]["disableDeletion"] is False
    # The migrated dashboards have their own provider and directory; a lost file never deletes the user's dashboard.
    assert providers["project"]["disableDeletion"] is True
    assert providers["lgtm-stack"]["options"]["path"] != providers["project"]["options"]["path"]


def test_compose_fragment_keeps_the_password_out(render_role_template):
    text, _ = render_role_template("grafana", "compose.yaml.j2", lgtm_project_dir="/p", lgtm_grafana_admin_password="s3cret")
    assert "s3cret" not in text
    model = yaml.safe_load(text)
    svc = model["services"]["grafana"]
    env = svc["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert svc["secrets"] == ["grafana_admin_password"]
    assert model["secrets"] == {"grafana_admin_password": {"file": "./admin_password"}}
    assert svc["ports"] == ["127.0.0.1:3000:3000"] and svc["user"] == "472:0"
    assert "./provisioning:/etc/grafana/provisioning:ro" in svc["volumes"]


def _targets(dashboard):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def test_bundled_dashboards_use_only_the_fixed_uids():
    files = sorted(p.name for p in DASHBOARDS.glob("*.json"))
    assert files == ["mysql.json", "redis.json", "service-red.json", "stack-health.json"]
    uids = set()
    for path in DASHBOARDS.glob("*.json"):
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"].startswith("lgtm-") and dashboard["uid"] not in uids
        uids.add(dashboard["uid"])
        for panel, target in _targets(dashboard):
            assert panel["datasource"]["uid"] in ("mimir", "tempo", "loki"), (path.name, panel["title"])
            assert target["datasource"] == panel["datasource"]


def test_red_dashboard_links_metrics_traces_and_logs():
    dashboard = json.loads((DASHBOARDS / "service-red.json").read_text())
    panels = {p["title"]: p for p in dashboard["panels"]}
    latency = panels["p95 latency (exemplars link to traces)"]["targets"][0]
    # Exemplars only exist on the histogram buckets.
    assert latency["exemplar"] is True and "traces_spanmetrics_latency_bucket" in latency["expr"]
    assert panels["Service graph"]["targets"][0]["queryType"] == "serviceMap"
    assert panels["Logs (trace ids link to Tempo)"]["targets"][0]["expr"] == '{service_name="$service"}'
    assert dashboard["templating"]["list"][0]["query"]["query"] == "label_values(traces_spanmetrics_calls_total, service)"


def test_compose_fragment_uses_its_own_volume_by_default(render_role_template):
    text, _ = render_role_template("grafana", "compose.yaml.j2", lgtm_project_dir="/p")
    model = yaml.safe_load(text)
    assert "lgtm-grafana-data:/var/lib/grafana" in model["services"]["grafana"]["volumes"]
    # Never the legacy key (compose include: shares one volume namespace with the project).
    assert model["volumes"] == {"lgtm-grafana-data": {}}


def test_adopting_a_legacy_database_mounts_it_as_external(render_role_template):
    text, _ = render_role_template("grafana", "compose.yaml.j2", lgtm_project_dir="/p",
                                   lgtm_grafana_adopt_volume="shop_grafana-data")
    model = yaml.safe_load(text)
    assert "lgtm-grafana-data:/var/lib/grafana" in model["services"]["grafana"]["volumes"]
    assert model["volumes"] == {"lgtm-grafana-data": {"name": "shop_grafana-data", "external": True}}


def test_delete_datasources_only_when_asked(render_role_template):
    text, _ = render_role_template("grafana", "datasources.yaml.j2", lgtm_project_dir="/p")
    assert "deleteDatasources" not in yaml.safe_load(text)
    text, _ = render_role_template("grafana", "datasources.yaml.j2", lgtm_project_dir="/p",
                                   lgtm_grafana_delete_datasources=[{"name": "Prometheus"},
                                                                    {"name": "Jaeger", "orgId": 2}])
    doc = yaml.safe_load(text)
    # pkg/services/provisioning/datasources/types.go, deleteDatasourceConfigV1: name, orgId.
    assert doc["deleteDatasources"] == [{"orgId": 1, "name": "Prometheus"}, {"orgId": 2, "name": "Jaeger"}]
    assert doc["apiVersion"] == 1 and [d["uid"] for d in doc["datasources"]] == ["mimir", "tempo", "loki"]


def test_carried_settings_and_plugins_in_the_fragment(render_role_template):
    text, _ = render_role_template(
        "grafana", "compose.yaml.j2", lgtm_project_dir="/p",
        lgtm_grafana_settings_env={"GF_SERVER_ROOT_URL": "https://ops.example.com/grafana/",
                                   "GF_SERVER_SERVE_FROM_SUB_PATH": True, "GF_SMTP_PASSWORD": "${SMTP_PASSWORD}",
                                   "GF_SMTP_FROM_NAME": "Ops $team: \"on call\""},
        lgtm_grafana_plugins=["grafana-piechart-panel", "grafana-clock-panel@2.1.3"])
    env = yaml.safe_load(text)["services"]["grafana"]["environment"]
    assert env["GF_SERVER_ROOT_URL"] == "https://ops.example.com/grafana/"
    assert env["GF_SERVER_SERVE_FROM_SUB_PATH"] == "True"
    # A whole ${VAR} is left for compose to fill in; any other $ is literal.
    assert env["GF_SMTP_PASSWORD"] == "${SMTP_PASSWORD}"
    assert env["GF_SMTP_FROM_NAME"] == 'Ops $$team: "on call"'
    assert env["GF_PLUGINS_PREINSTALL"] == "grafana-piechart-panel,grafana-clock-panel@2.1.3"
    assert "GF_INSTALL_PLUGINS" not in env


def test_carried_settings_never_replace_the_roles_own(render_role_template):
    text, _ = render_role_template(
        "grafana", "compose.yaml.j2", lgtm_project_dir="/p",
        lgtm_grafana_settings_env={"GF_AUTH_ANONYMOUS_ENABLED": "true", "GF_AUTH_ANONYMOUS_ORG_ROLE": "Admin",
                                   "GF_SECURITY_ADMIN_PASSWORD": "x"})
    assert "Admin" not in text and text.count("GF_AUTH_ANONYMOUS_ENABLED") == 1
    env = yaml.safe_load(text)["services"]["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false" and "GF_SECURITY_ADMIN_PASSWORD" not in env
    default, _ = render_role_template("grafana", "compose.yaml.j2", lgtm_project_dir="/p")
    assert "GF_PLUGINS_PREINSTALL" not in default


def _preflight_settings_assert():
    tasks = yaml.safe_load((Path(__file__).resolve().parents[3] / "roles" / "grafana" / "tasks" / "preflight.yml").read_text())
    return [t for t in tasks if "settings carried" in t["name"]][0]["ansible.builtin.assert"]


def test_preflight_refuses_the_roles_own_settings():
    check = _preflight_settings_assert()
    expr = "{{ (%s) }}" % ") and (".join(check["that"])
    ok = {"lgtm_grafana_settings_env": {"GF_SMTP_HOST": "smtp:587"}, "lgtm_grafana_plugins": ["grafana-clock-panel"]}
    assert _evaluate(expr, ok) == "True"
    for bad in ({"GF_AUTH_ANONYMOUS_ORG_ROLE": "Admin"}, {"GF_SECURITY_ADMIN_PASSWORD": "x"},
                {"GF_INSTALL_PLUGINS": "a"}, {"gf_server_domain": "x"}, {"GF_USERS_ALLOW_SIGN_UP": "true"}):
        assert _evaluate(expr, dict(ok, lgtm_grafana_settings_env=bad)) == "False", bad
    assert _evaluate(expr, dict(ok, lgtm_grafana_plugins=["a,b"])) == "False"


def _evaluate(expr, overrides):
    """The preflight's assertion as Ansible evaluates it, on the role's defaults and vars plus overrides."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    loader = DataLoader()
    variables = {}
    for source in ("defaults", "vars"):
        path = Path(__file__).resolve().parents[3] / "roles" / "grafana" / source / "main.yml"
        variables.update(loader.load_from_file(str(path), trusted_as_template=True) or {})
    variables.update(overrides)
    return str(Templar(loader=loader, variables=variables).template(trust_as_template(expr)))
