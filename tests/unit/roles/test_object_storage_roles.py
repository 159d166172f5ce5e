"""Object storage through the tempo, loki and mimir roles' own templates: the storage blocks written and the
credentials file mounted (the keys themselves are checked against the recorded upstream facts by
test_backend_config_keys.py)."""

import pytest
import yaml

from ansible_collections.lgtm.stack.plugins.module_utils import object_storage as OS

SETTINGS = {"endpoint": "minio.internal:9000", "insecure": True, "credentials_file": "/etc/lgtm/s3.credentials",
            "buckets": {"tempo": "shop-traces", "loki": "shop-logs", "mimir": "shop-metrics"}}


def _config(render, component, **extra):
    text, _ = render(component, "%s.yaml.j2" % component, lgtm_project_dir="/srv/shop", **extra)
    return text, yaml.safe_load(text)


def test_tempo_writes_its_blocks_to_the_bucket(render_role_template):
    text, cfg = _config(render_role_template, "tempo", lgtm_object_storage=SETTINGS)
    trace = cfg["storage"]["trace"]
    assert trace["backend"] == "s3" and "local" not in trace
    assert trace["s3"] == {"bucket": "shop-traces", "endpoint": "minio.internal:9000", "region": "us-east-1",
                           "insecure": True, "forcepathstyle": True}
    assert trace["wal"]["path"].startswith("/var/tempo/"), "the WAL stays on the volume"
    assert "credentials" not in text and "access_key" not in text


def test_loki_chunks_index_and_deletes_in_the_bucket(render_role_template):
    _text, cfg = _config(render_role_template, "loki", lgtm_object_storage=SETTINGS)
    assert cfg["common"]["storage"] == {"s3": {"endpoint": "minio.internal:9000", "bucketnames": "shop-logs",
                                               "region": "us-east-1", "insecure": True, "s3forcepathstyle": True}}
    assert [p["object_store"] for p in cfg["schema_config"]["configs"]] == ["s3"]
    assert cfg["compactor"]["delete_request_store"] == "s3" and cfg["compactor"]["retention_enabled"] is True


def test_mimir_one_bucket_three_stores_apart(render_role_template):
    _text, cfg = _config(render_role_template, "mimir", lgtm_object_storage=SETTINGS)
    assert cfg["common"]["storage"]["backend"] == "s3"
    assert cfg["common"]["storage"]["s3"]["bucket_lookup_type"] == "path"
    assert "backend" not in cfg["blocks_storage"] and "filesystem" not in cfg["blocks_storage"]
    assert cfg["blocks_storage"]["tsdb"]["dir"].startswith("/data/")
    # Mimir refuses ruler/alertmanager stores equal to the blocks storage: distinct alphanumeric prefixes.
    assert cfg["ruler_storage"] == {"storage_prefix": "ruler"}
    assert cfg["alertmanager_storage"] == {"storage_prefix": "alertmanager"}


@pytest.mark.parametrize("component", OS.COMPONENTS)
def test_credentials_are_a_mounted_file(render_role_template, component):
    text, _ = render_role_template(component, "compose.yaml.j2", lgtm_project_dir="/srv/shop",
                                   lgtm_object_storage=SETTINGS, lgtm_component_s3_groups=[4242])
    svc = yaml.safe_load(text)["services"][component]
    assert "/etc/lgtm/s3.credentials:/etc/lgtm-s3/credentials:ro" in svc["volumes"]
    assert svc["environment"]["AWS_SHARED_CREDENTIALS_FILE"] == "/etc/lgtm-s3/credentials"
    assert svc["group_add"] == ["4242"]
    text, _ = render_role_template(component, "compose.yaml.j2", lgtm_project_dir="/srv/shop")
    assert "lgtm-s3" not in text and "group_add" not in text


@pytest.mark.parametrize("component", OS.COMPONENTS)
def test_filesystem_default_is_unchanged(render_role_template, component):
    text, cfg = _config(render_role_template, component)
    assert "s3" not in yaml.safe_dump(cfg).replace("s3_", "")
