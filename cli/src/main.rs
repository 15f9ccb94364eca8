//! `ystpay`: the command-line tool for integrators and support staff.
//!
//! Every platform interface is a subcommand; `ystpay demo` runs a whole
//! checkout day against the built-in simulator; `ystpay sim` runs the
//! simulator on its own. See `ystpay --help` and the README.

mod demo;
mod doctor;
mod journal;
mod notify;
mod ops;
mod report;
mod setup;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ystpay::config::KEYS;
use ystpay::qr::{BmpDepth, QrImage, TextStyle};

use report::{exit, Report, Verdict};
use setup::ConnOpts;

const EXIT_CODES: &str = "\
Exit codes:
  0  OK: paid, refunded, revoked, order created, or the answer was read
  1  FAILED: the platform said no (refused, or status F); no money moved
  2  usage or configuration error; nothing was sent
  3  UNKNOWN: sent, but the outcome is unknown: query (or revoke) before concluding
  4  WAITING: the customer has not finished paying (status W); query again
  5  NOT SENT: the network failed before the request left; retrying is safe

Configuration: --config FILE (INI key = value), then YSTPAY_<KEY> environment
variables (YSTPAY_SERVER_URL, YSTPAY_ACCT, YSTPAY_PASS, YSTPAY_PRIVATE_KEY, ...),
then flags; later wins. `ystpay config --keys` lists the keys.";

/// ystpay — take WeChat Pay / Alipay / QQ payments through the 赢商通 platform.
#[derive(Parser, Debug)]
#[command(name = "ystpay", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check this register's setup end to end, one line each ✓/✗ with the
    /// fix: configuration, DNS, TCP, proxy, TLS, clock, credentials,
    /// journal, log folder, retention. Exit 0 only when every line is ✓.
    Doctor {
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 4.1 Barcode payment: the customer shows a payment code.
    Pay {
        #[command(flatten)]
        args: ops::PayArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 4.2 Query a barcode payment by its req_seq.
    Query {
        #[command(flatten)]
        args: ops::QueryArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 4.3 Refund part or all of a paid order (any kind) by its trans_seq.
    Refund {
        #[command(flatten)]
        args: ops::RefundArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 4.4 Query a refund.
    RefundQuery {
        #[command(flatten)]
        args: ops::RefundQueryArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 4.5 Revoke a payment: refunds it if paid, closes it otherwise.
    Revoke {
        #[command(flatten)]
        args: ops::RevokeArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 5.1 QR-code (native) order: prints the QR code for the customer to scan.
    NativePay {
        #[command(flatten)]
        args: ops::NativePayArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 5.2 Query a native, JS or H5 order.
    NativeQuery {
        #[command(flatten)]
        args: ops::NativeQueryArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 6.1 JS order, paid inside the WeChat or Alipay app.
    JsPay {
        #[command(flatten)]
        args: ops::JsPayArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// 7.1 H5 order, paid from a phone's browser.
    H5Pay {
        #[command(flatten)]
        args: ops::H5PayArgs,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// The journal: list operations, a day's totals, recover unfinished ones.
    #[command(subcommand)]
    Journal(journal::JournalCmd),
    /// Receive payment notifications (5.5) on loopback: verify, answer Y, print each order once.
    Notify {
        /// Address to listen on (loopback only); the URL is printed first.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// Draw a QR code for a URL: terminal, PNG, BMP, ESC/POS.
    Qr(QrArgs),
    /// Show the effective configuration (secrets hidden, protected ones
    /// marked), or every key, or protect a file's secrets (Windows).
    Config {
        /// List every configuration key with its meaning.
        #[arg(long)]
        keys: bool,
        /// Windows: rewrite FILE (default: --config / YSTPAY_CONFIG) with its
        /// pass, private_key and dsn protected by DPAPI for this machine
        /// (`dpapi:…`). A copy on another machine cannot be read.
        #[arg(long, value_name = "FILE", num_args = 0..=1)]
        protect: Option<Option<std::path::PathBuf>>,
        #[command(flatten)]
        conn: ConnOpts,
    },
    /// Run the platform simulator (same flags as ystpay-sim).
    Sim(ystpay_sim::SimArgs),
    /// A checkout day end to end against the built-in simulator.
    Demo(demo::DemoArgs),
}

#[derive(Args, Debug)]
struct QrArgs {
    /// The text to encode (a pay_url).
    text: String,
    /// Terminal style.
    #[arg(long, value_enum, default_value = "blocks")]
    style: QrStyle,
    /// Write a PNG file.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// Write an uncompressed BMP file.
    #[arg(long, value_name = "FILE")]
    bmp: Option<PathBuf>,
    /// BMP bits per pixel.
    #[arg(long, value_enum, default_value = "24")]
    bmp_depth: BmpBits,
    /// Write ESC/POS raster bytes (GS v 0).
    #[arg(long, value_name = "FILE")]
    escpos: Option<PathBuf>,
    /// Printer width in dots for --escpos (384: 58 mm, 576: 80 mm).
    #[arg(long, default_value_t = 384)]
    printer_dots: u32,
    /// Pixels per module in PNG/BMP.
    #[arg(long, default_value_t = 8)]
    scale: u32,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum BmpBits {
    /// 1 bit per pixel, two-colour palette.
    #[value(name = "1")]
    One,
    /// 24 bits per pixel.
    #[value(name = "24")]
    TwentyFour,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum QrStyle {
    /// Half blocks for a dark terminal.
    Blocks,
    /// Half blocks for a light terminal.
    Light,
    /// `##` for any font or code page.
    Ascii,
    /// Do not draw.
    None,
}

/// `ystpay sim`: the simulator's own flags and behaviour ([`ystpay_sim::SimArgs`]).
fn run_sim(a: &ystpay_sim::SimArgs) -> i32 {
    match a.run() {
        Ok(never) => match never {},
        Err(e) => fail(&format!("ystpay sim: {e}")),
    }
}

fn fail(msg: &str) -> i32 {
    eprintln!("{msg}");
    exit::USAGE
}

fn run_qr(a: QrArgs) -> i32 {
    let code = match QrImage::encode(&a.text) {
        Ok(c) => c,
        Err(e) => return fail(&format!("ystpay qr: {e}")),
    };
    let result = (|| -> Result<(), String> {
        if let Some(p) = &a.png {
            code.write_png(p, a.scale).map_err(|e| e.to_string())?;
        }
        if let Some(p) = &a.bmp {
            let depth = if a.bmp_depth == BmpBits::One {
                BmpDepth::Mono
            } else {
                BmpDepth::Rgb24
            };
            code.write_bmp(p, a.scale, depth)
                .map_err(|e| e.to_string())?;
        }
        if let Some(p) = &a.escpos {
            let dots = code
                .escpos_dots_for(a.printer_dots)
                .ok_or("the QR code does not fit the printer width")?;
            let bytes = code
                .to_escpos(dots, a.printer_dots)
                .map_err(|e| e.to_string())?;
            std::fs::write(p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        return fail(&format!("ystpay qr: {e}"));
    }
    let style = match a.style {
        QrStyle::Blocks => Some(TextStyle::HalfBlocks),
        QrStyle::Light => Some(TextStyle::HalfBlocksLight),
        QrStyle::Ascii => Some(TextStyle::Ascii),
        QrStyle::None => None,
    };
    if let Some(s) = style {
        print!("{}", code.to_text(s));
    }
    exit::OK
}

fn run_notify(listen: SocketAddr, conn_opts: &ConnOpts) -> i32 {
    if !listen.ip().is_loopback() {
        return fail(&format!(
            "ystpay notify: {listen} is not a loopback address; put a reverse proxy in front instead"
        ));
    }
    let conn = match setup::connect(conn_opts) {
        Ok(c) => c,
        Err(e) => return fail(&format!("ystpay notify: {e}")),
    };
    let (listener, url) = match notify::NoticeReceiver::bind(listen) {
        Ok(b) => b,
        Err(e) => return fail(&format!("ystpay notify: cannot listen on {listen}: {e}")),
    };
    let log = conn.register.log();
    let receiver = match notify::NoticeReceiver::start(listener, conn.register.client().clone()) {
        Ok(r) => r,
        Err(e) => return fail(&format!("ystpay notify: {e}")),
    };
    println!("{url}");
    let _ = std::io::stdout().flush();
    loop {
        match receiver
            .accepted
            .recv_timeout(std::time::Duration::from_millis(200))
        {
            Ok(a) => {
                use ystpay::log::Describe;
                let fields = a.notice.fields();
                let how = if a.signed {
                    "signed"
                } else {
                    "confirmed by query"
                };
                log.write(
                    ystpay::config::LogLevel::Info,
                    "notice",
                    &format!("{} ({how}) -> answered Y", ystpay::log::join(&fields)),
                );
                if conn_opts.json {
                    let mut m: serde_json::Map<String, serde_json::Value> = fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                        .collect();
                    m.insert("verified".into(), serde_json::json!(how));
                    println!("{}", serde_json::Value::Object(m));
                } else {
                    println!(
                        "PAID     {} ({how}), answered Y",
                        ystpay::log::join(&fields)
                    );
                }
                let _ = std::io::stdout().flush();
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return exit::UNKNOWN,
        }
        while let Ok(why) = receiver.refused.try_recv() {
            log.write(
                ystpay::config::LogLevel::Error,
                "notice",
                &format!("refused: {why}"),
            );
            eprintln!("refused a notification: {why}");
        }
    }
}

fn run_config(keys: bool, conn: &ConnOpts) -> i32 {
    if keys {
        for (k, meaning) in KEYS {
            println!(
                "{k:<20} {meaning}   [env YSTPAY_{}]",
                k.to_ascii_uppercase()
            );
        }
        return exit::OK;
    }
    if let Some(warning) = setup::config_file(conn).and_then(|p| setup::exposure_warning(&p)) {
        eprintln!("{warning}");
    }
    let (s, protected) = match setup::settings_and_protected(conn) {
        Ok(s) => s,
        Err(e) => return fail(&format!("ystpay config: {e}")),
    };
    let c = &s.client;
    let hidden = |key: &str, present: bool| -> String {
        match (present, protected.iter().any(|k| k == key)) {
            (false, _) => String::new(),
            (true, false) => "<hidden>".into(),
            (true, true) => "<hidden> (protected: dpapi, this machine only)".into(),
        }
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("server_url", c.server_url.clone()),
        ("acct", c.account.clone()),
        ("pass", hidden("pass", c.password.is_some())),
        (
            "private_key",
            hidden("private_key", !c.private_key.is_empty()),
        ),
        ("dsn", hidden("dsn", c.dsn.is_some())),
        (
            "connect_timeout_ms",
            c.connect_timeout.as_millis().to_string(),
        ),
        ("read_timeout_ms", c.read_timeout.as_millis().to_string()),
        ("proxy", c.proxy.clone().unwrap_or_default()),
        ("keep_alive_s", c.keep_alive.as_secs().to_string()),
        (
            "register_no",
            c.register_no.map(|n| n.to_string()).unwrap_or_default(),
        ),
        ("allow_http", (c.allow_http as u8).to_string()),
        ("encoding", ops::encoding_name(s.encoding).into()),
        (
            "journal",
            s.journal
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        (
            "log_file",
            s.log_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
        (
            "log_level",
            format!("{:?}", s.log_level).to_ascii_lowercase(),
        ),
        (
            "settle_deadline_s",
            s.settle_deadline
                .unwrap_or(ystpay::FlowConfig::default().pay_deadline)
                .as_secs()
                .to_string(),
        ),
        ("log_keep_days", s.log_keep_days.to_string()),
        ("journal_keep_days", s.journal_keep_days.to_string()),
    ];
    if conn.json {
        // One more field: which secrets are stored protected.
        rows.push(("protected", protected.join(",")));
        let m: serde_json::Map<String, serde_json::Value> = rows
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
            .collect();
        println!("{}", serde_json::Value::Object(m));
    } else {
        for (k, v) in rows {
            println!("{k:<20} {v}");
        }
    }
    exit::OK
}

/// `ystpay config --protect [FILE]`: the file's plain secrets protected for
/// this machine, the file rewritten whole or not at all, then read back.
fn run_protect(file: Option<std::path::PathBuf>, conn: &ConnOpts) -> i32 {
    if !ystpay::protect::SUPPORTED {
        return fail(&format!(
            "ystpay config --protect: {}",
            ystpay::protect::WINDOWS_ONLY
        ));
    }
    let Some(path) = file.or_else(|| setup::config_file(conn)) else {
        return fail("ystpay config --protect: name the file (--protect FILE or --config FILE)");
    };
    let shown = path.display();
    match ystpay::protect::protect_file(&path) {
        Ok(keys) if keys.is_empty() => println!("{shown}: no plain secrets to protect"),
        Ok(keys) => println!(
            "{shown}: protected {} for this machine (已加密保护，仅本机可读)",
            keys.join(", ")
        ),
        Err(e) => return fail(&format!("ystpay config --protect: {shown}: {e}")),
    }
    // The rewritten file must read back here, or the register cannot start.
    match ystpay::config::Settings::load(&path) {
        Ok(_) => exit::OK,
        Err(e) => fail(&format!(
            "ystpay config --protect: {shown} does not read back: {e}"
        )),
    }
}

/// Runs one platform command: connect, run, print (scrubbed), exit code.
fn run_op(
    op: &'static str,
    conn_opts: &ConnOpts,
    codes: &[Option<&str>],
    f: impl FnOnce(&setup::Conn) -> Result<Report, String>,
) -> i32 {
    let json_mode = conn_opts.json;
    let conn = match setup::connect(conn_opts) {
        Ok(c) => c,
        Err(e) => {
            let rep = Report::new(op, Verdict::Usage, e.to_string());
            return print_report(&rep, json_mode, &ystpay::log::Logger::off(), &[]);
        }
    };
    if let (Some(sim), false) = (&conn.sim, json_mode) {
        eprintln!("(built-in simulator at {})", sim.api_url());
    }
    let rep = f(&conn).unwrap_or_else(|why| Report::new(op, Verdict::Usage, why));
    let codes: Vec<&str> = codes.iter().flatten().copied().collect();
    print_report(&rep, json_mode, conn.register.log(), &codes)
}

/// Prints a report with every secret scrubbed and every full payment code
/// masked, and returns its exit code.
fn print_report(rep: &Report, json_mode: bool, log: &ystpay::log::Logger, codes: &[&str]) -> i32 {
    let text = if json_mode {
        format!("{}\n", rep.to_json())
    } else {
        rep.to_text()
    };
    let mut text = log.scrub(&text);
    for code in codes.iter().filter(|c| c.len() >= 4 && **c != "-") {
        text = text.replace(code, &ystpay::protocol::types::mask(code));
    }
    let usage = rep.verdict == Verdict::Usage && !json_mode;
    if usage {
        eprint!(
            "ystpay {}: {}",
            rep.operation,
            text.trim_start_matches("USAGE_ERROR").trim_start()
        );
    } else {
        print!("{text}");
    }
    let _ = std::io::stdout().flush();
    rep.verdict.exit_code()
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let code = match cli.command {
        Command::Pay { args, conn } => {
            let json_mode = conn.json;
            let code = args.code.clone();
            run_op("pay", &conn, &[Some(code.as_str())], |c| {
                ops::pay(c, &args, json_mode)
            })
        }
        Command::Query { args, conn } => {
            let code = args.code.clone();
            run_op("query", &conn, &[code.as_deref()], |c| ops::query(c, &args))
        }
        Command::Refund { args, conn } => run_op("refund", &conn, &[], |c| ops::refund(c, &args)),
        Command::RefundQuery { args, conn } => {
            run_op("refund-query", &conn, &[], |c| ops::refund_query(c, &args))
        }
        Command::Revoke { args, conn } => {
            let code = args.code.clone();
            run_op("revoke", &conn, &[code.as_deref()], |c| {
                ops::revoke(c, &args)
            })
        }
        Command::NativePay { args, conn } => {
            let json_mode = conn.json;
            run_op("native-pay", &conn, &[], |c| {
                ops::native_pay(c, &args, json_mode)
            })
        }
        Command::NativeQuery { args, conn } => {
            run_op("native-query", &conn, &[], |c| ops::native_query(c, &args))
        }
        Command::JsPay { args, conn } => run_op("js-pay", &conn, &[], |c| ops::js_pay(c, &args)),
        Command::H5Pay { args, conn } => run_op("h5-pay", &conn, &[], |c| ops::h5_pay(c, &args)),
        Command::Journal(cmd) => journal::run(cmd),
        Command::Notify { listen, conn } => run_notify(listen, &conn),
        Command::Qr(a) => run_qr(a),
        Command::Config {
            keys,
            protect,
            conn,
        } => match protect {
            Some(file) => run_protect(file, &conn),
            None => run_config(keys, &conn),
        },
        Command::Sim(a) => run_sim(&a),
        Command::Demo(a) => demo::run(a),
        Command::Doctor { conn } => doctor::run(&conn),
    };
    std::process::exit(code);
}
