"""docker_project_info: the project directory, its compose files and the Docker host, read in one call."""

import os

from ansible_collections.lgtm.stack.plugins.modules import docker_project_info

FAKE = """#!/bin/sh
if [ "$1" = compose ]; then echo '{"version":"v2.26.1"}'; exit 0; fi
if [ "$1" = version ]; then echo "$3" > "$(dirname "$0")/format-asked"; echo '{"Version":"26.1.5"}'; exit 0; fi
exit 3
"""


def test_a_project_and_a_docker_host_that_answer(tmp_path, run_module):
    project = tmp_path / "shop"
    project.mkdir()
    (project / "docker-compose.yml").write_text("services: {}\n")
    os.symlink("missing-target", str(project / "compose.override.yaml"))  # exists as a name: compose would fail on it
    cli = tmp_path / "docker"
    cli.write_text(FAKE)
    cli.chmod(0o755)
    candidates = [str(project / n) for n in ("compose.yaml", "compose.override.yaml", "docker-compose.yml")]
    result, failed = run_module(docker_project_info, {"project_dir": str(project), "candidates": candidates,
                                                      "docker_cli": str(cli)}, check_mode=True)
    assert not failed and result["changed"] is False
    assert result["dir"] == {"exists": True, "isdir": True, "readable": True, "writeable": True, "executable": True}
    assert result["found"] == candidates[1:]
    assert result["regular"] == candidates[2:], "a dangling link exists as a name, but is no compose file"
    assert result["exists"] == [False, True, True]
    assert result["compose_version"] == {"rc": 0, "stdout": '{"version":"v2.26.1"}\n', "stderr": ""}
    assert result["docker_version"]["stdout"] == '{"Version":"26.1.5"}\n'
    assert (tmp_path / "format-asked").read_text() == "{{json .Server}}\n"
    assert result["ansible_facts"] == {"user_uid": os.getuid(), "user_gid": os.getgid()}


def test_a_missing_directory_and_a_missing_cli_are_answers_not_failures(tmp_path, run_module):
    result, failed = run_module(docker_project_info, {"project_dir": str(tmp_path / "nope"),
                                                      "candidates": [str(tmp_path / "nope/compose.yaml")],
                                                      "docker_cli": str(tmp_path / "no-docker")})
    assert not failed and result["dir"]["exists"] is False and result["dir"]["writeable"] is False
    assert result["found"] == []
    for key in ("docker_version", "compose_version"):
        assert result[key]["rc"] == 127 and "no-docker" in result[key]["stderr"], result[key]


def test_an_empty_cli_only_looks_for_files(tmp_path, run_module):
    """The stack role's preflight: which compose files and fragments exist, no Docker CLI asked."""
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    candidates = [str(tmp_path / "compose.yaml"), str(tmp_path / "observability/tempo/compose.yaml")]
    result, failed = run_module(docker_project_info, {"project_dir": str(tmp_path), "candidates": candidates,
                                                      "docker_cli": ""}, check_mode=True)
    assert not failed and result["found"] == result["regular"] == candidates[:1]
    assert "docker_version" not in result and "compose_version" not in result


def test_the_flags_answer_for_a_candidate_as_written(tmp_path, run_module, monkeypatch):
    """found/regular hold the paths the module expanded; the migrate role asks about the recorded plan (its last
    candidate) by position, so a stack directory written with $VAR or ~ is still found."""
    monkeypatch.setenv("LGTM_TEST_STACK", str(tmp_path / "obs"))
    (tmp_path / "obs").mkdir()
    (tmp_path / "obs" / "MIGRATION_REPORT.json").write_text("{}\n")
    candidates = [str(tmp_path / "compose.yaml"), "$LGTM_TEST_STACK/MIGRATION_REPORT.json"]
    result, failed = run_module(docker_project_info, {"project_dir": str(tmp_path), "candidates": candidates,
                                                      "docker_cli": ""}, check_mode=True)
    assert not failed and result["exists"] == [False, True]
    assert result["found"] == [str(tmp_path / "obs" / "MIGRATION_REPORT.json")] and candidates[1] not in result["found"]
