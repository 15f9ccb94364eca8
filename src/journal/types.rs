//! The journal's types: what an operation is, where it stands, its
//! record, and what can go wrong.

/// What kind of operation a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// Barcode payment (API §4.1): the customer showed a payment code.
    Pay,
    /// Refund of a paid order (API §4.3).
    Refund,
    /// QR-code order (API §5.1).
    Native,
    /// JS (in-app browser) order (API §6.1).
    Js,
    /// H5 (phone browser) order (API §7.1).
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
/// The first five are *open*: the platform's final word about this
/// operation is still to be had, and [`crate::flow::Payments::recover`]
/// will ask for it.
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
    /// The platform answered about another operation under this serial
    /// (another amount, or another order number than the one recorded). No
    /// conclusion is drawn and nothing is revoked: recovery only asks
    /// again, and a person looks at it (docs/DESIGN.md, "What an answer proves").
    Conflict,
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
    /// Nothing reached the platform: every attempt failed before a byte of
    /// it could have left (no route, DNS down, connect refused or timed
    /// out), or the platform confirmed it never received the request, or it
    /// was cancelled before it was sent. No money moved; its serials stay
    /// used (docs/DESIGN.md, "What to do next").
    NotSent,
}

impl OpState {
    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Pending => "pending",
            OpState::Waiting => "waiting",
            OpState::Revoking => "revoking",
            OpState::Unknown => "unknown",
            OpState::Conflict => "conflict",
            OpState::Paid => "paid",
            OpState::Refunded => "refunded",
            OpState::Failed => "failed",
            OpState::Revoked => "revoked",
            OpState::Closed => "closed",
            OpState::NotSent => "not_sent",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<OpState> {
        Some(match s {
            "pending" => OpState::Pending,
            "waiting" => OpState::Waiting,
            "revoking" => OpState::Revoking,
            "unknown" => OpState::Unknown,
            "conflict" => OpState::Conflict,
            "paid" => OpState::Paid,
            "refunded" => OpState::Refunded,
            "failed" => OpState::Failed,
            "revoked" => OpState::Revoked,
            "closed" => OpState::Closed,
            "not_sent" => OpState::NotSent,
            _ => return None,
        })
    }

    /// True while the platform's final word is still to be had.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OpState::Pending
                | OpState::Waiting
                | OpState::Revoking
                | OpState::Unknown
                | OpState::Conflict
        )
    }

    /// States a refund may be counted in against the payment's amount:
    /// everything but a refund the platform declared failed or never got.
    pub(super) fn counts_against_ceiling(self) -> bool {
        !matches!(self, OpState::Failed | OpState::NotSent)
    }
}

impl std::fmt::Display for OpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    /// The operation is in conflict ([`OpState::Conflict`]): its serial holds
    /// another operation at the platform, so it may not be revoked or
    /// resent on a guess. A person must look at it.
    Conflict(String),
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
            JournalError::Conflict(s) => write!(
                f,
                "operation {s} is in conflict: the platform holds another operation under its serial"
            ),
        }
    }
}

impl std::error::Error for JournalError {}

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
    /// Which flow drives it now (an [`super::Owner`] id), or last drove
    /// it. An owner whose process is gone owns nothing any more.
    pub owner: Option<String>,
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
    /// The flow that will drive it (an [`super::Owner`] id).
    pub owner: Option<String>,
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
