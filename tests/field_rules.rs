//! Every field rule of the API document's request tables is checked before anything
//! is sent: each violation is a distinct error naming the field, and the
//! transport is never touched.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ystpay::protocol::messages::*;
use ystpay::protocol::{Channel, FieldProblem, ProdItem};
use ystpay::transport::{Transport, TransportError};
use ystpay::{Client, ClientConfig, Error};

/// Counts calls; a rule violation must never reach it.
#[derive(Default)]
struct CountingTransport(AtomicUsize);

impl Transport for CountingTransport {
    fn post(&self, _url: &str, _body: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(TransportError::NotSent("counting transport".into()))
    }
}

fn client() -> (Client, Arc<CountingTransport>) {
    let t = Arc::new(CountingTransport::default());
    let cfg = ClientConfig::new(
        "http://127.0.0.1:9/ystpay/service/unitive.api",
        "demo",
        "demo123",
        "0123456789ABCDEF",
    );
    (Client::with_transport(&cfg, t.clone()).unwrap(), t)
}

fn expect<R: Request>(mut req: R, field: &str, problem: FieldProblem) {
    let (c, t) = client();
    match c.send(&mut req) {
        Err(Error::InvalidInput(e)) => {
            assert_eq!(e.field, field, "field for {problem:?}");
            assert_eq!(e.problem, problem, "problem for {field}");
            assert!(e.to_string().contains(field));
        }
        other => panic!("expected InvalidInput({field}), got {other:?}"),
    }
    assert_eq!(t.0.load(Ordering::SeqCst), 0, "nothing may be sent");
}

fn pay() -> PayRequest {
    PayRequest::new("P1", 100, "134567890123456789")
}

#[test]
fn valid_requests_reach_the_transport() {
    let (c, t) = client();
    let mut p = pay();
    assert!(matches!(c.pay(&mut p), Err(Error::NotSent(_))));
    assert_eq!(t.0.load(Ordering::SeqCst), 1);
}

#[test]
fn req_seq_rules() {
    let mut p = pay();
    p.req_seq = "1".repeat(21);
    expect(
        p,
        "req_seq",
        FieldProblem::TooLong {
            max: 20,
            actual: 21,
        },
    );
    let mut p = pay();
    p.req_seq = "a b".into();
    expect(
        p,
        "req_seq",
        FieldProblem::Invalid("must be printable ASCII without spaces"),
    );
}

#[test]
fn empty_req_seq_is_generated_and_written_back() {
    let (c, _) = client();
    let mut p = pay();
    p.req_seq.clear();
    let _ = c.pay(&mut p);
    assert_eq!(p.req_seq.len(), 20);
    assert!(p.req_seq.bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn fee_rules() {
    for (fee, problem) in [
        (0, FieldProblem::NotPositive),
        (-1, FieldProblem::NotPositive),
        (10_000_000_000, FieldProblem::TooManyDigits { max: 10 }),
    ] {
        let mut p = pay();
        p.total_fee = fee;
        expect(p, "total_fee", problem.clone());
        let r = RefundRequest {
            req_seq: "R1".into(),
            trans_seq: "T1".into(),
            refund_fee: fee,
            reason: "x".into(),
        };
        expect(r, "refund_fee", problem.clone());
        let n = NativePayRequest {
            req_seq: "N1".into(),
            total_fee: fee,
            expire_time: None,
            channel: Channel::WeChat,
        };
        expect(n, "total_fee", problem);
    }
}

#[test]
fn auth_code_rules() {
    expect(
        PayRequest::new("P1", 1, ""),
        "auth_code",
        FieldProblem::Missing,
    );
    expect(
        PayRequest::new("P1", 1, "1".repeat(33)),
        "auth_code",
        FieldProblem::TooLong {
            max: 32,
            actual: 33,
        },
    );
}

#[test]
fn channel_letters_per_interface() {
    let mut p = pay();
    p.channel = Some(Channel::BestPay);
    expect(
        p,
        "channel",
        FieldProblem::ChannelNotAllowed { allowed: "WAQ" },
    );
    let n = NativePayRequest {
        req_seq: "N1".into(),
        total_fee: 1,
        expire_time: None,
        channel: Channel::Qq,
    };
    expect(
        n,
        "channel",
        FieldProblem::ChannelNotAllowed { allowed: "WA" },
    );
    let j = JsPayRequest {
        req_seq: "J1".into(),
        total_fee: 1,
        channel: Channel::Other("X".into()),
        subopen_id: "o1".into(),
    };
    expect(
        j,
        "channel",
        FieldProblem::ChannelNotAllowed { allowed: "WA" },
    );
    let q = NativeQueryRequest {
        req_seq: "Q1".into(),
        channel: Some(Channel::BestPay),
        ori_seq: "N1".into(),
    };
    expect(
        q,
        "channel",
        FieldProblem::ChannelNotAllowed { allowed: "WA" },
    );
}

#[test]
fn expire_time_range() {
    for t in [299, 1801, 0] {
        let n = NativePayRequest {
            req_seq: "N1".into(),
            total_fee: 1,
            expire_time: Some(t),
            channel: Channel::WeChat,
        };
        expect(
            n,
            "expire_time",
            FieldProblem::OutOfRange {
                min: 300,
                max: 1800,
            },
        );
    }
}

#[test]
fn revoke_needs_channel_or_auth_code() {
    let r = RevokeRequest {
        req_seq: "V1".into(),
        ori_seq: "P1".into(),
        channel: None,
        auth_code: None,
    };
    expect(
        r,
        "channel",
        FieldProblem::OneOfRequired { other: "auth_code" },
    );
    let r = RevokeRequest {
        req_seq: "V1".into(),
        ori_seq: "".into(),
        channel: Some(Channel::WeChat),
        auth_code: None,
    };
    expect(r, "ori_seq", FieldProblem::Missing);
}

#[test]
fn refund_rules() {
    let base = RefundRequest {
        req_seq: "R1".into(),
        trans_seq: "T1".into(),
        refund_fee: 1,
        reason: "不满意".into(),
    };
    let mut r = base.clone();
    r.reason = String::new();
    expect(r, "reason", FieldProblem::Missing);
    let mut r = base.clone();
    r.reason = "退".repeat(256);
    expect(
        r,
        "reason",
        FieldProblem::TooLong {
            max: 255,
            actual: 256,
        },
    );
    let mut r = base.clone();
    r.trans_seq = String::new();
    expect(r, "trans_seq", FieldProblem::Missing);
    let q = QueryRefundRequest {
        req_seq: "Q1".into(),
        trans_seq: "T1".into(),
        ori_seq: "2".repeat(21),
    };
    expect(
        q,
        "ori_seq",
        FieldProblem::TooLong {
            max: 20,
            actual: 21,
        },
    );
}

#[test]
fn query_rules() {
    let q = QueryPayRequest {
        req_seq: "Q1".into(),
        auth_code: None,
        ori_seq: String::new(),
    };
    expect(q, "ori_seq", FieldProblem::Missing);
}

#[test]
fn js_pay_rules() {
    let j = JsPayRequest {
        req_seq: "J1".into(),
        total_fee: 1,
        channel: Channel::WeChat,
        subopen_id: "o".repeat(33),
    };
    expect(
        j,
        "subopen_id",
        FieldProblem::TooLong {
            max: 32,
            actual: 33,
        },
    );
}

#[test]
fn h5_rules() {
    let base = H5PayRequest {
        req_seq: "H1".into(),
        total_fee: 1,
        channel: Channel::WeChat,
        ip: Some("125.71.132.197".into()),
        redirect_url: "http://shop.example/call.html".into(),
    };
    let mut h = base.clone();
    h.ip = None;
    expect(h, "ip", FieldProblem::Missing);
    let mut h = base.clone();
    h.ip = Some("999.1.1.1".into());
    expect(
        h,
        "ip",
        FieldProblem::Invalid("must be an IPv4 address such as 125.71.132.197"),
    );
    let mut h = base.clone();
    h.redirect_url = "javascript:alert(1)".into();
    expect(
        h,
        "redirect_url",
        FieldProblem::Invalid("must be an absolute http:// or https:// URL"),
    );
    let mut h = base.clone();
    h.redirect_url = format!("http://a.example/{}", "x".repeat(250));
    expect(
        h,
        "redirect_url",
        FieldProblem::TooLong {
            max: 256,
            actual: 267,
        },
    );
    // Alipay may leave ip out (API §7.1: "channel 为 A 可不传入").
    let (c, t) = client();
    let mut h = base;
    h.channel = Channel::Alipay;
    h.ip = None;
    assert!(matches!(c.h5_pay(&mut h), Err(Error::NotSent(_))));
    assert_eq!(t.0.load(Ordering::SeqCst), 1);
}

#[test]
fn prod_details_rules() {
    let mut p = pay();
    p.prod_details = vec![ProdItem::new("1", "", 100, "1")];
    expect(p, "prod_details[0].goodsName", FieldProblem::Missing);
    let mut p = pay();
    p.prod_details = (0..60)
        .map(|i| ProdItem::new(format!("{i:050}"), "奶油曲奇".repeat(20), 1760, "1"))
        .collect();
    let json_len = prod_details_json_len(&p.prod_details);
    expect(
        p,
        "prod_details",
        FieldProblem::TooLong {
            max: 8192,
            actual: json_len,
        },
    );
}

fn prod_details_json_len(items: &[ProdItem]) -> usize {
    ystpay::protocol::types::prod_details_json(items)
        .chars()
        .count()
}

#[test]
fn control_characters_are_refused() {
    let r = RefundRequest {
        req_seq: "R1".into(),
        trans_seq: "T1".into(),
        refund_fee: 1,
        reason: "bad\u{0}byte".into(),
    };
    expect(r, "reason", FieldProblem::ControlCharacter);
}

#[test]
fn configuration_is_checked() {
    let t: Arc<dyn Transport> = Arc::new(CountingTransport::default());
    let mut cfg = ClientConfig::new(
        "http://pay.example.com/x",
        "demo",
        "demo123",
        "0123456789ABCDEF",
    );
    assert!(matches!(
        Client::with_transport(&cfg, t.clone()),
        Err(Error::Config(_))
    ));
    cfg.allow_http = true;
    assert!(Client::with_transport(&cfg, t.clone()).is_ok());
    cfg.server_url = "https://pay.example.com/x".into();
    cfg.allow_http = false;
    assert!(Client::with_transport(&cfg, t.clone()).is_ok());
    cfg.private_key = "short".into();
    let e = Client::with_transport(&cfg, t.clone()).unwrap_err();
    assert!(
        !e.to_string().contains("short"),
        "the key never appears in errors"
    );
    cfg.private_key = "0123456789ABCDEF".into();
    cfg.password = None;
    assert!(matches!(
        Client::with_transport(&cfg, t.clone()),
        Err(Error::Config(_))
    ));
    cfg.dsn = Some("65AF82B65F83BB5EE4E6BF73101924F8".into());
    assert!(Client::with_transport(&cfg, t.clone()).is_ok());
    cfg.dsn = Some("nothex".into());
    assert!(matches!(
        Client::with_transport(&cfg, t),
        Err(Error::Config(_))
    ));
}
