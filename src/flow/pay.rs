//! The barcode payment (API §4.1, §4.2) settled to the end, and its revoke
//! (API §4.5).

use super::decide::{Job, Memory, Subject};
use super::drive::{memory, Drive, Own};
use super::types::{FlowError, PayOrder, SettleOptions, Settlement};
use super::{channel_of_code, in_conflict, settled_from, Payments};
use crate::journal::{JournalError, OpKind, OpState};
use crate::protocol::messages::{PayRequest, Request};

/// A serial of the issued form, to check a request before the journal
/// issues its real one.
pub(super) const STAND_IN_SERIAL: &str = "00000000000000000000";

impl Payments {
    /// Takes a barcode payment and returns only when it has a final answer:
    /// [`super::Outcome::Paid`], [`super::Outcome::Failed`],
    /// [`super::Outcome::Revoked`], [`super::Outcome::NotSent`] when nothing
    /// could have reached the platform (the network is down, or the cancel
    /// was pulled before the call), or [`super::Outcome::Unknown`] when the
    /// platform stayed unreachable after the payment may have arrived, or
    /// answered about another operation (the journal keeps it open for
    /// [`Payments::recover`]). What comes after each answer is decided by
    /// the one table of docs/DESIGN.md, "What to do next".
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
        // Without a serial of the caller's, the journal issues one as it
        // records the payment (one durable write); the request is checked
        // first with a stand-in serial of the same form.
        let mut req = PayRequest {
            req_seq: req_seq.unwrap_or(STAND_IN_SERIAL).to_string(),
            total_fee: order.total_fee,
            auth_code: order.auth_code.clone(),
            channel: order.channel.clone(),
            prod_details: order.prod_details.clone(),
        };
        req.check()?;
        let mut op = self.new_op(req_seq.unwrap_or_default(), OpKind::Pay, order.total_fee);
        op.auth_code = Some(order.auth_code.expose().to_string());
        op.channel = order
            .channel
            .clone()
            .or_else(|| channel_of_code(order.auth_code.expose()))
            .map(|c| c.code().to_string());
        let run = self.begin(&op, opts)?;
        req.req_seq = run.seq.clone();
        let until = run.started + opts.deadline.unwrap_or(self.config.pay_deadline);
        let m = Memory::new(Job::Pay, Subject::Payment);
        let auth_code = Some(req.auth_code.clone());
        let d = Drive {
            m,
            own: Some(Own::Pay(req)),
            until,
            auth_code,
        };
        Ok(self.drive(run, d).settled())
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
        let run = self.take_to_revoke(&rec, opts)?;
        let Some(now) = run.record() else {
            return Ok(settled_from(&rec));
        };
        let d = Drive {
            m: memory(Job::Revoke, &now, false),
            own: None,
            until: run.started + self.config.revoke_deadline,
            auth_code: None,
        };
        Ok(self.drive(run, d).settled())
    }
}
