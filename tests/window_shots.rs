//! The photographs of the payment window's QR code (docs/window-qr-*.png,
//! taken under Wine in Xvfb by scripts/ci-windows.sh) hold a code a phone
//! can read: the independent decoder (`rqrr`, as tests/qr_decode.rs) finds
//! one code, with the simulator's native `pay_url`, at least 240 device
//! pixels a side (API §5.1; issue 19 §2).

/// The picture as greyscale rows.
fn grey(path: &str) -> (usize, usize, Vec<u8>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &buf[y * info.line_size..];
        for x in 0..w {
            let px = &row[x * channels..x * channels + channels];
            let v = if channels >= 3 {
                (u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2])) / 3
            } else {
                u32::from(px[0])
            };
            out.push(v as u8);
        }
    }
    (w, h, out)
}

#[test]
fn the_photographed_qr_codes_decode() {
    for (dpi, min_side) in [(96, 240.0), (144, 360.0)] {
        let path = format!("{}/docs/window-qr-{dpi}.png", env!("CARGO_MANIFEST_DIR"));
        let (w, h, px) = grey(&path);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1, "{path}: expected one QR code");
        let (_, text) = grids[0].decode().expect("decodes");
        assert!(
            text.starts_with("weixin://wxpay/bizpayurl?pr="),
            "{path}: {text}"
        );
        // The code's corners, quiet zone aside: at least 240 pixels a side
        // at 96 DPI, 360 at 144.
        let b = grids[0].bounds;
        let side = (f64::from(b[1].x - b[0].x)).hypot(f64::from(b[1].y - b[0].y));
        assert!(side >= min_side - 2.0, "{path}: {side} px a side");
    }
}
