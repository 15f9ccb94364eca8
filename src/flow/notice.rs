//! Payment notifications (API §5.5) received by the shop's server.

use super::types::{NoticeHandled, PaidNotice};
use super::Payments;
use crate::client::{notice_reply, ReceivedNotice};
use crate::journal::OpKind;

impl Payments {
    /// Handles a payment notification body (API §5.5): reads it like any
    /// answer ([`crate::reading`]: status `S`, this order's amount and
    /// number), confirms by query what the notice itself does not prove (a
    /// plain `<data>` notice, or one without a status), records the order
    /// paid in the journal, and reports it once. Repeats are answered `Y`
    /// and not reported again; a notice that cannot be verified is answered
    /// `N` (the platform will send it again).
    pub fn handle_notice(&self, body: &[u8]) -> NoticeHandled {
        let refuse = |why: String| NoticeHandled {
            reply: notice_reply(false, "rejected"),
            accepted: false,
            report: None,
            detail: why,
        };
        let received: ReceivedNotice = match self.client.read_notice(body) {
            Ok(n) => n,
            Err(e) => return refuse(e.to_string()),
        };
        let n = &received.notice;
        let (Some(req_seq), Some(trans_seq)) = (n.req_seq.clone(), n.trans_seq.clone()) else {
            return refuse("notice without req_seq or trans_seq".into());
        };
        let account = self.client.account().to_string();
        let known = match self.journal.get(&account, &req_seq) {
            Ok(r) => r,
            Err(e) => return refuse(e.to_string()),
        };
        // A repeat of a notice already reported: Y, nothing to report.
        if let Ok(true) = self.journal.notice_seen(&account, &trans_seq) {
            return NoticeHandled {
                reply: notice_reply(true, "OK"),
                accepted: true,
                report: None,
                detail: "repeat".into(),
            };
        }
        if known.as_ref().is_some_and(|r| r.kind == OpKind::Refund) {
            return refuse(format!(
                "{req_seq} is a refund in the journal, not an order"
            ));
        }
        let expect = known
            .as_ref()
            .map(super::run::of_record)
            .unwrap_or_default();
        if let Err(e) = self.client.prove_paid(&received, &expect) {
            return refuse(e.to_string());
        }
        let first =
            match self
                .journal
                .settle_notice(&account, &req_seq, &trans_seq, "paid (notice)")
            {
                Ok(f) => f,
                Err(e) => return refuse(e.to_string()),
            };
        NoticeHandled {
            reply: notice_reply(true, "OK"),
            accepted: true,
            report: first.then(|| PaidNotice {
                req_seq,
                trans_seq,
                total_fee: n.total_fee,
                channel: n.channel.as_ref().map(|c| c.code().to_string()),
                in_journal: known.is_some(),
            }),
            detail: if first {
                "paid".into()
            } else {
                "repeat".into()
            },
        }
    }
}
