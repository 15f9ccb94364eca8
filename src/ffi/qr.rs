//! QR codes and receipts for the C ABI: the `pay_url` of a QR-code, JS or
//! H5 order as a PNG or BMP file, as ESC/POS raster bytes or as terminal
//! text; receipt lines as ESC/POS bytes or as CRLF text.
//!
//! These calls need no client handle and send nothing. Strings are in the
//! encoding given by an explicit `encoding` argument (the same values as
//! `ystpay_client_new` takes: pass the one your client uses, so the
//! `pay_url` and `receipt_lines` of its records can be passed as they are).
//! Binary outputs (ESC/POS) go into a caller buffer with `*needed` set to
//! the exact byte count (no NUL is added: the bytes may contain zeros);
//! text outputs are NUL-terminated like every other string.

use std::os::raw::c_char;

use super::codes::*;
use super::error::{guard, set_call_encoding, CallResult, Failure};
use super::text::{self, Enc};
use crate::qr::{BmpDepth, QrError, QrImage, TextStyle, MAX_SCALE};
use crate::receipt::{EscPosOptions, Receipt};

/// `ystpay_qr_text` style: `##` for a dark module, two spaces for a light
/// one, one line per module row. Pure ASCII: any font, any code page (the
/// only style a GBK caller may ask for).
pub const YSTPAY_QR_TEXT_ASCII: i32 = 0;
/// `ystpay_qr_text` style: Unicode half blocks, two module rows per line,
/// the *light* modules drawn: reads right on a dark terminal background.
/// UTF-8 only (GBK has no upper half block).
pub const YSTPAY_QR_TEXT_BLOCKS_DARK_BG: i32 = 1;
/// `ystpay_qr_text` style: Unicode half blocks with the *dark* modules
/// drawn, for a light terminal background. UTF-8 only.
pub const YSTPAY_QR_TEXT_BLOCKS_LIGHT_BG: i32 = 2;

/// `ystpay_receipt_escpos` flag: no paper cut commands (`GS V`), for
/// printers without a cutter that print the command as garbage. The
/// paper is still fed so the text clears the tear bar.
pub const YSTPAY_RECEIPT_NO_CUT: i32 = 1;
/// `ystpay_receipt_escpos` flag: print the lines as one piece, without
/// cutting between the merchant's copy (【商户联】) and the customer's copy
/// (【用户联】).
pub const YSTPAY_RECEIPT_NO_SPLIT: i32 = 2;

/// Largest `scale` / `dots_per_module` the QR calls accept.
pub const YSTPAY_QR_MAX_SCALE: i32 = 64;
const _: () = assert!(YSTPAY_QR_MAX_SCALE as u32 == MAX_SCALE);

/// Pixels per module for files when `scale` is 0.
const DEFAULT_SCALE: u32 = 8;
/// Most lines a receipt call accepts.
const MAX_LINES: i32 = 10_000;
/// Most bytes per line slot a receipt call accepts.
const MAX_LINE_SIZE: i32 = 65_536;

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(YSTPAY_ERR_INVALID_ARGUMENT, message)
}

/// Reads the `encoding` argument and makes it this call's message encoding.
fn encoding_arg(encoding: i32) -> Result<Enc, Failure> {
    let enc = Enc::from_code(encoding)?;
    set_call_encoding(enc);
    Ok(enc)
}

fn qr_failure(e: QrError) -> Failure {
    match e {
        QrError::Empty => invalid("argument 'pay_url' is empty"),
        QrError::TooLong(_) | QrError::TooWide { .. } => {
            Failure::new(YSTPAY_ERR_QR_TOO_BIG, e.to_string())
        }
        QrError::BadScale(_) => invalid(e.to_string()),
        QrError::Io(why) => Failure::new(YSTPAY_ERR_FILE_WRITE, why),
    }
}

/// The QR code of the `pay_url` argument.
///
/// # Safety
/// `pay_url` is NULL or NUL-terminated.
unsafe fn qr_arg(enc: Enc, pay_url: *const c_char) -> Result<QrImage, Failure> {
    // SAFETY: forwarded caller contract.
    let url = unsafe { text::required(enc, pay_url, "pay_url")? };
    QrImage::encode(&url).map_err(qr_failure)
}

/// A `scale` argument: 0 for the default, else 1 to `YSTPAY_QR_MAX_SCALE`.
fn scale_arg(scale: i32, name: &str, default: u32) -> Result<u32, Failure> {
    match scale {
        0 => Ok(default),
        s if s > 0 && s as u32 <= MAX_SCALE => Ok(s as u32),
        _ => Err(invalid(format!("{name} must be 0 or 1 to {MAX_SCALE}"))),
    }
}

/// Writes `bytes` to `path` whole or not at all ([`crate::files::write_whole`]).
fn write_file(path: &str, bytes: &[u8]) -> CallResult {
    if path.is_empty() {
        return Err(invalid("argument 'path' is empty"));
    }
    crate::files::write_whole(std::path::Path::new(path), bytes).map_err(|e| {
        Failure::new(
            YSTPAY_ERR_FILE_WRITE,
            format!("cannot write the file 'path': {e}"),
        )
    })
}

/// Copies binary `bytes` into a caller buffer; `*needed` is set to their
/// exact length (no NUL), also when the buffer is too small.
///
/// # Safety
/// `buf` points to `buf_size` writable bytes (or is NULL with size 0);
/// `needed` is writable (checked non-NULL by the caller).
unsafe fn copy_bytes(
    bytes: &[u8],
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> CallResult {
    if buf_size < 0 {
        return Err(invalid("argument 'buf_size' is negative"));
    }
    if buf.is_null() && buf_size > 0 {
        return Err(Failure::new(
            YSTPAY_ERR_NULL_ARGUMENT,
            "argument 'buf' is NULL",
        ));
    }
    let need = i32::try_from(bytes.len()).map_err(|_| {
        Failure::new(
            YSTPAY_ERR_QR_TOO_BIG,
            "the output is larger than 2 GiB".to_string(),
        )
    })?;
    // SAFETY: caller contract; unaligned-tolerant.
    unsafe { needed.write_unaligned(need) };
    if buf_size < need {
        return Err(Failure::new(
            YSTPAY_ERR_BUFFER_TOO_SMALL,
            format!("the buffer holds {buf_size} bytes, {need} are needed"),
        ));
    }
    // SAFETY: buf has at least bytes.len() writable bytes (when non-empty,
    // buf_size >= 1 so buf is not NULL).
    if !bytes.is_empty() {
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len()) };
    }
    Ok(())
}

/// Reads a block of `line_count` lines of `line_size` bytes each, every
/// line NUL-terminated inside its slot.
///
/// # Safety
/// `lines` points to `line_size * line_count` readable bytes (or is NULL
/// with `line_count` 0).
unsafe fn read_lines(
    enc: Enc,
    lines: *const c_char,
    line_size: i32,
    line_count: i32,
) -> Result<Vec<String>, Failure> {
    if !(1..=MAX_LINE_SIZE).contains(&line_size) {
        return Err(invalid(format!(
            "line_size must be 1 to {MAX_LINE_SIZE} (YSTPAY_RECEIPT_LINE_SIZE for a record's receipt_lines)"
        )));
    }
    if !(0..=MAX_LINES).contains(&line_count) {
        return Err(invalid(format!("line_count must be 0 to {MAX_LINES}")));
    }
    if line_count == 0 {
        return Ok(Vec::new());
    }
    let lines = non_null!(lines);
    let size = line_size as usize;
    // SAFETY: caller contract: line_size * line_count readable bytes.
    let block = unsafe { std::slice::from_raw_parts(lines, size * line_count as usize) };
    block
        .chunks(size)
        .enumerate()
        .map(|(i, slot)| text::from_array(enc, slot, &format!("lines[{i}]")))
        .collect()
}

/// **Function.** Writes the QR code of `pay_url` to a PNG file (1-bit
/// greyscale, with the 4-module quiet zone phones need).
///
/// - `pay_url`: the text to encode, e.g. `out->pay_url` of a
///   `ystpay_native_pay` answer; not NULL, not empty.
/// - `encoding`: the encoding of `pay_url` and `path` (and of the message):
///   `YSTPAY_ENCODING_UTF8` (or 0) or `YSTPAY_ENCODING_GBK`, as for
///   `ystpay_client_new`; pass your client's.
/// - `scale`: pixels per module, 1 to `YSTPAY_QR_MAX_SCALE`, or 0 for 8.
/// - `path`: the file to create or replace; not NULL. It is written whole
///   or not at all (through a temporary file beside it).
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_NULL_ARGUMENT`,
/// `YSTPAY_ERR_INVALID_ENCODING`, `YSTPAY_ERR_INVALID_ARGUMENT` (empty
/// `pay_url` or `path`, bad `scale` or `encoding`), `YSTPAY_ERR_QR_TOO_BIG`
/// (the text does not fit in a QR code), `YSTPAY_ERR_FILE_WRITE`.
/// Needs no client, sends nothing. Thread-safe (two threads writing the
/// same path at once get one of the two files).
///
/// # Safety
/// `pay_url` and `path` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "system" fn ystpay_qr_png_file(
    pay_url: *const c_char,
    encoding: i32,
    scale: i32,
    path: *const c_char,
) -> i32 {
    guard(|| {
        let enc = encoding_arg(encoding)?;
        let scale = scale_arg(scale, "scale", DEFAULT_SCALE)?;
        // SAFETY: caller contract (NUL-terminated strings).
        let (qr, path) = unsafe { (qr_arg(enc, pay_url)?, text::required(enc, path, "path")?) };
        let png = qr.to_png(scale).map_err(qr_failure)?;
        write_file(&path, &png)
    })
}

/// **Function.** Writes the QR code of `pay_url` to an uncompressed Windows
/// bitmap (BMP) file, which Delphi's `TImage`, PowerBuilder's picture
/// control and VB6's `LoadPicture` load without any extra library.
///
/// - `pay_url`, `encoding`, `scale`, `path`: as for `ystpay_qr_png_file`.
/// - `bits_per_pixel`: 1 (two-colour palette, smallest) or 24 (true colour,
///   no palette: what the oldest readers handle best).
///
/// Returns as `ystpay_qr_png_file` (`YSTPAY_ERR_INVALID_ARGUMENT` also for
/// a `bits_per_pixel` other than 1 or 24). Thread-safe.
///
/// # Safety
/// `pay_url` and `path` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "system" fn ystpay_qr_bmp_file(
    pay_url: *const c_char,
    encoding: i32,
    scale: i32,
    bits_per_pixel: i32,
    path: *const c_char,
) -> i32 {
    guard(|| {
        let enc = encoding_arg(encoding)?;
        let scale = scale_arg(scale, "scale", DEFAULT_SCALE)?;
        let depth = match bits_per_pixel {
            1 => BmpDepth::Mono,
            24 => BmpDepth::Rgb24,
            _ => return Err(invalid("bits_per_pixel must be 1 or 24")),
        };
        // SAFETY: caller contract (NUL-terminated strings).
        let (qr, path) = unsafe { (qr_arg(enc, pay_url)?, text::required(enc, path, "path")?) };
        write_file(&path, &qr.to_bmp(scale, depth))
    })
}

/// **Function.** The QR code of `pay_url` as the ESC/POS raster command
/// `GS v 0` (`1D 76 30 00 xL xH yL yH` + data, bit 1 = black) for a thermal
/// receipt printer: send the bytes to the printer as they are (after
/// `ESC a 1` to centre it, if wanted).
///
/// - `pay_url`, `encoding`: as for `ystpay_qr_png_file`.
/// - `dots_per_module`: printer dots per module, 1 to
///   `YSTPAY_QR_MAX_SCALE`, or 0 for the largest that fits
///   `printer_width_dots` (at most 8).
/// - `printer_width_dots`: the printable width in dots, > 0 (384 for 58 mm
///   paper, 576 for 80 mm). A code wider than that is refused
///   (`YSTPAY_ERR_QR_TOO_BIG`), never printed cut off.
/// - `buf`, `buf_size`: caller buffer for the bytes; `buf` may be NULL only
///   when `buf_size` is 0 (to ask for the size).
/// - `needed`: not NULL; receives the exact number of bytes (no NUL is
///   added: the data contains zero bytes), on success and on
///   `YSTPAY_ERR_BUFFER_TOO_SMALL`.
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to
/// `buf`), `YSTPAY_ERR_NULL_ARGUMENT`, `YSTPAY_ERR_INVALID_ENCODING`,
/// `YSTPAY_ERR_INVALID_ARGUMENT`, `YSTPAY_ERR_QR_TOO_BIG`. Thread-safe.
///
/// # Safety
/// `pay_url` is NULL or NUL-terminated; `buf` points to `buf_size` writable
/// bytes; `needed` is NULL or points to a writable `int32_t`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_qr_escpos(
    pay_url: *const c_char,
    encoding: i32,
    dots_per_module: i32,
    printer_width_dots: i32,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        let needed = non_null!(needed);
        let enc = encoding_arg(encoding)?;
        if printer_width_dots <= 0 {
            return Err(invalid(
                "printer_width_dots must be > 0 (384: 58 mm, 576: 80 mm)",
            ));
        }
        let width = printer_width_dots as u32;
        // SAFETY: caller contract (NUL-terminated string).
        let qr = unsafe { qr_arg(enc, pay_url)? };
        let dots = match dots_per_module {
            0 => qr.escpos_dots_for(width).ok_or_else(|| {
                qr_failure(QrError::TooWide {
                    needed: qr.pixels(1),
                    available: width,
                })
            })?,
            d => scale_arg(d, "dots_per_module", 1)?,
        };
        let bytes = qr.to_escpos(dots, width).map_err(qr_failure)?;
        // SAFETY: caller contract.
        unsafe { copy_bytes(&bytes, buf, buf_size, needed) }
    })
}

/// **Function.** The QR code of `pay_url` as text for a terminal or a log:
/// one line per output row, each ending in `"\n"`, NUL-terminated.
///
/// - `pay_url`, `encoding`: as for `ystpay_qr_png_file`; the text comes out
///   in `encoding` too.
/// - `style`: `YSTPAY_QR_TEXT_ASCII` (`##` and spaces; the only style for
///   `YSTPAY_ENCODING_GBK`), `YSTPAY_QR_TEXT_BLOCKS_DARK_BG` or
///   `YSTPAY_QR_TEXT_BLOCKS_LIGHT_BG` (Unicode half blocks, UTF-8 only).
/// - `buf`, `buf_size`: caller buffer; may be NULL only when `buf_size` is 0.
/// - `needed`: if not NULL, receives the bytes needed including the NUL.
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to
/// `buf`), `YSTPAY_ERR_NULL_ARGUMENT`, `YSTPAY_ERR_INVALID_ENCODING`,
/// `YSTPAY_ERR_INVALID_ARGUMENT` (unknown style, or half blocks in GBK),
/// `YSTPAY_ERR_QR_TOO_BIG`. Thread-safe.
///
/// # Safety
/// `pay_url` is NULL or NUL-terminated; `buf` points to `buf_size` writable
/// bytes; `needed` is NULL or points to a writable `int32_t`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_qr_text(
    pay_url: *const c_char,
    encoding: i32,
    style: i32,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        let enc = encoding_arg(encoding)?;
        let style = match style {
            YSTPAY_QR_TEXT_ASCII => TextStyle::Ascii,
            YSTPAY_QR_TEXT_BLOCKS_DARK_BG => TextStyle::HalfBlocks,
            YSTPAY_QR_TEXT_BLOCKS_LIGHT_BG => TextStyle::HalfBlocksLight,
            other => return Err(invalid(format!("unknown style {other}"))),
        };
        if enc == Enc::Gbk && style != TextStyle::Ascii {
            return Err(invalid(
                "GBK has no half-block characters: use YSTPAY_QR_TEXT_ASCII",
            ));
        }
        // SAFETY: caller contract (NUL-terminated string).
        let qr = unsafe { qr_arg(enc, pay_url)? };
        let drawn = qr.to_text(style);
        let s = text::encode(enc, &drawn);
        // SAFETY: caller contract.
        unsafe { text::copy_out(&s, buf, buf_size, needed) }
    })
}

/// **Function.** Receipt lines as bytes for an ESC/POS thermal printer:
/// `ESC @` (initialise), `FS &` (Chinese mode), each line in GBK ending in
/// `LF`, then feed and cut after each copy (the merchant's 【商户联】 and the
/// customer's 【用户联】 are found by their repeated title line). Control
/// characters inside a line become spaces, so receipt text can never issue
/// a printer command. The output is GBK whatever `encoding` is: Chinese
/// printers print GBK.
///
/// - `lines`: `line_count` lines in one block of `line_size`-byte slots,
///   each NUL-terminated inside its slot. For a result record pass
///   `out->receipt_lines[0]`, `YSTPAY_RECEIPT_LINE_SIZE` and
///   `out->receipt_count` (any of `ystpay_payment_result`,
///   `ystpay_refund_result`, `ystpay_order_result`); for your own lines a
///   `char lines[N][SIZE]` array. NULL only when `line_count` is 0.
/// - `line_size`: bytes per slot, 1 to 65536.
/// - `line_count`: 0 to 10000.
/// - `encoding`: the encoding of `lines` (and of the message), as for
///   `ystpay_client_new`; pass your client's.
/// - `flags`: 0, or `YSTPAY_RECEIPT_NO_CUT` | `YSTPAY_RECEIPT_NO_SPLIT`.
/// - `buf`, `buf_size`, `needed`: as for `ystpay_qr_escpos` (`needed` not
///   NULL; the exact byte count, no NUL added).
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to
/// `buf`), `YSTPAY_ERR_NULL_ARGUMENT`, `YSTPAY_ERR_INVALID_ENCODING`,
/// `YSTPAY_ERR_INVALID_ARGUMENT` (a slot without its NUL, bad sizes,
/// unknown flags). Thread-safe.
///
/// # Safety
/// `lines` points to `line_size * line_count` readable bytes; `buf` to
/// `buf_size` writable bytes; `needed` is NULL or a writable `int32_t`.
#[allow(clippy::too_many_arguments)]
#[no_mangle]
pub unsafe extern "system" fn ystpay_receipt_escpos(
    lines: *const c_char,
    line_size: i32,
    line_count: i32,
    encoding: i32,
    flags: i32,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        let needed = non_null!(needed);
        let enc = encoding_arg(encoding)?;
        if flags & !(YSTPAY_RECEIPT_NO_CUT | YSTPAY_RECEIPT_NO_SPLIT) != 0 {
            return Err(invalid(format!("unknown flags {flags:#x}")));
        }
        // SAFETY: caller contract.
        let lines = unsafe { read_lines(enc, lines, line_size, line_count)? };
        let opts = EscPosOptions {
            cut: flags & YSTPAY_RECEIPT_NO_CUT == 0,
            cut_between_copies: flags & YSTPAY_RECEIPT_NO_SPLIT == 0,
            ..EscPosOptions::default()
        };
        let bytes = Receipt::new(lines).to_escpos(&opts);
        // SAFETY: caller contract.
        unsafe { copy_bytes(&bytes, buf, buf_size, needed) }
    })
}

/// **Function.** Receipt lines as one NUL-terminated text, each line ending
/// in `"\r\n"`, in `encoding` (for a Windows printer driver, a text box or
/// a file).
///
/// - `lines`, `line_size`, `line_count`, `encoding`: as for
///   `ystpay_receipt_escpos`; the text comes out in `encoding` too.
/// - `buf`, `buf_size`: caller buffer; may be NULL only when `buf_size` is 0.
/// - `needed`: if not NULL, receives the bytes needed including the NUL.
///
/// Returns `YSTPAY_OK`, `YSTPAY_ERR_BUFFER_TOO_SMALL` (nothing written to
/// `buf`), `YSTPAY_ERR_NULL_ARGUMENT`, `YSTPAY_ERR_INVALID_ENCODING`,
/// `YSTPAY_ERR_INVALID_ARGUMENT`. Thread-safe.
///
/// # Safety
/// `lines` points to `line_size * line_count` readable bytes; `buf` to
/// `buf_size` writable bytes; `needed` is NULL or a writable `int32_t`.
#[no_mangle]
pub unsafe extern "system" fn ystpay_receipt_text(
    lines: *const c_char,
    line_size: i32,
    line_count: i32,
    encoding: i32,
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> i32 {
    guard(|| {
        let enc = encoding_arg(encoding)?;
        // SAFETY: caller contract.
        let lines = unsafe { read_lines(enc, lines, line_size, line_count)? };
        let bytes = Receipt::new(lines).encode(enc);
        // SAFETY: caller contract.
        unsafe { text::copy_out(&bytes, buf, buf_size, needed) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    const URL: &[u8] = b"weixin://wxpay/bizpayurl?pr=jLbHdkp\0";

    fn url() -> *const c_char {
        URL.as_ptr().cast()
    }

    #[test]
    fn escpos_sizes_and_checks() {
        let mut need = -1;
        // SAFETY: valid pointers throughout.
        unsafe {
            let rc = ystpay_qr_escpos(url(), 0, 0, 384, null_mut(), 0, &mut need);
            assert_eq!(rc, YSTPAY_ERR_BUFFER_TOO_SMALL);
            let mut buf = vec![0 as c_char; need as usize];
            let rc = ystpay_qr_escpos(url(), 0, 0, 384, buf.as_mut_ptr(), need, &mut need);
            assert_eq!(rc, YSTPAY_OK);
            assert_eq!(buf[..3], [0x1D, 0x76, 0x30]);
            assert_eq!(
                ystpay_qr_escpos(url(), 0, 0, 384, buf.as_mut_ptr(), need, null_mut()),
                YSTPAY_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                ystpay_qr_escpos(url(), 0, 30, 384, null_mut(), 0, &mut need),
                YSTPAY_ERR_QR_TOO_BIG
            );
            assert_eq!(
                ystpay_qr_escpos(url(), 0, 0, 20, null_mut(), 0, &mut need),
                YSTPAY_ERR_QR_TOO_BIG
            );
            assert_eq!(
                ystpay_qr_escpos(url(), 0, 0, 0, null_mut(), 0, &mut need),
                YSTPAY_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                ystpay_qr_escpos(null(), 0, 0, 384, null_mut(), 0, &mut need),
                YSTPAY_ERR_NULL_ARGUMENT
            );
        }
    }

    #[test]
    fn text_styles_and_encodings() {
        let mut need = 0;
        // SAFETY: valid pointers throughout.
        unsafe {
            assert_eq!(
                ystpay_qr_text(
                    url(),
                    YSTPAY_ENCODING_GBK,
                    YSTPAY_QR_TEXT_BLOCKS_DARK_BG,
                    null_mut(),
                    0,
                    &mut need
                ),
                YSTPAY_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                ystpay_qr_text(url(), YSTPAY_ENCODING_GBK, 7, null_mut(), 0, &mut need),
                YSTPAY_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                ystpay_qr_text(
                    url(),
                    0,
                    YSTPAY_QR_TEXT_BLOCKS_DARK_BG,
                    null_mut(),
                    0,
                    &mut need
                ),
                YSTPAY_ERR_BUFFER_TOO_SMALL
            );
            let mut buf = vec![0 as c_char; need as usize];
            let rc = ystpay_qr_text(
                url(),
                0,
                YSTPAY_QR_TEXT_BLOCKS_DARK_BG,
                buf.as_mut_ptr(),
                need,
                null_mut(),
            );
            assert_eq!(rc, YSTPAY_OK);
            let s = std::ffi::CStr::from_ptr(buf.as_ptr()).to_str().unwrap();
            assert!(s.contains('▀') || s.contains('▄'));
        }
    }

    #[test]
    fn receipt_lines_need_their_nul_and_a_sane_block() {
        let block: [[c_char; 4]; 2] = [[b'a' as c_char; 4], [0; 4]];
        let mut need = 0;
        // SAFETY: valid pointers throughout.
        unsafe {
            assert_eq!(
                ystpay_receipt_text(block[0].as_ptr(), 4, 2, 0, null_mut(), 0, &mut need),
                YSTPAY_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                ystpay_receipt_text(null(), 4, 0, 0, null_mut(), 0, &mut need),
                YSTPAY_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(need, 1);
            assert_eq!(
                ystpay_receipt_text(null(), 4, 1, 0, null_mut(), 0, &mut need),
                YSTPAY_ERR_NULL_ARGUMENT
            );
            assert_eq!(
                ystpay_receipt_text(block[1].as_ptr(), 0, 1, 0, null_mut(), 0, &mut need),
                YSTPAY_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                ystpay_receipt_escpos(block[1].as_ptr(), 4, 1, 0, 4, null_mut(), 0, &mut need),
                YSTPAY_ERR_INVALID_ARGUMENT
            );
        }
    }
}
