//! What a running settle flow tells the caller: the progress callback and
//! its words for the cashier, and what the call itself must know of the
//! requests it made (whether any may have left, under which serial).

use std::ffi::c_void;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::codes::*;
use super::error::Failure;
use super::text::{self, Enc};
use crate::flow::{CancelToken, Progress, RevokeReason, SettleOptions};

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

    pub(super) fn announced(&self) -> Option<String> {
        self.announced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn requests(&self) -> bool {
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

/// How the caller hears of a running flow and stops it: the cancel
/// switch, the progress callback, and for a started operation its own
/// record of the stages (`also`, called before the callback).
pub(super) struct Hear<'a> {
    pub(super) cancel: Option<&'a CancelToken>,
    pub(super) progress: ystpay_progress_fn,
    pub(super) user_data: *mut c_void,
    pub(super) also: Option<&'a (dyn Fn(&Progress) + Sync)>,
}

/// Runs `body` with the options built from the C arguments; the flow's
/// progress also goes to `watch`.
pub(super) fn with_options<T>(
    enc: Enc,
    hear: &Hear<'_>,
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
    let reporter = hear.progress.is_some().then(|| Reporter {
        f: hear.progress,
        user_data: hear.user_data,
        enc,
        started: Instant::now(),
    });
    let also = hear.also;
    let report = |p: &Progress| {
        watch.see(p);
        #[cfg(feature = "crash-points")]
        testing::check(describe(p, Instant::now()).0);
        if let Some(also) = also {
            also(p)
        }
        if let Some(r) = &reporter {
            r.report(p)
        }
    };
    let opts = SettleOptions {
        progress: Some(&report as &(dyn Fn(&Progress) + Sync)),
        cancel: hear.cancel,
        deadline: (deadline_ms > 0).then(|| Duration::from_millis(deadline_ms as u64)),
        poll: None,
    };
    Ok(body(&opts))
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
