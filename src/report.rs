//! Verdicts rendered for people (text) and for scripts (the JSON of DESIGN.md).

use crate::broker::{Acted, Decided};
use crate::error::{render, Error, ExitStatus};
use crate::facts::Timestamp;
use crate::rules::{Action, Decision, Outcome, Tier, Verdict};
use crate::style;
use crate::wiki::facts::Fetched;
use serde::{Deserialize, Serialize};
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
    /// The requester's user id.
    pub requester_id: u64,
    /// The tier the safety rules were run for.
    pub tier: Tier,
    /// The charter of the grant that covers the request, if any.
    pub charter: Option<String>,
    /// Why the authority gate was not run, if it was not.
    pub authority_note: Option<String>,
    /// The wiki's clock when the facts were read.
    pub evaluated_at: Timestamp,
    /// The rules' outcomes.
    pub verdict: Verdict,
    /// What was done about it, for real actions (not `check`).
    pub acted: Option<Acted>,
    /// Other spellings of this page given in the same batch (`foo` after
    /// `Foo`): the page is judged and acted on once.
    pub also_requested: Vec<String>,
}

impl Judged {
    /// A judged page from what was read and decided about it.
    pub fn new(fetched: &Fetched, decided: Decided, now: Timestamp, acted: Option<Acted>) -> Self {
        Judged {
            title: fetched.facts.title.clone(),
            page_id: fetched.facts.page_id,
            latest_revid: fetched.facts.latest_revid,
            requester: fetched.requester.name.clone(),
            requester_id: fetched.requester.user_id,
            tier: decided.tier,
            charter: decided.coverage.as_ref().and_then(|c| c.charter.clone()),
            authority_note: decided.authority_note,
            evaluated_at: now,
            verdict: decided.verdict,
            acted,
            also_requested: Vec::new(),
        }
    }
}

/// When the wiki normalises `requested` to a page already judged in this batch
/// (`Foo` then `foo`, or `Foo_bar` then `Foo bar`), notes it on that page's
/// report and says so: the page is judged and acted on once, not twice.
pub fn noted_as_repeat(reports: &mut [PageReport], requested: &str, title: &str) -> bool {
    let first = reports
        .iter_mut()
        .find_map(|r| r.result.as_mut().ok().filter(|j| j.title == title));
    match first {
        Some(judged) => {
            judged.also_requested.push(requested.to_string());
            true
        }
        None => false,
    }
}

/// `reports` with every later report of a page already judged folded into the
/// first one's [`Judged::also_requested`]: the proposal of a page action.
pub fn without_repeats(reports: Vec<PageReport>) -> Vec<PageReport> {
    let mut kept: Vec<PageReport> = Vec::with_capacity(reports.len());
    for report in reports {
        let title = report.result.as_ref().ok().map(|j| j.title.clone());
        if title.is_some_and(|title| noted_as_repeat(&mut kept, &report.requested, &title)) {
            continue;
        }
        kept.push(report);
    }
    kept
}

/// The text line saying which other spellings of a page the batch gave.
pub fn also_requested_line(spellings: &[String]) -> String {
    let quoted: Vec<String> = spellings.iter().map(|s| format!("`{s}`")).collect();
    format!(
        "  also given as {}: the same page, judged and acted on once\n",
        quoted.join(", ")
    )
}

impl PageReport {
    /// The `decision` string of the JSON contract.
    pub fn decision(&self) -> &'static str {
        match &self.result {
            Ok(Judged {
                acted: Some(acted), ..
            }) => acted.decision.as_str(),
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

/// A rule's outcome as the text report shows it: padded to its column, in
/// its colour.
fn outcome_word(outcome: Outcome) -> String {
    let (word, style) = match outcome {
        Outcome::Pass => ("pass", style::GOOD),
        Outcome::Flag => ("flag", style::FLAG),
        Outcome::Confirm => ("confirm", style::CONFIRM),
        Outcome::Fail => ("FAIL", style::BAD),
        Outcome::Unknown => ("UNKNOWN", style::BAD),
    };
    style::paint(style, format_args!("{word:<8}"))
}

/// One title's report as it travels from the service to the client: its
/// text block, its JSON entry, and what the batch summary needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedPage {
    /// The title the summary names: the wiki's, else as the user gave it.
    pub title: String,
    /// The `decision` string of the JSON contract.
    pub decision: String,
    /// The request id, when the title was acted on.
    pub request_id: Option<String>,
    /// The text block for people.
    pub text: String,
    /// The entry of `results` for scripts.
    pub json: Value,
    /// The exit code this title alone would give.
    pub exit_code: u8,
}

impl RenderedPage {
    /// The exit status this title alone would give.
    pub fn status(&self) -> ExitStatus {
        ExitStatus::from_code(self.exit_code)
    }
}

impl PageReport {
    /// This title's report, rendered.
    pub fn rendered(&self) -> RenderedPage {
        let (title, request_id) = match &self.result {
            Ok(judged) => (
                judged.title.clone(),
                judged.acted.as_ref().map(|a| a.request_id.clone()),
            ),
            Err(_) => (self.requested.clone(), None),
        };
        RenderedPage {
            title,
            decision: self.decision().to_string(),
            request_id,
            text: self.text_block(),
            json: self.json_entry(),
            exit_code: self.status().code(),
        }
    }

    /// A headline, then one line per rule with its evidence.
    fn text_block(&self) -> String {
        let mut out = String::new();
        match &self.result {
            Err(err) => {
                let _ = writeln!(
                    out,
                    "{}: {} ({})",
                    self.requested,
                    style::paint(style::decision(self.decision()), self.decision()),
                    self.action
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
                    style::paint(style::decision(self.decision()), self.decision()),
                    if judged.verdict.flagged() {
                        style::paint(style::FLAG, ", flagged for urgent admin review")
                    } else {
                        String::new()
                    },
                    self.action,
                    judged.requester,
                    judged.tier
                );
                for o in &judged.verdict.outcomes {
                    let _ = writeln!(
                        out,
                        "  {} {:<20} {}",
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
                if !judged.also_requested.is_empty() {
                    out.push_str(&also_requested_line(&judged.also_requested));
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
        out
    }
}

/// Text for people: a headline per title, then one line per rule with its evidence.
pub fn render_text(reports: &[PageReport]) -> String {
    compose_text(&rendered(reports))
}

/// Every report, rendered.
pub fn rendered(reports: &[PageReport]) -> Vec<RenderedPage> {
    reports.iter().map(PageReport::rendered).collect()
}

/// The text of rendered titles: their blocks, and a summary after a batch.
pub fn compose_text(pages: &[RenderedPage]) -> String {
    let mut out = String::new();
    for (i, page) in pages.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&page.text);
    }
    if pages.len() > 1 {
        out.push_str(&summary_table(pages));
    }
    out
}

/// The JSON document of rendered titles: `{"results": [...]}`.
pub fn compose_json(pages: &[RenderedPage]) -> Value {
    json!({ "results": pages.iter().map(|p| p.json.clone()).collect::<Vec<_>>() })
}

/// The exit status of rendered titles: the worst of them.
pub fn compose_status(pages: &[RenderedPage]) -> ExitStatus {
    let worst = pages
        .iter()
        .map(RenderedPage::status)
        .max()
        .unwrap_or(ExitStatus::Success);
    // Once anything was written, a later failure is no "nothing changed" (3) or
    // configuration error (2): the batch is partial.
    let wrote = pages
        .iter()
        .any(|p| matches!(p.decision.as_str(), "done" | "partial" | "unknown"));
    match worst {
        ExitStatus::Usage | ExitStatus::Wiki if wrote => ExitStatus::Partial,
        worst => worst,
    }
}

/// One line per title after a batch: decision, request id and title.
fn summary_table(pages: &[RenderedPage]) -> String {
    let mut out = format!("\nsummary of {} pages:\n", pages.len());
    for page in pages {
        let request = page.request_id.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "  {:<20} {:<20} {}",
            page.decision, request, page.title
        );
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
    compose_json(&rendered(reports))
}

impl PageReport {
    /// This title's entry of `results`.
    fn json_entry(&self) -> Value {
        let report = self;
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
                if !judged.also_requested.is_empty() {
                    entry["also_requested"] = json!(judged.also_requested);
                }
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testkit::*;
    use crate::rules::{evaluate, Action, Tier};
    use crate::wiki::title::TitleError;
    use crate::wiki::WikiError;

    fn rendered_as(decision: &str, exit_code: u8) -> RenderedPage {
        RenderedPage {
            title: "T".into(),
            decision: decision.into(),
            request_id: None,
            text: String::new(),
            json: Value::Null,
            exit_code,
        }
    }

    #[test]
    fn a_batch_exits_4_once_something_was_written_and_something_failed() {
        let status = |pages: &[(&str, u8)]| {
            let pages: Vec<RenderedPage> = pages.iter().map(|(d, c)| rendered_as(d, *c)).collect();
            compose_status(&pages).code()
        };
        assert_eq!(status(&[("done", 0), ("failed", 3)]), 4);
        assert_eq!(status(&[("unknown", 5), ("failed", 3)]), 5);
        assert_eq!(status(&[("done", 0), ("refused", 1)]), 1);
        assert_eq!(status(&[("refused", 1), ("failed", 3)]), 3);
        assert_eq!(status(&[("allowed", 0), ("failed", 2)]), 2);
        assert_eq!(status(&[("done", 0), ("done", 0)]), 0);
        assert_eq!(status(&[]), 0);
    }

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
                    requester_id: 7,
                    tier: Tier::Own,
                    charter: None,
                    acted: None,
                    authority_note: Some(
                        "authority not checked: `adminibot.toml` has no `[store]`".into(),
                    ),
                    evaluated_at: now(),
                    verdict,
                    also_requested: vec!["shared page".into()],
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
        // As a pipe or `--color never` shows it; `style` tests the colours.
        let plain = anstream::adapter::strip_str(&render_text(&reports())).to_string();
        insta::assert_snapshot!(plain);
    }

    #[test]
    fn json_report_snapshot() {
        insta::assert_json_snapshot!(to_json(&reports()));
    }

    #[test]
    fn worst_status_wins() {
        assert_eq!(compose_status(&rendered(&reports())), ExitStatus::Usage);
        assert_eq!(
            compose_status(&rendered(&reports()[..1])),
            ExitStatus::Refused
        );
        assert_eq!(compose_status(&[]), ExitStatus::Success);
    }
}
