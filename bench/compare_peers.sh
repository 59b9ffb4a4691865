#!/usr/bin/env bash
# persist over gRPC against its peers, side by side in one run on one
# machine, with the same client count, value size and key space:
#   - persistd's Set at WRITE and FSYNC durability, driven by grpc_load,
#     against redis-server (Debian's) with appendonly yes at appendfsync
#     everysec and always, driven by redis-benchmark;
#   - persistd's FSYNC Set against etcd's Put, and persistd's Get against
#     etcd's Range of one key, etcd (Debian's etcd-server) being one member
#     on loopback with a fresh data folder, driven by grpc_load (--server=etcd)
#     as persistd is. The Get and Range rows first write every key once.
# Client and server share the machine, as they do here.
#
#   bench/compare_peers.sh                 # 50 clients, 100-byte values
#   CLIENTS=10 VALUE_SIZE=1000 DURATION=20 ROUNDS=3 bench/compare_peers.sh
#   BATCH=16 bench/compare_peers.sh        # writes in batches of 16 records
#
# With BATCH=N above 1, only the write rows run, each write carrying N
# records: persistd's Write (an atomic batch of N Sets), redis-benchmark -P N
# (N pipelined SETs, not atomic), etcd's Txn of N Puts (atomic). Rates are
# then records per second.
#
# Rounds alternate persist and peer rows, so that a noisy neighbour hits
# both; the ratios at the end use each row's median.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-100}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-1}
KEYS=100000

source bench/persistd_rows.sh
echo "command: $0 (CLIENTS=$CLIENTS VALUE_SIZE=$VALUE_SIZE DURATION=$DURATION ROUNDS=$ROUNDS BATCH=$BATCH)"
build_and_describe persistd grpc_load
echo "redis: $(redis-server --version)"
echo "etcd: $(etcd --version | head -1)"

work=$(mktemp -d)
cleanup() {
  stop
  rm -rf "$work"
}
trap cleanup EXIT

# Sets row for persist's row $1 at durability $2, on a fresh persistd with
# an empty data file (as each Redis row has a fresh AOF); the flags that
# follow go to grpc_load.
persist_row() {
  local dir="$work/persist-$1-$round"
  shift
  start_persistd "$dir"
  load_row "$dir" "$@"
  stop
}

# Sets row to "calls/s p50_ms p99_ms" for Redis at appendfsync $1, on a
# fresh server with an empty AOF.
redis_row() {
  local dir="$work/redis-$1-$round" port rate=90000
  mkdir -p "$dir"
  port=$(free_port)
  redis-server --port "$port" --dir "$dir" --appendonly yes \
    --appendfsync "$1" --save "" --logfile "$dir/log" \
    >"$dir/stdout" 2>"$dir/stderr" &
  pids+=($!)
  until redis-cli -p "$port" ping >/dev/null 2>&1; do
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      cat "$dir/stderr" "$dir/log" 2>/dev/null
      exit 1
    fi
    sleep 0.05
  done
  # About DURATION seconds of work at Redis's usual rates here.
  [[ $1 == always ]] && rate=50000
  ((BATCH > 1)) && rate=300000
  redis-benchmark -p "$port" -t set -c "$CLIENTS" -d "$VALUE_SIZE" \
    -r "$KEYS" -P "$BATCH" -n $((DURATION * rate)) --csv >"$dir/load" 2>&1 ||
    { cat "$dir/load"; exit 1; }
  row=$(tail -1 "$dir/load" | python3 -c 'import csv,sys; r=next(csv.reader(sys.stdin)); print(r[1], r[4], r[6])')
  stop
}

# Sets row for etcd's $1 (Put or Range), on a fresh single-member etcd with
# an empty data folder; its defaults otherwise (an fsync per commit batch,
# linearizable reads).
etcd_row() {
  local dir="$work/etcd-$1-$round" client_port peer_port
  mkdir -p "$dir"
  client_port=$(free_port)
  peer_port=$(free_port)
  etcd --name bench --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$client_port" \
    --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "bench=http://127.0.0.1:$peer_port" \
    >"$dir/log" 2>&1 &
  pids+=($!)
  # Serving once /health says so (a member elects itself first).
  until python3 -c 'import json,sys,urllib.request; sys.exit(json.load(urllib.request.urlopen(sys.argv[1], timeout=1))["health"] != "true")' \
    "http://127.0.0.1:$client_port/health" 2>/dev/null; do
    if ! kill -0 "${pids[-1]}" 2>/dev/null; then
      cat "$dir/log"
      exit 1
    fi
    sleep 0.1
  done
  addr="127.0.0.1:$client_port"
  if [[ $1 == Range ]]; then
    load_row "$dir" write --server=etcd --prefill --read_percent=100
  else
    load_row "$dir" write --server=etcd --batch="$BATCH"
  fi
  stop
}

names=("persist WRITE" "redis everysec" "persist FSYNC" "redis always"
  "etcd Put")
((BATCH > 1)) || names+=("persist Get" "etcd Range")
declare -A results
for ((round = 1; round <= ROUNDS; round++)); do
  for name in "${names[@]}"; do
    read -r kind setting <<<"$name"
    case "$kind $setting" in
      "persist Get") persist_row get write --prefill --read_percent=100 ;;
      persist*) persist_row "${setting,,}" "${setting,,}" --batch="$BATCH" ;;
      redis*) redis_row "$setting" ;;
      etcd*) etcd_row "$setting" ;;
    esac
    printf '%-16s round %d: %s records/s, p50 %s ms, p99 %s ms\n' \
      "$kind $setting" "$round" $row
    results[$kind $setting]+="$row;"
  done
done

args=()
for name in "${names[@]}"; do args+=("${results[$name]}"); done
python3 - "$BATCH" "${args[@]}" <<'PY'
import statistics, sys
batch = int(sys.argv[1])
if batch == 1:
    names = ["persist Set, WRITE", "Redis SET, everysec", "persist Set, FSYNC",
             "Redis SET, always", "etcd Put", "persist Get", "etcd Range"]
else:
    names = [f"persist Write of {batch}, WRITE",
             f"Redis SET -P {batch}, everysec",
             f"persist Write of {batch}, FSYNC",
             f"Redis SET -P {batch}, always", f"etcd Txn of {batch} Puts"]
rows = {}
for name, raw in zip(names, sys.argv[2:]):
    runs = [list(map(float, r.split())) for r in raw.split(";") if r]
    rows[name] = [statistics.median(column) for column in zip(*runs)]
print("\n| row (median of rounds) | records/s | p50 ms | p99 ms |")
print("|---|---:|---:|---:|")
for name, (rate, p50, p99) in rows.items():
    print(f"| {name} | {rate:,.0f} | {p50:.3f} | {p99:.3f} |")
def ratio(a, b):
    return rows[a][0] / rows[b][0]
print()
if batch == 1:
    print(f"persist WRITE / Redis everysec: {ratio(names[0], names[1]):.2f}x (target >= 0.9x)")
    print(f"persist FSYNC / Redis always:   {ratio(names[2], names[3]):.2f}x (target >= 0.9x)")
    print(f"persist FSYNC / etcd Put:       {ratio(names[2], names[4]):.2f}x (target >= 3x)")
    print(f"persist Get / etcd Range:       {ratio(names[5], names[6]):.2f}x (target >= 5x)")
else:
    print(f"persist WRITE / Redis pipelined everysec: {ratio(names[0], names[1]):.2f}x")
    print(f"persist FSYNC / Redis pipelined always:   {ratio(names[2], names[3]):.2f}x")
    print(f"persist FSYNC / etcd Txn:                 {ratio(names[2], names[4]):.2f}x")
PY
