"""Tempo, Loki and Mimir configurations: the settings correlation and a dev host rely on, key by key.

These render the roles' own templates with Ansible's templar; they check what we
generate against the upstream documentation of the pinned versions (the real
binaries are not available on the test machines, so `-config.verify` cannot run
here; the roles run it when the real image is present).
"""

import pytest
import yaml


def config(render, role, **overrides):
    text, _ = render(role, "%s.yaml.j2" % role, lgtm_project_dir="/srv/shop", **overrides)
    assert text.startswith("#"), "ansible_managed header"
    return yaml.safe_load(text)


def compose(render, role, **overrides):
    text, _ = render(role, "compose.yaml.j2", lgtm_project_dir="/srv/shop", **overrides)
    return yaml.safe_load(text)


def test_tempo_3_config(render_role_template):
    cfg = config(render_role_template, "tempo")
    for rejected in ("ingester", "compactor", "metrics_generator_client"):
        assert rejected not in cfg, "%s is rejected or dead in Tempo 3" % rejected
    assert "traces_storage" not in cfg["metrics_generator"]
    assert cfg["stream_over_http_enabled"] is True
    protocols = cfg["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols == {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}
    assert cfg["server"]["http_listen_port"] == 3200
    assert cfg["backend_scheduler"]["provider"]["compaction"]["compaction"]["block_retention"] == "168h"
    assert cfg["backend_worker"]["compaction"]["block_retention"] == "168h"
    remote = cfg["metrics_generator"]["storage"]["remote_write"]
    assert remote == [{"url": "http://mimir:9009/api/v1/push", "send_exemplars": True}]
    assert cfg["overrides"]["defaults"]["metrics_generator"]["processors"] == ["span-metrics", "service-graphs"]
    assert all(p.startswith("/var/tempo/") for p in (cfg["storage"]["trace"]["wal"]["path"],
                                                     cfg["storage"]["trace"]["local"]["path"],
                                                     cfg["metrics_generator"]["storage"]["path"]))
    assert cfg["usage_report"] == {"reporting_enabled": False}


def test_tempo_follows_the_mimir_service_name_and_extra_config(render_role_template):
    cfg = config(render_role_template, "tempo", lgtm_service_names={"mimir": "metrics"}, lgtm_tempo_retention="72h",
                 lgtm_tempo_extra_config={"server": {"log_level": "debug"}, "query_frontend": {"search": {"duration_slo": "5s"}}})
    assert cfg["metrics_generator"]["storage"]["remote_write"][0]["url"] == "http://metrics:9009/api/v1/push"
    assert cfg["server"] == {"http_listen_port": 3200, "grpc_listen_port": 9095, "log_level": "debug"}, "deep merge"
    assert cfg["query_frontend"]["search"]["duration_slo"] == "5s"
    assert cfg["backend_worker"]["compaction"]["block_retention"] == "72h"


def test_loki_3_config(render_role_template):
    cfg = config(render_role_template, "loki")
    (period,) = cfg["schema_config"]["configs"]
    assert (period["store"], period["schema"], period["object_store"]) == ("tsdb", "v13", "filesystem")
    assert period["from"] == "2024-01-01" and period["index"] == {"prefix": "index_", "period": "24h"}
    limits = cfg["limits_config"]
    assert limits["allow_structured_metadata"] is True
    assert limits["retention_period"] == "168h"
    # Retention is only enforced with all three.
    assert cfg["compactor"]["retention_enabled"] is True and cfg["compactor"]["delete_request_store"] == "filesystem"
    labels = limits["otlp_config"]["resource_attributes"]
    assert labels["ignore_defaults"] is True
    assert labels["attributes_config"] == [{"action": "index_label", "attributes": [
        "service.name", "service.namespace", "deployment.environment", "deployment.environment.name"]}]
    indexed = labels["attributes_config"][0]["attributes"]
    assert not any("trace" in a or "span" in a or a == "service.instance.id" for a in indexed)
    assert cfg["auth_enabled"] is False and cfg["common"]["replication_factor"] == 1
    assert cfg["analytics"] == {"reporting_enabled": False}


def test_loki_storage_client_is_pinned_for_the_checked_line(render_role_template):
    """Loki's next line defaults storage_config.use_thanos_objstore to true, after which common.storage.filesystem
    no longer places the data (stack-facts.md): the client is set explicitly, and only for the line it was checked on."""
    cfg = config(render_role_template, "loki")
    assert cfg["storage_config"]["use_thanos_objstore"] is False
    assert cfg["common"]["storage"]["filesystem"]["chunks_directory"] == "/loki/chunks"
    _, resolved = render_role_template("loki", "loki.yaml.j2", lgtm_project_dir="/srv/shop")
    assert resolved["lgtm_loki_image"].startswith("grafana/loki:3.7."), "check the storage block before a bump"


def test_mimir_3_config(render_role_template):
    cfg = config(render_role_template, "mimir")
    assert cfg["multitenancy_enabled"] is False
    # Mimir 3 defaults to Kafka ingest storage: both settings are needed for a single host.
    assert cfg["ingest_storage"] == {"enabled": False}
    assert cfg["ingester"]["push_grpc_method_enabled"] is True
    assert cfg["ingester"]["ring"]["replication_factor"] == 1
    assert cfg["store_gateway"]["sharding_ring"]["replication_factor"] == 1
    assert cfg["blocks_storage"]["backend"] == "filesystem"
    limits = cfg["limits"]
    assert limits["max_global_exemplars_per_user"] == 100000, "exemplars are dropped at 0"
    assert limits["native_histograms_ingestion_enabled"] is True
    assert limits["compactor_blocks_retention_period"] == "15d"
    dirs = [cfg["blocks_storage"]["bucket_store"]["sync_dir"], cfg["blocks_storage"]["filesystem"]["dir"],
            cfg["blocks_storage"]["tsdb"]["dir"], cfg["compactor"]["data_dir"], cfg["ruler_storage"]["filesystem"]["dir"],
            cfg["ruler"]["rule_path"]]
    for a in dirs:
        assert a.startswith("/data/")
        for b in dirs:
            assert a == b or not b.startswith(a + "/"), "storage directories must not overlap"
    assert cfg["usage_stats"] == {"enabled": False}


def test_mimir_exemplars_can_be_tuned_but_types_stay_right(render_role_template):
    cfg = config(render_role_template, "mimir", lgtm_mimir_max_global_exemplars_per_user="5000",
                 lgtm_mimir_native_histograms="false")
    assert cfg["limits"]["max_global_exemplars_per_user"] == 5000
    assert cfg["limits"]["native_histograms_ingestion_enabled"] is False


@pytest.mark.parametrize(("role", "port", "mount", "data"), [
    ("tempo", 3200, "/etc/tempo/tempo.yaml", "/var/tempo"),
    ("loki", 3100, "/etc/loki/loki.yaml", "/loki"),
    ("mimir", 9009, "/etc/mimir/mimir.yaml", "/data"),
])
def test_compose_fragments(render_role_template, role, port, mount, data):
    model = compose(render_role_template, role)
    svc = model["services"][role]
    assert ":" in svc["image"] and not svc["image"].endswith(":latest")
    assert svc["command"] == ["-config.file=%s" % mount]
    # lgtm-<role>-data: never the key a legacy stack uses (<role>-data), which include: would share.
    assert svc["volumes"] == ["./%s.yaml:%s:ro" % (role, mount), "lgtm-%s-data:%s" % (role, data)]
    assert svc["ports"] == ["127.0.0.1:%d:%d" % (port, port)]
    assert svc["networks"] == ["lgtm"] and model["networks"] == {"lgtm": {}}
    assert model["volumes"] == {"lgtm-%s-data" % role: {}}
    unpublished = compose(render_role_template, role, **{"lgtm_%s_host_port" % role: 0})
    assert "ports" not in unpublished["services"][role]


def test_tempo_fragment_keeps_its_identity_and_time_to_flush(render_role_template):
    svc = compose(render_role_template, "tempo")["services"]["tempo"]
    assert svc["hostname"] == "tempo"
    assert svc["stop_grace_period"] == "40s"
