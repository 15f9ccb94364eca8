//! A GBK client's strings are strict code page 936 (`src/ffi/text.rs`):
//! checked code by code against an independent table, Python's `gbk` codec
//! (Microsoft's CP936 table), and measured on UTF-8 Chinese text passed to a
//! GBK client by mistake, which WHATWG's GBK decoder mostly accepts.

#[path = "common/skip.rs"]
mod skip;

use std::io::Write;
use std::process::{Command, Stdio};

use ystpay::ffi::text::{decode, encode, Enc};

/// Every two-byte code a GBK lead byte can start: 126 × 190.
fn all_pairs() -> Vec<[u8; 2]> {
    let mut v = Vec::new();
    for lead in 0x81u8..=0xFE {
        for trail in (0x40u8..=0x7E).chain(0x80..=0xFE) {
            v.push([lead, trail]);
        }
    }
    v
}

#[test]
fn every_two_byte_code_matches_pythons_cp936_table() {
    let pairs = all_pairs();
    let script = "import sys\n\
        for line in sys.stdin:\n\
        \x20   b = bytes.fromhex(line.strip())\n\
        \x20   try:\n\
        \x20       b.decode('gbk'); print(1)\n\
        \x20   except UnicodeDecodeError:\n\
        \x20       print(0)\n";
    let child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        // README: the tests need Rust and a C compiler; CI has python3.
        skip::skip_or_fail(
            "YSTPAY_REQUIRE_PYTHON",
            "the code page 936 table comparison",
            "python3 is not installed",
        );
        return;
    };
    let mut input = String::new();
    for p in &pairs {
        input.push_str(&format!("{:02x}{:02x}\n", p[0], p[1]));
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 runs");
    assert!(out.status.success(), "python3 failed");
    let answers: Vec<bool> = String::from_utf8(out.stdout)
        .expect("text")
        .lines()
        .map(|l| l == "1")
        .collect();
    assert_eq!(answers.len(), pairs.len());

    let mut defined = 0;
    let mut whatwg_only = 0;
    let mut differ = Vec::new();
    for (p, &python) in pairs.iter().zip(&answers) {
        let ours = decode(Enc::Gbk, p).is_some();
        defined += usize::from(python);
        let whatwg = encoding_rs::GBK
            .decode_without_bom_handling_and_without_replacement(p)
            .is_some();
        whatwg_only += usize::from(whatwg && !python);
        if ours != python {
            differ.push(format!("{:02X}{:02X}", p[0], p[1]));
        }
        // What we accept comes back out as the same bytes.
        if let Some(s) = decode(Enc::Gbk, p) {
            assert_eq!(&encode(Enc::Gbk, &s)[..], &p[..], "{p:02X?} round trip");
        }
    }
    assert!(
        differ.is_empty(),
        "{} codes differ from code page 936: {:?}",
        differ.len(),
        &differ[..differ.len().min(20)]
    );
    assert_eq!(
        defined, 21_791,
        "Microsoft's CP936 table has 21,791 two-byte codes"
    );
    assert_eq!(
        whatwg_only,
        23_940 - 21_791,
        "WHATWG's GBK accepts every pair"
    );
    // Single bytes: ASCII, and 0x80 the euro sign as Windows has it (Python's
    // gbk lacks it); 0xFF is nothing.
    assert_eq!(decode(Enc::Gbk, b"\x80").as_deref(), Some("\u{20AC}"));
    assert!(decode(Enc::Gbk, b"\xFF").is_none());
}

/// The 3,755 most common characters (GB2312 level 1).
fn common_hanzi() -> Vec<char> {
    let mut v = Vec::new();
    for lead in 0xB0u8..=0xD7 {
        for trail in 0xA1u8..=0xFE {
            if let Some(s) = decode(Enc::Gbk, &[lead, trail]) {
                v.extend(s.chars());
            }
        }
    }
    v
}

#[test]
fn utf8_chinese_given_to_a_gbk_client_is_mostly_refused() {
    let hanzi = common_hanzi();
    assert_eq!(hanzi.len(), 3755);
    // A fixed pseudo-random sample, the same on every run.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (len, at_least) in [(2usize, 15u32), (4, 30), (8, 55), (12, 70)] {
        let samples = 4000u32;
        let (mut refused, mut whatwg_refused) = (0u32, 0u32);
        for _ in 0..samples {
            let text: String = (0..len)
                .map(|_| hanzi[(next() % hanzi.len() as u64) as usize])
                .collect();
            let utf8 = text.as_bytes();
            refused += u32::from(decode(Enc::Gbk, utf8).is_none());
            whatwg_refused += u32::from(
                encoding_rs::GBK
                    .decode_without_bom_handling_and_without_replacement(utf8)
                    .is_none(),
            );
        }
        let pct = |n: u32| n * 100 / samples;
        println!(
            "{len} characters in UTF-8 given as GBK: strict 936 refuses {}%, WHATWG GBK {}%",
            pct(refused),
            pct(whatwg_refused)
        );
        assert!(refused > whatwg_refused, "strict refuses more than WHATWG");
        assert!(
            pct(refused) >= at_least,
            "{len} characters: only {}% refused",
            pct(refused)
        );
        assert!(
            refused < samples,
            "some UTF-8 is valid GBK too: the check is partial"
        );
    }
}

/// The C ABI still refuses, in a refund's reason, what code page 936 does not
/// define (here GB18030's ḿ, A8BC, and a four-byte code), while the same
/// reason in code page 936 passes the check and reaches the network (a
/// closed port: not sent). The CSV export writes such characters as `?`
/// (`src/journal/export.rs`); both come from `src/text.rs`.
#[test]
fn a_gbk_client_refuses_a_gb18030_only_reason() {
    use std::ffi::{c_char, CString};
    use ystpay::ffi::calls::ystpay_refund;
    use ystpay::ffi::client::{ystpay_client, ystpay_client_free, ystpay_client_new};
    use ystpay::ffi::codes::*;
    use ystpay::ffi::records::ystpay_refund_result;

    let cs = |s: &[u8]| CString::new(s).unwrap();
    let (u, a, p, k) = (
        cs(b"http://127.0.0.1:1/ystpay/service/unitive.api"),
        cs(b"demo"),
        cs(b"demo123"),
        cs(b"0123456789ABCDEF"),
    );
    let mut c: *mut ystpay_client = std::ptr::null_mut();
    // SAFETY: NUL-terminated strings, writable out pointer.
    let rc = unsafe {
        ystpay_client_new(
            u.as_ptr(),
            a.as_ptr(),
            p.as_ptr(),
            k.as_ptr(),
            300,
            1500,
            YSTPAY_ENCODING_GBK,
            0,
            &mut c,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    let refund = |reason: &[u8]| -> i32 {
        let (t, r) = (cs(b"26112602252100000001"), cs(reason));
        // SAFETY: a zeroed record with its size is what the C caller passes.
        let mut out: ystpay_refund_result = unsafe { std::mem::zeroed() };
        out.struct_size = std::mem::size_of::<ystpay_refund_result>() as u32;
        // SAFETY: live client, NUL-terminated strings, writable record.
        unsafe {
            ystpay_refund(
                c,
                std::ptr::null::<c_char>(),
                t.as_ptr(),
                100,
                r.as_ptr(),
                &mut out,
            )
        }
    };
    // 退货 in code page 936 is CDCB BBF5.
    assert_eq!(
        refund(b"\xCD\xCB\xBB\xF5\xA8\xBC"),
        YSTPAY_ERR_INVALID_ENCODING
    );
    assert_eq!(
        refund(b"\xCD\xCB\xBB\xF5\x81\x30\x81\x30"),
        YSTPAY_ERR_INVALID_ENCODING
    );
    assert_eq!(refund(b"\xCD\xCB\xBB\xF5"), YSTPAY_ERR_NOT_SENT);
    // SAFETY: the handle from ystpay_client_new, freed once.
    unsafe { ystpay_client_free(c) };
}
