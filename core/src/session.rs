//! An authorised API session: every call a platform makes with an access token goes through
//! one [`Session`], which adds the token, the reply timeout and the one retry policy
//! ([`crate::http::exchange`]), and replaces the token when the platform says it was refused.
//!
//! The platform supplies only what differs ([`Api`]): how to trade a refresh token for an
//! access token, and how to read one of its replies ([`Verdict`]: ok, token invalid, rate
//! limited, transient, or a final error with the platform's code, message and ids).
//!
//! Why the token can be refused mid-flight: platforms such as TikTok kill a user's older access
//! tokens when anyone refreshes, so two keryx processes posting at once take each other's
//! tokens away. On [`Verdict::TokenInvalid`] the session re-reads the token store under its
//! lock ([`TokenStore::access_token`] with [`Need::Replace`]) and takes the newer token another
//! process stored, or refreshes when there is none, then repeats the call.

use std::future::Future;
use std::sync::Mutex;

use crate::context::Context;
use crate::error::Result;
use crate::http::{Answer, Call, Policy, Reply, Verdict};
use crate::secret::Secret;
use crate::tokens::{DEFAULT_LOCK_TIMEOUT, Need, TokenReply, TokenStore};

/// How often one call may meet a refused token and replace it before giving up: enough for a
/// burst of concurrent keryx processes that each refresh once.
pub const MAX_TOKEN_SWAPS: u32 = 16;

/// Tokens this process refreshed itself that may be refused in a row: one refused right after
/// its own refresh was not killed by another process, and refreshing again will not help.
pub const MAX_OWN_TOKENS_REFUSED: u32 = 2;

/// What a platform tells a [`Session`] about itself.
pub trait Api: Send + Sync {
    /// The platform id; its tokens are stored under it (see [`TokenStore`]).
    fn platform(&self) -> &'static str;

    /// The platform's name for messages ("no reply from TikTok (video init) within 30 s").
    fn display_name(&self) -> &'static str;

    /// Trades `refresh_token` for a new access token (and maybe a rotated refresh token). Use
    /// [`crate::http::exchange`] with `policy`, so the request has the timeout and retries too.
    /// A refusal of the refresh token itself (`invalid_grant`) is
    /// [`crate::Error::authorisation`] with [`crate::Cause::AuthorisationRefused`].
    fn refresh(
        &self,
        ctx: &Context,
        policy: &Policy,
        refresh_token: Secret,
    ) -> impl Future<Output = Result<TokenReply>> + Send;

    /// Reads one reply of the authorised call `what` (as given to [`Session::send`]).
    fn classify(&self, what: &str, reply: &Reply) -> Verdict;
}

/// Which access token a session starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Always refresh: the start of a post, which proves the authorisation still works and
    /// gives the whole upload a token's full lifetime.
    Mint,
    /// The stored access token while it stays valid (right after `keryx auth` or `prepare`).
    Stored,
}

/// Authorised calls to one platform with the current access token.
pub struct Session<'a, A: Api> {
    ctx: &'a Context,
    api: &'a A,
    policy: Policy,
    tokens: TokenStore,
    access: Mutex<Secret>,
}

impl<'a, A: Api> Session<'a, A> {
    /// Takes an access token as `start` says, refreshing (and persisting a rotated refresh
    /// token before the access token is used) when needed.
    pub async fn start(ctx: &'a Context, api: &'a A, start: Start) -> Result<Session<'a, A>> {
        let policy = Policy::from_env();
        // A refresh under the lock may take as long as the retry budget; others wait for it.
        let lock_timeout = DEFAULT_LOCK_TIMEOUT.max(policy.budget + policy.reply_timeout);
        let tokens = ctx.tokens(api.platform()).with_lock_timeout(lock_timeout);
        let need = match start {
            Start::Mint => Need::Mint,
            Start::Stored => Need::Fresh,
        };
        let access = tokens
            .access_token(need, |refresh| api.refresh(ctx, &policy, refresh))
            .await?;
        Ok(Session {
            ctx,
            api,
            policy,
            tokens,
            access: Mutex::new(access),
        })
    }

    pub fn ctx(&self) -> &'a Context {
        self.ctx
    }

    pub fn api(&self) -> &'a A {
        self.api
    }

    /// The policy every call of this session follows.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The access token in use, for requests that do not go through [`Session::send`] (upload
    /// bodies, which have their own stall detection).
    pub fn current(&self) -> Secret {
        self.access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The server refused `rejected`: take a newer token another process stored, or refresh.
    pub async fn replace(&self, rejected: &Secret) -> Result<()> {
        self.replace_from(rejected).await.map(|_| ())
    }

    /// [`Session::replace`], saying whether this process refreshed (`true`) or took a token
    /// another process stored (`false`).
    async fn replace_from(&self, rejected: &Secret) -> Result<bool> {
        let (api, ctx, policy) = (self.api, self.ctx, &self.policy);
        let (access, refreshed) = self
            .tokens
            .access_token_from(Need::Replace(rejected), |refresh| {
                api.refresh(ctx, policy, refresh)
            })
            .await?;
        *self.access.lock().unwrap_or_else(|e| e.into_inner()) = access;
        Ok(refreshed)
    }

    /// Sends an authorised call and returns the reply the platform accepted. `request` builds
    /// the request (on the shared client) with the given access token, once per attempt; `what`
    /// names the call for [`Api::classify`] and in messages, e.g. "video init".
    pub async fn send(
        &self,
        what: &str,
        request: impl Fn(&reqwest::Client, &Secret) -> reqwest::RequestBuilder,
    ) -> Result<Reply> {
        self.send_classified(what, request, |reply| self.api.classify(what, reply))
            .await
    }

    /// [`Session::send`] for a call whose replies mean something else than usual, e.g. a `404`
    /// that is worth retrying right after an upload; `classify` usually falls back on
    /// [`Api::classify`].
    pub async fn send_classified(
        &self,
        what: &str,
        request: impl Fn(&reqwest::Client, &Secret) -> reqwest::RequestBuilder,
        classify: impl Fn(&Reply) -> Verdict,
    ) -> Result<Reply> {
        self.send_under(&self.policy, what, request, classify).await
    }

    /// One attempt of a call that must not be repeated blindly (see [`crate::once`]): a
    /// transient failure, a rate limit, a timeout or a dropped connection is the result, not
    /// retried. A refused token is still replaced and the call repeated, since a refused call
    /// took no effect. A failure becomes a [`crate::once::Failure`] with
    /// [`crate::once::Failure::of`].
    pub async fn send_once(
        &self,
        what: &str,
        request: impl Fn(&reqwest::Client, &Secret) -> reqwest::RequestBuilder,
        classify: impl Fn(&Reply) -> Verdict,
    ) -> Result<Reply> {
        let mut once = self.policy.clone();
        once.budget = std::time::Duration::ZERO;
        self.send_under(&once, what, request, classify).await
    }

    async fn send_under(
        &self,
        policy: &Policy,
        what: &str,
        request: impl Fn(&reqwest::Client, &Secret) -> reqwest::RequestBuilder,
        classify: impl Fn(&Reply) -> Verdict,
    ) -> Result<Reply> {
        let label = format!("{} ({what})", self.api.display_name());
        let mut call = Call::new(policy, &label);
        let mut swaps = 0;
        // Refused tokens in a row that this process had just refreshed itself.
        let mut own_refused = 0;
        let mut own_token = false;
        loop {
            let token = self.current();
            match call
                .run(|| request(&self.ctx.http, &token), &classify)
                .await?
            {
                Answer::Reply(reply) => return Ok(reply),
                Answer::TokenInvalid(error) => {
                    if own_token {
                        own_refused += 1;
                    }
                    if swaps >= MAX_TOKEN_SWAPS || own_refused >= MAX_OWN_TOKENS_REFUSED {
                        return Err(error.with_note(format!(
                            "{} access tokens in a row were refused",
                            swaps + 1
                        )));
                    }
                    swaps += 1;
                    tracing::info!("{label}: the access token was refused; taking a new one");
                    own_token = self.replace_from(&token).await?;
                    if !own_token {
                        // Another process refreshed meanwhile: that, not the server, explains
                        // the refusals so far.
                        own_refused = 0;
                    }
                }
            }
        }
    }
}
