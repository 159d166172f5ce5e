#!/usr/bin/env python3
"""Benchmark migrate.yml against the floor of doing anything with Ansible at all.

On a copy of examples/legacy-project brought up on the local engine (this machine's images: real MariaDB,
Redis, Prometheus and exporters, orchestration-only stand-ins for the rest - the timings are about Ansible and
compose, which stand-ins do not change), measured in one run:

* the floor: a one-task playbook running community.docker.docker_compose_v2 (state: present) on the project;
* a bare `docker compose up -d` no-op;
* migrate.yml --check on the untouched legacy project (time, median of the repeats, and number of tasks);
* the first, real migration;
* a no-op re-run of migrate.yml (the stamp matches: compose up only), and the same with
  lgtm_migrate_trust_stamp=false (the full apply, every role re-rendered, nothing changed).

Prints a Markdown section for bench/RESULTS.md. It brings a compose project named `lgtm-bench` up and removes it
(containers, volumes, network) at the end; run it when no test or demo uses the example's ports.

    python bench/migrate.py [--repeat 3]
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT_NAME = "lgtm-bench"
FLOOR = """- name: Floor
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Compose up, nothing else
      community.docker.docker_compose_v2:
        project_src: {project}
        state: present
"""


def run(argv, **kwargs):
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit("failed: %s" % " ".join(argv))
    return elapsed, proc.stdout


def recap(output):
    match = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=\d+\s+skipped=(\d+)", output)
    return tuple(int(g) for g in match.groups()) if match else (0, 0, 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    work = tempfile.mkdtemp(prefix="lgtm-bench-")
    project = os.path.join(work, "legacy-project")
    shutil.copytree(os.path.join(ROOT, "examples", "legacy-project"), project)
    override = subprocess.run([sys.executable, "-m", "tests.harness.dockerhost", "legacy-override"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
    with open(os.path.join(project, "docker-compose.override.yml"), "w") as handle:
        handle.write(override + "name: %s\n" % PROJECT_NAME)
    # The stand-in images and what the harness turns off for them (tests/harness/images.json).
    harness_vars = json.loads(subprocess.run([sys.executable, "-m", "tests.harness.dockerhost", "stack-vars"], cwd=ROOT,
                                             capture_output=True, text=True, check=True).stdout)
    extra = os.path.join(work, "vars.json")
    with open(extra, "w") as handle:
        json.dump(dict(harness_vars, lgtm_network=PROJECT_NAME), handle)
    floor = os.path.join(work, "floor.yml")
    with open(floor, "w") as handle:
        handle.write(FLOOR.format(project=project))
    migrate = ["ansible-playbook", os.path.join(ROOT, "migrate.yml"), "-e", "lgtm_project_dir=%s" % project,
               "-e", "@%s" % extra]
    results = {}
    try:
        run(["docker", "compose", "up", "--detach", "--wait"], cwd=project)
        # --check changes nothing: measured as often as the rest, its median taken.
        checks = []
        for _ in range(args.repeat):
            elapsed, out = run(migrate + ["--check"], env=env, cwd=ROOT)
            checks.append(elapsed)
        results["check"] = statistics.median(checks)
        ok, _changed, skipped = recap(out)
        results["check_tasks"] = ok + skipped  # "changed" tasks are counted in "ok" already
        results["first"], _ = run(migrate, env=env, cwd=ROOT)
        series = {"floor": [], "compose": [], "noop": [], "full": []}
        noop_recap = full_recap = None
        for _ in range(args.repeat):
            series["floor"].append(run(["ansible-playbook", floor], env=env, cwd=ROOT)[0])
            series["compose"].append(run(["docker", "compose", "up", "--detach"], cwd=project)[0])
            elapsed, out = run(migrate, env=env, cwd=ROOT)
            series["noop"].append(elapsed)
            noop_recap = recap(out)
            elapsed, out = run(migrate + ["-e", "lgtm_migrate_trust_stamp=false"], env=env, cwd=ROOT)
            series["full"].append(elapsed)
            full_recap = recap(out)
        med = dict((k, statistics.median(v)) for k, v in series.items())
    finally:
        subprocess.run(["docker", "compose", "down", "--volumes", "--remove-orphans"], cwd=project,
                       capture_output=True)
        for kind in ("container", "volume"):
            ids = subprocess.run(["docker", kind, "ls", "-q"] + (["-a"] if kind == "container" else []) +
                                 ["--filter", "label=com.docker.compose.project=%s" % PROJECT_NAME],
                                 capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", kind, "rm", "-f"] + ids, capture_output=True)
        subprocess.run(["docker", "network", "rm", PROJECT_NAME], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    compose_version = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True,
                                     text=True).stdout.strip()
    print("## migrate.yml against the floor (`bench/migrate.py`)\n")
    print("Machine: %d cores, %s, Python %s, Docker Compose %s. Date: %s. Medians of %d runs, all in one run of the "
          "script.\n" % (os.cpu_count(), platform.platform(terse=True), platform.python_version(), compose_version,
                         time.strftime("%Y-%m-%d"), args.repeat))
    print("| what | seconds | x floor |")
    print("|---|---|---|")
    rows = [
        ("floor: one-task playbook, `docker_compose_v2` state present", med["floor"]),
        ("bare `docker compose up -d` (no-op)", med["compose"]),
        ("no-op re-run of `migrate.yml` (stamp matched: compose up only; ok/changed/skipped %s)"
         % "/".join(map(str, noop_recap)), med["noop"]),
        ("no-op re-run, full apply (`lgtm_migrate_trust_stamp=false`; ok/changed/skipped %s)"
         % "/".join(map(str, full_recap)), med["full"]),
        ("`migrate.yml --check` on the untouched legacy project (%d tasks run or skipped)" % results["check_tasks"],
         results["check"]),
        ("first migration (legacy containers replaced)", results["first"]),
    ]
    for label, seconds in rows:
        print("| %s | %.2f | %.1fx |" % (label, seconds, seconds / med["floor"]))
    print("\n- Target: no-op re-run at most 5x the floor: %.1fx. `--check` under 2x the no-op re-run: %.1fx "
          "(of the full-apply re-run: %.1fx)." % (med["noop"] / med["floor"], results["check"] / med["noop"],
                                                  results["check"] / med["full"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
