//! Recovery: settling what the journal holds open (after a crash, a power
//! cut, an unreachable platform), at once, against the platform's answer,
//! by the same table as every flow (docs/DESIGN.md, "What to do next").

use super::decide::Job;
use super::drive::{memory, Drive, Driven};
use super::order::order_time_left;
use super::run::Run;
use super::types::{Disposition, FlowError, RecoveryReport, SettleOptions, Settlement};
use super::Payments;
use crate::journal::{JournalError, OpState};
use crate::reading::Facts;

impl Payments {
    /// Resolves every open operation of this device in the journal against
    /// the platform: barcode payments by query, then revoke where still
    /// unclear or waiting; refunds by query only (one the platform never
    /// received is closed as not sent, never resent); native/JS/H5 orders
    /// by query, closing those past their expiry. An operation in conflict
    /// is asked about again, never resent, and acted on (settled, or
    /// revoked while waiting) only on an answer with the recorded amount;
    /// otherwise it is left in conflict and nothing is revoked. Operations a
    /// live flow drives (this process or another) are left alone; those of
    /// a process that is gone are taken over at once.
    ///
    /// Recovery never waits on a dead network: the first request it cannot
    /// send, or the first operation left without an answer by its deadline,
    /// stops it, and every operation not yet asked about is listed
    /// [`Disposition::Unreachable`], still open. `opts.deadline` bounds
    /// the time spent on each operation (default `recover_deadline`;
    /// [`SettleOptions::at_start_up`] gives each one query and the steps
    /// its answer makes necessary at once); `opts.cancel` stops it, leaving
    /// the rest open.
    pub fn recover(&self, opts: &SettleOptions<'_>) -> Result<RecoveryReport, FlowError> {
        let mut report = RecoveryReport::default();
        let account = self.client.account().to_string();
        let per_op = opts.deadline.unwrap_or(self.config.recover_deadline);
        let mut unreachable = false;
        for listed in self.journal.open_ops(&account)? {
            if unreachable || opts.cancel.is_some_and(|c| c.is_cancelled()) {
                let d = if unreachable {
                    "not asked: the platform is unreachable"
                } else {
                    "not asked: recovery cancelled"
                };
                report.push_left(listed, Disposition::Unreachable, d);
                continue;
            }
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
            let payable = !order_time_left(rec.created_ms, rec.expires_ms).is_zero();
            let d = Drive {
                m: memory(Job::Recover, &rec, rec.kind.is_order() && payable),
                own: None,
                until: run.started + per_op,
                auth_code: None,
            };
            match self.drive(run, d) {
                Driven::Unreachable(s) => {
                    unreachable = true;
                    report.unreachable = true;
                    self.report(&mut report, s, Disposition::Unreachable)?;
                }
                driven => self.report(&mut report, driven.settled(), Disposition::StillOpen)?,
            }
        }
        Ok(report)
    }

    fn report(
        &self,
        report: &mut RecoveryReport,
        s: Settlement,
        open: Disposition,
    ) -> Result<(), FlowError> {
        if s.outcome == super::Outcome::Unknown {
            if let Some(r) = self.journal.get(self.client.account(), &s.req_seq)? {
                report.push(r, open);
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
}
