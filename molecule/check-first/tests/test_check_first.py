"""`migrate.yml --check --diff` on the untouched legacy project changed nothing (testinfra).

prepare recorded the project tree (paths, modes, SHA-256) and every container, volume and network of the
engine; the same record taken now must be identical. The check run's own report (check-evidence.json) must
show the changes a real run makes, so that "nothing changed" is not "nothing was planned".
"""

import json
import os

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
PROJECT_DIR = os.path.join(EPHEMERAL, "legacy-project")
PROJECT = "lgtm-molecule-%s" % os.environ.get("MOLECULE_SCENARIO_NAME", "check-first")
SNAPSHOT = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tests", "harness", "snapshot.py")


def _now(host):
    return json.loads(host.check_output("python3 %s %s %s", SNAPSHOT, PROJECT_DIR, PROJECT))


def _before(host):
    return json.loads(host.file(os.path.join(EPHEMERAL, "before-migration.json")).content_string)


def test_project_files_unchanged(host):
    before, now = _before(host)["files"], _now(host)["files"]
    assert "docker-compose.yml" in before and "grafana/dashboards/shop/api-overview.json" in before
    assert now == before


def test_no_container_volume_or_network_changed(host):
    before, now = _before(host), _now(host)
    assert any(PROJECT + "-jaeger-1" in line for line in before["containers"])
    for key in ("containers", "volumes", "networks"):
        assert now[key] == before[key], key


def test_the_check_run_reported_the_migration(host):
    evidence = json.loads(host.file(os.path.join(EPHEMERAL, "check-evidence.json")).content_string)
    assert evidence["check_mode"] is True
    main = evidence["compose_files"][0]
    assert main["file"].endswith("/docker-compose.yml") and main["changed"] is True
    for change in ("remove service jaeger", "remove service prometheus", "api: set OTEL_EXPORTER_OTLP_ENDPOINT",
                   "include observability/compose.yaml"):
        assert change in main["changes"]
    assert evidence["dashboards_changed"] is True and len(evidence["dashboards"]) == 2
    assert evidence["sre_guide_created"] is True
    assert "jaeger" in evidence["removed_services"] and evidence["converged"] is False
