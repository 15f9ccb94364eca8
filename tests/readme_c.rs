//! The README's 5-minute C walkthrough compiles (every warning an error)
//! against `include/ystpay.h` and `libystpay.so`, and settles a payment
//! against a simulator on port 0 — so the first C code a newcomer copies
//! works. (CI also builds it from the Windows kit and runs it under Wine:
//! `scripts/ci-windows.sh`.)
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ystpay_sim::{SimConfig, Simulator, TrueStatus};

const README: &str = include_str!("../README.md");

/// Where `cargo test` just built `libystpay.so`: `target/<profile>/deps`,
/// beside this test executable (`target/<profile>` may hold an older copy).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

#[test]
fn readme_c_walkthrough_compiles_and_pays() {
    let start = README.find("```c\n").expect("a C block in the README") + 5;
    let len = README[start..].find("```").expect("the C block ends");
    let code = &README[start..start + len];
    let url_in_readme = "http://127.0.0.1:8088/ystpay/service/unitive.api";
    assert!(
        code.contains(url_in_readme),
        "the walkthrough uses ystpay sim's URL"
    );

    let sim = Simulator::start(SimConfig {
        time_scale: 20.0,
        ..SimConfig::default()
    })
    .expect("simulator starts");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let src = tmp.join("readme_pos.c");
    std::fs::write(&src, code.replace(url_in_readme, &sim.api_url())).unwrap();
    let exe = tmp.join("readme_pos");
    let lib = lib_dir();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&cc)
        .args(["-std=gnu99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib)
        .args(["-lystpay", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler '{cc}': {e}"));
    assert!(status.success(), "the README's C code does not compile");

    // The fresh library first: cargo's LD_LIBRARY_PATH (which outranks the
    // RUNPATH) also names target/<profile>, where an older copy may lie.
    let mut paths = vec![lib.clone()];
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        paths.extend(std::env::split_paths(&old));
    }
    // The walkthrough keeps its journal in the current folder.
    let run_dir = tmp.join("readme_pos_run");
    let _ = std::fs::remove_dir_all(&run_dir);
    std::fs::create_dir_all(&run_dir).unwrap();
    let out = Command::new(&exe)
        .current_dir(&run_dir)
        .env(
            "LD_LIBRARY_PATH",
            std::env::join_paths(paths).expect("paths"),
        )
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("交易金额：12.50元"),
        "the receipt is printed: {text}"
    );
    // The settle flow ran: the progress callback saw the payment sent, the
    // customer's password wait (code …55) and the end; the journal exists.
    for stage in ["stage 1:", "stage 2:", "stage 7: PAID"] {
        assert!(text.contains(stage), "progress '{stage}' printed: {text}");
    }
    assert!(
        run_dir.join("pos-journal.db").exists(),
        "the journal was written"
    );
    let orders = sim.control().orders("demo");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, TrueStatus::Paid);
    assert_eq!(orders[0].total_fee, 1250);
}
