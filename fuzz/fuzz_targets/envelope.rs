//! The `<response>` envelope as the client reads it: parse, verify, decrypt.
//! Also the same bytes taken as the base64 `data` of an envelope that the
//! harness signs correctly, so decryption and the message reader are reached.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use ystpay::protocol::{crypto, Response as _, ResponseEnvelope};

fuzz_target!(|data: &[u8]| {
    let dsn = common::dsn();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(env) = ResponseEnvelope::parse(text) {
        let _ = env.open(&dsn);
    }
    // `data` as the envelope's data text, correctly signed: only the
    // decryption and what follows can refuse it.
    let env = ResponseEnvelope {
        timestamp: "1".into(),
        data: text.to_string(),
        signature: crypto::response_signature(&dsn, "1", text),
    };
    if let Ok(plain) = env.open(&dsn) {
        let _ = ystpay::protocol::PayResponse::from_xml(&plain);
    }
});
