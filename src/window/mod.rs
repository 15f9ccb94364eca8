//! The payment window (issue 19 §2; docs/C-ABI.md "The payment window"):
//! its words in [`model`] (every platform, tested), its Win32 side in
//! `win32` and `paint` (Windows only). The C calls are in
//! `crate::ffi::window`.

#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) mod model;
#[cfg(windows)]
pub(crate) mod paint;
#[cfg(windows)]
pub(crate) mod win32;
