#!/usr/bin/env python3
"""Print a JSON record of a project tree and of the Docker engine's objects.

    python3 snapshot.py PROJECT_DIR [COMPOSE_PROJECT]

Files: every path under PROJECT_DIR with its mode and SHA-256 (symlinks by target). Engine: every container
(id, name, state, image, creation time), volume and network on the host, so that a --check run that changed
anything at all shows up in a comparison (the objects of the suite's second engine lane, named lgtm-par-*, are
left out). Used by molecule/check-first and the reliability tests; stdlib only (it runs on the docker-host
instance).
"""

import hashlib
import json
import os
import subprocess
import sys


def tree(root):
    out = {}
    for current, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(current, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if os.path.islink(path):
                out[rel] = "link %s" % os.readlink(path)
            elif os.path.isdir(path):
                out[rel] = "dir %o" % (st.st_mode & 0o7777)
            else:
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
                out[rel] = "file %o %s" % (st.st_mode & 0o7777, digest)
    return out


# Containers, volumes and networks whose names hold this belong to the tests of the suite's second engine lane
# (tests/suite.py), which run beside the tests that take these snapshots: they are another test's, never a change
# the run under test made.
PARALLEL_LANE = "lgtm-par-"


def docker_lines(*args, lane=False):
    """The lines docker prints, sorted; those of the second engine lane only when `lane` (a test of that lane)."""
    proc = subprocess.run(["docker"] + list(args), capture_output=True, text=True, check=True)
    return sorted(line for line in proc.stdout.splitlines() if line.strip() and (lane or PARALLEL_LANE not in line))


# What each object's line holds: its identity, and its compose project, so that an object of the second lane is
# known as such even when its name does not say it (a container_name). Anonymous volumes carry no project label:
# the second lane's tests give every VOLUME of their images a named volume, or a tmpfs.
PROJECT = '{{.Label "com.docker.compose.project"}}'
LISTINGS = (
    ("containers", ("container", "ls", "--all", "--no-trunc", "--format",
                    "{{.ID}} {{.Names}} {{.State}} {{.Image}} {{.CreatedAt}} " + PROJECT)),
    ("volumes", ("volume", "ls", "--format", "{{.Name}} " + PROJECT)),
    ("networks", ("network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}} " + PROJECT)),
)


def engine(lane=False):
    """{containers, volumes, networks}: the engine's objects, one line each (see docker_lines for `lane`)."""
    return dict((key, docker_lines(*args, lane=lane)) for key, args in LISTINGS)


def main(argv):
    root = argv[1]
    record = dict(engine(), files=tree(root))
    json.dump(record, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
