#!/usr/bin/env bash
# Lints the Dockerfile with dockerfile-utils (the parser behind the Docker
# language server, from the npm registry; no docker engine is needed).
# Fails on warnings as well as errors. Installs Debian's npm first if this
# machine has none.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npx >/dev/null; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends npm
fi
problems=$(npx --yes dockerfile-utils@0.16.3 lint --json Dockerfile)
if [[ $problems != "[]" ]]; then
  npx --yes dockerfile-utils@0.16.3 lint Dockerfile || true
  echo "lint-dockerfile: the Dockerfile has problems (above): $problems" >&2
  exit 1
fi
echo "lint-dockerfile: Dockerfile has no problems"
