//! Figure 5 (queries per 60 s of waiting): how many queries the settle
//! flow's polling schedules send while a customer keeps the register
//! waiting for 60 s, from `PollSchedule::asks_within` — the schedule the
//! flow really uses, so the figure cannot drift from the code. The
//! detection delay itself is measured against the simulator by the flow's
//! own bench (`benches/detection.rs`).

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use ystpay::flow::PollSchedule;

fn main() {
    let minute = Duration::from_secs(60);
    let adaptive = PollSchedule::ADAPTIVE;
    let fixed5 = PollSchedule::fixed(Duration::from_secs(5));
    let a = adaptive.asks_within(minute);
    let f = fixed5.asks_within(minute);
    println!(
        "queries in 60 s of waiting: default schedule ({:?} first, x{}, at most {:?}) {a}; fixed 5 s {f}",
        adaptive.first, adaptive.factor, adaptive.max
    );
    common::emit(
        "poll_schedule",
        &[
            ("adaptive_per_60s", a.to_string()),
            ("fixed5_per_60s", f.to_string()),
            ("first_ms", adaptive.first.as_millis().to_string()),
            ("factor", adaptive.factor.to_string()),
            ("max_ms", adaptive.max.as_millis().to_string()),
        ],
    );
}
