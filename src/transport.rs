//! HTTP transport: one POST, one body back, with the failure classified by
//! whether the request could have reached the platform.
//!
//! [`Transport`] is the seam where tests inject faults; [`HttpTransport`]
//! is the real one (ureq: keep-alive connection pool, timeouts, optional
//! proxy, https with certificate verification always on).

use std::path::Path;
use std::time::Duration;

/// Most bytes of an answer read from the network (an answer is a few KiB).
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// A failed exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The request certainly did not leave: a bad URL, or any failure while
    /// a new connection was being made (name lookup, no route, unreachable
    /// host, refused or timed-out connect, proxy tunnel, TLS handshake).
    NotSent(String),
    /// The request may have been delivered: anything on a connection that
    /// was established or kept alive (timeout while waiting, connection
    /// reset or dropped), an HTTP status other than 200, an oversized answer.
    Unknown(String),
}

/// What a cashier is told when a certificate is expired or not yet valid by
/// the register's clock: the usual cause is the register's date, not the
/// platform.
pub const CHECK_CLOCK: &str = "检查收银机的日期和时间 / check the register's date and time";

/// Whether a TLS failure's text says the certificate is expired or not yet
/// valid (rustls's words), and which of the two.
pub fn certificate_time_error(text: &str) -> Option<&'static str> {
    let l = text.to_ascii_lowercase();
    if l.contains("certificate expired") || l.contains("certificate: expired") {
        Some("expired")
    } else if l.contains("not valid yet") || l.contains("notvalidyet") {
        Some("not yet valid")
    } else {
        None
    }
}

/// `text`, with the clock named when it is a certificate time failure.
fn name_the_clock(text: String) -> String {
    match certificate_time_error(&text) {
        Some(which) => format!(
            "{text} — 服务器证书按本机时钟{}：{CHECK_CLOCK}",
            if which == "expired" {
                "已过期 (the server certificate is expired by this register's clock)"
            } else {
                "尚未生效 (the server certificate is not yet valid by this register's clock)"
            }
        ),
        None => text,
    }
}

/// Sends one request body and returns the answer body of an HTTP 200.
pub trait Transport: Send + Sync {
    /// POSTs `body` (`text/xml; charset=UTF-8`) to `url`.
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError>;

    /// Opens or checks a connection to `url`'s server, so that the next
    /// [`Transport::post`] goes out on a live one. Sends nothing the
    /// platform acts on. The default does nothing (transports of tests).
    fn prepare(&self, url: &str) -> Result<(), TransportError> {
        let _ = url;
        Ok(())
    }
}

/// Settings for [`HttpTransport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Time to establish a connection (TCP, proxy, TLS).
    pub connect_timeout: Duration,
    /// Time to send the request and receive the whole answer.
    pub read_timeout: Duration,
    /// `http://host:port` of a proxy, or none.
    pub proxy: Option<String>,
    /// How long an idle kept-alive connection is trusted. Past it, the
    /// connection is dropped and the next request opens a new one. It must
    /// stay below the idle time after which a NAT or firewall on the way
    /// forgets a connection without telling either end: a request written
    /// on such a connection is lost and would wait for `read_timeout`.
    /// A server that closes an idle connection itself (a FIN) is noticed
    /// before reuse, whatever this says.
    pub keep_alive: Duration,
}

/// Default [`HttpSettings::keep_alive`]: below the 30 s after which the
/// shortest NATs seen on registers' links (4G modems) forget an idle
/// connection; a gap between customers longer than that is bridged by
/// `prepare` when the sale starts.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(25);

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            proxy: None,
            keep_alive: DEFAULT_KEEP_ALIVE,
        }
    }
}

/// Reads a PEM file of CA certificates into ureq's root set. A file that
/// cannot be read, does not parse, or holds no certificate is an error: a
/// typo must not silently fall back to other roots.
fn load_roots(path: &std::path::Path) -> Result<ureq::tls::RootCerts, String> {
    let pem = std::fs::read(path).map_err(|e| format!("ca_file '{}': {e}", path.display()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(format!("ca_file '{}': {e}", path.display())),
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "ca_file '{}' holds no PEM certificate",
            path.display()
        ));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// The real transport: a ureq agent whose connections are kept alive and
/// reused between calls.
pub struct HttpTransport {
    agent: ureq::Agent,
    connect_timeout: Duration,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpTransport")
    }
}

impl HttpTransport {
    /// Builds the agent. Fails for an unusable proxy URL or CA file.
    ///
    /// Every phase has a deadline: resolving and connecting (TLS handshake
    /// included) within `connect_timeout`, each of sending the request,
    /// waiting for the answer's head and reading its body within
    /// `read_timeout`, and the whole exchange within `connect_timeout +
    /// read_timeout`, so a server trickling bytes cannot hold the till.
    pub fn new(settings: &HttpSettings) -> Result<Self, String> {
        HttpTransport::with_ca_file(settings, None)
    }

    /// Like [`HttpTransport::new`], trusting the CA certificates of the PEM
    /// file `ca_file` instead of the built-in Mozilla roots when it is given
    /// (a platform installed with a private CA). Certificates are always
    /// verified; a file that cannot be read or holds no certificate is an
    /// error.
    pub fn with_ca_file(settings: &HttpSettings, ca_file: Option<&Path>) -> Result<Self, String> {
        let proxy = match &settings.proxy {
            None => None,
            Some(p) => Some(ureq::Proxy::new(p).map_err(|e| format!("proxy '{p}': {e}"))?),
        };
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = ca_file {
            tls = tls.root_certs(load_roots(path)?);
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Only the configured proxy, never one picked up from the environment.
            .proxy(proxy)
            .tls_config(tls.build())
            .timeout_resolve(Some(settings.connect_timeout))
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_send_request(Some(settings.read_timeout))
            .timeout_send_body(Some(settings.read_timeout))
            .timeout_recv_response(Some(settings.read_timeout))
            .timeout_recv_body(Some(settings.read_timeout))
            .timeout_per_call(Some(
                settings
                    .connect_timeout
                    .saturating_add(settings.read_timeout),
            ))
            .max_redirects(0)
            .max_idle_connections_per_host(8)
            .max_idle_age(settings.keep_alive)
            .user_agent(concat!("ystpay/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpTransport {
            connect_timeout: settings.connect_timeout,
            agent: ureq::Agent::with_parts(
                config,
                NewConnection::default(),
                LiteralFirst::default(),
            ),
        })
    }
}

/// ureq's resolver, except that a host written as an IP address is taken as
/// it is. ureq resolves the host on every call, before it looks for a
/// kept-alive connection, and with a resolve deadline set (above) it does so
/// on a new thread each time: about 60 µs per call on loopback, as long as
/// the whole exchange (docs/PERFORMANCE.md). An address literal cannot block
/// or fail, so it needs neither the thread nor the deadline; a name still
/// goes through ureq's resolver with its deadline, and a failed lookup is
/// marked [`BeforeRequest`]: it comes before any connection is chosen.
#[derive(Debug, Default)]
struct LiteralFirst(ureq::unversioned::resolver::DefaultResolver);

impl ureq::unversioned::resolver::Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        if let Some(auth) = uri.authority() {
            let host = auth.host();
            let host = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            let port = auth.port_u16().or(match uri.scheme_str() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => None,
            });
            if let (Ok(ip), Some(port)) = (host.parse::<std::net::IpAddr>(), port) {
                let mut addrs = self.empty();
                addrs.push(std::net::SocketAddr::new(ip, port));
                return Ok(addrs);
            }
        }
        self.0.resolve(uri, config, timeout).map_err(before_request)
    }
}

/// ureq's connector chain (TCP, CONNECT proxy, TLS), its failures marked as
/// [`BeforeRequest`]. ureq runs the connector only to open a new connection,
/// before it writes the request on it; a kept-alive connection is taken from
/// the pool without it. So a failure marked here happened before any byte of
/// the request could leave, whatever its io error: the same errno
/// (ECONNRESET, EHOSTUNREACH, ...) on an established connection may come
/// after the request left, and stays unmarked.
#[derive(Debug, Default)]
struct NewConnection(ureq::unversioned::transport::DefaultConnector);

impl ureq::unversioned::transport::Connector for NewConnection {
    type Out = Box<dyn ureq::unversioned::transport::Transport>;

    fn connect(
        &self,
        details: &ureq::unversioned::transport::ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        self.0.connect(details, chained).map_err(before_request)
    }
}

/// A ureq error raised while resolving the host or opening a new connection:
/// nothing of the request was written yet. Its text is the inner error's.
#[derive(Debug)]
struct BeforeRequest(ureq::Error);

impl std::fmt::Display for BeforeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BeforeRequest {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Marks `e` as [`BeforeRequest`] (once: a CONNECT proxy runs the connector
/// again for its own connection, inside ours).
fn before_request(e: ureq::Error) -> ureq::Error {
    match e {
        ureq::Error::Other(b) if b.is::<BeforeRequest>() => ureq::Error::Other(b),
        e => ureq::Error::Other(Box::new(BeforeRequest(e))),
    }
}

/// Classifies a ureq error by whether the request could have been delivered.
///
/// Not sent: what [`NewConnection`] and [`LiteralFirst`] marked, and what
/// ureq refuses before it looks for a connection (a URL or header it cannot
/// write, an unusable proxy URL). Everything else happened on a connection
/// that could already carry the request: unknown.
fn classify(e: ureq::Error) -> TransportError {
    use ureq::Error as E;
    match e {
        E::Other(b) => match b.downcast::<BeforeRequest>() {
            Ok(tagged) => TransportError::NotSent(name_the_clock(tagged.to_string())),
            Err(other) => TransportError::Unknown(E::Other(other).to_string()),
        },
        // ConnectionFailed: no connector of the chain opened a connection.
        E::BadUri(_) | E::Http(_) | E::InvalidProxyUrl | E::ConnectionFailed => {
            TransportError::NotSent(e.to_string())
        }
        e => TransportError::Unknown(name_the_clock(e.to_string())),
    }
}

impl HttpTransport {
    /// A harmless `GET` of `url` (`ystpay doctor`): proves the name, the
    /// connection, the proxy and the TLS handshake as a request would use
    /// them, and returns the answer's HTTP `Date` header, whatever its
    /// status (the platform answers a `GET` of the API with an error).
    pub fn probe(&self, url: &str) -> Result<Option<String>, TransportError> {
        let resp = self.agent.get(url).call().map_err(classify)?;
        Ok(resp
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string))
    }
}

impl Transport for HttpTransport {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut resp = self
            .agent
            .post(url)
            .header("Content-Type", "text/xml; charset=UTF-8")
            .send(body)
            .map_err(classify)?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(TransportError::Unknown(format!("HTTP status {status}")));
        }
        resp.body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| TransportError::Unknown(format!("reading the answer: {e}")))
    }

    /// A `HEAD` of the API URL: it carries no XML, so the platform does
    /// nothing with it and no serial is used; whatever its status (a
    /// servlet answers 200 or 405), the connection it went out on is kept
    /// alive for the payment. A kept-alive connection is reused for it when
    /// it looks open, which also proves it still works end to end: one a
    /// NAT forgot gets no answer within `connect_timeout`, is dropped, and
    /// the next try opens a fresh one. At most three tries, each bounded by
    /// `connect_timeout` for the whole exchange.
    fn prepare(&self, url: &str) -> Result<(), TransportError> {
        let mut last = TransportError::NotSent("not tried".into());
        for _ in 0..3 {
            let r = self
                .agent
                .head(url)
                .config()
                .timeout_per_call(Some(self.connect_timeout))
                .timeout_recv_response(Some(self.connect_timeout))
                .build()
                .call();
            match r {
                Ok(mut resp) => {
                    // Read what there is (nothing, for a HEAD): the
                    // connection goes back to the pool once the answer ends.
                    let _ = resp.body_mut().with_config().limit(1024).read_to_vec();
                    return Ok(());
                }
                Err(e) => {
                    last = classify(e);
                    // Not sent: the platform cannot be reached now; another
                    // try would wait the same.
                    if matches!(last, TransportError::NotSent(_)) {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::resolver::Resolver;
    use ureq::unversioned::transport::NextTimeout;

    fn resolve(url: &str) -> Vec<std::net::SocketAddr> {
        let uri: ureq::http::Uri = url.parse().unwrap();
        let config = ureq::Agent::config_builder().build();
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from_secs(1),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        LiteralFirst::default()
            .resolve(&uri, &config, timeout)
            .unwrap()
            .iter()
            .copied()
            .collect()
    }

    fn io(kind: std::io::ErrorKind) -> ureq::Error {
        ureq::Error::Io(std::io::Error::from(kind))
    }

    #[test]
    fn a_failure_while_connecting_is_not_sent_whatever_its_errno() {
        use std::io::ErrorKind as K;
        for kind in [
            K::NetworkUnreachable,
            K::HostUnreachable,
            K::ConnectionRefused,
            K::ConnectionReset,
            K::TimedOut,
            K::Other,
        ] {
            let e = io(kind);
            let text = e.to_string();
            assert_eq!(
                classify(before_request(e)),
                TransportError::NotSent(text),
                "{kind:?}"
            );
        }
        for e in [
            ureq::Error::HostNotFound,
            ureq::Error::Timeout(ureq::Timeout::Connect),
            ureq::Error::Timeout(ureq::Timeout::Resolve),
            ureq::Error::ConnectProxyFailed("proxy server responded 502/Bad Gateway".into()),
            ureq::Error::Tls("Rustls invalid dns name error"),
        ] {
            let text = e.to_string();
            assert_eq!(classify(before_request(e)), TransportError::NotSent(text));
        }
    }

    #[test]
    fn the_same_errors_on_an_established_connection_are_unknown() {
        use std::io::ErrorKind as K;
        for kind in [
            K::NetworkUnreachable,
            K::HostUnreachable,
            K::ConnectionRefused,
            K::ConnectionReset,
            K::ConnectionAborted,
            K::BrokenPipe,
            K::UnexpectedEof,
            K::NotFound,
            K::AddrNotAvailable,
        ] {
            assert!(
                matches!(classify(io(kind)), TransportError::Unknown(_)),
                "{kind:?}"
            );
        }
        for e in [
            ureq::Error::Timeout(ureq::Timeout::RecvResponse),
            ureq::Error::Timeout(ureq::Timeout::Global),
            ureq::Error::Other("something else".into()),
        ] {
            assert!(matches!(classify(e), TransportError::Unknown(_)));
        }
    }

    #[test]
    fn a_proxy_tunnel_marked_twice_reads_as_once() {
        let e = before_request(before_request(io(std::io::ErrorKind::ConnectionRefused)));
        match classify(e) {
            TransportError::NotSent(text) => assert!(text.starts_with("io: "), "{text}"),
            other => panic!("{other:?}"),
        }
    }

    fn transport(connect_timeout: Duration) -> HttpTransport {
        HttpTransport::new(&HttpSettings {
            connect_timeout,
            read_timeout: Duration::from_secs(2),
            proxy: None,
            ..HttpSettings::default()
        })
        .unwrap()
    }

    #[test]
    fn a_refused_connect_is_not_sent_with_the_io_text() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let r = transport(Duration::from_secs(2)).post(&format!("http://127.0.0.1:{port}/x"), b"x");
        match r {
            Err(TransportError::NotSent(text)) => {
                assert!(text.starts_with("io: "), "{text}");
                assert!(text.to_lowercase().contains("refused"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_url_is_not_sent() {
        let r = transport(Duration::from_secs(1)).post("http://", b"x");
        assert!(matches!(r, Err(TransportError::NotSent(_))), "{r:?}");
    }

    /// Answers the first request on the first connection with a complete
    /// keep-alive 200, then reads the second request on it and closes,
    /// leaving the second call nothing; counts the connections accepted.
    #[test]
    fn a_kept_alive_connection_closed_after_the_request_is_unknown() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", l.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut reqs = 0;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while reqs < 2 {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "client closed");
                buf.extend_from_slice(&chunk[..n]);
                // Each request is a head plus the one-byte body "x".
                while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    if buf.len() < end + 5 {
                        break;
                    }
                    buf.drain(..end + 5);
                    reqs += 1;
                    if reqs == 1 {
                        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .unwrap();
                    }
                }
            }
            drop(s);
            l.set_nonblocking(true).unwrap();
            l.accept().is_ok()
        });
        let t = transport(Duration::from_secs(2));
        assert_eq!(t.post(&url, b"x"), Ok(b"ok".to_vec()));
        let r = t.post(&url, b"x");
        assert!(matches!(r, Err(TransportError::Unknown(_))), "{r:?}");
        assert!(!server.join().unwrap(), "a second connection was opened");
    }

    #[test]
    fn address_literals_are_taken_as_written_names_are_resolved() {
        assert_eq!(
            resolve("http://127.0.0.1:8088/ystpay/service/unitive.api"),
            vec!["127.0.0.1:8088".parse().unwrap()]
        );
        assert_eq!(
            resolve("https://[::1]/x"),
            vec!["[::1]:443".parse().unwrap()]
        );
        assert_eq!(
            resolve("http://10.1.2.3/x"),
            vec!["10.1.2.3:80".parse().unwrap()]
        );
        assert!(resolve("http://localhost:9/x")
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 9));
    }
}
