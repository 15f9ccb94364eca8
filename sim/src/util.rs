//! Small helpers: China time, serial numbers, logging, stop signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use chrono::{Datelike, NaiveDateTime, Timelike};

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
/// The platform's clock is the system clock: a register's clock stepping
/// (in the library's tests) does not move it.
pub(crate) fn china_now() -> NaiveDateTime {
    ystpay::time::china(ystpay::time::system_ms())
}

// The time stamps are written digit by digit: chrono's `format` parses its
// pattern and goes through `fmt` on every call, and one pay answer needs six
// of them (profiled: 13 % of the simulator's instructions per request).

/// Appends `v` as exactly `width` decimal digits (zero-padded, high digits
/// dropped past the width).
fn push_digits(out: &mut String, v: u32, width: u32) {
    for i in (0..width).rev() {
        let d = (v / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + d as u8));
    }
}

/// `server_time` format: `2015-06-09 11:17:48:751`.
pub(crate) fn server_time(t: NaiveDateTime) -> String {
    let mut s = pay_time(t);
    s.push(':');
    push_digits(&mut s, (t.nanosecond() / 1_000_000).min(999), 3);
    s
}

/// `pay_time` format: `2015-06-09 11:17:18`.
pub(crate) fn pay_time(t: NaiveDateTime) -> String {
    let mut s = String::with_capacity(23);
    push_digits(&mut s, t.year().clamp(0, 9999) as u32, 4);
    for (sep, v) in [
        ('-', t.month()),
        ('-', t.day()),
        (' ', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        s.push(sep);
        push_digits(&mut s, v, 2);
    }
    s
}

/// `yyMMddHHmmss`, the head of the platform's 20-digit serials.
pub(crate) fn serial_stamp(t: NaiveDateTime) -> String {
    let mut s = String::with_capacity(20);
    push_digits(&mut s, t.year().rem_euclid(100) as u32, 2);
    for v in [t.month(), t.day(), t.hour(), t.minute(), t.second()] {
        push_digits(&mut s, v, 2);
    }
    s
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
        assert_eq!(serial_stamp(t), "150609111748");
        for (y, h, m, s, ms) in [
            (2026, 0, 0, 0, 0),
            (2099, 23, 59, 59, 999),
            (2000, 9, 5, 7, 42),
        ] {
            let t = chrono::NaiveDate::from_ymd_opt(y, 1, 2)
                .and_then(|d| d.and_hms_milli_opt(h, m, s, ms))
                .unwrap();
            assert_eq!(
                server_time(t),
                t.format("%Y-%m-%d %H:%M:%S:%3f").to_string()
            );
            assert_eq!(pay_time(t), t.format("%Y-%m-%d %H:%M:%S").to_string());
            assert_eq!(serial_stamp(t), t.format("%y%m%d%H%M%S").to_string());
        }
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
