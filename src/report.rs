//! Verdicts rendered for people (text) and for scripts (the JSON of DESIGN.md).

use crate::broker::{Acted, Decided};
use crate::error::{render, Error, ExitStatus};
use crate::facts::Timestamp;
use crate::rules::{Action, Decision, Outcome, Tier, Verdict};
use crate::wiki::facts::Fetched;
use serde_json::{json, Value};
use std::fmt::Write;

/// What happened to one requested title.
#[derive(Debug)]
pub struct PageReport {
    /// The title as the user gave it.
    pub requested: String,
    /// The action asked for.
    pub action: Action,
    /// The verdict, or why none could be reached.
    pub result: Result<Judged, Error>,
}

/// A verdict with the page it is about.
#[derive(Debug)]
pub struct Judged {
    /// The title as the wiki normalised it.
    pub title: String,
    /// Page id, if the page exists.
    pub page_id: Option<u64>,
    /// Latest revision id, if the page exists.
    pub latest_revid: Option<u64>,
    /// The requester, as the wiki spells the name.
    pub requester: String,
    /// The tier the safety rules were run for.
    pub tier: Tier,
    /// Why the authority gate was not run, if it was not.
    pub authority_note: Option<String>,
    /// The wiki's clock when the facts were read.
    pub evaluated_at: Timestamp,
    /// The rules' outcomes.
    pub verdict: Verdict,
    /// What was done about it, for real actions (not `check`).
    pub acted: Option<Acted>,
}

impl Judged {
    /// A judged page from what was read and decided about it.
    pub fn new(fetched: &Fetched, decided: Decided, now: Timestamp, acted: Option<Acted>) -> Self {
        Judged {
            title: fetched.facts.title.clone(),
            page_id: fetched.facts.page_id,
            latest_revid: fetched.facts.latest_revid,
            requester: fetched.requester.name.clone(),
            tier: decided.tier,
            authority_note: decided.authority_note,
            evaluated_at: now,
            verdict: decided.verdict,
            acted,
        }
    }
}

impl PageReport {
    /// The `decision` string of the JSON contract.
    pub fn decision(&self) -> &'static str {
        match &self.result {
            Ok(Judged {
                acted: Some(acted), ..
            }) => acted.decision,
            Ok(judged) => match judged.verdict.decision() {
                Decision::Allowed => "allowed",
                Decision::NeedsConfirmation => "needs-confirmation",
                Decision::Refused => "refused",
            },
            Err(_) => "failed",
        }
    }

    /// The exit status this title alone would give.
    pub fn status(&self) -> ExitStatus {
        match &self.result {
            Ok(Judged {
                acted: Some(acted), ..
            }) => acted.status,
            Ok(judged) if judged.verdict.decision() == Decision::Refused => ExitStatus::Refused,
            Ok(_) => ExitStatus::Success,
            Err(err) => err.status(),
        }
    }
}

/// The exit status for several titles: the worst of them.
pub fn overall_status(reports: &[PageReport]) -> ExitStatus {
    reports
        .iter()
        .map(PageReport::status)
        .max()
        .unwrap_or(ExitStatus::Success)
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Flag => "flag",
        Outcome::Confirm => "confirm",
        Outcome::Fail => "FAIL",
        Outcome::Unknown => "UNKNOWN",
    }
}

/// Text for people: a headline per title, then one line per rule with its evidence.
pub fn render_text(reports: &[PageReport]) -> String {
    let mut out = String::new();
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match &report.result {
            Err(err) => {
                let _ = writeln!(
                    out,
                    "{}: {} ({})",
                    report.requested,
                    report.decision(),
                    report.action
                );
                for line in render(err).lines() {
                    if line.is_empty() {
                        out.push('\n');
                    } else {
                        let _ = writeln!(out, "  {line}");
                    }
                }
            }
            Ok(judged) => {
                let _ = writeln!(
                    out,
                    "{}: {}{} ({} for {} under tier {})",
                    judged.title,
                    report.decision(),
                    if judged.verdict.flagged() {
                        ", flagged for urgent admin review"
                    } else {
                        ""
                    },
                    report.action,
                    judged.requester,
                    judged.tier
                );
                for o in &judged.verdict.outcomes {
                    let _ = writeln!(
                        out,
                        "  {:<8} {:<20} {}",
                        outcome_word(o.outcome),
                        o.rule.as_str(),
                        o.reason
                    );
                    if !o.evidence.is_empty() {
                        let _ = writeln!(
                            out,
                            "  {:<8} {:<20} evidence: {}",
                            "",
                            "",
                            evidence_text(&o.evidence)
                        );
                    }
                }
                if let Some(note) = &judged.authority_note {
                    let _ = writeln!(out, "  note: {note}");
                }
                if let Some(acted) = &judged.acted {
                    let _ = writeln!(out, "  request {}:", acted.request_id);
                    for step in &acted.steps {
                        let _ = writeln!(out, "    - {step}");
                    }
                } else if judged.verdict.decision() == Decision::Refused {
                    let _ = writeln!(
                        out,
                        "  hint: if you believe this is uncontroversial anyway, ask an administrator on the wiki's noticeboard"
                    );
                }
            }
        }
    }
    if reports.len() > 1 {
        out.push_str(&summary_table(reports));
    }
    out
}

/// One line per title after a batch: decision, request id and title.
fn summary_table(reports: &[PageReport]) -> String {
    let mut out = format!("\nsummary of {} pages:\n", reports.len());
    for report in reports {
        let request = match &report.result {
            Ok(Judged {
                acted: Some(acted), ..
            }) => acted.request_id.as_str(),
            _ => "-",
        };
        let title = match &report.result {
            Ok(judged) => judged.title.as_str(),
            Err(_) => report.requested.as_str(),
        };
        let _ = writeln!(out, "  {:<20} {:<20} {title}", report.decision(), request);
    }
    out
}

fn evidence_text(evidence: &crate::rules::Evidence) -> String {
    let mut parts = Vec::new();
    if !evidence.revisions.is_empty() {
        let ids: Vec<String> = evidence.revisions.iter().map(|r| format!("r{r}")).collect();
        parts.push(format!("revisions {}", ids.join(" ")));
    }
    if !evidence.log_ids.is_empty() {
        let ids: Vec<String> = evidence.log_ids.iter().map(u64::to_string).collect();
        parts.push(format!("log {}", ids.join(" ")));
    }
    if !evidence.timestamps.is_empty() {
        let first = evidence.timestamps.iter().min().unwrap();
        let last = evidence.timestamps.iter().max().unwrap();
        let fmt = |t: &Timestamp| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        parts.push(if first == last {
            fmt(first)
        } else {
            format!("{} .. {}", fmt(first), fmt(last))
        });
    }
    parts.join("; ")
}

/// The JSON document of the CLI contract: `{"results": [...]}`.
pub fn to_json(reports: &[PageReport]) -> Value {
    let results: Vec<Value> = reports
        .iter()
        .map(|report| {
            let mut entry = json!({
                "title": report.requested,
                "action": report.action,
                "decision": report.decision(),
                "request_id": Value::Null,
            });
            match &report.result {
                Ok(judged) => {
                    entry["title"] = json!(judged.title);
                    entry["requested_title"] = json!(report.requested);
                    entry["requester"] = json!(judged.requester);
                    entry["tier"] = json!(judged.tier);
                    entry["authority_checked"] = json!(judged.authority_note.is_none());
                    entry["page_id"] = json!(judged.page_id);
                    entry["latest_revid"] = json!(judged.latest_revid);
                    entry["flagged"] = json!(judged.verdict.flagged());
                    entry["evaluated_at"] = json!(judged.evaluated_at);
                    if let Some(acted) = &judged.acted {
                        entry["request_id"] = json!(acted.request_id);
                        entry["steps"] = json!(acted.steps);
                        entry["done"] = acted.detail.clone();
                    }
                    entry["rules"] = judged
                        .verdict
                        .outcomes
                        .iter()
                        .map(|o| {
                            json!({
                                "rule": o.rule,
                                "passed": o.outcome.passed(),
                                "outcome": o.outcome,
                                "detail": o.reason,
                                "evidence": o.evidence,
                            })
                        })
                        .collect();
                }
                Err(err) => {
                    entry["rules"] = json!([]);
                    entry["error"] = json!(err.to_string());
                    entry["exit_code"] = json!(err.status().code());
                }
            }
            entry
        })
        .collect();
    json!({ "results": results })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;
    use crate::rules::{evaluate, Action, Tier};
    use crate::wiki::title::TitleError;
    use crate::wiki::WikiError;

    fn reports() -> Vec<PageReport> {
        let mut facts = page(vec![
            rev(1, ALICE, hours_ago(80), "a"),
            rev(2, BOB, hours_ago(2), "b"),
        ]);
        facts.title = "Shared page".into();
        let verdict = evaluate(&facts, &request(Action::Delete, Tier::Own), &policy());
        vec![
            PageReport {
                requested: "shared_page".into(),
                action: Action::Delete,
                result: Ok(Judged {
                    title: facts.title.clone(),
                    page_id: facts.page_id,
                    latest_revid: facts.latest_revid,
                    requester: "Alice".into(),
                    tier: Tier::Own,
                    acted: None,
                    authority_note: Some(
                        "authority not checked: `adminibot.toml` has no `[store]`".into(),
                    ),
                    evaluated_at: now(),
                    verdict,
                }),
            },
            PageReport {
                requested: "Foo#Bar".into(),
                action: Action::Delete,
                result: Err(WikiError::Title(TitleError::Fragment("Foo#Bar".into())).into()),
            },
        ]
    }

    #[test]
    fn text_report_snapshot() {
        insta::assert_snapshot!(render_text(&reports()));
    }

    #[test]
    fn json_report_snapshot() {
        insta::assert_json_snapshot!(to_json(&reports()));
    }

    #[test]
    fn worst_status_wins() {
        assert_eq!(overall_status(&reports()), ExitStatus::Usage);
        assert_eq!(overall_status(&reports()[..1]), ExitStatus::Refused);
        assert_eq!(overall_status(&[]), ExitStatus::Success);
    }
}
