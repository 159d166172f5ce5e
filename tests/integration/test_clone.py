"""A teammate's clone: a migrated project committed to git and cloned to another directory starts with the
documented command, which recreates the secrets git never saw and changes no committed file.

Stand-in images (orchestration only). Compose projects `lgtm-par-clone-orig` (the original) and `lgtm-par-clone-copy` (the
clone, COMPOSE_PROJECT_NAME), torn down by name.
"""

import shutil

import pytest

from tests.integration.test_two_projects import (HOST_PORT_VARS, containers, example_copy, free_ports, migrate,
                                                 network_members, sh, teardown, vars_file)

ORIGINAL, CLONE = "lgtm-par-clone-orig", "lgtm-par-clone-copy"
SECRETS = ("observability/grafana/admin_password", "observability/exporters/mysqld-exporter.my.cnf",
           "observability/alloy/scrape.env", "observability/.lgtm-stamp.json")


def git(cwd, *argv):
    return sh("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *argv, cwd=str(cwd))


@pytest.fixture
def projects(tmp_path):
    for project in (ORIGINAL, CLONE):
        teardown(project)
    try:
        yield tmp_path
    finally:
        for project in (CLONE, ORIGINAL):
            teardown(project)


# The recorded plan (observability/MIGRATION_REPORT.json) holds the original project's absolute paths; the migrate
# role moves them onto lgtm_project_dir (lgtm.stack.plan_rebase), so a clone's run reads and edits the clone only.
def test_a_clone_in_another_directory_starts_with_the_documented_command(projects):
    tmp = projects
    original = tmp / "me" / "shop"
    example_copy(original, ORIGINAL)
    varsfile = vars_file(tmp / "vars.json", free_ports(len(HOST_PORT_VARS)))
    rc, out = migrate(original, varsfile)
    assert rc == 0, out[-4000:]
    assert "/me/shop" not in (original / "observability/compose.yaml").read_text()
    git(original, "init", "-q")
    git(original, "add", "-A")
    git(original, "commit", "-q", "-m", "migrated")
    committed = git(original, "ls-files").split()
    assert "observability/compose.yaml" in committed and "observability/grafana/compose.yaml" in committed
    for path in committed:
        assert path not in SECRETS and not path.startswith(".lgtm-backup/"), path
    assert (original / ".lgtm-backup").is_dir()
    clone = tmp / "teammate" / "work" / "shop"
    sh("git", "clone", "-q", str(original), str(clone))
    # The teammate's machine: no original project, no containers of it.
    teardown(ORIGINAL)
    shutil.rmtree(str(original))
    for path in SECRETS:
        assert not (clone / path).exists(), path
    rc, out = migrate(clone, varsfile, env={"COMPOSE_PROJECT_NAME": CLONE})
    assert rc == 0, out[-4000:]
    # The secrets are back (0600), the clone's stack runs. The clone runs under another compose project name
    # (COMPOSE_PROJECT_NAME, as on a machine that still has the original): the only committed files that change
    # are those naming the project - Alloy's container-log discovery follows the name compose uses now.
    for path in SECRETS[:2]:
        assert (clone / path).stat().st_mode & 0o777 == 0o600, path
    changed = set(line[3:] for line in git(clone, "status", "--porcelain").splitlines())
    assert changed <= {"observability/alloy/config.alloy", "docs/sre_guide.md"}, changed
    diff = [line for line in git(clone, "diff", "-U0", "observability/alloy/config.alloy").splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert diff and all(ORIGINAL in line or CLONE in line for line in diff), diff
    running = containers(CLONE)
    assert {"alloy", "tempo", "loki", "mimir", "grafana", "api"} <= set(running), running
    # The committed files name the network by its compose key only: the clone's stack is on a network of its own
    # compose project, never on the original's (on a machine that still runs the original, the DNS names tempo,
    # loki, mimir... would otherwise resolve to both stacks).
    network = "%s_lgtm-%s" % (CLONE, ORIGINAL)
    assert set(network_members(network)) == set(running.values())
    assert not [n for n in sh("docker", "network", "ls", "--format", "{{.Name}}").split() if ORIGINAL in n and
                not n.startswith(CLONE + "_")]
