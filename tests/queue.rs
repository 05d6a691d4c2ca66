//! `adminibot queue` on the real test wiki: a backlog category of about 30
//! pages, each shown with the verdict the single-title `check` gives it, who
//! tagged it, and a summary; the requests it costs stay within N/50 + N + 3.

mod support;

use serde_json::Value;
use support::{adminibot, TestWiki};

/// `adminibot queue ARGS --format json` as Alice's reader; the document.
fn queue_json(config: &std::path::Path, args: &[&str]) -> Value {
    let mut all = vec!["queue"];
    all.extend(args);
    all.extend(["--as", "Alice", "--format", "json"]);
    let out = adminibot(config, &all);
    assert_eq!(out.status.code(), Some(0), "{}", support::said(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", support::said(&out)))
}

/// The decision and failing rules `check TITLE --as Alice` gives.
fn check_alone(config: &std::path::Path, title: &str) -> (String, Vec<String>) {
    let out = adminibot(
        config,
        &["check", title, "--as", "Alice", "--format", "json"],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let result = &doc["results"][0];
    let failing = result["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["passed"] == false)
        .map(|r| r["rule"].as_str().unwrap().to_string())
        .collect();
    (result["decision"].as_str().unwrap().to_string(), failing)
}

/// Twenty-six more pages join the author-request queue's two fixture pages:
/// Alice's own drafts she tagged, Carol's pages Carol tagged, Carol's pages Bob
/// tagged. `queue` lists all 28, oldest entry first, each with the verdict
/// `check` gives it alone and its tagger; the summary counts what Alice may do
/// and says whether her charter's live condition holds.
#[test]
fn a_queue_shows_each_page_with_the_verdict_check_gives_it() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true).with_store();
    support::grant_self(&config, "Alice");
    let charter = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charters/db-author-backlog.toml"
    );
    support::grant_alice_not_self_under(&config, charter, 0);
    for i in 0..10 {
        wiki.edit_as(
            "Alice",
            &format!("Draft:Alice queued {i}"),
            "{{db-author}}\nMine.",
        );
    }
    for i in 0..8 {
        let title = format!("Carol queued {i}");
        wiki.edit_as("Carol", &title, "Carol's.");
        wiki.edit_as("Carol", &title, "{{db-g7}}\nCarol's.");
        let title = format!("Carol queued by Bob {i}");
        wiki.edit_as("Carol", &title, "Carol's.");
        wiki.edit_as("Bob", &title, "{{db-author}}\nCarol's.");
    }

    let before = wiki.request_count();
    let doc = queue_json(&config.path, &["author-requests", "--limit", "100"]);
    let used = wiki.request_count() - before;
    let pages = doc["pages"].as_array().unwrap();
    let n = pages.len();
    assert_eq!(n, 28, "{doc:#}");
    assert_eq!(
        doc["category"],
        "Category:Candidates for speedy deletion by user"
    );
    // Oldest entry first.
    let added: Vec<&str> = pages.iter().map(|p| p["added"].as_str().unwrap()).collect();
    let mut sorted = added.clone();
    sorted.sort();
    assert_eq!(added, sorted);
    // The queue's own reads, and all requests of the run (a process of its
    // own logs the bot in first: 2 more).
    let target = n / 50 + n + 3;
    let reads = doc["summary"]["requests"].as_u64().unwrap() as usize;
    assert!(
        reads <= target,
        "{reads} reads for {n} pages (target {target})"
    );
    let login = if config.service.is_some() { 0 } else { 2 };
    assert!(used <= target + login, "{used} requests for {n} pages");
    eprintln!("queue of {n} pages: {reads} reads, {used} requests in all (target {target})");

    let mut may_act = 0;
    for page in pages {
        let title = page["title"].as_str().unwrap();
        let (decision, failing) = check_alone(&config.path, title);
        assert_eq!(page["decision"], decision.as_str(), "{title}: {page:#}");
        let shown: Vec<String> = page["failing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        assert_eq!(shown, failing, "{title}");
        if decision != "refused" {
            may_act += 1;
        }
        let tagger = match title {
            t if t.starts_with("Draft:Alice queued") => "Alice",
            t if t.starts_with("Carol queued by Bob") => "Bob",
            t if t.starts_with("Carol queued") => "Carol",
            _ => continue,
        };
        assert_eq!(page["tagged_by"], tagger, "{title}: {page:#}");
    }
    // Alice's own drafts are hers to delete now; pages Bob tagged never are.
    let draft = pages
        .iter()
        .find(|p| p["title"] == "Draft:Alice queued 0")
        .unwrap();
    assert_eq!(draft["decision"], "allowed", "{draft:#}");
    assert_eq!(draft["tier"], "self");
    let by_bob = pages
        .iter()
        .find(|p| p["title"] == "Carol queued by Bob 0")
        .unwrap();
    // Refused (not Carol's own page under `self`; the `not-self` charter
    // waits for its backlog), with the tagger named.
    assert_eq!(
        (&by_bob["decision"], &by_bob["tagged_by"]),
        (&Value::from("refused"), &Value::from("Bob")),
        "{by_bob:#}"
    );
    assert_eq!(doc["summary"]["may_act_now"], may_act);
    assert_eq!(doc["summary"]["pages"], 28);
    // The charter needs an entry older than an hour; all of them are new.
    let live = &doc["summary"]["live_conditions"][0];
    assert_eq!(live["charter"], "db-author-backlog", "{doc:#}");
    assert_eq!(live["holds"], false, "{live:#}");
}

/// The JSON of a small queue (the fixture's explicit `AdminiBot=yes`
/// requests) and the summary's text, with the times masked; and `queue`
/// without a name lists the policy's queues.
#[test]
fn queue_output_snapshots() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true).with_store();
    support::grant_self(&config, "Alice");
    let mut doc = queue_json(&config.path, &["adminibot"]);
    mask_times(&mut doc);
    insta::assert_json_snapshot!("queue_json", doc);

    let out = adminibot(&config.path, &["queue", "adminibot", "--as", "Alice"]);
    assert_eq!(out.status.code(), Some(0), "{}", support::said(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let summary: String = text
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{}\n", masked_line(l)))
        .collect();
    insta::assert_snapshot!("queue_summary_text", summary);

    let listed = adminibot(&config.path, &["queue"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("author-requests      Category:Candidates for speedy deletion by user")
            && listed.contains("adminibot            Category:AdminiBot requests"),
        "{listed}"
    );
    let unknown = adminibot(&config.path, &["queue", "nope", "--as", "Alice"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        support::said(&unknown)
            .contains("the policy has no queue `nope`; its queues: adminibot, author-requests"),
        "{}",
        support::said(&unknown)
    );
}

/// Times and waits change from run to run: they become `<time>` and `<wait>`.
fn mask_times(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match key.as_str() {
                    "added" | "tagged_at" | "oldest" if value.is_string() => {
                        *value = Value::from("<time>")
                    }
                    "waiting_seconds" => *value = Value::from("<wait>"),
                    "detail" if value.is_string() => {
                        *value = Value::from(masked_line(value.as_str().unwrap()))
                    }
                    _ => mask_times(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_times),
        _ => {}
    }
}

/// A line with its RFC 3339 times as `<time>` and `(… ago)` as `(<wait> ago)`.
fn masked_line(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let is_time = rest.len() >= 20
            && rest.as_bytes()[4] == b'-'
            && rest.as_bytes()[10] == b'T'
            && rest.as_bytes()[19] == b'Z'
            && rest.as_bytes()[..4].iter().all(u8::is_ascii_digit);
        if is_time {
            out.push_str("<time>");
            rest = &rest[20..];
        } else if let Some(after) = rest.strip_prefix('(') {
            match after.find(" ago)") {
                Some(end) if !after[..end].contains('(') => {
                    out.push_str("(<wait> ago)");
                    rest = &after[end + 5..];
                }
                _ => {
                    out.push('(');
                    rest = after;
                }
            }
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// How many revisions `title` has, by the wiki's database.
fn revisions_of(wiki: &TestWiki, namespace: u32, title: &str) -> u32 {
    wiki.sql(&format!(
        "SELECT count(*) FROM revision JOIN page ON rev_page = page_id \
         WHERE page_namespace = {namespace} AND page_title = '{}'",
        title.replace(' ', "_")
    ))
    .trim()
    .parse()
    .unwrap()
}

/// `delete --queue` judges the queue, shows the plan and asks once: without
/// `--yes` (and no terminal) nothing is written and it exits 1. With `--yes`
/// it deletes exactly the allowed pages, each with Alice's attribution edit
/// and a log line, leaves the refused ones untouched (exit 1: some refused),
/// and skips a page whose tag was removed, and one edited, after the listing.
#[test]
fn delete_queue_acts_on_exactly_the_allowed_pages() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true).with_store();
    support::grant_self(&config, "Alice");
    for i in 0..4 {
        wiki.edit_as(
            "Alice",
            &format!("Draft:Alice queued {i}"),
            "{{db-author}}\nMine.",
        );
    }
    let attribution = || revisions_of(&wiki, 2, "Alice/adminibot");
    let nothing = support::adminibot_as(
        &config.path,
        "Alice",
        &["delete", "--queue", "author-requests"],
    );
    let said = support::said(&nothing);
    assert_eq!(nothing.status.code(), Some(1), "{said}");
    assert!(
        said.contains("queue `author-requests`: 4 page(s) to delete, 2 refused")
            && said.contains("will delete: Draft:Alice queued 0")
            && said.contains("refused: Carol tagged by Bob (single_author)")
            && said.contains("nothing was done: confirm the 4 page(s) above with `--yes`"),
        "{said}"
    );
    assert_eq!(attribution(), 0, "nothing signed");
    assert!(wiki.exists("Draft:Alice queued 0"));

    let mut command = support::adminibot_command_as(&config.path, "Alice");
    command
        .args(["delete", "--queue", "author-requests", "--limit", "10"])
        .args(["--yes", "--format", "json"]);
    let (run, pause) = support::spawn_paused(command, "queue-listed");
    // After the listing: one page leaves the queue, another is edited.
    wiki.edit_as("Alice", "Draft:Alice queued 1", "Mine, kept after all.");
    wiki.edit_as(
        "Alice",
        "Draft:Alice queued 2",
        "{{db-author}}\nMine, edited.",
    );
    std::fs::write(pause.path().join("resume"), "").unwrap();
    let out = run.wait_with_output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", support::said(&out)));
    assert_eq!(out.status.code(), Some(1), "some refused: {doc:#}");
    let results = doc["results"].as_array().unwrap();
    let of = |title: &str| {
        results
            .iter()
            .find(|r| r["title"] == title)
            .unwrap_or_else(|| panic!("no result for {title}: {doc:#}"))
    };
    for title in ["Draft:Alice queued 0", "Draft:Alice queued 3"] {
        assert_eq!(of(title)["decision"], "done", "{doc:#}");
        assert!(!wiki.exists(title));
    }
    for (title, why) in [
        (
            "Draft:Alice queued 1",
            "left `Category:Candidates for speedy deletion by user` after it was listed",
        ),
        ("Draft:Alice queued 2", "was edited after it was listed"),
    ] {
        assert!(
            of(title).to_string().contains(why),
            "{title}: {:#}",
            of(title)
        );
        assert!(wiki.exists(title), "{title} was deleted");
    }
    for title in ["Worked example", "Carol tagged by Bob"] {
        assert_eq!(of(title)["decision"], "refused", "{doc:#}");
        assert!(wiki.exists(title));
    }
    // Each deletion with Alice's attribution edit and the bot's log line.
    let signed = attribution();
    assert!(signed >= 2, "{signed} attribution edits");
    let log_lines = wiki.sql(
        "SELECT count(*) FROM revision JOIN page ON rev_page = page_id \
         JOIN actor ON rev_actor = actor_id WHERE page_namespace = 2 \
         AND page_title LIKE 'AdminBot/Log%' AND actor_name = 'AdminBot'",
    );
    assert_eq!(log_lines.trim(), "2", "one log line per deletion");
}

/// A batch draws its progress bar on stderr under a pseudo-terminal
/// (`script`), and nothing of it without a terminal.
#[test]
fn a_batch_shows_its_progress_bar_only_at_a_terminal() {
    let (wiki, config) = support::alice_with_self_grant();
    let titles: Vec<String> = (0..5).map(|i| format!("Draft:Alice bar {i}")).collect();
    for title in &titles {
        wiki.edit_as("Alice", title, "Mine.");
    }
    let batch = || {
        let mut command = support::adminibot_command_as(&config.path, "Alice");
        command.arg("delete").args(&titles).arg("--dry-run");
        command
    };
    let plain = batch().output().unwrap();
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert_eq!(plain.status.code(), Some(0), "{}", support::said(&plain));
    assert!(!stderr.contains('█') && !stderr.contains("/5"), "{stderr}");

    let out = support::terminal::at_terminal(&batch())
        .output()
        .expect("run script");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{seen}");
    assert!(seen.contains('█') && seen.contains("/5"), "{seen}");
    assert!(seen.contains("summary of 5 pages"), "{seen}");
}

/// `delete --queue` is gated like any request: under a `not-self` charter
/// whose live condition wants an entry older than an hour, a page its author
/// tagged is refused while the queue is fresh, allowed once its oldest entry
/// has waited two hours, and refused again once the charter's year is over.
#[test]
fn the_charters_live_condition_and_expiry_gate_a_queue() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true).with_store();
    let charter = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charters/db-author-backlog.toml"
    );
    support::grant_alice_not_self_under(&config, charter, 0);
    wiki.edit_as("Carol", "Carol queued A", "Carol's.");
    wiki.edit_as("Carol", "Carol queued A", "{{db-g7}}\nCarol's.");
    let decision_at = |hours: i64| {
        let at = chrono::Utc::now() + chrono::Duration::hours(hours);
        let out = support::adminibot_command_as(&config.path, "Alice")
            .args(["delete", "--queue", "author-requests", "--dry-run"])
            .args(["--format", "json"])
            .env("ADMINIBOT_NOW", at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", support::said(&out)));
        let result = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["title"] == "Carol queued A")
            .cloned()
            .unwrap_or_else(|| panic!("no result: {doc:#}"));
        (result["decision"].as_str().unwrap().to_string(), result)
    };
    let (fresh, result) = decision_at(0);
    assert_eq!(fresh, "refused", "{result:#}");
    assert!(
        result.to_string().contains("needs an entry older than 1h"),
        "{result:#}"
    );
    let (later, result) = decision_at(2);
    assert_eq!(later, "allowed", "{result:#}");
    let (next_year, result) = decision_at(24 * 400);
    assert_eq!(next_year, "refused", "{result:#}");
    let gate = &result["rules"][0];
    assert!(
        gate["rule"] == "authority" && gate["passed"] == false,
        "{result:#}"
    );
    assert!(wiki.exists("Carol queued A"), "a dry run deletes nothing");
}
