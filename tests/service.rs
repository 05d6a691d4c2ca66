//! The broker as a service: `adminibot serve` as one Unix user holding the bot's
//! secret and the store, the client CLI as another with only `[broker] url` and
//! the requester's BotPassword, against the real test wiki. Identity is the
//! requester's own signature edit; every forged or stale signature is refused
//! with nothing written to the wiki or the store.

mod support;

use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use support::service::{
    as_user, service_config, service_folder, spawn_service, Service, CLIENT_USER,
};
use support::{sqlite, TestWiki};

const DRAFT: &str = "Draft:Alice sandbox";

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Deletion log entries the bot made through adminibot (the fixtures' own
/// deletions name no request).
fn bot_deletions(wiki: &TestWiki) -> usize {
    wiki.sql("SELECT count(*) FROM logging JOIN actor ON log_actor = actor_id JOIN comment ON log_comment_id = comment_id WHERE log_type = 'delete' AND actor_name = 'AdminBot' AND comment_text LIKE '%request 2%';")
        .trim()
        .parse()
        .unwrap()
}

fn store_count(service: &Service, sql: &str) -> usize {
    sqlite(&service.store, sql).trim().parse().unwrap()
}

/// A wiki, a service for it, and Alice holding `self` (granted through the
/// service by Admin's signed command).
fn setup() -> (TestWiki, Service) {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    service.grant_alice_self();
    (wiki, service)
}

/// Runs the client as `who` with `args`; it must exit 0.
fn run_ok(service: &Service, who: Option<&str>, args: &[&str]) -> Output {
    let out = service.run(who, args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    out
}

/// `POST` a JSON body; the status and the answer.
fn post(service: &Service, route: &str, body: &Value) -> (u16, String, Value) {
    let (code, head, body) = service.post_raw(route, body.to_string().as_bytes());
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (code, head, value)
}

/// Proposes deleting `title` as `user`; the ticket.
fn propose_delete(service: &Service, user: &str, title: &str) -> Value {
    let body = json!({
        "user": user,
        "command": { "Delete": { "titles": [title], "reason": "", "yes": false, "dry_run": false, "escalate": false } }
    });
    let (code, _, answer) = post(service, "/v1/propose", &body);
    assert_eq!(code, 200, "{answer:#}");
    let ticket = answer["pages"][0]["ticket"].clone();
    assert!(ticket.is_object(), "no ticket: {answer:#}");
    ticket
}

/// Alice proposes deleting the draft and signs it as the ticket says; the
/// ticket and her signature's revision id.
fn signed_proposal(wiki: &TestWiki, service: &Service) -> (Value, u64) {
    let ticket = propose_delete(service, "Alice", DRAFT);
    let (page, summary) = page_and_summary(&ticket);
    let revid = edit_as(wiki, "Alice", page, summary);
    (ticket, revid)
}

/// Saves an edit as `who` on `page` with `summary`; its revision id.
fn edit_as(wiki: &TestWiki, who: &str, page: &str, summary: &str) -> u64 {
    let answer = wiki.write_as(
        who,
        &[
            ("action", "edit"),
            ("title", page),
            ("appendtext", "\n* a line\n"),
            ("summary", summary),
        ],
    );
    answer["edit"]["newrevid"]
        .as_u64()
        .unwrap_or_else(|| panic!("edit as {who}: {answer}"))
}

/// Executes `request_id` with `revid`; the status and the answer.
fn execute(service: &Service, request_id: &Value, revid: u64) -> (u16, Value) {
    let (code, _, answer) = post(
        service,
        "/v1/execute",
        &json!({ "request_id": request_id, "revid": revid, "yes": true }),
    );
    (code, answer)
}

/// Nothing happened: the draft is there, the bot deleted nothing, and the
/// store holds no request and no used signature but the grant's.
fn assert_untouched(wiki: &TestWiki, service: &Service) {
    assert!(wiki.exists(DRAFT));
    assert_eq!(bot_deletions(wiki), 0);
    assert_eq!(
        store_count(
            service,
            "SELECT count(*) FROM audit WHERE kind = 'request';"
        ),
        0
    );
    assert_eq!(
        store_count(
            service,
            "SELECT count(*) FROM audit WHERE kind = 'signed' AND detail NOT LIKE '%Grant%';"
        ),
        0
    );
}

/// Proposes deleting the draft for Alice, signs it with `sign` (given the
/// ticket, it saves an edit and returns its revision id), executes: refused
/// with `needle`, and nothing written to the wiki or the store.
fn forged_signature_is_refused(sign: impl FnOnce(&TestWiki, &Value) -> u64, needle: &str) {
    let (wiki, service) = setup();
    let ticket = propose_delete(&service, "Alice", DRAFT);
    let revid = sign(&wiki, &ticket);
    let (code, answer) = execute(&service, &ticket["request_id"], revid);
    assert_refused(code, &answer, needle);
    assert_untouched(&wiki, &service);
}

/// The ticket's page and summary.
fn page_and_summary(ticket: &Value) -> (&str, &str) {
    (
        ticket["page"].as_str().unwrap(),
        ticket["summary"].as_str().unwrap(),
    )
}

fn assert_refused(code: u16, answer: &Value, needle: &str) {
    assert_eq!(code, 403, "{answer:#}");
    assert_eq!(answer["exit_code"], 1, "{answer:#}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap_or_default()
            .contains(needle),
        "expected {needle:?} in {answer:#}"
    );
}

/// The whole story through the service as separate Unix users: Admin grants,
/// Alice deletes her draft and undeletes it; the requester's user can read
/// neither the bot's secret, nor the service's config, nor its store, and the
/// client's config holds no bot credential.
#[test]
fn the_requester_cannot_read_the_services_files() {
    let (wiki, service) = setup();
    for file in [
        service.dir.join("bot.secret"),
        service.config.clone(),
        service.store.clone(),
    ] {
        let out = as_user(CLIENT_USER, "cat").arg(&file).output().unwrap();
        assert!(!out.status.success(), "{} was readable", file.display());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
            "{}",
            text(&out)
        );
    }
    let client_config = std::fs::read_to_string(&service.client_config).unwrap();
    let secret = support::account("AdminBot").botpassword_secret;
    assert!(!client_config.contains(&secret));
    assert!(!client_config.contains("[bot]") && !client_config.contains("[store]"));

    let out = run_ok(
        &service,
        Some("Alice"),
        &[
            "delete",
            DRAFT,
            "--reason",
            "G7: my test page",
            "--format",
            "json",
        ],
    );
    let result = support::first_result(&out);
    assert_eq!(result["decision"], "done", "{result:#}");
    let request_id = result["request_id"].as_str().unwrap().to_string();
    assert!(!wiki.exists(DRAFT));
    assert_eq!(bot_deletions(&wiki), 1);
    // The deletion names the requester; the signature is Alice's own edit.
    let reason = wiki.sql("SELECT comment_text FROM logging JOIN comment ON log_comment_id = comment_id WHERE log_type = 'delete' ORDER BY log_id DESC LIMIT 1;");
    assert!(
        reason.contains("Alice") && reason.contains(&request_id),
        "{reason}"
    );
    let history = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", "User:Alice/adminibot"),
        ("rvprop", "user|comment"),
        ("rvlimit", "max"),
    ]);
    let signers: Vec<&str> = history["query"]["pages"][0]["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["comment"]
                .as_str()
                .unwrap_or_default()
                .contains(&request_id)
        })
        .map(|r| r["user"].as_str().unwrap())
        .collect();
    assert_eq!(signers, ["Alice"], "{history:#}");
    assert_eq!(
        store_count(&service, "SELECT count(*) FROM signatures;"),
        2,
        "the grant's and the deletion's"
    );
    run_ok(&service, None, &["audit", "verify"]);

    run_ok(&service, Some("Alice"), &["undelete", DRAFT]);
    assert!(wiki.exists(DRAFT));
}

/// A revision saved by someone else than the requester signs nothing, even on
/// the requester's page with the exact summary.
#[test]
fn a_revision_by_another_user_is_refused() {
    forged_signature_is_refused(
        |wiki, ticket| {
            let (page, summary) = page_and_summary(ticket);
            edit_as(wiki, "Bob", page, summary)
        },
        "not by the requester",
    );
}

/// The signature must be on the requester's attribution page.
#[test]
fn a_revision_on_another_page_is_refused() {
    forged_signature_is_refused(
        |wiki, ticket| {
            edit_as(
                wiki,
                "Alice",
                "User:Alice/elsewhere",
                page_and_summary(ticket).1,
            )
        },
        "is on `User:Alice/elsewhere`",
    );
}

/// A revision older than the proposal cannot be its signature (its time is
/// moved back in the wiki's own database).
#[test]
fn a_revision_saved_before_the_proposal_is_refused() {
    forged_signature_is_refused(
        |wiki, ticket| {
            let (page, summary) = page_and_summary(ticket);
            let revid = edit_as(wiki, "Alice", page, summary);
            wiki.sql(&format!(
                "UPDATE revision SET rev_timestamp = '20200101000000' WHERE rev_id = {revid};"
            ));
            revid
        },
        "before request",
    );
}

/// The signature's summary must name this request.
#[test]
fn a_revision_that_does_not_name_the_request_is_refused() {
    forged_signature_is_refused(
        |wiki, ticket| {
            let summary = "adminibot: delete [[:Draft:Alice sandbox]] on my behalf";
            edit_as(wiki, "Alice", page_and_summary(ticket).0, summary)
        },
        "does not name request",
    );
}

/// A signature serves once: executing it again changes nothing more.
#[test]
fn a_reused_revision_is_refused() {
    let (wiki, service) = setup();
    let (ticket, revid) = signed_proposal(&wiki, &service);
    let (code, answer) = execute(&service, &ticket["request_id"], revid);
    assert_eq!(code, 200, "{answer:#}");
    assert_eq!(answer["page"]["decision"], "done", "{answer:#}");
    let rows = store_count(&service, "SELECT count(*) FROM audit;");
    let (code, answer) = execute(&service, &ticket["request_id"], revid);
    assert_refused(code, &answer, "already signed");
    assert_eq!(bot_deletions(&wiki), 1);
    assert_eq!(store_count(&service, "SELECT count(*) FROM audit;"), rows);
}

/// A proposal past its expiry cannot be executed, even with a good signature.
#[test]
fn an_expired_request_is_refused() {
    let (wiki, service) = setup();
    let (ticket, revid) = signed_proposal(&wiki, &service);
    sqlite(
        &service.store,
        "UPDATE proposals SET expires_at = '2020-01-01T00:00:00Z';",
    );
    let (code, answer) = execute(&service, &ticket["request_id"], revid);
    assert_refused(code, &answer, "expired");
    assert_untouched(&wiki, &service);
}

/// Only request ids the service issued can be executed.
#[test]
fn a_request_id_never_issued_is_refused() {
    let (wiki, service) = setup();
    let revid = edit_as(
        &wiki,
        "Alice",
        "User:Alice/adminibot",
        "adminibot: delete [[:Draft:Alice sandbox]] (request 20261130-0000000000)",
    );
    let (code, answer) = execute(&service, &json!("20261130-0000000000"), revid);
    assert_refused(code, &answer, "never issued");
    assert_untouched(&wiki, &service);
}

/// Execute with no signature edit: a revision that does not exist, or one that
/// was saved for something else.
#[test]
fn execute_without_a_signature_is_refused() {
    let (wiki, service) = setup();
    let ticket = propose_delete(&service, "Alice", DRAFT);
    let (code, answer) = execute(&service, &ticket["request_id"], 9_999_999);
    assert_refused(code, &answer, "does not exist");
    let latest: u64 = wiki
        .sql("SELECT page_latest FROM page WHERE page_namespace = 118 AND page_title = 'Alice_sandbox';")
        .trim()
        .parse()
        .unwrap();
    let (code, answer) = execute(&service, &ticket["request_id"], latest);
    assert_refused(code, &answer, "is on `Draft:Alice sandbox`");
    assert_untouched(&wiki, &service);
}

/// Bodies over 64 KiB are refused before they reach the executor.
#[test]
fn an_oversized_body_is_refused() {
    let (wiki, service) = setup();
    let big = format!(
        "{{\"user\": \"Alice\", \"pad\": \"{}\"}}",
        "x".repeat(100 * 1024)
    );
    let (code, _, _) = service.post_raw("/v1/propose", big.as_bytes());
    assert_eq!(code, 413);
    assert_untouched(&wiki, &service);
}

/// A flood of proposals is answered 429 with `Retry-After`, and the client
/// reports it as a service error (exit 3).
#[test]
fn a_flood_of_proposals_is_answered_429() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "proposals_per_minute = 6\n");
    let body = json!({
        "user": "Alice",
        "command": { "Delete": { "titles": [DRAFT], "reason": "", "yes": false, "dry_run": false, "escalate": false } }
    });
    let first = post(&service, "/v1/propose", &body);
    assert_eq!(first.0, 200, "{:#}", first.2);
    let flooded = post(&service, "/v1/propose", &body);
    assert_eq!(flooded.0, 429, "{:#}", flooded.2);
    let retry = flooded
        .1
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("retry-after: ")
                .map(str::to_string)
        })
        .expect("Retry-After");
    assert!(retry.trim().parse::<u64>().unwrap() >= 1, "{retry}");
    let out = service.run(Some("Alice"), &["delete", DRAFT]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("too many proposals"), "{}", text(&out));
    assert!(wiki.exists(DRAFT));
}

/// A config or secret others may write (or read) stops the service before it
/// listens, with the fix.
#[test]
fn a_world_writable_config_or_secret_stops_the_service() {
    let wiki = TestWiki::start();
    let dir = service_folder(&service_config(&wiki.api, ""));
    let config = dir.path().join("adminibot.toml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = spawn_service(dir.path(), &[]).expect_err("started with a world-writable config");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("chmod go-w"), "{}", text(&out));

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let secret = dir.path().join("bot.secret");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = spawn_service(dir.path(), &[]).expect_err("started with a readable secret");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    assert!(
        !dir.path().join("adminibot.sqlite").exists(),
        "no store before the checks pass"
    );
}

/// The wiki is reached over https unless on loopback, and so is the broker.
#[test]
fn http_urls_are_refused_unless_loopback() {
    let dir = service_folder(&service_config("http://wiki.example.org/w/api.php", ""));
    let out = spawn_service(dir.path(), &[]).expect_err("started with an http wiki");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not https"), "{}", text(&out));

    let client = tempfile::tempdir().unwrap();
    let config = client.path().join("adminibot.toml");
    std::fs::write(
        &config,
        "[broker]\nurl = \"http://adminibot.example.org\"\n",
    )
    .unwrap();
    let out = support::adminibot(&config, &["check", DRAFT, "--as", "Alice"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not https"), "{}", text(&out));
}

/// `audit verify --wiki` holds the store to the wiki's own record: after someone
/// with the store file (the service stopped) drops its triggers and appends a
/// grant with a correctly recomputed chain, the chain alone still verifies, but
/// the comparison with the wiki names the forged row; an honest store passes.
#[test]
fn audit_verify_wiki_finds_a_rewritten_store() {
    use adminibot::rules::Tier;
    use adminibot::store::{Actor, NewGrant, Store, UserRef};
    let (wiki, mut service) = setup();
    run_ok(&service, Some("Alice"), &["delete", DRAFT]);
    let honest = run_ok(&service, None, &["audit", "verify", "--wiki"]);
    assert!(
        text(&honest).contains("agrees with the wiki"),
        "{}",
        text(&honest)
    );

    service.kill();
    let chown_store = |user: &str| support::service::chown(user, &service.dir);
    chown_store("root");
    sqlite(
        &service.store,
        "DROP TRIGGER grants_no_update; DROP TRIGGER grants_no_delete; DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;",
    );
    let admin = support::account("Admin");
    let user_id = |name: &str| -> u64 {
        let answer = wiki.api_get(&[("action", "query"), ("list", "users"), ("ususers", name)]);
        answer["query"]["users"][0]["userid"].as_u64().unwrap()
    };
    let now = chrono::Utc::now();
    let mut store = Store::open(&service.store, "localtest", now).expect("open the store");
    store
        .add_grant(
            NewGrant {
                user: UserRef {
                    user_id: user_id("Bob"),
                    name: "Bob".into(),
                },
                tier: Tier::RetiredAdmin,
                issuer: Actor {
                    user_id: user_id("Admin"),
                    name: admin.name.clone(),
                    groups: admin.groups.clone(),
                },
                charter: None,
                starts_at: now,
                expires_at: None,
                reason: "forged".into(),
                approved: true,
            },
            now,
        )
        .expect("append a forged grant");
    drop(store);
    chown_store(support::service::SERVICE_USER);
    service.restart(&[]);

    let chain = service.run(None, &["audit", "verify"]);
    assert_eq!(
        chain.status.code(),
        Some(0),
        "the chain alone cannot tell: {}",
        text(&chain)
    );
    let forged_seq = sqlite(
        &service.store,
        "SELECT max(seq) FROM audit WHERE kind = 'grant';",
    );
    let checked = service.run(None, &["audit", "verify", "--wiki", "--format", "json"]);
    assert_eq!(checked.status.code(), Some(1), "{}", text(&checked));
    let doc: Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(doc["valid"], false, "{doc:#}");
    assert_eq!(doc["broken_at"].to_string(), forged_seq.trim(), "{doc:#}");
    assert!(doc["reason"].as_str().unwrap().contains("grant"), "{doc:#}");
}

/// Kills the service while a deletion is paused at `stage` (`before-recheck`:
/// signed and recorded, nothing deleted; `after-delete`: deleted, not yet in
/// the audit log). The client reports "unknown" (exit 5) with the request id;
/// the restarted service settles the request by itself; returns the wiki, the
/// service and the request's audit rows after settling.
fn killed_at(stage: &str) -> (TestWiki, Service, Vec<Value>) {
    let wiki = TestWiki::start();
    let pause = tempfile::tempdir().unwrap();
    support::service::chown(support::service::SERVICE_USER, pause.path());
    let setting = format!("{stage}:{}", pause.path().display());
    let mut service = Service::start_with_env(&wiki.api, "", &[("ADMINIBOT_TEST_PAUSE", &setting)]);
    run_ok(
        &service,
        Some("Admin"),
        &["grant", "--user", "Alice", "--tier", "self"],
    );
    let client = service
        .client(Some("Alice"))
        .args(["delete", DRAFT, "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        support::reached_pause(pause.path(), 10),
        "the service never reached `{stage}`"
    );
    service.kill();
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let result = support::first_result(&out);
    assert_eq!(result["decision"], "unknown", "{result:#}");
    let request_id = result["request_id"].as_str().unwrap().to_string();

    service.restart(&[]);
    for _ in 0..250 {
        let out = service.run(
            None,
            &["audit", "--request", &request_id, "--format", "json"],
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = doc["rows"].as_array().unwrap().clone();
        if rows.iter().any(|r| r["kind"] == "end") {
            return (wiki, service, rows);
        }
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    panic!("the restarted service did not settle request {request_id}");
}

fn kinds(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["kind"].as_str().unwrap()).collect()
}

/// Killed between the signature and the delete: nothing was deleted, and the
/// restarted service closes the request as abandoned.
#[test]
fn killing_the_service_between_signature_and_delete_loses_nothing() {
    let (wiki, service, rows) = killed_at("before-recheck");
    assert!(wiki.exists(DRAFT));
    assert_eq!(bot_deletions(&wiki), 0);
    assert_eq!(
        kinds(&rows),
        ["signed", "request", "attributed", "end"],
        "{rows:#?}"
    );
    assert_eq!(rows[3]["detail"]["decision"], "abandoned", "{rows:#?}");
    assert_eq!(rows[3]["detail"]["reconciled"], true);
    let again = service.run(Some("Alice"), &["delete", DRAFT]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "asking again works: {}",
        text(&again)
    );
    assert!(!wiki.exists(DRAFT));
}

/// Killed between the delete and its audit row: the restarted service finds
/// the deletion in the wiki's log by its request id and records it.
#[test]
fn killing_the_service_between_delete_and_audit_row_loses_nothing() {
    let (wiki, service, rows) = killed_at("after-delete");
    assert!(!wiki.exists(DRAFT));
    assert_eq!(bot_deletions(&wiki), 1);
    assert_eq!(
        kinds(&rows),
        ["signed", "request", "attributed", "deleted", "end"],
        "{rows:#?}"
    );
    assert_eq!(rows[3]["detail"]["found_by"], "reconcile", "{rows:#?}");
    assert_eq!(rows[4]["detail"]["decision"], "done", "{rows:#?}");
    run_ok(&service, None, &["audit", "verify", "--wiki"]);
    run_ok(&service, Some("Alice"), &["undelete", DRAFT]);
    assert!(wiki.exists(DRAFT));
}

/// One service per store: a second one on the same store does not start.
#[test]
fn a_second_service_on_the_same_store_is_refused() {
    let (_wiki, service) = setup();
    let out = spawn_service(&service.dir, &[]).expect_err("a second service started");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("another `adminibot serve` holds the store"),
        "{}",
        text(&out)
    );
    let health = service.run(None, &["list", "--user", "Alice"]);
    assert_eq!(
        health.status.code(),
        Some(0),
        "the first one still serves: {}",
        text(&health)
    );
}

/// "Any editor in good standing can stop the bot entirely": Bob, with no grant,
/// stops it by his own signed edit; Alice is refused while it is stopped; Bob
/// cannot resume it (his groups are read from the wiki), Admin can.
#[test]
fn anyone_stops_the_bot_through_the_service_and_only_administrators_resume() {
    let (wiki, service) = setup();
    run_ok(
        &service,
        Some("Bob"),
        &["stop", "--reason", "something looks wrong"],
    );
    let refused = service.run(Some("Alice"), &["delete", DRAFT]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("stop switch"), "{}", text(&refused));
    assert!(wiki.exists(DRAFT));
    let resume = service.run(Some("Bob"), &["resume"]);
    assert_eq!(resume.status.code(), Some(1), "{}", text(&resume));
    let grant = service.run(Some("Bob"), &["grant", "--user", "Bob", "--tier", "self"]);
    assert_eq!(grant.status.code(), Some(1), "{}", text(&grant));
    run_ok(&service, Some("Admin"), &["resume"]);
    run_ok(&service, Some("Alice"), &["delete", DRAFT]);
    assert!(!wiki.exists(DRAFT));
}

/// Reads need no signature: health, info, and one request's rows by id.
#[test]
fn health_info_and_request_status_need_no_signature() {
    let (wiki, service) = setup();
    let out = service.run(Some("Alice"), &["delete", DRAFT, "--format", "json"]);
    let request_id = support::first_result(&out)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |route: &str| -> Value {
        let authority = service.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(authority).unwrap();
        use std::io::{Read, Write};
        write!(
            stream,
            "GET {route} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
    };
    assert_eq!(get("/v1/health")["ok"], true);
    let info = get("/v1/info");
    assert_eq!(info["api"], wiki.api.as_str());
    assert_eq!(info["attribution"], "User:{requester}/adminibot");
    let rows = get(&format!("/v1/requests/{request_id}"));
    let kinds: Vec<&str> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "signed",
            "request",
            "attributed",
            "deleted",
            "logged",
            "end"
        ]
    );
}

/// The service takes its secret from systemd's credential folder or its own
/// file, never from the environment a requester might set.
#[test]
fn the_bot_secret_comes_from_the_credential_folder_never_the_environment() {
    let wiki = TestWiki::start();
    let config = service_config(&wiki.api, "").replace("password_file = \"bot.secret\"\n", "");
    let dir = service_folder(&config);
    let secret = support::account("AdminBot").botpassword_secret;
    let out = spawn_service(dir.path(), &[("ADMINIBOT_BOT_PASSWORD", secret.as_str())])
        .expect_err("started with the secret from the environment");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no bot secret"), "{}", text(&out));

    let credentials = dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::rename(
        dir.path().join("bot.secret"),
        credentials.join("bot-password"),
    )
    .unwrap();
    support::service::chown(support::service::SERVICE_USER, dir.path());
    let credentials = credentials.display().to_string();
    let (mut child, _url) = spawn_service(
        dir.path(),
        &[("CREDENTIALS_DIRECTORY", credentials.as_str())],
    )
    .unwrap_or_else(|out| panic!("{}", text(&out)));
    let _ = child.kill();
    let _ = child.wait();
}

/// A requester who pins the wiki in their config sends no login to a service
/// that names another wiki.
#[test]
fn a_client_that_pins_the_wiki_refuses_a_service_naming_another() {
    let (wiki, service) = setup();
    std::fs::write(
        &service.client_config,
        format!(
            "[broker]\nurl = \"{}\"\nwiki_api = \"https://en.wikipedia.org/w/api.php\"\n",
            service.url
        ),
    )
    .unwrap();
    let out = service.run(Some("Alice"), &["delete", DRAFT]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // The client checks the service's wiki before it logs in or signs anything.
    assert!(
        text(&out).contains("not sending your login there"),
        "{}",
        text(&out)
    );
    assert!(wiki.exists(DRAFT));
    assert_eq!(
        store_count(
            &service,
            "SELECT count(*) FROM audit WHERE kind = 'request';"
        ),
        0
    );
}

/// "Any administrator can ask the bot to undo or roll-back its recent edits", and
/// a rollback's writes meet every gate a page action meets: while the bot is
/// stopped, Admin's signed rollback does nothing; once resumed, it restores the
/// draft.
#[test]
fn a_rollback_waits_for_the_stop_switch_like_any_bot_write() {
    let (wiki, service) = setup();
    let out = service.run(Some("Alice"), &["delete", DRAFT, "--format", "json"]);
    let request_id = support::first_result(&out)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!wiki.exists(DRAFT));
    run_ok(
        &service,
        Some("Bob"),
        &["stop", "--reason", "checking something"],
    );
    let held = service.run(
        Some("Admin"),
        &["rollback", "--request", &request_id, "--yes"],
    );
    assert_eq!(held.status.code(), Some(4), "{}", text(&held));
    assert!(text(&held).contains("stop switch"), "{}", text(&held));
    assert!(!wiki.exists(DRAFT), "nothing was undeleted while stopped");
    run_ok(&service, Some("Admin"), &["resume"]);
    run_ok(
        &service,
        Some("Admin"),
        &["rollback", "--request", &request_id, "--yes"],
    );
    assert!(wiki.exists(DRAFT));
}

/// N-8 through the service: at trace level, neither the service's diagnostics
/// nor the client's hold the bot's secret or the requester's.
#[test]
fn no_secret_reaches_the_services_or_the_clients_trace() {
    let wiki = TestWiki::start();
    let service = Service::start_with_env(&wiki.api, "", &[("RUST_LOG", "trace")]);
    run_ok(
        &service,
        Some("Admin"),
        &["grant", "--user", "Alice", "--tier", "self"],
    );
    let out = service
        .client(Some("Alice"))
        .args(["-vvv", "delete", DRAFT])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!wiki.exists(DRAFT));
    let log = std::fs::read_to_string(service.dir.join(support::service::SERVICE_LOG)).unwrap();
    assert!(log.contains("DEBUG"), "the service traced:\n{log}");
    let client_trace = String::from_utf8_lossy(&out.stderr).into_owned();
    for who in ["AdminBot", "Alice", "Admin"] {
        let secret = support::account(who).botpassword_secret;
        assert!(
            !log.contains(&secret),
            "{who}'s secret in the service's trace"
        );
        assert!(
            !client_trace.contains(&secret),
            "{who}'s secret in the client's trace"
        );
        assert!(!text(&out).contains(&secret));
    }
}

/// An executor that dies mid-request takes the service down with it (exit 70)
/// rather than leaving it answering requests it cannot carry out; the request
/// is "unknown" to the client and settled after the restart. (The test hook's
/// pause marker cannot be written, which panics the executor at that stage.)
#[test]
fn a_dead_executor_stops_the_service_and_nothing_is_lost() {
    let (wiki, mut service) = setup();
    let out = service
        .client(Some("Alice"))
        .args(["delete", DRAFT, "--format", "json"])
        .env(
            "ADMINIBOT_TEST_PAUSE",
            "before-recheck:/nonexistent/adminibot",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let request_id = support::first_result(&out)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(service.wait_for_exit(), Some(70));
    assert!(wiki.exists(DRAFT));
    service.restart(&[]);
    let mut settled = Value::Null;
    for _ in 0..250 {
        let out = service.run(
            None,
            &["audit", "--request", &request_id, "--format", "json"],
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        if let Some(end) = doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "end")
        {
            settled = end.clone();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    assert_eq!(settled["detail"]["decision"], "abandoned", "{settled:#}");
}

/// While the shutoff page holds the bot, a proposal (a dry run too) is refused
/// with that reason, and nobody is asked to sign: the wiki gets no edit at all.
#[test]
fn a_proposal_meets_the_shutoff_page_before_anyone_signs() {
    let (wiki, service) = setup();
    wiki.write_as(
        "Bob",
        &[
            ("action", "edit"),
            ("title", "User:AdminBot/Shutoff"),
            ("text", "stop: checking"),
        ],
    );
    let revisions = || wiki.sql("SELECT max(rev_id) FROM revision;");
    let before = revisions();
    for extra in [None, Some("--dry-run")] {
        let mut args = vec!["delete", DRAFT, "--format", "json"];
        args.extend(extra);
        let out = service.run(Some("Alice"), &args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let result = support::first_result(&out);
        assert_eq!(result["decision"], "refused", "{result:#}");
        assert!(
            result["steps"][0]
                .as_str()
                .unwrap()
                .contains("shutoff page"),
            "{result:#}"
        );
    }
    assert_eq!(revisions(), before, "no signature was asked for");
    assert!(wiki.exists(DRAFT));
}

/// A client keeps the requester's wiki session in a 0600 file of their own,
/// holding cookies and the CSRF token but never the BotPassword: the next run
/// signs with no login and no token read (three requests fewer); a session the
/// wiki has forgotten is refused at the signature edit, which a fresh login
/// then saves.
#[test]
fn a_kept_wiki_session_saves_the_requesters_login() {
    let (wiki, service) = setup();
    let cache = service.client_dir.join("cache");
    std::fs::create_dir(&cache).unwrap();
    support::service::chown(support::service::CLIENT_USER, &cache);
    let requests_for = |args: &[&str]| {
        let before = wiki.request_count();
        let out = service
            .client(Some("Alice"))
            .env("XDG_CACHE_HOME", &cache)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        wiki.request_count() - before
    };
    // The service reads its policy's tag redirects on its first page job.
    requests_for(&["check", DRAFT]);
    let logging_in = requests_for(&["delete", DRAFT]);
    let kept = std::fs::read_dir(cache.join("adminibot"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("session-")
        })
        .expect("a kept session");
    let meta = std::fs::metadata(&kept).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let client_uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&cache).unwrap());
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), client_uid);
    let content = std::fs::read_to_string(&kept).unwrap();
    assert!(content.starts_with(&wiki.api), "{content}");
    assert!(
        !content.contains(&support::account("Alice").botpassword_secret),
        "the BotPassword is never kept"
    );

    requests_for(&["undelete", DRAFT]);
    let resumed = requests_for(&["delete", DRAFT]);
    assert_eq!(
        resumed + 3,
        logging_in,
        "no login token, no login, no userinfo and token"
    );

    std::fs::write(
        &kept,
        format!("{}\nforgotten_session=0\n0123456789abcdef+\\\n", wiki.api),
    )
    .unwrap();
    // Anyone may stop the bot, with a signature.
    requests_for(&["stop", "--reason", "a forgotten session still signs"]);
    let replaced = std::fs::read_to_string(&kept).unwrap();
    assert!(!replaced.contains("forgotten_session"), "{replaced}");
    assert_eq!(replaced.lines().count(), 3, "the API, cookies and a token");
    let audit = run_ok(&service, None, &["audit", "--format", "json"]);
    assert!(text(&audit).contains("a forgotten session still signs"));
}

/// `[listen] address = "unix:/path"`: the service listens on a Unix socket any
/// local user may connect to (its folder decides who can reach it), the client
/// reaches it with `[broker] url = "unix:/path"`, and a second service on the
/// same socket is refused while the first runs.
#[test]
fn a_unix_socket_serves_the_same_requests() {
    let wiki = TestWiki::start();
    let run_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(run_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    support::service::chown(support::service::SERVICE_USER, run_dir.path());
    let socket = run_dir.path().join("adminibot.sock");
    let config = service_config(&wiki.api, "").replace(
        "address = \"127.0.0.1:0\"",
        &format!("address = \"unix:{}\"", socket.display()),
    );
    let dir = service_folder(&config);
    let (mut child, url) = spawn_service(dir.path(), &[]).unwrap_or_else(|out| {
        panic!("adminibot serve did not start: {}", text(&out));
    });
    assert_eq!(url, format!("unix:{}", socket.display()));
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()));
    assert_eq!(meta.permissions().mode() & 0o777, 0o666);

    let client_dir = tempfile::tempdir().unwrap();
    let client_config = client_dir.path().join("adminibot.toml");
    std::fs::write(&client_config, format!("[broker]\nurl = \"{url}\"\n")).unwrap();
    support::service::chown(CLIENT_USER, client_dir.path());
    let client = |who: &str, args: &[&str]| {
        let account = support::account(who);
        let out = as_user(
            CLIENT_USER,
            &support::service::shared_binary().to_string_lossy(),
        )
        .arg("--config")
        .arg(&client_config)
        .args(args)
        .env("ADMINIBOT_USERNAME", &account.botpassword_user)
        .env("ADMINIBOT_PASSWORD", &account.botpassword_secret)
        .env("ADMINIBOT_TEST_STRICT_WARNINGS", "1")
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        out
    };
    client("Admin", &["grant", "--user", "Alice", "--tier", "self"]);
    client("Alice", &["delete", DRAFT]);
    assert!(!wiki.exists(DRAFT));

    let second = service_folder(&config);
    let out = spawn_service(second.path(), &[]).expect_err("a second service on the socket");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("another service is listening there"),
        "{}",
        text(&out)
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Issue 10 #15: the service holds the bot's secret in a process nobody can
/// dump or inspect: it is not dumpable (no core dump carries the secret to
/// disk), so its `/proc` entries belong to root, not to the service's user,
/// and that user's other processes cannot read its memory.
#[test]
fn the_service_cannot_be_dumped_or_read_through_proc() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", service.pid()));
    let owner =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(proc_dir.join("status")).unwrap());
    assert_eq!(
        owner, 0,
        "a dumpable process's /proc entries are its user's"
    );
    let environ = as_user(support::service::SERVICE_USER, "cat")
        .arg(proc_dir.join("environ"))
        .output()
        .unwrap();
    assert!(
        !environ.status.success(),
        "the service user read its environment"
    );
    let mem = as_user(support::service::SERVICE_USER, "cat")
        .arg(proc_dir.join("mem"))
        .output()
        .unwrap();
    assert!(!mem.status.success(), "the service user read its memory");
}
