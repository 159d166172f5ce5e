# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrapper over module_utils/plan_vars.py (documented in plan_to_vars.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.lgtm.stack.plugins.module_utils.plan_vars import PlanFormatError, map_plan, rebase_plan, upgrade_plan


def plan_to_vars(plan):
    if not isinstance(plan, dict) or "service_names" not in plan:
        raise AnsibleFilterError("plan_to_vars expects the 'plan' returned by lgtm.stack.migration_plan")
    try:
        variables, requires, view = map_plan(plan)
    except PlanFormatError as exc:
        raise AnsibleFilterError("plan_to_vars: %s" % exc)
    return {"vars": variables, "requires": requires, "migrate": view}


def plan_rebase(plan, project_dir):
    if not isinstance(plan, dict):
        raise AnsibleFilterError("plan_rebase expects the 'plan' returned by lgtm.stack.migration_plan")
    # A recorded plan is brought to the current format and checked against its declared shape before any task
    # reads it.
    try:
        plan = upgrade_plan(plan)
    except PlanFormatError as exc:
        raise AnsibleFilterError("plan_rebase: the recorded plan (the 'plan' of observability/MIGRATION_REPORT.json): %s"
                                 % exc)
    return rebase_plan(plan, project_dir)


class FilterModule(object):
    def filters(self):
        return {"plan_to_vars": plan_to_vars, "plan_rebase": plan_rebase}
