//! Figure 2: a pay through `Client` against the simulator on loopback, next
//! to the physical floor, measured interleaved in the same run.
//!
//! Modes, each run for K calls in turn, R rounds, the order rotated every
//! round so that drift in the machine's load hits every mode alike:
//! - `client`: `Client::pay` of the same order every time (same `req_seq`,
//!   so the simulator answers it as a retry, with the order's state). The
//!   protocol fixes the IV, so these are byte for byte the bodies below.
//! - `http`: the pre-sealed body posted with the library's own keep-alive
//!   HTTP transport (`HttpTransport::post`): HTTP, no protocol work.
//! - `tcp`: the same bytes as a hand-written HTTP/1.1 request on a plain
//!   kept-alive socket: no protocol work, no HTTP library — the floor.
//! - `client_new`: `Client::pay` with a fresh `req_seq` each call: a new
//!   order every time (the simulator stores it), for reference.
//!
//! Connections are counted from /proc/net/tcp: every socket that touched
//! the simulator's port, open or in TIME_WAIT, is one connection.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ystpay::protocol::messages::PayResponse;
use ystpay::protocol::{crypto, Response as _, ResponseEnvelope};
use ystpay::transport::{HttpSettings, HttpTransport, Transport};
use ystpay::Client;
use ystpay_sim::{SimConfig, Simulator};

/// A kept-alive HTTP/1.1 connection with nothing but a socket.
struct RawHttp {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
}

impl RawHttp {
    fn new(addr: std::net::SocketAddr, body: &[u8]) -> RawHttp {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            ystpay_sim::API_PATH,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        RawHttp {
            reader: BufReader::new(s),
            request,
        }
    }

    fn post(&mut self) -> Vec<u8> {
        self.reader
            .get_mut()
            .write_all(&self.request)
            .expect("write");
        let mut len = None;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("read header");
            if first {
                assert!(line.starts_with("HTTP/1.1 200"), "status line {line:?}");
                first = false;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse::<usize>().ok();
                }
            }
        }
        let mut body = vec![0u8; len.expect("content-length")];
        self.reader.read_exact(&mut body).expect("read body");
        body
    }
}

/// Client-side ports of every socket to or from `port` (any state but LISTEN).
fn connections(port: u16) -> BTreeSet<u16> {
    let mut out = BTreeSet::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for l in text.lines().skip(1) {
            let cols: Vec<&str> = l.split_whitespace().collect();
            if cols.len() < 4 || cols[3] == "0A" {
                continue;
            }
            let p = |c: &str| {
                c.rsplit(':')
                    .next()
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
            };
            let (local, remote) = (p(cols[1]), p(cols[2]));
            if local == Some(port) {
                out.extend(remote);
            } else if remote == Some(port) {
                out.extend(local);
            }
        }
    }
    out
}

fn check_answer(body: &[u8], req_seq: &str) {
    let dsn = crypto::derive_dsn(common::ACCOUNT, common::PRIVATE_KEY, common::PASSWORD);
    let env = ResponseEnvelope::parse(std::str::from_utf8(body).expect("utf-8")).expect("envelope");
    let r = PayResponse::from_xml(&env.open(&dsn).expect("verifies")).expect("pay answer");
    assert_eq!(r.head.req_seq.as_deref(), Some(req_seq));
    assert_eq!(r.head.result, Some(true), "answer {r:?}");
}

const MODES: [&str; 4] = ["client", "http", "tcp", "client_new"];

fn main() {
    let quick = common::quick();
    let (rounds, per_round) = if quick { (3, 20) } else { (40, 100) };
    let sim = Simulator::start(SimConfig::default()).expect("simulator");
    let url = sim.api_url();
    let port = sim.addr().port();
    let client = Client::new(&common::config(&url)).expect("client");
    let seq = client.issue_req_seq().unwrap();
    let body = common::sealed_body(&common::pay_request(&seq));

    // The first pay creates the order; every later one with this req_seq is a retry.
    let mut first = common::pay_request(&seq);
    let a = client.pay(&mut first).expect("first pay");
    assert_eq!(a.status, Some(ystpay::protocol::Status::Success));
    let http = HttpTransport::new(&HttpSettings::default()).expect("transport");
    check_answer(&http.post(&url, &body).expect("http post"), &seq);
    let mut tcp = RawHttp::new(sim.addr(), &body);
    check_answer(&tcp.post(), &seq);

    let mut run = |mode: &str| -> Duration {
        let t = Instant::now();
        match mode {
            "client" => {
                let mut r = common::pay_request(&seq);
                std::hint::black_box(client.pay(&mut r).expect("pay"));
            }
            "http" => {
                std::hint::black_box(http.post(&url, &body).expect("post"));
            }
            "tcp" => {
                std::hint::black_box(tcp.post());
            }
            _ => {
                let mut r = common::pay_request("");
                std::hint::black_box(client.pay(&mut r).expect("pay"));
            }
        }
        t.elapsed()
    };
    for _ in 0..(per_round / 2).max(10) {
        for m in MODES {
            run(m);
        }
    }
    let conns_before = connections(port);

    let mut all: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    let mut round_medians: Vec<Vec<f64>> = vec![Vec::new(); MODES.len()];
    for r in 0..rounds {
        for k in 0..MODES.len() {
            let i = (k + r) % MODES.len();
            let mut v: Vec<f64> = (0..per_round)
                .map(|_| run(MODES[i]).as_secs_f64() * 1e6)
                .collect();
            all[i].extend_from_slice(&v);
            round_medians[i].push(common::median(&mut v));
        }
    }
    let conns_after = connections(port);
    let calls = rounds * per_round * MODES.len() + (per_round / 2).max(10) * MODES.len() + 3;

    let med: Vec<f64> = all.iter_mut().map(|v| common::median(v)).collect();
    let p90: Vec<f64> = all.iter_mut().map(|v| common::percentile(v, 0.9)).collect();
    let ratio = |a: usize, b: usize| {
        let mut v: Vec<f64> = round_medians[a]
            .iter()
            .zip(&round_medians[b])
            .map(|(x, y)| x / y)
            .collect();
        (
            common::median(&mut v),
            common::percentile(&mut v, 0.1),
            common::percentile(&mut v, 0.9),
        )
    };
    let (r_tcp, r_tcp_lo, r_tcp_hi) = ratio(0, 2);
    let (r_http, r_http_lo, r_http_hi) = ratio(0, 1);
    let (r_new, _, _) = ratio(3, 2);
    for (i, m) in MODES.iter().enumerate() {
        println!(
            "{m:>10}: median {:8.1} µs   p90 {:8.1} µs   ({} calls)",
            med[i],
            p90[i],
            all[i].len()
        );
    }
    println!("client / tcp floor  : {r_tcp:.3} (rounds p10 {r_tcp_lo:.3}, p90 {r_tcp_hi:.3})");
    println!("client / http floor : {r_http:.3} (rounds p10 {r_http_lo:.3}, p90 {r_http_hi:.3})");
    println!("client_new / tcp    : {r_new:.3}");
    println!(
        "TCP connections to the simulator: {} after warm-up, {} after {} more calls (client ports {:?})",
        conns_before.len(),
        conns_after.len(),
        rounds * per_round * MODES.len(),
        conns_after
    );
    common::emit(
        "roundtrip",
        &[
            ("rounds", rounds.to_string()),
            ("per_round", per_round.to_string()),
            ("client_us", format!("{:.1}", med[0])),
            ("http_us", format!("{:.1}", med[1])),
            ("tcp_us", format!("{:.1}", med[2])),
            ("client_new_us", format!("{:.1}", med[3])),
            ("client_p90_us", format!("{:.1}", p90[0])),
            ("tcp_p90_us", format!("{:.1}", p90[2])),
            ("ratio_tcp", format!("{r_tcp:.3}")),
            ("ratio_tcp_p10", format!("{r_tcp_lo:.3}")),
            ("ratio_tcp_p90", format!("{r_tcp_hi:.3}")),
            ("ratio_http", format!("{r_http:.3}")),
            ("ratio_http_p10", format!("{r_http_lo:.3}")),
            ("ratio_http_p90", format!("{r_http_hi:.3}")),
            ("ratio_new_tcp", format!("{r_new:.3}")),
            ("conns_before", conns_before.len().to_string()),
            ("conns_after", conns_after.len().to_string()),
            ("calls", calls.to_string()),
        ],
    );
    drop(tcp);
    sim.shutdown();
}
