#!/usr/bin/env bash
# Checks the Helm chart helm/persist without a cluster, Helm or kubectl:
#  1. helm/render, a renderer that does what `helm template` does (Go
#     text/template, sprig, Helm's functions and values rules, -f, --set,
#     --set-string, --set-file, values.schema.json, .Files, hooks), is tested
#     on a fixture chart, then built;
#  2. the chart is rendered with each values set in helm/persist/ci/, and
#     with each `helm install` command README.md's "Deploy on Kubernetes"
#     and helm/persist/README.md show (helm/readme_installs.py);
#  3. helm/validate checks every object against the Kubernetes v1.33 API
#     schemas (kubernetes-models, prometheus-operator's for ServiceMonitor
#     and PrometheusRule) with unknown fields refused, persistd.json against
#     persist.v1.ServerConfig, and the wiring (mounts, ports, probes,
#     selectors, what leaves the cluster, the NetworkPolicy, the test pod,
#     the rules and the dashboard);
#  4. promtool (Prometheus' own, from Debian's prometheus package, which is
#     downloaded and unpacked, not installed) parses every rule and dashboard
#     query, and unit-tests the chart's alerts (helm/promtool_check.py);
#     yamllint passes the rendered streams and the values files;
#  5. the real persistd (build/release, so build first: CI runs this after
#     scripts/test.sh) starts on what each rendered pod would get, serves
#     its maps, answers the readiness probe's port, passes the helm test
#     pod's checks, exports every metric the dashboard and the alerts query,
#     and stops cleanly. A values set whose first line is "# not started:
#     <why>" is rendered, validated and linted but not started;
#  6. negative tests: each helm/persist/ci/invalid/ set must fail to render
#     with the message its first line expects (values.schema.json's or the
#     templates'), and the validator must catch manifests broken on purpose.
# PERSISTD and PERSISTCTL name the binaries to start (default: the release
# build's, build/release/service/persistd and
# build/release/clients/cli/persistctl); point them at copies while a build
# may relink those.
# Installs what it needs from Debian (golang-go, sprig, sigs.k8s.io/yaml,
# gojsonschema, yamllint, and npm when there is none), unpacks promtool
# from Debian's prometheus package into a cache folder, and installs the
# validator's npm packages (npm ci, pinned by helm/validate/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
persistd=${PERSISTD:-build/release/service/persistd}
persistctl=${PERSISTCTL:-build/release/clients/cli/persistctl}

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
missing=()
for pkg in golang-go golang-github-masterminds-sprig-dev \
    golang-k8s-sigs-yaml-dev golang-github-xeipuuv-gojsonschema-dev yamllint; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
      | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if ! command -v npm >/dev/null; then missing+=(npm); fi
if ((${#missing[@]})); then
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chart=helm/persist
# Debian's Go libraries are a GOPATH tree; no module download happens.
export GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS=
if [[ -z ${HOME:-} && -z ${GOCACHE:-} ]]; then export GOCACHE=$work/gocache; fi

echo "check-helm-chart: the renderer against Helm's behaviour (helm/render)"
go vet ./helm/render
go test ./helm/render
go build -o "$work/render" ./helm/render

echo "check-helm-chart: the validator's packages (npm ci)"
(cd helm/validate && npm ci --no-audit --no-fund --loglevel=error)
validate=(node helm/validate/validate.mjs --proto-dir proto)

# Each values set, rendered as its own release (release names exercise the
# name helpers: "persist" and "my-persist" contain the chart name).
declare -A release=([default]=persist [tls]=my-persist)
sets=()
started=()
not_started=()
for values in "$chart"/ci/*-values.yaml; do
  set_name=$(basename "$values" -values.yaml)
  sets+=("$set_name")
  "$work/render" --chart "$chart" --name "${release[$set_name]:-$set_name}" \
    --namespace persist-ci -f "$values" -o "$work/$set_name.yaml"
  if why=$(sed -n '1s/^# not started: //p' "$values") && [[ -n $why ]]; then
    not_started+=("$set_name ($why)")
  else
    started+=("$set_name")
  fi
done
echo "check-helm-chart: rendered ${#sets[@]} values sets: ${sets[*]}"

echo "check-helm-chart: the READMEs' helm install commands (helm/readme_installs.py)"
readme_lines=$(python3 helm/readme_installs.py --render "$work/render" \
  --out "$work" --chart "$chart" README.md "$chart/README.md")
echo "$readme_lines"
readme_sets=()
while read -r set_name _; do readme_sets+=("$set_name"); done <<<"$readme_lines"
sets+=("${readme_sets[@]}")
started+=("${readme_sets[@]}")

lines=()
for set_name in "${sets[@]}"; do
  if ! line=$("${validate[@]}" "$work/$set_name.yaml"); then
    echo "check-helm-chart: $set_name: the rendered chart is invalid (above)" >&2
    exit 1
  fi
  lines+=("$line")
done

echo "check-helm-chart: the real persistd on each rendered pod (helm/persistd_starts.py, $persistd)"
rendered=()
for set_name in "${started[@]}"; do rendered+=("$work/$set_name.yaml"); done
python3 helm/persistd_starts.py --persistctl "$persistctl" "$persistd" "${rendered[@]}"
for skipped in "${not_started[@]}"; do
  echo "check-helm-chart: not started: $skipped"
done

echo "check-helm-chart: PromQL of the alerts and the dashboard (promtool, helm/promtool_check.py)"
# promtool alone, out of Debian's prometheus package (unpacked, so that no
# Prometheus server is installed or started), kept between runs.
cache=${XDG_CACHE_HOME:-${HOME:-$work}/.cache}/persist-check-helm
promtool=$cache/promtool
if [[ ! -x $promtool ]]; then
  mkdir -p "$cache"
  if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
    $sudo apt-get update -q >/dev/null
    (cd "$work" && apt-get download prometheus >/dev/null)
  fi
  dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb \
    | tar -x -O ./usr/bin/promtool >"$promtool.tmp"
  chmod +x "$promtool.tmp"
  mv "$promtool.tmp" "$promtool"
fi
all=()
for set_name in "${sets[@]}"; do all+=("$work/$set_name.yaml"); done
promql=$(python3 helm/promtool_check.py "$promtool" "${all[@]}")
echo "$promql"
promql_sets=$(grep -c 'unit tests' <<<"$promql" || true)

echo "check-helm-chart: yamllint (helm/yamllint.yaml)"
yamllint -c helm/yamllint.yaml -f parsable --strict \
  "$work"/*.yaml "$chart/values.yaml" "$chart/Chart.yaml" "$chart/ci"

echo "check-helm-chart: values the chart must refuse ($chart/ci/invalid)"
refused=0
for values in "$chart"/ci/invalid/*-values.yaml; do
  expected=$(sed -n '1s/^# expect: //p' "$values")
  if [[ -z $expected ]]; then
    echo "check-helm-chart: $values: its first line must be '# expect: <message>'" >&2
    exit 1
  fi
  if out=$("$work/render" --chart "$chart" -f "$values" 2>&1); then
    echo "check-helm-chart: $values rendered; it must fail with: $expected" >&2
    exit 1
  fi
  if [[ $out != *"$expected"* ]]; then
    echo "check-helm-chart: $values failed otherwise than expected ($expected):" >&2
    echo "$out" >&2
    exit 1
  fi
  refused=$((refused + 1))
done
echo "check-helm-chart: $refused invalid values sets refused with their messages"

echo "check-helm-chart: the validator catches broken manifests"
# End to end, through the command line: a misspelled probe field and a
# string where an integer belongs must fail the run.
sed -e 's/^\(            \)periodSeconds: 10$/\1periodSecond: 10/' \
  -e 's/^\(              \)containerPort: 9090$/\1containerPort: "9090"/' \
  "$work/default.yaml" >"$work/broken.yaml"
if cmp -s "$work/default.yaml" "$work/broken.yaml"; then
  echo "check-helm-chart: could not break the default rendering (sed matched nothing)" >&2
  exit 1
fi
if "${validate[@]}" "$work/broken.yaml" >"$work/broken.log" 2>&1; then
  echo "check-helm-chart: the validator passed a broken manifest" >&2
  exit 1
fi
for expected in 'unknown field /spec/template/spec/containers/0/livenessProbe/periodSecond' \
    'containers/0/ports/1/containerPort must be integer'; do
  if ! grep -qF -- "$expected" "$work/broken.log"; then
    echo "check-helm-chart: the validator did not report: $expected" >&2
    cat "$work/broken.log" >&2
    exit 1
  fi
done
# In process, each of the validator's list of breakages, each applied to the
# first stream that has what it breaks.
selftest=$("${validate[@]}" --self-test "${all[@]}")
echo "$selftest"
caught=${selftest#self-test: }
caught=$((2 + ${caught%% passed*}))

printf 'check-helm-chart: %s\n' "${lines[@]}"
echo "check-helm-chart: $((${#sets[@]} - ${#readme_sets[@]})) values sets and ${#readme_sets[@]} README install commands rendered and validated, ${#started[@]} served by persistd (${#not_started[@]} not started), promtool: alerts unit-tested and PromQL parsed in $promql_sets streams, $refused invalid sets refused, $caught broken manifests caught, yamllint clean"
