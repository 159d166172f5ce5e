"""README's first command, as written: `./scripts/demo.sh` on a fresh copy of the example, its `--check --diff`
re-run, the paths the README names, and the README's command that stops the demo.

LGTM_IMAGES=standin: this network cannot pull, and the suite never asks a registry. The README keeps the demo's
volumes; the test does not (a fixture removes the demo's containers, networks and volumes before and after).
"""

import json
import os
import re
import subprocess

import pytest

from tests import docs_commands
from tests.integration.conftest import ROOT, Output

DEMO = ROOT / ".work" / "demo" / "legacy-project"


def _compose(*argv):
    return subprocess.run(["docker", "compose", "--project-directory", str(DEMO)] + list(argv),
                          capture_output=True, text=True)


def _clean():
    """The demo's containers, networks and volumes, including the volumes the migration left unused."""
    if not DEMO.is_dir():
        return
    config = _compose("config", "--format", "json")
    if config.returncode != 0:
        return
    _compose("down", "--volumes")
    name = json.loads(config.stdout)["name"]
    volumes = subprocess.run(["docker", "volume", "ls", "--quiet", "--filter",
                              "label=com.docker.compose.project=%s" % name], capture_output=True, text=True)
    if volumes.stdout.split():
        subprocess.run(["docker", "volume", "rm"] + volumes.stdout.split(), capture_output=True)


@pytest.fixture
def clean_demo():
    _clean()
    try:
        yield
    finally:
        _clean()


def _demo(*argv, reset=False):
    env = dict(os.environ, LGTM_IMAGES="standin", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    if reset:
        env["LGTM_DEMO_RESET"] = "1"
    proc = subprocess.run(["./scripts/demo.sh"] + list(argv), cwd=str(ROOT), env=env, capture_output=True,
                          text=True, timeout=1200)
    return proc.returncode, Output(proc.stdout + proc.stderr)


def test_readme_demo_runs_converges_and_stops(clean_demo):
    rc, out = _demo(reset=True)
    assert rc == 0, out[-4000:]
    assert re.search(r"changed=[1-9][0-9]* .*failed=0", out), "./scripts/demo.sh changed nothing: %s" % out[-2000:]
    assert "images: standin" in out, "the demo must say it runs on stand-ins"

    rc, out = _demo("--check", "--diff")
    assert rc == 0 and re.search(r"changed=0 .*failed=0", out), \
        "--check --diff on the migrated demo has something left to change: %s" % out[-3000:]

    assert docs_commands.missing_paths("demo", str(ROOT)) == [], "paths the README names are missing"

    down = _compose("down")  # the README's command, as written
    assert down.returncode == 0, down.stderr[-2000:]
    assert _compose("ps", "--all", "--quiet").stdout.split() == [], "containers of the demo are left after down"
