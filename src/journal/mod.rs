//! The durable journal: a local record of every operation, written *before*
//! its request leaves and updated with every answer, so that after a crash
//! or a power cut the register still knows what it asked the platform to do.
//!
//! Storage is one SQLite file (bundled SQLite, WAL, `synchronous=FULL`, busy
//! timeout), so several clients and several processes of one register may
//! open the same file at once: SQLite's locking keeps it consistent, and
//! every read-check-write (the refund ceiling, notice dedupe) runs in a
//! `BEGIN IMMEDIATE` transaction.
//!
//! What it holds:
//! - `ops`: one row per operation (barcode payment, refund, native/JS/H5
//!   order) keyed by `(account, req_seq)`, with its [`OpState`]. Amounts are
//!   integer fen. A revoke of a payment is stored on the payment's row
//!   (`revoke_seq`, state [`OpState::Revoking`]) so that retries and
//!   recovery reuse the same revoke serial.
//! - `attempts`: every request sent for an operation (the first send,
//!   retries, queries, revokes) with its outcome: the audit trail.
//! - `notices`: the payment notifications already reported, for dedupe.
//! - `serials`: the last `req_seq` issued per account and register tag
//!   ([`crate::reqseq`]), so that no serial is issued twice.
//!
//! Who drives an open operation is tied to a live process ([`Owner`],
//! `owners.rs`), not to the clock (which steps): an operation whose process
//! died can be taken over at once.
//!
//! Never stored: the private key, the password, the dsn, or a full payment
//! code (only its first and last four characters).
//!
//! Days and times are China Standard Time (UTC+8), as the platform's
//! `pay_time`, so the closing report matches the platform's reconciliation.

mod export;
mod owners;
mod reports;
mod retention;
mod serials;
mod types;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::protocol::types::mask;
use crate::time::{day_of, now_ms};

pub use export::{
    channel_label, kind_label, state_label, CsvExport, ExportError, COLUMNS, DAY_TOTALS_HEADER,
    LINE_TOTALS_HEADER, MAX_EXPORT_DAYS, RANGE_TOTAL,
};
use owners::release_in;
pub use owners::Owner;
pub use retention::PruneReport;
pub use serials::{JournalSerials, BLOCK as SERIAL_BLOCK};
pub use types::*;

/// How long a writer waits for another process's lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Schema version stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ops(
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    req_seq     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    total_fee   INTEGER NOT NULL CHECK (total_fee > 0),
    channel     TEXT,
    auth_code   TEXT,
    trans_seq   TEXT,
    parent_seq  TEXT,
    revoke_seq  TEXT,
    refund_seq  TEXT,
    pay_url     TEXT,
    expires_ms  INTEGER,
    reason      TEXT,
    owner       TEXT,
    detail      TEXT NOT NULL DEFAULT '',
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    day         TEXT NOT NULL,
    UNIQUE(account, req_seq)
);
CREATE INDEX IF NOT EXISTS ops_day ON ops(day);
CREATE INDEX IF NOT EXISTS ops_state ON ops(state);
CREATE INDEX IF NOT EXISTS ops_parent ON ops(account, parent_seq);
CREATE INDEX IF NOT EXISTS ops_trans ON ops(account, trans_seq);
CREATE INDEX IF NOT EXISTS ops_revoke ON ops(account, revoke_seq);
CREATE TABLE IF NOT EXISTS attempts(
    id          INTEGER PRIMARY KEY,
    op_id       INTEGER NOT NULL REFERENCES ops(id),
    what        TEXT NOT NULL,
    req_seq     TEXT NOT NULL,
    sent_ms     INTEGER NOT NULL,
    outcome     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_op ON attempts(op_id);
CREATE INDEX IF NOT EXISTS attempts_req ON attempts(req_seq);
CREATE TABLE IF NOT EXISTS notices(
    account     TEXT NOT NULL,
    trans_seq   TEXT NOT NULL,
    req_seq     TEXT,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY(account, trans_seq)
);
CREATE TABLE IF NOT EXISTS serials(
    account     TEXT NOT NULL,
    tag         INTEGER NOT NULL,
    second      INTEGER NOT NULL,
    counter     INTEGER NOT NULL,
    PRIMARY KEY(account, tag)
);
";

/// From schema 1 (leases) to 2 (owners tied to live processes, serials).
/// `SCHEMA` then adds what is missing (`IF NOT EXISTS`).
const MIGRATE_1_TO_2: &str = "ALTER TABLE ops DROP COLUMN lease_ms;";

const OPEN_STATES_SQL: &str = "('pending','waiting','revoking','unknown','conflict')";

/// True for SQLite's "busy" and "locked" results.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The journal. Cheap to share between threads (`&self` methods, one
/// connection behind a mutex); open one per process, as many processes as
/// needed on the same file.
pub struct Journal {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
    owners: owners::Owners,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

const OP_COLUMNS: &str = "id, account, req_seq, kind, state, total_fee, channel, auth_code, \
     trans_seq, parent_seq, revoke_seq, refund_seq, pay_url, expires_ms, detail, created_ms, \
     updated_ms, day, reason, owner";

fn read_op(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<OpRecord, JournalError>> {
    let kind: String = row.get(3)?;
    let state: String = row.get(4)?;
    let (Some(kind), Some(state)) = (OpKind::parse(&kind), OpState::parse(&state)) else {
        return Ok(Err(JournalError::Corrupt(format!(
            "kind '{kind}' / state '{state}'"
        ))));
    };
    Ok(Ok(OpRecord {
        id: row.get(0)?,
        account: row.get(1)?,
        req_seq: row.get(2)?,
        kind,
        state,
        total_fee: row.get(5)?,
        channel: row.get(6)?,
        auth_code_masked: row.get(7)?,
        trans_seq: row.get(8)?,
        parent_seq: row.get(9)?,
        revoke_seq: row.get(10)?,
        refund_seq: row.get(11)?,
        pay_url: row.get(12)?,
        expires_ms: row.get(13)?,
        detail: row.get(14)?,
        created_ms: row.get(15)?,
        updated_ms: row.get(16)?,
        day: row.get(17)?,
        reason: row.get(18)?,
        owner: row.get(19)?,
    }))
}

fn collect_ops(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<OpRecord>, JournalError> {
    let rows = stmt.query_map(params, read_op)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

impl Journal {
    /// Opens (creating if needed) the journal file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Journal, JournalError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path)?;
        let j = Journal {
            conn: Mutex::new(conn),
            owners: owners::Owners::beside(Some(&path)),
            path: Some(path),
        };
        j.init(true)?;
        Ok(j)
    }

    /// A journal in memory (tests; nothing survives the process).
    pub fn open_in_memory() -> Result<Journal, JournalError> {
        let conn = Connection::open_in_memory()?;
        let j = Journal {
            conn: Mutex::new(conn),
            path: None,
            owners: owners::Owners::beside(None),
        };
        j.init(false)?;
        Ok(j)
    }

    /// SQLite's `PRAGMA quick_check`: `ok`, or the first problem it names
    /// (`ystpay doctor`).
    pub fn quick_check(&self) -> Result<String, JournalError> {
        let conn = self.lock();
        Ok(conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?)
    }

    /// The newest serial slot issued for `account` (any register tag), as
    /// its China-time second since the epoch, from the serial ledger
    /// (docs/DESIGN.md, *Serials*): its high-water mark.
    pub fn newest_serial_second(&self, account: &str) -> Result<Option<i64>, JournalError> {
        let conn = self.lock();
        Ok(conn.query_row(
            "SELECT MAX(second) FROM serials WHERE account = ?1",
            [account],
            |r| r.get(0),
        )?)
    }

    /// The file this journal lives in (none in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Sets the connection up and creates or checks the schema.
    ///
    /// Several processes may open a new journal file at the same moment.
    /// SQLite does not always call the busy handler then: a connection that
    /// finds another switching the file to WAL, or recovering its WAL, can
    /// get `SQLITE_BUSY` at once (seen as "database is locked" with eight
    /// threads opening one new file). Such an attempt is repeated, with a
    /// growing pause, until [`BUSY_TIMEOUT`]; every step is idempotent.
    fn init(&self, wal: bool) -> Result<(), JournalError> {
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(2);
        loop {
            match self.try_init(wal) {
                Ok(result) => return result,
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One attempt of [`Journal::init`]: `Err` is SQLite's error (retried
    /// when busy), `Ok(Err)` a journal that cannot be used.
    fn try_init(&self, wal: bool) -> Result<Result<(), JournalError>, rusqlite::Error> {
        let mut conn = self.lock();
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if wal {
            // Switching to WAL needs a moment of exclusive access; under the
            // busy timeout a concurrent opener usually waits instead of failing.
            let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Ok(Err(JournalError::Storage(format!(
                    "journal_mode is {mode}, WAL required"
                ))));
            }
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Ok(Err(JournalError::NewerSchema(version)));
        }
        if version < SCHEMA_VERSION {
            if version == 1 {
                tx.execute_batch(MIGRATE_1_TO_2)?;
            }
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        }
        tx.commit()?;
        Ok(Ok(()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (any open
        // transaction is rolled back when dropped), so a poisoned lock is usable.
        match self.conn.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Records a new operation in state [`OpState::Pending`]. Call before
    /// its request leaves. The payment code is stored masked. A `req_seq`
    /// the journal already holds for this account, as an operation, a
    /// revoke or any request sent, is [`JournalError::Duplicate`].
    pub fn begin(&self, op: &NewOp) -> Result<OpRecord, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec = insert_op(&tx, op)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Records a new refund of the payment `pay_req_seq`, after checking in
    /// the same transaction that the payment is paid and that this refund,
    /// with every refund of it not declared failed, stays within the amount
    /// paid. `op.parent_seq` and `op.trans_seq` are filled in from the payment.
    pub fn begin_refund(&self, pay_req_seq: &str, op: &NewOp) -> Result<OpRecord, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec = insert_refund(&tx, pay_req_seq, op)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Applies `update` to the operation `(account, req_seq)` and returns it as it now is.
    /// A revoke serial is checked when first recorded: one the journal holds
    /// for anything else, or one replacing the serial recorded, is
    /// [`JournalError::Duplicate`] and nothing is changed.
    pub fn update(
        &self,
        account: &str,
        req_seq: &str,
        update: &OpUpdate,
    ) -> Result<OpRecord, JournalError> {
        self.update_with(account, req_seq, update, &[])
    }

    /// [`Journal::update`] and the requests `attempts` of the operation, in
    /// one transaction: the audit trail of requests that changed nothing
    /// recovery needs rides on the next write that does (docs/DESIGN.md,
    /// "The journal").
    pub fn update_with(
        &self,
        account: &str,
        req_seq: &str,
        update: &OpUpdate,
        attempts: &[AttemptRow],
    ) -> Result<OpRecord, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_attempts(&tx, account, req_seq, attempts)?;
        let rec = update_op(&tx, account, req_seq, update)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Ends a run in one transaction: the requests `attempts`, `update`
    /// (its final state), and `owner`'s claim given up.
    pub fn finish_op(
        &self,
        account: &str,
        req_seq: &str,
        update: &OpUpdate,
        attempts: &[AttemptRow],
        owner: &Owner,
    ) -> Result<OpRecord, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_attempts(&tx, account, req_seq, attempts)?;
        let rec = update_op(&tx, account, req_seq, update)?;
        release_in(&tx, account, req_seq, owner)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Records several requests sent for one operation, in one transaction.
    pub fn record_attempts(
        &self,
        account: &str,
        op_req_seq: &str,
        attempts: &[AttemptRow],
    ) -> Result<(), JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        insert_attempts(&tx, account, op_req_seq, attempts)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a request sent for operation `(account, op_req_seq)` and what
    /// came back.
    pub fn record_attempt(
        &self,
        account: &str,
        op_req_seq: &str,
        what: &str,
        req_seq: &str,
        outcome: &str,
    ) -> Result<(), JournalError> {
        let conn = self.lock();
        let n = conn.execute(
            "INSERT INTO attempts(op_id, what, req_seq, sent_ms, outcome)
             SELECT id, ?3, ?4, ?5, ?6 FROM ops WHERE account = ?1 AND req_seq = ?2",
            params![account, op_req_seq, what, req_seq, now_ms(), outcome],
        )?;
        if n == 0 {
            return Err(JournalError::NotFound(op_req_seq.to_string()));
        }
        Ok(())
    }

    /// The requests sent for an operation, oldest first.
    pub fn attempts(&self, account: &str, op_req_seq: &str) -> Result<Vec<Attempt>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT a.what, a.req_seq, a.sent_ms, a.outcome FROM attempts a
             JOIN ops o ON o.id = a.op_id
             WHERE o.account = ?1 AND o.req_seq = ?2 ORDER BY a.id",
        )?;
        let rows = stmt.query_map(params![account, op_req_seq], |r| {
            Ok(Attempt {
                what: r.get(0)?,
                req_seq: r.get(1)?,
                sent_ms: r.get(2)?,
                outcome: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The operation `(account, req_seq)`, if recorded.
    pub fn get(&self, account: &str, req_seq: &str) -> Result<Option<OpRecord>, JournalError> {
        let conn = self.lock();
        get_op(&conn, account, req_seq)
    }

    /// Every open operation of `account` (pending, waiting, revoking,
    /// unknown), oldest first: what [`crate::flow::Payments::recover`] resolves.
    pub fn open_ops(&self, account: &str) -> Result<Vec<OpRecord>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {OP_COLUMNS} FROM ops WHERE account = ?1 AND state IN {OPEN_STATES_SQL}
             ORDER BY id"
        ))?;
        collect_ops(&mut stmt, params![account])
    }

    /// Every operation of business day `day` (`YYYY-MM-DD`), all accounts, oldest first.
    pub fn day_ops(&self, day: &str) -> Result<Vec<OpRecord>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {OP_COLUMNS} FROM ops WHERE day = ?1 ORDER BY id"
        ))?;
        collect_ops(&mut stmt, params![day])
    }

    /// Every operation recorded, all accounts, oldest first.
    pub fn all_ops(&self) -> Result<Vec<OpRecord>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!("SELECT {OP_COLUMNS} FROM ops ORDER BY id"))?;
        collect_ops(&mut stmt, [])
    }

    /// The refunds of payment `(account, pay_req_seq)`, oldest first.
    pub fn refunds_of(
        &self,
        account: &str,
        pay_req_seq: &str,
    ) -> Result<Vec<OpRecord>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {OP_COLUMNS} FROM ops WHERE account = ?1 AND parent_seq = ?2
             AND kind = 'refund' ORDER BY id"
        ))?;
        collect_ops(&mut stmt, params![account, pay_req_seq])
    }

    /// The amount of payment `(account, pay_req_seq)` refunded or being
    /// refunded (every refund not declared failed), in fen.
    pub fn refunded_fee(&self, account: &str, pay_req_seq: &str) -> Result<i64, JournalError> {
        let conn = self.lock();
        refunded_sum(&conn, account, pay_req_seq)
    }
}

/// A request sent for an operation and what came back, kept by a run
/// until its next write (see [`Journal::update_with`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// What was sent (`pay`, `query`, `revoke`, ...).
    pub what: String,
    /// Its serial.
    pub req_seq: String,
    /// When it was sent (Unix ms).
    pub sent_ms: i64,
    /// What its answer proved.
    pub outcome: String,
}

fn insert_attempts(
    conn: &Connection,
    account: &str,
    op_req_seq: &str,
    attempts: &[AttemptRow],
) -> Result<(), JournalError> {
    for a in attempts {
        let n = conn.execute(
            "INSERT INTO attempts(op_id, what, req_seq, sent_ms, outcome)
             SELECT id, ?3, ?4, ?5, ?6 FROM ops WHERE account = ?1 AND req_seq = ?2",
            params![account, op_req_seq, a.what, a.req_seq, a.sent_ms, a.outcome],
        )?;
        if n == 0 {
            return Err(JournalError::NotFound(op_req_seq.to_string()));
        }
    }
    Ok(())
}

fn update_op(
    tx: &Connection,
    account: &str,
    req_seq: &str,
    update: &OpUpdate,
) -> Result<OpRecord, JournalError> {
    if let Some(seq) = &update.revoke_seq {
        check_revoke_serial(tx, account, req_seq, seq)?;
    }
    let n = tx.execute(
        "UPDATE ops SET
            state = COALESCE(?3, state),
            trans_seq = COALESCE(?4, trans_seq),
            channel = COALESCE(?5, channel),
            revoke_seq = COALESCE(?6, revoke_seq),
            refund_seq = COALESCE(?7, refund_seq),
            pay_url = COALESCE(?8, pay_url),
            detail = COALESCE(?9, detail),
            updated_ms = ?10
         WHERE account = ?1 AND req_seq = ?2",
        params![
            account,
            req_seq,
            update.state.map(OpState::as_str),
            update.trans_seq,
            update.channel,
            update.revoke_seq,
            update.refund_seq,
            update.pay_url,
            update.detail,
            now_ms()
        ],
    )?;
    if n == 0 {
        return Err(JournalError::NotFound(req_seq.to_string()));
    }
    get_op(tx, account, req_seq)?.ok_or_else(|| JournalError::NotFound(req_seq.to_string()))
}

/// [`Journal::begin_refund`] within a transaction.
fn insert_refund(tx: &Connection, pay_req_seq: &str, op: &NewOp) -> Result<OpRecord, JournalError> {
    let pay = get_op(tx, &op.account, pay_req_seq)?
        .ok_or_else(|| JournalError::NotFound(pay_req_seq.to_string()))?;
    if !pay.kind.takes_money() || pay.state != OpState::Paid || pay.trans_seq.is_none() {
        return Err(JournalError::NotPaid {
            req_seq: pay.req_seq,
            state: pay.state,
        });
    }
    let refunded = refunded_sum(tx, &pay.account, &pay.req_seq)?;
    if op.total_fee <= 0 || refunded + op.total_fee > pay.total_fee {
        return Err(JournalError::RefundExceedsPaid {
            paid: pay.total_fee,
            refunded,
            requested: op.total_fee,
        });
    }
    let mut op = op.clone();
    op.kind = OpKind::Refund;
    op.parent_seq = Some(pay.req_seq.clone());
    op.trans_seq = pay.trans_seq.clone();
    op.channel = op.channel.or(pay.channel.clone());
    insert_op(tx, &op)
}

fn insert_op(conn: &Connection, op: &NewOp) -> Result<OpRecord, JournalError> {
    if op.total_fee <= 0 {
        return Err(JournalError::Storage(format!(
            "amount must be positive, got {}",
            op.total_fee
        )));
    }
    if serial_used(conn, &op.account, &op.req_seq)? {
        return Err(JournalError::Duplicate(op.req_seq.clone()));
    }
    let now = now_ms();
    let r = conn.execute(
        "INSERT INTO ops(account, req_seq, kind, state, total_fee, channel, auth_code, trans_seq,
                         parent_seq, expires_ms, detail, created_ms, updated_ms, day, reason,
                         owner)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, '', ?10, ?10, ?11, ?12, ?13)",
        params![
            op.account,
            op.req_seq,
            op.kind.as_str(),
            op.total_fee,
            op.channel,
            op.auth_code.as_deref().map(mask),
            op.trans_seq,
            op.parent_seq,
            op.expires_ms,
            now,
            day_of(now),
            op.reason,
            op.owner
        ],
    );
    match r {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            return Err(JournalError::Duplicate(op.req_seq.clone()))
        }
        Err(e) => return Err(e.into()),
    }
    get_op(conn, &op.account, &op.req_seq)?
        .ok_or_else(|| JournalError::NotFound(op.req_seq.clone()))
}

fn get_op(
    conn: &Connection,
    account: &str,
    req_seq: &str,
) -> Result<Option<OpRecord>, JournalError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OP_COLUMNS} FROM ops WHERE account = ?1 AND req_seq = ?2"
    ))?;
    match stmt
        .query_row(params![account, req_seq], read_op)
        .optional()?
    {
        None => Ok(None),
        Some(r) => r.map(Some),
    }
}

/// True when the journal holds `serial` for `account`: as an operation's
/// `req_seq` or revoke serial, or as the serial of any request sent.
fn serial_used(conn: &Connection, account: &str, serial: &str) -> Result<bool, JournalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM ops WHERE account = ?1 AND req_seq = ?2)
             OR EXISTS(SELECT 1 FROM ops WHERE account = ?1 AND revoke_seq = ?2)
             OR EXISTS(SELECT 1 FROM attempts a JOIN ops o ON o.id = a.op_id
                       WHERE a.req_seq = ?2 AND o.account = ?1)",
    )?;
    Ok(stmt.query_row(params![account, serial], |r| r.get(0))?)
}

/// A revoke serial goes out under the operation's name, so it is checked
/// when first recorded like an operation's own serial: one the journal
/// holds for anything (an operation, a revoke, a request sent) would be
/// taken by the platform as that request (docs/DESIGN.md, "Serials"). Once
/// recorded it is kept for every retry and never replaced: it may have been
/// sent.
fn check_revoke_serial(
    conn: &Connection,
    account: &str,
    req_seq: &str,
    seq: &str,
) -> Result<(), JournalError> {
    let recorded: Option<Option<String>> = conn
        .query_row(
            "SELECT revoke_seq FROM ops WHERE account = ?1 AND req_seq = ?2",
            params![account, req_seq],
            |r| r.get(0),
        )
        .optional()?;
    match recorded {
        None => Err(JournalError::NotFound(req_seq.to_string())),
        Some(Some(r)) if r == seq => Ok(()),
        Some(Some(r)) => Err(JournalError::Duplicate(r)),
        Some(None) if serial_used(conn, account, seq)? => {
            Err(JournalError::Duplicate(seq.to_string()))
        }
        Some(None) => Ok(()),
    }
}

fn refunded_sum(conn: &Connection, account: &str, pay_req_seq: &str) -> Result<i64, JournalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT state, total_fee FROM ops WHERE account = ?1 AND parent_seq = ?2 AND kind = 'refund'",
    )?;
    let rows = stmt.query_map(params![account, pay_req_seq], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut sum = 0;
    for row in rows {
        let (state, fee) = row?;
        let state = OpState::parse(&state).ok_or_else(|| JournalError::Corrupt(state.clone()))?;
        if state.counts_against_ceiling() {
            sum += fee;
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests;
