//! How each request, answer and settlement describes itself for the log
//! ([`Describe`]), and the word the log names each request by ([`Named`]):
//! payment codes masked, no dsn, no personal data.

use super::Describe;
use crate::protocol::messages::{
    H5PayRequest, JsPayRequest, NativePayRequest, NativeQueryRequest, PayRequest, QueryPayRequest,
    QueryRefundRequest, RefundRequest, RevokeRequest,
};
use crate::protocol::types::mask;
use crate::protocol::OrderNotice;
use crate::reading::{Answer, Subject};

/// A request the log (and the register) names by a short word.
pub trait Named {
    /// The word, e.g. `pay` or `refund-query`.
    const OP: &'static str;
}

macro_rules! named {
    ($($t:ty => $op:literal),* $(,)?) => {
        $(impl Named for $t { const OP: &'static str = $op; })*
    };
}

named! {
    PayRequest => "pay",
    QueryPayRequest => "query",
    RefundRequest => "refund",
    QueryRefundRequest => "refund-query",
    RevokeRequest => "revoke",
    NativePayRequest => "native-pay",
    NativeQueryRequest => "native-query",
    JsPayRequest => "js-pay",
    H5PayRequest => "h5-pay",
}

/// Adds `k = x` to `v` when there is an `x`.
pub fn push<T: ToString>(v: &mut Vec<(&'static str, String)>, k: &'static str, x: Option<T>) {
    if let Some(x) = x {
        v.push((k, x.to_string()));
    }
}

impl Describe for PayRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("req_seq", self.req_seq.clone()),
            ("total_fee", self.total_fee.to_string()),
            ("auth_code", self.auth_code.masked()),
        ];
        push(&mut v, "channel", self.channel.as_ref());
        if !self.prod_details.is_empty() {
            v.push(("prod_lines", self.prod_details.len().to_string()));
        }
        v
    }
    fn sensitive(&self) -> Vec<(String, String)> {
        code_pair(self.auth_code.expose())
    }
}

impl Describe for QueryPayRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("req_seq", self.req_seq.clone()),
            ("ori_seq", self.ori_seq.clone()),
        ];
        push(
            &mut v,
            "auth_code",
            self.auth_code.as_ref().map(|c| c.masked()),
        );
        v
    }
    fn sensitive(&self) -> Vec<(String, String)> {
        self.auth_code
            .as_ref()
            .map(|c| code_pair(c.expose()))
            .unwrap_or_default()
    }
}

impl Describe for RefundRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("req_seq", self.req_seq.clone()),
            ("trans_seq", self.trans_seq.clone()),
            ("refund_fee", self.refund_fee.to_string()),
            ("reason", self.reason.clone()),
        ]
    }
}

impl Describe for QueryRefundRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("req_seq", self.req_seq.clone()),
            ("trans_seq", self.trans_seq.clone()),
            ("ori_seq", self.ori_seq.clone()),
        ]
    }
}

impl Describe for RevokeRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("req_seq", self.req_seq.clone()),
            ("ori_seq", self.ori_seq.clone()),
        ];
        push(&mut v, "channel", self.channel.as_ref());
        push(
            &mut v,
            "auth_code",
            self.auth_code.as_ref().map(|c| c.masked()),
        );
        v
    }
    fn sensitive(&self) -> Vec<(String, String)> {
        self.auth_code
            .as_ref()
            .map(|c| code_pair(c.expose()))
            .unwrap_or_default()
    }
}

impl Describe for NativePayRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("req_seq", self.req_seq.clone()),
            ("total_fee", self.total_fee.to_string()),
            ("channel", self.channel.to_string()),
        ];
        push(&mut v, "expire_time", self.expire_time);
        v
    }
}

impl Describe for NativeQueryRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("req_seq", self.req_seq.clone()),
            ("ori_seq", self.ori_seq.clone()),
        ];
        push(&mut v, "channel", self.channel.as_ref());
        v
    }
}

impl Describe for JsPayRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("req_seq", self.req_seq.clone()),
            ("total_fee", self.total_fee.to_string()),
            ("channel", self.channel.to_string()),
            // The customer's app user id: personal data, masked like a code.
            ("subopen_id", mask(&self.subopen_id)),
        ]
    }
    fn sensitive(&self) -> Vec<(String, String)> {
        code_pair(&self.subopen_id)
    }
}

impl Describe for H5PayRequest {
    fn fields(&self) -> Vec<(&'static str, String)> {
        // The customer's IP address is personal data and is not written.
        vec![
            ("req_seq", self.req_seq.clone()),
            ("total_fee", self.total_fee.to_string()),
            ("channel", self.channel.to_string()),
            ("redirect_url", self.redirect_url.clone()),
        ]
    }
    fn sensitive(&self) -> Vec<(String, String)> {
        self.ip
            .as_ref()
            .map(|ip| vec![(ip.clone(), "<ip>".to_string())])
            .unwrap_or_default()
    }
}

fn code_pair(full: &str) -> Vec<(String, String)> {
    if full.chars().count() >= 4 {
        vec![(full.to_string(), mask(full))]
    } else {
        Vec::new()
    }
}

/// What the log says of an answer: its status and the facts the flows
/// keep ([`crate::reading::Facts`]), the same for every interface.
pub fn answer_fields<A: Answer + ?Sized>(a: &A) -> Vec<(&'static str, String)> {
    let f = a.facts();
    let mut v = Vec::new();
    push(&mut v, "status", a.status());
    push(&mut v, "trans_seq", f.trans_seq.as_ref());
    push(&mut v, "refund_seq", f.refund_seq.as_ref());
    let fee_name = match a.subject() {
        Subject::Refund => "refund_fee",
        _ => "total_fee",
    };
    push(&mut v, fee_name, f.fee);
    push(&mut v, "channel", f.channel.as_ref());
    push(&mut v, "pay_time", f.pay_time.as_ref());
    push(&mut v, "pay_url", f.pay_url.as_ref());
    if let Some(h) = a.head() {
        push(
            &mut v,
            "result",
            h.result.map(|r| if r { "Y" } else { "N" }),
        );
    }
    push(&mut v, "code", f.code.as_ref());
    if !f.msg.is_empty() {
        v.push(("msg", f.msg));
    }
    v
}

impl Describe for OrderNotice {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        push(&mut v, "req_seq", self.req_seq.as_ref());
        push(&mut v, "trans_seq", self.trans_seq.as_ref());
        push(&mut v, "total_fee", self.total_fee);
        push(&mut v, "channel", self.channel.as_ref());
        push(&mut v, "status", self.status.as_ref());
        push(&mut v, "pay_time", self.pay_time.as_ref());
        v
    }
}
