#!/usr/bin/env bash
# Figures 3 and 6 (RSS) of scripts/bench.sh: the same pay through the C ABI
# and through the Rust Client, alternated against one simulator process on
# 127.0.0.1, and the resident set of the C program over 10,000 payments.
#   scripts/bench-c.sh OUT_DIR QUICK(0|1)
# Prints one JSON line (key c_abi) on stdout; logs go to OUT_DIR/c-abi.log.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$1
QUICK=${2:-0}
TARGET=${CARGO_TARGET_DIR:-target}
LOG=$OUT/c-abi.log
: > "$LOG"
if [ "$QUICK" = 1 ]; then ROUNDS=2; N=100; PAYS=2000; else ROUNDS=12; N=400; PAYS=10000; fi

# Profile: release unless scripts/bench.sh says otherwise (dev in a smoke run).
PROFILE=${BENCH_PROFILE:-release}
PDIR=${BENCH_PROFILE_DIR:-release}
# The library as shipped: scripts/build-lib.sh (a cdylib alone, with LTO).
bash scripts/build-lib.sh --profile "$PROFILE" --no-static >> "$LOG" 2>&1
cargo build --profile "$PROFILE" -p ystpay-sim >> "$LOG" 2>&1
RUST_BIN=$(cargo bench --profile "$PROFILE" --no-run --bench client_pay --message-format=json 2>>"$LOG" | python3 -c '
import json, sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "client_pay":
        print(m["executable"])')
CC=${CC:-cc}
"$CC" -std=c99 -O2 -Wall -Wextra -Werror -I include benches/c/pay_bench.c -o "$OUT/pay_bench" \
  -L "$TARGET/$PDIR" -lystpay -lpthread -Wl,-rpath,"$TARGET/$PDIR" >> "$LOG" 2>&1

# One simulator for both sides; ended by its PID when this script exits.
"$TARGET/$PDIR/ystpay-sim" --listen 127.0.0.1:0 --quiet > "$OUT/sim.out" 2>> "$LOG" &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$OUT/sim.out" ] && break; sleep 0.1; done
URL=$(head -1 "$OUT/sim.out")
[ -n "$URL" ] || { echo "simulator did not start" >> "$LOG"; exit 1; }

SEQ=88$(date +%s%N | tail -c 19)      # 20 digits: one order, paid by the first call
SEQ=${SEQ:0:20}
ratios=(); cs=(); rs=()
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="c rust"; else order="rust c"; fi
  for side in $order; do
    if [ "$side" = c ]; then
      c=$("$OUT/pay_bench" "$URL" time "$N" "$SEQ" | sed -n 's/^median_us //p')
    else
      rust=$("$RUST_BIN" "$URL" "$N" "$SEQ" | sed -n 's/^median_us //p')
    fi
  done
  echo "round $r: C $c us, Rust $rust us" >> "$LOG"
  cs+=("$c"); rs+=("$rust")
done
"$OUT/pay_bench" "$URL" rss "$PAYS" > "$OUT/rss.txt" 2>> "$LOG"
cat "$OUT/rss.txt" >> "$LOG"

# Instructions per pay on each side (load-independent): each program under
# callgrind pays the same order N1 and N2 times; (I2 - I1) / (N2 - N1).
instr=""
if command -v valgrind > /dev/null 2>&1; then
  N1=10; N2=210; [ "$QUICK" = 1 ] && N2=30
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 \
            | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
  c1=$(count "$OUT/pay_bench" "$URL" time $N1 "$SEQ"); c2=$(count "$OUT/pay_bench" "$URL" time $N2 "$SEQ")
  r1=$(count "$RUST_BIN" "$URL" $N1 "$SEQ"); r2=$(count "$RUST_BIN" "$URL" $N2 "$SEQ")
  if [ -n "$c1" ] && [ -n "$c2" ] && [ -n "$r1" ] && [ -n "$r2" ]; then
    instr="$(( (c2 - c1) / (N2 - N1) )) $(( (r2 - r1) / (N2 - N1) ))"
    echo "instructions per pay: C $((${instr% *})), Rust $((${instr#* }))" >> "$LOG"
  fi
fi
python3 - "${cs[*]}" "${rs[*]}" "$OUT/rss.txt" "$instr" <<'PY'
import json, statistics, sys
c = [float(x) for x in sys.argv[1].split()]
r = [float(x) for x in sys.argv[2].split()]
ratios = sorted(a / b for a, b in zip(c, r))
rss = [tuple(int(v) for v in l.split()[1:]) for l in open(sys.argv[3]) if l.startswith("rss ")]
d = {"key": "c_abi", "ratio": round(statistics.median(ratios), 3),
     "ratio_min": round(ratios[0], 3), "ratio_max": round(ratios[-1], 3), "rounds": len(ratios),
     "c_us": round(statistics.median(c), 1), "rust_us": round(statistics.median(r), 1)}
if sys.argv[4]:
    ci, ri = (int(x) for x in sys.argv[4].split())
    d.update({"c_instr": ci, "rust_instr": ri, "instr_ratio": round(ci / ri, 3)})
if rss:
    d.update({"rss_pays": rss[-1][0], "rss_kb": rss[-1][1], "rss_first_kb": rss[0][1],
              "rss_growth_kb": rss[-1][1] - rss[0][1], "rss_series": [kb for _, kb in rss]})
print(json.dumps(d))
PY
