//! Shared helpers for the suites that run the flows against the simulator.
#![allow(dead_code)]

pub mod c_abi;
pub mod linkproxy;
pub mod netns;
pub mod skip;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use std::collections::VecDeque;
use std::sync::Mutex;

use ystpay::flow::{FlowConfig, Payments};
use ystpay::journal::{Journal, OpKind, OpRecord, OpState};
use ystpay::transport::{HttpSettings, HttpTransport, Transport, TransportError};
use ystpay::{Client, ClientConfig};
use ystpay_sim::{Control, Fault};
use ystpay_sim::{OrderView, RunningSim, SimConfig, Simulator, TrueStatus};

/// The simulator's time runs this many times faster than real time.
pub const TIME_SCALE: f64 = 50.0;

/// A simulator sped up by `scale`.
pub fn start_sim(scale: f64) -> RunningSim {
    Simulator::start(SimConfig {
        time_scale: scale,
        ..SimConfig::default()
    })
    .expect("simulator starts")
}

/// A client config for the demo device at `url`.
pub fn client_config(url: &str, read_timeout: Duration, register_no: u16) -> ClientConfig {
    let mut c = ClientConfig::new(url, "demo", "demo123", "0123456789ABCDEF");
    c.read_timeout = read_timeout;
    c.connect_timeout = Duration::from_secs(2);
    c.register_no = Some(register_no);
    c
}

/// A fresh directory for a test's journal.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ystpay-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Flow timing scaled to a simulator running `scale` times faster.
pub fn flow_config(scale: f64) -> FlowConfig {
    FlowConfig::default().scaled(1.0 / scale)
}

/// Payments against `sim` with a fresh journal file.
pub fn payments(sim: &RunningSim, scale: f64, name: &str) -> (Payments, PathBuf) {
    let dir = temp_dir(name);
    let path = dir.join("journal.db");
    let journal = Arc::new(Journal::open(&path).unwrap());
    let cfg = client_config(&sim.api_url(), Duration::from_millis(500), 1);
    let client = Arc::new(Client::new(&cfg).unwrap());
    (
        Payments::new(client, journal, flow_config(scale)).unwrap(),
        path,
    )
}

/// How many requests of kind `what` (`pay`, `query`, `revoke`, ...) the
/// journal recorded for the demo device's operation `seq`.
pub fn attempts(p: &Payments, seq: &str, what: &str) -> usize {
    p.journal()
        .attempts("demo", seq)
        .unwrap()
        .iter()
        .filter(|a| a.what == what)
        .count()
}

/// An 18-digit WeChat payment code ending in `last2` (the simulator's scenario).
pub fn wechat_code(salt: u64, last2: u8) -> String {
    format!("13{:014}{:02}", salt % 100_000_000_000_000, last2)
}

/// A 16-digit Alipay payment code ending in `last2`.
pub fn alipay_code(salt: u64, last2: u8) -> String {
    format!("28{:012}{:02}", salt % 1_000_000_000_000, last2)
}

/// Does the register's record agree with the simulator's truth?
/// `Err` says how not.
pub fn agrees(rec: &OpRecord, truth: Option<&OrderView>) -> Result<(), String> {
    if let Some(t) = truth {
        if t.pay_count > 1 {
            return Err(format!("{}: paid {} times", rec.req_seq, t.pay_count));
        }
        if t.total_fee != rec.total_fee {
            return Err(format!(
                "{}: amount {} vs {}",
                rec.req_seq, rec.total_fee, t.total_fee
            ));
        }
    }
    let ok = match (rec.state, truth.map(|t| t.status)) {
        (OpState::Paid, Some(TrueStatus::Paid)) => {
            let t = truth.unwrap();
            rec.trans_seq.as_deref() == Some(t.trans_seq.as_str())
        }
        // FAILED: the platform said so; or it refused and has no such order.
        (OpState::Failed, Some(TrueStatus::Failed)) | (OpState::Failed, None) => true,
        // Not sent: the platform never had it.
        (OpState::NotSent, None) => true,
        // Closed by the platform (an expired order).
        (OpState::Closed, Some(TrueStatus::Closed)) => true,
        // REVOKED by the register: the money was returned or never taken.
        (OpState::Revoked, Some(TrueStatus::Revoked))
        | (OpState::Revoked, Some(TrueStatus::Closed))
        | (OpState::Revoked, None) => true,
        // The register revoked an order that had failed by itself just before:
        // no money was taken either way.
        (OpState::Revoked, Some(TrueStatus::Failed)) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} {}: register says {} ({}), platform says {:?}",
            rec.kind,
            rec.req_seq,
            rec.state,
            rec.detail,
            truth.map(|t| (t.status, t.pay_count))
        ))
    }
}

/// Checks every operation of `journal` against the simulator; returns the
/// mismatches (empty when all agree), refunds included.
pub fn mismatches(journal: &Journal, sim: &ystpay_sim::Control) -> Vec<String> {
    let mut out = Vec::new();
    let ops = journal.all_ops().unwrap();
    for rec in ops.iter().filter(|r| r.kind != OpKind::Refund) {
        let truth = sim.order("demo", &rec.req_seq);
        if rec.state.is_open() {
            out.push(format!("{} {} still {}", rec.kind, rec.req_seq, rec.state));
            continue;
        }
        if let Err(e) = agrees(rec, truth.as_ref()) {
            out.push(e);
        }
        // Refunds: each one the register says went through is on the platform,
        // and the totals match.
        let refunds: Vec<&OpRecord> = ops
            .iter()
            .filter(|r| r.kind == OpKind::Refund && r.parent_seq.as_deref() == Some(&rec.req_seq))
            .collect();
        let mut refunded = 0;
        for r in &refunds {
            let on_platform = truth
                .as_ref()
                .is_some_and(|t| t.refunds.iter().any(|x| x.req_seq == r.req_seq));
            match r.state {
                OpState::Refunded if on_platform => refunded += r.total_fee,
                OpState::Failed | OpState::NotSent if !on_platform => {}
                s => out.push(format!(
                    "refund {} of {}: register {s}, on platform: {on_platform}",
                    r.req_seq, rec.req_seq
                )),
            }
        }
        if let Some(t) = &truth {
            let platform_refunds: i64 = t.refunds.iter().map(|r| r.refund_fee).sum();
            if platform_refunds != refunded {
                out.push(format!(
                    "{}: refunds register {refunded} vs platform {platform_refunds}",
                    rec.req_seq
                ));
            }
        }
    }
    out
}

/// A transport that injects the planned fault into the simulator right
/// before each request, so that fault k hits exactly request k of the
/// scenario; and that can kill the flow using it (see [`Kill`]).
pub struct Faulty {
    inner: HttpTransport,
    ctl: Control,
    /// The faults of the next requests, first in first out (`None`: clean).
    pub plan: Mutex<VecDeque<Option<Fault>>>,
    /// When set, the kill to carry out.
    pub kill: Mutex<Option<Kill>>,
    /// When set, the network goes down for some requests.
    pub outage: Mutex<Option<Outage>>,
}

/// The shop's network is down for `requests` requests, after `after`
/// requests got through: each fails before a byte leaves (as with the
/// cable out, or DNS down) and never reaches the simulator.
#[derive(Clone, Copy, Debug)]
pub struct Outage {
    /// Requests to let through first.
    pub after: u32,
    /// Requests that cannot leave.
    pub requests: u32,
}

impl Faulty {
    /// Posts over HTTP with `read_timeout`, injecting faults into the
    /// simulator `ctl` steers.
    pub fn new(ctl: Control, read_timeout: Duration) -> Faulty {
        let inner = HttpTransport::new(&HttpSettings {
            connect_timeout: Duration::from_secs(1),
            read_timeout,
            proxy: None,
            ..HttpSettings::default()
        })
        .unwrap();
        Faulty {
            inner,
            ctl,
            plan: Mutex::new(VecDeque::new()),
            kill: Mutex::new(None),
            outage: Mutex::new(None),
        }
    }

    /// Plans the faults of the next requests.
    pub fn plan(&self, plan: impl IntoIterator<Item = Option<Fault>>) {
        *self.plan.lock().unwrap() = plan.into_iter().collect();
    }
}

/// Kills the flow (its thread panics, dropping its `Payments` and owner)
/// at request `at` of the flow: before it leaves, or after its answer came.
#[derive(Clone, Copy)]
pub struct Kill {
    /// Requests to let through first.
    pub at: u32,
    /// Kill after the answer came (else before the request leaves).
    pub after_answer: bool,
}

pub const KILLED: &str = "simulated kill of the register";

impl Transport for Faulty {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let kill = {
            let mut k = self.kill.lock().unwrap();
            match k.as_mut() {
                Some(kill) if kill.at == 0 => k.take(),
                Some(kill) => {
                    kill.at -= 1;
                    None
                }
                None => None,
            }
        };
        if matches!(
            kill,
            Some(Kill {
                after_answer: false,
                ..
            })
        ) {
            std::panic::panic_any(KILLED);
        }
        let down = {
            let mut o = self.outage.lock().unwrap();
            match o.as_mut() {
                Some(w) if w.after > 0 => {
                    w.after -= 1;
                    false
                }
                Some(w) if w.requests > 0 => {
                    w.requests -= 1;
                    true
                }
                _ => false,
            }
        };
        if down {
            return Err(TransportError::NotSent(
                "io: Network is unreachable (simulated outage)".into(),
            ));
        }
        let next = self.plan.lock().unwrap().pop_front().flatten();
        if let Some(f) = next {
            self.ctl.inject(f, 1);
        }
        let r = self.inner.post(url, body);
        if kill.is_some() {
            std::panic::panic_any(KILLED);
        }
        r
    }
}
