//! Figure 1 (µs): the protocol CPU of one payment, with no I/O.
//!
//! `pay/client_cpu` is `Client::pay` over an in-memory transport that
//! returns a real simulator answer: field rules, `<data>` XML, AES, base64,
//! MD5 signature, then signature check, AES, XML parse and the checks that
//! tie the answer to the request. The other two split it in halves.

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common/mod.rs"]
mod common;

use ystpay::protocol::messages::{PayResponse, Request, Response};
use ystpay::protocol::{RequestEnvelope, ResponseEnvelope};

fn pay(c: &mut Criterion) {
    let client = common::canned_client();
    let creds = common::credentials();
    let answer = String::from_utf8(common::pay_response_body()).expect("utf-8");
    let mut g = c.benchmark_group("pay");
    g.bench_function("client_cpu", |b| b.iter(|| common::pay_once(&client)));
    g.bench_function("seal_request", |b| {
        b.iter(|| {
            let req = common::pay_request(common::FIXTURE_SEQ);
            req.check().expect("valid");
            let plain = req.to_xml(&creds.dsn);
            let env = RequestEnvelope::seal(&creds, "unitive_pay_request", &plain).expect("seal");
            std::hint::black_box(env.to_xml());
        })
    });
    g.bench_function("open_response", |b| {
        b.iter(|| {
            let env = ResponseEnvelope::parse(&answer).expect("parse");
            let plain = env.open(&creds.dsn).expect("open");
            std::hint::black_box(PayResponse::from_xml(&plain).expect("read"));
        })
    });
    g.finish();
}

fn config() -> Criterion {
    let c = Criterion::default();
    if common::quick() {
        c.sample_size(10)
            .warm_up_time(std::time::Duration::from_millis(200))
            .measurement_time(std::time::Duration::from_millis(500))
    } else {
        c
    }
}

criterion_group! { name = benches; config = config(); targets = pay }
criterion_main!(benches);
