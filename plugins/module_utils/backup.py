# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups of the files a migration edits: <backup_dir>/<path relative to the project>, modes and times kept."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil


def backup_path(path, backup_dir, root):
    """Where `path` is kept inside `backup_dir` (files outside `root` go under _outside/<absolute path>)."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        rel = os.path.join("_outside", os.path.abspath(path).lstrip(os.sep))
    return os.path.join(backup_dir, rel)


def backup_into(path, backup_dir, root):
    """Copy `path` into the backup once (an existing copy is the older original and wins). Returns its path.

    Directories are created 0700: a compose file or dashboard may hold secrets. A missing `path` is not an
    error (there is nothing to keep); None is returned.
    """
    if not os.path.exists(path):
        return None
    dest = backup_path(path, backup_dir, root)
    if os.path.exists(dest):
        return dest
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    os.chmod(backup_dir, 0o700)
    tmp = dest + ".lgtm-tmp"
    shutil.copy2(path, tmp)
    os.rename(tmp, dest)
    return dest


def write_atomic(module, path, text, mode=None):
    """Write `text` to `path` through a temporary file and an atomic move. An existing file keeps its mode;
    a new one (and its missing directories, 0755) gets `mode`."""
    existed = os.path.exists(path)
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    tmp = path + ".lgtm-tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    if existed:
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    module.atomic_move(tmp, path)
    if not existed and mode is not None:
        module.set_mode_if_different(path, mode, False)
