//! The broker's proposals and the signature revisions that executed them.
//!
//! A proposal is what `POST /v1/propose` issued: a request id bound to one
//! command, the requester it names, and the exact edit summary their signature
//! edit must carry. It is not an audit row: anyone may propose in anyone's name,
//! and nothing happens until the requester signs. A signature revision is used
//! once (`signatures` is append-only and keyed by the revision id), and its use is
//! an audit row in the same transaction.

use super::audit::append;
use super::{sql, AuditEvent, Store, StoreError, UserRef};
use crate::facts::Timestamp;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

/// An issued proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The request id, named by the signature edit.
    pub request_id: String,
    /// The requester, by wiki user id and name at proposal time.
    pub user: UserRef,
    /// The command to run once signed (JSON of [`crate::protocol::Proposed`]).
    pub command: Value,
    /// The page the signature edit must be saved on.
    pub page: String,
    /// The signature edit's exact summary.
    pub summary: String,
    /// When it was issued (the wiki's clock, whole seconds).
    pub proposed_at: Timestamp,
    /// When it stops being executable.
    pub expires_at: Timestamp,
}

/// The audit `kind` of a used signature.
pub const SIGNED: &str = "signed";

impl Store {
    /// Records an issued proposal.
    pub fn add_proposal(&mut self, proposal: &Proposal) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO proposals (request_id, user_id, user_name, command, page, summary,
                                        proposed_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    proposal.request_id,
                    proposal.user.user_id,
                    proposal.user.name,
                    proposal.command.to_string(),
                    proposal.page,
                    proposal.summary,
                    sql::ts(proposal.proposed_at),
                    sql::ts(proposal.expires_at),
                ],
            )?;
            Ok(())
        })
    }

    /// The proposal issued under `request_id`, if any.
    pub fn proposal(&self, request_id: &str) -> Result<Option<Proposal>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT request_id, user_id, user_name, command, page, summary, proposed_at,
                        expires_at
                 FROM proposals WHERE request_id = ?1",
                params![request_id],
                |row| {
                    Ok(Proposal {
                        request_id: row.get("request_id")?,
                        user: sql::user(row, "user")?,
                        command: sql::json(row, "command")?,
                        page: row.get("page")?,
                        summary: row.get("summary")?,
                        proposed_at: sql::time(row, "proposed_at")?,
                        expires_at: sql::time(row, "expires_at")?,
                    })
                },
            )
            .optional()?)
    }

    /// Forgets proposals that expired before `before` (a signature for them is
    /// refused either way; this keeps a flood of proposals from filling the file).
    pub fn purge_proposals(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        self.write(|tx, _| {
            Ok(tx.execute(
                "DELETE FROM proposals WHERE expires_at < ?1",
                params![sql::ts(before)],
            )?)
        })
    }

    /// Marks revision `revid` as the signature of `proposal`, with its audit row,
    /// in one transaction; a `Conflict` if the revision or the request was used.
    pub fn use_signature(
        &mut self,
        proposal: &Proposal,
        revid: u64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.write(|tx, wiki| {
            let used: Option<String> = tx
                .query_row(
                    "SELECT request_id FROM signatures WHERE revid = ?1",
                    params![revid],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(other) = used {
                return Err(StoreError::Conflict(format!(
                    "revision {revid} already signed request {other}: each signature is used once"
                )));
            }
            let executed: Option<i64> = tx
                .query_row(
                    "SELECT revid FROM signatures WHERE request_id = ?1",
                    params![proposal.request_id],
                    |row| row.get(0),
                )
                .optional()?;
            if let Some(earlier) = executed {
                return Err(StoreError::Conflict(format!(
                    "request {} was already signed by revision {earlier}: propose again",
                    proposal.request_id
                )));
            }
            tx.execute(
                "INSERT INTO signatures (revid, request_id, at) VALUES (?1, ?2, ?3)",
                params![revid, proposal.request_id, sql::ts(now)],
            )?;
            let event = AuditEvent {
                kind: SIGNED.to_string(),
                actor: None,
                subject: Some(proposal.user.clone()),
                request_id: Some(proposal.request_id.clone()),
                detail: json!({
                    "revid": revid,
                    "page": proposal.page,
                    "summary": proposal.summary,
                    "command": proposal.command,
                }),
            };
            append(tx, wiki, &event, now)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testkit::*;

    fn proposal(id: &str) -> Proposal {
        Proposal {
            request_id: id.into(),
            user: alice(),
            command: json!({ "page": { "action": "delete", "title": "Draft:X" } }),
            page: "User:Alice/adminibot".into(),
            summary: format!("adminibot: delete [[:Draft:X]] (request {id})"),
            proposed_at: t(0),
            expires_at: t(600),
        }
    }

    #[test]
    fn a_proposal_reads_back_as_issued() {
        let (_dir, _path, mut store) = new_store();
        store.add_proposal(&proposal("r1")).unwrap();
        assert_eq!(store.proposal("r1").unwrap(), Some(proposal("r1")));
        assert_eq!(store.proposal("r2").unwrap(), None);
    }

    #[test]
    fn a_signature_serves_one_request_once_and_is_audited() {
        let (_dir, _path, mut store) = new_store();
        store.add_proposal(&proposal("r1")).unwrap();
        store.add_proposal(&proposal("r2")).unwrap();
        store.use_signature(&proposal("r1"), 41, t(5)).unwrap();
        let reused = store.use_signature(&proposal("r2"), 41, t(6)).unwrap_err();
        assert!(
            reused.to_string().contains("already signed request r1"),
            "{reused}"
        );
        let again = store.use_signature(&proposal("r1"), 42, t(7)).unwrap_err();
        assert!(
            again.to_string().contains("already signed by revision 41"),
            "{again}"
        );
        let rows = all_audit(&store);
        let signed: Vec<_> = rows.iter().filter(|r| r.kind == SIGNED).collect();
        assert_eq!(signed.len(), 1);
        assert_eq!(signed[0].detail["revid"], 41);
        assert_eq!(signed[0].request_id.as_deref(), Some("r1"));
        assert!(store.audit_verify().unwrap().is_ok());
    }

    #[test]
    fn expired_proposals_are_purged() {
        let (_dir, _path, mut store) = new_store();
        store.add_proposal(&proposal("r1")).unwrap();
        assert_eq!(store.purge_proposals(t(600)).unwrap(), 0);
        assert_eq!(store.purge_proposals(t(601)).unwrap(), 1);
        assert_eq!(store.proposal("r1").unwrap(), None);
    }
}
