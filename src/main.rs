//! The `adminibot` binary: parse, run, print, map the outcome to an exit code.

use adminibot::cli::{Cli, ColorWhen, Format};
use adminibot::commands;
use adminibot::error::render;
use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

fn main() -> ExitCode {
    adminibot::config::keep_secrets_out_of_core_dumps();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let color = ColorWhen::from_args(&args).apply();
    let cli = match Cli::command()
        .color(color)
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    init_tracing(cli.verbose);
    let status = match commands::run(&cli) {
        Ok(output) => {
            match cli.format {
                Format::Json => println!("{}", output.json),
                Format::Text => anstream::print!("{}", output.text),
            }
            output.status
        }
        Err(err) => {
            if cli.format == Format::Json {
                println!(
                    "{}",
                    serde_json::json!({ "results": [], "error": err.to_string(), "exit_code": err.status().code() })
                );
            }
            anstream::eprintln!("{}", render(&err));
            err.status()
        }
    };
    ExitCode::from(status.code())
}

/// A command line clap refused (or `--help`/`--version`): its message on stderr,
/// exit 2; with `--format json` also the one JSON document user scripts expect.
fn usage_error(err: clap::Error) -> ExitCode {
    let asked_json = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|pair| pair[0] == "--format" && pair[1] == "json")
        || std::env::args().any(|arg| arg == "--format=json");
    if err.use_stderr() && asked_json {
        // The first line of clap's message, e.g. "invalid value 'x' for '--tier <TIER>'".
        let rendered = err.to_string();
        let first = rendered.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        println!(
            "{}",
            serde_json::json!({ "results": [], "error": message, "exit_code": 2 })
        );
    }
    let _ = err.print();
    ExitCode::from(if err.use_stderr() { 2 } else { 0 })
}

/// Diagnostics go to stderr; `-v` shows requests, `-vv` everything; `RUST_LOG` overrides.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "adminibot=info",
        2 => "adminibot=debug",
        _ => "trace",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // The HTTP layers print whole requests and responses at debug level, cookies
    // and session headers included: never below info, whatever RUST_LOG says.
    // mwapi's own warnings and errors repeat what adminibot reports itself.
    for quiet in [
        "mwapi=off",
        "reqwest=info",
        "hyper=info",
        "hyper_util=info",
        "h2=info",
        "cookie_store=info",
    ] {
        filter = filter.add_directive(quiet.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never)
        .init();
}
