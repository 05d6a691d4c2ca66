//! What stops adminibot regardless of grants: `suspend`, `unsuspend`, `stop`,
//! `resume` and the `blocklist`.

use super::Output;
use crate::authority::may_act_as_administrator;
use crate::cli::{BlockTargetArgs, BlocklistCommand};
use crate::error::Error;
use crate::session::{user_ref, Session};
use crate::store::BlockTarget;
use crate::when::{format_time, parse_deadline};
use crate::wiki::title::normalise;
use serde_json::json;
use std::fmt::Write;

/// `adminibot suspend --user USER [--until WHEN] --reason TEXT` (administrators).
pub async fn suspend(
    session: &mut Session,
    user: &str,
    until: Option<&str>,
    reason: &str,
) -> Result<Output, Error> {
    let actor = session.actor()?;
    may_act_as_administrator(&actor.groups, "suspend a user").map_err(Error::Denied)?;
    let user = session.user(user).await?;
    let now = session.now;
    let until = until
        .map(|w| parse_deadline(w, now))
        .transpose()
        .map_err(|e| Error::Usage(format!("--until: {e}")))?;
    session
        .store()?
        .suspend(&user_ref(&user), until, reason, &actor, now)?;
    let until_text = until.map_or("until lifted".to_string(), |u| {
        format!("until {}", format_time(u))
    });
    Ok(Output::ok(
        format!("suspended `{}` {until_text}\n", user.name),
        json!({ "suspended": user.name, "user_id": user.user_id, "until": until, "reason": reason }),
    ))
}

/// `adminibot unsuspend --user USER` (administrators).
pub async fn unsuspend(session: &mut Session, user: &str) -> Result<Output, Error> {
    let actor = session.actor()?;
    may_act_as_administrator(&actor.groups, "lift a suspension").map_err(Error::Denied)?;
    let user = session.user(user).await?;
    let now = session.now;
    session.store()?.unsuspend(user.user_id, &actor, now)?;
    Ok(Output::ok(
        format!("lifted the suspension of `{}`\n", user.name),
        json!({ "unsuspended": user.name, "user_id": user.user_id }),
    ))
}

/// `adminibot stop --reason TEXT`: "Any editor in good standing can stop the bot
/// entirely ("emergency off switch")".
pub async fn stop(session: &mut Session, reason: &str) -> Result<Output, Error> {
    let actor = session.actor()?;
    let now = session.now;
    session.store()?.stop(reason, &actor, now)?;
    Ok(Output::ok(
        "adminibot is stopped; an administrator can `adminibot resume`\n",
        json!({ "stopped": true, "by": actor.name, "reason": reason }),
    ))
}

/// `adminibot resume` (administrators).
pub async fn resume(session: &mut Session) -> Result<Output, Error> {
    let actor = session.actor()?;
    may_act_as_administrator(&actor.groups, "resume adminibot").map_err(Error::Denied)?;
    let now = session.now;
    session.store()?.resume(&actor, now)?;
    Ok(Output::ok(
        "adminibot runs again\n",
        json!({ "stopped": false, "by": actor.name }),
    ))
}

/// `adminibot blocklist add|remove|list`.
pub async fn blocklist(session: &mut Session, command: &BlocklistCommand) -> Result<Output, Error> {
    let now = session.now;
    match command {
        BlocklistCommand::Add { target, reason } | BlocklistCommand::Remove { target, reason } => {
            let actor = session.actor()?;
            may_act_as_administrator(&actor.groups, "change the blocklist")
                .map_err(Error::Denied)?;
            let resolved = resolve_target(session, target).await?;
            let store = session.store()?;
            let adding = matches!(command, BlocklistCommand::Add { .. });
            if adding {
                store.blocklist_add(&resolved, target.exception, reason, &actor, now)?;
            } else {
                store.blocklist_remove(&resolved, target.exception, reason, &actor, now)?;
            }
            let what = describe(&resolved, target.exception);
            let verb = if adding { "added" } else { "removed" };
            Ok(Output::ok(
                format!("{verb} {what}\n"),
                json!({ "target": target_json(&resolved), "exception": target.exception, "added": adding }),
            ))
        }
        BlocklistCommand::List => {
            let entries = session.store()?.blocklist()?;
            let mut text = String::new();
            if entries.is_empty() {
                text.push_str("the blocklist is empty\n");
            }
            for entry in &entries {
                let _ = writeln!(
                    text,
                    "{:<40} by `{}` at {}: {}",
                    describe(&entry.target, entry.exception),
                    entry.by.name,
                    format_time(entry.at),
                    entry.reason
                );
            }
            let rows: Vec<_> = entries
                .iter()
                .map(|e| json!({ "target": target_json(&e.target), "exception": e.exception, "reason": e.reason, "by": e.by, "at": e.at }))
                .collect();
            Ok(Output::ok(text, json!({ "blocklist": rows })))
        }
    }
}

/// Resolves `--page` through the wiki's title normalisation (a trailing `*` is kept
/// as a prefix marker) and `--user` to a user id.
async fn resolve_target(session: &Session, target: &BlockTargetArgs) -> Result<BlockTarget, Error> {
    match (&target.page, &target.user) {
        (Some(page), None) => match page.strip_suffix('*') {
            // A prefix may end where no title can (`Draft:`): normalise it with a
            // placeholder last letter, then take that letter off again.
            Some(prefix) => {
                let title = normalise(&session.wiki, &format!("{prefix}X")).await?;
                let prefix = title.strip_suffix('X').unwrap_or(&title);
                Ok(BlockTarget::Page(format!("{prefix}*")))
            }
            None => Ok(BlockTarget::Page(normalise(&session.wiki, page).await?)),
        },
        (None, Some(user)) => Ok(BlockTarget::User(user_ref(&session.user(user).await?))),
        _ => Err(Error::Usage(
            "give exactly one of `--page TITLE` or `--user USER`".into(),
        )),
    }
}

fn describe(target: &BlockTarget, exception: bool) -> String {
    let kind = if exception { "exception" } else { "entry" };
    match target {
        BlockTarget::Page(title) => format!("page {kind} `{title}`"),
        BlockTarget::User(user) => format!("user {kind} `{}`", user.name),
    }
}

fn target_json(target: &BlockTarget) -> serde_json::Value {
    match target {
        BlockTarget::Page(title) => json!({ "page": title }),
        BlockTarget::User(user) => json!({ "user": user.name, "user_id": user.user_id }),
    }
}
