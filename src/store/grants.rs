//! Grants and their charters, approvals and revocations.
//!
//! A grant row is never changed: approving or revoking it adds a row to
//! `approvals` or `revocations` (triggers refuse UPDATE and DELETE), so the store
//! can always say who could do what when. A charter text is stored once per
//! SHA-256 and grants point at it.

use super::audit::{append, kind, AuditEvent};
use super::{sql, Actor, Store, StoreError, UserRef};
use crate::facts::Timestamp;
use crate::model::Tier;
use rusqlite::{named_params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A grant to record; the caller has checked the issuer's authority.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGrant {
    /// Who receives it.
    pub user: UserRef,
    /// Which tier.
    pub tier: Tier,
    /// Who issues it, with their groups at this moment.
    pub issuer: Actor,
    /// The charter it is bound to (`not-self`, `extended`).
    pub charter: Option<CharterText>,
    /// When it starts to count.
    pub starts_at: Timestamp,
    /// When it stops counting, if it has its own expiry.
    pub expires_at: Option<Timestamp>,
    /// Why it was granted.
    pub reason: String,
    /// Approved at once by the issuer; `false` leaves it pending until
    /// [`Store::approve_grant`] (a `retired-admin` grant by a non-bureaucrat).
    pub approved: bool,
}

/// A charter file as granted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CharterText {
    /// Its name, as reasons refer to it.
    pub name: String,
    /// The file it was read from.
    pub path: String,
    /// Its full text, kept so the grant means what it meant when issued.
    pub text: String,
}

/// A charter as stored with a grant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredCharter {
    /// Row id of the stored text (shared by grants with the same text).
    pub id: i64,
    /// Its name when granted.
    pub name: String,
    /// The file it was read from when granted.
    pub path: String,
    /// Its full text.
    pub text: String,
    /// SHA-256 of the text, lowercase hex.
    pub sha256: String,
}

/// A recorded grant with its approval and revocation, if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    /// Its number (`grant #7`).
    pub id: i64,
    /// Who holds it.
    pub user: UserRef,
    /// Which tier.
    pub tier: Tier,
    /// Who issued it, with their groups at that moment.
    pub issuer: Actor,
    /// The charter it is bound to.
    pub charter: Option<StoredCharter>,
    /// When it starts to count.
    pub starts_at: Timestamp,
    /// Its own expiry, if any.
    pub expires_at: Option<Timestamp>,
    /// Why it was granted.
    pub reason: String,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// Its approval; `None` while pending.
    pub approval: Option<Approval>,
    /// Its revocation, if revoked.
    pub revocation: Option<Revocation>,
}

/// Who approved a grant, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    /// The approver (the issuer, for a grant approved at once).
    pub by: Actor,
    /// When.
    pub at: Timestamp,
}

/// Who revoked a grant, why and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revocation {
    /// The person; `None` when revoked automatically at the end of its charter.
    pub by: Option<Actor>,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

const SELECT_GRANTS: &str = "
    SELECT g.id, g.user_id, g.user_name, g.tier, g.issuer_id, g.issuer_name, g.issuer_groups,
           g.charter_id, g.charter_name, g.charter_path, c.text AS charter_text,
           c.sha256 AS charter_sha256, g.starts_at, g.expires_at, g.reason, g.created_at,
           a.by_id AS approver_id, a.by_name AS approver_name, a.by_groups AS approver_groups,
           a.at AS approved_at,
           r.grant_id AS revoked, r.by_id AS revoker_id, r.by_name AS revoker_name,
           r.by_groups AS revoker_groups, r.reason AS revoke_reason, r.at AS revoked_at
    FROM grants g
    LEFT JOIN charters c ON c.id = g.charter_id
    LEFT JOIN approvals a ON a.grant_id = g.id
    LEFT JOIN revocations r ON r.grant_id = g.id";

impl Store {
    /// Records a grant (approved at once if `grant.approved`) and returns it.
    pub fn add_grant(&mut self, grant: NewGrant, now: Timestamp) -> Result<Grant, StoreError> {
        self.write(|tx, wiki| {
            let charter = grant
                .charter
                .as_ref()
                .map(|charter| store_charter(tx, &charter.text))
                .transpose()?;
            tx.execute(
                "INSERT INTO grants (user_id, user_name, tier, issuer_id, issuer_name,
                     issuer_groups, charter_id, charter_name, charter_path, starts_at,
                     expires_at, reason, created_at)
                 VALUES (:user_id, :user_name, :tier, :issuer_id, :issuer_name,
                     :issuer_groups, :charter_id, :charter_name, :charter_path, :starts_at,
                     :expires_at, :reason, :created_at)",
                named_params! {
                    ":user_id": grant.user.user_id,
                    ":user_name": grant.user.name,
                    ":tier": grant.tier.to_string(),
                    ":issuer_id": grant.issuer.user_id,
                    ":issuer_name": grant.issuer.name,
                    ":issuer_groups": sql::groups(&grant.issuer),
                    ":charter_id": charter.as_ref().map(|(id, _)| id),
                    ":charter_name": grant.charter.as_ref().map(|c| &c.name),
                    ":charter_path": grant.charter.as_ref().map(|c| &c.path),
                    ":starts_at": sql::ts(grant.starts_at),
                    ":expires_at": grant.expires_at.map(sql::ts),
                    ":reason": grant.reason,
                    ":created_at": sql::ts(now),
                },
            )?;
            let id = tx.last_insert_rowid();
            if grant.approved {
                insert_approval(tx, id, &grant.issuer, now)?;
            }
            let charter_detail = grant.charter.as_ref().zip(charter.as_ref()).map(
                |(text, (_, sha256))| json!({ "name": text.name, "path": text.path, "sha256": sha256 }),
            );
            let detail = json!({
                "grant": id,
                "tier": grant.tier.to_string(),
                "charter": charter_detail,
                "starts_at": sql::ts(grant.starts_at),
                "expires_at": grant.expires_at.map(sql::ts),
                "reason": grant.reason,
                "approved": grant.approved,
            });
            let event = AuditEvent::new(kind::GRANT, Some(&grant.issuer), Some(&grant.user), detail);
            append(tx, wiki, &event, now)?;
            existing(tx, id)
        })
    }

    /// Approves a pending grant; fails if it is revoked or already approved.
    pub fn approve_grant(
        &mut self,
        id: i64,
        by: &Actor,
        now: Timestamp,
    ) -> Result<Grant, StoreError> {
        self.write(|tx, wiki| {
            let grant = existing(tx, id)?;
            if grant.revocation.is_some() {
                return Err(StoreError::Conflict(format!("grant #{id} is revoked")));
            }
            if let Some(approval) = &grant.approval {
                return Err(StoreError::Conflict(format!(
                    "grant #{id} is already approved (by `{}` at {})",
                    approval.by.name,
                    sql::ts(approval.at)
                )));
            }
            insert_approval(tx, id, by, now)?;
            let detail = json!({ "grant": id, "tier": grant.tier.to_string() });
            let event = AuditEvent::new(kind::APPROVE, Some(by), Some(&grant.user), detail);
            append(tx, wiki, &event, now)?;
            existing(tx, id)
        })
    }

    /// Revokes a grant once; `by` is `None` for the automatic revocation at the
    /// end of its charter (audited as `auto-revoke`).
    pub fn revoke_grant(
        &mut self,
        id: i64,
        by: Option<&Actor>,
        reason: &str,
        now: Timestamp,
    ) -> Result<Grant, StoreError> {
        self.write(|tx, wiki| {
            let grant = existing(tx, id)?;
            if let Some(revocation) = &grant.revocation {
                return Err(StoreError::Conflict(format!(
                    "grant #{id} is already revoked (at {}: {})",
                    sql::ts(revocation.at),
                    revocation.reason
                )));
            }
            tx.execute(
                "INSERT INTO revocations (grant_id, by_id, by_name, by_groups, reason, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    id,
                    by.map(|b| b.user_id),
                    by.map(|b| &b.name),
                    by.map(sql::groups),
                    reason,
                    sql::ts(now),
                ),
            )?;
            let kind = if by.is_some() {
                kind::REVOKE
            } else {
                kind::AUTO_REVOKE
            };
            let detail = json!({ "grant": id, "tier": grant.tier.to_string(), "reason": reason });
            append(
                tx,
                wiki,
                &AuditEvent::new(kind, by, Some(&grant.user), detail),
                now,
            )?;
            existing(tx, id)
        })
    }

    /// The grant numbered `id`, if there is one.
    pub fn grant(&self, id: i64) -> Result<Option<Grant>, StoreError> {
        Ok(load(&self.conn, id)?)
    }

    /// All grants, or one user's, oldest first (revoked and pending ones too).
    pub fn grants(&self, user_id: Option<u64>) -> Result<Vec<Grant>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_GRANTS} WHERE ?1 IS NULL OR g.user_id = ?1 ORDER BY g.id"
        ))?;
        let grants = stmt.query_map([user_id], read_grant)?;
        Ok(grants.collect::<Result<_, _>>()?)
    }
}

/// Stores a charter text unless the same text is stored already; returns its
/// row id and SHA-256.
fn store_charter(tx: &Connection, text: &str) -> rusqlite::Result<(i64, String)> {
    let sha256 = format!("{:x}", Sha256::digest(text));
    tx.execute(
        "INSERT INTO charters (sha256, text) VALUES (?1, ?2) ON CONFLICT (sha256) DO NOTHING",
        (&sha256, text),
    )?;
    let id = tx.query_row(
        "SELECT id FROM charters WHERE sha256 = ?1",
        [&sha256],
        |row| row.get(0),
    )?;
    Ok((id, sha256))
}

fn insert_approval(tx: &Connection, id: i64, by: &Actor, now: Timestamp) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO approvals (grant_id, by_id, by_name, by_groups, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        (id, by.user_id, &by.name, sql::groups(by), sql::ts(now)),
    )?;
    Ok(())
}

fn load(conn: &Connection, id: i64) -> rusqlite::Result<Option<Grant>> {
    conn.query_row(
        &format!("{SELECT_GRANTS} WHERE g.id = ?1"),
        [id],
        read_grant,
    )
    .optional()
}

/// The grant numbered `id`, or [`StoreError::NotFound`].
fn existing(conn: &Connection, id: i64) -> Result<Grant, StoreError> {
    load(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("no grant #{id}")))
}

fn read_grant(row: &Row) -> rusqlite::Result<Grant> {
    let charter = match row.get::<_, Option<i64>>("charter_id")? {
        Some(id) => Some(StoredCharter {
            id,
            name: row.get("charter_name")?,
            path: row.get("charter_path")?,
            text: row.get("charter_text")?,
            sha256: row.get("charter_sha256")?,
        }),
        None => None,
    };
    let approval = match sql::opt_actor(row, "approver")? {
        Some(by) => Some(Approval {
            by,
            at: sql::time(row, "approved_at")?,
        }),
        None => None,
    };
    // `revoked` tells an automatic revocation (no person) from none at all.
    let revocation = match row.get::<_, Option<i64>>("revoked")? {
        Some(_) => Some(Revocation {
            by: sql::opt_actor(row, "revoker")?,
            reason: row.get("revoke_reason")?,
            at: sql::time(row, "revoked_at")?,
        }),
        None => None,
    };
    Ok(Grant {
        id: row.get("id")?,
        user: sql::user(row, "user")?,
        tier: sql::tier(row, "tier")?,
        issuer: sql::actor(row, "issuer")?,
        charter,
        starts_at: sql::time(row, "starts_at")?,
        expires_at: sql::opt_time(row, "expires_at")?,
        reason: row.get("reason")?,
        created_at: sql::time(row, "created_at")?,
        approval,
        revocation,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use rusqlite::types::Value;

    fn charter(text: &str) -> CharterText {
        CharterText {
            name: "afd-cleanup".into(),
            path: "charters/afd-cleanup.toml".into(),
            text: text.into(),
        }
    }

    /// Every column of the grant's row, exactly as stored.
    fn raw_grant_row(store: &Store, id: i64) -> Vec<Value> {
        store
            .conn
            .query_row("SELECT * FROM grants WHERE id = ?1", [id], |row| {
                (0..row.as_ref().column_count())
                    .map(|i| row.get(i))
                    .collect()
            })
            .unwrap()
    }

    #[test]
    fn a_grant_is_stored_with_its_charter_and_audited() {
        let (_dir, _path, mut store) = new_store();
        let text = "name = \"afd-cleanup\"\n";
        let new = new_grant(Tier::NotSelf, Some(charter(text)));
        let row = one_row(&mut store, |s| s.add_grant(new.clone(), t(10)));
        let grant = store.grants(None).unwrap().remove(0);

        let sha256 = format!("{:x}", Sha256::digest(text));
        let stored = grant.charter.clone().unwrap();
        assert_eq!(
            (stored.text.as_str(), stored.sha256.as_str()),
            (text, sha256.as_str())
        );
        assert_eq!(
            (stored.name, stored.path),
            (
                new.charter.unwrap().name,
                "charters/afd-cleanup.toml".into()
            )
        );
        assert_eq!(grant.user, alice());
        assert_eq!(grant.tier, Tier::NotSelf);
        assert_eq!(grant.issuer, admin());
        assert_eq!((grant.starts_at, grant.expires_at), (t(0), Some(t(86_400))));
        assert_eq!(grant.created_at, t(10));
        assert_eq!(
            grant.approval,
            Some(Approval {
                by: admin(),
                at: t(10)
            })
        );
        assert_eq!(grant.revocation, None);

        assert_eq!(row.kind, kind::GRANT);
        assert_eq!(row.actor, Some(admin()));
        assert_eq!(row.subject, Some(alice()));
        assert_eq!(row.detail["grant"], json!(grant.id));
        assert_eq!(row.detail["tier"], json!("not-self"));
        assert_eq!(row.detail["charter"]["sha256"], json!(sha256));
        assert_eq!(row.detail["charter"]["name"], json!("afd-cleanup"));
        assert_eq!(
            row.detail["expires_at"],
            json!("2026-01-02T00:00:00.000000000Z")
        );
        assert_eq!(row.detail["approved"], json!(true));
    }

    #[test]
    fn the_same_charter_text_is_stored_once() {
        let (_dir, _path, mut store) = new_store();
        let a = store
            .add_grant(new_grant(Tier::NotSelf, Some(charter("x = 1\n"))), t(1))
            .unwrap();
        let mut renamed = charter("x = 1\n");
        renamed.name = "renamed".into();
        let b = store
            .add_grant(new_grant(Tier::Extended, Some(renamed)), t(2))
            .unwrap();
        let c = store
            .add_grant(new_grant(Tier::NotSelf, Some(charter("x = 2\n"))), t(3))
            .unwrap();
        let (a, b, c) = (a.charter.unwrap(), b.charter.unwrap(), c.charter.unwrap());
        assert_eq!(a.id, b.id);
        assert_eq!(
            b.name, "renamed",
            "each grant keeps the name it was given under"
        );
        assert_ne!(a.id, c.id);
        let count: i64 = store
            .conn
            .query_row("SELECT count(*) FROM charters", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 2);
    }

    #[test]
    fn a_pending_grant_is_approved_once() {
        let (_dir, _path, mut store) = new_store();
        let mut new = new_grant(Tier::RetiredAdmin, None);
        new.approved = false;
        let grant = store.add_grant(new, t(1)).unwrap();
        assert_eq!(grant.approval, None);

        let row = one_row(&mut store, |s| s.approve_grant(grant.id, &crat(), t(2)));
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("approve", Some(crat()), Some(alice()))
        );
        assert_eq!(
            row.detail,
            json!({ "grant": grant.id, "tier": "retired-admin" })
        );
        let approved = store.grant(grant.id).unwrap().unwrap();
        assert_eq!(
            approved.approval,
            Some(Approval {
                by: crat(),
                at: t(2)
            })
        );

        let err = refused(&mut store, |s| s.approve_grant(grant.id, &crat(), t(3)));
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.starts_with(&format!("grant #{} is already approved", grant.id))),
            "{err}"
        );
        let err = refused(&mut store, |s| s.approve_grant(999, &crat(), t(3)));
        assert!(
            matches!(&err, StoreError::NotFound(m) if m == "no grant #999"),
            "{err}"
        );
    }

    #[test]
    fn a_revoked_grant_cannot_be_approved_or_revoked_again() {
        let (_dir, _path, mut store) = new_store();
        let mut new = new_grant(Tier::RetiredAdmin, None);
        new.approved = false;
        let grant = store.add_grant(new, t(1)).unwrap();
        store
            .revoke_grant(grant.id, Some(&admin()), "withdrawn", t(2))
            .unwrap();

        let err = refused(&mut store, |s| s.approve_grant(grant.id, &crat(), t(3)));
        assert!(
            matches!(&err, StoreError::Conflict(m) if *m == format!("grant #{} is revoked", grant.id)),
            "{err}"
        );
        let err = refused(&mut store, |s| {
            s.revoke_grant(grant.id, None, "again", t(3))
        });
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("already revoked")),
            "{err}"
        );
        let err = refused(&mut store, |s| {
            s.revoke_grant(999, Some(&admin()), "x", t(3))
        });
        assert!(matches!(err, StoreError::NotFound(_)));
    }

    #[test]
    fn revoking_appends_and_leaves_the_grant_row_as_it_was() {
        let (_dir, _path, mut store) = new_store();
        let grant = store.add_grant(new_grant(Tier::Own, None), t(1)).unwrap();
        let before = raw_grant_row(&store, grant.id);

        let row = one_row(&mut store, |s| {
            s.revoke_grant(grant.id, Some(&admin()), "misuse", t(5))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("revoke", Some(admin()), Some(alice()))
        );
        assert_eq!(
            row.detail,
            json!({ "grant": grant.id, "tier": "self", "reason": "misuse" })
        );

        assert_eq!(raw_grant_row(&store, grant.id), before);
        let revoked = store.grant(grant.id).unwrap().unwrap();
        assert_eq!(
            revoked.revocation,
            Some(Revocation {
                by: Some(admin()),
                reason: "misuse".into(),
                at: t(5)
            })
        );
        assert_eq!(revoked.approval, grant.approval, "history is kept");
    }

    #[test]
    fn an_automatic_revocation_has_no_person() {
        let (_dir, _path, mut store) = new_store();
        let grant = store
            .add_grant(new_grant(Tier::NotSelf, Some(charter("c"))), t(1))
            .unwrap();
        let row = one_row(&mut store, |s| {
            s.revoke_grant(grant.id, None, "charter ended", t(9))
        });
        assert_eq!(
            (row.kind.as_str(), row.actor, row.subject),
            ("auto-revoke", None, Some(alice()))
        );
        let revocation = store.grant(grant.id).unwrap().unwrap().revocation.unwrap();
        assert_eq!(
            revocation,
            Revocation {
                by: None,
                reason: "charter ended".into(),
                at: t(9)
            }
        );
    }

    #[test]
    fn grants_list_all_or_one_users_oldest_first() {
        let (_dir, _path, mut store) = new_store();
        let first = store.add_grant(new_grant(Tier::Own, None), t(1)).unwrap();
        let mut for_bob = new_grant(Tier::Own, None);
        for_bob.user = UserRef::from(&bob());
        let bobs = store.add_grant(for_bob, t(2)).unwrap();
        let third = store
            .add_grant(new_grant(Tier::Extended, Some(charter("e"))), t(3))
            .unwrap();

        let ids = |grants: Vec<Grant>| grants.into_iter().map(|g| g.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.grants(None).unwrap()),
            [first.id, bobs.id, third.id]
        );
        assert_eq!(
            ids(store.grants(Some(alice().user_id)).unwrap()),
            [first.id, third.id]
        );
        assert_eq!(ids(store.grants(Some(bob().user_id)).unwrap()), [bobs.id]);
        assert_eq!(store.grant(999).unwrap(), None);
    }

    #[test]
    fn triggers_refuse_to_edit_grants_history() {
        let (_dir, _path, mut store) = new_store();
        let grant = store
            .add_grant(new_grant(Tier::NotSelf, Some(charter("c"))), t(1))
            .unwrap();
        store
            .revoke_grant(grant.id, Some(&admin()), "r", t(2))
            .unwrap();
        for statement in [
            "UPDATE grants SET tier = 'retired-admin'",
            "DELETE FROM grants",
            "UPDATE charters SET text = 'x'",
            "DELETE FROM charters",
            "UPDATE approvals SET by_name = 'x'",
            "DELETE FROM approvals",
            "UPDATE revocations SET reason = 'x'",
            "DELETE FROM revocations",
        ] {
            let err = store.conn.execute(statement, []).unwrap_err();
            assert!(
                err.to_string().contains("are append-only"),
                "{statement}: {err}"
            );
        }
    }
}
