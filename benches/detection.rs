//! Benchmark: how soon the register learns that the customer paid
//! (detection delay: simulator marks the order paid → `settle_pay` returns
//! PAID) and how many queries each payment costs, for the adaptive polling
//! schedule against a fixed 5 s schedule (what the usual POS DLLs do).
//!
//! Run: `cargo bench --bench detection` (env `YSTPAY_BENCH_PAYMENTS`,
//! default 300 per schedule). Times are reported in platform seconds (the
//! simulator runs `SCALE` times faster than real time).
//!
//! Password entry times are spread continuously over (0, 10] s: the
//! simulator takes N whole seconds (codes ending 51–59, 50 = 10 s) from
//! the order's creation, and the transport hands the first answer to the
//! flow a random fraction of a second late, so the flow's schedule starts
//! at a random phase.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ystpay::flow::{FlowConfig, Outcome, PayOrder, PollSchedule, SettleOptions};
use ystpay::transport::{HttpSettings, HttpTransport, Transport, TransportError};
use ystpay::{Client, ClientConfig, Journal, Payments};
use ystpay_sim::{SimConfig, Simulator};

const SCALE: f64 = 10.0;
const THREADS: usize = 4;

/// Counts requests; delays the first answer by a chosen time and notes when
/// the order was created (the first answer's arrival).
struct Probe {
    inner: HttpTransport,
    posts: AtomicU64,
    first_delay: Mutex<Duration>,
    created: Mutex<Option<Instant>>,
}

impl Transport for Probe {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let n = self.posts.fetch_add(1, Ordering::SeqCst);
        let r = self.inner.post(url, body);
        if n == 0 {
            *self.created.lock().unwrap() = Some(Instant::now());
            std::thread::sleep(*self.first_delay.lock().unwrap());
        }
        r
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Sample {
    delay: f64,
    queries: u64,
}

fn run(schedule: PollSchedule, payments: usize, url: &str, journal: &Arc<Journal>) -> Vec<Sample> {
    let next = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (next, out, url, journal) =
                (next.clone(), out.clone(), url.to_string(), journal.clone());
            std::thread::spawn(move || {
                let mut cfg = ClientConfig::new(&url, "demo", "demo123", "0123456789ABCDEF");
                cfg.register_no = Some(200 + t as u16);
                let mut rng = Rng(0xBEEF + t as u64);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst) as usize;
                    if i >= payments {
                        break;
                    }
                    let probe = Arc::new(Probe {
                        inner: HttpTransport::new(&HttpSettings::default()).unwrap(),
                        posts: AtomicU64::new(0),
                        first_delay: Mutex::new(Duration::ZERO),
                        created: Mutex::new(None),
                    });
                    let client = Client::with_transport(&cfg, probe.clone()).unwrap();
                    let flow = FlowConfig {
                        poll: schedule,
                        ..FlowConfig::default()
                    }
                    .scaled(1.0 / SCALE);
                    let p = Payments::new(Arc::new(client), journal.clone(), flow).unwrap();
                    // Whole seconds N from the code, minus a random phase u.
                    let n = 1 + (i % 10) as u64;
                    let u = rng.unit();
                    let phase = Duration::from_secs_f64(u.min(n as f64 - 0.05) / SCALE);
                    *probe.first_delay.lock().unwrap() = phase;
                    let code = format!("13{:014}5{}", i, n % 10);
                    let s = p
                        .settle_pay(&PayOrder::new(100, code), &SettleOptions::default())
                        .unwrap();
                    let done = Instant::now();
                    assert_eq!(s.outcome, Outcome::Paid);
                    let created = probe.created.lock().unwrap().unwrap();
                    let paid_at = created + Duration::from_secs_f64(n as f64 / SCALE);
                    let delay = done.saturating_duration_since(paid_at).as_secs_f64() * SCALE;
                    let queries = probe.posts.load(Ordering::SeqCst) - 1;
                    out.lock().unwrap().push(Sample { delay, queries });
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    Arc::try_unwrap(out).ok().unwrap().into_inner().unwrap()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful.
    let payments: usize = std::env::var("YSTPAY_BENCH_PAYMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let sim = Simulator::start(SimConfig {
        time_scale: SCALE,
        ..SimConfig::default()
    })
    .unwrap();
    let dir = std::env::temp_dir().join(format!("ystpay-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = Arc::new(Journal::open(dir.join("journal.db")).unwrap());
    println!(
        "detection delay (platform seconds, simulator paid -> register knows) and queries per payment;\n\
         {payments} payments per schedule, password entry spread over (0, 10] s, time scale {SCALE}"
    );
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>8} {:>10}",
        "schedule", "median", "p95", "mean", "max", "queries"
    );
    let a = PollSchedule::ADAPTIVE;
    let adaptive = format!(
        "adaptive {:.1} s x{}, cap {} s (default)",
        a.first.as_secs_f64(),
        a.factor,
        a.max.as_secs()
    );
    for (name, schedule) in [
        (adaptive.as_str(), a),
        ("fixed 5 s", PollSchedule::fixed(Duration::from_secs(5))),
        ("fixed 3 s", PollSchedule::fixed(Duration::from_secs(3))),
    ] {
        let samples = run(schedule, payments, &sim.api_url(), &journal);
        let mut d: Vec<f64> = samples.iter().map(|s| s.delay).collect();
        d.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        let q = samples.iter().map(|s| s.queries).sum::<u64>() as f64 / samples.len() as f64;
        println!(
            "{:<40} {:>7.2}s {:>7.2}s {:>7.2}s {:>7.2}s {:>10.2}",
            name,
            pct(&d, 0.5),
            pct(&d, 0.95),
            mean,
            d[d.len() - 1],
            q
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
