//! One module per command family; each returns an [`Output`] for `main` to print.

pub mod act;
pub mod admin;
pub mod audit;
pub mod check;
pub mod gates;
pub mod init;
pub mod queue;
pub mod recovery;

use crate::cli::{Cli, Command, PolicyCommand};
use crate::config::{self, Config, ConfigKind};
use crate::error::{Error, ExitStatus};
use crate::report::{compose_json, compose_status, compose_text, RenderedPage};
use crate::rules::Action;
use crate::session::{Login, Session};
use serde_json::Value;
use std::io::BufRead;

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
    /// The output of page actions and checks: each title's block and entry,
    /// and the worst title's exit status.
    pub fn from_pages(pages: &[RenderedPage]) -> Self {
        Output {
            text: compose_text(pages),
            json: compose_json(pages),
            status: compose_status(pages),
        }
    }

    /// A successful output.
    pub fn ok(text: impl Into<String>, json: Value) -> Self {
        Output {
            text: text.into(),
            json,
            status: ExitStatus::Success,
        }
    }
}

/// Runs the command the user asked for, in this process, with the config's
/// bot login and store (the service's own maintenance, and the tests of the
/// direct mode).
pub fn run(cli: &Cli) -> Result<Output, Error> {
    crate::prompt::set_no_input(cli.no_input);
    if let Command::Policy(PolicyCommand::Check { file }) = &cli.command {
        return check::policy_check(cli.config.as_deref(), file.as_deref());
    }
    if let Command::Completions { shell } = &cli.command {
        return Ok(completions(*shell, cli.config.as_deref()));
    }
    if let Command::Init(args) = &cli.command {
        return init::init(args, cli.config.as_deref());
    }
    let path = config::locate(cli.config.as_deref())?;
    if let Command::Serve = &cli.command {
        crate::service::serve(&path)?;
        return Ok(Output::ok("", serde_json::json!({ "stopped": true })));
    }
    let kind = ConfigKind::load(&path)?;
    let login = match &kind {
        ConfigKind::Client(client) => client.login.as_ref(),
        ConfigKind::Service(_) => None,
    };
    let command = resolve(&cli.command, std::io::stdin().lock(), login)?;
    let progress = cli.format == crate::cli::Format::Text
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    if let ConfigKind::Client(client) = kind {
        return crate::client::run(&command, &client, progress);
    }
    runtime()?.block_on(async {
        let mut session = Session::open(Some(&path), login_for(&command)).await?;
        execute(&mut session, &command, progress).await
    })
}

/// The one-thread async runtime a command runs on (requests are serial by
/// policy).
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// The completion script for `shell`, with the queue names of the policy the
/// config names when both can be read (a requester's config names none).
fn completions(shell: clap_complete::Shell, config: Option<&std::path::Path>) -> Output {
    use clap::builder::PossibleValuesParser;
    use clap::CommandFactory;
    let queues: Vec<String> = config::locate(config)
        .ok()
        .and_then(|path| Config::load(&path).ok())
        .and_then(|config| crate::policy::Policy::load(&config.wiki.policy).ok())
        .map(|policy| policy.queues.into_keys().collect())
        .unwrap_or_default();
    let mut command = Cli::command();
    if !queues.is_empty() {
        let names = || PossibleValuesParser::new(queues.clone());
        command = command.mut_subcommand("queue", |queue| {
            queue.mut_arg("name", |arg| arg.value_parser(names()))
        });
        for action in ["delete", "undelete", "delete-redirect"] {
            command = command.mut_subcommand(action, |act| {
                act.mut_arg("queue", |arg| arg.value_parser(names()))
            });
        }
    }
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "adminibot", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    Output::ok(
        script.clone(),
        serde_json::json!({ "shell": shell.to_string(), "script": script }),
    )
}

/// The command with everything that comes from this terminal filled in: titles
/// `-` read from stdin, and whose request `check` judges (`--as`, else
/// `$ADMINIBOT_USERNAME`, else the config's `[login]`).
pub fn resolve(
    command: &Command,
    stdin: impl BufRead,
    login: Option<&config::LoginConfig>,
) -> Result<Command, Error> {
    let mut command = command.clone();
    match &mut command {
        Command::Check(args) => {
            args.titles = check::expand_titles(&args.titles, stdin)?;
            args.as_user = Some(check::requester_name(args.as_user.as_deref(), login)?);
        }
        // Listing the queues themselves judges nothing, for nobody.
        Command::Queue(args) if args.name.is_some() || args.category.is_some() => {
            args.as_user = Some(check::requester_name(args.as_user.as_deref(), login)?);
        }
        Command::Delete(args) | Command::Undelete(args) | Command::DeleteRedirect(args) => {
            args.titles = check::expand_titles(&args.titles, stdin)?;
        }
        _ => {}
    }
    Ok(command)
}

/// Whose login a command needs: the caller's own to change anything, the bot's
/// (or none) to read, both to act on pages.
pub fn login_for(command: &Command) -> Login {
    match command {
        Command::Delete(_)
        | Command::Undelete(_)
        | Command::DeleteRedirect(_)
        | Command::Reconcile
        | Command::Rollback { .. } => Login::CallerAndBot,
        Command::Policy(_) => Login::BotOrAnonymous,
        command if command.reads_public() => Login::BotOrAnonymous,
        _ => Login::Caller,
    }
}

/// Runs a resolved command in an open session.
pub async fn execute(
    session: &mut Session,
    command: &Command,
    progress: bool,
) -> Result<Output, Error> {
    match command {
        Command::Check(args) => check::check(session, args).await,
        Command::Queue(args) => queue::queue(session, args).await,
        Command::Delete(args) => act::act(session, Action::Delete, args, progress).await,
        Command::Undelete(args) => act::act(session, Action::Undelete, args, progress).await,
        Command::DeleteRedirect(args) => {
            act::act(session, Action::DeleteRedirect, args, progress).await
        }
        Command::Grant(args) => admin::grant(session, args).await,
        Command::Approve { grant_id } => admin::approve(session, *grant_id).await,
        Command::Revoke { user, tier, reason } => admin::revoke(session, user, *tier, reason).await,
        Command::Issuers(command) => admin::issuers(session, command).await,
        Command::List { all: true, .. } => admin::list_all(session),
        Command::List { user, .. } => admin::list(session, user.as_deref()).await,
        Command::Suspend {
            user,
            until,
            reason,
        } => gates::suspend(session, user, until.as_deref(), reason).await,
        Command::Unsuspend { user } => gates::unsuspend(session, user).await,
        Command::Stop { reason } => gates::stop(session, reason).await,
        Command::Resume => gates::resume(session).await,
        Command::Blocklist(command) => gates::blocklist(session, command).await,
        Command::Audit(args) => audit::audit(session, args).await,
        Command::Reconcile => recovery::reconcile(session).await,
        Command::Rollback {
            since,
            request,
            yes,
            dry_run,
        } => {
            recovery::rollback(
                session,
                since.as_deref(),
                request.as_deref(),
                *yes,
                *dry_run,
            )
            .await
        }
        Command::Policy(PolicyCommand::Check { file }) => {
            check::policy_check(Some(&session.config.path), file.as_deref())
        }
        Command::Serve | Command::Completions { .. } | Command::Init(_) => Err(Error::Usage(
            "`serve`, `completions` and `init` run on their own; they are not commands to execute"
                .into(),
        )),
    }
}
