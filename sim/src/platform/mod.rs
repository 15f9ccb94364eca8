//! The platform's side: devices, the order state machine, and one handler
//! per interface. Pure logic over a mutex; the HTTP layer is in `server`.
//!
//! This module holds the [`Platform`] itself: its devices, the request
//! dispatch (envelope in, sealed answer out) and the control state (fault
//! queue, counters, notices). The rest is split by job:
//!
//! - `orders`: the true order state per merchant and its lazy transitions;
//! - `barcode`: the barcode interfaces, API §4.1–§4.5;
//! - `prepaid`: native, JS and H5 pay (API §5.1/§5.2, §6.1, §7.1) and the
//!   payment notification (API §5.5);
//! - `answers`: response codes, refusals, the words for an order's state,
//!   receipts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ystpay::protocol::types::mask;
use ystpay::protocol::xml::Fields;
use ystpay::protocol::{
    EnvelopeError, H5PayRequest, JsPayRequest, NativePayRequest, NativeQueryRequest, PayRequest,
    PayResponse, QueryPayRequest, QueryRefundRequest, RefundRequest, Request, RequestEnvelope,
    Response, RevokeRequest,
};

use crate::util::{china_now, log, serial_stamp, Stop};
use crate::{Fault, NoticeAttempt, OrderView, SimConfig};

mod answers;
mod barcode;
mod orders;
mod prepaid;

use answers::code;
use orders::Merchant;
pub(crate) use prepaid::{Notice, NOTICE_SCHEDULE};

/// A registered device.
#[derive(Clone)]
pub(crate) struct DeviceRec {
    pub merchant: String,
    pub acct: String,
    pub private_key: String,
    pub dsn: String,
}

/// What the HTTP layer should answer.
pub(crate) enum Reply {
    /// A `<response>` envelope sealed for `dsn`, after `delay`.
    Sealed {
        dsn: String,
        plain: String,
        delay: Option<Duration>,
    },
    /// HTTP 400 with a short reason (no dsn could be read).
    BadRequest(String),
}

/// The simulated platform.
pub(crate) struct Platform {
    devices: HashMap<String, DeviceRec>,
    time_scale: f64,
    pub notify_url: Option<String>,
    pub notify_plain: bool,
    /// `refund_fee` answered as the order's running total ([`SimConfig`]).
    refund_fee_cumulative: bool,
    state: Mutex<HashMap<String, Merchant>>,
    faults: Mutex<VecDeque<Fault>>,
    requests: AtomicU64,
    notices: Mutex<Vec<NoticeAttempt>>,
    serial: AtomicU64,
    /// Order and refund numbers already told to a client in an intact
    /// answer: the `WrongOrder` fault names another one only in their
    /// place (sim/README.md, "Faults").
    told: Mutex<HashSet<String>>,
    pub stop: Stop,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads and checks a typed request, or says why not (the FieldError text).
fn read_request<R: Request>(f: &Fields) -> Result<R, String> {
    let r = R::read_fields(f).map_err(|e| e.to_string())?;
    r.check().map_err(|e| e.to_string())?;
    Ok(r)
}

impl Platform {
    pub(crate) fn new(cfg: &SimConfig) -> Platform {
        let devices = cfg
            .devices
            .iter()
            .map(|d| {
                let dsn = d.dsn();
                (
                    dsn.clone(),
                    DeviceRec {
                        merchant: d.merchant.clone(),
                        acct: d.acct.clone(),
                        private_key: d.private_key.clone(),
                        dsn,
                    },
                )
            })
            .collect();
        Platform {
            devices,
            time_scale: cfg.time_scale,
            notify_url: cfg.notify_url.clone(),
            notify_plain: cfg.notify_plain,
            refund_fee_cumulative: cfg.refund_fee_cumulative,
            state: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            requests: AtomicU64::new(0),
            notices: Mutex::new(Vec::new()),
            told: Mutex::default(),
            serial: AtomicU64::new(1),
            stop: Stop::default(),
        }
    }

    /// A simulated wait of `secs` seconds, divided by the time scale.
    pub(crate) fn scaled(&self, secs: u64) -> Duration {
        Duration::from_secs_f64(secs as f64 / self.time_scale)
    }

    /// A fresh 20-digit serial: `yyMMddHHmmss` + 8-digit counter.
    fn serial(&self) -> String {
        let n = self.serial.fetch_add(1, Ordering::Relaxed) % 100_000_000;
        {
            let mut s = serial_stamp(china_now());
            s.push_str(&format!("{n:08}"));
            s
        }
    }

    // ------------------------------------------------------------ control

    /// Counts an API request and takes the next queued fault.
    pub(crate) fn next_fault(&self) -> Option<Fault> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        lock(&self.faults).pop_front()
    }

    pub(crate) fn inject(&self, fault: Fault, count: u32) {
        let mut q = lock(&self.faults);
        for _ in 0..count {
            q.push_back(fault.clone());
        }
    }

    pub(crate) fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn order(&self, merchant: &str, req_seq: &str) -> Option<OrderView> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        Some(st.get_mut(merchant)?.settled(req_seq, now)?.view())
    }

    pub(crate) fn orders(&self, merchant: &str) -> Vec<OrderView> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        let Some(m) = st.get_mut(merchant) else {
            return Vec::new();
        };
        let mut v: Vec<OrderView> = m
            .orders
            .values_mut()
            .map(|o| {
                o.settle(now);
                o.view()
            })
            .collect();
        v.sort_by(|a, b| a.req_seq.cmp(&b.req_seq));
        v
    }

    pub(crate) fn notices(&self) -> Vec<NoticeAttempt> {
        lock(&self.notices).clone()
    }

    pub(crate) fn record_notice(&self, a: NoticeAttempt) {
        log(&format!(
            "notice {} attempt {} delivered={}",
            a.req_seq, a.attempt, a.delivered
        ));
        lock(&self.notices).push(a);
    }

    /// The faults still queued, next first.
    pub(crate) fn queued_faults(&self) -> Vec<Fault> {
        lock(&self.faults).iter().cloned().collect()
    }

    /// Notes that `number` (a `trans_seq` or `refund_seq`) went out in an
    /// intact answer.
    pub(crate) fn tell(&self, number: &str) {
        lock(&self.told).insert(number.to_string());
    }

    /// True once `number` went out in an intact answer.
    pub(crate) fn was_told(&self, number: &str) -> bool {
        lock(&self.told).contains(number)
    }

    /// Empties the fault queue; returns how many faults it held.
    pub(crate) fn clear_faults(&self) -> usize {
        let mut q = lock(&self.faults);
        let n = q.len();
        q.clear();
        n
    }

    /// The merchants of the configured devices, sorted, each once.
    pub(crate) fn merchants(&self) -> Vec<String> {
        let mut v: Vec<String> = self.devices.values().map(|d| d.merchant.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    // ------------------------------------------------------------ the API

    /// Handles one API body: opens the envelope, dispatches, answers.
    pub(crate) fn handle_api(&self, body: &str) -> Reply {
        let outer = match Fields::parse(body, Some("request")) {
            Ok(f) => f,
            Err(e) => return Reply::BadRequest(format!("not a <request> document: {e}")),
        };
        let Some(env_dsn) = outer.get("dsn").map(str::to_string) else {
            return Reply::BadRequest("the <request> has no <dsn>".to_string());
        };
        let guess_type = outer.get("request_type").unwrap_or_default().to_string();
        let guess_seq = String::new();
        let refuse = |dsn: &str, code: &str, msg: &str, rtype: &str, seq: &str| {
            let r = PayResponse {
                head: self.head(&response_type_for(rtype), seq, false, code, msg),
                ..Default::default()
            };
            Reply::Sealed {
                dsn: dsn.to_string(),
                plain: Response::to_xml(&r),
                delay: None,
            }
        };
        let env = match RequestEnvelope::parse(body) {
            Ok(e) => e,
            Err(e) => {
                return refuse(
                    &env_dsn,
                    code::BAD_DATA,
                    &format!("报文格式错误: {e}"),
                    &guess_type,
                    &guess_seq,
                )
            }
        };
        let Some(dev) = self.devices.get(&env_dsn).cloned() else {
            log(&format!("unknown dsn {}", mask(&env_dsn)));
            return refuse(
                &env_dsn,
                code::UNKNOWN_DSN,
                "设备未注册",
                &guess_type,
                &guess_seq,
            );
        };
        let plain = match env.open(&dev.private_key) {
            Ok(p) => p,
            Err(EnvelopeError::BadSignature) => {
                log(&format!("bad signature from {}/{}", dev.merchant, dev.acct));
                return refuse(
                    &dev.dsn,
                    code::BAD_SIGNATURE,
                    "签名验证失败",
                    &guess_type,
                    &guess_seq,
                );
            }
            Err(e) => {
                return refuse(
                    &dev.dsn,
                    code::BAD_DATA,
                    &format!("数据解密失败: {e}"),
                    &guess_type,
                    &guess_seq,
                )
            }
        };
        let f = match Fields::parse(&plain, Some("data")) {
            Ok(f) => f,
            Err(e) => {
                return refuse(
                    &dev.dsn,
                    code::BAD_DATA,
                    &format!("数据格式错误: {e}"),
                    &guess_type,
                    &guess_seq,
                )
            }
        };
        let rtype = f.get("request_type").unwrap_or_default().to_string();
        let seq = f.get("req_seq").unwrap_or_default().to_string();
        if f.get("dsn") != Some(env_dsn.as_str()) {
            return refuse(
                &dev.dsn,
                code::BAD_DATA,
                "数据中的dsn与报文不符",
                &rtype,
                &seq,
            );
        }
        let (plain, delay) = match rtype.as_str() {
            PayRequest::REQUEST_TYPE => self.with::<PayRequest>(&f, &seq, |r| self.pay(&dev, r)),
            QueryPayRequest::REQUEST_TYPE => {
                self.with::<QueryPayRequest>(&f, &seq, |r| (self.query_pay(&dev, r), None))
            }
            t if t == RefundRequest::REQUEST_TYPE || RefundRequest::ALIASES.contains(&t) => {
                self.with::<RefundRequest>(&f, &seq, |r| (self.refund(&dev, r), None))
            }
            QueryRefundRequest::REQUEST_TYPE => {
                self.with::<QueryRefundRequest>(&f, &seq, |r| (self.query_refund(&dev, r), None))
            }
            RevokeRequest::REQUEST_TYPE => {
                self.with::<RevokeRequest>(&f, &seq, |r| (self.revoke(&dev, r), None))
            }
            NativePayRequest::REQUEST_TYPE => {
                self.with::<NativePayRequest>(&f, &seq, |r| (self.native_pay(&dev, r), None))
            }
            NativeQueryRequest::REQUEST_TYPE => {
                self.with::<NativeQueryRequest>(&f, &seq, |r| (self.native_query(&dev, r), None))
            }
            JsPayRequest::REQUEST_TYPE => {
                self.with::<JsPayRequest>(&f, &seq, |r| (self.js_pay(&dev, r), None))
            }
            H5PayRequest::REQUEST_TYPE => {
                self.with::<H5PayRequest>(&f, &seq, |r| (self.h5_pay(&dev, r), None))
            }
            other => {
                return refuse(
                    &dev.dsn,
                    code::UNKNOWN_TYPE,
                    &format!("不支持的请求类型: {other}"),
                    other,
                    &seq,
                )
            }
        };
        if crate::util::is_verbose() {
            let (res, c) = Fields::parse(&plain, Some("data"))
                .map(|a| {
                    (
                        a.get("result").unwrap_or("-").to_string(),
                        a.get("code").unwrap_or("-").to_string(),
                    )
                })
                .unwrap_or_default();
            let code_shown = f.get("auth_code").map(mask).unwrap_or_default();
            log(&format!(
                "{}/{} {rtype} req_seq={seq} auth_code={code_shown} -> result={res} code={c}",
                dev.merchant, dev.acct
            ));
        }
        Reply::Sealed {
            dsn: dev.dsn.clone(),
            plain,
            delay,
        }
    }

    /// Reads request `R`; on a field error answers `result=N` E10003 with
    /// the field error's text.
    fn with<R>(
        &self,
        f: &Fields,
        seq: &str,
        handle: impl FnOnce(R) -> (String, Option<Duration>),
    ) -> (String, Option<Duration>)
    where
        R: Request,
        R::Response: Default,
    {
        match read_request::<R>(f) {
            Ok(r) => handle(r),
            Err(why) => {
                let mut resp = R::Response::default();
                *resp.head_mut() = self.head(
                    R::RESPONSE_TYPE,
                    seq,
                    false,
                    code::INVALID_FIELD,
                    &format!("参数错误: {why}"),
                );
                (resp.to_xml(), None)
            }
        }
    }
}

/// The `response_type` for a (possibly unknown) `request_type`.
fn response_type_for(request_type: &str) -> String {
    let known: [(&str, &str); 9] = [
        (PayRequest::REQUEST_TYPE, PayRequest::RESPONSE_TYPE),
        (
            QueryPayRequest::REQUEST_TYPE,
            QueryPayRequest::RESPONSE_TYPE,
        ),
        (RefundRequest::REQUEST_TYPE, RefundRequest::RESPONSE_TYPE),
        (
            QueryRefundRequest::REQUEST_TYPE,
            QueryRefundRequest::RESPONSE_TYPE,
        ),
        (RevokeRequest::REQUEST_TYPE, RevokeRequest::RESPONSE_TYPE),
        (
            NativePayRequest::REQUEST_TYPE,
            NativePayRequest::RESPONSE_TYPE,
        ),
        (
            NativeQueryRequest::REQUEST_TYPE,
            NativeQueryRequest::RESPONSE_TYPE,
        ),
        (JsPayRequest::REQUEST_TYPE, JsPayRequest::RESPONSE_TYPE),
        (H5PayRequest::REQUEST_TYPE, H5PayRequest::RESPONSE_TYPE),
    ];
    if RefundRequest::ALIASES.contains(&request_type) {
        return RefundRequest::RESPONSE_TYPE.to_string();
    }
    if let Some((_, r)) = known.iter().find(|(q, _)| *q == request_type) {
        return r.to_string();
    }
    match request_type.strip_suffix("_request") {
        Some(stem) if !stem.is_empty() => format!("{stem}_response"),
        _ => "error_response".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types() {
        assert_eq!(
            response_type_for("refund_fee_request"),
            "unitive_refund_response"
        );
        assert_eq!(
            response_type_for("unitive_pay_request"),
            "unitive_pay_response"
        );
        assert_eq!(response_type_for("foo_request"), "foo_response");
        assert_eq!(response_type_for(""), "error_response");
    }

    #[test]
    fn serials_are_20_digits_and_unique() {
        let p = Platform::new(&SimConfig::default());
        let a: HashSet<String> = (0..1000).map(|_| p.serial()).collect();
        assert_eq!(a.len(), 1000);
        assert!(a
            .iter()
            .all(|s| s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit())));
    }
}
