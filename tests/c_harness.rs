//! Builds the C programs in `examples-c/` with the system C compiler
//! against `libystpay.so` and runs them against a simulator started in this
//! process on port 0. Unix only (the Windows builds run under Wine in
//! `scripts/ci-ffi.sh`).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ystpay_sim::{SimConfig, Simulator};

/// Where `cargo test` just built `libystpay.so`: `target/<profile>/deps`,
/// beside this test executable. (`target/<profile>` itself may hold an older
/// copy from the last `cargo build`, so it is not used.)
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// Compiles `examples-c/<name>.c` strictly (C99, every warning an error).
fn build(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    assert!(
        lib.join("libystpay.so").exists() || lib.join("libystpay.dylib").exists(),
        "no libystpay in {}",
        lib.display()
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("examples-c").join(format!("{name}.c")))
        .arg("-o")
        .arg(&out)
        .arg("-L")
        .arg(&lib)
        .args(["-lystpay", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler '{cc}': {e}"));
    assert!(status.success(), "compiling examples-c/{name}.c failed");
    out
}

/// A command running a C program built by [`build`]. The library directory
/// goes first on `LD_LIBRARY_PATH` (which outranks the program's RUNPATH):
/// cargo's own `LD_LIBRARY_PATH` also names `target/<profile>`, where an
/// older `libystpay.so` from the last `cargo build` may lie.
fn program(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    let mut paths = vec![lib_dir()];
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        paths.extend(std::env::split_paths(&old));
    }
    if let Ok(joined) = std::env::join_paths(paths) {
        cmd.env("LD_LIBRARY_PATH", joined);
    }
    cmd
}

fn start_sim() -> ystpay_sim::RunningSim {
    Simulator::start(SimConfig {
        time_scale: 20.0,
        ..Default::default()
    })
    .expect("start the simulator")
}

#[test]
fn c_harness_passes_against_the_simulator() {
    let harness = build("harness");
    let sim = start_sim();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = program(&harness)
        .arg(sim.api_url())
        .current_dir(dir)
        .output()
        .expect("run harness");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the C harness failed");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" 0 failed"), "unexpected summary: {last}");
}

/// The settle flow through the C ABI: settle-pay with a password wait,
/// progress callback, cancel from another thread, refunds, QR-code order,
/// journal listing and totals, and recovery after a child is SIGKILLed
/// mid-wait (compared with the simulator's truth).
#[test]
fn c_settle_flow_passes_against_the_simulator() {
    let settle = build("settle");
    let sim = start_sim();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = program(&settle)
        .arg(sim.api_url())
        .arg(dir)
        .current_dir(dir)
        .output()
        .expect("run settle");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the C settle harness failed");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" 0 failed"), "unexpected summary: {last}");
}

/// The started operations through the C ABI (examples-c/started.c): three
/// payments at once polled to their ends, a cancel after 1 s, a handle
/// freed while its payment runs. The simulator runs at time scale 1: a
/// customer's password takes real seconds.
#[test]
fn c_started_operations_pass_against_the_simulator() {
    let started = build("started");
    let sim = Simulator::start(SimConfig::default()).expect("start the simulator");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let out = program(&started)
        .arg(sim.api_url())
        .arg(dir)
        .current_dir(dir)
        .output()
        .expect("run started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the C started-operations harness failed"
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" 0 failed"), "unexpected summary: {last}");
}

#[test]
fn pos_example_pays_and_reports_refusals() {
    let pos = build("pos_example");
    let sim = start_sim();
    let run = |amount: &str, code: &str| {
        program(&pos)
            .args([sim.api_url().as_str(), amount, code])
            .output()
            .expect("run pos_example")
    };
    let paid = run("1234", "134567890123456701");
    let text = String::from_utf8_lossy(&paid.stdout);
    assert_eq!(paid.status.code(), Some(0), "{text}");
    assert!(text.starts_with("PAID 1234 fen"), "{text}");
    assert!(
        text.contains("交易金额：12.34元"),
        "receipt printed: {text}"
    );
    let password = run("500", "134567890123456752");
    assert_eq!(
        password.status.code(),
        Some(0),
        "a password wait is settled by query"
    );
    let refused = run("500", "134567890123456771");
    let text = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(text.starts_with("NOT PAID: E12001"), "{text}");
    let bad = run("-5", "134567890123456701");
    assert_eq!(bad.status.code(), Some(2));
}

/// The money truth through the C ABI (examples-c/money.c): a serial used
/// twice is never PAID; recovery right after a SIGKILL settles the payment;
/// the recovery report lists it. Every journal state the program reports
/// is compared here with the simulator's truth.
#[test]
fn c_money_truth_under_a_reused_serial_and_a_kill() {
    let money = build("money");
    let sim = start_sim();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("money-journals");
    std::fs::create_dir_all(&dir).unwrap();
    let out = program(&money)
        .arg(sim.api_url())
        .arg(&dir)
        .current_dir(&dir)
        .output()
        .expect("run money");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the C money checks failed");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" 0 failed"), "unexpected summary: {last}");
    let ctl = sim.control();
    let mut truths = 0;
    for line in stdout.lines().filter_map(|l| l.strip_prefix("TRUTH ")) {
        let (seq, state) = line.split_once(' ').unwrap();
        let t = ctl.order("demo", seq).expect("the platform knows it");
        let status = format!("{:?}", t.status).to_lowercase();
        let agrees = match state {
            "paid" => status == "paid" && t.pay_count == 1,
            // Revoked by the register: the money returned or never taken.
            "revoked" => status == "revoked" || status == "closed",
            other => panic!("{seq}: journal {other}"),
        };
        assert!(agrees, "{seq}: journal {state}, platform {status}");
        truths += 1;
    }
    assert_eq!(truths, 3, "{stdout}");
}
