#!/usr/bin/env bash
# Checks that scripts/runtime-deps.sh installs every package whose
# libraries the built persistd and persistctl load (ldd), besides those
# every Debian image has. Run after a release build; CI runs it, so that
# the Dockerfile's runtime stage cannot lack a library.
set -euo pipefail
cd "$(dirname "$0")/.."
binaries=(build/release/service/persistd build/release/clients/cli/persistctl)
# In debian:12-slim already.
base="libc6 libgcc-s1 libstdc++6"
listed=" $(scripts/runtime-deps.sh --list | tr '\n' ' ') $base "

owner() {  # the package owning library $1 (usrmerge: /lib is /usr/lib)
  local path
  for path in "$1" "$(readlink -f "$1")" "/usr$1"; do
    if dpkg -S "$path" >/dev/null 2>&1; then
      dpkg -S "$path" | head -1 | cut -d: -f1
      return
    fi
  done
  echo "unknown($1)"
}

missing=()
for binary in "${binaries[@]}"; do
  [[ -x $binary ]] || { echo "check-runtime-deps: build $binary first" >&2; exit 2; }
  # Not in a process substitution: a failing ldd must fail the check.
  loaded=$(ldd "$binary")
  if grep -q "not found" <<<"$loaded"; then
    echo "check-runtime-deps: $binary loads a library this machine lacks:" >&2
    grep "not found" <<<"$loaded" >&2
    exit 1
  fi
  while read -r library; do
    package=$(owner "$library")
    if [[ $listed != *" $package "* ]]; then
      missing+=("$package (for $library, loaded by $binary)")
    fi
  done < <(awk '/=>/ && $3 ~ /^\// {print $3}' <<<"$loaded" | sort -u)
done

if ((${#missing[@]} > 0)); then
  echo "check-runtime-deps: add to scripts/runtime-deps.sh:" >&2
  printf '  %s\n' "${missing[@]}" | sort -u >&2
  exit 1
fi
echo "check-runtime-deps: scripts/runtime-deps.sh covers every library of ${binaries[*]}"
