//! Build script: generates the C header `include/ystpay.h` with cbindgen,
//! and makes 32-bit Windows DLL exports undecorated.
//!
//! Calling convention. Every export is written `extern "system"` in Rust:
//! `__stdcall` on 32-bit Windows (PowerBuilder and VB6 can only call that),
//! the C convention everywhere else. cbindgen skips functions whose ABI is
//! not "C", so it is run on a copy of `src/ffi/` in which `extern "system"`
//! reads `extern "C"`; the header then gets `YSTPAY_CALL` (defined in
//! cbindgen.toml as `__stdcall` on 32-bit Windows, empty elsewhere) between
//! each function's return type and name, where MSVC, GCC and Clang all
//! accept it. The build fails unless every `extern "system"` function got
//! one, so the header always declares exactly what the library exports.
//!
//! Freshness. The header is generated into `OUT_DIR` on every build. Outside
//! CI (no `CI` variable) it is also written to `include/ystpay.h` when it
//! changed, to be committed; in CI it is never written, and the test
//! `tests/header.rs` fails when the committed file differs.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const SYSTEM: &str = "extern \"system\" fn";

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=include/ystpay.h");
    println!("cargo:rerun-if-env-changed=CI");

    // i686 MinGW ld exports stdcall functions as `ystpay_pay@32`; PowerBuilder,
    // VB6 and GetProcAddress users expect the plain name.
    if env::var("TARGET").as_deref() == Ok("i686-pc-windows-gnu") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--kill-at");
    }

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let header = generate(&root, &out);
    fs::write(out.join("ystpay.h"), &header).expect("write OUT_DIR/ystpay.h");
    let committed = root.join("include").join("ystpay.h");
    let current = fs::read_to_string(&committed).unwrap_or_default();
    if env::var_os("CI").is_none() && current != header {
        fs::create_dir_all(root.join("include")).expect("create include/");
        fs::write(&committed, &header).expect("write include/ystpay.h");
    }
}

/// Runs cbindgen over the C-ABI view of `src/ffi/` and adds `YSTPAY_CALL`.
fn generate(root: &Path, out: &Path) -> String {
    let src = root.join("src").join("ffi");
    let view = out.join("cbindgen-src");
    let _ = fs::remove_dir_all(&view);
    fs::create_dir_all(&view).expect("create cbindgen-src");
    let mut exports = 0;
    let mut names: Vec<_> = fs::read_dir(&src)
        .expect("read src/ffi")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    names.sort();
    for path in names {
        let text = fs::read_to_string(&path).expect("read ffi source");
        exports += text.matches(SYSTEM).count();
        let view_text = text.replace(SYSTEM, "extern \"C\" fn");
        fs::write(view.join(path.file_name().expect("file name")), view_text)
            .expect("write cbindgen view");
    }
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    // cbindgen cannot emit string constants; the version text comes from
    // Cargo.toml (src/ffi/version.rs checks the numeric macros against it).
    let version = env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    config.after_includes = Some(format!(
        "{}\n\n/*\n * The library version this header belongs to, as text; equals what\n \
         * ystpay_version() returns when header and library match.\n */\n\
         #define YSTPAY_VERSION_STRING \"{version}\"",
        config.after_includes.unwrap_or_default()
    ));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(view.join("mod.rs"))
        .generate()
        .expect("cbindgen failed on src/ffi");
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let raw = String::from_utf8(raw).expect("header is UTF-8");
    // C89 has no `//` comments; cbindgen writes one after each `#endif`.
    let raw = raw
        .replace("#endif // __cplusplus", "#endif /* __cplusplus */")
        .replace("#endif  // __cplusplus", "#endif  /* __cplusplus */")
        .replace("#endif // YSTPAY_H", "#endif /* YSTPAY_H */");
    let (header, marked) = add_calling_convention(&raw);
    assert_eq!(
        marked, exports,
        "{exports} extern \"system\" functions in src/ffi but {marked} declarations got YSTPAY_CALL"
    );
    header
}

/// Puts `YSTPAY_CALL` before the name of every function declaration: the
/// lines that start at column 0 with a return type and contain `ystpay_…(`.
fn add_calling_convention(raw: &str) -> (String, usize) {
    let mut out = String::with_capacity(raw.len() + 4096);
    let mut marked = 0;
    for line in raw.split_inclusive('\n') {
        let starts_decl = line.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && !line.starts_with("typedef")
            && !line.starts_with("extern");
        if let Some(at) = starts_decl.then(|| function_name_at(line)).flatten() {
            out.push_str(&line[..at]);
            out.push_str("YSTPAY_CALL ");
            out.push_str(&line[at..]);
            marked += 1;
        } else {
            out.push_str(line);
        }
    }
    (out, marked)
}

/// Byte offset of `ystpay_name` in `ystpay_name(` on this line, if any.
fn function_name_at(line: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = line[from..].find("ystpay_") {
        let at = from + i;
        let rest = &line[at..];
        let ident_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let before_ok = at == 0 || !line.as_bytes()[at - 1].is_ascii_alphanumeric();
        if before_ok && rest[ident_len..].starts_with('(') {
            return Some(at);
        }
        from = at + ident_len;
    }
    None
}
