//! Builds `examples-c/qr.c` with the system C compiler against
//! `libystpay.so` and runs it: QR codes to PNG/BMP files, ESC/POS and text
//! buffers, receipts in GBK, NULL and bad arguments, all through the C ABI.
//! Then decodes the PNG and BMP files the C program wrote back to the URL
//! with an independent decoder (`rqrr`). Unix only (the Windows builds are
//! checked by `scripts/ci-ffi.sh`).
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;

const URL: &str = "weixin://wxpay/bizpayurl?pr=jLbHdkp";

/// Where `cargo test` just built `libystpay.so`: `target/<profile>/deps`,
/// beside this test executable. (`target/<profile>` itself may hold an older
/// copy from the last `cargo build`, so it is not used.)
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// Compiles `examples-c/<name>.c` strictly (C99, every warning an error).
fn build(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    assert!(
        lib.join("libystpay.so").exists() || lib.join("libystpay.dylib").exists(),
        "no libystpay in {}",
        lib.display()
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let status = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("examples-c").join(format!("{name}.c")))
        .arg("-o")
        .arg(&out)
        .arg("-L")
        .arg(&lib)
        .args(["-lystpay", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler '{cc}': {e}"));
    assert!(status.success(), "compiling examples-c/{name}.c failed");
    out
}

/// Decodes a greyscale picture (`true` = dark) with rqrr; exactly one code.
fn decode(w: usize, h: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| if dark(x, y) { 0 } else { 255 });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    grids[0].decode().expect("decodes").1
}

fn le32(b: &[u8], i: usize) -> usize {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize
}

/// Reads an uncompressed bottom-up BMP the way a Windows image loader does
/// (palette looked up for 1 bit per pixel).
fn decode_bmp(b: &[u8]) -> String {
    assert_eq!(&b[..2], b"BM");
    let offset = le32(b, 10);
    let (w, h) = (le32(b, 18), le32(b, 22));
    let bits = u16::from_le_bytes([b[28], b[29]]) as usize;
    let row = (w * bits).div_ceil(32) * 4;
    decode(w, h, |x, y| {
        let r = &b[offset + (h - 1 - y) * row..];
        match bits {
            1 => b[54 + 4 * ((r[x / 8] >> (7 - x % 8)) & 1) as usize] < 128,
            24 => r[3 * x] < 128,
            _ => panic!("unexpected depth {bits}"),
        }
    })
}

#[test]
fn c_qr_and_receipts_pass_and_the_png_decodes_to_the_url() {
    let qr = build("qr");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c_qr");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The fresh library first: cargo's LD_LIBRARY_PATH (which outranks the
    // RUNPATH) also names target/<profile>, where an older copy may lie.
    let mut paths = vec![lib_dir()];
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        paths.extend(std::env::split_paths(&old));
    }
    let out = Command::new(&qr)
        .arg(&dir)
        .env(
            "LD_LIBRARY_PATH",
            std::env::join_paths(paths).expect("paths"),
        )
        .output()
        .expect("run qr");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "examples-c/qr.c failed");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" 0 failed"), "unexpected summary: {last}");

    // The PNG written through the C ABI, read by an independent PNG decoder
    // and an independent QR decoder.
    let bytes = std::fs::read(dir.join("qr.png")).expect("qr.png written by the C program");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let text = decode(w, h, |x, y| buf[y * info.line_size + x] < 128);
    assert_eq!(text, URL);

    for name in ["qr1.bmp", "qr24.bmp"] {
        let b = std::fs::read(dir.join(name)).expect("BMP written by the C program");
        assert_eq!(decode_bmp(&b), URL, "{name}");
    }
    // No temporary file left beside the outputs.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("ystpay-tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}
