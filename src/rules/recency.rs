//! `recent`: every edit the action touches is inside the namespace's window.

use super::{Action, Context, Evidence, Outcome, RuleName, RuleOutcome};
use crate::facts::Revision;
use crate::policy::Window;

/// "All edits to be deleted or undeleted are "recent," where "recent" will vary by
/// namespace or other criteria. ... The "recency" criteria is to prevent users
/// from using "deleted pages" as an "invisible holding bin.""
pub fn recent(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::Recent;
    let action = ctx.request.action;
    let ns = ctx.facts.namespace;
    let Some(window) = ctx.policy.window(ns, action) else {
        return RuleOutcome::new(
            rule,
            Outcome::Unknown,
            format!(
                "the policy sets no recency window for namespace {ns}, so nothing there counts as recent"
            ),
        );
    };
    let revisions = match &ctx.scope.revisions {
        Ok(revisions) => revisions,
        Err(why) => return RuleOutcome::new(rule, Outcome::Unknown, why.clone()),
    };
    let verb = if action == Action::Undelete {
        "undeleting"
    } else {
        "deleting"
    };
    let limit = match window {
        Window::Unlimited => {
            return RuleOutcome::new(
                rule,
                Outcome::Pass,
                format!("namespace {ns} has no age limit for {verb}"),
            )
        }
        Window::Within(limit) => limit,
    };
    let oldest_allowed = ctx.request.now - limit;
    let old: Vec<&Revision> = revisions
        .iter()
        .copied()
        .filter(|r| r.timestamp < oldest_allowed)
        .collect();
    if old.is_empty() {
        RuleOutcome::new(
            rule,
            Outcome::Pass,
            format!(
                "all {} edit(s) are within the {window} window for {verb} in namespace {ns}",
                revisions.len()
            ),
        )
    } else {
        RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "{} of {} edit(s) are older than the {window} window for {verb} in namespace {ns} (oldest {})",
                old.len(),
                revisions.len(),
                old[0].timestamp.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        )
        .with(Evidence::of_revisions(old))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{evaluate, Action, Tier};
    use super::*;

    fn outcome(facts: &crate::facts::PageFacts, action: Action) -> RuleOutcome {
        let verdict = evaluate(facts, &request(action, Tier::Own), &policy());
        verdict.outcome_of(RuleName::Recent).unwrap().clone()
    }

    /// "As an example, in "main space" recent would be a few days for deletion"
    #[test]
    fn main_space_edits_inside_the_delete_window_pass() {
        let facts = page(vec![rev(1, ALICE, hours_ago(60), "a")]);
        assert_eq!(outcome(&facts, Action::Delete).outcome, Outcome::Pass);
    }

    /// "As an example, in "main space" recent would be a few days for deletion"
    #[test]
    fn main_space_edits_older_than_the_delete_window_fail() {
        let facts = page(vec![
            rev(1, ALICE, hours_ago(80), "a"),
            rev(2, ALICE, hours_ago(1), "b"),
        ]);
        let o = outcome(&facts, Action::Delete);
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.evidence.revisions, vec![1]);
    }

    /// "In user space it may be "forever" for deletion"
    #[test]
    fn user_space_deletion_has_no_age_limit() {
        let mut facts = page(vec![rev(1, ALICE, hours_ago(24 * 400), "a")]);
        facts.namespace = 2;
        assert_eq!(outcome(&facts, Action::Delete).outcome, Outcome::Pass);
    }

    /// "The "recency" criteria is to prevent users from using "deleted pages" as an
    /// "invisible holding bin.""
    #[test]
    fn namespaces_without_a_window_are_refused() {
        let mut facts = page(vec![rev(1, ALICE, hours_ago(1), "a")]);
        facts.namespace = 4;
        assert_eq!(outcome(&facts, Action::Delete).outcome, Outcome::Unknown);
    }

    /// "a few minutes for undeletion" in main space
    #[test]
    fn main_space_undeletion_window_is_minutes() {
        let mut facts = page(vec![]);
        facts.exists = false;
        let bot_reason = "On behalf of [[User:Alice|Alice]] (adminibot tier self, request x): oops";
        facts.log_events = vec![log(
            5,
            "delete",
            "delete",
            "AdminBot",
            minutes_ago(2),
            bot_reason,
        )];
        facts.deleted_revisions = Some(vec![rev(1, ALICE, minutes_ago(5), "a")]);
        assert_eq!(outcome(&facts, Action::Undelete).outcome, Outcome::Pass);
        facts.deleted_revisions = Some(vec![rev(1, ALICE, minutes_ago(15), "a")]);
        let o = outcome(&facts, Action::Undelete);
        assert_eq!(o.outcome, Outcome::Fail);
        assert!(o.reason.contains("10m"), "{}", o.reason);
    }
}
