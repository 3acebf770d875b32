//! Stored OAuth tokens and the locked read–refresh–persist every platform uses.
//!
//! Platforms that rotate refresh tokens (TikTok does on every refresh) make a refresh a
//! one-shot: the old refresh token dies when the new one is issued. Two keryx processes that
//! refresh at once would each get a token and one would store a dead one. So every refresh runs
//! under an exclusive lock per platform account (`<state_dir>/locks/<platform>.lock` for the
//! default account, `<platform>@<account>.lock` for a named one), re-reads what is stored inside
//! it, and persists the reply before anyone else may read. Two accounts never wait on each other.

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::DEFAULT_ACCOUNT;
use crate::error::{Cause, Error, Result};
use crate::paths::Paths;
use crate::secret::Secret;
use crate::secrets::SecretStore;

/// An access token is handed out only if it stays valid this long: long enough for the request
/// it is meant for to reach the server.
pub const MIN_ACCESS_VALIDITY_SECS: i64 = 60;

/// How long [`TokenStore`] waits for another process that holds the platform's lock (it is
/// refreshing, which is one HTTP round trip).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a waiting task tries the lock again.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// What is stored for one platform account after `keryx auth` (JSON under the secret
/// `<platform>/token`, or `<platform>/<account>/token` for a named account).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenSet {
    pub refresh_token: Secret,
    /// Unix seconds; `None` when the platform did not say.
    pub refresh_expires_at: Option<i64>,
    pub access_token: Option<Secret>,
    /// Unix seconds; `None` when the platform did not say (then the access token is not reused).
    pub access_expires_at: Option<i64>,
    /// Who authorised, for `keryx status`.
    pub account: Option<String>,
    /// The platform's stable id of that person or channel (TikTok's `open_id`, YouTube's
    /// channel id, a DID), so one person is never stored under two account names.
    #[serde(default)]
    pub subject: Option<String>,
    /// Defaulted so a set stored without it (older keryx, a platform that grants no scopes)
    /// still reads.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Whatever else the platform needs to keep (TikTok's `open_id`, YouTube's channel id).
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl TokenSet {
    /// The stored access token, if it stays valid at least `min_secs` after `now`.
    pub fn access_valid_for(&self, now: i64, min_secs: i64) -> Option<&Secret> {
        let token = self.access_token.as_ref().filter(|t| !t.is_empty())?;
        let expires_at = self.access_expires_at?;
        (expires_at.saturating_sub(now) >= min_secs).then_some(token)
    }

    /// Whether the refresh token is past its stated lifetime.
    pub fn refresh_expired(&self, now: i64) -> bool {
        self.refresh_expires_at.is_some_and(|at| at <= now)
    }
}

/// A platform's answer to a refresh, in platform-neutral terms.
#[derive(Clone, Debug)]
pub struct TokenReply {
    pub access_token: Secret,
    /// Seconds from now.
    pub expires_in: Option<i64>,
    /// A rotated refresh token; `None` or empty keeps the stored one.
    pub refresh_token: Option<Secret>,
    /// Seconds from now, for the (new or kept) refresh token.
    pub refresh_expires_in: Option<i64>,
    /// The scopes granted now, when the reply says.
    pub scopes: Option<Vec<String>>,
}

/// Why an access token is wanted.
#[derive(Clone, Copy, Debug)]
pub enum Need<'a> {
    /// Always refresh: the start of a post, so the whole upload gets a token's full lifetime.
    Mint,
    /// The stored access token if it is valid for at least a minute, else refresh.
    Fresh,
    /// The server rejected this token mid-flight: take a newer one another process stored, or
    /// refresh.
    Replace(&'a Secret),
}

/// One platform account's stored tokens. Platforms get theirs with
/// [`crate::Context::tokens`].
#[derive(Clone, Debug)]
pub struct TokenStore {
    secrets: SecretStore,
    platform: String,
    account: String,
    /// The platform's other accounts, checked by [`TokenStore::save_new`].
    siblings: Vec<String>,
    lock_dir: PathBuf,
    lock_timeout: Duration,
}

impl TokenStore {
    /// The default account's store.
    pub fn new(secrets: &SecretStore, paths: &Paths, platform: &str) -> TokenStore {
        TokenStore {
            secrets: secrets.clone(),
            platform: platform.to_owned(),
            account: DEFAULT_ACCOUNT.to_owned(),
            siblings: Vec::new(),
            lock_dir: paths.state_dir.join("locks"),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// The same platform's store for `account`.
    pub fn for_account(mut self, account: &str) -> TokenStore {
        self.account = account.to_owned();
        self
    }

    /// The platform's accounts, so that [`TokenStore::save_new`] can refuse a person who is
    /// already stored under another of them (this one is left out).
    pub fn with_siblings(mut self, accounts: Vec<String>) -> TokenStore {
        self.siblings = accounts;
        self
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// `platform`, or `platform:account` for a named account: how messages name the target.
    pub fn target(&self) -> String {
        crate::target::label(&self.platform, &self.account)
    }

    /// How long to wait for another process holding the lock (default [`DEFAULT_LOCK_TIMEOUT`]).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> TokenStore {
        self.lock_timeout = timeout;
        self
    }

    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// The secret the set is stored under: `<platform>/token` for the default account (where a
    /// keryx of one account per platform kept it), `<platform>/<account>/token` otherwise.
    pub fn secret_name(&self) -> String {
        secret_name(&self.platform, &self.account)
    }

    /// The lock file that serialises refreshes of this account's tokens.
    pub fn lock_path(&self) -> PathBuf {
        match self.account == DEFAULT_ACCOUNT {
            true => self.lock_dir.join(format!("{}.lock", self.platform)),
            false => self
                .lock_dir
                .join(format!("{}@{}.lock", self.platform, self.account)),
        }
    }

    /// What is stored now, without the lock: for `keryx status` and display. Blocks on the
    /// keychain.
    pub fn load(&self) -> Result<Option<TokenSet>> {
        load_set(&self.secrets, &self.secret_name(), &self.target())
    }

    /// Stores a set from `keryx auth`, replacing what was there, under the lock. Blocks on the
    /// lock and the keychain. Refused (exit 2, nothing stored) when another account of the
    /// platform holds a set for the same [`TokenSet::subject`]: posting one channel twice by
    /// accident is what several accounts must never cause.
    pub fn save_new(&self, set: &TokenSet) -> Result<()> {
        if let Some(subject) = &set.subject {
            for other in self.siblings.iter().filter(|a| **a != self.account) {
                let name = secret_name(&self.platform, other);
                let label = crate::target::label(&self.platform, other);
                let Ok(Some(stored)) = load_set(&self.secrets, &name, &label) else {
                    continue;
                };
                if stored.subject.as_ref() == Some(subject) {
                    let who = set.account.as_deref().unwrap_or(subject);
                    return Err(Error::input(format!(
                        "{who} is already authorised as {label}; keryx keeps one account name \
                         per person, so that nothing is posted there twice by accident"
                    ))
                    .with_hint(format!(
                        "post to `{label}`, or sign in as someone else for {}; to move it, run \
                         `{} --remove` first",
                        self.target(),
                        crate::target::auth_command(&self.platform, other)
                    )));
                }
            }
        }
        let _lock = self.lock_blocking()?;
        save_set(&self.secrets, &self.secret_name(), &self.target(), set)
    }

    /// Stores `previous` again (or nothing, forgetting what is stored), without the check of
    /// [`TokenStore::save_new`]: for an authorisation that [`TokenStore::save_new`] refused
    /// after an earlier save of the same reply, so the account keeps what it had.
    pub fn put_back(&self, previous: Option<&TokenSet>) -> Result<()> {
        let _lock = self.lock_blocking()?;
        match previous {
            Some(set) => save_set(&self.secrets, &self.secret_name(), &self.target(), set),
            None => self.secrets.delete(&self.secret_name()),
        }
    }

    /// Removes the stored set (`keryx auth --logout`-like uses), under the lock.
    pub fn forget(&self) -> Result<()> {
        let _lock = self.lock_blocking()?;
        self.secrets.delete(&self.secret_name())
    }

    /// An access token for `need`: under the platform's lock, re-reads the stored set, returns a
    /// still-valid access token when `need` allows, else calls `refresh` with the stored refresh
    /// token, merges and persists the reply, and returns the new access token.
    ///
    /// `refresh`'s error is returned unchanged (the platform maps `invalid_grant` and such).
    /// Must run inside a Tokio runtime: the keychain is read on its blocking pool.
    pub async fn access_token<F, Fut>(&self, need: Need<'_>, refresh: F) -> Result<Secret>
    where
        F: FnOnce(Secret) -> Fut,
        Fut: Future<Output = Result<TokenReply>>,
    {
        Ok(self.access_token_from(need, refresh).await?.0)
    }

    /// [`TokenStore::access_token`], also saying where the token came from: `true` when this
    /// call refreshed, `false` when it took the stored one (perhaps another process's).
    pub async fn access_token_from<F, Fut>(
        &self,
        need: Need<'_>,
        refresh: F,
    ) -> Result<(Secret, bool)>
    where
        F: FnOnce(Secret) -> Fut,
        Fut: Future<Output = Result<TokenReply>>,
    {
        let _lock = self.lock_async().await?;
        // Inside the lock: another process may have rotated the tokens since anyone last looked.
        let (name, label) = (self.secret_name(), self.target());
        let stored = self
            .blocking(move |secrets| load_set(&secrets, &name, &label))
            .await?;
        let Some(stored) = stored else {
            return Err(self.not_authorised());
        };
        let now = unix_now();
        let reusable = match need {
            Need::Mint => None,
            Need::Fresh => stored.access_valid_for(now, MIN_ACCESS_VALIDITY_SECS),
            Need::Replace(rejected) => stored
                .access_valid_for(now, MIN_ACCESS_VALIDITY_SECS)
                .filter(|current| current.expose() != rejected.expose()),
        };
        if let Some(token) = reusable {
            return Ok((token.clone(), false));
        }
        if stored.refresh_token.is_empty() {
            return Err(self.not_authorised());
        }
        if stored.refresh_expired(now) {
            return Err(Error::authorisation(
                Cause::AuthorisationExpired,
                format!("the {} authorisation has expired", self.target()),
            )
            .with_hint(format!("run `{}` again", self.auth_command())));
        }
        let reply = refresh(stored.refresh_token.clone()).await?;
        let (updated, access) = merge(&stored, reply, unix_now(), &self.platform)?;
        let (name, label) = (self.secret_name(), self.target());
        self.blocking(move |secrets| save_set(&secrets, &name, &label, &updated))
            .await
            .map_err(|e| {
                let hint = format!(
                    "{}; if the next command says {} is not authorised, run `{}`",
                    e.hint().unwrap_or("fix the secret store"),
                    self.target(),
                    self.auth_command()
                );
                e.context(format!(
                    "refreshed the {} token but could not store it",
                    self.target()
                ))
                .with_hint(hint)
            })?;
        Ok((access, true))
    }

    /// Runs a secret-store call on Tokio's blocking pool (it may wait on D-Bus).
    async fn blocking<T, C>(&self, call: C) -> Result<T>
    where
        T: Send + 'static,
        C: FnOnce(SecretStore) -> Result<T> + Send + 'static,
    {
        let secrets = self.secrets.clone();
        tokio::task::spawn_blocking(move || call(secrets))
            .await
            .map_err(|e| {
                Error::platform(format!(
                    "the secret-store task for {} failed unexpectedly",
                    self.platform
                ))
                .with_source(e)
            })?
    }

    fn open_lock_file(&self) -> Result<(File, PathBuf)> {
        crate::paths::create_private_dir(&self.lock_dir)?;
        let path = self.lock_path();
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|e| {
            Error::input(format!("cannot open the lock file {}", path.display()))
                .with_source(e)
                .with_hint(format!(
                    "check that {} is writable",
                    self.lock_dir.display()
                ))
        })?;
        Ok((file, path))
    }

    fn lock_blocking(&self) -> Result<TokenLock> {
        let (file, path) = self.open_lock_file()?;
        let deadline = Instant::now() + self.lock_timeout;
        loop {
            if try_lock(&file, &path)? {
                return Ok(TokenLock { file });
            }
            if Instant::now() >= deadline {
                return Err(self.lock_timeout_error(&path));
            }
            std::thread::sleep(LOCK_POLL);
        }
    }

    /// Polls rather than blocking a runtime thread in `flock`, so a wait is bounded and the
    /// task can be cancelled.
    async fn lock_async(&self) -> Result<TokenLock> {
        let (file, path) = self.open_lock_file()?;
        let deadline = Instant::now() + self.lock_timeout;
        loop {
            if try_lock(&file, &path)? {
                return Ok(TokenLock { file });
            }
            if Instant::now() >= deadline {
                return Err(self.lock_timeout_error(&path));
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    fn lock_timeout_error(&self, path: &Path) -> Error {
        Error::input(format!(
            "another keryx process has been refreshing the {} token for {} s",
            self.platform,
            self.lock_timeout.as_secs()
        ))
        .with_hint(format!(
            "let the other keryx command finish, then try again (lock: {})",
            path.display()
        ))
    }
}

/// The held lock; dropping it releases the lock.
struct TokenLock {
    file: File,
}

impl Drop for TokenLock {
    fn drop(&mut self) {
        // Closing the file releases the lock anyway; unlocking first just makes it prompt.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// `Ok(true)` when the lock was taken, `Ok(false)` when someone else holds it.
fn try_lock(file: &File, path: &Path) -> Result<bool> {
    match fs4::FileExt::try_lock(file) {
        Ok(()) => Ok(true),
        Err(fs4::TryLockError::WouldBlock) => Ok(false),
        Err(fs4::TryLockError::Error(e)) => {
            Err(Error::input(format!("cannot lock {}", path.display()))
                .with_source(e)
                .with_hint("keryx's state directory must be on a file system with file locks"))
        }
    }
}

impl TokenStore {
    /// `keryx auth <platform>` with `--account` when the account is named.
    pub fn auth_command(&self) -> String {
        crate::target::auth_command(&self.platform, &self.account)
    }

    fn not_authorised(&self) -> Error {
        Error::authorisation(
            Cause::NotAuthorised,
            format!("{} is not authorised", self.target()),
        )
        .with_hint(format!("run `{}`", self.auth_command()))
    }
}

fn secret_name(platform: &str, account: &str) -> String {
    match account == DEFAULT_ACCOUNT {
        true => format!("{platform}/token"),
        false => format!("{platform}/{account}/token"),
    }
}

/// `label` is how messages name the target (`youtube:shorts`).
fn load_set(secrets: &SecretStore, name: &str, label: &str) -> Result<Option<TokenSet>> {
    let Some(json) = secrets.get(name)? else {
        return Ok(None);
    };
    // serde_json's message may quote the value it choked on, which is a token: keep only where.
    serde_json::from_str(json.expose()).map(Some).map_err(|e| {
        Error::input(format!(
            "the stored {label} token ({name}) is unreadable: {:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
        .with_hint(format!("run `keryx auth {label}` to store a new one"))
    })
}

fn save_set(secrets: &SecretStore, name: &str, label: &str, set: &TokenSet) -> Result<()> {
    let json = serde_json::to_string(set).map_err(|e| {
        Error::input(format!("cannot encode the {label} token for storage")).with_source(e)
    })?;
    secrets.set(name, &Secret::new(json))
}

/// The stored set updated with a refresh reply, and the new access token.
fn merge(
    stored: &TokenSet,
    reply: TokenReply,
    now: i64,
    platform: &str,
) -> Result<(TokenSet, Secret)> {
    if reply.access_token.is_empty() {
        return Err(Error::platform(format!(
            "{platform}'s token refresh returned no access token"
        ))
        .with_hint(format!(
            "try again; if it persists, run `keryx auth {platform}`"
        )));
    }
    let mut updated = stored.clone();
    match reply.refresh_token.filter(|t| !t.is_empty()) {
        Some(rotated) => {
            updated.refresh_token = rotated;
            // A new refresh token's lifetime is only what this reply says.
            updated.refresh_expires_at = reply.refresh_expires_in.map(|s| now.saturating_add(s));
        }
        None => {
            // Never lose the stored refresh token because a reply left it out.
            if let Some(s) = reply.refresh_expires_in {
                updated.refresh_expires_at = Some(now.saturating_add(s));
            }
        }
    }
    updated.access_token = Some(reply.access_token.clone());
    updated.access_expires_at = reply.expires_in.map(|s| now.saturating_add(s));
    if let Some(scopes) = reply.scopes {
        updated.scopes = scopes;
    }
    Ok((updated, reply.access_token))
}

/// Seconds since 1970; a clock before that counts as 0 (then every token looks expired,
/// which only costs a refresh).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> TokenSet {
        TokenSet {
            refresh_token: Secret::new("rt-1"),
            refresh_expires_at: Some(1_000_000),
            access_token: Some(Secret::new("at-1")),
            access_expires_at: Some(1_000),
            account: Some("me".into()),
            subject: None,
            scopes: vec!["a".into()],
            extra: Default::default(),
        }
    }

    fn reply(refresh: Option<&str>) -> TokenReply {
        TokenReply {
            access_token: Secret::new("at-2"),
            expires_in: Some(3600),
            refresh_token: refresh.map(Secret::new),
            refresh_expires_in: None,
            scopes: None,
        }
    }

    #[test]
    fn a_rotated_refresh_token_replaces_the_stored_one() {
        let (set, access) = merge(&stored(), reply(Some("rt-2")), 100, "p").expect("merge");
        assert_eq!(access.expose(), "at-2");
        assert_eq!(set.refresh_token.expose(), "rt-2");
        assert_eq!(set.refresh_expires_at, None);
        assert_eq!(set.access_expires_at, Some(3700));
        assert_eq!(set.account.as_deref(), Some("me"));
    }

    #[test]
    fn a_missing_or_empty_refresh_token_keeps_the_stored_one() {
        for refresh in [None, Some("")] {
            let (set, _) = merge(&stored(), reply(refresh), 100, "p").expect("merge");
            assert_eq!(set.refresh_token.expose(), "rt-1");
            assert_eq!(set.refresh_expires_at, Some(1_000_000));
        }
    }

    #[test]
    fn an_empty_access_token_is_refused() {
        let mut bad = reply(Some("rt-2"));
        bad.access_token = Secret::new("");
        assert!(merge(&stored(), bad, 100, "p").is_err());
    }

    #[test]
    fn validity_needs_a_known_expiry_and_a_margin() {
        let set = stored();
        assert!(set.access_valid_for(1_000 - 60, 60).is_some());
        assert!(set.access_valid_for(1_000 - 59, 60).is_none());
        let unknown = TokenSet {
            access_expires_at: None,
            ..stored()
        };
        assert!(unknown.access_valid_for(0, 60).is_none());
        assert!(set.refresh_expired(1_000_000));
        assert!(!set.refresh_expired(999_999));
    }
}
