//! Rules about tags: `never_copyvio` and `tagged_for_deletion`.

use super::authorship::sole_author;
use super::{same_user, Context, Evidence, Outcome, RuleName, RuleOutcome};
use crate::facts::Revision;

/// The templates a piece of wikitext calls, as the wiki's parser would see
/// them, names without the namespace and with spaces for underscores:
/// `{{ subst:Db_author |x}}`, `{{Template:db-author<!-- -->}}` and
/// `{{:Template:Db-author}}` all give `Db-author`'s spelling as written.
///
/// Comments and `<nowiki>`/`<pre>` blocks are removed first, as the wiki's
/// preprocessor does; `subst:`, `safesubst:`, `msg:`, `msgnw:` and `raw:`
/// prefixes are dropped; `{{:Name}}` (a page of the main namespace), parser
/// functions (`{{#if:…}}`), parameters (`{{{1}}}`) and names built by other
/// templates are no calls of a template.
pub fn template_calls(wikitext: &str) -> Vec<String> {
    let text = without_comments_and_nowiki(wikitext);
    let mut calls = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("{{") {
        let braces = rest[at..].bytes().take_while(|b| *b == b'{').count();
        rest = &rest[at + braces..];
        // `{{{…}}}` is a parameter; in longer runs the last two open a call.
        if braces == 3 {
            continue;
        }
        let end = rest.find(['|', '}', '{']).unwrap_or(rest.len());
        if rest[end..].starts_with('{') {
            continue;
        }
        if let Some(name) = template_name(&rest[..end]) {
            calls.push(name);
        }
    }
    calls
}

/// The template a call's name part names, if it names one.
fn template_name(raw: &str) -> Option<String> {
    let mut name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    name = name.replace('_', " ").trim().to_string();
    while let Some(prefix) = ["subst:", "safesubst:", "msgnw:", "msg:", "raw:"]
        .iter()
        .find(|p| {
            name.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        })
    {
        name = name[prefix.len()..].trim().to_string();
    }
    if name.starts_with('#') {
        return None;
    }
    // `{{:X}}` transcludes the main namespace page `X`, unless X names its
    // namespace itself (`{{:Template:X}}`).
    let (main_namespace, name) = match name.strip_prefix(':') {
        Some(rest) => (true, rest.trim()),
        None => (false, name.as_str()),
    };
    let in_template_namespace = name.split_once(':').and_then(|(namespace, rest)| {
        namespace
            .trim()
            .eq_ignore_ascii_case("template")
            .then(|| rest.trim())
    });
    let name = match in_template_namespace {
        Some(rest) => rest,
        None if main_namespace => return None,
        None => name,
    };
    (!name.is_empty()).then(|| name.to_string())
}

/// `wikitext` without `<!-- comments -->` (an unclosed one runs to the end)
/// and without `<nowiki>` and `<pre>` blocks, whose braces call nothing.
fn without_comments_and_nowiki(wikitext: &str) -> String {
    let mut out = String::with_capacity(wikitext.len());
    let mut rest = wikitext;
    loop {
        let lower = rest.to_ascii_lowercase();
        let next = ["<!--", "<nowiki", "<pre"]
            .iter()
            .filter_map(|open| lower.find(open).map(|at| (at, *open)))
            .min();
        let Some((at, open)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let after = &lower[at..];
        let skip = match open {
            "<!--" => after.find("-->").map(|end| end + 3),
            tag => {
                let closing = format!("</{}", &tag[1..]);
                match after.find('>') {
                    // `<nowiki/>` closes itself.
                    Some(end) if after[..end].ends_with('/') => Some(end + 1),
                    Some(_) => after
                        .find(&closing)
                        .map(|end| end + after[end..].find('>').map_or(closing.len(), |g| g + 1)),
                    None => None,
                }
            }
        };
        match skip {
            Some(skip) => rest = &rest[at + skip..],
            None => return out,
        }
    }
}

/// Whether two template names are the same page.
pub fn same_template(a: &str, b: &str) -> bool {
    super::same_title(a, b)
}

/// A family of templates (copyvio tags, author requests), ready for fast lookups.
struct Family(std::collections::HashSet<String>);

impl Family {
    /// The templates `names`, and the wiki's redirects to them.
    fn new(names: &[String], redirects: &[(String, String)]) -> Self {
        let mut family: std::collections::HashSet<String> =
            names.iter().map(|n| super::comparable(n)).collect();
        let to_family: Vec<String> = redirects
            .iter()
            .filter(|(_, target)| family.contains(&super::comparable(target)))
            .map(|(redirect, _)| super::comparable(redirect))
            .collect();
        family.extend(to_family);
        Family(family)
    }

    fn contains(&self, name: &str) -> bool {
        self.0.contains(&super::comparable(name))
    }

    /// The first template of the family the wikitext calls.
    fn called_in(&self, wikitext: &str) -> Option<String> {
        template_calls(wikitext)
            .into_iter()
            .find(|name| self.contains(name))
    }
}

/// "The page in question never had a {{db-copyvio}} or similar tag on it as far as
/// the bot can tell."
pub fn never_copyvio(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::NeverCopyvio;
    let family = Family::new(
        &ctx.policy.templates.copyvio,
        &ctx.policy.templates.redirects,
    );
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
    let family = Family::new(names, &ctx.policy.templates.redirects);
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
        assert_eq!(template_calls(text), ["db author", "Db-g12", "copyvio"]);
        assert!(
            same_template("db_author", "Db author") && !same_template("Db-author", "Db-authors")
        );
        assert!(same_template("Db  author", "db author"));
    }

    /// Every way of writing a call that the wiki's parser reads as the template
    /// itself (issue 10 #9), and the look-alikes that call nothing.
    #[test]
    fn template_calls_are_parsed_as_the_wiki_parses_them() {
        for text in [
            "{{Copyvio<!-- -->}}",
            "{{ copyvio |url=x}}",
            "{{:Template:Copyvio}}",
            "{{template:copyvio}}",
            "{{TEMPLATE : Copyvio}}",
            "{{\n  Copy<!-- a\ncomment -->vio\n|x}}",
            "{{subst:Copyvio}}",
            "{{ safesubst: Template:copyvio }}",
            "{{msgnw:Copyvio}}",
            "{{{{Copyvio}}}}",
            "{{Copyvio_}}",
            "{{#if:{{Copyvio}}|}}",
        ] {
            let calls = template_calls(text);
            assert!(
                calls.len() == 1 && same_template(&calls[0], "Copyvio"),
                "{text:?} gave {calls:?}"
            );
        }
        for text in [
            "{{:Copyvio}}",
            "{{{Copyvio}}}",
            "<!-- {{Copyvio}} -->",
            "<nowiki>{{Copyvio}}</nowiki>",
            "<pre>{{Copyvio}}</pre>",
            "{{Copy{{x}}vio}}",
            "{{User:Copyvio}}",
            "<!-- unclosed {{Copyvio}}",
        ] {
            let calls = template_calls(text);
            assert!(
                !calls.iter().any(|c| same_template(c, "Copyvio")),
                "{text:?} gave {calls:?}"
            );
        }
        assert_eq!(
            template_calls("<nowiki/>{{Copyvio}}"),
            ["Copyvio"],
            "a self-closed nowiki hides nothing"
        );
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
