//! The INI-style configuration POS vendors are used to: one `key = value` per
//! line, shared by the C ABI, the command-line tool and the simulator's users.
//!
//! ```ini
//! ; ystpay.ini
//! [ystpay]
//! server_url = https://pay.example.com/ystpay/service/unitive.api
//! acct = d0001
//! pass = 123456
//! private_key = A1B2C3D4E5F6G7H8
//! read_timeout_ms = 20000
//! encoding = gbk
//! ```
//!
//! Rules: blank lines and lines starting with `#` or `;` are ignored; a
//! `[section]` line is accepted and ignored; keys are case-insensitive;
//! values are trimmed and may be wrapped in double quotes; an unknown key or
//! a repeated key is an error naming its line (a typo must not silently
//! fall back to a default). Error messages never repeat a secret's value.
//! A secret (`pass`, `private_key`, `dsn`) may be stored protected on
//! Windows, as `dpapi:…`; it is read back transparently ([`crate::protect`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::client::ClientConfig;

/// The `encoding` key's values (the library's one [`crate::text::Encoding`]).
pub use crate::text::Encoding;

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures only.
    Error,
    /// Every operation and its outcome (the default when a log file is set).
    #[default]
    Info,
    /// Every request and answer, secrets masked.
    Debug,
}

/// Everything a configuration file can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The client's connection and identity.
    pub client: ClientConfig,
    /// String encoding for the C ABI.
    pub encoding: Encoding,
    /// The journal file (SQLite), when one is kept.
    pub journal: Option<PathBuf>,
    /// The log file, when one is written (a date is added to its name daily).
    pub log_file: Option<PathBuf>,
    /// Log verbosity.
    pub log_level: LogLevel,
    /// How long a settling payment may wait for the customer, when the
    /// configuration says (`settle_deadline_s`); `None` leaves the flow's
    /// own `FlowConfig::pay_deadline` (50 s). The flow's timing holds the
    /// one deadline: this only overrides it.
    pub settle_deadline: Option<Duration>,
    /// Daily log files older than this many days are deleted when a log
    /// file is opened (0: keep them all). See [`crate::log`].
    pub log_keep_days: u32,
    /// Settled journal operations of business days older than this many
    /// days are removed when a register is opened (0: keep them all). See
    /// [`crate::journal::Journal::prune`].
    pub journal_keep_days: u32,
}

/// Days of daily log files kept by default (`log_keep_days`).
pub const DEFAULT_LOG_KEEP_DAYS: u32 = 90;
/// Days of settled journal operations kept by default (`journal_keep_days`):
/// more than a year, so last year's same month can still be reconciled.
pub const DEFAULT_JOURNAL_KEEP_DAYS: u32 = 400;
/// Largest value `log_keep_days` and `journal_keep_days` accept (100 years).
pub const MAX_KEEP_DAYS: u32 = 36_500;
/// Largest value `keep_alive_s` accepts. A keep-alive is only safe below
/// the idle time after which a NAT on the link forgets a connection without
/// telling either end (a request written on such a connection is lost and
/// waits `read_timeout`; [`crate::transport::HttpSettings::keep_alive`]);
/// NATs that forget within minutes are common on shop routers and 4G
/// modems, so a longer value is refused rather than trusted.
pub const MAX_KEEP_ALIVE_S: u64 = 300;

/// A configuration error, with the 1-based line it was found on (0 when the
/// problem is a missing key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The line, 1-based; 0 when not tied to a line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every key a configuration may hold, with its meaning (for docs and `--help`).
pub const KEYS: &[(&str, &str)] = &[
    (
        "server_url",
        "API URL, e.g. https://host/ystpay/service/unitive.api (required)",
    ),
    ("acct", "device account, 4-20 characters (required)"),
    ("pass", "device password (required unless dsn is given)"),
    (
        "private_key",
        "merchant private key, 16/24/32 characters (required)",
    ),
    (
        "dsn",
        "ready device serial (32 hex digits) instead of deriving it from pass",
    ),
    (
        "connect_timeout_ms",
        "connect timeout in milliseconds (default 5000; 0 = default)",
    ),
    (
        "read_timeout_ms",
        "time to send and receive one answer, ms (default 20000; 0 = default)",
    ),
    ("proxy", "http://host:port proxy (default none)"),
    (
        "keep_alive_s",
        "seconds an idle connection is reused, 1-300 (default 25); keep it below the time the link's NAT forgets one",
    ),
    (
        "register_no",
        "register number 0-9999, makes req_seq unique across registers",
    ),
    (
        "allow_http",
        "1 to allow http:// to a non-loopback host (default 0)",
    ),
    (
        "ca_file",
        "PEM file of CA certificates trusted for https:// instead of the built-in roots",
    ),
    (
        "encoding",
        "utf-8 (default) or gbk: strings across the C ABI",
    ),
    ("journal", "path of the journal file (SQLite)"),
    ("log_file", "path of the daily log file"),
    ("log_level", "off, error, info (default), debug"),
    (
        "settle_deadline_s",
        "seconds a payment may wait for the customer (default 50)",
    ),
    (
        "log_keep_days",
        "delete daily log files older than this many days (default 90; 0 = keep all)",
    ),
    (
        "journal_keep_days",
        "remove settled journal operations older than this many days (default 400; 0 = keep all)",
    ),
];

/// Largest configuration file [`Settings::load`] reads (a real one is a few
/// hundred bytes; this bounds what a wrong path can make it read).
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;

/// Splits INI text into `(key, value, line)` triples, keys lower-cased.
pub fn parse_pairs(text: &str) -> Result<Vec<(String, String, usize)>, ConfigError> {
    let mut out: Vec<(String, String, usize)> = Vec::new();
    for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            return Err(ConfigError {
                line,
                message: "expected key = value".into(),
            });
        };
        let key = k.trim().to_ascii_lowercase();
        if key.is_empty() {
            return Err(ConfigError {
                line,
                message: "empty key".into(),
            });
        }
        let mut value = v.trim();
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = &value[1..value.len() - 1];
        }
        if out.iter().any(|(k2, _, _)| *k2 == key) {
            return Err(ConfigError {
                line,
                message: format!("'{key}' is given twice"),
            });
        }
        out.push((key, value.to_string(), line));
    }
    Ok(out)
}

/// Why [`read_file`] returned no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The file cannot be opened or read (the message names the path).
    Io(String),
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    TooLarge(ConfigError),
    /// The file is not UTF-8 text.
    NotUtf8(ConfigError),
}

/// Reads a configuration file's text: at most [`MAX_CONFIG_BYTES`], UTF-8
/// (a leading byte-order mark is skipped by the parser). The bytes are zeroed
/// when the returned text is dropped, since they hold the password and key.
pub fn read_file(path: &std::path::Path) -> Result<zeroize::Zeroizing<String>, ReadError> {
    use std::io::Read as _;
    let cannot = |e: std::io::Error| ReadError::Io(format!("cannot read {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(cannot)?;
    // Sized up front: a growing Vec would leave unzeroed copies behind.
    let size = file
        .metadata()
        .map_or(4096, |m| m.len().min(MAX_CONFIG_BYTES) + 1);
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(size as usize));
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ReadError::TooLarge(ConfigError {
            line: 0,
            message: format!(
                "{} is larger than {MAX_CONFIG_BYTES} bytes: not a configuration file",
                path.display()
            ),
        }));
    }
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(zeroize::Zeroizing::new(text)),
        Err(e) => {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            Err(ReadError::NotUtf8(ConfigError {
                line: 0,
                message: format!("{} is not UTF-8 text", path.display()),
            }))
        }
    }
}

impl Settings {
    /// Settings for a client configured as `client`: UTF-8, no journal, no
    /// log, the default settle deadline.
    pub fn new(client: ClientConfig) -> Settings {
        Settings {
            client,
            encoding: Encoding::Utf8,
            journal: None,
            log_file: None,
            log_level: LogLevel::Info,
            settle_deadline: None,
            log_keep_days: DEFAULT_LOG_KEEP_DAYS,
            journal_keep_days: DEFAULT_JOURNAL_KEEP_DAYS,
        }
    }

    /// Reads configuration text (see the module docs).
    pub fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_pairs(parse_pairs(text)?)
    }

    /// Reads a configuration file (see [`read_file`]).
    pub fn load(path: &std::path::Path) -> Result<Settings, ConfigError> {
        let text = read_file(path).map_err(|e| match e {
            ReadError::Io(message) => ConfigError { line: 0, message },
            ReadError::TooLarge(e) | ReadError::NotUtf8(e) => e,
        })?;
        Settings::parse(&text)
    }

    /// Builds settings from `(key, value, line)` triples (line 0 when the
    /// pair did not come from a file, e.g. a command-line flag). Every value
    /// is zeroed once read, so a secret survives only inside the settings
    /// (whose [`ClientConfig`] zeroes it in turn when dropped).
    pub fn from_pairs(mut pairs: Vec<(String, String, usize)>) -> Result<Settings, ConfigError> {
        let result = Settings::from_pairs_ref(&pairs);
        for (_, value, _) in pairs.iter_mut() {
            zeroize::Zeroize::zeroize(value);
        }
        result
    }

    fn from_pairs_ref(pairs: &[(String, String, usize)]) -> Result<Settings, ConfigError> {
        let mut s = Settings::new(ClientConfig::new("", "", "", ""));
        s.client.password = None;
        for (key, value, line) in pairs {
            s.set(key, value).map_err(|message| ConfigError {
                line: *line,
                message,
            })?;
        }
        for (key, present) in [
            ("server_url", !s.client.server_url.is_empty()),
            ("acct", !s.client.account.is_empty()),
            ("private_key", !s.client.private_key.is_empty()),
            (
                "pass",
                s.client.password.is_some() || s.client.dsn.is_some(),
            ),
        ] {
            if !present {
                return Err(ConfigError {
                    line: 0,
                    message: format!("'{key}' is required"),
                });
            }
        }
        Ok(s)
    }

    /// Sets one key; the error text never contains a secret value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let secret = crate::protect::is_secret_key(key);
        let shown = if secret { "<hidden>" } else { value };
        // A protected secret is read back here, so every reader of a
        // configuration (the C ABI, the CLI, the doctor) gets it plain.
        let revealed;
        let value = if secret && crate::protect::is_protected(value) {
            revealed = crate::protect::reveal(value).map_err(|e| format!("'{key}': {e}"))?;
            revealed.as_str()
        } else {
            value
        };
        let number = |max: u64| -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("'{key}' must be a whole number up to {max}, not '{shown}'"))
        };
        let defaults = ClientConfig::new("", "", "", "");
        let millis = |default: Duration| -> Result<Duration, String> {
            Ok(match number(600_000)? {
                0 => default,
                n => Duration::from_millis(n),
            })
        };
        let c = &mut self.client;
        match key {
            "server_url" => c.server_url = value.to_string(),
            "acct" | "account" => c.account = value.to_string(),
            "pass" | "password" => c.password = (!value.is_empty()).then(|| value.to_string()),
            "private_key" => c.private_key = value.to_string(),
            "dsn" => c.dsn = (!value.is_empty()).then(|| value.to_string()),
            "connect_timeout_ms" => c.connect_timeout = millis(defaults.connect_timeout)?,
            "read_timeout_ms" => c.read_timeout = millis(defaults.read_timeout)?,
            "proxy" => c.proxy = (!value.is_empty()).then(|| value.to_string()),
            "keep_alive_s" => {
                // 0 is refused rather than read as "the default" (as the
                // timeouts do) or as "never reuse": either reading would
                // surprise someone; 1 already means a new connection for
                // every customer.
                c.keep_alive = value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=MAX_KEEP_ALIVE_S).contains(n))
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        format!(
                            "'keep_alive_s' must be a whole number of seconds from 1 to \
                             {MAX_KEEP_ALIVE_S}, not '{value}' (the default is {})",
                            crate::transport::DEFAULT_KEEP_ALIVE.as_secs()
                        )
                    })?
            }
            "register_no" => c.register_no = Some(number(9999)? as u16),
            "allow_http" => {
                c.allow_http = parse_bool(value).ok_or_else(|| format!("'{key}' must be 0 or 1"))?
            }
            "ca_file" => c.ca_file = (!value.is_empty()).then(|| PathBuf::from(value)),
            "encoding" => {
                self.encoding = Encoding::from_name(value)
                    .ok_or_else(|| format!("'encoding' must be utf-8 or gbk, not '{value}'"))?
            }
            "journal" => self.journal = (!value.is_empty()).then(|| PathBuf::from(value)),
            "log_file" => self.log_file = (!value.is_empty()).then(|| PathBuf::from(value)),
            "log_level" => {
                self.log_level = match value.to_ascii_lowercase().as_str() {
                    "off" => LogLevel::Off,
                    "error" => LogLevel::Error,
                    "info" => LogLevel::Info,
                    "debug" => LogLevel::Debug,
                    _ => {
                        return Err(format!(
                            "'log_level' must be off, error, info or debug, not '{value}'"
                        ))
                    }
                }
            }
            "settle_deadline_s" => {
                self.settle_deadline = Some(Duration::from_secs(number(3600)?.max(1)))
            }
            "log_keep_days" => self.log_keep_days = number(MAX_KEEP_DAYS.into())? as u32,
            "journal_keep_days" => self.journal_keep_days = number(MAX_KEEP_DAYS.into())? as u32,
            other => return Err(format!("unknown key '{other}'")),
        }
        Ok(())
    }
}

/// Reads a yes/no value: `1`, `true`, `yes`, `on` or `0`, `false`, `no`,
/// `off`, empty (case-insensitive).
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\u{feff}; comment\n# another\n[ystpay]\nserver_url = http://127.0.0.1:8088/ystpay/service/unitive.api\nACCT=demo\npass = \"demo123\"\nprivate_key=0123456789ABCDEF\nread_timeout_ms = 1500\nencoding=GBK\njournal = /tmp/j.db\nregister_no=12\n";

    #[test]
    fn reads_a_vendor_style_file() {
        let s = Settings::parse(GOOD).unwrap();
        assert_eq!(s.client.account, "demo");
        assert_eq!(s.client.password.as_deref(), Some("demo123"));
        assert_eq!(s.client.read_timeout, Duration::from_millis(1500));
        assert_eq!(s.encoding, Encoding::Gbk);
        assert_eq!(s.client.register_no, Some(12));
        assert_eq!(s.journal, Some(PathBuf::from("/tmp/j.db")));
        assert_eq!(s.log_keep_days, DEFAULT_LOG_KEEP_DAYS);
        assert_eq!(s.journal_keep_days, DEFAULT_JOURNAL_KEEP_DAYS);
    }

    #[test]
    fn retention_keys() {
        let s =
            Settings::parse(&format!("{GOOD}log_keep_days = 7\njournal_keep_days=0\n")).unwrap();
        assert_eq!((s.log_keep_days, s.journal_keep_days), (7, 0));
        let e = Settings::parse(&format!("{GOOD}log_keep_days = -1\n")).unwrap_err();
        assert_eq!(e.line, 12);
        assert!(e.message.contains("log_keep_days"), "{e}");
        let e = Settings::parse(&format!("{GOOD}journal_keep_days = 36501\n")).unwrap_err();
        assert!(e.message.contains("36500"), "{e}");
    }

    #[test]
    fn keep_alive_key() {
        let s = Settings::parse(GOOD).unwrap();
        assert_eq!(s.client.keep_alive, crate::transport::DEFAULT_KEEP_ALIVE);
        for (v, secs) in [("1", 1), ("25", 25), ("\"300\"", 300), ("09", 9)] {
            let s = Settings::parse(&format!("{GOOD}keep_alive_s = {v}\n")).unwrap();
            assert_eq!(s.client.keep_alive, Duration::from_secs(secs), "{v}");
        }
        for v in ["0", "301", "-1", "2.5", "25s", "", "99999999999999999999"] {
            let e = Settings::parse(&format!("{GOOD}KEEP_ALIVE_S = {v}\n")).unwrap_err();
            assert_eq!(e.line, 12, "{v}");
            assert_eq!(
                e.message,
                format!(
                    "'keep_alive_s' must be a whole number of seconds from 1 to 300, \
                     not '{v}' (the default is 25)"
                )
            );
        }
    }

    #[test]
    fn errors_name_the_line_and_hide_secrets() {
        let e = Settings::parse(&format!("{GOOD}colour = blue\n")).unwrap_err();
        assert_eq!(e.line, 12);
        assert!(e.message.contains("unknown key 'colour'"));
        let e = Settings::parse(&format!("{GOOD}pass = again\n")).unwrap_err();
        assert!(e.message.contains("twice"));
        let e = Settings::parse("server_url=x\nacct=a\npass=p\nprivate_key=k\nregister_no=10000\n")
            .unwrap_err();
        assert_eq!(e.line, 5);
        let e = Settings::parse("server_url=x\nacct=a\nprivate_key=k\n").unwrap_err();
        assert_eq!(e.message, "'pass' is required");
        let e = Settings::parse("just words\n").unwrap_err();
        assert_eq!(e.line, 1);
        let mut s = Settings::parse(GOOD).unwrap();
        let msg = s
            .set("private_key", "x")
            .map(|_| String::new())
            .unwrap_or_default();
        assert!(!msg.contains('x') || msg.is_empty());
    }
}
