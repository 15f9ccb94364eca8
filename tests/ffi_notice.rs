//! Signed notifications through the C ABI (the C harness covers plain ones,
//! which need the simulator to confirm them): a signed envelope is accepted
//! without any network call, a tampered one is refused and the record stays
//! untouched, and GBK clients get GBK fields. A plain notice is confirmed
//! against the simulator for the amount the journal records.

mod common;

use std::ffi::CString;
use std::ptr;

use ystpay::ffi::client::{ystpay_client_free, ystpay_client_new};
use ystpay::ffi::codes::*;
use ystpay::ffi::notice::ystpay_notice_read;
use ystpay::ffi::records::{ystpay_notice, YSTPAY_NOTICE_SIZE};
use ystpay::protocol::{Credentials, ResponseEnvelope};

const NOTICE: &str = "<data><request_type>native_order_notice</request_type>\
    <req>20240101120000123456</req><server_time>2024-01-01 12:00:05:001</server_time>\
    <channel>W</channel><trans_seq>15060911165638124989</trans_seq>\
    <ext_trans_id>4200000001202401011234567890</ext_trans_id><total_fee>1</total_fee>\
    <status>S</status><pay_time>2024-01-01 12:00:04</pay_time></data>";

/// A client that points at a closed port: any network use would fail.
fn client(encoding: i32) -> *mut ystpay::ffi::client::ystpay_client {
    let s = |t: &str| CString::new(t).unwrap();
    let (url, acct, pass, key) = (
        s("http://127.0.0.1:1/ystpay/service/unitive.api"),
        s("demo"),
        s("demo123"),
        s("0123456789ABCDEF"),
    );
    let mut c = ptr::null_mut();
    // SAFETY: valid NUL-terminated strings and out pointer.
    let rc = unsafe {
        ystpay_client_new(
            url.as_ptr(),
            acct.as_ptr(),
            pass.as_ptr(),
            key.as_ptr(),
            500,
            500,
            encoding,
            0,
            &mut c,
        )
    };
    assert_eq!(rc, YSTPAY_OK);
    c
}

fn signed_body() -> String {
    let dsn = Credentials::derive("demo", "demo123", "0123456789ABCDEF").dsn;
    ResponseEnvelope::seal(&dsn, "1704081605001", NOTICE)
        .unwrap()
        .to_xml()
}

fn text(a: &[std::os::raw::c_char]) -> Vec<u8> {
    a.iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect()
}

fn blank() -> Box<ystpay_notice> {
    // SAFETY: plain-old-data record.
    let mut n: Box<ystpay_notice> = Box::new(unsafe { std::mem::zeroed() });
    n.struct_size = YSTPAY_NOTICE_SIZE;
    n
}

#[test]
fn signed_notice_is_verified_without_network() {
    let c = client(YSTPAY_ENCODING_UTF8);
    let body = signed_body();
    let mut n = blank();
    // SAFETY: valid handle, body and record.
    let rc = unsafe { ystpay_notice_read(c, body.as_ptr().cast(), body.len() as i32, &mut *n) };
    assert_eq!(rc, YSTPAY_OK);
    assert_eq!(n.verified, YSTPAY_VERIFIED_SIGNATURE);
    assert_eq!(n.outcome, YSTPAY_OUTCOME_SUCCESS);
    assert_eq!(text(&n.req_seq), b"20240101120000123456");
    assert_eq!(text(&n.trans_seq), b"15060911165638124989");
    assert_eq!(text(&n.ext_trans_id), b"4200000001202401011234567890");
    assert_eq!(n.total_fee, 1);
    // SAFETY: handle from ystpay_client_new, freed once.
    unsafe { ystpay_client_free(c) };
}

#[test]
fn tampered_notice_is_refused_and_the_record_untouched() {
    let c = client(YSTPAY_ENCODING_UTF8);
    let body = signed_body();
    let at = body.find("<signature>").unwrap() + "<signature>".len();
    let mut tampered = body.clone().into_bytes();
    tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
    let mut n = blank();
    n.outcome = 77;
    // SAFETY: valid handle, body and record.
    let rc =
        unsafe { ystpay_notice_read(c, tampered.as_ptr().cast(), tampered.len() as i32, &mut *n) };
    assert_eq!(rc, YSTPAY_ERR_BAD_SIGNATURE);
    assert_eq!(n.outcome, 77, "record written on failure");
    // SAFETY: as above.
    unsafe { ystpay_client_free(c) };
}

#[test]
fn wrong_struct_size_is_refused() {
    let c = client(YSTPAY_ENCODING_GBK);
    let body = signed_body();
    let mut n = blank();
    n.struct_size = 8;
    // SAFETY: valid handle, body and record.
    let rc = unsafe { ystpay_notice_read(c, body.as_ptr().cast(), body.len() as i32, &mut *n) };
    assert_eq!(rc, YSTPAY_ERR_STRUCT_SIZE);
    // SAFETY: as above.
    unsafe { ystpay_client_free(c) };
}

/// A plain notice without an amount is confirmed for the amount the
/// client's journal records, not for whatever the platform's answer says:
/// an answer about ¥12.01 does not confirm a ¥12.00 order.
#[test]
fn a_plain_notice_without_an_amount_is_confirmed_for_the_journals_amount() {
    use ystpay::ffi::client::ystpay_client_from_config;
    use ystpay::flow::{NewOrder, OrderSpec, OrderStart, SettleOptions};
    use ystpay::protocol::Channel;
    use ystpay_sim::Fault;

    let sim = common::start_sim(common::TIME_SCALE);
    let (payments, journal) = common::payments(&sim, common::TIME_SCALE, "notice-amount");
    let order = NewOrder {
        total_fee: 1200,
        channel: Channel::WeChat,
        spec: OrderSpec::Native { expire_secs: None },
    };
    let OrderStart::Waiting(t) = payments
        .create_order(&order, &SettleOptions::default())
        .unwrap()
    else {
        panic!("the order was not created")
    };
    sim.control().customer_pays("demo", &t.req_seq).unwrap();

    // The shop's server: a C client on the same journal.
    let cfg = CString::new(format!(
        "server_url = {}\nacct = demo\npass = demo123\nprivate_key = 0123456789ABCDEF\n\
         journal = {}\nrecover_on_start = 0\n",
        sim.api_url(),
        journal.display()
    ))
    .unwrap();
    let mut c = ptr::null_mut();
    // SAFETY: NUL-terminated config, writable out pointer.
    assert_eq!(
        unsafe { ystpay_client_from_config(cfg.as_ptr(), &mut c) },
        YSTPAY_OK
    );
    let body = CString::new(format!(
        "<data><request_type>native_order_notice</request_type><req_seq>{}</req_seq>\
         <channel>W</channel><trans_seq>{}</trans_seq><status>S</status>\
         <pay_time>2026-11-28 10:00:00</pay_time></data>",
        t.req_seq,
        t.trans_seq.clone().unwrap()
    ))
    .unwrap();
    let read = |n: &mut ystpay_notice| {
        // SAFETY: live client, NUL-terminated body, writable record.
        unsafe { ystpay_notice_read(c, body.as_ptr(), -1, n) }
    };

    // The confirming query answers about another amount.
    sim.control().inject(Fault::WrongAmount, 1);
    let mut n = blank();
    assert_eq!(read(&mut n), YSTPAY_ERR_UNCONFIRMED);
    assert_eq!(n.verified, 0, "the record is untouched on failure");

    let mut n = blank();
    assert_eq!(read(&mut n), YSTPAY_OK);
    assert_eq!(
        (n.verified, n.outcome, n.total_fee),
        (YSTPAY_VERIFIED_QUERY, YSTPAY_OUTCOME_SUCCESS, -1)
    );
    // SAFETY: handle from ystpay_client_from_config, freed once.
    unsafe { ystpay_client_free(c) };
}
