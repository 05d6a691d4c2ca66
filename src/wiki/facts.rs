//! Reads everything the rules need about one title into [`PageFacts`].
//!
//! Request 1 is one composite `action=query` (revisions with content, info with
//! protection, templates, categories, deleted revisions, the title's log, the
//! pages that transclude, link or redirect to it, counted up to the policy's
//! limit, and the requester and the shutoff page's saver from `list=users`),
//! continued only for very long histories. Request 2 asks `list=users` for the
//! groups of every other editor, together with the history of the first page
//! the title ever redirected to; each further redirect target costs one more
//! request. So a page only the requester edited costs 1 request, any other
//! page with under 500 revisions 2 or 3.

use super::title::{invalid_reason, normalise, precheck, TitleError};
use super::users::block_reason;
use super::{parse_timestamp, Wiki, WikiError};
use crate::facts::{LogEvent, PageFacts, Protection, Revision, TargetHistory, Timestamp, UsedBy};
use crate::rules::redirects::redirect_target;
use crate::rules::Requester;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The page's facts, the requester as the wiki knows them, and the wiki's clock.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// What the rules will judge.
    pub facts: PageFacts,
    /// The requester, resolved to a user id.
    pub requester: Requester,
    /// The requester's block reason, if they are blocked on the wiki now.
    pub requester_blocked: Option<String>,
    /// The groups of every user looked up (editors, requester, `also_users`).
    pub user_groups: BTreeMap<String, Vec<String>>,
    /// The wiki's clock at the time of the read (`curtimestamp`).
    pub server_time: Timestamp,
}

/// What to read besides the page itself.
pub struct FetchOptions<'a> {
    /// User name of the person the request is for.
    pub requester: &'a str,
    /// Groups whose members count as bots.
    pub bot_groups: &'a [String],
    /// Redirect magic words, to find the pages the title ever redirected to.
    pub redirect_words: &'a [String],
    /// More users whose groups to read in the same request (the shutoff page's saver).
    pub also_users: &'a [String],
    /// How many pages using the page to read, of each kind (`Policy::in_use`).
    pub usage_limit: u32,
}

/// At most this many continuation rounds (a 500-revision page needs none).
const MAX_ROUNDS: usize = 200;

/// Titles (or user names) per multi-value parameter: MediaWiki's limit for clients
/// without `apihighlimits`, and so safe for every session.
const BATCH: usize = 50;

/// Reads the facts about `title` and resolves the requester: a page with under 500
/// revisions costs 2 requests (3 with a second redirect target).
pub async fn fetch(
    wiki: &Wiki,
    title: &str,
    options: &FetchOptions<'_>,
) -> Result<Fetched, WikiError> {
    let title = precheck(title)?;
    // Anonymous sessions cannot read deleted revisions; a bot account without
    // `deletedhistory` gets `permissiondenied`. Either way the rules see `None`.
    let mut with_deleted = wiki.account().is_some();
    let composite = |with_deleted: bool| {
        let mut params = page_params(title, with_deleted);
        params.extend(history_params(title, options.usage_limit));
        with_known_users(params, options)
    };
    let answer = match read_counting(wiki, &composite(with_deleted)).await {
        Err(WikiError::Api { code, .. }) if code == "permissiondenied" && with_deleted => {
            with_deleted = false;
            read_counting(wiki, &composite(false)).await
        }
        other => other,
    };
    let answer = match answer {
        // `letitle` refuses interwiki and invalid titles outright; `titles=` says why.
        Err(WikiError::Api { code, .. }) if code == "invalidtitle" => {
            return Err(explain_bad_title(wiki, title).await)
        }
        other => other?,
    };
    let page = page_of(&answer, title)?;
    let read = PageRead {
        facts: page_facts(page, &answer["query"], title, with_deleted)?,
        server_time: parse_timestamp(&answer["curtimestamp"])?,
        with_deleted,
        users: Some(answer["query"]["users"].clone()).filter(Value::is_array),
    };
    complete(wiki, vec![Ok(read)], options).await?.remove(0)
}

/// Reads the facts about many titles, sharing requests where the API allows:
/// info, protection, templates, categories and deleted revisions for 50 titles
/// at a time, and the groups of 50 users at a time. Each page's history and log
/// still need one request of their own (the API returns a full history for one
/// title at a time). A title that cannot be read gets its own error.
pub async fn fetch_many(
    wiki: &Wiki,
    titles: &[String],
    options: &FetchOptions<'_>,
) -> Result<Vec<Result<Fetched, WikiError>>, WikiError> {
    if titles.len() == 1 {
        return Ok(vec![fetch(wiki, &titles[0], options).await]);
    }
    let with_deleted = wiki.account().is_some();
    let mut reads: Vec<Result<PageRead, WikiError>> = Vec::with_capacity(titles.len());
    for chunk in titles.chunks(BATCH) {
        let valid: Vec<&str> = chunk.iter().filter_map(|t| precheck(t).ok()).collect();
        let shared = if valid.is_empty() {
            Value::Null
        } else {
            read(wiki, &page_params(&valid.join("|"), with_deleted)).await?
        };
        for title in chunk {
            let read = read_one(wiki, &shared, title, (with_deleted, options.usage_limit)).await;
            reads.push(read);
        }
    }
    complete(wiki, reads, options).await
}

/// One page of a batch: its shared part from `shared`, its history read now.
async fn read_one(
    wiki: &Wiki,
    shared: &Value,
    title: &str,
    (with_deleted, usage_limit): (bool, u32),
) -> Result<PageRead, WikiError> {
    let title = precheck(title)?;
    let mut page = page_of(shared, title)?.clone();
    let normalised = text(&page["title"]).unwrap_or(title).to_string();
    let history = read_counting(wiki, &history_params(&normalised, usage_limit)).await?;
    for key in ["revisions", "redirects"] {
        page[key] = history["query"]["pages"][0][key].clone();
    }
    Ok(PageRead {
        facts: page_facts(&page, &history["query"], title, with_deleted)?,
        server_time: parse_timestamp(&history["curtimestamp"])?,
        with_deleted,
        users: None,
    })
}

/// The page's own facts, before the users and redirect targets are known.
struct PageRead {
    facts: PageFacts,
    server_time: Timestamp,
    with_deleted: bool,
    /// The requester and `also_users` as the composite read listed them
    /// (`list=users`), when it did: enough when nobody else edited the page.
    users: Option<Value>,
}

/// What the rules read about the page itself; works for many titles at once.
fn page_params(titles: &str, with_deleted: bool) -> Vec<(String, String)> {
    let mut props = vec!["info", "templates", "categories"];
    let mut params = vec![
        param("titles", titles),
        param("inprop", "protection"),
        param("tlnamespace", "10"),
        param("tllimit", "max"),
        param("cllimit", "max"),
        param("curtimestamp", "1"),
    ];
    if with_deleted {
        // Only logged-in sessions read deleted revisions, and only they may write:
        // their CSRF token comes along, saving a request before the first write.
        params.push(param("meta", "tokens"));
        props.push("deletedrevisions");
        params.extend([
            param(
                "drvprop",
                "ids|timestamp|user|userid|comment|tags|size|sha1|content",
            ),
            param("drvslots", "main"),
            param("drvlimit", "max"),
            param("drvdir", "newer"),
        ]);
    }
    params.push(param("prop", props.join("|")));
    params
}

/// `params` that also list the requester and `also_users` with their groups
/// and blocks: for a page nobody else edited, the users request is saved.
fn with_known_users(
    mut params: Vec<(String, String)>,
    options: &FetchOptions<'_>,
) -> Vec<(String, String)> {
    let known: Vec<&str> = std::iter::once(options.requester)
        .chain(options.also_users.iter().map(String::as_str))
        .take(BATCH)
        .collect();
    if let Some((_, lists)) = params.iter_mut().find(|(key, _)| key == "list") {
        lists.push_str("|users");
    }
    params.extend([
        param("ususers", known.join("|")),
        param("usprop", "groups|blockinfo"),
    ]);
    params
}

/// A page's full history and log, and the first `usage_limit` pages that
/// transclude it, link to it or redirect to it: one title per request (API enum
/// mode). With [`page_params`] for the same title it makes the single
/// composite read.
fn history_params(title: &str, usage_limit: u32) -> Vec<(String, String)> {
    let limit = usage_limit.to_string();
    vec![
        param("titles", title),
        param("prop", "revisions"),
        param("prop", "redirects"),
        param("rdprop", "title"),
        param("rdlimit", &limit),
        param("eititle", title),
        param("eilimit", &limit),
        param("bltitle", title),
        param("bllimit", &limit),
        param("blfilterredir", "nonredirects"),
        param(
            "rvprop",
            "ids|timestamp|user|userid|comment|tags|size|sha1|content",
        ),
        param("rvslots", "main"),
        param("rvlimit", "max"),
        param("rvdir", "newer"),
        param("list", "logevents|embeddedin|backlinks"),
        param("letitle", title),
        param("leprop", "ids|title|type|user|timestamp|comment|details"),
        param("ledir", "newer"),
        param("lelimit", "max"),
        param("curtimestamp", "1"),
    ]
}

/// The wiki's redirects to the templates `names` (written without the
/// namespace): (redirect, target) pairs, in one `prop=redirects` query.
pub async fn template_redirects(
    wiki: &Wiki,
    names: &[String],
) -> Result<Vec<(String, String)>, WikiError> {
    let mut found = Vec::new();
    for chunk in names.chunks(BATCH) {
        found.extend(redirects_in(
            &read(wiki, &template_redirect_params(chunk)).await?,
        ));
    }
    Ok(found)
}

/// The query for the redirects to up to 50 templates (see [`redirects_in`]);
/// other queries may carry it along.
pub fn template_redirect_params(names: &[String]) -> Vec<(String, String)> {
    let titles: Vec<String> = names.iter().map(|n| format!("Template:{n}")).collect();
    vec![
        param("titles", titles.join("|")),
        param("prop", "redirects"),
        param("rdnamespace", "10"),
        param("rdprop", "title"),
        param("rdlimit", "max"),
    ]
}

/// The (redirect, target) template names in an answer to
/// [`template_redirect_params`].
pub fn redirects_in(answer: &Value) -> Vec<(String, String)> {
    let without_namespace = |title: &str| {
        title
            .split_once(':')
            .map_or(title, |(_, name)| name)
            .to_string()
    };
    let mut found = Vec::new();
    for page in answer["query"]["pages"].as_array().into_iter().flatten() {
        let Some(target) = text(&page["title"]) else {
            continue;
        };
        for redirect in page["redirects"].as_array().into_iter().flatten() {
            if let Some(redirect) = text(&redirect["title"]) {
                found.push((without_namespace(redirect), without_namespace(target)));
            }
        }
    }
    found
}

/// The continuations of the lists that are only counted up to a limit (the
/// pages using a page): never followed.
const COUNTED_ONLY: [&str; 3] = ["eicontinue", "blcontinue", "rdcontinue"];

/// [`read`] for a query whose usage lists are counted, not read to the end.
async fn read_counting(wiki: &Wiki, params: &[(String, String)]) -> Result<Value, WikiError> {
    read_with(wiki, params, &COUNTED_ONLY).await
}

/// One query, continued to the end, parameters merged when both lists name the
/// same key (`prop`, `titles`).
pub(crate) async fn read(wiki: &Wiki, params: &[(String, String)]) -> Result<Value, WikiError> {
    read_with(wiki, params, &[]).await
}

/// [`read`], except the continuations named in `unfollowed`.
async fn read_with(
    wiki: &Wiki,
    params: &[(String, String)],
    unfollowed: &[&str],
) -> Result<Value, WikiError> {
    let mut combined: Vec<(String, String)> = Vec::new();
    for (key, value) in params {
        match combined.iter_mut().find(|(k, _)| k == key) {
            Some((_, existing)) if key == "prop" => *existing = format!("{existing}|{value}"),
            Some((_, existing)) => *existing = value.clone(),
            None => combined.push((key.clone(), value.clone())),
        }
    }
    let mut merged = wiki.query(&combined).await?;
    wiki.remember_csrf(&merged);
    let mut next = merged["continue"].take();
    let mut rounds = 0;
    while let Some(mut cont) = next.as_object().cloned() {
        cont.retain(|key, _| !unfollowed.contains(&key.as_str()));
        if cont.keys().all(|key| key == "continue") {
            break;
        }
        rounds += 1;
        if rounds > MAX_ROUNDS {
            return Err(WikiError::Unexpected(format!(
                "the answer did not end after {MAX_ROUNDS} continuations"
            )));
        }
        let mut round = combined.clone();
        for (key, value) in cont {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            round.retain(|(k, _)| *k != key);
            round.push((key, value));
        }
        let mut more = wiki.query(&round).await?;
        next = more["continue"].take();
        merge(&mut merged, &more);
    }
    Ok(merged)
}

/// The page entry for `requested` in an answer, or why the title names no page
/// adminibot may act on.
fn page_of<'a>(answer: &'a Value, requested: &str) -> Result<&'a Value, WikiError> {
    let query = &answer["query"];
    let normalised = normalised_title(query, requested);
    let normalised = normalised.as_str();
    let is_requested = |entry: &Value| {
        let title = text(&entry["title"]);
        title == Some(requested) || title == Some(normalised)
    };
    if query["interwiki"]
        .as_array()
        .into_iter()
        .flatten()
        .any(is_requested)
    {
        return Err(TitleError::Interwiki(requested.to_string()).into());
    }
    let pages = query["pages"]
        .as_array()
        .ok_or_else(|| WikiError::Unexpected("no `pages` in the query answer".into()))?;
    let page = pages
        .iter()
        .find(|p| text(&p["title"]) == Some(normalised))
        .or_else(|| (pages.len() == 1).then(|| &pages[0]))
        .ok_or_else(|| {
            WikiError::Unexpected(format!("the answer has no page for `{requested}`"))
        })?;
    if page["invalid"].as_bool() == Some(true) {
        return Err(TitleError::Invalid {
            title: requested.to_string(),
            reason: invalid_reason(page),
        }
        .into());
    }
    if page["ns"].as_i64().is_some_and(|ns| ns < 0) {
        return Err(TitleError::Special(normalised.to_string()).into());
    }
    Ok(page)
}

/// The title the wiki made of `requested`, by its `normalized` entries. MediaWiki
/// may chain two: input that is not NFC first becomes NFC (`fromencoded`, with
/// `from` percent-encoded), then that string becomes the title (`cafe\u{301}_x` →
/// `café_x` → `Café x`). Nothing is normalised here; the wiki's answer is followed.
fn normalised_title(query: &Value, requested: &str) -> String {
    let entries: Vec<(String, &str)> = query["normalized"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let from = text(&n["from"])?;
            let from = if n["fromencoded"].as_bool() == Some(true) {
                crate::protocol::decode_exact(from)?
            } else {
                from.to_string()
            };
            Some((from, text(&n["to"])?))
        })
        .collect();
    let mut title = requested.to_string();
    // Each step must change the title, so a chain is at most as long as the list.
    for _ in 0..entries.len() {
        match entries
            .iter()
            .find(|(from, to)| *from == title && *to != title)
        {
            Some((_, to)) => title = (*to).to_string(),
            None => break,
        }
    }
    title
}

/// The plain facts of one page entry, and its log and users from `query`.
fn page_facts(
    page: &Value,
    query: &Value,
    requested: &str,
    with_deleted: bool,
) -> Result<PageFacts, WikiError> {
    let title = text(&page["title"]).unwrap_or(requested).to_string();
    // Other pages only, once each (a list read again by a continuation repeats).
    let others = |list: &Value| -> Vec<String> {
        let mut seen = BTreeSet::new();
        names(list, "title")
            .into_iter()
            .filter(|t| *t != title && seen.insert(t.clone()))
            .collect()
    };
    let used_by = UsedBy {
        transclusions: others(&query["embeddedin"]),
        links: others(&query["backlinks"]),
        redirects: others(&page["redirects"]),
    };
    let namespace = page["ns"]
        .as_i64()
        .ok_or_else(|| WikiError::Unexpected("page without `ns`".into()))?;
    let exists = page["missing"].as_bool() != Some(true);
    Ok(PageFacts {
        title,
        namespace,
        page_id: page["pageid"].as_u64().filter(|id| *id > 0),
        exists,
        is_redirect: page["redirect"].as_bool() == Some(true),
        latest_revid: page["lastrevid"].as_u64().filter(|_| exists),
        revisions: revisions(&page["revisions"])?,
        deleted_revisions: if with_deleted {
            Some(revisions(&page["deletedrevisions"])?)
        } else {
            None
        },
        protections: protections(&page["protection"])?,
        templates: strip_namespace(&page["templates"]),
        categories: names(&page["categories"], "title"),
        log_events: log_events(&query["logevents"])?,
        bot_editors: BTreeSet::new(),
        redirect_targets: Vec::new(),
        used_by,
    })
}

/// Every page this one ever redirected to, as written.
fn targets_of(facts: &PageFacts, words: &[String]) -> Vec<String> {
    facts
        .revisions
        .iter()
        .chain(facts.deleted_revisions.iter().flatten())
        .filter_map(|r| r.content.as_deref())
        .filter_map(|t| redirect_target(t, words))
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Adds the users (requester first, then every editor and `also_users` once) and
/// the redirect targets. One page: the users and its first target share a request.
/// Many pages: 50 users per request, each target its own.
async fn complete(
    wiki: &Wiki,
    reads: Vec<Result<PageRead, WikiError>>,
    options: &FetchOptions<'_>,
) -> Result<Vec<Result<Fetched, WikiError>>, WikiError> {
    let first_target = match reads.as_slice() {
        [Ok(read)] => targets_of(&read.facts, options.redirect_words)
            .into_iter()
            .next(),
        _ => None,
    };
    let (found, target_answer) = match listed_users(&reads, options, first_target.is_some()) {
        Some(listed) => (listed.as_array().cloned().unwrap_or_default(), None),
        None => look_up_users(wiki, &reads, options, first_target.as_deref()).await?,
    };
    let users = read_users(&Value::Array(found), options)?;
    let first = first_target.zip(target_answer);
    let mut fetched = Vec::with_capacity(reads.len());
    for read in reads {
        fetched.push(match read {
            Ok(read) => {
                Ok(with_users_and_targets(wiki, read, &users, first.as_ref(), options).await?)
            }
            Err(err) => Err(err),
        });
    }
    Ok(fetched)
}

/// The users the composite read of one page already listed, when they are all
/// the request needs: its editors are the requester and `also_users` (the usual
/// case, a page by its requester) and it has no redirect target to read.
fn listed_users<'r>(
    reads: &'r [Result<PageRead, WikiError>],
    options: &FetchOptions<'_>,
    has_target: bool,
) -> Option<&'r Value> {
    let [Ok(read)] = reads else { return None };
    if has_target {
        return None;
    }
    let known: Vec<&str> = std::iter::once(options.requester)
        .chain(options.also_users.iter().map(String::as_str))
        .collect();
    let all_known = read
        .facts
        .editor_names()
        .iter()
        .filter(|name| !name.contains('>'))
        .all(|name| known.iter().any(|k| crate::rules::same_user(k, name)));
    read.users.as_ref().filter(|_| all_known)
}

/// Asks the wiki for the users' groups and blocks, 50 per request (one page
/// reads only as many as fit one request), with one page's first redirect
/// target in the first request. Returns the users and that request's answer.
async fn look_up_users(
    wiki: &Wiki,
    reads: &[Result<PageRead, WikiError>],
    options: &FetchOptions<'_>,
    first_target: Option<&str>,
) -> Result<(Vec<Value>, Option<Value>), WikiError> {
    let others: BTreeSet<String> = reads
        .iter()
        .flatten()
        .flat_map(|r| r.facts.editor_names())
        .chain(options.also_users.iter().cloned())
        .filter(|u| !u.contains('>') && !crate::rules::same_user(u, options.requester))
        .collect();
    let users: Vec<String> = std::iter::once(options.requester.to_string())
        .chain(others)
        .collect();
    let with_deleted = reads.iter().flatten().all(|r| r.with_deleted);
    // One page reads only as many users as fit one request.
    let requests = if reads.len() == 1 { 1 } else { usize::MAX };
    let chunks = users.chunks(BATCH).take(requests);
    let mut found = Vec::new();
    let mut target_answer = None;
    for (i, chunk) in chunks.enumerate() {
        let mut params = vec![
            param("ususers", chunk.join("|")),
            param("usprop", "groups|blockinfo"),
            param("list", "users"),
        ];
        if let (0, Some(target)) = (i, first_target) {
            params = target_params(target, with_deleted, params);
        }
        let answer = wiki.query(&params).await?;
        found.extend(
            answer["query"]["users"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        if i == 0 && first_target.is_some() {
            target_answer = Some(answer);
        }
    }
    Ok((found, target_answer))
}

/// One page's facts with its bot editors and the history of every page it
/// ever redirected to (the first one's from `first`, the answer that already
/// holds it).
async fn with_users_and_targets(
    wiki: &Wiki,
    mut read: PageRead,
    users: &Users,
    first: Option<&(String, Value)>,
    options: &FetchOptions<'_>,
) -> Result<Fetched, WikiError> {
    read.facts.bot_editors = read
        .facts
        .editor_names()
        .into_iter()
        .filter(|name| users.bots.contains(name))
        .collect();
    for target in targets_of(&read.facts, options.redirect_words) {
        let history = match first {
            Some((first, answer)) if *first == target => {
                read_target(&target, answer, read.with_deleted)?
            }
            _ => {
                let answer = wiki
                    .query(&target_params(&target, read.with_deleted, Vec::new()))
                    .await?;
                read_target(&target, &answer, read.with_deleted)?
            }
        };
        read.facts.redirect_targets.push(history);
    }
    Ok(Fetched {
        facts: read.facts,
        requester: users.requester.clone(),
        requester_blocked: users.requester_blocked.clone(),
        user_groups: users.groups.clone(),
        server_time: read.server_time,
    })
}

/// Asks the wiki why `letitle` refused `title`.
async fn explain_bad_title(wiki: &Wiki, title: &str) -> WikiError {
    match normalise(wiki, title).await {
        Err(err) => err,
        Ok(_) => TitleError::Invalid {
            title: title.to_string(),
            reason: "the wiki refused it as a log title".to_string(),
        }
        .into(),
    }
}

fn param(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_string(), value.into())
}

/// Appends the arrays of a continuation answer to the first answer, page by title.
fn merge(into: &mut Value, more: &Value) {
    for more_page in more["query"]["pages"].as_array().into_iter().flatten() {
        let Some(pages) = into["query"]["pages"].as_array_mut() else {
            continue;
        };
        let Some(page) = pages.iter_mut().find(|p| p["title"] == more_page["title"]) else {
            continue;
        };
        for key in [
            "revisions",
            "deletedrevisions",
            "templates",
            "categories",
            "redirects",
        ] {
            let Some(items) = more_page[key].as_array() else {
                continue;
            };
            match page[key].as_array_mut() {
                Some(existing) => existing.extend(items.iter().cloned()),
                None => page[key] = Value::Array(items.clone()),
            }
        }
    }
    if let Some(events) = more["query"]["logevents"].as_array() {
        match into["query"]["logevents"].as_array_mut() {
            Some(existing) => existing.extend(events.iter().cloned()),
            None => into["query"]["logevents"] = Value::Array(events.clone()),
        }
    }
}

/// Adds to `params` what tells whether `target` existed when: its first live and
/// deleted revisions and its moves and deletions.
fn target_params(
    target: &str,
    with_deleted: bool,
    mut params: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut props = vec!["info", "revisions"];
    let lists = match params.iter().position(|(k, _)| k == "list") {
        Some(i) => format!("{}|logevents", params.remove(i).1),
        None => "logevents".to_string(),
    };
    params.push(param("list", lists));
    params.extend([
        param("titles", target),
        param("rvprop", "timestamp"),
        param("rvlimit", "1"),
        param("rvdir", "newer"),
        param("letitle", target),
        param("leprop", "ids|type|timestamp"),
        param("lelimit", "max"),
    ]);
    if with_deleted {
        props.push("deletedrevisions");
        params.extend([
            param("drvprop", "timestamp"),
            param("drvlimit", "1"),
            param("drvdir", "newer"),
        ]);
    }
    params.push(param("prop", props.join("|")));
    params
}

fn read_target(
    written: &str,
    answer: &Value,
    with_deleted: bool,
) -> Result<TargetHistory, WikiError> {
    let page = &answer["query"]["pages"][0];
    let first = |key: &str| -> Result<Option<Timestamp>, WikiError> {
        match page[key].get(0) {
            Some(rev) => parse_timestamp(&rev["timestamp"]).map(Some),
            None => Ok(None),
        }
    };
    let mut departures = Vec::new();
    for event in answer["query"]["logevents"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let kind = text(&event["type"]).unwrap_or("");
        let action = text(&event["action"]).unwrap_or("");
        if kind == "move" || (kind == "delete" && action == "delete") {
            departures.push(parse_timestamp(&event["timestamp"])?);
        }
    }
    Ok(TargetHistory {
        written: written.to_string(),
        title: text(&page["title"]).unwrap_or(written).to_string(),
        first_revision: first("revisions")?,
        first_deleted_revision: first("deletedrevisions")?,
        deleted_readable: with_deleted,
        departures,
    })
}

/// The requester (found by name: the wiki lists names that are no account,
/// such as an IP editor's, before the accounts), their block, and which of the
/// users are bots now.
struct Users {
    requester: Requester,
    requester_blocked: Option<String>,
    bots: BTreeSet<String>,
    groups: BTreeMap<String, Vec<String>>,
}

fn read_users(users: &Value, options: &FetchOptions) -> Result<Users, WikiError> {
    let list = users
        .as_array()
        .ok_or_else(|| WikiError::Unexpected("no `users` in the user lookup".into()))?;
    let first = list
        .iter()
        .find(|u| {
            text(&u["name"]).is_some_and(|name| crate::rules::same_user(name, options.requester))
        })
        .filter(|u| u["missing"].is_null() && u["invalid"].is_null())
        .ok_or_else(|| WikiError::UnknownUser(options.requester.to_string()))?;
    let requester = Requester {
        name: text(&first["name"])
            .unwrap_or(options.requester)
            .to_string(),
        user_id: first["userid"]
            .as_u64()
            .ok_or_else(|| WikiError::UnknownUser(options.requester.to_string()))?,
    };
    let bots = list
        .iter()
        .filter(|user| {
            let mut groups = user["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            groups.any(|g| options.bot_groups.iter().any(|b| b == g))
        })
        .filter_map(|user| text(&user["name"]).map(str::to_string))
        .collect();
    let groups = list
        .iter()
        .filter_map(|user| {
            let names = user["groups"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            Some((text(&user["name"])?.to_string(), names))
        })
        .collect();
    Ok(Users {
        requester,
        requester_blocked: block_reason(first),
        bots,
        groups,
    })
}

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

fn revisions(list: &Value) -> Result<Vec<Revision>, WikiError> {
    let mut out = Vec::new();
    for rev in list.as_array().into_iter().flatten() {
        let hidden = |flag: &str| rev[flag].as_bool() == Some(true);
        let main = &rev["slots"]["main"];
        out.push(Revision {
            id: rev["revid"]
                .as_u64()
                .ok_or_else(|| WikiError::Unexpected("revision without `revid`".into()))?,
            timestamp: parse_timestamp(&rev["timestamp"])?,
            user: if hidden("userhidden") {
                None
            } else {
                text(&rev["user"]).map(str::to_string)
            },
            user_id: rev["userid"].as_u64().unwrap_or(0),
            comment: if hidden("commenthidden") {
                None
            } else {
                Some(text(&rev["comment"]).unwrap_or("").to_string())
            },
            tags: rev["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            size: rev["size"].as_u64().unwrap_or(0),
            sha1: if hidden("sha1hidden") {
                None
            } else {
                text(&rev["sha1"]).map(str::to_string)
            },
            content: if main["texthidden"].as_bool() == Some(true) || hidden("texthidden") {
                None
            } else {
                text(&main["content"]).map(str::to_string)
            },
        });
    }
    out.sort_by_key(|r| (r.timestamp, r.id));
    Ok(out)
}

fn protections(list: &Value) -> Result<Vec<Protection>, WikiError> {
    let mut out = Vec::new();
    for p in list.as_array().into_iter().flatten() {
        let expiry = match text(&p["expiry"]) {
            Some("infinity") | Some("infinite") | None => None,
            Some(_) => Some(parse_timestamp(&p["expiry"])?),
        };
        out.push(Protection {
            kind: text(&p["type"]).unwrap_or("").to_string(),
            level: text(&p["level"]).unwrap_or("").to_string(),
            expiry,
            source: text(&p["source"]).map(str::to_string),
        });
    }
    Ok(out)
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| text(&item[key]).map(str::to_string))
        .collect()
}

fn strip_namespace(list: &Value) -> Vec<String> {
    names(list, "title")
        .into_iter()
        .map(|t| {
            t.split_once(':')
                .map_or(t.clone(), |(_, rest)| rest.to_string())
        })
        .collect()
}

fn log_events(list: &Value) -> Result<Vec<LogEvent>, WikiError> {
    let mut out = Vec::new();
    for event in list.as_array().into_iter().flatten() {
        out.push(LogEvent {
            id: event["logid"].as_u64().unwrap_or(0),
            kind: text(&event["type"]).unwrap_or("").to_string(),
            action: text(&event["action"]).unwrap_or("").to_string(),
            user: if event["userhidden"].as_bool() == Some(true) {
                None
            } else {
                text(&event["user"]).map(str::to_string)
            },
            timestamp: parse_timestamp(&event["timestamp"])?,
            comment: if event["commenthidden"].as_bool() == Some(true) {
                None
            } else {
                Some(text(&event["comment"]).unwrap_or("").to_string())
            },
            move_target: text(&event["params"]["target_title"]).map(str::to_string),
        });
    }
    out.sort_by_key(|e| (e.timestamp, e.id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// T-2: input that is not NFC comes back percent-encoded, and MediaWiki chains
    /// its NFC step and its title step; a batch must still find the page.
    #[test]
    fn a_batch_answer_maps_nfd_input_through_both_normalisation_steps() {
        let answer = json!({"query": {
            "normalized": [
                {"fromencoded": true, "from": "cafe%CC%81_test", "to": "caf\u{e9}_test"},
                {"fromencoded": false, "from": "caf\u{e9}_test", "to": "Caf\u{e9} test"},
                {"fromencoded": false, "from": "alice_draft", "to": "Alice draft"}
            ],
            "pages": [
                {"ns": 0, "title": "Caf\u{e9} test", "missing": true},
                {"pageid": 7, "ns": 0, "title": "Alice draft"}
            ]
        }});
        let page = page_of(&answer, "cafe\u{301}_test").unwrap();
        assert_eq!(page["title"], "Caf\u{e9} test");
        let page = page_of(&answer, "alice_draft").unwrap();
        assert_eq!(page["pageid"], 7);
        let page = page_of(&answer, "Alice draft").unwrap();
        assert_eq!(page["pageid"], 7);
    }
}
