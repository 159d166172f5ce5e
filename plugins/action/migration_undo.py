# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of lgtm.stack.migration_undo (documented with the module): on a local connection the module runs in
Ansible's worker process, elsewhere as usual (plugins/plugin_utils/in_process.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.plugin_utils.in_process import ActionModule  # noqa: F401 pylint: disable=unused-import
