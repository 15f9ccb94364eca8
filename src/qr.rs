//! QR codes for the `pay_url` of a native (5.1), JS (6.1) or H5 (7.1) order,
//! in the forms a cash register can show or print.
//!
//! | form | for | function |
//! |---|---|---|
//! | PNG | anything that shows images | [`QrImage::to_png`] |
//! | BMP, 1-bit or 24-bit, uncompressed | Delphi `TImage`, PowerBuilder picture control, VB6 `LoadPicture` — no extra library | [`QrImage::to_bmp`] |
//! | ESC/POS raster (`GS v 0`) | thermal receipt printers | [`QrImage::to_escpos`] |
//! | text | terminals, logs | [`QrImage::to_text`] |
//!
//! Every form keeps the quiet zone of four light modules that the QR
//! standard asks for: phones read a code without it badly or not at all.
//!
//! ```
//! let qr = ystpay::qr::QrImage::encode("weixin://wxpay/bizpayurl?pr=jLbHdkp").unwrap();
//! let png = qr.to_png(8).unwrap();
//! assert_eq!(&png[1..4], b"PNG");
//! let bmp = qr.to_bmp(8, ystpay::qr::BmpDepth::Mono);
//! assert_eq!(&bmp[..2], b"BM");
//! ```

use std::path::Path;

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code on every side (ISO/IEC 18004: 4).
pub const QUIET_ZONE: usize = 4;

/// Largest scale accepted (pixels or printer dots per module).
pub const MAX_SCALE: u32 = 64;

/// Why a QR code could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrError {
    /// The text is empty.
    Empty,
    /// The text does not fit in the largest QR code.
    TooLong(usize),
    /// The scale is 0 or above [`MAX_SCALE`].
    BadScale(u32),
    /// The image is wider than the printer (ESC/POS) can print.
    TooWide {
        /// Dots the image needs.
        needed: u32,
        /// Dots the printer has.
        available: u32,
    },
    /// The image could not be encoded or written.
    Io(String),
}

impl std::fmt::Display for QrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QrError::Empty => f.write_str("nothing to encode: the text is empty"),
            QrError::TooLong(n) => write!(f, "{n} bytes do not fit in a QR code"),
            QrError::BadScale(s) => write!(f, "scale must be 1 to {MAX_SCALE}, not {s}"),
            QrError::TooWide { needed, available } => write!(
                f,
                "the QR code needs {needed} dots but the printer has {available}"
            ),
            QrError::Io(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for QrError {}

/// How [`QrImage::to_text`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextStyle {
    /// Unicode half blocks (`▀▄█`), two module rows per line. The *light*
    /// modules are drawn, so the code reads right on the usual dark
    /// terminal background (as `qrencode -t UTF8` does).
    HalfBlocks,
    /// Unicode half blocks with the *dark* modules drawn, for terminals
    /// with a light background.
    HalfBlocksLight,
    /// `##` for a dark module and two spaces for a light one: any font, any
    /// code page (GBK consoles included), twice as tall as `HalfBlocks`.
    Ascii,
}

/// Pixel depth of a BMP file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmpDepth {
    /// 1 bit per pixel with a two-colour palette (smallest file).
    Mono,
    /// 24 bits per pixel, no palette (what the oldest readers handle best).
    Rgb24,
}

/// A QR code as a square of dark and light modules, quiet zone included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrImage {
    size: usize,
    dark: Vec<bool>,
}

impl QrImage {
    /// Encodes `text` with error correction level M (15 %: survives a
    /// smudged receipt; the level the payment apps' own codes use).
    pub fn encode(text: &str) -> Result<QrImage, QrError> {
        if text.is_empty() {
            return Err(QrError::Empty);
        }
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|_| QrError::TooLong(text.len()))?;
        let inner = code.width();
        let size = inner + 2 * QUIET_ZONE;
        let mut dark = vec![false; size * size];
        for (i, c) in code.to_colors().into_iter().enumerate() {
            let (x, y) = (i % inner, i / inner);
            dark[(y + QUIET_ZONE) * size + x + QUIET_ZONE] = c == Color::Dark;
        }
        Ok(QrImage { size, dark })
    }

    /// Modules per side, quiet zone included.
    pub fn size(&self) -> usize {
        self.size
    }

    /// True when the module at column `x`, row `y` is dark (out of range: light).
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }

    /// Pixels per side at `scale` pixels per module.
    pub fn pixels(&self, scale: u32) -> u32 {
        self.size as u32 * scale
    }

    fn check_scale(scale: u32) -> Result<(), QrError> {
        if scale == 0 || scale > MAX_SCALE {
            Err(QrError::BadScale(scale))
        } else {
            Ok(())
        }
    }

    /// Packs one row of pixels, `1` = dark, most significant bit first,
    /// padded to whole bytes with light pixels.
    fn packed_row(&self, y_px: u32, scale: u32, dark_bit: bool) -> Vec<u8> {
        let w = self.pixels(scale);
        let mut row = vec![0u8; w.div_ceil(8) as usize];
        let y = (y_px / scale) as usize;
        for x_px in 0..w {
            let bit = self.is_dark((x_px / scale) as usize, y) == dark_bit;
            if bit {
                row[(x_px / 8) as usize] |= 0x80 >> (x_px % 8);
            }
        }
        row
    }

    /// A PNG image (1-bit greyscale), `scale` pixels per module.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, QrError> {
        Self::check_scale(scale)?;
        let w = self.pixels(scale);
        let mut data = Vec::with_capacity((w.div_ceil(8) * w) as usize);
        for y in 0..w {
            // PNG greyscale: 1 = white, so the light pixels carry the bit.
            data.extend(self.packed_row(y, scale, false));
        }
        let mut out = Vec::new();
        let io = |e: png::EncodingError| QrError::Io(format!("PNG: {e}"));
        {
            let mut enc = png::Encoder::new(&mut out, w, w);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            let mut writer = enc.write_header().map_err(io)?;
            writer.write_image_data(&data).map_err(io)?;
            writer.finish().map_err(io)?;
        }
        Ok(out)
    }

    /// An uncompressed Windows bitmap (`BITMAPFILEHEADER` +
    /// `BITMAPINFOHEADER`, rows bottom-up and padded to 4 bytes, 96 dpi),
    /// `scale` pixels per module (clamped to 1..=[`MAX_SCALE`]). Loads in
    /// Delphi's `TImage`, PowerBuilder's picture control and VB6's
    /// `LoadPicture` without any extra library.
    pub fn to_bmp(&self, scale: u32, depth: BmpDepth) -> Vec<u8> {
        let scale = scale.clamp(1, MAX_SCALE);
        let w = self.pixels(scale);
        let (bits, palette_len): (u16, u32) = match depth {
            BmpDepth::Mono => (1, 2),
            BmpDepth::Rgb24 => (24, 0),
        };
        let row_bytes = (w * u32::from(bits)).div_ceil(32) * 4;
        let image_size = row_bytes * w;
        let offset = 14 + 40 + palette_len * 4;
        let mut b = Vec::with_capacity((offset + image_size) as usize);
        // BITMAPFILEHEADER
        b.extend_from_slice(b"BM");
        b.extend_from_slice(&(offset + image_size).to_le_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&offset.to_le_bytes());
        // BITMAPINFOHEADER
        b.extend_from_slice(&40u32.to_le_bytes());
        b.extend_from_slice(&(w as i32).to_le_bytes());
        b.extend_from_slice(&(w as i32).to_le_bytes()); // positive: bottom-up
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // BI_RGB
        b.extend_from_slice(&image_size.to_le_bytes());
        b.extend_from_slice(&3780i32.to_le_bytes()); // 96 dpi
        b.extend_from_slice(&3780i32.to_le_bytes());
        b.extend_from_slice(&palette_len.to_le_bytes());
        b.extend_from_slice(&palette_len.to_le_bytes());
        if depth == BmpDepth::Mono {
            // Palette (B, G, R, 0): index 0 black, index 1 white.
            b.extend_from_slice(&[0, 0, 0, 0, 255, 255, 255, 0]);
        }
        for y in (0..w).rev() {
            let start = b.len();
            match depth {
                BmpDepth::Mono => b.extend(self.packed_row(y, scale, false)),
                BmpDepth::Rgb24 => {
                    let my = (y / scale) as usize;
                    for x in 0..w {
                        let v = if self.is_dark((x / scale) as usize, my) {
                            0
                        } else {
                            255
                        };
                        b.extend_from_slice(&[v, v, v]);
                    }
                }
            }
            b.resize(start + row_bytes as usize, 0);
        }
        b
    }

    /// The ESC/POS raster command `GS v 0` (`1D 76 30 00 xL xH yL yH d…`)
    /// that prints this code with `dots` printer dots per module; bit 1 =
    /// black. `max_width` is the printer's width in dots (384 for 58 mm
    /// paper, 576 for 80 mm); a code wider than that is refused rather than
    /// printed cut off.
    pub fn to_escpos(&self, dots: u32, max_width: u32) -> Result<Vec<u8>, QrError> {
        Self::check_scale(dots)?;
        let w = self.pixels(dots);
        if w > max_width {
            return Err(QrError::TooWide {
                needed: w,
                available: max_width,
            });
        }
        let xbytes = w.div_ceil(8);
        let mut b = Vec::with_capacity(8 + (xbytes * w) as usize);
        b.extend_from_slice(&[0x1D, 0x76, 0x30, 0x00]);
        b.extend_from_slice(&(xbytes as u16).to_le_bytes());
        b.extend_from_slice(&(w as u16).to_le_bytes());
        for y in 0..w {
            b.extend(self.packed_row(y, dots, true));
        }
        Ok(b)
    }

    /// The largest whole number of dots per module with which the code fits
    /// in `max_width` dots, at most 8 (`None` when even 1 does not fit).
    pub fn escpos_dots_for(&self, max_width: u32) -> Option<u32> {
        let d = (max_width / self.size as u32).min(8);
        (d >= 1).then_some(d)
    }

    /// The code as text, one line per output row, each ending in `\n`.
    pub fn to_text(&self, style: TextStyle) -> String {
        let n = self.size;
        let mut s = String::new();
        match style {
            TextStyle::Ascii => {
                for y in 0..n {
                    for x in 0..n {
                        s.push_str(if self.is_dark(x, y) { "##" } else { "  " });
                    }
                    s.push('\n');
                }
            }
            TextStyle::HalfBlocks | TextStyle::HalfBlocksLight => {
                let draw_dark = style == TextStyle::HalfBlocksLight;
                for y in (0..n).step_by(2) {
                    for x in 0..n {
                        let top = self.is_dark(x, y) == draw_dark;
                        // Below the last row: background, i.e. not drawn.
                        let bottom = y + 1 < n && self.is_dark(x, y + 1) == draw_dark;
                        s.push(match (top, bottom) {
                            (true, true) => '█',
                            (true, false) => '▀',
                            (false, true) => '▄',
                            (false, false) => ' ',
                        });
                    }
                    s.push('\n');
                }
            }
        }
        s
    }

    /// Writes [`QrImage::to_png`] to `path`.
    pub fn write_png(&self, path: &Path, scale: u32) -> Result<(), QrError> {
        write_file(path, &self.to_png(scale)?)
    }

    /// Writes [`QrImage::to_bmp`] to `path`.
    pub fn write_bmp(&self, path: &Path, scale: u32, depth: BmpDepth) -> Result<(), QrError> {
        write_file(path, &self.to_bmp(scale, depth))
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), QrError> {
    crate::files::write_whole(path, bytes)
        .map_err(|e| QrError::Io(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "weixin://wxpay/bizpayurl?pr=jLbHdkp";

    fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
    }

    #[test]
    fn has_a_quiet_zone_and_finder_patterns() {
        let q = QrImage::encode(URL).unwrap();
        let n = q.size();
        assert!(n >= 21 + 2 * QUIET_ZONE);
        for i in 0..n {
            for z in 0..QUIET_ZONE {
                assert!(!q.is_dark(i, z) && !q.is_dark(z, i));
                assert!(!q.is_dark(i, n - 1 - z) && !q.is_dark(n - 1 - z, i));
            }
        }
        // Top-left finder: a 7×7 dark ring starting at the quiet zone.
        for i in 0..7 {
            assert!(q.is_dark(QUIET_ZONE + i, QUIET_ZONE));
            assert!(q.is_dark(QUIET_ZONE, QUIET_ZONE + i));
        }
        assert!(!q.is_dark(QUIET_ZONE + 1, QUIET_ZONE + 1));
        assert!(!q.is_dark(n, 0));
    }

    #[test]
    fn refuses_what_it_cannot_encode() {
        assert_eq!(QrImage::encode(""), Err(QrError::Empty));
        let huge = "x".repeat(5000);
        assert_eq!(QrImage::encode(&huge), Err(QrError::TooLong(5000)));
        let q = QrImage::encode(URL).unwrap();
        assert_eq!(q.to_png(0), Err(QrError::BadScale(0)));
        assert!(matches!(q.to_escpos(20, 384), Err(QrError::TooWide { .. })));
    }

    #[test]
    fn mono_bmp_layout() {
        let q = QrImage::encode(URL).unwrap();
        let scale = 3;
        let w = q.pixels(scale);
        let b = q.to_bmp(scale, BmpDepth::Mono);
        let row = (w.div_ceil(32) * 4) as usize;
        assert_eq!(&b[..2], b"BM");
        assert_eq!(u32_at(&b, 2) as usize, b.len());
        assert_eq!(u32_at(&b, 10), 14 + 40 + 8);
        assert_eq!(u32_at(&b, 14), 40);
        assert_eq!(u32_at(&b, 18), w);
        assert_eq!(u32_at(&b, 22), w);
        assert_eq!(u16::from_le_bytes([b[26], b[27]]), 1);
        assert_eq!(u16::from_le_bytes([b[28], b[29]]), 1);
        assert_eq!(u32_at(&b, 30), 0, "BI_RGB: uncompressed");
        assert_eq!(u32_at(&b, 34) as usize, row * w as usize);
        assert_eq!(&b[54..62], &[0, 0, 0, 0, 255, 255, 255, 0]);
        assert_eq!(b.len(), 62 + row * w as usize);
        // The last stored row is the top of the image: quiet zone, all white
        // (bit 1 = palette index 1 = white) up to the padding.
        let top = &b[b.len() - row..];
        assert!(top[..(w / 8) as usize].iter().all(|&x| x == 0xFF));
        // Row of the top-left finder's first line: starts white (quiet
        // zone), then black.
        let y = QUIET_ZONE as u32 * scale;
        let stored = 62 + (w - 1 - y) as usize * row;
        let first_dark_px = QUIET_ZONE as u32 * scale;
        let bit = |px: u32| b[stored + (px / 8) as usize] & (0x80 >> (px % 8)) != 0;
        assert!(bit(first_dark_px - 1), "quiet zone is white");
        assert!(!bit(first_dark_px), "finder is black");
    }

    #[test]
    fn rgb24_bmp_layout() {
        let q = QrImage::encode(URL).unwrap();
        let w = q.pixels(1);
        let b = q.to_bmp(1, BmpDepth::Rgb24);
        let row = ((w * 3).div_ceil(4) * 4) as usize;
        assert_eq!(u32_at(&b, 10), 54);
        assert_eq!(u16::from_le_bytes([b[28], b[29]]), 24);
        assert_eq!(u32_at(&b, 46), 0, "no palette");
        assert_eq!(b.len(), 54 + row * w as usize);
        // Pixel (4, 4) from the top is the finder's corner: black.
        let y = QUIET_ZONE as u32;
        let at = 54 + (w - 1 - y) as usize * row + QUIET_ZONE * 3;
        assert_eq!(&b[at..at + 3], &[0, 0, 0]);
        assert_eq!(&b[at - 3..at], &[255, 255, 255]);
        // Padding bytes are zero.
        let pad = row - (w * 3) as usize;
        if pad > 0 {
            assert!(b[54 + row - pad..54 + row].iter().all(|&x| x == 0));
        }
    }

    #[test]
    fn escpos_raster_command() {
        let q = QrImage::encode(URL).unwrap();
        let dots = q.escpos_dots_for(384).unwrap();
        let w = q.pixels(dots);
        let b = q.to_escpos(dots, 384).unwrap();
        let xbytes = w.div_ceil(8);
        assert_eq!(&b[..4], &[0x1D, 0x76, 0x30, 0x00]);
        assert_eq!(u16::from_le_bytes([b[4], b[5]]) as u32, xbytes);
        assert_eq!(u16::from_le_bytes([b[6], b[7]]) as u32, w);
        assert_eq!(b.len() as u32, 8 + xbytes * w);
        // First row: quiet zone, nothing printed.
        assert!(b[8..8 + xbytes as usize].iter().all(|&x| x == 0));
        // Row through the finder's top edge: its first dot is printed (bit 1 = black).
        let y = (QUIET_ZONE as u32) * dots;
        let px = (QUIET_ZONE as u32) * dots;
        let byte = b[8 + (y * xbytes + px / 8) as usize];
        assert_ne!(byte & (0x80 >> (px % 8)), 0);
    }

    #[test]
    fn text_forms() {
        let q = QrImage::encode(URL).unwrap();
        let n = q.size();
        let ascii = q.to_text(TextStyle::Ascii);
        assert_eq!(ascii.lines().count(), n);
        assert!(ascii.lines().all(|l| l.len() == 2 * n));
        let blocks = q.to_text(TextStyle::HalfBlocks);
        assert_eq!(blocks.lines().count(), n.div_ceil(2));
        assert!(blocks.lines().all(|l| l.chars().count() == n));
        // Quiet zone drawn as light = full blocks in the dark-terminal style.
        assert!(blocks.lines().next().unwrap().chars().all(|c| c == '█'));
        let light = q.to_text(TextStyle::HalfBlocksLight);
        assert!(light.lines().next().unwrap().chars().all(|c| c == ' '));
    }
}
