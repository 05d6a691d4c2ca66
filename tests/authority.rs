//! Who may grant, revoke, stop and suspend, proven against the real test wiki,
//! and how the authority gate changes `check`'s decision.
//!
//! Accounts (fixtures/accounts.toml): Admin (sysop, bureaucrat), AdminBot (sysop,
//! bot), Alice/Bob/Carol (editors), MaintBot (bot), OldAdmin (a former sysop).

mod support;

use serde_json::Value;
use std::process::Output;
use support::{
    account, accounts, adminibot, adminibot_as, adminibot_command, adminibot_command_as,
    AdminibotConfig, TestWiki,
};

const CHARTERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charters");

fn wiki_and_config() -> (TestWiki, AdminibotConfig) {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true).with_store();
    (wiki, config)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command as `who` and asserts its exit code.
fn run_as(config: &AdminibotConfig, who: &str, args: &[&str], code: i32) -> Output {
    let out = adminibot_as(&config.path, who, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "`adminibot {}` as {who}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    out
}

/// Runs a command as `who` that must fail with `code`, saying `needle` on stderr.
fn refused_as(config: &AdminibotConfig, who: &str, args: &[&str], code: i32, needle: &str) {
    let out = run_as(config, who, args, code);
    assert!(stderr(&out).contains(needle), "{}", stderr(&out));
}

/// The single result of `check --format json`.
fn check(config: &AdminibotConfig, title: &str, who: &str, extra: &[&str]) -> Value {
    let mut args = vec!["check", title, "--as", who, "--format", "json"];
    args.extend_from_slice(extra);
    let out = adminibot(&config.path, &args);
    json(&out)["results"][0].clone()
}

fn check_at(config: &AdminibotConfig, title: &str, who: &str, now: &str) -> Value {
    let out = adminibot_command(&config.path)
        .args(["check", title, "--as", who, "--format", "json"])
        .env("ADMINIBOT_NOW", now)
        .output()
        .unwrap();
    json(&out)["results"][0].clone()
}

fn authority(result: &Value) -> (bool, String) {
    let rule = &result["rules"][0];
    assert_eq!(rule["rule"], "authority", "{result:#}");
    (
        rule["passed"].as_bool().unwrap(),
        rule["detail"].as_str().unwrap().to_string(),
    )
}

fn audit_rows(config: &AdminibotConfig) -> Vec<Value> {
    let out = adminibot(&config.path, &["audit", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out)["rows"].as_array().unwrap().clone()
}

/// Admin appoints themself as `not-self` issuer and grants Alice `not-self` under
/// the shipped charter `name`.
fn grant_alice_not_self(config: &AdminibotConfig, name: &str) {
    support::grant_alice_not_self_under(config, &charter(name), 0);
}

fn charter(name: &str) -> String {
    format!("{CHARTERS}/{name}.toml")
}

fn time_from_now(wiki: &TestWiki, seconds: i64) -> String {
    let at = chrono::DateTime::from_timestamp(wiki.fixture_time + seconds, 0).unwrap();
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Self: "Issued by: Any administrator". Alice, who is not one, cannot; Admin can,
/// and `check` then finds the grant.
#[test]
fn only_administrators_grant_self_and_check_uses_the_grant() {
    let (_wiki, config) = wiki_and_config();
    let before = check(&config, "Draft:Alice sandbox", "Alice", &[]);
    assert_eq!(before["decision"], "refused");
    assert!(
        authority(&before).1.contains("`Alice` holds no grant"),
        "{before:#}"
    );

    refused_as(
        &config,
        "Alice",
        &["grant", "--user", "Bob", "--tier", "self"],
        1,
        "only an administrator may grant `self`",
    );
    assert!(
        audit_rows(&config).iter().all(|r| r["kind"] != "grant"),
        "a refused grant writes nothing"
    );

    let out = run_as(
        &config,
        "Admin",
        &[
            "grant",
            "--user",
            "Alice",
            "--tier",
            "self",
            "--reason",
            "good standing",
            "--format",
            "json",
        ],
        0,
    );
    let grant = json(&out)["grant"].clone();
    assert_eq!(grant["tier"], "self");
    assert_eq!(grant["user"]["name"], "Alice");
    assert_eq!(grant["issuer"]["name"], "Admin");
    assert_eq!(
        grant["issuer"]["groups"],
        serde_json::json!(["bureaucrat", "sysop"])
    );
    assert_eq!(grant["active"], true);

    let after = check(&config, "Draft:Alice sandbox", "Alice", &[]);
    assert_eq!(after["decision"], "allowed", "{after:#}");
    let (passed, detail) = authority(&after);
    assert!(
        passed && detail.contains("(self) issued by `Admin`"),
        "{detail}"
    );
    // Bob holds nothing, and Alice's grant does not make Bob's page hers.
    assert_eq!(
        check(&config, "Draft:Alice sandbox", "Bob", &[])["decision"],
        "refused"
    );
}

/// Not self: "Issued by: Person authorized to hand out this credential"; bureaucrats
/// appoint such issuers, and the grant needs a charter.
#[test]
fn not_self_needs_an_appointed_issuer_and_a_charter() {
    let (_wiki, config) = wiki_and_config();
    let drive = charter("db-author-backlog");
    let grant = [
        "grant",
        "--user",
        "Alice",
        "--tier",
        "not-self",
        "--charter",
        drive.as_str(),
    ];
    refused_as(
        &config,
        "Admin",
        &grant,
        1,
        "appointed as `not-self` issuer",
    );
    // AdminBot is a sysop but no bureaucrat: it cannot appoint.
    refused_as(
        &config,
        "AdminBot",
        &["issuers", "add", "AdminBot", "--tier", "not-self"],
        1,
        "only a bureaucrat may appoint",
    );
    // Bureaucrats appoint administrators only.
    refused_as(
        &config,
        "Admin",
        &["issuers", "add", "Bob", "--tier", "not-self"],
        1,
        "issuers must be administrators",
    );
    run_as(
        &config,
        "Admin",
        &["issuers", "add", "AdminBot", "--tier", "not-self"],
        0,
    );
    let listed =
        String::from_utf8(run_as(&config, "Admin", &["issuers", "list"], 0).stdout).unwrap();
    assert!(
        listed.contains("AdminBot") && listed.contains("not-self"),
        "{listed}"
    );

    refused_as(
        &config,
        "AdminBot",
        &["grant", "--user", "Alice", "--tier", "not-self"],
        2,
        "needs `--charter FILE`",
    );
    let out = run_as(&config, "AdminBot", &grant, 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("granted #"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    run_as(
        &config,
        "Admin",
        &["issuers", "remove", "AdminBot", "--tier", "not-self"],
        0,
    );
    run_as(&config, "AdminBot", &grant, 1);
}

/// Retired administrators: "Criteria: Be eligible to resume adminship by just
/// asking" — checked in the rights log — and "presumably authorized by a bureaucrat".
#[test]
fn retired_admin_needs_a_former_sysop_and_a_bureaucrats_approval() {
    let (_wiki, config) = wiki_and_config();
    run_as(
        &config,
        "Admin",
        &["issuers", "add", "AdminBot", "--tier", "retired-admin"],
        0,
    );
    refused_as(
        &config,
        "AdminBot",
        &["grant", "--user", "Bob", "--tier", "retired-admin"],
        1,
        "does not show `Bob` was ever an administrator",
    );

    let out = run_as(
        &config,
        "AdminBot",
        &[
            "grant",
            "--user",
            "OldAdmin",
            "--tier",
            "retired-admin",
            "--format",
            "json",
        ],
        0,
    );
    let grant = json(&out)["grant"].clone();
    assert_eq!(grant["active"], false);
    assert!(
        grant["state"].as_str().unwrap().starts_with("pending"),
        "{grant:#}"
    );
    let id = grant["id"].to_string();
    let pending = check(&config, "Shared page", "OldAdmin", &[]);
    assert!(authority(&pending).1.contains("pending"), "{pending:#}");

    // Only a bureaucrat approves, and not their own grant.
    run_as(&config, "AdminBot", &["approve", &id], 1);
    run_as(&config, "Admin", &["approve", &id], 0);
    run_as(&config, "Admin", &["approve", &id], 2);
    let approved = check(&config, "Shared page", "OldAdmin", &[]);
    let (passed, detail) = authority(&approved);
    assert!(passed && detail.contains("(retired-admin)"), "{approved:#}");

    // A bureaucrat's own grant is in force at once.
    run_as(
        &config,
        "Admin",
        &["revoke", "--user", "OldAdmin", "--reason", "test"],
        0,
    );
    run_as(
        &config,
        "Admin",
        &["issuers", "add", "Admin", "--tier", "retired-admin"],
        0,
    );
    let out = run_as(
        &config,
        "Admin",
        &[
            "grant",
            "--user",
            "OldAdmin",
            "--tier",
            "retired-admin",
            "--format",
            "json",
        ],
        0,
    );
    assert_eq!(json(&out)["grant"]["active"], true);
}

/// "Revoked by: Any administrator."
#[test]
fn only_administrators_revoke_and_revocation_ends_authority() {
    let (_wiki, config) = wiki_and_config();
    run_as(
        &config,
        "Admin",
        &["grant", "--user", "Alice", "--tier", "self"],
        0,
    );
    refused_as(
        &config,
        "Bob",
        &["revoke", "--user", "Alice"],
        1,
        "only an administrator may revoke `self`",
    );
    assert_eq!(
        check(&config, "Draft:Alice sandbox", "Alice", &[])["decision"],
        "allowed"
    );
    run_as(
        &config,
        "AdminBot",
        &["revoke", "--user", "Alice", "--reason", "misuse"],
        0,
    );
    let result = check(&config, "Draft:Alice sandbox", "Alice", &[]);
    assert_eq!(result["decision"], "refused");
    assert!(authority(&result).1.contains("revoked"), "{result:#}");
    run_as(&config, "Admin", &["revoke", "--user", "Alice"], 2);
    let list = String::from_utf8(run_as(&config, "Alice", &["list"], 0).stdout).unwrap();
    assert!(
        list.contains("revoked at") && list.contains("misuse"),
        "{list}"
    );
}

/// "Any editor in good standing can stop the bot entirely ("emergency off switch")
/// and any administrator can suspend them for a given user on an emergency basis."
#[test]
fn anyone_stops_administrators_resume_and_suspend() {
    let (_wiki, config) = wiki_and_config();
    run_as(
        &config,
        "Admin",
        &["grant", "--user", "Alice", "--tier", "self"],
        0,
    );
    run_as(
        &config,
        "Bob",
        &["stop", "--reason", "it deleted the wrong page"],
        0,
    );
    let result = check(&config, "Draft:Alice sandbox", "Alice", &[]);
    assert!(authority(&result).1.contains("stopped"), "{result:#}");
    run_as(&config, "Bob", &["resume"], 1);
    run_as(&config, "Admin", &["resume"], 0);
    assert_eq!(
        check(&config, "Draft:Alice sandbox", "Alice", &[])["decision"],
        "allowed"
    );

    run_as(
        &config,
        "Carol",
        &["suspend", "--user", "Alice", "--reason", "x"],
        1,
    );
    run_as(
        &config,
        "Admin",
        &[
            "suspend",
            "--user",
            "Alice",
            "--until",
            "2h",
            "--reason",
            "checking her deletions",
        ],
        0,
    );
    let result = check(&config, "Draft:Alice sandbox", "Alice", &[]);
    assert!(authority(&result).1.contains("suspended"), "{result:#}");
    run_as(&config, "Admin", &["unsuspend", "--user", "Alice"], 0);
    assert_eq!(
        check(&config, "Draft:Alice sandbox", "Alice", &[])["decision"],
        "allowed"
    );
}

#[test]
fn blocklisted_pages_and_users_are_refused_with_exceptions() {
    let (_wiki, config) = wiki_and_config();
    run_as(
        &config,
        "Admin",
        &["grant", "--user", "Alice", "--tier", "self"],
        0,
    );
    run_as(
        &config,
        "Alice",
        &["blocklist", "add", "--page", "draft:*"],
        1,
    );
    run_as(
        &config,
        "Admin",
        &[
            "blocklist",
            "add",
            "--page",
            "draft:*",
            "--reason",
            "drafts need review",
        ],
        0,
    );
    let result = check(&config, "Draft:Alice sandbox", "Alice", &[]);
    assert!(
        authority(&result).1.contains("page blocklist (`Draft:*`)"),
        "{result:#}"
    );
    run_as(
        &config,
        "Admin",
        &[
            "blocklist",
            "add",
            "--page",
            "Draft:Alice sandbox",
            "--exception",
        ],
        0,
    );
    assert_eq!(
        check(&config, "Draft:Alice sandbox", "Alice", &[])["decision"],
        "allowed"
    );
    run_as(
        &config,
        "Admin",
        &[
            "blocklist",
            "add",
            "--user",
            "Alice",
            "--reason",
            "sockpuppet",
        ],
        0,
    );
    assert!(
        authority(&check(&config, "Draft:Alice sandbox", "Alice", &[]))
            .1
            .contains("on the blocklist")
    );
    let list = String::from_utf8(adminibot(&config.path, &["blocklist", "list"]).stdout).unwrap();
    assert!(
        list.contains("page entry `Draft:*`")
            && list.contains("page exception `Draft:Alice sandbox`")
            && list.contains("user entry `Alice`"),
        "{list}"
    );
    let remove = [
        "blocklist",
        "remove",
        "--user",
        "Alice",
        "--reason",
        "cleared",
    ];
    run_as(&config, "Admin", &remove, 0);
    run_as(&config, "Admin", &remove, 2);
    assert_eq!(
        check(&config, "Draft:Alice sandbox", "Alice", &[])["decision"],
        "allowed"
    );
    let rows = audit_rows(&config);
    let removed = rows
        .iter()
        .find(|r| r["kind"] == "blocklist-remove")
        .unwrap();
    assert_eq!(removed["detail"]["reason"], "cleared", "{removed:#}");
}

/// "An example charter would be "Editor X is allowd to call the bot to delete pages
/// that qualify for db-author or db-user any time the backlog as listed in category
/// Y has entries older than 1 hour, with an expiration date of 1 year from now.""
#[test]
fn live_backlog_condition_and_charter_expiry_change_the_decision() {
    let (wiki, mut config) = wiki_and_config();
    grant_alice_not_self(&config, "db-author-backlog");

    // The category's entries were added when the wiki started: under an hour old.
    let fresh = check(&config, "Worked example", "Alice", &[]);
    assert_eq!(fresh["decision"], "refused", "{fresh:#}");
    assert!(
        authority(&fresh)
            .1
            .contains("Candidates for speedy deletion by user"),
        "{fresh:#}"
    );
    // The backlog ages on the wiki; nothing else changes.
    let two_hours_ago = chrono::DateTime::from_timestamp(wiki.fixture_time - 7200, 0).unwrap();
    wiki.sql(&format!(
        "UPDATE categorylinks SET cl_timestamp = '{}'",
        two_hours_ago.format("%Y-%m-%d %H:%M:%S")
    ));
    let aged = check(&config, "Worked example", "Alice", &[]);
    assert_eq!(aged["decision"], "needs-confirmation", "{aged:#}");
    assert!(authority(&aged).1.contains("db-author-backlog"), "{aged:#}");

    // A year and a day later the charter has ended (user space has no age limit).
    let in_a_day = check_at(
        &config,
        "User:Carol/Scratch",
        "Alice",
        &time_from_now(&wiki, 86_400),
    );
    assert_eq!(in_a_day["decision"], "needs-confirmation", "{in_a_day:#}");
    let next_year = check_at(
        &config,
        "User:Carol/Scratch",
        "Alice",
        &time_from_now(&wiki, 366 * 86_400),
    );
    assert_eq!(next_year["decision"], "refused", "{next_year:#}");
    assert!(
        authority(&next_year).1.contains("charter ended"),
        "{next_year:#}"
    );
    // `check` reads only: the revocation waits for a command that changes
    // something, or for the service's own maintenance.
    let rows = audit_rows(&config);
    assert!(
        !rows.iter().any(|r| r["kind"] == "auto-revoke"),
        "check wrote to the audit log: {rows:#?}"
    );
    let next_year_now = time_from_now(&wiki, 366 * 86_400);
    match config.service.as_mut() {
        // A service whose clock reads next year records it at start.
        Some(service) => service.restart(&[("ADMINIBOT_NOW", &next_year_now)]),
        None => {
            let next_year_run = adminibot_command_as(&config.path, "Alice")
                .args(["delete", "User:Carol/Scratch", "--dry-run"])
                .env("ADMINIBOT_NOW", &next_year_now)
                .output()
                .unwrap();
            assert_eq!(
                next_year_run.status.code(),
                Some(1),
                "{}",
                stderr(&next_year_run)
            );
        }
    }
    let rows = audit_rows(&config);
    let auto = rows
        .iter()
        .find(|r| r["kind"] == "auto-revoke")
        .expect("automatic revocation recorded");
    assert!(auto["actor"].is_null(), "{auto:#}");
}

/// The shipped drive charter with its week moved to start on the first Sunday
/// 00:00:00 GMT after the wiki's now, written to a temporary folder under its own
/// name; returns the folder (kept alive by the caller), the file and the drive's
/// start and end. The shipped dates have passed, so the test writes its own week.
fn drive_charter_from_next_sunday(wiki: &TestWiki) -> (tempfile::TempDir, String, i64, i64) {
    use chrono::Datelike;
    let now = chrono::DateTime::from_timestamp(wiki.fixture_time, 0).unwrap();
    let days = 7 - i64::from(now.weekday().num_days_from_sunday());
    let start = (now.date_naive() + chrono::Duration::days(days))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let end = start + 7 * 86_400;
    let shipped = std::fs::read_to_string(charter("speedy-backlog-drive")).unwrap();
    let at = |seconds: i64| time_from_now(wiki, seconds - wiki.fixture_time);
    let moved = shipped
        .replace("2026-11-22T00:00:00Z", &at(start))
        .replace("2026-11-29T00:00:00Z", &at(end));
    assert_ne!(
        moved, shipped,
        "the shipped charter's dates changed: update this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("speedy-backlog-drive.toml");
    std::fs::write(&file, moved).unwrap();
    (dir, file.display().to_string(), start, end)
}

/// "He is allowed to call the bot to delete pages that qualify for db-author or
/// db-user during the drive. The drive starts this Sunday at 00:00:00 GMT and
/// lasts for 7 days." Granted on the day it is written (before the Sunday),
/// checked before, during and after the week, whatever the date the test runs.
#[test]
fn the_backlog_drive_charter_covers_only_its_week() {
    let (wiki, config) = wiki_and_config();
    let (_dir, file, start, end) = drive_charter_from_next_sunday(&wiki);
    support::grant_alice_not_self_under(&config, &file, 0);
    let at = |seconds: i64| time_from_now(&wiki, seconds - wiki.fixture_time);
    let before = check_at(&config, "User:Carol/Scratch", "Alice", &at(start - 3600));
    assert_eq!(before["decision"], "refused", "{before:#}");
    let (passed, detail) = authority(&before);
    assert!(!passed, "{before:#}");
    assert!(
        detail.contains(&format!("starts at {}", at(start))),
        "{before:#}"
    );
    let during = check_at(
        &config,
        "User:Carol/Scratch",
        "Alice",
        &at(start + 60 * 3600),
    );
    assert_eq!(during["decision"], "needs-confirmation", "{during:#}");
    let after = check_at(&config, "User:Carol/Scratch", "Alice", &at(end + 1));
    assert_eq!(after["decision"], "refused", "{after:#}");
    assert!(
        authority(&after)
            .1
            .contains(&format!("ended at {}", at(end))),
        "{after:#}"
    );
}

/// A charter whose period is over cannot be granted: the grant could never be
/// used. The shipped drive charter (2026-11-22 to 2026-11-29) is such a one
/// from then on; here the same charter is moved to have ended an hour ago.
#[test]
fn a_charter_that_has_ended_is_refused_at_grant() {
    let (wiki, config) = wiki_and_config();
    let ended = std::fs::read_to_string(charter("speedy-backlog-drive"))
        .unwrap()
        .replace("2026-11-22T00:00:00Z", &time_from_now(&wiki, -8 * 86_400))
        .replace("2026-11-29T00:00:00Z", &time_from_now(&wiki, -3600));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("speedy-backlog-drive.toml");
    std::fs::write(&file, ended).unwrap();
    let refused = support::grant_alice_not_self_under(&config, file.to_str().unwrap(), 2);
    assert!(
        stderr(&refused).contains("ended at"),
        "{}",
        stderr(&refused)
    );
    let listed = adminibot(
        &config.path,
        &["list", "--user", "Alice", "--format", "json"],
    );
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains("speedy-backlog-drive"),
        "no grant was recorded: {}",
        String::from_utf8_lossy(&listed.stdout)
    );
}

/// A password that does not log in changes nothing.
#[test]
fn a_failed_login_changes_nothing() {
    let (_wiki, config) = wiki_and_config();
    run_as(
        &config,
        "Admin",
        &["grant", "--user", "Alice", "--tier", "self"],
        0,
    );
    let rows = audit_rows(&config).len();
    let admin = account("Admin");
    let out = adminibot_command(&config.path)
        .args(["revoke", "--user", "Alice"])
        .env("ADMINIBOT_USERNAME", &admin.botpassword_user)
        .env("ADMINIBOT_PASSWORD", &account("Bob").botpassword_secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the wiki refused the login of `Admin@adminibot`"),
        "{}",
        stderr(&out)
    );
    let out = adminibot_command(&config.path)
        .args(["stop", "--reason", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("needs your own wiki login"),
        "{}",
        stderr(&out)
    );
    assert_eq!(audit_rows(&config).len(), rows);
    assert_eq!(
        check(&config, "Draft:Alice sandbox", "Alice", &[])["decision"],
        "allowed"
    );
}

/// Two processes granting at the same time both commit, and the chain verifies;
/// a row edited behind adminibot's back breaks it at that row.
#[test]
fn concurrent_grants_commit_and_tampering_is_evident() {
    let (_wiki, config) = wiki_and_config();
    let spawn = |user: &str| {
        let admin = account("Admin");
        adminibot_command(&config.path)
            .args(["grant", "--user", user, "--tier", "self"])
            .env("ADMINIBOT_USERNAME", &admin.botpassword_user)
            .env("ADMINIBOT_PASSWORD", &admin.botpassword_secret)
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn("Alice"), spawn("Bob"));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let rows = audit_rows(&config);
    assert_eq!(rows.iter().filter(|r| r["kind"] == "grant").count(), 2);
    let out = adminibot(&config.path, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("head "));

    let victim = rows.iter().find(|r| r["kind"] == "grant").unwrap()["seq"]
        .as_i64()
        .unwrap();
    let store = config.store_path();
    let sql = format!(
        "DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; \
         UPDATE audit SET detail = replace(detail, 'self', 'extended') WHERE seq = {victim};"
    );
    support::sqlite(&store, &sql);
    let out = adminibot(&config.path, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("broken at row #{victim}")), "{text}");
}

/// No secret appears in any output or in the database.
#[test]
fn no_secret_reaches_output_or_the_store() {
    let (_wiki, config) = wiki_and_config();
    let mut seen = Vec::new();
    for args in [
        vec!["grant", "--user", "Alice", "--tier", "self", "-vv"],
        vec!["list", "-vv"],
        vec!["audit", "--format", "json", "-vv"],
    ] {
        for who in ["Admin", "Alice"] {
            let out = adminibot_as(&config.path, who, &args);
            seen.extend(out.stdout);
            seen.extend(out.stderr);
        }
    }
    let check = adminibot(
        &config.path,
        &["check", "Draft:Alice sandbox", "--as", "Alice", "-vv"],
    );
    seen.extend(check.stdout);
    seen.extend(check.stderr);
    let output = String::from_utf8_lossy(&seen);
    assert!(output.contains("granted #"), "the commands ran: {output}");
    let mut database = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", config.store_path().display());
        database.extend(std::fs::read(&path).unwrap_or_default());
    }
    let database = String::from_utf8_lossy(&database);
    for account in accounts() {
        for secret in [&account.botpassword_secret, &account.password] {
            assert!(
                !output.contains(secret.as_str()),
                "{}'s secret in the output",
                account.name
            );
            assert!(
                !database.contains(secret.as_str()),
                "{}'s secret in the store",
                account.name
            );
        }
    }
}

/// I-8: Alice is renamed to Alicia (MediaWiki's Renameuser; the user id stays).
/// Her grant follows the user id: Alicia, logging in with the same BotPassword
/// under her new name, deletes her draft, and the deletion log names Alicia. The
/// old name carries nothing: it is no user now.
#[test]
fn a_grant_follows_a_renamed_user_and_not_the_old_name() {
    let (wiki, config) = wiki_and_config();
    run_as(
        &config,
        "Admin",
        &["grant", "--user", "Alice", "--tier", "self"],
        0,
    );
    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php wfLoadExtension( 'Renameuser' );\n",
    )
    .unwrap();
    wiki.maintenance(
        "extensions/Renameuser/maintenance/renameUser.php",
        &[
            "--oldname",
            "Alice",
            "--newname",
            "Alicia",
            "--performer",
            "Admin",
        ],
    );
    let alice = account("Alice");
    let secret = &alice.botpassword_secret;
    let app = alice.botpassword_user.split_once('@').unwrap().1;
    let out = adminibot_command(&config.path)
        .env("ADMINIBOT_USERNAME", format!("Alicia@{app}"))
        .env("ADMINIBOT_PASSWORD", secret)
        .args(["delete", "Draft:Alice sandbox", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["results"][0]["decision"], "done");
    let log = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "delete"),
        ("letitle", "Draft:Alice sandbox"),
    ]);
    let comment = log["query"]["logevents"][0]["comment"].as_str().unwrap();
    assert!(comment.contains("[[User:Alicia|Alicia]]"), "{comment}");

    let old = check(&config, "Alice draft", "Alice", &["--tier", "self"]);
    assert!(
        old["error"]
            .as_str()
            .is_some_and(|e| e.contains("no user `Alice`")),
        "{old:#}"
    );
    // Someone registers the free old name: a new user id, so no grant.
    wiki.maintenance(
        "maintenance/createAndPromote.php",
        &["Alice", "a-new-password-for-the-new-alice"],
    );
    let newcomer = check(&config, "Alice draft", "Alice", &["--tier", "self"]);
    assert_eq!(newcomer["decision"], "refused", "{newcomer:#}");
    let authority = newcomer["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "authority")
        .unwrap();
    assert_eq!(authority["passed"], false, "{authority:#}");
    assert!(authority.to_string().contains("no grant"), "{authority:#}");
}
