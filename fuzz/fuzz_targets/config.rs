//! The INI configuration reader, and the client's checks of what it read
//! (URL scheme and host, account, key and dsn shapes).
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ystpay::config::{parse_pairs, Settings};
use ystpay::Client;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_pairs(text);
    if let Ok(s) = Settings::parse(text) {
        let _ = format!("{s:?}");
        let ok = Client::with_transport(&s.client, Arc::new(common::NeverSends)).is_ok();
        let url = &s.client.server_url;
        if ok && !s.client.allow_http && !url.starts_with("https://") {
            // Plain http was accepted without allow_http: the host that the
            // HTTP stack will actually connect to must be loopback.
            if let Ok(uri) = url.parse::<ureq::http::Uri>() {
                let host = uri.host().unwrap_or("");
                let loopback = host == "localhost"
                    || host == "[::1]"
                    || host
                        .parse::<std::net::Ipv4Addr>()
                        .is_ok_and(|a| a.is_loopback());
                assert!(loopback, "http to {host:?} accepted from {url:?}");
            }
        }
    }
});
