#!/usr/bin/env bash
# The main job, as far as it goes today: start arcad on a temporary socket and look at the
# appliance through arcactl, as an operator would; then stop arcad with SIGTERM.
set -euo pipefail
bin=${1:-.build/debug}
work=$(mktemp -d /tmp/arca-demo.XXXXXX)
socket=$work/arcad.sock
log=$work/arcad.log
"$bin/arcad" --socket "$socket" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { echo "demo: arcad did not start:"; cat "$log"; exit 1; }

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step "$bin/arcactl" status --socket "$socket"
step "$bin/arcactl" topology --socket "$socket"
step "$bin/arcactl" devices --socket "$socket"
step "$bin/arcactl" devices --socket "$socket" --json

printf '\n\033[1m$ kill -TERM %s\033[0m\n' "$pid"
kill -TERM "$pid"
wait "$pid" && echo "arcad exited 0; socket removed: $([ -e "$socket" ] && echo no || echo yes)"
trap 'rm -rf "$work"' EXIT
