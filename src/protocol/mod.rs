//! The wire format of the 赢商通 HTTP API v1.3.1, with no I/O: bytes in,
//! bytes out.
//!
//! | API section | what | module |
//! |---|---|---|
//! | 1.3, 2.5.1, 2.5.2, 2.6.1, 2.6.2 | MD5, dsn, AES/CBC zero padding, base64, signatures | [`crypto`] |
//! | 2.2 | XML, UTF-8, escaping, tolerant reading | [`xml`] |
//! | 2.5, 2.6 | `<request>` / `<response>` envelopes | [`envelope`] |
//! | 2.3, 2.4, 3.1, 3.2, tables of 4–7 | field rules | [`rules`] |
//! | 4.1–7.1 | typed messages | [`messages`] |
//!
//! Decisions where the API document is ambiguous (docs/DESIGN.md) live in exactly
//! one place each: key/IV and padding in [`crypto`], the refund
//! `request_type` alias in [`messages::RefundRequest`], absent `result`
//! in [`messages::ResponseHead`], status spellings in [`types::Status`].

pub mod crypto;
pub mod envelope;
pub mod messages;
pub mod rules;
pub mod types;
pub mod xml;

pub use envelope::{Credentials, EnvelopeError, RequestEnvelope, ResponseEnvelope};
pub use messages::*;
pub use rules::{FieldError, FieldProblem};
pub use types::{Channel, PaymentCode, ProdItem, Status};
