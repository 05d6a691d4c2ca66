//! The service's web pages, for editors without a shell: a request form whose
//! signature is an edit in the wiki's own edit form, and public, read-only
//! pages on the bot (status, recent actions, grants, the audit chain), each
//! also as JSON. They run on the same executor as the CLI's API: a request is
//! proposed, signed and executed exactly as `adminibot delete` does it.
//!
//! The pages are rendered on the server ([`pages`], `maud`), load nothing from
//! elsewhere and work without JavaScript, except the wait for the signature,
//! which falls back to a "Check again" link. Every response carries a strict
//! Content-Security-Policy; the forms that change something (asking, and
//! confirming an irreversible action) carry a CSRF token that must match the
//! visitor's cookie. No password or token of the editor ever reaches the
//! service: they sign on the wiki, logged in there as usual.

mod pages;

use super::executor::{Failure, Job};
use super::routes::{ask, take_proposal, AppState};
use crate::cli::{AuditArgs, AuditCommand, Cli, Command};
use crate::protocol::{ExecuteBody, Executed, ProposeAnswer, ProposeBody, RemoteOutput, Ticket};
use crate::report::RenderedPage;
use crate::when::TestEnv;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use pages::{ActionRow, Frame, Nav, Stage};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What every web response says to the browser: load nothing from elsewhere,
/// run no inline script, never be framed, send no referrer.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The visitor's CSRF token.
const CSRF_COOKIE: &str = "adminibot_csrf";
/// The user name the request form remembers.
const USER_COOKIE: &str = "adminibot_user";
/// How long the web keeps a request's page: well past its proposal's life.
const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// At most this many requests are kept; the oldest go first.
const KEPT_AT_MOST: usize = 2000;
/// A request's page asks the wiki for its signature at most this often,
/// however many tabs poll it: one `prop=revisions` read, so a page left open
/// for its whole ten minutes costs the wiki 120 reads at most.
const LOOK_EVERY: Duration = Duration::from_secs(5);

/// The web's requests in flight, by request id: what was proposed, and how far
/// it got. A restarted service forgets them (the audit log keeps every one).
#[derive(Default)]
pub struct Requests(HashMap<String, WebRequest>);

#[derive(Clone)]
struct WebRequest {
    created: Instant,
    proposed: RenderedPage,
    ticket: Ticket,
    needs_confirmation: bool,
    confirmed: bool,
    progress: Progress,
    /// When the wiki was last asked for the signature.
    looked_at: Option<Instant>,
}

#[derive(Clone)]
enum Progress {
    /// No signature found yet.
    Waiting,
    /// A poll found the signature and is executing it.
    Executing,
    /// The report.
    Done(RenderedPage),
    /// Why it cannot go on.
    Failed(String),
}

impl Requests {
    fn insert(&mut self, request: WebRequest) {
        self.0.retain(|_, r| r.created.elapsed() < KEPT_FOR);
        if self.0.len() >= KEPT_AT_MOST {
            if let Some(oldest) = self
                .0
                .iter()
                .min_by_key(|(_, r)| r.created)
                .map(|(id, _)| id.clone())
            {
                self.0.remove(&oldest);
            }
        }
        self.0.insert(request.ticket.request_id.clone(), request);
    }
}

/// Every web route.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(form))
        .route("/request", post(propose))
        .route("/request/{id}", get(request))
        .route("/request/{id}/state", get(request_state))
        .route("/request/{id}/confirm", post(confirm))
        .route("/status", get(status_page))
        .route("/status.json", get(status_json))
        .route("/actions", get(actions_page))
        .route("/actions.json", get(actions_json))
        .route("/grants", get(grants_page))
        .route("/grants.json", get(grants_json))
        .route("/audit", get(audit_page))
        .route("/audit.json", get(audit_json))
        .route("/static/style.css", get(style))
        .route("/static/poll.js", get(script))
        .layer(axum::middleware::map_response(secure_headers))
}

async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn style() -> Response {
    static_file("text/css; charset=utf-8", include_str!("web/style.css"))
}

async fn script() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("web/poll.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The value of cookie `name` in the request.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// The visitor's CSRF token: theirs if they have a well-formed one, else a
/// new one from the operating system's randomness, to be set as a cookie.
fn csrf_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(token) = cookie(headers, CSRF_COOKIE).filter(|t| well_formed(t)) {
        return (token, None);
    }
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: no token, so every form is refused rather than guessable.
        return (String::new(), None);
    }
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let cookie = format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        secure_suffix(headers)
    );
    (token, HeaderValue::from_str(&cookie).ok())
}

/// `; Secure` when the visitor reached the service through https (the TLS
/// proxy in front says so).
fn secure_suffix(headers: &HeaderMap) -> &'static str {
    match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "; Secure",
        _ => "",
    }
}

/// Whether a form's token is the visitor's own (the double-submit check: a
/// page of another site can neither read the cookie nor send it).
fn csrf_ok(headers: &HeaderMap, token: &str) -> bool {
    well_formed(token) && cookie(headers, CSRF_COOKIE).as_deref() == Some(token)
}

/// Whether `token` looks like one this service makes (32 hex digits).
fn well_formed(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn frame<'a>(state: &'a AppState, nav: Nav, title: &'a str) -> Frame<'a> {
    Frame {
        info: &state.info,
        nav,
        title,
    }
}

/// An HTML page with `status`, and the cookies to set.
fn page(status: StatusCode, markup: maud::Markup, cookies: Vec<HeaderValue>) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A failed job's message for a page: the CLI's, without its colours.
fn failure_text(failure: &Failure) -> String {
    anstream::adapter::strip_str(&failure.body.rendered).to_string()
}

async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    request_form(&state, &headers, StatusCode::OK, None)
}

/// The request form's fields.
#[derive(Deserialize)]
struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    reason: String,
}

/// The request form again, with what went wrong.
fn form_again(state: &AppState, headers: &HeaderMap, status: StatusCode, why: &str) -> Response {
    request_form(state, headers, status, Some(why))
}

/// The request form, its user name remembered, with a `notice` if any.
fn request_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let (csrf, set) = csrf_token(headers);
    let user = cookie(headers, USER_COOKIE)
        .map(|u| crate::protocol::decode(&u))
        .unwrap_or_default();
    let markup = pages::request_form(
        &frame(state, Nav::Request, "Ask the bot"),
        &csrf,
        &user,
        notice,
    );
    page(status, markup, set.into_iter().collect())
}

async fn propose(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<RequestForm>,
) -> Response {
    let body = match proposal_of(&headers, &form) {
        Ok(body) => body,
        Err((status, why)) => return form_again(&state, &headers, status, &why),
    };
    if let Err(wait) = take_proposal(&state) {
        let mut response = form_again(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &format!("The service is busy: try again in {wait} s. Nothing was asked."),
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    let remember = HeaderValue::from_str(&format!(
        "{USER_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{}",
        crate::protocol::encode(&body.user),
        secure_suffix(&headers)
    ))
    .ok();
    let answer = ask(&state, |reply| Job::Propose(body, TestEnv::new(), reply)).await;
    let proposed = match answer.0 {
        Ok(ProposeAnswer::Pages(mut pages)) if !pages.is_empty() => pages.remove(0),
        Ok(_) => {
            return form_again(
                &state,
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                "The service gave no answer for that page.",
            )
        }
        Err(failure) => {
            let status = StatusCode::from_u16(failure.http).unwrap_or(StatusCode::BAD_GATEWAY);
            return form_again(&state, &headers, status, &failure_text(&failure));
        }
    };
    let Some(ticket) = proposed.ticket else {
        let markup = pages::refused(&frame(&state, Nav::Request, "Refused"), &proposed.page);
        return page(StatusCode::OK, markup, remember.into_iter().collect());
    };
    let id = ticket.request_id.clone();
    if let Ok(mut requests) = state.web.lock() {
        requests.insert(WebRequest {
            created: Instant::now(),
            proposed: proposed.page,
            ticket,
            needs_confirmation: proposed.needs_confirmation,
            confirmed: false,
            progress: Progress::Waiting,
            looked_at: None,
        });
    }
    let mut response = Redirect::to(&format!("/request/{id}")).into_response();
    if let Some(cookie) = remember {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The proposal a filled-in form asks for: the same command the CLI would
/// send (`adminibot ACTION --reason R -- TITLE`), or why the form is sent back.
fn proposal_of(
    headers: &HeaderMap,
    form: &RequestForm,
) -> Result<ProposeBody, (StatusCode, String)> {
    if !csrf_ok(headers, &form.csrf) {
        return Err((
            StatusCode::FORBIDDEN,
            "This form expired or came from another site: nothing was asked. Send it again from this page.".into(),
        ));
    }
    let (title, user) = (form.title.trim(), form.user.trim());
    if title.is_empty() || user.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            "Give the page's title and your user name.".into(),
        ));
    }
    if !["delete", "undelete", "delete-redirect"].contains(&form.action.as_str()) {
        return Err((
            StatusCode::BAD_REQUEST,
            "Choose delete, undelete or delete-redirect.".into(),
        ));
    }
    let args = [
        "adminibot",
        form.action.as_str(),
        "--reason",
        form.reason.trim(),
        "--",
        title,
    ];
    let command = Cli::try_parse_from(args).map_err(|e| {
        let why = e.to_string();
        let first = why.lines().next().unwrap_or_default().to_string();
        (StatusCode::BAD_REQUEST, first)
    })?;
    Ok(ProposeBody {
        user: user.to_string(),
        command: command.command,
    })
}

/// Moves a request on: if it waits for its signature (and any confirmation
/// was given), asks the executor for a signature revision and, when there is
/// one, executes it as `/v1/execute` would. The request as it stands then;
/// `None` for a request this service does not know.
async fn advance(state: &AppState, id: &str) -> Option<WebRequest> {
    let confirmed = {
        let mut requests = state.web.lock().ok()?;
        let request = requests.0.get_mut(id)?;
        let ready = matches!(request.progress, Progress::Waiting)
            && (request.confirmed || !request.needs_confirmation)
            && request
                .looked_at
                .is_none_or(|at| at.elapsed() >= LOOK_EVERY);
        if !ready {
            return Some(request.clone());
        }
        request.progress = Progress::Executing;
        request.looked_at = Some(Instant::now());
        request.confirmed
    };
    let found = ask(state, |reply| Job::FindSignature(id.to_string(), reply)).await;
    let progress = match found.0 {
        Ok(Some(revid)) => {
            let body = ExecuteBody {
                request_id: id.to_string(),
                revid,
                yes: confirmed,
            };
            match ask(state, |reply| Job::Execute(body, TestEnv::new(), reply))
                .await
                .0
            {
                Ok(Executed::Page(report)) => Progress::Done(report),
                Ok(Executed::Command(_)) => Progress::Failed("not a page request".into()),
                Err(failure) => Progress::Failed(failure_text(&failure)),
            }
        }
        Ok(None) => Progress::Waiting,
        Err(failure) => {
            tracing::warn!(
                request = id,
                "looking for a signature failed: {}",
                failure.body.error
            );
            Progress::Waiting
        }
    };
    let mut requests = state.web.lock().ok()?;
    let request = requests.0.get_mut(id)?;
    let expired = crate::when::now() > request.ticket.expires_at;
    request.progress = match progress {
        Progress::Waiting if expired => Progress::Failed(format!(
            "Request {id} expired at {} before its signature was found: nothing was done. Ask again.",
            crate::when::format_time(request.ticket.expires_at)
        )),
        other => other,
    };
    Some(request.clone())
}

async fn request(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(request) = advance(&state, &id).await else {
        let markup = pages::message(
            &frame(&state, Nav::Request, "Unknown request"),
            "Unknown request",
            &format!("This service has no request {id} waiting (it may have expired, or the service restarted). The audit log has every request that was acted on."),
        );
        return page(StatusCode::NOT_FOUND, markup, Vec::new());
    };
    let (csrf, set) = csrf_token(&headers);
    let sign_url = state
        .info
        .signature_preload
        .as_deref()
        .map(|preload| sign_url(&state.info, &request.ticket, preload));
    let stage = match &request.progress {
        Progress::Done(report) => Stage::Done(report),
        Progress::Failed(why) => Stage::Failed(why),
        _ if request.needs_confirmation && !request.confirmed => Stage::Confirm { csrf: &csrf },
        _ => Stage::Sign { sign_url },
    };
    let title = format!("Request {id}");
    let markup = pages::request_page(
        &frame(&state, Nav::Request, &title),
        &request.proposed,
        &request.ticket,
        stage,
    );
    page(StatusCode::OK, markup, set.into_iter().collect())
}

/// The wiki's edit form for a new section on the requester's attribution page,
/// headed with the request's summary and its text preloaded: saving it is the
/// signature.
fn sign_url(info: &crate::protocol::Info, ticket: &Ticket, preload: &str) -> String {
    use crate::protocol::encode;
    info.index_url(&format!(
        "title={}&action=edit&section=new&preloadtitle={}&preload={}&preloadparams%5B%5D={}",
        encode(&ticket.page.replace(' ', "_")),
        encode(&crate::signature::section_heading(&ticket.summary)),
        encode(&preload.replace(' ', "_")),
        encode(ticket.text.trim()),
    ))
}

/// The poll: `waiting`, `confirm`, `done`, `failed` or `unknown`.
async fn request_state(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let word = match advance(&state, &id).await {
        None => "unknown",
        Some(r) => match r.progress {
            Progress::Done(_) => "done",
            Progress::Failed(_) => "failed",
            _ if r.needs_confirmation && !r.confirmed => "confirm",
            _ => "waiting",
        },
    };
    Json(json!({ "request_id": id, "state": word })).into_response()
}

/// The confirmation form's fields.
#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    understood: String,
}

async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    if !csrf_ok(&headers, &form.csrf) || form.understood != "yes" {
        let markup = pages::message(
            &frame(&state, Nav::Request, "Not confirmed"),
            "Not confirmed",
            "The confirmation was not given from this site's form (or its box was not ticked): nothing changed.",
        );
        return page(StatusCode::FORBIDDEN, markup, Vec::new());
    }
    if let Ok(mut requests) = state.web.lock() {
        if let Some(request) = requests.0.get_mut(&id) {
            request.confirmed = true;
        }
    }
    Redirect::to(&format!("/request/{id}")).into_response()
}

/// A public page's data, or the page saying why it is missing.
async fn read(state: &AppState, command: Command) -> Result<RemoteOutput, Response> {
    ask(state, |reply| Job::Read(command, TestEnv::new(), reply))
        .await
        .0
        .map_err(|failure| unavailable(state, &failure))
}

fn unavailable(state: &AppState, failure: &Failure) -> Response {
    let markup = pages::message(
        &frame(state, Nav::Status, "Unavailable"),
        "Unavailable",
        &failure_text(failure),
    );
    page(
        StatusCode::from_u16(failure.http).unwrap_or(StatusCode::BAD_GATEWAY),
        markup,
        Vec::new(),
    )
}

async fn status(state: &AppState) -> Result<crate::protocol::Status, Response> {
    ask(state, Job::Status)
        .await
        .0
        .map_err(|failure| unavailable(state, &failure))
}

/// A page drawn from the service's status (`render`), under `nav` and `title`.
async fn status_view(
    state: &AppState,
    nav: Nav,
    title: &str,
    render: fn(&Frame<'_>, &crate::protocol::Status) -> maud::Markup,
) -> Response {
    match status(state).await {
        Ok(status) => page(
            StatusCode::OK,
            render(&frame(state, nav, title), &status),
            Vec::new(),
        ),
        Err(response) => response,
    }
}

async fn status_page(State(state): State<AppState>) -> Response {
    status_view(&state, Nav::Status, "Status", pages::status).await
}

async fn status_json(State(state): State<AppState>) -> Response {
    match status(&state).await {
        Ok(status) => Json(status).into_response(),
        Err(response) => response,
    }
}

/// `adminibot audit --since 30d`: the rows the recent actions come from.
fn recent_rows() -> Command {
    Command::Audit(AuditArgs {
        user: None,
        since: Some("30d".into()),
        request: None,
        verify: None,
    })
}

async fn actions_page(State(state): State<AppState>) -> Response {
    match read(&state, recent_rows()).await {
        Ok(output) => {
            let rows = action_rows(&output.json["rows"]);
            page(
                StatusCode::OK,
                pages::actions(&frame(&state, Nav::Actions, "Recent actions"), &rows),
                Vec::new(),
            )
        }
        Err(response) => response,
    }
}

async fn actions_json(State(state): State<AppState>) -> Response {
    json_of(&state, recent_rows()).await
}

/// A read's JSON, exactly as the CLI's `--format json` prints it.
async fn json_of(state: &AppState, command: Command) -> Response {
    match read(state, command).await {
        Ok(output) => Json(output.json).into_response(),
        Err(response) => response,
    }
}

/// The requests among audit rows, newest first, each from its stages: the
/// request, the signature, the deletion (or undeletion), the log line, the end.
/// Dry runs and rows of no request are left out.
fn action_rows(rows: &Value) -> Vec<ActionRow> {
    let mut order: Vec<String> = Vec::new();
    let mut by_id: HashMap<String, ActionRow> = HashMap::new();
    for row in rows.as_array().into_iter().flatten() {
        let (Some(id), Some(kind)) = (row["request_id"].as_str(), row["kind"].as_str()) else {
            continue;
        };
        let detail = &row["detail"];
        if kind == crate::stages::kind::REQUEST {
            if detail["dry_run"] == true {
                continue;
            }
            order.push(id.to_string());
            by_id.insert(
                id.to_string(),
                ActionRow {
                    request_id: id.to_string(),
                    at: when(&row["at"]),
                    title: detail["title"].as_str().unwrap_or_default().to_string(),
                    action: detail["action"].as_str().unwrap_or_default().to_string(),
                    requester: row["subject"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    tier: detail["tier"].as_str().unwrap_or_default().to_string(),
                    decision: detail["decision"].as_str().unwrap_or_default().to_string(),
                    attribution_revid: None,
                    log_id: None,
                    log_line_revid: None,
                },
            );
            continue;
        }
        let Some(action) = by_id.get_mut(id) else {
            continue;
        };
        match kind {
            crate::stages::kind::ATTRIBUTED => action.attribution_revid = detail["revid"].as_u64(),
            crate::stages::kind::DELETED | crate::stages::kind::UNDELETED => {
                action.log_id = detail["log_id"].as_u64();
            }
            crate::stages::kind::LOGGED => action.log_line_revid = detail["revid"].as_u64(),
            crate::stages::kind::END => {
                action.decision = detail["decision"].as_str().unwrap_or_default().to_string();
                action.at = when(&row["at"]);
            }
            _ => {}
        }
    }
    order
        .iter()
        .rev()
        .filter_map(|id| by_id.remove(id))
        .collect()
}

/// An audit row's time as people read it: `2026-11-30 22:01 UTC`.
fn when(at: &Value) -> String {
    let text = at.as_str().unwrap_or_default();
    chrono::DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// `adminibot list --all`.
fn grants_in_force() -> Command {
    Command::List {
        user: None,
        all: true,
    }
}

async fn grants_page(State(state): State<AppState>) -> Response {
    match read(&state, grants_in_force()).await {
        Ok(output) => {
            let grants = output.json["grants"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            page(
                StatusCode::OK,
                pages::grants(&frame(&state, Nav::Grants, "Grants in force"), &grants),
                Vec::new(),
            )
        }
        Err(response) => response,
    }
}

async fn grants_json(State(state): State<AppState>) -> Response {
    json_of(&state, grants_in_force()).await
}

async fn audit_page(State(state): State<AppState>) -> Response {
    status_view(&state, Nav::Audit, "Audit log", pages::audit).await
}

async fn audit_json(State(state): State<AppState>) -> Response {
    json_of(
        &state,
        Command::Audit(AuditArgs {
            user: None,
            since: None,
            request: None,
            verify: Some(AuditCommand::Verify { wiki: false }),
        }),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_and_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; adminibot_user=J%C3%BCrgen%20W; adminibot_csrf=00"),
        );
        assert_eq!(
            cookie(&headers, USER_COOKIE).map(|u| crate::protocol::decode(&u)),
            Some("Jürgen W".to_string())
        );
        assert_eq!(cookie(&headers, "b"), None);
        // A malformed token is replaced, and a form never matches it.
        let (token, set) = csrf_token(&headers);
        assert_eq!(token.len(), 32);
        assert!(set.is_some());
        assert!(
            !csrf_ok(&headers, "00"),
            "a malformed cookie matches no form"
        );
    }

    #[test]
    fn a_form_token_must_be_the_visitors_own() {
        let mut headers = HeaderMap::new();
        let token = "0123456789abcdef0123456789abcdef";
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{CSRF_COOKIE}={token}")).unwrap(),
        );
        assert!(csrf_ok(&headers, token));
        assert!(!csrf_ok(&headers, "0123456789abcdef0123456789abcdee"));
        assert!(!csrf_ok(&headers, ""));
        assert!(!csrf_ok(&HeaderMap::new(), ""));
        assert_eq!(csrf_token(&headers), (token.to_string(), None));
    }

    #[test]
    fn recent_actions_are_made_from_their_stages() {
        let rows = json!([
            { "request_id": "r1", "kind": "request", "at": "t1", "subject": { "name": "Alice" },
              "detail": { "title": "Draft:X", "action": "delete", "tier": "self", "decision": "allowed" } },
            { "request_id": "r1", "kind": "attributed", "detail": { "revid": 50 } },
            { "request_id": "r1", "kind": "deleted", "detail": { "log_id": 7 } },
            { "request_id": "r1", "kind": "logged", "detail": { "revid": 51 } },
            { "request_id": "r1", "kind": "end", "at": "2026-11-30T22:01:59.5Z", "detail": { "decision": "done" } },
            { "request_id": "r2", "kind": "request", "at": "t3", "subject": { "name": "Bob" },
              "detail": { "title": "Y", "action": "delete", "tier": "self", "decision": "allowed", "dry_run": true } },
            { "request_id": null, "kind": "grant", "detail": {} }
        ]);
        let actions = action_rows(&rows);
        assert_eq!(actions.len(), 1);
        let a = &actions[0];
        assert_eq!(
            (
                a.title.as_str(),
                a.requester.as_str(),
                a.decision.as_str(),
                a.at.as_str()
            ),
            ("Draft:X", "Alice", "done", "2026-11-30 22:01 UTC")
        );
        assert_eq!(
            (a.attribution_revid, a.log_id, a.log_line_revid),
            (Some(50), Some(7), Some(51))
        );
    }
}
