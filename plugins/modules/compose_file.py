#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: compose_file
short_description: Edit a user's docker-compose file round-trip
version_added: 0.1.0
description:
  - Edits a compose file the user wrote without rewriting it - comments, key order, anchors and quoting survive
    (ruamel.yaml round-trip).
  - Removes services (and the C(depends_on)/C(links) entries of the remaining services that named them), drops
    top-level named volumes that no remaining service mounts, rewires services (environment variables set or
    unset, networks joined, C(depends_on) entries and C(logging) sections removed) and manages top-level
    C(include:) entries.
  - Removing a named volume from the file never deletes its data; Docker keeps the volume.
  - A service that joins a network and had no C(networks:) key also keeps C(default), so it still reaches the
    services it reached before.
  - With O(backup), the original is copied next to the file before the edit; with O(backup_dir) it is copied to
    O(backup_dir)/<path relative to O(project_dir)> instead (kept modes and times; an existing copy is never
    overwritten, so the first original of a run wins).
  - In diff mode the before and after texts are shown with secret values masked (C(*PASSWORD*), C(*TOKEN*), ...,
    credentials in URLs), so a C(--diff) run never prints the project's secrets.
  - A malformed or unreadable file fails the task with the file and line, and nothing is written.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  path:
    description: Compose file to edit.
    type: path
    required: true
  include:
    description: Paths that must be listed under C(include:) (relative to the file, or absolute).
    type: list
    elements: str
    default: []
  exclude:
    description: Paths that must not be listed under C(include:); the key is dropped when it becomes empty.
    type: list
    elements: str
    default: []
  remove_services:
    description: Services to remove. Names this file does not define are ignored.
    type: list
    elements: str
    default: []
  remove_volumes:
    description:
      - Top-level named volumes to remove from the file, when no remaining service of the file mounts them.
      - The volumes and their data stay in Docker.
    type: list
    elements: str
    default: []
  services:
    description:
      - Per-service edits, in the shape of the C(rewire) entries of M(lgtm.stack.migration_plan)'s plan.
      - Services this file does not define are skipped.
    type: list
    elements: dict
    default: []
    suboptions:
      service:
        description: Service name.
        type: str
        required: true
      env_set:
        description: Environment variables to set (values are written as strings).
        type: dict
        default: {}
      env_remove:
        description: Environment variables to unset.
        type: list
        elements: str
        default: []
      networks_add:
        description: Networks the service joins (they may be defined in an included file).
        type: list
        elements: str
        default: []
      depends_on_remove:
        description: C(depends_on) entries to drop.
        type: list
        elements: str
        default: []
      logging_remove:
        description: Remove the service's C(logging) section.
        type: bool
        default: false
      notes:
        description: Free text carried from the plan; ignored.
        type: list
        elements: str
        default: []
  add_missing:
    description:
      - Add variables of O(services[].env_set) that the file does not define yet, and a C(networks:) key to
        services that have none.
      - Turn off for override files, so that they only change what they already set.
    type: bool
    default: true
  backup:
    description: Copy the file (timestamped, next to it) before changing it.
    type: bool
    default: false
  backup_dir:
    description:
      - Directory that receives a copy of the original file, at its path relative to O(project_dir), before the
        first change. Created with mode 0700.
    type: path
  project_dir:
    description: Root that O(backup_dir) paths are relative to. Defaults to the directory of O(path).
    type: path
requirements:
  - ruamel.yaml on the host the module runs on.
attributes:
  check_mode:
    support: full
    description: Computes the new text and reports the change without writing.
  diff_mode:
    support: full
    description: Shows the file before and after, with secret values masked.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""

EXAMPLES = r"""
- name: Take the legacy services out and point the API at Alloy
  lgtm.stack.compose_file:
    path: /srv/shop/docker-compose.yml
    remove_services: [jaeger, prometheus, promtail]
    remove_volumes: [prometheus-data]
    services:
      - service: api
        env_set:
          OTEL_EXPORTER_OTLP_ENDPOINT: http://alloy:4318
        env_remove: [JAEGER_AGENT_HOST]
        networks_add: [lgtm]
    include:
      - observability/compose.yaml
    backup_dir: /srv/shop/.lgtm-backup/20261125T120000Z
    project_dir: /srv/shop

- name: Add the stack to the project
  lgtm.stack.compose_file:
    path: /srv/shop/docker-compose.yml
    include:
      - observability/compose.yaml
    backup: true
"""

RETURN = r"""
changes:
  description: What was (or, in check mode, would be) changed.
  returned: always
  type: list
  elements: str
  sample: ["remove service jaeger", "api: set OTEL_EXPORTER_OTLP_ENDPOINT", "include observability/compose.yaml"]
backup_file:
  description: Path of the backup copy, when one was made.
  returned: changed and backup or backup_dir is set
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.lgtm.stack.plugins.module_utils.compose_edit import (
    HAS_RUAMEL,
    RUAMEL_IMPORT_ERROR,
    edit_compose,
    redact_text,
)
from ansible_collections.lgtm.stack.plugins.module_utils.backup import backup_into, write_atomic
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError, read_text


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            include=dict(type="list", elements="str", default=[]),
            exclude=dict(type="list", elements="str", default=[]),
            remove_services=dict(type="list", elements="str", default=[]),
            remove_volumes=dict(type="list", elements="str", default=[]),
            services=dict(type="list", elements="dict", default=[], options=dict(
                service=dict(type="str", required=True),
                env_set=dict(type="dict", default={}),
                env_remove=dict(type="list", elements="str", default=[]),
                networks_add=dict(type="list", elements="str", default=[]),
                depends_on_remove=dict(type="list", elements="str", default=[]),
                logging_remove=dict(type="bool", default=False),
                notes=dict(type="list", elements="str", default=[]),
            )),
            add_missing=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
            backup_dir=dict(type="path"),
            project_dir=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if not HAS_RUAMEL:
        module.fail_json(msg=missing_required_lib("ruamel.yaml"), exception=str(RUAMEL_IMPORT_ERROR))
    path = module.params["path"]
    overlap = sorted(set(module.params["include"]) & set(module.params["exclude"]))
    if overlap:
        module.fail_json(msg="%s: paths both included and excluded: %s" % (path, ", ".join(overlap)))
    try:
        before = read_text(path, "compose file")
        after, changes = edit_compose(
            before, path, remove_services=module.params["remove_services"],
            remove_volumes=module.params["remove_volumes"], services=module.params["services"],
            add_missing=module.params["add_missing"], include=module.params["include"],
            exclude=module.params["exclude"])
    except InputError as exc:
        module.fail_json(msg=str(exc), file=str(exc.path), line=exc.line)
    result = dict(changed=bool(changes), changes=changes)
    if module._diff:
        result["diff"] = dict(before=redact_text(before), after=redact_text(after),
                              before_header=path, after_header=path)
    if changes and not module.check_mode:
        if module.params["backup_dir"]:
            result["backup_file"] = backup_into(path, module.params["backup_dir"],
                                                module.params["project_dir"] or os.path.dirname(path))
        elif module.params["backup"]:
            result["backup_file"] = module.backup_local(path)
        write_atomic(module, path, after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
