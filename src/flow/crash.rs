//! Test-only crash points: with the `crash-points` feature and
//! `YSTPAY_CRASH_AT=<name>` in the environment, the process prints
//! `YSTPAY-CRASH-POINT <name>` on stdout when it reaches that point and
//! stops there, waiting to be killed (after 60 s it aborts by itself).
//! The crash suite (tests/crash_suite.rs) kills it there and recovers.

#[cfg(feature = "crash-points")]
pub(super) fn crash_point(name: &str) {
    use std::io::Write;
    if std::env::var("YSTPAY_CRASH_AT").ok().as_deref() == Some(name) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "YSTPAY-CRASH-POINT {name}");
        let _ = out.flush();
        drop(out);
        std::thread::sleep(std::time::Duration::from_secs(60));
        std::process::abort();
    }
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub(super) fn crash_point(_name: &str) {}
