//! Figure 3: the Rust side of the C ABI comparison — exactly the loop of
//! `benches/c/pay_bench.c` in `time` mode, through `Client::pay`, so that
//! `scripts/bench-c.sh` can alternate the two processes against one
//! simulator.
//!
//! `client_pay URL N REQ_SEQ`: 50 warm-up pays of order REQ_SEQ, then N
//! timed ones; prints `median_us <x>`. Without arguments (as `cargo bench`
//! runs it) it says how to use it and exits.

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [url, n, seq] = args.as_slice() else {
        eprintln!("client_pay URL N REQ_SEQ (run by scripts/bench-c.sh)");
        return;
    };
    let n: usize = n.parse().expect("N");
    let client = ystpay::Client::new(&common::config(url)).expect("client");
    let pay = || {
        let mut r = common::pay_request(seq);
        let a = client.pay(&mut r).expect("pay");
        assert_eq!(a.status, Some(ystpay::protocol::Status::Success));
    };
    for _ in 0..50 {
        pay();
    }
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let a = Instant::now();
            pay();
            a.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    println!("median_us {:.2}", common::median(&mut t));
}
