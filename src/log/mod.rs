//! The optional daily log file: one line per operation and its outcome, for
//! support staff reading what a register did.
//!
//! The file is `log_file` from the configuration with the date added before
//! its extension (`ystpay.log` → `ystpay-2025-11-25.log`); a new file starts
//! at midnight, local time. Lines look like
//!
//! ```text
//! 2025-11-25 17:30:01.123 INFO  pay req_seq=25112517300100010001 total_fee=1250 auth_code=1345**********6789 -> OK money=paid status=S trans_seq=15060911165638124989 (42 ms)
//! ```
//!
//! What is never written, whatever the level:
//! - the private key, the password, the dsn (a credential: with the private
//!   key it signs requests) and `MD5(pass)`: every line is scrubbed of them
//!   before it is written;
//! - a full payment code: requests describe it masked (first 4 and last 4
//!   characters, [`crate::protocol::types::mask`]), and the full code is
//!   scrubbed from error texts too;
//! - request or response XML (it carries the dsn).
//!
//! Logging never fails an operation: a write error is kept
//! ([`Logger::last_error`]) and the operation goes on.
//!
//! Retention (`log_keep_days`, default 90; 0 keeps every file): each time a
//! daily file is opened (when the logger starts and at each new day), the
//! daily files of this log older than that are deleted. Only files beside
//! the base whose name is exactly the base's with a valid date inserted
//! (`ystpay-YYYY-MM-DD.log` for `ystpay.log`, see [`dated_path`]) are
//! candidates: another program's files, other logs in the same folder and
//! folders are never touched (docs/DESIGN.md, "The journal").

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use chrono::{Local, NaiveDate};

mod describe;

use crate::config::{LogLevel, Settings};
use crate::error::Error;

use crate::reading::{read_result, Answer, Expected, Money};

pub use describe::{answer_fields, push, Named};

/// Replaces a secret in a written line.
pub const HIDDEN: &str = "<hidden>";

/// A value that can describe itself for the log without secrets.
pub trait Describe {
    /// `(name, value)` pairs safe to write: payment codes masked, no dsn.
    fn fields(&self) -> Vec<(&'static str, String)>;
    /// Full values that must never be written, each with what to write
    /// instead (e.g. the full payment code and its masked form).
    fn sensitive(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Why a log file could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError(pub String);

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LogError {}

struct Open {
    date: NaiveDate,
    file: File,
}

/// The daily log. [`Logger::off`] writes nothing; every method is cheap then.
/// Shareable between threads.
pub struct Logger {
    base: Option<PathBuf>,
    level: LogLevel,
    /// Daily files older than this many days are deleted on open (0: none).
    keep_days: u32,
    secrets: Vec<String>,
    file: Mutex<Option<Open>>,
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("base", &self.base)
            .field("level", &self.level)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Logger {
    /// A logger that writes nothing.
    pub fn off() -> Logger {
        Logger {
            base: None,
            level: LogLevel::Off,
            keep_days: 0,
            secrets: Vec::new(),
            file: Mutex::new(None),
            last_error: Mutex::new(None),
        }
    }

    /// A logger writing to the daily file named after `base`, at `level`,
    /// keeping [`crate::config::DEFAULT_LOG_KEEP_DAYS`] days of files (see
    /// [`Logger::open_keeping`]).
    pub fn open(base: &Path, level: LogLevel) -> Result<Logger, LogError> {
        Logger::open_keeping(base, level, crate::config::DEFAULT_LOG_KEEP_DAYS)
    }

    /// A logger writing to the daily file named after `base`, at `level`.
    /// Opens today's file now, so that a path that cannot be written is
    /// reported at start-up rather than lost later. A missing directory is
    /// created. Each time a daily file is opened, this log's daily files
    /// older than `keep_days` days are deleted (0: none; see the module docs).
    pub fn open_keeping(base: &Path, level: LogLevel, keep_days: u32) -> Result<Logger, LogError> {
        if level == LogLevel::Off {
            return Ok(Logger::off());
        }
        let logger = Logger {
            base: Some(base.to_path_buf()),
            level,
            keep_days,
            secrets: Vec::new(),
            file: Mutex::new(None),
            last_error: Mutex::new(None),
        };
        let today = Local::now().date_naive();
        let f = logger.open_for(today)?;
        *lock(&logger.file) = Some(Open {
            date: today,
            file: f,
        });
        Ok(logger)
    }

    /// The logger a configuration asks for (off without `log_file`), with
    /// the configuration's secrets registered: `pass`, `MD5(pass)`,
    /// `private_key` and the dsn, configured or derived.
    pub fn from_settings(settings: &Settings) -> Result<Logger, LogError> {
        Logger::for_client(
            settings.log_file.as_deref(),
            settings.log_level,
            settings.log_keep_days,
            &settings.client,
        )
    }

    /// The logger for a client with configuration `c`: writing to the daily
    /// file named after `log_file` at `level` (off when `None`), keeping
    /// `keep_days` days of files, with `c`'s
    /// secrets registered: `pass`, `MD5(pass)`, `private_key` and the dsn,
    /// configured or derived.
    fn for_client(
        log_file: Option<&Path>,
        level: LogLevel,
        keep_days: u32,
        c: &crate::client::ClientConfig,
    ) -> Result<Logger, LogError> {
        let mut logger = match log_file {
            Some(p) => Logger::open_keeping(p, level, keep_days)?,
            None => Logger::off(),
        };
        logger.add_secret(&c.private_key);
        if let Some(dsn) = &c.dsn {
            logger.add_secret(dsn);
        }
        if let Some(pass) = &c.password {
            logger.add_secret(pass);
            logger.add_secret(&crate::protocol::crypto::md5_upper(pass.as_bytes()));
            logger.add_secret(&crate::protocol::crypto::derive_dsn(
                &c.account,
                &c.private_key,
                pass,
            ));
        }
        Ok(logger)
    }

    /// Registers a value that must never be written (upper- and lower-case
    /// forms are both scrubbed). Values shorter than 4 characters are
    /// ignored: scrubbing them would garble every line.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.chars().count() < 4 {
            return;
        }
        for s in [
            secret.to_string(),
            secret.to_ascii_uppercase(),
            secret.to_ascii_lowercase(),
        ] {
            if !self.secrets.contains(&s) {
                self.secrets.push(s);
            }
        }
        // Longest first, so that a secret containing another is replaced whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// The level lines are written at.
    pub fn level(&self) -> LogLevel {
        self.level
    }

    /// True when a line at `level` would be written.
    pub fn enabled(&self, level: LogLevel) -> bool {
        self.base.is_some() && level != LogLevel::Off && level <= self.level
    }

    /// The file used on `date` (none when off).
    fn file_for(&self, date: NaiveDate) -> Option<PathBuf> {
        self.base.as_deref().map(|b| dated_path(b, date))
    }

    /// Today's file (none when off).
    pub fn current_file(&self) -> Option<PathBuf> {
        self.file_for(Local::now().date_naive())
    }

    /// The last write error, if any write failed.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    /// `text` with every registered secret replaced by [`HIDDEN`].
    pub fn scrub(&self, text: &str) -> String {
        let mut s = text.to_string();
        for secret in &self.secrets {
            if s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), HIDDEN);
            }
        }
        s
    }

    fn open_for(&self, date: NaiveDate) -> Result<File, LogError> {
        let Some(base) = &self.base else {
            return Err(LogError("logging is off".into()));
        };
        let path = dated_path(base, date);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| LogError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| LogError(format!("cannot open {}: {e}", path.display())))?;
        // Retention never fails the log: a file that cannot be deleted now
        // is tried again when the next daily file is opened.
        if let Err(e) = prune_logs(base, date, self.keep_days) {
            *lock(&self.last_error) = Some(e);
        }
        Ok(file)
    }

    /// Writes one line at `level` for operation `op` (scrubbed first).
    pub fn write(&self, level: LogLevel, op: &str, text: &str) {
        if !self.enabled(level) {
            return;
        }
        let now = Local::now();
        let tag = match level {
            LogLevel::Error => "ERROR",
            LogLevel::Info => "INFO ",
            LogLevel::Debug => "DEBUG",
            LogLevel::Off => return,
        };
        let one_line = text.replace(['\r', '\n'], " ");
        let line = self.scrub(&format!(
            "{} {tag} {op} {one_line}\n",
            now.format("%Y-%m-%d %H:%M:%S%.3f")
        ));
        let today = now.date_naive();
        let mut guard = lock(&self.file);
        if guard.as_ref().is_none_or(|o| o.date != today) {
            match self.open_for(today) {
                Ok(file) => *guard = Some(Open { date: today, file }),
                Err(e) => {
                    *lock(&self.last_error) = Some(e.0);
                    return;
                }
            }
        }
        if let Some(open) = guard.as_mut() {
            if let Err(e) = open.file.write_all(line.as_bytes()) {
                *lock(&self.last_error) = Some(format!("cannot write the log: {e}"));
            }
        }
    }

    /// Writes the outcome of an operation described by `what` (from
    /// [`Describe`]): `INFO` on an answer, with what it proves about the
    /// money of an operation that expects `expect` ([`crate::reading`]),
    /// `ERROR` on a failure. `sensitive` values are replaced in the error text.
    pub fn outcome<T: Answer>(
        &self,
        op: &str,
        what: &[(&'static str, String)],
        sensitive: &[(String, String)],
        result: &Result<T, Error>,
        expect: &Expected,
        started: Instant,
    ) {
        let level = match result {
            Ok(_) => LogLevel::Info,
            Err(_) => LogLevel::Error,
        };
        if !self.enabled(level) {
            return;
        }
        let ms = started.elapsed().as_millis();
        let money = read_result(result, expect).money();
        let mut text = join(what);
        match result {
            Ok(answer) => {
                text.push_str(&format!(" -> OK money={} ", money.as_str()));
                text.push_str(&join(&answer_fields(answer)));
                text.push_str(&format!(" ({ms} ms)"));
                self.write(LogLevel::Info, op, &text);
            }
            Err(e) => {
                let mut why = e.to_string();
                for (full, shown) in sensitive {
                    why = why.replace(full.as_str(), shown);
                }
                let money = match money {
                    Money::Unclear => String::new(),
                    m => format!(" money={}", m.as_str()),
                };
                text.push_str(&format!(" -> {}{money} {why} ({ms} ms)", error_kind(e)));
                self.write(LogLevel::Error, op, &text);
            }
        }
    }

    /// Logs, at `DEBUG`, a request of `op` about to leave, described by
    /// `what` ([`Describe::fields`]).
    pub fn sending(&self, op: &str, what: &[(&'static str, String)]) {
        if self.enabled(LogLevel::Debug) {
            self.write(LogLevel::Debug, op, &format!("{} -> sending", join(what)));
        }
    }
}

/// A short word for the kind of failure, as the log shows it.
pub fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Config(_) => "CONFIG",
        Error::InvalidInput(_) => "INVALID",
        Error::NotSent(_) => "NOT-SENT",
        Error::Ledger(_) => "NO-SERIAL",
        Error::OutcomeUnknown(_) => "UNKNOWN",
        Error::Rejected(_) => "REJECTED",
        Error::Refused(_) => "REFUSED",
    }
}

/// `k=v k=v`; values with spaces are quoted.
pub fn join(fields: &[(&'static str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            if v.contains(' ') || v.is_empty() {
                format!("{k}=\"{v}\"")
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `base` with `-YYYY-MM-DD` inserted before its extension.
fn dated_path(base: &Path, date: NaiveDate) -> PathBuf {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ystpay".to_string());
    let name = match base.extension() {
        Some(ext) => format!(
            "{stem}-{}.{}",
            date.format("%Y-%m-%d"),
            ext.to_string_lossy()
        ),
        None => format!("{stem}-{}", date.format("%Y-%m-%d")),
    };
    base.with_file_name(name)
}

/// The date of a daily file of the log `base`: `Some` only when `name` is
/// exactly the name [`dated_path`] gives `base` for a valid date.
fn date_of_daily(base: &Path, name: &str) -> Option<NaiveDate> {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ystpay".to_string());
    let rest = name.strip_prefix(&stem)?.strip_prefix('-')?;
    let (date, tail) = rest.split_at_checked(10)?;
    let tail_ok = match base.extension() {
        Some(ext) => tail.strip_prefix('.') == Some(&*ext.to_string_lossy()),
        None => tail.is_empty(),
    };
    let digits_ok = date.bytes().enumerate().all(|(i, c)| match i {
        4 | 7 => c == b'-',
        _ => c.is_ascii_digit(),
    });
    if !tail_ok || !digits_ok {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// Deletes the daily files of the log `base` dated more than `keep_days`
/// days before `today` (none when `keep_days` is 0): regular files beside
/// `base` whose name [`date_of_daily`] reads, nothing else. Returns the
/// files deleted; `Err` names the first that could not be.
fn prune_logs(base: &Path, today: NaiveDate, keep_days: u32) -> Result<Vec<PathBuf>, String> {
    if keep_days == 0 {
        return Ok(Vec::new());
    }
    let Some(oldest_kept) = today.checked_sub_days(chrono::Days::new(keep_days.into())) else {
        return Ok(Vec::new());
    };
    let dir = match base.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| format!("log retention: cannot list {}: {e}", dir.display()))?;
    let mut removed = Vec::new();
    let mut failed = None;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(date) = name.to_str().and_then(|n| date_of_daily(base, n)) else {
            continue;
        };
        // A symbolic link or a folder with a log's name is not ours to delete.
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if date >= oldest_kept || !is_file {
            continue;
        }
        let path = entry.path();
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) => {
                failed.get_or_insert_with(|| {
                    format!("log retention: cannot delete {}: {e}", path.display())
                });
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::{PayRequest, PayResponse, RefundResponse};
    use crate::protocol::Status;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ystpay-log-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn dated_names() {
        let d = NaiveDate::from_ymd_opt(2025, 11, 25).unwrap();
        assert_eq!(
            dated_path(Path::new("/var/log/ystpay.log"), d),
            PathBuf::from("/var/log/ystpay-2025-11-25.log")
        );
        assert_eq!(
            dated_path(Path::new("logs/pos"), d),
            PathBuf::from("logs/pos-2025-11-25")
        );
    }

    #[test]
    fn writes_masked_lines_and_never_secrets() {
        let dir = temp_dir("masked");
        let settings = Settings::parse(&format!(
            "server_url=http://127.0.0.1:1/x\nacct=demo\npass=demo123\nprivate_key=0123456789ABCDEF\nlog_file={}\nlog_level=debug\n",
            dir.join("pos.log").display()
        ))
        .unwrap();
        let log = Logger::from_settings(&settings).unwrap();
        let dsn = crate::protocol::crypto::derive_dsn("demo", "0123456789ABCDEF", "demo123");
        let req = PayRequest::new("2511250001", 1250, "134567890123456789");
        let resp = PayResponse {
            status: Some(Status::Success),
            trans_seq: Some("15060911165638124989".into()),
            ..PayResponse::default()
        };
        let expect = Expected::new(1250, None);
        log.outcome(
            "pay",
            &req.fields(),
            &req.sensitive(),
            &Ok::<_, Error>(resp),
            &expect,
            Instant::now(),
        );
        let err: Result<PayResponse, Error> = Err(Error::OutcomeUnknown(format!(
            "timeout; code 134567890123456789, key 0123456789ABCDEF, dsn {dsn}, pass demo123"
        )));
        log.outcome(
            "pay",
            &req.fields(),
            &req.sensitive(),
            &err,
            &expect,
            Instant::now(),
        );
        log.write(LogLevel::Debug, "note", &dsn.to_ascii_lowercase());
        let text = std::fs::read_to_string(log.current_file().unwrap()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains("INFO  pay req_seq=2511250001 total_fee=1250 auth_code=1345**********6789 -> OK money=paid status=S trans_seq=15060911165638124989"));
        assert!(text.contains("ERROR pay"));
        assert!(text.contains("UNKNOWN"));
        for secret in ["134567890123456789", "0123456789ABCDEF", "demo123", &dsn] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
            assert!(!text
                .to_ascii_lowercase()
                .contains(&secret.to_ascii_lowercase()));
        }
        assert!(log.last_error().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn levels() {
        let dir = temp_dir("levels");
        let log = Logger::open(&dir.join("a.log"), LogLevel::Error).unwrap();
        let ok: Result<RefundResponse, Error> = Ok(RefundResponse::default());
        log.outcome(
            "refund",
            &[],
            &[],
            &ok,
            &Expected::default(),
            Instant::now(),
        );
        log.write(LogLevel::Debug, "x", "debug line");
        let failed: Result<RefundResponse, Error> =
            Err(Error::NotSent("connection refused".into()));
        log.outcome(
            "refund",
            &[],
            &[],
            &failed,
            &Expected::default(),
            Instant::now(),
        );
        let text = std::fs::read_to_string(log.current_file().unwrap()).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(
            text.contains("NOT-SENT not sent: connection refused"),
            "{text}"
        );

        let off = Logger::open(&dir.join("b.log"), LogLevel::Off).unwrap();
        assert!(!off.enabled(LogLevel::Error));
        assert!(off.current_file().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn daily_names_are_read_exactly() {
        let base = Path::new("/var/log/ystpay.log");
        let d = NaiveDate::from_ymd_opt(2025, 11, 25).unwrap();
        assert_eq!(date_of_daily(base, "ystpay-2025-11-25.log"), Some(d));
        for other in [
            "ystpay.log",
            "ystpay-2025-11-25.log.bak",
            "ystpay-2025-11-25.txt",
            "ystpay-2025-1-25.log",
            "ystpay-2025-13-25.log",
            "ystpay-2025-11-25",
            "other-2025-11-25.log",
            "xystpay-2025-11-25.log",
            "ystpay-extra-2025-11-25.log",
            "ystpay-２025-11-25.log",
        ] {
            assert_eq!(date_of_daily(base, other), None, "{other}");
        }
        assert_eq!(
            date_of_daily(Path::new("logs/pos"), "pos-2025-11-25"),
            Some(d)
        );
        assert_eq!(
            date_of_daily(Path::new("logs/pos"), "pos-2025-11-25.log"),
            None
        );
    }

    /// Opening the log deletes its daily files older than `keep_days` and
    /// nothing else: not a newer one, not another log's, not a folder.
    #[test]
    fn old_daily_files_are_deleted_when_the_log_opens() {
        let dir = temp_dir("retention");
        std::fs::create_dir_all(&dir).unwrap();
        let today = Local::now().date_naive();
        let ago = |n: u64| today.checked_sub_days(chrono::Days::new(n)).unwrap();
        let base = dir.join("pos.log");
        let old = dated_path(&base, ago(31));
        let kept = dated_path(&base, ago(30));
        let foreign = [
            dir.join(format!("other-{}.log", ago(400).format("%Y-%m-%d"))),
            dir.join(format!("pos-{}.log.bak", ago(400).format("%Y-%m-%d"))),
            dir.join("pos.log"),
            dir.join("notes.txt"),
        ];
        let folder = dated_path(&base, ago(200));
        for f in [&old, &kept].into_iter().chain(&foreign) {
            std::fs::write(f, b"x\n").unwrap();
        }
        std::fs::create_dir_all(&folder).unwrap();
        let log = Logger::open_keeping(&base, LogLevel::Info, 30).unwrap();
        assert!(!old.exists(), "31 days old: deleted");
        assert!(kept.exists(), "30 days old: kept");
        assert!(folder.is_dir(), "a folder is never deleted");
        for f in &foreign {
            assert!(f.exists(), "{} is not this log's daily file", f.display());
        }
        assert!(log.current_file().unwrap().exists());
        assert!(log.last_error().is_none());

        // 0 keeps everything.
        std::fs::write(&old, b"x\n").unwrap();
        let _ = Logger::open_keeping(&base, LogLevel::Info, 0).unwrap();
        assert!(old.exists());
        // The default (Logger::open) keeps 90 days.
        let ancient = dated_path(&base, ago(91));
        std::fs::write(&ancient, b"x\n").unwrap();
        let _ = Logger::open(&base, LogLevel::Info).unwrap();
        assert!(!ancient.exists(), "91 days old: deleted by the default");
        assert!(old.exists(), "31 days old: kept by the default");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_path_is_reported_at_open() {
        let dir = temp_dir("unwritable");
        std::fs::create_dir_all(&dir).unwrap();
        let blocker = dir.join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let e = Logger::open(&blocker.join("sub").join("a.log"), LogLevel::Info).unwrap_err();
        assert!(e.0.contains("cannot create"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
