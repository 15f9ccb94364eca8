//! Who drives an open operation: ownership tied to a live process.
//!
//! An [`Owner`] is one payment flow ([`crate::flow::Payments`]). While it
//! lives, it holds an OS lock (`File::try_lock`: `flock` on Unix,
//! `LockFileEx` on Windows) on its own file `<id>.lock` in the directory
//! `<journal>.owners` beside the journal. The operating system drops that
//! lock when the process ends, however it ends: a kill, a crash, a power
//! cut. So "is this owner alive?" is "is its file still locked?", which
//! any process on the machine can ask at once, and an operation whose
//! process is gone can be taken over immediately, whatever the wall clock
//! says (docs/DESIGN.md, "Who drives an operation").
//!
//! A journal in memory is seen by one process only; its owners are known
//! alive by the set this journal keeps.
//!
//! The lock file is made under a temporary name, locked, then renamed to
//! `<id>.lock`: a file with the final name is therefore always locked while
//! its owner lives, and [`Owners::sweep`] may delete every `*.lock` file it
//! can lock (a dead owner's leftover) without ever removing a live one.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{Journal, JournalError, OPEN_STATES_SQL};

/// One live payment flow's claim to drive operations; its id is what the
/// journal's `owner` column holds. Dropping it gives up every claim:
/// other flows may then take its open operations at once.
pub struct Owner {
    id: String,
    /// The locked file (`None` for a journal in memory), removed on drop.
    file: Option<(File, PathBuf)>,
    live: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner").field("id", &self.id).finish()
    }
}

impl Owner {
    /// The id stored in the journal's `owner` column.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        lock_set(&self.live).remove(&self.id);
        if let Some((file, path)) = self.file.take() {
            // Remove the name first: once it is gone, nobody can mistake a
            // new file for this owner's. The lock goes with the handle.
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
    }
}

fn lock_set(m: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

static OWNER_COUNTER: AtomicU64 = AtomicU64::new(0);

fn new_owner_id() -> String {
    let mut b = [0u8; 8];
    let r = getrandom::getrandom(&mut b)
        .map(|_| u64::from_le_bytes(b))
        .unwrap_or_else(|_| crate::time::system_ms() as u64);
    format!(
        "{}-{:016x}-{}",
        std::process::id(),
        r,
        OWNER_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The owners of one journal: the lock directory, and the owners this
/// journal handle made (alive while their [`Owner`] is).
pub(super) struct Owners {
    dir: Option<PathBuf>,
    live: Arc<Mutex<HashSet<String>>>,
}

impl Owners {
    /// The owners of the journal at `journal` (`None`: in memory).
    pub(super) fn beside(journal: Option<&Path>) -> Owners {
        let dir = journal.map(|p| {
            let mut name = p.file_name().unwrap_or_default().to_os_string();
            name.push(".owners");
            p.with_file_name(name)
        });
        Owners {
            dir,
            live: Arc::default(),
        }
    }

    /// A new owner, its lock taken.
    fn register(&self) -> Result<Owner, JournalError> {
        let storage = |what: &str, e: std::io::Error| {
            JournalError::Storage(format!("owner lock: cannot {what}: {e}"))
        };
        let id = new_owner_id();
        let file = match &self.dir {
            None => None,
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| storage("create its directory", e))?;
                let tmp = dir.join(format!("{id}.new"));
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)
                    .map_err(|e| storage("create its file", e))?;
                file.try_lock().map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    storage("lock its file", std::io::Error::other(e.to_string()))
                })?;
                let path = dir.join(format!("{id}.lock"));
                std::fs::rename(&tmp, &path).map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    storage("name its file", e)
                })?;
                Some((file, path))
            }
        };
        lock_set(&self.live).insert(id.clone());
        Ok(Owner {
            id,
            file,
            live: self.live.clone(),
        })
    }

    /// True while the owner `id` lives: made by this journal handle and not
    /// dropped, or its lock file is locked by someone. When that cannot be
    /// told (a file that exists but cannot be opened), it counts as alive:
    /// two flows must never drive one operation.
    pub(super) fn is_alive(&self, id: &str) -> bool {
        if lock_set(&self.live).contains(id) {
            return true;
        }
        let Some(dir) = &self.dir else {
            return false;
        };
        if id.contains(['/', '\\']) || id.contains("..") {
            return true; // not an id this library wrote: leave it alone
        }
        let path = dir.join(format!("{id}.lock"));
        match OpenOptions::new().read(true).open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(_) => true,
            Ok(f) => match f.try_lock() {
                Ok(()) => false,
                Err(std::fs::TryLockError::WouldBlock) => true,
                Err(std::fs::TryLockError::Error(_)) => true,
            },
        }
    }

    /// Deletes the lock files of owners that are gone.
    pub(super) fn sweep(&self) {
        let Some(dir) = &self.dir else { return };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "lock") {
                continue;
            }
            if let Ok(f) = OpenOptions::new().read(true).open(&path) {
                if f.try_lock().is_ok() {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}

/// What a claim takes.
#[derive(Clone, Copy)]
pub(super) enum Claim {
    /// An open operation.
    Open,
    /// An open or paid one, to revoke it.
    Revoke,
}

impl Journal {
    /// A new owner for a payment flow (see [`Owner`]). Also clears the lock
    /// files dead owners left behind.
    pub fn new_owner(&self) -> Result<Owner, JournalError> {
        self.owners.sweep();
        self.owners.register()
    }

    /// True while the owner `id` lives (its process runs and it was not dropped).
    pub fn owner_alive(&self, id: &str) -> bool {
        self.owners.is_alive(id)
    }

    /// Takes the *open* operation `(account, req_seq)` for `owner`, unless
    /// another owner that is still alive drives it. True when taken; false
    /// when a live owner drives it, or it has ended or vanished meanwhile
    /// (re-read it after a successful claim: it may have changed).
    pub fn claim(&self, account: &str, req_seq: &str, owner: &Owner) -> Result<bool, JournalError> {
        self.claim_in(account, req_seq, owner, Claim::Open)
    }

    /// Takes the operation `(account, req_seq)` for `owner` to revoke it:
    /// an open one as [`Journal::claim`] does, and a paid one too, which it
    /// moves to [`OpState::Revoking`](super::OpState::Revoking) in the same
    /// transaction. So no other program's recovery or revoke can take a
    /// paid payment while this one revokes it. True when taken.
    pub fn claim_revoke(
        &self,
        account: &str,
        req_seq: &str,
        owner: &Owner,
    ) -> Result<bool, JournalError> {
        self.claim_in(account, req_seq, owner, Claim::Revoke)
    }

    fn claim_in(
        &self,
        account: &str,
        req_seq: &str,
        owner: &Owner,
        how: Claim,
    ) -> Result<bool, JournalError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken = self.claim_tx(&tx, account, req_seq, owner, how)?;
        if taken {
            tx.commit()?;
        }
        Ok(taken)
    }

    /// A claim within the transaction `tx` (see [`Journal::claim`]).
    pub(super) fn claim_tx(
        &self,
        tx: &Connection,
        account: &str,
        req_seq: &str,
        owner: &Owner,
        how: Claim,
    ) -> Result<bool, JournalError> {
        let (states, set) = match how {
            Claim::Open => (format!("state IN {OPEN_STATES_SQL}"), "owner = ?3"),
            Claim::Revoke => (
                format!("(state IN {OPEN_STATES_SQL} OR state = 'paid')"),
                "owner = ?3, state = CASE WHEN state = 'paid' THEN 'revoking' ELSE state END",
            ),
        };
        let current: Option<Option<String>> = tx
            .query_row(
                &format!("SELECT owner FROM ops WHERE account = ?1 AND req_seq = ?2 AND {states}"),
                params![account, req_seq],
                |r| r.get(0),
            )
            .optional()?;
        let Some(current) = current else {
            return Ok(false);
        };
        if let Some(o) = &current {
            if o != owner.id() && self.owners.is_alive(o) {
                return Ok(false);
            }
        }
        tx.execute(
            &format!("UPDATE ops SET {set} WHERE account = ?1 AND req_seq = ?2"),
            params![account, req_seq, owner.id()],
        )?;
        Ok(true)
    }

    /// Gives up `owner`'s claim on `(account, req_seq)` so that recovery
    /// anywhere may take it at once.
    pub fn release(&self, account: &str, req_seq: &str, owner: &Owner) -> Result<(), JournalError> {
        let conn = self.lock();
        release_in(&conn, account, req_seq, owner)
    }
}

/// [`Journal::release`] on `conn` (within a transaction, or not).
pub(super) fn release_in(
    conn: &Connection,
    account: &str,
    req_seq: &str,
    owner: &Owner,
) -> Result<(), JournalError> {
    conn.execute(
        "UPDATE ops SET owner = NULL WHERE account = ?1 AND req_seq = ?2 AND owner = ?3",
        params![account, req_seq, owner.id()],
    )?;
    Ok(())
}
