//! `charters/<name>.toml`: the situations a `not-self` or `extended` grant may be
//! used in, and for how long.
//!
//! The proposal ("Not self"): "Each user who is granted permission will have to
//! abide by a "charter," or detailed list of situations when the permission can be
//! used and for how long." A charter names the tiers it may be attached to, the
//! actions it allows, the templates a page must carry, the namespaces, a time
//! window (absolute and/or counted from the grant's start) and an optional live
//! condition on a backlog category. Loading validates everything and locates
//! errors at `file:line:col`; [`Charter::covers`] is pure: the caller reads the
//! wiki and passes the clock in.

use crate::facts::Timestamp;
use crate::located::{FileError, FileErrors, Problems};
use crate::model::{Action, Tier};
use crate::rules::rules_for;
use crate::rules::templates::same_template;
use crate::when::{format_duration, parse_duration};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt::Display;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A validated charter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charter {
    /// Where it was loaded from (for messages).
    pub path: PathBuf,
    /// Its name, as grants and reasons refer to it.
    pub name: String,
    /// The situations, in words, as the issuer approved them.
    pub description: String,
    /// The tiers it may be attached to: `not-self` and/or `extended`.
    pub tiers: Vec<Tier>,
    /// The actions it allows.
    pub actions: Vec<Action>,
    /// Templates (without `Template:`) of which the page must carry one; empty = no criterion.
    pub criteria: Vec<String>,
    /// Namespace ids it allows; `None` = any namespace.
    pub namespaces: Option<Vec<i64>>,
    /// The first moment it covers.
    pub not_before: Option<Timestamp>,
    /// The moment it stops covering.
    pub not_after: Option<Timestamp>,
    /// How long a grant under it lasts, counted from the grant's start.
    pub valid_for: Option<Duration>,
    /// A condition read from the wiki at every request.
    pub live: Option<LiveCondition>,
}

/// "any time the backlog as listed in category Y has entries older than 1 hour".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCondition {
    /// The backlog category, with its `Category:` prefix.
    pub category: String,
    /// Its oldest entry must have been added at least this long ago.
    pub older_than: Duration,
}

impl LiveCondition {
    /// Whether the backlog is there for charter `name`, by `facts` read from
    /// the category (`None`: it could not be read): `Ok` says how old its
    /// oldest entry is, `Err` why the condition does not hold.
    pub fn holds(
        &self,
        name: &str,
        facts: Option<LiveFacts>,
        now: Timestamp,
    ) -> Result<String, String> {
        let category = &self.category;
        let wanted = format_duration(self.older_than);
        match facts.map(|facts| facts.oldest_member_added) {
            None => Err(format!(
                "charter `{name}` needs a backlog in `{category}`, which could not be read"
            )),
            Some(None) => Err(format!(
                "charter `{name}` needs an entry older than {wanted} in `{category}`, which is empty"
            )),
            Some(Some(added)) if now - added < self.older_than => Err(format!(
                "charter `{name}` needs an entry older than {wanted} in `{category}`; the oldest was added {} ({} ago)",
                show(added),
                format_duration(now - added)
            )),
            Some(Some(added)) => Ok(format!(
                "the oldest entry in `{category}` is {} old",
                format_duration(now - added)
            )),
        }
    }
}

/// One request, as far as a charter is concerned.
#[derive(Debug, Clone)]
pub struct CharterRequest<'a> {
    /// The tier of the grant the charter is attached to.
    pub tier: Tier,
    /// What the requester asks for.
    pub action: Action,
    /// The page's namespace id.
    pub namespace: i64,
    /// Templates the page carries now, without `Template:`.
    pub page_templates: &'a [String],
    /// When the grant started.
    pub grant_start: Timestamp,
    /// The moment of the request.
    pub now: Timestamp,
    /// What the wiki said about the live condition's category; `None` = it could
    /// not be read, which never covers a charter that has a live condition.
    pub live: Option<LiveFacts>,
}

/// What the wiki said about the live condition's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveFacts {
    /// When its oldest member was added; `None` = the category is empty.
    pub oldest_member_added: Option<Timestamp>,
}

/// Whether a charter covers a request, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CharterCheck {
    /// True when every condition holds.
    pub covered: bool,
    /// One line per unmet condition; when covered, one line saying why.
    pub reasons: Vec<String>,
}

impl Charter {
    /// Reads and validates a charter file.
    pub fn load(path: &Path) -> Result<Charter, FileErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| FileError::unreadable(path, &e))?;
        Charter::parse(path, &text)
    }

    /// Validates charter text; `path` is only used in messages. Every problem
    /// is reported at once, each at its place in the file.
    pub fn parse(path: &Path, text: &str) -> Result<Charter, FileErrors> {
        let raw: RawCharter =
            toml::from_str(text).map_err(|e| FileError::from_toml(path, text, &e))?;
        let mut problems = Problems::new(path, text);
        check_texts(&raw, &mut problems);
        let tiers = parse_tiers(&raw.tiers, &mut problems);
        let actions = parse_actions(&raw.actions, &tiers, &mut problems);
        check_criteria(&raw.criteria, &mut problems);
        if let Some(namespaces) = &raw.namespaces {
            check_namespaces(namespaces, &mut problems);
        }
        let period = parse_period(&raw, &mut problems);
        let live = raw
            .live_condition
            .as_ref()
            .and_then(|live| parse_live(live, &mut problems));
        problems.or_value(Charter {
            path: path.to_path_buf(),
            name: raw.name.into_inner().trim().to_string(),
            description: raw.description.into_inner().trim().to_string(),
            tiers,
            actions,
            criteria: raw
                .criteria
                .into_iter()
                .map(|c| c.into_inner().trim().to_string())
                .collect(),
            namespaces: raw.namespaces.map(|list| {
                list.into_inner()
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect()
            }),
            not_before: period.not_before,
            not_after: period.not_after,
            valid_for: period.valid_for,
            live,
        })
    }

    /// When a grant that started at `grant_start` stops being covered by this
    /// charter (None = never): the earlier of `not_after` and `grant_start + valid_for`.
    pub fn ends_at(&self, grant_start: Timestamp) -> Option<Timestamp> {
        let relative = self
            .valid_for
            .and_then(|d| grant_start.checked_add_signed(d));
        match (self.not_after, relative) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the charter covers this request; every unmet condition is listed.
    pub fn covers(&self, request: &CharterRequest) -> CharterCheck {
        let name = &self.name;
        let now = request.now;
        let mut reasons = Vec::new();
        if !self.tiers.contains(&request.tier) {
            reasons.push(format!(
                "charter `{name}` is for tier {}, not {}",
                list(&self.tiers),
                request.tier
            ));
        }
        if !self.actions.contains(&request.action) {
            reasons.push(format!(
                "charter `{name}` allows {}, not {}",
                list(&self.actions),
                request.action
            ));
        }
        if let Some(namespaces) = &self.namespaces {
            if !namespaces.contains(&request.namespace) {
                reasons.push(format!(
                    "charter `{name}` allows namespace {}, not {}",
                    list(namespaces),
                    request.namespace
                ));
            }
        }
        if let Some(start) = self.not_before.filter(|&start| now < start) {
            reasons.push(format!(
                "charter `{name}` starts at {}; it is now {}",
                show(start),
                show(now)
            ));
        }
        if now < request.grant_start {
            reasons.push(format!(
                "the grant starts at {}; it is now {}",
                show(request.grant_start),
                show(now)
            ));
        }
        let end = self.ends_at(request.grant_start);
        if let Some(end) = end.filter(|&end| now >= end) {
            reasons.push(format!(
                "charter `{name}` ended at {} for a grant that started at {}",
                show(end),
                show(request.grant_start)
            ));
        }
        let carried = self.criteria.iter().find_map(|wanted| {
            request
                .page_templates
                .iter()
                .find(|t| same_template(wanted, t))
        });
        if !self.criteria.is_empty() && carried.is_none() {
            let wanted: Vec<_> = self
                .criteria
                .iter()
                .map(|c| format!("`{{{{{c}}}}}`"))
                .collect();
            reasons.push(format!(
                "charter `{name}` needs the page to carry one of {}, and it carries none",
                wanted.join(", ")
            ));
        }
        let mut backlog = None;
        if let Some(live) = &self.live {
            match live.holds(name, request.live, now) {
                Ok(held) => backlog = Some(format!("; {held}")),
                Err(unmet) => reasons.push(unmet),
            }
        }
        if !reasons.is_empty() {
            return CharterCheck {
                covered: false,
                reasons,
            };
        }
        let until = end.map_or_else(
            || "with no end".to_string(),
            |end| format!("until {}", show(end)),
        );
        let tag = carried.map_or_else(String::new, |t| format!("; the page carries `{{{{{t}}}}}`"));
        CharterCheck {
            covered: true,
            reasons: vec![format!(
                "charter `{name}` allows {} in namespace {} {until}{tag}{}",
                request.action,
                request.namespace,
                backlog.unwrap_or_default()
            )],
        }
    }
}

/// `2026-11-22T00:00:00Z`.
fn show(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `a, b, c`.
fn list<T: Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCharter {
    name: Spanned<String>,
    description: Spanned<String>,
    tiers: Spanned<Vec<Spanned<String>>>,
    actions: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    criteria: Vec<Spanned<String>>,
    namespaces: Option<Spanned<Vec<Spanned<i64>>>>,
    valid_for: Option<Spanned<String>>,
    not_before: Option<Spanned<TimeValue>>,
    not_after: Option<Spanned<TimeValue>>,
    live_condition: Option<RawLive>,
}

/// `not_before = "2026-11-22T00:00:00Z"` or the bare TOML `not_before = 2026-11-22T00:00:00Z`.
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "an RFC 3339 time such as \"2026-11-22T00:00:00Z\""
)]
enum TimeValue {
    Quoted(String),
    Bare(toml::value::Datetime),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLive {
    category: Spanned<String>,
    older_than: Spanned<String>,
}

/// `name` and `description`: not empty; the name on one line.
fn check_texts(raw: &RawCharter, problems: &mut Problems<'_>) {
    for (key, value) in [("name", &raw.name), ("description", &raw.description)] {
        if value.get_ref().trim().is_empty() {
            problems.at(value.span(), format!("`{key}` must not be empty"));
        }
    }
    if raw.name.get_ref().contains('\n') {
        problems.at(raw.name.span(), "`name` must be a single line".into());
    }
}

/// `tiers`: at least one, each a tier that takes a charter (not-self, extended).
fn parse_tiers(raw: &Spanned<Vec<Spanned<String>>>, problems: &mut Problems<'_>) -> Vec<Tier> {
    let mut tiers = Vec::new();
    if raw.get_ref().is_empty() {
        problems.at(
            raw.span(),
            "`tiers` must name at least one tier: not-self or extended".into(),
        );
    }
    for item in raw.get_ref() {
        match item.get_ref().parse::<Tier>() {
            Ok(tier @ (Tier::Own | Tier::RetiredAdmin)) => problems.at(
                item.span(),
                format!("tier `{tier}` needs no charter: charters are for not-self and extended"),
            ),
            Ok(tier) => {
                if !tiers.contains(&tier) {
                    tiers.push(tier);
                }
            }
            Err(_) => problems.at(
                item.span(),
                format!(
                    "unknown tier `{}`: charters are for not-self or extended",
                    item.get_ref()
                ),
            ),
        }
    }
    tiers
}

/// `actions`: at least one, each one some tier of the charter may do.
fn parse_actions(
    raw: &Spanned<Vec<Spanned<String>>>,
    tiers: &[Tier],
    problems: &mut Problems<'_>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    if raw.get_ref().is_empty() {
        problems.at(
            raw.span(),
            "`actions` must name at least one action: delete, undelete or delete-redirect".into(),
        );
    }
    for item in raw.get_ref() {
        match item.get_ref().parse::<Action>() {
            Ok(action) => {
                if !tiers.is_empty() && !tiers.iter().any(|&t| rules_for(action, t).is_some()) {
                    problems.at(
                        item.span(),
                        format!(
                            "tier {} cannot `{action}`, so no charter for it can allow that",
                            list(tiers)
                        ),
                    );
                } else if !actions.contains(&action) {
                    actions.push(action);
                }
            }
            Err(message) => problems.at(item.span(), message),
        }
    }
    actions
}

/// `criteria`: template names, written without braces or `Template:`.
fn check_criteria(criteria: &[Spanned<String>], problems: &mut Problems<'_>) {
    for item in criteria {
        let name = item.get_ref().trim();
        let prefixed = name
            .get(.."template:".len())
            .is_some_and(|head| head.eq_ignore_ascii_case("template:"));
        if name.is_empty()
            || prefixed
            || name.contains(['{', '}', '|', '[', ']', '#', '<', '>', '\n'])
        {
            problems.at(
                item.span(),
                format!("`{name}` is not a template name: write names without braces or `Template:`, such as `Db-author`"),
            );
        }
    }
}

/// `namespaces`: when given, at least one, each an id that can hold pages.
fn check_namespaces(namespaces: &Spanned<Vec<Spanned<i64>>>, problems: &mut Problems<'_>) {
    if namespaces.get_ref().is_empty() {
        problems.at(
            namespaces.span(),
            "`namespaces` must list at least one namespace id; leave it out to allow any namespace"
                .into(),
        );
    }
    for ns in namespaces.get_ref() {
        if *ns.get_ref() < 0 {
            problems.at(
                ns.span(),
                format!(
                    "namespace {} holds no pages: use ids such as 0 (main) or 2 (User)",
                    ns.get_ref()
                ),
            );
        }
    }
}

/// When a charter applies: `valid_for`, `not_before`, `not_after`.
struct Period {
    valid_for: Option<Duration>,
    not_before: Option<Timestamp>,
    not_after: Option<Timestamp>,
}

/// `valid_for`, `not_before` and `not_after`: well formed, in order, and at
/// least one end. "A detailed list of situations when the permission can be
/// used and for how long": a charter without an end would let permissions
/// accumulate.
fn parse_period(raw: &RawCharter, problems: &mut Problems<'_>) -> Period {
    let valid_for =
        raw.valid_for
            .as_ref()
            .and_then(|value| match parse_duration(value.get_ref()) {
                Ok(d) if d > Duration::zero() => Some(d),
                Ok(_) => {
                    problems.at(value.span(), "`valid_for` must be longer than 0s".into());
                    None
                }
                Err(e) => {
                    problems.at(value.span(), format!("bad `valid_for`: {e}"));
                    None
                }
            });
    let not_before = parse_time("not_before", raw.not_before.as_ref(), problems);
    let not_after = parse_time("not_after", raw.not_after.as_ref(), problems);
    if let (Some(start), Some(end), Some(value)) = (not_before, not_after, &raw.not_after) {
        if end <= start {
            problems.at(
                value.span(),
                format!(
                    "`not_after` ({}) must be later than `not_before` ({})",
                    show(end),
                    show(start)
                ),
            );
        }
    }
    if raw.valid_for.is_none() && raw.not_after.is_none() {
        problems.at(
            raw.name.span(),
            "the charter never ends: add `valid_for` (from the grant) or `not_after`".into(),
        );
    }
    Period {
        valid_for,
        not_before,
        not_after,
    }
}

/// A quoted string or a bare TOML date-time; either way RFC 3339 with an offset.
fn parse_time(
    key: &str,
    value: Option<&Spanned<TimeValue>>,
    problems: &mut Problems<'_>,
) -> Option<Timestamp> {
    let value = value?;
    let written = match value.get_ref() {
        TimeValue::Quoted(text) => text.trim().to_string(),
        TimeValue::Bare(at) => at.to_string(),
    };
    match DateTime::parse_from_rfc3339(&written) {
        Ok(at) => Some(at.with_timezone(&Utc)),
        Err(e) => {
            problems.at(
                value.span(),
                format!("bad `{key}` `{written}`: {e}: write an RFC 3339 time such as `2026-11-22T00:00:00Z`"),
            );
            None
        }
    }
}

/// `live_condition`: a category and how long its oldest member must have waited.
fn parse_live(live: &RawLive, problems: &mut Problems<'_>) -> Option<LiveCondition> {
    let category = live.category.get_ref().trim();
    if category.len() <= "Category:".len() || !category.starts_with("Category:") {
        problems.at(
            live.category.span(),
            format!("`{category}` is not a category: write `Category:` and its name"),
        );
    }
    match parse_duration(live.older_than.get_ref()) {
        Ok(older_than) => Some(LiveCondition {
            category: category.to_string(),
            older_than,
        }),
        Err(e) => {
            problems.at(live.older_than.span(), format!("bad `older_than`: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grant is made "now", on Saturday 2026-11-21 ("The drive starts this Sunday").
    const GRANTED: &str = "2026-11-21T12:00:00Z";

    fn at(text: &str) -> Timestamp {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn shipped(name: &str) -> Charter {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("charters")
            .join(format!("{name}.toml"));
        Charter::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn tagged(name: &str) -> Vec<String> {
        vec!["Talk header".to_string(), name.to_string()]
    }

    /// A not-self deletion in main space of a page carrying `templates`, at `now`,
    /// with the backlog's oldest entry added `backlog_age` before `now`.
    fn request<'a>(
        templates: &'a [String],
        now: Timestamp,
        backlog_age: Option<Duration>,
    ) -> CharterRequest<'a> {
        CharterRequest {
            tier: Tier::NotSelf,
            action: Action::Delete,
            namespace: 0,
            page_templates: templates,
            grant_start: at(GRANTED),
            now,
            live: Some(LiveFacts {
                oldest_member_added: backlog_age.map(|age| now - age),
            }),
        }
    }

    fn reasons(check: &CharterCheck) -> String {
        check.reasons.join("\n")
    }

    #[test]
    fn every_shipped_charter_loads_and_is_named_after_its_file() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("charters");
        let mut loaded = 0;
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let charter = Charter::load(&path).unwrap_or_else(|e| panic!("{e}"));
                let stem = path.file_stem().unwrap().to_str().unwrap();
                assert_eq!(charter.name, stem, "{}", path.display());
                loaded += 1;
            }
        }
        assert!(
            loaded >= 3,
            "only {loaded} charters in {}",
            folder.display()
        );
    }

    /// "Editor X is allowd to call the bot to delete pages that qualify for
    /// db-author or db-user any time the backlog as listed in category Y has
    /// entries older than 1 hour, with an expiration date of 1 year from now."
    #[test]
    fn backlog_charter_expires_one_year_after_the_grant() {
        let charter = shipped("db-author-backlog");
        let end = at("2027-11-21T12:00:00Z");
        assert_eq!(charter.ends_at(at(GRANTED)), Some(end));
        let page = tagged("Db-author");
        let hour = Some(Duration::hours(2));

        let last_second = charter.covers(&request(&page, end - Duration::seconds(1), hour));
        assert!(last_second.covered, "{}", reasons(&last_second));

        let expired = charter.covers(&request(&page, end, hour));
        assert!(!expired.covered);
        assert_eq!(expired.reasons.len(), 1, "{}", reasons(&expired));
        assert!(
            expired.reasons[0].contains("ended at 2027-11-21T12:00:00Z"),
            "{}",
            reasons(&expired)
        );
    }

    /// "... any time the backlog as listed in category Y has entries older than 1 hour ..."
    #[test]
    fn backlog_charter_needs_an_entry_older_than_one_hour() {
        let charter = shipped("db-author-backlog");
        let now = at("2027-03-01T09:00:00Z");
        let page = tagged("db-user");

        let old = charter.covers(&request(&page, now, Some(Duration::hours(2))));
        assert!(old.covered, "{}", reasons(&old));
        assert_eq!(
            old.reasons,
            vec!["charter `db-author-backlog` allows delete in namespace 0 until 2027-11-21T12:00:00Z; the page carries `{{db-user}}`; the oldest entry in `Category:Candidates for speedy deletion by user` is 2h old"]
        );

        let fresh = charter.covers(&request(&page, now, Some(Duration::minutes(30))));
        assert!(!fresh.covered);
        assert!(
            reasons(&fresh).contains("older than 1h") && reasons(&fresh).contains("(30m ago)"),
            "{}",
            reasons(&fresh)
        );

        let empty = charter.covers(&request(&page, now, None));
        assert!(!empty.covered);
        assert!(
            reasons(&empty).contains("which is empty"),
            "{}",
            reasons(&empty)
        );
    }

    /// "When in doubt, the bot should refuse to act": a backlog it could not read
    /// is no backlog.
    #[test]
    fn backlog_charter_refuses_when_the_category_could_not_be_read() {
        let charter = shipped("db-author-backlog");
        let page = tagged("Db-author");
        let mut unread = request(&page, at("2027-03-01T09:00:00Z"), None);
        unread.live = None;
        let check = charter.covers(&unread);
        assert!(!check.covered);
        assert_eq!(check.reasons.len(), 1, "{}", reasons(&check));
        assert!(
            check.reasons[0].contains("could not be read"),
            "{}",
            reasons(&check)
        );
    }

    /// "... delete pages that qualify for db-author or db-user ..."
    #[test]
    fn a_page_without_an_author_request_template_is_not_covered() {
        let charter = shipped("db-author-backlog");
        let page = tagged("Db-copyvio");
        let check = charter.covers(&request(
            &page,
            at("2027-03-01T09:00:00Z"),
            Some(Duration::hours(2)),
        ));
        assert!(!check.covered);
        assert_eq!(check.reasons.len(), 1, "{}", reasons(&check));
        assert!(
            check.reasons[0].contains("`{{Db-author}}`")
                && check.reasons[0].contains("carries none"),
            "{}",
            reasons(&check)
        );
    }

    /// "He is allowed to call the bot to delete pages that qualify for db-author or
    /// db-user during the drive. The drive starts this Sunday at 00:00:00 GMT and
    /// lasts for 7 days."
    #[test]
    fn drive_charter_covers_only_the_drive() {
        let charter = shipped("speedy-backlog-drive");
        assert_eq!(
            charter.ends_at(at(GRANTED)),
            Some(at("2026-11-29T00:00:00Z"))
        );
        let page = tagged("Db-g7");
        let check = |now: &str| charter.covers(&request(&page, at(now), None));

        let saturday = check("2026-11-21T23:59:59Z");
        assert!(!saturday.covered);
        assert!(
            reasons(&saturday).contains("starts at 2026-11-22T00:00:00Z"),
            "{}",
            reasons(&saturday)
        );
        for during in [
            "2026-11-22T00:00:00Z",
            "2026-11-25T14:30:00Z",
            "2026-11-28T23:59:59Z",
        ] {
            let covered = check(during);
            assert!(covered.covered, "{during}: {}", reasons(&covered));
        }
        let after = check("2026-11-29T00:00:00Z");
        assert!(!after.covered);
        assert!(
            reasons(&after).contains("ended at 2026-11-29T00:00:00Z"),
            "{}",
            reasons(&after)
        );
    }

    /// "No use outside the charter beyond the user's other permissions."
    #[test]
    fn every_unmet_condition_is_named() {
        let charter = shipped("db-author-backlog");
        let page = tagged("Db-author");
        let mut outside = request(&page, at("2027-03-01T09:00:00Z"), Some(Duration::hours(2)));
        outside.tier = Tier::Extended;
        outside.action = Action::Undelete;
        outside.namespace = 4;
        let check = charter.covers(&outside);
        assert!(!check.covered);
        assert_eq!(check.reasons.len(), 3, "{}", reasons(&check));
        assert!(
            check.reasons[0].contains("is for tier not-self, not extended"),
            "{}",
            reasons(&check)
        );
        assert!(
            check.reasons[1].contains("allows delete, not undelete"),
            "{}",
            reasons(&check)
        );
        assert!(
            check.reasons[2].contains("allows namespace 0, 2, 118, not 4"),
            "{}",
            reasons(&check)
        );
    }

    /// "Deleting redirects left over after the user moves a page ..."
    #[test]
    fn move_redirects_charter_covers_any_namespace_for_ninety_days() {
        let charter = shipped("move-redirects");
        let mut redirect = request(&[], at("2026-12-01T00:00:00Z"), None);
        redirect.tier = Tier::Extended;
        redirect.action = Action::DeleteRedirect;
        redirect.namespace = 10;
        redirect.live = None;
        let check = charter.covers(&redirect);
        assert!(check.covered, "{}", reasons(&check));
        assert_eq!(
            charter.ends_at(at(GRANTED)),
            Some(at("2027-02-19T12:00:00Z"))
        );
    }

    #[test]
    fn a_request_before_the_grant_started_is_not_covered() {
        let charter = shipped("move-redirects");
        let mut early = request(&[], at("2026-11-21T11:00:00Z"), None);
        early.tier = Tier::Extended;
        early.action = Action::DeleteRedirect;
        let check = charter.covers(&early);
        assert!(!check.covered);
        assert!(
            reasons(&check).contains("the grant starts at 2026-11-21T12:00:00Z"),
            "{}",
            reasons(&check)
        );
    }

    /// "...a "charter," or detailed list of situations when the permission can be
    /// used and for how long."
    #[test]
    fn a_charter_must_say_when_it_ends() {
        let endless: String = GOOD
            .lines()
            .filter(|l| !l.starts_with("valid_for") && !l.starts_with("not_after"))
            .map(|l| format!("{l}\n"))
            .collect();
        let err = parse(&endless).unwrap_err().to_string();
        assert!(err.contains("c.toml:1:8: the charter never ends"), "{err}");
        let bounded = endless.replace(
            "namespaces = [0]\n",
            "namespaces = [0]\nnot_after = \"2026-11-29T00:00:00Z\"\n",
        );
        assert!(parse(&bounded).is_ok(), "{:?}", parse(&bounded).err());
    }

    const GOOD: &str = r#"name = "test"
description = "A test charter."
tiers = ["not-self"]
actions = ["delete"]
criteria = ["Db-author"]
namespaces = [0]
valid_for = "30d"
not_before = "2026-11-22T00:00:00Z"
not_after = "2026-11-29T00:00:00Z"

[live_condition]
category = "Category:Backlog"
older_than = "1h"
"#;

    fn parse(text: &str) -> Result<Charter, FileErrors> {
        Charter::parse(Path::new("c.toml"), text)
    }

    /// The one error of `text`, as `(line, message)`.
    fn only_error(text: &str) -> (usize, String) {
        let err = parse(text).unwrap_err();
        assert_eq!(err.errors.len(), 1, "{err}");
        (err.errors[0].line, err.errors[0].message.clone())
    }

    #[test]
    fn the_test_charter_is_valid_and_ends_at_the_earlier_end() {
        let charter = parse(GOOD).unwrap();
        assert_eq!(
            charter.ends_at(at(GRANTED)),
            Some(at("2026-11-29T00:00:00Z"))
        );
        assert_eq!(
            charter.ends_at(at("2026-10-01T00:00:00Z")),
            Some(at("2026-10-31T00:00:00Z"))
        );
        assert_eq!(
            charter.live,
            Some(LiveCondition {
                category: "Category:Backlog".into(),
                older_than: Duration::hours(1)
            })
        );
    }

    #[test]
    fn an_unknown_key_is_located() {
        let (line, message) = only_error(&GOOD.replace("older_than", "older"));
        assert_eq!(line, 13);
        assert!(message.contains("unknown field `older`"), "{message}");
        let err = parse(&GOOD.replace("valid_for =", "expires =")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("c.toml:7:1: unknown field `expires`"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_duration_is_located() {
        let (line, message) = only_error(&GOOD.replace("\"30d\"", "\"30 days\""));
        assert_eq!(line, 7);
        assert!(message.contains("bad `valid_for`"), "{message}");
        let (line, message) = only_error(&GOOD.replace("\"1h\"", "\"1y\""));
        assert_eq!(line, 13);
        assert!(message.contains("bad `older_than`"), "{message}");
    }

    #[test]
    fn an_end_before_the_start_is_located() {
        let (line, message) = only_error(&GOOD.replace("2026-11-29", "2026-11-21"));
        assert_eq!(line, 9);
        assert!(
            message.contains("must be later than `not_before`"),
            "{message}"
        );
        let (line, message) = only_error(&GOOD.replace("2026-11-22T00:00:00Z", "2026-11-22"));
        assert_eq!(line, 8);
        assert!(message.contains("RFC 3339"), "{message}");
        let bare = parse(&GOOD.replace("\"2026-11-22T00:00:00Z\"", "2026-11-22T00:00:00Z"));
        assert_eq!(bare.unwrap().not_before, Some(at("2026-11-22T00:00:00Z")));
        let (line, message) =
            only_error(&GOOD.replace("\"2026-11-22T00:00:00Z\"", "2026-11-22T00:00:00"));
        assert_eq!(line, 8);
        assert!(message.contains("RFC 3339"), "{message}");
        let (line, message) = only_error(&GOOD.replace("\"2026-11-22T00:00:00Z\"", "5"));
        assert_eq!(line, 8);
        assert!(message.contains("an RFC 3339 time such as"), "{message}");
    }

    #[test]
    fn tiers_that_need_no_charter_are_refused() {
        let (line, message) = only_error(&GOOD.replace("[\"not-self\"]", "[\"self\"]"));
        assert_eq!(line, 3);
        assert!(
            message.contains("tier `self` needs no charter"),
            "{message}"
        );
        let (_, message) = only_error(&GOOD.replace("[\"not-self\"]", "[\"retired-admin\"]"));
        assert!(
            message.contains("tier `retired-admin` needs no charter"),
            "{message}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = GOOD
            .replace("[\"not-self\"]", "[]")
            .replace("[\"delete\"]", "[\"purge\"]")
            .replace("[\"Db-author\"]", "[\"{{Db-author}}\"]")
            .replace("[0]", "[-1]")
            .replace("Category:Backlog", "Backlog");
        let err = parse(&text).unwrap_err();
        let lines: Vec<_> = err.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 12], "{err}");
        assert!(err.errors[0].message.contains("at least one tier"), "{err}");
        assert!(
            err.errors[1].message.contains("unknown action `purge`"),
            "{err}"
        );
        assert!(
            err.errors[2].message.contains("not a template name"),
            "{err}"
        );
        assert!(
            err.errors[3]
                .message
                .contains("namespace -1 holds no pages"),
            "{err}"
        );
        assert!(err.errors[4].message.contains("not a category"), "{err}");
    }

    #[test]
    fn actions_no_listed_tier_can_do_are_refused() {
        let (line, message) =
            only_error(&GOOD.replace("[\"delete\"]", "[\"delete\", \"undelete\"]"));
        assert_eq!(line, 4);
        assert!(
            message.contains("tier not-self cannot `undelete`"),
            "{message}"
        );
    }
}
