#!/usr/bin/env bash
# persist's unary Set over gRPC against Redis SET, side by side in one run on
# one machine: persistd at WRITE and FSYNC durability, driven by grpc_load;
# redis-server (Debian's) with appendonly yes at appendfsync everysec and
# always, driven by redis-benchmark. Same client count, value size and key
# space. Client and server share the machine, as they do here.
#
#   bench/compare_redis.sh                 # 50 clients, 100-byte values
#   CLIENTS=10 VALUE_SIZE=1000 DURATION=20 ROUNDS=3 bench/compare_redis.sh
#
# Rounds alternate persist and Redis rows, so that a noisy neighbour hits
# both; the ratios at the end use each row's median.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-100}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
KEYS=100000

source bench/persistd_rows.sh
echo "command: $0 (CLIENTS=$CLIENTS VALUE_SIZE=$VALUE_SIZE DURATION=$DURATION ROUNDS=$ROUNDS)"
build_and_describe persistd grpc_load
echo "redis: $(redis-server --version)"

work=$(mktemp -d)
cleanup() {
  stop
  rm -rf "$work"
}
trap cleanup EXIT

# Sets row for persist at durability $1, on a fresh persistd with an empty
# data file (as each Redis row has a fresh AOF).
persist_row() {
  local dir="$work/persist-$1-$round"
  start_persistd "$dir"
  load_row "$dir" "$1"
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
  redis-benchmark -p "$port" -t set -c "$CLIENTS" -d "$VALUE_SIZE" \
    -r "$KEYS" -n $((DURATION * rate)) --csv >"$dir/load" 2>&1 ||
    { cat "$dir/load"; exit 1; }
  row=$(tail -1 "$dir/load" | python3 -c 'import csv,sys; r=next(csv.reader(sys.stdin)); print(r[1], r[4], r[6])')
  stop
}

declare -A results
for ((round = 1; round <= ROUNDS; round++)); do
  for name in "persist WRITE" "redis everysec" "persist FSYNC" "redis always"; do
    read -r kind setting <<<"$name"
    if [[ $kind == persist ]]; then
      persist_row "${setting,,}"
    else
      redis_row "$setting"
    fi
    printf '%-16s round %d: %s calls/s, p50 %s ms, p99 %s ms\n' \
      "$kind $setting" "$round" $row
    results[$kind $setting]+="$row;"
  done
done

python3 - "${results[persist WRITE]}" "${results[redis everysec]}" \
  "${results[persist FSYNC]}" "${results[redis always]}" <<'PY'
import statistics, sys
names = ["persist Set, WRITE", "Redis SET, everysec", "persist Set, FSYNC",
         "Redis SET, always"]
rows = {}
for name, raw in zip(names, sys.argv[1:]):
    runs = [list(map(float, r.split())) for r in raw.split(";") if r]
    rows[name] = [statistics.median(column) for column in zip(*runs)]
print("\n| row (median of rounds) | calls/s | p50 ms | p99 ms |")
print("|---|---:|---:|---:|")
for name, (rate, p50, p99) in rows.items():
    print(f"| {name} | {rate:,.0f} | {p50:.3f} | {p99:.3f} |")
write = rows[names[0]][0] / rows[names[1]][0]
fsync = rows[names[2]][0] / rows[names[3]][0]
print(f"\npersist WRITE / Redis everysec: {write:.2f}x (target >= 0.5x)")
print(f"persist FSYNC / Redis always:   {fsync:.2f}x (target >= 0.5x)")
PY
