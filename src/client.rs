//! One request → one verified, typed answer.
//!
//! [`Client::send`] seals a request (API §2.5), posts it, opens the answer
//! (API §2.6: signature first, then decryption), reads the typed message,
//! checks that it answers *this* request, and maps `result=N` to
//! [`Error::Refused`]. It never retries and never guesses: deciding what an
//! unclear outcome means is the payment flow's job.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Refusal, Rejection};
use crate::protocol::messages::{
    H5PayRequest, H5PayResponse, JsPayRequest, JsPayResponse, NativePayRequest, NativePayResponse,
    NativeQueryRequest, PayRequest, PayResponse, QueryPayRequest, QueryRefundRequest,
    RefundRequest, RefundResponse, Request, Response, RevokeRequest, RevokeResponse,
};
use crate::protocol::{rules, Credentials, RequestEnvelope, ResponseEnvelope};
use crate::reading::{read, Expected, Reading};
use crate::reqseq::{ReqSeqGen, SerialLedger};
use crate::transport::{HttpSettings, HttpTransport, Transport, TransportError};

/// The path of the API on the platform (API §3: `/ystpay/service/unitive.api`).
pub const API_PATH: &str = "/ystpay/service/unitive.api";

/// How the client identifies itself and reaches the platform.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Full API URL, e.g. `http://ut.ystpay.cn:8088/ystpay/service/unitive.api`.
    pub server_url: String,
    /// Device login (`account`, 4–20 characters).
    pub account: String,
    /// Device password; with the private key it derives the dsn. Not needed
    /// when `dsn` is given.
    pub password: Option<String>,
    /// The merchant's private key (AES key, 16/24/32 characters).
    pub private_key: String,
    /// A ready dsn (32 hex digits) instead of deriving it from the password.
    pub dsn: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Time to send the request and receive the whole answer.
    pub read_timeout: Duration,
    /// `http://host:port` proxy, or none.
    pub proxy: Option<String>,
    /// How long an idle kept-alive connection is trusted (see
    /// [`HttpSettings::keep_alive`]; the configuration's `keep_alive_s`).
    pub keep_alive: Duration,
    /// Register number 0–9999 used in generated `req_seq`s; makes them unique
    /// across the merchant's registers (see [`crate::reqseq`]).
    pub register_no: Option<u16>,
    /// Permit `http://` to a host other than loopback. The payload is
    /// encrypted and signed either way, but the dsn travels in clear in every
    /// request and is also the response key (API §2.5, §2.6): on plain http an
    /// on-path attacker can forge answers. Only `https://` (certificate
    /// checked) makes answers trustworthy; see `docs/SECURITY.md`.
    pub allow_http: bool,
    /// A PEM file of CA certificates to trust for `https://` instead of the
    /// built-in Mozilla roots (a platform installed with a private CA).
    /// `None`: the built-in roots. Certificates are always verified.
    pub ca_file: Option<PathBuf>,
}

/// The password, private key and dsn are zeroed in memory when a
/// configuration is dropped.
impl Drop for ClientConfig {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        if let Some(p) = self.password.as_mut() {
            p.zeroize();
        }
        self.private_key.zeroize();
        if let Some(d) = self.dsn.as_mut() {
            d.zeroize();
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server_url", &self.server_url)
            .field("account", &self.account)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("private_key", &"<redacted>")
            .field("dsn", &self.dsn.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("proxy", &self.proxy)
            .field("keep_alive", &self.keep_alive)
            .field("register_no", &self.register_no)
            .field("allow_http", &self.allow_http)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl ClientConfig {
    /// A configuration with the default timeouts (connect 5 s, answer 20 s).
    pub fn new(server_url: &str, account: &str, password: &str, private_key: &str) -> Self {
        let http = HttpSettings::default();
        ClientConfig {
            server_url: server_url.to_string(),
            account: account.to_string(),
            password: Some(password.to_string()),
            private_key: private_key.to_string(),
            dsn: None,
            connect_timeout: http.connect_timeout,
            read_timeout: http.read_timeout,
            proxy: None,
            keep_alive: http.keep_alive,
            register_no: None,
            allow_http: false,
            ca_file: None,
        }
    }

    /// Checks the key/pass/dsn format (nothing sent); the error never
    /// repeats a secret. `ystpay doctor` reports it.
    pub fn check_credentials(&self) -> Result<(), Error> {
        self.credentials().map(|_| ())
    }

    /// Checks the URL's scheme and host, and `http://` only to loopback
    /// unless `allow_http` (nothing sent). `ystpay doctor` reports it.
    pub fn check_server_url(&self) -> Result<(), Error> {
        self.check_url()
    }

    fn credentials(&self) -> Result<Credentials, Error> {
        rules::required_text("account", &self.account, 20)
            .map_err(|e| Error::Config(e.to_string()))?;
        match self.private_key.len() {
            16 | 24 | 32 => {}
            n => {
                return Err(Error::Config(format!(
                    "private_key must be 16, 24 or 32 characters, got {n}"
                )))
            }
        }
        match (&self.dsn, &self.password) {
            (Some(dsn), _) => {
                if dsn.len() != 32 || !dsn.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::Config("dsn must be 32 hex digits".into()));
                }
                Ok(Credentials {
                    account: self.account.clone(),
                    private_key: self.private_key.clone(),
                    dsn: dsn.to_ascii_uppercase(),
                })
            }
            (None, Some(pass)) if !pass.is_empty() => {
                Ok(Credentials::derive(&self.account, pass, &self.private_key))
            }
            _ => Err(Error::Config("either password or dsn is required".into())),
        }
    }

    fn check_url(&self) -> Result<(), Error> {
        let url = self.server_url.as_str();
        let rest = if let Some(r) = url.strip_prefix("https://") {
            r
        } else if let Some(r) = url.strip_prefix("http://") {
            let host = r.split(['/', '?']).next().unwrap_or("");
            let host = host.rsplit_once(':').map_or(host, |(h, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    host
                }
            });
            let loopback = host == "localhost"
                || host == "[::1]"
                || host
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|a| a.is_loopback());
            if !loopback && !self.allow_http {
                return Err(Error::Config(
                    "server_url uses http:// to a non-loopback host; use https:// or set allow_http".into(),
                ));
            }
            r
        } else {
            return Err(Error::Config(
                "server_url must start with http:// or https://".into(),
            ));
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(Error::Config("server_url has no host".into()));
        }
        Ok(())
    }
}

/// The client's credentials, zeroed in memory when the client is dropped.
/// (A wrapper rather than a `Drop` on [`Credentials`] itself, so that code
/// moving a field out of a `Credentials` keeps compiling.)
struct ZeroizingCredentials(Credentials);

impl Drop for ZeroizingCredentials {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.0.private_key.zeroize();
        self.0.dsn.zeroize();
    }
}

impl std::ops::Deref for ZeroizingCredentials {
    type Target = Credentials;
    fn deref(&self) -> &Credentials {
        &self.0
    }
}

/// A connection to the platform for one device. Cheap to share: every
/// method takes `&self` and may be called from several threads at once.
pub struct Client {
    url: String,
    creds: ZeroizingCredentials,
    transport: Arc<dyn Transport>,
    seq: Arc<ReqSeqGen>,
    /// This client's ledger: the journal of its flow, held for as long as
    /// the client lives (docs/DESIGN.md, "Serials").
    ledger: std::sync::Mutex<Option<Arc<dyn SerialLedger>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("creds", &*self.creds)
            .finish()
    }
}

impl Client {
    /// A client over the real HTTP transport.
    pub fn new(config: &ClientConfig) -> Result<Client, Error> {
        let http = HttpSettings {
            connect_timeout: config.connect_timeout,
            read_timeout: config.read_timeout,
            proxy: config.proxy.clone(),
            keep_alive: config.keep_alive,
        };
        let transport =
            HttpTransport::with_ca_file(&http, config.ca_file.as_deref()).map_err(Error::Config)?;
        Client::with_transport(config, Arc::new(transport))
    }

    /// A client over any transport (tests inject faults here).
    pub fn with_transport(
        config: &ClientConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<Client, Error> {
        config.check_url()?;
        let creds = config.credentials()?;
        let seq = ReqSeqGen::for_register(&creds.account, config.register_no, &creds.dsn);
        Ok(Client {
            url: config.server_url.clone(),
            creds: ZeroizingCredentials(creds),
            transport,
            seq,
            ledger: std::sync::Mutex::new(None),
        })
    }

    /// A fresh `req_seq` (see [`crate::reqseq`]): with a ledger attached
    /// ([`Client::use_serial_ledger`]), issued by it, never one issued
    /// before by any client of its journal nor one the journal holds;
    /// without one, bounded by this process's memory alone.
    ///
    /// [`Error::Ledger`] (nothing sent) when the ledger cannot issue one:
    /// never a serial from memory in its place.
    pub fn issue_req_seq(&self) -> Result<String, Error> {
        let ledger = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match ledger {
            Some(ledger) => self.issue_req_seq_in(&*ledger),
            None => Ok(self.seq.next()),
        }
    }

    /// A fresh `req_seq` issued by `ledger` (a flow's journal), continuing
    /// this register's line in the process; [`Error::Ledger`] when the
    /// ledger cannot issue one.
    pub fn issue_req_seq_in(&self, ledger: &dyn SerialLedger) -> Result<String, Error> {
        self.seq.issue(ledger).map_err(Error::Ledger)
    }

    /// Opens or checks the connection to the platform so that the next
    /// request goes out on a live one (TCP and TLS made already): call it
    /// when a sale starts. It sends no API request and uses no serial
    /// ([`Transport::prepare`]). [`Error::NotSent`] when the platform
    /// cannot be reached now; nothing else is affected.
    pub fn prepare(&self) -> Result<(), Error> {
        self.transport.prepare(&self.url).map_err(|e| match e {
            TransportError::NotSent(why) | TransportError::Unknown(why) => Error::NotSent(why),
        })
    }

    /// This client's serial generator (its register's, shared in the process).
    pub fn serial_gen(&self) -> &ReqSeqGen {
        &self.seq
    }

    /// Makes `ledger` (the journal, see [`crate::journal::JournalSerials`])
    /// issue every serial this client generates from now on, in place of
    /// the one attached before. The client holds it (and so its journal)
    /// while it lives. The payment flow does this.
    pub fn use_serial_ledger(&self, ledger: Arc<dyn SerialLedger>) {
        *self.ledger.lock().unwrap_or_else(|p| p.into_inner()) = Some(ledger);
    }

    /// The device's account name.
    pub fn account(&self) -> &str {
        &self.creds.account
    }

    /// Sends one request and returns its verified answer.
    ///
    /// An empty `req_seq` is first replaced by a fresh one
    /// ([`Client::issue_req_seq`]; [`Error::Ledger`] when there is none),
    /// written back into `req` so the caller can query or revoke with it
    /// whatever happens. Field rules are checked before anything is sent.
    pub fn send<R: Request>(&self, req: &mut R) -> Result<R::Response, Error> {
        if req.req_seq().is_empty() {
            req.set_req_seq(self.issue_req_seq()?);
        }
        req.check()?;
        let plain = req.to_xml(&self.creds.dsn);
        let envelope = RequestEnvelope::seal(&self.creds, R::REQUEST_TYPE, &plain)
            .map_err(|e| Error::Config(e.to_string()))?;
        let body = self
            .transport
            .post(&self.url, envelope.to_xml().as_bytes())
            .map_err(|e| match e {
                TransportError::NotSent(why) => Error::NotSent(why),
                TransportError::Unknown(why) => Error::OutcomeUnknown(why),
            })?;
        self.open::<R>(req.req_seq(), &body)
    }

    /// Opens an answer body: signature, decryption, message, and the checks
    /// that tie it to our request.
    fn open<R: Request>(&self, req_seq: &str, body: &[u8]) -> Result<R::Response, Error> {
        let malformed = |why: String| Error::Rejected(Rejection::Malformed(why));
        let text = std::str::from_utf8(body).map_err(|_| malformed("body is not UTF-8".into()))?;
        let env = ResponseEnvelope::parse(text).map_err(|e| malformed(e.to_string()))?;
        let plain = env.open(&self.creds.dsn).map_err(|e| match e {
            crate::protocol::EnvelopeError::BadSignature => {
                Error::Rejected(Rejection::BadSignature)
            }
            other => malformed(other.to_string()),
        })?;
        let resp = R::Response::from_xml(&plain).map_err(|e| malformed(e.to_string()))?;
        // A refusal naming no request: the platform refused the register
        // before reading the request (docs/DESIGN.md, "Credentials
        // refused"). Kept apart from a replayed answer (another req_seq).
        let head = resp.head();
        if head.is_refusal() && head.req_seq.as_deref().unwrap_or("").is_empty() {
            return Err(Error::Rejected(Rejection::DeviceRefused {
                code: head.code.clone().unwrap_or_default(),
                msg: head.msg.clone().unwrap_or_default(),
            }));
        }
        check_answers(R::RESPONSE_TYPE, req_seq, resp.head())?;
        if resp.head().is_refusal() {
            let head = resp.head();
            return Err(Error::Refused(Refusal {
                code: head.code.clone().unwrap_or_default(),
                msg: head.msg.clone().unwrap_or_default(),
                status: resp.status().cloned(),
                trans_seq: resp.trans_seq().map(str::to_string),
                fee: resp.fee(),
            }));
        }
        Ok(resp)
    }

    /// 4.1 — barcode payment. One attempt; see the payment flow for a
    /// payment that settles.
    pub fn pay(&self, req: &mut PayRequest) -> Result<PayResponse, Error> {
        self.send(req)
    }

    /// 4.2 — a barcode payment's state.
    pub fn query_pay(&self, req: &mut QueryPayRequest) -> Result<PayResponse, Error> {
        self.send(req)
    }

    /// 4.3 — refund (also for native, JS and H5 orders: 5.3, 6.3, 7.3).
    pub fn refund(&self, req: &mut RefundRequest) -> Result<RefundResponse, Error> {
        self.send(req)
    }

    /// 4.4 — a refund's state.
    pub fn query_refund(&self, req: &mut QueryRefundRequest) -> Result<RefundResponse, Error> {
        self.send(req)
    }

    /// 4.5 — revoke a payment (refunds it if paid, closes it otherwise).
    pub fn revoke(&self, req: &mut RevokeRequest) -> Result<RevokeResponse, Error> {
        self.send(req)
    }

    /// 5.1 — create a QR-code order; encode `pay_url` as a QR code.
    pub fn native_pay(&self, req: &mut NativePayRequest) -> Result<NativePayResponse, Error> {
        self.send(req)
    }

    /// 5.2 — a native, JS or H5 order's state.
    pub fn native_query(&self, req: &mut NativeQueryRequest) -> Result<NativePayResponse, Error> {
        self.send(req)
    }

    /// 6.1 — create a JS (in-app browser) order.
    pub fn js_pay(&self, req: &mut JsPayRequest) -> Result<JsPayResponse, Error> {
        self.send(req)
    }

    /// 7.1 — create an H5 (phone browser) order.
    pub fn h5_pay(&self, req: &mut H5PayRequest) -> Result<H5PayResponse, Error> {
        self.send(req)
    }
}

/// Every `response_type` this library knows; an answer naming one of these
/// other than the expected one answers a different operation. Names outside
/// this list (the API document's examples also show `transaction_response`) are
/// accepted, since the API document does not fix them.
const KNOWN_RESPONSE_TYPES: &[&str] = &[
    <PayRequest as Request>::RESPONSE_TYPE,
    <QueryPayRequest as Request>::RESPONSE_TYPE,
    <RefundRequest as Request>::RESPONSE_TYPE,
    <QueryRefundRequest as Request>::RESPONSE_TYPE,
    <RevokeRequest as Request>::RESPONSE_TYPE,
    <NativePayRequest as Request>::RESPONSE_TYPE,
    <NativeQueryRequest as Request>::RESPONSE_TYPE,
    <JsPayRequest as Request>::RESPONSE_TYPE,
    <H5PayRequest as Request>::RESPONSE_TYPE,
];

/// Ties an answer to our request (API §4.1 response table: `req_seq` "服务器
/// 返回该数据可用作校验"). Decision: `req_seq` is required and must equal
/// ours byte for byte; without it a replayed answer could not be told apart.
fn check_answers(
    expected_type: &'static str,
    req_seq: &str,
    head: &crate::protocol::ResponseHead,
) -> Result<(), Error> {
    let found = head.req_seq.as_deref().unwrap_or("");
    if found != req_seq {
        return Err(Error::Rejected(Rejection::ReqSeqMismatch {
            expected: req_seq.to_string(),
            found: found.to_string(),
        }));
    }
    if let Some(t) = head.response_type.as_deref() {
        if t != expected_type && KNOWN_RESPONSE_TYPES.contains(&t) {
            return Err(Error::Rejected(Rejection::WrongOperation {
                expected: expected_type,
                found: t.to_string(),
            }));
        }
    }
    Ok(())
}

/// A payment notification (API §5.5) as received by the shop's server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedNotice {
    /// The notice's fields.
    pub notice: crate::protocol::OrderNotice,
    /// True when it came in a `<response>` envelope whose signature verified
    /// with this device's dsn; false for a plain `<data>` body, which must be
    /// confirmed with [`Client::prove_paid`] before it is believed.
    pub signed: bool,
}

impl Client {
    /// Reads a notification body in either form the platform may send
    /// (docs/DESIGN.md: a signed `<response>` envelope, or a plain `<data>`).
    /// A bad signature is [`Rejection::BadSignature`]; anything unreadable is
    /// [`Rejection::Malformed`].
    ///
    /// A body longer than [`crate::transport::MAX_RESPONSE_BYTES`] is
    /// refused unread, like an oversized answer.
    pub fn read_notice(&self, body: &[u8]) -> Result<ReceivedNotice, Error> {
        let malformed = |why: String| Error::Rejected(Rejection::Malformed(why));
        if body.len() as u64 > crate::transport::MAX_RESPONSE_BYTES {
            return Err(malformed(format!(
                "notification of {} bytes is larger than {}",
                body.len(),
                crate::transport::MAX_RESPONSE_BYTES
            )));
        }
        let text = std::str::from_utf8(body).map_err(|_| malformed("body is not UTF-8".into()))?;
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        let is_envelope = crate::protocol::xml::Fields::parse(trimmed, None)
            .map(|f| f.root() == "response")
            .unwrap_or(false);
        let (plain, signed) = if is_envelope {
            let env = ResponseEnvelope::parse(trimmed).map_err(|e| malformed(e.to_string()))?;
            let plain = env.open(&self.creds.dsn).map_err(|e| match e {
                crate::protocol::EnvelopeError::BadSignature => {
                    Error::Rejected(Rejection::BadSignature)
                }
                other => malformed(other.to_string()),
            })?;
            (plain, true)
        } else {
            (trimmed.to_string(), false)
        };
        let notice =
            crate::protocol::OrderNotice::from_xml(&plain).map_err(|e| malformed(e.to_string()))?;
        Ok(ReceivedNotice { notice, signed })
    }

    /// Whether a received notice proves its order paid (API §5.5), for an
    /// order the journal records as `recorded` (`Expected::default()` when
    /// it records nothing). The notice is read like any answer
    /// ([`crate::reading`]): one about another amount or order than
    /// recorded is refused; a signed one that says `S` proves it by itself;
    /// a plain one, or one without a status, is confirmed by a query (API
    /// §5.2) that must say `S` for the same order (`trans_seq`, named by
    /// the answer) and amount. Anything else is
    /// [`Rejection::Unconfirmed`], saying why; a query the platform refused
    /// (it does not know the order: [`Error::Refused`]) or that could not
    /// be made returns its own error. The flow, the C ABI and `ystpay notify`
    /// all decide by this.
    pub fn prove_paid(
        &self,
        received: &ReceivedNotice,
        recorded: &Expected,
    ) -> Result<NoticeProof, Error> {
        let unconfirmed = |why: String| Err(Error::Rejected(Rejection::Unconfirmed(why)));
        let n = &received.notice;
        match read(n, recorded) {
            Reading::Foreign(_, why) => {
                return unconfirmed(format!(
                    "the notification does not match the journal: {why}"
                ))
            }
            Reading::Paid(_) if received.signed => return Ok(NoticeProof::Signature),
            Reading::Paid(_) | Reading::Unclear(_) => {}
            other => {
                return unconfirmed(format!(
                    "the notification does not say paid: {}",
                    other.words()
                ))
            }
        }
        let mut q = NativeQueryRequest {
            req_seq: String::new(),
            channel: None,
            ori_seq: n.req_seq.clone().unwrap_or_default(),
        };
        let answer = self.native_query(&mut q)?;
        let expect = Expected {
            fee: recorded.fee.or(n.total_fee),
            number: n.trans_seq.clone(),
            ..Expected::default()
        };
        let named = answer.trans_seq.as_ref();
        match read(&answer, &expect) {
            Reading::Paid(_) if named.is_some() && named == n.trans_seq.as_ref() => {
                Ok(NoticeProof::Query)
            }
            other => unconfirmed(format!("the platform's answer: {}", other.words())),
        }
    }
}

/// How a notice was proven paid ([`Client::prove_paid`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeProof {
    /// Its own signature, with this device's dsn.
    Signature,
    /// A query to the platform (the notice came plain, or without a status).
    Query,
}

/// The reply the platform expects to a notice (API §5.5): `Y` stops its
/// retries. Answer `Y` to a duplicate too.
pub fn notice_reply(accepted: bool, message: &str) -> String {
    crate::protocol::NoticeReply {
        result: accepted,
        message: message.to_string(),
    }
    .to_xml()
}
