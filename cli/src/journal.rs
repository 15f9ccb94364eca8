//! The payment flow and its journal on the command line: `pay --wait`,
//! `journal list`, `journal totals`, `journal export`, `journal recover`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;
use serde_json::{json, Value};
use ystpay::config::Encoding;
use ystpay::flow::{Disposition, Outcome, Progress, RevokeReason, SettleOptions, Settlement};
use ystpay::journal::{DayTotals, Journal, OpKind, OpRecord};
use ystpay::protocol::types::fen_to_yuan;
use ystpay::register::RegisterError;
use ystpay::time::today;

use crate::report::{exit, yuan, Report, Verdict};
use crate::setup::{self, Conn, ConnOpts};

/// What to tell the cashier when the register keeps no journal file.
pub fn no_journal_note(conn: &Conn) -> Option<String> {
    conn.settings.journal.is_none().then(|| {
        "No journal is configured (journal = PATH): this payment was not recorded for recovery after a crash."
            .to_string()
    })
}

/// Why a payment is being revoked, in words.
pub fn reason_text(r: RevokeReason) -> &'static str {
    match r {
        RevokeReason::Deadline => "the customer took too long",
        RevokeReason::Cancelled => "cancelled by the cashier",
        RevokeReason::Refused => "the platform refused without saying whether money moved",
        RevokeReason::Recovery => "recovering an unfinished payment",
        RevokeReason::Requested => "revoke requested",
    }
}

/// One line for a flow event (`None` for events not worth a line).
pub fn progress_text(p: &Progress) -> Option<String> {
    Some(match p {
        Progress::Sending { kind, req_seq } => format!("sending {kind} {req_seq}"),
        Progress::WaitingForCustomer { elapsed, remaining } => format!(
            "  … {:>4.1} s  waiting for the customer ({:.0} s left)",
            elapsed.as_secs_f64(),
            remaining.as_secs_f64()
        ),
        Progress::ShowCode { pay_url } => format!("show the customer: {pay_url}"),
        Progress::Querying { attempt } => format!("  … query {attempt}"),
        Progress::Resending { attempt } => {
            format!("  no answer: sending the same request again (attempt {attempt})")
        }
        Progress::Revoking { reason, attempt } => {
            format!("{}: revoking (attempt {attempt})", reason_text(*reason))
        }
        Progress::Finished { .. } => return None,
    })
}

fn verdict_of(o: Outcome) -> Verdict {
    match o {
        Outcome::Paid => Verdict::Paid,
        Outcome::Failed => Verdict::Failed,
        Outcome::Revoked => Verdict::Revoked,
        Outcome::Unknown => Verdict::Unknown,
        Outcome::NotSent => Verdict::NotSent,
    }
}

/// Describes a settlement (the register logged it already).
pub fn settle_report(
    op: &'static str,
    code: Option<&str>,
    result: Result<Settlement, RegisterError>,
) -> Report {
    match result {
        Ok(s) => {
            let mut verdict = verdict_of(s.outcome);
            if s.kind == OpKind::Refund && verdict == Verdict::Paid {
                verdict = Verdict::Ok;
            }
            let headline = match s.outcome {
                Outcome::Paid if s.kind == OpKind::Refund => {
                    format!("refunded {}", yuan(s.total_fee))
                }
                Outcome::Paid => format!(
                    "{} {}",
                    yuan(s.total_fee),
                    match s.channel.as_deref() {
                        Some("W") => "WeChat Pay",
                        Some("A") => "Alipay",
                        Some("Q") => "QQ Wallet",
                        _ => "",
                    }
                )
                .trim_end()
                .to_string(),
                Outcome::Failed => format!("not paid: {}", s.detail),
                Outcome::Revoked => "revoked: no money taken (or all of it returned)".into(),
                Outcome::Unknown => format!("outcome unknown: {}", s.detail),
                Outcome::NotSent => format!("not sent, nothing charged: {}", s.detail),
            };
            let mut rep = Report::new(op, verdict, headline);
            rep.field("req_seq", s.req_seq.clone());
            rep.field("auth_code", code.map(ystpay::protocol::types::mask));
            rep.field("trans_seq", s.trans_seq.clone());
            rep.field("refund_seq", s.refund_seq.clone());
            rep.field("state", s.state.as_str());
            rep.fee("total_fee", Some(s.total_fee));
            rep.field("channel", s.channel.clone());
            rep.field("pay_time", s.pay_time.clone());
            rep.field("code", s.code.clone());
            rep.field("detail", s.detail.clone());
            rep.receipts = s.receipts.clone();
            if let Some(e) = &s.journal_error {
                rep.field("journal_error", e.to_string());
                rep.notes.push(
                    "The journal could not record the end; `ystpay journal recover` settles it."
                        .into(),
                );
            }
            if s.outcome == Outcome::Unknown {
                rep.notes.push(format!(
                    "It stays open in the journal: `ystpay journal recover` finishes it when the platform is back (or ystpay query {}).",
                    s.req_seq
                ));
            }
            rep
        }
        Err(RegisterError::Flow(ystpay::flow::FlowError::Client(e))) => Report::error(op, &e, true),
        Err(e) => Report::new(
            op,
            Verdict::NotSent,
            format!("the journal refused, nothing was sent: {e}"),
        ),
    }
}

/// `ystpay journal …`.
#[derive(Subcommand, Debug)]
pub enum JournalCmd {
    /// The operations of a day (default today, China time), oldest first.
    List {
        /// The business day, YYYY-MM-DD.
        #[arg(long, value_name = "DAY", conflicts_with_all = ["all", "open"])]
        day: Option<String>,
        /// Every operation in the journal.
        #[arg(long)]
        all: bool,
        /// Only operations still open (waiting, unknown, being revoked).
        #[arg(long)]
        open: bool,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// A day's totals: payments, refunds, net, open operations.
    Totals {
        /// The business day, YYYY-MM-DD (default today, China time).
        #[arg(long, value_name = "DAY")]
        day: Option<String>,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// The operations of a day, or of days, as a CSV file for the
    /// bookkeeper (对账): a Chinese header row, one row per operation, then
    /// each day's totals (those of `journal totals`). GBK, which Excel on a
    /// Chinese Windows opens, unless --utf8.
    Export {
        /// The first business day, YYYY-MM-DD (default today, China time).
        #[arg(long, value_name = "DAY")]
        day: Option<String>,
        /// The last business day, included (default: the first). At most
        /// 366 days.
        #[arg(long, value_name = "DAY")]
        to: Option<String>,
        /// The CSV file to write (replaced whole, or left as it was on failure).
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
        /// UTF-8 with a byte-order mark instead of GBK.
        #[arg(long)]
        utf8: bool,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// Settle every open operation with the platform (query, or revoke).
    Recover {
        #[command(flatten)]
        conn: ConnOpts,
    },
}

fn open_existing(opts: &ConnOpts) -> Result<Journal, String> {
    let path = setup::journal_path(opts).map_err(|e| e.to_string())?;
    if !Path::new(&path).exists() {
        return Err(format!("no journal at {}", path.display()));
    }
    Journal::open(&path).map_err(|e| format!("journal {}: {e}", path.display()))
}

fn check_day(day: &str) -> Result<(), String> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| format!("--day must be YYYY-MM-DD, not '{day}'"))
}

fn op_json(r: &OpRecord) -> Value {
    json!({
        "req_seq": r.req_seq,
        "account": r.account,
        "kind": r.kind.as_str(),
        "state": r.state.as_str(),
        "total_fee": r.total_fee,
        "channel": r.channel,
        "auth_code": r.auth_code_masked,
        "trans_seq": r.trans_seq,
        "parent_seq": r.parent_seq,
        "refund_seq": r.refund_seq,
        "day": r.day,
        "created_ms": r.created_ms,
        "updated_ms": r.updated_ms,
        "detail": r.detail,
    })
}

fn time_of(ms: i64) -> String {
    ystpay::time::china(ms).format("%H:%M:%S").to_string()
}

fn op_line(r: &OpRecord) -> String {
    format!(
        "{}  {:<6} {:<8} {:>10}  {:<1}  {:<20}  {:<20}  {}",
        time_of(r.created_ms),
        r.kind.as_str(),
        r.state.as_str(),
        yuan(r.total_fee),
        r.channel.as_deref().unwrap_or(""),
        r.req_seq,
        r.trans_seq.as_deref().unwrap_or(""),
        r.auth_code_masked.as_deref().unwrap_or("")
    )
}

fn totals_text(t: &DayTotals) -> String {
    let mut s = format!("Totals for {} (China time)\n", t.day);
    s.push_str("  kind   ch state       count        amount\n");
    for l in &t.lines {
        s.push_str(&format!(
            "  {:<6} {:<2} {:<10} {:>6} {:>13}\n",
            l.kind.as_str(),
            l.channel,
            l.state.as_str(),
            l.count,
            yuan(l.fee)
        ));
    }
    s.push_str(&format!("  paid      {:>13}\n", yuan(t.paid_fee)));
    s.push_str(&format!("  refunded  {:>13}\n", yuan(t.refunded_fee)));
    s.push_str(&format!("  net       {:>13}\n", yuan(t.net_fee())));
    s.push_str(&format!("  open operations: {}\n", t.open_count));
    s
}

fn totals_json(t: &DayTotals) -> Value {
    json!({
        "day": t.day,
        "paid_fee": t.paid_fee,
        "refunded_fee": t.refunded_fee,
        "net_fee": t.net_fee(),
        "open_count": t.open_count,
        "lines": t.lines.iter().map(|l| json!({
            "kind": l.kind.as_str(),
            "channel": l.channel,
            "state": l.state.as_str(),
            "count": l.count,
            "fee": l.fee,
        })).collect::<Vec<_>>(),
    })
}

/// The day's totals as the demo and `journal totals` print them.
pub fn print_totals(t: &DayTotals) -> String {
    totals_text(t)
}

/// Runs a journal subcommand; returns the exit code.
pub fn run(cmd: JournalCmd) -> i32 {
    match cmd {
        JournalCmd::List {
            day,
            all,
            open,
            conn,
        } => {
            let result = (|| -> Result<Vec<OpRecord>, String> {
                let j = open_existing(&conn)?;
                if all {
                    return j.all_ops().map_err(|e| e.to_string());
                }
                if open {
                    let ops = j.all_ops().map_err(|e| e.to_string())?;
                    return Ok(ops.into_iter().filter(|o| o.state.is_open()).collect());
                }
                let day = day.unwrap_or_else(today);
                check_day(&day)?;
                j.day_ops(&day).map_err(|e| e.to_string())
            })();
            match result {
                Err(e) => usage("journal list", &e),
                Ok(ops) if conn.json => {
                    println!("{}", json!(ops.iter().map(op_json).collect::<Vec<_>>()));
                    exit::OK
                }
                Ok(ops) => {
                    println!(
                        "time      kind   state        amount  ch req_seq               trans_seq             code"
                    );
                    for o in &ops {
                        println!("{}", op_line(o));
                    }
                    println!("{} operation(s)", ops.len());
                    exit::OK
                }
            }
        }
        JournalCmd::Totals { day, conn } => {
            let result = (|| -> Result<DayTotals, String> {
                let j = open_existing(&conn)?;
                let day = day.unwrap_or_else(today);
                check_day(&day)?;
                j.day_totals(&day).map_err(|e| e.to_string())
            })();
            match result {
                Err(e) => usage("journal totals", &e),
                Ok(t) if conn.json => {
                    println!("{}", totals_json(&t));
                    exit::OK
                }
                Ok(t) => {
                    print!("{}", totals_text(&t));
                    exit::OK
                }
            }
        }
        JournalCmd::Export {
            day,
            to,
            csv,
            utf8,
            conn,
        } => export(day, to, &csv, utf8, &conn),
        JournalCmd::Recover { conn } => recover(&conn),
    }
}

fn export(day: Option<String>, to: Option<String>, csv: &Path, utf8: bool, conn: &ConnOpts) -> i32 {
    let (encoding, name) = if utf8 {
        (Encoding::Utf8, "UTF-8")
    } else {
        (Encoding::Gbk, "GBK")
    };
    let result = (|| {
        let j = open_existing(conn)?;
        let from = day.unwrap_or_else(today);
        let to = to.unwrap_or_else(|| from.clone());
        j.export_csv_file(&from, &to, encoding, csv)
            .map_err(|e| e.to_string())
    })();
    let e = match result {
        Err(e) => return usage("journal export", &e),
        Ok(e) => e,
    };
    if conn.json {
        println!(
            "{}",
            json!({
                "file": csv.display().to_string(),
                "encoding": name.to_ascii_lowercase(),
                "ops": e.ops,
                "bytes": e.bytes.len(),
                "days": e.days.iter().map(totals_json).collect::<Vec<_>>(),
            })
        );
    } else {
        let (first, last) = match (e.days.first(), e.days.last()) {
            (Some(f), Some(l)) => (f.day.as_str(), l.day.as_str()),
            _ => ("", ""),
        };
        let span = if first == last {
            first.to_string()
        } else {
            format!("{first} to {last}")
        };
        println!(
            "wrote {} operation(s) of {span} to {} ({name}, {} bytes)",
            e.ops,
            csv.display(),
            e.bytes.len()
        );
        for t in &e.days {
            println!(
                "  {}  paid {:>12}  refunded {:>12}  net {:>12}  open {}",
                t.day,
                yuan(t.paid_fee),
                yuan(t.refunded_fee),
                yuan(t.net_fee()),
                t.open_count
            );
        }
    }
    exit::OK
}

fn usage(what: &str, e: &str) -> i32 {
    eprintln!("ystpay {what}: {e}");
    exit::USAGE
}

fn recover(opts: &ConnOpts) -> i32 {
    if let Err(e) = setup::journal_path(opts) {
        return usage("journal recover", &e.to_string());
    }
    let conn = match setup::connect(opts) {
        Ok(c) => c,
        Err(e) => return usage("journal recover", &e.to_string()),
    };
    let json_mode = opts.json;
    let show = |p: &Progress| {
        if let (false, Some(line)) = (json_mode, progress_text(p)) {
            eprintln!("{line}");
        }
    };
    let started = Instant::now();
    let report = match conn.register.recover(&SettleOptions {
        progress: Some(&show),
        ..SettleOptions::default()
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ystpay journal recover: {e}");
            return exit::UNKNOWN;
        }
    };
    let unfinished = report.still_open.len() + report.busy_elsewhere.len();
    if json_mode {
        println!(
            "{}",
            json!({
                "settled": report.settled.iter().map(|s| json!({
                    "req_seq": s.req_seq,
                    "kind": s.kind.as_str(),
                    "outcome": s.outcome.as_str().to_ascii_lowercase(),
                    "state": s.state.as_str(),
                    "total_fee": s.total_fee,
                    "trans_seq": s.trans_seq,
                    "detail": s.detail,
                })).collect::<Vec<_>>(),
                "ops": report.ops.iter().map(|o| json!({
                    "req_seq": o.req_seq,
                    "kind": o.kind.as_str(),
                    "state": o.state.as_str(),
                    "outcome": o.outcome.as_str().to_ascii_lowercase(),
                    "disposition": match o.disposition {
                        Disposition::Settled => "settled",
                        Disposition::StillOpen => "still_open",
                        Disposition::BusyElsewhere => "busy_elsewhere",
                        Disposition::Unreachable => "unreachable",
                    },
                    "total_fee": o.total_fee,
                    "detail": o.detail,
                })).collect::<Vec<_>>(),
                "still_open": report.still_open.iter().map(op_json).collect::<Vec<_>>(),
                "busy_elsewhere": report.busy_elsewhere.iter().map(op_json).collect::<Vec<_>>(),
                "unreachable": report.unreachable,
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
    } else {
        // Each operation recovery touched, in the order it took them, with
        // the state it ends in.
        for o in &report.ops {
            let what = match o.disposition {
                Disposition::Settled => o.outcome.as_str(),
                Disposition::StillOpen => "OPEN",
                Disposition::BusyElsewhere => "BUSY",
                Disposition::Unreachable => "OFFLINE",
            };
            let detail = match o.disposition {
                Disposition::BusyElsewhere => "another live program is settling it",
                _ => o.detail.as_str(),
            };
            println!(
                "{what:<8} {:<6} {}  {:<9} {:>10}  {detail}",
                o.kind.as_str(),
                o.req_seq,
                o.state.as_str(),
                fen_to_yuan(o.total_fee),
            );
        }
        println!(
            "{} settled, {} still open, {} busy elsewhere",
            report.settled.len(),
            report.still_open.len(),
            report.busy_elsewhere.len()
        );
        if report.unreachable {
            println!(
                "the platform could not be reached: recovery stopped and asks again next time                  (平台无法连接：恢复已停止，下次再查)"
            );
        }
    }
    if unfinished == 0 {
        exit::OK
    } else {
        exit::UNKNOWN
    }
}
