"""lgtm.stack.alloy compose fragment: ports on loopback, Jaeger ports, socket read-only."""

import yaml


def fragment(render, **overrides):
    text, _ = render("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/shop", **overrides)
    return yaml.safe_load(text)


def test_defaults(render_role_template):
    svc = fragment(render_role_template)["services"]["alloy"]
    assert svc["ports"] == ["127.0.0.1:4317:4317", "127.0.0.1:4318:4318", "127.0.0.1:12345:12345"]
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in svc["volumes"]
    assert svc["command"] == ["run", "--server.http.listen-addr=0.0.0.0:12345", "--storage.path=/var/lib/alloy/data",
                              "/etc/alloy/config.alloy"]
    assert "extra_hosts" not in svc and not any(v.startswith("/proc") for v in svc["volumes"])


def test_jaeger_host_metrics_gateway(render_role_template):
    svc = fragment(render_role_template, lgtm_alloy_jaeger_receivers=["thrift_compact", "thrift_http"],
                   lgtm_alloy_host_metrics=True, lgtm_alloy_host_gateway=True, lgtm_alloy_ui_host_port=0)["services"]["alloy"]
    assert svc["ports"] == ["127.0.0.1:4317:4317", "127.0.0.1:4318:4318", "127.0.0.1:6831:6831/udp",
                            "127.0.0.1:14268:14268/tcp"]
    assert svc["extra_hosts"] == ["host.docker.internal:host-gateway"]
    assert {"/proc:/host/proc:ro", "/sys:/host/sys:ro", "/:/host/root:ro"} <= set(svc["volumes"])


def test_compose_project_default_from_the_directory(render_role_template):
    _, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/My Shop.v2")
    assert resolved["lgtm_alloy_compose_project"] == "myshopv2"
    _, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/x", lgtm_compose_project="shop")
    assert resolved["lgtm_alloy_compose_project"] == "shop" and resolved["lgtm_alloy_service_namespace"] == "shop"


def test_scrape_secrets_env_file_only_when_set(render_role_template):
    svc = fragment(render_role_template)["services"]["alloy"]
    assert "env_file" not in svc
    svc = fragment(render_role_template, lgtm_alloy_scrape_secrets={"LGTM_SCRAPE_ORDERS_PASSWORD": "pw"})["services"]["alloy"]
    assert svc["env_file"] == ["./scrape.env"]


def test_scrape_secrets_are_written_0600_and_never_logged():
    from pathlib import Path

    tasks = yaml.safe_load((Path(__file__).resolve().parents[3] / "roles/alloy/tasks/configure.yml").read_text())
    (write,) = [s for t in tasks for s in (t.get("lgtm.stack.component_files") or {}).get("secret_files") or []
                if s["name"] == "scrape.env"]
    assert write["mode"] == "0600" and "'present' if lgtm_alloy_scrape_secrets | length > 0 else 'absent'" in write["state"]
    assert not [t["name"] for t in tasks if "ansible.builtin.copy" in t], "a secret only through secret_files"
    specs = yaml.safe_load((Path(__file__).resolve().parents[3] / "roles/alloy/meta/argument_specs.yml").read_text())
    assert specs["argument_specs"]["main"]["options"]["lgtm_alloy_scrape_secrets"]["no_log"] is True


def test_scrape_files_are_mounted_where_the_config_reads_them(render_role_template):
    from ansible_collections.lgtm.stack.plugins.filter.alloy_config import alloy_config
    from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A

    files = [{"host_path": "/srv/shop/prometheus/secrets", "container_path": "/etc/prometheus/secrets/"},
             {"host_path": "/srv/shop/prometheus/ca.pem", "container_path": "/etc/prometheus/ca.pem"}]
    job = {"job_name": "orders", "basic_auth": {"username": "u", "password_file": "/etc/prometheus/secrets/pw"},
           "tls_config": {"ca_file": "/etc/prometheus/ca.pem"}, "static_configs": [{"targets": ["orders:8080"]}]}
    text, resolved = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/shop",
                                          lgtm_alloy_scrape_files=files, lgtm_alloy_scrape_jobs=[job],
                                          lgtm_alloy_external_labels={"cluster": "eu"},
                                          lgtm_alloy_service_identities={"api": {"service_name": "shop-api"}})
    volumes = yaml.safe_load(text)["services"]["alloy"]["volumes"]
    assert "/srv/shop/prometheus/secrets:/etc/alloy/files/etc/prometheus/secrets:ro" in volumes
    assert "/srv/shop/prometheus/ca.pem:/etc/alloy/files/etc/prometheus/ca.pem:ro" in volumes
    built = alloy_config(resolved["__lgtm_alloy_spec"])
    comps = A.validate(built["alloy"]).components()
    _, blocks = A.body_values(comps[("prometheus.scrape", "orders")])
    password_file = A.body_values(blocks["basic_auth"][0])[0]["password_file"]
    ca_file = A.body_values(blocks["tls_config"][0])[0]["ca_file"]
    mounted = [v.split(":")[1] for v in volumes]
    assert password_file == "/etc/alloy/files/etc/prometheus/secrets/pw" and password_file.startswith(mounted[-2] + "/")
    assert ca_file in mounted
    assert A.body_values(comps[("prometheus.remote_write", "mimir")])[0]["external_labels"] == {"cluster": "eu"}
    assert '"shop-api"' in built["alloy"]


def test_jaeger_receivers_publish_on_the_host_ports_asked_for(render_role_template):
    text, _ = render_role_template(
        "alloy", "compose.yaml.j2", lgtm_project_dir="/srv/p",
        lgtm_alloy_jaeger_receivers=["thrift_compact", "thrift_http", "grpc"],
        lgtm_alloy_jaeger_host_ports={"thrift_compact": 16831, "thrift_binary": 6832, "thrift_http": 0,
                                      "grpc": 24250})
    ports = yaml.safe_load(text)["services"]["alloy"]["ports"]
    # A second project on the same host takes other host ports; 0 leaves a receiver on the network only.
    assert "127.0.0.1:16831:6831/udp" in ports and "127.0.0.1:24250:14250/tcp" in ports
    assert not [p for p in ports if "14268" in p]
    text, _ = render_role_template("alloy", "compose.yaml.j2", lgtm_project_dir="/srv/p",
                                   lgtm_alloy_jaeger_receivers=["thrift_compact"])
    assert "127.0.0.1:6831:6831/udp" in yaml.safe_load(text)["services"]["alloy"]["ports"]
