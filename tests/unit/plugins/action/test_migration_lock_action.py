"""The action plugin of migration_lock: names this run, judges another holder on the controller, takes over a
stale lock, and refuses next to a live one (the module itself runs in tests/unit/plugins/modules)."""

import os
from types import SimpleNamespace
from unittest import mock

from ansible_collections.lgtm.stack.plugins.action.migration_lock import ActionModule


def _run(args, answers):
    """Runs the plugin with the module's answers given in order; returns (result, the module calls' args)."""
    task = SimpleNamespace(args=args, async_val=0, check_mode=False, diff=False)
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    action._connection._shell.tmpdir = "/tmp/x"
    calls = []

    def execute(module_name, module_args, task_vars):
        assert module_name == "lgtm.stack.migration_lock"
        calls.append(dict(module_args))
        return dict(answers[len(calls) - 1])

    action._execute_module = execute
    return action.run(task_vars={}), calls


def test_this_run_is_named_and_takes_a_free_lock():
    result, calls = _run({"path": "/p/.lgtm-migrate.lock"}, [{"changed": True, "acquired": True, "holder": None}])
    owner = calls[0]["owner"]
    assert owner["controller"] == os.uname()[1] and owner["pid"] == os.getppid() and len(owner["stamp"]) == 16
    assert result["acquired"] and result["owner"] == owner and "taken_over" not in result and len(calls) == 1


def test_a_live_holder_on_this_controller_refuses_and_a_gone_one_is_taken_over():
    me = {"controller": os.uname()[1], "pid": os.getpid(), "started": 1}  # pytest itself: no "ansible" in it
    live = dict(me, pid=os.getpid())
    with mock.patch("ansible_collections.lgtm.stack.plugins.action.migration_lock.holder_alive", return_value=True):
        result, calls = _run({"path": "/p/l"}, [{"acquired": False, "holder": live}])
    assert result["failed"] and "another migration of this project is running" in result["msg"] and len(calls) == 1
    gone = dict(me, pid=999999)
    result, calls = _run({"path": "/p/l", "stale_after": "86400"},
                         [{"acquired": False, "holder": gone}, {"changed": True, "acquired": True, "holder": gone}])
    assert result["acquired"] and result["taken_over"] == gone and calls[1]["force"] is True
    assert calls[1]["owner"] == calls[0]["owner"] == result["owner"]


def test_a_young_lock_of_another_controller_refuses_an_old_one_is_taken_over():
    import time

    young = {"controller": "elsewhere", "pid": 1, "started": int(time.time()) - 60}
    result, _ = _run({"path": "/p/l", "stale_after": 3600}, [{"acquired": False, "holder": young}])
    assert result.get("failed") and "controller elsewhere" in result["msg"]
    old = dict(young, started=int(time.time()) - 7200)
    result, calls = _run({"path": "/p/l", "stale_after": 3600},
                         [{"acquired": False, "holder": old}, {"acquired": True, "holder": old}])
    assert not result.get("failed") and result["taken_over"] == old and len(calls) == 2


def test_releasing_and_a_failing_module_are_passed_through():
    result, calls = _run({"path": "/p/l", "owner": {"controller": "c", "pid": 2}, "state": "absent"},
                         [{"changed": True, "holder": {"controller": "c", "pid": 2}}])
    assert result["changed"] and len(calls) == 1 and calls[0]["owner"] == {"controller": "c", "pid": 2}
    result, calls = _run({"path": "/ro/l"}, [{"failed": True, "msg": "/ro/l: cannot write the migration's lock"}])
    assert result["failed"] and "cannot write" in result["msg"] and len(calls) == 1


def test_a_takeover_another_run_won_at_the_same_moment_refuses():
    winner = {"controller": os.uname()[1], "pid": 4242, "started": 2, "run": "w"}
    gone = {"controller": "elsewhere", "pid": 1, "started": 0}
    result, calls = _run({"path": "/p/l", "stale_after": 60},
                         [{"acquired": False, "holder": gone}, {"changed": False, "acquired": False, "holder": winner}])
    assert result["failed"] and "PID 4242" in result["msg"] and "taken_over" not in result and len(calls) == 2
