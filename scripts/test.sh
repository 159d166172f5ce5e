#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up the venv, the Docker
# engine, Compose v2 and the local test images (each step reuses what exists),
# then runs every check and prints one summary line. Exit status: 0 only when
# every check passed.
#
#   ./scripts/test.sh                       # everything
#   LGTM_TEST_STEPS="unit lint" ./scripts/test.sh
#   LGTM_MOLECULE_SCENARIOS="default" ./scripts/test.sh
set -uo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LGTM_ROOT" || exit 1

started=$(date +%s)
pidfile=${LGTM_DOCKERD_PIDFILE:-/run/lgtm-dockerd.pid}
had_pidfile=false; [ -e "$pidfile" ] && had_pidfile=true

lgtm_say "setup: venv"
lgtm_venv || { echo "setup failed: venv" >&2; exit 1; }
lgtm_say "setup: docker host (engine, compose, images)"
lgtm_docker_host || { echo "setup failed: docker host" >&2; exit 1; }
if ! $had_pidfile && [ -e "$pidfile" ] && [ "${LGTM_KEEP_DOCKERD:-0}" != 1 ]; then
  # This run started dockerd: stop it (by its PID) when the run ends.
  trap 'python3 -m tests.harness.dockerhost stop-engine' EXIT
fi
lgtm_say "setup: Go toolchain (gofmt)"
lgtm_gofmt || { echo "setup failed: golang-go" >&2; exit 1; }
export LGTM_REQUIRE_GOFMT=1
lgtm_activate
# README's first command may have left its demo running: its containers hold ports the suite's stacks need (the
# stack's, and the example's 8080, 3306...). Stop them (containers and volumes stay) and bring the demo back up
# when the suite ends, from its migrated copy (the demo step below replaces that copy with its own).
demo_project=.work/demo/legacy-project
demo_was_running=false
if [ -d "$demo_project" ] &&
   [ -n "$(docker compose --project-directory "$demo_project" ps --quiet --status running 2>/dev/null)" ]; then
  demo_was_running=true
  lgtm_say "setup: a running demo ($demo_project) is stopped while the suite runs and brought back at the end"
  docker compose --project-directory "$demo_project" stop >/dev/null 2>&1 ||
    { echo "setup failed: could not stop the running demo in $demo_project" >&2; exit 1; }
fi
setup_seconds=$(( $(date +%s) - started ))

# The collection's version, from galaxy.yml (the one place it is written).
collection_version=$(sed -n "s/^version: *//p" galaxy.yml)
tarball="lgtm-stack-$collection_version.tar.gz"
steps=${LGTM_TEST_STEPS:-"unit go yamllint ansible-lint docs build collection-list sanity migrate-example demo bad-inputs lifecycle projects fixtures object-store e2e-refuses molecule"}
case " $steps " in *" object-store "*)
  lgtm_say "setup: Node.js and npm (the object-store test)"
  lgtm_node || { echo "setup failed: nodejs/npm" >&2; exit 1; } ;;
esac
scenarios=${LGTM_MOLECULE_SCENARIOS:-"default check-first fresh"}
work="$LGTM_ROOT/.work/test"
mkdir -p "$work"
passed=0; failed=0; report=()

run_step() {
  # Runs one check with its output teed to $work/step.log; a failure adds its reasons (why.txt, else the last
  # lines of the output) under its FAIL line, so the summary that ends the run says what went wrong.
  local name=$1; shift
  local t0 rc
  t0=$(date +%s)
  lgtm_say "test: $name"
  : >"$work/why.txt"
  "$@" 2>&1 | tee "$work/step.log"; rc=${PIPESTATUS[0]}
  local dt=$(( $(date +%s) - t0 ))
  if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); report+=("PASS  ${dt}s  $name")
  else
    failed=$((failed + 1)); report+=("FAIL  ${dt}s  $name (exit $rc)")
    [ -s "$work/why.txt" ] || tail -n 12 "$work/step.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-200 |
      sed 's/^/        /' >"$work/why.txt"
    while IFS= read -r line; do report+=("$line"); done <"$work/why.txt"
  fi
}

# why: one reason a step failed, kept for the summary at the end of the run (CI shows the tail of the output).
why() { printf '      %s\n' "$*" | tee -a "$work/why.txt" >&2; }
why_tail() { tail -n "${2:-12}" "$1" | cut -c1-200 | sed 's/^/        /' | tee -a "$work/why.txt" >&2; }
# why_ansible: the error an ansible-playbook log ends with (its first [ERROR]/fatal lines), else its tail.
why_ansible() {
  if grep -q -E '^(\[ERROR\]|fatal:|ERROR!)' "$1"; then
    grep -m 1 -A 10 -E '^(\[ERROR\]|fatal:|ERROR!)' "$1" | cut -c1-200 | sed 's/^/        /' | tee -a "$work/why.txt" >&2
  else why_tail "$1"; fi
}

build_collection() {
  rm -rf "$work/dist" && mkdir -p "$work/dist" &&
    ansible-galaxy collection build --force --output-path "$work/dist" . &&
    test -f "$work/dist/$tarball" &&
    ! tar -tzf "$work/dist/$tarball" | grep -E '^(tests|molecule|bench|\.ci|collections|scripts)/'
}

docs_render() {
  # Every role's argument specs, every module's, filter's and test's documentation must render.
  local role module rc=0
  for role in roles/*/; do
    role=$(basename "$role")
    ansible-doc -t role "lgtm.stack.$role" >/dev/null || { echo "ansible-doc -t role lgtm.stack.$role failed" >&2; rc=1; }
  done
  for module in plugins/modules/*.py; do
    [ -e "$module" ] || continue
    module=$(basename "$module" .py)
    ansible-doc "lgtm.stack.$module" >/dev/null || { echo "ansible-doc lgtm.stack.$module failed" >&2; rc=1; }
  done
  for filter in plugins/filter/*.yml; do
    [ -e "$filter" ] || continue
    filter=$(basename "$filter" .yml)
    ansible-doc -t filter "lgtm.stack.$filter" >/dev/null || { echo "ansible-doc -t filter lgtm.stack.$filter failed" >&2; rc=1; }
  done
  for test_plugin in plugins/test/*.yml; do
    [ -e "$test_plugin" ] || continue
    test_plugin=$(basename "$test_plugin" .yml)
    ansible-doc -t test "lgtm.stack.$test_plugin" >/dev/null || { echo "ansible-doc -t test lgtm.stack.$test_plugin failed" >&2; rc=1; }
  done
  return $rc
}

collection_listed() {
  ansible-galaxy collection list lgtm.stack 2>/dev/null | grep -E "^lgtm\.stack +${collection_version//./\\.}"
}

migrate_example() {
  # migrate.yml --check --diff at -vvv on a copy of the bundled example: the run must plan the whole migration,
  # leak none of the example's credentials, and leave the copy byte for byte as it was. Each check that fails
  # says why (why), so the summary at the end of the run names it.
  local project="$work/legacy-project" log="$work/migrate.log" neg="$work/preflight-neg.log" rc=0 leaks
  rm -rf "$project" && cp -a examples/legacy-project "$project" &&
    python3 tests/harness/snapshot.py "$project" >"$work/before.json" ||
    { why "could not copy examples/legacy-project to $project or snapshot it"; return 1; }
  ansible-playbook -vvv migrate.yml --check --diff -e "lgtm_migrate_project_dir=$project" >"$log" 2>&1 ||
    { why "ansible-playbook migrate.yml --check --diff exited $? ($log):"; why_ansible "$log"; return 1; }
  # The YAML callback folds long messages at about 80 columns, where depends on the length of the project's
  # path (that is, of the checkout's): look for the summary's sentences with the folds undone.
  tr -s ' \n' '  ' <"$log" >"$work/migrate.flat"
  grep -q "Findings: 3 high" "$work/migrate.flat" ||
    { why "the summary does not count 3 high findings: $(grep -m1 -o 'Findings: [^.]*' "$work/migrate.flat")"; rc=1; }
  grep -q -- "-  jaeger:" "$log" || { why "the compose diff does not remove the jaeger service ($log)"; rc=1; }
  grep -q "CHECK MODE, nothing was changed" "$work/migrate.flat" ||
    { why "the summary does not say CHECK MODE ($log)"; rc=1; }
  leaks=$(grep -n -o -E ".{0,60}example-(root|shop|admin|exporter)-pw" "$log" | head -n 3)
  [ -z "$leaks" ] || { why "an example credential is in the -vvv output ($log):"; printf '%s\n' "$leaks" | why_tail -; rc=1; }
  python3 tests/harness/snapshot.py "$project" >"$work/after.json" &&
    python3 - "$work/before.json" "$work/after.json" >"$work/snapshot-diff.txt" <<'PY' ||
import json, sys
before, after = (json.load(open(path))["files"] for path in sys.argv[1:])
changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
for path in changed[:10]:
    print("%s: %s -> %s" % (path, before.get(path, "absent"), after.get(path, "absent")))
sys.exit(1 if changed else 0)
PY
    { why "the --check run changed the project's files:"; why_tail "$work/snapshot-diff.txt"; rc=1; }
  # ...and it must refuse a project that is not there, before doing anything.
  if ansible-playbook migrate.yml -e "lgtm_migrate_project_dir=$work/no-such-project" >"$neg" 2>&1; then
    why "migrate.yml accepted a project directory that does not exist ($neg)"; rc=1
  elif ! tr -s ' \n' '  ' <"$neg" | grep -q -F "Project directory $work/no-such-project: does not exist"; then
    why "migrate.yml refused a missing project without naming it ($neg):"; why_ansible "$neg"; rc=1
  fi
  return $rc
}

demo() {
  # README's first command on a fresh copy (LGTM_IMAGES=standin: this network cannot pull, and the suite never
  # asks a registry), its --check --diff re-run on the migrated copy (nothing left to change), the paths the
  # README names, and the README's command that stops it. The README keeps the demo's volumes; the suite does not.
  local project=.work/demo/legacy-project log="$work/demo.log" rc=0 name
  demo_clean() {  # the demo's containers, networks and volumes, including those the migration left unused
    [ -d "$project" ] || return 0
    name=$(docker compose --project-directory "$project" config --format json 2>/dev/null |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])') || return 0
    docker compose --project-directory "$project" down -v >/dev/null 2>&1
    docker volume ls -q --filter "label=com.docker.compose.project=$name" | xargs -r docker volume rm >/dev/null
  }
  demo_clean
  LGTM_DEMO_RESET=1 LGTM_IMAGES=standin ./scripts/demo.sh >"$log" 2>&1 ||
    { why "./scripts/demo.sh failed ($log):"; why_ansible "$log"; return 1; }
  grep -q -E 'changed=[1-9][0-9]* .*failed=0' "$log" || { why "./scripts/demo.sh changed nothing ($log)"; rc=1; }
  LGTM_IMAGES=standin ./scripts/demo.sh --check --diff >"$work/demo-check.log" 2>&1 &&
    grep -q -E 'changed=0 .*failed=0' "$work/demo-check.log" ||
    { why "./scripts/demo.sh --check --diff on the migrated demo did not report changed=0 ($work/demo-check.log):"
      why_ansible "$work/demo-check.log"; rc=1; }
  python3 -m tests.docs_commands check-paths demo . >"$work/demo-paths.log" 2>&1 ||
    { why "paths the README names are missing:"; why_tail "$work/demo-paths.log"; rc=1; }
  docker compose --project-directory .work/demo/legacy-project down >"$work/demo-down.log" 2>&1 ||
    { why "the README's command that stops the demo failed:"; why_tail "$work/demo-down.log"; rc=1; }
  if [ -n "$(docker compose --project-directory "$project" ps --all --quiet 2>/dev/null)" ]; then
    why "containers of the demo are left after the README's down command"; rc=1
  fi
  demo_clean
  return $rc
}

sanity() {
  # ansible-test sanity on what users install: the built collection, unpacked as ansible_collections/lgtm/stack.
  # ansible-test bootstraps pip in its venvs with a script from ci-files.testing.ansible.com, which this network
  # cannot reach; a private HOME holds a stand-in for that script (the venv's own ensurepip) plus the user's pip
  # configuration, so nothing is written to the real ~/.ansible and no outside host is contacted for it.
  local root="$work/sanity" home="$work/sanity-home" version
  rm -rf "$root" && mkdir -p "$root/ansible_collections/lgtm/stack" "$home/.ansible/test/cache" "$home/.config/pip" &&
    tar -xzf "$work/dist/$tarball" -C "$root/ansible_collections/lgtm/stack" || return 1
  # The pip version ansible-test bootstraps (get_pip_<version>.py), read from ansible-test itself.
  version=$(python -c 'import ansible_test._internal.python_requirements as r, inspect, re
print(re.search(r"pip=.([0-9.]+).", inspect.getsource(r.get_venv_packages)).group(1).replace(".", "_"))') || return 1
  printf '%s\n' '# Stand-in for get-pip.py (unreachable here): pip from the interpreter'"'"'s ensurepip.' \
    'import ensurepip' 'ensurepip.bootstrap(upgrade=True)' >"$home/.ansible/test/cache/get_pip_${version}.py"
  if [ -f "$HOME/.config/pip/pip.conf" ]; then cp "$HOME/.config/pip/pip.conf" "$home/.config/pip/pip.conf"; fi
  (cd "$root/ansible_collections/lgtm/stack" && git init -q && git add -A &&
     git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity &&
     HOME="$home" ansible-test sanity --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')")
}

e2e_refuses() {
  # molecule/e2e needs the real images; here it must stop in prepare with a message that says why.
  # LGTM_E2E_PULL=0: look for the images locally, send nothing to a registry.
  local log="$work/e2e.log"
  ! COLUMNS=1000 LGTM_E2E_PULL=0 molecule test -s e2e >"$log" 2>&1 &&
    tr -s ' \n' '  ' <"$log" | grep -q "needs the pinned upstream images" &&
    ! grep -q "e2e.*converge.*Executed" "$log"
}

molecule_all() {
  local s rc=0
  for s in $scenarios; do molecule test -s "$s" || rc=1; done
  return $rc
}

for step in $steps; do
  case $step in
    unit) run_step "pytest tests/unit" python -m pytest -q tests/unit ;;
    go) run_step "Go instrumentation: builds against Debian's OpenTelemetry SDK, runs against an OTLP receiver (tests/go)" \
      env LGTM_REQUIRE_GO=1 python -m pytest -q -p no:cacheprovider tests/go ;;
    yamllint) run_step "yamllint" yamllint -s . ;;
    ansible-lint) run_step "ansible-lint (production profile)" ansible-lint ;;
    docs) run_step "ansible-doc renders every role and module" docs_render ;;
    build) run_step "ansible-galaxy collection build" build_collection ;;
    collection-list) run_step "ansible-galaxy collection list shows lgtm.stack" collection_listed ;;
    migrate-example) run_step "migrate.yml --check --diff on examples/legacy-project" migrate_example ;;
    demo) run_step "README's demo: ./scripts/demo.sh, --check --diff, down (stand-ins)" demo ;;
    bad-inputs) run_step "bad input: migrate.yml fails before any change (tests/integration)" \
      python -m pytest -q -p no:cacheprovider tests/integration/test_bad_inputs.py ;;
    lifecycle) run_step "secrets, kills at four points, rollback (tests/integration)" \
      python -m pytest -q -p no:cacheprovider tests/integration/test_lifecycle.py ;;
    projects) run_step "a teammate's clone, two projects on one engine, the old network's upgrade, a docker-group user, remote backends, Helm values (tests/integration)" \
      python -m pytest -q -p no:cacheprovider tests/integration/test_clone.py tests/integration/test_two_projects.py \
        tests/integration/test_network_upgrade.py tests/integration/test_non_root.py \
        tests/integration/test_remote_backend.py tests/integration/test_helm_playbook.py ;;
    fixtures) run_step "every real-world fixture: --check --diff and migration; rule checks vs the real promtool (tests/integration)" \
      env LGTM_REQUIRE_PROMTOOL=1 python -m pytest -q -p no:cacheprovider tests/integration/test_rules_promtool.py \
        tests/integration/test_fixtures.py ;;
    object-store) run_step "s3_bucket against a real S3-API server storing on disk (tests/integration)" \
      env LGTM_REQUIRE_S3RVER=1 python -m pytest -q -p no:cacheprovider tests/integration/test_s3_bucket.py ;;
    sanity) run_step "ansible-test sanity (the built collection)" sanity ;;
    e2e-refuses) run_step "molecule/e2e refuses at once without the upstream images" e2e_refuses ;;
    molecule) run_step "molecule test ($scenarios)" molecule_all ;;
    *) echo "unknown step '$step'" >&2; failed=$((failed + 1)); report+=("FAIL  0s  unknown step $step") ;;
  esac
done

if $demo_was_running; then
  lgtm_say "bringing the demo back up (docker compose --project-directory $demo_project up --detach --wait)"
  if docker compose --project-directory "$demo_project" up --detach --wait >"$work/demo-restore.log" 2>&1; then
    report+=("NOTE  the demo that was running is running again ($demo_project)")
  else
    failed=$((failed + 1)); report+=("FAIL  the demo that was running could not be brought back ($work/demo-restore.log)")
  fi
fi

echo
echo "setup: ${setup_seconds}s, total: $(( $(date +%s) - started ))s"
printf '%s\n' "${report[@]}"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
