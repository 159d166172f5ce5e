"""An ordinary user in the docker group runs migrate.yml, verify.yml and rollback.yml: no root, no become.

The test creates the user `lgtm-nonroot` (member of the `docker` group, nothing else) and removes it with its home
at the end. The user runs this checkout's Ansible with the system's Python 3.11 (the checkout's .venv points into
root's home, which the user cannot enter; its site-packages are pure Python or cp311 wheels).

Real here: MariaDB and the mysqld exporter. The exporter runs as `nobody` and can only read its my.cnf (the user's,
0640) through the group the role added to its container: `mysql_up 1` on its metrics is that read, for real. The
rest runs on orchestration-only stand-ins (files, containers, ownership - no telemetry claim). Compose project
`lgtm-nonroot` (its network `lgtm-nonroot_lgtm-lgtm-nonroot`: the default key, scoped by Compose), torn down by name.
"""

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from tests.integration.conftest import EXAMPLE, ROOT, Output, snapshot
from tests.integration.test_two_projects import sh, stack_vars, teardown

USER, PROJECT = "lgtm-nonroot", "lgtm-nonroot"
PYTHON = "/usr/bin/python3"
SITE = ROOT / ".venv" / "lib" / ("python%d.%d" % sys.version_info[:2]) / "site-packages"
LEGACY = ["api", "grafana", "jaeger", "loki", "mysql", "mysqld-exporter", "prometheus", "promtail", "redis",
          "redis-exporter"]


def as_user(argv, cwd, timeout=900):
    """Run argv as the test user, with a clean environment (nothing of root's leaks in)."""
    env = ["HOME=/home/%s" % USER, "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "ANSIBLE_NOCOLOR=1",
           "ANSIBLE_CONFIG=%s" % (ROOT / "ansible.cfg"), "PYTHONPATH=%s" % SITE]
    proc = subprocess.run(["runuser", "-u", USER, "--", "env", "-i"] + env + list(argv), cwd=str(cwd),
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, Output(proc.stdout + proc.stderr)


def playbook(name, target, varsfile, *extra):
    return as_user([PYTHON, str(ROOT / ".venv/bin/ansible-playbook"), str(ROOT / name),
                    "-e", "lgtm_project_dir=%s" % target, "-e", "@%s" % varsfile] + list(extra), ROOT)


@pytest.fixture
def user_project():
    if os.geteuid() != 0:
        pytest.skip("creating the test user needs root (CI runs as root)")
    if not os.path.exists(PYTHON):
        pytest.skip("no system Python at %s" % PYTHON)
    teardown(PROJECT)
    subprocess.run(["userdel", "--remove", USER], capture_output=True)
    sh("useradd", "--create-home", "--groups", "docker", "--shell", "/bin/sh", USER)
    base = tempfile.mkdtemp(prefix="lgtm-nonroot-", dir="/tmp")
    try:
        account = pwd.getpwnam(USER)
        target = os.path.join(base, "shop")
        shutil.copytree(str(EXAMPLE), target)
        override = sh(sys.executable, "-m", "tests.harness.dockerhost", "legacy-override", cwd=str(ROOT))
        with open(os.path.join(target, "docker-compose.override.yml"), "w") as handle:
            handle.write(override + "name: %s\n" % PROJECT)
        varsfile = os.path.join(base, "vars.json")
        with open(varsfile, "w") as handle:
            json.dump(stack_vars(), handle)
        os.chmod(varsfile, 0o600)
        sh("chown", "-R", "%d:%d" % (account.pw_uid, account.pw_gid), base)
        rc, out = as_user(["docker", "compose", "up", "--detach", "--wait"], target)
        assert rc == 0, out[-3000:]
        yield target, varsfile, account
    finally:
        teardown(PROJECT)
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run(["userdel", "--remove", USER], capture_output=True)


def metric(url, name, deadline=90):
    end, last = time.monotonic() + deadline, ""
    while time.monotonic() < end:
        try:
            body = urllib.request.urlopen(url, timeout=5).read().decode()
            last = [line for line in body.splitlines() if line.startswith(name + " ")]
            if last == [name + " 1"]:
                return last
        except OSError as exc:
            last = str(exc)
        time.sleep(3)
    return last


def test_a_docker_group_user_migrates_verifies_and_rolls_back(user_project):
    target, varsfile, account = user_project
    before = snapshot.tree(target)
    rc, out = playbook("migrate.yml", target, varsfile)
    assert rc == 0, out[-4000:]
    rc, again = playbook("migrate.yml", target, varsfile, "-e", "lgtm_migrate_trust_stamp=false")
    assert rc == 0 and "changed=0" in again, again[-3000:]
    # Every file the migration wrote is the user's; the secret files are readable by the user's group only.
    for rel in snapshot.tree(target):
        path = os.path.join(target, rel)
        if os.path.isfile(path) and not os.path.islink(path):
            assert os.stat(path).st_uid == account.pw_uid, rel
    for rel in ("observability/grafana/admin_password", "observability/exporters/mysqld-exporter.my.cnf"):
        info = os.stat(os.path.join(target, rel))
        assert stat.S_IMODE(info.st_mode) == 0o640 and info.st_gid == account.pw_gid, (rel, oct(info.st_mode))
    assert grp.getgrgid(account.pw_gid).gr_name == USER  # a private group: nobody else reads through it
    # The containers that read them joined that group, and only they.
    groups = {}
    for cid in sh("docker", "container", "ls", "-q", "--filter", "label=com.docker.compose.project=%s" % PROJECT).split():
        service, added = sh("docker", "inspect", "--format",
                            '{{index .Config.Labels "com.docker.compose.service"}} {{json .HostConfig.GroupAdd}}',
                            cid).split(" ", 1)
        groups[service] = json.loads(added) or []
    assert groups["grafana"] == groups["mysqld-exporter"] == groups["redis-exporter"] == [str(account.pw_gid)]
    assert all(groups[s] == [] for s in ("alloy", "tempo", "loki", "mimir")), groups
    # The SRE guide's section says what the files are for this user.
    guide = open(os.path.join(target, "docs", "sre_guide.md"), encoding="utf-8").read()
    assert "(0640)" in guide and "(arquivos 0640)" in guide and "0600" not in guide
    # The real exporter, as nobody, read its 0640 my.cnf through that group and logged in to the real MariaDB.
    assert metric("http://127.0.0.1:9104/metrics", "mysql_up") == ["mysql_up 1"]
    rc, out = playbook("verify.yml", target, varsfile)
    assert rc == 0 and "checked nothing" in out, out[-3000:]
    rc, out = playbook("rollback.yml", target, varsfile)
    assert rc == 0, out[-4000:]
    after = snapshot.tree(target)
    assert dict((k, after.get(k)) for k in before) == before
    running = sh("docker", "container", "ls", "--filter", "label=com.docker.compose.project=%s" % PROJECT,
                 "--format", '{{.Label "com.docker.compose.service"}}').split()
    assert sorted(running) == LEGACY
