//! The safety rules of the AdminiBot proposal, as pure functions.
//!
//! Each rule takes plain [`PageFacts`], the [`Request`] and the [`Policy`] and
//! returns a [`RuleOutcome`]: pass or fail, a one-line reason and the evidence
//! (revision ids, log ids, timestamps). Nothing here does I/O or reads a clock:
//! `now` is part of the request. [`evaluate`] runs the rules a tier needs for an
//! action and folds them into a [`Verdict`].
//!
//! One file per family: [`authorship`] (`single_author`), [`recency`] (`recent`),
//! [`redirects`] (`never_redirect`, `own_move_redirect`), [`deletion`]
//! (`page_exists`, `previously_deleted`, `own_deletion`, `irreversible`),
//! [`protection`] (`not_protected`), [`templates`] (`never_copyvio`,
//! `tagged_for_deletion`), [`usage`] (`not_in_use`).

pub mod authorship;
pub mod deletion;
pub mod protection;
pub mod recency;
pub mod redirects;
pub mod templates;
pub mod usage;

use crate::facts::{PageFacts, Revision, Timestamp};
use crate::policy::Policy;
use serde::Serialize;
use std::fmt;

pub use crate::model::{Action, Tier};

/// The person the action is for, as the wiki knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// User name as the wiki spells it.
    pub name: String,
    /// Local user id (names can change, ids do not).
    pub user_id: u64,
}

/// One request to evaluate.
#[derive(Debug, Clone)]
pub struct Request {
    /// What to do.
    pub action: Action,
    /// Under which permission level.
    pub tier: Tier,
    /// For whom.
    pub requester: Requester,
    /// The moment of evaluation (the wiki's clock when known).
    pub now: Timestamp,
}

/// The names of the rules, as they appear in reports and JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleName {
    /// A grant in force covers the request, and nothing stops it (stop switch,
    /// suspension, block, blocklist).
    Authority,
    /// The requester is within the policy's quotas, and the title within its
    /// re-deletion cap.
    Limits,
    /// The tier may do this action at all.
    TierCoversAction,
    /// The page exists (delete) or is deleted (undelete).
    PageExists,
    /// Only the requester (self) or a single author (not-self) wrote it.
    SingleAuthor,
    /// Every edit concerned is inside the namespace's window.
    Recent,
    /// No revision was a redirect to a page that existed then.
    NeverRedirect,
    /// The redirect was left by the requester's own move.
    OwnMoveRedirect,
    /// Earlier deleted revisions: act, but flag for urgent review.
    PreviouslyDeleted,
    /// No protection of any kind now.
    NotProtected,
    /// No revision ever carried a copyvio tag.
    NeverCopyvio,
    /// The deletion to undo was made by this bot for this requester.
    OwnDeletion,
    /// The single author asked for deletion with a tag.
    TaggedForDeletion,
    /// The bot could not undo this: warn and require confirmation.
    Irreversible,
    /// Other pages use it no more than the policy allows.
    NotInUse,
}

impl RuleName {
    /// The name as written in reports (`single_author`).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleName::Authority => "authority",
            RuleName::Limits => "limits",
            RuleName::TierCoversAction => "tier_covers_action",
            RuleName::PageExists => "page_exists",
            RuleName::SingleAuthor => "single_author",
            RuleName::Recent => "recent",
            RuleName::NeverRedirect => "never_redirect",
            RuleName::OwnMoveRedirect => "own_move_redirect",
            RuleName::PreviouslyDeleted => "previously_deleted",
            RuleName::NotProtected => "not_protected",
            RuleName::NeverCopyvio => "never_copyvio",
            RuleName::OwnDeletion => "own_deletion",
            RuleName::TaggedForDeletion => "tagged_for_deletion",
            RuleName::Irreversible => "irreversible",
            RuleName::NotInUse => "not_in_use",
        }
    }
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one rule came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The rule holds.
    Pass,
    /// The rule holds, but an administrator must review the result urgently.
    Flag,
    /// The rule holds only if the requester confirms (the bot cannot undo it).
    Confirm,
    /// The rule is broken: refuse.
    Fail,
    /// The bot could not establish the facts: refuse (doubt = refuse).
    Unknown,
}

impl Outcome {
    /// Whether this outcome lets the request go ahead (perhaps with confirmation).
    pub fn passed(self) -> bool {
        matches!(self, Outcome::Pass | Outcome::Flag | Outcome::Confirm)
    }
}

/// The ids and times that back a rule's reason, so anyone can check it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Revision ids (live or deleted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<u64>,
    /// Log entry ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_ids: Vec<u64>,
    /// Relevant moments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timestamps: Vec<Timestamp>,
}

impl Evidence {
    /// Evidence made of revisions, with their timestamps.
    pub fn of_revisions<'a>(revisions: impl IntoIterator<Item = &'a Revision>) -> Self {
        let mut evidence = Evidence::default();
        for revision in revisions {
            evidence.revisions.push(revision.id);
            evidence.timestamps.push(revision.timestamp);
        }
        evidence
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty() && self.log_ids.is_empty() && self.timestamps.is_empty()
    }
}

/// One rule's result: outcome, a one-line reason and its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleOutcome {
    /// Which rule.
    pub rule: RuleName,
    /// How it came out.
    pub outcome: Outcome,
    /// Why, in one line a requester can act on.
    pub reason: String,
    /// What the reason rests on.
    pub evidence: Evidence,
}

impl RuleOutcome {
    /// A result with no evidence.
    pub fn new(rule: RuleName, outcome: Outcome, reason: impl Into<String>) -> Self {
        RuleOutcome {
            rule,
            outcome,
            reason: reason.into(),
            evidence: Evidence::default(),
        }
    }

    /// Adds evidence.
    pub fn with(mut self, evidence: Evidence) -> Self {
        self.evidence = evidence;
        self
    }
}

/// The overall answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Every rule holds.
    Allowed,
    /// Every rule holds, but the action is irreversible: the requester must confirm.
    NeedsConfirmation,
    /// A rule failed or could not be established.
    Refused,
}

/// Every rule's outcome for one request, and what they add up to.
#[must_use = "a verdict decides whether the bot may act"]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The rules run, in order.
    pub outcomes: Vec<RuleOutcome>,
}

impl Verdict {
    /// Refused if any rule failed or was unknown; else needs confirmation if any
    /// rule asks for it; else allowed.
    pub fn decision(&self) -> Decision {
        if self.outcomes.iter().any(|o| !o.outcome.passed()) {
            Decision::Refused
        } else if self.outcomes.iter().any(|o| o.outcome == Outcome::Confirm) {
            Decision::NeedsConfirmation
        } else {
            Decision::Allowed
        }
    }

    /// Whether an administrator must review the action urgently.
    pub fn flagged(&self) -> bool {
        self.outcomes.iter().any(|o| o.outcome == Outcome::Flag)
    }

    /// The outcome of one rule, if it was run.
    pub fn outcome_of(&self, rule: RuleName) -> Option<&RuleOutcome> {
        self.outcomes.iter().find(|o| o.rule == rule)
    }
}

/// The rules a tier must satisfy for an action, in report order; `None` when the
/// tier does not cover the action at all.
pub fn rules_for(action: Action, tier: Tier) -> Option<&'static [RuleName]> {
    use RuleName::*;
    Some(match (tier, action) {
        (Tier::Own, Action::Delete) => &[
            PageExists,
            SingleAuthor,
            Recent,
            NeverRedirect,
            PreviouslyDeleted,
            NotProtected,
            NeverCopyvio,
            NotInUse,
            Irreversible,
        ],
        (Tier::Own, Action::Undelete) => &[
            PageExists,
            OwnDeletion,
            SingleAuthor,
            Recent,
            NotProtected,
            NeverCopyvio,
        ],
        (Tier::NotSelf, Action::Delete) => &[
            PageExists,
            SingleAuthor,
            TaggedForDeletion,
            Recent,
            NeverRedirect,
            PreviouslyDeleted,
            NotProtected,
            NeverCopyvio,
            NotInUse,
            Irreversible,
        ],
        (Tier::Extended, Action::DeleteRedirect) => &[
            PageExists,
            OwnMoveRedirect,
            Recent,
            PreviouslyDeleted,
            NotProtected,
            NeverCopyvio,
            NotInUse,
            Irreversible,
        ],
        (Tier::RetiredAdmin, Action::Delete | Action::DeleteRedirect) => {
            &[PageExists, PreviouslyDeleted, Irreversible]
        }
        (Tier::RetiredAdmin, Action::Undelete) => &[PageExists, NeverCopyvio],
        _ => return None,
    })
}

/// The revisions an action touches: the live history for a deletion, the
/// revisions the bot's own deletion removed for an undeletion.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    /// The revisions, oldest first; `Err` says why they could not be determined.
    pub revisions: Result<Vec<&'a Revision>, String>,
}

/// Runs every rule the tier needs for the action.
pub fn evaluate(facts: &PageFacts, request: &Request, policy: &Policy) -> Verdict {
    let Some(rules) = rules_for(request.action, request.tier) else {
        return Verdict {
            outcomes: vec![RuleOutcome::new(
                RuleName::TierCoversAction,
                Outcome::Fail,
                not_covered_reason(request.action, request.tier),
            )],
        };
    };
    let scope = match request.action {
        Action::Delete | Action::DeleteRedirect => Scope {
            revisions: Ok(facts.revisions.iter().collect()),
        },
        Action::Undelete => deletion::restorable(facts),
    };
    let ctx = Context {
        facts,
        request,
        policy,
        scope: &scope,
        author: std::cell::OnceCell::new(),
    };
    Verdict {
        outcomes: rules.iter().map(|rule| run(*rule, &ctx)).collect(),
    }
}

/// Everything a rule may look at.
pub struct Context<'a> {
    /// The page.
    pub facts: &'a PageFacts,
    /// The request, with `now`.
    pub request: &'a Request,
    /// The wiki's policy.
    pub policy: &'a Policy,
    /// The revisions the action touches.
    pub scope: &'a Scope<'a>,
    /// The not-self author of the scope, worked out once for all rules that need it.
    pub author: std::cell::OnceCell<Result<(String, authorship::Attribution), RuleOutcome>>,
}

fn run(rule: RuleName, ctx: &Context) -> RuleOutcome {
    match rule {
        RuleName::Authority | RuleName::Limits | RuleName::TierCoversAction => {
            unreachable!("`{rule}` is decided before the safety rules run")
        }
        RuleName::PageExists => deletion::page_exists(ctx),
        RuleName::SingleAuthor => authorship::single_author(ctx),
        RuleName::Recent => recency::recent(ctx),
        RuleName::NeverRedirect => redirects::never_redirect(ctx),
        RuleName::OwnMoveRedirect => redirects::own_move_redirect(ctx),
        RuleName::PreviouslyDeleted => deletion::previously_deleted(ctx),
        RuleName::NotProtected => protection::not_protected(ctx),
        RuleName::NeverCopyvio => templates::never_copyvio(ctx),
        RuleName::OwnDeletion => deletion::own_deletion(ctx),
        RuleName::TaggedForDeletion => templates::tagged_for_deletion(ctx),
        RuleName::Irreversible => deletion::irreversible(ctx),
        RuleName::NotInUse => usage::not_in_use(ctx),
    }
}

fn not_covered_reason(action: Action, tier: Tier) -> String {
    match (tier, action) {
        (Tier::NotSelf, Action::Undelete) => "deletions made under `not-self` are not available for undeletion: ask an administrator".into(),
        (_, Action::DeleteRedirect) => format!("tier `{tier}` does not cover `delete-redirect`: that needs an `extended` grant"),
        (Tier::Extended, _) => format!("tier `extended` covers only the actions its charter names, and `{action}` is not one of them here"),
        _ => format!("tier `{tier}` does not cover `{action}`"),
    }
}

/// A title or name in comparable form: spaces and underscores are equal, runs of
/// them collapse, and the first letter is lowercased (first-letter wikis ignore its
/// case). For comparing only: never shown, never sent to the wiki.
fn comparable(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split([' ', '_']).filter(|w| !w.is_empty()) {
        if out.is_empty() {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_lowercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push(' ');
            out.push_str(word);
        }
    }
    out
}

/// Whether two titles (or template names) name the same page, as far as text can
/// tell without asking the wiki.
pub fn same_title(a: &str, b: &str) -> bool {
    comparable(a) == comparable(b)
}

/// Whether two user names are the same account (user names are titles too).
pub fn same_user(a: &str, b: &str) -> bool {
    same_title(a, b)
}

/// MediaWiki's limit for an edit or log summary, in characters.
pub const SUMMARY_LIMIT: usize = 500;

/// `text` as a reader will see it: control characters become spaces, and
/// invisible formatting characters that could reorder or hide what is shown
/// (bidi overrides and isolates, zero-width characters) are dropped.
pub fn visible_text(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
        })
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` wrapped so the wiki shows it as written: no link, template or
/// signature in it works (a `</nowiki>` inside is broken up too).
pub fn as_written(text: &str) -> String {
    let text = visible_text(text).replace("</nowiki", "&lt;/nowiki");
    format!("<nowiki>{text}</nowiki>")
}

/// The reason text the bot writes when it acts for someone, and the only format
/// [`on_behalf_of`] recognises. The requester's own words are made visible
/// text and shortened to fit the wiki's summary limit, so the wiki never cuts
/// off who the bot acted for.
pub fn behalf_reason(requester: &str, tier: Tier, request_id: &str, why: &str) -> String {
    let head = format!("On behalf of [[User:{requester}|{requester}]] (adminibot tier {tier}, request {request_id}): ");
    let room = SUMMARY_LIMIT.saturating_sub(head.chars().count());
    let why = visible_text(why);
    let why = if why.chars().count() > room {
        let mut kept: String = why.chars().take(room.saturating_sub(1)).collect();
        kept.push('…');
        kept
    } else {
        why
    };
    format!("{head}{why}")
}

/// The requester named in a reason written by [`behalf_reason`].
pub fn on_behalf_of(comment: &str) -> Option<&str> {
    let rest = comment.strip_prefix("On behalf of [[User:")?;
    let end = rest.find(['|', ']'])?;
    Some(&rest[..end])
}

#[cfg(test)]
pub(crate) mod testkit;

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    #[test]
    fn tiers_and_actions_parse_their_display_names() {
        for tier in [Tier::Own, Tier::NotSelf, Tier::RetiredAdmin, Tier::Extended] {
            assert_eq!(tier.to_string().parse::<Tier>(), Ok(tier));
        }
        for action in [Action::Delete, Action::Undelete, Action::DeleteRedirect] {
            assert_eq!(action.to_string().parse::<Action>(), Ok(action));
        }
        assert!("admin"
            .parse::<Tier>()
            .unwrap_err()
            .contains("unknown tier"));
    }

    #[test]
    fn names_compare_like_the_wiki() {
        assert!(same_user("alice_smith", "Alice smith") && same_user(" Alice ", "Alice"));
        assert!(!same_user("Alice", "Alice2") && !same_user("alice Smith", "Alice smith"));
    }

    #[test]
    fn a_reason_is_visible_text_within_the_summary_limit() {
        let why = format!("G7\u{202E}gnol\u{2066}{}\nend", "x".repeat(600));
        let reason = behalf_reason("Alice", Tier::Own, "r-1", &why);
        assert!(reason.starts_with("On behalf of [[User:Alice|Alice]]"));
        assert_eq!(reason.chars().count(), SUMMARY_LIMIT);
        assert!(reason.ends_with('…'));
        assert!(!reason.contains(['\u{202E}', '\u{2066}', '\n']));
        assert_eq!(on_behalf_of(&reason), Some("Alice"));
    }

    #[test]
    fn text_as_written_cannot_leave_its_nowiki() {
        assert_eq!(
            as_written("[[Target]]</nowiki>{{x}}"),
            "<nowiki>[[Target]]&lt;/nowiki>{{x}}</nowiki>"
        );
    }

    #[test]
    fn behalf_reason_round_trips() {
        let reason = behalf_reason("Alice Smith", Tier::Own, "r-1", "G7");
        assert_eq!(on_behalf_of(&reason), Some("Alice Smith"));
        assert_eq!(on_behalf_of("G7: author request"), None);
        assert_eq!(on_behalf_of("x On behalf of [[User:Alice|Alice]]"), None);
    }

    /// "Deletions requiring "not self" permissions are not available for un-deletion."
    #[test]
    fn not_self_cannot_undelete() {
        let facts = page(vec![]);
        let verdict = evaluate(&facts, &request(Action::Undelete, Tier::NotSelf), &policy());
        assert_eq!(verdict.decision(), Decision::Refused);
        assert_eq!(verdict.outcomes[0].rule, RuleName::TierCoversAction);
        assert_eq!(verdict.outcomes[0].outcome, Outcome::Fail);
    }

    #[test]
    fn self_cannot_delete_redirects_as_such() {
        let verdict = evaluate(
            &page(vec![]),
            &request(Action::DeleteRedirect, Tier::Own),
            &policy(),
        );
        assert_eq!(verdict.decision(), Decision::Refused);
        assert!(verdict.outcomes[0].reason.contains("extended"));
    }

    #[test]
    fn a_clean_own_page_is_allowed() {
        let facts = page(vec![
            rev(1, ALICE, minutes_ago(5), "Draft."),
            rev(2, ALICE, minutes_ago(3), "Draft, more."),
        ]);
        let verdict = evaluate(&facts, &request(Action::Delete, Tier::Own), &policy());
        assert_eq!(verdict.decision(), Decision::Allowed, "{verdict:#?}");
        assert!(!verdict.flagged());
    }

    #[test]
    fn decision_folds_outcomes() {
        let mk = |outcomes: &[Outcome]| Verdict {
            outcomes: outcomes
                .iter()
                .map(|o| RuleOutcome::new(RuleName::Recent, *o, ""))
                .collect(),
        };
        assert_eq!(
            mk(&[Outcome::Pass, Outcome::Flag]).decision(),
            Decision::Allowed
        );
        assert_eq!(
            mk(&[Outcome::Pass, Outcome::Confirm]).decision(),
            Decision::NeedsConfirmation
        );
        assert_eq!(
            mk(&[Outcome::Confirm, Outcome::Unknown]).decision(),
            Decision::Refused
        );
        assert_eq!(mk(&[Outcome::Fail]).decision(), Decision::Refused);
    }
}
