//! An operation in conflict (its serial may hold another order at the
//! platform) is only asked about again, and acted on only when an answer
//! shows it is ours: one that carries the recorded amount (docs/DESIGN.md,
//! "What an answer proves"). The amounts of an answer are optional (API
//! §4.1–§4.2), so an answer without one proves nothing about whose order it
//! is: recovery must leave the operation in conflict and the other
//! customer's order alone.

mod common;

use std::time::Duration;

use common::*;
use ystpay::flow::{Outcome, PayOrder, Payments, SettleOptions};
use ystpay::journal::OpState;
use ystpay::protocol::PayRequest;
use ystpay::Client;
use ystpay_sim::{Fault, RunningSim, TrueStatus};

/// Another register's payment of `fee` fen, sent once under `req_seq`.
fn other_register_pays(sim: &RunningSim, req_seq: &str, fee: i64, code: String) {
    let cfg = client_config(&sim.api_url(), Duration::from_secs(2), 2);
    let other = Client::new(&cfg).unwrap();
    other
        .pay(&mut PayRequest::new(req_seq, fee, code))
        .expect("the platform answers the other register");
}

/// This register (a journal restored from a backup) pays another amount
/// under the same serial: UNKNOWN, in conflict.
fn pay_into_conflict(sim: &RunningSim, payments: &Payments, req_seq: &str, salt: u64) {
    let s = payments
        .settle_pay_as(
            Some(req_seq),
            &PayOrder::new(501, wechat_code(salt, 1)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(s.outcome, Outcome::Unknown, "{s:?}");
    assert_eq!(s.state, OpState::Conflict, "{s:?}");
    // From here on the platform's answers carry no amount.
    sim.control().inject(Fault::NoAmount, 50);
}

fn revokes_sent(payments: &Payments, req_seq: &str) -> usize {
    payments
        .journal()
        .attempts("demo", req_seq)
        .unwrap()
        .iter()
        .filter(|a| a.what.contains("revoke"))
        .count()
}

/// The other customer is still entering the password: a W answer without
/// an amount must not lead recovery to revoke the serial (that would
/// cancel the other customer's payment).
#[test]
fn recovery_never_revokes_a_conflict_on_a_waiting_answer_without_an_amount() {
    let sim = start_sim(1.0);
    let (payments, _path) = payments(&sim, 1.0, "conflict-waiting");
    let seq = payments.issue_req_seq().unwrap();
    // The other customer's password takes 10 s (code ending 50).
    other_register_pays(&sim, &seq, 500, wechat_code(7001, 50));
    pay_into_conflict(&sim, &payments, &seq, 7002);

    let report = payments.recover(&SettleOptions::default()).unwrap();
    sim.control().clear_faults();

    let rec = payments.journal().get("demo", &seq).unwrap().unwrap();
    assert_eq!(rec.state, OpState::Conflict, "{report:?} {rec:?}");
    assert_eq!(rec.trans_seq, None, "no number of the other order is kept");
    assert_eq!(
        revokes_sent(&payments, &seq),
        0,
        "no revoke under the serial"
    );
    let truth = sim.control().order("demo", &seq).unwrap();
    assert_eq!(truth.total_fee, 500);
    assert!(
        matches!(truth.status, TrueStatus::Waiting | TrueStatus::Paid),
        "the other customer's payment was touched: {truth:?}"
    );
}

/// The other customer paid: an S answer without an amount must not make
/// this register's payment PAID (the money is the other customer's).
#[test]
fn recovery_never_settles_a_conflict_paid_on_an_answer_without_an_amount() {
    let sim = start_sim(TIME_SCALE);
    let (payments, _path) = payments(&sim, TIME_SCALE, "conflict-paid");
    let seq = payments.issue_req_seq().unwrap();
    other_register_pays(&sim, &seq, 500, wechat_code(7003, 1));
    pay_into_conflict(&sim, &payments, &seq, 7004);

    let report = payments.recover(&SettleOptions::default()).unwrap();
    sim.control().clear_faults();

    let rec = payments.journal().get("demo", &seq).unwrap().unwrap();
    assert_eq!(rec.state, OpState::Conflict, "{report:?} {rec:?}");
    assert_eq!(rec.trans_seq, None);
    assert_eq!(revokes_sent(&payments, &seq), 0);
    let truth = sim.control().order("demo", &seq).unwrap();
    assert_eq!((truth.status, truth.pay_count), (TrueStatus::Paid, 1));

    // An answer that carries the amount still settles nothing: it is ¥5.00,
    // not this register's ¥5.01.
    payments.recover(&SettleOptions::default()).unwrap();
    let rec = payments.journal().get("demo", &seq).unwrap().unwrap();
    assert_eq!(rec.state, OpState::Conflict, "{rec:?}");
}

/// One answer named another amount, but the serial is this register's
/// alone: once the platform answers with the recorded amount, the `W` is
/// this register's own payment, still waiting for a password nobody at the
/// till waits for any more, and recovery revokes it like any other.
#[test]
fn a_waiting_answer_with_the_recorded_amount_is_this_registers_own() {
    let sim = start_sim(1.0);
    let (payments, _path) = payments(&sim, 1.0, "conflict-own");
    let seq = payments.issue_req_seq().unwrap();
    // The password takes 10 s (code ending 50); the pay answer, W, names
    // ¥5.02 for the ¥5.01 asked.
    sim.control().inject(Fault::WrongAmount, 1);
    let s = payments
        .settle_pay_as(
            Some(&seq),
            &PayOrder::new(501, wechat_code(7005, 50)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(
        (s.outcome, s.state),
        (Outcome::Unknown, OpState::Conflict),
        "{s:?}"
    );

    let report = payments.recover(&SettleOptions::default()).unwrap();
    let rec = payments.journal().get("demo", &seq).unwrap().unwrap();
    assert_eq!(rec.state, OpState::Revoked, "{report:?} {rec:?}");
    assert_eq!(revokes_sent(&payments, &seq), 1);
    let truth = sim.control().order("demo", &seq).unwrap();
    assert_eq!(
        (truth.total_fee, truth.status, truth.pay_count),
        (501, TrueStatus::Closed, 0),
        "{truth:?}"
    );
}
