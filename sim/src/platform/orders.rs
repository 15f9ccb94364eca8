//! The true order state per merchant and its lazy transitions: a
//! scheduled change is applied when the order is next looked at.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::NaiveDateTime;
use ystpay::protocol::{Channel, Request, Response};

use super::answers::{Reason, R_NOT_FOUND, R_REVOKED};
use super::{lock, DeviceRec, Platform};
use crate::util::{china_now, server_time};
use crate::{OrderKind, OrderView, RefundView, TrueStatus};

/// One order, as the platform knows it: its true state, what it was asked
/// with (`fingerprint`, to tell a retry from a conflict) and a scheduled
/// change (`pending`).
pub(super) struct Order {
    pub(super) req_seq: String,
    pub(super) kind: OrderKind,
    pub(super) trans_seq: String,
    pub(super) total_fee: i64,
    pub(super) channel: String,
    pub(super) status: TrueStatus,
    pub(super) reason: Option<Reason>,
    pub(super) refunded_fee: i64,
    pub(super) refunds: Vec<RefundView>,
    pub(super) pay_count: u32,
    pub(super) fingerprint: String,
    pub(super) acct: String,
    pub(super) created: Instant,
    pub(super) created_wall: NaiveDateTime,
    pub(super) pending: Option<(Instant, TrueStatus, Option<Reason>)>,
    pub(super) pay_time: Option<NaiveDateTime>,
    pub(super) pay_url: Option<String>,
    pub(super) signature_info: Option<String>,
    pub(super) pay_info: Option<String>,
}

impl Order {
    /// Applies a scheduled transition whose time has come.
    pub(super) fn settle(&mut self, now: Instant) {
        if let Some((due, to, reason)) = self.pending {
            if now >= due {
                self.pending = None;
                self.status = to;
                self.reason = reason;
                if to == TrueStatus::Paid {
                    self.pay_count += 1;
                    let since =
                        chrono::Duration::from_std(due.saturating_duration_since(self.created))
                            .unwrap_or_else(|_| chrono::Duration::zero());
                    self.pay_time = Some(self.created_wall + since);
                }
            }
        }
    }

    /// The order as `Control` shows it.
    pub(super) fn view(&self) -> OrderView {
        OrderView {
            req_seq: self.req_seq.clone(),
            kind: self.kind,
            trans_seq: self.trans_seq.clone(),
            total_fee: self.total_fee,
            channel: self.channel.clone(),
            status: self.status,
            refunded_fee: self.refunded_fee,
            refunds: self.refunds.clone(),
            pay_count: self.pay_count,
            created: server_time(self.created_wall),
        }
    }

    /// The channel, `None` when the payment code matched none.
    pub(super) fn channel(&self) -> Option<Channel> {
        (!self.channel.is_empty()).then(|| Channel::from_code(&self.channel))
    }

    /// The money is taken now (once: `pay_count` counts it).
    pub(super) fn mark_paid(&mut self) {
        self.status = TrueStatus::Paid;
        self.reason = None;
        self.pending = None;
        self.pay_count += 1;
        self.pay_time = Some(china_now());
    }

    /// Ends the order in `status` (failed, closed or revoked) for `reason`;
    /// a scheduled change no longer happens.
    pub(super) fn end(&mut self, status: TrueStatus, reason: Reason) {
        self.status = status;
        self.reason = Some(reason);
        self.pending = None;
    }
}

/// A refund, kept by its `req_seq` to answer a retry and a refund query.
pub(super) struct RefundRec {
    pub(super) trans_seq: String,
    pub(super) order_req_seq: String,
    pub(super) refund_seq: String,
    pub(super) refund_fee: i64,
    pub(super) reason: String,
}

/// One merchant's orders, revoked `req_seq`s (tombstones) and refunds.
#[derive(Default)]
pub(super) struct Merchant {
    pub(super) orders: HashMap<String, Order>,
    pub(super) tombstones: HashSet<String>,
    pub(super) refunds: HashMap<String, RefundRec>,
}

impl Merchant {
    /// The order `req_seq`, with the transition due by `now` applied.
    pub(super) fn settled(&mut self, req_seq: &str, now: Instant) -> Option<&mut Order> {
        let o = self.orders.get_mut(req_seq)?;
        o.settle(now);
        Some(o)
    }

    /// The order with the platform's number `trans_seq`.
    pub(super) fn by_trans_seq(&mut self, trans_seq: &str) -> Option<&mut Order> {
        self.orders.values_mut().find(|o| o.trans_seq == trans_seq)
    }
}

impl Platform {
    /// Runs `act` on the order a customer acts on (`Control::customer_pays`,
    /// `customer_confirms`, `customer_walks_away`): a known order of the
    /// kind the action is for (`barcode`: a payment at its password prompt;
    /// otherwise a native/JS/H5 order), still waiting. Otherwise says why not.
    pub(super) fn customer_order<T>(
        &self,
        merchant: &str,
        req_seq: &str,
        barcode: bool,
        act: impl FnOnce(&mut Order) -> T,
    ) -> Result<T, String> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        let o = st
            .get_mut(merchant)
            .and_then(|m| m.settled(req_seq, now))
            .ok_or_else(|| format!("no order {req_seq} for merchant {merchant}"))?;
        if (o.kind == OrderKind::Barcode) != barcode {
            return Err(if barcode {
                "only a barcode payment waits for the customer's password; use customer-pays"
            } else {
                "barcode orders are paid by their payment code"
            }
            .to_string());
        }
        if o.status != TrueStatus::Waiting {
            return Err(format!("order {req_seq} is {:?}, not waiting", o.status));
        }
        Ok(act(o))
    }

    /// Answers query `Q` (API §4.2, §5.2) about the order `ori_seq` of
    /// `dev`'s merchant with `answer`, or refuses it (`E10004`) when there is
    /// no such order.
    pub(super) fn query<Q>(
        &self,
        dev: &DeviceRec,
        req_seq: &str,
        ori_seq: &str,
        answer: impl FnOnce(&Order) -> String,
    ) -> String
    where
        Q: Request,
        Q::Response: Default,
    {
        let now = Instant::now();
        let mut st = lock(&self.state);
        match st
            .get_mut(&dev.merchant)
            .and_then(|m| m.settled(ori_seq, now))
        {
            Some(o) => answer(o),
            None => self.refusal::<Q::Response>(Q::RESPONSE_TYPE, req_seq, R_NOT_FOUND),
        }
    }

    /// The rule every pay interface keeps for a `req_seq` it has seen
    /// (sim/README.md, "Rules for every pay interface"): revoked, it is
    /// refused (`E14001`); reused with other content than `fp`, it is a
    /// conflict (`E10005`); reused with the same content, it is a retry of
    /// the known order, settled by `now`. `Ok(None)`: a new `req_seq`.
    pub(super) fn known_order<'m, R: Response + Default>(
        &self,
        m: &'m mut Merchant,
        rtype: &str,
        seq: &str,
        fp: &str,
        now: Instant,
    ) -> Result<Option<&'m mut Order>, String> {
        if m.tombstones.contains(seq) {
            return Err(self.refusal::<R>(rtype, seq, R_REVOKED));
        }
        match m.settled(seq, now) {
            Some(o) if o.fingerprint != fp => Err(self.conflict::<R>(rtype, seq)),
            known => Ok(known),
        }
    }

    /// A new waiting order with a fresh `trans_seq`, not yet stored.
    pub(super) fn new_order(
        &self,
        dev: &DeviceRec,
        req_seq: &str,
        kind: OrderKind,
        total_fee: i64,
        channel: &str,
        fingerprint: String,
    ) -> Order {
        Order {
            req_seq: req_seq.to_string(),
            kind,
            trans_seq: self.serial(),
            total_fee,
            channel: channel.to_string(),
            status: TrueStatus::Waiting,
            reason: None,
            refunded_fee: 0,
            refunds: Vec::new(),
            pay_count: 0,
            fingerprint,
            acct: dev.acct.clone(),
            created: Instant::now(),
            created_wall: china_now(),
            pending: None,
            pay_time: None,
            pay_url: None,
            signature_info: None,
            pay_info: None,
        }
    }
}
