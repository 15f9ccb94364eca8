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
//!
//! Never stored: the private key, the password, the dsn, or a full payment
//! code (only its first and last four characters).
//!
//! Days and times are China Standard Time (UTC+8), as the platform's
//! `pay_time`, so the closing report matches the platform's reconciliation.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::protocol::types::mask;

/// How long a writer waits for another process's lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Schema version stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

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
    lease_ms    INTEGER,
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
CREATE TABLE IF NOT EXISTS attempts(
    id          INTEGER PRIMARY KEY,
    op_id       INTEGER NOT NULL REFERENCES ops(id),
    what        TEXT NOT NULL,
    req_seq     TEXT NOT NULL,
    sent_ms     INTEGER NOT NULL,
    outcome     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_op ON attempts(op_id);
CREATE TABLE IF NOT EXISTS notices(
    account     TEXT NOT NULL,
    trans_seq   TEXT NOT NULL,
    req_seq     TEXT,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY(account, trans_seq)
);
";

/// What kind of operation a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// Barcode payment (seed 4.1): the customer showed a payment code.
    Pay,
    /// Refund of a paid order (seed 4.3).
    Refund,
    /// QR-code order (seed 5.1).
    Native,
    /// JS (in-app browser) order (seed 6.1).
    Js,
    /// H5 (phone browser) order (seed 7.1).
    H5,
}

impl OpKind {
    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Pay => "pay",
            OpKind::Refund => "refund",
            OpKind::Native => "native",
            OpKind::Js => "js",
            OpKind::H5 => "h5",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<OpKind> {
        Some(match s {
            "pay" => OpKind::Pay,
            "refund" => OpKind::Refund,
            "native" => OpKind::Native,
            "js" => OpKind::Js,
            "h5" => OpKind::H5,
            _ => return None,
        })
    }

    /// True for the orders the customer pays by themselves (native, JS, H5).
    pub fn is_order(self) -> bool {
        matches!(self, OpKind::Native | OpKind::Js | OpKind::H5)
    }

    /// True for operations that take money in (everything but a refund).
    pub fn takes_money(self) -> bool {
        self != OpKind::Refund
    }
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an operation stands, as far as this register knows.
///
/// The first four are *open*: the platform's final word is still to be had,
/// and [`crate::flow::Payments::recover`] will ask for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpState {
    /// Written, about to be sent or sent: no answer yet.
    Pending,
    /// The platform said `W`: the customer is paying (or a refund is in
    /// progress, or a QR code is waiting to be scanned).
    Waiting,
    /// A revoke was decided (deadline, cancel, recovery) and is not yet
    /// confirmed; `revoke_seq` holds its serial.
    Revoking,
    /// The last attempt to settle ended without an answer from the platform.
    Unknown,
    /// Paid: the money was taken.
    Paid,
    /// Refunded: the refund went through.
    Refunded,
    /// The platform said `F`: no money taken (or, for a refund, none returned).
    Failed,
    /// Revoked by this register: the money was returned or never taken.
    Revoked,
    /// A native/JS/H5 order that expired or was closed without being paid.
    Closed,
}

impl OpState {
    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Pending => "pending",
            OpState::Waiting => "waiting",
            OpState::Revoking => "revoking",
            OpState::Unknown => "unknown",
            OpState::Paid => "paid",
            OpState::Refunded => "refunded",
            OpState::Failed => "failed",
            OpState::Revoked => "revoked",
            OpState::Closed => "closed",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<OpState> {
        Some(match s {
            "pending" => OpState::Pending,
            "waiting" => OpState::Waiting,
            "revoking" => OpState::Revoking,
            "unknown" => OpState::Unknown,
            "paid" => OpState::Paid,
            "refunded" => OpState::Refunded,
            "failed" => OpState::Failed,
            "revoked" => OpState::Revoked,
            "closed" => OpState::Closed,
            _ => return None,
        })
    }

    /// True while the platform's final word is still to be had.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OpState::Pending | OpState::Waiting | OpState::Revoking | OpState::Unknown
        )
    }

    /// States a refund may be counted in against the payment's amount:
    /// everything but a refund the platform declared failed.
    fn counts_against_ceiling(self) -> bool {
        self != OpState::Failed
    }
}

impl std::fmt::Display for OpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const OPEN_STATES_SQL: &str = "('pending','waiting','revoking','unknown')";

/// A journal failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalError {
    /// SQLite failed (disk full, file locked beyond the busy timeout, I/O error…).
    Storage(String),
    /// The file holds a newer schema than this library understands.
    NewerSchema(i64),
    /// An operation with this `req_seq` is already recorded for the account.
    Duplicate(String),
    /// No operation with this serial or `trans_seq` is recorded.
    NotFound(String),
    /// A refund of a payment that is not (known to be) paid.
    NotPaid {
        /// The payment's `req_seq`.
        req_seq: String,
        /// Its state in the journal.
        state: OpState,
    },
    /// A refund that would return more than was paid.
    RefundExceedsPaid {
        /// Amount paid (fen).
        paid: i64,
        /// Already refunded or being refunded (fen).
        refunded: i64,
        /// This refund (fen).
        requested: i64,
    },
    /// A row the journal cannot read (edited by hand, or corrupt).
    Corrupt(String),
    /// Another flow (maybe in another process) is driving this operation now.
    Busy(String),
}

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalError::Storage(e) => write!(f, "journal storage: {e}"),
            JournalError::NewerSchema(v) => {
                write!(f, "journal schema version {v} is newer than this library")
            }
            JournalError::Duplicate(s) => write!(f, "req_seq {s} is already in the journal"),
            JournalError::NotFound(s) => write!(f, "no operation {s} in the journal"),
            JournalError::NotPaid { req_seq, state } => {
                write!(f, "payment {req_seq} is {state}, not paid")
            }
            JournalError::RefundExceedsPaid {
                paid,
                refunded,
                requested,
            } => write!(
                f,
                "refund of {requested} fen exceeds what is left: paid {paid}, refunded {refunded}"
            ),
            JournalError::Corrupt(e) => write!(f, "journal row unreadable: {e}"),
            JournalError::Busy(s) => write!(f, "operation {s} is being settled by another flow"),
        }
    }
}

impl std::error::Error for JournalError {}

/// True for SQLite's "busy" and "locked" results.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> Self {
        JournalError::Storage(e.to_string())
    }
}

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpRecord {
    /// Row id (local, for ordering).
    pub id: i64,
    /// The device account that sent it.
    pub account: String,
    /// The operation's `req_seq` (for a refund: the refund's serial).
    pub req_seq: String,
    /// What it is.
    pub kind: OpKind,
    /// Where it stands.
    pub state: OpState,
    /// Amount in fen (the payment's amount, or the refund's).
    pub total_fee: i64,
    /// Channel letter, once known.
    pub channel: Option<String>,
    /// The payment code, masked to its first and last four characters.
    pub auth_code_masked: Option<String>,
    /// The platform's order number, once known.
    pub trans_seq: Option<String>,
    /// For a refund: the refunded payment's `req_seq`.
    pub parent_seq: Option<String>,
    /// The serial of this payment's revoke, once one was decided.
    pub revoke_seq: Option<String>,
    /// For a refund: the platform's refund number, once known.
    pub refund_seq: Option<String>,
    /// For a native/JS/H5 order: the URL (or prepay id) the customer pays with.
    pub pay_url: Option<String>,
    /// For a native/JS/H5 order: when it stops being payable (Unix ms).
    pub expires_ms: Option<i64>,
    /// The last thing learned, in words (platform message or local reason).
    pub detail: String,
    /// When it was recorded (Unix ms).
    pub created_ms: i64,
    /// When it last changed (Unix ms).
    pub updated_ms: i64,
    /// Its business day, `YYYY-MM-DD` China time.
    pub day: String,
    /// For a refund: the reason sent (a retry must send the same one).
    pub reason: Option<String>,
    /// Which flow drives it now (an id per [`crate::flow::Payments`]).
    pub owner: Option<String>,
    /// Until when (Unix ms) the owner is known to be driving it; recovery
    /// by another owner leaves it alone until then.
    pub lease_ms: Option<i64>,
}

/// One request sent for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// What was sent: `pay`, `query`, `revoke`, `refund`, `query_refund`, `native`…
    pub what: String,
    /// That request's own `req_seq`.
    pub req_seq: String,
    /// When it was sent (Unix ms).
    pub sent_ms: i64,
    /// What came back, in words.
    pub outcome: String,
}

/// A new operation to record before its request leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOp {
    /// The device account sending it.
    pub account: String,
    /// Its `req_seq`.
    pub req_seq: String,
    /// What it is.
    pub kind: OpKind,
    /// Amount in fen, > 0.
    pub total_fee: i64,
    /// Channel letter, when chosen by the caller.
    pub channel: Option<String>,
    /// The payment code in full: the journal stores only its masked form.
    pub auth_code: Option<String>,
    /// The platform's order number (refunds: the refunded order's).
    pub trans_seq: Option<String>,
    /// For a refund: the payment's `req_seq`.
    pub parent_seq: Option<String>,
    /// For an order: when it stops being payable (Unix ms).
    pub expires_ms: Option<i64>,
    /// For a refund: its reason.
    pub reason: Option<String>,
    /// The flow that will drive it.
    pub owner: Option<String>,
    /// Until when (Unix ms) the owner drives it.
    pub lease_ms: Option<i64>,
}

impl NewOp {
    /// A new operation of `kind` for `total_fee` fen; other fields empty.
    pub fn new(account: &str, req_seq: &str, kind: OpKind, total_fee: i64) -> NewOp {
        NewOp {
            account: account.to_string(),
            req_seq: req_seq.to_string(),
            kind,
            total_fee,
            channel: None,
            auth_code: None,
            trans_seq: None,
            parent_seq: None,
            expires_ms: None,
            reason: None,
            owner: None,
            lease_ms: None,
        }
    }
}

/// A change to a recorded operation; `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpUpdate {
    /// New state.
    pub state: Option<OpState>,
    /// The platform's order number.
    pub trans_seq: Option<String>,
    /// Channel letter.
    pub channel: Option<String>,
    /// Serial of the revoke.
    pub revoke_seq: Option<String>,
    /// The platform's refund number.
    pub refund_seq: Option<String>,
    /// The URL the customer pays with.
    pub pay_url: Option<String>,
    /// Words for the cashier / support.
    pub detail: Option<String>,
}

impl OpUpdate {
    /// An update that only sets the state and the detail.
    pub fn state(state: OpState, detail: impl Into<String>) -> OpUpdate {
        OpUpdate {
            state: Some(state),
            detail: Some(detail.into()),
            ..OpUpdate::default()
        }
    }
}

/// One line of the closing report: operations of one kind, channel and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalLine {
    /// Operation kind.
    pub kind: OpKind,
    /// Channel letter (empty when never learned).
    pub channel: String,
    /// State.
    pub state: OpState,
    /// Number of operations.
    pub count: i64,
    /// Sum of their amounts (fen).
    pub fee: i64,
}

/// The closing report of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    /// The day, `YYYY-MM-DD` China time.
    pub day: String,
    /// Every (kind, channel, state) group with its count and sum.
    pub lines: Vec<TotalLine>,
    /// Money taken: paid payments and orders (fen).
    pub paid_fee: i64,
    /// Money returned by refunds that went through (fen).
    pub refunded_fee: i64,
    /// Operations still open (their outcome unknown to the register).
    pub open_count: i64,
}

impl DayTotals {
    /// Takings after refunds (fen).
    pub fn net_fee(&self) -> i64 {
        self.paid_fee - self.refunded_fee
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The business day (`YYYY-MM-DD`, China time) of an instant in Unix ms.
pub fn day_of(ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
        + chrono::Duration::hours(8);
    t.format("%Y-%m-%d").to_string()
}

/// Today's business day (China time).
pub fn today() -> String {
    day_of(now_ms())
}

/// The journal. Cheap to share between threads (`&self` methods, one
/// connection behind a mutex); open one per process, as many processes as
/// needed on the same file.
pub struct Journal {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

const OP_COLUMNS: &str = "id, account, req_seq, kind, state, total_fee, channel, auth_code, \
     trans_seq, parent_seq, revoke_seq, refund_seq, pay_url, expires_ms, detail, created_ms, \
     updated_ms, day, reason, owner, lease_ms";

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
        lease_ms: row.get(20)?,
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
        };
        j.init(false)?;
        Ok(j)
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
    /// its request leaves. The payment code is stored masked.
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
        let pay = get_op(&tx, &op.account, pay_req_seq)?
            .ok_or_else(|| JournalError::NotFound(pay_req_seq.to_string()))?;
        if !pay.kind.takes_money() || pay.state != OpState::Paid {
            return Err(JournalError::NotPaid {
                req_seq: pay.req_seq,
                state: pay.state,
            });
        }
        if pay.trans_seq.is_none() {
            return Err(JournalError::NotPaid {
                req_seq: pay.req_seq,
                state: pay.state,
            });
        }
        let refunded = refunded_sum(&tx, &pay.account, &pay.req_seq)?;
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
        let rec = insert_op(&tx, &op)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Applies `update` to the operation `(account, req_seq)` and returns it as it now is.
    pub fn update(
        &self,
        account: &str,
        req_seq: &str,
        update: &OpUpdate,
    ) -> Result<OpRecord, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
        let rec = get_op(&tx, account, req_seq)?
            .ok_or_else(|| JournalError::NotFound(req_seq.to_string()))?;
        tx.commit()?;
        Ok(rec)
    }

    /// Takes over the *open* operation `(account, req_seq)` for `owner`
    /// until `lease_ms`, unless another owner's lease still runs. True when
    /// taken; false when another owner drives it or it has ended meanwhile
    /// (re-read it after a successful claim: it may have changed).
    pub fn claim(
        &self,
        account: &str,
        req_seq: &str,
        owner: &str,
        lease_ms: i64,
    ) -> Result<bool, JournalError> {
        let conn = self.lock();
        let n = conn.execute(
            &format!(
                "UPDATE ops SET owner = ?3, lease_ms = ?4
                 WHERE account = ?1 AND req_seq = ?2 AND state IN {OPEN_STATES_SQL}
                   AND (owner IS NULL OR owner = ?3 OR lease_ms IS NULL OR lease_ms <= ?5)"
            ),
            params![account, req_seq, owner, lease_ms, now_ms()],
        )?;
        Ok(n == 1)
    }

    /// Gives up `owner`'s lease on `(account, req_seq)` so that recovery
    /// anywhere may take it at once.
    pub fn release(&self, account: &str, req_seq: &str, owner: &str) -> Result<(), JournalError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE ops SET lease_ms = NULL WHERE account = ?1 AND req_seq = ?2 AND owner = ?3",
            params![account, req_seq, owner],
        )?;
        Ok(())
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

    /// Records a request sent for operation `(account, op_req_seq)` and what
    /// came back. With `lease = Some((owner, until_ms))` it also renews that
    /// owner's lease, in the same transaction (the flow's heartbeat).
    pub fn record_attempt(
        &self,
        account: &str,
        op_req_seq: &str,
        what: &str,
        req_seq: &str,
        outcome: &str,
        lease: Option<(&str, i64)>,
    ) -> Result<(), JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "INSERT INTO attempts(op_id, what, req_seq, sent_ms, outcome)
             SELECT id, ?3, ?4, ?5, ?6 FROM ops WHERE account = ?1 AND req_seq = ?2",
            params![account, op_req_seq, what, req_seq, now_ms(), outcome],
        )?;
        if n == 0 {
            return Err(JournalError::NotFound(op_req_seq.to_string()));
        }
        if let Some((owner, until)) = lease {
            tx.execute(
                "UPDATE ops SET owner = ?3, lease_ms = ?4
                 WHERE account = ?1 AND req_seq = ?2
                   AND (owner IS NULL OR owner = ?3 OR lease_ms IS NULL OR lease_ms <= ?5)",
                params![account, op_req_seq, owner, until, now_ms()],
            )?;
        }
        tx.commit()?;
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

    /// The payment or order with platform number `trans_seq`, if recorded.
    pub fn find_by_trans_seq(
        &self,
        account: &str,
        trans_seq: &str,
    ) -> Result<Option<OpRecord>, JournalError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {OP_COLUMNS} FROM ops WHERE account = ?1 AND trans_seq = ?2
             AND kind != 'refund' ORDER BY id LIMIT 1"
        ))?;
        Ok(collect_ops(&mut stmt, params![account, trans_seq])?
            .into_iter()
            .next())
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

    /// The closing report of business day `day` (`YYYY-MM-DD`), all accounts:
    /// counts and sums by kind, channel and state.
    pub fn day_totals(&self, day: &str) -> Result<DayTotals, JournalError> {
        let conn = self.lock();
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

    /// Notes that the notice for order `trans_seq` was reported. True the
    /// first time, false for a repeat (answer it `Y`, report it no more).
    pub fn note_notice(
        &self,
        account: &str,
        trans_seq: &str,
        req_seq: Option<&str>,
    ) -> Result<bool, JournalError> {
        let conn = self.lock();
        let n = conn.execute(
            "INSERT OR IGNORE INTO notices(account, trans_seq, req_seq, received_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![account, trans_seq, req_seq, now_ms()],
        )?;
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

fn insert_op(conn: &Connection, op: &NewOp) -> Result<OpRecord, JournalError> {
    if op.total_fee <= 0 {
        return Err(JournalError::Storage(format!(
            "amount must be positive, got {}",
            op.total_fee
        )));
    }
    let now = now_ms();
    let r = conn.execute(
        "INSERT INTO ops(account, req_seq, kind, state, total_fee, channel, auth_code, trans_seq,
                         parent_seq, expires_ms, detail, created_ms, updated_ms, day, reason,
                         owner, lease_ms)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, '', ?10, ?10, ?11, ?12, ?13, ?14)",
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
            op.owner,
            op.lease_ms
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
mod tests {
    use super::*;

    /// Found by the fault suite on a fresh machine: eight threads opening
    /// one new journal file at once; one got "database is locked" from the
    /// switch to WAL, which SQLite reports without calling the busy handler.
    #[test]
    fn many_openers_of_one_new_file_all_succeed() {
        let dir = std::env::temp_dir().join(format!("ystpay-journal-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for round in 0..25 {
            let path = dir.join(format!("j{round}.db"));
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
            let openers: Vec<_> = (0..8)
                .map(|_| {
                    let (path, barrier) = (path.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        Journal::open(&path).map(|j| j.day_ops("2026-11-25").map(|v| v.len()))
                    })
                })
                .collect();
            for o in openers {
                assert_eq!(o.join().unwrap(), Ok(Ok(0)), "round {round}");
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn pay(j: &Journal, seq: &str, fee: i64) -> OpRecord {
        let mut op = NewOp::new("demo", seq, OpKind::Pay, fee);
        op.auth_code = Some("134567890123456789".into());
        op.channel = Some("W".into());
        j.begin(&op).unwrap()
    }

    fn mark_paid(j: &Journal, seq: &str) {
        let u = OpUpdate {
            state: Some(OpState::Paid),
            trans_seq: Some(format!("T{seq}")),
            ..OpUpdate::default()
        };
        j.update("demo", seq, &u).unwrap();
    }

    #[test]
    fn claims_respect_a_running_lease() {
        let j = Journal::open_in_memory().unwrap();
        let mut op = NewOp::new("demo", "L", OpKind::Pay, 5);
        op.owner = Some("a".into());
        op.lease_ms = Some(now_ms() + 60_000);
        j.begin(&op).unwrap();
        assert!(!j.claim("demo", "L", "b", now_ms() + 1000).unwrap());
        assert!(j.claim("demo", "L", "a", now_ms() + 1000).unwrap());
        j.release("demo", "L", "a").unwrap();
        assert!(j.claim("demo", "L", "b", now_ms() + 1000).unwrap());
        assert_eq!(
            j.get("demo", "L").unwrap().unwrap().owner.as_deref(),
            Some("b")
        );
    }

    #[test]
    fn a_notice_settles_its_order_once() {
        let j = Journal::open_in_memory().unwrap();
        j.begin(&NewOp::new("demo", "N", OpKind::Native, 5))
            .unwrap();
        assert!(j.settle_notice("demo", "N", "TN", "notice").unwrap());
        assert!(!j.settle_notice("demo", "N", "TN", "notice").unwrap());
        let r = j.get("demo", "N").unwrap().unwrap();
        assert_eq!(r.state, OpState::Paid);
        assert_eq!(r.trans_seq.as_deref(), Some("TN"));
    }

    #[test]
    fn records_before_and_after_and_masks_the_code() {
        let j = Journal::open_in_memory().unwrap();
        let r = pay(&j, "1", 500);
        assert_eq!(r.state, OpState::Pending);
        assert_eq!(r.auth_code_masked.as_deref(), Some("1345**********6789"));
        assert_eq!(r.day, today());
        let r = j
            .update(
                "demo",
                "1",
                &OpUpdate {
                    state: Some(OpState::Paid),
                    trans_seq: Some("T1".into()),
                    ..OpUpdate::default()
                },
            )
            .unwrap();
        assert_eq!(r.state, OpState::Paid);
        assert_eq!(r.trans_seq.as_deref(), Some("T1"));
        assert_eq!(r.channel.as_deref(), Some("W"));
        assert!(matches!(
            j.begin(&NewOp::new("demo", "1", OpKind::Pay, 1)),
            Err(JournalError::Duplicate(_))
        ));
        // Another account may reuse a serial.
        j.begin(&NewOp::new("other", "1", OpKind::Pay, 1)).unwrap();
    }

    #[test]
    fn refund_ceiling_is_enforced_locally() {
        let j = Journal::open_in_memory().unwrap();
        pay(&j, "P", 1000);
        let refund =
            |seq: &str, fee| j.begin_refund("P", &NewOp::new("demo", seq, OpKind::Refund, fee));
        assert!(matches!(refund("R0", 1), Err(JournalError::NotPaid { .. })));
        mark_paid(&j, "P");
        let r1 = refund("R1", 600).unwrap();
        assert_eq!(r1.parent_seq.as_deref(), Some("P"));
        assert_eq!(
            refund("R2", 401),
            Err(JournalError::RefundExceedsPaid {
                paid: 1000,
                refunded: 600,
                requested: 401
            })
        );
        // A refund the platform declared failed frees its amount again.
        j.update("demo", "R1", &OpUpdate::state(OpState::Failed, "F"))
            .unwrap();
        refund("R3", 1000).unwrap();
        assert!(refund("R4", 1).is_err());
        assert_eq!(j.refunded_fee("demo", "P").unwrap(), 1000);
        assert_eq!(j.refunds_of("demo", "P").unwrap().len(), 2);
        assert!(matches!(
            j.begin_refund("nope", &NewOp::new("demo", "R5", OpKind::Refund, 1)),
            Err(JournalError::NotFound(_))
        ));
    }

    #[test]
    fn totals_open_ops_and_attempts() {
        let j = Journal::open_in_memory().unwrap();
        pay(&j, "A", 100);
        pay(&j, "B", 200);
        pay(&j, "C", 300);
        mark_paid(&j, "A");
        j.update("demo", "B", &OpUpdate::state(OpState::Failed, ""))
            .unwrap();
        j.begin_refund("A", &NewOp::new("demo", "RA", OpKind::Refund, 40))
            .unwrap();
        j.update("demo", "RA", &OpUpdate::state(OpState::Refunded, ""))
            .unwrap();
        let open: Vec<_> = j
            .open_ops("demo")
            .unwrap()
            .into_iter()
            .map(|o| o.req_seq)
            .collect();
        assert_eq!(open, vec!["C".to_string()]);
        let t = j.day_totals(&today()).unwrap();
        assert_eq!(t.paid_fee, 100);
        assert_eq!(t.refunded_fee, 40);
        assert_eq!(t.net_fee(), 60);
        assert_eq!(t.open_count, 1);
        assert_eq!(t.lines.len(), 4);
        assert_eq!(j.day_ops(&today()).unwrap().len(), 4);
        j.record_attempt("demo", "C", "query", "Q1", "W", None)
            .unwrap();
        j.record_attempt("demo", "C", "query", "Q2", "S", Some(("me", 1)))
            .unwrap();
        let a = j.attempts("demo", "C").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].outcome, "S");
        assert!(j
            .record_attempt("demo", "zz", "query", "Q", "", None)
            .is_err());
    }

    #[test]
    fn notices_are_reported_once() {
        let j = Journal::open_in_memory().unwrap();
        assert!(j.note_notice("demo", "T9", Some("9")).unwrap());
        assert!(!j.note_notice("demo", "T9", Some("9")).unwrap());
        assert!(j.notice_seen("demo", "T9").unwrap());
        assert!(!j.notice_seen("demo", "T8").unwrap());
    }

    #[test]
    fn a_file_shared_by_threads_and_reopened() {
        let dir =
            std::env::temp_dir().join(format!("ystpay-j-{}-{}", std::process::id(), now_ms()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.db");
        {
            let j = Journal::open(&path).unwrap();
            pay(&j, "P", 1000);
            mark_paid(&j, "P");
        }
        // Many writers on separate connections compete for the ceiling: exactly
        // ten refunds of 100 fit.
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let j = Journal::open(&path).unwrap();
                    let mut ok = 0;
                    for i in 0..5 {
                        let seq = format!("R{t}-{i}");
                        if j.begin_refund("P", &NewOp::new("demo", &seq, OpKind::Refund, 100))
                            .is_ok()
                        {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        let ok: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(ok, 10);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.refunded_fee("demo", "P").unwrap(), 1000);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
