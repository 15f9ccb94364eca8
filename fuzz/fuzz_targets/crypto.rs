//! base64 decoding and AES/CBC decryption with zero-padding removal, in
//! both directions' key schedules, plus the round-trip property.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ystpay::protocol::crypto;

const KEYS: [&[u8]; 3] = [
    b"0123456789ABCDEF",
    b"0123456789ABCDEF01234567",
    b"0123456789ABCDEF0123456789ABCDEF",
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let key = KEYS[usize::from(sel) % 3];
    // Raw ciphertext of any length.
    let _ = crypto::aes_decrypt(key, rest);
    // Round trip: exact up to trailing NULs.
    let c = crypto::aes_encrypt(key, rest).expect("valid key");
    assert_eq!(c.len() % 16, 0);
    let back = crypto::aes_decrypt(key, &c).expect("own ciphertext decrypts");
    let end = rest.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    assert_eq!(&back[..], &rest[..end]);
    // Text: base64 then decrypt, as both envelopes do.
    if let Ok(text) = std::str::from_utf8(rest) {
        if let Ok(bytes) = crypto::base64_decode(text) {
            assert_eq!(
                crypto::base64_decode(&crypto::base64_encode(&bytes)).as_deref(),
                Ok(&bytes[..])
            );
        }
        let _ = crypto::open_response_data("F3E4C4D0A1B2C3D4E5F60718293A4B5C", text);
        let _ = crypto::open_request_data("0123456789ABCDEF", text);
    }
});
