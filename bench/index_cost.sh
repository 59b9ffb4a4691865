#!/usr/bin/env bash
# What the ordered key index costs writes, in instructions (callgrind: the
# same count however busy the machine is): bench/write_cost.cc built
# against the commit before the index (BEFORE, default 91a9a2b) and against
# this tree, at 10k, 100k and 1M keys, for writes of existing keys (which
# must not pay for the index) and of new keys (set, then delete: one index
# insert and one erase). Prints instructions per operation and the ratio.
#
#   bench/index_cost.sh
#   BEFORE=<commit> OPS=20000 bench/index_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${BEFORE:-91a9a2b}
OPS=${OPS:-20000}
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
echo "command: $0 (BEFORE=$BEFORE OPS=$OPS)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); this tree: $(git describe --always --dirty)"

work=$(mktemp -d)
trap 'git worktree remove --force "$work/before" 2>/dev/null || true; rm -rf "$work"' EXIT

# write_cost in each tree: this one's build/release, and the older commit
# in a scratch worktree, given the same bench target.
git worktree add --detach "$work/before" "$BEFORE" >/dev/null 2>&1
cp bench/write_cost.cc "$work/before/bench/write_cost.cc"
cat >>"$work/before/bench/CMakeLists.txt" <<'CMAKE'
add_executable(write_cost write_cost.cc)
target_link_libraries(write_cost PRIVATE persist_storage persist_bench_protos)
CMAKE
cmake -S "$work/before" -B "$work/before-build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DPERSIST_BUILD_TESTS=OFF >/dev/null
cmake --build "$work/before-build" --target write_cost >/dev/null
cmake --build build/release --target write_cost >/dev/null
binaries=("$work/before-build/bench/write_cost" build/release/bench/write_cost)

instructions() {  # binary keys mode
  local out=$work/callgrind.out
  rm -f "$work/data.wal" "$work/data.wal.lock" "$out"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$1" "$work/data.wal" "$2" "$OPS" "$3" >/dev/null 2>&1
  grep -m1 '^totals:' "$out" | awk '{print $2}'
}

printf '%-9s %-9s %14s %14s %7s\n' keys writes "before/op" "now/op" ratio
for keys in 10000 100000 1000000; do
  for mode in existing new; do
    before=$(instructions "${binaries[0]}" "$keys" "$mode")
    now=$(instructions "${binaries[1]}" "$keys" "$mode")
    python3 - "$keys" "$mode" "$before" "$now" "$OPS" <<'PY'
import sys
keys, mode, before, now, ops = sys.argv[1:]
b, n = int(before) / int(ops), int(now) / int(ops)
print(f"{keys:<9} {mode:<9} {b:14.0f} {n:14.0f} {n / b:7.2f}")
PY
  done
done
