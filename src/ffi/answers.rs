//! The result records of the calls of `calls.rs`, one per kind of answer
//! (API §4.1–4.5, §5.1, §5.2, §6.1, §7.1): the platform's fields, and the
//! outcome the answer proves ([`crate::reading`]). A refusal (`result=N`)
//! becomes a record too, with the platform's code and words.

use std::os::raw::c_char;

use super::codes::*;
use super::error::Failure;
use super::records::*;
use super::text::{Enc, Writer};
use crate::error::{Error, Refusal};
use crate::protocol::messages::*;
use crate::protocol::{Channel, ResponseHead, Status};
use crate::reading::{read_result, Answer, Expected};

/// Turns a refusal into an answer of type `R`, so that the caller sees
/// `result = "N"` with the platform's code and words.
pub(super) trait FromRefusal: Default {
    fn head_mut(&mut self) -> &mut ResponseHead;
    fn set_status(&mut self, status: Option<Status>);
    fn set_trans_seq(&mut self, _trans_seq: Option<String>) {}

    fn from_refusal(r: Refusal) -> Self {
        let mut a = Self::default();
        let head = a.head_mut();
        head.result = Some(false);
        head.code = Some(r.code);
        head.msg = Some(r.msg);
        a.set_status(r.status);
        a.set_trans_seq(r.trans_seq);
        a
    }
}

macro_rules! from_refusal {
    ($t:ty) => {
        impl FromRefusal for $t {
            fn head_mut(&mut self) -> &mut ResponseHead {
                &mut self.head
            }
            fn set_status(&mut self, status: Option<Status>) {
                self.status = status;
            }
        }
    };
    ($t:ty, trans_seq) => {
        impl FromRefusal for $t {
            fn head_mut(&mut self) -> &mut ResponseHead {
                &mut self.head
            }
            fn set_status(&mut self, status: Option<Status>) {
                self.status = status;
            }
            fn set_trans_seq(&mut self, trans_seq: Option<String>) {
                self.trans_seq = trans_seq;
            }
        }
    };
}

from_refusal!(PayResponse, trans_seq);
from_refusal!(RefundResponse);
from_refusal!(RevokeResponse);
from_refusal!(NativePayResponse, trans_seq);
from_refusal!(JsPayResponse, trans_seq);
from_refusal!(H5PayResponse, trans_seq);

/// A verified answer (a refusal turned into one) with the outcome it
/// proves for an operation that expects `expect` ([`crate::reading`]), or
/// a failure.
pub(super) fn answer<R: FromRefusal + Answer>(
    r: Result<R, Error>,
    expect: &Expected,
) -> Result<(R, i32), Failure> {
    let outcome = money_code(read_result(&r, expect).money());
    match r {
        Ok(a) => Ok((a, outcome)),
        Err(Error::Refused(refusal)) => Ok((R::from_refusal(refusal), outcome)),
        Err(e) => Err(e.into()),
    }
}

fn fee(v: Option<i64>) -> i64 {
    v.unwrap_or(-1)
}

fn result_flag(head: &ResponseHead) -> &'static str {
    match head.result {
        Some(true) => "Y",
        Some(false) => "N",
        None => "",
    }
}

/// The fields every result record has, borrowed from `$rec` for
/// [`write_head`].
macro_rules! head_of {
    ($rec:expr) => {
        Head {
            result: &mut $rec.result,
            code: &mut $rec.code,
            msg: &mut $rec.msg,
            server_time: &mut $rec.server_time,
            req_seq: &mut $rec.req_seq,
        }
    };
}

/// The fields every record shares.
struct Head<'a> {
    result: &'a mut [c_char],
    code: &'a mut [c_char],
    msg: &'a mut [c_char],
    server_time: &'a mut [c_char],
    req_seq: &'a mut [c_char],
}

fn write_head(
    w: &mut Writer,
    h: Head<'_>,
    head: &ResponseHead,
    req_seq: &str,
) -> Result<(), Failure> {
    w.text(h.result, result_flag(head));
    w.opt_text(h.code, head.code.as_deref());
    w.opt_text(h.msg, head.msg.as_deref());
    w.opt_text(h.server_time, head.server_time.as_deref());
    w.id(h.req_seq, req_seq, "req_seq")
}

fn write_channel(w: &mut Writer, dst: &mut [c_char], c: Option<&Channel>) {
    w.opt_text(dst, c.map(Channel::code));
}

fn write_status(w: &mut Writer, dst: &mut [c_char], s: Option<&Status>) {
    w.opt_text(dst, s.map(Status::code));
}

/// Fills receipt lines; returns how many were written.
fn write_receipts(
    w: &mut Writer,
    dst: &mut [[c_char; YSTPAY_RECEIPT_LINE_SIZE]; YSTPAY_RECEIPT_LINES],
    lines: &[String],
) -> i32 {
    if lines.len() > YSTPAY_RECEIPT_LINES {
        w.truncated = true;
    }
    let mut n = 0;
    for (slot, line) in dst.iter_mut().zip(lines) {
        w.text(slot, line);
        n += 1;
    }
    n
}

pub(super) fn payment_record(
    enc: Enc,
    req_seq: &str,
    a: &PayResponse,
    outcome: i32,
) -> Result<Box<ystpay_payment_result>, Failure> {
    let mut r = blank::<ystpay_payment_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(&mut w, head_of!(rec), &a.head, req_seq)?;
    rec.outcome = outcome;
    rec.total_fee = fee(a.total_fee);
    rec.cash_fee = fee(a.cash_fee);
    rec.coupon_fee = fee(a.coupon_fee);
    if let Some(t) = &a.trans_seq {
        w.id(&mut rec.trans_seq, t, "trans_seq")?;
    }
    write_status(&mut w, &mut rec.status, a.status.as_ref());
    write_channel(&mut w, &mut rec.channel, a.channel.as_ref());
    w.opt_text(&mut rec.channel_name, a.channel_name.as_deref());
    w.opt_text(&mut rec.pay_time, a.pay_time.as_deref());
    w.opt_text(&mut rec.promotion_detail, a.promotion_detail.as_deref());
    rec.receipt_count = write_receipts(&mut w, &mut rec.receipt_lines, &a.receipts);
    rec.truncated = w.truncated as i32;
    Ok(r)
}

pub(super) fn refund_record(
    enc: Enc,
    req_seq: &str,
    a: &RefundResponse,
    outcome: i32,
) -> Result<Box<ystpay_refund_result>, Failure> {
    let mut r = blank::<ystpay_refund_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(&mut w, head_of!(rec), &a.head, req_seq)?;
    rec.outcome = outcome;
    rec.total_fee = fee(a.total_fee);
    rec.refund_fee = fee(a.refund_fee);
    rec.cash_fee = fee(a.cash_fee);
    rec.coupon_fee = fee(a.coupon_fee);
    if let Some(t) = &a.refund_seq {
        w.id(&mut rec.refund_seq, t, "refund_seq")?;
    }
    write_status(&mut w, &mut rec.status, a.status.as_ref());
    write_channel(&mut w, &mut rec.channel, a.channel.as_ref());
    w.opt_text(&mut rec.channel_name, a.channel_name.as_deref());
    rec.receipt_count = write_receipts(&mut w, &mut rec.receipt_lines, &a.receipts);
    rec.truncated = w.truncated as i32;
    Ok(r)
}

pub(super) fn revoke_record(
    enc: Enc,
    req_seq: &str,
    a: &RevokeResponse,
    outcome: i32,
) -> Result<Box<ystpay_revoke_result>, Failure> {
    let mut r = blank::<ystpay_revoke_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(&mut w, head_of!(rec), &a.head, req_seq)?;
    rec.outcome = outcome;
    write_status(&mut w, &mut rec.status, a.status.as_ref());
    write_channel(&mut w, &mut rec.channel, a.channel.as_ref());
    w.opt_text(&mut rec.channel_name, a.channel_name.as_deref());
    rec.truncated = w.truncated as i32;
    Ok(r)
}

/// What the three order answers (5.1/5.2, 6.1, 7.1) share, read uniformly.
pub(super) struct OrderView<'a> {
    head: &'a ResponseHead,
    trans_seq: Option<&'a str>,
    status: Option<&'a Status>,
    channel: Option<&'a Channel>,
    channel_name: Option<&'a str>,
    total_fee: Option<i64>,
    cash_fee: Option<i64>,
    coupon_fee: Option<i64>,
    pay_time: Option<&'a str>,
    pay_url: Option<&'a str>,
    signature_info: Option<&'a str>,
    receipts: &'a [String],
}

impl<'a> From<&'a NativePayResponse> for OrderView<'a> {
    fn from(a: &'a NativePayResponse) -> Self {
        OrderView {
            head: &a.head,
            trans_seq: a.trans_seq.as_deref(),
            status: a.status.as_ref(),
            channel: a.channel.as_ref(),
            channel_name: a.channel_name.as_deref(),
            total_fee: a.total_fee,
            cash_fee: a.cash_fee,
            coupon_fee: a.coupon_fee,
            pay_time: a.pay_time.as_deref(),
            pay_url: a.pay_url.as_deref(),
            signature_info: None,
            receipts: &a.receipts,
        }
    }
}

impl<'a> From<&'a JsPayResponse> for OrderView<'a> {
    fn from(a: &'a JsPayResponse) -> Self {
        OrderView {
            head: &a.head,
            trans_seq: a.trans_seq.as_deref(),
            status: a.status.as_ref(),
            channel: a.channel.as_ref(),
            channel_name: a.channel_name.as_deref(),
            total_fee: None,
            cash_fee: None,
            coupon_fee: None,
            pay_time: None,
            pay_url: a.pay_url.as_deref(),
            signature_info: a.signature_info.as_deref(),
            receipts: &[],
        }
    }
}

impl<'a> From<&'a H5PayResponse> for OrderView<'a> {
    fn from(a: &'a H5PayResponse) -> Self {
        OrderView {
            head: &a.head,
            trans_seq: a.trans_seq.as_deref(),
            status: a.status.as_ref(),
            channel: a.channel.as_ref(),
            channel_name: a.channel_name.as_deref(),
            total_fee: None,
            cash_fee: None,
            coupon_fee: None,
            pay_time: None,
            pay_url: a.pay_info.as_deref(),
            signature_info: None,
            receipts: &[],
        }
    }
}

pub(super) fn order_record(
    enc: Enc,
    req_seq: &str,
    a: OrderView<'_>,
    outcome: i32,
) -> Result<Box<ystpay_order_result>, Failure> {
    let mut r = blank::<ystpay_order_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(&mut w, head_of!(rec), a.head, req_seq)?;
    rec.outcome = outcome;
    rec.total_fee = fee(a.total_fee);
    rec.cash_fee = fee(a.cash_fee);
    rec.coupon_fee = fee(a.coupon_fee);
    if let Some(t) = a.trans_seq {
        w.id(&mut rec.trans_seq, t, "trans_seq")?;
    }
    write_status(&mut w, &mut rec.status, a.status);
    write_channel(&mut w, &mut rec.channel, a.channel);
    w.opt_text(&mut rec.channel_name, a.channel_name);
    w.opt_text(&mut rec.pay_time, a.pay_time);
    // A cut URL would open the wrong page: it must fit whole.
    if let Some(u) = a.pay_url {
        w.id(&mut rec.pay_url, u, "pay_url")?;
    }
    if let Some(s) = a.signature_info {
        w.id(&mut rec.signature_info, s, "signature_info")?;
    }
    rec.receipt_count = write_receipts(&mut w, &mut rec.receipt_lines, a.receipts);
    rec.truncated = w.truncated as i32;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::text;

    fn refused(status: Option<Status>) -> Result<PayResponse, Error> {
        Err(Error::Refused(Refusal {
            code: "E20001".into(),
            msg: "余额不足".into(),
            status,
            trans_seq: Some("123".into()),
            fee: None,
        }))
    }

    #[test]
    fn refusals_keep_code_words_and_status() {
        let (a, outcome) = answer(refused(Some(Status::Failed)), &Expected::new(1, None)).unwrap();
        let rec = payment_record(Enc::Utf8, "20240101000000000001", &a, outcome).unwrap();
        assert_eq!(rec.outcome, YSTPAY_OUTCOME_FAILED);
        assert_eq!(text::from_array(Enc::Utf8, &rec.result, "r").unwrap(), "N");
        assert_eq!(
            text::from_array(Enc::Utf8, &rec.msg, "m").unwrap(),
            "余额不足"
        );
        assert_eq!(rec.total_fee, -1);
        // A refusal that says nothing about the money: unknown, never failed.
        let (_, outcome) = answer(refused(None), &Expected::new(1, None)).unwrap();
        assert_eq!(outcome, YSTPAY_OUTCOME_UNKNOWN);
        // Nor does "S" under result=N make it paid.
        let (_, outcome) = answer(refused(Some(Status::Success)), &Expected::new(1, None)).unwrap();
        assert_eq!(outcome, YSTPAY_OUTCOME_UNKNOWN);
    }

    #[test]
    fn a_paid_answer_about_another_amount_is_unknown() {
        let a = PayResponse {
            total_fee: Some(100),
            trans_seq: Some("1501".into()),
            status: Some(Status::Success),
            ..Default::default()
        };
        let (_, outcome) = answer(Ok(a.clone()), &Expected::new(200, None)).unwrap();
        assert_eq!(outcome, YSTPAY_OUTCOME_UNKNOWN);
        let (_, outcome) = answer(Ok(a), &Expected::new(100, None)).unwrap();
        assert_eq!(outcome, YSTPAY_OUTCOME_SUCCESS);
        let no_status = PayResponse::default();
        let (_, outcome) = answer(Ok(no_status), &Expected::default()).unwrap();
        assert_eq!(outcome, YSTPAY_OUTCOME_UNKNOWN);
    }

    #[test]
    fn too_many_receipt_lines_are_flagged() {
        let a = PayResponse {
            receipts: (0..70).map(|i| format!("line {i}")).collect(),
            status: Some(Status::Success),
            ..Default::default()
        };
        let rec = payment_record(Enc::Gbk, "1", &a, YSTPAY_OUTCOME_SUCCESS).unwrap();
        assert_eq!(rec.receipt_count, 64);
        assert_eq!(rec.truncated, 1);
        assert_eq!(rec.outcome, YSTPAY_OUTCOME_SUCCESS);
    }
}
