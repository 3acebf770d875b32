//! Calls to TikTok's API through core's session: the token endpoint's refresh and code
//! exchange, and what TikTok's replies mean (reference §3.4, §5.4, §8). Timeouts, retries and
//! the access-token hand-over between concurrent keryx processes are core's.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use keryx_core::http::{Policy, Reply, Verdict, exchange, is_transient_status};
use keryx_core::session::{Api, Start};
use keryx_core::tokens::TokenReply;
use keryx_core::{Context, Error, ErrorKind, Result, Revocation, Secret};

use crate::api::{ApiError, Envelope, TokenReply as WireTokenReply};
use crate::config::{Endpoints, TikTokConfig};
use crate::error::{api_error, oauth_error};

pub const PLATFORM: &str = "tiktok";

/// TikTok's rate limits are per access token and sliding minute (reference §8): a call that met
/// one without a `Retry-After` waits the whole minute out.
const RATE_LIMIT_WINDOW: Duration = Duration::from_secs(60);

/// An authorised session with TikTok.
pub type Session<'a> = keryx_core::session::Session<'a, App>;

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
        self.token_request(ctx, &Policy::from_env(), &form).await
    }

    /// Revokes the authorisation (§3.3). TikTok takes the access token, not the refresh token,
    /// so a session is started first; a refresh TikTok refuses means the authorisation had
    /// already ended.
    pub async fn revoke(&self, ctx: &Context) -> Result<Revocation> {
        let session = match Session::start(ctx, self, Start::Stored).await {
            Ok(session) => session,
            Err(e) if e.kind() == ErrorKind::Authorisation => return Ok(Revocation::AlreadyEnded),
            Err(e) => return Err(e),
        };
        let access = session.current();
        let form = [
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("token", access.expose()),
        ];
        let url = self.endpoints.api("/v2/oauth/revoke/");
        exchange(
            session.policy(),
            "TikTok's revoke endpoint",
            || {
                ctx.http
                    .post(&url)
                    .header("Cache-Control", "no-cache")
                    .form(&form)
            },
            classify_revoke_reply,
        )
        .await?;
        Ok(Revocation::Revoked)
    }

    /// POSTs a form to the token endpoint. Errors may come with HTTP 200, so success is an
    /// `access_token` in the body, not the status (§3.4).
    async fn token_request(
        &self,
        ctx: &Context,
        policy: &Policy,
        form: &[(&str, &str)],
    ) -> Result<(TokenReply, Option<String>)> {
        let url = self.endpoints.api("/v2/oauth/token/");
        let reply = exchange(
            policy,
            "TikTok's token endpoint",
            || {
                ctx.http
                    .post(&url)
                    .header("Cache-Control", "no-cache")
                    .form(form)
            },
            classify_token_reply,
        )
        .await?;
        let reply: WireTokenReply = serde_json::from_slice(&reply.body)
            .map_err(|e| Error::platform("TikTok's token reply is unreadable").with_source(e))?;
        let token = TokenReply {
            access_token: reply.access_token.unwrap_or_else(|| Secret::new("")),
            expires_in: reply.expires_in,
            refresh_token: reply.refresh_token.filter(|t| !t.is_empty()),
            refresh_expires_in: reply.refresh_expires_in,
            scopes: reply.scope.as_deref().map(split_scopes),
        };
        Ok((token, reply.open_id))
    }
}

impl Api for App {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "TikTok"
    }

    /// Trades the refresh token for a new access token, and maybe a new refresh token (§3.2).
    async fn refresh(
        &self,
        ctx: &Context,
        policy: &Policy,
        refresh_token: Secret,
    ) -> Result<TokenReply> {
        let form = [
            ("client_key", self.config.client_key.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        Ok(self.token_request(ctx, policy, &form).await?.0)
    }

    /// The envelope's `error.code` decides, whatever the HTTP status and whatever `data` holds
    /// (`{}` or nothing on errors, §5.4).
    fn classify(&self, _what: &str, reply: &Reply) -> Verdict {
        let Some(error) = serde_json::from_slice::<ErrorOnly>(&reply.body)
            .ok()
            .map(|e| e.error)
            .filter(|e| !e.code.is_empty())
        else {
            let error = Error::platform(format!(
                "TikTok answered {} with something keryx cannot read",
                reply.status
            ));
            return match reply.status {
                StatusCode::TOO_MANY_REQUESTS => rate_limited(reply, error),
                s if is_transient_status(s) => Verdict::Transient {
                    retry_after: reply.retry_after(),
                    error,
                },
                _ => Verdict::Failed(error),
            };
        };
        let failure = || api_error(&error.code, &error.message, &error.log_id);
        match error.code.as_str() {
            "ok" => Verdict::Ok,
            "access_token_invalid" => Verdict::TokenInvalid(failure()),
            "rate_limit_exceeded" => rate_limited(reply, failure()),
            _ if is_transient_status(reply.status) => Verdict::Transient {
                retry_after: reply.retry_after(),
                error: failure(),
            },
            _ => Verdict::Failed(failure()),
        }
    }
}

fn rate_limited(reply: &Reply, error: Error) -> Verdict {
    Verdict::RateLimited {
        retry_after: reply.retry_after(),
        window: Some(RATE_LIMIT_WINDOW),
        error,
    }
}

/// Only the `error` of an envelope: what it says does not depend on `data` (§5.4).
#[derive(Deserialize)]
struct ErrorOnly {
    #[serde(default)]
    error: ApiError,
}

/// The token endpoint's reply: an `access_token` is success; an `error` is a refusal, of which
/// TikTok's own failures pass (§3.4).
fn classify_token_reply(reply: &Reply) -> Verdict {
    let Ok(body) = serde_json::from_slice::<WireTokenReply>(&reply.body) else {
        let error = Error::platform(format!(
            "TikTok's token endpoint answered {} with something keryx cannot read",
            reply.status
        ));
        return if is_transient_status(reply.status) {
            Verdict::Transient {
                retry_after: reply.retry_after(),
                error,
            }
        } else {
            Verdict::Failed(error)
        };
    };
    if let Some(code) = &body.error {
        let error = oauth_error(
            code,
            body.error_description.as_deref().unwrap_or(""),
            body.log_id.as_deref().unwrap_or(""),
        );
        return match code.as_str() {
            "server_error" | "temporarily_unavailable" => Verdict::Transient {
                retry_after: reply.retry_after(),
                error,
            },
            _ => Verdict::Failed(error),
        };
    }
    if body.access_token.as_ref().is_none_or(|t| t.is_empty()) {
        return Verdict::Failed(Error::platform(format!(
            "TikTok's token endpoint answered {} without an access token",
            reply.status
        )));
    }
    Verdict::Ok
}

/// The revoke endpoint's reply: success is an empty body; an error is the token endpoint's flat
/// shape (§3.3, §3.4), which may come with HTTP 200 like the token endpoint's.
fn classify_revoke_reply(reply: &Reply) -> Verdict {
    let body: WireTokenReply = serde_json::from_slice(&reply.body).unwrap_or_default();
    if reply.status.is_success() && body.error.is_none() {
        return Verdict::Ok;
    }
    let error = match &body.error {
        Some(code) => oauth_error(
            code,
            body.error_description.as_deref().unwrap_or(""),
            body.log_id.as_deref().unwrap_or(""),
        ),
        None => Error::platform(format!(
            "TikTok's revoke endpoint answered {} with something keryx cannot read",
            reply.status
        )),
    };
    let transient = matches!(
        body.error.as_deref(),
        Some("server_error" | "temporarily_unavailable")
    );
    if transient || is_transient_status(reply.status) {
        Verdict::Transient {
            retry_after: reply.retry_after(),
            error,
        }
    } else {
        Verdict::Failed(error)
    }
}

/// Calls a v2 endpoint and returns its `data` (§5.4).
pub async fn call<T: DeserializeOwned>(
    session: &Session<'_>,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<T> {
    let url = session.api().endpoints.api(path);
    let payload = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
    // The path without its query: what the call is, in messages.
    let what = path.split('?').next().unwrap_or(path);
    let reply = session
        .send(what, |http, token| {
            let request = http
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
        .await?;
    let envelope: Envelope<T> = serde_json::from_slice(&reply.body).map_err(|e| {
        Error::platform(format!(
            "TikTok {what} answered ok with data keryx cannot read"
        ))
        .with_source(e)
    })?;
    envelope
        .data
        .ok_or_else(|| Error::platform(format!("TikTok {what} answered ok without data")))
}

pub fn split_scopes(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
