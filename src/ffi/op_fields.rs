//! The end of a started operation (`ystpay_op`), field by field: for
//! languages without C structs (VB6, PowerBuilder), which cannot read the
//! `ystpay_settlement` record that `ystpay_op_wait` fills.

use std::os::raw::c_char;

use super::codes::*;
use super::error::{guard, Failure};
use super::started::{op_ref, settled, still_running, ystpay_op};
use super::text;

/// **Method.** A number of the ended operation's settlement, for languages
/// without C structs (VB6, PowerBuilder): `field` is `YSTPAY_FIELD_OUTCOME`,
/// `_STATE`, `_KIND`, `_TOTAL_FEE` (fen), `_JOURNAL_FAILED` or
/// `_RECEIPT_COUNT`; `*value` receives it.
///
/// Returns `YSTPAY_OK`; `YSTPAY_ERR_STILL_RUNNING` before the end; after
/// an end without a settlement (nothing was sent), that end's code;
/// `YSTPAY_ERR_INVALID_ARGUMENT` for another `field`;
/// `YSTPAY_ERR_NULL_ARGUMENT`, `YSTPAY_ERR_INVALID_HANDLE`. Thread-safe.
///
/// # Safety
/// `op` a live handle; `value` writable.
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
        let settled = settled(op)?;
        let s = &settled.settlement;
        let v = match field {
            YSTPAY_FIELD_OUTCOME => i64::from(outcome_code(s.outcome)),
            YSTPAY_FIELD_STATE => i64::from(state_code(s.state)),
            YSTPAY_FIELD_KIND => i64::from(kind_code(s.kind)),
            YSTPAY_FIELD_TOTAL_FEE => s.total_fee,
            YSTPAY_FIELD_JOURNAL_FAILED => {
                i64::from(s.journal_error.is_some() || settled.journal_failed)
            }
            YSTPAY_FIELD_RECEIPT_COUNT => s.receipts.len() as i64,
            other => return Err(bad_field(other, "a number")),
        };
        // SAFETY: caller contract.
        unsafe { value.write_unaligned(v) };
        Ok(())
    })
}

fn bad_field(field: i32, what: &str) -> Failure {
    Failure::new(
        YSTPAY_ERR_INVALID_ARGUMENT,
        format!("field {field} is not {what} of a started operation's end"),
    )
}

/// **Method.** A text of the ended operation's settlement, whole (never
/// cut, unlike the record's fixed fields), in the client's encoding:
/// `field` is `YSTPAY_FIELD_REQ_SEQ`, `_TRANS_SEQ`, `_REFUND_SEQ`,
/// `_PAY_TIME`, `_CHANNEL`, `_CODE` or `_DETAIL` (`""` when the
/// settlement has none); or `YSTPAY_FIELD_PAY_URL`, the URL an order
/// shows, which is readable while it runs (see that field). Buffer as for
/// `ystpay_last_error`.
///
/// Returns as `ystpay_op_number` does, and `YSTPAY_ERR_BUFFER_TOO_SMALL`
/// (with `*needed`). Thread-safe.
///
/// # Safety
/// `op` a live handle; `buf` `buf_size` writable bytes; `needed` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_text(
    op: *const ystpay_op,
    field: i32,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        if field == YSTPAY_FIELD_PAY_URL {
            // The one text readable while the operation runs: a program
            // polling from a timer may first look after a later stage has
            // replaced the words.
            let look = op.look();
            let url = match (look.pay_url, look.ended) {
                (Some(url), _) => url,
                (None, true) => String::new(),
                (None, false) => return Err(still_running()),
            };
            let bytes = text::encode(op.enc(), &url);
            // SAFETY: caller contract.
            return unsafe { text::copy_out(&bytes, buf, buf_size, needed) };
        }
        let settled = settled(op)?;
        let s = &settled.settlement;
        let t: &str = match field {
            YSTPAY_FIELD_REQ_SEQ => &s.req_seq,
            YSTPAY_FIELD_TRANS_SEQ => s.trans_seq.as_deref().unwrap_or(""),
            YSTPAY_FIELD_REFUND_SEQ => s.refund_seq.as_deref().unwrap_or(""),
            YSTPAY_FIELD_PAY_TIME => s.pay_time.as_deref().unwrap_or(""),
            YSTPAY_FIELD_CHANNEL => s.channel.as_deref().unwrap_or(""),
            YSTPAY_FIELD_CODE => s.code.as_deref().unwrap_or(""),
            YSTPAY_FIELD_DETAIL => &s.detail,
            other => return Err(bad_field(other, "a text")),
        };
        let bytes = text::encode(op.enc(), t);
        // SAFETY: caller contract.
        unsafe { text::copy_out(&bytes, buf, buf_size, needed) }
    })
}

/// **Method.** Receipt line `index` of the ended operation (from 0 to
/// `YSTPAY_FIELD_RECEIPT_COUNT` minus one), whole, in the client's
/// encoding. Buffer as for `ystpay_last_error`. Returns as
/// `ystpay_op_text` does, and `YSTPAY_ERR_INDEX` for an index out of
/// range. Thread-safe.
///
/// # Safety
/// As for `ystpay_op_text`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_op_receipt_line(
    op: *const ystpay_op,
    index: i32,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        // SAFETY: caller contract.
        let op = unsafe { op_ref(op)? };
        let settled = settled(op)?;
        let line = usize::try_from(index)
            .ok()
            .and_then(|i| settled.settlement.receipts.get(i))
            .ok_or_else(|| {
                Failure::new(
                    YSTPAY_ERR_INDEX,
                    format!(
                        "receipt line {index} of {}",
                        settled.settlement.receipts.len()
                    ),
                )
            })?;
        let bytes = text::encode(op.enc(), line);
        // SAFETY: caller contract.
        unsafe { text::copy_out(&bytes, buf, buf_size, needed) }
    })
}
