//! The C ABI as the suites call it from Rust: a blank settlement record and
//! a barcode payment through `ystpay_settle_pay`.

use std::ffi::CString;
use std::ptr;

use ystpay::ffi::client::ystpay_client;
use ystpay::ffi::records::{ystpay_settlement, YSTPAY_SETTLEMENT_SIZE};
use ystpay::ffi::settle::ystpay_settle_pay;

/// A sized settlement record whose `outcome` holds a marker (12345): only
/// a record the library wrote changes it.
pub fn settlement() -> Box<ystpay_settlement> {
    // SAFETY: repr(C) integers and arrays: all-zero is valid.
    let mut r: Box<ystpay_settlement> = Box::new(unsafe { std::mem::zeroed() });
    r.struct_size = YSTPAY_SETTLEMENT_SIZE;
    r.outcome = 12345;
    r
}

/// `ystpay_settle_pay` of `fee` fen with payment code `code`, under
/// `req_seq` (or a new serial), with no deadline, cancel or progress: the
/// result code and the record.
pub fn settle_pay(
    c: *const ystpay_client,
    req_seq: Option<&str>,
    fee: i64,
    code: &str,
) -> (i32, Box<ystpay_settlement>) {
    let seq = req_seq.map(|s| CString::new(s).unwrap());
    let code = CString::new(code).unwrap();
    let mut out = settlement();
    // SAFETY: a live handle (the caller's), NUL-terminated strings or
    // NULL, a sized record.
    let rc = unsafe {
        ystpay_settle_pay(
            c,
            seq.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            fee,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            0,
            ptr::null(),
            None,
            ptr::null_mut(),
            &mut *out,
        )
    };
    (rc, out)
}
