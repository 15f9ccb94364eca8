//! The library's version, at compile time (header macros) and at run time.

use std::os::raw::c_char;

/// Major version of this header; equals `ystpay_version_number() / 10000`.
pub const YSTPAY_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const YSTPAY_VERSION_MINOR: u32 = 4;
/// Patch version of this header.
pub const YSTPAY_VERSION_PATCH: u32 = 0;
/// `MAJOR * 10000 + MINOR * 100 + PATCH`; compare with
/// `ystpay_version_number()` to detect a header/library mismatch.
pub const YSTPAY_HEADER_VERSION: u32 = 400;
// `YSTPAY_VERSION_STRING` (the text `ystpay_version()` returns) is written
// into the header by build.rs from Cargo.toml: cbindgen cannot emit string
// constants.

const fn parse(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "version part is not a number");
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

// The header's literals must follow Cargo.toml: a version bump that forgets
// them does not compile.
const _: () = {
    assert!(YSTPAY_VERSION_MAJOR == parse(env!("CARGO_PKG_VERSION_MAJOR")));
    assert!(YSTPAY_VERSION_MINOR == parse(env!("CARGO_PKG_VERSION_MINOR")));
    assert!(YSTPAY_VERSION_PATCH == parse(env!("CARGO_PKG_VERSION_PATCH")));
    assert!(
        YSTPAY_HEADER_VERSION
            == YSTPAY_VERSION_MAJOR * 10000 + YSTPAY_VERSION_MINOR * 100 + YSTPAY_VERSION_PATCH
    );
};

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// Returns the library's version as a static NUL-terminated string such as
/// `"0.4.0"` (the same text as `YSTPAY_VERSION_STRING` for a matching
/// header). Owned by the library: do not free. Never NULL. Thread-safe.
#[no_mangle]
pub extern "system" fn ystpay_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// Returns the library's version as `MAJOR * 10000 + MINOR * 100 + PATCH`
/// (compare with `YSTPAY_HEADER_VERSION`). Thread-safe.
#[no_mangle]
pub extern "system" fn ystpay_version_number() -> u32 {
    YSTPAY_HEADER_VERSION
}
