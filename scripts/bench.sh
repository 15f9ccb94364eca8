#!/usr/bin/env bash
# Runs every benchmark of issue 6 and writes docs/PERFORMANCE.md.
#
#   scripts/bench.sh           full run (about 10 minutes on 2 cores), writes docs/PERFORMANCE.md
#   scripts/bench.sh --quick   smoke run (seconds per bench), writes
#                              $CARGO_TARGET_DIR/bench/PERFORMANCE-quick.md, no verdict
#
# Every figure that compares is a ratio measured interleaved in one run, so a
# busy machine moves both sides alike. Instruction counts (callgrind) do not
# depend on the machine's load at all. Network traffic: 127.0.0.1 only.
# A figure that cannot be measured here prints a SKIPPED/not-measured line
# with the reason and the run goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
export CARGO_TERM_COLOR=never
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
export CARGO_TARGET_DIR=$TARGET
OUT=$TARGET/bench
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
QARG=()
[ $QUICK = 1 ] && QARG=(--quick)
# The full run builds with the release profile (LTO, 1 codegen unit), as the
# library ships. The smoke run only has to prove every bench still builds and
# runs, so it uses the dev profile and reuses what `cargo test` built: no
# second optimised build of the whole dependency tree in CI.
if [ $QUICK = 1 ]; then PROFILE=dev PROFILE_DIR=debug; else PROFILE=release PROFILE_DIR=release; fi
export BENCH_PROFILE=$PROFILE BENCH_PROFILE_DIR=$PROFILE_DIR

note() { echo "== $*" >&2; }
result() { echo "$1" >> "$RESULTS"; }              # one JSON object per line
skipped() {                                          # key, reason
  echo "SKIPPED $1: $2" >&2
  result "{\"key\":\"$1\",\"skipped\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$2")}"
}
FAILURES=0
failed() {                                           # key, reason: a bench that broke
  FAILURES=$((FAILURES + 1))
  echo "FAILED $1: $2" >&2
  result "{\"key\":\"$1\",\"skipped\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "FAILED: $2")}"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- machine
result "$(python3 - "$QUICK" "$(loadavg)" <<'PY'
import json, os, subprocess, sys
cpu = "unknown"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip(); break
def run(*c):
    try: return subprocess.run(c, capture_output=True, text=True).stdout.strip()
    except Exception: return "unknown"
print(json.dumps({"key": "machine", "nproc": os.cpu_count(), "cpu": cpu,
  "mhz": next((l.split(":",1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("cpu MHz")), "?"),
  "load_start": sys.argv[2], "kernel": run("uname", "-r"), "rustc": run("rustc", "--version"),
  "commit": run("git", "rev-parse", "--short", "HEAD"), "quick": sys.argv[1] == "1",
  "date": run("date", "-u", "+%Y-%m-%d %H:%M UTC")}))
PY
)"

# ---------------------------------------------------------------- build
note "building the benches (profile $PROFILE)"
cargo bench --profile "$PROFILE" --no-run --message-format=json > "$OUT/build.json" 2> "$OUT/build.log" || {
  tail -30 "$OUT/build.log" >&2; echo "build failed" >&2; exit 1; }
exe() { python3 - "$1" "$OUT/build.json" <<'PY'
import json, sys
for l in open(sys.argv[2]):
    try: m = json.loads(l)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1] \
       and "bench" in m["target"]["kind"]:
        print(m["executable"])
PY
}

# ---------------------------------------------------------------- 1. protocol CPU, µs
note "1. protocol CPU per payment (criterion)"
rm -rf "$TARGET/criterion/pay"
if "$(exe protocol)" --bench "${QARG[@]}" > "$OUT/protocol.log" 2>&1; then
  result "$(python3 - "$TARGET/criterion/pay" <<'PY'
import json, os, sys
d = {"key": "protocol_us"}
for name in ("client_cpu", "seal_request", "open_response"):
    p = os.path.join(sys.argv[1], name, "new", "estimates.json")
    try:
        e = json.load(open(p))
        d[name] = round(e["median"]["point_estimate"] / 1000, 2)
        d[name + "_lo"] = round(e["median"]["confidence_interval"]["lower_bound"] / 1000, 2)
        d[name + "_hi"] = round(e["median"]["confidence_interval"]["upper_bound"] / 1000, 2)
    except (OSError, KeyError, ValueError):
        pass
print(json.dumps(d))
PY
)"
else
  tail -20 "$OUT/protocol.log" >&2; failed protocol_us "criterion bench failed (see $OUT/protocol.log)"
fi

# ---------------------------------------------------------------- 1. protocol CPU, instructions
note "1. protocol instructions per payment (callgrind)"
if command -v valgrind > /dev/null 2>&1; then
  BIN=$(exe protocol_instr)
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 \
            | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
  N1=10; N2=210; [ $QUICK = 1 ] && N2=60
  line="{\"key\":\"protocol_instr\",\"n\":$((N2 - N1))"
  for part in pay seal open xml_outer xml_inner; do
    a=$(count $N1 $part); b=$(count $N2 $part)
    if [ -n "$a" ] && [ -n "$b" ]; then line="$line,\"$part\":$(( (b - a) / (N2 - N1) ))"; fi
  done
  result "$line}"
else
  skipped protocol_instr "valgrind not installed"
fi

# ---------------------------------------------------------------- 2. round trip vs floor
note "2. round trip through Client vs bare POST (loopback, interleaved)"
"$(exe roundtrip)" "${QARG[@]}" 2>&1 | tee "$OUT/roundtrip.log" | grep -v '^BENCH-RESULT' >&2
grep '^BENCH-RESULT ' "$OUT/roundtrip.log" | sed 's/^BENCH-RESULT //' >> "$RESULTS" \
  || failed roundtrip "bench failed (see $OUT/roundtrip.log)"

# ---------------------------------------------------------------- 3. C ABI
note "3. the same pay through the C ABI"
if [ -f include/ystpay.h ] && [ -d src/ffi ] && [ -f benches/c/pay_bench.c ]; then
  bash scripts/bench-c.sh "$OUT" "$QUICK" >> "$RESULTS" || failed c_abi "C ABI bench failed (see $OUT/c-abi.log)"
else
  skipped c_abi "not measured: no include/ystpay.h or src/ffi in this checkout"
fi

# ---------------------------------------------------------------- 4. simulator throughput
note "4. simulator throughput, concurrent clients, 2 cores"
"$(exe throughput)" "${QARG[@]}" 2>&1 | tee "$OUT/throughput.log" | grep -v '^BENCH-RESULT' >&2
grep '^BENCH-RESULT ' "$OUT/throughput.log" | sed 's/^BENCH-RESULT //' >> "$RESULTS" \
  || failed throughput "bench failed (see $OUT/throughput.log)"

# ---------------------------------------------------------------- 4b. disk and link (issue 20)
note "4b. durable writes per operation, slow disk, idle link (issue 20)"
"$(exe durable)" "${QARG[@]}" 2>&1 | tee "$OUT/durable.log" | grep -v '^BENCH-RESULT' >&2
grep '^DURABLE-WRITES ' "$OUT/durable.log" > "$OUT/durable-writes.txt" || true
grep '^BENCH-RESULT ' "$OUT/durable.log" | sed 's/^BENCH-RESULT //' >> "$RESULTS" \
  || failed durable "bench failed (see $OUT/durable.log)"

# ---------------------------------------------------------------- 5. settle flow
note "5. settle flow: detection delay and queries (password scenario)"
FLOW_BENCH=$(python3 - "$OUT/build.json" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    try: m = json.loads(l)
    except ValueError: continue
    t = m.get("target", {})
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in t.get("kind", []) \
       and t.get("name") in ("detection", "flow", "settle"):
        print(m["executable"]); break
PY
)
if [ -n "$FLOW_BENCH" ]; then
  # The flow's own bench (benches/detection.rs) prints a table; its rows are read here.
  n=300; [ $QUICK = 1 ] && n=20
  YSTPAY_BENCH_PAYMENTS=$n "$FLOW_BENCH" "${QARG[@]}" > "$OUT/flow.log" 2>&1
  cat "$OUT/flow.log" >&2
  python3 - "$OUT/flow.log" >> "$RESULTS" <<'PY' || failed flow "could not read the flow bench's output (see $OUT/flow.log)"
import json, re, sys
rows = []
for l in open(sys.argv[1]):
    if l.startswith("BENCH-RESULT "):
        print(l[len("BENCH-RESULT "):].strip()); sys.exit(0)
    m = re.match(r"^(\S.*?)\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)\s*$", l)
    if m:
        rows.append({"schedule": m.group(1), "median_s": float(m.group(2)), "p95_s": float(m.group(3)),
                     "mean_s": float(m.group(4)), "max_s": float(m.group(5)), "queries": float(m.group(6))})
if not rows:
    sys.exit(1)
print(json.dumps({"key": "flow", "rows": rows}))
PY
else
  skipped flow "not measured: the detection bench was not built"
fi
if PS=$(exe poll_schedule) && [ -n "$PS" ]; then
  "$PS" 2>&1 | tee "$OUT/poll_schedule.log" | grep -v '^BENCH-RESULT' >&2
  grep '^BENCH-RESULT ' "$OUT/poll_schedule.log" | sed 's/^BENCH-RESULT //' >> "$RESULTS" || true
fi

# ---------------------------------------------------------------- 6. footprint
note "6. footprint: stripped libystpay.so and ystpay.dll"
# The shipped libraries come from scripts/build-lib.sh (each crate type built
# alone, so that cargo applies LTO); plain `cargo build`, which builds the
# rlib, cdylib and staticlib at once without LTO, is measured for comparison.
size_of() { # KEY FILE STRIP-TOOL
  cp "$2" "$OUT/$1.bin" && "$3" "$OUT/$1.bin" \
    && result "{\"key\":\"$1\",\"bytes\":$(stat -c %s "$OUT/$1.bin")}"
}
# What ships for Windows: the Windows 7 target (docs/C-ABI.md, "Windows"),
# whose standard library is built from rust-src (scripts/win7-env.sh).
WIN=x86_64-win7-windows-gnu
if [ $QUICK = 0 ] && ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  rustup component add rust-src > "$OUT/dll.log" 2>&1 || true
fi
if [ $QUICK = 1 ]; then
  # A release cross build of every dependency takes minutes; scripts/ci-windows.sh
  # already builds the DLL for both Windows targets and checks it.
  skipped so_plain_size "smoke run: the comparison build is left to the full run"
  skipped dll_size "smoke run: the Windows release build is left to the full run (ci-windows builds and checks the DLL)"
  skipped dll_plain_size "smoke run"
else
  # The plain builds first: the shipped build, made last, is what stays in
  # target/ (for scripts/install-c.sh).
  if cargo build --release --lib -p ystpay >> "$OUT/so.log" 2>&1; then
    size_of so_plain_size "$TARGET/release/libystpay.so" strip
  else
    failed so_plain_size "cargo build --release failed (see $OUT/so.log)"
  fi
  if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
    skipped dll_size "rust-src (needed to build the $WIN standard library) not installed and cannot be downloaded here"
    skipped dll_plain_size "rust-src not installed"
  elif ! command -v x86_64-w64-mingw32-gcc > /dev/null 2>&1; then
    skipped dll_size "mingw-w64 (x86_64-w64-mingw32-gcc) not installed"
    skipped dll_plain_size "mingw-w64 not installed"
  else
    if (eval "$(scripts/win7-env.sh $WIN)" \
        && cargo build --release --lib -p ystpay --target $WIN -Zbuild-std=std,panic_unwind) >> "$OUT/dll.log" 2>&1; then
      size_of dll_plain_size "$TARGET/$WIN/release/ystpay.dll" x86_64-w64-mingw32-strip
    else
      failed dll_plain_size "plain cross build failed (see $OUT/dll.log)"
    fi
    if DLL=$(bash scripts/build-lib.sh --target $WIN --no-static 2>> "$OUT/dll.log" | grep '\.dll$'); then
      size_of dll_size "$DLL" x86_64-w64-mingw32-strip
    else
      tail -20 "$OUT/dll.log" >&2; failed dll_size "cross build failed (see $OUT/dll.log)"
    fi
  fi
fi

if SO=$(bash scripts/build-lib.sh --profile "$PROFILE" --no-static 2>> "$OUT/so.log"); then
  size_of so_size "$SO" strip
else
  tail -20 "$OUT/so.log" >&2; failed so_size "scripts/build-lib.sh --profile $PROFILE failed"
fi

result "{\"key\":\"machine_end\",\"load_end\":\"$(loadavg)\"}"

# ---------------------------------------------------------------- report
if [ $QUICK = 1 ]; then DOC=$OUT/PERFORMANCE-quick.md; else DOC=$ROOT/docs/PERFORMANCE.md; fi
python3 scripts/bench_report.py "$RESULTS" "$DOC"
note "wrote $DOC"
if [ $FAILURES -gt 0 ]; then
  echo "$FAILURES bench(es) FAILED (see the FAILED lines above)" >&2
  exit 1
fi
