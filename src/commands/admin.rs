//! Grants: `grant`, `approve`, `revoke`, `issuers`, and `list` (like `sudo -l`).
//!
//! Every command here proves the caller's identity with their own login and
//! checks their groups as the wiki reports them now (see `authority::may_*`).

use super::Output;
use crate::authority::{
    charter_fits_grant, may_act_as_bureaucrat, may_approve, may_grant, may_receive_retired_admin,
    may_revoke, GrantState, GrantView,
};
use crate::charter::Charter;
use crate::cli::{GrantArgs, IssuersCommand};
use crate::error::Error;
use crate::facts::Timestamp;
use crate::rules::Tier;
use crate::session::{user_ref, Session};
use crate::store::{AuditFilter, AuditRow, CharterText, Grant, NewGrant};
use crate::when::{format_time, parse_deadline};
use crate::wiki::users::ever_in_group;
use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

/// `adminibot grant --user USER --tier TIER [--charter FILE] [--expires WHEN] [--reason TEXT]`
pub async fn grant(session: &mut Session, args: &GrantArgs) -> Result<Output, Error> {
    let issuer = session.actor()?;
    let user = session.user(&args.user).await?;
    if let Some(reason) = &user.blocked {
        return Err(Error::Denied(format!(
            "`{}` is blocked on the wiki ({reason}): no grant while blocked",
            user.name
        )));
    }
    let now = session.now;
    let appointed = session.store()?.is_issuer(issuer.user_id, args.tier)?;
    let approved = may_grant(args.tier, &issuer.groups, appointed).map_err(Error::Denied)?;
    let charter = charter_for(
        args.tier,
        args.charter.as_deref(),
        args.charter_text.as_deref(),
        now,
    )?;
    if args.tier == Tier::RetiredAdmin {
        let sysop_now = user.in_group("sysop");
        // The rights log is read only when it can decide.
        let was_sysop = !sysop_now
            && ever_in_group(&session.wiki, &user.name, "sysop")
                .await?
                .is_some();
        may_receive_retired_admin(&user.name, sysop_now, was_sysop).map_err(Error::Denied)?;
    }
    let expires_at = args
        .expires
        .as_deref()
        .map(|w| parse_deadline(w, now))
        .transpose()
        .map_err(|e| Error::Usage(format!("--expires: {e}")))?;
    let grant = session.store()?.add_grant(
        NewGrant {
            user: user_ref(&user),
            tier: args.tier,
            issuer,
            charter,
            starts_at: now,
            expires_at,
            reason: args.reason.clone(),
            approved,
        },
        now,
    )?;
    let state = GrantView::new(grant.clone()).state(now);
    let mut text = format!(
        "granted #{}: `{}` to `{}` by `{}`",
        grant.id, grant.tier, grant.user.name, grant.issuer.name
    );
    match state {
        GrantState::Pending => {
            let _ = write!(
                text,
                ", pending: a bureaucrat must run `adminibot approve {}`",
                grant.id
            );
        }
        other => {
            let _ = write!(text, ", {}", other.describe());
        }
    }
    text.push('\n');
    Ok(Output::ok(
        text,
        json!({ "grant": grant_json(&grant, now) }),
    ))
}

/// The charter a tier needs, loaded and checked against the tier; one whose
/// window has already closed for a grant starting `now` is refused, since the
/// grant could never be used.
///
/// `text` is the file's content when the client read it (the service cannot
/// read the requester's files); else the file is read here.
fn charter_for(
    tier: Tier,
    file: Option<&Path>,
    text: Option<&str>,
    now: Timestamp,
) -> Result<Option<CharterText>, Error> {
    let needs = matches!(tier, Tier::NotSelf | Tier::Extended);
    match (needs, file) {
        (true, None) => Err(Error::Usage(format!(
            "a `{tier}` grant needs `--charter FILE`: the situations and period it may be used for (see `charters/`)"
        ))),
        (false, Some(_)) => Err(Error::Usage(format!("a `{tier}` grant takes no charter"))),
        (false, None) => Ok(None),
        (true, Some(path)) => {
            let text = match text {
                Some(text) => text.to_string(),
                None => std::fs::read_to_string(path).map_err(|e| {
                    Error::Usage(format!("cannot read `{}`: {e}", path.display()))
                })?,
            };
            let charter = Charter::parse(path, &text)?;
            charter_fits_grant(&charter, tier, now).map_err(Error::Usage)?;
            Ok(Some(CharterText {
                name: charter.name,
                path: path.display().to_string(),
                text,
            }))
        }
    }
}

/// `adminibot approve GRANT_ID` (bureaucrats).
pub async fn approve(session: &mut Session, grant_id: i64) -> Result<Output, Error> {
    let approver = session.actor()?;
    may_act_as_bureaucrat(&approver.groups, "approve a `retired-admin` grant")
        .map_err(Error::Denied)?;
    let grant = session
        .store()?
        .grant(grant_id)?
        .ok_or_else(|| Error::Usage(format!("there is no grant #{grant_id}")))?;
    may_approve(&approver, &grant.user).map_err(Error::Denied)?;
    let now = session.now;
    let grant = session.store()?.approve_grant(grant_id, &approver, now)?;
    Ok(Output::ok(
        format!(
            "approved #{}: `{}` for `{}`, in force now\n",
            grant.id, grant.tier, grant.user.name
        ),
        json!({ "grant": grant_json(&grant, now) }),
    ))
}

/// `adminibot revoke --user USER [--tier TIER] [--reason TEXT]`
pub async fn revoke(
    session: &mut Session,
    user: &str,
    tier: Option<Tier>,
    reason: &str,
) -> Result<Output, Error> {
    let actor = session.actor()?;
    let user = session.user(user).await?;
    let now = session.now;
    let targets: Vec<Grant> = session
        .store()?
        .grants(Some(user.user_id))?
        .into_iter()
        .filter(|g| g.revocation.is_none() && tier.is_none_or(|t| g.tier == t))
        .collect();
    if targets.is_empty() {
        let which = tier.map_or(String::new(), |t| format!(" of tier `{t}`"));
        return Err(Error::Usage(format!(
            "`{}` holds no grant{which} to revoke",
            user.name
        )));
    }
    for grant in &targets {
        may_revoke(grant.tier, &actor.groups).map_err(Error::Denied)?;
    }
    let mut revoked = Vec::new();
    let mut text = String::new();
    for grant in targets {
        let grant = session
            .store()?
            .revoke_grant(grant.id, Some(&actor), reason, now)?;
        let _ = writeln!(
            text,
            "revoked #{}: `{}` of `{}`",
            grant.id, grant.tier, grant.user.name
        );
        revoked.push(grant_json(&grant, now));
    }
    Ok(Output::ok(text, json!({ "revoked": revoked })))
}

/// `adminibot issuers add|remove|list`
pub async fn issuers(session: &mut Session, command: &IssuersCommand) -> Result<Output, Error> {
    let now = session.now;
    match command {
        IssuersCommand::Add { user, tier } | IssuersCommand::Remove { user, tier } => {
            let actor = session.actor()?;
            let adding = matches!(command, IssuersCommand::Add { .. });
            may_act_as_bureaucrat(&actor.groups, "appoint or remove issuers")
                .map_err(Error::Denied)?;
            if *tier == Tier::Own {
                return Err(Error::Usage(
                    "every administrator may grant `self`; there are no `self` issuers".into(),
                ));
            }
            let user = session.user(user).await?;
            if adding && !user.in_group("sysop") {
                return Err(Error::Denied(format!(
                    "issuers must be administrators, and `{}` is not",
                    user.name
                )));
            }
            let store = session.store()?;
            if adding {
                store.add_issuer(&user_ref(&user), *tier, &actor, now)?;
            } else {
                store.remove_issuer(user.user_id, *tier, &actor, now)?;
            }
            let verb = if adding {
                "may now issue"
            } else {
                "may no longer issue"
            };
            Ok(Output::ok(
                format!("`{}` {verb} `{tier}`\n", user.name),
                json!({ "user": user.name, "user_id": user.user_id, "tier": tier, "issuer": adding }),
            ))
        }
        IssuersCommand::List => {
            let issuers = session.store()?.issuers()?;
            let mut text = String::new();
            if issuers.is_empty() {
                text.push_str("no issuers appointed\n");
            }
            for issuer in &issuers {
                let _ = writeln!(
                    text,
                    "{:<20} {:<14} appointed by `{}` at {}",
                    issuer.user.name,
                    issuer.tier.to_string(),
                    issuer.appointed_by.name,
                    format_time(issuer.at)
                );
            }
            let rows: Vec<Value> = issuers
                .iter()
                .map(|i| json!({ "user": i.user, "tier": i.tier, "appointed_by": i.appointed_by, "at": i.at }))
                .collect();
            Ok(Output::ok(text, json!({ "issuers": rows })))
        }
    }
}

/// `adminibot list [--user USER]`: every grant of the user, and why it is or is not in force.
pub async fn list(session: &mut Session, user: Option<&str>) -> Result<Output, Error> {
    let user = match user {
        Some(name) => session.user(name).await?,
        None => session.caller()?.clone(),
    };
    let now = session.now;
    let views = session.grant_views(Some(user.user_id))?;
    let store = session.store()?;
    let stopped = store.stopped()?;
    let suspension = store.active_suspension(user.user_id, now)?;
    let blocklisted = crate::authority::blocked_by(
        &store.blocklist()?,
        &crate::store::BlockTarget::User(user_ref(&user)),
    )
    .map(|e| e.reason.clone());

    let mut text = format!(
        "`{}` (user id {}) may use adminibot under:\n",
        user.name, user.user_id
    );
    if views.is_empty() {
        text.push_str("  no grant\n");
    }
    for view in &views {
        let _ = writeln!(text, "  {}", grant_line(view, now, false));
    }
    let mut blockers = Vec::new();
    if let Some(stop) = &stopped {
        blockers.push(format!(
            "adminibot is stopped: {} (by `{}`)",
            stop.reason, stop.by.name
        ));
    }
    if let Some(s) = &suspension {
        blockers.push(format!("suspended by `{}`: {}", s.by.name, s.reason));
    }
    if let Some(reason) = &user.blocked {
        blockers.push(format!("blocked on the wiki: {reason}"));
    }
    if let Some(reason) = &blocklisted {
        blockers.push(format!("on the blocklist: {reason}"));
    }
    for blocker in &blockers {
        let _ = writeln!(text, "  but nothing is acted on now: {blocker}");
    }
    let grants: Vec<Value> = views.iter().map(|v| grant_json(&v.grant, now)).collect();
    Ok(Output::ok(
        text,
        json!({ "user": user.name, "user_id": user.user_id, "grants": grants, "blocked_by": blockers }),
    ))
}

/// `list --all`: every grant in force now (active, or waiting for its
/// approval or its start), each with its holder, issuer, charter and end;
/// `grants` has the entries `list` prints.
pub fn list_all(session: &mut Session) -> Result<Output, Error> {
    let now = session.now;
    let views: Vec<GrantView> = session
        .grant_views(None)?
        .into_iter()
        .filter(|v| {
            matches!(
                v.state(now),
                GrantState::Active | GrantState::Pending | GrantState::NotYet(_)
            )
        })
        .collect();
    let mut text = format!("{} grant(s) in force:\n", views.len());
    for view in &views {
        let _ = writeln!(text, "  {}", grant_line(view, now, true));
    }
    let signatures = grant_signatures(&session.store()?.audit(&AuditFilter::default())?);
    let grants: Vec<Value> = views
        .iter()
        .map(|v| {
            let mut entry = grant_json(&v.grant, now);
            entry["signature"] = signatures.get(&v.grant.id).cloned().unwrap_or(Value::Null);
            entry
        })
        .collect();
    Ok(Output::ok(text, json!({ "grants": grants })))
}

/// One grant as `list` prints it: its number, (its holder,) tier, state,
/// charter, end and issuer.
fn grant_line(view: &GrantView, now: Timestamp, holder: bool) -> String {
    let grant = &view.grant;
    let charter = grant
        .charter
        .as_ref()
        .map_or("no charter".to_string(), |c| {
            format!("charter `{}`", c.name)
        });
    let ends = view
        .ends_at()
        .map_or("no end".to_string(), |e| format!("ends {}", format_time(e)));
    let holder = if holder {
        format!("`{}` ", grant.user.name)
    } else {
        String::new()
    };
    format!(
        "#{:<4} {holder}{:<14} {}; {charter}; {ends}; issued by `{}`",
        grant.id,
        grant.tier.to_string(),
        view.state(now).describe(),
        grant.issuer.name
    )
}

/// Each grant's signature, from the audit log: the revision (and page) of the
/// issuer's `signed` row the grant follows. Grants recorded in one process
/// (tests, the direct mode) have none.
fn grant_signatures(rows: &[AuditRow]) -> std::collections::HashMap<i64, Value> {
    let mut last_signed: std::collections::HashMap<u64, &AuditRow> = Default::default();
    let mut found = std::collections::HashMap::new();
    for row in rows {
        if row.kind == crate::store::SIGNED {
            if let Some(signer) = &row.subject {
                last_signed.insert(signer.user_id, row);
            }
            continue;
        }
        let (Some(actor), Some(id)) = (&row.actor, row.detail["grant"].as_i64()) else {
            continue;
        };
        if row.kind != crate::store::kind::GRANT {
            continue;
        }
        if let Some(signed) = last_signed.get(&actor.user_id) {
            found.insert(
                id,
                json!({ "revid": signed.detail["revid"], "page": signed.detail["page"] }),
            );
        }
    }
    found
}

/// A grant for JSON output, with its state now.
fn grant_json(grant: &Grant, now: Timestamp) -> Value {
    let view = GrantView::new(grant.clone());
    json!({
        "id": grant.id,
        "user": grant.user,
        "tier": grant.tier,
        "issuer": grant.issuer,
        "charter": grant.charter.as_ref().map(|c| json!({ "name": c.name, "sha256": c.sha256 })),
        "starts_at": grant.starts_at,
        "expires_at": grant.expires_at,
        "ends_at": view.ends_at(),
        "reason": grant.reason,
        "approved": grant.approval.is_some(),
        "revoked": grant.revocation.is_some(),
        "state": view.state(now).describe(),
        "active": view.state(now) == GrantState::Active,
    })
}
