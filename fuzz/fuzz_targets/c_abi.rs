//! The C entry points that take strings, called exactly as a C program
//! would: the input is split at NUL bytes into NUL-terminated C strings;
//! the first byte picks the function and the client's encoding (UTF-8 or
//! GBK). Also the journal exports (day, `req_seq`) on a client with a
//! journal, `ystpay_client_new_ex`, and the QR exports that write to a
//! buffer (`ystpay_qr_escpos`, `ystpay_qr_text`; not the ones writing files). Whatever the strings, a call
//! returns a documented result code and never `YSTPAY_ERR_INTERNAL` (a
//! caught panic, i.e. a bug). Calls whose
//! arguments pass every rule go to a closed loopback port and come back
//! `YSTPAY_ERR_NOT_SENT`.
#![no_main]

use std::ffi::{c_char, CString};
use std::ptr;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ystpay::ffi::calls::*;
use ystpay::ffi::client::*;
use ystpay::ffi::codes::*;
use ystpay::ffi::error::ystpay_last_error;
use ystpay::ffi::journal::*;
use ystpay::ffi::notice::*;
use ystpay::ffi::qr::{ystpay_qr_escpos, ystpay_qr_text};
use ystpay::ffi::records::*;

const URL: &[u8] = b"http://127.0.0.1:9/ystpay/service/unitive.api\0";

struct Handle(*mut ystpay_client);
// SAFETY: the library documents every call on a handle as thread-safe.
unsafe impl Send for Handle {}
unsafe impl Sync for Handle {}

fn client(enc: i32) -> *const ystpay_client {
    static UTF8: OnceLock<Handle> = OnceLock::new();
    static GBK: OnceLock<Handle> = OnceLock::new();
    let cell = if enc == YSTPAY_ENCODING_GBK {
        &GBK
    } else {
        &UTF8
    };
    cell.get_or_init(|| {
        let mut h = ptr::null_mut();
        // SAFETY: NUL-terminated literals, `h` writable.
        let rc = unsafe {
            ystpay_client_new(
                URL.as_ptr().cast(),
                c"demo".as_ptr(),
                c"demo123".as_ptr(),
                c"0123456789ABCDEF".as_ptr(),
                200,
                200,
                enc,
                0,
                &mut h,
            )
        };
        assert_eq!(rc, YSTPAY_OK);
        Handle(h)
    })
    .0
}

/// A UTF-8 client with a journal (a file in the temporary directory, made
/// once per process), for the journal exports.
fn journal_client() -> *const ystpay_client {
    static J: OnceLock<Handle> = OnceLock::new();
    J.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("ystpay-fuzz-{}.db", std::process::id()));
        let path = CString::new(path.to_string_lossy().into_owned()).unwrap();
        let mut h = ptr::null_mut();
        // SAFETY: NUL-terminated strings, `h` writable.
        let rc = unsafe {
            ystpay_client_new_ex(
                URL.as_ptr().cast(),
                c"demo".as_ptr(),
                c"demo123".as_ptr(),
                c"0123456789ABCDEF".as_ptr(),
                200,
                200,
                YSTPAY_ENCODING_UTF8,
                0,
                path.as_ptr(),
                0,
                &mut h,
            )
        };
        assert_eq!(rc, YSTPAY_OK);
        Handle(h)
    })
    .0
}

fn record<T>(size: u32) -> Box<T> {
    // SAFETY: the records are repr(C) integers and byte arrays: all-zero
    // is a valid value; `struct_size` comes first.
    let mut b: Box<T> = Box::new(unsafe { std::mem::zeroed() });
    unsafe { *(ptr::addr_of_mut!(*b).cast::<u32>()) = size };
    b
}

fn documented(rc: i32) {
    assert_ne!(
        rc, YSTPAY_ERR_INTERNAL,
        "a panic was caught at the boundary"
    );
    // Documented = ystpay_strerror knows it (the header lists the same codes).
    // SAFETY: ystpay_strerror returns a static NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(ystpay_strerror(rc)) };
    assert_ne!(
        text.to_bytes(),
        b"unknown result code",
        "undocumented result code {rc}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let enc = if sel & 0x80 != 0 {
        YSTPAY_ENCODING_GBK
    } else {
        YSTPAY_ENCODING_UTF8
    };
    let fields: Vec<CString> = rest
        .split(|&b| b == 0)
        .map(|f| CString::new(f).expect("no interior NUL after split"))
        .collect();
    let s = |i: usize| -> *const c_char {
        match fields.get(i) {
            Some(f) => f.as_ptr(),
            None => ptr::null(),
        }
    };
    let num = |i: usize| -> i64 {
        fields
            .get(i)
            .and_then(|f| f.to_str().ok())
            .and_then(|t| t.parse().ok())
            .unwrap_or(1)
    };
    let c = client(enc);
    // SAFETY: every pointer is NULL or a NUL-terminated string owned above,
    // records are properly sized, buffers are given with their sizes.
    let rc = unsafe {
        match (sel & 0x7f) % 22 {
            0 => {
                let mut h = ptr::null_mut();
                let rc = ystpay_client_from_config(s(0), &mut h);
                ystpay_client_free(h);
                rc
            }
            1 => {
                let mut h = ptr::null_mut();
                let rc = ystpay_client_new(
                    s(0),
                    s(1),
                    s(2),
                    s(3),
                    num(4) as i32,
                    num(5) as i32,
                    enc,
                    (sel >> 4) as i32 & 1,
                    &mut h,
                );
                ystpay_client_free(h);
                rc
            }
            2 => {
                let mut out = record::<ystpay_notice>(YSTPAY_NOTICE_SIZE);
                ystpay_notice_read(c, rest.as_ptr().cast(), rest.len() as i32, &mut *out)
            }
            3 => {
                let mut out = record::<ystpay_notice>(YSTPAY_NOTICE_SIZE);
                ystpay_notice_read(c, s(0), -1, &mut *out)
            }
            4 => {
                let mut buf = vec![0 as c_char; (num(1).clamp(0, 4096)) as usize];
                let mut needed = 0i32;
                ystpay_notice_reply(c, 1, s(0), buf.as_mut_ptr(), buf.len() as i32, &mut needed)
            }
            5 => {
                let mut out = record::<ystpay_payment_result>(YSTPAY_PAYMENT_RESULT_SIZE);
                ystpay_pay(c, s(0), num(1), s(2), s(3), ptr::null(), 0, &mut *out)
            }
            6 => {
                let mut out = record::<ystpay_payment_result>(YSTPAY_PAYMENT_RESULT_SIZE);
                ystpay_query_pay(c, s(0), s(1), s(2), &mut *out)
            }
            7 => {
                let mut out = record::<ystpay_refund_result>(YSTPAY_REFUND_RESULT_SIZE);
                ystpay_refund(c, s(0), s(1), num(2), s(3), &mut *out)
            }
            8 => {
                let mut out = record::<ystpay_refund_result>(YSTPAY_REFUND_RESULT_SIZE);
                ystpay_query_refund(c, s(0), s(1), s(2), &mut *out)
            }
            9 => {
                let mut out = record::<ystpay_revoke_result>(YSTPAY_REVOKE_RESULT_SIZE);
                ystpay_revoke(c, s(0), s(1), s(2), s(3), &mut *out)
            }
            10 => {
                let mut out = record::<ystpay_order_result>(YSTPAY_ORDER_RESULT_SIZE);
                ystpay_native_pay(c, s(0), num(1), num(2) as i32, s(3), &mut *out)
            }
            11 => {
                let mut out = record::<ystpay_order_result>(YSTPAY_ORDER_RESULT_SIZE);
                ystpay_native_query(c, s(0), s(1), s(2), &mut *out)
            }
            12 => {
                let mut out = record::<ystpay_order_result>(YSTPAY_ORDER_RESULT_SIZE);
                ystpay_js_pay(c, s(0), num(1), s(2), s(3), &mut *out)
            }
            13 => {
                let mut out = record::<ystpay_order_result>(YSTPAY_ORDER_RESULT_SIZE);
                ystpay_h5_pay(c, s(0), num(1), s(2), s(3), s(4), &mut *out)
            }
            14 => {
                let mut n = 0i32;
                ystpay_journal_count(journal_client(), s(0), &mut n)
            }
            15 => {
                let mut out = record::<ystpay_journal_entry>(YSTPAY_JOURNAL_ENTRY_SIZE);
                ystpay_journal_find(journal_client(), s(0), &mut *out)
            }
            16 => {
                let mut out = record::<ystpay_journal_entry>(YSTPAY_JOURNAL_ENTRY_SIZE);
                ystpay_journal_get(journal_client(), s(0), num(1) as i32, &mut *out)
            }
            17 => {
                let mut n = 0i32;
                ystpay_journal_refund_count(journal_client(), s(0), &mut n)
            }
            18 => {
                // The journal path is never fuzzed: it would create files.
                let mut h = ptr::null_mut();
                let rc = ystpay_client_new_ex(
                    s(0),
                    s(1),
                    s(2),
                    s(3),
                    num(4) as i32,
                    num(5) as i32,
                    enc,
                    (sel >> 4) as i32 & 1,
                    ptr::null(),
                    num(6) as i32,
                    &mut h,
                );
                ystpay_client_free(h);
                rc
            }
            19 => {
                let mut buf = vec![0 as c_char; 1 << 16];
                let mut needed = 0i32;
                ystpay_qr_escpos(
                    s(0),
                    enc,
                    num(1) as i32,
                    num(2) as i32,
                    buf.as_mut_ptr(),
                    buf.len() as i32,
                    &mut needed,
                )
            }
            20 => {
                let mut buf = vec![0 as c_char; 1 << 16];
                let mut needed = 0i32;
                ystpay_qr_text(
                    s(0),
                    enc,
                    num(1) as i32,
                    buf.as_mut_ptr(),
                    buf.len() as i32,
                    &mut needed,
                )
            }
            _ => {
                let mut buf = vec![0 as c_char; (num(0).clamp(0, 512)) as usize];
                let mut needed = 0i32;
                let p = if buf.is_empty() {
                    ptr::null_mut()
                } else {
                    buf.as_mut_ptr()
                };
                ystpay_last_error(p, buf.len() as i32, &mut needed)
            }
        }
    };
    documented(rc);
    // The message of a failure is always retrievable and NUL-terminated.
    let mut buf = [0 as c_char; 2048];
    let mut needed = 0i32;
    // SAFETY: buffer and size match.
    let rc2 = unsafe { ystpay_last_error(buf.as_mut_ptr(), buf.len() as i32, &mut needed) };
    assert!(rc2 == YSTPAY_OK || rc2 == YSTPAY_ERR_BUFFER_TOO_SMALL);
});
