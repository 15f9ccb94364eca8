//! The cancel switch of the settle calls: a handle the cashier's Esc key
//! (or any thread) pulls to say "do not do it"; what a pull means for each
//! operation is the decision table's (docs/DESIGN.md, "What to do next").

use super::codes::*;
use super::error::{guard, guard_void, Failure};
use crate::flow::CancelToken;

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
