//! The HTTP API of [`crate::protocol`], every route in [`router`]. Handlers are
//! thin: they pass the body to the executor and turn its answer into a status.
//! Bodies over 64 KiB are refused (413), proposals beyond the configured rate
//! get 429 with `Retry-After`, and every request has a deadline.

use super::executor::{Failure, Job};
use crate::config::{Config, ListenConfig};
use crate::error::Error;
use crate::policy::Policy;
use crate::protocol::{ErrorBody, ExecuteBody, Info, ProposeBody, ReadBody, TEST_ENV_HEADER};
use crate::when::TestEnv;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The largest request body the service reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    jobs: mpsc::Sender<Job>,
    /// What `GET /v1/info` says: the wiki and its pages, the version.
    pub info: Arc<Info>,
    proposals: Arc<Mutex<Bucket>>,
    /// The web page's requests in flight.
    pub web: Arc<Mutex<super::web::Requests>>,
}

/// Takes one proposal from the service's rate, or says in how many seconds
/// one is there (the API answers 429, the web page says so).
pub fn take_proposal(state: &AppState) -> Result<(), u64> {
    state
        .proposals
        .lock()
        .map(|mut bucket| bucket.take())
        .unwrap_or(Err(1))
}

/// A token bucket: `capacity` proposals at once, refilled at `per_second`.
struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    at: Instant,
}

impl Bucket {
    fn new(per_minute: u32) -> Bucket {
        let capacity = f64::from(per_minute.clamp(1, 10_000)) / 6.0;
        Bucket {
            tokens: capacity.max(1.0),
            capacity: capacity.max(1.0),
            per_second: f64::from(per_minute.max(1)) / 60.0,
            at: Instant::now(),
        }
    }

    /// Takes a token, or says how many seconds until one is there.
    fn take(&mut self) -> Result<(), u64> {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / self.per_second).ceil().max(1.0) as u64)
        }
    }
}

/// Every route of the service.
fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/health", get(health))
        .route("/v1/read", post(read))
        .route("/v1/propose", post(propose))
        .route("/v1/execute", post(execute))
        .route("/v1/requests/{id}", get(request))
        .merge(super::web::router())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            Duration::from_secs(600),
        ))
        .with_state(state)
}

/// Serves until SIGINT or SIGTERM.
pub fn run(
    config: &Config,
    policy: &Policy,
    listen: &ListenConfig,
    jobs: mpsc::Sender<Job>,
) -> Result<(), Error> {
    let info = Info {
        wiki: config.wiki.name.clone(),
        api: listen
            .requesters_wiki_api
            .clone()
            .unwrap_or_else(|| config.wiki.api.clone()),
        attribution: policy.pages.attribution.clone(),
        bot: policy.bot.clone(),
        noticeboard: policy.pages.noticeboard.clone(),
        version: crate::cli::VERSION.clone(),
        signature_preload: policy.pages.signature_preload.clone(),
    };
    let state = AppState {
        jobs,
        info: Arc::new(info),
        proposals: Arc::new(Mutex::new(Bucket::new(listen.proposals_per_minute))),
        web: Arc::default(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let cannot =
        |e: std::io::Error| Error::Usage(format!("cannot listen on `{}`: {e}", listen.address));
    let stopped_with = |e: std::io::Error| Error::Usage(format!("the service stopped: {e}"));
    runtime.block_on(async move {
        // The first line on stdout says where, so scripts (and tests) can connect.
        if let Some(path) = listen.address.strip_prefix(UNIX_PREFIX) {
            let listener = unix_listener(std::path::Path::new(path)).map_err(cannot)?;
            println!("adminibot serve: listening on {UNIX_PREFIX}{path}");
            return axum::serve(listener, router(state))
                .with_graceful_shutdown(stopped())
                .await
                .map_err(stopped_with);
        }
        let listener = tokio::net::TcpListener::bind(&listen.address)
            .await
            .map_err(cannot)?;
        let address = listener.local_addr().map_err(cannot)?;
        println!("adminibot serve: listening on http://{address}");
        axum::serve(listener, router(state))
            .with_graceful_shutdown(stopped())
            .await
            .map_err(stopped_with)
    })
}

/// `[listen] address` (and `[broker] url`) naming a Unix socket: `unix:/path`.
pub const UNIX_PREFIX: &str = "unix:";

/// Listens on the Unix socket `path`, replacing a stale socket a stopped service
/// left (never any other kind of file). Any local user may connect, as to
/// loopback TCP; the socket's folder decides who can reach it.
fn unix_listener(path: &std::path::Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(std::io::Error::other(
                "a file that is not a socket is in the way",
            ));
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::other("another service is listening there"));
        }
        std::fs::remove_file(path)?;
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

async fn stopped() {
    let term = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

/// A JSON answer or the error body with its status.
pub struct Answer<T>(pub Result<T, Failure>);

impl<T: Serialize> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        match self.0 {
            Ok(value) => Json(value).into_response(),
            Err(failure) => {
                let status =
                    StatusCode::from_u16(failure.http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, Json(failure.body)).into_response()
            }
        }
    }
}

/// The test settings a `test-hooks` client passed on; never in a deployed build.
fn test_env(headers: &HeaderMap) -> TestEnv {
    if !cfg!(feature = "test-hooks") {
        return TestEnv::new();
    }
    headers
        .get(TEST_ENV_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// Sends a job and waits for its answer.
pub async fn ask<T>(
    state: &AppState,
    job: impl FnOnce(oneshot::Sender<Result<T, Failure>>) -> Job,
) -> Answer<T> {
    let (reply, answer) = oneshot::channel();
    if state.jobs.send(job(reply)).await.is_err() {
        return Answer(Err(stopped_failure("before it took the request")));
    }
    Answer(
        answer
            .await
            .unwrap_or_else(|_| Err(stopped_failure("while it handled the request"))),
    )
}

/// The executor died: whatever the request was, its outcome is unknown until the
/// restarted service settles it (exit 5).
fn stopped_failure(when: &str) -> Failure {
    let error = format!("the adminibot service stopped {when}; its outcome is unknown");
    Failure {
        http: 503,
        body: ErrorBody {
            rendered: format!(
                "error: {error}\n\nhint: the service settles open requests when it starts again; `adminibot audit --request ID` shows the result"
            ),
            error,
            exit_code: crate::error::ExitStatus::Unknown.code(),
        },
    }
}

async fn info(State(state): State<AppState>) -> Json<Info> {
    Json((*state.info).clone())
}

async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "ok": !state.jobs.is_closed(), "version": state.info.version }))
}

async fn read(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<ReadBody>,
) -> impl IntoResponse {
    ask(&state, |reply| {
        Job::Read(body.command, test_env(&headers), reply)
    })
    .await
}

async fn propose(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<ProposeBody>,
) -> Response {
    if let Err(wait) = take_proposal(&state) {
        let body = ErrorBody {
            error: format!("too many proposals: try again in {wait} s"),
            rendered: format!(
                "error: the adminibot service is busy: too many proposals, try again in {wait} s\n\nhint: nothing was changed"
            ),
            exit_code: 3,
        };
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert("retry-after", value);
        }
        return response;
    }
    ask(&state, |reply| {
        Job::Propose(body, test_env(&headers), reply)
    })
    .await
    .into_response()
}

async fn execute(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<ExecuteBody>,
) -> impl IntoResponse {
    ask(&state, |reply| {
        Job::Execute(body, test_env(&headers), reply)
    })
    .await
}

async fn request(State(state): State<AppState>, Path(id): Path<String>) -> impl IntoResponse {
    ask(&state, |reply| Job::Request(id, reply)).await
}
