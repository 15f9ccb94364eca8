//! Orders the customer pays by themselves: QR code (API §5.1), JS (§6.1)
//! and H5 (§7.1), created, awaited (§5.2 queries) and closed (§4.5 revoke).

use std::time::{Duration, Instant};

use super::decide::{Job, Memory, Subject};
use super::drive::{memory, Drive, Driven, Own};
use super::run::Run;
use super::types::{
    FlowError, NewOrder, OrderSpec, OrderStart, OrderTicket, SettleOptions, Settlement,
};
use super::{in_conflict, settled_from, Payments};
use crate::client::Client;
use crate::journal::{JournalError, OpKind, OpState};
use crate::protocol::messages::{H5PayRequest, JsPayRequest, NativePayRequest, Request};
use crate::reading::{read_result, Expected, Reading};
use crate::time::now_ms;

/// The platform's default lifetime of an order, and the longest it allows
/// (API §5.1 `expire_time`: 300 to 1800 s).
const DEFAULT_EXPIRY_SECS: i64 = 300;
const LONGEST_EXPIRY_SECS: i64 = 1800;

/// How creating an order ended.
enum Created<'a> {
    /// It waits for the customer; the run still holds it.
    Waiting(Run<'a>, OrderTicket),
    /// It ended (failed, closed, not sent, in conflict, or unknown).
    Ended(Settlement),
}

impl Payments {
    /// Creates a native/JS/H5 order, retrying with the same `req_seq` when
    /// unsure. The journal records it first; `expires_ms` tells when it
    /// stops being payable. A create the platform refuses is confirmed by
    /// a query: no such order means FAILED (the serial is closed by a
    /// revoke first). A network that lets nothing out ends it
    /// [`super::Outcome::NotSent`] at once. Cancel, or no answer by
    /// `create_deadline`, closes it.
    pub fn create_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<OrderStart, FlowError> {
        Ok(match self.create(order, opts)? {
            // The run ends here; the order stays open for `await_order`.
            Created::Waiting(_, ticket) => OrderStart::Waiting(ticket),
            Created::Ended(s) => OrderStart::Ended(s),
        })
    }

    fn create<'a>(
        &'a self,
        order: &NewOrder,
        opts: &SettleOptions<'a>,
    ) -> Result<Created<'a>, FlowError> {
        let seq = self.issue_req_seq()?;
        let (kind, expire_secs) = match &order.spec {
            OrderSpec::Native { expire_secs } => {
                (OpKind::Native, expire_secs.unwrap_or(DEFAULT_EXPIRY_SECS))
            }
            OrderSpec::Js { .. } => (OpKind::Js, DEFAULT_EXPIRY_SECS),
            OrderSpec::H5 { .. } => (OpKind::H5, DEFAULT_EXPIRY_SECS),
        };
        let create = OrderCreate::new(&seq, order);
        create.check()?;
        let mut op = self.new_op(&seq, kind, order.total_fee);
        op.channel = Some(order.channel.code().to_string());
        let expires_ms = now_ms() + expire_secs * 1000;
        op.expires_ms = Some(expires_ms);
        let run = self.begin(&op, opts)?;
        let d = Drive {
            m: Memory::new(Job::Create, Subject::Order),
            own: Some(Own::Create(create)),
            until: run.started + self.config.create_deadline,
            auth_code: None,
        };
        Ok(match self.drive(run, d) {
            Driven::Created(run, f) => {
                let ticket = OrderTicket {
                    req_seq: seq,
                    trans_seq: f.trans_seq,
                    pay_url: f.pay_url,
                    signature_info: f.signature_info,
                    expires_ms,
                };
                Created::Waiting(run, ticket)
            }
            Driven::Ended(s) | Driven::Unreachable(s) => Created::Ended(s),
        })
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
        let run = self.take(&rec, opts)?;
        Ok(self.await_run(run, opts))
    }

    /// Awaits the order `run` holds (API §5.2 queries), then closes it.
    fn await_run<'a>(&'a self, run: Run<'a>, opts: &SettleOptions<'a>) -> Settlement {
        let Some(rec) = run.record() else {
            let d = "the order vanished from the journal".to_string();
            return run.finish(OpState::Unknown, Default::default(), d);
        };
        let until_expiry = order_time_left(rec.created_ms, rec.expires_ms);
        let wait = opts.deadline.map_or(until_expiry, |d| d.min(until_expiry));
        let d = Drive {
            m: memory(Job::Await, &rec, true),
            own: None,
            until: Instant::now() + wait,
            auth_code: None,
        };
        self.drive(run, d).settled()
    }

    /// Creates a native/JS/H5 order, reports its URL through
    /// [`Progress::ShowCode`], and waits until it is paid or expires (then
    /// closes it). The same run holds the order from create to the end, so
    /// no recovery elsewhere can take it in between.
    pub fn settle_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, FlowError> {
        match self.create(order, opts)? {
            Created::Ended(s) => Ok(s),
            Created::Waiting(run, _) => Ok(self.await_run(run, opts)),
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
pub(super) enum OrderCreate {
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
    pub(super) fn send(&mut self, client: &Client, expect: &Expected) -> Reading {
        match self {
            OrderCreate::Native(r) => read_result(&client.native_pay(r), expect),
            OrderCreate::Js(r) => read_result(&client.js_pay(r), expect),
            OrderCreate::H5(r) => read_result(&client.h5_pay(r), expect),
        }
    }
}
