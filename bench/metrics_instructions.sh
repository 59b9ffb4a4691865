#!/usr/bin/env bash
# What monitoring costs per call, in instructions: persistd runs under
# callgrind, which counts the instructions it executes (the same count for
# the same work however busy the machine is), with instrumentation on only
# while grpc_load sends MEMORY Sets to fresh keys. Rows: persistd without
# --metrics_listen, and with it (every call counted, the page scraped once).
# Instructions per call = the count / the keys written.
#
#   bench/metrics_instructions.sh
#   CLIENTS=20 DURATION=5 bench/metrics_instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-20}
VALUE_SIZE=${VALUE_SIZE:-100}
DURATION=${DURATION:-5}
KEYS=1000000000  # fresh keys: live keys count the calls

command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
source bench/persistd_rows.sh
echo "command: $0 (CLIENTS=$CLIENTS VALUE_SIZE=$VALUE_SIZE DURATION=$DURATION)"
build_and_describe persistd persistctl grpc_load
echo "valgrind: $(valgrind --version)"

work=$(mktemp -d)
trap 'stop; rm -rf "$work"' EXIT

live_keys() {
  build/release/clients/cli/persistctl --addr="$addr" stats |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("liveKeys", 0))'
}

# Prints "instructions calls" for persistd with the flags given.
measure() {
  local dir=$1 before after
  shift
  launcher=(valgrind --tool=callgrind --instr-atstart=no
    "--callgrind-out-file=$dir/callgrind.out")
  start_persistd "$dir" "$@"
  before=$(live_keys)
  callgrind_control -i on "${pids[0]}" >/dev/null
  build/release/bench/grpc_load --addr="$addr" --clients="$CLIENTS" \
    --durability=memory --value_size="$VALUE_SIZE" --keys="$KEYS" \
    --duration="${DURATION}s" >"$dir/load" 2>&1 || { cat "$dir/load"; exit 1; }
  if [[ $* == *metrics_listen* ]]; then
    local port=${*##*:}
    python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/metrics').read()"
  fi
  callgrind_control -i off "${pids[0]}" >/dev/null
  after=$(live_keys)
  stop
  echo "$(sed -n 's/^totals: //p' "$dir/callgrind.out") $((after - before))"
}

off=$(measure "$work/off")
port=$(free_port)
on=$(measure "$work/on" --metrics_listen="127.0.0.1:$port")
python3 - "$off" "$on" <<'PY'
import sys
rows = {"metrics off": sys.argv[1], "metrics on, scraped once": sys.argv[2]}
print("\n| row | instructions | calls | instructions per call |")
print("|---|---:|---:|---:|")
per_call = {}
for name, raw in rows.items():
    instructions, calls = map(int, raw.split())
    per_call[name] = instructions / calls
    print(f"| {name} | {instructions:,} | {calls:,} | {per_call[name]:,.0f} |")
off, on = per_call.values()
print(f"\nmetrics on / off, instructions per call: {on / off:.3f}x "
      f"(+{on - off:,.0f} per call)")
PY
