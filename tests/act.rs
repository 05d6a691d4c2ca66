//! `adminibot delete|undelete|delete-redirect` on the real test wiki: what the
//! wiki shows afterwards (attribution in the requester's contributions, the bot's
//! deletion log entry naming them), and that every refusal leaves it untouched.

mod support;

use serde_json::Value;
use support::{
    act_json, adminibot, adminibot_as, adminibot_command_as, alice_with_self_grant, first_result,
    sqlite, AdminibotConfig, TestWiki,
};

/// The newest log id and revision id: anything written moves one of them.
fn high_water(wiki: &TestWiki) -> (String, String) {
    (
        wiki.sql("SELECT max(log_id) FROM logging"),
        wiki.sql("SELECT max(rev_id) FROM revision"),
    )
}

/// How many live revisions `Draft:Alice sandbox` has, from the wiki's database.
fn live_revisions_of_alice_sandbox(wiki: &TestWiki) -> String {
    wiki.sql(
        "SELECT count(*) FROM revision JOIN page ON rev_page = page_id \
         WHERE page_namespace = 118 AND page_title = 'Alice_sandbox'",
    )
    .trim()
    .to_string()
}

/// Alice (self tier) deletes her own recent draft: the attribution edit is in her
/// contributions, the deletion log names AdminBot with a reason naming her, the
/// audit chain verifies; she undeletes it within the window, and not after.
#[test]
fn alice_deletes_and_undeletes_her_own_draft() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (code, deleted) = act_json(&config, "Alice", &["delete", title, "--reason", "G7 test"]);
    assert_eq!(
        (code, deleted["decision"].as_str()),
        (0, Some("done")),
        "{deleted:#}"
    );
    assert!(!wiki.exists(title));
    let request_id = deleted["request_id"].as_str().unwrap().to_string();

    let contribs = wiki.api_get(&[
        ("action", "query"),
        ("list", "usercontribs"),
        ("ucuser", "Alice"),
        ("uclimit", "1"),
    ]);
    let latest = &contribs["query"]["usercontribs"][0];
    assert_eq!(latest["title"], "User:Alice/adminibot", "{contribs}");
    let summary = latest["comment"].as_str().unwrap();
    assert!(
        summary.contains("delete [[:Draft:Alice sandbox]]") && summary.contains(&request_id),
        "{summary}"
    );
    assert_eq!(deleted["done"]["attribution_revid"], latest["revid"]);

    let log = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "delete"),
        ("letitle", title),
    ]);
    let entry = &log["query"]["logevents"][0];
    assert_eq!(entry["user"], "AdminBot", "{log}");
    let reason = entry["comment"].as_str().unwrap();
    assert!(
        reason.starts_with("On behalf of [[User:Alice|Alice]] (adminibot tier self, request "),
        "{reason}"
    );
    assert!(
        reason.ends_with(": G7 test") && reason.contains(&request_id),
        "{reason}"
    );
    // The line goes to this month's subpage of the log page (issue 10 #12).
    let logged = support::first_audit_row(&config.path, "logged");
    let log_page = logged["detail"]["page"].as_str().unwrap().to_string();
    let month = log_page
        .strip_prefix("User:AdminBot/Log/")
        .unwrap_or_else(|| panic!("not a monthly subpage: {log_page}"));
    assert!(
        chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok(),
        "{log_page}"
    );
    let on_wiki_log = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", &log_page),
        ("rvprop", "content"),
        ("rvslots", "main"),
    ]);
    let text = on_wiki_log["query"]["pages"][0]["revisions"][0]["slots"]["main"]["content"]
        .as_str()
        .unwrap();
    assert!(
        text.contains(&request_id) && text.contains("head "),
        "{text}"
    );
    assert_eq!(
        adminibot(&config.path, &["audit", "verify"]).status.code(),
        Some(0)
    );

    // Not after the window: the draft's undelete window is one day.
    let later = chrono::DateTime::from_timestamp(wiki.fixture_time + 2 * 86_400, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let out = adminibot_command_as(&config.path, "Alice")
        .args(["undelete", title, "--format", "json"])
        .env("ADMINIBOT_NOW", &later)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(first_result(&out)["decision"], "refused");
    assert!(!wiki.exists(title));

    let (code, undeleted) = act_json(&config, "Alice", &["undelete", title]);
    assert_eq!(
        (code, undeleted["decision"].as_str()),
        (0, Some("done")),
        "{undeleted:#}"
    );
    let revisions = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", title),
        ("rvlimit", "max"),
        ("rvprop", "ids|user"),
    ]);
    let restored = revisions["query"]["pages"][0]["revisions"]
        .as_array()
        .unwrap();
    assert_eq!(
        restored.len(),
        2,
        "exactly the two deleted revisions: {revisions}"
    );
    assert!(restored.iter().all(|r| r["user"] == "Alice"));
}

/// Each refusal path of the proposal leaves the wiki untouched: no edit, no log entry.
#[test]
fn refusals_leave_the_wiki_untouched() {
    let (wiki, config) = alice_with_self_grant();
    let before = high_water(&wiki);
    for (args, rule) in [
        (vec!["delete", "Shared page"], "single_author"),
        (vec!["delete", "Old article"], "recent"),
        (vec!["delete", "Protected page"], "not_protected"),
        (vec!["delete", "Former redirect"], "never_redirect"),
        (vec!["delete", "Copyvio history"], "never_copyvio"),
        (
            vec!["undelete", "User:Alice/Deleted by admin"],
            "own_deletion",
        ),
    ] {
        let (code, result) = act_json(&config, "Alice", &args);
        assert_eq!(code, 1, "{args:?}: {result:#}");
        assert_eq!(result["decision"], "refused", "{args:?}");
        let failing: Vec<&str> = result["rules"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["passed"] == false)
            .map(|r| r["rule"].as_str().unwrap())
            .collect();
        assert!(failing.contains(&rule), "{args:?}: {failing:?}");
    }
    // A main-space page the bot could not undo needs confirmation first.
    let (code, result) = act_json(&config, "Alice", &["delete", "Alice draft"]);
    assert_eq!(
        (code, result["decision"].as_str()),
        (1, Some("needs-confirmation")),
        "{result:#}"
    );
    // A dry run checks everything and writes nothing.
    let (code, result) = act_json(
        &config,
        "Alice",
        &["delete", "Draft:Alice sandbox", "--dry-run"],
    );
    assert_eq!(
        (code, result["decision"].as_str()),
        (0, Some("allowed")),
        "{result:#}"
    );
    assert_eq!(
        high_water(&wiki),
        before,
        "a refusal or dry run wrote to the wiki"
    );
    assert!(wiki.exists("Draft:Alice sandbox"));
}

/// "Any editor in good standing can stop the bot entirely", locally or on the
/// wiki; a suspended user is refused too.
#[test]
fn stop_switch_shutoff_page_and_suspension_stop_deletions() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    assert_eq!(
        adminibot_as(
            &config.path,
            "Admin",
            &["suspend", "--user", "Alice", "--reason", "review"]
        )
        .status
        .code(),
        Some(0)
    );
    let before = high_water(&wiki);
    assert_eq!(act_json(&config, "Alice", &["delete", title]).0, 1);
    assert_eq!(high_water(&wiki), before, "suspended: nothing written");
    assert_eq!(
        adminibot_as(&config.path, "Admin", &["unsuspend", "--user", "Alice"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        adminibot_as(&config.path, "Bob", &["stop", "--reason", "test"])
            .status
            .code(),
        Some(0)
    );
    // (Through the service, `unsuspend` and `stop` are signed by their own edits.)
    let before = high_water(&wiki);
    assert_eq!(act_json(&config, "Alice", &["delete", title]).0, 1);
    assert_eq!(high_water(&wiki), before, "stopped: nothing written");
    assert_eq!(
        adminibot_as(&config.path, "Admin", &["resume"])
            .status
            .code(),
        Some(0)
    );

    // Bob, an ordinary editor, changes the shutoff page: the bot stops.
    wiki.edit_as("Bob", "User:AdminBot/Shutoff", "stop: something is wrong");
    let before = high_water(&wiki);
    let (code, result) = act_json(&config, "Alice", &["delete", title]);
    assert_eq!(code, 1, "{result:#}");
    assert!(
        result["steps"][0]
            .as_str()
            .unwrap()
            .contains("shutoff page"),
        "{result:#}"
    );
    assert_eq!(high_water(&wiki), before);
    // Writing `run` back is not enough unless an administrator does it.
    wiki.edit_as("Bob", "User:AdminBot/Shutoff", "run");
    assert_eq!(act_json(&config, "Alice", &["delete", title]).0, 1);
    wiki.edit_as("Bob", "User:AdminBot/Shutoff", "off");
    wiki.edit_as("Admin", "User:AdminBot/Shutoff", "run");
    assert_eq!(act_json(&config, "Alice", &["delete", title]).0, 0);
    assert!(!wiki.exists(title));
}

/// Issue 10 #8: a dry run meets every gate the real run would, the on-wiki
/// shutoff page and the local stop switch included: it says `refused` while the
/// bot is off, and `allowed` again once an administrator writes the run word.
#[test]
fn a_dry_run_meets_the_shutoff_page_and_the_stop_switch() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let dry_run = || act_json(&config, "Alice", &["delete", title, "--dry-run"]);
    assert_eq!(dry_run().1["decision"], "allowed");

    wiki.edit_as("Carol", "User:AdminBot/Shutoff", "stop: bad run");
    let before = high_water(&wiki);
    let (code, result) = dry_run();
    assert_eq!(
        (code, result["decision"].as_str()),
        (1, Some("refused")),
        "{result:#}"
    );
    assert!(
        result["steps"].to_string().contains("shutoff page"),
        "{result:#}"
    );
    assert_eq!(high_water(&wiki), before, "a dry run writes nothing");
    wiki.edit_as("Admin", "User:AdminBot/Shutoff", "run");
    assert_eq!(dry_run().1["decision"], "allowed");

    let stopped = adminibot_as(&config.path, "Bob", &["stop", "--reason", "checking"]);
    assert_eq!(
        stopped.status.code(),
        Some(0),
        "{}",
        support::said(&stopped)
    );
    let (code, result) = dry_run();
    assert_eq!(code, 1, "{result:#}");
    assert!(result.to_string().contains("stop switch"), "{result:#}");
    assert!(wiki.exists(title));
}

/// Issue 10 #13: a reason reaches the wiki's deletion log as visible text (no
/// bidi override, no line break) and short enough that the wiki never cuts off
/// whom the bot acted for.
#[test]
fn a_reason_reaches_the_deletion_log_visible_and_within_the_limit() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let reason = format!(
        "G7 \u{202E}txet\u{2066} {}\nsecond line",
        "long ".repeat(120)
    );
    let (code, result) = act_json(&config, "Alice", &["delete", title, "--reason", &reason]);
    assert_eq!(code, 0, "{result:#}");
    let log = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "delete"),
        ("letitle", title),
    ]);
    let comment = log["query"]["logevents"][0]["comment"].as_str().unwrap();
    assert!(
        comment.starts_with("On behalf of [[User:Alice|Alice]]"),
        "{comment}"
    );
    assert!(
        !comment.contains(['\u{202E}', '\u{2066}', '\n']),
        "{comment:?}"
    );
    assert!(
        comment.chars().count() <= 500,
        "{}",
        comment.chars().count()
    );
    assert!(comment.ends_with('…'), "{comment}");
}

/// Issue 10 #1, #2: a deletion that reconcile records (the process died right
/// after the delete) keeps the revisions it removed, read back among those the
/// rules checked, so a rollback restores exactly those: an undelete is never
/// sent without an explicit list (the wiki would restore everything ever
/// deleted at the title).
#[test]
fn a_reconciled_deletion_keeps_its_revisions_for_rollback() {
    let (wiki, mut config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (child, _pause) = delete_paused(&config, title, "after-delete");
    if !config.crash(child) {
        reconcile_expecting(&config, 0);
    }
    assert!(!wiki.exists(title));
    let deleted = support::first_audit_row(&config.path, "deleted");
    assert_eq!(deleted["detail"]["found_by"], "reconcile", "{deleted:#}");
    assert_eq!(
        deleted["detail"]["revisions"].as_array().map(Vec::len),
        Some(2),
        "{deleted:#}"
    );
    let out = adminibot_as(
        &config.path,
        "Admin",
        &["rollback", "--since", "1h", "--yes"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", support::said(&out));
    assert_eq!(
        live_revisions_of_alice_sandbox(&wiki),
        "2",
        "exactly the bot's two revisions restored"
    );
}

/// Issue 10 #14: reconcile takes as a request's attribution only the
/// requester's edit on their attribution page, never another edit of theirs
/// whose summary mentions the request id.
#[test]
fn reconcile_takes_the_attribution_from_the_attribution_page_only() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    break_audit_log(&config, Some("attributed"));
    let out = adminibot_as(
        &config.path,
        "Alice",
        &["delete", title, "--format", "json"],
    );
    let request_id = first_result(&out)["request_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", support::said(&out)))
        .to_string();
    assert!(wiki.exists(title), "nothing deleted without the record");
    break_audit_log(&config, None);
    let attribution = wiki.api_get(&[
        ("action", "query"),
        ("titles", "User:Alice/adminibot"),
        ("prop", "info"),
    ])["query"]["pages"][0]["lastrevid"]
        .as_u64()
        .unwrap();
    // Later, Alice mentions the request in an edit elsewhere.
    let elsewhere = wiki.write_as(
        "Alice",
        &[
            ("action", "edit"),
            ("title", "Draft:Alice notes"),
            ("text", "notes"),
            ("summary", &format!("about {request_id}")),
        ],
    );
    assert_eq!(elsewhere["edit"]["result"], "Success", "{elsewhere}");
    reconcile_expecting(&config, 0);
    let attributed = support::first_audit_row(&config.path, "attributed");
    assert_eq!(attributed["detail"]["revid"], attribution, "{attributed:#}");
}

/// Starts `delete TITLE` as Alice and holds it at the test pause point `stage`;
/// returns the running process and the pause folder.
fn delete_paused(
    config: &AdminibotConfig,
    title: &str,
    stage: &str,
) -> (std::process::Child, tempfile::TempDir) {
    let mut command = adminibot_command_as(&config.path, "Alice");
    command.args(["delete", title, "--format", "json"]);
    support::spawn_paused(command, stage)
}

/// Lets a paused run go on; returns its exit code and result.
fn resume(child: std::process::Child, pause: tempfile::TempDir) -> (Option<i32>, Value) {
    std::fs::write(pause.path().join("resume"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), first_result(&out))
}

/// The page is edited between the facts read and the write: nothing is deleted,
/// and the exit code and report say why.
#[test]
fn an_edit_after_the_check_stops_the_deletion() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (child, pause) = delete_paused(&config, title, "before-recheck");
    wiki.edit_as("Bob", title, "Bob was here.");
    let (code, report) = resume(child, pause);
    assert_eq!(code, Some(4), "{report:#}");
    assert_eq!(report["decision"], "partial", "{report:#}");
    let steps = report["steps"].to_string();
    assert!(
        steps.contains("changed since it was checked") && steps.contains("nothing was deleted"),
        "{steps}"
    );
    assert!(wiki.exists(title), "the page must still exist");
    assert_eq!(
        adminibot(&config.path, &["audit", "verify"]).status.code(),
        Some(0)
    );
}

/// "The on-wiki shutoff page ... read before every write": an editor who stops
/// the bot while a request is under way stops its write.
#[test]
fn the_shutoff_page_changed_mid_request_stops_the_write() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (child, pause) = delete_paused(&config, title, "before-recheck");
    wiki.edit_as("Carol", "User:AdminBot/Shutoff", "stop");
    let (code, report) = resume(child, pause);
    assert_eq!(code, Some(4), "{report:#}");
    assert!(
        report["steps"].to_string().contains("shutoff page"),
        "{report:#}"
    );
    assert!(wiki.exists(title), "the page must still exist");
}

/// Extended: "Deleting redirects left over after the user moves a page".
#[test]
fn alice_deletes_the_redirect_her_move_left() {
    let (wiki, config) = alice_with_self_grant();
    let charter = concat!(env!("CARGO_MANIFEST_DIR"), "/charters/move-redirects.toml");
    let grant = [
        "grant",
        "--user",
        "Alice",
        "--tier",
        "extended",
        "--charter",
        charter,
    ];
    assert_eq!(
        adminibot_as(&config.path, "Admin", &grant).status.code(),
        Some(0)
    );
    let (code, refused) = act_json(&config, "Alice", &["delete-redirect", "Alice old title"]);
    assert_eq!(
        (code, refused["decision"].as_str()),
        (1, Some("needs-confirmation")),
        "{refused:#}"
    );
    let (code, done) = act_json(
        &config,
        "Alice",
        &["delete-redirect", "Alice old title", "--yes"],
    );
    assert_eq!(
        (code, done["decision"].as_str()),
        (0, Some("done")),
        "{done:#}"
    );
    assert_eq!(done["tier"], "extended");
    assert!(!wiki.exists("Alice old title"));
    assert!(wiki.exists("Alice new title"), "the moved page stays");
    let contribs = wiki.api_get(&[
        ("action", "query"),
        ("list", "usercontribs"),
        ("ucuser", "Alice"),
        ("uclimit", "1"),
    ]);
    let summary = contribs["query"]["usercontribs"][0]["comment"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        summary.contains("tier extended, charter move-redirects"),
        "{summary}"
    );
}

/// "If there is a deletion request with previously deleted revisions, it will be
/// made but it will be flagged for urgent review by a live administrator."
#[test]
fn a_previously_deleted_page_is_deleted_and_flagged_on_the_noticeboard() {
    let (wiki, config) = alice_with_self_grant();
    let (code, done) = act_json(
        &config,
        "Alice",
        &["delete", "Previously deleted page", "--yes"],
    );
    assert_eq!(
        (code, done["decision"].as_str()),
        (0, Some("done")),
        "{done:#}"
    );
    assert_eq!(done["flagged"], true);
    let (posts, text) = bot_posts_once(&wiki, 1);
    assert_eq!(posts, 1);
    assert!(
        text.contains("Urgent review")
            && text.contains("[[:Previously deleted page]]")
            && text.contains(done["request_id"].as_str().unwrap()),
        "{text}"
    );
}

/// How many times the bot has posted to the noticeboard, and its latest post's
/// page text, once there are `expected` posts (a service posts a batch's
/// reviews a moment after it ends) or 20 s have passed.
fn bot_posts_once(wiki: &TestWiki, expected: u32) -> (u32, String) {
    let count = || {
        wiki.sql(
            "SELECT count(*) FROM revision JOIN page ON rev_page = page_id \
             JOIN actor ON rev_actor = actor_id \
             WHERE page_namespace = 4 AND page_title = 'Administrators''_noticeboard' \
             AND actor_name = 'AdminBot'",
        )
        .trim()
        .parse::<u32>()
        .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count() < expected && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let board = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", "Project:Administrators' noticeboard"),
        ("rvprop", "content|user"),
        ("rvslots", "main"),
    ]);
    let latest = &board["query"]["pages"][0]["revisions"][0];
    let text = latest["slots"]["main"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (count(), text)
}

/// Issue 10 #10: a batch's urgent reviews go out together, one noticeboard
/// post by the bot naming every title; a title posted for review in the last
/// day is not posted again, so a create-and-delete loop cannot flood the
/// noticeboard (the audit log records it as passed over).
#[test]
fn a_batchs_urgent_reviews_are_one_post_and_not_repeated_within_a_day() {
    let (wiki, config) = alice_with_self_grant();
    let delete = |titles: &[&str]| {
        let out = adminibot_as(
            &config.path,
            "Alice",
            &[&["delete", "--yes", "--format", "json"], titles].concat(),
        );
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", support::said(&out)));
        assert_eq!(out.status.code(), Some(0), "{doc:#}");
        doc["results"].as_array().unwrap().clone()
    };
    wiki.edit_as("Alice", "Alice loop", "Spam.");
    assert_eq!(delete(&["Alice loop"])[0]["flagged"], false);
    wiki.edit_as("Alice", "Alice loop", "Spam again.");

    let results = delete(&["Previously deleted page", "Alice loop"]);
    assert!(results.iter().all(|r| r["flagged"] == true), "{results:#?}");
    let (posts, text) = bot_posts_once(&wiki, 1);
    assert_eq!(posts, 1, "one post for the batch");
    for result in &results {
        let title = result["title"].as_str().unwrap();
        let request = result["request_id"].as_str().unwrap();
        assert!(
            text.contains(&format!("[[:{title}]]")) && text.contains(request),
            "{text}"
        );
    }

    wiki.edit_as("Alice", "Alice loop", "Spam a third time.");
    let again = delete(&["Alice loop"]);
    let request = again[0]["request_id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let passed_over = loop {
        let audit = adminibot(&config.path, &["audit", "--format", "json"]);
        let doc: Value = serde_json::from_slice(&audit.stdout).expect("audit JSON");
        let found = doc["rows"].as_array().into_iter().flatten().find(|r| {
            r["kind"] == "reviews-posted"
                && r["detail"]["covered"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|id| id == request.as_str()))
        });
        match found {
            Some(row) => break row.clone(),
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(300))
            }
            None => panic!("no reviews-posted row covers {request}: {doc:#}"),
        }
    };
    assert_eq!(passed_over["detail"]["titles"], serde_json::json!([]));
    assert_eq!(
        bot_posts_once(&wiki, 1).0,
        1,
        "no second post within the day"
    );
}

/// "When in doubt, the bot should refuse to act and offer to post to the
/// appropriate noticeboard requesting administrative assistance."
#[test]
fn escalation_posts_the_refusal_as_the_requester() {
    let (wiki, config) = alice_with_self_grant();
    let (code, refused) = act_json(&config, "Alice", &["delete", "Shared page", "--escalate"]);
    assert_eq!(
        (code, refused["decision"].as_str()),
        (1, Some("refused")),
        "{refused:#}"
    );
    let board = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", "Project:Administrators' noticeboard"),
        ("rvprop", "content|user"),
        ("rvslots", "main"),
    ]);
    let latest = &board["query"]["pages"][0]["revisions"][0];
    assert_eq!(latest["user"], "Alice", "{board}");
    let text = latest["slots"]["main"]["content"].as_str().unwrap();
    assert!(
        text.contains("[[:Shared page]]") && text.contains("single_author"),
        "{text}"
    );
    assert!(wiki.exists("Shared page"));
}

/// "Any administrator can ask the bot to undo or roll-back its recent edits, up to
/// a point." Rollback restores a deleted page with exactly its revisions.
#[test]
fn rollback_restores_exactly_the_deleted_revisions() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let before = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", title),
        ("rvlimit", "max"),
        ("rvprop", "ids|timestamp"),
    ]);
    let (code, _) = act_json(&config, "Alice", &["delete", title]);
    assert_eq!(code, 0);
    let out = adminibot_as(
        &config.path,
        "Alice",
        &["rollback", "--since", "1h", "--yes"],
    );
    assert_eq!(out.status.code(), Some(1), "only administrators roll back");
    let out = adminibot_as(&config.path, "Admin", &["rollback", "--since", "1h"]);
    assert_eq!(out.status.code(), Some(1), "asks for --yes first");
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("would undelete `Draft:Alice sandbox` (2 revision(s)"));
    let out = adminibot_as(
        &config.path,
        "Admin",
        &["rollback", "--since", "1h", "--yes"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let after = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", title),
        ("rvlimit", "max"),
        ("rvprop", "ids|timestamp"),
    ]);
    assert_eq!(
        after["query"]["pages"][0]["revisions"],
        before["query"]["pages"][0]["revisions"]
    );
    assert_eq!(
        adminibot(&config.path, &["audit", "verify"]).status.code(),
        Some(0)
    );
}

/// Killed between stages, a request stays open and blocks the page until
/// `reconcile` reads the wiki and settles it; nothing is done twice.
#[test]
fn a_killed_request_blocks_the_page_until_reconciled() {
    let (wiki, mut config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (child, _pause) = delete_paused(&config, title, "after-delete");
    let by_itself = config.crash(child);
    assert!(!wiki.exists(title), "the deletion happened before the kill");

    if by_itself {
        // A restarted service settles open requests before taking new ones.
        let audit = adminibot(&config.path, &["audit", "--format", "json"]);
        let audit = String::from_utf8_lossy(&audit.stdout);
        assert!(audit.contains(r#""found_by":"reconcile""#), "{audit}");
    } else {
        let (code, blocked) = {
            let out = adminibot_as(&config.path, "Alice", &["undelete", title]);
            (
                out.status.code().unwrap(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        assert_eq!(code, 1);
        assert!(blocked.contains("never finished"), "{blocked}");
        let text = reconcile_expecting(&config, 0);
        assert!(text.contains("the wiki shows delete (log"), "{text}");
    }
    let (code, undeleted) = act_json(&config, "Alice", &["undelete", title]);
    assert_eq!(
        (code, undeleted["decision"].as_str()),
        (0, Some("done")),
        "{undeleted:#}"
    );
    assert_eq!(
        adminibot(&config.path, &["audit", "verify"]).status.code(),
        Some(0)
    );
}

/// Batches: titles from stdin, one login, a summary at the end; each page judged
/// on its own.
#[test]
fn a_batch_from_stdin_judges_each_page_and_sums_up() {
    let (wiki, config) = alice_with_self_grant();
    let before = wiki.request_count();
    let out = support::output_with_stdin(
        adminibot_command_as(&config.path, "Alice").args(["delete", "-", "--dry-run"]),
        "Draft:Alice sandbox\nShared page\n\nFoo#bar\n",
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the worst status wins: a bad title"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("summary of 3 pages:"), "{text}");
    assert!(
        text.contains("allowed") && text.contains("refused") && text.contains("failed"),
        "{text}"
    );
    assert!(
        wiki.exists("Draft:Alice sandbox"),
        "a dry run deletes nothing"
    );
    // Two logins (caller and bot, 2 requests each) and the caller's userinfo once,
    // then at most 3 reads per page: no login per page.
    let used = wiki.request_count() - before;
    assert!(used <= 5 + 3 * 2, "{used} requests for two readable pages");
}

/// One page given three ways in a batch (`Foo`, `foo`, `Foo_bar`) is judged,
/// signed and deleted once: one attribution edit, one deletion, one result that
/// names the other spellings, and exit 0 (not a bogus second request, exit 4).
#[test]
fn a_page_given_twice_in_a_batch_is_acted_on_once() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let edits_before = wiki.sql(
        "SELECT count(*) FROM revision JOIN page ON rev_page = page_id \
         WHERE page_namespace = 2 AND page_title = 'Alice/adminibot'",
    );
    let out = adminibot_as(
        &config.path,
        "Alice",
        &[
            "delete",
            title,
            "Draft:alice sandbox",
            "draft:Alice_sandbox",
            "--reason",
            "G7 test",
            "--format",
            "json",
        ],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{doc:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{doc:#}");
    assert_eq!(results[0]["decision"], "done");
    assert_eq!(
        results[0]["also_requested"],
        serde_json::json!(["Draft:alice sandbox", "draft:Alice_sandbox"])
    );
    assert!(!wiki.exists(title));
    let edits_after = wiki.sql(
        "SELECT count(*) FROM revision JOIN page ON rev_page = page_id \
         WHERE page_namespace = 2 AND page_title = 'Alice/adminibot'",
    );
    assert_eq!(
        edits_after.trim().parse::<u32>().unwrap(),
        edits_before.trim().parse::<u32>().unwrap_or(0) + 1,
        "one attribution edit"
    );
    let deletions = wiki.sql(
        "SELECT count(*) FROM logging WHERE log_type = 'delete' AND log_action = 'delete' \
         AND log_namespace = 118 AND log_title = 'Alice_sandbox'",
    );
    assert_eq!(deletions.trim(), "1");
    let text = adminibot_as(
        &config.path,
        "Alice",
        &["undelete", title, "Draft:alice sandbox", "--dry-run"],
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("also given as `Draft:alice sandbox`: the same page"),
        "{text}"
    );
}

/// A batch that outlasts the clock-skew limit and a proposal's life (both
/// shortened by test hooks, as 30 pages at English Wikipedia's 10 s write
/// interval outlast the real five minutes): each page is judged on facts and a
/// wiki time read just before, and a ticket about to expire is proposed again,
/// so every page is done (before: "clock is off" or "expired" mid-batch).
#[test]
fn a_long_batch_reads_the_time_and_facts_afresh_for_each_page() {
    let wiki = TestWiki::start();
    let config = wiki
        .adminibot_config(true)
        .with_store()
        .with_policy(|p| p.replace("write_interval = \"0s\"", "write_interval = \"5s\""));
    support::grant_self(&config, "Alice");
    let titles = ["Draft:Alice sandbox", "Alice draft", "User:Alice/Old notes"];
    let out = adminibot_command_as(&config.path, "Alice")
        .env("ADMINIBOT_TEST_MAX_CLOCK_SKEW_SECS", "3")
        .env("ADMINIBOT_TEST_PROPOSAL_LIFETIME_SECS", "4")
        .args(["delete", "--yes", "--reason", "G7 test", "--format", "json"])
        .args(titles)
        .output()
        .expect("run adminibot");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", support::said(&out)));
    let decisions: Vec<&str> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["done", "done", "done"], "{doc:#}");
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    for title in titles {
        assert!(!wiki.exists(title), "{title} is still there");
    }
}

/// Issue 10 #10: the policy's `[limits]`, held by the store: a batch longer
/// than `batch`, re-deleting a title the bot deleted more often than
/// `redeletions` allows, and an action past the tier's quota for the hour are
/// each refused with exit 1 and a message that says why, and write nothing.
#[test]
fn the_policys_limits_refuse_with_exit_1_and_write_nothing() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true).with_store().with_policy(|p| {
        p.replace("batch = 100", "batch = 2")
            .replace("redeletions = 2", "redeletions = 1")
            .replace(
                "[limits.per_hour]\nself = 30",
                "[limits.per_hour]\nself = 3",
            )
    });
    support::grant_self(&config, "Alice");
    let refused = |args: &[&str], needle: &str| {
        let before = high_water(&wiki);
        let out = adminibot_as(&config.path, "Alice", args);
        assert_eq!(out.status.code(), Some(1), "{}", support::said(&out));
        assert!(
            support::said(&out).contains(needle),
            "{}",
            support::said(&out)
        );
        assert_eq!(high_water(&wiki), before, "nothing written");
    };
    refused(
        &[
            "delete",
            "Draft:Alice sandbox",
            "Alice draft",
            "User:Alice/Old notes",
        ],
        "3 titles in one command, and the policy allows at most 2",
    );

    // The bot deleted this page once before the fixture's end: once more is
    // its one re-deletion; after Alice recreates it, the next is refused.
    let title = "Previously deleted page";
    let (code, done) = act_json(&config, "Alice", &["delete", title, "--yes"]);
    assert_eq!(
        (code, done["decision"].as_str()),
        (0, Some("done")),
        "{done:#}"
    );
    wiki.edit_as("Alice", title, "Back again.");
    refused(
        &["delete", title, "--yes"],
        "the bot has deleted this title 2 times already, and the policy allows 1 re-deletion(s)",
    );

    for title in ["Draft:Alice sandbox", "Alice draft"] {
        let (code, done) = act_json(&config, "Alice", &["delete", title, "--yes"]);
        assert_eq!(
            (code, done["decision"].as_str()),
            (0, Some("done")),
            "{done:#}"
        );
    }
    let (code, checked) = act_json(&config, "Alice", &["check", "User:Alice/Old notes"]);
    assert_eq!(code, 1, "{checked:#}");
    let gate = checked["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "limits")
        .unwrap_or_else(|| panic!("no limits gate: {checked:#}"))
        .clone();
    assert_eq!(gate["passed"], false, "{gate:#}");
    refused(
        &["delete", "User:Alice/Old notes", "--yes"],
        "3 action(s) under tier `self` in the last hour, and the policy allows 3",
    );
}

/// "Any deletion that cannot be undone by the bot will not be done until the
/// editor has been warned and confirms the action": at a terminal, adminibot asks.
#[test]
fn at_a_terminal_the_requester_confirms_an_irreversible_deletion() {
    let (wiki, config) = alice_with_self_grant();
    let run_with = |flags: &[&str], answer: &str| {
        let mut command = adminibot_command_as(&config.path, "Alice");
        command.args(["delete", "Alice draft"]).args(flags);
        // `script` gives adminibot a terminal for stdin, as a person would have.
        let out = support::output_with_stdin(&mut support::terminal::at_terminal(&command), answer);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let run = |answer: &str| run_with(&[], answer);
    // `--no-input`: nothing is asked, even at a terminal; the refusal names `--yes`.
    let (code, text) = run_with(&["--no-input"], "yes\n");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        !text.contains("Type `yes`") && text.contains("confirm with `--yes`"),
        "{text}"
    );
    assert!(wiki.exists("Alice draft"));
    let (code, text) = run("no\n");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("warning: the bot could not undo this"),
        "{text}"
    );
    assert!(wiki.exists("Alice draft"));
    let (code, text) = run("yes\n");
    assert_eq!(code, Some(0), "{text}");
    assert!(!wiki.exists("Alice draft"));
}

/// X-6: two runs on the same page: the second is refused while the first is under
/// way, and the page is deleted exactly once, with one attribution edit.
#[test]
fn two_runs_on_one_page_act_once() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (first, pause) = delete_paused(&config, title, "before-recheck");
    // One process refuses the second run at once; a service's one executor
    // takes it after the first, when the page is gone.
    let second = adminibot_command_as(&config.path, "Alice")
        .args(["delete", title])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (out, (code, report)) = if config.service.is_some() {
        let first = resume(first, pause);
        (second.wait_with_output().unwrap(), first)
    } else {
        let out = second.wait_with_output().unwrap();
        (out, resume(first, pause))
    };
    assert_eq!(
        (code, report["decision"].as_str()),
        (Some(0), Some("done")),
        "{report:#}"
    );
    let said = support::said(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let why = if config.service.is_some() {
        "does not exist"
    } else {
        "never finished"
    };
    assert!(said.contains(why), "{said}");
    let log = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "delete"),
        ("letitle", title),
    ]);
    assert_eq!(
        log["query"]["logevents"].as_array().unwrap().len(),
        1,
        "{log}"
    );
    let contribs = wiki.api_get(&[
        ("action", "query"),
        ("list", "usercontribs"),
        ("ucuser", "Alice"),
        ("uclimit", "max"),
    ]);
    let attributions = contribs["query"]["usercontribs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["title"] == "User:Alice/adminibot")
        .count();
    assert_eq!(attributions, 1, "{contribs}");
}

/// X-3: the page is moved between the check and the write: the title now holds a
/// redirect with another page id, so nothing is deleted and both pages stay.
#[test]
fn a_move_after_the_check_stops_the_deletion() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (child, pause) = delete_paused(&config, title, "before-recheck");
    wiki.move_as("Alice", title, "Draft:Alice sandbox moved");
    let (code, report) = resume(child, pause);
    assert_eq!(code, Some(4), "{report:#}");
    assert!(
        report["steps"]
            .to_string()
            .contains("changed since it was checked"),
        "{report:#}"
    );
    assert!(wiki.exists(title), "the redirect left by the move stays");
    assert!(
        wiki.exists("Draft:Alice sandbox moved"),
        "the moved page stays"
    );
}

/// X-4: an administrator deletes the page while the request is under way: nothing
/// more is done, and the report says who deleted it.
#[test]
fn a_deletion_by_an_admin_meanwhile_is_reported_by_name() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (child, pause) = delete_paused(&config, title, "before-recheck");
    let deleted = wiki.write_as(
        "Admin",
        &[("action", "delete"), ("title", title), ("reason", "G7")],
    );
    assert!(deleted["delete"]["logid"].is_u64(), "{deleted}");
    let (code, report) = resume(child, pause);
    assert_eq!(code, Some(4), "{report:#}");
    assert!(
        report["steps"]
            .to_string()
            .contains("`Admin` acted on `Draft:Alice sandbox` meanwhile (delete/delete"),
        "{report:#}"
    );
    let log = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "delete"),
        ("letitle", title),
    ]);
    assert_eq!(
        log["query"]["logevents"].as_array().unwrap().len(),
        1,
        "only Admin's deletion: {log}"
    );
}

/// E-11: the bot is blocked on the wiki: its delete is refused after the
/// attribution edit; exit 4 with the wiki's reason.
#[test]
fn a_blocked_bot_fails_loudly_after_the_attribution() {
    let (wiki, config) = alice_with_self_grant();
    let blocked = wiki.write_as(
        "Admin",
        &[
            ("action", "block"),
            ("user", "AdminBot"),
            ("expiry", "infinite"),
            ("reason", "test"),
        ],
    );
    assert!(blocked["block"]["user"].is_string(), "{blocked}");
    let (code, report) = act_json(&config, "Alice", &["delete", "Draft:Alice sandbox"]);
    assert_eq!(code, 4, "{report:#}");
    assert_eq!(report["decision"], "partial");
    assert!(
        report["steps"].to_string().contains("blocked"),
        "{report:#}"
    );
    assert!(wiki.exists("Draft:Alice sandbox"));
}

/// X-5: the title was recreated after the bot's deletion: undeleting would merge
/// two histories, so it is refused and nothing is restored.
#[test]
fn an_undeletion_onto_a_recreated_title_is_refused() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    assert_eq!(act_json(&config, "Alice", &["delete", title]).0, 0);
    wiki.edit_as("Bob", title, "Bob's new draft.");
    let (code, report) = act_json(&config, "Alice", &["undelete", title]);
    assert_eq!(
        (code, report["decision"].as_str()),
        (1, Some("refused")),
        "{report:#}"
    );
    let rule = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "page_exists")
        .unwrap();
    assert_eq!(rule["passed"], false, "{report:#}");
    let revisions = wiki.api_get(&[
        ("action", "query"),
        ("prop", "revisions"),
        ("titles", title),
        ("rvlimit", "max"),
    ]);
    assert_eq!(
        revisions["query"]["pages"][0]["revisions"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "only Bob's revision"
    );
}

/// E-9: the wiki forgets every session (its session store is emptied) while the
/// request waits between the attribution edit and the re-check. The bot's session
/// logs in again once, and the page is deleted exactly once.
#[test]
fn a_lost_session_logs_in_again_once_and_deletes_once() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let (child, pause) = delete_paused(&config, title, "before-recheck");
    assert!(
        forget_sessions(&wiki) >= 2,
        "the caller's and the bot's sessions were stored"
    );
    let (code, result) = resume(child, pause);
    assert_eq!(code, Some(0), "{result:#}");
    assert_eq!(result["decision"], "done");
    assert!(!wiki.exists(title));
    assert_eq!(
        wiki.sql(
            "SELECT count(*) FROM logging WHERE log_type = 'delete' \
             AND log_namespace = 118 AND log_title = 'Alice_sandbox'"
        )
        .trim(),
        "1"
    );
    // The old sessions are gone, so the re-check and the delete could only
    // succeed in a new one.
    assert!(forget_sessions(&wiki) >= 1, "a new session was made");
}

/// Empties the wiki's session store (sessions live in its object cache);
/// returns how many sessions there were.
/// A session lost again after the bot's fresh one worked is logged in again
/// too: "once" is per lost session, so a long-running service whose sessions
/// end now and then keeps working (before, the second loss failed every
/// request until a restart).
#[test]
fn every_lost_session_is_logged_in_again_once() {
    let (wiki, config) = alice_with_self_grant();
    for title in ["Draft:Alice sandbox", "Alice draft"] {
        assert!(forget_sessions(&wiki) >= 1, "sessions were stored");
        let (code, result) = act_json(&config, "Alice", &["delete", title, "--yes"]);
        assert_eq!(
            (code, result["decision"].as_str()),
            (0, Some("done")),
            "{result:#}"
        );
        assert!(!wiki.exists(title));
    }
}

fn forget_sessions(wiki: &TestWiki) -> u32 {
    sqlite(
        &wiki.dir.join("data/wikicache.sqlite"),
        "DELETE FROM objectcache WHERE keyname LIKE '%MWSession%'; SELECT changes();",
    )
    .trim()
    .parse()
    .unwrap()
}

/// X-8: a page with more revisions than `$wgDeleteRevisionsBatchSize` is deleted
/// by the wiki's job queue later (`"scheduled": true`). The request stays open
/// (exit 5) with no log id assumed; `reconcile` keeps it open while the job waits,
/// records the deletion (with its revisions) once the job has run, and the page
/// can then be undeleted as usual.
#[test]
fn a_scheduled_deletion_stays_open_until_the_job_queue_has_run() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgDeleteRevisionsBatchSize = 1; $wgJobRunRate = 0;\n",
    )
    .unwrap();
    let (code, result) = act_json(&config, "Alice", &["delete", title]);
    assert_eq!(code, 5, "{result:#}");
    assert_eq!(result["decision"], "unknown");
    assert!(
        result.to_string().contains("scheduled the deletion"),
        "{result:#}"
    );
    let deletions = || {
        wiki.sql(
            "SELECT count(*) FROM logging WHERE log_type = 'delete' \
             AND log_namespace = 118 AND log_title = 'Alice_sandbox'",
        )
        .trim()
        .to_string()
    };
    assert_eq!(deletions(), "0", "no log entry before the job runs");
    assert!(wiki.exists(title), "half done: the job still has to run");

    // The page is blocked while the job waits, and reconcile says so.
    assert_eq!(act_json(&config, "Alice", &["delete", title]).0, 1);
    assert!(reconcile_expecting(&config, 5).contains("still in the wiki's job queue"));

    wiki.maintenance("maintenance/runJobs.php", &[]);
    assert!(!wiki.exists(title));
    assert_eq!(deletions(), "1");

    assert!(reconcile_expecting(&config, 0).contains("delete (log"));
    let (code, result) = act_json(&config, "Alice", &["undelete", title]);
    assert_eq!(code, 0, "{result:#}");
    assert_eq!(
        live_revisions_of_alice_sandbox(&wiki),
        "2",
        "both revisions restored"
    );
    let verify = adminibot(&config.path, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0));
}

/// Makes the store refuse to append audit rows of `kind`, as a full disk would
/// (a trigger, since root ignores file modes here); `None` lifts it.
fn break_audit_log(config: &AdminibotConfig, kind: Option<&str>) {
    let sql = match kind {
        Some(kind) => format!(
            "CREATE TRIGGER test_audit_full BEFORE INSERT ON audit WHEN NEW.kind = '{kind}' \
             BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"
        ),
        None => "DROP TRIGGER test_audit_full;".to_string(),
    };
    sqlite(&config.store_path(), &sql);
}

/// A-4: the audit log cannot record the request: nothing at all is written to
/// the wiki, and once the log works again the same request goes through.
#[test]
fn a_request_the_audit_log_cannot_record_writes_nothing() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    let before = high_water(&wiki);
    break_audit_log(&config, Some("request"));
    let out = adminibot_as(&config.path, "Alice", &["delete", title]);
    // A local store problem, like a configuration one: exit 2, nothing changed
    // (the service says so in the page's report, one process on stderr).
    let said = support::said(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("database or disk is full"), "{said}");
    let new_entries = wiki.sql(&format!(
        "SELECT count(*) FROM logging WHERE log_id > {} AND log_type <> 'create'",
        before.0.trim()
    ));
    assert_eq!(
        new_entries.trim(),
        "0",
        "no log entry but a signature's page"
    );
    // Through the service, the requester signed before the store failed: that
    // edit of her own is the only new revision.
    let signatures = usize::from(config.service.is_some());
    let new_revisions = wiki.sql(&format!(
        "SELECT count(*) FROM revision WHERE rev_id > {}",
        before.1.trim()
    ));
    assert_eq!(new_revisions.trim(), signatures.to_string(), "no bot edit");
    assert!(wiki.exists(title));
    break_audit_log(&config, None);
    assert_eq!(act_json(&config, "Alice", &["delete", title]).0, 0);
    assert!(!wiki.exists(title));
}

/// A-5: the audit log fails right after the bot deleted the page: stderr says
/// loudly what the wiki now shows, exit 4, the request stays open and blocks the
/// page; `reconcile` records the deletion once the log works, and the page can be
/// undeleted as usual.
#[test]
fn an_audit_log_failing_after_the_delete_is_repaired_by_reconcile() {
    let (wiki, config) = alice_with_self_grant();
    let title = "Draft:Alice sandbox";
    break_audit_log(&config, Some("deleted"));
    let out = adminibot_as(
        &config.path,
        "Alice",
        &["delete", title, "--format", "json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let loud = config.diagnostics(&out);
    assert!(
        loud.contains("ERROR") && loud.contains("the audit log failed"),
        "{loud}"
    );
    let result = first_result(&out);
    assert_eq!(result["decision"], "partial");
    assert!(
        result.to_string().contains("adminibot reconcile"),
        "{result:#}"
    );
    assert!(!wiki.exists(title), "the deletion itself happened");

    break_audit_log(&config, None);
    assert_eq!(
        act_json(&config, "Alice", &["undelete", title]).0,
        1,
        "blocked until reconciled"
    );
    assert!(reconcile_expecting(&config, 0).contains("delete (log"));
    assert_eq!(
        adminibot(&config.path, &["audit", "verify"]).status.code(),
        Some(0)
    );
    let (code, result) = act_json(&config, "Alice", &["undelete", title]);
    assert_eq!(code, 0, "{result:#}");
    assert!(wiki.exists(title));
}

/// Runs `adminibot reconcile` as Alice; asserts its exit code and returns stdout.
fn reconcile_expecting(config: &AdminibotConfig, code: i32) -> String {
    let out = adminibot_as(&config.path, "Alice", &["reconcile"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(code), "{stdout}");
    stdout
}
