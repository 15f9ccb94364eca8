//! Native (5.1/5.2), JS (6.1) and H5 (7.1) orders, and notifications (5.5).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;
use ystpay::protocol::{
    Channel, H5PayRequest, JsPayRequest, NativePayRequest, NativeQueryRequest, OrderNotice,
    RefundRequest, ResponseEnvelope, Status,
};
use ystpay_sim::{OrderKind, SimConfig, Simulator, TrueStatus};

fn native(s: &str, fee: i64, channel: Channel, expire: Option<i64>) -> NativePayRequest {
    NativePayRequest {
        req_seq: s.to_string(),
        total_fee: fee,
        expire_time: expire,
        channel,
    }
}

fn nquery(sim: &ystpay_sim::RunningSim, ori: &str) -> ystpay::protocol::NativePayResponse {
    call(
        sim,
        &NativeQueryRequest {
            req_seq: seq("nq"),
            channel: None,
            ori_seq: ori.to_string(),
        },
    )
}

#[test]
fn native_order_lifecycle() {
    let sim = start(100.0);
    let ctl = sim.control();
    let s = seq("n");
    let r = call(&sim, &native(&s, 2500, Channel::WeChat, None));
    assert_eq!(r.head.result, Some(true));
    assert_eq!(r.head.code.as_deref(), Some("E11101"));
    assert_eq!(r.status, Some(Status::Waiting));
    assert!(r
        .pay_url
        .as_deref()
        .unwrap()
        .starts_with("weixin://wxpay/bizpayurl?pr="));
    let trans = r.trans_seq.clone().unwrap();
    // Retry: same order.
    let again = call(&sim, &native(&s, 2500, Channel::WeChat, None));
    assert_eq!(again.trans_seq.as_deref(), Some(trans.as_str()));
    assert_eq!(again.pay_url, r.pay_url);
    // Conflict.
    let c = call(&sim, &native(&s, 2600, Channel::WeChat, None));
    assert_eq!(
        (c.head.result, c.head.code.as_deref()),
        (Some(false), Some("E10005"))
    );

    let q = nquery(&sim, &s);
    assert_eq!(
        (q.status, q.head.code.as_deref()),
        (Some(Status::Waiting), Some("E11002"))
    );
    ctl.customer_pays("demo", &s).unwrap();
    assert!(
        ctl.customer_pays("demo", &s).is_err(),
        "paying twice is refused"
    );
    let q = nquery(&sim, &s);
    assert_eq!(
        (q.status, q.head.code.as_deref()),
        (Some(Status::Success), Some("E11000"))
    );
    assert!(q.pay_time.is_some());
    let o = ctl.order("demo", &s).unwrap();
    assert_eq!(
        (o.kind, o.status, o.pay_count),
        (OrderKind::Native, TrueStatus::Paid, 1)
    );
    // Refunds work on native orders.
    let rf = call(
        &sim,
        &RefundRequest {
            req_seq: seq("r"),
            trans_seq: trans,
            refund_fee: 2500,
            reason: "退货".to_string(),
        },
    );
    assert_eq!(rf.head.result, Some(true));
    assert_eq!(ctl.order("demo", &s).unwrap().refunded_fee, 2500);
}

#[test]
fn native_alipay_expires() {
    // 300 s scaled by 1000 → 0.3 s.
    let sim = start(1000.0);
    let ctl = sim.control();
    let s = seq("na");
    let r = call(&sim, &native(&s, 100, Channel::Alipay, Some(300)));
    assert!(r
        .pay_url
        .as_deref()
        .unwrap()
        .starts_with("https://qr.alipay.com/"));
    let o = wait_for(|| {
        ctl.order("demo", &s)
            .filter(|o| o.status != TrueStatus::Waiting)
    });
    assert_eq!((o.status, o.pay_count), (TrueStatus::Closed, 0));
    assert!(ctl.customer_pays("demo", &s).is_err());
    let q = nquery(&sim, &s);
    assert_eq!(
        (q.status, q.head.code.as_deref()),
        (Some(Status::Failed), Some("E11003"))
    );
    assert_eq!(q.pay_url, None);
    assert!(ctl.customer_pays("demo", "unknown").is_err());
}

#[test]
fn native_revoke_while_waiting() {
    let sim = start(1.0);
    let ctl = sim.control();
    let s = seq("nr");
    call(&sim, &native(&s, 100, Channel::WeChat, None));
    let r = call(
        &sim,
        &ystpay::protocol::RevokeRequest {
            req_seq: seq("rv"),
            ori_seq: s.clone(),
            channel: Some(Channel::WeChat),
            auth_code: None,
        },
    );
    assert_eq!(r.head.result, Some(true));
    assert_eq!(ctl.order("demo", &s).unwrap().status, TrueStatus::Closed);
    assert!(ctl.customer_pays("demo", &s).is_err());
}

#[test]
fn js_pay() {
    let sim = start(100.0);
    for (chan, key) in [(Channel::WeChat, "appId"), (Channel::Alipay, "tradeNO")] {
        let s = seq("js");
        let r = call(
            &sim,
            &JsPayRequest {
                req_seq: s.clone(),
                total_fee: 10000,
                channel: chan.clone(),
                subopen_id: "0z8tfs4224lgn3535353gdg".to_string(),
            },
        );
        assert_eq!(
            (r.head.result, r.head.code.as_deref()),
            (Some(true), Some("E11101"))
        );
        assert_eq!(r.status, Some(Status::Waiting));
        assert_eq!(r.channel, Some(chan.clone()));
        let info = r.signature_info_map().unwrap();
        assert!(info.contains_key(key), "{info:?}");
        if chan == Channel::WeChat {
            let prepay = r.pay_url.clone().unwrap();
            assert_eq!(info["package"], format!("prepay_id={prepay}"));
            for k in ["nonceStr", "paySign", "signType", "timeStamp"] {
                assert!(info.contains_key(k));
            }
            assert_eq!(info["paySign"].len(), 32);
        }
        let o = sim.control().order("demo", &s).unwrap();
        assert_eq!((o.kind, o.status), (OrderKind::Js, TrueStatus::Waiting));
        sim.control().customer_pays("demo", &s).unwrap();
        assert_eq!(nquery(&sim, &s).status, Some(Status::Success));
    }
}

#[test]
fn h5_pay() {
    let sim = start(100.0);
    let s = seq("h5");
    let r = call(
        &sim,
        &H5PayRequest {
            req_seq: s.clone(),
            total_fee: 10000,
            channel: Channel::WeChat,
            ip: Some("125.71.132.197".to_string()),
            redirect_url: "http://xxx.com/call.html?xxx=xxxx".to_string(),
        },
    );
    assert_eq!(
        (r.head.result, r.head.code.as_deref()),
        (Some(true), Some("E11101"))
    );
    let info = r.pay_info.unwrap();
    assert!(info.starts_with("https://wx.tenpay.com/"), "{info}");
    assert!(info.contains("redirect_url=http%3A%2F%2Fxxx.com%2Fcall.html"));
    assert_eq!(sim.control().order("demo", &s).unwrap().kind, OrderKind::H5);
    // H5 WeChat without ip breaks the field rules.
    let bad = call(
        &sim,
        &H5PayRequest {
            req_seq: seq("h5"),
            total_fee: 1,
            channel: Channel::WeChat,
            ip: None,
            redirect_url: "http://xxx.com/".to_string(),
        },
    );
    assert_eq!(
        (bad.head.result, bad.head.code.as_deref()),
        (Some(false), Some("E10003"))
    );
    assert!(bad.head.msg.unwrap().contains("ip"));
}

/// A loopback HTTP receiver answering `N` to the first `fail_first`
/// notices and `Y` afterwards; records every body.
fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let n = {
                let mut b = seen.lock().unwrap();
                b.push(String::from_utf8_lossy(&body).into_owned());
                b.len()
            };
            let flag = if n > fail_first { "Y" } else { "N" };
            let reply = format!("<data><result>{flag}</result><message>m</message></data>");
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (url, bodies)
}

#[test]
fn notification_retried_until_acknowledged() {
    let (url, bodies) = receiver(1);
    let sim = Simulator::start(SimConfig {
        time_scale: 1000.0,
        notify_url: Some(url),
        ..SimConfig::default()
    })
    .unwrap();
    let ctl = sim.control();
    let s = seq("nt");
    let trans = call(&sim, &native(&s, 321, Channel::WeChat, None))
        .trans_seq
        .unwrap();
    ctl.customer_pays("demo", &s).unwrap();
    let attempts = wait_for(|| Some(ctl.notices()).filter(|n| n.iter().any(|a| a.delivered)));
    assert_eq!(attempts.len(), 2);
    assert_eq!((attempts[0].attempt, attempts[0].delivered), (1, false));
    assert_eq!((attempts[1].attempt, attempts[1].delivered), (2, true));
    assert!(attempts
        .iter()
        .all(|a| a.req_seq == s && a.merchant == "demo"));
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    let dsn = demo_creds().dsn;
    let plain = ResponseEnvelope::parse(&bodies[1])
        .unwrap()
        .open(&dsn)
        .unwrap();
    let n = OrderNotice::from_xml(&plain).unwrap();
    assert_eq!(n.req_seq.as_deref(), Some(s.as_str()));
    assert_eq!(n.trans_seq.as_deref(), Some(trans.as_str()));
    assert_eq!((n.total_fee, n.status), (Some(321), Some(Status::Success)));
    assert_eq!(n.channel, Some(Channel::WeChat));
}

#[test]
fn plain_notification_and_give_up_after_six() {
    let (url, bodies) = receiver(100);
    let sim = Simulator::start(SimConfig {
        time_scale: 1000.0,
        notify_url: Some(url),
        notify_plain: true,
        ..SimConfig::default()
    })
    .unwrap();
    let ctl = sim.control();
    let s = seq("np");
    call(
        &sim,
        &JsPayRequest {
            req_seq: s.clone(),
            total_fee: 5,
            channel: Channel::Alipay,
            subopen_id: "user".to_string(),
        },
    );
    ctl.customer_pays("demo", &s).unwrap();
    let attempts = wait_for(|| Some(ctl.notices()).filter(|n| n.len() == 6));
    assert!(attempts.iter().all(|a| !a.delivered));
    assert_eq!(
        attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert!(
        attempts.iter().all(|a| a.at.len() == 23),
        "server_time format"
    );
    // The console's view: the last attempts only.
    let mut r = agent()
        .get(&format!("{}/sim/notices?limit=2", sim.base_url()))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let last: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let last = last.as_array().unwrap();
    assert_eq!(last.len(), 2);
    assert_eq!(
        (last[0]["attempt"].as_u64(), last[1]["attempt"].as_u64()),
        (Some(5), Some(6))
    );
    assert_eq!(last[1]["req_seq"], s.as_str());
    assert!(last[1]["detail"]
        .as_str()
        .unwrap()
        .contains("<result>N</result>"));
    let first = bodies.lock().unwrap()[0].clone();
    let n = OrderNotice::from_xml(&first).unwrap();
    assert_eq!(n.req_seq.as_deref(), Some(s.as_str()));
    assert_eq!(n.channel, Some(Channel::Alipay));
}

#[test]
fn unreachable_receiver_is_recorded() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sim = Simulator::start(SimConfig {
        time_scale: 1000.0,
        notify_url: Some(format!("http://127.0.0.1:{port}/n")),
        ..SimConfig::default()
    })
    .unwrap();
    let s = seq("nu");
    call(&sim, &native(&s, 5, Channel::WeChat, None));
    sim.control().customer_pays("demo", &s).unwrap();
    let a = wait_for(|| sim.control().notices().into_iter().next());
    assert!(!a.delivered);
    assert!(!a.detail.is_empty());
    sim.shutdown();
}
