//! The panic guard every export runs in, and the calling thread's last
//! error message.

use std::cell::{Cell, RefCell};
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::codes::*;
use super::text::{self, Enc};
use crate::error::{Error, Rejection};

/// A failed call: its result code and a message for `ystpay_last_error`.
/// Messages name fields, never their values: no password, key or payment
/// code ever reaches one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The result code returned to the caller.
    pub code: i32,
    /// The detailed message.
    pub message: String,
}

impl Failure {
    /// A failure with code `code` and message `message`.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Config(_) => YSTPAY_ERR_CONFIG,
            Error::InvalidInput(_) => YSTPAY_ERR_INVALID_INPUT,
            Error::NotSent(_) => YSTPAY_ERR_NOT_SENT,
            // The journal failed before anything was sent.
            Error::Ledger(_) => YSTPAY_ERR_JOURNAL,
            Error::OutcomeUnknown(_) => YSTPAY_ERR_OUTCOME_UNKNOWN,
            Error::Rejected(Rejection::BadSignature) => YSTPAY_ERR_BAD_SIGNATURE,
            Error::Rejected(Rejection::Unconfirmed(_)) => YSTPAY_ERR_UNCONFIRMED,
            Error::Rejected(_) => YSTPAY_ERR_REJECTED,
            Error::Refused(_) => YSTPAY_ERR_REFUSED,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<crate::journal::JournalError> for Failure {
    fn from(e: crate::journal::JournalError) -> Self {
        use crate::journal::JournalError as J;
        let code = match &e {
            J::Storage(_) | J::NewerSchema(_) | J::Corrupt(_) => YSTPAY_ERR_JOURNAL,
            J::Duplicate(_) => YSTPAY_ERR_DUPLICATE,
            J::NotFound(_) => YSTPAY_ERR_NOT_FOUND,
            J::NotPaid { .. } => YSTPAY_ERR_NOT_PAID,
            J::RefundExceedsPaid { .. } => YSTPAY_ERR_REFUND_EXCEEDS,
            J::Busy(_) => YSTPAY_ERR_BUSY,
            J::Conflict(_) => YSTPAY_ERR_CONFLICT,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<crate::register::RegisterError> for Failure {
    fn from(e: crate::register::RegisterError) -> Self {
        use crate::register::RegisterError as R;
        match e {
            R::Flow(e) => e.into(),
            R::Log(e) => Failure::new(YSTPAY_ERR_FILE_WRITE, format!("log: {e}")),
            R::NoJournal => Failure::new(
                YSTPAY_ERR_NO_JOURNAL,
                "this client has no journal (configure 'journal' or pass journal_path)",
            ),
        }
    }
}

impl From<crate::flow::FlowError> for Failure {
    fn from(e: crate::flow::FlowError) -> Self {
        match e {
            crate::flow::FlowError::Client(e) => e.into(),
            crate::flow::FlowError::Journal(e) => e.into(),
        }
    }
}

/// The result of an export's body: a C code is reached from it in one
/// conversion ([`guard`]). (Not a payment's outcome: that is
/// [`crate::flow::Outcome`].)
pub type CallResult = Result<(), Failure>;

thread_local! {
    /// The last failure of this thread and the encoding to report it in.
    static LAST_ERROR: RefCell<(String, Enc)> = const { RefCell::new((String::new(), Enc::Utf8)) };
    /// The encoding of the client the current call uses (UTF-8 until known).
    static CALL_ENC: Cell<Enc> = const { Cell::new(Enc::Utf8) };
}

/// Makes `enc` the encoding of the current call's message (set when the
/// call's client handle is dereferenced).
pub fn set_call_encoding(enc: Enc) {
    CALL_ENC.with(|c| c.set(enc));
}

fn set_last(message: String) {
    let enc = CALL_ENC.with(Cell::get);
    LAST_ERROR.with(|l| *l.borrow_mut() = (message, enc));
}

/// Runs an export's body: clears the thread's last error, catches any
/// panic, stores the message of a failure, and returns the result code.
pub fn guard(body: impl FnOnce() -> CallResult) -> i32 {
    CALL_ENC.with(|c| c.set(Enc::Utf8));
    set_last(String::new());
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(panicked(p)));
    match result {
        Ok(()) => YSTPAY_OK,
        Err(f) => {
            // Building the message must not unwind either.
            let _ = catch_unwind(AssertUnwindSafe(|| set_last(f.message)));
            f.code
        }
    }
}

/// The failure a caught panic is reported as.
pub fn panicked(payload: Box<dyn std::any::Any + Send>) -> Failure {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    Failure::new(
        YSTPAY_ERR_INTERNAL,
        format!("internal error (panic caught at the C boundary): {what}"),
    )
}

/// Like [`guard`] for exports that return nothing (destructors).
pub fn guard_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// Copies the calling thread's last error message into `buf`.
///
/// The message describes the most recent failed call made by this thread;
/// every other `ystpay_*` call that returns a result code clears it when it
/// starts (so after a successful call it is empty). It is in the encoding of
/// the client that call used (GBK clients get GBK), UTF-8 otherwise, and
/// never contains passwords, keys or payment codes.
///
/// - `buf`: caller-owned buffer of `buf_size` bytes; receives the
///   NUL-terminated message. May be NULL only when `buf_size` is 0.
/// - `needed`: if not NULL, receives the bytes needed including the NUL
///   (on success and on `YSTPAY_ERR_BUFFER_TOO_SMALL`).
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to
/// `buf`; call again with `*needed` bytes), `YSTPAY_ERR_NULL_ARGUMENT` or
/// `YSTPAY_ERR_INVALID_ARGUMENT` (negative size). Thread-safe; does not
/// change the stored message itself.
///
/// # Safety
/// `buf` must point to `buf_size` writable bytes; `needed` must be NULL or
/// point to a writable `int32_t`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_last_error(
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (message, enc) = LAST_ERROR.with(|l| l.borrow().clone());
        let bytes = text::encode(enc, &message);
        // SAFETY: forwarded caller contract.
        unsafe { text::copy_out(&bytes, buf, buf_size, needed) }
    }));
    match result {
        Ok(Ok(())) => YSTPAY_OK,
        Ok(Err(f)) => f.code,
        Err(_) => YSTPAY_ERR_INTERNAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        LAST_ERROR.with(|l| l.borrow().0.clone())
    }

    #[test]
    fn guard_maps_failures_and_panics() {
        assert_eq!(guard(|| Ok(())), YSTPAY_OK);
        assert_eq!(last(), "");
        let code = guard(|| Err(Failure::new(YSTPAY_ERR_CONFIG, "bad url")));
        assert_eq!(code, YSTPAY_ERR_CONFIG);
        assert_eq!(last(), "bad url");
        let code = guard(|| panic!("boom"));
        assert_eq!(code, YSTPAY_ERR_INTERNAL);
        assert!(last().contains("boom"));
        assert_eq!(guard(|| Ok(())), YSTPAY_OK);
        assert_eq!(last(), "");
    }

    #[test]
    fn rust_errors_map_to_codes() {
        let f: Failure = Error::NotSent("refused".into()).into();
        assert_eq!(f.code, YSTPAY_ERR_NOT_SENT);
        let f: Failure = Error::Rejected(Rejection::BadSignature).into();
        assert_eq!(f.code, YSTPAY_ERR_BAD_SIGNATURE);
        let f: Failure = Error::Rejected(Rejection::Malformed("x".into())).into();
        assert_eq!(f.code, YSTPAY_ERR_REJECTED);
        let f: Failure = Error::OutcomeUnknown("timeout".into()).into();
        assert_eq!(f.code, YSTPAY_ERR_OUTCOME_UNKNOWN);
        let f: Failure = Error::Ledger("database is locked".into()).into();
        assert_eq!(f.code, YSTPAY_ERR_JOURNAL);
    }
}
