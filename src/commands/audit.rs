//! `adminibot audit [--user USER] [--since WHEN]` and `adminibot audit verify`.

use super::Output;
use crate::cli::{AuditArgs, AuditCommand};
use crate::error::{Error, ExitStatus};
use crate::session::Session;
use crate::store::AuditFilter;
use crate::when::{format_time, parse_when};
use serde_json::json;
use std::fmt::Write;

/// Lists audit rows, or verifies the hash chain.
pub async fn audit(session: &mut Session, args: &AuditArgs) -> Result<Output, Error> {
    if let Some(AuditCommand::Verify { wiki }) = args.verify {
        let chain = verify(session)?;
        if !wiki || chain.status != ExitStatus::Success {
            return Ok(chain);
        }
        return verify_against_wiki(session, chain).await;
    }
    let user_id = match &args.user {
        Some(name) => Some(session.user(name).await?.user_id),
        None => None,
    };
    let since = args
        .since
        .as_deref()
        .map(|w| parse_when(w, session.now))
        .transpose()
        .map_err(|e| Error::Usage(format!("--since: {e}")))?;
    let mut rows = session.store()?.audit(&AuditFilter { user_id, since })?;
    if let Some(request) = &args.request {
        rows.retain(|row| row.request_id.as_deref() == Some(request.as_str()));
    }
    let mut text = String::new();
    for row in &rows {
        let actor = row
            .actor
            .as_ref()
            .map_or("adminibot".to_string(), |a| a.name.clone());
        let subject = row
            .subject
            .as_ref()
            .map_or(String::new(), |s| format!(" `{}`", s.name));
        let _ = writeln!(
            text,
            "#{:<5} {} {:<16} by `{actor}`{subject} {}",
            row.seq,
            format_time(row.at),
            row.kind,
            row.detail
        );
    }
    if rows.is_empty() {
        text.push_str("no audit rows match\n");
    }
    Ok(Output::ok(text, json!({ "rows": rows })))
}

fn verify(session: &mut Session) -> Result<Output, Error> {
    match session.store()?.audit_verify()? {
        Ok(head) => Ok(Output::ok(
            format!("the audit chain verifies; head {head}\n"),
            json!({ "valid": true, "head": head }),
        )),
        Err(broken) => Ok(Output {
            text: format!(
                "the audit chain is broken at row #{}: {}\n",
                broken.seq, broken.reason
            ),
            json: json!({ "valid": false, "broken_at": broken.seq, "reason": broken.reason }),
            status: ExitStatus::Refused,
        }),
    }
}

/// `audit verify --wiki`: the store against the wiki, which keeps its own record
/// that the store's holder cannot rewrite. The chain verified already; now every
/// change by a person must follow that person's `signed` row, whose revision the
/// wiki shows they saved on their attribution page with the request's summary;
/// every `deleted` row must be in the wiki's deletion log, by the bot, naming the
/// request; every `logged` row must be a revision of the bot's log page by the bot.
async fn verify_against_wiki(session: &mut Session, chain: Output) -> Result<Output, Error> {
    let rows = session.store()?.audit(&AuditFilter {
        user_id: None,
        since: None,
    })?;
    let bot = session.policy.bot.clone();
    let mut problem: Option<(i64, String)> = None;
    if let Some(unsigned) = unsigned_change(&rows, &bot) {
        problem = Some(unsigned);
    }
    for row in &rows {
        if problem.is_some() {
            break;
        }
        let found = match row.kind.as_str() {
            crate::store::SIGNED => signature_on_wiki(session, row).await?,
            crate::broker::stage::DELETED => deletion_on_wiki(session, row).await?,
            crate::broker::stage::LOGGED => log_line_on_wiki(session, row, &bot).await?,
            _ => None,
        };
        problem = found.map(|why| (row.seq, why));
    }
    Ok(match problem {
        None => Output {
            text: format!(
                "{}the store agrees with the wiki: {} rows checked\n",
                chain.text,
                rows.len()
            ),
            json: json!({ "valid": true, "head": chain.json["head"], "wiki": true }),
            status: ExitStatus::Success,
        },
        Some((seq, why)) => Output {
            text: format!("the store disagrees with the wiki at row #{seq}: {why}\n"),
            json: json!({ "valid": false, "broken_at": seq, "reason": why, "wiki": true }),
            status: ExitStatus::Refused,
        },
    })
}

/// The first change by a person (not the bot, not the service itself) that does
/// not follow a `signed` row of that person; a grant must follow a signed
/// `grant` for the same user, one grant per signature.
fn unsigned_change(rows: &[crate::store::AuditRow], bot: &str) -> Option<(i64, String)> {
    let mut signed: Option<&crate::store::AuditRow> = None;
    let mut granted_under_it = false;
    for row in rows {
        if row.kind == crate::store::SIGNED {
            signed = Some(row);
            granted_under_it = false;
            continue;
        }
        let Some(actor) = &row.actor else {
            continue;
        };
        if crate::rules::same_user(&actor.name, bot) {
            continue;
        }
        let by_signer = signed.filter(|s| {
            s.subject
                .as_ref()
                .is_some_and(|who| who.user_id == actor.user_id)
                && (row.request_id.is_none() || row.request_id == s.request_id)
        });
        let Some(signature) = by_signer else {
            return Some((
                row.seq,
                format!(
                    "`{}` by `{}` follows no signature of theirs",
                    row.kind, actor.name
                ),
            ));
        };
        if row.kind == crate::store::kind::GRANT {
            if std::mem::replace(&mut granted_under_it, true) {
                return Some((
                    row.seq,
                    format!(
                        "a second grant under the one signature of request {}",
                        signature.request_id.as_deref().unwrap_or("?")
                    ),
                ));
            }
            let granted = row.subject.as_ref().map(|s| s.name.as_str());
            let asked = signature.detail["command"]["command"]["Grant"]["user"].as_str();
            if granted.is_none()
                || !granted
                    .zip(asked)
                    .is_some_and(|(g, a)| crate::rules::same_user(g, a))
            {
                return Some((
                    row.seq,
                    format!(
                        "a grant to `{}` that the signature of request {} did not ask for",
                        granted.unwrap_or("?"),
                        signature.request_id.as_deref().unwrap_or("?")
                    ),
                ));
            }
        }
    }
    None
}

/// Why a `signed` row disagrees with its revision on the wiki, if it does.
async fn signature_on_wiki(
    session: &Session,
    row: &crate::store::AuditRow,
) -> Result<Option<String>, Error> {
    let revid = row.detail["revid"].as_u64().unwrap_or(0);
    let Some(revision) = crate::wiki::actions::signature_revision(&session.wiki, revid).await?
    else {
        return Ok(Some(format!(
            "its signature revision {revid} is not on the wiki"
        )));
    };
    let signer = row.subject.as_ref().map(|s| s.user_id);
    Ok(if revision.user_id != signer || signer.is_none() {
        Some(format!(
            "signature revision {revid} was saved by `{}`, not by the signer the store names",
            revision.user
        ))
    } else if row.detail["page"].as_str() != Some(revision.page.as_str()) {
        Some(format!(
            "signature revision {revid} is on `{}`",
            revision.page
        ))
    } else if row.detail["summary"].as_str() != revision.summary.as_deref() {
        Some(format!(
            "signature revision {revid} does not carry the request's summary"
        ))
    } else {
        None
    })
}

/// Why a `deleted` row has no matching entry in the wiki's deletion log, if not.
async fn deletion_on_wiki(
    session: &Session,
    row: &crate::store::AuditRow,
) -> Result<Option<String>, Error> {
    let deleted = crate::stages::read::<crate::stages::DeletedStage>(&row.kind, &row.detail);
    let (Some(deleted), Some(request)) = (deleted, row.request_id.as_deref()) else {
        return Ok(Some("a deletion without title or request id".into()));
    };
    let title = deleted.title.as_str();
    let entries = crate::wiki::actions::deletion_log_mentioning(
        &session.wiki,
        crate::wiki::actions::LogOf::Title(title),
        request,
    )
    .await?;
    let wanted = deleted.log_id;
    Ok(
        if entries
            .iter()
            .any(|e| e.action == "delete" && (wanted.is_none() || Some(e.id) == wanted))
        {
            None
        } else {
            Some(format!(
                "the wiki's deletion log has no deletion of `{title}` for request {request}"
            ))
        },
    )
}

/// Why a `logged` row is not a revision of the bot's log page (or one of its
/// monthly subpages) by the bot, if not.
async fn log_line_on_wiki(
    session: &Session,
    row: &crate::store::AuditRow,
    bot: &str,
) -> Result<Option<String>, Error> {
    let revid = crate::stages::read::<crate::stages::LoggedStage>(&row.kind, &row.detail)
        .and_then(|logged| logged.revid)
        .unwrap_or(0);
    let revision = crate::wiki::actions::signature_revision(&session.wiki, revid).await?;
    let log_page = &session.policy.pages.log;
    Ok(match revision {
        Some(r) if session.policy.is_log_page(&r.page) && crate::rules::same_user(&r.user, bot) => {
            None
        }
        Some(r) => Some(format!(
            "log line r{revid} is on `{}` by `{}`, not on `{log_page}` (or a monthly subpage) by `{bot}`",
            r.page, r.user
        )),
        None => Some(format!("log line r{revid} is not on the wiki")),
    })
}
