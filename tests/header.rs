//! The committed header `include/ystpay.h` is what build.rs generates from
//! the current source, and it compiles cleanly as C and C++.

use std::path::Path;
use std::process::Command;

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/ystpay.h"));

#[test]
fn committed_header_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/ystpay.h");
    let committed = std::fs::read_to_string(&path).expect("include/ystpay.h");
    assert!(
        committed == GENERATED,
        "include/ystpay.h is stale: run `cargo build` outside CI and commit the header"
    );
}

#[test]
fn every_export_is_declared_with_the_calling_convention() {
    let decls = GENERATED
        .lines()
        .filter(|l| l.contains(" ystpay_") && l.contains('(') && !l.starts_with(' '))
        .filter(|l| !l.starts_with(" *") && !l.starts_with('#'))
        .count();
    let marked = GENERATED.matches("YSTPAY_CALL ystpay_").count();
    assert!(marked >= 20, "only {marked} declarations carry YSTPAY_CALL");
    assert_eq!(decls, marked);
}

/// Pascal, VB6 and PowerBuilder ignore case: no two names of the header may
/// differ only in case (a `YSTPAY_X` macro next to a `ystpay_x` function).
#[test]
fn names_are_unique_ignoring_case() {
    let mut seen = std::collections::HashMap::new();
    let names = GENERATED
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.to_ascii_lowercase().starts_with("ystpay_") && !w.ends_with('_'));
    for name in names {
        let prev = seen.entry(name.to_ascii_lowercase()).or_insert(name);
        assert_eq!(*prev, name, "'{prev}' and '{name}' differ only in case");
    }
}

/// Compiles a translation unit that includes the header and checks the
/// version macros against the compile-time view of the records.
#[cfg(unix)]
#[test]
fn header_compiles_as_strict_c_and_cxx() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let unit = "#include \"ystpay.h\"\n\
                typedef char check_payment[sizeof(ystpay_payment_result) == YSTPAY_PAYMENT_RESULT_SIZE ? 1 : -1];\n\
                typedef char check_order[sizeof(ystpay_order_result) == YSTPAY_ORDER_RESULT_SIZE ? 1 : -1];\n\
                typedef char check_version[YSTPAY_HEADER_VERSION == YSTPAY_VERSION_MAJOR * 10000 + YSTPAY_VERSION_MINOR * 100 + YSTPAY_VERSION_PATCH ? 1 : -1];\n\
                int main(void) { return ystpay_version_number() == YSTPAY_HEADER_VERSION ? 0 : 1; }\n";
    let c = dir.join("header_check.c");
    let cpp = dir.join("header_check.cpp");
    std::fs::write(&c, unit).unwrap();
    std::fs::write(&cpp, unit).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    for (compiler, std, file) in [
        (&cc, "-std=c89", &c),
        (&cc, "-std=c99", &c),
        (&cxx, "-std=c++11", &cpp),
    ] {
        let status = Command::new(compiler)
            .args([
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-fsyntax-only",
            ])
            .arg("-Wno-unused-local-typedefs")
            .arg("-I")
            .arg(&include)
            .arg(file)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {compiler}: {e}"));
        assert!(
            status.success(),
            "{compiler} {std} rejects include/ystpay.h"
        );
    }
}
