//! "Not sent, nothing charged" at the level of whole operations (issue 17,
//! docs/DESIGN.md, "What to do next"): with the shop's network down, a
//! barcode payment, a refund and a QR order each end `NotSent` at once,
//! closed in the journal, within `connect_timeout` + 2 s; and a register
//! that starts with open operations and no network is ready within about
//! one `connect_timeout`, its operations left open for the next recovery.
//!
//! Every case runs the real flows inside a network namespace the test makes
//! itself (tests/common/netns.rs), against an address or a name that exists
//! nowhere: nothing leaves the machine. The journal is a file in the
//! child's temporary directory; a paid payment to refund, and the open
//! operations of a crashed register, are written to it directly.

mod common;

use std::ffi::CString;
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::netns::{self, Netns, NAMESERVER, PLATFORM_BY_ADDRESS, PLATFORM_BY_NAME};
use ystpay::ffi::client::{
    ystpay_client, ystpay_client_free, ystpay_client_new_ex, ystpay_next_req_seq,
};
use ystpay::ffi::codes::*;
use ystpay::ffi::error::ystpay_last_error;
use ystpay::ffi::records::{
    ystpay_recovery_entry, ystpay_recovery_report, YSTPAY_RECOVERY_ENTRY_SIZE,
    YSTPAY_RECOVERY_REPORT_SIZE,
};
use ystpay::ffi::recovery::{ystpay_last_recovery, ystpay_recovery_get};
use ystpay::ffi::settle::{ystpay_settle_order, ystpay_settle_pay, ystpay_settle_refund};
use ystpay::ffi::text::{from_array, Enc};
use ystpay::flow::{
    Disposition, FlowConfig, NewOrder, OrderSpec, Outcome, PayOrder, Payments, SettleOptions,
    Settlement,
};
use ystpay::journal::{Journal, NewOp, OpKind, OpState, OpUpdate};
use ystpay::protocol::Channel;
use ystpay::{Client, ClientConfig};

const ACCOUNT: &str = "demo";
const PASSWORD: &str = "demo123";
const KEY: &str = "0123456789ABCDEF";
/// Short, so that a flow that waited for a second connect (or for a
/// query) shows in the time bound.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// The budget of "not sent" (docs/DESIGN.md): one connect timeout and a
/// quick retry of a failure that came fast.
const NOT_SENT_WITHIN: Duration = Duration::from_secs(1 + 2);
/// The library's default connect timeout, which a register starting with
/// open operations keeps.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One connect timeout, and a second for the rest: a register starting
/// with the network down must not wait on it once per open operation.
const START_WITHIN: Duration = Duration::from_secs(6);
/// A payment recorded paid, as the platform numbers it (20 digits).
const TRANS_SEQ: &str = "15060911165638124989";

/// A network fault staged in the namespace, and the platform's URL there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// No route but loopback: connect fails at once (ENETUNREACH).
    CableOut,
    /// The name server cannot be reached: the lookup fails at once.
    DnsDown,
    /// A router that drops everything: connect times out.
    RouterNoUpstream,
    /// The name server behind that router never answers: the lookup
    /// times out.
    DnsNoAnswer,
}

impl Fault {
    fn net(self) -> Netns {
        match self {
            Fault::CableOut => Netns::loopback_only(),
            Fault::DnsDown => Netns::loopback_only().dns_only(NAMESERVER),
            Fault::RouterNoUpstream => Netns::router_without_upstream(),
            Fault::DnsNoAnswer => Netns::router_without_upstream().dns_only(NAMESERVER),
        }
    }

    fn url(self) -> &'static str {
        match self {
            Fault::DnsDown | Fault::DnsNoAnswer => PLATFORM_BY_NAME,
            Fault::CableOut | Fault::RouterNoUpstream => PLATFORM_BY_ADDRESS,
        }
    }

    /// The first attempt takes the whole connect timeout (the lookup's
    /// deadline is the connect timeout too): no time is left for a retry
    /// within the budget, so none may be made.
    fn slow(self) -> bool {
        matches!(self, Fault::RouterNoUpstream | Fault::DnsNoAnswer)
    }
}

/// The operation to settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A barcode payment (API §4.1).
    Pay,
    /// A refund (API §4.3) of a payment the journal holds as paid.
    Refund,
    /// A QR-code order (API §5.1).
    Order,
}

impl Kind {
    /// The journal's name for the operation's own request.
    fn request(self) -> &'static str {
        match self {
            Kind::Pay => "pay",
            Kind::Refund => "refund",
            Kind::Order => "native",
        }
    }

    fn op_kind(self) -> OpKind {
        match self {
            Kind::Pay => OpKind::Pay,
            Kind::Refund => OpKind::Refund,
            Kind::Order => OpKind::Native,
        }
    }
}

fn journal_path(name: &str) -> PathBuf {
    common::temp_dir(&format!("netdown-flows-{name}")).join("journal.db")
}

/// Records `seq` as a barcode payment of 500 fen the platform answered
/// paid, as an earlier sale left it.
fn record_paid(journal: &Journal, seq: &str) {
    let mut op = NewOp::new(ACCOUNT, seq, OpKind::Pay, 500);
    op.channel = Some("W".into());
    journal.begin(&op).unwrap();
    let paid = OpUpdate {
        state: Some(OpState::Paid),
        trans_seq: Some(TRANS_SEQ.into()),
        detail: Some("paid (recorded by the test)".into()),
        ..OpUpdate::default()
    };
    journal.update(ACCOUNT, seq, &paid).unwrap();
}

/// What every settlement of the network down must leave in the journal:
/// the operation closed not sent, nothing open, only its own request tried
/// (no query: nothing can have arrived), at most once more after a fast
/// failure, never after a slow one.
fn check_journal(journal: &Journal, seq: &str, kind: Kind, fault: Fault) {
    let open = journal.open_ops(ACCOUNT).unwrap();
    assert!(open.is_empty(), "still open: {open:?}");
    let rec = journal.get(ACCOUNT, seq).unwrap().expect("recorded");
    assert_eq!(rec.state, OpState::NotSent, "{rec:?}");
    assert_eq!(rec.kind, kind.op_kind());
    let attempts = journal.attempts(ACCOUNT, seq).unwrap();
    let most = if fault.slow() { 1 } else { 2 };
    assert!(
        (1..=most).contains(&attempts.len()),
        "{} attempts, at most {most}: {attempts:?}",
        attempts.len()
    );
    for a in &attempts {
        assert_eq!(a.what, kind.request(), "{attempts:?}");
        assert_eq!(a.req_seq, seq, "{attempts:?}");
        assert!(a.outcome.starts_with("not sent: "), "{attempts:?}");
    }
}

/// The paid payment is untouched and nothing counts against its amount: a
/// refund not sent can be made again in full.
fn check_payment_untouched(journal: &Journal, pay_seq: &str) {
    let pay = journal.get(ACCOUNT, pay_seq).unwrap().unwrap();
    assert_eq!(pay.state, OpState::Paid);
    assert_eq!(journal.refunded_fee(ACCOUNT, pay_seq).unwrap(), 0);
}

// ------------------------------------------------------------ Rust API

fn client_config(url: &str, connect_timeout: Duration) -> ClientConfig {
    let mut c = ClientConfig::new(url, ACCOUNT, PASSWORD, KEY);
    c.read_timeout = READ_TIMEOUT;
    c.connect_timeout = connect_timeout;
    c.register_no = Some(1);
    c.allow_http = true;
    c
}

/// Settles one `kind` through [`Payments`] with `fault` staged.
fn settle_rust(fault: Fault, kind: Kind) {
    let path = journal_path(&format!("rust-{kind:?}-{fault:?}"));
    let journal = Arc::new(Journal::open(&path).unwrap());
    let client = Arc::new(Client::new(&client_config(fault.url(), CONNECT_TIMEOUT)).unwrap());
    // Real timing: the retry schedule is part of what is bounded.
    let p = Payments::new(client, journal.clone(), FlowConfig::default()).unwrap();
    let pay_seq = p.issue_req_seq().unwrap();
    if kind == Kind::Refund {
        record_paid(&journal, &pay_seq);
    }
    let opts = SettleOptions::default();
    let t = Instant::now();
    let s: Settlement = match kind {
        Kind::Pay => p.settle_pay(&PayOrder::new(100, common::wechat_code(17, 0)), &opts),
        Kind::Refund => p.settle_refund(&pay_seq, 200, "returned goods", &opts),
        Kind::Order => {
            let order = NewOrder {
                total_fee: 100,
                channel: Channel::WeChat,
                spec: OrderSpec::Native { expire_secs: None },
            };
            p.settle_order(&order, &opts)
        }
    }
    .expect("the flow runs");
    let took = t.elapsed();
    println!(
        "{fault:?} {kind:?} (Rust): {} {} after {took:?}: {}",
        s.outcome, s.state, s.detail
    );
    assert_eq!(s.outcome, Outcome::NotSent, "{s:?}");
    assert_eq!(s.state, OpState::NotSent, "{s:?}");
    assert_eq!(s.kind, kind.op_kind());
    assert!(took <= NOT_SENT_WITHIN, "took {took:?}");
    check_journal(&journal, &s.req_seq, kind, fault);
    if kind == Kind::Refund {
        check_payment_untouched(&journal, &pay_seq);
    }
}

macro_rules! rust_cases {
    ($($name:ident: $fault:ident, $kind:ident;)*) => {$(
        #[test]
        fn $name() {
            let fault = Fault::$fault;
            netns::run(stringify!($name), &fault.net(), || {
                settle_rust(fault, Kind::$kind)
            });
        }
    )*};
}

rust_cases! {
    pay_with_the_cable_out_is_not_sent: CableOut, Pay;
    pay_with_dns_down_is_not_sent: DnsDown, Pay;
    pay_behind_a_router_without_upstream_is_not_sent: RouterNoUpstream, Pay;
    refund_with_the_cable_out_is_not_sent: CableOut, Refund;
    refund_with_dns_down_is_not_sent: DnsDown, Refund;
    refund_behind_a_router_without_upstream_is_not_sent: RouterNoUpstream, Refund;
    order_with_the_cable_out_is_not_sent: CableOut, Order;
    order_with_dns_down_is_not_sent: DnsDown, Order;
    order_behind_a_router_without_upstream_is_not_sent: RouterNoUpstream, Order;
    pay_with_a_name_server_that_never_answers_is_not_sent: DnsNoAnswer, Pay;
}

// --------------------------------------------------------------- C ABI

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn text(a: &[c_char]) -> String {
    from_array(Enc::Utf8, a, "field").unwrap()
}

fn last_error() -> String {
    let mut buf = [0 as c_char; 1024];
    let mut needed = 0;
    // SAFETY: buffer and size match.
    unsafe { ystpay_last_error(buf.as_mut_ptr(), buf.len() as i32, &mut needed) };
    text(&buf)
}

/// A client with the journal at `journal`, created as a C register does;
/// `connect_timeout_ms` 0 keeps the default. Recovery on creation is on.
fn c_client(url: &str, journal: &Path, connect_timeout_ms: i32) -> (i32, *mut ystpay_client) {
    let (url, acct, pass, key) = (cs(url), cs(ACCOUNT), cs(PASSWORD), cs(KEY));
    let journal = cs(journal.to_str().unwrap());
    let mut c = ptr::null_mut();
    // SAFETY: NUL-terminated strings, a writable out pointer.
    let rc = unsafe {
        ystpay_client_new_ex(
            url.as_ptr(),
            acct.as_ptr(),
            pass.as_ptr(),
            key.as_ptr(),
            connect_timeout_ms,
            READ_TIMEOUT.as_millis() as i32,
            YSTPAY_ENCODING_UTF8,
            YSTPAY_FLAG_ALLOW_HTTP,
            journal.as_ptr(),
            0,
            &mut c,
        )
    };
    (rc, c)
}

fn next_req_seq(c: *const ystpay_client) -> String {
    let mut buf = [0 as c_char; 32];
    // SAFETY: live handle, buffer and size match.
    let rc = unsafe { ystpay_next_req_seq(c, buf.as_mut_ptr(), buf.len() as i32, ptr::null_mut()) };
    assert_eq!(rc, YSTPAY_OK, "{}", last_error());
    text(&buf)
}

/// Settles one `kind` through the C ABI with `fault` staged.
fn settle_c(fault: Fault, kind: Kind) {
    let path = journal_path(&format!("c-{kind:?}-{fault:?}"));
    let (rc, c) = c_client(fault.url(), &path, CONNECT_TIMEOUT.as_millis() as i32);
    assert_eq!(rc, YSTPAY_OK, "{}", last_error());
    // A second connection to the same file, as another program would have.
    let journal = Journal::open(&path).unwrap();
    let pay_seq = next_req_seq(c);
    if kind == Kind::Refund {
        record_paid(&journal, &pay_seq);
    }
    let mut out = common::c_abi::settlement();
    let t = Instant::now();
    // SAFETY: live handle, NUL-terminated strings or NULL, a sized record.
    let rc = unsafe {
        match kind {
            Kind::Pay => {
                let code = cs(&common::wechat_code(17, 0));
                ystpay_settle_pay(
                    c,
                    ptr::null(),
                    100,
                    code.as_ptr(),
                    ptr::null(),
                    ptr::null(),
                    0,
                    0,
                    ptr::null(),
                    None,
                    ptr::null_mut(),
                    &mut *out,
                )
            }
            Kind::Refund => {
                let (pay, reason) = (cs(&pay_seq), cs("returned goods"));
                ystpay_settle_refund(
                    c,
                    ptr::null(),
                    pay.as_ptr(),
                    200,
                    reason.as_ptr(),
                    0,
                    ptr::null(),
                    None,
                    ptr::null_mut(),
                    &mut *out,
                )
            }
            Kind::Order => {
                let channel = cs("W");
                ystpay_settle_order(
                    c,
                    YSTPAY_KIND_NATIVE,
                    100,
                    channel.as_ptr(),
                    0,
                    ptr::null(),
                    ptr::null(),
                    ptr::null(),
                    0,
                    ptr::null(),
                    None,
                    ptr::null_mut(),
                    &mut *out,
                )
            }
        }
    };
    let took = t.elapsed();
    assert_eq!(rc, YSTPAY_OK, "{}", last_error());
    let seq = text(&out.req_seq);
    println!(
        "{fault:?} {kind:?} (C): outcome {} state {} after {took:?}: {}",
        out.outcome,
        out.state,
        text(&out.detail)
    );
    assert_eq!(out.outcome, YSTPAY_OUTCOME_NOT_SENT);
    assert_eq!(out.state, YSTPAY_STATE_NOT_SENT);
    let c_kind = match kind {
        Kind::Pay => YSTPAY_KIND_PAY,
        Kind::Refund => YSTPAY_KIND_REFUND,
        Kind::Order => YSTPAY_KIND_NATIVE,
    };
    assert_eq!(out.kind, c_kind);
    assert!(took <= NOT_SENT_WITHIN, "took {took:?}");
    check_journal(&journal, &seq, kind, fault);
    if kind == Kind::Refund {
        check_payment_untouched(&journal, &pay_seq);
    }
    // SAFETY: the handle from ystpay_client_new_ex, freed once.
    unsafe { ystpay_client_free(c) };
}

macro_rules! c_cases {
    ($($name:ident: $fault:ident, $kind:ident;)*) => {$(
        #[test]
        fn $name() {
            let fault = Fault::$fault;
            netns::run(stringify!($name), &fault.net(), || settle_c(fault, Kind::$kind));
        }
    )*};
}

// Each kind under another fault: every fault and every kind is crossed
// once through the C ABI (all nine pairs through Rust above).
c_cases! {
    c_settle_pay_with_the_cable_out_is_not_sent: CableOut, Pay;
    c_settle_refund_with_dns_down_is_not_sent: DnsDown, Refund;
    c_settle_order_behind_a_router_without_upstream_is_not_sent: RouterNoUpstream, Order;
}

// ------------------------------------------------- starting with the network down

/// What a register that crashed left open, oldest first: a payment sent
/// without an answer, a QR order the customer may still pay, a payment
/// whose last try ended unanswered. No live program owns them.
fn leave_open(path: &Path) -> Vec<(String, OpState)> {
    let journal = Journal::open(path).unwrap();
    let at = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let ops = [
        (OpKind::Pay, OpState::Pending),
        (OpKind::Native, OpState::Waiting),
        (OpKind::Pay, OpState::Unknown),
    ];
    let mut left = Vec::new();
    for (i, (kind, state)) in ops.into_iter().enumerate() {
        // Register tag 99: never one the clients below issue.
        let seq = format!("{at}99{:04}", i + 1);
        let mut op = NewOp::new(ACCOUNT, &seq, kind, 100 * (i as i64 + 1));
        op.channel = Some("W".into());
        if kind == OpKind::Native {
            op.expires_ms = Some(chrono::Utc::now().timestamp_millis() + 300_000);
        }
        journal.begin(&op).unwrap();
        if state != OpState::Pending {
            let u = OpUpdate::state(state, "left open by the test");
            journal.update(ACCOUNT, &seq, &u).unwrap();
        }
        left.push((seq, state));
    }
    assert_eq!(journal.open_ops(ACCOUNT).unwrap().len(), 3);
    left
}

/// Detail of the operation recovery tried: its query could not be sent.
fn tried_and_unreachable(detail: &str) -> bool {
    detail.starts_with("platform unreachable (not sent: ") && detail.ends_with("): still open")
}

/// Detail of the operations recovery did not ask about.
const NOT_ASKED: &str = "not asked: the platform is unreachable";

/// After recovery with the network down: all three still open as they
/// were; the first was tried (one query, which could not be sent), the
/// others not asked about.
fn check_left_open(path: &Path, left: &[(String, OpState)]) {
    let journal = Journal::open(path).unwrap();
    let open: Vec<(String, OpState)> = journal
        .open_ops(ACCOUNT)
        .unwrap()
        .into_iter()
        .map(|r| (r.req_seq, r.state))
        .collect();
    assert_eq!(open, left);
    for (i, (seq, _)) in left.iter().enumerate() {
        let attempts = journal.attempts(ACCOUNT, seq).unwrap();
        if i == 0 {
            assert_eq!(attempts.len(), 1, "{attempts:?}");
            assert_eq!(attempts[0].what, "query");
            assert!(
                attempts[0].outcome.starts_with("not sent: "),
                "{attempts:?}"
            );
        } else {
            assert!(attempts.is_empty(), "{seq}: {attempts:?}");
        }
    }
}

fn state_code(s: OpState) -> i32 {
    match s {
        OpState::Pending => YSTPAY_STATE_PENDING,
        OpState::Waiting => YSTPAY_STATE_WAITING,
        OpState::Unknown => YSTPAY_STATE_UNKNOWN,
        other => panic!("not left open by the test: {other}"),
    }
}

/// `ystpay_client_new_ex` recovers on creation with one quick check: the
/// first query times out connecting, and recovery stops there.
#[test]
fn c_client_starts_within_one_connect_timeout_with_three_open_operations() {
    let name = "c_client_starts_within_one_connect_timeout_with_three_open_operations";
    netns::run(name, &Netns::router_without_upstream(), || {
        let path = journal_path("c-start");
        let left = leave_open(&path);
        let t = Instant::now();
        // connect_timeout_ms 0: the default.
        let (rc, c) = c_client(PLATFORM_BY_ADDRESS, &path, 0);
        let took = t.elapsed();
        assert_eq!(rc, YSTPAY_OK, "{}", last_error());
        println!("ystpay_client_new_ex with 3 open operations: {took:?}");
        assert!(took <= START_WITHIN, "took {took:?}");

        // SAFETY: repr(C) integers: all-zero is valid.
        let mut report: ystpay_recovery_report = unsafe { std::mem::zeroed() };
        report.struct_size = YSTPAY_RECOVERY_REPORT_SIZE;
        // SAFETY: live handle, a sized record.
        let rc = unsafe { ystpay_last_recovery(c, &mut report) };
        assert_eq!(rc, YSTPAY_OK, "{}", last_error());
        assert_eq!(report.entry_count, 3);
        assert_eq!(report.still_open, 3);
        assert_eq!(report.settled, 0);
        assert_eq!(report.busy_elsewhere, 0);
        for (i, (seq, state)) in left.iter().enumerate() {
            // SAFETY: repr(C) integers and arrays: all-zero is valid.
            let mut e: ystpay_recovery_entry = unsafe { std::mem::zeroed() };
            e.struct_size = YSTPAY_RECOVERY_ENTRY_SIZE;
            // SAFETY: live handle, a sized record.
            let rc = unsafe { ystpay_recovery_get(c, i as i32, &mut e) };
            assert_eq!(rc, YSTPAY_OK, "{}", last_error());
            let detail = text(&e.detail);
            println!(
                "  {i}: {} state {} disposition {}: {detail}",
                text(&e.req_seq),
                e.state,
                e.disposition
            );
            assert_eq!(text(&e.req_seq), *seq);
            assert_eq!(e.disposition, YSTPAY_RECOVERED_UNREACHABLE);
            assert_eq!(e.state, state_code(*state));
            assert_eq!(e.outcome, YSTPAY_OUTCOME_UNKNOWN);
            if i == 0 {
                assert!(tried_and_unreachable(&detail), "{detail}");
            } else {
                assert_eq!(detail, NOT_ASKED);
            }
        }
        // SAFETY: the handle from ystpay_client_new_ex, freed once.
        unsafe { ystpay_client_free(c) };
        check_left_open(&path, &left);
    });
}

/// [`Payments::start`]: the same quick check through the Rust API.
#[test]
fn payments_start_within_one_connect_timeout_with_three_open_operations() {
    let name = "payments_start_within_one_connect_timeout_with_three_open_operations";
    netns::run(name, &Netns::router_without_upstream(), || {
        let path = journal_path("rust-start");
        let left = leave_open(&path);
        let config = client_config(PLATFORM_BY_ADDRESS, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(
            ClientConfig::new(PLATFORM_BY_ADDRESS, ACCOUNT, PASSWORD, KEY).connect_timeout,
            DEFAULT_CONNECT_TIMEOUT,
            "the library's default changed: this test is about the default"
        );
        let t = Instant::now();
        let client = Arc::new(Client::new(&config).unwrap());
        let journal = Arc::new(Journal::open(&path).unwrap());
        let (p, report) = Payments::start(client, journal, FlowConfig::default()).unwrap();
        let took = t.elapsed();
        println!("Payments::start with 3 open operations: {took:?}");
        assert!(took <= START_WITHIN, "took {took:?}");
        assert!(report.unreachable);
        assert!(report.settled.is_empty(), "{report:?}");
        assert!(report.busy_elsewhere.is_empty(), "{report:?}");
        assert_eq!(report.still_open.len(), 3);
        assert_eq!(report.ops.len(), 3);
        for (i, (op, (seq, state))) in report.ops.iter().zip(&left).enumerate() {
            println!(
                "  {i}: {} {} {:?}: {}",
                op.req_seq, op.state, op.disposition, op.detail
            );
            assert_eq!(op.req_seq, *seq);
            assert_eq!(op.state, *state);
            assert_eq!(op.outcome, Outcome::Unknown);
            assert_eq!(op.disposition, Disposition::Unreachable);
            if i == 0 {
                assert!(tried_and_unreachable(&op.detail), "{}", op.detail);
            } else {
                assert_eq!(op.detail, NOT_ASKED);
            }
        }
        drop(p);
        check_left_open(&path, &left);
    });
}
