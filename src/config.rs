//! `adminibot.toml`, the environment, and secrets.
//!
//! Settings are resolved here into plain structs before any work starts. Every
//! `ADMINIBOT_*` variable is declared in [`env`].

use crate::located::FileError;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Every environment variable adminibot reads.
pub mod env {
    /// Path of `adminibot.toml` when `--config` is not given.
    pub const CONFIG: &str = "ADMINIBOT_CONFIG";
    /// The bot's BotPassword secret, instead of `[bot] password_file`.
    pub const BOT_PASSWORD: &str = "ADMINIBOT_BOT_PASSWORD";
    /// The person running the command: their BotPassword login (`Name@app`).
    pub const USERNAME: &str = "ADMINIBOT_USERNAME";
    /// Their BotPassword secret.
    pub const PASSWORD: &str = "ADMINIBOT_PASSWORD";
    /// A 0600 file holding their BotPassword secret.
    pub const PASSWORD_FILE: &str = "ADMINIBOT_PASSWORD_FILE";
}

/// A value that must never be printed: `Debug` shows `REDACTED` and there is no
/// `Display`. [`Secret::expose`] marks the one place it is used. Its memory is
/// overwritten with zeros when it is dropped (each clone's too).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Makes this process non-dumpable: no core dump can carry a secret to disk,
/// and other processes of the same user cannot attach to it or read its
/// memory through `/proc` (which then belongs to root). Called first thing in
/// every process, service and client alike.
pub fn keep_secrets_out_of_core_dumps() {
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        tracing::warn!("cannot turn core dumps off: {e}");
    }
}

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one call that sends it to the wiki.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

/// A problem with the configuration. Nothing was sent to the wiki.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No config file was given or found.
    #[error(
        "no configuration file: give `--config PATH`, set `ADMINIBOT_CONFIG`, or create `{0}`"
    )]
    NotFound(PathBuf),
    /// The file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error(transparent)]
    Invalid(#[from] FileError),
    /// The command needs the caller's own login and none was given.
    #[error("this command needs your own wiki login: run `adminibot init`, or set `ADMINIBOT_USERNAME` to your BotPassword name (`You@app`) and `ADMINIBOT_PASSWORD_FILE` (or `ADMINIBOT_PASSWORD`)")]
    NoCallerLogin,
    /// A secret file in a place others could tamper with.
    #[error("`{path}` {why}, so it cannot hold a secret", path = .path.display())]
    SecretUnsafe {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A client config with a section only the service may hold.
    #[error("`{path}` has `[broker]` and `[{section}]`: a requester's config names only the broker; the bot's login, the store and the wiki belong to the service (`adminibot serve`)", path = .path.display())]
    ClientHoldsServiceKeys {
        /// The file.
        path: PathBuf,
        /// The section that does not belong.
        section: String,
    },
    /// A URL that would send logins or requests in the clear.
    #[error("`{url}` is not https: only a loopback address may use http ({what})")]
    Insecure {
        /// The URL.
        url: String,
        /// Which setting.
        what: String,
    },
    /// A secret file others could read.
    #[error("`{0}` can be read by other users, so it cannot hold a secret")]
    SecretReadable(PathBuf),
}

/// The resolved `adminibot.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// The wiki.
    pub wiki: WikiConfig,
    /// The admin bot's login, if configured.
    pub bot: Option<BotConfig>,
    /// The local store, if configured.
    pub store: Option<StoreConfig>,
    /// Where `adminibot serve` listens (the service's config only).
    pub listen: Option<ListenConfig>,
}

/// `[listen]` of the service's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// `host:port`, loopback unless a TLS proxy sits in front on this host; or
    /// `unix:/path` for a Unix socket.
    pub address: String,
    /// Proposals answered per minute across all requesters, before `429`.
    #[serde(default = "default_proposals_per_minute")]
    pub proposals_per_minute: u32,
    /// How often the service reconciles open requests and records automatic
    /// revocations (`90s`, `5m`).
    #[serde(default = "default_maintenance_every")]
    pub maintenance_every: String,
    /// The wiki API the service names to its clients, when requesters reach the
    /// wiki by another address than the service does (an internal host or an
    /// egress proxy in front of the service); `[wiki] api` if unset.
    pub requesters_wiki_api: Option<String>,
}

fn default_proposals_per_minute() -> u32 {
    60
}

fn default_maintenance_every() -> String {
    "60s".into()
}

/// A requester's config: only `[broker]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// The broker service's URL (`https://`, `http://` on loopback, or
    /// `unix:/path` for a service's Unix socket on this host).
    pub url: String,
    /// If set, the wiki API the service must name; a service that names another
    /// is refused, so a rogue service cannot collect the requester's login.
    pub wiki_api: Option<String>,
}

/// `[login]` of a requester's config: their own BotPassword, which
/// `adminibot init` writes. `ADMINIBOT_USERNAME` and `ADMINIBOT_PASSWORD_FILE`
/// (or `ADMINIBOT_PASSWORD`) take precedence over it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// Their BotPassword login, `Name@app`.
    pub username: String,
    /// The file with its secret (mode 0600), relative to the config file.
    pub password_file: PathBuf,
}

/// A requester's config: the broker, and optionally their own login.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `[broker]`.
    pub broker: BrokerConfig,
    /// `[login]`, its `password_file` resolved against the config's folder.
    pub login: Option<LoginConfig>,
}

/// What a config file is: a requester's (`[broker]`) or a service's.
#[derive(Debug, Clone)]
pub enum ConfigKind {
    /// `[broker] url`: the CLI is the client of a service.
    Client(ClientConfig),
    /// `[wiki]`, `[bot]`, `[store]`: this process holds the keys.
    Service(Config),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClientConfig {
    broker: BrokerConfig,
    login: Option<LoginConfig>,
}

impl ConfigKind {
    /// Reads `path` as a client config if it has `[broker]`, else as a
    /// service config. A client config may hold nothing but `[broker]`: the bot's
    /// login and the store belong to the service alone.
    pub fn load(path: &Path) -> Result<ConfigKind, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| FileError::from_toml(path, &text, &e))?;
        if !table.contains_key("broker") {
            return Config::load(path).map(ConfigKind::Service);
        }
        if let Some(section) = ["bot", "store", "wiki", "listen"]
            .into_iter()
            .find(|s| table.contains_key(*s))
        {
            return Err(ConfigError::ClientHoldsServiceKeys {
                path: path.to_path_buf(),
                section: section.to_string(),
            });
        }
        let raw: RawClientConfig =
            toml::from_str(&text).map_err(|e| FileError::from_toml(path, &text, &e))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let login = raw.login.map(|mut login| {
            login.password_file = folder.join(&login.password_file);
            login
        });
        Ok(ConfigKind::Client(ClientConfig {
            broker: raw.broker,
            login,
        }))
    }
}

/// Whether `url` is `https://`, `http://` to a loopback host, or a local Unix
/// socket (`unix:/path`, the broker's only).
pub fn secure_or_loopback(url: &str) -> bool {
    if url.starts_with("https://") || url.starts_with("unix:/") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `[wiki]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WikiConfig {
    /// Short name, as it appears in audit rows.
    pub name: String,
    /// URL of `api.php`.
    pub api: String,
    /// Policy file, relative to the config file.
    pub policy: PathBuf,
}

/// `[bot]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// BotPassword login of the admin bot (`AdminBot@adminibot`).
    pub username: String,
    /// File with the BotPassword secret (mode 0600), relative to the config file.
    pub password_file: Option<PathBuf>,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file, relative to the config file.
    pub path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    wiki: WikiConfig,
    bot: Option<BotConfig>,
    store: Option<StoreConfig>,
    listen: Option<ListenConfig>,
}

/// The user's folders for adminibot: `$XDG_CONFIG_HOME/adminibot` (else
/// `~/.config/adminibot`) and `$XDG_CACHE_HOME/adminibot`; `None` without a
/// home folder.
pub fn user_folders() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "adminibot")
}

/// Where a config file is looked for, or written by `init`, without
/// `--config`: `$ADMINIBOT_CONFIG`, else `adminibot.toml` in the user's config
/// folder ([`user_folders`]).
pub fn default_path() -> PathBuf {
    if let Some(path) = std::env::var_os(env::CONFIG).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    user_folders()
        .map(|dirs| dirs.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".config/adminibot"))
        .join("adminibot.toml")
}

/// Where the config file is: `--config`, else [`default_path`] if it exists.
pub fn locate(flag: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    let default = default_path();
    if default.exists() || std::env::var_os(env::CONFIG).is_some_and(|p| !p.is_empty()) {
        Ok(default)
    } else {
        Err(ConfigError::NotFound(default))
    }
}

impl Config {
    /// Reads `path`; relative paths inside are made relative to its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let raw: RawConfig =
            toml::from_str(&text).map_err(|e| FileError::from_toml(path, &text, &e))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                folder.join(p)
            }
        };
        let mut wiki = raw.wiki;
        wiki.policy = resolve(&wiki.policy);
        let bot = raw.bot.map(|mut bot| {
            bot.password_file = bot.password_file.as_deref().map(resolve);
            bot
        });
        let store = raw.store.map(|s| StoreConfig {
            path: resolve(&s.path),
        });
        Ok(Config {
            path: path.to_path_buf(),
            wiki,
            bot,
            store,
            listen: raw.listen,
        })
    }

    /// The bot's login: `[bot] username` with `$ADMINIBOT_BOT_PASSWORD` or the
    /// secret in `password_file`. `None` when no bot is configured.
    pub fn bot_login(&self) -> Result<Option<(String, Secret)>, ConfigError> {
        let Some(bot) = &self.bot else {
            return Ok(None);
        };
        if let Some(value) = std::env::var_os(env::BOT_PASSWORD).filter(|v| !v.is_empty()) {
            return Ok(Some((
                bot.username.clone(),
                Secret::new(value.to_string_lossy()),
            )));
        }
        match &bot.password_file {
            Some(file) => Ok(Some((bot.username.clone(), read_secret_file(file)?))),
            None => Ok(None),
        }
    }
}

/// The caller's own BotPassword login: `$ADMINIBOT_USERNAME` with the secret in
/// `$ADMINIBOT_PASSWORD_FILE` (mode 0600) or `$ADMINIBOT_PASSWORD`; without
/// `$ADMINIBOT_USERNAME`, the config's `[login]`.
pub fn caller_login(configured: Option<&LoginConfig>) -> Result<(String, Secret), ConfigError> {
    let username = std::env::var(env::USERNAME)
        .ok()
        .filter(|u| !u.trim().is_empty());
    let Some(username) = username else {
        return match configured {
            Some(login) => Ok((
                login.username.clone(),
                read_secret_file(&login.password_file)?,
            )),
            None => Err(ConfigError::NoCallerLogin),
        };
    };
    if let Some(file) = std::env::var_os(env::PASSWORD_FILE).filter(|f| !f.is_empty()) {
        return Ok((username, read_secret_file(Path::new(&file))?));
    }
    match std::env::var(env::PASSWORD) {
        Ok(secret) if !secret.is_empty() => Ok((username, Secret::new(secret))),
        _ => Err(ConfigError::NoCallerLogin),
    }
}

/// Reads a secret from a file of the running user's that only they may read
/// (mode 0600 or stricter), in a folder others cannot write.
pub fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let io = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    // A symlink could point anywhere another user chooses; refuse it outright.
    let link = std::fs::symlink_metadata(path).map_err(io)?;
    if link.file_type().is_symlink() {
        return Err(ConfigError::SecretUnsafe {
            path: path.to_path_buf(),
            why: "is a symbolic link".into(),
        });
    }
    // A folder others may write lets them swap the file.
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mode = std::fs::metadata(folder).map_err(io)?.permissions().mode();
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            return Err(ConfigError::SecretUnsafe {
                path: path.to_path_buf(),
                why: format!(
                    "is in `{}`, which other users may write to",
                    folder.display()
                ),
            });
        }
    }
    let mut file = std::fs::File::open(path).map_err(io)?;
    // Check the opened file, not the path again, so it cannot be swapped in between.
    let opened = file.metadata().map_err(io)?;
    if (opened.dev(), opened.ino()) != (link.dev(), link.ino()) {
        return Err(ConfigError::SecretUnsafe {
            path: path.to_path_buf(),
            why: "changed while it was being opened".into(),
        });
    }
    if opened.permissions().mode() & 0o077 != 0 {
        return Err(ConfigError::SecretReadable(path.to_path_buf()));
    }
    if let Some(owner) = crate::owner::foreign_owner(&opened, false) {
        return Err(ConfigError::SecretUnsafe {
            path: path.to_path_buf(),
            why: format!(
                "belongs to uid {owner}, not to you (uid {})",
                crate::owner::running_uid()
            ),
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io)?;
    Ok(Secret::new(text.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_https_or_loopback_urls_are_secure() {
        for ok in [
            "https://en.wikipedia.org/w/api.php",
            "http://127.0.0.1:8080/api.php",
            "http://127.8.9.1/api.php",
            "http://localhost:8470",
            "http://[::1]:8470/v1",
        ] {
            assert!(secure_or_loopback(ok), "{ok}");
        }
        for bad in [
            "http://en.wikipedia.org/w/api.php",
            "http://10.0.0.1:8470",
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
            "ftp://127.0.0.1/",
            "127.0.0.1:8470",
        ] {
            assert!(!secure_or_loopback(bad), "{bad}");
        }
    }

    #[test]
    fn a_client_config_holds_only_the_broker() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adminibot.toml");
        std::fs::write(&path, "[broker]\nurl = \"http://127.0.0.1:8470\"\n").unwrap();
        assert!(
            matches!(ConfigKind::load(&path), Ok(ConfigKind::Client(c)) if c.broker.url == "http://127.0.0.1:8470" && c.login.is_none())
        );
        std::fs::write(
            &path,
            "[broker]\nurl = \"http://127.0.0.1:8470\"\n[login]\nusername = \"Alice@a\"\npassword_file = \"password\"\n",
        )
        .unwrap();
        let Ok(ConfigKind::Client(client)) = ConfigKind::load(&path) else {
            panic!("a client config with [login]");
        };
        let login = client.login.unwrap();
        assert_eq!(login.username, "Alice@a");
        assert_eq!(login.password_file, dir.path().join("password"));
        std::fs::write(
            &path,
            "[broker]\nurl = \"http://127.0.0.1:8470\"\n[bot]\nusername = \"B@a\"\n",
        )
        .unwrap();
        let err = ConfigKind::load(&path).unwrap_err().to_string();
        assert!(err.contains("belong to the service"), "{err}");
    }

    #[test]
    fn the_deployed_examples_load() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
        let Ok(ConfigKind::Client(client)) = ConfigKind::load(&folder.join("client.toml")) else {
            panic!("deploy/client.toml is a client config");
        };
        assert_eq!(
            client.login.map(|l| l.password_file),
            Some(folder.join("password"))
        );
        let service = ConfigKind::load(&folder.join("adminibot.toml")).unwrap();
        assert!(matches!(service, ConfigKind::Service(c) if c.listen.is_some() && c.bot.is_some()));
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(REDACTED)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn secret_files_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bot.secret");
        std::fs::write(&file, "abc\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_secret_file(&file),
            Err(ConfigError::SecretReadable(_))
        ));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret_file(&file).unwrap().expose(), "abc");
    }

    #[test]
    fn secret_files_must_not_be_symlinks_or_in_open_folders() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.secret");
        std::fs::write(&real, "abc").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link.secret");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = read_secret_file(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = read_secret_file(&real).unwrap_err().to_string();
        assert!(err.contains("other users may write"), "{err}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(read_secret_file(&real).unwrap().expose(), "abc");
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adminibot.toml");
        std::fs::write(
            &path,
            "[wiki]\nname = \"t\"\napi = \"http://127.0.0.1:1/api.php\"\npolicy = \"p.toml\"\n[bot]\nusername = \"B@x\"\npassword_file = \"s\"\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.wiki.policy, dir.path().join("p.toml"));
        assert_eq!(
            config.bot.unwrap().password_file,
            Some(dir.path().join("s"))
        );
    }

    #[test]
    fn unknown_keys_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adminibot.toml");
        std::fs::write(
            &path,
            "[wiki]\nname = \"t\"\napi = \"x\"\npolicy = \"p\"\npolcy = \"p\"\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("adminibot.toml:5:1: unknown field `polcy`"),
            "{err}"
        );
    }
}
