//! Result codes, business outcomes and option values of the C ABI.
//!
//! Result codes are `int32_t`; `0` is success. They are grouped by what the
//! caller should do next and are **append-only**: a published number never
//! changes meaning and is never reused.
//!
//! | group | meaning | was anything sent? |
//! |---|---|---|
//! | 0 | OK: the platform answered and the answer was verified | yes |
//! | 1xx | the caller passed something unusable | no |
//! | 2xx | the client configuration is unusable | no |
//! | 3xx | network / answer trouble | 300: no; 301–304: maybe |
//! | 4xx | the journal (settle flow, recovery, listing) | no |
//! | 5xx | an internal error inside the library | unknown |
//! | 6xx | a local output (file) cannot be written | no |
//!
//! A business outcome (paid, waiting, failed, revoked, unknown) is *not* a
//! result code: it is the `outcome` field of the result record, filled when
//! the call returns `YSTPAY_OK`.

use std::os::raw::c_char;

use crate::flow::Outcome;
use crate::journal::{OpKind, OpState};

/// The call succeeded: the platform answered and the answer verified. The
/// business outcome is in the result record's `outcome` field (a refused
/// payment is `YSTPAY_OK` with `outcome == YSTPAY_OUTCOME_FAILED`).
pub const YSTPAY_OK: i32 = 0;

/// A required pointer argument is NULL. Nothing was sent.
pub const YSTPAY_ERR_NULL_ARGUMENT: i32 = 100;
/// A caller buffer is too small; the size needed (bytes, with the NUL) was
/// written to the `needed` argument when it is not NULL. Nothing was written
/// to the buffer.
pub const YSTPAY_ERR_BUFFER_TOO_SMALL: i32 = 101;
/// A string is not valid in the client's encoding (UTF-8, or GBK when the
/// client was created with `YSTPAY_ENCODING_GBK`). Nothing was sent.
pub const YSTPAY_ERR_INVALID_ENCODING: i32 = 102;
/// A request field breaks a rule of the platform's API (negative or
/// 11-digit fee, 21-character `req_seq`, missing reason, ...). Nothing was
/// sent; the message names the field.
pub const YSTPAY_ERR_INVALID_INPUT: i32 = 103;
/// A record's `struct_size` is not the size this library version expects
/// (set it to `sizeof` the record, or to the matching `YSTPAY_*_SIZE`).
pub const YSTPAY_ERR_STRUCT_SIZE: i32 = 104;
/// An argument is outside its documented values (unknown encoding,
/// negative count or timeout, a `char` array without its terminating NUL).
pub const YSTPAY_ERR_INVALID_ARGUMENT: i32 = 105;
/// The handle is not a live `ystpay_client` (a pointer to something else).
pub const YSTPAY_ERR_INVALID_HANDLE: i32 = 106;
/// The text does not fit in a QR code (about 2300 bytes at error
/// correction level M), or the code does not fit in the printer width.
pub const YSTPAY_ERR_QR_TOO_BIG: i32 = 107;
/// Not available on this platform: the payment window and window messages
/// (`ystpay_window_*`, `ystpay_op_notify`) exist only on Windows.
pub const YSTPAY_ERR_NOT_SUPPORTED: i32 = 108;

/// The client configuration is unusable (bad URL, key length, missing
/// password and dsn, unknown configuration key, ...). Nothing was sent.
pub const YSTPAY_ERR_CONFIG: i32 = 200;
/// The configuration file cannot be read.
pub const YSTPAY_ERR_CONFIG_FILE: i32 = 201;

/// The network failed before the request left (connection refused, DNS,
/// connect timeout). Nothing reached the platform: retrying with the same
/// `req_seq` is safe.
pub const YSTPAY_ERR_NOT_SENT: i32 = 300;
/// The request may have reached the platform but no answer came (timeout,
/// dropped connection, HTTP error). The outcome is unknown: query (or
/// revoke) with the same `req_seq` before concluding anything.
pub const YSTPAY_ERR_OUTCOME_UNKNOWN: i32 = 301;
/// An answer came but cannot be trusted (malformed, answers another
/// request, or an identifier too long for its record field). Treat as
/// `YSTPAY_ERR_OUTCOME_UNKNOWN`: query before concluding.
pub const YSTPAY_ERR_REJECTED: i32 = 302;
/// An answer or notification carries a signature that does not verify
/// (altered, forged, or a wrong key). Never trust it.
pub const YSTPAY_ERR_BAD_SIGNATURE: i32 = 303;
/// A notification the platform's own records do not confirm (the order is
/// not paid, or its `trans_seq`/amount differ). Do not deliver the goods.
pub const YSTPAY_ERR_UNCONFIRMED: i32 = 304;
/// The platform refused the confirming query of a notification
/// (`result=N`); the message holds its code and words.
pub const YSTPAY_ERR_REFUSED: i32 = 305;

/// The call needs the journal, and this client was created without one
/// (give `journal=` in the configuration or a `journal_path` to
/// `ystpay_client_new_ex`). Nothing was sent.
pub const YSTPAY_ERR_NO_JOURNAL: i32 = 400;
/// The journal file cannot be opened, read or written (disk full, locked
/// beyond the busy timeout, a newer schema, a corrupt row), or cannot
/// issue a serial (`ystpay_next_req_seq`, or a call that generates its
/// `req_seq`). When a settle call, or a call generating its serial, returns
/// it, nothing was sent.
pub const YSTPAY_ERR_JOURNAL: i32 = 401;
/// The journal holds no operation with this `req_seq` (for this device).
pub const YSTPAY_ERR_NOT_FOUND: i32 = 402;
/// Refused locally: the payment to refund is not (known to be) paid.
/// Nothing was sent.
pub const YSTPAY_ERR_NOT_PAID: i32 = 403;
/// Refused locally: the refund would return more than is left of the
/// payment (paid minus refunded or being refunded). Nothing was sent.
pub const YSTPAY_ERR_REFUND_EXCEEDS: i32 = 404;
/// Another flow (a thread or process on the same journal) is settling this
/// operation now; try again after it ends.
pub const YSTPAY_ERR_BUSY: i32 = 405;
/// The `req_seq` is already in the journal (as an operation, its revoke,
/// or any request sent): a new operation needs a new serial
/// (`ystpay_next_req_seq`). Nothing was sent.
pub const YSTPAY_ERR_DUPLICATE: i32 = 406;
/// A journal-index getter was asked for an index at or past the end
/// (the journal changed since the count was read, or a wrong index).
pub const YSTPAY_ERR_INDEX: i32 = 407;
/// Refused locally: the operation is in conflict (`YSTPAY_STATE_CONFLICT`):
/// the platform holds another operation under its serial, and revoking or
/// awaiting it would touch that one. Nothing was sent; a person must look
/// at it (`ystpay journal show`).
pub const YSTPAY_ERR_CONFLICT: i32 = 408;

/// An internal error (a bug) was caught at the boundary; the library is
/// still usable. Please report it with the message from `ystpay_last_error`.
pub const YSTPAY_ERR_INTERNAL: i32 = 500;

/// An output file (QR code image, journal CSV export, or the log file a
/// constructor opens) cannot be written: directory missing, no permission,
/// disk full. The file is left as it was.
pub const YSTPAY_ERR_FILE_WRITE: i32 = 600;

/// A started operation (`ystpay_op`) has not ended yet: `ystpay_op_wait`
/// timed out, or a getter of its end was called too early. Not a failure:
/// look again later. Nothing about the operation changed.
pub const YSTPAY_ERR_STILL_RUNNING: i32 = 700;

/// `ystpay_op_number` field: the outcome, `YSTPAY_OUTCOME_*`.
pub const YSTPAY_FIELD_OUTCOME: i32 = 1;
/// `ystpay_op_number` field: the journal state, `YSTPAY_STATE_*`.
pub const YSTPAY_FIELD_STATE: i32 = 2;
/// `ystpay_op_number` field: the operation kind, `YSTPAY_KIND_*`.
pub const YSTPAY_FIELD_KIND: i32 = 3;
/// `ystpay_op_number` field: the amount in fen.
pub const YSTPAY_FIELD_TOTAL_FEE: i32 = 4;
/// `ystpay_op_number` field: 1 when the journal could not be updated at
/// the end (the outcome is still true; recovery settles the journal).
pub const YSTPAY_FIELD_JOURNAL_FAILED: i32 = 5;
/// `ystpay_op_number` field: how many receipt lines
/// `ystpay_op_receipt_line` gives.
pub const YSTPAY_FIELD_RECEIPT_COUNT: i32 = 7;
/// `ystpay_op_text` field: the operation's serial (`req_seq`).
pub const YSTPAY_FIELD_REQ_SEQ: i32 = 20;
/// `ystpay_op_text` field: the platform's order number (`""` when none).
pub const YSTPAY_FIELD_TRANS_SEQ: i32 = 21;
/// `ystpay_op_text` field: the platform's refund number (`""` when none).
pub const YSTPAY_FIELD_REFUND_SEQ: i32 = 22;
/// `ystpay_op_text` field: when it was paid, as the platform says
/// (`""` when not paid).
pub const YSTPAY_FIELD_PAY_TIME: i32 = 23;
/// `ystpay_op_text` field: the channel, `"W"`, `"A"`, `"Q"` (`""` when
/// not known).
pub const YSTPAY_FIELD_CHANNEL: i32 = 24;
/// `ystpay_op_text` field: the platform's error code of a refusal
/// (`""` when none).
pub const YSTPAY_FIELD_CODE: i32 = 25;
/// `ystpay_op_text` field: what happened, in words for a person.
pub const YSTPAY_FIELD_DETAIL: i32 = 26;
/// `ystpay_op_text` field: the URL a QR-code/JS/H5 order shows (as a QR
/// code) or opens, readable **while the order runs**, from the stage
/// `YSTPAY_STAGE_SHOW_CODE` on (`YSTPAY_ERR_STILL_RUNNING` before; `""`
/// after an end without one).
pub const YSTPAY_FIELD_PAY_URL: i32 = 27;

/// The outcome is not known: no status came (or one the API document does
/// not define), the platform refused without saying whether money moved,
/// or the answer is about another operation (another amount or order
/// number than this one's). Query before concluding.
pub const YSTPAY_OUTCOME_UNKNOWN: i32 = 0;
/// Done: paid (payments, orders, notifications) or refunded (refunds).
pub const YSTPAY_OUTCOME_SUCCESS: i32 = 1;
/// Not finished yet: the customer is still entering a password, the QR
/// code is not scanned yet, or a refund is in progress. Query again later.
pub const YSTPAY_OUTCOME_WAITING: i32 = 2;
/// The platform said explicitly that it failed or is closed; no money
/// was taken (payments) or returned (refunds).
pub const YSTPAY_OUTCOME_FAILED: i32 = 3;
/// Revoked (4.5): money returned if it was taken, the order closed.
pub const YSTPAY_OUTCOME_REVOKED: i32 = 4;

/// Settle calls: paid (a refund: refunded). Same value as
/// `YSTPAY_OUTCOME_SUCCESS`.
pub const YSTPAY_OUTCOME_PAID: i32 = 1;
/// Settle calls: not sent, nothing charged. No request could have reached
/// the platform (the network is down: no route, DNS down, connect refused
/// or timed out), or the cashier cancelled before it was sent, or the
/// platform confirmed it never received it. No money moved (for a refund:
/// none returned). The journal closed it (`YSTPAY_STATE_NOT_SENT`); take
/// the payment again, with a new serial, once the network is back.
pub const YSTPAY_OUTCOME_NOT_SENT: i32 = 5;

/// The `YSTPAY_KIND_*` of an operation kind.
pub(crate) fn kind_code(k: OpKind) -> i32 {
    match k {
        OpKind::Pay => YSTPAY_KIND_PAY,
        OpKind::Refund => YSTPAY_KIND_REFUND,
        OpKind::Native => YSTPAY_KIND_NATIVE,
        OpKind::Js => YSTPAY_KIND_JS,
        OpKind::H5 => YSTPAY_KIND_H5,
    }
}

/// The `YSTPAY_STATE_*` of a journal state.
pub(crate) fn state_code(s: OpState) -> i32 {
    match s {
        OpState::Pending => YSTPAY_STATE_PENDING,
        OpState::Waiting => YSTPAY_STATE_WAITING,
        OpState::Revoking => YSTPAY_STATE_REVOKING,
        OpState::Unknown => YSTPAY_STATE_UNKNOWN,
        OpState::Paid => YSTPAY_STATE_PAID,
        OpState::Refunded => YSTPAY_STATE_REFUNDED,
        OpState::Failed => YSTPAY_STATE_FAILED,
        OpState::Revoked => YSTPAY_STATE_REVOKED,
        OpState::Closed => YSTPAY_STATE_CLOSED,
        OpState::Conflict => YSTPAY_STATE_CONFLICT,
        OpState::NotSent => YSTPAY_STATE_NOT_SENT,
    }
}

/// The `YSTPAY_OUTCOME_*` of a flow's outcome.
pub(crate) fn outcome_code(o: Outcome) -> i32 {
    match o {
        Outcome::Paid => YSTPAY_OUTCOME_PAID,
        Outcome::Failed => YSTPAY_OUTCOME_FAILED,
        Outcome::Revoked => YSTPAY_OUTCOME_REVOKED,
        Outcome::Unknown => YSTPAY_OUTCOME_UNKNOWN,
        Outcome::NotSent => YSTPAY_OUTCOME_NOT_SENT,
    }
}

/// The `YSTPAY_OUTCOME_*` of what an answer proved (`crate::reading`).
pub(crate) fn money_code(m: crate::reading::Money) -> i32 {
    use crate::reading::Money;
    match m {
        Money::Paid => YSTPAY_OUTCOME_SUCCESS,
        Money::Failed => YSTPAY_OUTCOME_FAILED,
        Money::Waiting => YSTPAY_OUTCOME_WAITING,
        Money::Revoked => YSTPAY_OUTCOME_REVOKED,
        Money::Unclear => YSTPAY_OUTCOME_UNKNOWN,
    }
}

/// `ystpay_journal_entry.kind`: barcode payment (4.1).
pub const YSTPAY_KIND_PAY: i32 = 1;
/// `ystpay_journal_entry.kind`: refund (4.3).
pub const YSTPAY_KIND_REFUND: i32 = 2;
/// `ystpay_journal_entry.kind`: QR-code order (5.1).
pub const YSTPAY_KIND_NATIVE: i32 = 3;
/// `ystpay_journal_entry.kind`: JS order (6.1).
pub const YSTPAY_KIND_JS: i32 = 4;
/// `ystpay_journal_entry.kind`: H5 order (7.1).
pub const YSTPAY_KIND_H5: i32 = 5;

/// Journal state: recorded, request not answered yet (open).
pub const YSTPAY_STATE_PENDING: i32 = 1;
/// Journal state: waiting for the customer (open).
pub const YSTPAY_STATE_WAITING: i32 = 2;
/// Journal state: a revoke was decided and is being sent (open).
pub const YSTPAY_STATE_REVOKING: i32 = 3;
/// Journal state: the platform could not be reached (open; recovery settles it).
pub const YSTPAY_STATE_UNKNOWN: i32 = 4;
/// Journal state: paid.
pub const YSTPAY_STATE_PAID: i32 = 5;
/// Journal state: refunded (refunds).
pub const YSTPAY_STATE_REFUNDED: i32 = 6;
/// Journal state: failed, as the platform said.
pub const YSTPAY_STATE_FAILED: i32 = 7;
/// Journal state: revoked by this register (money returned or never taken).
pub const YSTPAY_STATE_REVOKED: i32 = 8;
/// Journal state: an order closed unpaid.
pub const YSTPAY_STATE_CLOSED: i32 = 9;
/// Journal state: the platform answered about another operation under this
/// serial (another amount or order number): nothing concluded, nothing
/// revoked (open; recovery asks again and acts only on an answer with the
/// recorded amount; a person must look at it).
pub const YSTPAY_STATE_CONFLICT: i32 = 10;
/// Journal state: nothing reached the platform (no route, DNS down,
/// connect refused or timed out; or cancelled before it was sent; or the
/// platform confirmed it never received it). No money moved; its serials
/// stay used.
pub const YSTPAY_STATE_NOT_SENT: i32 = 11;

/// Progress stage: the request is on its way; `message` is its `req_seq`.
pub const YSTPAY_STAGE_SENDING: i32 = 1;
/// Progress stage: the customer is still paying (entering the password,
/// or has not scanned the QR code yet); `message` says how long is left.
pub const YSTPAY_STAGE_WAITING: i32 = 2;
/// Progress stage: a QR-code/JS/H5 order is ready; `message` is the URL.
pub const YSTPAY_STAGE_SHOW_CODE: i32 = 3;
/// Progress stage: asking the platform how an unclear request ended.
pub const YSTPAY_STAGE_QUERYING: i32 = 4;
/// Progress stage: resending the same request (same `req_seq`).
pub const YSTPAY_STAGE_RESENDING: i32 = 5;
/// Progress stage: revoking the payment (deadline, cancel, recovery).
pub const YSTPAY_STAGE_REVOKING: i32 = 6;
/// Progress stage: the operation ended; `message` is `PAID`, `FAILED`,
/// `REVOKED` or `UNKNOWN`.
pub const YSTPAY_STAGE_FINISHED: i32 = 7;

/// Strings in and out are UTF-8 (the default; `0` means the same).
pub const YSTPAY_ENCODING_UTF8: i32 = 65001;
/// Strings in and out are GBK (Windows code page 936), for ANSI programs
/// on Chinese Windows. Characters GBK cannot hold come out as `?`.
pub const YSTPAY_ENCODING_GBK: i32 = 936;

/// `ystpay_client_new` flag: permit `http://` to a host other than
/// loopback (the platform's test server is plain HTTP). Payloads are
/// encrypted and signed either way; `https://` adds certificate checks.
pub const YSTPAY_FLAG_ALLOW_HTTP: i32 = 1;
/// Constructor flag: do not settle the journal's open operations while
/// creating the client (call `ystpay_recover` when convenient instead).
/// Without it, a client with a journal recovers on creation.
pub const YSTPAY_FLAG_NO_RECOVER: i32 = 2;

/// `ystpay_recovery_entry.disposition`: settled now (its state is final).
pub const YSTPAY_RECOVERED_SETTLED: i32 = 1;
/// `ystpay_recovery_entry.disposition`: still open after trying (an order
/// the customer may still pay, a refund in progress, or an operation in
/// conflict).
pub const YSTPAY_RECOVERED_STILL_OPEN: i32 = 2;
/// `ystpay_recovery_entry.disposition`: left alone, a live flow (a thread
/// of this program or another program on the journal) is settling it.
pub const YSTPAY_RECOVERED_BUSY: i32 = 3;
/// `ystpay_recovery_entry.disposition`: still open, not settled because
/// the platform could not be reached (a request could not be sent — no
/// route, DNS down, connect refused or timed out — or got no answer by the
/// recovery deadline), or recovery was cancelled. Recovery stops at the
/// first such operation and never waits on a dead network: that one and
/// every later one are listed so; the next recovery asks again.
pub const YSTPAY_RECOVERED_UNREACHABLE: i32 = 4;

/// `ystpay_notice.verified`: the notification's envelope signature verified.
pub const YSTPAY_VERIFIED_SIGNATURE: i32 = 1;
/// `ystpay_notice.verified`: a plain notification, confirmed by querying
/// the platform for the order.
pub const YSTPAY_VERIFIED_QUERY: i32 = 2;

/// The static English text for a result code.
pub(crate) fn describe(code: i32) -> &'static str {
    match code {
        YSTPAY_OK => "ok\0",
        YSTPAY_ERR_NULL_ARGUMENT => "a required pointer argument is NULL\0",
        YSTPAY_ERR_BUFFER_TOO_SMALL => "the buffer is too small\0",
        YSTPAY_ERR_INVALID_ENCODING => "a string is not valid in the client's encoding\0",
        YSTPAY_ERR_INVALID_INPUT => "a request field breaks a rule of the platform's API\0",
        YSTPAY_ERR_STRUCT_SIZE => "a record's struct_size does not match this library\0",
        YSTPAY_ERR_INVALID_ARGUMENT => "an argument is outside its documented values\0",
        YSTPAY_ERR_INVALID_HANDLE => "the handle is not a live ystpay_client\0",
        YSTPAY_ERR_QR_TOO_BIG => "the QR code does not fit (text too long or printer too narrow)\0",
        YSTPAY_ERR_NOT_SUPPORTED => "not available on this platform\0",
        YSTPAY_ERR_CONFIG => "the client configuration is unusable\0",
        YSTPAY_ERR_CONFIG_FILE => "the configuration file cannot be read\0",
        YSTPAY_ERR_NOT_SENT => "the request was not sent (network); retrying is safe\0",
        YSTPAY_ERR_OUTCOME_UNKNOWN => "no answer came: the outcome is unknown, query first\0",
        YSTPAY_ERR_REJECTED => {
            "the answer cannot be trusted: the outcome is unknown, query first\0"
        }
        YSTPAY_ERR_BAD_SIGNATURE => "the signature does not verify\0",
        YSTPAY_ERR_UNCONFIRMED => "the platform does not confirm this notification\0",
        YSTPAY_ERR_REFUSED => "the platform refused the request\0",
        YSTPAY_ERR_NO_JOURNAL => "this client has no journal\0",
        YSTPAY_ERR_JOURNAL => "the journal cannot be read or written\0",
        YSTPAY_ERR_NOT_FOUND => "no such operation in the journal\0",
        YSTPAY_ERR_NOT_PAID => "refused locally: the payment is not paid\0",
        YSTPAY_ERR_REFUND_EXCEEDS => "refused locally: the refund exceeds what is left\0",
        YSTPAY_ERR_BUSY => "another flow is settling this operation\0",
        YSTPAY_ERR_DUPLICATE => "the req_seq is already in the journal\0",
        YSTPAY_ERR_INDEX => "index out of range\0",
        YSTPAY_ERR_CONFLICT => {
            "the operation is in conflict: the platform holds another one under its serial\0"
        }
        YSTPAY_ERR_INTERNAL => "internal error in ystpay\0",
        YSTPAY_ERR_FILE_WRITE => "the output file cannot be written\0",
        YSTPAY_ERR_STILL_RUNNING => "the operation is still running\0",
        _ => "unknown result code\0",
    }
}

/// Returns a static, NUL-terminated English description of a result code
/// (`"unknown result code"` for a number this version does not know).
///
/// Never fails, never returns NULL; the string is owned by the library and
/// lives as long as it is loaded: do not free it. Thread-safe. Does not
/// change the calling thread's last error message.
#[no_mangle]
pub extern "system" fn ystpay_strerror(code: i32) -> *const c_char {
    describe(code).as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_text() {
        let codes = [
            YSTPAY_OK,
            YSTPAY_ERR_NULL_ARGUMENT,
            YSTPAY_ERR_BUFFER_TOO_SMALL,
            YSTPAY_ERR_INVALID_ENCODING,
            YSTPAY_ERR_INVALID_INPUT,
            YSTPAY_ERR_STRUCT_SIZE,
            YSTPAY_ERR_INVALID_ARGUMENT,
            YSTPAY_ERR_INVALID_HANDLE,
            YSTPAY_ERR_QR_TOO_BIG,
            YSTPAY_ERR_CONFIG,
            YSTPAY_ERR_CONFIG_FILE,
            YSTPAY_ERR_NOT_SENT,
            YSTPAY_ERR_OUTCOME_UNKNOWN,
            YSTPAY_ERR_REJECTED,
            YSTPAY_ERR_BAD_SIGNATURE,
            YSTPAY_ERR_UNCONFIRMED,
            YSTPAY_ERR_REFUSED,
            YSTPAY_ERR_NO_JOURNAL,
            YSTPAY_ERR_JOURNAL,
            YSTPAY_ERR_NOT_FOUND,
            YSTPAY_ERR_NOT_PAID,
            YSTPAY_ERR_REFUND_EXCEEDS,
            YSTPAY_ERR_BUSY,
            YSTPAY_ERR_DUPLICATE,
            YSTPAY_ERR_INDEX,
            YSTPAY_ERR_INTERNAL,
            YSTPAY_ERR_FILE_WRITE,
        ];
        let texts: std::collections::HashSet<_> = codes.iter().map(|c| describe(*c)).collect();
        assert_eq!(texts.len(), codes.len());
        assert!(texts.iter().all(|t| t.ends_with('\0')));
        assert_eq!(describe(-7), "unknown result code\0");
    }
}
