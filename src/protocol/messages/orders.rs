//! Orders the customer pays by themselves: QR code (API §5.1) and its
//! query (§5.2, also for §6.2 and §7.2), JS (§6.1) and H5 (§7.1).

use super::*;

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
    /// `signature_info` as a JSON object of strings (API §6.1: appId,
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
