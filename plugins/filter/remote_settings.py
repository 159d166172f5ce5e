# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrapper over module_utils/remote.py (documented in remote_settings.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

# module_utils/remote.py is imported when a filter runs, not when this file loads: to find any one filter,
# Ansible loads every filter file of the collection in each task's worker process, compiling the source each
# time, and most tasks use none of these.


def remote_settings(settings, root="", source="lgtm_remote"):
    from ansible_collections.lgtm.stack.plugins.module_utils import remote

    try:
        norm = remote.normalise(settings, source)
    except remote.RemoteError as exc:
        raise AnsibleFilterError("remote backends: %s" % exc)
    return {
        "signals": remote.in_container(norm, root) if root else norm,
        "mounts": remote.mounts(norm, root) if root else [],
        "files": [{"signal": s, "kind": k, "path": p, "verbatim": remote.read_verbatim(s, k)}
                  for s, k, p in remote.files(norm)],
        "endpoints": remote.endpoints(norm),
    }


def remote_datasources(datasources, signals):
    """Grafana's provisioned datasources pointed at the remote backends (`signals` from remote_settings)."""
    from ansible_collections.lgtm.stack.plugins.module_utils import remote

    try:
        return remote.grafana_datasources(list(datasources or []), signals or {})
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError("remote_datasources: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"remote_settings": remote_settings, "remote_datasources": remote_datasources}
