//! Wire cryptography: MD5, dsn derivation, AES/CBC with zero padding, base64,
//! request and response signatures.
//!
//! Interprets API sections 1.3 (AES/CBC/NoPadding, upper-case MD5, UTF-8),
//! 2.5.1 (request key/IV, dsn), 2.5.2 (request signature), 2.6.1 (response
//! key/IV) and 2.6.2 (response signature), with the decisions recorded in
//! `docs/DESIGN.md` ("Protocol decisions"). Every value here is checked
//! against `tests/fixtures/wire-crypto.json`, produced with the JDK.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine as _;
use md5::{Digest, Md5};

/// AES block size in bytes.
const BLOCK: usize = 16;

/// Why bytes could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The key is not 16, 24 or 32 bytes long.
    BadKeyLength(usize),
    /// The base64 text has a character outside the standard alphabet or bad padding.
    BadBase64,
    /// The ciphertext is empty or not a multiple of the AES block size.
    BadCiphertextLength(usize),
    /// The decrypted bytes are not UTF-8 text.
    NotUtf8,
}

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CryptoError::BadKeyLength(n) => {
                write!(f, "AES key must be 16, 24 or 32 bytes, got {n}")
            }
            CryptoError::BadBase64 => f.write_str("data is not valid base64"),
            CryptoError::BadCiphertextLength(n) => {
                write!(f, "ciphertext length {n} is not a non-zero multiple of 16")
            }
            CryptoError::NotUtf8 => f.write_str("decrypted data is not UTF-8"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// MD5 of `data` as 32 upper-case hex digits (API §1.3).
pub fn md5_upper(data: &[u8]) -> String {
    let digest = Md5::digest(data);
    let mut out = String::with_capacity(32);
    for b in digest {
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0x0f)]));
    }
    out
}

/// MD5 over several parts concatenated, without building the concatenation.
fn md5_upper_parts(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(32);
    for b in digest {
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0x0f)]));
    }
    out
}

/// Device serial number (API §2.5.1): `MD5(lower(acct) + private_key + MD5(pass))`.
///
/// `MD5(pass)` is as good as the password for deriving a dsn, so the
/// intermediate copy is zeroed before it is freed.
pub fn derive_dsn(acct: &str, private_key: &str, pass: &str) -> String {
    let pass_md5 = zeroize::Zeroizing::new(md5_upper(pass.as_bytes()));
    md5_upper_parts(&[
        acct.to_lowercase().as_bytes(),
        private_key.as_bytes(),
        pass_md5.as_bytes(),
    ])
}

/// Request signature (API §2.5.2): `MD5(private_key + dsn + data)`, where
/// `data` is the base64 text exactly as sent.
pub fn request_signature(private_key: &str, dsn: &str, data_b64: &str) -> String {
    md5_upper_parts(&[private_key.as_bytes(), dsn.as_bytes(), data_b64.as_bytes()])
}

/// Response signature (API §2.6.2): `MD5(dsn + timestamp + data)`.
pub fn response_signature(dsn: &str, timestamp: &str, data_b64: &str) -> String {
    md5_upper_parts(&[dsn.as_bytes(), timestamp.as_bytes(), data_b64.as_bytes()])
}

/// Compares a computed signature with a received one.
///
/// `expected` is our own upper-case MD5 hex; `given` comes from the network
/// and may be lower case. Only `given` is case-folded (its timing reveals
/// nothing the sender does not know); the comparison itself runs in constant
/// time over the bytes ([`subtle::ConstantTimeEq`]), so how long it takes
/// tells a forger nothing about how many leading characters were right.
/// Lengths are public (a signature is 32 characters), so a length mismatch
/// returns at once.
pub fn signature_eq(expected: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    if expected.len() != given.len() {
        return false;
    }
    let given_upper = given.to_ascii_uppercase();
    let expected_upper = expected.to_ascii_uppercase();
    bool::from(expected_upper.as_bytes().ct_eq(given_upper.as_bytes()))
}

/// The AES key for requests: the private key's bytes (16, 24 or 32 of them).
/// The IV is the first 16 bytes of the same key (API §2.5.1).
fn check_key(key: &[u8]) -> Result<(), CryptoError> {
    match key.len() {
        16 | 24 | 32 => Ok(()),
        n => Err(CryptoError::BadKeyLength(n)),
    }
}

/// Encrypts `plain` with AES/CBC, key = `key`, IV = first 16 bytes of `key`,
/// after zero-padding it to a multiple of 16 bytes (NoPadding on the wire).
pub fn aes_encrypt(key: &[u8], plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_key(key)?;
    let padded_len = plain.len().div_ceil(BLOCK).max(1) * BLOCK;
    let mut buf = vec![0u8; padded_len];
    buf[..plain.len()].copy_from_slice(plain);
    let iv = &key[..BLOCK];
    let n = buf.len();
    // The length is a multiple of the block size, so the NoPadding encryptor
    // cannot fail; the match keeps that an error rather than a panic.
    let res = match key.len() {
        16 => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map(|c| c.encrypt_padded_mut::<NoPadding>(&mut buf, n).is_ok()),
        24 => cbc::Encryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map(|c| c.encrypt_padded_mut::<NoPadding>(&mut buf, n).is_ok()),
        _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map(|c| c.encrypt_padded_mut::<NoPadding>(&mut buf, n).is_ok()),
    };
    match res {
        Ok(true) => Ok(buf),
        _ => Err(CryptoError::BadKeyLength(key.len())),
    }
}

/// Decrypts AES/CBC (key and IV as in [`aes_encrypt`]) and strips the
/// trailing NUL bytes of the zero padding.
pub fn aes_decrypt(key: &[u8], cipher: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_key(key)?;
    if cipher.is_empty() || !cipher.len().is_multiple_of(BLOCK) {
        return Err(CryptoError::BadCiphertextLength(cipher.len()));
    }
    let mut buf = cipher.to_vec();
    let iv = &key[..BLOCK];
    let ok = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map(|c| c.decrypt_padded_mut::<NoPadding>(&mut buf).is_ok()),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map(|c| c.decrypt_padded_mut::<NoPadding>(&mut buf).is_ok()),
        _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map(|c| c.decrypt_padded_mut::<NoPadding>(&mut buf).is_ok()),
    };
    if ok != Ok(true) {
        return Err(CryptoError::BadCiphertextLength(cipher.len()));
    }
    let end = buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    buf.truncate(end);
    Ok(buf)
}

/// Standard base64 with `=` padding and no line breaks.
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64, ignoring ASCII whitespace and line breaks anywhere
/// (Java MIME encoders wrap lines at 76 characters).
pub fn base64_decode(text: &str) -> Result<Vec<u8>, CryptoError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    // The usual answer has no line breaks: decode it in place of a copy.
    if !text.bytes().any(|b| b.is_ascii_whitespace()) {
        return engine.decode(text).map_err(|_| CryptoError::BadBase64);
    }
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    engine.decode(compact).map_err(|_| CryptoError::BadBase64)
}

/// The response key (API §2.6.1): the first 16 characters of the dsn.
/// A dsn shorter than 16 bytes yields a key the cipher refuses.
fn response_key(dsn: &str) -> &[u8] {
    let b = dsn.as_bytes();
    &b[..b.len().min(BLOCK)]
}

/// Encrypts a request's plain `<data>` XML into the base64 `data` text (API §2.5.1).
pub fn seal_request_data(private_key: &str, plain: &str) -> Result<String, CryptoError> {
    Ok(base64_encode(&aes_encrypt(
        private_key.as_bytes(),
        plain.as_bytes(),
    )?))
}

/// Decrypts a request's base64 `data` text into its plain XML (platform side).
pub fn open_request_data(private_key: &str, data_b64: &str) -> Result<String, CryptoError> {
    let bytes = aes_decrypt(private_key.as_bytes(), &base64_decode(data_b64)?)?;
    String::from_utf8(bytes).map_err(|_| CryptoError::NotUtf8)
}

/// Encrypts a response's plain `<data>` XML into base64 (platform side, API §2.6.1).
pub fn seal_response_data(dsn: &str, plain: &str) -> Result<String, CryptoError> {
    Ok(base64_encode(&aes_encrypt(
        response_key(dsn),
        plain.as_bytes(),
    )?))
}

/// Decrypts a response's base64 `data` text into its plain XML (API §2.6.1).
pub fn open_response_data(dsn: &str, data_b64: &str) -> Result<String, CryptoError> {
    let bytes = aes_decrypt(response_key(dsn), &base64_decode(data_b64)?)?;
    String::from_utf8(bytes).map_err(|_| CryptoError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_is_upper_hex() {
        assert_eq!(md5_upper(b"123456"), "E10ADC3949BA59ABBE56E057F20F883E");
        assert_eq!(md5_upper(b""), "D41D8CD98F00B204E9800998ECF8427E");
    }

    #[test]
    fn zero_padding_round_trips_and_strips() {
        let key = b"0123456789ABCDEF";
        for len in [0usize, 1, 15, 16, 17, 31, 32, 100] {
            let plain: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let c = aes_encrypt(key, &plain).unwrap();
            assert_eq!(c.len() % 16, 0);
            assert!(!c.is_empty());
            assert_eq!(aes_decrypt(key, &c).unwrap(), plain);
        }
    }

    #[test]
    fn key_lengths() {
        assert_eq!(
            aes_encrypt(b"short", b"x"),
            Err(CryptoError::BadKeyLength(5))
        );
        let k24 = b"0123456789ABCDEF01234567";
        let k32 = b"0123456789ABCDEF0123456789ABCDEF";
        for k in [&k24[..], &k32[..]] {
            let c = aes_encrypt(k, b"hello").unwrap();
            assert_eq!(aes_decrypt(k, &c).unwrap(), b"hello");
        }
    }

    #[test]
    fn bad_ciphertext_is_an_error() {
        let key = b"0123456789ABCDEF";
        assert_eq!(
            aes_decrypt(key, b""),
            Err(CryptoError::BadCiphertextLength(0))
        );
        assert_eq!(
            aes_decrypt(key, &[1u8; 17]),
            Err(CryptoError::BadCiphertextLength(17))
        );
    }

    #[test]
    fn base64_tolerates_line_breaks() {
        let enc = base64_encode(b"The quick brown fox jumps over the lazy dog, twice over.");
        let wrapped: String = enc
            .as_bytes()
            .chunks(10)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n ");
        assert_eq!(
            base64_decode(&wrapped).unwrap(),
            b"The quick brown fox jumps over the lazy dog, twice over."
        );
        assert_eq!(base64_decode("@@@@"), Err(CryptoError::BadBase64));
    }

    #[test]
    fn signature_compare() {
        assert!(signature_eq("ABCDEF", "abcdef"));
        assert!(!signature_eq("ABCDEF", "ABCDEE"));
        assert!(!signature_eq("ABCDEF", "ABCDE"));
    }
}
