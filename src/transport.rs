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
    /// The request certainly did not leave (bad URL, DNS failure, refused
    /// or timed-out connect, TLS handshake failure).
    NotSent(String),
    /// The request may have been delivered (timeout while waiting, connection
    /// dropped, HTTP status other than 200, oversized answer).
    Unknown(String),
}

/// Sends one request body and returns the answer body of an HTTP 200.
pub trait Transport: Send + Sync {
    /// POSTs `body` (`text/xml; charset=UTF-8`) to `url`.
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError>;
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
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(20),
            proxy: None,
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
            .user_agent(concat!("ystpay/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(HttpTransport {
            agent: ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::default(),
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
/// goes through ureq's resolver with its deadline.
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
        self.0.resolve(uri, config, timeout)
    }
}

/// Classifies a ureq error by whether the request could have been delivered.
fn classify(e: ureq::Error) -> TransportError {
    use std::io::ErrorKind as K;
    use ureq::Error as E;
    use ureq::Timeout as T;
    let text = e.to_string();
    match e {
        E::BadUri(_) | E::Http(_) | E::InvalidProxyUrl | E::HostNotFound | E::ConnectionFailed => {
            TransportError::NotSent(text)
        }
        E::Tls(_) | E::Pem(_) | E::Rustls(_) => TransportError::NotSent(text),
        E::Timeout(T::Resolve) | E::Timeout(T::Connect) => TransportError::NotSent(text),
        E::Io(ref io)
            if matches!(
                io.kind(),
                K::ConnectionRefused | K::AddrNotAvailable | K::NotFound | K::AddrInUse
            ) || tls_handshake_refused(io) =>
        {
            TransportError::NotSent(text)
        }
        _ => TransportError::Unknown(text),
    }
}

/// True when `io` is a TLS error that can only happen during the handshake
/// (the server's certificate was refused, or no common protocol): the
/// request is written only after the handshake, and 0-RTT early data is
/// never enabled, so nothing was sent. Other TLS errors (a bad record or an
/// alert while the answer is read) may come after the request left and stay
/// "unknown".
fn tls_handshake_refused(io: &std::io::Error) -> bool {
    use rustls::Error as R;
    let Some(inner) = io.get_ref() else {
        return false;
    };
    matches!(
        inner.downcast_ref::<R>(),
        Some(
            R::InvalidCertificate(_)
                | R::NoCertificatesPresented
                | R::UnsupportedNameType
                | R::PeerIncompatible(_)
                | R::InvalidCertRevocationList(_)
        )
    )
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
