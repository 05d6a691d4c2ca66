//! The web page, in a real headless browser (Debian's Chromium and
//! ChromeDriver) against the real test wiki and a real `adminibot serve`: an
//! editor logs in to the wiki through its own login form, asks the bot on the
//! request page, signs in the wiki's own edit form, and sees the report. Also:
//! hostile strings are shown escaped under a strict CSP, forms need their CSRF
//! token, and the public JSON is what the CLI prints. Screenshots go to
//! `docs/screenshots/`, which README.md links.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use support::browser::Browser;
use support::service::Service;
use support::{account, said, TestWiki};

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
}

/// The revisions of the wiki, as one number that any edit changes.
fn wiki_state(wiki: &TestWiki) -> String {
    wiki.sql("SELECT max(rev_id) || '/' || max(log_id) || '/' || count(*) FROM revision, logging")
}

/// The wiki's own login form, as Alice.
fn log_in_to_the_wiki(browser: &Browser, wiki: &TestWiki, who: &str) {
    let index = wiki.api.replace("api.php", "index.php");
    browser.goto(&format!("{index}?title=Special:UserLogin"));
    browser.type_into("#wpName1", who);
    browser.type_into("#wpPassword1", &account(who).password);
    browser.click("#wpLoginAttempt");
    browser.wait_for("#pt-logout, #pt-userpage", 30);
}

/// The request form, filled in and sent.
fn ask(browser: &Browser, service: &Service, title: &str, who: &str) {
    browser.goto(&service.url);
    browser.type_into("#title", title);
    browser.type_into("#user", who);
    browser.click("button[type=submit]");
}

/// The acceptance story: Alice logs in to the wiki, asks for her draft's
/// deletion, sees the verdict, signs in the wiki's edit form, and the page
/// shows the report. The wiki shows the deletion by the bot naming her request
/// and her signature. Then a page she may not delete: refused, no sign button,
/// the wiki untouched.
#[test]
fn an_editor_asks_signs_on_the_wiki_and_sees_the_bot_act() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    service.grant_alice_self();
    let browser = Browser::start();
    log_in_to_the_wiki(&browser, &wiki, "Alice");

    ask(&browser, &service, "Draft:Alice sandbox", "Alice");
    browser.wait_for("#sign-link", 30);
    let verdict = browser.text("main");
    assert!(
        verdict.contains("allowed") && verdict.contains("single_author"),
        "{verdict}"
    );
    let request_id = browser
        .text("h1")
        .trim_start_matches("Request ")
        .trim()
        .to_string();
    browser.screenshot(&screenshots().join("request-allowed.png"));

    let (mine, known) = browser.windows();
    browser.click("#sign-link");
    let edit_form = browser.new_window(&known);
    browser.switch_to(&edit_form);
    browser.wait_for("#wpSave", 30);
    let preloaded = browser.property("#wpTextbox1", "value").unwrap_or_default();
    assert!(preloaded.contains(&request_id), "{preloaded}");
    browser.click("#wpSave");
    browser.wait_for("#firstHeading", 30);
    browser.switch_to(&mine);
    // The page polls the service, which finds the signature and acts.
    browser.wait_for_text("main", "done", 60);
    let report = browser.text("main");
    assert!(report.contains("deleted by the bot"), "{report}");
    // Loaded afresh, so the screenshot shows the page from its top.
    browser.goto(&browser.url());
    browser.wait_for_text("main", "done", 10);
    browser.screenshot(&screenshots().join("request-done.png"));

    assert!(!wiki.exists("Draft:Alice sandbox"));
    let deletion = wiki.sql(&format!(
        "SELECT actor_name || ' | ' || comment_text FROM logging JOIN actor ON log_actor = actor_id \
         JOIN comment ON log_comment_id = comment_id WHERE log_type = 'delete' \
         AND log_title = 'Alice_sandbox' AND comment_text LIKE '%{request_id}%'"
    ));
    assert!(
        deletion.starts_with("AdminBot | ") && deletion.contains("Alice"),
        "{deletion}"
    );
    let signature = wiki.sql(&format!(
        "SELECT actor_name FROM revision JOIN page ON rev_page = page_id \
         JOIN actor ON rev_actor = actor_id JOIN revision_comment_temp ON revcomment_rev = rev_id \
         JOIN comment ON revcomment_comment_id = comment_id \
         WHERE page_namespace = 2 AND page_title = 'Alice/adminibot' \
         AND comment_text LIKE '/* adminibot: delete Draft:Alice sandbox%{request_id}%'"
    ));
    assert_eq!(signature.trim(), "Alice", "her attribution edit is there");

    // A page Alice may not delete: refused, with no way to sign.
    let before = wiki_state(&wiki);
    ask(&browser, &service, "Shared page", "Alice");
    browser.wait_for_text("main", "refused", 30);
    assert!(!browser.has("#sign-link"));
    assert!(browser.text("main").contains("single_author"));
    browser.screenshot(&screenshots().join("request-refused.png"));
    assert_eq!(
        wiki_state(&wiki),
        before,
        "a refused request writes nothing"
    );
    assert!(wiki.exists("Shared page"));

    // The public pages show what happened.
    browser.goto(&format!("{}/actions", service.url));
    browser.wait_for_text("main", &request_id, 10);
    assert!(browser.has("a[href*='Special:Log&logid=']"));
    browser.screenshot(&screenshots().join("recent-actions.png"));
    browser.goto(&format!("{}/status", service.url));
    browser.wait_for_text("main", "Running", 10);
    browser.screenshot(&screenshots().join("status.png"));
    // On a phone, the table becomes stacked cards.
    browser.resize(390, 844);
    browser.goto(&format!("{}/actions", service.url));
    browser.wait_for_text("main", &request_id, 10);
    browser.screenshot(&screenshots().join("phone-recent-actions.png"));
    browser.resize(1200, 900);
    browser.goto(&format!("{}/grants", service.url));
    browser.wait_for_text("main", "Alice", 10);
    assert!(
        browser.has("a[href*='oldid=']"),
        "the issuer's signature is linked"
    );
}

/// "Irreversible actions need a second, explicit confirmation": the sign
/// button appears only after the requester ticks and sends the confirmation.
#[test]
fn an_irreversible_deletion_is_confirmed_before_the_sign_button() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    service.grant_alice_self();
    let browser = Browser::start();
    ask(&browser, &service, "Alice draft", "Alice");
    browser.wait_for("form[action$='/confirm']", 30);
    assert!(!browser.has("#sign-link"));
    assert!(browser.text("main").contains("The bot could not undo this"));
    browser.click("#understood");
    browser.click("form[action$='/confirm'] button");
    browser.wait_for("#sign-link", 30);
    let href = browser.property("#sign-link", "href").unwrap_or_default();
    assert!(
        href.contains("action=edit")
            && href.contains("section=new")
            && href.contains("preloadtitle="),
        "{href}"
    );
}

/// Hostile strings: a title with `<script>`, `"` and `{{`, and an edit summary
/// on the shutoff page with the same, are shown as text, never as markup;
/// every page carries the strict CSP. A form without the visitor's CSRF token
/// is refused and proposes nothing.
#[test]
fn hostile_strings_are_escaped_and_forms_need_their_token() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    let hostile = r#"<script>alert("x")</script> "quoted" {{stop}}"#;
    let saved = wiki.write_as(
        "Admin",
        &[
            ("action", "edit"),
            ("title", "User:AdminBot/Shutoff"),
            ("text", "stop"),
            ("summary", hostile),
        ],
    );
    assert!(saved["edit"]["result"] == "Success", "{saved}");

    let (code, head, body) = service.http("GET", "/status", &[], b"");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("Shut off by the shutoff page"), "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(
        body.contains(
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &quot;quoted&quot; {{stop}}"
        ),
        "{body}"
    );
    assert!(!body.contains("<script>alert"), "{body}");

    // The form, with its token, asking about a title no wiki can have.
    let (_, head, form) = service.http("GET", "/", &[], b"");
    let csrf = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: adminibot_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("a CSRF cookie")
        .to_string();
    assert!(
        form.contains(&format!("name=\"csrf\" value=\"{csrf}\"")),
        "{form}"
    );
    let fields = |token: &str| {
        format!(
            "csrf={token}&action=delete&user=Alice&reason=&title={}",
            support::form_encode(hostile)
        )
    };
    let cookie = format!("adminibot_csrf={csrf}");
    let form_headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", cookie.as_str()),
    ];
    let (code, head, body) =
        service.http("POST", "/request", &form_headers, fields(&csrf).as_bytes());
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy"),
        "{head}"
    );
    assert!(!body.contains("<script>alert"), "{body}");
    assert_eq!(code, 200, "{body}");
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &quot;quoted&quot; {{stop}}";
    assert!(
        body.contains(&format!("<strong>{escaped}</strong>"))
            && body.contains("which no page title may contain"),
        "the title comes back as text, with the wiki's reason: {body}"
    );

    // Without the visitor's own token: refused, nothing proposed.
    let before = support::sqlite(&service.store, "SELECT count(*) FROM proposals");
    let (code, _, body) = service.http(
        "POST",
        "/request",
        &form_headers,
        fields("0123456789abcdef0123456789abcdef").as_bytes(),
    );
    assert_eq!(code, 403, "{body}");
    let (code, _, _) = service.http(
        "POST",
        "/request",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        fields(&csrf).as_bytes(),
    );
    assert_eq!(code, 403, "a token without its cookie is refused");
    assert_eq!(
        support::sqlite(&service.store, "SELECT count(*) FROM proposals"),
        before
    );
}

/// The public JSON is exactly what the CLI prints with `--format json`: the
/// grants in force (`list --all`), the recent actions (`audit --since 30d`) and
/// the chain (`audit verify`); the grants' snapshot pins their shape.
#[test]
fn the_public_json_is_what_the_cli_prints() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    service.grant_alice_self();
    let out = service.run(Some("Alice"), &["delete", "Draft:Alice sandbox"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    for (route, args) in [
        ("/grants.json", &["list", "--all", "--format", "json"][..]),
        (
            "/actions.json",
            &["audit", "--since", "30d", "--format", "json"][..],
        ),
        ("/audit.json", &["audit", "verify", "--format", "json"][..]),
    ] {
        let (code, _, body) = service.http("GET", route, &[], b"");
        assert_eq!(code, 200, "{route}: {body}");
        let served: Value = serde_json::from_str(&body).unwrap();
        let out = service.run(None, args);
        assert_eq!(out.status.code(), Some(0), "{}", said(&out));
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(served, printed, "{route} is `adminibot {}`", args.join(" "));
        if route == "/grants.json" {
            let mut masked = served.clone();
            for grant in masked["grants"].as_array_mut().unwrap() {
                for key in ["starts_at", "ends_at", "expires_at"] {
                    if grant[key].is_string() {
                        grant[key] = "[time]".into();
                    }
                }
                grant["signature"]["revid"] = "[revid]".into();
                grant["issuer"]["user_id"] = "[id]".into();
                grant["user"]["user_id"] = "[id]".into();
            }
            insta::assert_json_snapshot!("grants_json", masked);
        }
    }
    let (code, _, status) = service.http("GET", "/status.json", &[], b"");
    assert_eq!(code, 200);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["audit"]["valid"], true, "{status}");
}
