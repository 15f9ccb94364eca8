//! What a command found, printed for people or as JSON, and its exit code.

use serde_json::{json, Map, Value};
use ystpay::error::Error;
use ystpay::protocol::types::fen_to_yuan;
use ystpay::protocol::Status;
use ystpay::reading::{Money, Reading};

/// Exit codes (documented in `--help` and the README).
pub mod exit {
    /// Paid, refunded, revoked, order created, or the answer was read.
    pub const OK: i32 = 0;
    /// The platform said no: refused (`result=N`) or status `F`. No money moved.
    pub const FAILED: i32 = 1;
    /// Bad arguments or configuration; nothing was sent.
    pub const USAGE: i32 = 2;
    /// Sent, but the outcome is unknown: query (or revoke) before concluding.
    pub const UNKNOWN: i32 = 3;
    /// The customer has not finished paying (status `W`); query again later.
    pub const WAITING: i32 = 4;
    /// The request never left (network down); retrying is safe.
    pub const NOT_SENT: i32 = 5;
}

/// The verdict of one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Money taken (payments, queries of paid orders).
    Paid,
    /// Done: refund made, order created, revoke accepted, answer read.
    Ok,
    /// A payment that was revoked: no money taken (or all returned).
    Revoked,
    /// The customer is still paying.
    Waiting,
    /// The platform said no.
    Failed,
    /// Sent, outcome unknown.
    Unknown,
    /// Never sent.
    NotSent,
    /// Bad input or configuration.
    Usage,
}

impl Verdict {
    /// The exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Paid | Verdict::Ok | Verdict::Revoked => exit::OK,
            Verdict::Failed => exit::FAILED,
            Verdict::Usage => exit::USAGE,
            Verdict::Unknown => exit::UNKNOWN,
            Verdict::Waiting => exit::WAITING,
            Verdict::NotSent => exit::NOT_SENT,
        }
    }

    /// The word printed first and used as `outcome` in JSON.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Paid => "paid",
            Verdict::Ok => "ok",
            Verdict::Revoked => "revoked",
            Verdict::Waiting => "waiting",
            Verdict::Failed => "failed",
            Verdict::Unknown => "unknown",
            Verdict::NotSent => "not_sent",
            Verdict::Usage => "usage_error",
        }
    }

    /// The verdict of what an answer proved ([`ystpay::reading`]); a
    /// paid (or refunded) one is `paid_word`.
    pub fn of_reading(reading: &Reading, paid_word: Verdict) -> Verdict {
        match reading.money() {
            Money::Paid => paid_word,
            Money::Waiting => Verdict::Waiting,
            Money::Failed => Verdict::Failed,
            Money::Revoked => Verdict::Revoked,
            // No status, an undefined one, or about another operation: the
            // answer itself was fine, but it proves nothing about the money.
            Money::Unclear => Verdict::Unknown,
        }
    }

    /// The verdict of an error. `moves_money` is true for the pay
    /// interfaces: there a refusal without an explicit status `F` does not
    /// prove that no money was taken (docs/DESIGN.md: never report FAILED unless
    /// the platform said so), so it is UNKNOWN.
    pub fn of_error(e: &Error, moves_money: bool) -> Verdict {
        match e {
            Error::Config(_) | Error::InvalidInput(_) => Verdict::Usage,
            Error::NotSent(_) | Error::Ledger(_) => Verdict::NotSent,
            Error::OutcomeUnknown(_) | Error::Rejected(_) => Verdict::Unknown,
            Error::Refused(r) => {
                if !moves_money || r.status == Some(Status::Failed) {
                    Verdict::Failed
                } else {
                    Verdict::Unknown
                }
            }
        }
    }
}

/// One command's result.
#[derive(Debug, Clone)]
pub struct Report {
    /// The subcommand, e.g. `pay`.
    pub operation: &'static str,
    /// What happened.
    pub verdict: Verdict,
    /// One line for people, after the verdict word.
    pub headline: String,
    /// Fields in print order (JSON keys as given).
    pub fields: Vec<(&'static str, Value)>,
    /// Receipt lines, printed after the fields.
    pub receipts: Vec<String>,
    /// Text drawn after everything (a QR code).
    pub drawing: Option<String>,
    /// Lines of advice for people (not in JSON).
    pub notes: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new(operation: &'static str, verdict: Verdict, headline: impl Into<String>) -> Self {
        Report {
            operation,
            verdict,
            headline: headline.into(),
            fields: Vec::new(),
            receipts: Vec::new(),
            drawing: None,
            notes: Vec::new(),
        }
    }

    /// Adds a field when `value` is present.
    pub fn field(&mut self, key: &'static str, value: impl Into<Value>) -> &mut Self {
        let v = value.into();
        if !v.is_null() {
            self.fields.push((key, v));
        }
        self
    }

    /// Adds a fee field in fen (JSON: integer fen; people: yuan).
    pub fn fee(&mut self, key: &'static str, fen: Option<i64>) -> &mut Self {
        if let Some(f) = fen {
            self.fields.push((key, json!(f)));
        }
        self
    }

    /// A report for an error.
    pub fn error(operation: &'static str, e: &Error, moves_money: bool) -> Report {
        let verdict = Verdict::of_error(e, moves_money);
        let mut r = Report::new(operation, verdict, e.to_string());
        r.field(
            "error_kind",
            ystpay::log::error_kind(e).to_ascii_lowercase(),
        );
        if let Error::Refused(refusal) = e {
            r.field("code", refusal.code.clone());
            r.field("msg", refusal.msg.clone());
            r.field(
                "status",
                refusal.status.as_ref().map(|s| s.code().to_string()),
            );
            r.field("trans_seq", refusal.trans_seq.clone());
        }
        match verdict {
            Verdict::Unknown if moves_money => r.notes.push(
                "The payment may or may not have gone through: query it (ystpay query REQ_SEQ) or revoke it (ystpay revoke REQ_SEQ).".into(),
            ),
            Verdict::Unknown => r
                .notes
                .push("No trustworthy answer came: query before concluding anything.".into()),
            Verdict::NotSent => r
                .notes
                .push("Nothing reached the platform; it is safe to try again.".into()),
            _ => {}
        }
        r
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("operation".into(), json!(self.operation));
        m.insert("outcome".into(), json!(self.verdict.word()));
        m.insert("exit_code".into(), json!(self.verdict.exit_code()));
        m.insert("message".into(), json!(self.headline));
        for (k, v) in &self.fields {
            m.insert((*k).to_string(), v.clone());
        }
        if !self.receipts.is_empty() {
            m.insert("receipts".into(), json!(self.receipts));
        }
        Value::Object(m)
    }

    /// The human form.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{:<8} {}\n",
            self.verdict.word().to_ascii_uppercase(),
            self.headline
        );
        for (k, v) in &self.fields {
            let shown = match v {
                Value::String(t) => t.clone(),
                Value::Number(n) if is_fee(k) => {
                    let fen = n.as_i64().unwrap_or(0);
                    format!("{} ({fen} fen)", fen_to_yuan(fen))
                }
                other => other.to_string(),
            };
            s.push_str(&format!("  {k:<14} {shown}\n"));
        }
        if !self.receipts.is_empty() {
            s.push_str("  receipt:\n");
            for l in &self.receipts {
                s.push_str(&format!("    | {l}\n"));
            }
        }
        if let Some(d) = &self.drawing {
            s.push('\n');
            s.push_str(d);
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        s
    }
}

fn is_fee(key: &str) -> bool {
    key.ends_with("_fee")
}

/// "¥12.50".
pub fn yuan(fen: i64) -> String {
    format!("¥{}", fen_to_yuan(fen))
}
