#!/usr/bin/env bash
# The main job: hetero WOE/IV feature screening between two appliances on loopback.
# "bank" (the guest) holds the labels, "telecom" (the host) holds features; each runs its own arcad
# with its own socket, state directory, certificate and party port, pinning the other's certificate.
# Usage: scripts/demo.sh [BIN_DIR] [breast|default_credit]
# ARCA_DEMO_DEVICE=ocl-… runs the encryption's exponentiations on that device (arcactl devices lists them);
# ARCA_DEMO_OBFUSCATOR=standard uses r^n instead of the DJN obfuscator.
set -euo pipefail
bin=${1:-.build/debug}
data=${2:-${ARCA_DEMO_DATA:-breast}}
case "$data" in breast|default_credit) ;; *) echo "demo: data set must be breast or default_credit, got $data"; exit 64 ;; esac
work=$(mktemp -d /tmp/arca-demo.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$plain"; }
step() { say "\$ $*"; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

say "# Two appliances on loopback: certificates (Ed25519, self-signed), configs, daemons"
for name in bank telecom; do
    openssl req -x509 -newkey ed25519 -nodes -days 2 -subj "/CN=$name" -keyout "$work/$name.key" -out "$work/$name.pem" 2>/dev/null
done
port_bank=$(free_port); port_telecom=$(free_port)
data_root=$(pwd -P)/data  # where the datasets are registered from ([datasets] roots)
config() {  # name port peer peer_port
    cat <<TOML
[state]
directory = "$work/$1/state"

[datasets]
roots = ["$data_root"]

[party]
name = "$1"
listen = "127.0.0.1:$2"
certificate = "$work/$1.pem"
key = "$work/$1.key"

[[party.peers]]
name = "$3"
address = "127.0.0.1:$4"
certificate = "$work/$3.pem"
TOML
}
for side in "bank $port_bank telecom $port_telecom" "telecom $port_telecom bank $port_bank"; do
    set -- $side
    mkdir -p "$work/$1"
    config "$1" "$2" "$3" "$4" >"$work/$1/arcad.toml"
    "$bin/arcad" --config "$work/$1/arcad.toml" --socket "$work/$1/arcad.sock" >"$work/$1/arcad.log" 2>&1 &
    pids+=($!)
done
bank() { "$bin/arcactl" "$@" --socket "$work/bank/arcad.sock"; }
telecom() { "$bin/arcactl" "$@" --socket "$work/telecom/arcad.sock"; }
for side in bank telecom; do
    for _ in $(seq 300); do "$bin/arcactl" status --socket "$work/$side/arcad.sock" >/dev/null 2>&1 && break; sleep 0.1; done
    "$bin/arcactl" status --socket "$work/$side/arcad.sock" >/dev/null || { echo "demo: arcad ($side) did not start:"; cat "$work/$side/arcad.log"; exit 1; }
done
step bank status
step bank devices
step bank peers

say "# Each operator registers its own data; the telecom grants the bank purpose iv on its features"
step bank dataset add credit --file "data/${data}_hetero_guest.csv" --id-column id --label-column y --timeout 300
step bank dataset grant credit --partner telecom --purpose iv
step telecom dataset add features --file "data/${data}_hetero_host.csv" --id-column id --timeout 300
step telecom dataset grant features --partner bank --purpose iv --max-rows 1000000 --per day

say "# The bank submits the job; the telecom's arcad runs its side under its own grant"
cat >"$work/iv.toml" <<TOML
kind = "iv"
dataset = "credit"
partner = "telecom"
purpose = "iv"
[options]
peer_dataset = "features"
suite = "ecdh-25519"
binning = "quantile"
bins = 10
key_bits = 2048
${ARCA_DEMO_DEVICE:+device = \"$ARCA_DEMO_DEVICE\"}
${ARCA_DEMO_OBFUSCATOR:+obfuscator = \"$ARCA_DEMO_OBFUSCATOR\"}
TOML
cat "$work/iv.toml"
job=$(bank job submit "$work/iv.toml" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "job $job submitted"
for _ in $(seq 3000); do
    state=$(bank job show "$job" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case "$state" in succeeded|failed|cancelled) break ;; esac
    sleep 0.2
done
step bank job show "$job"
[ "$state" = succeeded ] || { echo "demo: the job ended $state"; exit 1; }

say "# The result: every feature's IV, guest's in the clear, host's from encrypted per-bin sums; where each stage ran"
step bank job result "$job"
say "# What the telecom kept: its own job record and a summary without any label-derived number"
step telecom job list
step telecom usage
step bank audit verify
step telecom audit verify
