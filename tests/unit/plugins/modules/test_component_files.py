"""component_files: a component's files compared, checked on temporary files, and only then moved - all or none."""

import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.lgtm.stack.plugins.module_utils import component_files as C
from ansible_collections.lgtm.stack.plugins.modules import component_files


TEMPO = "server:\n  http_listen_port: 3200\nstorage:\n  trace:\n    backend: local\n"
FRAGMENT = ("services:\n  tempo:\n    image: grafana/tempo:2.10.1\n    volumes:\n"
            "      - ./tempo.yaml:/etc/tempo/tempo.yaml:ro\n")


def _args(tmp_path, **extra):
    args = {"dir": str(tmp_path / "observability" / "tempo"), "image": "grafana/tempo:2.10.1",
            "image_check": {"args": ["-config.file={path}", "-config.verify=true"], "user": "0"},
            "files": [{"name": "tempo.yaml", "content": TEMPO, "check": "image"},
                      {"name": "compose.yaml", "content": FRAGMENT, "check": "yaml"}]}
    args.update(extra)
    return args


@pytest.fixture
def no_engine(monkeypatch):
    """Every command the module runs: `docker image inspect` answers "no such image"; others are recorded."""
    calls = []

    def run_command(self, argv, **kwargs):
        calls.append(list(argv))
        if argv[:3] == ["docker", "image", "inspect"]:
            return 1, "", "Error: No such image: %s\n" % argv[-1]
        return 0, "", ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return calls


def test_first_run_writes_every_file_and_the_second_changes_nothing(tmp_path, run_module, no_engine):
    result, failed = run_module(component_files, _args(tmp_path, directories=["data/blocks"]))
    base = tmp_path / "observability" / "tempo"
    assert not failed and result["changed"] and result["changed_files"] == ["tempo.yaml", "compose.yaml"]
    assert (base / "tempo.yaml").read_text() == TEMPO and (base / "compose.yaml").read_text() == FRAGMENT
    assert (base / "data" / "blocks").is_dir() and stat.S_IMODE(os.stat(base).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(base / "tempo.yaml").st_mode) == 0o644
    # No real image here: the configuration fell back to the YAML check, and nothing was run but the inspection.
    assert result["image_vouched"] is False and "not on the engine" in result["image_note"]
    assert no_engine == [["docker", "image", "inspect", "--format", "{{.Id}}", "grafana/tempo:2.10.1"]]
    assert sorted(os.listdir(base)) == ["compose.yaml", "data", "tempo.yaml"]  # no temporary file left
    again, _ = run_module(component_files, _args(tmp_path, directories=["data/blocks"]))
    assert again["changed"] is False and again["changed_files"] == [] and again["image_vouched"] is None


def test_check_mode_shows_one_diff_per_file_and_writes_nothing(tmp_path, run_module, no_engine):
    base = tmp_path / "observability" / "tempo"
    base.mkdir(parents=True)
    (base / "tempo.yaml").write_text(TEMPO.replace("3200", "3100"))
    args = _args(tmp_path)
    args["_ansible_diff"] = True
    result, failed = run_module(component_files, args, check_mode=True)
    assert not failed and result["changed"] and result["changed_files"] == ["tempo.yaml", "compose.yaml"]
    first, second = result["diff"]
    assert "3100" in first["before"] and "3200" in first["after"] and first["before_header"].endswith("tempo.yaml")
    assert second["before"] == "" and second["before_header"].endswith("(absent)") and second["after"] == FRAGMENT
    assert (base / "tempo.yaml").read_text() == TEMPO.replace("3200", "3100") and not (base / "compose.yaml").exists()
    assert no_engine == []  # checks do not run in check mode


def test_a_refused_content_changes_no_file_of_the_component(tmp_path, run_module, no_engine):
    base = tmp_path / "observability" / "tempo"
    base.mkdir(parents=True)
    (base / "tempo.yaml").write_text("old: config\n")
    args = _args(tmp_path)
    args["files"][1]["content"] = "services: [unclosed\n"
    result, failed = run_module(component_files, args)
    assert failed and "compose.yaml" in result["msg"] and "yaml check" in result["msg"]
    assert "nothing of this component was changed" in result["msg"] and result["file"].endswith("compose.yaml")
    # The configuration, valid and checked first, was not moved either; no temporary file is left behind.
    assert (base / "tempo.yaml").read_text() == "old: config\n" and sorted(os.listdir(base)) == ["tempo.yaml"]


def test_a_failing_command_check_is_reported_with_its_output(tmp_path, run_module, monkeypatch):
    def run_command(self, argv, **kwargs):
        if argv[:3] == ["docker", "image", "inspect"]:
            return 0, '{"org.opencontainers.image.source":"https://github.com/grafana/tempo"}\n', ""
        return 1, "", "failed parsing config: field storag not found in type app.Config\n"

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    result, failed = run_module(component_files, _args(tmp_path))
    assert failed and "image check" in result["msg"] and "field storag not found" in result["msg"]
    assert not (tmp_path / "observability" / "tempo" / "tempo.yaml").exists()


def test_an_image_on_the_engine_vouches_none_given_or_absent_never(tmp_path):
    seen = []

    def engine(rc, out="", err=""):
        return lambda argv: (seen.append(argv), (rc, out, err))[1]

    assert C.image_can_vouch(engine(0, "sha256:0123\n"), "grafana/tempo:2.10.1") == (True, "")
    assert seen[-1][:3] == ["docker", "image", "inspect"] and seen[-1][-1] == "grafana/tempo:2.10.1"
    vouch, why = C.image_can_vouch(engine(1, err="Error: No such image: grafana/tempo:2.10.1\n"), "grafana/tempo:2.10.1")
    assert not vouch and "not on the engine (Error: No such image" in why
    count = len(seen)
    vouch, why = C.image_can_vouch(engine(0), "")
    assert not vouch and "image check is off" in why and len(seen) == count, "no image: nothing asked of the engine"
    spec = {"check": "image", "fallback_check": "yaml"}
    assert C.effective_check(spec, True) == "image" and C.effective_check(spec, False) == "yaml"
    assert C.effective_check({"check": "image", "fallback_check": "none"}, None) == "none"


def test_the_image_check_command_mounts_the_file_read_only_where_the_arguments_say():
    argv = C.check_argv("image", "/p/tempo/.tempo.yaml.lgtm-tmp", "tempo.yaml", "/p/tempo", "grafana/tempo:2.10.1",
                        {"args": ["-config.file={path}", "-config.verify=true"], "user": "0"})
    assert argv == ["docker", "run", "--rm", "--network", "none", "--user", "0", "--volume",
                    "/p/tempo/.tempo.yaml.lgtm-tmp:/etc/lgtm-validate/tempo.yaml:ro", "grafana/tempo:2.10.1",
                    "-config.file=/etc/lgtm-validate/tempo.yaml", "-config.verify=true"]
    alloy = C.check_argv("image", "/t", "config.alloy", "/p", "grafana/alloy:v1.18.1",
                         {"args": ["validate", "{path}"], "mount": "/etc/alloy/config.alloy"})
    assert alloy[-3:] == ["grafana/alloy:v1.18.1", "validate", "/etc/alloy/config.alloy"] and "--user" not in alloy
    assert C.check_argv("compose", "/p/.compose.yaml.lgtm-tmp", "compose.yaml", "/p") == [
        "docker", "compose", "--project-directory", "/p", "-f", "/p/.compose.yaml.lgtm-tmp", "config", "--quiet"]
    assert C.check_argv("yaml", "/t", "x", "/p") is None
    assert C.python_check("json_dashboard", '{"uid": "svc-red"}') == ""
    assert "uid" in C.python_check("json_dashboard", '{"title": "no uid"}')
    assert "mapping" in C.python_check("yaml", "- a list\n")


def test_absent_files_mode_and_directories_that_must_exist(tmp_path, run_module, no_engine):
    base = tmp_path / "project"
    (base / ".lgtm-backup").mkdir(parents=True)
    (base / "dashboards").mkdir()
    (base / "dashboards" / "old.json").write_text('{"uid": "old"}')
    (base / "kept.txt").write_text("x\n")
    os.chmod(base / "kept.txt", 0o600)
    files = [{"name": ".lgtm-backup/.gitignore", "content": "*\n", "only_in_existing_dir": True},
             {"name": ".lgtm-state/.gitignore", "content": "*\n", "only_in_existing_dir": True},
             {"name": "dashboards/old.json", "state": "absent"},
             {"name": "kept.txt", "content": "x\n"}]
    result, failed = run_module(component_files, {"dir": str(base), "files": files})
    assert not failed and result["changed_files"] == [".lgtm-backup/.gitignore", "dashboards/old.json", "kept.txt"]
    assert (base / ".lgtm-backup" / ".gitignore").read_text() == "*\n" and not (base / ".lgtm-state").exists()
    assert not (base / "dashboards" / "old.json").exists()
    assert stat.S_IMODE(os.stat(base / "kept.txt").st_mode) == 0o644
    again, _ = run_module(component_files, {"dir": str(base), "files": files})
    assert again["changed"] is False


def test_a_file_name_cannot_leave_the_directory(tmp_path, run_module, no_engine):
    for name in ("../escape.yaml", "/etc/passwd"):
        result, failed = run_module(component_files, {"dir": str(tmp_path / "c"), "files": [{"name": name}]})
        assert failed and "must stay inside the directory" in result["msg"]
    result, failed = run_module(component_files, {"dir": str(tmp_path / "c"),
                                                  "files": [{"name": "x.yaml", "mode": "u=rw,g=r"}]})
    assert failed and "must be octal" in result["msg"]
    assert os.listdir(tmp_path) == []  # bad input: not even the directory was created


def test_a_refused_first_run_leaves_no_directory_behind(tmp_path, run_module, no_engine):
    args = _args(tmp_path, directories=["data/blocks"])
    args["files"][0]["content"] = "- not a mapping\n"
    result, failed = run_module(component_files, args)
    assert failed and "tempo.yaml" in result["msg"] and "yaml check" in result["msg"]
    assert os.listdir(tmp_path) == []  # observability/, tempo/, data/blocks and the temporary files: all gone


def test_a_file_that_cannot_be_written_is_named_and_nothing_is_left(tmp_path, run_module, no_engine):
    base = tmp_path / "grafana"
    base.mkdir()
    (base / "provisioning").write_text("a file where a directory must go\n")
    files = [{"name": "compose.yaml", "content": "services: {}\n"},
             {"name": "provisioning/datasources/lgtm.yaml", "content": "apiVersion: 1\n"}]
    result, failed = run_module(component_files, {"dir": str(base), "files": files})
    assert failed and "provisioning/datasources/lgtm.yaml: cannot write" in result["msg"]
    assert sorted(os.listdir(base)) == ["provisioning"]  # compose.yaml's temporary file removed, nothing moved


def test_an_existing_file_that_is_not_text_is_named_and_left_alone(tmp_path, run_module, no_engine):
    base = tmp_path / "loki"
    base.mkdir()
    (base / "loki.yaml").write_bytes(b"\xff\xfe binary")
    result, failed = run_module(component_files, {"dir": str(base), "files": [{"name": "loki.yaml", "content": "a: 1\n"}]})
    assert failed and "loki.yaml" in result["msg"] and "not UTF-8" in result["msg"]
    assert (base / "loki.yaml").read_bytes() == b"\xff\xfe binary"


# --------------------------------------------------------------------------- secret files

MYCNF = "[client]\nuser=exporter\npassword=s3cr3t-Exp0rter\nhost=mysql\n"


def _secret_args(tmp_path, content=MYCNF, **secret):
    spec = dict({"name": "mysqld-exporter.my.cnf", "mode": "0600"}, **secret)
    return {"dir": str(tmp_path / "observability" / "exporters"), "_ansible_diff": True,
            "files": [{"name": "compose.yaml", "content": "services: {}\n", "check": "yaml"}],
            "secret_files": [spec], "secrets": {} if spec.get("state") == "absent" else {spec["name"]: content}}


def test_a_secret_is_born_with_its_mode_never_shown_and_rewritten_on_change(tmp_path, run_module, no_engine,
                                                                            monkeypatch):
    path = tmp_path / "observability" / "exporters" / "mysqld-exporter.my.cnf"
    modes_at_creation = []
    real_open = os.open

    def watching_open(name, flags, mode=0o777, *rest):
        if str(name).endswith(".lgtm-tmp") and flags & os.O_CREAT:
            modes_at_creation.append(mode)
        return real_open(name, flags, mode, *rest)

    monkeypatch.setattr(os, "open", watching_open)
    check, _ = run_module(component_files, _secret_args(tmp_path), check_mode=True)
    assert check["changed"] and "mysqld-exporter.my.cnf" in check["changed_files"] and not path.exists()
    result, failed = run_module(component_files, _secret_args(tmp_path))
    assert not failed and result["changed_files"] == ["compose.yaml", "mysqld-exporter.my.cnf"]
    assert path.read_text() == MYCNF and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert modes_at_creation and all(m == 0o600 for m in modes_at_creation), "born 0600, never wider"
    assert "s3cr3t" not in repr(result) and "s3cr3t" not in repr(check)
    assert [d["after"] for d in check["diff"] if "my.cnf" in d["after_header"]] == [
        "(secret content, not shown: new file)\n"]
    again, _ = run_module(component_files, _secret_args(tmp_path))
    assert again["changed"] is False
    # Another password: the diff says that it changes, not what it was or is.
    changed, _ = run_module(component_files, _secret_args(tmp_path, content=MYCNF.replace("s3cr3t", "n3w")))
    assert changed["changed_files"] == ["mysqld-exporter.my.cnf"] and "n3w" in path.read_text()
    (entry,) = changed["diff"]
    assert entry["before"] == "(secret content, not shown)\n" and "n3w" not in repr(changed)
    # Only the mode differs: fixed, no diff entry.
    os.chmod(path, 0o644)
    mode_only, _ = run_module(component_files, _secret_args(tmp_path, content=MYCNF.replace("s3cr3t", "n3w")))
    assert mode_only["changed"] and mode_only["diff"] == [] and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    gone, _ = run_module(component_files, _secret_args(tmp_path, state="absent"))
    assert gone["changed_files"] == ["mysqld-exporter.my.cnf"] and not path.exists()
    assert sorted(os.listdir(path.parent)) == ["compose.yaml"], "no temporary file left"


def test_the_secrets_never_reach_the_hosts_log_nor_the_result(tmp_path, monkeypatch, no_engine):
    """AnsibleModule logs every call to the docker host's journal; `secrets` is no_log: it logs as
    NOT_LOGGING_PARAMETER (a list of dicts would be logged as its repr, where escaped line breaks defeat the
    masking). The result goes through Ansible's own masking, which sees the contents and the password in a
    JSON mapping."""
    import json

    from ansible.module_utils.testing import patch_module_args

    logged = []
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: logged.append(msg))
    monkeypatch.setattr(basic, "has_journal", False)
    outputs = []

    def exit_json(self, **result):
        outputs.append(json.dumps(basic.remove_values(result, self.no_log_values)))
        raise SystemExit(0)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    args = _secret_args(tmp_path)
    args["secret_files"].append({"name": "redis.passwords.json"})
    args["secrets"]["redis.passwords.json"] = {"redis://redis:6379": "Redis-s3cr3t-pw"}
    with patch_module_args(dict(args, _ansible_no_log=False)):
        with pytest.raises(SystemExit):
            component_files.main()
    assert logged and all("s3cr3t" not in line for line in logged), logged
    assert any("secrets=NOT_LOGGING_PARAMETER" in line for line in logged), logged
    assert outputs and "s3cr3t" not in outputs[0]
    written = (tmp_path / "observability" / "exporters" / "redis.passwords.json").read_text()
    assert written == '{"redis://redis:6379": "Redis-s3cr3t-pw"}\n', "a mapping is written as JSON and a line break"


def test_a_present_secret_needs_its_content(tmp_path, run_module, no_engine):
    args = _secret_args(tmp_path)
    args["secrets"] = {}
    result, failed = run_module(component_files, args)
    assert failed and "mysqld-exporter.my.cnf has no entry in secrets" in result["msg"]
    assert not (tmp_path / "observability").exists(), "bad input creates nothing"


def test_a_kept_secret_stays_unless_missing_or_empty_and_an_unreadable_one_fails(tmp_path, run_module, no_engine):
    """keep: Grafana's admin password generated by an earlier run is never replaced; a first run writes it."""
    path = tmp_path / "observability" / "exporters" / "mysqld-exporter.my.cnf"
    first, failed = run_module(component_files, _secret_args(tmp_path, content="first\n", keep=True))
    assert not failed and path.read_text() == "first\n" and "mysqld-exporter.my.cnf" in first["changed_files"]
    again, _ = run_module(component_files, _secret_args(tmp_path, content="other\n", keep=True))
    assert again["changed"] is False and path.read_text() == "first\n"
    os.chmod(path, 0o644)  # the mode is still enforced
    mode, _ = run_module(component_files, _secret_args(tmp_path, content="other\n", keep=True))
    assert mode["changed"] and path.read_text() == "first\n" and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.write_text("")
    empty, _ = run_module(component_files, _secret_args(tmp_path, content="other\n", keep=True))
    assert empty["changed_files"] == ["mysqld-exporter.my.cnf"] and path.read_text() == "other\n"
    unkept, _ = run_module(component_files, _secret_args(tmp_path, content="given\n"))
    assert unkept["changed_files"] == ["mysqld-exporter.my.cnf"] and path.read_text() == "given\n"
    if os.geteuid() != 0:  # root reads a 0000 file
        os.chmod(path, 0)
        refused, failed = run_module(component_files, _secret_args(tmp_path, content="x\n", keep=True))
        assert failed and "cannot read it to compare" in refused["msg"]


def test_a_refused_check_puts_every_secret_back(tmp_path, run_module, no_engine):
    base = tmp_path / "observability" / "exporters"
    base.mkdir(parents=True)
    (base / "mysqld-exporter.my.cnf").write_text(MYCNF)
    os.chmod(base / "mysqld-exporter.my.cnf", 0o600)
    args = _secret_args(tmp_path, content="[client]\npassword=other\n")
    args["secret_files"].append({"name": "redis-exporter.passwords.json"})
    args["secrets"]["redis-exporter.passwords.json"] = '{"redis://redis:6379": "x"}\n'
    args["files"] = [{"name": "compose.yaml", "content": "- not a mapping\n", "check": "yaml"}]
    result, failed = run_module(component_files, args)
    assert failed and "refused by the yaml check" in result["msg"]
    assert (base / "mysqld-exporter.my.cnf").read_text() == MYCNF
    assert stat.S_IMODE(os.stat(base / "mysqld-exporter.my.cnf").st_mode) == 0o600
    assert sorted(os.listdir(base)) == ["mysqld-exporter.my.cnf"], "the new secret and every temporary file gone"


def test_a_secret_gets_its_owner_and_group(tmp_path, run_module, no_engine, monkeypatch):
    chowned = []
    monkeypatch.setattr(os, "fchown", lambda fd, uid, gid: chowned.append((uid, gid)))
    result, failed = run_module(component_files, _secret_args(tmp_path, owner="65534", group="4242", mode="0640"))
    assert not failed and chowned == [(65534, 4242)]
    path = tmp_path / "observability" / "exporters" / "mysqld-exporter.my.cnf"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    bad, failed = run_module(component_files, _secret_args(tmp_path, owner="no-such-user-lgtm"))
    assert failed and "unknown user 'no-such-user-lgtm'" in bad["msg"]


def test_secrets_exist_when_the_compose_check_runs(tmp_path, run_module, monkeypatch):
    """A fragment may name a secret as its env_file, which `docker compose config` insists exists."""
    seen = []
    base = tmp_path / "observability" / "alloy"

    def run_command(self, argv, **kwargs):
        if "config" in argv:
            seen.append((base / "scrape.env").read_text())
        return 0, "", ""

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    args = {"dir": str(base), "files": [{"name": "compose.yaml", "content": "services: {}\n", "check": "compose"}],
            "secret_files": [{"name": "scrape.env"}], "secrets": {"scrape.env": "PW='x'\n"}}
    result, failed = run_module(component_files, args)
    assert not failed and seen == ["PW='x'\n"]
