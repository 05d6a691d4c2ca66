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
