//! What the journal reports: the closing report of a day, and the
//! notifications already reported.

use rusqlite::{params, Connection, TransactionBehavior};

use super::{DayTotals, Journal, JournalError, OpKind, OpState, TotalLine, OPEN_STATES_SQL};
use crate::time::now_ms;

impl Journal {
    /// The closing report of business day `day` (`YYYY-MM-DD`), all accounts:
    /// counts and sums by kind, channel and state.
    pub fn day_totals(&self, day: &str) -> Result<DayTotals, JournalError> {
        totals_on(&self.lock(), day)
    }

    /// Records a paid notice for the order `(account, req_seq)` in one
    /// transaction: marks the order paid (when it is recorded and still
    /// open) and notes the notice. True the first time this `trans_seq` is
    /// noted, false for a repeat.
    pub fn settle_notice(
        &self,
        account: &str,
        req_seq: &str,
        trans_seq: &str,
        detail: &str,
    ) -> Result<bool, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            &format!(
                "UPDATE ops SET state = 'paid', trans_seq = COALESCE(trans_seq, ?3), detail = ?4,
                 updated_ms = ?5
                 WHERE account = ?1 AND req_seq = ?2 AND state IN {OPEN_STATES_SQL}"
            ),
            params![account, req_seq, trans_seq, detail, now_ms()],
        )?;
        let n = tx.execute(
            "INSERT OR IGNORE INTO notices(account, trans_seq, req_seq, received_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![account, trans_seq, req_seq, now_ms()],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// True when the notice for order `trans_seq` was already reported.
    pub fn notice_seen(&self, account: &str, trans_seq: &str) -> Result<bool, JournalError> {
        let conn = self.lock();
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM notices WHERE account = ?1 AND trans_seq = ?2",
            params![account, trans_seq],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }
}

/// The closing report of business day `day` read on `conn` (inside the
/// caller's transaction, when it holds one): [`Journal::day_totals`] and
/// the CSV export's totals are this one query.
pub(super) fn totals_on(conn: &Connection, day: &str) -> Result<DayTotals, JournalError> {
    let mut stmt = conn.prepare(
        "SELECT kind, COALESCE(channel, ''), state, COUNT(*), SUM(total_fee)
         FROM ops WHERE day = ?1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )?;
    let rows = stmt.query_map(params![day], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut totals = DayTotals {
        day: day.to_string(),
        lines: Vec::new(),
        paid_fee: 0,
        refunded_fee: 0,
        open_count: 0,
    };
    for row in rows {
        let (kind, channel, state, count, fee) = row?;
        let (Some(kind), Some(state)) = (OpKind::parse(&kind), OpState::parse(&state)) else {
            return Err(JournalError::Corrupt(format!("{kind}/{state}")));
        };
        match state {
            OpState::Paid if kind.takes_money() => totals.paid_fee += fee,
            OpState::Refunded => totals.refunded_fee += fee,
            s if s.is_open() => totals.open_count += count,
            _ => {}
        }
        totals.lines.push(TotalLine {
            kind,
            channel,
            state,
            count,
            fee,
        });
    }
    Ok(totals)
}
