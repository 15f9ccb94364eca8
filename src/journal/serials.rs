//! The serial ledger: the last `req_seq` issued per account and register
//! tag, kept in the journal so that every process sharing it, before and
//! after a restart, continues after it ([`crate::reqseq`]).
//!
//! Serials are reserved in blocks: a block's last slot is written to the
//! ledger, durably, before any serial of it is sent, and the block is kept
//! in memory and handed out without another write. A crash loses the rest
//! of the block, never a serial: the ledger already lies past it, so no
//! serial of it is ever issued again (docs/DESIGN.md, "The journal").

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::owners::Claim;
use super::{
    get_op, insert_op, insert_refund, serial_used, update_op, Journal, JournalError, NewOp,
    OpRecord, OpUpdate, Owner,
};
use crate::reqseq::{ReqSeqGen, SerialLedger, Slot};

/// Serials reserved at once: more than a password payment asks on the
/// default schedule (at most 20 queries a minute, and its revoke).
pub const BLOCK: usize = 32;
/// A write that can take a new block does so when fewer are left: an
/// operation begun then has serials for all its queries and its revoke.
const LOW: usize = 24;
/// A block older than this is dropped: a serial's stamp stays close to the
/// moment it is sent (measured on the monotonic clock, which cannot step).
const FRESH: Duration = Duration::from_secs(60);

/// The reserved serials not yet handed out.
#[derive(Debug, Default)]
struct Pool {
    tag: u16,
    slots: VecDeque<Slot>,
    at: Option<Instant>,
}

impl Pool {
    /// The slots still usable for `tag` (none when stale or another tag's).
    fn usable(&mut self, tag: u16) -> &mut VecDeque<Slot> {
        if self.tag != tag || self.at.is_none_or(|t| t.elapsed() > FRESH) {
            self.slots.clear();
            self.tag = tag;
        }
        &mut self.slots
    }
}

/// The journal as the [`SerialLedger`] of one device account. It holds the
/// journal: whoever holds the ledger (a flow, the client of a flow) issues
/// through this journal for as long as it holds it, whatever other clients
/// of the register come and go (docs/DESIGN.md, "Serials").
#[derive(Debug, Clone)]
pub struct JournalSerials {
    journal: Arc<Journal>,
    account: String,
    /// The block reserved and not yet handed out, shared by every clone
    /// (the flow and its client).
    pool: Arc<Mutex<Pool>>,
}

impl JournalSerials {
    /// The ledger of `account`'s serials in `journal`.
    pub fn new(journal: &Arc<Journal>, account: &str) -> JournalSerials {
        JournalSerials {
            journal: journal.clone(),
            account: account.to_string(),
            pool: Arc::default(),
        }
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction of the journal, with a
    /// serial for it when `want` (from the reserved block, else from a
    /// block reserved in this same transaction), and tops the block up in
    /// the same transaction when it runs low: so an operation's intent, its
    /// serial and the serials of its queries and revoke are one durable
    /// write. The serials reach the pool only once the transaction is
    /// committed; a failed one hands out nothing.
    pub(crate) fn within<T>(
        &self,
        gen: &ReqSeqGen,
        want: bool,
        f: impl FnOnce(&Transaction<'_>, Option<String>) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let tag = gen.tag();
        let mut pool = self.pool();
        let mut conn = self.journal.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut avail = pool.usable(tag).clone();
        let mut taken = None;
        let mut reserved = false;
        if want {
            taken = pop_unused(&tx, &self.account, tag, &mut avail)?;
        }
        if avail.len() < LOW || want && taken.is_none() {
            avail.extend(reserve(&tx, &self.account, tag, gen.candidate(), BLOCK)?);
            reserved = true;
            if want && taken.is_none() {
                taken = avail.pop_front();
            }
        }
        let seq = taken.map(|s| s.render(tag));
        let out = f(&tx, seq)?;
        tx.commit()?;
        if let Some(s) = taken {
            gen.issued(s);
        }
        if reserved {
            pool.at = Some(Instant::now());
        }
        pool.slots = avail;
        Ok(out)
    }
}

impl JournalSerials {
    /// Reserves a block of serials now when fewer than enough are left.
    pub fn top_up(&self, gen: &ReqSeqGen) -> Result<(), JournalError> {
        self.within(gen, false, |_, _| Ok(()))
    }

    /// Records `op` as [`Journal::begin`] does, under a serial issued in
    /// the same transaction when its `req_seq` is empty: the intent and
    /// its serial are one durable write.
    pub fn begin(&self, gen: &ReqSeqGen, op: &NewOp) -> Result<OpRecord, JournalError> {
        self.within(gen, op.req_seq.is_empty(), |tx, seq| match seq {
            Some(seq) => insert_op(
                tx,
                &NewOp {
                    req_seq: seq,
                    ..op.clone()
                },
            ),
            None => insert_op(tx, op),
        })
    }

    /// [`Journal::begin_refund`], its serial issued in the same
    /// transaction when `op.req_seq` is empty.
    pub fn begin_refund(
        &self,
        gen: &ReqSeqGen,
        pay_req_seq: &str,
        op: &NewOp,
    ) -> Result<OpRecord, JournalError> {
        self.within(gen, op.req_seq.is_empty(), |tx, seq| match seq {
            Some(seq) => insert_refund(
                tx,
                pay_req_seq,
                &NewOp {
                    req_seq: seq,
                    ..op.clone()
                },
            ),
            None => insert_refund(tx, pay_req_seq, op),
        })
    }

    /// [`Journal::claim_revoke`], and, when the operation has no revoke
    /// serial yet and `with_serial`, a new one recorded on it in the same
    /// transaction (checked as [`Journal::update`] checks it): the claim
    /// and the revoke's serial are one durable write.
    pub fn claim_revoke(
        &self,
        gen: &ReqSeqGen,
        req_seq: &str,
        owner: &Owner,
        with_serial: bool,
    ) -> Result<bool, JournalError> {
        let account = self.account.clone();
        let journal = self.journal.clone();
        self.within(gen, with_serial, |tx, seq| {
            if !journal.claim_tx(tx, &account, req_seq, owner, Claim::Revoke)? {
                return Err(JournalError::Busy(req_seq.to_string()));
            }
            let recorded = get_op(tx, &account, req_seq)?.and_then(|r| r.revoke_seq);
            if let (Some(seq), None) = (seq, recorded) {
                let u = OpUpdate {
                    revoke_seq: Some(seq),
                    ..OpUpdate::default()
                };
                update_op(tx, &account, req_seq, &u)?;
            }
            Ok(true)
        })
        .or_else(|e| match e {
            JournalError::Busy(_) => Ok(false),
            e => Err(e),
        })
    }
}

/// The first slot of `avail` whose serial the journal does not hold (a
/// serial a POS program chose may meet one reserved here).
fn pop_unused(
    conn: &Connection,
    account: &str,
    tag: u16,
    avail: &mut VecDeque<Slot>,
) -> Result<Option<Slot>, JournalError> {
    while let Some(s) = avail.pop_front() {
        if !serial_used(conn, account, &s.render(tag))? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

impl SerialLedger for JournalSerials {
    /// From the reserved block (a read, no write); when it is used up, a
    /// new block is reserved durably first (docs/DESIGN.md, "Serials").
    fn issue(&self, tag: u16, candidate: Slot) -> Result<Slot, String> {
        let mut pool = self.pool();
        let fail = |e: JournalError| e.to_string();
        {
            let conn = self.journal.lock();
            let avail = pool.usable(tag);
            if let Some(s) = pop_unused(&conn, &self.account, tag, avail).map_err(fail)? {
                return Ok(s);
            }
        }
        let mut slots = self
            .journal
            .reserve_serials(&self.account, tag, candidate, BLOCK)
            .map_err(fail)?;
        let first = slots.pop_front().ok_or("no serial reserved")?;
        pool.slots = slots;
        pool.at = Some(Instant::now());
        Ok(first)
    }
}

/// Reserves `n` slots of `account`'s register `tag`, each at or after
/// `candidate`, after the last one issued and unused by the journal, and
/// records the last of them as the last one issued.
fn reserve(
    tx: &Connection,
    account: &str,
    tag: u16,
    candidate: Slot,
    n: usize,
) -> Result<VecDeque<Slot>, JournalError> {
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
        None => highest_recorded(tx, account, tag)?,
    };
    let mut slot = last.map_or(candidate, |l| l.after().max(candidate));
    let mut out = VecDeque::with_capacity(n);
    while out.len() < n {
        if !serial_used(tx, account, &slot.render(tag))? {
            out.push_back(slot);
        }
        if out.len() < n {
            slot = slot.after();
        }
    }
    tx.execute(
        "INSERT INTO serials(account, tag, second, counter) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(account, tag) DO UPDATE SET second = ?3, counter = ?4",
        params![account, tag, slot.second, slot.counter],
    )?;
    Ok(out)
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
        let mut slots = self.reserve_serials(account, tag, candidate, 1)?;
        Ok(slots.pop_front().expect("one slot reserved"))
    }

    /// Reserves `n` serial slots of `account`'s register `tag` (see
    /// [`Journal::issue_serial`]) in one transaction, the last of them
    /// recorded as the last one issued: none of them is ever issued again.
    pub fn reserve_serials(
        &self,
        account: &str,
        tag: u16,
        candidate: Slot,
        n: usize,
    ) -> Result<VecDeque<Slot>, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let slots = reserve(&tx, account, tag, candidate, n.max(1))?;
        tx.commit()?;
        Ok(slots)
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
