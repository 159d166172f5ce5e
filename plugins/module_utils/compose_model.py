# -*- coding: utf-8 -*-
# Copyright: lgtm.stack developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load a docker-compose project into one normalised model.

The model is resolved by `docker compose config --format json` when the CLI is
available (env interpolation, extends, include, override files exactly as
Compose does it); without the CLI the raw files are merged and interpolated
here (documented limits: no `extends`, no `include`). The raw YAML is always
read too, for line numbers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shlex

from ansible_collections.lgtm.stack.plugins.module_utils.yamlutil import (
    ComposeTagDict,
    ComposeTagList,
    InputError,
    compose_tag,
    line_of,
    load_yaml,
    read_text,
)

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def discover_compose_files(project_dir):
    """Compose's own discovery: the files COMPOSE_FILE names in the project's .env (separated by
    COMPOSE_PATH_SEPARATOR, `:` by default, relative to the project), else the first of COMPOSE_NAMES plus its
    `.override` twin."""
    env_path = os.path.join(project_dir, ".env")
    env = load_env_file(env_path) if os.path.isfile(env_path) else {}
    if env.get("COMPOSE_FILE"):
        separator = env.get("COMPOSE_PATH_SEPARATOR") or ":"
        files = [os.path.normpath(os.path.join(project_dir, f)) for f in env["COMPOSE_FILE"].split(separator)
                 if f.strip()]
        for path in files:
            if not os.path.isfile(path):
                raise InputError(env_path, "COMPOSE_FILE names %s, which does not exist" % path)
        return files
    for name in COMPOSE_NAMES:
        path = os.path.join(project_dir, name)
        if os.path.isfile(path):
            stem, ext = os.path.splitext(name)
            override = os.path.join(project_dir, "%s.override%s" % (stem, ext))
            return [path] + ([override] if os.path.isfile(override) else [])
    raise InputError(project_dir, "no compose file found (looked for %s)" % ", ".join(COMPOSE_NAMES))


# --------------------------------------------------------------------------- .env and interpolation

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")


def load_env_file(path):
    """Parse a Compose .env file (KEY=VALUE, comments, quotes, `export`)."""
    env = {}
    for number, raw in enumerate(read_text(path, "env file").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(raw)
        if not match:
            raise InputError(path, "not a KEY=VALUE line: %r" % raw.strip()[:60], number)
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
            if raw.strip().split("=", 1)[1].strip().startswith('"'):
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.sub(r"\s+#.*$", "", value)
        env[key] = value
    return env


_VAR = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def interpolate(value, env, path=None, line=None):
    """Compose-style interpolation of one string."""

    def repl(match):
        escaped, name, op, arg, bare = match.groups()
        if escaped:
            return "$"
        name = name or bare
        present = name in env
        current = env.get(name)
        if op in (":-", "-"):
            use_default = (not present) if op == "-" else (not current)
            return interpolate(arg, env, path, line) if use_default else current
        if op in (":?", "?"):
            missing = (not present) if op == "?" else (not current)
            if missing:
                raise InputError(path or "compose", "required variable %s is not set: %s" % (name, arg or ""), line)
            return current
        if op in (":+", "+"):
            use_alt = present if op == "+" else bool(current)
            return interpolate(arg, env, path, line) if use_alt else ""
        return current or ""

    return _VAR.sub(repl, value)


def interpolate_tree(node, env, path):
    """Interpolate every string of a parsed document; a compose merge tag (`!reset`, `!override`) stays on the
    interpolated value so that the merge can honour it."""
    if isinstance(node, str):
        return interpolate(node, env, path)
    tag = compose_tag(node)
    if isinstance(node, list):
        out = [interpolate_tree(v, env, path) for v in node]
        return ComposeTagList(tag, out) if tag else out
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out[key] = interpolate_tree(value, env, "%s:%s" % (path, line_of(node, key)) if line_of(node, key) else path)
        return ComposeTagDict(tag, out, {}, None) if tag else out
    return node


# --------------------------------------------------------------------------- normalisation (short -> long syntax)

_PORT = re.compile(r"^(?:(?P<ip>\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:(?P<published>[\d-]*):)?(?P<target>[\d-]+)(?:/(?P<proto>\w+))?$")


def normalize_port(entry, path=None):
    if isinstance(entry, dict):
        out = dict(entry)
        if "published" in out and out["published"] is not None:
            out["published"] = str(out["published"])
        out.setdefault("protocol", "tcp")
        return out
    text = str(entry)
    match = _PORT.match(text)
    if not match:
        raise InputError(path or "compose", "cannot read port mapping %r" % text)
    out = {"target": int(match.group("target").split("-")[0]), "protocol": match.group("proto") or "tcp"}
    if match.group("published"):
        out["published"] = match.group("published")
    if match.group("ip"):
        out["host_ip"] = match.group("ip").strip("[]")
    return out


def normalize_volume(entry, project_dir):
    if isinstance(entry, dict):
        out = dict(entry)
    else:
        parts = str(entry).split(":")
        if len(parts) == 1:
            return {"type": "volume", "target": parts[0]}
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        is_path = source.startswith((".", "/", "~"))
        out = {"type": "bind" if is_path else "volume", "source": source, "target": target}
        if "ro" in mode.split(","):
            out["read_only"] = True
    if out.get("type") == "bind" and out.get("source"):
        src = os.path.expanduser(out["source"])
        out["source"] = os.path.normpath(src if os.path.isabs(src) else os.path.join(project_dir, src))
    return out


def normalize_environment(env):
    if env is None:
        return {}
    if isinstance(env, dict):
        return dict((k, None if v is None else str(v) if not isinstance(v, bool) else str(v).lower())
                    for k, v in env.items())
    out = {}
    for item in env:
        key, sep, value = str(item).partition("=")
        out[key] = value if sep else None
    return out


def _split_command(text):
    """A string command as Compose splits it (shell-like quoting), plain whitespace when it does not parse."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def normalize_service(svc, project_dir, path=None):
    svc = dict(svc or {})
    svc["ports"] = [normalize_port(p, path) for p in svc.get("ports") or []]
    svc["volumes"] = [normalize_volume(v, project_dir) for v in svc.get("volumes") or []]
    svc["environment"] = normalize_environment(svc.get("environment"))
    build = svc.get("build")
    if build:
        # As `docker compose config` gives it: a mapping with an absolute local context.
        build = dict(build) if isinstance(build, dict) else {"context": str(build)}
        context = str(build.get("context") or ".")
        if "://" not in context and not context.startswith("git@"):
            build["context"] = os.path.normpath(os.path.join(project_dir, os.path.expanduser(context)))
        svc["build"] = build
    deps = svc.get("depends_on") or {}
    svc["depends_on"] = dict((d, {"condition": "service_started"}) for d in deps) if isinstance(deps, list) else dict(deps)
    nets = svc.get("networks") or {}
    svc["networks"] = dict((n, None) for n in nets) if isinstance(nets, list) else dict(nets)
    command = svc.get("command")
    if isinstance(command, str):
        svc["command"] = _split_command(command)
    entrypoint = svc.get("entrypoint")
    if isinstance(entrypoint, str):
        svc["entrypoint"] = _split_command(entrypoint)
    # configs: short syntax (a name) -> long syntax; the target defaults to /<source>, as Compose does it.
    configs = []
    for item in svc.get("configs") or []:
        item = dict(item) if isinstance(item, dict) else {"source": str(item)}
        if item.get("source") and not item.get("target"):
            item["target"] = "/" + str(item["source"])
        configs.append(item)
    svc["configs"] = configs
    return svc


def normalize_configs(configs, project_dir):
    """Top-level `configs:` as `docker compose config` gives them: `file` made absolute."""
    out = {}
    for name, config in (configs or {}).items():
        config = dict(config) if isinstance(config, dict) else {}
        if config.get("file"):
            src = os.path.expanduser(str(config["file"]))
            config["file"] = os.path.normpath(src if os.path.isabs(src) else os.path.join(project_dir, src))
        out[name] = config
    return out


# Compose replaces these sequences in an override instead of appending (compose-spec merge rules).
_REPLACED_ON_MERGE = ("command", "entrypoint", "test")


def _merge(base, override):
    """Compose-like merge for the raw fallback: mappings merge, sequences of ports/volumes append, a command,
    entrypoint or healthcheck test is replaced; `!reset` drops the key, `!override` replaces its value."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            tag = compose_tag(value)
            if tag == "reset":
                out.pop(key, None)
            elif tag == "override" or key in _REPLACED_ON_MERGE or key not in base:
                out[key] = value
            else:
                out[key] = _merge(base.get(key), value)
        return out
    if isinstance(base, list) and isinstance(override, list):
        return base + [v for v in override if v not in base]
    return override


# --------------------------------------------------------------------------- loading


class ComposeProject(object):
    """The resolved model plus the raw documents (for line numbers)."""

    def __init__(self, project_dir, files, env_files, model, raw, resolved_by):
        self.project_dir = project_dir
        self.files = files
        self.env_files = env_files
        self.model = model
        self.raw = raw  # list of (path, document)
        self.resolved_by = resolved_by

    @property
    def name(self):
        return self.model.get("name") or os.path.basename(os.path.normpath(self.project_dir))

    @property
    def services(self):
        return self.model.get("services") or {}

    def raw_environment(self, name, key):
        """The value of a service's environment variable as written, before interpolation (last file wins)."""
        value = None
        for _path, doc in self.raw:
            services = (doc or {}).get("services") or {}
            svc = services.get(name) if isinstance(services, dict) else None
            env = (svc or {}).get("environment") if isinstance(svc, dict) else None
            if isinstance(env, dict) and key in env:
                value = env[key]
            elif isinstance(env, list):
                for item in env:
                    k, sep, v = str(item).partition("=")
                    if k == key:
                        value = v if sep else None
        return None if value is None else str(value)

    def config_origin(self, name):
        """The compose file that declares a top-level config (last one wins)."""
        origin = self.files[0] if self.files else self.project_dir
        for path, doc in self.raw:
            configs = (doc or {}).get("configs") or {}
            if isinstance(configs, dict) and name in configs:
                origin = path
        return origin

    def service_origin(self, name):
        """(file, line) where a service is declared last (override wins)."""
        origin = (None, None)
        for path, doc in self.raw:
            services = (doc or {}).get("services") or {}
            if isinstance(services, dict) and name in services:
                origin = (path, line_of(services, name))
        return origin


def load_project(project_dir, compose_files=None, env_files=None, run_command=None, docker_cli="docker"):
    """Load and resolve a compose project; InputError names the file on any problem."""
    project_dir = os.path.abspath(project_dir)
    if not os.path.isdir(project_dir):
        raise InputError(project_dir, "project directory not found")
    if compose_files:
        files = [f if os.path.isabs(f) else os.path.join(project_dir, f) for f in compose_files]
    else:
        files = discover_compose_files(project_dir)
    raw = []
    for path in files:
        doc = load_yaml(path, "compose file")
        services = doc.get("services")
        if services is not None and not isinstance(services, dict):
            raise InputError(path, "'services' must be a mapping of service names", line_of(doc, "services"))
        for name, svc in (services or {}).items():
            if svc is not None and not isinstance(svc, dict):
                raise InputError(path, "service '%s' must be a mapping" % name, line_of(services, name))
        raw.append((path, doc))
    if env_files:
        env_paths = [e if os.path.isabs(e) else os.path.join(project_dir, e) for e in env_files]
    else:
        default_env = os.path.join(project_dir, ".env")
        env_paths = [default_env] if os.path.isfile(default_env) else []
    env = {}
    for path in env_paths:
        env.update(load_env_file(path))

    model, resolved_by = None, "raw"
    if run_command is not None:
        model = _resolve_with_cli(run_command, docker_cli, project_dir, files, env_paths if env_files else [])
        if model is not None:
            resolved_by = "docker compose config"
    if model is None:
        merged = {}
        for path, doc in raw:
            merged = _merge(merged, interpolate_tree(doc, dict(os.environ, **env), path))
        model = merged
    services = {}
    origins = dict((name, path) for path, doc in raw for name in ((doc or {}).get("services") or {}))
    for name, svc in (model.get("services") or {}).items():
        services[name] = normalize_service(svc, project_dir, origins.get(name))
    model["services"] = services
    model["configs"] = normalize_configs(model.get("configs"), project_dir)
    return ComposeProject(project_dir, files, env_paths, model, raw, resolved_by)


def _resolve_with_cli(run_command, docker_cli, project_dir, files, env_paths):
    """The model as Compose resolves it, or None when Compose v2 is not available here."""
    try:
        rc, _out, _err = run_command([docker_cli, "compose", "version", "--short"], cwd=project_dir)
    except (OSError, IOError):
        return None
    if rc != 0:
        return None
    argv = [docker_cli, "compose", "--project-directory", project_dir]
    for path in files:
        argv += ["-f", path]
    for path in env_paths:
        argv += ["--env-file", path]
    argv += ["config", "--format", "json"]
    rc, out, err = run_command(argv, cwd=project_dir)
    if rc != 0:
        lines = [line for line in (err or out or "").strip().splitlines() if line.strip()]
        raise InputError(files[0], "docker compose config failed: %s" % (lines[-1] if lines else "exit %d" % rc))
    try:
        return json.loads(out)
    except ValueError:
        raise InputError(files[0], "docker compose config did not print JSON")


# --------------------------------------------------------------------------- helpers on services


def image_parts(image):
    """'registry:5000/ns/name:tag@sha256:..' -> (repository, tag, digest)."""
    if not image:
        return None, None, None
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    last = image.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        image, tag = image.rsplit(":", 1)
    return image, tag, digest


def container_to_host(svc, container_path):
    """Host path of a container path through the service's bind mounts (longest match)."""
    best = None
    for vol in svc.get("volumes") or []:
        if vol.get("type") != "bind" or not vol.get("target"):
            continue
        target = vol["target"].rstrip("/") or "/"
        if container_path == target or container_path.startswith(target + "/"):
            if best is None or len(target) > len(best[0]):
                best = (target, vol["source"])
    if best is None:
        return None
    rest = container_path[len(best[0]):].lstrip("/")
    return os.path.join(best[1], rest) if rest else best[1]


def command_flag(svc, names):
    """Value of a `--flag=value` / `-flag value` argument in command or entrypoint."""
    argv = list(svc.get("entrypoint") or []) + list(svc.get("command") or [])
    for index, arg in enumerate(argv):
        arg = str(arg)
        for name in names:
            for prefix in ("--" + name, "-" + name):
                if arg == prefix and index + 1 < len(argv):
                    return str(argv[index + 1])
                if arg.startswith(prefix + "="):
                    return arg[len(prefix) + 1:]
    return None


# --------------------------------------------------------------------------- what a container sees


# --------------------------------------------------------------------------- files baked into a built image

_DOCKERFILE_FLAG = re.compile(r"^--([a-z-]+)(?:=(.*))?$")


def _local_build(svc):
    """A service's build section as a mapping with a local context, or None (no build, a remote context)."""
    build = svc.get("build")
    if isinstance(build, str):
        build = {"context": build}
    if not isinstance(build, dict) or not build.get("context") or "://" in str(build["context"]) \
            or str(build["context"]).startswith("git@"):
        return None
    return build


def dockerfile(svc):
    """(path, text) of the Dockerfile a service is built from, or (path or None, None) when it cannot be read
    (no local build context, a remote context, an inline dockerfile, a missing file)."""
    build = _local_build(svc)
    if build is None:
        return None, None
    path = os.path.join(str(build["context"]), str(build.get("dockerfile") or "Dockerfile"))
    try:
        return path, read_text(path)
    except (IOError, OSError, InputError):
        return path, None


def dockerfile_instructions(text):
    """(line, instruction upper-cased, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    out, pending, start = [], "", None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        start = start or number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        words = (pending + stripped).split(None, 1)
        out.append((start, words[0].upper(), words[1] if len(words) > 1 else ""))
        pending, start = "", None
    return out


def _copy_arguments(args):
    """(flags, sources, destination) of a COPY/ADD line, shell or JSON form; None when it cannot be read."""
    args = args.strip()
    if args.startswith("["):
        try:
            words = [str(w) for w in json.loads(args)]
        except ValueError:
            return None
    else:
        try:
            words = shlex.split(args)
        except ValueError:
            return None
    flags = {}
    while words and _DOCKERFILE_FLAG.match(words[0]):
        match = _DOCKERFILE_FLAG.match(words.pop(0))
        flags[match.group(1)] = match.group(2)
    return (flags, words[:-1], words[-1]) if len(words) >= 2 else None


def baked_files(svc):
    """What the final stage of a service's Dockerfile copies from its build context into the image, as mounts
    (target, host, label `Dockerfile:line`): the files a component reads when nothing is mounted over them.
    Left out: COPY --from (another stage or image), URLs, wildcards, heredocs, sources outside the context."""
    path, text = dockerfile(svc)
    if text is None:
        return []
    context = os.path.normpath(str(_local_build(svc)["context"]))
    mounts, workdir = [], "/"
    for line, instruction, args in dockerfile_instructions(text):
        if instruction == "FROM":
            mounts, workdir = [], "/"
        elif instruction == "WORKDIR":
            workdir = os.path.normpath(os.path.join(workdir, args.strip().strip('"')))
        elif instruction in ("COPY", "ADD"):
            parsed = _copy_arguments(args)
            if parsed is None or "from" in parsed[0] or "<<" in args:
                continue
            _flags, sources, dest = parsed
            dest = dest if dest.startswith("/") else os.path.join(workdir, dest)
            into_dir = dest.endswith("/") or len(sources) > 1
            for source in sources:
                host = os.path.normpath(os.path.join(context, source))
                if "://" in source or re.search(r"[*?\[]", source) or not _under(host, context):
                    continue
                if os.path.isdir(host):
                    target = dest
                else:
                    target = os.path.join(dest, os.path.basename(host)) if into_dir else dest
                mounts.append({"target": os.path.normpath(target), "host": host, "content": None,
                               "label": "%s:%d" % (path, line), "config": None, "baked": True})
    return mounts


def _mounts(project, svc):
    """Bind mounts and compose configs of a service, shallowest target first.

    Each is a dict: target (container path), host (host path or None), content (inline text or None), label
    (the host path, or `<compose file>#configs.<name>` for an inline config), config (the config's name or None).
    """
    mounts = []
    for vol in svc.get("volumes") or []:
        if vol.get("type") == "bind" and vol.get("target") and vol.get("source"):
            mounts.append({"target": vol["target"].rstrip("/") or "/", "host": vol["source"], "content": None,
                           "label": vol["source"], "config": None})
    declared = (project.model.get("configs") or {}) if project is not None else {}
    for item in svc.get("configs") or []:
        name = item.get("source")
        config = declared.get(name) or {}
        target = item.get("target") or "/%s" % name
        if config.get("file"):
            mounts.append({"target": target, "host": config["file"], "content": None, "label": config["file"],
                           "config": name})
        elif config.get("content") is not None:
            label = "%s#configs.%s" % (project.config_origin(name), name)
            mounts.append({"target": target, "host": None, "content": str(config["content"]), "label": label,
                           "config": name})
    return sorted(mounts, key=lambda m: len(m["target"]))


def _under(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _file_entry(container_path, mount, host=None):
    return {"container_path": container_path, "path": host or mount["label"], "host_path": host or mount["host"],
            "content": mount["content"], "config": mount["config"]}


def mounted_file(project, svc, container_path):
    """The file a container sees at container_path, through bind mounts and compose configs (deepest wins).

    Returns None when nothing mounts it, else a dict: container_path, path (host path or, for an inline config,
    `<compose file>#configs.<name>` for messages), host_path (None for inline content), content, config.
    """
    best = None
    for mount in _mounts(project, svc):
        if _under(container_path, mount["target"]):
            best = mount  # sorted shallow -> deep
    if best is None:
        # Nothing mounted there: what the image's own Dockerfile put there (the later COPY wins).
        for mount in baked_files(svc):
            if _under(container_path, mount["target"]) and (best is None or len(mount["target"]) >= len(best["target"])):
                best = mount
        if best is None:
            return None
        entry = _file_entry(container_path, best, _below(best, container_path))
        entry["baked"] = best["label"]
        return entry
    if best["content"] is not None:
        return _file_entry(container_path, best) if container_path == best["target"] else None
    return _file_entry(container_path, best, _below(best, container_path))


def _below(mount, container_path):
    rest = container_path[len(mount["target"]):].lstrip("/")
    return os.path.join(mount["host"], rest) if rest else mount["host"]


def mounted_files(project, svc, container_dir, suffixes):
    """Every file (ending in one of suffixes) a container sees under container_dir.

    Combines the mount that holds the directory, deeper mounts inside it (a single file mounted as
    .../dashboards/main.yaml) and compose configs; a deeper mount hides what a shallower one has there. Returns
    (files, missing, mounted): files as mounted_file() gives them, sorted by container path; missing, the mounts
    whose host path does not exist ({"container_path", "path"}); mounted, whether any mount covers the directory.
    """
    container_dir = container_dir.rstrip("/") or "/"
    seen, missing, mounted = {}, [], False
    for mount in _mounts(project, svc):
        target = mount["target"]
        if not (_under(container_dir, target) or _under(target, container_dir)):
            continue
        mounted = True
        for path in list(seen):
            if _under(path, target):
                del seen[path]  # the deeper mount hides it
        if mount["content"] is not None:
            if _under(target, container_dir) and target.endswith(suffixes):
                seen[target] = _file_entry(target, mount)
            continue
        host = mount["host"]
        if not os.path.exists(host):
            missing.append({"container_path": target, "path": host})
        elif os.path.isfile(host):
            if _under(target, container_dir) and target.endswith(suffixes):
                seen[target] = _file_entry(target, mount, host)
        else:
            start = host
            if _under(container_dir, target) and container_dir != target:
                start = os.path.join(host, container_dir[len(target):].lstrip("/"))
            for root, dirs, files in os.walk(start):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(suffixes):
                        full = os.path.join(root, name)
                        cpath = target.rstrip("/") + "/" + os.path.relpath(full, host).replace(os.sep, "/")
                        seen[cpath] = _file_entry(cpath, mount, full)
    return [seen[k] for k in sorted(seen)], missing, mounted
