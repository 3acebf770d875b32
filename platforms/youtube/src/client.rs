//! Calls to Google through core's session: the token endpoint's refresh and code exchange,
//! and what YouTube's replies mean (reference §2.4, §3.7, §5.3). Timeouts, retries and the
//! access-token hand-over between concurrent keryx processes are core's.

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use keryx_core::http::{Policy, Reply, Verdict, exchange, is_transient_status};
use keryx_core::session::{Api, Start};
use keryx_core::tokens::TokenReply;
use keryx_core::{Cause, Context, Error, Result, Revocation, Secret};

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
            if e.cause() == Some(Cause::NoClientSecret) {
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
        self.token_request(ctx, &Policy::from_env(), &form, Grant::AuthorizationCode)
            .await
    }

    /// POSTs a form to the token endpoint.
    async fn token_request(
        &self,
        ctx: &Context,
        policy: &Policy,
        form: &[(&str, &str)],
        grant: Grant,
    ) -> Result<TokenReply> {
        let url = self.endpoints.token();
        let reply = exchange(
            policy,
            "Google's token endpoint",
            || ctx.http.post(&url).form(form),
            |reply| classify_token_reply(reply, grant),
        )
        .await?;
        let reply: WireTokenReply = serde_json::from_slice(&reply.body)
            .map_err(|e| Error::platform("Google's token reply is unreadable").with_source(e))?;
        Ok(TokenReply {
            access_token: reply.access_token.unwrap_or_else(|| Secret::new("")),
            expires_in: reply.expires_in,
            refresh_token: reply.refresh_token.filter(|t| !t.is_empty()),
            refresh_expires_in: reply.refresh_token_expires_in,
            scopes: reply.scope.as_deref().map(split_scopes),
        })
    }
}

/// Revokes a grant with its refresh token (§2.5): the refresh token and every access token
/// minted from it die. Google needs no client credentials for it. `400 invalid_token` is a
/// token already dead.
pub async fn revoke(
    ctx: &Context,
    endpoints: &Endpoints,
    refresh_token: &Secret,
) -> Result<Revocation> {
    let url = endpoints.revoke();
    let reply = exchange(
        &Policy::from_env(),
        "Google's revoke endpoint",
        || {
            ctx.http
                .post(&url)
                .form(&[("token", refresh_token.expose())])
        },
        |reply| {
            if reply.status.is_success() || already_revoked(reply) {
                return Verdict::Ok;
            }
            let body: WireTokenReply = serde_json::from_slice(&reply.body).unwrap_or_default();
            let error = Error::platform(format!(
                "Google refused to revoke keryx's YouTube authorisation ({} {}: {})",
                reply.status,
                body.error.as_deref().unwrap_or("no error code"),
                body.error_description.as_deref().unwrap_or("")
            ))
            .with_hint("remove keryx's access at myaccount.google.com/permissions instead");
            if is_transient_status(reply.status) {
                Verdict::Transient {
                    retry_after: reply.retry_after(),
                    error,
                }
            } else {
                Verdict::Failed(error)
            }
        },
    )
    .await?;
    Ok(if already_revoked(&reply) {
        Revocation::AlreadyEnded
    } else {
        Revocation::Revoked
    })
}

fn already_revoked(reply: &Reply) -> bool {
    reply.status == StatusCode::BAD_REQUEST
        && serde_json::from_slice::<WireTokenReply>(&reply.body)
            .is_ok_and(|b| b.error.as_deref() == Some("invalid_token"))
}

impl Api for App {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "YouTube"
    }

    /// Trades the refresh token for an access token (§2.2). Google normally sends no new refresh
    /// token; when it does (rotation), the token store keeps the new one (§2.3).
    async fn refresh(
        &self,
        ctx: &Context,
        policy: &Policy,
        refresh_token: Secret,
    ) -> Result<TokenReply> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        self.token_request(ctx, policy, &form, Grant::RefreshToken)
            .await
    }

    /// 2xx is success; 401 is a refused token, unless the account has no channel; 5xx, 429 and
    /// the rate-limit reasons Google also sends with 403 pass (§3.7); the rest is final.
    fn classify(&self, what: &str, reply: &Reply) -> Verdict {
        if reply.status.is_success() {
            return Verdict::Ok;
        }
        let envelope: Option<ErrorEnvelope> = serde_json::from_slice(&reply.body).ok();
        let reason = envelope.as_ref().map(|e| e.reason()).unwrap_or("");
        let error = api_error(what, reply.status, envelope.as_ref(), &reply.text());
        if reply.status == StatusCode::UNAUTHORIZED && reason != "youtubeSignupRequired" {
            return Verdict::TokenInvalid(error);
        }
        if reply.status == StatusCode::TOO_MANY_REQUESTS || is_rate_limit(reason) {
            // Google documents no window; its Retry-After, else backoff, paces the retries.
            return Verdict::RateLimited {
                retry_after: reply.retry_after(),
                window: None,
                error,
            };
        }
        if is_transient_status(reply.status) {
            return Verdict::Transient {
                retry_after: reply.retry_after(),
                error,
            };
        }
        Verdict::Failed(error)
    }
}

/// The token endpoint's reply: an `access_token` is success, an `error` a refusal (§2.4), of
/// which Google's own failures pass.
fn classify_token_reply(reply: &Reply, grant: Grant) -> Verdict {
    let Ok(body) = serde_json::from_slice::<WireTokenReply>(&reply.body) else {
        let error = Error::platform(format!(
            "Google's token endpoint answered {} with something keryx cannot read",
            reply.status
        ))
        .with_hint("if platforms.youtube.base_url is set, check that it points at a Google-compatible server");
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
            grant,
            code,
            body.error_description.as_deref().unwrap_or(""),
            body.error_subtype.as_deref(),
        );
        return match code.as_str() {
            "server_error" | "temporarily_unavailable" | "internal_failure" => Verdict::Transient {
                retry_after: reply.retry_after(),
                error,
            },
            _ if is_transient_status(reply.status) => Verdict::Transient {
                retry_after: reply.retry_after(),
                error,
            },
            _ => Verdict::Failed(error),
        };
    }
    if body.access_token.as_ref().is_none_or(|t| t.is_empty()) {
        return Verdict::Failed(
            Error::platform(format!(
                "Google's token endpoint answered {} without an access token",
                reply.status
            ))
            .with_hint("try again; if it persists, run `keryx auth youtube` again"),
        );
    }
    Verdict::Ok
}

/// Google separates granted scopes with spaces; a pasted redirect may keep `+` for them (§1.5).
pub fn split_scopes(text: &str) -> Vec<String> {
    text.split([' ', '+', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// An authorised session with YouTube: core's session, with the app and context at hand.
pub struct Session<'a> {
    pub app: &'a App,
    pub ctx: &'a Context,
    inner: keryx_core::session::Session<'a, App>,
}

impl<'a> Session<'a> {
    /// Mints a fresh access token from the stored refresh token: proves the credentials still
    /// work before anything is uploaded.
    pub async fn start(ctx: &'a Context, app: &'a App) -> Result<Session<'a>> {
        Self::begin(ctx, app, Start::Mint).await
    }

    /// Uses the stored access token while it is valid (right after `keryx auth` or `prepare`).
    pub async fn start_with_stored(ctx: &'a Context, app: &'a App) -> Result<Session<'a>> {
        Self::begin(ctx, app, Start::Stored).await
    }

    async fn begin(ctx: &'a Context, app: &'a App, start: Start) -> Result<Session<'a>> {
        let inner = keryx_core::session::Session::start(ctx, app, start)
            .await
            .map_err(|e| {
                // A refresh token with a lifetime is the 7-day Testing kind (§2.3, §2.4).
                if e.cause() == Some(Cause::AuthorisationExpired) {
                    e.with_hint(format!("run `keryx auth youtube` again; {TESTING_NOTE}"))
                } else {
                    e
                }
            })?;
        Ok(Session { app, ctx, inner })
    }

    /// The access token in use, for upload PUTs (they have their own stall detection).
    pub fn current(&self) -> Secret {
        self.inner.current()
    }

    /// The server rejected `rejected` (401, e.g. it expired mid-upload, §2.6): take a newer
    /// token another process stored, or refresh.
    pub async fn replace(&self, rejected: &Secret) -> Result<()> {
        self.inner.replace(rejected).await
    }

    /// An authorised call through core's session; `what` names it in messages ("YouTube
    /// refused {what}: ...").
    pub async fn send(
        &self,
        what: &str,
        request: impl Fn(&reqwest::Client, &Secret) -> reqwest::RequestBuilder,
    ) -> Result<Reply> {
        self.inner.send(what, request).await
    }

    /// GETs a Data API path (with its query) and reads the JSON reply.
    pub async fn get<T: DeserializeOwned>(&self, path_and_query: &str, what: &str) -> Result<T> {
        let url = self.app.endpoints.api(path_and_query);
        let reply = self
            .send(what, |http, token| {
                http.get(&url).bearer_auth(token.expose())
            })
            .await?;
        serde_json::from_slice(&reply.body).map_err(|e| {
            Error::platform(format!(
                "YouTube answered {what} with something keryx cannot read"
            ))
            .with_source(e)
        })
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
