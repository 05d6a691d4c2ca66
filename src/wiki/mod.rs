//! The only code that speaks HTTP: a session with the wiki, and the reads that
//! turn a title into [`PageFacts`](crate::facts::PageFacts).
//!
//! Sessions and BotPassword login come from `mwapi`; retries, tokens, deadlines
//! and re-login are ours ([`Wiki::retrying`]). Every request carries `maxlag=5`
//! and, once logged in, `assert=user` and `assertuser=<account>`, so a lost or
//! swapped session fails loudly instead of silently reading as someone else.

pub mod actions;
pub mod category;
pub mod facts;
pub mod title;
pub mod users;

use crate::config::Secret;
use crate::facts::Timestamp;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::time::Instant;
use tracing::{debug, warn};

/// How often a call is tried again (see [`Wiki::retrying`]).
const RETRIES: u32 = 2;

/// API warnings adminibot expects and handles through the answer itself, shown
/// only at `-vv`: `delete-scheduled` comes with `"scheduled": true`, and
/// `badutf8` says the wiki made a title NFC (the report shows the wiki's title).
const EXPECTED_WARNINGS: &[&str] = &["delete-scheduled", "badutf8"];

/// Something went wrong talking to the wiki. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum WikiError {
    /// No answer, or not an API answer (connection refused, timeout, HTTP 5xx, HTML).
    #[error("cannot reach the wiki at `{api}`: {detail}")]
    Unreachable {
        /// The API URL tried.
        api: String,
        /// What the transport said.
        detail: String,
    },
    /// The wiki answered that it cannot do anything now (lag, read-only mode, rate
    /// limit), even after the retries: nothing was done.
    #[error("the wiki is busy and did nothing: {0}")]
    Busy(String),
    /// The wiki refused the login.
    #[error("the wiki refused the login of `{user}`: {detail}")]
    Login {
        /// The BotPassword user name (`Name@app`), never the secret.
        user: String,
        /// The wiki's reason.
        detail: String,
    },
    /// The API answered with an error code.
    #[error("the wiki answered `{code}`: {info}")]
    Api {
        /// MediaWiki error code.
        code: String,
        /// MediaWiki's message.
        info: String,
    },
    /// The title cannot name a page the bot may act on.
    #[error(transparent)]
    Title(#[from] title::TitleError),
    /// A user name the wiki does not know.
    #[error("the wiki has no user `{0}`")]
    UnknownUser(String),
    /// The answer lacked something every MediaWiki 1.39 answer has.
    #[error("unexpected answer from the wiki: {0}")]
    Unexpected(String),
}

impl WikiError {
    pub(crate) fn from_mwapi(api: &str, err: mwapi::Error) -> Self {
        match err {
            mwapi::Error::ApiError(e) | mwapi::Error::InternalException(e) => WikiError::Api {
                code: e.code,
                info: e.text,
            },
            mwapi::Error::BadToken => WikiError::Api {
                code: "badtoken".into(),
                info: "Invalid CSRF token.".into(),
            },
            mwapi::Error::NotLoggedIn => WikiError::Api {
                code: "assertuserfailed".into(),
                info: "the session was lost: the wiki no longer sees a logged-in user".into(),
            },
            other @ (mwapi::Error::HttpError(_) | mwapi::Error::InvalidJson(_)) => {
                WikiError::Unreachable {
                    api: api.to_string(),
                    detail: full_chain(&other),
                }
            }
            // The wiki answered and refused to do anything now: safe to retry later.
            other @ (mwapi::Error::TooManyRequests { .. }
            | mwapi::Error::Maxlag { .. }
            | mwapi::Error::Readonly { .. }) => WikiError::Busy(other.to_string()),
            other => WikiError::Unexpected(other.to_string()),
        }
    }
}

fn full_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The admin bot's own session. The bot's writes ([`actions::delete`],
/// [`actions::undelete`], [`actions::append_as_bot`]) take this type and no
/// other, and it does not deref to [`Wiki`]: a requester's write
/// ([`actions::append`]) cannot be handed the bot's session, nor a bot write
/// anyone else's. Reads go through [`BotWiki::reads`].
pub struct BotWiki(Wiki);

impl BotWiki {
    /// The bot's logged-in session.
    pub fn new(wiki: Wiki) -> BotWiki {
        BotWiki(wiki)
    }

    /// The session, for reads.
    pub fn reads(&self) -> &Wiki {
        &self.0
    }

    /// The main account the bot is logged in as.
    pub fn account(&self) -> Option<&str> {
        self.0.account()
    }
}

/// A session with one wiki, anonymous or logged in with a BotPassword.
pub struct Wiki {
    client: RefCell<mwapi::Client>,
    api: String,
    /// The BotPassword login, kept to log in again once if the session is lost.
    login: Option<(String, Secret)>,
    account: Option<String>,
    requests: Cell<usize>,
    /// A CSRF token that came along with an earlier read, saving a request.
    csrf: RefCell<Option<Secret>>,
    /// Whether the one re-login after a lost session was used.
    relogged: Cell<bool>,
}

impl Wiki {
    /// Opens a session; logs in when `login` (BotPassword name and secret) is given.
    pub async fn connect(api: &str, login: Option<(&str, &Secret)>) -> Result<Wiki, WikiError> {
        let client = client(api, login).await?;
        let account = login.map(|(user, _)| user.split('@').next().unwrap_or(user).to_string());
        let requests = Cell::new(if login.is_some() { 2 } else { 0 });
        Ok(Wiki {
            client: RefCell::new(client),
            api: api.to_string(),
            login: login.map(|(user, secret)| (user.to_string(), secret.clone())),
            account,
            requests,
            csrf: RefCell::new(None),
            relogged: Cell::new(false),
        })
    }

    /// Logs in with a BotPassword and returns the session with its cookie header,
    /// for a requester's client to keep between runs (as Pywikibot keeps its
    /// `.lwp` jar). The login is done here, not by mwapi, whose cookie jar
    /// cannot be read back.
    pub async fn login_keeping_cookies(
        api: &str,
        user: &str,
        secret: &Secret,
    ) -> Result<(Wiki, Secret), WikiError> {
        use reqwest::cookie::CookieStore;
        let unreachable = |e: reqwest::Error| WikiError::Unreachable {
            api: api.to_string(),
            detail: full_chain(&e),
        };
        let url: reqwest::Url = api
            .parse()
            .map_err(|e| WikiError::Unexpected(format!("bad API URL `{api}`: {e}")))?;
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = http_builder()
            .user_agent(user_agent(Some(user)))
            .cookie_provider(jar.clone())
            .build()
            .map_err(unreachable)?;
        let json = |request: reqwest::RequestBuilder| async move {
            let answer = request.send().await.map_err(unreachable)?;
            answer.json::<Value>().await.map_err(unreachable)
        };
        let tokens = json(http.get(url.clone()).query(&[
            ("action", "query"),
            ("meta", "tokens"),
            ("type", "login"),
            ("format", "json"),
        ]))
        .await?;
        api_refusal(api, user, &tokens)?;
        let token = tokens["query"]["tokens"]["logintoken"]
            .as_str()
            .ok_or_else(|| WikiError::Unexpected("the wiki gave no login token".into()))?;
        let answer = json(http.post(url.clone()).form(&[
            ("action", "login"),
            ("lgname", user),
            ("lgpassword", secret.expose()),
            ("lgtoken", token),
            ("format", "json"),
        ]))
        .await?;
        api_refusal(api, user, &answer)?;
        if answer["login"]["result"].as_str() != Some("Success") {
            return Err(WikiError::Login {
                user: user.to_string(),
                detail: answer["login"]["reason"]
                    .as_str()
                    .unwrap_or("the wiki did not say why")
                    .to_string(),
            });
        }
        let cookies = jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(Secret::new))
            .ok_or_else(|| WikiError::Unexpected("the login set no session cookie".into()))?;
        let mut wiki = Wiki::resume(api, user, &cookies).await?;
        wiki.login = Some((user.to_string(), secret.clone()));
        wiki.requests.set(2);
        Ok((wiki, cookies))
    }

    /// A session of `user` resumed from a cookie header kept from an earlier
    /// run, without a login request; every call asserts the user, so a session
    /// the wiki has forgotten fails the first call (the caller logs in afresh).
    pub async fn resume(api: &str, user: &str, cookies: &Secret) -> Result<Wiki, WikiError> {
        let mut header = reqwest::header::HeaderValue::from_str(cookies.expose())
            .map_err(|_| WikiError::Unexpected("a kept session cookie is unreadable".into()))?;
        header.set_sensitive(true);
        let client = builder(api, Some(user))
            .set_assert(mwapi::Assert::User)
            .set_http_client(move || {
                // A Cookie header of the request's own wins over mwapi's jar.
                let mut headers = reqwest::header::HeaderMap::new();
                headers.insert(reqwest::header::COOKIE, header.clone());
                http_builder().default_headers(headers)
            });
        // Building without a login makes no request.
        let client = client
            .build()
            .await
            .map_err(|e| WikiError::from_mwapi(api, e))?;
        Ok(Wiki {
            client: RefCell::new(client),
            api: api.to_string(),
            login: None,
            account: Some(user.split('@').next().unwrap_or(user).to_string()),
            requests: Cell::new(0),
            csrf: RefCell::new(None),
            relogged: Cell::new(false),
        })
    }

    /// Logs in again after the wiki forgot the session (`assertuserfailed`),
    /// once per lost session: losing the fresh one before any call succeeded
    /// is an error, not a loop (a long-running service logs in again each time
    /// a session it used ends). The CSRF token belonged to the old session and
    /// is dropped.
    pub(crate) async fn relogin(&self, lost: WikiError) -> Result<(), WikiError> {
        let Some((user, secret)) = &self.login else {
            return Err(lost);
        };
        if self.relogged.replace(true) {
            return Err(lost);
        }
        warn!(%user, "the wiki lost the session; logging in again once");
        let fresh = client(&self.api, Some((user, secret))).await?;
        self.requests.set(self.requests.get() + 2);
        *self.client.borrow_mut() = fresh;
        *self.csrf.borrow_mut() = None;
        Ok(())
    }

    /// The main account this session is logged in as, if any.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// How many API requests this session has made (login included).
    pub fn request_count(&self) -> usize {
        self.requests.get()
    }

    pub(crate) fn count_request(&self) {
        self.requests.set(self.requests.get() + 1);
    }

    /// Keeps the CSRF token of an answer that asked for one (`meta=tokens`).
    pub(crate) fn remember_csrf(&self, answer: &Value) {
        if let Some(token) = answer["query"]["tokens"]["csrftoken"].as_str() {
            *self.csrf.borrow_mut() = Some(Secret::new(token));
        }
    }

    /// Keeps a CSRF token this session got in an earlier run.
    pub fn keep_csrf(&self, token: Secret) {
        *self.csrf.borrow_mut() = Some(token);
    }

    /// The CSRF token kept from an earlier read, if any.
    pub fn kept_csrf(&self) -> Option<Secret> {
        self.csrf.borrow().clone()
    }

    /// The current HTTP session (replaced by [`Wiki::relogin`]).
    pub(crate) fn client(&self) -> mwapi::Client {
        self.client.borrow().clone()
    }

    /// One `action=query` GET; `params` must not contain `action`.
    pub async fn query(&self, params: &[(String, String)]) -> Result<Value, WikiError> {
        let mut all: Vec<(String, String)> = vec![("action".into(), "query".into())];
        all.extend(params.iter().cloned());
        if let Some(account) = &self.account {
            all.push(("assertuser".into(), account.clone()));
        }
        let read = || {
            self.retrying(Request::Read, || {
                self.count_request();
                debug!(request = self.requests.get(), params = ?params, "query");
                let client = self.client();
                let all = all.clone();
                async move { client.get_value(all).await }
            })
        };
        match read().await {
            Err(lost) if lost.is_session_lost() => {
                self.relogin(lost).await?;
                read().await
            }
            other => other,
        }
    }

    /// The wiki's name and database id (`meta=siteinfo`), e.g. `Wikipedia` and
    /// `enwiki`.
    pub async fn site(&self) -> Result<(String, String), WikiError> {
        let answer = self.query(&[("meta".into(), "siteinfo".into())]).await?;
        let general = &answer["query"]["general"];
        match (general["sitename"].as_str(), general["wikiid"].as_str()) {
            (Some(name), Some(id)) => Ok((name.to_string(), id.to_string())),
            _ => Err(WikiError::Unexpected(
                "the wiki's siteinfo has no sitename or wikiid".into(),
            )),
        }
    }

    /// Runs one API call, trying again when that is safe: when the wiki answered
    /// that it did nothing now (`maxlag`, read-only, HTTP 429, `ratelimited`) for
    /// any call, and for reads also when no usable answer came (transport
    /// failures, 5xx pages, bodies that are not JSON, `internal_api_error_*`).
    /// A write whose answer never came is never resent: its outcome is unknown.
    /// All tries together get [`crate::when::total_deadline`]; the API's warnings
    /// are surfaced on stderr.
    pub(crate) async fn retrying<F, Fut>(
        &self,
        kind: Request,
        mut call: F,
    ) -> Result<Value, WikiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Value, mwapi::Error>>,
    {
        let deadline = Instant::now() + crate::when::total_deadline();
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // Each try has its own deadline here, not only in the HTTP client, so
            // that it is read per call (a service's job may carry test settings).
            let per_try = crate::when::http_timeout().min(left);
            let (failure, busy, no_answer, retry_after) =
                match tokio::time::timeout(per_try, call()).await {
                    Ok(Ok(value)) => {
                        // The session works: a later loss may log in again.
                        self.relogged.set(false);
                        return surface_warnings(value);
                    }
                    Err(_) if per_try >= left => {
                        return Err(WikiError::Unreachable {
                            api: self.api.clone(),
                            detail: format!(
                                "no answer within the total deadline of {:?}",
                                crate::when::total_deadline()
                            ),
                        })
                    }
                    Err(_) => (
                        WikiError::Unreachable {
                            api: self.api.clone(),
                            detail: format!("no answer within {per_try:?}"),
                        },
                        false,
                        true,
                        None,
                    ),
                    Ok(Err(err)) => classify(&self.api, err),
                };
            let delay = crate::when::busy_delay(retry_after, attempt);
            let in_time = Instant::now() + delay < deadline;
            if attempt >= RETRIES || !in_time || !(busy || (no_answer && kind == Request::Read)) {
                return Err(failure);
            }
            warn!(attempt, error = %failure, ?delay, "trying again");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

impl WikiError {
    /// The wiki no longer sees the logged-in user: the session is gone and the
    /// request was refused before doing anything.
    pub fn is_session_lost(&self) -> bool {
        matches!(self, WikiError::Api { code, .. } if code == "assertuserfailed")
    }
}

/// One failed try: the error to report, whether the wiki said it is busy,
/// whether no usable answer came, and the wait the wiki asked for.
fn classify(api: &str, err: mwapi::Error) -> (WikiError, bool, bool, Option<u64>) {
    let busy = matches!(
        err,
        mwapi::Error::Maxlag { .. }
            | mwapi::Error::Readonly { .. }
            | mwapi::Error::TooManyRequests { .. }
    ) || matches!(&err, mwapi::Error::ApiError(e) if e.code == "ratelimited");
    let no_answer = matches!(
        err,
        mwapi::Error::HttpError(_)
            | mwapi::Error::InvalidJson(_)
            | mwapi::Error::InternalException(_)
    );
    let retry_after = err.retry_after();
    let failure = match (&err, busy) {
        (mwapi::Error::ApiError(e), true) => WikiError::Busy(format!("{}: {}", e.code, e.text)),
        _ => WikiError::from_mwapi(api, err),
    };
    (failure, busy, no_answer, retry_after)
}

/// Shows the API's warnings (deprecated or unknown parameters, and the like) on
/// stderr. In `test-hooks` builds `ADMINIBOT_TEST_STRICT_WARNINGS` makes any
/// unexpected warning an error, so the test suite notices them.
fn surface_warnings(answer: Value) -> Result<Value, WikiError> {
    for warning in answer["warnings"].as_array().into_iter().flatten() {
        let code = warning["code"].as_str().unwrap_or("warning");
        let text = warning["text"].as_str().unwrap_or_default();
        let module = warning["module"].as_str().unwrap_or("main");
        if EXPECTED_WARNINGS.contains(&code) {
            debug!(code, module, text, "expected API warning");
            continue;
        }
        let said = format!("the wiki warned ({module}: {code}): {text}");
        warn!("{said}");
        if cfg!(feature = "test-hooks")
            && crate::when::test_var("ADMINIBOT_TEST_STRICT_WARNINGS").is_some()
        {
            return Err(WikiError::Unexpected(said));
        }
    }
    Ok(answer)
}

/// An API error in an answer to a login of `user`, as the mwapi login would
/// report it: a read-only or lagged wiki is busy (try again later), any other
/// refusal is the login's.
fn api_refusal(api: &str, user: &str, answer: &Value) -> Result<(), WikiError> {
    let Some(code) = answer["error"]["code"].as_str() else {
        return Ok(());
    };
    let refusal = mwapi::ApiError {
        code: code.to_string(),
        text: answer["error"]["info"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        data: None,
    };
    Err(login_error(api, user, mwapi::Error::from(refusal)))
}

/// A failed login of `user` as adminibot reports it.
fn login_error(api: &str, user: &str, err: mwapi::Error) -> WikiError {
    match err {
        mwapi::Error::ApiError(e) => WikiError::Login {
            user: user.to_string(),
            detail: e.text,
        },
        err => WikiError::from_mwapi(api, err),
    }
}

/// A logged-in (or anonymous) mwapi client for `api`, with adminibot's settings.
async fn client(api: &str, login: Option<(&str, &Secret)>) -> Result<mwapi::Client, WikiError> {
    let mut builder = builder(api, login.map(|(user, _)| user)).set_http_client(http_builder);
    if let Some((user, secret)) = login {
        builder = builder.set_botpassword(user, secret.expose());
    }
    builder.build().await.map_err(|err| match login {
        Some((user, _)) => login_error(api, user, err),
        None => WikiError::from_mwapi(api, err),
    })
}

/// An mwapi client builder with adminibot's settings, for `login` (a
/// BotPassword name) or anonymous.
fn builder(api: &str, login: Option<&str>) -> mwapi::Builder {
    mwapi::Client::builder(api)
        .set_user_agent(&user_agent(login))
        .set_maxlag(5)
        // Retries are ours (`Wiki::retrying`), with waits that are clamped.
        .set_retry_limit(0)
}

/// adminibot's User-Agent, naming the BotPassword login (or `anonymous`).
fn user_agent(login: Option<&str>) -> String {
    format!(
        "adminibot/{} (MediaWiki permission broker; {})",
        env!("CARGO_PKG_VERSION"),
        login.unwrap_or("anonymous")
    )
}

/// The HTTP client's settings. A wiki that never answers must not hang
/// adminibot: every request has a deadline (a read is then retried; a write's
/// outcome is unknown).
fn http_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(crate::when::http_timeout())
        .connect_timeout(std::time::Duration::from_secs(10))
        // Never follow a redirect: it could carry a POST, or the session cookie,
        // to another host. The API itself never redirects.
        .redirect(reqwest::redirect::Policy::none())
}

/// Whether an API call may change something on the wiki.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// A query: safe to repeat.
    Read,
    /// A POST that may change the wiki: never repeated without an answer.
    Write,
}

/// Reads an API timestamp (`2026-11-21T12:00:00Z`).
pub(crate) fn parse_timestamp(value: &Value) -> Result<Timestamp, WikiError> {
    let raw = value
        .as_str()
        .ok_or_else(|| WikiError::Unexpected(format!("expected a timestamp, got {value}")))?;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| WikiError::Unexpected(format!("bad timestamp `{raw}`: {e}")))
}
