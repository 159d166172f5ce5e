# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Attributes shared by the collection's modules."""

    DOCUMENTATION = r"""
options: {}
"""

    # Modules that only read or compute: they change nothing, in check mode or not.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Changes nothing, so it runs the same way in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to diff.
  idempotent:
    support: full
    description: The same input always gives the same result.
"""
