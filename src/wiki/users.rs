//! Who is who on the wiki: the caller's proven identity, other users by name,
//! the rights log, and the category backlogs charters watch.

use super::actions::{read_shutoff, shutoff_params, ShutoffRevision};
use super::{parse_timestamp, Wiki, WikiError};
use crate::facts::Timestamp;
use serde_json::Value;

/// A wiki account as the wiki describes it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WikiUser {
    /// Local user id (stable across renames).
    pub user_id: u64,
    /// The name as the wiki spells it.
    pub name: String,
    /// Explicit groups (`sysop`, `bureaucrat`, `bot`, ...), implicit ones removed.
    pub groups: Vec<String>,
    /// The block reason, if the account is blocked now.
    pub blocked: Option<String>,
}

impl WikiUser {
    /// Whether the user is in `group` now.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

const IMPLICIT_GROUPS: &[&str] = &["*", "user", "autoconfirmed"];

fn explicit_groups(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|g| !IMPLICIT_GROUPS.contains(g))
        .map(str::to_string)
        .collect()
}

/// The block reason in a `userinfo`/`users` entry, if the account is blocked.
pub(crate) fn block_reason(user: &Value) -> Option<String> {
    user.get("blockid").map(|_| {
        user["blockreason"]
            .as_str()
            .filter(|r| !r.is_empty())
            .unwrap_or("no reason given")
            .to_string()
    })
}

/// The account this session is logged in as, proven by the wiki (`meta=userinfo`);
/// the session's CSRF token comes along for the writes that may follow, and so
/// does the latest revision of `also_read` (the shutoff page), if given.
pub async fn whoami(
    wiki: &Wiki,
    also_read: Option<&str>,
) -> Result<(WikiUser, Option<ShutoffRevision>), WikiError> {
    let mut params = vec![
        ("meta".into(), "userinfo|tokens".into()),
        ("uiprop".into(), "groups|blockinfo".into()),
    ];
    if let Some(title) = also_read {
        params.extend(shutoff_params(title));
    }
    let answer = wiki.query(&params).await?;
    wiki.remember_csrf(&answer);
    let shutoff = also_read.and_then(|_| read_shutoff(&answer));
    let info = &answer["query"]["userinfo"];
    match info["id"].as_u64() {
        Some(user_id) if user_id > 0 && info.get("anon").is_none() => Ok((
            WikiUser {
                user_id,
                name: info["name"].as_str().unwrap_or_default().to_string(),
                groups: explicit_groups(&info["groups"]),
                blocked: block_reason(info),
            },
            shutoff,
        )),
        _ => Err(WikiError::Unexpected(
            "the wiki sees this session as logged out".into(),
        )),
    }
}

/// Looks a user up by name; `UnknownUser` if the wiki has no such account.
pub async fn lookup_user(wiki: &Wiki, name: &str) -> Result<WikiUser, WikiError> {
    let answer = wiki
        .query(&[
            ("list".into(), "users".into()),
            ("ususers".into(), name.to_string()),
            ("usprop".into(), "groups|blockinfo".into()),
        ])
        .await?;
    let user = &answer["query"]["users"][0];
    match user["userid"].as_u64() {
        Some(user_id) if user.get("missing").is_none() && user.get("invalid").is_none() => {
            Ok(WikiUser {
                user_id,
                name: user["name"].as_str().unwrap_or(name).to_string(),
                groups: explicit_groups(&user["groups"]),
                blocked: block_reason(user),
            })
        }
        _ => Err(WikiError::UnknownUser(name.to_string())),
    }
}

/// Evidence from the rights log that a user was once given a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RightsEvidence {
    /// The log entry that added the group.
    pub log_id: u64,
    /// When.
    pub at: Timestamp,
    /// Who added it.
    pub by: String,
}

/// The first rights-log entry that added `group` to `name`, if any.
pub async fn ever_in_group(
    wiki: &Wiki,
    name: &str,
    group: &str,
) -> Result<Option<RightsEvidence>, WikiError> {
    let answer = wiki
        .query(&[
            ("list".into(), "logevents".into()),
            ("letype".into(), "rights".into()),
            ("letitle".into(), format!("User:{name}")),
            ("leprop".into(), "ids|user|timestamp|details".into()),
            ("ledir".into(), "newer".into()),
            ("lelimit".into(), "max".into()),
        ])
        .await?;
    for event in answer["query"]["logevents"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let params = &event["params"];
        let had = |key: &str| {
            params[key]
                .as_array()
                .into_iter()
                .flatten()
                .any(|g| g.as_str() == Some(group) || g["group"].as_str() == Some(group))
        };
        if had("newgroups") && !had("oldgroups") {
            return Ok(Some(RightsEvidence {
                log_id: event["logid"].as_u64().unwrap_or(0),
                at: parse_timestamp(&event["timestamp"])?,
                by: event["user"].as_str().unwrap_or("(hidden)").to_string(),
            }));
        }
    }
    Ok(None)
}
