//! What the client and `adminibot serve` say to each other over HTTP: JSON
//! bodies under `/v1`. The service's routes are in `service::routes`; the
//! client's calls in `client`.
//!
//! - `GET /v1/info`: [`Info`], what a client needs besides the broker URL.
//! - `GET /v1/health`: `{"ok": true}` while the executor answers.
//! - `POST /v1/read` [`ReadBody`] → [`RemoteOutput`]: `check`, `list`, `audit`,
//!   `issuers list`, `blocklist list`; no signature.
//! - `POST /v1/propose` [`ProposeBody`] → [`ProposeAnswer`]: the decision and,
//!   where there is something to sign, a [`Ticket`]. Writes nothing to the wiki.
//! - `POST /v1/execute` [`ExecuteBody`] → [`Executed`]: after the signature.
//! - `GET /v1/requests/{id}`: the audit rows of one request.
//!
//! Errors are an HTTP status with an [`ErrorBody`].

use crate::cli::Command;
use crate::error::ExitStatus;
use crate::facts::Timestamp;
use crate::report::RenderedPage;
use crate::rules::Action;
use crate::wiki::actions::ShutoffRevision;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The header a `test-hooks` client uses to pass its test settings on
/// (`ADMINIBOT_NOW`, `ADMINIBOT_TEST_*`, as a JSON object); a service built
/// without `test-hooks` ignores it.
pub const TEST_ENV_HEADER: &str = "x-adminibot-test-env";

/// `GET /v1/info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// The wiki's short name (`[wiki] name`).
    pub wiki: String,
    /// The wiki's `api.php`, where the client saves the requester's signature.
    pub api: String,
    /// The attribution page pattern, with `{requester}`.
    pub attribution: String,
    /// The bot account.
    pub bot: String,
    /// The noticeboard, for `--escalate`.
    pub noticeboard: String,
    /// The service's version.
    pub version: String,
    /// The page whose text `$1` the web page's "Sign on the wiki" preloads
    /// (the policy's `signature_preload`).
    #[serde(default)]
    pub signature_preload: Option<String>,
}

impl Info {
    /// The URL of the wiki's `index.php` with `query` (already encoded), e.g.
    /// `title=Special:BotPasswords/adminibot`.
    pub fn index_url(&self, query: &str) -> String {
        let base = self.api.strip_suffix("api.php").unwrap_or(&self.api);
        format!("{base}index.php?{query}")
    }

    /// The URL of the wiki's page `title`.
    pub fn page_url(&self, title: &str) -> String {
        self.index_url(&format!("title={}", encode(&title.replace(' ', "_"))))
    }
}

/// `text` percent-encoded for a URL's query (RFC 3986 unreserved characters,
/// and `:` and `/`, which titles read better with, stay as they are).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'/' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `text` with its percent escapes decoded: the reverse of [`encode`] (the
/// web page's remembered user name). A broken escape stays as it is.
pub fn decode(text: &str) -> String {
    String::from_utf8_lossy(&unescape(text, false).unwrap_or_default()).into_owned()
}

/// `text` with its percent escapes decoded, as PHP's `rawurlencode` wrote it
/// (the wiki's normalised titles); `None` if an escape is broken or the bytes
/// are not UTF-8.
pub fn decode_exact(text: &str) -> Option<String> {
    String::from_utf8(unescape(text, true)?).ok()
}

/// The bytes of `text` with its percent escapes decoded; a broken escape is
/// `None` when `strict`, else kept as it is.
fn unescape(text: &str, strict: bool) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'%', None) if strict => return None,
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `POST /v1/read`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadBody {
    /// A read-only command, resolved by the client (`check --as` filled in).
    pub command: Command,
}

/// `POST /v1/propose`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProposeBody {
    /// Whose request this is; anyone may propose in anyone's name.
    pub user: String,
    /// The command, resolved by the client (titles from stdin read).
    pub command: Command,
}

/// What a proposal stores until its signature: one page action, or a command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proposed {
    /// One title of `delete`, `undelete` or `delete-redirect`.
    Page {
        /// The action.
        action: Action,
        /// The title as the wiki normalised it.
        title: String,
        /// The requester's reason.
        reason: String,
        /// The shutoff page's revision the bot was cleared with when the ticket
        /// was issued: execute starts from it, and the guard right before the
        /// write checks it is still the latest (a change since stops the write).
        #[serde(default)]
        shutoff: Option<Box<ShutoffRevision>>,
        /// The page as a queue listed it (`delete --queue`): acted on only
        /// while still in the queue and unchanged since.
        #[serde(default)]
        listed: Option<crate::broker::Listed>,
    },
    /// Any other signed command, as given.
    Command(Box<Command>),
}

/// What the requester must save to sign a request, and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The request id.
    pub request_id: String,
    /// The requester's attribution page.
    pub page: String,
    /// The text to append there.
    pub text: String,
    /// The exact edit summary.
    pub summary: String,
    /// After this, the request cannot be executed.
    pub expires_at: Timestamp,
}

/// One title's answer to a proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedPage {
    /// The verdict, as `check` shows it (or the dry run's report).
    pub page: RenderedPage,
    /// Present when the title may be acted on.
    pub ticket: Option<Ticket>,
    /// The bot could not undo it: the requester must confirm (`--yes`).
    pub needs_confirmation: bool,
    /// Refused with something to escalate: the text for the noticeboard.
    pub escalation: Option<String>,
    /// The page as `delete --queue` listed it, to propose it again as listed.
    #[serde(default)]
    pub listed: Option<crate::broker::Listed>,
}

/// `POST /v1/propose`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProposeAnswer {
    /// A page action: one answer per title.
    Pages(Vec<ProposedPage>),
    /// Any other command: one signature.
    Command(Ticket),
}

/// `POST /v1/execute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecuteBody {
    /// The request id of the ticket.
    pub request_id: String,
    /// The signature edit's revision id.
    pub revid: u64,
    /// The requester confirmed what the bot could not undo.
    #[serde(default)]
    pub yes: bool,
}

/// `POST /v1/execute`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Executed {
    /// A page action's report.
    Page(RenderedPage),
    /// A command's output.
    Command(RemoteOutput),
}

/// A command's output as the CLI prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteOutput {
    /// For people.
    pub text: String,
    /// For scripts.
    pub json: Value,
    /// The exit code.
    pub exit_code: u8,
}

impl RemoteOutput {
    /// The exit status.
    pub fn status(&self) -> ExitStatus {
        ExitStatus::from_code(self.exit_code)
    }
}

/// Every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
    /// The message with its causes and hint, as the CLI prints it.
    pub rendered: String,
    /// The exit code the CLI gives.
    pub exit_code: u8,
}

/// `GET /status.json`: whether the bot may act now, and why not; the audit
/// chain's head and when the store last matched the wiki.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// `running`, `stopped` (the stop switch) or `shut-off` (the shutoff page).
    pub state: String,
    /// Why the bot may not act now, in the words a refused request gets.
    pub why: Option<String>,
    /// The stop switch, when pressed: by whom, when, why.
    pub stopped: Option<StopSwitch>,
    /// The shutoff page's latest revision (`None`: the page is missing).
    pub shutoff: Option<ShutoffRevision>,
    /// The shutoff page.
    pub shutoff_page: String,
    /// Whether the shutoff page says the run word (`why` says if its saver
    /// is no administrator).
    pub shutoff_runs: bool,
    /// The audit chain: whether it verifies, and its head.
    pub audit: Value,
    /// When `audit verify --wiki` last passed (the service runs it every hour).
    pub wiki_verified_at: Option<Timestamp>,
    /// The service's version.
    pub version: String,
}

/// The stop switch as the status page shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopSwitch {
    /// Who pressed it.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rawurlencoded_titles_decode_and_broken_escapes_do_not() {
        assert_eq!(
            decode_exact("Cafe%CC%81%20test").as_deref(),
            Some("Cafe\u{301} test")
        );
        assert_eq!(decode_exact("a-b_c.d~e").as_deref(), Some("a-b_c.d~e"));
        assert_eq!(decode_exact("%C3"), None);
        assert_eq!(decode_exact("%G1"), None);
        assert_eq!(decode_exact("%4"), None);
        // The web page's cookie: nothing is refused, a broken escape stays.
        assert_eq!(decode("%G1%41%4"), "%G1A%4");
        assert_eq!(decode(&encode("Zoë & co")), "Zoë & co");
    }

    #[test]
    fn wiki_pages_are_beside_the_api() {
        let info = Info {
            wiki: "enwiki".into(),
            api: "https://en.wikipedia.org/w/api.php".into(),
            attribution: "User:{requester}/AdminiBot log".into(),
            bot: "AdminiBot".into(),
            noticeboard: "Wikipedia:Administrators' noticeboard".into(),
            version: "0".into(),
            signature_preload: None,
        };
        assert_eq!(
            info.page_url("Special:BotPasswords/adminibot"),
            "https://en.wikipedia.org/w/index.php?title=Special:BotPasswords/adminibot"
        );
        assert_eq!(
            info.page_url("Wikipedia:Administrators' noticeboard"),
            "https://en.wikipedia.org/w/index.php?title=Wikipedia:Administrators%27_noticeboard"
        );
        assert_eq!(
            encode("a&b=c [[x]] é"),
            "a%26b%3Dc%20%5B%5Bx%5D%5D%20%C3%A9"
        );
    }
}
