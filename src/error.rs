//! The one place that turns failures into messages and exit codes.
//!
//! Messages follow cargo's manners: `error: ...`, then `Caused by:` lines, then a
//! `hint:` after a blank line. No trailing period; values in backticks.

use crate::config::ConfigError;
use crate::located::FileErrors;
use crate::store::StoreError;
use crate::wiki::title::TitleError;
use crate::wiki::WikiError;
use std::fmt::Write;

/// Exit codes of the CLI contract (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Done, or allowed (dry run / check).
    Success = 0,
    /// Refused by a rule, or no authority.
    Refused = 1,
    /// Usage or configuration error; nothing changed.
    Usage = 2,
    /// Wiki, network or busy-store error; nothing changed, safe to retry.
    Wiki = 3,
    /// Something was written and the rest was not; the report says exactly what.
    Partial = 4,
    /// A write's outcome is unknown: run `adminibot reconcile`.
    Unknown = 5,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status a process exit code stands for (an unknown code counts as
    /// "outcome unknown", the most careful reading).
    pub fn from_code(code: u8) -> ExitStatus {
        match code {
            0 => ExitStatus::Success,
            1 => ExitStatus::Refused,
            2 => ExitStatus::Usage,
            3 => ExitStatus::Wiki,
            4 => ExitStatus::Partial,
            _ => ExitStatus::Unknown,
        }
    }
}

/// Anything that stops a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
    /// A problem with `adminibot.toml` or a secret.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A policy or charter file with errors, each at `file:line:col`.
    #[error("{0}")]
    File(#[from] FileErrors),
    /// A problem talking to the wiki.
    #[error(transparent)]
    Wiki(#[from] WikiError),
    /// A problem with the local store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller lacks the authority for this command.
    #[error("{0}")]
    Denied(String),
    /// The login belongs to someone else than `ADMINIBOT_USERNAME` says.
    #[error("`ADMINIBOT_USERNAME` names `{claimed}`, but the wiki says this login is `{proven}`")]
    IdentityMismatch {
        /// The name in the environment.
        claimed: String,
        /// The name the wiki proved.
        proven: String,
    },
    /// The broker service cannot be reached or did not answer as a broker does.
    #[error("cannot reach the adminibot service at `{url}`: {detail}")]
    Broker {
        /// The broker URL tried.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The broker service refused or failed the command; `rendered` is its
    /// message as `render` gave it there.
    #[error("{message}")]
    Remote {
        /// The service's message.
        message: String,
        /// The whole rendered message: causes and hint.
        rendered: String,
        /// The exit status the service gave.
        status: ExitStatus,
    },
    /// The command needs `[store]` in the config.
    #[error("`{}` has no `[store]` section, and this command needs the local store", .0.display())]
    NoStore(std::path::PathBuf),
}

impl Error {
    /// The exit status this failure maps to.
    pub fn status(&self) -> ExitStatus {
        match self {
            Error::Denied(_) => ExitStatus::Refused,
            Error::Remote { status, .. } => *status,
            Error::Broker { .. } => ExitStatus::Wiki,
            Error::Store(StoreError::Sqlite(e)) if is_busy(e) => ExitStatus::Wiki,
            Error::Usage(_)
            | Error::Config(_)
            | Error::File(_)
            | Error::Store(_)
            | Error::IdentityMismatch { .. }
            | Error::NoStore(_) => ExitStatus::Usage,
            Error::Wiki(
                WikiError::Title(_) | WikiError::UnknownUser(_) | WikiError::Login { .. },
            ) => ExitStatus::Usage,
            Error::Wiki(_) => ExitStatus::Wiki,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Config(ConfigError::NotFound(_)) => {
                "see README.md for a minimal `adminibot.toml`".into()
            }
            Error::Config(ConfigError::SecretReadable(path)) => {
                format!("run `chmod 600 {}`", path.display())
            }
            Error::Config(ConfigError::SecretUnsafe { .. }) => {
                "keep the secret as a plain file of your own (mode 600) in a folder only you can write (`chmod 700`)".into()
            }
            Error::Broker { .. } => {
                "nothing was changed; check `[broker] url` in the config, or ask the service's operator whether it runs".into()
            }
            Error::File(_) => "fix the lines above and try again (`adminibot policy check FILE` checks a policy)".into(),
            Error::Wiki(WikiError::Busy(_)) => "nothing was changed; try again later".into(),
            Error::Wiki(WikiError::Unreachable { .. }) => {
                "nothing was changed; check `[wiki] api` in the config and try again".into()
            }
            Error::Wiki(WikiError::Login { .. }) => {
                "check the BotPassword name (`Account@app`) and secret; nothing was changed".into()
            }
            Error::Wiki(WikiError::Title(TitleError::Fragment(_))) => {
                "drop the `#` and what follows it".into()
            }
            Error::Wiki(WikiError::UnknownUser(_)) => {
                "check the spelling; user names are case-sensitive after the first letter".into()
            }
            _ => return None,
        })
    }
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Renders an error for stderr: message, causes, hint.
pub fn render(err: &Error) -> String {
    if let Error::Remote { rendered, .. } = err {
        return rendered.clone();
    }
    let mut out = format!("{} {err}", crate::style::paint(crate::style::BAD, "error:"));
    let mut source = std::error::Error::source(err);
    // `transparent` variants share their message with their source; skip repeats.
    let mut last = err.to_string();
    while let Some(cause) = source {
        let text = cause.to_string();
        if text != last {
            let _ = write!(out, "\nCaused by: {text}");
        }
        last = text;
        source = cause.source();
    }
    if let Some(hint) = err.hint() {
        let _ = write!(
            out,
            "\n\n{} {hint}",
            crate::style::paint(crate::style::HINT, "hint:")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hint_names_the_fix() {
        let err = Error::Config(ConfigError::SecretReadable("/x/bot.secret".into()));
        assert_eq!(err.status(), ExitStatus::Usage);
        assert_eq!(
            anstream::adapter::strip_str(&render(&err)).to_string(),
            "error: `/x/bot.secret` can be read by other users, so it cannot hold a secret\n\nhint: run `chmod 600 /x/bot.secret`"
        );
    }

    #[test]
    fn unreachable_wiki_is_exit_3_and_safe_to_retry() {
        let err = Error::Wiki(WikiError::Unreachable {
            api: "http://127.0.0.1:9/api.php".into(),
            detail: "connection refused".into(),
        });
        assert_eq!(err.status().code(), 3);
        assert!(render(&err).contains("nothing was changed"));
    }
}
