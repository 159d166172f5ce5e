"""lgtm.stack.exporters templates, rendered with the role's defaults and with overrides."""

import yaml

from ansible_collections.lgtm.stack.plugins.module_utils.redaction import is_secret_key


def test_defaults_render_an_empty_but_valid_fragment(render_role_template):
    text, resolved = render_role_template("exporters", "compose.yaml.j2", lgtm_project_dir="/srv/shop")
    assert resolved["lgtm_exporters_dir"] == "/srv/shop/observability/exporters"
    model = yaml.safe_load(text)
    assert model == {"services": {}, "networks": {"lgtm": {}}}


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
    assert model["networks"] == {"shop-net": {}}


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


def test_passwords_the_project_keeps_are_referenced_not_copied(render_role_template, tmp_path):
    text, _ = render_role_template(
        "exporters", "compose.yaml.j2", lgtm_project_dir="/srv/shop",
        lgtm_exporters_mysqld_enabled=True, lgtm_exporters_mysqld_password_env="MYSQL_EXPORTER_PASSWORD",
        lgtm_exporters_mysqld_host="db", lgtm_exporters_mysqld_user="exporter",
        lgtm_exporters_redis_enabled=True, lgtm_exporters_redis_password_env="REDIS_PW")
    model = yaml.safe_load(text)
    mysqld, redis = model["services"]["mysqld-exporter"], model["services"]["redis-exporter"]
    # mysqld-exporter 0.15+ reads MYSQLD_EXPORTER_PASSWORD with --mysqld.address/--mysqld.username: no my.cnf.
    assert mysqld["command"] == ["--mysqld.address=db:3306", "--mysqld.username=exporter"]
    assert mysqld["environment"] == {
        "MYSQLD_EXPORTER_PASSWORD": "${MYSQL_EXPORTER_PASSWORD:?set MYSQL_EXPORTER_PASSWORD in the project .env}"}
    assert "volumes" not in mysqld
    assert redis["environment"] == {"REDIS_PASSWORD": "${REDIS_PW:?set REDIS_PW in the project .env}"}
    assert redis["command"] == ["--redis.addr=redis://redis:6379"] and "volumes" not in redis
    # Compose resolves the reference from the project's .env; unset, it refuses with the message.
    (tmp_path / "compose.yaml").write_text(text)
    (tmp_path / ".env").write_text("MYSQL_EXPORTER_PASSWORD=from-dotenv\nREDIS_PW=r\n")
    import shutil
    import subprocess
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        out = subprocess.run(["docker", "compose", "--project-directory", str(tmp_path), "config", "--format", "json"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert '"MYSQLD_EXPORTER_PASSWORD": "from-dotenv"' in out.stdout
        (tmp_path / ".env").write_text("REDIS_PW=r\n")
        out = subprocess.run(["docker", "compose", "--project-directory", str(tmp_path), "config", "--quiet"],
                             capture_output=True, text=True)
        assert out.returncode != 0 and "set MYSQL_EXPORTER_PASSWORD in the project .env" in out.stderr
