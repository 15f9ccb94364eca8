//! Promises of the decision table that the flows once broke
//! (docs/DESIGN.md, "What to do next"), each against the real simulator:
//!
//! - `settle_order` holds its order from create to the end: a recovery
//!   running meanwhile never takes it;
//! - two programs never revoke one payment at once: revoking a paid
//!   payment claims it first;
//! - a pause that reaches the deadline ends there: no request goes out at
//!   the deadline.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ystpay::flow::{
    Disposition, FlowError, NewOrder, OrderSpec, Outcome, PayOrder, PollSchedule, SettleOptions,
};
use ystpay::journal::{Journal, JournalError, OpState};
use ystpay::protocol::Channel;
use ystpay::{Client, Payments};
use ystpay_sim::Fault;

#[test]
fn settle_order_keeps_its_order_while_recovery_runs_beside_it() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "order-held");
    let p = Arc::new(p);
    let stop = Arc::new(AtomicBool::new(false));
    // Another thread of the POS program recovers over and over.
    let recoverer = {
        let (p, stop) = (p.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut took = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = p.recover(&SettleOptions::default()).unwrap();
                took.extend(
                    r.ops
                        .into_iter()
                        .filter(|o| o.disposition != Disposition::BusyElsewhere),
                );
            }
            took
        })
    };
    let mut seqs = Vec::new();
    for i in 0..25 {
        let order = NewOrder {
            total_fee: 100 + i,
            channel: Channel::WeChat,
            spec: OrderSpec::Native {
                expire_secs: Some(300),
            },
        };
        let opts = SettleOptions {
            deadline: Some(Duration::from_millis(30)),
            ..SettleOptions::default()
        };
        // Never BUSY once the QR code was shown: the same run awaits it.
        let s = p
            .settle_order(&order, &opts)
            .unwrap_or_else(|e| panic!("order {i}: {e}"));
        assert_eq!(s.outcome, Outcome::Revoked, "{s:?}");
        seqs.push(s.req_seq);
    }
    stop.store(true, Ordering::Relaxed);
    let took = recoverer.join().unwrap();
    for o in took {
        assert!(
            !seqs.contains(&o.req_seq),
            "recovery took {} from the live settle_order: {o:?}",
            o.req_seq
        );
    }
}

#[test]
fn two_programs_never_revoke_one_payment_at_once() {
    let sim = start_sim(TIME_SCALE);
    let dir = temp_dir("revoke-claim");
    let path = dir.join("journal.db");
    // Program A: its revoke is answered late.
    let slow = Arc::new(Faulty::new(sim.control(), Duration::from_secs(3)));
    let cfg = client_config(&sim.api_url(), Duration::from_secs(3), 1);
    let a = Payments::new(
        Arc::new(Client::with_transport(&cfg, slow.clone()).unwrap()),
        Arc::new(Journal::open(&path).unwrap()),
        flow_config(TIME_SCALE),
    )
    .unwrap();
    // Program B: the same register and journal file, its own owner.
    let b = Payments::new(
        Arc::new(Client::new(&cfg).unwrap()),
        Arc::new(Journal::open(&path).unwrap()),
        flow_config(TIME_SCALE),
    )
    .unwrap();
    let paid = a
        .settle_pay(
            &PayOrder::new(800, wechat_code(301, 0)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(paid.outcome, Outcome::Paid);
    slow.plan([Some(Fault::Delay(Duration::from_millis(600)))]);
    std::thread::scope(|s| {
        let revoking = s.spawn(|| a.revoke_payment(&paid.req_seq, &SettleOptions::default()));
        // Wait until A's revoke is on its way.
        let until = std::time::Instant::now() + Duration::from_secs(5);
        while attempts(&b, &paid.req_seq, "revoke") == 0
            && b.journal()
                .get("demo", &paid.req_seq)
                .unwrap()
                .unwrap()
                .state
                != OpState::Revoking
        {
            assert!(
                std::time::Instant::now() < until,
                "A never started revoking"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let report = b.recover(&SettleOptions::default()).unwrap();
        assert!(
            report
                .busy_elsewhere
                .iter()
                .any(|r| r.req_seq == paid.req_seq),
            "B's recovery must leave A's revoke alone: {report:?}"
        );
        assert!(report.settled.is_empty(), "{report:?}");
        let twice = b.revoke_payment(&paid.req_seq, &SettleOptions::default());
        assert!(
            matches!(twice, Err(FlowError::Journal(JournalError::Busy(_)))),
            "{twice:?}"
        );
        let r = revoking.join().unwrap().unwrap();
        assert_eq!(r.outcome, Outcome::Revoked, "{r:?}");
    });
    assert_eq!(attempts(&b, &paid.req_seq, "revoke"), 1, "revoked once");
    let truth = sim.control().order("demo", &paid.req_seq).unwrap();
    assert_eq!(truth.refunded_fee, 800);
}

#[test]
fn no_request_goes_out_at_the_deadline() {
    // Real time: the customer would confirm after 9 s, so every answer is
    // `W` until the payment is revoked. Polls every 600 ms; the deadline
    // at 1 s falls within the second pause.
    let sim = start_sim(1.0);
    let (p, _) = payments(&sim, 1.0, "deadline-pause");
    let opts = SettleOptions {
        deadline: Some(Duration::from_millis(1000)),
        poll: Some(PollSchedule::fixed(Duration::from_millis(600))),
        ..SettleOptions::default()
    };
    let s = p
        .settle_pay(&PayOrder::new(300, wechat_code(302, 59)), &opts)
        .unwrap();
    assert_eq!(s.outcome, Outcome::Revoked, "{s:?}");
    assert_eq!(
        attempts(&p, &s.req_seq, "query"),
        1,
        "one poll at 0.6 s; the revoke, not a poll, at 1 s"
    );
}
