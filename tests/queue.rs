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
