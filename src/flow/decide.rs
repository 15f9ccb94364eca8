//! What to do next: the one decision table of every flow and of recovery
//! (docs/DESIGN.md, "What to do next").
//!
//! [`decide`] is pure: it reads what the run knows ([`Memory`]) and what
//! just happened ([`Event`]: the start, an answer, a deadline, a cancel),
//! updates the memory, and names the next step ([`Next`]): a request and
//! how long to wait before it, or the end. The driver (`drive.rs`) sends,
//! pauses and records; it never decides.
//!
//! The rules, in the order they apply:
//!
//! 1. An answer about another operation ([`Reading::Foreign`]) ends in
//!    conflict, whatever was asked. An operation already in conflict is
//!    settled only by an answer that carries its amount.
//! 2. `S` and `F` about this operation end it as they say; a revoke's `Y`
//!    ends it revoked (failed, when its own request was refused and the
//!    platform then had no such order).
//! 3. Not sent means not sent: while none of the operation's own attempts
//!    could have arrived, a failure to send is retried once (only when it
//!    failed fast), then the operation ends [`End::NotSent`]; a cancel or
//!    deadline then also ends it not sent. Recovery never waits on a dead
//!    network: a request it cannot send ends its run at once.
//! 4. A refusal without status is confirmed by a query, owed even past the
//!    deadline; "no such operation" then proves it harmless (a payment or
//!    order closes its serial by a revoke first).
//! 5. "No such operation" after an unclear send: never arrived, so the
//!    call resends it with the same serial, but never after a cancel and
//!    never in recovery (a refund then ends not sent; a payment or order is
//!    revoked, which closes its serial).
//! 6. The deadline or a cancel while a payment or order may have arrived:
//!    revoke. A refund cannot be revoked: after a cancel it is settled by
//!    query only, and at the deadline it stays open for recovery.
//! 7. A revoke goes on whatever the cashier does, until its own deadline;
//!    refused, it is followed by a query (the payment may have gone
//!    through); refused *and* unknown to the platform (which never
//!    answered about it), there is nothing to close: the operation failed.

use super::types::RevokeReason;
use crate::journal::OpState;
use crate::reading::Reading;

/// What a run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Job {
    /// A barcode payment (API §4.1), settled to the end.
    Pay,
    /// A refund (API §4.3), settled to the end.
    Refund,
    /// A native/JS/H5 order created (API §5.1, §6.1, §7.1): ends once it
    /// waits for the customer.
    Create,
    /// An order awaited (API §5.2) until paid or its deadline, then closed.
    Await,
    /// A payment or order revoked on request (API §4.5).
    Revoke,
    /// An operation the journal left open, settled by query (recovery).
    Recover,
}

/// What the operation is: which requests exist for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    /// A barcode payment: queried by §4.2, revoked by §4.5.
    Payment,
    /// A native/JS/H5 order: queried by §5.2, closed by §4.5.
    Order,
    /// A refund: queried by §4.4, never revoked.
    Refund,
}

/// A request of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ask {
    /// The operation's own request (pay, refund, create), sent again with
    /// the same serial.
    Own,
    /// A query about it (a new serial each time).
    Query,
    /// Its revoke (one serial, kept across retries and restarts).
    Revoke,
}

/// How long to wait before the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Send at once: a step the last answer made necessary.
    Now,
    /// The retry schedule: the last request got no usable answer.
    Retry,
    /// The poll schedule: the customer may be paying.
    Poll,
    /// The retry schedule, but owed: taken once even if the deadline
    /// passes meanwhile, so that an answer that came never leaves the
    /// operation unsettled for lack of time.
    Owed,
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The last answer proves this state (its facts are the operation's).
    Proven(OpState),
    /// The operation's own request was refused and the platform has no
    /// such operation: failed, in the refusal's words.
    RefusedHarmless,
    /// A revoke the platform refused for an operation it does not know
    /// and never answered about: nothing to close, nothing was taken.
    NothingToRevoke,
    /// Nothing reached the platform ([`OpState::NotSent`]).
    NotSent(NotSentWhy),
    /// The last answer is about another operation.
    Conflict,
    /// An operation in conflict stays so: the answer cannot show whose it is.
    StillConflict,
    /// An order created and waiting for the customer (a create), or still
    /// payable (recovery).
    Waiting,
    /// Left open for recovery, in `state` (`None`: as recorded).
    Open(Option<OpState>, OpenWhy),
}

/// Why nothing reached the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotSentWhy {
    /// Every attempt failed before a byte could leave.
    Unreachable,
    /// The cashier cancelled before anything could have arrived.
    Cancelled,
    /// The platform has no such refund (after a cancel, or in recovery).
    NeverReceived,
}

/// Why a run left its operation open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenWhy {
    /// No answer until the deadline.
    NoAnswer,
    /// Recovery could not send a request: the platform is unreachable,
    /// and recovery does not wait for it.
    Unreachable,
    /// Recovery was cancelled.
    Cancelled,
    /// The platform refused the register itself (its credentials): every
    /// further request would be refused alike.
    Credentials,
}

/// The next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Send `Ask` after `Wait`.
    Send(Ask, Wait),
    /// End the run.
    End(End),
}

/// Whether the operation's own request may have reached the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reach {
    /// No attempt could have arrived (or none was made).
    Never,
    /// One may have arrived: it left, and no answer tells.
    Maybe,
    /// The platform answered about it.
    Known,
}

/// What happened last.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event<'r> {
    /// The run starts.
    Start,
    /// `asked` was sent and read as `reading`; `fast`: it failed within
    /// a second (a quick retry of a failure to send fits the budget).
    Answer {
        /// What was sent.
        asked: Ask,
        /// What its answer proved.
        reading: &'r Reading,
        /// Whether the request ended within a second.
        fast: bool,
    },
    /// The deadline came during (or before) a pause.
    Deadline,
    /// The cashier cancelled during (or before) a pause.
    Cancelled,
}

/// What a run knows, updated by [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Memory {
    /// What the run is for.
    pub job: Job,
    /// What the operation is.
    pub subject: Subject,
    /// Recorded in conflict: only an answer with the amount settles it.
    pub conflict: bool,
    /// An order the customer may still pay (not expired).
    pub payable: bool,
    /// Whether its own request may have arrived.
    pub reach: Reach,
    /// Its own request was refused without status; a query confirms.
    pub refused: bool,
    /// The platform said `W` about it.
    pub waited: bool,
    /// A revoke is under way, and why.
    pub revoking: Option<RevokeReason>,
    /// The cashier cancelled.
    pub cancelled: bool,
    /// The deadline has passed.
    pub time_up: bool,
    /// Sends of its own request that did not leave, in a row.
    pub not_sent: u32,
    /// The owed step waiting for its pause, if any.
    pub owed: Option<Ask>,
    /// The one owed step past the deadline was taken.
    pub grace_used: bool,
}

impl Memory {
    /// A new run's memory. `revoking`: the journal holds it in `revoking`.
    pub fn new(job: Job, subject: Subject) -> Memory {
        Memory {
            job,
            subject,
            conflict: false,
            payable: false,
            reach: Reach::Never,
            refused: false,
            waited: false,
            revoking: None,
            cancelled: false,
            time_up: false,
            not_sent: 0,
            owed: None,
            grace_used: false,
        }
    }

    fn failed_state(&self) -> OpState {
        match self.subject {
            Subject::Order => OpState::Closed,
            _ => OpState::Failed,
        }
    }

    fn paid_state(&self) -> OpState {
        match self.subject {
            Subject::Refund => OpState::Refunded,
            _ => OpState::Paid,
        }
    }

    fn reached(&mut self, r: Reach) {
        self.reach = self.reach.max(r);
    }

    /// The platform said `W`: it has the operation.
    fn saw_waiting(&mut self) {
        self.reached(Reach::Known);
        self.waited = true;
    }

    /// The end an `S` or `F` about the operation proves.
    fn proven(&self, reading: &Reading) -> Next {
        match reading {
            Reading::Paid(_) => Next::End(End::Proven(self.paid_state())),
            _ => Next::End(End::Proven(self.failed_state())),
        }
    }

    /// Starts the revoke: it has its own deadline, and no cancel stops it.
    fn revoke(&mut self, why: RevokeReason) -> Next {
        self.revoking = Some(why);
        self.time_up = false;
        self.owed = None;
        Next::Send(Ask::Revoke, Wait::Now)
    }

    /// A step the last answer made necessary.
    fn owe(&mut self, ask: Ask) -> Next {
        self.owed = Some(ask);
        Next::Send(ask, Wait::Owed)
    }
}

/// The next step after `event`, given what the run knows.
pub(crate) fn decide(m: &mut Memory, event: Event<'_>) -> Next {
    match event {
        Event::Start => start(m),
        Event::Deadline => {
            m.time_up = true;
            if let Some(ask) = m.owed.take() {
                if !m.grace_used {
                    m.grace_used = true;
                    return Next::Send(ask, Wait::Now);
                }
            }
            time_up(m)
        }
        Event::Cancelled => {
            m.cancelled = true;
            m.owed = None;
            cancelled(m)
        }
        Event::Answer {
            asked,
            reading,
            fast,
        } => {
            m.owed = None;
            answer(m, asked, reading, fast)
        }
    }
}

fn start(m: &mut Memory) -> Next {
    match m.job {
        // A cancel pulled before the call sends nothing.
        Job::Pay | Job::Refund | Job::Create if m.cancelled => {
            Next::End(End::NotSent(NotSentWhy::Cancelled))
        }
        Job::Pay | Job::Refund | Job::Create => Next::Send(Ask::Own, Wait::Now),
        Job::Await if m.cancelled => m.revoke(RevokeReason::Cancelled),
        Job::Await => Next::Send(Ask::Query, Wait::Poll),
        Job::Revoke => m.revoke(RevokeReason::Requested),
        Job::Recover if m.cancelled => Next::End(End::Open(None, OpenWhy::Cancelled)),
        Job::Recover if m.revoking.is_some() && m.subject != Subject::Refund => {
            m.revoke(RevokeReason::Recovery)
        }
        Job::Recover => Next::Send(Ask::Query, Wait::Now),
    }
}

fn time_up(m: &mut Memory) -> Next {
    if m.revoking.is_some() {
        return Next::End(End::Open(Some(OpState::Revoking), OpenWhy::NoAnswer));
    }
    if m.conflict {
        return Next::End(End::StillConflict);
    }
    match m.job {
        Job::Pay | Job::Refund | Job::Create if m.reach == Reach::Never => {
            Next::End(End::NotSent(NotSentWhy::Unreachable))
        }
        Job::Pay | Job::Create | Job::Await => m.revoke(RevokeReason::Deadline),
        Job::Refund => Next::End(End::Open(Some(OpState::Unknown), OpenWhy::NoAnswer)),
        // Still unclear at the end of recovery: a payment's serial is
        // closed by a revoke (the cashier no longer waits for it); an order
        // or a refund stays open for the next round.
        Job::Recover if m.subject == Subject::Payment => m.revoke(RevokeReason::Recovery),
        Job::Recover | Job::Revoke => Next::End(End::Open(None, OpenWhy::NoAnswer)),
    }
}

fn cancelled(m: &mut Memory) -> Next {
    if m.revoking.is_some() {
        // A revoke under way is finished whatever the cashier does.
        return Next::Send(Ask::Revoke, Wait::Retry);
    }
    match m.job {
        Job::Pay | Job::Refund | Job::Create if m.reach == Reach::Never => {
            Next::End(End::NotSent(NotSentWhy::Cancelled))
        }
        Job::Pay | Job::Create | Job::Await => m.revoke(RevokeReason::Cancelled),
        // A refund that may have arrived cannot be taken back: settled by
        // query only, never resent.
        Job::Refund => Next::Send(Ask::Query, Wait::Retry),
        Job::Recover => Next::End(End::Open(None, OpenWhy::Cancelled)),
        Job::Revoke => Next::Send(Ask::Revoke, Wait::Retry),
    }
}

/// True for `S`, `F` or `W` without an amount: for an operation in
/// conflict it may be the other order's (docs/DESIGN.md, "What an answer
/// proves").
fn unproven(reading: &Reading) -> bool {
    matches!(
        reading,
        Reading::Paid(f) | Reading::Failed(f) | Reading::Waiting(f) if f.fee.is_none()
    )
}

fn answer(m: &mut Memory, asked: Ask, reading: &Reading, fast: bool) -> Next {
    if let Reading::Foreign(..) = reading {
        return Next::End(End::Conflict);
    }
    if m.conflict && unproven(reading) {
        return Next::End(End::StillConflict);
    }
    if let Reading::DeviceRefused { .. } = reading {
        return register_refused(m);
    }
    match asked {
        Ask::Own => own_answer(m, reading, fast),
        Ask::Query => query_answer(m, reading),
        Ask::Revoke => revoke_answer(m, reading),
    }
}

/// The platform refused the register itself, in an answer that names no
/// request (docs/DESIGN.md, "Credentials refused"). It proves nothing about
/// the operation, so it never ends one as not sent or failed; and every
/// further query or revoke would be refused alike, so the run ends at once,
/// left open for recovery to settle once the credentials are fixed.
fn register_refused(m: &mut Memory) -> Next {
    if m.conflict {
        return Next::End(End::StillConflict);
    }
    if m.revoking.is_some() {
        return Next::End(End::Open(Some(OpState::Revoking), OpenWhy::Credentials));
    }
    match m.job {
        Job::Pay | Job::Refund | Job::Create => {
            Next::End(End::Open(Some(OpState::Unknown), OpenWhy::Credentials))
        }
        Job::Await | Job::Revoke | Job::Recover => Next::End(End::Open(None, OpenWhy::Credentials)),
    }
}

fn own_answer(m: &mut Memory, reading: &Reading, fast: bool) -> Next {
    match reading {
        Reading::Paid(_) | Reading::Failed(_) => m.proven(reading),
        Reading::Waiting(_) => {
            m.saw_waiting();
            match m.job {
                Job::Create => Next::End(End::Waiting),
                Job::Refund => Next::Send(Ask::Query, Wait::Retry),
                _ => Next::Send(Ask::Query, Wait::Poll),
            }
        }
        Reading::Refused(_) => {
            m.reached(Reach::Known);
            m.refused = true;
            m.owe(Ask::Query)
        }
        Reading::NotSent(_) if m.reach == Reach::Never => {
            m.not_sent += 1;
            if m.not_sent >= 2 || !fast {
                Next::End(End::NotSent(NotSentWhy::Unreachable))
            } else {
                Next::Send(Ask::Own, Wait::Retry)
            }
        }
        // An earlier attempt may have arrived: find out by query.
        Reading::NotSent(_) => Next::Send(Ask::Query, Wait::Retry),
        Reading::Unclear(_)
        | Reading::Revoked(_)
        | Reading::Foreign(..)
        | Reading::DeviceRefused { .. } => {
            m.reached(Reach::Maybe);
            m.not_sent = 0;
            match m.job {
                // An order's create is safe to resend as it is (same serial).
                Job::Create => Next::Send(Ask::Own, Wait::Retry),
                Job::Refund => Next::Send(Ask::Query, Wait::Retry),
                _ => Next::Send(Ask::Query, Wait::Poll),
            }
        }
    }
}

fn query_answer(m: &mut Memory, reading: &Reading) -> Next {
    if m.revoking.is_some() {
        return match reading {
            Reading::Paid(_) | Reading::Failed(_) => m.proven(reading),
            Reading::Refused(_) if m.refused => Next::End(End::RefusedHarmless),
            // The platform answered about it before: a refusal now proves
            // nothing, keep revoking.
            Reading::Refused(_) if m.reach == Reach::Known => Next::Send(Ask::Revoke, Wait::Retry),
            Reading::Refused(_) => Next::End(End::NothingToRevoke),
            Reading::NotSent(_) if m.job == Job::Recover => {
                Next::End(End::Open(Some(OpState::Revoking), OpenWhy::Unreachable))
            }
            _ => Next::Send(Ask::Revoke, Wait::Retry),
        };
    }
    match reading {
        Reading::Paid(_) | Reading::Failed(_) => m.proven(reading),
        Reading::Waiting(_) => {
            m.saw_waiting();
            match (m.job, m.subject) {
                (Job::Create, _) => Next::End(End::Waiting),
                (_, Subject::Refund) => Next::Send(Ask::Query, Wait::Retry),
                (Job::Recover, Subject::Order) if m.payable => Next::End(End::Waiting),
                // Still paying, and the cashier no longer waits for it.
                (Job::Recover, _) => m.revoke(RevokeReason::Recovery),
                _ => Next::Send(Ask::Query, Wait::Poll),
            }
        }
        Reading::Refused(_) => no_such(m),
        Reading::NotSent(_) if m.job == Job::Recover => {
            Next::End(End::Open(None, OpenWhy::Unreachable))
        }
        Reading::NotSent(_)
        | Reading::Unclear(_)
        | Reading::Revoked(_)
        | Reading::Foreign(..)
        | Reading::DeviceRefused { .. } => match (m.job, m.subject) {
            (Job::Pay | Job::Await, _) => Next::Send(Ask::Query, Wait::Poll),
            _ => Next::Send(Ask::Query, Wait::Retry),
        },
    }
}

/// A query refused without status: the platform has no such operation.
fn no_such(m: &mut Memory) -> Next {
    if m.conflict {
        return Next::End(End::StillConflict);
    }
    match (m.job, m.subject) {
        // Proven harmless: a refund failed; a payment's or order's serial
        // is closed first, so nothing can be taken under it later.
        (_, Subject::Refund) if m.refused => Next::End(End::RefusedHarmless),
        (Job::Pay | Job::Create, _) if m.refused => m.revoke(RevokeReason::Refused),
        // It exists (the platform said W): a refusal now proves nothing.
        (Job::Pay | Job::Await | Job::Refund, _) if m.waited => Next::Send(Ask::Query, Wait::Poll),
        (Job::Await, _) => Next::Send(Ask::Query, Wait::Poll),
        // Never arrived. The cashier still waits and has not cancelled:
        // send it again, same serial.
        (Job::Pay | Job::Create | Job::Refund, _) if !m.cancelled => m.owe(Ask::Own),
        (Job::Refund, _) | (_, Subject::Refund) => {
            Next::End(End::NotSent(NotSentWhy::NeverReceived))
        }
        // Recovery (or a cancelled run): close the serial.
        _ => m.revoke(RevokeReason::Recovery),
    }
}

fn revoke_answer(m: &mut Memory, reading: &Reading) -> Next {
    match reading {
        // Revoked to close the serial of a refusal proven harmless.
        Reading::Revoked(_) if m.revoking == Some(RevokeReason::Refused) => {
            Next::End(End::RefusedHarmless)
        }
        Reading::Revoked(_) => Next::End(End::Proven(OpState::Revoked)),
        // Refused: maybe the payment went through. Ask at once.
        Reading::Refused(_) | Reading::Failed(_) => Next::Send(Ask::Query, Wait::Now),
        Reading::NotSent(_) if m.job == Job::Recover => {
            Next::End(End::Open(Some(OpState::Revoking), OpenWhy::Unreachable))
        }
        _ => Next::Send(Ask::Revoke, Wait::Retry),
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
