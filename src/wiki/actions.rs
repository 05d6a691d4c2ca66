//! The writes adminibot makes, and the small reads that guard them.
//!
//! Every write is a POST with a CSRF token (refetched once on `badtoken`),
//! `maxlag=5`, `assert=user` and `assertuser=<account>`. Deletion is
//! by page id, so a page moved since the check cannot take a redirect's place.

use super::{parse_timestamp, BotWiki, Request, Wiki, WikiError};
use crate::config::Secret;
use crate::facts::Timestamp;
use crate::permit::Permit;
use serde_json::Value;
use tracing::info;

/// The state of a page right before a write, compared with what the rules saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageState {
    /// Whether a page exists at the title.
    pub exists: bool,
    /// Its id, if it exists.
    pub page_id: Option<u64>,
    /// Its namespace.
    pub namespace: i64,
    /// Its latest revision, if it exists.
    pub latest_revid: Option<u64>,
}

/// The latest revision of the shutoff page: its id, text and who saved it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShutoffRevision {
    /// Revision id.
    pub id: u64,
    /// The wikitext.
    pub text: String,
    /// Who saved it.
    pub user: String,
    /// When (for the public status page).
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Its edit summary, as its saver wrote it (for the public status page).
    #[serde(default)]
    pub comment: Option<String>,
}

/// The query parameters that read the shutoff page's latest revision; they can
/// ride along with another single-page read.
pub fn shutoff_params(title: &str) -> Vec<(String, String)> {
    vec![
        ("prop".into(), "revisions".into()),
        ("titles".into(), title.to_string()),
        ("rvprop".into(), "ids|user|content|timestamp|comment".into()),
        ("rvslots".into(), "main".into()),
    ]
}

/// The shutoff page's latest revision in an answer to [`shutoff_params`].
pub fn read_shutoff(answer: &Value) -> Option<ShutoffRevision> {
    let revision = answer["query"]["pages"][0]["revisions"].get(0)?;
    Some(ShutoffRevision {
        id: revision["revid"].as_u64().unwrap_or(0),
        text: revision["slots"]["main"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        user: revision["user"].as_str().unwrap_or_default().to_string(),
        timestamp: parse_timestamp(&revision["timestamp"]).ok(),
        comment: revision["comment"].as_str().map(str::to_string),
    })
}

/// The latest revision of the shutoff page (`None` if the page is missing) and
/// the wiki's clock, in one request.
pub async fn shutoff_revision(
    wiki: &Wiki,
    title: &str,
) -> Result<(Option<ShutoffRevision>, Timestamp), WikiError> {
    let mut params = shutoff_params(title);
    params.push(("curtimestamp".into(), "1".into()));
    let answer = wiki.query(&params).await?;
    Ok((
        read_shutoff(&answer),
        parse_timestamp(&answer["curtimestamp"])?,
    ))
}

/// What is re-read right before a write, in one request: the page and the
/// shutoff page's latest revision id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recheck {
    /// The page at the title now.
    pub page: PageState,
    /// The shutoff page's latest revision now.
    pub shutoff_latest: Option<u64>,
    /// The newest log entry of the page's title now.
    pub newest_log_id: Option<u64>,
    /// Its type, action and performer (`delete`, `delete`, `Admin`).
    pub newest_log: Option<(String, String, String)>,
}

/// Re-reads `title` and the shutoff page (one request).
pub async fn recheck(wiki: &Wiki, title: &str, shutoff: &str) -> Result<Recheck, WikiError> {
    let answer = wiki
        .query(&[
            ("prop".into(), "info".into()),
            ("titles".into(), format!("{title}|{shutoff}")),
            ("list".into(), "logevents".into()),
            ("letitle".into(), title.to_string()),
            ("leprop".into(), "ids|type|user".into()),
            ("lelimit".into(), "1".into()),
        ])
        .await?;
    let query = &answer["query"];
    let normalised = |wanted: &str| {
        query["normalized"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["from"].as_str() == Some(wanted))
            .and_then(|n| n["to"].as_str())
            .unwrap_or(wanted)
            .to_string()
    };
    let page_titled = |wanted: &str| {
        let wanted = normalised(wanted);
        query["pages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["title"].as_str() == Some(wanted.as_str()))
            .cloned()
            .unwrap_or_default()
    };
    let page = page_titled(title);
    let exists = page["missing"].is_null() && page["pageid"].as_u64().is_some();
    Ok(Recheck {
        page: PageState {
            exists,
            page_id: page["pageid"].as_u64().filter(|_| exists),
            namespace: page["ns"].as_i64().unwrap_or(0),
            latest_revid: page["lastrevid"].as_u64().filter(|_| exists),
        },
        shutoff_latest: page_titled(shutoff)["lastrevid"].as_u64(),
        newest_log_id: query["logevents"][0]["logid"].as_u64(),
        newest_log: query["logevents"].get(0).map(|e| {
            let text = |key: &str| e[key].as_str().unwrap_or_default().to_string();
            (text("type"), text("action"), text("user"))
        }),
    })
}

/// A saved edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// The new revision (none if the edit changed nothing).
    pub new_revid: Option<u64>,
    /// The revision before it.
    pub old_revid: Option<u64>,
}

/// Appends `text` to `title` (creating it if needed) with `summary`, as the
/// session's own user (a requester's signature or escalation).
pub async fn append(
    wiki: &Wiki,
    title: &str,
    text: &str,
    summary: &str,
) -> Result<Saved, WikiError> {
    save_appended(wiki, title, text, summary).await
}

async fn save_appended(
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

/// The bot appends `text` to `title` (its log page, the noticeboard); the
/// permit comes back with the saved edit.
pub async fn append_as_bot(
    bot: &BotWiki,
    permit: Permit,
    title: &str,
    text: &str,
    summary: &str,
) -> Result<(Saved, Permit), WikiError> {
    let saved = save_appended(&bot.0, title, text, summary).await?;
    Ok((saved, permit))
}

/// What the wiki did with a deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    /// Deleted now: the deletion log entry's id, and the title the page had
    /// when the wiki deleted it (by id: it may have moved since the check).
    Done {
        /// The deletion log entry.
        log_id: Option<u64>,
        /// Where the page was.
        title: String,
    },
    /// Too many revisions to delete in one request (`$wgDeleteRevisionsBatchSize`):
    /// the wiki's job queue finishes it later (`"scheduled": true`), and there is
    /// no log entry yet.
    Scheduled,
}

/// The bot deletes a page by id with `reason`; the permit comes back with
/// the wiki's answer.
pub async fn delete(
    bot: &BotWiki,
    permit: Permit,
    page_id: u64,
    reason: &str,
) -> Result<(Deletion, Permit), WikiError> {
    let answer = bot
        .0
        .post_with_token(&[
            ("action".into(), "delete".into()),
            ("pageid".into(), page_id.to_string()),
            ("reason".into(), reason.to_string()),
        ])
        .await?;
    let deletion = if answer["delete"]["scheduled"].as_bool() == Some(true) {
        Deletion::Scheduled
    } else {
        Deletion::Done {
            log_id: answer["delete"]["logid"].as_u64(),
            title: answer["delete"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        }
    };
    info!(page_id, ?deletion, request = permit.request_id(), "deleted");
    Ok((deletion, permit))
}

/// The bot restores exactly the deleted revisions saved at `timestamps` of
/// `title`; how many it restored, and the permit back.
pub async fn undelete(
    bot: &BotWiki,
    permit: Permit,
    title: &str,
    timestamps: &[Timestamp],
    reason: &str,
) -> Result<(u64, Permit), WikiError> {
    // MediaWiki reads no timestamps as "restore everything ever deleted here",
    // revisions administrators deleted included: never send that.
    if timestamps.is_empty() {
        return Err(WikiError::Unexpected(format!(
            "refusing to undelete `{title}` without an explicit list of revisions"
        )));
    }
    let stamps: Vec<String> = timestamps
        .iter()
        .map(|t| crate::when::format_time(*t))
        .collect();
    let answer = bot
        .0
        .post_with_token(&[
            ("action".into(), "undelete".into()),
            ("title".into(), title.to_string()),
            ("timestamps".into(), stamps.join("|")),
            ("reason".into(), reason.to_string()),
        ])
        .await?;
    let restored = answer["undelete"]["revisions"].as_u64().unwrap_or(0);
    info!(%title, restored, request = permit.request_id(), "undeleted");
    Ok((restored, permit))
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
    // Continued to the end: a long history must not be read back in part.
    let answer = super::facts::read(
        wiki,
        &[
            ("prop".into(), "deletedrevisions".into()),
            ("titles".into(), title.to_string()),
            ("drvprop".into(), "ids|timestamp".into()),
            ("drvlimit".into(), "max".into()),
            ("drvdir".into(), "newer".into()),
        ],
    )
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
    /// The page's title when it was logged (a page can move).
    pub title: String,
}

/// Where to look for deletion-log entries.
#[derive(Debug, Clone, Copy)]
pub enum LogOf<'a> {
    /// The entries of one title.
    Title(&'a str),
    /// The newest entries by one user (the bot), wherever the page was.
    User(&'a str),
}

/// Deletion-log entries whose reason contains `needle` (a request id).
pub async fn deletion_log_mentioning(
    wiki: &Wiki,
    of: LogOf<'_>,
    needle: &str,
) -> Result<Vec<FoundLogEntry>, WikiError> {
    let (key, value) = match of {
        LogOf::Title(title) => ("letitle", title),
        LogOf::User(user) => ("leuser", user),
    };
    let answer = wiki
        .query(&[
            ("list".into(), "logevents".into()),
            ("letype".into(), "delete".into()),
            (key.into(), value.to_string()),
            ("leprop".into(), "ids|title|type|comment".into()),
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
            title: e["title"].as_str().unwrap_or_default().to_string(),
        })
        .collect())
}

/// Revisions by `user` on `page` (their attribution page) whose summary
/// contains `needle` (a request id), newest first. An edit elsewhere that
/// mentions the request is not its attribution.
pub async fn attribution_edits_mentioning(
    wiki: &Wiki,
    user: &str,
    page: &str,
    needle: &str,
) -> Result<Vec<u64>, WikiError> {
    let answer = wiki
        .query(&[
            ("list".into(), "usercontribs".into()),
            ("ucuser".into(), user.to_string()),
            ("ucprop".into(), "ids|title|comment".into()),
            ("uclimit".into(), "100".into()),
        ])
        .await?;
    Ok(answer["query"]["usercontribs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["title"]
                .as_str()
                .is_some_and(|title| crate::rules::same_title(title, page))
        })
        .filter(|c| {
            c["comment"]
                .as_str()
                .is_some_and(|text| text.contains(needle))
        })
        .filter_map(|c| c["revid"].as_u64())
        .collect())
}

impl Wiki {
    /// One POST with a CSRF token; `params` include `action`. Uses the token kept
    /// from an earlier read when there is one. Two answers prove nothing was done
    /// and get exactly one more try: `badtoken` (with a fresh token) and
    /// `assertuserfailed`, a lost session (after logging in again once).
    pub async fn post_with_token(&self, params: &[(String, String)]) -> Result<Value, WikiError> {
        let mut all: Vec<(String, String)> = params.to_vec();
        if let Some(account) = self.account() {
            all.push(("assertuser".into(), account.to_string()));
        }
        let kept = self.kept_csrf();
        let token = match &kept {
            Some(token) => token.clone(),
            None => self.fresh_csrf().await?,
        };
        match self.post_once(&all, &token).await {
            Err(WikiError::Api { code, .. }) if code == "badtoken" => {
                let fresh = self.fresh_csrf().await?;
                self.post_once(&all, &fresh).await
            }
            Err(lost) if lost.is_session_lost() => {
                self.relogin(lost).await?;
                let fresh = self.fresh_csrf().await?;
                self.post_once(&all, &fresh).await
            }
            other => other,
        }
    }

    /// One POST with `token` (retried only on busy answers, see [`Wiki::retrying`]).
    async fn post_once(
        &self,
        params: &[(String, String)],
        token: &Secret,
    ) -> Result<Value, WikiError> {
        let mut with_token = params.to_vec();
        with_token.push(("token".into(), token.expose().to_string()));
        self.retrying(Request::Write, || {
            self.count_request();
            let client = self.client();
            let with_token = with_token.clone();
            async move { client.post::<_, Value>(with_token).await }
        })
        .await
    }

    /// A new CSRF token for this session (kept for the next write).
    async fn fresh_csrf(&self) -> Result<Secret, WikiError> {
        let answer = self
            .query(&[
                ("meta".into(), "tokens".into()),
                ("type".into(), "csrf".into()),
            ])
            .await?;
        self.remember_csrf(&answer);
        self.kept_csrf()
            .ok_or_else(|| WikiError::Unexpected("the wiki gave no CSRF token".into()))
    }
}

/// Revision `revid` with its page, saver (name and user id), time and summary,
/// for checking a signature; `None` if the wiki has no such revision (or it was
/// deleted).
pub async fn signature_revision(
    wiki: &Wiki,
    revid: u64,
) -> Result<Option<crate::signature::SignatureRevision>, WikiError> {
    let answer = wiki
        .query(&[
            ("prop".into(), "revisions".into()),
            ("revids".into(), revid.to_string()),
            ("rvprop".into(), SIGNATURE_PROPS.into()),
        ])
        .await?;
    let Some(page) = answer["query"]["pages"].get(0) else {
        return Ok(None);
    };
    let Some(revision) = page["revisions"].get(0) else {
        return Ok(None);
    };
    signature_of(page, revision).map(Some)
}

/// What a signature check reads of a revision.
const SIGNATURE_PROPS: &str = "ids|timestamp|user|userid|comment";

/// The revisions `user` saved on `page` since `since`, oldest first (at most
/// 50): where the web page's requester saved their signature in the wiki's own
/// edit form, which tells adminibot no revision id.
pub async fn signatures_since(
    wiki: &Wiki,
    page: &str,
    user: &str,
    since: Timestamp,
) -> Result<Vec<crate::signature::SignatureRevision>, WikiError> {
    let answer = wiki
        .query(&[
            ("prop".into(), "revisions".into()),
            ("titles".into(), page.to_string()),
            ("rvprop".into(), SIGNATURE_PROPS.into()),
            ("rvuser".into(), user.to_string()),
            ("rvstart".into(), crate::when::format_time(since)),
            ("rvdir".into(), "newer".into()),
            ("rvlimit".into(), "50".into()),
        ])
        .await?;
    let Some(found) = answer["query"]["pages"].get(0) else {
        return Ok(Vec::new());
    };
    found["revisions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|revision| signature_of(found, revision))
        .collect()
}

/// A revision of the API's answer as a signature check sees it.
fn signature_of(
    page: &Value,
    revision: &Value,
) -> Result<crate::signature::SignatureRevision, WikiError> {
    let timestamp = parse_timestamp(&revision["timestamp"])?;
    // A hidden saver (`userhidden`) or an IP edit has no user id to match.
    let user_id = revision["userid"].as_u64().filter(|&id| id > 0);
    Ok(crate::signature::SignatureRevision {
        revid: revision["revid"].as_u64().unwrap_or_default(),
        page: page["title"].as_str().unwrap_or_default().to_string(),
        user_id: user_id.filter(|_| revision.get("userhidden").is_none()),
        user: revision["user"].as_str().unwrap_or_default().to_string(),
        timestamp,
        summary: revision["comment"]
            .as_str()
            .filter(|_| revision.get("commenthidden").is_none())
            .map(str::to_string),
    })
}
