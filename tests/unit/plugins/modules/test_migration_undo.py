"""migration_undo: a failed run puts back exactly what it changed (files, whole directories, new paths)."""

import os
import stat

from ansible_collections.lgtm.stack.plugins.modules import migration_undo


def _project(tmp_path):
    project = tmp_path / "shop"
    (project / "observability" / "grafana").mkdir(parents=True)
    (project / "docker-compose.yml").write_text("services:\n  api: {}\n")
    (project / "observability" / "compose.yaml").write_text("include: []\n")
    secret = project / "observability" / "grafana" / "admin_password"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    return project


def test_restore_puts_back_every_change_of_the_run(tmp_path, run_module):
    project = _project(tmp_path)
    undo_dir = project / ".lgtm-backup" / ".undo"
    paths = [str(project / "docker-compose.yml"), str(project / "observability"), str(project / "docs/sre_guide.md")]
    result, failed = run_module(migration_undo, {"path": str(undo_dir), "paths": paths, "state": "snapshot"})
    assert not failed and sorted(result["recorded"]) == sorted(paths)
    assert stat.S_IMODE(os.stat(undo_dir).st_mode) == 0o700
    # The run edits the compose file, rewrites a generated file, adds one, deletes the secret, creates the guide.
    (project / "docker-compose.yml").write_text("services:\n  api: {}\n  alloy: {}\n")
    (project / "observability" / "compose.yaml").write_text("include: [alloy/compose.yaml]\n")
    (project / "observability" / "alloy").mkdir()
    (project / "observability" / "alloy" / "config.alloy").write_text("logging {}\n")
    (project / "observability" / "grafana" / "admin_password").unlink()
    (project / "docs").mkdir()
    (project / "docs" / "sre_guide.md").write_text("# guia\n")
    result, _ = run_module(migration_undo, {"path": str(undo_dir), "state": "restore"}, check_mode=True)
    assert result["changed"] and sorted(result["restored"]) == sorted(paths)
    assert (project / "docs" / "sre_guide.md").exists(), "check mode changes nothing"
    result, _ = run_module(migration_undo, {"path": str(undo_dir), "state": "restore"})
    assert sorted(result["restored"]) == sorted(paths)
    assert (project / "docker-compose.yml").read_text() == "services:\n  api: {}\n"
    assert (project / "observability" / "compose.yaml").read_text() == "include: []\n"
    assert not (project / "observability" / "alloy").exists()
    secret = project / "observability" / "grafana" / "admin_password"
    assert secret.read_text() == "s3cret\n" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert not (project / "docs" / "sre_guide.md").exists(), "a path the run created is removed again"
    result, _ = run_module(migration_undo, {"path": str(undo_dir), "state": "restore"})
    assert result == {"changed": False, "restored": [], "recorded": []}, "nothing left to put back"
    result, _ = run_module(migration_undo, {"path": str(undo_dir), "state": "discard"})
    assert result["changed"] and not undo_dir.exists()
    result, _ = run_module(migration_undo, {"path": str(undo_dir), "state": "discard"})
    assert not result["changed"]


def test_an_untouched_path_is_left_alone_and_no_record_means_nothing_to_do(tmp_path, run_module):
    project = _project(tmp_path)
    undo_dir = project / ".lgtm-backup" / ".undo"
    result, _ = run_module(migration_undo, {"path": str(undo_dir), "state": "restore"})
    assert result["changed"] is False and "no undo record" in result["msg"]
    run_module(migration_undo, {"path": str(undo_dir), "state": "snapshot",
                                "paths": [str(project / "docker-compose.yml"), str(project / "observability")]})
    (project / "docker-compose.yml").write_text("edited\n")
    result, _ = run_module(migration_undo, {"path": str(undo_dir), "state": "restore"})
    assert result["restored"] == [str(project / "docker-compose.yml")]


def test_a_new_snapshot_replaces_the_old_record(tmp_path, run_module):
    project = _project(tmp_path)
    undo_dir = project / ".lgtm-backup" / ".undo"
    compose = project / "docker-compose.yml"
    run_module(migration_undo, {"path": str(undo_dir), "state": "snapshot", "paths": [str(compose)]})
    compose.write_text("migrated\n")
    run_module(migration_undo, {"path": str(undo_dir), "state": "snapshot", "paths": [str(compose)]})
    compose.write_text("half-edited by a failed re-run\n")
    run_module(migration_undo, {"path": str(undo_dir), "state": "restore"})
    assert compose.read_text() == "migrated\n", "a failed re-run goes back to the migrated state, not the legacy one"
