//! The barcode payment (API §4.1–§4.5): pay, query, refund, refund query,
//! revoke. Refunds and their queries serve every kind of order (§5.3,
//! §6.3, §7.3).

use super::*;

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

/// Most characters of the `prod_details` JSON (API §4.1: V8192).
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
    /// The API document's example says `refund_fee_request` (see docs/DESIGN.md).
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
        /// `status` (not in the API document's table; the simulator sends `F` = closed).
        status: Option<Status>,
    }
}
