"""secret_file_info: what the roles need to know about a secret file, never its content."""

import json
import os

from ansible_collections.lgtm.stack.plugins.modules import secret_file_info


def test_files_are_described_without_their_content(run_module, tmp_path):
    clean = tmp_path / "clean"
    clean.write_text("hunter2")
    echoed = tmp_path / "echoed"
    echoed.write_text("hunter2\n")
    dollar = tmp_path / "dollar"
    dollar.write_text("pa$word")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    paths = [str(p) for p in (clean, echoed, dollar, empty, tmp_path / "missing", tmp_path)]
    result, failed = run_module(secret_file_info, {"paths": paths})
    assert not failed and not result["changed"]
    files = dict((os.path.basename(f["path"]) or "dir", f) for f in result["files"])
    assert files["clean"]["problem"] == "" and not files["clean"]["trailing_whitespace"]
    assert files["echoed"]["trailing_whitespace"] and files["echoed"]["problem"] == ""
    assert files["dollar"]["dollar"] and not files["clean"]["dollar"]
    assert files["empty"]["problem"].endswith(": empty")
    assert "cannot be read" in files["missing"]["problem"] and not files["missing"]["exists"]
    assert result["files"][-1]["problem"].endswith("not a regular file")
    assert "hunter2" not in json.dumps(result) and "pa$word" not in json.dumps(result)


def test_reader_access():
    base = {"uid": 1000, "gid": 1000}
    assert secret_file_info.access(dict(base, mode="0600"), "472:0") == "none"
    assert secret_file_info.access(dict(base, mode="0640"), "472:0") == "group_add"
    assert secret_file_info.access(dict(base, gid=0, mode="0640"), "472:0") == "group"
    assert secret_file_info.access(dict(base, mode="0644"), "472:0") == "other"
    assert secret_file_info.access(dict(base, uid=472, mode="0400"), "472:0") == "owner"
    assert secret_file_info.access(dict(base, uid=472, mode="0040"), "472:0") == "none"
    assert secret_file_info.access(dict(base, mode="0600"), "0:0") == "root"
    # One class only, like the kernel: a member of the file's group gets the group's bits, not other's.
    assert secret_file_info.access(dict(base, gid=0, mode="0604"), "472:0") == "none"


def test_reader_must_be_numeric(run_module, tmp_path):
    result, failed = run_module(secret_file_info, {"paths": [str(tmp_path)], "reader": "grafana"})
    assert failed and "uid:gid" in result["msg"]


def test_return_content_is_the_one_opt_in_that_reads_a_file_into_the_play(run_module, tmp_path):
    """The migration reads the MySQL exporter's password from a legacy my.cnf (its task sets no_log)."""
    cnf = tmp_path / "my.cnf"
    cnf.write_text("[client]\nuser=exporter\npassword=hunter2\n")
    result, failed = run_module(secret_file_info, {"paths": [str(cnf), str(tmp_path / "gone"), str(tmp_path)],
                                                   "return_content": True})
    assert not failed and result["files"][0]["content"] == "[client]\nuser=exporter\npassword=hunter2\n"
    assert "content" not in result["files"][1] and "content" not in result["files"][2]
    latin1 = tmp_path / "latin1.cnf"
    latin1.write_bytes(b"[client]\npassword=caf\xe9\n")
    result, failed = run_module(secret_file_info, {"paths": [str(latin1)], "return_content": True})
    assert not failed and "content" not in result["files"][0]
    assert result["files"][0]["problem"].endswith("not UTF-8 text; its content is not returned")
