//! Known-answer vectors made with the JDK (tests/fixtures/wire-crypto.json):
//! our output must match byte for byte, in both directions.

use ystpay::protocol::crypto;
use ystpay::protocol::messages::{
    NativePayRequest, NativePayResponse, PayRequest, PayResponse, RefundRequest, RefundResponse,
    Request, Response,
};
use ystpay::protocol::{Channel, Credentials, RequestEnvelope, ResponseEnvelope, Status};

struct Case {
    acct: String,
    pass: String,
    private_key: String,
    pass_md5: String,
    dsn: String,
    request_plain: String,
    request_data: String,
    request_signature: String,
    response_timestamp: String,
    response_plain: String,
    response_data: String,
    response_signature: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wire-crypto.json"
    ))
    .expect("fixture present");
    let v: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    let s =
        |c: &serde_json::Value, k: &str| c[k].as_str().unwrap_or_else(|| panic!("{k}")).to_string();
    let cases: Vec<Case> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            acct: s(c, "acct"),
            pass: s(c, "pass"),
            private_key: s(c, "private_key"),
            pass_md5: s(c, "pass_md5"),
            dsn: s(c, "dsn"),
            request_plain: s(c, "request_plain"),
            request_data: s(c, "request_data"),
            request_signature: s(c, "request_signature"),
            response_timestamp: s(c, "response_timestamp"),
            response_plain: s(c, "response_plain"),
            response_data: s(c, "response_data"),
            response_signature: s(c, "response_signature"),
        })
        .collect();
    assert_eq!(cases.len(), 3);
    cases
}

#[test]
fn dsn_and_password_digest() {
    for c in cases() {
        assert_eq!(crypto::md5_upper(c.pass.as_bytes()), c.pass_md5);
        assert_eq!(crypto::derive_dsn(&c.acct, &c.private_key, &c.pass), c.dsn);
    }
}

#[test]
fn request_direction_encrypt_and_sign() {
    for c in cases() {
        let creds = Credentials::derive(&c.acct, &c.pass, &c.private_key);
        let env = RequestEnvelope::seal(&creds, "x", &c.request_plain).unwrap();
        assert_eq!(env.data, c.request_data, "request data for {}", c.acct);
        assert_eq!(env.signature, c.request_signature);
        // And back, as the platform opens it.
        let parsed = RequestEnvelope::parse(&env.to_xml()).unwrap();
        assert_eq!(parsed.open(&c.private_key).unwrap(), c.request_plain);
    }
}

#[test]
fn response_direction_verify_and_decrypt() {
    for c in cases() {
        let env = ResponseEnvelope {
            timestamp: c.response_timestamp.clone(),
            data: c.response_data.clone(),
            signature: c.response_signature.clone(),
        };
        assert_eq!(env.open(&c.dsn).unwrap(), c.response_plain);
        // And the platform side produces the same bytes.
        let sealed =
            ResponseEnvelope::seal(&c.dsn, &c.response_timestamp, &c.response_plain).unwrap();
        assert_eq!(sealed.data, c.response_data);
        assert_eq!(sealed.signature, c.response_signature);
    }
}

#[test]
fn tampered_vectors_are_refused() {
    for c in cases() {
        let mut env = ResponseEnvelope {
            timestamp: c.response_timestamp.clone(),
            data: c.response_data.clone(),
            signature: c.response_signature.clone(),
        };
        env.timestamp.push('1');
        assert!(env.open(&c.dsn).is_err());
        let wrong_dsn = format!("{}0", &c.dsn[..31]);
        let env = ResponseEnvelope::parse(
            &ResponseEnvelope::seal(&c.dsn, &c.response_timestamp, &c.response_plain)
                .unwrap()
                .to_xml(),
        )
        .unwrap();
        assert!(env.open(&wrong_dsn).is_err());
    }
}

#[test]
fn base64_with_java_mime_line_breaks_decodes_the_same() {
    for c in cases() {
        let wrapped: Vec<&str> = c
            .response_data
            .as_bytes()
            .chunks(76)
            .map(|b| std::str::from_utf8(b).unwrap())
            .collect();
        let wrapped = wrapped.join("\r\n");
        assert_eq!(
            crypto::open_response_data(&c.dsn, &wrapped).unwrap(),
            c.response_plain
        );
    }
}

#[test]
fn typed_messages_produce_the_vector_plaintexts() {
    let c = cases();
    // Case 1: barcode pay.
    let pay = PayRequest::new("20152423432532532525", 10000, "134567890123456789");
    pay.check().unwrap();
    assert_eq!(pay.to_xml(&c[0].dsn), c[0].request_plain);
    // Case 2: refund, with an escaped ampersand.
    let refund = RefundRequest {
        req_seq: "15042118053535326597".into(),
        trans_seq: "15042118055639386597".into(),
        refund_fee: 1,
        reason: "用户对商品或者服务不满意 & 退货".into(),
    };
    refund.check().unwrap();
    assert_eq!(refund.to_xml(&c[1].dsn), c[1].request_plain);
    // Case 3: native pay.
    let native = NativePayRequest {
        req_seq: "A1".into(),
        total_fee: 1,
        expire_time: Some(300),
        channel: Channel::Alipay,
    };
    native.check().unwrap();
    assert_eq!(native.to_xml(&c[2].dsn), c[2].request_plain);
}

#[test]
fn typed_responses_read_and_rewrite_the_vector_plaintexts() {
    let c = cases();
    let pay = PayResponse::from_xml(&c[0].response_plain).unwrap();
    assert_eq!(pay.head.req_seq.as_deref(), Some("20152423432532532525"));
    assert_eq!(pay.head.result, Some(true));
    assert_eq!(pay.head.msg.as_deref(), Some("支付成功"));
    assert_eq!(pay.status, Some(Status::Success));
    assert_eq!(pay.total_fee, Some(10000));
    assert_eq!(pay.coupon_fee, Some(0));
    assert_eq!(pay.channel, Some(Channel::WeChat));
    assert_eq!(
        pay.receipts,
        vec!["----微信支付交易小票-----", "交易金额：100.00元"]
    );
    assert_eq!(pay.to_xml(), c[0].response_plain);

    let refund = RefundResponse::from_xml(&c[1].response_plain).unwrap();
    assert_eq!(refund.refund_seq.as_deref(), Some("15042118070122094495"));
    assert_eq!(refund.refund_fee, Some(1));
    assert_eq!(refund.to_xml(), c[1].response_plain);

    let native = NativePayResponse::from_xml(&c[2].response_plain).unwrap();
    assert_eq!(native.status, Some(Status::Waiting));
    assert_eq!(
        native.pay_url.as_deref(),
        Some("https://qr.alipay.com/bax01234?x=1&y=2")
    );
    assert_eq!(native.to_xml(), c[2].response_plain);
}
