//! The documented limits (docs/SECURITY.md, "Limits") hold at the public
//! API: oversized, over-deep, over-wide and entity-laden inputs are refused
//! as rejections, never processed, never a panic.

/// The fake platform (tests/fake/mod.rs), named `common` here.
mod fake;
use fake as common;

use std::sync::Arc;

use common::{client, seal, FakePlatform};
use ystpay::config::{Settings, MAX_CONFIG_BYTES};
use ystpay::protocol::messages::PayRequest;
use ystpay::protocol::xml::{MAX_DEPTH, MAX_NODES};
use ystpay::transport::MAX_RESPONSE_BYTES;
use ystpay::{Error, Rejection};

fn answer_with(body: Vec<u8>) -> Result<ystpay::protocol::PayResponse, Error> {
    let c = client(Arc::new(FakePlatform::new(move |_| body.clone())));
    c.pay(&mut PayRequest::new("L1", 100, "134567890123456701"))
}

fn malformed(r: Result<ystpay::protocol::PayResponse, Error>) -> bool {
    matches!(r, Err(Error::Rejected(Rejection::Malformed(_))))
}

#[test]
fn envelopes_nesting_too_deep_or_too_many_nodes_are_malformed() {
    let deep = format!(
        "<response>{}{}</response>",
        "<a>".repeat(MAX_DEPTH + 1),
        "</a>".repeat(MAX_DEPTH + 1)
    );
    assert!(malformed(answer_with(deep.into_bytes())));
    let wide = format!("<response>{}</response>", "<a/>".repeat(MAX_NODES as usize));
    assert!(malformed(answer_with(wide.into_bytes())));
    let bomb = "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>\
                <response><timestamp>&b;</timestamp></response>";
    assert!(malformed(answer_with(bomb.as_bytes().to_vec())));
    let external =
        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><response>&x;</response>";
    assert!(malformed(answer_with(external.as_bytes().to_vec())));
}

/// The same limits apply inside the decrypted, correctly signed `<data>`.
#[test]
fn signed_data_nesting_too_deep_or_with_a_dtd_is_malformed() {
    let deep = format!(
        "<data><req_seq>L1</req_seq>{}{}</data>",
        "<a>".repeat(MAX_DEPTH + 1),
        "</a>".repeat(MAX_DEPTH + 1)
    );
    assert!(malformed(answer_with(seal(&deep))));
    let dtd =
        "<!DOCTYPE data [<!ENTITY s \"S\">]><data><req_seq>L1</req_seq><status>&s;</status></data>";
    assert!(malformed(answer_with(seal(dtd))));
    let not_utf8 = vec![0xff, 0xfe, b'<'];
    assert!(malformed(answer_with(not_utf8)));
}

#[test]
fn an_oversized_notification_is_refused_unread() {
    let c = client(Arc::new(FakePlatform::new(|_| Vec::new())));
    let mut body = b"<data><req_seq>1</req_seq>".to_vec();
    body.resize(MAX_RESPONSE_BYTES as usize + 1, b' ');
    match c.read_notice(&body) {
        Err(Error::Rejected(Rejection::Malformed(why))) => assert!(why.contains("larger")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn configuration_files_are_bounded_and_must_be_utf8() {
    let dir = std::env::temp_dir();
    let ok = dir.join(format!("ystpay-limits-{}-ok.ini", std::process::id()));
    std::fs::write(
        &ok,
        "server_url=http://127.0.0.1:1/x\nacct=demo\npass=demo123\nprivate_key=0123456789ABCDEF\n",
    )
    .unwrap();
    assert_eq!(Settings::load(&ok).unwrap().client.account, "demo");
    let big = dir.join(format!("ystpay-limits-{}-big.ini", std::process::id()));
    let mut text = "; padding\n".repeat((MAX_CONFIG_BYTES / 10 + 1) as usize);
    text.push_str("acct=demo\n");
    std::fs::write(&big, text).unwrap();
    let e = Settings::load(&big).unwrap_err();
    assert!(e.message.contains("larger than"), "{e}");
    let gbk = dir.join(format!("ystpay-limits-{}-gbk.ini", std::process::id()));
    std::fs::write(&gbk, b"acct=\xc4\xcc\n").unwrap();
    assert!(Settings::load(&gbk)
        .unwrap_err()
        .message
        .contains("not UTF-8"));
    for p in [ok, big, gbk] {
        let _ = std::fs::remove_file(p);
    }
}
