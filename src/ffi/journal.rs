//! The journal through the C ABI: what a shop asks at closing time.
//!
//! Index-based getters write one caller-owned record per call: read the
//! count, then each index. Every call reads the journal afresh (other
//! registers may write to it meanwhile), so an index past the end is
//! `YSTPAY_ERR_INDEX` rather than a stale answer.

use std::os::raw::c_char;
use std::path::Path;

use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, Failure};
use super::records::*;
use super::text::{self, Enc, Writer};
use crate::flow::Outcome;
use crate::journal::{ExportError, OpRecord};
use crate::text::Encoding;

/// A `day` argument: NULL/`""` is today (China time), else `YYYY-MM-DD`.
unsafe fn day_arg(enc: Enc, p: *const c_char) -> Result<String, Failure> {
    // SAFETY: forwarded caller contract.
    unsafe { named_day_arg(enc, p, "day") }
}

/// A day argument called `name`: NULL/`""` is today, else `YYYY-MM-DD`.
unsafe fn named_day_arg(enc: Enc, p: *const c_char, name: &str) -> Result<String, Failure> {
    // SAFETY: forwarded caller contract.
    let day = unsafe { text::optional(enc, p, name)? };
    let Some(day) = day else {
        return Ok(crate::time::today());
    };
    let b = day.as_bytes();
    let ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !ok {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            format!("{name} must be \"YYYY-MM-DD\" (or NULL/\"\" for today)"),
        ));
    }
    Ok(day)
}

fn out_count(count: *mut i32, n: usize) {
    // SAFETY: checked non-NULL by the caller of this function.
    unsafe { count.write_unaligned(i32::try_from(n).unwrap_or(i32::MAX)) };
}

fn pick(list: Vec<OpRecord>, index: i32) -> Result<OpRecord, Failure> {
    let len = list.len();
    usize::try_from(index)
        .ok()
        .and_then(|i| list.into_iter().nth(i))
        .ok_or_else(|| {
            Failure::new(
                YSTPAY_ERR_INDEX,
                format!("index {index} is outside 0..{len}"),
            )
        })
}

fn entry_record(enc: Enc, r: &OpRecord) -> Result<Box<ystpay_journal_entry>, Failure> {
    let mut b = blank::<ystpay_journal_entry>();
    let mut w = Writer::new(enc);
    let e = &mut *b;
    e.kind = kind_code(r.kind);
    e.state = state_code(r.state);
    e.outcome = outcome_code(Outcome::of_state(r.state));
    e.total_fee = r.total_fee;
    e.created_ms = r.created_ms;
    e.updated_ms = r.updated_ms;
    w.opt_text(&mut e.channel, r.channel.as_deref());
    w.id(&mut e.req_seq, &r.req_seq, "req_seq")?;
    for (dst, v, name) in [
        (&mut e.trans_seq, &r.trans_seq, "trans_seq"),
        (&mut e.parent_seq, &r.parent_seq, "parent_seq"),
        (&mut e.refund_seq, &r.refund_seq, "refund_seq"),
        (&mut e.revoke_seq, &r.revoke_seq, "revoke_seq"),
    ] {
        if let Some(v) = v {
            w.id(dst, v, name)?;
        }
    }
    w.opt_text(&mut e.auth_code_masked, r.auth_code_masked.as_deref());
    w.text(&mut e.day, &r.day);
    w.text(&mut e.detail, &r.detail);
    e.truncated = w.truncated as i32;
    Ok(b)
}

/// **Method (journal).** How many operations business day `day` holds
/// (every device writing to this journal file).
///
/// - `day`: `"YYYY-MM-DD"` (China time), or NULL/`""` for today.
/// - `count`: receives the number; written only on success.
///
/// `YSTPAY_ERR_NO_JOURNAL` for a client without a journal. Thread-safe.
///
/// # Safety
/// `day` NULL or NUL-terminated; `count` a writable `int32_t`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_count(
    client: *const ystpay_client,
    day: *const c_char,
    count: *mut i32,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let count = non_null!(count);
        let p = c.payments()?;
        // SAFETY: caller contract.
        let day = unsafe { day_arg(c.enc, day)? };
        out_count(count, p.journal().day_ops(&day)?.len());
        Ok(())
    })
}

/// **Method (journal).** Operation number `index` (0-based, oldest first)
/// of business day `day` into `out`. `YSTPAY_ERR_INDEX` when `index` is
/// not below the day's count (which may grow meanwhile). Thread-safe.
///
/// # Safety
/// `day` NULL or NUL-terminated; `out` a writable `ystpay_journal_entry`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_get(
    client: *const ystpay_client,
    day: *const c_char,
    index: i32,
    out: *mut ystpay_journal_entry,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let p = c.payments()?;
        // SAFETY: caller contract.
        let day = unsafe { day_arg(c.enc, day)? };
        let rec = entry_record(c.enc, &pick(p.journal().day_ops(&day)?, index)?)?;
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method (journal).** The operation `req_seq` of this client's device
/// into `out` (e.g. after a restart: how did payment X end?).
/// `YSTPAY_ERR_NOT_FOUND` when the journal does not hold it. Thread-safe.
///
/// # Safety
/// `req_seq` NUL-terminated; `out` a writable `ystpay_journal_entry`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_find(
    client: *const ystpay_client,
    req_seq: *const c_char,
    out: *mut ystpay_journal_entry,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let p = c.payments()?;
        // SAFETY: caller contract.
        let seq = unsafe { text::required(c.enc, req_seq, "req_seq")? };
        let rec = p
            .journal()
            .get(c.client().account(), &seq)?
            .ok_or_else(|| Failure::new(YSTPAY_ERR_NOT_FOUND, "no such operation"))?;
        let rec = entry_record(c.enc, &rec)?;
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method (journal).** How many refunds payment `pay_req_seq` (this
/// device) has in the journal, whatever their state. Thread-safe.
///
/// # Safety
/// `pay_req_seq` NUL-terminated; `count` a writable `int32_t`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_refund_count(
    client: *const ystpay_client,
    pay_req_seq: *const c_char,
    count: *mut i32,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let count = non_null!(count);
        let p = c.payments()?;
        // SAFETY: caller contract.
        let seq = unsafe { text::required(c.enc, pay_req_seq, "pay_req_seq")? };
        out_count(
            count,
            p.journal().refunds_of(c.client().account(), &seq)?.len(),
        );
        Ok(())
    })
}

/// **Method (journal).** Refund number `index` (0-based, oldest first) of
/// payment `pay_req_seq` into `out`. `YSTPAY_ERR_INDEX` past the end.
/// Thread-safe.
///
/// # Safety
/// `pay_req_seq` NUL-terminated; `out` a writable `ystpay_journal_entry`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_refund_get(
    client: *const ystpay_client,
    pay_req_seq: *const c_char,
    index: i32,
    out: *mut ystpay_journal_entry,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let p = c.payments()?;
        // SAFETY: caller contract.
        let seq = unsafe { text::required(c.enc, pay_req_seq, "pay_req_seq")? };
        let list = p.journal().refunds_of(c.client().account(), &seq)?;
        let rec = entry_record(c.enc, &pick(list, index)?)?;
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method (journal).** The closing report of business day `day`
/// (NULL/`""`: today): money taken, refunded, net, operations still open,
/// and the number of (kind, channel, state) lines to read with
/// `ystpay_journal_total_line`. Thread-safe.
///
/// # Safety
/// `day` NULL or NUL-terminated; `out` a writable `ystpay_day_totals`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_totals(
    client: *const ystpay_client,
    day: *const c_char,
    out: *mut ystpay_day_totals,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let p = c.payments()?;
        // SAFETY: caller contract.
        let day = unsafe { day_arg(c.enc, day)? };
        let t = p.journal().day_totals(&day)?;
        let mut r = blank::<ystpay_day_totals>();
        r.line_count = i32::try_from(t.lines.len()).unwrap_or(i32::MAX);
        r.paid_fee = t.paid_fee;
        r.refunded_fee = t.refunded_fee;
        r.net_fee = t.net_fee();
        r.open_count = t.open_count;
        Writer::new(c.enc).text(&mut r.day, &t.day);
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &r) };
        Ok(())
    })
}

/// **Method (journal).** Line number `index` (0-based; ordered by kind,
/// channel, state) of the totals of business day `day`: count and sum of
/// one kind, channel and state. `YSTPAY_ERR_INDEX` past the end.
/// Thread-safe.
///
/// # Safety
/// `day` NULL or NUL-terminated; `out` a writable `ystpay_total_line`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_total_line(
    client: *const ystpay_client,
    day: *const c_char,
    index: i32,
    out: *mut ystpay_total_line,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let p = c.payments()?;
        // SAFETY: caller contract.
        let day = unsafe { day_arg(c.enc, day)? };
        let t = p.journal().day_totals(&day)?;
        let len = t.lines.len();
        let line = usize::try_from(index)
            .ok()
            .and_then(|i| t.lines.get(i))
            .ok_or_else(|| {
                Failure::new(
                    YSTPAY_ERR_INDEX,
                    format!("index {index} is outside 0..{len}"),
                )
            })?;
        let mut r = blank::<ystpay_total_line>();
        r.kind = kind_code(line.kind);
        r.state = state_code(line.state);
        r.count = line.count;
        r.fee = line.fee;
        Writer::new(c.enc).text(&mut r.channel, &line.channel);
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &r) };
        Ok(())
    })
}

/// **Method (journal).** Writes the operations of business days `day_from`
/// to `day_to` to a CSV file for the shop's bookkeeper (对账), with each
/// day's totals at the end: the numbers `ystpay_journal_totals` gives for
/// that day. One file, the same as `ystpay journal export --csv` writes
/// (docs/C-ABI.md, "Journal listing and closing totals"):
///
/// - a header row in Chinese, then one row per operation (every device
///   writing to this journal), oldest first: 时间 time (China time), 类型
///   kind, 请求流水号 req_seq, 交易流水号 trans_seq, 退款流水号 refund_seq,
///   渠道 channel, 金额（元）amount in yuan, 状态 state, 付款码 the payment
///   code masked, 原支付流水号 the refunded payment's req_seq, 设备号
///   account, 说明 detail;
/// - then, after a blank line, the totals of each day: a table of (day,
///   kind, channel, state, count, amount) and a table of (day, paid,
///   refunded, net, still open), with a 合计 row for a range of several
///   days. Every day of the range has its row, also a day without
///   operations.
///
/// RFC 4180 quoting, CRLF line ends. A text cell that Excel would run as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading
/// apostrophe; serials made only of digits get a leading tab so that Excel
/// keeps all 20 digits.
///
/// - `day_from`: the first business day, `"YYYY-MM-DD"` (China time), or
///   NULL/`""` for today.
/// - `day_to`: the last business day (included), or NULL/`""` for the same
///   day as `day_from`. At most 366 days from `day_from`.
/// - `path`: the file to create or replace, in the client's encoding; not
///   NULL, not empty. A relative path is relative to the program's current
///   folder. It is written whole or not at all (a temporary file beside it,
///   then renamed over it): on failure no partial file is left and a file
///   already there is unchanged.
/// - `encoding`: of the file: `YSTPAY_ENCODING_GBK` (what Excel on a
///   Chinese Windows opens; characters GBK lacks become `?`) or
///   `YSTPAY_ENCODING_UTF8` (or 0: UTF-8 after a byte-order mark, which
///   Excel also recognises).
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_NULL_ARGUMENT` (`client`, `path`),
/// `YSTPAY_ERR_INVALID_HANDLE`, `YSTPAY_ERR_INVALID_ENCODING` (a string
/// not valid in the client's encoding), `YSTPAY_ERR_INVALID_ARGUMENT` (a
/// malformed day, `day_to` before `day_from`, more than 366 days, an empty
/// `path`, an unknown `encoding`), `YSTPAY_ERR_NO_JOURNAL`,
/// `YSTPAY_ERR_JOURNAL`, `YSTPAY_ERR_FILE_WRITE` (folder missing, no
/// permission, disk full, a folder at `path`). Sends nothing. Thread-safe.
///
/// # Safety
/// `day_from`, `day_to` NULL or NUL-terminated; `path` NUL-terminated.
#[no_mangle]
pub unsafe extern "system" fn ystpay_journal_export_csv(
    client: *const ystpay_client,
    day_from: *const c_char,
    day_to: *const c_char,
    path: *const c_char,
    encoding: i32,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let path = non_null!(path);
        let file_encoding: Encoding = Enc::from_code(encoding)?;
        let p = c.payments()?;
        // SAFETY: caller contract (NULL or NUL-terminated strings).
        let (from, to, path) = unsafe {
            let from = named_day_arg(c.enc, day_from, "day_from")?;
            let to = match text::optional(c.enc, day_to, "day_to")? {
                None => from.clone(),
                Some(_) => named_day_arg(c.enc, day_to, "day_to")?,
            };
            (from, to, text::required(c.enc, path, "path")?)
        };
        if path.is_empty() {
            return Err(Failure::new(
                YSTPAY_ERR_INVALID_ARGUMENT,
                "argument 'path' is empty",
            ));
        }
        match p
            .journal()
            .export_csv_file(&from, &to, file_encoding, Path::new(&path))
        {
            Ok(_) => Ok(()),
            Err(ExportError::Range(why)) => Err(Failure::new(YSTPAY_ERR_INVALID_ARGUMENT, why)),
            Err(ExportError::Journal(e)) => Err(e.into()),
            Err(ExportError::Write(why)) => Err(Failure::new(YSTPAY_ERR_FILE_WRITE, why)),
        }
    })
}
