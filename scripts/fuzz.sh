#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each, one at a time,
# at the lowest CPU priority, starting from the committed seeds
# (fuzz/seeds/TARGET, from simulator traffic) plus the local corpus
# (fuzz/corpus/TARGET, not committed; new inputs go there).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none (about twice the speed; our
#                   code and its parsers are safe Rust, so ASan finds little
#                   that a panic would not)
#   FUZZ_RECORD=1   append "date target sanitizer seconds executions" to
#                   fuzz/executions.tsv (the running total is summed from it)
# Exit status: non-zero when a target finds a crash (the input is kept in
# fuzz/artifacts/TARGET/); reproduce with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
san="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-$san"
command -v cargo-fuzz >/dev/null 2>&1 || {
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi
if ! build_log=$(cd fuzz && nice -n 19 cargo fuzz build -O -s "$san" 2>&1); then
  echo "building the fuzz targets failed:" >&2
  echo "$build_log" | tail -30 >&2
  exit 1
fi
host=$(rustc -vV | sed -n 's/^host: //p')
# The built binaries are copied and run from the copy: a rebuild or an edit
# of the sources during a long run does not change what is being fuzzed.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
for t in "${targets[@]}"; do
  cp "$CARGO_TARGET_DIR/$host/release/$t" "$bin/"
done
status=0
printf '%-18s %12s %10s\n' target executions exec/s
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/artifacts/$t"
  log="$(mktemp)"
  set +e
  # 1 MiB of stack, as a thread of a Windows till has by default: input
  # that recurses deeply must fail here too, not only on the till.
  (cd fuzz && ulimit -s 1024 && nice -n 19 "$bin/$t" -artifact_prefix="artifacts/$t/" \
      -max_total_time="$secs" -max_len=16384 -print_final_stats=1 \
      "corpus/$t" "seeds/$t" >"$log" 2>&1)
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  rate=$(( execs / (secs > 0 ? secs : 1) ))
  printf '%-18s %12d %10d\n' "$t" "$execs" "$rate"
  if [ "$rc" -ne 0 ]; then
    echo "!! $t failed (exit $rc); last lines:" >&2
    tail -40 "$log" >&2
    status=1
  fi
  if [ "${FUZZ_RECORD:-0}" = 1 ]; then
    printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$san" "$secs" "$execs" >>fuzz/executions.tsv
  fi
  rm -f "$log"
done
exit "$status"
