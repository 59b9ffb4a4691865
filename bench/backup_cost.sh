#!/usr/bin/env bash
# What an online backup costs: persistd holding KEYS prefilled keys, Sets
# at WRITE by grpc_load in alternating rounds alone and while
# `persistctl backup` copies the data file over and over; the writers'
# rate with and without backups (a ratio of one run), and the backups'
# speed.
#
#   bench/backup_cost.sh
#   KEYS=2000000 VALUE_SIZE=400 ROUNDS=5 bench/backup_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-50}
VALUE_SIZE=${VALUE_SIZE:-200}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-1000000}

source bench/persistd_rows.sh
echo "command: $0 (KEYS=$KEYS VALUE_SIZE=$VALUE_SIZE CLIENTS=$CLIENTS DURATION=$DURATION ROUNDS=$ROUNDS)"
echo "this build: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
build_and_describe persistd grpc_load persistctl

work=$(mktemp -d)
trap 'stop; rm -rf "$work"' EXIT
ctl=build/release/clients/cli/persistctl

# No auto-shrink: a rewrite of the file inside a round would be measured.
start_persistd "$work/server" --auto_shrink_disabled
build/release/bench/grpc_load --addr="$addr" --clients="$CLIENTS" \
  --value_size="$VALUE_SIZE" --keys="$KEYS" --batch=16 --prefill \
  --duration=0s --warmup=0s >"$work/prefill" 2>&1
file_bytes=$(stat -c %s "$work/server/data.wal")
echo "data file after the prefill: $((file_bytes >> 20)) MiB, $KEYS keys"

declare -a alone with copies sizes
for ((round = 1; round <= ROUNDS; round++)); do
  load_row "$work" write
  alone+=("${row%% *}")
  echo "writers alone        round $round: ${row%% *} calls/s"

  load_row "$work" write &
  load=$!
  taken=0
  while kill -0 "$load" 2>/dev/null; do
    rm -f "$work/backup.wal"
    start=$(date +%s.%N)
    "$ctl" --addr="$addr" backup --out="$work/backup.wal" >"$work/backup" 2>&1 ||
      { cat "$work/backup"; kill "$load"; wait "$load" || true; exit 1; }
    end=$(date +%s.%N)
    # Only copies made while the writers ran count: the last one may end
    # after them.
    kill -0 "$load" 2>/dev/null || break
    bytes=$(grep -o '"bytes":[0-9]*' "$work/backup" | cut -d: -f2)
    copies+=("$(python3 -c "print(f'{$bytes / ($end - $start) / 2**20:.0f}')")")
    sizes+=("$((bytes >> 20))")
    taken=$((taken + 1))
  done
  wait "$load"
  # load_row ran in a subshell: its row is in its log.
  rate=$(tail -1 "$work/load" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records_per_second"])')
  with+=("$rate")
  round_sizes=""
  ((taken == 0)) || round_sizes=" of ${sizes[*]: -$taken} MiB"
  echo "writers with backups round $round: $rate calls/s, $taken backups while they ran$round_sizes"
done

((${#copies[@]} > 0)) || { echo "no backup ended while the writers ran: raise DURATION" >&2; exit 1; }
python3 - "${alone[*]}" "${with[*]}" "${copies[*]}" "${sizes[*]}" <<'EOF'
import statistics, sys
alone, with_, copies, sizes = ([float(x) for x in arg.split()] for arg in sys.argv[1:])
a, w, c = statistics.median(alone), statistics.median(with_), statistics.median(copies)
print(f"\n| row (median of rounds) | Sets/s at WRITE |\n|---|---:|")
print(f"| writers alone | {a:,.0f} |\n| writers while backups run back to back | {w:,.0f} |")
print(f"\nwith backups / alone: {w / a:.2f}x; backups: median {c:.0f} MiB/s "
      f"({len(copies)} taken while writers ran, of {min(sizes):.0f} to "
      f"{max(sizes):.0f} MiB, from {min(copies):.0f} to {max(copies):.0f} MiB/s)")
EOF
