//! Unit tests of the journal.

use super::*;

/// Found by the fault suite on a fresh machine: eight threads opening
/// one new journal file at once; one got "database is locked" from the
/// switch to WAL, which SQLite reports without calling the busy handler.
#[test]
fn many_openers_of_one_new_file_all_succeed() {
    let dir = std::env::temp_dir().join(format!("ystpay-journal-open-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for round in 0..25 {
        let path = dir.join(format!("j{round}.db"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let openers: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    Journal::open(&path).map(|j| j.day_ops("2026-11-25").map(|v| v.len()))
                })
            })
            .collect();
        for o in openers {
            assert_eq!(o.join().unwrap(), Ok(Ok(0)), "round {round}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn pay(j: &Journal, seq: &str, fee: i64) -> OpRecord {
    let mut op = NewOp::new("demo", seq, OpKind::Pay, fee);
    op.auth_code = Some("134567890123456789".into());
    op.channel = Some("W".into());
    j.begin(&op).unwrap()
}

fn mark_paid(j: &Journal, seq: &str) {
    let u = OpUpdate {
        state: Some(OpState::Paid),
        trans_seq: Some(format!("T{seq}")),
        ..OpUpdate::default()
    };
    j.update("demo", seq, &u).unwrap();
}

#[test]
fn claims_follow_live_owners() {
    let j = Journal::open_in_memory().unwrap();
    let (a, b) = (j.new_owner().unwrap(), j.new_owner().unwrap());
    let mut op = NewOp::new("demo", "L", OpKind::Pay, 5);
    op.owner = Some(a.id().to_string());
    j.begin(&op).unwrap();
    assert!(
        !j.claim("demo", "L", &b).unwrap(),
        "a lives: b must not take it"
    );
    assert!(j.claim("demo", "L", &a).unwrap());
    j.release("demo", "L", &a).unwrap();
    assert!(j.claim("demo", "L", &b).unwrap());
    assert_eq!(
        j.get("demo", "L").unwrap().unwrap().owner.as_deref(),
        Some(b.id())
    );
    // b's flow ends without releasing: once b is gone, a takes it at once.
    assert!(!j.claim("demo", "L", &a).unwrap());
    drop(b);
    assert!(j.claim("demo", "L", &a).unwrap());
    // Ended operations are nobody's to take.
    j.update("demo", "L", &OpUpdate::state(OpState::Paid, "S"))
        .unwrap();
    assert!(!j.claim("demo", "L", &a).unwrap());
}

#[test]
fn an_owner_of_a_file_journal_is_alive_exactly_while_it_lives() {
    let dir = std::env::temp_dir().join(format!("ystpay-owners-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("j.db");
    let j1 = Journal::open(&path).unwrap();
    let j2 = Journal::open(&path).unwrap();
    let o = j1.new_owner().unwrap();
    let id = o.id().to_string();
    // Another handle sees it alive through its lock file alone.
    assert!(j2.owner_alive(&id));
    assert!(!j2.owner_alive("1-0000000000000000-0"));
    // An id this library never writes is left alone rather than taken.
    assert!(j2.owner_alive("../../etc/passwd"));
    drop(o);
    assert!(!j2.owner_alive(&id));
    assert!(!dir.join("j.db.owners").join(format!("{id}.lock")).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serials_continue_after_the_last_and_skip_used_ones() {
    use crate::reqseq::Slot;
    let j = Journal::open_in_memory().unwrap();
    let t = Slot {
        second: 1_000_000,
        counter: 5,
    };
    assert_eq!(j.issue_serial("demo", 7, t).unwrap(), t);
    // The clock stepped back: continue after the last one.
    let back = Slot {
        second: 999_000,
        counter: 0,
    };
    assert_eq!(j.issue_serial("demo", 7, back).unwrap(), t.after());
    // Another tag or account has its own line.
    assert_eq!(j.issue_serial("demo", 8, back).unwrap(), back);
    assert_eq!(j.issue_serial("other", 7, back).unwrap(), back);
    // A serial an operation already holds (a POS program chose it) is skipped.
    let taken = t.after().after();
    j.begin(&NewOp::new("demo", &taken.render(7), OpKind::Pay, 1))
        .unwrap();
    assert_eq!(j.issue_serial("demo", 7, back).unwrap(), taken.after());
    // And a new serial is never accepted twice.
    assert!(matches!(
        j.begin(&NewOp::new("demo", &taken.render(7), OpKind::Pay, 1)),
        Err(JournalError::Duplicate(_))
    ));
}

#[test]
fn a_serial_used_by_a_query_cannot_begin_an_operation() {
    let j = Journal::open_in_memory().unwrap();
    pay(&j, "P1", 100);
    j.record_attempt("demo", "P1", "query", "Q1", "W").unwrap();
    j.update(
        "demo",
        "P1",
        &OpUpdate {
            revoke_seq: Some("V1".into()),
            ..OpUpdate::default()
        },
    )
    .unwrap();
    for used in ["P1", "Q1", "V1"] {
        assert_eq!(
            j.begin(&NewOp::new("demo", used, OpKind::Pay, 1)),
            Err(JournalError::Duplicate(used.to_string()))
        );
    }
    j.begin(&NewOp::new("other", "Q1", OpKind::Pay, 1)).unwrap();
}

#[test]
fn a_notice_settles_its_order_once() {
    let j = Journal::open_in_memory().unwrap();
    j.begin(&NewOp::new("demo", "N", OpKind::Native, 5))
        .unwrap();
    assert!(j.settle_notice("demo", "N", "TN", "notice").unwrap());
    assert!(!j.settle_notice("demo", "N", "TN", "notice").unwrap());
    let r = j.get("demo", "N").unwrap().unwrap();
    assert_eq!(r.state, OpState::Paid);
    assert_eq!(r.trans_seq.as_deref(), Some("TN"));
}

#[test]
fn records_before_and_after_and_masks_the_code() {
    let j = Journal::open_in_memory().unwrap();
    let r = pay(&j, "1", 500);
    assert_eq!(r.state, OpState::Pending);
    assert_eq!(r.auth_code_masked.as_deref(), Some("1345**********6789"));
    assert_eq!(r.day, crate::time::today());
    let r = j
        .update(
            "demo",
            "1",
            &OpUpdate {
                state: Some(OpState::Paid),
                trans_seq: Some("T1".into()),
                ..OpUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(r.state, OpState::Paid);
    assert_eq!(r.trans_seq.as_deref(), Some("T1"));
    assert_eq!(r.channel.as_deref(), Some("W"));
    assert!(matches!(
        j.begin(&NewOp::new("demo", "1", OpKind::Pay, 1)),
        Err(JournalError::Duplicate(_))
    ));
    // Another account may reuse a serial.
    j.begin(&NewOp::new("other", "1", OpKind::Pay, 1)).unwrap();
}

#[test]
fn refund_ceiling_is_enforced_locally() {
    let j = Journal::open_in_memory().unwrap();
    pay(&j, "P", 1000);
    let refund =
        |seq: &str, fee| j.begin_refund("P", &NewOp::new("demo", seq, OpKind::Refund, fee));
    assert!(matches!(refund("R0", 1), Err(JournalError::NotPaid { .. })));
    mark_paid(&j, "P");
    let r1 = refund("R1", 600).unwrap();
    assert_eq!(r1.parent_seq.as_deref(), Some("P"));
    assert_eq!(
        refund("R2", 401),
        Err(JournalError::RefundExceedsPaid {
            paid: 1000,
            refunded: 600,
            requested: 401
        })
    );
    // A refund the platform declared failed frees its amount again.
    j.update("demo", "R1", &OpUpdate::state(OpState::Failed, "F"))
        .unwrap();
    refund("R3", 1000).unwrap();
    assert!(refund("R4", 1).is_err());
    assert_eq!(j.refunded_fee("demo", "P").unwrap(), 1000);
    assert_eq!(j.refunds_of("demo", "P").unwrap().len(), 2);
    assert!(matches!(
        j.begin_refund("nope", &NewOp::new("demo", "R5", OpKind::Refund, 1)),
        Err(JournalError::NotFound(_))
    ));
}

#[test]
fn totals_open_ops_and_attempts() {
    let j = Journal::open_in_memory().unwrap();
    pay(&j, "A", 100);
    pay(&j, "B", 200);
    pay(&j, "C", 300);
    mark_paid(&j, "A");
    j.update("demo", "B", &OpUpdate::state(OpState::Failed, ""))
        .unwrap();
    j.begin_refund("A", &NewOp::new("demo", "RA", OpKind::Refund, 40))
        .unwrap();
    j.update("demo", "RA", &OpUpdate::state(OpState::Refunded, ""))
        .unwrap();
    let open: Vec<_> = j
        .open_ops("demo")
        .unwrap()
        .into_iter()
        .map(|o| o.req_seq)
        .collect();
    assert_eq!(open, vec!["C".to_string()]);
    let t = j.day_totals(&crate::time::today()).unwrap();
    assert_eq!(t.paid_fee, 100);
    assert_eq!(t.refunded_fee, 40);
    assert_eq!(t.net_fee(), 60);
    assert_eq!(t.open_count, 1);
    assert_eq!(t.lines.len(), 4);
    assert_eq!(j.day_ops(&crate::time::today()).unwrap().len(), 4);
    j.record_attempt("demo", "C", "query", "Q1", "W").unwrap();
    j.record_attempt("demo", "C", "query", "Q2", "S").unwrap();
    let a = j.attempts("demo", "C").unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[1].outcome, "S");
    assert!(j.record_attempt("demo", "zz", "query", "Q", "").is_err());
}

#[test]
fn notices_are_reported_once() {
    let j = Journal::open_in_memory().unwrap();
    assert!(j.settle_notice("demo", "9", "T9", "notice").unwrap());
    assert!(!j.settle_notice("demo", "9", "T9", "notice").unwrap());
    assert!(j.notice_seen("demo", "T9").unwrap());
    assert!(!j.notice_seen("demo", "T8").unwrap());
}

#[test]
fn a_file_shared_by_threads_and_reopened() {
    let dir = std::env::temp_dir().join(format!("ystpay-j-{}-{}", std::process::id(), now_ms()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.db");
    {
        let j = Journal::open(&path).unwrap();
        pay(&j, "P", 1000);
        mark_paid(&j, "P");
    }
    // Many writers on separate connections compete for the ceiling: exactly
    // ten refunds of 100 fit.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let j = Journal::open(&path).unwrap();
                let mut ok = 0;
                for i in 0..5 {
                    let seq = format!("R{t}-{i}");
                    if j.begin_refund("P", &NewOp::new("demo", &seq, OpKind::Refund, 100))
                        .is_ok()
                    {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let ok: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ok, 10);
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.refunded_fee("demo", "P").unwrap(), 1000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A journal written by the previous version (schema 1: leases, no serial
/// ledger) opens, migrates, keeps its operations, and the ledger starts
/// after the latest serial it holds.
#[test]
fn a_schema_1_journal_is_migrated() {
    use crate::reqseq::Slot;
    let dir = std::env::temp_dir().join(format!("ystpay-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v1.db");
    let _ = std::fs::remove_file(&path);
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE ops(id INTEGER PRIMARY KEY, account TEXT NOT NULL, req_seq TEXT NOT NULL,
                 kind TEXT NOT NULL, state TEXT NOT NULL, total_fee INTEGER NOT NULL CHECK (total_fee > 0),
                 channel TEXT, auth_code TEXT, trans_seq TEXT, parent_seq TEXT, revoke_seq TEXT,
                 refund_seq TEXT, pay_url TEXT, expires_ms INTEGER, reason TEXT, owner TEXT,
                 lease_ms INTEGER, detail TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,
                 updated_ms INTEGER NOT NULL, day TEXT NOT NULL, UNIQUE(account, req_seq));
             CREATE TABLE attempts(id INTEGER PRIMARY KEY, op_id INTEGER NOT NULL REFERENCES ops(id),
                 what TEXT NOT NULL, req_seq TEXT NOT NULL, sent_ms INTEGER NOT NULL,
                 outcome TEXT NOT NULL);
             CREATE TABLE notices(account TEXT NOT NULL, trans_seq TEXT NOT NULL, req_seq TEXT,
                 received_ms INTEGER NOT NULL, PRIMARY KEY(account, trans_seq));
             INSERT INTO ops(account, req_seq, kind, state, total_fee, owner, lease_ms,
                 created_ms, updated_ms, day)
                 VALUES ('demo', '26112810000000070005', 'pay', 'waiting', 100, 'gone', 99,
                 1, 1, '2026-11-28');
             INSERT INTO attempts(op_id, what, req_seq, sent_ms, outcome)
                 VALUES (1, 'query', '26112810000000070009', 1, 'W');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let j = Journal::open(&path).unwrap();
    let rec = j.get("demo", "26112810000000070005").unwrap().unwrap();
    assert_eq!(
        (rec.state, rec.owner.as_deref()),
        (OpState::Waiting, Some("gone"))
    );
    // Its owner of old is no live process: taken at once.
    let me = j.new_owner().unwrap();
    assert!(j.claim("demo", &rec.req_seq, &me).unwrap());
    // The ledger continues after the latest serial the journal holds for tag 7.
    let (latest, _) = Slot::parse("26112810000000070009").unwrap();
    let early = Slot {
        second: latest.second - 3600,
        counter: 0,
    };
    assert_eq!(j.issue_serial("demo", 7, early).unwrap(), latest.after());
    let version: i64 = j
        .lock()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    drop(me);
    drop(j);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A revoke serial is checked when it is first recorded: one the journal
/// holds for another operation, its revoke or a request sent is refused,
/// since the platform would take the revoke as that request (docs/DESIGN.md,
/// "Serials"). Recording the same one again (a retry) is fine.
#[test]
fn a_revoke_serial_the_journal_holds_is_refused_when_recorded() {
    let j = Journal::open_in_memory().unwrap();
    pay(&j, "A", 100);
    pay(&j, "B", 200);
    j.record_attempt("demo", "A", "query", "Q1", "W").unwrap();
    let revoke = |seq: &str| OpUpdate {
        state: Some(OpState::Revoking),
        revoke_seq: Some(seq.to_string()),
        ..OpUpdate::default()
    };
    for used in ["A", "Q1"] {
        assert_eq!(
            j.update("demo", "B", &revoke(used)),
            Err(JournalError::Duplicate(used.to_string())),
            "{used}"
        );
    }
    assert_eq!(j.get("demo", "B").unwrap().unwrap().revoke_seq, None);
    assert!(j.update("demo", "A", &revoke("R1")).is_ok());
    assert!(
        j.update("demo", "A", &revoke("R1")).is_ok(),
        "the same again"
    );
    assert_eq!(
        j.update("demo", "B", &revoke("R1")),
        Err(JournalError::Duplicate("R1".into()))
    );
    assert_eq!(
        j.update("demo", "A", &revoke("R2")),
        Err(JournalError::Duplicate("R1".into())),
        "a recorded revoke serial is never replaced"
    );
}
