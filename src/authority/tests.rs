//! The authority gate and the issuing rules, one test per decision of DESIGN.md's
//! tier table and the proposal's sections on tiers.

use super::*;
use crate::store::{Actor, Approval, Revocation, StoredCharter};
use chrono::{DateTime, Duration, Utc};

fn now() -> Timestamp {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn alice() -> UserRef {
    UserRef {
        user_id: 10,
        name: "Alice".into(),
    }
}

fn admin() -> Actor {
    Actor {
        user_id: 1,
        name: "Admin".into(),
        groups: vec!["sysop".into(), "bureaucrat".into()],
    }
}

fn groups(names: &[&str]) -> Vec<String> {
    names.iter().map(|g| g.to_string()).collect()
}

fn grant(id: i64, tier: Tier, charter: Option<&str>) -> Grant {
    Grant {
        id,
        user: alice(),
        tier,
        issuer: admin(),
        charter: charter.map(|text| StoredCharter {
            id: 1,
            name: "test".into(),
            path: "charters/test.toml".into(),
            text: text.into(),
            sha256: "0".repeat(64),
        }),
        starts_at: now() - Duration::days(1),
        expires_at: None,
        reason: String::new(),
        created_at: now() - Duration::days(1),
        approval: (tier == Tier::RetiredAdmin).then(|| Approval {
            by: admin(),
            at: now() - Duration::days(1),
        }),
        revocation: None,
    }
}

const NOT_SELF_CHARTER: &str = r#"
name = "test"
description = "db-author pages in main space for 30 days"
tiers = ["not-self"]
actions = ["delete"]
criteria = ["Db-author"]
namespaces = [0]
valid_for = "30d"
"#;

fn request<'a>(action: Action, templates: &'a [String]) -> AuthorityRequest<'a> {
    static ALICE: std::sync::OnceLock<UserRef> = std::sync::OnceLock::new();
    AuthorityRequest {
        requester: ALICE.get_or_init(alice),
        action,
        title: "Some page",
        namespace: 0,
        page_templates: templates,
        tier: None,
        now: now(),
    }
}

fn no_gates() -> Gates<'static> {
    Gates {
        stopped: None,
        suspension: None,
        wiki_block: None,
        blocklist: &[],
    }
}

fn views(grants: Vec<Grant>) -> Vec<GrantView> {
    grants.into_iter().map(GrantView::new).collect()
}

fn refused(authority: Authority) -> String {
    match authority {
        Authority::Refused(reasons) => reasons.join("; "),
        Authority::Covered(c) => panic!("expected a refusal, got {c:?}"),
    }
}

/// "All users must be granted specific permission to do a specific type of act"
#[test]
fn no_grant_no_authority() {
    let reason = refused(authorise(
        &request(Action::Delete, &[]),
        &no_gates(),
        &[],
        &BTreeMap::new(),
    ));
    assert!(reason.contains("holds no grant"), "{reason}");
}

#[test]
fn a_self_grant_covers_delete_and_undelete() {
    let grants = views(vec![grant(1, Tier::Own, None)]);
    for action in [Action::Delete, Action::Undelete] {
        match authorise(
            &request(action, &[]),
            &no_gates(),
            &grants,
            &BTreeMap::new(),
        ) {
            Authority::Covered(c) => assert_eq!((c[0].grant_id, c[0].tier), (1, Tier::Own)),
            other => panic!("{other:?}"),
        }
    }
    let reason = refused(authorise(
        &request(Action::DeleteRedirect, &[]),
        &no_gates(),
        &grants,
        &BTreeMap::new(),
    ));
    assert!(
        reason.contains("does not cover `delete-redirect`"),
        "{reason}"
    );
}

/// "Any editor in good standing can stop the bot entirely ("emergency off switch")
/// and any administrator can suspend them for a given user on an emergency basis."
#[test]
fn stop_switch_suspension_and_blocks_refuse_before_grants() {
    let grants = views(vec![grant(1, Tier::Own, None)]);
    let stop = Stop {
        by: admin(),
        reason: "bug".into(),
        at: now(),
    };
    let gates = Gates {
        stopped: Some(&stop),
        ..no_gates()
    };
    assert!(refused(authorise(
        &request(Action::Delete, &[]),
        &gates,
        &grants,
        &BTreeMap::new()
    ))
    .contains("stopped"));
    let suspension = Suspension {
        user: alice(),
        by: admin(),
        reason: "misuse".into(),
        at: now(),
        until: None,
    };
    let gates = Gates {
        suspension: Some(&suspension),
        ..no_gates()
    };
    assert!(refused(authorise(
        &request(Action::Delete, &[]),
        &gates,
        &grants,
        &BTreeMap::new()
    ))
    .contains("suspended"));
    let gates = Gates {
        wiki_block: Some("vandalism"),
        ..no_gates()
    };
    assert!(refused(authorise(
        &request(Action::Delete, &[]),
        &gates,
        &grants,
        &BTreeMap::new()
    ))
    .contains("blocked on the wiki"));
}

#[test]
fn blocklist_entries_and_exceptions() {
    let entry = |target: BlockTarget, exception: bool| BlockEntry {
        target,
        exception,
        reason: "sensitive".into(),
        by: admin(),
        at: now(),
    };
    let list = vec![
        entry(BlockTarget::Page("User:Alice/*".into()), false),
        entry(BlockTarget::Page("User:Alice/Sandbox".into()), true),
        entry(
            BlockTarget::User(UserRef {
                user_id: 11,
                name: "Bob".into(),
            }),
            false,
        ),
    ];
    assert!(blocked_by(&list, &BlockTarget::Page("User:Alice/Notes".into())).is_some());
    assert!(blocked_by(&list, &BlockTarget::Page("User:Alice/Sandbox".into())).is_none());
    assert!(blocked_by(&list, &BlockTarget::Page("User:Alice2/Notes".into())).is_none());
    assert!(blocked_by(
        &list,
        &BlockTarget::User(UserRef {
            user_id: 11,
            name: "Bob".into()
        })
    )
    .is_some());
    assert!(blocked_by(&list, &BlockTarget::User(alice())).is_none());
    let grants = views(vec![grant(1, Tier::Own, None)]);
    let gates = Gates {
        blocklist: &list,
        ..no_gates()
    };
    let mut req = request(Action::Delete, &[]);
    req.title = "User:Alice/Notes";
    assert!(refused(authorise(&req, &gates, &grants, &BTreeMap::new())).contains("page blocklist"));
}

/// "No use outside the charter beyond the user's other permissions"
#[test]
fn a_charter_limits_a_not_self_grant() {
    let grants = views(vec![grant(2, Tier::NotSelf, Some(NOT_SELF_CHARTER))]);
    let tagged = vec!["Db-author".to_string()];
    match authorise(
        &request(Action::Delete, &tagged),
        &no_gates(),
        &grants,
        &BTreeMap::new(),
    ) {
        Authority::Covered(c) => assert_eq!(c[0].tier, Tier::NotSelf),
        other => panic!("{other:?}"),
    }
    let reason = refused(authorise(
        &request(Action::Delete, &[]),
        &no_gates(),
        &grants,
        &BTreeMap::new(),
    ));
    assert!(reason.starts_with("grant #2 (not-self): "), "{reason}");
}

/// "Recommended that it be revoked by the bot itself at the expiration of the charter."
#[test]
fn a_charter_ends_its_grant() {
    let mut old = grant(2, Tier::NotSelf, Some(NOT_SELF_CHARTER));
    old.starts_at = now() - Duration::days(31);
    let view = GrantView::new(old);
    assert!(matches!(view.state(now()), GrantState::CharterEnded(_)));
    assert!(view.needs_automatic_revocation(now()));
    let tagged = vec!["Db-author".to_string()];
    let reason = refused(authorise(
        &request(Action::Delete, &tagged),
        &no_gates(),
        &[view],
        &BTreeMap::new(),
    ));
    assert!(reason.contains("charter ended"), "{reason}");
}

#[test]
fn revoked_expired_pending_and_future_grants_do_not_count() {
    let mut revoked = grant(1, Tier::Own, None);
    revoked.revocation = Some(Revocation {
        by: Some(admin()),
        reason: "misuse".into(),
        at: now(),
    });
    assert!(matches!(
        GrantView::new(revoked).state(now()),
        GrantState::Revoked { .. }
    ));
    let mut expired = grant(1, Tier::Own, None);
    expired.expires_at = Some(now() - Duration::hours(1));
    assert_eq!(
        GrantView::new(expired).state(now()),
        GrantState::Expired(now() - Duration::hours(1))
    );
    let mut pending = grant(1, Tier::RetiredAdmin, None);
    pending.approval = None;
    assert_eq!(GrantView::new(pending).state(now()), GrantState::Pending);
    let mut future = grant(1, Tier::Own, None);
    future.starts_at = now() + Duration::hours(1);
    assert!(matches!(
        GrantView::new(future).state(now()),
        GrantState::NotYet(_)
    ));
    let broken = GrantView::new(grant(1, Tier::NotSelf, Some("name = ")));
    assert!(matches!(broken.state(now()), GrantState::CharterInvalid(_)));
}

#[test]
fn the_least_privileged_covering_grant_comes_first() {
    let grants = views(vec![
        grant(5, Tier::RetiredAdmin, None),
        grant(6, Tier::Own, None),
    ]);
    match authorise(
        &request(Action::Delete, &[]),
        &no_gates(),
        &grants,
        &BTreeMap::new(),
    ) {
        Authority::Covered(c) => {
            assert_eq!(c.iter().map(|c| c.grant_id).collect::<Vec<_>>(), vec![6, 5]);
        }
        other => panic!("{other:?}"),
    }
    let mut only_retired = request(Action::Delete, &[]);
    only_retired.tier = Some(Tier::RetiredAdmin);
    match authorise(&only_retired, &no_gates(), &grants, &BTreeMap::new()) {
        Authority::Covered(c) => assert_eq!(c.len(), 1),
        other => panic!("{other:?}"),
    }
}

/// Self: "Issued by: Any administrator".
#[test]
fn any_administrator_may_grant_self() {
    assert_eq!(may_grant(Tier::Own, &groups(&["sysop"]), false), Ok(true));
    assert!(may_grant(Tier::Own, &groups(&["rollbacker"]), false).is_err());
}

/// Not self: "Issued by: Person authorized to hand out this credential, who is
/// presumably also an administrator."
#[test]
fn not_self_needs_an_appointed_administrator() {
    assert_eq!(
        may_grant(Tier::NotSelf, &groups(&["sysop"]), true),
        Ok(true)
    );
    assert!(may_grant(Tier::NotSelf, &groups(&["sysop"]), false).is_err());
    assert!(may_grant(Tier::NotSelf, &groups(&[]), true).is_err());
}

/// Retired administrators: "Issued by: Person authorized to hand out this
/// credential, who is presumably also an administrator AND who is presumably
/// authorized by a bureaucrat."
#[test]
fn retired_admin_waits_for_a_bureaucrat_unless_one_issued_it() {
    assert_eq!(
        may_grant(Tier::RetiredAdmin, &groups(&["sysop"]), true),
        Ok(false)
    );
    assert_eq!(
        may_grant(Tier::RetiredAdmin, &groups(&["sysop", "bureaucrat"]), true),
        Ok(true)
    );
    assert!(may_grant(Tier::RetiredAdmin, &groups(&["sysop"]), false).is_err());
}

/// Extended: "In most cases this will be either a bureaucrat or a an administrator
/// who has been recommended by the community and appointed by a bureaucrat."
#[test]
fn extended_by_a_bureaucrat_or_an_appointed_administrator() {
    assert_eq!(
        may_grant(Tier::Extended, &groups(&["bureaucrat"]), false),
        Ok(true)
    );
    assert_eq!(
        may_grant(Tier::Extended, &groups(&["sysop"]), true),
        Ok(true)
    );
    assert!(may_grant(Tier::Extended, &groups(&["sysop"]), false).is_err());
}

/// "Revoked by: Any administrator" (retired administrators: "Any administrator or bureaucrat").
#[test]
fn revocation_rules() {
    for tier in [Tier::Own, Tier::NotSelf, Tier::Extended, Tier::RetiredAdmin] {
        assert!(may_revoke(tier, &groups(&["sysop"])).is_ok());
        assert!(may_revoke(tier, &groups(&["rollbacker"])).is_err());
    }
    assert!(may_revoke(Tier::RetiredAdmin, &groups(&["bureaucrat"])).is_ok());
    assert!(may_revoke(Tier::Own, &groups(&["bureaucrat"])).is_err());
}

/// Retired administrators: "Be eligible to resume adminship by just asking": not
/// an administrator now, and once one.
#[test]
fn retired_admin_goes_only_to_former_administrators() {
    assert_eq!(may_receive_retired_admin("OldAdmin", false, true), Ok(()));
    let now_sysop = may_receive_retired_admin("Admin", true, true).unwrap_err();
    assert!(now_sysop.contains("is an administrator now"), "{now_sysop}");
    let never = may_receive_retired_admin("Alice", false, false).unwrap_err();
    assert!(never.contains("was ever an administrator"), "{never}");
}

/// A `retired-admin` grant is "authorized by a bureaucrat", never by its grantee.
#[test]
fn a_bureaucrat_approves_but_not_their_own_grant() {
    assert_eq!(may_approve(&admin(), &alice()), Ok(()));
    let own = may_approve(&admin(), &UserRef::from(&admin())).unwrap_err();
    assert!(own.contains("their own grant"), "{own}");
    let sysop_only = Actor {
        groups: groups(&["sysop"]),
        ..admin()
    };
    let refused = may_approve(&sysop_only, &alice()).unwrap_err();
    assert!(refused.contains("only a bureaucrat"), "{refused}");
}

/// "No use outside the charter": a charter is attached only to the tiers it is
/// written for, and not once its period is over.
#[test]
fn a_charter_fits_its_tiers_and_period_only() {
    let path = Path::new("charters/test.toml");
    let charter = Charter::parse(path, NOT_SELF_CHARTER).unwrap();
    assert_eq!(charter_fits_grant(&charter, Tier::NotSelf, now()), Ok(()));
    let other = charter_fits_grant(&charter, Tier::Extended, now()).unwrap_err();
    assert!(
        other.contains("is for tier(s) `not-self`, not `extended`"),
        "{other}"
    );
    let ended_text = format!("{NOT_SELF_CHARTER}not_after = \"2026-11-20T00:00:00Z\"\n");
    let ended = Charter::parse(path, &ended_text).unwrap();
    let refused = charter_fits_grant(&ended, Tier::NotSelf, now()).unwrap_err();
    assert!(
        refused.contains("ended at 2026-11-20T00:00:00Z"),
        "{refused}"
    );
}
