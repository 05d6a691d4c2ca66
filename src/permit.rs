//! The one gate before any bot write: [`bot_may_write`] clears the bot to
//! write now (its identity, the stop switch, the shutoff page, the clock), and
//! only a cleared bot with grounds (an allowed decision, or an administrator's
//! rollback) gets a [`Permit`]. Every bot write in [`crate::wiki::actions`]
//! takes the permit by value and hands it back only when the wiki accepted the
//! write: nothing can write for a request after a failed or unknown write, and
//! nothing can write without one.

use crate::error::Error;
use crate::facts::Timestamp;
use crate::rules::{Decision, Verdict};
use crate::session::Session;
use crate::store::Store;
use crate::wiki::actions::{self, ShutoffRevision};
use crate::wiki::BotWiki;
use std::collections::BTreeMap;

/// The bot may write now: every check of [`bot_may_write`] passed. Only that
/// function makes one.
#[derive(Debug)]
pub struct Cleared {
    shutoff: ShutoffRevision,
}

impl Cleared {
    /// The shutoff page's revision that allowed it; the guard right before the
    /// write checks it is still the latest.
    pub fn shutoff(&self) -> &ShutoffRevision {
        &self.shutoff
    }
}

/// Why the bot writes for a request.
#[derive(Debug, Clone, Copy)]
pub enum Grounds<'a> {
    /// The rules and the authority gate allowed it; one that needs confirmation
    /// counts only once confirmed.
    Verdict {
        /// The request's verdict.
        verdict: &'a Verdict,
        /// Whether the requester confirmed (`--yes`, or at a terminal).
        confirmed: bool,
    },
    /// An administrator rolls back the bot's own earlier actions.
    Rollback {
        /// The administrator's groups, as the wiki says now.
        groups: &'a [String],
    },
    /// Urgent reviews the bot's own deletions made due (each deletion had
    /// its permit); the post asks administrators to look at them.
    Reviews {
        /// How many titles the post names.
        titles: usize,
    },
}

/// Leave for the bot to write for one request. Neither `Clone` nor `Copy`:
/// each bot write takes it by value and returns it with a result the wiki
/// accepted.
#[derive(Debug)]
#[must_use = "a permit is for a bot write; dropping it writes nothing"]
pub struct Permit {
    shutoff: ShutoffRevision,
    request_id: String,
}

impl Permit {
    /// A permit for `request_id`, if the bot is cleared and the grounds hold.
    pub fn issue(
        cleared: Cleared,
        grounds: Grounds<'_>,
        request_id: &str,
    ) -> Result<Permit, String> {
        match grounds {
            Grounds::Verdict { verdict, confirmed } => match verdict.decision() {
                Decision::Allowed => {}
                Decision::NeedsConfirmation if confirmed => {}
                Decision::NeedsConfirmation => {
                    return Err("the bot could not undo this; confirm with `--yes`".into())
                }
                Decision::Refused => return Err("the request was refused".into()),
            },
            Grounds::Rollback { groups } => {
                crate::authority::may_act_as_administrator(groups, "roll back the bot's actions")?;
            }
            Grounds::Reviews { titles: 0 } => return Err("no review is due".into()),
            Grounds::Reviews { .. } => {}
        }
        Ok(Permit {
            shutoff: cleared.shutoff,
            request_id: request_id.to_string(),
        })
    }

    /// The shutoff page's revision the bot was cleared with.
    pub fn shutoff(&self) -> &ShutoffRevision {
        &self.shutoff
    }

    /// The request this permit is for.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The request's bot writes are over.
    pub fn done(self) {}
}

/// The machine's clock agrees with the wiki's (`wiki_time`, just read): windows,
/// grants and the audit log would disagree with the wiki otherwise. A skew is
/// the machine's fault, not the request's: a configuration error.
pub fn clock_agrees(wiki_time: Timestamp) -> Result<(), Error> {
    let skew = (crate::when::machine_clock() - wiki_time).num_seconds();
    if skew.abs() > crate::when::max_clock_skew_secs() {
        return Err(Error::Usage(format!(
            "this machine's clock is {skew} s off the wiki's ({}); nothing was done: set the clock right (NTP) first",
            crate::when::format_time(wiki_time)
        )));
    }
    Ok(())
}

/// What must hold before any bot write, a page action's or a rollback's: the
/// session writes as the policy's bot, the local stop switch is off, the
/// shutoff page's latest revision says the run word and an administrator saved
/// it, and (when the page is read here) the machine's clock agrees with the
/// wiki's. `seen` is a shutoff revision read moments ago with the caller's
/// identity; `known` has users' groups already read. `Ok(Err(why))` when the
/// bot may not write now.
pub async fn bot_may_write(
    session: &Session,
    store: &Store,
    bot: &BotWiki,
    known: &BTreeMap<String, Vec<String>>,
    seen: Option<ShutoffRevision>,
) -> Result<Result<Cleared, String>, Error> {
    let account = bot.account().unwrap_or_default();
    if !crate::rules::same_user(account, &session.policy.bot) {
        return Ok(Err(format!(
            "the bot's session is `{account}`, not the policy's bot `{}`",
            session.policy.bot
        )));
    }
    if let Some(stop) = store.stopped()? {
        return Ok(Err(format!(
            "the local stop switch is on: {} (by `{}`)",
            stop.reason, stop.by.name
        )));
    }
    let page = &session.policy.pages.shutoff;
    let word = &session.policy.pages.run_word;
    // The first page uses the revision read at login with the caller's identity,
    // later pages read it afresh (with the wiki's clock); the broker's guard
    // checks it is still the latest revision right before the write.
    let latest = match seen {
        Some(seen) => Some(seen),
        None => {
            let (latest, wiki_time) = actions::shutoff_revision(bot.reads(), page).await?;
            clock_agrees(wiki_time)?;
            latest
        }
    };
    let Some(latest) = latest else {
        return Ok(Err(format!(
            "the shutoff page `{page}` does not exist, so the bot stays off"
        )));
    };
    if latest.text.trim() != word.as_str() {
        return Ok(Err(format!(
            "the shutoff page `{page}` says `{}` (revision {} by `{}`), not `{word}`",
            latest.text.trim().chars().take(60).collect::<String>(),
            latest.id,
            latest.user
        )));
    }
    let groups = match known.get(&latest.user) {
        Some(groups) => groups.clone(),
        None => crate::wiki::users::lookup_user(bot.reads(), &latest.user)
            .await
            .map(|u| u.groups)
            .unwrap_or_default(),
    };
    if !groups.iter().any(|g| g == "sysop") {
        return Ok(Err(format!(
            "the shutoff page `{page}` was last saved by `{}`, who is not an administrator (revision {})",
            latest.user, latest.id
        )));
    }
    Ok(Ok(Cleared { shutoff: latest }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Outcome, RuleName, RuleOutcome};

    fn cleared() -> Cleared {
        Cleared {
            shutoff: ShutoffRevision {
                id: 7,
                text: "run".into(),
                user: "Admin".into(),
                timestamp: None,
                comment: None,
            },
        }
    }

    fn verdict(outcome: Outcome) -> Verdict {
        Verdict {
            outcomes: vec![
                RuleOutcome::new(RuleName::Authority, Outcome::Pass, "grant #1"),
                RuleOutcome::new(RuleName::Irreversible, outcome, "why"),
            ],
        }
    }

    fn issued(grounds: Grounds<'_>) -> Result<Permit, String> {
        Permit::issue(cleared(), grounds, "20261130-0123456789")
    }

    #[test]
    fn an_allowed_verdict_gets_a_permit_with_the_cleared_shutoff_revision() {
        let allowed = verdict(Outcome::Pass);
        let permit = issued(Grounds::Verdict {
            verdict: &allowed,
            confirmed: false,
        })
        .unwrap();
        assert_eq!(permit.shutoff().id, 7);
        assert_eq!(permit.request_id(), "20261130-0123456789");
        permit.done();
    }

    #[test]
    fn a_verdict_needing_confirmation_gets_one_only_once_confirmed() {
        let confirm = verdict(Outcome::Confirm);
        let unconfirmed = issued(Grounds::Verdict {
            verdict: &confirm,
            confirmed: false,
        });
        assert!(unconfirmed.unwrap_err().contains("--yes"));
        issued(Grounds::Verdict {
            verdict: &confirm,
            confirmed: true,
        })
        .unwrap()
        .done();
    }

    #[test]
    fn a_refused_verdict_never_gets_a_permit() {
        for outcome in [Outcome::Fail, Outcome::Unknown] {
            let refused = verdict(outcome);
            for confirmed in [false, true] {
                let permit = issued(Grounds::Verdict {
                    verdict: &refused,
                    confirmed,
                });
                assert!(permit.is_err(), "{outcome:?} confirmed={confirmed}");
            }
        }
    }

    #[test]
    fn only_an_administrator_rolls_back() {
        let editor = vec!["user".to_string(), "autoconfirmed".to_string()];
        let denied = issued(Grounds::Rollback { groups: &editor });
        assert!(denied.unwrap_err().contains("administrator"));
        let admin = vec!["sysop".to_string()];
        issued(Grounds::Rollback { groups: &admin }).unwrap().done();
    }
}
