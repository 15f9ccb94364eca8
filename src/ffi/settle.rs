//! The settle flow through the C ABI: one call per operation that returns
//! only with a final answer (PAID, FAILED, REVOKED, NOT_SENT when nothing
//! could reach the platform, or UNKNOWN when it may have and no answer
//! came), a cancel handle usable from another thread, a progress
//! callback, and recovery.
//!
//! These calls need a client with a journal (`journal=` in the
//! configuration, or `ystpay_client_new_ex`): every operation is recorded
//! before its request leaves, so a crash or power cut loses nothing.

use std::ffi::c_void;
use std::os::raw::c_char;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::calls::{read_items, req_seq_arg};
use super::cancel::{cancel_ref, ystpay_cancel};
use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, CallResult, Failure};
use super::progress::{with_options, ystpay_progress_fn, Hear, Watch};
use super::records::*;
use super::text::{self, Enc, Writer};
use crate::flow::{
    settled_from, NewOrder, OrderSpec, Outcome, PayOrder, SettleOptions, Settlement,
};
use crate::journal::{OpKind, OpState};
use crate::protocol::{Channel, PaymentCode};
use crate::register::RegisterError;

/// How a settle call knows its operation's serial before the flow runs.
enum Serial {
    /// A new operation under this serial (given by the caller, or
    /// generated when the call was read and passed to the flow).
    New(String),
    /// An operation the journal already holds (a revoke).
    Recorded(String),
    /// A new operation whose serial the flow generates and announces.
    Announced,
}

/// What a settle call asks for.
enum Work {
    Pay(PayOrder),
    Refund {
        pay_seq: String,
        refund_fee: i64,
        reason: String,
    },
    Revoke,
    Order(NewOrder),
}

/// A settle call with its arguments read and checked on the caller's
/// thread (the C pointers are valid only there): ready to run there, or on
/// a library thread for a started operation (`started`).
pub(super) struct Job {
    serial: Serial,
    /// Kind and amount for the record should the journal not answer.
    fallback: (OpKind, i64),
    deadline_ms: i32,
    work: Work,
}

impl Job {
    /// A barcode payment; the serial is issued now when not given, so that
    /// whatever happens in the flow the call knows which operation it began.
    pub(super) fn pay(
        c: &ystpay_client,
        req_seq: String,
        order: PayOrder,
        deadline_ms: i32,
    ) -> Result<Job, Failure> {
        let seq = match req_seq.is_empty() {
            true => c.payments()?.issue_req_seq()?,
            false => req_seq,
        };
        Ok(Job {
            serial: Serial::New(seq),
            fallback: (OpKind::Pay, order.total_fee),
            deadline_ms,
            work: Work::Pay(order),
        })
    }

    fn refund(
        c: &ystpay_client,
        req_seq: String,
        pay_seq: String,
        refund_fee: i64,
        reason: String,
        deadline_ms: i32,
    ) -> Result<Job, Failure> {
        let seq = match req_seq.is_empty() {
            true => c.payments()?.issue_req_seq()?,
            false => req_seq,
        };
        Ok(Job {
            serial: Serial::New(seq),
            fallback: (OpKind::Refund, refund_fee),
            deadline_ms,
            work: Work::Refund {
                pay_seq,
                refund_fee,
                reason,
            },
        })
    }

    fn revoke(req_seq: String) -> Job {
        Job {
            serial: Serial::Recorded(req_seq),
            fallback: (OpKind::Pay, 0),
            deadline_ms: 0,
            work: Work::Revoke,
        }
    }

    /// A QR-code, JS or H5 order (its serial is the flow's).
    pub(super) fn order(order: NewOrder, deadline_ms: i32) -> Job {
        Job {
            serial: Serial::Announced,
            fallback: (order_kind(&order.spec), order.total_fee),
            deadline_ms,
            work: Work::Order(order),
        }
    }

    fn flow(&self, c: &ystpay_client, o: &SettleOptions<'_>) -> Result<Settlement, RegisterError> {
        let r = &c.register;
        match (&self.work, &self.serial) {
            (Work::Pay(order), Serial::New(seq)) => r.settle_pay(Some(seq), order, o),
            (
                Work::Refund {
                    pay_seq,
                    refund_fee,
                    reason,
                },
                Serial::New(seq),
            ) => r.settle_refund(Some(seq), pay_seq, *refund_fee, reason, o),
            (Work::Revoke, Serial::Recorded(seq)) => r.revoke(seq, o),
            (Work::Order(order), _) => r.settle_order(order, o),
            // The constructors above pair each work with its serial.
            _ => unreachable!("a settle job's work and serial do not match"),
        }
    }
}

/// The end of a settle call that returns `YSTPAY_OK`.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    /// What the operation came to.
    pub(crate) settlement: Settlement,
    /// The journal could not say what it holds of the operation.
    pub(crate) journal_failed: bool,
}

/// The words of a settle call's record when the library failed after a
/// request may have left.
const FAILED_AFTER_SENDING: &str = "the library failed after sending: query before concluding";

/// Runs a settle job to its end.
///
/// The settle calls promise that a code other than `YSTPAY_OK` means
/// nothing was sent. So once a request of the operation may have left (it
/// is in the journal, docs/DESIGN.md "Paying safely"), whatever happens
/// after (an error, a panic) the end is `Ok`, with outcome UNKNOWN and the
/// operation as the journal records it: recovery or a query settles it.
/// Before that, the error is returned, and a panic resumed (for the guard).
pub(super) fn run(c: &ystpay_client, job: &Job, hear: &Hear<'_>) -> Result<Settled, Failure> {
    let e = c.enc;
    let held = |seq: &str| {
        c.register
            .journal()
            .map(|j| j.get(c.client().account(), seq))
    };
    // A serial the journal may already hold (or cannot say) is not this
    // call's unless its flow announces a request under it.
    let held_before = match &job.serial {
        Serial::New(seq) => !matches!(held(seq), Some(Ok(None))),
        Serial::Recorded(_) | Serial::Announced => false,
    };
    let watch = Watch::default();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        with_options(e, hear, job.deadline_ms, &watch, |o| job.flow(c, o))
    }));
    let stopped = match ran {
        Ok(Ok(Ok(settlement))) => {
            return Ok(Settled {
                settlement,
                journal_failed: false,
            })
        }
        Ok(Err(f)) => return Err(f),
        Ok(Ok(Err(err))) => Ok(Failure::from(err)),
        Err(panic) => Err(panic),
    };
    // Did this call begin an operation (or, for a revoke, send for it)?
    let seq = match &job.serial {
        Serial::New(seq) => {
            let announced = watch.announced().is_some_and(|a| &a == seq);
            (announced || !held_before).then(|| seq.clone())
        }
        Serial::Recorded(seq) => watch.requests().then(|| seq.clone()),
        Serial::Announced => watch.announced(),
    };
    let begun = seq.and_then(|seq| match held(&seq) {
        Some(Ok(Some(rec))) => Some((seq, Some(rec))),
        Some(Ok(None)) | None => None,
        // The flow announced its request, but the journal cannot say more.
        Some(Err(_)) => watch.requests().then_some((seq, None)),
    });
    let Some((seq, rec)) = begun else {
        return match stopped {
            Ok(f) => Err(f),
            Err(panic) => resume_unwind(panic),
        };
    };
    let detail = match &stopped {
        Ok(f) => format!(
            "the flow stopped after sending ({}): query before concluding",
            f.message
        ),
        Err(_) => FAILED_AFTER_SENDING.to_string(),
    };
    let (mut settlement, journal_failed) = match rec {
        Some(rec) => (settled_from(&rec), false),
        None => (
            Settlement {
                outcome: Outcome::Unknown,
                state: OpState::Unknown,
                kind: job.fallback.0,
                req_seq: seq,
                trans_seq: None,
                total_fee: job.fallback.1,
                channel: None,
                refund_seq: None,
                pay_time: None,
                receipts: Vec::new(),
                code: None,
                detail: String::new(),
                journal_error: None,
            },
            true,
        ),
    };
    settlement.outcome = Outcome::Unknown;
    settlement.detail = detail;
    Ok(Settled {
        settlement,
        journal_failed,
    })
}

/// Runs a settle job on the caller's thread and writes its end to `out`.
fn settle(
    c: &ystpay_client,
    out: *mut ystpay_settlement,
    job: Result<Job, Failure>,
    hear: Hear<'_>,
) -> CallResult {
    let settled = run(c, &job?, &hear)?;
    let rec = settlement_record(c.enc, &settled);
    // SAFETY: `out` was checked by `out_record!`.
    unsafe { deliver(out, &rec) };
    Ok(())
}

/// The record of a settlement. It cannot fail: it is written after the
/// flow ran, when only `YSTPAY_OK` may come back. A text that does not fit
/// its field, an identifier too (one the journal kept from an older
/// version), is cut at a character boundary and `truncated` says so.
pub(super) fn settlement_record(enc: Enc, settled: &Settled) -> Box<ystpay_settlement> {
    let s = &settled.settlement;
    let mut r = blank::<ystpay_settlement>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    rec.outcome = outcome_code(s.outcome);
    rec.total_fee = s.total_fee;
    rec.kind = kind_code(s.kind);
    rec.state = state_code(s.state);
    rec.journal_failed = (s.journal_error.is_some() || settled.journal_failed) as i32;
    w.opt_text(&mut rec.channel, s.channel.as_deref());
    w.text(&mut rec.req_seq, &s.req_seq);
    w.opt_text(&mut rec.trans_seq, s.trans_seq.as_deref());
    w.opt_text(&mut rec.refund_seq, s.refund_seq.as_deref());
    w.opt_text(&mut rec.pay_time, s.pay_time.as_deref());
    w.opt_text(&mut rec.code, s.code.as_deref());
    w.text(&mut rec.detail, &s.detail);
    if s.receipts.len() > YSTPAY_RECEIPT_LINES {
        w.truncated = true;
    }
    let mut n = 0;
    for (slot, line) in rec.receipt_lines.iter_mut().zip(&s.receipts) {
        w.text(slot, line);
        n += 1;
    }
    rec.receipt_count = n;
    rec.truncated = w.truncated as i32;
    r
}

// ------------------------------------------------------------------ settle calls

/// **Method (settle flow).** Takes a barcode payment and returns only when
/// it has a final answer in `out->outcome`: `YSTPAY_OUTCOME_PAID`,
/// `YSTPAY_OUTCOME_FAILED` (the platform said so, or a query proved its
/// refusal harmless), `YSTPAY_OUTCOME_REVOKED` (deadline passed unpaid, or
/// cancelled: money returned or never taken), `YSTPAY_OUTCOME_NOT_SENT`
/// (not sent, nothing charged: no attempt could have reached the platform
/// — no route, DNS down, connect refused or timed out — or the cancel was
/// pulled before the call; it ends within about `connect_timeout` + 2 s
/// with at most one quick retry, no queries and no revoke, and the journal
/// closes it: take the payment again, with a new serial), or
/// `YSTPAY_OUTCOME_UNKNOWN` (the payment may have arrived and the platform
/// stayed unreachable: the journal keeps it open and `ystpay_recover`
/// settles it later; or the platform answered about another order under
/// this serial: `out->state` is `YSTPAY_STATE_CONFLICT`, `out->detail`
/// names the difference, nothing is revoked, and a person must look at
/// it). What comes after each answer follows one table (docs/DESIGN.md,
/// "What to do next").
///
/// PAID needs status `S` for the amount asked and, once the journal holds
/// one, the same order number: an answer about another order is never
/// PAID.
///
/// While the customer enters a password it queries on a short, growing
/// schedule; timeouts and unclear answers are queried, retries reuse the
/// same `req_seq`; the whole is recorded in the journal first.
///
/// - `client`: a client with a journal (else `YSTPAY_ERR_NO_JOURNAL`).
/// - `req_seq`: this payment's serial, NULL/`""` to generate one (it is in
///   `out->req_seq`, and in the first `YSTPAY_STAGE_SENDING` callback;
///   never one issued before, see `ystpay_next_req_seq`). A serial the
///   journal already holds, for an operation, its revoke or any request
///   sent, is `YSTPAY_ERR_DUPLICATE`, and nothing is sent.
/// - `total_fee`, `auth_code`, `channel`, `items`, `item_count`: as for
///   `ystpay_pay`.
/// - `deadline_ms`: how long the customer may take, 0 for the client's
///   setting (default 50 s); then the payment is revoked.
/// - `cancel`: NULL, or a switch another thread (or the progress callback)
///   may pull: "do not take it". Pulled before the call, nothing is sent
///   (`NOT_SENT`). Pulled while nothing could have arrived, nothing more is
///   sent (`NOT_SENT`). Pulled once the payment may have arrived, the
///   waiting stops and it is revoked (`REVOKED`, or `PAID` when the platform
///   had already taken it and the revoke's answer says so).
/// - `progress`, `user_data`: NULL, or a callback run on this thread at
///   every step (see `ystpay_progress_fn` for its rules).
/// - `out`: caller-owned `ystpay_settlement`, written only on `YSTPAY_OK`.
///
/// `YSTPAY_OK` means the flow ran: read `out->outcome`. **Any other code
/// means nothing was sent**: `YSTPAY_ERR_NULL_ARGUMENT`,
/// `YSTPAY_ERR_INVALID_HANDLE`, `YSTPAY_ERR_STRUCT_SIZE`,
/// `YSTPAY_ERR_INVALID_ARGUMENT`, `YSTPAY_ERR_INVALID_ENCODING`,
/// `YSTPAY_ERR_INVALID_INPUT`, `YSTPAY_ERR_NO_JOURNAL`,
/// `YSTPAY_ERR_DUPLICATE`, `YSTPAY_ERR_BUSY`, `YSTPAY_ERR_JOURNAL`, or
/// `YSTPAY_ERR_INTERNAL` (a library failure before any request). Once a
/// request may have left, the call returns `YSTPAY_OK` whatever happens
/// next: should the library itself fail after that, `out->outcome` is
/// `YSTPAY_OUTCOME_UNKNOWN`, `out->state` what the journal records and
/// `out->detail` "the library failed after sending: query before
/// concluding" (the journal keeps the operation open; `ystpay_recover`
/// settles it). A text too long for its field of `out`, even an
/// identifier the journal kept, is cut and `out->truncated` is 1. Blocks
/// the calling thread up to the deadline plus the revoke's retries.
/// Thread-safe: several threads may settle on one handle at once.
///
/// # Safety
/// Pointers as documented: strings NUL-terminated, `items` holds
/// `item_count` records, `cancel` NULL or live, `out` a writable
/// `ystpay_settlement`.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_settle_pay(
    client: *const ystpay_client,
    req_seq: *const c_char,
    total_fee: i64,
    auth_code: *const c_char,
    channel: *const c_char,
    items: *const ystpay_prod_item,
    item_count: i32,
    deadline_ms: i32,
    cancel: *const ystpay_cancel,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    out: *mut ystpay_settlement,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        // SAFETY: caller contract for every pointer argument.
        let (cancel, job) = unsafe {
            let cancel = cancel_ref(cancel)?;
            let job = read_pay(
                c,
                req_seq,
                total_fee,
                auth_code,
                channel,
                items,
                item_count,
                deadline_ms,
            );
            (cancel, job)
        };
        let hear = Hear {
            cancel,
            progress,
            user_data,
            also: None,
        };
        settle(c, out, job, hear)
    })
}

/// **Method (settle flow).** Refunds `refund_fee` fen of a payment recorded
/// in the journal (`pay_req_seq`: the payment's `req_seq`), retrying with
/// the same refund serial and querying when unsure. The journal refuses
/// locally a refund of an unpaid payment (`YSTPAY_ERR_NOT_PAID`) or one
/// that would exceed what is left (`YSTPAY_ERR_REFUND_EXCEEDS`).
///
/// `out->outcome`: `YSTPAY_OUTCOME_PAID` refunded, `FAILED` refused by the
/// platform, `NOT_SENT` nothing refunded (no attempt could reach the
/// platform, or it was cancelled before it could arrive, or after a cancel
/// the platform had no such refund), `UNKNOWN` not settled by the deadline
/// (`deadline_ms`, 0 for 30 s; recovery asks again, by query only).
///
/// `cancel` means "do not refund": a refund cannot be revoked, so one that
/// may have arrived is never resent after a cancel, only settled by query
/// (REFUNDED, or NOT_SENT when the platform has no such refund, or UNKNOWN
/// until recovery finds out); recovery never resends a refund either. `out->refund_seq` is the platform's refund
/// number, `out->trans_seq` the refunded order's. Other arguments, and
/// what the result codes mean (any other than `YSTPAY_OK`: nothing sent),
/// as for `ystpay_settle_pay` (`req_seq` is the refund's own serial; also
/// `YSTPAY_ERR_NOT_FOUND` for a `pay_req_seq` the journal does not hold).
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `cancel` NULL or live; `out` a writable
/// `ystpay_settlement`.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_settle_refund(
    client: *const ystpay_client,
    req_seq: *const c_char,
    pay_req_seq: *const c_char,
    refund_fee: i64,
    reason: *const c_char,
    deadline_ms: i32,
    cancel: *const ystpay_cancel,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    out: *mut ystpay_settlement,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        // SAFETY: caller contract.
        let (cancel, job) = unsafe {
            let cancel = cancel_ref(cancel)?;
            let job = read_refund(c, req_seq, pay_req_seq, refund_fee, reason, deadline_ms);
            (cancel, job)
        };
        let hear = Hear {
            cancel,
            progress,
            user_data,
            also: None,
        };
        settle(c, out, job, hear)
    })
}

/// **Method (settle flow).** Revokes a payment or closes an order recorded
/// in the journal (`req_seq`: its serial): refunds it in full if paid,
/// closes it otherwise, retrying until the platform confirms.
/// `out->outcome` is `YSTPAY_OUTCOME_REVOKED` when done, or what the
/// operation already ended as (a failed payment stays `FAILED`), or
/// `UNKNOWN` when the platform stayed unreachable. `YSTPAY_ERR_NOT_FOUND`
/// when the journal does not hold it, `YSTPAY_ERR_BUSY` when another live
/// flow is settling it, `YSTPAY_ERR_CONFLICT` when it is in conflict (its
/// serial holds another order at the platform, which a revoke would
/// touch). Those, and the argument errors, come before anything is sent;
/// once a revoke may have left, the call returns `YSTPAY_OK` as
/// `ystpay_settle_pay` does. `progress`/`user_data` as for
/// `ystpay_settle_pay`. Thread-safe.
///
/// # Safety
/// `req_seq` NUL-terminated; `out` a writable `ystpay_settlement`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_settle_revoke(
    client: *const ystpay_client,
    req_seq: *const c_char,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    out: *mut ystpay_settlement,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        // SAFETY: caller contract.
        let job = unsafe { read_revoke(c, req_seq) };
        let hear = Hear {
            cancel: None,
            progress,
            user_data,
            also: None,
        };
        settle(c, out, job, hear)
    })
}

/// **Method (settle flow).** Creates a QR-code, JS or H5 order and waits
/// until the customer pays or it expires (then closes it); cancel closes
/// it at once. The URL to show (QR code) or hand to the browser comes
/// through the progress callback as `YSTPAY_STAGE_SHOW_CODE` (its message
/// is the URL), so pass a callback.
///
/// - `kind`: `YSTPAY_KIND_NATIVE`, `YSTPAY_KIND_JS` or `YSTPAY_KIND_H5`.
/// - `total_fee`: fen. `channel`: `"W"` or `"A"`; not NULL.
/// - `expire_seconds`: native only, 300 to 1800, or 0 for 300.
/// - `subopen_id`: JS only (openID / userID); else NULL.
/// - `ip`, `redirect_url`: H5 only (`ip` required for `"W"`); else NULL.
/// - `deadline_ms`: stop waiting (and close) earlier than the expiry; 0
///   waits until the expiry.
/// - `cancel`, `progress`, `user_data`, `out`: as for `ystpay_settle_pay`:
///   pulled before the call or while the create could not have arrived,
///   nothing (more) is sent (`NOT_SENT`); once the order may exist, it is
///   closed (`REVOKED`).
///
/// `out->outcome` as for `ystpay_settle_pay`; `NOT_SENT` when no attempt to
/// create the order could have reached the platform (no QR code was
/// shown). The same call holds the order from its creation to the end: no
/// recovery (of this program or another) takes it in between.
///
/// The order's serial is generated (`out->req_seq`; also the message of
/// the first `YSTPAY_STAGE_SENDING` callback). Result codes as for
/// `ystpay_settle_pay`: any other than `YSTPAY_OK` means nothing was sent;
/// once the order may have been created (even while waiting for the
/// customer), only `YSTPAY_OK`. Thread-safe.
///
/// # Safety
/// Strings NUL-terminated or NULL where allowed; `cancel` NULL or live;
/// `out` a writable `ystpay_settlement`.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_settle_order(
    client: *const ystpay_client,
    kind: i32,
    total_fee: i64,
    channel: *const c_char,
    expire_seconds: i32,
    subopen_id: *const c_char,
    ip: *const c_char,
    redirect_url: *const c_char,
    deadline_ms: i32,
    cancel: *const ystpay_cancel,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    out: *mut ystpay_settlement,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        // SAFETY: caller contract.
        let (cancel, job) = unsafe {
            let cancel = cancel_ref(cancel)?;
            let job = read_order(
                c,
                kind,
                total_fee,
                channel,
                expire_seconds,
                subopen_id,
                ip,
                redirect_url,
                deadline_ms,
            );
            (cancel, job)
        };
        let hear = Hear {
            cancel,
            progress,
            user_data,
            also: None,
        };
        settle(c, out, job, hear)
    })
}

// ------------------------------------------------------------------ reading the calls

fn deadline_arg(deadline_ms: i32) -> Result<i32, Failure> {
    match deadline_ms < 0 {
        true => Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            "deadline_ms is negative",
        )),
        false => Ok(deadline_ms),
    }
}

/// Reads the arguments of `ystpay_settle_pay` / `ystpay_start_pay`.
///
/// # Safety
/// As for `ystpay_settle_pay`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn read_pay(
    c: &ystpay_client,
    req_seq: *const c_char,
    total_fee: i64,
    auth_code: *const c_char,
    channel: *const c_char,
    items: *const ystpay_prod_item,
    item_count: i32,
    deadline_ms: i32,
) -> Result<Job, Failure> {
    let e = c.enc;
    c.payments()?;
    // SAFETY: caller contract for every pointer argument.
    let (seq, order) = unsafe {
        let seq = req_seq_arg(e, req_seq)?;
        let mut order = PayOrder::new(
            total_fee,
            PaymentCode::new(text::required(e, auth_code, "auth_code")?),
        );
        order.channel = text::optional(e, channel, "channel")?.map(|s| Channel::from_code(&s));
        order.prod_details = read_items(e, items, item_count)?;
        (seq, order)
    };
    Job::pay(c, seq, order, deadline_arg(deadline_ms)?)
}

/// Reads the arguments of `ystpay_settle_refund` / `ystpay_start_refund`.
///
/// # Safety
/// As for `ystpay_settle_refund`.
pub(super) unsafe fn read_refund(
    c: &ystpay_client,
    req_seq: *const c_char,
    pay_req_seq: *const c_char,
    refund_fee: i64,
    reason: *const c_char,
    deadline_ms: i32,
) -> Result<Job, Failure> {
    let e = c.enc;
    c.payments()?;
    // SAFETY: caller contract.
    let (seq, pay_seq, reason) = unsafe {
        (
            req_seq_arg(e, req_seq)?,
            text::required(e, pay_req_seq, "pay_req_seq")?,
            text::required(e, reason, "reason")?,
        )
    };
    let deadline_ms = deadline_arg(deadline_ms)?;
    Job::refund(c, seq, pay_seq, refund_fee, reason, deadline_ms)
}

/// Reads the arguments of `ystpay_settle_revoke` / `ystpay_start_revoke`.
///
/// # Safety
/// `req_seq` NULL or NUL-terminated.
pub(super) unsafe fn read_revoke(
    c: &ystpay_client,
    req_seq: *const c_char,
) -> Result<Job, Failure> {
    c.payments()?;
    // SAFETY: caller contract.
    let seq = unsafe { text::required(c.enc, req_seq, "req_seq")? };
    Ok(Job::revoke(seq))
}

/// Reads the arguments of `ystpay_settle_order` / `ystpay_start_order`.
///
/// # Safety
/// As for `ystpay_settle_order`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn read_order(
    c: &ystpay_client,
    kind: i32,
    total_fee: i64,
    channel: *const c_char,
    expire_seconds: i32,
    subopen_id: *const c_char,
    ip: *const c_char,
    redirect_url: *const c_char,
    deadline_ms: i32,
) -> Result<Job, Failure> {
    let e = c.enc;
    c.payments()?;
    // SAFETY: caller contract.
    let spec = unsafe {
        match kind {
            YSTPAY_KIND_NATIVE => OrderSpec::Native {
                expire_secs: (expire_seconds != 0).then_some(i64::from(expire_seconds)),
            },
            YSTPAY_KIND_JS => OrderSpec::Js {
                subopen_id: text::required(e, subopen_id, "subopen_id")?,
            },
            YSTPAY_KIND_H5 => OrderSpec::H5 {
                ip: text::optional(e, ip, "ip")?,
                redirect_url: text::required(e, redirect_url, "redirect_url")?,
            },
            other => {
                return Err(Failure::new(
                    YSTPAY_ERR_INVALID_ARGUMENT,
                    format!("kind {other} is not YSTPAY_KIND_NATIVE, _JS or _H5"),
                ))
            }
        }
    };
    // SAFETY: caller contract.
    let channel = unsafe { text::required(e, channel, "channel")? };
    let order = NewOrder {
        total_fee,
        channel: Channel::from_code(&channel),
        spec,
    };
    Ok(Job::order(order, deadline_arg(deadline_ms)?))
}

fn order_kind(spec: &OrderSpec) -> OpKind {
    match spec {
        OrderSpec::Native { .. } => OpKind::Native,
        OrderSpec::Js { .. } => OpKind::Js,
        OrderSpec::H5 { .. } => OpKind::H5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn a_settlement_record_cuts_what_does_not_fit_and_says_so() {
        let s = Settlement {
            outcome: Outcome::Paid,
            state: OpState::Paid,
            kind: OpKind::Pay,
            req_seq: "20240101000000000001".into(),
            trans_seq: Some("9".repeat(70)),
            total_fee: 100,
            channel: Some("W".into()),
            refund_seq: None,
            pay_time: None,
            receipts: vec!["收款成功".repeat(20)],
            code: None,
            detail: "已支付".into(),
            journal_error: None,
        };
        for enc in [Enc::Utf8, Enc::Gbk] {
            let settled = Settled {
                settlement: s.clone(),
                journal_failed: false,
            };
            let r = settlement_record(enc, &settled);
            assert_eq!(r.outcome, YSTPAY_OUTCOME_PAID);
            assert_eq!(r.truncated, 1);
            let t = text::from_array(enc, &r.trans_seq, "trans_seq").unwrap();
            assert_eq!(t, "9".repeat(YSTPAY_SEQ_SIZE - 1));
            // Cut at a character boundary in the record's encoding.
            let line = text::from_array(enc, &r.receipt_lines[0], "line").unwrap();
            assert!(!line.is_empty() && "收款成功".repeat(20).starts_with(&line));
        }
        let fits = Settlement {
            trans_seq: Some("15060911165638124989".into()),
            receipts: Vec::new(),
            ..s
        };
        let fits = Settled {
            settlement: fits,
            journal_failed: false,
        };
        assert_eq!(settlement_record(Enc::Gbk, &fits).truncated, 0);
    }
}
