#!/usr/bin/env bash
# `cmake --install` of build/release into a scratch prefix, then two small
# programs of someone else's built against it, outside this tree: one with
# find_package(persist) and persist::client (run against a real persistd
# from the prefix), one with persist::storage; and the engine's program
# once more with pkg-config alone. Run after scripts/test.sh (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
persistd_pid=""
cleanup() {
  if [[ -n $persistd_pid ]]; then kill "$persistd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

prefix=$work/prefix
cmake --install build/release --prefix "$prefix" >/dev/null
for program in client storage; do
  cmake -S "tests/install/$program" -B "$work/$program" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$work/$program" >/dev/null
done

# The engine: write, reopen, read.
[[ $("$work/storage/storage_user" "$work/data.wal") == hello ]]

# The client, against the installed persistd on a free port.
"$prefix/bin/persistd" --listen=127.0.0.1:0 --data="$work/served.wal" \
  >"$work/persistd.log" 2>&1 &
persistd_pid=$!
for _ in $(seq 600); do
  if grep -q "serving " "$work/persistd.log"; then break; fi
  if ! kill -0 "$persistd_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
address=$(grep -o 'serving [0-9.]*:[0-9]*' "$work/persistd.log" | head -1 |
  cut -d' ' -f2)
[[ -n $address ]] || { cat "$work/persistd.log"; exit 1; }
[[ $("$work/client/client_user" "$address") == "users example.v1.User" ]]

# pkg-config alone.
PKG_CONFIG_PATH=$prefix/lib/pkgconfig c++ -std=c++20 \
  tests/install/storage/storage_user.cc -o "$work/storage_user_pc" \
  $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig \
    pkg-config --cflags --libs --static persist-storage)
[[ $("$work/storage_user_pc" "$work/pc.wal") == hello ]]
echo "check-install: persist::client and persist::storage built and ran from an installed prefix (CMake and pkg-config)"
