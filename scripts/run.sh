#!/usr/bin/env bash
# Installs what is missing, builds persist (Release) and starts the main
# program. For now that is the embedded store demo (a store on the example
# schema in ./persist-demo.wal); the service issue makes it persistd.
# Arguments are passed to the program.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target store_demo
exec build/release/examples/store_demo "$@"
