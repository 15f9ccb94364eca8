//! Envelope errors, fault injection, the HTTP control API and the binary.

mod common;

use std::io::BufRead;
use std::time::Duration;

use common::*;
use ystpay::protocol::{
    Credentials, EnvelopeError, PayRequest, PayResponse, Request, RequestEnvelope, Response,
};
use ystpay_sim::{Fault, TrueStatus};

const W_PAID: &str = "134567890123456701";

fn pay_body(s: &str) -> String {
    let creds = demo_creds();
    seal(
        &creds,
        PayRequest::REQUEST_TYPE,
        &PayRequest::new(s, 100, W_PAID).to_xml(&creds.dsn),
    )
}

fn refused(dsn: &str, body: &str) -> PayResponse {
    let plain = open(dsn, body).expect("a signed answer");
    let r = PayResponse::from_xml(&plain).unwrap();
    assert_eq!(r.head.result, Some(false));
    r
}

#[test]
fn tampered_request_gets_signed_refusal() {
    let sim = start(100.0);
    let creds = demo_creds();
    let s = seq("t");
    let mut env = RequestEnvelope::seal(
        &creds,
        PayRequest::REQUEST_TYPE,
        &PayRequest::new(s.as_str(), 100, W_PAID).to_xml(&creds.dsn),
    )
    .unwrap();
    env.signature = "0".repeat(32);
    let (status, body) = post(&sim.api_url(), env.to_xml()).unwrap();
    assert_eq!(status, 200);
    let r = refused(&creds.dsn, &body);
    assert_eq!(r.head.code.as_deref(), Some("E10001"));
    assert_eq!(
        r.head.response_type.as_deref(),
        Some("unitive_pay_response")
    );
    assert_eq!(
        sim.control().order("demo", &s),
        None,
        "nothing was processed"
    );

    // Wrong private key: signature fails too.
    let other = Credentials {
        private_key: "FEDCBA9876543210".to_string(),
        ..creds.clone()
    };
    let body = seal(
        &other,
        PayRequest::REQUEST_TYPE,
        &PayRequest::new(s.as_str(), 100, W_PAID).to_xml(&creds.dsn),
    );
    let (_, body) = post(&sim.api_url(), body).unwrap();
    assert_eq!(
        refused(&creds.dsn, &body).head.code.as_deref(),
        Some("E10001")
    );
}

#[test]
fn unknown_dsn_is_answered_with_that_dsn() {
    let sim = start(100.0);
    let stranger = Credentials::derive("nobody", "whatever1", "0123456789ABCDEF");
    let body = seal(
        &stranger,
        PayRequest::REQUEST_TYPE,
        &PayRequest::new("u1", 100, W_PAID).to_xml(&stranger.dsn),
    );
    let (status, body) = post(&sim.api_url(), body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        refused(&stranger.dsn, &body).head.code.as_deref(),
        Some("E10002")
    );
}

#[test]
fn bad_data_invalid_fields_and_unknown_type() {
    let sim = start(100.0);
    let creds = demo_creds();
    // Plain dsn differs from the envelope's.
    let plain = PayRequest::new("d1", 100, W_PAID).to_xml("0123456789ABCDEF0123456789ABCDEF");
    let (_, body) = post(
        &sim.api_url(),
        seal(&creds, PayRequest::REQUEST_TYPE, &plain),
    )
    .unwrap();
    assert_eq!(
        refused(&creds.dsn, &body).head.code.as_deref(),
        Some("E10008")
    );
    // Not decryptable: signature right, data not AES.
    let mut env = RequestEnvelope::seal(&creds, "x", "<data/>").unwrap();
    env.data = "bm90IGJsb2Nrcw==".to_string();
    env.signature =
        ystpay::protocol::crypto::request_signature(&creds.private_key, &creds.dsn, &env.data);
    let (_, body) = post(&sim.api_url(), env.to_xml()).unwrap();
    assert_eq!(
        refused(&creds.dsn, &body).head.code.as_deref(),
        Some("E10008")
    );
    // Field rules: total_fee 0.
    let r: PayResponse = call(&sim, &PayRequest::new("f1", 0, W_PAID));
    assert_eq!(
        (r.head.result, r.head.code.as_deref()),
        (Some(false), Some("E10003"))
    );
    assert!(r.head.msg.unwrap().contains("total_fee"));
    // Missing field.
    let plain = format!(
        "<data><request_type>unitive_pay_request</request_type><dsn>{}</dsn><req_seq>f2</req_seq><auth_code>{W_PAID}</auth_code></data>",
        creds.dsn
    );
    let (_, body) = post(
        &sim.api_url(),
        seal(&creds, PayRequest::REQUEST_TYPE, &plain),
    )
    .unwrap();
    let r = refused(&creds.dsn, &body);
    assert_eq!(r.head.code.as_deref(), Some("E10003"));
    assert!(r.head.msg.unwrap().contains("total_fee"));
    // Unknown request_type.
    let plain = format!(
        "<data><request_type>device_auth_request</request_type><dsn>{}</dsn><req_seq>x1</req_seq></data>",
        creds.dsn
    );
    let (_, body) = post(&sim.api_url(), seal(&creds, "device_auth_request", &plain)).unwrap();
    let r = refused(&creds.dsn, &body);
    assert_eq!(r.head.code.as_deref(), Some("E10007"));
    assert_eq!(
        r.head.response_type.as_deref(),
        Some("device_auth_response")
    );
    assert_eq!(r.head.req_seq.as_deref(), Some("x1"));
}

#[test]
fn no_dsn_is_http_400() {
    let sim = start(100.0);
    for body in [
        "not xml at all",
        "<request><data>abc</data></request>",
        "<response/>",
    ] {
        let (status, text) = post(&sim.api_url(), body.to_string()).unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(!text.is_empty());
    }
    let (status, _) = post(&format!("{}/nowhere", sim.base_url()), "x".to_string()).unwrap();
    assert_eq!(status, 404);
    // The server is still fine.
    assert_eq!(
        call(&sim, &PayRequest::new("ok1", 1, W_PAID)).head.result,
        Some(true)
    );
}

#[test]
fn faults_each_kind() {
    let sim = start(100.0);
    let ctl = sim.control();
    let dsn = demo_creds().dsn;
    let url = sim.api_url();
    let before = ctl.request_count();

    ctl.inject(Fault::Delay(Duration::from_millis(30)), 1);
    let s = seq("fd");
    let (st, body) = post(&url, pay_body(&s)).unwrap();
    assert_eq!(st, 200);
    assert!(open(&dsn, &body).is_ok());
    assert_eq!(ctl.order("demo", &s).unwrap().status, TrueStatus::Paid);

    ctl.inject(Fault::DropBeforeCommit, 1);
    let s = seq("fb");
    assert!(post(&url, pay_body(&s)).is_err());
    assert_eq!(ctl.order("demo", &s), None);

    ctl.inject(Fault::DropAfterCommit, 1);
    let s = seq("fa");
    assert!(post(&url, pay_body(&s)).is_err());
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 1);

    ctl.inject(Fault::Http500, 1);
    let s = seq("f5");
    assert_eq!(post(&url, pay_body(&s)).unwrap().0, 500);
    assert_eq!(ctl.order("demo", &s), None);

    ctl.inject(Fault::Garbage, 1);
    let s = seq("fg");
    let (st, body) = post(&url, pay_body(&s)).unwrap();
    assert_eq!(st, 200);
    assert!(open(&dsn, &body).is_err());
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 1);

    ctl.inject(Fault::BadSignature, 1);
    let s = seq("fs");
    let (st, body) = post(&url, pay_body(&s)).unwrap();
    assert_eq!(st, 200);
    assert_eq!(open(&dsn, &body), Err(EnvelopeError::BadSignature));
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 1);
    // The retry after a lost answer reports the committed payment.
    let (_, body) = post(&url, pay_body(&s)).unwrap();
    let r = PayResponse::from_xml(&open(&dsn, &body).unwrap()).unwrap();
    assert_eq!(r.head.result, Some(true));
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 1);

    assert_eq!(ctl.request_count() - before, 7);
}

#[test]
fn faults_that_answer_about_another_order() {
    let sim = start(100.0);
    let ctl = sim.control();
    let dsn = demo_creds().dsn;
    let url = sim.api_url();
    let answer = |body: &str| PayResponse::from_xml(&open(&dsn, body).unwrap()).unwrap();

    ctl.inject(Fault::WrongAmount, 1);
    let s = seq("fw");
    let (_, body) = post(&url, pay_body(&s)).unwrap();
    let lie = answer(&body);
    let truth = ctl.order("demo", &s).unwrap();
    assert_eq!((truth.total_fee, truth.pay_count), (100, 1));
    assert_eq!(lie.total_fee, Some(101), "signed, but one fen more");
    assert_eq!(lie.trans_seq.as_deref(), Some(truth.trans_seq.as_str()));

    // A number never told is left alone: nobody could tell it from the truth.
    ctl.inject(Fault::WrongOrder, 1);
    let s = seq("fo");
    let (_, body) = post(&url, pay_body(&s)).unwrap();
    let truth = ctl.order("demo", &s).unwrap();
    assert_eq!(
        answer(&body).trans_seq.as_deref(),
        Some(truth.trans_seq.as_str())
    );
    // Once told, the next answer about the same serial names another order.
    ctl.inject(Fault::WrongOrder, 1);
    let (_, body) = post(&url, pay_body(&s)).unwrap();
    let lie = answer(&body);
    assert_eq!(lie.total_fee, Some(100));
    let named = lie.trans_seq.unwrap();
    assert_ne!(named, truth.trans_seq);
    assert_eq!(named.len(), truth.trans_seq.len());
    assert_eq!(ctl.order("demo", &s).unwrap().pay_count, 1);
    // The next answer is true again.
    let (_, body) = post(&url, pay_body(&s)).unwrap();
    assert_eq!(
        answer(&body).trans_seq.as_deref(),
        Some(truth.trans_seq.as_str())
    );
}

#[test]
fn faults_are_fifo_and_counted() {
    let sim = start(100.0);
    let ctl = sim.control();
    ctl.inject(Fault::Http500, 2);
    ctl.inject(Fault::Garbage, 1);
    let url = sim.api_url();
    assert_eq!(post(&url, pay_body(&seq("q"))).unwrap().0, 500);
    assert_eq!(post(&url, pay_body(&seq("q"))).unwrap().0, 500);
    let (st, body) = post(&url, pay_body(&seq("q"))).unwrap();
    assert_eq!(st, 200);
    assert!(!body.starts_with("<response>"));
    let (st, body) = post(&url, pay_body(&seq("q"))).unwrap();
    assert_eq!(st, 200);
    assert!(open(&demo_creds().dsn, &body).is_ok());
}

fn get_json(url: &str) -> (u16, serde_json::Value) {
    let mut resp = agent().get(url).call().unwrap();
    let st = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (st, serde_json::from_str(&text).unwrap())
}

fn post_json(url: &str, v: serde_json::Value) -> (u16, serde_json::Value) {
    let mut resp = agent()
        .post(url)
        .header("Content-Type", "application/json")
        .send(v.to_string())
        .unwrap();
    let st = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (st, serde_json::from_str(&text).unwrap())
}

#[test]
fn http_control_api() {
    let sim = start(100.0);
    let base = sim.base_url();
    let (st, h) = get_json(&format!("{base}/sim/health"));
    assert_eq!((st, h["status"].as_str()), (200, Some("ok")));

    let s = seq("c");
    call(&sim, &PayRequest::new(s.as_str(), 42, W_PAID));
    let (st, o) = get_json(&format!("{base}/sim/orders/demo/{s}"));
    assert_eq!(st, 200);
    assert_eq!(o["status"], "paid");
    assert_eq!(o["kind"], "barcode");
    assert_eq!(o["total_fee"], 42);
    assert_eq!(o["pay_count"], 1);
    let (st, _) = get_json(&format!("{base}/sim/orders/demo/nope"));
    assert_eq!(st, 404);
    let (st, list) = get_json(&format!("{base}/sim/orders/demo"));
    assert_eq!((st, list.as_array().map(Vec::len)), (200, Some(1)));

    let (st, _) = post_json(
        &format!("{base}/sim/faults"),
        serde_json::json!({"kind": "http_500", "count": 1}),
    );
    assert_eq!(st, 200);
    assert_eq!(post(&sim.api_url(), pay_body(&seq("c"))).unwrap().0, 500);
    let (st, _) = post_json(
        &format!("{base}/sim/faults"),
        serde_json::json!({"kind": "delay", "count": 1, "delay_ms": 20}),
    );
    assert_eq!(st, 200);
    assert_eq!(post(&sim.api_url(), pay_body(&seq("c"))).unwrap().0, 200);
    let (st, e) = post_json(
        &format!("{base}/sim/faults"),
        serde_json::json!({"kind": "meteor"}),
    );
    assert_eq!(st, 400);
    assert!(e["error"].as_str().unwrap().contains("meteor"));

    let n = seq("cn");
    call(
        &sim,
        &ystpay::protocol::NativePayRequest {
            req_seq: n.clone(),
            total_fee: 9,
            expire_time: None,
            channel: ystpay::protocol::Channel::WeChat,
        },
    );
    let (st, _) = post_json(
        &format!("{base}/sim/customer-pays"),
        serde_json::json!({"merchant": "demo", "req_seq": n}),
    );
    assert_eq!(st, 200);
    assert_eq!(
        sim.control().order("demo", &n).unwrap().status,
        TrueStatus::Paid
    );
    let (st, _) = post_json(
        &format!("{base}/sim/customer-pays"),
        serde_json::json!({"merchant": "demo", "req_seq": n}),
    );
    assert_eq!(st, 409);
    let (st, notices) = get_json(&format!("{base}/sim/notices"));
    assert_eq!((st, notices.as_array().map(Vec::len)), (200, Some(0)));
    // Control requests are not API requests.
    assert_eq!(sim.control().request_count(), 4);
}

fn delete_json(url: &str) -> (u16, serde_json::Value) {
    let mut resp = agent().delete(url).call().unwrap();
    let st = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().unwrap();
    (st, serde_json::from_str(&text).unwrap())
}

/// What the console uses beyond the original control API: confirm / walk
/// away, the fault queue, the merchants, `?limit=`.
#[test]
fn http_control_for_the_console() {
    // 0.01: a password prompt (5 s → 500 s) stays open during the test.
    let sim = start(0.01);
    let base = sim.base_url();
    let ctl = sim.control();
    let (st, m) = get_json(&format!("{base}/sim/merchants"));
    assert_eq!((st, m), (200, serde_json::json!(["demo"])));

    let creds = demo_creds();
    let barcode = |s: &str, code: &str| {
        let body = seal(
            &creds,
            PayRequest::REQUEST_TYPE,
            &PayRequest::new(s, 300, code).to_xml(&creds.dsn),
        );
        assert_eq!(post(&sim.api_url(), body).unwrap().0, 200);
    };
    let (a, b) = (seq("hc"), seq("hw"));
    barcode(&a, "134567890123456755");
    barcode(&b, "134567890123456756");
    let (st, ok) = post_json(
        &format!("{base}/sim/customer-confirms"),
        serde_json::json!({"merchant": "demo", "req_seq": a}),
    );
    assert_eq!((st, ok), (200, serde_json::json!({"ok": true})));
    assert_eq!(ctl.order("demo", &a).unwrap().status, TrueStatus::Paid);
    // merchant defaults to demo
    let (st, _) = post_json(
        &format!("{base}/sim/customer-walks-away"),
        serde_json::json!({"req_seq": b}),
    );
    assert_eq!(st, 200);
    let o = ctl.order("demo", &b).unwrap();
    assert_eq!((o.status, o.pay_count), (TrueStatus::Failed, 0));
    for (what, s) in [("customer-confirms", &a), ("customer-walks-away", &b)] {
        let (st, e) = post_json(
            &format!("{base}/sim/{what}"),
            serde_json::json!({"merchant": "demo", "req_seq": s}),
        );
        assert_eq!(st, 409, "{what} on an order that no longer waits");
        assert!(e["error"].as_str().unwrap().contains("not waiting"), "{e}");
    }
    let (st, _) = post_json(
        &format!("{base}/sim/customer-confirms"),
        serde_json::json!({"merchant": "demo"}),
    );
    assert_eq!(st, 400, "req_seq is required");

    // Orders: `created` in server_time format; ?limit= gives the newest first.
    let (_, all) = get_json(&format!("{base}/sim/orders/demo"));
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 2);
    assert!(all
        .iter()
        .all(|o| o["created"].as_str().unwrap().len() == 23));
    let (st, newest) = get_json(&format!("{base}/sim/orders/demo?limit=1"));
    assert_eq!(st, 200);
    assert_eq!(newest.as_array().unwrap().len(), 1);
    assert_eq!(newest[0]["req_seq"], b.as_str(), "{newest}");

    // The fault queue: look, add, clear.
    let (st, f) = get_json(&format!("{base}/sim/faults"));
    assert_eq!(st, 200);
    assert_eq!(f["queued"], serde_json::json!([]));
    let kinds: Vec<&str> = f["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"http_500") && kinds.contains(&"delay"),
        "{kinds:?}"
    );
    // Every listed kind can be queued, and shows up as itself.
    for k in &kinds {
        let (st, _) = post_json(
            &format!("{base}/sim/faults"),
            serde_json::json!({"kind": k, "count": 1, "delay_ms": 7}),
        );
        assert_eq!(st, 200, "{k}");
    }
    let (_, f) = get_json(&format!("{base}/sim/faults"));
    let shown: Vec<&str> = f["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["kind"].as_str().unwrap())
        .collect();
    assert_eq!(shown, kinds);
    assert_eq!(f["queued"][0]["delay_ms"], 7);
    assert_eq!(ctl.faults()[0], Fault::Delay(Duration::from_millis(7)));
    let (st, c) = delete_json(&format!("{base}/sim/faults"));
    assert_eq!((st, c["cleared"].as_u64()), (200, Some(kinds.len() as u64)));
    assert!(ctl.faults().is_empty());
    assert_eq!(post(&sim.api_url(), pay_body(&seq("hf"))).unwrap().0, 200);
    ctl.inject(Fault::Http500, 2);
    assert_eq!(ctl.faults(), vec![Fault::Http500, Fault::Http500]);
    assert_eq!(ctl.clear_faults(), 2);
    assert_eq!(ctl.merchants(), vec!["demo".to_string()]);
}

/// Sends one raw HTTP/1.1 request and returns the status code and the body.
fn raw(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

#[test]
fn console_is_served_and_keeps_to_loopback() {
    let sim = start(0.01);
    let addr = sim.addr();
    assert_eq!(sim.console_url(), format!("http://{addr}/sim/"));
    let mut r = agent().get(&sim.console_url()).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.body_mut().read_to_string().unwrap();
    assert!(html.contains("console.js") && html.contains("fault-kind"));
    for (path, ty) in [
        ("console.js", "text/javascript"),
        ("console.css", "text/css"),
    ] {
        let r = agent()
            .get(&format!("{}{path}", sim.console_url()))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(ty));
    }
    // /sim without the slash: relative paths in the page need /sim/.
    let (st, _) = raw(addr, &format!("GET /sim HTTP/1.1\r\nHost: {addr}"), "");
    assert_eq!(st, 308);

    // DNS rebinding: a foreign name in Host, for the page and the API alike.
    let (st, body) = raw(addr, "GET /sim/ HTTP/1.1\r\nHost: evil.example", "");
    assert_eq!(st, 403, "{body}");
    let (st, _) = raw(
        addr,
        "GET /sim/orders/demo HTTP/1.1\r\nHost: evil.example:80",
        "",
    );
    assert_eq!(st, 403);
    let (st, _) = raw(addr, "GET /sim/health HTTP/1.1\r\nHost: localhost", "");
    assert_eq!(st, 200);

    // Another site's script: refused; the console's own origin and curl: fine.
    let ctl = sim.control();
    let fault = r#"{"kind":"http_500"}"#;
    let post = |origin: Option<&str>| {
        let o = origin
            .map(|o| format!("\r\nOrigin: {o}"))
            .unwrap_or_default();
        raw(
            addr,
            &format!("POST /sim/faults HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain{o}"),
            fault,
        )
        .0
    };
    assert_eq!(post(Some("http://evil.example")), 403);
    assert_eq!(post(Some("null")), 403);
    assert!(ctl.faults().is_empty(), "nothing was queued");
    assert_eq!(post(Some(&format!("http://{addr}"))), 200);
    assert_eq!(post(None), 200);
    assert_eq!(ctl.faults(), vec![Fault::Http500, Fault::Http500]);
    // The platform API itself is not the console's business: no Host rule there.
    let (st, _) = raw(
        addr,
        "POST /ystpay/service/unitive.api HTTP/1.1\r\nHost: pos.example",
        &pay_body(&seq("rh")),
    );
    assert_eq!(st, 500, "the first queued fault (HTTP 500) answered");
}

#[test]
fn keep_alive_and_shutdown() {
    let sim = start(100.0);
    let a = agent();
    for i in 0..5 {
        let mut r = a
            .post(&sim.api_url())
            .send(pay_body(&format!("ka{i}")))
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let _ = r.body_mut().read_to_string().unwrap();
    }
    let addr = sim.addr();
    sim.shutdown();
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
}

#[test]
fn binary_prints_url_first_and_refuses_remote() {
    let exe = env!("CARGO_BIN_EXE_ystpay-sim");
    let mut child = std::process::Command::new(exe)
        .args(["--listen", "127.0.0.1:0", "--time-scale", "20", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/ystpay/service/unitive.api"),
        "{url}"
    );
    let (st, body) = post(&url, pay_body("bin1")).unwrap();
    assert_eq!(st, 200);
    assert!(open(&demo_creds().dsn, &body).is_ok());
    child.kill().unwrap();
    child.wait().unwrap();

    let out = std::process::Command::new(exe)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

#[test]
fn start_refuses_bad_config() {
    let bad = ystpay_sim::SimConfig {
        time_scale: 0.0,
        ..Default::default()
    };
    assert!(ystpay_sim::Simulator::start(bad).is_err());
    let bad = ystpay_sim::SimConfig {
        devices: vec![ystpay_sim::Device {
            private_key: "short".to_string(),
            ..ystpay_sim::Device::demo()
        }],
        ..Default::default()
    };
    assert!(ystpay_sim::Simulator::start(bad).is_err());
}
