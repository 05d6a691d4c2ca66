//! Asking the person at the terminal, and the plan they are asked about.

use crate::cli::ActArgs;
use crate::error::Error;
use crate::model::Action;
use crate::report::RenderedPage;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// `--no-input`: nothing is asked, for this whole process.
static NO_INPUT: AtomicBool = AtomicBool::new(false);

/// With `no_input`, [`typed_yes`] never asks (`--no-input`).
pub fn set_no_input(no_input: bool) {
    NO_INPUT.store(no_input, Ordering::Relaxed);
}

/// Whether this process may ask the person at the terminal: stdin is one,
/// and `--no-input` was not given.
pub fn may_ask() -> bool {
    !NO_INPUT.load(Ordering::Relaxed) && std::io::IsTerminal::is_terminal(&std::io::stdin())
}

/// Whether the person at the terminal typed `yes` after `question` (asked on
/// stderr). Never without a terminal, nor with `--no-input`: scripts confirm
/// with `--yes`.
pub fn typed_yes(question: &str) -> bool {
    ask(question).is_some_and(|answer| answer == "yes")
}

/// The line the person at the terminal typed after `question` (asked on
/// stderr), trimmed; `None` when nothing may be asked ([`may_ask`]).
pub fn ask(question: &str) -> Option<String> {
    use std::io::{BufRead, Write};
    if !may_ask() {
        return None;
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{question}");
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok()?;
    Some(answer.trim().to_string())
}

/// A secret typed at the terminal after `question`, not echoed; `None` when
/// nothing may be asked ([`may_ask`]).
pub fn ask_secret(question: &str) -> Option<std::io::Result<crate::config::Secret>> {
    may_ask().then(|| rpassword::prompt_password(question).map(crate::config::Secret::new))
}

/// `delete --queue`: shows on stderr what will be done with the judged
/// `pages` and asks once (`--yes` or a dry run asks nothing); `Denied` when
/// nobody confirmed.
pub fn confirm_queue_plan(
    queue: &str,
    action: Action,
    pages: &[RenderedPage],
    args: &ActArgs,
) -> Result<(), Error> {
    anstream::eprint!("{}", queue_plan(queue, &action.to_string(), pages));
    let acting = pages.iter().filter(|p| will_act(p)).count();
    if args.yes || args.dry_run || acting == 0 {
        return Ok(());
    }
    match typed_yes(&format!("Type `yes` to go ahead with {acting} page(s): ")) {
        true => Ok(()),
        false => Err(Error::Denied(format!(
            "nothing was done: confirm the {acting} page(s) above with `--yes` (or `yes` at a terminal)"
        ))),
    }
}

/// What `delete --queue` will do with the pages it judged: the pages it will
/// act on (and which of them the bot could not undo), and the refused ones
/// with the rules that refused them.
fn queue_plan(queue: &str, action: &str, pages: &[RenderedPage]) -> String {
    let acting: Vec<&RenderedPage> = pages.iter().filter(|p| will_act(p)).collect();
    let mut out = format!(
        "queue `{queue}`: {} page(s) to {action}, {} refused\n",
        acting.len(),
        pages.len() - acting.len()
    );
    for page in pages {
        let line = match page.decision.as_str() {
            "allowed" => format!("  will {action}: {}", page.title),
            "needs-confirmation" => {
                format!(
                    "  will {action} (the bot could not undo it): {}",
                    page.title
                )
            }
            decision => {
                let failing: Vec<&str> = page.json["rules"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| r["passed"] == false)
                    .filter_map(|r| r["rule"].as_str())
                    .collect();
                format!("  {decision}: {} ({})", page.title, failing.join(", "))
            }
        };
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Whether a judged page is one the queue will act on.
pub fn will_act(page: &RenderedPage) -> bool {
    matches!(page.decision.as_str(), "allowed" | "needs-confirmation")
}
