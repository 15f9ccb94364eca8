//! The configuration a DLL client reads: exactly the INI format and keys of
//! [`crate::config`] (one parser for the library, the command-line tool and
//! the C ABI; see its docs and `config::KEYS`), plus the keys only a client
//! created through the C ABI has ([`EXTRA_KEYS`]):
//!
//! ```ini
//! ; ystpay.ini
//! [ystpay]
//! server_url = https://pay.example.com/ystpay/service/unitive.api
//! acct = d0001
//! pass = secret
//! private_key = 0123456789ABCDEF
//! encoding = gbk
//! journal = C:\POS\ystpay.db
//! log_file = C:\POS\logs\ystpay.log
//! ```
//!
//! Errors name the line and never repeat a secret's value.

use std::time::Duration;

use super::codes::*;
use super::error::Failure;
use super::text::Enc;
use crate::client::ClientConfig;
use crate::config::{self as shared, ConfigError};
use crate::flow::FlowConfig;

/// A client's settings as read from C: the library's settings plus what
/// only a C client has (its string encoding, the flow's timing, whether
/// to recover on creation).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The settings every register has ([`crate::config::Settings`]).
    pub shared: shared::Settings,
    /// Timing of the settle flow.
    pub flow: FlowConfig,
    /// Settle the journal's open operations while creating the client.
    pub recover_on_start: bool,
}

impl Settings {
    /// Strings in and out of this client's calls (the `encoding` key).
    pub fn enc(&self) -> Enc {
        self.shared.encoding
    }

    /// Settings for a client configured as `config`, with strings in `enc`:
    /// no journal, no log, default timing.
    pub fn new(config: ClientConfig, enc: Enc) -> Settings {
        let mut shared = shared::Settings::new(config);
        shared.encoding = enc;
        Settings {
            shared,
            flow: FlowConfig::default(),
            recover_on_start: true,
        }
    }
}

/// The keys a C ABI configuration accepts besides every key of
/// [`crate::config::KEYS`], with what they set.
pub const EXTRA_KEYS: &[(&str, &str)] = &[
    (
        "recover_on_start",
        "1 (default) to settle the journal's open operations on creation",
    ),
    (
        "flow_time_scale",
        "tests only: divide every settle-flow duration by this (sped-up simulator)",
    ),
];

/// True when a C ABI configuration accepts `key` (case-insensitive).
pub fn accepts(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    shared::KEYS
        .iter()
        .chain(EXTRA_KEYS)
        .any(|(k, _)| *k == key)
}

fn config_err(e: ConfigError) -> Failure {
    let message = if e.line > 0 {
        format!("configuration line {}: {}", e.line, e.message)
    } else {
        format!("configuration: {}", e.message)
    };
    Failure::new(YSTPAY_ERR_CONFIG, message)
}

/// Milliseconds from C: `0` keeps the default, negative is an error.
pub fn millis(value: i64, name: &str, default: Duration) -> Result<Duration, Failure> {
    match value {
        0 => Ok(default),
        v if v < 0 => Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            format!("{name} is negative"),
        )),
        v => Ok(Duration::from_millis(v as u64)),
    }
}

/// Parses configuration text: [`crate::config::parse_pairs`] splits it,
/// the keys of [`EXTRA_KEYS`] are taken here, and every other key goes to
/// [`crate::config::Settings::from_pairs`], which zeroes the values once read.
pub fn parse(text: &str) -> Result<Settings, Failure> {
    let pairs = shared::parse_pairs(text).map_err(config_err)?;
    let mut recover_on_start = true;
    let mut time_scale = 1.0f64;
    let mut rest = Vec::with_capacity(pairs.len());
    for (key, value, line) in pairs {
        match key.as_str() {
            "recover_on_start" => {
                recover_on_start = shared::parse_bool(&value).ok_or_else(|| {
                    config_err(ConfigError {
                        line,
                        message: "'recover_on_start' must be 0 or 1".into(),
                    })
                })?
            }
            "flow_time_scale" => {
                time_scale = value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && (1.0..=1000.0).contains(v))
                    .ok_or_else(|| {
                        config_err(ConfigError {
                            line,
                            message: "'flow_time_scale' must be a number from 1 to 1000".into(),
                        })
                    })?
            }
            _ => rest.push((key, value, line)),
        }
    }
    let s = shared::Settings::from_pairs(rest).map_err(config_err)?;
    Ok(from_shared(s, recover_on_start, time_scale))
}

/// Reads a configuration file: at most [`crate::config::MAX_CONFIG_BYTES`],
/// UTF-8 (ASCII is UTF-8), zeroed once parsed. A file that cannot be read or
/// is too large is `YSTPAY_ERR_CONFIG_FILE`; one that is not UTF-8 is
/// `YSTPAY_ERR_INVALID_ENCODING`; bad content is `YSTPAY_ERR_CONFIG`.
pub fn load(path: &std::path::Path) -> Result<Settings, Failure> {
    let text = shared::read_file(path).map_err(|e| match e {
        shared::ReadError::Io(message) => Failure::new(YSTPAY_ERR_CONFIG_FILE, message),
        shared::ReadError::TooLarge(e) => Failure::new(YSTPAY_ERR_CONFIG_FILE, e.message),
        shared::ReadError::NotUtf8(_) => Failure::new(
            YSTPAY_ERR_INVALID_ENCODING,
            "the configuration file is not UTF-8",
        ),
    })?;
    parse(&text)
}

fn from_shared(mut s: shared::Settings, recover_on_start: bool, time_scale: f64) -> Settings {
    // The flow's timing is scaled below, its default deadline with it; a
    // deadline the file sets is scaled here, once.
    s.settle_deadline = s.settle_deadline.map(|d| d.div_f64(time_scale));
    Settings {
        shared: s,
        flow: FlowConfig::default().scaled(1.0 / time_scale),
        recover_on_start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_ini_file() {
        let s = parse(
            "\u{feff}; comment\n[ystpay]\nserver_url = http://127.0.0.1:1/x\nACCT=demo\r\npass = demo123\n\
             private_key=0123456789ABCDEF\nread_timeout_ms=1500\nencoding=GBK\nregister_no=12\nallow_http=yes\n\
             ca_file = /etc/ystpay/ca.pem\nlog_file=/var/log/ystpay.log\nlog_level=debug\nrecover_on_start=0\n",
        )
        .unwrap();
        let c = &s.shared.client;
        assert_eq!(c.account, "demo");
        assert_eq!(c.password.as_deref(), Some("demo123"));
        assert_eq!(c.read_timeout, Duration::from_millis(1500));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.register_no, Some(12));
        assert!(c.allow_http);
        assert_eq!(
            c.ca_file.as_deref(),
            Some(std::path::Path::new("/etc/ystpay/ca.pem"))
        );
        assert_eq!(s.enc(), Enc::Gbk);
        assert_eq!(
            s.shared.log_file.as_deref(),
            Some(std::path::Path::new("/var/log/ystpay.log"))
        );
        assert_eq!(s.shared.log_level, shared::LogLevel::Debug);
        assert!(!s.recover_on_start);
        assert_eq!(s.shared.settle_deadline, None, "the flow's own");
        assert_eq!(s.flow.pay_deadline, FlowConfig::default().pay_deadline);
    }

    #[test]
    fn every_key_of_the_shared_table_is_accepted() {
        for (key, _) in shared::KEYS.iter().chain(EXTRA_KEYS) {
            assert!(accepts(key), "{key}");
        }
        assert!(!accepts("colour"));
    }

    #[test]
    fn unknown_keys_and_bad_values_fail_without_echoing_values() {
        let e = parse("pasword = hunter2\n").unwrap_err();
        assert_eq!(e.code, YSTPAY_ERR_CONFIG);
        assert!(e.message.contains("pasword") && !e.message.contains("hunter2"));
        assert!(e.message.contains("line 1"), "{}", e.message);
        let e = parse("read_timeout_ms = -5\n").unwrap_err();
        assert!(e.message.contains("read_timeout_ms"), "{}", e.message);
        let e = parse("server_url=http://x\nacct=a\n").unwrap_err();
        assert!(e.message.contains("private_key") || e.message.contains("pass"));
        assert!(parse("just words\n").is_err());
        let e = parse("acct=a\nacct=b\n").unwrap_err();
        assert!(e.message.contains("twice"), "{}", e.message);
        let e = parse("flow_time_scale = 0\n").unwrap_err();
        assert!(e.message.contains("flow_time_scale"), "{}", e.message);
    }

    #[test]
    fn the_time_scale_divides_the_settle_deadline() {
        let s = parse(
            "server_url=http://127.0.0.1:1/x\nacct=demo\npass=demo123\nprivate_key=0123456789ABCDEF\n\
             settle_deadline_s=40\nflow_time_scale=20\n",
        )
        .unwrap();
        assert_eq!(s.shared.settle_deadline, Some(Duration::from_secs(2)));
    }
}
