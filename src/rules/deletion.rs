//! Rules about deletions: `page_exists`, `previously_deleted`, `own_deletion`,
//! `irreversible`, and which deleted revisions an undeletion would restore.

use super::{
    on_behalf_of, same_user, Action, Context, Evidence, Outcome, RuleName, RuleOutcome, Scope, Tier,
};
use crate::facts::{LogEvent, PageFacts, Revision};
use crate::policy::Window;
use crate::when::format_duration;

fn is_deletion(event: &LogEvent) -> bool {
    event.kind == "delete" && event.action == "delete"
}

/// The latest deletion of the title and the one before it.
fn last_two_deletions(facts: &PageFacts) -> (Option<&LogEvent>, Option<&LogEvent>) {
    let mut deletions = facts.log_events.iter().filter(|e| is_deletion(e)).rev();
    (deletions.next(), deletions.next())
}

/// The deleted revisions the latest deletion removed: those saved after the
/// deletion before it. If something was restored in between, the bot cannot tell
/// which revisions the latest deletion removed, and says so.
pub fn restorable(facts: &PageFacts) -> Scope<'_> {
    let revisions = (|| {
        let deleted = facts
            .deleted_revisions
            .as_ref()
            .ok_or("the bot cannot read deleted revisions (its account needs `deletedhistory`)")?;
        let (Some(last), previous) = last_two_deletions(facts) else {
            return Err("no deletion of this title is logged");
        };
        if let Some(previous) = previous {
            let restored_between = facts.log_events.iter().any(|e| {
                e.kind == "delete"
                    && e.action == "restore"
                    && e.timestamp > previous.timestamp
                    && e.timestamp <= last.timestamp
            });
            if restored_between {
                return Err("an earlier deletion was restored in part or whole, so the bot cannot tell which revisions the last deletion removed");
            }
        }
        let chosen: Vec<&Revision> = deleted
            .iter()
            .filter(|r| r.timestamp <= last.timestamp)
            .filter(|r| previous.is_none_or(|p| r.timestamp > p.timestamp))
            .collect();
        if chosen.is_empty() {
            return Err("no deleted revision belongs to the last deletion");
        }
        Ok(chosen)
    })();
    Scope {
        revisions: revisions.map_err(str::to_string),
    }
}

/// A deletion needs a page; an undeletion needs deleted revisions and a free title.
pub fn page_exists(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::PageExists;
    let facts = ctx.facts;
    match ctx.request.action {
        Action::Delete | Action::DeleteRedirect => {
            if facts.exists {
                RuleOutcome::new(
                    rule,
                    Outcome::Pass,
                    format!(
                        "`{}` exists (page id {}, latest revision {})",
                        facts.title,
                        facts.page_id.unwrap_or(0),
                        facts.latest_revid.unwrap_or(0)
                    ),
                )
            } else {
                RuleOutcome::new(rule, Outcome::Fail, format!("`{}` does not exist: there is nothing to delete", facts.title))
            }
        }
        Action::Undelete => match &facts.deleted_revisions {
            _ if facts.exists => RuleOutcome::new(
                rule,
                Outcome::Fail,
                format!("a page exists at `{}` now: undeleting would merge two histories, which needs an administrator", facts.title),
            ),
            None => RuleOutcome::new(rule, Outcome::Unknown, "the bot cannot read deleted revisions (its account needs `deletedhistory`)"),
            Some(deleted) if deleted.is_empty() => {
                RuleOutcome::new(rule, Outcome::Fail, format!("nothing is deleted at `{}`", facts.title))
            }
            Some(deleted) => RuleOutcome::new(
                rule,
                Outcome::Pass,
                format!("`{}` is deleted, with {} deleted revision(s)", facts.title, deleted.len()),
            ),
        },
    }
}

/// "If there is a deletion request with previously deleted revisions, it will be
/// made but it will be flagged for urgent review by a live administrator."
pub fn previously_deleted(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::PreviouslyDeleted;
    match &ctx.facts.deleted_revisions {
        None => RuleOutcome::new(
            rule,
            Outcome::Unknown,
            "the bot cannot read deleted revisions (its account needs `deletedhistory`), so it cannot tell whether this page was deleted before",
        ),
        Some(deleted) if deleted.is_empty() => {
            RuleOutcome::new(rule, Outcome::Pass, "no earlier revisions of this title are deleted")
        }
        Some(deleted) => RuleOutcome::new(
            rule,
            Outcome::Flag,
            format!(
                "{} earlier revision(s) of this title are deleted: the action goes ahead but is flagged for urgent review by an administrator",
                deleted.len()
            ),
        )
        .with(Evidence::of_revisions(deleted)),
    }
}

/// "No undeletion of material the requesting author didn't himself delete." and
/// "No undeletion of material deleted by any other editor or bot or by the bot on
/// behalf of any other editor."
pub fn own_deletion(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::OwnDeletion;
    let facts = ctx.facts;
    let requester = &ctx.request.requester.name;
    let (Some(deletion), _) = last_two_deletions(facts) else {
        return RuleOutcome::new(rule, Outcome::Fail, "no deletion of this title is logged");
    };
    let evidence = Evidence {
        log_ids: vec![deletion.id],
        timestamps: vec![deletion.timestamp],
        ..Evidence::default()
    };
    let performer = deletion.user.as_deref().unwrap_or("(hidden)");
    if !same_user(performer, &ctx.policy.bot) {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "the last deletion was made by `{performer}`, not by this bot for `{requester}`"
            ),
        )
        .with(evidence);
    }
    match deletion.comment.as_deref().and_then(on_behalf_of) {
        Some(who) if same_user(who, requester) => {}
        Some(who) => {
            return RuleOutcome::new(
                rule,
                Outcome::Fail,
                format!("the bot deleted this for `{who}`, not for `{requester}`"),
            )
            .with(evidence)
        }
        None => {
            return RuleOutcome::new(
                rule,
                Outcome::Fail,
                "the bot's deletion does not name whom it was for",
            )
            .with(evidence)
        }
    }
    let since: Vec<&LogEvent> = facts
        .log_events
        .iter()
        // Log ids grow, so within one second the id tells what came after.
        .filter(|e| (e.timestamp, e.id) > (deletion.timestamp, deletion.id))
        .collect();
    if let Some(first) = since.first() {
        return RuleOutcome::new(
            rule,
            Outcome::Fail,
            format!(
                "`{}` acted on this title after the bot's deletion ({}/{}): an administrator may have reviewed it",
                first.user.as_deref().unwrap_or("(hidden)"),
                first.kind,
                first.action
            ),
        )
        .with(Evidence {
            log_ids: since.iter().map(|e| e.id).collect(),
            timestamps: since.iter().map(|e| e.timestamp).collect(),
            ..Evidence::default()
        });
    }
    match ctx.policy.window(facts.namespace, Action::Undelete) {
        None => RuleOutcome::new(
            rule,
            Outcome::Unknown,
            format!(
                "the policy sets no undelete window for namespace {}",
                facts.namespace
            ),
        ),
        Some(Window::Within(limit)) if deletion.timestamp < ctx.request.now - limit => {
            RuleOutcome::new(
                rule,
                Outcome::Fail,
                format!(
                    "the bot deleted this for `{requester}` {} ago, past the {} undelete window",
                    format_duration(ctx.request.now - deletion.timestamp),
                    Window::Within(limit)
                ),
            )
            .with(evidence)
        }
        Some(_) => RuleOutcome::new(
            rule,
            Outcome::Pass,
            format!("the bot deleted this for `{requester}` and nobody has acted on it since"),
        )
        .with(evidence),
    }
}

/// "Any deletion that cannot be undone by the bot will not be done until the
/// editor has been warned and confirms the action."
pub fn irreversible(ctx: &Context) -> RuleOutcome {
    let rule = RuleName::Irreversible;
    let confirm = |why: String| RuleOutcome::new(rule, Outcome::Confirm, why);
    match (ctx.request.tier, ctx.request.action) {
        (Tier::NotSelf, _) => {
            return confirm(
                "the bot cannot undo a not-self deletion: only an administrator could restore it"
                    .into(),
            )
        }
        (Tier::Extended, _) | (_, Action::DeleteRedirect) => {
            return confirm(
                "the bot does not restore deleted redirects: only an administrator could".into(),
            )
        }
        (Tier::RetiredAdmin, _) => {
            return RuleOutcome::new(
                rule,
                Outcome::Pass,
                "a retired administrator can undo this with `adminibot undelete`",
            )
        }
        _ => {}
    }
    let ns = ctx.facts.namespace;
    let revisions = ctx.scope.revisions.as_deref().unwrap_or(&[]);
    match ctx.policy.window(ns, Action::Undelete) {
        Some(Window::Unlimited) => RuleOutcome::new(
            rule,
            Outcome::Pass,
            "the requester can undo this with `adminibot undelete` at any time",
        ),
        Some(Window::Within(limit)) => {
            let too_old: Vec<&Revision> = revisions
                .iter()
                .copied()
                .filter(|r| r.timestamp < ctx.request.now - limit)
                .collect();
            if too_old.is_empty() {
                RuleOutcome::new(
                    rule,
                    Outcome::Pass,
                    format!("the requester can undo this with `adminibot undelete` for a while: edits stay undeletable until they are {} old", Window::Within(limit)),
                )
            } else {
                confirm(format!(
                    "the bot could not undo this: {} edit(s) are already older than the {} undelete window of namespace {ns}",
                    too_old.len(),
                    Window::Within(limit)
                ))
                .with(Evidence::of_revisions(too_old))
            }
        }
        None => confirm(format!(
            "the bot could not undo this: the policy sets no undelete window for namespace {ns}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::{evaluate, Decision, Request};
    use super::*;

    const FOR_ALICE: &str =
        "On behalf of [[User:Alice|Alice]] (adminibot tier self, request x): oops";

    fn run(facts: &PageFacts, request: &Request, rule: RuleName) -> RuleOutcome {
        evaluate(facts, request, &policy())
            .outcome_of(rule)
            .unwrap()
            .clone()
    }

    fn deleted_user_page(deleted_by: &str, reason: &str, hours: i64) -> PageFacts {
        let mut facts = PageFacts::missing("User:Alice/Notes", 2);
        facts.deleted_revisions = Some(vec![
            rev(1, ALICE, hours_ago(hours + 2), "a"),
            rev(2, ALICE, hours_ago(hours + 1), "b"),
        ]);
        facts.log_events = vec![log(
            9,
            "delete",
            "delete",
            deleted_by,
            hours_ago(hours),
            reason,
        )];
        facts
    }

    /// "If there is a deletion request with previously deleted revisions, it will be
    /// made but it will be flagged for urgent review by a live administrator."
    #[test]
    fn previously_deleted_revisions_flag_but_allow() {
        let mut facts = page(vec![rev(5, ALICE, minutes_ago(2), "new")]);
        facts.deleted_revisions = Some(vec![rev(1, ALICE, hours_ago(30), "old")]);
        facts.log_events = vec![log(
            3,
            "delete",
            "delete",
            "AdminBot",
            hours_ago(20),
            FOR_ALICE,
        )];
        let verdict = evaluate(&facts, &request(Action::Delete, Tier::Own), &policy());
        let o = verdict.outcome_of(RuleName::PreviouslyDeleted).unwrap();
        assert_eq!(o.outcome, Outcome::Flag);
        assert_eq!(o.evidence.revisions, vec![1]);
        assert!(verdict.flagged());
        assert_eq!(verdict.decision(), Decision::Allowed, "{verdict:#?}");
    }

    #[test]
    fn unreadable_deleted_revisions_are_doubt() {
        let mut facts = page(vec![rev(5, ALICE, hours_ago(2), "new")]);
        facts.deleted_revisions = None;
        let o = run(
            &facts,
            &request(Action::Delete, Tier::Own),
            RuleName::PreviouslyDeleted,
        );
        assert_eq!(o.outcome, Outcome::Unknown);
    }

    /// "No undeletion of material the requesting author didn't himself delete."
    #[test]
    fn own_deletion_passes_for_the_bots_deletion_for_the_requester() {
        let facts = deleted_user_page("AdminBot", FOR_ALICE, 12);
        let verdict = evaluate(&facts, &request(Action::Undelete, Tier::Own), &policy());
        assert_eq!(verdict.decision(), Decision::Allowed, "{verdict:#?}");
    }

    /// "No undeletion of material deleted by any other editor or bot"
    #[test]
    fn own_deletion_fails_for_an_admins_deletion() {
        let facts = deleted_user_page("Admin", "U1", 12);
        let o = run(
            &facts,
            &request(Action::Undelete, Tier::Own),
            RuleName::OwnDeletion,
        );
        assert_eq!(o.outcome, Outcome::Fail);
        assert!(o.reason.contains("`Admin`"), "{}", o.reason);
        assert_eq!(o.evidence.log_ids, vec![9]);
    }

    /// "...or by the bot on behalf of any other editor."
    #[test]
    fn own_deletion_fails_for_the_bots_deletion_for_someone_else() {
        let facts = deleted_user_page("AdminBot", FOR_ALICE, 12);
        let o = run(
            &facts,
            &request_by(BOB, Action::Undelete, Tier::Own),
            RuleName::OwnDeletion,
        );
        assert_eq!(o.outcome, Outcome::Fail);
        assert!(
            o.reason.contains("for `Alice`, not for `Bob`"),
            "{}",
            o.reason
        );
    }

    /// "Should an administrator reviewing the deleted material discover copyright
    /// violations, he can make a null edit or equivalent, which will prevent the bot
    /// from un-deleting the material even if the user asks it to."
    #[test]
    fn any_later_log_entry_blocks_undeletion() {
        let mut facts = deleted_user_page("AdminBot", FOR_ALICE, 12);
        facts.log_events.push(log(
            10,
            "delete",
            "revision",
            "Admin",
            hours_ago(6),
            "copyvio",
        ));
        let o = run(
            &facts,
            &request(Action::Undelete, Tier::Own),
            RuleName::OwnDeletion,
        );
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.evidence.log_ids, vec![10]);
    }

    /// "In user space it may be ... "a few days" for un-deletion."
    #[test]
    fn own_deletion_fails_after_the_undelete_window() {
        let facts = deleted_user_page("AdminBot", FOR_ALICE, 24 * 4);
        let o = run(
            &facts,
            &request(Action::Undelete, Tier::Own),
            RuleName::OwnDeletion,
        );
        assert_eq!(o.outcome, Outcome::Fail);
        assert!(
            o.reason.contains("past the 3d undelete window"),
            "{}",
            o.reason
        );
    }

    /// A page created and deleted within the same second: its creation is not
    /// "after" the deletion (regression: found by the benchmark).
    #[test]
    fn entries_in_the_same_second_are_ordered_by_log_id() {
        let mut facts = deleted_user_page("AdminBot", FOR_ALICE, 12);
        facts
            .log_events
            .insert(0, log(8, "create", "create", "Alice", hours_ago(12), ""));
        let o = run(
            &facts,
            &request(Action::Undelete, Tier::Own),
            RuleName::OwnDeletion,
        );
        assert_eq!(o.outcome, Outcome::Pass, "{o:?}");
        facts
            .log_events
            .push(log(10, "delete", "revision", "Admin", hours_ago(12), "x"));
        let o = run(
            &facts,
            &request(Action::Undelete, Tier::Own),
            RuleName::OwnDeletion,
        );
        assert_eq!(o.outcome, Outcome::Fail, "{o:?}");
    }

    #[test]
    fn undelete_needs_a_free_title() {
        let mut facts = deleted_user_page("AdminBot", FOR_ALICE, 12);
        facts.exists = true;
        let o = run(
            &facts,
            &request(Action::Undelete, Tier::Own),
            RuleName::PageExists,
        );
        assert_eq!(o.outcome, Outcome::Fail);
    }

    #[test]
    fn restorable_takes_only_the_last_deletions_revisions() {
        let mut facts = deleted_user_page("AdminBot", FOR_ALICE, 12);
        let mut deleted = vec![rev(20, BOB, hours_ago(100), "bob's")];
        deleted.extend(facts.deleted_revisions.take().unwrap());
        facts.deleted_revisions = Some(deleted);
        facts
            .log_events
            .insert(0, log(4, "delete", "delete", "Admin", hours_ago(90), "G7"));
        let scope = restorable(&facts);
        let ids: Vec<u64> = scope.revisions.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![1, 2]);
        facts
            .log_events
            .insert(1, log(5, "delete", "restore", "Admin", hours_ago(80), ""));
        assert!(restorable(&facts).revisions.is_err());
    }

    /// "Deletions requiring "not self" permissions are not available for
    /// un-deletion. ... The bot will warn the editor that is requesting deletion
    /// that his action cannot be undone."
    #[test]
    fn not_self_deletions_need_confirmation() {
        let facts = page(vec![rev(1, CAROL, hours_ago(2), "{{db-author}} x")]);
        let o = run(
            &facts,
            &request(Action::Delete, Tier::NotSelf),
            RuleName::Irreversible,
        );
        assert_eq!(o.outcome, Outcome::Confirm);
    }

    /// "Any deletion that cannot be undone by the bot will not be done until the
    /// editor has been warned and confirms the action."
    #[test]
    fn self_deletions_past_the_undelete_window_need_confirmation() {
        let facts = page(vec![rev(1, ALICE, hours_ago(2), "x")]);
        let o = run(
            &facts,
            &request(Action::Delete, Tier::Own),
            RuleName::Irreversible,
        );
        assert_eq!(
            o.outcome,
            Outcome::Confirm,
            "main space undelete window is 10m"
        );
        let fresh = page(vec![rev(1, ALICE, minutes_ago(2), "x")]);
        let o = run(
            &fresh,
            &request(Action::Delete, Tier::Own),
            RuleName::Irreversible,
        );
        assert_eq!(o.outcome, Outcome::Pass);
    }
}
