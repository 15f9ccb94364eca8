//! `ystpay doctor` (src/doctor.rs) against the simulator and a TLS server
//! with rcgen certificates: all ✓, and each ✗ naming its cause. Also: a pay
//! with wrong credentials ends at once with the platform's code.
//!
//! The tests share the library's one steppable clock, so they run one at a
//! time (`ONE`).

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use ystpay::doctor::{self, Report};
use ystpay_sim::{RunningSim, SimConfig, Simulator};

static ONE: Mutex<()> = Mutex::new(());

fn one() -> std::sync::MutexGuard<'static, ()> {
    ONE.lock().unwrap_or_else(|p| p.into_inner())
}

fn sim() -> RunningSim {
    Simulator::start(SimConfig::default()).expect("simulator starts")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ystpay-doctor-{name}-{}-{}",
        std::process::id(),
        ystpay::time::system_ms()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ini(url: &str, d: &Path, pass: &str, key: &str, extra: &str) -> String {
    format!(
        "[ystpay]\nserver_url = {url}\nacct = demo\npass = {pass}\nprivate_key = {key}\nconnect_timeout_ms = 1000\njournal = {}\nlog_file = {}\n{extra}",
        d.join("journal.db").display(),
        d.join("log").join("ystpay.log").display()
    )
}

fn doctor(text: &str) -> Report {
    let (settings, lines) = doctor::settings_from_ini(text);
    let r = doctor::run(&settings.expect("settings"), lines, None);
    let t = r.to_text();
    for secret in [
        "demo123",
        "0123456789ABCDEF",
        "wrongpass1",
        "FEDCBA9876543210",
    ] {
        assert!(!t.contains(secret), "a secret in the report:\n{t}");
    }
    let dsn = ystpay::protocol::crypto::derive_dsn("demo", "0123456789ABCDEF", "demo123");
    assert!(!t.contains(&dsn), "{t}");
    println!("{t}");
    r
}

/// The ✗ line of `check`, which must exist.
fn bad<'a>(r: &'a Report, check: &str) -> &'a doctor::Line {
    r.lines
        .iter()
        .find(|l| l.check == check && !l.ok)
        .unwrap_or_else(|| panic!("no ✗ {check}:\n{}", r.to_text()))
}

#[test]
fn all_checks_pass_against_the_simulator_within_three_seconds() {
    let _g = one();
    let s = sim();
    let d = dir("ok");
    let r = doctor(&ini(&s.api_url(), &d, "demo123", "0123456789ABCDEF", ""));
    assert!(r.all_ok(), "{}", r.to_text());
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    for check in [
        "config",
        "tcp",
        "clock",
        "credentials",
        "journal",
        "log",
        "retention",
    ] {
        assert!(r.lines.iter().any(|l| l.check == check && l.ok), "{check}");
    }
    let json = r.to_json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["lines"].as_array().unwrap().len(), r.lines.len());
}

#[test]
fn a_wrong_private_key_is_named() {
    let _g = one();
    let s = sim();
    let d = dir("key");
    let r = doctor(&ini(&s.api_url(), &d, "demo123", "FEDCBA9876543210", ""));
    let l = bad(&r, "credentials");
    assert!(l.found.contains("private_key"), "{l:?}");
    assert!(l.found.contains("E1"), "the platform's code: {l:?}");
    assert!(
        l.fix.contains("private_key") && l.fix.contains("pass"),
        "{l:?}"
    );
}

#[test]
fn a_wrong_pass_is_named() {
    let _g = one();
    let s = sim();
    let d = dir("pass");
    let r = doctor(&ini(&s.api_url(), &d, "wrongpass1", "0123456789ABCDEF", ""));
    let l = bad(&r, "credentials");
    assert!(l.found.contains("pass") && l.found.contains("E1"), "{l:?}");
}

#[test]
fn a_stopped_simulator_is_named() {
    let _g = one();
    let url = {
        let s = sim();
        s.api_url()
    };
    let d = dir("stopped");
    let started = Instant::now();
    let r = doctor(&ini(&url, &d, "demo123", "0123456789ABCDEF", ""));
    assert!(started.elapsed() < Duration::from_secs(3));
    let l = bad(&r, "tcp");
    assert!(l.found.contains("cannot connect"), "{l:?}");
    assert!(
        !r.lines
            .iter()
            .find(|l| l.check == "credentials")
            .unwrap()
            .ok
    );
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let _g = one();
    let s = sim();
    let d = dir("key");
    let r = doctor(&ini(
        &s.api_url(),
        &d,
        "demo123",
        "0123456789ABCDEF",
        "colour = blue\n",
    ));
    let l = bad(&r, "config");
    assert!(l.found.contains("'colour' (line 9)"), "{l:?}");
    // Everything else is still checked.
    assert!(r.lines.iter().any(|l| l.check == "credentials" && l.ok));
}

#[test]
fn an_unwritable_journal_folder_is_named() {
    // Tests run as root here, and root writes into a read-only folder: the
    // journal's "folder" is a regular file instead, which no user can
    // create anything in (the same failure a read-only folder gives).
    let _g = one();
    let s = sim();
    let d = dir("ro");
    let file = d.join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let text = ini(&s.api_url(), &d, "demo123", "0123456789ABCDEF", "")
        .replace(
            &d.join("journal.db").display().to_string(),
            &file.join("journal.db").display().to_string(),
        )
        .replace(
            &d.join("log").join("ystpay.log").display().to_string(),
            &file.join("ystpay.log").display().to_string(),
        );
    let r = doctor(&text);
    let j = bad(&r, "journal");
    assert!(j.found.contains("cannot open"), "{j:?}");
    let l = bad(&r, "log");
    assert!(l.found.contains("cannot write"), "{l:?}");
}

#[test]
fn a_clock_three_years_ahead_is_named() {
    let _g = one();
    let s = sim();
    let d = dir("clock");
    let three_years = 3 * 365 * 86_400_000;
    ystpay::time::testing::step_clock(three_years);
    let r = doctor(&ini(&s.api_url(), &d, "demo123", "0123456789ABCDEF", ""));
    ystpay::time::testing::step_clock(-three_years);
    let l = bad(&r, "clock");
    assert!(l.found.contains("days ahead of the platform's"), "{l:?}");
    assert!(l.fix.contains("检查收银机的日期和时间"), "{l:?}");
}

/// A CA, and a server certificate for `localhost` signed by it that
/// expired in 2020.
fn expired_pki() -> (String, Vec<u8>, Vec<u8>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "doctor CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.not_before = rcgen::date_time_ymd(2019, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2020, 1, 1);
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    (ca_cert.pem(), cert.der().to_vec(), key.serialize_der())
}

/// A TLS server on 127.0.0.1 that completes handshakes (the client
/// refuses them) and answers nothing.
fn tls_server(cert: Vec<u8>, key: Vec<u8>) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(cert)],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.into()),
        )
        .unwrap();
    let cfg = Arc::new(cfg);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { continue };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
            let mut conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            let _ = conn.complete_io(&mut tcp);
            let _ = tcp.flush();
        }
    });
    port
}

#[test]
fn an_expired_certificate_names_the_clock_in_the_doctor_and_the_payment() {
    let _g = one();
    let (ca_pem, cert, key) = expired_pki();
    let port = tls_server(cert, key);
    let d = dir("expired");
    let ca = d.join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();
    let url = format!("https://localhost:{port}/ystpay/service/unitive.api");
    let extra = format!("ca_file = {}\n", ca.display());
    let r = doctor(&ini(&url, &d, "demo123", "0123456789ABCDEF", &extra));
    let l = bad(&r, "tls");
    assert!(l.found.contains("expired"), "{l:?}");
    assert!(
        l.fix.contains("check the register's date and time"),
        "{l:?}"
    );

    // A payment says the same, in the cashier's words.
    let (settings, _) =
        doctor::settings_from_ini(&ini(&url, &d, "demo123", "0123456789ABCDEF", &extra));
    let reg = ystpay::register::Register::open(&settings.unwrap(), Default::default()).unwrap();
    let s = reg
        .settle_pay(
            None,
            &ystpay::flow::PayOrder::new(100, "134567890123456789"),
            &ystpay::SettleOptions::default(),
        )
        .unwrap();
    assert!(s.detail.contains("检查收银机的日期和时间"), "{}", s.detail);
}

#[test]
fn a_pay_with_wrong_credentials_ends_at_once_with_the_platforms_code() {
    let _g = one();
    let s = sim();
    let d = dir("pay");
    let (settings, _) =
        doctor::settings_from_ini(&ini(&s.api_url(), &d, "wrongpass1", "0123456789ABCDEF", ""));
    let reg = ystpay::register::Register::open(&settings.unwrap(), Default::default()).unwrap();
    let started = Instant::now();
    let out = reg
        .settle_pay(
            None,
            &ystpay::flow::PayOrder::new(100, "134567890123456789"),
            &ystpay::SettleOptions::default(),
        )
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.outcome, ystpay::Outcome::Unknown, "{out:?}");
    assert!(out.detail.contains("E10002"), "{}", out.detail);
    assert!(out.detail.contains("private_key"), "{}", out.detail);
    assert!(!out.detail.contains("wrongpass1"));
}

/// Runs `ystpay_doctor` on a C client of `url` with `enc`: the report's
/// bytes and the number of ✗ lines, after a first call with a small buffer
/// (YSTPAY_ERR_BUFFER_TOO_SMALL with the size needed, nothing written).
fn c_doctor(url: &str, key: &str, enc: i32) -> (Vec<u8>, i32) {
    use std::ffi::CString;
    use std::os::raw::c_char;
    use ystpay::ffi::client::*;
    use ystpay::ffi::codes::*;
    use ystpay::ffi::doctor::ystpay_doctor;
    let cs = |s: &str| CString::new(s).unwrap();
    let (u, a, p, k) = (cs(url), cs("demo"), cs("demo123"), cs(key));
    let mut c = std::ptr::null_mut();
    // SAFETY: NUL-terminated strings, writable out pointer.
    let rc = unsafe {
        ystpay_client_new(
            u.as_ptr(),
            a.as_ptr(),
            p.as_ptr(),
            k.as_ptr(),
            1000,
            2000,
            enc,
            0,
            &mut c,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    let mut small = [0x55 as c_char; 8];
    let (mut needed, mut failed) = (0, -1);
    // SAFETY: live client; the buffer and its size match.
    let rc = unsafe { ystpay_doctor(c, small.as_mut_ptr(), 8, &mut needed, &mut failed) };
    assert_eq!(rc, YSTPAY_ERR_BUFFER_TOO_SMALL);
    assert!(needed > 8, "{needed}");
    assert_eq!(failed, -1, "failed is written only with the report");
    assert!(small.iter().all(|&b| b == 0x55), "nothing written");
    let mut buf = vec![0 as c_char; 16384];
    // SAFETY: as above.
    let rc = unsafe {
        ystpay_doctor(
            c,
            buf.as_mut_ptr(),
            buf.len() as i32,
            &mut needed,
            &mut failed,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    // SAFETY: a handle from ystpay_client_new, freed once.
    unsafe { ystpay_client_free(c) };
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as u8)
        .collect();
    assert_eq!(bytes.len() + 1, needed as usize);
    (bytes, failed)
}

#[test]
fn the_c_doctor_reports_in_the_clients_encoding() {
    let _one = one();
    let sim = sim();
    let (utf8, failed) = c_doctor(&sim.api_url(), "0123456789ABCDEF", 65001);
    let text = String::from_utf8(utf8).expect("UTF-8 for a UTF-8 client");
    assert_eq!(failed, 0, "{text}");
    assert!(text.contains('✓') && !text.contains('✗'), "{text}");
    assert!(!text.contains("0123456789ABCDEF") && !text.contains("demo123"));
    // A GBK client gets GBK, with √ for ✓; a wrong key is counted and named.
    let (gbk, failed) = c_doctor(&sim.api_url(), "FEDCBA9876543210", 936);
    let (text, _, bad_bytes) = encoding_rs::GBK.decode(&gbk);
    assert!(!bad_bytes, "valid GBK");
    assert!(failed >= 1, "{text}");
    assert!(text.contains('√') && text.contains('×'), "{text}");
    assert!(text.contains("credentials"), "{text}");
    assert!(!text.contains("FEDCBA9876543210"), "{text}");
}
