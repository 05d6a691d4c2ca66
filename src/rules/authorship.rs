//! `single_author`: who wrote the page, and whose log entries it carries.
//!
//! Self: every revision is the requester's. Not-self: one author remains after
//! setting aside edits by recognised bots, edits that were reverted and the edits
//! that reverted them (a revision whose content hash equals an earlier
//! revision's restores that state: everything in between was reverted).

use super::{on_behalf_of, same_user, Context, Evidence, Outcome, RuleName, RuleOutcome, Tier};
use crate::facts::{LogEvent, Revision};
use std::collections::{BTreeMap, HashMap};

/// How a history's revisions are counted when looking for its author.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Attribution {
    /// Editors whose edits count, with those revision ids, oldest first.
    pub authors: BTreeMap<String, Vec<u64>>,
    /// Edits by recognised bots.
    pub bot_edits: Vec<u64>,
    /// Edits undone by a later identity revert.
    pub reverted: Vec<u64>,
    /// Edits that restored an earlier state (reverts, null edits).
    pub reverting: Vec<u64>,
    /// Edits whose author is hidden: nobody can tell who wrote them.
    pub hidden: Vec<u64>,
}

impl Attribution {
    /// The one remaining author, if exactly one remains.
    pub fn sole_author(&self) -> Option<&str> {
        match self.authors.len() {
            1 => self.authors.keys().next().map(String::as_str),
            _ => None,
        }
    }
}

/// Counts the authors of `revisions` (oldest first), setting aside bots and reverts.
pub fn attribute(revisions: &[&Revision], is_bot: impl Fn(&str) -> bool) -> Attribution {
    let n = revisions.len();
    let mut reverted = vec![false; n];
    let mut reverting = vec![false; n];
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (j, revision) in revisions.iter().enumerate() {
        let Some(sha1) = revision.sha1.as_deref() else {
            continue;
        };
        match first_seen.get(sha1) {
            Some(&i) => {
                reverting[j] = true;
                reverted[i + 1..j].iter_mut().for_each(|r| *r = true);
            }
            None => {
                first_seen.insert(sha1, j);
            }
        }
    }
    let mut attribution = Attribution::default();
    for (k, revision) in revisions.iter().enumerate() {
        let Some(user) = revision.user.as_deref() else {
            attribution.hidden.push(revision.id);
            continue;
        };
        if is_bot(user) {
            attribution.bot_edits.push(revision.id);
        } else if reverted[k] {
            attribution.reverted.push(revision.id);
        } else if reverting[k] {
            attribution.reverting.push(revision.id);
        } else {
            attribution
                .authors
                .entry(user.to_string())
                .or_default()
                .push(revision.id);
        }
    }
    attribution
}

/// Whether `user` counts as a bot: in a bot group on the wiki now, or named by the policy.
pub fn is_recognised_bot(ctx: &Context, user: &str) -> bool {
    ctx.facts.bot_editors.iter().any(|b| same_user(b, user))
        || ctx.policy.bots.names.iter().any(|b| same_user(b, user))
}

/// The not-self author of the revisions in scope, or the outcome explaining why
/// there is none. Worked out once per evaluation.
pub fn sole_author<'c>(ctx: &'c Context) -> &'c Result<(String, Attribution), RuleOutcome> {
    ctx.author.get_or_init(|| find_sole_author(ctx))
}

fn find_sole_author(ctx: &Context) -> Result<(String, Attribution), RuleOutcome> {
    let rule = RuleName::SingleAuthor;
    let revisions = ctx
        .scope
        .revisions
        .as_ref()
        .map_err(|why| RuleOutcome::new(rule, Outcome::Unknown, why.clone()))?;
    let attribution = attribute(revisions, |u| is_recognised_bot(ctx, u));
    if !attribution.hidden.is_empty() {
        return Err(RuleOutcome::new(
            rule,
            Outcome::Unknown,
            "the author of some revisions is hidden, so the bot cannot tell who wrote the page",
        )
        .with(evidence(&attribution.hidden)));
    }
    match attribution.sole_author() {
        Some(author) => Ok((author.to_string(), attribution.clone())),
        None if attribution.authors.is_empty() => Err(RuleOutcome::new(
            rule,
            Outcome::Unknown,
            "no edit counts towards an author (only bot edits and reverts)",
        )),
        None => {
            let names: Vec<_> = attribution
                .authors
                .keys()
                .map(|n| format!("`{n}`"))
                .collect();
            let revids: Vec<u64> = attribution.authors.values().flatten().copied().collect();
            Err(RuleOutcome::new(
                rule,
                Outcome::Fail,
                format!(
                    "{} editors wrote this page ({}), not counting bots and reverts",
                    names.len(),
                    names.join(", ")
                ),
            )
            .with(evidence(&revids)))
        }
    }
}

/// "The affected page only has edits by the requesting author and it only had
/// deletion, undeletion, revision-deletion, and revision-undeletion, and similar
/// entries which are made by this bot on behalf of the requesting author."
pub fn single_author(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::SingleAuthor;
    let requester = &ctx.request.requester;
    let (author, note) = if ctx.request.tier == Tier::Own {
        let revisions = match &ctx.scope.revisions {
            Ok(revisions) => revisions,
            Err(why) => return RuleOutcome::new(rule, Outcome::Unknown, why.clone()),
        };
        if revisions.is_empty() {
            return RuleOutcome::new(rule, Outcome::Unknown, "there are no revisions to judge");
        }
        let others: Vec<&Revision> = revisions
            .iter()
            .copied()
            .filter(|r| r.user_id == 0 || r.user_id != requester.user_id)
            .collect();
        if !others.is_empty() {
            let names: Vec<String> = others
                .iter()
                .map(|r| format!("`{}`", r.user.as_deref().unwrap_or("(hidden)")))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            return RuleOutcome::new(
                rule,
                Outcome::Fail,
                format!(
                    "{} of {} revisions are not by `{}` (by {})",
                    others.len(),
                    revisions.len(),
                    requester.name,
                    names.join(", ")
                ),
            )
            .with(Evidence::of_revisions(others));
        }
        (requester.name.clone(), String::new())
    } else {
        match sole_author(ctx) {
            Ok((author, attribution)) => {
                let author = author.clone();
                let set_aside = attribution.bot_edits.len()
                    + attribution.reverted.len()
                    + attribution.reverting.len();
                let note = if set_aside == 0 {
                    String::new()
                } else {
                    format!(
                        ", not counting {} bot edit(s), {} reverted and {} reverting edit(s)",
                        attribution.bot_edits.len(),
                        attribution.reverted.len(),
                        attribution.reverting.len()
                    )
                };
                (author, note)
            }
            Err(outcome) => return outcome.clone(),
        }
    };
    let foreign: Vec<&LogEvent> = ctx
        .facts
        .log_events
        .iter()
        .filter(|event| !own_log_entry(ctx, event, &author))
        .collect();
    if !foreign.is_empty() {
        let mut ev = Evidence::default();
        for event in &foreign {
            ev.log_ids.push(event.id);
            ev.timestamps.push(event.timestamp);
        }
        let first = foreign[0];
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "the page has {} log entr{} not made by this bot for `{author}` (first: {}/{} by `{}`)",
                foreign.len(),
                if foreign.len() == 1 { "y" } else { "ies" },
                first.kind,
                first.action,
                first.user.as_deref().unwrap_or("(hidden)")
            ),
        )
        .with(ev);
    }
    let revisions = ctx.scope.revisions.as_ref().map(Vec::len).unwrap_or(0);
    RuleOutcome::new(
        rule,
        Outcome::Pass,
        if note.is_empty() {
            format!("all {revisions} revision(s) are by `{author}`")
        } else {
            format!("`{author}` is the only author of the {revisions} revision(s){note}")
        },
    )
}

/// Log entries a single-author page may carry: its creation by the author, and
/// deletion-type entries this bot made on behalf of the author or the requester.
fn own_log_entry(ctx: &Context, event: &LogEvent, author: &str) -> bool {
    let Some(user) = event.user.as_deref() else {
        return false;
    };
    if event.kind == "create" {
        return same_user(user, author);
    }
    let for_whom = event.comment.as_deref().and_then(on_behalf_of);
    event.kind == "delete"
        && same_user(user, &ctx.policy.bot)
        && for_whom.is_some_and(|who| {
            same_user(who, author) || same_user(who, &ctx.request.requester.name)
        })
}

fn evidence(revids: &[u64]) -> Evidence {
    Evidence {
        revisions: revids.to_vec(),
        ..Evidence::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{evaluate, Action, Tier};
    use super::*;

    fn outcome(facts: &crate::facts::PageFacts, who: (&str, u64), tier: Tier) -> RuleOutcome {
        let verdict = evaluate(facts, &request_by(who, Action::Delete, tier), &policy());
        verdict.outcome_of(RuleName::SingleAuthor).unwrap().clone()
    }

    /// "The affected page only has edits by the requesting author"
    #[test]
    fn self_passes_when_every_edit_is_the_requesters() {
        let facts = page(vec![
            rev(1, ALICE, hours_ago(3), "a"),
            rev(2, ALICE, hours_ago(2), "b"),
        ]);
        let o = outcome(&facts, ALICE, Tier::Own);
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
    }

    /// "The affected page only has edits by the requesting author"
    #[test]
    fn self_fails_when_anyone_else_edited() {
        let facts = page(vec![
            rev(1, ALICE, hours_ago(3), "a"),
            rev(2, BOB, hours_ago(2), "b"),
        ]);
        let o = outcome(&facts, ALICE, Tier::Own);
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.evidence.revisions, vec![2]);
        assert!(o.reason.contains("`Bob`"), "{}", o.reason);
    }

    /// Self has no bot exception: "only has edits by the requesting author".
    #[test]
    fn self_counts_bot_edits_too() {
        let facts = page(vec![
            rev(1, ALICE, hours_ago(3), "a"),
            rev(2, MAINTBOT, hours_ago(2), "a [[Category:X]]"),
        ]);
        assert_eq!(outcome(&facts, ALICE, Tier::Own).outcome, Outcome::Fail);
    }

    /// "...and it only had deletion, undeletion, ... entries which are made by this
    /// bot on behalf of the requesting author."
    #[test]
    fn log_entries_by_others_fail_and_own_bot_entries_pass() {
        let mut facts = page(vec![rev(1, ALICE, hours_ago(3), "a")]);
        facts.log_events = vec![log(
            7,
            "delete",
            "delete",
            "AdminBot",
            hours_ago(5),
            "On behalf of [[User:Alice|Alice]] (adminibot tier self, request x): G7",
        )];
        assert_eq!(outcome(&facts, ALICE, Tier::Own).outcome, Outcome::Pass);
        facts
            .log_events
            .push(log(8, "delete", "delete", "Admin", hours_ago(4), "G7"));
        let o = outcome(&facts, ALICE, Tier::Own);
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.evidence.log_ids, vec![8]);
        facts.log_events[1] = log(
            8,
            "delete",
            "delete",
            "AdminBot",
            hours_ago(4),
            "On behalf of [[User:Bob|Bob]] (x): y",
        );
        assert_eq!(outcome(&facts, ALICE, Tier::Own).outcome, Outcome::Fail);
    }

    #[test]
    fn creation_log_by_the_author_is_fine_but_not_by_others() {
        let mut facts = page(vec![rev(1, ALICE, hours_ago(3), "a")]);
        facts.log_events = vec![log(3, "create", "create", "Alice", hours_ago(3), "")];
        assert_eq!(outcome(&facts, ALICE, Tier::Own).outcome, Outcome::Pass);
        facts.log_events = vec![log(3, "protect", "protect", "Admin", hours_ago(3), "")];
        assert_eq!(outcome(&facts, ALICE, Tier::Own).outcome, Outcome::Fail);
    }

    /// The proposal's worked example: "if editor #1 blanks the page, editor #2
    /// unblanks the page, bot undoes the unblank, primary author restores the page,
    /// then a recognized maintenance bot updates categories on the page, then the
    /// primary author tags the page with db-author, Adminibot will detect this and
    /// will count as a page written by a single author".
    #[test]
    fn worked_example_is_single_author_for_not_self() {
        let text = "Carol's article text.";
        let facts = page(vec![
            rev(1, CAROL, hours_ago(47), text),
            rev(2, BOB, hours_ago(46), ""),
            rev(3, ALICE, hours_ago(45), text),
            rev(4, MAINTBOT, hours_ago(44), ""),
            rev(5, CAROL, hours_ago(43), text),
            rev(
                6,
                MAINTBOT,
                hours_ago(42),
                "Carol's article text.\n[[Category:Maintained]]",
            ),
            rev(
                7,
                CAROL,
                hours_ago(41),
                "{{db-author}}\nCarol's article text.\n[[Category:Maintained]]",
            ),
        ]);
        let o = outcome(&facts, ALICE, Tier::NotSelf);
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
        assert!(o.reason.contains("`Carol`"), "{}", o.reason);
        let refs: Vec<&Revision> = facts.revisions.iter().collect();
        let attribution = attribute(&refs, |u| u == "MaintBot");
        assert_eq!(attribution.authors.get("Carol"), Some(&vec![1, 7]));
        assert_eq!(attribution.bot_edits, vec![4, 6]);
        assert_eq!(attribution.reverted, vec![2, 3]);
        assert_eq!(attribution.reverting, vec![5]);
        // The same history is not single-author for Carol's own `self` request.
        assert_eq!(outcome(&facts, CAROL, Tier::Own).outcome, Outcome::Fail);
    }

    /// "a single author, not counting edits the bot can identify as made
    /// automatically by a bot, edits which were reverted ..., and reverting edits"
    /// — an unreverted edit by a second human still counts.
    #[test]
    fn not_self_fails_with_two_human_authors() {
        let facts = page(vec![
            rev(1, CAROL, hours_ago(5), "a"),
            rev(2, BOB, hours_ago(4), "a b"),
        ]);
        let o = outcome(&facts, ALICE, Tier::NotSelf);
        assert_eq!(o.outcome, Outcome::Fail);
        assert!(
            o.reason.contains("`Bob`") && o.reason.contains("`Carol`"),
            "{}",
            o.reason
        );
    }

    #[test]
    fn hidden_authors_are_doubt() {
        let mut hidden = rev(2, BOB, hours_ago(4), "x");
        hidden.user = None;
        let facts = page(vec![rev(1, CAROL, hours_ago(5), "a"), hidden]);
        assert_eq!(
            outcome(&facts, ALICE, Tier::NotSelf).outcome,
            Outcome::Unknown
        );
        assert_eq!(outcome(&facts, ALICE, Tier::Own).outcome, Outcome::Fail);
    }

    #[test]
    fn bots_on_the_wiki_count_as_bots() {
        let mut facts = page(vec![
            rev(1, CAROL, hours_ago(5), "a"),
            rev(2, BOB, hours_ago(4), "a b"),
        ]);
        facts.bot_editors.insert("Bob".into());
        assert_eq!(outcome(&facts, ALICE, Tier::NotSelf).outcome, Outcome::Pass);
    }
}
