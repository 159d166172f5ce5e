# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrapper over module_utils/object_storage.py (documented in object_storage.yml and
object_storage_config.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# module_utils/object_storage.py is imported when a filter runs, not when this file loads: to find any one
# filter, Ansible loads every filter file of the collection in each task's worker process, compiling the source
# each time, and most tasks use none of these.


def object_storage(settings, component, source=None):
    from ansible_collections.lgtm.stack.plugins.module_utils import object_storage as OS

    if component not in OS.COMPONENTS:
        raise AnsibleFilterError("object_storage: component must be one of %s" % ", ".join(OS.COMPONENTS))
    try:
        return OS.normalise(settings, component, source)
    except OS.ObjectStorageError as exc:
        raise AnsibleFilterError("object storage: %s" % exc)


def object_storage_config(config, component, s3):
    from ansible_collections.lgtm.stack.plugins.module_utils import object_storage as OS

    if component not in OS.COMPONENTS:
        raise AnsibleFilterError("object_storage_config: component must be one of %s" % ", ".join(OS.COMPONENTS))
    try:
        return OS.apply(config, component, s3 or {})
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("object_storage_config: the %s configuration has no %s" % (component, exc))


class FilterModule(object):
    def filters(self):
        return {"object_storage": object_storage, "object_storage_config": object_storage_config}
