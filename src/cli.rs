//! The command line: clap types only. Doc comments here are the `--help` text.

use crate::rules::{Action, Tier};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// adminibot: `sudo` for MediaWiki admin actions.
///
/// Trusted editors ask an admin bot to delete, undelete or delete-redirect pages;
/// the bot acts only when it can prove the action is uncontroversial, within the
/// tier an administrator granted, with a public trail of who asked.
///
/// Exit codes: 0 allowed or done, 1 refused, 2 usage or configuration error,
/// 3 wiki or network error (nothing changed, safe to retry).
#[derive(Debug, Parser)]
#[command(name = "adminibot", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file [default: $ADMINIBOT_CONFIG, then
    /// $XDG_CONFIG_HOME/adminibot/adminibot.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Output format: `text` for people, `json` for scripts (exactly one JSON
    /// document on stdout)
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// More diagnostics on stderr (-v: requests, -vv: everything)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
#[derive(Debug, Subcommand)]
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
    /// Work with policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// Arguments of `adminibot check`.
#[derive(Debug, clap::Args)]
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

    /// The permission tier to evaluate under
    #[arg(long, value_enum, default_value_t = Tier::Own)]
    pub tier: Tier,
}

/// `adminibot policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file, like `visudo -c`: every problem as `file:line:col:
    /// message`, exit 2 if there is any.
    Check {
        /// The policy file [default: the one named in the config]
        file: Option<PathBuf>,
    },
}
