#!/usr/bin/env bash
# clang-format (the repo's .clang-format: Google style) over every C++ file
# of the tree. Without arguments it lists the files that differ and fails;
# with --fix it rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends clang-format
fi
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [[ ${1:-} == --fix ]]; then
  clang-format --style=file -i "${files[@]}"
  exit 0
fi
differ=()
for file in "${files[@]}"; do
  if ! clang-format --style=file "$file" | cmp -s - "$file"; then
    differ+=("$file")
  fi
done
if ((${#differ[@]})); then
  printf 'check-format: not clang-format clean (run scripts/check-format.sh --fix):\n'
  printf '  %s\n' "${differ[@]}"
  exit 1
fi
echo "check-format: ${#files[@]} files clang-format clean"
