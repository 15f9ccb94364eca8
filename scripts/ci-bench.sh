#!/usr/bin/env bash
# CI smoke run of the benchmarks (issue 6): every bench runs for a few
# seconds so none of them rots. No verdict: CI machines are shared and the
# figures mean nothing here; docs/PERFORMANCE.md comes from `scripts/bench.sh`.
# Installs what it can (valgrind, mingw-w64 via apt-get); anything it cannot
# do is printed as a SKIPPED line with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."

need=()
command -v valgrind > /dev/null 2>&1 || need+=(valgrind)
command -v x86_64-w64-mingw32-gcc > /dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get > /dev/null 2>&1; then
    echo "installing ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") > /dev/null 2>&1 \
      || echo "SKIPPED install of ${need[*]}: apt-get failed (the benches that need them will say SKIPPED)"
  else
    echo "SKIPPED install of ${need[*]}: no apt-get"
  fi
fi

start=$(date +%s)
bash scripts/bench.sh --quick
rc=$?
out=${CARGO_TARGET_DIR:-target}/bench/PERFORMANCE-quick.md
[ -f "$out" ] && { echo; cat "$out"; echo; }
if [ $rc -ne 0 ]; then
  echo "bench smoke run FAILED (exit $rc): a bench broke, see above" >&2
  exit 1
fi
echo "bench smoke run finished in $(( $(date +%s) - start ))s (figures are not judged in CI)"
