//! `adminibot init`: a requester's config and secret, or a service's config.
//!
//! Every answer comes from a flag, else from the person at the terminal; with
//! `--no-input` (or no terminal) a missing answer is a usage error naming its
//! flag. Nothing is written until every check passed, and an existing file is
//! replaced only with `--force`.

use super::Output;
use crate::cli::InitArgs;
use crate::config::{self, BrokerConfig, Secret};
use crate::error::Error;
use crate::prompt;
use crate::protocol::Info;
use crate::wiki::Wiki;
use serde_json::json;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Where `init --service` writes without `--config`.
const SERVICE_CONFIG: &str = "/etc/adminibot/adminibot.toml";
/// Where the Debian package and `deploy/adminibot.service` expect the bot's
/// secret, which systemd hands to the service (`LoadCredential=`).
const SERVICE_SECRET: &str = "/etc/adminibot/bot-password";
/// The app name a requester's BotPassword gets by default.
const APP: &str = "adminibot";
/// What the requester's BotPassword needs: the attribution edit is a new
/// section on a page in their own user space, which it may have to create.
/// (MediaWiki's labels, as Special:BotPasswords shows them.)
const GRANTS: [&str; 2] = ["Edit existing pages", "Create, edit, and move pages"];

/// Runs `init`; `config` is `--config`, if given.
pub fn init(args: &InitArgs, config: Option<&Path>) -> Result<Output, Error> {
    let runtime = super::runtime()?;
    if args.service {
        let path = config.map_or_else(|| PathBuf::from(SERVICE_CONFIG), Path::to_path_buf);
        runtime.block_on(init_service(args, &path))
    } else {
        let path = config.map_or_else(config::default_path, Path::to_path_buf);
        runtime.block_on(init_requester(args, &path))
    }
}

/// A flag's value, else the answer typed at the terminal after `question`
/// (`default` for an empty answer), else `default`; an error naming `flag`
/// when there is none.
fn answer(
    given: Option<&str>,
    flag: &str,
    question: &str,
    default: Option<&str>,
) -> Result<String, Error> {
    if let Some(value) = given {
        return Ok(value.to_string());
    }
    let typed = match default {
        Some(default) => prompt::ask(&format!("{question} [{default}]: ")),
        None => prompt::ask(&format!("{question}: ")),
    };
    match (typed.filter(|t| !t.is_empty()), default) {
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(Error::Usage(format!(
            "`init` needs `{flag}`: give it on the command line (nothing is asked with `--no-input` or without a terminal)"
        ))),
    }
}

/// Refuses to go on if any of `paths` exists, unless `--force`.
fn refuse_to_clobber(paths: &[&Path], force: bool) -> Result<(), Error> {
    match paths.iter().find(|p| p.exists()) {
        Some(existing) if !force => Err(Error::Usage(format!(
            "`{}` already exists: `init` never replaces a file unless you add `--force`",
            existing.display()
        ))),
        _ => Ok(()),
    }
}

/// A TOML string literal, quoted and escaped.
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

async fn init_requester(args: &InitArgs, path: &Path) -> Result<Output, Error> {
    let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let secret_path = folder.join("password");
    refuse_to_clobber(&[path, &secret_path], args.force)?;
    let url = answer(
        args.broker.as_deref(),
        "--broker URL",
        "The adminibot service's URL",
        None,
    )?;
    let broker = BrokerConfig {
        url: url.clone(),
        wiki_api: None,
    };
    if !config::secure_or_loopback(&url) {
        return Err(config::ConfigError::Insecure {
            url,
            what: "`--broker`: your requests would travel in the clear".into(),
        }
        .into());
    }
    let info = crate::client::broker_info(&broker).await?;
    eprintln!(
        "{url} is adminibot {} for the wiki `{}` ({}).",
        info.version, info.wiki, info.api
    );
    let username = match &args.username {
        Some(username) => username.clone(),
        None => {
            eprintln!("{}", botpassword_help(&info));
            answer(
                None,
                "--username NAME@APP",
                "Your BotPassword login, as the page showed it (Name@adminibot)",
                None,
            )?
        }
    };
    if !username.contains('@') {
        return Err(Error::Usage(format!(
            "`{username}` is not a BotPassword login: it looks like `Name@{APP}`; make one at {}",
            info.page_url(&format!("Special:BotPasswords/{APP}"))
        )));
    }
    let secret = read_secret(args, &username)?;
    let me = crate::client::first_login(&info, &username, &secret).await?;
    std::fs::create_dir_all(&folder).map_err(|e| cannot_write(&folder, e))?;
    write_private(&secret_path, &format!("{}\n", secret.expose()))?;
    let attribution = info.attribution.replace("{requester}", &me.name);
    let text = format!(
        "# Written by `adminibot init`. Your signatures are saved on {attribution}.\n\
         [broker]\n\
         url = {url}\n\
         # The wiki this service names; another would never get your login.\n\
         wiki_api = {api}\n\n\
         [login]\n\
         # Your BotPassword (Special:BotPasswords). Its secret is in `password`\n\
         # beside this file (mode 0600); ADMINIBOT_USERNAME and\n\
         # ADMINIBOT_PASSWORD_FILE override both.\n\
         username = {username}\n\
         password_file = \"password\"\n",
        url = quoted(&broker.url),
        api = quoted(&info.api),
        username = quoted(&username),
    );
    write_private(path, &text)?;
    Ok(Output::ok(
        format!(
            "logged in as {} (user id {})\nwrote {} and {} (mode 0600)\nyour signatures will be saved on {}\nnext: adminibot list, or adminibot check \"Some page\"\n",
            me.name,
            me.user_id,
            path.display(),
            secret_path.display(),
            attribution,
        ),
        json!({
            "config": path,
            "password_file": secret_path,
            "user": me.name,
            "user_id": me.user_id,
            "broker": broker.url,
            "wiki": info.api,
            "attribution": attribution,
        }),
    ))
}

/// Where to make the BotPassword and which grants to give it.
fn botpassword_help(info: &Info) -> String {
    let grants: Vec<String> = GRANTS.iter().map(|g| format!("  - {g}")).collect();
    format!(
        "\nMake a BotPassword for adminibot, logged in to the wiki as yourself:\n  {}\n\
         Give it these grants and nothing more (your signature is an edit in your own user space):\n{}\n",
        info.page_url(&format!("Special:BotPasswords/{APP}")),
        grants.join("\n")
    )
}

/// The secret: one line of stdin with `--password-stdin`, else typed at the
/// terminal without echo.
fn read_secret(args: &InitArgs, username: &str) -> Result<Secret, Error> {
    let secret = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error::Usage(format!("cannot read the secret from stdin: {e}")))?;
        Secret::new(line.trim())
    } else {
        match prompt::ask_secret(&format!("The password of {username} (not shown): ")) {
            Some(typed) => {
                typed.map_err(|e| Error::Usage(format!("cannot read the secret: {e}")))?
            }
            None => {
                return Err(Error::Usage(
                    "`init` needs the BotPassword's secret: type it at a terminal, or give `--password-stdin` and pipe it in".into(),
                ))
            }
        }
    };
    if secret.expose().is_empty() {
        return Err(Error::Usage(
            "the secret is empty: nothing was written".into(),
        ));
    }
    Ok(secret)
}

async fn init_service(args: &InitArgs, path: &Path) -> Result<Output, Error> {
    refuse_to_clobber(&[path], args.force)?;
    let api = answer(
        args.wiki_api.as_deref(),
        "--wiki-api URL",
        "The wiki's action API (https://…/w/api.php)",
        None,
    )?;
    if !config::secure_or_loopback(&api) {
        return Err(config::ConfigError::Insecure {
            url: api,
            what: "`--wiki-api`: the bot's login would travel in the clear".into(),
        }
        .into());
    }
    let (site, wiki_id) = Wiki::connect(&api, None).await?.site().await?;
    eprintln!("{api} is {site} (`{wiki_id}`).");
    let name = answer(
        args.wiki_name.as_deref(),
        "--wiki-name NAME",
        "Its short name in audit rows",
        Some(&wiki_id),
    )?;
    let default_policy = format!("/usr/share/adminibot/policies/{name}.toml");
    let policy = answer(
        args.policy.as_deref().and_then(Path::to_str),
        "--policy PATH",
        "The policy file",
        Some(&default_policy),
    )?;
    crate::policy::Policy::load(Path::new(&policy))?;
    let bot = answer(
        args.username.as_deref(),
        "--username NAME@APP",
        "The admin bot's BotPassword login",
        None,
    )?;
    let store = answer(
        args.store.as_deref().and_then(Path::to_str),
        "--store PATH",
        "The store",
        Some("/var/lib/adminibot/adminibot.sqlite"),
    )?;
    let listen = answer(
        args.listen.as_deref(),
        "--listen ADDRESS",
        "Listen on",
        Some("127.0.0.1:8470"),
    )?;
    let text = format!(
        "# Written by `adminibot init --service`; deploy/adminibot.toml explains every key.\n\
         [wiki]\nname = {name}\napi = {api}\npolicy = {policy}\n\n\
         [bot]\n\
         # Its secret comes from $CREDENTIALS_DIRECTORY/bot-password (systemd's\n\
         # LoadCredential=bot-password:{SERVICE_SECRET}), or from a\n\
         # password_file owned by the service user, mode 0600.\n\
         username = {bot}\n\n\
         [store]\npath = {store}\n\n\
         [listen]\naddress = {listen}\n",
        name = quoted(&name),
        api = quoted(&api),
        policy = quoted(&policy),
        bot = quoted(&bot),
        store = quoted(&store),
        listen = quoted(&listen),
    );
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(|e| cannot_write(folder, e))?;
    }
    write_file(path, &text, 0o640)?;
    Ok(Output::ok(
        format!(
            "wrote {path}\n\
             The bot's secret is not in it. Put it where systemd hands it to the service:\n  \
             install -o root -g root -m 0600 /dev/stdin {SERVICE_SECRET}   # paste the secret, then Ctrl-D\n\
             (the unit's LoadCredential=bot-password:{SERVICE_SECRET}; without systemd, add\n\
             `password_file` to [bot], a file of the service user's, mode 0600).\n\
             Then: systemctl enable --now adminibot\n",
            path = path.display()
        ),
        json!({
            "config": path,
            "wiki": api,
            "wiki_name": name,
            "bot": bot,
            "secret_goes_to": SERVICE_SECRET,
        }),
    ))
}

fn cannot_write(path: &Path, e: std::io::Error) -> Error {
    Error::Usage(format!("cannot write `{}`: {e}", path.display()))
}

/// Writes a file only its owner may read (replacing one with `--force`).
fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    write_file(path, text, 0o600)
}

/// Writes `text` to `path` with `mode`, replacing the file whole: a new file
/// beside it, renamed over it, so a failure leaves the old one.
fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), Error> {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&partial)?;
        // The umask may have taken bits the mode asked for; set it exactly.
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        cannot_write(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_is_kept_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adminibot.toml");
        std::fs::write(&path, "mine").unwrap();
        let err = refuse_to_clobber(&[&path], false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");
        assert!(refuse_to_clobber(&[&path], true).is_ok());
        write_private(&path, "new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            (
                mode & 0o777,
                std::fs::read_to_string(&path).unwrap().as_str()
            ),
            (0o600, "new")
        );
    }

    #[test]
    fn values_are_quoted_for_toml() {
        for value in [r#"a"b\c"#, "it's", "line\nbreak", "plain"] {
            let table: toml::Table = toml::from_str(&format!("x = {}", quoted(value))).unwrap();
            assert_eq!(table["x"].as_str(), Some(value));
        }
    }
}
