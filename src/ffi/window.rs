//! The payment window (Windows): the library's own modal window for a
//! barcode payment or a QR-code order, for programs that would rather
//! not draw one. Elsewhere the calls return `YSTPAY_ERR_NOT_SUPPORTED`.
//! The window itself is `crate::window`.

use std::ffi::c_void;
use std::os::raw::c_char;

use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, Failure};
use super::started::ystpay_op;
#[cfg(windows)]
use super::text;

/// `ystpay_window_pay` / `ystpay_window_order` flag: English words
/// instead of Chinese.
pub const YSTPAY_WINDOW_ENGLISH: i32 = 1;

fn check(total_fee: i64, flags: i32) -> Result<(), Failure> {
    if total_fee <= 0 {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            "total_fee must be positive",
        ));
    }
    if flags & !YSTPAY_WINDOW_ENGLISH != 0 {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            "flags has bits other than YSTPAY_WINDOW_ENGLISH",
        ));
    }
    Ok(())
}

#[cfg(windows)]
fn lang(flags: i32) -> crate::window::model::Lang {
    if flags & YSTPAY_WINDOW_ENGLISH != 0 {
        crate::window::model::Lang::En
    } else {
        crate::window::model::Lang::Zh
    }
}

/// The window's way to start its operations: as `ystpay_start_pay` and
/// `ystpay_start_order` do (the same job, the same thread, the same end).
#[cfg(windows)]
fn starters() -> crate::window::win32::Start {
    use super::settle::Job;
    use super::started::start;
    use crate::flow::PayOrder;
    use crate::protocol::PaymentCode;
    crate::window::win32::Start {
        pay: |c, fee, code, deadline_ms| {
            let order = PayOrder::new(fee, PaymentCode::new(code));
            start(c, Job::pay(c, String::new(), order, deadline_ms)?)
        },
        // The order's own expiry ends the wait (deadline 0).
        order: |c, order| start(c, Job::order(order, 0)),
    }
}

#[cfg(not(windows))]
fn not_supported() -> Failure {
    Failure::new(
        YSTPAY_ERR_NOT_SUPPORTED,
        "the payment window exists on Windows only",
    )
}

/// **Method (Windows).** Takes a barcode payment in the library's own
/// window, modal over `owner_hwnd`, and returns when the window closes.
///
/// The window shows the amount in large type and asks for the customer's
/// payment code, while the link to the platform is warmed behind it (as
/// `ystpay_prepare`, on a library thread: the window never waits for it).
/// Its edit box has the keyboard focus before the call reads
/// its first message, so a keyboard-wedge scanner's digits and Enter typed
/// right after the call are all caught; the input method is off for that
/// box. A scan that is not a payment code (16–24 digits with a wallet's
/// prefix) is refused in the window, nothing is sent, and the window waits
/// for the next scan. Then the payment runs as `ystpay_start_pay` would
/// run it ("等待顾客输入密码… N 秒"); Esc or the Cancel button cancels
/// (revokes), as `ystpay_op_cancel`. The end is shown in large type
/// ("✓ 已支付 ¥12.34", or why not); the window closes 2 s later or on
/// Enter.
///
/// - `client`: a client with a journal.
/// - `owner_hwnd`: the program's window (`HWND`), disabled while the
///   payment window is open and activated again after; NULL for none. It
///   keeps painting: the call pumps the thread's messages the whole time
///   (a `WM_QUIT` it meets cancels the payment and is posted again once
///   the window has closed).
/// - `total_fee`: fen, more than 0.
/// - `deadline_ms`: as for `ystpay_settle_pay` (0: the client's setting).
/// - `flags`: 0 (Chinese), or `YSTPAY_WINDOW_ENGLISH`.
/// - `out`: receives the ended operation: read it with
///   `ystpay_op_wait(op, 0, &s)` or the `ystpay_op_*` getters, and free it
///   with `ystpay_op_free`. Written only on `YSTPAY_OK`.
///
/// Returns `YSTPAY_OK` (the payment was taken and has ended: read its
/// outcome), `YSTPAY_ERR_NOT_SENT` (the window was closed before a payment
/// code was scanned: nothing sent), any code `ystpay_start_pay` returns
/// (nothing sent; the window showed why), `YSTPAY_ERR_INVALID_ARGUMENT`,
/// or `YSTPAY_ERR_NOT_SUPPORTED` outside Windows. Call it on the thread
/// that owns `owner_hwnd`. The window's class is `ystpay_window`. Sizes
/// follow the screen's DPI (96 to 144 and more) without changing the
/// process's DPI awareness. Windows 7 SP1 and later.
///
/// # Safety
/// `client` a live handle; `owner_hwnd` NULL or a window that stays valid;
/// `out` writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_window_pay(
    client: *const ystpay_client,
    owner_hwnd: *mut c_void,
    total_fee: i64,
    deadline_ms: i32,
    flags: i32,
    out: *mut *mut ystpay_op,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        check(total_fee, flags)?;
        if deadline_ms < 0 {
            return Err(Failure::new(
                YSTPAY_ERR_INVALID_ARGUMENT,
                "deadline_ms is negative",
            ));
        }
        c.payments()?;
        #[cfg(windows)]
        {
            use crate::window::win32::{run, Job};
            // The link is warmed while the cashier scans (issue 20's
            // `prepare`), off this thread: a dead network must not hold
            // the window's first paint.
            super::started::in_background(c, |c| {
                let _ = c.register.prepare();
            });
            let job = Job::Pay {
                fee: total_fee,
                deadline_ms,
            };
            // SAFETY: caller contract (client live, owner valid).
            let op = unsafe { run(c, owner_hwnd, job, lang(flags), starters())? };
            // SAFETY: checked non-NULL.
            unsafe { out.write_unaligned(Box::into_raw(op)) };
            Ok(())
        }
        #[cfg(not(windows))]
        {
            let _ = (owner_hwnd, out);
            Err(not_supported())
        }
    })
}

/// **Method (Windows).** Takes a payment by QR code (a native order, API
/// §5.1) in the library's own window, modal over `owner_hwnd`, and returns
/// when the window closes.
///
/// The window shows the amount, the order's QR code (at least 240 × 240
/// device pixels, whole pixels a module, with its quiet zone: a phone
/// reads it at arm's length) and the time left. It closes when the order
/// is paid ("✓ 已支付", 2 s), expired or cancelled (Esc, the Cancel
/// button: the order is closed, as `ystpay_op_cancel`).
///
/// - `channel`: `"W"` (WeChat Pay) or `"A"` (Alipay), in the client's
///   encoding.
/// - `expire_seconds`: how long the code stays payable, 0 for the
///   platform's 300 s (API §5.1: 300–1800).
/// - `owner_hwnd`, `total_fee`, `flags`, `out`, and the result codes: as
///   for `ystpay_window_pay` (`YSTPAY_ERR_NOT_SENT` does not come from a
///   closed window here: the order is created as the window opens).
///
/// # Safety
/// As `ystpay_window_pay`; `channel` NUL-terminated.
#[no_mangle]
pub unsafe extern "system" fn ystpay_window_order(
    client: *const ystpay_client,
    owner_hwnd: *mut c_void,
    total_fee: i64,
    channel: *const c_char,
    expire_seconds: i32,
    flags: i32,
    out: *mut *mut ystpay_op,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        check(total_fee, flags)?;
        if expire_seconds < 0 {
            return Err(Failure::new(
                YSTPAY_ERR_INVALID_ARGUMENT,
                "expire_seconds is negative",
            ));
        }
        c.payments()?;
        #[cfg(windows)]
        {
            use crate::flow::{NewOrder, OrderSpec};
            use crate::protocol::Channel;
            use crate::window::win32::{run, Job};
            // SAFETY: caller contract.
            let channel = unsafe { text::required(c.enc, channel, "channel")? };
            let order = NewOrder {
                total_fee,
                channel: Channel::from_code(&channel),
                spec: OrderSpec::Native {
                    expire_secs: (expire_seconds != 0).then_some(i64::from(expire_seconds)),
                },
            };
            // SAFETY: caller contract (client live, owner valid).
            let op = unsafe { run(c, owner_hwnd, Job::Order(order), lang(flags), starters())? };
            // SAFETY: checked non-NULL.
            unsafe { out.write_unaligned(Box::into_raw(op)) };
            Ok(())
        }
        #[cfg(not(windows))]
        {
            let _ = (owner_hwnd, channel, out);
            Err(not_supported())
        }
    })
}
