//! Typed messages for every interface of the API document (sections 4–7): the plain
//! `<data>` documents inside the encrypted envelope.
//!
//! Each struct lists its fields in wire order with wire names; a `None`
//! optional field is left out of the document. Requests check their field
//! rules with [`Request::check`] before anything is sent; responses are read
//! tolerantly (unknown elements ignored, every field optional) because the
//! API document's own examples leave out fields its tables call required.

use super::rules::{self, Checked, FieldError, FieldProblem};
use super::types::{parse_prod_details, prod_details_json, Channel, PaymentCode, ProdItem, Status};
use super::xml::{Fields, XmlWriter};

/// A value that can be written as, and read from, one wire element.
pub trait WireValue: Sized {
    /// Writes `self` as element `name` (an absent optional writes nothing).
    fn put(&self, name: &str, w: &mut XmlWriter);
    /// Reads element `name`; a required value that is absent is an error.
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError>;
}

/// A document made of wire values (every request and response message).
pub trait WireFields: Sized {
    /// Writes every field, in wire order.
    fn write_fields(&self, w: &mut XmlWriter);
    /// Reads every field.
    fn read_fields(f: &Fields) -> Result<Self, FieldError>;
}

fn missing(name: &str) -> FieldError {
    FieldError::new(name, FieldProblem::Missing)
}

impl WireValue for String {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self);
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name).map(str::to_string).ok_or_else(|| missing(name))
    }
}

impl WireValue for i64 {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, &self.to_string());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        let t = f.get(name).ok_or_else(|| missing(name))?;
        if t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return Err(FieldError::new(name, FieldProblem::NotNumeric));
        }
        t.parse()
            .map_err(|_| FieldError::new(name, FieldProblem::NotNumeric))
    }
}

/// `Y`/`N` flags (`result`).
impl WireValue for bool {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, if *self { "Y" } else { "N" });
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        match f.get(name) {
            Some("Y") | Some("y") => Ok(true),
            Some("N") | Some("n") => Ok(false),
            Some(_) => Err(FieldError::new(
                name,
                FieldProblem::Invalid("must be Y or N"),
            )),
            None => Err(missing(name)),
        }
    }
}

impl WireValue for Channel {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self.code());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name)
            .map(Channel::from_code)
            .ok_or_else(|| missing(name))
    }
}

impl WireValue for Status {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self.code());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name)
            .map(Status::from_code)
            .ok_or_else(|| missing(name))
    }
}

impl WireValue for PaymentCode {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        w.field(name, self.expose());
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        f.get(name)
            .map(PaymentCode::from)
            .ok_or_else(|| missing(name))
    }
}

impl<T: WireValue> WireValue for Option<T> {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        if let Some(v) = self {
            v.put(name, w);
        }
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        if f.get(name).is_none() {
            Ok(None)
        } else {
            T::take(f, name).map(Some)
        }
    }
}

/// Receipt lines (`<receipts><line>…</line>…</receipts>`, API §2.6.1).
/// Written as `<line>` children; read from `<line>` children or, when the
/// platform sends plain text, from its lines.
impl WireValue for Vec<String> {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        if !self.is_empty() {
            w.list(name, "line", self);
        }
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        Ok(f.lines(name))
    }
}

/// `prod_details`: a JSON array in the element text (API §4.1).
impl WireValue for Vec<ProdItem> {
    fn put(&self, name: &str, w: &mut XmlWriter) {
        if !self.is_empty() {
            w.field(name, &prod_details_json(self));
        }
    }
    fn take(f: &Fields, name: &str) -> Result<Self, FieldError> {
        match f.get(name) {
            None => Ok(Vec::new()),
            Some(json) => parse_prod_details(json),
        }
    }
}

macro_rules! wire_message {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* $field:ident : $ty:ty ),* $(,)? }) => {
        $(#[$m])*
        pub struct $name { $( $(#[$fm])* pub $field: $ty ),* }
        impl WireFields for $name {
            fn write_fields(&self, _w: &mut XmlWriter) {
                $( WireValue::put(&self.$field, stringify!($field), _w); )*
            }
            fn read_fields(_f: &Fields) -> Result<Self, FieldError> {
                Ok($name { $( $field: WireValue::take(_f, stringify!($field))? ),* })
            }
        }
    };
}

wire_message! {
    /// Fields every response carries (API §2.6.1 and each response table).
    ///
    /// `result` is `Y`/`N`. The API document's examples leave it out of successful
    /// answers; an absent `result` is therefore not a refusal: the status
    /// decides (see `client`).
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct ResponseHead {
        /// `response_type`, e.g. `unitive_pay_response`.
        response_type: Option<String>,
        /// `req_seq`: our request's serial, echoed.
        req_seq: Option<String>,
        /// `res_seq`: the platform's serial for this answer.
        res_seq: Option<String>,
        /// `result`: `Y` request succeeded, `N` refused.
        result: Option<bool>,
        /// `code`, String(F6), e.g. `E11000`.
        code: Option<String>,
        /// `msg`, String(V100): the platform's words.
        msg: Option<String>,
        /// `server_time`, e.g. `2015-06-09 11:17:48:751`.
        server_time: Option<String>,
        /// `dsn` (some answers echo it, API §6.1).
        dsn: Option<String>,
    }
}

/// The head is written inline, before the message's own fields.
impl WireValue for ResponseHead {
    fn put(&self, _name: &str, w: &mut XmlWriter) {
        self.write_fields(w);
    }
    fn take(f: &Fields, _name: &str) -> Result<Self, FieldError> {
        Self::read_fields(f)
    }
}

impl ResponseHead {
    /// True when the platform said `result=N`.
    pub fn is_refusal(&self) -> bool {
        self.result == Some(false)
    }
}

/// A request message: its `request_type`, rules, and response type.
pub trait Request: WireFields {
    /// The `request_type` sent.
    const REQUEST_TYPE: &'static str;
    /// Other `request_type` values the platform side accepts for it.
    const ALIASES: &'static [&'static str] = &[];
    /// The `response_type` the platform answers with.
    const RESPONSE_TYPE: &'static str;
    /// The response message.
    type Response: Response;
    /// This request's serial number.
    fn req_seq(&self) -> &str;
    /// Sets the serial number (used when the caller left it empty).
    fn set_req_seq(&mut self, req_seq: String);
    /// Checks every field rule of the request table; the first violation wins.
    fn check(&self) -> Checked;

    /// The plain `<data>` document (API §2.5.1) for device `dsn`.
    fn to_xml(&self, dsn: &str) -> String {
        let mut w = XmlWriter::new("data");
        w.field("request_type", Self::REQUEST_TYPE);
        w.field("dsn", dsn);
        self.write_fields(&mut w);
        w.finish()
    }
}

/// A response message.
pub trait Response: WireFields + std::fmt::Debug + Clone {
    /// The common fields.
    fn head(&self) -> &ResponseHead;
    /// The common fields, mutably.
    fn head_mut(&mut self) -> &mut ResponseHead;
    /// The answer's `status`, when it carried one.
    fn status(&self) -> Option<&Status>;
    /// The platform's order number (`trans_seq`), when the answer carried one.
    fn trans_seq(&self) -> Option<&str>;
    /// The amount the answer names, when it carried one: `total_fee`, or a
    /// refund's `refund_fee` (the amount an answer is compared by,
    /// docs/DESIGN.md "What an answer proves").
    fn fee(&self) -> Option<i64>;

    /// Reads the plain `<data>` document of an answer.
    fn from_xml(xml: &str) -> Result<Self, FieldError> {
        let f = Fields::parse(xml, Some("data"))
            .map_err(|e| FieldError::new("data", FieldProblem::Invalid(xml_reason(&e))))?;
        Self::read_fields(&f)
    }

    /// Writes the plain `<data>` document (platform side).
    fn to_xml(&self) -> String {
        let mut w = XmlWriter::new("data");
        self.write_fields(&mut w);
        w.finish()
    }
}

fn xml_reason(e: &super::xml::XmlError) -> &'static str {
    match e {
        super::xml::XmlError::Malformed(_) => "is not well-formed XML",
        super::xml::XmlError::UnexpectedRoot { .. } => "has the wrong root element",
        super::xml::XmlError::TooDeep => "nests too deeply",
    }
}

macro_rules! impl_response {
    ($($t:ty => $trans:expr, $fee:expr);*) => {$(
        impl Response for $t {
            fn head(&self) -> &ResponseHead { &self.head }
            fn head_mut(&mut self) -> &mut ResponseHead { &mut self.head }
            fn status(&self) -> Option<&Status> { self.status.as_ref() }
            fn trans_seq(&self) -> Option<&str> {
                let f: fn(&Self) -> Option<&str> = $trans;
                f(self)
            }
            fn fee(&self) -> Option<i64> {
                let f: fn(&Self) -> Option<i64> = $fee;
                f(self)
            }
        }
    )*};
}

macro_rules! serial_accessors {
    () => {
        fn req_seq(&self) -> &str {
            &self.req_seq
        }
        fn set_req_seq(&mut self, req_seq: String) {
            self.req_seq = req_seq;
        }
    };
}

mod barcode;
mod notice;
mod orders;

pub use barcode::*;
pub use notice::*;
pub use orders::*;

impl_response!(
    PayResponse => |r| r.trans_seq.as_deref(), |r| r.total_fee;
    RefundResponse => |_| None, |r| r.refund_fee;
    RevokeResponse => |_| None, |_| None;
    NativePayResponse => |r| r.trans_seq.as_deref(), |r| r.total_fee;
    JsPayResponse => |r| r.trans_seq.as_deref(), |_| None;
    H5PayResponse => |r| r.trans_seq.as_deref(), |_| None
);
