//! The journal as a CSV file for the shop's bookkeeper (对账): one row per
//! operation of a range of business days, then each day's totals, which
//! are [`Journal::day_totals`] itself. The command-line tool (`ystpay
//! journal export`) and the C ABI (`ystpay_journal_export_csv`) both write
//! what this module builds (docs/DESIGN.md, "The journal").
//!
//! The file, as Excel on a Chinese Windows reads it:
//! - GBK without a byte-order mark (Excel opens a CSV in the system's code
//!   page, 936 there), or UTF-8 with a byte-order mark (how Excel
//!   recognises UTF-8); GBK lacks a few characters, written `?`.
//! - RFC 4180: comma-separated, CRLF line ends, a field holding a comma, a
//!   quote, CR, LF (or a tab) is quoted with its quotes doubled.
//! - A header row in Chinese ([`COLUMNS`]), then one row per operation,
//!   oldest first by day. Kinds, states and channels are in Chinese words.
//! - Money in yuan with two decimals from the integer fen of the journal
//!   ([`fen_to_yuan`], never floating point; API §1.3). An amount is the
//!   operation's own, always positive: a refund's is the money returned.
//! - Times are China time, like the business day (API §4.1 `pay_time`).
//! - The payment code as the journal stores it, masked to its first and last
//!   four characters; nothing secret is in the journal to begin with.
//! - Text that did not come from this library (the platform's words in
//!   `detail`, serials and codes from the POS program or the scanner) may
//!   start with `=`, `+`, `-`, `@`, a tab or CR, which Excel would run as a
//!   formula: such a cell gets a leading apostrophe (OWASP "CSV injection").
//!   Amounts and counts are numbers this module formats, never prefixed.
//! - Serials made only of digits (`req_seq`, `trans_seq`, ...: 20 digits)
//!   get a leading tab inside their quotes: Excel would otherwise read them
//!   as numbers and keep 15 digits (`2.61126E+19`). Programs reading the
//!   file should trim it.
//!
//! After the rows, a blank line and the totals of each day of the range,
//! in two tables each with its own header row: one row per (day, kind,
//! channel, state) with its count and sum, then one row per day with money
//! taken, refunded, net and operations still open, exactly the numbers of
//! `ystpay journal totals --day D` for that day. A range of more than one
//! day ends with a 合计 row summing those days. Every day of the range has
//! its row, also a day without operations (zeros), so that a day missing
//! from the file cannot be mistaken for a quiet one.

use std::borrow::Cow;
use std::path::Path;

use chrono::NaiveDate;
use rusqlite::params;

use super::reports::totals_on;
use super::OP_COLUMNS;
use super::{collect_ops, DayTotals, Journal, JournalError, OpKind, OpRecord, OpState};
use crate::protocol::types::fen_to_yuan;
use crate::text::Encoding;
use crate::time::china;

/// Most business days one export covers (a year, leap or not).
pub const MAX_EXPORT_DAYS: i64 = 366;

/// The columns of an operation row: the Chinese header the file carries,
/// and what each holds.
pub const COLUMNS: [(&str, &str); 12] = [
    ("时间", "time the operation was recorded, China time"),
    (
        "类型",
        "kind: 条码支付 pay, 退款 refund, 扫码支付 native, 公众号支付 js, H5支付 h5",
    ),
    ("请求流水号", "req_seq: the operation's own serial"),
    (
        "交易流水号",
        "trans_seq: the platform's order number (a refund: the refunded order's)",
    ),
    ("退款流水号", "refund_seq: the platform's refund number"),
    ("渠道", "channel: 微信 W, 支付宝 A, 手Q支付 Q, 翼支付 Y"),
    ("金额（元）", "amount in yuan"),
    (
        "状态",
        "state, e.g. 已支付 paid, 已退款 refunded, 失败 failed, 已撤销 revoked",
    ),
    (
        "付款码",
        "payment code, masked to its first and last four characters",
    ),
    (
        "原支付流水号",
        "parent_seq: for a refund, the refunded payment's req_seq",
    ),
    ("设备号", "account: the device that sent it"),
    ("说明", "detail: the last thing learned, in words"),
];

/// The header row of the per-line totals table.
pub const LINE_TOTALS_HEADER: [&str; 6] =
    ["汇总日期", "类型", "渠道", "状态", "笔数", "金额（元）"];

/// The header row of the per-day totals table.
pub const DAY_TOTALS_HEADER: [&str; 5] = [
    "汇总日期",
    "收款（元）",
    "退款（元）",
    "净额（元）",
    "未完成笔数",
];

/// The first cell of the row summing a range of several days.
pub const RANGE_TOTAL: &str = "合计";

/// An operation kind in the bookkeeper's words.
pub fn kind_label(kind: OpKind) -> &'static str {
    match kind {
        OpKind::Pay => "条码支付",
        OpKind::Refund => "退款",
        OpKind::Native => "扫码支付",
        OpKind::Js => "公众号支付",
        OpKind::H5 => "H5支付",
    }
}

/// A journal state in the bookkeeper's words.
pub fn state_label(state: OpState) -> &'static str {
    match state {
        OpState::Pending => "处理中",
        OpState::Waiting => "等待付款",
        OpState::Revoking => "撤销中",
        OpState::Unknown => "结果未知",
        OpState::Conflict => "冲突待查",
        OpState::Paid => "已支付",
        OpState::Refunded => "已退款",
        OpState::Failed => "失败",
        OpState::Revoked => "已撤销",
        OpState::Closed => "已关闭",
        OpState::NotSent => "未发出",
    }
}

/// A channel letter in the bookkeeper's words (API §4.1 `channel`); a
/// letter the API document does not name is written as it came.
pub fn channel_label(channel: &str) -> Cow<'_, str> {
    Cow::Borrowed(match channel {
        "W" | "w" => "微信",
        "A" | "a" => "支付宝",
        "Q" | "q" => "手Q支付",
        "Y" | "y" => "翼支付",
        other => return neutral(other),
    })
}

/// A CSV export: the file's bytes and what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvExport {
    /// The file as written (GBK, or UTF-8 after a byte-order mark).
    pub bytes: Vec<u8>,
    /// Operation rows written.
    pub ops: usize,
    /// The totals of each day of the range, oldest first, as
    /// [`Journal::day_totals`] gives them.
    pub days: Vec<DayTotals>,
}

/// Why an export was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// A day is not `YYYY-MM-DD`, the range ends before it starts, or it
    /// spans more than [`MAX_EXPORT_DAYS`] days.
    Range(String),
    /// The journal could not be read.
    Journal(JournalError),
    /// The file could not be written. Nothing was left at its path (a file
    /// already there is unchanged).
    Write(String),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Range(e) => f.write_str(e),
            ExportError::Journal(e) => e.fmt(f),
            ExportError::Write(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for ExportError {}

impl From<JournalError> for ExportError {
    fn from(e: JournalError) -> Self {
        ExportError::Journal(e)
    }
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Journal(e.into())
    }
}

fn parse_day(day: &str, name: &str) -> Result<NaiveDate, ExportError> {
    let shape = day.len() == 10
        && day.bytes().enumerate().all(|(i, c)| match i {
            4 | 7 => c == b'-',
            _ => c.is_ascii_digit(),
        });
    shape
        .then(|| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| ExportError::Range(format!("{name} must be a date YYYY-MM-DD, not '{day}'")))
}

/// The business days `from..=to`, checked.
pub(crate) fn day_range(from: &str, to: &str) -> Result<Vec<String>, ExportError> {
    let (first, last) = (
        parse_day(from, "the first day")?,
        parse_day(to, "the last day")?,
    );
    if last < first {
        return Err(ExportError::Range(format!(
            "the last day {to} is before the first day {from}"
        )));
    }
    let span = (last - first).num_days() + 1;
    if span > MAX_EXPORT_DAYS {
        return Err(ExportError::Range(format!(
            "{span} days from {from} to {to}: at most {MAX_EXPORT_DAYS} per export"
        )));
    }
    Ok(first
        .iter_days()
        .take(span as usize)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect())
}

impl Journal {
    /// The CSV file of business days `from` to `to` (`YYYY-MM-DD`, China
    /// time, both included; all accounts) in `encoding` (see the module
    /// docs). The rows and the totals are read in one transaction, so they
    /// agree even while other programs write to the journal.
    pub fn export_csv(
        &self,
        from: &str,
        to: &str,
        encoding: Encoding,
    ) -> Result<CsvExport, ExportError> {
        let days = day_range(from, to)?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let ops = {
            let mut stmt = tx.prepare(&format!(
                "SELECT {OP_COLUMNS} FROM ops WHERE day >= ?1 AND day <= ?2 ORDER BY day, id"
            ))?;
            collect_ops(&mut stmt, params![from, to])?
        };
        let totals = days
            .iter()
            .map(|d| totals_on(&tx, d))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit()?;
        drop(conn);
        let text = csv_text(&ops, &totals);
        let bytes = match encoding {
            Encoding::Gbk => crate::text::encode(Encoding::Gbk, &text).into_owned(),
            Encoding::Utf8 => {
                let mut b = Vec::with_capacity(text.len() + 3);
                b.extend_from_slice("\u{feff}".as_bytes());
                b.extend_from_slice(text.as_bytes());
                b
            }
        };
        Ok(CsvExport {
            bytes,
            ops: ops.len(),
            days: totals,
        })
    }

    /// [`Journal::export_csv`] written to `path`, whole or not at all: into a
    /// temporary file beside it, flushed to disk, then renamed over it. On
    /// failure nothing is left behind and a file already at `path` is
    /// unchanged.
    pub fn export_csv_file(
        &self,
        from: &str,
        to: &str,
        encoding: Encoding,
        path: &Path,
    ) -> Result<CsvExport, ExportError> {
        let export = self.export_csv(from, to, encoding)?;
        crate::files::write_whole(path, &export.bytes)
            .map_err(|e| ExportError::Write(format!("cannot write {}: {e}", path.display())))?;
        Ok(export)
    }
}

/// `s` made harmless as a spreadsheet cell: text starting with a character
/// Excel reads as the start of a formula gets a leading apostrophe.
fn neutral(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A serial: digits only get a leading tab (Excel keeps them as text, all
/// digits); anything else is neutralised text.
fn serial(s: &str) -> Cow<'_, str> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Cow::Owned(format!("\t{s}"))
    } else {
        neutral(s)
    }
}

/// Appends one RFC 4180 record (CRLF-terminated) to `out`. A field is
/// quoted when it holds a comma, a quote, CR, LF or a tab, quotes doubled.
fn record<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\r', '\n', '\t']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

fn op_row(r: &OpRecord) -> [Cow<'_, str>; 12] {
    fn text(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
    [
        Cow::Owned(china(r.created_ms).format("%Y-%m-%d %H:%M:%S").to_string()),
        Cow::Borrowed(kind_label(r.kind)),
        serial(&r.req_seq),
        serial(text(&r.trans_seq)),
        serial(text(&r.refund_seq)),
        channel_label(text(&r.channel)),
        Cow::Owned(fen_to_yuan(r.total_fee)),
        Cow::Borrowed(state_label(r.state)),
        neutral(text(&r.auth_code_masked)),
        serial(text(&r.parent_seq)),
        neutral(&r.account),
        neutral(&r.detail),
    ]
}

/// The whole file as text (before encoding): header, operation rows, then
/// the totals of each day in `totals` (see the module docs).
pub(crate) fn csv_text(ops: &[OpRecord], totals: &[DayTotals]) -> String {
    let mut out = String::with_capacity(256 + ops.len() * 160);
    record(&mut out, &COLUMNS.map(|(zh, _)| zh));
    for r in ops {
        record(&mut out, &op_row(r));
    }
    out.push_str("\r\n");
    record(&mut out, &LINE_TOTALS_HEADER);
    for t in totals {
        for l in &t.lines {
            record(
                &mut out,
                &[
                    Cow::Borrowed(t.day.as_str()),
                    Cow::Borrowed(kind_label(l.kind)),
                    channel_label(&l.channel),
                    Cow::Borrowed(state_label(l.state)),
                    Cow::Owned(l.count.to_string()),
                    Cow::Owned(fen_to_yuan(l.fee)),
                ],
            );
        }
    }
    out.push_str("\r\n");
    record(&mut out, &DAY_TOTALS_HEADER);
    let day_row = |out: &mut String, first: &str, paid: i64, refunded: i64, open: i64| {
        record(
            out,
            &[
                first.to_string(),
                fen_to_yuan(paid),
                fen_to_yuan(refunded),
                fen_to_yuan(paid - refunded),
                open.to_string(),
            ],
        );
    };
    for t in totals {
        day_row(&mut out, &t.day, t.paid_fee, t.refunded_fee, t.open_count);
    }
    if totals.len() > 1 {
        let sum = |f: fn(&DayTotals) -> i64| totals.iter().map(f).sum::<i64>();
        day_row(
            &mut out,
            RANGE_TOTAL,
            sum(|t| t.paid_fee),
            sum(|t| t.refunded_fee),
            sum(|t| t.open_count),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{NewOp, OpUpdate};
    use crate::time::today;

    fn gbk(bytes: &[u8]) -> String {
        let (text, _, bad) = encoding_rs::GBK.decode(bytes);
        assert!(!bad, "not GBK");
        text.into_owned()
    }

    #[test]
    fn quoting_and_neutralising() {
        let mut out = String::new();
        record(
            &mut out,
            &["a,b", "say \"hi\"", "two\r\nlines", "plain", ""],
        );
        assert_eq!(
            out,
            "\"a,b\",\"say \"\"hi\"\"\",\"two\r\nlines\",plain,\r\n"
        );
        for bad in ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=x", "\r=x"] {
            assert_eq!(neutral(bad), format!("'{bad}"));
        }
        assert_eq!(neutral("1345**6701"), "1345**6701");
        assert_eq!(serial("26112602252100011235"), "\t26112602252100011235");
        assert_eq!(serial("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(channel_label("W"), "微信");
        assert_eq!(channel_label("-X"), "'-X");
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(day_range("2025-12-31", "2026-01-02").unwrap().len(), 3);
        assert_eq!(day_range("2024-01-01", "2024-12-31").unwrap().len(), 366);
        for (a, b) in [
            ("2025-11-25", "2025-11-24"),
            ("2025/11/25", "2025-11-25"),
            ("2025-11-31", "2025-12-01"),
            ("2024-01-01", "2025-01-01"),
            ("+2025-1-25", "2025-11-25"),
        ] {
            assert!(
                matches!(day_range(a, b), Err(ExportError::Range(_))),
                "{a} {b}"
            );
        }
    }

    /// One day in memory: a paid payment refunded in part, a failed one, an
    /// open one, and hostile text from outside; read back as GBK.
    #[test]
    fn a_day_as_gbk_with_its_totals() {
        let j = Journal::open_in_memory().unwrap();
        let mut pay = NewOp::new("demo", "26112602252100011235", OpKind::Pay, 1250);
        pay.auth_code = Some("134567890123456701".into());
        pay.channel = Some("W".into());
        j.begin(&pay).unwrap();
        j.update(
            "demo",
            "26112602252100011235",
            &OpUpdate {
                state: Some(OpState::Paid),
                trans_seq: Some("26112602252100000001".into()),
                ..OpUpdate::default()
            },
        )
        .unwrap();
        let refund = NewOp::new("demo", "26112602252100011236", OpKind::Refund, 250);
        j.begin_refund("26112602252100011235", &refund).unwrap();
        j.update(
            "demo",
            "26112602252100011236",
            &OpUpdate {
                state: Some(OpState::Refunded),
                refund_seq: Some("R-1".into()),
                detail: Some("退款成功, \"ok\"".into()),
                ..OpUpdate::default()
            },
        )
        .unwrap();
        let failed = NewOp::new("demo", "=2+5", OpKind::Pay, 99);
        j.begin(&failed).unwrap();
        j.update(
            "demo",
            "=2+5",
            &OpUpdate::state(OpState::Failed, "=HYPERLINK(\"http://x\",\"余额不足\")"),
        )
        .unwrap();
        j.begin(&NewOp::new(
            "demo",
            "26112602252100011237",
            OpKind::Native,
            500,
        ))
        .unwrap();

        let day = today();
        let e = j.export_csv(&day, &day, Encoding::Gbk).unwrap();
        assert_eq!(e.ops, 4);
        assert_eq!(e.days, vec![j.day_totals(&day).unwrap()]);
        let text = gbk(&e.bytes);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "时间,类型,请求流水号,交易流水号,退款流水号,渠道,金额（元）,状态,付款码,原支付流水号,设备号,说明"
        );
        assert!(lines[1].ends_with(
            ",条码支付,\"\t26112602252100011235\",\"\t26112602252100000001\",,微信,12.50,已支付,1345**********6701,,demo,"
        ), "{}", lines[1]);
        assert!(lines[2].contains(",退款,\"\t26112602252100011236\",\"\t26112602252100000001\",R-1,微信,2.50,已退款,,\"\t26112602252100011235\",demo,\"退款成功, \"\"ok\"\"\""), "{}", lines[2]);
        assert!(lines[3].contains(",条码支付,'=2+5,,,,0.99,失败,,,demo,\"'=HYPERLINK(\"\"http://x\"\",\"\"余额不足\"\")\""), "{}", lines[3]);
        assert!(
            lines[4].contains(",扫码支付,\"\t26112602252100011237\",,,,5.00,处理中,"),
            "{}",
            lines[4]
        );
        assert_eq!(lines[5], "");
        assert_eq!(lines[6], "汇总日期,类型,渠道,状态,笔数,金额（元）");
        let tail = lines[7..].join("\n");
        assert!(
            tail.contains(&format!("{day},条码支付,微信,已支付,1,12.50")),
            "{tail}"
        );
        assert!(
            tail.contains(&format!("{day},退款,微信,已退款,1,2.50")),
            "{tail}"
        );
        assert!(
            tail.contains("汇总日期,收款（元）,退款（元）,净额（元）,未完成笔数"),
            "{tail}"
        );
        assert!(
            tail.contains(&format!("{day},12.50,2.50,10.00,1")),
            "{tail}"
        );
        assert!(!tail.contains(RANGE_TOTAL), "one day: no range row");
        assert!(!text.contains("134567890123456701"));

        // UTF-8: a byte-order mark, then the same text.
        let u = j.export_csv(&day, &day, Encoding::Utf8).unwrap();
        assert!(u.bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        assert_eq!(std::str::from_utf8(&u.bytes[3..]).unwrap(), text);
    }

    /// A character code page 936 lacks (GB18030 gives ḿ, ⿰ and the vertical
    /// comma two-byte codes, 𠀀 a four-byte one; U+E000 would be a
    /// user-defined code) is `?` in the bookkeeper's file, as it is for a C
    /// caller ([`crate::text`]): every GBK byte pair in the file is one code
    /// page 936 defines.
    #[test]
    fn a_gb18030_only_character_is_a_question_mark_in_the_file() {
        let j = Journal::open_in_memory().unwrap();
        let mut pay = NewOp::new("demo", "26112602252100011235", OpKind::Pay, 1250);
        pay.channel = Some("W".into());
        j.begin(&pay).unwrap();
        j.update(
            "demo",
            "26112602252100011235",
            &OpUpdate {
                state: Some(OpState::Paid),
                trans_seq: Some("26112602252100000001".into()),
                ..OpUpdate::default()
            },
        )
        .unwrap();
        let reason = "退货ḿ⿰\u{FE10}𠀀\u{E000}€";
        let mut refund = NewOp::new("demo", "26112602252100011236", OpKind::Refund, 250);
        refund.reason = Some(reason.into());
        j.begin_refund("26112602252100011235", &refund).unwrap();
        j.update(
            "demo",
            "26112602252100011236",
            &OpUpdate::state(OpState::Refunded, reason),
        )
        .unwrap();
        let day = today();
        let e = j.export_csv(&day, &day, Encoding::Gbk).unwrap();
        let strict =
            crate::text::decode(Encoding::Gbk, &e.bytes).expect("the file is strict code page 936");
        assert!(strict.contains(",退货?????€\r\n"), "{strict}");
        // The UTF-8 file keeps every character.
        let u = j.export_csv(&day, &day, Encoding::Utf8).unwrap();
        assert!(std::str::from_utf8(&u.bytes).unwrap().contains(reason));
    }

    #[test]
    fn a_file_is_written_whole_or_not_at_all() {
        let dir = std::env::temp_dir().join(format!("ystpay-export-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let j = Journal::open_in_memory().unwrap();
        let day = today();
        let path = dir.join("day.csv");
        let e = j.export_csv_file(&day, &day, Encoding::Gbk, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), e.bytes);
        // A folder in the way: an error, no temporary file left beside it.
        let blocked = dir.join("folder.csv");
        std::fs::create_dir_all(&blocked).unwrap();
        let err = j
            .export_csv_file(&day, &day, Encoding::Gbk, &blocked)
            .unwrap_err();
        assert!(matches!(err, ExportError::Write(_)), "{err}");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let missing = dir.join("no-such-folder").join("x.csv");
        assert!(j
            .export_csv_file(&day, &day, Encoding::Gbk, &missing)
            .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
