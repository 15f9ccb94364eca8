//! `ystpay_doctor`: the doctor's report (src/doctor.rs) for a POS
//! program's 诊断 button.

use std::os::raw::c_char;

use super::error::guard;
use super::text::{self, Enc};

/// The report's text in the client's encoding. GBK has no ✓ and ✗: they
/// become √ and ×, which it has (and which read the same to a cashier).
fn encoded(enc: Enc, report: &crate::doctor::Report) -> Vec<u8> {
    let t = report.to_text();
    match enc {
        Enc::Gbk => text::encode(enc, &t.replace('✓', "√").replace('✗', "×")).into_owned(),
        _ => text::encode(enc, &t).into_owned(),
    }
}

/// **Method.** Runs the doctor's checks for this client and writes the
/// report, one line per check (`✓` or `✗`, what was checked, what was
/// found; each `✗` followed by a line `→` with the fix in 中文 and
/// English), then a summary line: the text a POS program shows behind a
/// 诊断 (diagnose) button, and what support asks for on the phone.
///
/// It checks what this client can know: the configuration it was made
/// from (the key/pass format, the URL's scheme and host; a client exists
/// only when every key was known), the name (DNS), the connection (TCP),
/// the proxy, TLS (the server certificate judged by the register's clock),
/// the register's clock against the platform's HTTP `Date` (a skew over
/// 5 minutes is named) and the journal's newest serial, the credentials
/// (one harmless signed query of a serial no payment uses: a verified "no
/// such order" proves acct, pass, private_key and dsn), the journal
/// (`quick_check`, free disk, open operations and their age), the log
/// folder, and the retention settings. Nothing is charged and no operation
/// is recorded. Each network step is bounded by the connect timeout: about
/// a second when the platform answers, at most about four connect
/// timeouts when it does not. The report never holds the private key, the
/// password, the dsn or a payment code.
///
/// Each call runs the checks again, so the report's length may differ
/// between calls: 8192 bytes suffice for any report in practice; on
/// `YSTPAY_ERR_BUFFER_TOO_SMALL` call again with a buffer of at least
/// `*needed` bytes.
///
/// - `buf`, `buf_size`: caller-owned buffer; receives the NUL-terminated
///   report in the client's encoding (GBK clients get GBK, with `√`/`×`
///   for `✓`/`✗`).
/// - `needed`: if not NULL, receives the bytes needed with the NUL.
/// - `failed`: if not NULL, receives the number of `✗` lines (0: every
///   check passed). Written only when the report is.
///
/// Returns `YSTPAY_OK` when the report was written (whatever it found;
/// read `*failed`), `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to
/// `buf`), `YSTPAY_ERR_NULL_ARGUMENT`, `YSTPAY_ERR_INVALID_ARGUMENT`
/// (negative size), `YSTPAY_ERR_INVALID_HANDLE`. Thread-safe; it blocks
/// while it checks, so call it off the till's UI thread.
///
/// # Safety
/// `client` is a live handle; `buf` has `buf_size` writable bytes (or is
/// NULL with size 0); `needed` and `failed` are NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_doctor(
    client: *const super::client::ystpay_client,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
    failed: *mut i32,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let journal = c.register.journal();
        let report = crate::doctor::run(&c.settings, Vec::new(), journal);
        let bytes = encoded(c.enc, &report);
        // SAFETY: caller contract.
        unsafe { text::copy_out(&bytes, buf, buf_size, needed)? };
        if !failed.is_null() {
            let n = i32::try_from(report.failed()).unwrap_or(i32::MAX);
            // SAFETY: caller contract; unaligned-tolerant.
            unsafe { failed.write_unaligned(n) };
        }
        Ok(())
    })
}
