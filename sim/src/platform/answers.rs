//! How the platform answers: response codes and the reasons an order
//! failed, the common head, refusals, the words for an order's state and
//! the receipt lines.

use ystpay::protocol::types::fen_to_yuan;
use ystpay::protocol::{Response, ResponseHead, Status};

use super::orders::Order;
use super::{DeviceRec, Platform};
use crate::util::{china_now, pay_time, server_time};
use crate::{OrderKind, TrueStatus};

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
pub(super) type Reason = (&'static str, &'static str);

pub(super) const R_INSUFFICIENT: Reason = (code::INSUFFICIENT_BALANCE, "余额不足，支付失败");
pub(super) const R_ABANDONED: Reason = (code::ABANDONED, "用户取消支付");
pub(super) const R_BAD_CODE: Reason = (code::BAD_PAYMENT_CODE, "无效的付款码");
pub(super) const R_MISMATCH: Reason = (code::CHANNEL_MISMATCH, "付款码与支付渠道不符");
pub(super) const R_CLOSED: Reason = (code::CLOSED, "订单已关闭");
pub(super) const R_REVOKED: Reason = (code::REVOKED, "订单已撤销");
pub(super) const R_NOT_FOUND: Reason = (code::NOT_FOUND, "订单不存在");

/// The channel's name for answers (`channel_name`), from its letter.
pub(super) fn channel_name(c: &str) -> Option<String> {
    match c {
        "W" => Some("微支付".to_string()),
        "A" => Some("支付宝".to_string()),
        _ => None,
    }
}

/// An answer of type `$ty` about order `$o`: the head from `$words`
/// (result, code, msg and wire status, as [`Platform::state_words`] gives
/// them) and the fields every answer about an order carries (`trans_seq`,
/// `channel`, `channel_name`, `status`). With `paid: $dev`, also the amount
/// and, once paid, what was paid, when, and the receipts (the barcode
/// answers, API §4.1/§4.2, and the native ones, API §5.1/§5.2). The barcode,
/// native, JS and H5 answers are four types with these fields in common,
/// hence a macro.
macro_rules! order_answer {
    ($p:expr, $ty:ty, $o:expr, $rtype:expr, $seq:expr, $words:expr) => {{
        let o: &$crate::platform::orders::Order = $o;
        let (ok, c, msg, status) = $words;
        let mut r = <$ty>::default();
        r.head = $p.head($rtype, $seq, ok, c, msg);
        r.trans_seq = Some(o.trans_seq.clone());
        r.channel = o.channel();
        r.channel_name = $crate::platform::answers::channel_name(&o.channel);
        r.status = Some(status);
        r
    }};
    ($p:expr, $ty:ty, $o:expr, $rtype:expr, $seq:expr, $words:expr, paid: $dev:expr) => {{
        let o: &$crate::platform::orders::Order = $o;
        let mut r = $crate::platform::answers::order_answer!($p, $ty, o, $rtype, $seq, $words);
        r.total_fee = Some(o.total_fee);
        if o.pay_time.is_some() {
            r.cash_fee = Some(o.total_fee);
            r.coupon_fee = Some(0);
            r.pay_time = o.pay_time.map($crate::util::pay_time);
            r.receipts = $p.receipts($dev, o);
        }
        r
    }};
}
pub(super) use order_answer;

impl Platform {
    /// The common fields of an answer, with a fresh `res_seq` and the
    /// server time.
    pub(super) fn head(
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

    /// The two payment slips (merchant's and customer's copy) of a paid
    /// order; none before it is paid.
    pub(super) fn receipts(&self, dev: &DeviceRec, o: &Order) -> Vec<String> {
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

    /// The slip of refund `refund_seq` of `fee` fen.
    pub(super) fn refund_receipts(
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

    /// (result, code, msg, wire status) for an order's current state. A pay
    /// answer (`is_query` false) says `result=N` for a failed, closed or
    /// revoked order, and "prepay order created" for a waiting native, JS or
    /// H5 order; a query answer says `result=Y` (the query succeeded).
    pub(super) fn state_words(
        &self,
        o: &Order,
        is_query: bool,
    ) -> (bool, &'static str, &'static str, Status) {
        match o.status {
            TrueStatus::Paid => (true, code::PAID, "支付成功", Status::Success),
            TrueStatus::Waiting if o.kind == OrderKind::Barcode => (
                true,
                code::WAITING_PASSWORD,
                "等待用户输入密码",
                Status::Waiting,
            ),
            TrueStatus::Waiting if !is_query => (
                true,
                code::PREPAY_CREATED,
                "预支付订单请求成功",
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

    /// A `result=N` answer of type `R` with `reason`'s code and message.
    pub(super) fn refusal<R: Response + Default>(
        &self,
        rtype: &str,
        seq: &str,
        reason: (&str, &str),
    ) -> String {
        let mut r = R::default();
        *r.head_mut() = self.head(rtype, seq, false, reason.0, reason.1);
        r.to_xml()
    }

    /// The refusal of a `req_seq` reused with other content (`E10005`).
    pub(super) fn conflict<R: Response + Default>(&self, rtype: &str, seq: &str) -> String {
        self.refusal::<R>(
            rtype,
            seq,
            (code::SEQ_CONFLICT, "请求流水号重复，且内容不同"),
        )
    }
}
