//! Shared helpers of the integration tests: a real MediaWiki on 127.0.0.1.
//!
//! [`TestWiki::start`] builds the golden wiki once (`scripts/testwiki golden`: the
//! accounts of `fixtures/accounts.toml` and the histories of `fixtures/`), then serves
//! a fresh copy of it with `php -S` on a free port. Each instance is private to its
//! test and is gone when the `TestWiki` is dropped, also on panic. Fixture times are
//! relative to [`TestWiki::fixture_time`], the moment the instance started.
//!
//! A missing MediaWiki fails the test: there is no skipping.
#![allow(dead_code)] // not every test binary uses every helper

pub mod browser;
pub mod proxy;
pub mod service;
pub mod terminal;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testwiki");
const ACCOUNTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/accounts.toml");

/// Cookies of one wiki session, by name (the names are the same on every instance).
pub type Cookies = BTreeMap<String, String>;

/// A running, private copy of the golden test wiki.
pub struct TestWiki {
    /// `http://127.0.0.1:PORT/api.php`
    pub api: String,
    pub port: u16,
    /// The instance: `LocalSettings.php`, `data/wikidb.sqlite`, `server.log`; write
    /// `fake-lag` (seconds) or `Extra.php` (settings) here, both are re-read per request.
    pub dir: PathBuf,
    /// Unix seconds the fixtures count back from: P1's newest revision is
    /// `fixture_time - 3600`, and so on.
    pub fixture_time: i64,
    pgid: i32,
    /// Write end of the pipe the instance's watchdog shell reads: when it closes,
    /// even because this process was killed, the instance removes itself.
    _lifeline: ChildStdin,
}

impl TestWiki {
    /// Builds the golden wiki if needed (once per test binary) and starts an instance.
    /// Panics with the script's message if either fails.
    pub fn start() -> TestWiki {
        static GOLDEN: OnceLock<Result<(), String>> = OnceLock::new();
        if let Err(e) = GOLDEN.get_or_init(|| script(&["golden"])) {
            panic!("the test wiki is not available: {e}");
        }

        let mut child = Command::new(SCRIPT)
            .args(["start", "--watch-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let lifeline = child.stdin.take().expect("piped stdin");
        let out = child.wait_with_output().expect("scripts/testwiki start");
        if !out.status.success() {
            panic!(
                "scripts/testwiki start failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        #[derive(Deserialize)]
        struct Started {
            api: String,
            port: u16,
            pgid: i32,
            dir: PathBuf,
            fixture_time: i64,
        }
        let s: Started = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "scripts/testwiki start printed {:?}: {e}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        TestWiki {
            api: s.api,
            port: s.port,
            dir: s.dir,
            fixture_time: s.fixture_time,
            pgid: s.pgid,
            _lifeline: lifeline,
        }
    }

    /// Whether page `title` exists on this wiki now.
    pub fn exists(&self, title: &str) -> bool {
        self.api_get(&[("action", "query"), ("titles", title)])["query"]["pages"][0]
            .get("missing")
            .is_none()
    }

    /// Anonymous GET of api.php with `format=json&formatversion=2`; panics unless
    /// the answer is HTTP 200 with JSON (API errors are JSON: check `["error"]`).
    pub fn api_get(&self, params: &[(&str, &str)]) -> Value {
        self.http("GET", params, &mut Cookies::new())
    }

    /// POST to api.php within the session `cookies`, which it updates.
    pub fn api_post(&self, params: &[(&str, &str)], cookies: &mut Cookies) -> Value {
        self.http("POST", params, cookies)
    }

    /// Logs `account` in with its BotPassword; returns the session's cookies.
    pub fn login(&self, account: &Account) -> Cookies {
        let mut cookies = Cookies::new();
        let token = self.api_post(
            &[("action", "query"), ("meta", "tokens"), ("type", "login")],
            &mut cookies,
        );
        let token = token["query"]["tokens"]["logintoken"]
            .as_str()
            .expect("login token")
            .to_owned();
        let login = self.api_post(
            &[
                ("action", "login"),
                ("lgname", &account.botpassword_user),
                ("lgpassword", &account.botpassword_secret),
                ("lgtoken", &token),
            ],
            &mut cookies,
        );
        assert_eq!(
            login["login"]["result"], "Success",
            "login of {}: {login}",
            account.botpassword_user
        );
        cookies
    }

    /// A write as `who` (BotPassword login, CSRF token, POST): `params` name the
    /// action and its arguments; returns the wiki's answer.
    pub fn write_as(&self, who: &str, params: &[(&str, &str)]) -> Value {
        let mut cookies = self.login(&account(who));
        let tokens = self.api_post(&[("action", "query"), ("meta", "tokens")], &mut cookies);
        let token = tokens["query"]["tokens"]["csrftoken"]
            .as_str()
            .expect("csrf token")
            .to_owned();
        let mut all = params.to_vec();
        all.push(("token", &token));
        self.api_post(&all, &mut cookies)
    }

    /// Saves `text` as `title` with `who`'s BotPassword, as an ordinary edit
    /// would; panics unless the wiki saved it.
    pub fn edit_as(&self, who: &str, title: &str, text: &str) {
        let saved = self.write_as(
            who,
            &[
                ("action", "edit"),
                ("title", title),
                ("text", text),
                ("summary", "test edit"),
            ],
        );
        assert_eq!(saved["edit"]["result"], "Success", "{saved}");
    }

    /// Moves `from` to `to` as `who`, leaving a redirect; panics unless the
    /// wiki moved it.
    pub fn move_as(&self, who: &str, from: &str, to: &str) {
        let moved = self.write_as(
            who,
            &[
                ("action", "move"),
                ("from", from),
                ("to", to),
                ("reason", "test move"),
            ],
        );
        assert!(moved["move"]["to"].is_string(), "{moved}");
    }

    /// How many HTTP requests the server has answered so far (lines like
    /// `[...] 127.0.0.1:PORT [200]: GET /api.php?...` in `server.log`).
    pub fn request_count(&self) -> usize {
        let log = std::fs::read_to_string(self.dir.join("server.log")).expect("server.log");
        log.lines()
            .filter(|line| {
                line.split_once("]: ")
                    .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_uppercase()))
            })
            .count()
    }

    /// Runs a MediaWiki maintenance script (a path under `/usr/share/mediawiki`)
    /// on this instance; panics with its output if it fails.
    pub fn maintenance(&self, script: &str, args: &[&str]) {
        let out = Command::new("php")
            .arg(std::path::Path::new("/usr/share/mediawiki").join(script))
            .args(args)
            .env("MW_CONFIG_FILE", self.dir.join("LocalSettings.php"))
            .output()
            .expect("php");
        assert!(
            out.status.success(),
            "{script} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs SQL on the instance's database with the sqlite3 shell; returns its output.
    pub fn sql(&self, sql: &str) -> String {
        sqlite(&self.dir.join("data/wikidb.sqlite"), sql)
    }

    fn http(&self, method: &str, params: &[(&str, &str)], cookies: &mut Cookies) -> Value {
        let form = params
            .iter()
            .chain(&[("format", "json"), ("formatversion", "2")])
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let (target, body) = match method {
            "GET" => (format!("/api.php?{form}"), String::new()),
            _ => ("/api.php".to_owned(), form),
        };
        let mut request = format!(
            "{method} {target} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nUser-Agent: adminibot-tests\r\n",
            self.port
        );
        if !cookies.is_empty() {
            let pairs: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request += &format!("Cookie: {}\r\n", pairs.join("; "));
        }
        if method == "POST" {
            request += &format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            );
        }
        request += "\r\n";
        request += &body;

        // php -S closes every connection after one response (no keep-alive)
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the test wiki");
        stream.write_all(request.as_bytes()).expect("send request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read response");
        let response = String::from_utf8(response).expect("UTF-8 response");
        let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
        let mut lines = head.lines();
        let status = lines.next().unwrap_or_default();
        assert!(
            status.contains(" 200 "),
            "{method} {target}: {status}\n{body}"
        );
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = value.trim().split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if v == "deleted" || v.is_empty() {
                    cookies.remove(k);
                } else {
                    cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("{method} {target}: not JSON ({e}):\n{body}"))
    }
}

impl Drop for TestWiki {
    /// Kills the server's whole process group (php -S may have forked workers),
    /// waits until it is gone, and removes the instance directory.
    fn drop(&mut self) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            // SAFETY: as above; signal 0 only checks whether the group still exists.
            let group_gone = unsafe { libc::kill(-self.pgid, 0) } != 0;
            if group_gone || TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A folder with an `adminibot.toml` for one test wiki (and the bot's 0600
/// secret), removed when dropped.
pub struct AdminibotConfig {
    _dir: tempfile::TempDir,
    /// The broker service, when the tests run through it (`with_store` under
    /// `ADMINIBOT_TEST_VIA_SERVICE`); `path` is then the client's config.
    pub service: Option<service::Service>,
    /// The `adminibot.toml`.
    pub path: PathBuf,
    /// The bot's secret file (`bot.secret`, mode 0600), even when not configured.
    pub bot_secret: PathBuf,
}

impl TestWiki {
    /// An `adminibot.toml` for this wiki with `policies/localtest.toml`; with
    /// `bot`, the `[bot]` section logs in as `AdminBot@adminibot`.
    pub fn adminibot_config(&self, bot: bool) -> AdminibotConfig {
        AdminibotConfig::for_api(&self.api, bot)
    }
}

impl AdminibotConfig {
    /// An `adminibot.toml` for the API at `api` with `policies/localtest.toml`;
    /// with `bot`, the `[bot]` section logs in as `AdminBot@adminibot`.
    pub fn for_api(api: &str, bot: bool) -> AdminibotConfig {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let admin_bot = account("AdminBot");
        let bot_secret = dir.path().join("bot.secret");
        std::fs::write(&bot_secret, &admin_bot.botpassword_secret).expect("write secret");
        std::fs::set_permissions(&bot_secret, std::fs::Permissions::from_mode(0o600))
            .expect("chmod secret");
        let bot_section = if bot {
            format!(
                "[bot]\nusername = \"{}\"\npassword_file = \"bot.secret\"\n",
                admin_bot.botpassword_user
            )
        } else {
            String::new()
        };
        let path = dir.path().join("adminibot.toml");
        std::fs::write(
            &path,
            format!(
                "[wiki]\nname = \"localtest\"\napi = \"{}\"\npolicy = \"{}/policies/localtest.toml\"\n{bot_section}",
                api,
                env!("CARGO_MANIFEST_DIR")
            ),
        )
        .expect("write adminibot.toml");
        AdminibotConfig {
            _dir: dir,
            service: None,
            path,
            bot_secret,
        }
    }

    /// Adds `[store] path = "adminibot.sqlite"` beside the config. Under
    /// `ADMINIBOT_TEST_VIA_SERVICE=1` it starts `adminibot serve` for the same wiki
    /// instead, and `path` becomes the client's `[broker]` config.
    pub fn with_store(mut self) -> Self {
        let text = std::fs::read_to_string(&self.path).expect("read adminibot.toml");
        if std::env::var_os("ADMINIBOT_TEST_VIA_SERVICE").is_some() {
            let api = text
                .lines()
                .find_map(|l| l.strip_prefix("api = \""))
                .and_then(|l| l.strip_suffix('"'))
                .expect("api in adminibot.toml")
                .to_string();
            let service = service::Service::start(&api, "");
            self.path = service.client_config.clone();
            self.bot_secret = service.dir.join("bot.secret");
            self.service = Some(service);
            return self;
        }
        self.with_local_store()
    }

    /// Adds `[store] path = "adminibot.sqlite"` beside the config, always: for
    /// tests of the process that holds the keys itself (the service's user).
    pub fn with_local_store(self) -> Self {
        let mut text = std::fs::read_to_string(&self.path).expect("read adminibot.toml");
        text.push_str("[store]\npath = \"adminibot.sqlite\"\n");
        std::fs::write(&self.path, text).expect("write adminibot.toml");
        self
    }

    /// Points the config at another `api.php` (a [`proxy::FaultProxy`]). A
    /// service is restarted with it, and still names the wiki's own API to its
    /// clients: the faults are between the bot and the wiki.
    pub fn with_api(mut self, api: &str) -> Self {
        if let Some(service) = self.service.as_mut() {
            let text = std::fs::read_to_string(&service.config).expect("read the config");
            if !text.contains("requesters_wiki_api") {
                let wiki_api = text
                    .lines()
                    .find_map(|l| l.strip_prefix("api = "))
                    .expect("api in the service config")
                    .to_string();
                let text = text.replacen(
                    "[listen]\n",
                    &format!("[listen]\nrequesters_wiki_api = {wiki_api}\n"),
                    1,
                );
                std::fs::write(&service.config, text).expect("write the config");
            }
            set_api(&service.config, api);
            service.restart(&[]);
            return self;
        }
        set_api(&self.path, api);
        self
    }

    /// Edits the policy the bot runs with (a copy of `policies/localtest.toml`):
    /// the service's, which is restarted with it, or one beside the config.
    pub fn with_policy(mut self, edit: impl Fn(&str) -> String) -> Self {
        let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/localtest.toml");
        if let Some(service) = self.service.as_mut() {
            let copy = service.dir.join("localtest.toml");
            let text = std::fs::read_to_string(&copy).expect("read the service's policy");
            std::fs::write(&copy, edit(&text)).expect("write the service's policy");
            service.restart(&[]);
            return self;
        }
        let text = std::fs::read_to_string(shipped).expect("read the policy");
        let copy = self.path.with_file_name("localtest.toml");
        std::fs::write(&copy, edit(&text)).expect("write the policy");
        let config = std::fs::read_to_string(&self.path).expect("read adminibot.toml");
        let config = config.replace(shipped, &copy.to_string_lossy());
        std::fs::write(&self.path, config).expect("write adminibot.toml");
        self
    }

    /// Crashes the process that holds `run`'s request, paused mid-way: the run
    /// itself, or the service (then started again on the same store). Whether
    /// the restarted service settles the request by itself, as it does at start.
    pub fn crash(&mut self, mut run: std::process::Child) -> bool {
        match self.service.as_mut() {
            Some(service) => {
                service.kill();
                let _ = run.wait();
                service.restart(&[]);
                true
            }
            None => {
                run.kill().expect("kill the run");
                run.wait().expect("wait for the run");
                false
            }
        }
    }

    /// What the process that talked to the wiki for `run` said on stderr: the
    /// run's own stderr, or the service's log.
    pub fn diagnostics(&self, run: &std::process::Output) -> String {
        match &self.service {
            Some(service) => std::fs::read_to_string(service.dir.join(service::SERVICE_LOG))
                .expect("the service's log"),
            None => String::from_utf8_lossy(&run.stderr).into_owned(),
        }
    }

    /// The store's SQLite file.
    pub fn store_path(&self) -> PathBuf {
        match &self.service {
            Some(service) => service.store.clone(),
            None => self.path.with_file_name("adminibot.sqlite"),
        }
    }
}

/// The first audit row of `kind` (`adminibot audit --format json` with the
/// config at `config`); panics with the log if there is none.
pub fn first_audit_row(config: &std::path::Path, kind: &str) -> serde_json::Value {
    let audit = adminibot_command(config)
        .args(["audit", "--format", "json"])
        .output()
        .expect("run adminibot audit");
    let doc: serde_json::Value = serde_json::from_slice(&audit.stdout).expect("audit JSON");
    doc["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["kind"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no `{kind}` row: {doc:#}"))
}

/// A run's stdout then stderr, as one text (a report may say on either).
pub fn said(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits until the test pause point's marker `<dir>/paused` appears (at most
/// `seconds`); whether it did.
/// Spawns `command` (stdout and stderr piped) to pause at `stage`
/// (`ADMINIBOT_TEST_PAUSE`), and waits until it is there; it goes on once
/// `<folder>/resume` exists.
pub fn spawn_paused(mut command: Command, stage: &str) -> (std::process::Child, tempfile::TempDir) {
    let pause = tempfile::tempdir().unwrap();
    // A service under its own user must be able to leave its marker here.
    std::fs::set_permissions(
        pause.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let child = command
        .env(
            "ADMINIBOT_TEST_PAUSE",
            format!("{stage}:{}", pause.path().display()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        reached_pause(pause.path(), 60),
        "adminibot never reached the pause point `{stage}`"
    );
    (child, pause)
}

pub fn reached_pause(dir: &std::path::Path, seconds: u64) -> bool {
    let marker = dir.join("paused");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !marker.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    marker.exists()
}

/// Rewrites the `api = "..."` line of the config at `path`.
fn set_api(path: &std::path::Path, api: &str) {
    let text = std::fs::read_to_string(path).expect("read the config");
    let text: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("api = ") {
                format!("api = \"{api}\"")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(path, text.join("\n") + "\n").expect("write the config");
}

/// Runs SQL on the SQLite file `db` with the sqlite3 shell (waiting up to 10 s
/// for a lock); returns its output, panicking if it fails.
pub fn sqlite(db: &std::path::Path, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(
        out.status.success(),
        "sqlite3 {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 from sqlite3")
}

/// The `adminibot` binary with `--config CONFIG`, and no `ADMINIBOT_*` or
/// `RUST_LOG` inherited from the test's environment. Any API warning the wiki
/// gives (a deprecated or unknown parameter) fails the run
/// (`ADMINIBOT_TEST_STRICT_WARNINGS`), so every test guards against them.
pub fn adminibot_command(config: &std::path::Path) -> Command {
    let client = std::fs::read_to_string(config).is_ok_and(|t| t.starts_with("[broker]"));
    let mut command = if client {
        service::as_user(
            service::CLIENT_USER,
            &service::shared_binary().to_string_lossy(),
        )
    } else {
        Command::new(env!("CARGO_BIN_EXE_adminibot"))
    };
    command.arg("--config").arg(config).env_remove("RUST_LOG");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ADMINIBOT_") {
            command.env_remove(key);
        }
    }
    command.env("ADMINIBOT_TEST_STRICT_WARNINGS", "1");
    command
}

/// Runs `command` with `stdin` piped in; its output.
pub fn output_with_stdin(command: &mut Command, stdin: &str) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the command");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `text` encoded for an `application/x-www-form-urlencoded` body.
pub fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first entry of `results` in a `--format json` run's stdout.
pub fn first_result(out: &std::process::Output) -> Value {
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    doc["results"][0].clone()
}

/// Runs `adminibot --config CONFIG ARGS` with nobody logged in.
pub fn adminibot(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    adminibot_command(config)
        .args(args)
        .output()
        .expect("run adminibot")
}

/// The `adminibot` binary with `--config CONFIG`, logged in as `who` with their
/// BotPassword (`ADMINIBOT_USERNAME`, `ADMINIBOT_PASSWORD`).
pub fn adminibot_command_as(config: &std::path::Path, who: &str) -> Command {
    let account = account(who);
    let mut command = adminibot_command(config);
    command
        .env("ADMINIBOT_USERNAME", &account.botpassword_user)
        .env("ADMINIBOT_PASSWORD", &account.botpassword_secret);
    command
}

/// Admin appoints themself as `not-self` issuer and grants Alice `not-self` under
/// the charter in `file`; the grant must exit with `code`.
pub fn grant_alice_not_self_under(
    config: &AdminibotConfig,
    file: &str,
    code: i32,
) -> std::process::Output {
    let issuer = adminibot_as(
        &config.path,
        "Admin",
        &["issuers", "add", "Admin", "--tier", "not-self"],
    );
    assert_eq!(issuer.status.code(), Some(0), "{}", said(&issuer));
    let args = [
        "grant",
        "--user",
        "Alice",
        "--tier",
        "not-self",
        "--charter",
        file,
    ];
    let out = adminibot_as(&config.path, "Admin", &args);
    assert_eq!(out.status.code(), Some(code), "{}", said(&out));
    out
}

/// Runs `adminibot --config CONFIG ARGS` logged in as `who` with their BotPassword.
pub fn adminibot_as(config: &std::path::Path, who: &str, args: &[&str]) -> std::process::Output {
    adminibot_command_as(config, who)
        .args(args)
        .output()
        .expect("run adminibot")
}

/// A fresh wiki, a config with a store, and Alice holding the `self` tier.
pub fn alice_with_self_grant() -> (TestWiki, AdminibotConfig) {
    let wiki = TestWiki::start();
    let config = wiki.adminibot_config(true).with_store();
    grant_self(&config, "Alice");
    (wiki, config)
}

/// Admin grants `user` the `self` tier; panics unless that works.
pub fn grant_self(config: &AdminibotConfig, user: &str) {
    let out = adminibot_as(
        &config.path,
        "Admin",
        &["grant", "--user", user, "--tier", "self"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ARGS --format json` as `who`; returns the exit code and the first result.
pub fn act_json(config: &AdminibotConfig, who: &str, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = adminibot_as(&config.path, who, &all);
    (out.status.code().expect("an exit code"), first_result(&out))
}

/// A test account from `fixtures/accounts.toml`.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    /// Explicit groups only (not `*`, `user`, `autoconfirmed`).
    pub groups: Vec<String>,
    /// Main-account password.
    pub password: String,
    /// BotPassword login name, e.g. `Alice@adminibot`.
    pub botpassword_user: String,
    pub botpassword_secret: String,
}

/// The account `name` of `fixtures/accounts.toml`; panics if there is none.
pub fn account(name: &str) -> Account {
    accounts()
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no account {name} in {ACCOUNTS}"))
}

/// Every account of `fixtures/accounts.toml`, in file order.
pub fn accounts() -> Vec<Account> {
    #[derive(Deserialize)]
    struct File {
        account: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        name: String,
        groups: Vec<String>,
        password: String,
        botpassword_appid: String,
        botpassword_secret: String,
    }
    let text = std::fs::read_to_string(ACCOUNTS).expect(ACCOUNTS);
    let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{ACCOUNTS}: {e}"));
    file.account
        .into_iter()
        .map(|e| Account {
            botpassword_user: format!("{}@{}", e.name, e.botpassword_appid),
            name: e.name,
            groups: e.groups,
            password: e.password,
            botpassword_secret: e.botpassword_secret,
        })
        .collect()
}

/// Runs `scripts/testwiki ARGS`; Err carries its stderr.
fn script(args: &[&str]) -> Result<(), String> {
    let out = Command::new(SCRIPT)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {SCRIPT}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`scripts/testwiki {}` failed ({}):\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
