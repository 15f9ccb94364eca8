//! Started operations: each settle call's twin that returns at once with a
//! handle (`ystpay_op`), for POS programs whose only thread is the UI
//! thread (docs/C-ABI.md, "Started operations").
//!
//! The operation is the blocking call's, run on a library thread: the same
//! job (`settle::Job`), the same flow, the same end. The twin returns once
//! the flow has announced its first step — the operation is in the journal
//! and nothing has left yet: the library thread waits at that step until
//! the twin has returned its handle — or once it ended without sending.
//! The handle is only a view: freeing it never stops the operation, and a
//! client waits for its running operations before it is freed.

use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, guard_void, panicked, set_call_encoding, CallResult, Failure};
use super::progress::{describe, Hear};
use super::records::*;
use super::settle::{read_order, read_pay, read_refund, read_revoke, run, settlement_record};
use super::settle::{Job, Settled};
use super::text::{self, Enc};
use crate::flow::{CancelToken, Progress};

// The end of an operation, field by field, has its own file.
pub use super::op_fields::{ystpay_op_number, ystpay_op_receipt_line, ystpay_op_text};

const OP_TAG: u64 = 0x5953_5450_4159_4f50; // "YSTPAYOP"

/// A started operation (opaque): a payment, refund, revoke or order that
/// runs on a library thread while the caller's thread goes on.
///
/// Made by `ystpay_start_pay`, `_refund`, `_revoke`, `_order` (and the
/// payment window); looked at with `ystpay_op_wait`, `ystpay_op_stage` and
/// the getters; stopped with `ystpay_op_cancel`; released with
/// `ystpay_op_free`, which never stops the operation.
/// **Thread safety:** every call but `ystpay_op_free` may run on any
/// thread at once; free it once, when no other thread uses the handle.
pub struct ystpay_op {
    tag: u64,
    shared: Arc<Shared>,
}

/// What the caller can see of a started operation right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Look {
    /// The latest `YSTPAY_STAGE_*` (`YSTPAY_STAGE_FINISHED` once ended).
    pub(crate) stage: i32,
    /// As the progress callback's `elapsed_ms`, counted on to now.
    pub(crate) elapsed: Duration,
    /// The words for the cashier (UTF-8), as the progress callback's
    /// message; at the end the outcome's name, or the failure's message.
    pub(crate) words: String,
    /// The operation has ended.
    pub(crate) ended: bool,
    /// The URL to show as a QR code (or open), once an order announced it
    /// (`YSTPAY_STAGE_SHOW_CODE`): kept after later stages replace the
    /// words.
    pub(crate) pay_url: Option<String>,
}

type Listener = Box<dyn Fn(i32) + Send + Sync>;

/// The state a started operation shares between its library thread and
/// its handle.
struct Shared {
    enc: Enc,
    cancel: CancelToken,
    began: Instant,
    state: Mutex<State>,
    changed: Condvar,
    /// Told the stage at every change and at the end. Locked while
    /// telling, so that after `ystpay_op_free` nothing more is told.
    listeners: Mutex<Vec<Listener>>,
}

#[derive(Default)]
struct State {
    stage: i32,
    /// `elapsed` as of `at`.
    elapsed: Duration,
    at: Option<Instant>,
    words: String,
    pay_url: Option<String>,
    /// The flow announced its first step.
    seen: bool,
    /// The twin has taken the handle: the flow may send.
    handed: bool,
    end: Option<Result<Settled, Failure>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn new(enc: Enc) -> Shared {
        Shared {
            enc,
            cancel: CancelToken::new(),
            began: Instant::now(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            listeners: Mutex::new(Vec::new()),
        }
    }

    /// A progress event of the flow (on the library thread).
    fn heard(&self, p: &Progress) {
        // The end is told by `finish`, with the settlement in place.
        if matches!(p, Progress::Finished { .. }) {
            return;
        }
        let (stage, words, elapsed) = describe(p, self.began);
        let mut s = lock(&self.state);
        if let Progress::ShowCode { pay_url } = p {
            s.pay_url = Some(pay_url.clone());
        }
        let first = !s.seen;
        s.stage = stage;
        s.words = words;
        s.elapsed = elapsed;
        s.at = Some(Instant::now());
        s.seen = true;
        self.changed.notify_all();
        if first {
            // Nothing leaves before the twin has returned its handle.
            while !s.handed {
                s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
            }
        }
        drop(s);
        self.tell(stage);
    }

    /// The end of the operation (on the library thread).
    fn finish(&self, end: Result<Settled, Failure>) {
        let mut s = lock(&self.state);
        s.words = match &end {
            Ok(settled) => settled.settlement.outcome.as_str().to_string(),
            Err(f) => f.message.clone(),
        };
        s.stage = YSTPAY_STAGE_FINISHED;
        s.elapsed = self.began.elapsed();
        s.at = None;
        s.end = Some(end);
        self.changed.notify_all();
        drop(s);
        self.tell(YSTPAY_STAGE_FINISHED);
    }

    fn tell(&self, stage: i32) {
        let listeners = lock(&self.listeners);
        for l in listeners.iter() {
            // A listener's panic must not stop the operation's thread.
            let _ = catch_unwind(AssertUnwindSafe(|| l(stage)));
        }
    }

    fn look(&self) -> Look {
        let s = lock(&self.state);
        let since = s.at.map_or(Duration::ZERO, |at| at.elapsed());
        Look {
            stage: s.stage,
            elapsed: s.elapsed + since,
            words: s.words.clone(),
            ended: s.end.is_some(),
            pay_url: s.pay_url.clone(),
        }
    }

    /// Waits up to `timeout` for the end; `None` while it runs.
    fn wait_end(&self, timeout: Duration) -> Option<Result<Settled, Failure>> {
        let s = lock(&self.state);
        let (s, _) = self
            .changed
            .wait_timeout_while(s, timeout, |s| s.end.is_none())
            .unwrap_or_else(|p| p.into_inner());
        s.end.clone()
    }
}

impl ystpay_op {
    /// The encoding of its client's strings.
    pub(super) fn enc(&self) -> Enc {
        self.shared.enc
    }

    /// What the operation is doing now.
    pub(crate) fn look(&self) -> Look {
        self.shared.look()
    }

    /// Waits up to `timeout` for the end; true once ended.
    // The payment window's (Windows only).
    #[allow(dead_code)]
    pub(crate) fn wait_end(&self, timeout: Duration) -> bool {
        self.shared.wait_end(timeout).is_some()
    }

    /// The end, once there is one: the settlement (`YSTPAY_OK`), or the
    /// failure the blocking call would have returned (nothing was sent).
    // The payment window's (Windows only).
    #[allow(dead_code)]
    pub(crate) fn ended(&self) -> Option<Result<crate::flow::Settlement, Failure>> {
        self.shared
            .wait_end(Duration::ZERO)
            .map(|e| e.map(|s| s.settlement))
    }

    /// Pulls the operation's cancel switch (as `ystpay_cancel_trigger`).
    pub(crate) fn cancel(&self) {
        self.shared.cancel.cancel()
    }

    /// Calls `f` with the stage at every change and at the end, on the
    /// operation's thread; and once now, on this thread, with the current
    /// stage (`YSTPAY_STAGE_FINISHED` when it already ended), so that no
    /// change between the start and this call is missed. `f` must return
    /// quickly; it may `look` at the operation (the state is not locked
    /// while listeners are told) but must not add a listener.
    // The payment window's (Windows only).
    #[allow(dead_code)]
    pub(crate) fn on_change(&self, f: Box<dyn Fn(i32) + Send + Sync>) {
        // Holding the listeners first: the end cannot be told between
        // reading the stage and adding `f`.
        let mut listeners = lock(&self.shared.listeners);
        f(self.shared.look().stage);
        listeners.push(f);
    }
}

/// Counts a client's running operations, so that freeing the client
/// waits for them (they use it until they end).
#[derive(Debug, Default)]
pub(crate) struct Running {
    count: Mutex<usize>,
    idle: Condvar,
}

/// One running operation of a client; dropped when it no longer uses it.
struct Ticket(Arc<Running>);

impl Running {
    fn enter(self: &Arc<Self>) -> Ticket {
        *lock(&self.count) += 1;
        Ticket(self.clone())
    }

    /// Waits until no operation of the client runs.
    pub(crate) fn wait_idle(&self) {
        let n = lock(&self.count);
        let _n = self
            .idle
            .wait_while(n, |n| *n > 0)
            .unwrap_or_else(|p| p.into_inner());
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut n = lock(&self.0.count);
        *n -= 1;
        if *n == 0 {
            self.0.idle.notify_all();
        }
    }
}

/// The client, for the operation's thread: `ystpay_client_free` waits
/// (through [`Running`]) until that thread's [`Ticket`] is dropped.
struct ClientRef(*const ystpay_client);
// SAFETY: the client is `Sync` in use (every settle call only reads it)
// and outlives the thread, as said above.
unsafe impl Send for ClientRef {}

/// Runs `f` on a library thread of its own that the client waits for when
/// it is freed (as for a started operation), and returns at once: for
/// work a UI thread must not wait for, such as warming the link when the
/// payment window opens. Nothing is returned; `f` reports through the log.
#[cfg_attr(not(windows), allow(dead_code))]
pub(super) fn in_background(c: &ystpay_client, f: impl FnOnce(&ystpay_client) + Send + 'static) {
    let ticket = c.ops.enter();
    let client = ClientRef(c);
    // A thread that cannot start only loses the warm-up.
    let _ = std::thread::Builder::new()
        .name("ystpay-background".into())
        .spawn(move || {
            let ticket = ticket;
            let client = client;
            // SAFETY: see `ClientRef`: the ticket keeps the client alive.
            let c = unsafe { &*client.0 };
            let _ = catch_unwind(AssertUnwindSafe(|| f(c)));
            drop(ticket);
        });
}

/// Starts `job` on a library thread and returns once it has announced its
/// first step (journal written, nothing sent) or ended without sending.
pub(super) fn start(c: &ystpay_client, job: Job) -> Result<Box<ystpay_op>, Failure> {
    let shared = Arc::new(Shared::new(c.enc));
    let ticket = c.ops.enter();
    let client = ClientRef(c);
    let sh = shared.clone();
    std::thread::Builder::new()
        .name("ystpay-op".into())
        .spawn(move || {
            let ticket = ticket;
            let client = client;
            // SAFETY: see `ClientRef`: the ticket keeps the client alive.
            let c = unsafe { &*client.0 };
            let hook = |p: &Progress| sh.heard(p);
            let end = catch_unwind(AssertUnwindSafe(|| {
                let hear = Hear {
                    cancel: Some(&sh.cancel),
                    progress: None,
                    user_data: std::ptr::null_mut(),
                    also: Some(&hook),
                };
                run(c, &job, &hear)
            }))
            .unwrap_or_else(|p| Err(panicked(p)));
            sh.finish(end);
            drop(ticket);
        })
        .map_err(|e| {
            Failure::new(
                YSTPAY_ERR_INTERNAL,
                format!("cannot start the operation's thread: {e}"),
            )
        })?;
    let s = lock(&shared.state);
    let mut s = shared
        .changed
        .wait_while(s, |s| !s.seen && s.end.is_none())
        .unwrap_or_else(|p| p.into_inner());
    if !s.seen {
        if let Some(Err(f)) = &s.end {
            return Err(f.clone());
        }
    }
    s.handed = true;
    shared.changed.notify_all();
    drop(s);
    Ok(Box::new(ystpay_op {
        tag: OP_TAG,
        shared,
    }))
}

/// Dereferences an operation handle.
///
/// # Safety
/// `p` is NULL or a live handle from a `ystpay_start_*` call.
pub(super) unsafe fn op_ref<'a>(p: *const ystpay_op) -> Result<&'a ystpay_op, Failure> {
    let p = non_null!(p);
    let foreign = || {
        Failure::new(
            YSTPAY_ERR_INVALID_HANDLE,
            "argument 'op' is not a ystpay_op",
        )
    };
    if !(p as usize).is_multiple_of(std::mem::align_of::<ystpay_op>()) {
        return Err(foreign());
    }
    // SAFETY: caller contract: a live handle (aligned, checked above).
    let op = unsafe { &*p };
    if op.tag != OP_TAG {
        return Err(foreign());
    }
    set_call_encoding(op.shared.enc);
    Ok(op)
}

fn hand_out(job: Result<Job, Failure>, c: &ystpay_client, out: *mut *mut ystpay_op) -> CallResult {
    let op = start(c, job?)?;
    // SAFETY: `out` was checked non-NULL by the caller.
    unsafe { out.write_unaligned(Box::into_raw(op)) };
    Ok(())
}

/// The settlement of an ended operation, or why there is none.
pub(super) fn settled(op: &ystpay_op) -> Result<Settled, Failure> {
    match op.shared.wait_end(Duration::ZERO) {
        Some(end) => end,
        None => Err(still_running()),
    }
}

pub(super) fn still_running() -> Failure {
    Failure::new(YSTPAY_ERR_STILL_RUNNING, "the operation is still running")
}

// ------------------------------------------------------------------ starting

/// **Constructor (started operation).** Starts the payment that
/// `ystpay_settle_pay` takes, on a library thread, and returns at once:
/// as soon as the payment is in the journal, before its first request
/// leaves. The calling thread (a UI thread) goes on; look at the
/// operation with `ystpay_op_wait` / `ystpay_op_stage` (e.g. from a
/// 100 ms timer), cancel it with `ystpay_op_cancel` (the Esc key), or, on
/// Windows, have a message posted at every stage (`ystpay_op_notify`).
///
/// Arguments as for `ystpay_settle_pay`, without cancel and progress: the
/// operation has its own. `out` receives the handle (caller-owned; release
/// it with `ystpay_op_free`), written only on `YSTPAY_OK`.
///
/// `YSTPAY_OK`: the payment runs (or already ended). **Any other code
/// means nothing was sent** and no handle was made — the same codes, for
/// the same reasons, as `ystpay_settle_pay`'s (also `YSTPAY_ERR_INTERNAL`
/// when no thread can be started). Several operations may run at once on
/// one client. Thread-safe.
///
/// # Safety
/// As for `ystpay_settle_pay`; `out` points to writable storage for one
/// pointer.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_start_pay(
    client: *const ystpay_client,
    req_seq: *const c_char,
    total_fee: i64,
    auth_code: *const c_char,
    channel: *const c_char,
    items: *const ystpay_prod_item,
    item_count: i32,
    deadline_ms: i32,
    out: *mut *mut ystpay_op,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        // SAFETY: caller contract.
        let job = unsafe {
            read_pay(
                c,
                req_seq,
                total_fee,
                auth_code,
                channel,
                items,
                item_count,
                deadline_ms,
            )
        };
        hand_out(job, c, out)
    })
}

/// **Constructor (started operation).** Starts the refund that
/// `ystpay_settle_refund` makes, on a library thread, and returns once it
/// is in the journal, before its first request leaves. Arguments and
/// result codes as for `ystpay_settle_refund` (without cancel and
/// progress) and `ystpay_start_pay` (`out`). `ystpay_op_cancel` means "do
/// not refund", as the cancel switch does. Thread-safe.
///
/// # Safety
/// As for `ystpay_settle_refund`; `out` writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_start_refund(
    client: *const ystpay_client,
    req_seq: *const c_char,
    pay_req_seq: *const c_char,
    refund_fee: i64,
    reason: *const c_char,
    deadline_ms: i32,
    out: *mut *mut ystpay_op,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        // SAFETY: caller contract.
        let job = unsafe { read_refund(c, req_seq, pay_req_seq, refund_fee, reason, deadline_ms) };
        hand_out(job, c, out)
    })
}

/// **Constructor (started operation).** Starts the revoke that
/// `ystpay_settle_revoke` makes, on a library thread, and returns before
/// its first request leaves (at once with an ended operation when there is
/// nothing to send: see `ystpay_settle_revoke` for what it then holds).
/// Result codes as for `ystpay_settle_revoke`; `out` as for
/// `ystpay_start_pay`. A revoke cannot be cancelled
/// (`ystpay_op_cancel` does nothing to it). Thread-safe.
///
/// # Safety
/// `req_seq` NUL-terminated; `out` writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_start_revoke(
    client: *const ystpay_client,
    req_seq: *const c_char,
    out: *mut *mut ystpay_op,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        // SAFETY: caller contract.
        let job = unsafe { read_revoke(c, req_seq) };
        hand_out(job, c, out)
    })
}

/// **Constructor (started operation).** Starts the QR-code, JS or H5 order
/// that `ystpay_settle_order` creates and waits for, on a library thread,
/// and returns once it is in the journal, before the create request
/// leaves. The URL to show arrives with the stage
/// `YSTPAY_STAGE_SHOW_CODE`: read it with `ystpay_op_text(op,
/// YSTPAY_FIELD_PAY_URL, ...)`, which keeps it while the order waits (the
/// stage's words change to the waiting words at the first query). Arguments and result
/// codes as for `ystpay_settle_order` (without cancel and progress);
/// `out` as for `ystpay_start_pay`. Thread-safe.
///
/// # Safety
/// As for `ystpay_settle_order`; `out` writable.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_start_order(
    client: *const ystpay_client,
    kind: i32,
    total_fee: i64,
    channel: *const c_char,
    expire_seconds: i32,
    subopen_id: *const c_char,
    ip: *const c_char,
    redirect_url: *const c_char,
    deadline_ms: i32,
    out: *mut *mut ystpay_op,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        // SAFETY: caller contract.
        let job = unsafe {
            read_order(
                c,
                kind,
                total_fee,
                channel,
                expire_seconds,
                subopen_id,
                ip,
                redirect_url,
                deadline_ms,
            )
        };
        hand_out(job, c, out)
    })
}

// ------------------------------------------------------------------ looking

/// **Method.** Waits up to `timeout_ms` for the operation's end; 0 only
/// looks. Returns `YSTPAY_ERR_STILL_RUNNING` while it runs; after the end,
/// the code the blocking `ystpay_settle_*` call would have returned:
/// `YSTPAY_OK` with the same settlement record in `out` (when not NULL;
/// `out->outcome` says what happened to the money), or a failure that
/// means nothing was sent (`ystpay_last_error` says why). Any number of
/// times, from any thread; the end never changes.
///
/// Also `YSTPAY_ERR_NULL_ARGUMENT`, `YSTPAY_ERR_INVALID_HANDLE`,
/// `YSTPAY_ERR_INVALID_ARGUMENT` (negative timeout),
/// `YSTPAY_ERR_STRUCT_SIZE`. On a UI thread, wait 0 from a timer: a
/// longer wait stops the window from painting.
///
/// # Safety
/// `op` a live handle; `out` NULL or a writable `ystpay_settlement`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_wait(
    op: *const ystpay_op,
    timeout_ms: i32,
    out: *mut ystpay_settlement,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        if timeout_ms < 0 {
            return Err(Failure::new(
                YSTPAY_ERR_INVALID_ARGUMENT,
                "timeout_ms is negative",
            ));
        }
        if !out.is_null() {
            // SAFETY: non-NULL; the caller passes a settlement record.
            unsafe { check_size(out)? };
        }
        let wait = Duration::from_millis(timeout_ms as u64);
        let settled = match op.shared.wait_end(wait) {
            Some(end) => end?,
            None => return Err(still_running()),
        };
        if !out.is_null() {
            let rec = settlement_record(op.shared.enc, &settled);
            // SAFETY: checked above.
            unsafe { deliver(out, &rec) };
        }
        Ok(())
    })
}

/// **Method.** What the operation is doing now: the latest stage
/// (`YSTPAY_STAGE_*`; `YSTPAY_STAGE_FINISHED` once it ended), the
/// milliseconds as the progress callback counts them (counted on to now),
/// and the words for the cashier in the client's encoding — the same as
/// the progress callback's message (e.g. "等待顾客付款（输入密码），还剩
/// 42 秒"; for `SHOW_CODE` the URL to show as a QR code; at the end the
/// outcome's name, or why nothing was sent).
///
/// - `stage`, `elapsed_ms`: NULL or receive the values.
/// - `words`, `words_size`, `needed`: NULL/0 when the words are not
///   wanted; otherwise as for `ystpay_last_error` (a buffer too small is
///   `YSTPAY_ERR_BUFFER_TOO_SMALL` with `*needed` set, and nothing else is
///   written).
///
/// Returns `YSTPAY_OK` (also while it runs), `YSTPAY_ERR_NULL_ARGUMENT`,
/// `YSTPAY_ERR_INVALID_HANDLE`, `YSTPAY_ERR_BUFFER_TOO_SMALL` or
/// `YSTPAY_ERR_INVALID_ARGUMENT`. Thread-safe; never blocks.
///
/// # Safety
/// `op` a live handle; the other pointers NULL or writable as described.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_stage(
    op: *const ystpay_op,
    stage: *mut i32,
    elapsed_ms: *mut i32,
    words: *mut c_char,
    words_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        let look = op.look();
        if !words.is_null() || words_size != 0 || !needed.is_null() {
            let bytes = text::encode(op.shared.enc, &look.words);
            // SAFETY: caller contract.
            unsafe { text::copy_out(&bytes, words, words_size, needed)? };
        }
        let ms = i32::try_from(look.elapsed.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: caller contract: NULL or writable.
        unsafe {
            if !stage.is_null() {
                stage.write_unaligned(look.stage);
            }
            if !elapsed_ms.is_null() {
                elapsed_ms.write_unaligned(ms);
            }
        }
        Ok(())
    })
}

/// **Method.** Cancels the operation: the same meaning as
/// `ystpay_cancel_trigger` for the blocking call (stop waiting and revoke
/// a payment or order that may have arrived; never resend a refund; a
/// revoke under way is finished). Returns at once; the operation ends on
/// its own thread (watch it with `ystpay_op_wait`). Any number of times,
/// also after the end (then it does nothing). Returns `YSTPAY_OK`,
/// `YSTPAY_ERR_NULL_ARGUMENT` or `YSTPAY_ERR_INVALID_HANDLE`. Thread-safe.
///
/// # Safety
/// `op` a live handle.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_cancel(op: *const ystpay_op) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        unsafe { op_ref(op)? }.cancel();
        Ok(())
    })
}

/// **Method (Windows).** Has the library post `message` to the window
/// `hwnd` (`PostMessage`, never `SendMessage`: the operation never waits
/// for the window) at every stage change and at the end, so that a
/// PowerBuilder (`pbm_customNN`, i.e. `WM_USER + NN - 1`) or Delphi
/// program reacts without polling: `wParam` is the caller's `wparam` as
/// given, zero-extended (e.g. a sale number; never a pointer), `lParam`
/// the new `YSTPAY_STAGE_*`; the end is `YSTPAY_STAGE_FINISHED`, after
/// which `ystpay_op_wait(op, 0, ...)` gives the end. One message is posted
/// at once with the current stage, so nothing between the start and this
/// call is missed. Several windows may be registered. After
/// `ystpay_op_free` returns, no more messages are posted for it.
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_NULL_ARGUMENT` (`op` or `hwnd`),
/// `YSTPAY_ERR_INVALID_HANDLE`, or `YSTPAY_ERR_NOT_SUPPORTED` on every
/// other platform. Thread-safe.
///
/// # Safety
/// `op` a live handle; `hwnd` a window handle (a closed window only makes
/// the posts fail, silently).
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_notify(
    op: *const ystpay_op,
    hwnd: *mut std::ffi::c_void,
    message: u32,
    wparam: i32,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        let hwnd = non_null!(hwnd);
        post_on_change(op, hwnd as usize, message, wparam)
    })
}

#[cfg(windows)]
fn post_on_change(op: &ystpay_op, hwnd: usize, message: u32, wparam: i32) -> CallResult {
    use windows_sys::Win32::UI::WindowsAndMessaging::PostMessageW;
    op.on_change(Box::new(move |stage| {
        // SAFETY: PostMessageW takes any window handle; a stale one fails.
        unsafe { PostMessageW(hwnd as _, message, wparam as u32 as usize, stage as isize) };
    }));
    Ok(())
}

#[cfg(not(windows))]
fn post_on_change(_: &ystpay_op, _: usize, _: u32, _: i32) -> CallResult {
    Err(Failure::new(
        YSTPAY_ERR_NOT_SUPPORTED,
        "window messages exist only on Windows: poll with ystpay_op_wait",
    ))
}

/// **Destructor.** Releases the handle. NULL is a no-op. **The operation
/// is not stopped**: a running one runs to its end on its thread and the
/// journal records that end (read it later with `ystpay_journal_*`, or
/// cancel first with `ystpay_op_cancel`). No window message is posted for
/// it after this returns. Once per handle, when no other thread uses it.
///
/// # Safety
/// `op` NULL or a live handle, freed once.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_free(op: *mut ystpay_op) {
    guard_void(|| {
        // SAFETY: caller contract.
        if unsafe { op_ref(op) }.is_ok() {
            // SAFETY: the pointer came from Box::into_raw in `hand_out`.
            let mut b = unsafe { Box::from_raw(op) };
            b.tag = 0;
            lock(&b.shared.listeners).clear();
            drop(b);
        }
    })
}
