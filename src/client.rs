//! The CLI as the broker's client: a requester's config names only `[broker]
//! url`; the requester's own BotPassword signs; the service does the rest.
//!
//! Reads go to `POST /v1/read`. A change is proposed (`/v1/propose`), signed by
//! the requester's own attribution edit on the wiki (logged in here, with
//! `ADMINIBOT_USERNAME` and `ADMINIBOT_PASSWORD_FILE`), then executed
//! (`/v1/execute`) with the signature's revision id. What is printed, and the
//! exit code, are those of the commands run in one process.

use crate::cli::Command;
use crate::commands::Output;
use crate::config::{self, BrokerConfig, ClientConfig, ConfigError, LoginConfig, Secret};
use crate::error::{Error, ExitStatus};
use crate::kept_session;
use crate::protocol::{
    ErrorBody, ExecuteBody, Executed, Info, ProposeAnswer, ProposeBody, ProposedPage, ReadBody,
    RemoteOutput, Ticket, TEST_ENV_HEADER,
};
use crate::report::RenderedPage;
use crate::wiki::actions::{self, Saved};
use crate::wiki::users::{whoami, WikiUser};
use crate::wiki::Wiki;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{Duration, Instant};
use tracing::debug;

/// Runs a resolved command through the broker at `broker`.
pub fn run(command: &Command, config: &ClientConfig, progress: bool) -> Result<Output, Error> {
    let broker = &config.broker;
    if !config::secure_or_loopback(&broker.url) {
        return Err(ConfigError::Insecure {
            url: broker.url.clone(),
            what: "`[broker] url`: your requests would travel in the clear".into(),
        }
        .into());
    }
    crate::commands::runtime()?.block_on(async {
        let client = Client::new(broker, config.login.clone())?;
        match command {
            Command::Reconcile => client.read(command.clone()).await,
            command if command.reads_public() => client.read(command.clone()).await,
            // Your own grants: the name comes from your login.
            Command::List { user, .. } => {
                let user = match user {
                    Some(user) => user.clone(),
                    None => requester_name(config.login.as_ref())?,
                };
                client
                    .read(Command::List {
                        user: Some(user),
                        all: false,
                    })
                    .await
            }
            Command::Delete(args) | Command::Undelete(args) | Command::DeleteRedirect(args) => {
                client.pages(command, args, progress).await
            }
            _ => client.signed(command).await,
        }
    })
}

/// Whose requests these are: the main account of the requester's login.
fn requester_name(login: Option<&LoginConfig>) -> Result<String, Error> {
    let (username, _) = config::caller_login(login)?;
    Ok(username.split('@').next().unwrap_or(&username).to_string())
}

struct Client {
    http: reqwest::Client,
    /// Where requests go (`http://adminibot` over a Unix socket).
    url: String,
    /// The configured `[broker] url`, for messages.
    configured: String,
    pin: Option<String>,
    /// The config's `[login]`, if any.
    login: Option<LoginConfig>,
}

impl Client {
    fn new(broker: &BrokerConfig, login: Option<LoginConfig>) -> Result<Client, Error> {
        let mut http = reqwest::Client::builder()
            .timeout(Duration::from_secs(620))
            .redirect(reqwest::redirect::Policy::none());
        // A Unix socket carries plain HTTP; the host name in the URL is unused.
        let url = match broker.url.strip_prefix(crate::service::routes::UNIX_PREFIX) {
            Some(path) => {
                http = http.unix_socket(std::path::PathBuf::from(path));
                "http://adminibot".to_string()
            }
            None => broker.url.trim_end_matches('/').to_string(),
        };
        let http = http
            .build()
            .map_err(|e| Error::Usage(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            http,
            url,
            configured: broker.url.clone(),
            pin: broker.wiki_api.clone(),
            login,
        })
    }

    fn broker_error(&self, detail: impl std::fmt::Display) -> Error {
        Error::Broker {
            url: self.configured.clone(),
            detail: detail.to_string(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, Error> {
        let url = format!("{}{path}", self.url);
        let mut request = match body {
            Some(body) => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body).map_err(|e| self.broker_error(e))?),
            None => self.http.get(&url),
        };
        let test_env = crate::when::test_env_to_pass_on();
        if !test_env.is_empty() {
            let value = serde_json::to_string(&test_env).map_err(|e| self.broker_error(e))?;
            request = request.header(TEST_ENV_HEADER, value);
        }
        let response = request.send().await.map_err(|e| self.broker_error(e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.broker_error(e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| self.broker_error(format!("unexpected answer: {e}")));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(Error::Remote {
                message: body.error,
                rendered: body.rendered,
                status: ExitStatus::from_code(body.exit_code),
            }),
            Err(_) => Err(self.broker_error(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))),
        }
    }

    async fn read(&self, command: Command) -> Result<Output, Error> {
        let output: RemoteOutput = self.call("/v1/read", Some(&ReadBody { command })).await?;
        Ok(remote(output))
    }

    async fn info(&self) -> Result<Info, Error> {
        let info: Info = self.call("/v1/info", None::<&()>).await?;
        if let Some(pin) = &self.pin {
            if pin != &info.api {
                return Err(self.broker_error(format!(
                    "the service names the wiki `{}`, but your config pins `{pin}`: not sending your login there",
                    info.api
                )));
            }
        }
        if !config::secure_or_loopback(&info.api) {
            return Err(ConfigError::Insecure {
                url: info.api,
                what: "the wiki the service names: your login would travel in the clear".into(),
            }
            .into());
        }
        Ok(info)
    }

    async fn propose(&self, command: &Command) -> Result<ProposeAnswer, Error> {
        let body = ProposeBody {
            user: requester_name(self.login.as_ref())?,
            command: command.clone(),
        };
        self.call("/v1/propose", Some(&body)).await
    }

    async fn execute(&self, ticket: &Ticket, revid: u64, yes: bool) -> Result<Executed, Error> {
        let body = ExecuteBody {
            request_id: ticket.request_id.clone(),
            revid,
            yes,
        };
        self.call("/v1/execute", Some(&body)).await
    }

    /// Any signed command other than a page action: propose, sign, execute.
    async fn signed(&self, command: &Command) -> Result<Output, Error> {
        let mut command = command.clone();
        // The service cannot read the requester's files: send the charter's text.
        if let Command::Grant(args) = &mut command {
            if let Some(path) = &args.charter {
                args.charter_text =
                    Some(std::fs::read_to_string(path).map_err(|e| {
                        Error::Usage(format!("cannot read `{}`: {e}", path.display()))
                    })?);
            }
        }
        let (proposed, login) = tokio::join!(self.propose(&command), self.login());
        let ProposeAnswer::Command(ticket) = proposed? else {
            return Err(self.broker_error("a page answer to a command"));
        };
        let (wiki, _) = login?;
        let revid = wiki.sign(&ticket).await?;
        match self.execute(&ticket, revid, true).await? {
            Executed::Command(output) => Ok(remote(output)),
            Executed::Page(_) => Err(self.broker_error("a page answer to a command")),
        }
    }

    /// `delete`, `undelete`, `delete-redirect`: one proposal for the batch,
    /// then a signature and an execute per title that may be acted on.
    async fn pages(
        &self,
        command: &Command,
        args: &crate::cli::ActArgs,
        progress: bool,
    ) -> Result<Output, Error> {
        // The requester's login overlaps the proposal: most proposals end in a
        // signature. A failed login matters only if one is needed.
        let login = async {
            match args.dry_run {
                true => None,
                false => Some(self.login().await),
            }
        };
        let (proposed, early) = tokio::join!(self.propose(command), login);
        let ProposeAnswer::Pages(proposed) = proposed? else {
            return Err(self.broker_error("a command answer to a page action"));
        };
        // `--queue`: the service judged the queue; the plan is confirmed once.
        let mut args = args.clone();
        if let (Some(name), Some((action, _))) = (&args.queue, command.page_action()) {
            let shown: Vec<RenderedPage> = proposed.iter().map(|p| p.page.clone()).collect();
            crate::prompt::confirm_queue_plan(name, action, &shown, &args)?;
            args.yes = true;
            crate::when::test_pause("queue-listed");
        }
        let args = &args;
        let received = Instant::now();
        let mut requester: Option<Result<(Requester, Info), Error>> = early;
        let mut done = Vec::new();
        let bar = crate::progress::Progress::new(proposed.len(), progress);
        for (i, proposed) in proposed.into_iter().enumerate() {
            bar.at(i, &proposed.page.title);
            let given = proposed.page.clone();
            let ProposedPage {
                page,
                ticket,
                needs_confirmation,
                escalation,
                ..
            } = match self.again_if_expiring(command, proposed, received).await {
                Ok(fresh) => fresh,
                Err((page, ticket, e)) => {
                    done.push(failed(page, &ticket, &e));
                    continue;
                }
            };
            if let Some(text) = escalation.filter(|_| args.escalate) {
                let (wiki, info) = self.requester(&mut requester).await?;
                done.push(escalated(page, wiki, &info.noticeboard, &text).await);
                continue;
            }
            let Some(ticket) = ticket else {
                done.push(page);
                continue;
            };
            let yes = args.yes || (needs_confirmation && confirmed_at_terminal(&page.title));
            if needs_confirmation && !yes {
                done.push(unconfirmed(page, &ticket));
                continue;
            }
            let (wiki, _) = self.requester(&mut requester).await?;
            let revid = match wiki.sign(&ticket).await {
                Ok(revid) => revid,
                Err(e) => {
                    done.push(failed(page, &ticket, &e));
                    continue;
                }
            };
            match self.execute(&ticket, revid, yes).await {
                Ok(Executed::Page(executed)) => done.push(also_requested_as(executed, &given)),
                Ok(Executed::Command(_)) => {
                    return Err(self.broker_error("a command answer to a page action"))
                }
                // Signed and sent, but no answer (or the service died on it):
                // the service may have acted.
                Err(e @ Error::Broker { .. }) => done.push(unknown(page, &ticket, &e)),
                Err(e) if e.status() == ExitStatus::Unknown => {
                    done.push(unknown(page, &ticket, &e))
                }
                Err(e) => done.push(failed(page, &ticket, &e)),
            }
        }
        bar.finish();
        Ok(Output::from_pages(&done))
    }

    /// A batch's page proposed again, alone, when its ticket would expire
    /// before it could be signed and executed: every page of a long batch waits
    /// for the policy's write interval. On failure, the page and its old ticket.
    async fn again_if_expiring(
        &self,
        command: &Command,
        proposed: ProposedPage,
        received: Instant,
    ) -> Result<ProposedPage, (RenderedPage, Ticket, Error)> {
        let Some(ticket) = proposed.ticket.clone() else {
            return Ok(proposed);
        };
        if !expiring(&ticket, &proposed.page, received) {
            return Ok(proposed);
        }
        let mut alone = command.clone();
        if let Command::Delete(args) | Command::Undelete(args) | Command::DeleteRedirect(args) =
            &mut alone
        {
            args.titles = vec![proposed.page.title.clone()];
            // A queue's page is proposed again as it was first listed.
            args.listed = proposed.listed.iter().cloned().collect();
        }
        match self.propose(&alone).await {
            Ok(ProposeAnswer::Pages(pages)) if pages.len() == 1 => {
                Ok(pages.into_iter().next().expect("one page"))
            }
            Ok(_) => Err((
                proposed.page,
                ticket,
                self.broker_error("not one page's answer to a proposal of one page"),
            )),
            Err(e) => Err((proposed.page, ticket, e)),
        }
    }

    /// The requester's wiki session, logged in on first use.
    async fn requester<'a>(
        &self,
        slot: &'a mut Option<Result<(Requester, Info), Error>>,
    ) -> Result<(&'a Requester, Info), Error> {
        if slot.is_none() {
            *slot = Some(self.login().await);
        }
        if let Some(Err(_)) = slot {
            return Err(slot.take().and_then(Result::err).expect("an error"));
        }
        match slot.as_ref() {
            Some(Ok((wiki, info))) => Ok((wiki, info.clone())),
            _ => unreachable!("a session was just made"),
        }
    }

    /// The service's info and the requester's wiki session.
    async fn login(&self) -> Result<(Requester, Info), Error> {
        let info = self.info().await?;
        let wiki = Requester::login(&info, self.login.as_ref()).await?;
        Ok((wiki, info))
    }
}

/// The requester's own wiki session, proven to be who `ADMINIBOT_USERNAME` says:
/// by `userinfo` after a login, or, for a session kept from an earlier run with
/// its token, by the wiki accepting the first edit with `assertuser`.
struct Requester {
    wiki: tokio::sync::Mutex<Wiki>,
    /// Set while the session is a kept one nothing has proven yet in this run:
    /// how to replace it with a fresh login if the wiki has forgotten it.
    unproven: std::cell::RefCell<Option<Renewal>>,
}

/// What a fresh login needs, and where to keep its session.
struct Renewal {
    api: String,
    username: String,
    secret: Secret,
    kept: std::path::PathBuf,
}

impl Requester {
    /// Logs the requester in, or reuses the session kept from an earlier run
    /// (see [`kept_session`]).
    async fn login(info: &Info, login: Option<&LoginConfig>) -> Result<Requester, Error> {
        let (username, secret): (String, Secret) = config::caller_login(login)?;
        let Some(kept) = kept_session::path_for(&username) else {
            let wiki = Wiki::connect(&info.api, Some((&username, &secret))).await?;
            return Self::proven(wiki, &username).await;
        };
        let renewal = Renewal {
            api: info.api.clone(),
            username,
            secret,
            kept,
        };
        if let Some(session) = kept_session::load(&renewal.kept, &info.api) {
            let wiki = Wiki::resume(&info.api, &renewal.username, &session.cookies).await?;
            if let Some(token) = session.csrf {
                wiki.keep_csrf(token);
                return Ok(Requester {
                    wiki: tokio::sync::Mutex::new(wiki),
                    unproven: std::cell::RefCell::new(Some(renewal)),
                });
            }
            match Self::proven(wiki, &renewal.username).await {
                Ok(requester) => return Ok(requester),
                Err(e) => debug!("the kept wiki session no longer works ({e}); logging in"),
            }
        }
        Ok(Requester {
            wiki: tokio::sync::Mutex::new(renewal.fresh().await?),
            unproven: std::cell::RefCell::new(None),
        })
    }

    /// The session, once the wiki says it is `username`'s main account.
    async fn proven(wiki: Wiki, username: &str) -> Result<Requester, Error> {
        let _ = prove(&wiki, username).await?;
        Ok(Requester {
            wiki: tokio::sync::Mutex::new(wiki),
            unproven: std::cell::RefCell::new(None),
        })
    }

    /// Appends to a page as the requester. A kept session the wiki no longer
    /// knows is refused before anything is saved; it is then replaced by a
    /// fresh login, once, and the edit tried again.
    async fn append(&self, page: &str, text: &str, summary: &str) -> Result<Saved, Error> {
        let mut wiki = self.wiki.lock().await;
        let first = actions::append(&wiki, page, text, summary).await;
        let renewal = self.unproven.borrow_mut().take();
        match (first, renewal) {
            (Err(e), Some(renewal)) if e.is_session_lost() => {
                debug!("the kept wiki session no longer works ({e}); logging in");
                *wiki = renewal.fresh().await?;
                Ok(actions::append(&wiki, page, text, summary).await?)
            }
            (first, _) => Ok(first?),
        }
    }

    /// Saves the ticket's attribution edit; its revision id is the signature.
    async fn sign(&self, ticket: &Ticket) -> Result<u64, Error> {
        let saved = self
            .append(&ticket.page, &ticket.text, &ticket.summary)
            .await?;
        saved.new_revid.ok_or_else(|| {
            Error::Usage(format!(
                "the signature edit on `{}` made no new revision",
                ticket.page
            ))
        })
    }
}

impl Renewal {
    /// A fresh login, proven, and kept (cookies and token) for the next run.
    async fn fresh(&self) -> Result<Wiki, Error> {
        let (wiki, _) =
            login_and_keep(&self.api, &self.username, &self.secret, Some(&self.kept)).await?;
        Ok(wiki)
    }
}

/// The wiki's account behind `wiki`, once it is `username`'s main account (its
/// token comes along and is kept).
async fn prove(wiki: &Wiki, username: &str) -> Result<WikiUser, Error> {
    let (me, _) = whoami(wiki, None).await?;
    let claimed = username.split('@').next().unwrap_or(username);
    if !crate::rules::same_user(claimed, &me.name) {
        return Err(Error::IdentityMismatch {
            claimed: claimed.to_string(),
            proven: me.name,
        });
    }
    Ok(me)
}

/// `adminibot init`: what the service at `broker` says of itself (its wiki
/// checked as for every command).
pub async fn broker_info(broker: &BrokerConfig) -> Result<Info, Error> {
    Client::new(broker, None)?.info().await
}

/// `adminibot init`: logs in to the wiki `info` names as `username`, which
/// proves the secret; the session is kept for the next run. The wiki's
/// account, or the wiki's reason for refusing the login.
pub async fn first_login(info: &Info, username: &str, secret: &Secret) -> Result<WikiUser, Error> {
    let kept = kept_session::path_for(username);
    let (_, me) = login_and_keep(&info.api, username, secret, kept.as_deref()).await?;
    Ok(me)
}

/// A fresh login as `username`, proven, and its session kept at `kept`.
async fn login_and_keep(
    api: &str,
    username: &str,
    secret: &Secret,
    kept: Option<&std::path::Path>,
) -> Result<(Wiki, WikiUser), Error> {
    let (wiki, cookies) = Wiki::login_keeping_cookies(api, username, secret).await?;
    let me = prove(&wiki, username).await?;
    if let Some(kept) = kept {
        let session = kept_session::KeptSession {
            cookies,
            csrf: wiki.kept_csrf(),
        };
        kept_session::store(kept, api, &session);
    }
    Ok((wiki, me))
}

/// Whether two thirds of a ticket's life, counted from its proposal by the
/// service's clock (the page's `evaluated_at`), have passed since `received`.
fn expiring(ticket: &Ticket, page: &RenderedPage, received: Instant) -> bool {
    let proposed_at: Option<crate::facts::Timestamp> =
        serde_json::from_value(page.json["evaluated_at"].clone()).ok();
    let Some(life) = proposed_at.and_then(|at| (ticket.expires_at - at).to_std().ok()) else {
        return false;
    };
    received.elapsed() > life * 2 / 3
}

fn remote(output: RemoteOutput) -> Output {
    Output {
        status: output.status(),
        text: output.text,
        json: output.json,
    }
}

/// Adds a step to a title's report, in text and JSON, under its request's
/// heading (written first if the report has none yet).
fn with_step(mut page: RenderedPage, request_id: &str, step: &str) -> RenderedPage {
    if page.json["steps"].as_array().is_none() {
        page.text.push_str(&format!("  request {request_id}:\n"));
        page.json["steps"] = serde_json::json!([]);
        page.json["request_id"] = serde_json::json!(request_id);
        page.request_id = Some(request_id.to_string());
    }
    page.text.push_str(&format!("    - {step}\n"));
    if let Some(steps) = page.json["steps"].as_array_mut() {
        steps.push(serde_json::json!(step));
    }
    page
}

/// The executed page's report, keeping the other spellings of it the batch gave
/// (only the proposal saw the whole batch).
fn also_requested_as(mut executed: RenderedPage, proposed: &RenderedPage) -> RenderedPage {
    let spellings = &proposed.json["also_requested"];
    if let Some(list) = spellings
        .as_array()
        .filter(|_| executed.json["also_requested"].is_null())
    {
        let names: Vec<String> = list
            .iter()
            .filter_map(|n| n.as_str().map(String::from))
            .collect();
        executed
            .text
            .push_str(&crate::report::also_requested_line(&names));
        executed.json["also_requested"] = spellings.clone();
    }
    executed
}

fn unconfirmed(page: RenderedPage, ticket: &Ticket) -> RenderedPage {
    let mut page = with_step(
        page,
        &ticket.request_id,
        "nothing was done: the bot could not undo this; confirm with `--yes`",
    );
    page.exit_code = ExitStatus::Refused.code();
    page
}

fn failed(page: RenderedPage, ticket: &Ticket, err: &Error) -> RenderedPage {
    let mut page = with_step(page, &ticket.request_id, &format!("not done: {err}"));
    let status = err.status().max(ExitStatus::Refused);
    page.exit_code = status.code();
    page.decision = "failed".into();
    page.json["decision"] = serde_json::json!("failed");
    page.json["error"] = serde_json::json!(err.to_string());
    page
}

/// A signed request whose answer never came: the outcome is unknown (exit 5)
/// until the service's own reconcile settles it.
fn unknown(page: RenderedPage, ticket: &Ticket, err: &Error) -> RenderedPage {
    let mut page = with_step(
        page,
        &ticket.request_id,
        &format!(
            "the outcome is unknown ({err}); the service settles it by itself: `adminibot audit --request {}` shows what happened",
            ticket.request_id
        ),
    );
    page.exit_code = ExitStatus::Unknown.code();
    page.decision = "unknown".into();
    page.request_id = Some(ticket.request_id.clone());
    page.json["decision"] = serde_json::json!("unknown");
    page.json["request_id"] = serde_json::json!(ticket.request_id);
    page
}

/// "offer to post to the appropriate noticeboard requesting administrative
/// assistance": the requester posts it, as themselves.
async fn escalated(
    page: RenderedPage,
    wiki: &Requester,
    noticeboard: &str,
    text: &str,
) -> RenderedPage {
    let summary = format!(
        "adminibot: a request of mine needs an administrator ({})",
        page.title
    );
    let request_id = page.request_id.clone().unwrap_or_default();
    let step = match wiki.append(noticeboard, text, &summary).await {
        Ok(saved) => format!(
            "posted to `{noticeboard}` (r{})",
            saved.new_revid.unwrap_or(0)
        ),
        Err(e) => format!("posting to `{noticeboard}` failed: {e}"),
    };
    with_step(page, &request_id, &step)
}

/// "Any deletion that cannot be undone by the bot will not be done until the
/// editor has been warned and confirms the action": on a terminal, ask.
fn confirmed_at_terminal(title: &str) -> bool {
    crate::prompt::typed_yes(&format!(
        "warning: the bot could not undo this\nType `yes` to go ahead with `{title}`: "
    ))
}
