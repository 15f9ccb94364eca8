//! Barcode payment (4.1–4.5) over real HTTP: every payment-code scenario,
//! retries, conflicts, refunds and revokes.

mod common;

use common::*;
use ystpay::protocol::{
    Channel, PayRequest, QueryPayRequest, QueryRefundRequest, RefundRequest, RevokeRequest, Status,
};
use ystpay_sim::{OrderKind, TrueStatus};

const W_PAID: &str = "134567890123456701";
const A_PAID: &str = "2812345678901201";

fn code(h: &ystpay::protocol::ResponseHead) -> &str {
    h.code.as_deref().unwrap_or("")
}

fn query(sim: &ystpay_sim::RunningSim, ori: &str) -> ystpay::protocol::PayResponse {
    call(
        sim,
        &QueryPayRequest {
            req_seq: seq("q"),
            auth_code: None,
            ori_seq: ori.to_string(),
        },
    )
}

#[test]
fn paid_at_once_wechat_and_alipay() {
    let sim = start(100.0);
    let ctl = sim.control();
    for (code_text, chan) in [(W_PAID, "W"), (A_PAID, "A")] {
        let s = seq("p");
        let r = call(&sim, &PayRequest::new(s.as_str(), 1234, code_text));
        assert_eq!(r.head.result, Some(true));
        assert_eq!(code(&r.head), "E11000");
        assert_eq!(r.status, Some(Status::Success));
        assert_eq!(r.channel.as_ref().map(|c| c.code()), Some(chan));
        assert_eq!(r.total_fee, Some(1234));
        assert_eq!(r.cash_fee, Some(1234));
        let trans = r.trans_seq.clone().unwrap();
        assert!(trans.len() == 20 && trans.bytes().all(|b| b.is_ascii_digit()));
        assert!(r.pay_time.as_deref().is_some_and(|t| t.len() == 19));
        assert!(
            r.receipts.iter().any(|l| l == "交易金额：12.34元"),
            "{:?}",
            r.receipts
        );
        assert!(r
            .receipts
            .iter()
            .any(|l| l == &format!("交易流水：{trans}")));
        let title = if chan == "W" {
            "微信支付交易小票"
        } else {
            "支付宝交易小票"
        };
        assert!(r.receipts[0].contains(title));

        let q = query(&sim, &s);
        assert_eq!(q.head.result, Some(true));
        assert_eq!(q.status, Some(Status::Success));
        assert_eq!(q.trans_seq.as_deref(), Some(trans.as_str()));

        let o = ctl.order("demo", &s).unwrap();
        assert_eq!(o.kind, OrderKind::Barcode);
        assert_eq!(o.status, TrueStatus::Paid);
        assert_eq!(o.pay_count, 1);
        assert_eq!(o.channel, chan);
        assert_eq!(o.trans_seq, trans);
    }
}

#[test]
fn refused_codes_and_channel_mismatch() {
    let sim = start(100.0);
    let ctl = sim.control();
    for bad in [
        "1234",
        "161234567890123401",
        "1345678901234501",
        "ABCDEFGHIJKLMNOPQR",
    ] {
        let s = seq("b");
        let r = call(&sim, &PayRequest::new(s.as_str(), 100, bad));
        assert_eq!(r.head.result, Some(false), "{bad}");
        assert_eq!(code(&r.head), "E12003");
        assert_eq!(r.status, Some(Status::Failed));
        assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 0);
    }
    let s = seq("m");
    let mut req = PayRequest::new(s.as_str(), 100, A_PAID);
    req.channel = Some(Channel::WeChat);
    let r = call(&sim, &req);
    assert_eq!(r.head.result, Some(false));
    assert_eq!(code(&r.head), "E12004");
    let o = ctl.order("demo", &s).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Failed, 0));
    // A matching explicit channel is fine.
    let mut req = PayRequest::new(seq("m").as_str(), 100, A_PAID);
    req.channel = Some(Channel::Alipay);
    assert_eq!(call(&sim, &req).status, Some(Status::Success));
}

#[test]
fn password_then_paid() {
    let sim = start(100.0);
    let s = seq("pw");
    let r = call(
        &sim,
        &PayRequest::new(s.as_str(), 500, "134567890123456755"),
    );
    assert_eq!(r.head.result, Some(true));
    assert_eq!(code(&r.head), "E11001");
    assert_eq!(r.status, Some(Status::Waiting));
    let q = wait_for(|| Some(query(&sim, &s)).filter(|q| q.status != Some(Status::Waiting)));
    assert_eq!(q.status, Some(Status::Success));
    assert_eq!(code(&q.head), "E11000");
    assert!(q.pay_time.is_some());
    let o = sim.control().order("demo", &s).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Paid, 1));
}

#[test]
fn password_then_abandoned() {
    let sim = start(100.0);
    let s = seq("ab");
    let r = call(
        &sim,
        &PayRequest::new(s.as_str(), 500, "134567890123456762"),
    );
    assert_eq!(r.status, Some(Status::Waiting));
    let o = wait_for(|| {
        sim.control()
            .order("demo", &s)
            .filter(|o| o.status != TrueStatus::Waiting)
    });
    assert_eq!((o.status, o.pay_count), (TrueStatus::Failed, 0));
    let q = query(&sim, &s);
    assert_eq!(q.head.result, Some(true));
    assert_eq!(q.status, Some(Status::Failed));
    assert_eq!(code(&q.head), "E12002");
}

#[test]
fn insufficient_balance() {
    let sim = start(100.0);
    let s = seq("nb");
    let r = call(
        &sim,
        &PayRequest::new(s.as_str(), 500, "134567890123456775"),
    );
    assert_eq!(r.head.result, Some(false));
    assert_eq!(code(&r.head), "E12001");
    assert_eq!(r.status, Some(Status::Failed));
    let q = query(&sim, &s);
    assert_eq!((q.status, code(&q.head)), (Some(Status::Failed), "E12001"));
    assert_eq!(sim.control().order("demo", &s).unwrap().pay_count, 0);
}

#[test]
fn busy_answer_but_paid() {
    let sim = start(100.0);
    let s = seq("bz");
    let r = call(
        &sim,
        &PayRequest::new(s.as_str(), 500, "134567890123456783"),
    );
    assert_eq!(r.head.result, Some(false));
    assert_eq!(code(&r.head), "E10009");
    assert_eq!(r.status, None);
    assert_eq!(r.trans_seq, None);
    let q = query(&sim, &s);
    assert_eq!(q.status, Some(Status::Success));
    // A retry with the same content reports the truth without paying twice.
    let again = call(
        &sim,
        &PayRequest::new(s.as_str(), 500, "134567890123456783"),
    );
    assert_eq!(again.status, Some(Status::Success));
    let o = sim.control().order("demo", &s).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Paid, 1));
}

#[test]
fn slow_answer_committed_first() {
    let sim = start(100.0);
    let ctl = sim.control();
    let s = seq("sl");
    let s2 = s.clone();
    let url = sim.api_url();
    let h = std::thread::spawn(move || {
        let creds = demo_creds();
        let req = PayRequest::new(s2.as_str(), 500, "134567890123456797");
        use ystpay::protocol::Request;
        post(
            &url,
            seal(&creds, PayRequest::REQUEST_TYPE, &req.to_xml(&creds.dsn)),
        )
    });
    // Committed before the (700 ms scaled) answer arrives.
    let o = wait_for(|| ctl.order("demo", &s));
    assert_eq!((o.status, o.pay_count), (TrueStatus::Paid, 1));
    let (status, body) = h.join().unwrap().unwrap();
    assert_eq!(status, 200);
    let plain = open(&demo_creds().dsn, &body).unwrap();
    assert!(plain.contains("<status>S</status>"));
}

#[test]
fn duplicate_req_seq() {
    let sim = start(100.0);
    let s = seq("dup");
    let first = call(&sim, &PayRequest::new(s.as_str(), 700, W_PAID));
    let second = call(&sim, &PayRequest::new(s.as_str(), 700, W_PAID));
    assert_eq!(second.head.result, Some(true));
    assert_eq!(second.trans_seq, first.trans_seq);
    assert_eq!(second.status, Some(Status::Success));
    for different in [
        PayRequest::new(s.as_str(), 701, W_PAID),
        PayRequest::new(s.as_str(), 700, "134567890123456702"),
        {
            let mut r = PayRequest::new(s.as_str(), 700, W_PAID);
            r.channel = Some(Channel::WeChat);
            r
        },
    ] {
        let r = call(&sim, &different);
        assert_eq!(r.head.result, Some(false));
        assert_eq!(code(&r.head), "E10005");
    }
    let o = sim.control().order("demo", &s).unwrap();
    assert_eq!((o.total_fee, o.pay_count), (700, 1));
}

#[test]
fn query_unknown_order() {
    let sim = start(100.0);
    let q = query(&sim, "nosuchorder");
    assert_eq!(q.head.result, Some(false));
    assert_eq!(code(&q.head), "E10004");
}

fn refund(
    sim: &ystpay_sim::RunningSim,
    s: &str,
    trans: &str,
    fee: i64,
) -> ystpay::protocol::RefundResponse {
    call(
        sim,
        &RefundRequest {
            req_seq: s.to_string(),
            trans_seq: trans.to_string(),
            refund_fee: fee,
            reason: "用户对商品或者服务不满意".to_string(),
        },
    )
}

#[test]
fn refunds_partial_idempotent_and_bounded() {
    let sim = start(100.0);
    let ctl = sim.control();
    let s = seq("rf");
    let trans = call(&sim, &PayRequest::new(s.as_str(), 1000, W_PAID))
        .trans_seq
        .unwrap();
    let r1s = seq("r");
    let r1 = refund(&sim, &r1s, &trans, 300);
    assert_eq!((r1.head.result, code(&r1.head)), (Some(true), "E13000"));
    assert_eq!((r1.refund_fee, r1.total_fee), (Some(300), Some(1000)));
    assert_eq!(r1.status, Some(Status::Success));
    assert!(r1.receipts.iter().any(|l| l == "退款金额：3.00元"));
    let rseq = r1.refund_seq.clone().unwrap();
    assert!(rseq.len() == 20 && rseq.bytes().all(|b| b.is_ascii_digit()));
    // Retry: same answer, no second refund.
    let again = refund(&sim, &r1s, &trans, 300);
    assert_eq!(again.refund_seq.as_deref(), Some(rseq.as_str()));
    assert_eq!(ctl.order("demo", &s).unwrap().refunded_fee, 300);
    // Same req_seq, different content.
    let c = refund(&sim, &r1s, &trans, 301);
    assert_eq!((c.head.result, code(&c.head)), (Some(false), "E10005"));
    // Too much.
    let over = refund(&sim, &seq("r"), &trans, 701);
    assert_eq!(
        (over.head.result, code(&over.head)),
        (Some(false), "E13001")
    );
    let rest = refund(&sim, &seq("r"), &trans, 700);
    assert_eq!(rest.head.result, Some(true));
    let one_more = refund(&sim, &seq("r"), &trans, 1);
    assert_eq!(code(&one_more.head), "E13001");
    let o = ctl.order("demo", &s).unwrap();
    assert_eq!(o.refunded_fee, 1000);
    assert_eq!(o.refunds.len(), 2);
    assert_eq!(o.refunds[0].refund_seq, rseq);
    // Refund query.
    let q = call(
        &sim,
        &QueryRefundRequest {
            req_seq: seq("rq"),
            trans_seq: trans.clone(),
            ori_seq: r1s.clone(),
        },
    );
    assert_eq!((q.head.result, code(&q.head)), (Some(true), "E13000"));
    assert_eq!(
        (q.refund_seq.as_deref(), q.refund_fee),
        (Some(rseq.as_str()), Some(300))
    );
    let nf = call(
        &sim,
        &QueryRefundRequest {
            req_seq: seq("rq"),
            trans_seq: trans,
            ori_seq: "nosuchrefund".to_string(),
        },
    );
    assert_eq!((nf.head.result, code(&nf.head)), (Some(false), "E13004"));
    // Unknown trans_seq.
    let u = refund(&sim, &seq("r"), "99999999999999999999", 1);
    assert_eq!(code(&u.head), "E10004");
}

#[test]
fn refund_alias_and_unpaid_order() {
    use ystpay::protocol::Request;
    let sim = start(100.0);
    let s = seq("al");
    let trans = call(&sim, &PayRequest::new(s.as_str(), 200, W_PAID))
        .trans_seq
        .unwrap();
    let creds = demo_creds();
    let req = RefundRequest {
        req_seq: seq("ra"),
        trans_seq: trans,
        refund_fee: 50,
        reason: "x".to_string(),
    };
    let plain = req
        .to_xml(&creds.dsn)
        .replace(RefundRequest::REQUEST_TYPE, "refund_fee_request");
    let (_, body) = post(&sim.api_url(), seal(&creds, "refund_fee_request", &plain)).unwrap();
    let ans = open(&creds.dsn, &body).unwrap();
    assert!(
        ans.contains("<result>Y</result>") && ans.contains("E13000"),
        "{ans}"
    );
    assert_eq!(sim.control().order("demo", &s).unwrap().refunded_fee, 50);
    // A waiting order cannot be refunded.
    let w = seq("wt");
    let wt = call(
        &sim,
        &PayRequest::new(w.as_str(), 200, "134567890123456750"),
    )
    .trans_seq
    .unwrap();
    let r = refund(&sim, &seq("r"), &wt, 10);
    assert_eq!((r.head.result, code(&r.head)), (Some(false), "E13002"));
}

fn revoke(sim: &ystpay_sim::RunningSim, ori: &str) -> ystpay::protocol::RevokeResponse {
    call(
        sim,
        &RevokeRequest {
            req_seq: seq("rv"),
            ori_seq: ori.to_string(),
            channel: Some(Channel::WeChat),
            auth_code: None,
        },
    )
}

#[test]
fn revoke_paid_order_returns_money() {
    let sim = start(100.0);
    let ctl = sim.control();
    let s = seq("rp");
    let trans = call(&sim, &PayRequest::new(s.as_str(), 900, W_PAID))
        .trans_seq
        .unwrap();
    assert_eq!(refund(&sim, &seq("r"), &trans, 100).head.result, Some(true));
    let r = revoke(&sim, &s);
    assert_eq!((r.head.result, code(&r.head)), (Some(true), "E14000"));
    let o = ctl.order("demo", &s).unwrap();
    assert_eq!(
        (o.status, o.refunded_fee, o.pay_count),
        (TrueStatus::Revoked, 900, 1)
    );
    // Idempotent.
    assert_eq!(revoke(&sim, &s).head.result, Some(true));
    // Query and retries report it.
    let q = query(&sim, &s);
    assert_eq!((q.status, code(&q.head)), (Some(Status::Failed), "E14001"));
    let again = call(&sim, &PayRequest::new(s.as_str(), 900, W_PAID));
    assert_eq!(
        (again.head.result, code(&again.head)),
        (Some(false), "E14001")
    );
    let rf = refund(&sim, &seq("r"), &trans, 1);
    assert_eq!(code(&rf.head), "E14001");
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 1);
}

#[test]
fn revoke_waiting_order_closes_it() {
    // 10 s password timer scaled by 5 → 2 s: the revoke arrives first.
    let sim = start(5.0);
    let ctl = sim.control();
    let s = seq("rw");
    let r = call(
        &sim,
        &PayRequest::new(s.as_str(), 900, "134567890123456750"),
    );
    assert_eq!(r.status, Some(Status::Waiting));
    assert_eq!(revoke(&sim, &s).head.result, Some(true));
    assert_eq!(ctl.order("demo", &s).unwrap().status, TrueStatus::Closed);
    std::thread::sleep(std::time::Duration::from_millis(2300));
    let o = ctl.order("demo", &s).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Closed, 0));
    let q = query(&sim, &s);
    assert_eq!((q.status, code(&q.head)), (Some(Status::Failed), "E11003"));
}

#[test]
fn revoke_unknown_order_leaves_tombstone() {
    let sim = start(100.0);
    let s = seq("tb");
    let r = call(
        &sim,
        &RevokeRequest {
            req_seq: seq("rv"),
            ori_seq: s.clone(),
            channel: None,
            auth_code: Some(W_PAID.into()),
        },
    );
    assert_eq!(r.head.result, Some(true));
    let late = call(&sim, &PayRequest::new(s.as_str(), 100, W_PAID));
    assert_eq!(
        (late.head.result, code(&late.head)),
        (Some(false), "E14001")
    );
    assert_eq!(sim.control().order("demo", &s), None);
    // Revoke without channel or auth_code is an invalid request.
    let bad = call(
        &sim,
        &RevokeRequest {
            req_seq: seq("rv"),
            ori_seq: s,
            channel: None,
            auth_code: None,
        },
    );
    assert_eq!((bad.head.result, code(&bad.head)), (Some(false), "E10003"));
    assert!(bad.head.msg.unwrap().contains("channel"));
}

#[test]
fn orders_listing() {
    let sim = start(100.0);
    let a = seq("la");
    let b = seq("lb");
    call(&sim, &PayRequest::new(a.as_str(), 1, W_PAID));
    call(&sim, &PayRequest::new(b.as_str(), 2, A_PAID));
    let all = sim.control().orders("demo");
    assert_eq!(
        all.iter().map(|o| o.req_seq.clone()).collect::<Vec<_>>(),
        vec![a, b]
    );
    assert!(sim.control().orders("nobody").is_empty());
}

/// `Control::customer_confirms` / `customer_walks_away`: the customer at a
/// password prompt acts now, whatever the payment code's script says.
#[test]
fn customer_confirms_or_walks_away_now() {
    // 0.01: the scripted waits (5 s → 500 s) never end during the test.
    let sim = start(0.01);
    let ctl = sim.control();

    // Password scenario, confirmed at once.
    let s = seq("cf");
    let r = call(
        &sim,
        &PayRequest::new(s.as_str(), 700, "134567890123456755"),
    );
    assert_eq!(r.status, Some(Status::Waiting));
    ctl.customer_confirms("demo", &s).unwrap();
    let o = ctl.order("demo", &s).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Paid, 1));
    let q = query(&sim, &s);
    assert_eq!((q.status, code(&q.head)), (Some(Status::Success), "E11000"));
    assert!(q.pay_time.is_some());
    assert!(
        ctl.customer_confirms("demo", &s).is_err(),
        "not waiting any more"
    );
    assert!(ctl.customer_walks_away("demo", &s).is_err());
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 1);

    // Abandon scenario: the console may still have the customer confirm.
    let s = seq("cf");
    call(&sim, &PayRequest::new(s.as_str(), 701, "2812345678901266"));
    ctl.customer_confirms("demo", &s).unwrap();
    assert_eq!(ctl.order("demo", &s).unwrap().status, TrueStatus::Paid);

    // Password scenario, the customer walks away.
    let s = seq("wa");
    let req = PayRequest::new(s.as_str(), 702, "134567890123456757");
    call(&sim, &req);
    ctl.customer_walks_away("demo", &s).unwrap();
    let o = ctl.order("demo", &s).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Failed, 0));
    let q = query(&sim, &s);
    assert_eq!(
        (q.head.result, q.status),
        (Some(true), Some(Status::Failed))
    );
    assert_eq!(code(&q.head), "E12002");
    // A retry of the same payment reports the failure; no money is taken.
    let again = call(&sim, &req);
    assert_eq!(
        (again.head.result, code(&again.head)),
        (Some(false), "E12002")
    );
    assert!(ctl.customer_confirms("demo", &s).is_err());
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 0);

    // Only waiting barcode payments.
    let paid = seq("cf");
    call(&sim, &PayRequest::new(paid.as_str(), 1, W_PAID));
    let e = ctl.customer_walks_away("demo", &paid).unwrap_err();
    assert!(e.contains("not waiting"), "{e}");
    let native = seq("cfn");
    call(
        &sim,
        &ystpay::protocol::NativePayRequest {
            req_seq: native.clone(),
            total_fee: 5,
            expire_time: None,
            channel: Channel::WeChat,
        },
    );
    let e = ctl.customer_confirms("demo", &native).unwrap_err();
    assert!(e.contains("customer-pays"), "{e}");
    assert_eq!(
        ctl.order("demo", &native).unwrap().status,
        TrueStatus::Waiting
    );
    assert!(ctl.customer_confirms("demo", "nope").is_err());
    assert!(ctl.customer_confirms("nobody", &s).is_err());
}

/// After the customer acted, the payment code's scripted end no longer
/// happens: a confirmed "abandon" code stays paid, a walked-away "password"
/// code stays failed.
#[test]
fn acting_now_cancels_the_script() {
    // Scale 4: the scripts end after 10 s / 4 = 2.5 s.
    let sim = start(4.0);
    let ctl = sim.control();
    let confirmed = seq("sc");
    call(
        &sim,
        &PayRequest::new(confirmed.as_str(), 10, "134567890123456760"),
    );
    ctl.customer_confirms("demo", &confirmed).unwrap();
    let gone = seq("sc");
    call(
        &sim,
        &PayRequest::new(gone.as_str(), 11, "134567890123456750"),
    );
    ctl.customer_walks_away("demo", &gone).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3000));
    let o = ctl.order("demo", &confirmed).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Paid, 1));
    let o = ctl.order("demo", &gone).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Failed, 0));
    assert_eq!(code(&query(&sim, &gone).head), "E12002");
}
