//! Started operations (issue 19 part 1): STAND-IN on branch `win19`.
//!
//! The lead builds this module on `main`; this small stand-in has the
//! Rust-internal API the payment window uses and the few C calls the
//! window's Wine test needs (`ystpay_start_pay`, `_op_wait`, `_op_cancel`,
//! `_op_notify`, `_op_number`, `_op_free`), so that the window can be built
//! and tested before part 1 lands. When `main` has `src/ffi/started.rs`,
//! its version replaces this file whole at the merge.
#![cfg_attr(not(windows), allow(dead_code))]
#![allow(missing_docs, clippy::missing_safety_doc)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, guard_void, Failure};
use super::records::ystpay_settlement;
use super::settle::{deliver_settlement, describe};
use super::text;
use crate::flow::{CancelToken, NewOrder, PayOrder, Progress, SettleOptions, Settlement};
use crate::protocol::PaymentCode;

const OP_TAG: u64 = 0x5953_5450_4159_4f50; // "YSTPAYOP"

type Listener = Box<dyn Fn(i32) + Send + Sync>;

struct State {
    stage: i32,
    words: String,
    end: Option<Result<Settlement, Failure>>,
    listeners: Vec<Arc<Listener>>,
}

struct Shared {
    state: Mutex<State>,
    ended: Condvar,
    cancel: CancelToken,
    started: Instant,
    enc: text::Enc,
}

/// A started operation (opaque): made by `ystpay_start_pay`, released by
/// `ystpay_op_free`.
pub struct ystpay_op {
    tag: u64,
    shared: Arc<Shared>,
}

/// What a started operation is doing now.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct Look {
    /// The latest `YSTPAY_STAGE_*` (0 before the first).
    pub stage: i32,
    /// Since the operation started.
    pub elapsed: Duration,
    /// The cashier's words of the latest stage (UTF-8).
    pub words: String,
    /// Whether it has ended.
    pub ended: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, stage: i32, words: String) {
        let listeners = {
            let mut s = self.lock();
            s.stage = stage;
            s.words = words;
            s.listeners.clone()
        };
        for l in listeners {
            l(stage);
        }
    }

    fn finish(&self, end: Result<Settlement, Failure>) {
        let listeners = {
            let mut s = self.lock();
            s.stage = YSTPAY_STAGE_FINISHED;
            s.end = Some(end);
            s.listeners.clone()
        };
        self.ended.notify_all();
        for l in listeners {
            l(YSTPAY_STAGE_FINISHED);
        }
    }
}

impl ystpay_op {
    pub(crate) fn look(&self) -> Look {
        let s = self.shared.lock();
        Look {
            stage: s.stage,
            elapsed: self.shared.started.elapsed(),
            words: s.words.clone(),
            ended: s.end.is_some(),
        }
    }

    pub(crate) fn wait_end(&self, timeout: Duration) -> bool {
        let s = self.shared.lock();
        let (s, _) = self
            .shared
            .ended
            .wait_timeout_while(s, timeout, |s| s.end.is_none())
            .unwrap_or_else(|e| e.into_inner());
        s.end.is_some()
    }

    pub(crate) fn ended(&self) -> Option<Result<Settlement, Failure>> {
        self.shared.lock().end.clone()
    }

    pub(crate) fn cancel(&self) {
        self.shared.cancel.cancel();
    }

    pub(crate) fn on_change(&self, f: Box<dyn Fn(i32) + Send + Sync>) {
        let f = Arc::new(f);
        let stage = {
            let mut s = self.shared.lock();
            s.listeners.push(f.clone());
            s.stage
        };
        f(stage);
    }
}

fn start(
    c: &ystpay_client,
    deadline_ms: i32,
    run: impl FnOnce(&'static ystpay_client, &SettleOptions<'_>) -> Result<Settlement, Failure>
        + Send
        + 'static,
) -> Result<Box<ystpay_op>, Failure> {
    if deadline_ms < 0 {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            "deadline_ms is negative",
        ));
    }
    c.payments()?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            stage: 0,
            words: String::new(),
            end: None,
            listeners: Vec::new(),
        }),
        ended: Condvar::new(),
        cancel: CancelToken::new(),
        started: Instant::now(),
        enc: c.enc,
    });
    // SAFETY (stand-in): the caller keeps the client alive until the
    // operation ends; part 1 on main makes `ystpay_client_free` wait.
    let c: &'static ystpay_client = unsafe { &*(c as *const ystpay_client) };
    let s = shared.clone();
    std::thread::spawn(move || {
        let report = |p: &Progress| {
            let (stage, words, _) = describe(p, s.started);
            if stage != YSTPAY_STAGE_FINISHED {
                s.set(stage, words);
            }
        };
        let opts = SettleOptions {
            progress: Some(&report as &(dyn Fn(&Progress) + Sync)),
            cancel: Some(&s.cancel),
            deadline: (deadline_ms > 0).then(|| Duration::from_millis(deadline_ms as u64)),
            poll: None,
        };
        let end = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(c, &opts)))
            .unwrap_or_else(|_| Err(Failure::new(YSTPAY_ERR_INTERNAL, "panic")));
        s.finish(end);
    });
    Ok(Box::new(ystpay_op {
        tag: OP_TAG,
        shared,
    }))
}

pub(crate) fn start_pay(
    c: &ystpay_client,
    req_seq: Option<String>,
    order: PayOrder,
    deadline_ms: i32,
) -> Result<Box<ystpay_op>, Failure> {
    let seq = match req_seq {
        Some(s) if !s.is_empty() => s,
        _ => c.payments()?.issue_req_seq()?,
    };
    start(c, deadline_ms, move |c, o| {
        Ok(c.register.settle_pay(Some(&seq), &order, o)?)
    })
}

pub(crate) fn start_order(
    c: &ystpay_client,
    order: NewOrder,
    deadline_ms: i32,
) -> Result<Box<ystpay_op>, Failure> {
    start(c, deadline_ms, move |c, o| {
        Ok(c.register.settle_order(&order, o)?)
    })
}

unsafe fn op_ref<'a>(p: *const ystpay_op) -> Result<&'a ystpay_op, Failure> {
    if p.is_null() {
        return Err(Failure::new(
            YSTPAY_ERR_NULL_ARGUMENT,
            "argument 'op' is NULL",
        ));
    }
    // SAFETY: caller contract.
    let op = unsafe { &*p };
    if op.tag != OP_TAG {
        return Err(Failure::new(YSTPAY_ERR_INVALID_HANDLE, "not a ystpay_op"));
    }
    Ok(op)
}

/// Starts a barcode payment (stand-in of issue 19 part 1).
///
/// # Safety
/// As `ystpay_settle_pay`; `out` receives the handle.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_start_pay(
    client: *const ystpay_client,
    req_seq: *const std::os::raw::c_char,
    total_fee: i64,
    auth_code: *const std::os::raw::c_char,
    channel: *const std::os::raw::c_char,
    items: *const super::records::ystpay_prod_item,
    item_count: i32,
    deadline_ms: i32,
    out: *mut *mut ystpay_op,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let (seq, order) = unsafe {
            let seq = super::calls::req_seq_arg(e, req_seq)?;
            let mut order = PayOrder::new(
                total_fee,
                PaymentCode::new(text::required(e, auth_code, "auth_code")?),
            );
            order.channel = text::optional(e, channel, "channel")?
                .map(|s| crate::protocol::Channel::from_code(&s));
            order.prod_details = super::calls::read_items(e, items, item_count)?;
            (seq, order)
        };
        let op = start_pay(c, Some(seq), order, deadline_ms)?;
        // SAFETY: checked non-NULL.
        unsafe { out.write_unaligned(Box::into_raw(op)) };
        Ok(())
    })
}

/// Waits up to `timeout_ms` for the end (stand-in).
///
/// # Safety
/// `op` live; `out` NULL or a writable `ystpay_settlement`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_wait(
    op: *const ystpay_op,
    timeout_ms: i32,
    out: *mut ystpay_settlement,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        if !out.is_null() {
            // SAFETY: caller contract.
            unsafe { super::records::check_size(out)? };
        }
        if !op.wait_end(Duration::from_millis(timeout_ms.max(0) as u64)) {
            return Err(Failure::new(YSTPAY_ERR_STILL_RUNNING, "still running"));
        }
        match op.ended() {
            Some(Ok(s)) => {
                if !out.is_null() {
                    deliver_settlement(op.shared.enc, out, &s);
                }
                Ok(())
            }
            Some(Err(f)) => Err(f),
            None => Err(Failure::new(YSTPAY_ERR_STILL_RUNNING, "still running")),
        }
    })
}

/// Cancels (stand-in).
///
/// # Safety
/// `op` live.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_cancel(op: *const ystpay_op) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        unsafe { op_ref(op)? }.cancel();
        Ok(())
    })
}

/// Posts `message` to `hwnd` at every stage change (stand-in).
///
/// # Safety
/// `op` live.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_notify(
    op: *const ystpay_op,
    hwnd: *mut std::ffi::c_void,
    message: u32,
    wparam: isize,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        #[cfg(windows)]
        {
            let h = hwnd as usize;
            op.on_change(Box::new(move |stage| {
                // SAFETY: PostMessageW takes any window handle; a closed
                // window makes it fail, nothing more.
                unsafe {
                    windows_sys::Win32::UI::WindowsAndMessaging::PostMessageW(
                        h as _,
                        message,
                        wparam as usize,
                        stage as isize,
                    )
                };
            }));
            Ok(())
        }
        #[cfg(not(windows))]
        {
            let _ = (op, hwnd, message, wparam);
            Err(Failure::new(
                YSTPAY_ERR_NOT_SUPPORTED,
                "window messages: Windows only",
            ))
        }
    })
}

/// A number of the ended operation's settlement (stand-in: OUTCOME=1,
/// TOTAL_FEE=4).
///
/// # Safety
/// `op` live; `value` writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_number(
    op: *const ystpay_op,
    field: i32,
    value: *mut i64,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        let value = non_null!(value);
        let s = match op.ended() {
            None => return Err(Failure::new(YSTPAY_ERR_STILL_RUNNING, "still running")),
            Some(r) => r?,
        };
        let v = match field {
            1 => i64::from(outcome_code(s.outcome)),
            4 => s.total_fee,
            _ => return Err(Failure::new(YSTPAY_ERR_INVALID_ARGUMENT, "field")),
        };
        // SAFETY: checked non-NULL.
        unsafe { value.write_unaligned(v) };
        Ok(())
    })
}

/// Frees the handle; a running operation runs on (stand-in).
///
/// # Safety
/// `op` NULL or live, freed once.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_free(op: *mut ystpay_op) {
    guard_void(|| {
        // SAFETY: caller contract.
        if unsafe { op_ref(op) }.is_ok() {
            // SAFETY: from Box::into_raw.
            let mut b = unsafe { Box::from_raw(op) };
            b.tag = 0;
        }
    })
}
