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


def test_a_direct_module_call_without_an_owner_is_refused(tmp_path, run_module):
    result, failed = run_module(migration_lock, {"path": str(tmp_path / "lock")})
    assert failed and "no owner given" in result["msg"] and not (tmp_path / "lock").exists()


def test_the_controller_judges_the_holder_by_its_process_or_its_age():
    from ansible_collections.lgtm.stack.plugins.module_utils import migration_lock as judge

    run = {"controller": "ctl", "pid": 1, "started": 10000}
    running = {4242: "/usr/bin/python3 /usr/bin/ansible-playbook migrate.yml", 77: "sleep 120"}
    cmdline = running.get

    def alive(holder, stale_after=3600):
        return judge.holder_alive(holder, run, stale_after, cmdline=lambda pid: cmdline(int(pid or 0), ""))

    assert alive({"controller": "ctl", "pid": 4242, "started": 1}), "its ansible-playbook still runs here"
    assert not alive({"controller": "ctl", "pid": 77, "started": 9999}), "that PID is another program now"
    assert not alive({"controller": "ctl", "pid": 5, "started": 9999}), "no such process"
    assert alive({"controller": "other", "pid": 4242, "started": 9000}), "another controller: young enough"
    assert not alive({"controller": "other", "pid": 4242, "started": 1000}), "another controller: too old"
    assert not alive({"unreadable": "not JSON"}), "a torn lock has no owner to wait for"
    assert not alive({"controller": "other", "started": "x"}), "a start that is not a number counts as 0"
    assert judge.process_cmdline(0) == "" and judge.process_cmdline("x") == ""
    me = judge.run_identity(now=0)
    assert me["stamp"] == "19700101T000000Z" and me["started"] == 0 and me["pid"] == os.getppid()
    assert "ansible-playbook PID 4242, started 1970-01-01 00:00:01 UTC" in judge.refusal(
        "/p/.lgtm-migrate.lock", {"controller": "ctl", "pid": 4242, "started": 1})
    assert "controller ?" in judge.refusal("/p/l", None) and "started ?" in judge.refusal("/p/l", {"started": "x"})


def test_two_hosts_of_one_run_are_two_owners_and_the_lock_appears_whole(tmp_path, run_module):
    path = tmp_path / ".lgtm-migrate.lock"
    first, second = dict(ME, run="a1"), dict(ME, run="b2")
    result, _ = run_module(migration_lock, {"path": str(path), "owner": first})
    assert result["acquired"] and json.loads(path.read_text())["run"] == "a1"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lgtm-migrate.lock"], "no temporary file is left"
    result, _ = run_module(migration_lock, {"path": str(path), "owner": second})
    assert result["acquired"] is False and result["holder"]["run"] == "a1"
    result, _ = run_module(migration_lock, {"path": str(path), "owner": second, "state": "absent"})
    assert result["changed"] is False and path.exists(), "the other host of the run cannot release it"
    assert migration_lock.same_owner({"controller": "ctl", "pid": 100}, first), "a lock written before the nonce"
