//! A small loopback receiver for payment notifications (API §5.5), as a
//! shop's server would run one: read the body, let the client prove it paid
//! (`Client::prove_paid`: a signed `S`, or a query that confirms it), answer
//! `<result>Y</result>` — duplicates too — and report each paid order once;
//! anything else is answered `N`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ystpay::client::{notice_reply, NoticeProof};
use ystpay::protocol::OrderNotice;
use ystpay::reading::Expected;
use ystpay::Client;

/// A notification that was accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Its fields.
    pub notice: OrderNotice,
    /// True when it came signed; false when a query confirmed it.
    pub signed: bool,
    /// How many times this order's notice has arrived so far.
    pub deliveries: u32,
}

/// A running receiver; stops when dropped.
pub struct NoticeReceiver {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Accepted notices, each order once.
    pub accepted: Receiver<Accepted>,
    /// Bodies that were refused (and why), e.g. a bad signature.
    pub refused: Receiver<String>,
}

/// Most bytes of a notification body read.
const MAX_BODY: usize = 64 * 1024;

impl NoticeReceiver {
    /// Binds 127.0.0.1 on a free port; returns the listener and the URL to
    /// give the platform. Bind first, so the simulator can be told the URL
    /// before the client that will check the notices exists.
    pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<(TcpListener, String)> {
        let listener = TcpListener::bind(addr)?;
        let url = format!("http://{}/notify", listener.local_addr()?);
        Ok((listener, url))
    }

    /// Serves POSTed notifications on `listener` until dropped.
    pub fn start(listener: TcpListener, client: Arc<Client>) -> std::io::Result<NoticeReceiver> {
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, accepted) = channel();
        let (rtx, refused) = channel();
        let seen = Arc::new(Mutex::new(HashSet::<String>::new()));
        let counts = Arc::new(Mutex::new(std::collections::HashMap::<String, u32>::new()));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("notify-receiver".into())
            .spawn(move || {
                while !stop2.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = handle(stream, &client, &tx, &rtx, &seen, &counts);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })?;
        Ok(NoticeReceiver {
            stop,
            thread: Some(thread),
            accepted,
            refused,
        })
    }
}

impl Drop for NoticeReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(
    stream: TcpStream,
    client: &Client,
    tx: &Sender<Accepted>,
    refused: &Sender<String>,
    seen: &Mutex<HashSet<String>>,
    counts: &Mutex<std::collections::HashMap<String, u32>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let t = line.trim_end();
        if t.is_empty() {
            break;
        }
        if let Some((k, v)) = t.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut out = stream;
    if !request_line.starts_with("POST ") || length > MAX_BODY {
        return respond(
            &mut out,
            "400 Bad Request",
            "text/plain",
            "POST a notification",
        );
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    // No journal here: the notice's own amount is the one a query must show.
    let verdict = client.read_notice(&body).and_then(|n| {
        let proof = client.prove_paid(&n, &Expected::default())?;
        Ok((n, proof))
    });
    match verdict {
        Ok((n, proof)) => {
            let key = n.notice.trans_seq.clone().unwrap_or_default();
            let deliveries = {
                let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
                let e = c.entry(key.clone()).or_insert(0);
                *e += 1;
                *e
            };
            let first = seen.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
            // Answer before reporting, so the platform stops retrying.
            respond(
                &mut out,
                "200 OK",
                "text/xml; charset=UTF-8",
                &notice_reply(true, "成功"),
            )?;
            if first {
                let _ = tx.send(Accepted {
                    notice: n.notice,
                    signed: proof == NoticeProof::Signature,
                    deliveries,
                });
            }
            Ok(())
        }
        Err(e) => {
            let _ = refused.send(e.to_string());
            respond(
                &mut out,
                "200 OK",
                "text/xml; charset=UTF-8",
                &notice_reply(false, "rejected"),
            )
        }
    }
}

fn respond(out: &mut TcpStream, status: &str, ctype: &str, body: &str) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}
