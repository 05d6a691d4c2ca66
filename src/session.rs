//! What every command starts from: the config, the policy, a wiki session, the
//! caller's proven identity, the store, and one `now`.

use crate::authority::GrantView;
use crate::charter::LiveFacts;
use crate::config::{self, Config};
use crate::error::Error;
use crate::facts::Timestamp;
use crate::policy::Policy;
use crate::rules::same_user;
use crate::store::{Actor, Store, UserRef};
use crate::wiki::actions::ShutoffRevision;
use crate::wiki::users::{lookup_user, whoami, WikiUser};
use crate::wiki::{BotWiki, Wiki};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tracing::info;

/// Whose login the wiki session uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The caller's own BotPassword (`ADMINIBOT_USERNAME`...): identity is proven.
    Caller,
    /// The admin bot's, if configured, else anonymous: for read-only work.
    BotOrAnonymous,
    /// Both: the caller's (proven, for their own edits) and the bot's (required,
    /// for reading deleted revisions and acting).
    CallerAndBot,
}

/// What a session holds beyond its `wiki` session, by login kind: each kind
/// has exactly what it logged in with.
pub enum Access {
    /// Reads only (`check`, `list`, `audit`): `wiki` is the bot's session or an
    /// anonymous one; there is no caller and no write.
    Reads,
    /// The caller's own login: `wiki` is their session, proven by the wiki.
    Caller(WikiUser),
    /// Acting on pages in one process: the caller's session in `wiki`, the
    /// bot's for its writes, and the shutoff page as read at login.
    Acting {
        /// The caller, proven.
        caller: WikiUser,
        /// The bot's session.
        bot: BotWiki,
        /// The shutoff page's latest revision, read with the caller's identity.
        shutoff: Option<ShutoffRevision>,
    },
    /// The broker service: `wiki` reads as the bot, `bot` writes; the caller is
    /// the requester a signature proved for this job (or the bot itself, for
    /// maintenance), once there is one.
    Service {
        /// The bot's writing session.
        bot: BotWiki,
        /// The job's proven requester.
        caller: Option<WikiUser>,
        /// The shutoff revision the job's proposal was cleared with.
        shutoff: Option<ShutoffRevision>,
    },
}

impl Access {
    /// The bot's session, where this kind has one.
    pub fn bot(&self) -> Option<&BotWiki> {
        match self {
            Access::Acting { bot, .. } | Access::Service { bot, .. } => Some(bot),
            Access::Reads | Access::Caller(_) => None,
        }
    }

    /// The proven caller, where this kind has one.
    pub fn caller(&self) -> Option<&WikiUser> {
        match self {
            Access::Caller(caller) | Access::Acting { caller, .. } => Some(caller),
            Access::Service { caller, .. } => caller.as_ref(),
            Access::Reads => None,
        }
    }
}

/// An open command context.
pub struct Session {
    /// `adminibot.toml`.
    pub config: Config,
    /// The wiki's policy.
    pub policy: Policy,
    /// The wiki session: the caller's with `Login::Caller*`, else the bot's or anonymous.
    pub wiki: Wiki,
    /// The caller, the bot and the shutoff revision, as the login kind has them.
    pub access: Access,
    /// The store, when `[store]` is configured.
    pub store: Option<Store>,
    /// The moment this command runs.
    pub now: Timestamp,
    /// Whether `policy.templates.redirects` holds what the wiki has.
    pub tag_redirects_read: bool,
    /// The charters' live-condition categories read lately, and when.
    live_facts: BTreeMap<String, (Instant, LiveFacts)>,
}

/// How long a live condition's category, once read, stands for a session.
const LIVE_FACTS_FRESH_FOR: Duration = Duration::from_secs(60);

impl Session {
    /// Loads config and policy, opens the store, and logs in.
    pub async fn open(config_flag: Option<&Path>, login: Login) -> Result<Session, Error> {
        let config = Config::load(&config::locate(config_flag)?)?;
        let policy = Policy::load(&config.wiki.policy)?;
        let now = crate::when::now();
        let api = config.wiki.api.as_str();
        // The store first: one that is unsafe or broken stops the command before
        // any request reaches the wiki.
        let store = match &config.store {
            Some(store) => Some(Store::open(&store.path, &config.wiki.name, now)?),
            None => None,
        };
        let bot_login = match login {
            Login::CallerAndBot => Some(
                config
                    .bot_login()?
                    .ok_or_else(|| no_bot_login(&config.path))?,
            ),
            _ => None,
        };
        let (wiki, access) = match login {
            Login::Caller | Login::CallerAndBot => {
                let (username, secret) = config::caller_login(None)?;
                // The two logins are independent: on a wiki that serves requests
                // side by side they overlap, saving a login's time per command.
                let connect_bot = async {
                    match &bot_login {
                        Some((user, secret)) => {
                            let bot = Wiki::connect(api, Some((user, secret))).await?;
                            Ok(Some(BotWiki::new(bot)))
                        }
                        None => Ok(None),
                    }
                };
                let (wiki, bot) =
                    tokio::try_join!(Wiki::connect(api, Some((&username, &secret))), connect_bot)?;
                // Acting needs the shutoff page: read it with the identity, for free.
                let shutoff_page =
                    (login == Login::CallerAndBot).then_some(policy.pages.shutoff.as_str());
                let (me, shutoff) = whoami(&wiki, shutoff_page).await?;
                let claimed = username.split('@').next().unwrap_or(&username);
                if !same_user(claimed, &me.name) {
                    return Err(Error::IdentityMismatch {
                        claimed: claimed.to_string(),
                        proven: me.name,
                    });
                }
                info!(user = %me.name, user_id = me.user_id, groups = ?me.groups, "caller proven by the wiki");
                let access = match bot {
                    Some(bot) => Access::Acting {
                        caller: me,
                        bot,
                        shutoff,
                    },
                    None => Access::Caller(me),
                };
                (wiki, access)
            }
            Login::BotOrAnonymous => {
                let bot = config.bot_login()?;
                let wiki = Wiki::connect(api, bot.as_ref().map(|(u, s)| (u.as_str(), s))).await?;
                (wiki, Access::Reads)
            }
        };
        let mut session = Session {
            config,
            policy,
            wiki,
            access,
            store,
            now,
            tag_redirects_read: false,
            live_facts: BTreeMap::new(),
        };
        // Reads (`check`, `list`, `audit`) write nothing, not even this.
        if login != Login::BotOrAnonymous {
            session.revoke_ended_grants()?;
        }
        Ok(session)
    }

    /// A session of the broker service: its two warm bot sessions (one reads,
    /// one writes), its store, and a caller the service proved (from a signature
    /// edit, or the bot itself for maintenance). Nothing is read from the
    /// environment and nothing is written on opening.
    pub fn in_service(
        config: Config,
        policy: Policy,
        (reader, bot): (Wiki, BotWiki),
        store: Store,
        caller: Option<WikiUser>,
        now: Timestamp,
    ) -> Session {
        Session {
            config,
            policy,
            wiki: reader,
            access: Access::Service {
                bot,
                caller,
                shutoff: None,
            },
            store: Some(store),
            now,
            tag_redirects_read: false,
            live_facts: BTreeMap::new(),
        }
    }

    /// What [`Session::in_service`] took, handed back: the two bot sessions and
    /// the store (`None` only if a command lost it, which is a bug).
    pub fn into_service_parts(self) -> ((Wiki, Option<BotWiki>), Option<Store>) {
        let bot = match self.access {
            Access::Service { bot, .. } | Access::Acting { bot, .. } => Some(bot),
            Access::Reads | Access::Caller(_) => None,
        };
        ((self.wiki, bot), self.store)
    }

    /// The shutoff revision read at login (or the proposal's), taken for the
    /// first write's clearance: later pages read it afresh.
    pub fn take_shutoff(&mut self) -> Option<ShutoffRevision> {
        match &mut self.access {
            Access::Acting { shutoff, .. } | Access::Service { shutoff, .. } => shutoff.take(),
            Access::Reads | Access::Caller(_) => None,
        }
    }

    /// The shutoff revision read at login (or the proposal's), if any.
    pub fn shutoff(&self) -> Option<&ShutoffRevision> {
        match &self.access {
            Access::Acting { shutoff, .. } | Access::Service { shutoff, .. } => shutoff.as_ref(),
            Access::Reads | Access::Caller(_) => None,
        }
    }

    /// The service's job: the shutoff revision its proposal was cleared with.
    pub fn set_shutoff(&mut self, latest: Option<ShutoffRevision>) {
        if let Access::Service { shutoff, .. } | Access::Acting { shutoff, .. } = &mut self.access {
            *shutoff = latest;
        }
    }

    /// Replaces the caller with what the wiki says of them now (their groups
    /// and block, read with a page's facts), or, in the service, sets the
    /// requester a signature proved. A session that reads only has no caller
    /// to replace.
    pub fn set_caller(&mut self, user: WikiUser) -> Result<(), Error> {
        match &mut self.access {
            Access::Caller(caller) | Access::Acting { caller, .. } => *caller = user,
            Access::Service { caller, .. } => *caller = Some(user),
            Access::Reads => return Err(Error::Config(config::ConfigError::NoCallerLogin)),
        }
        Ok(())
    }

    /// Reads the wiki's redirects to the policy's tag templates (`{{Cv}}` for
    /// `{{Copyvio}}`) into the session's policy, once: a tag called through a
    /// redirect is still the tag.
    pub async fn read_tag_redirects(&mut self) -> Result<(), Error> {
        if self.tag_redirects_read {
            return Ok(());
        }
        let names = self.policy.templates.tags();
        let found = crate::wiki::facts::template_redirects(self.reader(), &names).await?;
        info!(redirects = found.len(), "the tag templates' redirects read");
        self.policy.templates.redirects = found;
        self.tag_redirects_read = true;
        Ok(())
    }

    /// A live-condition category read less than a minute ago.
    pub fn live_facts_read(&self, category: &str) -> Option<LiveFacts> {
        self.live_facts
            .get(category)
            .filter(|(at, _)| at.elapsed() < LIVE_FACTS_FRESH_FOR)
            .map(|(_, facts)| *facts)
    }

    /// Keeps what a live-condition category showed just now.
    pub fn remember_live_facts(&mut self, category: &str, facts: LiveFacts) {
        self.live_facts
            .insert(category.to_string(), (Instant::now(), facts));
    }

    /// The session that reads facts: the bot's when there is one.
    pub fn reader(&self) -> &Wiki {
        self.access.bot().map_or(&self.wiki, BotWiki::reads)
    }

    /// The bot's session, for its writes.
    pub fn bot(&self) -> Result<&BotWiki, Error> {
        self.access
            .bot()
            .ok_or_else(|| no_bot_login(&self.config.path))
    }

    /// The proven caller.
    pub fn caller(&self) -> Result<&WikiUser, Error> {
        self.access
            .caller()
            .ok_or_else(|| Error::Config(config::ConfigError::NoCallerLogin))
    }

    /// The proven caller as the store records them; refused while they are blocked.
    pub fn actor(&self) -> Result<Actor, Error> {
        let caller = self.caller()?;
        if let Some(reason) = &caller.blocked {
            return Err(Error::Denied(format!(
                "`{}` is blocked on the wiki: {reason}",
                caller.name
            )));
        }
        Ok(actor_of(caller))
    }

    /// The store; an error when the config names none.
    pub fn store(&mut self) -> Result<&mut Store, Error> {
        let path = self.config.path.clone();
        self.store.as_mut().ok_or(Error::NoStore(path))
    }

    /// Takes the store out for a [`crate::broker::Recorder`] to hold; the caller
    /// puts it back with `session.store = Some(..)`.
    pub(crate) fn take_store(&mut self) -> Result<Store, Error> {
        let path = self.config.path.clone();
        self.store.take().ok_or(Error::NoStore(path))
    }

    /// Looks a user up on the wiki by name.
    pub async fn user(&self, name: &str) -> Result<WikiUser, Error> {
        Ok(lookup_user(&self.wiki, name).await?)
    }

    /// Every grant (or one user's) with its charter parsed.
    pub fn grant_views(&mut self, user_id: Option<u64>) -> Result<Vec<GrantView>, Error> {
        Ok(self
            .store()?
            .grants(user_id)?
            .into_iter()
            .map(GrantView::new)
            .collect())
    }

    /// "Recommended that it be revoked by the bot itself at the expiration of the
    /// charter": the first command that changes something after a grant ends
    /// records its revocation (the service does it on its own, between jobs).
    pub fn revoke_ended_grants(&mut self) -> Result<(), Error> {
        if self.store.is_none() {
            return Ok(());
        }
        let now = self.now;
        for view in self.grant_views(None)? {
            if view.needs_automatic_revocation(now) {
                let why = format!("ended by itself: {}", view.state(now).describe());
                self.store()?.revoke_grant(view.grant.id, None, &why, now)?;
                info!(grant = view.grant.id, %why, "automatic revocation recorded");
            }
        }
        Ok(())
    }
}

fn no_bot_login(config: &Path) -> Error {
    Error::Usage(format!(
        "`{}` names no bot login: add `[bot] username` and `password_file`",
        config.display()
    ))
}

/// A wiki user as the store records an actor.
pub fn actor_of(user: &WikiUser) -> Actor {
    Actor {
        user_id: user.user_id,
        name: user.name.clone(),
        groups: user.groups.clone(),
    }
}

/// A wiki user as the store refers to them.
pub fn user_ref(user: &WikiUser) -> UserRef {
    UserRef {
        user_id: user.user_id,
        name: user.name.clone(),
    }
}
