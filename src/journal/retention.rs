//! Retention: removing settled operations of old business days, so that a
//! register's journal stops growing on a small disk (`journal_keep_days`,
//! docs/DESIGN.md, "The journal").
//!
//! What is removed, in one `BEGIN IMMEDIATE` transaction: every operation
//! whose business day (China time, the `day` column) is more than
//! `keep_days` days before today and whose state is final, with the
//! requests sent for it (`attempts`). Kept whatever its age:
//! - an open operation (pending, waiting, revoking, unknown, conflict):
//!   recovery still owes it the platform's final word;
//! - a refund of a payment that is kept, and a payment (or order) one of
//!   whose refunds is kept: a payment and its refunds go together, so the
//!   refund ceiling (`begin_refund`) and `refunds_of` never see half of one;
//! - the serial ledger (`serials`): serials must never be reused;
//! - the notifications already reported (`notices`): forgetting one could
//!   report a late repeat as new.

use rusqlite::{params, TransactionBehavior};

use super::{Journal, JournalError, OPEN_STATES_SQL};
use crate::time::{china, now_ms};

/// What [`Journal::prune`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// The oldest business day kept (`YYYY-MM-DD`); operations of earlier
    /// days were candidates. Empty when nothing was looked at (`keep_days` 0).
    pub oldest_day_kept: String,
    /// Operations removed.
    pub ops: usize,
    /// Their requests removed from the audit trail.
    pub attempts: usize,
}

/// A kept operation `k`: of a recent day, or open.
fn kept(alias: &str) -> String {
    format!("({alias}.day >= ?1 OR {alias}.state IN {OPEN_STATES_SQL})")
}

impl Journal {
    /// The business day `keep_days` days before today (China time): the
    /// oldest day [`Journal::prune`] keeps.
    pub fn oldest_day_kept(keep_days: u32) -> String {
        let today = china(now_ms()).date();
        today
            .checked_sub_days(chrono::Days::new(keep_days.into()))
            .unwrap_or(today)
            .format("%Y-%m-%d")
            .to_string()
    }

    /// Removes the settled operations of business days more than
    /// `keep_days` days before today, all accounts, with their attempts; 0
    /// keeps everything. What stays whatever its age is in the module docs:
    /// open operations, refunds of a kept payment, payments with a kept
    /// refund, the serial ledger, the notices. One transaction: another
    /// program on the journal sees all of it or none of it.
    ///
    /// A serial the POS program supplies itself is afterwards checked only
    /// against what the journal still holds; serials the library issues
    /// never repeat, since the ledger is kept (docs/DESIGN.md, *Serials*).
    pub fn prune(&self, keep_days: u32) -> Result<PruneReport, JournalError> {
        if keep_days == 0 {
            return Ok(PruneReport::default());
        }
        let cutoff = Journal::oldest_day_kept(keep_days);
        let mut report = PruneReport {
            oldest_day_kept: cutoff.clone(),
            ..PruneReport::default()
        };
        let mut conn = self.lock();
        // Most openings find nothing old: answer that without taking the
        // write lock other programs on the journal would wait for.
        let any: bool = conn.query_row(
            &format!(
                "SELECT EXISTS(SELECT 1 FROM ops WHERE day < ?1 AND state NOT IN {OPEN_STATES_SQL})"
            ),
            params![cutoff],
            |r| r.get(0),
        )?;
        if !any {
            return Ok(report);
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // o: an old settled operation (found through the `day` index). Not
        // a refund: removed unless one of its refunds is kept. A refund:
        // removed unless its payment is kept or has another refund that is
        // kept (then the payment stays, and so do all its refunds).
        let sql = format!(
            "SELECT o.id FROM ops o WHERE o.day < ?1 AND o.state NOT IN {OPEN_STATES_SQL} AND (
               (o.kind <> 'refund' AND NOT EXISTS(
                  SELECT 1 FROM ops r WHERE r.account = o.account AND r.parent_seq = o.req_seq
                  AND r.kind = 'refund' AND {kr}))
               OR
               (o.kind = 'refund' AND NOT EXISTS(
                  SELECT 1 FROM ops p WHERE p.account = o.account AND p.req_seq = o.parent_seq
                  AND ({kp} OR EXISTS(
                      SELECT 1 FROM ops r WHERE r.account = p.account
                      AND r.parent_seq = p.req_seq AND r.kind = 'refund' AND {kr})))))",
            kr = kept("r"),
            kp = kept("p"),
        );
        let ids: Vec<i64> = {
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_map(params![cutoff], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        {
            let mut del_attempts = tx.prepare("DELETE FROM attempts WHERE op_id = ?1")?;
            let mut del_op = tx.prepare("DELETE FROM ops WHERE id = ?1")?;
            for id in &ids {
                report.attempts += del_attempts.execute(params![id])?;
                report.ops += del_op.execute(params![id])?;
            }
        }
        tx.commit()?;
        Ok(report)
    }
}
