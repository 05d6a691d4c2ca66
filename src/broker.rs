//! One request, end to end: the authority gate and the safety rules
//! ([`decide`]), then for real actions the guarded pipeline of DESIGN.md
//! ([`act`]): intent on the record, the shutoff page and stop switch re-read, the
//! requester's attribution edit, a re-check of the page, the bot's write by page
//! id, a read-back of what was deleted, and the on-wiki log.
//!
//! Every stage is its own audit row under one request id, written before the
//! next stage starts, so a failure anywhere leaves an exact record of what was
//! done.

use crate::authority::limits::{bot_deletions, within_limits, Lately};
use crate::authority::{
    authorise, Authority, AuthorityRequest, Coverage, Gates, GrantState, GrantView,
};
use crate::charter::LiveFacts;
use crate::error::{Error, ExitStatus};
use crate::facts::{PageFacts, Timestamp};
use crate::permit::{bot_may_write, Grounds, Permit};
use crate::policy::Limits;
use crate::rules::deletion::restorable;
use crate::rules::{
    as_written, behalf_reason, evaluate, visible_text, Action, Decision, Outcome, Request,
    RuleName, RuleOutcome, Tier, Verdict,
};
use crate::session::Session;
use crate::stages::{
    AttributedStage, DeletedStage, EndStage, Ending, IncidentStage, LoggedStage, NoticeboardStage,
    RequestStage, ReviewDueStage, RevisionStamp, ScheduledStage, Stage, UndeletedStage,
};
use crate::store::{Actor, AuditEvent, AuditFilter, AuditRow, Quota, Store, StoreError, UserRef};
use crate::wiki::actions::{self, DeletedRevision, Deletion, PageState, ShutoffRevision};
use crate::wiki::category::oldest_member;
use crate::wiki::facts::Fetched;
use crate::wiki::{BotWiki, WikiError};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The tier a request is judged under and the verdict, authority gate first.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The tier whose safety rules ran.
    pub tier: Tier,
    /// The grant that covers the request, if the gate ran and passed.
    pub coverage: Option<Coverage>,
    /// The gate's outcome (when it ran) followed by the safety rules'.
    pub verdict: Verdict,
    /// Why the gate did not run, if it did not.
    pub authority_note: Option<String>,
}

/// Runs the authority gate (when a store is configured) and the safety rules of
/// the tier it picks: the least privileged covering grant whose rules allow the
/// request, else the least privileged covering grant.
pub async fn decide(
    session: &mut Session,
    fetched: &Fetched,
    action: Action,
    tier: Option<Tier>,
    now: Timestamp,
) -> Result<Decided, Error> {
    let facts = &fetched.facts;
    let policy = session.policy.clone();
    let safety = |tier: Tier| {
        let request = Request {
            action,
            tier,
            requester: fetched.requester.clone(),
            now,
        };
        evaluate(facts, &request, &policy)
    };
    if session.store.is_none() {
        let tier = tier.unwrap_or(Tier::Own);
        return Ok(Decided {
            tier,
            coverage: None,
            verdict: safety(tier),
            authority_note: Some(format!(
                "authority not checked: `{}` has no `[store]`",
                session.config.path.display()
            )),
        });
    }
    let requester = UserRef {
        user_id: fetched.requester.user_id,
        name: fetched.requester.name.clone(),
    };
    let grants = session.grant_views(Some(requester.user_id))?;
    let live = live_facts(session, &grants, now).await?;
    let store = session.store()?;
    let stopped = store.stopped()?;
    let suspension = store.active_suspension(requester.user_id, now)?;
    let blocklist = store.blocklist()?;
    let gates = Gates {
        stopped: stopped.as_ref(),
        suspension: suspension.as_ref(),
        wiki_block: fetched.requester_blocked.as_deref(),
        blocklist: &blocklist,
    };
    let request = AuthorityRequest {
        requester: &requester,
        action,
        title: &facts.title,
        namespace: facts.namespace,
        page_templates: &facts.templates,
        tier,
        now,
    };
    Ok(match authorise(&request, &gates, &grants, &live) {
        Authority::Covered(coverages) => {
            let judged: Vec<_> = coverages.into_iter().map(|c| (safety(c.tier), c)).collect();
            let pick = judged
                .iter()
                .position(|(v, _)| v.decision() != Decision::Refused)
                .unwrap_or(0);
            let (verdict, coverage) = judged.into_iter().nth(pick).expect("at least one coverage");
            let gate =
                RuleOutcome::new(RuleName::Authority, Outcome::Pass, coverage.reason.clone());
            let lately = Lately {
                actions: store.actions_since(
                    requester.user_id,
                    coverage.tier,
                    now - chrono::Duration::days(1),
                )?,
                bot_deletions: bot_deletions(facts, &policy.bot),
            };
            let limits = within_limits(&policy.limits, (action, coverage.tier), &lately, now);
            Decided {
                tier: coverage.tier,
                verdict: prepend(gate, prepend(limits, verdict)),
                coverage: Some(coverage),
                authority_note: None,
            }
        }
        Authority::Refused(reasons) => {
            let tier = tier.unwrap_or(Tier::Own);
            let gate = RuleOutcome::new(RuleName::Authority, Outcome::Fail, reasons.join("; "));
            Decided {
                tier,
                coverage: None,
                verdict: prepend(gate, safety(tier)),
                authority_note: None,
            }
        }
    })
}

fn prepend(gate: RuleOutcome, verdict: Verdict) -> Verdict {
    let mut outcomes = vec![gate];
    outcomes.extend(verdict.outcomes);
    Verdict { outcomes }
}

/// Reads each live-condition category the requester's charters watch (one
/// request each, at most once a minute per session: a batch or a queue reads
/// it once, not once per page).
async fn live_facts(
    session: &mut Session,
    grants: &[GrantView],
    now: Timestamp,
) -> Result<BTreeMap<String, LiveFacts>, Error> {
    let mut live = BTreeMap::new();
    for view in grants {
        let Some(Ok(charter)) = &view.charter else {
            continue;
        };
        let Some(condition) = &charter.live else {
            continue;
        };
        if view.state(now) != GrantState::Active || live.contains_key(&condition.category) {
            continue;
        }
        let facts = match session.live_facts_read(&condition.category) {
            Some(facts) => facts,
            None => {
                let oldest = oldest_member(session.reader(), &condition.category).await?;
                let facts = LiveFacts {
                    oldest_member_added: oldest,
                };
                session.remember_live_facts(&condition.category, facts);
                facts
            }
        };
        live.insert(condition.category.clone(), facts);
    }
    Ok(live)
}

/// What happened to one requested action, for the report.
#[derive(Debug, Clone)]
pub struct Acted {
    /// The request id written into the audit log and every wiki edit.
    pub request_id: String,
    /// How the request ended.
    pub decision: Ending,
    /// What was done, in order, for people.
    pub steps: Vec<String>,
    /// The same, for scripts.
    pub detail: Value,
    /// How the command exits for this title.
    pub status: ExitStatus,
    /// More was deleted than was checked: an administrator must look.
    pub incident: bool,
}

impl Acted {
    /// A request that ended as `decision` with these steps and nothing more to say.
    pub(crate) fn ended(
        request_id: String,
        decision: Ending,
        status: ExitStatus,
        steps: Vec<String>,
    ) -> Self {
        Acted {
            request_id,
            decision,
            steps,
            detail: json!({}),
            status,
            incident: false,
        }
    }
}

/// The options of one real action.
#[derive(Debug, Clone)]
pub struct ActOptions {
    /// What to do.
    pub action: Action,
    /// The requester's reason, quoted in the bot's log entry.
    pub reason: String,
    /// Confirmation given in advance (`--yes`).
    pub yes: bool,
    /// Stop before any wiki write.
    pub dry_run: bool,
    /// On refusal, ask an administrator on the noticeboard.
    pub escalate: bool,
    /// Ask on the terminal before what the bot could not undo (not in the service).
    pub interactive: bool,
    /// The requester's signature edit, already saved and verified by the
    /// service: it is the attribution edit, and its request id is this request's.
    pub signature: Option<Signature>,
    /// The pages as a queue listed them (`delete --queue`): each is acted on
    /// only while it is still in the queue and unchanged since.
    pub listed: Vec<Listed>,
}

/// A page as a queue listed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Listed {
    /// The title, as the wiki names it.
    pub title: String,
    /// The queue's category.
    pub category: String,
    /// The page's latest revision when it was listed.
    pub latest_revid: Option<u64>,
}

impl Listed {
    /// Why the page may no longer be acted on for this listing: it left the
    /// queue, or it was edited since. `None` when it is as listed.
    pub fn changed(&self, facts: &PageFacts) -> Option<String> {
        let title = &self.title;
        if !facts
            .categories
            .iter()
            .any(|c| crate::rules::same_title(c, &self.category))
        {
            return Some(format!(
                "skipped: `{title}` left `{}` after it was listed; nothing was done",
                self.category
            ));
        }
        if facts.latest_revid != self.latest_revid {
            return Some(format!(
                "skipped: `{title}` was edited after it was listed (revision {} is now {}); nothing was done",
                self.latest_revid.unwrap_or(0),
                facts.latest_revid.unwrap_or(0)
            ));
        }
        None
    }
}

/// A verified signature edit: the requester's own attribution edit, saved
/// before the service acts, naming the request id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The request id the edit names.
    pub request_id: String,
    /// The requester's attribution page it was saved on.
    pub page: String,
    /// Its revision id.
    pub revid: u64,
}

/// A request id: unique per request, short enough for edit summaries.
pub fn new_request_id(now: Timestamp) -> String {
    use sha2::{Digest, Sha256};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{now}{nanos}{}", std::process::id());
    let digest = Sha256::digest(seed.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", now.format("%Y%m%d"))
}

/// Writes the stages of one request to the audit log. It holds the store for the
/// length of the pipeline, so the wiki sessions can be borrowed beside it.
pub struct Recorder {
    store: Store,
    actor: Actor,
    now: Timestamp,
    request_id: String,
    requester: UserRef,
}

impl Recorder {
    /// A recorder for request `request_id`, done by `actor` for `requester`.
    pub(crate) fn new(
        store: Store,
        actor: Actor,
        now: Timestamp,
        request_id: String,
        requester: UserRef,
    ) -> Self {
        Recorder {
            store,
            actor,
            now,
            request_id,
            requester,
        }
    }

    /// The store, to read the gates before a write.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The request id every row gets.
    pub(crate) fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Hands the store back.
    pub(crate) fn into_store(self) -> Store {
        self.store
    }

    /// The audit event of one stage of this request.
    fn event<S: Stage>(&self, stage: &S) -> AuditEvent {
        AuditEvent {
            kind: S::KIND.to_string(),
            actor: Some(self.actor.clone()),
            subject: Some(self.requester.clone()),
            request_id: Some(self.request_id.clone()),
            detail: serde_json::to_value(stage).unwrap_or_default(),
        }
    }

    /// Appends the request's first row, unless another request on `title` is unfinished.
    /// An action that may write counts against the requester's quotas, held
    /// in the same transaction, so two processes cannot both take the last one.
    fn begin(
        &mut self,
        title: &str,
        request: &RequestStage,
        limits: &Limits,
    ) -> Result<AuditRow, StoreError> {
        let event = self.event(request);
        let counted = !request.dry_run && request.decision != Decision::Refused;
        let quota = counted.then(|| Quota {
            tier: request.tier,
            windows: vec![
                (
                    self.now - chrono::Duration::hours(1),
                    limits.per_hour.of(request.tier),
                    "hour",
                ),
                (
                    self.now - chrono::Duration::days(1),
                    limits.per_day.of(request.tier),
                    "day",
                ),
            ],
        });
        self.store
            .audit_begin(&event, (title, stage::END), quota.as_ref(), self.now)
    }

    /// Appends one stage.
    pub(crate) fn record<S: Stage>(&mut self, stage: &S) -> Result<AuditRow, StoreError> {
        let event = self.event(stage);
        self.store.audit_append(&event, self.now)
    }

    /// Appends a stage after a wiki write. If the log fails now, the request
    /// stays open (no `end` row) for `reconcile`, and stderr says what was written.
    pub(crate) fn after_write<S: Stage>(&mut self, stage: &S) -> Result<AuditRow, Stop> {
        self.record(stage).map_err(|e| {
            let kind = S::KIND;
            let detail = serde_json::to_value(stage).unwrap_or_default();
            let why =
                format!("the wiki was changed ({kind}: {detail}) but the audit log failed: {e}");
            tracing::error!("{why}");
            Stop {
                written: true,
                open: Some(Open::Unrecorded),
                why,
            }
        })
    }
}

pub(crate) use crate::stages::kind as stage;

/// The last look before the bot writes, in one request: the page is as the rules
/// saw it, the shutoff page is unchanged since it was read, and its run word was
/// saved by an administrator.
async fn guard(
    session: &Session,
    bot: &BotWiki,
    facts: &PageFacts,
    shutoff: &ShutoffRevision,
) -> Result<(), String> {
    let page = &session.policy.pages.shutoff;
    let now = actions::recheck(bot.reads(), &facts.title, page)
        .await
        .map_err(|e| format!("cannot re-read the page and `{page}` before writing: {e}"))?;
    if now.shutoff_latest != Some(shutoff.id) {
        return Err(format!(
            "the shutoff page `{page}` changed a moment ago (revision {} → {:?})",
            shutoff.id, now.shutoff_latest
        ));
    }
    let expected = PageState {
        exists: facts.exists,
        page_id: facts.page_id.filter(|_| facts.exists),
        namespace: facts.namespace,
        latest_revid: facts.latest_revid.filter(|_| facts.exists),
    };
    if let (true, false, Some((kind, action, user))) =
        (expected.exists, now.page.exists, &now.newest_log)
    {
        // Someone else deleted (or moved) it meanwhile: say who, not just "changed".
        return Err(format!(
            "`{user}` acted on `{}` meanwhile ({kind}/{action}, log {:?}); the page is gone",
            facts.title, now.newest_log_id
        ));
    }
    if now.page != expected {
        return Err(format!(
            "`{}` changed since it was checked (page id {:?} → {:?}, latest revision {:?} → {:?})",
            facts.title,
            expected.page_id,
            now.page.page_id,
            expected.latest_revid,
            now.page.latest_revid
        ));
    }
    // A new log entry (a protection, a revision deletion, a move) also means the
    // rules judged an older state.
    let newest = facts.log_events.last().map(|e| e.id);
    if now.newest_log_id != newest {
        return Err(format!(
            "`{}` has a log entry newer than the check (log {:?} → {:?})",
            facts.title, newest, now.newest_log_id
        ));
    }
    Ok(())
}

/// The summary of the requester's attribution edit for the request `what`
/// ([`described`]); the service requires exactly this summary of a signature.
pub fn attribution_summary(what: &str) -> String {
    format!("adminibot: {what} on my behalf")
}

/// The text the requester's attribution edit appends before the bot acts.
pub fn attribution_line(what: &str) -> String {
    format!("\n* ~~~~~: I asked adminibot to {what}\n")
}

/// The page that records the requester's attribution edits.
pub fn attribution_page(session: &Session, requester: &str) -> String {
    session.policy.attribution_page(requester)
}

/// `delete [[:Title]] (tier self, charter X, request ID)`.
pub fn describe_request(
    action: Action,
    title: &str,
    tier: Tier,
    charter: Option<&str>,
    request_id: &str,
) -> String {
    let charter = charter.map_or(String::new(), |name| format!(", charter {name}"));
    let title = visible_text(title);
    format!("{action} [[:{title}]] (tier {tier}{charter}, request {request_id})")
}

/// Runs the pipeline for one page whose facts were read by the bot.
pub async fn act(
    session: &mut Session,
    fetched: &Fetched,
    options: &ActOptions,
    now: Timestamp,
) -> Result<(Decided, Acted), Error> {
    let decided = decide(session, fetched, options.action, None, now).await?;
    let actor = session.actor()?;
    let store = session.take_store()?;
    let requester = UserRef {
        user_id: fetched.requester.user_id,
        name: fetched.requester.name.clone(),
    };
    let request_id = match &options.signature {
        Some(signature) => signature.request_id.clone(),
        None => new_request_id(now),
    };
    let mut recorder = Recorder::new(store, actor, session.now, request_id, requester);
    let seen = session.take_shutoff();
    let result = pipeline(session, &mut recorder, fetched, &decided, options, seen).await;
    session.store = Some(recorder.into_store());
    result.map(|acted| (decided, acted))
}

async fn pipeline(
    session: &Session,
    recorder: &mut Recorder,
    fetched: &Fetched,
    decided: &Decided,
    options: &ActOptions,
    seen: Option<ShutoffRevision>,
) -> Result<Acted, Error> {
    let facts = &fetched.facts;
    let bot = session.bot()?;
    let mut acted = Acted::ended(
        recorder.request_id.clone(),
        Ending::Refused,
        ExitStatus::Refused,
        Vec::new(),
    );
    // One request per page at a time, across processes: an unfinished one (a
    // crash, a lost answer, another run right now) blocks this page.
    let request = request_stage(fetched, decided, options);
    match recorder.begin(&facts.title, &request, &session.policy.limits) {
        Err(StoreError::Conflict(why)) => return Err(Error::Denied(why)),
        other => other?,
    };
    let confirmed =
        match verdict_gate(session, recorder, fetched, decided, options, &mut acted).await {
            Gate::Go(confirmed) => confirmed,
            Gate::Ended(decision, status) => {
                end(recorder, &mut acted, decision, status)?;
                return Ok(acted);
            }
        };
    let page = PageContext {
        session,
        bot,
        fetched,
        decided,
        options,
    };
    let permit = match page.permit(confirmed, recorder, seen, &mut acted).await? {
        Gate::Go(permit) => permit,
        Gate::Ended(decision, status) => {
            end(recorder, &mut acted, decision, status)?;
            return Ok(acted);
        }
    };
    let job = Job { page, permit };
    let outcome = match options.action {
        Action::Delete | Action::DeleteRedirect => delete(job, recorder, &mut acted).await,
        Action::Undelete => undelete(job, recorder, &mut acted).await,
    };
    settle(recorder, &mut acted, outcome)?;
    Ok(acted)
}

/// Whether a request goes on to its next stage, with what that stage needs,
/// or ends here, as the `end` row will say.
enum Gate<T> {
    /// On to the next stage.
    Go(T),
    /// It ends here.
    Ended(Ending, ExitStatus),
}

/// The `request` row: the page as judged, the decision and the rules that
/// failed, and the revisions checked (what a deletion may remove).
fn request_stage(fetched: &Fetched, decided: &Decided, options: &ActOptions) -> RequestStage {
    let facts = &fetched.facts;
    RequestStage {
        title: facts.title.clone(),
        page_id: facts.page_id,
        action: options.action,
        tier: decided.tier,
        latest_revid: facts.latest_revid,
        decision: decided.verdict.decision(),
        failing: decided
            .verdict
            .outcomes
            .iter()
            .filter(|o| !o.outcome.passed())
            .map(|o| o.rule.as_str().to_string())
            .collect(),
        dry_run: options.dry_run,
        checked: match options.action {
            Action::Undelete => Vec::new(),
            _ => facts.revisions.iter().map(stamp_of).collect(),
        },
    }
}

/// Records how the request ended: its `end` row, with the steps so far.
fn end(
    recorder: &mut Recorder,
    acted: &mut Acted,
    decision: Ending,
    status: ExitStatus,
) -> Result<(), Error> {
    acted.decision = decision;
    acted.status = status;
    recorder.record(&EndStage {
        decision,
        steps: acted.steps.clone(),
        reconciled: false,
        found: Vec::new(),
        rollback_of: None,
    })?;
    Ok(())
}

/// The verdict: a refusal ends the request (escalated if asked), an action the
/// bot could not undo needs the requester's confirmation. Goes on with whether
/// it was confirmed.
async fn verdict_gate(
    session: &Session,
    recorder: &mut Recorder,
    fetched: &Fetched,
    decided: &Decided,
    options: &ActOptions,
    acted: &mut Acted,
) -> Gate<bool> {
    let facts = &fetched.facts;
    match decided.verdict.decision() {
        Decision::Refused => {
            if nothing_to_act_on(options.action, facts) {
                // An administrator could do no more: nothing to escalate.
                acted.steps.push(format!(
                    "nothing was done: there is nothing to {} at `{}`",
                    options.action, facts.title
                ));
            } else if options.escalate {
                if let Err(s) = escalate(session, recorder, facts, decided, acted).await {
                    acted.steps.push(s.why);
                }
            } else {
                acted.steps.push(format!(
                    "nothing was done; `--escalate` asks an administrator on `{}`",
                    session.policy.pages.noticeboard
                ));
            }
            Gate::Ended(Ending::Refused, ExitStatus::Refused)
        }
        Decision::NeedsConfirmation
            if !(options.yes
                || options.dry_run
                || (options.interactive && confirmed_at_terminal(decided, &facts.title))) =>
        {
            acted
                .steps
                .push("nothing was done: the bot could not undo this; confirm with `--yes`".into());
            Gate::Ended(Ending::NeedsConfirmation, ExitStatus::Refused)
        }
        Decision::NeedsConfirmation => Gate::Go(true),
        Decision::Allowed => Gate::Go(false),
    }
}

/// What one page's stages read: the session, the bot, the page's facts, the
/// decision on them and the request's options.
#[derive(Clone, Copy)]
struct PageContext<'a> {
    session: &'a Session,
    bot: &'a BotWiki,
    fetched: &'a Fetched,
    decided: &'a Decided,
    options: &'a ActOptions,
}

impl PageContext<'_> {
    /// The local stop switch and the on-wiki shutoff page, read before anything
    /// is written, and met by a dry run too ([`guard`] re-reads the page right
    /// before the bot's write). A real run goes on with the permit it writes
    /// with; a dry run ends here with what a real run would do.
    async fn permit(
        &self,
        confirmed: bool,
        recorder: &mut Recorder,
        seen: Option<ShutoffRevision>,
        acted: &mut Acted,
    ) -> Result<Gate<Permit>, Error> {
        let cleared = bot_may_write(
            self.session,
            &recorder.store,
            self.bot,
            &self.fetched.user_groups,
            seen,
        )
        .await?;
        let cleared = match cleared {
            Ok(cleared) => cleared,
            Err(why) => {
                acted.steps.push(format!("nothing was done: {why}"));
                return Ok(Gate::Ended(Ending::Refused, ExitStatus::Refused));
            }
        };
        if self.options.dry_run {
            let facts = &self.fetched.facts;
            let count = match self.options.action {
                Action::Undelete => restorable(facts).revisions.map_or(0, |r| r.len()),
                _ => facts.revisions.len(),
            };
            acted.steps.extend(dry_run_steps(
                &self.session.policy,
                &recorder.requester.name,
                self.options.action,
                &facts.title,
                Some(count),
            ));
            return Ok(Gate::Ended(Ending::Allowed, ExitStatus::Success));
        }
        let grounds = Grounds::Verdict {
            verdict: &self.decided.verdict,
            confirmed,
        };
        Ok(
            match Permit::issue(cleared, grounds, &recorder.request_id) {
                Ok(permit) => Gate::Go(permit),
                Err(why) => {
                    acted.steps.push(format!("nothing was done: {why}"));
                    Gate::Ended(Ending::Refused, ExitStatus::Refused)
                }
            },
        )
    }
}

/// How the bot's write ended: done (or partial after an incident), failed,
/// or open with its outcome unknown or unrecorded. An open request gets no
/// `end` row: new actions on the page wait until `adminibot reconcile` reads
/// the wiki and settles it.
fn settle(
    recorder: &mut Recorder,
    acted: &mut Acted,
    outcome: Result<(), Stop>,
) -> Result<(), Error> {
    match outcome {
        Ok(()) if acted.incident => end(recorder, acted, Ending::Partial, ExitStatus::Partial),
        Ok(()) => end(recorder, acted, Ending::Done, ExitStatus::Success),
        Err(Stop {
            open: Some(open),
            why,
            ..
        }) => {
            let (next, decision, status) = match open {
                Open::Unknown => (
                    "the outcome is unknown: run `adminibot reconcile` before anything else",
                    Ending::Unknown,
                    ExitStatus::Unknown,
                ),
                Open::Unrecorded => (
                    "run `adminibot reconcile` once the audit log works again: it records what the wiki shows",
                    Ending::Partial,
                    ExitStatus::Partial,
                ),
            };
            acted.steps.push(why);
            acted.steps.push(next.into());
            acted.decision = decision;
            acted.status = status;
            Ok(())
        }
        Err(Stop { written, why, .. }) => {
            acted.steps.push(why);
            let (decision, status) = if written {
                (Ending::Partial, ExitStatus::Partial)
            } else {
                (Ending::Failed, ExitStatus::Wiki)
            };
            end(recorder, acted, decision, status)
        }
    }
}

/// What a dry run says a real run would do (`count`: revisions, when known).
pub fn dry_run_steps(
    policy: &crate::policy::Policy,
    requester: &str,
    action: Action,
    title: &str,
    count: Option<usize>,
) -> Vec<String> {
    let count = count.map_or(String::new(), |n| format!(" ({n} revision(s))"));
    vec![
        "dry run: every check passed; nothing was written. A real run would:".to_string(),
        format!(
            "  re-read `{}` and the local stop switch",
            policy.pages.shutoff
        ),
        format!(
            "  save your attribution edit on `{}`",
            policy.attribution_page(requester)
        ),
        format!(
            "  have `{}` {action} `{title}`{count}, naming you in the reason",
            policy.bot
        ),
        format!(
            "  append the action to this month's subpage of `{}`",
            policy.pages.log
        ),
    ]
}

/// Whether the title offers nothing to act on: no page to delete, or nothing
/// deleted to restore (and no page in the way).
fn nothing_to_act_on(action: Action, facts: &PageFacts) -> bool {
    match action {
        Action::Delete | Action::DeleteRedirect => !facts.exists,
        Action::Undelete => {
            !facts.exists && facts.deleted_revisions.as_ref().is_some_and(Vec::is_empty)
        }
    }
}

/// "Any deletion that cannot be undone by the bot will not be done until the
/// editor has been warned and confirms the action": on a terminal, ask.
fn confirmed_at_terminal(decided: &Decided, title: &str) -> bool {
    let warnings: Vec<&str> = decided
        .verdict
        .outcomes
        .iter()
        .filter(|o| o.outcome == Outcome::Confirm)
        .map(|o| o.reason.as_str())
        .collect();
    crate::prompt::typed_yes(&format!(
        "warning: {}\nType `yes` to go ahead with `{title}`: ",
        warnings.join("; ")
    ))
}

/// Everything one page's writes need: what its stages read, and the permit
/// the bot writes with.
struct Job<'a> {
    page: PageContext<'a>,
    permit: Permit,
}

/// Why the pipeline stopped, and whether anything had been written by then.
pub(crate) struct Stop {
    pub(crate) written: bool,
    /// Why the request must stay open for `reconcile` rather than end here.
    pub(crate) open: Option<Open>,
    pub(crate) why: String,
}

/// Why a stopped request stays open (no `end` row) until `reconcile` settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// A write was sent and no answer came, or the wiki queued it: it may or may
    /// not have happened yet (exit 5).
    Unknown,
    /// The wiki was changed but the audit log could not record it (exit 4).
    Unrecorded,
}

pub(crate) fn stop(written: bool, why: impl Into<String>) -> Stop {
    Stop {
        written,
        open: None,
        why: why.into(),
    }
}

/// Why a write failed: after a transport failure nobody knows whether the wiki
/// carried it out, and it must never be resent blindly.
fn write_failed(written_before: bool, what: &str, err: WikiError) -> Stop {
    Stop {
        written: written_before,
        // No answer, or a database error that may have come after the commit.
        open: match &err {
            WikiError::Unreachable { .. } => Some(Open::Unknown),
            WikiError::Api { code, .. } if code.starts_with("internal_api_error_") => {
                Some(Open::Unknown)
            }
            _ => None,
        },
        why: format!("{what}: {err}"),
    }
}

/// A deletion: the requester's attribution edit, the re-check, the bot's
/// deletion by page id, the read-back, the on-wiki log, and the urgent review
/// if the verdict was flagged. Each stage writes its audit row before the next.
async fn delete(job: Job<'_>, recorder: &mut Recorder, acted: &mut Acted) -> Result<(), Stop> {
    let Job { page, permit } = job;
    let facts = &page.fetched.facts;
    let page_id = facts
        .page_id
        .ok_or_else(|| stop(false, "the page has no id"))?;
    let what = page.described(recorder);
    // 1. The requester's own dummy edit, before the deletion.
    let line = attribution_line(&what);
    let attribution_revid = attribute(page, recorder, &what, &line, false, acted).await?;
    crate::when::test_pause("before-recheck");
    // 2. Nothing may have changed since the facts were read, and the bot may run.
    guard(page.session, page.bot, facts, permit.shutoff()).await.map_err(|why| {
        stop(
            true,
            format!("{why}: nothing was deleted; the attribution edit r{attribution_revid} stays as the record"),
        )
    })?;
    // 3. The bot deletes by page id.
    let (deleted, permit) = page
        .bot_deletes(permit, page_id, recorder, attribution_revid, acted)
        .await?;
    // 4. Read back exactly what was deleted; more than was checked is an incident.
    let (read_back, row, permit) = page
        .record_deletion(permit, page_id, recorder, &deleted, acted)
        .await?;
    acted.detail = json!({ "attribution_revid": attribution_revid, "log_id": deleted.log_id, "deleted_revisions": read_back.revisions });
    // 5. The special log, with the audit chain's head, and urgent review if flagged.
    page.log_done(permit, recorder, &what, &row, acted).await?;
    page.review_if_flagged(recorder, deleted.title, read_back.earlier, acted)
}

/// Where the bot's deletion happened: the page may have been moved after the check.
struct DeletedAt {
    title: String,
    log_id: Option<u64>,
}

impl PageContext<'_> {
    /// The request as the attribution edit and log lines describe it.
    fn described(&self, recorder: &Recorder) -> String {
        let charter = self
            .decided
            .coverage
            .as_ref()
            .and_then(|c| c.charter.as_deref());
        describe_request(
            self.options.action,
            &self.fetched.facts.title,
            self.decided.tier,
            charter,
            &recorder.request_id,
        )
    }

    /// The bot deletes by page id. A deletion the wiki queued leaves the
    /// request open for reconcile.
    async fn bot_deletes(
        self,
        permit: Permit,
        page_id: u64,
        recorder: &mut Recorder,
        attribution_revid: u64,
        acted: &mut Acted,
    ) -> Result<(DeletedAt, Permit), Stop> {
        let facts = &self.fetched.facts;
        let reason = behalf_reason(
            &recorder.requester.name,
            self.decided.tier,
            &recorder.request_id,
            given_reason(self.options),
        );
        let (deletion, permit) = actions::delete(self.bot, permit, page_id, &reason)
            .await
            .map_err(|e| {
                write_failed(
                    true,
                    &format!("the deletion failed after the attribution edit r{attribution_revid}"),
                    e,
                )
            })?;
        crate::when::test_pause("after-delete");
        let deleted = match deletion {
            Deletion::Done { log_id, title } if title.is_empty() => DeletedAt {
                title: facts.title.clone(),
                log_id,
            },
            Deletion::Done { log_id, title } => DeletedAt { title, log_id },
            Deletion::Scheduled => return Err(left_to_the_job_queue(recorder, facts, page_id)?),
        };
        let moved = if deleted.title == facts.title {
            String::new()
        } else {
            format!(
                " at `{}`, where it was moved after the check",
                deleted.title
            )
        };
        acted.steps.push(format!(
            "deleted by the bot (log {}){moved}",
            deleted.log_id.unwrap_or(0)
        ));
        Ok((deleted, permit))
    }

    /// The `deleted` row with the revisions read back, and an incident when
    /// more was deleted than was checked.
    async fn record_deletion(
        self,
        permit: Permit,
        page_id: u64,
        recorder: &mut Recorder,
        deleted: &DeletedAt,
        acted: &mut Acted,
    ) -> Result<(ReadBack, AuditRow, Permit), Stop> {
        let facts = &self.fetched.facts;
        let read_back = read_back_deletion(self.bot, facts, &deleted.title, deleted.log_id).await?;
        let row = recorder.after_write(&DeletedStage {
            title: deleted.title.clone(),
            page_id: Some(page_id),
            log_id: deleted.log_id,
            revisions: read_back.revisions.clone(),
            scheduled: false,
            found_by: None,
        })?;
        let permit = match read_back.extra.is_empty() {
            true => permit,
            false => {
                report_extra_revisions(
                    self.session,
                    (self.bot, permit),
                    recorder,
                    &deleted.title,
                    &read_back.extra,
                    acted,
                )
                .await?
            }
        };
        Ok((read_back, row, permit))
    }

    /// The line on the bot's log page that ends the bot's writes for this page.
    async fn log_done(
        self,
        permit: Permit,
        recorder: &mut Recorder,
        what: &str,
        row: &AuditRow,
        acted: &mut Acted,
    ) -> Result<(), Stop> {
        let line = format!("{what} for [[User:{}]]: done", recorder.requester.name);
        log_on_wiki(
            self.session,
            (self.bot, permit),
            recorder,
            &line,
            row,
            acted,
        )
        .await
        .map(Permit::done)
    }

    /// A flagged verdict's urgent review, posted with the batch's others (see
    /// [`crate::reviews`]).
    fn review_if_flagged(
        self,
        recorder: &mut Recorder,
        title: String,
        earlier: usize,
        acted: &mut Acted,
    ) -> Result<(), Stop> {
        if self.decided.verdict.flagged() {
            recorder.after_write(&ReviewDueStage { title, earlier })?;
            acted.steps.push(format!(
                "urgent review due: posted on `{}` with the batch's others",
                self.session.policy.pages.noticeboard
            ));
        }
        Ok(())
    }
}

/// The requester's reason, or the default one.
fn given_reason(options: &ActOptions) -> &str {
    if options.reason.trim().is_empty() {
        "requested by its author"
    } else {
        options.reason.as_str()
    }
}

/// The wiki queued the deletion (too many revisions for one request): there is
/// no log entry and nothing to read back yet, so the request stays open until
/// reconcile finds the job's log entry. Returns the stop to report.
fn left_to_the_job_queue(
    recorder: &mut Recorder,
    facts: &PageFacts,
    page_id: u64,
) -> Result<Stop, Stop> {
    recorder.after_write(&ScheduledStage {
        title: facts.title.clone(),
        page_id,
        checked: facts.revisions.iter().map(stamp_of).collect(),
    })?;
    Ok(Stop {
        written: true,
        open: Some(Open::Unknown),
        why: format!(
            "the wiki scheduled the deletion of `{}` in its job queue ({} revisions are too many for one request); it is not finished yet",
            facts.title,
            facts.revisions.len()
        ),
    })
}

/// A checked revision by id and time.
fn stamp_of(revision: &crate::facts::Revision) -> RevisionStamp {
    RevisionStamp {
        id: revision.id,
        timestamp: revision.timestamp,
    }
}

/// What a deletion removed, read back from the wiki.
struct ReadBack {
    /// The revisions this deletion removed, for the audit row.
    revisions: Vec<RevisionStamp>,
    /// Those that were saved after the check: an incident.
    extra: Vec<DeletedRevision>,
    /// How many deleted revisions the title had before.
    earlier: usize,
}

/// Reads back the title's deleted revisions and tells this deletion's apart
/// from earlier ones and from those the check never saw.
async fn read_back_deletion(
    bot: &BotWiki,
    facts: &PageFacts,
    deleted_title: &str,
    log_id: Option<u64>,
) -> Result<ReadBack, Stop> {
    let checked: Vec<u64> = facts.revisions.iter().map(|r| r.id).collect();
    let before: Vec<u64> = facts
        .deleted_revisions
        .iter()
        .flatten()
        .map(|r| r.id)
        .collect();
    // Without the read-back the deletion cannot be recorded with its revisions:
    // the request stays open, and reconcile reads them back later.
    let deleted = actions::deleted_revisions(bot.reads(), deleted_title)
        .await
        .map_err(|e| Stop {
            written: true,
            open: Some(Open::Unknown),
            why: format!(
                "deleted (log {}), but the read-back failed: {e}",
                log_id.unwrap_or(0)
            ),
        })?;
    let ours: Vec<DeletedRevision> = deleted
        .into_iter()
        .filter(|r| !before.contains(&r.id))
        .collect();
    Ok(ReadBack {
        revisions: ours.iter().map(RevisionStamp::from).collect(),
        extra: ours
            .iter()
            .filter(|r| !checked.contains(&r.id))
            .cloned()
            .collect(),
        earlier: before.len(),
    })
}

/// Revisions saved after the check were deleted too (at `title`, where the
/// page was deleted): an incident row, the command that restores them, and a
/// request to an administrator.
async fn report_extra_revisions(
    session: &Session,
    bot: (&BotWiki, Permit),
    recorder: &mut Recorder,
    title: &str,
    extra: &[DeletedRevision],
    acted: &mut Acted,
) -> Result<Permit, Stop> {
    let stamps: Vec<String> = extra
        .iter()
        .map(|r| crate::when::format_time(r.timestamp))
        .collect();
    let ids: Vec<u64> = extra.iter().map(|r| r.id).collect();
    recorder.after_write(&IncidentStage {
        extra_revisions: ids.clone(),
        timestamps: stamps.clone(),
        found_by: None,
    })?;
    let restore = format!(
        "action=undelete&title={}&timestamps={}",
        title,
        stamps.join("|")
    );
    acted.steps.push(format!(
        "INCIDENT: {} revision(s) saved after the check were deleted too ({ids:?}); an administrator can restore them with {restore}",
        extra.len()
    ));
    acted.incident = true;
    let text = format!(
        "\n== Incident: [[:{}]] ==\nadminibot deleted [[:{}]] for [[User:{}]] (request {}), and with it {} revision(s) saved after its check ({ids:?}). Please restore them: {restore} ~~~~\n",
        visible_text(title),
        visible_text(title),
        recorder.requester.name,
        recorder.request_id,
        extra.len()
    );
    post_noticeboard(session, bot, recorder, &text, acted).await
}

/// An undeletion: the re-check, the bot's undeletion of the revisions its own
/// deletion removed, then the requester's attribution edit and the on-wiki log.
async fn undelete(job: Job<'_>, recorder: &mut Recorder, acted: &mut Acted) -> Result<(), Stop> {
    let Job { page, permit } = job;
    let facts = &page.fetched.facts;
    let timestamps = own_deleted_timestamps(recorder, facts).map_err(|why| stop(false, why))?;
    // Nothing may have been recreated at the title since the check, and the bot may run.
    guard(page.session, page.bot, facts, permit.shutoff())
        .await
        .map_err(|why| stop(false, format!("{why}: nothing was undeleted")))?;
    let why = if page.options.reason.trim().is_empty() {
        "undeletion requested by its author"
    } else {
        page.options.reason.as_str()
    };
    let reason = behalf_reason(
        &recorder.requester.name,
        page.decided.tier,
        &recorder.request_id,
        why,
    );
    let (restored, permit) =
        actions::undelete(page.bot, permit, &facts.title, &timestamps, &reason)
            .await
            .map_err(|e| write_failed(false, "the undeletion failed", e))?;
    acted
        .steps
        .push(format!("undeleted {restored} revision(s) by the bot"));
    let row = recorder.after_write(&UndeletedStage {
        title: facts.title.clone(),
        timestamps: timestamps.clone(),
        restored: Some(restored),
        log_id: None,
        found_by: None,
    })?;
    // The requester's dummy edit comes right after an undeletion.
    let what = page.described(recorder);
    let line = format!("\n* ~~~~~: adminibot did {what} for me\n");
    let attribution_revid = attribute(page, recorder, &what, &line, true, acted).await?;
    let stamps: Vec<String> = timestamps
        .iter()
        .map(|t| crate::when::format_time(*t))
        .collect();
    acted.detail = json!({ "restored": restored, "timestamps": stamps, "attribution_revid": attribution_revid });
    page.log_done(permit, recorder, &what, &row, acted).await
}

/// "A null edit will be made in the name of the actual editor with a note that
/// the next or previous edit, deletion, or undeletion is being made on behalf of
/// the requesting editor": a dummy edit (a null edit leaves no trace) on the
/// requester's attribution page, from their own session. Returns its revision id.
async fn attribute(
    PageContext {
        session, options, ..
    }: PageContext<'_>,
    recorder: &mut Recorder,
    what: &str,
    line: &str,
    after_write: bool,
    acted: &mut Acted,
) -> Result<u64, Stop> {
    let requester = recorder.requester.name.clone();
    if let Some(signature) = &options.signature {
        acted.steps.push(format!(
            "attribution edit r{} on `{}` by `{requester}` (the signature of this request)",
            signature.revid, signature.page
        ));
        recorder.after_write(&AttributedStage {
            page: Some(signature.page.clone()),
            revid: Some(signature.revid),
            signature: true,
            found_by: None,
        })?;
        return Ok(signature.revid);
    }
    let page = attribution_page(session, &requester);
    let summary = attribution_summary(what);
    let saved = actions::append(&session.wiki, &page, line, &summary)
        .await
        .map_err(|e| {
            let then = if after_write {
                "the bot acted, but"
            } else {
                "nothing was changed:"
            };
            stop(
                after_write,
                format!("{then} the attribution edit on `{page}` failed: {e}"),
            )
        })?;
    let revid = saved.new_revid.unwrap_or(0);
    acted.steps.push(format!(
        "attribution edit r{revid} on `{page}` by `{requester}`"
    ));
    recorder.after_write(&AttributedStage {
        page: Some(page.clone()),
        revid: saved.new_revid,
        signature: false,
        found_by: None,
    })?;
    Ok(revid)
}

/// The timestamps of the revisions the bot's own deletion removed: from the audit
/// log when this store made the deletion, else as the rules determined them.
fn own_deleted_timestamps(
    recorder: &Recorder,
    facts: &PageFacts,
) -> Result<Vec<Timestamp>, String> {
    let filter = AuditFilter {
        user_id: Some(recorder.requester.user_id),
        since: None,
    };
    let rows = recorder.store.audit(&filter).map_err(|e| e.to_string())?;
    let from_log = rows
        .iter()
        .rev()
        .filter_map(|r| crate::stages::read::<DeletedStage>(&r.kind, &r.detail))
        .find(|deleted| deleted.title == facts.title);
    if let Some(deleted) = from_log.filter(|d| !d.revisions.is_empty()) {
        return Ok(deleted.revisions.iter().map(|r| r.timestamp).collect());
    }
    let stamps: Vec<Timestamp> = restorable(facts)
        .revisions
        .map(|revs| revs.iter().map(|r| r.timestamp).collect())?;
    if stamps.is_empty() {
        return Err(format!(
            "which revisions of `{}` the bot deleted is not known, so nothing was undeleted: ask an administrator",
            facts.title
        ));
    }
    Ok(stamps)
}

/// The bot appends the done request to its on-wiki log page, with the audit
/// chain's head; the permit comes back for any later write.
async fn log_on_wiki(
    session: &Session,
    (bot, permit): (&BotWiki, Permit),
    recorder: &mut Recorder,
    what: &str,
    row: &AuditRow,
    acted: &mut Acted,
) -> Result<Permit, Stop> {
    let page = &session.policy.log_page_at(session.now);
    let request_id = &recorder.request_id;
    let line = format!(
        "\n* ~~~~~: {what} (audit #{} head {})\n",
        row.seq,
        &row.hash[..16]
    );
    let (saved, permit) = actions::append_as_bot(
        bot,
        permit,
        page,
        &line,
        &format!("adminibot log: request {request_id}"),
    )
    .await
    .map_err(|e| {
        stop(
            true,
            format!("done, but appending to the log page `{page}` failed: {e}"),
        )
    })?;
    acted.steps.push(format!(
        "logged on `{page}` (r{})",
        saved.new_revid.unwrap_or(0)
    ));
    recorder.after_write(&LoggedStage {
        page: page.clone(),
        revid: saved.new_revid,
        head: row.hash.clone(),
    })?;
    Ok(permit)
}

/// The bot asks an administrator on the noticeboard (an incident, an urgent
/// review); the permit comes back for any later write.
async fn post_noticeboard(
    session: &Session,
    (bot, permit): (&BotWiki, Permit),
    recorder: &mut Recorder,
    text: &str,
    acted: &mut Acted,
) -> Result<Permit, Stop> {
    let page = &session.policy.pages.noticeboard;
    let summary = noticeboard_summary(recorder);
    let (saved, permit) = actions::append_as_bot(bot, permit, page, text, &summary)
        .await
        .map_err(|e| stop(true, format!("posting to `{page}` failed: {e}")))?;
    noticeboard_posted(page, &saved, recorder, acted)?;
    Ok(permit)
}

fn noticeboard_summary(recorder: &Recorder) -> String {
    format!(
        "adminibot: request {} needs an administrator",
        recorder.request_id
    )
}

/// Records a saved noticeboard post, the bot's or the requester's.
fn noticeboard_posted(
    page: &str,
    saved: &actions::Saved,
    recorder: &mut Recorder,
    acted: &mut Acted,
) -> Result<(), Stop> {
    acted.steps.push(format!(
        "posted to `{page}` (r{})",
        saved.new_revid.unwrap_or(0)
    ));
    recorder.after_write(&NoticeboardStage {
        page: page.to_string(),
        revid: saved.new_revid,
    })?;
    Ok(())
}

/// The noticeboard section asking an administrator to look at a refused request.
pub fn escalation_text(title: &str, request_id: &str, verdict: &Verdict) -> String {
    let failing: Vec<String> = verdict
        .outcomes
        .iter()
        .filter(|o| !o.outcome.passed())
        .map(|o| format!("* {}: {}", o.rule, as_written(&o.reason)))
        .collect();
    let title = visible_text(title);
    format!(
        "\n== Request for an administrator: [[:{title}]] ==\nadminibot refused request {request_id} because:\n{}\nCould an administrator look at it? ~~~~\n",
        failing.join("\n")
    )
}

/// "When in doubt, the bot should refuse to act and offer to post to the
/// appropriate noticeboard requesting administrative assistance." The requester
/// posts it, from their own account.
async fn escalate(
    session: &Session,
    recorder: &mut Recorder,
    facts: &PageFacts,
    decided: &Decided,
    acted: &mut Acted,
) -> Result<(), Stop> {
    let text = escalation_text(&facts.title, &recorder.request_id, &decided.verdict);
    let page = &session.policy.pages.noticeboard;
    let summary = noticeboard_summary(recorder);
    let saved = actions::append(&session.wiki, page, &text, &summary)
        .await
        .map_err(|e| stop(true, format!("posting to `{page}` failed: {e}")))?;
    noticeboard_posted(page, &saved, recorder, acted)
}
