//! The `Client` against the real simulator on loopback (port 0): every
//! interface, every payment-code scenario, refunds, revokes, duplicate
//! serials, faults, tampered answers, and notifications.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ystpay::client::NoticeProof;
use ystpay::protocol::messages::*;
use ystpay::protocol::{crypto, Channel, ProdItem, ResponseEnvelope, Status};
use ystpay::reading::Expected;
use ystpay::transport::{HttpSettings, HttpTransport, Transport, TransportError};
use ystpay::{Client, ClientConfig, Error, Rejection};
use ystpay_sim::{Fault, OrderKind, RunningSim, SimConfig, Simulator, TrueStatus};

const MERCHANT: &str = "demo";

fn sim(time_scale: f64) -> RunningSim {
    Simulator::start(SimConfig {
        time_scale,
        ..Default::default()
    })
    .expect("simulator starts")
}

fn config(sim: &RunningSim) -> ClientConfig {
    ClientConfig::new(&sim.api_url(), "demo", "demo123", "0123456789ABCDEF")
}

fn client(sim: &RunningSim) -> Client {
    Client::new(&config(sim)).expect("client")
}

/// A WeChat code (18 digits starting 13) whose last two digits pick the scenario.
fn code(scenario: u8, salt: u32) -> String {
    format!("13{:014}{:02}", salt, scenario)
}

fn pay(c: &Client, fee: i64, auth: &str) -> (PayRequest, Result<PayResponse, Error>) {
    let mut req = PayRequest::new("", fee, auth);
    let r = c.pay(&mut req);
    (req, r)
}

fn query(c: &Client, ori_seq: &str) -> Result<PayResponse, Error> {
    c.query_pay(&mut QueryPayRequest {
        req_seq: String::new(),
        auth_code: None,
        ori_seq: ori_seq.to_string(),
    })
}

/// Queries until the status is no longer W (bounded).
fn settle(c: &Client, ori_seq: &str) -> PayResponse {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let a = query(c, ori_seq).expect("query answers");
        if a.status != Some(Status::Waiting) || Instant::now() > deadline {
            return a;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn instant_payment_with_receipt_and_products() {
    let s = sim(1.0);
    let c = client(&s);
    let mut req = PayRequest::new("", 4320, code(1, 1).as_str());
    req.prod_details = vec![
        ProdItem::new("2900002400915", "奶油曲奇 & <小石头>", 1760, "1"),
        ProdItem::new("2900002400922", "小石头 \"特价\"", 2560, "1"),
    ];
    let a = c.pay(&mut req).expect("paid");
    assert_eq!(a.status, Some(Status::Success));
    assert_eq!(a.total_fee, Some(4320));
    assert_eq!(a.channel, Some(Channel::WeChat));
    assert_eq!(a.head.req_seq.as_deref(), Some(req.req_seq.as_str()));
    assert!(a.trans_seq.as_deref().is_some_and(|t| t.len() == 20));
    assert!(
        a.receipts.iter().any(|l| l.contains("43.20")),
        "{:?}",
        a.receipts
    );
    assert!(a.pay_time.is_some());
    let truth = s.control().order(MERCHANT, &req.req_seq).unwrap();
    assert_eq!(truth.status, TrueStatus::Paid);
    assert_eq!(truth.pay_count, 1);
    let q = query(&c, &req.req_seq).unwrap();
    assert_eq!(q.status, Some(Status::Success));
    assert_eq!(q.trans_seq, a.trans_seq);
}

#[test]
fn alipay_code_and_channel_mismatch() {
    let s = sim(1.0);
    let c = client(&s);
    let (_, a) = pay(&c, 100, "2812345678901234501");
    assert_eq!(a.unwrap().channel, Some(Channel::Alipay));
    let mut req = PayRequest::new("", 100, code(2, 2).as_str());
    req.channel = Some(Channel::Alipay);
    match c.pay(&mut req) {
        Err(Error::Refused(r)) => assert_eq!(r.status, Some(Status::Failed)),
        other => panic!("{other:?}"),
    }
    let (_, bad) = pay(&c, 100, "99999");
    assert!(matches!(bad, Err(Error::Refused(r)) if r.status == Some(Status::Failed)));
}

#[test]
fn password_then_paid() {
    let s = sim(20.0);
    let c = client(&s);
    let (req, a) = pay(&c, 990, &code(52, 3));
    assert_eq!(a.unwrap().status, Some(Status::Waiting));
    let done = settle(&c, &req.req_seq);
    assert_eq!(done.status, Some(Status::Success));
    assert_eq!(
        s.control().order(MERCHANT, &req.req_seq).unwrap().pay_count,
        1
    );
}

#[test]
fn abandoned_then_failed() {
    let s = sim(20.0);
    let c = client(&s);
    let (req, a) = pay(&c, 990, &code(61, 4));
    assert_eq!(a.unwrap().status, Some(Status::Waiting));
    assert_eq!(settle(&c, &req.req_seq).status, Some(Status::Failed));
    assert_eq!(
        s.control().order(MERCHANT, &req.req_seq).unwrap().pay_count,
        0
    );
}

#[test]
fn refused_at_once_says_failed() {
    let s = sim(1.0);
    let c = client(&s);
    let (_, a) = pay(&c, 990, &code(71, 5));
    match a {
        Err(Error::Refused(r)) => {
            assert_eq!(r.status, Some(Status::Failed));
            assert!(!r.code.is_empty() && !r.msg.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn busy_but_succeeded_is_revealed_by_a_query() {
    let s = sim(1.0);
    let c = client(&s);
    let (req, a) = pay(&c, 990, &code(85, 6));
    match a {
        Err(Error::Refused(r)) => assert_eq!(r.status, None, "no explicit F: not a failure"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        query(&c, &req.req_seq).unwrap().status,
        Some(Status::Success)
    );
}

#[test]
fn slow_answer_is_outcome_unknown_then_query_finds_it_paid() {
    let s = sim(1.0);
    let mut cfg = config(&s);
    cfg.read_timeout = Duration::from_millis(300);
    let c = Client::new(&cfg).unwrap();
    let (req, a) = pay(&c, 990, &code(92, 7));
    assert!(matches!(a, Err(Error::OutcomeUnknown(_))), "{a:?}");
    assert!(a.unwrap_err().outcome_unknown());
    assert_eq!(
        query(&c, &req.req_seq).unwrap().status,
        Some(Status::Success)
    );
}

#[test]
fn same_req_seq_is_a_retry_never_a_second_payment() {
    let s = sim(1.0);
    let c = client(&s);
    let (mut req, first) = pay(&c, 500, &code(3, 8));
    let first = first.unwrap();
    let again = c.pay(&mut req).unwrap();
    assert_eq!(again.trans_seq, first.trans_seq);
    assert_eq!(
        s.control().order(MERCHANT, &req.req_seq).unwrap().pay_count,
        1
    );
    let mut changed = req.clone();
    changed.total_fee = 501;
    assert!(matches!(c.pay(&mut changed), Err(Error::Refused(_))));
}

#[test]
fn refunds_partial_repeated_idempotent_and_bounded() {
    let s = sim(1.0);
    let c = client(&s);
    let (req, a) = pay(&c, 1000, &code(4, 9));
    let trans_seq = a.unwrap().trans_seq.unwrap();
    let mut r1 = RefundRequest {
        req_seq: String::new(),
        trans_seq: trans_seq.clone(),
        refund_fee: 300,
        reason: "顾客退货 & 换货".into(),
    };
    let a1 = c.refund(&mut r1).unwrap();
    assert_eq!(a1.refund_fee, Some(300));
    let again = c.refund(&mut r1.clone()).unwrap();
    assert_eq!(
        again.refund_seq, a1.refund_seq,
        "retry answers the same refund"
    );
    let mut r2 = RefundRequest {
        req_seq: String::new(),
        trans_seq: trans_seq.clone(),
        refund_fee: 700,
        reason: "second".into(),
    };
    c.refund(&mut r2).unwrap();
    let mut r3 = RefundRequest {
        req_seq: String::new(),
        trans_seq: trans_seq.clone(),
        refund_fee: 1,
        reason: "too much".into(),
    };
    assert!(matches!(c.refund(&mut r3), Err(Error::Refused(_))));
    let truth = s.control().order(MERCHANT, &req.req_seq).unwrap();
    assert_eq!(truth.refunded_fee, 1000);
    assert_eq!(truth.refunds.len(), 2);
    let q = c
        .query_refund(&mut QueryRefundRequest {
            req_seq: String::new(),
            trans_seq,
            ori_seq: r1.req_seq.clone(),
        })
        .unwrap();
    assert_eq!(q.refund_seq, a1.refund_seq);
    assert_eq!(q.refund_fee, Some(300));
}

#[test]
fn refund_exceeding_paid_is_refused() {
    let s = sim(1.0);
    let c = client(&s);
    let (_, a) = pay(&c, 100, &code(5, 10));
    let mut r = RefundRequest {
        req_seq: String::new(),
        trans_seq: a.unwrap().trans_seq.unwrap(),
        refund_fee: 101,
        reason: "x".into(),
    };
    assert!(matches!(c.refund(&mut r), Err(Error::Refused(_))));
}

fn revoke(c: &Client, ori_seq: &str) -> Result<RevokeResponse, Error> {
    c.revoke(&mut RevokeRequest {
        req_seq: String::new(),
        ori_seq: ori_seq.to_string(),
        channel: Some(Channel::WeChat),
        auth_code: None,
    })
}

#[test]
fn revoke_paid_waiting_and_unknown() {
    let s = sim(20.0);
    let c = client(&s);
    let (paid, _) = pay(&c, 100, &code(6, 11));
    revoke(&c, &paid.req_seq).unwrap();
    assert_eq!(
        s.control().order(MERCHANT, &paid.req_seq).unwrap().status,
        TrueStatus::Revoked
    );
    assert_ne!(
        query(&c, &paid.req_seq).unwrap().status,
        Some(Status::Success)
    );

    let (waiting, a) = pay(&c, 100, &code(51, 12));
    assert_eq!(a.unwrap().status, Some(Status::Waiting));
    revoke(&c, &waiting.req_seq).unwrap();
    // Even after the password timer would have fired, no money is taken.
    std::thread::sleep(Duration::from_millis(200));
    let truth = s.control().order(MERCHANT, &waiting.req_seq).unwrap();
    assert_eq!(truth.pay_count, 0);
    assert_ne!(settle(&c, &waiting.req_seq).status, Some(Status::Success));

    // A revoke of a payment that never arrived blocks it for good.
    let mut late = PayRequest::new(c.issue_req_seq().unwrap(), 100, code(7, 13).as_str());
    revoke(&c, &late.req_seq).unwrap();
    assert!(matches!(c.pay(&mut late), Err(Error::Refused(_))));
}

#[test]
fn native_js_h5_orders_wait_for_the_customer() {
    let s = sim(1.0);
    let c = client(&s);
    let mut n = NativePayRequest {
        req_seq: String::new(),
        total_fee: 1,
        expire_time: Some(300),
        channel: Channel::Alipay,
    };
    let a = c.native_pay(&mut n).unwrap();
    assert_eq!(a.status, Some(Status::Waiting));
    assert!(a.pay_url.as_deref().is_some_and(|u| !u.is_empty()));
    let mut q = NativeQueryRequest {
        req_seq: String::new(),
        channel: Some(Channel::Alipay),
        ori_seq: n.req_seq.clone(),
    };
    assert_eq!(
        c.native_query(&mut q.clone()).unwrap().status,
        Some(Status::Waiting)
    );
    s.control().customer_pays(MERCHANT, &n.req_seq).unwrap();
    let paid = c.native_query(&mut q).unwrap();
    assert_eq!(paid.status, Some(Status::Success));
    assert_eq!(paid.trans_seq, a.trans_seq);

    let mut j = JsPayRequest {
        req_seq: String::new(),
        total_fee: 10000,
        channel: Channel::WeChat,
        subopen_id: "0z8tfs4224lgn3535353gdg".into(),
    };
    let ja = c.js_pay(&mut j).unwrap();
    assert_eq!(ja.status, Some(Status::Waiting));
    let info = ja.signature_info_map().unwrap();
    for key in [
        "appId",
        "nonceStr",
        "package",
        "paySign",
        "signType",
        "timeStamp",
    ] {
        assert!(info.contains_key(key), "signature_info has {key}: {info:?}");
    }

    let mut h = H5PayRequest {
        req_seq: String::new(),
        total_fee: 10000,
        channel: Channel::WeChat,
        ip: Some("125.71.132.197".into()),
        redirect_url: "http://shop.example/call.html?x=1&y=2".into(),
    };
    let ha = c.h5_pay(&mut h).unwrap();
    assert_eq!(ha.status, Some(Status::Waiting));
    assert!(ha
        .pay_info
        .as_deref()
        .is_some_and(|u| u.starts_with("https://")));
    assert_eq!(
        s.control().order(MERCHANT, &h.req_seq).unwrap().kind,
        OrderKind::H5
    );
}

#[test]
fn faults_map_to_the_right_errors() {
    let s = sim(1.0);
    let mut cfg = config(&s);
    cfg.read_timeout = Duration::from_secs(5);
    let c = Client::new(&cfg).unwrap();
    let ctl = s.control();

    ctl.inject(Fault::BadSignature, 1);
    let (req, a) = pay(&c, 100, &code(8, 20));
    assert_eq!(a.unwrap_err(), Error::Rejected(Rejection::BadSignature));
    assert_eq!(
        ctl.order(MERCHANT, &req.req_seq).unwrap().status,
        TrueStatus::Paid
    );

    ctl.inject(Fault::Garbage, 1);
    let (_, a) = pay(&c, 100, &code(8, 21));
    assert!(
        matches!(a, Err(Error::Rejected(Rejection::Malformed(_)))),
        "{a:?}"
    );

    ctl.inject(Fault::DropBeforeCommit, 1);
    let (req, a) = pay(&c, 100, &code(8, 22));
    assert!(matches!(a, Err(Error::OutcomeUnknown(_))), "{a:?}");
    assert!(ctl.order(MERCHANT, &req.req_seq).is_none());

    ctl.inject(Fault::DropAfterCommit, 1);
    let (req, a) = pay(&c, 100, &code(8, 23));
    assert!(matches!(a, Err(Error::OutcomeUnknown(_))), "{a:?}");
    assert_eq!(
        ctl.order(MERCHANT, &req.req_seq).unwrap().status,
        TrueStatus::Paid
    );

    ctl.inject(Fault::Http500, 1);
    let (_, a) = pay(&c, 100, &code(8, 24));
    assert!(matches!(a, Err(Error::OutcomeUnknown(_))), "{a:?}");

    ctl.inject(Fault::Delay(Duration::from_millis(50)), 1);
    let (_, a) = pay(&c, 100, &code(8, 25));
    assert!(a.is_ok());
}

#[test]
fn closed_port_is_not_sent() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let cfg = ClientConfig::new(
        &format!("http://127.0.0.1:{port}/ystpay/service/unitive.api"),
        "demo",
        "demo123",
        "0123456789ABCDEF",
    );
    let c = Client::new(&cfg).unwrap();
    let (_, a) = pay(&c, 100, &code(1, 30));
    let e = a.unwrap_err();
    assert!(matches!(e, Error::NotSent(_)), "{e:?}");
    assert!(e.nothing_sent());
}

#[test]
fn wrong_device_key_is_refused_and_its_answer_rejected() {
    let s = sim(1.0);
    let mut cfg = config(&s);
    cfg.password = Some("wrong-password".into());
    let c = Client::new(&cfg).unwrap();
    // The platform does not know this dsn: it answers result=N signed for it.
    let (_, a) = pay(&c, 100, &code(1, 31));
    assert!(
        matches!(a, Err(Error::Refused(_)) | Err(Error::Rejected(_))),
        "{a:?}"
    );
    assert!(s.control().orders(MERCHANT).is_empty());
}

/// Replays the first answer it saw for every later call.
struct Replay {
    inner: HttpTransport,
    first: Mutex<Option<Vec<u8>>>,
}

impl Transport for Replay {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let answer = self.inner.post(url, body)?;
        let mut first = self.first.lock().unwrap();
        Ok(first.get_or_insert(answer).clone())
    }
}

#[test]
fn replayed_answer_is_rejected() {
    let s = sim(1.0);
    let t = Arc::new(Replay {
        inner: HttpTransport::new(&HttpSettings::default()).unwrap(),
        first: Mutex::new(None),
    });
    let c = Client::with_transport(&config(&s), t).unwrap();
    let (_, a) = pay(&c, 100, &code(1, 40));
    assert!(a.is_ok());
    let (_, b) = pay(&c, 100, &code(1, 41));
    assert!(
        matches!(b, Err(Error::Rejected(Rejection::ReqSeqMismatch { .. }))),
        "{b:?}"
    );
}

/// Answers every request with a validly signed answer to a different operation.
struct WrongOperation {
    dsn: String,
}

impl Transport for WrongOperation {
    fn post(&self, _url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let env =
            ystpay::protocol::RequestEnvelope::parse(std::str::from_utf8(body).unwrap()).unwrap();
        let plain = env.open("0123456789ABCDEF").unwrap();
        let f = ystpay::protocol::xml::Fields::parse(&plain, Some("data")).unwrap();
        let mut r = RefundResponse::default();
        r.head.response_type = Some("unitive_refund_response".into());
        r.head.req_seq = f.get("req_seq").map(str::to_string);
        r.head.result = Some(true);
        r.status = Some(Status::Success);
        let sealed = ResponseEnvelope::seal(&self.dsn, "1", &r.to_xml()).unwrap();
        Ok(sealed.to_xml().into_bytes())
    }
}

#[test]
fn answer_to_another_operation_is_rejected() {
    let dsn = crypto::derive_dsn("demo", "0123456789ABCDEF", "demo123");
    let cfg = ClientConfig::new(
        "http://127.0.0.1:9/x",
        "demo",
        "demo123",
        "0123456789ABCDEF",
    );
    let c = Client::with_transport(&cfg, Arc::new(WrongOperation { dsn })).unwrap();
    let (_, a) = pay(&c, 100, &code(1, 50));
    assert!(
        matches!(a, Err(Error::Rejected(Rejection::WrongOperation { .. }))),
        "{a:?}"
    );
}

/// What the receiver saw: (signed?, req_seq or error) per notice.
type Seen = Arc<Mutex<Vec<(bool, String)>>>;

/// A loopback notification receiver: answers N to the first notice, Y after.
fn receiver(c: Arc<Client>) -> (String, Seen) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", l.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= pos + 4 + len {
                        break Some(buf[pos + 4..pos + 4 + len].to_vec());
                    }
                }
            };
            let Some(body) = body else { continue };
            let n = c.read_notice(&body);
            let mut seen = seen2.lock().unwrap();
            let accept = !seen.is_empty();
            match n {
                Ok(n) => seen.push((n.signed, n.notice.req_seq.unwrap_or_default())),
                Err(e) => seen.push((false, format!("error: {e}"))),
            }
            let reply = ystpay::client::notice_reply(accept, if accept { "成功" } else { "稍后" });
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                reply.len(),
                reply
            );
        }
    });
    (url, seen)
}

#[test]
fn notification_is_delivered_retried_and_confirmed() {
    let cfg_client = ClientConfig::new(
        "http://127.0.0.1:9/x",
        "demo",
        "demo123",
        "0123456789ABCDEF",
    );
    let reader = Arc::new(Client::new(&cfg_client).unwrap());
    let (notify_url, seen) = receiver(reader);
    let s = Simulator::start(SimConfig {
        time_scale: 1000.0,
        notify_url: Some(notify_url),
        ..Default::default()
    })
    .unwrap();
    let c = client(&s);
    let mut n = NativePayRequest {
        req_seq: String::new(),
        total_fee: 888,
        expire_time: None,
        channel: Channel::WeChat,
    };
    c.native_pay(&mut n).unwrap();
    s.control().customer_pays(MERCHANT, &n.req_seq).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !s.control().notices().iter().any(|a| a.delivered) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let attempts = s.control().notices();
    assert!(attempts.len() >= 2, "{attempts:?}");
    assert!(!attempts[0].delivered && attempts.last().unwrap().delivered);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .all(|(signed, seq)| *signed && *seq == n.req_seq),
        "{seen:?}"
    );
    // The notice is confirmed by the platform's own records.
    let body = ystpay::protocol::OrderNotice {
        request_type: Some("native_order_notice".into()),
        req_seq: Some(n.req_seq.clone()),
        trans_seq: s.control().order(MERCHANT, &n.req_seq).map(|o| o.trans_seq),
        channel: Some(Channel::WeChat),
        total_fee: Some(888),
        pay_time: Some("2026-11-25 10:00:00".into()),
        ..Default::default()
    };
    let plain = c.read_notice(body.to_xml().as_bytes()).unwrap();
    assert!(!plain.signed);
    assert_eq!(
        c.prove_paid(&plain, &Expected::default()),
        Ok(NoticeProof::Query)
    );
    let mut forged = plain.clone();
    forged.notice.total_fee = Some(1);
    assert!(matches!(
        c.prove_paid(&forged, &Expected::default()).unwrap_err(),
        Error::Rejected(Rejection::Unconfirmed(why)) if why.contains("¥8.88, not ¥0.01")
    ));
    // Without an amount in the notice, the journal's is the one asked for.
    let mut bare = plain.clone();
    bare.notice.total_fee = None;
    assert_eq!(
        c.prove_paid(&bare, &Expected::new(888, None)),
        Ok(NoticeProof::Query)
    );
    assert!(c.prove_paid(&bare, &Expected::new(887, None)).is_err());
}
