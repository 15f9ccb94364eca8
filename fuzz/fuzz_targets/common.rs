//! Shared by the fuzz targets: the demo device's credentials and clients
//! whose transport never touches the network.
#![allow(dead_code)]

use std::sync::Arc;

use ystpay::transport::{Transport, TransportError};
use ystpay::{Client, ClientConfig};

/// Demo device (the simulator's default).
pub const ACCT: &str = "demo";
/// Demo password.
pub const PASS: &str = "demo123";
/// Demo private key.
pub const KEY: &str = "0123456789ABCDEF";
/// The `req_seq` every fuzzed request carries; seeds use it too.
pub const REQ_SEQ: &str = "20240101000000000001";
/// Loopback URL (never contacted).
pub const URL: &str = "http://127.0.0.1:9/ystpay/service/unitive.api";

/// The demo device's dsn.
pub fn dsn() -> String {
    ystpay::protocol::crypto::derive_dsn(ACCT, KEY, PASS)
}

/// A transport that refuses to send anything.
pub struct NeverSends;

impl Transport for NeverSends {
    fn post(&self, _url: &str, _body: &[u8]) -> Result<Vec<u8>, TransportError> {
        Err(TransportError::NotSent("fuzzing: never sends".into()))
    }
}

/// A transport that answers every request with the same body.
pub struct Canned(pub Vec<u8>);

impl Transport for Canned {
    fn post(&self, _url: &str, _body: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.0.clone())
    }
}

/// A client for the demo device over `transport`.
pub fn client(transport: Arc<dyn Transport>) -> Client {
    let cfg = ClientConfig::new(URL, ACCT, PASS, KEY);
    Client::with_transport(&cfg, transport).expect("demo configuration is valid")
}
