# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test: is an image reference pinned (documented in pinned_image.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_DIGEST = re.compile(r"@sha256:[a-f0-9]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def pinned_image(reference):
    """True for `repo:tag` (tag not `latest`) or `repo@sha256:<64 hex>`."""
    if not isinstance(reference, str) or not reference or any(c.isspace() for c in reference):
        return False
    if "@" in reference:
        return bool(_DIGEST.search(reference))
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[1]
    return bool(_TAG.match(tag)) and tag != "latest"


class TestModule(object):
    def tests(self):
        return {"pinned_image": pinned_image}
