//! Request serial numbers (`req_seq`, String(V20), "必须保证唯一": API
//! §4.1) that are never issued twice.
//!
//! Layout, 20 decimal digits: `yyMMddHHmmss` (China time) + a 4-digit
//! register tag + a 4-digit counter. A serial's place in issue order is its
//! [`Slot`]: the China second and the counter. The counter that passes 9999
//! carries into the next second, so slots form one ascending line.
//! - Registers differ by the tag: the configured register number, or,
//!   when none is set, 4 digits derived from the device's dsn (two devices of
//!   one merchant then share a tag with probability 1/10,000; set
//!   `register_no` to make it certain).
//! - Every client of one register (account and tag) in a process shares one
//!   generator ([`ReqSeqGen::for_register`]): clients made side by side, or
//!   one after another (a POS program that creates a client per payment),
//!   continue one line of serials instead of each starting afresh. The
//!   generator is memory only; it holds no ledger.
//! - A new second starts at a random counter, so registers that share a
//!   tag but not a journal (or a process) rarely meet.
//! - With a journal, the journal is the ledger ([`SerialLedger`]) and
//!   belongs to it: each flow (and the client of each flow) issues through
//!   its own journal's ledger ([`ReqSeqGen::issue`]), for as long as it
//!   holds the journal. The journal keeps the last slot issued per account
//!   and tag. A new serial is the later of "now" and "just after the last
//!   one", and skips any serial the journal already holds for an operation,
//!   a revoke or a request sent. This holds across restarts, across
//!   processes sharing the journal, and whatever the wall clock does: after
//!   it steps back, serials continue after the last one until the clock
//!   catches up (docs/DESIGN.md, "Serials").
//! - A ledger that cannot issue (its journal busy past the timeout, or
//!   failing) gives no serial: the request that needed one is not sent.
//!   Never a serial from memory in its place.
//! - Without a journal, only this process's memory bounds the next serial
//!   ([`ReqSeqGen::next`]). The remaining risk: a process started after
//!   the clock stepped back can issue a serial an earlier process already
//!   used. The platform then refuses the reuse or answers about the
//!   earlier order, and the answer check of [`crate::reading`] keeps that
//!   from being taken as paid.
//!
//! All digits, so the value also satisfies the `Number(V20)` spelling of
//! `ori_seq` in API §4.2 and §5.2.

use std::sync::{Arc, Mutex, OnceLock};

use crate::time::{china_second, china_stamp, now_ms};

/// A serial's place in issue order: its China second and counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    /// The China second (seconds since the epoch, shifted to UTC+8).
    pub second: i64,
    /// The counter within the second, 0–9999.
    pub counter: u16,
}

impl Slot {
    /// The first slot of the current second by the library's clock.
    pub fn now() -> Slot {
        Slot {
            second: china_second(now_ms()),
            counter: 0,
        }
    }

    /// The slot right after this one (9999 carries into the next second).
    pub fn after(self) -> Slot {
        if self.counter >= 9_999 {
            Slot {
                second: self.second + 1,
                counter: 0,
            }
        } else {
            Slot {
                second: self.second,
                counter: self.counter + 1,
            }
        }
    }

    /// The serial of this slot for register `tag`.
    pub fn render(self, tag: u16) -> String {
        format!("{}{tag:04}{:04}", china_stamp(self.second), self.counter)
    }

    /// The slot and register tag of a serial this layout wrote; `None` for
    /// anything else (a serial a POS program made up, say).
    pub fn parse(serial: &str) -> Option<(Slot, u16)> {
        if serial.len() != 20 || !serial.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let t = chrono::NaiveDateTime::parse_from_str(&serial[..12], "%y%m%d%H%M%S").ok()?;
        let slot = Slot {
            second: t.and_utc().timestamp(),
            counter: serial[16..].parse().ok()?,
        };
        Some((slot, serial[12..16].parse().ok()?))
    }
}

/// Keeps the last serial issued per register, durably and shared by every
/// process that uses it: the journal implements it.
pub trait SerialLedger: Send + Sync {
    /// Issues the first slot at or after `candidate` that comes after the
    /// last one issued for `tag` and whose serial no recorded operation or
    /// request uses; records it as the last one. `Err` with words when the
    /// ledger cannot be used: then there is no serial, and the request that
    /// needed one is not sent.
    fn issue(&self, tag: u16, candidate: Slot) -> Result<Slot, String>;
}

/// The generator of each register (account, tag) of the process.
type Registers = Vec<((String, u16), Arc<ReqSeqGen>)>;

/// Generates `req_seq` values for one register: the process's memory of
/// its line of serials. A ledger, when the caller has one, bounds each
/// serial durably ([`ReqSeqGen::issue`]).
pub struct ReqSeqGen {
    tag: u16,
    /// The last slot this generator issued.
    last: Mutex<Option<Slot>>,
}

impl std::fmt::Debug for ReqSeqGen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReqSeqGen").field("tag", &self.tag).finish()
    }
}

fn random_counter() -> u16 {
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
            last: Mutex::new(None),
        }
    }

    /// The generator every client of register `register_no` (or the tag
    /// derived from `dsn`) of `account` shares in this process. A process
    /// keeps one per register for its whole life (a few bytes each), so
    /// that its clients never meet, however they come and go. It holds no
    /// ledger: each client or flow passes its own journal's.
    pub fn for_register(account: &str, register_no: Option<u16>, dsn: &str) -> Arc<ReqSeqGen> {
        // Truly process-wide: clients know nothing of each other. A process
        // has a register or two: a list, searched in order, is enough (and
        // holds plain pointers to the start of each block, which leak
        // checkers read as reachable).
        static REGISTERS: OnceLock<Mutex<Registers>> = OnceLock::new();
        let fresh = ReqSeqGen::new(register_no, dsn);
        let mut all = REGISTERS
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((_, g)) = all
            .iter()
            .find(|((a, t), _)| a == account && *t == fresh.tag)
        {
            return g.clone();
        }
        let g = Arc::new(fresh);
        all.push(((account.to_string(), g.tag), g.clone()));
        g
    }

    /// The register tag in use.
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The next serial by this process's memory alone: for a client
    /// without a journal, where memory is the only ledger
    /// (docs/DESIGN.md, "Serials").
    pub fn next(&self) -> String {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let slot = candidate(*last);
        *last = Some(slot);
        slot.render(self.tag)
    }

    /// The next serial, issued by `ledger` (the journal): after the last
    /// one the ledger issued and the last one this process issued, and none
    /// the ledger holds. `Err` with the ledger's words when it cannot issue
    /// one (its journal busy past the timeout, or failing): the caller
    /// sends nothing. A serial from memory alone would not be checked
    /// against the journal, and could be one another program on it already
    /// sent.
    pub fn issue(&self, ledger: &dyn SerialLedger) -> Result<String, String> {
        // The generator's lock is not held across the ledger: the ledger
        // takes its own locks (its block, the journal) and, inside them,
        // asks this generator for a candidate (`JournalSerials::within`).
        // Holding it here would take the two locks in both orders, and two
        // threads settling at once on one journal would deadlock. The
        // ledger alone makes serials unique; memory is only a floor.
        let slot = ledger.issue(self.tag, self.candidate())?;
        // A slot from a block the ledger reserved earlier may come before
        // the last one memory holds: memory keeps the later one.
        self.issued(slot);
        Ok(slot.render(self.tag))
    }

    /// The slot this generator would offer a ledger next (the later of
    /// "just after the last one" and "now").
    pub fn candidate(&self) -> Slot {
        candidate(*self.last.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Notes `slot` as issued by a ledger on this generator's behalf.
    pub fn issued(&self, slot: Slot) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        *last = (*last).max(Some(slot));
    }
}

/// The slot to offer after `last`: the later of "just after it" and "now";
/// a new second starts at a random counter, so that registers that share a
/// tag but not a journal (or a restart without one) rarely meet.
fn candidate(last: Option<Slot>) -> Slot {
    let now = Slot::now();
    match last.map(Slot::after) {
        Some(a) if a >= now => a,
        _ => Slot {
            second: now.second,
            counter: random_counter(),
        },
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
    fn slots_carry_into_the_next_second() {
        let s = Slot {
            second: 100,
            counter: 9_999,
        };
        assert_eq!(
            s.after(),
            Slot {
                second: 101,
                counter: 0
            }
        );
        assert!(s < s.after());
        // 2026-11-28 00:00:00 China time.
        let midnight = Slot {
            second: 1_795_795_200 + 8 * 3600,
            counter: 7,
        };
        assert_eq!(midnight.render(12), "26112800000000120007");
        assert_eq!(Slot::parse("26112800000000120007"), Some((midnight, 12)));
        assert_eq!(Slot::parse("2611280000000012000"), None);
        assert_eq!(Slot::parse("26139900000000120007"), None);
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

    /// A ledger in memory, standing in for the journal's table.
    struct MemLedger(Mutex<Option<Slot>>);

    impl SerialLedger for MemLedger {
        fn issue(&self, _tag: u16, candidate: Slot) -> Result<Slot, String> {
            let mut last = self.0.lock().unwrap();
            let slot = last.map_or(candidate, |l| l.after().max(candidate));
            *last = Some(slot);
            Ok(slot)
        }
    }

    #[test]
    fn a_shared_ledger_keeps_two_generators_apart() {
        let ledger: Arc<dyn SerialLedger> = Arc::new(MemLedger(Mutex::new(None)));
        let (a, b) = (ReqSeqGen::new(Some(3), ""), ReqSeqGen::new(Some(3), ""));
        let mut seen = HashSet::new();
        let mut previous = String::new();
        for i in 0..5_000 {
            let g = if i % 3 == 0 { &a } else { &b };
            let s = g.issue(&*ledger).unwrap();
            assert!(s > previous, "{s} after {previous}");
            assert!(seen.insert(s.clone()));
            previous = s;
        }
    }

    /// A ledger that cannot issue, as a journal busy past its timeout.
    struct Broken;

    impl SerialLedger for Broken {
        fn issue(&self, _tag: u16, _candidate: Slot) -> Result<Slot, String> {
            Err("journal storage: database is locked".into())
        }
    }

    #[test]
    fn a_ledger_that_cannot_issue_gives_no_serial() {
        let g = ReqSeqGen::new(Some(4), "");
        let before = g.next();
        assert_eq!(
            g.issue(&Broken),
            Err("journal storage: database is locked".to_string())
        );
        // Memory goes on where it was: the failure issued nothing.
        assert!(g.next() > before);
    }

    #[test]
    fn clients_of_one_register_share_its_line_of_serials() {
        let a = ReqSeqGen::for_register("reqseq-test", Some(9), "");
        let b = ReqSeqGen::for_register("reqseq-test", Some(9), "other dsn");
        let c = ReqSeqGen::for_register("reqseq-test", Some(8), "");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        let mut seen = HashSet::new();
        for i in 0..3_000 {
            let s = if i % 2 == 0 { a.next() } else { b.next() };
            assert!(seen.insert(s));
        }
    }
}
