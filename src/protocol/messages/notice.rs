//! The payment notification (API §5.5) and the reply that stops its retries.

use super::*;

// ---------------------------------------------------------------- 5.5

/// `request_type` of a payment notification (API §5.5).
pub const NOTICE_TYPE: &str = "native_order_notice";

wire_message! {
    /// 5.5 支付结果通知 — the platform tells the shop's server that a
    /// native/JS/H5 order was paid. May arrive several times.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct OrderNotice {
        /// `request_type`: `native_order_notice`.
        request_type: Option<String>,
        /// `req_seq`: the order's `req_seq` (the API document's example spells it `req`).
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
    /// The shop's reply to a notice (API §5.5): `Y` stops the platform's retries.
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
