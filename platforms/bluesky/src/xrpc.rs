//! XRPC calls to the PDS: what its replies mean ([`classify`], [`xrpc_error`]) and what core's
//! session needs to refresh an app-password session ([`BlueskyApi`]).
//!
//! Two error shapes (reference surprise 10): XRPC answers `{"error","message"}`, the OAuth
//! endpoints `{"error","error_description"}`; both are read.

use base64::Engine;
use serde::Deserialize;

use keryx_core::http::{Policy, Reply, Verdict, exchange, is_transient_status};
use keryx_core::session::Api;
use keryx_core::tokens::TokenReply;
use keryx_core::{Cause, Context, Error, Result, Secret};

use crate::PLATFORM;
use crate::config::join;

/// The error body of an XRPC or OAuth reply.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> ErrorBody {
        serde_json::from_slice(body).unwrap_or_else(|_| ErrorBody {
            error: "unknown".into(),
            message: Some(String::from_utf8_lossy(body).chars().take(300).collect()),
            error_description: None,
        })
    }

    pub fn text(&self) -> &str {
        self.message
            .as_deref()
            .or(self.error_description.as_deref())
            .unwrap_or("")
    }
}

/// How to run `keryx auth bluesky` again, for the hints of a dead session.
pub const REAUTH_HINT: &str = "run `keryx auth bluesky` again, or `keryx auth bluesky --app-password` \
     (with BLUESKY_APP_PASSWORD) for unattended runs";

/// One XRPC failure as a keryx error that says what to do.
pub fn xrpc_error(status: reqwest::StatusCode, body: &[u8]) -> Error {
    let parsed = ErrorBody::parse(body);
    let message = parsed.text().to_string();
    let code = parsed.error.as_str();
    match (status.as_u16(), code) {
        (_, "ExpiredToken" | "InvalidToken" | "invalid_token" | "invalid_grant") => {
            Error::authorisation(
                Cause::AuthorisationRefused,
                format!("Bluesky no longer accepts keryx's session ({code}: {message})"),
            )
            .with_hint(REAUTH_HINT)
        }
        // A granular grant without what this call needs (the message names the scope).
        (_, "ScopeMissingError") => Error::authorisation(
            Cause::AuthorisationRefused,
            format!("Bluesky refused the call: keryx's sign-in was not granted the permission it needs ({message})"),
        )
        .with_hint(
            "run `keryx auth bluesky` again and approve every permission keryx asks for, or use `keryx auth bluesky --app-password`",
        ),
        (_, "AuthenticationRequired") => Error::authorisation(
            Cause::AuthorisationRefused,
            format!("Bluesky refused the sign-in ({message})"),
        )
        .with_hint(
            "check the handle in the config and the app password (Settings → Privacy and security → App passwords)",
        ),
        (413, _) | (_, "PayloadTooLarge") => Error::input(format!(
            "the PDS refused the video as too large ({message})"
        ))
        .with_hint("make the file smaller (re-encode at a lower bitrate) and post again"),
        (_, "BlobNotFound") => Error::platform(format!(
            "the PDS no longer has the uploaded video ({message}); it deletes blobs no post uses"
        ))
        .with_hint("post again: keryx uploads the video anew"),
        (_, "RateLimitExceeded") => Error::platform(format!(
            "Bluesky rate-limited keryx for longer than it waits ({code}: {message})"
        ))
        .with_cause(Cause::RateLimited)
        .with_hint("wait a while (the limits reset within minutes to a day) and post again"),
        (_, "HandleNotFound") => Error::input(format!("Bluesky does not know the handle ({message})"))
            .with_hint("check the handle in the config (`platforms.bluesky.handle`, or the account's own `handle` under `accounts:`)"),
        (_, "InvalidRequest") => Error::platform(format!(
            "the PDS refused the request: {message}"
        )),
        _ => Error::platform(format!(
            "the PDS answered {status}: {code}: {message}"
        )),
    }
}

/// A PDS reply: 2xx is fine, a refused or expired access token is `TokenInvalid`, 429 and 5xx
/// pass, anything else is final.
pub fn classify(reply: &Reply) -> Verdict {
    let status = reply.status;
    if status.is_success() {
        return Verdict::Ok;
    }
    let parsed = ErrorBody::parse(&reply.body);
    let error = xrpc_error(status, &reply.body);
    match (status.as_u16(), parsed.error.as_str()) {
        (400, "ExpiredToken") | (400, "InvalidToken") | (401, "invalid_token")
            if parsed.text() != "Bad token scope" =>
        {
            Verdict::TokenInvalid(error)
        }
        (429, _) => Verdict::RateLimited {
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

/// A reply of `createSession` or `refreshSession`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionReply {
    pub access_jwt: String,
    pub refresh_jwt: String,
    pub did: String,
    pub handle: String,
    #[serde(default)]
    pub email_confirmed: Option<bool>,
}

impl SessionReply {
    pub fn token_reply(&self) -> TokenReply {
        let now = unix_now();
        TokenReply {
            access_token: Secret::new(self.access_jwt.clone()),
            expires_in: jwt_exp(&self.access_jwt).map(|exp| exp - now),
            refresh_token: Some(Secret::new(self.refresh_jwt.clone())),
            refresh_expires_in: jwt_exp(&self.refresh_jwt).map(|exp| exp - now),
            scopes: None,
        }
    }
}

/// The `exp` claim of a JWT, read without checking the signature (the PDS checks it; keryx only
/// wants to know when to refresh).
pub fn jwt_exp(jwt: &str) -> Option<i64> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()
}

/// A session with one PDS, for core's `Session`. App passwords: refreshing is `refreshSession`
/// with the refresh JWT, and calls carry `Authorization: Bearer`. OAuth: refreshing is the token
/// endpoint with the session's DPoP key and client_id, and calls carry `Authorization: DPoP`
/// and a proof with `ath` and the PDS's newest nonce. Either way the refresh token rotates and
/// core stores the new one, under its lock, before the new access token is used: a replayed
/// OAuth refresh token kills the whole session.
pub struct BlueskyApi {
    pub pds: String,
    pub oauth: Option<OauthSession>,
}

/// What an OAuth session needs besides its tokens.
pub struct OauthSession {
    pub key: crate::dpop::DpopKey,
    pub nonces: crate::dpop::Nonces,
    pub client_id: String,
    pub token_endpoint: String,
    pub session_ends_at: Option<i64>,
}

impl BlueskyApi {
    /// From the stored session's `extra`.
    pub fn from_extra(extra: &serde_json::Map<String, serde_json::Value>) -> Result<BlueskyApi> {
        let field = |name: &str| extra.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let pds = field("pds").ok_or_else(|| {
            Error::authorisation(
                Cause::NotAuthorised,
                "the stored Bluesky session names no PDS",
            )
            .with_hint(REAUTH_HINT)
        })?;
        let oauth = if field("kind").as_deref() == Some(crate::login::KIND_OAUTH) {
            let (Some(key), Some(client_id), Some(token_endpoint)) = (
                field("dpop_key"),
                field("client_id"),
                field("token_endpoint"),
            ) else {
                return Err(Error::authorisation(
                    Cause::NotAuthorised,
                    "the stored Bluesky OAuth session lacks its DPoP key",
                )
                .with_hint(REAUTH_HINT));
            };
            Some(OauthSession {
                key: crate::dpop::DpopKey::from_secret(&Secret::new(key))?,
                nonces: Default::default(),
                client_id,
                token_endpoint,
                session_ends_at: extra.get("session_ends_at").and_then(|v| v.as_i64()),
            })
        } else {
            None
        };
        Ok(BlueskyApi { pds, oauth })
    }

    /// Adds the access token to a PDS request: a Bearer token, or DPoP with a fresh proof.
    pub fn authorised(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        url: &str,
        token: &Secret,
    ) -> reqwest::RequestBuilder {
        match &self.oauth {
            None => request.bearer_auth(token.expose()),
            Some(oauth) => {
                let proof = oauth.key.proof(
                    method,
                    url,
                    oauth.nonces.get(url).as_deref(),
                    Some(token.expose()),
                );
                request
                    .header(
                        reqwest::header::AUTHORIZATION,
                        format!("DPoP {}", token.expose()),
                    )
                    .header("DPoP", proof)
            }
        }
    }

    /// Keeps the PDS's newest nonce; `true` when the reply asks for a retry with it.
    pub fn wants_new_nonce(&self, headers: &reqwest::header::HeaderMap, body: &[u8]) -> bool {
        let Some(oauth) = &self.oauth else {
            return false;
        };
        oauth.nonces.take_from(&self.pds, headers);
        ErrorBody::parse(body).error == "use_dpop_nonce"
    }
}

impl Api for BlueskyApi {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "Bluesky"
    }

    async fn refresh(
        &self,
        ctx: &Context,
        policy: &Policy,
        refresh_token: Secret,
    ) -> Result<TokenReply> {
        if let Some(oauth) = &self.oauth {
            return oauth_refresh(ctx, oauth, &refresh_token).await;
        }
        let url = join(&self.pds, "/xrpc/com.atproto.server.refreshSession");
        let reply = exchange(
            policy,
            "Bluesky (refreshSession)",
            || ctx.http.post(&url).bearer_auth(refresh_token.expose()),
            |reply| match classify(reply) {
                // A refused refresh token is a dead session, not a token to replace.
                Verdict::TokenInvalid(error) => Verdict::Failed(error),
                other => other,
            },
        )
        .await?;
        let session: SessionReply = decode(&reply, "refreshSession")?;
        Ok(session.token_reply())
    }

    fn classify(&self, _what: &str, reply: &Reply) -> Verdict {
        if self.wants_new_nonce(&reply.headers, &reply.body) {
            return Verdict::Transient {
                retry_after: Some(std::time::Duration::ZERO),
                error: xrpc_error(reply.status, &reply.body),
            };
        }
        classify(reply)
    }
}

/// The OAuth refresh: DPoP-signed, with the client_id the session was issued to.
async fn oauth_refresh(
    ctx: &Context,
    oauth: &OauthSession,
    refresh: &Secret,
) -> Result<TokenReply> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.expose()),
        ("client_id", oauth.client_id.as_str()),
    ];
    let reply = crate::oauth::dpop_form(
        ctx,
        "Bluesky (token refresh)",
        &oauth.token_endpoint,
        &oauth.key,
        &oauth.nonces,
        &form,
    )
    .await?;
    let tokens: crate::oauth::Tokens = decode(&reply, "token refresh")?;
    let now = unix_now();
    Ok(TokenReply {
        access_token: Secret::new(tokens.access_token),
        expires_in: Some(tokens.expires_in),
        refresh_token: Some(Secret::new(tokens.refresh_token)),
        refresh_expires_in: oauth.session_ends_at.map(|end| end - now),
        scopes: Some(
            tokens
                .scope
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        ),
    })
}

/// A 2xx reply's JSON body, or an error naming the call.
pub fn decode<T: serde::de::DeserializeOwned>(reply: &Reply, what: &str) -> Result<T> {
    serde_json::from_slice(&reply.body).map_err(|e| {
        Error::platform(format!("the PDS's {what} reply is not what keryx expects")).with_source(e)
    })
}

pub fn unix_now() -> i64 {
    keryx_core::tokens::unix_now()
}
