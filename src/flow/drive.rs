//! The one loop of every flow and of recovery: it sends what
//! [`decide`](super::decide) names, pauses as it says, records every
//! request and answer in the journal, and ends the run. It never decides
//! what comes next itself.

use std::time::{Duration, Instant};

use super::crash::crash_point;
use super::decide::{
    decide, Ask, End, Event, Job, Memory, Next, NotSentWhy, OpenWhy, Reach, Subject, Wait,
};
use super::order::OrderCreate;
use super::run::{OnCancel, Pause, Run};
use super::types::{Progress, RevokeReason, Settlement};
use super::Payments;
use crate::error::Refusal;
use crate::journal::{OpKind, OpRecord, OpState, OpUpdate};
use crate::protocol::messages::{
    NativeQueryRequest, PayRequest, QueryPayRequest, QueryRefundRequest, RefundRequest,
    RevokeRequest,
};
use crate::protocol::{Channel, PaymentCode};
use crate::reading::{Facts, Reading};

/// A failure to send that came this fast fits one quick retry in the
/// "not sent" budget (`connect_timeout` + 2 s, docs/DESIGN.md).
const FAST_FAILURE: Duration = Duration::from_secs(1);

/// The operation's own request, kept to resend unchanged (same serial).
pub(super) enum Own {
    /// A barcode payment (API §4.1).
    Pay(PayRequest),
    /// A refund (API §4.3).
    Refund(RefundRequest),
    /// A native/JS/H5 order (API §5.1, §6.1, §7.1).
    Create(OrderCreate),
}

/// How a driven run ended.
pub(super) enum Driven<'a> {
    /// It ended with this settlement.
    Ended(Settlement),
    /// An order was created and waits for the customer: the run goes on
    /// (the same run awaits it) or is dropped, leaving it open.
    Created(Run<'a>, Box<Facts>),
    /// Recovery could not send a request, or got no answer by its
    /// deadline: the platform is unreachable. The operation stays open.
    Unreachable(Settlement),
}

impl Driven<'_> {
    /// The settlement of a run that cannot have created an order.
    pub(super) fn settled(self) -> Settlement {
        match self {
            Driven::Ended(s) | Driven::Unreachable(s) => s,
            Driven::Created(run, f) => {
                let d = format!("waiting for the customer: {}", f.words());
                run.finish(OpState::Waiting, *f, d)
            }
        }
    }
}

/// The memory of a run over the recorded operation `rec`, for `job`.
pub(super) fn memory(job: Job, rec: &OpRecord, payable: bool) -> Memory {
    let subject = match rec.kind {
        OpKind::Refund => Subject::Refund,
        OpKind::Pay => Subject::Payment,
        _ => Subject::Order,
    };
    let mut m = Memory::new(job, subject);
    m.conflict = rec.state == OpState::Conflict;
    m.payable = payable;
    if rec.state == OpState::Revoking {
        m.revoking = Some(RevokeReason::Recovery);
    }
    // What the record proves the platform knows: it answered with its own
    // number, or said `W`, or the payment ended paid.
    m.reach = if rec.trans_seq.is_some() && rec.kind != OpKind::Refund
        || rec.refund_seq.is_some()
        || matches!(rec.state, OpState::Waiting | OpState::Paid)
    {
        Reach::Known
    } else if rec.state == OpState::Pending && job != Job::Recover {
        Reach::Never
    } else {
        Reach::Maybe
    };
    m
}

/// What one drive needs besides the run.
pub(super) struct Drive {
    /// What the run knows.
    pub m: Memory,
    /// Its own request, when the run may send it.
    pub own: Option<Own>,
    /// When the run's main phase ends.
    pub until: Instant,
    /// The payment code, for a revoke (API §4.5: it or the channel).
    pub auth_code: Option<PaymentCode>,
}

/// The state of one drive as it goes.
struct Going {
    until: Instant,
    revoke: Option<RevokeSeq>,
    last: Option<Reading>,
    refusal: Option<Refusal>,
    sends: u32,
    queries: u32,
    revokes: u32,
    polls: u32,
    retries: u32,
}

struct RevokeSeq {
    seq: Option<String>,
    channel: Option<Channel>,
    reason: RevokeReason,
}

impl Payments {
    /// Runs `d` over `run` until [`decide`] ends it.
    pub(super) fn drive<'a>(&'a self, mut run: Run<'a>, d: Drive) -> Driven<'a> {
        let Drive {
            mut m,
            mut own,
            until,
            auth_code,
        } = d;
        let mut g = Going {
            until,
            revoke: None,
            last: None,
            refusal: None,
            sends: 0,
            queries: 0,
            revokes: 0,
            polls: 0,
            retries: 0,
        };
        m.cancelled |= run.cancelled();
        let mut next = decide(&mut m, Event::Start);
        loop {
            let (ask, wait) = match next {
                Next::End(e) => return self.end(run, &m, g, e),
                Next::Send(ask, wait) => (ask, wait),
            };
            if let (Some(reason), None) = (m.revoking, &g.revoke) {
                g.revoke = Some(self.start_revoke(&mut run, reason, auth_code.as_ref()));
                if m.job != Job::Recover {
                    g.until = Instant::now() + self.config.revoke_deadline;
                }
            }
            if wait != Wait::Now {
                let step = match wait {
                    Wait::Poll => {
                        g.polls += 1;
                        let configured = match m.subject {
                            Subject::Order => self.config.order_poll,
                            _ => self.config.poll,
                        };
                        run.poll(configured).interval(g.polls - 1)
                    }
                    _ => {
                        g.retries += 1;
                        self.config.retry.interval(g.retries - 1)
                    }
                };
                let heed = !m.cancelled && m.revoking.is_none() && m.job != Job::Revoke;
                let on_cancel = if heed {
                    OnCancel::Stop
                } else {
                    OnCancel::Ignore
                };
                match run.pause(step, g.until, on_cancel) {
                    Pause::Go => {}
                    Pause::Deadline => {
                        next = decide(&mut m, Event::Deadline);
                        continue;
                    }
                    Pause::Cancelled => {
                        next = decide(&mut m, Event::Cancelled);
                        continue;
                    }
                }
            }
            let sent_at = Instant::now();
            let reading = self.send(&mut run, &m, &mut g, ask, own.as_mut(), auth_code.as_ref());
            if let (Ask::Own, Reading::Refused(r)) = (ask, &reading) {
                g.refusal.get_or_insert_with(|| r.clone());
            }
            let first_w = !m.waited;
            next = decide(
                &mut m,
                Event::Answer {
                    asked: ask,
                    reading: &reading,
                    fast: sent_at.elapsed() < FAST_FAILURE && !timed_out(&reading),
                },
            );
            // A `W` that leaves the operation in conflict may be the other
            // order's: none of its numbers is recorded.
            let conflict_end = matches!(next, Next::End(End::StillConflict | End::Conflict));
            if let (Reading::Waiting(f), false) = (&reading, conflict_end) {
                self.learn_waiting(&mut run, &m, &g, f, first_w);
            }
            g.last = Some(reading);
        }
    }

    /// Sends one request of the run and reads its answer; records both.
    fn send(
        &self,
        run: &mut Run<'_>,
        m: &Memory,
        g: &mut Going,
        ask: Ask,
        own: Option<&mut Own>,
        auth_code: Option<&PaymentCode>,
    ) -> Reading {
        let (before, after) = crash_points(m.job, m.subject, ask);
        crash_point(if ask == Ask::Own && g.sends == 0 {
            first_send_point(m.subject)
        } else {
            before
        });
        let reading = match ask {
            Ask::Own => {
                g.sends += 1;
                if g.sends == 1 {
                    run.progress(Progress::Sending {
                        kind: run.kind,
                        req_seq: run.seq.clone(),
                    });
                } else {
                    run.progress(Progress::Resending {
                        attempt: g.sends - 1,
                    });
                }
                let seq = run.seq.clone();
                let (what, r) = match own {
                    Some(Own::Pay(req)) => ("pay", run.read(self.client.pay(req))),
                    Some(Own::Refund(req)) => ("refund", run.read(self.client.refund(req))),
                    Some(Own::Create(c)) => (run.kind.as_str(), c.send(&self.client, &run.expect)),
                    None => (
                        "resend",
                        Reading::NotSent("the request is not kept for this run".into()),
                    ),
                };
                run.note(what, &seq, &r);
                r
            }
            Ask::Query => {
                g.queries += 1;
                if m.waited && matches!(m.job, Job::Pay | Job::Await) {
                    run.progress(Progress::WaitingForCustomer {
                        elapsed: run.started.elapsed(),
                        remaining: g.until.saturating_duration_since(Instant::now()),
                    });
                } else {
                    run.progress(Progress::Querying { attempt: g.queries });
                }
                let r = self.query(run, m.subject);
                if run.rows_pending() {
                    // Between the merged writes: the query's serial came
                    // from a reserved block, its row is not written yet.
                    crash_point(rows_pending_point(m.subject));
                }
                r
            }
            Ask::Revoke => {
                g.revokes += 1;
                let r = g
                    .revoke
                    .as_mut()
                    .expect("a revoke is started before it is sent");
                run.progress(Progress::Revoking {
                    reason: r.reason,
                    attempt: g.revokes,
                });
                if r.seq.is_none() {
                    r.seq = self.revoke_serial(run);
                }
                match r.seq.clone() {
                    Some(seq) => {
                        let mut rv = RevokeRequest {
                            req_seq: seq.clone(),
                            ori_seq: run.seq.clone(),
                            channel: r.channel.clone(),
                            auth_code: auth_code.cloned(),
                        };
                        let reading = run.read(self.client.revoke(&mut rv));
                        run.note("revoke", &seq, &reading);
                        reading
                    }
                    None => Reading::NotSent("no serial for the revoke".into()),
                }
            }
        };
        crash_point(after);
        reading
    }

    /// Asks the platform about the run's operation (API §4.2, §4.4, §5.2)
    /// under a new serial, and notes it.
    fn query(&self, run: &mut Run<'_>, subject: Subject) -> Reading {
        let seq = match self.serial() {
            Ok(s) => s,
            Err(why) => return Reading::NotSent(why),
        };
        let (what, reading) = match subject {
            Subject::Payment => {
                let mut q = QueryPayRequest {
                    req_seq: seq.clone(),
                    auth_code: None,
                    ori_seq: run.seq.clone(),
                };
                ("query", run.read(self.client.query_pay(&mut q)))
            }
            Subject::Order => {
                let mut q = NativeQueryRequest {
                    req_seq: seq.clone(),
                    channel: None,
                    ori_seq: run.seq.clone(),
                };
                ("query", run.read(self.client.native_query(&mut q)))
            }
            Subject::Refund => {
                let trans_seq = run.record().and_then(|r| r.trans_seq).unwrap_or_default();
                let mut q = QueryRefundRequest {
                    req_seq: seq.clone(),
                    trans_seq,
                    ori_seq: run.seq.clone(),
                };
                ("query_refund", run.read(self.client.query_refund(&mut q)))
            }
        };
        run.note(what, &seq, &reading);
        reading
    }

    /// A new serial for a request of a run, from this flow's journal
    /// ledger; a ledger that cannot issue one means the request is not
    /// sent (never a serial from memory: docs/DESIGN.md, "Serials").
    fn serial(&self) -> Result<String, String> {
        self.issue_req_seq().map_err(|e| e.to_string())
    }

    /// The revoke's serial: the one recorded (kept across retries and
    /// restarts), else a new one, recorded before it is sent.
    fn revoke_serial(&self, run: &mut Run<'_>) -> Option<String> {
        if let Some(s) = run.record().and_then(|r| r.revoke_seq) {
            return Some(s);
        }
        let seq = self.serial().ok()?;
        run.set(OpUpdate {
            revoke_seq: Some(seq.clone()),
            ..OpUpdate::default()
        })?;
        Some(seq)
    }

    /// Records that a revoke is under way, with its serial, before the
    /// first revoke leaves.
    fn start_revoke(
        &self,
        run: &mut Run<'_>,
        reason: RevokeReason,
        auth_code: Option<&PaymentCode>,
    ) -> RevokeSeq {
        let rec = run.record();
        let channel = rec
            .as_ref()
            .and_then(|r| r.channel.as_deref())
            .map(Channel::from_code)
            .filter(|c| c.check("channel", "WAQY").is_ok());
        // API §4.5: channel and auth_code, one of the two is required.
        let channel = match (&channel, auth_code) {
            (None, None) => Some(Channel::WeChat),
            _ => channel,
        };
        let recorded = rec.as_ref().and_then(|r| r.revoke_seq.clone());
        if let (Some(seq), Some(OpState::Revoking)) = (&recorded, rec.as_ref().map(|r| r.state)) {
            // Claimed to revoke with its serial in one write (an explicit
            // revoke), or left revoking by a run before: nothing to write.
            return RevokeSeq {
                seq: Some(seq.clone()),
                channel,
                reason,
            };
        }
        let seq = match &recorded {
            Some(s) => Some(s.clone()),
            None => self.serial().ok(),
        };
        let set = run.set(OpUpdate {
            state: Some(OpState::Revoking),
            revoke_seq: seq.clone(),
            detail: Some(format!("revoking: {reason:?}")),
            ..OpUpdate::default()
        });
        // A revoke goes out only under a serial the journal recorded for it
        // (checked there, docs/DESIGN.md "Serials"); otherwise the first
        // revoke takes one through `revoke_serial`, or is not sent.
        let seq = if set.is_some() { seq } else { recorded };
        RevokeSeq {
            seq,
            channel,
            reason,
        }
    }

    /// Records what a `W` taught (the platform's numbers, the URL) and
    /// tells the POS screen.
    fn learn_waiting(&self, run: &mut Run<'_>, m: &Memory, g: &Going, f: &Facts, first: bool) {
        let state = if m.revoking.is_some() {
            OpState::Revoking
        } else {
            OpState::Waiting
        };
        run.learn(state, f);
        if !first || m.revoking.is_some() {
            return;
        }
        match m.subject {
            Subject::Order => {
                if let Some(u) = &f.pay_url {
                    run.progress(Progress::ShowCode { pay_url: u.clone() });
                }
            }
            Subject::Payment => run.progress(Progress::WaitingForCustomer {
                elapsed: run.started.elapsed(),
                remaining: g.until.saturating_duration_since(Instant::now()),
            }),
            Subject::Refund => {}
        }
    }

    /// Ends the run as [`decide`] said.
    fn end<'a>(&self, run: Run<'a>, m: &Memory, g: Going, e: End) -> Driven<'a> {
        let last = g.last;
        let facts = || match &last {
            Some(
                Reading::Paid(f) | Reading::Failed(f) | Reading::Waiting(f) | Reading::Revoked(f),
            ) => (**f).clone(),
            _ => Facts::default(),
        };
        let what = noun(m.subject);
        let s = match e {
            End::Proven(OpState::Revoked) => {
                let f = facts();
                let reason = g.revoke.map_or(RevokeReason::Requested, |r| r.reason);
                let d = format!("revoked ({reason:?}): {}", f.words());
                run.finish(OpState::Revoked, f, d)
            }
            End::Proven(state) => run.end(state, facts()),
            End::RefusedHarmless => {
                let (code, msg) = g.refusal.map_or_else(Default::default, |r| (r.code, r.msg));
                let d = format!("refused: {code} {msg}");
                let f = Facts {
                    code: Some(code),
                    msg,
                    ..Facts::default()
                };
                run.finish(OpState::Failed, f, d)
            }
            End::NothingToRevoke => {
                let state = match m.subject {
                    Subject::Order => OpState::Closed,
                    _ => OpState::Failed,
                };
                let d = format!(
                    "the platform has no such {what} and refused to revoke it: nothing was taken"
                );
                run.finish(state, Facts::default(), d)
            }
            End::NotSent(why) => {
                let d = match why {
                    NotSentWhy::Unreachable => format!(
                        "the platform could not be reached ({})",
                        last.as_ref().map_or_else(String::new, Reading::words)
                    ),
                    NotSentWhy::Cancelled => {
                        "cancelled before it could reach the platform: nothing charged".into()
                    }
                    NotSentWhy::NeverReceived => {
                        format!("the platform never received this {what}: nothing moved")
                    }
                };
                run.finish(OpState::NotSent, Facts::default(), d)
            }
            End::Conflict => match last {
                Some(Reading::Foreign(f, why)) => run.conflict(*f, why),
                _ => Self::still_in_conflict(run, "another operation"),
            },
            End::StillConflict => {
                let why = match &last {
                    Some(r @ (Reading::Paid(_) | Reading::Failed(_) | Reading::Waiting(_))) => {
                        format!(
                            "an answer without an amount cannot show whose order it is: {}",
                            r.words()
                        )
                    }
                    Some(Reading::Refused(r)) => format!("N {} {}", r.code, r.msg),
                    _ => "platform unreachable".into(),
                };
                Self::still_in_conflict(run, &why)
            }
            End::Waiting if m.job == Job::Create => {
                return Driven::Created(run, Box::new(facts()));
            }
            End::Waiting => {
                let f = facts();
                let d = format!("still waiting for the customer: {}", f.words());
                run.finish(OpState::Waiting, f, d)
            }
            End::Open(state, why) => {
                let state = state
                    .or_else(|| run.record().map(|r| r.state))
                    .unwrap_or(OpState::Unknown);
                let d = match why {
                    OpenWhy::NoAnswer if state == OpState::Revoking => format!(
                        "revoke not confirmed after {} attempts; platform unreachable",
                        g.revokes
                    ),
                    OpenWhy::NoAnswer if m.cancelled => {
                        format!("cancelled before the {what} was confirmed; recovery asks again")
                    }
                    OpenWhy::NoAnswer => {
                        format!("{what} not confirmed: platform unreachable")
                    }
                    OpenWhy::Unreachable => format!(
                        "platform unreachable ({}): still open",
                        last.as_ref().map_or_else(String::new, Reading::words)
                    ),
                    OpenWhy::Cancelled => "recovery cancelled; still open".into(),
                    OpenWhy::Credentials => format!(
                        "{}; 未确认是否扣款，修正后先查询 / not known whether the {what} went through: query it once fixed (`ystpay doctor`)",
                        match &last {
                            Some(Reading::DeviceRefused { code, msg }) => crate::error::Rejection::DeviceRefused {
                                code: code.clone(),
                                msg: msg.clone(),
                            }
                            .to_string(),
                            _ => crate::error::CHECK_CREDENTIALS.to_string(),
                        }
                    ),
                };
                let s = run.finish(state, Facts::default(), d);
                // Recovery does not wait on a platform that cannot be
                // reached or does not answer: it stops here.
                if why == OpenWhy::Unreachable
                    || m.job == Job::Recover
                        && matches!(why, OpenWhy::NoAnswer | OpenWhy::Credentials)
                {
                    return Driven::Unreachable(s);
                }
                s
            }
        };
        Driven::Ended(s)
    }
}

/// A failure that waited out a timeout is slow, however soon it came: a
/// `connect_timeout` of a second or less would otherwise pass for a fast
/// failure (once an fsync on the way stretched it past the second).
fn timed_out(r: &Reading) -> bool {
    matches!(r, Reading::NotSent(why) if why.contains("timeout"))
}

fn noun(s: Subject) -> &'static str {
    match s {
        Subject::Payment => "payment",
        Subject::Order => "order",
        Subject::Refund => "refund",
    }
}

/// Where the crash suite stops a run (tests/crash_suite.rs): before a
/// request and after its answer.
fn crash_points(job: Job, subject: Subject, ask: Ask) -> (&'static str, &'static str) {
    match (ask, subject) {
        (Ask::Revoke, _) => ("pay-revoking", "revoke-after-answer"),
        (_, Subject::Refund) => ("refund-step", "refund-after-answer"),
        (Ask::Query, Subject::Order) if job == Job::Await => {
            ("order-polling", "order-after-answer")
        }
        (_, Subject::Order) => ("order-before-send", "order-after-answer"),
        (_, Subject::Payment) => ("pay-polling", "pay-after-answer"),
    }
}

/// Where the crash suite stops a run whose requests' rows wait for its
/// next write (docs/DESIGN.md, "The journal").
fn rows_pending_point(subject: Subject) -> &'static str {
    match subject {
        Subject::Payment => "pay-rows-unwritten",
        Subject::Order => "order-rows-unwritten",
        Subject::Refund => "refund-rows-unwritten",
    }
}

fn first_send_point(subject: Subject) -> &'static str {
    match subject {
        Subject::Payment => "pay-before-send",
        Subject::Order => "order-before-send",
        Subject::Refund => "refund-step",
    }
}
