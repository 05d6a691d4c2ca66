//! `adminibot reconcile` and `adminibot rollback`.

use super::Output;
use crate::error::{Error, ExitStatus};
use crate::recovery::{self, Selection, Settled};
use crate::session::Session;
use crate::when::parse_when;
use serde_json::json;
use std::fmt::Write;

fn output(settled: &[Settled], status: ExitStatus, empty: &str) -> Output {
    let mut text = String::new();
    if settled.is_empty() {
        let _ = writeln!(text, "{empty}");
    }
    for s in settled {
        let mark = if s.ok { "-" } else { "!" };
        let _ = writeln!(
            text,
            "{mark} `{}` (request {}): {}",
            s.title, s.request_id, s.outcome
        );
    }
    let results: Vec<_> = settled
        .iter()
        .map(|s| json!({ "request_id": s.request_id, "title": s.title, "outcome": s.outcome, "ok": s.ok }))
        .collect();
    Output {
        text,
        json: json!({ "results": results }),
        status,
    }
}

/// `adminibot reconcile`
pub async fn reconcile(session: &mut Session) -> Result<Output, Error> {
    let (settled, status) = recovery::reconcile(session).await?;
    Ok(output(
        &settled,
        status,
        "no request is waiting to be settled",
    ))
}

/// `adminibot rollback (--since WHEN | --request ID) [--yes] [--dry-run]`
pub async fn rollback(
    session: &mut Session,
    since: Option<&str>,
    request: Option<&str>,
    yes: bool,
    dry_run: bool,
) -> Result<Output, Error> {
    let selection = match (since, request) {
        (Some(when), _) => Selection::Since(
            parse_when(when, session.now).map_err(|e| Error::Usage(format!("--since: {e}")))?,
        ),
        (None, Some(id)) => Selection::Request(id.to_string()),
        (None, None) => {
            return Err(Error::Usage(
                "say what to roll back: `--since WHEN` or `--request ID`".into(),
            ))
        }
    };
    let (settled, status) = recovery::rollback(session, &selection, yes, dry_run).await?;
    let mut out = output(&settled, status, "nothing to roll back");
    if status == ExitStatus::Refused {
        out.text
            .push_str("nothing was done: run again with `--yes` to roll back the steps above\n");
    }
    Ok(out)
}
