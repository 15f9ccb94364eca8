//! The library's one source of wall-clock time, and China time.
//!
//! Every wall-clock reading of the library goes through [`now_ms`]: the
//! journal's timestamps and business days, the order expiry, and the
//! `req_seq` generator. Waits and deadlines use [`std::time::Instant`]
//! instead, which never steps, so a clock that steps back or forward
//! (NTP, a flat CMOS battery, a cashier changing the time) cannot stretch
//! or cut a payment's deadline. What a stepped wall clock can still affect
//! is written where it is used (docs/DESIGN.md, "Time").
//!
//! The platform speaks China Standard Time (UTC+8, no daylight saving) in
//! `pay_time` and `server_time` (API §4.1), and the business day of the
//! closing report is a China day, whatever the register's own time zone.

use chrono::{DateTime, Duration, NaiveDateTime};

/// China Standard Time is UTC+8 all year.
const CHINA_OFFSET_HOURS: i64 = 8;

/// Milliseconds since the Unix epoch by the system clock, never stepped
/// by tests. The simulator (the platform's side) reads this one: a
/// register's clock stepping back does not move the platform's.
pub fn system_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Milliseconds since the Unix epoch: the library's wall clock (the
/// system clock, plus the test step of `testing::step_clock` when the `clock-steps`
/// feature builds it in).
pub fn now_ms() -> i64 {
    system_ms() + step::offset_ms()
}

/// The China-time calendar date and time of an instant in Unix ms.
pub fn china(ms: i64) -> NaiveDateTime {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .naive_utc()
        + Duration::hours(CHINA_OFFSET_HOURS)
}

/// The business day (`YYYY-MM-DD`, China time) of an instant in Unix ms.
pub fn day_of(ms: i64) -> String {
    china(ms).format("%Y-%m-%d").to_string()
}

/// Today's business day (China time) by the library's clock.
pub fn today() -> String {
    day_of(now_ms())
}

/// The China-time second of an instant, as seconds since the Unix epoch
/// shifted by eight hours (the unit `req_seq` counts in).
pub fn china_second(ms: i64) -> i64 {
    ms.div_euclid(1000) + CHINA_OFFSET_HOURS * 3600
}

/// `yyMMddHHmmss` of a China second from [`china_second`].
pub fn china_stamp(china_second: i64) -> String {
    DateTime::from_timestamp(china_second, 0)
        .unwrap_or_default()
        .format("%y%m%d%H%M%S")
        .to_string()
}

#[cfg(feature = "clock-steps")]
mod step {
    use std::sync::atomic::{AtomicI64, Ordering};

    pub(super) static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

    pub(super) fn offset_ms() -> i64 {
        OFFSET_MS.load(Ordering::SeqCst)
    }
}

#[cfg(not(feature = "clock-steps"))]
mod step {
    #[inline(always)]
    pub(super) fn offset_ms() -> i64 {
        0
    }
}

/// Test-only: steps the library's wall clock, as NTP or a cashier would.
/// Exists only with the `clock-steps` feature (the test suites enable it;
/// shipped builds never have it).
#[cfg(feature = "clock-steps")]
pub mod testing {
    use std::sync::atomic::Ordering;

    /// Moves the library's clock by `delta_ms` (negative: back in time).
    /// Process-wide, like a real clock step.
    pub fn step_clock(delta_ms: i64) {
        super::step::OFFSET_MS.fetch_add(delta_ms, Ordering::SeqCst);
    }

    /// How far the clock is stepped from the system clock now.
    pub fn clock_offset_ms() -> i64 {
        super::step::offset_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_days_turn_at_sixteen_utc() {
        // 2026-11-27 15:59:59.999 UTC is the last moment of the 27th in China.
        let before = 1_795_795_199_999;
        assert_eq!(day_of(before), "2026-11-27");
        assert_eq!(day_of(before + 1), "2026-11-28");
        assert_eq!(china_stamp(china_second(before)), "261127235959");
        assert_eq!(china_second(-1), -1 + 8 * 3600);
    }
}
