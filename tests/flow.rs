//! The settle flows against the real simulator: each scenario of the
//! payment-code contract, cancel from another thread, the progress
//! callback, refunds, native orders, recovery and notices.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ystpay::flow::{
    CancelToken, NewOrder, OrderSpec, OrderStart, Outcome, PayOrder, Progress, RevokeReason,
    SettleOptions,
};
use ystpay::journal::{JournalError, NewOp, OpKind, OpState};
use ystpay::protocol::Channel;
use ystpay::FlowConfig;
use ystpay_sim::{Fault, TrueStatus};

fn pay(p: &ystpay::Payments, code: &str, fee: i64) -> ystpay::Settlement {
    p.settle_pay(&PayOrder::new(fee, code), &SettleOptions::default())
        .unwrap()
}

#[test]
fn every_barcode_scenario_ends_with_the_truth() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "scenarios");
    let ctl = sim.control();
    let cases: &[(u8, Outcome)] = &[
        (0, Outcome::Paid),    // paid at once
        (55, Outcome::Paid),   // password, paid after 5 s
        (63, Outcome::Failed), // password, abandoned after 3 s
        (71, Outcome::Failed), // refused at once (result=N, F)
        (85, Outcome::Paid),   // "busy" but paid: only a query reveals it
        (91, Outcome::Paid),   // paid, answer delayed 1 s (scaled: 20 ms)
        (99, Outcome::Paid),   // paid, answer delayed 9 s (scaled: 180 ms)
    ];
    for (i, (last2, want)) in cases.iter().enumerate() {
        let code = wechat_code(i as u64, *last2);
        let s = pay(&p, &code, 100 + i as i64);
        assert_eq!(s.outcome, *want, "code ..{last2}: {s:?}");
        let truth = ctl.order("demo", &s.req_seq).unwrap();
        assert!(truth.pay_count <= 1);
        let rec = p.journal().get("demo", &s.req_seq).unwrap().unwrap();
        agrees(&rec, Some(&truth)).unwrap();
        assert_eq!(rec.auth_code_masked.as_deref().map(str::len), Some(18));
        assert!(!rec.auth_code_masked.unwrap().contains(&code[4..14]));
    }
    // Alipay works the same way.
    let s = pay(&p, &alipay_code(7, 10), 50);
    assert_eq!(s.outcome, Outcome::Paid);
    assert_eq!(s.channel.as_deref(), Some("A"));
    assert!(mismatches(p.journal(), &ctl).is_empty());
}

#[test]
fn a_customer_who_never_pays_is_revoked_at_the_deadline() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "deadline");
    // Password entry of 10 s, but the register only waits 3 s (scaled 60 ms).
    let opts = SettleOptions {
        deadline: Some(Duration::from_secs(3).div_f64(TIME_SCALE)),
        ..SettleOptions::default()
    };
    let s = p
        .settle_pay(&PayOrder::new(300, wechat_code(1, 50)), &opts)
        .unwrap();
    assert_eq!(s.outcome, Outcome::Revoked, "{s:?}");
    let truth = sim.control().order("demo", &s.req_seq).unwrap();
    assert_eq!(truth.status, TrueStatus::Closed);
    assert_eq!(truth.pay_count, 0);
    let attempts = p.journal().attempts("demo", &s.req_seq).unwrap();
    assert!(attempts.iter().any(|a| a.what == "revoke"));
}

#[test]
fn the_revoke_is_retried_until_it_gets_through() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "revoke-retry");
    let ctl = sim.control();
    // The pay answers W; from then on every request fails for a while. The
    // faults are injected when the flow reports the W answer, so the payment
    // request itself always gets through.
    let injected = std::sync::Once::new();
    let c2 = ctl.clone();
    let on_progress = move |p: &Progress| {
        if matches!(p, Progress::WaitingForCustomer { .. }) {
            injected.call_once(|| {
                c2.inject(Fault::Http500, 3);
                c2.inject(Fault::DropAfterCommit, 1);
                c2.inject(Fault::DropBeforeCommit, 2);
            });
        }
    };
    let opts = SettleOptions {
        deadline: Some(Duration::from_millis(30)),
        progress: Some(&on_progress),
        ..SettleOptions::default()
    };
    let code = wechat_code(2, 50);
    let s = p.settle_pay(&PayOrder::new(300, code), &opts).unwrap();
    assert_eq!(s.outcome, Outcome::Revoked, "{s:?}");
    let truth = ctl.order("demo", &s.req_seq).unwrap();
    assert_eq!(truth.status, TrueStatus::Closed);
    assert!(mismatches(p.journal(), &ctl).is_empty());
}

#[test]
fn cancel_from_another_thread_stops_waiting_and_revokes() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "cancel");
    let token = CancelToken::new();
    let esc = token.clone();
    let started = Instant::now();
    // The customer needs 10 s (scaled); the cashier presses Esc on another
    // thread as soon as the register shows "waiting for the password".
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let presser = std::thread::spawn(move || {
        if rx.recv().is_ok() {
            esc.cancel();
        }
    });
    let on_progress = move |p: &Progress| {
        if matches!(p, Progress::WaitingForCustomer { .. }) {
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    };
    let opts = SettleOptions {
        cancel: Some(&token),
        progress: Some(&on_progress),
        deadline: Some(Duration::from_secs(10)),
        poll: None,
    };
    let s = p
        .settle_pay(&PayOrder::new(990, wechat_code(3, 50)), &opts)
        .unwrap();
    presser.join().unwrap();
    assert_eq!(s.outcome, Outcome::Revoked, "{s:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped waiting at once"
    );
    let truth = sim.control().order("demo", &s.req_seq).unwrap();
    assert_eq!(truth.status, TrueStatus::Closed);
    // Later, the customer's password entry would have paid: it cannot now.
    std::thread::sleep(Duration::from_millis(250));
    let truth = sim.control().order("demo", &s.req_seq).unwrap();
    assert_eq!(truth.pay_count, 0);
}

#[test]
fn a_cancel_during_the_request_still_reports_paid() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "cancel-late");
    let token = CancelToken::new();
    // The cashier presses Esc while the request is on its way: its answer
    // is read first, and it says paid.
    let press = |pr: &Progress| {
        if matches!(pr, Progress::Sending { .. }) {
            token.cancel();
        }
    };
    let opts = SettleOptions {
        cancel: Some(&token),
        progress: Some(&press),
        ..SettleOptions::default()
    };
    let s = p
        .settle_pay(&PayOrder::new(10, wechat_code(4, 1)), &opts)
        .unwrap();
    assert!(token.is_cancelled());
    assert_eq!(s.outcome, Outcome::Paid);
}

#[test]
fn a_cancel_pulled_before_the_call_sends_nothing() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "cancel-early");
    let ctl = sim.control();
    let paid = pay(&p, &wechat_code(4, 2), 500);
    assert_eq!(paid.outcome, Outcome::Paid);
    let token = CancelToken::new();
    token.cancel();
    let opts = SettleOptions {
        cancel: Some(&token),
        ..SettleOptions::default()
    };
    let before = ctl.request_count();
    let s = p
        .settle_pay(&PayOrder::new(10, wechat_code(4, 3)), &opts)
        .unwrap();
    assert_eq!(s.outcome, Outcome::NotSent, "{s:?}");
    let r = p.settle_refund(&paid.req_seq, 100, "x", &opts).unwrap();
    assert_eq!(r.outcome, Outcome::NotSent, "{r:?}");
    let order = NewOrder {
        total_fee: 300,
        channel: Channel::WeChat,
        spec: OrderSpec::Native {
            expire_secs: Some(300),
        },
    };
    let o = p.settle_order(&order, &opts).unwrap();
    assert_eq!(o.outcome, Outcome::NotSent, "{o:?}");
    assert_eq!(ctl.request_count(), before, "nothing reached the platform");
    for seq in [&s.req_seq, &r.req_seq, &o.req_seq] {
        let rec = p.journal().get("demo", seq).unwrap().unwrap();
        assert_eq!(rec.state, OpState::NotSent);
    }
    assert!(p.journal().open_ops("demo").unwrap().is_empty());
}

#[test]
fn progress_tells_the_cashier_what_is_happening() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "progress");
    let seen: Mutex<Vec<Progress>> = Mutex::new(Vec::new());
    let cb = |e: &Progress| seen.lock().unwrap().push(e.clone());
    let opts = SettleOptions {
        progress: Some(&cb),
        ..SettleOptions::default()
    };
    // Password then paid: sending, waiting for the customer, finished.
    let s = p
        .settle_pay(&PayOrder::new(100, wechat_code(5, 55)), &opts)
        .unwrap();
    assert_eq!(s.outcome, Outcome::Paid);
    let ev = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        matches!(ev.first(), Some(Progress::Sending { .. })),
        "{ev:?}"
    );
    assert!(ev
        .iter()
        .any(|e| matches!(e, Progress::WaitingForCustomer { .. })));
    assert_eq!(
        ev.last(),
        Some(&Progress::Finished {
            outcome: Outcome::Paid
        })
    );
    // Busy: querying. Deadline: revoking.
    let s = p
        .settle_pay(&PayOrder::new(100, wechat_code(6, 81)), &opts)
        .unwrap();
    assert_eq!(s.outcome, Outcome::Paid);
    let ev = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        ev.iter().any(|e| matches!(e, Progress::Querying { .. })),
        "{ev:?}"
    );
    let short = SettleOptions {
        progress: Some(&cb),
        deadline: Some(Duration::from_millis(40)),
        ..SettleOptions::default()
    };
    let s = p
        .settle_pay(&PayOrder::new(100, wechat_code(7, 50)), &short)
        .unwrap();
    assert_eq!(s.outcome, Outcome::Revoked);
    let ev = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        ev.iter().any(|e| matches!(
            e,
            Progress::Revoking {
                reason: RevokeReason::Deadline,
                ..
            }
        )),
        "{ev:?}"
    );
}

#[test]
fn an_unreachable_platform_gives_unknown_and_recovery_settles_it() {
    // A port nothing listens on: every request is NotSent.
    let sock = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!(
        "http://{}/ystpay/service/unitive.api",
        sock.local_addr().unwrap()
    );
    drop(sock);
    let sim = start_sim(TIME_SCALE);
    let dir = temp_dir("unreachable");
    let journal = Arc::new(ystpay::Journal::open(dir.join("j.db")).unwrap());
    let cfg = FlowConfig::default().scaled(1.0 / TIME_SCALE);
    let offline = ystpay::Payments::new(
        Arc::new(
            ystpay::Client::new(&client_config(&dead, Duration::from_millis(300), 1)).unwrap(),
        ),
        journal.clone(),
        cfg.clone(),
    )
    .unwrap();
    let s = offline
        .settle_pay(
            &PayOrder::new(100, wechat_code(8, 2)),
            &SettleOptions::default(),
        )
        .unwrap();
    // Nothing could have left (the connection was refused): not sent,
    // closed at once, nothing left for recovery.
    assert_eq!(s.outcome, Outcome::NotSent, "{s:?}");
    let rec = journal.get("demo", &s.req_seq).unwrap().unwrap();
    assert_eq!(rec.state, OpState::NotSent);
    // A payment left open by a process that died before it could send
    // (a crash between the journal and the network) is settled once the
    // platform is back: recovery revokes it, closing the serial for good.
    let mut op = NewOp::new("demo", "26120600000000000001", OpKind::Pay, 100);
    op.auth_code = Some(wechat_code(8, 3));
    journal.begin(&op).unwrap();
    let online = ystpay::Payments::new(
        Arc::new(
            ystpay::Client::new(&client_config(
                &sim.api_url(),
                Duration::from_millis(300),
                1,
            ))
            .unwrap(),
        ),
        journal.clone(),
        cfg,
    )
    .unwrap();
    let report = online.recover(&SettleOptions::default()).unwrap();
    assert_eq!(report.settled.len(), 1, "{report:?}");
    assert!(report.still_open.is_empty());
    assert_eq!(report.settled[0].outcome, Outcome::Revoked);
    assert!(journal.open_ops("demo").unwrap().is_empty());
    assert!(mismatches(&journal, &sim.control()).is_empty());
}

#[test]
fn refunds_are_settled_and_capped_locally() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "refunds");
    let ctl = sim.control();
    let s = pay(&p, &wechat_code(9, 3), 1000);
    assert_eq!(s.outcome, Outcome::Paid);
    let o = SettleOptions::default();
    let r1 = p.settle_refund(&s.req_seq, 600, "damaged", &o).unwrap();
    assert_eq!(r1.outcome, Outcome::Paid, "{r1:?}");
    assert_eq!(r1.state, OpState::Refunded);
    assert!(r1.refund_seq.is_some());
    // Too much: refused locally, nothing sent.
    let before = ctl.request_count();
    let e = p.settle_refund(&s.req_seq, 401, "again", &o).unwrap_err();
    assert!(
        matches!(
            e,
            ystpay::flow::FlowError::Journal(JournalError::RefundExceedsPaid { .. })
        ),
        "{e:?}"
    );
    assert_eq!(ctl.request_count(), before);
    // A refund whose answer is lost is queried, not sent twice.
    ctl.inject(Fault::DropAfterCommit, 1);
    let r2 = p.settle_refund(&s.req_seq, 300, "again", &o).unwrap();
    assert_eq!(r2.outcome, Outcome::Paid, "{r2:?}");
    // A refund that never arrived is sent again with the same req_seq.
    ctl.inject(Fault::DropBeforeCommit, 1);
    let r3 = p.settle_refund(&s.req_seq, 100, "rest", &o).unwrap();
    assert_eq!(r3.outcome, Outcome::Paid, "{r3:?}");
    let truth = ctl.order("demo", &s.req_seq).unwrap();
    assert_eq!(truth.refunded_fee, 1000);
    assert_eq!(truth.refunds.len(), 3);
    assert_eq!(p.journal().refunds_of("demo", &s.req_seq).unwrap().len(), 3);
    // A failed payment cannot be refunded.
    let f = pay(&p, &wechat_code(10, 72), 500);
    assert!(p.settle_refund(&f.req_seq, 1, "x", &o).is_err());
    let t = p.journal().day_totals(&ystpay::time::today()).unwrap();
    assert_eq!(t.paid_fee, 1000);
    assert_eq!(t.refunded_fee, 1000);
    assert!(mismatches(p.journal(), &ctl).is_empty());
}

#[test]
fn a_native_order_is_paid_or_closed() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "native");
    let ctl = sim.control();
    let shown: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let cb = |e: &Progress| {
        if let Progress::ShowCode { pay_url } = e {
            shown.lock().unwrap().push(pay_url.clone());
        }
    };
    let opts = SettleOptions {
        progress: Some(&cb),
        ..SettleOptions::default()
    };
    // The customer scans and pays while the register waits.
    let order = NewOrder {
        total_fee: 2500,
        channel: Channel::WeChat,
        spec: OrderSpec::Native {
            expire_secs: Some(300),
        },
    };
    let OrderStart::Waiting(t) = p.create_order(&order, &opts).unwrap() else {
        panic!("order not created")
    };
    assert!(t.pay_url.as_deref().unwrap().starts_with("weixin://"));
    assert_eq!(shown.lock().unwrap().len(), 1);
    let c2 = ctl.clone();
    let seq = t.req_seq.clone();
    let payer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        c2.customer_pays("demo", &seq).unwrap();
    });
    let s = p.await_order(&t.req_seq, &opts).unwrap();
    payer.join().unwrap();
    assert_eq!(s.outcome, Outcome::Paid, "{s:?}");
    // Nobody pays: the register stops waiting and closes it.
    let short = SettleOptions {
        deadline: Some(Duration::from_millis(80)),
        ..SettleOptions::default()
    };
    let s = p.settle_order(&order, &short).unwrap();
    assert_eq!(s.outcome, Outcome::Revoked, "{s:?}");
    assert_eq!(
        ctl.order("demo", &s.req_seq).unwrap().status,
        TrueStatus::Closed
    );
    // JS and H5 orders are created the same way.
    for spec in [
        OrderSpec::Js {
            subopen_id: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        },
        OrderSpec::H5 {
            ip: Some("125.71.132.197".into()),
            redirect_url: "https://shop.example/back".into(),
        },
    ] {
        let o = NewOrder {
            total_fee: 100,
            channel: Channel::WeChat,
            spec,
        };
        let OrderStart::Waiting(t) = p.create_order(&o, &SettleOptions::default()).unwrap() else {
            panic!()
        };
        assert!(t.pay_url.is_some());
        ctl.customer_pays("demo", &t.req_seq).unwrap();
        let s = p
            .await_order(&t.req_seq, &SettleOptions::default())
            .unwrap();
        assert_eq!(s.outcome, Outcome::Paid);
    }
    assert!(mismatches(p.journal(), &ctl).is_empty());
}

#[test]
fn notices_are_acknowledged_and_reported_once() {
    let sim = start_sim(TIME_SCALE);
    let (p, _) = payments(&sim, TIME_SCALE, "notices");
    let ctl = sim.control();
    let order = NewOrder {
        total_fee: 700,
        channel: Channel::Alipay,
        spec: OrderSpec::Native { expire_secs: None },
    };
    let OrderStart::Waiting(t) = p.create_order(&order, &SettleOptions::default()).unwrap() else {
        panic!()
    };
    ctl.customer_pays("demo", &t.req_seq).unwrap();
    let trans = t.trans_seq.clone().unwrap();
    // A plain notice as the platform may send it: confirmed by query first.
    let body = format!(
        "<data><request_type>native_order_notice</request_type><req_seq>{}</req_seq>\
         <channel>A</channel><trans_seq>{trans}</trans_seq><total_fee>700</total_fee>\
         <status>S</status><pay_time>2026-01-01 10:00:00</pay_time></data>",
        t.req_seq
    );
    let h = p.handle_notice(body.as_bytes());
    assert!(h.accepted, "{h:?}");
    assert!(h.reply.contains("<result>Y</result>"));
    let rep = h.report.unwrap();
    assert!(rep.in_journal);
    assert_eq!(rep.total_fee, Some(700));
    assert_eq!(
        p.journal().get("demo", &t.req_seq).unwrap().unwrap().state,
        OpState::Paid
    );
    // The repeat: Y, not reported.
    let h = p.handle_notice(body.as_bytes());
    assert!(h.accepted && h.report.is_none());
    // A forged plain notice for an unpaid order is not confirmed: N.
    let OrderStart::Waiting(t2) = p.create_order(&order, &SettleOptions::default()).unwrap() else {
        panic!()
    };
    let forged = body
        .replace(&t.req_seq, &t2.req_seq)
        .replace(&trans, t2.trans_seq.as_deref().unwrap());
    let h = p.handle_notice(forged.as_bytes());
    assert!(!h.accepted && h.report.is_none(), "{h:?}");
    assert!(h.reply.contains("<result>N</result>"));
    // Garbage: N.
    assert!(!p.handle_notice(b"<<<").accepted);
}

#[test]
fn retries_reuse_the_req_seq_and_no_secret_reaches_the_journal_files() {
    let sim = start_sim(TIME_SCALE);
    let (p, path) = payments(&sim, TIME_SCALE, "secrets");
    let ctl = sim.control();
    let code = wechat_code(4242, 7);
    // The first send never reaches the platform: the resend uses the same req_seq.
    ctl.inject(Fault::DropBeforeCommit, 1);
    let s = pay(&p, &code, 321);
    assert_eq!(s.outcome, Outcome::Paid, "{s:?}");
    let attempts = p.journal().attempts("demo", &s.req_seq).unwrap();
    let pays: Vec<_> = attempts.iter().filter(|a| a.what == "pay").collect();
    assert!(pays.len() >= 2, "{attempts:?}");
    assert!(pays.iter().all(|a| a.req_seq == s.req_seq));
    assert_eq!(ctl.order("demo", &s.req_seq).unwrap().pay_count, 1);
    // Neither the payment code, nor the key, the password or the dsn are on disk.
    let dsn = ystpay::protocol::crypto::derive_dsn("demo", "0123456789ABCDEF", "demo123");
    let mut bytes = Vec::new();
    for ext in ["", "-wal", "-shm"] {
        let f = std::path::PathBuf::from(format!("{}{ext}", path.display()));
        if let Ok(b) = std::fs::read(&f) {
            bytes.extend(b);
        }
    }
    assert!(bytes.len() > 1000);
    let text = String::from_utf8_lossy(&bytes);
    for secret in [code.as_str(), "0123456789ABCDEF", "demo123", dsn.as_str()] {
        assert!(
            !text.contains(secret),
            "{secret} found in the journal files"
        );
    }
    assert!(text.contains(&code[..4]), "masked code is there");
}
