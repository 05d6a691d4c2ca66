//! The audit log: append-only (triggers refuse UPDATE and DELETE) and hash-chained.
//!
//! Each row's `hash` is `sha256(prev_hash + "\n" + canonical_json)`, in lowercase
//! hex, where `canonical_json` is the row without its two hashes (`seq`, `at` as
//! RFC 3339 UTC with nanoseconds and `Z`, `wiki`, `kind`, `actor`, `subject`,
//! `request_id`, `detail`) as JSON with object keys sorted and no whitespace. The
//! first row's `prev_hash` is 64 zeros. Anyone who can write the file can rebuild
//! the chain, so the head hash is also published on the wiki, which keeps it
//! independently.

use super::{sql, Actor, Store, StoreError, UserRef};
use crate::facts::Timestamp;
use crate::model::Tier;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The `kind` of the rows the store writes along with each change.
pub mod kind {
    /// A grant was issued.
    pub const GRANT: &str = "grant";
    /// A pending grant was approved.
    pub const APPROVE: &str = "approve";
    /// Someone revoked a grant.
    pub const REVOKE: &str = "revoke";
    /// A grant was revoked automatically because its charter ended.
    pub const AUTO_REVOKE: &str = "auto-revoke";
    /// A bureaucrat appointed an issuer for a tier.
    pub const ISSUER_ADD: &str = "issuer-add";
    /// A bureaucrat removed an issuer's appointment.
    pub const ISSUER_REMOVE: &str = "issuer-remove";
    /// A user was suspended.
    pub const SUSPEND: &str = "suspend";
    /// A suspension was lifted.
    pub const UNSUSPEND: &str = "unsuspend";
    /// The local stop switch was pressed.
    pub const STOP: &str = "stop";
    /// The local stop switch was released.
    pub const RESUME: &str = "resume";
    /// A blocklist or exception entry was added.
    pub const BLOCKLIST_ADD: &str = "blocklist-add";
    /// A blocklist or exception entry was removed.
    pub const BLOCKLIST_REMOVE: &str = "blocklist-remove";
    /// A new store was claimed for a wiki.
    pub const WIKI_PERMITTED: &str = "wiki-permitted";
}

/// The `prev_hash` of the first row.
const FIRST_PREV_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const COLUMNS: &str = "seq, at, wiki, kind, actor_id, actor_name, actor_groups, \
                       subject_id, subject_name, request_id, detail, prev_hash, hash";

/// Something to record: a change, or a stage of a request (refusals included).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    /// What happened (`grant`, `delete`, `refused`, ...; see [`kind`]).
    pub kind: String,
    /// Who did it, when a person did.
    pub actor: Option<Actor>,
    /// Whom it concerns, when someone else.
    pub subject: Option<UserRef>,
    /// The request it belongs to.
    pub request_id: Option<String>,
    /// Everything else worth keeping (ids, tier, titles, reasons).
    pub detail: Value,
}

impl AuditEvent {
    /// An event outside any request.
    pub fn new(
        kind: &str,
        actor: Option<&Actor>,
        subject: Option<&UserRef>,
        detail: Value,
    ) -> Self {
        AuditEvent {
            kind: kind.to_string(),
            actor: actor.cloned(),
            subject: subject.cloned(),
            request_id: None,
            detail,
        }
    }
}

/// A row of the audit log, as stored (the JSON of `audit --format json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    /// Position in the chain, from 1 with no gaps.
    pub seq: i64,
    /// When it was recorded.
    pub at: Timestamp,
    /// The wiki it concerns.
    pub wiki: String,
    /// What happened.
    pub kind: String,
    /// Who did it.
    pub actor: Option<Actor>,
    /// Whom it concerns.
    pub subject: Option<UserRef>,
    /// The request it belongs to.
    pub request_id: Option<String>,
    /// Everything else.
    pub detail: Value,
    /// The previous row's hash (64 zeros for the first row).
    pub prev_hash: String,
    /// This row's hash, chaining it to the previous one.
    pub hash: String,
}

/// Which rows [`Store::audit`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only rows this user did or that concern them.
    pub user_id: Option<u64>,
    /// Only rows recorded at or after this time.
    pub since: Option<Timestamp>,
}

/// The first row whose hash or link to the previous row does not verify.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainBreak {
    /// Its `seq`.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

impl Store {
    /// Appends an event (a request's stages, refusals) and returns its row.
    pub fn audit_append(
        &mut self,
        event: &AuditEvent,
        now: Timestamp,
    ) -> Result<AuditRow, StoreError> {
        self.write(|tx, wiki| Ok(append(tx, wiki, event, now)?))
    }

    /// Appends the first row of a request about `title` (its `detail.title`), unless
    /// an earlier request about that title began with the same kind of row and has
    /// no `end_kind` row yet: then a `Conflict` naming it. The check and the append
    /// are one IMMEDIATE transaction, so two processes cannot both begin.
    /// With a `quota`, the request's subject must also have fewer counted
    /// actions in each of its windows (see [`Store::actions_since`]).
    pub fn audit_begin(
        &mut self,
        event: &AuditEvent,
        (title, end_kind): (&str, &str),
        quota: Option<&Quota>,
        now: Timestamp,
    ) -> Result<AuditRow, StoreError> {
        self.write(|tx, wiki| {
            if let (Some(quota), Some(subject)) = (quota, &event.subject) {
                for (since, max, window) in &quota.windows {
                    let done = counted_actions(tx, subject.user_id, quota.tier, *since)?;
                    if done.len() >= *max {
                        return Err(StoreError::Conflict(format!(
                            "`{}` has asked for {} actions under tier `{}` in the last {window}, and the policy allows {max}: try again later",
                            subject.name, done.len(), quota.tier
                        )));
                    }
                }
            }
            let open: Option<String> = tx
                .query_row(
                    "SELECT r.request_id FROM audit r
                     WHERE r.kind = ?1 AND json_extract(r.detail, '$.title') = ?2
                       AND NOT EXISTS (SELECT 1 FROM audit e
                                       WHERE e.kind = ?3 AND e.request_id = r.request_id)
                     ORDER BY r.seq LIMIT 1",
                    params![event.kind, title, end_kind],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(id) = open {
                return Err(StoreError::Conflict(format!(
                    "request {id} on `{title}` never finished; `adminibot reconcile` settles it"
                )));
            }
            Ok(append(tx, wiki, event, now)?)
        })
    }

    /// When `user_id` asked for each action under `tier` since `since`, oldest
    /// first: the requests that passed their rules, except dry runs and those
    /// that ended refused or unconfirmed. What the policy's quotas count.
    pub fn actions_since(
        &self,
        user_id: u64,
        tier: Tier,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, StoreError> {
        Ok(counted_actions(&self.conn, user_id, tier, since)?)
    }

    /// The `review-due` rows no `reviews-posted` row covers yet, oldest first.
    pub fn due_reviews(&self) -> Result<Vec<AuditRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM audit d
             WHERE d.kind = ?1
               AND NOT EXISTS (SELECT 1 FROM audit p, json_each(p.detail, '$.covered') j
                               WHERE p.kind = ?2 AND j.value = d.request_id)
             ORDER BY d.seq"
        ))?;
        let rows = stmt.query_map(
            params![
                crate::stages::kind::REVIEW_DUE,
                crate::stages::kind::REVIEWS_POSTED
            ],
            read_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The titles posted for urgent review since `since`.
    pub fn reviewed_titles_since(
        &self,
        since: Timestamp,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT j.value FROM audit p, json_each(p.detail, '$.titles') j
             WHERE p.kind = ?1 AND p.at >= ?2",
        )?;
        let rows = stmt.query_map(
            params![crate::stages::kind::REVIEWS_POSTED, sql::ts(since)],
            |row| row.get::<_, String>(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The rows matching `filter`, oldest first.
    pub fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM audit
             WHERE (?1 IS NULL OR actor_id = ?1 OR subject_id = ?1)
               AND (?2 IS NULL OR at >= ?2)
             ORDER BY seq"
        ))?;
        let rows = stmt.query_map(params![filter.user_id, filter.since.map(sql::ts)], read_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Walks the whole chain: `Ok(head hash)` if every row verifies, else the
    /// first row that does not (altered, out of canonical form, or after a gap).
    pub fn audit_verify(&self) -> Result<Result<String, ChainBreak>, StoreError> {
        // One statement reads one snapshot, even while others append.
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        let mut head = FIRST_PREV_HASH.to_string();
        let mut expected_seq = 1;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get("seq")?;
            if let Err(reason) = verify_row(row, seq, expected_seq, &head) {
                return Ok(Err(ChainBreak { seq, reason }));
            }
            head = row.get("hash")?;
            expected_seq = seq + 1;
        }
        Ok(Ok(head))
    }
}

/// Appends `event` after the current head. Call it inside the IMMEDIATE
/// transaction that makes the change, so the head cannot move meanwhile.
pub(super) fn append(
    tx: &Connection,
    wiki: &str,
    event: &AuditEvent,
    now: Timestamp,
) -> rusqlite::Result<AuditRow> {
    let head: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (last_seq, prev_hash) = head.unwrap_or((0, FIRST_PREV_HASH.to_string()));
    let mut row = AuditRow {
        seq: last_seq + 1,
        at: now,
        wiki: wiki.to_string(),
        kind: event.kind.clone(),
        actor: event.actor.clone(),
        subject: event.subject.clone(),
        request_id: event.request_id.clone(),
        detail: event.detail.clone(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = chain_hash(&row.prev_hash, &canonical_row(&row));
    tx.execute(
        &format!("INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
        params![
            row.seq,
            sql::ts(row.at),
            row.wiki,
            row.kind,
            row.actor.as_ref().map(|a| a.user_id),
            row.actor.as_ref().map(|a| &a.name),
            row.actor.as_ref().map(sql::groups),
            row.subject.as_ref().map(|s| s.user_id),
            row.subject.as_ref().map(|s| &s.name),
            row.request_id,
            canonical(&row.detail),
            row.prev_hash,
            row.hash,
        ],
    )?;
    Ok(row)
}

/// A requester's quota, held in the same transaction as their request's first
/// row: fewer than `max` counted actions under `tier` since each window's
/// start (`since`, `max`, and the window's name for the message).
#[derive(Debug, Clone)]
pub struct Quota {
    /// The tier the request is judged under.
    pub tier: Tier,
    /// Each window: its start, its maximum, and its name (`hour`).
    pub windows: Vec<(Timestamp, usize, &'static str)>,
}

/// See [`Store::actions_since`].
fn counted_actions(
    conn: &Connection,
    user_id: u64,
    tier: Tier,
    since: Timestamp,
) -> rusqlite::Result<Vec<Timestamp>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.at FROM audit r
         WHERE r.kind = ?1 AND r.subject_id = ?2 AND r.at >= ?3
           AND json_extract(r.detail, '$.tier') = ?4
           AND json_extract(r.detail, '$.dry_run') IS NOT 1
           AND json_extract(r.detail, '$.decision') != 'refused'
           AND NOT EXISTS (SELECT 1 FROM audit e
                           WHERE e.kind = ?5 AND e.request_id = r.request_id
                             AND json_extract(e.detail, '$.decision')
                                 IN ('refused', 'needs-confirmation'))
         ORDER BY r.at",
    )?;
    let rows = stmt.query_map(
        params![
            crate::stages::kind::REQUEST,
            user_id,
            sql::ts(since),
            tier.to_string(),
            crate::stages::kind::END
        ],
        |row| sql::time(row, "at"),
    )?;
    rows.collect()
}

fn read_row(row: &Row) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: row.get("seq")?,
        at: sql::time(row, "at")?,
        wiki: row.get("wiki")?,
        kind: row.get("kind")?,
        actor: sql::opt_actor(row, "actor")?,
        subject: sql::opt_user(row, "subject")?,
        request_id: row.get("request_id")?,
        detail: sql::json(row, "detail")?,
        prev_hash: row.get("prev_hash")?,
        hash: row.get("hash")?,
    })
}

/// Why the row at `seq` breaks the chain, if it does.
fn verify_row(row: &Row, seq: i64, expected_seq: i64, head: &str) -> Result<(), String> {
    if seq != expected_seq {
        return Err(match seq - expected_seq {
            1 => format!("row {expected_seq} before it is missing"),
            _ => format!("rows {expected_seq} to {} before it are missing", seq - 1),
        });
    }
    let unreadable = |e: rusqlite::Error| format!("it cannot be read: {e}");
    let decoded = read_row(row).map_err(unreadable)?;
    if decoded.prev_hash != head {
        return Err(format!(
            "its prev_hash is not the hash of row {}",
            expected_seq - 1
        ));
    }
    // Text that decodes to the same values would hash the same: require the
    // exact stored form too, so that every changed byte shows.
    let at: String = row.get("at").map_err(unreadable)?;
    let detail: String = row.get("detail").map_err(unreadable)?;
    let groups: Option<String> = row.get("actor_groups").map_err(unreadable)?;
    if at != sql::ts(decoded.at)
        || detail != canonical(&decoded.detail)
        || groups != decoded.actor.as_ref().map(sql::groups)
    {
        return Err("it was altered: a value is not in the form adminibot writes".into());
    }
    if decoded.hash != chain_hash(&decoded.prev_hash, &canonical_row(&decoded)) {
        return Err("it was altered: its hash does not match its contents".into());
    }
    Ok(())
}

/// The hashed part of a row: everything but the two hashes.
fn canonical_row(row: &AuditRow) -> String {
    // Spelled out rather than derived, so renaming a Rust field cannot change old hashes.
    let actor = row
        .actor
        .as_ref()
        .map(|a| json!({ "user_id": a.user_id, "name": a.name, "groups": a.groups }));
    let subject = row
        .subject
        .as_ref()
        .map(|s| json!({ "user_id": s.user_id, "name": s.name }));
    canonical(&json!({
        "seq": row.seq,
        "at": sql::ts(row.at),
        "wiki": row.wiki,
        "kind": row.kind,
        "actor": actor,
        "subject": subject,
        "request_id": row.request_id,
        "detail": row.detail,
    }))
}

fn chain_hash(prev_hash: &str, canonical_json: &str) -> String {
    let digest = Sha256::new()
        .chain_update(prev_hash)
        .chain_update("\n")
        .chain_update(canonical_json)
        .finalize();
    format!("{digest:x}")
}

/// JSON with the keys of every object sorted and no whitespace, whatever order
/// the value's maps keep.
fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    fn event(kind: &str, detail: Value) -> AuditEvent {
        AuditEvent::new(kind, Some(&admin()), Some(&alice()), detail)
    }

    #[test]
    fn rows_chain_from_64_zeros_in_the_documented_format() {
        let (_dir, _path, mut store) = new_store();
        let first = all_audit(&store).remove(0);
        assert_eq!(first.seq, 1);
        assert_eq!(first.prev_hash, FIRST_PREV_HASH);
        assert_eq!(first.prev_hash.len(), 64);

        let mut event = AuditEvent::new("test", None, Some(&alice()), json!({"b": [2], "a": "x"}));
        event.request_id = Some("r1".into());
        let row = store.audit_append(&event, t(5)).unwrap();
        assert_eq!(row.seq, 2);
        assert_eq!(row.prev_hash, first.hash);
        // The format an outside verifier must reproduce, byte for byte.
        let canonical = r#"{"actor":null,"at":"2026-01-01T00:00:05.000000000Z","detail":{"a":"x","b":[2]},"kind":"test","request_id":"r1","seq":2,"subject":{"name":"Alice","user_id":7},"wiki":"w"}"#;
        let expected = Sha256::digest(format!("{}\n{canonical}", first.hash));
        assert_eq!(row.hash, format!("{expected:x}"));
        assert_eq!(all_audit(&store).last(), Some(&row), "stored as returned");
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"z": {"y": 1, "x": [{"b": null, "a": "\"q\""}]}, "a": true});
        assert_eq!(
            canonical(&value),
            r#"{"a":true,"z":{"x":[{"a":"\"q\"","b":null}],"y":1}}"#
        );
    }

    #[test]
    fn the_filter_selects_by_user_and_time() {
        let (_dir, _path, mut store) = new_store();
        store.audit_append(&event("one", json!({})), t(10)).unwrap();
        let by_bob = AuditEvent::new("two", Some(&bob()), None, json!({}));
        store.audit_append(&by_bob, t(20)).unwrap();
        let about_bob = AuditEvent::new(
            "three",
            Some(&admin()),
            Some(&UserRef::from(&bob())),
            json!({}),
        );
        store.audit_append(&about_bob, t(30)).unwrap();

        let kinds = |filter: AuditFilter| -> Vec<String> {
            store
                .audit(&filter)
                .unwrap()
                .into_iter()
                .map(|r| r.kind)
                .collect()
        };
        let bob_id = Some(bob().user_id);
        assert_eq!(
            kinds(AuditFilter {
                user_id: bob_id,
                since: None
            }),
            ["two", "three"]
        );
        assert_eq!(
            kinds(AuditFilter {
                user_id: None,
                since: Some(t(20))
            }),
            ["two", "three"]
        );
        assert_eq!(
            kinds(AuditFilter {
                user_id: Some(alice().user_id),
                since: Some(t(11))
            }),
            Vec::<String>::new()
        );
        assert_eq!(
            kinds(AuditFilter::default()).len(),
            4,
            "all, wiki-permitted first"
        );
    }

    #[test]
    fn a_title_has_one_open_request_at_a_time() {
        let (_dir, path, mut store) = new_store();
        let begin = |id: &str, title: &str| AuditEvent {
            request_id: Some(id.to_string()),
            ..event("request", json!({ "title": title }))
        };
        store
            .audit_begin(&begin("r1", "A"), ("A", "end"), None, t(10))
            .unwrap();
        // Another process sees the open request too.
        let mut other = Store::open(&path, "w", t(11)).unwrap();
        let err = other
            .audit_begin(&begin("r2", "A"), ("A", "end"), None, t(11))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("r1")),
            "{err}"
        );
        other
            .audit_begin(&begin("r3", "B"), ("B", "end"), None, t(12))
            .unwrap();
        let end = AuditEvent {
            request_id: Some("r1".into()),
            ..event("end", json!({}))
        };
        store.audit_append(&end, t(13)).unwrap();
        other
            .audit_begin(&begin("r4", "A"), ("A", "end"), None, t(14))
            .unwrap();
    }

    /// The quota holds across processes: counted in the transaction that
    /// appends the request's first row. Refused requests and dry runs do not
    /// count, nor do requests that ended refused.
    #[test]
    fn a_quota_is_held_in_the_same_transaction_as_the_request() {
        let (_dir, path, mut store) = new_store();
        let subject = UserRef {
            user_id: 7,
            name: "Alice".into(),
        };
        let request = |id: &str, title: &str, decision: &str, dry_run: bool| AuditEvent {
            request_id: Some(id.to_string()),
            subject: Some(subject.clone()),
            ..event(
                "request",
                json!({ "title": title, "tier": "self", "decision": decision, "dry_run": dry_run }),
            )
        };
        let quota = Quota {
            tier: Tier::Own,
            windows: vec![(t(0), 2, "hour")],
        };
        let begin = |store: &mut Store, id: &str, title: &str, decision: &str, dry_run: bool| {
            store.audit_begin(
                &request(id, title, decision, dry_run),
                (title, "end"),
                Some(&quota),
                t(10),
            )
        };
        begin(&mut store, "r1", "A", "allowed", false).unwrap();
        begin(&mut store, "r2", "B", "refused", false).unwrap();
        begin(&mut store, "r3", "C", "allowed", true).unwrap();
        let mut other = Store::open(&path, "w", t(11)).unwrap();
        begin(&mut other, "r4", "D", "needs-confirmation", false).unwrap();
        let err = begin(&mut other, "r5", "E", "allowed", false).unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict(m) if m.contains("2 actions under tier `self` in the last hour")),
            "{err}"
        );
        let unconfirmed = AuditEvent {
            request_id: Some("r4".into()),
            ..event("end", json!({ "decision": "needs-confirmation" }))
        };
        other.audit_append(&unconfirmed, t(12)).unwrap();
        begin(&mut other, "r6", "E", "allowed", false).unwrap();
        let counted = store.actions_since(7, Tier::Own, t(0)).unwrap();
        assert_eq!(counted.len(), 2, "r1 and r6");
        assert!(store
            .actions_since(7, Tier::NotSelf, t(0))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn triggers_refuse_to_update_or_delete_audit_rows() {
        let (_dir, _path, store) = new_store();
        for statement in [
            "UPDATE audit SET kind = 'forged' WHERE seq = 1",
            "DELETE FROM audit WHERE seq = 1",
        ] {
            let err = store.conn.execute(statement, []).unwrap_err();
            assert!(
                err.to_string().contains("audit log is append-only"),
                "{err}"
            );
        }
        assert_eq!(all_audit(&store)[0].kind, kind::WIKI_PERMITTED);
    }

    #[test]
    fn verify_names_the_row_whose_detail_was_changed() {
        let (_dir, _path, mut store) = new_store();
        for word in ["first", "second", "third", "fourth"] {
            store
                .audit_append(&event("note", json!({ "reason": word })), t(1))
                .unwrap();
        }
        let head = all_audit(&store).last().unwrap().hash.clone();
        assert_eq!(store.audit_verify().unwrap(), Ok(head));

        store
            .conn
            .execute_batch(
                "DROP TRIGGER audit_no_update;
                 UPDATE audit SET detail = replace(detail, 'second', 'secomd') WHERE seq = 3;",
            )
            .unwrap();
        let broken = store.audit_verify().unwrap().unwrap_err();
        assert_eq!(broken.seq, 3, "{broken:?}");
        assert!(broken.reason.contains("hash does not match"), "{broken:?}");
    }

    #[test]
    fn verify_notices_a_change_that_decodes_to_the_same_values() {
        let (_dir, _path, mut store) = new_store();
        store
            .audit_append(&event("note", json!({ "a": 1 })), t(1))
            .unwrap();
        store
            .conn
            .execute_batch(
                "DROP TRIGGER audit_no_update;
                 UPDATE audit SET detail = '{ \"a\":1}' WHERE seq = 2;",
            )
            .unwrap();
        assert_eq!(store.audit_verify().unwrap().unwrap_err().seq, 2);
    }

    #[test]
    fn verify_notices_a_deleted_row() {
        let (_dir, _path, mut store) = new_store();
        for n in 0..4 {
            store
                .audit_append(&event("note", json!({ "n": n })), t(n))
                .unwrap();
        }
        store
            .conn
            .execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 3;")
            .unwrap();
        let broken = store.audit_verify().unwrap().unwrap_err();
        assert_eq!(broken.seq, 4, "the first row after the gap: {broken:?}");
        assert!(
            broken.reason.contains("row 3 before it is missing"),
            "{broken:?}"
        );
    }

    #[test]
    fn verify_notices_a_rebuilt_row_that_no_longer_links() {
        let (_dir, _path, mut store) = new_store();
        store.audit_append(&event("note", json!({})), t(1)).unwrap();
        store.audit_append(&event("note", json!({})), t(2)).unwrap();
        // Rewrite row 2 and give it a hash that matches its new contents.
        let mut forged = all_audit(&store).remove(1);
        forged.kind = "forged".into();
        forged.hash = chain_hash(&forged.prev_hash, &canonical_row(&forged));
        store
            .conn
            .execute_batch("DROP TRIGGER audit_no_update;")
            .unwrap();
        store
            .conn
            .execute(
                "UPDATE audit SET kind = ?1, hash = ?2 WHERE seq = 2",
                (&forged.kind, &forged.hash),
            )
            .unwrap();
        let broken = store.audit_verify().unwrap().unwrap_err();
        assert_eq!(broken.seq, 3, "{broken:?}");
        assert!(broken.reason.contains("prev_hash"), "{broken:?}");
    }

    #[test]
    fn concurrent_writers_wait_for_each_other_and_keep_the_chain() {
        let (_dir, path, store) = new_store();
        drop(store);
        let writers: Vec<_> = (0..2)
            .map(|writer| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path, "w", t(0)).unwrap();
                    for n in 0..100 {
                        let event = event("note", json!({ "writer": writer, "n": n }));
                        store.audit_append(&event, t(n)).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let store = Store::open(&path, "w", t(0)).unwrap();
        let rows = all_audit(&store);
        assert_eq!(rows.len(), 201);
        assert!(store.audit_verify().unwrap().is_ok());
        for writer in 0..2 {
            let mine = rows.iter().filter(|r| r.detail["writer"] == json!(writer));
            let order: Vec<i64> = mine.map(|r| r.detail["n"].as_i64().unwrap()).collect();
            assert_eq!(order, (0..100).collect::<Vec<_>>());
        }
    }
}
