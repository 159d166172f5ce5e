#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: component_files
short_description: Write the files of one stack component in one call, each checked before any is moved
version_added: 0.1.0
description:
  - Creates the component's directory, compares every file with the content it should have, checks each new
    content on a temporary file next to its destination (the real component image, C(docker compose config),
    YAML or a dashboard's JSON), and only when every check passes moves them all into place.
  - A check that fails leaves every file of the component as it was and names the file and the check's output.
  - The component roles use it for their configuration and compose fragment; it replaces a directory task, an
    image inspection and one template task (with C(validate)) per file - one Python process instead of six to
    a dozen, which is where a migration's time went.
  - An image that is not on the engine, or no O(image) at all (a role whose image check is off, for an image
    that implements nothing to check with), never vouches for a configuration; files asking for
    O(files[].check=image) then get their O(files[].fallback_check).
  - Secrets go in O(secret_files) and O(secrets), never in O(files), whose contents appear in the diff. Their
    content is never shown, returned or logged (O(secrets) is C(no_log), so the target's log of the call says
    C(NOT_LOGGING_PARAMETER)), and a new content is written to a file created with its final mode, owner and group
    from the first byte.
author:
  - lgtm.stack developers (@lgtm-stack)
options:
  dir:
    description: The component's directory (created C(0755) with its parents when missing).
    type: path
    required: true
  directories:
    description: Further directories, relative to O(dir), to create (C(0755)) even when no file lands in them.
    type: list
    elements: str
    default: []
  files:
    description: The files, in the order they are checked.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Path relative to O(dir) (missing parent directories are created C(0755)).
        type: str
        required: true
      content:
        description: The whole content the file must have.
        type: str
        default: ""
      state:
        description: C(absent) removes the file.
        type: str
        choices: [present, absent]
        default: present
      mode:
        description: The file's mode, octal (enforced on every run, as M(ansible.builtin.template) does).
        type: raw
        default: "0644"
      check:
        description:
          - How a new content is checked before it is moved into place.
          - C(image) runs the real O(image) with O(image_check) on it; C(compose) runs
            C(docker compose --project-directory <dir> -f <file> config --quiet); C(yaml) needs a YAML mapping;
            C(json_dashboard) a JSON object with a C(uid).
        type: str
        choices: [none, yaml, json_dashboard, compose, image]
        default: none
      only_in_existing_dir:
        description: Leave the file alone (neither write nor remove it) when its directory does not exist.
        type: bool
        default: false
      fallback_check:
        description: The check used instead of C(image) when the image cannot vouch.
        type: str
        choices: [none, yaml, json_dashboard]
        default: yaml
  secret_files:
    description:
      - Files whose content is a secret (credentials). Written before the checks of O(files) run (a compose
        fragment may name one as an C(env_file), which Compose checks exists); a refused check puts each back as it
        was. The diff names the file and says its content changes, never what it is.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Path relative to O(dir) (its directory must exist or be created by O(dir)/O(directories)).
        type: str
        required: true
      state:
        description: C(absent) removes the file (its O(secrets) entry is then not needed).
        type: str
        choices: [present, absent]
        default: present
      mode:
        description: The file's mode, octal.
        type: raw
        default: "0600"
      owner:
        description: Its owner (name or uid); unset keeps the writer's.
        type: str
      group:
        description: Its group (name or gid); unset keeps the writer's.
        type: str
      keep:
        description:
          - Keep the file's content when it has any (a password an earlier run generated); its O(secrets) entry is
            then written only to a missing or empty file. Mode, owner and group are enforced either way; a file
            that exists but cannot be read fails the call (it is never replaced unread).
        type: bool
        default: false
  secrets:
    description:
      - The content of each present O(secret_files) entry, by its name. A string is written as it is; a mapping or
        a list is written as JSON and a line break (for instance a password file keyed by address, whose values,
        the passwords themselves, are then masked in any output too).
      - Never logged, returned or shown.
    type: dict
    default: {}
  compose_project_directory:
    description: The project directory of the C(compose) check (relative paths resolve against it).
    type: path
  image:
    description: The component's image, for the files checked with C(image).
    type: str
  image_check:
    description: How the image checks a file.
    type: dict
    default: {}
    suboptions:
      args:
        description: Arguments after the image; C({path}) is the file's path inside the container.
        type: list
        elements: str
        default: []
      mount:
        description: Where the file is mounted (read-only) in the container.
        type: str
      user:
        description: User to run the check as.
        type: str
attributes:
  check_mode:
    support: full
    description: Reports what would change (with the diff) and writes nothing; checks do not run.
  diff_mode:
    support: full
    description: One diff per file that changes.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
"""

EXAMPLES = r"""
- name: Write tempo's configuration and compose fragment
  lgtm.stack.component_files:
    dir: /srv/shop/observability/tempo
    image: grafana/tempo:2.10.1
    image_check:
      args: ["-config.file={path}", "-config.verify=true"]
      user: "0"
    files:
      - name: tempo.yaml
        content: "{{ lookup('ansible.builtin.template', 'tempo.yaml.j2') }}"
        check: image
      - name: compose.yaml
        content: "{{ lookup('ansible.builtin.template', 'compose.yaml.j2') }}"
        check: compose
  register: tempo_files
"""

RETURN = r"""
changed_files:
  description: Names (relative to O(dir)) of the files written, removed or given their mode.
  returned: always
  type: list
  elements: str
image_vouched:
  description: Whether the real image checked the files that ask for it (null when no file needed it).
  returned: always
  type: bool
image_note:
  description: Why the image did not check them (not on the engine, no image given).
  returned: when the image did not vouch
  type: str
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lgtm.stack.plugins.module_utils import component_files as C


def _target(module, directory, name):
    path = os.path.normpath(os.path.join(directory, name))
    if os.path.isabs(name) or not path.startswith(os.path.join(directory, "")):
        module.fail_json(msg="%s: file name %r must stay inside the directory" % (directory, name))
    return path


def _mode_differs(path, mode):
    return stat.S_IMODE(os.stat(path).st_mode) != (int(mode, 8) if isinstance(mode, str) else mode)


def _check_mode_input(module, directory, spec, example):
    """A file's mode: an octal string (or a number); bad input fails before anything is created."""
    mode = spec["mode"]
    if isinstance(mode, str) and not (mode.isdigit() and set(mode) <= set("01234567")):
        module.fail_json(msg="%s: mode %r of %s must be octal, such as '%s'" % (directory, mode, spec["name"], example))


def _check_input(module, directory):
    """Names and modes, before anything is created: bad input fails and changes nothing."""
    for spec in module.params["files"]:
        _target(module, directory, spec["name"])
        _check_mode_input(module, directory, spec, "0644")


def _compare(module, directory):
    """One entry per file: its path, the content it has and should have, and whether the mode alone differs."""
    entries = []
    for spec in module.params["files"]:
        path = _target(module, directory, spec["name"])
        if spec["only_in_existing_dir"] and not os.path.isdir(os.path.dirname(path)):
            continue
        try:
            before = C.read_text(path)
        except C.InputError as exc:
            module.fail_json(msg=str(exc), file=path)
        after = spec["content"] if spec["state"] == "present" else None
        mode_only = before is not None and after == before and _mode_differs(path, spec["mode"])
        entries.append(dict(spec=spec, path=path, before=before, after=after, mode_only=mode_only))
    return entries


def _ensure_dir(path, made):
    """Create `path` and its missing parents (0755), recording each one created in `made`."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for new in reversed(missing):
        os.mkdir(new, 0o755)
        os.chmod(new, 0o755)
        made.append(new)


def _undo(todo, made):
    """Remove the temporary files and the directories this call created (a failed call changes nothing)."""
    for entry in todo:
        if entry.get("tmp") and os.path.exists(entry["tmp"]):
            os.remove(entry["tmp"])
    for path in reversed(made):
        try:
            os.rmdir(path)
        except OSError:
            pass


def _compare_secrets(module, directory):
    """One entry per secret file: its path, state before (bytes, mode, uid, gid or None), bytes it should have,
    mode, owner ids, and what differs ("content", "attributes", "")."""
    entries = []
    contents = module.params["secrets"]
    for spec in module.params["secret_files"]:
        path = _target(module, directory, spec["name"])
        if spec["state"] == "present" and spec["name"] not in contents:
            module.fail_json(msg="%s: secret file %s has no entry in secrets" % (directory, spec["name"]))
        _check_mode_input(module, directory, spec, "0600")
        mode = spec["mode"]
        try:
            uid, gid = C.owner_ids(spec["owner"], spec["group"])
            before = C.secret_state(path)
        except KeyError as exc:
            module.fail_json(msg="%s: %s of %s" % (directory, exc.args[0], spec["name"]))
        except (OSError, C.InputError) as exc:
            module.fail_json(msg="%s: cannot read it to compare: %s" % (path, exc), file=path)
        data = C.secret_bytes(contents[spec["name"]]) if spec["state"] == "present" else None
        if spec["keep"] and data is not None and before is not None and before[0]:
            data = before[0]
        mode = int(mode, 8) if isinstance(mode, str) else mode
        entries.append(dict(name=spec["name"], path=path, before=before, data=data, mode=mode, uid=uid, gid=gid,
                            differs=C.secret_differs(before, data, mode, uid, gid)))
    return [e for e in entries if e["differs"]]


def _write_secrets(module, secrets, made):
    """Write (or remove) each changed secret; returns the ones done, for _restore_secrets."""
    done = []
    for entry in secrets:
        try:
            _ensure_dir(os.path.dirname(entry["path"]), made)
            if entry["data"] is None:
                os.remove(entry["path"])
            elif entry["differs"] == "content":
                C.write_secret(entry["path"], entry["data"], entry["mode"], entry["uid"], entry["gid"])
            else:
                os.chmod(entry["path"], entry["mode"])
                if entry["uid"] is not None or entry["gid"] is not None:
                    os.chown(entry["path"], -1 if entry["uid"] is None else entry["uid"],
                             -1 if entry["gid"] is None else entry["gid"])
            done.append(entry)
        except OSError as exc:
            left = _restore_secrets(done)
            _undo([], made)
            module.fail_json(msg="%s: cannot write: %s; %s" % (entry["path"], exc, _unchanged(left)), file=entry["path"])
    return done


def _unchanged(left):
    """What a failure message says of the component's state."""
    if not left:
        return "nothing of this component was changed"
    return "nothing else of this component was changed, but these could not be put back: " + ", ".join(left)


def _restore_secrets(done):
    """Put each secret written by this call back as it was (a refused check changes nothing); returns what could
    not be put back, for the failure message."""
    failed = []
    for entry in reversed(done):
        before = entry["before"]
        try:
            if before is None:
                os.remove(entry["path"])
            else:
                C.write_secret(entry["path"], before[0], before[1], before[2], before[3])
        except OSError as exc:
            failed.append("%s (%s)" % (entry["path"], exc))
    return failed


def _check_all(module, directory, todo, vouch, made, undo_more=lambda: []):
    """Write each new content next to its destination and check it; on any refusal undo everything and fail."""
    for entry in todo:
        try:
            _ensure_dir(os.path.dirname(entry["path"]), made)
            entry["tmp"] = C.temp_path(entry["path"])
            with open(entry["tmp"], "w", encoding="utf-8") as handle:
                handle.write(entry["after"])
        except OSError as exc:
            left = undo_more()
            _undo(todo, made)
            module.fail_json(msg="%s: cannot write: %s; %s" % (entry["path"], exc, _unchanged(left)), file=entry["path"])
    for entry in todo:
        kind = C.effective_check(entry["spec"], vouch)
        problem = C.python_check(kind, entry["after"])
        argv = C.check_argv(kind, entry["tmp"], entry["spec"]["name"],
                            module.params["compose_project_directory"] or directory, module.params["image"],
                            module.params["image_check"])
        if argv and not problem:
            rc, out, err = module.run_command(argv, cwd=directory)
            if rc != 0:
                problem = "%s exited %d: %s" % (" ".join(argv[:3]), rc, (err or out).strip()[-2000:])
        if problem:
            left = undo_more()
            _undo(todo, made)
            module.fail_json(msg="%s: the new content was refused by the %s check, %s: %s"
                                 % (entry["path"], kind, _unchanged(left), problem), file=entry["path"])


def _make_dirs(module, directory):
    """The directories to create (created now unless in check mode); returns them, parents first."""
    wanted = [directory] + [_target(module, directory, d) for d in module.params["directories"]]
    if module.check_mode:
        return [path for path in wanted if not os.path.isdir(path)]
    made = []
    try:
        for path in wanted:
            _ensure_dir(path, made)
    except OSError as exc:
        _undo([], made)
        module.fail_json(msg="%s: cannot create: %s" % (path, exc), file=path)
    return made


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            directories=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                content=dict(type="str", default=""),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                mode=dict(type="raw", default="0644"),
                check=dict(type="str", choices=list(C.CHECKS), default="none"),
                only_in_existing_dir=dict(type="bool", default=False),
                fallback_check=dict(type="str", choices=["none", "yaml", "json_dashboard"], default="yaml"),
            )),
            secret_files=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                mode=dict(type="raw", default="0600"),
                owner=dict(type="str"),
                group=dict(type="str"),
                keep=dict(type="bool", default=False),
            )),
            secrets=dict(type="dict", default={}, no_log=True),
            compose_project_directory=dict(type="path"),
            image=dict(type="str"),
            image_check=dict(type="dict", default={}, options=dict(
                args=dict(type="list", elements="str", default=[]),
                mount=dict(type="str"),
                user=dict(type="str"),
            )),
        ),
        supports_check_mode=True,
    )
    directory = os.path.abspath(module.params["dir"])
    _check_input(module, directory)
    secrets = _compare_secrets(module, directory)
    made = _make_dirs(module, directory)
    entries = _compare(module, directory)
    todo = [e for e in entries if e["after"] is not None and e["after"] != e["before"]]
    gone = [e for e in entries if e["after"] is None and e["before"] is not None]
    result = dict(changed=bool(made or todo or gone or secrets or any(e["mode_only"] for e in entries)),
                  changed_files=[e["spec"]["name"] for e in entries if e in todo or e in gone or e["mode_only"]]
                  + [e["name"] for e in secrets],
                  image_vouched=None)
    if module._diff:
        result["diff"] = [C.diff_entry(e["path"], e["before"], e["after"]) for e in todo + gone] + [
            C.secret_diff_entry(e["path"], e["before"], e["data"]) for e in secrets if e["differs"] == "content"]
    if any(e["spec"]["check"] == "image" for e in todo) and not module.check_mode:
        result["image_vouched"], note = C.image_can_vouch(module.run_command, module.params["image"])
        if note:
            result["image_note"] = note
    if module.check_mode:
        module.exit_json(**result)
    written = _write_secrets(module, secrets, made)
    _check_all(module, directory, todo, result["image_vouched"], made, lambda: _restore_secrets(written))
    for entry in todo:
        module.atomic_move(entry["tmp"], entry["path"])
    for entry in gone:
        os.remove(entry["path"])
    for entry in entries:
        if entry["after"] is not None:
            module.set_mode_if_different(entry["path"], entry["spec"]["mode"], False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
