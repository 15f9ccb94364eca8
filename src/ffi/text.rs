//! Strings across the boundary: NUL-terminated, UTF-8 by default or GBK
//! (strict code page 936, see [`crate::text`]) per client, into Rust
//! `String`s and back into caller buffers and fixed `char` arrays.

use std::ffi::CStr;
use std::os::raw::c_char;

use super::codes::*;
use super::error::Failure;

/// A client's string encoding: the library's one [`crate::text::Encoding`]
/// under the name the C ABI's code has always used.
pub use crate::text::Encoding as Enc;
/// Strict code page 936 ([`crate::text`]), re-exported where the C ABI's
/// callers and tests have found them.
pub use crate::text::{cp936_lacks, decode, encode};

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
