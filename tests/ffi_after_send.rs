//! The settle calls through the C ABI, once a request may have left: any
//! code other than `YSTPAY_OK` means nothing was sent, so whatever happens
//! after (a record field too small for what the journal holds, a panic in
//! the library) the call returns `YSTPAY_OK` with the truth it knows, and
//! outcome UNKNOWN where it knows nothing better. Against the simulator on
//! loopback, called as a C program calls them.

#[path = "common/c_abi.rs"]
mod c_abi;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::ptr;

use ystpay::ffi::client::{ystpay_client, ystpay_client_free, ystpay_client_from_config};
use ystpay::ffi::codes::*;
use ystpay::ffi::progress::testing::panic_at_stage;
use ystpay::ffi::records::{ystpay_settlement, YSTPAY_SEQ_SIZE};
use ystpay::ffi::settle::{ystpay_settle_order, ystpay_settle_revoke};
use ystpay::ffi::text::{from_array, Enc};
use ystpay::journal::{Journal, OpUpdate};
use ystpay_sim::{RunningSim, SimConfig, Simulator};

const DETAIL: &str = "the library failed after sending: query before concluding";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ystpay-after-send-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn client(sim: &RunningSim, journal: &Path) -> *mut ystpay_client {
    client_with(sim, journal, "")
}

fn client_with(sim: &RunningSim, journal: &Path, more: &str) -> *mut ystpay_client {
    let config = CString::new(format!(
        "server_url = {}\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n\
         journal = {}\n{more}",
        sim.api_url(),
        journal.display()
    ))
    .unwrap();
    let mut c = ptr::null_mut();
    // SAFETY: NUL-terminated text, writable out pointer.
    let rc = unsafe { ystpay_client_from_config(config.as_ptr(), &mut c) };
    assert_eq!(rc, YSTPAY_OK);
    c
}

fn text(a: &[std::os::raw::c_char]) -> String {
    from_array(Enc::Utf8, a, "field").unwrap()
}

fn settle_revoke(c: *const ystpay_client, req_seq: &str) -> (i32, Box<ystpay_settlement>) {
    let seq = CString::new(req_seq).unwrap();
    let mut out = c_abi::settlement();
    // SAFETY: live handle, NUL-terminated serial, writable record.
    let rc = unsafe { ystpay_settle_revoke(c, seq.as_ptr(), None, ptr::null_mut(), &mut *out) };
    (rc, out)
}

/// A paid payment, then its journal record holds a `trans_seq` longer than
/// the record's field (as a journal written before platform numbers were
/// checked can): revoking it sends the revoke, so the call must say
/// `YSTPAY_OK` with the outcome, the number cut and `truncated` set.
#[test]
fn an_identifier_too_long_for_its_field_is_cut_and_flagged_after_sending() {
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let d = dir("long-id");
    let path = d.join("pos.db");
    let c = client(&sim, &path);
    let (rc, paid) = c_abi::settle_pay(c, None, 500, "134567890123456701");
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(paid.outcome, YSTPAY_OUTCOME_PAID);
    assert_eq!(paid.truncated, 0);
    let seq = text(&paid.req_seq);

    let long = "9".repeat(70);
    let j = Journal::open(&path).unwrap();
    j.update(
        "demo",
        &seq,
        &OpUpdate {
            trans_seq: Some(long.clone()),
            ..OpUpdate::default()
        },
    )
    .unwrap();
    drop(j);

    let (rc, out) = settle_revoke(c, &seq);
    assert_eq!(rc, YSTPAY_OK, "the revoke was sent: the call must not fail");
    assert_eq!(out.outcome, YSTPAY_OUTCOME_REVOKED);
    assert_eq!(out.truncated, 1);
    assert_eq!(text(&out.trans_seq), long[..YSTPAY_SEQ_SIZE - 1]);
    assert_eq!(text(&out.req_seq), seq);
    // SAFETY: the handle from ystpay_client_from_config, freed once.
    unsafe { ystpay_client_free(c) };
}

/// A panic in the flow while the customer enters a password: the payment
/// was sent, so `YSTPAY_OK`, UNKNOWN, the journal's state and serial.
#[test]
fn a_panic_after_the_payment_was_sent_is_an_unknown_record() {
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let d = dir("panic-pay");
    let c = client(&sim, &d.join("pos.db"));
    panic_at_stage(Some(YSTPAY_STAGE_WAITING));
    // Scenario 5x: the customer is asked for a password (status W).
    let (rc, out) = c_abi::settle_pay(c, None, 700, "134567890123456759");
    panic_at_stage(None);
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(out.outcome, YSTPAY_OUTCOME_UNKNOWN);
    assert_eq!(out.state, YSTPAY_STATE_WAITING);
    assert_eq!(out.kind, YSTPAY_KIND_PAY);
    assert_eq!(out.total_fee, 700);
    assert_eq!(text(&out.detail), DETAIL);
    assert_eq!(text(&out.req_seq).len(), 20);

    // The caller's own serial, the panic as the request is about to leave.
    panic_at_stage(Some(YSTPAY_STAGE_SENDING));
    let (rc, out) = c_abi::settle_pay(c, Some("POS0000000000000777"), 800, "134567890123456702");
    panic_at_stage(None);
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(out.outcome, YSTPAY_OUTCOME_UNKNOWN);
    assert_eq!(out.state, YSTPAY_STATE_PENDING);
    assert_eq!(text(&out.req_seq), "POS0000000000000777");
    assert_eq!(text(&out.detail), DETAIL);

    // Refused before anything is sent: the code, and the record untouched.
    let (rc, out) = c_abi::settle_pay(c, Some("POS0000000000000777"), 800, "134567890123456702");
    assert_eq!(rc, YSTPAY_ERR_DUPLICATE);
    assert_eq!(out.outcome, 12345);
    // SAFETY: the handle from ystpay_client_from_config, freed once.
    unsafe { ystpay_client_free(c) };
}

/// An order's serial is the flow's own: the call learns it from the flow
/// before the order is created, and a panic after shows it.
#[test]
fn a_panic_after_an_order_was_created_is_an_unknown_record() {
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let d = dir("panic-order");
    let c = client(&sim, &d.join("pos.db"));
    let channel = CString::new("W").unwrap();
    let mut out = c_abi::settlement();
    panic_at_stage(Some(YSTPAY_STAGE_SHOW_CODE));
    // SAFETY: live handle, NUL-terminated channel, NULL where allowed.
    let rc = unsafe {
        ystpay_settle_order(
            c,
            YSTPAY_KIND_NATIVE,
            900,
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
    };
    panic_at_stage(None);
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(out.outcome, YSTPAY_OUTCOME_UNKNOWN);
    assert_eq!(out.kind, YSTPAY_KIND_NATIVE);
    assert_eq!(out.state, YSTPAY_STATE_WAITING);
    assert_eq!(out.total_fee, 900);
    assert_eq!(text(&out.detail), DETAIL);
    let seq = text(&out.req_seq);
    assert_eq!(seq.len(), 20);

    // SAFETY: the handle from ystpay_client_from_config, freed once. Its
    // flow died holding the order; freeing it lets the order go.
    unsafe { ystpay_client_free(c) };

    // The revoke of a recorded operation: a panic once the revoke may
    // have left is UNKNOWN too.
    let c = client_with(&sim, &d.join("pos.db"), "recover_on_start = 0\n");
    panic_at_stage(Some(YSTPAY_STAGE_REVOKING));
    let (rc, out) = settle_revoke(c, &seq);
    panic_at_stage(None);
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(out.outcome, YSTPAY_OUTCOME_UNKNOWN);
    assert_eq!(out.state, YSTPAY_STATE_REVOKING);
    assert_eq!(text(&out.req_seq), seq);
    assert_eq!(text(&out.detail), DETAIL);
    // SAFETY: the handle from ystpay_client_from_config, freed once.
    unsafe { ystpay_client_free(c) };
}
