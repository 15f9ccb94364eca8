//! Serials never repeat for a device account (docs/DESIGN.md, "Serials"):
//! a ledger that cannot issue one stops the request before it is sent; the
//! ledger belongs to the journal, so a client freed beside another leaves
//! the other on it; and every request a flow sends, its own, its queries
//! and its revokes, carries a serial the platform has never seen, even
//! after the journal was restored from an older backup.

mod common;

use std::collections::HashMap;
use std::ffi::CString;
use std::path::Path;
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use ystpay::flow::{Outcome, PayOrder, SettleOptions};
use ystpay::journal::Journal;
use ystpay::protocol::messages::QueryPayRequest;
use ystpay::protocol::RequestEnvelope;
use ystpay::reqseq::Slot;
use ystpay::transport::{HttpSettings, HttpTransport, Transport, TransportError};
use ystpay::{Client, Payments};

const KEY: &str = "0123456789ABCDEF";

/// Makes the journal's ledger unwritable while the rest of the journal
/// works: every serial issued through it fails, as with a journal busy
/// past its timeout.
fn break_ledger(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER ledger_broken_insert BEFORE INSERT ON serials
             BEGIN SELECT RAISE(ABORT, 'the ledger is broken'); END;
         CREATE TRIGGER ledger_broken_update BEFORE UPDATE ON serials
             BEGIN SELECT RAISE(ABORT, 'the ledger is broken'); END;",
    )
    .unwrap();
}

fn flows(url: &str, journal: Arc<Journal>, register: u16) -> Payments {
    let cfg = client_config(url, Duration::from_millis(500), register);
    let client = Arc::new(Client::new(&cfg).unwrap());
    Payments::new(client, journal, flow_config(TIME_SCALE)).unwrap()
}

/// Item 1: a ledger failure is an error before anything is sent, never a
/// serial from memory.
#[test]
fn a_ledger_that_cannot_issue_a_serial_sends_nothing() {
    let sim = start_sim(TIME_SCALE);
    let dir = temp_dir("serials-broken");
    let path = dir.join("journal.db");
    // Broken before the flow opens: it cannot reserve its first block of
    // serials (docs/DESIGN.md, "The journal").
    let journal = Arc::new(Journal::open(&path).unwrap());
    break_ledger(&path);
    let p = flows(&sim.api_url(), journal, 41);

    let e = p
        .settle_pay(
            &PayOrder::new(100, wechat_code(4101, 1)),
            &SettleOptions::default(),
        )
        .expect_err("no serial, no payment");
    assert!(e.to_string().contains("ledger is broken"), "{e}");
    assert!(p.client().issue_req_seq().is_err());
    let mut q = QueryPayRequest {
        req_seq: String::new(),
        auth_code: None,
        ori_seq: "26010100000000410001".into(),
    };
    let e = p
        .client()
        .query_pay(&mut q)
        .expect_err("no serial, no query");
    assert!(e.nothing_sent(), "{e}");
    assert_eq!(
        sim.control().request_count(),
        0,
        "nothing reached the platform"
    );
    assert!(p.journal().all_ops().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 1 at the C boundary: `ystpay_next_req_seq` and a settle call that
/// generates its serial say YSTPAY_ERR_JOURNAL, and send nothing.
#[test]
fn the_c_calls_report_a_ledger_failure() {
    use ystpay::ffi::client::*;
    use ystpay::ffi::codes::*;
    let sim = start_sim(TIME_SCALE);
    let dir = temp_dir("serials-c");
    let path = dir.join("journal.db");
    let cs = |s: &str| CString::new(s).unwrap();
    let (u, a, pw, k, j) = (
        cs(&sim.api_url()),
        cs("demo"),
        cs("demo123"),
        cs(KEY),
        cs(&path.to_string_lossy()),
    );
    let mut c = ptr::null_mut();
    // SAFETY: NUL-terminated strings, a writable out pointer.
    let rc = unsafe {
        ystpay_client_new_ex(
            u.as_ptr(),
            a.as_ptr(),
            pw.as_ptr(),
            k.as_ptr(),
            300,
            1500,
            0,
            0,
            j.as_ptr(),
            0,
            &mut c,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    let before = sim.control().request_count();
    let mut buf = [0 as std::ffi::c_char; 32];
    // SAFETY: a live handle and a 32-byte buffer.
    let rc = unsafe { ystpay_next_req_seq(c, buf.as_mut_ptr(), 32, ptr::null_mut()) };
    assert_eq!(rc, YSTPAY_OK);
    break_ledger(&path);
    // The serials of the block reserved before the break were recorded
    // and are handed out; then no new block, no serial.
    let mut issued = 0;
    let rc = loop {
        // SAFETY: as above.
        let rc = unsafe { ystpay_next_req_seq(c, buf.as_mut_ptr(), 32, ptr::null_mut()) };
        if rc != YSTPAY_OK || issued > ystpay::journal::SERIAL_BLOCK {
            break rc;
        }
        issued += 1;
    };
    assert_eq!(rc, YSTPAY_ERR_JOURNAL, "after {issued} serials");
    let (rc, _) = c_abi::settle_pay(c, None, 100, &wechat_code(4102, 1));
    assert_eq!(rc, YSTPAY_ERR_JOURNAL);
    assert_eq!(sim.control().request_count(), before, "nothing sent");
    // SAFETY: the handle is live and freed once.
    unsafe { ystpay_client_free(c) };
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 2: two clients of one register, each with the journal file opened
/// on its own; the second is freed; the first's serials, its flows' and
/// its own, still go through the journal: a later program on the file
/// continues after them.
#[test]
fn a_client_freed_beside_another_leaves_it_on_the_journal() {
    let sim = start_sim(TIME_SCALE);
    let dir = temp_dir("serials-two");
    let path = dir.join("journal.db");
    let a = flows(&sim.api_url(), Arc::new(Journal::open(&path).unwrap()), 42);
    let b = flows(&sim.api_url(), Arc::new(Journal::open(&path).unwrap()), 42);
    let from_b = b.client().issue_req_seq().unwrap();
    drop(b);

    let mut issued = vec![from_b];
    for _ in 0..20 {
        issued.push(a.client().issue_req_seq().unwrap());
    }
    // A payment with a password wait: its own serial and its queries.
    let s = a
        .settle_pay(
            &PayOrder::new(300, wechat_code(4201, 51)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(s.outcome, Outcome::Paid, "{s:?}");
    let attempts = a.journal().attempts("demo", &s.req_seq).unwrap();
    assert!(attempts.iter().any(|t| t.what.starts_with("query")));
    issued.extend(attempts.into_iter().map(|t| t.req_seq));
    let last = issued.iter().max().unwrap().clone();
    drop(a);

    // A later program on the journal, its clock wherever: the ledger is
    // past every serial the first client issued.
    let later = Journal::open(&path).unwrap();
    let next = later
        .issue_serial(
            "demo",
            42,
            Slot {
                second: 0,
                counter: 0,
            },
        )
        .unwrap()
        .render(42);
    assert!(next > last, "the ledger issued {next}, not after {last}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// What went out: every request's type, serial and `ori_seq`.
#[derive(Default)]
struct Sent(Mutex<Vec<(String, String, String)>>);

/// A transport that notes every request it sends.
struct Recording {
    inner: HttpTransport,
    sent: Arc<Sent>,
}

fn field(xml: &str, name: &str) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split_once(&open)
        .and_then(|(_, rest)| rest.split_once(&close))
        .map(|(v, _)| v.to_string())
        .unwrap_or_default()
}

impl Transport for Recording {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let env = RequestEnvelope::parse(std::str::from_utf8(body).unwrap()).unwrap();
        let plain = env.open(KEY).unwrap();
        self.sent.0.lock().unwrap().push((
            env.request_type.clone(),
            field(&plain, "req_seq"),
            field(&plain, "ori_seq"),
        ));
        self.inner.post(url, body)
    }
}

fn recorded_flows(url: &str, path: &Path, sent: &Arc<Sent>) -> Payments {
    let cfg = client_config(url, Duration::from_millis(500), 43);
    let inner = HttpTransport::new(&HttpSettings {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_millis(500),
        proxy: None,
        ..HttpSettings::default()
    })
    .unwrap();
    let t = Recording {
        inner,
        sent: sent.clone(),
    };
    let client = Client::with_transport(&cfg, Arc::new(t)).unwrap();
    let journal = Arc::new(Journal::open(path).unwrap());
    Payments::new(Arc::new(client), journal, flow_config(TIME_SCALE)).unwrap()
}

/// Payments with a password wait (queries), one revoked at its deadline
/// (a revoke), one paid at once.
fn some_payments(p: &Payments, salt: u64) {
    let paid = p
        .settle_pay(
            &PayOrder::new(100, wechat_code(salt, 51)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(paid.outcome, Outcome::Paid, "{paid:?}");
    let short = SettleOptions {
        deadline: Some(Duration::from_millis(40)),
        ..SettleOptions::default()
    };
    let revoked = p
        .settle_pay(&PayOrder::new(200, wechat_code(salt + 1, 59)), &short)
        .unwrap();
    assert_eq!(revoked.outcome, Outcome::Revoked, "{revoked:?}");
    let at_once = p
        .settle_pay(
            &PayOrder::new(300, wechat_code(salt + 2, 3)),
            &SettleOptions::default(),
        )
        .unwrap();
    assert_eq!(at_once.outcome, Outcome::Paid, "{at_once:?}");
}

/// Every serial that went out twice for different requests: a serial
/// resent must be the same request (a retry of one operation, or of its
/// revoke), and a query's is never resent.
fn reused(sent: &Sent) -> Vec<String> {
    let mut first: HashMap<&str, (&str, &str)> = HashMap::new();
    let mut problems = Vec::new();
    let sent = sent.0.lock().unwrap();
    for (kind, seq, ori) in sent.iter() {
        match first.get(seq.as_str()) {
            None => {
                first.insert(seq, (kind, ori));
            }
            Some(&(k, o)) if k != kind || o != ori || kind.contains("query") => {
                problems.push(format!("{seq}: {k} of '{o}', then {kind} of '{ori}'"))
            }
            Some(_) => {}
        }
    }
    problems
}

/// Item 3: a journal restored from an older backup (its ledger row and
/// its operations behind what the platform saw) still issues no serial
/// the platform saw, for an operation, a query or a revoke.
#[test]
fn a_journal_restored_from_a_backup_never_reissues_a_serial_the_platform_saw() {
    let sim = start_sim(TIME_SCALE);
    let dir = temp_dir("serials-backup");
    let path = dir.join("journal.db");
    let backup = dir.join("backup.db");
    let sent = Arc::new(Sent::default());

    let p = recorded_flows(&sim.api_url(), &path, &sent);
    some_payments(&p, 4300);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("VACUUM INTO ?1", [backup.to_string_lossy()])
        .unwrap();
    some_payments(&p, 4310);
    drop(p);

    // The register's disk is replaced: the backup comes back.
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
    std::fs::copy(&backup, &path).unwrap();
    let p = recorded_flows(&sim.api_url(), &path, &sent);
    some_payments(&p, 4320);
    drop(p);

    let problems = reused(&sent);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(sent.0.lock().unwrap().len() >= 12);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Threads issuing serials (`issue_req_seq`: the generator, then the
/// journal's block) beside threads beginning payments (the journal's
/// block, then the generator's candidate) on one journal: the two orders
/// of taking those locks once deadlocked two threads settling at once. A
/// watchdog turns a deadlock into a failure instead of a hung run; every
/// serial issued is distinct.
#[test]
fn serials_issued_beside_payments_begun_on_one_journal_never_deadlock() {
    let sim = start_sim(TIME_SCALE);
    let (p, _path) = payments(&sim, TIME_SCALE, "serials-deadlock");
    let p = Arc::new(p);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let mut workers = Vec::new();
    for t in 0..6u64 {
        let (p, done) = (p.clone(), done_tx.clone());
        workers.push(std::thread::spawn(move || {
            let mut seqs = Vec::new();
            for i in 0..40u64 {
                if t % 2 == 0 {
                    seqs.push(p.issue_req_seq().unwrap());
                } else {
                    let code = wechat_code(std::process::id() as u64 * 1000 + t * 100 + i, 1);
                    let s = p
                        .settle_pay(&PayOrder::new(100, code), &SettleOptions::default())
                        .unwrap();
                    assert_eq!(s.outcome, Outcome::Paid);
                    seqs.push(s.req_seq);
                }
            }
            done.send(()).unwrap();
            seqs
        }));
    }
    for _ in 0..workers.len() {
        done_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("a thread is stuck: serials and payments deadlocked on the journal");
    }
    let mut all = std::collections::HashSet::new();
    for w in workers {
        for s in w.join().unwrap() {
            assert!(all.insert(s.clone()), "serial {s} issued twice");
        }
    }
    assert_eq!(all.len(), 240);
    sim.shutdown();
}
