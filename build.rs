//! Build script: generates the C header `include/ystpay.h` with cbindgen,
//! makes 32-bit Windows DLL exports undecorated, and gives Windows DLLs a
//! version resource.
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
    // VB6 and GetProcAddress users expect the plain name. Both 32-bit GNU
    // targets: i686-pc-windows-gnu and i686-win7-windows-gnu (what ships).
    let cfg = |key: &str| env::var(format!("CARGO_CFG_TARGET_{key}")).unwrap_or_default();
    let windows_gnu = cfg("OS") == "windows" && cfg("ENV") == "gnu";
    if windows_gnu && cfg("ARCH") == "x86" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--kill-at");
    }

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    if windows_gnu {
        version_resource(&out, &cfg("ARCH"));
    }
    let header = generate(&root, &out);
    fs::write(out.join("ystpay.h"), &header).expect("write OUT_DIR/ystpay.h");
    let committed = root.join("include").join("ystpay.h");
    let current = fs::read_to_string(&committed).unwrap_or_default();
    if env::var_os("CI").is_none() && current != header {
        fs::create_dir_all(root.join("include")).expect("create include/");
        fs::write(&committed, &header).expect("write include/ystpay.h");
    }
}

/// The VERSIONINFO resource of `ystpay.dll` (Explorer's Details tab, what
/// support staff read to tell which version a register has): written as a
/// resource script and compiled by MinGW's `windres` into an object that
/// only the cdylib links. `windres` comes with the MinGW linker that every
/// windows-gnu build needs (`i686-w64-mingw32-windres`, `x86_64-…`);
/// `WINDRES` names another. `scripts/check-version-resource.py` reads the
/// resource back from the built DLL.
fn version_resource(out: &Path, arch: &str) {
    println!("cargo:rerun-if-env-changed=WINDRES");
    let version = env::var("CARGO_PKG_VERSION").expect("CARGO_PKG_VERSION");
    let number = |part: &str| {
        env::var(format!("CARGO_PKG_VERSION_{part}"))
            .ok()
            .and_then(|v| v.parse::<u16>().ok())
            .unwrap_or(0)
    };
    let numeric = format!(
        "{},{},{},0",
        number("MAJOR"),
        number("MINOR"),
        number("PATCH")
    );
    let bits = if arch == "x86" { "32" } else { "64" };
    // UTF-8 text (windres -c 65001): the description names the platform in
    // Chinese as the registers' support staff know it.
    let strings = [
        ("CompanyName", "ystpay".to_string()),
        (
            "FileDescription",
            format!("ystpay 赢商通支付库 / payment library ({bits}-bit)"),
        ),
        ("FileVersion", version.clone()),
        ("InternalName", "ystpay".to_string()),
        (
            "LegalCopyright",
            "Copyright (c) the ystpay authors; MIT OR Apache-2.0".to_string(),
        ),
        ("OriginalFilename", "ystpay.dll".to_string()),
        ("ProductName", "ystpay".to_string()),
        ("ProductVersion", version.clone()),
    ];
    let mut rc = String::new();
    rc.push_str(&format!(
        "1 VERSIONINFO\nFILEVERSION {numeric}\nPRODUCTVERSION {numeric}\n\
         FILEFLAGSMASK 0x3f\nFILEFLAGS 0x0\nFILEOS 0x40004\nFILETYPE 0x2\nFILESUBTYPE 0x0\n\
         BEGIN\n  BLOCK \"StringFileInfo\"\n  BEGIN\n    BLOCK \"080404b0\"\n    BEGIN\n"
    ));
    for (key, value) in &strings {
        assert!(!value.contains('"'), "no quotes in resource strings");
        rc.push_str(&format!("      VALUE \"{key}\", \"{value}\"\n"));
    }
    // 0x0804 = Chinese (PRC), 1200 = UTF-16 strings.
    rc.push_str(
        "    END\n  END\n  BLOCK \"VarFileInfo\"\n  BEGIN\n    \
         VALUE \"Translation\", 0x0804, 1200\n  END\nEND\n",
    );
    let script = out.join("ystpay-version.rc");
    let object = out.join("ystpay-version.o");
    fs::write(&script, rc).expect("write ystpay-version.rc");
    let prefix = match arch {
        "x86" => "i686",
        "x86_64" => "x86_64",
        _ => "",
    };
    let windres = match env::var("WINDRES") {
        Ok(w) => w,
        Err(_) if !prefix.is_empty() => format!("{prefix}-w64-mingw32-windres"),
        Err(_) => {
            println!("cargo:warning=no version resource: set WINDRES for {arch}");
            return;
        }
    };
    let status = std::process::Command::new(&windres)
        .args(["-c", "65001", "-O", "coff", "-i"])
        .arg(&script)
        .arg("-o")
        .arg(&object)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run {windres} (MinGW binutils) for the DLL's version resource: {e}")
        });
    assert!(status.success(), "{windres} failed on {}", script.display());
    println!("cargo:rustc-cdylib-link-arg={}", object.display());
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
        // Unit tests (after `#[cfg(test)]`) may define callbacks; they are
        // not exports.
        let exported = text.split("#[cfg(test)]").next().unwrap_or_default();
        exports += exported.matches(SYSTEM).count();
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
    if marked != exports {
        let _ = fs::write(out.join("ystpay-unchecked.h"), &header);
    }
    assert_eq!(
        marked, exports,
        "{exports} extern \"system\" functions in src/ffi but {marked} declarations got YSTPAY_CALL"
    );
    header
}

/// Puts `YSTPAY_CALL` before the name of every function declaration: the
/// lines that start at column 0 with a return type and contain `ystpay_…(`;
/// and inside every function-pointer typedef (`typedef void (*ystpay_x)(`
/// becomes `typedef void (YSTPAY_CALL *ystpay_x)(`), since callbacks are
/// `extern "system"` too.
fn add_calling_convention(raw: &str) -> (String, usize) {
    let mut out = String::with_capacity(raw.len() + 4096);
    let mut marked = 0;
    for line in raw.split_inclusive('\n') {
        if line.starts_with("typedef") {
            if let Some(at) = line.find("(*ystpay_") {
                out.push_str(&line[..=at]);
                out.push_str("YSTPAY_CALL ");
                out.push_str(&line[at + 1..]);
                marked += 1;
                continue;
            }
        }
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
