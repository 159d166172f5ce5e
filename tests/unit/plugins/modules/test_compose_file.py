"""compose_file: round-trip include edits that keep the user's file as they wrote it."""

import os

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import compose_edit as E
from ansible_collections.lgtm.stack.plugins.modules import compose_file
from tests.unit.conftest import EXAMPLE

USER_FILE = '''# shop: local development stack
name: shop

x-logging: &default-logging
  driver: json-file   # keep rotation small

services:
  api:
    image: "shop/api:dev"
    environment:
      MYSQL_PASSWORD: 'hunter2'
      DSN: shop:hunter3@tcp(mysql:3306)/shop
    logging: *default-logging
  redis:
    image: redis:7.2.4
'''


@pytest.fixture
def compose(tmp_path):
    path = tmp_path / "docker-compose.yml"
    path.write_text(USER_FILE)
    os.chmod(path, 0o640)
    return path


def test_include_is_added_after_name_and_everything_else_survives(compose, run_module):
    result, failed = run_module(compose_file, {"path": str(compose), "include": ["observability/compose.yaml"]})
    assert not failed and result["changed"] and result["changes"] == ["include observability/compose.yaml"]
    text = compose.read_text()
    assert text.startswith("# shop: local development stack\nname: shop\ninclude:\n  - observability/compose.yaml\n")
    for kept in ("x-logging: &default-logging", "driver: json-file   # keep rotation small",
                 'image: "shop/api:dev"', "MYSQL_PASSWORD: 'hunter2'", "logging: *default-logging"):
        assert kept in text, kept
    assert text.replace("include:\n  - observability/compose.yaml\n", "") == USER_FILE
    assert oct(os.stat(compose).st_mode & 0o777) == "0o640", "mode kept"


def test_idempotent_and_recognises_long_syntax(compose, run_module):
    run_module(compose_file, {"path": str(compose), "include": ["observability/compose.yaml"]})
    first = compose.read_text()
    result, _ = run_module(compose_file, {"path": str(compose), "include": ["observability/compose.yaml"]})
    assert result["changed"] is False and compose.read_text() == first
    compose.write_text("include:\n  - path:\n      - observability/compose.yaml\n    env_file: x.env\nservices: {}\n")
    result, _ = run_module(compose_file, {"path": str(compose), "include": ["observability/compose.yaml"]})
    assert result["changed"] is False


def test_check_mode_and_redacted_diff(compose, run_module):
    result, failed = run_module(compose_file, {"path": str(compose), "include": ["observability/compose.yaml"],
                                               "_ansible_diff": True}, check_mode=True)
    assert not failed and result["changed"] is True
    assert compose.read_text() == USER_FILE, "check mode writes nothing"
    diff = result["diff"]
    assert "observability/compose.yaml" in diff["after"] and "observability/compose.yaml" not in diff["before"]
    for text in (diff["before"], diff["after"]):
        assert "hunter2" not in text and "hunter3" not in text
        assert "MYSQL_PASSWORD: ********" in text and "shop:********@tcp(mysql:3306)/shop" in text


def test_backup_and_exclude(compose, run_module):
    result, _ = run_module(compose_file, {"path": str(compose), "include": ["a.yaml", "b.yaml"], "backup": True})
    assert open(result["backup_file"]).read() == USER_FILE
    result, _ = run_module(compose_file, {"path": str(compose), "exclude": ["a.yaml", "b.yaml"]})
    assert result["changes"] == ["exclude a.yaml", "exclude b.yaml"]
    assert compose.read_text() == USER_FILE, "removing every entry drops the key and restores the file"


def test_bad_input_changes_nothing(tmp_path, run_module):
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  api: [unclosed\n")
    result, failed = run_module(compose_file, {"path": str(bad), "include": ["x.yaml"]})
    assert failed and result["msg"].startswith(str(bad) + ":") and "malformed YAML" in result["msg"]
    assert bad.read_text() == "services:\n  api: [unclosed\n"
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n")
    result, failed = run_module(compose_file, {"path": str(scalar), "include": ["x.yaml"]})
    assert failed and "must be a mapping" in result["msg"]
    result, failed = run_module(compose_file, {"path": str(tmp_path / "none.yaml"), "include": ["x.yaml"]})
    assert failed and "not found" in result["msg"]
    result, failed = run_module(compose_file, {"path": str(bad), "include": ["x"], "exclude": ["x"]})
    assert failed and "both included and excluded" in result["msg"]


def test_the_example_project_round_trips_untouched():
    text = (EXAMPLE / "docker-compose.yml").read_text()
    assert E.dump(E.load(text, "docker-compose.yml")) == text


def test_redact_text_list_and_map_forms():
    text = "environment:\n  - GF_SECURITY_ADMIN_PASSWORD=abc\n  - PASSWORD_FILE=/run/secrets/x\n  TOKEN: ${TOKEN}\n"
    out = E.redact_text(text)
    assert "abc" not in out and "PASSWORD_FILE=/run/secrets/x" in out and "TOKEN: ${TOKEN}" in out


def test_long_syntax_include_goes_through_the_round_trip():
    text = "# top\ninclude:\n  - path: a.yaml  # first\n    project_directory: .\nservices:\n  x:\n    image: x:1  # pinned\n"
    new, changes = E.edit_includes(text, ["b.yaml"], [], "compose.yaml")
    assert changes == ["include b.yaml"]
    for kept in ("# top", "- path: a.yaml  # first", "project_directory: .", "image: x:1  # pinned", "- b.yaml"):
        assert kept in new, kept
    new, changes = E.edit_includes(new, [], ["a.yaml"], "compose.yaml")
    assert changes == ["exclude a.yaml"] and "a.yaml" not in new and "# pinned" in new
