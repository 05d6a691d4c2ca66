//! The command line: clap types only. Doc comments here are the `--help` text.

use crate::model::{Action, Tier};
use clap::{Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// adminibot: `sudo` for MediaWiki admin actions.
///
/// Trusted editors ask an admin bot to delete, undelete or delete-redirect pages;
/// the bot acts only when it can prove the action is uncontroversial, within the
/// tier an administrator granted, with a public trail of who asked.
///
/// Exit codes: 0 allowed or done, 1 refused, 2 usage or configuration error,
/// 3 wiki or network error (nothing changed, safe to retry), 4 partial (the
/// report says what was written), 5 outcome unknown (run `adminibot reconcile`).
#[derive(Debug, Parser)]
#[command(name = "adminibot", version = VERSION.as_str(), propagate_version = true, styles = crate::style::help())]
pub struct Cli {
    /// Configuration file [default: $ADMINIBOT_CONFIG, then
    /// $XDG_CONFIG_HOME/adminibot/adminibot.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Output format: `text` for people, `json` for scripts (exactly one JSON
    /// document on stdout)
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Colour: `auto` when the output is a terminal and neither `NO_COLOR` nor
    /// `CLICOLOR=0` is set (`CLICOLOR_FORCE=1` forces it); `always`; `never`
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// More diagnostics on stderr (-v: requests, -vv: everything)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never ask at the terminal: what would be asked is refused instead, and
    /// the refusal names the flag that confirms it (`--yes`)
    #[arg(long, global = true)]
    pub no_input: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// What `--version` says: the release, the commit it was built from, and the
/// policy file format it reads.
pub static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let commit = git_version::git_version!(
        args = ["--always", "--dirty=-modified"],
        fallback = "unknown commit"
    );
    format!(
        "{} ({commit}, policy format {})",
        env!("CARGO_PKG_VERSION"),
        crate::policy::FORMAT
    )
});

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour at a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorWhen {
    /// The `--color` given on `args` (the last one wins, as clap reads it),
    /// before clap parses them: clap's own help and errors need it too.
    pub fn from_args(args: &[std::ffi::OsString]) -> ColorWhen {
        let mut when = ColorWhen::Auto;
        let mut args = args.iter().map(|a| a.to_string_lossy());
        while let Some(arg) = args.next() {
            let value = match arg.strip_prefix("--color") {
                Some("") => args.next().map(|v| v.into_owned()),
                Some(rest) => rest.strip_prefix('=').map(str::to_string),
                None => None,
            };
            if let Some(parsed) = value.and_then(|v| ColorWhen::from_str(&v, false).ok()) {
                when = parsed;
            }
        }
        when
    }

    /// Applies the choice to every output stream of this process (`anstream`)
    /// and to clap's; `auto` leaves it to `anstream`, which reads
    /// `NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE` and whether the stream is a
    /// terminal.
    pub fn apply(self) -> clap::ColorChoice {
        let (stream, clap) = match self {
            ColorWhen::Auto => (anstream::ColorChoice::Auto, clap::ColorChoice::Auto),
            ColorWhen::Always => (anstream::ColorChoice::Always, clap::ColorChoice::Always),
            ColorWhen::Never => (anstream::ColorChoice::Never, clap::ColorChoice::Never),
        };
        stream.write_global();
        clap
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text for people.
    Text,
    /// One JSON document for scripts.
    Json,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum Command {
    /// Evaluate a request without acting: every rule, its reason and evidence.
    ///
    /// Read-only and needs no credentials of the requester: `--as` names whose
    /// request to evaluate. The bot's own login (from the config) is used, if
    /// configured, to read deleted revisions; without it, rules that need them
    /// answer "unknown" and the request is refused.
    ///
    /// Example: adminibot check "Draft:My page" --as Alice
    Check(CheckArgs),
    /// Ask the bot to delete pages you may delete: checks every rule, makes your
    /// attribution edit, re-checks the page, then the bot deletes it by page id.
    ///
    /// You log in with your own BotPassword (set up once by `adminibot init`,
    /// or `ADMINIBOT_USERNAME` and `ADMINIBOT_PASSWORD_FILE`). If the bot could not undo the deletion you are
    /// warned and must confirm with `--yes`. `--dry-run` checks everything and
    /// writes nothing.
    ///
    /// Example: adminibot delete "Draft:My page" --reason "G7: my test page"
    Delete(ActArgs),
    /// Ask the bot to restore what it deleted for you, within the undelete window.
    Undelete(ActArgs),
    /// Ask the bot to delete the redirect your own move left behind (`extended` tier).
    DeleteRedirect(ActArgs),
    /// Settle requests whose outcome is unknown (a crash, a lost answer): reads
    /// the wiki's logs and contributions for their request ids and records what
    /// happened. Never resends a write. The service does this by itself every
    /// minute; through it, this asks for it now.
    Reconcile,
    /// Undo the bot's recent actions, newest first (administrators): undeletes
    /// exactly the revisions it deleted and deletes again what it undeleted; stops
    /// at the first page someone changed since.
    #[command(group(clap::ArgGroup::new("which").required(true)))]
    Rollback {
        /// Everything since WHEN: a duration back from now (`2h`) or an RFC 3339 time
        #[arg(long, value_name = "WHEN", group = "which")]
        since: Option<String>,
        /// One request, by the id the report and the audit log show
        #[arg(long, value_name = "ID", group = "which")]
        request: Option<String>,
        /// Go ahead without asking
        #[arg(long)]
        yes: bool,
        /// Say what would be undone; change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Work with policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print a completion script for your shell; it completes subcommands,
    /// flags, `--tier` and `--action` values, and the queue names of the
    /// policy your config names (when it can be read).
    ///
    /// Example: adminibot completions bash > ~/.local/share/bash-completion/completions/adminibot
    Completions {
        /// The shell
        #[arg(value_enum)]
        #[serde(skip, default = "default_shell")]
        shell: clap_complete::Shell,
    },
    /// Set adminibot up. For a requester: the broker's URL and your own
    /// BotPassword. With `--service`: the service's config (operators).
    ///
    /// A requester's `init` asks the broker which wiki it serves, shows where to
    /// make your BotPassword and the grants it needs, reads its secret without
    /// echo, logs in once to prove it, then writes `adminibot.toml` and a 0600
    /// `password` file to your config folder ($XDG_CONFIG_HOME/adminibot, or
    /// `--config PATH`'s folder). Nothing is written if the login fails, and an
    /// existing file is replaced only with `--force`. Scripts give every answer
    /// as a flag, with `--no-input` and `--password-stdin`.
    ///
    /// Example: adminibot init --broker https://adminibot.toolforge.org
    ///
    /// Example: adminibot init --service --wiki-api https://en.wikipedia.org/w/api.php --config /etc/adminibot/adminibot.toml
    #[serde(skip)]
    Init(InitArgs),
    /// Run the broker service (operators): the only process that holds the
    /// bot's secret and the store. Requesters' CLIs reach it at `[listen]
    /// address` (behind a TLS proxy) and sign their requests on the wiki.
    ///
    /// Example: adminibot serve --config /etc/adminibot/adminibot.toml
    Serve,
    /// Grant a tier to a user (administrators; `grant --help` explains who may grant which tier).
    ///
    /// `self` by any administrator; `not-self` and `retired-admin` only by
    /// administrators a bureaucrat appointed as issuers (`adminibot issuers`);
    /// `extended` by a bureaucrat or an appointed administrator. `not-self` and
    /// `extended` need `--charter`. A `retired-admin` grant waits for a bureaucrat's
    /// `adminibot approve` unless a bureaucrat issued it, and only goes to users the
    /// rights log shows were once administrators. Your groups are read from the wiki.
    ///
    /// Example: adminibot grant --user Alice --tier self --reason "rollbacker in good standing"
    Grant(GrantArgs),
    /// Approve a pending `retired-admin` grant (bureaucrats).
    Approve {
        /// The grant's number, as `adminibot list` shows it
        grant_id: i64,
    },
    /// Revoke a user's grants (any administrator; bureaucrats too for `retired-admin`).
    Revoke {
        /// Whose grants
        #[arg(long, value_name = "USER")]
        user: String,
        /// Only grants of this tier [default: every grant in force]
        #[arg(long, value_enum)]
        tier: Option<Tier>,
        /// Why, for the audit log
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Stop a user from using adminibot for a while (administrators, emergencies).
    Suspend {
        /// Who
        #[arg(long, value_name = "USER")]
        user: String,
        /// Until when: a duration from now (`2h`, `7d`) or an RFC 3339 time [default: until lifted]
        #[arg(long, value_name = "WHEN")]
        until: Option<String>,
        /// Why, for the audit log and the user
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Lift a suspension (administrators).
    Unsuspend {
        /// Who
        #[arg(long, value_name = "USER")]
        user: String,
    },
    /// Emergency off: nobody's request is acted on until an administrator resumes.
    /// Anyone with a valid, unblocked login may press it.
    Stop {
        /// Why, for the audit log and everyone refused meanwhile
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Turn adminibot back on after `stop` (administrators).
    Resume,
    /// Who may issue which tier (bureaucrats appoint and remove).
    #[command(subcommand)]
    Issuers(IssuersCommand),
    /// Pages and users adminibot never acts on, with exceptions (administrators).
    #[command(subcommand)]
    Blocklist(BlocklistCommand),
    /// What may I (or USER) do, like `sudo -l`: each grant, its charter and expiry,
    /// and why it is or is not in force now.
    List {
        /// Whose grants [default: yours, from your login]
        #[arg(long, value_name = "USER", conflicts_with = "all")]
        user: Option<String>,
        /// Every grant in force now, whoever holds it (what the service's public
        /// grants page shows)
        #[arg(long)]
        #[serde(default)]
        all: bool,
    },
    /// The local audit log: every grant, revocation, suspension, stop and request.
    Audit(AuditArgs),
    /// A work queue: the pages of a backlog category (the policy's `[queues]`),
    /// oldest entry first, each with USER's verdict (decision, failing rules, the
    /// tier that covers it), who tagged it and how long it has waited; then how
    /// many USER may act on now and whether USER's charters' live conditions
    /// hold. Reads only. Without NAME, the policy's queues.
    ///
    /// Example: adminibot queue author-requests --as Alice
    Queue(QueueArgs),
}

/// Arguments of `adminibot queue`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct QueueArgs {
    /// The queue's name in the policy's `[queues]`, such as `author-requests`
    #[arg(value_name = "NAME", conflicts_with = "category")]
    pub name: Option<String>,
    /// Any category instead of a named queue
    #[arg(long, value_name = "TITLE")]
    pub category: Option<String>,
    /// Whose verdicts to show [default: the account in $ADMINIBOT_USERNAME]
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
    /// At most this many pages, oldest entry first
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
}

impl Command {
    /// The page action a command asks for (`delete`, `undelete`,
    /// `delete-redirect`), with its arguments; `None` for any other command.
    pub fn page_action(&self) -> Option<(Action, &ActArgs)> {
        match self {
            Command::Delete(args) => Some((Action::Delete, args)),
            Command::Undelete(args) => Some((Action::Undelete, args)),
            Command::DeleteRedirect(args) => Some((Action::DeleteRedirect, args)),
            _ => None,
        }
    }

    /// A command that only reads what anyone may see (judging pages, the
    /// queues, the audit log, the grants, the issuers and the blocklist): it
    /// needs no signature and no caller's login.
    pub fn reads_public(&self) -> bool {
        matches!(
            self,
            Command::Check(_)
                | Command::Queue(_)
                | Command::Audit(_)
                | Command::List { user: Some(_), .. }
                | Command::List { all: true, .. }
                | Command::Issuers(IssuersCommand::List)
                | Command::Blocklist(BlocklistCommand::List)
        )
    }
}

/// Arguments of `delete`, `undelete` and `delete-redirect`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct ActArgs {
    /// Page titles; `-` reads one per line from stdin
    #[arg(required_unless_present = "queue", value_name = "TITLE")]
    pub titles: Vec<String>,
    /// Work through a queue of the policy's `[queues]` instead of titles: judge
    /// every page, show what will be done, ask once (`--yes` skips it), then act
    /// page by page, skipping any page that left the queue or changed meanwhile
    #[arg(long, value_name = "NAME", conflicts_with = "titles")]
    #[serde(default)]
    pub queue: Option<String>,
    /// With `--queue`: at most this many pages, oldest entry first
    #[arg(long, value_name = "N", default_value_t = 50, requires = "queue")]
    #[serde(default = "default_queue_limit")]
    pub limit: usize,
    /// Pages a queue listed earlier, proposed again as listed (a client's
    /// ticket about to expire in a long queue); not an option.
    #[arg(skip)]
    #[serde(default)]
    pub listed: Vec<crate::broker::Listed>,
    /// Why, quoted in the bot's log entry after your name
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// Confirm in advance that the bot may do what it could not undo
    #[arg(long)]
    pub yes: bool,
    /// Check everything and say what would be done; write nothing to the wiki
    #[arg(long)]
    pub dry_run: bool,
    /// If refused, post a request for an administrator on the noticeboard (as you)
    #[arg(long)]
    pub escalate: bool,
}

/// `adminibot init`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Write a service config instead (operators): the wiki, the bot's login
    /// name, the policy, the store and the listen address [default path:
    /// /etc/adminibot/adminibot.toml]
    #[arg(long)]
    pub service: bool,
    /// The broker's URL (https, or http on loopback, or `unix:/path`)
    #[arg(long, value_name = "URL", conflicts_with = "service")]
    pub broker: Option<String>,
    /// Your BotPassword login, `Name@app`, as Special:BotPasswords shows it;
    /// with `--service`, the admin bot's
    #[arg(long, value_name = "NAME@APP")]
    pub username: Option<String>,
    /// Read the BotPassword's secret from the first line of stdin (scripts)
    #[arg(long, conflicts_with = "service")]
    pub password_stdin: bool,
    /// The wiki's action API (`--service`)
    #[arg(long, value_name = "URL", requires = "service")]
    pub wiki_api: Option<String>,
    /// The wiki's short name in audit rows (`--service`) [default: the wiki's id, e.g. enwiki]
    #[arg(long, value_name = "NAME", requires = "service")]
    pub wiki_name: Option<String>,
    /// The policy file (`--service`) [default: /usr/share/adminibot/policies/WIKI.toml]
    #[arg(long, value_name = "PATH", requires = "service")]
    pub policy: Option<PathBuf>,
    /// The SQLite store (`--service`) [default: /var/lib/adminibot/adminibot.sqlite]
    #[arg(long, value_name = "PATH", requires = "service")]
    pub store: Option<PathBuf>,
    /// Where the service listens (`--service`) [default: 127.0.0.1:8470]
    #[arg(long, value_name = "ADDRESS", requires = "service")]
    pub listen: Option<String>,
    /// Replace files that already exist
    #[arg(long)]
    pub force: bool,
}

/// Only for deserialising a `completions` command, which never travels.
fn default_shell() -> clap_complete::Shell {
    clap_complete::Shell::Bash
}

fn default_queue_limit() -> usize {
    50
}

/// Arguments of `adminibot grant`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct GrantArgs {
    /// Who receives the grant
    #[arg(long, value_name = "USER")]
    pub user: String,
    /// The tier
    #[arg(long, value_enum)]
    pub tier: Tier,
    /// The charter file (`charters/*.toml`); required for `not-self` and `extended`
    #[arg(long, value_name = "FILE")]
    pub charter: Option<PathBuf>,
    /// The charter file's text, read by the client for the service.
    #[arg(skip)]
    #[serde(default)]
    pub charter_text: Option<String>,
    /// When the grant ends: a duration from now (`30d`) or an RFC 3339 time [default: never, or the charter's end]
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
    /// Why, for the audit log
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
}

/// `adminibot issuers ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum IssuersCommand {
    /// Appoint USER to issue TIER (bureaucrats).
    Add {
        /// Who
        user: String,
        /// Which tier they may issue
        #[arg(long, value_enum)]
        tier: Tier,
    },
    /// Withdraw an appointment (bureaucrats).
    Remove {
        /// Who
        user: String,
        /// Which tier
        #[arg(long, value_enum)]
        tier: Tier,
    },
    /// Show every appointment.
    List,
}

/// `adminibot blocklist ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum BlocklistCommand {
    /// Add a page (or a prefix ending in `*`, like `User:Alice/*`) or a user.
    Add {
        /// The page, prefix or user.
        #[command(flatten)]
        target: BlockTargetArgs,
        /// Why, for the audit log and the refused requester
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Remove an entry.
    Remove {
        /// The page, prefix or user.
        #[command(flatten)]
        target: BlockTargetArgs,
        /// Why, for the audit log
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Show every entry and exception.
    List,
}

/// What a blocklist entry names: exactly one of `--page` and `--user`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct BlockTargetArgs {
    /// A page title, or a prefix ending in `*`
    #[arg(
        long,
        value_name = "TITLE",
        conflicts_with = "user",
        required_unless_present = "user"
    )]
    pub page: Option<String>,
    /// A user name
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// An exception: let this page or user through although an entry matches it
    #[arg(long)]
    pub exception: bool,
}

/// Arguments of `adminibot audit`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// Only rows by or about USER
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Only rows since WHEN: a duration back from now (`90m`, `7d`) or an RFC 3339 time
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only the rows of one request (what the service recorded, e.g. after exit 5)
    #[arg(long, value_name = "ID")]
    pub request: Option<String>,
    /// `verify`: walk the hash chain; exit 0 with the head hash, or 1 naming the first broken row
    #[command(subcommand)]
    pub verify: Option<AuditCommand>,
}

/// `adminibot audit verify`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum AuditCommand {
    /// Walk the hash chain and name the first broken row.
    Verify {
        /// Also check the store against the wiki: every signed change against its
        /// signature revision, every deletion against the wiki's deletion log and
        /// every on-wiki log line against the bot's log page, so a rewritten store
        /// (even with its chain recomputed) fails
        #[arg(long)]
        wiki: bool,
    },
}

/// Arguments of `adminibot check`.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct CheckArgs {
    /// Page titles, as you would write them on the wiki; `-` reads one per line from stdin
    #[arg(required = true, value_name = "TITLE")]
    pub titles: Vec<String>,

    /// The action to evaluate
    #[arg(long, value_enum, default_value_t = Action::Delete)]
    pub action: Action,

    /// Whose request to evaluate [default: the account in $ADMINIBOT_USERNAME]
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,

    /// Evaluate under this tier only [default: the least privileged of USER's grants
    /// that covers the request; `self` when no `[store]` is configured]
    #[arg(long, value_enum)]
    pub tier: Option<Tier>,
}

/// `adminibot policy ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum PolicyCommand {
    /// Validate a policy file, like `visudo -c`: every problem as `file:line:col:
    /// message`, exit 2 if there is any.
    Check {
        /// The policy file [default: the one named in the config]
        file: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Command {
        Cli::try_parse_from(line.split(' ')).expect(line).command
    }

    #[test]
    fn only_public_reads_go_unsigned() {
        for line in [
            "adminibot check Draft:X",
            "adminibot queue",
            "adminibot audit",
            "adminibot list --user Alice",
            "adminibot list --all",
            "adminibot issuers list",
            "adminibot blocklist list",
        ] {
            assert!(parsed(line).reads_public(), "{line}");
        }
        for line in [
            "adminibot list",
            "adminibot delete Draft:X",
            "adminibot grant --user Alice --tier self",
            "adminibot issuers add Admin --tier self",
            "adminibot blocklist add --page Main_Page",
            "adminibot stop --reason vandalism",
            "adminibot reconcile",
        ] {
            assert!(!parsed(line).reads_public(), "{line}");
        }
    }
}
