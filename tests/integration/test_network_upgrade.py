"""A project migrated by an earlier release, whose fragments named the stack's network outright (`name:
lgtm-<project>`): the re-run moves every container of the project onto the project-scoped network
(`<project>_lgtm-<project>`) and removes the old network - or leaves it to whatever else still uses it, without
recreating the project again on the next run. Compose alone would not: a network whose name changes
under the same key leaves the running containers where they were, so the user's apps and a recreated stack service
would end up on two networks that cannot resolve each other.

Stand-in images (orchestration only). Compose project `lgtm-par-netupgrade`, torn down by name.
"""

import subprocess

import pytest

from tests.integration.test_two_projects import (HOST_PORT_VARS, containers, example_copy, free_ports, images,
                                                 isolated, migrate, network_members, sh, vars_file)

PROJECT = "lgtm-par-netupgrade"
KEY = "lgtm-" + PROJECT
FOREIGN = "lgtm-par-netupgrade-foreign"  # a container of no compose project, on the old network


@pytest.fixture
def project(tmp_path):
    try:
        yield from isolated(tmp_path, PROJECT)
    finally:
        for argv in (["docker", "rm", "--force", FOREIGN], ["docker", "network", "rm", KEY]):
            subprocess.run(argv, capture_output=True)


def networks():
    return sh("docker", "network", "ls", "--format", "{{.Name}}").split()


@pytest.mark.parametrize("shared", [False, True], ids=["alone", "shared-with-a-foreign-container"])
def test_a_project_on_the_old_fixed_network_moves_to_its_own(project, shared):
    target = project / "shop"
    example_copy(target, PROJECT)
    varsfile = vars_file(project / "vars.json", free_ports(len(HOST_PORT_VARS)))
    rc, out = migrate(target, varsfile)
    assert rc == 0, out[-4000:]
    # The earlier release's layout: every fragment names the network outright, every container is on it.
    old_decl, new_decl = "\n  %s:\n    name: %s\n" % (KEY, KEY), "\n  %s: {}\n" % KEY
    fragments = sorted((target / "observability").glob("*/compose.yaml"))
    for fragment in fragments:
        text = fragment.read_text()
        if new_decl in text:
            fragment.write_text(text.replace(new_decl, old_decl))
    sh("docker", "compose", "--project-directory", str(target), "up", "--detach", "--force-recreate", "--wait",
       "--remove-orphans")
    running = containers(PROJECT)
    assert KEY in networks() and set(network_members(KEY)) == set(running.values())
    if shared:
        sh("docker", "run", "--detach", "--name", FOREIGN, "--network", KEY, "--entrypoint", "sleep",
           images()["alloy"], "600")

    rc, out = migrate(target, varsfile)
    assert rc == 0, out[-4000:]
    for fragment in fragments:
        assert old_decl not in fragment.read_text(), fragment
    running = containers(PROJECT)
    assert {"alloy", "tempo", "loki", "mimir", "grafana", "api", "mysql"} <= set(running), running
    # Every container - the stack's and the user's own - on the project's network; the old one is gone, or holds
    # only what else uses it.
    assert set(network_members("%s_%s" % (PROJECT, KEY))) == set(running.values())
    if shared:
        assert set(network_members(KEY)) == {FOREIGN}
    else:
        assert KEY not in networks()
    # And the run after that changes nothing (the project is not recreated again).
    rc, out = migrate(target, varsfile)
    assert rc == 0 and "changed=0" in out, out[-4000:]
