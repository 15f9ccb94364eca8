//! The barcode payment (API §4.1, §4.2) settled to the end, and its revoke
//! (API §4.5).

use std::time::Instant;

use super::crash::crash_point;
use super::run::{OnCancel, Pause, Run};
use super::types::{FlowError, PayOrder, Progress, RevokeReason, SettleOptions, Settlement};
use super::{channel_of_code, in_conflict, settled_from, Payments};
use crate::error::Refusal;
use crate::journal::{JournalError, OpKind, OpState, OpUpdate};
use crate::protocol::messages::{PayRequest, QueryPayRequest, Request, RevokeRequest};
use crate::protocol::{Channel, PaymentCode};
use crate::reading::{Facts, Reading};

/// Where a payment stands during the flow.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Sent; the outcome is not known.
    Unclear,
    /// The platform may never have received it: resend (same `req_seq`).
    NotDelivered,
    /// The customer is paying.
    Waiting,
    /// The platform refused without a status; a query decides.
    Refused(Refusal),
}

impl Payments {
    /// Takes a barcode payment and returns only when it has a final answer:
    /// [`super::Outcome::Paid`], [`super::Outcome::Failed`],
    /// [`super::Outcome::Revoked`], or [`super::Outcome::Unknown`] when the
    /// platform stayed unreachable or answered about another operation (the
    /// journal keeps it open for [`Payments::recover`]).
    ///
    /// Errors only before anything is sent: an invalid field, or a journal
    /// that cannot record the payment.
    pub fn settle_pay(
        &self,
        order: &PayOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        self.settle_pay_as(None, order, opts)
    }

    /// [`Payments::settle_pay`] under a `req_seq` the caller chose (and
    /// stored before calling, e.g. a C register that keeps its own serials);
    /// `None` generates one. A serial the journal already holds, for an
    /// operation or any request sent, is refused
    /// ([`JournalError::Duplicate`]) before anything is sent.
    pub fn settle_pay_as(
        &self,
        req_seq: Option<&str>,
        order: &PayOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        let mut req = PayRequest {
            req_seq: req_seq.map_or_else(|| self.client.next_req_seq(), str::to_string),
            total_fee: order.total_fee,
            auth_code: order.auth_code.clone(),
            channel: order.channel.clone(),
            prod_details: order.prod_details.clone(),
        };
        req.check()?;
        let mut op = self.new_op(&req.req_seq, OpKind::Pay, order.total_fee);
        op.auth_code = Some(order.auth_code.expose().to_string());
        op.channel = order
            .channel
            .clone()
            .or_else(|| channel_of_code(order.auth_code.expose()))
            .map(|c| c.code().to_string());
        let mut run = self.begin(&op, opts)?;
        let deadline = run.started + opts.deadline.unwrap_or(self.config.pay_deadline);
        crash_point("pay-before-send");
        run.progress(Progress::Sending {
            kind: OpKind::Pay,
            req_seq: req.req_seq.clone(),
        });
        let first = run.read(self.client.pay(&mut req));
        crash_point("pay-after-answer");
        run.note("pay", &req.req_seq, &first);
        Ok(self.drive_pay(run, req, first, deadline))
    }

    /// Polls, resends, and revokes until the payment has an outcome.
    fn drive_pay(
        &self,
        mut run: Run<'_>,
        mut req: PayRequest,
        first: Reading,
        deadline: Instant,
    ) -> Settlement {
        let mut phase = match first {
            Reading::Paid(f) => return run.end(OpState::Paid, *f),
            Reading::Failed(f) => return run.end(OpState::Failed, *f),
            Reading::Foreign(f, why) => return run.conflict(*f, why),
            Reading::Waiting(f) => {
                self.note_waiting(&mut run, &f, deadline);
                Phase::Waiting
            }
            Reading::Refused(r) => Phase::Refused(r),
            Reading::NotSent(_) => Phase::NotDelivered,
            Reading::Unclear(_) | Reading::Revoked(_) => Phase::Unclear,
        };
        let (mut polls, mut resends, mut queries) = (0u32, 0u32, 0u32);
        let reason = loop {
            let step = if phase == Phase::NotDelivered {
                self.config.retry.interval(resends)
            } else {
                run.poll(self.config.poll).interval(polls)
            };
            match run.pause(step, deadline, OnCancel::Stop) {
                Pause::Go => {}
                Pause::Deadline => break RevokeReason::Deadline,
                Pause::Cancelled => break RevokeReason::Cancelled,
            }
            crash_point("pay-polling");
            let seen = if phase == Phase::NotDelivered {
                resends += 1;
                run.progress(Progress::Resending { attempt: resends });
                let s = run.read(self.client.pay(&mut req));
                run.note("pay", &req.req_seq, &s);
                s
            } else {
                polls += 1;
                queries += 1;
                if phase == Phase::Waiting {
                    run.progress(Progress::WaitingForCustomer {
                        elapsed: run.started.elapsed(),
                        remaining: deadline.saturating_duration_since(Instant::now()),
                    });
                } else {
                    run.progress(Progress::Querying { attempt: queries });
                }
                self.query_pay(&mut run)
            };
            crash_point("pay-after-answer");
            match seen {
                Reading::Paid(f) => return run.end(OpState::Paid, *f),
                Reading::Failed(f) => return run.end(OpState::Failed, *f),
                Reading::Foreign(f, why) => return run.conflict(*f, why),
                Reading::Waiting(f) => {
                    if phase != Phase::Waiting {
                        self.note_waiting(&mut run, &f, deadline);
                    }
                    phase = Phase::Waiting;
                }
                Reading::Refused(r) => {
                    // A resent pay refused without status: ask again by query.
                    // A query refused without status: the platform has no such
                    // order. After a refusal of the pay itself that settles it
                    // (revoke to close the serial, then FAILED); otherwise the
                    // pay may never have arrived: resend it.
                    let queried = phase != Phase::NotDelivered;
                    match (&phase, queried) {
                        (Phase::Refused(first), true) => {
                            let first = first.clone();
                            return self.revoke_pay(
                                run,
                                Some(&req.auth_code),
                                RevokeReason::Refused,
                                Some(first),
                            );
                        }
                        (Phase::Waiting, true) => {}
                        (_, true) => phase = Phase::NotDelivered,
                        (_, false) => phase = Phase::Refused(r),
                    }
                }
                Reading::NotSent(_) | Reading::Unclear(_) | Reading::Revoked(_) => {
                    if phase == Phase::NotDelivered {
                        // A resend that may have arrived: find out by query.
                        phase = Phase::Unclear;
                    }
                }
            }
        };
        self.revoke_pay(run, Some(&req.auth_code), reason, None)
    }

    /// Asks the platform about payment `run.seq` (API §4.2) and notes it.
    pub(super) fn query_pay(&self, run: &mut Run<'_>) -> Reading {
        let mut q = QueryPayRequest {
            req_seq: self.client.next_req_seq(),
            auth_code: None,
            ori_seq: run.seq.clone(),
        };
        let s = run.read(self.client.query_pay(&mut q));
        run.note("query", &q.req_seq, &s);
        s
    }

    fn note_waiting(&self, run: &mut Run<'_>, f: &Facts, deadline: Instant) {
        run.learn(OpState::Waiting, f);
        run.progress(Progress::WaitingForCustomer {
            elapsed: run.started.elapsed(),
            remaining: deadline.saturating_duration_since(Instant::now()),
        });
    }

    /// Revokes payment `run.seq`, retrying with the same revoke serial until
    /// the platform answers or `revoke_deadline` passes; a cancel does not
    /// stop it. When the revoke is refused, a query decides (the payment may
    /// have gone through). `refused` is a refusal of the payment itself that
    /// the platform confirmed by having no such order: the outcome is then
    /// FAILED.
    pub(super) fn revoke_pay(
        &self,
        mut run: Run<'_>,
        auth_code: Option<&PaymentCode>,
        reason: RevokeReason,
        refused: Option<Refusal>,
    ) -> Settlement {
        let rec = run.record();
        let revoke_seq = rec
            .as_ref()
            .and_then(|r| r.revoke_seq.clone())
            .unwrap_or_else(|| self.client.next_req_seq());
        let channel = rec
            .as_ref()
            .and_then(|r| r.channel.as_deref())
            .map(Channel::from_code)
            .filter(|c| c.check("channel", "WAQY").is_ok());
        // API §4.5: channel and auth_code, one of the two is required.
        let channel = match (&channel, auth_code) {
            (None, None) => Some(Channel::WeChat),
            _ => channel,
        };
        run.set(OpUpdate {
            state: Some(OpState::Revoking),
            revoke_seq: Some(revoke_seq.clone()),
            detail: Some(format!("revoking: {reason:?}")),
            ..OpUpdate::default()
        });
        let end = Instant::now() + self.config.revoke_deadline;
        let mut attempt = 0u32;
        loop {
            crash_point("pay-revoking");
            attempt += 1;
            run.progress(Progress::Revoking { reason, attempt });
            let mut rv = RevokeRequest {
                req_seq: revoke_seq.clone(),
                ori_seq: run.seq.clone(),
                channel: channel.clone(),
                auth_code: auth_code.cloned(),
            };
            let r = run.read(self.client.revoke(&mut rv));
            crash_point("revoke-after-answer");
            run.note("revoke", &revoke_seq, &r);
            match r {
                Reading::Revoked(f) => {
                    return match refused {
                        Some(r) => {
                            let d = format!("refused: {} {}", r.code, r.msg);
                            let f = Facts {
                                code: Some(r.code),
                                msg: r.msg,
                                ..Facts::default()
                            };
                            run.finish(OpState::Failed, f, d)
                        }
                        None => {
                            let d = format!("revoked ({reason:?}): {}", f.words());
                            run.finish(OpState::Revoked, *f, d)
                        }
                    };
                }
                // The revoke was refused: maybe the payment is settled. Ask.
                Reading::Refused(_) | Reading::Failed(_) => match self.query_pay(&mut run) {
                    Reading::Paid(f) => return run.end(OpState::Paid, *f),
                    Reading::Failed(f) => return run.end(OpState::Failed, *f),
                    Reading::Foreign(f, why) => return run.conflict(*f, why),
                    _ => {}
                },
                _ => {}
            }
            let step = self.config.retry.interval(attempt - 1);
            if run.pause(step, end, OnCancel::Ignore) != Pause::Go {
                let d =
                    format!("revoke not confirmed after {attempt} attempts; platform unreachable");
                return run.finish(OpState::Revoking, Facts::default(), d);
            }
        }
    }

    /// Revokes a payment or order recorded in the journal (refunds it in
    /// full if paid, closes it otherwise), retrying until confirmed. One in
    /// conflict is refused ([`JournalError::Conflict`]): its serial holds
    /// another operation at the platform, which a revoke would touch.
    pub fn revoke_payment(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        let rec = self.recorded(req_seq)?;
        if rec.kind == OpKind::Refund {
            return Err(FlowError::Journal(JournalError::NotFound(format!(
                "{req_seq} is a refund, not a payment"
            ))));
        }
        if in_conflict(&rec) {
            return Err(JournalError::Conflict(req_seq.to_string()).into());
        }
        if !(rec.state == OpState::Paid || rec.state.is_open()) {
            // Failed, revoked or closed already: nothing to revoke.
            return Ok(settled_from(&rec));
        }
        let run = self.take(&rec, opts)?;
        Ok(self.revoke_pay(run, None, RevokeReason::Requested, None))
    }
}
