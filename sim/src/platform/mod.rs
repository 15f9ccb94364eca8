//! The platform's side: devices, the order state machine, and one handler
//! per interface. Pure logic over a mutex; the HTTP layer is in `server`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use ystpay::protocol::types::{fen_to_yuan, mask};
use ystpay::protocol::xml::Fields;
use ystpay::protocol::{
    Channel, EnvelopeError, H5PayRequest, H5PayResponse, JsPayRequest, JsPayResponse,
    NativePayRequest, NativePayResponse, NativeQueryRequest, OrderNotice, PayRequest, PayResponse,
    QueryPayRequest, QueryRefundRequest, RefundRequest, RefundResponse, Request, RequestEnvelope,
    Response, ResponseHead, RevokeRequest, RevokeResponse, Status, NOTICE_TYPE,
};

use crate::util::{china_now, log, pay_time, serial_stamp, server_time, url_encode, Stop};
use crate::{Fault, NoticeAttempt, OrderKind, OrderView, RefundView, SimConfig, TrueStatus};

/// Response codes (documented in `sim/README.md`).
pub(crate) mod code {
    pub const PAID: &str = "E11000";
    pub const WAITING_PASSWORD: &str = "E11001";
    pub const WAITING_SCAN: &str = "E11002";
    pub const CLOSED: &str = "E11003";
    pub const PREPAY_CREATED: &str = "E11101";
    pub const INSUFFICIENT_BALANCE: &str = "E12001";
    pub const ABANDONED: &str = "E12002";
    pub const BAD_PAYMENT_CODE: &str = "E12003";
    pub const CHANNEL_MISMATCH: &str = "E12004";
    pub const REFUND_OK: &str = "E13000";
    pub const REFUND_EXCEEDS: &str = "E13001";
    pub const NOT_PAID: &str = "E13002";
    pub const REFUND_NOT_FOUND: &str = "E13004";
    pub const REVOKE_OK: &str = "E14000";
    pub const REVOKED: &str = "E14001";
    pub const BAD_SIGNATURE: &str = "E10001";
    pub const UNKNOWN_DSN: &str = "E10002";
    pub const INVALID_FIELD: &str = "E10003";
    pub const NOT_FOUND: &str = "E10004";
    pub const SEQ_CONFLICT: &str = "E10005";
    pub const UNKNOWN_TYPE: &str = "E10007";
    pub const BAD_DATA: &str = "E10008";
    pub const BUSY: &str = "E10009";
}

/// Why an order failed or closed: code and message for answers.
type Reason = (&'static str, &'static str);

const R_INSUFFICIENT: Reason = (code::INSUFFICIENT_BALANCE, "余额不足，支付失败");
const R_ABANDONED: Reason = (code::ABANDONED, "用户取消支付");
const R_BAD_CODE: Reason = (code::BAD_PAYMENT_CODE, "无效的付款码");
const R_MISMATCH: Reason = (code::CHANNEL_MISMATCH, "付款码与支付渠道不符");
const R_CLOSED: Reason = (code::CLOSED, "订单已关闭");
const R_REVOKED: Reason = (code::REVOKED, "订单已撤销");

/// The API document's notification retry schedule (5.5), in seconds before each attempt.
pub(crate) const NOTICE_SCHEDULE: [u64; 6] = [0, 30, 30, 60, 300, 900];

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

/// A payment notification to deliver.
pub(crate) struct Notice {
    pub merchant: String,
    pub req_seq: String,
    pub dsn: String,
    pub plain: String,
}

struct Order {
    req_seq: String,
    kind: OrderKind,
    trans_seq: String,
    total_fee: i64,
    channel: String,
    status: TrueStatus,
    reason: Option<Reason>,
    refunded_fee: i64,
    refunds: Vec<RefundView>,
    pay_count: u32,
    fingerprint: String,
    acct: String,
    created: Instant,
    created_wall: NaiveDateTime,
    pending: Option<(Instant, TrueStatus, Option<Reason>)>,
    pay_time: Option<NaiveDateTime>,
    pay_url: Option<String>,
    signature_info: Option<String>,
    pay_info: Option<String>,
}

impl Order {
    /// Applies a scheduled transition whose time has come.
    fn settle(&mut self, now: Instant) {
        if let Some((due, to, reason)) = self.pending {
            if now >= due {
                self.pending = None;
                self.status = to;
                self.reason = reason;
                if to == TrueStatus::Paid {
                    self.pay_count += 1;
                    let since =
                        chrono::Duration::from_std(due.saturating_duration_since(self.created))
                            .unwrap_or_else(|_| chrono::Duration::zero());
                    self.pay_time = Some(self.created_wall + since);
                }
            }
        }
    }

    fn view(&self) -> OrderView {
        OrderView {
            req_seq: self.req_seq.clone(),
            kind: self.kind,
            trans_seq: self.trans_seq.clone(),
            total_fee: self.total_fee,
            channel: self.channel.clone(),
            status: self.status,
            refunded_fee: self.refunded_fee,
            refunds: self.refunds.clone(),
            pay_count: self.pay_count,
            created: server_time(self.created_wall),
        }
    }

    fn channel(&self) -> Option<Channel> {
        (!self.channel.is_empty()).then(|| Channel::from_code(&self.channel))
    }

    fn mark_paid(&mut self) {
        self.status = TrueStatus::Paid;
        self.reason = None;
        self.pending = None;
        self.pay_count += 1;
        self.pay_time = Some(china_now());
    }
}

struct RefundRec {
    trans_seq: String,
    order_req_seq: String,
    refund_seq: String,
    refund_fee: i64,
    reason: String,
}

#[derive(Default)]
struct Merchant {
    orders: HashMap<String, Order>,
    tombstones: HashSet<String>,
    refunds: HashMap<String, RefundRec>,
}

impl Merchant {
    fn by_trans_seq(&mut self, trans_seq: &str) -> Option<&mut Order> {
        self.orders.values_mut().find(|o| o.trans_seq == trans_seq)
    }
}

/// What a native/JS/H5 pay request asks for.
struct Prepaid<'s> {
    seq: &'s str,
    kind: OrderKind,
    total_fee: i64,
    channel: &'s Channel,
    expire_secs: u64,
    fp: String,
}

/// The barcode scenario chosen by a payment code's last two digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    PaidNow,
    Password(u64),
    Abandon(u64),
    Refused,
    Busy,
    SlowAnswer(u64),
}

/// Reads a payment code: its channel and scenario, or `None` when it
/// matches no channel.
fn classify(auth_code: &str) -> Option<(&'static str, Scenario)> {
    let b = auth_code.as_bytes();
    if b.len() < 2 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let prefix = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let channel = match (prefix, b.len()) {
        (10..=15, 18) => "W",
        (25..=30, 16..=24) => "A",
        _ => return None,
    };
    let tens = b[b.len() - 2] - b'0';
    let last = u64::from(b[b.len() - 1] - b'0');
    let n = if last == 0 { 10 } else { last };
    let scenario = match tens {
        0..=4 => Scenario::PaidNow,
        5 => Scenario::Password(n),
        6 => Scenario::Abandon(n),
        7 => Scenario::Refused,
        8 => Scenario::Busy,
        _ => Scenario::SlowAnswer(n),
    };
    Some((channel, scenario))
}

fn channel_name(c: &str) -> Option<String> {
    match c {
        "W" => Some("微支付".to_string()),
        "A" => Some("支付宝".to_string()),
        _ => None,
    }
}

/// The simulated platform.
pub(crate) struct Platform {
    devices: HashMap<String, DeviceRec>,
    time_scale: f64,
    pub notify_url: Option<String>,
    pub notify_plain: bool,
    state: Mutex<HashMap<String, Merchant>>,
    faults: Mutex<VecDeque<Fault>>,
    requests: AtomicU64,
    notices: Mutex<Vec<NoticeAttempt>>,
    serial: AtomicU64,
    /// Order and refund numbers already told to a client in an intact
    /// answer: the `WrongOrder` fault names another one only in their
    /// place (sim/README.md, "Faults").
    told: Mutex<std::collections::HashSet<String>>,
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

    fn head(
        &self,
        response_type: &str,
        req_seq: &str,
        ok: bool,
        code: &str,
        msg: &str,
    ) -> ResponseHead {
        ResponseHead {
            response_type: Some(response_type.to_string()),
            req_seq: (!req_seq.is_empty()).then(|| req_seq.to_string()),
            res_seq: Some(self.serial()),
            result: Some(ok),
            code: Some(code.to_string()),
            msg: Some(msg.to_string()),
            server_time: Some(server_time(china_now())),
            dsn: None,
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
        let o = st.get_mut(merchant)?.orders.get_mut(req_seq)?;
        o.settle(now);
        Some(o.view())
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

    pub(crate) fn customer_pays(
        self: &std::sync::Arc<Self>,
        merchant: &str,
        req_seq: &str,
    ) -> Result<(), String> {
        let notice = {
            let now = Instant::now();
            let mut st = lock(&self.state);
            let o = st
                .get_mut(merchant)
                .and_then(|m| m.orders.get_mut(req_seq))
                .ok_or_else(|| format!("no order {req_seq} for merchant {merchant}"))?;
            o.settle(now);
            if o.kind == OrderKind::Barcode {
                return Err("barcode orders are paid by their payment code".to_string());
            }
            if o.status != TrueStatus::Waiting {
                return Err(format!("order {req_seq} is {:?}, not waiting", o.status));
            }
            o.mark_paid();
            log(&format!("customer paid {merchant}/{req_seq}"));
            let dsn = self
                .devices
                .values()
                .find(|d| d.merchant == merchant && d.acct == o.acct)
                .map(|d| d.dsn.clone())
                .unwrap_or_default();
            let n = OrderNotice {
                request_type: Some(NOTICE_TYPE.to_string()),
                req_seq: Some(o.req_seq.clone()),
                server_time: Some(server_time(china_now())),
                channel: o.channel(),
                trans_seq: Some(o.trans_seq.clone()),
                ext_trans_id: Some(format!("4200{}{}", o.trans_seq, &o.trans_seq[..8])),
                total_fee: Some(o.total_fee),
                status: Some(Status::Success),
                pay_time: o.pay_time.map(pay_time),
            };
            Notice {
                merchant: merchant.to_string(),
                req_seq: req_seq.to_string(),
                dsn,
                plain: n.to_xml(),
            }
        };
        if let Some(url) = self.notify_url.clone() {
            crate::notify::spawn(self.clone(), url, notice);
        }
        Ok(())
    }

    /// The customer at a barcode payment that waits for a password
    /// (scenarios `50`–`69`, sim/README.md) acts now instead of when the
    /// payment code's script says: `pay` confirms (paid, once), otherwise
    /// the customer walks away (failed, `E12002`). Barcode payments send no
    /// notification (API §5.5 is for native/JS/H5 orders).
    pub(crate) fn customer_acts(
        &self,
        merchant: &str,
        req_seq: &str,
        pay: bool,
    ) -> Result<(), String> {
        let now = Instant::now();
        let mut st = lock(&self.state);
        let o = st
            .get_mut(merchant)
            .and_then(|m| m.orders.get_mut(req_seq))
            .ok_or_else(|| format!("no order {req_seq} for merchant {merchant}"))?;
        o.settle(now);
        if o.kind != OrderKind::Barcode {
            return Err(
                "only a barcode payment waits for the customer's password; use customer-pays"
                    .to_string(),
            );
        }
        if o.status != TrueStatus::Waiting {
            return Err(format!("order {req_seq} is {:?}, not waiting", o.status));
        }
        if pay {
            o.mark_paid();
            log(&format!("customer confirmed {merchant}/{req_seq}"));
        } else {
            o.status = TrueStatus::Failed;
            o.reason = Some(R_ABANDONED);
            o.pending = None;
            log(&format!("customer walked away from {merchant}/{req_seq}"));
        }
        Ok(())
    }

    /// The faults still queued, next first.
    pub(crate) fn queued_faults(&self) -> Vec<Fault> {
        lock(&self.faults).iter().cloned().collect()
    }

    /// Empties the fault queue; returns how many faults it held.
    /// Notes that `number` (a `trans_seq` or `refund_seq`) went out in an
    /// intact answer.
    pub(crate) fn tell(&self, number: &str) {
        lock(&self.told).insert(number.to_string());
    }

    /// True once `number` went out in an intact answer.
    pub(crate) fn was_told(&self, number: &str) -> bool {
        lock(&self.told).contains(number)
    }

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

    fn new_order(
        &self,
        dev: &DeviceRec,
        req_seq: &str,
        kind: OrderKind,
        total_fee: i64,
        channel: &str,
        fingerprint: String,
    ) -> Order {
        Order {
            req_seq: req_seq.to_string(),
            kind,
            trans_seq: self.serial(),
            total_fee,
            channel: channel.to_string(),
            status: TrueStatus::Waiting,
            reason: None,
            refunded_fee: 0,
            refunds: Vec::new(),
            pay_count: 0,
            fingerprint,
            acct: dev.acct.clone(),
            created: Instant::now(),
            created_wall: china_now(),
            pending: None,
            pay_time: None,
            pay_url: None,
            signature_info: None,
            pay_info: None,
        }
    }

    fn receipts(&self, dev: &DeviceRec, o: &Order) -> Vec<String> {
        let Some(t) = o.pay_time else {
            return Vec::new();
        };
        let title = match o.channel.as_str() {
            "A" => "-----支付宝交易小票-----",
            _ => "-----微信支付交易小票-----",
        };
        // Built once and copied for both slips, by concatenation rather than
        // `format!` (profiled: receipts were 12 % of the simulator's
        // instructions per pay answer).
        let cat = |a: &str, b: &str, c: &str| [a, b, c].concat();
        let amount = fen_to_yuan(o.total_fee);
        let body = [
            cat("交易时间：", &pay_time(t), ""),
            cat("交易流水：", &o.trans_seq, ""),
            cat("交易金额：", &amount, "元"),
            cat("交易门店：", &dev.merchant, ""),
            cat("操作员：", &o.acct, ""),
        ];
        let mut lines = Vec::with_capacity(16);
        for copy in ["      【商户联】", "      【用户联】"] {
            lines.push(title.to_string());
            lines.push(copy.to_string());
            lines.extend(body.iter().cloned());
            lines.push(" ".to_string());
        }
        lines.pop();
        lines
    }

    fn refund_receipts(
        &self,
        dev: &DeviceRec,
        o: &Order,
        refund_seq: &str,
        fee: i64,
    ) -> Vec<String> {
        let title = match o.channel.as_str() {
            "A" => "-----支付宝退款小票-----",
            _ => "-----微信支付退款小票-----",
        };
        vec![
            title.to_string(),
            format!("退款时间：{}", pay_time(china_now())),
            format!("原交易流水：{}", o.trans_seq),
            format!("退款流水：{refund_seq}"),
            format!("退款金额：{}元", fen_to_yuan(fee)),
            format!("交易门店：{}", dev.merchant),
            format!("操作员：{}", dev.acct),
        ]
    }

    /// The answer describing a barcode order's current state (4.1 / 4.2).
    /// A pay answer says `result=N` for a failed/closed/revoked order; a
    /// query answer says `result=Y` (the query itself succeeded).
    fn pay_answer(
        &self,
        dev: &DeviceRec,
        o: &Order,
        rtype: &str,
        seq: &str,
        is_query: bool,
    ) -> String {
        let mut r = PayResponse::default();
        let (ok, c, msg, status) = self.state_words(o, is_query);
        r.head = self.head(rtype, seq, ok, c, msg);
        r.trans_seq = Some(o.trans_seq.clone());
        r.total_fee = Some(o.total_fee);
        r.channel = o.channel();
        r.channel_name = channel_name(&o.channel);
        r.status = Some(status);
        if o.pay_time.is_some() {
            r.cash_fee = Some(o.total_fee);
            r.coupon_fee = Some(0);
            r.pay_time = o.pay_time.map(pay_time);
            r.receipts = self.receipts(dev, o);
        }
        r.to_xml()
    }

    /// (result, code, msg, wire status) for an order's current state.
    fn state_words(&self, o: &Order, is_query: bool) -> (bool, &'static str, &'static str, Status) {
        match o.status {
            TrueStatus::Paid => (true, code::PAID, "支付成功", Status::Success),
            TrueStatus::Waiting if o.kind == OrderKind::Barcode => (
                true,
                code::WAITING_PASSWORD,
                "等待用户输入密码",
                Status::Waiting,
            ),
            TrueStatus::Waiting => (true, code::WAITING_SCAN, "等待用户支付", Status::Waiting),
            TrueStatus::Failed | TrueStatus::Closed | TrueStatus::Revoked => {
                let (c, m) = o.reason.unwrap_or(match o.status {
                    TrueStatus::Revoked => R_REVOKED,
                    TrueStatus::Closed => R_CLOSED,
                    _ => R_ABANDONED,
                });
                (is_query, c, m, Status::Failed)
            }
        }
    }

    fn refusal<R: Response + Default>(
        &self,
        rtype: &str,
        seq: &str,
        reason: (&str, &str),
    ) -> String {
        let mut r = R::default();
        *r.head_mut() = self.head(rtype, seq, false, reason.0, reason.1);
        r.to_xml()
    }

    // 4.1
    fn pay(&self, dev: &DeviceRec, req: PayRequest) -> (String, Option<Duration>) {
        let rtype = PayRequest::RESPONSE_TYPE;
        let seq = req.req_seq.clone();
        let code_text = req.auth_code.expose().to_string();
        let asked = req
            .channel
            .as_ref()
            .map(|c| c.code().to_string())
            .unwrap_or_default();
        let fp = format!("barcode|{}|{}|{}", req.total_fee, code_text, asked);
        let now = Instant::now();
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        if m.tombstones.contains(&seq) {
            return (self.refusal::<PayResponse>(rtype, &seq, R_REVOKED), None);
        }
        if let Some(o) = m.orders.get_mut(&seq) {
            o.settle(now);
            if o.fingerprint != fp {
                return (self.conflict::<PayResponse>(rtype, &seq), None);
            }
            return (self.pay_answer(dev, o, rtype, &seq, false), None);
        }
        let classified = classify(&code_text);
        let channel = classified.map(|(c, _)| c).unwrap_or("");
        let mut o = self.new_order(dev, &seq, OrderKind::Barcode, req.total_fee, channel, fp);
        let mut delay = None;
        let mut busy = false;
        match classified {
            None => {
                o.status = TrueStatus::Failed;
                o.reason = Some(R_BAD_CODE);
            }
            Some((c, _)) if !asked.is_empty() && asked != c => {
                o.status = TrueStatus::Failed;
                o.reason = Some(R_MISMATCH);
            }
            Some((_, s)) => match s {
                Scenario::PaidNow => o.mark_paid(),
                Scenario::Password(n) => {
                    o.pending = Some((now + self.scaled(n), TrueStatus::Paid, None));
                }
                Scenario::Abandon(n) => {
                    o.pending = Some((now + self.scaled(n), TrueStatus::Failed, Some(R_ABANDONED)));
                }
                Scenario::Refused => {
                    o.status = TrueStatus::Failed;
                    o.reason = Some(R_INSUFFICIENT);
                }
                Scenario::Busy => {
                    o.mark_paid();
                    busy = true;
                }
                Scenario::SlowAnswer(n) => {
                    o.mark_paid();
                    delay = Some(self.scaled(n));
                }
            },
        }
        let plain = if busy {
            self.refusal::<PayResponse>(rtype, &seq, (code::BUSY, "系统繁忙，请稍后查询"))
        } else {
            self.pay_answer(dev, &o, rtype, &seq, false)
        };
        m.orders.insert(seq, o);
        (plain, delay)
    }

    fn conflict<R: Response + Default>(&self, rtype: &str, seq: &str) -> String {
        self.refusal::<R>(
            rtype,
            seq,
            (code::SEQ_CONFLICT, "请求流水号重复，且内容不同"),
        )
    }

    // 4.2
    fn query_pay(&self, dev: &DeviceRec, req: QueryPayRequest) -> String {
        let rtype = QueryPayRequest::RESPONSE_TYPE;
        let now = Instant::now();
        let mut st = lock(&self.state);
        match st
            .get_mut(&dev.merchant)
            .and_then(|m| m.orders.get_mut(&req.ori_seq))
        {
            Some(o) => {
                o.settle(now);
                self.pay_answer(dev, o, rtype, &req.req_seq, true)
            }
            None => {
                self.refusal::<PayResponse>(rtype, &req.req_seq, (code::NOT_FOUND, "订单不存在"))
            }
        }
    }

    // 4.3
    fn refund(&self, dev: &DeviceRec, req: RefundRequest) -> String {
        let rtype = RefundRequest::RESPONSE_TYPE;
        let seq = req.req_seq.clone();
        let now = Instant::now();
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        if let Some(r) = m.refunds.get(&seq) {
            if r.trans_seq != req.trans_seq
                || r.refund_fee != req.refund_fee
                || r.reason != req.reason
            {
                return self.conflict::<RefundResponse>(rtype, &seq);
            }
            let (refund_seq, fee, order_seq) =
                (r.refund_seq.clone(), r.refund_fee, r.order_req_seq.clone());
            return match m.orders.get(&order_seq) {
                Some(o) => self.refund_answer(dev, o, rtype, &seq, &refund_seq, fee),
                None => {
                    self.refusal::<RefundResponse>(rtype, &seq, (code::NOT_FOUND, "订单不存在"))
                }
            };
        }
        let refund_seq = self.serial();
        let Some(o) = m.by_trans_seq(&req.trans_seq) else {
            return self.refusal::<RefundResponse>(rtype, &seq, (code::NOT_FOUND, "订单不存在"));
        };
        o.settle(now);
        match o.status {
            TrueStatus::Paid => {}
            TrueStatus::Revoked => return self.refusal::<RefundResponse>(rtype, &seq, R_REVOKED),
            _ => {
                return self.refusal::<RefundResponse>(
                    rtype,
                    &seq,
                    (code::NOT_PAID, "订单未支付，不能退款"),
                )
            }
        }
        if o.refunded_fee + req.refund_fee > o.total_fee {
            return self.refusal::<RefundResponse>(
                rtype,
                &seq,
                (code::REFUND_EXCEEDS, "退款金额超过订单可退金额"),
            );
        }
        o.refunded_fee += req.refund_fee;
        o.refunds.push(RefundView {
            req_seq: seq.clone(),
            refund_seq: refund_seq.clone(),
            refund_fee: req.refund_fee,
        });
        let answer = self.refund_answer(dev, o, rtype, &seq, &refund_seq, req.refund_fee);
        let order_req_seq = o.req_seq.clone();
        m.refunds.insert(
            seq,
            RefundRec {
                trans_seq: req.trans_seq,
                order_req_seq,
                refund_seq,
                refund_fee: req.refund_fee,
                reason: req.reason,
            },
        );
        answer
    }

    fn refund_answer(
        &self,
        dev: &DeviceRec,
        o: &Order,
        rtype: &str,
        seq: &str,
        refund_seq: &str,
        fee: i64,
    ) -> String {
        let r = RefundResponse {
            head: self.head(rtype, seq, true, code::REFUND_OK, "退款成功"),
            refund_seq: Some(refund_seq.to_string()),
            total_fee: Some(o.total_fee),
            refund_fee: Some(fee),
            cash_fee: Some(fee),
            coupon_fee: Some(0),
            channel: o.channel(),
            channel_name: channel_name(&o.channel),
            status: Some(Status::Success),
            receipts: self.refund_receipts(dev, o, refund_seq, fee),
        };
        r.to_xml()
    }

    // 4.4
    fn query_refund(&self, dev: &DeviceRec, req: QueryRefundRequest) -> String {
        let rtype = QueryRefundRequest::RESPONSE_TYPE;
        let st = lock(&self.state);
        let found = st.get(&dev.merchant).and_then(|m| {
            let r = m
                .refunds
                .get(&req.ori_seq)
                .filter(|r| r.trans_seq == req.trans_seq)?;
            Some((r, m.orders.get(&r.order_req_seq)?))
        });
        match found {
            Some((r, o)) => {
                self.refund_answer(dev, o, rtype, &req.req_seq, &r.refund_seq, r.refund_fee)
            }
            None => self.refusal::<RefundResponse>(
                rtype,
                &req.req_seq,
                (code::REFUND_NOT_FOUND, "退款单不存在"),
            ),
        }
    }

    // 4.5
    fn revoke(&self, dev: &DeviceRec, req: RevokeRequest) -> String {
        let rtype = RevokeRequest::RESPONSE_TYPE;
        let now = Instant::now();
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        let (channel, name) = match m.orders.get_mut(&req.ori_seq) {
            None => {
                m.tombstones.insert(req.ori_seq.clone());
                let c = req.channel.clone();
                let n = c.as_ref().and_then(|c| channel_name(c.code()));
                (c, n)
            }
            Some(o) => {
                o.settle(now);
                match o.status {
                    TrueStatus::Paid => {
                        o.status = TrueStatus::Revoked;
                        o.reason = Some(R_REVOKED);
                        o.refunded_fee = o.total_fee;
                    }
                    TrueStatus::Waiting => {
                        o.status = TrueStatus::Closed;
                        o.reason = Some(R_CLOSED);
                        o.pending = None;
                    }
                    TrueStatus::Failed | TrueStatus::Closed | TrueStatus::Revoked => {}
                }
                (o.channel(), channel_name(&o.channel))
            }
        };
        let r = RevokeResponse {
            head: self.head(rtype, &req.req_seq, true, code::REVOKE_OK, "撤单成功"),
            channel,
            channel_name: name,
            status: Some(Status::Failed),
        };
        r.to_xml()
    }

    /// Looks up or creates a native/JS/H5 order; `Err` is the finished answer.
    fn prepaid_order<'a, R: Response + Default>(
        &self,
        m: &'a mut Merchant,
        dev: &DeviceRec,
        rtype: &str,
        spec: Prepaid<'_>,
    ) -> Result<(&'a mut Order, bool), String> {
        let Prepaid {
            seq,
            kind,
            total_fee,
            channel,
            expire_secs,
            fp,
        } = spec;
        if m.tombstones.contains(seq) {
            return Err(self.refusal::<R>(rtype, seq, R_REVOKED));
        }
        let now = Instant::now();
        let created = !m.orders.contains_key(seq);
        if created {
            let mut o = self.new_order(dev, seq, kind, total_fee, channel.code(), fp.clone());
            o.pending = Some((
                now + self.scaled(expire_secs),
                TrueStatus::Closed,
                Some(R_CLOSED),
            ));
            m.orders.insert(seq.to_string(), o);
        }
        let Some(o) = m.orders.get_mut(seq) else {
            return Err(self.refusal::<R>(rtype, seq, (code::NOT_FOUND, "订单不存在")));
        };
        o.settle(now);
        if o.fingerprint != fp {
            return Err(self.conflict::<R>(rtype, seq));
        }
        Ok((o, created))
    }

    /// (result, code, msg) of a pay answer for a native/JS/H5 order.
    fn prepaid_words(&self, o: &Order) -> (bool, &'static str, &'static str, Status) {
        match o.status {
            TrueStatus::Waiting => (
                true,
                code::PREPAY_CREATED,
                "预支付订单请求成功",
                Status::Waiting,
            ),
            _ => self.state_words(o, false),
        }
    }

    fn native_answer(
        &self,
        dev: &DeviceRec,
        o: &Order,
        rtype: &str,
        seq: &str,
        is_query: bool,
    ) -> String {
        let mut r = NativePayResponse::default();
        let (ok, c, msg, status) = if is_query {
            self.state_words(o, true)
        } else {
            self.prepaid_words(o)
        };
        r.head = self.head(rtype, seq, ok, c, msg);
        r.trans_seq = Some(o.trans_seq.clone());
        r.total_fee = Some(o.total_fee);
        r.channel = o.channel();
        r.channel_name = channel_name(&o.channel);
        r.status = Some(status);
        if o.status == TrueStatus::Waiting {
            r.pay_url = o.pay_url.clone();
        }
        if o.pay_time.is_some() {
            r.cash_fee = Some(o.total_fee);
            r.coupon_fee = Some(0);
            r.pay_time = o.pay_time.map(pay_time);
            r.receipts = self.receipts(dev, o);
        }
        r.to_xml()
    }

    // 5.1
    fn native_pay(&self, dev: &DeviceRec, req: NativePayRequest) -> String {
        let rtype = NativePayRequest::RESPONSE_TYPE;
        let expire = req.expire_time.unwrap_or(300).max(1) as u64;
        let fp = format!("native|{}|{}|{}", req.total_fee, req.channel.code(), expire);
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        let (o, created) = match self.prepaid_order::<NativePayResponse>(
            m,
            dev,
            rtype,
            Prepaid {
                seq: &req.req_seq,
                kind: OrderKind::Native,
                total_fee: req.total_fee,
                channel: &req.channel,
                expire_secs: expire,
                fp,
            },
        ) {
            Ok(x) => x,
            Err(answer) => return answer,
        };
        if created {
            let token = &o.trans_seq[12..];
            o.pay_url = Some(match req.channel {
                Channel::Alipay => format!("https://qr.alipay.com/bax0{token}"),
                _ => format!("weixin://wxpay/bizpayurl?pr=sim{token}"),
            });
        }
        self.native_answer(dev, o, rtype, &req.req_seq, false)
    }

    // 5.2 (also 6.2, 7.2): any order kind can be queried.
    fn native_query(&self, dev: &DeviceRec, req: NativeQueryRequest) -> String {
        let rtype = NativeQueryRequest::RESPONSE_TYPE;
        let now = Instant::now();
        let mut st = lock(&self.state);
        match st
            .get_mut(&dev.merchant)
            .and_then(|m| m.orders.get_mut(&req.ori_seq))
        {
            Some(o) => {
                o.settle(now);
                self.native_answer(dev, o, rtype, &req.req_seq, true)
            }
            None => self.refusal::<NativePayResponse>(
                rtype,
                &req.req_seq,
                (code::NOT_FOUND, "订单不存在"),
            ),
        }
    }

    // 6.1
    fn js_pay(&self, dev: &DeviceRec, req: JsPayRequest) -> String {
        let rtype = JsPayRequest::RESPONSE_TYPE;
        let fp = format!(
            "js|{}|{}|{}",
            req.total_fee,
            req.channel.code(),
            req.subopen_id
        );
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        let (o, created) = match self.prepaid_order::<JsPayResponse>(
            m,
            dev,
            rtype,
            Prepaid {
                seq: &req.req_seq,
                kind: OrderKind::Js,
                total_fee: req.total_fee,
                channel: &req.channel,
                expire_secs: 300,
                fp,
            },
        ) {
            Ok(x) => x,
            Err(answer) => return answer,
        };
        if created {
            let ts = chrono::Utc::now().timestamp_millis().to_string();
            let nonce =
                ystpay::protocol::crypto::md5_upper(format!("{}{ts}", o.trans_seq).as_bytes())
                    .to_ascii_lowercase();
            let (pay_url, info) = match req.channel {
                Channel::Alipay => {
                    let trade_no = format!("2017{}", o.trans_seq);
                    let info = serde_json::json!({ "tradeNO": trade_no });
                    (trade_no, info)
                }
                _ => {
                    let prepay = format!("wx{}", o.trans_seq);
                    let app_id = "wxe132a10234235454";
                    let package = format!("prepay_id={prepay}");
                    let sign = ystpay::protocol::crypto::md5_upper(
                        format!("appId={app_id}&nonceStr={nonce}&package={package}&signType=MD5&timeStamp={ts}")
                            .as_bytes(),
                    );
                    let info = serde_json::json!({
                        "appId": app_id,
                        "nonceStr": nonce,
                        "package": package,
                        "paySign": sign,
                        "signType": "MD5",
                        "timeStamp": ts,
                    });
                    (prepay, info)
                }
            };
            o.pay_url = Some(pay_url);
            o.signature_info = Some(info.to_string());
        }
        let mut r = JsPayResponse::default();
        let (ok, c, msg, status) = self.prepaid_words(o);
        r.head = self.head(rtype, &req.req_seq, ok, c, msg);
        r.head.dsn = Some(dev.dsn.clone());
        r.channel = o.channel();
        r.channel_name = channel_name(&o.channel);
        r.trans_seq = Some(o.trans_seq.clone());
        r.status = Some(status);
        if o.status == TrueStatus::Waiting {
            r.pay_url = o.pay_url.clone();
            r.signature_info = o.signature_info.clone();
        }
        r.to_xml()
    }

    // 7.1
    fn h5_pay(&self, dev: &DeviceRec, req: H5PayRequest) -> String {
        let rtype = H5PayRequest::RESPONSE_TYPE;
        let fp = format!(
            "h5|{}|{}|{}|{}",
            req.total_fee,
            req.channel.code(),
            req.ip.as_deref().unwrap_or(""),
            req.redirect_url
        );
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        let (o, created) = match self.prepaid_order::<H5PayResponse>(
            m,
            dev,
            rtype,
            Prepaid {
                seq: &req.req_seq,
                kind: OrderKind::H5,
                total_fee: req.total_fee,
                channel: &req.channel,
                expire_secs: 300,
                fp,
            },
        ) {
            Ok(x) => x,
            Err(answer) => return answer,
        };
        if created {
            o.pay_info = Some(match req.channel {
                Channel::Alipay => format!(
                    "https://mclient.alipay.com/cashier/mobilepay.htm?trade_no=2017{}&return_url={}",
                    o.trans_seq,
                    url_encode(&req.redirect_url)
                ),
                _ => format!(
                    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx{}&package={}&redirect_url={}",
                    o.trans_seq,
                    &o.trans_seq[10..],
                    url_encode(&req.redirect_url)
                ),
            });
        }
        let mut r = H5PayResponse::default();
        let (ok, c, msg, status) = self.prepaid_words(o);
        r.head = self.head(rtype, &req.req_seq, ok, c, msg);
        r.head.dsn = Some(dev.dsn.clone());
        r.channel = o.channel();
        r.channel_name = channel_name(&o.channel);
        r.trans_seq = Some(o.trans_seq.clone());
        r.status = Some(status);
        if o.status == TrueStatus::Waiting {
            r.pay_info = o.pay_info.clone();
        }
        r.to_xml()
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
    fn payment_codes() {
        assert_eq!(
            classify("134567890123456700"),
            Some(("W", Scenario::PaidNow))
        );
        assert_eq!(
            classify("104567890123456749"),
            Some(("W", Scenario::PaidNow))
        );
        assert_eq!(
            classify("134567890123456755"),
            Some(("W", Scenario::Password(5)))
        );
        assert_eq!(
            classify("134567890123456750"),
            Some(("W", Scenario::Password(10)))
        );
        assert_eq!(
            classify("134567890123456763"),
            Some(("W", Scenario::Abandon(3)))
        );
        assert_eq!(
            classify("134567890123456771"),
            Some(("W", Scenario::Refused))
        );
        assert_eq!(classify("134567890123456789"), Some(("W", Scenario::Busy)));
        assert_eq!(
            classify("134567890123456792"),
            Some(("W", Scenario::SlowAnswer(2)))
        );
        assert_eq!(classify("2812345678901201"), Some(("A", Scenario::PaidNow)));
        assert_eq!(
            classify("301234567890123456789072"),
            Some(("A", Scenario::Refused))
        );
        assert_eq!(classify("1345678901234567"), None, "W needs 18 digits");
        assert_eq!(classify("161234567890123456"), None);
        assert_eq!(classify("241234567890123456"), None);
        assert_eq!(classify("311234567890123456"), None);
        assert_eq!(classify("281234567890123"), None, "A needs 16 to 24 digits");
        assert_eq!(classify("13456789012345670a"), None);
        assert_eq!(classify(""), None);
    }

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
