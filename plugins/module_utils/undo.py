# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's undo record: the files and directories a migration run may change, as they were before it started.

Unlike the backup (<project>/.lgtm-backup/<run>/, the state before the FIRST run, kept for rollback.yml), the undo
record is the state before THIS run: a run that fails puts exactly that back, whether it is the first run or a
re-run of a migrated project. Layout: <undo>/manifest.json ({path: "file" | "dir" | "absent"}) and
<undo>/files/<index> copies (modes and times kept). The record is written before the run changes anything and
removed when the run succeeds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil

MANIFEST = "manifest.json"


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def snapshot(undo_dir, paths):
    """Record `paths` as they are now (replacing an older record). Returns the manifest."""
    tmp = undo_dir.rstrip("/") + ".lgtm-tmp"
    _remove(tmp)
    os.makedirs(tmp, 0o700)
    os.chmod(tmp, 0o700)
    os.mkdir(os.path.join(tmp, "files"), 0o700)
    manifest = {}
    for index, path in enumerate(sorted(set(os.path.abspath(p) for p in paths))):
        copy = os.path.join(tmp, "files", str(index))
        if os.path.isdir(path) and not os.path.islink(path):
            # Secrets live in the stack's directory: the copies keep their 0600 modes, under a 0700 record.
            shutil.copytree(path, copy, symlinks=True)
            kind = "dir"
        elif os.path.lexists(path):
            shutil.copy2(path, copy, follow_symlinks=False)
            kind = "file"
        else:
            kind = "absent"
        manifest[path] = {"kind": kind, "copy": str(index)}
    with open(os.path.join(tmp, MANIFEST), "w") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
    _remove(undo_dir)
    parent = os.path.dirname(undo_dir.rstrip("/"))
    if parent and not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    os.rename(tmp, undo_dir)
    return manifest


def load(undo_dir):
    path = os.path.join(undo_dir, MANIFEST)
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def differs(path, entry, undo_dir):
    """Whether `path` is not as the record has it."""
    copy = os.path.join(undo_dir, "files", entry["copy"])
    if entry["kind"] == "absent":
        return os.path.lexists(path)
    if entry["kind"] == "file":
        if not os.path.isfile(path):
            return True
        with open(path, "rb") as now, open(copy, "rb") as then:
            return now.read() != then.read() or (os.stat(path).st_mode & 0o7777) != (os.stat(copy).st_mode & 0o7777)
    return _tree(path) != _tree(copy)


def _tree(root):
    if not os.path.isdir(root):
        return None
    out = {}
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(base, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
                continue
            with open(full, "rb") as handle:
                out[rel] = (handle.read(), os.stat(full).st_mode & 0o7777)
        for name in dirs:
            out.setdefault(os.path.relpath(os.path.join(base, name), root) + "/", "dir")
    return out


def changed_paths(undo_dir):
    """The recorded paths that are no longer as recorded (None when there is no record)."""
    manifest = load(undo_dir)
    if manifest is None:
        return None
    return sorted(path for path, entry in manifest.items() if differs(path, entry, undo_dir))


def restore(undo_dir, paths):
    """Put `paths` (recorded ones) back as recorded."""
    manifest = load(undo_dir) or {}
    for path in paths:
        entry = manifest[path]
        copy = os.path.join(undo_dir, "files", entry["copy"])
        _remove(path)
        if entry["kind"] == "dir":
            shutil.copytree(copy, path, symlinks=True)
        elif entry["kind"] == "file":
            parent = os.path.dirname(path)
            if parent and not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            shutil.copy2(copy, path, follow_symlinks=False)
