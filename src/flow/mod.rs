//! Whole business operations that end with the truth: pay-and-settle,
//! refund, native/JS/H5 orders, recovery and notices.
//!
//! [`Payments`] ties a [`Client`] to a [`Journal`]. Every operation is
//! written to the journal before its first request leaves and updated with
//! every answer, and every call returns one of four [`Outcome`]s:
//!
//! | outcome | meaning |
//! |---|---|
//! | [`Outcome::Paid`] | the money was taken (for a refund: returned) |
//! | [`Outcome::Failed`] | the platform said so explicitly (`F`, or a refusal it confirmed by having no such order); no money moved |
//! | [`Outcome::Revoked`] | this register revoked it: the money was returned or never taken |
//! | [`Outcome::NotSent`] | nothing could have reached the platform (the network is down), or the cashier cancelled before anything could have arrived; nothing moved, the journal closed it |
//! | [`Outcome::Unknown`] | it may have arrived and the platform could not be reached until the deadline, or answered about another operation under this serial; the journal keeps the operation open and [`Payments::recover`] asks again |
//!
//! The discipline (docs/DESIGN.md, "Paying safely"):
//! - Every answer is read by [`crate::reading`]: only a defined status
//!   about *this* operation (its amount, its platform number) proves
//!   anything. An answer about another operation ends the flow UNKNOWN,
//!   in state [`OpState::Conflict`], with nothing revoked.
//! - `W` (customer entering a password): query on an adaptive
//!   [`PollSchedule`] until paid, failed or the deadline; then revoke, and
//!   retry the revoke on failure.
//! - A timeout, a dropped connection, an unverifiable or malformed answer,
//!   or `result=N` without an explicit `F`: query before concluding. FAILED
//!   only when the platform said so, or when a query proved a refusal
//!   harmless.
//! - Retries reuse the same `req_seq` (the platform treats a repeat as the
//!   same operation), and a revoke keeps its own serial across retries and
//!   restarts. New serials come from the journal's ledger
//!   ([`crate::reqseq`]): never one issued before; when it cannot issue
//!   one, the request is not sent.
//! - One flow drives an operation at a time: a flow owns it while its
//!   process lives ([`crate::journal::Owner`]), so recovery takes over the
//!   operations of a dead process at once.
//! - Recovery resolves every open operation: query, then revoke where a
//!   payment is still unclear (never one in conflict); it never resends a
//!   refund and stops at the first request it cannot send.
//! - Not sent means not sent: an operation none of whose attempts could
//!   have arrived ends [`Outcome::NotSent`] at once.
//!
//! What to do after each answer is decided in one place, `decide` (the
//! table of docs/DESIGN.md, "What to do next"), and carried out by one
//! loop, `drive`. Modules by job: [`types`](self) (what the flows take and
//! give), `timing` (schedules, deadlines, cancel), `run` (one operation's
//! run and its one pause), `decide`, `drive`, and the operations that set
//! up a run: `pay`, `refund`, `order`, `recover`, `notice`; `crash`
//! (test-only crash points).

mod crash;
mod decide;
mod drive;
mod notice;
mod order;
mod pay;
mod recover;
mod refund;
mod run;
mod timing;
mod types;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

pub use timing::{CancelToken, FlowConfig, PollSchedule};
pub use types::{
    settled_from, Disposition, FlowError, NewOrder, NoticeHandled, OrderSpec, OrderStart,
    OrderTicket, Outcome, PaidNotice, PayOrder, Progress, RecoveredOp, RecoveryReport,
    RevokeReason, SettleOptions, Settlement,
};

use crate::client::Client;
use crate::journal::{
    Journal, JournalError, JournalSerials, NewOp, OpKind, OpRecord, OpState, Owner,
};
use crate::protocol::Channel;
pub(crate) use run::expected;
use run::Run;

/// The payment flows over one client and one journal.
pub struct Payments {
    client: Arc<Client>,
    journal: Arc<Journal>,
    /// The journal's serial ledger: every serial this flow sends, its
    /// operations' own, its queries' and its revokes', comes from it
    /// (docs/DESIGN.md, "Serials").
    serials: JournalSerials,
    config: FlowConfig,
    owner: Owner,
    /// Operations a run of this flow drives now: one run per operation.
    driving: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("client", &self.client)
            .field("journal", &self.journal)
            .field("owner", &self.owner)
            .finish()
    }
}

impl Payments {
    /// The flows over `client` and `journal`. Call [`Payments::recover`]
    /// once on start (or use [`Payments::start`]).
    ///
    /// Every serial this flow issues comes from this journal's ledger, and
    /// so do those the client generates ([`Client::issue_req_seq`]) from
    /// now on. Fails when this flow cannot take its owner lock beside the
    /// journal.
    pub fn new(
        client: Arc<Client>,
        journal: Arc<Journal>,
        config: FlowConfig,
    ) -> Result<Payments, FlowError> {
        let owner = journal.new_owner()?;
        let serials = JournalSerials::new(&journal, client.account());
        client.use_serial_ledger(Arc::new(serials.clone()));
        // The first block of serials is reserved now, off the payment's
        // path: the first write after a journal opens also writes the
        // journal's log header (a second fsync). Failing here costs
        // nothing: the first operation reserves its block then.
        let _ = serials.top_up(client.serial_gen());
        Ok(Payments {
            client,
            journal,
            serials,
            config,
            owner,
            driving: Mutex::default(),
        })
    }

    /// The flows, after recovering whatever the journal left open with one
    /// quick check ([`SettleOptions::at_start_up`]).
    pub fn start(
        client: Arc<Client>,
        journal: Arc<Journal>,
        config: FlowConfig,
    ) -> Result<(Payments, RecoveryReport), FlowError> {
        let p = Payments::new(client, journal, config)?;
        let report = p.recover(&SettleOptions::at_start_up())?;
        Ok((p, report))
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// [`Client::prepare`]: a live connection for the coming operation.
    pub fn prepare(&self) -> Result<(), crate::Error> {
        self.client.prepare()
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// A fresh `req_seq` from this flow's journal ledger: never one issued
    /// before by any flow of the journal, nor one it holds.
    /// [`Error::Ledger`](crate::Error::Ledger) (nothing sent) when the
    /// journal cannot issue one.
    pub fn issue_req_seq(&self) -> Result<String, crate::Error> {
        self.client.issue_req_seq_in(&self.serials)
    }

    /// The timing in use.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    fn driving(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.driving.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `req_seq` as driven by a run of this flow; false when one
    /// drives it already.
    fn start_driving(&self, req_seq: &str) -> bool {
        self.driving().insert(req_seq.to_string())
    }

    fn stop_driving(&self, req_seq: &str) {
        self.driving().remove(req_seq);
    }

    /// A new operation owned by this flow.
    fn new_op(&self, seq: &str, kind: OpKind, total_fee: i64) -> NewOp {
        let mut op = NewOp::new(self.client.account(), seq, kind, total_fee);
        op.owner = Some(self.owner.id().to_string());
        op
    }

    /// Records `op` (as [`Journal::begin`]) and starts its run. An empty
    /// `op.req_seq` is issued from the ledger in the same transaction: the
    /// serial and the intent are one durable write (docs/DESIGN.md, "The
    /// journal").
    fn begin<'a>(&'a self, op: &NewOp, opts: &SettleOptions<'a>) -> Result<Run<'a>, FlowError> {
        self.begin_with(op, opts, |gen, op| self.serials.begin(gen, op))
    }

    /// Records `op` with `record` and starts its run; the operation is
    /// marked driven before it is recorded when its serial is given, and
    /// at once after when it is new (nobody else can know it yet).
    fn begin_with<'a>(
        &'a self,
        op: &NewOp,
        opts: &SettleOptions<'a>,
        record: impl FnOnce(&crate::reqseq::ReqSeqGen, &NewOp) -> Result<OpRecord, JournalError>,
    ) -> Result<Run<'a>, FlowError> {
        let given = !op.req_seq.is_empty();
        if given && !self.start_driving(&op.req_seq) {
            return Err(JournalError::Busy(op.req_seq.clone()).into());
        }
        match record(self.client.serial_gen(), op) {
            Ok(rec) => {
                if !given {
                    self.start_driving(&rec.req_seq);
                }
                Ok(Run::new(self, &rec, opts))
            }
            Err(e) => {
                if given {
                    self.stop_driving(&op.req_seq);
                }
                Err(e.into())
            }
        }
    }

    /// Takes over the recorded operation `rec` for a run of this flow, or
    /// says that a live flow (a thread of this one, or another process)
    /// drives it. Ended operations need no claim: only marked as driven.
    fn take<'a>(&'a self, rec: &OpRecord, opts: &SettleOptions<'a>) -> Result<Run<'a>, FlowError> {
        let open = rec.state.is_open();
        self.take_with(rec, opts, |j| {
            if open {
                j.claim(&rec.account, &rec.req_seq, &self.owner)
            } else {
                Ok(true)
            }
        })
    }

    /// Takes over `rec` to revoke it: claimed even when it ended paid
    /// ([`Journal::claim_revoke`]), so that two programs never revoke one
    /// payment at once.
    fn take_to_revoke<'a>(
        &'a self,
        rec: &OpRecord,
        opts: &SettleOptions<'a>,
    ) -> Result<Run<'a>, FlowError> {
        // The claim records the revoke's serial too: one durable write.
        self.take_with(rec, opts, |_| {
            self.serials.claim_revoke(
                self.client.serial_gen(),
                &rec.req_seq,
                &self.owner,
                rec.revoke_seq.is_none() && !in_conflict(rec),
            )
        })
    }

    fn take_with<'a>(
        &'a self,
        rec: &OpRecord,
        opts: &SettleOptions<'a>,
        claim: impl FnOnce(&Journal) -> Result<bool, JournalError>,
    ) -> Result<Run<'a>, FlowError> {
        let busy = || FlowError::Journal(JournalError::Busy(rec.req_seq.clone()));
        if !self.start_driving(&rec.req_seq) {
            return Err(busy());
        }
        match claim(&self.journal) {
            Ok(true) => {}
            Ok(false) => {
                self.stop_driving(&rec.req_seq);
                return Err(busy());
            }
            Err(e) => {
                self.stop_driving(&rec.req_seq);
                return Err(e.into());
            }
        }
        // Work from its state now: it may have moved since `rec` was read.
        let now = match self.journal.get(&rec.account, &rec.req_seq) {
            Ok(Some(now)) => now,
            Ok(None) => rec.clone(),
            Err(e) => {
                self.stop_driving(&rec.req_seq);
                return Err(e.into());
            }
        };
        Ok(Run::new(self, &now, opts))
    }

    /// The operation `req_seq` of this device, or [`JournalError::NotFound`].
    fn recorded(&self, req_seq: &str) -> Result<OpRecord, FlowError> {
        Ok(self
            .journal
            .get(self.client.account(), req_seq)?
            .ok_or_else(|| JournalError::NotFound(req_seq.to_string()))?)
    }
}

/// The channel a payment code belongs to by its well-known prefix: WeChat
/// codes are 18 digits starting 10–15, Alipay codes 16–24 digits starting
/// 25–30. `None` for anything else.
pub fn channel_of_code(code: &str) -> Option<Channel> {
    let b = code.as_bytes();
    if b.len() < 2 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let prefix = (b[0] - b'0') * 10 + (b[1] - b'0');
    match (prefix, b.len()) {
        (10..=15, 18) => Some(Channel::WeChat),
        (25..=30, 16..=24) => Some(Channel::Alipay),
        _ => None,
    }
}

/// True for the state an operation in conflict is in: answers about
/// another operation came under its serial, so nothing may be revoked or
/// resent for it on a guess.
fn in_conflict(rec: &OpRecord) -> bool {
    rec.state == OpState::Conflict
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn adaptive_schedule_grows_and_caps() {
        let s = PollSchedule::ADAPTIVE;
        let ms: Vec<u128> = (0..4).map(|n| s.interval(n).as_millis()).collect();
        assert_eq!(ms, vec![600, 690, 793, 912]);
        let f = PollSchedule::fixed(Duration::from_secs(5));
        assert_eq!(f.interval(0), f.interval(9));
        assert_eq!(s.scaled(0.01).interval(0), Duration::from_millis(6));
        assert_eq!(s.interval(u32::MAX), Duration::from_secs(8));
        // The budget of issue 6: at most 20 queries per 60 s of waiting.
        assert!(s.asks_within(Duration::from_secs(60)) <= 20);
        assert_eq!(f.asks_within(Duration::from_secs(60)), 12);
        assert_eq!(
            PollSchedule::fixed(Duration::ZERO).asks_within(Duration::from_secs(1)),
            u32::MAX
        );
    }

    #[test]
    fn cancel_wakes_a_waiter() {
        let t = CancelToken::new();
        let t2 = t.clone();
        let start = Instant::now();
        let h = std::thread::spawn(move || t2.wait(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(50));
        t.cancel();
        assert!(h.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(t.is_cancelled());
        assert!(t.wait(Duration::from_secs(30)));
        assert!(!CancelToken::new().wait(Duration::from_millis(1)));
    }

    #[test]
    fn channels_by_code_prefix() {
        assert_eq!(channel_of_code("134567890123456789"), Some(Channel::WeChat));
        assert_eq!(channel_of_code("2812345678901201"), Some(Channel::Alipay));
        assert_eq!(channel_of_code("1345678901234567"), None);
        assert_eq!(channel_of_code("abc"), None);
    }

    #[test]
    fn outcomes_of_states() {
        assert_eq!(Outcome::of_state(OpState::Refunded), Outcome::Paid);
        assert_eq!(Outcome::of_state(OpState::Closed), Outcome::Failed);
        assert_eq!(Outcome::of_state(OpState::Revoking), Outcome::Unknown);
        assert_eq!(Outcome::of_state(OpState::Conflict), Outcome::Unknown);
        assert_eq!(Outcome::Revoked.to_string(), "REVOKED");
    }
}
