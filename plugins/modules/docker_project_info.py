#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_project_info
short_description: What a migration must know about the project directory and the Docker host, in one call
version_added: 0.1.0
description:
  - Looks at the project directory (exists, is a directory, what this user may do with it), which of the candidate
    compose files exist, and asks the Docker CLI for the engine's and the Compose plugin's versions. It judges
    nothing; the caller's assertions do, with their own messages.
  - Returns the user the tasks run as as the facts C(ansible_facts.user_uid) and C(ansible_facts.user_gid) (the
    names M(ansible.builtin.setup) uses), so that roles deciding file ownership need not gather facts again.
  - One Python process instead of four tasks (a C(stat), a C(find) and two C(command)s).
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  project_dir:
    description: The project directory.
    type: path
    required: true
  candidates:
    description: Absolute paths of the compose files to look for.
    type: list
    elements: path
    default: []
  docker_cli:
    description:
      - The Docker CLI to ask. An empty string asks nothing (a caller that only looks for files, as the stack
        role's preflight does); RV(docker_version) and RV(compose_version) are then left out.
    type: str
    default: docker
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to show.
  idempotent:
    support: full
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Look at the project and the Docker host
  lgtm.stack.docker_project_info:
    project_dir: /srv/shop
    candidates: [/srv/shop/compose.yaml, /srv/shop/docker-compose.yml]
  register: host
"""

RETURN = r"""
dir:
  description: The project directory - C(exists), C(isdir), C(readable), C(writeable), C(executable) (for this user).
  returned: always
  type: dict
found:
  description: The candidates that exist (any file type), in the order given.
  returned: always
  type: list
  elements: str
regular:
  description: The candidates that are regular files (a symbolic link to one counts), in the order given.
  returned: always
  type: list
  elements: str
exists:
  description:
    - One flag per candidate, in the order given - whether it exists (any file type).
    - C(found) and C(regular) hold the paths as the module expanded them (C(~), C($VAR)); these flags let a caller
      ask about a candidate by its position instead.
  returned: always
  type: list
  elements: bool
docker_version:
  description: C(<docker_cli> version --format '{{json .Server}}') - C(rc), C(stdout), C(stderr).
  returned: when O(docker_cli) is not empty
  type: dict
compose_version:
  description: C(<docker_cli> compose version --format json) - C(rc), C(stdout), C(stderr).
  returned: when O(docker_cli) is not empty
  type: dict
ansible_facts:
  description: C(user_uid) and C(user_gid) of the user the tasks run as.
  returned: always
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule


def _ask(module, argv):
    try:
        rc, out, err = module.run_command(argv, handle_exceptions=False)
    except OSError as exc:  # the CLI itself is missing
        return dict(rc=127, stdout="", stderr="%s: %s" % (argv[0], exc.strerror or exc))
    return dict(rc=rc, stdout=out, stderr=err)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            candidates=dict(type="list", elements="path", default=[]),
            docker_cli=dict(type="str", default="docker"),
        ),
        supports_check_mode=True,
    )
    path, cli = module.params["project_dir"], module.params["docker_cli"]
    exists = os.path.exists(path)
    result = dict(
        changed=False,
        dir=dict(exists=exists, isdir=os.path.isdir(path), readable=exists and os.access(path, os.R_OK),
                 writeable=exists and os.access(path, os.W_OK), executable=exists and os.access(path, os.X_OK)),
        found=[c for c in module.params["candidates"] if os.path.lexists(c)],
        regular=[c for c in module.params["candidates"] if os.path.isfile(c)],
        exists=[os.path.lexists(c) for c in module.params["candidates"]],
        ansible_facts=dict(user_uid=os.getuid(), user_gid=os.getgid()),
    )
    if cli:
        result.update(docker_version=_ask(module, [cli, "version", "--format", "{{json .Server}}"]),
                      compose_version=_ask(module, [cli, "compose", "version", "--format", "json"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
