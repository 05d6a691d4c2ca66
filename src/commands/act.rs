//! `adminibot delete|undelete|delete-redirect TITLE...`: the main job.

use super::Output;
use crate::broker::{act as act_on, ActOptions, Listed};
use crate::cli::ActArgs;
use crate::commands::check::judge_pages;
use crate::commands::queue::{queue_category, read_queue};
use crate::error::{Error, ExitStatus};
use crate::prompt::will_act;
use crate::report::{noted_as_repeat, rendered, Judged, PageReport};
use crate::rules::Action;
use crate::session::Session;
use crate::wiki::facts::{fetch, fetch_many, FetchOptions, Fetched};
use crate::wiki::users::WikiUser;
use crate::wiki::WikiError;
use std::time::{Duration, Instant};

/// How long the facts read with a chunk of a batch are used before a page's
/// own are read again.
const FACTS_FRESH_FOR: Duration = Duration::from_secs(5);

/// Runs the pipeline for every title (read from stdin already, see
/// [`super::resolve`]), or for the pages of `--queue`, in series, as the
/// proven caller; with `progress`, a progress line on stderr for batches of
/// more than three pages.
pub async fn act(
    session: &mut Session,
    action: Action,
    args: &ActArgs,
    progress: bool,
) -> Result<Output, Error> {
    let mut options = ActOptions {
        action,
        reason: args.reason.clone(),
        yes: args.yes,
        dry_run: args.dry_run,
        escalate: args.escalate,
        interactive: true,
        signature: None,
        listed: Vec::new(),
    };
    let (titles, mut reports) = match &args.queue {
        Some(name) => {
            let (titles, listed, refused) = plan_queue(session, action, args, name).await?;
            crate::when::test_pause("queue-listed");
            // Asked once for the whole queue.
            options.yes = true;
            options.listed = listed;
            (titles, refused)
        }
        None => (args.titles.clone(), Vec::new()),
    };
    reports.extend(act_on_pages(session, &titles, &options, progress).await?);
    if !args.dry_run && session.store.is_some() {
        post_due_reviews(session, &mut reports).await;
    }
    Ok(Output::from_pages(&rendered(&reports)))
}

/// `--queue NAME`: the queue's pages judged for the caller, the plan shown on
/// stderr and confirmed once (`--yes`, or `yes` at a terminal; a dry run asks
/// nothing). The titles to act on with their listing, and the refused pages'
/// reports.
async fn plan_queue(
    session: &mut Session,
    action: Action,
    args: &ActArgs,
    name: &str,
) -> Result<(Vec<String>, Vec<Listed>, Vec<PageReport>), Error> {
    let category = queue_category(session, name)?;
    let members = read_queue(session, &category, args.limit).await?;
    let titles: Vec<String> = members.into_iter().map(|m| m.title).collect();
    let requester = session.caller()?.name.clone();
    let saver: Vec<String> = session.shutoff().iter().map(|s| s.user.clone()).collect();
    let (judged, _) = judge_pages(session, &titles, &requester, (action, None), &saver).await?;
    let shown = rendered(&judged);
    crate::prompt::confirm_queue_plan(name, action, &shown, args)?;
    let mut acting = Vec::new();
    let mut listed = Vec::new();
    let mut refused = Vec::new();
    for (report, page) in judged.into_iter().zip(&shown) {
        match &report.result {
            Ok(judged) if will_act(page) => {
                acting.push(judged.title.clone());
                listed.push(Listed {
                    title: judged.title.clone(),
                    category: category.clone(),
                    latest_revid: judged.latest_revid,
                });
            }
            _ => refused.push(report),
        }
    }
    Ok((acting, listed, refused))
}

/// The batch's urgent reviews, posted together once it is over; the step
/// goes to each report it concerns. A failure leaves them due for the next
/// run (or the service), and says so.
async fn post_due_reviews(session: &mut Session, reports: &mut [PageReport]) {
    let settled = match crate::reviews::post_due(session).await {
        Ok(Some(settled)) => settled,
        Ok(None) => return,
        Err(err) => crate::reviews::Settled {
            requests: Vec::new(),
            step: format!("urgent review not posted yet ({err}): it stays due for the next run"),
        },
    };
    for report in reports.iter_mut() {
        let Ok(Judged {
            acted: Some(acted), ..
        }) = &mut report.result
        else {
            continue;
        };
        let due = acted
            .steps
            .iter()
            .any(|s| s.starts_with("urgent review due"));
        if due && (settled.requests.is_empty() || settled.requests.contains(&acted.request_id)) {
            acted.steps.push(settled.step.clone());
        }
    }
}

/// The pipeline for each of `titles`, in series, as the session's proven caller.
///
/// Facts are read 50 pages at a time, right before those pages are acted on;
/// the re-read before each write catches anything that changed meanwhile.
/// Before anything is written, a problem with the whole run (the wiki down,
/// the clock) ends it: nothing changed. After a write it becomes the report
/// of the page it met, so the pages already acted on are never lost.
pub async fn act_on_pages(
    session: &mut Session,
    titles: &[String],
    options: &ActOptions,
    progress: bool,
) -> Result<Vec<PageReport>, Error> {
    within_batch_limit(&session.policy, titles.len())?;
    session.actor()?;
    bot_is_the_policys(session)?;
    let requester = session.caller()?.name.clone();
    session.read_tag_redirects().await?;
    let policy = session.policy.clone();
    // The shutoff page's saver, so their groups come with each page's facts.
    let saver: Vec<String> = session.shutoff().iter().map(|s| s.user.clone()).collect();
    let mut batch = Batch {
        session,
        options,
        fetch_options: FetchOptions {
            requester: &requester,
            bot_groups: &policy.bots.groups,
            redirect_words: &policy.redirect_words,
            also_users: &saver,
            usage_limit: policy.in_use.read_limit(),
        },
        write_interval: policy.write_interval.to_std().ok(),
        last_write: None,
        reports: Vec::new(),
    };
    let bar = crate::progress::Progress::new(titles.len(), progress);
    for (c, chunk) in titles.chunks(50).enumerate() {
        let read_at = Instant::now();
        let Some(all) = batch.read_chunk(chunk).await? else {
            continue;
        };
        for (i, (title, fetched)) in chunk.iter().zip(all).enumerate() {
            bar.at(c * 50 + i, title);
            batch.page(title, fetched, read_at).await?;
        }
    }
    bar.finish();
    Ok(batch.reports)
}

/// The bot the config logs in must be the policy's, or its log entries would
/// not count as adminibot's own.
fn bot_is_the_policys(session: &Session) -> Result<(), Error> {
    let bot_account = session
        .access
        .bot()
        .and_then(|b| b.account())
        .unwrap_or_default();
    if crate::rules::same_user(bot_account, &session.policy.bot) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "the config logs the bot in as `{bot_account}`, but the policy's bot is `{}`: its log entries would not count as adminibot's own",
        session.policy.bot
    )))
}

/// A batch under way: its reports so far, and when the bot last wrote.
struct Batch<'a> {
    session: &'a mut Session,
    options: &'a ActOptions,
    fetch_options: FetchOptions<'a>,
    /// The policy's interval between two writes.
    write_interval: Option<Duration>,
    /// When the bot last wrote, if it has: from then on a failure is one
    /// page's report, not the end of the run.
    last_write: Option<Instant>,
    reports: Vec<PageReport>,
}

impl Batch<'_> {
    /// The facts of one chunk, or `None` when the read failed after a write
    /// (then each of its pages has that failure as its report).
    async fn read_chunk(
        &mut self,
        chunk: &[String],
    ) -> Result<Option<Vec<Result<Fetched, WikiError>>>, Error> {
        match fetch_many(self.session.reader(), chunk, &self.fetch_options).await {
            Ok(all) => Ok(Some(all)),
            Err(err) if self.last_write.is_none() => Err(err.into()),
            Err(err) => {
                let err = Error::from(err);
                for title in chunk {
                    self.report(title, Err(after_a_write(&err)));
                }
                Ok(None)
            }
        }
    }

    /// One page: skipped if it repeats one already done or left its queue's
    /// listing, else judged and acted on with fresh facts.
    async fn page(
        &mut self,
        title: &str,
        fetched: Result<Fetched, WikiError>,
        read_at: Instant,
    ) -> Result<(), Error> {
        if let Ok(fetched) = &fetched {
            if noted_as_repeat(&mut self.reports, title, &fetched.facts.title) {
                return Ok(());
            }
            if let Some(why) = left_the_listing(self.options, fetched) {
                self.report(title, Err(Error::Denied(why)));
                return Ok(());
            }
        }
        let waited = self.wait_for_the_write_interval().await;
        // The chunk's facts and the wiki's time in them age while earlier
        // pages wait for the write interval or a confirmation: a page is
        // judged on facts and a time read moments before.
        let fetched = match fetched {
            Ok(_) if waited || read_at.elapsed() > FACTS_FRESH_FOR => {
                fetch(self.session.reader(), title, &self.fetch_options).await
            }
            fetched => fetched,
        };
        // Before any write, a failure of the run ends it: anything that stops
        // the pipeline (the clock, the store, the wiki), or the wiki failing to
        // read a page; a page it refuses to read (a bad title) is that page's.
        let (result, of_the_run) = match fetched {
            Ok(fetched) => (self.act(&fetched).await, true),
            Err(err) => {
                let err = Error::from(err);
                let of_the_run = err.status() == ExitStatus::Wiki;
                (Err(err), of_the_run)
            }
        };
        match result {
            Err(err) if of_the_run && self.last_write.is_none() => Err(err),
            result => {
                self.report(title, result);
                Ok(())
            }
        }
    }

    /// Writes go one page at a time, at least the policy's interval apart.
    /// Whether it waited.
    async fn wait_for_the_write_interval(&self) -> bool {
        let wait = self
            .last_write
            .zip(self.write_interval)
            .and_then(|(at, interval)| interval.checked_sub(at.elapsed()));
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
        }
        wait.is_some()
    }

    /// The pipeline for one page, on facts whose clock agrees with ours.
    async fn act(&mut self, fetched: &Fetched) -> Result<Judged, Error> {
        crate::permit::clock_agrees(fetched.server_time)?;
        refresh_caller(self.session, fetched)?;
        let now = crate::when::clock_override().unwrap_or(fetched.server_time);
        let (decided, acted) = act_on(self.session, fetched, self.options, now).await?;
        if !acted.decision.wrote_nothing() {
            self.last_write = Some(Instant::now());
        }
        Ok(Judged::new(fetched, decided, now, Some(acted)))
    }

    fn report(&mut self, title: &str, result: Result<Judged, Error>) {
        self.reports.push(PageReport {
            requested: title.to_string(),
            action: self.options.action,
            result,
        });
    }
}

/// Why a page a queue listed may no longer be acted on, if it may not.
fn left_the_listing(options: &ActOptions, fetched: &Fetched) -> Option<String> {
    options
        .listed
        .iter()
        .find(|l| crate::rules::same_title(&l.title, &fetched.facts.title))
        .and_then(|listed| listed.changed(&fetched.facts))
}

/// A batch no longer than the policy's `[limits] batch`, before anything is
/// read or written.
pub fn within_batch_limit(policy: &crate::policy::Policy, titles: usize) -> Result<(), Error> {
    let most = policy.limits.batch;
    if titles > most {
        return Err(Error::Denied(format!(
            "{titles} titles in one command, and the policy allows at most {most}: nothing was done; split the list"
        )));
    }
    Ok(())
}

/// A problem met after the batch wrote something, as the report of each page
/// of a chunk it stopped (an `Error` is not `Clone`).
fn after_a_write(err: &Error) -> Error {
    Error::Remote {
        message: err.to_string(),
        rendered: crate::error::render(err),
        status: err.status(),
    }
}

/// The caller as the page's fresh facts show them (groups, block), so the
/// service needs no lookup of its own; the facts must be about the same account.
fn refresh_caller(session: &mut Session, fetched: &Fetched) -> Result<(), Error> {
    let caller = session.caller()?;
    if fetched.requester.user_id != caller.user_id {
        return Err(Error::Denied(format!(
            "`{}` is now another account (user id {} instead of {}): propose again",
            caller.name, fetched.requester.user_id, caller.user_id
        )));
    }
    let name = fetched.requester.name.clone();
    session.set_caller(WikiUser {
        user_id: fetched.requester.user_id,
        groups: fetched.user_groups.get(&name).cloned().unwrap_or_default(),
        blocked: fetched.requester_blocked.clone(),
        name,
    })
}
