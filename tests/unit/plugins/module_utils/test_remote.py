"""Remote backends: the settings, Alloy's exporters (checked against the upstream contract) and Grafana's datasources.

Settings shaped like the two usual targets: a self-hosted central LGTM behind one TLS gateway with a private CA and
basic auth per team (the tenant), and a hosted endpoint with a token per signal.
"""

import re

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import alloy_contract, alloy_stack, remote
from ansible_collections.lgtm.stack.plugins.module_utils.alloy import parse, validate_all

CENTRAL = {
    "tenant": "team-payments",
    "auth": {"username": "payments", "password_file": "/etc/lgtm/central.password"},
    "tls": {"ca_file": "/etc/ssl/corp-ca.pem"},
    "traces": {"endpoint": "https://otlp.lgtm.corp:443", "query_url": "https://tempo.lgtm.corp"},
    "logs": {"url": "https://loki.lgtm.corp"},
    "metrics": {"url": "https://mimir.lgtm.corp"},
}
HOSTED = {
    "traces": {"endpoint": "https://otlp-gateway.example.net/otlp", "protocol": "http",
               "query_url": "https://tempo.example.net", "auth": {"token_file": "/run/secrets/traces.token"}},
    "logs": {"push_url": "https://logs.example.net/loki/api/v1/push", "otlp_url": "https://logs.example.net/otlp",
             "query_url": "https://logs.example.net", "auth": {"token_file": "/run/secrets/logs.token"}},
    "metrics": {"push_url": "https://metrics.example.net/api/prom/push", "query_url": "https://metrics.example.net/api/prom",
                "auth": {"type": "basic", "username": "123456", "password_file": "/run/secrets/metrics.key"}},
}
SPEC = {"tempo_endpoint": "tempo:4317", "loki_otlp_endpoint": "http://loki:3100/otlp",
        "loki_push_url": "http://loki:3100/loki/api/v1/push", "mimir_push_url": "http://mimir:9009/api/v1/push",
        "compose_project": "shop", "service_namespace": "shop", "environment": "dev"}


def test_central_settings_are_completed_from_the_base_urls():
    norm = remote.normalise(CENTRAL)
    assert norm["traces"]["endpoint"] == "otlp.lgtm.corp:443" and not norm["traces"]["plaintext"]
    assert norm["logs"]["push_url"] == "https://loki.lgtm.corp/loki/api/v1/push"
    assert norm["logs"]["otlp_url"] == "https://loki.lgtm.corp/otlp"
    assert norm["logs"]["query_url"] == "https://loki.lgtm.corp"
    assert norm["metrics"]["push_url"] == "https://mimir.lgtm.corp/api/v1/push"
    assert norm["metrics"]["query_url"] == "https://mimir.lgtm.corp/prometheus"
    for signal in remote.SIGNALS:
        assert norm[signal]["tenant"] == "team-payments"
        assert norm[signal]["auth"] == {"type": "basic", "username": "payments",
                                        "password_file": "/etc/lgtm/central.password"}
        assert norm[signal]["tls"]["ca_file"] == "/etc/ssl/corp-ca.pem"


def test_per_signal_settings_override_the_shared_ones():
    settings = dict(CENTRAL, metrics={"url": "http://mimir.internal:9009", "tenant": "", "auth": {"type": "none"}})
    norm = remote.normalise(settings)
    assert norm["metrics"]["tenant"] == "" and norm["metrics"]["auth"] == {"type": "none"}
    assert norm["metrics"]["plaintext"] and norm["logs"]["tenant"] == "team-payments"


@pytest.mark.parametrize("change, message", [
    ({"auth": {"username": "u", "password": "hunter2"}}, "lgtm_remote.auth.password: secrets are read from files"),
    ({"traces": {"endpoint": "https://otlp.lgtm.corp"}}, "query_url (Tempo's HTTP API"),
    ({"traces": {"endpoint": "https://otlp.lgtm.corp", "query_url": "https://t"}}, "OTLP gRPC needs scheme://host:port"),
    ({"traces": {"endpoint": "otlp.lgtm.corp:443", "query_url": "https://t"}}, "must be an http:// or https:// URL"),
    ({"auth": {"username": "u", "password_file": "secrets/pw"}}, "must be an absolute path"),
    ({"auth": {"type": "basic", "username": "u"}}, "basic auth needs username and password_file"),
    ({"auth": {"type": "bearer"}}, "bearer auth needs token_file"),
    ({"auth": {"type": "oauth2"}}, "type must be one of none, basic, bearer"),
    ({"tenant": "team a"}, "a tenant id is at most 150"),
    ({"tenant": "a|b"}, "a tenant id is at most 150"),
    ({"tenant": ".."}, "a tenant id is at most 150"),
    ({"tenant": "t" * 151}, "a tenant id is at most 150"),
    ({"logs": {}}, "lgtm_remote.logs is required"),
    ({"logs": {"query_url": "https://l"}}, "set url (the backend's base URL) or push_url"),
    ({"metrics": {"url": "https://m", "bucket": "x"}}, "lgtm_remote.metrics: unknown key(s) bucket"),
    ({"tls": {"ca": "/x"}}, "unknown key(s) ca"),
])
def test_bad_settings_are_refused_with_the_key_named(change, message):
    with pytest.raises(remote.RemoteError) as err:
        remote.normalise(dict(CENTRAL, **change))
    assert message in str(err.value)


@pytest.mark.parametrize("url", ["https://shop:Pa55w0rd@mimir.corp", "https://mimir.corp/api?api_key=Pa55w0rd",
                                 "https://mimir.corp/#Pa55w0rd"])
def test_credentials_in_urls_are_refused_and_never_repeated(url):
    with pytest.raises(remote.RemoteError) as err:
        remote.normalise(dict(CENTRAL, metrics={"url": url}))
    assert "lgtm_remote.metrics.url: no user:password@" in str(err.value)
    assert "Pa55w0rd" not in str(err.value)


def test_files_are_mounted_per_signal_and_named_only_by_their_container_path():
    norm = remote.normalise(CENTRAL)
    mounts = remote.mounts(norm, "/etc/alloy/remote")
    assert "/etc/lgtm/central.password:/etc/alloy/remote/traces/password:ro" in mounts
    assert "/etc/ssl/corp-ca.pem:/etc/alloy/remote/metrics/ca.pem:ro" in mounts and len(mounts) == 6
    inside = remote.in_container(norm, "/etc/alloy/remote")
    assert inside["logs"]["auth"]["password_file"] == "/etc/alloy/remote/logs/password"
    assert norm["logs"]["auth"]["password_file"] == "/etc/lgtm/central.password", "the input is not changed"
    # OTLP credentials go through local.file (byte for byte); the Prometheus-style clients trim their files.
    assert [(s, k) for s, k, _p in remote.files(norm) if remote.read_verbatim(s, k)] == [
        ("traces", "password_file"), ("logs", "password_file")]


def _alloy(settings):
    spec = dict(SPEC, remote=remote.in_container(remote.normalise(settings), "/etc/alloy/remote"))
    text, _info = alloy_stack.build(spec)
    return text, parse(text).components()


def test_alloy_ships_to_the_central_backends_with_auth_from_files():
    text, components = _alloy(CENTRAL)
    assert validate_all(text) == []
    for local in ("tempo:4317", "http://loki:3100", "http://mimir:9009"):
        assert local not in text
    assert 'endpoint = "otlp.lgtm.corp:443"' in text and "auth     = otelcol.auth.basic.traces.handler" in text
    assert 'filename  = "/etc/alloy/remote/traces/password"' in text and "is_secret = true" in text
    assert 'password = local.file.traces_password.content' in text
    assert '"X-Scope-OrgID" = "team-payments"' in text and re.search(r'tenant_id\s+= "team-payments"', text)
    assert 'password_file = "/etc/alloy/remote/metrics/password"' in text
    assert 'ca_file = "/etc/alloy/remote/logs/ca.pem"' in text
    assert 'url                    = "https://mimir.lgtm.corp/api/v1/push"' in text
    assert "insecure" not in text, "TLS stays on for https endpoints"
    assert {name for name, _label in components} >= {"local.file", "otelcol.auth.basic", "otelcol.exporter.otlp"}


def test_alloy_hosted_tokens_and_otlp_http_traces():
    text, _components = _alloy(HOSTED)
    assert validate_all(text) == []
    assert 'otelcol.exporter.otlphttp "tempo"' in text and 'endpoint = "https://otlp-gateway.example.net/otlp"' in text
    assert "token = local.file.traces_token.content" in text and "otelcol.auth.bearer.logs.handler" in text
    assert 'bearer_token_file = "/etc/alloy/remote/logs/token"' in text
    assert 'url                    = "https://metrics.example.net/api/prom/push"' in text
    assert "X-Scope-OrgID" not in text


def test_plaintext_grpc_inside_a_private_network():
    settings = dict(CENTRAL, traces={"endpoint": "http://tempo.internal:4317", "query_url": "http://tempo.internal:3200"})
    text, _components = _alloy(settings)
    assert validate_all(text) == [] and "insecure = true" in text


def test_the_contract_knows_the_auth_components():
    """The recorded facts (scripts/alloy-v1.18.1-supplement.json) refuse what Alloy would refuse."""
    text, _components = _alloy(CENTRAL)
    wrong = text.replace("password = local.file.traces_password.content",
                         'password_file = "/etc/alloy/remote/traces/password"')
    errors = alloy_contract.check(parse(wrong))
    assert any('otelcol.auth.basic "traces"' in e and "password_file" in e for e in errors), errors
    literal = text.replace("auth     = otelcol.auth.basic.traces.handler", 'auth     = "basic"')
    assert any("capsule" in e for e in alloy_contract.check(parse(literal)))
    missing = text.replace('filename  = "/etc/alloy/remote/traces/password"\n', "")
    assert any("filename" in e for e in alloy_contract.check(parse(missing)))


def test_grafana_datasources_keep_their_uids_and_links():
    signals = remote.in_container(remote.normalise(CENTRAL), "/etc/grafana/remote")
    local = [{"uid": "mimir", "url": "http://mimir:9009/prometheus", "jsonData": {"httpMethod": "POST"}},
             {"uid": "tempo", "url": "http://tempo:3200", "jsonData": {"tracesToLogsV2": {"datasourceUid": "loki"}}},
             {"uid": "loki", "url": "http://loki:3100", "jsonData": {"maxLines": 1000}},
             {"uid": "other", "url": "http://x"}]
    out = dict((d["uid"], d) for d in remote.grafana_datasources(local, signals))
    assert out["tempo"]["url"] == "https://tempo.lgtm.corp" and out["tempo"]["jsonData"]["tracesToLogsV2"]
    assert out["mimir"]["url"] == "https://mimir.lgtm.corp/prometheus" and out["mimir"]["jsonData"]["httpMethod"]
    assert out["other"] == local[3]
    loki = out["loki"]
    assert loki["basicAuth"] is True and loki["basicAuthUser"] == "payments"
    assert loki["secureJsonData"] == {"basicAuthPassword": "$__file{/etc/grafana/remote/logs/password}",
                                      "httpHeaderValue1": "team-payments",
                                      "tlsCACert": "$__file{/etc/grafana/remote/logs/ca.pem}"}
    assert loki["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID" and loki["jsonData"]["tlsAuthWithCACert"] is True
    assert remote.grafana_datasources(local, {}) == local


def test_grafana_headers_are_numbered_from_one_without_gaps():
    """Grafana stops reading custom headers at the first missing httpHeaderNameN."""
    settings = dict(CENTRAL, auth={"token_file": "/etc/lgtm/token"})
    patch = remote.grafana_patch(remote.normalise(settings)["traces"])
    assert patch["jsonData"]["httpHeaderName1"] == "Authorization"
    assert patch["secureJsonData"]["httpHeaderValue1"] == "Bearer $__file{/etc/lgtm/token}"
    assert patch["jsonData"]["httpHeaderName2"] == "X-Scope-OrgID" and "basicAuth" not in patch
    names = sorted(k for k in patch["jsonData"] if k.startswith("httpHeaderName"))
    assert names == ["httpHeaderName%d" % i for i in range(1, len(names) + 1)]
    assert set(patch["jsonData"]) <= set(remote.GRAFANA_HTTP_KEYS)


def test_endpoints_for_the_report_hold_no_file_paths():
    shown = remote.endpoints(remote.normalise(CENTRAL))
    assert shown["metrics"] == {"backend": "mimir", "push": "https://mimir.lgtm.corp/api/v1/push",
                                "query": "https://mimir.lgtm.corp/prometheus", "tenant": "team-payments",
                                "auth": "basic"}
    assert "password" not in repr(shown) and "/etc/" not in repr(shown)
