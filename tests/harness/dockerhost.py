#!/usr/bin/env python3
"""Prepare a local Docker host for the lgtm.stack test suite.

Everything here is idempotent and cheap when already done:

* ``engine``  -- make ``docker info`` work: install Debian's ``docker.io`` when
  ``dockerd`` is missing, start ``dockerd`` in the background (there is no
  systemd on the test machines) and wait for it.
* ``compose`` -- make ``docker compose`` >= 2.20 available (``include:`` needs
  it). Bookworm has no Compose v2, so the ``docker-compose`` package is taken
  from trixie (or sid) with a private apt configuration: the system's apt
  sources are never touched.
* ``images``  -- build the local base image (debootstrap + docker import) and,
  from it, the images listed in ``tests/harness/images.json``: the real
  software Debian packages (MariaDB, Redis, Prometheus, the exporters) and the
  orchestration-only stand-ins for what cannot be obtained here.

Only the Python standard library is used: this runs before the venv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent
ROOT = HARNESS_DIR.parents[1]
IMAGES_FILE = HARNESS_DIR / "images.json"
CONTEXTS_DIR = HARNESS_DIR / "images"
HASH_LABEL = "org.lgtm-test.context-hash"
KIND_LABEL = "org.lgtm-test.kind"
MIN_COMPOSE = (2, 20, 0)
COMPOSE_PLUGIN_DIR = Path("/usr/libexec/docker/cli-plugins")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DOCKERD_LOG = Path(os.environ.get("LGTM_DOCKERD_LOG", "/var/log/lgtm-dockerd.log"))
DOCKERD_PIDFILE = Path(os.environ.get("LGTM_DOCKERD_PIDFILE", "/run/lgtm-dockerd.pid"))
IMAGE_MODES = ("local", "upstream")


class HarnessError(RuntimeError):
    """A step of the harness failed; the message says which and why."""


def log(msg: str) -> None:
    print(f"[dockerhost] {msg}", file=sys.stderr, flush=True)


def run(cmd, *, check=True, capture=True, env=None, input_bytes=None, cwd=None, timeout=None):
    """Run a command; raise HarnessError with its output when check fails."""
    proc = subprocess.run(
        cmd,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
        input=input_bytes,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        out = (proc.stderr or b"").decode(errors="replace").strip()[-2000:] if capture else ""
        raise HarnessError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{out}")
    return proc


# --------------------------------------------------------------------------- versions

_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str):
    """Return (major, minor, patch) from outputs like 'Docker Compose version v2.26.1',
    '2.26.1+ds1-4', 'v2.29.7-desktop.1'; None when no version is found."""
    if not text:
        return None
    match = _VERSION_RE.search(text)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def version_at_least(found, minimum) -> bool:
    return found is not None and tuple(found) >= tuple(minimum)


def compose_version():
    """Version of the `docker compose` CLI plugin, or None when it is missing."""
    if shutil.which("docker") is None:
        return None
    proc = run(["docker", "compose", "version", "--short"], check=False)
    if proc.returncode != 0:
        return None
    return parse_version(proc.stdout.decode())


# --------------------------------------------------------------------------- engine


def docker_ready() -> bool:
    if shutil.which("docker") is None:
        return False
    return run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30).returncode == 0


def apt_install(packages) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    lists = Path("/var/lib/apt/lists")
    if not any(lists.glob("*_Packages")) or run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], check=False, env=env
    ).returncode != 0:
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], env=env)


def ensure_engine(wait_seconds: int = 90) -> str:
    """Make the Docker engine answer. Returns 'running', 'started'."""
    if docker_ready():
        return "running"
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        log("installing Debian docker.io (dockerd not found)")
        apt_install(["docker.io", "iptables", "ca-certificates"])
    log(f"starting dockerd in the background (log: {DOCKERD_LOG})")
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(DOCKERD_LOG, "ab") as logfile:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv
            ["dockerd"], stdout=logfile, stderr=logfile, stdin=subprocess.DEVNULL, start_new_session=True
        )
    DOCKERD_PIDFILE.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = DOCKERD_LOG.read_text(errors="replace")[-2000:]
            raise HarnessError(f"dockerd exited with {proc.returncode}; last log lines:\n{tail}")
        if docker_ready():
            return "started"
        time.sleep(0.5)
    raise HarnessError(f"dockerd did not answer within {wait_seconds}s; see {DOCKERD_LOG}")


def stop_engine() -> str:
    """Stop the dockerd this harness started (by its recorded PID), nothing else."""
    if not DOCKERD_PIDFILE.exists():
        return "not-started-by-harness"
    pid = int(DOCKERD_PIDFILE.read_text().strip() or 0)
    DOCKERD_PIDFILE.unlink()
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return "already-stopped"
    for _ in range(60):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return "stopped"
        time.sleep(0.5)
    return "stop-timeout"


# --------------------------------------------------------------------------- compose


def private_apt_options(root: Path, suite: str, mirror: str):
    """apt-get options that read only a private sources list under `root`."""
    (root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    (root / "parts").mkdir(exist_ok=True)
    (root / "sources.list").write_text(f"deb [signed-by={DEBIAN_KEYRING}] {mirror} {suite} main\n")
    return [
        "-o", f"Dir::Etc::SourceList={root / 'sources.list'}",
        "-o", f"Dir::Etc::SourceParts={root / 'parts'}",
        "-o", f"Dir::State::Lists={root / 'lists'}",
        "-o", f"Dir::Cache={root / 'cache'}",
        "-o", "APT::Get::List-Cleanup=0",
        "-o", "Debug::NoLocking=1",
    ]


def fetch_compose_plugin(suite: str, work: Path, mirror: str = DEFAULT_MIRROR) -> Path:
    """Download trixie/sid's docker-compose .deb with a private apt config into `work`, extract the plugin."""
    opts = private_apt_options(work, suite, mirror)
    run(["apt-get", *opts, "update", "-q"])
    run(["apt-get", *opts, "download", "docker-compose"], cwd=work)
    debs = sorted(work.glob("docker-compose_*.deb"))
    if not debs:
        raise HarnessError(f"apt-get download docker-compose from {suite} produced no .deb in {work}")
    extract = work / "x"
    run(["dpkg-deb", "-x", str(debs[-1]), str(extract)])
    candidates = [extract / "usr/libexec/docker/cli-plugins/docker-compose", extract / "usr/bin/docker-compose"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise HarnessError(f"{debs[-1].name} has no docker-compose binary in {candidates}")


def ensure_compose(minimum=MIN_COMPOSE) -> str:
    found = compose_version()
    if version_at_least(found, minimum):
        return "present " + ".".join(map(str, found))
    mirror = os.environ.get("LGTM_DEBIAN_MIRROR", DEFAULT_MIRROR)
    errors = []
    for suite in ("trixie", "sid"):
        work = Path(tempfile.mkdtemp(prefix=f"lgtm-compose-{suite}-"))
        try:
            plugin = fetch_compose_plugin(suite, work, mirror)
            got = parse_version(run([str(plugin), "version", "--short"], check=False).stdout.decode())
            if not version_at_least(got, minimum):
                errors.append(f"{suite}: version {got} is older than {minimum}")
                continue
            COMPOSE_PLUGIN_DIR.mkdir(parents=True, exist_ok=True)
            target = COMPOSE_PLUGIN_DIR / "docker-compose"
            shutil.copy2(plugin, target)
            target.chmod(0o755)
            return f"installed {'.'.join(map(str, got))} from {suite}"
        except HarnessError as exc:
            errors.append(f"{suite}: {exc}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    raise HarnessError("could not install Compose v2 >= %s:\n%s" % (".".join(map(str, minimum)), "\n".join(errors)))


# --------------------------------------------------------------------------- images


# The images of the stack the collection deploys.
STACK_KEYS = ("alloy", "tempo", "loki", "mimir", "grafana", "mysqld_exporter", "redis_exporter")


def load_catalog(path: Path = IMAGES_FILE) -> dict:
    with open(path, encoding="utf-8") as handle:
        catalog = json.load(handle)
    for name, spec in catalog["images"].items():
        for key in ("kind", "local"):
            if key not in spec:
                raise HarnessError(f"{path}: image '{name}' lacks '{key}'")
        if spec["kind"] not in ("real", "standin"):
            raise HarnessError(f"{path}: image '{name}' has unknown kind '{spec['kind']}'")
        if ("context" in spec) == ("from" in spec):
            raise HarnessError(f"{path}: image '{name}' needs exactly one of 'context' or 'from'")
        for arg, image in spec.get("image_args", {}).items():
            if image not in catalog["images"]:
                raise HarnessError(f"{path}: image '{name}' build argument {arg} names unknown image '{image}'")
        for target, source in spec.get("stage", {}).items():
            if "/" in target or not (ROOT / source).is_dir():
                raise HarnessError(f"{path}: image '{name}' stages '{source}' (not a directory) as '{target}'")
        for ref in (spec["local"], spec.get("upstream", spec["local"])):
            if ":" not in ref.rsplit("/", 1)[-1] or ref.endswith(":latest"):
                raise HarnessError(f"{path}: image '{name}' reference '{ref}' must carry a pinned tag")
    return catalog


def resolve_images(catalog: dict, mode: str) -> dict:
    """Map image name -> reference for a mode ('local' or 'upstream')."""
    if mode not in IMAGE_MODES:
        raise HarnessError(f"LGTM_TEST_IMAGES must be one of {IMAGE_MODES}, not '{mode}'")
    key = "upstream" if mode == "upstream" else "local"
    return {
        name: spec.get(key, spec["local"])
        for name, spec in catalog["images"].items()
        if name != "standin_base"
    }


def stack_vars(keys, mode: str | None = None, catalog: dict | None = None) -> dict:
    """What a run of the collection gets from the test harness: `lgtm_images` for the catalog entries `keys`, and,
    when any of them is a stand-in in this mode, the catalog's `standin_variables` (what a stand-in cannot do; the
    collection itself knows nothing of stand-ins)."""
    catalog = catalog or load_catalog()
    mode = mode or os.environ.get("LGTM_TEST_IMAGES", "local")
    images = resolve_images(catalog, mode)
    unknown = sorted(set(keys) - set(images))
    if unknown:
        raise HarnessError(f"images.json has no image {', '.join(unknown)}")
    result = {"lgtm_images": dict((key, images[key]) for key in keys)}
    if mode != "upstream" and any(catalog["images"][key]["kind"] == "standin" for key in keys):
        result.update((k, v) for k, v in catalog.get("standin_variables", {}).items() if not k.startswith("_"))
    return result


def context_hash(context: Path | None, *extra: str) -> str:
    """Content hash of a build context (paths, modes and bytes) plus extra inputs."""
    digest = hashlib.sha256()
    for item in extra:
        digest.update(item.encode())
        digest.update(b"\0")
    if context is not None:
        for path in sorted(p for p in context.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(context)).encode())
            digest.update(oct(path.stat().st_mode & 0o777).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def image_label(ref: str, label: str):
    proc = run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", ref], check=False)
    if proc.returncode != 0:
        return None
    labels = json.loads(proc.stdout.decode() or "null") or {}
    return labels.get(label, "")


def image_id(ref: str):
    proc = run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def ensure_base_image(ref: str, mirror: str) -> str:
    if image_id(ref):
        return "present"
    if shutil.which("debootstrap") is None:
        log("installing debootstrap")
        apt_install(["debootstrap"])
    root = Path(tempfile.mkdtemp(prefix="lgtm-base-"))
    try:
        log(f"debootstrap --variant=minbase bookworm ({mirror})")
        run(["debootstrap", "--variant=minbase", "bookworm", str(root), mirror])
        (root / "etc/apt/sources.list").write_text(
            f"deb {mirror} bookworm main\n"
            f"deb {mirror} bookworm-updates main\n"
            f"deb {mirror}-security bookworm-security main\n"
        )
        (root / "etc/apt/apt.conf.d/90lgtm-test").write_text(
            'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
        )
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\n# no services start during image builds\nexit 101\n")
        policy.chmod(0o755)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "--change", 'CMD ["/bin/bash"]', "-", ref], stdin=tar.stdout, capture_output=True
        )
        tar.stdout.close()
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise HarnessError(f"docker import of {ref} failed: {imported.stderr.decode(errors='replace')}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return "built"


def standin_dockerfile(base_ref: str, name: str, spec: dict) -> str:
    ports = " ".join(str(p) for p in spec.get("ports", []))
    return (
        f"FROM {base_ref}\n"
        f'ENV STANDIN_COMPONENT="{name}" STANDIN_READY_PATH="{spec.get("ready_path", "/ready")}" '
        f'STANDIN_PORTS="{ports}"\n'
        f"EXPOSE {ports}\n"
    )


def docker_build(ref: str, hash_value: str, kind: str, *, context: Path | None, base_ref: str, dockerfile=None,
                 build_args=None):
    cmd = [
        "docker", "build", "--network", "host", "--pull=false", "-q",
        "--label", f"{HASH_LABEL}={hash_value}", "--label", f"{KIND_LABEL}={kind}",
        "--build-arg", f"BASE_IMAGE={base_ref}", "-t", ref,
    ]
    for arg, value in (build_args or {}).items():
        cmd += ["--build-arg", f"{arg}={value}"]
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    if dockerfile is not None:
        run([*cmd, "-"], env=env, input_bytes=dockerfile.encode())
    else:
        run([*cmd, str(context)], env=env)


def build_order(catalog: dict):
    """Names in an order where every 'from' dependency comes first."""
    images = catalog["images"]
    ordered, seen = [], set()

    def visit(name, chain=()):
        if name in seen:
            return
        if name in chain:
            raise HarnessError(f"images.json: cycle through {' -> '.join(chain + (name,))}")
        if name not in images:
            raise HarnessError(f"images.json: '{chain[-1]}' builds from unknown image '{name}'")
        for parent in [images[name].get("from"), *images[name].get("image_args", {}).values()]:
            if parent:
                visit(parent, chain + (name,))
        seen.add(name)
        ordered.append(name)

    for image_name in images:
        visit(image_name)
    return ordered


def ensure_images(selection=None) -> dict:
    catalog = load_catalog()
    mirror = os.environ.get("LGTM_DEBIAN_MIRROR", DEFAULT_MIRROR)
    base_ref = catalog["base"]["local"]
    results = {"base": ensure_base_image(base_ref, mirror)}
    base_id = image_id(base_ref)
    wanted = set(selection or catalog["images"])
    for name in build_order(catalog):
        spec = catalog["images"][name]
        if name not in wanted and not any(name in _needs(catalog, w) for w in wanted):
            continue
        ref = spec["local"]
        if "from" in spec:
            parent_ref = catalog["images"][spec["from"]]["local"]
            dockerfile = standin_dockerfile(parent_ref, name, spec)
            want = context_hash(None, image_id(parent_ref) or "", dockerfile)
            context = None
        else:
            parent_ref, dockerfile = base_ref, None
            context = CONTEXTS_DIR / spec["context"]
            if name == "docker_host":
                stage_compose_plugin(context)
            for target, source in spec.get("stage", {}).items():
                stage_tree(ROOT / source, context / target)
            build_args = {arg: catalog["images"][image]["local"] for arg, image in spec.get("image_args", {}).items()}
            want = context_hash(context, base_id or "", *(image_id(ref) or "" for ref in build_args.values()))
        if image_label(ref, HASH_LABEL) == want:
            results[name] = "present"
            continue
        log(f"building {ref}")
        started = time.monotonic()
        docker_build(ref, want, spec["kind"], context=context, base_ref=parent_ref, dockerfile=dockerfile,
                     build_args=build_args if context is not None else None)
        results[name] = f"built in {time.monotonic() - started:.0f}s"
    return results


def _needs(catalog: dict, name: str) -> set:
    """The images an image is built from (its 'from' and its image_args), transitively."""
    spec = catalog["images"][name]
    direct = {spec["from"]} if "from" in spec else set()
    direct |= set(spec.get("image_args", {}).values())
    return direct.union(*(_needs(catalog, parent) for parent in direct))


def stage_tree(source: Path, target: Path) -> None:
    """A directory of the checkout copied into a build context (replaced when it differs; hashed with it)."""
    if target.exists():
        same = sorted(p.relative_to(target) for p in target.rglob("*")) == sorted(
            p.relative_to(source) for p in source.rglob("*")) and all(
            (target / p.relative_to(source)).read_bytes() == p.read_bytes() for p in source.rglob("*") if p.is_file())
        if same:
            return
        shutil.rmtree(target)
    shutil.copytree(source, target)


def stage_compose_plugin(context: Path) -> None:
    """The docker-host image carries the same Compose plugin as the host."""
    source = COMPOSE_PLUGIN_DIR / "docker-compose"
    target = context / "docker-compose"
    if not source.is_file():
        raise HarnessError(f"{source} is missing: run the 'compose' step first")
    if not target.exists() or target.read_bytes() != source.read_bytes():
        shutil.copy2(source, target)


# --------------------------------------------------------------------------- legacy example on this machine

# Service of examples/legacy-project -> catalog image that runs it here. MariaDB, Redis, Prometheus and both
# exporters are the real software, and so is the API: the example's legacy Go code needs the Go module proxy, so
# the API runs the code of the migration guide (docs/examples/go, the "after" version, built against Debian's
# OpenTelemetry Go SDK) in both pictures, exporting OTLP wherever the compose file's environment points it.
# Grafana, Jaeger, Loki and Promtail are orchestration-only stand-ins (their images cannot be pulled).
LEGACY_EXAMPLE_IMAGES = {
    "api": "shop_api", "mysql": "mariadb", "redis": "redis", "jaeger": "jaeger", "prometheus": "prometheus",
    "loki": "loki", "promtail": "promtail", "grafana": "grafana", "mysqld-exporter": "mysqld_exporter",
    "redis-exporter": "redis_exporter",
}


def legacy_override(images: dict) -> str:
    """A docker-compose.override.yml that runs examples/legacy-project from the given images."""
    lines = [
        "# Written by tests/harness/dockerhost.py legacy-override: runs the example on a machine that cannot",
        "# pull its images. lgtm-test/standin/* images are ORCHESTRATION-ONLY stand-ins; mariadb, redis,",
        "# prometheus, the exporters and the API (docs/examples/go, built here) are the real software.",
        "services:",
    ]
    for service, image in LEGACY_EXAMPLE_IMAGES.items():
        lines += [f"  {service}:", f"    image: {images[image]}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- cli


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "step", choices=["all", "engine", "compose", "images", "stop-engine", "print-images", "stack-vars",
                         "legacy-override"],
        help="what to ensure (print-images, stack-vars, legacy-override: print only)"
    )
    parser.add_argument("--only", nargs="*", help="with 'images': build only these catalog entries")
    parser.add_argument("--mode", default=os.environ.get("LGTM_TEST_IMAGES", "local"), help="with print-images")
    parser.add_argument("--keys", nargs="*", default=list(STACK_KEYS), help="with stack-vars: the catalog entries")
    args = parser.parse_args(argv)
    try:
        if args.step == "print-images":
            print(json.dumps(resolve_images(load_catalog(), args.mode), indent=2, sort_keys=True))
            return 0
        if args.step == "stack-vars":
            print(json.dumps(stack_vars(args.keys, args.mode), indent=2, sort_keys=True))
            return 0
        if args.step == "legacy-override":
            print(legacy_override(resolve_images(load_catalog(), args.mode)), end="")
            return 0
        if args.step == "stop-engine":
            log(f"dockerd: {stop_engine()}")
            return 0
        if args.step in ("all", "engine"):
            log(f"engine: {ensure_engine()}")
        if args.step in ("all", "compose"):
            log(f"compose: {ensure_compose()}")
        if args.step in ("all", "images"):
            states = ensure_images(args.only)
            built = {name: state for name, state in states.items() if state != "present"}
            for name, state in built.items():
                log(f"image {name}: {state}")
            log(f"images: {len(states) - len(built)} present, {len(built)} built")
    except HarnessError as exc:
        log(f"ERROR: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
