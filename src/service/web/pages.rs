//! The web pages, as `maud` templates: checked when the service is compiled,
//! and every value written into them escaped (titles, user names, edit
//! summaries and reasons all come from the wiki or from strangers).

use crate::protocol::{Info, Status, Ticket};
use crate::report::RenderedPage;
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

/// The pages in the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The request form and a request's own page.
    Request,
    /// Running, stopped or shut off.
    Status,
    /// The bot's recent actions.
    Actions,
    /// Grants in force.
    Grants,
    /// The audit chain.
    Audit,
}

/// What every page shows around its content.
pub struct Frame<'a> {
    /// The service's info: the wiki's URLs, the version.
    pub info: &'a Info,
    /// Which navigation entry is this page's.
    pub nav: Nav,
    /// The page's title.
    pub title: &'a str,
}

/// A whole page: the navigation, `content`, the footer.
pub fn layout(frame: &Frame<'_>, content: Markup) -> Markup {
    let entries = [
        (Nav::Request, "/", "Request"),
        (Nav::Status, "/status", "Status"),
        (Nav::Actions, "/actions", "Recent actions"),
        (Nav::Grants, "/grants", "Grants"),
        (Nav::Audit, "/audit", "Audit log"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (frame.title) " · adminibot" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/poll.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header {
                    nav aria-label="adminibot" {
                        a.brand href="/" { "adminibot" }
                        @for (nav, href, label) in entries {
                            a href=(href) aria-current=[(nav == frame.nav).then_some("page")] { (label) }
                        }
                    }
                }
                main #main { (content) }
                footer {
                    "adminibot " (frame.info.version) " for "
                    a href=(frame.info.page_url("")) { (frame.info.wiki) }
                    " · every action is public: the bot's log page, the wiki's deletion log and this site's audit log."
                }
            }
        }
    }
}

/// The request form: a title, an action, the requester's name (remembered),
/// a reason. `csrf` is the form's token.
pub fn request_form(frame: &Frame<'_>, csrf: &str, user: &str, notice: Option<&str>) -> Markup {
    layout(
        frame,
        html! {
            h1 { "Ask the bot" }
            p.lead {
                "The bot deletes, undeletes or deletes a redirect for you only when it can prove "
                "the request uncontroversial and you hold a grant for it. Asking is free: nothing "
                "happens until you sign on the wiki."
            }
            @if let Some(notice) = notice {
                p.notice.error role="alert" { (notice) }
            }
            form.card method="post" action="/request" {
                input type="hidden" name="csrf" value=(csrf);
                label for="title" { "Page" span.hint { "Its title as the wiki shows it, e.g. Draft:My page" } }
                input #title type="text" name="title" required autocomplete="off" spellcheck="false";
                label for="action" { "Action" }
                select #action name="action" {
                    option value="delete" { "Delete" }
                    option value="undelete" { "Undelete (restore what the bot deleted for you)" }
                    option value="delete-redirect" { "Delete the redirect your move left" }
                }
                label for="user" { "Your user name" span.hint { "On " (frame.info.wiki) "; remembered in a cookie on this site" } }
                input #user type="text" name="user" required value=(user) autocomplete="username" spellcheck="false";
                label for="reason" { "Reason" span.hint { "Optional; it goes into the deletion log" } }
                input #reason type="text" name="reason" maxlength="250";
                div { button type="submit" { "Check" } }
            }
            p.muted {
                "You never give this site a password. To go ahead you save one edit on your own "
                "attribution page, logged in to the wiki as usual; that edit proves who asked."
            }
        },
    )
}

/// A verdict: the headline and the rules table, as `check` shows it, with
/// the evidence linked to the wiki.
pub fn verdict(info: &Info, page: &RenderedPage) -> Markup {
    let json = &page.json;
    html! {
        p {
            strong { (page.title) } " · "
            span class={ "decision " (page.decision) } { (page.decision) }
            @if let (Some(requester), Some(tier)) = (json["requester"].as_str(), json["tier"].as_str()) {
                " · " (json["action"].as_str().unwrap_or_default()) " for " (requester) " under tier " (tier)
            }
            @if json["flagged"] == true { " · " strong { "flagged for urgent review by an administrator" } }
        }
        @if let Some(error) = json["error"].as_str() {
            p.notice.error role="alert" { (error) }
        }
        @let rules = json["rules"].as_array().cloned().unwrap_or_default();
        @if !rules.is_empty() {
            table.stack.rules {
                caption.muted { "Every rule the bot checked" }
                thead { tr { th scope="col" { "Outcome" } th scope="col" { "Rule" } th scope="col" { "Why" } th scope="col" { "Evidence" } } }
                tbody {
                    @for rule in &rules {
                        @let outcome = rule["outcome"].as_str().unwrap_or("unknown");
                        tr {
                            td.outcome.(outcome) data-label="Outcome" { (outcome_word(outcome)) }
                            td data-label="Rule" { code { (rule["rule"].as_str().unwrap_or_default()) } }
                            td data-label="Why" { (rule["detail"].as_str().unwrap_or_default()) }
                            td data-label="Evidence" { (evidence(info, &rule["evidence"])) }
                        }
                    }
                }
            }
        }
    }
}

/// The word of a rule's outcome, as the CLI prints it.
fn outcome_word(outcome: &str) -> &'static str {
    match outcome {
        "pass" => "pass",
        "fail" => "FAIL",
        "confirm" => "confirm",
        "flag" => "flag",
        _ => "UNKNOWN",
    }
}

/// A rule's evidence: revisions as links to their diffs, log entries as links
/// to the log.
fn evidence(info: &Info, evidence: &Value) -> Markup {
    let ids = |key: &str| -> Vec<u64> {
        evidence[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect()
    };
    html! {
        @for revid in ids("revisions") {
            a href=(info.index_url(&format!("diff=prev&oldid={revid}"))) { "r" (revid) } " "
        }
        @for log_id in ids("log_ids") {
            a href=(info.index_url(&format!("title=Special:Log&logid={log_id}"))) { "log " (log_id) } " "
        }
    }
}

/// Where a request stands on its own page.
pub enum Stage<'a> {
    /// The bot could not undo it: the requester confirms first.
    Confirm {
        /// The form's token.
        csrf: &'a str,
    },
    /// Waiting for the signature edit.
    Sign {
        /// The wiki's edit form, prefilled; `None` without a preload page.
        sign_url: Option<String>,
    },
    /// Acted on (or refused at the last check): the report.
    Done(&'a RenderedPage),
    /// Could not go on: why.
    Failed(&'a str),
}

/// A request's own page: its verdict, then what the requester does next, or
/// the report.
pub fn request_page(
    frame: &Frame<'_>,
    proposed: &RenderedPage,
    ticket: &Ticket,
    stage: Stage<'_>,
) -> Markup {
    let id = &ticket.request_id;
    layout(
        frame,
        html! {
            h1 { "Request " code { (id) } }
            @match stage {
                Stage::Done(report) => {
                    section.card aria-labelledby="report" {
                        h2 #report { "Report" }
                        p {
                            strong { (report.title) } " · "
                            span class={ "decision " (report.decision) } { (report.decision) }
                        }
                        (steps(frame.info, report))
                    }
                    details.card {
                        summary { "The checks, made again right before the bot acted" }
                        (verdict(frame.info, report))
                    }
                }
                Stage::Failed(why) => {
                    p.notice.error role="alert" { (why) }
                    p { a href="/" { "Ask again" } }
                }
                Stage::Confirm { csrf } => {
                    section.card { (verdict(frame.info, proposed)) }
                    form.card.notice.warn method="post" action={ "/request/" (id) "/confirm" } {
                        input type="hidden" name="csrf" value=(csrf);
                        p { strong { "The bot could not undo this." } " Confirm that you want it done anyway, as the CLI's " code { "--yes" } " does." }
                        label.check for="understood" {
                            input #understood type="checkbox" name="understood" value="yes" required;
                            span { "I understand the bot cannot undo this " (proposed.json["action"].as_str().unwrap_or_default()) "." }
                        }
                        button type="submit" { "Confirm" }
                    }
                }
                Stage::Sign { sign_url } => {
                    section.card { (verdict(frame.info, proposed)) }
                    section.card aria-labelledby="sign" {
                        h2 #sign { "Sign on the wiki" }
                        p {
                            "Save one new section on " a href=(frame.info.page_url(&ticket.page)) { (ticket.page) }
                            ", logged in to " (frame.info.wiki) " as yourself. It says you asked for this request, "
                            "and it is how the bot knows it was you. Do it before "
                            (crate::when::format_time(ticket.expires_at)) "."
                        }
                        @match sign_url {
                            Some(url) => {
                                a.button #sign-link href=(url) target="_blank" rel="noopener noreferrer" { "Sign on the wiki" }
                                " " span.muted { "(opens the wiki's edit form in a new tab, filled in: press “Save page” there)" }
                            }
                            None => {
                                p.notice.warn { "This wiki has no signature preload page, so sign with the command line: " code { "adminibot delete" } }
                            }
                        }
                        p #waiting role="status" data-poll={ "/request/" (id) "/state" } {
                            "Waiting for your signature… "
                            a href={ "/request/" (id) } { "Check again" }
                        }
                        details {
                            summary { "What the edit says" }
                            dl.facts {
                                dt { "Section heading" } dd.mono { (crate::signature::section_heading(&ticket.summary)) }
                                dt { "Text" } dd.mono { (ticket.text.trim()) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A report's steps, and its links: the signature, the deletion log entry.
fn steps(info: &Info, report: &RenderedPage) -> Markup {
    let done = &report.json["done"];
    html! {
        @if let Some(steps) = report.json["steps"].as_array() {
            ul.steps { @for step in steps { li { (step.as_str().unwrap_or_default()) } } }
        }
        p {
            @if let Some(revid) = done["attribution_revid"].as_u64() {
                a href=(info.index_url(&format!("diff=prev&oldid={revid}"))) { "your signature (r" (revid) ")" } " "
            }
            @if let Some(log_id) = done["log_id"].as_u64() {
                " · " a href=(info.index_url(&format!("title=Special:Log&logid={log_id}"))) { "the deletion log entry" }
            }
        }
    }
}

/// A page with only a message (an unknown request, a refused form, a busy
/// service).
pub fn message(frame: &Frame<'_>, heading: &str, text: &str) -> Markup {
    layout(
        frame,
        html! {
            h1 { (heading) }
            p.notice.error role="alert" { (text) }
            p { a href="/" { "Back to the request form" } }
        },
    )
}

/// A proposal refused outright (or a title the wiki cannot have): the
/// verdict and no way on.
pub fn refused(frame: &Frame<'_>, page: &RenderedPage) -> Markup {
    layout(
        frame,
        html! {
            h1 { "The bot will not do this" }
            section.card { (verdict(frame.info, page)) }
            @if let Some(steps) = page.json["steps"].as_array() {
                ul.steps { @for step in steps { li { (step.as_str().unwrap_or_default()) } } }
            }
            p { a href="/" { "Ask about another page" } }
        },
    )
}

/// Running, stopped or shut off; since when and by whom.
pub fn status(frame: &Frame<'_>, status: &Status) -> Markup {
    let state_text = match status.state.as_str() {
        "running" => "Running",
        "stopped" => "Stopped by the stop switch",
        _ => "Shut off by the shutoff page",
    };
    layout(
        frame,
        html! {
            h1 { "Status" }
            p { span class={ "state " (status.state) } { (state_text) } }
            @if let Some(why) = &status.why { p { (why) } }
            section.card aria-labelledby="switch" {
                h2 #switch { "Stop switch" }
                @match &status.stopped {
                    Some(stop) => p { "Pressed by " strong { (stop.by) } " at " (crate::when::format_time(stop.at)) ": " (stop.reason) },
                    None => p { "Off. Anyone with an account may press it: " code { "adminibot stop --reason …" } },
                }
            }
            section.card aria-labelledby="shutoff" {
                h2 #shutoff { "Shutoff page" }
                p { a href=(frame.info.page_url(&status.shutoff_page)) { (status.shutoff_page) } ": any editor may stop the bot by changing it; it runs only while an administrator's latest revision says the run word." }
                @match &status.shutoff {
                    Some(revision) => dl.facts {
                        dt { "Latest revision" } dd { a href=(frame.info.index_url(&format!("diff=prev&oldid={}", revision.id))) { "r" (revision.id) } }
                        dt { "Saved by" } dd { (revision.user) }
                        dt { "Since" } dd { (revision.timestamp.map(crate::when::format_time).unwrap_or_default()) }
                        dt { "Edit summary" } dd { (revision.comment.as_deref().unwrap_or("")) }
                        dt { "Says" } dd.mono { (revision.text.trim()) }
                    },
                    None => p { "The page does not exist, so the bot stays off." },
                }
            }
            (audit_facts(status))
        },
    )
}

/// The audit chain's head and when the store last matched the wiki.
fn audit_facts(status: &Status) -> Markup {
    html! {
        section.card aria-labelledby="chain" {
            h2 #chain { "Audit chain" }
            dl.facts {
                dt { "Verifies" } dd { @if status.audit["valid"] == true { "yes" } @else { "no: " (status.audit["reason"].as_str().unwrap_or_default()) } }
                dt { "Head" } dd.mono { (status.audit["head"].as_str().unwrap_or("")) }
                dt { "Last matched the wiki" } dd {
                    @match status.wiki_verified_at {
                        Some(at) => { (crate::when::format_time(at)) " (" code { "audit verify --wiki" } ")" },
                        None => "not yet since the service started",
                    }
                }
            }
        }
    }
}

/// The audit page: the chain, and where to read the rows.
pub fn audit(frame: &Frame<'_>, status: &Status) -> Markup {
    layout(
        frame,
        html! {
            h1 { "Audit log" }
            p.lead { "Every grant, revocation, stop and request is a row in a hash chain; the wiki keeps its own record of each, so a rewritten store fails " code { "audit verify --wiki" } "." }
            (audit_facts(status))
            p { "The rows: " a href="/actions" { "recent actions" } ", and as JSON " a href="/actions.json" { "/actions.json" } " (what " code { "adminibot audit --since 30d --format json" } " prints). The chain as JSON: " a href="/audit.json" { "/audit.json" } "." }
        },
    )
}

/// One request of the recent actions, from its audit rows.
pub struct ActionRow {
    /// The request id.
    pub request_id: String,
    /// When it ended (or was last heard of).
    pub at: String,
    /// The page.
    pub title: String,
    /// `delete`, `undelete`, `delete-redirect`.
    pub action: String,
    /// Who asked.
    pub requester: String,
    /// Under which tier.
    pub tier: String,
    /// How it ended.
    pub decision: String,
    /// The signature (attribution edit).
    pub attribution_revid: Option<u64>,
    /// The wiki's deletion (or undeletion) log entry.
    pub log_id: Option<u64>,
    /// The line on the bot's log page.
    pub log_line_revid: Option<u64>,
}

/// The bot's recent actions.
pub fn actions(frame: &Frame<'_>, rows: &[ActionRow]) -> Markup {
    let diff = |revid: u64| frame.info.index_url(&format!("diff=prev&oldid={revid}"));
    layout(
        frame,
        html! {
            h1 { "Recent actions" }
            p.lead { "The last 30 days, newest first; as JSON: " a href="/actions.json" { "/actions.json" } "." }
            @if rows.is_empty() {
                p.card { "Nothing yet." }
            } @else {
                table.stack {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Page" } th scope="col" { "Requester" } th scope="col" { "Outcome" } th scope="col" { "Request" } th scope="col" { "Links" } } }
                    tbody {
                        @for row in rows {
                            tr {
                                td data-label="When" { (row.at) }
                                td data-label="Page" { (row.action) " " a href=(frame.info.page_url(&row.title)) { (row.title) } }
                                td data-label="Requester" { (row.requester) " (" (row.tier) ")" }
                                td data-label="Outcome" { span class={ "decision " (row.decision) } { (row.decision) } }
                                td data-label="Request" { code.nowrap { (row.request_id) } }
                                td data-label="Links" {
                                    @if let Some(revid) = row.attribution_revid { a href=(diff(revid)) { "signature" } br; }
                                    @if let Some(log_id) = row.log_id { a href=(frame.info.index_url(&format!("title=Special:Log&logid={log_id}"))) { "deletion log" } br; }
                                    @if let Some(revid) = row.log_line_revid { a href=(diff(revid)) { "bot's log line" } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Grants in force.
pub fn grants(frame: &Frame<'_>, grants: &[Value]) -> Markup {
    layout(
        frame,
        html! {
            h1 { "Grants in force" }
            p.lead { "Who may ask the bot for what, granted by whom; as JSON: " a href="/grants.json" { "/grants.json" } " (what " code { "adminibot list --all --format json" } " prints)." }
            @if grants.is_empty() {
                p.card { "No grant is in force." }
            } @else {
                table.stack {
                    thead { tr { th scope="col" { "#" } th scope="col" { "Holder" } th scope="col" { "Tier" } th scope="col" { "Issued by" } th scope="col" { "Charter" } th scope="col" { "Ends" } th scope="col" { "State" } } }
                    tbody {
                        @for grant in grants {
                            tr {
                                td data-label="#" { (grant["id"]) }
                                td data-label="Holder" { (grant["user"]["name"].as_str().unwrap_or_default()) }
                                td data-label="Tier" { (grant["tier"].as_str().unwrap_or_default()) }
                                td data-label="Issued by" {
                                    (grant["issuer"]["name"].as_str().unwrap_or_default())
                                    @if let Some(revid) = grant["signature"]["revid"].as_u64() {
                                        " (" a href=(frame.info.index_url(&format!("diff=prev&oldid={revid}"))) { "signature" } ")"
                                    }
                                }
                                td data-label="Charter" {
                                    @match grant["charter"]["name"].as_str() {
                                        Some(name) => { (name) " " span.mono.muted { (grant["charter"]["sha256"].as_str().unwrap_or_default().chars().take(12).collect::<String>()) } },
                                        None => "none",
                                    }
                                }
                                td data-label="Ends" { (grant["ends_at"].as_str().unwrap_or("no end")) }
                                td data-label="State" { (grant["state"].as_str().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        },
    )
}
