# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test: is a value a duration as Prometheus' model.ParseDuration reads it (documented in
prometheus_duration.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Prometheus' own pattern (common/model, ParseDuration): each unit at most once, largest first, integers only; "0"
# alone is accepted too. Loki and Mimir read their retention periods with it.
_DURATION = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")


def prometheus_duration(value):
    """True for `0`, `168h`, `7d`, `1w2d`, `0s`; False for ``, `7 days`, `1.5d`, `1h1d` and anything not a string or an
    integer."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    text = str(value)
    return text == "0" or (text != "" and bool(_DURATION.match(text)))


class TestModule(object):
    def tests(self):
        return {"prometheus_duration": prometheus_duration}
