//! One run of a flow over one operation: its options, its journal key,
//! what its answers must match, the one pause every wait goes through,
//! and how it ends.

use std::time::{Duration, Instant};

use super::crash::crash_point;
use super::types::{Outcome, Progress, SettleOptions, Settlement};
use super::{CancelToken, Payments, PollSchedule};
use crate::error::Error;
use crate::journal::{AttemptRow, Journal, JournalError, OpKind, OpRecord, OpState, OpUpdate};
use crate::reading::{read_result, Answer, Expected, Facts, Reading};

/// What an answer about the recorded operation `rec` must say: its amount
/// and platform number, and for a refund the order's total refunded so far,
/// this refund included (either may come as `refund_fee`, API §4.3).
pub(crate) fn expected(journal: &Journal, rec: &OpRecord) -> Expected {
    let e = of_record(rec);
    match (rec.kind, &rec.parent_seq) {
        (OpKind::Refund, Some(parent)) => match journal.refunded_fee(&rec.account, parent) {
            Ok(total) => e.with_refunded_total(total),
            Err(_) => e,
        },
        _ => e,
    }
}

/// What the journal records for an operation: its amount, and its platform
/// number once known (a refund's `refund_seq`, else the order's
/// `trans_seq`).
pub(crate) fn of_record(rec: &OpRecord) -> Expected {
    let number = match rec.kind {
        OpKind::Refund => rec.refund_seq.as_deref(),
        _ => rec.trans_seq.as_deref(),
    };
    Expected::new(rec.total_fee, number)
}

/// How a pause ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pause {
    /// The step passed: go on.
    Go,
    /// The deadline has come (before or during the pause).
    Deadline,
    /// The cashier cancelled (before or during the pause).
    Cancelled,
}

/// Whether a pause gives way to the cancel switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnCancel {
    /// Stop pausing: the caller decides what a cancel means here.
    Stop,
    /// Pause on: a revoke under way is finished whatever the cashier does.
    Ignore,
}

/// The per-call context of one operation.
pub(super) struct Run<'a> {
    pub(super) p: &'a Payments,
    opts: SettleOptions<'a>,
    account: String,
    pub(super) kind: OpKind,
    pub(super) seq: String,
    pub(super) started: Instant,
    /// What an answer about this operation must say: its amount, and its
    /// platform number once recorded.
    pub(super) expect: Expected,
    journal_error: Option<JournalError>,
    /// The requests sent and not yet written: they ride on the run's next
    /// durable write (docs/DESIGN.md, "The journal"). Their serials are
    /// safe meanwhile: each came from a block the ledger recorded before
    /// it was handed out, so a crash cannot make any of them issued again.
    pending: Vec<AttemptRow>,
    /// The operation as last written: what recovery would find.
    known: Box<OpRecord>,
}

impl Drop for Run<'_> {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rows = std::mem::take(&mut self.pending);
            let _ = self
                .p
                .journal
                .record_attempts(&self.account, &self.seq, &rows);
        }
        self.p.stop_driving(&self.seq);
    }
}

impl<'a> Run<'a> {
    /// A run over `rec`, which this flow has marked as driven
    /// ([`Payments::start_driving`]); the mark goes when the run does.
    pub(super) fn new(p: &'a Payments, rec: &OpRecord, opts: &SettleOptions<'a>) -> Run<'a> {
        Run {
            p,
            opts: *opts,
            account: rec.account.clone(),
            kind: rec.kind,
            seq: rec.req_seq.clone(),
            started: Instant::now(),
            expect: expected(&p.journal, rec),
            journal_error: None,
            pending: Vec::new(),
            known: Box::new(rec.clone()),
        }
    }

    pub(super) fn progress(&self, p: Progress) {
        if let Some(f) = self.opts.progress {
            f(&p);
        }
    }

    /// When to ask while the customer pays: the call's schedule, else `configured`.
    pub(super) fn poll(&self, configured: PollSchedule) -> PollSchedule {
        self.opts.poll.unwrap_or(configured)
    }

    pub(super) fn cancelled(&self) -> bool {
        self.opts.cancel.is_some_and(CancelToken::is_cancelled)
    }

    /// The one pause of every flow: waits `step`, cut short by `until`
    /// and, unless told to ignore it, by the cancel switch. A deadline that
    /// falls within the step ends the pause there as [`Pause::Deadline`]:
    /// no request is sent at the deadline.
    pub(super) fn pause(&self, step: Duration, until: Instant, on_cancel: OnCancel) -> Pause {
        let honour = on_cancel == OnCancel::Stop;
        if honour && self.cancelled() {
            return Pause::Cancelled;
        }
        let now = Instant::now();
        if now >= until {
            return Pause::Deadline;
        }
        let left = until - now;
        let reaches_deadline = step >= left;
        let step = step.min(left);
        match self.opts.cancel {
            Some(c) if honour => {
                if c.wait(step) {
                    return Pause::Cancelled;
                }
            }
            _ => std::thread::sleep(step),
        }
        if reaches_deadline {
            Pause::Deadline
        } else {
            Pause::Go
        }
    }

    /// Reads the result of one request about this operation.
    pub(super) fn read<A: Answer>(&self, r: Result<A, Error>) -> Reading {
        read_result(&r, &self.expect)
    }

    /// Records a request sent for this operation and what its answer proved.
    pub(super) fn note(&mut self, what: &str, req_seq: &str, reading: &Reading) {
        self.note_words(what, req_seq, &reading.words());
    }

    /// Kept until the run's next write: a request's row changes nothing
    /// recovery needs (it asks the platform again whatever the rows say).
    pub(super) fn note_words(&mut self, what: &str, req_seq: &str, outcome: &str) {
        self.pending.push(AttemptRow {
            what: what.to_string(),
            req_seq: req_seq.to_string(),
            sent_ms: crate::time::now_ms(),
            outcome: outcome.to_string(),
        });
    }

    /// True while requests sent are noted and not yet written.
    pub(super) fn rows_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes `u`, with the requests noted since the last write, durably.
    pub(super) fn set(&mut self, u: OpUpdate) -> Option<OpRecord> {
        let r = self
            .p
            .journal
            .update_with(&self.account, &self.seq, &u, &self.pending);
        match r {
            Ok(r) => {
                self.pending.clear();
                *self.known = r.clone();
                Some(r)
            }
            Err(e) => {
                self.journal_error.get_or_insert(e);
                None
            }
        }
    }

    /// Records what an answer about this operation taught (its platform
    /// numbers, channel, URL) with `state`, and expects later answers to
    /// name the same numbers.
    /// Written only when it changes what recovery reads (the state, a
    /// number, the channel, the URL): a `W` repeated by each poll is not
    /// written again (docs/DESIGN.md, "The journal").
    pub(super) fn learn(&mut self, state: OpState, f: &Facts) {
        let k = &self.known;
        let new = |v: &Option<String>, was: &Option<String>| v.is_some() && v != was;
        let changes = state != k.state
            || new(&f.trans_seq, &k.trans_seq)
            || new(&f.refund_seq, &k.refund_seq)
            || new(&f.channel, &k.channel)
            || new(&f.pay_url, &k.pay_url);
        if changes {
            self.write_learned(state, f);
        }
        let learned = match self.kind {
            OpKind::Refund => &f.refund_seq,
            _ => &f.trans_seq,
        };
        if let Some(n) = learned {
            self.expect.number.get_or_insert_with(|| n.clone());
        }
    }

    fn write_learned(&mut self, state: OpState, f: &Facts) {
        self.set(OpUpdate {
            state: Some(state),
            trans_seq: f.trans_seq.clone(),
            refund_seq: f.refund_seq.clone(),
            channel: f.channel.clone(),
            pay_url: f.pay_url.clone(),
            detail: Some(f.words()),
            ..OpUpdate::default()
        });
    }

    fn keep<T>(&mut self, r: Result<T, JournalError>) {
        if let Err(e) = r {
            self.journal_error.get_or_insert(e);
        }
    }

    pub(super) fn record(&self) -> Option<OpRecord> {
        self.p.journal.get(&self.account, &self.seq).ok().flatten()
    }

    /// Ends on an answer about another operation: nothing concluded,
    /// nothing revoked, the operation left open for a person (and for
    /// recovery to ask again). None of the foreign answer's numbers are
    /// recorded as this operation's.
    pub(super) fn conflict(self, f: Facts, why: String) -> Settlement {
        let kept = Facts {
            code: f.code,
            msg: f.msg,
            ..Facts::default()
        };
        self.finish(OpState::Conflict, kept, why)
    }

    /// Ends the run: writes the final state, gives up the operation,
    /// reports.
    pub(super) fn finish(mut self, state: OpState, facts: Facts, detail: String) -> Settlement {
        crash_point("answer-before-journal");
        let u = OpUpdate {
            state: Some(state),
            trans_seq: facts.trans_seq.clone(),
            refund_seq: facts.refund_seq.clone(),
            channel: facts.channel.clone(),
            detail: Some(detail.clone()),
            ..OpUpdate::default()
        };
        // The requests noted, the final state and the release: one
        // durable write.
        let rows = std::mem::take(&mut self.pending);
        let r = self
            .p
            .journal
            .finish_op(&self.account, &self.seq, &u, &rows, &self.p.owner);
        let rec = match r {
            Ok(rec) => Some(rec),
            Err(e) => {
                self.journal_error.get_or_insert(e);
                // Give the operation up all the same, so recovery may take it.
                let r = self
                    .p
                    .journal
                    .release(&self.account, &self.seq, &self.p.owner);
                self.keep(r);
                self.record()
            }
        };
        let outcome = if state.is_open() {
            Outcome::Unknown
        } else {
            Outcome::of_state(state)
        };
        self.progress(Progress::Finished { outcome });
        let asked = self.expect.fee.unwrap_or(0);
        let (kind, trans_seq, channel, refund_seq) = match &rec {
            Some(r) => (
                r.kind,
                r.trans_seq.clone().or(facts.trans_seq.clone()),
                r.channel.clone().or(facts.channel.clone()),
                r.refund_seq.clone(),
            ),
            None => (
                self.kind,
                facts.trans_seq.clone(),
                facts.channel.clone(),
                facts.refund_seq.clone(),
            ),
        };
        let total_fee = match state {
            OpState::Conflict => asked,
            _ => facts.fee.unwrap_or(asked),
        };
        Settlement {
            outcome,
            state,
            kind,
            req_seq: self.seq.clone(),
            trans_seq,
            total_fee,
            channel,
            refund_seq,
            pay_time: facts.pay_time,
            receipts: facts.receipts,
            code: facts.code,
            detail,
            journal_error: self.journal_error.take(),
        }
    }

    /// Ends on the platform's word `state` (paid, failed, refunded...).
    pub(super) fn end(self, state: OpState, f: Facts) -> Settlement {
        let detail = f.words();
        self.finish(state, f, detail)
    }
}
