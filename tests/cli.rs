//! The command line itself: usage errors (I-1) and `--help`, snapshot-tested
//! like cargo's and uv's. No wiki is needed; a listener stands where the wiki
//! would be and proves that a usage error never reaches the network.

mod support;

use std::net::TcpListener;
use support::{adminibot_command, AdminibotConfig};

/// A config whose API is a listening socket that nobody should connect to.
fn config_and_listener() -> (AdminibotConfig, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let api = format!("http://{}/api.php", listener.local_addr().unwrap());
    (AdminibotConfig::for_api(&api, true), listener)
}

fn no_connection(listener: &TcpListener) {
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("something connected to the wiki: {other:?}"),
    }
}

/// I-1: unknown flags, missing titles and bad values are usage errors: exit 2,
/// clap's message on stderr, one JSON document on stdout with `--format json`,
/// and no connection to the wiki.
#[test]
fn usage_errors_are_exit_2_and_reach_no_wiki() {
    let (config, listener) = config_and_listener();
    for (args, needle) in [
        (&["--bogus"][..], "unexpected argument '--bogus'"),
        (&["delete"][..], "<TITLE>..."),
        (
            &["check", "X", "--tier", "nonsense"][..],
            "invalid value 'nonsense'",
        ),
        (&["grant", "--user", "Alice"][..], "--tier <TIER>"),
        (
            &["undelete", "X", "--format", "yaml"][..],
            "invalid value 'yaml'",
        ),
    ] {
        let out = adminibot_command(&config.path).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: text mode prints nothing");
    }
    let out = adminibot_command(&config.path)
        .args(["delete", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["results"], serde_json::json!([]));
    assert!(doc["error"]
        .as_str()
        .unwrap()
        .contains("required arguments"));
    no_connection(&listener);
}

/// `--help` in colour (cargo's styles) with `--color always` or
/// `CLICOLOR_FORCE`, plain with `--color never`, `NO_COLOR` or a pipe; the
/// text is the same either way. Errors are coloured too.
#[test]
fn help_and_errors_are_coloured_only_when_asked() {
    let (config, listener) = config_and_listener();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = adminibot_command(&config.path);
        command.args(args).envs(env.iter().copied());
        command.output().unwrap()
    };
    let coloured = run(
        &["--color", "always", "delete", "--help"],
        &[("NO_COLOR", "1")],
    );
    let coloured = String::from_utf8_lossy(&coloured.stdout).into_owned();
    insta::assert_snapshot!("delete_help_coloured", coloured);
    let forced = run(&["delete", "--help"], &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(String::from_utf8_lossy(&forced.stdout), coloured);
    for (args, env) in [
        (&["delete", "--help"][..], &[][..]),
        (
            &["--color", "never", "delete", "--help"][..],
            &[("CLICOLOR_FORCE", "1")][..],
        ),
        (
            &["delete", "--help"][..],
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")][..],
        ),
    ] {
        let plain = run(args, env);
        let plain = String::from_utf8_lossy(&plain.stdout);
        assert!(!plain.contains('\u{1b}'), "{args:?} {env:?}: {plain}");
        assert_eq!(
            plain,
            anstream::adapter::strip_str(&coloured).to_string(),
            "the same help, without colour"
        );
    }
    let error = run(&["--color=always", "list"], &[]);
    let stderr = String::from_utf8_lossy(&error.stderr);
    assert!(
        stderr.starts_with("\u{1b}[1m\u{1b}[31merror:\u{1b}[0m "),
        "{stderr:?}"
    );
    no_connection(&listener);
}

/// `--help` teaches: every command with one line, and the page actions explain
/// their options. Snapshots catch any unreviewed change.
#[test]
fn help_lists_every_command_and_explains_the_page_actions() {
    let (config, listener) = config_and_listener();
    for (name, args) in [
        ("help", &["--help"][..]),
        ("delete_help", &["delete", "--help"][..]),
        ("check_help", &["check", "--help"][..]),
    ] {
        let out = adminibot_command(&config.path).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}");
        insta::assert_snapshot!(name, String::from_utf8_lossy(&out.stdout));
    }
    no_connection(&listener);
}

/// `adminibot completions` scripts load in bash and fish without error and
/// complete a subcommand, `--tier` values and the policy's queue names (the
/// config here names the test policy).
#[test]
fn completion_scripts_load_and_complete() {
    let (config, listener) = config_and_listener();
    let script = |shell: &str| {
        let out = adminibot_command(&config.path)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", support::said(&out));
        let file = config.path.with_file_name(format!("completion.{shell}"));
        std::fs::write(&file, &out.stdout).unwrap();
        file
    };
    let bash = script("bash");
    let complete_bash = |words: &str, index: usize| {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}' && COMP_WORDS=({words}) && COMP_CWORD={index} && _adminibot adminibot \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\" && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                bash.display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", support::said(&out));
        assert!(out.stderr.is_empty(), "{}", support::said(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(complete_bash("adminibot que", 1).contains("queue"));
    let tiers = complete_bash("adminibot check X --tier ''", 4);
    assert!(
        tiers.contains("not-self") && tiers.contains("retired-admin"),
        "{tiers}"
    );
    let queues = complete_bash("adminibot queue ''", 2);
    assert!(
        queues.contains("author-requests") && queues.contains("adminibot"),
        "{queues}"
    );

    let fish = script("fish");
    let out = std::process::Command::new("fish")
        .arg("-c")
        .arg(format!(
            "source '{}'; and complete -C 'adminibot que'; and complete -C 'adminibot check X --tier '",
            fish.display()
        ))
        .output()
        .expect("fish (the suite installs it)");
    let said = support::said(&out);
    assert!(out.status.success() && out.stderr.is_empty(), "{said}");
    let completed = String::from_utf8_lossy(&out.stdout);
    assert!(
        completed.contains("queue") && completed.contains("not-self"),
        "{completed}"
    );
    no_connection(&listener);
}

/// `--version` names the commit and the policy format.
#[test]
fn the_version_names_the_commit_and_the_policy_format() {
    let (config, _listener) = config_and_listener();
    let out = adminibot_command(&config.path)
        .arg("--version")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with(&format!("adminibot {} (", env!("CARGO_PKG_VERSION")))
            && said.contains(", policy format 1)"),
        "{said}"
    );
    assert!(
        !said.contains("unknown commit"),
        "built from a git checkout: {said}"
    );
}

/// The man pages in `man/` are the ones the clap definitions give now (run
/// `cargo xtask man` after changing a command's help), and `delete`'s is
/// snapshot-tested like its `--help`.
#[test]
fn the_man_pages_are_current() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let pages = adminibot::man::pages();
    for (name, page) in &pages {
        let kept = std::fs::read(folder.join(name))
            .unwrap_or_else(|e| panic!("man/{name}: {e}; run `cargo xtask man`"));
        assert!(kept == *page, "man/{name} is stale: run `cargo xtask man`");
    }
    let kept = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(kept, pages.len(), "man/ holds pages of no command");
    let delete = pages
        .iter()
        .find(|(name, _)| name == "adminibot-delete.1")
        .expect("a page for delete");
    insta::assert_snapshot!("man_delete", String::from_utf8_lossy(&delete.1));
}

/// Two processes opening a new store at the same moment both get it: turning a
/// new file to WAL answers "busy" at once to the second, which waits and tries
/// again instead of failing (it failed 66 times in 150 before). `audit` opens
/// the store before any request; the wiki is a socket nobody answers.
#[test]
fn two_processes_opening_a_new_store_at_once_both_succeed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let api = format!("http://{}/api.php", listener.local_addr().unwrap());
    // No bot login: an anonymous session makes no request until it reads.
    let config = AdminibotConfig::for_api(&api, false).with_local_store();
    let store = config.store_path();
    for round in 0..20 {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", store.display()));
        }
        let runs: Vec<_> = (0..2)
            .map(|_| {
                adminibot_command(&config.path)
                    .arg("audit")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for run in runs {
            let out = run.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    no_connection(&listener);
}
