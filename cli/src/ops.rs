//! One function per platform interface: build the request from the
//! arguments, send it through the log, and describe the answer.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::json;
use ystpay::config::Encoding;
use ystpay::flow::{PayOrder, PollSchedule, Progress, SettleOptions};
use ystpay::protocol::messages::{
    H5PayRequest, JsPayRequest, NativePayRequest, NativePayResponse, NativeQueryRequest,
    PayRequest, PayResponse, QueryPayRequest, QueryRefundRequest, RefundRequest, RefundResponse,
    RevokeRequest,
};
use ystpay::protocol::types::{mask, parse_prod_details, yuan_to_fen};
use ystpay::protocol::{Channel, PaymentCode, Status};
use ystpay::qr::{BmpDepth, QrImage, TextStyle};
use ystpay::reading::{read, Expected, Reading};
use ystpay::receipt::{EscPosOptions, Receipt};

use crate::report::{yuan, Report, Verdict};
use crate::setup::Conn;

/// An amount: `--amount` in yuan or `--fee` in fen.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Amount {
    /// Amount in yuan, e.g. 12.50.
    #[arg(long, value_name = "YUAN")]
    pub amount: Option<String>,
    /// Amount in fen (分), e.g. 1250.
    #[arg(long, value_name = "FEN")]
    pub fee: Option<i64>,
}

impl Amount {
    /// The amount in fen.
    pub fn fen(&self) -> Result<i64, String> {
        match (&self.amount, self.fee) {
            (Some(y), _) => yuan_to_fen(y.trim()).ok_or_else(|| {
                format!("--amount must be yuan with at most two decimals, not '{y}'")
            }),
            (None, Some(f)) => Ok(f),
            (None, None) => Err("give --amount or --fee".into()),
        }
    }
}

/// A channel letter on the command line.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[value(rename_all = "UPPER")]
pub enum ChannelArg {
    /// WeChat Pay.
    W,
    /// Alipay.
    A,
    /// QQ Wallet.
    Q,
    /// BestPay.
    Y,
}

impl ChannelArg {
    /// The library's channel.
    pub fn channel(self) -> Channel {
        match self {
            ChannelArg::W => Channel::WeChat,
            ChannelArg::A => Channel::Alipay,
            ChannelArg::Q => Channel::Qq,
            ChannelArg::Y => Channel::BestPay,
        }
    }
}

/// How to write a receipt to a file.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptFormat {
    /// Text in the configured encoding (utf-8 or gbk), CRLF line ends.
    Text,
    /// ESC/POS bytes for a thermal printer (GBK, cut between copies).
    Escpos,
}

/// Where to write a receipt.
#[derive(Args, Debug, Clone, Default)]
pub struct ReceiptOut {
    /// Write the receipt to this file (e.g. a printer device or a spool file).
    #[arg(long, value_name = "FILE")]
    pub receipt_out: Option<PathBuf>,
    /// Format of --receipt-out.
    #[arg(long, value_enum, default_value = "text")]
    pub receipt_format: Option<ReceiptFormat>,
}

/// Where to write a QR code.
#[derive(Args, Debug, Clone, Default)]
pub struct QrOut {
    /// Write the QR code as PNG.
    #[arg(long, value_name = "FILE")]
    pub qr_png: Option<PathBuf>,
    /// Write the QR code as an uncompressed BMP (Delphi TImage, PowerBuilder picture control).
    #[arg(long, value_name = "FILE")]
    pub qr_bmp: Option<PathBuf>,
    /// Write the QR code as ESC/POS raster bytes (GS v 0) for a 58 mm printer.
    #[arg(long, value_name = "FILE")]
    pub qr_escpos: Option<PathBuf>,
    /// Pixels per module in PNG/BMP.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub qr_scale: u32,
    /// Do not draw the QR code in the terminal.
    #[arg(long)]
    pub no_qr: bool,
}

/// `pay` arguments.
#[derive(Args, Debug, Clone)]
pub struct PayArgs {
    #[command(flatten)]
    pub amount: Amount,
    /// The customer's payment code (auth_code), or `-` to read it from
    /// standard input (keeps it out of the process list).
    #[arg(long, value_name = "CODE")]
    pub code: String,
    /// Force a channel.
    #[arg(long, value_enum, ignore_case = true)]
    pub channel: Option<ChannelArg>,
    /// Our order number (default: a fresh one; not with --wait, which takes
    /// a fresh one and records it in the journal first).
    #[arg(long, value_name = "SEQ", conflicts_with = "wait")]
    pub req_seq: Option<String>,
    /// Product lines: a JSON array as in API §4.1 (goodsId, goodsName, price, quantity[, goodsFee]), or @FILE.
    #[arg(long, value_name = "JSON")]
    pub goods: Option<String>,
    /// Settle the payment with the payment flow: record it in the journal
    /// first, query while the customer enters a password, revoke after
    /// settle_deadline_s or when the outcome stays unclear. Ends PAID,
    /// FAILED, REVOKED or (platform unreachable) UNKNOWN.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: seconds between queries (default: the flow's adaptive
    /// schedule, often at first and less often later).
    #[arg(long, value_name = "S", requires = "wait")]
    pub interval: Option<f64>,
    #[command(flatten)]
    pub receipt: ReceiptOut,
}

/// The report of an order's creation (API §6.1, §7.1): created (`W`), or
/// what the answer proved instead.
fn created_report(op: &'static str, reading: &Reading, created: String) -> Report {
    match Verdict::of_reading(reading, Verdict::Paid) {
        Verdict::Waiting => Report::new(op, Verdict::Ok, created),
        other => Report::new(op, other, reading.words()),
    }
}

/// Reads a payment code argument (`-` = one line of standard input).
pub fn read_code(arg: &str) -> Result<String, String> {
    if arg != "-" {
        return Ok(arg.trim().to_string());
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the payment code from standard input: {e}"))?;
    let code = line.trim().to_string();
    if code.is_empty() {
        return Err("no payment code on standard input".into());
    }
    Ok(code)
}

fn channel_name(c: Option<&Channel>) -> &'static str {
    match c {
        Some(Channel::WeChat) => "WeChat Pay",
        Some(Channel::Alipay) => "Alipay",
        Some(Channel::Qq) => "QQ Wallet",
        Some(Channel::BestPay) => "BestPay",
        _ => "",
    }
}

/// Describes a payment answer, read for an operation that expects `expect`.
pub fn pay_report(
    op: &'static str,
    req_seq: &str,
    code: Option<&str>,
    r: &PayResponse,
    expect: &Expected,
) -> Report {
    let reading = read(r, expect);
    let verdict = Verdict::of_reading(&reading, Verdict::Paid);
    let fee = r.total_fee.map(yuan).unwrap_or_default();
    let headline = match verdict {
        Verdict::Paid => format!("{fee} {}", channel_name(r.channel.as_ref())),
        Verdict::Waiting => "the customer is still paying (entering a password?)".into(),
        Verdict::Failed => format!(
            "not paid: {}",
            r.head.msg.clone().unwrap_or_else(|| "status F".into())
        ),
        _ => reading.words(),
    };
    let mut rep = Report::new(op, verdict, headline.trim().to_string());
    rep.field("req_seq", req_seq);
    rep.field("auth_code", code.map(mask));
    rep.field("trans_seq", r.trans_seq.clone());
    rep.field("status", r.status.as_ref().map(|s| s.code().to_string()));
    rep.fee("total_fee", r.total_fee);
    rep.fee("cash_fee", r.cash_fee);
    rep.fee("coupon_fee", r.coupon_fee);
    rep.field("channel", r.channel.as_ref().map(|c| c.code().to_string()));
    rep.field("pay_time", r.pay_time.clone());
    rep.field("code", r.head.code.clone());
    rep.field("msg", r.head.msg.clone());
    rep.field("promotion_detail", r.promotion_detail.clone());
    rep.receipts = r.receipts.clone();
    if verdict == Verdict::Waiting {
        rep.notes.push(format!(
            "Query it again in a few seconds: ystpay query {req_seq}   (or revoke: ystpay revoke {req_seq})"
        ));
    }
    rep
}

fn write_receipt(
    conn: &Conn,
    out: &ReceiptOut,
    lines: &[String],
    rep: &mut Report,
) -> Result<(), String> {
    let Some(path) = &out.receipt_out else {
        return Ok(());
    };
    let receipt = Receipt::new(lines.to_vec());
    let bytes = match out.receipt_format.unwrap_or(ReceiptFormat::Text) {
        ReceiptFormat::Text => receipt.encode(conn.settings.encoding),
        ReceiptFormat::Escpos => receipt.to_escpos(&EscPosOptions::default()),
    };
    std::fs::write(path, &bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    rep.field("receipt_file", path.display().to_string());
    Ok(())
}

/// `ystpay pay`.
pub fn pay(conn: &Conn, a: &PayArgs, json_mode: bool) -> Result<Report, String> {
    let fee = a.amount.fen()?;
    let code = read_code(&a.code)?;
    let mut req = PayRequest::new(
        a.req_seq.clone().unwrap_or_default(),
        fee,
        PaymentCode::new(code.clone()),
    );
    req.channel = a.channel.map(ChannelArg::channel);
    if let Some(g) = &a.goods {
        let text = match g.strip_prefix('@') {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?
            }
            None => g.clone(),
        };
        req.prod_details = parse_prod_details(&text).map_err(|e| format!("--goods: {e}"))?;
    }
    let mut rep = if a.wait {
        let poll = match a.interval {
            Some(i) if !(i.is_finite() && i > 0.0) => {
                return Err("--interval must be a positive number of seconds".into());
            }
            Some(i) => Some(PollSchedule::fixed(Duration::from_secs_f64(i))),
            None => None,
        };
        let order = PayOrder {
            total_fee: req.total_fee,
            auth_code: req.auth_code.clone(),
            channel: req.channel.clone(),
            prod_details: req.prod_details.clone(),
        };
        let show = |p: &Progress| {
            if let (false, Some(line)) = (json_mode, crate::journal::progress_text(p)) {
                eprintln!("{line}");
            }
        };
        let opts = SettleOptions {
            progress: Some(&show),
            poll,
            ..SettleOptions::default()
        };
        let mut rep = crate::journal::settle_report(
            "pay",
            Some(&code),
            conn.register.settle_pay(None, &order, &opts),
        );
        rep.notes.extend(crate::journal::no_journal_note(conn));
        rep
    } else {
        let expect = Expected::new(fee, None);
        match conn.register.send(&mut req, &expect) {
            Ok(r) => pay_report("pay", &req.req_seq, Some(&code), &r, &expect),
            Err(e) => {
                let mut rep = Report::error("pay", &e, true);
                rep.fields.insert(0, ("req_seq", json!(req.req_seq)));
                rep
            }
        }
    };
    let lines = rep.receipts.clone();
    write_receipt(conn, &a.receipt, &lines, &mut rep)?;
    Ok(rep)
}

/// `query` arguments.
#[derive(Args, Debug, Clone)]
pub struct QueryArgs {
    /// The payment's req_seq.
    pub ori_seq: String,
    /// The payment code used (optional; `-` reads standard input).
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
}

/// `ystpay query`.
pub fn query(conn: &Conn, a: &QueryArgs) -> Result<Report, String> {
    let code = a.code.as_deref().map(read_code).transpose()?;
    let mut req = QueryPayRequest {
        req_seq: String::new(),
        auth_code: code.clone().map(PaymentCode::new),
        ori_seq: a.ori_seq.clone(),
    };
    let expect = conn.register.expected_for(&a.ori_seq);
    Ok(match conn.register.send(&mut req, &expect) {
        Ok(r) => pay_report("query", &a.ori_seq, code.as_deref(), &r, &expect),
        Err(e) => Report::error("query", &e, false),
    })
}

/// `refund` arguments.
#[derive(Args, Debug, Clone)]
pub struct RefundArgs {
    /// The paid order's trans_seq.
    pub trans_seq: String,
    #[command(flatten)]
    pub amount: Amount,
    /// Why (shown to the customer by some channels).
    #[arg(long, default_value = "退款")]
    pub reason: String,
    /// This refund's own number (default: a fresh one). Reuse it to retry the same refund.
    #[arg(long, value_name = "SEQ")]
    pub req_seq: Option<String>,
    #[command(flatten)]
    pub receipt: ReceiptOut,
}

fn refund_report(
    op: &'static str,
    req_seq: &str,
    trans_seq: &str,
    r: &RefundResponse,
    expect: &Expected,
) -> Report {
    let reading = read(r, expect);
    let verdict = Verdict::of_reading(&reading, Verdict::Ok);
    let headline = match verdict {
        Verdict::Ok => format!("refunded {}", r.refund_fee.map(yuan).unwrap_or_default()),
        Verdict::Waiting => "refund in progress".into(),
        Verdict::Failed => format!("refund failed: {}", r.head.msg.clone().unwrap_or_default()),
        _ => format!("refund status unknown: {}", reading.words()),
    };
    let mut rep = Report::new(op, verdict, headline);
    rep.field("req_seq", req_seq);
    rep.field("trans_seq", trans_seq);
    rep.field("refund_seq", r.refund_seq.clone());
    rep.field("status", r.status.as_ref().map(|s| s.code().to_string()));
    rep.fee("refund_fee", r.refund_fee);
    rep.fee("total_fee", r.total_fee);
    rep.fee("cash_fee", r.cash_fee);
    rep.fee("coupon_fee", r.coupon_fee);
    rep.field("channel", r.channel.as_ref().map(|c| c.code().to_string()));
    rep.field("code", r.head.code.clone());
    rep.field("msg", r.head.msg.clone());
    rep.receipts = r.receipts.clone();
    rep
}

/// `ystpay refund`.
pub fn refund(conn: &Conn, a: &RefundArgs) -> Result<Report, String> {
    let mut req = RefundRequest {
        req_seq: a.req_seq.clone().unwrap_or_default(),
        trans_seq: a.trans_seq.clone(),
        refund_fee: a.amount.fen()?,
        reason: a.reason.clone(),
    };
    let expect = Expected::new(req.refund_fee, None);
    let mut rep = match conn.register.send(&mut req, &expect) {
        Ok(r) => refund_report("refund", &req.req_seq, &req.trans_seq, &r, &expect),
        Err(e) => {
            let mut rep = Report::error("refund", &e, false);
            rep.fields.insert(0, ("req_seq", json!(req.req_seq)));
            if rep.verdict == crate::report::Verdict::Unknown {
                rep.notes.push(format!(
                    "Retry with the same number (--req-seq {}) or ask: ystpay refund-query {} {}",
                    req.req_seq, req.trans_seq, req.req_seq
                ));
            }
            rep
        }
    };
    let lines = rep.receipts.clone();
    write_receipt(conn, &a.receipt, &lines, &mut rep)?;
    Ok(rep)
}

/// `refund-query` arguments.
#[derive(Args, Debug, Clone)]
pub struct RefundQueryArgs {
    /// The paid order's trans_seq.
    pub trans_seq: String,
    /// The refund's req_seq.
    pub refund_req_seq: String,
}

/// `ystpay refund-query`.
pub fn refund_query(conn: &Conn, a: &RefundQueryArgs) -> Result<Report, String> {
    let mut req = QueryRefundRequest {
        req_seq: String::new(),
        trans_seq: a.trans_seq.clone(),
        ori_seq: a.refund_req_seq.clone(),
    };
    let expect = conn.register.expected_for(&a.refund_req_seq);
    Ok(match conn.register.send(&mut req, &expect) {
        Ok(r) => refund_report("refund-query", &a.refund_req_seq, &a.trans_seq, &r, &expect),
        Err(e) => Report::error("refund-query", &e, false),
    })
}

/// `revoke` arguments.
#[derive(Args, Debug, Clone)]
pub struct RevokeArgs {
    /// The payment's req_seq.
    pub ori_seq: String,
    /// The payment code used (`-` reads standard input); this or --channel is required.
    #[arg(long, value_name = "CODE", required_unless_present = "channel")]
    pub code: Option<String>,
    /// The payment's channel; this or --code is required.
    #[arg(long, value_enum, ignore_case = true)]
    pub channel: Option<ChannelArg>,
}

/// `ystpay revoke`.
pub fn revoke(conn: &Conn, a: &RevokeArgs) -> Result<Report, String> {
    let code = a.code.as_deref().map(read_code).transpose()?;
    let mut req = RevokeRequest {
        req_seq: String::new(),
        ori_seq: a.ori_seq.clone(),
        channel: a.channel.map(ChannelArg::channel),
        auth_code: code.clone().map(PaymentCode::new),
    };
    let expect = Expected::default();
    Ok(match conn.register.send(&mut req, &expect) {
        Ok(r) => {
            let reading = read(&r, &expect);
            let mut rep = match Verdict::of_reading(&reading, Verdict::Revoked) {
                Verdict::Revoked => Report::new(
                    "revoke",
                    Verdict::Revoked,
                    format!(
                        "payment {} revoked: no money taken, or all of it returned",
                        a.ori_seq
                    ),
                ),
                other => Report::new("revoke", other, reading.words()),
            };
            rep.field("ori_seq", a.ori_seq.clone());
            rep.field("req_seq", req.req_seq.clone());
            rep.field("auth_code", code.as_deref().map(mask));
            rep.field("status", r.status.as_ref().map(|s| s.code().to_string()));
            rep.field("code", r.head.code.clone());
            rep.field("msg", r.head.msg.clone());
            rep
        }
        Err(e) => {
            let mut rep = Report::error("revoke", &e, false);
            if rep.verdict == Verdict::Unknown {
                rep.notes
                    .push("Revoke again: revoking twice is harmless.".into());
            }
            rep
        }
    })
}

/// `native-pay` arguments.
#[derive(Args, Debug, Clone)]
pub struct NativePayArgs {
    #[command(flatten)]
    pub amount: Amount,
    /// W (WeChat) or A (Alipay).
    #[arg(long, value_enum, ignore_case = true)]
    pub channel: ChannelArg,
    /// Seconds the QR code stays payable (300-1800).
    #[arg(long, value_name = "S")]
    pub expire_time: Option<i64>,
    /// Our order number (default: a fresh one).
    #[arg(long, value_name = "SEQ")]
    pub req_seq: Option<String>,
    #[command(flatten)]
    pub qr: QrOut,
}

/// Draws and writes the QR code of `url` as `q` asks.
pub fn render_qr(url: &str, q: &QrOut, rep: &mut Report, draw: bool) -> Result<(), String> {
    let code = QrImage::encode(url).map_err(|e| e.to_string())?;
    if let Some(p) = &q.qr_png {
        code.write_png(p, q.qr_scale).map_err(|e| e.to_string())?;
        rep.field("qr_png", p.display().to_string());
    }
    if let Some(p) = &q.qr_bmp {
        code.write_bmp(p, q.qr_scale, BmpDepth::Rgb24)
            .map_err(|e| e.to_string())?;
        rep.field("qr_bmp", p.display().to_string());
    }
    if let Some(p) = &q.qr_escpos {
        let dots = code
            .escpos_dots_for(384)
            .ok_or("the QR code is too large for a 58 mm printer")?;
        let bytes = code.to_escpos(dots, 384).map_err(|e| e.to_string())?;
        std::fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        rep.field("qr_escpos", p.display().to_string());
    }
    if draw && !q.no_qr {
        rep.drawing = Some(code.to_text(TextStyle::HalfBlocks));
    }
    Ok(())
}

fn order_report(
    op: &'static str,
    req_seq: &str,
    r: &NativePayResponse,
    created: bool,
    expect: &Expected,
) -> Report {
    let ok = if created { Verdict::Ok } else { Verdict::Paid };
    let reading = read(r, expect);
    let mut verdict = Verdict::of_reading(&reading, ok);
    if created && verdict == Verdict::Waiting {
        verdict = Verdict::Ok;
    }
    let headline = match (created, &r.status) {
        (true, _) => format!(
            "order created: {} waiting for the customer to scan",
            r.total_fee.map(yuan).unwrap_or_default()
        ),
        (false, Some(Status::Success)) => {
            format!("{} paid", r.total_fee.map(yuan).unwrap_or_default())
        }
        (false, Some(Status::Waiting)) => "not paid yet: waiting for the customer".into(),
        (false, Some(Status::Failed)) => format!(
            "not paid: {}",
            r.head.msg.clone().unwrap_or_else(|| "closed".into())
        ),
        _ => reading.words(),
    };
    let headline = if verdict == Verdict::Unknown {
        reading.words()
    } else {
        headline
    };
    let mut rep = Report::new(op, verdict, headline.trim().to_string());
    rep.field("req_seq", req_seq);
    rep.field("trans_seq", r.trans_seq.clone());
    rep.field("status", r.status.as_ref().map(|s| s.code().to_string()));
    rep.fee("total_fee", r.total_fee);
    rep.fee("cash_fee", r.cash_fee);
    rep.fee("coupon_fee", r.coupon_fee);
    rep.field("channel", r.channel.as_ref().map(|c| c.code().to_string()));
    rep.field("pay_time", r.pay_time.clone());
    rep.field("pay_url", r.pay_url.clone());
    rep.field("code", r.head.code.clone());
    rep.field("msg", r.head.msg.clone());
    rep.receipts = r.receipts.clone();
    rep
}

/// `ystpay native-pay`.
pub fn native_pay(conn: &Conn, a: &NativePayArgs, json_mode: bool) -> Result<Report, String> {
    let mut req = NativePayRequest {
        req_seq: a.req_seq.clone().unwrap_or_default(),
        total_fee: a.amount.fen()?,
        expire_time: a.expire_time,
        channel: a.channel.channel(),
    };
    let expect = Expected::new(req.total_fee, None);
    match conn.register.send(&mut req, &expect) {
        Ok(r) => {
            let mut rep = order_report("native-pay", &req.req_seq, &r, true, &expect);
            if let Some(url) = &r.pay_url {
                render_qr(url, &a.qr, &mut rep, !json_mode)?;
            }
            rep.notes.push(format!(
                "Ask whether it was paid: ystpay native-query {}",
                req.req_seq
            ));
            Ok(rep)
        }
        Err(e) => {
            let mut rep = Report::error("native-pay", &e, true);
            rep.fields.insert(0, ("req_seq", json!(req.req_seq)));
            Ok(rep)
        }
    }
}

/// `native-query` arguments.
#[derive(Args, Debug, Clone)]
pub struct NativeQueryArgs {
    /// The order's req_seq (native, JS or H5).
    pub ori_seq: String,
    /// The order's channel.
    #[arg(long, value_enum, ignore_case = true)]
    pub channel: Option<ChannelArg>,
}

/// `ystpay native-query`.
pub fn native_query(conn: &Conn, a: &NativeQueryArgs) -> Result<Report, String> {
    let mut req = NativeQueryRequest {
        req_seq: String::new(),
        channel: a.channel.map(ChannelArg::channel),
        ori_seq: a.ori_seq.clone(),
    };
    let expect = conn.register.expected_for(&a.ori_seq);
    Ok(match conn.register.send(&mut req, &expect) {
        Ok(r) => order_report("native-query", &a.ori_seq, &r, false, &expect),
        Err(e) => Report::error("native-query", &e, false),
    })
}

/// `js-pay` arguments.
#[derive(Args, Debug, Clone)]
pub struct JsPayArgs {
    #[command(flatten)]
    pub amount: Amount,
    /// W (WeChat) or A (Alipay).
    #[arg(long, value_enum, ignore_case = true)]
    pub channel: ChannelArg,
    /// The customer's WeChat openID or Alipay userID.
    #[arg(long, value_name = "ID")]
    pub subopen_id: String,
    /// Our order number (default: a fresh one).
    #[arg(long, value_name = "SEQ")]
    pub req_seq: Option<String>,
}

/// `ystpay js-pay`.
pub fn js_pay(conn: &Conn, a: &JsPayArgs) -> Result<Report, String> {
    let mut req = JsPayRequest {
        req_seq: a.req_seq.clone().unwrap_or_default(),
        total_fee: a.amount.fen()?,
        channel: a.channel.channel(),
        subopen_id: a.subopen_id.clone(),
    };
    let expect = Expected::new(req.total_fee, None);
    Ok(match conn.register.send(&mut req, &expect) {
        Ok(r) => {
            let mut rep = created_report(
                "js-pay",
                &read(&r, &expect),
                format!(
                    "order created: {} — hand signature_info to the JS payment API",
                    yuan(req.total_fee)
                ),
            );
            rep.field("req_seq", req.req_seq.clone());
            rep.field("subopen_id", mask(&req.subopen_id));
            rep.field("trans_seq", r.trans_seq.clone());
            rep.field("status", r.status.as_ref().map(|s| s.code().to_string()));
            rep.fee("total_fee", Some(req.total_fee));
            rep.field("channel", r.channel.as_ref().map(|c| c.code().to_string()));
            rep.field("pay_url", r.pay_url.clone());
            match r.signature_info_map() {
                Ok(m) => rep.field("signature_info", json!(m)),
                Err(_) => rep.field("signature_info", r.signature_info.clone()),
            };
            rep.field("code", r.head.code.clone());
            rep.field("msg", r.head.msg.clone());
            rep
        }
        Err(e) => {
            let mut rep = Report::error("js-pay", &e, true);
            rep.fields.insert(0, ("req_seq", json!(req.req_seq)));
            rep
        }
    })
}

/// `h5-pay` arguments.
#[derive(Args, Debug, Clone)]
pub struct H5PayArgs {
    #[command(flatten)]
    pub amount: Amount,
    /// W (WeChat) or A (Alipay).
    #[arg(long, value_enum, ignore_case = true)]
    pub channel: ChannelArg,
    /// The customer's public IPv4 address (required for W).
    #[arg(long, value_name = "IP")]
    pub ip: Option<String>,
    /// Where the browser returns after paying or cancelling.
    #[arg(long, value_name = "URL")]
    pub redirect_url: String,
    /// Our order number (default: a fresh one).
    #[arg(long, value_name = "SEQ")]
    pub req_seq: Option<String>,
    #[command(flatten)]
    pub qr: QrOut,
}

/// `ystpay h5-pay`.
pub fn h5_pay(conn: &Conn, a: &H5PayArgs) -> Result<Report, String> {
    let mut req = H5PayRequest {
        req_seq: a.req_seq.clone().unwrap_or_default(),
        total_fee: a.amount.fen()?,
        channel: a.channel.channel(),
        ip: a.ip.clone(),
        redirect_url: a.redirect_url.clone(),
    };
    let expect = Expected::new(req.total_fee, None);
    match conn.register.send(&mut req, &expect) {
        Ok(r) => {
            let mut rep = created_report(
                "h5-pay",
                &read(&r, &expect),
                format!(
                    "order created: {} — open pay_info in the customer's phone browser",
                    yuan(req.total_fee)
                ),
            );
            rep.field("req_seq", req.req_seq.clone());
            rep.field("trans_seq", r.trans_seq.clone());
            rep.field("status", r.status.as_ref().map(|s| s.code().to_string()));
            rep.fee("total_fee", Some(req.total_fee));
            rep.field("channel", r.channel.as_ref().map(|c| c.code().to_string()));
            rep.field("pay_info", r.pay_info.clone());
            rep.field("code", r.head.code.clone());
            rep.field("msg", r.head.msg.clone());
            let any_file =
                a.qr.qr_png.is_some() || a.qr.qr_bmp.is_some() || a.qr.qr_escpos.is_some();
            if let (Some(url), true) = (&r.pay_info, any_file) {
                render_qr(url, &a.qr, &mut rep, false)?;
            }
            Ok(rep)
        }
        Err(e) => {
            let mut rep = Report::error("h5-pay", &e, true);
            rep.fields.insert(0, ("req_seq", json!(req.req_seq)));
            Ok(rep)
        }
    }
}

/// The configured encoding's name.
pub fn encoding_name(e: Encoding) -> &'static str {
    match e {
        Encoding::Utf8 => "utf-8",
        Encoding::Gbk => "gbk",
    }
}
