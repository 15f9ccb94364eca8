//! A test that cannot run says so where a person sees it. `cargo test`
//! shows a test that returned early as `ok`, and libtest captures what a
//! test prints with `println!`/`eprintln!`; so the `SKIPPED:` line is
//! written to the process's standard error directly, past the capture.
//! Where CI sets `YSTPAY_REQUIRE_<TOOL>=1` (.ci/run installs the tool), a
//! test that cannot run fails instead.

use std::io::Write;

/// Skips `test` because of `why`, or fails when `require` (a
/// `YSTPAY_REQUIRE_*` variable) is `1`.
pub fn skip_or_fail(require: &str, test: &str, why: &str) {
    if std::env::var(require).is_ok_and(|v| v == "1") {
        panic!("{require}=1 but {test} cannot run: {why}");
    }
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}
