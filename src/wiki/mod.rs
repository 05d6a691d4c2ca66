//! The only code that speaks HTTP: a session with the wiki, and the reads that
//! turn a title into [`PageFacts`](crate::facts::PageFacts).
//!
//! Sessions, BotPassword login, tokens and maxlag retries come from `mwapi`.
//! Every request carries `maxlag=5` and, once logged in, `assert=user` and
//! `assertuser=<account>`, so a lost or swapped session fails loudly instead of
//! silently reading as someone else.

pub mod actions;
pub mod facts;
pub mod title;
pub mod users;

use crate::config::Secret;
use crate::facts::Timestamp;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cell::Cell;
use tracing::{debug, warn};

/// How often a call is tried again (see [`Wiki::retrying`]).
const RETRIES: u32 = 2;

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

/// A session with one wiki, anonymous or logged in with a BotPassword.
pub struct Wiki {
    client: mwapi::Client,
    api: String,
    account: Option<String>,
    requests: Cell<usize>,
    /// A CSRF token that came along with an earlier read, saving a request.
    csrf: std::cell::RefCell<Option<Secret>>,
}

impl Wiki {
    /// Opens a session; logs in when `login` (BotPassword name and secret) is given.
    pub async fn connect(api: &str, login: Option<(&str, &Secret)>) -> Result<Wiki, WikiError> {
        let mut builder = mwapi::Client::builder(api)
            .set_user_agent(&format!(
                "adminibot/{} (MediaWiki permission broker; {})",
                env!("CARGO_PKG_VERSION"),
                login.map_or("anonymous", |(user, _)| user)
            ))
            .set_maxlag(5)
            // Retries are ours (`Wiki::retrying`), with waits that are clamped.
            .set_retry_limit(0)
            // A wiki that never answers must not hang adminibot: every request has
            // a deadline (a read is then retried; a write's outcome is unknown).
            .set_http_client(|| {
                reqwest::Client::builder()
                    .timeout(crate::when::http_timeout())
                    .connect_timeout(std::time::Duration::from_secs(10))
                    // Never follow a redirect: it could carry a POST, or the session
                    // cookie, to another host. The API itself never redirects.
                    .redirect(reqwest::redirect::Policy::none())
            });
        if let Some((user, secret)) = login {
            builder = builder.set_botpassword(user, secret.expose());
        }
        let client = builder.build().await.map_err(|err| match (login, err) {
            (Some((user, _)), mwapi::Error::ApiError(e)) => WikiError::Login {
                user: user.to_string(),
                detail: e.text,
            },
            (_, err) => WikiError::from_mwapi(api, err),
        })?;
        let account = login.map(|(user, _)| user.split('@').next().unwrap_or(user).to_string());
        let requests = Cell::new(if login.is_some() { 2 } else { 0 });
        Ok(Wiki {
            client,
            api: api.to_string(),
            account,
            requests,
            csrf: std::cell::RefCell::new(None),
        })
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

    /// The CSRF token kept from an earlier read, if any.
    pub(crate) fn kept_csrf(&self) -> Option<Secret> {
        self.csrf.borrow().clone()
    }

    pub(crate) fn client(&self) -> &mwapi::Client {
        &self.client
    }

    /// One `action=query` GET; `params` must not contain `action`.
    pub async fn query(&self, params: &[(String, String)]) -> Result<Value, WikiError> {
        let mut all: Vec<(String, String)> = vec![("action".into(), "query".into())];
        all.extend(params.iter().cloned());
        if let Some(account) = &self.account {
            all.push(("assertuser".into(), account.clone()));
        }
        self.retrying(Request::Read, || {
            self.count_request();
            debug!(request = self.requests.get(), params = ?params, "query");
            self.client.get_value(all.clone())
        })
        .await
    }

    /// Runs one API call, trying again when that is safe: when the wiki answered
    /// that it did nothing now (`maxlag`, read-only, HTTP 429, `ratelimited`) for
    /// any call, and for reads also when no usable answer came (transport
    /// failures, 5xx pages, bodies that are not JSON, `internal_api_error_*`).
    /// A write whose answer never came is never resent: its outcome is unknown.
    pub(crate) async fn retrying<F, Fut>(
        &self,
        kind: Request,
        mut call: F,
    ) -> Result<Value, WikiError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Value, mwapi::Error>>,
    {
        let mut attempt = 0;
        loop {
            let err = match call().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
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
            if attempt >= RETRIES || !(busy || (no_answer && kind == Request::Read)) {
                return Err(match (&err, busy) {
                    (mwapi::Error::ApiError(e), true) => {
                        WikiError::Busy(format!("{}: {}", e.code, e.text))
                    }
                    _ => WikiError::from_mwapi(&self.api, err),
                });
            }
            let delay = crate::when::busy_delay(err.retry_after(), attempt);
            warn!(attempt, error = %err, ?delay, "trying again");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
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
