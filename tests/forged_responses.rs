//! Every kind of forged answer is rejected, and a rejection is an unknown
//! outcome (the caller must query), never "paid".
//!
//! Kinds (issue 7): a bad signature, a `req_seq` that is not ours, a replay
//! of an old valid answer, an answer to a different operation. Each is
//! produced by a platform that is otherwise honest, so the only thing that
//! differs from a good exchange is the forgery itself; after each, the
//! follow-up query (what the payment flow does on an unknown outcome) is
//! answered honestly and tells the truth.

/// The fake platform (tests/fake/mod.rs), named `common` here.
mod fake;
use fake as common;

use std::sync::{Arc, Mutex};

use common::{client, dsn, paid_answer, seal, seal_with, FakePlatform, Incoming};
use ystpay::protocol::messages::*;
use ystpay::protocol::{ResponseEnvelope, Status};
use ystpay::reading::Expected;
use ystpay::{Error, Rejection};

/// What the platform does to its answer to the first payment.
#[derive(Clone, Copy, Debug)]
enum Forgery {
    /// Signed with a dsn that is not the device's (a forger without the key).
    WrongKey,
    /// A good answer whose `data` was altered by one character.
    AlteredData,
    /// A good answer whose `timestamp` was altered.
    AlteredTimestamp,
    /// A good answer whose `signature` was replaced by a made-up one.
    MadeUpSignature,
    /// A correctly signed "paid" answer for another `req_seq`.
    OtherReqSeq,
    /// A correctly signed "paid" answer that leaves out `req_seq`.
    NoReqSeq,
    /// The recorded bytes of an earlier, valid "paid" answer to another request.
    Replay,
    /// A correctly signed "paid" answer naming another operation's `response_type`.
    OtherOperation,
}

const ALL: [Forgery; 8] = [
    Forgery::WrongKey,
    Forgery::AlteredData,
    Forgery::AlteredTimestamp,
    Forgery::MadeUpSignature,
    Forgery::OtherReqSeq,
    Forgery::NoReqSeq,
    Forgery::Replay,
    Forgery::OtherOperation,
];

/// A platform where order `OLD` was paid earlier (its answer recorded), and
/// the current payment is *not* paid: an honest query says `F` (closed).
/// The first answer to `NEW` is forged as told; later answers are honest.
fn platform(forgery: Forgery) -> Arc<FakePlatform> {
    // An earlier, genuine exchange: a paid answer to req_seq OLD.
    let recorded = seal(&paid_answer("unitive_pay_response", "OLD", "900001", 100));
    let forged_once = Mutex::new(false);
    Arc::new(FakePlatform::new(move |inc: &Incoming| {
        let req_seq = inc.req_seq();
        let mut done = forged_once.lock().unwrap();
        if inc.request_type == "unitive_pay_request" && !*done {
            *done = true;
            return forge(forgery, &req_seq, &recorded);
        }
        // Honest answers: the payment under test was never paid.
        let ori = inc.fields.get("ori_seq").unwrap_or_default();
        let rt = match inc.request_type.as_str() {
            "unitive_query_pay_request" => "unitive_query_pay_response",
            other => panic!("unexpected {other}"),
        };
        seal(&format!(
            "<data><response_type>{rt}</response_type><req_seq>{req_seq}</req_seq>\
             <result>Y</result><code>000000</code><msg>{ori} closed</msg><status>F</status></data>"
        ))
    }))
}

fn forge(forgery: Forgery, req_seq: &str, recorded: &[u8]) -> Vec<u8> {
    let genuine = paid_answer("unitive_pay_response", req_seq, "900002", 100);
    let mut env = ResponseEnvelope::seal(&dsn(), "1426497738440", &genuine).unwrap();
    match forgery {
        Forgery::WrongKey => {
            return seal_with("0000000000000000FFFFFFFFFFFFFFFF", "1", &genuine);
        }
        Forgery::AlteredData => {
            let mut b = env.data.into_bytes();
            b[5] = if b[5] == b'A' { b'B' } else { b'A' };
            env.data = String::from_utf8(b).unwrap();
        }
        Forgery::AlteredTimestamp => env.timestamp = "1426497738441".into(),
        Forgery::MadeUpSignature => env.signature = "0123456789ABCDEF0123456789ABCDEF".into(),
        Forgery::OtherReqSeq => {
            return seal(&paid_answer(
                "unitive_pay_response",
                "SOMEONEELSE",
                "900002",
                100,
            ))
        }
        Forgery::NoReqSeq => {
            let plain = genuine.replace(&format!("<req_seq>{req_seq}</req_seq>"), "");
            return seal(&plain);
        }
        Forgery::Replay => return recorded.to_vec(),
        Forgery::OtherOperation => {
            return seal(&paid_answer(
                "unitive_query_refund_response",
                req_seq,
                "900002",
                100,
            ))
        }
    }
    env.to_xml().into_bytes()
}

fn expected_rejection(forgery: Forgery, e: &Rejection) -> bool {
    match forgery {
        Forgery::WrongKey
        | Forgery::AlteredData
        | Forgery::AlteredTimestamp
        | Forgery::MadeUpSignature => *e == Rejection::BadSignature,
        Forgery::OtherReqSeq | Forgery::NoReqSeq | Forgery::Replay => {
            matches!(e, Rejection::ReqSeqMismatch { .. })
        }
        Forgery::OtherOperation => matches!(e, Rejection::WrongOperation { .. }),
    }
}

#[test]
fn each_forged_answer_is_rejected_and_the_query_tells_the_truth() {
    for forgery in ALL {
        let p = platform(forgery);
        let c = client(p.clone());
        let mut pay = PayRequest::new("NEW", 100, "134567890123456701");
        let err = match c.pay(&mut pay) {
            Ok(resp) => panic!("{forgery:?} accepted as an answer: {resp:?}"),
            Err(e) => e,
        };
        match &err {
            Error::Rejected(r) => assert!(
                expected_rejection(forgery, r),
                "{forgery:?} rejected for the wrong reason: {r:?}"
            ),
            other => panic!("{forgery:?} gave {other:?}, not Rejected"),
        }
        // A rejection is an unknown outcome: query before concluding anything.
        assert!(err.outcome_unknown(), "{forgery:?}");
        assert!(!err.nothing_sent(), "{forgery:?}");
        // The error text does not leak the dsn (the response key).
        assert!(!err.to_string().contains(&dsn()), "{forgery:?}");

        // The query path: the honest platform says the order is closed.
        let mut q = QueryPayRequest {
            req_seq: String::new(),
            auth_code: None,
            ori_seq: pay.req_seq.clone(),
        };
        let answer = c.query_pay(&mut q).expect("honest query answer");
        assert_eq!(answer.status, Some(Status::Failed), "{forgery:?}");
        assert_ne!(answer.status, Some(Status::Success));
        assert_eq!(p.seen.lock().unwrap().len(), 2);
    }
}

/// A replayed "paid" answer to a *query* is rejected too: the query has its
/// own `req_seq`, so an old answer (even one for the same order) cannot stand
/// in for a new one.
#[test]
fn a_replayed_query_answer_is_rejected() {
    let first: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
    let keep = first.clone();
    let p = Arc::new(FakePlatform::new(move |inc: &Incoming| {
        let mut kept = keep.lock().unwrap();
        if let Some(old) = kept.as_ref() {
            return old.clone();
        }
        let body = seal(&paid_answer(
            "unitive_query_pay_response",
            &inc.req_seq(),
            "900003",
            100,
        ));
        *kept = Some(body.clone());
        body
    }));
    let c = client(p);
    let mut q1 = QueryPayRequest {
        req_seq: String::new(),
        auth_code: None,
        ori_seq: "ORDER1".into(),
    };
    let a1 = c.query_pay(&mut q1).expect("first answer is genuine");
    assert_eq!(a1.status, Some(Status::Success));
    let mut q2 = QueryPayRequest {
        req_seq: String::new(),
        auth_code: None,
        ori_seq: "ORDER1".into(),
    };
    match c.query_pay(&mut q2) {
        Err(e @ Error::Rejected(Rejection::ReqSeqMismatch { .. })) => assert!(e.outcome_unknown()),
        other => panic!("replay accepted or misclassified: {other:?}"),
    }
}

/// Notifications (API §5.5): a signed one whose signature fails is rejected;
/// a plain one is marked unsigned and believed only when the platform's own
/// query confirms it; a forged answer to that query is rejected.
#[test]
fn forged_notifications_never_count_as_paid() {
    let notice = "<data><request_type>native_order_notice</request_type><req_seq>N1</req_seq>\
                  <channel>W</channel><trans_seq>700001</trans_seq><total_fee>100</total_fee>\
                  <status>S</status><pay_time>2015-06-09 11:17:48</pay_time></data>";
    // Whether the confirming query is answered honestly ("not paid") or forged.
    for forge_confirm in [false, true] {
        let p = Arc::new(FakePlatform::new(move |inc: &Incoming| {
            if forge_confirm {
                // A genuine-looking "paid" answer signed without the dsn.
                return seal_with(
                    "0000000000000000FFFFFFFFFFFFFFFF",
                    "1",
                    &paid_answer(
                        "unitive_native_query_pay_response",
                        &inc.req_seq(),
                        "700001",
                        100,
                    ),
                );
            }
            seal(&format!(
                "<data><response_type>unitive_native_query_pay_response</response_type>\
                 <req_seq>{}</req_seq><result>Y</result><trans_seq>700001</trans_seq>\
                 <status>W</status></data>",
                inc.req_seq()
            ))
        }));
        let c = client(p);
        let forged = seal_with("0000000000000000FFFFFFFFFFFFFFFF", "1", notice);
        assert_eq!(
            c.read_notice(&forged),
            Err(Error::Rejected(Rejection::BadSignature))
        );
        let plain = c
            .read_notice(notice.as_bytes())
            .expect("plain notice reads");
        assert!(!plain.signed, "a plain notice is never taken as verified");
        let confirmed = c.prove_paid(&plain, &Expected::default());
        match confirmed {
            Err(Error::Rejected(Rejection::Unconfirmed(_))) => assert!(!forge_confirm),
            Err(Error::Rejected(Rejection::BadSignature)) => assert!(forge_confirm),
            other => panic!("unconfirmed notice accepted: {other:?}"),
        }
    }
    // The genuine signed form verifies.
    let c = client(Arc::new(FakePlatform::new(|_| unreachable!())));
    let signed = c.read_notice(&seal(notice)).expect("signed notice");
    assert!(signed.signed);
    assert_eq!(signed.notice.status, Some(Status::Success));
}

/// The payment flow (`Payments::settle_pay`) on top of the client: the first
/// answer to the payment is forged "paid" in each way; the flow must not
/// believe it, must query the platform, and must end with what the honest
/// query says — FAILED when the order was never paid, PAID (with the
/// platform's own order number, not the forger's) when it was.
#[test]
fn the_payment_flow_queries_after_each_forgery_and_never_reports_a_forged_paid() {
    use ystpay::flow::PayOrder;
    use ystpay::{FlowConfig, Journal, Outcome, Payments, SettleOptions};

    for really_paid in [false, true] {
        for forgery in ALL {
            let recorded = seal(&paid_answer("unitive_pay_response", "OLD", "900001", 100));
            let forged_once = Mutex::new(false);
            let p = Arc::new(FakePlatform::new(move |inc: &Incoming| {
                let req_seq = inc.req_seq();
                let mut done = forged_once.lock().unwrap();
                match inc.request_type.as_str() {
                    "unitive_pay_request" if !*done => {
                        *done = true;
                        forge(forgery, &req_seq, &recorded)
                    }
                    "unitive_query_pay_request" | "unitive_pay_request" if really_paid => seal(
                        &paid_answer("unitive_query_pay_response", &req_seq, "777777", 100),
                    ),
                    "unitive_query_pay_request" | "unitive_pay_request" => seal(&format!(
                        "<data><response_type>unitive_query_pay_response</response_type>\
                         <req_seq>{req_seq}</req_seq><result>Y</result><status>F</status>\
                         <code>E12002</code><msg>closed</msg></data>"
                    )),
                    "unitive_revoke_request" => seal(&format!(
                        "<data><response_type>unitive_revoke_response</response_type>\
                         <req_seq>{req_seq}</req_seq><result>Y</result><status>F</status></data>"
                    )),
                    other => panic!("unexpected {other}"),
                }
            }));
            let payments = Payments::new(
                Arc::new(client(p.clone())),
                Arc::new(Journal::open_in_memory().unwrap()),
                FlowConfig::default().scaled(0.01),
            )
            .unwrap();
            let s = payments
                .settle_pay(
                    &PayOrder::new(100, "134567890123456701"),
                    &SettleOptions::default(),
                )
                .expect("settles");
            let kinds: Vec<String> = p
                .seen
                .lock()
                .unwrap()
                .iter()
                .map(|i| i.request_type.clone())
                .collect();
            assert!(
                kinds.iter().any(|k| k == "unitive_query_pay_request"),
                "{forgery:?}: no query after the forged answer: {kinds:?}"
            );
            if really_paid {
                assert_eq!(s.outcome, Outcome::Paid, "{forgery:?}");
                assert_eq!(s.trans_seq.as_deref(), Some("777777"), "{forgery:?}");
            } else {
                assert_ne!(s.outcome, Outcome::Paid, "{forgery:?} reported paid");
                assert_eq!(s.outcome, Outcome::Failed, "{forgery:?}");
            }
        }
    }
}
