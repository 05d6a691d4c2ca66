//! What can stop or empower a request besides grants: issuers, suspensions, the
//! local stop switch and the blocklists.
//!
//! These tables hold the current state; each change also appends its audit row,
//! which keeps the history.

use super::audit::{append, kind, AuditEvent};
use super::{sql, Actor, Store, StoreError, UserRef};
use crate::facts::Timestamp;
use crate::model::Tier;
use rusqlite::{named_params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;
use std::fmt;

/// An appointment by a bureaucrat to issue grants of one tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issuer {
    /// Who may issue.
    pub user: UserRef,
    /// Which tier.
    pub tier: Tier,
    /// The bureaucrat who appointed them.
    pub appointed_by: Actor,
    /// When.
    pub at: Timestamp,
}

/// A suspension of someone's use of adminibot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspension {
    /// Who is suspended.
    pub user: UserRef,
    /// Who suspended them.
    pub by: Actor,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
    /// When it ends by itself; `None` = until lifted.
    pub until: Option<Timestamp>,
}

/// The local stop switch, while pressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stop {
    /// Who pressed it.
    pub by: Actor,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// What a blocklist entry names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockTarget {
    /// A normalised title, or a prefix ending in `*` (`User:Alice/*`).
    Page(String),
    /// A user, by id.
    User(UserRef),
}

impl fmt::Display for BlockTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockTarget::Page(page) => write!(f, "page `{page}`"),
            BlockTarget::User(user) => write!(f, "user `{}`", user.name),
        }
    }
}

/// An entry of the blocklist (seed 001) or of its exception list (seed 002).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockEntry {
    /// What it names.
    pub target: BlockTarget,
    /// `true` for an exception, which lets the target through.
    pub exception: bool,
    /// Why it was added.
    pub reason: String,
    /// Who added it.
    pub by: Actor,
    /// When.
    pub at: Timestamp,
}

impl Store {
    /// Appoints `user` as an issuer of `tier`; fails if they already are.
    pub fn add_issuer(
        &mut self,
        user: &UserRef,
        tier: Tier,
        by: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            if issuer(tx, user.user_id, tier)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "`{}` is already an issuer of `{tier}`",
                    user.name
                )));
            }
            tx.execute(
                "INSERT INTO issuers (user_id, tier, user_name, by_id, by_name, by_groups, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                (
                    user.user_id,
                    tier.to_string(),
                    &user.name,
                    by.user_id,
                    &by.name,
                    sql::groups(by),
                    sql::ts(now),
                ),
            )?;
            let detail = json!({ "tier": tier.to_string() });
            let event = AuditEvent::new(kind::ISSUER_ADD, Some(by), Some(user), detail);
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }

    /// Ends an issuer's appointment for `tier`; fails if they are not one.
    pub fn remove_issuer(
        &mut self,
        user_id: u64,
        tier: Tier,
        by: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            let Some(appointment) = issuer(tx, user_id, tier)? else {
                return Err(StoreError::Conflict(format!(
                    "user #{user_id} is not an issuer of `{tier}`"
                )));
            };
            tx.execute(
                "DELETE FROM issuers WHERE user_id = ?1 AND tier = ?2",
                (user_id, tier.to_string()),
            )?;
            let detail = json!({
                "tier": tier.to_string(),
                "appointed_by": appointment.appointed_by.name,
                "appointed_at": sql::ts(appointment.at),
            });
            let event = AuditEvent::new(
                kind::ISSUER_REMOVE,
                Some(by),
                Some(&appointment.user),
                detail,
            );
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }

    /// The current appointments, oldest first.
    pub fn issuers(&self) -> Result<Vec<Issuer>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT * FROM issuers ORDER BY at, rowid")?;
        let issuers = stmt.query_map([], read_issuer)?;
        Ok(issuers.collect::<Result<_, _>>()?)
    }

    /// Whether a bureaucrat has appointed `user_id` to issue `tier`.
    pub fn is_issuer(&self, user_id: u64, tier: Tier) -> Result<bool, StoreError> {
        Ok(issuer(&self.conn, user_id, tier)?.is_some())
    }

    /// Suspends `user` until `until` (or until lifted), replacing any earlier
    /// suspension of theirs.
    pub fn suspend(
        &mut self,
        user: &UserRef,
        until: Option<Timestamp>,
        reason: &str,
        by: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            tx.execute(
                "INSERT INTO suspensions (user_id, user_name, by_id, by_name, by_groups, reason, at, until)
                 VALUES (:user_id, :user_name, :by_id, :by_name, :by_groups, :reason, :at, :until)
                 ON CONFLICT (user_id) DO UPDATE SET user_name = :user_name, by_id = :by_id,
                     by_name = :by_name, by_groups = :by_groups, reason = :reason, at = :at,
                     until = :until",
                named_params! {
                    ":user_id": user.user_id,
                    ":user_name": user.name,
                    ":by_id": by.user_id,
                    ":by_name": by.name,
                    ":by_groups": sql::groups(by),
                    ":reason": reason,
                    ":at": sql::ts(now),
                    ":until": until.map(sql::ts),
                },
            )?;
            let detail = json!({ "reason": reason, "until": until.map(sql::ts) });
            let event = AuditEvent::new(kind::SUSPEND, Some(by), Some(user), detail);
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }

    /// Lifts `user_id`'s suspension; fails if none is in force at `now`.
    pub fn unsuspend(
        &mut self,
        user_id: u64,
        by: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            let Some(lifted) = active_suspension(tx, user_id, now)? else {
                return Err(StoreError::Conflict(format!(
                    "user #{user_id} is not suspended"
                )));
            };
            tx.execute("DELETE FROM suspensions WHERE user_id = ?1", [user_id])?;
            let detail = json!({
                "suspended_by": lifted.by.name,
                "suspended_at": sql::ts(lifted.at),
                "until": lifted.until.map(sql::ts),
                "reason": lifted.reason,
            });
            let event = AuditEvent::new(kind::UNSUSPEND, Some(by), Some(&lifted.user), detail);
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }

    /// `user_id`'s suspension if it is in force at `now` (not past its `until`).
    pub fn active_suspension(
        &self,
        user_id: u64,
        now: Timestamp,
    ) -> Result<Option<Suspension>, StoreError> {
        Ok(active_suspension(&self.conn, user_id, now)?)
    }

    /// Presses the local stop switch; fails if it is pressed already.
    pub fn stop(&mut self, reason: &str, by: &Actor, now: Timestamp) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            if let Some(stop) = stopped(tx)? {
                return Err(StoreError::Conflict(format!(
                    "adminibot is already stopped (by `{}` at {}: {})",
                    stop.by.name,
                    sql::ts(stop.at),
                    stop.reason
                )));
            }
            tx.execute(
                "INSERT INTO stop (id, by_id, by_name, by_groups, reason, at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5)",
                (by.user_id, &by.name, sql::groups(by), reason, sql::ts(now)),
            )?;
            let event = AuditEvent::new(kind::STOP, Some(by), None, json!({ "reason": reason }));
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }

    /// Releases the local stop switch; fails if it is not pressed.
    pub fn resume(&mut self, by: &Actor, now: Timestamp) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            let Some(stop) = stopped(tx)? else {
                return Err(StoreError::Conflict("adminibot is not stopped".into()));
            };
            tx.execute("DELETE FROM stop", [])?;
            let detail = json!({
                "stopped_by": stop.by.name,
                "stopped_at": sql::ts(stop.at),
                "reason": stop.reason,
            });
            append(
                tx,
                wiki,
                &AuditEvent::new(kind::RESUME, Some(by), None, detail),
                now,
            )?;
            Ok(())
        })
    }

    /// The stop switch while it is pressed.
    pub fn stopped(&self) -> Result<Option<Stop>, StoreError> {
        Ok(stopped(&self.conn)?)
    }

    /// Adds `entry` to the blocklist, or to the exception list if `exception`;
    /// fails if it is there already.
    pub fn blocklist_add(
        &mut self,
        entry: &BlockTarget,
        exception: bool,
        reason: &str,
        by: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            if block_entry_id(tx, entry, exception)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "{entry} is already on the {}",
                    list_name(exception)
                )));
            }
            let (page, user) = match entry {
                BlockTarget::Page(page) => (Some(page), None),
                BlockTarget::User(user) => (None, Some(user)),
            };
            tx.execute(
                "INSERT INTO blocklist (page, user_id, user_name, exception, reason, by_id,
                     by_name, by_groups, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                (
                    page,
                    user.map(|u| u.user_id),
                    user.map(|u| &u.name),
                    exception,
                    reason,
                    by.user_id,
                    &by.name,
                    sql::groups(by),
                    sql::ts(now),
                ),
            )?;
            let detail = json!({ "target": entry, "exception": exception, "reason": reason });
            let event = AuditEvent::new(kind::BLOCKLIST_ADD, Some(by), user, detail);
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }

    /// Removes `entry` from the blocklist, or from the exception list if
    /// `exception`; fails if it is not there.
    pub fn blocklist_remove(
        &mut self,
        entry: &BlockTarget,
        exception: bool,
        reason: &str,
        by: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            let Some(id) = block_entry_id(tx, entry, exception)? else {
                return Err(StoreError::Conflict(format!(
                    "{entry} is not on the {}",
                    list_name(exception)
                )));
            };
            tx.execute("DELETE FROM blocklist WHERE id = ?1", [id])?;
            let subject = match entry {
                BlockTarget::User(user) => Some(user),
                BlockTarget::Page(_) => None,
            };
            let detail = json!({ "target": entry, "exception": exception, "reason": reason });
            let event = AuditEvent::new(kind::BLOCKLIST_REMOVE, Some(by), subject, detail);
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }

    /// The current blocklist and exception entries, oldest first.
    pub fn blocklist(&self) -> Result<Vec<BlockEntry>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT * FROM blocklist ORDER BY id")?;
        let entries = stmt.query_map([], read_block_entry)?;
        Ok(entries.collect::<Result<_, _>>()?)
    }
}

fn list_name(exception: bool) -> &'static str {
    if exception {
        "exception list"
    } else {
        "blocklist"
    }
}

fn issuer(conn: &Connection, user_id: u64, tier: Tier) -> rusqlite::Result<Option<Issuer>> {
    conn.query_row(
        "SELECT * FROM issuers WHERE user_id = ?1 AND tier = ?2",
        (user_id, tier.to_string()),
        read_issuer,
    )
    .optional()
}

fn read_issuer(row: &Row) -> rusqlite::Result<Issuer> {
    Ok(Issuer {
        user: sql::user(row, "user")?,
        tier: sql::tier(row, "tier")?,
        appointed_by: sql::actor(row, "by")?,
        at: sql::time(row, "at")?,
    })
}

fn active_suspension(
    conn: &Connection,
    user_id: u64,
    now: Timestamp,
) -> rusqlite::Result<Option<Suspension>> {
    conn.query_row(
        "SELECT * FROM suspensions WHERE user_id = ?1 AND (until IS NULL OR until > ?2)",
        (user_id, sql::ts(now)),
        |row| {
            Ok(Suspension {
                user: sql::user(row, "user")?,
                by: sql::actor(row, "by")?,
                reason: row.get("reason")?,
                at: sql::time(row, "at")?,
                until: sql::opt_time(row, "until")?,
            })
        },
    )
    .optional()
}

fn stopped(conn: &Connection) -> rusqlite::Result<Option<Stop>> {
    conn.query_row("SELECT * FROM stop", [], |row| {
        Ok(Stop {
            by: sql::actor(row, "by")?,
            reason: row.get("reason")?,
            at: sql::time(row, "at")?,
        })
    })
    .optional()
}

fn block_entry_id(
    conn: &Connection,
    entry: &BlockTarget,
    exception: bool,
) -> rusqlite::Result<Option<i64>> {
    let id = |sql: &str, key: &dyn rusqlite::ToSql| {
        conn.query_row(sql, rusqlite::params![key, exception], |row| row.get(0))
            .optional()
    };
    match entry {
        BlockTarget::Page(page) => id(
            "SELECT id FROM blocklist WHERE page = ?1 AND exception = ?2",
            page,
        ),
        BlockTarget::User(user) => id(
            "SELECT id FROM blocklist WHERE user_id = ?1 AND exception = ?2",
            &user.user_id,
        ),
    }
}

fn read_block_entry(row: &Row) -> rusqlite::Result<BlockEntry> {
    let target = match row.get::<_, Option<String>>("page")? {
        Some(page) => BlockTarget::Page(page),
        None => BlockTarget::User(sql::user(row, "user")?),
    };
    Ok(BlockEntry {
        target,
        exception: row.get("exception")?,
        reason: row.get("reason")?,
        by: sql::actor(row, "by")?,
        at: sql::time(row, "at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn issuers_are_appointed_and_removed_per_tier() {
        let (_dir, _path, mut store) = new_store();
        let row = one_row(&mut store, |s| {
            s.add_issuer(&alice(), Tier::NotSelf, &crat(), t(1))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("issuer-add", Some(crat()), Some(alice()))
        );
        assert_eq!(row.detail, json!({ "tier": "not-self" }));
        store
            .add_issuer(&alice(), Tier::Extended, &crat(), t(2))
            .unwrap();

        assert!(store.is_issuer(alice().user_id, Tier::NotSelf).unwrap());
        assert!(!store
            .is_issuer(alice().user_id, Tier::RetiredAdmin)
            .unwrap());
        assert!(!store.is_issuer(bob().user_id, Tier::NotSelf).unwrap());
        assert_eq!(
            store.issuers().unwrap(),
            [
                Issuer {
                    user: alice(),
                    tier: Tier::NotSelf,
                    appointed_by: crat(),
                    at: t(1)
                },
                Issuer {
                    user: alice(),
                    tier: Tier::Extended,
                    appointed_by: crat(),
                    at: t(2)
                },
            ]
        );
        let err = refused(&mut store, |s| {
            s.add_issuer(&alice(), Tier::NotSelf, &crat(), t(3))
        });
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");

        let row = one_row(&mut store, |s| {
            s.remove_issuer(alice().user_id, Tier::NotSelf, &crat(), t(4))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("issuer-remove", Some(crat()), Some(alice()))
        );
        assert!(!store.is_issuer(alice().user_id, Tier::NotSelf).unwrap());
        assert_eq!(store.issuers().unwrap().len(), 1);
        let err = refused(&mut store, |s| {
            s.remove_issuer(alice().user_id, Tier::NotSelf, &crat(), t(5))
        });
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("not an issuer")),
            "{err}"
        );
    }

    #[test]
    fn a_suspension_counts_until_its_end_or_until_lifted() {
        let (_dir, _path, mut store) = new_store();
        let row = one_row(&mut store, |s| {
            s.suspend(&alice(), Some(t(100)), "spam", &admin(), t(10))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("suspend", Some(admin()), Some(alice()))
        );
        assert_eq!(row.detail["until"], json!("2026-01-01T00:01:40.000000000Z"));
        let expected = Suspension {
            user: alice(),
            by: admin(),
            reason: "spam".into(),
            at: t(10),
            until: Some(t(100)),
        };
        assert_eq!(
            store.active_suspension(alice().user_id, t(99)).unwrap(),
            Some(expected)
        );
        assert_eq!(
            store.active_suspension(alice().user_id, t(100)).unwrap(),
            None,
            "over at `until`"
        );
        assert_eq!(store.active_suspension(bob().user_id, t(50)).unwrap(), None);
        let err = refused(&mut store, |s| {
            s.unsuspend(alice().user_id, &admin(), t(200))
        });
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("not suspended")),
            "{err}"
        );

        // Suspending again replaces the earlier one; without `until` it lasts until lifted.
        store
            .suspend(&alice(), None, "again", &admin(), t(300))
            .unwrap();
        let active = store
            .active_suspension(alice().user_id, t(1_000_000))
            .unwrap()
            .unwrap();
        assert_eq!((active.reason.as_str(), active.until), ("again", None));
        let row = one_row(&mut store, |s| {
            s.unsuspend(alice().user_id, &admin(), t(400))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("unsuspend", Some(admin()), Some(alice()))
        );
        assert_eq!(row.detail["reason"], json!("again"));
        assert_eq!(
            store.active_suspension(alice().user_id, t(400)).unwrap(),
            None
        );
    }

    #[test]
    fn a_suspension_ending_in_the_past_is_not_in_force() {
        let (_dir, _path, mut store) = new_store();
        store
            .suspend(&alice(), Some(t(5)), "late", &admin(), t(10))
            .unwrap();
        assert_eq!(
            store.active_suspension(alice().user_id, t(10)).unwrap(),
            None
        );
    }

    #[test]
    fn the_stop_switch_holds_until_resumed() {
        let (_dir, path, mut store) = new_store();
        assert_eq!(store.stopped().unwrap(), None);
        let err = refused(&mut store, |s| s.resume(&admin(), t(1)));
        assert!(
            matches!(&err, StoreError::Conflict(m) if m == "adminibot is not stopped"),
            "{err}"
        );

        let row = one_row(&mut store, |s| s.stop("runaway", &bob(), t(2)));
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("stop", Some(bob()), None)
        );
        assert_eq!(row.detail, json!({ "reason": "runaway" }));
        let stop = Stop {
            by: bob(),
            reason: "runaway".into(),
            at: t(2),
        };
        // Every process sees it, not only the one that pressed it.
        let other = Store::open(&path, "w", t(3)).unwrap();
        assert_eq!(other.stopped().unwrap(), Some(stop.clone()));
        let err = refused(&mut store, |s| s.stop("again", &admin(), t(3)));
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(
            store.stopped().unwrap(),
            Some(stop),
            "the first stop is kept"
        );

        let row = one_row(&mut store, |s| s.resume(&admin(), t(4)));
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("resume", Some(admin()), None)
        );
        assert_eq!(row.detail["stopped_by"], json!("Bob"));
        assert_eq!(other.stopped().unwrap(), None);
    }

    #[test]
    fn blocklist_and_exception_entries_are_listed_and_removed() {
        let (_dir, _path, mut store) = new_store();
        let prefix = BlockTarget::Page("User:Alice/*".into());
        let page = BlockTarget::Page("User:Alice/Keep".into());
        let user = BlockTarget::User(alice());

        let row = one_row(&mut store, |s| {
            s.blocklist_add(&prefix, false, "sandbox", &admin(), t(1))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("blocklist-add", Some(admin()), None)
        );
        assert_eq!(
            row.detail,
            json!({ "target": { "page": "User:Alice/*" }, "exception": false, "reason": "sandbox" })
        );
        store
            .blocklist_add(&page, true, "allowed", &admin(), t(2))
            .unwrap();
        let row = one_row(&mut store, |s| {
            s.blocklist_add(&user, false, "abuse", &admin(), t(3))
        });
        assert_eq!(row.subject, Some(alice()));
        // The same page may be on both lists; each list holds it once.
        store
            .blocklist_add(&page, false, "both", &admin(), t(4))
            .unwrap();
        let err = refused(&mut store, |s| {
            s.blocklist_add(&page, true, "dup", &admin(), t(5))
        });
        assert!(
            matches!(&err, StoreError::Conflict(m) if m == "page `User:Alice/Keep` is already on the exception list"),
            "{err}"
        );

        let entry = |target: &BlockTarget, exception, reason: &str, at| BlockEntry {
            target: target.clone(),
            exception,
            reason: reason.into(),
            by: admin(),
            at,
        };
        assert_eq!(
            store.blocklist().unwrap(),
            [
                entry(&prefix, false, "sandbox", t(1)),
                entry(&page, true, "allowed", t(2)),
                entry(&user, false, "abuse", t(3)),
                entry(&page, false, "both", t(4)),
            ]
        );

        let row = one_row(&mut store, |s| {
            s.blocklist_remove(&user, false, "", &admin(), t(6))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("blocklist-remove", Some(admin()), Some(alice()))
        );
        store
            .blocklist_remove(&page, true, "", &admin(), t(7))
            .unwrap();
        let err = refused(&mut store, |s| {
            s.blocklist_remove(&user, false, "", &admin(), t(8))
        });
        assert!(
            matches!(&err, StoreError::Conflict(m) if m == "user `Alice` is not on the blocklist"),
            "{err}"
        );
        let err = refused(&mut store, |s| {
            s.blocklist_remove(&prefix, true, "", &admin(), t(8))
        });
        assert!(matches!(err, StoreError::Conflict(_)), "{err}");
        assert_eq!(
            store.blocklist().unwrap(),
            [
                entry(&prefix, false, "sandbox", t(1)),
                entry(&page, false, "both", t(4))
            ]
        );
    }
}
