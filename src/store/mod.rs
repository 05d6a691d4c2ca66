//! The local store: grants, charters, issuers, suspensions, the stop switch,
//! blocklists and the hash-chained audit log, in one SQLite file.
//!
//! This is the only code that speaks SQL. Every write runs in a `BEGIN IMMEDIATE`
//! transaction and appends its audit row in that same transaction, so a change
//! and its record commit together or not at all. Nothing here reads a clock:
//! callers pass `now`. No secret is ever stored.
//!
//! Tables (the SQL is in `schema.rs`):
//! - `permitted_wikis`: the wikis this store may be used for (the first opener's).
//! - `charters`, `grants`, `approvals`, `revocations`: append-only (triggers refuse
//!   UPDATE and DELETE); approving and revoking add rows, they never edit a grant.
//! - `issuers`, `suspensions`, `stop`, `blocklist`: current state; their history is
//!   in the audit log.
//! - `audit`: append-only and hash-chained ([`Store::audit_verify`]).
//!
//! The submodules add to [`Store`]: `grants`, `gates` (issuers, suspensions,
//! stop switch, blocklists) and `audit`.

mod audit;
mod file;
mod gates;
mod grants;
mod proposals;
mod schema;
mod sql;
#[cfg(test)]
mod testkit;

pub use audit::{kind, AuditEvent, AuditFilter, AuditRow, ChainBreak, Quota};
pub use gates::{BlockEntry, BlockTarget, Issuer, Stop, Suspension};
pub use grants::{Approval, CharterText, Grant, NewGrant, Revocation, StoredCharter};
pub use proposals::{Proposal, SIGNED};

use crate::facts::Timestamp;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A wiki identity proven by the person's own login (name, id and groups as the
/// wiki reported them at that moment).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Actor {
    /// Local user id (names can change, ids do not).
    pub user_id: u64,
    /// User name as the wiki spells it.
    pub name: String,
    /// The user's groups (`sysop`, `bureaucrat`, ...).
    pub groups: Vec<String>,
}

/// A wiki user resolved to their id: the subject of a grant, suspension or entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRef {
    /// Local user id (names can change, ids do not).
    pub user_id: u64,
    /// User name as the wiki spelled it when it was resolved.
    pub name: String,
}

impl From<&Actor> for UserRef {
    fn from(actor: &Actor) -> Self {
        UserRef {
            user_id: actor.user_id,
            name: actor.name.clone(),
        }
    }
}

/// A failure of the local store. Nothing was written unless the variant says so.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file or its folder could not be opened or inspected.
    #[error("cannot open the store `{}`: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Group or other users may write the file or its folder, so its records
    /// could be forged: refused.
    #[error("{}", writable_message(path, *mode))]
    Writable {
        /// The file or folder.
        path: PathBuf,
        /// Its `st_mode`, file-type bits included.
        mode: u32,
    },
    /// The store file or its folder belongs to another user, who could rewrite
    /// the audit log at will: refused.
    #[error(
        "the store `{}` belongs to uid {owner}, not to you (uid {}): run `chown {} {}` or use a store of your own",
        path.display(),
        crate::owner::running_uid(),
        crate::owner::running_uid(),
        path.display()
    )]
    Owner {
        /// The file or folder.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
    },
    /// The store cannot be used safely as it is: a schema from a newer adminibot,
    /// or a setting SQLite would not take (WAL needs a local disk).
    #[error("cannot use the store `{}`: {reason}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// SQLite failed (a locked store waits 10 s before this).
    #[error("the store failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store is kept for another wiki.
    #[error(
        "this store is kept for `{}`, not for `{wiki}`: use the store configured for `{wiki}`",
        permitted.join("`, `")
    )]
    NotPermitted {
        /// The wiki asked for.
        wiki: String,
        /// The wikis the store permits.
        permitted: Vec<String>,
    },
    /// The record asked for does not exist (`no grant #7`).
    #[error("{0}")]
    NotFound(String),
    /// The change contradicts the current state (`grant #7 is already approved`).
    #[error("{0}")]
    Conflict(String),
}

/// The message for [`StoreError::Writable`], with the command that fixes it.
fn writable_message(path: &Path, mode: u32) -> String {
    let shown = path.display();
    let perms = mode & 0o7777;
    let is_dir = mode & 0o170000 == 0o040000;
    if !is_dir {
        format!(
            "other users can write the store `{shown}` (mode {perms:04o}): run `chmod 600 {shown}`"
        )
    } else if perms & 0o1000 != 0 {
        // A shared folder such as /tmp: tightening it would break other users.
        format!(
            "other users can write the store's folder `{shown}` (mode {perms:04o}): move `[store] path` to a folder only you can write (`mkdir -m 700 DIR`)"
        )
    } else {
        format!(
            "other users can write the store's folder `{shown}` (mode {perms:04o}): run `chmod 700 {shown}`"
        )
    }
}

/// An open store for one wiki. Threads each open their own; stores on the same
/// file, in this process or another, wait for each other's writes (busy timeout
/// and `BEGIN IMMEDIATE`).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    wiki: String,
}

impl Store {
    /// Opens (creating with mode 0600) the store for `wiki`.
    ///
    /// Refuses a file or folder that group or other may write, migrates the schema
    /// forward, and checks that the store is kept for `wiki`; a new store records
    /// `wiki` as its only permitted wiki (an audit row at `now`).
    pub fn open(path: &Path, wiki: &str, now: Timestamp) -> Result<Store, StoreError> {
        file::prepare(path)?;
        // Without CREATE: the file was just created (0600) or vetted above, and
        // SQLite must not make a new one with its own permissions if it vanished.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_EXRESCODE;
        let mut conn = Connection::open_with_flags(path, flags)?;
        schema::configure(&conn, path)?;
        schema::migrate(&mut conn, path)?;
        let mut store = Store {
            conn,
            wiki: wiki.to_string(),
        };
        store.check_permitted(now)?;
        Ok(store)
    }

    /// The wikis this store may be used for (seed 002's restricted mode).
    pub fn permitted_wikis(&self) -> Result<Vec<String>, StoreError> {
        Ok(permitted_wikis(&self.conn)?)
    }

    /// Fails with [`StoreError::NotPermitted`] unless the store is kept for this
    /// wiki; a new store is claimed for it.
    fn check_permitted(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let mut permitted = self.permitted_wikis()?;
        if permitted.is_empty() {
            permitted = self.write(|tx, wiki| {
                // Read again under the write lock: another process may have claimed it.
                let permitted = permitted_wikis(tx)?;
                if !permitted.is_empty() {
                    return Ok(permitted);
                }
                tx.execute(
                    "INSERT INTO permitted_wikis (wiki, at) VALUES (?1, ?2)",
                    (wiki, sql::ts(now)),
                )?;
                let detail = serde_json::json!({ "wiki": wiki });
                let event = AuditEvent::new(kind::WIKI_PERMITTED, None, None, detail);
                audit::append(tx, wiki, &event, now)?;
                Ok(vec![wiki.to_string()])
            })?;
        }
        if permitted.contains(&self.wiki) {
            Ok(())
        } else {
            Err(StoreError::NotPermitted {
                wiki: self.wiki.clone(),
                permitted,
            })
        }
    }

    /// Runs `change` in a `BEGIN IMMEDIATE` transaction and commits it if it
    /// succeeds. IMMEDIATE takes the write lock up front, so a busy store waits
    /// for the busy timeout instead of failing when a read upgrades to a write.
    fn write<T>(
        &mut self,
        change: impl FnOnce(&Transaction, &str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = change(&tx, &self.wiki)?;
        tx.commit()?;
        Ok(value)
    }
}

fn permitted_wikis(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT wiki FROM permitted_wikis ORDER BY at, wiki")?;
    let wikis = stmt.query_map([], |row| row.get(0))?;
    wikis.collect()
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use crate::model::Tier;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_store_is_created_0600_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adminibot.sqlite");
        // 022 is the usual umask: without an explicit mode the file would be 0644.
        // SAFETY: umask only swaps the process's mask; 022 is harmless to other tests.
        let old = unsafe { libc::umask(0o022) };
        let opened = Store::open(&path, "w", t(0));
        // SAFETY: as above, restoring the previous mask.
        unsafe { libc::umask(old) };
        let _store = opened.unwrap();
        assert_eq!(mode_of(&path), 0o600);
        // SQLite gives its WAL and shared-memory files the database's mode.
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", path.display()));
            assert_eq!(mode_of(&side), 0o600, "{}", side.display());
        }
    }

    #[test]
    fn a_store_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adminibot.sqlite");
        drop(Store::open(&path, "w", t(0)).unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = Store::open(&path, "w", t(0)).unwrap_err();
        assert!(matches!(&err, StoreError::Writable { path: p, .. } if *p == path));
        let message = err.to_string();
        assert!(
            message.contains(&format!("run `chmod 600 {}`", path.display())),
            "{message}"
        );
        // Group read is fine: only writing lets someone forge records.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        Store::open(&path, "w", t(0)).unwrap();
    }

    #[test]
    fn a_folder_others_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("shared");
        std::fs::create_dir(&folder).unwrap();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
        let path = folder.join("adminibot.sqlite");
        let err = Store::open(&path, "w", t(0)).unwrap_err();
        assert!(matches!(&err, StoreError::Writable { path: p, .. } if *p == folder));
        let message = err.to_string();
        assert!(
            message.contains(&format!("run `chmod 700 {}`", folder.display())),
            "{message}"
        );
        assert!(
            !path.exists(),
            "nothing is created in a folder others may write"
        );

        // A sticky shared folder like /tmp: advise moving, not chmod.
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let message = Store::open(&path, "w", t(0)).unwrap_err().to_string();
        assert!(message.contains("move `[store] path`"), "{message}");
    }

    #[test]
    fn every_open_sets_the_durability_pragmas() {
        let (_dir, path, store) = new_store();
        let pragma = |name: &str| -> rusqlite::types::Value {
            store
                .conn
                .pragma_query_value(None, name, |row| row.get(0))
                .unwrap()
        };
        use rusqlite::types::Value::{Integer, Text};
        assert_eq!(pragma("journal_mode"), Text("wal".into()));
        assert_eq!(pragma("synchronous"), Integer(2), "FULL");
        assert_eq!(pragma("foreign_keys"), Integer(1));
        assert_eq!(pragma("trusted_schema"), Integer(0));
        assert_eq!(pragma("busy_timeout"), Integer(10_000));
        drop(store);
        // Per-connection settings are set again on the next open, not inherited.
        let store = Store::open(&path, "w", t(1)).unwrap();
        let synchronous: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap();
        assert_eq!(synchronous, 2);
    }

    #[test]
    fn reopening_runs_no_migration_and_keeps_the_data() {
        let (_dir, path, mut store) = new_store();
        let grant = store.add_grant(new_grant(Tier::Own, None), t(1)).unwrap();
        assert_eq!(schema::migrate(&mut store.conn, &path).unwrap(), 0);
        drop(store);

        let mut store = Store::open(&path, "w", t(2)).unwrap();
        assert_eq!(schema::migrate(&mut store.conn, &path).unwrap(), 0);
        let version: usize = store
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, schema::MIGRATIONS.len());
        assert_eq!(store.grant(grant.id).unwrap(), Some(grant));
        let kinds: Vec<String> = all_audit(&store).into_iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            ["wiki-permitted", "grant"],
            "reopening writes nothing"
        );
    }

    #[test]
    fn a_store_from_a_newer_adminibot_is_refused() {
        let (_dir, path, store) = new_store();
        store
            .conn
            .pragma_update(None, "user_version", schema::MIGRATIONS.len() + 1)
            .unwrap();
        drop(store);
        let err = Store::open(&path, "w", t(1)).unwrap_err();
        assert!(matches!(err, StoreError::Unusable { .. }), "{err}");
    }

    #[test]
    fn a_store_serves_only_the_wiki_that_created_it() {
        let (_dir, path, store) = new_store();
        assert_eq!(store.permitted_wikis().unwrap(), ["w"]);
        let rows = all_audit(&store);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].kind, kind::WIKI_PERMITTED);
        assert_eq!(rows[0].detail, serde_json::json!({ "wiki": "w" }));
        drop(store);

        let err = Store::open(&path, "other", t(1)).unwrap_err();
        match &err {
            StoreError::NotPermitted { wiki, permitted } => {
                assert_eq!(wiki, "other");
                assert_eq!(permitted, &["w"]);
            }
            _ => panic!("expected NotPermitted, got {err:?}"),
        }
        assert!(err.to_string().contains("kept for `w`, not for `other`"));
        let store = Store::open(&path, "w", t(2)).unwrap();
        assert_eq!(store.permitted_wikis().unwrap(), ["w"]);
    }
}
