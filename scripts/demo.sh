#!/usr/bin/env bash
# The main job, as far as it goes today: start arcad on a temporary socket and look at the
# appliance through arcactl, as an operator would; then stop arcad with SIGTERM.
set -euo pipefail
bin=${1:-.build/debug}
work=$(mktemp -d /tmp/arca-demo.XXXXXX)
socket=$work/arcad.sock
log=$work/arcad.log
# The appliance's defaults, with the state (job store, audit log, kernel cache, bench history) kept in the demo's folder.
printf '[state]\ndirectory = "%s/state"\n' "$work" >"$work/arcad.toml"
"$bin/arcad" --config "$work/arcad.toml" --socket "$socket" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { echo "demo: arcad did not start:"; cat "$log"; exit 1; }

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$plain"; }
step() { say "\$ $*"; "$@"; }
step "$bin/arcactl" status --socket "$socket"
step "$bin/arcactl" topology --socket "$socket"
step "$bin/arcactl" devices --socket "$socket"
step "$bin/arcactl" devices --socket "$socket" --json | head -c 600; echo " …"
say "# The kernels through the daemon: PoCL beside the CPU fallback (a debug build: figures are no measure)"
step "$bin/arcactl" bench --op ntt --degree 4096 --limbs 2 --batch 4 --repetitions 3 --socket "$socket"
say "# Planning an appliance that has not arrived, from its hwloc export, without a daemon"
step "$bin/arcactl" topology --input Tests/ArcaTopologyTests/Topologies/epyc-nps4-8node.xml --party-interface ens9f0

say "# Data usable but invisible, its use controlled and metered: a dataset, a grant, a job, the audit"
step "$bin/arcactl" dataset add breast --file Tests/ArcaEndToEndTests/Data/breast_hetero_guest.csv --id-column id --label-column y --socket "$socket"
step "$bin/arcactl" dataset grant breast --partner local --purpose stats --max-rows 1000 --per day --socket "$socket"
printf 'kind = "dataset-stats"\ndataset = "breast"\npartner = "local"\npurpose = "stats"\n' >"$work/stats.toml"
step "$bin/arcactl" job submit "$work/stats.toml" --socket "$socket"
for _ in $(seq 100); do "$bin/arcactl" job show 1 --json --socket "$socket" | grep -q '"state":"succeeded"' && break; sleep 0.1; done
step "$bin/arcactl" job show 1 --socket "$socket"
step "$bin/arcactl" job submit "$work/stats.toml" --socket "$socket" || true
step "$bin/arcactl" usage --socket "$socket"
step "$bin/arcactl" audit show --socket "$socket"
step "$bin/arcactl" audit verify --socket "$socket"

say "\$ kill -TERM $pid"
kill -TERM "$pid"
wait "$pid" && echo "arcad exited 0; socket removed: $([ -e "$socket" ] && echo no || echo yes)"
trap 'rm -rf "$work"' EXIT
