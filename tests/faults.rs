//! Faults a real wiki will not produce on demand, injected by a proxy in front of
//! the real test wiki (notes/reliability.md §8). After each, the wiki's own state
//! is asserted, not only the exit code.

mod support;

use serde_json::json;
use std::process::Output;
use support::proxy::{Effect, FaultProxy, Rule};
use support::{
    account, adminibot_command, adminibot_command_as, first_result, grant_self, AdminibotConfig,
    TestWiki,
};

/// A wiki, a proxy in front of it, and a config (with a store) that goes through
/// the proxy; Alice holds `self`.
fn setup() -> (TestWiki, FaultProxy, AdminibotConfig) {
    let wiki = TestWiki::start();
    let proxy = FaultProxy::start(wiki.port);
    let config = wiki
        .adminibot_config(true)
        .with_store()
        .with_api(&proxy.api);
    grant_self(&config, "Alice");
    (wiki, proxy, config)
}

/// Runs adminibot as `who` (no waiting between read retries).
fn run(config: &AdminibotConfig, who: &str, args: &[&str]) -> Output {
    adminibot_command_as(&config.path, who)
        .args(args)
        .env("ADMINIBOT_TEST_NO_SLEEP", "1")
        .output()
        .unwrap()
}

/// Alice deletes `TITLE` with `--format json`; asserts the exit code and returns
/// the result.
fn delete_expecting(config: &AdminibotConfig, code: i32) -> serde_json::Value {
    let out = run(config, "Alice", &["delete", TITLE, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    first_result(&out)
}

/// A parameter only the read of a page's facts has (its templates' namespace);
/// other reads carry `curtimestamp` too.
const FACT_READ: &str = "tlnamespace";

/// Applies `effect` to every read of page facts.
fn on_every_fact_read(proxy: &FaultProxy, effect: Effect) {
    proxy.rule(Rule {
        method: Some("GET"),
        action: Some("query"),
        contains: Some(FACT_READ),
        nth: 0,
        effect,
    });
}

/// How many reads of page facts the proxy saw.
fn fact_reads(proxy: &FaultProxy) -> usize {
    proxy
        .requests()
        .iter()
        .filter(|r| r.target.contains(FACT_READ))
        .count()
}

/// Alice deletes `TITLE` with no waits between tries, 300 ms per request and,
/// if given, a total deadline per call (ms).
fn delete_with_short_deadlines(config: &AdminibotConfig, total_ms: Option<&str>) -> Output {
    let mut command = adminibot_command_as(&config.path, "Alice");
    command
        .args(["delete", TITLE])
        .env("ADMINIBOT_TEST_NO_SLEEP", "1")
        .env("ADMINIBOT_TEST_HTTP_TIMEOUT_MS", "300");
    if let Some(total_ms) = total_ms {
        command.env("ADMINIBOT_TEST_TOTAL_DEADLINE_MS", total_ms);
    }
    command.output().unwrap()
}

/// Alice checks `TITLE`: exit 0 and `allowed` (`context` names the case).
fn check_is_allowed(config: &AdminibotConfig, context: &str) {
    let out = run(
        config,
        "Alice",
        &["check", TITLE, "--as", "Alice", "--format", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{context}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(first_result(&out)["decision"], "allowed", "{context}");
}

/// Attribution edits and deletions the proxy let through.
fn writes_sent(proxy: &FaultProxy) -> usize {
    proxy.count("POST", "edit") + proxy.count("POST", "delete")
}

/// Attribution edits adminibot itself sends through the proxy: one process
/// saves the requester's edit with their login; through the service, the
/// requester's client saves it straight to the wiki (the faults sit between the
/// bot and the wiki), so the bot's first edit is its log line.
fn attribution_edits(config: &AdminibotConfig) -> usize {
    usize::from(config.service.is_none())
}

/// No write was sent and the page is still there.
fn assert_nothing_written(wiki: &TestWiki, proxy: &FaultProxy) {
    assert_eq!(writes_sent(proxy), 0);
    assert!(wiki.exists(TITLE));
}

/// The run ended with `code` and said `needle` on stderr.
fn assert_exit_saying(out: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

fn deletions_of(wiki: &TestWiki, title: &str) -> usize {
    let log = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "delete"),
        ("letitle", title),
    ]);
    log["query"]["logevents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "delete")
        .count()
}

fn api_error(code: &str, text: &str) -> String {
    json!({ "errors": [{ "code": code, "text": text }], "docref": "injected" }).to_string()
}

const TITLE: &str = "Draft:Alice sandbox";

/// E-1: `maxlag` on a read, then success: the read is repeated, the answer used.
#[test]
fn maxlag_on_a_read_is_waited_out() {
    let (_wiki, proxy, config) = setup();
    proxy.rule(Rule {
        method: Some("GET"),
        action: Some("query"),
        contains: Some(FACT_READ),
        nth: 1,
        effect: Effect::Respond {
            status: 200,
            headers: vec![
                ("Retry-After".into(), "0".into()),
                ("MediaWiki-API-Error".into(), "maxlag".into()),
            ],
            body: api_error("maxlag", "Waiting for fake-replica: 7 seconds lagged."),
        },
    });
    check_is_allowed(&config, "after maxlag");
    let facts_reads = fact_reads(&proxy);
    assert!(facts_reads >= 2, "the lagged read was repeated");
}

/// N-5: a 503 page on a read is retried; if it persists, exit 3 and nothing changed.
#[test]
fn server_errors_on_reads_are_retried_then_reported() {
    let (wiki, proxy, config) = setup();
    let unavailable = Effect::Respond {
        status: 503,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: "<html><body>Service Unavailable</body></html>".into(),
    };
    proxy.rule(Rule {
        method: Some("GET"),
        action: Some("query"),
        contains: Some(FACT_READ),
        nth: 1,
        effect: unavailable.clone(),
    });
    let out = run(&config, "Alice", &["delete", TITLE, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "one 503 is retried: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!wiki.exists(TITLE));

    let (wiki, proxy, config) = setup();
    on_every_fact_read(&proxy, unavailable);
    let out = run(&config, "Alice", &["delete", TITLE]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was changed"));
    assert!(wiki.exists(TITLE));
    assert_eq!(writes_sent(&proxy), 0, "no write was sent");
}

/// N-3: the wiki deletes, the answer is lost: outcome unknown (exit 5), the page
/// is blocked, `reconcile` reads the log and records it; nothing is done twice.
#[test]
fn a_lost_answer_to_the_delete_is_reconciled_not_resent() {
    let (wiki, proxy, config) = setup();
    proxy.rule(Rule::post("delete", Effect::ForwardThenDrop));
    let result = delete_expecting(&config, 5);
    let report = result;
    assert_eq!(report["decision"], "unknown", "{report:#}");
    assert!(report["steps"].to_string().contains("adminibot reconcile"));
    assert_eq!(
        proxy.count("POST", "delete"),
        1,
        "the delete is never resent"
    );
    assert!(!wiki.exists(TITLE), "the wiki did delete it");

    let blocked = run(&config, "Alice", &["undelete", TITLE]);
    let said = support::said(&blocked);
    assert_eq!(blocked.status.code(), Some(1), "{said}");
    assert!(said.contains("never finished"), "{said}");
    let settled = run(&config, "Alice", &["reconcile"]);
    assert_eq!(
        settled.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&settled.stderr)
    );
    assert!(String::from_utf8_lossy(&settled.stdout).contains("the wiki shows delete (log"));
    assert_eq!(deletions_of(&wiki, TITLE), 1);
    assert_eq!(
        run(&config, "Alice", &["undelete", TITLE]).status.code(),
        Some(0)
    );
    assert!(wiki.exists(TITLE));
}

/// N-4: the delete never reaches the wiki: outcome unknown until `reconcile` finds
/// nothing and closes the request; then a new request deletes exactly once.
#[test]
fn a_lost_delete_request_is_closed_by_reconcile_and_can_be_asked_again() {
    let (wiki, proxy, config) = setup();
    proxy.rule(Rule::post("delete", Effect::Drop));
    let out = run(&config, "Alice", &["delete", TITLE]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wiki.exists(TITLE));
    let settled = run(&config, "Alice", &["reconcile"]);
    assert!(
        String::from_utf8_lossy(&settled.stdout).contains("closed as abandoned"),
        "{}",
        String::from_utf8_lossy(&settled.stdout)
    );
    assert_eq!(
        run(&config, "Alice", &["delete", TITLE]).status.code(),
        Some(0)
    );
    assert!(!wiki.exists(TITLE));
    assert_eq!(deletions_of(&wiki, TITLE), 1);
}

/// E-7: `badtoken` once on a write: a fresh token, one retry, success.
#[test]
fn a_bad_token_is_refetched_once() {
    let (wiki, proxy, config) = setup();
    proxy.rule(Rule::post(
        "edit",
        Effect::Respond {
            status: 200,
            headers: vec![],
            body: api_error("badtoken", "Invalid CSRF token."),
        },
    ));
    delete_expecting(&config, 0);
    assert_eq!(
        proxy.count("POST", "edit"),
        attribution_edits(&config) + 2,
        "the first edit twice (one refused), then any other"
    );
    assert!(!wiki.exists(TITLE));
}

/// N-8: tokens and passwords travel only in POST bodies to the configured host,
/// never in a URL.
#[test]
fn secrets_never_travel_in_urls() {
    let (_wiki, proxy, config) = setup();
    assert_eq!(
        run(&config, "Alice", &["delete", TITLE]).status.code(),
        Some(0)
    );
    let requests = proxy.requests();
    assert!(
        requests.iter().any(|r| r.body.contains("lgpassword=")),
        "logins went through the proxy"
    );
    for request in &requests {
        for needle in [
            "token=",
            "lgpassword",
            &account("Alice").botpassword_secret,
            &account("AdminBot").botpassword_secret,
        ] {
            assert!(
                !request.target.contains(needle),
                "`{needle}` in a URL: {}",
                request.target
            );
        }
        if request.method == "GET" {
            assert!(request.body.is_empty());
        }
    }
}

/// E-2: `maxlag` that does not end: after a bounded number of tries, exit 3 and
/// nothing changed.
#[test]
fn lasting_maxlag_gives_up_and_changes_nothing() {
    let (wiki, proxy, config) = setup();
    on_every_fact_read(
        &proxy,
        Effect::Respond {
            status: 200,
            headers: vec![("Retry-After".into(), "0".into())],
            body: api_error("maxlag", "Waiting for fake-replica: 7 seconds lagged."),
        },
    );
    let out = run(&config, "Alice", &["delete", TITLE]);
    assert_exit_saying(&out, 3, "busy");
    let tries = fact_reads(&proxy);
    assert!((2..=10).contains(&tries), "{tries} tries");
    assert!(wiki.exists(TITLE));
}

/// E-4: the wiki in read-only mode (`$wgReadOnly`, set on the real wiki): the
/// attribution edit is refused, so nothing is deleted; exit 3.
#[test]
fn a_read_only_wiki_changes_nothing() {
    let (wiki, _proxy, config) = setup();
    let before = wiki.sql("SELECT max(rev_id) || '/' || max(log_id) FROM revision, logging");
    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgReadOnly = 'database maintenance';\n",
    )
    .unwrap();
    let out = run(&config, "Alice", &["delete", TITLE, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Depending on where the wiki first refuses (the login or the attribution
    // edit), the whole run or this page fails; either way nothing changed.
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("read-only") || printed.contains("readonly"),
        "{printed}"
    );
    assert!(printed.contains("nothing was changed"), "{printed}");
    std::fs::remove_file(wiki.dir.join("Extra.php")).unwrap();
    assert!(wiki.exists(TITLE));
    assert_eq!(
        wiki.sql("SELECT max(rev_id) || '/' || max(log_id) FROM revision, logging"),
        before
    );
}

/// E-12: the attribution edit is refused by the wiki's spam filter (`$wgSpamRegex`):
/// the action must never be unattributed, so nothing is deleted.
#[test]
fn a_refused_attribution_edit_stops_the_deletion() {
    let (wiki, proxy, config) = setup();
    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgSpamRegex = ['/asked adminibot/'];\n",
    )
    .unwrap();
    let result = delete_expecting(&config, 3);
    assert_eq!(result["decision"], "failed");
    assert_eq!(proxy.count("POST", "delete"), 0, "no delete was sent");
    assert!(wiki.exists(TITLE));
}

/// A-9: the whole pipeline at trace level: no password, CSRF token or session
/// cookie appears in what adminibot prints (the proxy saw the real values).
#[test]
fn trace_output_holds_no_secret() {
    let (_wiki, proxy, config) = setup();
    let alice = account("Alice");
    let out = adminibot_command_as(&config.path, "Alice")
        .args(["delete", TITLE, "-vv"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("TRACE") || printed.contains("DEBUG"),
        "trace output was captured"
    );
    let mut secrets: Vec<String> = vec![
        alice.botpassword_secret.clone(),
        account("AdminBot").botpassword_secret,
    ];
    for request in proxy.requests() {
        for pair in request.body.split('&') {
            if let Some(value) = pair
                .strip_prefix("token=")
                .or_else(|| pair.strip_prefix("lgtoken="))
            {
                secrets.push(value.replace("%2B", "+").replace("%5C", "\\"));
            }
        }
        for line in request.headers.lines() {
            if let Some(cookies) = line
                .strip_prefix("cookie: ")
                .or_else(|| line.strip_prefix("Cookie: "))
            {
                secrets.extend(
                    cookies
                        .split("; ")
                        .filter_map(|c| c.split_once('='))
                        .map(|(_, v)| v.to_string()),
                );
            }
        }
    }
    assert!(
        secrets.len() > 4,
        "tokens and cookies were seen: {}",
        secrets.len()
    );
    for secret in secrets.iter().filter(|s| s.len() >= 16) {
        assert!(
            !printed.contains(secret.as_str()),
            "a secret was printed: {secret}"
        );
    }
}

/// N-2: a wiki that accepts the connection and never answers: every request has
/// a deadline, reads are retried, and then adminibot gives up with exit 3.
#[test]
fn a_silent_wiki_times_out_and_changes_nothing() {
    let (wiki, proxy, config) = setup();
    on_every_fact_read(&proxy, Effect::Hang(std::time::Duration::from_secs(3)));
    let started = std::time::Instant::now();
    let out = delete_with_short_deadlines(&config, None);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was changed"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the deadline held: {:?}",
        started.elapsed()
    );
    let tries = fact_reads(&proxy);
    assert_eq!(tries, 3, "one read and two retries");
    assert!(wiki.exists(TITLE));
}

/// E-13: a database error on the wiki's side: a read is retried; on a write the
/// outcome is unknown (the error may have come after the commit), so it is
/// reconciled, never resent.
#[test]
fn internal_errors_retry_reads_and_make_writes_unknown() {
    let (wiki, proxy, config) = setup();
    let db_error = Effect::Respond {
        status: 200,
        headers: vec![],
        body: api_error(
            "internal_api_error_DBQueryError",
            "[abc] Database query error.",
        ),
    };
    proxy.rule(Rule {
        method: Some("GET"),
        action: Some("query"),
        contains: Some(FACT_READ),
        nth: 1,
        effect: db_error.clone(),
    });
    proxy.rule(Rule::post("delete", db_error));
    let result = delete_expecting(&config, 5);
    assert_eq!(result["decision"], "unknown");
    assert_eq!(proxy.count("POST", "delete"), 1);
    assert!(
        wiki.exists(TITLE),
        "the proxy answered for the wiki: nothing was deleted"
    );
    let settled = run(&config, "Alice", &["reconcile"]);
    assert!(String::from_utf8_lossy(&settled.stdout).contains("closed as abandoned"));
}

/// E-14: an error code adminibot does not know: nothing guessed, the code and text
/// reported and kept in the audit log; what was written is said (exit 4).
#[test]
fn an_unknown_error_code_is_reported_verbatim() {
    let (wiki, proxy, config) = setup();
    proxy.rule(Rule::post(
        "delete",
        Effect::Respond {
            status: 200,
            headers: vec![],
            body: api_error("weird-new-code", "Something unexpected happened."),
        },
    ));
    let result = delete_expecting(&config, 4);
    let report = result;
    assert_eq!(report["decision"], "partial");
    let steps = report["steps"].to_string();
    assert!(
        steps.contains("weird-new-code")
            && steps.contains("Something unexpected happened")
            && steps.contains("attribution edit r"),
        "{steps}"
    );
    assert!(wiki.exists(TITLE));
    let audit = adminibot_command(&config.path)
        .args(["audit", "--format", "json"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&audit.stdout).contains("weird-new-code"));
}

/// N-7: the API answers with a redirect to another host: not followed, so no
/// request, cookie or token reaches that host; exit 3, nothing changed.
#[test]
fn redirects_to_another_host_are_not_followed() {
    let (wiki, proxy, config) = setup();
    let elsewhere = FaultProxy::start(wiki.port);
    proxy.rule(Rule {
        method: None,
        action: None,
        contains: Some(FACT_READ),
        nth: 0,
        effect: Effect::Respond {
            status: 302,
            headers: vec![("Location".into(), elsewhere.api.clone())],
            body: String::new(),
        },
    });
    let out = run(&config, "Alice", &["delete", TITLE]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        elsewhere.requests().is_empty(),
        "the other host got {:?}",
        elsewhere.requests()
    );
    assert!(wiki.exists(TITLE));
}

/// E-3: `maxlag` on a write: the wiki did nothing, so the write is sent again.
#[test]
fn maxlag_on_a_write_is_retried() {
    let (wiki, proxy, config) = setup();
    proxy.rule(Rule::post(
        "edit",
        Effect::Respond {
            status: 200,
            headers: vec![("Retry-After".into(), "5".into())],
            body: api_error("maxlag", "Waiting for fake-replica: 7 seconds lagged."),
        },
    ));
    let out = run(&config, "Alice", &["delete", TITLE]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!wiki.exists(TITLE));
    assert_eq!(
        proxy.count("POST", "edit"),
        attribution_edits(&config) + 2,
        "the first edit twice, then any other"
    );
}

/// E-6: HTTP 429 on a read, whatever its `Retry-After` says: the wait is clamped
/// or defaulted (`when::tests::busy_waits_follow_retry_after_but_are_clamped`;
/// here removed by the test switch), the read repeated once, the check completes.
#[test]
fn too_many_requests_is_waited_out() {
    let (_wiki, proxy, config) = setup();
    // Seconds far too long (clamped to 30 s), an HTTP date, and garbage (the
    // default back-off: only seconds are read, as MediaWiki sends them).
    for retry_after in ["1000000000", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"] {
        let reads = || fact_reads(&proxy);
        let before = reads();
        proxy.rule(Rule {
            method: Some("GET"),
            action: Some("query"),
            contains: Some(FACT_READ),
            nth: 1,
            effect: Effect::Respond {
                status: 429,
                headers: vec![("Retry-After".into(), retry_after.into())],
                body: "Too many requests".into(),
            },
        });
        check_is_allowed(&config, retry_after);
        assert_eq!(
            reads() - before,
            2,
            "{retry_after}: refused once, then read"
        );
    }
}

/// E-5: the wiki's own rate limit (`$wgRateLimits`, on the real wiki) refuses the
/// attribution edit: tried again within the budget, then given up; nothing changed.
#[test]
fn a_rate_limited_requester_changes_nothing() {
    let (wiki, proxy, config) = setup();
    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgRateLimits['edit']['user'] = [ 0, 60 ];\n",
    )
    .unwrap();
    let out = run(&config, "Alice", &["delete", TITLE, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("ratelimited"), "{printed}");
    // Through the service the requester's tries go straight to the wiki.
    assert_eq!(
        proxy.count("POST", "edit"),
        attribution_edits(&config) * 3,
        "one try and two retries"
    );
    assert_eq!(proxy.count("POST", "delete"), 0);
    assert!(wiki.exists(TITLE));
}

/// X-2: an edit lands after the re-check, while the delete is on its way: the
/// read-back finds the extra revision, records an incident, says how to restore
/// it, asks an administrator on the noticeboard, and exits 4.
#[test]
fn an_edit_racing_the_delete_is_an_incident_with_its_restore_command() {
    let (wiki, proxy, config) = setup();
    let (child, release) = delete_held_at_the_proxy(&proxy, &config);
    let go = release.path().join("go");
    // Bob edits straight on the wiki, while the delete is held.
    let saved = wiki.write_as(
        "Bob",
        &[
            ("action", "edit"),
            ("title", TITLE),
            ("appendtext", " Bob."),
        ],
    );
    assert_eq!(saved["edit"]["result"], "Success", "{saved}");
    std::fs::write(&go, "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = first_result(&out);
    assert_eq!(report["decision"], "partial", "{report:#}");
    let steps = report["steps"].to_string();
    let bob_revision = saved["edit"]["newrevid"].as_u64().unwrap();
    assert!(
        steps.contains("INCIDENT") && steps.contains(&bob_revision.to_string()),
        "{steps}"
    );
    assert!(
        steps.contains("action=undelete&title=Draft:Alice sandbox&timestamps="),
        "{steps}"
    );
    let board = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", "Project:Administrators' noticeboard"),
        ("rvprop", "content"),
        ("rvslots", "main"),
    ]);
    let text = board["query"]["pages"][0]["revisions"][0]["slots"]["main"]["content"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("Incident: [[:Draft:Alice sandbox]]"),
        "{text}"
    );
}

/// I-10: the machine's clock is an hour off the wiki's: refuse before writing,
/// exit 2 (windows, grants and the audit log would disagree with the wiki).
#[test]
fn a_skewed_clock_is_refused_before_any_write() {
    let (wiki, proxy, config) = setup();
    let out = adminibot_command_as(&config.path, "Alice")
        .args(["delete", TITLE])
        .env("ADMINIBOT_TEST_CLOCK_SKEW_SECS", "3600")
        .output()
        .unwrap();
    assert_exit_saying(&out, 2, "s off the wiki's");
    assert_nothing_written(&wiki, &proxy);
}

/// N-6: a truncated, non-JSON answer: a read is retried; a write's outcome is
/// unknown (the wiki may have done it), so it is reconciled, never resent.
#[test]
fn truncated_answers_retry_reads_and_make_writes_unknown() {
    let (wiki, proxy, config) = setup();
    let truncated = Effect::Respond {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: r#"{"batchcomplete":true,"query":{"pages":[{"pageid":6,"#.into(),
    };
    proxy.rule(Rule {
        method: Some("GET"),
        action: Some("query"),
        contains: Some(FACT_READ),
        nth: 1,
        effect: truncated.clone(),
    });
    proxy.rule(Rule::post("delete", truncated));
    let result = delete_expecting(&config, 5);
    assert_eq!(result["decision"], "unknown");
    assert_eq!(proxy.count("POST", "delete"), 1);
    assert!(wiki.exists(TITLE));
    let settled = run(&config, "Alice", &["reconcile"]);
    assert!(String::from_utf8_lossy(&settled.stdout).contains("closed as abandoned"));
}

/// E-16: valid JSON without what every answer has (here: the page's namespace):
/// "unexpected answer", exit 3, nothing written.
#[test]
fn an_answer_missing_its_fields_stops_everything() {
    let (wiki, proxy, config) = setup();
    on_every_fact_read(&proxy, Effect::Respond {
            status: 200,
            headers: vec![],
            body: json!({ "curtimestamp": "2026-11-22T00:00:00Z", "query": { "pages": [{ "title": TITLE }] } }).to_string(),
        });
    let out = run(&config, "Alice", &["delete", TITLE]);
    assert_exit_saying(&out, 3, "unexpected answer");
    assert_nothing_written(&wiki, &proxy);
}

/// E-8: `badtoken` twice: no third try; nothing deleted, exit 3.
#[test]
fn a_bad_token_twice_gives_up() {
    let (wiki, proxy, config) = setup();
    // The bot's first write: one process's attribution edit, the service's delete.
    let first_write = if attribution_edits(&config) == 1 {
        "edit"
    } else {
        "delete"
    };
    proxy.rule(Rule {
        method: Some("POST"),
        action: Some(first_write),
        contains: None,
        nth: 0,
        effect: Effect::Respond {
            status: 200,
            headers: vec![],
            body: api_error("badtoken", "Invalid CSRF token."),
        },
    });
    // Refused before anything was saved: failed (3); after the requester's
    // signature: partial (4).
    let (code, decision) = if first_write == "edit" {
        (3, "failed")
    } else {
        (4, "partial")
    };
    let result = delete_expecting(&config, code);
    assert_eq!(result["decision"], decision, "{result:#}");
    assert_eq!(
        proxy.count("POST", first_write),
        2,
        "one fresh token, one retry, no more"
    );
    assert_eq!(deletions_of(&wiki, TITLE), 0);
    assert!(wiki.exists(TITLE));
}

/// E-10: the wiki says the session is not the expected user (`assertuser`): the
/// write is refused by the wiki, reported, and nothing is deleted.
#[test]
fn a_session_that_is_not_the_expected_user_deletes_nothing() {
    let (wiki, proxy, config) = setup();
    proxy.rule(Rule::post(
        "delete",
        Effect::Respond {
            status: 200,
            headers: vec![],
            body: api_error(
                "assertnameduserfailed",
                "You are no longer logged in as \"AdminBot\".",
            ),
        },
    ));
    let result = delete_expecting(&config, 4);
    assert!(result["steps"]
        .to_string()
        .contains("assertnameduserfailed"));
    assert!(wiki.exists(TITLE));
}

/// I-4: no policy for the configured wiki: exit 2 before any request.
#[test]
fn a_missing_policy_is_a_configuration_error() {
    let (_wiki, proxy, mut config) = setup();
    let before = proxy.requests().len();
    // The policy is the service's: it then refuses to start.
    let path = match &config.service {
        Some(service) => service.config.clone(),
        None => config.path.clone(),
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("policy = ") {
                "policy = \"policies/nowhere.toml\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, text + "\n").unwrap();
    let out = match config.service.as_mut() {
        Some(service) => {
            service.kill();
            match support::service::spawn_service(&service.dir, &[]) {
                Ok(_) => panic!("the service started without its policy"),
                Err(out) => out,
            }
        }
        None => run(&config, "Alice", &["delete", TITLE]),
    };
    assert_exit_saying(&out, 2, "nowhere.toml");
    assert_eq!(proxy.requests().len(), before, "no request was sent");
}

/// E-9: the session is lost again right after logging in again: one re-login per
/// process, then the failure is reported and nothing is deleted.
#[test]
fn a_session_lost_twice_is_reported_not_looped() {
    let (wiki, proxy, config) = setup();
    proxy.rule(Rule {
        method: Some("POST"),
        action: Some("delete"),
        contains: None,
        nth: 0,
        effect: Effect::Respond {
            status: 200,
            headers: vec![],
            body: api_error(
                "assertuserfailed",
                "You are no longer logged in, so the action could not be completed.",
            ),
        },
    });
    let logins_before = proxy.count("POST", "login");
    let result = delete_expecting(&config, 4);
    assert!(result["steps"].to_string().contains("assertuserfailed"));
    assert_eq!(
        proxy.count("POST", "delete"),
        2,
        "once, and once after re-login"
    );
    // The service logged its bot in when it started, and the requester's client
    // logs in straight to the wiki: only the re-login is new there.
    assert_eq!(
        proxy.count("POST", "login") - logins_before,
        1 + 2 * attribution_edits(&config),
        "caller, bot, one bot re-login"
    );
    assert_eq!(deletions_of(&wiki, TITLE), 0);
    assert!(wiki.exists(TITLE));
}

/// E-15: the wiki warns about a request (here a deprecation warning added to every
/// query by a hook on the real wiki). The warning is shown on stderr; under
/// `ADMINIBOT_TEST_STRICT_WARNINGS`, which every test run sets, it is an error.
#[test]
fn api_warnings_are_surfaced_and_fail_strict_runs() {
    let (wiki, proxy, config) = setup();
    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgHooks['APIAfterExecute'][] = static function ( $module ) {\n\
         if ( $module->getModuleName() === 'query' ) {\n\
         $module->addWarning( [ 'apiwarn-deprecation-parameter', 'rvlegacy' ] ); } };\n",
    )
    .unwrap();
    let writes = || writes_sent(&proxy);
    let strict = run(&config, "Alice", &["delete", TITLE, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("rvlegacy"), "{stderr}");
    assert_eq!(writes(), 0);

    let lenient = adminibot_command_as(&config.path, "Alice")
        .args(["check", TITLE])
        .env_remove("ADMINIBOT_TEST_STRICT_WARNINGS")
        .output()
        .unwrap();
    assert_eq!(
        lenient.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&lenient.stderr)
    );
    let stderr = config.diagnostics(&lenient);
    assert!(
        stderr.contains("the wiki warned (query: deprecation-parameter)")
            && stderr.contains("rvlegacy"),
        "{stderr}"
    );
    assert_eq!(writes(), 0);
    assert!(wiki.exists(TITLE));
}

/// N-2 (total deadline): every try of one call together gets one deadline, so a
/// wiki that answers nothing cannot hold a checked request for minutes.
#[test]
fn a_total_deadline_bounds_the_retries_of_a_call() {
    let (wiki, proxy, config) = setup();
    on_every_fact_read(&proxy, Effect::Hang(std::time::Duration::from_secs(3)));
    let out = delete_with_short_deadlines(&config, Some("500"));
    assert_exit_saying(&out, 3, "total deadline of 500ms");
    let tries = fact_reads(&proxy);
    assert_eq!(tries, 2, "the third try would pass the deadline");
    assert!(wiki.exists(TITLE));
}

/// N-2 (slow drip): the wiki's answer comes a byte every 20 ms, so no read of
/// page facts completes within the per-request deadline: each is cut off and
/// retried, then the run gives up, exit 3, nothing changed.
#[test]
fn a_slow_drip_answer_is_cut_off_by_the_deadline() {
    let (wiki, proxy, config) = setup();
    on_every_fact_read(&proxy, Effect::Drip(std::time::Duration::from_millis(20)));
    let out = delete_with_short_deadlines(&config, None);
    assert_exit_saying(&out, 3, "nothing was changed");
    let tries = fact_reads(&proxy);
    assert_eq!(tries, 3, "one read and two retries, each cut off");
    assert_nothing_written(&wiki, &proxy);
}

/// Starts Alice's `delete TITLE` and waits until its delete request is held at
/// the proxy; the request goes on once `<folder>/go` exists.
fn delete_held_at_the_proxy(
    proxy: &FaultProxy,
    config: &AdminibotConfig,
) -> (std::process::Child, tempfile::TempDir) {
    let release = tempfile::tempdir().unwrap();
    proxy.rule(Rule::post(
        "delete",
        Effect::HoldUntil(release.path().join("go")),
    ));
    let child = adminibot_command_as(&config.path, "Alice")
        .args(["delete", TITLE, "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..1500 {
        if proxy.count("POST", "delete") == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(proxy.count("POST", "delete"), 1, "the delete is on its way");
    (child, release)
}

/// Issue 10 #3: the page is moved while the delete is on its way. The bot
/// deletes by page id, so the moved page goes, with the move's own revision
/// (saved after the check): the read-back follows the title the wiki deleted
/// it at, records the deletion there and reports the incident.
#[test]
fn a_move_racing_the_delete_is_verified_where_the_page_was_deleted() {
    let (wiki, proxy, config) = setup();
    let (child, release) = delete_held_at_the_proxy(&proxy, &config);
    let go = release.path().join("go");
    wiki.move_as("Bob", TITLE, "Draft:Moved sandbox");
    std::fs::write(&go, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let report = first_result(&out);
    assert_eq!(out.status.code(), Some(4), "{report:#}");
    let steps = report["steps"].to_string();
    assert!(steps.contains("Draft:Moved sandbox"), "{steps}");
    assert!(steps.contains("INCIDENT"), "{steps}");
    let deleted = support::first_audit_row(&config.path, "deleted");
    assert_eq!(
        deleted["detail"]["title"], "Draft:Moved sandbox",
        "{deleted:#}"
    );
    assert!(!deleted["detail"]["revisions"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(!wiki.exists("Draft:Moved sandbox"));
}

/// The read-back of a deletion's revisions: it asks for that one property (the
/// facts read asks for several, `info` first).
const READ_BACK: &str = "prop=deletedrevisions";

/// The next three read-backs of a deletion's revisions get a 503: all the
/// tries one read makes.
fn read_backs_fail(proxy: &FaultProxy) {
    for nth in 1..=3 {
        proxy.rule(Rule {
            method: Some("GET"),
            action: Some("query"),
            contains: Some(READ_BACK),
            nth,
            effect: Effect::Respond {
                status: 503,
                headers: vec![],
                body: "busy".into(),
            },
        });
    }
}

/// Issue 10 #2: the read-back after a real deletion fails: the request stays
/// open (exit 5), never closed as partial without its deletion; reconcile then
/// records the deletion with the revisions it removed.
#[test]
fn a_failed_read_back_leaves_the_deletion_open_for_reconcile() {
    let (wiki, proxy, config) = setup();
    read_backs_fail(&proxy);
    let result = delete_expecting(&config, 5);
    assert_eq!(result["decision"], "unknown", "{result:#}");
    assert!(
        result["steps"].to_string().contains("read-back failed"),
        "{result:#}"
    );
    assert!(!wiki.exists(TITLE));

    let settled = run(&config, "Alice", &["reconcile"]);
    let said = support::said(&settled);
    assert_eq!(settled.status.code(), Some(0), "{said}");
    assert!(said.contains("the wiki shows delete (log"), "{said}");
    let deleted = support::first_audit_row(&config.path, "deleted");
    assert!(
        !deleted["detail"]["revisions"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{deleted:#}"
    );
}

/// Issue 10 #3, reconcile's half: the page is moved while the delete is on its
/// way, and the read-back fails, so the request stays open. Reconcile finds
/// the bot's deletion by the bot and the request id, at the title the wiki
/// deleted it at, and records it there: never "abandoned" because the old
/// title shows nothing.
#[test]
fn reconcile_finds_a_deletion_the_page_was_moved_away_from() {
    let (wiki, proxy, config) = setup();
    let (child, release) = delete_held_at_the_proxy(&proxy, &config);
    wiki.move_as("Bob", TITLE, "Draft:Moved sandbox");
    read_backs_fail(&proxy);
    std::fs::write(release.path().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let report = first_result(&out);
    assert_eq!(out.status.code(), Some(5), "{report:#}");
    assert!(!wiki.exists("Draft:Moved sandbox"));

    let settled = run(&config, "Alice", &["reconcile"]);
    let said = support::said(&settled);
    assert_eq!(settled.status.code(), Some(0), "{said}");
    assert!(
        said.contains("delete (log")
            && said.contains("INCIDENT: revisions saved after the check")
            && !said.contains("abandoned"),
        "{said}"
    );
    let deleted = support::first_audit_row(&config.path, "deleted");
    assert_eq!(
        deleted["detail"]["title"], "Draft:Moved sandbox",
        "{deleted:#}"
    );
}

/// Issue 10 #5: the wiki goes away in the middle of a batch, after the first
/// page was deleted. The first page's report is kept (done), the second says
/// what failed, and the exit code is 4: something was written, not all of it.
#[test]
fn the_wiki_going_away_mid_batch_keeps_what_was_done_and_exits_4() {
    let (wiki, proxy, config) = setup();
    // The second page's first read that comes after the first page's write:
    // one process re-reads the shutoff page (after its login's read and the
    // first page's re-check); the service reads the second signature.
    let (needle, first) = if attribution_edits(&config) == 1 {
        ("Shutoff", 3)
    } else {
        ("revids=", 2)
    };
    for nth in first..first + 3 {
        proxy.rule(Rule {
            method: Some("GET"),
            action: Some("query"),
            contains: Some(needle),
            nth,
            effect: Effect::Respond {
                status: 503,
                headers: vec![],
                body: "gone".into(),
            },
        });
    }
    let out = run(
        &config,
        "Alice",
        &["delete", TITLE, "Alice draft", "--yes", "--format", "json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", support::said(&out)));
    assert_eq!(out.status.code(), Some(4), "{doc:#}");
    assert_eq!(doc["results"][0]["decision"], "done", "{doc:#}");
    assert_eq!(doc["results"][1]["decision"], "failed", "{doc:#}");
    assert!(!wiki.exists(TITLE));
    assert!(wiki.exists("Alice draft"));
}
