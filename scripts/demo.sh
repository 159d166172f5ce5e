#!/usr/bin/env bash
# Set everything up on a fresh machine, then run `ansible-playbook migrate.yml`
# on a copy of the bundled example project (examples/legacy-project is never
# modified; the copy lives in .work/demo/legacy-project).
#
#   ./scripts/demo.sh                      # auto: upstream images if this machine can pull, else stand-ins
#   LGTM_IMAGES=upstream ./scripts/demo.sh # insist on the real upstream images
#   LGTM_IMAGES=standin ./scripts/demo.sh  # orchestration-only stand-ins
#   LGTM_DEMO_RESET=1 ./scripts/demo.sh    # start again from a fresh copy
#   ./scripts/demo.sh --check --diff       # extra arguments go to ansible-playbook
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LGTM_ROOT"

lgtm_venv
lgtm_docker_host
lgtm_activate

demo="$LGTM_ROOT/.work/demo"
project="$demo/legacy-project"
if [ "${LGTM_DEMO_RESET:-0}" = 1 ]; then rm -rf "$project"; fi
if [ ! -d "$project" ]; then
  mkdir -p "$demo"
  cp -a examples/legacy-project "$project"
  lgtm_say "copied examples/legacy-project to $project"
fi

# Can this machine pull the stack's real images? Ask for one of them.
mode=${LGTM_IMAGES:-auto}
probe=$(python3 -m tests.harness.dockerhost print-images --mode upstream | python3 -c 'import json,sys; print(json.load(sys.stdin)["alloy"])')
if [ "$mode" = auto ] || [ "$mode" = upstream ]; then
  if docker image inspect "$probe" >/dev/null 2>&1 || pull_err=$(docker pull -q "$probe" 2>&1); then
    mode=upstream
  elif [ "$mode" = upstream ]; then
    echo "LGTM_IMAGES=upstream, but this machine cannot pull $probe:" >&2
    echo "  $pull_err" >&2
    exit 1
  else
    mode=standin
    cat >&2 <<BANNER

  *** This machine cannot pull container images ($probe: ${pull_err##*: }). ***
  Any Grafana, Loki, Tempo, Mimir or Alloy container this run starts is an
  ORCHESTRATION-ONLY stand-in (lgtm-test/standin/*): it shows that containers
  are created, mounted and restarted correctly, and nothing about telemetry,
  config acceptance or correlation. On a machine that can pull, run
  LGTM_IMAGES=upstream ./scripts/demo.sh for the real stack.

BANNER
  fi
fi
lgtm_say "images: $mode"

extra=()
if [ "$mode" = standin ]; then
  # The example's own images (mysql, redis, the Go API's build, Jaeger, Prometheus...) cannot be pulled either:
  # an override file runs each legacy service from a local image (real MariaDB, Redis, Prometheus and
  # exporters; stand-ins for the rest), and the stack's components get the stand-in images.
  if [ ! -f "$project/docker-compose.override.yml" ] && [ ! -d "$project/observability" ]; then
    python3 -m tests.harness.dockerhost legacy-override --mode local >"$project/docker-compose.override.yml"
  fi
  # The stand-in images, and what the harness turns off for them (tests/harness/images.json, standin_variables).
  python3 -m tests.harness.dockerhost stack-vars --mode local >"$demo/standin-images.json"
  extra=(-e "@$demo/standin-images.json")
fi

# The "before" picture: the legacy stack running, so that the migration has containers to replace.
if [ ! -d "$project/observability" ] && [[ " $* " != *" --check "* ]]; then
  lgtm_say "bringing the legacy stack up (docker compose up --wait in $project)"
  (cd "$project" && docker compose up --detach --wait --quiet-pull)
fi

lgtm_say "ansible-playbook migrate.yml -e lgtm_migrate_project_dir=$project ${extra[*]} $*"
ansible-playbook migrate.yml -e "lgtm_migrate_project_dir=$project" "${extra[@]}" "$@"
lgtm_say "done. Project: $project  (dockerd keeps running; stop it with: python3 -m tests.harness.dockerhost stop-engine)"
