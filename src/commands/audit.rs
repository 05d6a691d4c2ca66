//! `adminibot audit [--user USER] [--since WHEN]` and `adminibot audit verify`.

use super::Output;
use crate::cli::{AuditArgs, AuditCommand};
use crate::error::{Error, ExitStatus};
use crate::session::Session;
use crate::store::AuditFilter;
use crate::when::{format_time, parse_when};
use serde_json::json;
use std::fmt::Write;

/// Lists audit rows, or verifies the hash chain.
pub async fn audit(session: &mut Session, args: &AuditArgs) -> Result<Output, Error> {
    if let Some(AuditCommand::Verify) = args.verify {
        return verify(session);
    }
    let user_id = match &args.user {
        Some(name) => Some(session.user(name).await?.user_id),
        None => None,
    };
    let since = args
        .since
        .as_deref()
        .map(|w| parse_when(w, session.now))
        .transpose()
        .map_err(|e| Error::Usage(format!("--since: {e}")))?;
    let rows = session.store()?.audit(&AuditFilter { user_id, since })?;
    let mut text = String::new();
    for row in &rows {
        let actor = row
            .actor
            .as_ref()
            .map_or("adminibot".to_string(), |a| a.name.clone());
        let subject = row
            .subject
            .as_ref()
            .map_or(String::new(), |s| format!(" `{}`", s.name));
        let _ = writeln!(
            text,
            "#{:<5} {} {:<16} by `{actor}`{subject} {}",
            row.seq,
            format_time(row.at),
            row.kind,
            row.detail
        );
    }
    if rows.is_empty() {
        text.push_str("no audit rows match\n");
    }
    Ok(Output::ok(text, json!({ "rows": rows })))
}

fn verify(session: &mut Session) -> Result<Output, Error> {
    match session.store()?.audit_verify()? {
        Ok(head) => Ok(Output::ok(
            format!("the audit chain verifies; head {head}\n"),
            json!({ "valid": true, "head": head }),
        )),
        Err(broken) => Ok(Output {
            text: format!(
                "the audit chain is broken at row #{}: {}\n",
                broken.seq, broken.reason
            ),
            json: json!({ "valid": false, "broken_at": broken.seq, "reason": broken.reason }),
            status: ExitStatus::Refused,
        }),
    }
}
