//! A refund (API §4.3, §4.4) settled to the end.

use std::time::Instant;

use super::crash::crash_point;
use super::run::{OnCancel, Pause, Run};
use super::types::{FlowError, Progress, SettleOptions, Settlement};
use super::Payments;
use crate::journal::{JournalError, OpKind, OpState};
use crate::protocol::messages::{QueryRefundRequest, RefundRequest, Request};
use crate::reading::{Facts, Reading};

impl Payments {
    /// Refunds `refund_fee` fen of payment `pay_req_seq` (recorded in the
    /// journal). The journal refuses locally a refund that would exceed what
    /// was paid. The refund is retried with the same `req_seq` and queried
    /// when unsure; [`super::Outcome::Paid`] means refunded.
    pub fn settle_refund(
        &self,
        pay_req_seq: &str,
        refund_fee: i64,
        reason: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        self.settle_refund_as(None, pay_req_seq, refund_fee, reason, opts)
    }

    /// [`Payments::settle_refund`] under a refund `req_seq` the caller
    /// chose; `None` generates one.
    pub fn settle_refund_as(
        &self,
        req_seq: Option<&str>,
        pay_req_seq: &str,
        refund_fee: i64,
        reason: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        // The payment's trans_seq comes from the journal; check the rest now.
        let pay = self.recorded(pay_req_seq)?;
        let seq = req_seq.map_or_else(|| self.client.next_req_seq(), str::to_string);
        let probe = RefundRequest {
            req_seq: seq.clone(),
            trans_seq: pay.trans_seq.clone().unwrap_or_else(|| "0".into()),
            refund_fee,
            reason: reason.to_string(),
        };
        probe.check()?;
        let mut op = self.new_op(&seq, OpKind::Refund, refund_fee);
        op.reason = Some(reason.to_string());
        if !self.start_driving(&seq) {
            return Err(JournalError::Busy(seq).into());
        }
        let rec = match self.journal.begin_refund(pay_req_seq, &op) {
            Ok(rec) => rec,
            Err(e) => {
                self.stop_driving(&seq);
                return Err(e.into());
            }
        };
        let run = super::run::Run::new(self, &rec, opts);
        let end = run.started + opts.deadline.unwrap_or(self.config.refund_deadline);
        Ok(self.drive_refund(run, true, false, end))
    }

    /// Sends (when `send_first`) and settles the refund of `run`. A refund
    /// in conflict (`careful`) is only queried, never resent.
    pub(super) fn drive_refund(
        &self,
        mut run: Run<'_>,
        send_first: bool,
        careful: bool,
        end: Instant,
    ) -> Settlement {
        let Some(rec) = run.record() else {
            let d = "the refund vanished from the journal".to_string();
            return run.finish(OpState::Unknown, Facts::default(), d);
        };
        let mut req = RefundRequest {
            req_seq: rec.req_seq.clone(),
            trans_seq: rec.trans_seq.clone().unwrap_or_default(),
            refund_fee: rec.total_fee,
            reason: rec.reason.clone().unwrap_or_default(),
        };
        // What to do next: send (or resend) the refund, or query it.
        let mut send_next = send_first;
        let mut refused: Option<crate::error::Refusal> = None;
        let mut n = 0u32;
        // A step the platform's last answer made necessary (the query that
        // confirms a refusal, the resend of a refund it never received) is
        // owed even if the deadline passes meanwhile (once), so that an
        // answer that came never leaves the refund unsettled for lack of time.
        let mut owed = false;
        let mut grace_used = false;
        loop {
            crash_point("refund-step");
            let (what, seq, reading) = if send_next {
                if n == 0 {
                    run.progress(Progress::Sending {
                        kind: OpKind::Refund,
                        req_seq: req.req_seq.clone(),
                    });
                } else {
                    run.progress(Progress::Resending { attempt: n });
                }
                let r = run.read(self.client.refund(&mut req));
                ("refund", req.req_seq.clone(), r)
            } else {
                run.progress(Progress::Querying { attempt: n + 1 });
                let mut q = QueryRefundRequest {
                    req_seq: self.client.next_req_seq(),
                    trans_seq: req.trans_seq.clone(),
                    ori_seq: req.req_seq.clone(),
                };
                let r = run.read(self.client.query_refund(&mut q));
                ("query_refund", q.req_seq.clone(), r)
            };
            crash_point("refund-after-answer");
            run.note(what, &seq, &reading);
            if careful {
                if let Some(why) = Self::unproven_in_conflict(&reading) {
                    return Self::still_in_conflict(run, &why);
                }
            }
            let queried = what == "query_refund";
            match reading {
                Reading::Paid(f) => return run.end(OpState::Refunded, *f),
                Reading::Failed(f) => return run.end(OpState::Failed, *f),
                Reading::Foreign(f, why) => return run.conflict(*f, why),
                Reading::Waiting(f) => {
                    run.learn(OpState::Waiting, &f);
                    send_next = false;
                }
                Reading::Refused(r) => match (queried, refused.take()) {
                    // The refund was refused and the platform has no such
                    // refund: the refusal is proven harmless, it failed.
                    (true, Some(first)) => {
                        let d = format!("refused: {} {}", first.code, first.msg);
                        let f = Facts {
                            code: Some(first.code),
                            msg: first.msg,
                            ..Facts::default()
                        };
                        return run.finish(OpState::Failed, f, d);
                    }
                    // No such refund after an unclear send: it never
                    // arrived; send it again (same req_seq), unless the
                    // serial is in conflict.
                    (true, None) if !careful => {
                        send_next = true;
                        owed = true;
                    }
                    (true, None) => {
                        return Self::still_in_conflict(run, "the platform has no such refund")
                    }
                    // Refused without status: confirm by query, owed.
                    (false, _) => {
                        refused = Some(r);
                        send_next = false;
                        owed = true;
                    }
                },
                Reading::NotSent(_) => {
                    if !queried && !careful {
                        send_next = true;
                    }
                }
                Reading::Unclear(_) | Reading::Revoked(_) => send_next = false,
            }
            n += 1;
            let owed_now = std::mem::take(&mut owed) && !grace_used;
            if owed_now && Instant::now() >= end {
                grace_used = true;
                continue;
            }
            let step = self.config.retry.interval(n.saturating_sub(1));
            let why = match run.pause(step, end, OnCancel::Stop) {
                Pause::Go => continue,
                Pause::Deadline => "refund not confirmed: platform unreachable",
                Pause::Cancelled => "cancelled before the refund was confirmed",
            };
            let still = if careful {
                OpState::Conflict
            } else {
                OpState::Unknown
            };
            return run.finish(still, Facts::default(), why.to_string());
        }
    }
}
