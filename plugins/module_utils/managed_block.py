# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A block of text between two marker lines, in a file whose other lines belong to the user."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import InputError


def markers(marker):
    if "{mark}" not in marker:
        raise ValueError("the marker must contain {mark}")
    return marker.replace("{mark}", "BEGIN"), marker.replace("{mark}", "END")


def apply_block(text, block, marker, state="present", path=None):
    """Return the new text. The block replaces what is between the markers; without markers it is appended
    (after one blank line); state=absent removes the markers and what is between them."""
    begin, end = markers(marker)
    lines = text.splitlines(True) if text else []
    starts = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == begin]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == end]
    if len(starts) > 1 or len(ends) > 1 or len(starts) != len(ends) or (starts and ends[0] < starts[0]):
        raise InputError(path or "file", "the managed block markers (%r ... %r) are broken: found %d begin and %d end "
                         "lines; restore them (or remove both) and run again" % (begin, end, len(starts), len(ends)))
    body = block if block.endswith("\n") or not block else block + "\n"
    new_block = [] if state == "absent" else [begin + "\n", body, end + "\n"]
    if starts:
        before, after = lines[:starts[0]], lines[ends[0] + 1:]
        if state == "absent" and before and not before[-1].strip():
            # Undo the blank line that separated the block (at the end, or from the text after it).
            if not after:
                before = before[:-1]
            elif not after[0].strip():
                after = after[1:]
        return "".join(before + new_block + after)
    if state == "absent":
        return text
    prefix = "".join(lines)
    if prefix and not prefix.endswith("\n"):
        prefix += "\n"
    if prefix.strip():
        prefix += "\n"
    return prefix + "".join(new_block)
