//! What the flows take and give: orders, outcomes, settlements, progress
//! events, options and reports.

use std::time::Duration;

use super::timing::{CancelToken, PollSchedule};
use crate::error::Error;
use crate::journal::{JournalError, OpKind, OpRecord, OpState};
use crate::protocol::{Channel, PaymentCode, ProdItem};

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
    /// Asked for explicitly ([`super::Payments::revoke_payment`], [`super::Payments::close_order`]).
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
    /// Replaces the configured schedule of queries while the customer
    /// pays (a barcode payment's `poll`, an order's `order_poll`).
    pub poll: Option<PollSchedule>,
}

impl SettleOptions<'_> {
    /// The options of the recovery a register runs when it starts: one
    /// quick check of the platform. Each open operation gets one query and
    /// the steps its answer makes necessary at once (a revoke, the query
    /// after a refused revoke), no retries; the first request that cannot
    /// be sent or is not answered stops recovery, so a register with the
    /// network down starts within about `connect_timeout`.
    pub fn at_start_up() -> SettleOptions<'static> {
        SettleOptions {
            deadline: Some(Duration::ZERO),
            ..SettleOptions::default()
        }
    }
}

impl std::fmt::Debug for SettleOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SettleOptions")
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .field("deadline", &self.deadline)
            .field("poll", &self.poll)
            .finish()
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Paid (a refund: refunded).
    Paid,
    /// The platform said it failed; nothing moved.
    Failed,
    /// Revoked or closed by this register; the money was returned or never taken.
    Revoked,
    /// Not known: the platform stayed unreachable until the deadline, or
    /// answered about another operation under this serial. The journal
    /// keeps it open.
    Unknown,
    /// Not sent, nothing charged: no request could have reached the
    /// platform (the network is down), the cashier cancelled before it was
    /// sent, or the platform confirmed it never received it. The journal
    /// closed it ([`OpState::NotSent`]).
    NotSent,
}

impl Outcome {
    /// `PAID`, `FAILED`, `REVOKED`, `UNKNOWN` or `NOT_SENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Paid => "PAID",
            Outcome::Failed => "FAILED",
            Outcome::Revoked => "REVOKED",
            Outcome::Unknown => "UNKNOWN",
            Outcome::NotSent => "NOT_SENT",
        }
    }

    /// The outcome a journal state stands for.
    pub fn of_state(state: OpState) -> Outcome {
        match state {
            OpState::Paid | OpState::Refunded => Outcome::Paid,
            OpState::Failed | OpState::Closed => Outcome::Failed,
            OpState::Revoked => Outcome::Revoked,
            OpState::NotSent => Outcome::NotSent,
            OpState::Pending
            | OpState::Waiting
            | OpState::Revoking
            | OpState::Unknown
            | OpState::Conflict => Outcome::Unknown,
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
    /// Amount in fen: the platform's, when the deciding answer carried one
    /// (it equals the amount asked whenever the outcome is PAID), else the
    /// amount asked (a refund: the refund's amount).
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

/// What [`super::Payments::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Every operation it touched, in the order it took them.
    pub ops: Vec<RecoveredOp>,
    /// Operations settled now.
    pub settled: Vec<Settlement>,
    /// Operations still open: unreachable platform, a native/JS/H5 order
    /// the customer may still pay, a refund still in progress, or an
    /// operation in conflict that a person must look at.
    pub still_open: Vec<OpRecord>,
    /// Operations left alone because a live flow (this process or
    /// another) is driving them.
    pub busy_elsewhere: Vec<OpRecord>,
    /// True when recovery stopped because a request could not be sent:
    /// the platform is unreachable. The operations it did not ask about
    /// are listed with [`Disposition::Unreachable`] (and in `still_open`).
    pub unreachable: bool,
}

/// What recovery did with one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Settled now: [`RecoveredOp::state`] is final.
    Settled,
    /// Still open after trying.
    StillOpen,
    /// Left alone: a live flow drives it.
    BusyElsewhere,
    /// Still open, not settled because the platform could not be reached
    /// (or recovery was cancelled): recovery does not wait on a dead
    /// network.
    Unreachable,
}

/// One operation recovery touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredOp {
    /// Its `req_seq`.
    pub req_seq: String,
    /// What it is.
    pub kind: OpKind,
    /// Its state in the journal after recovery.
    pub state: OpState,
    /// The outcome that state stands for.
    pub outcome: Outcome,
    /// What recovery did with it.
    pub disposition: Disposition,
    /// Amount in fen.
    pub total_fee: i64,
    /// Why it ended so, or what is still awaited.
    pub detail: String,
}

impl RecoveryReport {
    pub(super) fn push(&mut self, rec: OpRecord, disposition: Disposition) {
        self.ops.push(RecoveredOp {
            req_seq: rec.req_seq.clone(),
            kind: rec.kind,
            state: rec.state,
            outcome: Outcome::of_state(rec.state),
            disposition,
            total_fee: rec.total_fee,
            detail: rec.detail.clone(),
        });
        match disposition {
            Disposition::StillOpen | Disposition::Unreachable => self.still_open.push(rec),
            Disposition::BusyElsewhere => self.busy_elsewhere.push(rec),
            Disposition::Settled => {}
        }
    }

    /// Lists `rec`, not asked about, with why.
    pub(super) fn push_left(&mut self, mut rec: OpRecord, disposition: Disposition, why: &str) {
        rec.detail = why.to_string();
        self.push(rec, disposition);
    }

    pub(super) fn push_settled(&mut self, s: Settlement) {
        self.ops.push(RecoveredOp {
            req_seq: s.req_seq.clone(),
            kind: s.kind,
            state: s.state,
            outcome: s.outcome,
            disposition: Disposition::Settled,
            total_fee: s.total_fee,
            detail: s.detail.clone(),
        });
        self.settled.push(s);
    }
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
