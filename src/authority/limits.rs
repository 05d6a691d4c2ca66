//! The gate `limits`: how much one requester may do (the policy's quotas per
//! hour and per day, by tier) and how often the bot deletes one title again.
//! Pure: the store's counts and the page's log come in, `now` is a parameter.

use crate::facts::{PageFacts, Timestamp};
use crate::model::{Action, Tier};
use crate::policy::Limits;
use crate::rules::{same_user, Outcome, RuleName, RuleOutcome};
use chrono::Duration;

/// What counts against a request's limits.
#[derive(Debug, Clone, Default)]
pub struct Lately {
    /// When the requester asked for actions under the tier in the last day,
    /// oldest first ([`crate::store::Store::actions_since`]).
    pub actions: Vec<Timestamp>,
    /// How often the bot has deleted this title before (the wiki's log).
    pub bot_deletions: usize,
}

/// How often the policy's bot deleted the page's title, by the wiki's log.
pub fn bot_deletions(facts: &PageFacts, bot: &str) -> usize {
    facts
        .log_events
        .iter()
        .filter(|e| e.kind == "delete" && e.action == "delete")
        .filter(|e| e.user.as_deref().is_some_and(|u| same_user(u, bot)))
        .count()
}

/// The gate `limits` for one request under `tier`: fewer actions in the last
/// hour and day than the policy allows the tier, and, for a deletion, no more
/// re-deletions of the title than the policy allows.
pub fn within_limits(
    limits: &Limits,
    (action, tier): (Action, Tier),
    lately: &Lately,
    now: Timestamp,
) -> RuleOutcome {
    let rule = RuleName::Limits;
    let windows = [
        ("hour", Duration::hours(1), limits.per_hour.of(tier)),
        ("day", Duration::days(1), limits.per_day.of(tier)),
    ];
    let mut counts = Vec::new();
    for (name, length, max) in windows {
        let inside: Vec<&Timestamp> = lately
            .actions
            .iter()
            .filter(|at| **at > now - length)
            .collect();
        if inside.len() >= max {
            // The oldest action that must leave the window before one more fits.
            let next = inside
                .get(inside.len() - max)
                .map(|at| crate::when::format_time(**at + length))
                .unwrap_or_default();
            return RuleOutcome::new(
                rule,
                Outcome::Fail,
                format!(
                    "{} action(s) under tier `{tier}` in the last {name}, and the policy allows {max}: the next is possible after {next}",
                    inside.len()
                ),
            );
        }
        counts.push(format!("{} of {max} this {name}", inside.len()));
    }
    let deleting = matches!(action, Action::Delete | Action::DeleteRedirect);
    if deleting && lately.bot_deletions > limits.redeletions {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "the bot has deleted this title {} times already, and the policy allows {} re-deletion(s): a page that keeps coming back needs an administrator",
                lately.bot_deletions, limits.redeletions
            ),
        );
    }
    RuleOutcome::new(
        rule,
        Outcome::Pass,
        format!("{} under tier `{tier}`", counts.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::{hours_ago, minutes_ago, now};

    fn limits() -> Limits {
        let mut limits = Limits::default();
        limits.per_hour.own = 2;
        limits.per_day.own = 3;
        limits.redeletions = 1;
        limits
    }

    fn outcome(lately: &Lately, action: Action) -> RuleOutcome {
        within_limits(&limits(), (action, Tier::Own), lately, now())
    }

    #[test]
    fn under_every_quota_passes_and_counts() {
        let lately = Lately {
            actions: vec![hours_ago(3), minutes_ago(10)],
            bot_deletions: 1,
        };
        let o = outcome(&lately, Action::Delete);
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
        assert_eq!(
            o.reason,
            "1 of 2 this hour, 2 of 3 this day under tier `self`"
        );
    }

    /// The hour's quota, then the day's, each saying when the next fits.
    #[test]
    fn a_full_hour_or_day_refuses_until_the_oldest_leaves() {
        let lately = Lately {
            actions: vec![minutes_ago(50), minutes_ago(10)],
            bot_deletions: 0,
        };
        let o = outcome(&lately, Action::Undelete);
        assert_eq!(o.outcome, Outcome::Fail);
        let after = crate::when::format_time(minutes_ago(50) + Duration::hours(1));
        assert!(
            o.reason.contains("in the last hour") && o.reason.contains(&after),
            "{}",
            o.reason
        );
        let lately = Lately {
            actions: vec![hours_ago(20), hours_ago(5), hours_ago(2)],
            bot_deletions: 0,
        };
        let o = outcome(&lately, Action::Delete);
        assert!(
            o.reason
                .contains("3 action(s) under tier `self` in the last day"),
            "{}",
            o.reason
        );
    }

    /// Re-deletions are capped for deletions only: an undeletion of a title
    /// the bot deleted often is no loop.
    #[test]
    fn re_deleting_a_title_past_the_cap_refuses() {
        let lately = Lately {
            actions: vec![],
            bot_deletions: 2,
        };
        assert_eq!(outcome(&lately, Action::Delete).outcome, Outcome::Fail);
        assert_eq!(outcome(&lately, Action::Undelete).outcome, Outcome::Pass);
        let lately = Lately {
            actions: vec![],
            bot_deletions: 1,
        };
        assert_eq!(outcome(&lately, Action::Delete).outcome, Outcome::Pass);
    }
}
