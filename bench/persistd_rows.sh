# Sourced by the bench/ scripts that drive persistd: the build and the
# header every result carries, a fresh persistd per row, and a grpc_load
# run against it. The caller sets CLIENTS, VALUE_SIZE, DURATION, KEYS and
# `work` (a scratch folder), and traps EXIT to call stop.

# Installs what is missing, builds the targets named, and prints the
# machine and the date (the caller prints its command line first).
build_and_describe() {
  scripts/install-deps.sh
  cmake --preset release >/dev/null
  cmake --build --preset release --target "$@" >/dev/null
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) hardware threads; client and server share it"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

pids=()  # the servers of the row running
launcher=()  # a command persistd runs under, such as valgrind

# Stops the servers a row started.
stop() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts persistd on an empty data file in folder $1 with the flags that
# follow, and sets `addr` to where it serves once it has loaded.
start_persistd() {
  local dir=$1 line
  shift
  addr=""
  mkdir -p "$dir"
  mkfifo "$dir/out"
  "${launcher[@]}" "${PERSISTD:-build/release/service/persistd}" --listen=127.0.0.1:0 \
    --data="$dir/data.wal" "$@" >"$dir/out" 2>"$dir/err" &
  pids+=($!)
  exec 3<"$dir/out"
  while read -r line <&3; do  # "persistd: serving HOST:PORT, ..."
    if [[ $line == *"serving "* ]]; then
      addr=$(sed -E 's/.*serving ([0-9.]+:[0-9]+).*/\1/' <<<"$line")
      break
    fi
  done
  [[ -n $addr ]] || { cat "$dir/err"; exit 1; }
  cat <&3 >/dev/null &  # keep draining its output
  exec 3<&-
}

# persistd's CPU time so far (user + system), in clock ticks.
persistd_cpu_ticks() {
  awk '{print $14 + $15}' "/proc/${pids[0]}/stat"
}

# Sets row to "records/s p50_ms p99_ms" (calls/s unless --batch) for
# grpc_load's Sets at durability $2
# against persistd at `addr`, logging to folder $1, with the grpc_load flags
# that follow (such as --prefill --read_percent=100); and cpu_us_per_call to
# persistd's CPU time per call (less noisy than throughput on a shared
# machine: the warmup second's calls are estimated at the measured rate; a
# prefill's calls are counted in the time, so it means nothing with one).
load_row() {
  local ticks_before folder=$1 durability=$2
  shift 2
  ticks_before=$(persistd_cpu_ticks)
  if ! build/release/bench/grpc_load --addr="$addr" --clients="$CLIENTS" \
    --connections=1 --threads=2 --durability="$durability" \
    --value_size="$VALUE_SIZE" --keys="$KEYS" --duration="${DURATION}s" \
    "$@" >"$folder/load" 2>&1; then
    cat "$folder/load" "$folder/err" 2>/dev/null
    exit 1
  fi
  row=$(tail -1 "$folder/load" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["records_per_second"], r["p50_ms"], r["p99_ms"])')
  cpu_us_per_call=$(python3 -c "import sys; ticks, rate, seconds, hz = map(float, sys.argv[1:]); print(f'{ticks / hz * 1e6 / (rate * seconds):.2f}')" \
    "$(($(persistd_cpu_ticks) - ticks_before))" "${row%% *}" \
    "$((DURATION + 1))" "$(getconf CLK_TCK)")
}
