"""Bad input: migrate.yml fails before any change, naming the file and the fix.

Every case mutates a fresh copy of the example project, runs migrate.yml for real (not --check), and proves with a
checksum of the project tree plus the engine's container, volume and network lists that nothing changed.
"""

import os
import re
import socket
import subprocess
import textwrap

import pytest

from tests.integration.conftest import run_migrate, snapshot


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def _append_service(project, block):
    _edit(project / "docker-compose.yml", "\nvolumes:\n", "\n" + textwrap.indent(textwrap.dedent(block), "  ") + "\nvolumes:\n")


CASES = {
    # ---------------------------------------------------------------- project and compose files
    "compose-malformed-yaml": (lambda p: _edit(p / "docker-compose.yml", "  redis:\n", "  redis: [\n"),
                               ["docker-compose.yml"]),
    "compose-not-a-mapping": (lambda p: (p / "docker-compose.yml").write_text("- just\n- a list\n"),
                              ["docker-compose.yml"]),
    "compose-unset-required-variable": (lambda p: _edit(p / "docker-compose.yml", "APP_ENV: development",
                                                        "APP_ENV: ${SHOP_ENV:?set SHOP_ENV in .env}"),
                                        ["SHOP_ENV"]),
    "compose-extends-missing-file": (lambda p: _edit(p / "docker-compose.yml", "  redis:\n",
                                                     "  redis:\n    extends:\n      file: base.yml\n      service: r\n"),
                                     ["base.yml"]),
    "compose-include-missing-file": (lambda p: _edit(p / "docker-compose.yml", "name: shop\n",
                                                     "name: shop\ninclude:\n  - extra/compose.yaml\n"),
                                     ["extra/compose.yaml"]),
    "no-compose-file": (lambda p: (p / "docker-compose.yml").rename(p / "stack.yml"),
                        ["No compose file in", "lgtm_migrate_compose_files"]),
    # ---------------------------------------------------------------- configs the analysis reads
    "prometheus-malformed": (lambda p: (p / "prometheus/prometheus.yml").write_text("global: [\n"),
                             ["prometheus/prometheus.yml"]),
    "prometheus-config-missing": (lambda p: (p / "prometheus/prometheus.yml").unlink(),
                                  ["prometheus/prometheus.yml"]),
    "promtail-malformed": (lambda p: (p / "promtail/promtail.yml").write_text("scrape_configs: {\n"),
                           ["promtail/promtail.yml"]),
    "loki-malformed": (lambda p: (p / "loki/loki.yml").write_text("schema_config:\n  configs: [\n"),
                       ["loki/loki.yml"]),
    "dashboard-json-malformed": (lambda p: _edit(p / "grafana/dashboards/shop/api-overview.json",
                                                 '"title": "Shop API overview",', '"title": "Shop API overview"'),
                                 ["api-overview.json"]),
    # A gitignored secret file absent on a fresh clone: the real run asks for the password, before any change.
    "mysqld-exporter-my-cnf-missing": (lambda p: (p / "exporters/mysqld-exporter.my.cnf").unlink(),
                                       ["mysqld-exporter.my.cnf", "is not on this machine",
                                        "lgtm_exporters_mysqld_password", "Nothing was changed"]),
    "otel-collector-config-malformed": (lambda p: (
        (p / "otelcol.yaml").write_text("receivers:\n  otlp: [\n"),
        _append_service(p, """
            otel-collector:
              image: otel/opentelemetry-collector-contrib:0.102.1
              command: ["--config=/etc/otelcol-contrib/config.yaml"]
              volumes:
                - ./otelcol.yaml:/etc/otelcol-contrib/config.yaml:ro
            """)), ["otelcol.yaml"]),
    # ---------------------------------------------------------------- conflicts with the new stack
    "service-already-named-tempo": (lambda p: _append_service(p, """
            tempo:
              build: ./tempo
              environment:
                TEMPO_BPM: "120"
            """), ["P017", "docker-compose.yml", "lgtm_migrate_service_names"]),
    "kept-service-holds-mimir-port": (lambda p: _edit(p / "docker-compose.yml", '      - redis-data:/data\n',
                                                      '      - redis-data:/data\n    ports:\n      - "9009:6379"\n'),
                                      ["P009", "9009", "lgtm_mimir_host_port"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_project_input(legacy, unchanged, name):
    mutate, expected = CASES[name]
    mutate(legacy)
    rc, out = unchanged(legacy, lambda: run_migrate(legacy))
    assert rc != 0, out[-3000:]
    for text in expected:
        assert text in out, (text, out[-3000:])


def test_legacy_grafana_files_the_old_grafana_never_loaded_are_findings_not_refusals(legacy, unchanged):
    """A provisioning file that does not parse (or a datasource without a name) never reached the old Grafana: the
    migration needs none of it, so it is reported (P018, file and line) and the preview goes on."""
    (legacy / "grafana/provisioning/datasources/broken.yml").write_text("datasources:\n  - name: [\n")
    (legacy / "grafana/provisioning/datasources/nameless.yml").write_text(
        "apiVersion: 1\ndatasources:\n  - type: prometheus\n    url: http://prometheus:9090\n")
    (legacy / "grafana/provisioning/dashboards/broken.yml").write_text("providers:\n  - name: shop\n    options: {path: \n")
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, check=True))
    assert rc == 0, out[-3000:]


def test_check_previews_a_project_whose_secret_file_is_absent(legacy, unchanged):
    """A teammate's clone without the gitignored my.cnf: --check is a preview, not a refusal."""
    (legacy / "exporters/mysqld-exporter.my.cnf").unlink()
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, check=True))
    assert rc == 0, out[-3000:]
    assert "Preview only: the real run needs lgtm_exporters_mysqld_password" in out
    assert "(preview only: not a password)" not in out


def test_missing_project_dir(tmp_path, unchanged):
    rc, out = unchanged(tmp_path, lambda: run_migrate(tmp_path / "nope"))
    assert rc != 0 and "Project directory %s: does not exist" % (tmp_path / "nope") in out


def test_project_dir_is_a_file(tmp_path, unchanged):
    (tmp_path / "f").write_text("x")
    rc, out = unchanged(tmp_path, lambda: run_migrate(tmp_path / "f"))
    assert rc != 0 and "is not a directory" in out


def test_named_compose_file_missing(legacy, unchanged):
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, "-e", '{"lgtm_migrate_compose_files": ["prod.yml"]}'))
    assert rc != 0 and "Compose file(s) not found: %s/prod.yml" % legacy in out and "lgtm_migrate_compose_files" in out


def test_bad_report_language(legacy, unchanged):
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, "-e", "lgtm_report_language=de"))
    assert rc != 0 and "lgtm_migrate_report_language must be en or pt_BR (got 'de')" in out


def test_port_taken_by_a_process_outside_the_project(legacy, unchanged):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        rc, out = unchanged(legacy, lambda: run_migrate(legacy, "-e", "lgtm_grafana_host_port=%d" % port))
    finally:
        listener.close()
    assert rc != 0 and "P009" in out and "Port %d is needed by grafana" % port in out
    assert "lgtm_grafana_host_port" in out


def test_docker_daemon_down(legacy, unchanged, tmp_path):
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, env={"DOCKER_HOST": "unix://%s/no.sock" % tmp_path}))
    assert rc != 0 and "The Docker engine does not answer" in out and "Start dockerd" in out


def _fake_docker(tmp_path, compose_behaviour):
    """A docker CLI whose `compose` answers as given; everything else goes to the real docker."""
    real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True).stdout.strip()
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = compose ]; then\n%s\nfi\nexec %s \"$@\"\n" % (compose_behaviour, real))
    fake.chmod(0o755)
    return str(fake)


def test_compose_v1_only(legacy, unchanged, tmp_path):
    fake = _fake_docker(tmp_path, "  echo \"docker: 'compose' is not a docker command.\" >&2; exit 1")
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, "-e", "lgtm_migrate_docker_cli=%s" % fake))
    assert rc != 0 and "(Compose v2) is not installed" in out and "Compose v1 ('docker-compose') is not supported" in out


def test_compose_too_old(legacy, unchanged, tmp_path):
    fake = _fake_docker(tmp_path, "  echo '{\"version\":\"v2.17.3\"}'; exit 0")
    rc, out = unchanged(legacy, lambda: run_migrate(legacy, "-e", "lgtm_migrate_docker_cli=%s" % fake))
    assert rc != 0 and "Docker Compose 2.17.3 is older than 2.20.0" in out


def test_concurrent_second_run(legacy, unchanged):
    holder = subprocess.Popen(["bash", "-c", "exec -a ansible-playbook sleep 120"])
    try:
        controller = os.uname().nodename
        (legacy / ".lgtm-migrate.lock").write_text(
            '{"controller": "%s", "pid": %d, "started": 1, "stamp": "x"}\n' % (controller, holder.pid))
        rc, out = unchanged(legacy, lambda: run_migrate(legacy))
    finally:
        holder.kill()
        holder.wait()
    assert rc != 0 and "another migration of this project is running" in out and str(holder.pid) in out
    assert "delete the lock file" in out


def test_stale_lock_of_a_killed_run_is_taken_over(legacy):
    (legacy / ".lgtm-migrate.lock").write_text(
        '{"controller": "%s", "pid": 999999, "started": 1, "stamp": "x"}\n' % os.uname().nodename)
    rc, out = run_migrate(legacy, check=True)
    assert rc == 0, out[-3000:]
    assert "is running (controller" not in out
    assert "Would take over the stale lock of a run that is gone" in out and "PID 999999" in out


def test_torn_recorded_plan(legacy, unchanged):
    (legacy / "observability").mkdir()
    (legacy / "observability" / "MIGRATION_REPORT.json").write_text('{"generator": "lgtm.stack.migrate", "plan": {"pro')
    rc, out = unchanged(legacy, lambda: run_migrate(legacy))
    assert rc != 0 and "MIGRATION_REPORT.json: the plan an earlier run recorded is not valid JSON" in out


@pytest.fixture
def tmpfs(tmp_path):
    mounts = []

    def _mount(size, source):
        target = tmp_path / ("mnt%d" % len(mounts))
        target.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", str(target)]).returncode != 0:
            pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
        mounts.append(target)
        subprocess.run(["cp", "-a", str(source) + "/.", str(target)], check=True)
        return target

    yield _mount
    for target in reversed(mounts):
        subprocess.run(["umount", str(target)])


def test_read_only_project(legacy, tmpfs, unchanged):
    project = tmpfs("16m", legacy)
    subprocess.run(["mount", "-o", "remount,ro", str(project)], check=True)
    rc, out = unchanged(project, lambda: run_migrate(project))
    assert rc != 0 and "is not writable by this user" in out


def test_full_disk(legacy, tmpfs, unchanged):
    project = tmpfs("2m", legacy)
    rc, out = unchanged(project, lambda: run_migrate(project))
    assert rc != 0 and re.search(r"only [0-9.]+ MiB free on its file system; the migration needs 20 MiB", out)


def _outside_backups(tree):
    return dict((k, v) for k, v in tree.items() if not k.startswith(".lgtm-backup"))


def test_a_run_that_fails_after_changing_files_puts_them_back(legacy, tmp_path):
    """Forced failure after the compose files were edited (compose up fails): every file the run changed is put
    back, nothing it created is left, and the error says so."""
    real = subprocess.run(["sh", "-c", "command -v docker"], capture_output=True, text=True).stdout.strip()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "docker"
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = up ] && { echo 'forced failure: compose up' >&2; "
                    "exit 1; }; done\nexec %s \"$@\"\n" % real)
    fake.chmod(0o755)
    before = snapshot.tree(str(legacy))
    rc, out = run_migrate(legacy, env={"PATH": "%s:%s" % (bindir, os.environ["PATH"])})
    assert rc != 0, out[-3000:]
    assert "forced failure: compose up" in out
    assert "It put back what this run had changed" in out and "docker-compose.yml" in out
    after = snapshot.tree(str(legacy))
    # The first run's backup stays (the originals of the files it edited); everything else is as before.
    assert _outside_backups(after) == _outside_backups(before), "the project is as it was before the run"
    assert not (legacy / "observability").exists()
    assert not (legacy / ".lgtm-backup" / ".undo").exists()
