//! After the fact: `reconcile` settles requests whose outcome is unknown by
//! reading the wiki (never by resending a write), and `rollback` lets an
//! administrator undo the bot's recent actions, newest first.

use crate::authority::may_act_as_administrator;
use crate::broker::{new_request_id, stage, Recorder};
use crate::error::{Error, ExitStatus};
use crate::facts::Timestamp;
use crate::permit::{bot_may_write, Grounds, Permit};
use crate::session::Session;
use crate::stages::{
    AttributedStage, DeletedStage, EndStage, Ending, IncidentStage, RequestStage, RevisionStamp,
    RollbackStage, ScheduledStage, UndeletedStage,
};
use crate::store::{Actor, AuditFilter, AuditRow, StoreError, UserRef};
use crate::wiki::actions::{self, DeletedRevision, Deletion, LogOf};
use crate::wiki::{BotWiki, Wiki};
use std::collections::BTreeSet;

/// What happened to one request or rollback step.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The request it concerns.
    pub request_id: String,
    /// The page.
    pub title: String,
    /// One line: what was found or done.
    pub outcome: String,
    /// Whether it went as asked.
    pub ok: bool,
}

/// Rows of one request, in order.
fn rows_of<'a>(rows: &'a [AuditRow], request_id: &str) -> Vec<&'a AuditRow> {
    rows.iter()
        .filter(|r| r.request_id.as_deref() == Some(request_id))
        .collect()
}

/// Requests that were started (a `request` row) but never ended.
fn open_requests(rows: &[AuditRow]) -> Vec<&AuditRow> {
    let ended: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.kind == stage::END)
        .filter_map(|r| r.request_id.as_deref())
        .collect();
    rows.iter()
        .filter(|r| r.kind == stage::REQUEST)
        .filter(|r| {
            r.request_id
                .as_deref()
                .is_some_and(|id| !ended.contains(id))
        })
        .collect()
}

/// Settles every open request from what the wiki's logs and contributions show.
/// A deletion the wiki left to its job queue stays open (exit 5) until its log
/// entry appears.
pub async fn reconcile(session: &mut Session) -> Result<(Vec<Settled>, ExitStatus), Error> {
    let actor = session.actor()?;
    let rows = session.store()?.audit(&AuditFilter {
        user_id: None,
        since: None,
    })?;
    let mut settled = Vec::new();
    let mut status = ExitStatus::Success;
    for request in open_requests(&rows) {
        let open = OpenRequest::from_rows(&rows, request, &actor);
        settled.push(match read_the_wiki(session, &open).await? {
            Reading::StillQueued { title } => {
                status = status.max(ExitStatus::Unknown);
                Settled {
                    request_id: open.id,
                    title,
                    outcome: "the deletion is still in the wiki's job queue; run `adminibot reconcile` again once it has run".into(),
                    ok: false,
                }
            }
            Reading::Shown(shown) => close(session, &actor, open, &shown)?,
        });
    }
    Ok((settled, status))
}

/// One open request as its audit rows tell it.
struct OpenRequest<'a> {
    id: String,
    /// The page as judged (the wiki may show it moved since).
    title: String,
    requester: UserRef,
    /// The kinds of row already recorded.
    recorded: Vec<&'a str>,
    /// The revisions the rules checked, kept with the request or with its
    /// scheduling: what a deletion may have removed.
    checked: Vec<RevisionStamp>,
    /// Whether the wiki left the deletion to its job queue.
    scheduled: bool,
}

impl<'a> OpenRequest<'a> {
    fn from_rows(rows: &'a [AuditRow], request: &AuditRow, actor: &Actor) -> Self {
        let id = request.request_id.clone().unwrap_or_default();
        let asked = crate::stages::read::<RequestStage>(&request.kind, &request.detail);
        let title = asked
            .as_ref()
            .map(|r| r.title.clone())
            .or_else(|| {
                crate::stages::read::<RollbackStage>(&request.kind, &request.detail)
                    .map(|r| r.title)
            })
            .unwrap_or_default();
        let of_request = rows_of(rows, &id);
        let scheduled = of_request
            .iter()
            .find_map(|r| crate::stages::read::<ScheduledStage>(&r.kind, &r.detail));
        let checked = match (&scheduled, asked) {
            (Some(row), _) => row.checked.clone(),
            (None, Some(asked)) => asked.checked,
            (None, None) => Vec::new(),
        };
        OpenRequest {
            requester: request
                .subject
                .clone()
                .unwrap_or_else(|| UserRef::from(actor)),
            recorded: of_request.iter().map(|r| r.kind.as_str()).collect(),
            scheduled: scheduled.is_some(),
            checked,
            title,
            id,
        }
    }
}

/// What reading the wiki for one open request found.
enum Reading {
    /// The wiki queued the deletion and has not run it yet: nothing to record.
    StillQueued { title: String },
    /// What to record, and then close the request with.
    Shown(WikiShows),
}

/// Reads what the wiki shows of one open request: the bot's log entries naming
/// it, the requester's attribution edits naming it, and what a deletion removed.
async fn read_the_wiki(session: &Session, open: &OpenRequest<'_>) -> Result<Reading, Error> {
    let reader = session.reader();
    // The bot's own log entries naming the request, wherever the page was
    // when the bot acted (it deletes by page id; a page can move).
    let bot = &session.policy.bot;
    let logged = actions::deletion_log_mentioning(reader, LogOf::User(bot), &open.id).await?;
    let deletion = logged.iter().find(|e| e.action == "delete");
    let title = deletion.map_or(open.title.clone(), |e| e.title.clone());
    if open.scheduled && deletion.is_none() {
        return Ok(Reading::StillQueued { title });
    }
    let page = session.policy.attribution_page(&open.requester.name);
    let edits =
        actions::attribution_edits_mentioning(reader, &open.requester.name, &page, &open.id)
            .await?;
    let read_back = match (deletion, open.checked.is_empty()) {
        (Some(_), false) => Some(read_back_checked(reader, &title, &open.checked).await?),
        _ => None,
    };
    Ok(Reading::Shown(WikiShows {
        title,
        edits,
        logged,
        read_back,
    }))
}

/// Records what the wiki shows of one open request and closes it.
fn close(
    session: &mut Session,
    actor: &Actor,
    open: OpenRequest<'_>,
    shown: &WikiShows,
) -> Result<Settled, Error> {
    let store = session.take_store()?;
    let mut recorder = Recorder::new(
        store,
        actor.clone(),
        session.now,
        open.id.clone(),
        open.requester,
    );
    let result = record_what_the_wiki_shows(&mut recorder, &open.recorded, shown);
    session.store = Some(recorder.into_store());
    let found = describe(&result?);
    let outcome = if shown.logged.is_empty() {
        format!("the wiki shows no action for it ({found}); closed as abandoned")
    } else {
        format!("the wiki shows {found}; recorded")
    };
    Ok(Settled {
        request_id: open.id,
        title: shown.title.clone(),
        outcome,
        ok: true,
    })
}

/// What the wiki shows of one open request.
struct WikiShows {
    /// Where the bot acted, or the page as judged if it did not.
    title: String,
    /// The requester's edits naming the request (newest first).
    edits: Vec<u64>,
    /// Deletion-log entries naming the request.
    logged: Vec<actions::FoundLogEntry>,
    /// What a deletion removed, when the request kept the revisions it checked.
    read_back: Option<ReadBack>,
}

/// Records the stages the wiki shows that the audit log lacks (`recorded`),
/// then closes the request: done if the wiki acted, abandoned if not. Returns
/// what was found, for the report.
fn record_what_the_wiki_shows(
    recorder: &mut Recorder,
    recorded: &[&str],
    shown: &WikiShows,
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    let by_reconcile = || Some("reconcile".to_string());
    if !shown.edits.is_empty() && !recorded.contains(&stage::ATTRIBUTED) {
        recorder.record(&AttributedStage {
            page: None,
            revid: Some(shown.edits[0]),
            signature: false,
            found_by: by_reconcile(),
        })?;
    }
    for entry in &shown.logged {
        let restore = entry.action == "restore";
        let kind = if restore {
            stage::UNDELETED
        } else {
            stage::DELETED
        };
        if recorded.contains(&kind) {
        } else if restore {
            recorder.record(&UndeletedStage {
                title: shown.title.to_string(),
                timestamps: Vec::new(),
                restored: None,
                log_id: Some(entry.id),
                found_by: by_reconcile(),
            })?;
        } else {
            let back = shown.read_back.as_ref();
            if let Some(back) = back.filter(|b| !b.extra.is_empty()) {
                recorder.record(&IncidentStage {
                    extra_revisions: back.extra.clone(),
                    timestamps: Vec::new(),
                    found_by: by_reconcile(),
                })?;
                found.push(format!(
                    "INCIDENT: revisions saved after the check were deleted too ({:?})",
                    back.extra
                ));
            }
            recorder.record(&DeletedStage {
                title: shown.title.to_string(),
                page_id: None,
                log_id: Some(entry.id),
                revisions: back.map(|b| b.revisions.clone()).unwrap_or_default(),
                scheduled: false,
                found_by: by_reconcile(),
            })?;
        }
        found.push(format!("{} (log {})", entry.action, entry.id));
    }
    if !shown.edits.is_empty() {
        found.push(format!("attribution edit r{}", shown.edits[0]));
    }
    let decision = if shown.logged.is_empty() {
        Ending::Abandoned
    } else {
        Ending::Done
    };
    recorder.record(&EndStage {
        decision,
        steps: Vec::new(),
        reconciled: true,
        found: found.clone(),
        rollback_of: None,
    })?;
    Ok(found)
}

/// What a deletion found by reconcile removed: the checked revisions (with the
/// timestamps an undeletion needs), and any saved after the check.
struct ReadBack {
    revisions: Vec<RevisionStamp>,
    extra: Vec<u64>,
}

async fn read_back_checked(
    reader: &Wiki,
    title: &str,
    checked: &[RevisionStamp],
) -> Result<ReadBack, Error> {
    let checked: Vec<u64> = checked.iter().map(|r| r.id).collect();
    let newest_checked = checked.iter().copied().max().unwrap_or(0);
    let deleted = actions::deleted_revisions(reader, title).await?;
    Ok(ReadBack {
        revisions: deleted
            .iter()
            .filter(|r| checked.contains(&r.id))
            .map(RevisionStamp::from)
            .collect(),
        // Revision ids only grow: anything newer than the newest checked one was
        // saved after the check.
        extra: deleted
            .iter()
            .map(|r| r.id)
            .filter(|id| *id > newest_checked)
            .collect(),
    })
}

fn describe(found: &[String]) -> String {
    if found.is_empty() {
        "nothing written".to_string()
    } else {
        found.join(", ")
    }
}

/// Which of the bot's actions to undo.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every action since this moment.
    Since(Timestamp),
    /// One request's action.
    Request(String),
}

/// One action to undo, as the audit log recorded it.
#[derive(Debug, Clone)]
struct Undo {
    request_id: String,
    title: String,
    requester: UserRef,
    /// A deletion to reverse with exactly these revisions; else an undeletion.
    deleted: bool,
    revisions: Vec<Timestamp>,
}

fn planned(rows: &[AuditRow], selection: &Selection) -> Vec<Undo> {
    let rollback_requests: BTreeSet<&str> = rows
        .iter()
        .filter(|r| crate::stages::read::<RollbackStage>(&r.kind, &r.detail).is_some())
        .filter_map(|r| r.request_id.as_deref())
        .collect();
    let mut plan: Vec<Undo> = rows
        .iter()
        .filter(|r| {
            r.request_id
                .as_deref()
                .is_some_and(|id| !rollback_requests.contains(id))
        })
        .filter(|r| match selection {
            Selection::Since(since) => r.at >= *since,
            Selection::Request(id) => r.request_id.as_deref() == Some(id.as_str()),
        })
        .filter_map(|r| {
            let done = match (
                crate::stages::read::<DeletedStage>(&r.kind, &r.detail),
                crate::stages::read::<UndeletedStage>(&r.kind, &r.detail),
            ) {
                (Some(deleted), _) => (
                    deleted.title,
                    true,
                    deleted.revisions.iter().map(|v| v.timestamp).collect(),
                ),
                (None, Some(undeleted)) => (undeleted.title, false, undeleted.timestamps),
                (None, None) => return None,
            };
            Some((r, done))
        })
        .map(|(r, (title, deleted, stamps))| Undo {
            request_id: r.request_id.clone().unwrap_or_default(),
            title,
            requester: r.subject.clone().unwrap_or(UserRef {
                user_id: 0,
                name: String::new(),
            }),
            deleted,
            revisions: stamps,
        })
        .collect();
    plan.reverse();
    plan
}

/// Undoes the bot's actions, newest first, each step audited; stops at the first
/// page someone changed since.
pub async fn rollback(
    session: &mut Session,
    selection: &Selection,
    yes: bool,
    dry_run: bool,
) -> Result<(Vec<Settled>, ExitStatus), Error> {
    let actor = session.actor()?;
    may_act_as_administrator(&actor.groups, "roll back the bot's actions")
        .map_err(Error::Denied)?;
    let rows = session.store()?.audit(&AuditFilter {
        user_id: None,
        since: None,
    })?;
    let plan = planned(&rows, selection);
    if plan.is_empty() {
        return Err(Error::Usage(
            "no action of the bot matches; nothing to roll back".into(),
        ));
    }
    let describe_step = |undo: &Undo| {
        let verb = if undo.deleted {
            "undelete"
        } else {
            "delete again"
        };
        format!(
            "{verb} `{}` ({} revision(s), request {})",
            undo.title,
            undo.revisions.len(),
            undo.request_id
        )
    };
    if dry_run || !yes {
        let settled = plan
            .iter()
            .map(|u| Settled {
                request_id: u.request_id.clone(),
                title: u.title.clone(),
                outcome: format!("would {}", describe_step(u)),
                ok: true,
            })
            .collect();
        let status = if dry_run {
            ExitStatus::Success
        } else {
            ExitStatus::Refused
        };
        return Ok((settled, status));
    }
    run_plan(session, &actor, plan).await
}

async fn run_plan(
    session: &mut Session,
    actor: &crate::store::Actor,
    plan: Vec<Undo>,
) -> Result<(Vec<Settled>, ExitStatus), Error> {
    // The bot's session is borrowed apart from the store, which each undo's
    // recorder holds while it runs.
    let Some(bot) = session.access.bot() else {
        return Err(Error::Usage("rollback needs the bot's login".into()));
    };
    let mut settled = Vec::new();
    for undo in plan {
        let now = session.now;
        let request_id = new_request_id(now);
        // Not `take_store`: the bot stays borrowed from the session's other field.
        let store = session
            .store
            .take()
            .ok_or_else(|| Error::NoStore(session.config.path.clone()))?;
        let mut recorder = Recorder::new(
            store,
            actor.clone(),
            now,
            request_id.clone(),
            undo.requester.clone(),
        );
        // A rollback writes as the bot too: every gate of a page action holds.
        let gate = bot_may_write(session, recorder.store(), bot, &Default::default(), None).await;
        let grounds = Grounds::Rollback {
            groups: &actor.groups,
        };
        let permit = gate.map(|cleared| {
            cleared.and_then(|cleared| Permit::issue(cleared, grounds, &request_id))
        });
        let result = match permit {
            Ok(Ok(permit)) => undo_one((bot, permit), &mut recorder, &undo, &actor.name).await,
            Ok(Err(why)) => Ok(Err(format!("nothing was done: {why}"))),
            Err(e) => Err(e),
        };
        let outcome = match &result {
            Ok(Ok(done)) => done.clone(),
            Ok(Err(changed)) => changed.clone(),
            Err(e) => e.to_string(),
        };
        let ok = matches!(result, Ok(Ok(_)));
        let end = recorder.record(&EndStage {
            decision: if ok { Ending::Done } else { Ending::Refused },
            steps: vec![outcome.clone()],
            reconciled: false,
            found: Vec::new(),
            rollback_of: Some(undo.request_id.clone()),
        });
        session.store = Some(recorder.into_store());
        end?;
        settled.push(Settled {
            request_id: undo.request_id.clone(),
            title: undo.title.clone(),
            outcome,
            ok,
        });
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Ok((settled, ExitStatus::Partial)),
            Err(e) => return Err(e),
        }
    }
    Ok((settled, ExitStatus::Success))
}

/// One step: `Ok(Ok(what was done))`, `Ok(Err(what changed))` when the page
/// changed since, `Err` when the wiki or the store failed.
async fn undo_one(
    (bot, permit): (&BotWiki, Permit),
    recorder: &mut Recorder,
    undo: &Undo,
    admin: &str,
) -> Result<Result<String, String>, Error> {
    recorder.record(&RollbackStage {
        title: undo.title.clone(),
        action: if undo.deleted { "undelete" } else { "delete" }.to_string(),
        rollback_of: undo.request_id.clone(),
    })?;
    // The administrator who rolls back is the one on whose behalf the bot acts now.
    let reason = format!(
        "On behalf of [[User:{admin}|{admin}]] (adminibot rollback, request {}): rollback of request {} for [[User:{}]]",
        recorder.request_id(),
        undo.request_id,
        undo.requester.name
    );
    let live = actions::live_revisions(bot.reads(), &undo.title).await?;
    if undo.deleted {
        if live.is_some() {
            return Ok(Err(format!(
                "`{}` was recreated since; not undeleted",
                undo.title
            )));
        }
        if undo.revisions.is_empty() {
            return Ok(Err(format!(
                "which revisions of `{}` the bot deleted is not recorded, so it was not undeleted (the wiki would restore everything ever deleted there): ask an administrator",
                undo.title
            )));
        }
        let deleted = actions::deleted_revisions(bot.reads(), &undo.title).await?;
        let available: BTreeSet<Timestamp> = deleted.iter().map(|r| r.timestamp).collect();
        if !undo.revisions.iter().all(|t| available.contains(t)) {
            return Ok(Err(format!(
                "the deleted revisions of `{}` changed since; not undeleted",
                undo.title
            )));
        }
        let (restored, _) =
            actions::undelete(bot, permit, &undo.title, &undo.revisions, &reason).await?;
        recorder
            .after_write(&UndeletedStage {
                title: undo.title.clone(),
                timestamps: undo.revisions.clone(),
                restored: Some(restored),
                log_id: None,
                found_by: None,
            })
            .map_err(|s| Error::Usage(s.why))?;
        Ok(Ok(format!(
            "undeleted `{}` ({restored} revision(s))",
            undo.title
        )))
    } else {
        let Some((page_id, revisions)) = live else {
            return Ok(Err(format!(
                "`{}` was deleted again since; nothing to do",
                undo.title
            )));
        };
        let now_there: Vec<Timestamp> = revisions
            .iter()
            .map(|r: &DeletedRevision| r.timestamp)
            .collect();
        if now_there != undo.revisions {
            return Ok(Err(format!(
                "`{}` was edited since it was undeleted; not deleted again",
                undo.title
            )));
        }
        let (log_id, done) = match actions::delete(bot, permit, page_id, &reason).await?.0 {
            Deletion::Done { log_id, .. } => (log_id, format!("log {}", log_id.unwrap_or(0))),
            Deletion::Scheduled => (None, "scheduled in the wiki's job queue".to_string()),
        };
        recorder
            .after_write(&DeletedStage {
                title: undo.title.clone(),
                page_id: Some(page_id),
                log_id,
                revisions: revisions.iter().map(RevisionStamp::from).collect(),
                scheduled: log_id.is_none(),
                found_by: None,
            })
            .map_err(|s| Error::Usage(s.why))?;
        Ok(Ok(format!("deleted `{}` again ({done})", undo.title)))
    }
}
