//! `keryx auth fixture`: an OAuth code flow with PKCE (S256) through core's loopback capture,
//! then the code exchange, a check of who approved, and the token stored with core's
//! `TokenStore`. Also [`FixtureApi`], what core's session needs to call the service.

use serde::Deserialize;

use keryx_core::http::{Policy, Reply, Verdict, exchange, is_transient_status};
use keryx_core::oauth::{self, AuthRequest, FlowSpec};
use keryx_core::session::Api;
use keryx_core::tokens::{TokenReply, TokenSet};
use keryx_core::{AuthOptions, AuthReport, Cause, Context, Error, Result, Secret};

use crate::PLATFORM;
use crate::config::FixtureConfig;

/// The client id the fixture service knows keryx by (not a secret).
pub const CLIENT_ID: &str = "keryx";

pub async fn authorize(ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
    if options.client_secrets.is_some() {
        return Err(
            Error::input("the fixture platform has no client-secrets file")
                .with_hint("put the secret in FIXTURE_CLIENT_SECRET or use --store-secret"),
        );
    }
    // Everything that can be wrong locally is checked before the browser opens.
    let config = FixtureConfig::load(ctx)?;
    let (secret, _) = keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM)?;
    let authorize = config.endpoint("/fixture/oauth/authorize");
    let hint = config.account.clone();
    let authorize_url = move |request: &AuthRequest| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs
            .append_pair("client_id", CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("state", &request.state)
            .append_pair(
                "code_challenge",
                &oauth::challenge_s256(request.verifier.expose()),
            )
            .append_pair("code_challenge_method", "S256");
        if let Some(account) = &hint {
            pairs.append_pair("login_hint", account);
        }
        format!("{authorize}?{}", pairs.finish())
    };
    let spec = FlowSpec {
        platform: PLATFORM,
        display_name: "Fixture",
        callback_path: "/callback",
        authorize_url: &authorize_url,
    };
    let callback = oauth::obtain_code(ctx, &spec, options).await?;
    let exchanged = token_request(
        ctx,
        &Policy::from_env(),
        &config,
        &[
            ("grant_type", "authorization_code"),
            ("code", callback.code.expose()),
            ("redirect_uri", &callback.request.redirect_uri),
            ("code_verifier", callback.request.verifier.expose()),
            ("client_id", CLIENT_ID),
            ("client_secret", secret.expose()),
        ],
    )
    .await;
    // A code is single-use: whatever the answer, this pending authorisation is spent.
    oauth::forget_pending(ctx, PLATFORM)?;
    let reply = exchanged?;
    let Some(refresh_token) = reply.refresh_token.clone() else {
        return Err(Error::platform(
            "the fixture service sent no refresh token; keryx could not post later",
        ));
    };
    let account = me(ctx, &config, &reply.access_token).await?;
    if let Some(expected) = &config.account
        && *expected != account
    {
        return Err(Error::input(format!(
            "authorised as `{account}`, but {} says platforms.fixture.account: {expected}",
            ctx.config.path().display()
        ))
        .with_hint(
            "sign in as that account and run `keryx auth fixture` again, or change `account`",
        ));
    }
    let now = unix_now();
    let set = TokenSet {
        refresh_token,
        refresh_expires_at: None,
        access_token: Some(reply.access_token),
        access_expires_at: reply.expires_in.map(|s| now + s),
        account: Some(account.clone()),
        subject: Some(account.clone()),
        scopes: Vec::new(),
        extra: Default::default(),
    };
    ctx.tokens(PLATFORM).save_new(&set)?;
    ctx.enable(PLATFORM)?;
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account,
        notes: Vec::new(),
    })
}

/// What core's session needs from the fixture service: how to refresh, and what its replies
/// mean. Timeouts, retries and the replacement of a refused token are core's.
pub struct FixtureApi {
    pub config: FixtureConfig,
    secret: Secret,
}

impl FixtureApi {
    pub fn load(ctx: &Context, config: FixtureConfig) -> Result<FixtureApi> {
        let (secret, _) = keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM)?;
        Ok(FixtureApi { config, secret })
    }
}

impl Api for FixtureApi {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "the fixture service"
    }

    async fn refresh(
        &self,
        ctx: &Context,
        policy: &Policy,
        refresh_token: Secret,
    ) -> Result<TokenReply> {
        token_request(
            ctx,
            policy,
            &self.config,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
                ("client_id", CLIENT_ID),
                ("client_secret", self.secret.expose()),
            ],
        )
        .await
    }

    fn classify(&self, _what: &str, reply: &Reply) -> Verdict {
        classify(reply)
    }
}

/// 2xx is success, `401 invalid_token` a refused access token, 429 and 5xx pass.
fn classify(reply: &Reply) -> Verdict {
    let status = reply.status;
    if status.is_success() {
        return Verdict::Ok;
    }
    let error = service_error(status, &reply.body);
    match status.as_u16() {
        401 => Verdict::TokenInvalid(error),
        429 => Verdict::RateLimited {
            retry_after: reply.retry_after(),
            window: None,
            error,
        },
        _ if is_transient_status(status) => Verdict::Transient {
            retry_after: reply.retry_after(),
            error,
        },
        _ => Verdict::Failed(error),
    }
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
}

/// `POST /fixture/oauth/token` with `form`; the service's refusals become keryx errors.
async fn token_request(
    ctx: &Context,
    policy: &Policy,
    config: &FixtureConfig,
    form: &[(&str, &str)],
) -> Result<TokenReply> {
    let url = config.endpoint("/fixture/oauth/token");
    let reply = exchange(
        policy,
        "the fixture token endpoint",
        || ctx.http.post(&url).form(form),
        classify,
    )
    .await?;
    let body: TokenBody = serde_json::from_slice(&reply.body).map_err(|e| {
        Error::platform("the fixture token reply is not what keryx expects").with_source(e)
    })?;
    Ok(TokenReply {
        access_token: Secret::new(body.access_token),
        expires_in: body.expires_in,
        refresh_token: body.refresh_token.map(Secret::new),
        refresh_expires_in: None,
        scopes: None,
    })
}

/// Who the access token belongs to (`GET /fixture/v1/me`).
async fn me(ctx: &Context, config: &FixtureConfig, token: &Secret) -> Result<String> {
    #[derive(Deserialize)]
    struct Me {
        account: String,
    }
    let url = config.endpoint("/fixture/v1/me");
    let reply = exchange(
        &Policy::from_env(),
        "the fixture service (me)",
        || ctx.http.get(&url).bearer_auth(token.expose()),
        classify,
    )
    .await?;
    serde_json::from_slice::<Me>(&reply.body)
        .map(|me| me.account)
        .map_err(|e| {
            Error::platform("the fixture `me` reply is not what keryx expects").with_source(e)
        })
}

/// The service's `{error, message}` as a keryx error: a refused grant means authorising again.
pub fn service_error(status: reqwest::StatusCode, body: &[u8]) -> Error {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, message) = parsed
        .map(|b| (b.error, b.message))
        .unwrap_or_else(|| ("unknown".into(), String::from_utf8_lossy(body).into_owned()));
    match code.as_str() {
        "invalid_grant" | "invalid_token" => Error::authorisation(
            Cause::AuthorisationRefused,
            format!("the fixture service no longer accepts keryx's authorisation ({message})"),
        )
        .with_hint("run `keryx auth fixture` again"),
        "invalid_client" => Error::input(format!(
            "the fixture service refused the client secret ({message})"
        ))
        .with_hint("check FIXTURE_CLIENT_SECRET (or the stored fixture/client_secret)"),
        "access_denied" => {
            Error::input("the authorisation was declined on the fixture consent page")
                .with_hint("run `keryx auth fixture` again and approve")
        }
        _ => Error::platform(format!(
            "the fixture service answered {status}: {code}: {message}"
        )),
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
