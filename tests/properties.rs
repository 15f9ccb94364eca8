//! Property tests (proptest) of the wire format.
//!
//! 1. Requests round-trip through the platform's side of the protocol
//!    (`RequestEnvelope::parse` → `open` → `Fields::parse` →
//!    `WireFields::read_fields`) for arbitrary valid field values: Chinese
//!    text, the XML special characters, CDATA terminators, astral-plane
//!    characters, tab/CR/LF inside values, and every field at its maximum
//!    length. Answers round-trip back through the client the same way.
//!    Values are "valid" in the sense of the field rules; the one shape that
//!    does not round-trip by design is surrounding whitespace, which the
//!    tolerant reader trims (the API document's examples are pretty-printed), so the
//!    generators never put whitespace at either end of a single-valued field.
//! 2. The AES/base64 layer round-trips arbitrary bytes, with zero padding
//!    stated precisely: `decrypt(encrypt(p)) == p` with its trailing NUL
//!    bytes removed, so the round trip is exact exactly when `p` does not end
//!    in NUL (XML text never does).
//! 3. Arbitrary mutations of a valid signed answer are rejected, or read as
//!    the very same answer; never as a different valid one.

/// The fake platform (tests/fake/mod.rs), named `common` here.
mod fake;
use fake as common;

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::Config;

use common::{client, dsn, seal, FakePlatform, Incoming, KEY};
use ystpay::protocol::crypto;
use ystpay::protocol::messages::*;
use ystpay::protocol::xml::Fields;
use ystpay::protocol::{Channel, Credentials, PaymentCode, ProdItem, RequestEnvelope, Status};
use ystpay::{Error, Rejection};

// ------------------------------------------------------------ generators

/// One character of the kinds that stress XML and UTF-8 handling.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('\u{4e00}', '\u{9fa5}'), // CJK: 奶油曲奇
        4 => proptest::char::range(' ', '~'),               // printable ASCII
        3 => prop::sample::select(vec!['&', '<', '>', '"', '\'', ']', ';', '#', '=']),
        1 => prop::sample::select(vec!['\t', '\n', '\r']),
        1 => prop::sample::select(vec!['\u{3000}', '【', '】', '：', '，', '¥', '€', 'é']),
        1 => prop::sample::select(vec!['😀', '\u{10ffff}', '\u{e000}', '\u{fffd}', '\u{a0}']),
    ]
}

/// Text of 1..=`max` characters (often exactly `max`) with no whitespace at
/// either end and nothing the field rules refuse.
fn text(max: usize) -> impl Strategy<Value = String> {
    let len = prop_oneof![1 => Just(max), 3 => 1..=max];
    len.prop_flat_map(|n| prop::collection::vec(any_char(), n))
        .prop_map(|chars| {
            let s: String = chars.into_iter().collect();
            let t = s.trim();
            if t.is_empty() {
                "奶".to_string()
            } else {
                t.to_string()
            }
        })
}

/// Text including some patterns that look like markup.
fn tricky_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(max),
        1 => prop::sample::select(vec![
            "]]>", "<![CDATA[x]]>", "&amp;", "&#x0;", "<data>", "</data>", "a\r\nb", "&lt;&gt;",
            "<!--", "-->", "<?xml?>", "\"'\"'",
        ])
        .prop_map(move |s| s.chars().take(max).collect::<String>()),
    ]
}

/// A `req_seq`-like serial: printable ASCII without spaces, 1..=20.
fn serial() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => "[!-~]{20}",
        3 => "[!-~]{1,20}",
        2 => "[0-9]{20}",
    ]
}

fn fee() -> impl Strategy<Value = i64> {
    prop_oneof![Just(1i64), Just(9_999_999_999i64), 1i64..=9_999_999_999]
}

fn channel(letters: &'static [&'static str]) -> impl Strategy<Value = Channel> {
    prop::sample::select(letters.to_vec()).prop_map(Channel::from_code)
}

fn quantity() -> impl Strategy<Value = String> {
    prop_oneof!["[1-9][0-9]{0,9}", "[0-9]{1,4}\\.[0-9]{1,4}"]
}

fn prod_item() -> impl Strategy<Value = ProdItem> {
    (
        tricky_text(50),
        tricky_text(200),
        0i64..=99_999_999,
        quantity(),
        prop::option::of(0i64..=99_999_999),
    )
        .prop_map(|(id, name, price, qty, fee)| {
            let mut p = ProdItem::new(id, name, price, qty);
            p.goods_fee_fen = fee;
            p
        })
}

fn pay_request() -> impl Strategy<Value = PayRequest> {
    (
        serial(),
        fee(),
        tricky_text(32),
        prop::option::of(channel(&["W", "A", "Q"])),
        prop::collection::vec(prod_item(), 0..4),
    )
        .prop_map(|(seq, fee, code, ch, items)| {
            let mut r = PayRequest::new(seq, fee, code);
            r.channel = ch;
            r.prod_details = items;
            r
        })
        .prop_filter("prod_details within 8192 characters", |r| r.check().is_ok())
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Success),
        Just(Status::Waiting),
        Just(Status::Failed),
        "[G-RT-VX-Z]{1,3}".prop_map(Status::Other),
    ]
}

fn opt_text(max: usize) -> impl Strategy<Value = Option<String>> {
    prop::option::of(tricky_text(max))
}

fn opt_amount() -> impl Strategy<Value = Option<i64>> {
    prop::option::of(prop_oneof![
        Just(0i64),
        Just(999_999_999_999_999_999i64),
        Just(-99_999_999_999_999_999i64),
        any::<i32>().prop_map(i64::from),
    ])
}

/// Receipt lines are element texts kept as they are (spaces included).
fn receipts() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop::collection::vec(any_char(), 0..40).prop_map(|c| c.into_iter().collect::<String>()),
        0..6,
    )
}

fn head(response_type: &'static str) -> impl Strategy<Value = ResponseHead> {
    (
        prop::option::of(Just(response_type.to_string())),
        opt_text(20),
        prop::option::of(Just(true)),
        opt_text(6),
        opt_text(100),
        opt_text(23),
    )
        .prop_map(|(rt, res_seq, result, code, msg, time)| ResponseHead {
            response_type: rt,
            req_seq: None,
            res_seq,
            result,
            code,
            msg,
            server_time: time,
            dsn: None,
        })
}

fn pay_response() -> impl Strategy<Value = PayResponse> {
    (
        head("unitive_pay_response"),
        opt_text(20),
        (opt_amount(), opt_amount(), opt_amount()),
        opt_text(19),
        prop::option::of(channel(&["W", "A", "Q", "Y", "U", "ZZ"])),
        opt_text(10),
        prop::option::of(status()),
        receipts(),
        opt_text(500),
    )
        .prop_map(
            |(head, trans, (total, cash, coupon), time, ch, chn, st, rc, promo)| PayResponse {
                head,
                trans_seq: trans,
                total_fee: total,
                cash_fee: cash,
                coupon_fee: coupon,
                pay_time: time,
                channel: ch,
                channel_name: chn,
                status: st,
                receipts: rc,
                promotion_detail: promo,
            },
        )
}

// ------------------------------------------------------------ helpers

/// Sends `req` through the platform side of the protocol and reads it back.
fn platform_reads<R: Request + PartialEq + std::fmt::Debug>(req: &R) -> R {
    req.check().expect("generated requests are valid");
    let creds = Credentials::derive(common::ACCT, common::PASS, KEY);
    let body = RequestEnvelope::seal(&creds, R::REQUEST_TYPE, &req.to_xml(&creds.dsn))
        .expect("seal")
        .to_xml();
    let env = RequestEnvelope::parse(&body).expect("platform parses the envelope");
    assert_eq!(env.request_type, R::REQUEST_TYPE);
    assert_eq!(env.account, common::ACCT);
    let plain = env.open(KEY).expect("platform verifies and decrypts");
    let f = Fields::parse(&plain, Some("data")).expect("platform parses the data");
    assert_eq!(f.get("request_type"), Some(R::REQUEST_TYPE));
    assert_eq!(f.get("dsn"), Some(creds.dsn.as_str()));
    R::read_fields(&f).expect("platform reads every field")
}

/// Seals `resp` as the platform does and opens it as the client does.
fn client_reads<T: Response + PartialEq>(resp: &T) -> T {
    let body = seal(&resp.to_xml());
    let env = ystpay::protocol::ResponseEnvelope::parse(std::str::from_utf8(&body).unwrap())
        .expect("envelope");
    T::from_xml(&env.open(&dsn()).expect("verifies")).expect("reads")
}

fn cfg(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ------------------------------------------------------------ 1. round trips

proptest! {
    #![proptest_config(cfg(256))]

    #[test]
    fn pay_requests_round_trip(req in pay_request()) {
        prop_assert_eq!(platform_reads(&req), req);
    }

    #[test]
    fn refund_requests_round_trip(
        seq in serial(), trans in serial(), fee in fee(), reason in tricky_text(255),
    ) {
        let req = RefundRequest { req_seq: seq, trans_seq: trans, refund_fee: fee, reason };
        prop_assert_eq!(platform_reads(&req), req);
    }

    #[test]
    fn query_and_revoke_requests_round_trip(
        seq in serial(), ori in serial(), code in prop::option::of(tricky_text(32)),
        ch in channel(&["W", "A", "Q", "Y"]), trans in serial(),
    ) {
        let q = QueryPayRequest {
            req_seq: seq.clone(), auth_code: code.clone().map(PaymentCode::from), ori_seq: ori.clone(),
        };
        prop_assert_eq!(platform_reads(&q), q);
        let r = RevokeRequest {
            req_seq: seq.clone(), ori_seq: ori.clone(), channel: Some(ch),
            auth_code: code.map(PaymentCode::from),
        };
        prop_assert_eq!(platform_reads(&r), r);
        let qr = QueryRefundRequest { req_seq: seq.clone(), trans_seq: trans, ori_seq: ori.clone() };
        prop_assert_eq!(platform_reads(&qr), qr);
        let nq = NativeQueryRequest { req_seq: seq, channel: None, ori_seq: ori };
        prop_assert_eq!(platform_reads(&nq), nq);
    }

    #[test]
    fn order_requests_round_trip(
        seq in serial(), fee in fee(), expire in prop::option::of(300i64..=1800),
        ch in channel(&["W", "A"]), open_id in tricky_text(32),
        path in "[a-zA-Z0-9/._~%?=&-]{0,230}",
    ) {
        let n = NativePayRequest { req_seq: seq.clone(), total_fee: fee, expire_time: expire, channel: ch.clone() };
        prop_assert_eq!(platform_reads(&n), n);
        let j = JsPayRequest { req_seq: seq.clone(), total_fee: fee, channel: ch.clone(), subopen_id: open_id };
        prop_assert_eq!(platform_reads(&j), j);
        let h = H5PayRequest {
            req_seq: seq, total_fee: fee, channel: ch, ip: Some("125.71.132.197".into()),
            redirect_url: format!("https://shop.example.com/{path}"),
        };
        prop_assert_eq!(platform_reads(&h), h);
    }

    /// The full client path: the platform answers with arbitrary field
    /// values, the client verifies, decrypts and reads exactly those values.
    #[test]
    fn answers_round_trip_through_the_client(req in pay_request(), resp in pay_response()) {
        let answer = resp.clone();
        let p = Arc::new(FakePlatform::new(move |inc: &Incoming| {
            let mut a = answer.clone();
            a.head.req_seq = Some(inc.req_seq());
            seal(&a.to_xml())
        }));
        let c = client(p);
        let mut req = req;
        let got = c.pay(&mut req).expect("a genuine answer is accepted");
        let mut want = resp;
        want.head.req_seq = Some(req.req_seq.clone());
        prop_assert_eq!(got, want);
    }

    #[test]
    fn other_answers_round_trip(
        h in head("unitive_refund_response"), refund_seq in opt_text(20),
        amounts in (opt_amount(), opt_amount(), opt_amount(), opt_amount()),
        st in prop::option::of(status()), rc in receipts(), url in opt_text(2000),
        info in opt_text(2000),
    ) {
        let r = RefundResponse {
            head: h.clone(), refund_seq: refund_seq.clone(), total_fee: amounts.0, refund_fee: amounts.1,
            cash_fee: amounts.2, coupon_fee: amounts.3, channel: Some(Channel::Alipay),
            channel_name: Some("支付宝".into()), status: st.clone(), receipts: rc.clone(),
        };
        prop_assert_eq!(client_reads(&r), r);
        let n = NativePayResponse {
            head: h.clone(), trans_seq: refund_seq.clone(), total_fee: amounts.0, cash_fee: amounts.1,
            coupon_fee: amounts.2, pay_time: None, channel: None, channel_name: None,
            status: st.clone(), pay_url: url.clone(), receipts: rc,
        };
        prop_assert_eq!(client_reads(&n), n);
        let j = JsPayResponse {
            head: h.clone(), channel: Some(Channel::WeChat), channel_name: None,
            trans_seq: refund_seq.clone(), status: st.clone(), pay_url: url.clone(), signature_info: info,
        };
        prop_assert_eq!(client_reads(&j), j);
        let h5 = H5PayResponse {
            head: h.clone(), channel: None, channel_name: None, trans_seq: refund_seq,
            status: st.clone(), pay_info: url,
        };
        prop_assert_eq!(client_reads(&h5), h5);
        let v = RevokeResponse { head: h, channel: None, channel_name: None, status: st };
        prop_assert_eq!(client_reads(&v), v);
    }
}

// ------------------------------------------------------------ 2. AES / base64

fn aes_key() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![16usize, 24, 32])
        .prop_flat_map(|n| prop::collection::vec(any::<u8>(), n))
}

fn strip_trailing_nuls(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
    &b[..end]
}

proptest! {
    #![proptest_config(cfg(1024))]

    /// `decrypt(encrypt(p))` is `p` without its trailing NULs; the
    /// ciphertext is `p` zero-padded to a whole number of blocks (at least one).
    #[test]
    fn aes_round_trips_modulo_trailing_nuls(key in aes_key(), plain in prop::collection::vec(any::<u8>(), 0..600)) {
        let c = crypto::aes_encrypt(&key, &plain).unwrap();
        prop_assert_eq!(c.len(), plain.len().div_ceil(16).max(1) * 16);
        let back = crypto::aes_decrypt(&key, &c).unwrap();
        prop_assert_eq!(&back[..], strip_trailing_nuls(&plain));
        if plain.last() != Some(&0) {
            prop_assert_eq!(back, plain);
        }
    }

    /// Appending NULs changes nothing after the round trip: the padding is
    /// indistinguishable from trailing NULs, by design.
    #[test]
    fn trailing_nuls_are_padding(key in aes_key(), plain in prop::collection::vec(any::<u8>(), 0..100), extra in 0usize..40) {
        let mut padded = plain.clone();
        padded.extend(std::iter::repeat_n(0u8, extra));
        let a = crypto::aes_decrypt(&key, &crypto::aes_encrypt(&key, &plain).unwrap()).unwrap();
        let b = crypto::aes_decrypt(&key, &crypto::aes_encrypt(&key, &padded).unwrap()).unwrap();
        prop_assert_eq!(a, b);
    }

    /// base64 round-trips any bytes, and whitespace/line breaks anywhere in
    /// the text are ignored (Java MIME encoders wrap at 76).
    #[test]
    fn base64_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..300), breaks in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![" ", "\r\n", "\n", "\t"])), 0..8)) {
        let text = crypto::base64_encode(&bytes);
        prop_assert_eq!(crypto::base64_decode(&text).unwrap(), bytes.clone());
        let mut wrapped = text.clone();
        for (at, ws) in breaks {
            let i = at.index(wrapped.len() + 1);
            wrapped.insert_str(i, ws);
        }
        prop_assert_eq!(crypto::base64_decode(&wrapped).unwrap(), bytes);
    }

    /// Any text not ending in NUL survives the response direction exactly.
    #[test]
    fn response_data_round_trips(s in "\\PC{0,300}[^\u{0}]") {
        let d = dsn();
        let sealed = crypto::seal_response_data(&d, &s).unwrap();
        prop_assert_eq!(crypto::open_response_data(&d, &sealed).unwrap(), s.clone());
        let sealed = crypto::seal_request_data(KEY, &s).unwrap();
        prop_assert_eq!(crypto::open_request_data(KEY, &sealed).unwrap(), s);
    }
}

// ------------------------------------------------------------ 3. mutations

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
    Duplicate(prop::sample::Index, prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    use prop::sample::Index;
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, 1 << b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (
            any::<Index>(),
            prop::sample::select(b" \n<>&/=+Aa0".to_vec())
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn apply(body: &mut Vec<u8>, m: &Mutation) {
    if body.is_empty() {
        return;
    }
    match m {
        Mutation::Flip(i, bit) => {
            let i = i.index(body.len());
            body[i] ^= bit;
        }
        Mutation::Set(i, b) => {
            let i = i.index(body.len());
            body[i] = *b;
        }
        Mutation::Insert(i, b) => body.insert(i.index(body.len() + 1), *b),
        Mutation::Delete(i) => {
            body.remove(i.index(body.len()));
        }
        Mutation::Truncate(i) => body.truncate(i.index(body.len())),
        Mutation::Duplicate(a, b) => {
            let (a, b) = (a.index(body.len()), b.index(body.len()));
            let (lo, hi) = (a.min(b), a.max(b));
            let chunk = body[lo..hi].to_vec();
            body.splice(hi..hi, chunk);
        }
    }
}

proptest! {
    #![proptest_config(cfg(2048))]

    /// A valid signed "paid" answer, mutated anywhere in any way, is either
    /// rejected or read as exactly the original answer (e.g. whitespace
    /// between elements, a lower-case signature): never as another answer,
    /// never as a refusal, never as anything but `Error::Rejected`.
    #[test]
    fn mutated_answers_are_rejected_never_misread(muts in prop::collection::vec(mutation(), 1..4)) {
        let genuine = common::paid_answer("unitive_pay_response", "MUT1", "900001", 100);
        let original = PayResponse::from_xml(&genuine).unwrap();
        let mut body = seal(&genuine);
        for m in &muts {
            apply(&mut body, m);
        }
        let p = Arc::new(FakePlatform::new(move |_| body.clone()));
        let c = client(p);
        let mut req = PayRequest::new("MUT1", 100, "134567890123456701");
        match c.pay(&mut req) {
            Ok(got) => prop_assert_eq!(got, original),
            Err(Error::Rejected(r)) => prop_assert!(!matches!(r, Rejection::Unconfirmed(_))),
            Err(other) => prop_assert!(false, "mutation gave {:?}", other),
        }
    }
}
