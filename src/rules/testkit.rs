//! Builders for rule tests: a fixed clock, a small policy and terse revisions.

use super::{Action, Request, Requester, Tier};
use crate::facts::{LogEvent, PageFacts, Revision, Timestamp};
use crate::policy::Policy;
use chrono::{DateTime, Duration, Utc};
use std::path::Path;

pub const ALICE: (&str, u64) = ("Alice", 10);
pub const BOB: (&str, u64) = ("Bob", 11);
pub const CAROL: (&str, u64) = ("Carol", 12);
pub const MAINTBOT: (&str, u64) = ("MaintBot", 13);

pub const POLICY: &str = r#"
[wiki]
name = "unit"
bot = "AdminBot"

[pages]
noticeboard = "Project:Noticeboard"
attribution = "User:{requester}/adminibot"
log = "User:AdminBot/Log"
shutoff = "User:AdminBot/Shutoff"
run_word = "run"

[templates]
copyvio = ["Db-copyvio", "Db-g12", "Copyvio"]
author_request = ["Db-author", "Db-g7", "Db-u1"]

[bots]
names = ["MaintBot"]

[recency.namespaces]
0 = { delete = "3d", undelete = "10m" }
2 = { delete = "unlimited", undelete = "3d" }
"#;

pub fn policy() -> Policy {
    Policy::parse(Path::new("unit.toml"), POLICY).expect("unit policy is valid")
}

pub fn now() -> Timestamp {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn hours_ago(hours: i64) -> Timestamp {
    now() - Duration::hours(hours)
}

pub fn minutes_ago(minutes: i64) -> Timestamp {
    now() - Duration::minutes(minutes)
}

pub fn request(action: Action, tier: Tier) -> Request {
    request_by(ALICE, action, tier)
}

pub fn request_by(who: (&str, u64), action: Action, tier: Tier) -> Request {
    Request {
        action,
        tier,
        requester: Requester {
            name: who.0.to_string(),
            user_id: who.1,
        },
        now: now(),
    }
}

/// A revision whose sha1 is derived from its content, as the wiki's would be.
pub fn rev(id: u64, who: (&str, u64), at: Timestamp, content: &str) -> Revision {
    Revision {
        id,
        timestamp: at,
        user: Some(who.0.to_string()),
        user_id: who.1,
        comment: Some(String::new()),
        tags: Vec::new(),
        size: content.len() as u64,
        sha1: Some(fake_sha1(content)),
        content: Some(content.to_string()),
    }
}

fn fake_sha1(content: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    content.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// An existing main-namespace page with these revisions.
pub fn page(revisions: Vec<Revision>) -> PageFacts {
    let mut facts = PageFacts::missing("Test page", 0);
    facts.exists = !revisions.is_empty();
    facts.page_id = facts.exists.then_some(100);
    facts.latest_revid = revisions.last().map(|r| r.id);
    facts.revisions = revisions;
    facts
}

pub fn log(id: u64, kind: &str, action: &str, who: &str, at: Timestamp, comment: &str) -> LogEvent {
    LogEvent {
        id,
        kind: kind.to_string(),
        action: action.to_string(),
        user: Some(who.to_string()),
        timestamp: at,
        comment: Some(comment.to_string()),
        move_target: None,
    }
}
