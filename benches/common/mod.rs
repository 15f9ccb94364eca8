//! Shared by the benches: the demo device, a real pay answer, sealed bodies,
//! and result lines that `scripts/bench.sh` collects into docs/PERFORMANCE.md.
#![allow(dead_code)]

use std::sync::Arc;

use ystpay::protocol::messages::{PayRequest, QueryPayRequest, Request};
use ystpay::protocol::{crypto, Credentials, RequestEnvelope, ResponseEnvelope};
use ystpay::transport::{Transport, TransportError};
use ystpay::{Client, ClientConfig};

/// The simulator's default device (sim/README.md).
pub const ACCOUNT: &str = "demo";
pub const PASSWORD: &str = "demo123";
pub const PRIVATE_KEY: &str = "0123456789ABCDEF";

/// WeChat code whose last two digits (`01`) mean "paid at once".
pub const PAID_CODE: &str = "134567890123456701";

/// The `req_seq` of the captured answer in `fixtures/pay_response_plain.xml`.
pub const FIXTURE_SEQ: &str = "26010112000000420001";

/// The plain `<data>` of a real simulator answer to a 1-fen WeChat pay
/// (captured from `ystpay-sim`: head, trans_seq, fees, channel, status and
/// 15 receipt lines, 1,062 bytes).
pub const PAY_RESPONSE_PLAIN: &str = include_str!("../fixtures/pay_response_plain.xml");

pub fn credentials() -> Credentials {
    Credentials::derive(ACCOUNT, PASSWORD, PRIVATE_KEY)
}

pub fn config(url: &str) -> ClientConfig {
    ClientConfig::new(url, ACCOUNT, PASSWORD, PRIVATE_KEY)
}

/// The HTTP body the `Client` sends for `req`: the same bytes, since the
/// cipher's IV is fixed by the protocol (API §2.5.1).
pub fn sealed_body<R: Request>(req: &R) -> Vec<u8> {
    let creds = credentials();
    let plain = req.to_xml(&creds.dsn);
    RequestEnvelope::seal(&creds, R::REQUEST_TYPE, &plain)
        .expect("seal")
        .to_xml()
        .into_bytes()
}

pub fn pay_request(req_seq: &str) -> PayRequest {
    PayRequest::new(req_seq, 1, PAID_CODE)
}

pub fn query_request(req_seq: &str, ori_seq: &str) -> QueryPayRequest {
    QueryPayRequest {
        req_seq: req_seq.to_string(),
        auth_code: None,
        ori_seq: ori_seq.to_string(),
    }
}

/// The captured answer sealed as the platform sends it.
pub fn pay_response_body() -> Vec<u8> {
    let dsn = crypto::derive_dsn(ACCOUNT, PRIVATE_KEY, PASSWORD);
    ResponseEnvelope::seal(&dsn, "1795627796433", PAY_RESPONSE_PLAIN)
        .expect("seal answer")
        .to_xml()
        .into_bytes()
}

/// A transport that answers every request with the same body, in memory:
/// the `Client` then does all of its protocol work and no I/O.
pub struct Canned(pub Vec<u8>);

impl Transport for Canned {
    fn post(&self, _url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        std::hint::black_box(body);
        Ok(self.0.clone())
    }
}

/// A `Client` over [`Canned`] with the captured pay answer.
pub fn canned_client() -> Client {
    let cfg = config("http://127.0.0.1:9/ystpay/service/unitive.api");
    Client::with_transport(&cfg, Arc::new(Canned(pay_response_body()))).expect("client")
}

/// One complete payment's protocol work: check, build, encrypt and sign the
/// request; verify, decrypt, parse and check the answer.
pub fn pay_once(c: &Client) {
    let mut req = pay_request(FIXTURE_SEQ);
    let resp = c.pay(&mut req).expect("canned answer verifies");
    std::hint::black_box(resp);
}

/// Prints one result line for `scripts/bench.sh`: `BENCH-RESULT {json}`.
pub fn emit(key: &str, fields: &[(&str, String)]) {
    let mut s = format!("{{\"key\":\"{key}\"");
    for (k, v) in fields {
        s.push_str(&format!(",\"{k}\":{v}"));
    }
    s.push('}');
    println!("BENCH-RESULT {s}");
}

/// Median of a slice (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    percentile(v, 0.5)
}

/// Nearest-rank percentile `p` in 0..=1 (sorts in place).
pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// `--quick` (or `YSTPAY_BENCH_QUICK=1`): a smoke run of a few seconds, no verdict.
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
        || std::env::var("YSTPAY_BENCH_QUICK").is_ok_and(|v| v == "1")
}
