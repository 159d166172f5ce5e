"""lgtm_backend: remote through the roles' own templates: Alloy mounts the secret files it reads and scrapes no
local backend; Grafana points its fixed-uid datasources at the remote query URLs with the correlation links kept."""

import yaml

from tests.unit.plugins.module_utils.test_remote import CENTRAL as REMOTE


def test_alloy_mounts_the_secret_files_read_only(render_role_template):
    text, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/shop",
                                          lgtm_backend="remote", lgtm_remote=REMOTE)
    volumes = yaml.safe_load(text)["services"]["alloy"]["volumes"]
    assert "/etc/lgtm/central.password:/etc/alloy/remote/traces/password:ro" in volumes
    assert "/etc/ssl/corp-ca.pem:/etc/alloy/remote/metrics/ca.pem:ro" in volumes
    jobs = [j["job_name"] for j in resolved["__lgtm_alloy_self_scrape"]]
    assert jobs == ["grafana"], "no local Tempo, Loki or Mimir to scrape"
    _, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/shop", lgtm_backend="remote",
                                       lgtm_remote=REMOTE, lgtm_alloy_scrape_grafana=False)
    assert resolved["__lgtm_alloy_self_scrape"] == [], "no Grafana in the stack: nothing of the stack to scrape"
    assert resolved["__lgtm_alloy_spec"]["remote"]["traces"]["auth"]["password_file"] == \
        "/etc/alloy/remote/traces/password"


def test_alloy_local_mode_is_unchanged(render_role_template):
    text, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/shop")
    assert "/etc/alloy/remote" not in text
    assert [j["job_name"] for j in resolved["__lgtm_alloy_self_scrape"]] == ["tempo", "loki", "mimir", "grafana"]
    assert resolved["__lgtm_alloy_spec"]["remote"] == {}


def test_grafana_reads_the_remote_backends(render_role_template):
    text, _ = render_role_template("grafana", "datasources.yaml.j2", lgtm_project_dir="/srv/shop",
                                   lgtm_backend="remote", lgtm_remote=REMOTE)
    assert "central.password" not in text, "only the container's path, never the host's"
    ds = dict((d["uid"], d) for d in yaml.safe_load(text)["datasources"])
    assert ds["mimir"]["url"] == "https://mimir.lgtm.corp/prometheus"
    assert ds["tempo"]["url"] == "https://tempo.lgtm.corp" and ds["loki"]["url"] == "https://loki.lgtm.corp"
    for uid in ("mimir", "tempo", "loki"):
        assert ds[uid]["basicAuthUser"] == "payments"
        signal = {"mimir": "metrics", "tempo": "traces", "loki": "logs"}[uid]
        assert ds[uid]["secureJsonData"]["basicAuthPassword"] == "$__file{/etc/grafana/remote/%s/password}" % signal
        assert ds[uid]["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID"
    # The correlation settings are the local ones, on the same uids.
    assert ds["tempo"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert ds["loki"]["jsonData"]["derivedFields"][0]["matcherRegex"] == "^trace_id$"
    assert ds["mimir"]["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] == "tempo"


def test_grafana_mounts_and_group(render_role_template):
    text, _ = render_role_template("grafana", "compose.yaml.j2", lgtm_project_dir="/srv/shop", lgtm_backend="remote",
                                   lgtm_remote=REMOTE, __lgtm_grafana_secret_groups=[1001])
    svc = yaml.safe_load(text)["services"]["grafana"]
    assert "/etc/lgtm/central.password:/etc/grafana/remote/logs/password:ro" in svc["volumes"]
    assert svc["group_add"] == ["1001"]
    text, _ = render_role_template("grafana", "compose.yaml.j2", lgtm_project_dir="/srv/shop")
    assert "group_add" not in text and "/etc/grafana/remote" not in text
