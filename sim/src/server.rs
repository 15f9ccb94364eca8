//! HTTP: the platform API at `/ystpay/service/unitive.api`, the JSON
//! control API under `/sim/`, and fault injection.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ystpay::protocol::ResponseEnvelope;

use crate::console;
use crate::platform::{Platform, Reply};
use crate::util::{log, timestamp_ms};
use crate::{Fault, API_PATH};

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

type Answer = Result<Response<Full<Bytes>>, DropConnection>;

/// Accepts connections until the runtime shuts down.
pub(crate) async fn serve(listener: tokio::net::TcpListener, platform: Arc<Platform>) {
    // Listening on loopback (the default; anything else needs --allow-remote,
    // sim/README.md "Run") also means only loopback names may reach /sim/.
    let local_only = listener.local_addr().map_or(true, |a| a.ip().is_loopback());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                log(&format!("accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let platform = platform.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| route(platform.clone(), local_only, req));
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            if let Err(e) = conn.await {
                log(&format!("connection closed: {e}"));
            }
        });
    }
}

fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    text(status, "application/json", v.to_string())
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, String> {
    Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| format!("cannot read the request body: {e}"))
}

/// A control request's JSON body, or the 400 answer that says why not.
async fn read_json<T: serde::de::DeserializeOwned>(
    req: Request<Incoming>,
) -> Result<T, Response<Full<Bytes>>> {
    let body = read_body(req)
        .await
        .map_err(|e| error(StatusCode::BAD_REQUEST, &e))?;
    serde_json::from_slice(&body)
        .map_err(|e| error(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")))
}

async fn route(platform: Arc<Platform>, local_only: bool, req: Request<Incoming>) -> Answer {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    if path == API_PATH {
        if method != Method::POST {
            return Ok(text(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "use POST\n",
            ));
        }
        return api(platform, req).await;
    }
    if path == "/sim" || path.starts_with("/sim/") {
        if let Err(why) = console::admit(&req, local_only) {
            log(&format!("refused {method} {path}: {why}"));
            return Ok(error(StatusCode::FORBIDDEN, &why));
        }
        if let Some(page) = console::page(&method, &path) {
            return Ok(page);
        }
        let rest = path.strip_prefix("/sim/").unwrap_or_default().to_string();
        return Ok(control(platform, method, rest, req).await);
    }
    Ok(text(StatusCode::NOT_FOUND, "text/plain", "not found\n"))
}

async fn api(platform: Arc<Platform>, req: Request<Incoming>) -> Answer {
    let fault = platform.next_fault();
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(e) => return Ok(text(StatusCode::BAD_REQUEST, "text/plain", e)),
    };
    match &fault {
        Some(Fault::DropBeforeCommit) => {
            log("fault: dropping the connection before processing");
            return Err(DropConnection);
        }
        Some(Fault::Http500) => {
            log("fault: HTTP 500 without processing");
            return Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                "simulated internal server error\n",
            ));
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let Ok(body) = String::from_utf8(body.to_vec()) else {
        return Ok(text(
            StatusCode::BAD_REQUEST,
            "text/plain",
            "body is not UTF-8\n",
        ));
    };
    let p = platform.clone();
    let reply = match std::panic::catch_unwind(AssertUnwindSafe(|| p.handle_api(&body))) {
        Ok(r) => r,
        Err(_) => {
            log("handler panicked; answering 500");
            return Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                "internal error\n",
            ));
        }
    };
    let (dsn, plain, delay) = match reply {
        Reply::BadRequest(why) => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=UTF-8",
                format!("{why}\n"),
            ))
        }
        Reply::Sealed { dsn, plain, delay } => (dsn, plain, delay),
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let plain = match fault {
        Some(Fault::WrongAmount) => {
            log("fault: processed, answering with another amount");
            let plus_one = |v: &str| {
                v.parse::<i64>()
                    .map_or(v.to_string(), |n| (n + 1).to_string())
            };
            let p = alter_element(&plain, "total_fee", plus_one);
            alter_element(&p, "refund_fee", plus_one)
        }
        Some(Fault::WrongOrder) => {
            log("fault: processed, answering about another order");
            // Only a number the client was told already is replaced: the
            // answer then names another order than this serial's.
            let other = |v: &str| {
                if platform.was_told(v) {
                    other_number(v)
                } else {
                    platform.tell(v);
                    v.to_string()
                }
            };
            let p = alter_element(&plain, "trans_seq", other);
            alter_element(&p, "refund_seq", other)
        }
        Some(Fault::NoAmount) => {
            log("fault: processed, answering without the amounts");
            ["total_fee", "cash_fee", "coupon_fee", "refund_fee"]
                .iter()
                .fold(plain, |p, name| edit_element(&p, name, |_| None))
        }
        _ => plain,
    };
    if matches!(
        fault,
        None | Some(Fault::Delay(_) | Fault::WrongAmount | Fault::NoAmount)
    ) {
        for name in ["trans_seq", "refund_seq"] {
            alter_element(&plain, name, |v| {
                platform.tell(v);
                v.to_string()
            });
        }
    }
    let mut env = match ResponseEnvelope::seal(&dsn, &timestamp_ms(), &plain) {
        Ok(e) => e,
        Err(e) => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                "text/plain; charset=UTF-8",
                format!("cannot answer this dsn: {e}\n"),
            ))
        }
    };
    match fault {
        Some(Fault::DropAfterCommit) => {
            log("fault: processed, dropping the connection without an answer");
            return Err(DropConnection);
        }
        Some(Fault::Garbage) => {
            log("fault: processed, answering garbage");
            return Ok(text(
                StatusCode::OK,
                "text/xml; charset=UTF-8",
                "\u{1}\u{2}garbage: this is not XML <<<>>&&",
            ));
        }
        Some(Fault::BadSignature) => {
            log("fault: processed, corrupting the signature");
            env.signature = corrupt(&env.signature);
        }
        _ => {}
    }
    Ok(text(
        StatusCode::OK,
        "text/xml; charset=UTF-8",
        env.to_xml(),
    ))
}

/// Replaces the text of every `<name>…</name>` element of an answer's
/// plain XML (the simulator writes them without attributes) by `f(text)`.
fn alter_element(xml: &str, name: &str, f: impl Fn(&str) -> String) -> String {
    edit_element(xml, name, |v| Some(f(v)))
}

/// Rewrites every `<name>…</name>` element of an answer's plain XML:
/// `Some(text)` keeps the element with that text, `None` removes it.
fn edit_element(xml: &str, name: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = String::with_capacity(xml.len() + 8);
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let start = i + open.len();
        let Some(len) = rest[start..].find(&close) else {
            break;
        };
        out.push_str(&rest[..i]);
        if let Some(text) = f(&rest[start..start + len]) {
            out.push_str(&open);
            out.push_str(&text);
            out.push_str(&close);
        }
        rest = &rest[start + len + close.len()..];
    }
    out.push_str(rest);
    out
}

/// Another number of the same length: the last digit moved on by one.
fn other_number(v: &str) -> String {
    let mut s: Vec<char> = v.chars().collect();
    match s.last_mut() {
        Some(c) => {
            *c = if *c == '9' {
                '0'
            } else {
                char::from_u32(*c as u32 + 1).unwrap_or('0')
            }
        }
        None => s.push('1'),
    }
    s.into_iter().collect()
}

/// Changes the first character of a signature so it no longer verifies.
fn corrupt(sig: &str) -> String {
    let mut chars: Vec<char> = sig.chars().collect();
    match chars.first_mut() {
        Some(c) => *c = if *c == '0' { '1' } else { '0' },
        None => chars.push('0'),
    }
    chars.into_iter().collect()
}

/// The body of `customer-pays`, `customer-confirms` and `customer-walks-away`.
#[derive(serde::Deserialize)]
struct CustomerPays {
    merchant: Option<String>,
    req_seq: String,
}

#[derive(serde::Deserialize)]
struct FaultSpec {
    kind: String,
    count: Option<u32>,
    delay_ms: Option<u64>,
}

/// Every JSON `kind` that [`parse_fault`] accepts, in the order the console
/// lists them (sim/README.md "Faults").
const FAULT_KINDS: [&str; 9] = [
    "delay",
    "drop_before_commit",
    "drop_after_commit",
    "http_500",
    "garbage",
    "bad_signature",
    "wrong_amount",
    "wrong_order",
    "no_amount",
];

/// A queued fault as `GET /sim/faults` shows it: the JSON `kind` that
/// [`parse_fault`] reads, plus `delay_ms` for a delay.
fn fault_json(f: &Fault) -> serde_json::Value {
    let kind = match f {
        Fault::Delay(d) => {
            let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            return serde_json::json!({ "kind": "delay", "delay_ms": ms });
        }
        Fault::DropBeforeCommit => "drop_before_commit",
        Fault::DropAfterCommit => "drop_after_commit",
        Fault::Http500 => "http_500",
        Fault::Garbage => "garbage",
        Fault::BadSignature => "bad_signature",
        Fault::WrongAmount => "wrong_amount",
        Fault::WrongOrder => "wrong_order",
        Fault::NoAmount => "no_amount",
    };
    serde_json::json!({ "kind": kind })
}

/// `?limit=N` of a control request: `None` when absent or not a number.
fn limit(query: Option<&str>) -> Option<usize> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("limit="))
        .and_then(|v| v.parse().ok())
}

fn parse_fault(spec: &FaultSpec) -> Result<Fault, String> {
    Ok(match spec.kind.as_str() {
        "delay" => Fault::Delay(Duration::from_millis(
            spec.delay_ms.ok_or("kind delay needs delay_ms")?,
        )),
        "drop_before_commit" => Fault::DropBeforeCommit,
        "drop_after_commit" => Fault::DropAfterCommit,
        "http_500" => Fault::Http500,
        "garbage" => Fault::Garbage,
        "bad_signature" => Fault::BadSignature,
        "wrong_amount" => Fault::WrongAmount,
        "wrong_order" => Fault::WrongOrder,
        "no_amount" => Fault::NoAmount,
        other => {
            return Err(format!(
                "unknown kind {other:?}: use one of {}",
                FAULT_KINDS.join(", ")
            ))
        }
    })
}

fn error(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": msg }))
}

async fn control(
    platform: Arc<Platform>,
    method: Method,
    rest: String,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let query = req.uri().query().map(str::to_string);
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match (method, parts.as_slice()) {
        (Method::GET, ["health"]) => json(
            StatusCode::OK,
            &serde_json::json!({ "status": "ok", "requests": platform.request_count() }),
        ),
        (Method::GET, ["notices"]) => {
            let mut notices = platform.notices();
            if let Some(n) = limit(query.as_deref()) {
                // The console's view: the last n attempts.
                notices.drain(..notices.len().saturating_sub(n));
            }
            json(
                StatusCode::OK,
                &serde_json::to_value(notices).unwrap_or_default(),
            )
        }
        (Method::GET, ["orders", merchant]) => {
            let mut orders = platform.orders(merchant);
            if let Some(n) = limit(query.as_deref()) {
                // The console's view: the newest first, at most n.
                orders.sort_by(|a, b| (&b.created, &b.req_seq).cmp(&(&a.created, &a.req_seq)));
                orders.truncate(n);
            }
            json(
                StatusCode::OK,
                &serde_json::to_value(orders).unwrap_or_default(),
            )
        }
        (Method::GET, ["merchants"]) => json(
            StatusCode::OK,
            &serde_json::to_value(platform.merchants()).unwrap_or_default(),
        ),
        (Method::GET, ["faults"]) => json(
            StatusCode::OK,
            &serde_json::json!({
                "queued": platform.queued_faults().iter().map(fault_json).collect::<Vec<_>>(),
                "kinds": FAULT_KINDS,
            }),
        ),
        (Method::DELETE, ["faults"]) => json(
            StatusCode::OK,
            &serde_json::json!({ "cleared": platform.clear_faults() }),
        ),
        (Method::POST, [act @ ("customer-pays" | "customer-confirms" | "customer-walks-away")]) => {
            let cp: CustomerPays = match read_json(req).await {
                Ok(c) => c,
                Err(answer) => return answer,
            };
            let merchant = cp.merchant.unwrap_or_else(|| "demo".to_string());
            let done = match *act {
                "customer-pays" => platform.customer_pays(&merchant, &cp.req_seq),
                "customer-confirms" => platform.customer_acts(&merchant, &cp.req_seq, true),
                _ => platform.customer_acts(&merchant, &cp.req_seq, false),
            };
            match done {
                Ok(()) => json(StatusCode::OK, &serde_json::json!({ "ok": true })),
                Err(e) => error(StatusCode::CONFLICT, &e),
            }
        }
        (Method::GET, ["orders", merchant, req_seq]) => match platform.order(merchant, req_seq) {
            Some(o) => json(StatusCode::OK, &serde_json::to_value(o).unwrap_or_default()),
            None => error(StatusCode::NOT_FOUND, "no such order"),
        },
        (Method::POST, ["faults"]) => {
            let spec: FaultSpec = match read_json(req).await {
                Ok(s) => s,
                Err(answer) => return answer,
            };
            match parse_fault(&spec) {
                Ok(f) => {
                    let n = spec.count.unwrap_or(1);
                    platform.inject(f, n);
                    json(StatusCode::OK, &serde_json::json!({ "queued": n }))
                }
                Err(e) => error(StatusCode::BAD_REQUEST, &e),
            }
        }
        _ => error(StatusCode::NOT_FOUND, "unknown control endpoint"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupts() {
        assert_eq!(corrupt("ABC"), "0BC");
        assert_eq!(corrupt("0BC"), "1BC");
    }

    #[test]
    fn fault_kinds() {
        let spec = |k: &str, d| FaultSpec {
            kind: k.to_string(),
            count: None,
            delay_ms: d,
        };
        assert_eq!(
            parse_fault(&spec("delay", Some(5))),
            Ok(Fault::Delay(Duration::from_millis(5)))
        );
        assert!(parse_fault(&spec("delay", None)).is_err());
        assert_eq!(parse_fault(&spec("http_500", None)), Ok(Fault::Http500));
        assert!(parse_fault(&spec("nope", None)).is_err());
        // Every kind the console offers is one the control API reads back.
        for kind in FAULT_KINDS {
            let f = parse_fault(&spec(kind, Some(1))).unwrap();
            assert_eq!(fault_json(&f)["kind"], kind);
        }
    }

    #[test]
    fn edits_elements() {
        let xml =
            "<data><total_fee>500</total_fee><status>S</status><total_fee>7</total_fee></data>";
        assert_eq!(
            edit_element(xml, "total_fee", |_| None),
            "<data><status>S</status></data>"
        );
        assert_eq!(
            alter_element(xml, "total_fee", |v| format!("{v}1")),
            "<data><total_fee>5001</total_fee><status>S</status><total_fee>71</total_fee></data>"
        );
        assert_eq!(edit_element(xml, "refund_fee", |_| None), xml);
    }
}
