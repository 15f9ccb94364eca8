//! The randomized fault suite: seeded, reproducible scenarios of payments,
//! refunds, revokes and native orders against the real simulator, with
//! faults injected into chosen requests (timeouts, drops before and after
//! the platform commits, HTTP 500, garbage, bad signatures) on top of the
//! simulator's own scenarios (password, abandon, refused, busy-but-paid,
//! slow answers), and cashiers who press Esc at random moments.
//!
//! On top of those, the faults the register's real world brings:
//! - answers about another operation (the simulator's `WrongAmount` and
//!   `WrongOrder` faults: a signed answer with another amount or order
//!   number);
//! - a serial used twice: a journal restored from an old backup pays
//!   another customer, for another amount, under a serial the platform
//!   already holds paid;
//! - the library's wall clock stepping back and forward (by a second, an
//!   hour, a day) between and during operations;
//! - a flow killed mid-operation (its thread dies by a panic in the
//!   transport, before a request leaves or after its answer came, and with
//!   it its owner), then recovered at once by another flow;
//! - the shop's network down for a while, from any request of a flow on
//!   (each request fails before a byte leaves, as with the cable out or DNS
//!   down): an operation that never left must end NOT_SENT with the
//!   platform holding nothing, one that may have left must not;
//! - the cashier's Esc at every step a flow reports (each pause: the
//!   request on its way, each wait, query and resend).
//!
//! For every operation: the outcome the flow returned agrees with the
//! simulator's truth, no payment is taken twice, and after `recover()` with
//! the platform reachable nothing is left open and the journal equals the
//! truth (refunds included). No serial is ever issued for two operations,
//! nor twice for a query, whatever the clock did.
//!
//! `YSTPAY_FAULT_SCENARIOS` (default 2000) sets the count and
//! `YSTPAY_FAULT_SEED` the seed; a mismatch prints the scenario's seed and
//! index so that it can be replayed with `YSTPAY_FAULT_ONLY=<index>`.

mod common;

use std::collections::VecDeque;
use std::io::Write;
use std::ops::AddAssign;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ystpay::flow::{
    CancelToken, FlowError, NewOrder, OrderSpec, OrderStart, Outcome, PayOrder, Progress,
    SettleOptions,
};
use ystpay::journal::{Journal, JournalError, OpKind, OpState};
use ystpay::protocol::Channel;
use ystpay::{Client, Payments};
use ystpay_sim::{Control, Fault};

/// Simulated time runs this much faster: 10 s of password entry is 100 ms.
const SCALE: f64 = 100.0;
/// The client's answer timeout: longer than a normal answer, shorter than
/// the long delays below (and than most of the simulator's slow answers).
const READ_TIMEOUT: Duration = Duration::from_millis(60);
const WORKERS: usize = 4;

/// SplitMix64: small, seedable, good enough to pick scenarios.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn random_fault(rng: &mut Rng) -> Option<Fault> {
    Some(match rng.below(12) {
        0 => Fault::Delay(Duration::from_millis(150)), // answer after the client gave up
        1 => Fault::Delay(Duration::from_millis(5)),   // slow but in time
        2 => Fault::DropBeforeCommit,
        3 => Fault::DropAfterCommit,
        4 => Fault::Http500,
        5 => Fault::Garbage,
        6 => Fault::BadSignature,
        7 => Fault::WrongAmount, // signed, about another amount
        8 => Fault::WrongOrder,  // signed, about another order
        _ => return None,
    })
}

/// One or two faults that cost an answer but no outage.
fn mild_plan(rng: &mut Rng) -> VecDeque<Option<Fault>> {
    (0..rng.below(3))
        .map(|_| match rng.below(7) {
            0 => Some(Fault::Delay(Duration::from_millis(5))),
            1 => Some(Fault::BadSignature),
            2 => Some(Fault::Garbage),
            3 => Some(Fault::DropAfterCommit),
            4 => Some(Fault::WrongAmount),
            5 => Some(Fault::WrongOrder),
            _ => None,
        })
        .collect()
}

/// Now and then the shop's network goes down for a while, from a random
/// request on: nothing leaves (cable out, DNS down).
fn random_outage(rng: &mut Rng) -> Option<Outage> {
    rng.chance(15).then(|| Outage {
        after: rng.below(5) as u32,
        requests: 1 + rng.below(12) as u32,
    })
}

/// A cashier who presses Esc at the `n`-th step the flow reports (the
/// request on its way, each wait, each query, each resend), so that a
/// cancel falls at every pause of every flow.
struct EscAt {
    token: CancelToken,
    at: Option<usize>,
    seen: AtomicUsize,
}

impl EscAt {
    fn new(rng: &mut Rng) -> EscAt {
        EscAt {
            token: CancelToken::new(),
            at: rng.chance(12).then(|| rng.below(8) as usize),
            seen: AtomicUsize::new(0),
        }
    }
    fn step(&self, _: &Progress) {
        if Some(self.seen.fetch_add(1, Ordering::Relaxed)) == self.at {
            self.token.cancel();
        }
    }
}

/// A plan for the next requests: mostly clean, sometimes a burst of faults.
fn random_plan(rng: &mut Rng) -> VecDeque<Option<Fault>> {
    let mut plan = VecDeque::new();
    let n = match rng.below(10) {
        0..=2 => 0,
        3..=6 => 1 + rng.below(2),
        7..=8 => 3 + rng.below(3),
        _ => 8 + rng.below(8), // a long outage
    };
    for _ in 0..n {
        plan.push_back(if rng.chance(75) {
            random_fault(rng).or(Some(Fault::Http500))
        } else {
            None
        });
    }
    plan
}

struct Worker {
    _sim: ystpay_sim::RunningSim,
    ctl: Control,
    transport: Arc<Faulty>,
    payments: Payments,
    /// What a second client of this register needs: its configuration.
    config: ystpay::ClientConfig,
    account: String,
    /// How many times each (operation, returned outcome) occurred.
    tally: Mutex<std::collections::BTreeMap<String, usize>>,
}

impl Worker {
    fn new(index: usize, journal: Arc<Journal>) -> Worker {
        // Each worker is its own register (device account) on its own
        // simulator; all of them share one journal file.
        let account = format!("reg{index}");
        let sim = ystpay_sim::Simulator::start(ystpay_sim::SimConfig {
            time_scale: SCALE,
            devices: vec![ystpay_sim::Device {
                acct: account.clone(),
                ..ystpay_sim::Device::demo()
            }],
            ..ystpay_sim::SimConfig::default()
        })
        .unwrap();
        let ctl = sim.control();
        let mut cfg = client_config(&sim.api_url(), READ_TIMEOUT, 100 + index as u16);
        cfg.account = account.clone();
        let transport = Arc::new(Faulty::new(ctl.clone(), READ_TIMEOUT));
        let client = Client::with_transport(&cfg, transport.clone()).unwrap();
        let payments = Payments::new(Arc::new(client), journal, flow_config(SCALE)).unwrap();
        Worker {
            _sim: sim,
            ctl,
            transport,
            payments,
            config: cfg,
            account,
            tally: Mutex::new(Default::default()),
        }
    }

    fn plan(&self, plan: impl IntoIterator<Item = Option<Fault>>) {
        self.transport.plan(plan);
    }

    /// The network of the next flow call: down for a while, or up.
    fn network(&self, outage: Option<Outage>) {
        *self.transport.outage.lock().unwrap() = outage;
    }

    /// Checks that a final outcome the flow returned agrees with the truth now.
    fn check_now(&self, s: &ystpay::Settlement, problems: &mut Vec<String>) {
        *self
            .tally
            .lock()
            .unwrap()
            .entry(format!("{} {}", s.kind, s.outcome))
            .or_default() += 1;
        if s.outcome == Outcome::Unknown {
            return;
        }
        let rec = self
            .payments
            .journal()
            .get(&self.account, &s.req_seq)
            .unwrap()
            .unwrap();
        if rec.state.is_open() && s.journal_error.is_none() {
            problems.push(format!(
                "{}: outcome {} but journal {}",
                s.req_seq, s.outcome, rec.state
            ));
        }
        if rec.kind != OpKind::Refund {
            let truth = self.ctl.order("demo", &s.req_seq);
            if let Err(e) = agrees(&rec, truth.as_ref()) {
                problems.push(format!(
                    "returned {}: {e}; trail {:?}",
                    s.outcome,
                    self.trail(&s.req_seq)
                ));
            }
        }
    }

    /// What the journal recorded of an operation's requests, for a mismatch.
    fn trail(&self, seq: &str) -> Vec<String> {
        let p = &self.payments;
        let rec = p.journal().get(&self.account, seq).unwrap();
        let mut t: Vec<String> = p
            .journal()
            .attempts(&self.account, seq)
            .unwrap()
            .into_iter()
            .map(|a| format!("{}: {}", a.what, a.outcome))
            .collect();
        t.push(format!(
            "journal trans_seq {:?}, platform {:?}",
            rec.and_then(|r| r.trans_seq),
            self.ctl.order("demo", seq).map(|o| o.trans_seq)
        ));
        t
    }

    /// One scenario; returns the problems found (empty = all agree).
    fn scenario(&self, seed: u64, index: u64) -> Vec<String> {
        let mut rng = Rng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
        let mut problems = Vec::new();
        let mut mine: Vec<String> = Vec::new();
        let p = &self.payments;
        match rng.below(100) {
            // Barcode payments (then refunds and revokes of some).
            0..=79 => {
                let last2 = rng.below(100) as u8;
                let code = if rng.chance(80) {
                    wechat_code(index, last2)
                } else {
                    alipay_code(index, last2)
                };
                let fee = 1 + rng.below(100_000) as i64;
                let token = CancelToken::new();
                let deadline = match rng.below(10) {
                    0..=1 => Some(Duration::from_millis(rng.below(120))),
                    _ => None,
                };
                let cancel_after = rng
                    .chance(10)
                    .then(|| Duration::from_millis(rng.below(150)));
                self.plan(random_plan(&mut rng));
                self.network(random_outage(&mut rng));
                let esc = EscAt {
                    token: token.clone(),
                    ..EscAt::new(&mut rng)
                };
                let on_step = |p: &Progress| esc.step(p);
                let opts = SettleOptions {
                    cancel: Some(&token),
                    deadline,
                    progress: Some(&on_step),
                    ..SettleOptions::default()
                };
                let presser = cancel_after.map(|d| {
                    let t = token.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(d);
                        t.cancel();
                    })
                });
                let s = p.settle_pay(&PayOrder::new(fee, code), &opts).unwrap();
                if let Some(h) = presser {
                    h.join().unwrap();
                }
                mine.push(s.req_seq.clone());
                self.check_now(&s, &mut problems);
                if s.outcome == Outcome::Paid {
                    self.after_paid(&mut rng, &s, fee, &mut problems);
                }
            }
            // A flow killed mid-operation, recovered at once by another.
            80..=85 => self.killed_then_recovered(&mut rng, index, &mut mine, &mut problems),
            // A serial the platform holds paid, used again for another amount.
            86..=89 => self.serial_used_twice(&mut rng, index, &mut mine, &mut problems),
            // Native / JS / H5 orders.
            _ => {
                let channel = if rng.chance(50) {
                    Channel::WeChat
                } else {
                    Channel::Alipay
                };
                let spec = match rng.below(3) {
                    0 => OrderSpec::Native {
                        expire_secs: Some(300),
                    },
                    1 => OrderSpec::Js {
                        subopen_id: format!("user{index}"),
                    },
                    _ => OrderSpec::H5 {
                        ip: Some("125.71.132.197".into()),
                        redirect_url: "https://shop.example/back".into(),
                    },
                };
                let order = NewOrder {
                    total_fee: 1 + rng.below(50_000) as i64,
                    channel,
                    spec,
                };
                self.plan(random_plan(&mut rng));
                self.network(random_outage(&mut rng));
                let esc = EscAt::new(&mut rng);
                let on_step = |p: &Progress| esc.step(p);
                let create_opts = SettleOptions {
                    cancel: Some(&esc.token),
                    progress: Some(&on_step),
                    ..SettleOptions::default()
                };
                let start = p.create_order(&order, &create_opts).unwrap();
                match start {
                    OrderStart::Ended(s) => {
                        mine.push(s.req_seq.clone());
                        self.check_now(&s, &mut problems);
                    }
                    OrderStart::Waiting(t) => {
                        mine.push(t.req_seq.clone());
                        let pays = rng
                            .chance(60)
                            .then(|| Duration::from_millis(rng.below(150)));
                        let ctl = self.ctl.clone();
                        let seq = t.req_seq.clone();
                        let payer = pays.map(|d| {
                            std::thread::spawn(move || {
                                std::thread::sleep(d);
                                let _ = ctl.customer_pays("demo", &seq);
                            })
                        });
                        self.plan(random_plan(&mut rng));
                        self.network(random_outage(&mut rng));
                        let esc = EscAt::new(&mut rng);
                        let on_step = |p: &Progress| esc.step(p);
                        let opts = SettleOptions {
                            deadline: Some(Duration::from_millis(100)),
                            cancel: Some(&esc.token),
                            progress: Some(&on_step),
                            ..SettleOptions::default()
                        };
                        let s = p.await_order(&t.req_seq, &opts).unwrap();
                        if let Some(h) = payer {
                            h.join().unwrap();
                        }
                        self.check_now(&s, &mut problems);
                        if s.outcome == Outcome::Paid && rng.chance(30) {
                            self.plan(random_plan(&mut rng));
                            let fee = order.total_fee;
                            let r = p
                                .settle_refund(&s.req_seq, fee, "退货", &SettleOptions::default())
                                .unwrap();
                            self.check_now(&r, &mut problems);
                        }
                    }
                }
            }
        }
        // The platform is reachable again: recovery leaves nothing open. It
        // runs on start and on demand; on a loaded machine (answers slower
        // than the scaled deadlines) a second round may be needed. A fault
        // queued for a request that never reached the simulator (its
        // connection failed under load) would otherwise still be waiting.
        self.plan(VecDeque::new());
        self.network(None);
        self.ctl.clear_faults();
        let mut report = p.recover(&SettleOptions::default()).unwrap();
        let mut rounds = 1;
        while rounds < 3 && !report.still_open.iter().all(|r| r.kind.is_order()) {
            report = p.recover(&SettleOptions::default()).unwrap();
            rounds += 1;
        }
        self.tally
            .lock()
            .unwrap()
            .entry(format!("recovery rounds {rounds}"))
            .or_default()
            .add_assign(1);
        for rec in &report.still_open {
            // A native/JS/H5 order not yet expired may rightly wait for the
            // customer; the cashier gives up on it here.
            if rec.kind.is_order() && rec.state == OpState::Waiting {
                let s = p
                    .close_order(&rec.req_seq, &SettleOptions::default())
                    .unwrap();
                self.check_now(&s, &mut problems);
            }
        }
        let journal = p.journal();
        for seq in &mine {
            let rec = journal.get(&self.account, seq).unwrap().unwrap();
            if rec.state.is_open() {
                problems.push(format!(
                    "{seq} still {} after recovery: {}; last report {:?}; trail {:?}",
                    rec.state,
                    rec.detail,
                    report.ops.iter().find(|o| &o.req_seq == seq),
                    self.trail(seq)
                ));
                continue;
            }
            if let Err(e) = agrees(&rec, self.ctl.order("demo", seq).as_ref()) {
                problems.push(format!("{e}; trail {:?}", self.trail(seq)));
            }
            for r in journal.refunds_of(&self.account, seq).unwrap() {
                if r.state.is_open() {
                    let trail: Vec<String> = journal
                        .attempts(&self.account, &r.req_seq)
                        .unwrap()
                        .into_iter()
                        .map(|a| format!("{}: {}", a.what, a.outcome))
                        .collect();
                    problems.push(format!(
                        "refund {} still {} ({}): {trail:?}",
                        r.req_seq, r.state, r.detail
                    ));
                }
            }
        }
        problems
    }

    /// A second flow of this register (another `Payments` on the same
    /// journal, with its own owner) pays or creates an order and is killed
    /// at a random request; this worker's flow recovers at once.
    fn killed_then_recovered(
        &self,
        rng: &mut Rng,
        index: u64,
        mine: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) {
        let client = Client::with_transport(&self.config, self.transport.clone()).unwrap();
        // Another program on the same journal file: its own handle and owner.
        let path = self.payments.journal().path().unwrap().to_path_buf();
        let victim = Payments::new(
            Arc::new(client),
            Arc::new(Journal::open(path).unwrap()),
            flow_config(SCALE),
        )
        .unwrap();
        let native = rng.chance(25);
        let last2 = [0u8, 50, 55, 62, 81, 95][rng.below(6) as usize];
        let code = wechat_code(index, last2);
        let fee = 1 + rng.below(100_000) as i64;
        self.plan(random_plan(rng));
        *self.transport.kill.lock().unwrap() = Some(Kill {
            at: rng.below(4) as u32,
            after_answer: rng.chance(50),
        });
        let before: std::collections::HashSet<String> = self
            .payments
            .journal()
            .open_ops(&self.account)
            .unwrap()
            .into_iter()
            .map(|o| o.req_seq)
            .collect();
        let ended = std::thread::spawn(move || {
            if native {
                let order = NewOrder {
                    total_fee: fee,
                    channel: Channel::WeChat,
                    spec: OrderSpec::Native {
                        expire_secs: Some(300),
                    },
                };
                let opts = SettleOptions {
                    deadline: Some(Duration::from_millis(60)),
                    ..SettleOptions::default()
                };
                victim.settle_order(&order, &opts).map(|s| s.req_seq)
            } else {
                victim
                    .settle_pay(&PayOrder::new(fee, code), &SettleOptions::default())
                    .map(|s| s.req_seq)
            }
        })
        .join();
        *self.transport.kill.lock().unwrap() = None;
        match ended {
            // Not killed: it ran out of requests first (paid at once).
            Ok(r) => mine.push(r.unwrap()),
            Err(panic) => {
                assert_eq!(panic.downcast_ref::<&str>(), Some(&KILLED));
                *self
                    .tally
                    .lock()
                    .unwrap()
                    .entry("killed".into())
                    .or_default() += 1;
            }
        }
        // What the dead flow left open; recovery must take it at once.
        let left: Vec<String> = self
            .payments
            .journal()
            .open_ops(&self.account)
            .unwrap()
            .into_iter()
            .map(|o| o.req_seq)
            .filter(|s| !before.contains(s))
            .collect();
        // The dead flow may have been sent an order number it never read:
        // an answer naming another one then cannot be told from the truth
        // (the simulator's WrongOrder only lies about numbers it told).
        self.plan(random_plan(rng).into_iter().map(|f| match f {
            Some(Fault::WrongOrder) => Some(Fault::WrongAmount),
            other => other,
        }));
        let report = self.payments.recover(&SettleOptions::default()).unwrap();
        for b in &report.busy_elsewhere {
            if left.contains(&b.req_seq) {
                problems.push(format!("{} left to a dead flow", b.req_seq));
            }
        }
        for seq in &left {
            if !report.ops.iter().any(|o| &o.req_seq == seq) {
                problems.push(format!("recovery did not list {seq}"));
            }
        }
        mine.extend(left);
    }

    /// A journal restored from an old backup no longer holds a paid
    /// payment, and the register pays another customer, for another
    /// amount, under the same serial. Never PAID: UNKNOWN, in conflict,
    /// and the first customer's payment stays as it was.
    fn serial_used_twice(
        &self,
        rng: &mut Rng,
        index: u64,
        mine: &mut Vec<String>,
        problems: &mut Vec<String>,
    ) {
        let fee = 2 + rng.below(100_000) as i64;
        self.plan(VecDeque::new());
        let first = self
            .payments
            .settle_pay(
                &PayOrder::new(fee, wechat_code(index, 1)),
                &SettleOptions::default(),
            )
            .unwrap();
        mine.push(first.req_seq.clone());
        self.check_now(&first, problems);
        if first.outcome != Outcome::Paid {
            return;
        }
        let restored = Arc::new(Journal::open_in_memory().unwrap());
        let client = Client::with_transport(&self.config, self.transport.clone()).unwrap();
        let register =
            Payments::new(Arc::new(client), restored.clone(), flow_config(SCALE)).unwrap();
        let other = if rng.chance(50) {
            fee - 1
        } else {
            fee + 1 + rng.below(1000) as i64
        };
        let last2 = [0u8, 53, 81, 95][rng.below(4) as usize];
        // Answers must get through before the deadline: a revoke sent at
        // the deadline without one would revoke the first customer's
        // payment under the shared serial (docs/DESIGN.md, "Serials").
        self.plan(mild_plan(rng));
        let s = register
            .settle_pay_as(
                Some(&first.req_seq),
                &PayOrder::new(other, alipay_code(index, last2)),
                &SettleOptions::default(),
            )
            .unwrap();
        *self
            .tally
            .lock()
            .unwrap()
            .entry(format!("serial used twice: {}", s.outcome))
            .or_default() += 1;
        if s.outcome != Outcome::Unknown {
            problems.push(format!(
                "a serial used twice for {other} fen (platform holds {fee}) ended {}: {}",
                s.outcome, s.detail
            ));
        }
        let rec = restored.get(&self.account, &s.req_seq).unwrap().unwrap();
        if rec.state != OpState::Conflict && rec.state.is_open() {
            // Unreachable until its deadline: recovery must then find the conflict.
            self.plan(VecDeque::new());
            register.recover(&SettleOptions::default()).unwrap();
        }
        let rec = restored.get(&self.account, &s.req_seq).unwrap().unwrap();
        if rec.state != OpState::Conflict || rec.trans_seq.is_some() {
            problems.push(format!(
                "serial used twice: the restored journal says {} ({}), trans_seq {:?}",
                rec.state, rec.detail, rec.trans_seq
            ));
        }
        match self.ctl.order("demo", &first.req_seq) {
            Some(t) if t.total_fee == fee && t.status == ystpay_sim::TrueStatus::Paid => {}
            t => problems.push(format!("the first customer's payment changed: {t:?}")),
        }
    }

    /// Refunds (some too large, refused locally) and revokes of a paid payment.
    fn after_paid(
        &self,
        rng: &mut Rng,
        s: &ystpay::Settlement,
        fee: i64,
        problems: &mut Vec<String>,
    ) {
        let p = &self.payments;
        let mut left = fee;
        for _ in 0..rng.below(3) {
            if left == 0 {
                break;
            }
            let over = rng.chance(15);
            let amount = if over {
                left + 1 + rng.below(100) as i64
            } else {
                1 + rng.below(left as u64) as i64
            };
            self.plan(random_plan(rng));
            self.network(random_outage(rng));
            let esc = EscAt::new(rng);
            let on_step = |p: &Progress| esc.step(p);
            let opts = SettleOptions {
                cancel: Some(&esc.token),
                progress: Some(&on_step),
                ..SettleOptions::default()
            };
            let before = self.ctl.request_count();
            match p.settle_refund(&s.req_seq, amount, "顾客退货", &opts) {
                Ok(r) => {
                    if over {
                        problems.push(format!("refund over the amount accepted: {r:?}"));
                    }
                    self.check_now(&r, problems);
                    if !matches!(r.outcome, Outcome::Failed | Outcome::NotSent) {
                        left -= amount;
                    }
                }
                Err(FlowError::Journal(JournalError::RefundExceedsPaid { .. })) if over => {
                    if self.ctl.request_count() != before {
                        problems.push("a locally refused refund reached the platform".into());
                    }
                }
                Err(e) => problems.push(format!("refund error: {e}")),
            }
        }
        if rng.chance(15) {
            self.plan(random_plan(rng));
            self.network(random_outage(rng));
            let r = p
                .revoke_payment(&s.req_seq, &SettleOptions::default())
                .unwrap();
            self.check_now(&r, problems);
        }
        // The platform never returns more than was paid.
        if let Some(t) = self.ctl.order("demo", &s.req_seq) {
            if t.refunded_fee > t.total_fee {
                problems.push(format!(
                    "{}: refunded {} of {}",
                    s.req_seq, t.refunded_fee, t.total_fee
                ));
            }
        }
    }
}

/// Every serial the journal saw go out: an operation's own (sent again on
/// retries), its revoke's (sent again on retries), and each query's. None
/// may belong to two operations, and no query's may have gone out twice.
fn serials_issued_twice(journal: &Journal) -> Vec<String> {
    use std::collections::HashMap;
    let mut owner: HashMap<(String, String), String> = HashMap::new();
    let mut problems = Vec::new();
    let mut claim = |account: &str, serial: &str, op: &str, problems: &mut Vec<String>| {
        let key = (account.to_string(), serial.to_string());
        match owner.get(&key) {
            Some(o) if o != op => problems.push(format!("serial {serial} issued for {o} and {op}")),
            Some(_) => {}
            None => {
                owner.insert(key, op.to_string());
            }
        }
    };
    for op in journal.all_ops().unwrap() {
        claim(&op.account, &op.req_seq, &op.req_seq, &mut problems);
        if let Some(r) = &op.revoke_seq {
            claim(&op.account, r, &op.req_seq, &mut problems);
        }
        let mut queries = std::collections::HashSet::new();
        for a in journal.attempts(&op.account, &op.req_seq).unwrap() {
            claim(&op.account, &a.req_seq, &op.req_seq, &mut problems);
            if a.what.starts_with("query") && !queries.insert(a.req_seq.clone()) {
                problems.push(format!("query serial {} sent twice", a.req_seq));
            }
        }
    }
    problems
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn randomized_faults_end_with_the_platforms_truth() {
    let total = env_u64("YSTPAY_FAULT_SCENARIOS", 2000) as usize;
    let seed = env_u64("YSTPAY_FAULT_SEED", 0x5EED_2026);
    let only = std::env::var("YSTPAY_FAULT_ONLY")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let dir = temp_dir("fault-suite");
    let path = dir.join("journal.db");
    let started = Instant::now();
    // A killed flow's panic is the simulated kill, not news.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&KILLED) {
            default_hook(info);
        }
    }));
    // The library's wall clock steps back and forward while the workers
    // pay: by a second, five minutes, an hour, a day; now and then it is
    // set right again.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stepper = {
        let stop = stop.clone();
        let mut rng = Rng::new(seed ^ 0xC10C);
        std::thread::spawn(move || {
            let mut steps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5 + rng.below(60)));
                let delta = match rng.below(9) {
                    0 => -1_000,
                    1 => 1_000,
                    2 => -300_000,
                    3 => 300_000,
                    4 => -3_600_000,
                    5 => 3_600_000,
                    6 => -86_400_000,
                    7 => 86_400_000,
                    _ => -ystpay::time::testing::clock_offset_ms(),
                };
                ystpay::time::testing::step_clock(delta);
                steps += 1;
            }
            ystpay::time::testing::step_clock(-ystpay::time::testing::clock_offset_ms());
            steps
        })
    };
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let next = next.clone();
            let failures = failures.clone();
            let path = path.clone();
            std::thread::spawn(move || {
                // Every worker opens the same journal file: concurrent writers.
                let journal = Arc::new(Journal::open(&path).unwrap());
                let worker = Worker::new(w, journal);
                let mut ran = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let index = only.unwrap_or(i as u64);
                    let problems = worker.scenario(seed, index);
                    ran += 1;
                    if !problems.is_empty() {
                        let mut f = failures.lock().unwrap();
                        for p in problems {
                            f.push(format!("seed {seed:#x} scenario {index}: {p}"));
                        }
                    }
                }
                let tally = worker.tally.lock().unwrap().clone();
                (ran, tally)
            })
        })
        .collect();
    let mut ran = 0usize;
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for h in handles {
        let (n, t) = h.join().unwrap();
        ran += n;
        for (k, v) in t {
            *tally.entry(k).or_default() += v;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let clock_steps = stepper.join().unwrap();
    let mut failures = failures.lock().unwrap().clone();
    let journal = Journal::open(&path).unwrap();
    failures.extend(serials_issued_twice(&journal));
    let ops = journal.all_ops().unwrap();
    let by_state = |s: OpState| ops.iter().filter(|o| o.state == s).count();
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "fault suite: seed {seed:#x}, {WORKERS} workers, {:.1} s; operations: {} \
         (paid {}, refunded {}, failed {}, revoked {}, closed {}, open {})",
        started.elapsed().as_secs_f64(),
        ops.len(),
        by_state(OpState::Paid),
        by_state(OpState::Refunded),
        by_state(OpState::Failed),
        by_state(OpState::Revoked),
        by_state(OpState::Closed),
        ops.iter().filter(|o| o.state.is_open()).count(),
    );
    let _ = writeln!(err, "returned outcomes: {tally:?}");
    let _ = writeln!(err, "clock steps: {clock_steps}");
    let _ = writeln!(err, "scenarios run: {ran}, mismatches: {}", failures.len());
    for f in failures.iter().take(30) {
        let _ = writeln!(err, "  {f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ran, total);
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}
