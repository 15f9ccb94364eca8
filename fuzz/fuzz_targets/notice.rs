//! Payment notification bodies (API §5.5) in both forms: as received (plain
//! `<data>` or a `<response>` envelope), and the same text sealed by the
//! platform so the signed form's reader is reached too.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use ystpay::protocol::ResponseEnvelope;
use ystpay::Client;

static CLIENT: OnceLock<Client> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let c = CLIENT.get_or_init(|| common::client(Arc::new(common::NeverSends)));
    if let Ok(n) = c.read_notice(data) {
        assert!(n.notice.req_seq.is_some() && n.notice.trans_seq.is_some());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(env) = ResponseEnvelope::seal(&common::dsn(), "1", text) {
            if let Ok(n) = c.read_notice(env.to_xml().as_bytes()) {
                assert!(n.signed);
            }
        }
    }
});
