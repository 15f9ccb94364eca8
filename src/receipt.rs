//! Receipts: the `<receipts><line>…</line></receipts>` lines a payment or
//! refund answer carries (API §2.6.1, §4.1 `receipts`), as lines, as text in
//! UTF-8 or GBK, and as ESC/POS bytes ready for a thermal printer.
//!
//! The platform sends the merchant's copy (【商户联】) and the customer's copy
//! (【用户联】) in one list, each starting with the same title line
//! (`----微信支付交易小票-----`, the number of dashes may differ).
//! [`Receipt::copies`] splits them so a printer can cut between them.
//!
//! ```
//! use ystpay::receipt::{EscPosOptions, Receipt};
//! let r = Receipt::new(vec!["-----微信支付交易小票-----".into(), "交易金额：0.01元".into()]);
//! let bytes = r.to_escpos(&EscPosOptions::default());
//! assert_eq!(&bytes[..2], &[0x1B, 0x40]); // ESC @: initialise the printer
//! ```

use crate::text::Encoding;

/// Receipt lines as the platform sent them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    lines: Vec<String>,
}

/// What [`Receipt::to_escpos`] adds around the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscPosOptions {
    /// Send `FS &` to select Chinese (double-byte GBK) character mode. Chinese
    /// printers start in it, but a printer switched to another mode by an
    /// earlier job prints GBK as garbage without it. Default true.
    pub chinese_mode: bool,
    /// Blank lines fed before each cut, so the text clears the cutter (default 4).
    pub feed_lines: u8,
    /// Cut the paper after each copy (`GS V 66 0`: feed to the cutter and
    /// cut). Printers without a cutter ignore it. Default true.
    pub cut: bool,
    /// Cut between the merchant's and the customer's copy (when
    /// [`Receipt::copies`] finds more than one), not only at the end.
    /// Default true.
    pub cut_between_copies: bool,
    /// Bytes printed after the text of the last copy, before its cut: e.g. a
    /// QR code from [`crate::qr::QrImage::to_escpos`]. Centred.
    pub trailer: Vec<u8>,
}

impl Default for EscPosOptions {
    fn default() -> Self {
        EscPosOptions {
            chinese_mode: true,
            feed_lines: 4,
            cut: true,
            cut_between_copies: true,
            trailer: Vec::new(),
        }
    }
}

/// `ESC @`: initialise the printer.
pub const ESC_INIT: [u8; 2] = [0x1B, 0x40];
/// `FS &`: select Chinese character mode.
pub const FS_CHINESE: [u8; 2] = [0x1C, 0x26];
/// `GS V 66 0`: feed to the cutting position and cut (partial cut).
pub const GS_CUT: [u8; 4] = [0x1D, 0x56, 0x42, 0x00];

impl Receipt {
    /// Wraps the lines of an answer's `receipts`.
    pub fn new(lines: Vec<String>) -> Receipt {
        Receipt { lines }
    }

    /// The lines, unchanged.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// True when there is nothing to print.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    /// The copies: a new copy starts at each later line whose text, without
    /// dashes and spaces, equals the first line's (the title). Blank lines at
    /// the end of a copy are dropped. One copy when no title repeats.
    pub fn copies(&self) -> Vec<Receipt> {
        let title = |l: &str| -> String {
            l.chars()
                .filter(|c| !c.is_whitespace() && *c != '-' && *c != '－')
                .collect()
        };
        let Some(first) = self.lines.iter().find(|l| !l.trim().is_empty()) else {
            return Vec::new();
        };
        let t = title(first);
        let mut out: Vec<Vec<String>> = vec![Vec::new()];
        for l in &self.lines {
            let is_title = !t.is_empty() && title(l) == t;
            let current_has_text = out
                .last()
                .is_some_and(|c| c.iter().any(|x| !x.trim().is_empty()));
            if is_title && current_has_text {
                out.push(Vec::new());
            }
            if let Some(c) = out.last_mut() {
                c.push(l.clone());
            }
        }
        out.into_iter()
            .map(|mut c| {
                while c.last().is_some_and(|l| l.trim().is_empty()) {
                    c.pop();
                }
                Receipt::new(c)
            })
            .collect()
    }

    /// The lines joined with `\n`, each line ending in one.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }

    /// The text in `encoding`, lines ending in `\r\n` (what Windows programs
    /// and printer drivers expect). In GBK a character GBK lacks becomes `?`.
    pub fn encode(&self, encoding: Encoding) -> Vec<u8> {
        let mut out = Vec::new();
        for l in &self.lines {
            out.extend(encode_text(l, encoding));
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Bytes for an ESC/POS thermal printer: `ESC @`, `FS &` (see
    /// [`EscPosOptions::chinese_mode`]), each line in GBK ending in `LF`,
    /// then feed and cut per copy (see [`EscPosOptions`]). Control
    /// characters inside a line are replaced by spaces so that the platform's
    /// text can never issue a printer command.
    pub fn to_escpos(&self, opts: &EscPosOptions) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&ESC_INIT);
        if opts.chinese_mode {
            b.extend_from_slice(&FS_CHINESE);
        }
        let copies = if opts.cut_between_copies {
            self.copies()
        } else {
            vec![self.clone()]
        };
        let n = copies.len();
        for (i, copy) in copies.iter().enumerate() {
            for l in &copy.lines {
                let clean: String = l
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                b.extend(encode_text(&clean, Encoding::Gbk));
                b.push(b'\n');
            }
            if i + 1 == n && !opts.trailer.is_empty() {
                b.extend_from_slice(&[0x1B, 0x61, 0x01]); // ESC a 1: centre
                b.extend_from_slice(&opts.trailer);
                b.push(b'\n');
                b.extend_from_slice(&[0x1B, 0x61, 0x00]); // ESC a 0: left
            }
            if opts.feed_lines > 0 {
                b.extend_from_slice(&[0x1B, 0x64, opts.feed_lines]); // ESC d n
            }
            if opts.cut {
                b.extend_from_slice(&GS_CUT);
            }
        }
        if n == 0 && !opts.trailer.is_empty() {
            b.extend_from_slice(&[0x1B, 0x61, 0x01]);
            b.extend_from_slice(&opts.trailer);
            b.extend_from_slice(&[b'\n', 0x1B, 0x61, 0x00]);
            if opts.feed_lines > 0 {
                b.extend_from_slice(&[0x1B, 0x64, opts.feed_lines]);
            }
            if opts.cut {
                b.extend_from_slice(&GS_CUT);
            }
        }
        b
    }
}

impl From<Vec<String>> for Receipt {
    fn from(lines: Vec<String>) -> Self {
        Receipt::new(lines)
    }
}

/// Decodes GBK bytes leniently (moved to [`crate::text`]; kept here for
/// callers that found it here).
pub use crate::text::decode_gbk;

/// `text` in `encoding`: strict code page 936 for GBK, a character it
/// lacks becoming `?` ([`crate::text::encode`]).
fn encode_text(text: &str, encoding: Encoding) -> Vec<u8> {
    crate::text::encode(encoding, text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API document's example receipt (2.6.1), both copies.
    fn seed() -> Receipt {
        Receipt::new(
            [
                "----微信支付交易小票-----",
                "      【商户联】",
                "交易时间：2015-04-17 11:10:51",
                "交易流水：15041711103000029582",
                "交易金额：0.01元",
                "交易门店：金堂一店",
                "操作员：sp004",
                " ",
                " ",
                "-----微信支付交易小票-----",
                "      【用户联】",
                "交易时间: 2015-04-17 11:10:51",
                "交易流水: 15041711103000029582",
                "交易金额: 0.01元",
                "交易门店: 金堂一店",
                "操作员: sp004",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        )
    }

    #[test]
    fn splits_the_seed_receipt_into_two_copies() {
        let copies = seed().copies();
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0].lines().len(), 7, "trailing blank lines dropped");
        assert!(copies[0].lines()[1].contains("商户联"));
        assert!(copies[1].lines()[1].contains("用户联"));
        assert_eq!(Receipt::default().copies(), Vec::<Receipt>::new());
        let one = Receipt::new(vec!["退款小票".into(), "金额 1.00".into()]);
        assert_eq!(one.copies(), vec![one.clone()]);
    }

    #[test]
    fn gbk_bytes() {
        // 微 = CE A2, 信 = D0 C5 in GBK.
        assert_eq!(
            encode_text("微信 ok", Encoding::Gbk),
            b"\xCE\xA2\xD0\xC5 ok"
        );
        assert_eq!(encode_text("微", Encoding::Utf8), "微".as_bytes());
        // An emoji has no GBK form.
        assert_eq!(encode_text("a😀b", Encoding::Gbk), b"a?b");
        assert_eq!(decode_gbk(b"\xCE\xA2\xD0\xC5"), "微信");
        let text = seed().encode(Encoding::Gbk);
        assert!(text.ends_with(b"sp004\r\n"));
        assert_eq!(decode_gbk(&text), seed().to_text().replace('\n', "\r\n"));
    }

    /// Receipts print as before for text code page 936 holds: the strict
    /// encoder ([`crate::text::encode`]) writes the bytes WHATWG's GBK, the
    /// receipts' encoder until 0.3.0, wrote. Only what 936 lacks differs (`?`).
    #[test]
    fn cp936_text_prints_as_before() {
        let mut lines = seed().lines().to_vec();
        lines.push("【商户联】交易金额：￥0.01元 · 退款原因：顾客退货€".into());
        for l in &lines {
            let (whatwg, _, unmappable) = encoding_rs::GBK.encode(l);
            assert!(!unmappable, "{l}");
            assert_eq!(encode_text(l, Encoding::Gbk), &whatwg[..], "{l}");
        }
        let r = Receipt::new(lines);
        let before: Vec<u8> = r
            .lines()
            .iter()
            .flat_map(|l| {
                let mut b = encoding_rs::GBK.encode(l).0.into_owned();
                b.extend_from_slice(b"\r\n");
                b
            })
            .collect();
        assert_eq!(r.encode(Encoding::Gbk), before);
        // ḿ has a GB18030 code (A8BC) that code page 936 lacks.
        assert_eq!(encode_text("aḿb", Encoding::Gbk), b"a?b");
    }

    #[test]
    fn escpos_bytes() {
        let b = seed().to_escpos(&EscPosOptions::default());
        assert_eq!(&b[..4], &[0x1B, 0x40, 0x1C, 0x26]);
        let cut = [0x1B, 0x64, 4, 0x1D, 0x56, 0x42, 0x00];
        let cuts = b.windows(cut.len()).filter(|w| *w == cut).count();
        assert_eq!(cuts, 2, "one cut per copy");
        assert!(b.ends_with(&cut));
        // GBK text with LF line ends.
        let amount = encode_text("交易金额：0.01元\n", Encoding::Gbk);
        assert!(b.windows(amount.len()).any(|w| w == amount.as_slice()));
        assert!(!b.windows(3).any(|w| w == "微".as_bytes()), "no UTF-8 left");

        let plain = seed().to_escpos(&EscPosOptions {
            chinese_mode: false,
            cut: false,
            cut_between_copies: false,
            feed_lines: 0,
            trailer: vec![0xAA],
        });
        assert_eq!(&plain[..2], &ESC_INIT);
        assert_ne!(&plain[2..4], &FS_CHINESE);
        assert!(plain.ends_with(&[0x1B, 0x61, 0x01, 0xAA, b'\n', 0x1B, 0x61, 0x00]));
    }

    #[test]
    fn control_characters_cannot_reach_the_printer() {
        let r = Receipt::new(vec!["a\u{1b}@b\u{1d}V".into()]);
        let b = r.to_escpos(&EscPosOptions {
            cut: false,
            feed_lines: 0,
            ..EscPosOptions::default()
        });
        assert_eq!(&b[4..], b"a @b V\n");
    }
}
