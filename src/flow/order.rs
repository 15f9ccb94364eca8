//! Orders the customer pays by themselves: QR code (API §5.1), JS (§6.1)
//! and H5 (§7.1), created, awaited (§5.2 queries) and closed (§4.5 revoke).

use std::time::Duration;

use super::crash::crash_point;
use super::run::{OnCancel, Pause, Run};
use super::types::{
    FlowError, NewOrder, OrderSpec, OrderStart, OrderTicket, Progress, RevokeReason, SettleOptions,
    Settlement,
};
use super::{in_conflict, settled_from, Payments};
use crate::client::Client;
use crate::journal::{JournalError, OpKind, OpState};
use crate::protocol::messages::{
    H5PayRequest, JsPayRequest, NativePayRequest, NativeQueryRequest, Request,
};
use crate::reading::{read_result, Expected, Reading};
use crate::time::now_ms;

/// The platform's default lifetime of an order, and the longest it allows
/// (API §5.1 `expire_time`: 300 to 1800 s).
const DEFAULT_EXPIRY_SECS: i64 = 300;
const LONGEST_EXPIRY_SECS: i64 = 1800;

impl Payments {
    /// Creates a native/JS/H5 order, retrying with the same `req_seq` when
    /// unsure. The journal records it first; `expires_ms` tells when it
    /// stops being payable. A create the platform refuses is confirmed by
    /// a query: no such order means FAILED (the serial is closed by a
    /// revoke first). Cancel, or no answer by `create_deadline`, closes it.
    pub fn create_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<OrderStart, FlowError> {
        let seq = self.client.next_req_seq();
        let (kind, expire_secs) = match &order.spec {
            OrderSpec::Native { expire_secs } => {
                (OpKind::Native, expire_secs.unwrap_or(DEFAULT_EXPIRY_SECS))
            }
            OrderSpec::Js { .. } => (OpKind::Js, DEFAULT_EXPIRY_SECS),
            OrderSpec::H5 { .. } => (OpKind::H5, DEFAULT_EXPIRY_SECS),
        };
        let mut create = OrderCreate::new(&seq, order);
        create.check()?;
        let mut op = self.new_op(&seq, kind, order.total_fee);
        op.channel = Some(order.channel.code().to_string());
        let expires_ms = now_ms() + expire_secs * 1000;
        op.expires_ms = Some(expires_ms);
        let mut run = self.begin(&op, opts)?;
        let end = run.started + self.config.create_deadline;
        let mut refused = None;
        let mut n = 0u32;
        loop {
            crash_point("order-before-send");
            let reading = if refused.is_some() {
                self.query_order(&mut run)
            } else {
                if n == 0 {
                    run.progress(Progress::Sending {
                        kind,
                        req_seq: seq.clone(),
                    });
                } else {
                    run.progress(Progress::Resending { attempt: n });
                }
                let r = create.send(&self.client, &run.expect);
                run.note(kind.as_str(), &seq, &r);
                r
            };
            crash_point("order-after-answer");
            match reading {
                Reading::Waiting(f) => {
                    run.learn(OpState::Waiting, &f);
                    if let Some(u) = &f.pay_url {
                        run.progress(Progress::ShowCode { pay_url: u.clone() });
                    }
                    return Ok(OrderStart::Waiting(OrderTicket {
                        req_seq: seq,
                        trans_seq: f.trans_seq,
                        pay_url: f.pay_url,
                        signature_info: f.signature_info,
                        expires_ms,
                    }));
                }
                Reading::Paid(f) => return Ok(OrderStart::Ended(run.end(OpState::Paid, *f))),
                Reading::Failed(f) => return Ok(OrderStart::Ended(run.end(OpState::Closed, *f))),
                Reading::Foreign(f, why) => return Ok(OrderStart::Ended(run.conflict(*f, why))),
                Reading::Refused(r) => match refused.take() {
                    // Refused, and the platform has no such order: proven
                    // harmless. Close the serial, then FAILED.
                    Some(first) => {
                        let s = self.revoke_pay(run, None, RevokeReason::Refused, Some(first));
                        return Ok(OrderStart::Ended(s));
                    }
                    None => refused = Some(r),
                },
                Reading::NotSent(_) | Reading::Unclear(_) | Reading::Revoked(_) => {}
            }
            n += 1;
            let reason = match run.pause(self.config.retry.interval(n - 1), end, OnCancel::Stop) {
                Pause::Go => continue,
                Pause::Deadline => RevokeReason::Requested,
                Pause::Cancelled => RevokeReason::Cancelled,
            };
            // Could not create it: close the serial so no later arrival
            // can open an order the register no longer shows.
            return Ok(OrderStart::Ended(self.revoke_pay(run, None, reason, None)));
        }
    }

    /// Asks the platform about order `run.seq` (API §5.2) and notes it.
    pub(super) fn query_order(&self, run: &mut Run<'_>) -> Reading {
        let mut q = NativeQueryRequest {
            req_seq: self.client.next_req_seq(),
            channel: None,
            ori_seq: run.seq.clone(),
        };
        let s = run.read(self.client.native_query(&mut q));
        run.note("query", &q.req_seq, &s);
        s
    }

    /// Waits for the customer to pay order `req_seq` until it expires (or
    /// `opts.deadline`), then closes it (revoke). Cancel closes it at once.
    /// An order in conflict is refused ([`JournalError::Conflict`]).
    pub fn await_order(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        let rec = self.recorded(req_seq)?;
        if !rec.state.is_open() {
            return Ok(settled_from(&rec));
        }
        if in_conflict(&rec) {
            return Err(JournalError::Conflict(req_seq.to_string()).into());
        }
        let mut run = self.take(&rec, opts)?;
        let until_expiry = order_time_left(rec.created_ms, rec.expires_ms);
        let wait = opts.deadline.map_or(until_expiry, |d| d.min(until_expiry));
        let deadline = run.started + wait;
        let mut polls = 0u32;
        let reason = loop {
            let step = run.poll(self.config.order_poll).interval(polls);
            let last = match run.pause(step, deadline, OnCancel::Stop) {
                Pause::Go => false,
                Pause::Deadline => true,
                Pause::Cancelled => break RevokeReason::Cancelled,
            };
            polls += 1;
            crash_point("order-polling");
            run.progress(Progress::WaitingForCustomer {
                elapsed: run.started.elapsed(),
                remaining: deadline.saturating_duration_since(std::time::Instant::now()),
            });
            match self.query_order(&mut run) {
                Reading::Paid(f) => return Ok(run.end(OpState::Paid, *f)),
                Reading::Failed(f) => return Ok(run.end(OpState::Closed, *f)),
                Reading::Foreign(f, why) => return Ok(run.conflict(*f, why)),
                _ => {}
            }
            if last {
                break RevokeReason::Deadline;
            }
        };
        Ok(self.revoke_pay(run, None, reason, None))
    }

    /// Creates a native/JS/H5 order, reports its URL through
    /// [`Progress::ShowCode`], and waits until it is paid or expires (then
    /// closes it).
    pub fn settle_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        match self.create_order(order, opts)? {
            OrderStart::Ended(s) => Ok(s),
            OrderStart::Waiting(t) => self.await_order(&t.req_seq, opts),
        }
    }

    /// Closes a native/JS/H5 order (revoke): the customer can no longer pay
    /// it; if they just did, the money is returned.
    pub fn close_order(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        self.revoke_payment(req_seq, opts)
    }
}

/// How long an order recorded at `created_ms` that expires at `expires_ms`
/// (both by the wall clock) stays payable from now. Never longer than its
/// own lifetime, so a clock that stepped back since cannot stretch it.
pub(super) fn order_time_left(created_ms: i64, expires_ms: Option<i64>) -> Duration {
    let Some(expires) = expires_ms else {
        return Duration::ZERO;
    };
    let lifetime = (expires - created_ms).clamp(0, LONGEST_EXPIRY_SECS * 1000);
    let left = (expires - now_ms()).clamp(0, lifetime);
    Duration::from_millis(left as u64)
}

/// The create request of a native/JS/H5 order, kept to resend unchanged.
enum OrderCreate {
    Native(NativePayRequest),
    Js(JsPayRequest),
    H5(H5PayRequest),
}

impl OrderCreate {
    fn new(seq: &str, o: &NewOrder) -> OrderCreate {
        match &o.spec {
            OrderSpec::Native { expire_secs } => OrderCreate::Native(NativePayRequest {
                req_seq: seq.to_string(),
                total_fee: o.total_fee,
                expire_time: *expire_secs,
                channel: o.channel.clone(),
            }),
            OrderSpec::Js { subopen_id } => OrderCreate::Js(JsPayRequest {
                req_seq: seq.to_string(),
                total_fee: o.total_fee,
                channel: o.channel.clone(),
                subopen_id: subopen_id.clone(),
            }),
            OrderSpec::H5 { ip, redirect_url } => OrderCreate::H5(H5PayRequest {
                req_seq: seq.to_string(),
                total_fee: o.total_fee,
                channel: o.channel.clone(),
                ip: ip.clone(),
                redirect_url: redirect_url.clone(),
            }),
        }
    }

    fn check(&self) -> Result<(), crate::protocol::FieldError> {
        match self {
            OrderCreate::Native(r) => r.check(),
            OrderCreate::Js(r) => r.check(),
            OrderCreate::H5(r) => r.check(),
        }
    }

    /// Sends it and reads the answer.
    fn send(&mut self, client: &Client, expect: &Expected) -> Reading {
        match self {
            OrderCreate::Native(r) => read_result(&client.native_pay(r), expect),
            OrderCreate::Js(r) => read_result(&client.js_pay(r), expect),
            OrderCreate::H5(r) => read_result(&client.h5_pay(r), expect),
        }
    }
}
