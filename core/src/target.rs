//! Targets: where a post goes, a platform and one of its accounts (`youtube:shorts`).
//!
//! A platform whose config section has no `accounts:` has one account,
//! [`DEFAULT_ACCOUNT`], and a target names it by the platform alone (`youtube`), as it did
//! before keryx knew several accounts. Messages and the ledger name targets the same way.

use crate::config::{Config, DEFAULT_ACCOUNT};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::platform::Platform;

/// One account of one platform.
#[derive(Clone)]
pub struct Target {
    pub platform: &'static dyn Platform,
    pub account: String,
}

impl Target {
    pub fn new(platform: &'static dyn Platform, account: &str) -> Target {
        Target {
            platform,
            account: account.to_owned(),
        }
    }

    /// `youtube`, or `youtube:shorts` for a named account.
    pub fn label(&self) -> String {
        label(self.platform.id(), &self.account)
    }

    /// The context a platform gets for this target.
    pub fn context(&self, ctx: &Context) -> Context {
        ctx.for_account(&self.account)
    }

    /// `error`, from this target's platform, with its `keryx auth` hints naming this account
    /// (see [`Error::for_account`]).
    pub fn own(&self, error: Error) -> Error {
        error.for_account(self.platform.id(), &self.account)
    }

    /// The order targets are listed and run in: by platform, then account.
    pub fn sort_key(&self) -> (&'static str, String) {
        (self.platform.id(), self.account.clone())
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// How messages name `platform`'s `account`.
pub fn label(platform: &str, account: &str) -> String {
    match account == DEFAULT_ACCOUNT {
        true => platform.to_owned(),
        false => format!("{platform}:{account}"),
    }
}

/// The command that authorises `platform`'s `account`.
pub fn auth_command(platform: &str, account: &str) -> String {
    match account == DEFAULT_ACCOUNT {
        true => format!("keryx auth {platform}"),
        false => format!("keryx auth {platform} --account {account}"),
    }
}

/// `platform` or `platform:account` as written: the platform and the account, if one is named.
/// The platform must be registered; the account must be a valid name (whether the config lists
/// it is [`resolve`]'s business).
pub fn parse(text: &str) -> Result<(&'static dyn Platform, Option<String>)> {
    let (id, account) = match text.split_once(':') {
        Some((id, account)) => (id, Some(account)),
        None => (text, None),
    };
    let platform = crate::platform::find(id).ok_or_else(|| {
        let known: Vec<&str> = crate::platform::registry().iter().map(|p| p.id()).collect();
        Error::input(format!("unknown platform {id:?}"))
            .with_hint(format!("the platforms are: {}", known.join(", ")))
    })?;
    if let Some(account) = account {
        crate::config::check_account_name(account).map_err(|(problem, hint)| {
            Error::input(format!("{text}: {problem}")).with_hint(hint)
        })?;
    }
    Ok((platform, account.map(str::to_owned)))
}

/// The account a target means: the one it names (which the config must list, when it lists
/// accounts), else the platform's only enabled account. With several enabled, `choose` picks
/// one (a question on a terminal) or, returning `None`, the answer is an error listing them.
pub fn resolve(
    config: &Config,
    platform: &'static dyn Platform,
    account: Option<&str>,
    choose: impl FnOnce(&[String]) -> Option<String>,
) -> Result<Target> {
    let id = platform.id();
    if let Some(account) = account {
        let listed = config.accounts(id);
        if !listed.iter().any(|a| a == account) {
            return Err(config.unknown_account(id, account));
        }
        return Ok(Target::new(platform, account));
    }
    if !config.has_accounts(id) {
        return Ok(Target::new(platform, DEFAULT_ACCOUNT));
    }
    let enabled: Vec<String> = config
        .accounts(id)
        .into_iter()
        .filter(|a| config.is_account_enabled(id, a))
        .collect();
    match enabled.as_slice() {
        [only] => Ok(Target::new(platform, only)),
        [] => Err(Error::input(format!(
            "{id} has no enabled account in {}",
            config.path().display()
        ))
        .with_hint(format!(
            "name one (`{id}:<account>`; its accounts: {}), or set `enabled: true` on one",
            config.accounts(id).join(", ")
        ))),
        several => match choose(several) {
            Some(account) => Ok(Target::new(platform, &account)),
            None => Err(Error::input(format!(
                "{id} has {} enabled accounts: {}",
                several.len(),
                several.join(", ")
            ))
            .with_hint(format!(
                "name the one to post to, e.g. `keryx post {id}:{} VIDEO`, or use `keryx post \
                 all` for every one",
                several[0]
            ))),
        },
    }
}

/// Every enabled account of every enabled platform, sorted.
pub fn enabled(config: &Config) -> Vec<Target> {
    crate::platform::registry()
        .into_iter()
        .flat_map(|platform| {
            config
                .accounts(platform.id())
                .into_iter()
                .filter(move |a| config.is_account_enabled(platform.id(), a))
                .map(move |a| Target::new(platform, &a))
        })
        .collect()
}
