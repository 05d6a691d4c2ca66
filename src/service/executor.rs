//! The one executor: a thread that owns the bot's two warm wiki sessions (one
//! reads, one writes) and the store, and runs every job one at a time. Jobs come
//! from the routes over a channel; each answers on its own reply channel.
//! Between jobs, and at start, it does the maintenance the proposal lets a bot
//! automate: settling requests whose outcome is unknown, and recording the
//! automatic revocation of grants whose charter ended.

use crate::broker::{
    attribution_line, attribution_summary, describe_request, dry_run_steps, escalation_text,
    new_request_id, ActOptions, Acted, Listed, Signature,
};
use crate::cli::Command;
use crate::commands::queue::{queue_category, read_queue};
use crate::commands::{self, act::act_on_pages, check::judge_pages};
use crate::config::{Config, Secret};
use crate::error::{render, Error, ExitStatus};
use crate::permit::{bot_may_write, clock_agrees};
use crate::policy::Policy;
use crate::protocol::{
    ErrorBody, ExecuteBody, Executed, ProposeAnswer, ProposeBody, Proposed, ProposedPage,
    RemoteOutput, Status, StopSwitch, Ticket,
};
use crate::rules::{Decision, RuleName};
use crate::session::Session;
use crate::signature::{self, Expected};
use crate::stages::Ending;
use crate::store::{AuditFilter, Proposal, Store, StoreError, UserRef};
use crate::when::TestEnv;
use crate::wiki::users::{lookup_user, whoami, WikiUser};
use crate::wiki::{actions, BotWiki, Wiki};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

/// How long a proposal may wait for its signature and execution: ten minutes
/// (tests may shorten it with `ADMINIBOT_TEST_PROPOSAL_LIFETIME_SECS`, to show
/// that a long batch proposes again what would expire).
fn proposal_lifetime() -> chrono::Duration {
    let secs = crate::when::test_var("ADMINIBOT_TEST_PROPOSAL_LIFETIME_SECS")
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    chrono::Duration::seconds(secs)
}

/// A failed job, as the routes answer it: an HTTP status and the CLI's message.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The HTTP status.
    pub http: u16,
    /// The body.
    pub body: ErrorBody,
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        let status = err.status();
        let http = match status {
            ExitStatus::Refused => 403,
            ExitStatus::Usage => 400,
            ExitStatus::Wiki => 502,
            _ => 500,
        };
        Failure {
            http,
            body: ErrorBody {
                error: err.to_string(),
                rendered: render(&err),
                exit_code: status.code(),
            },
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, Failure>>;

/// Work for the executor.
pub enum Job {
    /// A read-only command.
    Read(Command, TestEnv, Reply<RemoteOutput>),
    /// A proposal.
    Propose(ProposeBody, TestEnv, Reply<ProposeAnswer>),
    /// A signed request.
    Execute(ExecuteBody, TestEnv, Reply<Executed>),
    /// The audit rows of one request.
    Request(String, Reply<Value>),
    /// The web page's poll: the revision that signs a request, if its
    /// requester has saved one on their attribution page.
    FindSignature(String, Reply<Option<u64>>),
    /// The public status page.
    Status(Reply<Status>),
}

/// What the executor starts from.
pub struct Start {
    /// The service's config.
    pub config: Config,
    /// The vetted policy.
    pub policy: Policy,
    /// The bot's secret.
    pub secret: Secret,
    /// How often to do the maintenance.
    pub maintenance_every: Duration,
}

/// Starts the executor thread: logs the bot in (twice) and opens the store
/// there, and returns the job queue once both worked.
pub fn start(start: Start) -> Result<mpsc::Sender<Job>, Error> {
    let (jobs, queue) = mpsc::channel(64);
    let (ready, started) = std::sync::mpsc::channel::<Result<(), Failure>>();
    let every = start.maintenance_every;
    std::thread::Builder::new()
        .name("executor".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(Error::Usage(format!("no runtime: {e}")).into()));
                    return;
                }
            };
            let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime.block_on(async move {
                    match Core::open(start).await {
                        Ok(core) => {
                            let _ = ready.send(Ok(()));
                            core.run(queue, every).await;
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e.into()));
                        }
                    }
                })
            }));
            // A service whose executor died must not go on accepting requests
            // it cannot carry out: exit, and let the supervisor start it again
            // (open requests are settled by the new executor's reconcile).
            if served.is_err() {
                tracing::error!("the executor panicked; the service stops");
                std::process::exit(70);
            }
        })
        .map_err(|e| Error::Usage(format!("cannot start the executor: {e}")))?;
    match started.recv() {
        Ok(Ok(())) => Ok(jobs),
        Ok(Err(failure)) => Err(Error::Remote {
            message: failure.body.error,
            rendered: failure.body.rendered,
            status: ExitStatus::from_code(failure.body.exit_code),
        }),
        Err(_) => Err(Error::Usage("the executor stopped while starting".into())),
    }
}

/// The executor's state between jobs.
struct Core {
    config: Config,
    policy: Policy,
    reader: Option<Wiki>,
    bot: Option<BotWiki>,
    store: Option<Store>,
    /// The bot account, the actor of the service's own maintenance.
    bot_user: WikiUser,
    /// The last bot write of any requester, for the policy's write interval.
    last_write: Option<Instant>,
    /// When the wiki's redirects to the tag templates were read into `policy`.
    tag_redirects_read: Option<Instant>,
    /// When to post the due urgent reviews: a moment after the last page
    /// action, so that a batch's reviews go out together.
    reviews_at: Option<tokio::time::Instant>,
    /// When `audit verify --wiki` last passed, and when it was last tried.
    wiki_verified: (Option<crate::facts::Timestamp>, Option<Instant>),
}

/// How often the service checks its store against the wiki (`audit verify
/// --wiki`), for the public audit page.
const VERIFY_WIKI_EVERY: Duration = Duration::from_secs(3600);

/// How long after a page action, beyond the write interval, the service waits
/// for the batch's next page before posting the due urgent reviews.
const REVIEWS_AFTER_QUIET: Duration = Duration::from_secs(3);

/// How long the service trusts the tag templates' redirects it read: a
/// redirect made since counts from then on.
const TAG_REDIRECTS_FRESH_FOR: Duration = Duration::from_secs(600);

impl Core {
    async fn open(start: Start) -> Result<Core, Error> {
        let Start {
            config,
            policy,
            secret,
            ..
        } = start;
        let store_path = &config.store.as_ref().expect("vetted").path;
        let store = Store::open(store_path, &config.wiki.name, crate::when::now())?;
        let username = config.bot.as_ref().expect("vetted").username.clone();
        let login = Some((username.as_str(), &secret));
        let (reader, bot) = tokio::try_join!(
            Wiki::connect(&config.wiki.api, login),
            Wiki::connect(&config.wiki.api, login)
        )?;
        let (bot_user, _) = whoami(&reader, None).await?;
        info!(bot = %bot_user.name, "the bot is logged in; the store is open");
        Ok(Core {
            config,
            policy,
            reader: Some(reader),
            bot: Some(BotWiki::new(bot)),
            store: Some(store),
            bot_user,
            last_write: None,
            tag_redirects_read: None,
            reviews_at: None,
            wiki_verified: (None, None),
        })
    }

    async fn run(mut self, mut queue: mpsc::Receiver<Job>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Maintenance first when both are ready: at start, open requests are
            // settled before any new one is taken.
            let reviews_at = self.reviews_at;
            tokio::select! {
                biased;
                _ = tick.tick() => self.maintain().await,
                job = queue.recv() => match job {
                    Some(job) => self.handle(job).await,
                    None => return,
                },
                _ = tokio::time::sleep_until(reviews_at.unwrap_or_else(tokio::time::Instant::now)),
                    if reviews_at.is_some() => self.post_reviews().await,
            }
        }
    }

    async fn handle(&mut self, job: Job) {
        match job {
            Job::Read(command, test_env, reply) => {
                crate::when::set_job_test_env(test_env);
                let answer = self.read(command).await;
                let _ = reply.send(answer.map_err(Failure::from));
            }
            Job::Propose(body, test_env, reply) => {
                crate::when::set_job_test_env(test_env);
                let answer = self.propose(body).await;
                let _ = reply.send(answer.map_err(Failure::from));
            }
            Job::Execute(body, test_env, reply) => {
                crate::when::set_job_test_env(test_env);
                let answer = self.execute(body).await;
                let _ = reply.send(answer.map_err(Failure::from));
            }
            Job::Request(id, reply) => {
                let answer = self.request(&id);
                let _ = reply.send(answer.map_err(Failure::from));
            }
            Job::FindSignature(id, reply) => {
                let answer = self.find_signature(&id).await;
                let _ = reply.send(answer.map_err(Failure::from));
            }
            Job::Status(reply) => {
                let answer = self.status().await;
                let _ = reply.send(answer.map_err(Failure::from));
            }
        }
        crate::when::set_job_test_env(TestEnv::new());
    }

    /// A session over the executor's parts, for one job.
    fn session(&mut self, caller: Option<WikiUser>) -> Session {
        let mut session = Session::in_service(
            self.config.clone(),
            self.policy.clone(),
            (
                self.reader.take().expect("parts are back after every job"),
                self.bot.take().expect("parts are back after every job"),
            ),
            self.store.take().expect("parts are back after every job"),
            caller,
            crate::when::now(),
        );
        session.tag_redirects_read = self
            .tag_redirects_read
            .is_some_and(|at| at.elapsed() < TAG_REDIRECTS_FRESH_FOR);
        session
    }

    fn restore(&mut self, session: Session) {
        let fresh = self
            .tag_redirects_read
            .is_some_and(|at| at.elapsed() < TAG_REDIRECTS_FRESH_FOR);
        if session.tag_redirects_read && !fresh {
            self.policy.templates.redirects = session.policy.templates.redirects.clone();
            self.tag_redirects_read = Some(Instant::now());
        }
        let ((reader, bot), store) = session.into_service_parts();
        self.reader = Some(reader);
        self.bot = bot;
        self.store = store;
    }

    async fn read(&mut self, command: Command) -> Result<RemoteOutput, Error> {
        if !(command.reads_public() || matches!(command, Command::Reconcile)) {
            return Err(Error::Usage(
                "only check, queue, list --user, list --all, audit, issuers list, blocklist list and reconcile need no signature; other commands do".into(),
            ));
        }
        // Reconcile only records what the wiki's logs show, so anyone may ask for
        // it early; the service does it as the bot, as its own maintenance does.
        let actor = matches!(command, Command::Reconcile).then(|| self.bot_user.clone());
        let mut session = self.session(actor);
        let output = commands::execute(&mut session, &command, false).await;
        let now = session.now;
        self.restore(session);
        let output = output?;
        if is_wiki_verification(&command) && output.status == ExitStatus::Success {
            self.wiki_verified.0 = Some(now);
        }
        Ok(RemoteOutput {
            text: output.text,
            json: output.json,
            exit_code: output.status.code(),
        })
    }

    async fn propose(&mut self, body: ProposeBody) -> Result<ProposeAnswer, Error> {
        let mut session = self.session(None);
        let answer = propose(&mut session, body).await;
        self.restore(session);
        answer
    }

    async fn execute(&mut self, body: ExecuteBody) -> Result<Executed, Error> {
        let mut session = self.session(None);
        let verified = verify(&mut session, &body).await;
        let (proposal, caller) = match verified {
            Ok(v) => v,
            Err(e) => {
                self.restore(session);
                return Err(e);
            }
        };
        if let Err(e) = session.set_caller(caller) {
            self.restore(session);
            return Err(e);
        }
        let command: Result<Proposed, Error> = serde_json::from_value(proposal.command.clone())
            .map_err(|e| Error::Usage(format!("the stored request is unreadable: {e}")));
        let answer = match command {
            Ok(Proposed::Page {
                action,
                title,
                reason,
                shutoff,
                listed,
            }) => {
                // The policy's write interval holds across all requesters.
                if let (Some(at), Ok(interval)) =
                    (self.last_write, self.policy.write_interval.to_std())
                {
                    if let Some(wait) = interval.checked_sub(at.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                // The shutoff revision the proposal was cleared with (read again
                // for a proposal stored without one), so that its saver's groups
                // come with the page's facts; the guard checks it is still the
                // latest right before the write.
                let shutoff = match shutoff {
                    Some(seen) => Ok(Some(*seen)),
                    None => actions::shutoff_revision(&session.wiki, &self.policy.pages.shutoff)
                        .await
                        .map(|(latest, _)| latest),
                };
                match shutoff {
                    Ok(latest) => session.set_shutoff(latest),
                    Err(e) => {
                        self.restore(session);
                        return Err(e.into());
                    }
                };
                let options = ActOptions {
                    action,
                    reason,
                    yes: body.yes,
                    dry_run: false,
                    escalate: false,
                    interactive: false,
                    signature: Some(Signature {
                        request_id: proposal.request_id.clone(),
                        page: proposal.page.clone(),
                        revid: body.revid,
                    }),
                    listed: listed.into_iter().collect(),
                };
                let reports = act_on_pages(&mut session, &[title], &options, false).await;
                // A batch's next page usually follows within the write interval.
                let quiet =
                    self.policy.write_interval.to_std().unwrap_or_default() + REVIEWS_AFTER_QUIET;
                self.reviews_at = Some(tokio::time::Instant::now() + quiet);
                reports.map(|reports| {
                    let page = reports[0].rendered();
                    if !matches!(
                        page.decision.as_str(),
                        "refused" | "needs-confirmation" | "allowed" | "failed"
                    ) {
                        self.last_write = Some(Instant::now());
                    }
                    Executed::Page(page)
                })
            }
            Ok(Proposed::Command(command)) => commands::execute(&mut session, &command, false)
                .await
                .map(|output| {
                    Executed::Command(RemoteOutput {
                        text: output.text,
                        json: output.json,
                        exit_code: output.status.code(),
                    })
                }),
            Err(e) => Err(e),
        };
        self.restore(session);
        answer
    }

    fn request(&mut self, id: &str) -> Result<Value, Error> {
        let store = self.store.as_ref().expect("parts are back after every job");
        let rows: Vec<Value> = store
            .audit(&AuditFilter {
                user_id: None,
                since: None,
            })?
            .into_iter()
            .filter(|r| r.request_id.as_deref() == Some(id))
            .map(|r| json!(r))
            .collect();
        Ok(json!({ "request_id": id, "rows": rows }))
    }

    /// The first revision the proposal's requester saved on their attribution
    /// page since the proposal that signs it, checked as an execute checks one;
    /// `None` while there is none (or the request is unknown or expired).
    async fn find_signature(&mut self, id: &str) -> Result<Option<u64>, Error> {
        let store = self.store.as_ref().expect("parts are back after every job");
        let Some(proposal) = store.proposal(id)? else {
            return Ok(None);
        };
        let reader = self
            .reader
            .as_ref()
            .expect("parts are back after every job");
        let saved = actions::signatures_since(
            reader,
            &proposal.page,
            &proposal.user.name,
            proposal.proposed_at,
        )
        .await?;
        let expected = expected(&proposal);
        let now = crate::when::now();
        Ok(saved
            .into_iter()
            .find(|revision| signature::verify(&expected, revision, now).is_ok())
            .map(|revision| revision.revid))
    }

    /// Whether the bot may act now (the stop switch, the shutoff page), the
    /// audit chain's head, and when the store last matched the wiki.
    async fn status(&mut self) -> Result<Status, Error> {
        let session = self.session(None);
        let status = status_of(&session, self.wiki_verified.0).await;
        self.restore(session);
        status
    }

    /// Checks the store against the wiki once an hour (and at start), so the
    /// public audit page can say when it last passed; a failure is logged.
    async fn verify_against_wiki(&mut self) {
        if self
            .wiki_verified
            .1
            .is_some_and(|at| at.elapsed() < VERIFY_WIKI_EVERY)
        {
            return;
        }
        self.wiki_verified.1 = Some(Instant::now());
        let command = Command::Audit(crate::cli::AuditArgs {
            user: None,
            since: None,
            request: None,
            verify: Some(crate::cli::AuditCommand::Verify { wiki: true }),
        });
        match self.read(command).await {
            Ok(output) if output.exit_code == 0 => {}
            Ok(output) => warn!("audit verify --wiki failed: {}", output.text.trim()),
            Err(e) => warn!("audit verify --wiki could not run: {}", render(&e)),
        }
    }

    /// Posts the due urgent reviews together (see [`crate::reviews`]); a
    /// failure is logged, and they stay due for the next maintenance.
    async fn post_reviews(&mut self) {
        self.reviews_at = None;
        let mut session = self.session(Some(self.bot_user.clone()));
        match crate::reviews::post_due(&mut session).await {
            Ok(Some(settled)) => info!(requests = ?settled.requests, "{}", settled.step),
            Ok(None) => {}
            Err(e) => warn!("posting the urgent reviews failed: {}", render(&e)),
        }
        self.restore(session);
    }

    /// Settles open requests from the wiki's logs, records automatic
    /// revocations and forgets long-expired proposals; failures are logged and
    /// tried again next time.
    async fn maintain(&mut self) {
        let mut session = self.session(Some(self.bot_user.clone()));
        if let Err(e) = session.revoke_ended_grants() {
            warn!("recording automatic revocations failed: {}", render(&e));
        }
        match crate::recovery::reconcile(&mut session).await {
            Ok((settled, _)) => {
                for s in settled {
                    info!(request = %s.request_id, title = %s.title, outcome = %s.outcome, "settled");
                }
            }
            Err(e) => warn!("reconcile failed: {}", render(&e)),
        }
        let day_ago = session.now - chrono::Duration::days(1);
        if let Some(store) = session.store.as_mut() {
            if let Err(e) = store.purge_proposals(day_ago) {
                warn!("purging old proposals failed: {e}");
            }
        }
        self.restore(session);
        // Reviews left due (the bot was shut off, or the service restarted).
        self.post_reviews().await;
        self.verify_against_wiki().await;
    }
}

/// `audit verify --wiki`.
fn is_wiki_verification(command: &Command) -> bool {
    matches!(
        command,
        Command::Audit(crate::cli::AuditArgs {
            verify: Some(crate::cli::AuditCommand::Verify { wiki: true }),
            ..
        })
    )
}

/// The public status: the stop switch and the shutoff page as a write would
/// meet them ([`bot_may_write`]), and the audit chain.
async fn status_of(
    session: &Session,
    wiki_verified_at: Option<crate::facts::Timestamp>,
) -> Result<Status, Error> {
    let store = session.store.as_ref().expect("the service has its store");
    let page = &session.policy.pages.shutoff;
    let (shutoff, _) = actions::shutoff_revision(session.reader(), page).await?;
    let cleared = bot_may_write(
        session,
        store,
        session.bot()?,
        &Default::default(),
        shutoff.clone(),
    )
    .await?;
    let stopped = store.stopped()?.map(|stop| StopSwitch {
        by: stop.by.name,
        at: stop.at,
        reason: stop.reason,
    });
    let state = match (&stopped, &cleared) {
        (Some(_), _) => "stopped",
        (None, Err(_)) => "shut-off",
        (None, Ok(_)) => "running",
    };
    let audit = match store.audit_verify()? {
        Ok(head) => json!({ "valid": true, "head": head }),
        Err(broken) => json!({ "valid": false, "broken_at": broken.seq, "reason": broken.reason }),
    };
    let shutoff_runs = shutoff
        .as_ref()
        .is_some_and(|s| s.text.trim() == session.policy.pages.run_word);
    Ok(Status {
        state: state.to_string(),
        why: cleared.err(),
        stopped,
        shutoff,
        shutoff_page: page.clone(),
        shutoff_runs,
        audit,
        wiki_verified_at,
        version: crate::cli::VERSION.clone(),
    })
}

/// Judges a proposal; issues a ticket for each title that may be acted on, or
/// one for a signed command. Nothing is written to the wiki.
async fn propose(session: &mut Session, body: ProposeBody) -> Result<ProposeAnswer, Error> {
    let now = session.now;
    let Some((action, args)) = body.command.page_action() else {
        let user = lookup_user(&session.wiki, &body.user).await?;
        let user = UserRef {
            user_id: user.user_id,
            name: user.name,
        };
        if matches!(
            body.command,
            Command::Check(_)
                | Command::Queue(_)
                | Command::Audit(_)
                | Command::Policy(_)
                | Command::Reconcile
        ) {
            return Err(Error::Usage(
                "this command needs no signature: read it".into(),
            ));
        }
        let request_id = new_request_id(now);
        let what = format!("{} (request {request_id})", describe_command(&body.command));
        let ticket = issue(
            session,
            &user,
            Proposed::Command(Box::new(body.command)),
            &request_id,
            &what,
        )?;
        return Ok(ProposeAnswer::Command(ticket));
    };
    // `--queue`: the queue's pages, each proposed with its listing.
    let mut listing: Vec<Listed> = args.listed.clone();
    let titles: Vec<String> = match (&args.queue, listing.is_empty()) {
        (Some(name), true) => {
            let category = queue_category(session, name)?;
            let members = read_queue(session, &category, args.limit).await?;
            for member in &members {
                listing.push(Listed {
                    title: member.title.clone(),
                    category: category.clone(),
                    latest_revid: None,
                });
            }
            members.into_iter().map(|m| m.title).collect()
        }
        (_, false) => listing.iter().map(|l| l.title.clone()).collect(),
        (None, true) => args.titles.clone(),
    };
    crate::commands::act::within_batch_limit(&session.policy, titles.len())?;
    // A real run would meet the stop switch and the shutoff page before any
    // write: so does the proposal (and the dry run), and nobody is asked to sign
    // while the bot may not run. The shutoff page first, so that its saver's
    // groups come with the pages' facts.
    let (shutoff, wiki_time) =
        actions::shutoff_revision(session.reader(), &session.policy.pages.shutoff).await?;
    clock_agrees(wiki_time)?;
    let saver: Vec<String> = shutoff.iter().map(|s| s.user.clone()).collect();
    // The requester is resolved with each page's facts (an unknown name fails them).
    let (reports, groups) =
        judge_pages(session, &titles, &body.user, (action, None), &saver).await?;
    // A page given twice is proposed (and signed, and acted on) once.
    let reports = crate::report::without_repeats(reports);
    let acting = reports
        .iter()
        .any(|r| matches!(&r.result, Ok(j) if j.verdict.decision() != Decision::Refused));
    // The shutoff revision the bot is cleared with goes into each ticket.
    let may_run = match (acting, session.store.as_ref()) {
        (true, Some(store)) => bot_may_write(session, store, session.bot()?, &groups, shutoff)
            .await?
            .map(|cleared| Some(cleared.shutoff().clone())),
        _ => Ok(None),
    };
    let ticketing = Ticketing {
        action,
        args,
        listing: &listing,
        may_run: &may_run,
        now,
    };
    let pages = reports
        .into_iter()
        .map(|report| ticketing.page(session, report))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(ProposeAnswer::Pages(pages))
}

/// What each judged page of a proposal is ticketed against.
struct Ticketing<'a> {
    action: crate::rules::Action,
    args: &'a crate::cli::ActArgs,
    listing: &'a [Listed],
    may_run: &'a Result<Option<crate::wiki::actions::ShutoffRevision>, String>,
    now: crate::facts::Timestamp,
}

impl Ticketing<'_> {
    /// One judged page's answer: a refusal says what was not done (and what an
    /// escalation would post); a dry run what would be; otherwise a ticket, its
    /// proposal recorded, that the requester's signature makes executable.
    fn page(
        &self,
        session: &mut Session,
        mut report: crate::report::PageReport,
    ) -> Result<ProposedPage, Error> {
        let listed = report
            .result
            .as_ref()
            .ok()
            .and_then(|judged| listed_now(self.listing, judged));
        let mut ticketed = None;
        let mut escalation = None;
        if let Ok(judged) = &mut report.result {
            match self.answer(session, judged, listed.clone())? {
                PageAnswer::Ended {
                    acted,
                    escalation: posted,
                } => {
                    judged.acted = Some(acted);
                    escalation = posted;
                }
                PageAnswer::Ticket {
                    ticket,
                    needs_confirmation,
                } => ticketed = Some((ticket, needs_confirmation)),
            }
        }
        Ok(ProposedPage {
            page: report.rendered(),
            needs_confirmation: ticketed.as_ref().is_some_and(|(_, confirm)| *confirm),
            ticket: ticketed.map(|(ticket, _)| ticket),
            escalation,
            listed,
        })
    }

    fn answer(
        &self,
        session: &mut Session,
        judged: &crate::report::Judged,
        listed: Option<Listed>,
    ) -> Result<PageAnswer, Error> {
        let request_id = new_request_id(self.now);
        let ended = |decision, status, steps| PageAnswer::Ended {
            acted: Acted::ended(request_id.clone(), decision, status, steps),
            escalation: None,
        };
        let user = UserRef {
            user_id: judged.requester_id,
            name: judged.requester.clone(),
        };
        Ok(match (judged.verdict.decision(), self.may_run) {
            (Decision::Refused, _) => self.refusal(session, judged, &request_id),
            (_, Err(why)) => ended(
                Ending::Refused,
                ExitStatus::Refused,
                vec![format!("nothing was done: {why}")],
            ),
            _ if self.args.dry_run => ended(
                Ending::Allowed,
                ExitStatus::Success,
                dry_run_steps(
                    &session.policy,
                    &user.name,
                    self.action,
                    &judged.title,
                    None,
                ),
            ),
            (decision, Ok(shutoff)) => {
                let what = describe_request(
                    self.action,
                    &judged.title,
                    judged.tier,
                    judged.charter.as_deref(),
                    &request_id,
                );
                let proposed = Proposed::Page {
                    action: self.action,
                    title: judged.title.clone(),
                    reason: self.args.reason.clone(),
                    shutoff: shutoff.clone().map(Box::new),
                    listed,
                };
                PageAnswer::Ticket {
                    ticket: issue(session, &user, proposed, &request_id, &what)?,
                    needs_confirmation: decision == Decision::NeedsConfirmation,
                }
            }
        })
    }

    /// A refused page: nothing was done, and what `--escalate` posts (when
    /// there is something an administrator could do).
    fn refusal(
        &self,
        session: &Session,
        judged: &crate::report::Judged,
        request_id: &str,
    ) -> PageAnswer {
        let nothing_there = judged
            .verdict
            .outcomes
            .iter()
            .any(|o| o.rule == RuleName::PageExists && !o.outcome.passed());
        let mut escalation = None;
        let step = if nothing_there {
            // An administrator could do no more: nothing to escalate.
            format!(
                "nothing was done: there is nothing to {} at `{}`",
                self.action, judged.title
            )
        } else if self.args.escalate {
            escalation = Some(escalation_text(&judged.title, request_id, &judged.verdict));
            "nothing was done".to_string()
        } else {
            format!(
                "nothing was done; `--escalate` asks an administrator on `{}`",
                session.policy.pages.noticeboard
            )
        };
        PageAnswer::Ended {
            acted: Acted::ended(
                request_id.to_string(),
                Ending::Refused,
                ExitStatus::Refused,
                vec![step],
            ),
            escalation,
        }
    }
}

/// What a proposal answers for one judged page.
enum PageAnswer {
    /// Nothing will be done: the report says why (and what an escalation
    /// would post, when asked).
    Ended {
        acted: Acted,
        escalation: Option<String>,
    },
    /// A ticket that the requester's signature makes executable.
    Ticket {
        ticket: Ticket,
        needs_confirmation: bool,
    },
}

/// A judged page as its queue listed it: the revision of the first listing
/// when it was listed before, else the one just judged.
fn listed_now(listing: &[Listed], judged: &crate::report::Judged) -> Option<Listed> {
    let entry = listing
        .iter()
        .find(|l| crate::rules::same_title(&l.title, &judged.title))?;
    Some(Listed {
        title: judged.title.clone(),
        category: entry.category.clone(),
        latest_revid: entry.latest_revid.or(judged.latest_revid),
    })
}

/// Records a proposal and returns its ticket: the attribution edit that signs it.
fn issue(
    session: &mut Session,
    user: &UserRef,
    proposed: Proposed,
    request_id: &str,
    what: &str,
) -> Result<Ticket, Error> {
    let proposed_at = session.now;
    let ticket = Ticket {
        request_id: request_id.to_string(),
        page: session.policy.attribution_page(&user.name),
        text: attribution_line(what),
        summary: attribution_summary(what),
        expires_at: proposed_at + proposal_lifetime(),
    };
    let proposal = Proposal {
        request_id: request_id.to_string(),
        user: user.clone(),
        command: serde_json::to_value(&proposed)
            .map_err(|e| Error::Usage(format!("cannot store the request: {e}")))?,
        page: ticket.page.clone(),
        summary: ticket.summary.clone(),
        proposed_at,
        expires_at: ticket.expires_at,
    };
    session.store()?.add_proposal(&proposal)?;
    Ok(ticket)
}

/// A signed command in words, for its signature edit, as a command line:
/// `grant --user Alice --tier self --reason "..."`. A charter's text is pinned by
/// its hash; the whole is cut to fit an edit summary.
fn describe_command(command: &Command) -> String {
    fn words(value: &Value, out: &mut Vec<String>) {
        let Value::Object(map) = value else {
            return;
        };
        for (key, value) in map {
            let flag = key.replace('_', "-");
            match value {
                Value::Null | Value::Bool(false) => {}
                Value::Bool(true) => out.push(format!("--{flag}")),
                Value::String(text) if key == "charter_text" => {
                    use sha2::{Digest, Sha256};
                    let digest = Sha256::digest(text.as_bytes());
                    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
                    out.push(format!("(charter sha256 {hex})"));
                }
                Value::String(text) if text.is_empty() => {}
                Value::String(text) => out.push(format!("--{flag} {text:?}")),
                Value::Object(_) if key.chars().next().is_some_and(char::is_uppercase) => {
                    out.push(key.to_lowercase());
                    words(value, out);
                }
                other => out.push(format!("--{flag} {other}")),
            }
        }
    }
    let mut out = Vec::new();
    match serde_json::to_value(command).unwrap_or(Value::Null) {
        Value::String(unit) => out.push(unit.to_lowercase()),
        value => words(&value, &mut out),
    }
    out.join(" ").chars().take(250).collect()
}

/// What a signature of `proposal` must match.
fn expected(proposal: &Proposal) -> Expected<'_> {
    Expected {
        request_id: &proposal.request_id,
        user_id: proposal.user.user_id,
        page: &proposal.page,
        summary: &proposal.summary,
        proposed_at: proposal.proposed_at,
        expires_at: proposal.expires_at,
    }
}

/// Checks the signature of an execute: an issued, unexpired request, and a
/// revision the requester saved for it, never used before. Returns the proposal
/// and the requester as the wiki knows them now.
async fn verify(session: &mut Session, body: &ExecuteBody) -> Result<(Proposal, WikiUser), Error> {
    let now = session.now;
    let proposal = session
        .store()?
        .proposal(&body.request_id)?
        .ok_or_else(|| {
            Error::Denied(format!(
            "request {} was never issued by this service (or expired long ago): propose it again",
            body.request_id
        ))
        })?;
    if now > proposal.expires_at {
        return Err(Error::Denied(
            signature::Refusal::Expired {
                request_id: proposal.request_id.clone(),
                expired_at: proposal.expires_at,
            }
            .to_string(),
        ));
    }
    let revision = actions::signature_revision(&session.wiki, body.revid)
        .await?
        .ok_or_else(|| {
            Error::Denied(format!(
                "revision {} does not exist (or is deleted): save the signature edit first",
                body.revid
            ))
        })?;
    signature::verify(&expected(&proposal), &revision, now)
        .map_err(|r| Error::Denied(r.to_string()))?;
    // A page action reads the requester's groups and block with the page's
    // facts (and refuses if the name now belongs to another account); a command
    // needs them first.
    let is_page = matches!(
        serde_json::from_value::<Proposed>(proposal.command.clone()),
        Ok(Proposed::Page { .. })
    );
    let caller = if is_page {
        WikiUser {
            user_id: proposal.user.user_id,
            name: proposal.user.name.clone(),
            groups: Vec::new(),
            blocked: None,
        }
    } else {
        let caller = lookup_user(&session.wiki, &proposal.user.name).await?;
        if caller.user_id != proposal.user.user_id {
            return Err(Error::Denied(format!(
                "`{}` is now another account (user id {} instead of {}): propose again",
                proposal.user.name, caller.user_id, proposal.user.user_id
            )));
        }
        caller
    };
    match session.store()?.use_signature(&proposal, body.revid, now) {
        Err(StoreError::Conflict(why)) => return Err(Error::Denied(why)),
        other => other?,
    }
    Ok((proposal, caller))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn described(line: &str) -> String {
        let cli = crate::cli::Cli::parse_from(line.split(' '));
        describe_command(&cli.command)
    }

    #[test]
    fn a_signed_command_reads_as_its_command_line() {
        assert_eq!(
            described("adminibot grant --user Alice --tier self --reason good"),
            r#"grant --reason "good" --tier "self" --user "Alice""#
        );
        assert_eq!(
            described("adminibot issuers add Admin --tier not-self"),
            r#"issuers add --tier "not-self" --user "Admin""#
        );
        assert_eq!(described("adminibot resume"), "resume");
        assert_eq!(described("adminibot approve 3"), "approve --grant-id 3");
    }
}
