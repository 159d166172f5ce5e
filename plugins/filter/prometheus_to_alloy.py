# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrapper over module_utils/prometheus_convert.py (documented in prometheus_to_alloy.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# module_utils/prometheus_convert.py is imported when a filter runs, not when this file loads: to find any
# one filter, Ansible loads every filter file of the collection in each task's worker process, compiling the
# source each time, and most tasks use none of these.


def prometheus_to_alloy(prometheus, forward_to=None, target_map=None, exclude_jobs=None, header=None, file_map=None):
    from ansible_collections.lgtm.stack.plugins.module_utils.prometheus_convert import DEFAULT_FORWARD_TO, convert

    if not isinstance(prometheus, dict):
        raise AnsibleFilterError("prometheus_to_alloy expects a Prometheus config mapping, got %s"
                                 % type(prometheus).__name__)
    try:
        return convert(prometheus, forward_to=DEFAULT_FORWARD_TO if forward_to is None else forward_to,
                       target_map=target_map, exclude_jobs=exclude_jobs, header=header, file_map=file_map)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("prometheus_to_alloy: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"prometheus_to_alloy": prometheus_to_alloy}
