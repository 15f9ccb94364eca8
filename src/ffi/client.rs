//! The opaque client handle: constructors, destructor, and `req_seq`.

use std::os::raw::c_char;
use std::sync::Arc;

use super::codes::*;
use super::config::{self, Settings};
use super::error::{guard, guard_void, set_call_encoding, CallResult, Failure};
use super::started::Running;
use super::text::{self, Enc};
use crate::client::{Client, ClientConfig};
use crate::flow::{Payments, SettleOptions};
use crate::register::{Register, Wiring};

const TAG: u64 = 0x5953_5450_4159_4331; // "YSTPAYC1"

/// A connection to the payment platform for one device (opaque).
///
/// Created by `ystpay_client_new`, `ystpay_client_from_config` or
/// `ystpay_client_from_config_file`; released by `ystpay_client_free`.
/// **Thread safety:** one handle may be used by several threads at once
/// (every call only reads it; connections are pooled inside). It must not
/// be freed while another thread is still using it; its started operations
/// (`ystpay_start_*`) are waited for by `ystpay_client_free`.
pub struct ystpay_client {
    tag: u64,
    /// The register: client, log, journal and settle flows.
    pub(crate) register: Register,
    /// Strings in and out of this client's calls.
    pub(crate) enc: Enc,
    /// The settings it was made from (`ystpay_doctor` checks them).
    pub(crate) settings: crate::config::Settings,
    /// Its started operations that still run (`ystpay_start_*`).
    pub(crate) ops: Arc<Running>,
}

impl ystpay_client {
    /// The Rust client.
    pub(crate) fn client(&self) -> &Client {
        self.register.client()
    }

    /// The settle flows, or `YSTPAY_ERR_NO_JOURNAL`.
    pub(crate) fn payments(&self) -> Result<&Payments, Failure> {
        Ok(self.register.payments()?)
    }
}

/// Dereferences a handle argument; used through `client_ref!`.
///
/// # Safety
/// `p` is NULL or a pointer returned by a ystpay constructor and not freed.
pub(crate) unsafe fn deref<'a>(
    p: *const ystpay_client,
    name: &str,
) -> Result<&'a ystpay_client, Failure> {
    if p.is_null() {
        return Err(Failure::new(
            YSTPAY_ERR_NULL_ARGUMENT,
            format!("argument '{name}' is NULL"),
        ));
    }
    if !(p as usize).is_multiple_of(std::mem::align_of::<ystpay_client>()) {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_HANDLE,
            format!("argument '{name}' is not a ystpay_client"),
        ));
    }
    // SAFETY: caller contract: a live handle (aligned, checked above).
    let c = unsafe { &*p };
    if c.tag != TAG {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_HANDLE,
            format!("argument '{name}' is not a ystpay_client"),
        ));
    }
    set_call_encoding(c.enc);
    Ok(c)
}

fn build(settings: Settings, out: *mut *mut ystpay_client) -> CallResult {
    let wiring = Wiring {
        flow: settings.flow.clone(),
        ..Wiring::default()
    };
    let register = Register::open(&settings.shared, wiring)?;
    if settings.recover_on_start && register.journal().is_some() {
        // Operations left open by a crash or power cut are settled
        // before the register takes new payments, with one quick check:
        // a dead network never holds the till's start.
        register.recover(&SettleOptions::at_start_up())?;
    }
    let handle = Box::new(ystpay_client {
        tag: TAG,
        register,
        enc: settings.enc(),
        settings: settings.shared.clone(),
        ops: Arc::default(),
    });
    // SAFETY: `out` was checked non-NULL by the caller of `build`.
    unsafe { out.write_unaligned(Box::into_raw(handle)) };
    Ok(())
}

/// **Constructor.** Creates a client from plain strings and integers, in
/// one call.
///
/// - `server_url`: full API URL, e.g.
///   `"http://ut.ystpay.cn:8088/ystpay/service/unitive.api"` (`http://` to
///   a non-loopback host needs `YSTPAY_FLAG_ALLOW_HTTP`).
/// - `acct`, `pass`: the device's login and password (the dsn is derived
///   from them and the key).
/// - `private_key`: the merchant's AES key (16, 24 or 32 characters).
/// - `connect_timeout_ms`, `read_timeout_ms`: 0 for the defaults (5000 and
///   20000); negative is `YSTPAY_ERR_INVALID_ARGUMENT`.
/// - `encoding`: `YSTPAY_ENCODING_UTF8` (or 0) or `YSTPAY_ENCODING_GBK`;
///   applies to these arguments and to every string of later calls.
/// - `flags`: 0 or `YSTPAY_FLAG_ALLOW_HTTP` (`YSTPAY_FLAG_NO_RECOVER` is
///   accepted and has no effect: this client has no journal).
/// - `out`: receives the new handle, which the caller owns and releases
///   with `ystpay_client_free`. Written only on success.
///
/// No string may be NULL. Nothing is sent to the network. The strings are
/// copied; the caller keeps ownership of them. Thread-safe.
///
/// # Safety
/// Strings must be NUL-terminated; `out` must point to writable storage
/// for one pointer.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_client_new(
    server_url: *const c_char,
    acct: *const c_char,
    pass: *const c_char,
    private_key: *const c_char,
    connect_timeout_ms: i32,
    read_timeout_ms: i32,
    encoding: i32,
    flags: i32,
    out: *mut *mut ystpay_client,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded caller contract.
        unsafe {
            new_client(
                server_url,
                acct,
                pass,
                private_key,
                [connect_timeout_ms, read_timeout_ms, encoding, flags],
                std::ptr::null(),
                0,
                out,
            )
        }
    })
}

/// The body of both plain constructors; `numbers` is connect timeout,
/// read timeout, encoding, flags.
#[allow(clippy::too_many_arguments)]
unsafe fn new_client(
    server_url: *const c_char,
    acct: *const c_char,
    pass: *const c_char,
    private_key: *const c_char,
    numbers: [i32; 4],
    journal_path: *const c_char,
    settle_deadline_ms: i32,
    out: *mut *mut ystpay_client,
) -> CallResult {
    let [connect_timeout_ms, read_timeout_ms, encoding, flags] = numbers;
    let out = non_null!(out);
    let enc = Enc::from_code(encoding)?;
    set_call_encoding(enc);
    if flags & !(YSTPAY_FLAG_ALLOW_HTTP | YSTPAY_FLAG_NO_RECOVER) != 0 {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            format!("unknown flags {flags:#x}"),
        ));
    }
    // SAFETY: caller contract (NUL-terminated strings).
    let (url, acct, pass, key, journal) = unsafe {
        (
            text::required(enc, server_url, "server_url")?,
            text::required(enc, acct, "acct")?,
            text::required(enc, pass, "pass")?,
            text::required(enc, private_key, "private_key")?,
            text::optional(enc, journal_path, "journal_path")?,
        )
    };
    let mut config = ClientConfig::new(&url, &acct, &pass, &key);
    config.connect_timeout = config::millis(
        connect_timeout_ms.into(),
        "connect_timeout_ms",
        config.connect_timeout,
    )?;
    config.read_timeout = config::millis(
        read_timeout_ms.into(),
        "read_timeout_ms",
        config.read_timeout,
    )?;
    config.allow_http = flags & YSTPAY_FLAG_ALLOW_HTTP != 0;
    let mut settings = Settings::new(config, enc);
    settings.shared.journal = journal.map(std::path::PathBuf::from);
    if settle_deadline_ms != 0 {
        settings.shared.settle_deadline = Some(config::millis(
            settle_deadline_ms.into(),
            "settle_deadline_ms",
            std::time::Duration::ZERO,
        )?);
    }
    settings.recover_on_start = flags & YSTPAY_FLAG_NO_RECOVER == 0;
    build(settings, out)
}

/// **Constructor.** `ystpay_client_new` plus a journal: the client can then
/// settle payments (`ystpay_settle_pay`, ...), recover, and list the day.
///
/// - The first eight arguments and `out` are those of `ystpay_client_new`;
///   `flags` may also hold `YSTPAY_FLAG_NO_RECOVER`.
/// - `journal_path`: the journal file (SQLite; created when missing), in
///   the client's encoding; NULL or `""` for none (the settle and journal
///   functions then return `YSTPAY_ERR_NO_JOURNAL`). Several clients and
///   processes may open the same file.
/// - `settle_deadline_ms`: how long a settling payment may wait for the
///   customer before it is revoked; 0 for the default (50 000).
///
/// Unless `YSTPAY_FLAG_NO_RECOVER` is given, the journal's open operations
/// (left by a crash or power cut) are settled against the platform before
/// this returns: at once, since an operation belongs to the program driving
/// it only while that program lives (an OS file lock in `<journal>.owners`
/// beside the file); one another live program is settling is left alone.
/// That is one quick check: each open operation gets one query and the
/// steps its answer makes necessary at once, and the first request that
/// cannot be sent or is not answered stops it, leaving the rest open
/// (`YSTPAY_RECOVERED_UNREACHABLE`): with the network down this returns
/// within about `connect_timeout` (5 s by default) however many
/// operations are open. Settled operations older than 400 days are removed from the
/// journal first (`journal_keep_days` of a configuration; open ones never). `ystpay_last_recovery` and `ystpay_recovery_get` report what
/// it did. A journal that cannot be opened is `YSTPAY_ERR_JOURNAL`.
/// Thread-safe.
///
/// # Safety
/// Strings must be NUL-terminated (or NULL where allowed); `out` must
/// point to writable storage for one pointer.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_client_new_ex(
    server_url: *const c_char,
    acct: *const c_char,
    pass: *const c_char,
    private_key: *const c_char,
    connect_timeout_ms: i32,
    read_timeout_ms: i32,
    encoding: i32,
    flags: i32,
    journal_path: *const c_char,
    settle_deadline_ms: i32,
    out: *mut *mut ystpay_client,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded caller contract.
        unsafe {
            new_client(
                server_url,
                acct,
                pass,
                private_key,
                [connect_timeout_ms, read_timeout_ms, encoding, flags],
                journal_path,
                settle_deadline_ms,
                out,
            )
        }
    })
}

/// **Constructor.** Creates a client from INI-style configuration text:
/// `key = value` lines, the same format and keys as the command-line tool
/// (`server_url`, `acct`, `pass`, `private_key`, `dsn`,
/// `connect_timeout_ms`, `read_timeout_ms`, `keep_alive_s`, `proxy`, `register_no`,
/// `allow_http`, `ca_file`, `encoding`, `journal`, `log_file`,
/// `log_level`, `settle_deadline_s`, `log_keep_days`, `journal_keep_days`)
/// plus `recover_on_start` and `flow_time_scale`; see docs/C-ABI.md.
///
/// Retention runs here: the log's daily files older than `log_keep_days`
/// (default 90) are deleted, and the journal's settled operations older
/// than `journal_keep_days` (default 400) removed; open operations, refunds
/// of kept payments and the serial ledger never are (0 keeps everything).
///
/// With `log_file = path` every call through this client writes a line to
/// a daily log file (never the password, key or dsn; payment codes masked);
/// a log file that cannot be created is `YSTPAY_ERR_FILE_WRITE`.
///
/// With `journal = path` the client keeps a journal and, unless
/// `recover_on_start = 0`, settles its open operations before returning,
/// at once (see `ystpay_client_new_ex`, `ystpay_last_recovery`).
///
/// - `config_text`: UTF-8 text, NUL-terminated; not NULL. Copied.
/// - `out`: receives the new handle (caller-owned; free with
///   `ystpay_client_free`). Written only on success.
///
/// An unknown or repeated key, or a bad value, is `YSTPAY_ERR_CONFIG`
/// (the message names the line and the key, never a secret value).
/// Nothing is sent. Thread-safe.
///
/// # Safety
/// `config_text` must be NUL-terminated; `out` must be writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_client_from_config(
    config_text: *const c_char,
    out: *mut *mut ystpay_client,
) -> i32 {
    guard(|| {
        let out = non_null!(out);
        // SAFETY: caller contract.
        let text = unsafe { text::required(Enc::Utf8, config_text, "config_text")? };
        build(config::parse(&text)?, out)
    })
}

/// **Constructor.** Like `ystpay_client_from_config`, reading the text
/// from the file at `path` (e.g. `"C:\\POS\\ystpay.ini"`).
///
/// - `path`: NUL-terminated; UTF-8, or on Windows also the ANSI code page
///   936 (GBK) when it is not valid UTF-8. Not NULL.
/// - `out`: receives the new handle (caller-owned). Written only on success.
///
/// A file that cannot be read, or is larger than 64 KiB, is
/// `YSTPAY_ERR_CONFIG_FILE`; a file that is not UTF-8 is
/// `YSTPAY_ERR_INVALID_ENCODING`. The text read is zeroed once parsed.
/// Thread-safe.
///
/// # Safety
/// `path` must be NUL-terminated; `out` must be writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_client_from_config_file(
    path: *const c_char,
    out: *mut *mut ystpay_client,
) -> i32 {
    guard(|| {
        let out = non_null!(out);
        let path = non_null!(path);
        // SAFETY: caller contract.
        let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
        let path = path_from_bytes(bytes)?;
        build(config::load(&path)?, out)
    })
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Result<std::path::PathBuf, Failure> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::ffi::OsStr::from_bytes(bytes).into())
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Result<std::path::PathBuf, Failure> {
    let s = text::decode(Enc::Utf8, bytes)
        .or_else(|| text::decode(Enc::Gbk, bytes))
        .ok_or_else(|| {
            Failure::new(
                YSTPAY_ERR_INVALID_ENCODING,
                "argument 'path' is neither UTF-8 nor GBK",
            )
        })?;
    Ok(s.into())
}

/// **Destructor.** Releases a client handle. `NULL` is a no-op. The handle
/// must not be used afterwards, nor by any other thread while this runs.
///
/// **Waits** until the client's started operations (`ystpay_start_*`) have
/// ended, since they use it: a payment whose customer is typing a password
/// may take up to its deadline; cancel them first (`ystpay_op_cancel`) for
/// a short wait. Their handles stay valid to read and free afterwards.
/// Free every client this way before unloading the library.
///
/// # Safety
/// `client` is NULL or a live handle from a ystpay constructor, freed once.
#[no_mangle]
pub unsafe extern "system" fn ystpay_client_free(client: *mut ystpay_client) {
    guard_void(|| {
        // SAFETY: caller contract.
        if unsafe { deref(client, "client") }.is_ok() {
            // SAFETY: the pointer came from Box::into_raw in `build`.
            let mut b = unsafe { Box::from_raw(client) };
            // Its started operations use it until they end.
            b.ops.wait_idle();
            b.tag = 0;
            drop(b);
        }
    })
}

/// **Method.** Opens or checks the connection to the platform so that the
/// payment that follows goes out on a live one: call it when a sale starts
/// (the first item scanned), not while the customer shows the code. It
/// makes the TCP connection (and the TLS handshake) when none is kept
/// alive, and checks a kept one end to end with an HTTP `HEAD` of the API
/// URL: no API request, no serial, nothing the platform acts on, nothing
/// in the journal. A connection the server closed or a NAT forgot while
/// idle is replaced here, off the payment's path. It waits at most about
/// `connect_timeout` per try (three at most).
///
/// Optional: without it a payment after a long idle opens its own
/// connection first (one more round trip, two or three on https).
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_NOT_SENT` (the platform cannot be
/// reached now; the payment would fail the same way), `YSTPAY_ERR_NULL_ARGUMENT`,
/// `YSTPAY_ERR_INVALID_HANDLE`. Thread-safe.
///
/// # Safety
/// `client` is a live handle.
#[no_mangle]
pub unsafe extern "system" fn ystpay_prepare(client: *const ystpay_client) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        c.register.prepare()?;
        Ok(())
    })
}

/// **Method.** Writes a fresh `req_seq` into `buf` (20 digits: China time,
/// the register tag, a counter), so the caller can record it before paying
/// and later query or revoke with it.
///
/// With a journal, the journal issues it: it comes after the last serial
/// any client of the journal issued for this device and register tag,
/// whatever the clock does, and is none the journal already holds: never
/// reused, across restarts and programs sharing the journal. When the
/// journal cannot issue one (busy past its timeout, or failing) the call
/// fails with `YSTPAY_ERR_JOURNAL` and gives no serial: never one from
/// memory. Without a journal only this program's memory bounds it: after
/// the clock steps back, a restarted program may reissue a serial (keep a
/// journal; set `register_no` when registers share a merchant).
///
/// - `buf`, `buf_size`: caller-owned buffer (21 bytes suffice).
/// - `needed`: if not NULL, receives the bytes needed with the NUL.
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_JOURNAL` (no serial; nothing written
/// to `buf`), `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to `buf`; the
/// serial issued is not used), `YSTPAY_ERR_NULL_ARGUMENT`,
/// `YSTPAY_ERR_INVALID_HANDLE`. Thread-safe.
///
/// # Safety
/// `client` is a live handle; `buf` has `buf_size` writable bytes; `needed`
/// is NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_next_req_seq(
    client: *const ystpay_client,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let seq = c.client().issue_req_seq()?;
        // SAFETY: caller contract.
        unsafe { text::copy_out(&text::encode(c.enc, &seq), buf, buf_size, needed) }
    })
}
