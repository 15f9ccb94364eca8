//! The serial ledger: the last `req_seq` issued per account and register
//! tag, kept in the journal so that every process sharing it, before and
//! after a restart, continues after it ([`crate::reqseq`]).

use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{serial_used, Journal, JournalError};
use crate::reqseq::{SerialLedger, Slot};

/// The journal as the [`SerialLedger`] of one device account. It holds the
/// journal: whoever holds the ledger (a flow, the client of a flow) issues
/// through this journal for as long as it holds it, whatever other clients
/// of the register come and go (docs/DESIGN.md, "Serials").
#[derive(Debug, Clone)]
pub struct JournalSerials {
    journal: Arc<Journal>,
    account: String,
}

impl JournalSerials {
    /// The ledger of `account`'s serials in `journal`.
    pub fn new(journal: &Arc<Journal>, account: &str) -> JournalSerials {
        JournalSerials {
            journal: journal.clone(),
            account: account.to_string(),
        }
    }
}

impl SerialLedger for JournalSerials {
    fn issue(&self, tag: u16, candidate: Slot) -> Result<Slot, String> {
        self.journal
            .issue_serial(&self.account, tag, candidate)
            .map_err(|e| e.to_string())
    }
}

impl Journal {
    /// Issues the first serial slot of `account`'s register `tag` at or
    /// after `candidate` that comes after the last one issued and that no
    /// recorded operation or request uses, and records it as the last one,
    /// in one transaction (so processes sharing the file never issue the
    /// same one).
    pub fn issue_serial(
        &self,
        account: &str,
        tag: u16,
        candidate: Slot,
    ) -> Result<Slot, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, i64)> = tx
            .query_row(
                "SELECT second, counter FROM serials WHERE account = ?1 AND tag = ?2",
                params![account, tag],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let last = match last {
            Some((second, counter)) => Some(Slot {
                second,
                counter: u16::try_from(counter).unwrap_or(9_999),
            }),
            None => highest_recorded(&tx, account, tag)?,
        };
        let mut slot = last.map_or(candidate, |l| l.after().max(candidate));
        while serial_used(&tx, account, &slot.render(tag))? {
            slot = slot.after();
        }
        tx.execute(
            "INSERT INTO serials(account, tag, second, counter) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(account, tag) DO UPDATE SET second = ?3, counter = ?4",
            params![account, tag, slot.second, slot.counter],
        )?;
        tx.commit()?;
        Ok(slot)
    }
}

/// The latest serial of register `tag` the journal holds for `account`,
/// for a journal with no ledger row yet (one migrated from schema 1).
fn highest_recorded(
    conn: &Connection,
    account: &str,
    tag: u16,
) -> Result<Option<Slot>, JournalError> {
    let tag = format!("{tag:04}");
    let highest: Option<String> = conn.query_row(
        "SELECT MAX(s) FROM (
             SELECT req_seq AS s FROM ops WHERE account = ?1
             UNION ALL SELECT revoke_seq FROM ops WHERE account = ?1
             UNION ALL SELECT a.req_seq FROM attempts a JOIN ops o ON o.id = a.op_id
                 WHERE o.account = ?1)
         WHERE length(s) = 20 AND s NOT GLOB '*[^0-9]*' AND substr(s, 13, 4) = ?2",
        params![account, tag],
        |r| r.get(0),
    )?;
    Ok(highest
        .as_deref()
        .and_then(Slot::parse)
        .map(|(slot, _)| slot))
}
