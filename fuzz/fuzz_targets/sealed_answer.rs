//! The whole client path on an answer the platform sealed correctly: the
//! first byte picks the operation, the rest is the decrypted `<data>`.
//! Whatever the text, an accepted answer must echo our `req_seq`.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ystpay::protocol::messages::*;
use ystpay::protocol::{Channel, ResponseEnvelope};
use ystpay::Error;

fn check<T: Response>(r: Result<T, Error>) {
    match r {
        Ok(resp) => assert_eq!(resp.head().req_seq.as_deref(), Some(common::REQ_SEQ)),
        Err(Error::Refused(_)) | Err(Error::Rejected(_)) => {}
        Err(e) => panic!("unexpected error kind: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let Ok(plain) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(env) = ResponseEnvelope::seal(&common::dsn(), "1", plain) else {
        return;
    };
    let c = common::client(Arc::new(common::Canned(env.to_xml().into_bytes())));
    let seq = common::REQ_SEQ.to_string();
    match op % 9 {
        0 => check(c.pay(&mut PayRequest::new(seq, 100, "134567890123456701"))),
        1 => check(c.query_pay(&mut QueryPayRequest {
            req_seq: seq,
            auth_code: None,
            ori_seq: "1".into(),
        })),
        2 => check(c.refund(&mut RefundRequest {
            req_seq: seq,
            trans_seq: "1".into(),
            refund_fee: 1,
            reason: "r".into(),
        })),
        3 => check(c.query_refund(&mut QueryRefundRequest {
            req_seq: seq,
            trans_seq: "1".into(),
            ori_seq: "1".into(),
        })),
        4 => check(c.revoke(&mut RevokeRequest {
            req_seq: seq,
            ori_seq: "1".into(),
            channel: Some(Channel::WeChat),
            auth_code: None,
        })),
        5 => check(c.native_pay(&mut NativePayRequest {
            req_seq: seq,
            total_fee: 1,
            expire_time: None,
            channel: Channel::WeChat,
        })),
        6 => check(c.native_query(&mut NativeQueryRequest {
            req_seq: seq,
            channel: None,
            ori_seq: "1".into(),
        })),
        7 => check(c.js_pay(&mut JsPayRequest {
            req_seq: seq,
            total_fee: 1,
            channel: Channel::WeChat,
            subopen_id: "o".into(),
        })),
        _ => check(c.h5_pay(&mut H5PayRequest {
            req_seq: seq,
            total_fee: 1,
            channel: Channel::Alipay,
            ip: None,
            redirect_url: "https://x.example/".into(),
        })),
    }
});
