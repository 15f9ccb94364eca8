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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::calls::{read_items, req_seq_arg};
use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, guard_void, CallResult, Failure};
use super::records::*;
use super::text::{self, Enc, Writer};
use crate::flow::{
    settled_from, CancelToken, NewOrder, OrderSpec, Outcome, PayOrder, Progress, RevokeReason,
    SettleOptions, Settlement,
};
use crate::journal::{OpKind, OpState};
use crate::protocol::{Channel, PaymentCode};
use crate::register::RegisterError;

const CANCEL_TAG: u64 = 0x5953_5450_4159_434e; // "YSTPAYCN"

/// A cancel switch for one settle call (opaque), e.g. bound to the
/// cashier's Esc key.
///
/// Created by `ystpay_cancel_new`, pulled by `ystpay_cancel_trigger` (from
/// any thread, any number of times), released by `ystpay_cancel_free`.
/// Once pulled it stays pulled: use a new one for the next operation.
/// **Thread safety:** `ystpay_cancel_trigger` may run on any thread while a
/// settle call on another thread uses the handle; free it only after that
/// call has returned and no thread will trigger it any more.
pub struct ystpay_cancel {
    tag: u64,
    token: CancelToken,
}

/// The progress callback of the settle calls.
///
/// - `user_data`: the pointer the caller passed with the callback, as is.
/// - `stage`: `YSTPAY_STAGE_*` (what the operation is doing now).
/// - `elapsed_ms`: milliseconds since the call began (for
///   `YSTPAY_STAGE_WAITING`: since the payment was first sent).
/// - `message`: NUL-terminated text in the client's encoding, valid only
///   during the callback (copy it to keep it): for `SENDING` the
///   operation's `req_seq`, for `SHOW_CODE` the URL to show as a QR code,
///   for `FINISHED` the outcome's name, otherwise words for the cashier
///   (Chinese), e.g. "等待顾客输入密码…".
///
/// **Rules.** It runs on the thread that made the settle call, inside that
/// call, and the operation waits for it: return quickly (post a message
/// to the UI thread rather than drawing). It must not call back into the
/// same operation, nor free the client or the cancel handle; it may call
/// `ystpay_cancel_trigger`. It must not `longjmp` out or throw a C++ or
/// Delphi exception across the library (that would skip the journal
/// update); the library itself never lets a Rust panic reach it.
pub type ystpay_progress_fn = Option<
    unsafe extern "system" fn(
        user_data: *mut c_void,
        stage: i32,
        elapsed_ms: i32,
        message: *const c_char,
    ),
>;

/// The callback, its pointer and the call's encoding, callable from the
/// flow (which runs on the caller's thread only).
struct Reporter {
    /// Never `None` (checked when the reporter is made).
    f: ystpay_progress_fn,
    user_data: *mut c_void,
    enc: Enc,
    started: Instant,
}

// SAFETY: the flow calls progress only on the thread that made the settle
// call (the one the C caller expects); the pointer is never used elsewhere.
unsafe impl Sync for Reporter {}

fn millis_i32(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

fn why(r: RevokeReason) -> &'static str {
    match r {
        RevokeReason::Deadline => "顾客未在时限内付款",
        RevokeReason::Cancelled => "收银员取消",
        RevokeReason::Refused => "平台拒绝",
        RevokeReason::Recovery => "恢复未完成的交易",
        RevokeReason::Requested => "按要求撤销",
    }
}

/// The stage, message and elapsed time of a progress event.
pub(super) fn describe(p: &Progress, started: Instant) -> (i32, String, Duration) {
    let since = started.elapsed();
    match p {
        Progress::Sending { req_seq, .. } => (YSTPAY_STAGE_SENDING, req_seq.clone(), since),
        Progress::WaitingForCustomer { elapsed, remaining } => (
            YSTPAY_STAGE_WAITING,
            format!(
                "等待顾客付款（输入密码），还剩 {} 秒",
                remaining.as_secs_f64().ceil() as u64
            ),
            *elapsed,
        ),
        Progress::ShowCode { pay_url } => (YSTPAY_STAGE_SHOW_CODE, pay_url.clone(), since),
        Progress::Querying { attempt } => (
            YSTPAY_STAGE_QUERYING,
            format!("查询支付结果（第 {attempt} 次）"),
            since,
        ),
        Progress::Resending { attempt } => (
            YSTPAY_STAGE_RESENDING,
            format!("重新发送（第 {attempt} 次）"),
            since,
        ),
        Progress::Revoking { reason, attempt } => (
            YSTPAY_STAGE_REVOKING,
            format!("撤销交易：{}（第 {attempt} 次）", why(*reason)),
            since,
        ),
        Progress::Finished { outcome } => {
            (YSTPAY_STAGE_FINISHED, outcome.as_str().to_string(), since)
        }
    }
}

impl Reporter {
    fn report(&self, p: &Progress) {
        // Nothing in building the message may unwind into the flow.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let (stage, message, elapsed) = describe(p, self.started);
            let mut bytes = text::encode(self.enc, &message).into_owned();
            bytes.retain(|&b| b != 0);
            bytes.push(0);
            if let Some(f) = self.f {
                // SAFETY: the caller's callback with its own user_data, on
                // the calling thread; the message lives until it returns.
                unsafe {
                    f(
                        self.user_data,
                        stage,
                        millis_i32(elapsed),
                        bytes.as_ptr().cast(),
                    )
                };
            }
        }));
    }
}

/// Dereferences an optional cancel handle.
///
/// # Safety
/// `p` is NULL or a live handle from `ystpay_cancel_new`.
pub(super) unsafe fn cancel_ref<'a>(
    p: *const ystpay_cancel,
) -> Result<Option<&'a CancelToken>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<ystpay_cancel>()) {
        return Err(not_cancel());
    }
    // SAFETY: caller contract.
    let c = unsafe { &*p };
    if c.tag != CANCEL_TAG {
        return Err(not_cancel());
    }
    Ok(Some(&c.token))
}

fn not_cancel() -> Failure {
    Failure::new(
        YSTPAY_ERR_INVALID_HANDLE,
        "argument 'cancel' is not a ystpay_cancel",
    )
}

/// What a flow has reported of its requests, whether or not the caller
/// passed a progress callback: the serial it announced before its first
/// request (`Progress::Sending`), and whether any request may have left.
#[derive(Debug, Default)]
pub(super) struct Watch {
    announced: Mutex<Option<String>>,
    requests: AtomicBool,
}

impl Watch {
    fn see(&self, p: &Progress) {
        match p {
            Progress::Sending { req_seq, .. } => {
                let mut a = self.announced.lock().unwrap_or_else(|e| e.into_inner());
                a.get_or_insert_with(|| req_seq.clone());
                self.requests.store(true, Ordering::SeqCst);
            }
            Progress::Resending { .. }
            | Progress::Querying { .. }
            | Progress::Revoking { .. }
            | Progress::WaitingForCustomer { .. }
            | Progress::ShowCode { .. } => self.requests.store(true, Ordering::SeqCst),
            Progress::Finished { .. } => {}
        }
    }

    fn announced(&self) -> Option<String> {
        self.announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn requests(&self) -> bool {
        self.requests.load(Ordering::SeqCst)
    }
}

#[cfg(feature = "crash-points")]
pub mod testing {
    //! Test-only: makes the next settle call on this thread panic inside
    //! its flow when the flow reports a stage, as a bug would.
    use std::cell::Cell;

    thread_local! {
        static PANIC_AT: Cell<Option<i32>> = const { Cell::new(None) };
    }

    /// Panics in the flow of the next settle call of this thread when it
    /// reports `stage` (`YSTPAY_STAGE_*`); `None` clears it.
    pub fn panic_at_stage(stage: Option<i32>) {
        PANIC_AT.with(|p| p.set(stage));
    }

    pub(super) fn check(stage: i32) {
        if PANIC_AT.with(|p| p.get()) == Some(stage) {
            PANIC_AT.with(|p| p.set(None));
            panic!("test panic in the flow at stage {stage}");
        }
    }
}

/// Runs `body` with the options built from the C arguments; the flow's
/// progress also goes to `watch`.
pub(super) fn with_options<T>(
    enc: Enc,
    cancel: Option<&CancelToken>,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    deadline_ms: i32,
    watch: &Watch,
    body: impl FnOnce(&SettleOptions<'_>) -> T,
) -> Result<T, Failure> {
    if deadline_ms < 0 {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            "deadline_ms is negative",
        ));
    }
    let reporter = progress.is_some().then(|| Reporter {
        f: progress,
        user_data,
        enc,
        started: Instant::now(),
    });
    let report = |p: &Progress| {
        watch.see(p);
        #[cfg(feature = "crash-points")]
        testing::check(describe(p, Instant::now()).0);
        if let Some(r) = &reporter {
            r.report(p)
        }
    };
    let opts = SettleOptions {
        progress: Some(&report as &(dyn Fn(&Progress) + Sync)),
        cancel,
        deadline: (deadline_ms > 0).then(|| Duration::from_millis(deadline_ms as u64)),
        poll: None,
    };
    Ok(body(&opts))
}

/// How a settle call knows its operation's serial before the flow runs.
enum Serial<'a> {
    /// A new operation under this serial (given by the caller, or
    /// generated here and passed to the flow).
    New(&'a str),
    /// An operation the journal already holds (a revoke).
    Recorded(&'a str),
    /// A new operation whose serial the flow generates and announces.
    Announced,
}

/// The words of a settle call's record when the library failed after a
/// request may have left.
const FAILED_AFTER_SENDING: &str = "the library failed after sending: query before concluding";

/// Runs a settle flow and writes its settlement to `out`.
///
/// The settle calls promise that a code other than `YSTPAY_OK` means
/// nothing was sent. So once a request of the operation may have left (it
/// is in the journal, docs/DESIGN.md "Paying safely"), whatever happens
/// after (an error, a panic) the call still returns `YSTPAY_OK`, with
/// outcome UNKNOWN and the operation as the journal records it: recovery
/// or a query settles it. Before that, the error (or the panic, through
/// the guard) is returned as it is.
#[allow(clippy::too_many_arguments)]
fn settle(
    c: &ystpay_client,
    out: *mut ystpay_settlement,
    serial: Serial<'_>,
    fallback: (OpKind, i64),
    cancel: Option<&CancelToken>,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    deadline_ms: i32,
    flow: impl FnOnce(&SettleOptions<'_>) -> Result<Settlement, RegisterError>,
) -> CallResult {
    let e = c.enc;
    let held = |seq: &str| {
        c.register
            .journal()
            .map(|j| j.get(c.client().account(), seq))
    };
    // A serial the journal may already hold (or cannot say) is not this
    // call's unless its flow announces a request under it.
    let held_before = match serial {
        Serial::New(seq) => !matches!(held(seq), Some(Ok(None))),
        Serial::Recorded(_) | Serial::Announced => false,
    };
    let watch = Watch::default();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        with_options(e, cancel, progress, user_data, deadline_ms, &watch, flow)
    }));
    let stopped = match ran {
        Ok(Ok(Ok(s))) => {
            deliver_settlement(e, out, &s);
            return Ok(());
        }
        Ok(Err(f)) => return Err(f),
        Ok(Ok(Err(err))) => Ok(Failure::from(err)),
        Err(panic) => Err(panic),
    };
    // Did this call begin an operation (or, for a revoke, send for it)?
    let seq = match serial {
        Serial::New(seq) => {
            let announced = watch.announced().is_some_and(|a| a == seq);
            (announced || !held_before).then(|| seq.to_string())
        }
        Serial::Recorded(seq) => watch.requests().then(|| seq.to_string()),
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
    let (mut s, journal_failed) = match rec {
        Some(rec) => (settled_from(&rec), false),
        None => (
            Settlement {
                outcome: Outcome::Unknown,
                state: OpState::Unknown,
                kind: fallback.0,
                req_seq: seq,
                trans_seq: None,
                total_fee: fallback.1,
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
    s.outcome = Outcome::Unknown;
    s.detail = detail;
    let mut rec = settlement_record(e, &s);
    rec.journal_failed |= journal_failed as i32;
    // SAFETY: `out` was checked by `out_record!`.
    unsafe { deliver(out, &rec) };
    Ok(())
}

/// The record of a settlement. It cannot fail: it is written after the
/// flow ran, when only `YSTPAY_OK` may come back. A text that does not fit
/// its field, an identifier too (one the journal kept from an older
/// version), is cut at a character boundary and `truncated` says so.
pub(super) fn settlement_record(enc: Enc, s: &Settlement) -> Box<ystpay_settlement> {
    let mut r = blank::<ystpay_settlement>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    rec.outcome = outcome_code(s.outcome);
    rec.total_fee = s.total_fee;
    rec.kind = kind_code(s.kind);
    rec.state = state_code(s.state);
    rec.journal_failed = s.journal_error.is_some() as i32;
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

pub(super) fn deliver_settlement(enc: Enc, out: *mut ystpay_settlement, s: &Settlement) {
    let rec = settlement_record(enc, s);
    // SAFETY: `out` was checked by `out_record!`.
    unsafe { deliver(out, &rec) };
}

// ------------------------------------------------------------------ cancel

/// **Constructor.** Creates a cancel switch to pass to one settle call.
///
/// - `out`: receives the handle (caller-owned; release it with
///   `ystpay_cancel_free` once the call it was passed to has returned).
///   Written only on success.
///
/// Thread-safe.
///
/// # Safety
/// `out` must point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "system" fn ystpay_cancel_new(out: *mut *mut ystpay_cancel) -> i32 {
    guard(|| {
        let out = non_null!(out);
        let b = Box::new(ystpay_cancel {
            tag: CANCEL_TAG,
            token: CancelToken::new(),
        });
        // SAFETY: checked non-NULL.
        unsafe { out.write_unaligned(Box::into_raw(b)) };
        Ok(())
    })
}

/// **Method.** Pulls the switch: "do not do it". For the settle call using
/// it: pulled before the call, nothing is sent (`YSTPAY_OUTCOME_NOT_SENT`);
/// while nothing could have reached the platform, nothing more is sent
/// (`NOT_SENT`); once a payment or order may have arrived, the wait stops
/// and it is revoked (a payment the platform already reported paid stays
/// paid); a refund is never resent after a cancel, only settled by query;
/// a revoke under way is finished; `ystpay_recover_ex` stops at its next
/// pause. A request in flight is answered first. Returns at once.
///
/// May be called from any thread (the UI thread's Esc key), before or
/// during the call, any number of times. Returns `YSTPAY_OK`,
/// `YSTPAY_ERR_NULL_ARGUMENT` or `YSTPAY_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `cancel` is a live handle from `ystpay_cancel_new`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_cancel_trigger(cancel: *const ystpay_cancel) -> i32 {
    guard(|| {
        let cancel = non_null!(cancel);
        // SAFETY: caller contract.
        if let Some(t) = unsafe { cancel_ref(cancel)? } {
            t.cancel();
        }
        Ok(())
    })
}

/// **Destructor.** Releases a cancel switch. NULL is a no-op. Only after
/// the settle call it was passed to has returned, and when no other thread
/// will trigger it any more.
///
/// # Safety
/// `cancel` is NULL or a live handle from `ystpay_cancel_new`, freed once.
#[no_mangle]
pub unsafe extern "system" fn ystpay_cancel_free(cancel: *mut ystpay_cancel) {
    guard_void(|| {
        // SAFETY: caller contract.
        if let Ok(Some(_)) = unsafe { cancel_ref(cancel) } {
            // SAFETY: the pointer came from Box::into_raw in ystpay_cancel_new.
            let mut b = unsafe { Box::from_raw(cancel) };
            b.tag = 0;
            drop(b);
        }
    })
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
        let e = c.enc;
        c.payments()?;
        // SAFETY: caller contract for every pointer argument.
        let (seq, order, cancel) = unsafe {
            let seq = req_seq_arg(e, req_seq)?;
            let mut order = PayOrder::new(
                total_fee,
                PaymentCode::new(text::required(e, auth_code, "auth_code")?),
            );
            order.channel = text::optional(e, channel, "channel")?.map(|s| Channel::from_code(&s));
            order.prod_details = read_items(e, items, item_count)?;
            (seq, order, cancel_ref(cancel)?)
        };
        // The serial is fixed here, so that whatever happens in the flow
        // this call knows which operation it began.
        let seq = match seq.is_empty() {
            true => c.payments()?.issue_req_seq()?,
            false => seq,
        };
        let serial = Serial::New(&seq);
        let fallback = (OpKind::Pay, total_fee);
        settle(
            c,
            out,
            serial,
            fallback,
            cancel,
            progress,
            user_data,
            deadline_ms,
            |o| c.register.settle_pay(Some(&seq), &order, o),
        )
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
        let e = c.enc;
        c.payments()?;
        // SAFETY: caller contract.
        let (seq, pay_seq, reason, cancel) = unsafe {
            (
                req_seq_arg(e, req_seq)?,
                text::required(e, pay_req_seq, "pay_req_seq")?,
                text::required(e, reason, "reason")?,
                cancel_ref(cancel)?,
            )
        };
        let seq = match seq.is_empty() {
            true => c.payments()?.issue_req_seq()?,
            false => seq,
        };
        let serial = Serial::New(&seq);
        let fallback = (OpKind::Refund, refund_fee);
        settle(
            c,
            out,
            serial,
            fallback,
            cancel,
            progress,
            user_data,
            deadline_ms,
            |o| {
                c.register
                    .settle_refund(Some(&seq), &pay_seq, refund_fee, &reason, o)
            },
        )
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
        let e = c.enc;
        c.payments()?;
        // SAFETY: caller contract.
        let seq = unsafe { text::required(e, req_seq, "req_seq")? };
        let serial = Serial::Recorded(&seq);
        let fallback = (OpKind::Pay, 0);
        settle(
            c,
            out,
            serial,
            fallback,
            None,
            progress,
            user_data,
            0,
            |o| c.register.revoke(&seq, o),
        )
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
        let e = c.enc;
        c.payments()?;
        // SAFETY: caller contract.
        let (order, cancel) = unsafe {
            let spec = match kind {
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
            };
            let order = NewOrder {
                total_fee,
                channel: Channel::from_code(&text::required(e, channel, "channel")?),
                spec,
            };
            (order, cancel_ref(cancel)?)
        };
        let fallback = (order_kind(&order.spec), total_fee);
        let serial = Serial::Announced;
        settle(
            c,
            out,
            serial,
            fallback,
            cancel,
            progress,
            user_data,
            deadline_ms,
            |o| c.register.settle_order(&order, o),
        )
    })
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
    fn progress_messages_carry_what_the_screen_needs() {
        let t = Instant::now();
        let (stage, msg, _) = describe(
            &Progress::Sending {
                kind: OpKind::Pay,
                req_seq: "20240101000000000001".into(),
            },
            t,
        );
        assert_eq!(
            (stage, msg.as_str()),
            (YSTPAY_STAGE_SENDING, "20240101000000000001")
        );
        let (stage, msg, elapsed) = describe(
            &Progress::WaitingForCustomer {
                elapsed: Duration::from_millis(1500),
                remaining: Duration::from_millis(10_200),
            },
            t,
        );
        assert_eq!(stage, YSTPAY_STAGE_WAITING);
        assert!(msg.contains("11 秒"), "{msg}");
        assert_eq!(elapsed, Duration::from_millis(1500));
        let (stage, msg, _) = describe(
            &Progress::Finished {
                outcome: Outcome::Revoked,
            },
            t,
        );
        assert_eq!((stage, msg.as_str()), (YSTPAY_STAGE_FINISHED, "REVOKED"));
    }

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
            let r = settlement_record(enc, &s);
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
        assert_eq!(settlement_record(Enc::Gbk, &fits).truncated, 0);
    }

    #[test]
    fn gbk_messages_reach_the_callback_with_their_stage() {
        unsafe extern "system" fn cb(ud: *mut c_void, stage: i32, _: i32, m: *const c_char) {
            // SAFETY: test callback: ud is a &mut Vec, m a C string.
            unsafe {
                let v = &mut *ud.cast::<Vec<(i32, String)>>();
                v.push((stage, std::ffi::CStr::from_ptr(m).to_string_lossy().into()));
            }
        }
        let mut seen: Vec<(i32, String)> = Vec::new();
        let r = Reporter {
            f: Some(cb),
            user_data: (&mut seen as *mut Vec<(i32, String)>).cast(),
            enc: Enc::Gbk,
            started: Instant::now(),
        };
        r.report(&Progress::Querying { attempt: 2 });
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, YSTPAY_STAGE_QUERYING);
    }
}
