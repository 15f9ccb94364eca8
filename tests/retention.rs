//! Retention on small disks (`journal_keep_days`, `log_keep_days`): what a
//! register removes when it opens, and what it must keep.
//!
//! Old operations are made the way a register made them: through the
//! journal's API while the library's clock reads an earlier day (the
//! `clock-steps` test hook, `ystpay::time::testing::step_clock`), so every
//! row is one the product writes. The clock is process-wide: the tests of
//! this file take turns.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ystpay::config::Settings;
use ystpay::journal::{Journal, NewOp, OpKind, OpState, OpUpdate};
use ystpay::register::{Register, Wiring};
use ystpay::reqseq::Slot;
use ystpay::time::testing::{clock_offset_ms, step_clock};

const DAY_MS: i64 = 86_400_000;
const ACCT: &str = "demo";

static CLOCK: Mutex<()> = Mutex::new(());

/// Runs `f` with the library's clock `days_ago` days back, then puts it back.
fn days_ago<T>(days: i64, f: impl FnOnce() -> T) -> T {
    step_clock(-days * DAY_MS);
    let out = f();
    step_clock(-clock_offset_ms());
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ystpay-retention-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn settings(dir: &Path, extra: &str) -> Settings {
    Settings::parse(&format!(
        "server_url = http://127.0.0.1:1/ystpay/service/unitive.api\nacct = {ACCT}\npass = demo123\n\
         private_key = 0123456789ABCDEF\njournal = {}\nlog_file = {}\n{extra}",
        dir.join("pos.db").display(),
        dir.join("logs").join("pos.log").display()
    ))
    .unwrap()
}

/// A payment recorded now (by the library's clock), settled in `state`,
/// with the requests a flow records for it.
fn payment(j: &Journal, seq: &str, kind: OpKind, state: OpState) {
    let mut op = NewOp::new(ACCT, seq, kind, 1000);
    op.auth_code = (kind == OpKind::Pay).then(|| "134567890123456701".to_string());
    op.channel = Some("W".into());
    j.begin(&op).unwrap();
    j.record_attempt(ACCT, seq, kind.as_str(), seq, "sent")
        .unwrap();
    j.record_attempt(ACCT, seq, "query", &format!("{seq}Q"), "S")
        .unwrap();
    j.update(
        ACCT,
        seq,
        &OpUpdate {
            state: Some(state),
            trans_seq: (state == OpState::Paid).then(|| format!("T{seq}")),
            ..OpUpdate::default()
        },
    )
    .unwrap();
}

/// A refund of `pay_seq` recorded now, ending in `state`.
fn refund(j: &Journal, seq: &str, pay_seq: &str, state: OpState) {
    j.begin_refund(pay_seq, &NewOp::new(ACCT, seq, OpKind::Refund, 100))
        .unwrap();
    j.record_attempt(ACCT, seq, "refund", seq, "sent").unwrap();
    j.update(ACCT, seq, &OpUpdate::state(state, "refund"))
        .unwrap();
}

fn held(j: &Journal, seq: &str) -> bool {
    j.get(ACCT, seq).unwrap().is_some()
}

/// Requests whose operation is gone: there must be none.
fn orphan_attempts(path: &Path) -> i64 {
    // Read-only look at the file: the journal's API has no question for it.
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM attempts WHERE op_id NOT IN (SELECT id FROM ops)",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn old_settled_operations_go_and_the_rest_stays() {
    let _clock = CLOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir("journal");
    let path = dir.join("pos.db");
    let j = Journal::open(&path).unwrap();
    // 500 days ago: a serial issued from the ledger and used by a payment.
    let old_serial = days_ago(500, || {
        let slot = j.issue_serial(ACCT, 7, Slot::now()).unwrap();
        let seq = slot.render(7);
        payment(&j, &seq, OpKind::Pay, OpState::Paid);
        // A payment refunded the same day: both go.
        payment(&j, "P2", OpKind::Pay, OpState::Paid);
        refund(&j, "R2", "P2", OpState::Refunded);
        // A payment refunded 490 days later: both stay.
        payment(&j, "P3", OpKind::Pay, OpState::Paid);
        // Two refunds, one of them recent (below): all three stay.
        payment(&j, "P4", OpKind::Pay, OpState::Paid);
        refund(&j, "R4a", "P4", OpState::Refunded);
        // A refund the platform declared failed, of a payment that goes.
        payment(&j, "P5", OpKind::Pay, OpState::Paid);
        refund(&j, "R5", "P5", OpState::Failed);
        // Settled the other ways: they go.
        payment(&j, "F6", OpKind::Pay, OpState::Failed);
        payment(&j, "V6", OpKind::Pay, OpState::Revoked);
        payment(&j, "N6", OpKind::Native, OpState::Closed);
        seq
    });
    days_ago(10, || refund(&j, "R3", "P3", OpState::Refunded));
    days_ago(5, || refund(&j, "R4b", "P4", OpState::Waiting));
    // The edges of 400 days: the 401st day back goes, the 400th stays.
    days_ago(401, || payment(&j, "E401", OpKind::Pay, OpState::Paid));
    days_ago(400, || payment(&j, "E400", OpKind::Pay, OpState::Paid));
    payment(&j, "TODAY", OpKind::Pay, OpState::Paid);
    let old_day = days_ago(500, ystpay::time::today);
    let before = j.day_totals(&old_day).unwrap();
    assert_eq!(before.paid_fee, 5000, "{before:?}");
    drop(j);

    // Opening the register prunes with the default, 400 days.
    let s = settings(&dir, "");
    assert_eq!(s.journal_keep_days, 400);
    let reg = Register::open(&s, Wiring::default()).unwrap();
    let j = reg.journal().unwrap();
    for gone in [
        old_serial.as_str(),
        "P2",
        "R2",
        "P5",
        "R5",
        "F6",
        "V6",
        "N6",
        "E401",
    ] {
        assert!(!held(j, gone), "{gone} should be removed");
        assert!(j.attempts(ACCT, gone).unwrap().is_empty());
    }
    for kept in ["P3", "R3", "P4", "R4a", "R4b", "E400", "TODAY"] {
        assert!(held(j, kept), "{kept} should be kept");
    }
    assert_eq!(j.refunds_of(ACCT, "P4").unwrap().len(), 2);
    assert_eq!(j.refunded_fee(ACCT, "P4").unwrap(), 200);
    assert_eq!(j.attempts(ACCT, "P3").unwrap().len(), 2);
    assert_eq!(orphan_attempts(&path), 0);
    let after = j.day_totals(&old_day).unwrap();
    assert_eq!(after.paid_fee, 2000, "P3 and P4 stay: {after:?}");
    let log = std::fs::read_to_string(reg.log().current_file().unwrap()).unwrap();
    assert!(
        log.contains("journal-retention removed 9 settled operation(s) and 16 request(s)"),
        "{log}"
    );

    // The serial ledger was not pruned: even with the clock 600 days back,
    // the next serial of that register comes after the removed one.
    let next = days_ago(600, || j.issue_serial(ACCT, 7, Slot::now()).unwrap());
    let (old_slot, _) = Slot::parse(&old_serial).unwrap();
    assert!(next > old_slot, "{next:?} after {old_slot:?}");
    assert_ne!(next.render(7), old_serial);

    // Nothing more to remove: a second opening changes nothing.
    drop(reg);
    let reg = Register::open(&s, Wiring::default()).unwrap();
    assert!(held(reg.journal().unwrap(), "P3"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_open_operation_survives_pruning() {
    let _clock = CLOCK.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir("open");
    let path = dir.join("pos.db");
    let j = Journal::open(&path).unwrap();
    days_ago(30, || {
        // Sent, no answer yet (a power cut mid-payment): pending.
        j.begin(&NewOp::new(ACCT, "OPEN1", OpKind::Pay, 800))
            .unwrap();
        j.record_attempt(ACCT, "OPEN1", "pay", "OPEN1", "no answer")
            .unwrap();
        payment(&j, "OPEN2", OpKind::Pay, OpState::Unknown);
        payment(&j, "OPEN3", OpKind::Native, OpState::Waiting);
        payment(&j, "OPEN4", OpKind::Pay, OpState::Revoking);
        payment(&j, "OPEN5", OpKind::Pay, OpState::Conflict);
        payment(&j, "DONE", OpKind::Pay, OpState::Paid);
    });
    drop(j);
    let reg = Register::open(
        &settings(&dir, "journal_keep_days = 7\n"),
        Wiring::default(),
    )
    .unwrap();
    let j = reg.journal().unwrap();
    assert!(!held(j, "DONE"));
    for seq in ["OPEN1", "OPEN2", "OPEN3", "OPEN4", "OPEN5"] {
        let op = j.get(ACCT, seq).unwrap().expect(seq);
        assert!(op.state.is_open(), "{seq}");
        assert!(
            !j.attempts(ACCT, seq).unwrap().is_empty(),
            "{seq}'s attempts stay"
        );
    }
    assert_eq!(
        j.open_ops(ACCT).unwrap().len(),
        5,
        "recovery still finds them"
    );
    drop(reg);

    // 0 keeps everything, settled or not.
    days_ago(3000, || {
        payment(
            &Journal::open(&path).unwrap(),
            "ANCIENT",
            OpKind::Pay,
            OpState::Paid,
        )
    });
    let reg = Register::open(
        &settings(&dir, "journal_keep_days = 0\n"),
        Wiring::default(),
    )
    .unwrap();
    assert!(held(reg.journal().unwrap(), "ANCIENT"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `log_keep_days` reaches the log a register opens: an old daily file is
/// deleted, a newer one and files that are not this log's are kept.
#[test]
fn a_register_deletes_old_daily_log_files() {
    let dir = temp_dir("logs");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let today = chrono::Local::now().date_naive();
    let name = |days: u64, stem: &str, ext: &str| {
        let d = today.checked_sub_days(chrono::Days::new(days)).unwrap();
        logs.join(format!("{stem}-{}.{ext}", d.format("%Y-%m-%d")))
    };
    let (old, newer) = (name(11, "pos", "log"), name(10, "pos", "log"));
    let foreign = [
        name(500, "other", "log"),
        name(500, "pos", "txt"),
        logs.join("pos.log"),
    ];
    for f in [&old, &newer].into_iter().chain(&foreign) {
        std::fs::write(f, "x\n").unwrap();
    }
    let reg = Register::open(&settings(&dir, "log_keep_days = 10\n"), Wiring::default()).unwrap();
    assert!(!old.exists(), "11 days old: deleted");
    assert!(newer.exists(), "10 days old: kept");
    for f in &foreign {
        assert!(f.exists(), "{} kept", f.display());
    }
    assert!(reg.log().current_file().unwrap().exists());
    let _ = std::fs::remove_dir_all(&dir);
}
