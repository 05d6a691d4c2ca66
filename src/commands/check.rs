//! `adminibot check` and `adminibot policy check`: judge without acting.

use super::Output;
use crate::authority::{authorise, Authority, AuthorityRequest, Gates, GrantView};
use crate::charter::LiveFacts;
use crate::cli::CheckArgs;
use crate::config::{self, Config};
use crate::error::Error;
use crate::policy::Policy;
use crate::report::{overall_status, render_text, to_json, Judged, PageReport};
use crate::rules::{evaluate, Decision, Outcome, Request, RuleName, RuleOutcome, Tier, Verdict};
use crate::session::{Login, Session};
use crate::store::UserRef;
use crate::wiki::facts::{fetch, FetchOptions, Fetched};
use crate::wiki::users::oldest_category_member;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use tracing::info;

/// Titles from the command line, with `-` replaced by the lines of stdin.
pub fn expand_titles(titles: &[String], stdin: impl BufRead) -> Result<Vec<String>, Error> {
    if !titles.iter().any(|t| t == "-") {
        return Ok(titles.to_vec());
    }
    let mut from_stdin = Vec::new();
    for line in stdin.lines() {
        let line = line.map_err(|e| Error::Usage(format!("cannot read titles from stdin: {e}")))?;
        if !line.trim().is_empty() {
            from_stdin.push(line.trim().to_string());
        }
    }
    let mut all = Vec::new();
    for title in titles {
        if title == "-" {
            all.append(&mut from_stdin);
        } else {
            all.push(title.clone());
        }
    }
    Ok(all)
}

/// Whose request `check` evaluates: `--as`, else the main account of `$ADMINIBOT_USERNAME`.
fn requester_name(args: &CheckArgs) -> Result<String, Error> {
    if let Some(name) = &args.as_user {
        return Ok(name.clone());
    }
    match std::env::var(config::env::USERNAME) {
        Ok(login) if !login.trim().is_empty() => {
            Ok(login.split('@').next().unwrap_or(&login).to_string())
        }
        _ => Err(Error::Usage(
            "say whose request to evaluate with `--as USER` (or set `ADMINIBOT_USERNAME`)".into(),
        )),
    }
}

/// Evaluates every title; per-title problems (bad title, unknown user) become
/// failed reports, problems with the whole run (config, policy, wiki down) errors.
pub async fn check(config_flag: Option<&Path>, args: &CheckArgs) -> Result<Output, Error> {
    let titles = expand_titles(&args.titles, std::io::stdin().lock())?;
    let requester = requester_name(args)?;
    let mut session = Session::open(config_flag, Login::BotOrAnonymous).await?;
    let policy = session.policy.clone();
    let options = FetchOptions {
        requester: &requester,
        bot_groups: &policy.bots.groups,
        redirect_words: &policy.redirect_words,
    };
    let mut reports = Vec::new();
    for title in titles {
        let before = session.wiki.request_count();
        let result = match fetch(&session.wiki, &title, &options).await {
            Ok(fetched) => Ok(judge(&mut session, &fetched, args).await?),
            // The wiki being down ends the whole run; a bad title ends only its own.
            Err(err) => match Error::from(err) {
                err if err.status() == crate::error::ExitStatus::Wiki => return Err(err),
                err => Err(err),
            },
        };
        info!(title = %title, requests = session.wiki.request_count() - before, "judged");
        reports.push(PageReport {
            requested: title,
            action: args.action,
            result,
        });
    }
    info!(total_requests = session.wiki.request_count(), "done");
    Ok(Output {
        text: render_text(&reports),
        json: to_json(&reports),
        status: overall_status(&reports),
    })
}

/// The authority gate (when a store is configured) and the safety rules of the
/// tier it picks, folded into one verdict.
async fn judge(
    session: &mut Session,
    fetched: &Fetched,
    args: &CheckArgs,
) -> Result<Judged, Error> {
    let facts = &fetched.facts;
    let now = crate::when::clock_override().unwrap_or(fetched.server_time);
    let policy = session.policy.clone();
    let safety = |tier: Tier| {
        let request = Request {
            action: args.action,
            tier,
            requester: fetched.requester.clone(),
            now,
        };
        evaluate(facts, &request, &policy)
    };
    let requester = UserRef {
        user_id: fetched.requester.user_id,
        name: fetched.requester.name.clone(),
    };
    let (tier, verdict, authority_note) = match session.store.is_some() {
        false => {
            let tier = args.tier.unwrap_or(Tier::Own);
            let note = format!(
                "authority not checked: `{}` has no `[store]`",
                session.config.path.display()
            );
            (tier, safety(tier), Some(note))
        }
        true => {
            let grants = session.grant_views(Some(requester.user_id))?;
            let live = live_facts(session, &grants).await?;
            let store = session.store()?;
            let stopped = store.stopped()?;
            let suspension = store.active_suspension(requester.user_id, now)?;
            let blocklist = store.blocklist()?;
            let gates = Gates {
                stopped: stopped.as_ref(),
                suspension: suspension.as_ref(),
                wiki_block: fetched.requester_blocked.as_deref(),
                blocklist: &blocklist,
            };
            let request = AuthorityRequest {
                requester: &requester,
                action: args.action,
                title: &facts.title,
                namespace: facts.namespace,
                page_templates: &facts.templates,
                tier: args.tier,
                now,
            };
            match authorise(&request, &gates, &grants, &live) {
                Authority::Covered(coverages) => {
                    // The least privileged grant whose tier's rules allow it; else the first.
                    let judged: Vec<_> = coverages.iter().map(|c| (c, safety(c.tier))).collect();
                    let (coverage, verdict) = judged
                        .iter()
                        .find(|(_, v)| v.decision() != Decision::Refused)
                        .unwrap_or(&judged[0])
                        .clone();
                    let gate = RuleOutcome::new(
                        RuleName::Authority,
                        Outcome::Pass,
                        coverage.reason.clone(),
                    );
                    (coverage.tier, prepend(gate, verdict), None)
                }
                Authority::Refused(reasons) => {
                    let tier = args.tier.unwrap_or(Tier::Own);
                    let gate =
                        RuleOutcome::new(RuleName::Authority, Outcome::Fail, reasons.join("; "));
                    (tier, prepend(gate, safety(tier)), None)
                }
            }
        }
    };
    Ok(Judged {
        title: facts.title.clone(),
        page_id: facts.page_id,
        latest_revid: facts.latest_revid,
        requester: fetched.requester.name.clone(),
        tier,
        evaluated_at: now,
        verdict,
        authority_note,
    })
}

fn prepend(gate: RuleOutcome, verdict: Verdict) -> Verdict {
    let mut outcomes = vec![gate];
    outcomes.extend(verdict.outcomes);
    Verdict { outcomes }
}

/// Reads each live-condition category the requester's charters watch (one request each).
async fn live_facts(
    session: &Session,
    grants: &[GrantView],
) -> Result<BTreeMap<String, LiveFacts>, Error> {
    let mut live = BTreeMap::new();
    for view in grants {
        let Some(Ok(charter)) = &view.charter else {
            continue;
        };
        let Some(condition) = &charter.live else {
            continue;
        };
        if view.state(session.now) != crate::authority::GrantState::Active
            || live.contains_key(&condition.category)
        {
            continue;
        }
        let oldest = oldest_category_member(&session.wiki, &condition.category).await?;
        live.insert(
            condition.category.clone(),
            LiveFacts {
                oldest_member_added: oldest,
            },
        );
    }
    Ok(live)
}

/// Validates a policy file; the file named in the config when `file` is `None`.
pub fn policy_check(config_flag: Option<&Path>, file: Option<&Path>) -> Result<Output, Error> {
    let path = match file {
        Some(file) => file.to_path_buf(),
        None => Config::load(&config::locate(config_flag)?)?.wiki.policy,
    };
    let policy = Policy::load(&path)?;
    Ok(Output::ok(
        format!("{}: ok\n", policy.path.display()),
        serde_json::json!({ "policy": policy.path, "valid": true }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_reads_titles_from_stdin_in_place() {
        let titles = vec!["A".to_string(), "-".to_string(), "D".to_string()];
        let stdin = std::io::Cursor::new("B\n\n  C  \n");
        assert_eq!(
            expand_titles(&titles, stdin).unwrap(),
            vec!["A", "B", "C", "D"]
        );
        let plain = vec!["A".to_string()];
        assert_eq!(
            expand_titles(&plain, std::io::Cursor::new("X")).unwrap(),
            vec!["A"]
        );
    }
}
