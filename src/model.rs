//! The words every layer shares: what is asked ([`Action`]) and under which
//! permission level ([`Tier`]). Rules, policy, charters, the store and the
//! command line all import them from here, so none of them depends on another
//! for its vocabulary.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What the requester asks the bot to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Delete a page.
    Delete,
    /// Restore a page the bot deleted for the requester.
    Undelete,
    /// Delete the redirect left behind by the requester's own move.
    DeleteRedirect,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Delete => "delete",
            Action::Undelete => "undelete",
            Action::DeleteRedirect => "delete-redirect",
        })
    }
}

/// A permission level of the proposal ("Standard permission levels").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// The requester's own pages.
    #[value(name = "self")]
    #[serde(rename = "self")]
    Own,
    /// Pages by a single other author who asked for deletion; needs a charter.
    NotSelf,
    /// Former administrators in good standing: anything the bot can do.
    RetiredAdmin,
    /// A named extra action, such as deleting the redirect left by one's own move.
    Extended,
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tier::Own => "self",
            Tier::NotSelf => "not-self",
            Tier::RetiredAdmin => "retired-admin",
            Tier::Extended => "extended",
        })
    }
}

impl std::str::FromStr for Tier {
    type Err = String;

    /// Parses the names used on the command line and in the store (`not-self`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        <Tier as clap::ValueEnum>::from_str(text, false).map_err(|_| {
            format!("unknown tier `{text}`: use self, not-self, retired-admin or extended")
        })
    }
}

impl std::str::FromStr for Action {
    type Err = String;

    /// Parses the names used on the command line and in charters (`delete-redirect`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        <Action as clap::ValueEnum>::from_str(text, false).map_err(|_| {
            format!("unknown action `{text}`: use delete, undelete or delete-redirect")
        })
    }
}
