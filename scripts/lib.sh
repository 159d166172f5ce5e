# Shared helpers for the scripts in this directory (sourced, not run).
# shellcheck shell=bash
LGTM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LGTM_ROOT
LGTM_VENV="$LGTM_ROOT/.venv"

lgtm_say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Create or refresh .venv from requirements.txt; a no-op when it is up to date.
lgtm_venv() {
  local want stamp="$LGTM_VENV/.requirements.sha256"
  want="$(sha256sum "$LGTM_ROOT/requirements.txt" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
  if [ -x "$LGTM_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  lgtm_say "creating $LGTM_VENV from requirements.txt"
  python3 -m venv "$LGTM_VENV"
  "$LGTM_VENV/bin/pip" install --disable-pip-version-check -q -r "$LGTM_ROOT/requirements.txt" \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2) || return 1
  printf '%s\n' "$want" > "$stamp"
}

# Docker engine, Compose v2 and the local test images (see tests/harness/dockerhost.py).
lgtm_docker_host() {
  (cd "$LGTM_ROOT" && python3 -m tests.harness.dockerhost all "$@")
}

# Debian's Go toolchain, for the gofmt check of docs/examples/go (tests/unit/test_docs.py).
lgtm_gofmt() {
  command -v gofmt >/dev/null 2>&1 && return 0
  lgtm_say "installing Debian's golang-go (gofmt for docs/examples/go)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends golang-go >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends golang-go >/dev/null; }
}

lgtm_node() {
  # Node.js and npm run the test-only S3-API server (tests/harness/s3rver); the machine usually has them.
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
  lgtm_say "installing Debian's nodejs and npm (the object-store test's S3-API server)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends nodejs npm >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends nodejs npm >/dev/null; }
}

lgtm_activate() {
  # shellcheck disable=SC1091
  . "$LGTM_VENV/bin/activate"
  export ANSIBLE_CONFIG="$LGTM_ROOT/ansible.cfg"
}
