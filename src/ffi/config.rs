//! The INI-style configuration POS vendors are used to:
//!
//! ```ini
//! ; ystpay.ini
//! [ystpay]
//! server_url = http://ut.ystpay.cn:8088/ystpay/service/unitive.api
//! acct = d0001
//! pass = secret
//! private_key = 0123456789ABCDEF
//! allow_http = 1
//! encoding = gbk
//! ```
//!
//! One `key = value` per line; blank lines, lines starting with `;` or `#`,
//! and section headers (`[ystpay]`) are ignored; keys are case-insensitive;
//! values are trimmed. An unknown key is an error (a misspelt `pasword`
//! must not silently fall back to defaults). The text must be UTF-8 (ASCII
//! is UTF-8); a leading byte-order mark is skipped.

use std::time::Duration;

use super::codes::*;
use super::error::Failure;
use super::text::Enc;
use crate::client::ClientConfig;

/// A client's settings as read from C: the Rust configuration plus the
/// string encoding of the C side.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Rust client's configuration.
    pub config: ClientConfig,
    /// Strings in and out of this client's calls.
    pub enc: Enc,
}

/// Every key the configuration understands, with what it sets.
pub const KEYS: &[(&str, &str)] = &[
    ("server_url", "full API URL"),
    ("acct", "device login (alias: account)"),
    ("pass", "device password (alias: password)"),
    ("private_key", "the merchant's AES key, 16/24/32 characters"),
    ("dsn", "a ready dsn instead of deriving it from pass"),
    (
        "connect_timeout_ms",
        "connect timeout in milliseconds (default 5000)",
    ),
    (
        "read_timeout_ms",
        "time for the whole answer in milliseconds (default 20000)",
    ),
    ("proxy", "http://host:port of a proxy"),
    (
        "register_no",
        "register number 0-9999 used in generated req_seq",
    ),
    ("allow_http", "1 to permit http:// to a non-loopback host"),
    ("encoding", "utf-8 (default) or gbk"),
];

fn config_err(message: String) -> Failure {
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

/// Parses configuration text.
pub fn parse(text: &str) -> Result<Settings, Failure> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut config = ClientConfig::new("", "", "", "");
    config.password = None;
    let defaults = (config.connect_timeout, config.read_timeout);
    let mut enc = Enc::Utf8;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let n = i + 1;
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(config_err(format!(
                "configuration line {n} is not 'key = value'"
            )));
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim().to_string();
        let number = |what: &str| -> Result<i64, Failure> {
            value
                .parse::<i64>()
                .map_err(|_| config_err(format!("configuration line {n}: {what} must be a number")))
        };
        match key.as_str() {
            "server_url" | "url" => config.server_url = value,
            "acct" | "account" => config.account = value,
            "pass" | "password" => config.password = Some(value).filter(|v| !v.is_empty()),
            "private_key" => config.private_key = value,
            "dsn" => config.dsn = Some(value).filter(|v| !v.is_empty()),
            "connect_timeout_ms" => {
                config.connect_timeout = millis(number(&key)?, &key, defaults.0)
                    .map_err(|f| config_err(format!("configuration line {n}: {}", f.message)))?
            }
            "read_timeout_ms" => {
                config.read_timeout = millis(number(&key)?, &key, defaults.1)
                    .map_err(|f| config_err(format!("configuration line {n}: {}", f.message)))?
            }
            "proxy" => config.proxy = Some(value).filter(|v| !v.is_empty()),
            "register_no" => {
                let v = number(&key)?;
                if !(0..=9999).contains(&v) {
                    return Err(config_err(format!(
                        "configuration line {n}: register_no must be 0-9999"
                    )));
                }
                config.register_no = Some(v as u16);
            }
            "allow_http" => {
                config.allow_http = match value.to_ascii_lowercase().as_str() {
                    "1" | "yes" | "true" | "on" => true,
                    "0" | "no" | "false" | "off" | "" => false,
                    _ => {
                        return Err(config_err(format!(
                            "configuration line {n}: allow_http must be 0 or 1"
                        )))
                    }
                }
            }
            "encoding" => {
                enc = Enc::from_name(&value).ok_or_else(|| {
                    config_err(format!(
                        "configuration line {n}: encoding must be utf-8 or gbk"
                    ))
                })?
            }
            _ => {
                // The key is echoed (it is a name, never a secret value).
                let shown: String = key.chars().take(40).collect();
                return Err(config_err(format!(
                    "configuration line {n}: unknown key '{shown}'"
                )));
            }
        }
    }
    for (name, missing) in [
        ("server_url", config.server_url.is_empty()),
        ("acct", config.account.is_empty()),
        ("private_key", config.private_key.is_empty()),
    ] {
        if missing {
            return Err(config_err(format!("configuration has no {name}")));
        }
    }
    Ok(Settings { config, enc })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_ini_file() {
        let s = parse(
            "\u{feff}; comment\n[ystpay]\nserver_url = http://127.0.0.1:1/x\nACCT=demo\r\npass = demo123\n\
             private_key=0123456789ABCDEF\nread_timeout_ms=1500\nencoding=GBK\nregister_no=12\nallow_http=yes\n",
        )
        .unwrap();
        assert_eq!(s.config.account, "demo");
        assert_eq!(s.config.password.as_deref(), Some("demo123"));
        assert_eq!(s.config.read_timeout, Duration::from_millis(1500));
        assert_eq!(s.config.connect_timeout, Duration::from_secs(5));
        assert_eq!(s.config.register_no, Some(12));
        assert!(s.config.allow_http);
        assert_eq!(s.enc, Enc::Gbk);
    }

    #[test]
    fn unknown_keys_and_bad_values_fail_without_echoing_values() {
        let e = parse("pasword = hunter2\n").unwrap_err();
        assert_eq!(e.code, YSTPAY_ERR_CONFIG);
        assert!(e.message.contains("pasword") && !e.message.contains("hunter2"));
        let e = parse("read_timeout_ms = -5\n").unwrap_err();
        assert!(e.message.contains("negative"));
        let e = parse("server_url=http://x\nacct=a\n").unwrap_err();
        assert!(e.message.contains("private_key"));
        assert!(parse("just words\n").is_err());
    }
}
