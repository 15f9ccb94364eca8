//! Secrets at rest: a configuration's `pass`, `private_key` and `dsn` may be
//! stored as `dpapi:` + base64 of a Windows DPAPI blob (`CryptProtectData`
//! with `CRYPTPROTECT_LOCAL_MACHINE`: any program on this machine may read
//! it back, no other machine can). A copied `ystpay.ini` then signs nothing
//! elsewhere (docs/SECURITY.md, *Secrets at rest*).
//!
//! [`Settings::set`](crate::config::Settings::set) reads protected values
//! transparently through [`reveal`]; `ystpay config --protect` rewrites a
//! file with [`protect_file`]. Plain values keep working. Only Windows can
//! protect or read a protected value: elsewhere [`reveal`] says the value
//! was protected on Windows and must be entered again.

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::config::ConfigError;

/// What starts a protected value.
pub const PREFIX: &str = "dpapi:";

/// The keys whose values are secrets (with their aliases), the ones
/// [`protect_text`] protects.
pub const SECRET_KEYS: &[&str] = &["pass", "password", "private_key", "dsn"];

/// Why a protected value cannot be read on this machine (a file copied from
/// another register, or a blob changed since).
pub const OTHER_MACHINE: &str = "the secrets in this configuration were protected on another machine: enter them again (此配置中的密钥是在另一台电脑上加密保护的：请重新输入)";

/// Why a protected value cannot be read outside Windows.
pub const NOT_WINDOWS: &str = "the secrets in this configuration were protected on Windows: enter them again (此配置中的密钥是在 Windows 上加密保护的：请重新输入)";

/// Why `--protect` does nothing here.
pub const WINDOWS_ONLY: &str =
    "protecting secrets (DPAPI) is Windows-only (加密保护密钥仅在 Windows 上可用)";

/// True when protecting works on this platform (Windows).
pub const SUPPORTED: bool = cfg!(windows);

/// True when `value` is a protected value (`dpapi:…`).
pub fn is_protected(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// True when `key` (lower-case) names a secret.
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// The plain text of a configuration value: `value` itself when it is not
/// protected, else what DPAPI gives back. The error never holds the value.
pub fn reveal(value: &str) -> Result<Zeroizing<String>, String> {
    let Some(b64) = value.strip_prefix(PREFIX) else {
        return Ok(Zeroizing::new(value.to_string()));
    };
    let blob = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| format!("{OTHER_MACHINE}: the dpapi: value is not base64"))?,
    );
    let plain = Zeroizing::new(dpapi::unprotect(&blob)?);
    match std::str::from_utf8(&plain) {
        Ok(s) => Ok(Zeroizing::new(s.to_string())),
        Err(_) => Err(format!("{OTHER_MACHINE}: the dpapi: value is not text")),
    }
}

/// `plain` as a protected value (`dpapi:…`), bound to this machine.
pub fn protect(plain: &str) -> Result<String, String> {
    let blob = dpapi::protect(plain.as_bytes())?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    ))
}

/// Configuration text with each plain, non-empty secret value replaced by
/// `seal(value)`, and the keys replaced. Every other byte stays as it was:
/// comments, blank lines, sections, line ends (CRLF or LF), spacing before
/// the value, other keys. Values already protected are left alone. The text
/// must parse ([`crate::config::parse_pairs`]): a broken file is not
/// rewritten.
pub fn protect_text(
    text: &str,
    mut seal: impl FnMut(&str) -> Result<String, String>,
) -> Result<(Zeroizing<String>, Vec<String>), ConfigError> {
    crate::config::parse_pairs(text)?;
    let mut out = Zeroizing::new(String::with_capacity(text.len() * 4));
    let mut done = Vec::new();
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let body = raw.trim_end_matches(['\n', '\r']);
        let ending = &raw[body.len()..];
        let bom = if i == 0 && body.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let t = body[bom..].trim();
        let pair = (!t.starts_with('#') && !t.starts_with(';') && !t.starts_with('['))
            .then(|| body.split_once('='))
            .flatten();
        let Some((k, v)) = pair else {
            out.push_str(raw);
            continue;
        };
        let key = k.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
        let mut value = v.trim();
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = &value[1..value.len() - 1];
        }
        if !is_secret_key(&key) || value.is_empty() || is_protected(value) {
            out.push_str(raw);
            continue;
        }
        let sealed = seal(value).map_err(|message| ConfigError {
            line: i + 1,
            message,
        })?;
        // `key = ` as written, then the sealed value.
        let lead = v.len() - v.trim_start().len();
        out.push_str(k);
        out.push('=');
        out.push_str(&v[..lead]);
        out.push_str(&sealed);
        out.push_str(ending);
        done.push(key);
    }
    Ok((out, done))
}

/// Rewrites the configuration file at `path` with its plain secrets
/// protected ([`protect_text`], [`protect`]), whole or not at all
/// ([`crate::files::write_whole`]); returns the keys protected (none: the
/// file is not written). Windows only: elsewhere [`WINDOWS_ONLY`].
pub fn protect_file(path: &std::path::Path) -> Result<Vec<String>, ConfigError> {
    if !SUPPORTED {
        return Err(ConfigError {
            line: 0,
            message: WINDOWS_ONLY.into(),
        });
    }
    let text = crate::config::read_file(path).map_err(|e| match e {
        crate::config::ReadError::Io(message) => ConfigError { line: 0, message },
        crate::config::ReadError::TooLarge(e) | crate::config::ReadError::NotUtf8(e) => e,
    })?;
    let (new, keys) = protect_text(&text, protect)?;
    if !keys.is_empty() {
        crate::files::write_whole(path, new.as_bytes()).map_err(|e| ConfigError {
            line: 0,
            message: format!("cannot write {}: {e}", path.display()),
        })?;
    }
    Ok(keys)
}

/// The secret keys of configuration text whose values are plain (not
/// protected, not empty): what a warning about the file's readers names.
pub fn plain_secrets(text: &str) -> Vec<String> {
    crate::config::parse_pairs(text)
        .map(|pairs| {
            pairs
                .into_iter()
                .filter(|(k, v, _)| is_secret_key(k) && !v.is_empty() && !is_protected(v))
                .map(|(k, _, _)| k)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(windows)]
mod dpapi {
    use windows_sys::Win32::Foundation::{GetLastError, LocalFree};
    use windows_sys::Win32::Security::Cryptography::{
        CryptProtectData, CryptUnprotectData, CRYPTPROTECT_LOCAL_MACHINE,
        CRYPTPROTECT_UI_FORBIDDEN, CRYPT_INTEGER_BLOB,
    };

    fn blob(bytes: &[u8]) -> Result<CRYPT_INTEGER_BLOB, String> {
        Ok(CRYPT_INTEGER_BLOB {
            cbData: u32::try_from(bytes.len()).map_err(|_| "value too long".to_string())?,
            pbData: bytes.as_ptr().cast_mut(),
        })
    }

    /// Copies DPAPI's output, wipes and frees it (it is LocalAlloc'd).
    ///
    /// # Safety
    /// `out` is a blob DPAPI filled.
    unsafe fn take(out: CRYPT_INTEGER_BLOB) -> Vec<u8> {
        if out.pbData.is_null() {
            return Vec::new();
        }
        // SAFETY: DPAPI wrote cbData bytes at pbData.
        let bytes = unsafe { std::slice::from_raw_parts_mut(out.pbData, out.cbData as usize) };
        let v = bytes.to_vec();
        zeroize::Zeroize::zeroize(bytes);
        // SAFETY: DPAPI's output is freed with LocalFree, once.
        unsafe { LocalFree(out.pbData.cast()) };
        v
    }

    pub fn protect(plain: &[u8]) -> Result<Vec<u8>, String> {
        let input = blob(plain)?;
        let mut out = CRYPT_INTEGER_BLOB {
            cbData: 0,
            pbData: std::ptr::null_mut(),
        };
        // SAFETY: valid input blob; NULL description, entropy and prompt;
        // `out` written by the call.
        let ok = unsafe {
            CryptProtectData(
                &input,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN,
                &mut out,
            )
        };
        if ok == 0 {
            // SAFETY: no arguments.
            let e = unsafe { GetLastError() };
            return Err(format!("CryptProtectData failed (Windows error {e})"));
        }
        // SAFETY: filled by the call above.
        Ok(unsafe { take(out) })
    }

    pub fn unprotect(protected: &[u8]) -> Result<Vec<u8>, String> {
        let input = blob(protected)?;
        let mut out = CRYPT_INTEGER_BLOB {
            cbData: 0,
            pbData: std::ptr::null_mut(),
        };
        // SAFETY: as in `protect`; no description wanted back.
        let ok = unsafe {
            CryptUnprotectData(
                &input,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                CRYPTPROTECT_UI_FORBIDDEN,
                &mut out,
            )
        };
        if ok == 0 {
            // SAFETY: no arguments.
            let e = unsafe { GetLastError() };
            return Err(format!("{} (Windows error {e})", super::OTHER_MACHINE));
        }
        // SAFETY: filled by the call above.
        Ok(unsafe { take(out) })
    }
}

#[cfg(not(windows))]
mod dpapi {
    pub fn protect(_plain: &[u8]) -> Result<Vec<u8>, String> {
        Err(super::WINDOWS_ONLY.into())
    }

    pub fn unprotect(_protected: &[u8]) -> Result<Vec<u8>, String> {
        Err(super::NOT_WINDOWS.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\u{feff}; register 3\r\n[ystpay]\r\nserver_url = http://127.0.0.1:8088/ystpay/service/unitive.api\r\nacct=demo\r\npass = \"demo123\"\r\n# the key\r\nprivate_key=0123456789ABCDEF\r\ndsn =\r\nencoding = gbk\r\n";

    fn fake(v: &str) -> Result<String, String> {
        Ok(format!("{PREFIX}{}", v.len()))
    }

    #[test]
    fn protecting_keeps_every_other_byte() {
        let (out, keys) = protect_text(FILE, fake).unwrap();
        assert_eq!(keys, ["pass", "private_key"]);
        assert_eq!(
            &*out,
            &FILE
                .replace("\"demo123\"", "dpapi:7")
                .replace("=0123456789ABCDEF", "=dpapi:16")
        );
        // Already protected: nothing to do.
        let (again, keys) = protect_text(&out, fake).unwrap();
        assert!(keys.is_empty());
        assert_eq!(&*again, &*out);
        // LF files and a last line without its end.
        let (out, _) = protect_text("pass=x\nacct=a", fake).unwrap();
        assert_eq!(&*out, "pass=dpapi:1\nacct=a");
        // A broken file is not rewritten.
        assert_eq!(protect_text("pass\n", fake).unwrap_err().line, 1);
        assert_eq!(plain_secrets(FILE), ["pass", "private_key"]);
        assert!(plain_secrets("pass=dpapi:AAAA\n").is_empty());
    }

    #[cfg(not(windows))]
    #[test]
    fn a_protected_value_off_windows_says_enter_it_again() {
        assert_eq!(&*reveal("demo123").unwrap(), "demo123");
        let e = reveal("dpapi:AQAAANCMnd8BFdERjHoAwE/Cl+s=").unwrap_err();
        assert_eq!(e, NOT_WINDOWS);
        assert!(e.contains("enter them again") && e.contains("请重新输入"));
        assert!(protect("x").unwrap_err().contains("Windows-only"));
        let text = "server_url=http://127.0.0.1:1/\nacct=demo\npass=dpapi:AQAAANCMnd8=\nprivate_key=0123456789ABCDEF\n";
        let e = crate::config::Settings::parse(text).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.message, format!("'pass': {NOT_WINDOWS}"));
        assert!(!e.message.contains("AQAAANCMnd8"));
        let e = protect_file(std::path::Path::new("ystpay.ini")).unwrap_err();
        assert_eq!(e.message, WINDOWS_ONLY);
    }
}
