//! The settle flow through the C ABI: one call per operation that returns
//! only with a final answer (PAID, FAILED, REVOKED, or UNKNOWN when the
//! platform stayed unreachable), a cancel handle usable from another
//! thread, a progress callback, and recovery.
//!
//! These calls need a client with a journal (`journal=` in the
//! configuration, or `ystpay_client_new_ex`): every operation is recorded
//! before its request leaves, so a crash or power cut loses nothing.

use std::ffi::c_void;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::calls::{read_items, req_seq_arg};
use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, guard_void, Failure};
use super::records::*;
use super::text::{self, Enc, Writer};
use crate::flow::{
    CancelToken, NewOrder, OrderSpec, PayOrder, Progress, RevokeReason, SettleOptions, Settlement,
};
use crate::protocol::{Channel, PaymentCode};

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
fn describe(p: &Progress, started: Instant) -> (i32, String, Duration) {
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
unsafe fn cancel_ref<'a>(p: *const ystpay_cancel) -> Result<Option<&'a CancelToken>, Failure> {
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

/// Runs `body` with the options built from the C arguments.
pub(super) fn with_options<T>(
    enc: Enc,
    cancel: Option<&CancelToken>,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    deadline_ms: i32,
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
        if let Some(r) = &reporter {
            r.report(p)
        }
    };
    let opts = SettleOptions {
        progress: reporter
            .is_some()
            .then_some(&report as &(dyn Fn(&Progress) + Sync)),
        cancel,
        deadline: (deadline_ms > 0).then(|| Duration::from_millis(deadline_ms as u64)),
        poll: None,
    };
    Ok(body(&opts))
}

fn settlement_record(enc: Enc, s: &Settlement) -> Result<Box<ystpay_settlement>, Failure> {
    let mut r = blank::<ystpay_settlement>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    rec.outcome = outcome_code(s.outcome);
    rec.total_fee = s.total_fee;
    rec.kind = kind_code(s.kind);
    rec.state = state_code(s.state);
    rec.journal_failed = s.journal_error.is_some() as i32;
    w.opt_text(&mut rec.channel, s.channel.as_deref());
    w.id(&mut rec.req_seq, &s.req_seq, "req_seq")?;
    if let Some(t) = &s.trans_seq {
        w.id(&mut rec.trans_seq, t, "trans_seq")?;
    }
    if let Some(t) = &s.refund_seq {
        w.id(&mut rec.refund_seq, t, "refund_seq")?;
    }
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
    Ok(r)
}

fn deliver_settlement(
    enc: Enc,
    out: *mut ystpay_settlement,
    s: &Settlement,
) -> Result<(), Failure> {
    let rec = settlement_record(enc, s)?;
    // SAFETY: `out` was checked by `out_record!`.
    unsafe { deliver(out, &rec) };
    Ok(())
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

/// **Method.** Pulls the switch: the settle call using it stops waiting
/// and revokes the payment (a payment the platform already reported paid
/// stays paid; a request in flight is answered first). Returns at once.
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
/// cancelled: money returned or never taken), or `YSTPAY_OUTCOME_UNKNOWN`
/// (the platform stayed unreachable: the journal keeps it open and
/// `ystpay_recover` settles it later; or the platform answered about
/// another order under this serial: `out->state` is
/// `YSTPAY_STATE_CONFLICT`, `out->detail` names the difference, nothing is
/// revoked, and a person must look at it).
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
/// - `cancel`: NULL, or a switch another thread may pull to stop waiting
///   and revoke.
/// - `progress`, `user_data`: NULL, or a callback run on this thread at
///   every step (see `ystpay_progress_fn` for its rules).
/// - `out`: caller-owned `ystpay_settlement`, written only on `YSTPAY_OK`.
///
/// `YSTPAY_OK` means the flow ran: read `out->outcome`. Any other code
/// means nothing was sent. Blocks the calling thread up to the deadline
/// plus the revoke's retries. Thread-safe: several threads may settle on
/// one handle at once.
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
        let seq = (!seq.is_empty()).then_some(seq);
        let s = with_options(e, cancel, progress, user_data, deadline_ms, |o| {
            c.register.settle_pay(seq.as_deref(), &order, o)
        })??;
        deliver_settlement(e, out, &s)
    })
}

/// **Method (settle flow).** Refunds `refund_fee` fen of a payment recorded
/// in the journal (`pay_req_seq`: the payment's `req_seq`), retrying with
/// the same refund serial and querying when unsure. The journal refuses
/// locally a refund of an unpaid payment (`YSTPAY_ERR_NOT_PAID`) or one
/// that would exceed what is left (`YSTPAY_ERR_REFUND_EXCEEDS`).
///
/// `out->outcome`: `YSTPAY_OUTCOME_PAID` refunded, `FAILED` refused by the
/// platform, `UNKNOWN` not settled by the deadline (`deadline_ms`, 0 for
/// 30 s; recovery goes on). `out->refund_seq` is the platform's refund
/// number, `out->trans_seq` the refunded order's. Other arguments as for
/// `ystpay_settle_pay` (`req_seq` is the refund's own serial). Thread-safe.
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
        let seq = (!seq.is_empty()).then_some(seq);
        let s = with_options(e, cancel, progress, user_data, deadline_ms, |o| {
            c.register
                .settle_refund(seq.as_deref(), &pay_seq, refund_fee, &reason, o)
        })??;
        deliver_settlement(e, out, &s)
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
/// touch). `progress`/`user_data` as for `ystpay_settle_pay`.
/// Thread-safe.
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
        let s = with_options(e, None, progress, user_data, 0, |o| {
            c.register.revoke(&seq, o)
        })??;
        deliver_settlement(e, out, &s)
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
/// - `cancel`, `progress`, `user_data`, `out`: as for `ystpay_settle_pay`.
///
/// The order's serial is generated (`out->req_seq`; also the message of
/// the first `YSTPAY_STAGE_SENDING` callback). Thread-safe.
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
        let s = with_options(e, cancel, progress, user_data, deadline_ms, |o| {
            c.register.settle_order(&order, o)
        })??;
        deliver_settlement(e, out, &s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Outcome;
    use crate::journal::OpKind;

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
