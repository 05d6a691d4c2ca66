//! `adminibot queue`: a work queue (a backlog category of the policy's
//! `[queues]`), oldest entry first, each page with the verdict `check` would
//! give, who tagged it and how long it has waited; then a summary. A tag is
//! evidence, never authority: the rules judge every page for the requester.

use super::check::judge_pages_keeping_facts;
use super::Output;
use crate::authority::GrantState;
use crate::charter::LiveFacts;
use crate::cli::QueueArgs;
use crate::error::Error;
use crate::facts::{PageFacts, Timestamp};
use crate::report::{Judged, PageReport};
use crate::rules::{Action, RuleName};
use crate::session::Session;
use crate::when::{format_duration, format_time};
use crate::wiki::category::{self, Member};
use serde::Serialize;
use serde_json::json;
use std::fmt::Write;

/// One page of a queue, as shown.
#[derive(Debug, Serialize)]
struct QueuedPage {
    title: String,
    /// When it entered the category.
    added: Timestamp,
    /// How long it has waited there, in seconds.
    waiting_seconds: i64,
    /// Who saved the revision that put it in the queue, if the history says.
    tagged_by: Option<String>,
    /// When.
    tagged_at: Option<Timestamp>,
    /// The decision `check` gives (`allowed`, `needs-confirmation`, `refused`, `failed`).
    decision: String,
    /// The rules that did not pass (or why the page could not be judged).
    failing: Vec<String>,
    /// The tier of the grant that covers the request, if one does.
    tier: Option<String>,
}

/// One of the requester's charters with a live condition, and whether it holds.
#[derive(Debug, Serialize)]
struct LiveCondition {
    charter: String,
    category: String,
    holds: bool,
    detail: String,
}

/// Lists a queue with the requester's verdicts; without a name, the queues.
///
/// `args` come resolved ([`super::resolve`]): `--as` set.
pub async fn queue(session: &mut Session, args: &QueueArgs) -> Result<Output, Error> {
    let (name, category) = match (&args.name, &args.category) {
        (None, None) => return Ok(the_queues(session)),
        (Some(name), _) => (Some(name.clone()), queue_category(session, name)?),
        (None, Some(category)) => (None, category.clone()),
    };
    let requester = args.as_user.clone().expect("resolved: --as is set");
    let before = requests_made(session);
    let members = read_queue(session, &category, args.limit).await?;
    let titles: Vec<String> = members.iter().map(|m| m.title.clone()).collect();
    let judged = match titles.is_empty() {
        true => Vec::new(),
        false => {
            judge_pages_keeping_facts(session, &titles, &requester, (Action::Delete, None), &[])
                .await?
                .0
        }
    };
    let requests = requests_made(session) - before;
    let now = session.now;
    let pages: Vec<QueuedPage> = members
        .iter()
        .zip(&judged)
        .map(|(member, (report, facts))| queued(member, report, facts.as_ref(), now))
        .collect();
    let live = live_conditions(session, &judged).await?;
    Ok(render(
        (name.as_deref(), &category, &requester),
        &pages,
        &live,
        requests,
        now,
    ))
}

/// The category of the policy's queue `name`.
pub fn queue_category(session: &Session, name: &str) -> Result<String, Error> {
    let queues = &session.policy.queues;
    queues.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = queues.keys().map(String::as_str).collect();
        let known = match known.is_empty() {
            true => "none".to_string(),
            false => known.join(", "),
        };
        Error::Usage(format!(
            "the policy has no queue `{name}`; its queues: {known}"
        ))
    })
}

/// The first `limit` pages of `category`, oldest entry first. The tag
/// templates' redirects ride along with the first request, and a charter
/// watching the category reads it from here.
pub async fn read_queue(
    session: &mut Session,
    category: &str,
    limit: usize,
) -> Result<Vec<Member>, Error> {
    let tags = match session.tag_redirects_read {
        true => Vec::new(),
        false => session.policy.templates.tags(),
    };
    let (members, redirects) = category::members(session.reader(), category, limit, &tags).await?;
    if let Some(redirects) = redirects {
        session.policy.templates.redirects = redirects;
        session.tag_redirects_read = true;
    }
    // The members come oldest first.
    let facts = LiveFacts {
        oldest_member_added: members.first().map(|m| m.added),
    };
    session.remember_live_facts(category, facts);
    Ok(members)
}

/// The requests the session's wiki sessions have made (the service reads
/// with one and acts with the other).
fn requests_made(session: &Session) -> usize {
    let bot = session
        .access
        .bot()
        .map_or(0, |bot| bot.reads().request_count());
    session.wiki.request_count() + bot
}

/// The policy's queues, for `adminibot queue` without a name.
fn the_queues(session: &Session) -> Output {
    let queues = &session.policy.queues;
    let mut text = match queues.is_empty() {
        true => "the policy names no queues (`[queues]`)\n".to_string(),
        false => "queues of the policy (`adminibot queue NAME`):\n".to_string(),
    };
    for (name, category) in queues {
        let _ = writeln!(text, "  {name:<20} {category}");
    }
    Output::ok(text, json!({ "queues": queues }))
}

/// A page of the queue with its verdict, its tagger and its wait.
fn queued(
    member: &Member,
    report: &PageReport,
    facts: Option<&PageFacts>,
    now: Timestamp,
) -> QueuedPage {
    // The edit that put the page in the category: the newest revision saved
    // by the time the wiki recorded the entry (a moment after the save).
    let tagging = facts.and_then(|facts| {
        let by = member.added + chrono::Duration::seconds(5);
        facts.revisions.iter().rev().find(|r| r.timestamp <= by)
    });
    let (failing, tier) = match &report.result {
        Ok(judged) => (failing_rules(judged), covering_tier(judged)),
        Err(err) => (vec![err.to_string()], None),
    };
    QueuedPage {
        title: member.title.clone(),
        added: member.added,
        waiting_seconds: (now - member.added).num_seconds().max(0),
        tagged_by: tagging.map(|r| r.user.clone().unwrap_or_else(|| "(hidden)".into())),
        tagged_at: tagging.map(|r| r.timestamp),
        decision: report.decision().to_string(),
        failing,
        tier,
    }
}

fn failing_rules(judged: &Judged) -> Vec<String> {
    judged
        .verdict
        .outcomes
        .iter()
        .filter(|o| !o.outcome.passed())
        .map(|o| o.rule.as_str().to_string())
        .collect()
}

/// The tier of the grant that covers the request: the authority gate passed
/// (or, without a store, the tier the rules ran for, unchecked).
fn covering_tier(judged: &Judged) -> Option<String> {
    let gate = judged.verdict.outcome_of(RuleName::Authority);
    match gate {
        Some(gate) if !gate.outcome.passed() => None,
        _ => Some(judged.tier.to_string()),
    }
}

/// Whether each live condition of the requester's grants in force holds now,
/// read as the charters read it (the queue's own read, when it watches the
/// same category).
async fn live_conditions(
    session: &mut Session,
    judged: &[(PageReport, Option<PageFacts>)],
) -> Result<Vec<LiveCondition>, Error> {
    if session.store.is_none() {
        return Ok(Vec::new());
    }
    let requester_id = judged.iter().find_map(|(report, _)| match &report.result {
        Ok(judged) => Some(judged.requester_id),
        Err(_) => None,
    });
    let Some(requester_id) = requester_id else {
        return Ok(Vec::new());
    };
    let now = session.now;
    let mut found = Vec::new();
    for view in session.grant_views(Some(requester_id))? {
        let Some(Ok(charter)) = &view.charter else {
            continue;
        };
        let Some(live) = &charter.live else {
            continue;
        };
        if view.state(now) != GrantState::Active {
            continue;
        }
        let facts = match session.live_facts_read(&live.category) {
            Some(facts) => facts,
            None => LiveFacts {
                oldest_member_added: category::oldest_member(session.reader(), &live.category)
                    .await?,
            },
        };
        let (holds, detail) = match live.holds(&charter.name, Some(facts), now) {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        found.push(LiveCondition {
            charter: charter.name.clone(),
            category: live.category.clone(),
            holds,
            detail,
        });
    }
    Ok(found)
}

/// The queue for people and for scripts.
fn render(
    (name, category, requester): (Option<&str>, &str, &str),
    pages: &[QueuedPage],
    live: &[LiveCondition],
    requests: usize,
    now: Timestamp,
) -> Output {
    let may_act = pages
        .iter()
        .filter(|p| p.decision == "allowed" || p.decision == "needs-confirmation")
        .count();
    let oldest = pages.iter().map(|p| p.added).min();
    let heading = match name {
        Some(name) => format!("queue `{name}` ({category})"),
        None => category.to_string(),
    };
    let mut text = format!("{heading}, as `{requester}`: {} page(s)\n", pages.len());
    if let Some(oldest) = oldest {
        let _ = writeln!(
            text,
            "  oldest entry {} ({} ago); `{requester}` may act on {may_act} now",
            format_time(oldest),
            format_duration(now - oldest)
        );
    }
    for condition in live {
        let _ = writeln!(
            text,
            "  charter `{}`: live condition {}: {}",
            condition.charter,
            if condition.holds {
                "holds"
            } else {
                "does not hold"
            },
            condition.detail
        );
    }
    if !pages.is_empty() {
        let _ = writeln!(
            text,
            "\n  {:<19} {:<14} {:>8}  {:<20} page",
            "decision", "tier", "waiting", "tagged by"
        );
    }
    for page in pages {
        let waited = format_duration(chrono::Duration::seconds(page.waiting_seconds));
        let _ = writeln!(
            text,
            "  {:<19} {:<14} {:>8}  {:<20} {}",
            page.decision,
            page.tier.as_deref().unwrap_or("-"),
            waited,
            page.tagged_by.as_deref().unwrap_or("?"),
            page.title
        );
        if !page.failing.is_empty() {
            let _ = writeln!(text, "      failing: {}", page.failing.join(", "));
        }
    }
    let json = json!({
        "queue": name,
        "category": category,
        "as": requester,
        "pages": pages,
        "summary": {
            "pages": pages.len(),
            "oldest": oldest,
            "may_act_now": may_act,
            "live_conditions": live,
            "requests": requests,
        },
    });
    Output::ok(text, json)
}
