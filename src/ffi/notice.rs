//! Payment notifications (API §5.5): reading one the platform posted to the
//! shop's server, and the reply that stops the platform's retries.

use std::os::raw::c_char;

use super::client::ystpay_client;
use super::codes::*;
use super::error::{guard, Failure};
use super::records::*;
use super::text::{self, Writer};
use crate::client::NoticeProof;
use crate::reading::{read, Reading};

/// Most bytes of a notification body (an answer is a few KiB).
const MAX_BODY: i32 = 256 * 1024;

/// **Method.** Reads a payment notification body exactly as the platform
/// POSTed it, in either form the platform may send: a signed `<response>`
/// envelope (its signature must verify) or a plain `<data>` document (then
/// the order is confirmed by querying the platform, 5.2, before it is
/// believed; this call then goes to the network).
///
/// - `body`, `body_len`: the raw HTTP body bytes (UTF-8 XML, not converted
///   to the client's encoding); `body_len` < 0 means `body` is
///   NUL-terminated. Not NULL.
/// - `out`: caller-owned `ystpay_notice`, written only on `YSTPAY_OK`.
///
/// Returns `YSTPAY_OK` only for a verified notification: signed
/// (`out->verified == YSTPAY_VERIFIED_SIGNATURE`) or confirmed
/// (`YSTPAY_VERIFIED_QUERY`). `YSTPAY_ERR_BAD_SIGNATURE`,
/// `YSTPAY_ERR_UNCONFIRMED` (the query does not prove it paid),
/// `YSTPAY_ERR_REFUSED` (the platform refused the confirming query: it does
/// not know the order), `YSTPAY_ERR_REJECTED` (unreadable), or a network
/// code (the query could not be made): do not deliver goods. The platform repeats notifications: answer a duplicate
/// with `Y` too and act on it once (keyed by `trans_seq`). Thread-safe.
///
/// # Safety
/// `body` points to `body_len` readable bytes (or a NUL-terminated string
/// when `body_len` < 0); `out` is a writable `ystpay_notice`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_notice_read(
    client: *const ystpay_client,
    body: *const c_char,
    body_len: i32,
    out: *mut ystpay_notice,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        let out = non_null!(out);
        // SAFETY: non-NULL; caller passes a ystpay_notice.
        unsafe { check_size(out)? };
        let body = non_null!(body);
        let bytes: &[u8] = if body_len < 0 {
            // SAFETY: caller contract: NUL-terminated.
            unsafe { std::ffi::CStr::from_ptr(body) }.to_bytes()
        } else {
            // SAFETY: caller contract: body_len readable bytes.
            unsafe { std::slice::from_raw_parts(body.cast::<u8>(), body_len as usize) }
        };
        if bytes.len() > MAX_BODY as usize {
            return Err(Failure::new(
                YSTPAY_ERR_INVALID_ARGUMENT,
                format!("the notification body is larger than {MAX_BODY} bytes"),
            ));
        }
        let received = c.client().read_notice(bytes)?;
        let n = &received.notice;
        // A signed notice that says `F` or `W` is reported as it is; any
        // other must prove its order paid (`Client::prove_paid`: signed
        // `S` for the amount and order the journal records, else a query).
        let expect = c.register.expected_for(n.req_seq.as_deref().unwrap_or(""));
        let reading = read(n, &expect);
        let verified = match reading {
            Reading::Failed(_) | Reading::Waiting(_) if received.signed => {
                YSTPAY_VERIFIED_SIGNATURE
            }
            _ => match c.client().prove_paid(&received, &expect)? {
                NoticeProof::Signature => YSTPAY_VERIFIED_SIGNATURE,
                NoticeProof::Query => YSTPAY_VERIFIED_QUERY,
            },
        };
        let mut rec = blank::<ystpay_notice>();
        let mut w = Writer::new(c.enc);
        rec.verified = verified;
        // Proven paid, by the notice or by the platform's answer.
        rec.outcome = match reading {
            Reading::Failed(_) | Reading::Waiting(_) => money_code(reading.money()),
            _ => YSTPAY_OUTCOME_SUCCESS,
        };
        rec.total_fee = n.total_fee.unwrap_or(-1);
        w.opt_text(&mut rec.channel, n.channel.as_ref().map(|c| c.code()));
        w.id(
            &mut rec.req_seq,
            n.req_seq.as_deref().unwrap_or(""),
            "req_seq",
        )?;
        w.id(
            &mut rec.trans_seq,
            n.trans_seq.as_deref().unwrap_or(""),
            "trans_seq",
        )?;
        w.id(
            &mut rec.ext_trans_id,
            n.ext_trans_id.as_deref().unwrap_or(""),
            "ext_trans_id",
        )?;
        w.opt_text(
            &mut rec.status,
            n.status.as_ref().map(crate::protocol::Status::code),
        );
        w.opt_text(&mut rec.pay_time, n.pay_time.as_deref());
        w.opt_text(&mut rec.server_time, n.server_time.as_deref());
        rec.truncated = w.truncated as i32;
        // SAFETY: checked above.
        unsafe { deliver(out, &rec) };
        Ok(())
    })
}

/// **Method.** Writes the reply the platform expects to a notification
/// (5.5): `<data><result>Y</result><message>…</message></data>`. Reply
/// `accepted = 1` once the notification is handled (also for duplicates),
/// `0` to have the platform send it again later.
///
/// - `message`: a short text (at most 100 characters) in the client's
///   encoding, or NULL/`""` for `"成功"` / `"失败"`.
/// - `buf`, `buf_size`: caller buffer for the reply body, which is UTF-8 XML
///   whatever the client's encoding (it goes on the wire as is).
/// - `needed`: if not NULL, receives the bytes needed with the NUL.
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to
/// `buf`), `YSTPAY_ERR_INVALID_INPUT` (message too long or with control
/// characters), `YSTPAY_ERR_INVALID_ENCODING`, `YSTPAY_ERR_NULL_ARGUMENT`.
/// Nothing is sent. Thread-safe.
///
/// # Safety
/// `message` is NULL or NUL-terminated; `buf` has `buf_size` writable
/// bytes; `needed` is NULL or writable.
#[no_mangle]
pub unsafe extern "system" fn ystpay_notice_reply(
    client: *const ystpay_client,
    accepted: i32,
    message: *const c_char,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        let c = client_ref!(client);
        // SAFETY: caller contract.
        let message = unsafe { text::optional(c.enc, message, "message")? };
        let accepted = accepted != 0;
        let message = message.unwrap_or_else(|| if accepted { "成功" } else { "失败" }.into());
        crate::protocol::rules::required_text("message", &message, 100)?;
        let xml = crate::client::notice_reply(accepted, &message);
        // SAFETY: caller contract.
        unsafe { text::copy_out(xml.as_bytes(), buf, buf_size, needed) }
    })
}

impl From<crate::protocol::FieldError> for Failure {
    fn from(e: crate::protocol::FieldError) -> Self {
        Failure::new(YSTPAY_ERR_INVALID_INPUT, format!("invalid input: {e}"))
    }
}
