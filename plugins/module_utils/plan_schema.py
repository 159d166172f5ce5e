# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration plan's declared shape: the contract between the planner that produces a plan, the JSON report that
records it, and the one mapping (plan_vars) that turns it into role variables.

`build_plan` checks every plan it produces against PLAN and a re-run checks the recorded plan (after bringing an
older format up to date) before anything reads it, so a key that is renamed, dropped or changes type fails there,
naming the key, instead of somewhere in a role.

Nested records require only what a consumer reads; the rest is typed when present.

The shapes: a Python type (str, int, bool, dict, list), `Nullable(shape)`, `OneOf(shapes...)`, `ListOf(shape)`,
`MapOf(shape)` (a mapping with any keys, values of one shape) and `Record` (declared keys, each required unless
`optional`; other keys are allowed in items, so that a finding or an inventory entry may carry more detail, but not
at the plan's top level, where an unknown key is a producer's mistake).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Nullable(object):
    def __init__(self, shape):
        self.shape = shape


class ListOf(object):
    def __init__(self, shape):
        self.shape = shape


class MapOf(object):
    def __init__(self, shape):
        self.shape = shape


class OneOf(object):
    def __init__(self, *shapes):
        self.shapes = shapes


class Record(object):
    def __init__(self, required, optional=None, closed=False):
        self.required = required
        self.optional = optional or {}
        self.closed = closed


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "a mapping", list: "a list"}

NAMED = Record({"service": str, "component": str})
FINDING = Record({"code": str, "severity": str, "message": str},
                 {"file": Nullable(str), "line": Nullable(int), "service": Nullable(str), "recommendation": Nullable(str)})

PLAN = Record({
    "format": int,
    "project_dir": str,
    "project_name": str,
    "compose_files": ListOf(str),
    "service_names": MapOf(str),
    "service_namespace": str,
    "environment": str,
    "network": str,
    "bind_address": str,
    "backend": Record({"mode": str}),
    "remove_services": ListOf(Record({"service": str, "component": str}, {"reason": str})),
    "keep_services": ListOf(str),
    "add_services": ListOf(NAMED),
    "rewire": ListOf(Record({"service": str}, {"env_set": MapOf(str), "env_remove": ListOf(str),
                                               "networks_add": ListOf(str), "depends_on_remove": ListOf(str),
                                               "notes": list})),
    "jaeger_receivers": ListOf(str),
    "ports": Record({"released": ListOf(dict), "claimed": ListOf(dict), "conflicts": ListOf(dict)}),
    "volumes": ListOf(Record({"volume": str, "name": str, "external": bool},
                             {"action": str, "orphaned": bool, "used_by": ListOf(str)})),
    "stack_volumes": MapOf(Record({"volume": str, "name": str, "state": str})),
    "grafana_adopted_volume": Nullable(str),
    "grafana_delete_datasources": ListOf(Record({"name": str, "orgId": int})),
    "service_identities": MapOf(dict),
    "grafana_inventory": Record({}, {"datasources": ListOf(dict), "dashboards": ListOf(dict)}),
    "grafana_settings_env": MapOf(str),
    "grafana_plugins": list,
    "log_label_model": MapOf(dict),
    "log_identities": MapOf(str),
    "promtail_labels": ListOf(Record({"label": str}, {"fate": str})),
    "legacy_bind_mounts": ListOf(Record({"service": str, "source": str})),
    "scrape_jobs": ListOf(Record({"job_name": str, "action": str}, {"config": dict})),
    "scrape_target_map": MapOf(str),
    # As prometheus.yml wrote it (a label value may be a YAML number).
    "scrape_global": Record({}, {"scrape_interval": str, "scrape_timeout": str, "external_labels": dict}),
    "scrape_files": ListOf(Record({"host_path": str, "container_path": str})),
    "mimir_rule_files": ListOf(Record({"host_path": str, "name": str})),
    "mimir_alertmanagers": ListOf(Record({}, {"urls": ListOf(str)})),
    "alloy_needs_host_gateway": bool,
    # default: null when the legacy default datasource has no counterpart in the new stack.
    "datasource_map": Record({"by_uid_or_name": MapOf(str), "inputs": MapOf(str)}, {"default": Nullable(str)}),
    "dashboard_providers": ListOf(Record({"host_path": Nullable(str)},
                                         {"name": Nullable(str), "folder": Nullable(str), "folders_from_files": bool})),
    # As loki.yml wrote it: a duration, or 0 (a YAML number).
    "loki_retention_period": Nullable(OneOf(str, int)),
    "exporters": MapOf(ListOf(dict)),
    "otel_collector": Nullable(dict),
    "findings": ListOf(FINDING),
    "summary": Record({"high": int, "medium": int, "low": int, "info": int}),
}, {
    # Added by build_plan after planning: every legacy artifact with its fate.
    "inventory": ListOf(Record({"kind": str, "name": str, "fate": str})),
}, closed=True)


# Keys a plan of this format gained after it was first recorded (a project migrated by an earlier release of the
# same format): absent, they mean "nothing of this kind", and a re-run reads them so.
ADDED_WITHIN_FORMAT = {
    "backend": {"mode": "local", "endpoints": {}, "grafana": True},
    "grafana_inventory": {},
    "grafana_plugins": [],
    "grafana_settings_env": {},
    "mimir_alertmanagers": [],
    "mimir_rule_files": [],
}


def _describe(shape):
    if isinstance(shape, OneOf):
        return " or ".join(_describe(s) for s in shape.shapes)
    if isinstance(shape, Nullable):
        return "%s or null" % _describe(shape.shape)
    if isinstance(shape, ListOf):
        return "a list"
    if isinstance(shape, (MapOf, Record)):
        return "a mapping"
    return _TYPE_NAMES.get(shape, getattr(shape, "__name__", str(shape)))


def _is(value, kind):
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check(value, shape, path, errors, declared=None):
    if isinstance(shape, Nullable):
        if value is not None:
            _check(value, shape.shape, path, errors, declared=shape)
        return
    if isinstance(shape, OneOf):
        if not any(not _errors_of(value, s) for s in shape.shapes):
            errors.append("%s: expected %s, found %s" % (path, _describe(declared or shape), type(value).__name__))
        return
    kind = list if isinstance(shape, ListOf) else dict if isinstance(shape, (MapOf, Record)) else shape
    if not _is(value, kind):
        found = type(value).__name__ if value is not None else "null"
        errors.append("%s: expected %s, found %s" % (path, _describe(declared or shape), found))
        return
    if isinstance(shape, ListOf):
        for index, item in enumerate(value):
            _check(item, shape.shape, "%s[%d]" % (path, index), errors)
    elif isinstance(shape, MapOf):
        for key in sorted(value, key=str):
            _check(value[key], shape.shape, "%s.%s" % (path, key), errors)
    elif isinstance(shape, Record):
        _check_record(value, shape, path, errors)


def _check_record(value, shape, path, errors):
    prefix = path + "." if path else ""
    for key, sub in shape.required.items():
        if key not in value:
            errors.append("%s%s: missing" % (prefix, key))
        else:
            _check(value[key], sub, prefix + key, errors)
    for key, sub in shape.optional.items():
        if key in value:
            _check(value[key], sub, prefix + key, errors)
    if shape.closed:
        for key in sorted(set(value) - set(shape.required) - set(shape.optional), key=str):
            errors.append("%s%s: not a key of this plan format" % (prefix, key))


def _errors_of(value, shape):
    errors = []
    _check(value, shape, "", errors)
    return errors


def plan_errors(plan):
    """Every way `plan` differs from the declared shape, as "<path>: <problem>" lines (empty: it conforms)."""
    errors = []
    _check(plan, PLAN, "", errors)
    return errors
