//! Every subcommand of the built `ystpay` binary, run against a simulator on
//! a free loopback port. Every run's output is checked for secrets.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use ystpay_sim::{Device, Fault, RunningSim, SimConfig, Simulator, TrueStatus};

const BIN: &str = env!("CARGO_BIN_EXE_ystpay");

fn sim() -> RunningSim {
    Simulator::start(SimConfig {
        time_scale: 20.0,
        ..SimConfig::default()
    })
    .expect("simulator starts")
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "ystpay-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes an INI configuration for the demo device at `url`.
fn config_file(dir: &Path, url: &str, extra: &str) -> PathBuf {
    let d = Device::demo();
    let path = dir.join("ystpay.ini");
    std::fs::write(
        &path,
        format!(
            "; test register\n[ystpay]\nserver_url = {url}\nacct = {}\npass = {}\nprivate_key = {}\n{extra}",
            d.acct, d.pass, d.private_key
        ),
    )
    .unwrap();
    path
}

/// Every value that must never be printed or logged.
fn secrets() -> Vec<String> {
    let d = Device::demo();
    vec![
        d.pass.clone(),
        d.private_key.clone(),
        d.dsn(),
        d.dsn().to_ascii_lowercase(),
        ystpay::protocol::crypto::md5_upper(d.pass.as_bytes()),
    ]
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs the binary with no YSTPAY_* variables but those in `env`, checks
/// that neither output holds a secret or a full payment code from `args`.
fn run_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Out {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("YSTPAY_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("binary runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    let mut forbidden = secrets();
    let mut codes: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--code")
        .map(|w| w[1])
        .collect();
    if let Some(t) = stdin {
        codes.push(t.trim());
    }
    forbidden.extend(codes.iter().filter(|c| c.len() > 8).map(|c| c.to_string()));
    for s in &forbidden {
        assert!(
            !out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()),
            "secret {s:?} printed by {args:?}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    out
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Out {
    run_with(args, env, None)
}

/// `args` + `--config FILE --json` for `sim`.
fn op(sim: &RunningSim, dir: &Path, args: &[&str]) -> Out {
    let cfg = config_file(dir, &sim.api_url(), "");
    let mut a: Vec<&str> = args.to_vec();
    let cfg_s = cfg.display().to_string();
    a.extend(["--config", &cfg_s, "--json"]);
    run(&a, &[])
}

fn env_for(sim: &RunningSim) -> Vec<(&'static str, String)> {
    let d = Device::demo();
    vec![
        ("YSTPAY_SERVER_URL", sim.api_url()),
        ("YSTPAY_ACCT", d.acct),
        ("YSTPAY_PASS", d.pass),
        ("YSTPAY_PRIVATE_KEY", d.private_key),
    ]
}

fn envs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}

#[test]
fn pay_paid_with_receipt_text_and_escpos() {
    let sim = sim();
    let dir = temp_dir();
    let cfg = config_file(&dir, &sim.api_url(), "encoding = gbk\n");
    let receipt = dir.join("receipt.txt");
    let o = run(
        &[
            "pay",
            "--config",
            cfg.to_str().unwrap(),
            "--amount",
            "43.20",
            "--code",
            "134567890123456701",
            "--goods",
            r#"[{"goodsId":"2900002400915","goodsName":"奶油曲奇","price":"17.60","quantity":"1"},{"goodsId":"2900002400922","goodsName":"小石头","price":"25.60","quantity":"1"}]"#,
            "--receipt-out",
            receipt.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.starts_with("PAID"), "{}", o.stdout);
    assert!(o.stdout.contains("1345**********6701"));
    assert!(o.stdout.contains("43.20 (4320 fen)"));
    assert!(o.stdout.contains("【商户联】"));
    // The receipt file is GBK text with CRLF (encoding = gbk).
    let bytes = std::fs::read(&receipt).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "GBK, not UTF-8");
    let text = ystpay::receipt::decode_gbk(&bytes);
    assert!(text.contains("交易金额：43.20元\r\n"), "{text}");

    let esc = dir.join("receipt.bin");
    let o = run(
        &[
            "pay",
            "--config",
            cfg.to_str().unwrap(),
            "--fee",
            "100",
            "--code",
            "134567890123456702",
            "--receipt-out",
            esc.to_str().unwrap(),
            "--receipt-format",
            "escpos",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.code, 0);
    let j = o.json();
    assert_eq!(j["outcome"], "paid");
    assert_eq!(j["status"], "S");
    assert_eq!(j["total_fee"], 100);
    let bytes = std::fs::read(&esc).unwrap();
    assert_eq!(&bytes[..4], &[0x1B, 0x40, 0x1C, 0x26]);
    assert!(bytes.ends_with(&[0x1D, 0x56, 0x42, 0x00]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pay_outcomes_have_distinct_exit_codes() {
    let sim = sim();
    let dir = temp_dir();
    // 70-79: refused, status F → failed (1).
    let o = op(
        &sim,
        &dir,
        &["pay", "--fee", "100", "--code", "134567890123456771"],
    );
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert_eq!(o.json()["outcome"], "failed");
    assert_eq!(o.json()["code"], "E12001");
    // 80-89: "busy" without a status — the money may be taken → unknown (3).
    let o = op(
        &sim,
        &dir,
        &["pay", "--fee", "100", "--code", "134567890123456781"],
    );
    assert_eq!(o.code, 3, "{}", o.stdout);
    let seq = o.json()["req_seq"].as_str().unwrap().to_string();
    assert_eq!(o.json()["outcome"], "unknown");
    // ...and a query shows it was paid.
    let o = op(&sim, &dir, &["query", &seq]);
    assert_eq!(o.code, 0);
    assert_eq!(o.json()["outcome"], "paid");
    // 50-59: waiting for the password (4).
    let o = op(
        &sim,
        &dir,
        &[
            "pay",
            "--fee",
            "100",
            "--code",
            "134567890123456753",
            "--req-seq",
            "5550001",
        ],
    );
    assert_eq!(o.code, 4);
    assert_eq!(o.json()["outcome"], "waiting");
    let o = op(
        &sim,
        &dir,
        &["query", "5550001", "--code", "134567890123456753"],
    );
    assert!(o.code == 4 || o.code == 0, "{}", o.stdout);
    // A signed "paid" about another amount proves nothing: unknown (3),
    // never paid (the one reading of answers, src/reading.rs).
    sim.control().inject(Fault::WrongAmount, 1);
    let o = op(
        &sim,
        &dir,
        &["pay", "--fee", "100", "--code", "134567890123456702"],
    );
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert_eq!(o.json()["outcome"], "unknown");
    assert_eq!(o.json()["total_fee"], 101);
    let o = op(
        &sim,
        &dir,
        &[
            "pay",
            "--fee",
            "100",
            "--code",
            "134567890123456703",
            "--req-seq",
            "5550002",
        ],
    );
    assert_eq!((o.code, o.json()["outcome"].as_str()), (0, Some("paid")));
    sim.control().inject(Fault::WrongAmount, 1);
    let o = run(
        &[
            "pay",
            "--fee",
            "100",
            "--code",
            "134567890123456703",
            "--req-seq",
            "5550002",
        ],
        &envs(&env_for(&sim)),
    );
    assert_eq!(o.code, 3, "{}", o.stdout);
    assert!(o.stdout.contains("¥1.01, not ¥1.00"), "{}", o.stdout);
    // A field rule broken: usage (2), nothing sent.
    let o = op(
        &sim,
        &dir,
        &["pay", "--fee", "0", "--code", "134567890123456701"],
    );
    assert_eq!(o.code, 2);
    assert_eq!(o.json()["outcome"], "usage_error");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pay_wait_polls_until_paid_and_reads_the_code_from_stdin() {
    let sim = sim();
    let env = env_for(&sim);
    let o = run_with(
        &[
            "pay",
            "--fee",
            "8800",
            "--code",
            "-",
            "--wait",
            "--interval",
            "0.1",
        ],
        &envs(&env),
        Some("134567890123456754\n"),
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.starts_with("PAID"));
    assert!(o.stdout.contains("1345**********6754"));
    assert!(
        o.stderr.contains("waiting for the customer"),
        "{}",
        o.stderr
    );
    assert!(
        o.stdout.contains("No journal is configured"),
        "{}",
        o.stdout
    );
}

#[test]
fn pay_wait_revokes_at_the_deadline() {
    let sim = sim();
    let mut env = env_for(&sim);
    env.push(("YSTPAY_SETTLE_DEADLINE_S", "1".into()));
    // 60: W, the customer would abandon only after 10 s (0.5 s at ×20)...
    // so use a slower simulator for this one.
    let slow = Simulator::start(SimConfig::default()).unwrap();
    env[0].1 = slow.api_url();
    let o = run(
        &[
            "pay",
            "--fee",
            "100",
            "--code",
            "134567890123456760",
            "--wait",
            "--interval",
            "0.2",
            "--json",
        ],
        &envs(&env),
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let j = o.json();
    assert_eq!(j["outcome"], "revoked");
    let seq = j["req_seq"].as_str().unwrap();
    assert_eq!(
        slow.control().order("demo", seq).unwrap().status,
        TrueStatus::Closed
    );
    drop(sim);
}

#[test]
fn refund_and_refund_query() {
    let sim = sim();
    let dir = temp_dir();
    let o = op(
        &sim,
        &dir,
        &["pay", "--fee", "1000", "--code", "134567890123456701"],
    );
    let trans = o.json()["trans_seq"].as_str().unwrap().to_string();
    let o = op(
        &sim,
        &dir,
        &[
            "refund",
            &trans,
            "--amount",
            "2.50",
            "--req-seq",
            "9900001",
            "--reason",
            "部分退款",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert_eq!(o.json()["refund_fee"], 250);
    let o = op(&sim, &dir, &["refund", &trans, "--fee", "300"]);
    assert_eq!(o.code, 0);
    let o = op(&sim, &dir, &["refund", &trans, "--fee", "1000"]);
    assert_eq!(o.code, 1, "more than is left: refused");
    let o = op(&sim, &dir, &["refund-query", &trans, "9900001"]);
    assert_eq!(o.code, 0);
    assert_eq!(o.json()["status"], "S");
    assert_eq!(o.json()["operation"], "refund-query");
    let o = op(&sim, &dir, &["refund-query", &trans, "404404"]);
    assert_eq!(o.code, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn revoke_a_waiting_payment() {
    let sim = sim();
    let dir = temp_dir();
    let o = op(
        &sim,
        &dir,
        &[
            "pay",
            "--fee",
            "100",
            "--code",
            "134567890123456760",
            "--req-seq",
            "7700001",
        ],
    );
    assert_eq!(o.code, 4);
    let o = op(
        &sim,
        &dir,
        &["revoke", "7700001", "--code", "134567890123456760"],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert_eq!(o.json()["outcome"], "revoked");
    assert_eq!(
        sim.control().order("demo", "7700001").unwrap().status,
        TrueStatus::Closed
    );
    let o = op(&sim, &dir, &["revoke", "7700001", "--channel", "w"]);
    assert_eq!(o.code, 0, "revoking twice is harmless");
    // Neither --code nor --channel: usage.
    let o = run(&["revoke", "7700001"], &[]);
    assert_eq!(o.code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

fn decode_png(path: &Path) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(
        info.width as usize,
        info.height as usize,
        |x, y| buf[y * info.line_size + x],
    );
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

#[test]
fn native_pay_draws_and_writes_the_qr_code_then_query_sees_it_paid() {
    let sim = sim();
    let dir = temp_dir();
    let png = dir.join("qr.png");
    let bmp = dir.join("qr.bmp");
    let esc = dir.join("qr.bin");
    let o = op(
        &sim,
        &dir,
        &[
            "native-pay",
            "--amount",
            "36.80",
            "--channel",
            "W",
            "--req-seq",
            "6600001",
            "--qr-png",
            png.to_str().unwrap(),
            "--qr-bmp",
            bmp.to_str().unwrap(),
            "--qr-escpos",
            esc.to_str().unwrap(),
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let j = o.json();
    let url = j["pay_url"].as_str().unwrap();
    assert!(url.starts_with("weixin://"));
    assert_eq!(decode_png(&png), url);
    assert_eq!(&std::fs::read(&bmp).unwrap()[..2], b"BM");
    assert_eq!(
        &std::fs::read(&esc).unwrap()[..4],
        &[0x1D, 0x76, 0x30, 0x00]
    );

    // Human output draws the code in the terminal.
    let cfg = config_file(&dir, &sim.api_url(), "");
    let o = run(
        &[
            "native-pay",
            "--config",
            cfg.to_str().unwrap(),
            "--fee",
            "100",
            "--channel",
            "a",
        ],
        &[],
    );
    assert_eq!(o.code, 0);
    assert!(
        o.stdout.contains('▀') && o.stdout.contains('█'),
        "{}",
        o.stdout
    );

    let o = op(&sim, &dir, &["native-query", "6600001"]);
    assert_eq!(o.code, 4, "not paid yet");
    sim.control().customer_pays("demo", "6600001").unwrap();
    let o = op(&sim, &dir, &["native-query", "6600001", "--channel", "W"]);
    assert_eq!(o.code, 0);
    assert_eq!(o.json()["outcome"], "paid");
    assert_eq!(o.json()["total_fee"], 3680);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn js_pay_and_h5_pay() {
    let sim = sim();
    let dir = temp_dir();
    let o = op(
        &sim,
        &dir,
        &[
            "js-pay",
            "--fee",
            "990",
            "--channel",
            "W",
            "--subopen-id",
            "o8tfs4224lgn3535353gdg",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    let j = o.json();
    assert_eq!(j["status"], "W");
    assert!(j["signature_info"]["paySign"].is_string(), "{j}");
    assert_eq!(j["subopen_id"], "o8tf**************3gdg");

    let o = op(
        &sim,
        &dir,
        &[
            "h5-pay",
            "--fee",
            "1500",
            "--channel",
            "W",
            "--ip",
            "125.71.132.197",
            "--redirect-url",
            "https://shop.example.com/paid.html",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(o.json()["pay_info"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    // WeChat H5 needs the customer's IP.
    let o = op(
        &sim,
        &dir,
        &[
            "h5-pay",
            "--fee",
            "1500",
            "--channel",
            "W",
            "--redirect-url",
            "https://shop.example.com/paid.html",
        ],
    );
    assert_eq!(o.code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn configuration_errors_are_usage_errors_that_name_their_source() {
    let o = run(&["pay", "--fee", "1", "--code", "134567890123456701"], &[]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("'server_url' is required"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("YSTPAY_SERVER_URL"), "{}", o.stderr);

    let sim = sim();
    let env = env_for(&sim);
    let mut e = envs(&env);
    e.push(("YSTPAY_REGISTER_NO", "12345"));
    let o = run(&["pay", "--fee", "1", "--code", "134567890123456701"], &e);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("YSTPAY_REGISTER_NO"), "{}", o.stderr);

    let o = run(
        &[
            "pay",
            "--fee",
            "1",
            "--code",
            "134567890123456701",
            "--set",
            "colour=blue",
        ],
        &envs(&env),
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("--set colour: unknown key 'colour'"),
        "{}",
        o.stderr
    );

    let dir = temp_dir();
    let bad = dir.join("bad.ini");
    std::fs::write(&bad, "server_url = x\nthis is not a pair\n").unwrap();
    let o = run(&["query", "1", "--config", bad.to_str().unwrap()], &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("line 2"), "{}", o.stderr);

    // A secret given wrong is not echoed.
    let o = run(
        &[
            "pay",
            "--fee",
            "1",
            "--code",
            "134567890123456701",
            "--set",
            "private_key=0123456789ABCDEF0",
        ],
        &envs(&env),
    );
    assert_eq!(o.code, 2);
    assert!(!o.stderr.contains("0123456789ABCDEF0"));

    // clap's own usage errors.
    assert_eq!(run(&["pay", "--fee", "1"], &[]).code, 2);
    assert_eq!(run(&["no-such-command"], &[]).code, 2);
    assert_eq!(run(&["--help"], &[]).code, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn network_failures_are_not_sent_or_unknown() {
    // A port nobody listens on: connection refused → not sent (5).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/ystpay/service/unitive.api",
        closed.local_addr().unwrap()
    );
    drop(closed);
    let d = Device::demo();
    let o = run(
        &[
            "pay",
            "--fee",
            "1",
            "--code",
            "134567890123456701",
            "--json",
        ],
        &[
            ("YSTPAY_SERVER_URL", url.as_str()),
            ("YSTPAY_ACCT", &d.acct),
            ("YSTPAY_PASS", &d.pass),
            ("YSTPAY_PRIVATE_KEY", &d.private_key),
        ],
    );
    assert_eq!(o.code, 5, "{}", o.stdout);
    assert_eq!(o.json()["outcome"], "not_sent");

    // Processed, then the connection dropped: unknown (3).
    let sim = sim();
    sim.control().inject(Fault::DropAfterCommit, 1);
    let dir = temp_dir();
    let o = op(
        &sim,
        &dir,
        &["pay", "--fee", "1", "--code", "134567890123456701"],
    );
    assert_eq!(o.code, 3, "{}", o.stdout);
    // A forged answer is not trusted either.
    sim.control().inject(Fault::BadSignature, 1);
    let o = op(
        &sim,
        &dir,
        &["pay", "--fee", "1", "--code", "134567890123456702"],
    );
    assert_eq!(o.code, 3, "{}", o.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn embedded_simulator_flag() {
    let o = run(
        &["pay", "--sim", "--fee", "100", "--code", "2812345678901201"],
        &[],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("Alipay"));
    assert!(o.stderr.contains("built-in simulator"));
}

#[test]
fn log_file_records_operations_without_secrets() {
    let sim = sim();
    let dir = temp_dir();
    let base = dir.join("logs").join("pos.log");
    let cfg = config_file(
        &dir,
        &sim.api_url(),
        &format!("log_file = {}\nlog_level = debug\n", base.display()),
    );
    let o = run(
        &[
            "pay",
            "--config",
            cfg.to_str().unwrap(),
            "--fee",
            "100",
            "--code",
            "134567890123456701",
        ],
        &[],
    );
    assert_eq!(o.code, 0);
    let o = run(
        &[
            "pay",
            "--config",
            cfg.to_str().unwrap(),
            "--fee",
            "100",
            "--code",
            "134567890123456771",
        ],
        &[],
    );
    assert_eq!(o.code, 1);
    let files: Vec<_> = std::fs::read_dir(base.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("pos-") && name.ends_with(".log"), "{name}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("auth_code=1345**********6701"), "{text}");
    assert!(text.contains("-> OK money=paid status=S"), "{text}");
    assert!(
        text.contains("ERROR pay") && text.contains("REFUSED"),
        "{text}"
    );
    assert!(text.contains("DEBUG pay"), "{text}");
    for s in secrets()
        .into_iter()
        .chain(["134567890123456701".into(), "134567890123456771".into()])
    {
        assert!(!text.contains(&s), "{s} in the log:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_shows_settings_with_secrets_hidden() {
    let sim = sim();
    let env = env_for(&sim);
    let o = run(&["config", "--register-no", "7"], &envs(&env));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout.contains("pass                 <hidden>"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("register_no          7"));
    // The retention keys: defaults, and from the environment like every key.
    assert!(
        o.stdout.contains("journal_keep_days    400"),
        "{}",
        o.stdout
    );
    let mut env_keep = envs(&env);
    env_keep.push(("YSTPAY_LOG_KEEP_DAYS", "30"));
    let o = run(&["config"], &env_keep);
    assert!(o.stdout.contains("log_keep_days        30"), "{}", o.stdout);
    // The keep-alive: the default, from the environment, and a bad value.
    assert!(o.stdout.contains("keep_alive_s         25"), "{}", o.stdout);
    let mut env_keep = envs(&env);
    env_keep.push(("YSTPAY_KEEP_ALIVE_S", "40"));
    let o = run(&["config"], &env_keep);
    assert!(o.stdout.contains("keep_alive_s         40"), "{}", o.stdout);
    let mut env_keep = envs(&env);
    env_keep.push(("YSTPAY_KEEP_ALIVE_S", "0"));
    let o = run(&["config"], &env_keep);
    assert_ne!(o.code, 0);
    assert!(
        o.stderr.contains("YSTPAY_KEEP_ALIVE_S")
            && o.stderr
                .contains("'keep_alive_s' must be a whole number of seconds from 1 to 300"),
        "{}",
        o.stderr
    );
    let o = run(&["config", "--keys"], &[]);
    assert_eq!(o.code, 0);
    for (k, _) in ystpay::config::KEYS {
        assert!(o.stdout.contains(k), "{k} missing");
    }
    let o = run(&["config", "--json"], &envs(&env));
    assert_eq!(o.json()["private_key"], "<hidden>");
}

/// Secrets at rest (docs/SECURITY.md): `--protect` is Windows-only here; a
/// file holding plain secrets that others can read is warned about; a
/// protected value read off Windows says to enter it again.
#[cfg(unix)]
#[test]
fn config_protect_and_the_readable_file_warning() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir();
    let cfg = config_file(&dir, "http://127.0.0.1:1/ystpay/service/unitive.api", "");
    let cfg_s = cfg.display().to_string();
    let before = std::fs::read(&cfg).unwrap();

    let o = run(&["config", "--protect", &cfg_s], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("Windows-only"), "{}", o.stderr);
    let o = run(&["config", "--protect", "--config", &cfg_s], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(
        std::fs::read(&cfg).unwrap(),
        before,
        "the file is untouched"
    );

    let mode = |m: u32| std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(m)).unwrap();
    for (m, warned) in [
        (0o644, true),
        (0o640, true),
        (0o604, true),
        (0o600, false),
        (0o400, false),
    ] {
        mode(m);
        let o = run(&["config", "--config", &cfg_s], &[]);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(
            o.stderr.contains("other users can read it"),
            warned,
            "mode {m:o}: {}",
            o.stderr
        );
        if warned {
            assert!(o.stderr.contains("pass, private_key"), "{}", o.stderr);
            assert!(o.stderr.contains("chmod 600"), "{}", o.stderr);
        }
    }
    // No plain secret in the file (they come from the environment): no warning.
    std::fs::write(
        &cfg,
        "server_url = http://127.0.0.1:1/ystpay/service/unitive.api\nacct = demo\n",
    )
    .unwrap();
    mode(0o644);
    let d = Device::demo();
    let o = run(
        &["config", "--config", &cfg_s],
        &[
            ("YSTPAY_PASS", &d.pass),
            ("YSTPAY_PRIVATE_KEY", &d.private_key),
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stderr.contains("warning"), "{}", o.stderr);

    // A value protected on Windows, read here.
    let protected = format!(
        "server_url = http://127.0.0.1:1/ystpay/service/unitive.api\nacct = demo\npass = dpapi:AQAAANCMnd8BFdERjHoAwE/Cl+s=\nprivate_key = {}\n",
        d.private_key
    );
    std::fs::write(&cfg, protected).unwrap();
    mode(0o644);
    let o = run(&["config", "--config", &cfg_s], &[]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("line 3"), "{}", o.stderr);
    assert!(
        o.stderr.contains("protected on Windows: enter them again"),
        "{}",
        o.stderr
    );
    // private_key is plain and readable by others: warned; pass is not plain.
    assert!(
        o.stderr.contains("holds private_key in plain text"),
        "{}",
        o.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn qr_subcommand_writes_every_form() {
    let dir = temp_dir();
    let url = "weixin://wxpay/bizpayurl?pr=jLbHdkp";
    let png = dir.join("a.png");
    let bmp = dir.join("a.bmp");
    let esc = dir.join("a.bin");
    let o = run(
        &[
            "qr",
            url,
            "--png",
            png.to_str().unwrap(),
            "--bmp",
            bmp.to_str().unwrap(),
            "--bmp-depth",
            "1",
            "--escpos",
            esc.to_str().unwrap(),
            "--style",
            "ascii",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("##"));
    assert_eq!(decode_png(&png), url);
    let b = std::fs::read(&bmp).unwrap();
    assert_eq!(u16::from_le_bytes([b[28], b[29]]), 1, "1-bit BMP");
    assert_eq!(&std::fs::read(&esc).unwrap()[..3], &[0x1D, 0x76, 0x30]);
    assert_eq!(run(&["qr", ""], &[]).code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sim_subcommand_serves_like_ystpay_sim() {
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--quiet",
            "--time-scale",
            "20",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/ystpay/service/unitive.api"));
    // The same server as ystpay-sim, console included (sim/README.md "Console").
    let host = url["http://".len()..]
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut page = String::new();
    {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(&host).unwrap();
        write!(
            s,
            "GET /sim/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        s.read_to_string(&mut page).unwrap();
    }
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("console.js"));
    let d = Device::demo();
    let o = run(
        &[
            "pay",
            "--fee",
            "100",
            "--code",
            "134567890123456701",
            "--json",
        ],
        &[
            ("YSTPAY_SERVER_URL", url.as_str()),
            ("YSTPAY_ACCT", &d.acct),
            ("YSTPAY_PASS", &d.pass),
            ("YSTPAY_PRIVATE_KEY", &d.private_key),
        ],
    );
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(o.code, 0, "{}", o.stdout);
    // Refuses a non-loopback address without --allow-remote.
    let o = run(&["sim", "--listen", "0.0.0.0:0"], &[]);
    assert_eq!(o.code, 2);
}

#[test]
fn demo_runs_a_checkout_day_quickly() {
    let dir = temp_dir();
    let t = Instant::now();
    let o = run(&["demo", "--dir", dir.to_str().unwrap()], &[]);
    let took = t.elapsed();
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(took < Duration::from_secs(30), "demo took {took:?}");
    for part in [
        "1. Barcode payment, paid at once",
        "【商户联】",
        "W — waiting for the customer",
        "→ PAID",
        "cancelled by the cashier: revoking",
        "REVOKED",
        "REFUNDED ¥17.60",
        "REFUNDED ¥5.00",
        "▀",
        "notification received",
        "<result>Y</result>",
        "H5 order",
        "JS order",
        "net             ¥145.40",
        "the platform's records agree",
        "Demo finished",
    ] {
        assert!(o.stdout.contains(part), "missing {part:?}:\n{}", o.stdout);
    }
    for code in [
        "134567890123456701",
        "134567890123456755",
        "2812345678901260",
    ] {
        assert!(!o.stdout.contains(code), "full payment code {code} printed");
    }
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let named = |end: &str| files.iter().any(|p| p.to_string_lossy().ends_with(end));
    assert!(
        named("receipt-1.escpos") && named("qr-5.png") && named("qr-5.bmp"),
        "{files:?}"
    );
    let logged = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    assert!(logged.contains("INFO  settle-refund settled"), "{logged}");
    // The journal it leaves behind lists the day.
    let journal = dir.join("journal.db");
    let o = run(
        &[
            "journal",
            "list",
            "--all",
            "--json",
            "--journal",
            journal.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json().as_array().unwrap().len(), 8, "{}", o.stdout);
    for s in secrets() {
        assert!(!logged.contains(&s), "{s} in the demo log");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A notice for order `req_seq` saying `status`, signed with the demo device's dsn.
fn signed_notice(req_seq: &str, status: &str) -> String {
    let d = Device::demo();
    let dsn = ystpay::protocol::Credentials::derive(&d.acct, &d.pass, &d.private_key).dsn;
    let data = format!(
        "<data><request_type>native_order_notice</request_type><req_seq>{req_seq}</req_seq>\
         <channel>W</channel><trans_seq>99000000000000000001</trans_seq><total_fee>3680</total_fee>\
         <status>{status}</status><pay_time>2026-11-28 10:00:00</pay_time></data>"
    );
    ystpay::protocol::ResponseEnvelope::seal(&dsn, "1795862019000", &data)
        .unwrap()
        .to_xml()
}

/// POSTs `body` to the receiver at `addr`; returns the whole HTTP answer.
fn post_notice(addr: &str, body: &str) -> String {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /notify HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn notify_receives_verifies_and_answers() {
    // The receiver's port first, so the simulator can be told where to post.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    for plain in [false, true] {
        let sim = Simulator::start(SimConfig {
            time_scale: 20.0,
            notify_url: Some(format!("http://{listen}/notify")),
            notify_plain: plain,
            ..SimConfig::default()
        })
        .unwrap();
        let env = env_for(&sim);
        let mut cmd = Command::new(BIN);
        cmd.args(["notify", "--listen", &listen, "--json"])
            .envs(envs(&env))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = lines.next().unwrap().unwrap();
        assert_eq!(url, format!("http://{listen}/notify"));

        let dir = temp_dir();
        let o = op(
            &sim,
            &dir,
            &[
                "native-pay",
                "--fee",
                "3680",
                "--channel",
                "W",
                "--req-seq",
                "4400001",
            ],
        );
        assert_eq!(o.code, 0);
        // A signed notice that says F is answered N and never reported.
        let reply = post_notice(&listen, &signed_notice("4400001", "F"));
        assert!(reply.contains("<result>N</result>"), "{reply}");
        sim.control().customer_pays("demo", "4400001").unwrap();
        let line = lines.next().unwrap().unwrap();
        child.kill().unwrap();
        let _ = child.wait();
        for secret in secrets() {
            assert!(!line.contains(&secret));
        }
        let j: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(j["req_seq"], "4400001");
        assert_eq!(j["status"], "S");
        assert_eq!(j["total_fee"], "3680");
        assert_eq!(
            j["verified"],
            if plain {
                "confirmed by query"
            } else {
                "signed"
            }
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sim.control().notices().iter().any(|n| n.delivered) {
            assert!(Instant::now() < deadline, "the platform never got Y");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn journal_list_totals_and_recover() {
    let sim = sim();
    let dir = temp_dir();
    let journal = dir.join("pos.db");
    let cfg = config_file(
        &dir,
        &sim.api_url(),
        &format!("journal = {}\n", journal.display()),
    );
    let cfg_s = cfg.to_str().unwrap();
    // Two settled payments and a refund, through the flow and the journal.
    let o = run(
        &[
            "pay",
            "--config",
            cfg_s,
            "--fee",
            "1000",
            "--code",
            "134567890123456701",
            "--wait",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let first = o.json();
    assert_eq!(first["outcome"], "paid");
    assert_eq!(first["state"], "paid");
    let o = run(
        &[
            "pay",
            "--config",
            cfg_s,
            "--fee",
            "250",
            "--code",
            "134567890123456771",
            "--wait",
            "--json",
        ],
        &[],
    );
    assert_eq!(o.code, 1, "refused: failed");
    assert_eq!(o.json()["outcome"], "failed");

    let o = run(&["journal", "list", "--config", cfg_s], &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("2 operation(s)"), "{}", o.stdout);
    assert!(o.stdout.contains("1345**********6701"), "{}", o.stdout);
    let o = run(&["journal", "list", "--config", cfg_s, "--json"], &[]);
    let ops = o.json();
    let states: Vec<&str> = ops
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["paid", "failed"]);

    let o = run(&["journal", "totals", "--config", cfg_s, "--json"], &[]);
    assert_eq!(o.code, 0);
    let t = o.json();
    assert_eq!(t["paid_fee"], 1000);
    assert_eq!(t["net_fee"], 1000);
    assert_eq!(t["open_count"], 0);
    let o = run(&["journal", "totals", "--config", cfg_s], &[]);
    assert!(
        o.stdout.contains("net") && o.stdout.contains("¥10.00"),
        "{}",
        o.stdout
    );

    // An operation left open (as after a power cut): paid on the platform,
    // still pending in the journal. Recovery asks the platform and settles it.
    let d = Device::demo();
    let client = ystpay::Client::new(&ystpay::ClientConfig::new(
        &sim.api_url(),
        &d.acct,
        &d.pass,
        &d.private_key,
    ))
    .unwrap();
    let mut req = ystpay::protocol::PayRequest::new("", 700, "134567890123456702");
    client.pay(&mut req).unwrap();
    {
        let j = ystpay::journal::Journal::open(&journal).unwrap();
        let mut op =
            ystpay::journal::NewOp::new(&d.acct, &req.req_seq, ystpay::journal::OpKind::Pay, 700);
        op.auth_code = Some("134567890123456702".into());
        j.begin(&op).unwrap();
    }
    let o = run(&["journal", "list", "--open", "--config", cfg_s], &[]);
    assert!(
        o.stdout.contains(&req.req_seq) && o.stdout.contains("pending"),
        "{}",
        o.stdout
    );
    let o = run(&["journal", "recover", "--config", cfg_s, "--json"], &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let r = o.json();
    assert_eq!(r["settled"][0]["req_seq"], req.req_seq.as_str());
    assert_eq!(r["settled"][0]["outcome"], "paid");
    assert_eq!(r["still_open"].as_array().unwrap().len(), 0);
    assert_eq!(r["ops"][0]["req_seq"], req.req_seq.as_str());
    assert_eq!(r["ops"][0]["state"], "paid");
    assert_eq!(r["ops"][0]["disposition"], "settled");
    // In words: each operation touched, with its kind and final state.
    let mut req = ystpay::protocol::PayRequest::new("", 300, "134567890123456704");
    client.pay(&mut req).unwrap();
    {
        let j = ystpay::journal::Journal::open(&journal).unwrap();
        let op =
            ystpay::journal::NewOp::new(&d.acct, &req.req_seq, ystpay::journal::OpKind::Pay, 300);
        j.begin(&op).unwrap();
    }
    let o = run(&["journal", "recover", "--config", cfg_s], &[]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let line = o
        .stdout
        .lines()
        .find(|l| l.contains(&req.req_seq))
        .unwrap_or_else(|| panic!("{}", o.stdout));
    assert!(
        line.starts_with("PAID") && line.contains(" pay ") && line.contains(" paid "),
        "{line}"
    );
    let o = run(&["journal", "totals", "--config", cfg_s, "--json"], &[]);
    assert_eq!(o.json()["paid_fee"], 2000);

    // Usage errors: no journal named, a journal that does not exist, a bad day.
    assert_eq!(run(&["journal", "list"], &[]).code, 2);
    let missing = dir.join("nope.db");
    let o = run(
        &["journal", "totals", "--journal", missing.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no journal at"), "{}", o.stderr);
    let o = run(
        &["journal", "list", "--config", cfg_s, "--day", "25/11/2025"],
        &[],
    );
    assert_eq!(o.code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads a CSV as Excel on a Chinese Windows would: GBK (strictly: a byte
/// that is not GBK fails the test), fields split by an independent RFC 4180
/// reader, blank lines dropped.
fn read_gbk_csv(bytes: &[u8]) -> (String, Vec<Vec<String>>) {
    let (text, _, bad) = encoding_rs::GBK.decode(bytes);
    assert!(!bad, "not GBK");
    assert!(
        !text.starts_with('\u{feff}'),
        "GBK carries no byte-order mark"
    );
    let rows = read_csv_text(&text);
    (text.into_owned(), rows)
}

fn read_csv_text(text: &str) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .filter(|f| !(f.len() == 1 && f[0].is_empty()))
        .collect()
}

/// `ystpay journal export` writes what a bookkeeper opens in Excel: GBK,
/// Chinese header, one row per operation, and day totals equal to
/// `ystpay journal totals`; `--utf8` writes the same text after a BOM.
#[test]
fn journal_export_csv_matches_totals() {
    use ystpay::journal::{COLUMNS, DAY_TOTALS_HEADER, LINE_TOTALS_HEADER, RANGE_TOTAL};
    use ystpay::protocol::types::fen_to_yuan;
    let sim = sim();
    let dir = temp_dir();
    let journal = dir.join("pos.db");
    let cfg = config_file(
        &dir,
        &sim.api_url(),
        &format!("journal = {}\n", journal.display()),
    );
    let cfg_s = cfg.to_str().unwrap();
    let pay = |fee: &str, code: &str| {
        let a = [
            "pay", "--config", cfg_s, "--fee", fee, "--code", code, "--wait", "--json",
        ];
        run(&a, &[]).json()
    };
    let paid = pay("1000", "134567890123456701");
    assert_eq!(paid["outcome"], "paid");
    let refused = pay("250", "134567890123456771");
    assert_eq!(refused["outcome"], "failed");
    // A refund through the flow, as a register makes it.
    let settings = ystpay::config::Settings::load(&cfg).unwrap();
    let reg = ystpay::register::Register::open(&settings, Default::default()).unwrap();
    let refund = reg
        .settle_refund(
            None,
            paid["req_seq"].as_str().unwrap(),
            300,
            "退货",
            &Default::default(),
        )
        .unwrap();
    assert_eq!(refund.state.as_str(), "refunded");
    drop(reg);

    let csv_path = dir.join("对账.csv");
    let csv_s = csv_path.to_str().unwrap();
    let o = run(
        &["journal", "export", "--config", cfg_s, "--csv", csv_s],
        &[],
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("wrote 3 operation(s)") && o.stdout.contains("GBK"),
        "{}",
        o.stdout
    );
    let bytes = std::fs::read(&csv_path).unwrap();
    let (text, rows) = read_gbk_csv(&bytes);
    for s in secrets() {
        assert!(!text.contains(&s), "secret in the CSV");
    }
    for code in ["134567890123456701", "134567890123456771"] {
        assert!(!text.contains(code), "full payment code in the CSV");
    }

    // The header and one row per operation, in the journal's order.
    let header: Vec<&str> = COLUMNS.iter().map(|(zh, _)| *zh).collect();
    assert_eq!(rows[0], header);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let ops = &rows[1..4];
    let cells = |name: &str| -> Vec<String> {
        ops.iter()
            .map(|r| r[col(name)].trim().to_string())
            .collect()
    };
    assert!(ops.iter().all(|r| r.len() == header.len()), "{ops:?}");
    assert_eq!(cells("类型"), ["条码支付", "条码支付", "退款"]);
    assert_eq!(cells("状态"), ["已支付", "失败", "已退款"]);
    assert_eq!(cells("金额（元）"), ["10.00", "2.50", "3.00"]);
    assert_eq!(
        (&cells("渠道")[0][..], &cells("渠道")[2][..]),
        ("微信", "微信")
    );
    assert_eq!(
        cells("请求流水号"),
        [
            paid["req_seq"].as_str().unwrap(),
            refused["req_seq"].as_str().unwrap(),
            refund.req_seq.as_str()
        ]
    );
    assert_eq!(
        cells("付款码"),
        ["1345**********6701", "1345**********6771", ""]
    );
    assert_eq!(cells("交易流水号")[0], paid["trans_seq"].as_str().unwrap());
    assert_eq!(cells("交易流水号")[2], paid["trans_seq"].as_str().unwrap());
    assert_eq!(cells("退款流水号")[2], refund.refund_seq.clone().unwrap());
    assert_eq!(cells("原支付流水号")[2], paid["req_seq"].as_str().unwrap());
    // Digits-only serials carry the tab that keeps Excel from rounding them.
    assert!(ops[0][col("请求流水号")].starts_with('\t'));
    let time = &ops[0][col("时间")];
    assert!(
        time.starts_with(&ystpay::time::today()) && time.len() == 19,
        "{time}"
    );

    // The totals are `journal totals`, line by line and for the day.
    let t = run(&["journal", "totals", "--config", cfg_s, "--json"], &[]).json();
    let lines_at = rows
        .iter()
        .position(|r| r[..] == LINE_TOTALS_HEADER)
        .unwrap();
    let days_at = rows
        .iter()
        .position(|r| r[..] == DAY_TOTALS_HEADER)
        .unwrap();
    assert_eq!(lines_at, 4, "the totals follow the operations");
    let lines = &rows[lines_at + 1..days_at];
    let want = t["lines"].as_array().unwrap();
    assert_eq!(lines.len(), want.len(), "{lines:?}");
    for (row, w) in lines.iter().zip(want) {
        let kind = ystpay::journal::OpKind::parse(w["kind"].as_str().unwrap()).unwrap();
        let state = ystpay::journal::OpState::parse(w["state"].as_str().unwrap()).unwrap();
        assert_eq!(row[0], t["day"].as_str().unwrap());
        assert_eq!(row[1], ystpay::journal::kind_label(kind));
        assert_eq!(
            row[2],
            ystpay::journal::channel_label(w["channel"].as_str().unwrap())
        );
        assert_eq!(row[3], ystpay::journal::state_label(state));
        assert_eq!(row[4], w["count"].as_i64().unwrap().to_string());
        assert_eq!(row[5], fen_to_yuan(w["fee"].as_i64().unwrap()));
    }
    let day_rows = &rows[days_at + 1..];
    assert_eq!(day_rows.len(), 1, "one day: no 合计 row");
    let fen = |k: &str| fen_to_yuan(t[k].as_i64().unwrap());
    assert_eq!(
        day_rows[0],
        [
            t["day"].as_str().unwrap().to_string(),
            fen("paid_fee"),
            fen("refunded_fee"),
            fen("net_fee"),
            t["open_count"].to_string()
        ]
    );
    assert_eq!(day_rows[0][3], "7.00");
    let printed = run(&["journal", "totals", "--config", cfg_s], &[]).stdout;
    assert!(
        printed.contains("¥7.00") && printed.contains("¥3.00"),
        "{printed}"
    );

    // --utf8: the same text after a byte-order mark.
    let utf8_path = dir.join("utf8.csv");
    let u = utf8_path.to_str().unwrap();
    let o = run(
        &[
            "journal", "export", "--config", cfg_s, "--csv", u, "--utf8", "--json",
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["ops"], 3);
    let ub = std::fs::read(&utf8_path).unwrap();
    assert_eq!(&ub[..3], b"\xEF\xBB\xBF");
    assert_eq!(std::str::from_utf8(&ub[3..]).unwrap(), text);

    // A range: yesterday (no operations, zeros) and today, then 合计.
    let today = ystpay::time::today();
    let yesterday = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d")
        .unwrap()
        .pred_opt()
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let range_path = dir.join("range.csv");
    let r = range_path.to_str().unwrap();
    let o = run(
        &[
            "journal", "export", "--config", cfg_s, "--day", &yesterday, "--to", &today, "--csv", r,
        ],
        &[],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let (_, rows) = read_gbk_csv(&std::fs::read(&range_path).unwrap());
    let days_at = rows
        .iter()
        .position(|r| r[..] == DAY_TOTALS_HEADER)
        .unwrap();
    let ty = run(
        &[
            "journal", "totals", "--config", cfg_s, "--day", &yesterday, "--json",
        ],
        &[],
    )
    .json();
    assert_eq!(ty["paid_fee"], 0);
    assert_eq!(
        rows[days_at + 1],
        [yesterday.as_str(), "0.00", "0.00", "0.00", "0"]
    );
    assert_eq!(rows[days_at + 2], day_rows[0]);
    assert_eq!(
        rows[days_at + 3],
        [RANGE_TOTAL, "10.00", "3.00", "7.00", "0"]
    );

    // Refused with exit 2, leaving nothing behind: a reversed range, a
    // folder that does not exist.
    let o = run(
        &[
            "journal", "export", "--config", cfg_s, "--day", &today, "--to", &yesterday, "--csv", r,
        ],
        &[],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("before the first day"), "{}", o.stderr);
    let nowhere = dir.join("missing").join("x.csv");
    let o = run(
        &[
            "journal",
            "export",
            "--config",
            cfg_s,
            "--csv",
            nowhere.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("cannot write"), "{}", o.stderr);
    assert!(!dir.join("missing").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn doctor_all_ok_then_an_unknown_key_named_in_text_and_json() {
    let s = sim();
    let d = temp_dir();
    let journal = d.join("j.db").display().to_string();
    let cfg = config_file(&d, &s.api_url(), &format!("journal = {journal}\n"));
    let started = Instant::now();
    let out = run(&["doctor", "--config", cfg.to_str().unwrap()], &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(out.stdout.contains("✓ credentials"), "{}", out.stdout);
    let cfg = config_file(&d, &s.api_url(), "colour = blue\n");
    let out = run(
        &["doctor", "--config", cfg.to_str().unwrap(), "--json"],
        &[],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["ok"], false);
    let bad = &v["lines"][0];
    assert_eq!(bad["check"], "config");
    assert!(bad["found"].as_str().unwrap().contains("'colour'"), "{v}");
}
