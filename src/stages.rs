//! The audit rows a request writes, one typed struct per stage, and how a
//! request ends ([`Ending`]). Rows are written and read back through these
//! types, never as free JSON by key name; the JSON they make is what the audit
//! log has always held, so older rows read back the same.

use crate::facts::Timestamp;
use crate::rules::{Action, Decision, Tier};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Kinds of the audit rows a request writes, in pipeline order.
pub mod kind {
    /// The request and its decision, before anything is written to the wiki.
    pub const REQUEST: &str = "request";
    /// The requester's attribution edit was saved.
    pub const ATTRIBUTED: &str = "attributed";
    /// The wiki accepted the deletion and left it to its job queue.
    pub const SCHEDULED: &str = "scheduled";
    /// The bot deleted the page.
    pub const DELETED: &str = "deleted";
    /// The bot undeleted revisions.
    pub const UNDELETED: &str = "undeleted";
    /// More revisions were deleted than were checked.
    pub const INCIDENT: &str = "incident";
    /// The action was appended to the on-wiki log.
    pub const LOGGED: &str = "logged";
    /// An administrator was asked for review or help on the noticeboard.
    pub const NOTICEBOARD: &str = "noticeboard";
    /// The request ended: done, refused, unconfirmed, dry run, aborted or failed.
    pub const END: &str = "end";
    /// A deletion of a title deleted before awaits its urgent review post.
    pub const REVIEW_DUE: &str = "review-due";
    /// Due urgent reviews were posted together, or passed over (not a request's row).
    pub const REVIEWS_POSTED: &str = "reviews-posted";
}

/// One stage's audit row detail.
pub trait Stage: Serialize + DeserializeOwned {
    /// The row's kind (see [`kind`]).
    const KIND: &'static str;
}

/// How a request ended, as the report, the exit code and the `end` row say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// The bot acted, and everything was recorded.
    Done,
    /// A dry run: every check passed, nothing was written.
    Allowed,
    /// The bot could not undo it and the requester did not confirm.
    NeedsConfirmation,
    /// A rule, the authority gate or a gate before writing said no.
    Refused,
    /// Something was written, then a step failed or an incident happened.
    Partial,
    /// Nothing was written: the wiki refused or failed.
    Failed,
    /// A write's answer never came: only reconcile can tell.
    Unknown,
    /// Reconcile found nothing done for an open request and closed it.
    Abandoned,
}

impl Ending {
    /// The word in reports and JSON (`needs-confirmation`).
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Done => "done",
            Ending::Allowed => "allowed",
            Ending::NeedsConfirmation => "needs-confirmation",
            Ending::Refused => "refused",
            Ending::Partial => "partial",
            Ending::Failed => "failed",
            Ending::Unknown => "unknown",
            Ending::Abandoned => "abandoned",
        }
    }

    /// Whether the bot wrote nothing because of it (the write interval does
    /// not apply to the next request).
    pub fn wrote_nothing(self) -> bool {
        matches!(
            self,
            Ending::Refused | Ending::NeedsConfirmation | Ending::Allowed
        )
    }
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revision by id and time (what a deletion removed, what was checked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionStamp {
    /// Revision id.
    pub id: u64,
    /// When it was saved.
    pub timestamp: Timestamp,
}

impl From<&crate::wiki::actions::DeletedRevision> for RevisionStamp {
    fn from(revision: &crate::wiki::actions::DeletedRevision) -> Self {
        RevisionStamp {
            id: revision.id,
            timestamp: revision.timestamp,
        }
    }
}

/// `request`: the request and its decision, before any write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestStage {
    /// The page, as the wiki names it.
    pub title: String,
    /// Its id, if it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_id: Option<u64>,
    /// The action.
    pub action: Action,
    /// The tier it was judged under.
    pub tier: Tier,
    /// The latest revision the rules saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_revid: Option<u64>,
    /// The verdict's decision.
    pub decision: Decision,
    /// The rules that did not pass.
    #[serde(default)]
    pub failing: Vec<String>,
    /// Whether this is a dry run.
    #[serde(default)]
    pub dry_run: bool,
    /// The revisions the rules checked, for a deletion: what reconcile reads
    /// back if the request is interrupted after the delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checked: Vec<RevisionStamp>,
}

impl Stage for RequestStage {
    const KIND: &'static str = kind::REQUEST;
}

/// `request` of a rollback step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackStage {
    /// The page.
    pub title: String,
    /// `undelete` or `delete`.
    pub action: String,
    /// The request being rolled back.
    pub rollback_of: String,
}

impl Stage for RollbackStage {
    const KIND: &'static str = kind::REQUEST;
}

/// `attributed`: the requester's attribution edit (or signature).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributedStage {
    /// The attribution page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// The edit's revision.
    pub revid: Option<u64>,
    /// The edit is the signature the request was executed with.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signature: bool,
    /// Who found it, when not the pipeline (`reconcile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_by: Option<String>,
}

impl Stage for AttributedStage {
    const KIND: &'static str = kind::ATTRIBUTED;
}

/// `scheduled`: the wiki left the deletion to its job queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledStage {
    /// The page.
    pub title: String,
    /// Its id.
    pub page_id: u64,
    /// The revisions the rules checked.
    pub checked: Vec<RevisionStamp>,
}

impl Stage for ScheduledStage {
    const KIND: &'static str = kind::SCHEDULED;
}

/// `deleted`: the bot deleted the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedStage {
    /// The page.
    pub title: String,
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_id: Option<u64>,
    /// The deletion log entry.
    pub log_id: Option<u64>,
    /// What the deletion removed (what an undeletion restores).
    #[serde(default)]
    pub revisions: Vec<RevisionStamp>,
    /// A rollback's deletion the wiki left to its job queue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scheduled: bool,
    /// Who found it, when not the pipeline (`reconcile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_by: Option<String>,
}

impl Stage for DeletedStage {
    const KIND: &'static str = kind::DELETED;
}

/// `undeleted`: the bot restored revisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UndeletedStage {
    /// The page.
    pub title: String,
    /// The restored revisions' times.
    #[serde(default)]
    pub timestamps: Vec<Timestamp>,
    /// How many the wiki restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<u64>,
    /// The undeletion log entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<u64>,
    /// Who found it, when not the pipeline (`reconcile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_by: Option<String>,
}

impl Stage for UndeletedStage {
    const KIND: &'static str = kind::UNDELETED;
}

/// `incident`: revisions saved after the check were deleted too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentStage {
    /// Their ids.
    pub extra_revisions: Vec<u64>,
    /// Their times (what an administrator restores).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<String>,
    /// Who found it, when not the pipeline (`reconcile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_by: Option<String>,
}

impl Stage for IncidentStage {
    const KIND: &'static str = kind::INCIDENT;
}

/// `logged`: the bot's line on its on-wiki log page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedStage {
    /// The log page.
    pub page: String,
    /// The line's revision.
    pub revid: Option<u64>,
    /// The audit chain's head hash the line quotes.
    pub head: String,
}

impl Stage for LoggedStage {
    const KIND: &'static str = kind::LOGGED;
}

/// `noticeboard`: an administrator was asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeboardStage {
    /// The noticeboard.
    pub page: String,
    /// The post's revision.
    pub revid: Option<u64>,
}

impl Stage for NoticeboardStage {
    const KIND: &'static str = kind::NOTICEBOARD;
}

/// `review-due`: the bot deleted a title that was deleted before; the urgent
/// review is posted with the others due (see [`crate::reviews`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewDueStage {
    /// The title deleted.
    pub title: String,
    /// How many deleted revisions it had before.
    pub earlier: usize,
}

impl Stage for ReviewDueStage {
    const KIND: &'static str = kind::REVIEW_DUE;
}

/// `reviews-posted`: the due reviews of `covered` requests are settled: the
/// `titles` posted together on `page` (revision `revid`), the others passed
/// over because their title was posted for review in the last day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewsPostedStage {
    /// Every request whose due review this settles.
    pub covered: Vec<String>,
    /// The titles the post names.
    #[serde(default)]
    pub titles: Vec<String>,
    /// The noticeboard.
    pub page: String,
    /// The post's revision; `None` when nothing needed posting.
    pub revid: Option<u64>,
}

impl Stage for ReviewsPostedStage {
    const KIND: &'static str = kind::REVIEWS_POSTED;
}

/// `end`: how the request ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndStage {
    /// The ending.
    pub decision: Ending,
    /// What was done, for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
    /// Closed by reconcile from what the wiki shows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconciled: bool,
    /// What reconcile found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found: Vec<String>,
    /// The request a rollback step undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<String>,
}

impl Stage for EndStage {
    const KIND: &'static str = kind::END;
}

/// A row's detail as stage `S`, if it is one.
pub fn read<S: Stage>(kind: &str, detail: &serde_json::Value) -> Option<S> {
    (kind == S::KIND)
        .then(|| serde_json::from_value(detail.clone()).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_read_back_the_json_the_log_has_always_held() {
        let deleted = json!({ "title": "Draft:X", "page_id": 6, "log_id": 21,
            "revisions": [{ "id": 7, "timestamp": "2026-11-30T16:20:38Z" }] });
        let stage: DeletedStage = read(kind::DELETED, &deleted).unwrap();
        assert_eq!(stage.revisions[0].id, 7);
        assert_eq!(serde_json::to_value(&stage).unwrap(), deleted);
        assert!(read::<DeletedStage>(kind::UNDELETED, &deleted).is_none());

        let end = json!({ "decision": "needs-confirmation", "steps": ["nothing was done"] });
        let stage: EndStage = read(kind::END, &end).unwrap();
        assert_eq!(stage.decision, Ending::NeedsConfirmation);
        assert_eq!(serde_json::to_value(&stage).unwrap(), end);
    }

    #[test]
    fn endings_are_the_words_of_the_report() {
        for ending in [
            Ending::Done,
            Ending::Allowed,
            Ending::NeedsConfirmation,
            Ending::Refused,
            Ending::Partial,
            Ending::Failed,
            Ending::Unknown,
            Ending::Abandoned,
        ] {
            assert_eq!(
                serde_json::to_value(ending).unwrap(),
                json!(ending.as_str())
            );
        }
        assert!(Ending::Refused.wrote_nothing() && !Ending::Done.wrote_nothing());
    }
}
