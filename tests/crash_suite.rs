//! The crash suite: a child process paying through the library is killed
//! with SIGKILL at each step — before the payment is sent, after it was sent
//! (answer not read), while polling, while revoking, after a revoke was
//! answered, and after an answer but before the journal update; refunds
//! and native orders likewise. A new process then opens the same journal,
//! recovers, and the journal must end equal to the simulator's truth:
//! nothing lost, nothing doubled.
//!
//! The child is this same test binary, re-run with `crash_child` and
//! `YSTPAY_CRASH_CHILD` set; the crash points exist only under the
//! `crash-points` feature (enabled for tests by the self dev-dependency).
//! Unix only: it kills with SIGKILL.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ystpay::flow::{NewOrder, OrderSpec, OrderStart, Outcome, PayOrder, SettleOptions};
use ystpay::journal::{Journal, OpKind, OpState};
use ystpay::protocol::Channel;
use ystpay::transport::{HttpSettings, HttpTransport, Transport, TransportError};
use ystpay::{Client, Payments};
use ystpay_sim::TrueStatus;

const SCALE: f64 = 50.0;
const MARKER: &str = "YSTPAY-CRASH-POINT ";

/// Crashes right after the first request was delivered and answered, before
/// the library reads the answer ("after send").
struct CrashAfterSend {
    inner: HttpTransport,
    armed: std::sync::atomic::AtomicBool,
}

impl Transport for CrashAfterSend {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let r = self.inner.post(url, body);
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{MARKER}after-send");
            let _ = out.flush();
            drop(out);
            std::thread::sleep(Duration::from_secs(60));
            std::process::abort();
        }
        r
    }
}

fn child_payments(url: &str, journal: &str, register: u16) -> Payments {
    let cfg = client_config(url, Duration::from_millis(500), register);
    let inner = HttpTransport::new(&HttpSettings {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_millis(500),
        proxy: None,
        ..HttpSettings::default()
    })
    .unwrap();
    let after_send = std::env::var("YSTPAY_CRASH_AT").ok().as_deref() == Some("after-send");
    let transport = Arc::new(CrashAfterSend {
        inner,
        armed: after_send.into(),
    });
    let client = Client::with_transport(&cfg, transport).unwrap();
    let journal = Arc::new(Journal::open(journal).unwrap());
    let scale = std::env::var("YSTPAY_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SCALE);
    Payments::new(Arc::new(client), journal, flow_config(scale)).unwrap()
}

/// The child: does what `YSTPAY_CRASH_CHILD` says and prints the result.
/// A no-op in an ordinary test run.
#[test]
fn crash_child() {
    let Ok(mode) = std::env::var("YSTPAY_CRASH_CHILD") else {
        return;
    };
    let url = std::env::var("YSTPAY_SIM_URL").unwrap();
    let journal = std::env::var("YSTPAY_JOURNAL").unwrap();
    let deadline = std::env::var("YSTPAY_DEADLINE_MS")
        .ok()
        .map(|v| Duration::from_millis(v.parse().unwrap()));
    let opts = SettleOptions {
        deadline,
        ..SettleOptions::default()
    };
    let code = std::env::var("YSTPAY_CODE").unwrap_or_default();
    match mode.as_str() {
        "pay" => {
            let p = child_payments(&url, &journal, 11);
            let s = p.settle_pay(&PayOrder::new(1234, code), &opts).unwrap();
            println!("CHILD-RESULT {} {}", s.outcome, s.req_seq);
        }
        "refund" => {
            // A paid payment first (no crash point on the way: the crash
            // points named refund-* come after it), then the refund.
            let p = child_payments(&url, &journal, 12);
            let s = p.settle_pay(&PayOrder::new(1000, code), &opts).unwrap();
            assert_eq!(s.outcome, Outcome::Paid);
            let r = p.settle_refund(&s.req_seq, 400, "退货", &opts).unwrap();
            println!("CHILD-RESULT {} {}", r.outcome, r.req_seq);
        }
        "native" => {
            let p = child_payments(&url, &journal, 13);
            let order = NewOrder {
                total_fee: 880,
                channel: Channel::WeChat,
                spec: OrderSpec::Native {
                    expire_secs: Some(300),
                },
            };
            match p.create_order(&order, &opts).unwrap() {
                OrderStart::Waiting(t) => {
                    let s = p.await_order(&t.req_seq, &opts).unwrap();
                    println!("CHILD-RESULT {} {}", s.outcome, s.req_seq);
                }
                OrderStart::Ended(s) => println!("CHILD-RESULT {} {}", s.outcome, s.req_seq),
            }
        }
        "serials" => {
            // A register on the journal, its clock stepped by
            // YSTPAY_CLOCK_STEP_MS, prints the serials it issues.
            let step: i64 = std::env::var("YSTPAY_CLOCK_STEP_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            ystpay::time::testing::step_clock(step);
            let p = child_payments(&url, &journal, 17);
            for _ in 0..200 {
                println!("SERIAL {}", p.issue_req_seq().unwrap());
            }
        }
        "recover" => {
            // A new process on the same journal, right after the kill:
            // one recovery, no waiting for anything to run out.
            let p = child_payments(&url, &journal, 14);
            let r = p.recover(&SettleOptions::default()).unwrap();
            for o in &r.ops {
                println!(
                    "RECOVERY {:?} {} {} {}",
                    o.disposition, o.kind, o.req_seq, o.state
                );
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// Runs a child; when it reports the crash point, SIGKILLs it. Returns the
/// child's stdout lines and whether it was killed at the point.
fn run_child(mode: &str, crash_at: Option<&str>, env: &[(&str, String)]) -> (Vec<String>, bool) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("YSTPAY_CRASH_CHILD", mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    match crash_at {
        Some(p) => cmd.env("YSTPAY_CRASH_AT", p),
        None => cmd.env_remove("YSTPAY_CRASH_AT"),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut killed = false;
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(MARKER);
                lines.push(line);
                if hit {
                    child.kill().unwrap(); // SIGKILL
                    killed = true;
                    break;
                }
            }
            Err(_) => break, // EOF (child ended) or timeout
        }
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    if killed {
        assert_eq!(status.signal(), Some(9), "child killed by SIGKILL");
    } else {
        assert!(status.success(), "child failed: {status:?}\n{lines:#?}");
    }
    (lines, killed)
}

struct Case {
    mode: &'static str,
    point: &'static str,
    code: String,
    deadline_ms: Option<u64>,
}

fn check_journal(path: &Path, ctl: &ystpay_sim::Control, case: &str) -> Vec<String> {
    let journal = Journal::open(path).unwrap();
    let mut problems = mismatches(&journal, ctl);
    for p in problems.iter_mut() {
        p.insert_str(0, &format!("[{case}] "));
    }
    for o in journal.all_ops().unwrap() {
        if o.kind.takes_money() {
            if let Some(t) = ctl.order("demo", &o.req_seq) {
                if t.pay_count > 1 {
                    problems.push(format!("[{case}] {} paid {} times", o.req_seq, t.pay_count));
                }
            }
        }
    }
    problems
}

#[test]
fn killed_at_every_step_then_recovered_by_a_new_process() {
    let sim = start_sim(SCALE);
    let ctl = sim.control();
    let w = |salt: u64, last2: u8| wechat_code(900 + salt, last2);
    let cases = vec![
        // Payment: each step of the flow.
        Case {
            mode: "pay",
            point: "pay-before-send",
            code: w(1, 0),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "after-send",
            code: w(2, 0),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "after-send",
            code: w(3, 55),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "pay-after-answer",
            code: w(4, 0),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "pay-after-answer",
            code: w(5, 81),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "pay-polling",
            code: w(6, 55),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "pay-polling",
            code: w(7, 50),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "pay-polling",
            code: w(8, 62),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "pay-revoking",
            code: w(9, 50),
            deadline_ms: Some(40),
        },
        Case {
            mode: "pay",
            point: "revoke-after-answer",
            code: w(10, 50),
            deadline_ms: Some(40),
        },
        Case {
            mode: "pay",
            point: "answer-before-journal",
            code: w(11, 0),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "answer-before-journal",
            code: w(12, 72),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "answer-before-journal",
            code: w(13, 53),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "answer-before-journal",
            code: w(14, 50),
            deadline_ms: Some(40),
        },
        // Recovery comes at once, while the customer is still entering the
        // password: it revokes (the cashier is no longer waiting for it).
        Case {
            mode: "pay",
            point: "pay-polling",
            code: w(15, 59),
            deadline_ms: None,
        },
        // Between the merged writes (issue 20): polls answered W, their
        // rows and serials not yet written (the serials lie in a block the
        // ledger recorded).
        Case {
            mode: "pay",
            point: "pay-rows-unwritten",
            code: w(16, 55),
            deadline_ms: None,
        },
        Case {
            mode: "pay",
            point: "pay-rows-unwritten",
            code: w(17, 62),
            deadline_ms: None,
        },
        // Refund: before it is sent, after its answer, before the journal update.
        Case {
            mode: "refund",
            point: "refund-step",
            code: w(20, 0),
            deadline_ms: None,
        },
        Case {
            mode: "refund",
            point: "refund-after-answer",
            code: w(21, 0),
            deadline_ms: None,
        },
        // Native order: before it is created, after creation, while waiting.
        Case {
            mode: "native",
            point: "order-before-send",
            code: String::new(),
            deadline_ms: Some(100),
        },
        Case {
            mode: "native",
            point: "order-after-answer",
            code: String::new(),
            deadline_ms: Some(100),
        },
        Case {
            mode: "native",
            point: "order-polling",
            code: String::new(),
            deadline_ms: Some(100),
        },
    ];
    let mut problems = Vec::new();
    let mut err = std::io::stderr();
    for (i, c) in cases.iter().enumerate() {
        let dir = temp_dir(&format!("crash-{i}"));
        let path = dir.join("journal.db");
        let mut env = vec![
            ("YSTPAY_SIM_URL", sim.api_url()),
            ("YSTPAY_JOURNAL", path.display().to_string()),
            ("YSTPAY_CODE", c.code.clone()),
        ];
        if let Some(d) = c.deadline_ms {
            env.push(("YSTPAY_DEADLINE_MS", d.to_string()));
        }
        // The refund's crash points must not fire during its payment.
        let (lines, killed) = run_child(c.mode, Some(c.point), &env);
        let name = format!(
            "{} killed at {} (code ..{})",
            c.mode,
            c.point,
            c.code.get(16..).unwrap_or("")
        );
        if !killed {
            problems.push(format!("[{name}] crash point not reached: {lines:?}"));
            continue;
        }
        let left = {
            let j = Journal::open(&path).unwrap();
            j.all_ops()
                .unwrap()
                .into_iter()
                .map(|o| format!("{} {}", o.kind, o.state))
                .collect::<Vec<_>>()
        };
        // A new process opens the same journal and recovers, at once.
        let (rec_lines, _) = run_child("recover", None, &env);
        let busy: Vec<_> = rec_lines
            .iter()
            .filter(|l| l.contains("RECOVERY BusyElsewhere"))
            .collect();
        if !busy.is_empty() {
            problems.push(format!("[{name}] left to the dead process: {busy:?}"));
        }
        let journal = Journal::open(&path).unwrap();
        // Native orders the customer may still pay stay open, as on the
        // platform; the cashier then closes them.
        for o in journal.all_ops().unwrap() {
            if o.kind.is_order() && o.state == OpState::Waiting {
                let truth = ctl.order("demo", &o.req_seq).map(|t| t.status);
                if truth != Some(TrueStatus::Waiting) {
                    problems.push(format!("[{name}] order waiting, platform {truth:?}"));
                }
                let p = child_payments(&sim.api_url(), &path.display().to_string(), 15);
                p.close_order(&o.req_seq, &SettleOptions::default())
                    .unwrap();
            }
        }
        let open: Vec<_> = journal
            .all_ops()
            .unwrap()
            .into_iter()
            .filter(|o| o.state.is_open())
            .collect();
        if !open.is_empty() {
            problems.push(format!("[{name}] still open after recovery: {open:?}"));
        }
        problems.extend(check_journal(&path, &ctl, &name));
        let after: Vec<String> = journal
            .all_ops()
            .unwrap()
            .into_iter()
            .map(|o| {
                let truth = if o.kind == OpKind::Refund {
                    String::new()
                } else {
                    format!(
                        " / platform {:?}",
                        ctl.order("demo", &o.req_seq)
                            .map(|t| (t.status, t.pay_count))
                    )
                };
                format!("{} {}{truth}", o.kind, o.state)
            })
            .collect();
        let _ = writeln!(
            err,
            "crash: {name}: journal at kill {left:?} -> after recovery {after:?} ({} recovered)",
            rec_lines
                .iter()
                .filter(|l| l.contains("RECOVERY Settled"))
                .count()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    // A password entry that would have completed after recovery revoked the
    // payment never takes money.
    std::thread::sleep(Duration::from_millis(250));
    for o in ctl.orders("demo") {
        if o.pay_count > 1 {
            problems.push(format!("{} paid {} times", o.req_seq, o.pay_count));
        }
    }
    let _ = writeln!(
        err,
        "crash suite: crashes run: {}, mismatches: {}",
        cases.len(),
        problems.len()
    );
    for p in &problems {
        let _ = writeln!(err, "  {p}");
    }
    assert!(problems.is_empty());
}

/// Two live programs on one journal: while one settles a payment (the
/// customer enters the password), the other's recovery leaves it alone
/// every time: it is never revoked from under the first, which ends PAID.
#[test]
fn two_live_processes_never_drive_one_operation() {
    let scale = 5.0; // the 10 s password takes 2 s
    let sim = start_sim(scale);
    let ctl = sim.control();
    let dir = temp_dir("two-live");
    let path = dir.join("journal.db");
    let env = vec![
        ("YSTPAY_SIM_URL", sim.api_url()),
        ("YSTPAY_JOURNAL", path.display().to_string()),
        ("YSTPAY_CODE", wechat_code(950, 50)),
        ("YSTPAY_SCALE", scale.to_string()),
    ];
    let first = std::thread::spawn(move || run_child("pay", None, &env));
    let journal = Arc::new(Journal::open(&path).unwrap());
    let other = Payments::new(
        Arc::new(Client::new(&client_config(&sim.api_url(), Duration::from_secs(2), 16)).unwrap()),
        journal.clone(),
        flow_config(scale),
    )
    .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    let mut seen_busy = 0;
    let mut seq = None;
    while Instant::now() < until {
        let open = journal.open_ops("demo").unwrap();
        if seq.is_none() {
            seq = open.first().map(|o| o.req_seq.clone());
        }
        if seq.is_some() && open.is_empty() {
            break; // the first program finished it
        }
        let r = other.recover(&SettleOptions::default()).unwrap();
        for o in &r.ops {
            assert_eq!(
                o.disposition,
                ystpay::flow::Disposition::BusyElsewhere,
                "the second program took over a live one's payment: {o:?}"
            );
            seen_busy += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (lines, killed) = first.join().unwrap();
    assert!(!killed);
    let seq = seq.expect("the first program recorded its payment");
    assert!(seen_busy > 0, "the second program never met the payment");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("CHILD-RESULT PAID {seq}"))),
        "{lines:?}"
    );
    let truth = ctl.order("demo", &seq).unwrap();
    assert_eq!((truth.status, truth.pay_count), (TrueStatus::Paid, 1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two processes, one after the other, on one journal, the second with its
/// clock an hour behind (NTP stepped it back, or a flat CMOS battery): its
/// serials continue after the first's, never among them.
#[test]
fn serials_of_two_processes_on_one_journal_never_repeat_when_the_clock_steps_back() {
    let dir = temp_dir("serials");
    let path = dir.join("journal.db");
    let env = |step: &str| {
        vec![
            (
                "YSTPAY_SIM_URL",
                "http://127.0.0.1:9/ystpay/service/unitive.api".to_string(),
            ),
            ("YSTPAY_JOURNAL", path.display().to_string()),
            ("YSTPAY_CLOCK_STEP_MS", step.to_string()),
        ]
    };
    let serials = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .filter_map(|l| l.split("SERIAL ").nth(1).map(str::to_string))
            .collect()
    };
    let (first, _) = run_child("serials", None, &env("0"));
    let (second, _) = run_child("serials", None, &env("-3600000"));
    let (first, second) = (serials(first), serials(second));
    assert_eq!((first.len(), second.len()), (200, 200));
    let last = first.iter().max().unwrap();
    assert!(
        second.iter().all(|s| s > last),
        "the second process issued {} at or before {last}",
        second.iter().min().unwrap()
    );
    let all: std::collections::HashSet<_> = first.iter().chain(&second).collect();
    assert_eq!(all.len(), 400);
    let _ = std::fs::remove_dir_all(&dir);
}
