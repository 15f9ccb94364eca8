//! The one error type of the Rust API, shaped by what the caller must do next.
//!
//! | variant | was the request sent? | what the caller knows |
//! |---|---|---|
//! | [`Error::Config`] | no | the client itself is misconfigured |
//! | [`Error::InvalidInput`] | no | a field broke a rule; fix the input |
//! | [`Error::NotSent`] | no | the network failed before the request left; safe to retry |
//! | [`Error::Ledger`] | no | the journal could not issue a serial for it |
//! | [`Error::OutcomeUnknown`] | maybe | sent, no answer: query before concluding |
//! | [`Error::Rejected`] | yes | an answer came but cannot be trusted: query before concluding |
//! | [`Error::Refused`] | yes | the platform answered `result=N` |

use crate::protocol::{FieldError, Status};

/// Why an answer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The response signature does not verify: altered, forged, or a wrong key.
    BadSignature,
    /// The answer echoes another request's `req_seq` (e.g. a replayed answer).
    ReqSeqMismatch {
        /// Ours.
        expected: String,
        /// The answer's (empty when absent).
        found: String,
    },
    /// The answer is for a different operation (`response_type`).
    WrongOperation {
        /// What we asked for.
        expected: &'static str,
        /// What came back.
        found: String,
    },
    /// The body is not a readable envelope or message.
    Malformed(String),
    /// A notification that does not prove its order paid, and why
    /// ([`crate::Client::prove_paid`]).
    Unconfirmed(String),
    /// A verified refusal (`result=N`) that names no request (no
    /// `req_seq`): the platform refused the register itself before reading
    /// the request, as it does for an unknown dsn, a bad signature or
    /// account (a wrong `private_key`, `pass`, `dsn` or `acct`). It proves
    /// nothing about any operation (docs/DESIGN.md, "Credentials refused").
    DeviceRefused {
        /// The platform's `code`.
        code: String,
        /// The platform's `msg`.
        msg: String,
    },
}

/// The keys to check when the platform refuses the register itself, in the
/// cashier's words (中文 / English).
pub const CHECK_CREDENTIALS: &str =
    "请检查 acct、pass、private_key、dsn 的设置 / check acct, pass, private_key and dsn";

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::BadSignature => f.write_str("response signature does not verify"),
            Rejection::ReqSeqMismatch { expected, found } => write!(
                f,
                "response answers req_seq '{found}', not ours '{expected}'"
            ),
            Rejection::WrongOperation { expected, found } => {
                write!(f, "response is a '{found}', expected '{expected}'")
            }
            Rejection::Malformed(why) => write!(f, "malformed response: {why}"),
            Rejection::Unconfirmed(why) => {
                write!(f, "the notification is not confirmed: {why}")
            }
            Rejection::DeviceRefused { code, msg } => write!(
                f,
                "平台拒绝了本收银机的身份 / the platform refused this register's credentials ({code} {msg}): {CHECK_CREDENTIALS}"
            ),
        }
    }
}

/// A business refusal: the platform answered `result=N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `code`, e.g. `E20001`.
    pub code: String,
    /// `msg`: the platform's words.
    pub msg: String,
    /// `status` when the answer carried one. Only an explicit
    /// [`Status::Failed`] says that no money was taken.
    pub status: Option<Status>,
    /// `trans_seq` when the answer carried one.
    pub trans_seq: Option<String>,
    /// The amount the answer named, when it carried one: `total_fee`, or a
    /// refund answer's `refund_fee`. A refusal about another amount is
    /// about another operation, whatever its status (docs/DESIGN.md, "What
    /// an answer proves").
    pub fee: Option<i64>,
}

/// Everything that can go wrong in one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The client configuration is unusable (nothing sent).
    Config(String),
    /// A request field breaks a rule of the API document (nothing sent).
    InvalidInput(FieldError),
    /// The transport failed before the request left (nothing sent; retry is safe).
    NotSent(String),
    /// The serial ledger (the journal) could not issue a `req_seq` for the
    /// request (busy past its timeout, or failing): nothing sent
    /// (docs/DESIGN.md, "Serials").
    Ledger(String),
    /// The request may have reached the platform but no answer came
    /// (timeout, dropped connection, HTTP error status).
    OutcomeUnknown(String),
    /// An answer came but was not accepted.
    Rejected(Rejection),
    /// The platform refused (`result=N`).
    Refused(Refusal),
}

impl Error {
    /// True when the request may have taken effect but we do not know the
    /// outcome: the caller must query before concluding anything.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown(_) | Error::Rejected(_))
    }

    /// True when nothing reached the platform.
    pub fn nothing_sent(&self) -> bool {
        matches!(
            self,
            Error::Config(_) | Error::InvalidInput(_) | Error::NotSent(_) | Error::Ledger(_)
        )
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Config(why) => write!(f, "configuration: {why}"),
            Error::InvalidInput(e) => write!(f, "invalid input: {e}"),
            Error::NotSent(why) => write!(f, "not sent: {why}"),
            Error::Ledger(why) => write!(f, "not sent: no serial from the journal: {why}"),
            Error::OutcomeUnknown(why) => write!(f, "outcome unknown: {why}"),
            Error::Rejected(r) => write!(f, "answer rejected: {r}"),
            Error::Refused(r) => write!(f, "refused by the platform: {} {}", r.code, r.msg),
        }
    }
}

impl std::error::Error for Error {}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::InvalidInput(e)
    }
}
