//! Figure 1 (instructions): a driver for `valgrind --tool=callgrind`.
//!
//! `protocol_instr N [PART]` does N repetitions of PART and exits:
//! - `pay` (default): one payment's protocol work, as `pay/client_cpu` in
//!   the criterion bench (`Client::pay` over an in-memory transport);
//! - `seal`: build, encrypt and sign the request;
//! - `open`: verify, decrypt and read the answer;
//! - `xml_outer`, `xml_inner`: only the XML reading of the answer's
//!   `<response>` envelope, or of its decrypted `<data>` document.
//!
//! `scripts/bench.sh` runs it under callgrind with two values of N; the
//! difference divided by the difference in N is the count for one
//! repetition, with start-up removed. Without an N (as `cargo bench` runs
//! it) it does one payment.

#[path = "common/mod.rs"]
mod common;

use ystpay::protocol::messages::{PayResponse, Request, Response};
use ystpay::protocol::xml::Fields;
use ystpay::protocol::{RequestEnvelope, ResponseEnvelope};

fn main() {
    let mut n = 1u64;
    let mut part = "pay".to_string();
    for a in std::env::args().skip(1) {
        match a.parse() {
            Ok(v) => n = v,
            Err(_) if !a.starts_with('-') => part = a,
            Err(_) => {}
        }
    }
    let client = common::canned_client();
    let creds = common::credentials();
    let answer = String::from_utf8(common::pay_response_body()).expect("utf-8");
    for _ in 0..n {
        match part.as_str() {
            "pay" => common::pay_once(&client),
            "seal" => {
                let req = common::pay_request(common::FIXTURE_SEQ);
                req.check().expect("valid");
                let plain = req.to_xml(&creds.dsn);
                let env =
                    RequestEnvelope::seal(&creds, "unitive_pay_request", &plain).expect("seal");
                std::hint::black_box(env.to_xml());
            }
            "open" => {
                let env = ResponseEnvelope::parse(&answer).expect("parse");
                let plain = env.open(&creds.dsn).expect("open");
                std::hint::black_box(PayResponse::from_xml(&plain).expect("read"));
            }
            "xml_outer" => {
                std::hint::black_box(Fields::parse(&answer, Some("response")).expect("xml"));
            }
            "xml_inner" => {
                std::hint::black_box(
                    Fields::parse(common::PAY_RESPONSE_PLAIN, Some("data")).expect("xml"),
                );
            }
            other => {
                eprintln!("unknown part {other:?}: pay, seal, open, xml_outer or xml_inner");
                std::process::exit(2);
            }
        }
    }
    eprintln!("protocol_instr: {n} x {part} done (run under callgrind to count instructions)");
}
