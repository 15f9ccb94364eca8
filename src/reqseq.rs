//! Request serial numbers (`req_seq`, String(V20)) unique per merchant across
//! registers and restarts.
//!
//! Layout, 20 decimal digits: `yyMMddHHmmss` (China time, UTC+8) + a 4-digit
//! register tag + a 4-digit counter.
//! - Registers differ by the tag: the configured register number, or,
//!   when none is set, 4 digits derived from the device's dsn (two devices of
//!   one merchant then share a tag with probability 1/10,000; set
//!   `register_no` to make it certain).
//! - Within one process the (second, counter) pair never repeats: the counter
//!   advances on every call, and when it would wrap within one second the
//!   generator waits for the next second.
//! - Across restarts the counter starts at a random value, so a restart
//!   within the same second collides only if the new range overlaps the old
//!   one (at most n/10,000 for n serials issued in that second).
//!
//! All digits, so the value also satisfies the `Number(V20)` spelling of
//! `ori_seq` in seed 4.2 and 5.2.

use std::sync::Mutex;

/// Generates `req_seq` values for one register.
#[derive(Debug)]
pub struct ReqSeqGen {
    tag: u16,
    state: Mutex<(i64, u16, u16)>, // (second, start, next)
}

fn random_u16() -> u16 {
    let mut b = [0u8; 2];
    // Without an OS random source, fall back to the clock's nanoseconds.
    if getrandom::getrandom(&mut b).is_err() {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        return (n % 10_000) as u16;
    }
    u16::from_le_bytes(b) % 10_000
}

impl ReqSeqGen {
    /// A generator whose register tag is `register_no` (0–9999) when given,
    /// else derived from `dsn`.
    pub fn new(register_no: Option<u16>, dsn: &str) -> Self {
        let tag = match register_no {
            Some(n) => n % 10_000,
            None => {
                let h = crate::protocol::crypto::md5_upper(dsn.as_bytes());
                (u32::from_str_radix(&h[..8], 16).unwrap_or(0) % 10_000) as u16
            }
        };
        ReqSeqGen {
            tag,
            state: Mutex::new((i64::MIN, 0, 0)),
        }
    }

    /// The register tag in use.
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The next serial.
    pub fn next(&self) -> String {
        loop {
            let now = chrono::Utc::now() + chrono::Duration::hours(8);
            let sec = now.timestamp();
            let mut st = match self.state.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if sec > st.0 {
                let start = random_u16();
                *st = (sec, start, start);
            } else if sec < st.0 {
                // The clock went backwards: keep issuing within the last second seen.
            }
            let (s, start, next) = *st;
            let following = (next + 1) % 10_000;
            if following == start {
                // Counter exhausted for this second: wait for the next one.
                drop(st);
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            st.2 = following;
            let stamp = chrono::DateTime::from_timestamp(s, 0)
                .unwrap_or_default()
                .format("%y%m%d%H%M%S");
            return format!("{stamp}{:04}{next:04}", self.tag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn twenty_digits_unique_in_process() {
        let g = ReqSeqGen::new(Some(42), "ignored");
        let mut seen = HashSet::new();
        for _ in 0..25_000 {
            let s = g.next();
            assert_eq!(s.len(), 20);
            assert!(s.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(&s[12..16], "0042");
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn tag_derived_from_dsn_when_not_configured() {
        let a = ReqSeqGen::new(None, "65AF82B65F83BB5EE4E6BF73101924F8");
        let b = ReqSeqGen::new(None, "65AF82B65F83BB5EE4E6BF73101924F8");
        assert_eq!(a.tag(), b.tag());
        assert!(a.tag() < 10_000);
    }

    #[test]
    fn threads_never_collide() {
        let g = std::sync::Arc::new(ReqSeqGen::new(Some(7), ""));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || (0..2000).map(|_| g.next()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for s in h.join().unwrap() {
                assert!(all.insert(s));
            }
        }
        assert_eq!(all.len(), 8000);
    }
}
