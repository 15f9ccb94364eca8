#!/usr/bin/env bash
# CI smoke run of the benchmarks (issue 6): every bench runs for a few
# seconds so none of them rots. No verdict: CI machines are shared and the
# figures mean nothing here; docs/PERFORMANCE.md comes from `scripts/bench.sh`.
# One verdict it does give: the durable writes per operation (counts).
# The smoke run builds with the dev profile and so reuses what `cargo test`
# built; the Windows DLL's size is left to the full run (ci-ffi builds and
# checks the DLL). Installs valgrind (callgrind) when it is missing; anything
# it cannot do is printed as a SKIPPED line with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."

need=()
command -v valgrind > /dev/null 2>&1 || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get > /dev/null 2>&1; then
    echo "installing ${need[*]}"
    (timeout 900 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq "${need[@]}") > /dev/null 2>&1 \
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
# Durable writes per operation are counts, not timings: CI holds them to
# the budget of issue 20 (docs/DESIGN.md, "The journal").
writes=${CARGO_TARGET_DIR:-target}/bench/durable-writes.txt
if [ ! -s "$writes" ]; then
  echo "durable-write counts missing ($writes): the durable bench did not run" >&2
  exit 1
fi
over=$(awk '{split($2,a,"="); split($3,b,"="); if (a[2] + 0 > b[2] + 0) print}' "$writes")
if [ -n "$over" ]; then
  echo "durable writes over budget:" >&2; echo "$over" >&2
  exit 1
fi
echo "durable writes within budget: $(awk '{print $2}' "$writes" | tr '\n' ' ')"
echo "bench smoke run finished in $(( $(date +%s) - start ))s (figures are not judged in CI)"
