//! Is this revision the requester's signature of this request? Pure: the
//! revision as the wiki reported it, the proposal as the service issued it, and
//! `now` go in; a typed refusal comes out.
//!
//! The signature is the proposal's attribution edit: "a null edit will be made in
//! the name of the actual editor with a note that the next [...] deletion [...] is
//! being made on behalf of the requesting editor". The wiki proves who saved it;
//! the service proves it was saved for this request, once, in time.

use crate::facts::Timestamp;
use crate::when::format_time;

/// A revision as the wiki reports it (`prop=revisions&revids=N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRevision {
    /// Its id.
    pub revid: u64,
    /// The page it was saved on, as the wiki spells the title.
    pub page: String,
    /// The saver's user id; `None` when the wiki hides it or an IP saved it.
    pub user_id: Option<u64>,
    /// The saver's name, for messages.
    pub user: String,
    /// When it was saved.
    pub timestamp: Timestamp,
    /// Its edit summary; `None` when hidden.
    pub summary: Option<String>,
}

/// What the signature must match: the proposal as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The request id.
    pub request_id: &'a str,
    /// The requester's user id.
    pub user_id: u64,
    /// The requester's attribution page.
    pub page: &'a str,
    /// The exact summary issued (it names the request id, the action and the title).
    pub summary: &'a str,
    /// When the proposal was issued, in whole seconds.
    pub proposed_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// Why a revision does not sign a request. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The proposal expired before it was executed.
    #[error("request {request_id} expired at {}: propose it again", format_time(*expired_at))]
    Expired {
        /// The request id.
        request_id: String,
        /// When it expired.
        expired_at: Timestamp,
    },
    /// The revision is on another page than the requester's attribution page.
    #[error(
        "revision {revid} is on `{got}`, not on the requester's attribution page `{expected}`"
    )]
    WrongPage {
        /// The revision.
        revid: u64,
        /// The attribution page.
        expected: String,
        /// Where it was saved.
        got: String,
    },
    /// Someone other than the requester saved the revision.
    #[error("revision {revid} was saved by `{user}` (user id {got}), not by the requester (user id {expected})")]
    WrongUser {
        /// The revision.
        revid: u64,
        /// The saver's name.
        user: String,
        /// The requester's user id.
        expected: u64,
        /// The saver's user id (`hidden` when the wiki hides it).
        got: String,
    },
    /// The revision was saved before the request was proposed.
    #[error("revision {revid} was saved at {}, before request {request_id} was proposed at {}", format_time(*saved_at), format_time(*proposed_at))]
    Before {
        /// The revision.
        revid: u64,
        /// The request id.
        request_id: String,
        /// When it was saved.
        saved_at: Timestamp,
        /// When the request was proposed.
        proposed_at: Timestamp,
    },
    /// The revision was saved after the proposal expired.
    #[error("revision {revid} was saved at {}, after request {request_id} expired at {}", format_time(*saved_at), format_time(*expires_at))]
    Late {
        /// The revision.
        revid: u64,
        /// The request id.
        request_id: String,
        /// When it was saved.
        saved_at: Timestamp,
        /// When the request expired.
        expires_at: Timestamp,
    },
    /// The revision's summary is not the one issued for this request.
    #[error("revision {revid} does not name request {request_id}: its summary is {got:?}, the request's is {expected:?}")]
    Unnamed {
        /// The revision.
        revid: u64,
        /// The request id.
        request_id: String,
        /// The summary issued.
        expected: String,
        /// The revision's summary (`None`: hidden).
        got: Option<String>,
    },
}

/// Checks that `revision` signs the request `expected` describes, at `now`.
pub fn verify(
    expected: &Expected<'_>,
    revision: &SignatureRevision,
    now: Timestamp,
) -> Result<(), Refusal> {
    let revid = revision.revid;
    let request_id = expected.request_id.to_string();
    if now > expected.expires_at {
        return Err(Refusal::Expired {
            request_id,
            expired_at: expected.expires_at,
        });
    }
    if revision.page != expected.page {
        return Err(Refusal::WrongPage {
            revid,
            expected: expected.page.to_string(),
            got: revision.page.clone(),
        });
    }
    if revision.user_id != Some(expected.user_id) {
        return Err(Refusal::WrongUser {
            revid,
            user: revision.user.clone(),
            expected: expected.user_id,
            got: revision
                .user_id
                .map_or_else(|| "hidden".to_string(), |id| id.to_string()),
        });
    }
    if revision.timestamp < expected.proposed_at {
        return Err(Refusal::Before {
            revid,
            request_id,
            saved_at: revision.timestamp,
            proposed_at: expected.proposed_at,
        });
    }
    if revision.timestamp > expected.expires_at {
        return Err(Refusal::Late {
            revid,
            request_id,
            saved_at: revision.timestamp,
            expires_at: expected.expires_at,
        });
    }
    if !revision
        .summary
        .as_deref()
        .is_some_and(|summary| names_request(summary, expected.summary))
    {
        return Err(Refusal::Unnamed {
            revid,
            request_id,
            expected: expected.summary.to_string(),
            got: revision.summary.clone(),
        });
    }
    Ok(())
}

/// The section heading that signs a request from the wiki's own edit form
/// (the web page's "Sign on the wiki": `section=new&preloadtitle=…`): the
/// issued summary with its links written plain, because the wiki strips link
/// markup from a heading when it makes the edit summary of a new section.
pub fn section_heading(summary: &str) -> String {
    summary
        .replace("[[:", "")
        .replace("[[", "")
        .replace("]]", "")
}

/// Whether an edit summary is the one issued for a request: the summary itself
/// (the CLI's edit), or a new section headed with it ([`section_heading`]),
/// which the wiki summarises as `/* heading */` and its words for "new
/// section".
fn names_request(summary: &str, issued: &str) -> bool {
    summary == issued
        || summary
            .strip_prefix(&format!("/* {} */", section_heading(issued)))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn t(secs: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap() + Duration::seconds(secs)
    }

    const SUMMARY: &str =
        "adminibot: delete [[:Draft:X]] (tier self, request 20261130-ab) on my behalf";

    fn expected() -> Expected<'static> {
        Expected {
            request_id: "20261130-ab",
            user_id: 7,
            page: "User:Alice/adminibot",
            summary: SUMMARY,
            proposed_at: t(0),
            expires_at: t(600),
        }
    }

    fn signed() -> SignatureRevision {
        SignatureRevision {
            revid: 41,
            page: "User:Alice/adminibot".into(),
            user_id: Some(7),
            user: "Alice".into(),
            timestamp: t(3),
            summary: Some(SUMMARY.into()),
        }
    }

    /// "a null edit will be made in the name of the actual editor": saved by the
    /// requester's own account, on their page, for this request, in time.
    #[test]
    fn the_requesters_own_edit_for_this_request_signs_it() {
        assert_eq!(verify(&expected(), &signed(), t(5)), Ok(()));
        // Saved in the very second of the proposal: the wiki's clock has seconds.
        let same_second = SignatureRevision {
            timestamp: t(0),
            ..signed()
        };
        assert_eq!(verify(&expected(), &same_second, t(5)), Ok(()));
    }

    /// The web page's signature: a new section on the attribution page, saved
    /// in the wiki's own edit form, whose summary the wiki makes from the
    /// heading. Another request's heading, or the heading inside some other
    /// summary, does not sign.
    #[test]
    fn a_new_section_headed_with_the_summary_signs_it() {
        let heading = section_heading(SUMMARY);
        assert_eq!(
            heading,
            "adminibot: delete Draft:X (tier self, request 20261130-ab) on my behalf"
        );
        for summary in [
            format!("/* {heading} */ new section"),
            format!("/* {heading} */ nouvelle section"),
            format!("/* {heading} */"),
        ] {
            let web = SignatureRevision {
                summary: Some(summary.clone()),
                ..signed()
            };
            assert_eq!(verify(&expected(), &web, t(5)), Ok(()), "{summary}");
        }
        for summary in [
            format!("/* {heading}X */ new section"),
            format!("x /* {heading} */ new section"),
            format!("/* {} */ new section", heading.replace("-ab", "-cd")),
            heading.clone(),
        ] {
            let forged = SignatureRevision {
                summary: Some(summary.clone()),
                ..signed()
            };
            assert!(
                matches!(
                    verify(&expected(), &forged, t(5)),
                    Err(Refusal::Unnamed { .. })
                ),
                "{summary}"
            );
        }
    }

    #[test]
    fn every_mismatch_is_refused_with_its_reason() {
        let cases: Vec<(SignatureRevision, Timestamp, &str)> = vec![
            (
                SignatureRevision {
                    user_id: Some(8),
                    user: "Bob".into(),
                    ..signed()
                },
                t(5),
                "saved by `Bob` (user id 8), not by the requester (user id 7)",
            ),
            (
                SignatureRevision {
                    user_id: None,
                    ..signed()
                },
                t(5),
                "user id hidden",
            ),
            (
                SignatureRevision {
                    page: "User:Alice/sandbox".into(),
                    ..signed()
                },
                t(5),
                "is on `User:Alice/sandbox`",
            ),
            (
                SignatureRevision {
                    timestamp: t(-1),
                    ..signed()
                },
                t(5),
                "before request 20261130-ab was proposed",
            ),
            (
                SignatureRevision {
                    timestamp: t(601),
                    ..signed()
                },
                t(599),
                "after request 20261130-ab expired",
            ),
            (
                SignatureRevision {
                    summary: Some("adminibot: delete [[:Draft:Y]] (request 20261130-ab)".into()),
                    ..signed()
                },
                t(5),
                "does not name request 20261130-ab",
            ),
            (
                SignatureRevision {
                    summary: None,
                    ..signed()
                },
                t(5),
                "its summary is None",
            ),
            (signed(), t(601), "expired at 2026-11-30T12:10:00Z"),
        ];
        for (revision, now, needle) in cases {
            let refusal = verify(&expected(), &revision, now).unwrap_err();
            assert!(
                refusal.to_string().contains(needle),
                "{revision:?}: {refusal}"
            );
        }
    }
}
