//! A refund (API §4.3, §4.4) settled to the end.

use super::decide::{Job, Memory, Subject};
use super::drive::{Drive, Own};
use super::pay::STAND_IN_SERIAL;
use super::types::{FlowError, SettleOptions, Settlement};
use super::Payments;
use crate::journal::{JournalError, OpKind};
use crate::protocol::messages::{RefundRequest, Request};

impl Payments {
    /// Refunds `refund_fee` fen of payment `pay_req_seq` (recorded in the
    /// journal). The journal refuses locally a refund that would exceed what
    /// was paid. The refund is retried with the same `req_seq` and queried
    /// when unsure; [`super::Outcome::Paid`] means refunded. A cancel never
    /// resends it: it ends [`super::Outcome::NotSent`] when it cannot have
    /// arrived (or the platform has no such refund), and is otherwise
    /// settled by query only (docs/DESIGN.md, "What to do next").
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
        let seq = req_seq.unwrap_or_default().to_string();
        let probe = RefundRequest {
            req_seq: req_seq.unwrap_or(STAND_IN_SERIAL).to_string(),
            trans_seq: pay.trans_seq.clone().unwrap_or_else(|| "0".into()),
            refund_fee,
            reason: reason.to_string(),
        };
        probe.check()?;
        let mut op = self.new_op(&seq, OpKind::Refund, refund_fee);
        op.reason = Some(reason.to_string());
        // Without a serial of the caller's, it is issued as the refund is
        // recorded: one durable write.
        let run = self.begin_with(&op, opts, |gen, op| {
            self.serials.begin_refund(gen, pay_req_seq, op)
        })?;
        let rec = run
            .record()
            .ok_or_else(|| JournalError::NotFound(run.seq.clone()))?;
        let until = run.started + opts.deadline.unwrap_or(self.config.refund_deadline);
        let m = Memory::new(Job::Refund, Subject::Refund);
        let req = RefundRequest {
            req_seq: rec.req_seq.clone(),
            trans_seq: rec.trans_seq.clone().unwrap_or_default(),
            refund_fee: rec.total_fee,
            reason: rec.reason.clone().unwrap_or_default(),
        };
        let d = Drive {
            m,
            own: Some(Own::Refund(req)),
            until,
            auth_code: None,
        };
        Ok(self.drive(run, d).settled())
    }
}
