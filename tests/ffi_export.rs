//! `ystpay_journal_export_csv` called exactly as a POS program calls it:
//! a GBK client (ANSI program on Chinese Windows) settles payments against
//! the simulator on loopback, writes the day's CSV to a path with Chinese
//! characters, and the file read back as GBK holds one row per operation
//! and the totals `ystpay_journal_totals` reports. Every bad input gives its
//! documented result code and leaves no file behind.

use std::ffi::{c_char, CString};
use std::path::Path;
use std::ptr;

use ystpay::ffi::client::{
    ystpay_client, ystpay_client_free, ystpay_client_from_config, ystpay_client_new,
};
use ystpay::ffi::codes::*;
use ystpay::ffi::error::ystpay_last_error;
use ystpay::ffi::journal::{ystpay_journal_export_csv, ystpay_journal_totals};
use ystpay::ffi::records::{
    ystpay_day_totals, ystpay_settlement, YSTPAY_DAY_TOTALS_SIZE, YSTPAY_SETTLEMENT_SIZE,
};
use ystpay::ffi::settle::ystpay_settle_pay;
use ystpay::journal::{COLUMNS, DAY_TOTALS_HEADER};
use ystpay::protocol::types::fen_to_yuan;
use ystpay_sim::{SimConfig, Simulator};

const PASS: &str = "demo123";
const KEY: &str = "0123456789ABCDEF";

/// A zeroed record with `struct_size` set, as a C caller makes one.
fn record<T>(size: u32) -> Box<T> {
    // SAFETY: the records are plain old data; all-zero is valid.
    let mut r: Box<T> = Box::new(unsafe { std::mem::zeroed() });
    // SAFETY: every record starts with `uint32_t struct_size`.
    unsafe { (&mut *r as *mut T).cast::<u32>().write(size) };
    r
}

/// `s` as the GBK bytes an ANSI program passes.
fn gbk(s: &str) -> CString {
    let (bytes, _, bad) = encoding_rs::GBK.encode(s);
    assert!(!bad);
    CString::new(bytes.into_owned()).unwrap()
}

fn last_error() -> String {
    let mut buf = [0 as c_char; 1024];
    // SAFETY: buffer and size match.
    unsafe { ystpay_last_error(buf.as_mut_ptr(), buf.len() as i32, ptr::null_mut()) };
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    encoding_rs::GBK.decode(&bytes).0.into_owned()
}

fn settle_pay(c: *const ystpay_client, fee: i64, code: &str) -> i32 {
    let code = CString::new(code).unwrap();
    let mut out = record::<ystpay_settlement>(YSTPAY_SETTLEMENT_SIZE);
    // SAFETY: live handle, NUL-terminated code, no items, no cancel or
    // progress, writable record.
    let rc = unsafe {
        ystpay_settle_pay(
            c,
            ptr::null(),
            fee,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            0,
            ptr::null(),
            None,
            ptr::null_mut(),
            &mut *out,
        )
    };
    assert_eq!(rc, YSTPAY_OK, "{}", last_error());
    out.outcome
}

/// The export with optional days and path.
fn export(
    c: *const ystpay_client,
    from: Option<&str>,
    to: Option<&str>,
    path: Option<&CString>,
    encoding: i32,
) -> i32 {
    let (from, to) = (from.map(gbk), to.map(gbk));
    let p = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
    // SAFETY: NULL or NUL-terminated strings.
    unsafe {
        ystpay_journal_export_csv(
            c,
            p(&from),
            p(&to),
            path.map_or(ptr::null(), |s| s.as_ptr()),
            encoding,
        )
    }
}

/// A bad call: the code it returns, `day_from`, `day_to`, `path`,
/// `encoding`, and a word its message holds.
type BadCall<'a> = (
    i32,
    Option<&'a str>,
    Option<&'a str>,
    Option<CString>,
    i32,
    &'a str,
);

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_gbk_program_exports_the_day_for_its_bookkeeper() {
    let sim = Simulator::start(SimConfig::default()).expect("simulator starts");
    let dir = std::env::temp_dir().join(format!("ystpay-ffi-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let config = CString::new(format!(
        "server_url = {}\nacct = demo\npass = {PASS}\nprivate_key = {KEY}\nencoding = gbk\n\
         journal = {}\n",
        sim.api_url(),
        dir.join("pos.db").display()
    ))
    .unwrap();
    let mut c = ptr::null_mut();
    // SAFETY: NUL-terminated text, writable out pointer.
    assert_eq!(
        unsafe { ystpay_client_from_config(config.as_ptr(), &mut c) },
        YSTPAY_OK
    );
    assert_eq!(
        settle_pay(c, 1000, "134567890123456701"),
        YSTPAY_OUTCOME_PAID
    );
    assert_eq!(
        settle_pay(c, 250, "134567890123456771"),
        YSTPAY_OUTCOME_FAILED
    );
    assert_eq!(settle_pay(c, 320, "2812345678901202"), YSTPAY_OUTCOME_PAID);

    // Today (NULL), in GBK, to a path the program passes in GBK.
    let path = out_dir.join("对账.csv");
    let path_gbk = gbk(path.to_str().unwrap());
    assert_eq!(
        export(c, None, None, Some(&path_gbk), YSTPAY_ENCODING_GBK),
        YSTPAY_OK
    );
    let bytes = std::fs::read(&path).unwrap();
    let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
    assert!(!bad, "not GBK");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .filter(|r: &Vec<String>| !(r.len() == 1 && r[0].is_empty()))
        .collect();
    let header: Vec<&str> = COLUMNS.iter().map(|(zh, _)| *zh).collect();
    assert_eq!(rows[0], header);
    let state = header.iter().position(|h| *h == "状态").unwrap();
    let channel = header.iter().position(|h| *h == "渠道").unwrap();
    let states: Vec<&str> = rows[1..4].iter().map(|r| r[state].as_str()).collect();
    assert_eq!(states, ["已支付", "失败", "已支付"]);
    assert_eq!(rows[3][channel], "支付宝");
    for code in [
        "134567890123456701",
        "134567890123456771",
        "2812345678901202",
    ] {
        assert!(!text.contains(code), "a full payment code in the CSV");
    }
    for secret in [PASS, KEY] {
        assert!(!text.contains(secret));
    }

    // Its day row is ystpay_journal_totals, number for number.
    let mut t = record::<ystpay_day_totals>(YSTPAY_DAY_TOTALS_SIZE);
    // SAFETY: live handle, NULL day (today), sized record.
    assert_eq!(
        unsafe { ystpay_journal_totals(c, ptr::null(), &mut *t) },
        YSTPAY_OK
    );
    let day: String = t
        .day
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as u8 as char)
        .collect();
    let at = rows
        .iter()
        .position(|r| r[..] == DAY_TOTALS_HEADER)
        .unwrap();
    assert_eq!(
        rows[at + 1],
        [
            day.clone(),
            fen_to_yuan(t.paid_fee),
            fen_to_yuan(t.refunded_fee),
            fen_to_yuan(t.net_fee),
            t.open_count.to_string()
        ]
    );
    assert_eq!(t.paid_fee, 1320);

    // UTF-8 (0 is UTF-8 too) after a byte-order mark, same text; an
    // explicit one-day range gives the same file; replacing is whole.
    let utf8_path = gbk(out_dir.join("utf8.csv").to_str().unwrap());
    assert_eq!(
        export(c, Some(&day), Some(""), Some(&utf8_path), 0),
        YSTPAY_OK
    );
    let ub = std::fs::read(out_dir.join("utf8.csv")).unwrap();
    assert_eq!(&ub[..3], b"\xEF\xBB\xBF");
    assert_eq!(std::str::from_utf8(&ub[3..]).unwrap(), text);
    assert_eq!(
        export(
            c,
            Some(&day),
            Some(&day),
            Some(&path_gbk),
            YSTPAY_ENCODING_GBK
        ),
        YSTPAY_OK
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Bad input: each its code and a message, no file written or changed.
    let before = names_in(&out_dir);
    let cases: Vec<BadCall> = vec![
        (
            YSTPAY_ERR_NULL_ARGUMENT,
            None,
            None,
            None,
            YSTPAY_ENCODING_GBK,
            "path",
        ),
        (
            YSTPAY_ERR_INVALID_ARGUMENT,
            None,
            None,
            Some(gbk("")),
            YSTPAY_ENCODING_GBK,
            "path",
        ),
        (
            YSTPAY_ERR_INVALID_ARGUMENT,
            None,
            None,
            Some(path_gbk.clone()),
            1252,
            "encoding",
        ),
        (
            YSTPAY_ERR_INVALID_ARGUMENT,
            Some("2025/11/25"),
            None,
            Some(path_gbk.clone()),
            YSTPAY_ENCODING_GBK,
            "day_from",
        ),
        (
            YSTPAY_ERR_INVALID_ARGUMENT,
            Some("2025-11-25"),
            Some("2025-11-24"),
            Some(path_gbk.clone()),
            YSTPAY_ENCODING_GBK,
            "before",
        ),
        (
            YSTPAY_ERR_INVALID_ARGUMENT,
            Some("2024-01-01"),
            Some("2025-01-01"),
            Some(path_gbk.clone()),
            YSTPAY_ENCODING_GBK,
            "366",
        ),
        (
            YSTPAY_ERR_FILE_WRITE,
            None,
            None,
            Some(gbk(out_dir.join("没有").join("x.csv").to_str().unwrap())),
            YSTPAY_ENCODING_GBK,
            "cannot write",
        ),
    ];
    for (want, from, to, p, enc, says) in &cases {
        assert_eq!(
            export(c, *from, *to, p.as_ref(), *enc),
            *want,
            "{from:?} {to:?} {p:?} {enc}"
        );
        let msg = last_error();
        assert!(msg.contains(says), "{msg}");
    }
    // A folder where the file should go: FILE_WRITE, no temporary file left.
    std::fs::create_dir_all(out_dir.join("folder.csv")).unwrap();
    let folder = gbk(out_dir.join("folder.csv").to_str().unwrap());
    assert_eq!(
        export(c, None, None, Some(&folder), YSTPAY_ENCODING_GBK),
        YSTPAY_ERR_FILE_WRITE
    );
    let mut expected = before.clone();
    expected.push("folder.csv".into());
    expected.sort();
    assert_eq!(names_in(&out_dir), expected);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "left as it was");
    // Not GBK: a lone lead byte.
    let broken = CString::new(vec![b'x', 0x81]).unwrap();
    assert_eq!(
        export(c, None, None, Some(&broken), YSTPAY_ENCODING_GBK),
        YSTPAY_ERR_INVALID_ENCODING
    );
    // No client, a client without a journal.
    assert_eq!(
        export(
            ptr::null(),
            None,
            None,
            Some(&path_gbk),
            YSTPAY_ENCODING_GBK
        ),
        YSTPAY_ERR_NULL_ARGUMENT
    );
    let (u, a, p, k) = (
        CString::new(sim.api_url()).unwrap(),
        CString::new("demo").unwrap(),
        CString::new(PASS).unwrap(),
        CString::new(KEY).unwrap(),
    );
    let mut plain = ptr::null_mut();
    // SAFETY: NUL-terminated strings, writable out pointer.
    let rc = unsafe {
        ystpay_client_new(
            u.as_ptr(),
            a.as_ptr(),
            p.as_ptr(),
            k.as_ptr(),
            0,
            0,
            0,
            0,
            &mut plain,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(
        export(plain, None, None, Some(&path_gbk), YSTPAY_ENCODING_GBK),
        YSTPAY_ERR_NO_JOURNAL
    );
    // SAFETY: live handles, used by no other thread.
    unsafe {
        ystpay_client_free(plain);
        ystpay_client_free(c);
    }
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
