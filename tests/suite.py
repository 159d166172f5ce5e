"""The test suite's runner: every step, one command each, and one summary at the end.

`scripts/test.sh` sets the machine up (venv, Docker engine, Compose, test images, Go, Node.js) and hands over to
`python -m tests.suite`. The assertions live in the steps (pytest, linters, ansible-test); this file only runs
them, keeps each step's output in `.work/test/logs/<step>.log` and says which failed and why.

Three lanes run side by side when LGTM_TEST_JOBS is above 1 (the default on a machine with two cores or more; a
migration is one busy core, so the second core would idle otherwise):
- `host`: the steps that need no Docker engine (unit tests, linters, docs, build, sanity);
- `engine`: the steps on the engine's default ports and the ones that prove a run changed nothing at all on the
  engine, one after another;
- `engine-b`: the engine steps that use ports and compose projects of their own only, all named `lgtm-par-*` -
  the engine snapshots of the `engine` lane leave those out (tests/harness/snapshot.py), and nothing in this lane
  takes such a snapshot.
The `engine` lane's output streams as it comes; the others' is printed in one block when a step ends.

    python -m tests.suite                        # every step (LGTM_TEST_STEPS picks some, in the order given)
    LGTM_TEST_JOBS=1 python -m tests.suite       # one step at a time
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".work" / "test"
LOGS = WORK / "logs"
DEMO = ROOT / ".work" / "demo" / "legacy-project"
PY = sys.executable


def collection_version():
    """The collection's version, from galaxy.yml (the one place it is written)."""
    return re.search(r"^version:\s*(\S+)", (ROOT / "galaxy.yml").read_text(), re.M).group(1)


def tarball():
    return WORK / "dist" / ("lgtm-stack-%s.tar.gz" % collection_version())


def pytest(*paths, env=None):
    # COLUMNS: pytest cuts its short summary lines (the failed test and its assertion) at the terminal's width.
    # --durations: the slowest tests of each step in the log, where CI time goes.
    return Command([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=8"] + list(paths),
                   env=dict(env or {}, COLUMNS="200"))


class Command:
    """A step that is one process."""

    def __init__(self, argv, env=None):
        self.argv, self.env = list(argv), env or {}

    def __call__(self, step):
        return step.sh(self.argv, env=self.env)


def build(step):
    """ansible-galaxy collection build; the tarball holds nothing of the repository's test and dev trees."""
    dist = WORK / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    rc = step.sh(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(dist), "."])
    if rc != 0:
        return rc
    if not tarball().is_file():
        return step.why("ansible-galaxy collection build made no %s" % tarball().name)
    with tarfile.open(str(tarball())) as tar:
        shipped = [n for n in tar.getnames() if re.match(r"(tests|molecule|bench|\.ci|collections|scripts)/", n)]
    return step.why("the tarball ships %s" % shipped[:5]) if shipped else 0


def collection_listed(step):
    out = step.capture(["ansible-galaxy", "collection", "list", "lgtm.stack"])
    if not re.search(r"^lgtm\.stack +%s\b" % re.escape(collection_version()), out, re.M):
        return step.why("ansible-galaxy collection list does not show lgtm.stack %s" % collection_version())
    return 0


def docs_render(step):
    """Every role's argument specs and every module's, filter's and test plugin's documentation renders, each
    name found (ansible-doc only warns about a name it cannot find, and exits 0)."""
    rc = 0
    for kind, pattern in (("role", "roles/*/meta/argument_specs.yml"), ("module", "plugins/modules/*.py"),
                          ("filter", "plugins/filter/*.yml"), ("test", "plugins/test/*.yml")):
        names = sorted("lgtm.stack." + (p.parts[-3] if kind == "role" else p.stem) for p in ROOT.glob(pattern))
        if not names:
            continue
        # One process per kind: ansible-doc -t role "lgtm.stack.$role" ..., ansible-doc -t module ... as text,
        # then as JSON to see that each name has its documentation.
        if step.sh(["ansible-doc", "-t", kind] + names, quiet=True) != 0:
            rc = step.why("ansible-doc -t %s failed for one of %s" % (kind, " ".join(names)))
        out = step.capture(["ansible-doc", "-t", kind, "--json"] + names, log=False)
        try:
            docs = json.loads(out)
        except ValueError:
            docs = {}
        key = "entry_points" if kind == "role" else "doc"
        for name in names:
            if not (docs.get(name) or {}).get(key):
                rc = step.why("ansible-doc -t %s %s: no documentation rendered" % (kind, name))
    return rc


def sanity(step):
    """ansible-test sanity on what users install: the built collection, unpacked as ansible_collections/lgtm/stack.

    ansible-test bootstraps pip in its venvs with a script from ci-files.testing.ansible.com, which this network
    cannot reach; a private HOME holds a stand-in for that script (the venv's own ensurepip) plus the user's pip
    configuration, so nothing is written to the real ~/.ansible and no outside host is contacted for it."""
    import inspect
    import ansible_test._internal.python_requirements as requirements

    root, home = WORK / "sanity", WORK / "sanity-home"
    shutil.rmtree(root, ignore_errors=True)
    target = root / "ansible_collections" / "lgtm" / "stack"
    target.mkdir(parents=True)
    for sub in (".ansible/test/cache", ".config/pip"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    if not tarball().is_file():
        return step.why("no built collection (%s): the build step runs first" % tarball())
    if step.sh(["tar", "-xzf", str(tarball()), "-C", str(target)]) != 0:
        return step.why("could not unpack %s" % tarball())
    # The pip version ansible-test bootstraps (get_pip_<version>.py), read from ansible-test itself.
    version = re.search(r"pip=.([0-9.]+).", inspect.getsource(requirements.get_venv_packages)).group(1)
    (home / ".ansible/test/cache" / ("get_pip_%s.py" % version.replace(".", "_"))).write_text(
        "# Stand-in for get-pip.py (unreachable here): pip from the interpreter's ensurepip.\n"
        "import ensurepip\nensurepip.bootstrap(upgrade=True)\n")
    pip_conf = Path.home() / ".config/pip/pip.conf"
    if pip_conf.is_file():
        shutil.copy(str(pip_conf), str(home / ".config/pip/pip.conf"))
    git = ["git", "-C", str(target), "-c", "user.name=sanity", "-c", "user.email=sanity@localhost"]
    for argv in (git + ["init", "-q"], git + ["add", "-A"], git + ["commit", "-qm", "sanity"]):
        if step.sh(argv) != 0:
            return step.why("could not make %s a git checkout for ansible-test" % target)
    return step.sh(["ansible-test", "sanity", "--python", "%d.%d" % sys.version_info[:2]], cwd=target,
                   env={"HOME": str(home)})


# An empty variable counts as unset, as in scripts/test.sh: an empty list would run nothing and pass.
SCENARIOS = (os.environ.get("LGTM_MOLECULE_SCENARIOS") or "").split() or ["default", "check-first", "fresh"]


# Scenarios of the second engine lane: their compose projects, networks and volumes are all named lgtm-par-*, their
# host ports are their own, and they take no engine snapshot.
LANE_B_SCENARIOS = ("fresh",)


class Molecule:
    """`molecule test` of the asked scenarios (LGTM_MOLECULE_SCENARIOS) that belong to one lane."""

    def __init__(self, lane_b):
        self.lane_b = lane_b

    def scenarios(self):
        return [s for s in SCENARIOS if (s in LANE_B_SCENARIOS) is self.lane_b]

    def __call__(self, step):
        rc = 0
        if not self.scenarios():
            step.write("no scenario of this lane in LGTM_MOLECULE_SCENARIOS (%s): nothing ran\n" % " ".join(SCENARIOS))
        for scenario in self.scenarios():
            if step.sh(["molecule", "test", "-s", scenario]) != 0:
                rc = step.why("molecule test -s %s failed" % scenario)
        return rc


INTEGRATION = "tests/integration/"
# (name, lane, title, what runs)
STEPS = (
    ("unit", "host", "pytest tests/unit", pytest("tests/unit")),
    ("yamllint", "host", "yamllint", Command(["yamllint", "-s", "."])),
    ("ansible-lint", "host", "ansible-lint (production profile)", Command(["ansible-lint"])),
    ("docs", "host", "ansible-doc renders every role, module, filter and test", docs_render),
    ("build", "host", "ansible-galaxy collection build", build),
    ("collection-list", "host", "ansible-galaxy collection list shows lgtm.stack", collection_listed),
    ("sanity", "host", "ansible-test sanity (the built collection)", sanity),
    ("go", "engine-b", "Go instrumentation: builds against Debian's OpenTelemetry SDK, runs against an OTLP receiver "
     "(tests/go)", pytest("tests/go", env={"LGTM_REQUIRE_GO": "1"})),
    ("migrate-example", "engine", "migrate.yml --check --diff on examples/legacy-project (tests/integration)",
     pytest(INTEGRATION + "test_example.py")),
    ("demo", "engine", "README's demo: ./scripts/demo.sh, --check --diff, down (stand-ins; tests/integration)",
     pytest(INTEGRATION + "test_demo.py")),
    ("bad-inputs", "engine", "bad input: migrate.yml fails before any change (tests/integration)",
     pytest(INTEGRATION + "test_bad_inputs.py")),
    ("lifecycle", "engine", "secrets, kills at four points, rollback (tests/integration)",
     pytest(INTEGRATION + "test_lifecycle.py")),
    ("projects", "engine-b", "a teammate's clone, two projects on one engine, the old network's upgrade "
     "(tests/integration)", pytest("tests/integration/test_clone.py", "tests/integration/test_two_projects.py",
                                   "tests/integration/test_network_upgrade.py")),
    ("backends", "engine", "a docker-group user, remote backends, Helm values (tests/integration)",
     pytest("tests/integration/test_non_root.py", "tests/integration/test_remote_backend.py",
            "tests/integration/test_helm_playbook.py")),
    ("fixtures", "engine-b", "every real-world fixture: --check --diff and migration; rule checks vs the real "
     "promtool (tests/integration)", pytest(INTEGRATION + "test_rules_promtool.py", INTEGRATION + "test_fixtures.py",
                                            env={"LGTM_REQUIRE_PROMTOOL": "1"})),
    ("object-store", "engine-b", "s3_bucket against a real S3-API server storing on disk (tests/integration)",
     pytest(INTEGRATION + "test_s3_bucket.py", env={"LGTM_REQUIRE_S3RVER": "1"})),
    ("e2e-refuses", "engine", "molecule/e2e refuses at once without the upstream images (tests/integration)",
     pytest(INTEGRATION + "test_e2e_refuses.py")),
    ("molecule", "engine", "molecule test (%s)" % " ".join(Molecule(False).scenarios()), Molecule(False)),
    ("molecule-b", "engine-b", "molecule test (%s; the second engine lane's)" % " ".join(Molecule(True).scenarios()),
     Molecule(True)),
)
NAMES = [s[0] for s in STEPS]
OUT = threading.Lock()
# Ctrl-C: no lane starts another step, the running commands are stopped, the summary and the demo's return
# still happen.
STOP = threading.Event()
CHILDREN, CHILDREN_LOCK = set(), threading.Lock()


def say(text):
    with OUT:
        sys.stdout.write("\033[1m==> %s\033[0m\n" % text)
        sys.stdout.flush()


class Step:
    """One step's run: its log file, whether its output streams, and why it failed."""

    def __init__(self, name, lane, title, run, live):
        self.name, self.lane, self.title, self.run, self.live = name, lane, title, run, live
        self.log_path = LOGS / ("%s.log" % name)
        self.reasons, self.rc, self.seconds = [], None, 0

    def why(self, text):
        self.reasons.append(text)
        self.write(text + "\n")
        return 1

    def write(self, text):
        with open(str(self.log_path), "a", encoding="utf-8", errors="replace") as log:
            log.write(text)
        if self.live:
            with OUT:
                sys.stdout.write(text)
                sys.stdout.flush()

    @staticmethod
    def _track(proc):
        """Registers a child for interrupt(); one started just after an interrupt is stopped at once."""
        with CHILDREN_LOCK:
            CHILDREN.add(proc)
            if STOP.is_set():
                _signal_group(proc, signal.SIGINT)

    def sh(self, argv, env=None, cwd=None, quiet=False):
        """Runs argv with its output in the step's log (and on stdout when the step streams); its exit status."""
        full_env = dict(os.environ, **(env or {}))
        with open(str(self.log_path), "a", encoding="utf-8", errors="replace") as log:
            log.write("$ %s\n" % " ".join(argv))
        if STOP.is_set():
            return 130
        if not self.live or quiet:
            with open(str(self.log_path), "a", encoding="utf-8", errors="replace") as log:
                proc = subprocess.Popen(argv, cwd=str(cwd or ROOT), env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
                self._track(proc)
                try:
                    return proc.wait()
                finally:
                    with CHILDREN_LOCK:
                        CHILDREN.discard(proc)
        proc = subprocess.Popen(argv, cwd=str(cwd or ROOT), env=full_env, stdout=subprocess.PIPE, start_new_session=True,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
        self._track(proc)
        try:
            for line in proc.stdout:
                self.write(line)
            return proc.wait()
        finally:
            with CHILDREN_LOCK:
                CHILDREN.discard(proc)

    def capture(self, argv, log=True):
        """Runs argv and returns its standard output; both streams go to the step's log unless log is false
        (then only the standard error)."""
        proc = subprocess.run(argv, cwd=str(ROOT), capture_output=True, text=True)
        self.write((proc.stdout if log else "") + proc.stderr)
        return proc.stdout

    def __call__(self):
        if STOP.is_set():
            return  # interrupted: the summary says "not run"
        started = time.monotonic()
        try:
            LOGS.mkdir(parents=True, exist_ok=True)
            self.log_path.write_text("", encoding="utf-8")
            say("test: %s" % self.title)
            self.rc = self.run(self)
            if STOP.is_set() and self.rc != 0:
                self.reasons.append("interrupted")
        except Exception as exc:  # a bug of the runner's own step code: the step fails, the suite goes on
            self.rc = self.why("the step raised %s: %s" % (type(exc).__name__, exc))
        self.seconds = int(time.monotonic() - started)
        if not self.live:
            with OUT:
                sys.stdout.write("\033[1m==> output of: %s\033[0m\n%s" % (
                    self.title, self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""))
                sys.stdout.flush()
        say("%s: %s (%ds)" % ("PASS" if self.rc == 0 else "FAIL", self.title, self.seconds))

    def failure(self):
        """What the summary says under a FAIL line: the step's own reasons, pytest's short summary, else the tail."""
        text = self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        lines = list(self.reasons)
        short = text.split("short test summary info")
        if len(short) > 1:
            lines += [line for line in short[-1].splitlines()[1:] if line.startswith(("FAILED", "ERROR"))][:10]
        if not lines:
            lines = text.splitlines()[-12:]
        return ["        " + line[:200] for line in lines] + ["        (whole output: %s)" % self.log_path]


def demo_running():
    if not DEMO.is_dir():
        return False
    try:
        proc = subprocess.run(["docker", "compose", "--project-directory", str(DEMO), "ps", "--quiet", "--status",
                               "running"], capture_output=True, text=True)
    except OSError:  # no docker CLI: no demo can be running
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


def selected():
    """The steps asked for (LGTM_TEST_STEPS; empty or unset: all), each once, in the order given; unknown names."""
    wanted = (os.environ.get("LGTM_TEST_STEPS") or "").split() or list(NAMES)
    wanted = [name for i, name in enumerate(wanted) if name not in wanted[:i]]
    unknown = [name for name in wanted if name not in NAMES]
    return [s for name in wanted for s in STEPS if s[0] == name], unknown


def jobs():
    """LGTM_TEST_JOBS: 1 runs every step in one lane; more runs the lanes side by side (default: 2 cores or more)."""
    value = os.environ.get("LGTM_TEST_JOBS") or ("2" if (os.cpu_count() or 1) >= 2 else "1")
    try:
        return max(1, int(value))
    except ValueError:
        print("LGTM_TEST_JOBS=%r is not a number: running one step at a time" % value, file=sys.stderr)
        return 1


def _signal_group(proc, sig):
    """Each command runs in a session of its own (its ansible-playbook and docker children with it)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def interrupt(sig=signal.SIGINT):
    """Ctrl-C: no lane starts another step, and each command running now, with its children, gets `sig` (SIGINT
    first: pytest still runs its fixtures' teardown, ansible-playbook its rescue)."""
    STOP.set()
    with CHILDREN_LOCK:
        for proc in list(CHILDREN):
            if proc.poll() is None:
                _signal_group(proc, sig)


def _wait_for(threads):
    """Joins the lanes; on Ctrl-C (or SIGTERM) stops them: SIGINT, then SIGTERM after 2 minutes, then SIGKILL."""
    try:
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(0.5)
    except KeyboardInterrupt:
        say("interrupted: stopping the running steps (and their children); the summary follows")
        for sig, grace in ((signal.SIGINT, 120), (signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            interrupt(sig)
            deadline = time.monotonic() + grace
            while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
                for thread in threads:
                    thread.join(0.5)
            if not any(thread.is_alive() for thread in threads):
                break


def _sigterm(signum, frame):
    raise KeyboardInterrupt()


def main():
    started = time.monotonic()
    steps, unknown = selected()
    parallel = jobs() > 1
    lanes = {}
    for name, lane, title, run in steps:
        lanes.setdefault(lane if parallel else "all", []).append((name, lane, title, run))
    streaming = "engine" if "engine" in lanes else sorted(lanes)[0] if lanes else None
    runs = dict((lane, [Step(*spec, live=(lane == streaming or len(lanes) == 1)) for spec in specs])
                for lane, specs in lanes.items())
    # README's first command may have left its demo running: its containers hold ports the suite's stacks need.
    # Stop them (containers and volumes stay) and bring the demo back up when the suite ends, from its migrated
    # copy (the demo step replaces that copy with its own).
    demo_was_running = any(spec[1] != "host" for spec in steps) and demo_running()
    if demo_was_running:
        say("a running demo (%s) is stopped while the suite runs and brought back at the end" % DEMO)
        if subprocess.call(["docker", "compose", "--project-directory", str(DEMO), "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
            print("setup failed: could not stop the running demo in %s" % DEMO, file=sys.stderr)
            return 1
    threads = [threading.Thread(target=lambda run=run: [step() for step in run], name=lane)
               for lane, run in runs.items()]
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)
    for thread in threads:
        thread.daemon = True
        thread.start()
    _wait_for(threads)
    report, passed, failed = [], 0, len(unknown)
    report += ["FAIL  0s  unknown step %s (steps: %s)" % (name, " ".join(NAMES)) for name in unknown]
    for name in [s[0] for s in steps]:
        step = next(s for run in runs.values() for s in run if s.name == name)
        if step.rc == 0:
            passed += 1
            report.append("PASS  %ds  %s" % (step.seconds, step.title))
        elif step.rc is None:
            failed += 1
            report.append("FAIL  0s  %s (not run%s)" % (step.title, ": interrupted" if STOP.is_set() else ""))
        else:
            failed += 1
            report.append("FAIL  %ds  %s (exit %s)" % (step.seconds, step.title, step.rc))
            report += step.failure()
    if demo_was_running:
        say("bringing the demo back up (docker compose --project-directory %s up --detach --wait)" % DEMO)
        with open(str(WORK / "demo-restore.log"), "w") as log:
            up = subprocess.call(["docker", "compose", "--project-directory", str(DEMO), "up", "--detach", "--wait"],
                                 stdout=log, stderr=subprocess.STDOUT)
        if up == 0:
            report.append("NOTE  the demo that was running is running again (%s)" % DEMO)
        else:
            failed += 1
            report.append("FAIL  the demo that was running could not be brought back (%s)" % (WORK / "demo-restore.log"))
    print("\nsuite: %ds (%d lane%s)" % (time.monotonic() - started, len(runs), "" if len(runs) == 1 else "s"))
    print("\n".join(report))
    print("summary: %d passed, %d failed" % (passed, failed))
    return 130 if STOP.is_set() else 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
