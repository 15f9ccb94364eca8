//! The outer documents: `<request>` (API §2.5) and `<response>` (API §2.6),
//! sealing (encrypt + sign) and opening (verify + decrypt) them.

use super::crypto::{self, CryptoError};
use super::xml::{Fields, XmlError, XmlWriter};

/// Why an envelope could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not XML, or not the expected root.
    Xml(XmlError),
    /// A required element (`data`, `signature`, `dsn`, `timestamp`) is absent.
    Missing(&'static str),
    /// The signature does not match: the message was altered or the key is wrong.
    BadSignature,
    /// `data` could not be decrypted.
    Crypto(CryptoError),
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeError::Xml(e) => write!(f, "{e}"),
            EnvelopeError::Missing(what) => write!(f, "envelope has no <{what}>"),
            EnvelopeError::BadSignature => f.write_str("signature does not match"),
            EnvelopeError::Crypto(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for EnvelopeError {}

impl From<XmlError> for EnvelopeError {
    fn from(e: XmlError) -> Self {
        EnvelopeError::Xml(e)
    }
}

impl From<CryptoError> for EnvelopeError {
    fn from(e: CryptoError) -> Self {
        EnvelopeError::Crypto(e)
    }
}

/// A device's credentials, as the wire needs them.
///
/// `Debug` shows the account only. A [`crate::Client`] keeps its copy in a
/// wrapper that zeroes the private key and dsn when the client is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `account`: the device login (API §2.5.1: 4–20 characters).
    pub account: String,
    /// The merchant's private key: AES key and IV for requests.
    pub private_key: String,
    /// The device serial number (derived, or configured).
    pub dsn: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("account", &self.account)
            .field("private_key", &"<redacted>")
            .field("dsn", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// Credentials whose dsn is derived from `pass` (API §2.5.1).
    pub fn derive(account: &str, pass: &str, private_key: &str) -> Self {
        Credentials {
            account: account.to_string(),
            private_key: private_key.to_string(),
            dsn: crypto::derive_dsn(account, private_key, pass),
        }
    }
}

/// The parts of a `<request>` envelope (API §2.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEnvelope {
    /// `request_type`, in clear.
    pub request_type: String,
    /// `account`.
    pub account: String,
    /// `dsn`.
    pub dsn: String,
    /// `data`: base64 of the AES ciphertext.
    pub data: String,
    /// `signature`: `MD5(private_key + dsn + data)`.
    pub signature: String,
}

impl RequestEnvelope {
    /// Encrypts `plain` and signs it for `creds`.
    pub fn seal(creds: &Credentials, request_type: &str, plain: &str) -> Result<Self, CryptoError> {
        let data = crypto::seal_request_data(&creds.private_key, plain)?;
        let signature = crypto::request_signature(&creds.private_key, &creds.dsn, &data);
        Ok(RequestEnvelope {
            request_type: request_type.to_string(),
            account: creds.account.clone(),
            dsn: creds.dsn.clone(),
            data,
            signature,
        })
    }

    /// The HTTP body.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new("request");
        w.field("request_type", &self.request_type)
            .field("account", &self.account)
            .field("dsn", &self.dsn)
            .field("data", &self.data)
            .field("signature", &self.signature);
        w.finish()
    }

    /// Reads an HTTP body (platform side). Nothing is verified yet.
    pub fn parse(body: &str) -> Result<Self, EnvelopeError> {
        let f = Fields::parse(body, Some("request"))?;
        let get = |name: &'static str| {
            f.get(name)
                .map(str::to_string)
                .ok_or(EnvelopeError::Missing(name))
        };
        Ok(RequestEnvelope {
            request_type: f.get("request_type").unwrap_or_default().to_string(),
            account: f.get("account").unwrap_or_default().to_string(),
            dsn: get("dsn")?,
            data: get("data")?,
            signature: get("signature")?,
        })
    }

    /// Verifies the signature with `private_key` and decrypts `data`
    /// (platform side).
    pub fn open(&self, private_key: &str) -> Result<String, EnvelopeError> {
        let expected = crypto::request_signature(private_key, &self.dsn, &self.data);
        if !crypto::signature_eq(&expected, &self.signature) {
            return Err(EnvelopeError::BadSignature);
        }
        Ok(crypto::open_request_data(private_key, &self.data)?)
    }
}

/// The parts of a `<response>` envelope (API §2.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseEnvelope {
    /// `timestamp`: milliseconds, as text.
    pub timestamp: String,
    /// `data`: base64 of the AES ciphertext (key = IV = dsn's first 16 characters).
    pub data: String,
    /// `signature`: `MD5(dsn + timestamp + data)`.
    pub signature: String,
}

impl ResponseEnvelope {
    /// Encrypts and signs `plain` for device `dsn` (platform side).
    pub fn seal(dsn: &str, timestamp: &str, plain: &str) -> Result<Self, CryptoError> {
        let data = crypto::seal_response_data(dsn, plain)?;
        let signature = crypto::response_signature(dsn, timestamp, &data);
        Ok(ResponseEnvelope {
            timestamp: timestamp.to_string(),
            data,
            signature,
        })
    }

    /// The HTTP body.
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new("response");
        w.field("timestamp", &self.timestamp)
            .field("data", &self.data)
            .field("signature", &self.signature);
        w.finish()
    }

    /// Reads an HTTP body. Nothing is verified yet.
    pub fn parse(body: &str) -> Result<Self, EnvelopeError> {
        let f = Fields::parse(body, Some("response"))?;
        let get = |name: &'static str| {
            f.get(name)
                .map(str::to_string)
                .ok_or(EnvelopeError::Missing(name))
        };
        Ok(ResponseEnvelope {
            timestamp: get("timestamp")?,
            data: get("data")?,
            signature: get("signature")?,
        })
    }

    /// Verifies the signature for `dsn` and decrypts `data`. An answer whose
    /// signature fails is never decrypted, let alone trusted.
    pub fn open(&self, dsn: &str) -> Result<String, EnvelopeError> {
        let expected = crypto::response_signature(dsn, &self.timestamp, &self.data);
        if !crypto::signature_eq(&expected, &self.signature) {
            return Err(EnvelopeError::BadSignature);
        }
        Ok(crypto::open_response_data(dsn, &self.data)?)
    }
}
