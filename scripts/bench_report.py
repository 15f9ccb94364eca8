#!/usr/bin/env python3
"""Turns the result lines of scripts/bench.sh into docs/PERFORMANCE.md.

Usage: bench_report.py RESULTS.jsonl OUT.md
Each line of RESULTS is one JSON object with a "key"; a missing key or a
{"key": ..., "skipped": reason} line makes that figure "not measured".
"""
import json
import sys

MB = 1024 * 1024


def load(path):
    r = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            r[d["key"]] = d
    return r


def main():
    res = load(sys.argv[1])
    out_path = sys.argv[2]
    m = res.get("machine", {})
    quick = m.get("quick", False)
    rows = []  # (figure, measured, target, verdict)
    closing = {"met": [], "not met": [], "not measured": []}

    def verdict(ok):
        return "—" if quick else ("**met**" if ok else "**NOT met**")

    def add(fig, measured, target, ok, why_not=""):
        rows.append((fig, measured, target, verdict(ok)))
        if not quick:
            closing["met" if ok else "not met"].append(f"{fig}: {measured} (target {target}){'. ' + why_not if (why_not and not ok) else ''}")

    def missing(fig, key, target):
        reason = res.get(key, {}).get("skipped", "not run")
        rows.append((fig, "not measured", target, reason))
        closing["not measured"].append(f"{fig}: {reason}")

    # 1. protocol CPU
    p = res.get("protocol_us", {})
    if "client_cpu" in p:
        add("1. Protocol CPU per payment (build+encrypt+sign request, verify+decrypt+parse answer)",
            f"{p['client_cpu']:.1f} µs (median; 95% CI {p['client_cpu_lo']:.1f}–{p['client_cpu_hi']:.1f}); "
            f"request {p.get('seal_request', float('nan')):.1f} µs + answer {p.get('open_response', float('nan')):.1f} µs",
            "≤ 20 µs", p["client_cpu"] <= 20,
            "The machine was shared during the run (load average above); the instruction count is the load-independent figure")
    else:
        missing("1. Protocol CPU per payment, µs", "protocol_us", "≤ 20 µs")
    i = res.get("protocol_instr", {})
    if "pay" in i:
        parts = ", ".join(f"{k} {i[k]:,}" for k in ("seal", "open", "xml_outer", "xml_inner") if k in i)
        rows.append(("1. Protocol instructions per payment (callgrind)", f"{i['pay']:,} instructions ({parts})",
                     "(reported; load-independent)", "—"))
    else:
        missing("1. Protocol instructions per payment (callgrind)", "protocol_instr", "(reported)")

    # 2. round trip
    rt = res.get("roundtrip", {})
    if "ratio_http" in rt:
        add("2. Round trip: `Client::pay` ÷ bare keep-alive POST of the same bytes (library's HTTP transport, no protocol work)",
            f"{rt['ratio_http']:.3f}× ({rt['client_us']:.0f} µs vs {rt['http_us']:.0f} µs; rounds p10–p90 {rt['ratio_http_p10']:.2f}–{rt['ratio_http_p90']:.2f})",
            "≤ 1.15×", rt["ratio_http"] <= 1.15,
            "The difference is the protocol work of figure 1 (same bytes on the wire, same simulator work), which "
            "between network waits runs with cooled caches at about twice its hot-loop time; a loopback round trip "
            "is about a hundred µs, so those µs show as a ratio; over a real network (milliseconds) they are under "
            "1 %. See 'Causes found by profiling' for what was cut and where the rest goes")
        add("2. Round trip: `Client::pay` ÷ hand-written HTTP/1.1 POST of the same bytes on a kept-alive socket (physical floor)",
            f"{rt['ratio_tcp']:.3f}× ({rt['client_us']:.0f} µs vs {rt['tcp_us']:.0f} µs; rounds p10–p90 {rt['ratio_tcp_p10']:.2f}–{rt['ratio_tcp_p90']:.2f})",
            "≤ 1.15×", rt["ratio_tcp"] <= 1.15,
            "Besides the protocol CPU, the library's HTTP transport (ureq) costs about as much again over a "
            "hand-written request on a bare socket; this floor is below anything an HTTP library reaches")
        reused = rt["conns_after"] == rt["conns_before"] and rt["conns_after"] <= 3
        add("2. Connections reused",
            f"{rt['conns_after']} TCP connections for {rt['calls']:,} calls by 3 clients ({rt['conns_before']} after warm-up)",
            "no connect per call", reused)
    else:
        missing("2. Round trip ratio vs bare POST", "roundtrip", "≤ 1.15×")

    # 3. C ABI
    c = res.get("c_abi", {})
    if "ratio" in c:
        add("3. Pay through the C ABI (cdylib from C) ÷ Rust `Client`, same order, same simulator",
            f"{c['ratio']:.3f}× ({c['c_us']:.0f} µs vs {c['rust_us']:.0f} µs; {c['rounds']} alternated rounds, "
            f"ratio range {c['ratio_min']:.2f}–{c['ratio_max']:.2f})", "≤ 1.05×", c["ratio"] <= 1.05,
            "See 'Causes found by profiling' for what the C ABI adds per call")
        if "c_instr" in c:
            rows.append(("3. Instructions per pay, whole program: C (`pay_bench`, through the C ABI) ÷ Rust (`Client::pay`), callgrind",
                         f"{c['instr_ratio']:.3f}× ({c['c_instr']:,} vs {c['rust_instr']:,}; the C side includes "
                         "zeroing and copying its 9 KB result record)", "(reported; load-independent)", "—"))
    else:
        missing("3. Pay through the C ABI ÷ Rust `Client`", "c_abi", "≤ 1.05×")

    # 4. throughput
    t = res.get("throughput", {})
    if "pay_rps" in t:
        add(f"4. Simulator throughput, {t['connections']} concurrent connections, new orders",
            f"{t['pay_rps']:,} requests/s (simulator CPU {t['pay_sim_cpu_us']} µs/request)", "≥ 20,000/s",
            t["pay_rps"] >= 20000,
            f"Load average {m.get('load_start', '?')} at the start of the run (2 cores shared with the load generator); at the simulator's "
            f"CPU per request two free cores would answer about {int(2e6 / (t['pay_sim_cpu_us'] + t['gen_cpu_us'])):,}/s "
            "with this load generator")
        add(f"4. Simulator throughput, {t['connections']} concurrent connections, queries",
            f"{t['query_rps']:,} requests/s (simulator CPU {t['query_sim_cpu_us']} µs/request)", "≥ 20,000/s",
            t["query_rps"] >= 20000,
            f"Load average {m.get('load_start', '?')} at the start of the run (2 cores shared with the load generator); at the simulator's "
            f"CPU per request two free cores would answer about {int(2e6 / (t['query_sim_cpu_us'] + t['gen_cpu_us'])):,}/s "
            "with this load generator")
    else:
        missing("4. Simulator throughput", "throughput", "≥ 20,000/s")

    # 4b. disk and link (issue 20); "before" is what the same bench measured
    # on the commit before issue 20 (the same machine, dev profile).
    d = res.get("durable_writes", {})
    if "quick_pay" in d:
        budget = {"open": 4, "quick_pay": 2, "password_pay": 3, "refund": 2, "revoke": 2}
        before = {"open": 0, "quick_pay": 7, "password_pay": 29, "refund": 5, "revoke": 6}
        for k, b in budget.items():
            add(f"4b. Durable writes (fsync + fdatasync), {k.replace('_', ' ')}",
                f"{d[k]} (before issue 20: {before[k]})", f"≤ {b}", d[k] <= b)
    else:
        missing("4b. Durable writes per operation", "durable_writes", "≤ 2 / 3 / 2 / 2 / 4")
    sd = res.get("slow_disk", {})
    if "slow_ms" in sd:
        add("4b. Settled quick payment with +20 ms per fsync ÷ without",
            f"{sd['slow_ms']:.1f} ms ÷ {sd['fast_ms']:.1f} ms = {sd['ratio']}× (before issue 20: 105–107 ms ÷ 3.3 ms)",
            "≤ 50 ms", sd["slow_ms"] <= 50)
    else:
        missing("4b. Settled quick payment, slow disk", "slow_disk", "≤ 50 ms")
    il = res.get("idle_link", {})
    if "warm_ms" in il and "floor_idle_ratio" in il:
        # "Today" is the bare HTTP exchange of the same run: a new connection
        # costs one more round trip whatever the client (before issue 20 too,
        # whose pool had dropped the connection long before the idle ended).
        fr = il["floor_idle_ratio"]
        add("4b. Payment after idle (NAT forgot the connection) ÷ warm, 80 ms RTT, without `prepare` (journal in memory)",
            f"{il['idle_ms']:.0f} ms ÷ {il['warm_ms']:.0f} ms = {il['idle_ratio']:.2f}× "
            f"(bare HTTP exchange, same run: {il['floor_idle_ms']:.0f} ms ÷ {il['floor_warm_ms']:.0f} ms = {fr:.2f}×; "
            "before issue 20: about 2×)",
            f"no worse than before: ≤ the bare exchange's ratio × 1.05 ({fr * 1.05:.2f}×)",
            il["idle_ratio"] <= fr * 1.05)
        add("4b. Payment after idle + `prepare` ÷ warm, 80 ms RTT (journal in memory)",
            f"{il['prepared_ms']:.0f} ms ÷ {il['warm_ms']:.0f} ms = {il['prepared_ratio']:.2f}×",
            "≤ 1.15×", il["prepared_ratio"] <= 1.15)
        rows.append(("4b. The same two with the journal on disk (comparison; the disk's share is the slow-disk row)",
                     f"after idle {il['disk_idle_ms']:.0f} ms ÷ {il['disk_warm_ms']:.0f} ms = {il['disk_idle_ratio']:.2f}×; "
                     f"after idle + `prepare` {il['disk_prepared_ms']:.0f} ms ÷ {il['disk_warm_ms']:.0f} ms = "
                     f"{il['disk_prepared_ratio']:.2f}×; {il['connections']} connections in {il['rounds']} rounds, "
                     "none tried dead, 0 bytes lost", "(comparison)", "—"))
    elif "warm_ms" in il:
        add("4b. Payment after idle (NAT forgot the connection) ÷ warm, 80 ms RTT, without `prepare`",
            f"{il['idle_ms']:.0f} ms ÷ {il['warm_ms']:.0f} ms = {il['idle_ratio']:.2f}× (before issue 20: about 2×)",
            "no worse than before (≈ 2×)", il["idle_ratio"] <= 2.3)
        add("4b. Payment after idle + `prepare` ÷ warm, 80 ms RTT",
            f"{il['prepared_ms']:.0f} ms ÷ {il['warm_ms']:.0f} ms = {il['prepared_ratio']:.2f}×",
            "≤ 1.15×", il["prepared_ratio"] <= 1.15)
    else:
        missing("4b. Idle link", "idle_link", "≤ 1.15× with prepare")

    # 5. flow
    f = res.get("flow", {})
    ps = res.get("poll_schedule", {})
    if f.get("rows"):
        for r in f["rows"]:
            measured = f"median {r['median_s']:.2f} s, p95 {r['p95_s']:.2f} s; {r['queries']:.2f} queries/payment"
            if r["schedule"].startswith("fixed"):
                rows.append((f"5. Detection delay, {r['schedule']} schedule (comparison, same run)", measured,
                             "(comparison)", "—"))
            else:
                add("5. Detection delay, settle flow's default schedule (simulator paid → register knows; password within 10 s)",
                    measured, "median ≤ 0.8 s", r["median_s"] <= 0.8,
                    "See benches/detection.rs; the schedule is PollSchedule in src/flow")
    else:
        missing("5. Settle flow detection delay", "flow", "median ≤ 0.8 s")
    if "adaptive_per_60s" in ps:
        add("5. Queries per 60 s of waiting, default schedule (`PollSchedule::asks_within`)",
            f"{ps['adaptive_per_60s']} (first {ps['first_ms']} ms, ×{ps['factor']}, at most {ps['max_ms']} ms); fixed 5 s: {ps['fixed5_per_60s']}",
            "≤ 20", ps["adaptive_per_60s"] <= 20)
    elif not f.get("rows"):
        pass
    else:
        missing("5. Queries per 60 s of waiting", "poll_schedule", "≤ 20")

    # 6. footprint
    for key, name, target in (
            ("so_size", "libystpay.so as shipped (`scripts/build-lib.sh`: cdylib alone, LTO)", True),
            ("so_plain_size", "libystpay.so from plain `cargo build --release` (rlib+cdylib+staticlib, no LTO; comparison)", False),
            ("dll_size", "ystpay.dll, x86_64, as shipped (`scripts/build-lib.sh --target x86_64-win7-windows-gnu`)", True),
            ("dll_plain_size", "ystpay.dll, x86_64, from plain `cargo build --release --target x86_64-win7-windows-gnu` (comparison)", False)):
        s = res.get(key, {})
        fig = f"6. Stripped size of {name}"
        if "bytes" in s:
            measured = f"{s['bytes'] / MB:.2f} MB ({s['bytes']:,} bytes)"
            if target:
                add(fig, measured, "≤ 4 MB", s["bytes"] <= 4 * MB)
            else:
                rows.append((fig, measured, "(comparison)", "—"))
        elif target:
            missing(fig, key, "≤ 4 MB")
        else:
            rows.append((fig, "not measured", "(comparison)", s.get("skipped", "not run")))
    if "rss_kb" in c:
        flat = c.get("rss_growth_kb", 0) <= 1024
        add(f"6. RSS of the C harness after {c['rss_pays']:,} payments (new order each)",
            f"{c['rss_kb'] / 1024:.1f} MB (grew {c.get('rss_growth_kb', 0)} KB from payment 1,000 to {c['rss_pays']:,}; "
            f"per 1,000: {', '.join(str(x) for x in c.get('rss_series', []))} KB)",
            "≤ 20 MB and flat", c["rss_kb"] <= 20 * 1024 and flat)
    else:
        missing("6. RSS of the C harness after 10,000 payments", "c_abi", "≤ 20 MB and flat")

    L = []
    L.append("# Performance" + (" (smoke run — no verdict)" if quick else ""))
    L.append("")
    L.append("Generated by `scripts/bench.sh` — do not edit by hand; run it again. "
             "Benchmarks, not timed tests: every comparison is a ratio measured interleaved in one run, "
             "and instruction counts do not depend on the machine's load.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append(f"- when: {m.get('date', '?')}, commit `{m.get('commit', '?')}`, {m.get('rustc', '?')}")
    L.append(f"- CPU: {m.get('cpu', '?')} ({m.get('mhz', '?')} MHz), `nproc` = {m.get('nproc', '?')}, kernel {m.get('kernel', '?')}")
    L.append(f"- load average (1, 5, 15 min): {m.get('load_start', '?')} at the start, "
             f"{res.get('machine_end', {}).get('load_end', '?')} at the end — a shared virtual machine, "
             "so absolute times vary from run to run; the verdicts rest on ratios measured interleaved")
    L.append("")
    L.append("## Results")
    L.append("")
    L.append("| Figure | Measured | Target | Verdict |")
    L.append("|---|---|---|---|")
    for r in rows:
        L.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    L.append("")
    L.append(HOW)
    if t:
        L.append("")
        L.append(f"Throughput runs: {t.get('runs')} × {t.get('seconds_per_run')} s per mix, "
                 f"medians shown; the load generator used {t.get('gen_cpu_us')} µs of CPU per request "
                 f"on the same cores; {t.get('orders', 0):,} orders stored and checked.")
    if rt:
        L.append("")
        L.append(f"Round trip: {rt.get('rounds')} rounds × {rt.get('per_round')} calls per mode; "
                 f"medians: `Client` {rt.get('client_us')} µs (p90 {rt.get('client_p90_us')}), HTTP floor {rt.get('http_us')} µs, "
                 f"TCP floor {rt.get('tcp_us')} µs (p90 {rt.get('tcp_p90_us')}), `Client` with a new order each call "
                 f"{rt.get('client_new_us')} µs ({rt.get('ratio_new_tcp')}× the TCP floor).")
    L.append("")
    L.append(HISTORY)
    L.append("")
    L.append("## Closing note")
    L.append("")
    if quick:
        L.append("Smoke run: the figures only show that every bench still runs.")
    else:
        for k in ("met", "not met", "not measured"):
            L.append(f"**{k.capitalize()}** ({len(closing[k])}):")
            L.append("")
            for x in closing[k] or ["none"]:
                L.append(f"- {x}")
            L.append("")
    open(out_path, "w", encoding="utf-8").write("\n".join(L).rstrip() + "\n")


HOW = """## How each figure is measured

1. **Protocol CPU** — `benches/protocol.rs` (criterion): `Client::pay` over an in-memory
   transport that returns a real simulator answer (`benches/fixtures/pay_response_plain.xml`,
   1,062 bytes of `<data>` with 15 receipt lines, sealed at start-up): field rules, `<data>` XML,
   AES-CBC, base64, MD5 signature; then signature check, AES, XML reading and the checks that tie
   the answer to the request. No I/O. Instructions: `benches/protocol_instr.rs` under
   `valgrind --tool=callgrind`, run with N = 10 and N = 210 payments; (I₂ − I₁) / 200 removes start-up.
2. **Round trip** — `benches/roundtrip.rs`: the simulator in-process on 127.0.0.1; modes run K calls
   each in turn, the order rotated every round. `Client::pay` repeats one order (same `req_seq`, which the
   simulator answers as a retry), so its HTTP bodies are byte for byte the pre-sealed body the floors
   send (the protocol fixes the IV). Floors: the library's own `HttpTransport` (ureq keep-alive agent)
   posting that body, and a hand-written HTTP/1.1 request on a kept-alive `TcpStream`. The ratio is the
   median over rounds of (median `Client` ÷ median floor) in that round. Connections: every socket that
   touched the simulator's port (open or TIME_WAIT) in `/proc/net/tcp`, after warm-up and at the end.
3. **C ABI** — `scripts/bench-c.sh`: a C program (`benches/c/pay_bench.c`, `-O2`) linked to the
   `libystpay.so` built by `scripts/build-lib.sh` pays one order again and again (`ystpay_pay`, result struct and receipt lines
   filled) against the `ystpay-sim` binary on 127.0.0.1; its runs alternate with the same loop in Rust
   (`benches/client_pay.rs`, `Client::pay`) against the same simulator process, the order swapped every
   round; ratio of the two medians per round, median over rounds. RSS: the same C program makes 10,000
   payments, each a new order, and reads VmRSS from `/proc/self/status` every 1,000.
4. **Simulator throughput** — `benches/throughput.rs`: the simulator in-process (its own 2-thread
   runtime), 32 kept-alive connections driven from one more thread (single-threaded tokio) sending
   pre-sealed requests back to back; `pay` = a new order per request, `query` = a query of a paid order.
   Every answer must be HTTP 200; sample answers are verified and decrypted; the number of stored orders
   must equal the pays sent. Simulator CPU per request comes from `/proc/self/task/*/stat`.
4b. **Disk and link** — `benches/durable.rs`, run under an `LD_PRELOAD` shim
   (`benches/c/fsync_shim.c`) that counts every `fsync`/`fdatasync` and can add 20 ms to each:
   durable writes per operation kind; a settled quick payment with and without the 20 ms,
   interleaved. The link: a proxy on loopback (`tests/common/linkproxy.rs`) with 40 ms each way,
   a new connection's first bytes held one more round trip (the TCP handshake) and a NAT that
   forgets connections idle 1.5 s; the pool keeps them 1 s, the register idles 2 s (scaled down
   from a 2-minute gap). A register with its journal in memory (the figure: the link's share),
   the same with its journal on disk, and the library's bare HTTP exchange of the same pay body
   take turns in each of 6 rounds: warm, after the idle, after the idle and `prepare`; medians.
   On a shared machine one `fsync` after an idle sometimes takes tens of ms, which the in-memory
   journal keeps out of a link figure made of six samples.
5. **Settle flow** — the flow's own bench (`benches/detection.rs`), run by this
   script: payments whose customer enters the password after a time spread over (0, 10] s, settled by
   `settle_pay` against the simulator (time scale 10), default schedule and fixed 5 s / 3 s in the same
   run; times are platform seconds. Queries per 60 s of waiting: `benches/poll_schedule.rs` asks the
   schedule the flow uses (`PollSchedule::asks_within`).
6. **Footprint** — the libraries as shipped, built by `scripts/build-lib.sh` (each crate type alone,
   so that the release profile's LTO and single codegen unit apply; SQLite at `-Os` without the
   extensions the journal never uses), then `strip` / `x86_64-w64-mingw32-strip` on copies; the plain
   `cargo build --release` of the same sources for comparison. RSS from `/proc/self/status` (VmRSS)
   in the C harness."""

HISTORY = """## Causes found by profiling, and fixes

Instruction counts are callgrind's (load-independent); each fix is its own commit.

| Where | Cause found | Fix | Before → after |
|---|---|---|---|
| `src/protocol/xml.rs` (superseded by the next row) | 180k of the 268k instructions of a payment were XML reading: roxmltree builds a DOM of the 2.3 KB `<response>` (validating the base64 char by char) and of the 1 KB `<data>`, and `Fields` copies every text out of it (~60 allocations per document) | `Fields::parse` walks the events of quick-xml 0.42's streaming reader in a loop (no DOM, no recursion) and itself makes the well-formedness checks quick-xml leaves out, as roxmltree made them; names and texts go into one string per document; one vectorized pass per text checks its characters and finds `>` and CR. `tests/xml_differential.rs` keeps the roxmltree reader as the reference: same `Fields` or same error on the fuzz corpora and the XML inside them, on generated and mutated documents (300,000 cases each) and on edge cases; no difference. (A hand-written one-pass reader, commit `c3d8a9f` on branch `bench`, reached 120,994 per payment but was left out: untrusted XML is read with a well-kept crate.) | callgrind, per repetition: pay 278,221 → 162,447; open 259,387 → 142,667; `xml_outer` 79,898 → 13,246; `xml_inner` 120,180 → 65,831 |
| `src/protocol/xml.rs` (issue 13) | the quick-xml reader of the row above was 1,275 lines that re-implemented XML well-formedness to behave exactly like roxmltree, the project's XML crate, for about 6 µs per payment | roxmltree again (343 lines with the depth scan), version 0.21.2: it parses nested elements in a loop, finds delimiters with memchr and no longer merges consecutive text nodes in quadratic time; a child's text borrows roxmltree's text node when it has one. `tests/xml_regression.rs` pins the outcomes the quick-xml reader gave on all of the differential test's inputs (fuzz seeds, 1,024 generated and mutated documents, edge cases, limits); roxmltree 0.21.2 gives every one | slower, by choice: callgrind, per repetition, pay 162,487 → 234,105 (with roxmltree 0.20: 276,693); open 142,715 → 214,202; `xml_outer` 13,250 → 53,018; `xml_inner` 65,925 → 102,602. Criterion `pay/client_cpu`, 8 rounds alternating the two builds on a machine loaded by other builds (load average 3–5 on 2 cores): fastest round 11.6 → 15.3 µs, so about 4–5 µs more per payment, under 1 % of a real network round trip |
| `src/protocol/crypto.rs` (commit `c3d8a9f`, merged) | `base64_decode` copied the text to strip whitespace that the answers never contain | decode in place when there is no whitespace | ≈ 10k instructions per payment |
| `sim/src/util.rs`, `sim/src/platform.rs` (commit `8a69d7c`) | 13 % of the simulator's instructions per request in chrono's `format` (six stamps per pay answer, each re-parsing its pattern), 12 % in fifteen `format!` receipt lines | stamps written digit by digit (checked against chrono in a test), receipt body built once | simulator instructions per request (connection task, user space): pay 145,158 → 125,921; query 134,113 → 117,219 |
| `src/log.rs`, `src/ffi/text.rs`, `src/ffi/records.rs` (C ABI pay ÷ Rust `Client`) | callgrind, one order paid 200 more times against one simulator, per pay: 267.6k instructions from C (`pay_bench`, whole program) vs 200.2k through `Client::pay`. `Logger::send` described every call (masking, joins, `format!`) also for a client without a log file: 30k; `text::encode` copied each of some twenty UTF-8 texts of a result record into a new `Vec` before writing it: 4k | describe a call only when a line will be written; borrow UTF-8 texts; allocate the record zeroed in place | 267.6k → 234.3k per pay from C (Rust `Client` 200.2k). The rest: zeroing the private 9 KB `ystpay_payment_result` and copying it to the caller's once the call succeeded (outputs are written only on success), ≈ 22k instructions that are mostly counted string-instruction steps, and the C program's own `memset` of its record, ≈ 12k |
| `ystpay.dll` / `libystpay.so` size | with `crate-type = ["rlib", "cdylib", "staticlib"]` cargo runs no LTO for the cdylib, and the windows-gnu target compiles Rust without function sections, so the linker keeps every linked crate whole (a link map showed SQLite 1.8 MB, rustls 0.9 MB, ring 0.6 MB, std 0.4 MB…) | `scripts/build-lib.sh`: the shipped libraries are built one crate type at a time (`cargo rustc --crate-type cdylib`, then `staticlib`), which cargo optimizes whole; README and docs/C-ABI.md ship what it builds | the two builds are measured above (plain vs shipped) |
| SQLite in `libystpay.so` | even with LTO the stripped `.so` was 5.14 MB: the bundled SQLite, compiled at `-O3` with full-text search (FTS3, FTS5), R-tree, dbstat, STAT4 and soundex, was the largest part (≈ 0.7 MB of symbols plus unnamed code) | SQLite at `-Os` (`[profile.release.package.libsqlite3-sys]`) and without the extensions the journal never uses (`LIBSQLITE3_FLAGS` in `.cargo/config.toml`) | `.so` with LTO: 5.14 MB → 4.54 MB (extensions off) → 3.99 MB (and `-Os`) |

Where the remaining protocol CPU goes (callgrind, per payment, ≈ 231k instructions in `Client::send` over an
in-memory transport, with the roxmltree reader): reading the answer's two XML documents ≈ 147k (roxmltree's parsing,
`parse_content`, ≈ 91k of it; the rest the depth scan and copying names, values and receipt lines into `Fields`), MD5 of the request and of
the 2.3 KB answer ≈ 21k, base64 ≈ 11k, building, encrypting and signing the request ≈ 9k, taking the typed fields out
of `Fields` ≈ 11k; allocation is spread over all of them. On loopback the library's HTTP transport (ureq) costs about
as much again over a hand-written request on a bare socket (compare the two floors), and the protocol CPU runs with
caches cooled by the network stack and the simulator between calls, so a round trip grows by about twice figure 1's
hot-loop time."""


if __name__ == "__main__":
    main()
