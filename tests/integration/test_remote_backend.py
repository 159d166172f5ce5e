"""lgtm_backend: remote on the real engine: the example project migrates to a stack of Alloy and Grafana only,
pointed at remote Tempo/Loki/Mimir with a tenant and credentials from files; a second run changes nothing; bad
secret files are refused before anything changes.

Stand-in images (orchestration only): what is proved is what the collection writes and runs - the configuration
Alloy and Grafana get, the files mounted into their containers, which services run - never that a real Alloy ships
(the remote endpoints are names under .invalid that nothing contacts). Compose project `lgtm-remote`.
"""

import json
import os
import re

import pytest

from tests.integration.conftest import run_migrate
from tests.integration.test_two_projects import (HOST_PORT_VARS, containers, example_copy, free_ports, isolated, sh,
                                                 stack_vars)

PROJECT = "lgtm-remote"
PASSWORD = "central-s3cr3t-Pw"
TOKEN = "logs-t0ken-Zq"


def settings(secrets):
    return {
        "tenant": "team-shop",
        "auth": {"username": "shop", "password_file": str(secrets / "central.password")},
        "traces": {"endpoint": "https://otlp.lgtm.invalid:443", "query_url": "https://tempo.lgtm.invalid"},
        "logs": {"url": "https://loki.lgtm.invalid", "auth": {"token_file": str(secrets / "logs.token")}},
        "metrics": {"url": "https://mimir.lgtm.invalid"},
    }


def write_secrets(secrets, password=PASSWORD + "\n"):
    secrets.mkdir(exist_ok=True)
    (secrets / "central.password").write_text(password)
    (secrets / "logs.token").write_text(TOKEN)
    # Group-readable, not world-readable: Grafana (uid 472) reads them through the group the role adds.
    for name in ("central.password", "logs.token"):
        os.chown(str(secrets / name), 0, 4242)
        os.chmod(str(secrets / name), 0o640)


def vars_file(path, secrets):
    data = stack_vars(("alloy", "grafana", "mysqld_exporter", "redis_exporter"))
    data.update({"lgtm_backend": "remote", "lgtm_remote": settings(secrets), "lgtm_alloy_jaeger_receivers": []})
    data.update(zip(HOST_PORT_VARS, free_ports(len(HOST_PORT_VARS))))
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def project(tmp_path):
    yield from isolated(tmp_path, PROJECT)


def mounts(container):
    info = json.loads(sh("docker", "container", "inspect", container))[0]
    return dict((m["Destination"], (m["Source"], m["RW"])) for m in info["Mounts"]), info["HostConfig"]


def test_remote_mode_converges_and_points_alloy_and_grafana_at_the_backends(project):
    target = project / "shop"
    example_copy(target, PROJECT)
    secrets = project / "secrets"
    write_secrets(secrets, password=PASSWORD)
    varsfile = vars_file(project / "vars.json", secrets)
    rc, out = run_migrate(target, "-e", "@%s" % varsfile)
    assert rc == 0, out[-4000:]
    assert PASSWORD not in out and TOKEN not in out
    rc, out2 = run_migrate(target, "-e", "@%s" % varsfile)
    assert rc == 0 and re.search(r"changed=0 ", out2), out2[-3000:]

    running = containers(PROJECT)
    assert {"alloy", "grafana", "api"} <= set(running), running
    assert not {"tempo", "loki", "mimir"} & set(running), "remote mode deploys no backend here"
    stack = target / "observability"
    assert not any((stack / c).exists() for c in ("tempo", "loki", "mimir"))
    for path in stack.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert PASSWORD not in text and TOKEN not in text, path

    config = (stack / "alloy/config.alloy").read_text()
    assert 'endpoint = "otlp.lgtm.invalid:443"' in config and "otelcol.auth.basic.traces.handler" in config
    assert 'filename  = "/etc/alloy/remote/traces/password"' in config
    assert '"https://loki.lgtm.invalid/loki/api/v1/push"' in config and "otelcol.auth.bearer.logs.handler" in config
    assert '"https://mimir.lgtm.invalid/api/v1/push"' in config and '"X-Scope-OrgID" = "team-shop"' in config
    for local in ("tempo:4317", "http://loki:3100", "http://mimir:9009"):
        assert local not in config

    alloy, _ = mounts(running["alloy"])
    assert alloy["/etc/alloy/remote/traces/password"] == (str(secrets / "central.password"), False)
    assert alloy["/etc/alloy/remote/logs/token"] == (str(secrets / "logs.token"), False)
    grafana, host_config = mounts(running["grafana"])
    assert grafana["/etc/grafana/remote/metrics/password"] == (str(secrets / "central.password"), False)
    assert "4242" in [str(g) for g in host_config.get("GroupAdd") or []]

    datasources = (stack / "grafana/provisioning/datasources/lgtm.yaml").read_text()
    assert "https://mimir.lgtm.invalid/prometheus" in datasources and "https://tempo.lgtm.invalid" in datasources
    assert "$__file{/etc/grafana/remote/logs/token}" in datasources

    plan = json.loads((stack / "MIGRATION_REPORT.json").read_text())["plan"]
    assert plan["backend"]["mode"] == "remote"
    assert sorted(a["component"] for a in plan["add_services"] if a["component"] in ("tempo", "loki", "mimir")) == []
    assert any(f["code"] == "P042" for f in plan["findings"])
    report = (stack / "MIGRATION_REPORT.md").read_text()
    assert "| traces | tempo | otlp.lgtm.invalid:443 | https://tempo.lgtm.invalid | team-shop | basic |" in report


def test_a_password_with_a_newline_is_refused_before_anything_changes(legacy, unchanged, tmp_path):
    """Alloy's local.file would send the newline as part of the OTLP password."""
    secrets = tmp_path / "secrets"
    write_secrets(secrets)
    varsfile = vars_file(tmp_path / "vars.json", secrets)
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, "-e", "@%s" % varsfile))
    assert rc != 0 and "central.password ends with a line break" in out, out[-3000:]
    assert PASSWORD not in out


def test_a_literal_password_is_refused(legacy, unchanged, tmp_path):
    literal = dict(settings(tmp_path), auth={"username": "u", "password": PASSWORD})
    data = {"lgtm_backend": "remote", "lgtm_remote": literal}
    varsfile = tmp_path / "vars.json"
    varsfile.write_text(json.dumps(data))
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, "-e", "@%s" % varsfile))
    assert rc != 0 and "secrets are read from files only" in out, out[-3000:]
    assert PASSWORD not in out
