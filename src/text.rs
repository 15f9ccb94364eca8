//! The library's text encodings, in one place: [`Encoding`] (UTF-8 or GBK),
//! strict code page 936 both ways ([`encode`], [`decode`]), and GBK bytes
//! read back leniently ([`decode_gbk`]). The C ABI's strings, the receipts
//! and the journal's CSV export all encode through [`encode`], so a
//! character that has no code page 936 code is `?` in every file and
//! printout, and refused where the C ABI reads strings (docs/DESIGN.md,
//! *Layers*: this module depends on nothing in the crate).
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
//! Text written in GBK (to a C caller, a receipt, the CSV export) is
//! encoded the same way: a character without a code in code page 936
//! becomes `?`, so a GB18030-only character never reaches a file.

use std::borrow::Cow;

/// A text encoding: of strings across the C boundary (the `encoding` key),
/// of the journal's CSV export, of receipt text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 (the default).
    #[default]
    Utf8,
    /// GBK: strict code page 936, what a Chinese Windows program's ANSI
    /// strings are.
    Gbk,
}

impl Encoding {
    /// Reads an encoding name as written in a configuration: `utf-8`
    /// (`utf8`, `65001`, empty) or `gbk` (`cp936`, `936`, `gb2312`).
    pub fn from_name(name: &str) -> Option<Encoding> {
        match name.trim().to_ascii_lowercase().as_str() {
            "" | "utf-8" | "utf8" | "65001" => Some(Encoding::Utf8),
            "gbk" | "cp936" | "936" | "gb2312" => Some(Encoding::Gbk),
            _ => None,
        }
    }

    /// `UTF-8` or `GBK`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Gbk => "GBK",
        }
    }
}

/// Encodes `s` (for a C caller, a file or a printer). GBK (code page 936) cannot hold every
/// character: those it cannot are written as `?`. UTF-8 is `s` itself (no
/// copy: a result record has some twenty texts).
pub fn encode(enc: Encoding, s: &str) -> Cow<'_, [u8]> {
    match enc {
        Encoding::Utf8 => Cow::Borrowed(s.as_bytes()),
        Encoding::Gbk => {
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
pub fn decode(enc: Encoding, bytes: &[u8]) -> Option<String> {
    match enc {
        Encoding::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_string),
        Encoding::Gbk => {
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

/// Decodes GBK bytes read back from a file or a Windows program, never
/// failing: what is not GBK becomes U+FFFD. For reading, not for checking
/// (checking is [`decode`]).
pub fn decode_gbk(bytes: &[u8]) -> String {
    let (text, _, _) = encoding_rs::GBK.decode(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding as Enc;

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
}
