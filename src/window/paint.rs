//! GDI drawing for the payment window: fonts scaled to the screen, text
//! bands, and the QR code as a bitmap (gdi32 and user32, Windows 2000+).

use windows_sys::Win32::Foundation::{HWND, RECT};
use windows_sys::Win32::Graphics::Gdi::*;

use super::model::Tone;
use super::win32::wide;
use crate::qr::{QrImage, QUIET_ZONE};

/// The screen's pixels per inch over 96: 1.0 at 96 DPI, 1.5 at 144. A
/// program Windows scales for DPI (not DPI-aware) is told 96 and its
/// window is enlarged by Windows itself; either way the window is the
/// same size to the eye.
pub(super) fn screen_scale() -> f32 {
    // SAFETY: the screen's DC, released at once.
    let dpi = unsafe {
        let dc = GetDC(std::ptr::null_mut());
        let dpi = GetDeviceCaps(dc, LOGPIXELSY as i32);
        ReleaseDC(std::ptr::null_mut(), dc);
        dpi
    };
    if dpi <= 0 {
        1.0
    } else {
        dpi as f32 / 96.0
    }
}

/// The window's fonts.
pub(super) struct Fonts {
    /// The amount.
    pub big: HFONT,
    /// The prompt.
    pub mid: HFONT,
    /// The button and the closing hint.
    pub small: HFONT,
    /// The edit box.
    pub edit: HFONT,
    /// The end: paid, or why not.
    pub result: HFONT,
}

impl Fonts {
    pub(super) fn new(scale: f32) -> Fonts {
        let f = |px: i32, weight: i32| {
            let face = wide("Microsoft YaHei");
            let h = -((px as f32 * scale).round() as i32);
            // SAFETY: a font by name; GDI falls back to a font that has
            // the charset when the face is missing.
            unsafe {
                CreateFontW(
                    h,
                    0,
                    0,
                    0,
                    weight,
                    0,
                    0,
                    0,
                    DEFAULT_CHARSET as u32,
                    OUT_DEFAULT_PRECIS as u32,
                    CLIP_DEFAULT_PRECIS as u32,
                    ANTIALIASED_QUALITY as u32,
                    (DEFAULT_PITCH as u32) | (FF_SWISS as u32),
                    face.as_ptr(),
                )
            }
        };
        Fonts {
            big: f(48, FW_BOLD as i32),
            mid: f(20, FW_NORMAL as i32),
            small: f(15, FW_NORMAL as i32),
            edit: f(22, FW_NORMAL as i32),
            result: f(32, FW_BOLD as i32),
        }
    }

    pub(super) fn free(&self) {
        for f in [self.big, self.mid, self.small, self.edit, self.result] {
            // SAFETY: our fonts, no longer selected anywhere.
            unsafe { DeleteObject(f) };
        }
    }
}

/// Fills the client area white.
///
/// # Safety
/// `hdc` is a paint DC.
pub(super) unsafe fn background(hdc: HDC, r: &RECT) {
    // SAFETY: a stock brush needs no freeing.
    unsafe { FillRect(hdc, r, GetStockObject(WHITE_BRUSH)) };
}

/// A thin grey square where the QR code will be.
///
/// # Safety
/// `hdc` is a paint DC.
pub(super) unsafe fn frame(hdc: HDC, r: &RECT) {
    // SAFETY: our brush, freed here.
    unsafe {
        let b = CreateSolidBrush(0x00c0_c0c0);
        FrameRect(hdc, r, b);
        DeleteObject(b);
    }
}

/// Draws `s` centred in `r`, wrapped on words.
///
/// # Safety
/// `hdc` is a paint DC; `font` a live font.
pub(super) unsafe fn text(hdc: HDC, font: HFONT, tone: Tone, s: &str, mut r: RECT) {
    let colour = match tone {
        Tone::Plain => 0x0020_2020,
        Tone::Good => 0x0030_8000, // COLORREF is 0x00BBGGRR: green
        Tone::Bad => 0x0020_20c0,  // red
    };
    let w: Vec<u16> = s.encode_utf16().collect();
    // SAFETY: caller contract; the old font is put back.
    unsafe {
        let old = SelectObject(hdc, font);
        SetBkMode(hdc, TRANSPARENT as i32);
        SetTextColor(hdc, colour);
        DrawTextW(
            hdc,
            w.as_ptr(),
            w.len() as i32,
            &mut r,
            DT_CENTER | DT_WORDBREAK | DT_NOPREFIX,
        );
        SelectObject(hdc, old);
    }
}

/// The QR code of a `pay_url` in a memory bitmap, quiet zone included,
/// each module a whole number of pixels (no blur for the phone's camera).
pub(super) struct QrBitmap {
    dc: HDC,
    bitmap: HBITMAP,
    old: HGDIOBJ,
    side: i32,
}

impl QrBitmap {
    /// The code itself (its quiet zone aside) at least `min_side` pixels a
    /// side; `None` when the URL does not fit a QR code or GDI has no
    /// memory.
    ///
    /// # Safety
    /// `hwnd` is a window of this thread.
    pub(super) unsafe fn new(hwnd: HWND, url: &str, min_side: i32) -> Option<QrBitmap> {
        let img = QrImage::encode(url).ok()?;
        let n = img.size() as i32;
        let inner = n - 2 * QUIET_ZONE as i32;
        let module = (min_side + inner - 1) / inner;
        let side = n * module;
        // SAFETY: GDI objects made here are freed in Drop (or below).
        unsafe {
            let wdc = GetDC(hwnd);
            let dc = CreateCompatibleDC(wdc);
            let bitmap = CreateCompatibleBitmap(wdc, side, side);
            ReleaseDC(hwnd, wdc);
            if dc.is_null() || bitmap.is_null() {
                if !dc.is_null() {
                    DeleteDC(dc);
                }
                if !bitmap.is_null() {
                    DeleteObject(bitmap);
                }
                return None;
            }
            let old = SelectObject(dc, bitmap);
            let all = RECT {
                left: 0,
                top: 0,
                right: side,
                bottom: side,
            };
            FillRect(dc, &all, GetStockObject(WHITE_BRUSH));
            let black = GetStockObject(BLACK_BRUSH);
            for y in 0..n {
                for x in 0..n {
                    if img.is_dark(x as usize, y as usize) {
                        let r = RECT {
                            left: x * module,
                            top: y * module,
                            right: (x + 1) * module,
                            bottom: (y + 1) * module,
                        };
                        FillRect(dc, &r, black);
                    }
                }
            }
            Some(QrBitmap {
                dc,
                bitmap,
                old,
                side,
            })
        }
    }

    /// Copies the code, centred in `r`.
    ///
    /// # Safety
    /// `hdc` is a paint DC.
    pub(super) unsafe fn draw(&self, hdc: HDC, r: &RECT) {
        let x = r.left + (r.right - r.left - self.side) / 2;
        let y = r.top + (r.bottom - r.top - self.side) / 2;
        // SAFETY: both DCs live.
        unsafe { BitBlt(hdc, x, y, self.side, self.side, self.dc, 0, 0, SRCCOPY) };
    }
}

impl Drop for QrBitmap {
    fn drop(&mut self) {
        // SAFETY: ours; the bitmap is deselected before it is deleted.
        unsafe {
            SelectObject(self.dc, self.old);
            DeleteObject(self.bitmap);
            DeleteDC(self.dc);
        }
    }
}
