//! The writes adminibot makes, and the small reads that guard them.
//!
//! Every write is a POST with a CSRF token (mwapi refetches it once on
//! `badtoken`), `maxlag=5`, `assert=user` and `assertuser=<account>`. Deletion is
//! by page id, so a page moved since the check cannot take a redirect's place.

use super::{parse_timestamp, Wiki, WikiError};
use crate::facts::Timestamp;
use serde_json::Value;
use tracing::info;

/// The state of a page right before a write, compared with what the rules saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageState {
    /// Whether a page with that id exists.
    pub exists: bool,
    /// Its title now.
    pub title: String,
    /// Its namespace now.
    pub namespace: i64,
    /// Its latest revision now.
    pub latest_revid: Option<u64>,
}

/// Re-reads a page by id (one request).
pub async fn page_state(wiki: &Wiki, page_id: u64) -> Result<PageState, WikiError> {
    let answer = wiki
        .query(&[
            ("prop".into(), "info".into()),
            ("pageids".into(), page_id.to_string()),
        ])
        .await?;
    let page = &answer["query"]["pages"][0];
    Ok(PageState {
        exists: page["missing"].is_null() && page["pageid"].as_u64() == Some(page_id),
        title: page["title"].as_str().unwrap_or_default().to_string(),
        namespace: page["ns"].as_i64().unwrap_or(0),
        latest_revid: page["lastrevid"].as_u64(),
    })
}

/// The latest revision of a page: its text and who saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRevision {
    /// Revision id.
    pub id: u64,
    /// The wikitext.
    pub text: String,
    /// Who saved it, with their groups now.
    pub user: String,
    /// The saver's groups now.
    pub user_groups: Vec<String>,
}

/// The latest revision of `title` and its author's groups; `None` if the page is missing.
pub async fn latest_revision(
    wiki: &Wiki,
    title: &str,
) -> Result<Option<LatestRevision>, WikiError> {
    let answer = wiki
        .query(&[
            ("prop".into(), "revisions".into()),
            ("titles".into(), title.to_string()),
            ("rvprop".into(), "ids|user|content".into()),
            ("rvslots".into(), "main".into()),
        ])
        .await?;
    let Some(revision) = answer["query"]["pages"][0]["revisions"].get(0) else {
        return Ok(None);
    };
    let user = revision["user"].as_str().unwrap_or_default().to_string();
    let user_groups = if user.is_empty() {
        Vec::new()
    } else {
        super::users::lookup_user(wiki, &user)
            .await
            .map(|u| u.groups)
            .unwrap_or_default()
    };
    Ok(Some(LatestRevision {
        id: revision["revid"].as_u64().unwrap_or(0),
        text: revision["slots"]["main"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        user,
        user_groups,
    }))
}

/// A saved edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The new revision (none if the edit changed nothing).
    pub new_revid: Option<u64>,
    /// The revision before it.
    pub old_revid: Option<u64>,
}

/// Appends `text` to `title` (creating it if needed) with `summary`.
pub async fn append(
    wiki: &Wiki,
    title: &str,
    text: &str,
    summary: &str,
) -> Result<Saved, WikiError> {
    let answer = wiki
        .post_with_token(&[
            ("action".into(), "edit".into()),
            ("title".into(), title.to_string()),
            ("appendtext".into(), text.to_string()),
            ("summary".into(), summary.to_string()),
        ])
        .await?;
    let edit = &answer["edit"];
    if edit["result"].as_str() != Some("Success") {
        return Err(WikiError::Api {
            code: "editfailed".into(),
            info: format!("the edit of `{title}` was not saved: {edit}"),
        });
    }
    info!(%title, revid = ?edit["newrevid"].as_u64(), "saved");
    Ok(Saved {
        new_revid: edit["newrevid"].as_u64(),
        old_revid: edit["oldrevid"].as_u64(),
    })
}

/// Deletes a page by id with `reason`; returns the deletion's log id.
pub async fn delete(wiki: &Wiki, page_id: u64, reason: &str) -> Result<Option<u64>, WikiError> {
    let answer = wiki
        .post_with_token(&[
            ("action".into(), "delete".into()),
            ("pageid".into(), page_id.to_string()),
            ("reason".into(), reason.to_string()),
        ])
        .await?;
    info!(page_id, logid = ?answer["delete"]["logid"].as_u64(), "deleted");
    Ok(answer["delete"]["logid"].as_u64())
}

/// Restores exactly the deleted revisions saved at `timestamps` of `title`.
pub async fn undelete(
    wiki: &Wiki,
    title: &str,
    timestamps: &[Timestamp],
    reason: &str,
) -> Result<u64, WikiError> {
    let stamps: Vec<String> = timestamps
        .iter()
        .map(|t| crate::when::format_time(*t))
        .collect();
    let answer = wiki
        .post_with_token(&[
            ("action".into(), "undelete".into()),
            ("title".into(), title.to_string()),
            ("timestamps".into(), stamps.join("|")),
            ("reason".into(), reason.to_string()),
        ])
        .await?;
    let restored = answer["undelete"]["revisions"].as_u64().unwrap_or(0);
    info!(%title, restored, "undeleted");
    Ok(restored)
}

/// A deleted revision as read back after a deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedRevision {
    /// Revision id.
    pub id: u64,
    /// When it was saved (what `undelete` needs to restore it).
    pub timestamp: Timestamp,
}

/// Every deleted revision of `title`, oldest first.
pub async fn deleted_revisions(
    wiki: &Wiki,
    title: &str,
) -> Result<Vec<DeletedRevision>, WikiError> {
    let answer = wiki
        .query(&[
            ("prop".into(), "deletedrevisions".into()),
            ("titles".into(), title.to_string()),
            ("drvprop".into(), "ids|timestamp".into()),
            ("drvlimit".into(), "max".into()),
            ("drvdir".into(), "newer".into()),
        ])
        .await?;
    let mut out = Vec::new();
    for revision in answer["query"]["pages"][0]["deletedrevisions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        out.push(DeletedRevision {
            id: revision["revid"].as_u64().unwrap_or(0),
            timestamp: parse_timestamp(&revision["timestamp"])?,
        });
    }
    Ok(out)
}

/// A live page's id and its revisions (id and timestamp), oldest first; `None` if missing.
pub async fn live_revisions(
    wiki: &Wiki,
    title: &str,
) -> Result<Option<(u64, Vec<DeletedRevision>)>, WikiError> {
    let answer = wiki
        .query(&[
            ("prop".into(), "revisions".into()),
            ("titles".into(), title.to_string()),
            ("rvprop".into(), "ids|timestamp".into()),
            ("rvlimit".into(), "max".into()),
            ("rvdir".into(), "newer".into()),
        ])
        .await?;
    let page = &answer["query"]["pages"][0];
    let Some(page_id) = page["pageid"]
        .as_u64()
        .filter(|_| page["missing"].is_null())
    else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for revision in page["revisions"].as_array().into_iter().flatten() {
        out.push(DeletedRevision {
            id: revision["revid"].as_u64().unwrap_or(0),
            timestamp: parse_timestamp(&revision["timestamp"])?,
        });
    }
    Ok(Some((page_id, out)))
}

/// A log entry found while reconciling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundLogEntry {
    /// Log id.
    pub id: u64,
    /// `delete`, `restore`, ...
    pub action: String,
}

/// Deletion-log entries of `title` whose reason contains `needle` (a request id).
pub async fn deletion_log_mentioning(
    wiki: &Wiki,
    title: &str,
    needle: &str,
) -> Result<Vec<FoundLogEntry>, WikiError> {
    let answer = wiki
        .query(&[
            ("list".into(), "logevents".into()),
            ("letype".into(), "delete".into()),
            ("letitle".into(), title.to_string()),
            ("leprop".into(), "ids|type|comment".into()),
            ("lelimit".into(), "max".into()),
        ])
        .await?;
    Ok(answer["query"]["logevents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["comment"].as_str().is_some_and(|c| c.contains(needle)))
        .map(|e| FoundLogEntry {
            id: e["logid"].as_u64().unwrap_or(0),
            action: e["action"].as_str().unwrap_or_default().to_string(),
        })
        .collect())
}

/// Revisions by `user` whose summary contains `needle` (a request id), newest first.
pub async fn contributions_mentioning(
    wiki: &Wiki,
    user: &str,
    needle: &str,
) -> Result<Vec<u64>, WikiError> {
    let answer = wiki
        .query(&[
            ("list".into(), "usercontribs".into()),
            ("ucuser".into(), user.to_string()),
            ("ucprop".into(), "ids|comment".into()),
            ("uclimit".into(), "100".into()),
        ])
        .await?;
    Ok(answer["query"]["usercontribs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["comment"]
                .as_str()
                .is_some_and(|text| text.contains(needle))
        })
        .filter_map(|c| c["revid"].as_u64())
        .collect())
}

impl Wiki {
    /// One POST with a CSRF token; `params` include `action`.
    pub async fn post_with_token(&self, params: &[(String, String)]) -> Result<Value, WikiError> {
        let mut all: Vec<(String, String)> = params.to_vec();
        if let Some(account) = self.account() {
            all.push(("assertuser".into(), account.to_string()));
        }
        self.count_request();
        self.client()
            .post_with_token("csrf", all)
            .await
            .map_err(|err| WikiError::from_mwapi(self.api(), err))
    }
}
