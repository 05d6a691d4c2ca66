//! `adminibot serve` as its own Unix user, and the client CLI as another.
//!
//! The test bed creates two system users once (`adminibot-svc` runs the service
//! and owns its config, secret and store in a 0700 folder; `adminibot-req` runs
//! the requesters' CLI with nothing but `[broker] url` and their BotPassword),
//! and starts each process with `setpriv`. The tests run as root, which they
//! need for that.

use super::account;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// The service's Unix user.
pub const SERVICE_USER: &str = "adminibot-svc";
/// The requesters' Unix user.
pub const CLIENT_USER: &str = "adminibot-req";

/// Creates the two users once per test binary (a no-op when they exist).
pub fn ensure_users() {
    static USERS: OnceLock<()> = OnceLock::new();
    USERS.get_or_init(|| {
        for user in [SERVICE_USER, CLIENT_USER] {
            let known = Command::new("id").arg(user).output().expect("id");
            if known.status.success() {
                continue;
            }
            let out = Command::new("useradd")
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    user,
                ])
                .output()
                .expect("useradd (the tests run as root)");
            assert!(
                out.status.success()
                    || Command::new("id")
                        .arg(user)
                        .output()
                        .unwrap()
                        .status
                        .success(),
                "useradd {user}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

/// `chown -R user folder`.
pub fn chown(user: &str, path: &Path) {
    let out = Command::new("chown")
        .arg("-R")
        .arg(user)
        .arg(path)
        .output()
        .expect("chown");
    assert!(
        out.status.success(),
        "chown: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `adminibot` binary where another Unix user can run it: the build folder
/// may sit under a home only root can enter, so it is linked (or copied) into
/// a world-readable folder once per test binary.
pub fn shared_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let source = Path::new(env!("CARGO_BIN_EXE_adminibot"));
            let meta = std::fs::metadata(source).expect("the adminibot binary");
            let stamp = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let dir = PathBuf::from(format!("/tmp/adminibot-test-bin/{stamp}-{}", meta.len()));
            let target = dir.join("adminibot");
            if !target.exists() {
                std::fs::create_dir_all(&dir).expect("binary folder");
                for folder in [dir.parent().unwrap(), dir.as_path()] {
                    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755))
                        .unwrap();
                }
                let partial = dir.join(format!("adminibot.{}", std::process::id()));
                if std::fs::hard_link(source, &partial).is_err() {
                    std::fs::copy(source, &partial).expect("copy the binary");
                }
                std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).unwrap();
                let _ = std::fs::rename(&partial, &target);
            }
            target
        })
        .clone()
}

/// A command run as `user` (with `setpriv`, no supplementary groups) and
/// nothing inherited from the test's environment but `PATH`.
pub fn as_user(user: &str, program: &str) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid", user, "--regid", user, "--clear-groups", "--"])
        .arg(program)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    command
}

/// A running `adminibot serve`, killed when dropped.
pub struct Service {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The service's folder (0700, the service user's): config, secret, store.
    pub dir: PathBuf,
    /// Its config.
    pub config: PathBuf,
    /// Its store.
    pub store: PathBuf,
    /// The client's folder (the client user's): `adminibot.toml` with `[broker]`.
    pub client_dir: PathBuf,
    /// The client's config.
    pub client_config: PathBuf,
    child: Child,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// The service config for the wiki at `api`, with `extra` appended.
pub fn service_config(api: &str, extra: &str) -> String {
    format!(
        "[wiki]\nname = \"localtest\"\napi = \"{api}\"\npolicy = \"localtest.toml\"\n\n[bot]\nusername = \"{}\"\npassword_file = \"bot.secret\"\n\n[store]\npath = \"adminibot.sqlite\"\n\n[listen]\naddress = \"127.0.0.1:0\"\n{extra}",
        account("AdminBot").botpassword_user
    )
}

/// Writes a service folder (config, 0600 secret), owned by the service user.
pub fn service_folder(config: &str) -> tempfile::TempDir {
    ensure_users();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let secret = dir.path().join("bot.secret");
    std::fs::write(&secret, account("AdminBot").botpassword_secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/policies/localtest.toml"),
        dir.path().join("localtest.toml"),
    )
    .expect("copy the policy");
    let path = dir.path().join("adminibot.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    chown(SERVICE_USER, dir.path());
    dir
}

/// Runs `adminibot serve` as the service user in `dir` until it says where it
/// listens; `Err` with its output if it exits first.
pub fn spawn_service(dir: &Path, env: &[(&str, &str)]) -> Result<(Child, String), Output> {
    let mut command = as_user(SERVICE_USER, &shared_binary().to_string_lossy());
    command
        .arg("serve")
        .arg("--config")
        .arg(dir.join("adminibot.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(service_log(dir));
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("spawn adminibot serve");
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    match line.trim().strip_prefix("adminibot serve: listening on ") {
        Some(url) => Ok((child, url.to_string())),
        None => {
            let mut out = child.wait_with_output().expect("wait");
            out.stderr = std::fs::read(dir.join(SERVICE_LOG)).unwrap_or_default();
            Err(out)
        }
    }
}

/// Where a test service's stderr goes, in its folder (root reads it).
pub const SERVICE_LOG: &str = "service.log";

/// The service's stderr: appended to [`SERVICE_LOG`], so a long trace never
/// fills a pipe nobody reads.
fn service_log(dir: &Path) -> Stdio {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(SERVICE_LOG))
        .expect("the service log");
    Stdio::from(file)
}

impl Service {
    /// Starts the service for the wiki at `api` (the extra config lines appended),
    /// and writes the client's `[broker]` config.
    pub fn start(api: &str, extra: &str) -> Service {
        Self::start_with_env(api, extra, &[])
    }

    /// As [`Service::start`], with environment for the service (test hooks).
    pub fn start_with_env(api: &str, extra: &str, env: &[(&str, &str)]) -> Service {
        let dir = service_folder(&service_config(api, extra));
        let (child, url) = spawn_service(dir.path(), env).unwrap_or_else(|out| {
            panic!(
                "adminibot serve did not start:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let client = tempfile::tempdir().expect("temp dir");
        let client_config = client.path().join("adminibot.toml");
        std::fs::write(&client_config, format!("[broker]\nurl = \"{url}\"\n")).unwrap();
        chown(CLIENT_USER, client.path());
        Service {
            url,
            dir: dir.path().to_path_buf(),
            config: dir.path().join("adminibot.toml"),
            store: dir.path().join("adminibot.sqlite"),
            client_dir: client.path().to_path_buf(),
            client_config,
            child,
            _dirs: (dir, client),
        }
    }

    /// The client CLI as the client user, logged in as `who` (if any) with
    /// their BotPassword, and `ADMINIBOT_TEST_STRICT_WARNINGS` on.
    pub fn client(&self, who: Option<&str>) -> Command {
        let mut command = as_user(CLIENT_USER, &shared_binary().to_string_lossy());
        command
            .arg("--config")
            .arg(&self.client_config)
            .env("ADMINIBOT_TEST_STRICT_WARNINGS", "1");
        if let Some(who) = who {
            let account = account(who);
            command
                .env("ADMINIBOT_USERNAME", &account.botpassword_user)
                .env("ADMINIBOT_PASSWORD", &account.botpassword_secret);
        }
        command
    }

    /// Admin grants Alice `self` through this service (a signed command).
    pub fn grant_alice_self(&self) {
        let out = self.run(
            Some("Admin"),
            &[
                "grant",
                "--user",
                "Alice",
                "--tier",
                "self",
                "--reason",
                "good standing",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", super::said(&out));
    }

    /// Runs the client as `who` with `args`.
    pub fn run(&self, who: Option<&str>, args: &[&str]) -> Output {
        self.client(who)
            .args(args)
            .output()
            .expect("run the client")
    }

    /// Waits (up to 10 s) for the service to exit by itself; its exit code.
    pub fn wait_for_exit(&mut self) -> Option<i32> {
        for _ in 0..500 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the service at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the service again on the same folder and store; the client
    /// config is pointed at its new address.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        self.kill();
        let (child, url) = spawn_service(&self.dir, env).unwrap_or_else(|out| {
            panic!(
                "adminibot serve did not start again:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        self.child = child;
        self.url = url;
        std::fs::write(
            &self.client_config,
            format!("[broker]\nurl = \"{}\"\n", self.url),
        )
        .unwrap();
    }

    /// POSTs raw bytes to a route; returns the HTTP status line's code, its
    /// headers and body.
    pub fn post_raw(&self, route: &str, body: &[u8]) -> (u16, String, String) {
        self.http("POST", route, &[("Content-Type", "application/json")], body)
    }

    /// One HTTP/1.1 request to the service with `headers`; the status, the
    /// head and the body.
    pub fn http(
        &self,
        method: &str,
        route: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, String) {
        use std::io::{Read, Write};
        let authority = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(authority).expect("connect to the service");
        let mut head = format!("{method} {route} HTTP/1.1\r\nHost: {authority}\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, head.to_string(), body.to_string())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}
