//! Recovery through the C ABI: settling what the journal holds open
//! (`ystpay_recover`), and the report of the last recovery, operation by
//! operation (`ystpay_last_recovery`, `ystpay_recovery_get`).

use std::ffi::c_void;

use super::cancel::{cancel_ref, ystpay_cancel};
use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, Failure};
use super::progress::{with_options, ystpay_progress_fn, Hear, Watch};
use super::records::*;
use super::text::Writer;
use crate::flow::{Disposition, Outcome, RecoveryReport};

/// **Method.** Settles every open operation of this device in the journal
/// against the platform (what a client with a journal also does when
/// created, with one quick check): barcode payments by query, then revoke
/// where still unclear; refunds by query only (one the platform never
/// received is closed `YSTPAY_STATE_NOT_SENT`, never resent); orders by
/// query, closed once expired. An operation in conflict
/// (`YSTPAY_STATE_CONFLICT`) is asked about again, never resent, and acted
/// on only when an answer carries the recorded amount (then it is this
/// register's own: settled by `S`/`F`, revoked while `W`); otherwise it
/// stays in conflict and nothing is revoked.
///
/// An operation left open by a program that is gone (killed, crashed, the
/// power cut) is taken over at once: ownership dies with the process, so
/// nothing has to time out. Operations a live flow is settling (a thread of
/// this program, or another program on the same journal) are left alone
/// (`busy_elsewhere`).
///
/// Recovery never waits on a dead network: the first request that cannot
/// be sent (no route, DNS down, connect refused or timed out), or the first
/// operation without an answer by its deadline, stops it; the operations
/// not asked about are listed `YSTPAY_RECOVERED_UNREACHABLE` and stay open
/// for the next recovery.
///
/// - `progress`, `user_data`: as for `ystpay_settle_pay` (NULL for none).
/// - `out`: caller-owned `ystpay_recovery_report`, written only on
///   `YSTPAY_OK`, with the counts; `out->entry_count` operations are
///   listed one by one by `ystpay_recovery_get` (req_seq, kind, state
///   after recovery) until the next recovery of this client finishes.
///
/// Blocks up to the client's recovery deadline (default 20 s) for the
/// first operation the platform does not answer, then stops; with the
/// network down, about `connect_timeout` at most. To cancel it or bound
/// it otherwise, use `ystpay_recover_ex`. Thread-safe.
///
/// # Safety
/// `out` a writable `ystpay_recovery_report`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_recover(
    client: *const ystpay_client,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    out: *mut ystpay_recovery_report,
) -> i32 {
    // SAFETY: the caller's contract is the same.
    unsafe { ystpay_recover_ex(client, 0, std::ptr::null(), progress, user_data, out) }
}

/// **Method.** `ystpay_recover` with a time bound and a cancel switch.
///
/// - `deadline_ms`: how long to try each operation, 0 for the client's
///   recovery deadline (default 20 s); 1 gives each operation one query and
///   the steps its answer makes necessary at once, as at client creation.
///   Negative is `YSTPAY_ERR_INVALID_ARGUMENT`.
/// - `cancel`: NULL, or a switch another thread (or the progress callback)
///   may pull: recovery stops at its next pause, leaves the operation it
///   was settling and every later one open (a revoke under way is finished
///   first), and returns `YSTPAY_OK` with what it did.
/// - the rest as for `ystpay_recover`.
///
/// # Safety
/// `cancel` NULL or live; `out` a writable `ystpay_recovery_report`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_recover_ex(
    client: *const ystpay_client,
    deadline_ms: i32,
    cancel: *const ystpay_cancel,
    progress: ystpay_progress_fn,
    user_data: *mut c_void,
    out: *mut ystpay_recovery_report,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        c.payments()?;
        // SAFETY: caller contract.
        let cancel = unsafe { cancel_ref(cancel)? };
        let watch = Watch::default();
        let hear = Hear {
            cancel,
            progress,
            user_data,
            also: None,
        };
        let report = with_options(c.enc, &hear, deadline_ms, &watch, |o| {
            let mut o = *o;
            if deadline_ms == 1 {
                o.deadline = Some(std::time::Duration::ZERO);
            }
            c.register.recover(&o)
        })??;
        let r = report_record(&report);
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &r) };
        Ok(())
    })
}

fn report_record(report: &RecoveryReport) -> Box<ystpay_recovery_report> {
    let mut r = blank::<ystpay_recovery_report>();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    r.settled = count(report.settled.len());
    r.still_open = count(report.still_open.len());
    r.busy_elsewhere = count(report.busy_elsewhere.len());
    let of = |o: Outcome| count(report.settled.iter().filter(|s| s.outcome == o).count());
    r.paid = of(Outcome::Paid);
    r.failed = of(Outcome::Failed);
    r.revoked = of(Outcome::Revoked);
    r.entry_count = count(report.ops.len());
    r
}

/// **Method.** The counts of the last recovery this client finished: the
/// one it ran when it was created (none for a client made with
/// `YSTPAY_FLAG_NO_RECOVER` or without a journal: all zero), or the last
/// `ystpay_recover`. Sends nothing.
///
/// - `out`: caller-owned `ystpay_recovery_report`, written only on
///   `YSTPAY_OK`; list its operations with `ystpay_recovery_get`.
///
/// Thread-safe.
///
/// # Safety
/// `out` a writable `ystpay_recovery_report`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_last_recovery(
    client: *const ystpay_client,
    out: *mut ystpay_recovery_report,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let r = report_record(&c.register.last_recovery());
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &r) };
        Ok(())
    })
}

/// **Method.** Operation number `index` (0 to `entry_count - 1`) of the
/// last recovery this client finished (`ystpay_last_recovery`), in the
/// order recovery took them: its `req_seq`, kind, state after recovery,
/// the outcome that state stands for, and what recovery did with it
/// (`YSTPAY_RECOVERED_*`). Sends nothing.
///
/// `YSTPAY_ERR_INDEX` when `index` is negative or past the end (another
/// recovery of this client may have finished meanwhile and replaced the
/// list). `out`: caller-owned `ystpay_recovery_entry`, written only on
/// `YSTPAY_OK`. Thread-safe.
///
/// # Safety
/// `out` a writable `ystpay_recovery_entry`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_recovery_get(
    client: *const ystpay_client,
    index: i32,
    out: *mut ystpay_recovery_entry,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let report = c.register.last_recovery();
        let op = usize::try_from(index)
            .ok()
            .and_then(|i| report.ops.get(i))
            .ok_or_else(|| {
                Failure::new(
                    YSTPAY_ERR_INDEX,
                    format!(
                        "index {index}: the last recovery touched {} operations",
                        report.ops.len()
                    ),
                )
            })?;
        let mut r = blank::<ystpay_recovery_entry>();
        let mut w = Writer::new(c.enc);
        r.kind = kind_code(op.kind);
        r.state = state_code(op.state);
        r.outcome = outcome_code(op.outcome);
        r.disposition = match op.disposition {
            Disposition::Settled => YSTPAY_RECOVERED_SETTLED,
            Disposition::StillOpen => YSTPAY_RECOVERED_STILL_OPEN,
            Disposition::BusyElsewhere => YSTPAY_RECOVERED_BUSY,
            Disposition::Unreachable => YSTPAY_RECOVERED_UNREACHABLE,
        };
        r.total_fee = op.total_fee;
        w.id(&mut r.req_seq, &op.req_seq, "req_seq")?;
        w.text(&mut r.detail, &op.detail);
        r.truncated = w.truncated as i32;
        drop(report);
        // SAFETY: checked by out_record!.
        unsafe { deliver(out, &r) };
        Ok(())
    })
}
