//! Small helpers: China time, serial numbers, logging, stop signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns the one-line-per-request log on standard error on or off (off by
/// default; the binary turns it on). Secrets are never logged and payment
/// codes only masked.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// True when verbose logging is on.
pub(crate) fn is_verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Writes one log line to standard error when verbose.
pub(crate) fn log(line: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprintln!("[ystpay-sim] {line}");
    }
}

/// Now in China time (UTC+8), without a zone.
pub(crate) fn china_now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc() + chrono::Duration::hours(8)
}

/// `server_time` format: `2015-06-09 11:17:48:751`.
pub(crate) fn server_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S:%3f").to_string()
}

/// `pay_time` format: `2015-06-09 11:17:18`.
pub(crate) fn pay_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Milliseconds since the Unix epoch, as text (the envelope `timestamp`).
pub(crate) fn timestamp_ms() -> String {
    chrono::Utc::now().timestamp_millis().to_string()
}

/// Percent-encodes everything but unreserved URL characters.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A stop flag that sleeping threads can wait on.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    /// Raises the flag and wakes every sleeper.
    pub(crate) fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }

    /// Sleeps for `d` unless stopped first; true when the full time passed
    /// without a stop.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let deadline = std::time::Instant::now() + d;
        let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if *stopped {
                return false;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return true;
            }
            stopped = self
                .cv
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = chrono::NaiveDate::from_ymd_opt(2015, 6, 9)
            .and_then(|d| d.and_hms_milli_opt(11, 17, 48, 751))
            .unwrap();
        assert_eq!(server_time(t), "2015-06-09 11:17:48:751");
        assert_eq!(pay_time(t), "2015-06-09 11:17:48");
        assert_eq!(
            url_encode("http://x.com/a?b=c"),
            "http%3A%2F%2Fx.com%2Fa%3Fb%3Dc"
        );
    }

    #[test]
    fn stop_wakes_sleepers() {
        let s = std::sync::Arc::new(Stop::default());
        assert!(s.sleep(Duration::from_millis(1)));
        let s2 = s.clone();
        let h = std::thread::spawn(move || s2.sleep(Duration::from_secs(600)));
        s.set();
        assert!(!h.join().unwrap());
    }
}
