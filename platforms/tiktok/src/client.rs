//! Calls to TikTok's API: the token endpoint, and v2 calls with the envelope, bearer token,
//! retries and the access-token hand-over between concurrent keryx processes.

use std::sync::Mutex;

use reqwest::Method;
use serde::de::DeserializeOwned;

use keryx_core::http::{Backoff, send_retrying};
use keryx_core::tokens::{Need, TokenReply, TokenStore};
use keryx_core::{Context, Error, Result, Secret};

use crate::api::{Envelope, TokenReply as WireTokenReply};
use crate::config::{Endpoints, TikTokConfig};
use crate::error::{api_error, oauth_error};

pub const PLATFORM: &str = "tiktok";

/// How often one call may meet `access_token_invalid` and swap tokens before giving up: enough
/// for a burst of concurrent keryx processes each refreshing once.
const MAX_TOKEN_SWAPS: u32 = 16;

/// The app's credentials and where to send requests.
pub struct App {
    pub config: TikTokConfig,
    pub endpoints: Endpoints,
    client_secret: Secret,
}

impl App {
    /// Reads the config section and finds the client secret (environment, then keychain).
    pub fn load(ctx: &Context) -> Result<App> {
        let config = TikTokConfig::load(ctx)?;
        let (client_secret, _source) = keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM)?;
        Ok(App {
            endpoints: config.endpoints(),
            config,
            client_secret,
        })
    }

    /// Exchanges an authorisation code (§3.1).
    pub async fn exchange_code(
        &self,
        ctx: &Context,
        code: &Secret,
        redirect_uri: &str,
        verifier: &Secret,
    ) -> Result<(TokenReply, Option<String>)> {
        let form = [
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("code", code.expose()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose()),
        ];
        self.token_request(ctx, &form).await
    }

    /// Trades the refresh token for a new access token, and maybe a new refresh token (§3.2).
    pub async fn refresh(&self, ctx: &Context, refresh_token: &Secret) -> Result<TokenReply> {
        let form = [
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        Ok(self.token_request(ctx, &form).await?.0)
    }

    /// POSTs a form to the token endpoint; retries server failures. Errors may come with
    /// HTTP 200, so success is an `access_token` in the body, not the status (§3.4).
    async fn token_request(
        &self,
        ctx: &Context,
        form: &[(&str, &str)],
    ) -> Result<(TokenReply, Option<String>)> {
        let url = self.endpoints.api("/v2/oauth/token/");
        let response = send_retrying("TikTok's token endpoint", &mut Backoff::default(), || {
            ctx.http
                .post(&url)
                .header("Cache-Control", "no-cache")
                .form(form)
        })
        .await
        .map_err(unreachable)?;
        let status = response.status();
        let body = response.bytes().await.map_err(unreachable)?;
        let reply: WireTokenReply = serde_json::from_slice(&body).map_err(|e| {
            Error::platform(format!(
                "TikTok's token endpoint answered {status} with something keryx cannot read"
            ))
            .with_source(e)
        })?;
        if let Some(error) = &reply.error {
            return Err(oauth_error(
                error,
                reply.error_description.as_deref().unwrap_or(""),
                reply.log_id.as_deref().unwrap_or(""),
            ));
        }
        let Some(access_token) = reply.access_token.filter(|t| !t.is_empty()) else {
            return Err(Error::platform(format!(
                "TikTok's token endpoint answered {status} without an access token"
            )));
        };
        let token = TokenReply {
            access_token,
            expires_in: reply.expires_in,
            refresh_token: reply.refresh_token.filter(|t| !t.is_empty()),
            refresh_expires_in: reply.refresh_expires_in,
            scopes: reply.scope.as_deref().map(split_scopes),
        };
        Ok((token, reply.open_id))
    }
}

pub fn split_scopes(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn unreachable(e: reqwest::Error) -> Error {
    Error::platform("cannot reach TikTok")
        .with_source(e)
        .with_hint("check the network connection and try again")
}

/// An authorised session: v2 API calls with the current access token.
pub struct Session<'a> {
    pub app: &'a App,
    ctx: &'a Context,
    tokens: TokenStore,
    access: Mutex<Secret>,
}

impl<'a> Session<'a> {
    /// Mints a fresh access token from the stored refresh token (every post does), persisting a
    /// rotated refresh token before the access token is used.
    pub async fn start(ctx: &'a Context, app: &'a App) -> Result<Session<'a>> {
        let tokens = TokenStore::new(&ctx.secrets, &ctx.paths, PLATFORM);
        let access = tokens
            .access_token(Need::Mint, |refresh| async move {
                app.refresh(ctx, &refresh).await
            })
            .await?;
        Ok(Session {
            app,
            ctx,
            tokens,
            access: Mutex::new(access),
        })
    }

    /// Uses the stored access token while it is valid (right after `keryx auth`).
    pub async fn start_with_stored(ctx: &'a Context, app: &'a App) -> Result<Session<'a>> {
        let tokens = TokenStore::new(&ctx.secrets, &ctx.paths, PLATFORM);
        let access = tokens
            .access_token(Need::Fresh, |refresh| async move {
                app.refresh(ctx, &refresh).await
            })
            .await?;
        Ok(Session {
            app,
            ctx,
            tokens,
            access: Mutex::new(access),
        })
    }

    fn current(&self) -> Secret {
        self.access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The server rejected `rejected`: take a newer token another process stored, or refresh.
    async fn replace(&self, rejected: &Secret) -> Result<()> {
        let (app, ctx) = (self.app, self.ctx);
        let access = self
            .tokens
            .access_token(Need::Replace(rejected), |refresh| async move {
                app.refresh(ctx, &refresh).await
            })
            .await?;
        *self.access.lock().unwrap_or_else(|e| e.into_inner()) = access;
        Ok(())
    }

    /// Calls a v2 endpoint and returns `data`. Retries 5xx, 429 and dropped connections with
    /// backoff. On `access_token_invalid` it takes the newer token another keryx process stored
    /// (TikTok kills older access tokens when anyone refreshes), or refreshes when there is
    /// none; while several processes start at once this can happen more than once.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let url = self.app.endpoints.api(path);
        let payload = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let mut backoff = Backoff::default();
        let mut token_swaps = 0;
        loop {
            let token = self.current();
            let what = format!("TikTok {path}");
            let response = send_retrying(&what, &mut backoff, || {
                let request = self
                    .ctx
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(token.expose());
                match &payload {
                    // TikTok asks for this exact content type (§5.1).
                    Some(payload) => request
                        .header("Content-Type", "application/json; charset=UTF-8")
                        .body(payload.clone()),
                    None => request,
                }
            })
            .await
            .map_err(unreachable)?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(unreachable)?;
            let Some(envelope) = serde_json::from_slice::<Envelope<T>>(&bytes).ok() else {
                return Err(Error::platform(format!(
                    "{what} answered {status} with something keryx cannot read"
                )));
            };
            if envelope.error.code == "ok" {
                return envelope
                    .data
                    .ok_or_else(|| Error::platform(format!("{what} answered ok without data")));
            }
            if envelope.error.code == "access_token_invalid" && token_swaps < MAX_TOKEN_SWAPS {
                token_swaps += 1;
                self.replace(&token).await?;
                continue;
            }
            return Err(api_error(
                &envelope.error.code,
                &envelope.error.message,
                &envelope.error.log_id,
            ));
        }
    }
}
