//! Strings across the boundary: NUL-terminated, UTF-8 by default or GBK
//! (code page 936) per client, into Rust `String`s and back into caller
//! buffers and fixed `char` arrays.
//!
//! # Strict code page 936
//!
//! `encoding_rs` decodes "GBK" as the WHATWG Encoding Standard does: as
//! GB18030, which gives a meaning to every pair of a lead byte 0x81-0xFE and
//! a trail byte 0x40-0x7E/0x80-0xFE, and to four-byte sequences. Most UTF-8
//! Chinese text passed to a GBK client by mistake therefore decodes without
//! an error, into other Chinese characters, and would be sent to the
//! platform. Code page 936, what a Chinese Windows program's ANSI strings
//! are, defines 21,791 two-byte codes (Microsoft's table, the one Python's
//! `gbk` codec also uses); [`decode`] accepts exactly those, ASCII and
//! 0x80 (the euro sign, as Windows has it), and refuses:
//! - four-byte GB18030 sequences (a lead byte followed by 0x30-0x39);
//! - codes WHATWG maps to the Private Use Area: the user-defined areas
//!   (AAA1-AFFE, F8A1-FEFE, A140-A7A0) and codes GB18030 left unassigned;
//! - the 101 codes GB18030 assigned that code page 936 leaves undefined
//!   ([`cp936_lacks`]: row FE from 0x50, A989-A995, vertical forms in row A6,
//!   A8BC, A8BF, A2E3, A3A0).
//!
//! `tests/gbk_cp936.rs` compares this, code by code, with Python's `gbk`
//! codec, and measures what it catches. It cannot catch every mistake: many
//! UTF-8 byte strings are valid code page 936 too, and those still come out
//! as other characters. Of UTF-8 texts of 2, 4, 8 and 12 common Chinese
//! characters, it refuses 21 %, 38 %, 61 % and 75 % (WHATWG's GBK: 3 %,
//! 6 %, 12 %, 17 %); an odd number of bytes is always refused.
//! Text to a GBK client is encoded the same way: a character without a
//! code in code page 936 becomes `?`.

use std::borrow::Cow;
use std::ffi::CStr;
use std::os::raw::c_char;

use super::codes::*;
use super::error::Failure;

/// A client's string encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    /// UTF-8.
    Utf8,
    /// GBK (code page 936).
    Gbk,
}

impl From<Enc> for crate::config::Encoding {
    fn from(enc: Enc) -> Self {
        match enc {
            Enc::Utf8 => crate::config::Encoding::Utf8,
            Enc::Gbk => crate::config::Encoding::Gbk,
        }
    }
}

impl From<crate::config::Encoding> for Enc {
    fn from(e: crate::config::Encoding) -> Self {
        match e {
            crate::config::Encoding::Utf8 => Enc::Utf8,
            crate::config::Encoding::Gbk => Enc::Gbk,
        }
    }
}

impl Enc {
    /// Reads a `YSTPAY_ENCODING_*` value (`0` = UTF-8).
    pub fn from_code(code: i32) -> Result<Enc, Failure> {
        match code {
            0 | YSTPAY_ENCODING_UTF8 => Ok(Enc::Utf8),
            YSTPAY_ENCODING_GBK => Ok(Enc::Gbk),
            other => Err(Failure::new(
                YSTPAY_ERR_INVALID_ARGUMENT,
                format!("encoding {other} is not YSTPAY_ENCODING_UTF8 (65001) or YSTPAY_ENCODING_GBK (936)"),
            )),
        }
    }

    /// Reads an encoding name as written in a configuration.
    pub fn from_name(name: &str) -> Option<Enc> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "utf-8" | "utf8" | "65001" | "0" => Some(Enc::Utf8),
            "gbk" | "cp936" | "936" | "gb2312" => Some(Enc::Gbk),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Enc::Utf8 => "UTF-8",
            Enc::Gbk => "GBK",
        }
    }
}

/// Encodes `s` for the caller. GBK (code page 936) cannot hold every
/// character: those it cannot are written as `?`. UTF-8 is `s` itself (no
/// copy: a result record has some twenty texts).
pub fn encode(enc: Enc, s: &str) -> Cow<'_, [u8]> {
    match enc {
        Enc::Utf8 => Cow::Borrowed(s.as_bytes()),
        Enc::Gbk => {
            // Private-use characters would become user-defined codes, which
            // code page 936 does not define.
            let filtered: String;
            let s = if s.chars().any(is_private_use) {
                filtered = s
                    .chars()
                    .map(|c| if is_private_use(c) { '?' } else { c })
                    .collect();
                filtered.as_str()
            } else {
                s
            };
            use encoding_rs::EncoderResult;
            let mut encoder = encoding_rs::GBK.new_encoder();
            let mut out = Vec::with_capacity(s.len() + 8);
            let mut rest = s;
            loop {
                let room = encoder
                    .max_buffer_length_from_utf8_without_replacement(rest.len())
                    .unwrap_or(rest.len() * 4 + 16);
                let start = out.len();
                out.resize(start + room, 0);
                let (result, read, written) =
                    encoder.encode_from_utf8_without_replacement(rest, &mut out[start..], true);
                out.truncate(start + written);
                rest = &rest[read..];
                match result {
                    EncoderResult::InputEmpty => return Cow::Owned(replace_lacking(out)),
                    EncoderResult::Unmappable(_) => out.push(b'?'),
                    EncoderResult::OutputFull => {}
                }
            }
        }
    }
}

/// Decodes caller bytes; `None` when they are not valid in `enc` (for GBK:
/// strict code page 936, see the module's documentation).
pub fn decode(enc: Enc, bytes: &[u8]) -> Option<String> {
    match enc {
        Enc::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_string),
        Enc::Gbk => {
            let text =
                encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes)?;
            (cp936_defines(bytes) && !text.chars().any(is_private_use)).then(|| text.into_owned())
        }
    }
}

/// The Basic Multilingual Plane's Private Use Area, where WHATWG's GBK puts
/// the codes code page 936 leaves to users or undefined.
fn is_private_use(c: char) -> bool {
    ('\u{E000}'..='\u{F8FF}').contains(&c)
}

/// Whether the two-byte code `lead trail` is one GB18030 assigns (WHATWG's
/// GBK decodes it to a character outside the Private Use Area) but code page
/// 936 does not define. Found by comparing `encoding_rs` with Python's
/// `gbk` codec over all 23,940 two-byte codes (`tests/gbk_cp936.rs`).
pub fn cp936_lacks(lead: u8, trail: u8) -> bool {
    match lead {
        // CJK characters and radicals GB18030 added in row FE.
        0xFE => (0x50..=0xA0).contains(&trail),
        // Ideographic description characters and U+303E.
        0xA9 => (0x89..=0x95).contains(&trail),
        // Vertical punctuation forms (U+FE10-FE19).
        0xA6 => matches!(trail, 0xD9..=0xDF | 0xEC | 0xED | 0xF3),
        // ḿ and ǹ.
        0xA8 => matches!(trail, 0xBC | 0xBF),
        // The euro sign's GB18030 code (code page 936 has it at 0x80).
        0xA2 => trail == 0xE3,
        // A second ideographic space.
        0xA3 => trail == 0xA0,
        _ => false,
    }
}

/// Walks bytes that WHATWG's GBK decoder accepted: false at a four-byte
/// GB18030 sequence or a two-byte code that code page 936 lacks.
fn cp936_defines(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b <= 0x80 {
            i += 1; // ASCII, or 0x80 (the euro sign)
            continue;
        }
        let Some(&t) = bytes.get(i + 1) else {
            return false;
        };
        if (0x30..=0x39).contains(&t) || cp936_lacks(b, t) {
            return false;
        }
        i += 2;
    }
    true
}

/// Our GBK output with each two-byte code that code page 936 lacks
/// replaced by `?`.
fn replace_lacking(bytes: Vec<u8>) -> Vec<u8> {
    let mut i = 0;
    let mut out: Option<Vec<u8>> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if b > 0x80 && i + 1 < bytes.len() {
            if cp936_lacks(b, bytes[i + 1]) {
                out.get_or_insert_with(|| bytes[..i].to_vec()).push(b'?');
            } else if let Some(o) = out.as_mut() {
                o.extend_from_slice(&bytes[i..i + 2]);
            }
            i += 2;
        } else {
            if let Some(o) = out.as_mut() {
                o.push(b);
            }
            i += 1;
        }
    }
    out.unwrap_or(bytes)
}

fn invalid(enc: Enc, name: &str) -> Failure {
    Failure::new(
        YSTPAY_ERR_INVALID_ENCODING,
        format!("argument '{name}' is not valid {}", enc.name()),
    )
}

/// A required NUL-terminated string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub unsafe fn required(enc: Enc, p: *const c_char, name: &str) -> Result<String, Failure> {
    // SAFETY: forwarded.
    match unsafe { optional_raw(enc, p, name)? } {
        Some(s) => Ok(s),
        None => Err(Failure::new(
            YSTPAY_ERR_NULL_ARGUMENT,
            format!("argument '{name}' is NULL"),
        )),
    }
}

/// An optional string argument: NULL and `""` both mean "not given".
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string.
pub unsafe fn optional(enc: Enc, p: *const c_char, name: &str) -> Result<Option<String>, Failure> {
    // SAFETY: forwarded.
    Ok(unsafe { optional_raw(enc, p, name)? }.filter(|s| !s.is_empty()))
}

unsafe fn optional_raw(enc: Enc, p: *const c_char, name: &str) -> Result<Option<String>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller guarantees a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    decode(enc, bytes)
        .map(Some)
        .ok_or_else(|| invalid(enc, name))
}

/// A string held in a fixed `char` array of an input record: it must end
/// with a NUL inside the array.
pub fn from_array(enc: Enc, a: &[c_char], name: &str) -> Result<String, Failure> {
    let bytes: Vec<u8> = a.iter().map(|&c| c as u8).collect();
    let end = bytes.iter().position(|&b| b == 0).ok_or_else(|| {
        Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            format!(
                "'{name}' has no terminating NUL within its {} bytes",
                a.len()
            ),
        )
    })?;
    decode(enc, &bytes[..end]).ok_or_else(|| invalid(enc, name))
}

/// The longest prefix of `bytes` (encoded in `enc`) that fits in `max`
/// bytes without splitting a character.
fn fitting_prefix(enc: Enc, bytes: &[u8], max: usize) -> usize {
    if bytes.len() <= max {
        return bytes.len();
    }
    match enc {
        Enc::Utf8 => {
            let mut n = max;
            // Back up over continuation bytes (10xxxxxx).
            while n > 0 && (bytes[n] & 0xC0) == 0x80 {
                n -= 1;
            }
            n
        }
        Enc::Gbk => {
            // Our own GBK output: 0x81..=0xFE lead a two-byte character,
            // everything else is one byte.
            let mut n = 0;
            while n < bytes.len() {
                let w = if (0x81..=0xFE).contains(&bytes[n]) {
                    2
                } else {
                    1
                };
                if n + w > max {
                    break;
                }
                n += w;
            }
            n
        }
    }
}

/// Writes answer strings into a record's fixed arrays, remembering whether
/// any display text had to be cut.
#[derive(Debug)]
pub struct Writer {
    /// The caller's encoding.
    pub enc: Enc,
    /// True once a text field or receipt line was cut short.
    pub truncated: bool,
}

impl Writer {
    /// A writer for `enc`.
    pub fn new(enc: Enc) -> Self {
        Writer {
            enc,
            truncated: false,
        }
    }

    /// An identifier (`req_seq`, `trans_seq`, ...): it must fit whole,
    /// since a cut identifier would name another order.
    pub fn id(&mut self, dst: &mut [c_char], s: &str, field: &str) -> Result<(), Failure> {
        let bytes = encode(self.enc, s);
        if bytes.len() >= dst.len() {
            return Err(Failure::new(
                YSTPAY_ERR_REJECTED,
                format!(
                    "the answer's {field} is {} bytes, longer than its record field ({} with the NUL)",
                    bytes.len(),
                    dst.len()
                ),
            ));
        }
        put(dst, &bytes);
        Ok(())
    }

    /// Display text: cut at a character boundary when too long.
    pub fn text(&mut self, dst: &mut [c_char], s: &str) {
        let bytes = encode(self.enc, s);
        let n = fitting_prefix(self.enc, &bytes, dst.len() - 1);
        if n < bytes.len() {
            self.truncated = true;
        }
        put(dst, &bytes[..n]);
    }

    /// Optional display text; `None` leaves the array empty.
    pub fn opt_text(&mut self, dst: &mut [c_char], s: Option<&str>) {
        if let Some(s) = s {
            self.text(dst, s);
        }
    }
}

fn put(dst: &mut [c_char], bytes: &[u8]) {
    for (d, &b) in dst.iter_mut().zip(bytes) {
        *d = b as c_char;
    }
    if let Some(d) = dst.get_mut(bytes.len()) {
        *d = 0;
    }
}

/// Copies `bytes` plus a NUL into a caller buffer, or reports the size
/// needed.
///
/// # Safety
/// `buf` points to `buf_size` writable bytes (or is NULL with size 0);
/// `needed` is NULL or writable.
pub unsafe fn copy_out(
    bytes: &[u8],
    buf: *mut c_char,
    buf_size: i32,
    needed: *mut i32,
) -> Result<(), Failure> {
    if buf_size < 0 {
        return Err(Failure::new(
            YSTPAY_ERR_INVALID_ARGUMENT,
            "argument 'buf_size' is negative",
        ));
    }
    if buf.is_null() && buf_size > 0 {
        return Err(Failure::new(
            YSTPAY_ERR_NULL_ARGUMENT,
            "argument 'buf' is NULL",
        ));
    }
    let need = i32::try_from(bytes.len() + 1).unwrap_or(i32::MAX);
    if !needed.is_null() {
        // SAFETY: caller contract; unaligned-tolerant.
        unsafe { needed.write_unaligned(need) };
    }
    if (buf_size as usize) < bytes.len() + 1 {
        return Err(Failure::new(
            YSTPAY_ERR_BUFFER_TOO_SMALL,
            format!("the buffer holds {buf_size} bytes, {need} are needed"),
        ));
    }
    // SAFETY: buf has at least bytes.len() + 1 writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
        *buf.add(bytes.len()) = 0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_round_trip_and_replacement() {
        let g = encode(Enc::Gbk, "奶油曲奇 ok");
        assert_eq!(g.len(), 4 * 2 + 3);
        assert_eq!(decode(Enc::Gbk, &g).unwrap(), "奶油曲奇 ok");
        assert_eq!(&encode(Enc::Gbk, "a😀b")[..], b"a?b");
        assert!(decode(Enc::Gbk, &[0x81]).is_none());
        assert!(decode(Enc::Utf8, &[0xE5, 0xA5]).is_none());
    }

    #[test]
    fn gbk_is_strict_code_page_936() {
        // UTF-8 Chinese that WHATWG's GBK decodes into other characters.
        for s in ["支付成功", "奶油曲奇", "微信支付", "交易金额", "中文"] {
            let utf8 = s.as_bytes();
            assert!(
                encoding_rs::GBK
                    .decode_without_bom_handling_and_without_replacement(utf8)
                    .is_some(),
                "WHATWG GBK accepts the UTF-8 of {s}"
            );
            assert!(decode(Enc::Gbk, utf8).is_none(), "strict 936 refuses {s}");
            // The same text really in GBK passes.
            assert_eq!(decode(Enc::Gbk, &encode(Enc::Gbk, s)).as_deref(), Some(s));
        }
        assert_eq!(decode(Enc::Gbk, b"\x80").as_deref(), Some("€"));
        assert_eq!(decode(Enc::Gbk, b"\xA1\xA1").as_deref(), Some("\u{3000}"));
        assert!(
            decode(Enc::Gbk, b"\x81\x30\x81\x30").is_none(),
            "four-byte GB18030"
        );
        assert!(
            decode(Enc::Gbk, b"\xAA\xA1").is_none(),
            "user-defined area (PUA)"
        );
        assert!(decode(Enc::Gbk, b"\xFE\x50").is_none(), "GB18030's row FE");
        assert!(
            decode(Enc::Gbk, b"\xA8\xBC").is_none(),
            "GB18030's m with acute"
        );
        assert!(
            decode(Enc::Gbk, b"ok\xFE\x4F").is_some(),
            "row FE below 0x50 is 936's"
        );
        // Output: characters 936 lacks become '?', whether WHATWG would have
        // written a user-defined code or a GB18030-only one.
        assert_eq!(&encode(Enc::Gbk, "a\u{E000}b")[..], b"a?b");
        assert_eq!(&encode(Enc::Gbk, "a\u{1E3F}b")[..], b"a?b");
        assert_eq!(&encode(Enc::Gbk, "\u{2E81}支")[..], b"?\xD6\xA7");
        assert_eq!(&encode(Enc::Gbk, "€")[..], b"\x80");
    }

    #[test]
    fn text_is_cut_on_character_boundaries() {
        let mut a = [1 as c_char; 8];
        let mut w = Writer::new(Enc::Utf8);
        w.text(&mut a, "支付成功"); // 12 bytes; 7 fit → 2 characters (6 bytes)
        assert!(w.truncated);
        let s = from_array(Enc::Utf8, &a, "a").unwrap();
        assert_eq!(s, "支付");
        let mut w = Writer::new(Enc::Gbk);
        let mut a = [1 as c_char; 6];
        w.text(&mut a, "a支付成功"); // a + 2×2 bytes fit in 5
        assert_eq!(from_array(Enc::Gbk, &a, "a").unwrap(), "a支付");
        let mut w = Writer::new(Enc::Utf8);
        let mut a = [1 as c_char; 4];
        assert!(w.id(&mut a, "1234", "trans_seq").is_err());
        assert!(w.id(&mut a, "123", "trans_seq").is_ok());
        assert!(!w.truncated);
    }

    #[test]
    fn arrays_need_their_nul() {
        let a = [b'x' as c_char; 4];
        assert_eq!(
            from_array(Enc::Utf8, &a, "goods_id").unwrap_err().code,
            YSTPAY_ERR_INVALID_ARGUMENT
        );
    }
}
