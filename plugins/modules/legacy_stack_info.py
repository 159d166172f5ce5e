#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: legacy_stack_info
short_description: Read a docker-compose project's legacy observability stack
version_added: 0.1.0
description:
  - Reads a docker-compose project and reports its observability stack - which service is Jaeger, Prometheus, an
    OpenTelemetry Collector, Promtail, Loki, Grafana, an exporter, a database or an application, and what their
    mounted configurations say.
  - Components are detected by image first, then by service name, then by published ports.
  - The compose model is resolved with C(docker compose config --format json) when Compose v2 is available (env
    interpolation, C(extends), C(include), override files as Compose does them). Without it the raw files are merged
    and interpolated by the module (no C(extends) or C(include) then). The raw YAML is always read for line numbers.
  - Parses the Prometheus config (global, scrape configs, rule files), the OpenTelemetry Collector config (receivers,
    processors, exporters, pipelines), Loki's schema and retention, Promtail's clients and labels, Grafana's
    provisioned datasources, dashboard providers and dashboard files, the exporters' targets, and the applications
    (in compose or on the host) with their telemetry environment and scrape targets.
  - A missing, unreadable or malformed file fails the task with a message that names the file and the line.
  - Never changes anything. Secret values (passwords, tokens, credentials in DSNs and URLs) are masked in the result.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  project_dir:
    description:
      - Absolute path of the compose project.
    type: path
    required: true
  compose_files:
    description:
      - Compose files, relative to O(project_dir) or absolute, in merge order.
      - Default is Compose's own discovery (C(compose.yaml), C(compose.yml), C(docker-compose.yaml),
        C(docker-compose.yml)) with the matching C(.override) file.
    type: list
    elements: path
    default: []
  env_files:
    description:
      - Env files used for interpolation. Default is the project's C(.env) when present.
    type: list
    elements: path
    default: []
  docker_cli:
    description:
      - The docker CLI used for C(docker compose config).
    type: str
    default: docker
  probe_ports:
    description:
      - TCP ports to try on O(probe_address) (a bind test, nothing is sent). Those that cannot be bound are returned
        in RV(legacy.ports_in_use), so the plan can tell a port the stack needs from a free one.
    type: list
    elements: int
    default: []
  probe_address:
    description: Address the probed ports would be published on.
    type: str
    default: 127.0.0.1
requirements:
  - PyYAML on the host the module runs on.
extends_documentation_fragment:
  - lgtm.stack.attributes.info_module
"""

EXAMPLES = r"""
- name: Analyse the legacy stack
  lgtm.stack.legacy_stack_info:
    project_dir: /srv/shop
  register: legacy_info

- name: Show which services are legacy observability components
  ansible.builtin.debug:
    msg: "{{ legacy_info.legacy.components }}"

- name: Analyse with explicit files
  lgtm.stack.legacy_stack_info:
    project_dir: /srv/shop
    compose_files:
      - docker-compose.yml
      - docker-compose.dev.yml
    env_files:
      - env/dev.env
"""

RETURN = r"""
legacy:
  description: The legacy stack as read from the project.
  returned: success
  type: dict
  contains:
    ports_in_use:
      description: The ports of O(probe_ports) that something already listens on (C(port), C(address), C(holder)).
      type: list
      elements: dict
      sample: [{"port": 3000, "address": "127.0.0.1", "holder": "a process outside this project"}]
    project_dir:
      description: Absolute project directory.
      type: str
      sample: /srv/shop
    project_name:
      description: Compose project name.
      type: str
      sample: shop
    compose_files:
      description: Compose files read, in merge order.
      type: list
      elements: str
    env_files:
      description: Env files used for interpolation.
      type: list
      elements: str
    resolved_by:
      description: C(docker compose config) or C(raw) (the module's own merge and interpolation).
      type: str
    services:
      description:
        - Per service name - C(component) (one of jaeger, prometheus, otel_collector, promtail, grafana_agent, loki,
          grafana, tempo, mimir, alloy, mysqld_exporter, redis_exporter, mysql, redis, app, other), C(detected_by),
          C(file) and C(line) of its declaration, C(image), C(image_tag), C(image_pinned), C(ports), C(volumes),
          C(mounted_files), C(environment) (secrets masked), C(secret_env) (keys holding plain-text secrets),
          C(depends_on), C(networks), C(command).
      type: dict
    components:
      description: Component name to the list of services detected as that component.
      type: dict
      sample: {"jaeger": ["jaeger"], "app": ["api"]}
    prometheus:
      description:
        - C(service), C(file), C(global), C(scrape_configs) (each with C(line)), C(rule_files), C(remote_write),
          C(inline_config); null without Prometheus.
        - The config is found through bind mounts and compose C(configs:); for an inline C(content:) config C(file) is
          C(<compose file>#configs.<name>) and lines count from the first line of that content.
      type: dict
    otel_collector:
      description: C(service), C(file), C(receivers), C(processors), C(exporters), C(connectors), C(pipelines); null without a collector.
      type: dict
    loki:
      description: C(service), C(file), C(schemas), C(retention_period), C(retention_enabled), C(delete_request_store).
      type: dict
    promtail:
      description:
        - C(service), C(file), C(clients), C(jobs), C(labels_from_logs), and C(label_model) - per label Promtail
          gives the logs, where it comes from (relabel rule, static label, pipeline stage, with job and line) and
          what it meant.
      type: dict
    grafana:
      description:
        - C(service), C(datasources) (file, line, name, uid, type, url, json_data), C(dashboard_providers),
          C(dashboards) (file, uid, title, folder, datasource_refs, panels).
        - Provisioning is read through every mount of the container (a directory, files mounted inside it, compose
          C(configs:)); C(provisioning_files) lists the files read, each provider's C(options.path) is resolved the
          same way. A provisioning file that does not parse, or a mount whose host path does not exist, is a warning
          naming file and line (the legacy Grafana never loaded it), not an error.
        - C(settings) - every C(GF_*) setting of the legacy environment (C(key), C(value) with secrets masked,
          C(secret), C(carried), C(reason), C(value_ref), C(needs_value)); C(settings_env) - what is carried, a secret
          only as the C(${VAR}) the legacy compose file used; C(plugins) - from C(GF_INSTALL_PLUGINS) or
          C(GF_PLUGINS_PREINSTALL); C(data_dir) - the mount of Grafana's data directory (type, source), or null.
      type: dict
    exporters:
      description:
        - C(mysqld_exporter) and C(redis_exporter) lists with each exporter's service, target and auth style.
        - C(password_ref) names a C(${VAR}) the password is kept in (C(variable), C(kept_in) - the project's env file
          that defines it, else null); C(my_cnf.missing) is true when the mounted my.cnf is not on this machine.
      type: dict
    apps:
      description:
        - Applications in compose or on the host (C(where)), their telemetry environment with the service each
          endpoint points at, and their scrape jobs.
      type: list
      elements: dict
    named_volumes:
      description: Named volumes and the services that use them.
      type: dict
    warnings:
      description: What could not be read or carried over, and why.
      type: list
      elements: str
"""

import errno
import socket
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.lgtm.stack.plugins.module_utils.legacy import analyse_project
from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import HAS_YAML, YAML_IMPORT_ERROR, InputError


def ports_in_use(address, ports):
    """The ports of `ports` that a listener already holds on `address` (or on every address)."""
    busy = []
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for port in sorted(set(ports)):
        sock = socket.socket(family, socket.SOCK_STREAM)
        # A listener holds the port even with SO_REUSEADDR; closed connections in TIME_WAIT do not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                busy.append({"port": port, "address": address,
                             "holder": "a process outside this project (another compose project or a host service)"})
        finally:
            sock.close()
    return busy


def main():
    module = AnsibleModule(
        argument_spec=dict(
            project_dir=dict(type="path", required=True),
            compose_files=dict(type="list", elements="path", default=[]),
            env_files=dict(type="list", elements="path", default=[]),
            docker_cli=dict(type="str", default="docker"),
            probe_ports=dict(type="list", elements="int", default=[]),
            probe_address=dict(type="str", default="127.0.0.1"),
        ),
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(YAML_IMPORT_ERROR))

    def run(argv, cwd=None):
        return module.run_command(argv, cwd=cwd)

    try:
        legacy = analyse_project(
            module.params["project_dir"],
            module.params["compose_files"] or None,
            module.params["env_files"] or None,
            run_command=run,
            docker_cli=module.params["docker_cli"],
        )
    except InputError as exc:
        module.fail_json(msg=str(exc), file=str(exc.path), line=exc.line)
    except Exception as exc:  # noqa: BLE001 - a bug must still read as one
        module.fail_json(msg="legacy_stack_info failed unexpectedly: %s" % exc, exception=traceback.format_exc())
    legacy["ports_in_use"] = ports_in_use(module.params["probe_address"], module.params["probe_ports"])
    for warning in legacy["warnings"]:
        module.warn(warning)
    module.exit_json(changed=False, legacy=legacy)


if __name__ == "__main__":
    main()
