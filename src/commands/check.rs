//! `adminibot check` and `adminibot policy check`: judge without acting.

use super::Output;
use crate::broker::decide;
use crate::cli::CheckArgs;
use crate::config::{self, Config};
use crate::error::Error;
use crate::facts::PageFacts;
use crate::policy::Policy;
use crate::report::{rendered, Judged, PageReport};
use crate::rules::{Action, Tier};
use crate::session::Session;
use crate::wiki::facts::{fetch_many, FetchOptions};
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

/// Whose request a read evaluates: `--as`, else the main account of
/// `$ADMINIBOT_USERNAME`, else of the config's `[login]`.
pub fn requester_name(
    as_user: Option<&str>,
    login: Option<&config::LoginConfig>,
) -> Result<String, Error> {
    if let Some(name) = as_user {
        return Ok(name.to_string());
    }
    let configured = login.map(|l| l.username.clone());
    match std::env::var(config::env::USERNAME)
        .ok()
        .filter(|l| !l.trim().is_empty())
        .or(configured)
    {
        Some(login) => Ok(login.split('@').next().unwrap_or(&login).to_string()),
        None => Err(Error::Usage(
            "say whose request to evaluate with `--as USER` (or run `adminibot init`)".into(),
        )),
    }
}

/// Evaluates every title; per-title problems (bad title, unknown user) become
/// failed reports, problems with the whole run (config, policy, wiki down) errors.
///
/// `args` come resolved ([`super::resolve`]): titles from stdin read, `--as` set.
pub async fn check(session: &mut Session, args: &CheckArgs) -> Result<Output, Error> {
    let requester = requester_name(args.as_user.as_deref(), None)?;
    let (reports, _) = judge_pages(
        session,
        &args.titles,
        &requester,
        (args.action, args.tier),
        &[],
    )
    .await?;
    Ok(Output::from_pages(&rendered(&reports)))
}

/// Judges `action` on each of `titles` for `requester` (`tier` limits the
/// authority gate to one tier), reading facts in batches and writing nothing.
/// The groups of `also_users` (the shutoff page's saver) are read with the
/// facts and returned beside the reports.
pub async fn judge_pages(
    session: &mut Session,
    titles: &[String],
    requester: &str,
    (action, tier): (Action, Option<Tier>),
    also_users: &[String],
) -> Result<(Vec<PageReport>, BTreeMap<String, Vec<String>>), Error> {
    let (judged, groups) =
        judge_pages_keeping_facts(session, titles, requester, (action, tier), also_users).await?;
    Ok((
        judged.into_iter().map(|(report, _)| report).collect(),
        groups,
    ))
}

/// [`judge_pages`], each report with the facts it was judged on (none for a
/// title that could not be read).
pub async fn judge_pages_keeping_facts(
    session: &mut Session,
    titles: &[String],
    requester: &str,
    (action, tier): (Action, Option<Tier>),
    also_users: &[String],
) -> Result<
    (
        Vec<(PageReport, Option<PageFacts>)>,
        BTreeMap<String, Vec<String>>,
    ),
    Error,
> {
    session.read_tag_redirects().await?;
    let policy = session.policy.clone();
    let options = FetchOptions {
        requester,
        bot_groups: &policy.bots.groups,
        redirect_words: &policy.redirect_words,
        also_users,
        usage_limit: policy.in_use.read_limit(),
    };
    let mut reports = Vec::new();
    let mut groups = BTreeMap::new();
    let all = fetch_many(session.reader(), titles, &options).await?;
    info!(
        titles = titles.len(),
        requests = session.reader().request_count(),
        "facts read"
    );
    for (title, fetched) in titles.iter().zip(all) {
        let result = match fetched {
            Ok(fetched) => {
                for user in also_users {
                    if let Some(found) = fetched.user_groups.get(user) {
                        groups.entry(user.clone()).or_insert_with(|| found.clone());
                    }
                }
                let now = crate::when::clock_override().unwrap_or(fetched.server_time);
                let decided = decide(session, &fetched, action, tier, now).await?;
                Ok((Judged::new(&fetched, decided, now, None), fetched.facts))
            }
            // The wiki being down ends the whole run; a bad title ends only its own.
            Err(err) => match Error::from(err) {
                err if err.status() == crate::error::ExitStatus::Wiki => return Err(err),
                err => Err(err),
            },
        };
        let (result, facts) = match result {
            Ok((judged, facts)) => (Ok(judged), Some(facts)),
            Err(err) => (Err(err), None),
        };
        let report = PageReport {
            requested: title.clone(),
            action,
            result,
        };
        reports.push((report, facts));
    }
    info!(total_requests = session.reader().request_count(), "done");
    Ok((reports, groups))
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
