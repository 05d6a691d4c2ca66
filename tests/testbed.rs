//! The test bed itself: the fixture state of a started wiki as the API shows it
//! (fixtures/accounts.toml, pages.xml, history.toml, pages-recreated.xml), and
//! the life cycle of instances (independence, clean-up, helpers).

mod support;

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::{account, accounts, TestWiki};

const MIN: i64 = 60;
const H: i64 = 3600;
const D: i64 = 86400;

/// One expected revision: author, age at fixture time, text.
struct Rev(&'static str, i64, &'static str);

fn unix(timestamp: &Value) -> i64 {
    let text = timestamp
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {timestamp}"));
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("ISO 8601 timestamp")
        .timestamp()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Every revision of `title`, oldest first, with content (follows continuation).
fn revisions(wiki: &TestWiki, title: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cont = String::new();
    loop {
        let mut params = vec![
            ("action", "query"),
            ("prop", "revisions"),
            ("titles", title),
            ("rvprop", "user|timestamp|comment|content"),
            ("rvslots", "main"),
            ("rvdir", "newer"),
            ("rvlimit", "max"),
        ];
        if !cont.is_empty() {
            params.push(("rvcontinue", &cont));
        }
        let r = wiki.api_get(&params);
        let page = &r["query"]["pages"][0];
        assert!(page["missing"].is_null(), "{title} is missing");
        all.extend(
            page["revisions"]
                .as_array()
                .expect("revisions")
                .iter()
                .cloned(),
        );
        match r["continue"]["rvcontinue"].as_str() {
            Some(c) => cont = c.to_owned(),
            None => return all,
        }
    }
}

fn log_events(wiki: &TestWiki, letype: &str, title: &str) -> Vec<Value> {
    let r = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", letype),
        ("letitle", title),
        ("leprop", "type|user|timestamp|comment|details|title"),
        ("ledir", "newer"),
    ]);
    r["query"]["logevents"]
        .as_array()
        .expect("logevents")
        .clone()
}

#[test]
fn accounts_exist_with_their_groups_and_old_registrations() {
    let wiki = TestWiki::start();
    let all = accounts();
    let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["Admin", "AdminBot", "Alice", "Bob", "Carol", "MaintBot", "OldAdmin"]
    );
    let r = wiki.api_get(&[
        ("action", "query"),
        ("list", "users"),
        ("ususers", &names.join("|")),
        ("usprop", "groups|registration"),
    ]);
    for (user, account) in r["query"]["users"].as_array().unwrap().iter().zip(&all) {
        assert_eq!(user["name"], account.name.as_str());
        assert!(user["userid"].as_u64().unwrap() > 0, "{user}");
        let mut groups: Vec<&str> = user["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap())
            .filter(|g| !["*", "user", "autoconfirmed"].contains(g))
            .collect();
        groups.sort();
        let mut expected: Vec<&str> = account.groups.iter().map(String::as_str).collect();
        expected.sort();
        assert_eq!(groups, expected, "groups of {}", account.name);
        assert_eq!(
            unix(&user["registration"]),
            wiki.fixture_time - 500 * D,
            "{}",
            account.name
        );
    }
}

#[test]
fn every_account_logs_in_with_its_botpassword_and_gets_its_grants() {
    let wiki = TestWiki::start();
    for account in accounts() {
        let mut cookies = wiki.login(&account);
        let r = wiki.api_post(
            &[
                ("action", "query"),
                ("meta", "userinfo"),
                ("uiprop", "groups|rights"),
            ],
            &mut cookies,
        );
        let info = &r["query"]["userinfo"];
        assert_eq!(info["name"], account.name.as_str());
        let rights: Vec<&str> = info["rights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let admin = account.name.starts_with("Admin");
        assert_eq!(
            rights.contains(&"delete"),
            admin,
            "{}: {rights:?}",
            account.name
        );
        assert_eq!(
            rights.contains(&"bot"),
            account.groups.iter().any(|g| g == "bot"),
            "{}",
            account.name
        );
        assert!(
            rights.contains(&"createpage"),
            "{}: {rights:?}",
            account.name
        );
    }
    assert_eq!(account("Alice").botpassword_user, "Alice@adminibot");
}

#[test]
fn old_admin_was_made_sysop_400_days_ago_and_removed_100_days_ago() {
    let wiki = TestWiki::start();
    let events = log_events(&wiki, "rights", "User:OldAdmin");
    assert_eq!(events.len(), 2, "{events:?}");
    let (added, removed) = (&events[0], &events[1]);
    assert_eq!(added["user"], "Admin");
    assert_eq!(added["params"]["oldgroups"], json!([]));
    assert_eq!(added["params"]["newgroups"], json!(["sysop"]));
    assert_eq!(unix(&added["timestamp"]), wiki.fixture_time - 400 * D);
    assert_eq!(removed["user"], "Admin");
    assert_eq!(removed["params"]["oldgroups"], json!(["sysop"]));
    assert_eq!(removed["params"]["newgroups"], json!([]));
    assert_eq!(unix(&removed["timestamp"]), wiki.fixture_time - 100 * D);
}

#[test]
fn page_histories_are_relative_to_the_start() {
    let wiki = TestWiki::start();
    let copyvio = "{{db-copyvio|url=http://example.org/x}}\nCopied text.";
    let carol = "Carol's article text.";
    let maintained = "Carol's article text.\n[[Category:Maintained]]";
    let tagged = "{{db-author}}\nCarol's article text.\n[[Category:Maintained]]";
    let db_author = "Author requests deletion<includeonly>[[Category:Candidates for speedy deletion by user]]</includeonly>";
    let db_copyvio =
        "Copyright violation<includeonly>[[Category:Candidates for speedy deletion as copyright violations]]</includeonly>";
    let pages: &[(&str, &[Rev])] = &[
        ("Template:Db-author", &[Rev("Admin", 100 * D, db_author)]),
        (
            "Template:Db-g7",
            &[Rev("Admin", 100 * D, "#REDIRECT [[Template:Db-author]]")],
        ),
        ("Template:Db-copyvio", &[Rev("Admin", 100 * D, db_copyvio)]),
        ("User:AdminBot/Shutoff", &[Rev("Admin", 100 * D, "run")]),
        (
            "Draft:Alice sandbox",
            &[
                Rev("Alice", 2 * H, "Draft text."),
                Rev("Alice", H, "Draft text, expanded."),
            ],
        ),
        (
            "Alice draft",
            &[
                Rev("Alice", 26 * H, "Alice's draft."),
                Rev("Alice", 25 * H, "Alice's draft, continued."),
            ],
        ),
        (
            "Shared page",
            &[
                Rev("Alice", 30 * H, "Started by Alice."),
                Rev("Bob", 20 * H, "Started by Alice.\nContinued by Bob."),
            ],
        ),
        (
            "Old article",
            &[Rev("Alice", 10 * D, "An article Alice wrote ten days ago.")],
        ),
        (
            "User:Alice/Old notes",
            &[
                Rev("Alice", 400 * D, "Old notes."),
                Rev("Alice", 399 * D, "Old notes, and more."),
            ],
        ),
        (
            "Established article",
            &[Rev("Bob", 30 * D, "An established article by Bob.")],
        ),
        (
            "Former redirect",
            &[
                Rev("Alice", 48 * H, "#REDIRECT [[Established article]]"),
                Rev("Alice", 24 * H, "Now an article of its own."),
            ],
        ),
        (
            "Later article",
            &[Rev(
                "Bob",
                12 * H,
                "An article created after the redirect to it.",
            )],
        ),
        (
            "Redirect before target",
            &[
                Rev("Alice", 48 * H, "#REDIRECT [[Later article]]"),
                Rev("Alice", 24 * H, "Now an article."),
            ],
        ),
        (
            "Previously deleted page",
            &[Rev("Alice", 12 * H, "Second version.")],
        ),
        (
            "Deleted by admin before",
            &[Rev("Alice", 12 * H, "Second version.")],
        ),
        (
            "Protected page",
            &[Rev("Alice", 26 * H, "A page that is protected.")],
        ),
        (
            "Copyvio history",
            &[
                Rev("Alice", 48 * H, copyvio),
                Rev("Alice", 24 * H, "Rewritten text."),
            ],
        ),
        (
            "Worked example",
            &[
                Rev("Carol", 47 * H, carol),
                Rev("Bob", 46 * H, ""),
                Rev("Alice", 45 * H, carol),
                Rev("MaintBot", 44 * H, ""),
                Rev("Carol", 43 * H, carol),
                Rev("MaintBot", 42 * H, maintained),
                Rev("Carol", 41 * H, tagged),
            ],
        ),
        (
            "Carol untagged",
            &[Rev("Carol", 30 * H, "Carol's untagged text.")],
        ),
        (
            "Carol tagged by Bob",
            &[
                Rev("Carol", 30 * H, "Carol's text."),
                Rev("Bob", 20 * H, "{{db-author}}\nCarol's text."),
            ],
        ),
        (
            "Alice new title",
            &[
                Rev("Alice", 26 * H, "A page Alice moved."),
                Rev("Alice", 0, "A page Alice moved."),
            ],
        ),
    ];
    for (title, expected) in pages {
        let revs = revisions(&wiki, title);
        let got: Vec<(&str, i64, &str)> = revs
            .iter()
            .map(|r| {
                let text = r["slots"]["main"]["content"].as_str().unwrap();
                (
                    r["user"].as_str().unwrap(),
                    wiki.fixture_time - unix(&r["timestamp"]),
                    text,
                )
            })
            .collect();
        let want: Vec<(&str, i64, &str)> = expected
            .iter()
            .map(|Rev(u, ago, text)| (*u, *ago, *text))
            .collect();
        assert_eq!(got, want, "history of {title}");
    }
    let worked = revisions(&wiki, "Worked example");
    let comments: Vec<&str> = worked
        .iter()
        .map(|r| r["comment"].as_str().unwrap())
        .collect();
    assert_eq!(
        comments[1..4],
        ["blank", "revert blanking", "Undo revision"]
    );
}

#[test]
fn newest_draft_revision_is_about_an_hour_old_by_the_clock() {
    let wiki = TestWiki::start();
    let revs = revisions(&wiki, "Draft:Alice sandbox");
    let age = now() - unix(&revs.last().unwrap()["timestamp"]);
    assert!((30 * MIN..=90 * MIN).contains(&age), "age {age} s");
    assert!((now() - wiki.fixture_time).abs() < 60);
}

#[test]
fn long_history_has_450_revisions_one_a_minute() {
    let wiki = TestWiki::start();
    let revs = revisions(&wiki, "Long history");
    assert_eq!(revs.len(), 450);
    for (i, rev) in revs.iter().enumerate() {
        assert_eq!(rev["user"], "Alice");
        assert_eq!(
            unix(&rev["timestamp"]),
            wiki.fixture_time - 47 * H + i as i64 * MIN,
            "revision {i}"
        );
        assert_eq!(
            rev["slots"]["main"]["content"],
            format!("Long history, revision {i}.")
        );
    }
}

#[test]
fn links_tables_know_templates_categories_and_redirects() {
    let wiki = TestWiki::start();
    let r = wiki.api_get(&[
        ("action", "query"),
        (
            "titles",
            "Worked example|Carol tagged by Bob|Template:Db-g7|Former redirect|Copyvio history",
        ),
        ("prop", "info|templates|categories"),
    ]);
    for page in r["query"]["pages"].as_array().unwrap() {
        let names = |key: &str| -> Vec<String> {
            page[key].as_array().map_or(vec![], |a| {
                a.iter()
                    .map(|x| x["title"].as_str().unwrap().to_owned())
                    .collect()
            })
        };
        let author = "Category:Candidates for speedy deletion by user".to_owned();
        match page["title"].as_str().unwrap() {
            "Worked example" => {
                assert_eq!(names("templates"), ["Template:Db-author"]);
                assert_eq!(
                    names("categories"),
                    [author, "Category:Maintained".to_owned()]
                );
            }
            "Carol tagged by Bob" => assert_eq!(names("categories"), [author]),
            "Template:Db-g7" => assert_eq!(page["redirect"], true),
            "Former redirect" | "Copyvio history" => {
                assert!(
                    page["redirect"].is_null() && names("templates").is_empty(),
                    "{page}"
                )
            }
            other => panic!("unexpected {other}"),
        }
    }
}

#[test]
fn protected_page_is_protected_without_a_log_entry() {
    let wiki = TestWiki::start();
    let r = wiki.api_get(&[
        ("action", "query"),
        ("titles", "Protected page"),
        ("prop", "info"),
        ("inprop", "protection"),
    ]);
    let mut protection = r["query"]["pages"][0]["protection"]
        .as_array()
        .unwrap()
        .clone();
    protection.sort_by_key(|p| p["type"].as_str().unwrap().to_owned());
    assert_eq!(
        protection,
        [
            json!({"type": "edit", "level": "sysop", "expiry": "infinity"}),
            json!({"type": "move", "level": "sysop", "expiry": "infinity"})
        ]
    );
    let r = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letitle", "Protected page"),
    ]);
    assert_eq!(r["query"]["logevents"], json!([]));
    let r = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "protect"),
    ]);
    assert_eq!(r["query"]["logevents"], json!([]));
}

#[test]
fn deleted_pages_have_archived_revisions_and_backdated_delete_logs() {
    let wiki = TestWiki::start();
    let alice = "On behalf of [[User:Alice|Alice]] (adminibot tier self, request";
    struct Deleted {
        title: &'static str,
        exists_again: bool,
        /// Ages of the deleted revisions, all by Alice.
        revisions: &'static [i64],
        by: &'static str,
        reason: String,
        logged: i64,
    }
    let cases = [
        Deleted {
            title: "Previously deleted page",
            exists_again: true,
            revisions: &[3 * D],
            by: "AdminBot",
            reason: format!("{alice} fixture-1): G7"),
            logged: 2 * D,
        },
        Deleted {
            title: "Deleted by admin before",
            exists_again: true,
            revisions: &[3 * D],
            by: "Admin",
            reason: "G7: author request".into(),
            logged: 2 * D,
        },
        Deleted {
            title: "User:Alice/Deleted notes",
            exists_again: false,
            revisions: &[30 * H, 29 * H],
            by: "AdminBot",
            reason: format!("{alice} fixture-2): no longer needed"),
            logged: 12 * H,
        },
        Deleted {
            title: "User:Alice/Deleted by admin",
            exists_again: false,
            revisions: &[30 * H],
            by: "Admin",
            reason: "U1".into(),
            logged: 12 * H,
        },
        Deleted {
            title: "User:Alice/Deleted long ago",
            exists_again: false,
            revisions: &[10 * D],
            by: "AdminBot",
            reason: format!("{alice} fixture-3): U1"),
            logged: 9 * D,
        },
    ];
    for case in &cases {
        let title = case.title;
        let r = wiki.api_get(&[
            ("action", "query"),
            ("titles", title),
            ("prop", "deletedrevisions"),
            ("drvprop", "user|timestamp"),
            ("drvdir", "newer"),
        ]);
        let page = &r["query"]["pages"][0];
        assert_eq!(
            page["missing"].is_null(),
            case.exists_again,
            "{title}: {page}"
        );
        let got: Vec<(String, i64)> = page["deletedrevisions"]
            .as_array()
            .unwrap_or_else(|| panic!("{title} has no deleted revisions: {page}"))
            .iter()
            .map(|r| {
                (
                    r["user"].as_str().unwrap().to_owned(),
                    wiki.fixture_time - unix(&r["timestamp"]),
                )
            })
            .collect();
        let want: Vec<(String, i64)> = case
            .revisions
            .iter()
            .map(|ago| ("Alice".to_owned(), *ago))
            .collect();
        assert_eq!(got, want, "deleted revisions of {title}");

        let events = log_events(&wiki, "delete", title);
        assert_eq!(events.len(), 1, "{title}: {events:?}");
        assert_eq!(events[0]["action"], "delete");
        assert_eq!(events[0]["user"], case.by, "{title}");
        assert_eq!(events[0]["comment"], case.reason.as_str(), "{title}");
        assert_eq!(
            wiki.fixture_time - unix(&events[0]["timestamp"]),
            case.logged,
            "{title}"
        );
    }
}

#[test]
fn alice_moved_her_page_and_left_a_redirect() {
    let wiki = TestWiki::start();
    let events = log_events(&wiki, "move", "Alice old title");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["user"], "Alice");
    assert_eq!(events[0]["comment"], "better title");
    assert_eq!(events[0]["params"]["target_title"], "Alice new title");
    assert_eq!(events[0]["params"]["suppressredirect"], false);
    assert!(unix(&events[0]["timestamp"]) <= wiki.fixture_time);
    let old = revisions(&wiki, "Alice old title");
    assert_eq!(old.len(), 1);
    assert_eq!(old[0]["user"], "Alice");
    assert_eq!(
        old[0]["slots"]["main"]["content"],
        "#REDIRECT [[Alice new title]]"
    );
    let r = wiki.api_get(&[
        ("action", "query"),
        ("titles", "Alice old title"),
        ("prop", "info"),
    ]);
    assert_eq!(r["query"]["pages"][0]["redirect"], true);
}

#[test]
fn nothing_in_the_wiki_is_newer_than_the_fixture_time() {
    let wiki = TestWiki::start();
    let newest = wiki.sql(
        "SELECT max(t) FROM (SELECT max(rev_timestamp) t FROM revision \
         UNION SELECT max(log_timestamp) FROM logging \
         UNION SELECT max(rc_timestamp) FROM recentchanges \
         UNION SELECT max(ar_timestamp) FROM archive)",
    );
    let fixture = chrono::DateTime::from_timestamp(wiki.fixture_time, 0)
        .unwrap()
        .format("%Y%m%d%H%M%S")
        .to_string();
    assert_eq!(newest.trim(), fixture);
}

#[test]
fn two_instances_started_together_are_independent() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(TestWiki::start);
        let b = s.spawn(TestWiki::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.port, b.port);
    assert_ne!(a.dir, b.dir);

    let mut cookies = a.login(&account("Alice"));
    let token = a.api_post(&[("action", "query"), ("meta", "tokens")], &mut cookies);
    let token = token["query"]["tokens"]["csrftoken"]
        .as_str()
        .unwrap()
        .to_owned();
    let edit = a.api_post(
        &[
            ("action", "edit"),
            ("title", "Shared page"),
            ("appendtext", "\nAlice again."),
            ("token", &token),
        ],
        &mut cookies,
    );
    assert_eq!(edit["edit"]["result"], "Success", "{edit}");

    assert_eq!(
        revisions(&a, "Shared page").last().unwrap()["user"],
        "Alice"
    );
    assert_eq!(revisions(&b, "Shared page").last().unwrap()["user"], "Bob");
    let count = |w: &TestWiki| {
        w.sql("SELECT count(*) FROM revision")
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(count(&a), count(&b) + 1);
}

#[test]
fn dropping_a_testwiki_kills_its_server_and_removes_its_directory() {
    let wiki = TestWiki::start();
    let (port, dir) = (wiki.port, wiki.dir.clone());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(wiki);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn an_instance_removes_itself_when_its_starter_goes_away() {
    // What happens when a test process is killed: its end of the pipe closes.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testwiki");
    assert!(Command::new(script)
        .arg("golden")
        .status()
        .unwrap()
        .success());
    let mut child = Command::new(script)
        .args(["start", "--watch-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lifeline = child.stdin.take().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let started: Value = serde_json::from_slice(&out.stdout).unwrap();
    let port = started["port"].as_u64().unwrap() as u16;
    let dir = std::path::PathBuf::from(started["dir"].as_str().unwrap());
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(lifeline);
    let deadline = Instant::now() + Duration::from_secs(10);
    while (dir.exists() || TcpStream::connect(("127.0.0.1", port)).is_ok())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
}

#[test]
fn request_count_counts_each_request() {
    let wiki = TestWiki::start();
    let before = wiki.request_count();
    for _ in 0..3 {
        wiki.api_get(&[("action", "query"), ("meta", "siteinfo")]);
    }
    assert_eq!(wiki.request_count(), before + 3);
}

#[test]
fn fake_lag_file_makes_maxlag_fire() {
    let wiki = TestWiki::start();
    let query = [("action", "query"), ("meta", "siteinfo"), ("maxlag", "5")];
    assert!(wiki.api_get(&query)["error"].is_null());
    std::fs::write(wiki.dir.join("fake-lag"), "7").unwrap();
    let r = wiki.api_get(&query);
    assert_eq!(r["error"]["code"], "maxlag", "{r}");
    assert_eq!(r["error"]["lag"], 7);
    std::fs::remove_file(wiki.dir.join("fake-lag")).unwrap();
    assert!(wiki.api_get(&query)["error"].is_null());
}
