//! Calls to Google: the token endpoint, and YouTube Data API calls with the bearer token,
//! retries and the access-token hand-over between concurrent keryx processes.

use std::sync::Mutex;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use keryx_core::http::{Backoff, retry_after, send_retrying};
use keryx_core::tokens::{Need, TokenReply, TokenStore};
use keryx_core::{Context, Error, Result, Secret};

use crate::api::{ErrorEnvelope, TokenReply as WireTokenReply};
use crate::config::{Endpoints, YouTubeConfig};
use crate::error::{Grant, TESTING_NOTE, api_error, is_rate_limit, oauth_error};

pub const PLATFORM: &str = "youtube";

/// The OAuth client's credentials and where to send requests.
pub struct App {
    pub config: YouTubeConfig,
    pub endpoints: Endpoints,
    client_secret: Secret,
}

impl App {
    /// Reads the config section and finds the client secret (environment, then secret store).
    pub fn load(ctx: &Context) -> Result<App> {
        let config = YouTubeConfig::load(ctx)?;
        let (client_secret, _source) = keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM).map_err(|e| {
            if e.message().starts_with("no client secret") {
                // Google hands out a credentials file; that is the easiest way in (§1.1).
                e.with_hint(
                    "run `keryx auth youtube --client-secrets client_secret.json` with the Desktop app \
                     credentials downloaded from console.cloud.google.com, or set YOUTUBE_CLIENT_SECRET, or \
                     store it with `keryx auth youtube --store-secret`",
                )
            } else {
                e
            }
        })?;
        Ok(App::new(config, client_secret))
    }

    pub fn new(config: YouTubeConfig, client_secret: Secret) -> App {
        App {
            endpoints: config.endpoints(),
            config,
            client_secret,
        }
    }

    /// Exchanges an authorisation code (§2.1). Google wants `client_secret` even with PKCE.
    pub async fn exchange_code(
        &self,
        ctx: &Context,
        code: &Secret,
        redirect_uri: &str,
        verifier: &Secret,
    ) -> Result<TokenReply> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose()),
        ];
        self.token_request(ctx, &form, Grant::AuthorizationCode)
            .await
    }

    /// Trades the refresh token for an access token (§2.2). Google normally sends no new refresh
    /// token; when it does (rotation), the token store keeps the new one (§2.3).
    pub async fn refresh(&self, ctx: &Context, refresh_token: &Secret) -> Result<TokenReply> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        self.token_request(ctx, &form, Grant::RefreshToken).await
    }

    /// POSTs a form to the token endpoint; retries server failures and dropped connections.
    async fn token_request(
        &self,
        ctx: &Context,
        form: &[(&str, &str)],
        grant: Grant,
    ) -> Result<TokenReply> {
        let url = self.endpoints.token();
        let response = send_retrying("Google's token endpoint", &mut Backoff::default(), || {
            ctx.http.post(&url).form(form)
        })
        .await
        .map_err(|e| unreachable("Google's token endpoint", e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| unreachable("Google's token endpoint", e))?;
        let reply: WireTokenReply = serde_json::from_slice(&body).map_err(|e| {
            Error::platform(format!("Google's token endpoint answered {status} with something keryx cannot read"))
                .with_source(e)
                .with_hint("if platforms.youtube.base_url is set, check that it points at a Google-compatible server")
        })?;
        if let Some(error) = &reply.error {
            return Err(oauth_error(
                grant,
                error,
                reply.error_description.as_deref().unwrap_or(""),
                reply.error_subtype.as_deref(),
            ));
        }
        let Some(access_token) = reply.access_token.filter(|t| !t.is_empty()) else {
            return Err(Error::platform(format!(
                "Google's token endpoint answered {status} without an access token"
            ))
            .with_hint("try again; if it persists, run `keryx auth youtube` again"));
        };
        Ok(TokenReply {
            access_token,
            expires_in: reply.expires_in,
            refresh_token: reply.refresh_token.filter(|t| !t.is_empty()),
            refresh_expires_in: reply.refresh_token_expires_in,
            scopes: reply.scope.as_deref().map(split_scopes),
        })
    }
}

/// Google separates granted scopes with spaces; a pasted redirect may keep `+` for them (§1.5).
pub fn split_scopes(text: &str) -> Vec<String> {
    text.split([' ', '+', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub fn unreachable(what: &str, e: reqwest::Error) -> Error {
    Error::platform(format!("cannot reach {what}"))
        .with_source(e)
        .with_hint(
            "check the network connection (and platforms.youtube.base_url, if set) and try again",
        )
}

/// An authorised session: API calls with the current access token.
pub struct Session<'a> {
    pub app: &'a App,
    pub ctx: &'a Context,
    tokens: TokenStore,
    access: Mutex<Secret>,
}

impl<'a> Session<'a> {
    /// Mints a fresh access token from the stored refresh token: proves the credentials still
    /// work before anything is uploaded.
    pub async fn start(ctx: &'a Context, app: &'a App) -> Result<Session<'a>> {
        Self::with_need(ctx, app, Need::Mint).await
    }

    /// Uses the stored access token while it is valid (right after `keryx auth` or `prepare`).
    pub async fn start_with_stored(ctx: &'a Context, app: &'a App) -> Result<Session<'a>> {
        Self::with_need(ctx, app, Need::Fresh).await
    }

    async fn with_need(ctx: &'a Context, app: &'a App, need: Need<'_>) -> Result<Session<'a>> {
        let tokens = TokenStore::new(&ctx.secrets, &ctx.paths, PLATFORM);
        let access = tokens
            .access_token(
                need,
                |refresh| async move { app.refresh(ctx, &refresh).await },
            )
            .await
            .map_err(|e| {
                // A refresh token with a lifetime is the 7-day Testing kind (§2.3, §2.4).
                if e.message().contains("authorisation has expired") {
                    e.with_hint(format!("run `keryx auth youtube` again; {TESTING_NOTE}"))
                } else {
                    e
                }
            })?;
        Ok(Session {
            app,
            ctx,
            tokens,
            access: Mutex::new(access),
        })
    }

    pub fn current(&self) -> Secret {
        self.access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The server rejected `rejected` (401, e.g. it expired mid-upload, §2.6): take a newer
    /// token another process stored, or refresh.
    pub async fn replace(&self, rejected: &Secret) -> Result<()> {
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

    /// GETs a Data API path (with its query) and reads the JSON reply. Retries 5xx, 429, rate
    /// limits and dropped connections with backoff; on 401 swaps the token once (§2.6, §3.7).
    pub async fn get<T: DeserializeOwned>(&self, path_and_query: &str, what: &str) -> Result<T> {
        let url = self.app.endpoints.api(path_and_query);
        let mut backoff = Backoff::default();
        let mut swapped_token = false;
        loop {
            let token = self.current();
            let response = send_retrying(&format!("YouTube {what}"), &mut backoff, || {
                self.ctx.http.get(&url).bearer_auth(token.expose())
            })
            .await
            .map_err(|e| unreachable("YouTube", e))?;
            let status = response.status();
            let wait = retry_after(response.headers());
            let body = response
                .bytes()
                .await
                .map_err(|e| unreachable("YouTube", e))?;
            if status.is_success() {
                return serde_json::from_slice(&body).map_err(|e| {
                    Error::platform(format!(
                        "YouTube answered {what} with something keryx cannot read"
                    ))
                    .with_source(e)
                });
            }
            let envelope: Option<ErrorEnvelope> = serde_json::from_slice(&body).ok();
            let reason = envelope.as_ref().map(|e| e.reason()).unwrap_or("");
            if status == StatusCode::UNAUTHORIZED
                && !swapped_token
                && reason != "youtubeSignupRequired"
            {
                swapped_token = true;
                self.replace(&token).await?;
                continue;
            }
            // Google also says "slow down" with a 403 and a rate-limit reason (§3.7).
            if is_rate_limit(reason)
                && let Some(delay) = backoff.next_delay(wait)
            {
                tracing::info!("YouTube {what} answered {status} {reason}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(api_error(
                what,
                status,
                envelope.as_ref(),
                &String::from_utf8_lossy(&body),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_on_spaces_and_plus() {
        assert_eq!(
            split_scopes(
                "https://www.googleapis.com/auth/youtube.upload+https://www.googleapis.com/auth/youtube.readonly"
            ),
            vec![
                "https://www.googleapis.com/auth/youtube.upload",
                "https://www.googleapis.com/auth/youtube.readonly"
            ]
        );
        assert_eq!(split_scopes(" a  b "), vec!["a", "b"]);
        assert!(split_scopes("").is_empty());
    }
}
