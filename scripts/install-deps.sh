#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever persist needs to build, test
# and benchmark. A no-op when everything is already installed. Used by the
# README's commands, by .ci/run and by the Dockerfile, so that all of them
# build against exactly the same set of packages.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc
  libprotobuf-dev libprotoc-dev protobuf-compiler
  rapidjson-dev libabsl-dev
  # persistd's Prometheus endpoint (service/metrics_endpoint.cc).
  libcpp-httplib-dev
  # tcmalloc, which persistd links (service/CMakeLists.txt).
  libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # The embedded peers of bench/seed_scenario.
  librocksdb-dev liblmdb-dev
  # The peer of bench/compare_redis.sh: redis-server and redis-benchmark.
  redis-server redis-tools
  # Test certificates for persistd's TLS tests.
  openssl
  # The Python client and its test.
  python3 python3-grpcio python3-protobuf
  # clang for the libFuzzer target and the -Wthread-safety build.
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
