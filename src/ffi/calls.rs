//! One export per seed interface (4.1–4.5, 5.1, 5.2, 6.1, 7.1).
//!
//! Every call follows the same contract, stated once here and in the
//! header:
//! - `client` is a live handle; `out` is a caller-owned record whose
//!   `struct_size` the caller has set.
//! - `req_seq` may be NULL or `""`: a fresh one is generated and written to
//!   `out->req_seq` (store it: queries and revokes need it). Retrying a
//!   request whose outcome is unknown must reuse the same `req_seq`.
//! - Optional strings may be NULL or `""` (not sent); required strings may
//!   not be NULL.
//! - `YSTPAY_OK` means the platform answered and the answer verified: read
//!   `out->outcome`. A refusal (`result=N`) is `YSTPAY_OK` with
//!   `out->result` `"N"` and `out->code`/`out->msg` filled.
//! - On any other result code `out` is left untouched and
//!   `ystpay_last_error` has the details.

use std::os::raw::c_char;

use super::codes::*;
use super::error::{guard, Failure};
use super::records::*;
use super::text::{self, Enc, Writer};
use crate::error::{Error, Refusal};
use crate::protocol::messages::*;
use crate::protocol::{Channel, PaymentCode, ProdItem, ResponseHead, Status};
use crate::reading::{read_result, Answer, Expected};

/// Most product lines one payment may carry (the seed caps the JSON at
/// 8192 characters, about 80 lines).
const MAX_ITEMS: i32 = 1000;

/// Turns a refusal into an answer of type `R`, so that the caller sees
/// `result = "N"` with the platform's code and words.
trait FromRefusal: Default {
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
fn answer<R: FromRefusal + Answer>(
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

fn payment_record(
    enc: Enc,
    req_seq: &str,
    a: &PayResponse,
    outcome: i32,
) -> Result<Box<ystpay_payment_result>, Failure> {
    let mut r = blank::<ystpay_payment_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(
        &mut w,
        Head {
            result: &mut rec.result,
            code: &mut rec.code,
            msg: &mut rec.msg,
            server_time: &mut rec.server_time,
            req_seq: &mut rec.req_seq,
        },
        &a.head,
        req_seq,
    )?;
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

fn refund_record(
    enc: Enc,
    req_seq: &str,
    a: &RefundResponse,
    outcome: i32,
) -> Result<Box<ystpay_refund_result>, Failure> {
    let mut r = blank::<ystpay_refund_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(
        &mut w,
        Head {
            result: &mut rec.result,
            code: &mut rec.code,
            msg: &mut rec.msg,
            server_time: &mut rec.server_time,
            req_seq: &mut rec.req_seq,
        },
        &a.head,
        req_seq,
    )?;
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

fn revoke_record(
    enc: Enc,
    req_seq: &str,
    a: &RevokeResponse,
    outcome: i32,
) -> Result<Box<ystpay_revoke_result>, Failure> {
    let mut r = blank::<ystpay_revoke_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(
        &mut w,
        Head {
            result: &mut rec.result,
            code: &mut rec.code,
            msg: &mut rec.msg,
            server_time: &mut rec.server_time,
            req_seq: &mut rec.req_seq,
        },
        &a.head,
        req_seq,
    )?;
    rec.outcome = outcome;
    write_status(&mut w, &mut rec.status, a.status.as_ref());
    write_channel(&mut w, &mut rec.channel, a.channel.as_ref());
    w.opt_text(&mut rec.channel_name, a.channel_name.as_deref());
    rec.truncated = w.truncated as i32;
    Ok(r)
}

/// What the three order answers (5.1/5.2, 6.1, 7.1) share, read uniformly.
struct OrderView<'a> {
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

fn order_record(
    enc: Enc,
    req_seq: &str,
    a: OrderView<'_>,
    outcome: i32,
) -> Result<Box<ystpay_order_result>, Failure> {
    let mut r = blank::<ystpay_order_result>();
    let mut w = Writer::new(enc);
    let rec = &mut *r;
    write_head(
        &mut w,
        Head {
            result: &mut rec.result,
            code: &mut rec.code,
            msg: &mut rec.msg,
            server_time: &mut rec.server_time,
            req_seq: &mut rec.req_seq,
        },
        a.head,
        req_seq,
    )?;
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

/// Checks an output record argument: not NULL, right `struct_size`.
macro_rules! out_record {
    ($p:ident) => {{
        let p = non_null!($p);
        // SAFETY: non-NULL; the caller passes a record of this type.
        unsafe { check_size(p)? };
        p
    }};
}

/// Reads the product lines of a payment.
///
/// # Safety
/// `items` points to `count` records (or is NULL with count 0).
pub(crate) unsafe fn read_items(
    enc: Enc,
    items: *const ystpay_prod_item,
    count: i32,
) -> Result<Vec<ProdItem>, Failure> {
    if !(0..=MAX_ITEMS).contains(&count) {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            format!("item_count must be 0 to {MAX_ITEMS}"),
        ));
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    let items = non_null!(items);
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        // SAFETY: caller contract: `count` readable records.
        let p = unsafe { items.add(i) };
        // SAFETY: as above.
        unsafe { check_size(p) }
            .map_err(|f| Failure::new(f.code, format!("items[{i}]: {}", f.message)))?;
        // SAFETY: as above; records may be unaligned.
        let item = unsafe { p.read_unaligned() };
        if item.reserved != 0 {
            return Err(Failure::new(
                YSTPAY_ERR_INVALID_ARGUMENT,
                format!("items[{i}].reserved must be 0"),
            ));
        }
        let field =
            |a: &[c_char], name: &str| text::from_array(enc, a, &format!("items[{i}].{name}"));
        out.push(ProdItem {
            goods_id: field(&item.goods_id, "goods_id")?,
            goods_name: field(&item.goods_name, "goods_name")?,
            price_fen: item.price_fen,
            quantity: field(&item.quantity, "quantity")?,
            goods_fee_fen: (item.goods_fee_fen != -1).then_some(item.goods_fee_fen),
        });
    }
    Ok(out)
}

/// A request's `req_seq` argument: NULL or `""` → generated by `send`.
pub(crate) unsafe fn req_seq_arg(enc: Enc, p: *const c_char) -> Result<String, Failure> {
    // SAFETY: forwarded caller contract.
    Ok(unsafe { text::optional(enc, p, "req_seq")? }.unwrap_or_default())
}

/// **Method.** 4.1 提交支付 — barcode payment: the customer shows a payment
/// code (`auth_code`) and the register charges `total_fee` fen. One
/// attempt: on `YSTPAY_OUTCOME_WAITING` (customer entering a password) call
/// `ystpay_query_pay` every few seconds; on `YSTPAY_ERR_OUTCOME_UNKNOWN`
/// or `YSTPAY_ERR_REJECTED` query, and revoke if it stays unclear.
///
/// - `req_seq`: this payment's serial (NULL/`""`: generated, see
///   `out->req_seq`); at most 20 printable ASCII characters.
/// - `total_fee`: fen, 1 to 9999999999.
/// - `auth_code`: the scanned code; not NULL. Never appears in messages.
/// - `channel`: `"W"`, `"A"`, `"Q"` to force a channel, or NULL/`""`.
/// - `items`, `item_count`: product lines (`prod_details`), or NULL and 0.
///   Read only during the call.
/// - `out`: caller-owned `ystpay_payment_result`, written only on `YSTPAY_OK`.
///
/// Thread-safe: several threads may pay on one handle at once.
///
/// # Safety
/// Pointers as documented: strings NUL-terminated, `items` holds
/// `item_count` records, `out` a writable `ystpay_payment_result`.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_pay(
    client: *const ystpay_client,
    req_seq: *const c_char,
    total_fee: i64,
    auth_code: *const c_char,
    channel: *const c_char,
    items: *const ystpay_prod_item,
    item_count: i32,
    out: *mut ystpay_payment_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract for every pointer argument.
        let mut req = unsafe {
            PayRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                total_fee,
                auth_code: PaymentCode::new(text::required(e, auth_code, "auth_code")?),
                channel: text::optional(e, channel, "channel")?.map(|s| Channel::from_code(&s)),
                prod_details: read_items(e, items, item_count)?,
            }
        };
        let expect = Expected::new(total_fee, None);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = payment_record(e, &req.req_seq, &a, outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 4.2 查询订单 — the state of a barcode payment.
///
/// - `req_seq`: this query's own serial (NULL/`""`: generated).
/// - `ori_seq`: the payment's `req_seq`; not NULL.
/// - `auth_code`: the payment code used, or NULL/`""`.
/// - `out`: caller-owned `ystpay_payment_result`, written only on `YSTPAY_OK`
///   (`out->req_seq` is the query's serial).
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_payment_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_query_pay(
    client: *const ystpay_client,
    req_seq: *const c_char,
    ori_seq: *const c_char,
    auth_code: *const c_char,
    out: *mut ystpay_payment_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            QueryPayRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                auth_code: text::optional(e, auth_code, "auth_code")?.map(PaymentCode::new),
                ori_seq: text::required(e, ori_seq, "ori_seq")?,
            }
        };
        let expect = c.register.expected_for(&req.ori_seq);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = payment_record(e, &req.req_seq, &a, outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 4.3 退款接口 — refund part or all of a paid order (also for
/// QR-code, JS and H5 orders: 5.3, 6.3, 7.3).
///
/// - `req_seq`: this refund's serial (NULL/`""`: generated); a retry of the
///   same refund must reuse it.
/// - `trans_seq`: the paid order's platform number; not NULL.
/// - `refund_fee`: fen, 1 to 9999999999.
/// - `reason`: why (at most 255 characters); not NULL or empty.
/// - `out`: caller-owned `ystpay_refund_result`, written only on `YSTPAY_OK`.
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_refund_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_refund(
    client: *const ystpay_client,
    req_seq: *const c_char,
    trans_seq: *const c_char,
    refund_fee: i64,
    reason: *const c_char,
    out: *mut ystpay_refund_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            RefundRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                trans_seq: text::required(e, trans_seq, "trans_seq")?,
                refund_fee,
                reason: text::required(e, reason, "reason")?,
            }
        };
        let expect = Expected::new(refund_fee, None);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = refund_record(e, &req.req_seq, &a, outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 4.4 退款查询 — the state of a refund (also 5.4, 6.4, 7.4).
///
/// - `req_seq`: this query's own serial (NULL/`""`: generated).
/// - `trans_seq`: the paid order's platform number; not NULL.
/// - `ori_seq`: the refund's `req_seq`; not NULL.
/// - `out`: caller-owned `ystpay_refund_result`, written only on `YSTPAY_OK`.
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_refund_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_query_refund(
    client: *const ystpay_client,
    req_seq: *const c_char,
    trans_seq: *const c_char,
    ori_seq: *const c_char,
    out: *mut ystpay_refund_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            QueryRefundRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                trans_seq: text::required(e, trans_seq, "trans_seq")?,
                ori_seq: text::required(e, ori_seq, "ori_seq")?,
            }
        };
        let expect = c.register.expected_for(&req.ori_seq);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = refund_record(e, &req.req_seq, &a, outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 4.5 撤单接口 — revoke a payment whose outcome is unclear:
/// the platform refunds it if the customer paid and closes it otherwise.
///
/// - `req_seq`: this revoke's own serial (NULL/`""`: generated).
/// - `ori_seq`: the payment's `req_seq`; not NULL.
/// - `channel`, `auth_code`: at least one is required (`"W"`, `"A"`, `"Q"`,
///   `"Y"`; the payment code used). Either may be NULL/`""`.
/// - `out`: caller-owned `ystpay_revoke_result`, written only on `YSTPAY_OK`;
///   `out->outcome` is `YSTPAY_OUTCOME_REVOKED` when the platform agreed.
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_revoke_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_revoke(
    client: *const ystpay_client,
    req_seq: *const c_char,
    ori_seq: *const c_char,
    channel: *const c_char,
    auth_code: *const c_char,
    out: *mut ystpay_revoke_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            RevokeRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                ori_seq: text::required(e, ori_seq, "ori_seq")?,
                channel: text::optional(e, channel, "channel")?.map(|s| Channel::from_code(&s)),
                auth_code: text::optional(e, auth_code, "auth_code")?.map(PaymentCode::new),
            }
        };
        let expect = Expected::default();
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = revoke_record(e, &req.req_seq, &a, outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 5.1 扫码支付 — create a QR-code order: show `out->pay_url`
/// as a QR code, then poll `ystpay_native_query` (or wait for the
/// notification) until the outcome is no longer `WAITING`.
///
/// - `req_seq`: the order's serial (NULL/`""`: generated).
/// - `total_fee`: fen, 1 to 9999999999.
/// - `expire_seconds`: how long the code stays payable, 300 to 1800, or 0
///   for the platform's default.
/// - `channel`: `"W"` or `"A"`; not NULL.
/// - `out`: caller-owned `ystpay_order_result`, written only on `YSTPAY_OK`.
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_order_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_native_pay(
    client: *const ystpay_client,
    req_seq: *const c_char,
    total_fee: i64,
    expire_seconds: i32,
    channel: *const c_char,
    out: *mut ystpay_order_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            NativePayRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                total_fee,
                expire_time: (expire_seconds != 0).then_some(i64::from(expire_seconds)),
                channel: Channel::from_code(&text::required(e, channel, "channel")?),
            }
        };
        let expect = Expected::new(total_fee, None);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = order_record(e, &req.req_seq, (&a).into(), outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 5.2 查询订单 — the state of a QR-code, JS or H5 order (also
/// 6.2, 7.2).
///
/// - `req_seq`: this query's own serial (NULL/`""`: generated).
/// - `ori_seq`: the order's `req_seq`; not NULL.
/// - `channel`: `"W"`, `"A"`, or NULL/`""`.
/// - `out`: caller-owned `ystpay_order_result`, written only on `YSTPAY_OK`.
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_order_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_native_query(
    client: *const ystpay_client,
    req_seq: *const c_char,
    ori_seq: *const c_char,
    channel: *const c_char,
    out: *mut ystpay_order_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            NativeQueryRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                channel: text::optional(e, channel, "channel")?.map(|s| Channel::from_code(&s)),
                ori_seq: text::required(e, ori_seq, "ori_seq")?,
            }
        };
        let expect = c.register.expected_for(&req.ori_seq);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = order_record(e, &req.req_seq, (&a).into(), outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 6.1 JS 支付 — create an order paid inside the WeChat or
/// Alipay app's browser; hand `out->signature_info` to the JS payment API.
///
/// - `req_seq`: the order's serial (NULL/`""`: generated).
/// - `total_fee`: fen, 1 to 9999999999.
/// - `channel`: `"W"` or `"A"`; not NULL.
/// - `subopen_id`: WeChat openID / Alipay userID (at most 32); not NULL.
/// - `out`: caller-owned `ystpay_order_result`, written only on `YSTPAY_OK`.
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_order_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_js_pay(
    client: *const ystpay_client,
    req_seq: *const c_char,
    total_fee: i64,
    channel: *const c_char,
    subopen_id: *const c_char,
    out: *mut ystpay_order_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            JsPayRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                total_fee,
                channel: Channel::from_code(&text::required(e, channel, "channel")?),
                subopen_id: text::required(e, subopen_id, "subopen_id")?,
            }
        };
        let expect = Expected::new(total_fee, None);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = order_record(e, &req.req_seq, (&a).into(), outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** 7.1 H5 支付 — create an order paid from a phone's ordinary
/// browser; send the browser to `out->pay_url` (the seed's `pay_info`).
///
/// - `req_seq`: the order's serial (NULL/`""`: generated).
/// - `total_fee`: fen, 1 to 9999999999.
/// - `channel`: `"W"` or `"A"`; not NULL.
/// - `ip`: the customer's public IPv4; required for `"W"`, else NULL/`""`.
/// - `redirect_url`: where the browser returns (at most 256); not NULL.
/// - `out`: caller-owned `ystpay_order_result`, written only on `YSTPAY_OK`.
///
/// Thread-safe.
///
/// # Safety
/// Strings NUL-terminated; `out` a writable `ystpay_order_result`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_h5_pay(
    client: *const ystpay_client,
    req_seq: *const c_char,
    total_fee: i64,
    channel: *const c_char,
    ip: *const c_char,
    redirect_url: *const c_char,
    out: *mut ystpay_order_result,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = out_record!(out);
        let e = c.enc;
        // SAFETY: caller contract.
        let mut req = unsafe {
            H5PayRequest {
                req_seq: req_seq_arg(e, req_seq)?,
                total_fee,
                channel: Channel::from_code(&text::required(e, channel, "channel")?),
                ip: text::optional(e, ip, "ip")?,
                redirect_url: text::required(e, redirect_url, "redirect_url")?,
            }
        };
        let expect = Expected::new(total_fee, None);
        let (a, outcome) = answer(c.register.send(&mut req, &expect), &expect)?;
        let rec = order_record(e, &req.req_seq, (&a).into(), outcome)?;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

use super::client::ystpay_client;

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: Option<Status>) -> Result<PayResponse, Error> {
        Err(Error::Refused(Refusal {
            code: "E20001".into(),
            msg: "余额不足".into(),
            status,
            trans_seq: Some("123".into()),
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
            trans_seq: Some("T1".into()),
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
