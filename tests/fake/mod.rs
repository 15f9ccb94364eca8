//! A platform in a test: a [`Transport`] that opens each request exactly as
//! the platform does (`RequestEnvelope::parse` → `open` → `Fields::parse`)
//! and answers with whatever body the test's handler builds. Used by the
//! forged-response tests and the property tests; it never touches a socket.
#![allow(dead_code)]

use std::sync::Mutex;

use ystpay::protocol::xml::Fields;
use ystpay::protocol::{RequestEnvelope, ResponseEnvelope};
use ystpay::transport::{Transport, TransportError};
use ystpay::{Client, ClientConfig};

/// Device credentials shared by the fake platform and the client.
pub const ACCT: &str = "demo";
/// Device password.
pub const PASS: &str = "demo123";
/// Merchant private key.
pub const KEY: &str = "0123456789ABCDEF";
/// A loopback URL (plain http is allowed there).
pub const URL: &str = "http://127.0.0.1:9/ystpay/service/unitive.api";

/// The device's dsn, derived as the platform does.
pub fn dsn() -> String {
    ystpay::protocol::crypto::derive_dsn(ACCT, KEY, PASS)
}

/// One request as the platform sees it after verifying and decrypting.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// `request_type` of the envelope.
    pub request_type: String,
    /// The decrypted `<data>` XML.
    pub plain: String,
    /// Its fields.
    pub fields: Fields,
}

impl Incoming {
    /// The request's `req_seq`.
    pub fn req_seq(&self) -> String {
        self.fields.get("req_seq").unwrap_or_default().to_string()
    }
}

type Handler = Box<dyn FnMut(&Incoming) -> Vec<u8> + Send>;

/// The fake platform: verifies every request and answers with the handler.
pub struct FakePlatform {
    key: &'static str,
    dsn: String,
    handler: Mutex<Handler>,
    /// Every request received, in order.
    pub seen: Mutex<Vec<Incoming>>,
}

impl FakePlatform {
    /// A platform answering with `handler`.
    pub fn new(handler: impl FnMut(&Incoming) -> Vec<u8> + Send + 'static) -> Self {
        FakePlatform::with_keys(ACCT, PASS, KEY, handler)
    }

    /// A platform for another device's credentials.
    pub fn with_keys(
        acct: &str,
        pass: &str,
        key: &'static str,
        handler: impl FnMut(&Incoming) -> Vec<u8> + Send + 'static,
    ) -> Self {
        FakePlatform {
            key,
            dsn: ystpay::protocol::crypto::derive_dsn(acct, key, pass),
            handler: Mutex::new(Box::new(handler)),
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl Transport for FakePlatform {
    fn post(&self, _url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let text = std::str::from_utf8(body).expect("requests are UTF-8");
        let env = RequestEnvelope::parse(text).expect("request envelope parses");
        assert_eq!(env.dsn, self.dsn, "request carries the device dsn");
        let plain = env.open(self.key).expect("request signature verifies");
        let fields = Fields::parse(&plain, Some("data")).expect("request data parses");
        assert_eq!(fields.get("request_type"), Some(env.request_type.as_str()));
        let inc = Incoming {
            request_type: env.request_type.clone(),
            plain,
            fields,
        };
        self.seen.lock().unwrap().push(inc.clone());
        let mut h = self.handler.lock().unwrap();
        Ok(h(&inc))
    }
}

/// Seals an answer's plain `<data>` for the device, as the platform does.
pub fn seal(plain: &str) -> Vec<u8> {
    seal_with(&dsn(), "1426497738440", plain)
}

/// Seals an answer with a chosen dsn and timestamp.
pub fn seal_with(dsn: &str, timestamp: &str, plain: &str) -> Vec<u8> {
    ResponseEnvelope::seal(dsn, timestamp, plain)
        .expect("seal")
        .to_xml()
        .into_bytes()
}

/// A client talking to `platform`.
pub fn client(platform: std::sync::Arc<FakePlatform>) -> Client {
    let cfg = ClientConfig::new(URL, ACCT, PASS, KEY);
    Client::with_transport(&cfg, platform).expect("client")
}

/// A paid barcode answer to `req_seq` (4.1 table), signed and sealed.
pub fn paid_answer(response_type: &str, req_seq: &str, trans_seq: &str, fee: i64) -> String {
    format!(
        "<data><response_type>{response_type}</response_type><req_seq>{req_seq}</req_seq>\
         <res_seq>9{req_seq}</res_seq><result>Y</result><code>000000</code><msg>支付成功</msg>\
         <trans_seq>{trans_seq}</trans_seq><total_fee>{fee}</total_fee><cash_fee>{fee}</cash_fee>\
         <coupon_fee>0</coupon_fee><pay_time>2015-06-09 11:17:48</pay_time><channel>W</channel>\
         <status>S</status><receipts><line>----微信支付交易小票-----</line></receipts></data>"
    )
}
