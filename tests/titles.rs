//! Titles (shared/notes/reliability.md §8.2) against the real test wiki: the wiki
//! normalises, adminibot follows its answer and never changes case or Unicode
//! itself. T-6 is in `check.rs` and `wiki::title`, T-12 and T-13 in
//! `properties.rs` and `authority::tests`.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{act_json, adminibot, adminibot_as, alice_with_self_grant, TestWiki};

/// Runs `check TITLES --as WHO --tier self --format json`; returns the exit code,
/// every result and stderr.
fn check_all(config: &Path, titles: &[&str], who: &str) -> (i32, Vec<Value>, String) {
    let mut args = vec!["check"];
    args.extend(titles);
    // `-vv` shows the wiki's expected warnings (`badutf8`) on stderr.
    args.extend(["--as", who, "--tier", "self", "--format", "json", "-vv"]);
    let out = adminibot(config, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let results = doc["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), titles.len(), "{doc:#}\n{stderr}");
    (out.status.code().unwrap(), results, stderr)
}

/// One title checked alone as Alice under the self tier.
fn check(config: &Path, title: &str) -> (i32, Value) {
    let (code, mut results, _) = check_all(config, &[title], "Alice");
    (code, results.remove(0))
}

/// What the wiki itself makes of `title`: `query.pages[0]` of `prop=info&titles=TITLE`.
fn api_page(wiki: &TestWiki, title: &str) -> Value {
    let answer = wiki.api_get(&[("action", "query"), ("prop", "info"), ("titles", title)]);
    answer["query"]["pages"][0].clone()
}

/// The title the wiki normalises `title` to.
fn api_title(wiki: &TestWiki, title: &str) -> String {
    api_page(wiki, title)["title"]
        .as_str()
        .unwrap_or_else(|| panic!("no page for {title:?}"))
        .to_string()
}

/// Saves `text` as `title` with `who`'s BotPassword; returns the new page's id.
fn create_as(wiki: &TestWiki, who: &str, title: &str, text: &str) -> u64 {
    let saved = wiki.write_as(
        who,
        &[
            ("action", "edit"),
            ("title", title),
            ("text", text),
            ("summary", "titles test"),
            ("createonly", "1"),
        ],
    );
    assert_eq!(saved["edit"]["result"], "Success", "{saved}");
    saved["edit"]["pageid"].as_u64().expect("page id")
}

/// The rule `name` of a result.
fn rule<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["rule"] == name)
        .unwrap_or_else(|| panic!("no rule {name}: {result:#}"))
}

fn failing_rules(result: &Value) -> Vec<&str> {
    result["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["passed"] == false)
        .map(|r| r["rule"].as_str().unwrap())
        .collect()
}

/// The newest log id and revision id: anything written moves one of them.
fn high_water(wiki: &TestWiki) -> (String, String) {
    (
        wiki.sql("SELECT max(log_id) FROM logging"),
        wiki.sql("SELECT max(rev_id) FROM revision"),
    )
}

/// T-1: lower-case first letter, underscores, surrounding, doubled and exotic
/// spaces and bidi marks next to a space all name the one page `Alice draft`; the
/// report gives the wiki's title, its page id and the title as asked. A bidi mark
/// between two letters is stripped, not made a space: another page, as the wiki says.
#[test]
fn spellings_of_one_title_name_one_page() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true);
    let page_id = api_page(&wiki, "Alice draft")["pageid"].as_u64().unwrap();
    let spellings = [
        "alice draft",
        "Alice_draft",
        "alice__draft_",
        "  Alice  draft ",
        "Alice\u{a0}draft",
        "Alice\u{a0}\u{a0} draft",
        "Alice\u{3000}draft",
        "\u{200e}Alice draft",
        "Alice\u{200e} draft",
        "Alice \u{200f}draft\u{200e}",
    ];
    for spelling in spellings {
        let (code, result) = check(&config.path, spelling);
        assert_eq!(code, 0, "{spelling:?}: {result:#}");
        assert_eq!(result["title"], "Alice draft", "{spelling:?}");
        assert_eq!(result["requested_title"], spelling, "{spelling:?}");
        assert_eq!(result["page_id"], page_id, "{spelling:?}");
        assert_eq!(result["decision"], "needs-confirmation", "{spelling:?}");
    }
    // All at once: a batch maps each spelling through the wiki's `normalized` list.
    let (code, results, _) = check_all(&config.path, &spellings, "Alice");
    assert_eq!(code, 0);
    for (spelling, result) in spellings.iter().zip(&results) {
        assert_eq!(result["title"], "Alice draft", "{spelling:?}: {result:#}");
        assert_eq!(result["requested_title"], *spelling);
        assert_eq!(result["page_id"], page_id, "{spelling:?}");
    }
    // U+200E inside a word is removed, so `Alice‎draft` is `Alicedraft`.
    let joined = "Alice\u{200e}draft";
    assert_eq!(api_title(&wiki, joined), "Alicedraft");
    let (code, result) = check(&config.path, joined);
    assert_eq!(result["title"], "Alicedraft", "{result:#}");
    assert!(result["page_id"].is_null(), "{result:#}");
    assert_eq!(failing_rules(&result)[0], "page_exists", "{result:#}");
    assert_eq!(code, 1);
}

/// T-2: a title typed in NFD (`e` + U+0301) names the page saved under the NFC
/// title: the wiki makes it NFC (warning `badutf8`, shown at `-vv`) and adminibot
/// follows, alone and in a batch, where the wiki reports the NFD title
/// percent-encoded and chains two normalisations.
#[test]
fn a_title_in_nfd_names_the_nfc_page() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true);
    let nfc = "Draft:Caf\u{e9} test";
    let page_id = create_as(&wiki, "Alice", nfc, "Alice's own draft");
    assert_eq!(api_title(&wiki, nfc), nfc);

    let nfd = "Draft:Cafe\u{301} test";
    let (code, results, stderr) = check_all(&config.path, &[nfd], "Alice");
    let result = &results[0];
    assert_eq!(result["title"], nfc, "{result:#}");
    assert_eq!(result["title"].as_str().unwrap().as_bytes(), nfc.as_bytes());
    assert_eq!(result["requested_title"], nfd);
    assert_eq!(result["page_id"], page_id, "{result:#}");
    // Alice's own recent draft: the rules judged the NFC page's history.
    assert_eq!((code, result["decision"].as_str()), (0, Some("allowed")));
    assert!(
        rule(result, "single_author")["detail"]
            .as_str()
            .unwrap()
            .contains("`Alice`"),
        "{result:#}"
    );
    assert!(stderr.contains("badutf8"), "{stderr}");

    // In a batch the page is found through the `normalized` list:
    // `draft:cafe%CC%81_test` → `draft:café_test` → `Draft:Café test`.
    let lower_nfd = "draft:cafe\u{301}_test";
    let (code, results, _) = check_all(&config.path, &[lower_nfd, "Alice draft", nfd], "Alice");
    assert_eq!(code, 0, "{results:#?}");
    for (asked, result) in [lower_nfd, "Alice draft", nfd].iter().zip(&results) {
        assert_ne!(result["decision"], "failed", "{asked:?}: {result:#}");
        assert_eq!(result["requested_title"], *asked);
    }
    assert_eq!(results[0]["title"], nfc, "{:#}", results[0]);
    assert_eq!(results[0]["page_id"], page_id);
    assert_eq!(results[2]["page_id"], page_id);
    assert_eq!(results[1]["title"], "Alice draft");
}

/// T-3: `Image:` and `File:`, and a namespace alias the wiki adds
/// (`$wgNamespaceAliases['WIP'] = 118`), name the canonical page; the recency
/// window and a charter limited to namespace 118 apply through the alias exactly
/// as through `Draft:`, and a deletion through the alias deletes `Draft:…`.
#[test]
fn namespace_aliases_name_the_canonical_page_and_its_namespace_rules() {
    let (wiki, config) = alice_with_self_grant();
    let file_page = create_as(&wiki, "Admin", "File:Titles alias.png", "A description");
    for asked in [
        "Image:Titles alias.png",
        "image:Titles_alias.png",
        "File:Titles alias.png",
    ] {
        let (_, result) = check(&config.path, asked);
        assert_eq!(result["title"], "File:Titles alias.png", "{asked}");
        assert_eq!(result["page_id"], file_page, "{asked}: {result:#}");
    }

    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgNamespaceAliases['WIP'] = 118;\n",
    )
    .unwrap();
    assert_eq!(api_title(&wiki, "wip:Alice_sandbox"), "Draft:Alice sandbox");
    let (code, canonical) = check(&config.path, "Draft:Alice sandbox");
    assert_eq!((code, canonical["decision"].as_str()), (0, Some("allowed")));
    for asked in ["WIP:Alice sandbox", "wip:Alice_sandbox"] {
        let (code, result) = check(&config.path, asked);
        assert_eq!(code, 0, "{asked}: {result:#}");
        assert_eq!(result["title"], "Draft:Alice sandbox", "{asked}");
        assert_eq!(result["page_id"], canonical["page_id"], "{asked}");
        assert_eq!(result["decision"], canonical["decision"], "{asked}");
        // The Draft window (30d, namespace 118), not the main namespace's (3d).
        assert_eq!(result["rules"], canonical["rules"], "{asked}");
        assert!(
            rule(&result, "recent")["detail"]
                .as_str()
                .unwrap()
                .contains("namespace 118"),
            "{result:#}"
        );
    }

    // A charter for namespace 118 only, granted to Bob: matched on the id.
    let charters = tempfile::tempdir().unwrap();
    let charter = charters.path().join("drafts-only.toml");
    std::fs::write(
        &charter,
        "name = \"drafts-only\"\n\
         description = \"Delete tagged drafts, and nothing outside Draft.\"\n\
         tiers = [\"not-self\"]\nactions = [\"delete\"]\nnamespaces = [118]\nvalid_for = \"30d\"\n",
    )
    .unwrap();
    for args in [
        vec!["issuers", "add", "Admin", "--tier", "not-self"],
        vec![
            "grant",
            "--user",
            "Bob",
            "--tier",
            "not-self",
            "--charter",
            charter.to_str().unwrap(),
        ],
    ] {
        let out = adminibot_as(&config.path, "Admin", &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let authority = |title: &str| {
        let out = adminibot(
            &config.path,
            &["check", title, "--as", "Bob", "--format", "json"],
        );
        let result = support::first_result(&out);
        rule(&result, "authority").clone()
    };
    let through_draft = authority("Draft:Alice sandbox");
    assert_eq!(through_draft["passed"], true, "{through_draft:#}");
    assert!(
        through_draft["detail"]
            .as_str()
            .unwrap()
            .contains("drafts-only"),
        "{through_draft:#}"
    );
    assert_eq!(authority("wip:Alice_sandbox"), through_draft);
    let main = authority("Alice draft");
    assert_eq!(main["passed"], false, "{main:#}");
    assert!(
        main["detail"]
            .as_str()
            .unwrap()
            .contains("allows namespace 118, not 0"),
        "{main:#}"
    );

    // A real deletion through the alias deletes the canonical page.
    let (code, deleted) = act_json(&config, "Alice", &["delete", "WIP:Alice sandbox"]);
    assert_eq!(
        (code, deleted["decision"].as_str()),
        (0, Some("done")),
        "{deleted:#}"
    );
    assert_eq!(deleted["title"], "Draft:Alice sandbox");
    assert_eq!(api_page(&wiki, "Draft:Alice sandbox")["missing"], true);
    let log = wiki.api_get(&[
        ("action", "query"),
        ("list", "logevents"),
        ("letype", "delete"),
        ("lelimit", "1"),
    ]);
    assert_eq!(
        log["query"]["logevents"][0]["title"], "Draft:Alice sandbox",
        "{log}"
    );
}

/// T-4: with `$wgCapitalLinks = false` the first letter is part of the title:
/// `foo lower` and `Foo lower` are two titles, and adminibot reports each as
/// asked, never upper-casing it (user names stay capitalised: the User namespace
/// always is).
#[test]
fn without_capital_links_a_lower_case_title_is_its_own_page() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true);
    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgCapitalLinks = false;\n",
    )
    .unwrap();
    let page_id = create_as(&wiki, "Alice", "foo lower", "lower case");
    assert_eq!(api_title(&wiki, "foo_lower"), "foo lower");
    assert_eq!(api_page(&wiki, "Foo lower")["missing"], true);

    for asked in ["foo lower", "foo_lower", " foo  lower"] {
        let (code, result) = check(&config.path, asked);
        assert_eq!(result["title"], "foo lower", "{asked:?}: {result:#}");
        assert_eq!(result["page_id"], page_id, "{asked:?}");
        assert_eq!(rule(&result, "page_exists")["passed"], true, "{result:#}");
        assert!(code <= 1, "{result:#}");
    }
    let (code, upper) = check(&config.path, "Foo lower");
    assert_eq!(upper["title"], "Foo lower", "{upper:#}");
    assert!(upper["page_id"].is_null(), "{upper:#}");
    assert_eq!(failing_rules(&upper)[0], "page_exists", "{upper:#}");
    assert_eq!(code, 1);

    let (_, results, _) = check_all(&config.path, &["foo lower", "Foo lower"], "alice");
    assert_eq!(results[0]["page_id"], page_id);
    assert!(results[1]["page_id"].is_null(), "{:#}", results[1]);
    assert_eq!(results[0]["requester"], "Alice");
}

/// T-5: first letters whose capital is not one letter (`ß`, `ǰ`) or is not their
/// title case (`ǆ`): adminibot reports exactly the wiki's title, both with PHP's
/// own upper-casing (`SS…`, `J̌…`, `Ǆ…`) and with the override table a wiki such as
/// Wikimedia's keeps (`$wgOverrideUcfirstCharacters`: `ß…`, `ǰ…`, `ǅ…`).
#[test]
fn first_letters_without_a_simple_capital_follow_the_wiki() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true);
    let asked = ["ßtitles", "ǆtitles", "ǰtitles"];
    let compare = |label: &str| -> Vec<String> {
        let expected: Vec<String> = asked.iter().map(|t| api_title(&wiki, t)).collect();
        for (title, wants) in asked.iter().zip(&expected) {
            let (_, result) = check(&config.path, title);
            assert_eq!(
                result["title"],
                wants.as_str(),
                "{label} {title}: {result:#}"
            );
            assert_eq!(result["requested_title"], *title);
        }
        let (_, results, _) = check_all(&config.path, &asked, "Alice");
        for ((title, wants), result) in asked.iter().zip(&expected).zip(&results) {
            assert_eq!(result["title"], wants.as_str(), "{label} batch {title}");
        }
        expected
    };

    // A page saved under `ßtitles` is found under what the wiki made of it.
    let page_id = create_as(&wiki, "Alice", "ßtitles", "sharp s");
    let php = compare("mb_strtoupper");
    assert_eq!(php, ["SStitles", "Ǆtitles", "J\u{30c}titles"]);
    let (_, result) = check(&config.path, "ßtitles");
    assert_eq!(result["page_id"], page_id, "{result:#}");

    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgOverrideUcfirstCharacters = [ 'ß' => 'ß', 'ǆ' => 'ǅ', 'ǰ' => 'ǰ' ];\n",
    )
    .unwrap();
    let overridden = compare("override");
    assert_eq!(overridden, ["ßtitles", "ǅtitles", "ǰtitles"]);
    // Now `ßtitles` is another title than the page saved before.
    let (_, result) = check(&config.path, "ßtitles");
    assert!(result["page_id"].is_null(), "{result:#}");
}

/// T-7: a prefix the wiki lists in `$wgLocalInterwikis` names a page of this wiki
/// and is resolved like a leading colon; without that setting (the interwiki table's
/// `iw_local = 1` alone is not enough) and for any other interwiki prefix the title
/// is refused with exit 2 before anything else.
#[test]
fn a_local_interwiki_prefix_names_this_wiki_and_others_are_refused() {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true);
    assert!(
        wiki.sql("PRAGMA table_info(interwiki)")
            .contains("iw_local"),
        "the interwiki table changed"
    );
    wiki.sql(&format!(
        "INSERT INTO interwiki (iw_prefix, iw_url, iw_api, iw_wikiid, iw_local, iw_trans) VALUES \
         ('selfwiki', 'http://127.0.0.1:{port}/index.php?title=$1', '{api}', '', 1, 0), \
         ('otherwiki', 'http://127.0.0.1:1/index.php?title=$1', '', '', 0, 0)",
        port = wiki.port,
        api = wiki.api
    ));
    let refused = |title: &str| {
        let (code, result) = check(&config.path, title);
        assert_eq!(code, 2, "{title}: {result:#}");
        assert_eq!(result["decision"], "failed");
        assert!(
            result["error"].as_str().unwrap().contains("another wiki"),
            "{title}: {result:#}"
        );
    };
    // `iw_local = 1` alone: MediaWikiTitleCodec strips only `$wgLocalInterwikis`.
    refused("selfwiki:Alice draft");

    std::fs::write(
        wiki.dir.join("Extra.php"),
        "<?php $wgLocalInterwikis = [ 'selfwiki' ];\n",
    )
    .unwrap();
    let page_id = api_page(&wiki, "Alice draft")["pageid"].as_u64().unwrap();
    for asked in ["selfwiki:Alice draft", "Selfwiki:alice_draft"] {
        let (code, result) = check(&config.path, asked);
        assert_eq!(code, 0, "{asked}: {result:#}");
        assert_eq!(result["title"], "Alice draft", "{asked}");
        assert_eq!(result["page_id"], page_id, "{asked}");
        assert_eq!(result["requested_title"], asked);
    }
    let (_, result) = check(&config.path, "selfwiki:draft:Alice_sandbox");
    assert_eq!(result["title"], "Draft:Alice sandbox", "{result:#}");
    assert_eq!(result["decision"], "allowed", "{result:#}");
    // A leading colon after a local prefix is invalid, as the wiki says.
    let (code, result) = check(&config.path, "selfwiki::Alice draft");
    assert_eq!(code, 2, "{result:#}");
    assert!(
        result["error"].as_str().unwrap().contains("invalid colon"),
        "{result:#}"
    );
    // The wiki's rule for an empty local-interwiki title: the main page.
    let (_, result) = check(&config.path, "selfwiki:");
    assert_eq!(result["title"], api_title(&wiki, "selfwiki:"), "{result:#}");
    assert_eq!(result["title"], "Main Page");

    for other in [
        "otherwiki:Alice draft",
        "wikipedia:Alice draft",
        "selfwiki:wikipedia:Alice draft",
    ] {
        refused(other);
    }
    // In a batch too, each alone.
    let (code, results, _) = check_all(
        &config.path,
        &["selfwiki:Alice draft", "otherwiki:Alice draft"],
        "Alice",
    );
    assert_eq!(code, 2);
    assert_eq!(results[0]["page_id"], page_id, "{:#}", results[0]);
    assert_eq!(results[1]["decision"], "failed", "{:#}", results[1]);
}

/// T-10: a redirect is judged as itself, not its target: the never_redirect rule
/// names the redirect's revision and target, a self-tier delete of a redirect to a
/// page that existed is refused (and writes nothing), and delete-redirect needs an
/// extended grant. A redirect to a page that never existed is the proposal's
/// exception: the rule shows it was a redirect and lets it pass.
#[test]
fn a_redirect_is_judged_as_itself_and_refused_under_self() {
    let (wiki, config) = alice_with_self_grant();
    let redirect = api_page(&wiki, "Alice old title");
    assert_eq!(redirect["redirect"], true, "{redirect}");
    let target = api_page(&wiki, "Alice new title");
    assert_ne!(redirect["pageid"], target["pageid"]);

    let (code, result) = check(&config.path, "alice_old_title");
    assert_eq!(code, 1, "{result:#}");
    assert_eq!(
        result["title"], "Alice old title",
        "not followed to its target"
    );
    assert_eq!(result["page_id"], redirect["pageid"]);
    let never = rule(&result, "never_redirect");
    assert_eq!(never["outcome"], "fail", "{result:#}");
    assert!(
        never["detail"]
            .as_str()
            .unwrap()
            .contains("was a redirect to `Alice new title`, which existed"),
        "{never:#}"
    );
    assert_eq!(never["evidence"]["revisions"][0], result["latest_revid"]);

    let before = high_water(&wiki);
    let (code, deleted) = act_json(&config, "Alice", &["delete", "Alice old title", "--yes"]);
    assert_eq!(
        (code, deleted["decision"].as_str()),
        (1, Some("refused")),
        "{deleted:#}"
    );
    assert!(
        failing_rules(&deleted).contains(&"never_redirect"),
        "{deleted:#}"
    );
    let (code, deleted) = act_json(
        &config,
        "Alice",
        &["delete-redirect", "Alice old title", "--yes"],
    );
    assert_eq!(
        (code, deleted["decision"].as_str()),
        (1, Some("refused")),
        "{deleted:#}"
    );
    assert!(
        failing_rules(&deleted).contains(&"tier_covers_action"),
        "{deleted:#}"
    );
    assert_eq!(high_water(&wiki), before, "a refusal wrote to the wiki");
    assert!(api_page(&wiki, "Alice old title")["missing"].is_null());

    // Alice's own redirect to a draft that never existed.
    let dangling = "Draft:Alice dangling redirect";
    create_as(
        &wiki,
        "Alice",
        dangling,
        "#REDIRECT [[Draft:Nowhere at all]]",
    );
    assert_eq!(api_page(&wiki, dangling)["redirect"], true);
    let (code, result) = check(&config.path, dangling);
    let never = rule(&result, "never_redirect");
    assert_eq!(never["outcome"], "pass", "{result:#}");
    assert_eq!(
        never["detail"],
        "1 revision(s) were redirects, but to pages that did not exist then"
    );
    assert_eq!(never["evidence"]["revisions"][0], result["latest_revid"]);
    assert_eq!((code, result["decision"].as_str()), (0, Some("allowed")));
}

/// T-11: a page that does not exist, and one already deleted, are nothing to
/// delete: refused by page_exists with exit 1 (a refusal, not success), no
/// attribution edit, no log entry; undeleting what was never deleted is refused
/// alike.
#[test]
fn a_missing_or_deleted_page_is_nothing_to_do_and_writes_nothing() {
    let (wiki, config) = alice_with_self_grant();
    // Deleted just now by an administrator, after being Alice's own draft.
    let gone = wiki.write_as(
        "Admin",
        &[
            ("action", "delete"),
            ("title", "Draft:Alice sandbox"),
            ("reason", "titles test"),
        ],
    );
    assert!(gone["delete"]["logid"].is_u64(), "{gone}");
    let before = high_water(&wiki);
    for (args, detail) in [
        (
            ["delete", "No such page here"],
            "`No such page here` does not exist: there is nothing to delete",
        ),
        (
            ["delete", "Draft:Alice sandbox"],
            "`Draft:Alice sandbox` does not exist: there is nothing to delete",
        ),
        (
            ["delete", "User:Alice/Deleted notes"],
            "`User:Alice/Deleted notes` does not exist: there is nothing to delete",
        ),
        (
            ["undelete", "No such page here"],
            "nothing is deleted at `No such page here`",
        ),
    ] {
        let mut all = args.to_vec();
        all.push("--yes");
        let (code, result) = act_json(&config, "Alice", &all);
        assert_eq!(code, 1, "{args:?}: {result:#}");
        assert_ne!(code, 0);
        assert_eq!(result["decision"], "refused", "{args:?}");
        assert!(result["page_id"].is_null(), "{result:#}");
        let exists = rule(&result, "page_exists");
        assert_eq!(exists["outcome"], "fail", "{args:?}: {result:#}");
        assert_eq!(exists["detail"], detail);
        let steps = result["steps"].as_array().unwrap();
        let step = steps[0].as_str().unwrap();
        assert!(
            step.starts_with(&format!(
                "nothing was done: there is nothing to {}",
                args[0]
            )),
            "{args:?}: {steps:?}"
        );
        assert!(!step.contains("--escalate"), "nothing to escalate: {step}");
    }
    assert_eq!(high_water(&wiki), before, "nothing to do wrote to the wiki");
    assert_eq!(api_page(&wiki, "User:Alice/adminibot")["missing"], true);
}

/// T-8, T-9: titles MediaWiki can never store are refused with exit 2 and the
/// wiki's (or the local) reason, before any write: percent escapes, signatures,
/// relative paths, 256 bytes, `::`. A single leading colon names the main
/// namespace, and the wiki decodes HTML entities (`Foo&amp;` is `Foo&`), which the
/// report shows beside what was asked.
#[test]
fn malformed_titles_are_refused_before_any_write() {
    let (wiki, config) = alice_with_self_grant();
    let before = high_water(&wiki);
    let long = "x".repeat(256);
    for title in [
        "Foo%41",
        "a~~~",
        "./x",
        "../x",
        long.as_str(),
        "::Alice draft",
        "Talk:File:X",
    ] {
        let (code, result) = act_json(&config, "Alice", &["delete", title, "--yes"]);
        assert_eq!(code, 2, "{title}: {result:#}");
        assert_eq!(result["decision"], "failed", "{title}: {result:#}");
        let error = result["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("not a valid title")
                || error.contains("bytes long")
                || error.contains("which no page title may contain"),
            "{title}: {error}"
        );
    }
    let (_, result) = check(&config.path, ":Alice draft");
    assert_eq!(result["title"], "Alice draft", "{result:#}");
    assert_eq!(result["page_id"], api_page(&wiki, "Alice draft")["pageid"]);
    let (code, result) = check(&config.path, "Foo&amp;");
    assert_eq!((code, &result["title"]), (1, &Value::from("Foo&")));
    assert_eq!(result["requested_title"], "Foo&amp;");
    assert_eq!(high_water(&wiki), before, "nothing was written");
}
