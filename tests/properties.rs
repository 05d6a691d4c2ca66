//! Properties over arbitrary input: the parsers of everything a user writes
//! (titles, durations, policies, charters) never panic, and the local title check
//! is stable. A short run is part of the suite (256 cases each); a longer one:
//! `PROPTEST_CASES=100000 cargo test --test properties`.

use adminibot::charter::Charter;
use adminibot::policy::Policy;
use adminibot::rules::templates::{same_template, template_calls};
use adminibot::when::{parse_duration, parse_when};
use adminibot::wiki::title::precheck;
use proptest::prelude::*;
use std::path::Path;

const POLICY: &str = include_str!("../policies/localtest.toml");
const CHARTER: &str = include_str!("../charters/db-author-backlog.toml");

/// Text that looks like what users paste: titles with namespaces, odd spaces,
/// brackets, fragments, control and combining characters.
fn titleish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ _:#|\\[\\]{}<>a-zA-Z0-9\u{00A0}\u{200E}\u{0301}ßǆ/.~%&;-]{0,40}",
        "(Draft|User|Talk|Special|wikipedia|Media)?:?[a-z ]{0,20}(#[a-z]{0,5})?",
    ]
}

/// Wikitext-like text: braces, pipes, comments, tags and names.
fn wikitextish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "([{}|:#_ \n]|<!--|-->|<nowiki>|</nowiki>|<nowiki/>|<pre>|subst:|Template:|Copyvio|[a-zA-Zß\u{0130}\u{212A}]){0,40}",
    ]
}

/// Whitespace and comments a call's name may be padded with.
fn padding() -> impl Strategy<Value = String> {
    "( |\n|\t|<!--[a-z {}|]{0,8}-->){0,4}"
}

/// A valid file with one line replaced by arbitrary text.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    let lines = base.lines().count();
    (0..lines, any::<String>()).prop_map(move |(at, junk)| {
        base.lines()
            .enumerate()
            .map(|(i, line)| if i == at { junk.as_str() } else { line })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

proptest! {
    #[test]
    fn the_template_parser_never_panics(text in wikitextish()) {
        for name in template_calls(&text) {
            prop_assert!(!name.is_empty());
            let markup = name.contains(['{', '|', '}', '_']);
            prop_assert!(!markup, "{:?} gave {:?}", text, name);
        }
    }

    /// Comments and whitespace around a call's name and its prefixes, and
    /// underscores for spaces, never change what it calls (issue 10 #9).
    #[test]
    fn the_template_parser_is_stable_under_comments_and_whitespace(
        name in "[A-Za-z][a-z0-9-]{0,8}( [a-z0-9]{1,5})?",
        prefix in prop_oneof![Just(""), Just("subst:"), Just("Template:"), Just(":Template:"), Just("safesubst:template:")],
        (a, b, c) in (padding(), padding(), padding()),
        args in "(\\|[a-z=]{0,6}){0,2}",
        around in "[a-z .]{0,10}",
    ) {
        let spelled = name.replace(' ', &format!("{b}_"));
        let text = format!("{around}{{{{{a}{prefix}{spelled}{c}{args}}}}}{around}");
        let calls = template_calls(&text);
        prop_assert_eq!(calls.len(), 1, "{:?} gave {:?}", text, calls);
        prop_assert!(same_template(&calls[0], &name), "{:?} gave {:?}", text, calls);
    }

    #[test]
    fn precheck_never_panics_and_is_stable(title in titleish()) {
        if let Ok(checked) = precheck(&title) {
            prop_assert_eq!(precheck(checked), Ok(checked));
            prop_assert!(!checked.contains('#'));
        }
    }

    #[test]
    fn durations_and_times_never_panic(text in any::<String>()) {
        let _ = parse_duration(&text);
        let _ = parse_when(&text, chrono::Utc::now());
    }

    #[test]
    fn policies_never_panic(text in prop_oneof![any::<String>(), mutated(POLICY)]) {
        if let Err(errors) = Policy::parse(Path::new("p.toml"), &text) {
            // Every error points into the file (or at the whole file).
            for error in &errors.errors {
                prop_assert!(error.line <= text.lines().count().max(1));
            }
        }
    }

    #[test]
    fn charters_never_panic(text in prop_oneof![any::<String>(), mutated(CHARTER)]) {
        if let Err(errors) = Charter::parse(Path::new("c.toml"), &text) {
            prop_assert!(!errors.errors.is_empty());
        }
    }
}
