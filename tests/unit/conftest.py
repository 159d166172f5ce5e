"""Make the checkout importable as ansible_collections.lgtm.stack for unit tests."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


def _install_collection_finder():
    """Import the collection the way ansible-playbook does, so that templates rendered by the tests can use its
    filters by FQCN (lgtm.stack.*). Installed before anything imports ansible_collections."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=[str(COLLECTIONS)], scan_sys_paths=False)._install()


_install_collection_finder()


import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

import pytest  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROJECTS = FIXTURES / "projects"
EXAMPLE = ROOT / "examples" / "legacy-project"


def _compose_available():
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode == 0


COMPOSE_AVAILABLE = _compose_available()


def real_run_command(argv, cwd=None):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(params=["compose-cli", "raw"])
def resolver(request):
    """Run each analysis both ways: through `docker compose config` and with the module's own merge."""
    if request.param == "compose-cli":
        if not COMPOSE_AVAILABLE:
            pytest.skip("docker compose is not installed here")
        return real_run_command
    return None


@pytest.fixture
def project_copy(tmp_path):
    """Copy a fixture project (by name, or the bundled example) into tmp_path."""

    def _copy(name):
        source = EXAMPLE if name == "example" else PROJECTS / name
        target = tmp_path / name
        shutil.copytree(source, target, symlinks=True)
        return target

    return _copy


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg"))
        self.result = result
        self.failed = failed


@pytest.fixture
def run_module(monkeypatch):
    """Run an Ansible module's main() in-process; return (result, failed)."""
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def _run(module, args, check_mode=False):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        with patch_module_args(args):
            try:
                module.main()
            except ModuleExit as done:
                return json.loads(json.dumps(done.result, default=str)), done.failed
        raise AssertionError("module returned without exit_json/fail_json")

    return _run
