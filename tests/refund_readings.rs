//! `refund_fee` read both ways (API §4.3/§4.4 "已退款金额", docs/PROTOCOL.md
//! §4.3): as this refund's amount, or as the order's total refunded so far,
//! this refund included. Against the simulator answering either way.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ystpay::flow::{Outcome, PayOrder, SettleOptions};
use ystpay::journal::{Journal, OpState};
use ystpay::protocol::messages::RefundRequest;
use ystpay::{Client, Payments};
use ystpay_sim::{SimConfig, Simulator};

fn sim(cumulative: bool) -> ystpay_sim::RunningSim {
    Simulator::start(SimConfig {
        time_scale: TIME_SCALE,
        refund_fee_cumulative: cumulative,
        ..SimConfig::default()
    })
    .unwrap()
}

fn register(sim: &ystpay_sim::RunningSim) -> Payments {
    let cfg = client_config(&sim.api_url(), Duration::from_millis(500), 1);
    Payments::new(
        Arc::new(Client::new(&cfg).unwrap()),
        Arc::new(Journal::open_in_memory().unwrap()),
        flow_config(TIME_SCALE),
    )
    .unwrap()
}

#[test]
fn two_partial_refunds_are_refunded_whichever_way_the_platform_reads_refund_fee() {
    for cumulative in [false, true] {
        let sim = sim(cumulative);
        let p = register(&sim);
        let o = SettleOptions::default();
        let paid = p
            .settle_pay(&PayOrder::new(900, wechat_code(401, 0)), &o)
            .unwrap();
        assert_eq!(paid.outcome, Outcome::Paid);
        for (fee, salt) in [(300, "first"), (200, "second")] {
            let r = p.settle_refund(&paid.req_seq, fee, salt, &o).unwrap();
            assert_eq!(
                (r.outcome, r.state),
                (Outcome::Paid, OpState::Refunded),
                "cumulative={cumulative}: {r:?}"
            );
            assert_eq!(r.total_fee, fee, "the refund's own amount is reported");
        }
        let truth = sim.control().order("demo", &paid.req_seq).unwrap();
        assert_eq!(truth.refunded_fee, 500);
        assert!(mismatches(p.journal(), &sim.control()).is_empty());
    }
}

#[test]
fn a_cumulative_amount_that_does_not_fit_is_a_conflict() {
    let sim = sim(true);
    let p = register(&sim);
    let o = SettleOptions::default();
    let paid = p
        .settle_pay(&PayOrder::new(900, wechat_code(402, 0)), &o)
        .unwrap();
    assert_eq!(paid.outcome, Outcome::Paid);
    // Someone refunds 300 of the order outside this register's journal.
    let mut other = RefundRequest {
        req_seq: p.issue_req_seq().unwrap(),
        trans_seq: paid.trans_seq.clone().unwrap(),
        refund_fee: 300,
        reason: "elsewhere".into(),
    };
    p.client().refund(&mut other).unwrap();
    // This register's refund of 200 is answered "500 refunded": neither
    // its own amount nor the total the journal knows (200).
    let r = p.settle_refund(&paid.req_seq, 200, "here", &o).unwrap();
    assert_eq!(r.outcome, Outcome::Unknown, "{r:?}");
    assert_eq!(r.state, OpState::Conflict, "{r:?}");
    assert!(r.detail.contains("¥5.00"), "{}", r.detail);
}
