#!/usr/bin/env bash
# Two builds of persistd side by side: BASE, a persistd binary built from an
# earlier commit, against this tree's build, driven alike by grpc_load in
# alternating rounds on one machine (these machines are shared and noisy:
# only ratios of one run mean much). Each row is Sets at DURABILITY, in
# Writes of BATCH records (1: plain Set calls).
#
#   git worktree add /tmp/base HEAD~3 && (cd /tmp/base && cmake --preset release &&
#     cmake --build --preset release --target persistd)
#   BASE=/tmp/base/build/release/service/persistd bench/compare_builds.sh
#   BASE=... BATCH=1 DURABILITY=fsync ROUNDS=5 bench/compare_builds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASE:?set BASE to the persistd binary to compare with}"
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-100}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
DURABILITY=${DURABILITY:-write}
BATCH=${BATCH:-16}
KEYS=100000

source bench/persistd_rows.sh
echo "command: $0 (BASE=$BASE DURABILITY=$DURABILITY BATCH=$BATCH CLIENTS=$CLIENTS VALUE_SIZE=$VALUE_SIZE DURATION=$DURATION ROUNDS=$ROUNDS)"
echo "this build: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
build_and_describe persistd grpc_load

work=$(mktemp -d)
trap 'stop; rm -rf "$work"' EXIT

batch_flags=()
[[ $BATCH == 1 ]] || batch_flags=(--batch="$BATCH")
declare -A results
for ((round = 1; round <= ROUNDS; round++)); do
  for name in base this; do
    dir="$work/$name-$round"
    if [[ $name == base ]]; then
      PERSISTD=$BASE start_persistd "$dir"
    else
      start_persistd "$dir"
    fi
    load_row "$dir" "$DURABILITY" "${batch_flags[@]}"
    stop
    printf '%-4s round %d: %s records/s, p50 %s ms, p99 %s ms, persistd %s us CPU per record\n' \
      "$name" "$round" $row "$cpu_us_per_call"
    results[$name]+="$row $cpu_us_per_call;"
  done
done

python3 - "${results[base]}" "${results[this]}" <<'PY'
import statistics, sys
rows = {}
for name, raw in zip(["base", "this build"], sys.argv[1:]):
    runs = [list(map(float, r.split())) for r in raw.split(";") if r]
    rows[name] = [statistics.median(c) for c in zip(*runs)]
print("\n| row (median of rounds) | records/s | p50 ms | p99 ms | persistd CPU us/record |")
print("|---|---:|---:|---:|---:|")
for name, (rate, p50, p99, cpu) in rows.items():
    print(f"| {name} | {rate:,.0f} | {p50:.3f} | {p99:.3f} | {cpu:.2f} |")
base, this = rows.values()
print(f"\nthis / base: {this[0] / base[0]:.2f}x records/s, "
      f"{this[3] / base[3]:.2f}x CPU per record")
PY
