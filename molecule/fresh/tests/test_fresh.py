"""Verify molecule/fresh on the docker-host instance.

MariaDB, Redis and both exporters are the real software (Debian packages in the
local images, or the upstream images with LGTM_TEST_IMAGES=upstream), so
`mysql_up 1` and `redis_up 1` here are real scrapes of real databases.
"""

import json
import os
import time
import urllib.request

import pytest

PROJECT = "lgtm-par-molecule-fresh"
PROJECT_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "fresh-project")
EXPORTERS_DIR = os.path.join(PROJECT_DIR, "observability", "exporters")
SECRETS = ("lgtm-fresh-exporter-pw", "lgtm-fresh-redis-pw", "lgtm-fresh-grafana-pw")


def _containers(host):
    text = host.check_output("docker compose -p %s ps --all --format json", PROJECT).strip()  # by project name
    rows = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]
    return {row["Service"]: row for row in rows}


@pytest.mark.parametrize(("name", "secret"), [("mysqld-exporter.my.cnf", SECRETS[0]),
                                              ("redis-exporter.passwords.json", SECRETS[1])],
                         ids=["mysqld", "redis"])  # ids never carry the credentials into the test log
def test_credential_files_are_private_to_the_container_user(host, name, secret):
    cred = host.file(os.path.join(EXPORTERS_DIR, name))
    assert cred.exists and cred.mode == 0o600
    assert cred.uid == 65534 and cred.gid == 65534
    assert secret in cred.content_string


def test_fragment_is_valid_and_free_of_secrets(host):
    fragment = host.file(os.path.join(EXPORTERS_DIR, "compose.yaml"))
    assert fragment.mode == 0o644
    for secret in SECRETS:
        assert secret not in fragment.content_string
    # A plain `docker compose config` in the project sees the stack through the one include line.
    model = json.loads(host.check_output("docker compose --project-directory %s config --format json", PROJECT_DIR))
    assert {"mysql", "redis", "mysqld-exporter", "redis-exporter"} <= set(model["services"])
    for name in ("mysqld-exporter", "redis-exporter"):
        svc = model["services"][name]
        assert ":latest" not in svc["image"] and ":" in svc["image"]
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]


def test_every_container_runs(host):
    containers = _containers(host)
    assert set(containers) == {"mysql", "redis", "mysqld-exporter", "redis-exporter", "tempo", "loki", "mimir",
                               "grafana", "alloy"}
    assert {c["State"] for c in containers.values()} == {"running"}


def test_exporter_ports_are_on_loopback_only(host):
    for name, port in (("mysqld-exporter", "9104/tcp"), ("redis-exporter", "9121/tcp")):
        cid = _containers(host)[name]["ID"]
        ports = json.loads(host.check_output("docker inspect --format '{{json .NetworkSettings.Ports}}' %s", cid))
        assert all(binding["HostIp"] == "127.0.0.1" for binding in ports[port])


def test_no_secret_in_process_arguments_or_environment(host):
    for name in ("mysqld-exporter", "redis-exporter", "grafana"):
        cid = _containers(host)[name]["ID"]
        config = host.check_output("docker inspect --format '{{json .Config}} {{json .Args}}' %s", cid)
        for secret in SECRETS:
            assert secret not in config


def _metric(url, name, deadline=60):
    """Poll an exporter until `name` reads 1 (MariaDB may still be starting)."""
    end, last = time.monotonic() + deadline, None
    while time.monotonic() < end:
        try:
            body = urllib.request.urlopen(url, timeout=5).read().decode()
            last = [line for line in body.splitlines() if line.startswith(name + " ")]
            if last == ["%s 1" % name]:
                return last
        except OSError as exc:
            last = str(exc)
        time.sleep(2)
    return last


def test_mysqld_exporter_scrapes_mariadb():
    assert _metric("http://127.0.0.1:19104/metrics", "mysql_up") == ["mysql_up 1"]


def test_redis_exporter_scrapes_redis_with_its_password():
    assert _metric("http://127.0.0.1:19121/metrics", "redis_up") == ["redis_up 1"]


STORAGE = [("tempo", 13200, "/etc/tempo/tempo.yaml", "/var/tempo"), ("loki", 13100, "/etc/loki/loki.yaml", "/loki"),
           ("mimir", 19009, "/etc/mimir/mimir.yaml", "/data")]


@pytest.mark.parametrize(("name", "port", "mount", "data"), STORAGE, ids=[s[0] for s in STORAGE])
def test_storage_component_is_orchestrated(host, name, port, mount, data):
    """Orchestration only: with the stand-in images this proves the container was created with its rendered
    config mounted read-only, its data volume and its loopback port; it says nothing about the config itself."""
    config = host.file(os.path.join(PROJECT_DIR, "observability", name, "%s.yaml" % name))
    assert config.exists and config.mode == 0o644
    cid = _containers(host)[name]["ID"]
    mounts = json.loads(host.check_output("docker inspect --format '{{json .Mounts}}' %s", cid))
    by_target = {m["Destination"]: m for m in mounts}
    assert by_target[mount]["Type"] == "bind" and by_target[mount]["RW"] is False
    assert by_target[mount]["Source"] == config.path
    assert by_target[data]["Type"] == "volume" and by_target[data]["Name"] == "%s_lgtm-%s-data" % (PROJECT, name)
    ports = json.loads(host.check_output("docker inspect --format '{{json .NetworkSettings.Ports}}' %s", cid))
    bound = [b for bindings in ports.values() if bindings for b in bindings]
    assert bound == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
    args = json.loads(host.check_output("docker inspect --format '{{json .Args}}' %s", cid))
    assert "-config.file=%s" % mount in args


def test_grafana_is_orchestrated_with_its_secret_and_provisioning(host):
    """Orchestration only (stand-in): the password reaches the container as a 0600 secret file owned by
    Grafana's uid, never as an environment value, and the provisioning is mounted read-only."""
    grafana_dir = os.path.join(PROJECT_DIR, "observability", "grafana")
    secret = host.file(os.path.join(grafana_dir, "admin_password"))
    assert secret.mode == 0o600 and secret.uid == 472 and secret.content_string == SECRETS[2]
    for path in ("compose.yaml", "provisioning/datasources/lgtm.yaml", "provisioning/dashboards/lgtm.yaml"):
        assert SECRETS[2] not in host.file(os.path.join(grafana_dir, path)).content_string
    assert host.file(os.path.join(grafana_dir, "dashboards", "lgtm", "service-red.json")).exists
    cid = _containers(host)["grafana"]["ID"]
    env = json.loads(host.check_output("docker inspect --format '{{json .Config.Env}}' %s", cid))
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana_admin_password" in env
    assert not any(item.startswith("GF_SECURITY_ADMIN_PASSWORD=") for item in env)
    mounts = {m["Destination"]: m for m in json.loads(host.check_output("docker inspect --format '{{json .Mounts}}' %s", cid))}
    assert mounts["/run/secrets/grafana_admin_password"]["Source"] == secret.path
    assert mounts["/etc/grafana/provisioning"]["RW"] is False
    ports = json.loads(host.check_output("docker inspect --format '{{json .NetworkSettings.Ports}}' %s", cid))
    assert [b for bs in ports.values() if bs for b in bs] == [{"HostIp": "127.0.0.1", "HostPort": "13000"}]


def test_alloy_config_is_checked_and_alloy_is_orchestrated(host):
    """The config was built and checked by the collection's parser (that part is real); the container is a
    stand-in here, so only its orchestration is proven: config and socket mounted read-only, loopback ports."""
    import sys

    sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "collections"))
    from ansible_collections.lgtm.stack.plugins.module_utils import alloy as A

    text = host.file(os.path.join(PROJECT_DIR, "observability", "alloy", "config.alloy")).content_string
    comps = A.validate(text).components()
    jobs = sorted(A.body_values(n)[0]["job_name"] for (name, _), n in comps.items() if name == "prometheus.scrape")
    assert jobs == ["alloy", "grafana", "loki", "mimir", "mysqld-exporter", "redis-exporter", "tempo"]
    assert 'com.docker.compose.project=lgtm-par-molecule-fresh' in text
    cid = _containers(host)["alloy"]["ID"]
    mounts = {m["Destination"]: m for m in json.loads(host.check_output("docker inspect --format '{{json .Mounts}}' %s", cid))}
    assert mounts["/var/run/docker.sock"]["RW"] is False and mounts["/etc/alloy/config.alloy"]["RW"] is False
    ports = json.loads(host.check_output("docker inspect --format '{{json .NetworkSettings.Ports}}' %s", cid))
    bound = sorted(b["HostPort"] for bs in ports.values() if bs for b in bs if b["HostIp"] == "127.0.0.1")
    assert bound == ["14317", "14318", "22345"]
    assert all(b["HostIp"] == "127.0.0.1" for bs in ports.values() if bs for b in bs)


def test_stack_compose_file_includes_every_fragment(host):
    stack = host.file(os.path.join(PROJECT_DIR, "observability", "compose.yaml"))
    assert stack.mode == 0o644
    included = [line.strip()[2:] for line in stack.content_string.splitlines() if line.strip().startswith("- ")]
    # Relative to observability/ (the project's compose file includes it): a clone elsewhere resolves them too.
    assert included == ["%s/compose.yaml" % c for c in ("alloy", "tempo", "loki", "mimir", "grafana", "exporters")]


def test_project_file_got_one_include_line_and_kept_the_rest(host):
    text = host.file(os.path.join(PROJECT_DIR, "compose.yaml")).content_string
    assert text.count("include:") == 1 and "\n  - observability/compose.yaml\n" in text
    assert text.startswith("# The team's own comment: it must survive the include edit.\nname: lgtm-par-molecule-fresh\ninclude:\n")
    backups = [f for f in host.file(PROJECT_DIR).listdir() if f.startswith("compose.yaml.") and f.endswith("~")]
    assert len(backups) == 1, backups
    assert "include:" not in host.file(os.path.join(PROJECT_DIR, backups[0])).content_string
