//! The decision table, row by row (each row one rule of docs/DESIGN.md,
//! "What to do next"), and properties over random runs.

use super::*;
use crate::error::Refusal;
use crate::reading::Facts;
use proptest::prelude::*;

/// An answer, as the table writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum R {
    /// `S` with the amount.
    S,
    /// `F` with the amount.
    F,
    /// `W` with the amount.
    W,
    /// `W` without an amount.
    WNoFee,
    /// A revoke's `Y`.
    Y,
    /// `result=N` without status.
    N,
    /// About another operation.
    Foreign,
    /// Sent, no usable answer.
    Unclear,
    /// Nothing left.
    NotSent,
    /// The platform refused the register itself (no req_seq).
    Device,
}

fn reading(r: R) -> Reading {
    let f = |fee: Option<i64>| {
        Box::new(Facts {
            fee,
            ..Facts::default()
        })
    };
    match r {
        R::S => Reading::Paid(f(Some(100))),
        R::F => Reading::Failed(f(Some(100))),
        R::W => Reading::Waiting(f(Some(100))),
        R::WNoFee => Reading::Waiting(f(None)),
        R::Y => Reading::Revoked(f(None)),
        R::N => Reading::Refused(Refusal {
            code: "E1".into(),
            msg: "no".into(),
            status: None,
            trans_seq: None,
            fee: None,
        }),
        R::Foreign => Reading::Foreign(f(Some(7)), "another amount".into()),
        R::Unclear => Reading::Unclear("timeout".into()),
        R::NotSent => Reading::NotSent("no route".into()),
        R::Device => Reading::DeviceRefused {
            code: "E10002".into(),
            msg: "设备未注册".into(),
        },
    }
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    Start,
    Deadline,
    Cancel,
    /// An answer to `Ask`, failing fast or not.
    A(Ask, R, bool),
}

fn feed(m: &mut Memory, ev: Ev) -> Next {
    match ev {
        Ev::Start => decide(m, Event::Start),
        Ev::Deadline => decide(m, Event::Deadline),
        Ev::Cancel => decide(m, Event::Cancelled),
        Ev::A(asked, r, fast) => {
            let reading = reading(r);
            decide(
                m,
                Event::Answer {
                    asked,
                    reading: &reading,
                    fast,
                },
            )
        }
    }
}

use Ask::{Own, Query, Revoke as Rv};
use Job::*;
use Subject::{Order as Ord, Payment as Pmt, Refund as Rfd};

fn send(a: Ask, w: Wait) -> Next {
    Next::Send(a, w)
}
fn end(e: End) -> Next {
    Next::End(e)
}

/// One row: the rule, the run, what it went through, the event, the step.
struct Row {
    rule: &'static str,
    job: Job,
    subject: Subject,
    before: &'static [Ev],
    set: fn(&mut Memory),
    ev: Ev,
    want: Next,
}

fn plain(_: &mut Memory) {}
fn in_conflict(m: &mut Memory) {
    m.conflict = true;
}
fn payable(m: &mut Memory) {
    m.payable = true;
}
fn revoking(m: &mut Memory) {
    m.revoking = Some(RevokeReason::Recovery);
}
fn cancelled_before(m: &mut Memory) {
    m.cancelled = true;
}

const fn row(
    rule: &'static str,
    job: Job,
    subject: Subject,
    before: &'static [Ev],
    ev: Ev,
    want: Next,
) -> Row {
    Row {
        rule,
        job,
        subject,
        before,
        set: plain,
        ev,
        want,
    }
}

fn table() -> Vec<Row> {
    use End::*;
    use Wait::*;
    let nf = NotSentWhy::Unreachable;
    vec![
        // Starting.
        row(
            "a payment starts by sending it",
            Pay,
            Pmt,
            &[],
            Ev::Start,
            send(Own, Now),
        ),
        Row {
            set: cancelled_before,
            ..row(
                "a cancel pulled before the call sends nothing",
                Pay,
                Pmt,
                &[],
                Ev::Start,
                end(NotSent(NotSentWhy::Cancelled)),
            )
        },
        Row {
            set: cancelled_before,
            ..row(
                "a refund cancelled before the call sends nothing",
                Refund,
                Rfd,
                &[],
                Ev::Start,
                end(NotSent(NotSentWhy::Cancelled)),
            )
        },
        row(
            "awaiting an order first waits, then asks",
            Await,
            Ord,
            &[],
            Ev::Start,
            send(Query, Poll),
        ),
        row(
            "an explicit revoke sends the revoke",
            Job::Revoke,
            Pmt,
            &[],
            Ev::Start,
            send(Rv, Now),
        ),
        row(
            "recovery asks first",
            Recover,
            Pmt,
            &[],
            Ev::Start,
            send(Query, Now),
        ),
        Row {
            set: revoking,
            ..row(
                "recovery of a revoke under way finishes the revoke",
                Recover,
                Pmt,
                &[],
                Ev::Start,
                send(Rv, Now),
            )
        },
        // Rule 1: another operation.
        row(
            "an answer about another operation ends in conflict",
            Pay,
            Pmt,
            &[Ev::Start],
            Ev::A(Own, R::Foreign, false),
            end(Conflict),
        ),
        row(
            "... also when it answers a query",
            Recover,
            Pmt,
            &[Ev::Start],
            Ev::A(Query, R::Foreign, false),
            end(Conflict),
        ),
        Row {
            set: in_conflict,
            ..row(
                "in conflict, W without an amount settles nothing",
                Recover,
                Pmt,
                &[Ev::Start],
                Ev::A(Query, R::WNoFee, false),
                end(StillConflict),
            )
        },
        Row {
            set: in_conflict,
            ..row(
                "in conflict, W with the recorded amount is this register's own: revoke",
                Recover,
                Pmt,
                &[Ev::Start],
                Ev::A(Query, R::W, false),
                send(Rv, Now),
            )
        },
        Row {
            set: in_conflict,
            ..row(
                "in conflict, no such order leaves it in conflict",
                Recover,
                Pmt,
                &[Ev::Start],
                Ev::A(Query, R::N, false),
                end(StillConflict),
            )
        },
        Row {
            set: in_conflict,
            ..row(
                "in conflict, no answer by the deadline leaves it in conflict",
                Recover,
                Pmt,
                &[Ev::Start, Ev::A(Query, R::Unclear, false)],
                Ev::Deadline,
                end(StillConflict),
            )
        },
        // Rule 2: the platform's word.
        row(
            "S ends paid",
            Pay,
            Pmt,
            &[Ev::Start],
            Ev::A(Own, R::S, false),
            end(Proven(OpState::Paid)),
        ),
        row(
            "S of a refund ends refunded",
            Refund,
            Rfd,
            &[Ev::Start],
            Ev::A(Own, R::S, false),
            end(Proven(OpState::Refunded)),
        ),
        row(
            "F of an order ends closed",
            Create,
            Ord,
            &[Ev::Start],
            Ev::A(Own, R::F, false),
            end(Proven(OpState::Closed)),
        ),
        row(
            "W of a payment: poll",
            Pay,
            Pmt,
            &[Ev::Start],
            Ev::A(Own, R::W, false),
            send(Query, Poll),
        ),
        row(
            "W of a created order: it waits for the customer",
            Create,
            Ord,
            &[Ev::Start],
            Ev::A(Own, R::W, false),
            end(Waiting),
        ),
        row(
            "a revoke's Y ends revoked",
            Job::Revoke,
            Pmt,
            &[Ev::Start],
            Ev::A(Rv, R::Y, false),
            end(Proven(OpState::Revoked)),
        ),
        // Rule 3: not sent means not sent.
        row(
            "a payment that did not leave, fast: one quick retry",
            Pay,
            Pmt,
            &[Ev::Start],
            Ev::A(Own, R::NotSent, true),
            send(Own, Retry),
        ),
        row(
            "... slow (a connect timeout): not sent at once",
            Pay,
            Pmt,
            &[Ev::Start],
            Ev::A(Own, R::NotSent, false),
            end(NotSent(nf)),
        ),
        row(
            "... twice: not sent",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::NotSent, true)],
            Ev::A(Own, R::NotSent, true),
            end(NotSent(nf)),
        ),
        row(
            "a refund that did not leave twice: not sent",
            Refund,
            Rfd,
            &[Ev::Start, Ev::A(Own, R::NotSent, true)],
            Ev::A(Own, R::NotSent, true),
            end(NotSent(nf)),
        ),
        row(
            "an order that did not leave twice: not sent",
            Create,
            Ord,
            &[Ev::Start, Ev::A(Own, R::NotSent, true)],
            Ev::A(Own, R::NotSent, true),
            end(NotSent(nf)),
        ),
        row(
            "a cancel while nothing could have arrived: not sent",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::NotSent, true)],
            Ev::Cancel,
            end(NotSent(NotSentWhy::Cancelled)),
        ),
        row(
            "the deadline while nothing could have arrived: not sent",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::NotSent, true)],
            Ev::Deadline,
            end(NotSent(nf)),
        ),
        row(
            "a resend that did not leave after one that may have arrived: query",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::Unclear, false)],
            Ev::A(Own, R::NotSent, true),
            send(Query, Retry),
        ),
        row(
            "recovery cannot send its query: the platform is unreachable, stop",
            Recover,
            Pmt,
            &[Ev::Start],
            Ev::A(Query, R::NotSent, true),
            end(Open(None, OpenWhy::Unreachable)),
        ),
        Row {
            set: revoking,
            ..row(
                "recovery cannot send its revoke: stop, still revoking",
                Recover,
                Pmt,
                &[Ev::Start],
                Ev::A(Rv, R::NotSent, true),
                end(Open(Some(OpState::Revoking), OpenWhy::Unreachable)),
            )
        },
        // Rule 4: refusals.
        row(
            "a refused payment: the confirming query is owed",
            Pay,
            Pmt,
            &[Ev::Start],
            Ev::A(Own, R::N, false),
            send(Query, Owed),
        ),
        row(
            "... past the deadline, once",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::N, false)],
            Ev::Deadline,
            send(Query, Now),
        ),
        row(
            "refused, and no such payment: close the serial",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::N, false)],
            Ev::A(Query, R::N, false),
            send(Rv, Now),
        ),
        row(
            "... the revoke's Y: failed, as refused",
            Pay,
            Pmt,
            &[
                Ev::Start,
                Ev::A(Own, R::N, false),
                Ev::A(Query, R::N, false),
            ],
            Ev::A(Rv, R::Y, false),
            end(RefusedHarmless),
        ),
        row(
            "a refused refund with no such refund: failed",
            Refund,
            Rfd,
            &[Ev::Start, Ev::A(Own, R::N, false)],
            Ev::A(Query, R::N, false),
            end(RefusedHarmless),
        ),
        row(
            "refused, but the query finds it paid: paid",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::N, false)],
            Ev::A(Query, R::S, false),
            end(Proven(OpState::Paid)),
        ),
        // Rule 5: never arrived.
        row(
            "unclear, then no such payment: resend, owed",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::Unclear, false)],
            Ev::A(Query, R::N, false),
            send(Own, Owed),
        ),
        row(
            "unclear refund, then no such refund: resend, owed",
            Refund,
            Rfd,
            &[Ev::Start, Ev::A(Own, R::Unclear, false)],
            Ev::A(Query, R::N, false),
            send(Own, Owed),
        ),
        row(
            "cancelled refund, no such refund: not sent, never resent",
            Refund,
            Rfd,
            &[Ev::Start, Ev::A(Own, R::Unclear, false), Ev::Cancel],
            Ev::A(Query, R::N, false),
            end(NotSent(NotSentWhy::NeverReceived)),
        ),
        row(
            "recovery: no such refund: not sent, never resent",
            Recover,
            Rfd,
            &[Ev::Start],
            Ev::A(Query, R::N, false),
            end(NotSent(NotSentWhy::NeverReceived)),
        ),
        row(
            "recovery: no such payment: close its serial",
            Recover,
            Pmt,
            &[Ev::Start],
            Ev::A(Query, R::N, false),
            send(Rv, Now),
        ),
        row(
            "while the customer pays, a refused query proves nothing",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::W, false)],
            Ev::A(Query, R::N, false),
            send(Query, Poll),
        ),
        // Rule 6: deadline and cancel.
        row(
            "deadline while the customer pays: revoke",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::W, false)],
            Ev::Deadline,
            send(Rv, Now),
        ),
        row(
            "cancel while the customer pays: revoke",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::W, false)],
            Ev::Cancel,
            send(Rv, Now),
        ),
        row(
            "cancel of an awaited order: close it",
            Await,
            Ord,
            &[Ev::Start],
            Ev::Cancel,
            send(Rv, Now),
        ),
        row(
            "cancel of a refund that may have arrived: query only",
            Refund,
            Rfd,
            &[Ev::Start, Ev::A(Own, R::Unclear, false)],
            Ev::Cancel,
            send(Query, Retry),
        ),
        row(
            "refund deadline: open for recovery",
            Refund,
            Rfd,
            &[Ev::Start, Ev::A(Own, R::Unclear, false)],
            Ev::Deadline,
            end(Open(Some(OpState::Unknown), OpenWhy::NoAnswer)),
        ),
        Row {
            set: payable,
            ..row(
                "recovery: an order still payable waits",
                Recover,
                Ord,
                &[Ev::Start],
                Ev::A(Query, R::W, false),
                end(Waiting),
            )
        },
        row(
            "recovery: an expired order still waiting is closed",
            Recover,
            Ord,
            &[Ev::Start],
            Ev::A(Query, R::W, false),
            send(Rv, Now),
        ),
        row(
            "recovery: a payment still waiting is revoked",
            Recover,
            Pmt,
            &[Ev::Start],
            Ev::A(Query, R::W, false),
            send(Rv, Now),
        ),
        row(
            "recovery cancelled: left open",
            Recover,
            Pmt,
            &[Ev::Start, Ev::A(Query, R::Unclear, false)],
            Ev::Cancel,
            end(Open(None, OpenWhy::Cancelled)),
        ),
        // Rule 7: revokes.
        row(
            "a revoke refused: ask at once",
            Job::Revoke,
            Pmt,
            &[Ev::Start],
            Ev::A(Rv, R::N, false),
            send(Query, Now),
        ),
        row(
            "a revoke refused, the payment is paid: paid",
            Job::Revoke,
            Pmt,
            &[Ev::Start, Ev::A(Rv, R::N, false)],
            Ev::A(Query, R::S, false),
            end(Proven(OpState::Paid)),
        ),
        row(
            "a revoke refused for an operation the platform never knew: nothing to revoke",
            Job::Revoke,
            Pmt,
            &[Ev::Start, Ev::A(Rv, R::N, false)],
            Ev::A(Query, R::N, false),
            end(NothingToRevoke),
        ),
        row(
            "... but one it answered W about before: revoke again",
            Pay,
            Pmt,
            &[
                Ev::Start,
                Ev::A(Own, R::W, false),
                Ev::Deadline,
                Ev::A(Rv, R::N, false),
            ],
            Ev::A(Query, R::N, false),
            send(Rv, Retry),
        ),
        row(
            "a revoke without answer: again",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::W, false), Ev::Deadline],
            Ev::A(Rv, R::Unclear, false),
            send(Rv, Retry),
        ),
        row(
            "the revoke's deadline: open, revoking",
            Pay,
            Pmt,
            &[
                Ev::Start,
                Ev::A(Own, R::W, false),
                Ev::Deadline,
                Ev::A(Rv, R::Unclear, false),
            ],
            Ev::Deadline,
            end(Open(Some(OpState::Revoking), OpenWhy::NoAnswer)),
        ),
        // Credentials refused (docs/DESIGN.md, "Credentials refused").
        row(
            "the register refused: a payment ends at once, unknown, open",
            Pay,
            Pmt,
            &[Ev::Start],
            Ev::A(Own, R::Device, true),
            end(Open(Some(OpState::Unknown), OpenWhy::Credentials)),
        ),
        row(
            "the register refused during a revoke: open, revoking",
            Pay,
            Pmt,
            &[Ev::Start, Ev::A(Own, R::W, false), Ev::Deadline],
            Ev::A(Rv, R::Device, false),
            end(Open(Some(OpState::Revoking), OpenWhy::Credentials)),
        ),
        row(
            "the register refused in recovery: stop, as recorded",
            Recover,
            Pmt,
            &[Ev::Start],
            Ev::A(Query, R::Device, false),
            end(Open(None, OpenWhy::Credentials)),
        ),
    ]
}

#[test]
fn every_row_of_the_table() {
    let mut wrong = Vec::new();
    for r in table() {
        let mut m = Memory::new(r.job, r.subject);
        (r.set)(&mut m);
        for ev in r.before {
            feed(&mut m, *ev);
        }
        let got = feed(&mut m, r.ev);
        if got != r.want {
            wrong.push(format!("{}: got {got:?}, want {:?}", r.rule, r.want));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

const JOBS: [(Job, Subject); 9] = [
    (Pay, Pmt),
    (Refund, Rfd),
    (Create, Ord),
    (Await, Ord),
    (Job::Revoke, Pmt),
    (Job::Revoke, Ord),
    (Recover, Pmt),
    (Recover, Ord),
    (Recover, Rfd),
];
const ANSWERS: [R; 10] = [
    R::Device,
    R::S,
    R::F,
    R::W,
    R::WNoFee,
    R::Y,
    R::N,
    R::Foreign,
    R::Unclear,
    R::NotSent,
];

/// One random run as the driver would make it: every `Send` is answered
/// at once (`Now`), or after a pause that may end in the deadline or a
/// cancel (a cancel only while the driver heeds it).
#[derive(Debug)]
struct Trace {
    m0: Memory,
    steps: Vec<(Ev, Next)>,
}

fn run(job_ix: usize, flags: u8, choices: &[(u8, u8, bool)]) -> Trace {
    let (job, subject) = JOBS[job_ix];
    let mut m = Memory::new(job, subject);
    m.conflict = flags & 1 != 0 && job == Recover;
    m.payable = flags & 2 != 0;
    if flags & 4 != 0 && job == Recover && subject != Rfd {
        m.revoking = Some(RevokeReason::Recovery);
        m.reach = Reach::Maybe;
    }
    m.cancelled = flags & 8 != 0;
    let m0 = m.clone();
    let mut steps = Vec::new();
    let mut next = feed(&mut m, Ev::Start);
    steps.push((Ev::Start, next));
    for (i, &(what, ans, fast)) in choices.iter().enumerate() {
        let Next::Send(ask, wait) = next else { break };
        // Late in a run, time runs out at every pause: it must end.
        let late = i > 40;
        let heed = !m.cancelled && m.revoking.is_none() && job != Job::Revoke;
        let ev = if wait != Wait::Now && (late || what % 5 == 0) {
            Ev::Deadline
        } else if wait != Wait::Now && heed && what % 7 == 1 {
            Ev::Cancel
        } else {
            Ev::A(ask, ANSWERS[ans as usize % ANSWERS.len()], fast)
        };
        next = feed(&mut m, ev);
        steps.push((ev, next));
    }
    Trace { m0, steps }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// PAID or REFUNDED only on an `S` about this operation; never a resend
    /// after a cancel; never a revoke of a refund; in conflict, nothing
    /// resent, and a revoke only after a `W` carrying the amount; NOT_SENT
    /// only while nothing could have arrived (or the platform had no such
    /// refund); and every run ends once time runs out.
    #[test]
    fn the_table_keeps_its_promises(
        job_ix in 0usize..JOBS.len(),
        flags in 0u8..16,
        choices in proptest::collection::vec((0u8..=255, 0u8..=255, any::<bool>()), 0..60),
    ) {
        let t = run(job_ix, flags, &choices);
        let subject = t.m0.subject;
        let mut cancelled = t.m0.cancelled;
        let mut own_answered = false;
        let mut proven_w = false;
        let mut nows = 0;
        for (i, (ev, next)) in t.steps.iter().enumerate() {
            if matches!(ev, Ev::Cancel) {
                cancelled = true;
            }
            if let Ev::A(Ask::Own, r, _) = ev {
                if *r != R::NotSent {
                    own_answered = true;
                }
            }
            if matches!(ev, Ev::A(_, R::W, _)) {
                proven_w = true;
            }
            match next {
                Next::End(End::Proven(s @ (OpState::Paid | OpState::Refunded))) => {
                    prop_assert!(matches!(ev, Ev::A(_, R::S, _)), "{s} on {ev:?}: {t:?}");
                }
                Next::End(End::NotSent(why)) => {
                    match why {
                        NotSentWhy::NeverReceived => prop_assert!(
                            subject == Rfd && matches!(ev, Ev::A(Ask::Query, R::N, _)),
                            "{t:?}"
                        ),
                        _ => prop_assert!(!own_answered, "not sent after an answer: {t:?}"),
                    }
                }
                Next::Send(Ask::Own, _) => {
                    prop_assert!(!cancelled, "resent after a cancel: {t:?}");
                    prop_assert!(!t.m0.conflict, "resent in conflict: {t:?}");
                }
                Next::Send(Ask::Revoke, _) => {
                    prop_assert!(subject != Rfd, "revoked a refund: {t:?}");
                    if t.m0.conflict && t.m0.revoking.is_none() {
                        prop_assert!(proven_w, "revoked in conflict without proof: {t:?}");
                    }
                }
                _ => {}
            }
            if let Next::Send(_, w) = next {
                nows = if *w == Wait::Now { nows + 1 } else { 0 };
                prop_assert!(nows <= 3, "{nows} requests without a pause at step {i}: {t:?}");
            }
        }
        if t.steps.len() > 50 {
            prop_assert!(matches!(t.steps.last(), Some((_, Next::End(_)))), "never ended: {t:?}");
        }
    }
}
