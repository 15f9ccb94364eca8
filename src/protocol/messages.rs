//! Typed messages for every interface of the seed (sections 4–7): the plain
//! `<data>` documents inside the encrypted envelope.
//!
//! Each struct lists its fields in wire order with wire names; a `None`
//! optional field is left out of the document. Requests check their field
//! rules with [`Request::check`] before anything is sent; responses are read
//! tolerantly (unknown elements ignored, every field optional) because the
//! seed's own examples leave out fields its tables call required.

use super::rules::{self, Checked, FieldError, FieldProblem};
use super::types::{parse_prod_details, prod_details_json, Channel, PaymentCode, ProdItem, Status};
use super::xml::{Fields, XmlWriter};

/// A value that can be written as, and read from, one wire element.
pub trait WireValue: Sized {
    /// Writes `self` as element `name` (an absent optional writes nothing).
    fn put(&self, name: &str, w: &mut XmlWriter);
    /// Reads element `name`; a required value that is absent is an error.
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError>;
}

/// A document made of wire values (every request and response message).
pub trait WireFields: Sized {
    /// Writes every field, in wire order.
    fn write_fields(&self, w: &mut XmlWriter);
    /// Reads every field.
    fn read_fields(f: &Fields) -> Result<Self, FieldError>;
}

fn missing(name: &str) -> FieldError {
    FieldError::new(name, FieldProblem::Missing)
}

impl WireValue for String {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self);
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name).map(str::to_string).ok_or_else(|| missing(name))
    }
}

impl WireValue for i64 {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, &self.to_string());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        let t = f.get(name).ok_or_else(|| missing(name))?;
        if t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(FieldError::new(name, FieldProblem::NotNumeric));
        }
        t.parse()
            .map_err(|_| FieldError::new(name, FieldProblem::NotNumeric))
    }
}

/// `Y`/`N` flags (`result`).
impl WireValue for bool {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, if *self { "Y" } else { "N" });
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        match f.get(name) {
            Some("Y") | Some("y") => Ok(true),
            Some("N") | Some("n") => Ok(false),
            Some(_) => Err(FieldError::new(
                name,
                FieldProblem::Invalid("must be Y or N"),
            )),
            None => Err(missing(name)),
        }
    }
}

impl WireValue for Channel {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self.code());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name)
            .map(Channel::from_code)
            .ok_or_else(|| missing(name))
    }
}

impl WireValue for Status {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self.code());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name)
            .map(Status::from_code)
            .ok_or_else(|| missing(name))
    }
}

impl WireValue for PaymentCode {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self.expose());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name)
            .map(PaymentCode::from)
            .ok_or_else(|| missing(name))
    }
}

impl<T: WireValue> WireValue for Option<T> {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        if let Some(v) = self {
            v.put(name, w);
        }
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        if f.get(name).is_none() {
            Ok(None)
        } else {
            T::take(f, name).map(Some)
        }
    }
}

/// Receipt lines (`<receipts><line>…</line>…</receipts>`, seed 2.6.1).
/// Written as `<line>` children; read from `<line>` children or, when the
/// platform sends plain text, from its lines.
impl WireValue for Vec<String> {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        if !self.is_empty() {
            w.list(name, "line", self);
        }
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        Ok(f.lines(name))
    }
}

/// `prod_details`: a JSON array in the element text (seed 4.1).
impl WireValue for Vec<ProdItem> {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        if !self.is_empty() {
            w.field(name, &prod_details_json(self));
        }
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        match f.get(name) {
            None => Ok(Vec::new()),
            Some(json) => parse_prod_details(json),
        }
    }
}

macro_rules! wire_message {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$m])*
        pub struct $name { $( $(#[$fm])* pub $field: $ty ),* }
        impl WireFields for $name {
            fn write_fields(&self, _w: &mut XmlWriter) {
                $( WireValue::put(&self.$field, stringify!($field), _w); )*
            }
            fn read_fields(_f: &Fields) -> Result<Self, FieldError> {
                Ok($name { $( $field: WireValue::take(_f, stringify!($field))? ),* })
            }
        }
    };
}

wire_message! {
    /// Fields every response carries (seed 2.6.1 and each response table).
    ///
    /// `result` is `Y`/`N`. The seed's examples leave it out of successful
    /// answers; an absent `result` is therefore not a refusal: the status
    /// decides (see `client`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ResponseHead {
        /// `response_type`, e.g. `unitive_pay_response`.
        response_type: Option<String>,
        /// `req_seq`: our request's serial, echoed.
        req_seq: Option<String>,
        /// `res_seq`: the platform's serial for this answer.
        res_seq: Option<String>,
        /// `result`: `Y` request succeeded, `N` refused.
        result: Option<bool>,
        /// `code`, String(F6), e.g. `E11000`.
        code: Option<String>,
        /// `msg`, String(V100): the platform's words.
        msg: Option<String>,
        /// `server_time`, e.g. `2015-06-09 11:17:48:751`.
        server_time: Option<String>,
        /// `dsn` (some answers echo it, seed 6.1).
        dsn: Option<String>,
    }
}

/// The head is written inline, before the message's own fields.
impl WireValue for ResponseHead {
    fn put(&self, _name: &str, w: &mut XmlWriter) {
        self.write_fields(w);
    }
    fn take(f: &Fields, _name: &str) -> Result<Self, FieldError> {
        Self::read_fields(f)
    }
}

impl ResponseHead {
    /// True when the platform said `result=N`.
    pub fn is_refusal(&self) -> bool {
        self.result == Some(false)
    }
}

/// A request message: its `request_type`, rules, and response type.
pub trait Request: WireFields {
    /// The `request_type` sent.
    const REQUEST_TYPE: &'static str;
    /// Other `request_type` values the platform side accepts for it.
    const ALIASES: &'static [&'static str] = &[];
    /// The `response_type` the platform answers with.
    const RESPONSE_TYPE: &'static str;
    /// The response message.
    type Response: Response;
    /// This request's serial number.
    fn req_seq(&self) -> &str;
    /// Sets the serial number (used when the caller left it empty).
    fn set_req_seq(&mut self, req_seq: String);
    /// Checks every field rule of the request table; the first violation wins.
    fn check(&self) -> Checked;

    /// The plain `<data>` document (seed 2.5.1) for device `dsn`.
    fn to_xml(&self, dsn: &str) -> String {
        let mut w = XmlWriter::new("data");
        w.field("request_type", Self::REQUEST_TYPE);
        w.field("dsn", dsn);
        self.write_fields(&mut w);
        w.finish()
    }
}

/// A response message.
pub trait Response: WireFields + std::fmt::Debug + Clone {
    /// The common fields.
    fn head(&self) -> &ResponseHead;
    /// The common fields, mutably.
    fn head_mut(&mut self) -> &mut ResponseHead;
    /// The answer's `status`, when it carried one.
    fn status(&self) -> Option<&Status>;
    /// The platform's order number (`trans_seq`), when the answer carried one.
    fn trans_seq(&self) -> Option<&str>;

    /// Reads the plain `<data>` document of an answer.
    fn from_xml(xml: &str) -> Result<Self, FieldError> {
        let f = Fields::parse(xml, Some("data"))
            .map_err(|e| FieldError::new("data", FieldProblem::Invalid(xml_reason(&e))))?;
        Self::read_fields(&f)
    }

    /// Writes the plain `<data>` document (platform side).
    fn to_xml(&self) -> String {
        let mut w = XmlWriter::new("data");
        self.write_fields(&mut w);
        w.finish()
    }
}

fn xml_reason(e: &super::xml::XmlError) -> &'static str {
    match e {
        super::xml::XmlError::Malformed(_) => "is not well-formed XML",
        super::xml::XmlError::UnexpectedRoot { .. } => "has the wrong root element",
        super::xml::XmlError::TooDeep => "nests too deeply",
    }
}

macro_rules! impl_response {
    ($($t:ty => $trans:expr),*) => {$(
        impl Response for $t {
            fn head(&self) -> &ResponseHead { &self.head }
            fn head_mut(&mut self) -> &mut ResponseHead { &mut self.head }
            fn status(&self) -> Option<&Status> { self.status.as_ref() }
            fn trans_seq(&self) -> Option<&str> {
                let f: fn(&Self) -> Option<&str> = $trans;
                f(self)
            }
        }
    )*};
}

macro_rules! serial_accessors {
    () => {
        fn req_seq(&self) -> &str {
            &self.req_seq
        }
        fn set_req_seq(&mut self, req_seq: String) {
            self.req_seq = req_seq;
        }
    };
}

// ---------------------------------------------------------------- 4.1 / 4.2

wire_message! {
    /// 4.1 提交支付 — barcode payment: the customer shows a payment code.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PayRequest {
        /// `req_seq`, String(V20): our unique order number.
        req_seq: String,
        /// `total_fee`, Number(V10): amount in fen, > 0.
        total_fee: i64,
        /// `auth_code`, String(V32): the scanned payment code.
        auth_code: PaymentCode,
        /// `channel`, String(F1): `W`, `A` or `Q` to force a channel.
        channel: Option<Channel>,
        /// `prod_details`, String(V8192): product lines, sent as JSON.
        prod_details: Vec<ProdItem>,
    }
}

/// Most characters of the `prod_details` JSON (seed 4.1: V8192).
pub const PROD_DETAILS_MAX: usize = 8192;

impl PayRequest {
    /// A payment of `total_fee` fen with payment code `auth_code`.
    pub fn new(
        req_seq: impl Into<String>,
        total_fee: i64,
        auth_code: impl Into<PaymentCode>,
    ) -> Self {
        PayRequest {
            req_seq: req_seq.into(),
            total_fee,
            auth_code: auth_code.into(),
            channel: None,
            prod_details: Vec::new(),
        }
    }
}

impl Request for PayRequest {
    const REQUEST_TYPE: &'static str = "unitive_pay_request";
    const RESPONSE_TYPE: &'static str = "unitive_pay_response";
    type Response = PayResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::fee("total_fee", self.total_fee)?;
        rules::required_text("auth_code", self.auth_code.expose(), 32)?;
        if let Some(c) = &self.channel {
            c.check("channel", "WAQ")?;
        }
        for (i, item) in self.prod_details.iter().enumerate() {
            item.check(i)?;
        }
        if !self.prod_details.is_empty() {
            let n = prod_details_json(&self.prod_details).chars().count();
            if n > PROD_DETAILS_MAX {
                return Err(FieldError::new(
                    "prod_details",
                    FieldProblem::TooLong {
                        max: PROD_DETAILS_MAX,
                        actual: n,
                    },
                ));
            }
        }
        Ok(())
    }
}

wire_message! {
    /// Answer to 4.1 and 4.2: the payment order as the platform sees it.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct PayResponse {
        /// Common fields.
        head: ResponseHead,
        /// `trans_seq`, Number(V20): the platform's order number (refunds need it).
        trans_seq: Option<String>,
        /// `total_fee`: amount in fen.
        total_fee: Option<i64>,
        /// `cash_fee`: paid in cash (fen).
        cash_fee: Option<i64>,
        /// `coupon_fee`: paid by coupons (fen).
        coupon_fee: Option<i64>,
        /// `pay_time`, String(F19): the reconciliation time.
        pay_time: Option<String>,
        /// `channel`: the channel that took the payment.
        channel: Option<Channel>,
        /// `channel_name`, String(V10).
        channel_name: Option<String>,
        /// `status`: `S` paid, `W` customer still paying, `F` failed.
        status: Option<Status>,
        /// `receipts`: lines to print.
        receipts: Vec<String>,
        /// `promotion_detail`, String(V500): discounts, as the platform sent them.
        promotion_detail: Option<String>,
    }
}

wire_message! {
    /// 4.2 查询订单 — ask for a barcode payment's state.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct QueryPayRequest {
        /// `req_seq`: this query's own serial.
        req_seq: String,
        /// `auth_code`: the payment code used, optional.
        auth_code: Option<PaymentCode>,
        /// `ori_seq`: the payment's `req_seq`.
        ori_seq: String,
    }
}

impl Request for QueryPayRequest {
    const REQUEST_TYPE: &'static str = "unitive_query_pay_request";
    const RESPONSE_TYPE: &'static str = "unitive_query_pay_response";
    type Response = PayResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::optional_text(
            "auth_code",
            self.auth_code.as_ref().map(PaymentCode::expose),
            32,
        )?;
        rules::serial("ori_seq", &self.ori_seq)
    }
}

// ---------------------------------------------------------------- 4.3 / 4.4

wire_message! {
    /// 4.3 退款接口 — refund part or all of a paid order (also 5.3, 6.3, 7.3).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RefundRequest {
        /// `req_seq`: our unique refund number (retries reuse it).
        req_seq: String,
        /// `trans_seq`: the paid order's platform number.
        trans_seq: String,
        /// `refund_fee`: amount to refund in fen, > 0.
        refund_fee: i64,
        /// `reason`, String(V255).
        reason: String,
    }
}

impl Request for RefundRequest {
    const REQUEST_TYPE: &'static str = "unitive_refund_request";
    /// The seed's example says `refund_fee_request` (see DESIGN.md).
    const ALIASES: &'static [&'static str] = &["refund_fee_request"];
    const RESPONSE_TYPE: &'static str = "unitive_refund_response";
    type Response = RefundResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::serial("trans_seq", &self.trans_seq)?;
        rules::fee("refund_fee", self.refund_fee)?;
        rules::required_text("reason", &self.reason, 255)
    }
}

wire_message! {
    /// Answer to 4.3 and 4.4.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct RefundResponse {
        /// Common fields.
        head: ResponseHead,
        /// `refund_seq`: the platform's refund number.
        refund_seq: Option<String>,
        /// `total_fee`: the order's amount (fen).
        total_fee: Option<i64>,
        /// `refund_fee`: amount refunded (fen).
        refund_fee: Option<i64>,
        /// `cash_fee`: cash returned (fen).
        cash_fee: Option<i64>,
        /// `coupon_fee`: coupon value returned (fen).
        coupon_fee: Option<i64>,
        /// `channel`.
        channel: Option<Channel>,
        /// `channel_name`.
        channel_name: Option<String>,
        /// `status`: `S` refunded, `W` in progress, `F` failed.
        status: Option<Status>,
        /// `receipts`: refund slip lines.
        receipts: Vec<String>,
    }
}

wire_message! {
    /// 4.4 退款查询 — ask for a refund's state (also 5.4, 6.4, 7.4).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct QueryRefundRequest {
        /// `req_seq`: this query's own serial.
        req_seq: String,
        /// `trans_seq`: the paid order's platform number.
        trans_seq: String,
        /// `ori_seq`: the refund's `req_seq`.
        ori_seq: String,
    }
}

impl Request for QueryRefundRequest {
    const REQUEST_TYPE: &'static str = "unitive_query_refund_request";
    const RESPONSE_TYPE: &'static str = "unitive_query_refund_response";
    type Response = RefundResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::serial("trans_seq", &self.trans_seq)?;
        rules::serial("ori_seq", &self.ori_seq)
    }
}

// ---------------------------------------------------------------- 4.5

wire_message! {
    /// 4.5 撤单接口 — revoke a payment whose outcome is unclear: refunds it
    /// if the customer paid, closes it otherwise.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RevokeRequest {
        /// `req_seq`: this revoke's own serial.
        req_seq: String,
        /// `ori_seq`: the payment's `req_seq`.
        ori_seq: String,
        /// `channel`: one of `channel` / `auth_code` is required.
        channel: Option<Channel>,
        /// `auth_code`: the payment code used.
        auth_code: Option<PaymentCode>,
    }
}

impl Request for RevokeRequest {
    const REQUEST_TYPE: &'static str = "unitive_revoke_request";
    const RESPONSE_TYPE: &'static str = "unitive_revoke_response";
    type Response = RevokeResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::serial("ori_seq", &self.ori_seq)?;
        if self.channel.is_none() && self.auth_code.is_none() {
            return Err(FieldError::new(
                "channel",
                FieldProblem::OneOfRequired { other: "auth_code" },
            ));
        }
        if let Some(c) = &self.channel {
            c.check("channel", "WAQY")?;
        }
        if let Some(code) = &self.auth_code {
            rules::required_text("auth_code", code.expose(), 32)?;
        }
        Ok(())
    }
}

wire_message! {
    /// Answer to 4.5.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct RevokeResponse {
        /// Common fields (`result=Y` means revoked).
        head: ResponseHead,
        /// `channel`.
        channel: Option<Channel>,
        /// `channel_name`.
        channel_name: Option<String>,
        /// `status` (not in the seed's table; the simulator sends `F` = closed).
        status: Option<Status>,
    }
}

// ---------------------------------------------------------------- 5.1 / 5.2

wire_message! {
    /// 5.1 扫码支付 — a QR-code (native) order: the customer scans `pay_url`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NativePayRequest {
        /// `req_seq`: our unique order number.
        req_seq: String,
        /// `total_fee`: amount in fen, > 0.
        total_fee: i64,
        /// `expire_time`: seconds the QR code stays payable, 300–1800.
        expire_time: Option<i64>,
        /// `channel`: `W` or `A`.
        channel: Channel,
    }
}

impl Request for NativePayRequest {
    const REQUEST_TYPE: &'static str = "unitive_native_pay_request";
    const RESPONSE_TYPE: &'static str = "unitive_native_pay_response";
    type Response = NativePayResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::fee("total_fee", self.total_fee)?;
        if let Some(t) = self.expire_time {
            rules::range("expire_time", t, 300, 1800)?;
        }
        self.channel.check("channel", "WA")
    }
}

wire_message! {
    /// Answer to 5.1 and 5.2.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct NativePayResponse {
        /// Common fields.
        head: ResponseHead,
        /// `trans_seq`: the platform's order number.
        trans_seq: Option<String>,
        /// `total_fee` (fen).
        total_fee: Option<i64>,
        /// `cash_fee` (fen).
        cash_fee: Option<i64>,
        /// `coupon_fee` (fen).
        coupon_fee: Option<i64>,
        /// `pay_time` once paid.
        pay_time: Option<String>,
        /// `channel`.
        channel: Option<Channel>,
        /// `channel_name`.
        channel_name: Option<String>,
        /// `status`: `W` waiting, `S` paid, `F` failed/closed.
        status: Option<Status>,
        /// `pay_url`, String(V2000): encode as a QR code for the customer.
        pay_url: Option<String>,
        /// `receipts`.
        receipts: Vec<String>,
    }
}

wire_message! {
    /// 5.2 查询订单 — ask for a native/JS/H5 order's state (also 6.2, 7.2).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NativeQueryRequest {
        /// `req_seq`: this query's own serial.
        req_seq: String,
        /// `channel`: `W` or `A`, optional.
        channel: Option<Channel>,
        /// `ori_seq`: the order's `req_seq`.
        ori_seq: String,
    }
}

impl Request for NativeQueryRequest {
    const REQUEST_TYPE: &'static str = "unitive_native_query_pay_request";
    const RESPONSE_TYPE: &'static str = "unitive_native_query_pay_response";
    type Response = NativePayResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        if let Some(c) = &self.channel {
            c.check("channel", "WA")?;
        }
        rules::serial("ori_seq", &self.ori_seq)
    }
}

// ---------------------------------------------------------------- 6.1

wire_message! {
    /// 6.1 JS 支付 — an order paid inside the WeChat or Alipay app's browser.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct JsPayRequest {
        /// `req_seq`: our unique order number.
        req_seq: String,
        /// `total_fee`: amount in fen, > 0.
        total_fee: i64,
        /// `channel`: `W` or `A`.
        channel: Channel,
        /// `subopen_id`, String(V32): WeChat openID / Alipay userID.
        subopen_id: String,
    }
}

impl Request for JsPayRequest {
    const REQUEST_TYPE: &'static str = "unitive_js_pay_request";
    const RESPONSE_TYPE: &'static str = "jspay_response";
    type Response = JsPayResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::fee("total_fee", self.total_fee)?;
        self.channel.check("channel", "WA")?;
        rules::required_text("subopen_id", &self.subopen_id, 32)
    }
}

wire_message! {
    /// Answer to 6.1.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct JsPayResponse {
        /// Common fields.
        head: ResponseHead,
        /// `channel`.
        channel: Option<Channel>,
        /// `channel_name`.
        channel_name: Option<String>,
        /// `trans_seq`: the platform's order number.
        trans_seq: Option<String>,
        /// `status`: `W` waiting for payment.
        status: Option<Status>,
        /// `pay_url`, String(V100): WeChat `prepay_id` / Alipay `tradeNo`.
        pay_url: Option<String>,
        /// `signature_info`, String(V2000): JSON to hand to the JS payment API.
        signature_info: Option<String>,
    }
}

impl JsPayResponse {
    /// `signature_info` as a JSON object of strings (seed 6.1: appId,
    /// nonceStr, package, paySign, signType, timeStamp for WeChat).
    pub fn signature_info_map(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, FieldError> {
        let bad = || {
            FieldError::new(
                "signature_info",
                FieldProblem::Invalid("is not a JSON object"),
            )
        };
        let text = self
            .signature_info
            .as_deref()
            .ok_or_else(|| missing("signature_info"))?;
        let obj: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|_| bad())?;
        Ok(obj
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect())
    }
}

// ---------------------------------------------------------------- 7.1

wire_message! {
    /// 7.1 H5 支付 — an order paid from a phone's ordinary browser.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct H5PayRequest {
        /// `req_seq`: our unique order number.
        req_seq: String,
        /// `total_fee`: amount in fen, > 0.
        total_fee: i64,
        /// `channel`: `W` or `A`.
        channel: Channel,
        /// `ip`, String(V15): the customer's public IPv4; required for `W`.
        ip: Option<String>,
        /// `redirect_url`, String(V256): where the browser returns; for `W`
        /// it must be on the paying page's domain.
        redirect_url: String,
    }
}

impl Request for H5PayRequest {
    const REQUEST_TYPE: &'static str = "unitive_h5_pay_request";
    const RESPONSE_TYPE: &'static str = "h5pay_response";
    type Response = H5PayResponse;
    serial_accessors!();
    fn check(&self) -> Checked {
        rules::serial("req_seq", &self.req_seq)?;
        rules::fee("total_fee", self.total_fee)?;
        self.channel.check("channel", "WA")?;
        match (&self.channel, &self.ip) {
            (Channel::WeChat, None) => return Err(missing("ip")),
            (_, Some(ip)) => rules::ipv4("ip", ip)?,
            _ => {}
        }
        rules::url("redirect_url", &self.redirect_url, 256)
    }
}

wire_message! {
    /// Answer to 7.1.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct H5PayResponse {
        /// Common fields.
        head: ResponseHead,
        /// `channel`.
        channel: Option<Channel>,
        /// `channel_name`.
        channel_name: Option<String>,
        /// `trans_seq`: the platform's order number.
        trans_seq: Option<String>,
        /// `status`: `W` waiting for payment.
        status: Option<Status>,
        /// `pay_info`, String(V2000): the URL that opens the payment app.
        pay_info: Option<String>,
    }
}

impl_response!(
    PayResponse => |r| r.trans_seq.as_deref(),
    RefundResponse => |_| None,
    RevokeResponse => |_| None,
    NativePayResponse => |r| r.trans_seq.as_deref(),
    JsPayResponse => |r| r.trans_seq.as_deref(),
    H5PayResponse => |r| r.trans_seq.as_deref()
);

// ---------------------------------------------------------------- 5.5

/// `request_type` of a payment notification (seed 5.5).
pub const NOTICE_TYPE: &str = "native_order_notice";

wire_message! {
    /// 5.5 支付结果通知 — the platform tells the shop's server that a
    /// native/JS/H5 order was paid. May arrive several times.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct OrderNotice {
        /// `request_type`: `native_order_notice`.
        request_type: Option<String>,
        /// `req_seq`: the order's `req_seq` (the seed's example spells it `req`).
        req_seq: Option<String>,
        /// `server_time`.
        server_time: Option<String>,
        /// `channel`: `W` or `A`.
        channel: Option<Channel>,
        /// `trans_seq`: the platform's order number.
        trans_seq: Option<String>,
        /// `ext_trans_id`: the channel's own transaction id.
        ext_trans_id: Option<String>,
        /// `total_fee` (fen).
        total_fee: Option<i64>,
        /// `status`: `S` paid.
        status: Option<Status>,
        /// `pay_time`.
        pay_time: Option<String>,
    }
}

impl OrderNotice {
    /// Reads a plain `<data>` notice and checks its required fields
    /// (`req_seq` or `req`, `channel`, `trans_seq`, `pay_time`).
    pub fn from_xml(xml: &str) -> Result<Self, FieldError> {
        let f = Fields::parse(xml, Some("data"))
            .map_err(|e| FieldError::new("data", FieldProblem::Invalid(xml_reason(&e))))?;
        let mut n = Self::read_fields(&f)?;
        if n.req_seq.is_none() {
            n.req_seq = f.get("req").map(str::to_string);
        }
        if n.request_type.as_deref().is_some_and(|t| t != NOTICE_TYPE) {
            return Err(FieldError::new(
                "request_type",
                FieldProblem::Invalid("is not native_order_notice"),
            ));
        }
        for (name, present) in [
            ("req_seq", n.req_seq.is_some()),
            ("channel", n.channel.is_some()),
            ("trans_seq", n.trans_seq.is_some()),
            ("pay_time", n.pay_time.is_some()),
        ] {
            if !present {
                return Err(missing(name));
            }
        }
        Ok(n)
    }

    /// Writes the plain `<data>` notice (platform side).
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new("data");
        self.write_fields(&mut w);
        w.finish()
    }
}

wire_message! {
    /// The shop's reply to a notice (seed 5.5): `Y` stops the platform's retries.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NoticeReply {
        /// `result`: `Y` success, `N` failure.
        result: bool,
        /// `message`, String(V100).
        message: String,
    }
}

impl NoticeReply {
    /// The reply document.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new("data");
        self.write_fields(&mut w);
        w.finish()
    }

    /// Reads a reply (platform side).
    pub fn from_xml(xml: &str) -> Result<Self, FieldError> {
        let f = Fields::parse(xml, Some("data"))
            .map_err(|e| FieldError::new("data", FieldProblem::Invalid(xml_reason(&e))))?;
        Self::read_fields(&f)
    }
}
