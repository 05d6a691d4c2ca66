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

/// How often a read that got no usable answer is tried again.
const READ_RETRIES: u32 = 2;

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
            .set_retry_limit(3)
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

    pub(crate) fn api(&self) -> &str {
        &self.api
    }

    /// One `action=query` GET; `params` must not contain `action`.
    pub async fn query(&self, params: &[(String, String)]) -> Result<Value, WikiError> {
        let mut all: Vec<(String, String)> = vec![("action".into(), "query".into())];
        all.extend(params.iter().cloned());
        if let Some(account) = &self.account {
            all.push(("assertuser".into(), account.clone()));
        }
        // Reads change nothing, so a transport failure (no answer, a 5xx page,
        // a body that is not JSON) or a database error on the wiki's side
        // (`internal_api_error_*`) is retried a few times before giving up.
        let mut attempt = 0;
        loop {
            self.count_request();
            debug!(request = self.requests.get(), params = ?params, "query");
            match self.client.get_value(all.clone()).await {
                Err(
                    err @ (mwapi::Error::HttpError(_)
                    | mwapi::Error::InvalidJson(_)
                    | mwapi::Error::InternalException(_)),
                ) if attempt < READ_RETRIES => {
                    warn!(attempt, error = %err, "read failed; retrying");
                    tokio::time::sleep(crate::when::retry_delay(attempt)).await;
                    attempt += 1;
                }
                other => return other.map_err(|err| WikiError::from_mwapi(&self.api, err)),
            }
        }
    }
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
