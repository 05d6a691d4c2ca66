//! Urgent reviews. The proposal: if the title was previously deleted, "the bot
//! will delete it but flag it for urgent admin review". A deletion of such a
//! title records its review as due (`review-due`); the due reviews are then
//! posted together, one noticeboard section per batch (the service posts once
//! its executor has been quiet for a moment), and a title posted for review in
//! the last day is passed over, so a create-and-delete loop cannot flood the
//! noticeboard.

use crate::broker::new_request_id;
use crate::error::Error;
use crate::permit::{bot_may_write, Grounds, Permit};
use crate::rules::visible_text;
use crate::session::Session;
use crate::stages::{self, kind, ReviewDueStage, ReviewsPostedStage};
use crate::store::AuditEvent;
use crate::wiki::actions;
use std::collections::BTreeMap;

/// What became of the due reviews of some requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// The requests whose due review this concerns.
    pub requests: Vec<String>,
    /// What happened, as a step of their reports.
    pub step: String,
}

/// Posts every due urgent review in one noticeboard section, passing over the
/// titles posted for review in the last day, and records what was settled.
/// `None` when nothing was due. While the bot may not write (stop switch,
/// shutoff page) the reviews stay due, and the step says why.
pub async fn post_due(session: &mut Session) -> Result<Option<Settled>, Error> {
    let now = session.now;
    let page = session.policy.pages.noticeboard.clone();
    let store = session.store()?;
    let recent = store.reviewed_titles_since(now - chrono::Duration::days(1))?;
    let due: Vec<(String, String, ReviewDueStage)> = store
        .due_reviews()?
        .into_iter()
        .filter_map(|row| {
            let stage = stages::read::<ReviewDueStage>(&row.kind, &row.detail)?;
            let requester = row.subject.map(|s| s.name).unwrap_or_default();
            Some((row.request_id?, requester, stage))
        })
        .collect();
    if due.is_empty() {
        return Ok(None);
    }
    let requests: Vec<String> = due.iter().map(|(id, _, _)| id.clone()).collect();
    let mut titles: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for (request_id, requester, stage) in &due {
        if recent.contains(&stage.title) || titles.contains(&stage.title) {
            continue;
        }
        titles.push(stage.title.clone());
        lines.push(format!(
            "* [[:{}]] for [[User:{}]] (request {request_id}): {} earlier deleted revision(s)",
            visible_text(&stage.title),
            visible_text(requester),
            stage.earlier
        ));
    }
    let (revid, step) = match titles.len() {
        0 => (
            None,
            "urgent review: not posted again, the title was posted for review in the last day"
                .to_string(),
        ),
        count => {
            let store = session.store.as_ref().expect("read above");
            let bot = session.bot()?;
            let cleared = match bot_may_write(session, store, bot, &BTreeMap::new(), None).await? {
                Ok(cleared) => cleared,
                Err(why) => {
                    return Ok(Some(Settled {
                        requests,
                        step: format!("urgent review not posted yet ({why}): it stays due"),
                    }))
                }
            };
            let id = format!("reviews-{}", new_request_id(now));
            let permit = Permit::issue(cleared, Grounds::Reviews { titles: count }, &id)
                .map_err(Error::Denied)?;
            let text = format!(
                "\n== Urgent review: {count} deletion(s) of pages deleted before ==\nadminibot deleted these titles, each of which had been deleted before. Please review:\n{}\n~~~~\n",
                lines.join("\n")
            );
            let summary = format!("adminibot: urgent review of {count} deletion(s)");
            let (saved, permit) =
                actions::append_as_bot(bot, permit, &page, &text, &summary).await?;
            permit.done();
            let revid = saved.new_revid;
            (
                revid,
                format!(
                    "urgent review posted to `{page}` (r{}), with {count} title(s)",
                    revid.unwrap_or(0)
                ),
            )
        }
    };
    let record = ReviewsPostedStage {
        covered: requests.clone(),
        titles,
        page,
        revid,
    };
    let detail = serde_json::to_value(&record).unwrap_or_default();
    session.store()?.audit_append(
        &AuditEvent::new(kind::REVIEWS_POSTED, None, None, detail),
        now,
    )?;
    Ok(Some(Settled { requests, step }))
}
