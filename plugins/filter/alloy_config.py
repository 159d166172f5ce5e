# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrapper over module_utils/alloy_stack.py (documented in alloy_config.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# The module_utils below are imported when a filter runs, not when this file loads: to find any one filter,
# Ansible loads every filter file of the collection in each task's worker process, compiling the source each
# time, and most tasks use none of these.

REQUIRED = ("tempo_endpoint", "loki_otlp_endpoint", "loki_push_url", "mimir_push_url", "compose_project",
            "service_namespace", "environment")


def alloy_config(spec):
    from ansible_collections.lgtm.stack.plugins.module_utils.alloy import AlloyError
    from ansible_collections.lgtm.stack.plugins.module_utils.alloy_stack import build

    if not isinstance(spec, dict):
        raise AnsibleFilterError("alloy_config expects a mapping, got %s" % type(spec).__name__)
    missing = [key for key in REQUIRED if not spec.get(key)]
    if missing:
        raise AnsibleFilterError("alloy_config: missing %s" % ", ".join(missing))
    try:
        text, info = build(spec)
    except (AlloyError, ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("alloy_config: %s" % exc)
    return dict(info, alloy=text)


class FilterModule(object):
    def filters(self):
        return {"alloy_config": alloy_config}
