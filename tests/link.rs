//! Issue 20: the link between a register and the platform, through a proxy
//! on loopback (tests/common/linkproxy.rs) that delays, closes idle
//! connections like a server, or forgets them silently like a NAT. Times
//! are scaled down; the keep-alive policy and `prepare` scale with them.

mod common;

use std::ffi::CString;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::linkproxy::{Link, LinkProxy};
use common::{c_abi, client_config, mismatches, start_sim, temp_dir, wechat_code};
use ystpay::ffi::client::{ystpay_client, ystpay_client_free, ystpay_client_from_config};
use ystpay::ffi::codes::{YSTPAY_ERR_CONFIG, YSTPAY_OK, YSTPAY_OUTCOME_PAID};
use ystpay::ffi::error::ystpay_last_error;
use ystpay::flow::{FlowConfig, Outcome, PayOrder, Payments, SettleOptions};
use ystpay::journal::Journal;
use ystpay::Client;

const READ_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(700);

fn flows(url: &str, keep_alive: Duration, name: &str) -> Payments {
    let mut cfg = client_config(url, READ_TIMEOUT, 21);
    cfg.connect_timeout = CONNECT_TIMEOUT;
    cfg.keep_alive = keep_alive;
    let client = Arc::new(Client::new(&cfg).unwrap());
    let journal = Arc::new(Journal::open(temp_dir(name).join("j.db")).unwrap());
    Payments::new(client, journal, FlowConfig::default()).unwrap()
}

/// Pays a quick-paid code and says how long it took.
fn pay(p: &Payments, n: u64) -> Duration {
    let t = Instant::now();
    let s = p
        .settle_pay(
            &PayOrder::new(100, wechat_code(n, 1)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(s.outcome, Outcome::Paid, "{s:?}");
    t.elapsed()
}

#[test]
fn a_connection_the_server_closed_while_idle_is_not_reused() {
    let sim = start_sim(1.0);
    let proxy = LinkProxy::start(
        sim.addr(),
        Link {
            one_way: Duration::from_millis(5),
            server_idle_close: Some(Duration::from_millis(300)),
            nat_idle_drop: None,
        },
    );
    let p = flows(
        &proxy.url_for(&sim.api_url()),
        Duration::from_secs(10),
        "link-fin",
    );
    pay(&p, 1);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(proxy.stats.closed_idle.load(Ordering::SeqCst), 1);
    let took = pay(&p, 2);
    assert!(took < CONNECT_TIMEOUT, "{took:?}");
    assert_eq!(proxy.accepted(), 2, "a fresh connection for the second");
    assert_eq!(proxy.stats.lost_bytes.load(Ordering::SeqCst), 0);
    assert!(mismatches(p.journal(), &sim.control()).is_empty());
}

#[test]
fn a_connection_idle_longer_than_keep_alive_is_not_trusted_past_a_nat() {
    let sim = start_sim(1.0);
    let proxy = LinkProxy::start(
        sim.addr(),
        Link {
            one_way: Duration::from_millis(5),
            server_idle_close: None,
            nat_idle_drop: Some(Duration::from_millis(500)),
        },
    );
    let p = flows(
        &proxy.url_for(&sim.api_url()),
        Duration::from_millis(400),
        "link-nat",
    );
    pay(&p, 1);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(proxy.stats.nat_dropped.load(Ordering::SeqCst), 1);
    let took = pay(&p, 2);
    // Never a read timeout on the forgotten connection.
    assert!(took < CONNECT_TIMEOUT, "{took:?}");
    assert_eq!(proxy.stats.lost_bytes.load(Ordering::SeqCst), 0);
    assert_eq!(proxy.accepted(), 2);
    assert!(mismatches(p.journal(), &sim.control()).is_empty());
}

#[test]
fn prepare_replaces_a_connection_a_nat_forgot_before_the_payment() {
    let sim = start_sim(1.0);
    let proxy = LinkProxy::start(
        sim.addr(),
        Link {
            one_way: Duration::from_millis(5),
            server_idle_close: None,
            nat_idle_drop: Some(Duration::from_millis(300)),
        },
    );
    // A keep-alive longer than this NAT's memory: only prepare can tell.
    let p = flows(
        &proxy.url_for(&sim.api_url()),
        Duration::from_secs(30),
        "link-prep",
    );
    pay(&p, 1);
    std::thread::sleep(Duration::from_millis(600));
    let t = Instant::now();
    p.prepare().unwrap();
    let prep = t.elapsed();
    assert!(prep < CONNECT_TIMEOUT * 2, "{prep:?}");
    let accepted = proxy.accepted();
    assert_eq!(accepted, 2, "prepare opened a fresh connection");
    let took = pay(&p, 2);
    assert!(took < CONNECT_TIMEOUT, "{took:?}");
    assert_eq!(proxy.accepted(), accepted, "the payment went out on it");
    assert!(mismatches(p.journal(), &sim.control()).is_empty());
}

#[test]
fn prepare_warms_the_link_without_a_serial() {
    let sim = start_sim(1.0);
    let proxy = LinkProxy::start(
        sim.addr(),
        Link {
            one_way: Duration::from_millis(40),
            server_idle_close: None,
            nat_idle_drop: None,
        },
    );
    let p = flows(
        &proxy.url_for(&sim.api_url()),
        Duration::from_secs(10),
        "link-warm",
    );
    let before = sim.control().request_count();
    p.prepare().unwrap();
    assert_eq!(proxy.accepted(), 1);
    assert_eq!(sim.control().request_count(), before, "no API request");
    assert!(p.journal().all_ops().unwrap().is_empty());
    let took = pay(&p, 1);
    assert_eq!(
        proxy.accepted(),
        1,
        "the payment used the prepared connection"
    );
    // One round trip (80 ms), not two.
    assert!(took < Duration::from_millis(150), "{took:?}");
}

/// A client the C ABI built from configuration text (`keep_alive_s` on
/// line 9, a journal of its own, register `reg`) for the platform at `url`:
/// the result code and the handle.
fn c_client(url: &str, keep_alive: &str, reg: u16) -> (i32, *mut ystpay_client) {
    let text = CString::new(format!(
        "server_url = {url}\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n\
         connect_timeout_ms = 700\nread_timeout_ms = 5000\njournal = {}\nregister_no = {reg}\n\
         keep_alive_s = {keep_alive}\n",
        temp_dir(&format!("link-keep-{reg}")).join("j.db").display()
    ))
    .unwrap();
    let mut c = std::ptr::null_mut();
    // SAFETY: NUL-terminated text, writable out pointer.
    let rc = unsafe { ystpay_client_from_config(text.as_ptr(), &mut c) };
    (rc, c)
}

fn last_error() -> String {
    let mut buf = [0 as std::os::raw::c_char; 1024];
    // SAFETY: buffer and size match.
    unsafe { ystpay_last_error(buf.as_mut_ptr(), buf.len() as i32, std::ptr::null_mut()) };
    // SAFETY: the library wrote a NUL-terminated message into buf.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The configuration's `keep_alive_s` is the keep-alive the transport
/// uses: after 1.4 s idle, a client configured with 1 s opens a new
/// connection for its next payment, one configured with 25 s reuses its
/// own; both pay. A value out of range makes no client.
#[test]
fn the_keep_alive_key_decides_which_idle_connection_is_reused() {
    let sim = start_sim(1.0);
    let proxy = LinkProxy::start(
        sim.addr(),
        Link {
            one_way: Duration::from_millis(2),
            server_idle_close: None,
            nat_idle_drop: None,
        },
    );
    let url = proxy.url_for(&sim.api_url());
    let (rc, short) = c_client(&url, "1", 31);
    assert_eq!(rc, YSTPAY_OK, "{}", last_error());
    let (rc, long) = c_client(&url, "25", 32);
    assert_eq!(rc, YSTPAY_OK, "{}", last_error());
    let paid = |c: *mut ystpay_client, n: u64| {
        let (rc, out) = c_abi::settle_pay(c, None, 100, &wechat_code(n, 1));
        assert_eq!((rc, out.outcome), (YSTPAY_OK, YSTPAY_OUTCOME_PAID));
    };
    paid(short, 1);
    paid(long, 2);
    assert_eq!(proxy.accepted(), 2);
    std::thread::sleep(Duration::from_millis(1400));
    paid(long, 3);
    assert_eq!(proxy.accepted(), 2, "25 s: the idle connection reused");
    paid(short, 4);
    assert_eq!(proxy.accepted(), 3, "1 s: a new connection");
    assert_eq!(proxy.stats.lost_bytes.load(Ordering::SeqCst), 0);
    // SAFETY: handles from ystpay_client_from_config, each freed once.
    unsafe {
        ystpay_client_free(short);
        ystpay_client_free(long);
    }

    for bad in ["0", "301", "2.5", "-1", "25s"] {
        let (rc, c) = c_client(&url, bad, 33);
        assert_eq!(rc, YSTPAY_ERR_CONFIG, "{bad}");
        assert!(c.is_null());
        let e = last_error();
        assert!(
            e.contains("line 9")
                && e.contains("'keep_alive_s' must be a whole number of seconds from 1 to 300"),
            "{e}"
        );
    }
}
