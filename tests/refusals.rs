//! A platform refusal that a follow-up query proves harmless ends FAILED,
//! never UNKNOWN (docs/DESIGN.md, "Paying safely"); one the query cannot
//! prove harmless never ends FAILED. Every path that meets a refusal:
//! a barcode payment, a refund (even when its deadline passed before the
//! confirming query), an order create, and a revoke.

mod common;
mod fake;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use fake::{client, seal, FakePlatform, Incoming};
use ystpay::flow::{FlowConfig, NewOrder, OrderSpec, OrderStart, Outcome, PayOrder, SettleOptions};
use ystpay::journal::{Journal, OpState};
use ystpay::protocol::{Channel, RevokeRequest};
use ystpay::Payments;

fn refusal(response_type: &str, req_seq: &str, code: &str) -> Vec<u8> {
    seal(&format!(
        "<data><response_type>{response_type}</response_type><req_seq>{req_seq}</req_seq>\
         <result>N</result><code>{code}</code><msg>refused</msg></data>"
    ))
}

fn revoked(req_seq: &str) -> Vec<u8> {
    seal(&format!(
        "<data><response_type>unitive_revoke_response</response_type>\
         <req_seq>{req_seq}</req_seq><result>Y</result><status>F</status></data>"
    ))
}

fn flows(platform: Arc<FakePlatform>) -> Payments {
    Payments::new(
        Arc::new(client(platform)),
        Arc::new(Journal::open_in_memory().unwrap()),
        FlowConfig::default().scaled(0.01),
    )
    .unwrap()
}

fn kinds(p: &FakePlatform) -> Vec<String> {
    p.seen
        .lock()
        .unwrap()
        .iter()
        .map(|i| i.request_type.clone())
        .collect()
}

/// A refund the platform refuses (the payment was revoked behind the
/// journal's back), with a deadline already past when the refusal comes:
/// the confirming query is still owed, finds no such refund: FAILED.
#[test]
fn a_refused_refund_that_the_platform_does_not_hold_fails_even_past_its_deadline() {
    let sim = start_sim(TIME_SCALE);
    let (payments, _path) = payments(&sim, TIME_SCALE, "refused-refund");
    let paid = payments
        .settle_pay(
            &PayOrder::new(800, wechat_code(301, 0)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(paid.outcome, Outcome::Paid);
    // Another program revokes it at the platform; this journal still says paid.
    let mut rv = RevokeRequest {
        req_seq: String::new(),
        ori_seq: paid.req_seq.clone(),
        channel: Some(Channel::WeChat),
        auth_code: None,
    };
    payments.client().revoke(&mut rv).unwrap();
    let opts = SettleOptions {
        deadline: Some(Duration::from_millis(1)),
        ..SettleOptions::default()
    };
    let r = payments
        .settle_refund(&paid.req_seq, 300, "退货", &opts)
        .unwrap();
    assert_eq!(r.outcome, Outcome::Failed, "{r:?}");
    assert_eq!(r.state, OpState::Failed);
    let trail: Vec<String> = payments
        .journal()
        .attempts("demo", &r.req_seq)
        .unwrap()
        .into_iter()
        .map(|a| a.what)
        .collect();
    assert_eq!(trail, ["refund", "query_refund"]);
    assert!(sim
        .control()
        .order("demo", &paid.req_seq)
        .unwrap()
        .refunds
        .is_empty());
}

/// An order create refused without a status, and a query that finds no
/// such order: the serial is closed, then FAILED.
#[test]
fn a_refused_order_create_that_the_platform_does_not_hold_fails() {
    let p = Arc::new(FakePlatform::new(|inc: &Incoming| {
        let seq = inc.req_seq();
        match inc.request_type.as_str() {
            "unitive_native_pay_request" => refusal("unitive_native_pay_response", &seq, "E10009"),
            "unitive_native_query_pay_request" => {
                refusal("unitive_native_query_pay_response", &seq, "E10004")
            }
            "unitive_revoke_request" => revoked(&seq),
            other => panic!("unexpected {other}"),
        }
    }));
    let payments = flows(p.clone());
    let order = NewOrder {
        total_fee: 1200,
        channel: Channel::WeChat,
        spec: OrderSpec::Native { expire_secs: None },
    };
    let OrderStart::Ended(s) = payments
        .create_order(&order, &SettleOptions::default())
        .unwrap()
    else {
        panic!("created")
    };
    assert_eq!(s.outcome, Outcome::Failed, "{s:?}");
    assert_eq!(
        kinds(&p),
        [
            "unitive_native_pay_request",
            "unitive_native_query_pay_request",
            "unitive_revoke_request"
        ]
    );
}

/// A refused create whose query shows the order waiting was created after
/// all: the customer may pay it.
#[test]
fn a_refused_order_create_that_the_platform_holds_is_waiting() {
    let p = Arc::new(FakePlatform::new(|inc: &Incoming| {
        let seq = inc.req_seq();
        match inc.request_type.as_str() {
            "unitive_native_pay_request" => refusal("unitive_native_pay_response", &seq, "E10009"),
            "unitive_native_query_pay_request" => seal(&format!(
                "<data><response_type>unitive_native_query_pay_response</response_type>\
                 <req_seq>{seq}</req_seq><result>Y</result><status>W</status>\
                 <trans_seq>55501</trans_seq><total_fee>1200</total_fee>\
                 <pay_url>weixin://wxpay/bizpayurl?pr=x</pay_url></data>"
            )),
            other => panic!("unexpected {other}"),
        }
    }));
    let payments = flows(p);
    let order = NewOrder {
        total_fee: 1200,
        channel: Channel::WeChat,
        spec: OrderSpec::Native { expire_secs: None },
    };
    match payments
        .create_order(&order, &SettleOptions::default())
        .unwrap()
    {
        OrderStart::Waiting(t) => assert_eq!(t.trans_seq.as_deref(), Some("55501")),
        OrderStart::Ended(s) => panic!("{s:?}"),
    }
}

/// A barcode payment refused without a status ("busy") whose query shows
/// it paid is PAID, never FAILED: a refusal proves nothing by itself.
#[test]
fn a_refused_payment_that_the_platform_holds_paid_is_paid() {
    let sim = start_sim(TIME_SCALE);
    let (payments, _path) = payments(&sim, TIME_SCALE, "busy-but-paid");
    let s = payments
        .settle_pay(
            &PayOrder::new(600, wechat_code(302, 83)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(s.outcome, Outcome::Paid, "{s:?}");
}

/// A revoke the platform refuses, for a payment it shows paid: the
/// payment stays PAID (the money is still taken), never FAILED or REVOKED.
#[test]
fn a_refused_revoke_of_a_paid_payment_leaves_it_paid() {
    let p = Arc::new(FakePlatform::new(|inc: &Incoming| {
        let seq = inc.req_seq();
        match inc.request_type.as_str() {
            "unitive_pay_request" => seal(&fake::paid_answer(
                "unitive_pay_response",
                &seq,
                "8801",
                100,
            )),
            "unitive_revoke_request" => refusal("unitive_revoke_response", &seq, "E14009"),
            "unitive_query_pay_request" => seal(&fake::paid_answer(
                "unitive_query_pay_response",
                &seq,
                "8801",
                100,
            )),
            other => panic!("unexpected {other}"),
        }
    }));
    let payments = flows(p);
    let s = payments
        .settle_pay(
            &PayOrder::new(100, "134567890123456701"),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(s.outcome, Outcome::Paid);
    let r = payments
        .revoke_payment(&s.req_seq, &SettleOptions::default())
        .unwrap();
    assert_eq!(r.outcome, Outcome::Paid, "{r:?}");
    assert_eq!(r.state, OpState::Paid);
}
