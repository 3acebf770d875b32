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
            "Bluesky rate-limited keryx for longer than it waits ({message})"
        ))
        .with_cause(Cause::RateLimited)
        .with_hint("wait a while (the limits reset within minutes to a day) and post again"),
        (_, "HandleNotFound") => Error::input(format!("Bluesky does not know the handle ({message})"))
            .with_hint("check platforms.bluesky.handle in the config"),
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

/// An app-password session with one PDS, for core's `Session`: refreshing is
/// `refreshSession` with the refresh JWT, which rotates it (core stores the new one, under its
/// lock, before the new access token is used).
pub struct BlueskyApi {
    pub pds: String,
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
        classify(reply)
    }
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
