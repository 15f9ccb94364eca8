//! Started operations (`ystpay_start_*`, `ystpay_op_*`) through the C ABI,
//! beyond what examples-c/started.c checks from C:
//!
//! - a process killed (SIGKILL) while its started operations run — one
//!   ended, a payment waiting for the password, a QR order waiting for the
//!   customer — is recovered by the next process as for the blocking
//!   calls: the journal ends equal to the simulator's truth;
//! - started operations from several threads at once, beside blocking
//!   calls on one client, all end as the simulator says; the client's free
//!   waits for those still running;
//! - a GBK client gets the stage words and the texts of the end in GBK.
//!
//! The child of the crash test is this test binary run again with
//! `YSTPAY_STARTED_CHILD` set. Unix only: it kills with SIGKILL.
#![cfg(unix)]

mod common;

use std::ffi::{c_char, CStr, CString};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::ptr;
use std::time::{Duration, Instant};

use common::c_abi::{settle_pay, settlement};
use common::*;
use ystpay::ffi::client::{ystpay_client, ystpay_client_free, ystpay_client_from_config};
use ystpay::ffi::codes::*;
use ystpay::ffi::records::{ystpay_recovery_report, YSTPAY_RECOVERY_REPORT_SIZE};
use ystpay::ffi::recovery::ystpay_recover;
use ystpay::ffi::started::*;
use ystpay::journal::{Journal, OpKind, OpState};

fn client(url: &str, journal: &std::path::Path, extra: &str) -> *mut ystpay_client {
    let cfg = CString::new(format!(
        "server_url = {url}\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n\
         journal = {}\n{extra}",
        journal.display()
    ))
    .unwrap();
    let mut c = ptr::null_mut();
    // SAFETY: a NUL-terminated configuration and a place for the handle.
    let rc = unsafe { ystpay_client_from_config(cfg.as_ptr(), &mut c) };
    assert_eq!(rc, YSTPAY_OK, "client from config");
    c
}

fn start_pay(c: *const ystpay_client, fee: i64, code: &str, deadline_ms: i32) -> *mut ystpay_op {
    let code = CString::new(code).unwrap();
    let mut op = ptr::null_mut();
    // SAFETY: a live client, a NUL-terminated code, a place for the handle.
    let rc = unsafe {
        ystpay_start_pay(
            c,
            ptr::null(),
            fee,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            deadline_ms,
            &mut op,
        )
    };
    assert_eq!(rc, YSTPAY_OK, "start_pay");
    op
}

fn start_native(c: *const ystpay_client, fee: i64) -> *mut ystpay_op {
    let mut op = ptr::null_mut();
    // SAFETY: a live client, "W" NUL-terminated, a place for the handle.
    let rc = unsafe {
        ystpay_start_order(
            c,
            YSTPAY_KIND_NATIVE,
            fee,
            c"W".as_ptr(),
            300,
            ptr::null(),
            ptr::null(),
            ptr::null(),
            0,
            &mut op,
        )
    };
    assert_eq!(rc, YSTPAY_OK, "start_order");
    op
}

/// The stage and the words (raw bytes) of `op`.
fn stage(op: *const ystpay_op) -> (i32, Vec<u8>) {
    let mut st = 0;
    let mut buf = vec![0 as c_char; 1024];
    // SAFETY: a live handle, a buffer of its size.
    let rc = unsafe {
        ystpay_op_stage(
            op,
            &mut st,
            ptr::null_mut(),
            buf.as_mut_ptr(),
            buf.len() as i32,
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, YSTPAY_OK, "op_stage");
    // SAFETY: the library wrote a NUL-terminated text.
    let words = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes().to_vec();
    (st, words)
}

fn text(op: *const ystpay_op, field: i32) -> Vec<u8> {
    let mut buf = vec![0 as c_char; 512];
    // SAFETY: a live handle, a buffer of its size.
    let rc = unsafe { ystpay_op_text(op, field, buf.as_mut_ptr(), 512, ptr::null_mut()) };
    assert_eq!(rc, YSTPAY_OK, "op_text {field}");
    // SAFETY: NUL-terminated by the library.
    unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes().to_vec()
}

/// Waits for the end of `op`; the outcome and the serial.
fn end(op: *const ystpay_op, within: Duration) -> (i32, String) {
    let mut s = settlement();
    // SAFETY: a live handle, a sized record.
    let rc = unsafe { ystpay_op_wait(op, within.as_millis() as i32, &mut *s) };
    assert_eq!(rc, YSTPAY_OK, "op_wait");
    // SAFETY: NUL-terminated by the library.
    let seq = unsafe { CStr::from_ptr(s.req_seq.as_ptr()) };
    (s.outcome, seq.to_string_lossy().into_owned())
}

/// The child of the crash test: starts three operations, waits until one
/// ended and the other two wait for their customers, says so, and waits
/// to be killed. A no-op in an ordinary test run.
#[test]
fn started_child() {
    let Ok(url) = std::env::var("YSTPAY_STARTED_CHILD") else {
        return;
    };
    let journal = std::env::var("YSTPAY_JOURNAL").unwrap();
    let c = client(&url, journal.as_ref(), "recover_on_start = 0\n");
    let salt = std::process::id() as u64 * 1000;
    let quick = start_pay(c, 111, &wechat_code(salt + 1, 0), 0);
    let password = start_pay(c, 222, &wechat_code(salt + 2, 50), 60_000);
    let order = start_native(c, 333);
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let st = [stage(quick).0, stage(password).0, stage(order).0];
        if st
            == [
                YSTPAY_STAGE_FINISHED,
                YSTPAY_STAGE_WAITING,
                YSTPAY_STAGE_WAITING,
            ]
        {
            break;
        }
        assert!(
            Instant::now() < until,
            "the operations did not reach their waits: stages {st:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("READY {}", end(quick, Duration::ZERO).1);
    std::thread::sleep(Duration::from_secs(120));
    panic!("the child was not killed");
}

#[test]
fn a_process_killed_while_started_operations_run_is_recovered_by_the_next() {
    let sim = start_sim(1.0);
    let dir = temp_dir("started-crash");
    let journal = dir.join("journal.db");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "started_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("YSTPAY_STARTED_CHILD", sim.api_url())
        .env("YSTPAY_JOURNAL", &journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut ready = None;
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        // libtest may have printed "test started_child ... " on the line.
        if let Some(i) = line.find("READY ") {
            ready = Some(line[i..].to_string());
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL, as a power cut
    let status = child.wait().unwrap();
    let ready = ready.expect("the child reached its waits");
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");

    // Left behind: the quick payment settled, the other two open.
    let j = Journal::open(&journal).unwrap();
    let ops = j.all_ops().unwrap();
    assert_eq!(ops.len(), 3, "{ops:#?}");
    let quick_seq = ready.split_whitespace().nth(1).unwrap();
    let open: Vec<_> = ops.iter().filter(|o| o.state.is_open()).collect();
    assert_eq!(open.len(), 2, "two operations open at the kill: {ops:#?}");
    assert!(ops
        .iter()
        .any(|o| o.req_seq == quick_seq && o.state == OpState::Paid));
    drop(j);

    // The next process: its start-up recovery settles what was left, as
    // for the blocking calls: the payment is revoked (nobody waits for it
    // any more); the QR order, which the customer may still pay before it
    // expires, stays open (docs/DESIGN.md, "Recovery").
    let c = client(&sim.api_url(), &journal, "recover_on_start = 1\n");
    let j = Journal::open(&journal).unwrap();
    let ops = j.all_ops().unwrap();
    let order = ops.iter().find(|o| o.kind == OpKind::Native).unwrap();
    let payment = ops
        .iter()
        .find(|o| o.kind == OpKind::Pay && o.req_seq != quick_seq)
        .unwrap();
    assert_eq!(payment.state, OpState::Revoked, "{payment:?}");
    assert!(order.state.is_open(), "{order:?}");
    // The customer pays the order now; the next recovery finds it paid.
    sim.control().customer_pays("demo", &order.req_seq).unwrap();
    let mut report = Box::new(ystpay_recovery_report {
        struct_size: YSTPAY_RECOVERY_REPORT_SIZE,
        ..unsafe { std::mem::zeroed() }
    });
    // SAFETY: a live handle and a sized record; freed once.
    unsafe {
        assert_eq!(
            ystpay_recover(c, None, ptr::null_mut(), &mut *report),
            YSTPAY_OK
        );
        ystpay_client_free(c);
    }
    let problems = mismatches(&j, &sim.control());
    assert!(problems.is_empty(), "journal vs simulator: {problems:#?}");
    for o in j.all_ops().unwrap() {
        assert!(!o.state.is_open(), "left open after recovery: {o:?}");
    }
    sim.shutdown();
}

#[test]
fn started_operations_from_many_threads_beside_blocking_calls_all_end_true() {
    let sim = start_sim(20.0);
    let dir = temp_dir("started-threads");
    let c = client(
        &sim.api_url(),
        &dir.join("journal.db"),
        "recover_on_start = 0\nflow_time_scale = 20\n",
    );
    let addr = c as usize;
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let c = addr as *const ystpay_client;
                let salt = std::process::id() as u64 * 100 + t * 10;
                // Started: a quick one and one with a 3 s password
                // (0.15 s here); blocking beside them on the same client.
                let a = start_pay(c, 100 + t as i64, &wechat_code(salt + 1, 1), 0);
                let b = start_pay(c, 200 + t as i64, &wechat_code(salt + 2, 53), 0);
                let (rc, s) = settle_pay(c, None, 300 + t as i64, &wechat_code(salt + 3, 2));
                assert_eq!((rc, s.outcome), (YSTPAY_OK, YSTPAY_OUTCOME_PAID));
                let ends = [
                    end(a, Duration::from_secs(30)),
                    end(b, Duration::from_secs(30)),
                ];
                // SAFETY: handles made above, freed once.
                unsafe {
                    ystpay_op_free(a);
                    ystpay_op_free(b);
                }
                ends
            })
        })
        .collect();
    for t in threads {
        for (outcome, _) in t.join().unwrap() {
            assert_eq!(outcome, YSTPAY_OUTCOME_PAID);
        }
    }
    // One more, left running with its handle freed: the client's free
    // waits for it, and the journal has it settled.
    let op = start_pay(c, 999, &wechat_code(std::process::id() as u64, 55), 0);
    // SAFETY: freed once; the client is freed after its handle.
    unsafe {
        ystpay_op_free(op);
        ystpay_client_free(c);
    }
    let j = Journal::open(dir.join("journal.db")).unwrap();
    let ops = j.all_ops().unwrap();
    assert_eq!(ops.len(), 13);
    assert!(ops.iter().all(|o| o.state == OpState::Paid), "{ops:#?}");
    assert!(mismatches(&j, &sim.control()).is_empty());
    sim.shutdown();
}

#[test]
fn a_gbk_client_reads_the_words_and_texts_of_a_started_operation_in_gbk() {
    let sim = start_sim(20.0);
    let dir = temp_dir("started-gbk");
    let c = client(
        &sim.api_url(),
        &dir.join("journal.db"),
        "recover_on_start = 0\nflow_time_scale = 20\nencoding = gbk\n",
    );
    let op = start_pay(c, 1234, &wechat_code(std::process::id() as u64, 58), 0);
    let (gbk_wait, _, _) = encoding_rs::GBK.encode("等待顾客付款");
    let until = Instant::now() + Duration::from_secs(20);
    let mut saw_waiting = false;
    while Instant::now() < until {
        let (st, words) = stage(op);
        if st == YSTPAY_STAGE_WAITING {
            assert!(
                words.starts_with(&gbk_wait),
                "WAITING words in GBK: {words:?}"
            );
            saw_waiting = true;
        }
        if st == YSTPAY_STAGE_FINISHED {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saw_waiting, "the password wait was seen");
    assert_eq!(end(op, Duration::from_secs(10)).0, YSTPAY_OUTCOME_PAID);
    let detail = text(op, YSTPAY_FIELD_DETAIL);
    let (decoded, _, bad) = encoding_rs::GBK.decode(&detail);
    assert!(
        !bad && !decoded.is_empty(),
        "DETAIL decodes as GBK: {decoded}"
    );
    // SAFETY: freed once each.
    unsafe {
        ystpay_op_free(op);
        ystpay_client_free(c);
    }
    sim.shutdown();
}

/// A program polling a started QR order from a timer may first look after
/// the first query replaced the stage's words: the URL to show stays
/// readable (`YSTPAY_FIELD_PAY_URL`) while the order waits, and the
/// customer paying it ends it PAID.
#[test]
fn a_started_order_keeps_its_url_to_show_while_it_waits() {
    let sim = start_sim(20.0);
    let dir = temp_dir("started-url");
    let c = client(
        &sim.api_url(),
        &dir.join("journal.db"),
        "recover_on_start = 0\nflow_time_scale = 20\n",
    );
    let op = start_native(c, 2500);
    let mut buf = vec![0 as c_char; 512];
    // Wait until the order waits for the customer (a query was made).
    let until = Instant::now() + Duration::from_secs(20);
    while stage(op).0 != YSTPAY_STAGE_WAITING {
        assert!(Instant::now() < until, "the order never waited");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_, words) = stage(op);
    assert!(!words.starts_with(b"http"), "the words moved on: {words:?}");
    // SAFETY: a live handle, a buffer of its size.
    let rc = unsafe {
        ystpay_op_text(
            op,
            YSTPAY_FIELD_PAY_URL,
            buf.as_mut_ptr(),
            512,
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, YSTPAY_OK, "the URL is readable while the order runs");
    // SAFETY: NUL-terminated by the library.
    let url = unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    assert!(
        url.starts_with("weixin://") || url.starts_with("http"),
        "{url}"
    );
    // The other texts wait for the end.
    // SAFETY: as above.
    let rc = unsafe {
        ystpay_op_text(
            op,
            YSTPAY_FIELD_REQ_SEQ,
            buf.as_mut_ptr(),
            512,
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, YSTPAY_ERR_STILL_RUNNING);
    let seq = sim
        .control()
        .orders("demo")
        .into_iter()
        .find(|o| o.total_fee == 2500)
        .expect("the order at the simulator")
        .req_seq;
    sim.control().customer_pays("demo", &seq).unwrap();
    assert_eq!(end(op, Duration::from_secs(20)).0, YSTPAY_OUTCOME_PAID);
    assert_eq!(text(op, YSTPAY_FIELD_PAY_URL), url.as_bytes());
    // SAFETY: freed once each.
    unsafe {
        ystpay_op_free(op);
        ystpay_client_free(c);
    }
    sim.shutdown();
}
