"""molecule/e2e needs the real upstream images: without them it must stop in prepare and say why, before any
converge. LGTM_E2E_PULL=0 looks for the images on the engine only and sends nothing to a registry."""

import os
import re
import subprocess

from tests.integration.conftest import ROOT, Output


def test_e2e_scenario_refuses_at_once_without_the_upstream_images():
    env = dict(os.environ, COLUMNS="1000", LGTM_E2E_PULL="0", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    proc = subprocess.run(["molecule", "test", "-s", "e2e"], cwd=str(ROOT), env=env, capture_output=True,
                          text=True, timeout=900)
    out = Output(proc.stdout + proc.stderr)
    assert proc.returncode != 0, "molecule/e2e passed on a machine without the upstream images"
    assert "needs the pinned upstream images" in out, out[-3000:]
    assert not re.search(r"e2e.*converge.*Executed", out), "molecule/e2e went on to converge"
