//! `not_protected`: no protection of any kind is in force.

use super::{Context, Evidence, Outcome, RuleName, RuleOutcome};

/// "The page in question must not have any form of protection on it."
pub fn not_protected(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::NotProtected;
    let active: Vec<_> = ctx
        .facts
        .protections
        .iter()
        .filter(|p| p.expiry.is_none_or(|end| end > ctx.request.now))
        .collect();
    if active.is_empty() {
        return RuleOutcome::new(rule, Outcome::Pass, "no protection is in force");
    }
    let described: Vec<String> = active
        .iter()
        .map(|p| {
            let until = p.expiry.map_or("indefinitely".to_string(), |t| {
                format!("until {}", t.format("%Y-%m-%dT%H:%M:%SZ"))
            });
            let from = p
                .source
                .as_ref()
                .map_or(String::new(), |s| format!(", cascading from `{s}`"));
            format!("{}={} {until}{from}", p.kind, p.level)
        })
        .collect();
    RuleOutcome::new(
        rule,
        Outcome::Fail,
        format!("the page is protected ({})", described.join("; ")),
    )
    .with(Evidence {
        timestamps: active.iter().filter_map(|p| p.expiry).collect(),
        ..Evidence::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{evaluate, Action, Tier};
    use super::*;
    use crate::facts::Protection;

    fn protected(expiry: Option<crate::facts::Timestamp>, kind: &str) -> crate::facts::PageFacts {
        let mut facts = page(vec![rev(1, ALICE, minutes_ago(5), "x")]);
        facts.protections = vec![Protection {
            kind: kind.into(),
            level: "sysop".into(),
            expiry,
            source: None,
        }];
        facts
    }

    fn outcome(facts: &crate::facts::PageFacts) -> Outcome {
        let verdict = evaluate(facts, &request(Action::Delete, Tier::Own), &policy());
        verdict.outcome_of(RuleName::NotProtected).unwrap().outcome
    }

    /// "The page in question must not have any form of protection on it."
    #[test]
    fn any_protection_in_force_fails() {
        assert_eq!(outcome(&protected(None, "edit")), Outcome::Fail);
        assert_eq!(outcome(&protected(None, "move")), Outcome::Fail);
        assert_eq!(
            outcome(&protected(Some(hours_ago(-5)), "edit")),
            Outcome::Fail
        );
    }

    /// "The page in question must not have any form of protection on it."
    #[test]
    fn expired_or_absent_protection_passes() {
        assert_eq!(
            outcome(&protected(Some(hours_ago(5)), "edit")),
            Outcome::Pass
        );
        assert_eq!(
            outcome(&page(vec![rev(1, ALICE, minutes_ago(5), "x")])),
            Outcome::Pass
        );
    }
}
