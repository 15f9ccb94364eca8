//! Field rules from the API document's tables (sections 2.3, 2.4, 3.1, 3.2 and each
//! interface's request table), checked before anything is sent.
//!
//! Lengths count characters (Unicode scalar values), not bytes: `V20` is at
//! most 20 characters, `F32` exactly 32. Every violation is a distinct
//! [`FieldError`] naming the field.

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldProblem {
    /// A required field is absent or empty.
    Missing,
    /// A `V` field is longer than its maximum (in characters).
    TooLong {
        /// Maximum allowed.
        max: usize,
        /// Length given.
        actual: usize,
    },
    /// A numeric field holds something other than decimal digits.
    NotNumeric,
    /// A fee is zero or negative.
    NotPositive,
    /// A number has more digits than its `V` length allows.
    TooManyDigits {
        /// Maximum digits.
        max: usize,
    },
    /// A channel letter this interface does not accept.
    ChannelNotAllowed {
        /// The letters the interface accepts.
        allowed: &'static str,
    },
    /// A number outside its documented range.
    OutOfRange {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A control character that XML 1.0 cannot carry (other than tab, CR, LF).
    ControlCharacter,
    /// At least one of this field and `other` must be given.
    OneOfRequired {
        /// The alternative field.
        other: &'static str,
    },
    /// A value that breaks a rule stated in words (e.g. not an IPv4 address).
    Invalid(&'static str),
}

/// A field rule violation: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as on the wire (e.g. `total_fee`, `prod_details[2].goodsName`).
    pub field: String,
    /// What is wrong.
    pub problem: FieldProblem,
}

impl FieldError {
    /// A violation of `problem` by `field`.
    pub fn new(field: impl Into<String>, problem: FieldProblem) -> Self {
        FieldError {
            field: field.into(),
            problem,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = &self.field;
        match &self.problem {
            FieldProblem::Missing => write!(f, "{name} is required"),
            FieldProblem::TooLong { max, actual } => {
                write!(f, "{name} is {actual} characters, at most {max} allowed")
            }
            FieldProblem::NotNumeric => write!(f, "{name} must be decimal digits"),
            FieldProblem::NotPositive => write!(f, "{name} must be greater than 0"),
            FieldProblem::TooManyDigits { max } => {
                write!(f, "{name} has more than {max} digits")
            }
            FieldProblem::ChannelNotAllowed { allowed } => {
                write!(f, "{name} must be one of {allowed}")
            }
            FieldProblem::OutOfRange { min, max } => {
                write!(f, "{name} must be between {min} and {max}")
            }
            FieldProblem::ControlCharacter => {
                write!(f, "{name} contains a control character")
            }
            FieldProblem::OneOfRequired { other } => {
                write!(f, "{name} or {other} is required")
            }
            FieldProblem::Invalid(why) => write!(f, "{name} {why}"),
        }
    }
}

impl std::error::Error for FieldError {}

/// Result of a rule check.
pub type Checked = Result<(), FieldError>;

fn err(field: &str, problem: FieldProblem) -> Checked {
    Err(FieldError::new(field, problem))
}

fn no_control_chars(field: &str, value: &str) -> Checked {
    if value.chars().any(|c| {
        (c.is_control() && !matches!(c, '\t' | '\r' | '\n')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    }) {
        return err(field, FieldProblem::ControlCharacter);
    }
    Ok(())
}

/// A required `String(Vmax)` field: non-empty, at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Checked {
    if value.trim().is_empty() {
        return err(field, FieldProblem::Missing);
    }
    optional_text(field, Some(value), max)
}

/// An optional `String(Vmax)` field: when given, at most `max` characters.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Checked {
    let Some(value) = value else { return Ok(()) };
    let n = value.chars().count();
    if n > max {
        return err(field, FieldProblem::TooLong { max, actual: n });
    }
    no_control_chars(field, value)
}

/// A `String(V20)` request serial number made of printable ASCII without
/// spaces (the platform echoes it and compares it byte for byte).
pub fn serial(field: &str, value: &str) -> Checked {
    required_text(field, value, 20)?;
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return err(
            field,
            FieldProblem::Invalid("must be printable ASCII without spaces"),
        );
    }
    Ok(())
}

/// A fee in fen, `Number(V10)`: greater than 0 and at most 10 digits.
pub fn fee(field: &str, value: i64) -> Checked {
    if value <= 0 {
        return err(field, FieldProblem::NotPositive);
    }
    if value > 9_999_999_999 {
        return err(field, FieldProblem::TooManyDigits { max: 10 });
    }
    Ok(())
}

/// A number within `min..=max`.
pub fn range(field: &str, value: i64, min: i64, max: i64) -> Checked {
    if value < min || value > max {
        return err(field, FieldProblem::OutOfRange { min, max });
    }
    Ok(())
}

/// A `Number(Vmax)` given as text (e.g. `quantity`): decimal digits
/// with at most one decimal point when `decimal` is true.
pub fn numeric_text(field: &str, value: &str, max: usize, decimal: bool) -> Checked {
    required_text(field, value, max)?;
    let mut dots = 0;
    let ok = value.chars().all(|c| {
        if c == '.' && decimal {
            dots += 1;
            true
        } else {
            c.is_ascii_digit()
        }
    });
    if !ok || dots > 1 || value.starts_with('.') || value.ends_with('.') {
        return err(field, FieldProblem::NotNumeric);
    }
    Ok(())
}

/// A dotted IPv4 address of at most 15 characters (H5 `ip`, API §7.1).
pub fn ipv4(field: &str, value: &str) -> Checked {
    required_text(field, value, 15)?;
    if value.parse::<std::net::Ipv4Addr>().is_err() {
        return err(
            field,
            FieldProblem::Invalid("must be an IPv4 address such as 125.71.132.197"),
        );
    }
    Ok(())
}

/// An absolute `http://` or `https://` URL of at most `max` characters.
pub fn url(field: &str, value: &str, max: usize) -> Checked {
    required_text(field, value, max)?;
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !value.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => err(
            field,
            FieldProblem::Invalid("must be an absolute http:// or https:// URL"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert!(required_text("reason", &"退".repeat(255), 255).is_ok());
        assert_eq!(
            required_text("reason", &"退".repeat(256), 255)
                .unwrap_err()
                .problem,
            FieldProblem::TooLong {
                max: 255,
                actual: 256
            }
        );
        assert_eq!(
            required_text("reason", "  ", 255).unwrap_err().problem,
            FieldProblem::Missing
        );
        assert_eq!(
            optional_text("msg", Some("a\u{1}b"), 10)
                .unwrap_err()
                .problem,
            FieldProblem::ControlCharacter
        );
    }

    #[test]
    fn fees() {
        assert!(fee("total_fee", 1).is_ok());
        assert!(fee("total_fee", 9_999_999_999).is_ok());
        assert_eq!(
            fee("total_fee", 0).unwrap_err().problem,
            FieldProblem::NotPositive
        );
        assert_eq!(
            fee("total_fee", -5).unwrap_err().problem,
            FieldProblem::NotPositive
        );
        assert_eq!(
            fee("total_fee", 10_000_000_000).unwrap_err().problem,
            FieldProblem::TooManyDigits { max: 10 }
        );
    }

    #[test]
    fn serials_numbers_ips_urls() {
        assert!(serial("req_seq", "12345678901234567890").is_ok());
        assert!(matches!(
            serial("req_seq", "123456789012345678901")
                .unwrap_err()
                .problem,
            FieldProblem::TooLong {
                max: 20,
                actual: 21
            }
        ));
        assert!(matches!(
            serial("req_seq", "12 34").unwrap_err().problem,
            FieldProblem::Invalid(_)
        ));
        assert!(numeric_text("quantity", "1.5", 10, true).is_ok());
        assert_eq!(
            numeric_text("quantity", "1.5.", 10, true)
                .unwrap_err()
                .problem,
            FieldProblem::NotNumeric
        );
        assert_eq!(
            numeric_text("ori_seq", "12a", 20, false)
                .unwrap_err()
                .problem,
            FieldProblem::NotNumeric
        );
        assert!(ipv4("ip", "125.71.132.197").is_ok());
        assert!(ipv4("ip", "125.71.132").is_err());
        assert!(url("redirect_url", "http://xxx.com/call.html?xxx=xxxx", 256).is_ok());
        assert!(url("redirect_url", "ftp://x", 256).is_err());
        assert!(range("expire_time", 300, 300, 1800).is_ok());
        assert!(range("expire_time", 1801, 300, 1800).is_err());
    }
}
