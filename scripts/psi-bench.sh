#!/usr/bin/env bash
# PSI benchmark: two arcad processes on loopback (bank-a, bank-b), N synthetic ids each (half of
# them shared), one psi job per suite submitted on bank-a with arcactl; prints items/s.
#
#   scripts/psi-bench.sh BIN_DIR [N] [SUITES...]
#   e.g. swift build -c release --scratch-path .build-release && scripts/psi-bench.sh .build-release/release 1000000
#
# Items/s = (ids of bank-a + ids of bank-b) / the job's wall time (from running to succeeded).
# OPENCL=1 lets the daemons use OpenCL devices (PoCL) for dh-modp2048's modexp; default: CPU only.
set -euo pipefail
bin=$(cd "$1" && pwd); n=${2:-100000}; shift 2 || shift $#
suites=("$@"); [ ${#suites[@]} -gt 0 ] || suites=(ecdh-25519 ecdh-sm2 dh-modp2048)
opencl=$([ "${OPENCL:-0}" = 1 ] && echo true || echo false)
dir=$(mktemp -d /tmp/arca-psi-bench.XXXXXX)
trap 'kill $(cat "$dir"/*.pid 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pa=$(port); pb=$(port)
for side in bank-a bank-b; do
  openssl req -x509 -newkey ed25519 -nodes -days 2 -subj "/CN=$side" -keyout "$dir/$side.key" -out "$dir/$side.pem" 2>/dev/null
done
config() { # me port peer peerport
  cat <<EOF
[state]
directory = "$dir/$1-state"
[devices]
opencl = $opencl
[datasets]
roots = ["$dir"]
[party]
name = "$1"
listen = "127.0.0.1:$2"
certificate = "$dir/$1.pem"
key = "$dir/$1.key"
[[party.peers]]
name = "$3"
address = "127.0.0.1:$4"
certificate = "$dir/$3.pem"
EOF
}
config bank-a "$pa" bank-b "$pb" > "$dir/a.toml"
config bank-b "$pb" bank-a "$pa" > "$dir/b.toml"
python3 - "$dir" "$n" <<'EOF'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(f"{d}/a.csv", "w") as f:
    f.write("id,x\n"); f.writelines(f"user-{i},{i % 7}\n" for i in range(n))
with open(f"{d}/b.csv", "w") as f:
    f.write("id,z\n"); f.writelines(f"user-{i},{i % 5}\n" for i in range(n // 2, n + n // 2))
EOF
"$bin/arcad" --config "$dir/a.toml" --socket "$dir/a.sock" > "$dir/a.log" 2>&1 & echo $! > "$dir/a.pid"
"$bin/arcad" --config "$dir/b.toml" --socket "$dir/b.sock" > "$dir/b.log" 2>&1 & echo $! > "$dir/b.pid"
for s in a b; do for _ in $(seq 300); do "$bin/arcactl" status --socket "$dir/$s.sock" --timeout 2 >/dev/null 2>&1 && break; sleep 0.2; done; done
ctl() { local s=$1; shift; "$bin/arcactl" "$@" --socket "$dir/$s.sock" --timeout 600; }
ctl a dataset add ids --file "$dir/a.csv" --id-column id >/dev/null
ctl b dataset add ids --file "$dir/b.csv" --id-column id >/dev/null
ctl a dataset grant ids --partner bank-b --purpose psi >/dev/null
ctl b dataset grant ids --partner bank-a --purpose psi >/dev/null
echo "PSI benchmark: $n ids per side ($((n / 2)) shared), $(nproc) cores, opencl=$opencl"
for suite in "${suites[@]}"; do
  printf 'kind = "psi"\ndataset = "ids"\npartner = "bank-b"\npurpose = "psi"\n[options]\nsuite = "%s"\npeer_dataset = "ids"\nresult_to = "both"\n' "$suite" > "$dir/psi.toml"
  id=$(ctl a job submit "$dir/psi.toml" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  while :; do
    ctl a job show "$id" --json > "$dir/job.json"
    state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$dir/job.json")
    [ "$state" = succeeded ] || [ "$state" = failed ] && break
    sleep 0.5
  done
  python3 - "$dir/job.json" "$n" "$suite" "$(nproc)" <<'EOF'
import json, sys
from datetime import datetime
job, n, suite, cores = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
if job["state"] != "succeeded":
    print(f"{suite}: {job['state']}: {job['reason']}"); sys.exit(0)
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
running = [e["time"] for e in job["events"] if e["state"] == "running"][0]
seconds = (t(job["finishedAt"]) - t(running)).total_seconds()
c = job["counters"]
served = {k: v for k, v in c.items() if k.startswith("modexp.")}
print(f"{suite:12s} matched {int(c['psi.matched'])}  {seconds:7.1f} s  {2 * n / seconds:9.0f} items/s  {2 * n / seconds / cores:9.0f} items/s per core  {served or ''}")
EOF
done
