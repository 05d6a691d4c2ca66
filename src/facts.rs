//! Plain data about one page, as read from the wiki: the only input the rules see.
//!
//! `wiki::facts` fills these structs from one composite `action=query`; tests and
//! benchmarks build them by hand. Nothing here does I/O.

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// A moment in UTC, as the wiki reports it.
pub type Timestamp = DateTime<Utc>;

/// Everything the safety rules need to know about one title.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFacts {
    /// The title as the wiki normalised it (`Draft:My page`).
    pub title: String,
    /// Namespace id (0 main, 2 User, 118 Draft on enwiki, ...).
    pub namespace: i64,
    /// Page id, when the page exists.
    pub page_id: Option<u64>,
    /// Whether the page exists now.
    pub exists: bool,
    /// Whether the wiki flags the current revision as a redirect.
    pub is_redirect: bool,
    /// Latest revision id, when the page exists.
    pub latest_revid: Option<u64>,
    /// Live revisions, oldest first.
    pub revisions: Vec<Revision>,
    /// Deleted revisions, oldest first; `None` when the session may not read them.
    pub deleted_revisions: Option<Vec<Revision>>,
    /// Current protections (edit, move, create, cascading).
    pub protections: Vec<Protection>,
    /// Templates the current revision transcludes, without the namespace prefix.
    pub templates: Vec<String>,
    /// Categories of the current revision, with namespace prefix.
    pub categories: Vec<String>,
    /// Every log entry recorded for this title, oldest first.
    pub log_events: Vec<LogEvent>,
    /// Names of the editors of this page who are bots now (group `bot` on the wiki).
    pub bot_editors: BTreeSet<String>,
    /// What the wiki knows about each page this one ever redirected to.
    pub redirect_targets: Vec<TargetHistory>,
    /// Other pages that use this one, as far as they were read.
    pub used_by: UsedBy,
}

/// Other pages that use a page, by title: each list read up to the policy's
/// largest `[in_use]` limit plus one, so a list that long may have more.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsedBy {
    /// Pages that transclude it.
    pub transclusions: Vec<String>,
    /// Pages that link to it (redirects not counted).
    pub links: Vec<String>,
    /// Redirects to it.
    pub redirects: Vec<String>,
}

/// One revision, live or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// Revision id (deleted revisions keep theirs).
    pub id: u64,
    /// When it was saved.
    pub timestamp: Timestamp,
    /// Who saved it; `None` when the name is hidden by revision deletion.
    pub user: Option<String>,
    /// Local user id; 0 for IP and imported editors.
    pub user_id: u64,
    /// Edit summary; `None` when hidden.
    pub comment: Option<String>,
    /// Change tags (`mw-rollback`, `mw-undo`, `mw-manual-revert`, ...).
    pub tags: Vec<String>,
    /// Size in bytes.
    pub size: u64,
    /// SHA-1 of the content; `None` when hidden.
    pub sha1: Option<String>,
    /// Wikitext; `None` when hidden or not fetched.
    pub content: Option<String>,
}

/// A protection in force on the page now.
#[derive(Debug, Clone, PartialEq)]
pub struct Protection {
    /// `edit`, `move`, `create`, `upload`.
    pub kind: String,
    /// The group needed (`autoconfirmed`, `sysop`, ...).
    pub level: String,
    /// When it ends; `None` means never.
    pub expiry: Option<Timestamp>,
    /// The page it cascades from, for cascading protection.
    pub source: Option<String>,
}

/// One entry of the wiki's logs for this title.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// Log id.
    pub id: u64,
    /// Log type: `delete`, `move`, `protect`, `create`, ...
    pub kind: String,
    /// Log action: `delete`, `restore`, `revision`, `move`, `move_redir`, ...
    pub action: String,
    /// Performer; `None` when hidden.
    pub user: Option<String>,
    /// When it happened.
    pub timestamp: Timestamp,
    /// Reason; `None` when hidden.
    pub comment: Option<String>,
    /// For moves: the title the page was moved to.
    pub move_target: Option<String>,
}

/// The history of a title this page once redirected to, enough to tell whether it
/// existed while the redirect pointed at it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetHistory {
    /// The target as written in the redirect (`[[Foo bar#Baz]]` gives `Foo bar`).
    pub written: String,
    /// Target title as normalised by the wiki.
    pub title: String,
    /// Oldest live revision, if the target exists.
    pub first_revision: Option<Timestamp>,
    /// Oldest deleted revision, `None` if there is none; unreadable counts as unknown.
    pub first_deleted_revision: Option<Timestamp>,
    /// Whether deleted revisions could be read at all.
    pub deleted_readable: bool,
    /// Times this title was moved away or deleted (log entries on it).
    pub departures: Vec<Timestamp>,
}

impl PageFacts {
    /// An empty record for a title that does not exist, a starting point for tests.
    pub fn missing(title: &str, namespace: i64) -> Self {
        PageFacts {
            title: title.to_string(),
            namespace,
            page_id: None,
            exists: false,
            is_redirect: false,
            latest_revid: None,
            revisions: Vec::new(),
            deleted_revisions: Some(Vec::new()),
            protections: Vec::new(),
            templates: Vec::new(),
            categories: Vec::new(),
            log_events: Vec::new(),
            bot_editors: BTreeSet::new(),
            redirect_targets: Vec::new(),
            used_by: UsedBy::default(),
        }
    }

    /// Every distinct named editor of live and deleted revisions.
    pub fn editor_names(&self) -> BTreeSet<String> {
        self.revisions
            .iter()
            .chain(self.deleted_revisions.iter().flatten())
            .filter_map(|r| r.user.clone())
            .collect()
    }
}
