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
  # The peers of bench/compare_peers.sh: redis-server and redis-benchmark,
  # and etcd (whose .proto files are fetched below).
  redis-server redis-tools etcd-server
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

# etcd's v3 API as .proto files, for the etcd client of bench/grpc_load
# (proto/etcd/). Debian ships them in golang-etcd-server-dev, whose
# dependencies are 120 Go source packages (75 MB) that nothing here uses: so
# unless that package is installed, its archive (0.9 MB) is fetched with
# apt-get download and only its .proto files are unpacked, here.
etcd_debian=/usr/share/gocode/src/go.etcd.io/etcd
etcd_fetched=/usr/local/share/persist/etcd-proto
etcd_protos=(etcdserver/etcdserverpb/rpc.proto mvcc/mvccpb/kv.proto
  auth/authpb/auth.proto)
# Fetched unless every file is there (a fetch cut short is done again).
fetch_etcd=false
if [[ ! -f $etcd_debian/${etcd_protos[0]} ]]; then
  for proto in "${etcd_protos[@]}"; do
    [[ -f $etcd_fetched/$proto ]] || fetch_etcd=true
  done
fi

if ((${#missing[@]} == 0)) && ! $fetch_etcd; then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if $fetch_etcd; then
  echo "install-deps: fetching etcd's .proto files (golang-etcd-server-dev) into $etcd_fetched" >&2
  download=$(mktemp -d)
  trap 'rm -rf "$download"' EXIT
  (cd "$download" && apt-get download -q golang-etcd-server-dev)
  dpkg-deb -x "$download"/golang-etcd-server-dev_*.deb "$download/tree"
  for proto in "${etcd_protos[@]}"; do
    $sudo install -D -m 0644 "$download/tree$etcd_debian/$proto" "$etcd_fetched/$proto"
  done
fi
