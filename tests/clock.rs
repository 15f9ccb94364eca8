//! The wall clock steps (NTP, a flat CMOS battery, a cashier changing the
//! time) and the guarantees hold (README, "What it guarantees"; docs/DESIGN.md,
//! "Time", "Serials"): deadlines and waits never depend on it, serials
//! continue after the last one issued, across a restart on the same
//! journal. The steps are the library's own clock (`clock-steps` feature),
//! process-wide like a real one, so this binary holds one test.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ystpay::flow::{Outcome, PayOrder, Progress, SettleOptions};
use ystpay::journal::Journal;
use ystpay::time::testing::{clock_offset_ms, step_clock};
use ystpay::{Client, Payments};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn flows(sim: &ystpay_sim::RunningSim, journal: &Arc<Journal>) -> Payments {
    let cfg = client_config(&sim.api_url(), Duration::from_millis(500), 31);
    let client = Client::new(&cfg).unwrap();
    Payments::new(Arc::new(client), journal.clone(), flow_config(TIME_SCALE)).unwrap()
}

#[test]
fn a_stepping_clock_moves_no_deadline_and_no_serial() {
    let sim = start_sim(TIME_SCALE);
    let dir = temp_dir("clock");
    let journal = Arc::new(Journal::open(dir.join("j.db")).unwrap());

    // A password wait while the clock jumps a day ahead, then back: the
    // payment is neither cut short nor stretched.
    let p = flows(&sim, &journal);
    let on = |e: &Progress| {
        if matches!(e, Progress::WaitingForCustomer { .. }) && clock_offset_ms() == 0 {
            step_clock(DAY);
            step_clock(-DAY - HOUR);
        }
    };
    let opts = SettleOptions {
        progress: Some(&on),
        ..SettleOptions::default()
    };
    let s = p
        .settle_pay(&PayOrder::new(700, wechat_code(401, 55)), &opts)
        .unwrap();
    assert_eq!(s.outcome, Outcome::Paid, "{s:?}");
    assert_eq!(clock_offset_ms(), -HOUR, "the clock did step");

    // Serials after the clock stepped back an hour: after the last one.
    let before = p.issue_req_seq().unwrap();
    assert!(
        before > s.req_seq,
        "{before} is not after {} though the clock is an hour behind",
        s.req_seq
    );
    // New flows on the same journal, a day further back (another process on
    // the journal: tests/crash_suite.rs, serials_of_two_processes...).
    drop(p);
    step_clock(-DAY);
    let p = flows(&sim, &journal);
    let mut last = before;
    for _ in 0..50 {
        let next = p.issue_req_seq().unwrap();
        assert!(next > last, "{next} is not after {last}");
        last = next;
    }
    let s2 = p
        .settle_pay(
            &PayOrder::new(800, wechat_code(402, 0)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(s2.outcome, Outcome::Paid);
    assert!(s2.req_seq > last);
    let truth = sim.control().order("demo", &s2.req_seq).unwrap();
    assert_eq!((truth.total_fee, truth.pay_count), (800, 1));

    // Set right again: serials continue, now from the clock.
    step_clock(-clock_offset_ms());
    let now = p.issue_req_seq().unwrap();
    assert!(now > s2.req_seq);
    let _ = std::fs::remove_dir_all(&dir);
}
