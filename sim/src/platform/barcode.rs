//! The barcode interfaces (API §4.1–§4.5): pay by payment code, query,
//! refund, refund query, revoke; and the customer at a password prompt.

use std::time::{Duration, Instant};

use ystpay::protocol::{
    PayRequest, PayResponse, QueryPayRequest, QueryRefundRequest, RefundRequest, RefundResponse,
    Request, Response, RevokeRequest, RevokeResponse, Status,
};

use super::answers::{
    channel_name, code, order_answer, R_ABANDONED, R_BAD_CODE, R_CLOSED, R_INSUFFICIENT,
    R_MISMATCH, R_NOT_FOUND, R_REVOKED,
};
use super::orders::{Order, RefundRec};
use super::{lock, DeviceRec, Platform};
use crate::util::log;
use crate::{OrderKind, RefundView, TrueStatus};

/// The barcode scenario chosen by a payment code's last two digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    PaidNow,
    Password(u64),
    Abandon(u64),
    Refused,
    Busy,
    SlowAnswer(u64),
}

/// Reads a payment code: its channel and scenario, or `None` when it
/// matches no channel.
fn classify(auth_code: &str) -> Option<(&'static str, Scenario)> {
    let b = auth_code.as_bytes();
    if b.len() < 2 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let prefix = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let channel = match (prefix, b.len()) {
        (10..=15, 18) => "W",
        (25..=30, 16..=24) => "A",
        _ => return None,
    };
    let tens = b[b.len() - 2] - b'0';
    let last = u64::from(b[b.len() - 1] - b'0');
    let n = if last == 0 { 10 } else { last };
    let scenario = match tens {
        0..=4 => Scenario::PaidNow,
        5 => Scenario::Password(n),
        6 => Scenario::Abandon(n),
        7 => Scenario::Refused,
        8 => Scenario::Busy,
        _ => Scenario::SlowAnswer(n),
    };
    Some((channel, scenario))
}

impl Platform {
    /// The customer at a barcode payment that waits for a password
    /// (scenarios `50`–`69`, sim/README.md) acts now instead of when the
    /// payment code's script says: `pay` confirms (paid, once), otherwise
    /// the customer walks away (failed, `E12002`). Barcode payments send no
    /// notification (API §5.5 is for native/JS/H5 orders).
    pub(crate) fn customer_acts(
        &self,
        merchant: &str,
        req_seq: &str,
        pay: bool,
    ) -> Result<(), String> {
        self.customer_order(merchant, req_seq, true, |o| {
            if pay {
                o.mark_paid();
                log(&format!("customer confirmed {merchant}/{req_seq}"));
            } else {
                o.end(TrueStatus::Failed, R_ABANDONED);
                log(&format!("customer walked away from {merchant}/{req_seq}"));
            }
        })
    }

    /// The answer describing a barcode order's current state (API §4.1 / §4.2).
    /// A pay answer says `result=N` for a failed/closed/revoked order; a
    /// query answer says `result=Y` (the query itself succeeded).
    fn pay_answer(
        &self,
        dev: &DeviceRec,
        o: &Order,
        rtype: &str,
        seq: &str,
        is_query: bool,
    ) -> String {
        let words = self.state_words(o, is_query);
        order_answer!(self, PayResponse, o, rtype, seq, words, paid: dev).to_xml()
    }

    /// API §4.1, barcode pay: the payment code chooses the channel and the
    /// scenario (sim/README.md); the answer may come after a delay.
    pub(super) fn pay(&self, dev: &DeviceRec, req: PayRequest) -> (String, Option<Duration>) {
        let rtype = PayRequest::RESPONSE_TYPE;
        let seq = req.req_seq.clone();
        let code_text = req.auth_code.expose().to_string();
        let asked = req
            .channel
            .as_ref()
            .map(|c| c.code().to_string())
            .unwrap_or_default();
        let fp = format!("barcode|{}|{}|{}", req.total_fee, code_text, asked);
        let now = Instant::now();
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        match self.known_order::<PayResponse>(m, rtype, &seq, &fp, now) {
            Err(refusal) => return (refusal, None),
            Ok(Some(o)) => return (self.pay_answer(dev, o, rtype, &seq, false), None),
            Ok(None) => {}
        }
        let classified = classify(&code_text);
        let channel = classified.map(|(c, _)| c).unwrap_or("");
        let mut o = self.new_order(dev, &seq, OrderKind::Barcode, req.total_fee, channel, fp);
        let mut delay = None;
        let mut busy = false;
        match classified {
            None => {
                o.end(TrueStatus::Failed, R_BAD_CODE);
            }
            Some((c, _)) if !asked.is_empty() && asked != c => {
                o.end(TrueStatus::Failed, R_MISMATCH);
            }
            Some((_, s)) => match s {
                Scenario::PaidNow => o.mark_paid(),
                Scenario::Password(n) => {
                    o.pending = Some((now + self.scaled(n), TrueStatus::Paid, None));
                }
                Scenario::Abandon(n) => {
                    o.pending = Some((now + self.scaled(n), TrueStatus::Failed, Some(R_ABANDONED)));
                }
                Scenario::Refused => {
                    o.end(TrueStatus::Failed, R_INSUFFICIENT);
                }
                Scenario::Busy => {
                    o.mark_paid();
                    busy = true;
                }
                Scenario::SlowAnswer(n) => {
                    o.mark_paid();
                    delay = Some(self.scaled(n));
                }
            },
        }
        let plain = if busy {
            self.refusal::<PayResponse>(rtype, &seq, (code::BUSY, "系统繁忙，请稍后查询"))
        } else {
            self.pay_answer(dev, &o, rtype, &seq, false)
        };
        m.orders.insert(seq, o);
        (plain, delay)
    }

    /// API §4.2, query: the state of an order of any kind, by `ori_seq`.
    pub(super) fn query_pay(&self, dev: &DeviceRec, req: QueryPayRequest) -> String {
        self.query::<QueryPayRequest>(dev, &req.req_seq, &req.ori_seq, |o| {
            self.pay_answer(dev, o, QueryPayRequest::RESPONSE_TYPE, &req.req_seq, true)
        })
    }

    /// API §4.3, refund: part or all of a paid order, by `trans_seq`, never
    /// past the amount paid; a retry with the same content gets the same answer.
    pub(super) fn refund(&self, dev: &DeviceRec, req: RefundRequest) -> String {
        let rtype = RefundRequest::RESPONSE_TYPE;
        let seq = req.req_seq.clone();
        let now = Instant::now();
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        if let Some(r) = m.refunds.get(&seq) {
            if r.trans_seq != req.trans_seq
                || r.refund_fee != req.refund_fee
                || r.reason != req.reason
            {
                return self.conflict::<RefundResponse>(rtype, &seq);
            }
            let (refund_seq, fee, order_seq) =
                (r.refund_seq.clone(), r.refund_fee, r.order_req_seq.clone());
            return match m.orders.get(&order_seq) {
                Some(o) => self.refund_answer(dev, o, rtype, &seq, &refund_seq, fee),
                None => self.refusal::<RefundResponse>(rtype, &seq, R_NOT_FOUND),
            };
        }
        let refund_seq = self.serial();
        let Some(o) = m.by_trans_seq(&req.trans_seq) else {
            return self.refusal::<RefundResponse>(rtype, &seq, R_NOT_FOUND);
        };
        o.settle(now);
        match o.status {
            TrueStatus::Paid => {}
            TrueStatus::Revoked => return self.refusal::<RefundResponse>(rtype, &seq, R_REVOKED),
            _ => {
                return self.refusal::<RefundResponse>(
                    rtype,
                    &seq,
                    (code::NOT_PAID, "订单未支付，不能退款"),
                )
            }
        }
        if o.refunded_fee + req.refund_fee > o.total_fee {
            return self.refusal::<RefundResponse>(
                rtype,
                &seq,
                (code::REFUND_EXCEEDS, "退款金额超过订单可退金额"),
            );
        }
        o.refunded_fee += req.refund_fee;
        o.refunds.push(RefundView {
            req_seq: seq.clone(),
            refund_seq: refund_seq.clone(),
            refund_fee: req.refund_fee,
        });
        let answer = self.refund_answer(dev, o, rtype, &seq, &refund_seq, req.refund_fee);
        let order_req_seq = o.req_seq.clone();
        m.refunds.insert(
            seq,
            RefundRec {
                trans_seq: req.trans_seq,
                order_req_seq,
                refund_seq,
                refund_fee: req.refund_fee,
                reason: req.reason,
            },
        );
        answer
    }

    fn refund_answer(
        &self,
        dev: &DeviceRec,
        o: &Order,
        rtype: &str,
        seq: &str,
        refund_seq: &str,
        fee: i64,
    ) -> String {
        // "已退款金额": this refund's amount, or (the other reading) the
        // order's total refunded so far, this refund included.
        let refunded = if self.refund_fee_cumulative {
            o.refunded_fee
        } else {
            fee
        };
        let r = RefundResponse {
            head: self.head(rtype, seq, true, code::REFUND_OK, "退款成功"),
            refund_seq: Some(refund_seq.to_string()),
            total_fee: Some(o.total_fee),
            refund_fee: Some(refunded),
            cash_fee: Some(fee),
            coupon_fee: Some(0),
            channel: o.channel(),
            channel_name: channel_name(&o.channel),
            status: Some(Status::Success),
            receipts: self.refund_receipts(dev, o, refund_seq, fee),
        };
        r.to_xml()
    }

    /// API §4.4, refund query: a refund by its `req_seq` (`ori_seq`) and the
    /// order's `trans_seq`.
    pub(super) fn query_refund(&self, dev: &DeviceRec, req: QueryRefundRequest) -> String {
        let rtype = QueryRefundRequest::RESPONSE_TYPE;
        let st = lock(&self.state);
        let found = st.get(&dev.merchant).and_then(|m| {
            let r = m
                .refunds
                .get(&req.ori_seq)
                .filter(|r| r.trans_seq == req.trans_seq)?;
            Some((r, m.orders.get(&r.order_req_seq)?))
        });
        match found {
            Some((r, o)) => {
                self.refund_answer(dev, o, rtype, &req.req_seq, &r.refund_seq, r.refund_fee)
            }
            None => self.refusal::<RefundResponse>(
                rtype,
                &req.req_seq,
                (code::REFUND_NOT_FOUND, "退款单不存在"),
            ),
        }
    }

    /// API §4.5, revoke: a paid order is revoked (what was not refunded goes
    /// back), a waiting one closed; an unknown `ori_seq` leaves a tombstone.
    pub(super) fn revoke(&self, dev: &DeviceRec, req: RevokeRequest) -> String {
        let rtype = RevokeRequest::RESPONSE_TYPE;
        let now = Instant::now();
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        let (channel, name) = match m.settled(&req.ori_seq, now) {
            None => {
                m.tombstones.insert(req.ori_seq.clone());
                let c = req.channel.clone();
                let n = c.as_ref().and_then(|c| channel_name(c.code()));
                (c, n)
            }
            Some(o) => {
                match o.status {
                    TrueStatus::Paid => {
                        o.end(TrueStatus::Revoked, R_REVOKED);
                        o.refunded_fee = o.total_fee;
                    }
                    TrueStatus::Waiting => o.end(TrueStatus::Closed, R_CLOSED),
                    TrueStatus::Failed | TrueStatus::Closed | TrueStatus::Revoked => {}
                }
                (o.channel(), channel_name(&o.channel))
            }
        };
        let r = RevokeResponse {
            head: self.head(rtype, &req.req_seq, true, code::REVOKE_OK, "撤单成功"),
            channel,
            channel_name: name,
            status: Some(Status::Failed),
        };
        r.to_xml()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_codes() {
        assert_eq!(
            classify("134567890123456700"),
            Some(("W", Scenario::PaidNow))
        );
        assert_eq!(
            classify("104567890123456749"),
            Some(("W", Scenario::PaidNow))
        );
        assert_eq!(
            classify("134567890123456755"),
            Some(("W", Scenario::Password(5)))
        );
        assert_eq!(
            classify("134567890123456750"),
            Some(("W", Scenario::Password(10)))
        );
        assert_eq!(
            classify("134567890123456763"),
            Some(("W", Scenario::Abandon(3)))
        );
        assert_eq!(
            classify("134567890123456771"),
            Some(("W", Scenario::Refused))
        );
        assert_eq!(classify("134567890123456789"), Some(("W", Scenario::Busy)));
        assert_eq!(
            classify("134567890123456792"),
            Some(("W", Scenario::SlowAnswer(2)))
        );
        assert_eq!(classify("2812345678901201"), Some(("A", Scenario::PaidNow)));
        assert_eq!(
            classify("301234567890123456789072"),
            Some(("A", Scenario::Refused))
        );
        assert_eq!(classify("1345678901234567"), None, "W needs 18 digits");
        assert_eq!(classify("161234567890123456"), None);
        assert_eq!(classify("241234567890123456"), None);
        assert_eq!(classify("311234567890123456"), None);
        assert_eq!(classify("281234567890123"), None, "A needs 16 to 24 digits");
        assert_eq!(classify("13456789012345670a"), None);
        assert_eq!(classify(""), None);
    }
}
