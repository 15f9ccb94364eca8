//! Value types shared by the messages: channels, statuses, payment codes,
//! product lines.

use super::rules::{self, Checked, FieldError, FieldProblem};

/// A payment channel letter (API §4.1, §4.3 etc.: `W` WeChat Pay, `A` Alipay,
/// `Q` QQ Wallet, `Y` BestPay/翼支付).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `W` — 微支付 (WeChat Pay).
    WeChat,
    /// `A` — 支付宝 (Alipay).
    Alipay,
    /// `Q` — 手Q支付 (QQ Wallet).
    Qq,
    /// `Y` — 翼支付 (BestPay).
    BestPay,
    /// A letter the API document does not list, kept as received so that a new
    /// channel on the platform never turns a valid answer into an error.
    Other(String),
}

impl Channel {
    /// The wire letter.
    pub fn code(&self) -> &str {
        match self {
            Channel::WeChat => "W",
            Channel::Alipay => "A",
            Channel::Qq => "Q",
            Channel::BestPay => "Y",
            Channel::Other(s) => s,
        }
    }

    /// Reads a wire letter; unknown letters become [`Channel::Other`].
    pub fn from_code(code: &str) -> Channel {
        match code {
            "W" | "w" => Channel::WeChat,
            "A" | "a" => Channel::Alipay,
            "Q" | "q" => Channel::Qq,
            "Y" | "y" => Channel::BestPay,
            other => Channel::Other(other.to_string()),
        }
    }

    /// Checks that this channel is one of the letters in `allowed`.
    pub fn check(&self, field: &str, allowed: &'static str) -> Checked {
        let c = self.code();
        if c.len() == 1 && allowed.contains(c) && !matches!(self, Channel::Other(_)) {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                FieldProblem::ChannelNotAllowed { allowed },
            ))
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An order's or refund's status (`status` in the responses).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// `S` (also `SUCCESS`, as in the example of API §2.6.1): paid / refunded.
    Success,
    /// `W`: the customer has not finished paying yet (entering a password,
    /// QR code not yet scanned).
    Waiting,
    /// `F`: failed or closed; no money taken.
    Failed,
    /// Any letter the API document does not define (a channel's own word
    /// such as `USERPAYING` included), kept as received. It proves nothing:
    /// never paid, never failed (see `crate::reading`).
    Other(String),
}

impl Status {
    /// The wire form.
    pub fn code(&self) -> &str {
        match self {
            Status::Success => "S",
            Status::Waiting => "W",
            Status::Failed => "F",
            Status::Other(s) => s,
        }
    }

    /// Reads a wire status.
    pub fn from_code(code: &str) -> Status {
        match code.to_ascii_uppercase().as_str() {
            "S" | "SUCCESS" => Status::Success,
            "W" => Status::Waiting,
            "F" => Status::Failed,
            _ => Status::Other(code.to_string()),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The customer's payment code (`auth_code`): a bearer credential for the
/// customer's money while it is valid. Its `Debug` and `Display` show only
/// the first and last four characters.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PaymentCode(String);

impl PaymentCode {
    /// Wraps a scanned code.
    pub fn new(code: impl Into<String>) -> Self {
        PaymentCode(code.into())
    }

    /// The full code, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The code with all but the first and last four characters masked.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }

    /// Whether `scan` has the form of a customer's payment code: 16 to 24
    /// digits, starting with a prefix the wallets the platform serves give
    /// their codes (WeChat Pay 10–15, 18 digits; Alipay 25–30, 16–24
    /// digits; QQ Wallet 91; UnionPay 62; BestPay 51). The payment window
    /// checks a scan with it before sending anything, so that a product's
    /// barcode or a mistyped code is refused at the till; the settle calls
    /// themselves send what the program gives them (API §4.1 asks only for
    /// a String(V32)).
    pub fn looks_valid(scan: &str) -> bool {
        let len = scan.len();
        if !(16..=24).contains(&len) || !scan.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        match &scan[..2] {
            "10" | "11" | "12" | "13" | "14" | "15" => len == 18,
            "25" | "26" | "27" | "28" | "29" | "30" => true,
            "91" | "62" | "51" => true,
            _ => false,
        }
    }
}

/// Masks all but the first four and last four characters of `s`.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

impl std::fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PaymentCode({})", self.masked())
    }
}

impl std::fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl From<&str> for PaymentCode {
    fn from(s: &str) -> Self {
        PaymentCode(s.to_string())
    }
}

impl From<String> for PaymentCode {
    fn from(s: String) -> Self {
        PaymentCode(s)
    }
}

/// One line of `prod_details` (API §4.1, "商品详情 json 格式").
///
/// Prices are held in fen and written as yuan strings with two decimals,
/// as the API document shows (`"17.60"`), so callers never format money themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProdItem {
    /// `goodsId`, String(V50): the barcode.
    pub goods_id: String,
    /// `goodsName`, String(V200).
    pub goods_name: String,
    /// `price`: unit price in fen (written in yuan).
    pub price_fen: i64,
    /// `quantity`, Number(V10): decimal text such as `1` or `0.5`.
    pub quantity: String,
    /// `goodsFee`: amount to pay for this line in fen (written in yuan), optional.
    pub goods_fee_fen: Option<i64>,
}

/// Formats fen as yuan with two decimals: `1760` → `"17.60"`.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Parses a yuan amount with at most two decimals into fen: `"17.6"` → `1760`.
pub fn yuan_to_fen(yuan: &str) -> Option<i64> {
    let (int, frac) = match yuan.split_once('.') {
        Some((i, f)) => (i, f),
        None => (yuan, ""),
    };
    if int.is_empty() || frac.len() > 2 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || int.len() > 12 {
        return None;
    }
    let i: i64 = int.parse().ok()?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    i.checked_mul(100)?.checked_add(f)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ProdItemJson {
    #[serde(rename = "goodsId")]
    goods_id: String,
    #[serde(rename = "goodsName")]
    goods_name: String,
    price: String,
    quantity: String,
    #[serde(rename = "goodsFee", skip_serializing_if = "Option::is_none", default)]
    goods_fee: Option<String>,
}

impl ProdItem {
    /// A line with unit price and quantity; `goodsFee` is left out.
    pub fn new(
        goods_id: impl Into<String>,
        goods_name: impl Into<String>,
        price_fen: i64,
        quantity: impl Into<String>,
    ) -> Self {
        ProdItem {
            goods_id: goods_id.into(),
            goods_name: goods_name.into(),
            price_fen,
            quantity: quantity.into(),
            goods_fee_fen: None,
        }
    }

    /// Checks the line's rules; `index` names it in the error.
    pub fn check(&self, index: usize) -> Checked {
        let name = |f: &str| format!("prod_details[{index}].{f}");
        rules::required_text(&name("goodsId"), &self.goods_id, 50)?;
        rules::required_text(&name("goodsName"), &self.goods_name, 200)?;
        if self.price_fen < 0 {
            return Err(FieldError::new(name("price"), FieldProblem::NotPositive));
        }
        if self.price_fen > 99_999_999 {
            return Err(FieldError::new(
                name("price"),
                FieldProblem::TooManyDigits { max: 10 },
            ));
        }
        rules::numeric_text(&name("quantity"), &self.quantity, 10, true)?;
        if let Some(fee) = self.goods_fee_fen {
            if fee < 0 {
                return Err(FieldError::new(name("goodsFee"), FieldProblem::NotPositive));
            }
            if fee > 99_999_999 {
                return Err(FieldError::new(
                    name("goodsFee"),
                    FieldProblem::TooManyDigits { max: 10 },
                ));
            }
        }
        Ok(())
    }

    fn to_json(&self) -> ProdItemJson {
        ProdItemJson {
            goods_id: self.goods_id.clone(),
            goods_name: self.goods_name.clone(),
            price: fen_to_yuan(self.price_fen),
            quantity: self.quantity.clone(),
            goods_fee: self.goods_fee_fen.map(fen_to_yuan),
        }
    }
}

/// Writes `prod_details` as the JSON array of API §4.1.
pub fn prod_details_json(items: &[ProdItem]) -> String {
    let v: Vec<ProdItemJson> = items.iter().map(ProdItem::to_json).collect();
    // Serializing plain strings into a Vec cannot fail.
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".to_string())
}

/// Reads a `prod_details` JSON array (platform side, or a caller's own JSON).
/// Prices given as JSON numbers are accepted too.
pub fn parse_prod_details(json: &str) -> Result<Vec<ProdItem>, FieldError> {
    let bad = || {
        FieldError::new(
            "prod_details",
            FieldProblem::Invalid("is not a valid product JSON array"),
        )
    };
    let raw: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(json).map_err(|_| bad())?;
    let text = |m: &serde_json::Map<String, serde_json::Value>, k: &str| -> Option<String> {
        match m.get(k)? {
            serde_json::Value::String(s) => Some(s.trim().to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    raw.iter()
        .map(|m| {
            Ok(ProdItem {
                goods_id: text(m, "goodsId").ok_or_else(bad)?,
                goods_name: text(m, "goodsName").ok_or_else(bad)?,
                price_fen: text(m, "price")
                    .and_then(|p| yuan_to_fen(&p))
                    .ok_or_else(bad)?,
                quantity: text(m, "quantity").ok_or_else(bad)?,
                goods_fee_fen: match text(m, "goodsFee") {
                    None => None,
                    Some(p) => Some(yuan_to_fen(&p).ok_or_else(bad)?),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formatting() {
        assert_eq!(fen_to_yuan(1760), "17.60");
        assert_eq!(fen_to_yuan(5), "0.05");
        assert_eq!(fen_to_yuan(0), "0.00");
        assert_eq!(yuan_to_fen("17.6"), Some(1760));
        assert_eq!(yuan_to_fen("17.60"), Some(1760));
        assert_eq!(yuan_to_fen("0.05"), Some(5));
        assert_eq!(yuan_to_fen("3"), Some(300));
        assert_eq!(yuan_to_fen("1.234"), None);
        assert_eq!(yuan_to_fen("-1"), None);
        assert_eq!(yuan_to_fen("1e3"), None);
    }

    #[test]
    fn prod_details_round_trip() {
        let mut cookie = ProdItem::new("2900002400915", "奶油曲奇 & \"小石头\"", 1760, "1");
        cookie.goods_fee_fen = Some(1760);
        let items = vec![cookie, ProdItem::new("2900002400922", "小石头", 2560, "2")];
        let json = prod_details_json(&items);
        assert!(json.starts_with("[{\"goodsId\":\"2900002400915\""));
        assert!(json.contains("\"price\":\"17.60\""));
        assert_eq!(parse_prod_details(&json).unwrap(), items);
        // The API document's own example, with spaces and a trailing comma removed.
        let seed = r#"[{"goodsId": "2900002400915", "goodsName": "奶油曲奇", "price": "17.60", "quantity": "1", "goodsFee": "17.60"}]"#;
        assert_eq!(parse_prod_details(seed).unwrap()[0].price_fen, 1760);
    }

    #[test]
    fn prod_item_rules() {
        let ok = ProdItem::new("1", "x", 100, "1");
        assert!(ok.check(0).is_ok());
        let long = ProdItem::new("1".repeat(51), "x", 100, "1");
        assert_eq!(long.check(3).unwrap_err().field, "prod_details[3].goodsId");
        let neg = ProdItem::new("1", "x", -1, "1");
        assert_eq!(neg.check(0).unwrap_err().field, "prod_details[0].price");
        let qty = ProdItem::new("1", "x", 1, "one");
        assert_eq!(qty.check(0).unwrap_err().field, "prod_details[0].quantity");
    }

    #[test]
    fn scans_that_are_not_payment_codes() {
        assert!(PaymentCode::looks_valid("134567890123456789"));
        assert!(PaymentCode::looks_valid("2812345678901201"));
        assert!(PaymentCode::looks_valid("281234567890120112345678"));
        for bad in [
            "ABC123",
            "",
            "13456789012345678",
            "1345678901234567890",
            "13456789012345678A",
            "981234567890120112",
            "2812345678901201123456789",
            "１３4567890123456789",
        ] {
            assert!(!PaymentCode::looks_valid(bad), "{bad}");
        }
    }

    #[test]
    fn codes_are_masked() {
        let c = PaymentCode::new("134567890123456789");
        assert_eq!(format!("{c:?}"), "PaymentCode(1345**********6789)");
        assert_eq!(c.to_string(), "1345**********6789");
        assert_eq!(mask("1234"), "****");
    }

    #[test]
    fn channel_and_status_codes() {
        assert_eq!(Channel::from_code("A"), Channel::Alipay);
        assert_eq!(Channel::from_code("U"), Channel::Other("U".into()));
        assert!(Channel::Qq.check("channel", "WA").is_err());
        assert!(Channel::Other("U".into()).check("channel", "WAQY").is_err());
        assert!(Channel::BestPay.check("channel", "WAQY").is_ok());
        assert_eq!(Status::from_code("SUCCESS"), Status::Success);
        // Only letters the API document defines mean something.
        assert_eq!(Status::from_code("w"), Status::Waiting);
        assert_eq!(
            Status::from_code("USERPAYING"),
            Status::Other("USERPAYING".into())
        );
        assert_eq!(Status::from_code("CLOSED"), Status::Other("CLOSED".into()));
        assert_eq!(Status::from_code("?"), Status::Other("?".into()));
    }
}
