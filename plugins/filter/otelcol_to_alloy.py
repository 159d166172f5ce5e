# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrapper over module_utils/otelcol_convert.py (documented in otelcol_to_alloy.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# module_utils/otelcol_convert.py is imported when a filter runs, not when this file loads: to find any one
# filter, Ansible loads every filter file of the collection in each task's worker process, compiling the source
# each time, and most tasks use none of these.


def otelcol_to_alloy(collector, targets=None, label_prefix="legacy", header=None):
    from ansible_collections.lgtm.stack.plugins.module_utils.otelcol_convert import convert

    if not isinstance(collector, dict):
        raise AnsibleFilterError("otelcol_to_alloy expects a collector config mapping, got %s" % type(collector).__name__)
    try:
        return convert(collector, targets=targets, label_prefix=label_prefix, header=header)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError("otelcol_to_alloy: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"otelcol_to_alloy": otelcol_to_alloy}
