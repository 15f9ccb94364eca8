//! The payment window on Win32 (issue 19 §2): a modal window over the
//! program's own, pumping the thread's messages while a started operation
//! (`crate::ffi::started`) runs on a library thread.
//!
//! Only functions Windows 7 SP1 has (user32, gdi32, imm32, kernel32), each
//! in scripts/windows-imports.txt. No DPI awareness is changed: sizes scale
//! with the screen's LOGPIXELSY, which Windows reports as 96 to a process
//! it scales itself (docs/C-ABI.md, "The payment window").

use std::cell::{Cell, RefCell};
use std::time::Instant;

use windows_sys::Win32::Foundation::{HWND, LPARAM, LRESULT, RECT, WPARAM};
use windows_sys::Win32::Graphics::Gdi::*;
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::UI::Controls::EM_SETLIMITTEXT;
use windows_sys::Win32::UI::Input::Ime::ImmAssociateContext;
use windows_sys::Win32::UI::Input::KeyboardAndMouse::{
    EnableWindow, IsWindowEnabled, SetActiveWindow, SetFocus, VK_ESCAPE, VK_RETURN,
};
use windows_sys::Win32::UI::WindowsAndMessaging::*;

use super::model::{self, Lang, Phase, Tone};
use super::paint::{self, Fonts, QrBitmap};
use crate::ffi::client::ystpay_client;
use crate::ffi::codes::*;
use crate::ffi::error::Failure;
use crate::ffi::started::ystpay_op;
use crate::flow::{NewOrder, Settlement};
use crate::protocol::PaymentCode;

/// The window class, for programs and tests that look for the window
/// (`FindWindowW(L"ystpay_window", NULL)`).
const CLASS: &str = "ystpay_window";
/// Posted by the operation's thread at every stage change.
const WM_OP: u32 = WM_APP + 0x19;
const ID_EDIT: usize = 101;
const ID_CANCEL: usize = 102;
/// Redraws the seconds and the time left.
const TIMER_TICK: usize = 1;
/// Closes the window 2 s after the end.
const TIMER_CLOSE: usize = 2;

/// A started operation, or why nothing was sent.
pub(crate) type Started = Result<Box<ystpay_op>, Failure>;

/// How the window starts its operation (`crate::ffi::window`: the started
/// operations' own way, which is private to `crate::ffi`).
pub(crate) struct Start {
    /// A barcode payment: fee, the scanned code, the deadline.
    pub pay: fn(&ystpay_client, i64, String, i32) -> Started,
    /// A native order.
    pub order: fn(&ystpay_client, NewOrder) -> Started,
}

/// What the window is for.
pub(crate) enum Job {
    /// A barcode payment of this many fen; the flow's deadline.
    Pay { fee: i64, deadline_ms: i32 },
    /// A native (5.1) QR order.
    Order(NewOrder),
}

/// UTF-16, NUL-terminated.
pub(super) fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(Some(0)).collect()
}

struct Win {
    client: *const ystpay_client,
    start: Start,
    lang: Lang,
    job: Job,
    fee: i64,
    /// The screen's pixels per inch / 96.
    scale: f32,
    fonts: Fonts,
    hwnd: Cell<HWND>,
    edit: Cell<HWND>,
    button: Cell<HWND>,
    phase: RefCell<Phase>,
    op: RefCell<Option<Box<ystpay_op>>>,
    /// The start failed: nothing was sent.
    failure: RefCell<Option<Failure>>,
    cancelled: Cell<bool>,
    closed: Cell<bool>,
    /// The QR window: when its code was first shown.
    shown_at: Cell<Option<Instant>>,
    expire_secs: u64,
    qr: RefCell<Option<QrBitmap>>,
}

impl Win {
    fn px(&self, v: i32) -> i32 {
        (v as f32 * self.scale).round() as i32
    }

    fn qr_mode(&self) -> bool {
        matches!(self.job, Job::Order(_))
    }

    fn invalidate(&self) {
        // SAFETY: our window; NULL rect = all of it.
        unsafe { InvalidateRect(self.hwnd.get(), std::ptr::null(), 1) };
    }

    /// Enter: take the scan (barcode window) or close (after the end).
    fn enter(&self) {
        let phase = self.phase.borrow().clone();
        match phase {
            Phase::Scan { .. } => self.take_scan(),
            Phase::Ended { .. } => self.close(),
            Phase::Running { .. } => {}
        }
    }

    /// Esc, the Cancel button, the close box.
    fn escape(&self) {
        let phase = self.phase.borrow().clone();
        match phase {
            Phase::Scan { .. } => {
                *self.failure.borrow_mut() = Some(Failure::new(
                    YSTPAY_ERR_NOT_SENT,
                    "the payment window was closed before a payment code was scanned: nothing sent",
                ));
                self.close();
            }
            Phase::Running { .. } => {
                if let Some(op) = self.op.borrow().as_ref() {
                    op.cancel();
                }
                self.cancelled.set(true);
                self.refresh();
            }
            Phase::Ended { .. } => self.close(),
        }
    }

    fn take_scan(&self) {
        let edit = self.edit.get();
        let mut buf = [0u16; 64];
        // SAFETY: our edit control; the buffer's length is passed.
        let n = unsafe { GetWindowTextW(edit, buf.as_mut_ptr(), buf.len() as i32) };
        let scan = String::from_utf16_lossy(&buf[..n.max(0) as usize]);
        let scan = scan.trim();
        if !PaymentCode::looks_valid(scan) {
            *self.phase.borrow_mut() = Phase::Scan { refused: true };
            // SAFETY: our edit control.
            unsafe { SetWindowTextW(edit, wide("").as_ptr()) };
            self.invalidate();
            return;
        }
        let Job::Pay { fee, deadline_ms } = self.job else {
            return;
        };
        // SAFETY: our edit control: the code leaves the screen at once.
        unsafe {
            SetWindowTextW(edit, wide("").as_ptr());
            ShowWindow(edit, SW_HIDE);
            SetFocus(self.hwnd.get());
        }
        // SAFETY: the client outlives the window call (caller contract).
        let c = unsafe { &*self.client };
        self.started((self.start.pay)(c, fee, scan.to_string(), deadline_ms));
    }

    /// Takes the started operation (or its failure to start).
    fn started(&self, op: Started) {
        match op {
            Ok(op) => {
                *self.phase.borrow_mut() = Phase::Running {
                    stage: 0,
                    secs: 0,
                    left: None,
                    cancelling: false,
                };
                let hwnd = self.hwnd.get() as usize;
                *self.op.borrow_mut() = Some(op);
                let op = self.op.borrow();
                let op = op.as_ref().expect("just stored");
                // The window reads the operation on its own thread when
                // the message comes (`refresh`); the URL to show is kept
                // by the operation (`Look::pay_url`).
                op.on_change(Box::new(move |stage| {
                    // SAFETY: posting to a window that has closed fails
                    // harmlessly.
                    unsafe { PostMessageW(hwnd as HWND, WM_OP, stage as usize, 0) };
                }));
                // SAFETY: our window.
                unsafe { SetTimer(self.hwnd.get(), TIMER_TICK, 250, None) };
            }
            Err(f) => {
                let (line, tone) = model::ended(self.lang, &Err(f.message.clone()), false);
                *self.failure.borrow_mut() = Some(f);
                self.end(line, tone);
            }
        }
        self.invalidate();
    }

    /// Reads the operation: its stage, its end.
    fn refresh(&self) {
        let look = match self.op.borrow().as_ref() {
            Some(op) => (op.look(), op.ended()),
            None => return,
        };
        if matches!(*self.phase.borrow(), Phase::Ended { .. }) {
            return;
        }
        let (look, end) = look;
        if let Some(end) = end {
            let end: Result<Settlement, String> = end.map_err(|f| f.message);
            let (line, tone) = model::ended(self.lang, &end, self.cancelled.get());
            self.end(line, tone);
            return;
        }
        if self.qr_mode() && self.qr.borrow().is_none() {
            if let Some(url) = look.pay_url.clone() {
                self.shown_at.set(Some(Instant::now()));
                // SAFETY: our window.
                *self.qr.borrow_mut() =
                    unsafe { QrBitmap::new(self.hwnd.get(), &url, self.px(240)) };
            }
        }
        let left = self
            .shown_at
            .get()
            .map(|at| self.expire_secs.saturating_sub(at.elapsed().as_secs()));
        *self.phase.borrow_mut() = Phase::Running {
            stage: look.stage,
            secs: look.elapsed.as_secs(),
            left,
            cancelling: self.cancelled.get(),
        };
        self.invalidate();
    }

    fn end(&self, line: String, tone: Tone) {
        *self.phase.borrow_mut() = Phase::Ended { line, tone };
        let hwnd = self.hwnd.get();
        // SAFETY: our window and controls.
        unsafe {
            KillTimer(hwnd, TIMER_TICK);
            SetTimer(hwnd, TIMER_CLOSE, 2000, None);
            ShowWindow(self.edit.get(), SW_HIDE);
            ShowWindow(self.button.get(), SW_HIDE);
            SetFocus(hwnd);
        }
        self.invalidate();
    }

    fn close(&self) {
        self.closed.set(true);
    }

    fn paint(&self, hdc: HDC) {
        let mut rc = RECT {
            left: 0,
            top: 0,
            right: 0,
            bottom: 0,
        };
        // SAFETY: our window; `rc` is writable.
        unsafe { GetClientRect(self.hwnd.get(), &mut rc) };
        let phase = self.phase.borrow().clone();
        let qr = self.qr_mode();
        let (prompt, tone) = model::prompt(self.lang, qr, &phase);
        let w = rc.right;
        // SAFETY: a paint DC of our window.
        unsafe {
            paint::background(hdc, &rc);
            let amount = model::money(self.fee);
            paint::text(
                hdc,
                self.fonts.big,
                Tone::Plain,
                &amount,
                self.band(0, 16, w, 70),
            );
            if let Phase::Ended { line, tone } = &phase {
                let top = if qr { 110 } else { 96 };
                paint::text(
                    hdc,
                    self.fonts.result,
                    *tone,
                    line,
                    self.band(12, top, w, 90),
                );
                let hint = self.band(0, top + 100, w, 26);
                paint::text(hdc, self.fonts.small, Tone::Plain, &prompt, hint);
                return;
            }
            if qr {
                let side = self.px(340);
                let top = self.px(92);
                let rect = RECT {
                    left: (w - side) / 2,
                    top,
                    right: (w + side) / 2,
                    bottom: top + side,
                };
                match self.qr.borrow().as_ref() {
                    Some(b) => b.draw(hdc, &rect),
                    None => paint::frame(hdc, &rect),
                }
                let y = 92 + 340 + 8;
                paint::text(hdc, self.fonts.mid, tone, &prompt, self.band(8, y, w, 30));
            } else {
                paint::text(hdc, self.fonts.mid, tone, &prompt, self.band(8, 96, w, 30));
            }
        }
    }

    /// A band across the client area, in 96-DPI units scaled (x inset,
    /// y, width in pixels, height).
    fn band(&self, inset: i32, y: i32, w: i32, h: i32) -> RECT {
        RECT {
            left: self.px(inset),
            top: self.px(y),
            right: w - self.px(inset),
            bottom: self.px(y + h),
        }
    }
}

/// The window procedure: finds its `Win` in the window's user data.
unsafe extern "system" fn wndproc(hwnd: HWND, msg: u32, wp: WPARAM, lp: LPARAM) -> LRESULT {
    // SAFETY: Win32 calls with our window; the pointer in GWLP_USERDATA
    // is the `Win` of `run`, alive until the window is destroyed.
    unsafe {
        if msg == WM_NCCREATE {
            let cs = lp as *const CREATESTRUCTW;
            // `as _`: the pointer-sized LONG_PTR (a 32-bit LONG on x86).
            SetWindowLongPtrW(hwnd, GWLP_USERDATA, (*cs).lpCreateParams as _);
        }
        let p = GetWindowLongPtrW(hwnd, GWLP_USERDATA) as *const Win;
        if p.is_null() {
            return DefWindowProcW(hwnd, msg, wp, lp);
        }
        let w = &*p;
        // No panic may unwind into user32 (it would cross a C frame).
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match msg {
            WM_OP => {
                w.refresh();
                Some(0)
            }
            WM_TIMER if wp == TIMER_TICK => {
                w.refresh();
                Some(0)
            }
            WM_TIMER if wp == TIMER_CLOSE => {
                w.close();
                Some(0)
            }
            WM_COMMAND if (wp & 0xffff) == ID_CANCEL => {
                w.escape();
                Some(0)
            }
            WM_CLOSE => {
                w.escape();
                Some(0)
            }
            WM_ERASEBKGND => Some(1),
            WM_PAINT => {
                let mut ps: PAINTSTRUCT = std::mem::zeroed();
                let hdc = BeginPaint(hwnd, &mut ps);
                w.paint(hdc);
                EndPaint(hwnd, &ps);
                Some(0)
            }
            _ => None,
        }));
        match handled {
            Ok(Some(r)) => r,
            Ok(None) => DefWindowProcW(hwnd, msg, wp, lp),
            Err(_) => {
                w.close();
                0
            }
        }
    }
}

/// Keys the window takes before the controls: Enter and Esc, as keys
/// (a keyboard or a wedge scanner) and as characters (a scanner sending
/// CR).
fn take_key(w: &Win, m: &MSG) -> bool {
    let ours = m.hwnd == w.hwnd.get() || m.hwnd == w.edit.get() || m.hwnd == w.button.get();
    if !ours {
        return false;
    }
    match (m.message, m.wParam as u16) {
        (WM_KEYDOWN, VK_RETURN) | (WM_CHAR, 0x0d) => w.enter(),
        (WM_KEYDOWN, VK_ESCAPE) | (WM_CHAR, 0x1b) => w.escape(),
        _ => return false,
    }
    true
}

/// Shows the window modal over `owner` (may be NULL), runs `job`, returns
/// when it closes: the ended operation, or why nothing was sent.
///
/// # Safety
/// `client` outlives the call; `owner` is NULL or a window of this thread
/// (or of another thread of this process) that stays valid.
pub(crate) unsafe fn run(
    client: &ystpay_client,
    owner: HWND,
    job: Job,
    lang: Lang,
    start: Start,
) -> Result<Box<ystpay_op>, Failure> {
    // SAFETY: plain Win32 calls on this thread; `win` outlives its window.
    unsafe {
        let instance = GetModuleHandleW(std::ptr::null());
        let class = wide(CLASS);
        let wc = WNDCLASSEXW {
            cbSize: std::mem::size_of::<WNDCLASSEXW>() as u32,
            style: CS_HREDRAW | CS_VREDRAW,
            lpfnWndProc: Some(wndproc),
            cbClsExtra: 0,
            cbWndExtra: 0,
            hInstance: instance,
            hIcon: std::ptr::null_mut(),
            hCursor: LoadCursorW(std::ptr::null_mut(), IDC_ARROW),
            hbrBackground: std::ptr::null_mut(),
            lpszMenuName: std::ptr::null(),
            lpszClassName: class.as_ptr(),
            hIconSm: std::ptr::null_mut(),
        };
        // Already registered (another window open on another thread) is fine.
        RegisterClassExW(&wc);

        let scale = paint::screen_scale();
        let fee = match &job {
            Job::Pay { fee, .. } => *fee,
            Job::Order(o) => o.total_fee,
        };
        let expire_secs = match &job {
            Job::Order(NewOrder {
                spec: crate::flow::OrderSpec::Native { expire_secs },
                ..
            }) => expire_secs.unwrap_or(300).max(0) as u64,
            _ => 0,
        };
        let qr = matches!(job, Job::Order(_));
        let win = Box::new(Win {
            client,
            start,
            lang,
            job,
            fee,
            scale,
            fonts: Fonts::new(scale),
            hwnd: Cell::new(std::ptr::null_mut()),
            edit: Cell::new(std::ptr::null_mut()),
            button: Cell::new(std::ptr::null_mut()),
            phase: RefCell::new(Phase::Scan { refused: false }),
            op: RefCell::new(None),
            failure: RefCell::new(None),
            cancelled: Cell::new(false),
            closed: Cell::new(false),
            shown_at: Cell::new(None),
            expire_secs,
            qr: RefCell::new(None),
        });

        let (cw, ch) = if qr { (420, 540) } else { (460, 300) };
        let style = WS_POPUP | WS_CAPTION | WS_SYSMENU | WS_CLIPCHILDREN;
        let ex = WS_EX_DLGMODALFRAME | WS_EX_TOPMOST;
        let mut r = RECT {
            left: 0,
            top: 0,
            right: win.px(cw),
            bottom: win.px(ch),
        };
        AdjustWindowRectEx(&mut r, style, 0, ex);
        let (ww, wh) = (r.right - r.left, r.bottom - r.top);
        let (x, y) = centre(owner, ww, wh);
        let title = wide(model::fixed(lang, qr).title);
        let hwnd = CreateWindowExW(
            ex,
            class.as_ptr(),
            title.as_ptr(),
            style,
            x,
            y,
            ww,
            wh,
            owner,
            std::ptr::null_mut(),
            instance,
            &*win as *const Win as *const std::ffi::c_void,
        );
        if hwnd.is_null() {
            return Err(Failure::new(
                YSTPAY_ERR_INTERNAL,
                "the payment window cannot be created (CreateWindowExW failed): nothing sent",
            ));
        }
        win.hwnd.set(hwnd);
        let button = child(
            "BUTTON",
            model::fixed(lang, qr).cancel,
            WS_TABSTOP | BS_PUSHBUTTON as u32,
            ID_CANCEL,
            hwnd,
            RECT {
                left: win.px(cw / 2 - 70),
                top: win.px(ch - 52),
                right: win.px(cw / 2 + 70),
                bottom: win.px(ch - 16),
            },
        );
        SendMessageW(button, WM_SETFONT, win.fonts.small as usize, 0);
        win.button.set(button);
        if !qr {
            let edit = child(
                "EDIT",
                "",
                WS_TABSTOP | WS_BORDER | (ES_CENTER | ES_AUTOHSCROLL) as u32,
                ID_EDIT,
                hwnd,
                RECT {
                    left: win.px(60),
                    top: win.px(140),
                    right: win.px(cw - 60),
                    bottom: win.px(180),
                },
            );
            SendMessageW(edit, WM_SETFONT, win.fonts.edit as usize, 0);
            SendMessageW(edit, EM_SETLIMITTEXT, 48, 0);
            // A Chinese input method must not take the scanner's keys.
            ImmAssociateContext(edit, std::ptr::null_mut());
            win.edit.set(edit);
        }

        let owner_was_enabled = !owner.is_null() && IsWindowEnabled(owner) != 0;
        if owner_was_enabled {
            EnableWindow(owner, 0);
        }
        ShowWindow(hwnd, SW_SHOW);
        SetForegroundWindow(hwnd);
        // The focus is in the edit box before any message is read, so a
        // scanner's keys already queued go there.
        SetFocus(if qr { hwnd } else { win.edit.get() });
        UpdateWindow(hwnd);
        if let Job::Order(order) = &win.job {
            win.started((win.start.order)(client, order.clone()));
        }

        let mut quit = None;
        let mut msg: MSG = std::mem::zeroed();
        while !win.closed.get() {
            match GetMessageW(&mut msg, std::ptr::null_mut(), 0, 0) {
                0 => {
                    // WM_QUIT: the program is closing. Cancel, finish, and
                    // post it again for the program's own loop.
                    quit = Some(msg.wParam as i32);
                    win.escape();
                    continue;
                }
                -1 => break,
                _ => {}
            }
            if take_key(&win, &msg) {
                continue;
            }
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
        // A window that closed before the end (GetMessageW failed) still
        // waits for its operation: it is returned ended.
        if let Some(op) = win.op.borrow().as_ref() {
            while !op.wait_end(std::time::Duration::from_secs(1)) {}
        }
        // Re-enabled before the window goes, so that Windows activates the
        // owner and not another program.
        if owner_was_enabled {
            EnableWindow(owner, 1);
        }
        DestroyWindow(hwnd);
        if !owner.is_null() {
            SetActiveWindow(owner);
        }
        win.qr.borrow_mut().take();
        win.fonts.free();
        if let Some(code) = quit {
            PostQuitMessage(code);
        }
        let op = win.op.borrow_mut().take();
        let failure = win.failure.borrow_mut().take();
        match (op, failure) {
            (Some(op), _) => Ok(op),
            (None, Some(f)) => Err(f),
            (None, None) => Err(Failure::new(YSTPAY_ERR_NOT_SENT, "nothing sent")),
        }
    }
}

/// Where the window goes: centred over the owner, else on the screen.
unsafe fn centre(owner: HWND, w: i32, h: i32) -> (i32, i32) {
    let mut r = RECT {
        left: 0,
        top: 0,
        right: 0,
        bottom: 0,
    };
    // SAFETY: `r` is writable; a NULL or dead owner fails and the screen
    // is used.
    unsafe {
        if owner.is_null() || GetWindowRect(owner, &mut r) == 0 {
            r.right = GetSystemMetrics(SM_CXSCREEN);
            r.bottom = GetSystemMetrics(SM_CYSCREEN);
        }
    }
    let x = r.left + (r.right - r.left - w) / 2;
    let y = r.top + (r.bottom - r.top - h) / 2;
    (x.max(0), y.max(0))
}

/// A child control.
unsafe fn child(class: &str, text: &str, style: u32, id: usize, parent: HWND, r: RECT) -> HWND {
    let (c, t) = (wide(class), wide(text));
    // SAFETY: a child of our window; strings NUL-terminated.
    unsafe {
        CreateWindowExW(
            0,
            c.as_ptr(),
            t.as_ptr(),
            WS_CHILD | WS_VISIBLE | style,
            r.left,
            r.top,
            r.right - r.left,
            r.bottom - r.top,
            parent,
            id as HMENU,
            GetModuleHandleW(std::ptr::null()),
            std::ptr::null(),
        )
    }
}
