#!/usr/bin/env bash
# clang-tidy with the repo's .clang-tidy over the engine, the service and
# replication (storage/, service/, replication/: what CI runs), or over
# every file of the tree with --all. Uses the compile commands of the clang
# build (build/asan: CI builds it first; so must you). Every finding is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/asan/compile_commands.json ]]; then
  echo "check-tidy: build the asan preset first (cmake --preset asan && cmake --build --preset asan)" >&2
  exit 1
fi
files='(storage|service|replication)/'
if [[ ${1:-} == --all ]]; then
  files='(base|json|storage|service|replication|clients|tests|bench|examples)/'
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! run-clang-tidy -p build/asan -quiet -j "$(nproc)" "^$PWD/$files.*\.cc\$" \
    >"$log" 2>&1; then
  # Without its colours; each finding once (headers are seen many times).
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '(warning|error):' |
    grep -v '^Error while processing' | sort -u | head -100
  echo "check-tidy: clang-tidy found problems (above)" >&2
  exit 1
fi
echo "check-tidy: $(grep -c '^clang-tidy' "$log" || true) files clean ($files)"
