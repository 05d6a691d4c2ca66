//! Redirect rules: `never_redirect` (delete) and `own_move_redirect` (delete-redirect).

use super::{same_title, same_user, Context, Evidence, Outcome, RuleName, RuleOutcome};
use crate::facts::{Revision, TargetHistory, Timestamp};
use chrono::Duration;

/// The target of a redirect, as written (`#REDIRECT [[Foo#Bar]]` gives `Foo`), if
/// the wikitext is one. `words` are the wiki's redirect magic words.
pub fn redirect_target<'a>(wikitext: &'a str, words: &[String]) -> Option<&'a str> {
    let text = wikitext.trim_start();
    let word = words.iter().find(|w| {
        text.get(..w.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(w))
    })?;
    let rest = text[word.len()..].trim_start();
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
    let inner = rest.strip_prefix("[[")?;
    let end = inner.find("]]")?;
    let target = inner[..end].split(['|', '#']).next()?.trim();
    (!target.is_empty()).then_some(target)
}

/// How sure the bot is that a target existed during a period.
#[derive(Debug, PartialEq)]
enum Existed {
    Yes,
    No,
    CannotTell(&'static str),
}

fn existed_during(target: &TargetHistory, start: Timestamp, end: Timestamp) -> Existed {
    if target.first_revision.is_some_and(|t| t <= end)
        || target.first_deleted_revision.is_some_and(|t| t <= end)
    {
        return Existed::Yes;
    }
    if target.departures.iter().any(|d| *d >= start) {
        return Existed::CannotTell("the target was moved or deleted since the redirect began");
    }
    if !target.deleted_readable {
        return Existed::CannotTell("the target's deleted revisions cannot be read");
    }
    Existed::No
}

/// "No deletion of any page that was once a redirect, unless the target of the
/// redirect did not exist during the time the page in question was a redirect
/// (this is to prevent move-and-delete-the-redirect games ...)."
pub fn never_redirect(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::NeverRedirect;
    let facts = ctx.facts;
    let Some(deleted) = &facts.deleted_revisions else {
        return RuleOutcome::new(
            rule,
            Outcome::Unknown,
            "the bot cannot read deleted revisions, so it cannot tell whether one was a redirect",
        );
    };
    let mut history: Vec<&Revision> = facts.revisions.iter().chain(deleted).collect();
    history.sort_by_key(|r| r.timestamp);
    let words = &ctx.policy.redirect_words;
    let (mut existed, mut doubt, mut harmless) = (Vec::new(), Vec::new(), Vec::new());
    for (i, revision) in history.iter().enumerate() {
        let Some(text) = revision.content.as_deref() else {
            doubt.push((*revision, "its text is hidden".to_string()));
            continue;
        };
        let Some(written) = redirect_target(text, words) else {
            continue;
        };
        let end = history
            .get(i + 1)
            .map_or(ctx.request.now, |next| next.timestamp);
        let target = facts.redirect_targets.iter().find(|t| t.written == written);
        match target.map(|t| existed_during(t, revision.timestamp, end)) {
            Some(Existed::Yes) => existed.push((*revision, written)),
            Some(Existed::No) => harmless.push(*revision),
            Some(Existed::CannotTell(why)) => doubt.push((*revision, why.to_string())),
            None => doubt.push((*revision, format!("nothing is known about `{written}`"))),
        }
    }
    if facts.is_redirect
        && facts
            .revisions
            .last()
            .and_then(|r| r.content.as_deref())
            .and_then(|t| redirect_target(t, words))
            .is_none()
    {
        return RuleOutcome::new(
            rule,
            Outcome::Unknown,
            "the wiki says the page is a redirect but the bot cannot read its target",
        );
    }
    if let Some((first, target)) = existed.first() {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "revision {} was a redirect to `{target}`, which existed at the time",
                first.id
            ),
        )
        .with(Evidence::of_revisions(existed.iter().map(|(r, _)| *r)));
    }
    if let Some((first, why)) = doubt.first() {
        return RuleOutcome::new(
            rule,
            Outcome::Unknown,
            format!(
                "cannot tell whether revision {} was a redirect to an existing page: {why}",
                first.id
            ),
        )
        .with(Evidence::of_revisions(doubt.iter().map(|(r, _)| *r)));
    }
    if harmless.is_empty() {
        RuleOutcome::new(rule, Outcome::Pass, "no revision was ever a redirect")
    } else {
        RuleOutcome::new(
            rule,
            Outcome::Pass,
            format!(
                "{} revision(s) were redirects, but to pages that did not exist then",
                harmless.len()
            ),
        )
        .with(Evidence::of_revisions(harmless))
    }
}

/// "Deleting redirects left over after the user moves a page ... This provides
/// the equivalent right of "move without leaving a redirect.""
pub fn own_move_redirect(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::OwnMoveRedirect;
    let facts = ctx.facts;
    let requester = &ctx.request.requester;
    let [only] = facts.revisions.as_slice() else {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "the page has {} revisions; a redirect left by a move has exactly one",
                facts.revisions.len()
            ),
        )
        .with(Evidence::of_revisions(&facts.revisions));
    };
    let evidence = Evidence::of_revisions([only]);
    let Some(target) = only
        .content
        .as_deref()
        .and_then(|t| redirect_target(t, &ctx.policy.redirect_words))
    else {
        return RuleOutcome::new(rule, Outcome::Fail, "the page is not a redirect").with(evidence);
    };
    if only.user_id == 0 || only.user_id != requester.user_id {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "the redirect was saved by `{}`, not by `{}`",
                only.user.as_deref().unwrap_or("(hidden)"),
                requester.name
            ),
        )
        .with(evidence);
    }
    let made_by_move = facts.log_events.iter().rev().find(|e| {
        e.kind == "move"
            && e.user
                .as_deref()
                .is_some_and(|u| same_user(u, &requester.name))
            && e.move_target
                .as_deref()
                .is_some_and(|t| same_title(t, target))
            && (e.timestamp - only.timestamp).abs() <= Duration::seconds(5)
    });
    match made_by_move {
        Some(event) => RuleOutcome::new(
            rule,
            Outcome::Pass,
            format!(
                "`{}` left this redirect when moving the page to `{target}`",
                requester.name
            ),
        )
        .with(Evidence {
            log_ids: vec![event.id],
            ..evidence
        }),
        None => RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "no move by `{}` to `{target}` created this redirect",
                requester.name
            ),
        )
        .with(evidence),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{evaluate, Action, Tier};
    use super::*;
    use crate::facts::PageFacts;

    fn words() -> Vec<String> {
        vec!["#REDIRECT".to_string()]
    }

    fn target(written: &str, first: Option<Timestamp>) -> TargetHistory {
        TargetHistory {
            written: written.into(),
            title: written.into(),
            first_revision: first,
            first_deleted_revision: None,
            deleted_readable: true,
            departures: vec![],
        }
    }

    fn run(facts: &PageFacts, rule: RuleName, action: Action, tier: Tier) -> RuleOutcome {
        evaluate(facts, &request(action, tier), &policy())
            .outcome_of(rule)
            .unwrap()
            .clone()
    }

    #[test]
    fn redirect_targets_are_parsed() {
        assert_eq!(
            redirect_target("#REDIRECT [[Foo bar]]", &words()),
            Some("Foo bar")
        );
        assert_eq!(
            redirect_target("  #redirect:[[Foo#Sec|x]]\n{{R}}", &words()),
            Some("Foo")
        );
        assert_eq!(redirect_target("Text #REDIRECT [[Foo]]", &words()), None);
        assert_eq!(redirect_target("#REDIRECT Foo", &words()), None);
        assert_eq!(
            redirect_target("#REDIRECTION [[Foo]]", &["#REDIRECTION".to_string()]),
            Some("Foo")
        );
    }

    /// "No deletion of any page that was once a redirect, unless the target of the
    /// redirect did not exist during the time the page in question was a redirect"
    #[test]
    fn a_past_redirect_to_an_existing_page_fails() {
        let mut facts = page(vec![
            rev(1, ALICE, hours_ago(48), "#REDIRECT [[Established article]]"),
            rev(2, ALICE, hours_ago(24), "Now an article."),
        ]);
        facts.redirect_targets = vec![target("Established article", Some(hours_ago(24 * 30)))];
        let o = run(&facts, RuleName::NeverRedirect, Action::Delete, Tier::Own);
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.evidence.revisions, vec![1]);
    }

    /// "...unless the target of the redirect did not exist during the time the page
    /// in question was a redirect"
    #[test]
    fn a_past_redirect_to_a_page_created_later_passes() {
        let mut facts = page(vec![
            rev(1, ALICE, hours_ago(48), "#REDIRECT [[Later article]]"),
            rev(2, ALICE, hours_ago(24), "Now an article."),
        ]);
        facts.redirect_targets = vec![target("Later article", Some(hours_ago(12)))];
        let o = run(&facts, RuleName::NeverRedirect, Action::Delete, Tier::Own);
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
        facts.redirect_targets[0].departures = vec![hours_ago(30)];
        let o = run(&facts, RuleName::NeverRedirect, Action::Delete, Tier::Own);
        assert_eq!(
            o.outcome,
            Outcome::Unknown,
            "a target moved away during the period is doubt"
        );
        facts.redirect_targets.clear();
        assert_eq!(
            run(&facts, RuleName::NeverRedirect, Action::Delete, Tier::Own).outcome,
            Outcome::Unknown
        );
    }

    #[test]
    fn pages_that_never_redirected_pass() {
        let facts = page(vec![rev(1, ALICE, hours_ago(2), "Plain.")]);
        assert_eq!(
            run(&facts, RuleName::NeverRedirect, Action::Delete, Tier::Own).outcome,
            Outcome::Pass
        );
    }

    fn moved(who: (&str, u64), mover: &str) -> PageFacts {
        let at = hours_ago(3);
        let mut facts = page(vec![rev(1, who, at, "#REDIRECT [[New title]]")]);
        facts.is_redirect = true;
        let mut event = log(4, "move", "move", mover, at, "better name");
        event.move_target = Some("New title".into());
        facts.log_events = vec![event];
        facts
    }

    /// "Deleting redirects left over after the user moves a page"
    #[test]
    fn the_redirect_left_by_the_requesters_move_passes() {
        let o = run(
            &moved(ALICE, "Alice"),
            RuleName::OwnMoveRedirect,
            Action::DeleteRedirect,
            Tier::Extended,
        );
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
        assert_eq!(o.evidence.log_ids, vec![4]);
    }

    /// "Deleting redirects left over after the user moves a page" — not someone
    /// else's move, and not a redirect that was edited since.
    #[test]
    fn redirects_from_other_moves_or_with_edits_fail() {
        let o = run(
            &moved(BOB, "Bob"),
            RuleName::OwnMoveRedirect,
            Action::DeleteRedirect,
            Tier::Extended,
        );
        assert_eq!(o.outcome, Outcome::Fail);
        let mut facts = moved(ALICE, "Alice");
        facts
            .revisions
            .push(rev(2, ALICE, hours_ago(1), "#REDIRECT [[Other]]"));
        let o = run(
            &facts,
            RuleName::OwnMoveRedirect,
            Action::DeleteRedirect,
            Tier::Extended,
        );
        assert_eq!(o.outcome, Outcome::Fail);
        let mut facts = moved(ALICE, "Alice");
        facts.log_events[0].move_target = Some("Elsewhere".into());
        let o = run(
            &facts,
            RuleName::OwnMoveRedirect,
            Action::DeleteRedirect,
            Tier::Extended,
        );
        assert_eq!(o.outcome, Outcome::Fail);
    }
}
