#!/usr/bin/env bash
# Installs what is missing, builds persistd and its tools (Release) and
# starts persistd on its embedded default: the example schema (map "users"
# of example.v1.User) on 127.0.0.1:50051, with its data in ./persist.wal.
# Arguments are passed to persistd (for example --listen=0.0.0.0:50051 or
# --data=/tmp/my.wal; see `persistd --help`). Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target persistd persistctl client_demo \
  persist_python
cat >&2 <<'HOW'

persistd is starting (example schema: map "users" of example.v1.User).
Talk to it from another terminal:
  build/release/clients/cli/persistctl set users ada '{"name":"Ada","email":"ada@example.org","age":36}'
  build/release/clients/cli/persistctl get users ada
  build/release/clients/cli/persistctl list users
  build/release/examples/client_demo                     # C++ client
  PYTHONPATH=build/release/clients/python/generated:clients/python \
    /usr/bin/python3 examples/python_client_demo.py      # Python client
  (add --addr=HOST:PORT to persistctl if you changed --listen)
Ctrl-C stops persistd: it finishes calls, flushes, fsyncs and exits.

HOW
exec build/release/service/persistd "$@"
