//! `not_in_use`: no more use by other pages than the policy's `[in_use]` allows.

use super::{Context, Outcome, RuleName, RuleOutcome};

/// A page other pages use is not uncontroversial to delete: a template
/// transcluded elsewhere, a userbox on other users' pages (user space has no
/// recency window), a page many others link to or redirect to. Over any of the
/// policy's limits the rule refuses, so that an administrator decides
/// (`--escalate` asks one).
pub fn not_in_use(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::NotInUse;
    let used_by = &ctx.facts.used_by;
    let limits = &ctx.policy.in_use;
    let read = limits.read_limit() as usize;
    let kinds = [
        (
            "transcluded on",
            &used_by.transclusions,
            limits.transclusions,
        ),
        ("linked from", &used_by.links, limits.links),
        (
            "the target of redirects from",
            &used_by.redirects,
            limits.redirects,
        ),
    ];
    let counted = |found: &Vec<String>| {
        let more = if found.len() >= read { " or more" } else { "" };
        format!("{}{more}", found.len())
    };
    let over: Vec<String> = kinds
        .iter()
        .filter(|(_, found, limit)| found.len() > *limit as usize)
        .map(|(what, found, limit)| {
            let some: Vec<String> = found.iter().take(3).map(|t| format!("[[:{t}]]")).collect();
            format!(
                "{what} {} pages (at most {limit}), such as {}",
                counted(found),
                some.join(", ")
            )
        })
        .collect();
    if over.is_empty() {
        return RuleOutcome::new(
            rule,
            Outcome::Pass,
            format!(
                "other pages use it within the policy's limits: {} transclusion(s), {} link(s), {} redirect(s)",
                used_by.transclusions.len(),
                used_by.links.len(),
                used_by.redirects.len()
            ),
        );
    }
    RuleOutcome::new(
        rule,
        Outcome::Fail,
        format!(
            "the page is in use: {}; deleting it would break them, so an administrator must decide",
            over.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{evaluate, Action, Tier};
    use super::*;
    use crate::facts::PageFacts;

    fn outcome(facts: &PageFacts, policy: &crate::policy::Policy) -> RuleOutcome {
        let verdict = evaluate(facts, &request(Action::Delete, Tier::Own), policy);
        verdict.outcome_of(RuleName::NotInUse).unwrap().clone()
    }

    fn titles(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("User:Other{i}")).collect()
    }

    /// Within every limit the rule passes and says how much use it saw.
    #[test]
    fn a_page_used_within_the_limits_passes() {
        let mut facts = page(vec![rev(1, ALICE, minutes_ago(5), "x")]);
        facts.used_by.links = titles(5);
        facts.used_by.redirects = titles(2);
        let o = outcome(&facts, &policy());
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
        assert!(o.reason.contains("5 link(s)"), "{}", o.reason);
    }

    /// One transclusion elsewhere (the default limit is 0), or one link or
    /// redirect over its limit, refuses, naming some of the pages.
    #[test]
    fn any_use_over_a_limit_refuses_and_names_the_users() {
        let mut facts = page(vec![rev(1, ALICE, minutes_ago(5), "x")]);
        facts.used_by.transclusions = titles(1);
        let o = outcome(&facts, &policy());
        assert_eq!(o.outcome, Outcome::Fail);
        assert!(
            o.reason
                .contains("transcluded on 1 pages (at most 0), such as [[:User:Other0]]"),
            "{}",
            o.reason
        );
        let mut facts = page(vec![rev(1, ALICE, minutes_ago(5), "x")]);
        facts.used_by.links = titles(6);
        assert_eq!(outcome(&facts, &policy()).outcome, Outcome::Fail);
        let mut facts = page(vec![rev(1, ALICE, minutes_ago(5), "x")]);
        facts.used_by.redirects = titles(3);
        assert_eq!(outcome(&facts, &policy()).outcome, Outcome::Fail);
    }

    /// A list read to its limit may go on: the reason says "or more".
    #[test]
    fn a_list_read_to_the_limit_says_or_more() {
        let mut policy = policy();
        policy.in_use.links = 2;
        let mut facts = page(vec![rev(1, ALICE, minutes_ago(5), "x")]);
        facts.used_by.links = titles(policy.in_use.read_limit() as usize);
        let o = outcome(&facts, &policy);
        assert!(
            o.reason.contains("linked from 3 or more pages"),
            "{}",
            o.reason
        );
    }
}
