//! Rules about tags: `never_copyvio` and `tagged_for_deletion`.

use super::authorship::sole_author;
use super::{same_user, Context, Evidence, Outcome, RuleName, RuleOutcome};
use crate::facts::Revision;

/// The names of the templates a piece of wikitext calls, as written
/// (`{{ subst:Db-author|x}}` gives `Db-author`). Parser functions are skipped.
pub fn template_calls(wikitext: &str) -> impl Iterator<Item = &str> {
    wikitext.split("{{").skip(1).filter_map(|rest| {
        let end = rest.find(['|', '}', '\n', '{']).unwrap_or(rest.len());
        let mut name = rest[..end].trim();
        while let Some(prefix) = ["subst:", "safesubst:", "msg:", "template:"]
            .iter()
            .find(|p| {
                name.get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
            })
        {
            name = name[prefix.len()..].trim();
        }
        (!name.is_empty() && !name.starts_with('#')).then_some(name)
    })
}

/// Whether two template names are the same page.
pub fn same_template(a: &str, b: &str) -> bool {
    super::same_title(a, b)
}

/// A family of templates (copyvio tags, author requests), ready for fast lookups.
struct Family(std::collections::HashSet<String>);

impl Family {
    fn new(names: &[String]) -> Self {
        Family(names.iter().map(|n| super::comparable(n)).collect())
    }

    fn contains(&self, name: &str) -> bool {
        self.0.contains(&super::comparable(name))
    }

    /// The first template of the family the wikitext calls.
    fn called_in(&self, wikitext: &str) -> Option<String> {
        template_calls(wikitext)
            .find(|name| self.contains(name))
            .map(str::to_string)
    }
}

/// "The page in question never had a {{db-copyvio}} or similar tag on it as far as
/// the bot can tell."
pub fn never_copyvio(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::NeverCopyvio;
    let family = Family::new(&ctx.policy.templates.copyvio);
    let Some(deleted) = &ctx.facts.deleted_revisions else {
        return RuleOutcome::new(
            rule,
            Outcome::Unknown,
            "the bot cannot read deleted revisions, so it cannot tell whether one carried a copyvio tag",
        );
    };
    let all: Vec<&Revision> = ctx.facts.revisions.iter().chain(deleted).collect();
    let hidden: Vec<&Revision> = all
        .iter()
        .copied()
        .filter(|r| r.content.is_none())
        .collect();
    let tagged: Vec<(&Revision, String)> = all
        .iter()
        .filter_map(|r| {
            r.content
                .as_deref()
                .and_then(|c| family.called_in(c))
                .map(|t| (*r, t))
        })
        .collect();
    if let Some((first, name)) = tagged.first() {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "revision {} carried `{{{{{name}}}}}`: copyright problems need an administrator",
                first.id
            ),
        )
        .with(Evidence::of_revisions(tagged.iter().map(|(r, _)| *r)));
    }
    if let Some(name) = ctx.facts.templates.iter().find(|t| family.contains(t)) {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!("the page transcludes `Template:{name}`, a copyvio tag"),
        );
    }
    if !hidden.is_empty() {
        return RuleOutcome::new(
            rule,
            Outcome::Unknown,
            format!("the text of {} revision(s) is hidden, so the bot cannot tell whether they carried a copyvio tag", hidden.len()),
        )
        .with(Evidence::of_revisions(hidden));
    }
    RuleOutcome::new(
        rule,
        Outcome::Pass,
        format!("none of {} revision(s) carried a copyvio tag", all.len()),
    )
}

/// "The page must be tagged in a way that the bot clearly knows that the single
/// author is requesting deletion. In some cases blanking a page and leaving it
/// blank for a specified period of time qualfies as a request for deletion."
pub fn tagged_for_deletion(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::TaggedForDeletion;
    let author = match sole_author(ctx) {
        Ok((author, _)) => author.clone(),
        Err(_) => {
            return RuleOutcome::new(
                rule,
                Outcome::Unknown,
                "the page has no single author, so no tag can be the author's request",
            )
        }
    };
    let names = &ctx.policy.templates.author_request;
    let family = Family::new(names);
    let revisions = &ctx.facts.revisions;
    let Some(latest) = revisions.last() else {
        return RuleOutcome::new(rule, Outcome::Unknown, "the page has no revisions");
    };
    let Some(text) = latest.content.as_deref() else {
        return RuleOutcome::new(
            rule,
            Outcome::Unknown,
            "the text of the latest revision is hidden",
        );
    };
    if let Some(name) = family.called_in(text) {
        // The tag's author is whoever saved the first revision of the latest run carrying it.
        let tagger = revisions
            .iter()
            .rev()
            .take_while(|r| {
                r.content
                    .as_deref()
                    .is_some_and(|c| family.called_in(c).is_some())
            })
            .last()
            .unwrap_or(latest);
        let who = tagger.user.as_deref().unwrap_or("(hidden)");
        let evidence = Evidence::of_revisions([tagger]);
        return if same_user(who, &author) {
            RuleOutcome::new(
                rule,
                Outcome::Pass,
                format!(
                    "the author `{author}` tagged it `{{{{{name}}}}}` in revision {}",
                    tagger.id
                ),
            )
            .with(evidence)
        } else {
            RuleOutcome::new(
                rule,
                Outcome::Fail,
                format!("`{{{{{name}}}}}` was added by `{who}` in revision {}, not by the author `{author}`", tagger.id),
            )
            .with(evidence)
        };
    }
    if let Some(after) = ctx.policy.blank_request_after {
        if latest.size == 0
            && latest
                .user
                .as_deref()
                .is_some_and(|u| same_user(u, &author))
            && latest.timestamp <= ctx.request.now - after
        {
            return RuleOutcome::new(
                rule,
                Outcome::Pass,
                format!(
                    "the author `{author}` blanked the page in revision {} and it has stayed blank for over {}",
                    latest.id,
                    crate::when::format_duration(after)
                ),
            )
            .with(Evidence::of_revisions([latest]));
        }
    }
    RuleOutcome::new(
        rule,
        Outcome::Fail,
        format!(
            "the page carries no author-request tag (one of {})",
            names
                .iter()
                .map(|t| format!("`{{{{{t}}}}}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{evaluate, Action, Tier};
    use super::*;
    use crate::facts::PageFacts;

    fn run(facts: &PageFacts, tier: Tier, rule: RuleName) -> RuleOutcome {
        let verdict = evaluate(facts, &request(Action::Delete, tier), &policy());
        verdict.outcome_of(rule).unwrap().clone()
    }

    #[test]
    fn template_calls_are_found_with_prefixes_and_spacing() {
        let text = "{{ subst:db_author |x}} {{#if:a|b}} {{Template:Db-g12}}\n{{copyvio}}";
        let names: Vec<&str> = template_calls(text).collect();
        assert_eq!(names, vec!["db_author", "Db-g12", "copyvio"]);
        assert!(
            same_template("db_author", "Db author") && !same_template("Db-author", "Db-authors")
        );
        assert!(same_template("Db  author", "db author"));
    }

    /// "The page in question never had a {{db-copyvio}} or similar tag on it as far
    /// as the bot can tell."
    #[test]
    fn a_copyvio_tag_in_an_old_revision_fails() {
        let facts = page(vec![
            rev(
                1,
                ALICE,
                minutes_ago(9),
                "{{db-copyvio|url=http://example.org}}\nCopied.",
            ),
            rev(2, ALICE, minutes_ago(5), "Rewritten."),
        ]);
        let o = run(&facts, Tier::Own, RuleName::NeverCopyvio);
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.evidence.revisions, vec![1]);
    }

    /// "...never had a {{db-copyvio}} or similar tag on it" — deleted revisions count.
    #[test]
    fn a_copyvio_tag_in_a_deleted_revision_fails() {
        let mut facts = page(vec![rev(2, ALICE, minutes_ago(5), "Clean.")]);
        facts.deleted_revisions = Some(vec![rev(1, ALICE, hours_ago(9), "{{Copyvio}}")]);
        assert_eq!(
            run(&facts, Tier::Own, RuleName::NeverCopyvio).outcome,
            Outcome::Fail
        );
    }

    #[test]
    fn clean_histories_pass_and_hidden_text_is_doubt() {
        let mut facts = page(vec![rev(
            1,
            ALICE,
            minutes_ago(5),
            "Clean {{cite web|url=x}}.",
        )]);
        assert_eq!(
            run(&facts, Tier::Own, RuleName::NeverCopyvio).outcome,
            Outcome::Pass
        );
        facts.revisions[0].content = None;
        assert_eq!(
            run(&facts, Tier::Own, RuleName::NeverCopyvio).outcome,
            Outcome::Unknown
        );
    }

    /// "The page must be tagged in a way that the bot clearly knows that the single
    /// author is requesting deletion."
    #[test]
    fn the_authors_own_tag_passes() {
        let facts = page(vec![
            rev(1, CAROL, hours_ago(5), "Text."),
            rev(2, CAROL, hours_ago(4), "{{db-author}}\nText."),
        ]);
        let o = run(&facts, Tier::NotSelf, RuleName::TaggedForDeletion);
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
        assert_eq!(o.evidence.revisions, vec![2]);
    }

    /// "...that the single author is requesting deletion" — a tag someone else
    /// added is not the author's request.
    #[test]
    fn a_tag_added_by_someone_else_fails() {
        let facts = page(vec![
            rev(1, CAROL, hours_ago(5), "Text."),
            rev(2, MAINTBOT, hours_ago(4), "{{db-g7}}\nText."),
        ]);
        let o = run(&facts, Tier::NotSelf, RuleName::TaggedForDeletion);
        assert_eq!(o.outcome, Outcome::Fail, "{o:?}");
        assert!(o.reason.contains("`MaintBot`"), "{}", o.reason);
    }

    #[test]
    fn an_untagged_page_fails() {
        let facts = page(vec![rev(1, CAROL, hours_ago(5), "Text.")]);
        let o = run(&facts, Tier::NotSelf, RuleName::TaggedForDeletion);
        assert_eq!(o.outcome, Outcome::Fail);
    }

    /// "In some cases blanking a page and leaving it blank for a specified period
    /// of time qualfies as a request for deletion."
    #[test]
    fn blanking_counts_only_when_the_policy_says_so_and_long_enough() {
        let facts = page(vec![
            rev(1, CAROL, hours_ago(30), "Text."),
            rev(2, CAROL, hours_ago(25), ""),
        ]);
        let mut policy = policy();
        let check = |policy: &crate::policy::Policy| {
            let verdict = evaluate(&facts, &request(Action::Delete, Tier::NotSelf), policy);
            verdict
                .outcome_of(RuleName::TaggedForDeletion)
                .unwrap()
                .outcome
        };
        assert_eq!(check(&policy), Outcome::Fail);
        policy.blank_request_after = Some(chrono::Duration::hours(24));
        assert_eq!(check(&policy), Outcome::Pass);
        policy.blank_request_after = Some(chrono::Duration::hours(48));
        assert_eq!(check(&policy), Outcome::Fail);
    }
}
