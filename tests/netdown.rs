//! "Not sent" means not sent (docs/DESIGN.md, `transport`): a failure before
//! any byte of the request could leave is `Error::NotSent` (retry is safe);
//! a failure on a connection that was established or kept alive is
//! `Error::OutcomeUnknown`, whatever its errno.
//!
//! The network faults run the library's real `Client` inside a network
//! namespace the test makes itself (tests/common/netns.rs), against
//! 10.77.0.1, which exists only in there: nothing leaves the machine. The
//! kept-alive connections run on loopback.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::netns::{self, Netns};
use ystpay::protocol::messages::PayRequest;
use ystpay::{Client, Error, Rejection};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Reachable only inside the namespaces below.
const BY_ADDRESS: &str = netns::PLATFORM_BY_ADDRESS;
const BY_NAME: &str = netns::PLATFORM_BY_NAME;
const NAMESERVER: &str = netns::NAMESERVER;

fn client(url: &str) -> Client {
    let mut c = common::client_config(url, Duration::from_secs(2), 1);
    c.connect_timeout = CONNECT_TIMEOUT;
    c.allow_http = true;
    Client::new(&c).unwrap()
}

/// One payment; its outcome and how long it took.
fn pay(c: &Client) -> (Result<(), Error>, Duration) {
    let mut req = PayRequest::new("", 100, common::wechat_code(17, 0).as_str());
    let t = Instant::now();
    let r = c.pay(&mut req).map(|_| ());
    (r, t.elapsed())
}

/// Asserts a payment through `url` is not sent, within `within`.
fn not_sent_within(url: &str, within: Duration) {
    let (r, took) = pay(&client(url));
    println!("{url}: {r:?} after {took:?}");
    assert!(matches!(r, Err(Error::NotSent(_))), "{r:?}");
    assert!(took <= within, "took {took:?}, more than {within:?}");
}

fn router_without_upstream() -> Netns {
    Netns::router_without_upstream()
}

// ------------------------------------------------------ before the request

/// Cable out: no route but loopback. connect fails at once (ENETUNREACH).
#[test]
fn cable_out() {
    netns::run("cable_out", &Netns::loopback_only(), || {
        not_sent_within(BY_ADDRESS, CONNECT_TIMEOUT / 2);
    });
}

/// A route that says the host cannot be reached: connect fails at once
/// (EHOSTUNREACH).
#[test]
fn host_unreachable() {
    let net = Netns::loopback_only().ip("route add unreachable 10.77.0.0/24");
    netns::run("host_unreachable", &net, || {
        not_sent_within(BY_ADDRESS, CONNECT_TIMEOUT / 2);
    });
}

/// DNS down: no route to the name server, the lookup fails at once
/// (glibc: "Temporary failure in name resolution", an io error of kind
/// Uncategorized).
#[test]
fn dns_down() {
    let net = Netns::loopback_only().dns_only(NAMESERVER);
    netns::run("dns_down", &net, || {
        not_sent_within(BY_NAME, CONNECT_TIMEOUT / 2);
    });
}

/// Router up, no upstream: the SYN goes nowhere, connect times out.
#[test]
fn router_up_no_upstream() {
    netns::run("router_up_no_upstream", &router_without_upstream(), || {
        not_sent_within(BY_ADDRESS, CONNECT_TIMEOUT + Duration::from_secs(2));
    });
}

/// Router up, no upstream, and the platform given by name: the name server
/// never answers, the lookup times out.
#[test]
fn dns_behind_router_no_upstream() {
    let net = router_without_upstream().dns_only(NAMESERVER);
    netns::run("dns_behind_router_no_upstream", &net, || {
        not_sent_within(BY_NAME, CONNECT_TIMEOUT + Duration::from_secs(2));
    });
}

// ------------------------------------------- on a kept-alive connection

/// What the server does with the second request, which comes on the
/// connection kept alive after the first answer.
#[derive(Clone, Copy, Debug)]
enum Second {
    /// Reads it whole, then resets the connection (SO_LINGER 0).
    ResetAfterReading,
    /// Closes without reading it: the unread bytes make the kernel reset.
    CloseUnread,
    /// Reads it, sends half an answer and closes.
    HalfAnswer,
    /// Closes the idle connection after the first answer and stops
    /// listening, before the second request is made.
    CloseIdleAndStop,
}

/// A server on loopback whose first answer is a complete keep-alive 200
/// (a body the client rejects, which does not matter here) and which then
/// does `second`. Its thread returns how many connections it accepted.
fn keep_alive_server(second: Second) -> (String, std::sync::mpsc::Receiver<()>, JoinHandle<usize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/ystpay/service/unitive.api",
        l.local_addr().unwrap()
    );
    let (idle_tx, idle_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf);
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        if let Second::CloseIdleAndStop = second {
            drop(s);
            drop(l);
            idle_tx.send(()).unwrap();
            return 1;
        }
        drop(idle_tx);
        match second {
            Second::ResetAfterReading => {
                read_request(&mut s, &mut buf);
                let s = tokio::net::TcpSocket::from_std_stream(s);
                s.set_zero_linger().unwrap();
            }
            Second::CloseUnread => {
                let mut one = [0u8; 1];
                assert_eq!(s.peek(&mut one).unwrap(), 1);
                // Let the rest of the request arrive, unread.
                std::thread::sleep(Duration::from_millis(100));
            }
            Second::HalfAnswer => {
                read_request(&mut s, &mut buf);
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<?xml ")
                    .unwrap();
            }
            Second::CloseIdleAndStop => unreachable!(),
        }
        l.set_nonblocking(true).unwrap();
        1 + std::iter::from_fn(|| l.accept().ok()).count()
    });
    (url, idle_rx, server)
}

/// Reads one request (head and Content-Length body) from `s`; `buf` holds
/// what was read beyond it.
fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + len {
                buf.drain(..end + 4 + len);
                return;
            }
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The first payment gets its (rejected) answer; returns the second's.
fn second_payment(second: Second) -> (Result<(), Error>, usize) {
    let (url, idle, server) = keep_alive_server(second);
    let c = client(&url);
    let (first, _) = pay(&c);
    assert!(
        matches!(first, Err(Error::Rejected(Rejection::Malformed(_)))),
        "{first:?}"
    );
    // Only CloseIdleAndStop sends; the others hang up without a word.
    let _ = idle.recv();
    let (r, took) = pay(&c);
    let connections = server.join().unwrap();
    println!("{second:?}: {r:?} after {took:?}, {connections} connection(s)");
    (r, connections)
}

#[test]
fn kept_alive_connection_reset_after_the_request_is_unknown() {
    let (r, connections) = second_payment(Second::ResetAfterReading);
    assert!(matches!(r, Err(Error::OutcomeUnknown(_))), "{r:?}");
    assert_eq!(connections, 1, "the second request took a new connection");
}

#[test]
fn kept_alive_connection_closed_with_the_request_unread_is_unknown() {
    let (r, connections) = second_payment(Second::CloseUnread);
    assert!(matches!(r, Err(Error::OutcomeUnknown(_))), "{r:?}");
    assert_eq!(connections, 1, "the second request took a new connection");
}

#[test]
fn kept_alive_connection_closed_halfway_through_the_answer_is_unknown() {
    let (r, connections) = second_payment(Second::HalfAnswer);
    assert!(matches!(r, Err(Error::OutcomeUnknown(_))), "{r:?}");
    assert_eq!(connections, 1, "the second request took a new connection");
}

/// ureq probes a kept-alive connection before it reuses it: one the server
/// closed while idle is dropped unused, and the request goes to a new
/// connection, which is refused here. Nothing was written: not sent.
#[test]
fn kept_alive_connection_closed_while_idle_is_not_used() {
    let (r, _) = second_payment(Second::CloseIdleAndStop);
    assert!(matches!(r, Err(Error::NotSent(_))), "{r:?}");
}
