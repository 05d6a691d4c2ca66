//! `policies/<wiki>.toml`: one wiki's recency windows, templates, bots and pages.
//!
//! Loading validates everything a rule will rely on, so a rule never meets a
//! half-valid policy; errors point at `file:line:col` like `visudo -c`.

use crate::located::{FileError, FileErrors, Problems};
use crate::model::{Action, Tier};
use crate::when::parse_duration;
use chrono::Duration;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A validated policy for one wiki.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it was loaded from (for messages).
    pub path: PathBuf,
    /// The wiki's short name, as in `adminibot.toml`.
    pub wiki: String,
    /// The admin bot account whose log entries count as adminibot's own.
    pub bot: String,
    /// Magic words that start a redirect (`#REDIRECT`), compared case-insensitively.
    pub redirect_words: Vec<String>,
    /// The pages adminibot reads and writes on the wiki.
    pub pages: Pages,
    /// Template families the rules look for.
    pub templates: Templates,
    /// Who counts as a bot when counting authors.
    pub bots: Bots,
    /// Recency windows per namespace id.
    pub recency: BTreeMap<i64, Windows>,
    /// If set, a page its single author blanked this long ago counts as a deletion request.
    pub blank_request_after: Option<Duration>,
    /// The least time between two pages' writes in a batch (etiquette: serial,
    /// unhurried bot writes).
    pub write_interval: Duration,
    /// How much other pages may use a page the bot deletes (`not_in_use`).
    pub in_use: InUse,
    /// How much one requester may do, and how often the bot deletes one title.
    pub limits: Limits,
    /// Work queues: categories of pages waiting for adminibot, by short name
    /// (`adminibot queue NAME`).
    pub queues: BTreeMap<String, String>,
}

/// `[limits]`: the blast radius of one requester, enforced across processes
/// by the store (the gate `limits`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Titles in one command (default 100).
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// How often the bot deletes again a title it deleted before (default 2):
    /// a create-and-delete loop stops there, for an administrator to look at.
    #[serde(default = "default_redeletions")]
    pub redeletions: usize,
    /// Actions per requester in any hour, by tier.
    #[serde(default = "default_per_hour")]
    pub per_hour: PerTier,
    /// Actions per requester in any day, by tier.
    #[serde(default = "default_per_day")]
    pub per_day: PerTier,
}

/// A number for each tier (`self = 30`, `not-self = 20`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PerTier {
    /// The `self` tier's.
    #[serde(rename = "self")]
    pub own: usize,
    /// The `not-self` tier's.
    pub not_self: usize,
    /// The `retired-admin` tier's.
    pub retired_admin: usize,
    /// The `extended` tier's.
    pub extended: usize,
}

impl PerTier {
    /// The number for `tier`.
    pub fn of(&self, tier: Tier) -> usize {
        match tier {
            Tier::Own => self.own,
            Tier::NotSelf => self.not_self,
            Tier::RetiredAdmin => self.retired_admin,
            Tier::Extended => self.extended,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            batch: default_batch(),
            redeletions: default_redeletions(),
            per_hour: default_per_hour(),
            per_day: default_per_day(),
        }
    }
}

fn default_batch() -> usize {
    100
}

fn default_redeletions() -> usize {
    2
}

fn default_per_hour() -> PerTier {
    PerTier {
        own: 30,
        not_self: 30,
        retired_admin: 60,
        extended: 60,
    }
}

fn default_per_day() -> PerTier {
    PerTier {
        own: 100,
        not_self: 100,
        retired_admin: 300,
        extended: 300,
    }
}

/// `[in_use]`: the most use by other pages a page may have and still be deleted
/// by the bot. A template transcluded elsewhere, a userbox on other users' pages
/// or a page many others link to is not uncontroversial: an administrator
/// decides (the rule `not_in_use`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InUse {
    /// Other pages that transclude it (default 0).
    #[serde(default)]
    pub transclusions: u32,
    /// Other pages that link to it, redirects not counted (default 5).
    #[serde(default = "default_in_use_links")]
    pub links: u32,
    /// Redirects to it (default 2).
    #[serde(default = "default_in_use_redirects")]
    pub redirects: u32,
}

impl Default for InUse {
    fn default() -> Self {
        InUse {
            transclusions: 0,
            links: default_in_use_links(),
            redirects: default_in_use_redirects(),
        }
    }
}

fn default_in_use_links() -> u32 {
    5
}

fn default_in_use_redirects() -> u32 {
    2
}

/// The largest `[in_use]` limit: the wiki lists at most 500 pages per request
/// to an ordinary account, and one more than the limit must be read.
pub const MAX_IN_USE_LIMIT: u32 = 499;

impl InUse {
    /// How many users of each kind to read: one more than the largest limit, so
    /// that "over the limit" is certain without reading them all.
    pub fn read_limit(&self) -> u32 {
        self.transclusions.max(self.links).max(self.redirects) + 1
    }
}

/// On-wiki pages named by the policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pages {
    /// Where adminibot asks administrators for help (escalations, urgent reviews).
    pub noticeboard: String,
    /// Page the requester's dummy edit goes to; `{requester}` is replaced by their name.
    pub attribution: String,
    /// The special log every action is appended to.
    pub log: String,
    /// The emergency-off page: the bot runs only while it says `run_word`.
    pub shutoff: String,
    /// The exact text of the shutoff page that lets the bot run.
    pub run_word: String,
    /// A page whose text is `$1`, which the web page's "Sign on the wiki"
    /// preloads into the wiki's edit form with the signature's text
    /// (`preload`/`preloadparams[]`); without it, the web page asks the
    /// requester to sign with the CLI.
    pub signature_preload: Option<String>,
}

/// The version of the policy file format this build reads: `--version` and
/// the service's info name it, so an operator can tell which policies fit.
pub const FORMAT: u32 = 1;

/// Template families, written without the `Template:` prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// Copyright-violation tags: a page that ever carried one is never acted on.
    pub copyvio: Vec<String>,
    /// Tags by which an author asks for deletion of their own page.
    pub author_request: Vec<String>,
    /// The wiki's redirects to the templates above, as (redirect, target)
    /// names (`Cv` → `Copyvio`): not in the file, read from the wiki once per
    /// run ([`crate::session::Session::read_tag_redirects`]).
    #[serde(skip)]
    pub redirects: Vec<(String, String)>,
}

impl Templates {
    /// Every tag template the policy names, copyvio and author-request alike
    /// (whose redirects the wiki is asked for).
    pub fn tags(&self) -> Vec<String> {
        [self.copyvio.clone(), self.author_request.clone()].concat()
    }
}

/// Who counts as a bot when counting a page's authors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bots {
    /// Editors currently in any of these groups are bots.
    #[serde(default = "default_bot_groups")]
    pub groups: Vec<String>,
    /// Further accounts recognised as maintenance bots.
    #[serde(default)]
    pub names: Vec<String>,
}

fn default_bot_groups() -> Vec<String> {
    vec!["bot".to_string()]
}

/// How long edits stay "recent" for each action in one namespace.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Windows {
    /// For deleting: every edit to be deleted must be this recent.
    pub delete: Window,
    /// For undeleting: every edit to be restored must be this recent.
    pub undelete: Window,
}

/// A recency window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    /// Any age is recent enough (`"unlimited"`).
    Unlimited,
    /// Edits older than this are not recent.
    Within(Duration),
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "unlimited" {
            return Ok(Window::Unlimited);
        }
        parse_duration(&text)
            .map(Window::Within)
            .map_err(|e| de::Error::custom(format!("bad window: {e}, or `unlimited`")))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Window::Unlimited => f.write_str("unlimited"),
            Window::Within(d) => f.write_str(&crate::when::format_duration(*d)),
        }
    }
}

impl Policy {
    /// The month's subpage of the bot's log page that a line written `at` goes
    /// to (`User:AdminBot/Log/2026-11`), as bots do: one page would grow past
    /// the wiki's page-size limit.
    pub fn log_page_at(&self, at: crate::facts::Timestamp) -> String {
        format!("{}/{}", self.pages.log, at.format("%Y-%m"))
    }

    /// Whether `page` is the bot's log page or one of its monthly subpages.
    pub fn is_log_page(&self, page: &str) -> bool {
        let log = self.pages.log.as_str();
        crate::rules::same_title(page, log)
            || page
                .strip_prefix(log)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|month| {
                    chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok()
                })
    }

    /// The page that records `requester`'s attribution (and signature) edits.
    pub fn attribution_page(&self, requester: &str) -> String {
        self.pages.attribution.replace("{requester}", requester)
    }

    /// The recency window for `action` in namespace `ns`, if the policy sets one.
    pub fn window(&self, ns: i64, action: Action) -> Option<Window> {
        let windows = self.recency.get(&ns)?;
        Some(match action {
            Action::Undelete => windows.undelete,
            Action::Delete | Action::DeleteRedirect => windows.delete,
        })
    }

    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Policy, FileErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| FileError::unreadable(path, &e))?;
        Policy::parse(path, &text)
    }

    /// Validates policy text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Policy, FileErrors> {
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| FileError::from_toml(path, text, &e))?;
        let mut problems = Problems::new(path, text);
        let recency = parse_recency(raw.recency.namespaces, &mut problems);
        check_pages(&raw.pages, &mut problems);
        check_templates(&raw.templates, &mut problems);
        if let Some(in_use) = &raw.in_use {
            if in_use.get_ref().read_limit() > MAX_IN_USE_LIMIT + 1 {
                problems.at(
                    in_use.span(),
                    format!("`in_use` limits must be at most {MAX_IN_USE_LIMIT}"),
                );
            }
        }
        if let Some(queues) = &raw.queues {
            check_queues(queues, &mut problems);
        }
        if let Some(limits) = &raw.limits {
            if limits.get_ref().batch == 0 {
                problems.at(limits.span(), "`limits.batch` must be at least 1".into());
            }
        }
        problems.or_value(())?;
        Ok(Policy {
            path: path.to_path_buf(),
            wiki: raw.wiki.name,
            bot: raw.wiki.bot,
            redirect_words: raw
                .wiki
                .redirect_words
                .unwrap_or_else(|| vec!["#REDIRECT".to_string()]),
            pages: Pages {
                noticeboard: raw.pages.noticeboard.into_inner(),
                attribution: raw.pages.attribution.into_inner(),
                log: raw.pages.log.into_inner(),
                shutoff: raw.pages.shutoff.into_inner(),
                run_word: raw.pages.run_word.into_inner(),
                signature_preload: raw.pages.signature_preload,
            },
            templates: Templates {
                copyvio: raw.templates.copyvio.into_inner(),
                author_request: raw.templates.author_request.into_inner(),
                redirects: Vec::new(),
            },
            bots: raw.bots.unwrap_or(Bots {
                groups: default_bot_groups(),
                names: Vec::new(),
            }),
            recency,
            blank_request_after: raw.blanking.map(|b| b.after.0),
            write_interval: raw.wiki.write_interval.map_or(Duration::zero(), |d| d.0),
            in_use: raw.in_use.map(Spanned::into_inner).unwrap_or_default(),
            limits: raw.limits.map(Spanned::into_inner).unwrap_or_default(),
            queues: raw.queues.map(Spanned::into_inner).unwrap_or_default(),
        })
    }
}

/// `[recency.namespaces]`: numeric namespace keys, at least one.
fn parse_recency(
    namespaces: BTreeMap<Spanned<String>, Windows>,
    problems: &mut Problems<'_>,
) -> BTreeMap<i64, Windows> {
    let mut recency = BTreeMap::new();
    for (key, windows) in namespaces {
        match key.get_ref().parse::<i64>() {
            Ok(ns) => {
                recency.insert(ns, windows);
            }
            Err(_) => problems.at(
                key.span(),
                format!("`{}` is not a namespace id: recency keys are numbers such as 0 (main) or 2 (User)", key.get_ref()),
            ),
        }
    }
    if recency.is_empty() {
        problems.at(
            None,
            "no recency windows: add `[recency.namespaces]` with at least one namespace".into(),
        );
    }
    recency
}

/// `[pages]`: page titles, the attribution page a pattern with `{requester}`,
/// a run word.
fn check_pages(pages: &RawPages, problems: &mut Problems<'_>) {
    for (name, page) in [
        ("noticeboard", &pages.noticeboard),
        ("attribution", &pages.attribution),
        ("log", &pages.log),
        ("shutoff", &pages.shutoff),
    ] {
        let title = page.get_ref().trim();
        if title.is_empty() || title.contains(['#', '[', ']', '{', '}', '|', '<', '>']) {
            let allowed = if name == "attribution" {
                " (besides `{requester}`)"
            } else {
                ""
            };
            if !(name == "attribution" && valid_pattern(title)) {
                problems.at(
                    page.span(),
                    format!("`pages.{name}` must be a page title{allowed}, not `{title}`"),
                );
            }
        }
    }
    if !pages.attribution.get_ref().contains("{requester}") {
        problems.at(
            pages.attribution.span(),
            "`pages.attribution` must contain `{requester}` so the dummy edit lands on the requester's own page".into(),
        );
    }
    if pages.run_word.get_ref().trim().is_empty() {
        problems.at(
            pages.run_word.span(),
            "`pages.run_word` must not be empty".into(),
        );
    }
}

/// `[templates]`: each list names at least one template.
fn check_templates(templates: &RawTemplates, problems: &mut Problems<'_>) {
    for (name, list) in [
        ("copyvio", &templates.copyvio),
        ("author_request", &templates.author_request),
    ] {
        if list.get_ref().is_empty() {
            problems.at(
                list.span(),
                format!("`templates.{name}` must name at least one template"),
            );
        }
    }
}

/// `[queues]`: lower-case names, each a category title.
fn check_queues(queues: &Spanned<BTreeMap<String, String>>, problems: &mut Problems<'_>) {
    for (name, category) in queues.get_ref() {
        let named = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !named {
            problems.at(
                queues.span(),
                format!("queue name `{name}`: use lower-case letters, digits and `-`"),
            );
        }
        let title = category.strip_prefix("Category:").unwrap_or_default();
        if title.trim().is_empty() || !valid_pattern(title) || title.contains('{') {
            problems.at(
                queues.span(),
                format!("queue `{name}`: `{category}` is not a category title (`Category:...`)"),
            );
        }
    }
}

fn valid_pattern(title: &str) -> bool {
    let rest = title.replace("{requester}", "X");
    !rest.trim().is_empty() && !rest.contains(['#', '[', ']', '{', '}', '|', '<', '>'])
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    wiki: RawWiki,
    pages: RawPages,
    templates: RawTemplates,
    bots: Option<Bots>,
    recency: RawRecency,
    blanking: Option<RawBlanking>,
    in_use: Option<Spanned<InUse>>,
    limits: Option<Spanned<Limits>>,
    queues: Option<Spanned<BTreeMap<String, String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWiki {
    name: String,
    bot: String,
    redirect_words: Option<Vec<String>>,
    write_interval: Option<DurationField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPages {
    noticeboard: Spanned<String>,
    attribution: Spanned<String>,
    log: Spanned<String>,
    shutoff: Spanned<String>,
    run_word: Spanned<String>,
    #[serde(default)]
    signature_preload: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    copyvio: Spanned<Vec<String>>,
    author_request: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecency {
    namespaces: BTreeMap<Spanned<String>, Windows>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlanking {
    after: DurationField,
}

/// A plain duration value (`"7d"`).
struct DurationField(Duration);

impl<'de> Deserialize<'de> for DurationField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(DurationField)
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_go_to_monthly_subpages() {
        let policy = parse(GOOD).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T23:59:59Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(policy.log_page_at(at), "User:AdminBot/Log/2026-11");
        assert!(policy.is_log_page("User:AdminBot/Log/2026-11"));
        assert!(policy.is_log_page("User:AdminBot/Log"));
        assert!(!policy.is_log_page("User:AdminBot/Log/elsewhere"));
        assert!(!policy.is_log_page("User:Mallory/Log/2026-11"));
    }

    use super::*;

    const GOOD: &str = r#"
[wiki]
name = "test"
bot = "AdminBot"

[pages]
noticeboard = "Project:Noticeboard"
attribution = "User:{requester}/adminibot"
log = "User:AdminBot/Log"
shutoff = "User:AdminBot/Shutoff"
run_word = "run"

[templates]
copyvio = ["Db-copyvio"]
author_request = ["Db-author"]

[recency.namespaces]
0 = { delete = "3d", undelete = "10m" }
2 = { delete = "unlimited", undelete = "3d" }
"#;

    fn parse(text: &str) -> Result<Policy, FileErrors> {
        Policy::parse(Path::new("p.toml"), text)
    }

    #[test]
    fn a_complete_policy_loads() {
        let policy = parse(GOOD).unwrap();
        assert_eq!(
            policy.window(0, Action::Delete),
            Some(Window::Within(Duration::days(3)))
        );
        assert_eq!(
            policy.window(0, Action::Undelete),
            Some(Window::Within(Duration::minutes(10)))
        );
        assert_eq!(policy.window(2, Action::Delete), Some(Window::Unlimited));
        assert_eq!(policy.window(4, Action::Delete), None);
        assert_eq!(policy.bots.groups, vec!["bot"]);
        assert_eq!(policy.redirect_words, vec!["#REDIRECT"]);
    }

    #[test]
    fn unknown_key_is_located() {
        let text = GOOD.replace("run_word = \"run\"", "run_word = \"run\"\nrunword = \"x\"");
        let err = parse(&text).unwrap_err();
        let first = &err.errors[0];
        assert_eq!(first.line, 12, "{err}");
        assert!(first.message.contains("unknown field `runword`"), "{err}");
        assert!(err.to_string().starts_with("p.toml:12:1: "), "{err}");
    }

    #[test]
    fn bad_window_is_located() {
        let text = GOOD.replace("undelete = \"3d\"", "undelete = \"3 days\"");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.errors[0].line, 19, "{err}");
        assert!(err.errors[0].message.contains("bad window"), "{err}");
    }

    /// `[in_use]` is optional (defaults 0, 5, 2); a limit the wiki cannot
    /// read one past is located.
    #[test]
    fn in_use_limits_default_and_are_bounded() {
        let policy = parse(GOOD).unwrap();
        assert_eq!(policy.in_use, InUse::default());
        assert_eq!(policy.in_use.read_limit(), 6);
        let text = format!("{GOOD}\n[in_use]\nlinks = 20\n");
        let policy = parse(&text).unwrap();
        assert_eq!((policy.in_use.links, policy.in_use.transclusions), (20, 0));
        let err = parse(&format!("{GOOD}\n[in_use]\nlinks = 500\n")).unwrap_err();
        assert!(err.to_string().contains("at most 499"), "{err}");
    }

    /// Queues name categories by short names; both are checked.
    #[test]
    fn queues_are_named_categories() {
        let text = format!("{GOOD}\n[queues]\nauthor-requests = \"Category:Candidates for speedy deletion by user\"\n");
        let policy = parse(&text).unwrap();
        assert_eq!(
            policy.queues["author-requests"],
            "Category:Candidates for speedy deletion by user"
        );
        let err = parse(&format!(
            "{GOOD}\n[queues]\nBad_Name = \"Category:X\"\nx = \"Template:X\"\n"
        ))
        .unwrap_err();
        let said = err.to_string();
        assert!(
            said.contains("queue name `Bad_Name`")
                && said.contains("`Template:X` is not a category"),
            "{said}"
        );
    }

    #[test]
    fn missing_page_is_an_error() {
        let text = GOOD.replace("shutoff = \"User:AdminBot/Shutoff\"\n", "");
        let err = parse(&text).unwrap_err();
        assert!(
            err.errors[0].message.contains("missing field `shutoff`"),
            "{err}"
        );
    }

    #[test]
    fn bad_titles_and_namespace_keys_are_all_reported() {
        let text = GOOD
            .replace("Project:Noticeboard", "Project:Notice#board")
            .replace("User:{requester}/adminibot", "User:AdminBot/Attribution")
            .replace("2 = {", "user = {");
        let err = parse(&text).unwrap_err();
        let messages: Vec<_> = err
            .errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(messages.len(), 3, "{err}");
        assert!(
            messages
                .iter()
                .any(|(l, m)| *l == 19 && m.contains("not a namespace id")),
            "{err}"
        );
        assert!(
            messages
                .iter()
                .any(|(l, m)| *l == 7 && m.contains("pages.noticeboard")),
            "{err}"
        );
        assert!(
            messages
                .iter()
                .any(|(l, m)| *l == 8 && m.contains("{requester}")),
            "{err}"
        );
    }
}
