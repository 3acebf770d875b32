//! What a platform gets from the CLI for one command: config, paths, secrets, HTTP, and a way
//! to talk to the user, for one account of a platform. Built once per process by the CLI, and
//! once more per account with [`Context::for_account`].

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::config::{Config, DEFAULT_ACCOUNT};
use crate::error::Result;
use crate::paths::Paths;
use crate::secrets::SecretStore;
use crate::tokens::TokenStore;
pub use crate::ui::{NoProgress, Progress, Prompter, Ui};

/// Everything a platform method needs besides its own arguments.
#[derive(Clone)]
pub struct Context {
    /// The config file as loaded at start. Writers re-read the file on disk (see `config`).
    pub config: Config,
    pub paths: Paths,
    pub secrets: SecretStore,
    /// Shared HTTP client: redirects are not followed (TikTok's 3xx and Google's 308 are answers,
    /// not directions), timeouts apply to connecting and to silence, never to a whole upload.
    pub http: reqwest::Client,
    pub ui: Arc<dyn Ui>,
    /// The account of the platform this command is for (`youtube:shorts` → `shorts`):
    /// [`DEFAULT_ACCOUNT`] unless a target or `--account` named one. Its tokens, settings,
    /// pending authorisation and saved upload state are its own.
    pub account: String,
}

impl Context {
    /// A context for the default account.
    pub fn new(
        config: Config,
        paths: Paths,
        secrets: SecretStore,
        http: reqwest::Client,
        ui: Arc<dyn Ui>,
    ) -> Context {
        Context {
            config,
            paths,
            secrets,
            http,
            ui,
            account: DEFAULT_ACCOUNT.to_owned(),
        }
    }

    /// The same context for another account (cheap: the HTTP client and UI are shared).
    pub fn for_account(&self, account: &str) -> Context {
        Context {
            account: account.to_owned(),
            ..self.clone()
        }
    }

    /// Whether this account of `platform` is a target of `keryx post all`.
    pub fn is_enabled(&self, platform: &str) -> bool {
        self.config.is_account_enabled(platform, &self.account)
    }

    /// Whether this is the platform's one unnamed account (no `accounts:` in its section).
    pub fn is_default_account(&self) -> bool {
        self.account == DEFAULT_ACCOUNT
    }

    /// `platform`'s config section as this account sees it (see [`Config::account_section`]):
    /// what a platform reads its settings with.
    pub fn section<T: DeserializeOwned>(&self, platform: &str) -> Result<Option<T>> {
        let per_account = crate::platform::find(platform)
            .map(|p| p.account_keys())
            .unwrap_or_default();
        self.config
            .account_section(platform, &self.account, per_account)
    }

    /// [`Context::section`] for a platform that cannot work without one (see
    /// [`Config::require_section`]).
    pub fn require_section<T: DeserializeOwned>(&self, platform: &str, how: &str) -> Result<T> {
        match self.section(platform)? {
            Some(section) => Ok(section),
            None => self.config.require_section(platform, how),
        }
    }

    /// Marks this account of `platform` as a target of `keryx post all` in the config file,
    /// after `keryx auth` stored its token. A named account gets its entry under `accounts:`
    /// (created if missing); when that is the section's first, the account the platform had
    /// until now becomes `accounts: default:` with the `enabled` it had, so it keeps posting.
    pub fn enable(&self, platform: &str) -> Result<()> {
        let path = self.config.path();
        // Re-read: another account's `keryx auth` may have changed it since this one started.
        let known: Vec<&str> = crate::platform::registry().iter().map(|p| p.id()).collect();
        let current = Config::load(path, &known).unwrap_or_else(|_| self.config.clone());
        if self.is_default_account() && !current.has_accounts(platform) {
            return crate::config::set_platform_key(path, platform, "enabled", "true");
        }
        if !current.has_accounts(platform) {
            let default_enabled = current.is_enabled(platform);
            let default_stored = TokenStore::new(&self.secrets, &self.paths, platform)
                .load()
                .ok()
                .flatten()
                .is_some();
            if default_enabled || default_stored {
                let value = if default_enabled { "true" } else { "false" };
                crate::config::set_account_key(path, platform, DEFAULT_ACCOUNT, "enabled", value)?;
            }
        }
        crate::config::set_account_key(path, platform, &self.account, "enabled", "true")?;
        crate::config::set_platform_key(path, platform, "enabled", "true")
    }

    /// The name of a secret of `platform` that belongs to this account (`<platform>/<what>` for
    /// the default account, `<platform>/<account>/<what>` for a named one), for what a
    /// platform keeps besides its tokens (an app password, a pending sign-in).
    pub fn account_secret(&self, platform: &str, what: &str) -> String {
        match self.is_default_account() {
            true => format!("{platform}/{what}"),
            false => format!("{platform}/{}/{what}", self.account),
        }
    }

    /// This account's stored tokens on `platform`. Saving a new authorisation there refuses
    /// one for a person already stored under another account of the platform.
    pub fn tokens(&self, platform: &str) -> TokenStore {
        TokenStore::new(&self.secrets, &self.paths, platform)
            .for_account(&self.account)
            .with_siblings(self.config.accounts(platform))
    }
}
