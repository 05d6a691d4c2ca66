//! `adminibot serve`: the broker. The only process that holds the admin bot's
//! secret and opens the store; requesters reach it over HTTP and prove who they
//! are with their own signature edit on the wiki ([`crate::signature`]).
//!
//! - [`start`]: the config, policy and secret vetted (owned by root or this
//!   user, writable by nobody else), the wiki's URL https unless loopback, the
//!   store locked against a second service, then the executor and the routes.
//! - [`executor`]: one thread owning the bot's two warm sessions and the store;
//!   every job, and every bot write, runs there one at a time, so the policy's
//!   write interval holds across all requesters. It also reconciles open
//!   requests and records automatic revocations on its own.
//! - [`routes`]: the HTTP API of [`crate::protocol`], with its limits.

pub mod executor;
pub mod routes;
pub mod web;

use crate::config::{self, Config, ConfigError, Secret};
use crate::error::Error;
use crate::policy::Policy;
use std::path::{Path, PathBuf};

/// Where systemd's `LoadCredential=bot-password:...` puts the bot's secret.
const CREDENTIAL: &str = "bot-password";

/// Runs the service until it is stopped (SIGINT or SIGTERM).
pub fn serve(config_path: &Path) -> Result<(), Error> {
    let config = Config::load(config_path)?;
    let policy = vet(&config)?;
    let listen = config.listen.clone().ok_or_else(|| {
        Error::Usage(format!(
            "`{}` has no `[listen] address`: say where the service listens, e.g. `address = \"127.0.0.1:8470\"`",
            config.path.display()
        ))
    })?;
    let store_path = config
        .store
        .as_ref()
        .map(|s| s.path.clone())
        .ok_or_else(|| Error::NoStore(config.path.clone()))?;
    let _lock = lock_store(&store_path)?;
    let secret = bot_secret(&config)?;
    let maintenance_every = crate::when::parse_duration(&listen.maintenance_every)
        .ok()
        .and_then(|d| d.to_std().ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::Usage(format!(
                "`[listen] maintenance_every = \"{}\"` is not a duration such as `60s`",
                listen.maintenance_every
            ))
        })?;
    let jobs = executor::start(executor::Start {
        config: config.clone(),
        policy: policy.clone(),
        secret,
        maintenance_every,
    })?;
    routes::run(&config, &policy, &listen, jobs)
}

/// Checks everything the service trusts before it trusts it: the config,
/// the policy and the charters folder beside it belong to root or this user and
/// nobody else may write them; the wiki is reached over https unless on
/// loopback; the bot's account is the policy's bot. Returns the policy.
fn vet(config: &Config) -> Result<Policy, Error> {
    vet_file(&config.path, "the config")?;
    vet_file(&config.wiki.policy, "the policy")?;
    if !config::secure_or_loopback(&config.wiki.api) {
        return Err(ConfigError::Insecure {
            url: config.wiki.api.clone(),
            what: "`[wiki] api`: the bot's login would travel in the clear".into(),
        }
        .into());
    }
    if let Some(api) = config
        .listen
        .as_ref()
        .and_then(|l| l.requesters_wiki_api.as_ref())
        .filter(|api| !config::secure_or_loopback(api))
    {
        return Err(ConfigError::Insecure {
            url: api.clone(),
            what: "`[listen] requesters_wiki_api`: requesters' logins would travel in the clear"
                .into(),
        }
        .into());
    }
    let policy = Policy::load(&config.wiki.policy)?;
    let bot = config.bot.as_ref().ok_or_else(|| {
        Error::Usage(format!(
            "`{}` has no `[bot] username`: the service acts as the admin bot",
            config.path.display()
        ))
    })?;
    let account = bot.username.split('@').next().unwrap_or_default();
    if !crate::rules::same_user(account, &policy.bot) {
        return Err(Error::Usage(format!(
            "`[bot] username` logs in as `{account}`, but the policy's bot is `{}`: its log entries would not count as adminibot's own",
            policy.bot
        )));
    }
    Ok(policy)
}

/// A file the service trusts must belong to root or this user, and neither its
/// group nor others may write it (nor swap it: the same holds for its folder).
fn vet_file(path: &Path, what: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let unsafe_file = |why: String| {
        Error::Config(ConfigError::SecretUnsafe {
            path: path.to_path_buf(),
            why: format!("({what}) {why}"),
        })
    };
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(owner) = crate::owner::foreign_owner(&meta, true) {
        return Err(unsafe_file(format!(
            "belongs to uid {owner}, not to root or the service's user (uid {}): run `chown root {}`",
            crate::owner::running_uid(),
            path.display()
        )));
    }
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(unsafe_file(format!(
            "can be written by other users (mode {:04o}): run `chmod go-w {}`",
            mode & 0o7777,
            path.display()
        )));
    }
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let folder_meta = std::fs::metadata(folder).map_err(|source| ConfigError::Read {
            path: folder.to_path_buf(),
            source,
        })?;
        let folder_mode = folder_meta.permissions().mode();
        if folder_mode & 0o022 != 0 && folder_mode & 0o1000 == 0 {
            return Err(unsafe_file(format!(
                "is in `{}`, which other users may write to: run `chmod go-w {}`",
                folder.display(),
                folder.display()
            )));
        }
    }
    Ok(())
}

/// The bot's secret: `$CREDENTIALS_DIRECTORY/bot-password` (systemd's
/// `LoadCredential=`), else `[bot] password_file`. `ADMINIBOT_BOT_PASSWORD` is
/// ignored: the service takes nothing from an environment a requester might set.
fn bot_secret(config: &Config) -> Result<Secret, Error> {
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
        let file = PathBuf::from(dir).join(CREDENTIAL);
        if file.exists() {
            return Ok(config::read_secret_file(&file)?);
        }
    }
    let file = config
        .bot
        .as_ref()
        .and_then(|b| b.password_file.clone())
        .ok_or_else(|| {
            Error::Usage(format!(
                "no bot secret: set `[bot] password_file` in `{}` or give it as the systemd credential `{CREDENTIAL}`",
                config.path.display()
            ))
        })?;
    Ok(config::read_secret_file(&file)?)
}

/// Holds an exclusive lock on `<store>.lock` for as long as it lives, so a
/// second service on the same store refuses to start.
fn lock_store(store: &Path) -> Result<std::fs::File, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::Usage(format!("cannot open the lock `{}`: {e}", path.display())))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(
        |_| {
            Error::Usage(format!(
                "another `adminibot serve` holds the store `{}` (lock `{}`): run one service per store",
                store.display(),
                path.display()
            ))
        },
    )?;
    Ok(file)
}
