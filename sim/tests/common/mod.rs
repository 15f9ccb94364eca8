//! Test helpers: a minimal device-side client built on `ystpay::protocol`
//! and `ureq`, talking to a simulator on 127.0.0.1.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use ystpay::protocol::{
    Credentials, EnvelopeError, Request, RequestEnvelope, Response, ResponseEnvelope,
};
use ystpay_sim::{Device, RunningSim, SimConfig, Simulator};

/// Starts a simulator with the demo device and `time_scale`.
pub fn start(time_scale: f64) -> RunningSim {
    Simulator::start(SimConfig {
        time_scale,
        ..SimConfig::default()
    })
    .expect("simulator starts")
}

pub fn demo_creds() -> Credentials {
    let d = Device::demo();
    Credentials::derive(&d.acct, &d.pass, &d.private_key)
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs `body`; `Err` when no HTTP answer arrived.
pub fn post(url: &str, body: String) -> Result<(u16, String), String> {
    let mut resp = agent()
        .post(url)
        .header("Content-Type", "text/xml; charset=UTF-8")
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, text))
}

/// Seals `plain` for `creds` as a `<request>` body.
pub fn seal(creds: &Credentials, request_type: &str, plain: &str) -> String {
    RequestEnvelope::seal(creds, request_type, plain)
        .expect("seal")
        .to_xml()
}

/// Verifies and decrypts a `<response>` body for `dsn`.
pub fn open(dsn: &str, body: &str) -> Result<String, EnvelopeError> {
    ResponseEnvelope::parse(body)?.open(dsn)
}

/// Sends a typed request (without checking its field rules) and returns
/// the verified, typed answer.
pub fn call<R: Request>(sim: &RunningSim, req: &R) -> R::Response {
    let creds = demo_creds();
    let body = seal(&creds, R::REQUEST_TYPE, &req.to_xml(&creds.dsn));
    let (status, text) = post(&sim.api_url(), body).expect("an HTTP answer");
    assert_eq!(status, 200, "body: {text}");
    let plain = open(&creds.dsn, &text).expect("a verified answer");
    let resp = R::Response::from_xml(&plain).expect("a readable answer");
    assert_eq!(resp.head().response_type.as_deref(), Some(R::RESPONSE_TYPE));
    assert_eq!(resp.head().req_seq.as_deref(), Some(req.req_seq()));
    let res_seq = resp.head().res_seq.clone().unwrap_or_default();
    assert!(res_seq.len() == 20 && res_seq.bytes().all(|b| b.is_ascii_digit()));
    let t = resp.head().server_time.clone().unwrap_or_default();
    assert_eq!(t.len(), 23, "server_time {t}");
    resp
}

/// Polls `f` until it returns `Some`, for at most 20 s.
pub fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "condition not reached in time");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A unique-enough req_seq for a test.
pub fn seq(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{tag}{:06}", N.fetch_add(1, Ordering::Relaxed))
}
