#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up the venv, the Docker engine, Compose v2, the local test
# images, Go and Node.js (each step reuses what exists), then hands over to tests/suite.py, which runs every
# step and prints one summary. Exit status: 0 only when every step passed.
#
#   ./scripts/test.sh                           # everything
#   LGTM_TEST_STEPS="unit yamllint" ./scripts/test.sh
#   LGTM_MOLECULE_SCENARIOS="default" ./scripts/test.sh
#   LGTM_TEST_JOBS=1 ./scripts/test.sh          # one step at a time (default: the host steps beside the engine's)
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
case " ${LGTM_TEST_STEPS:-object-store} " in *" object-store "*)
  lgtm_say "setup: Node.js and npm (the object-store test)"
  lgtm_node || { echo "setup failed: nodejs/npm" >&2; exit 1; } ;;
esac
lgtm_activate
echo "setup: $(( $(date +%s) - started ))s"

python -m tests.suite
