#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: go_telemetry_info
short_description: Find what must change in Go code for correlated OTLP telemetry
version_added: 0.1.0
description:
  - Finds every C(go.mod) below O(path) (skipping C(vendor/), C(testdata/) and hidden directories), reads each
    module's requirements and its C(*.go) files (tests excluded), and reports what must change so that the services
    send traces, metrics and logs over OTLP to Alloy with the same identity and with trace ids in their logs.
  - Each finding names the file and line that show it, a stable code, what is wrong and what to do.
  - "Codes: C(GO001) deprecated C(go.opentelemetry.io/otel/exporters/jaeger); C(GO002) C(jaeger-client-go);
    C(GO003) OpenTracing; C(GO004) tracer provider without an OTLP trace exporter; C(GO005) metrics without OTLP
    (no exemplars, no resource); C(GO006) logs without trace ids; C(GO007) log bridge without an OTLP log exporter;
    C(GO008) hard-coded telemetry endpoint; C(GO009) service.name set in code, environment ignored;
    C(GO010) no propagator registered; C(GO011) no OpenTelemetry at all."
  - Says so explicitly (RV(changes_required) false and RV(summary)) when nothing must change.
  - Static reading only; never builds or changes the code.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  path:
    description:
      - Directory to scan (a repository root or the project directory).
    type: path
    required: true
extends_documentation_fragment:
  - lgtm.stack.attributes.info_module
"""

EXAMPLES = r"""
- name: Check the Go services of the project
  lgtm.stack.go_telemetry_info:
    path: /srv/shop
  register: go_info

- name: Stop when the Go code must change first
  ansible.builtin.assert:
    that: not go_info.changes_required
    fail_msg: "{{ go_info.summary }}"
"""

RETURN = r"""
findings:
  description: What must change, most severe first.
  returned: always
  type: list
  elements: dict
  contains:
    code:
      description: Stable finding code (C(GO001) ... C(GO011)).
      type: str
      sample: GO001
    severity:
      description: C(high), C(medium), C(low) or C(info).
      type: str
    file:
      description: File that shows the problem (a C(.go) file or C(go.mod)).
      type: str
    line:
      description: Line in that file.
      type: int
    module:
      description: Go module path.
      type: str
    go_mod:
      description: Path of the module's C(go.mod).
      type: str
    message:
      description: What is wrong.
      type: str
    recommendation:
      description: What to change.
      type: str
    example:
      description: File of the collection's proven Go example (C(docs/examples/go), built and run by the test suite)
        that shows the change.
      type: str
      sample: docs/examples/go/telemetry/telemetry.go
    symbol:
      description: The symbol of that example the recommendation names (also in the guide's table row for the code).
      type: str
      sample: otlptracehttp.New
modules:
  description: Each Go module found, with C(module), C(go_mod), C(files_scanned) and C(dependencies).
  returned: always
  type: list
  elements: dict
changes_required:
  description: True when a high or medium finding exists.
  returned: always
  type: bool
summary:
  description: One sentence for humans, including the explicit "nothing must change" case.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lgtm.stack.plugins.module_utils.go_telemetry import scan


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True)), supports_check_mode=True)
    try:
        result = scan(module.params["path"])
    except (ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
