//! Shared fixtures for the store's tests: real SQLite files in temporary folders.

use super::*;
use crate::model::Tier;
use chrono::{Duration, TimeZone, Utc};

/// `secs` seconds after 2026-01-01T00:00:00Z.
pub fn t(secs: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(secs)
}

/// A new store for wiki `w` in a private temporary folder (keep the folder alive).
pub fn new_store() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("adminibot.sqlite");
    let store = Store::open(&path, "w", t(0)).unwrap();
    (dir, path, store)
}

/// An administrator.
pub fn admin() -> Actor {
    Actor {
        user_id: 1,
        name: "Admin".into(),
        groups: vec!["sysop".into()],
    }
}

/// A bureaucrat.
pub fn crat() -> Actor {
    Actor {
        user_id: 2,
        name: "Crat".into(),
        groups: vec!["bureaucrat".into(), "sysop".into()],
    }
}

/// An editor with no special groups.
pub fn bob() -> Actor {
    Actor {
        user_id: 9,
        name: "Bob".into(),
        groups: vec![],
    }
}

/// The usual subject of grants and suspensions.
pub fn alice() -> UserRef {
    UserRef {
        user_id: 7,
        name: "Alice".into(),
    }
}

/// A grant of `tier` to Alice by Admin, approved at once.
pub fn new_grant(tier: Tier, charter: Option<CharterText>) -> NewGrant {
    NewGrant {
        user: alice(),
        tier,
        issuer: admin(),
        charter,
        starts_at: t(0),
        expires_at: Some(t(86_400)),
        reason: "trusted".into(),
        approved: true,
    }
}

/// Every audit row, oldest first.
pub fn all_audit(store: &Store) -> Vec<AuditRow> {
    store.audit(&AuditFilter::default()).unwrap()
}

/// Runs `change` and returns the one audit row it added (fails on none or more).
pub fn one_row<T: std::fmt::Debug>(
    store: &mut Store,
    change: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) -> AuditRow {
    let before = all_audit(store).len();
    change(store).unwrap();
    let mut rows = all_audit(store);
    assert_eq!(rows.len(), before + 1, "exactly one audit row per change");
    rows.pop().unwrap()
}

/// Runs `change`, expects it to fail, and checks that it wrote no audit row.
pub fn refused<T: std::fmt::Debug>(
    store: &mut Store,
    change: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) -> StoreError {
    let before = all_audit(store).len();
    let err = change(store).unwrap_err();
    assert_eq!(
        all_audit(store).len(),
        before,
        "a refused change is not logged"
    );
    err
}
