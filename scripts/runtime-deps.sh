#!/usr/bin/env bash
# Installs, from Debian 12's packages, what persistd and persistctl need to
# run (not to build): the runtime stage of the Dockerfile uses it.
# scripts/check-runtime-deps.sh, run by CI, checks this list against the
# libraries the built binaries load, so that the image cannot lack one.
# `--list` prints the packages instead.
set -euo pipefail

packages=(
  libabsl20220623 libbrotli1 libc-ares2 libcpp-httplib0.11 libgrpc++1.51
  libgrpc29 libprotobuf32
  libre2-9 libssl3 libtcmalloc-minimal4 zlib1g
)

if [[ ${1:-} == --list ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
$sudo rm -rf /var/lib/apt/lists/*
