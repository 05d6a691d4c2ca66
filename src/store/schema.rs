//! The schema, its forward-only migrations, and the settings of every connection.
//!
//! `PRAGMA user_version` counts the [`MIGRATIONS`] applied. A migration is never
//! edited once released: changes are new steps at the end.

use super::StoreError;
use rusqlite::types::Value;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a write waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The migrations, in order; step `i` takes `user_version` from `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[V1, V2];

/// The first schema. Tables are STRICT so a value of the wrong type is refused.
const V1: &str = r#"
CREATE TABLE permitted_wikis (
    wiki TEXT PRIMARY KEY,
    at   TEXT NOT NULL
) STRICT;

-- One row per distinct charter text; grants name the file it came from.
CREATE TABLE charters (
    id     INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    text   TEXT NOT NULL
) STRICT;

CREATE TABLE grants (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    user_name     TEXT NOT NULL,
    tier          TEXT NOT NULL
                  CHECK (tier IN ('self', 'not-self', 'retired-admin', 'extended')),
    issuer_id     INTEGER NOT NULL,
    issuer_name   TEXT NOT NULL,
    issuer_groups TEXT NOT NULL,
    charter_id    INTEGER REFERENCES charters (id),
    charter_name  TEXT,
    charter_path  TEXT,
    starts_at     TEXT NOT NULL,
    expires_at    TEXT,
    reason        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    CHECK ((charter_id IS NULL) = (charter_name IS NULL)
       AND (charter_id IS NULL) = (charter_path IS NULL))
) STRICT;
CREATE INDEX grants_by_user ON grants (user_id);

-- At most one approval and one revocation per grant (the primary key).
CREATE TABLE approvals (
    grant_id  INTEGER PRIMARY KEY REFERENCES grants (id),
    by_id     INTEGER NOT NULL,
    by_name   TEXT NOT NULL,
    by_groups TEXT NOT NULL,
    at        TEXT NOT NULL
) STRICT;

-- `by_*` NULL: revoked automatically when the grant's charter ended.
CREATE TABLE revocations (
    grant_id  INTEGER PRIMARY KEY REFERENCES grants (id),
    by_id     INTEGER,
    by_name   TEXT,
    by_groups TEXT,
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL,
    CHECK ((by_id IS NULL) = (by_name IS NULL) AND (by_id IS NULL) = (by_groups IS NULL))
) STRICT;

CREATE TRIGGER charters_no_update BEFORE UPDATE ON charters
BEGIN SELECT RAISE(ABORT, 'charters are append-only'); END;
CREATE TRIGGER charters_no_delete BEFORE DELETE ON charters
BEGIN SELECT RAISE(ABORT, 'charters are append-only'); END;
CREATE TRIGGER grants_no_update BEFORE UPDATE ON grants
BEGIN SELECT RAISE(ABORT, 'grants are append-only'); END;
CREATE TRIGGER grants_no_delete BEFORE DELETE ON grants
BEGIN SELECT RAISE(ABORT, 'grants are append-only'); END;
CREATE TRIGGER approvals_no_update BEFORE UPDATE ON approvals
BEGIN SELECT RAISE(ABORT, 'approvals are append-only'); END;
CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
BEGIN SELECT RAISE(ABORT, 'approvals are append-only'); END;
CREATE TRIGGER revocations_no_update BEFORE UPDATE ON revocations
BEGIN SELECT RAISE(ABORT, 'revocations are append-only'); END;
CREATE TRIGGER revocations_no_delete BEFORE DELETE ON revocations
BEGIN SELECT RAISE(ABORT, 'revocations are append-only'); END;

CREATE TABLE issuers (
    user_id   INTEGER NOT NULL,
    tier      TEXT NOT NULL
              CHECK (tier IN ('self', 'not-self', 'retired-admin', 'extended')),
    user_name TEXT NOT NULL,
    by_id     INTEGER NOT NULL,
    by_name   TEXT NOT NULL,
    by_groups TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (user_id, tier)
) STRICT;

-- The latest suspension per user; it is over once `until` has passed.
CREATE TABLE suspensions (
    user_id   INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL,
    by_id     INTEGER NOT NULL,
    by_name   TEXT NOT NULL,
    by_groups TEXT NOT NULL,
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL,
    until     TEXT
) STRICT;

-- The local stop switch: one row while stopped.
CREATE TABLE stop (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    by_id     INTEGER NOT NULL,
    by_name   TEXT NOT NULL,
    by_groups TEXT NOT NULL,
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL
) STRICT;

-- Blocklist and exception entries for a page (title or `prefix*`) or a user.
CREATE TABLE blocklist (
    id        INTEGER PRIMARY KEY,
    page      TEXT,
    user_id   INTEGER,
    user_name TEXT,
    exception INTEGER NOT NULL CHECK (exception IN (0, 1)),
    reason    TEXT NOT NULL,
    by_id     INTEGER NOT NULL,
    by_name   TEXT NOT NULL,
    by_groups TEXT NOT NULL,
    at        TEXT NOT NULL,
    CHECK ((page IS NULL) <> (user_id IS NULL)),
    CHECK ((user_id IS NULL) = (user_name IS NULL))
) STRICT;
CREATE UNIQUE INDEX blocklist_pages ON blocklist (page, exception) WHERE page IS NOT NULL;
CREATE UNIQUE INDEX blocklist_users ON blocklist (user_id, exception) WHERE user_id IS NOT NULL;

CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    wiki         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     INTEGER,
    actor_name   TEXT,
    actor_groups TEXT,
    subject_id   INTEGER,
    subject_name TEXT,
    request_id   TEXT,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_actor ON audit (actor_id);
CREATE INDEX audit_by_subject ON audit (subject_id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"#;

/// The broker service: proposals waiting for their signature edit, and the
/// signature revisions already used (each serves one request, once).
const V2: &str = r#"
CREATE TABLE proposals (
    request_id  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    user_name   TEXT NOT NULL,
    command     TEXT NOT NULL,
    page        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) STRICT;

CREATE TABLE signatures (
    revid      INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    at         TEXT NOT NULL
) STRICT;
CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
"#;

/// Applies the per-connection settings and checks that SQLite took them.
///
/// `journal_mode` is stored in the file; the others last only for this
/// connection, so every open sets them again.
pub(super) fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // No SQL functions with side effects from triggers or views in the file.
    conn.pragma_update(None, "trusted_schema", false)?;
    // This one answers with the mode now in force, which the loop below checks.
    // Turning a new file to WAL needs it to itself, and SQLite answers "busy" at
    // once, without the busy timeout, while another process opens it too:
    // try again for as long as the timeout would have waited.
    let started = std::time::Instant::now();
    let _mode: String = loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => break other?,
        }
    };
    // FULL: a commit survives power loss, not only a crash of the process.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let busy_ms = BUSY_TIMEOUT.as_millis().to_string();
    let expected = [
        ("journal_mode", "wal"),
        ("synchronous", "2"),
        ("foreign_keys", "1"),
        ("trusted_schema", "0"),
        ("busy_timeout", busy_ms.as_str()),
    ];
    for (name, want) in expected {
        let value: Value = conn.pragma_query_value(None, name, |row| row.get(0))?;
        let got = match value {
            Value::Integer(n) => n.to_string(),
            Value::Text(text) => text.to_lowercase(),
            other => format!("{other:?}"),
        };
        if got != want {
            return Err(StoreError::Unusable {
                path: path.to_path_buf(),
                reason: format!(
                    "SQLite kept `PRAGMA {name}` at `{got}` instead of `{want}` (WAL needs a local disk)"
                ),
            });
        }
    }
    Ok(())
}

/// Applies the migrations the file lacks, in one IMMEDIATE transaction, and
/// returns how many ran (0 for an up-to-date store).
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<usize, StoreError> {
    if pending(conn, path)? == 0 {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Count again under the write lock: another process may have migrated meanwhile.
    let pending = pending(&tx, path)?;
    for step in &MIGRATIONS[MIGRATIONS.len() - pending..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())?;
    tx.commit()?;
    Ok(pending)
}

/// How many migrations the file lacks; a schema newer than this build is refused.
fn pending(conn: &Connection, path: &Path) -> Result<usize, StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    MIGRATIONS
        .len()
        .checked_sub(version)
        .ok_or_else(|| StoreError::Unusable {
            path: path.to_path_buf(),
            reason: format!(
                "its schema version {version} is newer than this adminibot knows ({}): upgrade adminibot",
                MIGRATIONS.len()
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::types::Value::{Integer, Text};

    #[test]
    fn configure_overrides_whatever_the_connection_had() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA synchronous = OFF; PRAGMA foreign_keys = OFF; PRAGMA trusted_schema = ON;",
        )
        .unwrap();
        conn.busy_timeout(Duration::ZERO).unwrap();

        configure(&conn, &path).unwrap();
        let pragma = |name: &str| -> Value {
            conn.pragma_query_value(None, name, |row| row.get(0))
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), Text("wal".into()));
        assert_eq!(pragma("synchronous"), Integer(2));
        assert_eq!(pragma("foreign_keys"), Integer(1));
        assert_eq!(pragma("trusted_schema"), Integer(0));
        assert_eq!(pragma("busy_timeout"), Integer(10_000));
    }

    #[test]
    fn a_setting_sqlite_will_not_take_makes_the_store_unusable() {
        // An in-memory database cannot be put in WAL mode.
        let conn = Connection::open_in_memory().unwrap();
        let err = configure(&conn, Path::new(":memory:")).unwrap_err();
        assert!(
            matches!(&err, StoreError::Unusable { reason, .. } if reason.contains("`PRAGMA journal_mode` at `memory`")),
            "{err}"
        );
    }

    #[test]
    fn each_migration_runs_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        assert_eq!(migrate(&mut conn, path).unwrap(), MIGRATIONS.len());
        assert_eq!(migrate(&mut conn, path).unwrap(), 0);
        let version: usize = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }
}
