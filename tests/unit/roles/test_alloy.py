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
