//! Who may ask for what, and who may hand out what: pure functions over the
//! store's records, the proven groups of the people involved, and `now`.
//!
//! [`authorise`] is the gate in front of the safety rules: the stop switch,
//! suspensions, wiki blocks, blocklists, then the requester's grants with their
//! charters. The `may_*` functions are the issuing rules of DESIGN.md's tier table,
//! checked against the issuer's groups as the wiki reports them at that moment.

use crate::charter::{Charter, CharterRequest, LiveFacts};
use crate::facts::Timestamp;
use crate::model::{Action, Tier};
use crate::rules::rules_for;
use crate::store::{Actor, BlockEntry, BlockTarget, Grant, Stop, Suspension, UserRef};
use std::collections::BTreeMap;
use std::path::Path;

pub mod limits;

/// Tiers from least to most privileged: a request uses the least one that covers it.
pub const TIERS_BY_PRIVILEGE: [Tier; 4] =
    [Tier::Own, Tier::NotSelf, Tier::Extended, Tier::RetiredAdmin];

/// Whether a grant counts at `now`, and if not, why.
#[derive(Debug, Clone, PartialEq)]
pub enum GrantState {
    /// In force.
    Active,
    /// A `retired-admin` grant waiting for a bureaucrat's approval.
    Pending,
    /// Revoked (by someone, or automatically when its charter ended).
    Revoked {
        /// When.
        at: Timestamp,
        /// Why.
        reason: String,
    },
    /// Starts later.
    NotYet(Timestamp),
    /// Its own expiry has passed.
    Expired(Timestamp),
    /// Its charter's window has ended.
    CharterEnded(Timestamp),
    /// The charter text stored with the grant no longer parses: doubt, so inactive.
    CharterInvalid(String),
}

impl GrantState {
    /// A one-line explanation for `list` and refusals.
    pub fn describe(&self) -> String {
        let t = |t: &Timestamp| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        match self {
            GrantState::Active => "active".into(),
            GrantState::Pending => "pending: a bureaucrat must `adminibot approve` it".into(),
            GrantState::Revoked { at, reason } => format!("revoked at {}: {reason}", t(at)),
            GrantState::NotYet(at) => format!("starts at {}", t(at)),
            GrantState::Expired(at) => format!("expired at {}", t(at)),
            GrantState::CharterEnded(at) => format!("its charter ended at {}", t(at)),
            GrantState::CharterInvalid(why) => format!("its charter cannot be read: {why}"),
        }
    }
}

/// A grant with its charter parsed from the text stored at grant time.
#[derive(Debug, Clone)]
pub struct GrantView {
    /// The stored grant.
    pub grant: Grant,
    /// Its charter, if it has one; `Err` if the stored text does not parse.
    pub charter: Option<Result<Charter, String>>,
}

impl GrantView {
    /// Parses the grant's stored charter text.
    pub fn new(grant: Grant) -> Self {
        let charter = grant.charter.as_ref().map(|stored| {
            Charter::parse(Path::new(&stored.path), &stored.text).map_err(|e| e.to_string())
        });
        GrantView { grant, charter }
    }

    /// When the grant stops counting on its own: its expiry or its charter's end.
    pub fn ends_at(&self) -> Option<Timestamp> {
        let charter_end = match &self.charter {
            Some(Ok(charter)) => charter.ends_at(self.grant.starts_at),
            _ => None,
        };
        match (self.grant.expires_at, charter_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the grant counts at `now`.
    pub fn state(&self, now: Timestamp) -> GrantState {
        let grant = &self.grant;
        if let Some(revocation) = &grant.revocation {
            return GrantState::Revoked {
                at: revocation.at,
                reason: revocation.reason.clone(),
            };
        }
        if let Some(Err(why)) = &self.charter {
            return GrantState::CharterInvalid(why.clone());
        }
        if grant.tier == Tier::RetiredAdmin && grant.approval.is_none() {
            return GrantState::Pending;
        }
        if now < grant.starts_at {
            return GrantState::NotYet(grant.starts_at);
        }
        if let Some(expiry) = grant.expires_at.filter(|e| now >= *e) {
            return GrantState::Expired(expiry);
        }
        if let Some(Ok(charter)) = &self.charter {
            if let Some(end) = charter.ends_at(grant.starts_at).filter(|e| now >= *e) {
                return GrantState::CharterEnded(end);
            }
        }
        GrantState::Active
    }

    /// Whether the grant ended by itself and still needs its automatic revocation
    /// recorded ("revoked by the bot itself at the expiration of the charter").
    pub fn needs_automatic_revocation(&self, now: Timestamp) -> bool {
        matches!(
            self.state(now),
            GrantState::Expired(_) | GrantState::CharterEnded(_)
        )
    }
}

/// Everything outside the grants that can stop a request.
#[derive(Debug, Clone, Copy)]
pub struct Gates<'a> {
    /// The local stop switch, if on.
    pub stopped: Option<&'a Stop>,
    /// The requester's suspension, if any is active.
    pub suspension: Option<&'a Suspension>,
    /// The requester's block on the wiki, if blocked.
    pub wiki_block: Option<&'a str>,
    /// The current blocklist entries.
    pub blocklist: &'a [BlockEntry],
}

/// The request the gate judges.
#[derive(Debug, Clone)]
pub struct AuthorityRequest<'a> {
    /// Who asks.
    pub requester: &'a UserRef,
    /// What for.
    pub action: Action,
    /// The normalised page title.
    pub title: &'a str,
    /// Its namespace.
    pub namespace: i64,
    /// Templates the page carries now, for charter criteria.
    pub page_templates: &'a [String],
    /// Only grants of this tier count, when given (`check --tier`).
    pub tier: Option<Tier>,
    /// The moment of the request.
    pub now: Timestamp,
}

/// A grant that covers the request.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// The grant.
    pub grant_id: i64,
    /// Its tier, which decides the safety rules.
    pub tier: Tier,
    /// The name of its charter, if it has one.
    pub charter: Option<String>,
    /// Why it covers the request (charter details included).
    pub reason: String,
}

/// The gate's answer.
#[must_use = "the gate decides whether the safety rules even run"]
#[derive(Debug, Clone, PartialEq)]
pub enum Authority {
    /// These grants cover the request, least privileged first.
    Covered(Vec<Coverage>),
    /// Nothing covers it; every reason found.
    Refused(Vec<String>),
}

/// Whether a page title matches a blocklist pattern (`Foo` exactly, or `Foo/*` as a prefix).
pub fn page_matches(pattern: &str, title: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => title.starts_with(prefix),
        None => pattern == title,
    }
}

/// The blocklist entry that blocks `target`, unless an exception lets it through.
pub fn blocked_by<'a>(blocklist: &'a [BlockEntry], target: &BlockTarget) -> Option<&'a BlockEntry> {
    let matches = |entry: &&BlockEntry| match (&entry.target, target) {
        (BlockTarget::Page(pattern), BlockTarget::Page(title)) => page_matches(pattern, title),
        (BlockTarget::User(listed), BlockTarget::User(user)) => listed.user_id == user.user_id,
        _ => false,
    };
    let excepted = blocklist
        .iter()
        .filter(|e| e.exception)
        .any(|e| matches(&e));
    if excepted {
        return None;
    }
    blocklist.iter().filter(|e| !e.exception).find(matches)
}

/// The authority gate: gates first, then the requester's grants and charters.
/// `live` holds what the wiki said about each live-condition category.
pub fn authorise(
    request: &AuthorityRequest,
    gates: &Gates,
    grants: &[GrantView],
    live: &BTreeMap<String, LiveFacts>,
) -> Authority {
    let who = &request.requester.name;
    let mut refusals = Vec::new();
    if let Some(stop) = gates.stopped {
        refusals.push(format!(
            "adminibot is stopped: `{}` pressed the stop switch: {} (an administrator can `adminibot resume`)",
            stop.by.name, stop.reason
        ));
    }
    if let Some(suspension) = gates.suspension {
        let until = suspension.until.map_or("until lifted".to_string(), |u| {
            format!("until {}", u.format("%Y-%m-%dT%H:%M:%SZ"))
        });
        refusals.push(format!(
            "`{who}` is suspended {until} by `{}`: {}",
            suspension.by.name, suspension.reason
        ));
    }
    if let Some(reason) = gates.wiki_block {
        refusals.push(format!("`{who}` is blocked on the wiki: {reason}"));
    }
    if let Some(entry) = blocked_by(
        gates.blocklist,
        &BlockTarget::User(request.requester.clone()),
    ) {
        refusals.push(format!("`{who}` is on the blocklist: {}", entry.reason));
    }
    if let Some(entry) = blocked_by(
        gates.blocklist,
        &BlockTarget::Page(request.title.to_string()),
    ) {
        let pattern = match &entry.target {
            BlockTarget::Page(p) => p.as_str(),
            BlockTarget::User(_) => "",
        };
        refusals.push(format!(
            "`{}` is on the page blocklist (`{pattern}`): {}",
            request.title, entry.reason
        ));
    }
    if !refusals.is_empty() {
        return Authority::Refused(refusals);
    }

    let mine: Vec<&GrantView> = grants
        .iter()
        .filter(|g| g.grant.user.user_id == request.requester.user_id)
        .collect();
    if mine.is_empty() {
        return Authority::Refused(vec![format!(
            "`{who}` holds no grant (an administrator can `adminibot grant --user \"{who}\" --tier self`)"
        )]);
    }
    let mut covered = Vec::new();
    for tier in TIERS_BY_PRIVILEGE {
        for view in mine.iter().filter(|g| g.grant.tier == tier) {
            match judge_grant(view, request, live) {
                Ok(reason) => covered.push(Coverage {
                    grant_id: view.grant.id,
                    tier,
                    charter: view.grant.charter.as_ref().map(|c| c.name.clone()),
                    reason,
                }),
                Err(reason) => {
                    refusals.push(format!("grant #{} ({tier}): {reason}", view.grant.id))
                }
            }
        }
    }
    if covered.is_empty() {
        Authority::Refused(refusals)
    } else {
        Authority::Covered(covered)
    }
}

fn judge_grant(
    view: &GrantView,
    request: &AuthorityRequest,
    live: &BTreeMap<String, LiveFacts>,
) -> Result<String, String> {
    let grant = &view.grant;
    if request.tier.is_some_and(|t| t != grant.tier) {
        return Err(format!(
            "not the requested tier `{}`",
            request.tier.unwrap()
        ));
    }
    let state = view.state(request.now);
    if state != GrantState::Active {
        return Err(state.describe());
    }
    if rules_for(request.action, grant.tier).is_none() {
        return Err(format!(
            "tier `{}` does not cover `{}`",
            grant.tier, request.action
        ));
    }
    let issued = format!(
        "grant #{} ({}) issued by `{}`",
        grant.id, grant.tier, grant.issuer.name
    );
    match &view.charter {
        None => Ok(issued),
        Some(Err(why)) => Err(format!("its charter cannot be read: {why}")),
        Some(Ok(charter)) => {
            let check = charter.covers(&CharterRequest {
                tier: grant.tier,
                action: request.action,
                namespace: request.namespace,
                page_templates: request.page_templates,
                grant_start: grant.starts_at,
                now: request.now,
                live: charter
                    .live
                    .as_ref()
                    .and_then(|l| live.get(&l.category).cloned()),
            });
            if check.covered {
                Ok(format!("{issued}; {}", check.reasons.join("; ")))
            } else {
                Err(check.reasons.join("; "))
            }
        }
    }
}

/// The groups that make someone an administrator and a bureaucrat.
const SYSOP: &str = "sysop";
const BUREAUCRAT: &str = "bureaucrat";

fn has(groups: &[String], group: &str) -> bool {
    groups.iter().any(|g| g == group)
}

/// Whether someone with `groups` may issue `tier`; `appointed` says whether a
/// bureaucrat appointed them as an issuer for it. `Ok(true)` means the grant is
/// in force at once, `Ok(false)` that it waits for a bureaucrat's approval.
pub fn may_grant(tier: Tier, groups: &[String], appointed: bool) -> Result<bool, String> {
    let sysop = has(groups, SYSOP);
    let bureaucrat = has(groups, BUREAUCRAT);
    match tier {
        Tier::Own if sysop => Ok(true),
        Tier::Own => Err("only an administrator may grant `self`".into()),
        Tier::NotSelf if sysop && appointed => Ok(true),
        Tier::NotSelf => Err("only an administrator whom a bureaucrat appointed as `not-self` issuer may grant `not-self`".into()),
        Tier::RetiredAdmin if sysop && appointed => Ok(bureaucrat),
        Tier::RetiredAdmin => Err("only an administrator whom a bureaucrat appointed as `retired-admin` issuer may grant `retired-admin`".into()),
        Tier::Extended if bureaucrat || (sysop && appointed) => Ok(true),
        Tier::Extended => Err("only a bureaucrat, or an administrator a bureaucrat appointed as `extended` issuer, may grant `extended`".into()),
    }
}

/// Whether someone with `groups` may revoke a grant of `tier`.
pub fn may_revoke(tier: Tier, groups: &[String]) -> Result<(), String> {
    if has(groups, SYSOP) || (tier == Tier::RetiredAdmin && has(groups, BUREAUCRAT)) {
        Ok(())
    } else if tier == Tier::RetiredAdmin {
        Err("only an administrator or a bureaucrat may revoke `retired-admin`".into())
    } else {
        Err(format!("only an administrator may revoke `{tier}`"))
    }
}

/// Bureaucrats approve `retired-admin` grants and appoint issuers.
pub fn may_act_as_bureaucrat(groups: &[String], what: &str) -> Result<(), String> {
    if has(groups, BUREAUCRAT) {
        Ok(())
    } else {
        Err(format!("only a bureaucrat may {what}"))
    }
}

/// "Retired administrators in good standing": the grantee is not an
/// administrator now (they need no grant), and the rights log shows they once were.
pub fn may_receive_retired_admin(
    name: &str,
    sysop_now: bool,
    was_sysop: bool,
) -> Result<(), String> {
    if sysop_now {
        Err(format!(
            "`{name}` is an administrator now and needs no `retired-admin` grant"
        ))
    } else if !was_sysop {
        Err(format!(
            "the rights log does not show `{name}` was ever an administrator, so `retired-admin` cannot be granted"
        ))
    } else {
        Ok(())
    }
}

/// A bureaucrat approves a pending grant, but never their own.
pub fn may_approve(approver: &Actor, grantee: &UserRef) -> Result<(), String> {
    may_act_as_bureaucrat(&approver.groups, "approve a `retired-admin` grant")?;
    if grantee.user_id == approver.user_id {
        return Err("nobody may approve their own grant".into());
    }
    Ok(())
}

/// Whether `charter` may be attached to a grant of `tier` starting `now`: it is
/// written for that tier, and its period has not already ended (such a grant
/// could never be used).
pub fn charter_fits_grant(charter: &Charter, tier: Tier, now: Timestamp) -> Result<(), String> {
    if !charter.tiers.contains(&tier) {
        let tiers: Vec<String> = charter.tiers.iter().map(|t| format!("`{t}`")).collect();
        return Err(format!(
            "charter `{}` is for tier(s) {}, not `{tier}`",
            charter.name,
            tiers.join(", ")
        ));
    }
    if let Some(end) = charter.ends_at(now).filter(|&end| end <= now) {
        return Err(format!(
            "charter `{}` ended at {}: a grant under it could never be used; write a charter for the new period (see `charters/`)",
            charter.name,
            crate::when::format_time(end)
        ));
    }
    Ok(())
}

/// Administrators suspend, unsuspend, resume and keep the blocklists.
pub fn may_act_as_administrator(groups: &[String], what: &str) -> Result<(), String> {
    if has(groups, SYSOP) {
        Ok(())
    } else {
        Err(format!("only an administrator may {what}"))
    }
}

#[cfg(test)]
mod tests;
