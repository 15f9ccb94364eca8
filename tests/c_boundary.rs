//! Every row of the bad-input table in docs/SECURITY.md ("C boundary"),
//! called through the exported C functions exactly as a C program would:
//! each bad input gives its documented result code, leaves the output
//! untouched, and leaves a message in `ystpay_last_error`.

use std::ffi::{c_char, CString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::ptr;

use ystpay::ffi::calls::*;
use ystpay::ffi::client::*;
use ystpay::ffi::codes::*;
use ystpay::ffi::error::ystpay_last_error;
use ystpay::ffi::notice::*;
use ystpay::ffi::records::*;
use ystpay_sim::{Fault, SimConfig, Simulator};

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn new_client(url: &str, key: &str, enc: i32, flags: i32) -> (i32, *mut ystpay_client) {
    let (u, a, p, k) = (cs(url), cs("demo"), cs("demo123"), cs(key));
    let mut c = ptr::null_mut();
    // SAFETY: NUL-terminated strings, writable out pointer.
    let rc = unsafe {
        ystpay_client_new(
            u.as_ptr(),
            a.as_ptr(),
            p.as_ptr(),
            k.as_ptr(),
            300,
            1500,
            enc,
            flags,
            &mut c,
        )
    };
    (rc, c)
}

fn client_at(url: &str, enc: i32) -> *mut ystpay_client {
    let (rc, c) = new_client(url, "0123456789ABCDEF", enc, 0);
    assert_eq!(rc, YSTPAY_OK);
    c
}

const CLOSED: &str = "http://127.0.0.1:1/ystpay/service/unitive.api";

fn last_error() -> String {
    let mut buf = [0 as c_char; 1024];
    let mut needed = 0;
    // SAFETY: buffer and size match.
    unsafe { ystpay_last_error(buf.as_mut_ptr(), buf.len() as i32, &mut needed) };
    let bytes: Vec<u8> = buf
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn payment_record() -> Box<ystpay_payment_result> {
    // SAFETY: repr(C) integers and arrays: all-zero is valid.
    let mut r: Box<ystpay_payment_result> = Box::new(unsafe { std::mem::zeroed() });
    r.struct_size = YSTPAY_PAYMENT_RESULT_SIZE;
    r.outcome = 12345; // a marker: must survive every failure
    r
}

/// `ystpay_pay` with the given strings on `c`; returns the code after
/// checking that the record was not written and a message was left.
fn pay(c: *const ystpay_client, req_seq: Option<&[u8]>, fee: i64, code: Option<&[u8]>) -> i32 {
    let req = req_seq.map(|b| CString::new(b).unwrap());
    let code = code.map(|b| CString::new(b).unwrap());
    let mut out = payment_record();
    // SAFETY: strings NUL-terminated or NULL, record sized.
    let rc = unsafe {
        ystpay_pay(
            c,
            req.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            fee,
            code.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            ptr::null(),
            ptr::null(),
            0,
            &mut *out,
        )
    };
    if rc != YSTPAY_OK {
        assert_eq!(out.outcome, 12345, "record written on failure {rc}");
        assert!(!last_error().is_empty(), "no message for {rc}");
    }
    rc
}

#[test]
fn caller_errors() {
    let c = client_at(CLOSED, YSTPAY_ENCODING_UTF8);
    let gbk = client_at(CLOSED, YSTPAY_ENCODING_GBK);
    let ok_code: &[u8] = b"134567890123456701";

    // NULL where a value is required.
    assert_eq!(pay(c, None, 100, None), YSTPAY_ERR_NULL_ARGUMENT);
    assert_eq!(
        pay(ptr::null(), None, 100, Some(ok_code)),
        YSTPAY_ERR_NULL_ARGUMENT
    );
    let a = cs(ok_seq());
    // SAFETY: NULL out record is the bad input under test.
    let rc = unsafe {
        ystpay_pay(
            c,
            a.as_ptr(),
            1,
            a.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            ptr::null_mut(),
        )
    };
    assert_eq!(rc, YSTPAY_ERR_NULL_ARGUMENT);

    // A pointer that is not a client handle.
    let fake = [0u64; 64];
    let not_a_client = fake.as_ptr().cast::<ystpay_client>();
    assert_eq!(
        pay(not_a_client, None, 100, Some(ok_code)),
        YSTPAY_ERR_INVALID_HANDLE
    );
    let misaligned = (fake.as_ptr() as usize + 1) as *const ystpay_client;
    assert_eq!(
        pay(misaligned, None, 100, Some(ok_code)),
        YSTPAY_ERR_INVALID_HANDLE
    );

    // Bytes that are not text in the client's encoding.
    assert_eq!(
        pay(c, None, 100, Some(b"\xff\xfe")),
        YSTPAY_ERR_INVALID_ENCODING
    );
    assert_eq!(
        pay(c, Some(b"\xc0\x80"), 100, Some(ok_code)),
        YSTPAY_ERR_INVALID_ENCODING
    );
    assert_eq!(
        pay(gbk, None, 100, Some(b"\x81\x20")),
        YSTPAY_ERR_INVALID_ENCODING
    );

    // Field rules: nothing is sent (the port is closed: NOT_SENT would show it).
    for (seq, fee, code) in [
        (None, 0, ok_code),                                   // fee not positive
        (None, -1, ok_code),                                  // negative fee
        (None, 10_000_000_000, ok_code),                      // 11 digits
        (Some(&b"123456789012345678901"[..]), 1, ok_code),    // req_seq > 20
        (Some(&b"12 34"[..]), 1, ok_code),                    // req_seq with a space
        (None, 1, &b"123456789012345678901234567890123"[..]), // auth_code > 32
        (None, 1, &b"12\x0134"[..]),                          // control character
        (None, 1, &b"   "[..]),                               // blank
    ] {
        assert_eq!(pay(c, seq, fee, Some(code)), YSTPAY_ERR_INVALID_INPUT);
    }
    let mut order: Box<ystpay_order_result> = Box::new(unsafe { std::mem::zeroed() });
    order.struct_size = YSTPAY_ORDER_RESULT_SIZE;
    let (w, url, bad_ip) = (cs("W"), cs("ftp://x"), cs("1.2.3"));
    // SAFETY: valid strings and record.
    unsafe {
        assert_eq!(
            ystpay_h5_pay(
                c,
                ptr::null(),
                1,
                w.as_ptr(),
                bad_ip.as_ptr(),
                url.as_ptr(),
                &mut *order
            ),
            YSTPAY_ERR_INVALID_INPUT
        );
        let q = cs("Q");
        assert_eq!(
            ystpay_native_pay(c, ptr::null(), 1, 300, q.as_ptr(), &mut *order),
            YSTPAY_ERR_INVALID_INPUT
        );
        assert_eq!(
            ystpay_native_pay(c, ptr::null(), 1, 299, w.as_ptr(), &mut *order),
            YSTPAY_ERR_INVALID_INPUT
        );
    }

    // Record size, item counts, reserved fields, char arrays without NUL.
    let code = cs("134567890123456701");
    let mut out = payment_record();
    out.struct_size = 8;
    // SAFETY: the record is larger than the size it claims.
    let rc = unsafe {
        ystpay_pay(
            c,
            ptr::null(),
            1,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            &mut *out,
        )
    };
    assert_eq!(rc, YSTPAY_ERR_STRUCT_SIZE);
    let mut out = payment_record();
    // SAFETY: negative count is the bad input; items are not read.
    let rc = unsafe {
        ystpay_pay(
            c,
            ptr::null(),
            1,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            -1,
            &mut *out,
        )
    };
    assert_eq!(rc, YSTPAY_ERR_INVALID_ARGUMENT);
    // SAFETY: NULL items with a count is the bad input.
    let rc = unsafe {
        ystpay_pay(
            c,
            ptr::null(),
            1,
            code.as_ptr(),
            ptr::null(),
            ptr::null(),
            1,
            &mut *out,
        )
    };
    assert_eq!(rc, YSTPAY_ERR_NULL_ARGUMENT);
    // SAFETY: zeroed record, then filled.
    let mut item: ystpay_prod_item = unsafe { std::mem::zeroed() };
    item.struct_size = YSTPAY_PROD_ITEM_SIZE;
    item.goods_fee_fen = -1;
    for (dst, s) in [
        (&mut item.goods_id[..], "1"),
        (&mut item.goods_name[..], "x"),
        (&mut item.quantity[..], "1"),
    ] {
        for (d, b) in dst.iter_mut().zip(s.bytes()) {
            *d = b as c_char;
        }
    }
    // SAFETY: a plain repr(C) record; a bitwise copy is a valid copy.
    let mut unterminated: ystpay_prod_item = unsafe { std::ptr::read(&item) };
    unterminated.goods_name = [b'x' as c_char; YSTPAY_GOODS_NAME_SIZE];
    // SAFETY: as above.
    let mut reserved: ystpay_prod_item = unsafe { std::ptr::read(&item) };
    reserved.reserved = 7;
    for (it, want) in [
        (unterminated, YSTPAY_ERR_INVALID_ARGUMENT),
        (reserved, YSTPAY_ERR_INVALID_ARGUMENT),
    ] {
        // SAFETY: one valid record.
        let rc = unsafe {
            ystpay_pay(
                c,
                ptr::null(),
                1,
                code.as_ptr(),
                ptr::null(),
                &it,
                1,
                &mut *out,
            )
        };
        assert_eq!(rc, want);
    }

    // Buffers: negative size, NULL with a size, too small (reports the need).
    let mut needed = 0;
    let mut small = [0 as c_char; 4];
    // SAFETY: sizes as documented for each case.
    unsafe {
        assert_eq!(
            ystpay_next_req_seq(c, small.as_mut_ptr(), -1, &mut needed),
            YSTPAY_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ystpay_next_req_seq(c, ptr::null_mut(), 8, &mut needed),
            YSTPAY_ERR_NULL_ARGUMENT
        );
        assert_eq!(
            ystpay_next_req_seq(c, small.as_mut_ptr(), 4, &mut needed),
            YSTPAY_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(needed, 21);
        assert_eq!(small, [0; 4], "nothing written to a too-small buffer");
        let long = cs(&"长".repeat(101));
        let mut buf = [0 as c_char; 512];
        assert_eq!(
            ystpay_notice_reply(c, 1, long.as_ptr(), buf.as_mut_ptr(), 512, &mut needed),
            YSTPAY_ERR_INVALID_INPUT
        );
    }

    // Notification bodies: over the size limit; unreadable.
    let mut n: Box<ystpay_notice> = Box::new(unsafe { std::mem::zeroed() });
    n.struct_size = YSTPAY_NOTICE_SIZE;
    let big = vec![b' '; 256 * 1024 + 1];
    let junk = b"<data><oops";
    // SAFETY: bodies with their lengths.
    unsafe {
        assert_eq!(
            ystpay_notice_read(c, big.as_ptr().cast(), big.len() as i32, &mut *n),
            YSTPAY_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ystpay_notice_read(c, junk.as_ptr().cast(), junk.len() as i32, &mut *n),
            YSTPAY_ERR_REJECTED
        );
        let deep = format!("<data>{}</data>", "<a>".repeat(50_000));
        assert_eq!(
            ystpay_notice_read(c, deep.as_ptr().cast(), deep.len() as i32, &mut *n),
            YSTPAY_ERR_REJECTED
        );
        ystpay_client_free(c);
        ystpay_client_free(gbk);
    }
}

fn ok_seq() -> &'static str {
    "20240101000000000001"
}

#[test]
fn configuration_errors() {
    // Unusable values: bad scheme, http to another host, key length, encoding, timeouts.
    assert_eq!(
        new_client("ftp://x/", "0123456789ABCDEF", 0, 0).0,
        YSTPAY_ERR_CONFIG
    );
    assert_eq!(
        new_client("http://pay.example.com/x", "0123456789ABCDEF", 0, 0).0,
        YSTPAY_ERR_CONFIG
    );
    assert_eq!(
        new_client(
            "http://pay.example.com/x",
            "0123456789ABCDEF",
            0,
            YSTPAY_FLAG_ALLOW_HTTP
        )
        .0,
        YSTPAY_OK
    );
    assert_eq!(new_client(CLOSED, "short", 0, 0).0, YSTPAY_ERR_CONFIG);
    assert!(!last_error().contains("short"), "the key is not echoed");
    assert_eq!(
        new_client(CLOSED, "0123456789ABCDEF", 1234, 0).0,
        YSTPAY_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        new_client(CLOSED, "0123456789ABCDEF", 0, 8).0,
        YSTPAY_ERR_INVALID_ARGUMENT
    );
    let (u, a, p, k) = (
        cs(CLOSED),
        cs("demo"),
        cs("demo123"),
        cs("0123456789ABCDEF"),
    );
    let mut h = ptr::null_mut();
    // SAFETY: valid strings and out pointer; the timeout is the bad input.
    let rc = unsafe {
        ystpay_client_new(
            u.as_ptr(),
            a.as_ptr(),
            p.as_ptr(),
            k.as_ptr(),
            -1,
            0,
            0,
            0,
            &mut h,
        )
    };
    assert_eq!(rc, YSTPAY_ERR_INVALID_ARGUMENT);
    let mut c = ptr::null_mut();
    let text = cs("server_url=http://127.0.0.1:1/x\nacct=demo\npass=demo123\nprivate_key=0123456789ABCDEF\ncolour=blue\n");
    let missing = cs("/nonexistent/ystpay.ini");
    // SAFETY: valid strings and out pointer.
    unsafe {
        assert_eq!(
            ystpay_client_from_config(text.as_ptr(), &mut c),
            YSTPAY_ERR_CONFIG
        );
        assert_eq!(
            ystpay_client_from_config_file(missing.as_ptr(), &mut c),
            YSTPAY_ERR_CONFIG_FILE
        );
        assert_eq!(
            ystpay_client_from_config(ptr::null(), &mut c),
            YSTPAY_ERR_NULL_ARGUMENT
        );
    }
    assert!(c.is_null(), "no handle on failure");
}

/// One HTTP exchange answered with `body` (status 200).
fn answer_once(body: Vec<u8>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Some(Ok(s)) = l.incoming().next() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut req = vec![0; len];
            let _ = r.read_exact(&mut req);
            let mut w = s;
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = w.write_all(&body);
        }
    });
    format!("http://127.0.0.1:{port}/ystpay/service/unitive.api")
}

/// Answers that cannot be trusted: each gives its code and never a record.
#[test]
fn untrusted_answers() {
    let code: &[u8] = b"134567890123456701";
    // Nothing listening: not sent.
    let c = client_at(CLOSED, YSTPAY_ENCODING_UTF8);
    assert_eq!(pay(c, None, 100, Some(code)), YSTPAY_ERR_NOT_SENT);
    // SAFETY: live handle, freed once.
    unsafe { ystpay_client_free(c) };

    let sim = Simulator::start(SimConfig::default()).unwrap();
    let c = client_at(&sim.api_url(), YSTPAY_ENCODING_UTF8);
    for (fault, want) in [
        (Fault::BadSignature, YSTPAY_ERR_BAD_SIGNATURE),
        (Fault::Garbage, YSTPAY_ERR_REJECTED),
        (Fault::Http500, YSTPAY_ERR_OUTCOME_UNKNOWN),
        (Fault::DropAfterCommit, YSTPAY_ERR_OUTCOME_UNKNOWN),
    ] {
        sim.control().inject(fault.clone(), 1);
        assert_eq!(pay(c, None, 100, Some(code)), want, "{fault:?}");
    }
    // Plain notifications: for an order the platform does not know (its
    // confirming query is refused), and for one that is not paid.
    let (nq, w) = (cs("NQ1"), cs("W"));
    // SAFETY: repr(C) records: all-zero is valid.
    let mut order: Box<ystpay_order_result> = Box::new(unsafe { std::mem::zeroed() });
    order.struct_size = YSTPAY_ORDER_RESULT_SIZE;
    // SAFETY: valid strings and record.
    let rc = unsafe { ystpay_native_pay(c, nq.as_ptr(), 1, 300, w.as_ptr(), &mut *order) };
    assert_eq!(rc, YSTPAY_OK);
    for (seq, want) in [
        ("NOPE1", YSTPAY_ERR_REFUSED),
        ("NQ1", YSTPAY_ERR_UNCONFIRMED),
    ] {
        let plain = format!(
            "<data><request_type>native_order_notice</request_type><req_seq>{seq}</req_seq>\
             <channel>W</channel><trans_seq>700001</trans_seq><total_fee>1</total_fee>\
             <status>S</status><pay_time>2024-01-01 12:00:04</pay_time></data>"
        );
        // SAFETY: repr(C) record: all-zero is valid.
        let mut n: Box<ystpay_notice> = Box::new(unsafe { std::mem::zeroed() });
        n.struct_size = YSTPAY_NOTICE_SIZE;
        // SAFETY: body with its length, sized record.
        let rc =
            unsafe { ystpay_notice_read(c, plain.as_ptr().cast(), plain.len() as i32, &mut *n) };
        assert_eq!(rc, want, "plain notice for {seq}");
    }
    // SAFETY: live handle, freed once.
    unsafe { ystpay_client_free(c) };

    // A correctly signed "paid" answer for another req_seq (a replay).
    let dsn = ystpay::protocol::crypto::derive_dsn("demo", "0123456789ABCDEF", "demo123");
    let replay = "<data><response_type>unitive_pay_response</response_type><req_seq>OLD</req_seq>\
         <result>Y</result><trans_seq>1</trans_seq><total_fee>100</total_fee><status>S</status></data>";
    let body = ystpay::protocol::ResponseEnvelope::seal(&dsn, "1", replay)
        .unwrap()
        .to_xml()
        .into_bytes();
    let c = client_at(&answer_once(body), YSTPAY_ENCODING_UTF8);
    assert_eq!(pay(c, Some(b"NEW"), 100, Some(code)), YSTPAY_ERR_REJECTED);
    // SAFETY: live handle, freed once.
    unsafe { ystpay_client_free(c) };
    sim.shutdown();
}

/// The journal exports: no journal, a malformed day, an unknown `req_seq`,
/// an index past the end.
#[test]
fn journal_lookups() {
    use ystpay::ffi::journal::*;
    let plain = client_at(CLOSED, YSTPAY_ENCODING_UTF8);
    let path = std::env::temp_dir().join(format!("ystpay-cb-{}.db", std::process::id()));
    let (u, a, p, k, j) = (
        cs(CLOSED),
        cs("demo"),
        cs("demo123"),
        cs("0123456789ABCDEF"),
        cs(&path.to_string_lossy()),
    );
    let mut jc = ptr::null_mut();
    // SAFETY: valid strings and out pointer.
    let rc = unsafe {
        ystpay_client_new_ex(
            u.as_ptr(),
            a.as_ptr(),
            p.as_ptr(),
            k.as_ptr(),
            300,
            300,
            0,
            0,
            j.as_ptr(),
            0,
            &mut jc,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    let mut n = 0;
    let (bad_day, today, nope) = (cs("2024/01/01"), cs(""), cs("NOPE"));
    // SAFETY: repr(C) record: all-zero is valid.
    let mut e: Box<ystpay_journal_entry> = Box::new(unsafe { std::mem::zeroed() });
    e.struct_size = YSTPAY_JOURNAL_ENTRY_SIZE;
    // SAFETY: live handles, valid strings, sized record.
    unsafe {
        assert_eq!(
            ystpay_journal_count(plain, today.as_ptr(), &mut n),
            YSTPAY_ERR_NO_JOURNAL
        );
        assert_eq!(
            ystpay_journal_count(jc, bad_day.as_ptr(), &mut n),
            YSTPAY_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            ystpay_journal_find(jc, nope.as_ptr(), &mut *e),
            YSTPAY_ERR_NOT_FOUND
        );
        assert_eq!(
            ystpay_journal_get(jc, today.as_ptr(), 5, &mut *e),
            YSTPAY_ERR_INDEX
        );
        assert_eq!(
            ystpay_journal_find(jc, ptr::null(), &mut *e),
            YSTPAY_ERR_NULL_ARGUMENT
        );
        ystpay_client_free(plain);
        ystpay_client_free(jc);
    }
    let _ = std::fs::remove_file(&path);
}
