# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter wrappers over module_utils/helm_values.py (documented in helm_values.yml, helm_dashboards.yml and
helm_install.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible.errors import AnsibleFilterError

# The module_utils below are imported when a filter runs, not when this file loads: to find any one filter,
# Ansible loads every filter file of the collection in each task's worker process, compiling the source each
# time, and most tasks use none of these.


def _h():
    from ansible_collections.lgtm.stack.plugins.module_utils import helm_values

    return helm_values


def helm_values(settings, component):
    try:
        return _h().build(component, settings)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("helm_values(%s): %s" % (component, exc))


def helm_dashboards(dashboards, namespace):
    try:
        return _h().dashboards_configmaps(dashboards or {}, namespace)
    except ValueError as exc:
        raise AnsibleFilterError("helm_dashboards: a dashboard is not JSON: %s" % exc)


def helm_install(files, namespace, admin_secret, admin_user="admin"):
    H = _h()
    try:
        return {"commands": H.install_commands(namespace, admin_secret, files, admin_user),
                "charts": dict((c, dict(H.CHARTS[c])) for c in H.ORDER)}
    except KeyError as exc:
        raise AnsibleFilterError("helm_install: no values file for %s" % exc)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the Alloy configuration, dashboards) as literal blocks, readable in review."""


def _str(dumper, value):
    style = "|" if "\n" in value and not any(c in value for c in "\t\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def helm_yaml(data):
    """YAML of Helm values or Kubernetes manifests (one document; a list gives one document per item)."""
    def plain(value):
        if isinstance(value, dict):
            return dict((str(k), plain(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        for kind in (bool, int, float, str):  # tagged subclasses of the template engine to the plain types
            if isinstance(value, kind):
                return kind(value)
        return value
    docs = [plain(d) for d in data] if isinstance(data, list) else [plain(data)]
    separator = "---\n" if len(docs) > 1 else ""
    return "".join(separator + yaml.dump(d, Dumper=_BlockDumper, default_flow_style=False, sort_keys=False, width=120,
                                         allow_unicode=True) for d in docs)


class FilterModule(object):
    def filters(self):
        return {"helm_values": helm_values, "helm_dashboards": helm_dashboards, "helm_install": helm_install,
                "helm_yaml": helm_yaml}
