//! Every response message's reader (`*Response::from_xml`), the notice and
//! notice-reply readers, and the JSON readers inside answers, on arbitrary
//! decrypted `<data>` text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ystpay::protocol::messages::*;
use ystpay::protocol::types::parse_prod_details;

fuzz_target!(|data: &[u8]| {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let _ = PayResponse::from_xml(xml);
    let _ = RefundResponse::from_xml(xml);
    let _ = RevokeResponse::from_xml(xml);
    let _ = NativePayResponse::from_xml(xml);
    let _ = H5PayResponse::from_xml(xml);
    if let Ok(js) = JsPayResponse::from_xml(xml) {
        let _ = js.signature_info_map();
    }
    let _ = OrderNotice::from_xml(xml);
    let _ = NoticeReply::from_xml(xml);
    let _ = parse_prod_details(xml);
    // Whatever was read writes back to a document that reads the same.
    if let Ok(r) = PayResponse::from_xml(xml) {
        let again = PayResponse::from_xml(&r.to_xml()).expect("own output reads");
        assert_eq!(again, r, "PayResponse does not round-trip");
    }
});
