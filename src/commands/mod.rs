//! One module per command family; each returns an [`Output`] for `main` to print.

pub mod act;
pub mod admin;
pub mod audit;
pub mod check;
pub mod gates;
pub mod recovery;

use crate::cli::{Cli, Command, PolicyCommand};
use crate::error::{Error, ExitStatus};
use crate::rules::Action;
use serde_json::Value;

/// What a command prints, in both formats, and how it exits.
#[derive(Debug)]
pub struct Output {
    /// For people.
    pub text: String,
    /// For scripts: exactly one JSON document.
    pub json: Value,
    /// The exit status.
    pub status: ExitStatus,
}

impl Output {
    /// A successful output.
    pub fn ok(text: impl Into<String>, json: Value) -> Self {
        Output {
            text: text.into(),
            json,
            status: ExitStatus::Success,
        }
    }
}

/// Runs the command the user asked for.
pub fn run(cli: &Cli) -> Result<Output, Error> {
    if let Command::Policy(PolicyCommand::Check { file }) = &cli.command {
        return check::policy_check(cli.config.as_deref(), file.as_deref());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
    let config = cli.config.as_deref();
    let progress = cli.format == crate::cli::Format::Text
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    runtime.block_on(async {
        match &cli.command {
            Command::Check(args) => check::check(config, args).await,
            Command::Delete(args) => act::act(config, Action::Delete, args, progress).await,
            Command::Undelete(args) => act::act(config, Action::Undelete, args, progress).await,
            Command::DeleteRedirect(args) => {
                act::act(config, Action::DeleteRedirect, args, progress).await
            }
            Command::Grant(args) => admin::grant(config, args).await,
            Command::Approve { grant_id } => admin::approve(config, *grant_id).await,
            Command::Revoke { user, tier, reason } => {
                admin::revoke(config, user, *tier, reason).await
            }
            Command::Issuers(command) => admin::issuers(config, command).await,
            Command::List { user } => admin::list(config, user.as_deref()).await,
            Command::Suspend {
                user,
                until,
                reason,
            } => gates::suspend(config, user, until.as_deref(), reason).await,
            Command::Unsuspend { user } => gates::unsuspend(config, user).await,
            Command::Stop { reason } => gates::stop(config, reason).await,
            Command::Resume => gates::resume(config).await,
            Command::Blocklist(command) => gates::blocklist(config, command).await,
            Command::Audit(args) => audit::audit(config, args).await,
            Command::Reconcile => recovery::reconcile(config).await,
            Command::Rollback {
                since,
                request,
                yes,
                dry_run,
            } => {
                recovery::rollback(config, since.as_deref(), request.as_deref(), *yes, *dry_run)
                    .await
            }
            Command::Policy(_) => unreachable!("handled above"),
        }
    })
}
