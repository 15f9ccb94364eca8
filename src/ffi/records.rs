//! The fixed-layout records that carry answers to the caller (and product
//! lines from it).
//!
//! One model everywhere: the caller owns the record (on its stack, in a
//! Delphi record, a PowerBuilder structure, a C# struct), sets
//! `struct_size`, passes its address, and reads inline NUL-terminated
//! `char` arrays. The library never allocates anything the caller must
//! free. Each array is sized from the platform API's field length: up to
//! three bytes per character (UTF-8; GBK needs at most two) plus the NUL,
//! rounded up. Identifiers (`req_seq`, `trans_seq`, ...) always fit whole or
//! the call fails; display text that does not fit is cut at a character
//! boundary and `truncated` is set to 1. The exception is a settle call's
//! `ystpay_settlement`: it is written after requests may have left, when
//! failing would wrongly say nothing was sent, so everything in it that
//! does not fit, identifiers too, is cut and `truncated` set.
//!
//! Layouts contain only `int32_t`, `int64_t` (at offsets that are multiples
//! of 8) and `char` arrays, and every record's size is a multiple of 8, so
//! the layout is the same for every compiler and platform, 32- or 64-bit.
//! Fees are in fen; `-1` means "not in the answer".

use std::os::raw::c_char;

use super::codes::*;
use super::error::Failure;

/// Bytes of a serial-number field (`req_seq`, `trans_seq`, `refund_seq`:
/// String(V20)).
pub const YSTPAY_SEQ_SIZE: usize = 64;
/// Bytes of a one-letter field (`result`, `channel`: String(F1)).
pub const YSTPAY_FLAG_SIZE: usize = 4;
/// Bytes of the platform's response code (`code`: String(F6), e.g. `E11000`).
pub const YSTPAY_CODE_SIZE: usize = 24;
/// Bytes of the platform's message (`msg`: String(V100)).
pub const YSTPAY_MSG_SIZE: usize = 304;
/// Bytes of a channel name (`channel_name`: String(V10)).
pub const YSTPAY_CHANNEL_NAME_SIZE: usize = 32;
/// Bytes of a raw status (`status`: String(V20)).
pub const YSTPAY_STATUS_SIZE: usize = 64;
/// Bytes of a time (`pay_time`, `server_time`: String(F19), with
/// milliseconds 23 characters).
pub const YSTPAY_TIME_SIZE: usize = 64;
/// Bytes of `promotion_detail` (String(V500)).
pub const YSTPAY_PROMOTION_SIZE: usize = 1504;
/// Bytes of a long field (`pay_url`, `pay_info`, `signature_info`:
/// String(V2000)).
pub const YSTPAY_LONG_SIZE: usize = 6004;
/// Bytes of the channel's own transaction id in a notification.
pub const YSTPAY_EXT_ID_SIZE: usize = 128;
/// Most receipt lines a record holds (`receipts`); more set `truncated`.
pub const YSTPAY_RECEIPT_LINES: usize = 64;
/// Bytes of one receipt line (42 Chinese characters in UTF-8).
pub const YSTPAY_RECEIPT_LINE_SIZE: usize = 128;
/// Bytes of `goodsId` in a product line (String(V50)).
pub const YSTPAY_GOODS_ID_SIZE: usize = 152;
/// Bytes of `goodsName` in a product line (String(V200)).
pub const YSTPAY_GOODS_NAME_SIZE: usize = 608;
/// Bytes of `quantity` in a product line (Number(V10), decimal text).
pub const YSTPAY_QUANTITY_SIZE: usize = 32;

/// `sizeof(ystpay_payment_result)`: the value of its `struct_size`.
pub const YSTPAY_PAYMENT_RESULT_SIZE: u32 = 10424;
/// `sizeof(ystpay_refund_result)`: the value of its `struct_size`.
pub const YSTPAY_REFUND_RESULT_SIZE: u32 = 8864;
/// `sizeof(ystpay_revoke_result)`: the value of its `struct_size`.
pub const YSTPAY_REVOKE_RESULT_SIZE: u32 = 576;
/// `sizeof(ystpay_order_result)`: the value of its `struct_size`.
pub const YSTPAY_ORDER_RESULT_SIZE: u32 = 20928;
/// `sizeof(ystpay_notice)`: the value of its `struct_size`.
pub const YSTPAY_NOTICE_SIZE: u32 = 480;
/// `sizeof(ystpay_prod_item)`: the value of its `struct_size`.
pub const YSTPAY_PROD_ITEM_SIZE: u32 = 816;

/// Answer to a barcode payment (`ystpay_pay`, 4.1) or its query
/// (`ystpay_query_pay`, 4.2). Caller-owned; set `struct_size` to
/// `sizeof(ystpay_payment_result)` (`YSTPAY_PAYMENT_RESULT_SIZE`) before the call.
#[repr(C)]
pub struct ystpay_payment_result {
    /// In: `sizeof(ystpay_payment_result)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_OUTCOME_*`: what happened to the payment.
    pub outcome: i32,
    /// `total_fee`: amount in fen, or -1.
    pub total_fee: i64,
    /// `cash_fee`: paid in cash (fen), or -1.
    pub cash_fee: i64,
    /// `coupon_fee`: paid by coupons (fen), or -1.
    pub coupon_fee: i64,
    /// 1 when a text field or the receipt was cut to fit, else 0.
    pub truncated: i32,
    /// Number of lines used in `receipt_lines`.
    pub receipt_count: i32,
    /// `result`: `"Y"`, `"N"` (refused), or `""` when the answer had none.
    pub result: [c_char; YSTPAY_FLAG_SIZE],
    /// `channel`: `"W"` WeChat, `"A"` Alipay, `"Q"` QQ, `"Y"` BestPay, or `""`.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// `code`: the platform's response code, e.g. `"E11000"`.
    pub code: [c_char; YSTPAY_CODE_SIZE],
    /// The request's `req_seq` (the generated one when none was passed):
    /// query or revoke with it.
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `trans_seq`: the platform's order number; refunds need it.
    pub trans_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `status` as the platform sent it (`"S"`, `"W"`, `"F"`, ...).
    pub status: [c_char; YSTPAY_STATUS_SIZE],
    /// `channel_name`, e.g. `"微支付"`.
    pub channel_name: [c_char; YSTPAY_CHANNEL_NAME_SIZE],
    /// `pay_time`: the reconciliation time, `"yyyy-MM-dd HH:mm:ss"`.
    pub pay_time: [c_char; YSTPAY_TIME_SIZE],
    /// `server_time`.
    pub server_time: [c_char; YSTPAY_TIME_SIZE],
    /// `msg`: the platform's words about this request.
    pub msg: [c_char; YSTPAY_MSG_SIZE],
    /// `promotion_detail`: discounts, as the platform sent them.
    pub promotion_detail: [c_char; YSTPAY_PROMOTION_SIZE],
    /// `receipts`: lines to print, `receipt_lines[0]` to
    /// `receipt_lines[receipt_count - 1]`.
    pub receipt_lines: [[c_char; YSTPAY_RECEIPT_LINE_SIZE]; YSTPAY_RECEIPT_LINES],
}

/// Answer to a refund (`ystpay_refund`, 4.3) or its query
/// (`ystpay_query_refund`, 4.4). Caller-owned; set `struct_size` to
/// `sizeof(ystpay_refund_result)` (`YSTPAY_REFUND_RESULT_SIZE`) before the call.
#[repr(C)]
pub struct ystpay_refund_result {
    /// In: `sizeof(ystpay_refund_result)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_OUTCOME_*`: `SUCCESS` refunded, `WAITING` in progress,
    /// `FAILED` refused with status F, `UNKNOWN` otherwise.
    pub outcome: i32,
    /// `total_fee`: the order's amount (fen), or -1.
    pub total_fee: i64,
    /// `refund_fee`: amount refunded (fen), or -1.
    pub refund_fee: i64,
    /// `cash_fee`: cash returned (fen), or -1.
    pub cash_fee: i64,
    /// `coupon_fee`: coupon value returned (fen), or -1.
    pub coupon_fee: i64,
    /// 1 when a text field or the receipt was cut to fit, else 0.
    pub truncated: i32,
    /// Number of lines used in `receipt_lines`.
    pub receipt_count: i32,
    /// `result`: `"Y"`, `"N"` (refused), or `""`.
    pub result: [c_char; YSTPAY_FLAG_SIZE],
    /// `channel`, or `""`.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// `code`: the platform's response code.
    pub code: [c_char; YSTPAY_CODE_SIZE],
    /// The request's `req_seq` (generated when none was passed).
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `refund_seq`: the platform's refund number.
    pub refund_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `status` as the platform sent it.
    pub status: [c_char; YSTPAY_STATUS_SIZE],
    /// `channel_name`.
    pub channel_name: [c_char; YSTPAY_CHANNEL_NAME_SIZE],
    /// `server_time`.
    pub server_time: [c_char; YSTPAY_TIME_SIZE],
    /// `msg`: the platform's words.
    pub msg: [c_char; YSTPAY_MSG_SIZE],
    /// `receipts`: refund slip lines.
    pub receipt_lines: [[c_char; YSTPAY_RECEIPT_LINE_SIZE]; YSTPAY_RECEIPT_LINES],
}

/// Answer to a revoke (`ystpay_revoke`, 4.5). Caller-owned; set
/// `struct_size` to `sizeof(ystpay_revoke_result)` (`YSTPAY_REVOKE_RESULT_SIZE`).
#[repr(C)]
pub struct ystpay_revoke_result {
    /// In: `sizeof(ystpay_revoke_result)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_OUTCOME_REVOKED` when the platform answered `result=Y`;
    /// otherwise from `status` (usually `UNKNOWN`: query the payment).
    pub outcome: i32,
    /// 1 when a text field was cut to fit, else 0.
    pub truncated: i32,
    /// `result`: `"Y"` revoked, `"N"` refused, or `""`.
    pub result: [c_char; YSTPAY_FLAG_SIZE],
    /// `channel`, or `""`.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// `code`: the platform's response code.
    pub code: [c_char; YSTPAY_CODE_SIZE],
    /// The revoke's own `req_seq` (generated when none was passed).
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `status` as the platform sent it, or `""`.
    pub status: [c_char; YSTPAY_STATUS_SIZE],
    /// `channel_name`.
    pub channel_name: [c_char; YSTPAY_CHANNEL_NAME_SIZE],
    /// `server_time`.
    pub server_time: [c_char; YSTPAY_TIME_SIZE],
    /// `msg`: the platform's words.
    pub msg: [c_char; YSTPAY_MSG_SIZE],
    /// Always 0 (keeps the size a multiple of 8).
    pub reserved: i32,
}

/// Answer to a QR-code, JS or H5 order (`ystpay_native_pay` 5.1,
/// `ystpay_js_pay` 6.1, `ystpay_h5_pay` 7.1) or its query
/// (`ystpay_native_query`, 5.2). Caller-owned; set `struct_size` to
/// `sizeof(ystpay_order_result)` (`YSTPAY_ORDER_RESULT_SIZE`).
#[repr(C)]
pub struct ystpay_order_result {
    /// In: `sizeof(ystpay_order_result)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_OUTCOME_*`: a new order is `WAITING` (for the customer).
    pub outcome: i32,
    /// `total_fee` (fen), or -1.
    pub total_fee: i64,
    /// `cash_fee` (fen), or -1.
    pub cash_fee: i64,
    /// `coupon_fee` (fen), or -1.
    pub coupon_fee: i64,
    /// 1 when a text field or the receipt was cut to fit, else 0.
    pub truncated: i32,
    /// Number of lines used in `receipt_lines`.
    pub receipt_count: i32,
    /// `result`: `"Y"`, `"N"` (refused), or `""`.
    pub result: [c_char; YSTPAY_FLAG_SIZE],
    /// `channel`, or `""`.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// `code`: the platform's response code.
    pub code: [c_char; YSTPAY_CODE_SIZE],
    /// The request's `req_seq` (generated when none was passed).
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `trans_seq`: the platform's order number.
    pub trans_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `status` as the platform sent it.
    pub status: [c_char; YSTPAY_STATUS_SIZE],
    /// `channel_name`.
    pub channel_name: [c_char; YSTPAY_CHANNEL_NAME_SIZE],
    /// `pay_time` once paid.
    pub pay_time: [c_char; YSTPAY_TIME_SIZE],
    /// `server_time`.
    pub server_time: [c_char; YSTPAY_TIME_SIZE],
    /// `msg`: the platform's words.
    pub msg: [c_char; YSTPAY_MSG_SIZE],
    /// What starts the payment: 5.1/5.2 `pay_url` (encode it as a QR code),
    /// 6.1 `pay_url` (WeChat prepay_id / Alipay tradeNo), 7.1 `pay_info`
    /// (open it in the phone's browser).
    pub pay_url: [c_char; YSTPAY_LONG_SIZE],
    /// 6.1 `signature_info`: JSON to hand to the WeChat/Alipay JS API; `""`
    /// for other orders.
    pub signature_info: [c_char; YSTPAY_LONG_SIZE],
    /// `receipts`: lines to print.
    pub receipt_lines: [[c_char; YSTPAY_RECEIPT_LINE_SIZE]; YSTPAY_RECEIPT_LINES],
}

/// A payment notification (5.5) read by `ystpay_notice_read`: only
/// notifications that are signed or confirmed by the platform come out.
/// Caller-owned; set `struct_size` to `sizeof(ystpay_notice)`
/// (`YSTPAY_NOTICE_SIZE`).
#[repr(C)]
pub struct ystpay_notice {
    /// In: `sizeof(ystpay_notice)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_OUTCOME_SUCCESS` for a paid order (a notification without
    /// `status` announces a payment, API §5.5).
    pub outcome: i32,
    /// `total_fee` (fen), or -1.
    pub total_fee: i64,
    /// `YSTPAY_VERIFIED_SIGNATURE` or `YSTPAY_VERIFIED_QUERY`: how the
    /// notification was verified.
    pub verified: i32,
    /// 1 when a text field was cut to fit, else 0.
    pub truncated: i32,
    /// `channel`: `"W"` or `"A"`.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// Always 0 (keeps the size a multiple of 8).
    pub reserved: i32,
    /// `req_seq`: the order's `req_seq` (the API document's example calls it `req`).
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `trans_seq`: the platform's order number.
    pub trans_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `ext_trans_id`: the channel's own transaction id, or `""`.
    pub ext_trans_id: [c_char; YSTPAY_EXT_ID_SIZE],
    /// `status` as sent, or `""`.
    pub status: [c_char; YSTPAY_STATUS_SIZE],
    /// `pay_time`.
    pub pay_time: [c_char; YSTPAY_TIME_SIZE],
    /// `server_time`, or `""`.
    pub server_time: [c_char; YSTPAY_TIME_SIZE],
}

/// One product line of a payment (`prod_details`, 4.1), filled by the
/// caller and passed to `ystpay_pay` as an array. Set `struct_size` to
/// `sizeof(ystpay_prod_item)` (`YSTPAY_PROD_ITEM_SIZE`) in every element;
/// every string must end with a NUL inside its array.
#[repr(C)]
pub struct ystpay_prod_item {
    /// `sizeof(ystpay_prod_item)`.
    pub struct_size: u32,
    /// Must be 0.
    pub reserved: i32,
    /// `price`: unit price in fen (sent as yuan, `"17.60"`), >= 0.
    pub price_fen: i64,
    /// `goodsFee`: amount to pay for this line in fen, or -1 to leave it out.
    pub goods_fee_fen: i64,
    /// `goodsId`: the barcode (at most 50 characters).
    pub goods_id: [c_char; YSTPAY_GOODS_ID_SIZE],
    /// `goodsName` (at most 200 characters).
    pub goods_name: [c_char; YSTPAY_GOODS_NAME_SIZE],
    /// `quantity`: decimal text such as `"1"` or `"0.5"`.
    pub quantity: [c_char; YSTPAY_QUANTITY_SIZE],
}

/// Bytes of free text written by the library (`detail`).
pub const YSTPAY_DETAIL_SIZE: usize = 304;
/// Bytes of a business day, `"YYYY-MM-DD"` (China time).
pub const YSTPAY_DAY_SIZE: usize = 16;

/// `sizeof(ystpay_settlement)`: the value of its `struct_size`.
pub const YSTPAY_SETTLEMENT_SIZE: u32 = 8816;
/// `sizeof(ystpay_recovery_report)`: the value of its `struct_size`.
pub const YSTPAY_RECOVERY_REPORT_SIZE: u32 = 32;
/// `sizeof(ystpay_recovery_entry)`: the value of its `struct_size`.
pub const YSTPAY_RECOVERY_ENTRY_SIZE: u32 = 400;
/// `sizeof(ystpay_journal_entry)`: the value of its `struct_size`.
pub const YSTPAY_JOURNAL_ENTRY_SIZE: u32 = 752;
/// `sizeof(ystpay_day_totals)`: the value of its `struct_size`.
pub const YSTPAY_DAY_TOTALS_SIZE: u32 = 56;
/// `sizeof(ystpay_total_line)`: the value of its `struct_size`.
pub const YSTPAY_TOTAL_LINE_SIZE: u32 = 32;

/// The final answer of a settle call (`ystpay_settle_pay`,
/// `ystpay_settle_refund`, `ystpay_settle_revoke`, `ystpay_settle_order`).
/// Caller-owned; set `struct_size` to `sizeof(ystpay_settlement)`
/// (`YSTPAY_SETTLEMENT_SIZE`) before the call.
#[repr(C)]
pub struct ystpay_settlement {
    /// In: `sizeof(ystpay_settlement)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_OUTCOME_PAID` (a refund: refunded), `YSTPAY_OUTCOME_FAILED`
    /// (the platform said so), `YSTPAY_OUTCOME_REVOKED` (money returned or
    /// never taken), `YSTPAY_OUTCOME_NOT_SENT` (nothing reached the
    /// platform: nothing charged, the journal closed it) or
    /// `YSTPAY_OUTCOME_UNKNOWN` (it may have arrived and no answer came by
    /// the deadline; the journal keeps it open, `ystpay_recover` settles it).
    pub outcome: i32,
    /// Amount in fen (a refund: the refund's amount).
    pub total_fee: i64,
    /// `YSTPAY_KIND_*`: what the operation is.
    pub kind: i32,
    /// `YSTPAY_STATE_*`: its state in the journal now.
    pub state: i32,
    /// 1 when a field or the receipt was cut to fit, else 0. A platform
    /// number is at most 20 digits and always fits; one cut here was kept
    /// by an older version's journal, and names no order: ask the platform
    /// by `req_seq` (`ystpay_query_pay`, `ystpay_query_refund`).
    pub truncated: i32,
    /// Number of lines used in `receipt_lines`.
    pub receipt_count: i32,
    /// Channel letter (`"W"`, `"A"`, ...) once known, else `""`.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// 1 when the journal could not be updated at the end (the outcome is
    /// still true; the operation stays open there and recovery settles it).
    pub journal_failed: i32,
    /// The operation's `req_seq` (its key in the journal).
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// The platform's order number once known (a refund: the refunded
    /// order's); refunds need it.
    pub trans_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// A refund: the platform's refund number, else `""`.
    pub refund_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// `pay_time` from the platform when paid, else `""`.
    pub pay_time: [c_char; YSTPAY_TIME_SIZE],
    /// The platform's code of the deciding answer, if any.
    pub code: [c_char; YSTPAY_CODE_SIZE],
    /// In words: the platform's message, or why the flow ended.
    pub detail: [c_char; YSTPAY_DETAIL_SIZE],
    /// Receipt lines to print, when the platform sent them.
    pub receipt_lines: [[c_char; YSTPAY_RECEIPT_LINE_SIZE]; YSTPAY_RECEIPT_LINES],
}

/// What `ystpay_recover` did. Caller-owned; set `struct_size` to
/// `sizeof(ystpay_recovery_report)` (`YSTPAY_RECOVERY_REPORT_SIZE`).
#[repr(C)]
pub struct ystpay_recovery_report {
    /// In: `sizeof(ystpay_recovery_report)`. Left unchanged.
    pub struct_size: u32,
    /// Open operations settled now (`paid + failed + revoked`).
    pub settled: i32,
    /// Operations still open: the platform unreachable (recovery stopped;
    /// `YSTPAY_RECOVERED_UNREACHABLE`), an order the customer may still
    /// pay, a refund still in progress, an operation in conflict.
    pub still_open: i32,
    /// Operations left alone because another flow is settling them.
    pub busy_elsewhere: i32,
    /// Of `settled`: paid (refunds: refunded).
    pub paid: i32,
    /// Of `settled`: failed (the platform said so) or closed.
    pub failed: i32,
    /// Of `settled`: revoked.
    pub revoked: i32,
    /// Every operation recovery touched (settled, still open, or left to a
    /// live flow): read each with `ystpay_recovery_get`, index 0 to
    /// `entry_count - 1`.
    pub entry_count: i32,
}

/// One operation a recovery touched (`ystpay_recovery_get`): its serial,
/// kind and state after recovery. Caller-owned; set `struct_size` to
/// `sizeof(ystpay_recovery_entry)` (`YSTPAY_RECOVERY_ENTRY_SIZE`).
#[repr(C)]
pub struct ystpay_recovery_entry {
    /// In: `sizeof(ystpay_recovery_entry)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_KIND_*`.
    pub kind: i32,
    /// `YSTPAY_STATE_*` after recovery.
    pub state: i32,
    /// `YSTPAY_OUTCOME_*` that state stands for (`UNKNOWN` while open).
    pub outcome: i32,
    /// `YSTPAY_RECOVERED_*`: settled now, still open, or left to a live flow.
    pub disposition: i32,
    /// 1 when `detail` was cut to fit, else 0.
    pub truncated: i32,
    /// Amount in fen.
    pub total_fee: i64,
    /// Its `req_seq`.
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// Why it ended so, or what is still awaited, in words.
    pub detail: [c_char; YSTPAY_DETAIL_SIZE],
}

/// One operation of the journal (`ystpay_journal_get`,
/// `ystpay_journal_find`, `ystpay_journal_refund_get`). Caller-owned; set
/// `struct_size` to `sizeof(ystpay_journal_entry)` (`YSTPAY_JOURNAL_ENTRY_SIZE`).
#[repr(C)]
pub struct ystpay_journal_entry {
    /// In: `sizeof(ystpay_journal_entry)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_KIND_*`.
    pub kind: i32,
    /// `YSTPAY_STATE_*`.
    pub state: i32,
    /// `YSTPAY_OUTCOME_*` the state stands for (`UNKNOWN` while open;
    /// a closed order is `FAILED`).
    pub outcome: i32,
    /// Amount in fen (a refund: the refund's amount).
    pub total_fee: i64,
    /// When it was recorded (Unix ms).
    pub created_ms: i64,
    /// When it last changed (Unix ms).
    pub updated_ms: i64,
    /// 1 when a text field was cut to fit, else 0.
    pub truncated: i32,
    /// Channel letter once known, else `""`.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// Its `req_seq`.
    pub req_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// The platform's order number once known.
    pub trans_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// A refund: the refunded payment's `req_seq`, else `""`.
    pub parent_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// A refund: the platform's refund number, else `""`.
    pub refund_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// The serial of its revoke, once one was decided, else `""`.
    pub revoke_seq: [c_char; YSTPAY_SEQ_SIZE],
    /// The payment code, masked (first and last four characters).
    pub auth_code_masked: [c_char; YSTPAY_SEQ_SIZE],
    /// Its business day, `"YYYY-MM-DD"` (China time).
    pub day: [c_char; YSTPAY_DAY_SIZE],
    /// The last thing learned, in words.
    pub detail: [c_char; YSTPAY_DETAIL_SIZE],
}

/// The closing report of one business day (`ystpay_journal_totals`), all
/// devices of the journal. Caller-owned; set `struct_size` to
/// `sizeof(ystpay_day_totals)` (`YSTPAY_DAY_TOTALS_SIZE`).
#[repr(C)]
pub struct ystpay_day_totals {
    /// In: `sizeof(ystpay_day_totals)`. Left unchanged.
    pub struct_size: u32,
    /// Number of (kind, channel, state) lines: read them with
    /// `ystpay_journal_total_line`, index 0 to `line_count - 1`.
    pub line_count: i32,
    /// Money taken: paid payments and orders (fen).
    pub paid_fee: i64,
    /// Money returned by refunds that went through (fen).
    pub refunded_fee: i64,
    /// `paid_fee - refunded_fee` (fen).
    pub net_fee: i64,
    /// Operations still open (outcome not yet known).
    pub open_count: i64,
    /// The day, `"YYYY-MM-DD"`.
    pub day: [c_char; YSTPAY_DAY_SIZE],
}

/// One line of a day's totals: operations of one kind, channel and state
/// (`ystpay_journal_total_line`). Caller-owned; set `struct_size` to
/// `sizeof(ystpay_total_line)` (`YSTPAY_TOTAL_LINE_SIZE`).
#[repr(C)]
pub struct ystpay_total_line {
    /// In: `sizeof(ystpay_total_line)`. Left unchanged.
    pub struct_size: u32,
    /// `YSTPAY_KIND_*`.
    pub kind: i32,
    /// `YSTPAY_STATE_*`.
    pub state: i32,
    /// Channel letter, `""` when never learned.
    pub channel: [c_char; YSTPAY_FLAG_SIZE],
    /// Number of operations.
    pub count: i64,
    /// Sum of their amounts (fen).
    pub fee: i64,
}

/// A caller-owned record with `struct_size` first.
pub trait Record: Sized {
    /// The `struct_size` this version expects.
    const SIZE: u32;
    /// The record's C name, for messages.
    const NAME: &'static str;
}

macro_rules! record {
    ($t:ident, $size:ident) => {
        impl Record for $t {
            const SIZE: u32 = $size;
            const NAME: &'static str = stringify!($t);
        }
        const _: () = assert!(std::mem::size_of::<$t>() == $size as usize);
        const _: () = assert!(std::mem::size_of::<$t>() % 8 == 0);
    };
}

record!(ystpay_payment_result, YSTPAY_PAYMENT_RESULT_SIZE);
record!(ystpay_refund_result, YSTPAY_REFUND_RESULT_SIZE);
record!(ystpay_revoke_result, YSTPAY_REVOKE_RESULT_SIZE);
record!(ystpay_order_result, YSTPAY_ORDER_RESULT_SIZE);
record!(ystpay_notice, YSTPAY_NOTICE_SIZE);
record!(ystpay_prod_item, YSTPAY_PROD_ITEM_SIZE);
record!(ystpay_settlement, YSTPAY_SETTLEMENT_SIZE);
record!(ystpay_recovery_report, YSTPAY_RECOVERY_REPORT_SIZE);
record!(ystpay_recovery_entry, YSTPAY_RECOVERY_ENTRY_SIZE);
record!(ystpay_journal_entry, YSTPAY_JOURNAL_ENTRY_SIZE);
record!(ystpay_day_totals, YSTPAY_DAY_TOTALS_SIZE);
record!(ystpay_total_line, YSTPAY_TOTAL_LINE_SIZE);

/// Checks the `struct_size` at `p` (which must not be NULL).
///
/// # Safety
/// `p` points to at least four readable bytes.
pub unsafe fn check_size<T: Record>(p: *const T) -> Result<(), Failure> {
    // SAFETY: caller contract; the record may be unaligned (packed records).
    let size = unsafe { p.cast::<u32>().read_unaligned() };
    if size != T::SIZE {
        return Err(Failure::new(
            YSTPAY_ERR_STRUCT_SIZE,
            format!(
                "{}.struct_size is {size}, this library expects {}",
                T::NAME,
                T::SIZE
            ),
        ));
    }
    Ok(())
}

/// A zeroed record with its `struct_size` set, built on the heap (the
/// largest is about 20 KiB). The zeroed allocation is made in place
/// (`calloc`-like), never built on the stack and copied.
pub fn blank<T: Record>() -> Box<T> {
    let layout = std::alloc::Layout::new::<T>();
    // SAFETY: records are never zero-sized (each starts with `struct_size`).
    let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<T>();
    if p.is_null() {
        std::alloc::handle_alloc_error(layout);
    }
    // SAFETY: `p` was allocated by the global allocator with `T`'s layout, and
    // records hold only integers and char arrays, for which all-zero is valid.
    let mut b: Box<T> = unsafe { Box::from_raw(p) };
    // SAFETY: every record starts with `struct_size: u32`.
    unsafe { (&mut *b as *mut T).cast::<u32>().write(T::SIZE) };
    b
}

/// Copies a finished record to the caller (the only write to caller memory).
///
/// # Safety
/// `p` points to a writable record of type `T` (checked with [`check_size`]).
pub unsafe fn deliver<T: Record>(p: *mut T, rec: &T) {
    // SAFETY: caller contract; a byte copy tolerates unaligned records.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (rec as *const T).cast::<u8>(),
            p.cast::<u8>(),
            std::mem::size_of::<T>(),
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn int64_fields_sit_on_multiples_of_8() {
        assert_eq!(offset_of!(ystpay_payment_result, total_fee), 8);
        assert_eq!(offset_of!(ystpay_refund_result, coupon_fee), 32);
        assert_eq!(offset_of!(ystpay_order_result, coupon_fee), 24);
        assert_eq!(offset_of!(ystpay_notice, total_fee), 8);
        assert_eq!(offset_of!(ystpay_prod_item, goods_fee_fen), 16);
        assert_eq!(offset_of!(ystpay_settlement, total_fee), 8);
        assert_eq!(offset_of!(ystpay_journal_entry, updated_ms), 32);
        assert_eq!(offset_of!(ystpay_day_totals, open_count), 32);
        assert_eq!(offset_of!(ystpay_total_line, fee), 24);
    }

    #[test]
    fn blank_records_carry_their_size() {
        let r = blank::<ystpay_order_result>();
        assert_eq!(r.struct_size, YSTPAY_ORDER_RESULT_SIZE);
        assert_eq!(r.outcome, YSTPAY_OUTCOME_UNKNOWN);
    }
}
