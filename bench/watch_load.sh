#!/usr/bin/env bash
# Watch's costs against one fresh persistd: its writers' Sets/s with no
# watcher, one and WATCHERS, in alternating rounds; events/s; the latency
# from a Set's answer to its event; persistd's memory per idle watcher.
#
#   bench/watch_load.sh
#   DURABILITY=memory WATCHERS=100 WRITERS=16 DURATION=5 ROUNDS=3 IDLE=5000 bench/watch_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURABILITY=${DURABILITY:-write}
WATCHERS=${WATCHERS:-100}
WRITERS=${WRITERS:-16}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-5000}

source bench/persistd_rows.sh
echo "command: $0 (DURABILITY=$DURABILITY WATCHERS=$WATCHERS WRITERS=$WRITERS DURATION=$DURATION ROUNDS=$ROUNDS IDLE=$IDLE)"
build_and_describe persistd watch_load
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with changes)')"

work=$(mktemp -d)
cleanup() {
  stop
  rm -rf "$work"
}
trap cleanup EXIT
start_persistd "$work/persistd"
build/release/bench/watch_load --addr="$addr" --persistd_pid="${pids[0]}" \
  --durability="$DURABILITY" --watchers="$WATCHERS" --writers="$WRITERS" \
  --duration="${DURATION}s" --rounds="$ROUNDS" --idle_watchers="$IDLE"
