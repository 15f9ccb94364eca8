//! Waiting for a payment to settle, as the command line does it: after a
//! `W` (customer entering a password) or an unclear answer, query every
//! `interval` until the platform says `S` or `F`; when the cashier cancels
//! or the deadline passes, revoke, so the payment ends PAID, FAILED,
//! REVOKED or — only when the platform cannot be reached at all — UNKNOWN.

use std::time::{Duration, Instant};

use ystpay::error::Error;
use ystpay::log::Logger;
use ystpay::protocol::messages::{PayRequest, PayResponse, QueryPayRequest, RevokeRequest};
use ystpay::protocol::Status;
use ystpay::Client;

/// How a payment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The money was taken.
    Paid(Box<PayResponse>),
    /// The platform said no (status `F`): no money taken.
    Failed {
        /// `code` from the platform.
        code: String,
        /// `msg` from the platform.
        msg: String,
    },
    /// Revoked after a cancel or the deadline: no money taken, or all returned.
    Revoked,
    /// The platform could not be reached to settle it.
    Unknown(String),
    /// The request never left; nothing happened.
    NotSent(String),
    /// The request was refused before sending (bad input or configuration).
    Invalid(Error),
}

/// What the loop reports while it waits.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The first answer.
    Answered(Option<Status>),
    /// A query was answered (or failed, `None`).
    Polled {
        /// Queries so far.
        n: u32,
        /// Time since the payment was sent.
        elapsed: Duration,
        /// The status the query returned.
        status: Option<Status>,
    },
    /// Giving up waiting: revoking.
    Revoking {
        /// Why: cancelled or deadline.
        reason: &'static str,
    },
}

/// Timing of the wait.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Between queries.
    pub interval: Duration,
    /// After this long, revoke.
    pub deadline: Duration,
}

/// Pays and waits. `cancelled` is asked between queries.
pub fn settle_pay(
    client: &Client,
    log: &Logger,
    req: &mut PayRequest,
    timing: Timing,
    cancelled: &dyn Fn(Duration) -> bool,
    progress: &mut dyn FnMut(Progress),
) -> Settled {
    let start = Instant::now();
    let first = log.send(client, "pay", req);
    match &first {
        Ok(r) => progress(Progress::Answered(r.status.clone())),
        Err(Error::Refused(r)) => progress(Progress::Answered(r.status.clone())),
        Err(_) => progress(Progress::Answered(None)),
    }
    match first {
        Ok(r) if r.status == Some(Status::Success) => return Settled::Paid(Box::new(r)),
        Ok(r) if r.status == Some(Status::Failed) => {
            return Settled::Failed {
                code: r.head.code.unwrap_or_default(),
                msg: r.head.msg.unwrap_or_default(),
            }
        }
        Err(Error::Refused(r)) if r.status == Some(Status::Failed) => {
            return Settled::Failed {
                code: r.code,
                msg: r.msg,
            }
        }
        Err(e @ (Error::Config(_) | Error::InvalidInput(_))) => return Settled::Invalid(e),
        Err(Error::NotSent(why)) => return Settled::NotSent(why),
        // W, no status, a refusal without F, no answer, an untrusted answer:
        // the payment may be in progress or done. Query until it is clear.
        _ => {}
    }
    let mut n = 0;
    loop {
        let elapsed = start.elapsed();
        if cancelled(elapsed) {
            return revoke(client, log, req, progress, "cancelled by the cashier");
        }
        if elapsed >= timing.deadline {
            return revoke(client, log, req, progress, "the customer took too long");
        }
        std::thread::sleep(timing.interval.min(timing.deadline.saturating_sub(elapsed)));
        n += 1;
        let mut q = QueryPayRequest {
            req_seq: String::new(),
            auth_code: Some(req.auth_code.clone()),
            ori_seq: req.req_seq.clone(),
        };
        let answer = log.send(client, "query", &mut q);
        let status = match &answer {
            Ok(r) => r.status.clone(),
            Err(Error::Refused(r)) => r.status.clone(),
            Err(_) => None,
        };
        progress(Progress::Polled {
            n,
            elapsed: start.elapsed(),
            status: status.clone(),
        });
        match answer {
            Ok(r) if r.status == Some(Status::Success) => return Settled::Paid(Box::new(r)),
            Ok(r) if r.status == Some(Status::Failed) => {
                return Settled::Failed {
                    code: r.head.code.unwrap_or_default(),
                    msg: r.head.msg.unwrap_or_default(),
                }
            }
            _ => {}
        }
    }
}

fn revoke(
    client: &Client,
    log: &Logger,
    pay: &PayRequest,
    progress: &mut dyn FnMut(Progress),
    reason: &'static str,
) -> Settled {
    progress(Progress::Revoking { reason });
    // One revoke serial for every attempt: a retry of the same revoke.
    let mut req = RevokeRequest {
        req_seq: client.next_req_seq(),
        ori_seq: pay.req_seq.clone(),
        channel: None,
        auth_code: Some(pay.auth_code.clone()),
    };
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500));
        }
        match log.send(client, "revoke", &mut req) {
            Ok(_) => return Settled::Revoked,
            Err(e) => last = e.to_string(),
        }
    }
    Settled::Unknown(format!("revoke did not go through: {last}"))
}
