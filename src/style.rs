//! Colour in text output: the styles of decisions and diagnostics, and the
//! `--help` styles. Text is written with styles; `anstream` removes them when
//! colour is off (`--color never`, `NO_COLOR`, or no terminal), so JSON and
//! piped text never carry escape codes.

use anstyle::{AnsiColor, Style};

/// A rule that passed, an allowed or done request.
pub const GOOD: Style = AnsiColor::Green.on_default();
/// A rule that failed, a refused or failed request, `error:`.
pub const BAD: Style = AnsiColor::Red.on_default().bold();
/// What needs the requester's confirmation (`confirm`, `needs-confirmation`).
pub const CONFIRM: Style = AnsiColor::Yellow.on_default().bold();
/// What an administrator should look at soon (`flag`).
pub const FLAG: Style = AnsiColor::Magenta.on_default().bold();
/// `hint:`, what the user can do.
pub const HINT: Style = AnsiColor::Cyan.on_default().bold();

/// `text` in `style`.
pub fn paint(style: Style, text: impl std::fmt::Display) -> String {
    format!("{style}{text}{style:#}")
}

/// The style of a request's `decision` (the JSON contract's word).
pub fn decision(decision: &str) -> Style {
    match decision {
        "allowed" | "done" => GOOD.bold(),
        "needs-confirmation" => CONFIRM,
        _ => BAD,
    }
}

/// `--help`'s styles, those of cargo: green headers, cyan flags and values.
pub fn help() -> clap::builder::Styles {
    clap::builder::Styles::styled()
        .header(AnsiColor::Green.on_default().bold())
        .usage(AnsiColor::Green.on_default().bold())
        .literal(AnsiColor::Cyan.on_default().bold())
        .placeholder(AnsiColor::Cyan.on_default())
        .error(BAD)
        .valid(AnsiColor::Cyan.on_default().bold())
        .invalid(AnsiColor::Yellow.on_default().bold())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painted_text_is_plain_once_styles_are_stripped() {
        let painted = paint(BAD, "FAIL");
        assert_ne!(painted, "FAIL");
        assert_eq!(anstream::adapter::strip_str(&painted).to_string(), "FAIL");
    }

    #[test]
    fn each_decision_has_its_colour() {
        assert_eq!(decision("allowed"), GOOD.bold());
        assert_eq!(decision("done"), GOOD.bold());
        assert_eq!(decision("needs-confirmation"), CONFIRM);
        assert_eq!(decision("refused"), BAD);
        assert_eq!(decision("failed"), BAD);
    }
}
