//! Figure 4: requests per second the simulator answers with many clients
//! at once, everything on this machine's 2 cores.
//!
//! The simulator runs in this process on its own runtime (2 worker
//! threads). The load comes from one more thread: C kept-alive connections
//! on a single-threaded tokio runtime, each sending pre-sealed HTTP requests
//! back to back, so the clients spend next to no CPU on the protocol.
//! Two mixes, alternated, each run several times:
//! - `pay`: every request a new 1-fen WeChat order (unique `req_seq`); the
//!   simulator checks, stores and answers it.
//! - `query`: a query of one paid order, the load a settling register makes.
//!
//! Also reported: CPU time the simulator's threads used per request (from
//! /proc/self/task), which does not depend on what else the machine runs.

#[path = "common/mod.rs"]
mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use ystpay::protocol::messages::PayResponse;
use ystpay::protocol::{crypto, Response as _, ResponseEnvelope, Status};
use ystpay_sim::{SimConfig, Simulator};

/// CPU seconds used so far by this process's threads whose name starts with `prefix`.
fn thread_cpu(prefix: &str) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    for t in dir.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        // Fields after the `(comm)`: state is field 3; utime, stime are 14, 15.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.len() > 12 {
                total += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
            }
        }
    }
    total as f64 / tick
}

fn http_request(addr: std::net::SocketAddr, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
        ystpay_sim::API_PATH,
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Sends `req`, reads one whole answer into `buf`; returns (status, body offset).
async fn exchange(
    s: &mut TcpStream,
    req: &[u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, usize)> {
    s.write_all(req).await?;
    buf.clear();
    let mut tmp = [0u8; 16 * 1024];
    loop {
        let n = s.read(&mut tmp).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(h) = find(buf, b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..h]).unwrap_or("");
            let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= h + 4 + len {
                return Ok((status, h + 4));
            }
        }
    }
}

struct RunResult {
    requests: u64,
    non_200: u64,
    secs: f64,
    sim_cpu: f64,
    gen_cpu: f64,
    last_body: Vec<u8>,
}

/// Drives `conns` connections for `dur`, each sending `reqs[i]` with i taken
/// from a shared counter (cycled when `cycle`, else stopping at the end).
fn load(
    addr: std::net::SocketAddr,
    reqs: Rc<Vec<Vec<u8>>>,
    cycle: bool,
    conns: usize,
    dur: Duration,
) -> RunResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let next = Rc::new(Cell::new(0usize));
    let non200 = Rc::new(Cell::new(0u64));
    let done = Rc::new(Cell::new(0u64));
    let last = Rc::new(std::cell::RefCell::new(Vec::new()));
    let sim0 = thread_cpu("ystpay-sim");
    let gen0 = thread_cpu("throughput");
    let start = Instant::now();
    let deadline = start + dur;
    rt.block_on(async {
        let local = tokio::task::LocalSet::new();
        for _ in 0..conns {
            let (reqs, next, non200, done, last) = (
                reqs.clone(),
                next.clone(),
                non200.clone(),
                done.clone(),
                last.clone(),
            );
            local.spawn_local(async move {
                let mut s = TcpStream::connect(addr).await.expect("connect");
                s.set_nodelay(true).expect("nodelay");
                let mut buf = Vec::with_capacity(8192);
                while Instant::now() < deadline {
                    let i = next.get();
                    if i >= reqs.len() && !cycle {
                        break;
                    }
                    next.set(i + 1);
                    let (status, off) = exchange(&mut s, &reqs[i % reqs.len()], &mut buf)
                        .await
                        .expect("exchange");
                    if status != 200 {
                        non200.set(non200.get() + 1);
                    }
                    done.set(done.get() + 1);
                    if i + 1 == reqs.len() || done.get() % 4096 == 1 {
                        *last.borrow_mut() = buf[off..].to_vec();
                    }
                }
            });
        }
        local.await;
    });
    let secs = start.elapsed().as_secs_f64();
    let last_body = last.borrow().clone();
    RunResult {
        requests: done.get(),
        non_200: non200.get(),
        secs,
        sim_cpu: thread_cpu("ystpay-sim") - sim0,
        gen_cpu: thread_cpu("throughput") - gen0,
        last_body,
    }
}

fn check(body: &[u8]) -> PayResponse {
    let dsn = crypto::derive_dsn(common::ACCOUNT, common::PRIVATE_KEY, common::PASSWORD);
    let env = ResponseEnvelope::parse(std::str::from_utf8(body).expect("utf-8")).expect("envelope");
    PayResponse::from_xml(&env.open(&dsn).expect("signature")).expect("answer")
}

fn main() {
    let quick = common::quick();
    // `--mix pay` or `--mix query` runs one mix only (for profiling the
    // simulator, e.g. under callgrind with --toggle-collect on its
    // connection tasks; the total request count is printed at the end).
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--mix")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let (dur, repeats, conns) = if quick {
        (Duration::from_millis(700), 1, 32)
    } else {
        (Duration::from_secs(4), 3, 32)
    };
    let sim = Simulator::start(SimConfig::default()).expect("simulator");
    let addr = sim.addr();
    let ctl = sim.control();

    // A paid order for the query mix.
    let client = ystpay::Client::new(&common::config(&sim.api_url())).expect("client");
    let mut paid = common::pay_request("");
    client.pay(&mut paid).expect("pay");
    let query = Rc::new(vec![http_request(
        addr,
        &common::sealed_body(&common::query_request(
            "Q0000000000000000001",
            &paid.req_seq,
        )),
    )]);
    // Unique new orders, enough for every pay run at 60,000 requests/s.
    let per_run = (60_000.0 * dur.as_secs_f64()) as usize;
    let t = Instant::now();
    let pays: Vec<Rc<Vec<Vec<u8>>>> = (0..repeats)
        .map(|r| {
            Rc::new(
                (0..per_run)
                    .map(|i| {
                        let seq = format!("9{r}{i:018}");
                        http_request(addr, &common::sealed_body(&common::pay_request(&seq)))
                    })
                    .collect(),
            )
        })
        .collect();
    eprintln!(
        "sealed {} pay requests in {:.1} s",
        per_run * repeats,
        t.elapsed().as_secs_f64()
    );

    let mut pay_rates = Vec::new();
    let mut query_rates = Vec::new();
    let mut pay_cpu = Vec::new();
    let mut query_cpu = Vec::new();
    let mut gen_cpu = Vec::new();
    let mut orders_expected = 1u64;
    // Warm-up: connections, allocator, the order map.
    if only.is_none() {
        load(addr, query.clone(), true, conns, Duration::from_millis(300));
    }
    for (r, batch) in pays.iter().enumerate() {
        for mix in ["pay", "query"] {
            if only.as_deref().is_some_and(|o| o != mix) {
                continue;
            }
            let res = if mix == "pay" {
                load(addr, batch.clone(), false, conns, dur)
            } else {
                load(addr, query.clone(), true, conns, dur)
            };
            assert_eq!(res.non_200, 0, "{mix}: answers other than HTTP 200");
            let a = check(&res.last_body);
            assert_eq!(a.head.result, Some(true), "{mix}: {a:?}");
            assert_eq!(a.status, Some(Status::Success), "{mix}: {a:?}");
            let rate = res.requests as f64 / res.secs;
            let cpu_us = res.sim_cpu / res.requests as f64 * 1e6;
            println!(
                "run {r} {mix:>5}: {:>7} requests in {:.2} s = {rate:>8.0} req/s; simulator CPU {cpu_us:.1} µs/request, load generator CPU {:.1} µs/request",
                res.requests,
                res.secs,
                res.gen_cpu / res.requests as f64 * 1e6
            );
            gen_cpu.push(res.gen_cpu / res.requests as f64 * 1e6);
            if mix == "pay" {
                orders_expected += res.requests;
                pay_rates.push(rate);
                pay_cpu.push(cpu_us);
            } else {
                query_rates.push(rate);
                query_cpu.push(cpu_us);
            }
        }
    }
    let orders = ctl.orders(common::ACCOUNT).len() as u64;
    if only.as_deref() != Some("query") {
        assert_eq!(orders, orders_expected, "every pay stored an order");
    }
    println!(
        "simulator API requests in all, warm-up included: {}",
        ctl.request_count()
    );
    if only.is_some() {
        sim.shutdown();
        return;
    }
    let pay = common::median(&mut pay_rates);
    let qry = common::median(&mut query_rates);
    let pay_c = common::median(&mut pay_cpu);
    let qry_c = common::median(&mut query_cpu);
    let gen_c = common::median(&mut gen_cpu);
    println!("median: pay {pay:.0} req/s, query {qry:.0} req/s ({conns} connections; {orders} orders stored)");
    common::emit(
        "throughput",
        &[
            ("connections", conns.to_string()),
            ("seconds_per_run", format!("{:.1}", dur.as_secs_f64())),
            ("runs", repeats.to_string()),
            ("pay_rps", format!("{pay:.0}")),
            ("query_rps", format!("{qry:.0}")),
            ("pay_sim_cpu_us", format!("{pay_c:.1}")),
            ("query_sim_cpu_us", format!("{qry_c:.1}")),
            ("gen_cpu_us", format!("{gen_c:.1}")),
            ("orders", orders.to_string()),
        ],
    );
    sim.shutdown();
}
