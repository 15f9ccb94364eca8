//! The C ABI: what `libystpay.so` / `ystpay.dll` export, declared in the
//! generated header `include/ystpay.h`.
//!
//! This layer holds no business logic. Every export does the same four
//! things: **convert** C arguments to Rust values (checking NULL, encodings
//! and record sizes), **call** the Rust API, **convert** the answer back into
//! a fixed-layout record, and turn every failure into a result code plus a
//! per-thread message. Conventions (docs/DESIGN.md, "C ABI conventions"):
//!
//! - Every symbol, type and constant starts with `ystpay_` / `YSTPAY_`.
//! - Every export is `extern "system"`: `__stdcall` on 32-bit Windows (what
//!   PowerBuilder and VB6 can call), the C convention everywhere else. The
//!   header spells this `YSTPAY_CALL`; `build.rs` explains how the header
//!   generator is made to see these functions.
//! - Only fixed-width integers, `char` arrays and pointers cross the
//!   boundary; records start with their own size (`struct_size`).
//! - Each export body runs inside one panic guard ([`error::guard`]); no
//!   panic ever unwinds into the caller.
//! - Outputs are written only when the call returns `YSTPAY_OK`.
//!
//! Modules: [`codes`] (result codes, outcomes, options), [`error`] (the
//! guard and the per-thread message), [`text`] (strings in and out, UTF-8 or
//! GBK), [`records`] (the result records), [`config`] (the INI-style
//! configuration), [`client`] (the handle), [`calls`] (one export per API
//! interface) and [`answers`] (their result records), [`notice`] (payment
//! notifications), [`settle`] (the settle flow: settle calls, cancel,
//! progress), [`recovery`], [`journal`] (listing, day totals, the CSV export),
//! [`qr`], [`version`].
#![allow(non_camel_case_types)]

/// Returns early with a `YSTPAY_ERR_NULL_ARGUMENT` failure when a pointer
/// argument is NULL; otherwise evaluates to the pointer.
macro_rules! non_null {
    ($p:ident) => {
        if $p.is_null() {
            return Err($crate::ffi::error::Failure::new(
                $crate::ffi::codes::YSTPAY_ERR_NULL_ARGUMENT,
                concat!("argument '", stringify!($p), "' is NULL"),
            ));
        } else {
            $p
        }
    };
}

/// Dereferences a `*const ystpay_client` argument (NULL and foreign
/// pointers are failures) and makes its string encoding the one used for
/// this call's message.
macro_rules! client_ref {
    ($p:ident) => {
        // SAFETY: the caller passes a handle from a ystpay constructor
        // (documented in the header); NULL and a wrong tag are refused.
        unsafe { $crate::ffi::client::deref($p, stringify!($p))? }
    };
}

/// Checks an output record argument (not NULL, its `struct_size` this
/// version's) and evaluates to the pointer.
macro_rules! out_record {
    ($p:ident) => {{
        let p = non_null!($p);
        // SAFETY: non-NULL; the caller passes a record of this type.
        unsafe { $crate::ffi::records::check_size(p)? };
        p
    }};
}

pub mod answers;
pub mod calls;
pub mod cancel;
pub mod client;
pub mod codes;
pub mod config;
pub mod doctor;
pub mod error;
pub mod journal;
pub mod notice;
pub mod op_fields;
pub mod progress;
pub mod qr;
pub mod records;
pub mod recovery;
pub mod settle;
pub mod started;
pub mod text;
pub mod version;
pub mod window;
