//! The platform's side of requests, used by the simulator: the `<request>`
//! envelope (parse, verify, decrypt), the XML field reader, and every
//! request message's field reader, on arbitrary text and on arbitrary
//! `data` that the harness signs correctly.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use ystpay::protocol::messages::*;
use ystpay::protocol::xml::Fields;
use ystpay::protocol::{crypto, RequestEnvelope};

fn read_all(f: &Fields) {
    let _ = PayRequest::read_fields(f).map(|r| r.check());
    let _ = QueryPayRequest::read_fields(f).map(|r| r.check());
    let _ = RefundRequest::read_fields(f).map(|r| r.check());
    let _ = QueryRefundRequest::read_fields(f).map(|r| r.check());
    let _ = RevokeRequest::read_fields(f).map(|r| r.check());
    let _ = NativePayRequest::read_fields(f).map(|r| r.check());
    let _ = NativeQueryRequest::read_fields(f).map(|r| r.check());
    let _ = JsPayRequest::read_fields(f).map(|r| r.check());
    let _ = H5PayRequest::read_fields(f).map(|r| r.check());
    let _ = f.lines("receipts");
    let _ = f.names().count();
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(env) = RequestEnvelope::parse(text) {
        let _ = env.open(common::KEY);
    }
    if let Ok(f) = Fields::parse(text, None) {
        read_all(&f);
    }
    let env = RequestEnvelope {
        request_type: "unitive_pay_request".into(),
        account: common::ACCT.into(),
        dsn: common::dsn(),
        data: text.to_string(),
        signature: crypto::request_signature(common::KEY, &common::dsn(), text),
    };
    if let Ok(plain) = env.open(common::KEY) {
        if let Ok(f) = Fields::parse(&plain, Some("data")) {
            read_all(&f);
        }
    }
});
