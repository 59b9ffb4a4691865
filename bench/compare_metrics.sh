#!/usr/bin/env bash
# What monitoring costs: persistd's Set throughput with --metrics_listen (a
# gRPC interceptor counting every call, and /metrics scraped every second,
# 15 times as often as Prometheus' default) against the same persistd
# without it, in alternating rounds on one machine. MEMORY durability by
# default: no disk in the way, so the per-call cost shows most.
#
#   bench/compare_metrics.sh
#   DURABILITY=write CLIENTS=50 DURATION=10 ROUNDS=5 bench/compare_metrics.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-100}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-5}
DURABILITY=${DURABILITY:-memory}
KEYS=100000

source bench/persistd_rows.sh
echo "command: $0 (DURABILITY=$DURABILITY CLIENTS=$CLIENTS VALUE_SIZE=$VALUE_SIZE DURATION=$DURATION ROUNDS=$ROUNDS)"
build_and_describe persistd grpc_load

work=$(mktemp -d)
scraper=""
cleanup() {
  [[ -z $scraper ]] || kill "$scraper" 2>/dev/null || true
  stop
  rm -rf "$work"
}
trap cleanup EXIT

# Scrapes http://$1/metrics once a second, in the background, until killed;
# fails the run if a scrape fails.
scrape_every_second() {
  python3 - "$1" <<'PY' &
import sys, time, urllib.request
while True:
    with urllib.request.urlopen(f"http://{sys.argv[1]}/metrics") as page:
        assert b"grpc_server_handled_total" in page.read()
    time.sleep(1)
PY
  scraper=$!
}

declare -A results
for ((round = 1; round <= ROUNDS; round++)); do
  for name in off on; do
    dir="$work/$name-$round"
    if [[ $name == on ]]; then
      port=$(free_port)
      start_persistd "$dir" --metrics_listen="127.0.0.1:$port"
      scrape_every_second "127.0.0.1:$port"
    else
      start_persistd "$dir"
    fi
    load_row "$dir" "$DURABILITY"
    if [[ -n $scraper ]]; then
      kill "$scraper"
      wait "$scraper" 2>/dev/null || true  # killed, as intended
      scraper=""
    fi
    stop
    printf 'metrics %-3s round %d: %s calls/s, p50 %s ms, p99 %s ms, persistd %s us CPU per call\n' \
      "$name" "$round" $row "$cpu_us_per_call"
    results[$name]+="$row $cpu_us_per_call;"
  done
done

python3 - "${results[off]}" "${results[on]}" <<'PY'
import statistics, sys
rows = {}
for name, raw in zip(["metrics off", "metrics on, scraped every second"],
                     sys.argv[1:]):
    runs = [list(map(float, r.split())) for r in raw.split(";") if r]
    rows[name] = ([statistics.median(c) for c in zip(*runs)], runs)
print("\n| row (median of rounds) | calls/s | p50 ms | p99 ms | persistd CPU us/call |")
print("|---|---:|---:|---:|---:|")
for name, ((rate, p50, p99, cpu), _) in rows.items():
    print(f"| {name} | {rate:,.0f} | {p50:.3f} | {p99:.3f} | {cpu:.2f} |")
(off, off_runs), (on, on_runs) = rows.values()
def rounds(column):
    return ", ".join(f"{b[column] / a[column]:.2f}"
                     for a, b in zip(off_runs, on_runs))
print(f"\nmetrics on / off, calls/s: {on[0] / off[0]:.3f}x (rounds: {rounds(0)})")
print(f"metrics on / off, CPU per call: {on[3] / off[3]:.3f}x (rounds: {rounds(3)})")
PY
