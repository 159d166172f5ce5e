"""migration_lock and migration_stamp: the migrate role's bookkeeping, each one module call."""

import json
import os

from ansible_collections.lgtm.stack.plugins.modules import migration_lock, migration_stamp

ME = {"controller": "ctl", "pid": 100, "started": 1}
OTHER = {"controller": "ctl", "pid": 200, "started": 0}


def test_lock_is_taken_refused_taken_over_and_released(tmp_path, run_module):
    path = tmp_path / ".lgtm-migrate.lock"
    result, _ = run_module(migration_lock, {"path": str(path), "owner": OTHER})
    assert result["acquired"] and result["holder"] is None and json.loads(path.read_text())["pid"] == 200
    result, _ = run_module(migration_lock, {"path": str(path), "owner": ME})
    assert result["acquired"] is False and result["holder"]["pid"] == 200, "held by another run: returned, not taken"
    assert json.loads(path.read_text())["pid"] == 200
    result, _ = run_module(migration_lock, {"path": str(path), "owner": ME, "state": "absent"})
    assert result["changed"] is False and path.exists(), "only the owner releases"
    result, _ = run_module(migration_lock, {"path": str(path), "owner": ME, "force": True})
    assert result["acquired"] and json.loads(path.read_text())["pid"] == 100
    result, _ = run_module(migration_lock, {"path": str(path), "owner": ME})
    assert result["acquired"], "taking one's own lock again is fine"
    result, _ = run_module(migration_lock, {"path": str(path), "owner": ME, "state": "absent"})
    assert result["changed"] and not path.exists()


def test_lock_check_mode_writes_nothing_and_unreadable_lock_is_reported(tmp_path, run_module):
    path = tmp_path / "lock"
    result, _ = run_module(migration_lock, {"path": str(path), "owner": ME}, check_mode=True)
    assert result["acquired"] and not path.exists()
    path.write_text("{torn")
    result, _ = run_module(migration_lock, {"path": str(path), "owner": ME})
    assert result["acquired"] is False and result["holder"] == {"unreadable": "not JSON"}


def test_lock_in_an_unwritable_directory_fails_with_the_path(tmp_path, run_module):
    locked = tmp_path / "ro"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(str(locked), os.W_OK):
            return  # running as root: permissions do not bind
        result, failed = run_module(migration_lock, {"path": str(locked / "l"), "owner": ME})
        assert failed and str(locked / "l") in result["msg"]
    finally:
        os.chmod(locked, 0o700)


def test_stamp_matches_only_the_same_inputs_and_files(tmp_path, run_module):
    stack = tmp_path / "observability"
    stack.mkdir()
    (stack / "a.yaml").write_text("a: 1\n")
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services: {}\n")
    args = {"path": str(stack / ".lgtm-stamp.json"), "paths": [str(stack), str(compose)], "inputs": "i1"}
    result, _ = run_module(migration_stamp, args)
    assert result["match"] is False and result["changed"] is False
    result, _ = run_module(migration_stamp, dict(args, state="write"), check_mode=True)
    assert result["changed"] and not (stack / ".lgtm-stamp.json").exists()
    result, _ = run_module(migration_stamp, dict(args, state="write"))
    assert result["changed"] and result["files"] == 2
    result, _ = run_module(migration_stamp, args)
    assert result["match"], "the stamp file itself is not part of the digest"
    assert run_module(migration_stamp, dict(args, state="write"))[0]["changed"] is False
    assert run_module(migration_stamp, dict(args, inputs="i2"))[0]["match"] is False
    os.chmod(compose, 0o600)
    assert run_module(migration_stamp, args)[0]["match"] is False, "a mode change counts"
    os.chmod(compose, 0o644)
    assert run_module(migration_stamp, args)[0]["match"]
    (stack / "new.json").write_text("{}")
    assert run_module(migration_stamp, args)[0]["match"] is False, "a new file counts"
    (stack / "new.json").unlink()
    compose.unlink()
    assert run_module(migration_stamp, args)[0]["match"] is False, "a missing file counts"
