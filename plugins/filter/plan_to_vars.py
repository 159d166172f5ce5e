# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrapper over module_utils/plan_vars.py (documented in plan_to_vars.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# module_utils/plan_vars.py is imported when a filter runs, not when this file loads: to find any one filter,
# Ansible loads every filter file of the collection in each task's worker process, compiling the source each
# time, and most tasks use none of these.


def plan_to_vars(plan):
    from ansible_collections.lgtm.stack.plugins.module_utils.plan_vars import PlanFormatError, map_plan

    if not isinstance(plan, dict) or "service_names" not in plan:
        raise AnsibleFilterError("plan_to_vars expects the 'plan' returned by lgtm.stack.migration_plan")
    try:
        variables, requires, view = map_plan(plan)
    except PlanFormatError as exc:
        raise AnsibleFilterError("plan_to_vars: %s" % exc)
    return {"vars": variables, "requires": requires, "migrate": view}


def plan_rebase(plan, project_dir):
    from ansible_collections.lgtm.stack.plugins.module_utils.plan_vars import PlanFormatError, rebase_plan, upgrade_plan

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
