//! The daily log of a client created through the C ABI: `log_file` in the
//! configuration makes every call and every settle call write a line with
//! its outcome, against the simulator on loopback; the password, the
//! private key, the dsn, MD5(password) and the full payment code never
//! appear in it, and a log file that cannot be created fails the
//! constructor with `YSTPAY_ERR_FILE_WRITE`.

use std::ffi::CString;
use std::ptr;

use ystpay::ffi::calls::ystpay_pay;
use ystpay::ffi::client::{ystpay_client, ystpay_client_free, ystpay_client_from_config};
use ystpay::ffi::codes::*;
use ystpay::ffi::records::{
    ystpay_payment_result, ystpay_settlement, YSTPAY_PAYMENT_RESULT_SIZE, YSTPAY_SETTLEMENT_SIZE,
};
use ystpay::ffi::settle::ystpay_settle_pay;
use ystpay_sim::{SimConfig, Simulator};

const PASS: &str = "demo123";
const KEY: &str = "0123456789ABCDEF";
const CODE: &str = "134567890123456701";

fn from_config(text: &str) -> (i32, *mut ystpay_client) {
    let text = CString::new(text).unwrap();
    let mut c = ptr::null_mut();
    // SAFETY: NUL-terminated text, writable out pointer.
    let rc = unsafe { ystpay_client_from_config(text.as_ptr(), &mut c) };
    (rc, c)
}

/// A zeroed result record with `struct_size` set, as a C caller makes one.
fn record<T>(size: u32) -> Box<T> {
    // SAFETY: the records are plain old data; all-zero is valid.
    let mut r: Box<T> = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: every record starts with `uint32_t struct_size`.
    unsafe { (&mut *r as *mut T).cast::<u32>().write(size) };
    r
}

#[test]
fn every_call_is_logged_without_secrets() {
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let dir = std::env::temp_dir().join(format!("ystpay-ffi-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = dir.join("logs").join("ystpay.log");
    let journal = dir.join("journal.db");
    let (rc, c) = from_config(&format!(
        "server_url = {}\nacct = demo\npass = {PASS}\nprivate_key = {KEY}\n\
         journal = {}\nlog_file = {}\nlog_level = info\n",
        sim.api_url(),
        journal.display(),
        log.display()
    ));
    assert_eq!(rc, YSTPAY_OK);

    let code = CString::new(CODE).unwrap();
    let mut paid = record::<ystpay_payment_result>(YSTPAY_PAYMENT_RESULT_SIZE);
    // SAFETY: live handle, NUL-terminated code, no items, writable record.
    let rc = unsafe {
        ystpay_pay(
            c,
            ptr::null(),
            100,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            &mut *paid,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(paid.outcome, YSTPAY_OUTCOME_SUCCESS);
    let mut settled = record::<ystpay_settlement>(YSTPAY_SETTLEMENT_SIZE);
    // SAFETY: live handle, NUL-terminated code, no items, cancel, progress.
    let rc = unsafe {
        ystpay_settle_pay(
            c,
            ptr::null(),
            250,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            0,
            ptr::null(),
            None,
            ptr::null_mut(),
            &mut *settled,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(settled.outcome, YSTPAY_OUTCOME_PAID);
    // SAFETY: the handle is live and used by no other thread.
    unsafe { ystpay_client_free(c) };

    let files: Vec<_> = std::fs::read_dir(log.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one daily file: {files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("ystpay-") && name.ends_with(".log"),
        "{name}"
    );
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" pay ") && l.contains("total_fee=100") && l.contains("-> OK")),
        "no line for the plain pay:\n{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("settle-pay")
            && l.contains("outcome=PAID")
            && l.contains("total_fee=250")),
        "no line for the settled pay:\n{text}"
    );
    assert!(text.contains("1345**********6701"), "masked code:\n{text}");
    let dsn = ystpay::protocol::crypto::derive_dsn("demo", KEY, PASS);
    let md5 = ystpay::protocol::crypto::md5_upper(PASS.as_bytes());
    for secret in [PASS, KEY, CODE, dsn.as_str(), md5.as_str()] {
        assert!(!text.contains(secret), "the log holds a secret:\n{text}");
        assert!(!text
            .to_ascii_lowercase()
            .contains(&secret.to_ascii_lowercase()));
    }
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_log_file_that_cannot_be_created_fails_the_constructor() {
    // A regular file where the log's directory should be.
    let blocker = std::env::temp_dir().join(format!("ystpay-ffi-log-block-{}", std::process::id()));
    std::fs::write(&blocker, b"not a directory").unwrap();
    let (rc, c) = from_config(&format!(
        "server_url = http://127.0.0.1:1/x\nacct = demo\npass = {PASS}\nprivate_key = {KEY}\n\
         log_file = {}\n",
        blocker.join("ystpay.log").display()
    ));
    assert_eq!(rc, YSTPAY_ERR_FILE_WRITE);
    assert!(c.is_null(), "no handle on failure");
    let _ = std::fs::remove_file(&blocker);
}

/// Pays once through a client whose log is at `level` and returns the log.
fn log_of_one_pay(level: &str) -> String {
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let dir = std::env::temp_dir().join(format!("ystpay-ffi-log-{level}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let log = dir.join("ystpay.log");
    let (rc, c) = from_config(&format!(
        "server_url = {}\nacct = demo\npass = {PASS}\nprivate_key = {KEY}\n\
         log_file = {}\nlog_level = {level}\n",
        sim.api_url(),
        log.display()
    ));
    assert_eq!(rc, YSTPAY_OK);
    let code = CString::new(CODE).unwrap();
    let mut paid = record::<ystpay_payment_result>(YSTPAY_PAYMENT_RESULT_SIZE);
    // SAFETY: live handle, NUL-terminated code, no items, writable record.
    let rc = unsafe {
        ystpay_pay(
            c,
            ptr::null(),
            100,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            &mut *paid,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    // SAFETY: the handle is live and used by no other thread.
    unsafe { ystpay_client_free(c) };
    sim.shutdown();
    let mut text = String::new();
    for f in std::fs::read_dir(&dir).unwrap() {
        text.push_str(&std::fs::read_to_string(f.unwrap().path()).unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
    text
}

#[test]
fn the_log_level_decides_what_a_call_writes() {
    let debug = log_of_one_pay("debug");
    assert!(
        debug.contains("-> sending"),
        "debug shows the request:\n{debug}"
    );
    assert!(debug.contains("-> OK"), "debug shows the outcome:\n{debug}");
    let info = log_of_one_pay("info");
    assert!(
        !info.contains("-> sending"),
        "info has no request line:\n{info}"
    );
    assert!(info.contains("-> OK"), "info shows the outcome:\n{info}");
    let error = log_of_one_pay("error");
    assert!(
        error.trim().is_empty(),
        "a paid call at error level writes nothing:\n{error}"
    );
}
