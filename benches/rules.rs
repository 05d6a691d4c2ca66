//! Rule evaluation over large histories: every rule of a tier over 5,000 revisions.
//!
//! Run with `cargo bench --bench rules`. Target: under 1 ms per verdict.

use adminibot::facts::{LogEvent, PageFacts, Revision};
use adminibot::policy::Policy;
use adminibot::rules::{evaluate, Action, Request, Requester, Tier};
use chrono::{DateTime, Duration, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::path::Path;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A history of `n` revisions in the last two days: mostly Carol, with blanking
/// vandalism and its reverts, bot edits, a redirect period and a final tag.
fn history(n: u64) -> PageFacts {
    let start = now() - Duration::hours(47);
    let revisions = (0..n)
        .map(|i| {
            let (user, id, text) = match i % 10 {
                3 => ("Bob", 11, String::new()),
                4 => ("Carol", 12, format!("Text {}", i - 1)),
                7 => ("MaintBot", 13, format!("Text {i}\n[[Category:X]]")),
                _ if i == n - 1 => ("Carol", 12, format!("{{{{db-author}}}}\nText {i}")),
                _ => (
                    "Carol",
                    12,
                    format!("Text {i} {{{{cite web|url=x}}}} more text to scan"),
                ),
            };
            Revision {
                id: i + 1,
                timestamp: start + Duration::seconds(i as i64 * 30),
                user: Some(user.to_string()),
                user_id: id,
                comment: Some("edit".into()),
                tags: vec![],
                size: text.len() as u64,
                sha1: Some(format!(
                    "{:x}",
                    text.len() * 7919 + text.bytes().map(usize::from).sum::<usize>()
                )),
                content: Some(text),
            }
        })
        .collect();
    let mut facts = PageFacts::missing("Long page", 0);
    facts.exists = true;
    facts.page_id = Some(1);
    facts.latest_revid = Some(n);
    facts.revisions = revisions;
    facts.bot_editors.insert("MaintBot".into());
    facts.log_events = vec![LogEvent {
        id: 1,
        kind: "create".into(),
        action: "create".into(),
        user: Some("Carol".into()),
        timestamp: start,
        comment: Some(String::new()),
        move_target: None,
    }];
    facts
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let policy = Policy::load(&root.join("policies/enwiki.toml")).expect("enwiki policy");
    let facts = history(5_000);
    for (name, tier, who) in [
        ("self_5000", Tier::Own, ("Carol", 12)),
        ("not_self_5000", Tier::NotSelf, ("Alice", 10)),
    ] {
        let request = Request {
            action: Action::Delete,
            tier,
            requester: Requester {
                name: who.0.into(),
                user_id: who.1,
            },
            now: now(),
        };
        c.bench_function(name, |b| {
            b.iter(|| evaluate(black_box(&facts), black_box(&request), &policy))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
