//! QR codes decode back to the same text with an independent decoder
//! (`rqrr`), from every form the library writes: PNG (read back with the
//! `png` decoder), BMP (read by hand from its headers), ESC/POS raster and
//! terminal text.

use ystpay::qr::{BmpDepth, QrImage, TextStyle};

const URLS: &[&str] = &[
    // The API document's examples (5.1 native pay_url, 7.1 H5 pay_info).
    "weixin://wxpay/bizpayurl?pr=jLbHdkp",
    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx20171122103456f64260ef020009468000&package=1630946716&redirect_url=http%3A%2F%2Fxxx.com%2Fcall.html",
    "https://qr.alipay.com/bax01234567890abcdefghij",
];

/// Decodes a greyscale picture (`true` = dark) with rqrr; exactly one code.
fn decode(w: usize, h: usize, dark: impl Fn(usize, usize) -> bool) -> String {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| if dark(x, y) { 0 } else { 255 });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    grids[0].decode().expect("decodes").1
}

#[test]
fn png_decodes_to_the_same_url() {
    for url in URLS {
        let qr = QrImage::encode(url).unwrap();
        let bytes = qr.to_png(4).unwrap();
        let dir = std::env::temp_dir().join(format!("ystpay-qr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("code.png");
        qr.write_png(&path, 4).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        let _ = std::fs::remove_dir_all(&dir);

        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let (w, h) = (info.width as usize, info.height as usize);
        assert_eq!(w, qr.pixels(4) as usize);
        let text = decode(w, h, |x, y| buf[y * info.line_size + x] < 128);
        assert_eq!(&text, url);
    }
}

fn le32(b: &[u8], i: usize) -> usize {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize
}

/// Reads an uncompressed bottom-up BMP the way a Windows image loader does.
fn bmp_pixels(b: &[u8]) -> (usize, usize, Vec<bool>) {
    assert_eq!(&b[..2], b"BM");
    let offset = le32(b, 10);
    let (w, h) = (le32(b, 18), le32(b, 22));
    let bits = u16::from_le_bytes([b[28], b[29]]) as usize;
    assert_eq!(le32(b, 30), 0, "BI_RGB");
    let row = (w * bits).div_ceil(32) * 4;
    let mut px = vec![false; w * h];
    for y in 0..h {
        let r = &b[offset + (h - 1 - y) * row..];
        for x in 0..w {
            px[y * w + x] = match bits {
                1 => {
                    let index = (r[x / 8] >> (7 - x % 8)) & 1;
                    // Palette entry (B, G, R, 0) → dark when black.
                    b[54 + 4 * index as usize] < 128
                }
                24 => r[3 * x] < 128,
                _ => panic!("unexpected depth {bits}"),
            };
        }
    }
    (w, h, px)
}

#[test]
fn bmp_decodes_to_the_same_url() {
    for depth in [BmpDepth::Mono, BmpDepth::Rgb24] {
        for url in URLS {
            let qr = QrImage::encode(url).unwrap();
            let (w, h, px) = bmp_pixels(&qr.to_bmp(3, depth));
            assert_eq!(decode(w, h, |x, y| px[y * w + x]), *url);
        }
    }
}

#[test]
fn escpos_raster_decodes_to_the_same_url() {
    for url in URLS {
        let qr = QrImage::encode(url).unwrap();
        let dots = qr.escpos_dots_for(576).unwrap();
        let b = qr.to_escpos(dots, 576).unwrap();
        let xbytes = u16::from_le_bytes([b[4], b[5]]) as usize;
        let h = u16::from_le_bytes([b[6], b[7]]) as usize;
        let w = qr.pixels(dots) as usize;
        let data = &b[8..];
        let text = decode(w, h, |x, y| {
            data[y * xbytes + x / 8] & (0x80 >> (x % 8)) != 0
        });
        assert_eq!(&text, url);
    }
}

#[test]
fn terminal_text_decodes_to_the_same_url() {
    for url in URLS {
        let qr = QrImage::encode(url).unwrap();
        // ASCII: "##" = dark.
        let rows: Vec<Vec<bool>> = qr
            .to_text(TextStyle::Ascii)
            .lines()
            .map(|l| l.as_bytes().chunks(2).map(|c| c == b"##").collect())
            .collect();
        let n = rows.len();
        let scale = 4;
        let text = decode(n * scale, n * scale, |x, y| rows[y / scale][x / scale]);
        assert_eq!(&text, url);

        // Half blocks for a dark terminal: drawn = light, so dark = not drawn.
        let mut grid: Vec<Vec<bool>> = Vec::new();
        for line in qr.to_text(TextStyle::HalfBlocks).lines() {
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for c in line.chars() {
                let (t, b) = match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    ' ' => (false, false),
                    other => panic!("unexpected {other:?}"),
                };
                top.push(!t);
                bottom.push(!b);
            }
            grid.push(top);
            grid.push(bottom);
        }
        let n = grid[0].len();
        let text = decode(n * scale, n * scale, |x, y| grid[y / scale][x / scale]);
        assert_eq!(&text, url);
    }
}
