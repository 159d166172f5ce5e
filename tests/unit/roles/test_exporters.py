"""lgtm.stack.exporters templates, rendered with the role's defaults and with overrides."""

import yaml

from ansible_collections.lgtm.stack.plugins.module_utils.redaction import is_secret_key


def test_defaults_render_an_empty_but_valid_fragment(render_role_template):
    text, resolved = render_role_template("exporters", "compose.yaml.j2", lgtm_project_dir="/srv/shop")
    assert resolved["lgtm_exporters_dir"] == "/srv/shop/observability/exporters"
    model = yaml.safe_load(text)
    assert model == {"services": {}, "networks": {"lgtm": {"name": "lgtm"}}}


def test_both_exporters(render_role_template):
    text, resolved = render_role_template(
        "exporters", "compose.yaml.j2", lgtm_project_dir="/srv/shop", lgtm_network="shop-net",
        lgtm_exporters_mysqld_enabled=True, lgtm_exporters_mysqld_password="pw-mysql",
        lgtm_exporters_mysqld_extra_args=["--collect.info_schema.processlist"],
        lgtm_exporters_redis_enabled=True, lgtm_exporters_redis_password="pw-redis",
        lgtm_exporters_redis_address="redis://cache:6380")
    assert "pw-mysql" not in text and "pw-redis" not in text
    model = yaml.safe_load(text)
    mysqld, redis = model["services"]["mysqld-exporter"], model["services"]["redis-exporter"]
    assert mysqld["image"] == "prom/mysqld-exporter:v0.20.0" and redis["image"] == "oliver006/redis_exporter:v1.88.0"
    assert mysqld["command"] == ["--config.my-cnf=/etc/mysqld-exporter/my.cnf", "--collect.info_schema.processlist"]
    assert mysqld["volumes"] == ["./mysqld-exporter.my.cnf:/etc/mysqld-exporter/my.cnf:ro"]
    assert redis["command"] == ["--redis.addr=redis://cache:6380",
                                "--redis.password-file=/etc/redis-exporter/passwords.json"]
    assert redis["volumes"] == ["./redis-exporter.passwords.json:/etc/redis-exporter/passwords.json:ro"]
    for svc in (mysqld, redis):
        assert svc["user"] == "65534:65534" and svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
        assert svc["networks"] == ["shop-net"]
        assert all(port.startswith("127.0.0.1:") for port in svc["ports"])
        assert not any(is_secret_key(k) for k in svc.get("environment") or {})
    assert model["networks"] == {"shop-net": {"name": "shop-net"}}


def test_ports_not_published_and_bind_address(render_role_template):
    text, _ = render_role_template("exporters", "compose.yaml.j2", lgtm_project_dir="/p",
                                   lgtm_exporters_redis_enabled=True, lgtm_exporters_publish_ports=False)
    assert "ports" not in yaml.safe_load(text)["services"]["redis-exporter"]
    text, _ = render_role_template("exporters", "compose.yaml.j2", lgtm_project_dir="/p", lgtm_bind_address="10.1.2.3",
                                   lgtm_exporters_redis_enabled=True)
    assert yaml.safe_load(text)["services"]["redis-exporter"]["ports"] == ["10.1.2.3:9121:9121"]
    text, _ = render_role_template("exporters", "compose.yaml.j2", lgtm_project_dir="/p",
                                   lgtm_exporters_redis_enabled=True)
    redis = yaml.safe_load(text)["services"]["redis-exporter"]
    assert "volumes" not in redis and redis["command"] == ["--redis.addr=redis://redis:6379"], "no password, no file"


def test_images_follow_lgtm_images(render_role_template):
    text, _ = render_role_template("exporters", "compose.yaml.j2", lgtm_project_dir="/p",
                                   lgtm_images={"mysqld_exporter": "registry.local/mysqld-exporter:v0.20.0"},
                                   lgtm_exporters_mysqld_enabled=True, lgtm_exporters_mysqld_password="x")
    assert yaml.safe_load(text)["services"]["mysqld-exporter"]["image"] == "registry.local/mysqld-exporter:v0.20.0"


def test_my_cnf(render_role_template):
    text, _ = render_role_template("exporters", "mysqld-exporter.my.cnf.j2", lgtm_project_dir="/p",
                                   lgtm_exporters_mysqld_host="db", lgtm_exporters_mysqld_port=3307,
                                   lgtm_exporters_mysqld_user="mon", lgtm_exporters_mysqld_password="s3cret")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ["[client]", "host = db", "port = 3307", "user = mon", "password = s3cret"]
