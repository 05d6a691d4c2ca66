//! The `adminibot` binary: parse, run, map the outcome to an exit code.

use adminibot::check::{check, policy_check};
use adminibot::cli::{Cli, Command, Format, PolicyCommand};
use adminibot::config;
use adminibot::error::{render, Error, ExitStatus};
use adminibot::report::{overall_status, render_text, to_json};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let status = match run(&cli) {
        Ok(status) => status,
        Err(err) => {
            if cli.format == Format::Json {
                println!(
                    "{}",
                    serde_json::json!({ "results": [], "error": err.to_string(), "exit_code": err.status().code() })
                );
            }
            eprintln!("{}", render(&err));
            err.status()
        }
    };
    ExitCode::from(status.code())
}

fn run(cli: &Cli) -> Result<ExitStatus, Error> {
    match &cli.command {
        Command::Check(args) => {
            let config_path = config::locate(cli.config.as_deref())?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
            let reports = runtime.block_on(check(&config_path, args))?;
            match cli.format {
                Format::Json => println!("{}", to_json(&reports)),
                Format::Text => print!("{}", render_text(&reports)),
            }
            Ok(overall_status(&reports))
        }
        Command::Policy(PolicyCommand::Check { file }) => {
            let policy = policy_check(cli.config.as_deref(), file.as_deref())?;
            match cli.format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({ "results": [], "policy": policy.path, "valid": true })
                ),
                Format::Text => println!("{}: ok", policy.path.display()),
            }
            Ok(ExitStatus::Success)
        }
    }
}

/// Diagnostics go to stderr; `-v` shows requests, `-vv` everything; `RUST_LOG` overrides.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "adminibot=info",
        2 => "adminibot=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
        .init();
}
