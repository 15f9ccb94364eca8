//! A TCP proxy on loopback standing between a register and the platform,
//! to simulate its link (issue 20): a delay each way, a new connection that
//! costs one round trip before its first byte goes through (the TCP
//! handshake of a real link), a server that closes connections idle for a
//! while (a FIN the client can see), and a NAT that silently forgets them
//! (it stops forwarding: no FIN, no RST; what the client writes is lost).
//! Used by tests/link.rs and benches/durable.rs. Loopback only.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the link does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Link {
    /// Delay each way (half the round trip).
    pub one_way: Duration,
    /// The server closes a connection idle this long (FIN to the client).
    pub server_idle_close: Option<Duration>,
    /// The NAT forgets a connection idle this long: it forwards nothing
    /// more, in either direction, and tells no one.
    pub nat_idle_drop: Option<Duration>,
}

/// What happened on the link.
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections the client opened.
    pub accepted: AtomicUsize,
    /// Connections closed by the "server" for being idle.
    pub closed_idle: AtomicUsize,
    /// Connections the "NAT" forgot.
    pub nat_dropped: AtomicUsize,
    /// Bytes the client wrote on a forgotten connection (lost).
    pub lost_bytes: AtomicUsize,
}

/// The running proxy; stops forwarding new connections when dropped.
pub struct LinkProxy {
    addr: SocketAddr,
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

const LIVE: u8 = 0;
const DEAD: u8 = 1; // forgotten by the NAT
const CLOSED: u8 = 2;

struct Conn {
    state: AtomicU8,
    last: Mutex<Instant>,
    opened: Instant,
}

impl LinkProxy {
    /// A proxy on 127.0.0.1 to `upstream`.
    pub fn start(upstream: SocketAddr, link: Link) -> LinkProxy {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = l.local_addr().unwrap();
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (stats.clone(), stop.clone());
        // A blocking accept, woken by a connection of our own when dropped:
        // a connection's handshake delay counts from when it is accepted,
        // and polling would add up to its period to every new connection.
        std::thread::spawn(move || loop {
            let accepted = l.accept();
            if stop2.load(Ordering::Relaxed) {
                return;
            }
            match accepted {
                Ok((c, _)) => {
                    s2.accepted.fetch_add(1, Ordering::SeqCst);
                    let s3 = s2.clone();
                    std::thread::spawn(move || serve(c, upstream, link, s3));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        });
        LinkProxy { addr, stats, stop }
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (the platform's) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        format!("http://{}{path}", self.addr)
    }

    pub fn accepted(&self) -> usize {
        self.stats.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(client: TcpStream, upstream: SocketAddr, link: Link, stats: Arc<Stats>) {
    let opened = Instant::now();
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let conn = Arc::new(Conn {
        state: AtomicU8::new(LIVE),
        last: Mutex::new(Instant::now()),
        opened,
    });
    let up = pump(
        client.try_clone().unwrap(),
        server.try_clone().unwrap(),
        link,
        conn.clone(),
        stats.clone(),
        true,
    );
    let down = pump(
        server.try_clone().unwrap(),
        client.try_clone().unwrap(),
        link,
        conn.clone(),
        stats.clone(),
        false,
    );
    // The idle watch: the server's close, the NAT's silence.
    loop {
        std::thread::sleep(Duration::from_millis(5));
        if up.is_finished() && down.is_finished() {
            return;
        }
        let idle = conn.last.lock().unwrap().elapsed();
        let state = conn.state.load(Ordering::SeqCst);
        if state != LIVE {
            continue;
        }
        if link.nat_idle_drop.is_some_and(|d| idle >= d) {
            conn.state.store(DEAD, Ordering::SeqCst);
            stats.nat_dropped.fetch_add(1, Ordering::SeqCst);
            // Nothing is sent to either side; the server side is closed
            // quietly later (the client never hears of it).
        } else if link.server_idle_close.is_some_and(|d| idle >= d) {
            conn.state.store(CLOSED, Ordering::SeqCst);
            stats.closed_idle.fetch_add(1, Ordering::SeqCst);
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
    }
}

/// Forwards `from` to `to` with the link's delay; `upstream` is the
/// client-to-server direction, which waits for the handshake's round trip.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    link: Link,
    conn: Arc<Conn>,
    stats: Arc<Stats>,
    upstream: bool,
) -> std::thread::JoinHandle<()> {
    let (tx, rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>();
    let c2 = conn.clone();
    std::thread::spawn(move || {
        for (due, bytes) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            match bytes {
                Some(b) => {
                    if c2.state.load(Ordering::SeqCst) == DEAD {
                        continue;
                    }
                    *c2.last.lock().unwrap() = Instant::now();
                    if to.write_all(&b).is_err() {
                        return;
                    }
                }
                None => {
                    if c2.state.load(Ordering::SeqCst) != DEAD {
                        let _ = to.shutdown(Shutdown::Write);
                    }
                    return;
                }
            }
        }
    });
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send((Instant::now() + link.one_way, None));
                    return;
                }
                Ok(n) => n,
            };
            if conn.state.load(Ordering::SeqCst) == DEAD {
                if upstream {
                    stats.lost_bytes.fetch_add(n, Ordering::SeqCst);
                }
                continue;
            }
            *conn.last.lock().unwrap() = Instant::now();
            let mut due = Instant::now() + link.one_way;
            if upstream {
                // A new connection's first bytes leave after the handshake's
                // round trip, as on a real link.
                due = due.max(conn.opened + link.one_way * 3);
            }
            if tx.send((due, Some(buf[..n].to_vec()))).is_err() {
                return;
            }
        }
    })
}
