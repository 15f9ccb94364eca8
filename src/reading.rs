//! The one reading of answers: what a verified answer proves about the
//! money of the operation it answers.
//!
//! Every layer asks this module: the payment flow, the C ABI's result
//! records, the command-line tool and the log. The rules (docs/DESIGN.md,
//! "What an answer proves"):
//!
//! - Only a status letter the API document defines proves anything: `S`
//!   paid (a refund: refunded), `F` failed, `W` still paying (API §4.1,
//!   §5.2; `SUCCESS` as in the example of §2.6.1). An answer without a
//!   status, or with any other letter, is never paid: it is
//!   [`Reading::Unclear`].
//! - A revoke (API §4.5) is proven by `result=Y`.
//! - An answer is about *this* operation only if its amount (`total_fee`;
//!   for a refund `refund_fee`) equals the amount asked and its platform
//!   number (`trans_seq`; for a refund `refund_seq`) equals the one already
//!   recorded, whenever the answer carries them (the API makes both
//!   optional). Anything else is [`Reading::Foreign`], whatever its status:
//!   the platform holds another order under this serial, and no conclusion
//!   about this one may be drawn from it.
//! - `result=N` with status `F` is a failure; without `F` it is
//!   [`Reading::Refused`]: refused without saying whether money moved. A
//!   refusal is compared like any other answer: another amount or number
//!   makes it [`Reading::Foreign`].
//! - A platform number (`trans_seq`, `refund_seq`: `Number(V20)`, API §4.1,
//!   §4.3) that is not 1 to 20 ASCII digits is no platform number: the
//!   answer is [`Reading::Unclear`] and none of its numbers is kept. A
//!   malformed number stored in the journal would fail the field rules of
//!   every later refund of the order, and would not fit the C records.

use crate::error::{Error, Refusal};
use crate::protocol::messages::{
    H5PayResponse, JsPayResponse, NativePayResponse, OrderNotice, PayResponse, RefundResponse,
    RevokeResponse,
};
use crate::protocol::types::fen_to_yuan;
use crate::protocol::{ResponseHead, Status};

/// What the operation an answer is for expects it to say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// The amount asked, in fen: a payment's or order's `total_fee`, a
    /// refund's `refund_fee`. `None` when not known (a bare query).
    pub fee: Option<i64>,
    /// The platform's number already recorded for the operation: the
    /// order's `trans_seq`, or a refund's `refund_seq`.
    pub number: Option<String>,
    /// For a refund: the order's total refunded so far, this refund
    /// included, as the journal knows it. API §4.3/§4.4 call `refund_fee`
    /// "已退款金额", which may be that total rather than this refund's
    /// amount; either reading is accepted (docs/PROTOCOL.md, §4.3).
    pub refunded_total: Option<i64>,
}

impl Expected {
    /// Expects `fee` fen and, when known, the platform number `number`.
    pub fn new(fee: i64, number: Option<&str>) -> Expected {
        Expected {
            fee: Some(fee),
            number: number.map(str::to_string),
            refunded_total: None,
        }
    }

    /// The same, for a refund whose order has `total` fen refunded so far,
    /// this refund included.
    pub fn with_refunded_total(self, total: i64) -> Expected {
        Expected {
            refunded_total: Some(total),
            ..self
        }
    }
}

/// The fields an answer carries that the flows and records keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// `trans_seq`: the platform's order number.
    pub trans_seq: Option<String>,
    /// `refund_seq`: the platform's refund number.
    pub refund_seq: Option<String>,
    /// The platform's amount in fen: `total_fee`, or a refund's `refund_fee`.
    pub fee: Option<i64>,
    /// Channel letter.
    pub channel: Option<String>,
    /// `pay_time`.
    pub pay_time: Option<String>,
    /// Receipt lines.
    pub receipts: Vec<String>,
    /// `pay_url` (native, JS) or `pay_info` (H5).
    pub pay_url: Option<String>,
    /// JS: `signature_info`.
    pub signature_info: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `msg`, or words of the library.
    pub msg: String,
}

impl Facts {
    /// `code msg`, or just the message.
    pub fn words(&self) -> String {
        match &self.code {
            Some(c) if !c.is_empty() => format!("{c} {}", self.msg),
            _ => self.msg.clone(),
        }
    }

    fn of_refusal(r: &Refusal) -> Facts {
        Facts {
            trans_seq: r.trans_seq.clone(),
            fee: r.fee,
            code: Some(r.code.clone()),
            msg: r.msg.clone(),
            ..Facts::default()
        }
    }
}

/// What one answer proves about the money of the operation it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// `S` about this operation: paid (a refund: refunded).
    Paid(Box<Facts>),
    /// `F` about this operation: failed or closed, nothing moved.
    Failed(Box<Facts>),
    /// `W`: the customer is still paying (a refund: in progress).
    Waiting(Box<Facts>),
    /// A revoke the platform accepted (`result=Y`): money returned or never taken.
    Revoked(Box<Facts>),
    /// `result=N` without `F`: refused without saying whether money moved.
    Refused(Refusal),
    /// About another operation under this serial (another amount or
    /// platform number): proves nothing about this one. The words name the
    /// difference.
    Foreign(Box<Facts>, String),
    /// Sent, and nothing proven: no usable answer, or one without a status
    /// the API document defines.
    Unclear(String),
    /// Nothing reached the platform.
    NotSent(String),
    /// The platform refused the register itself (its code and msg), in an
    /// answer that names no request: it proves nothing about this
    /// operation, and every further request would be refused alike
    /// (docs/DESIGN.md, "Credentials refused").
    DeviceRefused {
        /// The platform's `code`.
        code: String,
        /// The platform's `msg`.
        msg: String,
    },
}

/// What the money did, in four words: what a record or a command reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Money {
    /// Paid (a refund: refunded).
    Paid,
    /// Failed: nothing moved.
    Failed,
    /// Still under way.
    Waiting,
    /// Revoked: returned or never taken.
    Revoked,
    /// Not known: query before concluding.
    Unclear,
}

impl Money {
    /// `paid`, `failed`, `waiting`, `revoked` or `unclear`.
    pub fn as_str(self) -> &'static str {
        match self {
            Money::Paid => "paid",
            Money::Failed => "failed",
            Money::Waiting => "waiting",
            Money::Revoked => "revoked",
            Money::Unclear => "unclear",
        }
    }
}

impl Reading {
    /// What it says about the money.
    pub fn money(&self) -> Money {
        match self {
            Reading::Paid(_) => Money::Paid,
            Reading::Failed(_) => Money::Failed,
            Reading::Waiting(_) => Money::Waiting,
            Reading::Revoked(_) => Money::Revoked,
            Reading::Refused(_)
            | Reading::Foreign(..)
            | Reading::Unclear(_)
            | Reading::NotSent(_)
            | Reading::DeviceRefused { .. } => Money::Unclear,
        }
    }

    /// A few words for the journal and the log: the status letter (or
    /// what stands for it) and the platform's words.
    pub fn words(&self) -> String {
        match self {
            Reading::Paid(f) => format!("S {}", f.words()),
            Reading::Failed(f) => format!("F {}", f.words()),
            Reading::Waiting(f) => format!("W {}", f.words()),
            Reading::Revoked(f) => format!("Y revoked {}", f.words()),
            Reading::Refused(r) => format!("N {} {}", r.code, r.msg),
            Reading::Foreign(_, why) => format!("another operation: {why}"),
            Reading::Unclear(w) => format!("unclear: {w}"),
            Reading::NotSent(w) => format!("not sent: {w}"),
            Reading::DeviceRefused { code, msg } => {
                format!("register refused: {code} {msg}")
            }
        }
    }
}

/// Which number and amount an answer carries about its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A payment or order: `total_fee` and `trans_seq`.
    Order,
    /// A refund: `refund_fee` and `refund_seq`.
    Refund,
    /// A revoke: proven by `result=Y`, carries neither.
    Revoke,
}

/// A verified answer this module can read.
pub trait Answer {
    /// The common head, when the answer has one (a notice has none).
    fn head(&self) -> Option<&ResponseHead>;
    /// The status it states.
    fn status(&self) -> Option<&Status>;
    /// The fields the flows keep.
    fn facts(&self) -> Facts;
    /// What answers of this type are about (a payment or order unless
    /// said otherwise). A refusal is read without an answer in hand, so
    /// the type says it.
    const SUBJECT: Subject = Subject::Order;
    /// What it is about: [`Answer::SUBJECT`].
    fn subject(&self) -> Subject {
        Self::SUBJECT
    }
}

/// Reads one verified answer for the operation that expects `expect`.
pub fn read<A: Answer + ?Sized>(answer: &A, expect: &Expected) -> Reading {
    let mut facts = answer.facts();
    let subject = answer.subject();
    as_this_refund(subject, &mut facts, expect);
    if let Subject::Revoke = subject {
        return match answer.head().and_then(|h| h.result) {
            Some(true) => Reading::Revoked(Box::new(facts)),
            _ => Reading::Unclear(format!("revoke answer without result=Y: {}", facts.words())),
        };
    }
    if let Some(why) = malformed(&facts) {
        return Reading::Unclear(why);
    }
    if let Some(why) = foreign(subject, &facts, expect) {
        return Reading::Foreign(Box::new(facts), why);
    }
    match answer.status() {
        Some(Status::Success) => Reading::Paid(Box::new(facts)),
        Some(Status::Failed) => Reading::Failed(Box::new(facts)),
        Some(Status::Waiting) => Reading::Waiting(Box::new(facts)),
        Some(Status::Other(s)) => Reading::Unclear(format!(
            "status '{s}' is not one the API defines: {}",
            facts.words()
        )),
        None => Reading::Unclear(format!("no status: {}", facts.words())),
    }
}

/// Reads the result of one request: a verified answer, a refusal, or a
/// failure to get one.
pub fn read_result<A: Answer>(result: &Result<A, Error>, expect: &Expected) -> Reading {
    match result {
        Ok(a) => read(a, expect),
        Err(Error::Refused(r)) => {
            let mut facts = Facts::of_refusal(r);
            as_this_refund(A::SUBJECT, &mut facts, expect);
            if let Some(why) = malformed(&facts) {
                return Reading::Unclear(why);
            }
            // A refusal names the order (`trans_seq`) even for a refund.
            let number = (facts.trans_seq.as_ref()).zip(expect.number.as_ref());
            if let Some((got, want)) = number.filter(|(got, want)| got != want) {
                let why = other_number("order", got, want);
                return Reading::Foreign(Box::new(facts), why);
            }
            let amount_only = Expected {
                fee: expect.fee,
                ..Expected::default()
            };
            if let Some(why) = foreign(A::SUBJECT, &facts, &amount_only) {
                return Reading::Foreign(Box::new(facts), why);
            }
            match r.status {
                Some(Status::Failed) => Reading::Failed(Box::new(facts)),
                _ => Reading::Refused(r.clone()),
            }
        }
        // `Reading::words` says "not sent" itself: keep only the cause.
        Err(Error::NotSent(why)) => Reading::NotSent(why.clone()),
        Err(Error::Rejected(crate::error::Rejection::DeviceRefused { code, msg })) => {
            Reading::DeviceRefused {
                code: code.clone(),
                msg: msg.clone(),
            }
        }
        Err(e) if e.nothing_sent() => Reading::NotSent(e.to_string()),
        Err(e) => Reading::Unclear(e.to_string()),
    }
}

/// The longest platform number (`Number(V20)`, API §4.1, §4.3).
const NUMBER_DIGITS: usize = 20;

/// Why a platform number the answer carries is not one, if one is not.
fn malformed(facts: &Facts) -> Option<String> {
    [
        ("trans_seq", "§4.1", &facts.trans_seq),
        ("refund_seq", "§4.3", &facts.refund_seq),
    ]
    .into_iter()
    .find_map(|(name, api, n)| n.as_deref().and_then(|n| bad_number(name, api, n)))
}

/// Why `n` is not a `Number(V20)`, naming only a short prefix of it: the
/// words go to the journal, the log and fixed-size C records.
fn bad_number(name: &str, api: &str, n: &str) -> Option<String> {
    let digits = n.bytes().all(|b| b.is_ascii_digit());
    if digits && !n.is_empty() && n.len() <= NUMBER_DIGITS {
        return None;
    }
    let chars = n.chars().count();
    let prefix: String = n.chars().take(8).flat_map(char::escape_default).collect();
    let more = if chars > 8 { "…" } else { "" };
    let problem = if digits {
        "more digits than"
    } else {
        "not made of digits as"
    };
    Some(format!(
        "malformed {name} in the answer ('{prefix}{more}', {chars} characters): {problem} a Number(V20) (API {api}); none of its numbers is kept"
    ))
}

fn other_number(what: &str, got: &str, want: &str) -> String {
    format!("the answer is about {what} {got}, not {want} recorded for this req_seq")
}

/// A refund answer whose `refund_fee` is the order's total refunded so
/// far, this refund included, is read as this refund's amount: the two
/// readings of "已退款金额" (API §4.3) cannot be confused once the journal
/// knows the total. Any other amount stays as it is, and reads foreign.
fn as_this_refund(subject: Subject, facts: &mut Facts, expect: &Expected) {
    if subject != Subject::Refund {
        return;
    }
    if let (Some(want), Some(got), Some(total)) = (expect.fee, facts.fee, expect.refunded_total) {
        if got != want && got == total {
            facts.fee = Some(want);
        }
    }
}

/// Why an answer is about another operation, if it is.
fn foreign(subject: Subject, facts: &Facts, expect: &Expected) -> Option<String> {
    let (number, what) = match subject {
        Subject::Refund => (&facts.refund_seq, "refund"),
        _ => (&facts.trans_seq, "order"),
    };
    if let (Some(want), Some(got)) = (expect.fee, facts.fee) {
        if want != got {
            return Some(match subject {
                Subject::Refund => format!(
                    "the platform reports a refund of ¥{} under this req_seq, not ¥{}",
                    fen_to_yuan(got),
                    fen_to_yuan(want)
                ),
                _ => format!(
                    "the platform holds another order under this req_seq: ¥{}, not ¥{}",
                    fen_to_yuan(got),
                    fen_to_yuan(want)
                ),
            });
        }
    }
    if let (Some(want), Some(got)) = (&expect.number, number) {
        if want != got {
            return Some(other_number(what, got, want));
        }
    }
    None
}

fn channel(c: &Option<crate::protocol::Channel>) -> Option<String> {
    c.as_ref().map(|c| c.code().to_string())
}

/// An answer type of `Response`: its head and status come from there.
macro_rules! answer {
    ($t:ty, |$a:ident| $facts:expr $(, $subject:expr)?) => {
        impl Answer for $t {
            fn head(&self) -> Option<&ResponseHead> {
                Some(&self.head)
            }
            fn status(&self) -> Option<&Status> {
                self.status.as_ref()
            }
            fn facts(&self) -> Facts {
                let $a = self;
                Facts {
                    code: $a.head.code.clone(),
                    msg: $a.head.msg.clone().unwrap_or_default(),
                    ..$facts
                }
            }
            $(const SUBJECT: Subject = $subject;)?
        }
    };
}

answer!(PayResponse, |a| Facts {
    trans_seq: a.trans_seq.clone(),
    fee: a.total_fee,
    channel: channel(&a.channel),
    pay_time: a.pay_time.clone(),
    receipts: a.receipts.clone(),
    ..Facts::default()
});

answer!(NativePayResponse, |a| Facts {
    trans_seq: a.trans_seq.clone(),
    fee: a.total_fee,
    channel: channel(&a.channel),
    pay_time: a.pay_time.clone(),
    receipts: a.receipts.clone(),
    pay_url: a.pay_url.clone(),
    ..Facts::default()
});

answer!(JsPayResponse, |a| Facts {
    trans_seq: a.trans_seq.clone(),
    channel: channel(&a.channel),
    pay_url: a.pay_url.clone(),
    signature_info: a.signature_info.clone(),
    ..Facts::default()
});

answer!(H5PayResponse, |a| Facts {
    trans_seq: a.trans_seq.clone(),
    channel: channel(&a.channel),
    pay_url: a.pay_info.clone(),
    ..Facts::default()
});

answer!(
    RefundResponse,
    |a| Facts {
        refund_seq: a.refund_seq.clone(),
        fee: a.refund_fee,
        channel: channel(&a.channel),
        receipts: a.receipts.clone(),
        ..Facts::default()
    },
    Subject::Refund
);

answer!(
    RevokeResponse,
    |a| Facts {
        channel: channel(&a.channel),
        ..Facts::default()
    },
    Subject::Revoke
);

/// A notice (API §5.5) announces a completed payment; it still proves it
/// only with status `S`, for this order's amount and number.
impl Answer for OrderNotice {
    fn head(&self) -> Option<&ResponseHead> {
        None
    }
    fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }
    fn facts(&self) -> Facts {
        Facts {
            trans_seq: self.trans_seq.clone(),
            fee: self.total_fee,
            channel: channel(&self.channel),
            pay_time: self.pay_time.clone(),
            msg: "notice".into(),
            ..Facts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid(fee: Option<i64>, trans: Option<&str>, status: Option<Status>) -> PayResponse {
        PayResponse {
            trans_seq: trans.map(str::to_string),
            total_fee: fee,
            status,
            ..PayResponse::default()
        }
    }

    #[test]
    fn only_a_defined_status_about_this_operation_is_paid() {
        let want = Expected::new(200, None);
        let ok = paid(Some(200), Some("1501"), Some(Status::Success));
        assert_eq!(read(&ok, &want).money(), Money::Paid);
        // No fee in the answer: the serial's uniqueness ties it.
        assert_eq!(
            read(&paid(None, None, Some(Status::Success)), &want).money(),
            Money::Paid
        );
        for bad in [
            None,
            Some(Status::Other("USERPAYING".into())),
            Some(Status::Other("P".into())),
        ] {
            assert!(matches!(
                read(&paid(Some(200), None, bad), &want),
                Reading::Unclear(_)
            ));
        }
    }

    #[test]
    fn another_amount_or_number_is_foreign_whatever_the_status() {
        let want = Expected::new(200, Some("1501"));
        for status in [Status::Success, Status::Waiting, Status::Failed] {
            let r = read(&paid(Some(100), Some("1501"), Some(status.clone())), &want);
            match r {
                Reading::Foreign(_, why) => assert_eq!(
                    why,
                    "the platform holds another order under this req_seq: ¥1.00, not ¥2.00"
                ),
                other => panic!("{other:?}"),
            }
            let r = read(&paid(Some(200), Some("1509"), Some(status)), &want);
            assert!(
                matches!(r, Reading::Foreign(_, ref w) if w.contains("1509")),
                "{r:?}"
            );
        }
    }

    #[test]
    fn refunds_compare_their_own_amount_and_number() {
        let want = Expected::new(400, None);
        let r = RefundResponse {
            refund_seq: Some("2601".into()),
            total_fee: Some(1000),
            refund_fee: Some(400),
            status: Some(Status::Success),
            ..RefundResponse::default()
        };
        assert_eq!(read(&r, &want).money(), Money::Paid);
        let cumulative = RefundResponse {
            refund_fee: Some(700),
            ..r.clone()
        };
        // Without the order's total, a cumulative 700 is another amount.
        assert!(matches!(read(&cumulative, &want), Reading::Foreign(..)));
        // With it (300 refunded before, this 400 included: 700), it is
        // this refund, read as its own amount.
        match read(&cumulative, &want.clone().with_refunded_total(700)) {
            Reading::Paid(f) => assert_eq!(f.fee, Some(400)),
            other => panic!("{other:?}"),
        }
        // A total that does not fit either reading stays foreign.
        assert!(matches!(
            read(&cumulative, &want.clone().with_refunded_total(650)),
            Reading::Foreign(..)
        ));
        assert!(matches!(
            read(&r, &Expected::new(400, Some("2600"))),
            Reading::Foreign(..)
        ));
        // The refund number is still compared under the cumulative reading.
        assert!(matches!(
            read(
                &cumulative,
                &Expected::new(400, Some("2600")).with_refunded_total(700)
            ),
            Reading::Foreign(..)
        ));
    }

    #[test]
    fn refusals_fail_only_with_f() {
        let refusal = |status| {
            Err::<PayResponse, _>(Error::Refused(Refusal {
                code: "E10009".into(),
                msg: "busy".into(),
                status,
                trans_seq: None,
                fee: None,
            }))
        };
        let want = Expected::new(1, None);
        assert!(matches!(
            read_result(&refusal(None), &want),
            Reading::Refused(_)
        ));
        assert!(matches!(
            read_result(&refusal(Some(Status::Success)), &want),
            Reading::Refused(_)
        ));
        assert_eq!(
            read_result(&refusal(Some(Status::Failed)), &want).money(),
            Money::Failed
        );
        let lost = Err::<PayResponse, _>(Error::OutcomeUnknown("timeout".into()));
        assert!(matches!(read_result(&lost, &want), Reading::Unclear(_)));
        let never = Err::<PayResponse, _>(Error::NotSent("refused".into()));
        assert!(matches!(read_result(&never, &want), Reading::NotSent(_)));
    }

    #[test]
    fn a_revoke_is_proven_by_result_y() {
        let mut r = RevokeResponse::default();
        assert!(matches!(
            read(&r, &Expected::default()),
            Reading::Unclear(_)
        ));
        r.head.result = Some(true);
        assert_eq!(read(&r, &Expected::default()).money(), Money::Revoked);
    }

    #[test]
    fn a_notice_without_status_proves_nothing() {
        let mut n = OrderNotice {
            trans_seq: Some("1501".into()),
            total_fee: Some(500),
            ..OrderNotice::default()
        };
        let want = Expected::new(500, Some("1501"));
        assert!(matches!(read(&n, &want), Reading::Unclear(_)));
        n.status = Some(Status::Success);
        assert_eq!(read(&n, &want).money(), Money::Paid);
        n.total_fee = Some(499);
        assert!(matches!(read(&n, &want), Reading::Foreign(..)));
    }

    fn refused_with(
        status: Option<Status>,
        trans: Option<&str>,
        fee: Option<i64>,
    ) -> Result<PayResponse, Error> {
        Err(Error::Refused(Refusal {
            code: "E20001".into(),
            msg: "refused".into(),
            status,
            trans_seq: trans.map(str::to_string),
            fee,
        }))
    }

    #[test]
    fn a_refusal_about_another_amount_is_foreign_whatever_its_status() {
        let want = Expected::new(200, None);
        let other = refused_with(Some(Status::Failed), None, Some(100));
        match read_result(&other, &want) {
            Reading::Foreign(_, why) => assert_eq!(
                why,
                "the platform holds another order under this req_seq: ¥1.00, not ¥2.00"
            ),
            r => panic!("{r:?}"),
        }
        let other = refused_with(None, None, Some(100));
        assert!(matches!(read_result(&other, &want), Reading::Foreign(..)));
        // The amount asked: the F decides.
        let same = refused_with(Some(Status::Failed), Some("1501"), Some(200));
        assert_eq!(read_result(&same, &want).money(), Money::Failed);
        // A refund's refusal names the refund's amount.
        let refund = Err::<RefundResponse, _>(Error::Refused(Refusal {
            code: "E30001".into(),
            msg: "refused".into(),
            status: Some(Status::Failed),
            trans_seq: None,
            fee: Some(300),
        }));
        match read_result(&refund, &Expected::new(400, None)) {
            Reading::Foreign(_, why) => assert!(why.contains("refund of ¥3.00"), "{why}"),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn platform_numbers_are_at_most_twenty_digits() {
        let want = Expected::new(200, None);
        let twenty = "12345678901234567890";
        let ok = paid(Some(200), Some(twenty), Some(Status::Success));
        assert_eq!(read(&ok, &want).money(), Money::Paid);
        let long = format!("{twenty}1");
        let huge = "9".repeat(70);
        for bad in [
            long.as_str(),
            huge.as_str(),
            "T1",
            "15 06",
            "１２３",
            "12\u{0}3",
        ] {
            for status in [Status::Success, Status::Failed, Status::Waiting] {
                match read(&paid(Some(200), Some(bad), Some(status)), &want) {
                    Reading::Unclear(why) => {
                        assert!(why.contains("malformed trans_seq"), "{why}");
                        // Only a short prefix of it is repeated.
                        assert!(why.len() < 200, "{why}");
                        assert!(!why.contains(&huge[..20]), "{why}");
                    }
                    r => panic!("{bad:?}: {r:?}"),
                }
            }
            // Malformed before anything else: even with another amount.
            assert!(matches!(
                read(&paid(Some(100), Some(bad), Some(Status::Success)), &want),
                Reading::Unclear(_)
            ));
            // In a refusal, and in a notice.
            let refused = refused_with(Some(Status::Failed), Some(bad), None);
            assert!(matches!(read_result(&refused, &want), Reading::Unclear(_)));
            let n = OrderNotice {
                trans_seq: Some(bad.to_string()),
                total_fee: Some(200),
                status: Some(Status::Success),
                ..OrderNotice::default()
            };
            assert!(matches!(read(&n, &want), Reading::Unclear(_)));
        }
        let refund = RefundResponse {
            refund_seq: Some("R-1".into()),
            refund_fee: Some(200),
            status: Some(Status::Success),
            ..RefundResponse::default()
        };
        match read(&refund, &want) {
            Reading::Unclear(why) => assert!(
                why.contains("malformed refund_seq in the answer ('R-1'"),
                "{why}"
            ),
            r => panic!("{r:?}"),
        }
    }
}
