"""Integration tests: migrate.yml itself, on copies of the example project, against the local Docker engine."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "legacy-project"
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import snapshot  # noqa: E402


def engine_state(only=None):
    """The engine's containers, volumes and networks (only those whose line holds `only`, when given)."""
    return dict((key, [line for line in lines if not only or only in line])
                for key, lines in snapshot.engine(lane=bool(only)).items())


@pytest.fixture
def legacy(tmp_path):
    """A copy of the example project (not brought up: the failures under test come first)."""
    target = tmp_path / "shop"
    shutil.copytree(EXAMPLE, target)
    return target


class Output(str):
    """An ansible-playbook run's output. `text in output` also looks with whitespace runs joined: the YAML
    callback folds long messages at about 80 columns, at a place the length of the paths in them decides."""

    def __contains__(self, text):
        return str.__contains__(self, text) or str.__contains__(" ".join(self.split()), text)


def run_migrate(project, *extra, env=None, check=False):
    argv = ["ansible-playbook", str(ROOT / "migrate.yml"), "-e", "lgtm_project_dir=%s" % project] + list(extra)
    if check:
        argv.append("--check")
    full_env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                    ANSIBLE_FORCE_COLOR="0")
    full_env.update(env or {})
    proc = subprocess.run(argv, cwd=str(ROOT), capture_output=True, text=True, env=full_env, timeout=600)
    return proc.returncode, Output(proc.stdout + proc.stderr)


@pytest.fixture
def unchanged():
    """Assert that a run changed no file of a tree and nothing in the engine: call with the tree, then the run."""

    def _check(tree, action):
        files_before, engine_before = snapshot.tree(str(tree)), engine_state()
        result = action()
        assert snapshot.tree(str(tree)) == files_before, "the project tree changed"
        assert engine_state() == engine_before, "containers, volumes or networks changed"
        return result

    return _check


def dump(path, data):
    Path(path).write_text(json.dumps(data) if not isinstance(data, str) else data)
