//! Every kind of wait in the flows goes through one pause (`Run::pause`,
//! docs/DESIGN.md "Paying safely"). A cancel during each kind ends with the
//! outcome the docs give:
//!
//! | pause | a cancel there |
//! |---|---|
//! | polling while the customer pays | revokes: REVOKED |
//! | before resending a payment that never left | nothing could have arrived: NOT_SENT, nothing resent or revoked |
//! | between revoke attempts | changes nothing: the revoke goes on until confirmed |
//! | before retrying a refund that may have arrived | never resent: settled by query only (REFUNDED, or NOT_SENT when the platform never got it) |
//! | before creating an order again that never left | NOT_SENT, nothing resent or revoked |
//! | polling while the customer scans | closes the order: REVOKED |
//! | between recovery's queries | stops: the operation stays open |
//!
//! The cancel is pulled from the progress callback at the step before the
//! pause, so each test meets the pause it names, every time.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use ystpay::flow::{
    CancelToken, NewOrder, OrderSpec, OrderStart, Outcome, PayOrder, Progress, RevokeReason,
    SettleOptions, Settlement,
};
use ystpay::journal::{Journal, NewOp, OpKind, OpState};
use ystpay::protocol::Channel;
use ystpay::transport::{Transport, TransportError};
use ystpay::{Client, Payments};
use ystpay_sim::{Fault, RunningSim, TrueStatus};

const SCALE: f64 = 50.0;

/// Requests number `from` to `to` (counting from 0) never leave; the rest
/// go to the simulator, with its planned faults.
struct Gate {
    inner: Faulty,
    sent: AtomicU32,
    blocked: Mutex<std::ops::Range<u32>>,
}

impl Transport for Gate {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let n = self.sent.fetch_add(1, Ordering::SeqCst);
        if self.blocked.lock().unwrap().contains(&n) {
            return Err(TransportError::NotSent("connection refused (test)".into()));
        }
        self.inner.post(url, body)
    }
}

struct Setup {
    sim: RunningSim,
    gate: Arc<Gate>,
    payments: Payments,
}

fn setup(blocked: std::ops::Range<u32>) -> Setup {
    let sim = start_sim(SCALE);
    let gate = Arc::new(Gate {
        inner: Faulty::new(sim.control(), Duration::from_millis(500)),
        sent: AtomicU32::new(0),
        blocked: Mutex::new(blocked),
    });
    let cfg = client_config(&sim.api_url(), Duration::from_millis(500), 21);
    let client = Client::with_transport(&cfg, gate.clone()).unwrap();
    let journal = Arc::new(Journal::open_in_memory().unwrap());
    let payments = Payments::new(Arc::new(client), journal, flow_config(SCALE)).unwrap();
    Setup {
        sim,
        gate,
        payments,
    }
}

/// Options that pull `token` at the first progress event `at` accepts,
/// and record every event.
fn cancel_at<'a>(token: &'a CancelToken, on: &'a (dyn Fn(&Progress) + Sync)) -> SettleOptions<'a> {
    SettleOptions {
        progress: Some(on),
        cancel: Some(token),
        ..SettleOptions::default()
    }
}

#[test]
fn a_cancel_while_the_customer_pays_revokes() {
    let s = setup(0..0);
    let token = CancelToken::new();
    let on = |p: &Progress| {
        if matches!(p, Progress::WaitingForCustomer { .. }) {
            token.cancel();
        }
    };
    let r = s
        .payments
        .settle_pay(
            &PayOrder::new(500, wechat_code(101, 55)),
            &cancel_at(&token, &on),
        )
        .unwrap();
    assert_eq!(r.outcome, Outcome::Revoked, "{r:?}");
    let truth = s.sim.control().order("demo", &r.req_seq).unwrap();
    assert_eq!((truth.status, truth.pay_count), (TrueStatus::Closed, 0));
    assert_eq!(
        attempts(&s.payments, &r.req_seq, "query"),
        0,
        "no poll after the cancel"
    );
}

#[test]
fn a_cancel_before_a_resend_of_a_payment_that_never_left_sends_nothing_more() {
    let s = setup(0..1); // the payment itself never leaves
    let token = CancelToken::new();
    let on = |p: &Progress| {
        if matches!(p, Progress::Sending { .. }) {
            token.cancel();
        }
    };
    let r = s
        .payments
        .settle_pay(
            &PayOrder::new(500, wechat_code(102, 0)),
            &cancel_at(&token, &on),
        )
        .unwrap();
    assert_eq!(r.outcome, Outcome::NotSent, "{r:?}");
    assert_eq!(r.state, OpState::NotSent);
    assert_eq!(attempts(&s.payments, &r.req_seq, "pay"), 1, "not resent");
    assert_eq!(
        attempts(&s.payments, &r.req_seq, "revoke"),
        0,
        "nothing to revoke"
    );
    assert_eq!(
        s.sim
            .control()
            .order("demo", &r.req_seq)
            .map(|t| t.pay_count),
        None
    );
}

#[test]
fn a_cancel_never_stops_a_revoke() {
    // The pay answers W; the first two revokes never leave.
    let s = setup(1..3);
    let token = CancelToken::new();
    let reasons = Mutex::new(Vec::new());
    let on = |p: &Progress| match p {
        Progress::Sending { .. } => token.cancel(),
        Progress::Revoking { reason, .. } => reasons.lock().unwrap().push(*reason),
        _ => {}
    };
    let r = s
        .payments
        .settle_pay(
            &PayOrder::new(500, wechat_code(103, 59)),
            &cancel_at(&token, &on),
        )
        .unwrap();
    assert_eq!(r.outcome, Outcome::Revoked, "{r:?}");
    assert_eq!(attempts(&s.payments, &r.req_seq, "revoke"), 3);
    assert_eq!(
        *reasons.lock().unwrap(),
        vec![RevokeReason::Cancelled; 3],
        "the revoke went on through its pauses"
    );
    let truth = s.sim.control().order("demo", &r.req_seq).unwrap();
    assert_eq!(truth.pay_count, 0);
}

/// A paid payment, then a refund whose request meets `fault` while the
/// cashier presses Esc as it leaves.
fn refund_cancelled_as_it_leaves(s: &Setup, salt: u64, fault: Fault) -> (Settlement, Settlement) {
    let paid = s
        .payments
        .settle_pay(
            &PayOrder::new(900, wechat_code(salt, 0)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(paid.outcome, Outcome::Paid);
    s.gate.inner.plan([Some(fault)]);
    let token = CancelToken::new();
    let on = |p: &Progress| {
        if matches!(p, Progress::Sending { .. }) {
            token.cancel();
        }
    };
    let r = s
        .payments
        .settle_refund(&paid.req_seq, 300, "退货", &cancel_at(&token, &on))
        .unwrap();
    (paid, r)
}

#[test]
fn a_cancel_before_a_refund_retry_settles_it_by_query_only() {
    let s = setup(0..0);
    // The refund is committed, but its answer is lost: a retry is due.
    let (_, r) = refund_cancelled_as_it_leaves(&s, 104, Fault::DropAfterCommit);
    // The query finds what the platform did; the refund is never resent.
    assert_eq!(r.outcome, Outcome::Paid, "{r:?}");
    assert_eq!(r.state, OpState::Refunded);
    assert_eq!(attempts(&s.payments, &r.req_seq, "refund"), 1, "not resent");
    assert!(attempts(&s.payments, &r.req_seq, "query_refund") >= 1);
}

#[test]
fn a_cancelled_refund_the_platform_never_got_is_never_sent_later() {
    let s = setup(0..0);
    // The refund is lost before the platform commits it; the cashier
    // presses Esc (and gives cash instead).
    let (paid, r) = refund_cancelled_as_it_leaves(&s, 106, Fault::DropBeforeCommit);
    assert_eq!(r.outcome, Outcome::NotSent, "{r:?}");
    // Later recovery, and another, resend nothing.
    for _ in 0..2 {
        s.payments.recover(&SettleOptions::default()).unwrap();
    }
    assert_eq!(
        attempts(&s.payments, &r.req_seq, "refund"),
        1,
        "never resent"
    );
    let truth = s.sim.control().order("demo", &paid.req_seq).unwrap();
    assert!(truth.refunds.is_empty(), "the shop paid twice: {truth:?}");
    let rec = s
        .payments
        .journal()
        .get("demo", &r.req_seq)
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, OpState::NotSent);
}

#[test]
fn a_cancel_before_an_order_that_never_left_is_created_again_sends_nothing_more() {
    let s = setup(0..1); // the create never leaves
    let token = CancelToken::new();
    let reasons = Mutex::new(Vec::new());
    let on = |p: &Progress| match p {
        Progress::Sending { .. } => token.cancel(),
        Progress::Revoking { reason, .. } => reasons.lock().unwrap().push(*reason),
        _ => {}
    };
    let order = NewOrder {
        total_fee: 700,
        channel: Channel::WeChat,
        spec: OrderSpec::Native { expire_secs: None },
    };
    let start = s
        .payments
        .create_order(&order, &cancel_at(&token, &on))
        .unwrap();
    let OrderStart::Ended(r) = start else {
        panic!("the order was created: {start:?}")
    };
    assert_eq!(r.outcome, Outcome::NotSent, "{r:?}");
    assert_eq!(
        attempts(&s.payments, &r.req_seq, "native"),
        1,
        "not sent again"
    );
    assert!(reasons.lock().unwrap().is_empty(), "nothing to close");
}

#[test]
fn a_cancel_while_the_customer_scans_closes_the_order() {
    let s = setup(0..0);
    let order = NewOrder {
        total_fee: 700,
        channel: Channel::Alipay,
        spec: OrderSpec::Native { expire_secs: None },
    };
    let OrderStart::Waiting(t) = s
        .payments
        .create_order(&order, &SettleOptions::default())
        .unwrap()
    else {
        panic!("not created")
    };
    let token = CancelToken::new();
    token.cancel();
    let on = |_: &Progress| {};
    let r = s
        .payments
        .await_order(&t.req_seq, &cancel_at(&token, &on))
        .unwrap();
    assert_eq!(r.outcome, Outcome::Revoked, "{r:?}");
    assert_eq!(attempts(&s.payments, &t.req_seq, "query"), 0);
    let truth = s.sim.control().order("demo", &t.req_seq).unwrap();
    assert_eq!(truth.status, TrueStatus::Closed);
}

#[test]
fn a_cancel_between_recovery_queries_leaves_the_operation_open() {
    let s = setup(0..0);
    // A payment recorded but never sent (the register died before).
    let seq = s.payments.issue_req_seq().unwrap();
    let mut op = NewOp::new("demo", &seq, OpKind::Pay, 400);
    op.auth_code = Some(wechat_code(105, 0));
    s.payments.journal().begin(&op).unwrap();
    // Recovery's first query gets no answer; the cancel comes before the next.
    s.gate.inner.plan([Some(Fault::DropBeforeCommit)]);
    let token = CancelToken::new();
    let on = |p: &Progress| {
        if matches!(p, Progress::Querying { .. }) {
            token.cancel();
        }
    };
    let report = s.payments.recover(&cancel_at(&token, &on)).unwrap();
    assert!(report.settled.is_empty(), "{report:?}");
    assert_eq!(report.still_open.len(), 1);
    assert_eq!(report.still_open[0].state, OpState::Pending);
    assert_eq!(attempts(&s.payments, &seq, "query"), 1);
    assert_eq!(attempts(&s.payments, &seq, "revoke"), 0, "nothing revoked");
    // Without the cancel, recovery settles it (the serial is closed).
    let report = s.payments.recover(&SettleOptions::default()).unwrap();
    assert_eq!(report.settled.len(), 1, "{report:?}");
    assert_eq!(report.settled[0].outcome, Outcome::Revoked);
}
