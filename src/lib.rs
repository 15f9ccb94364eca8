//! ystpay: the payment library cash registers link to, for WeChat Pay,
//! Alipay and QQ Wallet through the 赢商通 (Yingshangtong) platform.
//!
//! Layers, data flowing top to bottom: `ffi` (the C ABI) → `flow` (whole
//! operations that end with the truth: settle a payment, refund, recover) →
//! `client` (one request → one verified, typed answer) and `journal`
//! (durable record of every operation) → `transport` (HTTP) → `protocol`
//! (wire format, no I/O).
//! Beside them: [`config`] (the INI form), [`qr`] (QR codes for `pay_url`),
//! [`receipt`] (receipt text and ESC/POS bytes) and [`log`] (the daily log).
#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod doctor;
pub mod error;
pub mod ffi;
pub mod files;
pub mod flow;
pub mod journal;
pub mod log;
pub mod protect;
pub mod protocol;
pub mod qr;
pub mod reading;
pub mod receipt;
pub mod register;
pub mod reqseq;
pub mod text;
pub mod time;
pub mod transport;
pub(crate) mod window;

pub use client::{Client, ClientConfig};
pub use error::{Error, Refusal, Rejection};
pub use flow::{CancelToken, FlowConfig, Outcome, Payments, Progress, SettleOptions, Settlement};
pub use journal::Journal;
