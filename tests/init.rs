//! `adminibot init`, as a requester and an operator would run it: at a
//! pseudo-terminal typing the answers, and from a script with `--no-input`,
//! against the real test wiki and a real `adminibot serve`. The requester runs
//! as the client's Unix user, with a home folder of their own.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::service::{as_user, chown, shared_binary, Service, CLIENT_USER};
use support::terminal::Terminal;
use support::{account, said, TestWiki};

/// A requester's home folder, and the `adminibot` binary run there as the
/// client's user with `$HOME` and `$XDG_CONFIG_HOME` inside it (nothing of the
/// test's environment: no `ADMINIBOT_*`).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        support::service::ensure_users();
        let dir = tempfile::tempdir().unwrap();
        chown(CLIENT_USER, dir.path());
        Home { dir }
    }

    fn command(&self) -> Command {
        let mut command = as_user(CLIENT_USER, &shared_binary().to_string_lossy());
        command
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("ADMINIBOT_TEST_STRICT_WARNINGS", "1");
        command
    }

    /// `$XDG_CONFIG_HOME/adminibot`, where `init` writes.
    fn folder(&self) -> PathBuf {
        self.dir.path().join("config").join("adminibot")
    }

    fn files(&self) -> Vec<String> {
        match std::fs::read_dir(self.folder()) {
            Ok(entries) => {
                let mut names: Vec<String> = entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                names
            }
            Err(_) => Vec::new(),
        }
    }

    /// `adminibot ARGS` with `stdin` piped in.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        support::output_with_stdin(self.command().args(args), stdin)
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A wiki, its service, and Alice holding `self`.
fn setup() -> (TestWiki, Service) {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    service.grant_alice_self();
    (wiki, service)
}

/// At a terminal, `init` asks for the broker and the login, shows where to
/// make the BotPassword and its grants, reads the secret without echo, logs in
/// and writes a config and a 0600 secret; the next commands use them with no
/// flag and no environment variable, and really act as Alice.
#[test]
fn init_at_a_terminal_writes_a_config_and_secret_the_next_commands_use() {
    let (wiki, service) = setup();
    let home = Home::new();
    let alice = account("Alice");
    let mut terminal = Terminal::start(home.command().arg("init"));
    terminal.wait_for("The adminibot service's URL: ");
    terminal.type_line(&service.url);
    terminal.wait_for("(Name@adminibot): ");
    let screen = terminal.screen();
    assert!(
        screen.contains("index.php?title=Special:BotPasswords/adminibot")
            && screen.contains("Edit existing pages")
            && screen.contains("Create, edit, and move pages"),
        "{screen}"
    );
    terminal.type_line(&alice.botpassword_user);
    terminal.wait_for("(not shown): ");
    terminal.type_line(&alice.botpassword_secret);
    let (code, screen) = terminal.finish();
    assert_eq!(code, Some(0), "{screen}");
    let user_id = wiki.sql("SELECT user_id FROM user WHERE user_name = 'Alice'");
    assert!(
        screen.contains(&format!("logged in as Alice (user id {})", user_id.trim())),
        "{screen}"
    );
    assert!(
        !screen.contains(&alice.botpassword_secret),
        "the secret was echoed:\n{screen}"
    );
    assert_eq!(home.files(), ["adminibot.toml", "password"]);
    let secret = home.folder().join("password");
    assert_eq!(mode(&secret), 0o600);
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap().trim(),
        alice.botpassword_secret
    );
    let config = std::fs::read_to_string(home.folder().join("adminibot.toml")).unwrap();
    assert!(
        config.contains(&format!("url = \"{}\"", service.url))
            && config.contains(&format!("username = \"{}\"", alice.botpassword_user))
            && !config.contains(&alice.botpassword_secret),
        "{config}"
    );

    // `check` judges Alice's request (whose: from the config's login).
    let out = home.run(&["check", "Draft:Alice sandbox"], "");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("allowed (delete for Alice"),
        "{}",
        said(&out)
    );
    // And `delete` signs as Alice with the secret init wrote.
    let out = home.run(&["delete", "Draft:Alice sandbox", "--reason", "G7"], "");
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(!wiki.exists("Draft:Alice sandbox"));
    let signed_by = wiki.sql(
        "SELECT actor_name FROM revision JOIN page ON rev_page = page_id \
         JOIN actor ON rev_actor = actor_id WHERE page_namespace = 2 \
         AND page_title = 'Alice/adminibot' ORDER BY rev_id DESC LIMIT 1",
    );
    assert_eq!(signed_by.trim(), "Alice");
}

/// A wrong secret is refused with the wiki's own reason, and nothing is
/// written; so is a secret for a login that is not a BotPassword.
#[test]
fn a_wrong_secret_is_refused_with_the_wikis_reason_and_writes_nothing() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    let home = Home::new();
    let alice = account("Alice");
    let mut terminal = Terminal::start(home.command().args([
        "init",
        "--broker",
        &service.url,
        "--username",
        &alice.botpassword_user,
    ]));
    terminal.wait_for("(not shown): ");
    terminal.type_line("not-the-secret");
    let (code, screen) = terminal.finish();
    assert_eq!(code, Some(2), "{screen}");
    assert!(
        screen.contains("the wiki refused the login")
            && screen.contains("Incorrect username or password"),
        "{screen}"
    );
    assert!(home.files().is_empty(), "{:?}", home.files());

    let out = home.run(
        &[
            "init",
            "--no-input",
            "--broker",
            &service.url,
            "--username",
            "Alice",
            "--password-stdin",
        ],
        "whatever\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains("not a BotPassword login"),
        "{}",
        said(&out)
    );
    assert!(home.files().is_empty(), "{:?}", home.files());
}

/// `--no-input`: a missing answer is an error naming its flag; with every
/// flag (the secret on stdin) `init` does its work; a second run never
/// replaces the files without `--force`.
#[test]
fn init_with_no_input_takes_flags_and_never_clobbers_without_force() {
    let wiki = TestWiki::start();
    let service = Service::start(&wiki.api, "");
    let home = Home::new();
    let alice = account("Alice");
    let out = home.run(&["init", "--no-input"], "");
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains("`init` needs `--broker URL`"),
        "{}",
        said(&out)
    );
    assert!(home.files().is_empty());

    let flags = [
        "init",
        "--no-input",
        "--format",
        "json",
        "--broker",
        &service.url,
        "--username",
        &alice.botpassword_user,
        "--password-stdin",
    ];
    let stdin = format!("{}\n", alice.botpassword_secret);
    let out = home.run(&flags, &stdin);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["user"], "Alice", "{json}");
    assert_eq!(home.files(), ["adminibot.toml", "password"]);
    let config = home.folder().join("adminibot.toml");
    std::fs::write(
        &config,
        format!("[broker]\nurl = \"{}\"\n# mine\n", service.url),
    )
    .unwrap();

    let out = home.run(&flags, &stdin);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("--force"), "{}", said(&out));
    assert!(std::fs::read_to_string(&config).unwrap().contains("# mine"));

    let mut forced = flags.to_vec();
    forced.push("--force");
    let out = home.run(&forced, &stdin);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(!std::fs::read_to_string(&config).unwrap().contains("# mine"));
    assert_eq!(mode(&home.folder().join("password")), 0o600);
}

/// `init --service` writes a service config that names no secret and says
/// where the bot's secret goes (the Debian package's test starts a service
/// from such a config).
#[test]
fn init_service_writes_a_config_and_says_where_the_secret_goes() {
    let wiki = TestWiki::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("adminibot.toml");
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/localtest.toml");
    let bot = account("AdminBot");
    let out = Command::new(env!("CARGO_BIN_EXE_adminibot"))
        .args(["--config", config.to_str().unwrap(), "--no-input"])
        .args(["init", "--service", "--wiki-api", &wiki.api])
        .args(["--policy", policy, "--username", &bot.botpassword_user])
        .args(["--store", "adminibot.sqlite", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let told = said(&out);
    assert!(
        told.contains("LoadCredential=bot-password:/etc/adminibot/bot-password"),
        "{told}"
    );
    assert_eq!(mode(&config), 0o640);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("name = \"wikidb\"") && !text.contains("password_file ="),
        "the wiki's id is the default name, and no secret is named:\n{text}"
    );
    // It is a valid service config: its policy checks.
    let out = Command::new(env!("CARGO_BIN_EXE_adminibot"))
        .args(["--config", config.to_str().unwrap(), "policy", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let out = Command::new(env!("CARGO_BIN_EXE_adminibot"))
        .args(["--config", config.to_str().unwrap(), "--no-input"])
        .args(["init", "--service", "--wiki-api", &wiki.api])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(said(&out).contains("--force"), "{}", said(&out));
}
