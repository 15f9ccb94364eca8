//! Recovery: settling what the journal holds open (after a crash, a power
//! cut, an unreachable platform), at once, against the platform's answer.

use super::order::order_time_left;
use super::run::{OnCancel, Pause, Run};
use super::types::{
    Disposition, FlowError, RecoveryReport, RevokeReason, SettleOptions, Settlement,
};
use super::{in_conflict, Payments};
use crate::journal::{JournalError, OpKind, OpRecord, OpState};
use crate::reading::{Facts, Reading};

impl Payments {
    /// Resolves every open operation of this device in the journal against
    /// the platform: barcode payments by query, then revoke where still
    /// unclear or waiting; refunds by query, resending the same refund when
    /// the platform never received it; native/JS/H5 orders by query,
    /// closing those past their expiry. An operation in conflict is asked
    /// about again, never resent, and acted on (settled, or revoked while
    /// waiting) only on an answer with the recorded amount; otherwise it is
    /// left in conflict and nothing is revoked. Operations a live flow
    /// drives (this process or another) are left alone; those of a process
    /// that is gone are taken over at once.
    pub fn recover(&self, opts: &SettleOptions<'_>) -> Result<RecoveryReport, FlowError> {
        let mut report = RecoveryReport::default();
        let account = self.client.account().to_string();
        for listed in self.journal.open_ops(&account)? {
            let run = match self.take(&listed, opts) {
                Ok(run) => run,
                Err(FlowError::Journal(JournalError::Busy(_))) => {
                    // Driven by a live flow, or ended since the list was read.
                    if let Some(now) = self.journal.get(&account, &listed.req_seq)? {
                        if now.state.is_open() {
                            report.push(now, Disposition::BusyElsewhere);
                        }
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(rec) = run.record() else { continue };
            if !rec.state.is_open() {
                continue;
            }
            let s = match rec.kind {
                OpKind::Refund => {
                    let end = run.started + self.config.recover_deadline;
                    self.drive_refund(run, false, in_conflict(&rec), end)
                }
                _ => self.recover_by_query(run, &rec),
            };
            self.report(&mut report, s)?;
        }
        Ok(report)
    }

    fn report(&self, report: &mut RecoveryReport, s: Settlement) -> Result<(), FlowError> {
        if s.outcome == super::Outcome::Unknown {
            if let Some(r) = self.journal.get(self.client.account(), &s.req_seq)? {
                report.push(r, Disposition::StillOpen);
            }
        } else {
            report.push_settled(s);
        }
        Ok(())
    }

    /// Leaves an operation in conflict as it is, noting why.
    pub(super) fn still_in_conflict(run: Run<'_>, why: &str) -> Settlement {
        let d = format!("still in conflict: {why}");
        run.finish(OpState::Conflict, Facts::default(), d)
    }

    /// Why `reading` cannot settle an operation in conflict, if it cannot.
    /// Its serial may hold another order at the platform, so only an answer
    /// that carries the amount, checked equal to the recorded one by the
    /// reading, shows the order is this one; an `S`, `F` or `W` without an
    /// amount (the API makes amounts optional) may be the other order's,
    /// and acting on such a `W` would revoke it (docs/DESIGN.md, "What an
    /// answer proves").
    pub(super) fn unproven_in_conflict(reading: &Reading) -> Option<String> {
        match reading {
            Reading::Paid(f) | Reading::Failed(f) | Reading::Waiting(f) if f.fee.is_none() => {
                Some(format!(
                    "an answer without an amount cannot show whose order it is: {}",
                    f.words()
                ))
            }
            _ => None,
        }
    }

    /// Settles a payment or an order by query: paid, failed or in conflict
    /// by the answer; still waiting, or never arrived, by a revoke (which
    /// closes the serial either way) — except an order the customer may
    /// still pay, which stays open, and anything in conflict, which only an
    /// answer with the recorded amount settles.
    fn recover_by_query(&self, mut run: Run<'_>, rec: &OpRecord) -> Settlement {
        if rec.state == OpState::Revoking {
            return self.revoke_pay(run, None, RevokeReason::Recovery, None);
        }
        let careful = in_conflict(rec);
        let order = rec.kind.is_order();
        let customer_may_pay = order && !order_time_left(rec.created_ms, rec.expires_ms).is_zero();
        let failed = if order {
            OpState::Closed
        } else {
            OpState::Failed
        };
        let end = run.started + self.config.recover_deadline;
        let mut n = 0u32;
        loop {
            n += 1;
            run.progress(super::Progress::Querying { attempt: n });
            let reading = if order {
                self.query_order(&mut run)
            } else {
                self.query_pay(&mut run)
            };
            if careful {
                if let Some(why) = Self::unproven_in_conflict(&reading) {
                    return Self::still_in_conflict(run, &why);
                }
            }
            match reading {
                Reading::Paid(f) => return run.end(OpState::Paid, *f),
                Reading::Failed(f) => return run.end(failed, *f),
                Reading::Foreign(f, why) => return run.conflict(*f, why),
                Reading::Waiting(f) if customer_may_pay => {
                    let d = format!("still waiting for the customer: {}", f.words());
                    return run.finish(OpState::Waiting, *f, d);
                }
                Reading::Refused(r) if careful => {
                    return Self::still_in_conflict(run, &format!("N {} {}", r.code, r.msg))
                }
                // Still waiting (the cashier no longer is), or never arrived.
                Reading::Waiting(_) | Reading::Refused(_) => {
                    return self.revoke_pay(run, None, RevokeReason::Recovery, None)
                }
                Reading::NotSent(_) | Reading::Unclear(_) | Reading::Revoked(_) => {}
            }
            match run.pause(self.config.retry.interval(n - 1), end, OnCancel::Stop) {
                Pause::Go => {}
                Pause::Deadline if careful => {
                    return Self::still_in_conflict(run, "platform unreachable")
                }
                Pause::Deadline if order => {
                    let d = "platform unreachable".to_string();
                    return run.finish(rec.state, Facts::default(), d);
                }
                // A payment unreachable: try the revoke anyway (it has its
                // own deadline).
                Pause::Deadline => return self.revoke_pay(run, None, RevokeReason::Recovery, None),
                Pause::Cancelled => {
                    let d = "recovery cancelled; still open".to_string();
                    return run.finish(rec.state, Facts::default(), d);
                }
            }
        }
    }
}
