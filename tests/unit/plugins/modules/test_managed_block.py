"""managed_block: the SRE guide's section between markers; the user's text around it is never touched."""

import os
import stat

import pytest

from ansible_collections.lgtm.stack.plugins.module_utils import backup as B
from ansible_collections.lgtm.stack.plugins.module_utils.managed_block import apply_block
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError
from ansible_collections.lgtm.stack.plugins.modules import managed_block

MARK = "<!-- {mark} test block -->"
GUIDE = "# Guia de SRE do time\n\nTexto do time, escrito à mão.\n"


def _run(run_module, path, **extra):
    args = {"path": str(path), "block": "## Observabilidade\n\nconteúdo gerado\n", "marker": MARK}
    args.update(extra)
    check = args.pop("_check", False)
    return run_module(managed_block, args, check_mode=check)


def test_created_when_missing_with_its_directory(tmp_path, run_module):
    path = tmp_path / "docs" / "sre_guide.md"
    result, failed = _run(run_module, path)
    assert not failed and result["changed"] and result["created"]
    assert path.read_text() == "<!-- BEGIN test block -->\n## Observabilidade\n\nconteúdo gerado\n<!-- END test block -->\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_appended_after_user_text_then_replaced_in_place(tmp_path, run_module):
    path = tmp_path / "sre_guide.md"
    path.write_text(GUIDE)
    _run(run_module, path)
    assert path.read_text().startswith(GUIDE + "\n<!-- BEGIN test block -->\n")
    path.write_text(path.read_text() + "\n## Plantão\n\nescrito depois do bloco\n")
    result, _ = _run(run_module, path, block="novo conteúdo")
    text = path.read_text()
    assert result["changed"] and "novo conteúdo\n<!-- END test block -->\n\n## Plantão\n" in text
    assert text.startswith(GUIDE) and "conteúdo gerado" not in text
    again, _ = _run(run_module, path, block="novo conteúdo")
    assert again["changed"] is False and path.read_text() == text


def test_check_mode_diff_and_backup(tmp_path, run_module):
    path = tmp_path / "docs" / "sre_guide.md"
    path.parent.mkdir()
    path.write_text(GUIDE)
    os.chmod(path, 0o664)
    result, _ = _run(run_module, path, _check=True, _ansible_diff=True)
    assert result["changed"] and path.read_text() == GUIDE and "<!-- BEGIN" in result["diff"]["after"]
    backup = tmp_path / ".lgtm-backup" / "run"
    result, _ = _run(run_module, path, backup_dir=str(backup), project_dir=str(tmp_path))
    kept = backup / "docs" / "sre_guide.md"
    assert result["backup_file"] == str(kept) and kept.read_text() == GUIDE
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o664 and stat.S_IMODE(os.stat(path).st_mode) == 0o664


def test_absent_removes_the_block_and_an_emptied_file(tmp_path, run_module):
    path = tmp_path / "sre_guide.md"
    path.write_text(GUIDE)
    _run(run_module, path)
    result, _ = _run(run_module, path, state="absent")
    assert result["changed"] and path.read_text() == GUIDE
    created = tmp_path / "created.md"
    _run(run_module, created)
    result, _ = _run(run_module, created, state="absent", remove_empty_file=True)
    assert result["removed"] and not created.exists()
    result, _ = _run(run_module, created, state="absent", create=False)
    assert result["changed"] is False


@pytest.mark.parametrize("text", [
    "<!-- BEGIN test block -->\nsem fim\n",
    "<!-- END test block -->\n<!-- BEGIN test block -->\n",
    "<!-- BEGIN test block -->\n<!-- BEGIN test block -->\n<!-- END test block -->\n",
])
def test_broken_markers_fail_and_change_nothing(tmp_path, run_module, text):
    path = tmp_path / "sre_guide.md"
    path.write_text(text)
    result, failed = _run(run_module, path)
    assert failed and str(path) in result["msg"] and "markers" in result["msg"]
    assert path.read_text() == text


def test_apply_block_pure():
    assert apply_block("", "x", MARK) == "<!-- BEGIN test block -->\nx\n<!-- END test block -->\n"
    assert apply_block("a", "x", MARK).startswith("a\n\n<!-- BEGIN")
    with pytest.raises(ValueError):
        apply_block("", "x", "no mark here")
    with pytest.raises(InputError):
        apply_block("<!-- END test block -->\n", "x", MARK, path="f")


def test_backup_paths(tmp_path):
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("x")
    project = tmp_path / "project"
    project.mkdir()
    dest = B.backup_into(str(outside), str(tmp_path / "bk"), str(project))
    assert dest == str(tmp_path / "bk" / "_outside" / str(outside).lstrip("/"))
    assert B.backup_into(str(tmp_path / "missing"), str(tmp_path / "bk"), str(project)) is None
    outside.write_text("changed")
    assert B.backup_into(str(outside), str(tmp_path / "bk"), str(project)) == dest
    with open(dest) as handle:
        assert handle.read() == "x", "the first original wins"
