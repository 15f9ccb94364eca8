//! Transport security: https verifies certificates by default, a private CA
//! can be trusted with `ca_file`, plain http is allowed only to loopback
//! unless `allow_http` is set, and every exchange has a deadline.
//!
//! The https tests run a real TLS server (rustls) on 127.0.0.1 with
//! certificates made on the spot (rcgen) for `localhost`.

/// The fake platform (tests/fake/mod.rs), named `common` here.
mod fake;
use fake as common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use ystpay::protocol::messages::PayRequest;
use ystpay::protocol::xml::Fields;
use ystpay::protocol::RequestEnvelope;
use ystpay::{Client, ClientConfig, Error};

struct Pki {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

/// A CA and a server certificate for `localhost` signed by it.
fn pki(name: &str) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca_cert, &ca_key).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("ystpay-tls-{}-{name}", std::process::id()));
    std::fs::write(&p, contents).unwrap();
    p
}

/// Reads one HTTP request (head + Content-Length body).
fn read_request(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

/// The platform's answer to a request body: a signed "paid" answer.
fn answer(body: &[u8]) -> Vec<u8> {
    let env = RequestEnvelope::parse(std::str::from_utf8(body).unwrap()).unwrap();
    let plain = env.open(common::KEY).unwrap();
    let f = Fields::parse(&plain, Some("data")).unwrap();
    let seq = f.get("req_seq").unwrap();
    common::seal(&common::paid_answer(
        "unitive_pay_response",
        seq,
        "900001",
        100,
    ))
}

fn respond(w: &mut impl Write, body: &[u8]) {
    let _ = write!(
        w,
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = w.write_all(body);
    let _ = w.flush();
}

/// An https platform on 127.0.0.1 serving `connections` connections.
fn https_server(p: &Pki, connections: usize) -> u16 {
    let cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(p.cert_der.clone())],
            rustls::pki_types::PrivateKeyDer::Pkcs8(p.key_der.clone().into()),
        )
        .unwrap();
    let cfg = Arc::new(cfg);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(tcp) = stream else { continue };
            let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
            let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
            if let Some(body) = read_request(&mut tls) {
                respond(tls.get_mut(), &answer(&body));
            }
        }
    });
    port
}

fn config(url: &str) -> ClientConfig {
    ClientConfig::new(url, common::ACCT, common::PASS, common::KEY)
}

fn pay(c: &Client) -> Result<i64, Error> {
    c.pay(&mut PayRequest::new("", 100, "134567890123456701"))
        .map(|a| a.total_fee.unwrap_or(0))
}

#[test]
fn https_verifies_certificates_and_trusts_a_configured_private_ca() {
    let p = pki("ystpay test CA");
    let other = pki("some other CA");
    let port = https_server(&p, 4);
    let url = format!("https://localhost:{port}/ystpay/service/unitive.api");

    // Default: the built-in roots do not know the private CA.
    let c = Client::new(&config(&url)).unwrap();
    match pay(&c) {
        Err(Error::NotSent(why)) => assert!(why.to_lowercase().contains("certificate"), "{why}"),
        other => panic!("untrusted certificate accepted: {other:?}"),
    }

    // Trusting another CA does not help.
    let mut cfg = config(&url);
    cfg.ca_file = Some(temp_file("other.pem", &other.ca_pem));
    let c = Client::new(&cfg).unwrap();
    assert!(matches!(pay(&c), Err(Error::NotSent(_))));

    // The private CA configured: the exchange completes.
    let mut cfg = config(&url);
    cfg.ca_file = Some(temp_file("ca.pem", &p.ca_pem));
    let c = Client::new(&cfg).unwrap();
    assert_eq!(pay(&c).expect("trusted private CA"), 100);

    // Same CA but a name the certificate does not carry.
    let mut cfg = config(&format!(
        "https://127.0.0.1:{port}/ystpay/service/unitive.api"
    ));
    cfg.ca_file = Some(temp_file("ca2.pem", &p.ca_pem));
    let c = Client::new(&cfg).unwrap();
    assert!(matches!(pay(&c), Err(Error::NotSent(_))));
}

#[test]
fn an_unusable_ca_file_is_a_configuration_error() {
    let url = "https://localhost:1/ystpay/service/unitive.api";
    let mut cfg = config(url);
    cfg.ca_file = Some(PathBuf::from("/nonexistent/ystpay-ca.pem"));
    assert!(matches!(Client::new(&cfg), Err(Error::Config(_))));
    cfg.ca_file = Some(temp_file("garbage.pem", "not a certificate\n"));
    assert!(matches!(Client::new(&cfg), Err(Error::Config(_))));
    let broken = "-----BEGIN CERTIFICATE-----\nAAAA!!!!\n-----END CERTIFICATE-----\n";
    cfg.ca_file = Some(temp_file("broken.pem", broken));
    assert!(matches!(Client::new(&cfg), Err(Error::Config(_))));
    // The configuration file key reaches the same field.
    let s = ystpay::config::Settings::parse(&format!(
        "server_url={url}\nacct=demo\npass=demo123\nprivate_key=0123456789ABCDEF\nca_file=/etc/ystpay/ca.pem\n"
    ))
    .unwrap();
    assert_eq!(s.client.ca_file, Some(PathBuf::from("/etc/ystpay/ca.pem")));
}

#[test]
fn plain_http_only_to_loopback_unless_allowed() {
    let never = || Arc::new(common::FakePlatform::new(|_| Vec::new()));
    for ok in [
        "http://127.0.0.1:8088/ystpay/service/unitive.api",
        "http://127.9.8.7/x",
        "http://localhost:8088/x",
        "http://[::1]:8088/x",
        "https://pay.example.com/ystpay/service/unitive.api",
    ] {
        assert!(
            Client::with_transport(&config(ok), never()).is_ok(),
            "{ok} refused"
        );
    }
    for bad in [
        "http://pay.example.com/ystpay/service/unitive.api",
        "http://10.0.0.1:8088/x",
        "http://localhost@evil.example/x",
        "http://127.0.0.1@evil.example/x",
        "http://127.0.0.1:80@evil.example/x",
        "http://127.0.0.1.evil.example/x",
        "http://127.0.0.1#@evil.example/x",
        "http://127.0.0.1\\@evil.example/x",
        "http://localhost./x",
        "http://[::ffff:10.0.0.1]/x",
        "ftp://127.0.0.1/x",
        "HTTP://evil.example/x",
        "http:///x",
        "https://",
    ] {
        match Client::with_transport(&config(bad), never()) {
            Err(Error::Config(_)) => {}
            other => panic!("{bad} accepted: {other:?}"),
        }
    }
    let mut cfg = config("http://pay.example.com/ystpay/service/unitive.api");
    cfg.allow_http = true;
    assert!(Client::with_transport(&cfg, never()).is_ok());
}

/// A server that answers a byte at a time cannot hold the till: the whole
/// exchange ends within connect + read timeout (plus scheduling slack), as
/// an unknown outcome.
#[test]
fn a_trickling_server_is_cut_off_by_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Some(Ok(tcp)) = listener.incoming().next() {
            let mut r = BufReader::new(tcp.try_clone().unwrap());
            let _ = read_request(&mut r);
            let mut w: TcpStream = tcp;
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            for _ in 0..200 {
                if w.write_all(b"<").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    let mut cfg = config(&format!(
        "http://127.0.0.1:{port}/ystpay/service/unitive.api"
    ));
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.read_timeout = Duration::from_millis(1500);
    let c = Client::new(&cfg).unwrap();
    let start = Instant::now();
    let r = pay(&c);
    let took = start.elapsed();
    assert!(matches!(r, Err(Error::OutcomeUnknown(_))), "{r:?}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

/// An answer larger than the limit is not read whole, and is an unknown
/// outcome (the request may have been processed).
#[test]
fn an_oversized_answer_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Some(Ok(tcp)) = listener.incoming().next() {
            let mut r = BufReader::new(tcp.try_clone().unwrap());
            let _ = read_request(&mut r);
            let big = vec![b' '; ystpay::transport::MAX_RESPONSE_BYTES as usize + 1];
            let mut w = tcp;
            respond(&mut w, &big);
        }
    });
    let c = Client::new(&config(&format!(
        "http://127.0.0.1:{port}/ystpay/service/unitive.api"
    )))
    .unwrap();
    assert!(matches!(pay(&c), Err(Error::OutcomeUnknown(_))));
}

/// A small compressed answer that inflates past the limit (a "zip bomb")
/// is cut off at the limit too: the limit counts decoded bytes.
#[test]
fn a_compressed_bomb_is_cut_off() {
    use flate2::write::GzEncoder;
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&chunk).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 200_000);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Some(Ok(tcp)) = listener.incoming().next() {
            let mut r = BufReader::new(tcp.try_clone().unwrap());
            let _ = read_request(&mut r);
            let mut w = tcp;
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                bomb.len()
            );
            let _ = w.write_all(&bomb);
        }
    });
    let c = Client::new(&config(&format!(
        "http://127.0.0.1:{port}/ystpay/service/unitive.api"
    )))
    .unwrap();
    match pay(&c) {
        Err(Error::OutcomeUnknown(why)) => assert!(why.contains("reading the answer"), "{why}"),
        other => panic!("bomb not cut off: {other:?}"),
    }
}
