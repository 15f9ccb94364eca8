//! Whole business operations that end with the truth: pay-and-settle,
//! refund, native/JS/H5 orders, recovery and notices.
//!
//! [`Payments`] ties a [`Client`] to a [`Journal`]. Every operation is
//! written to the journal before its first request leaves and updated with
//! every answer, and every call returns one of four [`Outcome`]s:
//!
//! | outcome | meaning |
//! |---|---|
//! | [`Outcome::Paid`] | the money was taken (for a refund: returned) |
//! | [`Outcome::Failed`] | the platform said so explicitly (`F`, or a refusal it confirmed by having no such order); no money moved |
//! | [`Outcome::Revoked`] | this register revoked it: the money was returned or never taken |
//! | [`Outcome::Unknown`] | the platform could not be reached until the deadline; the journal keeps the operation open and [`Payments::recover`] settles it later |
//!
//! The discipline (DESIGN.md, "Paying safely"):
//! - `W` (customer entering a password): query on an adaptive
//!   [`PollSchedule`] until paid, failed or the deadline; then revoke, and
//!   retry the revoke on failure.
//! - A timeout, a dropped connection, an unverifiable or malformed answer,
//!   or `result=N` without an explicit `F`: query before concluding. FAILED
//!   only when the platform said so.
//! - Retries reuse the same `req_seq` (the platform treats a repeat as the
//!   same operation), and a revoke keeps its own serial across retries and
//!   restarts.
//! - Recovery resolves every open operation: query, then revoke where a
//!   payment is still unclear.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::client::{Client, ReceivedNotice};
use crate::error::{Error, Refusal};
use crate::journal::{now_ms, Journal, JournalError, NewOp, OpKind, OpRecord, OpState, OpUpdate};
use crate::protocol::messages::{
    H5PayRequest, JsPayRequest, NativePayRequest, NativePayResponse, NativeQueryRequest,
    PayRequest, PayResponse, QueryPayRequest, QueryRefundRequest, RefundRequest, RefundResponse,
    Request, RevokeRequest,
};
use crate::protocol::{Channel, PaymentCode, ProdItem, Status};

// ------------------------------------------------------------------ config

/// When to ask again while waiting: `first`, then each interval `factor`
/// times the previous one, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    /// The first wait.
    pub first: Duration,
    /// Growth per step (1.0 = fixed interval).
    pub factor: f64,
    /// The longest wait.
    pub max: Duration,
}

impl PollSchedule {
    /// The default for a customer entering a password: 0.6 s, growing by
    /// 15 % each time, capped at 8 s (0.6, 0.69, 0.79, … 8, 8). It asks often
    /// while most passwords are entered (the first 10–15 s) and rarely
    /// after: 19 queries in 60 s of waiting, and a modelled median detection
    /// delay of about 0.6 s for passwords entered within 10 s
    /// (`cargo bench --bench detection` measures it against the simulator).
    pub const ADAPTIVE: PollSchedule = PollSchedule {
        first: Duration::from_millis(600),
        factor: 1.15,
        max: Duration::from_secs(8),
    };

    /// The number of asks this schedule makes in `window` of waiting.
    pub fn asks_within(&self, window: Duration) -> u32 {
        let mut t = Duration::ZERO;
        let mut n = 0;
        loop {
            let step = self.interval(n);
            if step.is_zero() {
                return u32::MAX;
            }
            t += step;
            if t > window {
                return n;
            }
            n += 1;
        }
    }

    /// A fixed interval (what the usual POS DLLs do, e.g. 5 s).
    pub fn fixed(every: Duration) -> PollSchedule {
        PollSchedule {
            first: every,
            factor: 1.0,
            max: every,
        }
    }

    /// The wait before ask number `n` (0-based).
    pub fn interval(&self, n: u32) -> Duration {
        let grown = self.first.as_secs_f64() * self.factor.max(1.0).powi(n.min(64) as i32);
        let capped = grown.min(self.max.as_secs_f64()).max(0.0);
        Duration::from_secs_f64(capped)
    }

    /// Every interval multiplied by `k` (tests and benchmarks run on a
    /// simulator whose time is sped up).
    pub fn scaled(&self, k: f64) -> PollSchedule {
        PollSchedule {
            first: self.first.mul_f64(k),
            factor: self.factor,
            max: self.max.mul_f64(k),
        }
    }
}

/// Timing of the flows. Every duration can be shortened together with
/// [`FlowConfig::scaled`] for tests against a sped-up simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    /// From the first send of a barcode payment until it is revoked if
    /// still not paid (WeChat closes unpaid codes after about 45 s; Alipay
    /// F2F waits 25 s + cancel). Default 50 s.
    pub pay_deadline: Duration,
    /// When to query while the customer pays or an answer was unclear.
    pub poll: PollSchedule,
    /// When to retry a request that failed to get an answer (resending a
    /// payment that never arrived, a revoke, a refund).
    pub retry: PollSchedule,
    /// How long to keep retrying a revoke before giving up with
    /// [`Outcome::Unknown`] (the journal keeps it; recovery goes on). Default 30 s.
    pub revoke_deadline: Duration,
    /// How long a refund is retried and queried. Default 30 s.
    pub refund_deadline: Duration,
    /// How long creating a native/JS/H5 order is retried. Default 20 s.
    pub create_deadline: Duration,
    /// When waiting for a native/JS/H5 order: how often to query.
    pub order_poll: PollSchedule,
    /// Per open operation in [`Payments::recover`]: how long to try. Default 20 s.
    pub recover_deadline: Duration,
    /// How long another process leaves an operation alone after this flow
    /// last touched it. Must exceed the client's read timeout plus the
    /// longest poll interval. Default 45 s.
    pub lease: Duration,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            pay_deadline: Duration::from_secs(50),
            poll: PollSchedule::ADAPTIVE,
            retry: PollSchedule {
                first: Duration::from_millis(500),
                factor: 2.0,
                max: Duration::from_secs(4),
            },
            revoke_deadline: Duration::from_secs(30),
            refund_deadline: Duration::from_secs(30),
            create_deadline: Duration::from_secs(20),
            order_poll: PollSchedule {
                first: Duration::from_secs(2),
                factor: 1.5,
                max: Duration::from_secs(5),
            },
            recover_deadline: Duration::from_secs(20),
            lease: Duration::from_secs(45),
        }
    }
}

impl FlowConfig {
    /// Every duration multiplied by `k` (e.g. `0.01` against a simulator
    /// running at `time_scale = 100`).
    pub fn scaled(&self, k: f64) -> FlowConfig {
        FlowConfig {
            pay_deadline: self.pay_deadline.mul_f64(k),
            poll: self.poll.scaled(k),
            retry: self.retry.scaled(k),
            revoke_deadline: self.revoke_deadline.mul_f64(k),
            refund_deadline: self.refund_deadline.mul_f64(k),
            create_deadline: self.create_deadline.mul_f64(k),
            order_poll: self.order_poll.scaled(k),
            recover_deadline: self.recover_deadline.mul_f64(k),
            lease: self.lease.mul_f64(k),
        }
    }
}

// ------------------------------------------------------------------ cancel / progress

/// Stops a flow from another thread (the cashier's Esc key). Clone it,
/// hand one copy to the flow and keep the other.
///
/// A cancelled payment stops waiting and is revoked at once; a payment the
/// platform already reported paid stays [`Outcome::Paid`]. A request in
/// flight is not interrupted: its answer is read first.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<(Mutex<bool>, Condvar)>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels: wakes the flow if it is waiting.
    pub fn cancel(&self) {
        let (m, c) = &*self.0;
        *m.lock().unwrap_or_else(|p| p.into_inner()) = true;
        c.notify_all();
    }

    /// True once [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits `d` or until cancelled; true when cancelled.
    pub fn wait(&self, d: Duration) -> bool {
        let (m, c) = &*self.0;
        let end = Instant::now() + d;
        let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *g {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            g = c
                .wait_timeout(g, end - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Why a payment is being revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// The deadline passed while the customer had not paid.
    Deadline,
    /// The cashier cancelled.
    Cancelled,
    /// The platform refused and has no such order: the revoke makes sure
    /// nothing can be taken later under this serial.
    Refused,
    /// Recovery found the payment still unclear or waiting.
    Recovery,
    /// Asked for explicitly ([`Payments::revoke_payment`], [`Payments::close_order`]).
    Requested,
}

/// What a flow is doing, for the POS screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The request is on its way.
    Sending {
        /// Which operation.
        kind: OpKind,
        /// Its `req_seq` (recorded in the journal already).
        req_seq: String,
    },
    /// The platform says the customer is still paying (entering the
    /// password, or has not scanned the QR code yet).
    WaitingForCustomer {
        /// Time since the first send.
        elapsed: Duration,
        /// Time left before the payment is revoked (or the order closed).
        remaining: Duration,
    },
    /// A native/JS/H5 order is ready: show this URL as a QR code (or hand
    /// it to the customer's browser).
    ShowCode {
        /// `pay_url` (native, JS prepay id) or `pay_info` (H5).
        pay_url: String,
    },
    /// Asking the platform how an unclear request ended.
    Querying {
        /// How many queries so far, this one included.
        attempt: u32,
    },
    /// Sending the same request again (same `req_seq`): the last one may not
    /// have arrived.
    Resending {
        /// How many resends so far, this one included.
        attempt: u32,
    },
    /// Revoking the payment.
    Revoking {
        /// Why.
        reason: RevokeReason,
        /// How many revoke requests so far, this one included.
        attempt: u32,
    },
    /// The flow ended.
    Finished {
        /// How.
        outcome: Outcome,
    },
}

/// Per-call options: where progress goes, how to cancel, another deadline.
#[derive(Default, Clone, Copy)]
pub struct SettleOptions<'a> {
    /// Called on every step, on the calling thread.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Cancels the wait from another thread.
    pub cancel: Option<&'a CancelToken>,
    /// Replaces the configured deadline (payment: `pay_deadline`; order:
    /// how long to wait for the customer).
    pub deadline: Option<Duration>,
}

impl std::fmt::Debug for SettleOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettleOptions")
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .field("deadline", &self.deadline)
            .finish()
    }
}

// ------------------------------------------------------------------ results

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Paid (a refund: refunded).
    Paid,
    /// The platform said it failed; nothing moved.
    Failed,
    /// Revoked or closed by this register; the money was returned or never taken.
    Revoked,
    /// Unreachable until the deadline; the journal keeps it open.
    Unknown,
}

impl Outcome {
    /// `PAID`, `FAILED`, `REVOKED` or `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "PAID",
            Outcome::Failed => "FAILED",
            Outcome::Revoked => "REVOKED",
            Outcome::Unknown => "UNKNOWN",
        }
    }

    /// The outcome a journal state stands for.
    pub fn of_state(state: OpState) -> Outcome {
        match state {
            OpState::Paid | OpState::Refunded => Outcome::Paid,
            OpState::Failed | OpState::Closed => Outcome::Failed,
            OpState::Revoked => Outcome::Revoked,
            OpState::Pending | OpState::Waiting | OpState::Revoking | OpState::Unknown => {
                Outcome::Unknown
            }
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The end of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// How it ended.
    pub outcome: Outcome,
    /// Its state in the journal now.
    pub state: OpState,
    /// What it was.
    pub kind: OpKind,
    /// Its `req_seq` (the journal's key).
    pub req_seq: String,
    /// The platform's order number, once known (a refund: the refunded order's).
    pub trans_seq: Option<String>,
    /// Amount in fen.
    pub total_fee: i64,
    /// Channel letter, once known.
    pub channel: Option<String>,
    /// For a refund: the platform's refund number.
    pub refund_seq: Option<String>,
    /// `pay_time` from the platform, when paid.
    pub pay_time: Option<String>,
    /// Receipt lines to print, when the platform sent them.
    pub receipts: Vec<String>,
    /// The platform's code of the deciding answer, if any.
    pub code: Option<String>,
    /// In words: the platform's message, or why the flow ended.
    pub detail: String,
    /// The journal could not be updated at the end (the operation stays
    /// open there; recovery settles it). The outcome is still true.
    pub journal_error: Option<JournalError>,
}

/// A failure before anything was sent (or a journal refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowError {
    /// The request is invalid or the client misconfigured; nothing sent.
    Client(Error),
    /// The journal refused or failed; nothing sent.
    Journal(JournalError),
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowError::Client(e) => e.fmt(f),
            FlowError::Journal(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FlowError {}

impl From<JournalError> for FlowError {
    fn from(e: JournalError) -> Self {
        FlowError::Journal(e)
    }
}

impl From<Error> for FlowError {
    fn from(e: Error) -> Self {
        FlowError::Client(e)
    }
}

impl From<crate::protocol::FieldError> for FlowError {
    fn from(e: crate::protocol::FieldError) -> Self {
        FlowError::Client(Error::InvalidInput(e))
    }
}

/// A barcode payment to settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOrder {
    /// Amount in fen.
    pub total_fee: i64,
    /// The scanned payment code (stored masked in the journal).
    pub auth_code: PaymentCode,
    /// Force a channel (`W`, `A`, `Q`); `None` lets the platform choose.
    pub channel: Option<Channel>,
    /// Product lines.
    pub prod_details: Vec<ProdItem>,
}

impl PayOrder {
    /// A payment of `total_fee` fen with `auth_code`.
    pub fn new(total_fee: i64, auth_code: impl Into<PaymentCode>) -> PayOrder {
        PayOrder {
            total_fee,
            auth_code: auth_code.into(),
            channel: None,
            prod_details: Vec::new(),
        }
    }
}

/// Which kind of customer-paid order to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderSpec {
    /// 5.1 QR code; `expire_secs` 300–1800 (platform default 300).
    Native {
        /// Seconds the code stays payable.
        expire_secs: Option<i64>,
    },
    /// 6.1 JS payment in the WeChat/Alipay app.
    Js {
        /// WeChat openID / Alipay userID.
        subopen_id: String,
    },
    /// 7.1 H5 payment from a phone browser.
    H5 {
        /// The customer's public IPv4 (required for WeChat).
        ip: Option<String>,
        /// Where the browser returns.
        redirect_url: String,
    },
}

/// A native/JS/H5 order to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Amount in fen.
    pub total_fee: i64,
    /// `W` or `A`.
    pub channel: Channel,
    /// Which kind.
    pub spec: OrderSpec,
}

/// A created native/JS/H5 order, waiting for the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTicket {
    /// Its `req_seq`.
    pub req_seq: String,
    /// The platform's order number.
    pub trans_seq: Option<String>,
    /// Native: the QR code's URL; JS: the prepay id; H5: the `pay_info` URL.
    pub pay_url: Option<String>,
    /// JS: the JSON to pass to the WeChat/Alipay JS API.
    pub signature_info: Option<String>,
    /// When it stops being payable (Unix ms).
    pub expires_ms: i64,
}

/// What creating an order gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStart {
    /// Created and waiting for the customer.
    Waiting(OrderTicket),
    /// Ended already (refused, or could not be created and was closed).
    Ended(Settlement),
}

/// What [`Payments::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Operations settled now.
    pub settled: Vec<Settlement>,
    /// Operations still open: unreachable platform, or a native/JS/H5
    /// order the customer may still pay, or a refund still in progress.
    pub still_open: Vec<OpRecord>,
    /// Operations left alone because another flow is driving them.
    pub busy_elsewhere: Vec<OpRecord>,
}

/// What to do with a received notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeHandled {
    /// The body to answer the platform with (`Y` stops its retries; `N`
    /// asks it to send again).
    pub reply: String,
    /// True when the reply is `Y`.
    pub accepted: bool,
    /// The paid order, the first time only (repeats are answered `Y` and
    /// not reported again).
    pub report: Option<PaidNotice>,
    /// Why the notice was not accepted, or what was odd about it.
    pub detail: String,
}

/// A confirmed payment learned from a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidNotice {
    /// The order's `req_seq`.
    pub req_seq: String,
    /// The platform's order number.
    pub trans_seq: String,
    /// Amount in fen, when given.
    pub total_fee: Option<i64>,
    /// Channel letter.
    pub channel: Option<String>,
    /// True when the journal holds this order (created by this library).
    pub in_journal: bool,
}

// ------------------------------------------------------------------ crash points

/// Test-only crash points: with the `crash-points` feature and
/// `YSTPAY_CRASH_AT=<name>` in the environment, the process prints
/// `YSTPAY-CRASH-POINT <name>` on stdout when it reaches that point and
/// stops there, waiting to be killed (after 60 s it aborts by itself).
#[cfg(feature = "crash-points")]
fn crash_point(name: &str) {
    use std::io::Write;
    if std::env::var("YSTPAY_CRASH_AT").ok().as_deref() == Some(name) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "YSTPAY-CRASH-POINT {name}");
        let _ = out.flush();
        drop(out);
        std::thread::sleep(Duration::from_secs(60));
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
fn crash_point(_name: &str) {}

// ------------------------------------------------------------------ payments

/// The payment flows over one client and one journal.
pub struct Payments {
    client: Arc<Client>,
    journal: Arc<Journal>,
    config: FlowConfig,
    owner: String,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("client", &self.client)
            .field("journal", &self.journal)
            .field("owner", &self.owner)
            .finish()
    }
}

static OWNER_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_owner_id() -> String {
    let mut b = [0u8; 8];
    let r = getrandom::getrandom(&mut b)
        .map(|_| u64::from_le_bytes(b))
        .unwrap_or_else(|_| now_ms() as u64);
    format!(
        "{}-{:016x}-{}",
        std::process::id(),
        r,
        OWNER_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The channel a payment code belongs to by its well-known prefix: WeChat
/// codes are 18 digits starting 10–15, Alipay codes 16–24 digits starting
/// 25–30. `None` for anything else.
pub fn channel_of_code(code: &str) -> Option<Channel> {
    let b = code.as_bytes();
    if b.len() < 2 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let prefix = (b[0] - b'0') * 10 + (b[1] - b'0');
    match (prefix, b.len()) {
        (10..=15, 18) => Some(Channel::WeChat),
        (25..=30, 16..=24) => Some(Channel::Alipay),
        _ => None,
    }
}

/// What one answer about a payment or order says.
enum Seen {
    /// `S`.
    Paid(Box<Facts>),
    /// Explicit `F`.
    Failed(Box<Facts>),
    /// `W`.
    Waiting(Box<Facts>),
    /// `result=N` without a status: the platform refused (busy, no such
    /// order, …) without saying the order failed.
    RefusedBare(Refusal),
    /// Nothing certainly reached the platform.
    NotSent(String),
    /// Sent, no usable answer (timeout, drop, HTTP error, bad signature,
    /// malformed, or an answer without a usable status).
    Unclear(String),
}

/// The fields the flow keeps from an answer.
#[derive(Default)]
struct Facts {
    trans_seq: Option<String>,
    channel: Option<String>,
    pay_time: Option<String>,
    receipts: Vec<String>,
    pay_url: Option<String>,
    signature_info: Option<String>,
    code: Option<String>,
    msg: String,
}

impl Facts {
    fn from_pay(r: PayResponse) -> Facts {
        Facts {
            trans_seq: r.trans_seq,
            channel: r.channel.map(|c| c.code().to_string()),
            pay_time: r.pay_time,
            receipts: r.receipts,
            pay_url: None,
            signature_info: None,
            code: r.head.code,
            msg: r.head.msg.unwrap_or_default(),
        }
    }

    fn from_native(r: NativePayResponse) -> Facts {
        Facts {
            trans_seq: r.trans_seq,
            channel: r.channel.map(|c| c.code().to_string()),
            pay_time: r.pay_time,
            receipts: r.receipts,
            pay_url: r.pay_url,
            signature_info: None,
            code: r.head.code,
            msg: r.head.msg.unwrap_or_default(),
        }
    }

    fn from_refusal(r: &Refusal) -> Facts {
        Facts {
            trans_seq: r.trans_seq.clone(),
            code: Some(r.code.clone()),
            msg: r.msg.clone(),
            ..Facts::default()
        }
    }

    fn words(&self) -> String {
        match &self.code {
            Some(c) if !c.is_empty() => format!("{c} {}", self.msg),
            _ => self.msg.clone(),
        }
    }
}

/// Reads an answer about a payment/order by its status.
fn see<R>(r: Result<R, Error>, facts: impl FnOnce(R) -> (Option<Status>, Facts)) -> Seen {
    match r {
        Ok(resp) => {
            let (status, f) = facts(resp);
            match status {
                Some(Status::Success) => Seen::Paid(Box::new(f)),
                Some(Status::Failed) => Seen::Failed(Box::new(f)),
                Some(Status::Waiting) => Seen::Waiting(Box::new(f)),
                Some(Status::Other(s)) => Seen::Unclear(format!("status '{s}': {}", f.words())),
                None => Seen::Unclear(format!("no status: {}", f.words())),
            }
        }
        Err(Error::Refused(r)) => match r.status {
            Some(Status::Failed) => Seen::Failed(Box::new(Facts::from_refusal(&r))),
            _ => Seen::RefusedBare(r),
        },
        Err(e) if e.nothing_sent() => Seen::NotSent(e.to_string()),
        Err(e) => Seen::Unclear(e.to_string()),
    }
}

fn seen_words(s: &Seen) -> String {
    match s {
        Seen::Paid(f) => format!("S {}", f.words()),
        Seen::Failed(f) => format!("F {}", f.words()),
        Seen::Waiting(f) => format!("W {}", f.words()),
        Seen::RefusedBare(r) => format!("N {} {}", r.code, r.msg),
        Seen::NotSent(w) => format!("not sent: {w}"),
        Seen::Unclear(w) => format!("unclear: {w}"),
    }
}

fn pay_facts(r: PayResponse) -> (Option<Status>, Facts) {
    (r.status.clone(), Facts::from_pay(r))
}

fn native_facts(r: NativePayResponse) -> (Option<Status>, Facts) {
    (r.status.clone(), Facts::from_native(r))
}

/// Where a payment stands during the flow.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Sent; the outcome is not known.
    Unclear,
    /// The platform may never have received it: resend (same `req_seq`).
    NotDelivered,
    /// The customer is paying.
    Waiting,
    /// The platform refused without a status; a query decides.
    Refused(Refusal),
}

/// The per-call context: options, journal key, timing.
struct Run<'a> {
    p: &'a Payments,
    opts: SettleOptions<'a>,
    account: String,
    seq: String,
    started: Instant,
    journal_error: Option<JournalError>,
}

impl<'a> Run<'a> {
    fn progress(&self, p: Progress) {
        if let Some(f) = self.opts.progress {
            f(&p);
        }
    }

    fn cancelled(&self) -> bool {
        self.opts.cancel.is_some_and(CancelToken::is_cancelled)
    }

    /// Waits `d`; true when cancelled meanwhile.
    fn wait(&self, d: Duration) -> bool {
        match self.opts.cancel {
            Some(c) => c.wait(d),
            None => {
                std::thread::sleep(d);
                false
            }
        }
    }

    fn lease_until(&self) -> i64 {
        now_ms() + self.p.config.lease.as_millis() as i64
    }

    fn note(&mut self, what: &str, req_seq: &str, outcome: &str) {
        // Also the heartbeat: this flow still drives the operation.
        let lease = self.lease_until();
        let r = self.p.journal.record_attempt(
            &self.account,
            &self.seq,
            what,
            req_seq,
            outcome,
            Some((&self.p.owner, lease)),
        );
        self.keep(r);
    }

    fn set(&mut self, u: OpUpdate) -> Option<OpRecord> {
        match self.p.journal.update(&self.account, &self.seq, &u) {
            Ok(r) => Some(r),
            Err(e) => {
                self.journal_error.get_or_insert(e);
                None
            }
        }
    }

    fn keep<T>(&mut self, r: Result<T, JournalError>) {
        if let Err(e) = r {
            self.journal_error.get_or_insert(e);
        }
    }

    fn record(&self) -> Option<OpRecord> {
        self.p.journal.get(&self.account, &self.seq).ok().flatten()
    }

    /// Ends the run: writes the final state, releases the lease, reports.
    fn finish(mut self, state: OpState, facts: Facts, detail: String) -> Settlement {
        crash_point("answer-before-journal");
        let u = OpUpdate {
            state: Some(state),
            trans_seq: facts.trans_seq.clone(),
            channel: facts.channel.clone(),
            detail: Some(detail.clone()),
            ..OpUpdate::default()
        };
        let rec = self.set(u).or_else(|| self.record());
        let r = self
            .p
            .journal
            .release(&self.account, &self.seq, &self.p.owner);
        self.keep(r);
        let outcome = if state.is_open() {
            Outcome::Unknown
        } else {
            Outcome::of_state(state)
        };
        self.progress(Progress::Finished { outcome });
        let (kind, total_fee, trans_seq, channel, refund_seq) = match &rec {
            Some(r) => (
                r.kind,
                r.total_fee,
                r.trans_seq.clone().or(facts.trans_seq.clone()),
                r.channel.clone().or(facts.channel.clone()),
                r.refund_seq.clone(),
            ),
            None => (OpKind::Pay, 0, facts.trans_seq.clone(), facts.channel, None),
        };
        Settlement {
            outcome,
            state,
            kind,
            req_seq: self.seq.clone(),
            trans_seq,
            total_fee,
            channel,
            refund_seq,
            pay_time: facts.pay_time,
            receipts: facts.receipts,
            code: facts.code,
            detail,
            journal_error: self.journal_error,
        }
    }
}

impl Payments {
    /// The flows over `client` and `journal`. Call [`Payments::recover`]
    /// once on start (or use [`Payments::start`]).
    pub fn new(client: Arc<Client>, journal: Arc<Journal>, config: FlowConfig) -> Payments {
        Payments {
            client,
            journal,
            config,
            owner: new_owner_id(),
        }
    }

    /// The flows, after recovering whatever the journal left open.
    pub fn start(
        client: Arc<Client>,
        journal: Arc<Journal>,
        config: FlowConfig,
    ) -> Result<(Payments, RecoveryReport), FlowError> {
        let p = Payments::new(client, journal, config);
        let report = p.recover(&SettleOptions::default())?;
        Ok((p, report))
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The timing in use.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// Claims an open operation for this flow, or says another drives it.
    fn take(&self, rec: &OpRecord) -> Result<(), FlowError> {
        let lease = now_ms() + self.config.lease.as_millis() as i64;
        if self
            .journal
            .claim(&rec.account, &rec.req_seq, &self.owner, lease)?
        {
            Ok(())
        } else {
            Err(FlowError::Journal(JournalError::Busy(rec.req_seq.clone())))
        }
    }

    fn run<'a>(&'a self, seq: &str, opts: &SettleOptions<'a>) -> Run<'a> {
        Run {
            p: self,
            opts: *opts,
            account: self.client.account().to_string(),
            seq: seq.to_string(),
            started: Instant::now(),
            journal_error: None,
        }
    }

    fn new_op(&self, seq: &str, kind: OpKind, total_fee: i64) -> NewOp {
        let mut op = NewOp::new(self.client.account(), seq, kind, total_fee);
        op.owner = Some(self.owner.clone());
        op.lease_ms = Some(now_ms() + self.config.lease.as_millis() as i64);
        op
    }

    // -------------------------------------------------------------- barcode pay

    /// Takes a barcode payment and returns only when it has a final answer:
    /// [`Outcome::Paid`], [`Outcome::Failed`], [`Outcome::Revoked`], or
    /// [`Outcome::Unknown`] when the platform stayed unreachable (the
    /// journal keeps it open for [`Payments::recover`]).
    ///
    /// Errors only before anything is sent: an invalid field, or a journal
    /// that cannot record the payment.
    pub fn settle_pay(
        &self,
        order: &PayOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        self.settle_pay_as(None, order, opts)
    }

    /// [`Payments::settle_pay`] under a `req_seq` the caller chose (and
    /// stored before calling, e.g. a C register that keeps its own serials);
    /// `None` generates one. A serial already in the journal is refused
    /// ([`JournalError::Duplicate`]) before anything is sent.
    pub fn settle_pay_as(
        &self,
        req_seq: Option<&str>,
        order: &PayOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        let mut req = PayRequest {
            req_seq: req_seq.map_or_else(|| self.client.next_req_seq(), str::to_string),
            total_fee: order.total_fee,
            auth_code: order.auth_code.clone(),
            channel: order.channel.clone(),
            prod_details: order.prod_details.clone(),
        };
        req.check()?;
        let mut op = self.new_op(&req.req_seq, OpKind::Pay, order.total_fee);
        op.auth_code = Some(order.auth_code.expose().to_string());
        op.channel = order
            .channel
            .clone()
            .or_else(|| channel_of_code(order.auth_code.expose()))
            .map(|c| c.code().to_string());
        self.journal.begin(&op)?;
        let mut run = self.run(&req.req_seq, opts);
        let deadline = run.started + opts.deadline.unwrap_or(self.config.pay_deadline);
        crash_point("pay-before-send");
        run.progress(Progress::Sending {
            kind: OpKind::Pay,
            req_seq: req.req_seq.clone(),
        });
        let first = see(self.client.pay(&mut req), pay_facts);
        crash_point("pay-after-answer");
        run.note("pay", &req.req_seq, &seen_words(&first));
        Ok(self.drive_pay(run, req, first, deadline))
    }

    /// Polls, resends, and revokes until the payment has an outcome.
    fn drive_pay(
        &self,
        mut run: Run<'_>,
        mut req: PayRequest,
        first: Seen,
        deadline: Instant,
    ) -> Settlement {
        let mut phase = match first {
            Seen::Paid(f) => return self.pay_paid(run, *f),
            Seen::Failed(f) => return self.pay_failed(run, *f),
            Seen::Waiting(f) => {
                self.note_waiting(&mut run, &f, deadline);
                Phase::Waiting
            }
            Seen::RefusedBare(r) => Phase::Refused(r),
            Seen::NotSent(_) => Phase::NotDelivered,
            Seen::Unclear(_) => Phase::Unclear,
        };
        let (mut polls, mut resends, mut queries) = (0u32, 0u32, 0u32);
        let reason = loop {
            if run.cancelled() {
                break RevokeReason::Cancelled;
            }
            let now = Instant::now();
            if now >= deadline {
                break RevokeReason::Deadline;
            }
            let step = if phase == Phase::NotDelivered {
                self.config.retry.interval(resends)
            } else {
                self.config.poll.interval(polls)
            };
            if run.wait(step.min(deadline - now)) {
                break RevokeReason::Cancelled;
            }
            crash_point("pay-polling");
            let seen = if phase == Phase::NotDelivered {
                resends += 1;
                run.progress(Progress::Resending { attempt: resends });
                let s = see(self.client.pay(&mut req), pay_facts);
                run.note("pay", &req.req_seq, &seen_words(&s));
                s
            } else {
                polls += 1;
                queries += 1;
                if phase == Phase::Waiting {
                    let elapsed = run.started.elapsed();
                    run.progress(Progress::WaitingForCustomer {
                        elapsed,
                        remaining: deadline.saturating_duration_since(Instant::now()),
                    });
                } else {
                    run.progress(Progress::Querying { attempt: queries });
                }
                let mut q = QueryPayRequest {
                    req_seq: self.client.next_req_seq(),
                    auth_code: None,
                    ori_seq: req.req_seq.clone(),
                };
                let s = see(self.client.query_pay(&mut q), pay_facts);
                run.note("query", &q.req_seq, &seen_words(&s));
                s
            };
            crash_point("pay-after-answer");
            match seen {
                Seen::Paid(f) => return self.pay_paid(run, *f),
                Seen::Failed(f) => return self.pay_failed(run, *f),
                Seen::Waiting(f) => {
                    if phase != Phase::Waiting {
                        self.note_waiting(&mut run, &f, deadline);
                    }
                    phase = Phase::Waiting;
                }
                Seen::RefusedBare(r) => {
                    // A resent pay refused without status: ask again by query.
                    // A query refused without status: the platform has no such
                    // order. After a refusal of the pay itself that settles it
                    // (revoke to close the serial, then FAILED); otherwise the
                    // pay may never have arrived: resend it.
                    let queried = phase != Phase::NotDelivered;
                    match (&phase, queried) {
                        (Phase::Refused(first), true) => {
                            let first = first.clone();
                            return self.revoke_pay(
                                run,
                                Some(&req.auth_code),
                                RevokeReason::Refused,
                                Some(first),
                            );
                        }
                        (Phase::Waiting, true) => {}
                        (_, true) => phase = Phase::NotDelivered,
                        (_, false) => phase = Phase::Refused(r),
                    }
                }
                Seen::NotSent(_) | Seen::Unclear(_) => {
                    if phase == Phase::NotDelivered {
                        // A resend that may have arrived: find out by query.
                        phase = Phase::Unclear;
                    }
                }
            }
        };
        self.revoke_pay(run, Some(&req.auth_code), reason, None)
    }

    fn note_waiting(&self, run: &mut Run<'_>, f: &Facts, deadline: Instant) {
        run.set(OpUpdate {
            state: Some(OpState::Waiting),
            trans_seq: f.trans_seq.clone(),
            channel: f.channel.clone(),
            detail: Some(f.words()),
            ..OpUpdate::default()
        });
        let elapsed = run.started.elapsed();
        run.progress(Progress::WaitingForCustomer {
            elapsed,
            remaining: deadline.saturating_duration_since(Instant::now()),
        });
    }

    fn pay_paid(&self, run: Run<'_>, f: Facts) -> Settlement {
        let detail = f.words();
        run.finish(OpState::Paid, f, detail)
    }

    fn pay_failed(&self, run: Run<'_>, f: Facts) -> Settlement {
        let detail = f.words();
        run.finish(OpState::Failed, f, detail)
    }

    /// Revokes payment `run.seq`, retrying with the same revoke serial until
    /// the platform answers or `revoke_deadline` passes. When the revoke is
    /// refused, a query decides (the payment may have gone through).
    /// `refused` is a refusal of the payment itself that the platform
    /// confirmed by having no such order: the outcome is then FAILED.
    fn revoke_pay(
        &self,
        mut run: Run<'_>,
        auth_code: Option<&PaymentCode>,
        reason: RevokeReason,
        refused: Option<Refusal>,
    ) -> Settlement {
        let rec = run.record();
        let revoke_seq = rec
            .as_ref()
            .and_then(|r| r.revoke_seq.clone())
            .unwrap_or_else(|| self.client.next_req_seq());
        let channel = rec
            .as_ref()
            .and_then(|r| r.channel.as_deref())
            .map(Channel::from_code)
            .filter(|c| c.check("channel", "WAQY").is_ok());
        let channel = match (&channel, auth_code) {
            (None, None) => Some(Channel::WeChat),
            _ => channel,
        };
        run.set(OpUpdate {
            state: Some(OpState::Revoking),
            revoke_seq: Some(revoke_seq.clone()),
            detail: Some(format!("revoking: {reason:?}")),
            ..OpUpdate::default()
        });
        let end = Instant::now() + self.config.revoke_deadline;
        let mut attempt = 0u32;
        loop {
            crash_point("pay-revoking");
            attempt += 1;
            run.progress(Progress::Revoking { reason, attempt });
            let mut rv = RevokeRequest {
                req_seq: revoke_seq.clone(),
                ori_seq: run.seq.clone(),
                channel: channel.clone(),
                auth_code: auth_code.cloned(),
            };
            let r = self.client.revoke(&mut rv);
            crash_point("revoke-after-answer");
            match r {
                Ok(resp) => {
                    run.note("revoke", &revoke_seq, "Y revoked");
                    let f = Facts {
                        code: resp.head.code.clone(),
                        msg: resp.head.msg.clone().unwrap_or_default(),
                        channel: resp.channel.map(|c| c.code().to_string()),
                        ..Facts::default()
                    };
                    return match refused {
                        Some(r) => {
                            let f = Facts::from_refusal(&r);
                            let d = format!("refused: {}", f.words());
                            run.finish(OpState::Failed, f, d)
                        }
                        None => {
                            let d = format!("revoked ({reason:?}): {}", f.words());
                            run.finish(OpState::Revoked, f, d)
                        }
                    };
                }
                Err(Error::Refused(r)) => {
                    run.note("revoke", &revoke_seq, &format!("N {} {}", r.code, r.msg));
                    // The revoke was refused: maybe the payment is settled. Ask.
                    let mut q = QueryPayRequest {
                        req_seq: self.client.next_req_seq(),
                        auth_code: None,
                        ori_seq: run.seq.clone(),
                    };
                    let s = see(self.client.query_pay(&mut q), pay_facts);
                    run.note("query", &q.req_seq, &seen_words(&s));
                    match s {
                        Seen::Paid(f) => return self.pay_paid(run, *f),
                        Seen::Failed(f) => return self.pay_failed(run, *f),
                        _ => {}
                    }
                }
                Err(e) => run.note("revoke", &revoke_seq, &format!("unclear: {e}")),
            }
            let now = Instant::now();
            if now >= end {
                let d =
                    format!("revoke not confirmed after {attempt} attempts; platform unreachable");
                return run.finish(OpState::Revoking, Facts::default(), d);
            }
            let step = self.config.retry.interval(attempt - 1).min(end - now);
            std::thread::sleep(step);
        }
    }

    /// Revokes a payment recorded in the journal (refunds it in full if
    /// paid, closes it otherwise), retrying until confirmed.
    pub fn revoke_payment(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        let rec = self
            .journal
            .get(self.client.account(), req_seq)?
            .ok_or_else(|| JournalError::NotFound(req_seq.to_string()))?;
        if rec.kind == OpKind::Refund {
            return Err(FlowError::Journal(JournalError::NotFound(format!(
                "{req_seq} is a refund, not a payment"
            ))));
        }
        match rec.state {
            OpState::Paid => {}
            s if s.is_open() => self.take(&rec)?,
            // Failed, revoked or closed already: nothing to revoke.
            _ => return Ok(settled_from(&rec)),
        }
        let run = self.run(req_seq, opts);
        Ok(self.revoke_pay(run, None, RevokeReason::Requested, None))
    }

    // -------------------------------------------------------------- refunds

    /// Refunds `refund_fee` fen of payment `pay_req_seq` (recorded in the
    /// journal). The journal refuses locally a refund that would exceed what
    /// was paid. The refund is retried with the same `req_seq` and queried
    /// when unsure; [`Outcome::Paid`] means refunded.
    pub fn settle_refund(
        &self,
        pay_req_seq: &str,
        refund_fee: i64,
        reason: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        self.settle_refund_as(None, pay_req_seq, refund_fee, reason, opts)
    }

    /// [`Payments::settle_refund`] under a refund `req_seq` the caller
    /// chose; `None` generates one.
    pub fn settle_refund_as(
        &self,
        req_seq: Option<&str>,
        pay_req_seq: &str,
        refund_fee: i64,
        reason: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        let seq = req_seq.map_or_else(|| self.client.next_req_seq(), str::to_string);
        let mut probe = RefundRequest {
            req_seq: seq.clone(),
            trans_seq: "0".into(),
            refund_fee,
            reason: reason.to_string(),
        };
        // The payment's trans_seq comes from the journal; check the rest now.
        let pay = self
            .journal
            .get(self.client.account(), pay_req_seq)?
            .ok_or_else(|| JournalError::NotFound(pay_req_seq.to_string()))?;
        if let Some(t) = &pay.trans_seq {
            probe.trans_seq = t.clone();
        }
        probe.check()?;
        let mut op = self.new_op(&seq, OpKind::Refund, refund_fee);
        op.reason = Some(reason.to_string());
        let rec = self.journal.begin_refund(pay_req_seq, &op)?;
        let run = self.run(&seq, opts);
        let end = run.started + opts.deadline.unwrap_or(self.config.refund_deadline);
        Ok(self.drive_refund(run, &rec, true, end))
    }

    /// Sends (when `send_first`) and settles refund `rec`.
    fn drive_refund(
        &self,
        mut run: Run<'_>,
        rec: &OpRecord,
        send_first: bool,
        end: Instant,
    ) -> Settlement {
        let mut req = RefundRequest {
            req_seq: rec.req_seq.clone(),
            trans_seq: rec.trans_seq.clone().unwrap_or_default(),
            refund_fee: rec.total_fee,
            reason: rec.reason.clone().unwrap_or_default(),
        };
        // What to do next: send (or resend) the refund, or query it.
        let mut send_next = send_first;
        let mut refused: Option<Refusal> = None;
        let mut n = 0u32;
        // The platform said it has no such refund: the resend is owed even
        // if the deadline passes meanwhile (once), so that an answer that
        // came never leaves the refund unsettled for lack of time.
        let mut owed_resend = false;
        let mut grace_used = false;
        loop {
            crash_point("refund-step");
            let answer = if send_next {
                if n == 0 {
                    run.progress(Progress::Sending {
                        kind: OpKind::Refund,
                        req_seq: req.req_seq.clone(),
                    });
                } else {
                    run.progress(Progress::Resending { attempt: n });
                }
                let r = self.client.refund(&mut req);
                ("refund", req.req_seq.clone(), r)
            } else {
                run.progress(Progress::Querying { attempt: n + 1 });
                let mut q = QueryRefundRequest {
                    req_seq: self.client.next_req_seq(),
                    trans_seq: req.trans_seq.clone(),
                    ori_seq: req.req_seq.clone(),
                };
                let r = self.client.query_refund(&mut q);
                ("query_refund", q.req_seq.clone(), r)
            };
            crash_point("refund-after-answer");
            let (what, seq, r) = answer;
            let queried = what == "query_refund";
            match r {
                Ok(resp) => {
                    let words = format!(
                        "{} {}",
                        resp.head.code.clone().unwrap_or_default(),
                        resp.head.msg.clone().unwrap_or_default()
                    );
                    let status = resp.status.clone();
                    run.note(
                        what,
                        &seq,
                        &format!("{} {words}", status.as_ref().map_or("-", |s| s.code())),
                    );
                    match status {
                        Some(Status::Success) => {
                            return self.refund_done(run, resp, OpState::Refunded)
                        }
                        Some(Status::Failed) => {
                            return self.refund_done(run, resp, OpState::Failed)
                        }
                        Some(Status::Waiting) => {
                            run.set(OpUpdate {
                                state: Some(OpState::Waiting),
                                refund_seq: resp.refund_seq.clone(),
                                detail: Some(words),
                                ..OpUpdate::default()
                            });
                            send_next = false;
                        }
                        _ => send_next = false,
                    }
                }
                Err(Error::Refused(r)) => {
                    run.note(what, &seq, &format!("N {} {}", r.code, r.msg));
                    if r.status == Some(Status::Failed) {
                        let d = format!("refused: {} {}", r.code, r.msg);
                        return run.finish(OpState::Failed, Facts::from_refusal(&r), d);
                    }
                    match (queried, refused.take()) {
                        // The refund was refused and the platform has no such
                        // refund: it failed, by the platform's word.
                        (true, Some(first)) => {
                            let d = format!("refused: {} {}", first.code, first.msg);
                            return run.finish(OpState::Failed, Facts::from_refusal(&first), d);
                        }
                        // No such refund after an unclear send: it never
                        // arrived; send it again (same req_seq).
                        (true, None) => {
                            send_next = true;
                            owed_resend = true;
                        }
                        // Refused without status: confirm by query.
                        (false, _) => {
                            refused = Some(r);
                            send_next = false;
                        }
                    }
                }
                Err(e) if e.nothing_sent() => {
                    run.note(what, &seq, &format!("not sent: {e}"));
                    if !queried {
                        send_next = true;
                    }
                }
                Err(e) => {
                    run.note(what, &seq, &format!("unclear: {e}"));
                    send_next = false;
                }
            }
            n += 1;
            let now = Instant::now();
            let owed = std::mem::take(&mut owed_resend) && !grace_used;
            if now >= end && !owed {
                let d = "refund not confirmed: platform unreachable".to_string();
                return run.finish(OpState::Unknown, Facts::default(), d);
            }
            if now >= end {
                grace_used = true;
                continue;
            }
            let step = self
                .config
                .retry
                .interval(n.saturating_sub(1))
                .min(end - now);
            if run.wait(step) {
                let d = "cancelled before the refund was confirmed".to_string();
                return run.finish(OpState::Unknown, Facts::default(), d);
            }
        }
    }

    fn refund_done(&self, mut run: Run<'_>, resp: RefundResponse, state: OpState) -> Settlement {
        run.set(OpUpdate {
            refund_seq: resp.refund_seq.clone(),
            ..OpUpdate::default()
        });
        let f = Facts {
            channel: resp.channel.map(|c| c.code().to_string()),
            receipts: resp.receipts,
            code: resp.head.code,
            msg: resp.head.msg.unwrap_or_default(),
            ..Facts::default()
        };
        let d = f.words();
        run.finish(state, f, d)
    }

    // -------------------------------------------------------------- native / JS / H5

    /// Creates a native/JS/H5 order, retrying with the same `req_seq` when
    /// unsure. The journal records it first; `expires_ms` tells when it
    /// stops being payable.
    pub fn create_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<OrderStart, FlowError> {
        let seq = self.client.next_req_seq();
        let (kind, expire_secs) = match &order.spec {
            OrderSpec::Native { expire_secs } => (OpKind::Native, expire_secs.unwrap_or(300)),
            OrderSpec::Js { .. } => (OpKind::Js, 300),
            OrderSpec::H5 { .. } => (OpKind::H5, 300),
        };
        let mut create = OrderCreate::new(&seq, order);
        create.check()?;
        let mut op = self.new_op(&seq, kind, order.total_fee);
        op.channel = Some(order.channel.code().to_string());
        op.expires_ms = Some(now_ms() + expire_secs * 1000);
        let rec = self.journal.begin(&op)?;
        let mut run = self.run(&seq, opts);
        let end = run.started + self.config.create_deadline;
        let mut n = 0u32;
        loop {
            crash_point("order-before-send");
            if n == 0 {
                run.progress(Progress::Sending {
                    kind,
                    req_seq: seq.clone(),
                });
            } else {
                run.progress(Progress::Resending { attempt: n });
            }
            let (seen, extra) = create.send(&self.client);
            crash_point("order-after-answer");
            run.note(kind.as_str(), &seq, &seen_words(&seen));
            match seen {
                Seen::Waiting(f) => {
                    let url = f.pay_url.clone().or(extra.clone());
                    run.set(OpUpdate {
                        state: Some(OpState::Waiting),
                        trans_seq: f.trans_seq.clone(),
                        channel: f.channel.clone(),
                        pay_url: url.clone(),
                        detail: Some(f.words()),
                        ..OpUpdate::default()
                    });
                    if let Some(u) = &url {
                        run.progress(Progress::ShowCode { pay_url: u.clone() });
                    }
                    return Ok(OrderStart::Waiting(OrderTicket {
                        req_seq: seq,
                        trans_seq: f.trans_seq,
                        pay_url: url,
                        signature_info: f.signature_info,
                        expires_ms: rec.expires_ms.unwrap_or_default(),
                    }));
                }
                Seen::Paid(f) => return Ok(OrderStart::Ended(self.pay_paid(run, *f))),
                Seen::Failed(f) => return Ok(OrderStart::Ended(self.order_failed(run, *f))),
                Seen::RefusedBare(_) | Seen::NotSent(_) | Seen::Unclear(_) => {}
            }
            n += 1;
            let now = Instant::now();
            if now >= end || run.cancelled() {
                // Could not create it: close the serial so no later arrival
                // can open an order the register no longer shows.
                return Ok(OrderStart::Ended(self.revoke_pay(
                    run,
                    None,
                    RevokeReason::Requested,
                    None,
                )));
            }
            if run.wait(self.config.retry.interval(n - 1).min(end - now)) {
                continue;
            }
        }
    }

    fn order_failed(&self, run: Run<'_>, f: Facts) -> Settlement {
        let detail = f.words();
        run.finish(OpState::Closed, f, detail)
    }

    /// Waits for the customer to pay order `req_seq` until it expires (or
    /// `opts.deadline`), then closes it (revoke). Cancel closes it at once.
    pub fn await_order(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        let rec = self
            .journal
            .get(self.client.account(), req_seq)?
            .ok_or_else(|| JournalError::NotFound(req_seq.to_string()))?;
        if !rec.state.is_open() {
            return Ok(settled_from(&rec));
        }
        self.take(&rec)?;
        let mut run = self.run(req_seq, opts);
        let until_expiry =
            Duration::from_millis(rec.expires_ms.map_or(0, |e| (e - now_ms()).max(0) as u64));
        let wait = opts.deadline.map_or(until_expiry, |d| d.min(until_expiry));
        let deadline = run.started + wait;
        let mut polls = 0u32;
        let reason = loop {
            if run.cancelled() {
                break RevokeReason::Cancelled;
            }
            let now = Instant::now();
            let last = now >= deadline;
            if !last {
                let step = self.config.order_poll.interval(polls).min(deadline - now);
                if run.wait(step) {
                    break RevokeReason::Cancelled;
                }
            }
            polls += 1;
            crash_point("order-polling");
            run.progress(Progress::WaitingForCustomer {
                elapsed: run.started.elapsed(),
                remaining: deadline.saturating_duration_since(Instant::now()),
            });
            let mut q = NativeQueryRequest {
                req_seq: self.client.next_req_seq(),
                channel: None,
                ori_seq: req_seq.to_string(),
            };
            let s = see(self.client.native_query(&mut q), native_facts);
            run.note("query", &q.req_seq, &seen_words(&s));
            match s {
                Seen::Paid(f) => return Ok(self.pay_paid(run, *f)),
                Seen::Failed(f) => return Ok(self.order_failed(run, *f)),
                _ => {}
            }
            if last {
                break RevokeReason::Deadline;
            }
        };
        Ok(self.revoke_pay(run, None, reason, None))
    }

    /// Creates a native/JS/H5 order, reports its URL through
    /// [`Progress::ShowCode`], and waits until it is paid or expires (then
    /// closes it).
    pub fn settle_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        match self.create_order(order, opts)? {
            OrderStart::Ended(s) => Ok(s),
            OrderStart::Waiting(t) => self.await_order(&t.req_seq, opts),
        }
    }

    /// Closes a native/JS/H5 order (revoke): the customer can no longer pay
    /// it; if they just did, the money is returned.
    pub fn close_order(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        self.revoke_payment(req_seq, opts)
    }

    // -------------------------------------------------------------- recovery

    /// Resolves every open operation of this device in the journal against
    /// the platform: barcode payments by query, then revoke where still
    /// unclear or waiting; refunds by query, resending the same refund when
    /// the platform never received it; native/JS/H5 orders by query,
    /// closing those past their expiry. Operations another live flow is
    /// driving (its lease runs) are left alone.
    pub fn recover(&self, opts: &SettleOptions<'_>) -> Result<RecoveryReport, FlowError> {
        let mut report = RecoveryReport::default();
        let account = self.client.account().to_string();
        for rec in self.journal.open_ops(&account)? {
            let lease = now_ms() + self.config.lease.as_millis() as i64;
            if !self
                .journal
                .claim(&account, &rec.req_seq, &self.owner, lease)?
            {
                // Driven by another flow, or ended since the list was read.
                if let Some(now) = self.journal.get(&account, &rec.req_seq)? {
                    if now.state.is_open() {
                        report.busy_elsewhere.push(now);
                    }
                }
                continue;
            }
            // Claimed: work from its state now, not from the list.
            let Some(rec) = self.journal.get(&account, &rec.req_seq)? else {
                continue;
            };
            let s = match rec.kind {
                OpKind::Pay => self.recover_pay(&rec, opts),
                OpKind::Refund => {
                    let run = self.run(&rec.req_seq, opts);
                    let end = run.started + self.config.recover_deadline;
                    self.drive_refund(run, &rec, false, end)
                }
                OpKind::Native | OpKind::Js | OpKind::H5 => self.recover_order(&rec, opts),
            };
            if s.outcome == Outcome::Unknown {
                if let Some(r) = self.journal.get(&account, &rec.req_seq)? {
                    report.still_open.push(r);
                }
            } else {
                report.settled.push(s);
            }
        }
        Ok(report)
    }

    fn recover_pay(&self, rec: &OpRecord, opts: &SettleOptions<'_>) -> Settlement {
        let mut run = self.run(&rec.req_seq, opts);
        if rec.state == OpState::Revoking {
            return self.revoke_pay(run, None, RevokeReason::Recovery, None);
        }
        let end = run.started + self.config.recover_deadline;
        let mut n = 0u32;
        loop {
            n += 1;
            run.progress(Progress::Querying { attempt: n });
            let mut q = QueryPayRequest {
                req_seq: self.client.next_req_seq(),
                auth_code: None,
                ori_seq: rec.req_seq.clone(),
            };
            let s = see(self.client.query_pay(&mut q), pay_facts);
            run.note("query", &q.req_seq, &seen_words(&s));
            match s {
                Seen::Paid(f) => return self.pay_paid(run, *f),
                Seen::Failed(f) => return self.pay_failed(run, *f),
                // Still waiting, or never arrived: the cashier is no longer
                // waiting for it. Revoke (closes the serial either way).
                Seen::Waiting(_) | Seen::RefusedBare(_) => {
                    return self.revoke_pay(run, None, RevokeReason::Recovery, None)
                }
                Seen::NotSent(_) | Seen::Unclear(_) => {}
            }
            let now = Instant::now();
            if now >= end {
                // Unreachable: try the revoke anyway (it has its own deadline).
                return self.revoke_pay(run, None, RevokeReason::Recovery, None);
            }
            std::thread::sleep(self.config.retry.interval(n - 1).min(end - now));
        }
    }

    fn recover_order(&self, rec: &OpRecord, opts: &SettleOptions<'_>) -> Settlement {
        let mut run = self.run(&rec.req_seq, opts);
        if rec.state == OpState::Revoking {
            return self.revoke_pay(run, None, RevokeReason::Recovery, None);
        }
        let end = run.started + self.config.recover_deadline;
        let expired = rec.expires_ms.is_some_and(|e| e <= now_ms());
        let mut n = 0u32;
        loop {
            n += 1;
            run.progress(Progress::Querying { attempt: n });
            let mut q = NativeQueryRequest {
                req_seq: self.client.next_req_seq(),
                channel: None,
                ori_seq: rec.req_seq.clone(),
            };
            let s = see(self.client.native_query(&mut q), native_facts);
            run.note("query", &q.req_seq, &seen_words(&s));
            match s {
                Seen::Paid(f) => return self.pay_paid(run, *f),
                Seen::Failed(f) => return self.order_failed(run, *f),
                Seen::Waiting(f) if !expired => {
                    // The customer may still pay: leave it open, noted.
                    let d = format!("still waiting for the customer: {}", f.words());
                    return run.finish(OpState::Waiting, *f, d);
                }
                Seen::Waiting(_) | Seen::RefusedBare(_) => {
                    return self.revoke_pay(run, None, RevokeReason::Recovery, None)
                }
                Seen::NotSent(_) | Seen::Unclear(_) => {}
            }
            let now = Instant::now();
            if now >= end {
                let d = "platform unreachable".to_string();
                return run.finish(rec.state, Facts::default(), d);
            }
            std::thread::sleep(self.config.retry.interval(n - 1).min(end - now));
        }
    }

    // -------------------------------------------------------------- notices

    /// Handles a payment notification body (seed 5.5): verifies it (a plain
    /// notice is trusted only after [`Client::confirm_notice`] confirms it
    /// by query), records the order paid in the journal, and reports it
    /// once. Repeats are answered `Y` and not reported again; a notice that
    /// cannot be verified is answered `N` (the platform will send it again).
    pub fn handle_notice(&self, body: &[u8]) -> NoticeHandled {
        let refuse = |why: String| NoticeHandled {
            reply: crate::client::notice_reply(false, "rejected"),
            accepted: false,
            report: None,
            detail: why,
        };
        let received: ReceivedNotice = match self.client.read_notice(body) {
            Ok(n) => n,
            Err(e) => return refuse(e.to_string()),
        };
        let n = &received.notice;
        let (Some(req_seq), Some(trans_seq)) = (n.req_seq.clone(), n.trans_seq.clone()) else {
            return refuse("notice without req_seq or trans_seq".into());
        };
        if n.status.as_ref().is_some_and(|s| *s != Status::Success) {
            return refuse(format!("notice status is {:?}, not paid", n.status));
        }
        let account = self.client.account().to_string();
        let known = match self.journal.get(&account, &req_seq) {
            Ok(r) => r,
            Err(e) => return refuse(e.to_string()),
        };
        // A repeat of a notice already reported: Y, nothing to report.
        if let Ok(true) = self.journal.notice_seen(&account, &trans_seq) {
            return NoticeHandled {
                reply: crate::client::notice_reply(true, "OK"),
                accepted: true,
                report: None,
                detail: "repeat".into(),
            };
        }
        if let Some(rec) = &known {
            let fee_ok = n.total_fee.is_none_or(|f| f == rec.total_fee);
            let trans_ok = rec.trans_seq.as_ref().is_none_or(|t| *t == trans_seq);
            if !fee_ok || !trans_ok || rec.kind == OpKind::Refund {
                return refuse(format!(
                    "notice does not match the journal's order {req_seq}"
                ));
            }
        }
        if !received.signed {
            if let Err(e) = self.client.confirm_notice(n) {
                return refuse(format!("not confirmed by the platform: {e}"));
            }
        }
        let first =
            match self
                .journal
                .settle_notice(&account, &req_seq, &trans_seq, "paid (notice)")
            {
                Ok(f) => f,
                Err(e) => return refuse(e.to_string()),
            };
        NoticeHandled {
            reply: crate::client::notice_reply(true, "OK"),
            accepted: true,
            report: first.then(|| PaidNotice {
                req_seq,
                trans_seq,
                total_fee: n.total_fee,
                channel: n.channel.as_ref().map(|c| c.code().to_string()),
                in_journal: known.is_some(),
            }),
            detail: if first {
                "paid".into()
            } else {
                "repeat".into()
            },
        }
    }
}

/// The create request of a native/JS/H5 order, kept to resend unchanged.
enum OrderCreate {
    Native(NativePayRequest),
    Js(JsPayRequest),
    H5(H5PayRequest),
}

impl OrderCreate {
    fn new(seq: &str, o: &NewOrder) -> OrderCreate {
        match &o.spec {
            OrderSpec::Native { expire_secs } => OrderCreate::Native(NativePayRequest {
                req_seq: seq.to_string(),
                total_fee: o.total_fee,
                expire_time: *expire_secs,
                channel: o.channel.clone(),
            }),
            OrderSpec::Js { subopen_id } => OrderCreate::Js(JsPayRequest {
                req_seq: seq.to_string(),
                total_fee: o.total_fee,
                channel: o.channel.clone(),
                subopen_id: subopen_id.clone(),
            }),
            OrderSpec::H5 { ip, redirect_url } => OrderCreate::H5(H5PayRequest {
                req_seq: seq.to_string(),
                total_fee: o.total_fee,
                channel: o.channel.clone(),
                ip: ip.clone(),
                redirect_url: redirect_url.clone(),
            }),
        }
    }

    fn check(&self) -> Result<(), crate::protocol::FieldError> {
        match self {
            OrderCreate::Native(r) => r.check(),
            OrderCreate::Js(r) => r.check(),
            OrderCreate::H5(r) => r.check(),
        }
    }

    /// Sends it; the second value is the H5 `pay_info` when given.
    fn send(&mut self, client: &Client) -> (Seen, Option<String>) {
        match self {
            OrderCreate::Native(r) => (see(client.native_pay(r), native_facts), None),
            OrderCreate::Js(r) => (
                see(client.js_pay(r), |r| {
                    let f = Facts {
                        trans_seq: r.trans_seq,
                        channel: r.channel.map(|c| c.code().to_string()),
                        pay_url: r.pay_url,
                        signature_info: r.signature_info,
                        code: r.head.code,
                        msg: r.head.msg.unwrap_or_default(),
                        ..Facts::default()
                    };
                    (r.status, f)
                }),
                None,
            ),
            OrderCreate::H5(r) => {
                let mut info = None;
                let s = see(client.h5_pay(r), |r| {
                    info = r.pay_info.clone();
                    let f = Facts {
                        trans_seq: r.trans_seq,
                        channel: r.channel.map(|c| c.code().to_string()),
                        pay_url: r.pay_info,
                        code: r.head.code,
                        msg: r.head.msg.unwrap_or_default(),
                        ..Facts::default()
                    };
                    (r.status, f)
                });
                (s, info)
            }
        }
    }
}

/// The settlement a journal record stands for (an operation already ended).
pub fn settled_from(rec: &OpRecord) -> Settlement {
    Settlement {
        outcome: Outcome::of_state(rec.state),
        state: rec.state,
        kind: rec.kind,
        req_seq: rec.req_seq.clone(),
        trans_seq: rec.trans_seq.clone(),
        total_fee: rec.total_fee,
        channel: rec.channel.clone(),
        refund_seq: rec.refund_seq.clone(),
        pay_time: None,
        receipts: Vec::new(),
        code: None,
        detail: rec.detail.clone(),
        journal_error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_schedule_grows_and_caps() {
        let s = PollSchedule::ADAPTIVE;
        let ms: Vec<u128> = (0..4).map(|n| s.interval(n).as_millis()).collect();
        assert_eq!(ms, vec![600, 690, 793, 912]);
        let f = PollSchedule::fixed(Duration::from_secs(5));
        assert_eq!(f.interval(0), f.interval(9));
        assert_eq!(s.scaled(0.01).interval(0), Duration::from_millis(6));
        assert_eq!(s.interval(u32::MAX), Duration::from_secs(8));
        // The budget of issue 6: at most 20 queries per 60 s of waiting.
        assert!(s.asks_within(Duration::from_secs(60)) <= 20);
        assert_eq!(f.asks_within(Duration::from_secs(60)), 12);
        assert_eq!(
            PollSchedule::fixed(Duration::ZERO).asks_within(Duration::from_secs(1)),
            u32::MAX
        );
    }

    #[test]
    fn cancel_wakes_a_waiter() {
        let t = CancelToken::new();
        let t2 = t.clone();
        let start = Instant::now();
        let h = std::thread::spawn(move || t2.wait(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        t.cancel();
        assert!(h.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(t.is_cancelled());
        assert!(t.wait(Duration::from_secs(30)));
        assert!(!CancelToken::new().wait(Duration::from_millis(1)));
    }

    #[test]
    fn channels_by_code_prefix() {
        assert_eq!(channel_of_code("134567890123456789"), Some(Channel::WeChat));
        assert_eq!(channel_of_code("2812345678901201"), Some(Channel::Alipay));
        assert_eq!(channel_of_code("1345678901234567"), None);
        assert_eq!(channel_of_code("abc"), None);
    }

    #[test]
    fn outcomes_of_states() {
        assert_eq!(Outcome::of_state(OpState::Refunded), Outcome::Paid);
        assert_eq!(Outcome::of_state(OpState::Closed), Outcome::Failed);
        assert_eq!(Outcome::of_state(OpState::Revoking), Outcome::Unknown);
        assert_eq!(Outcome::Revoked.to_string(), "REVOKED");
    }
}
