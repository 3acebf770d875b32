//! `keryx auth bluesky --remove`: ending the stored session at Bluesky before keryx forgets it.
//!
//! - OAuth (reference §2.9): the authorization server's revocation endpoint (RFC 7009), form
//!   `token=<refresh token>&client_id=…`, DPoP-signed by the session's key with the nonce
//!   handshake. Revoking the refresh token ends the whole session, access token included. The
//!   server answers 200 `{}` for an unknown token too, so "already ended" cannot be told apart.
//! - App password (§3): `com.atproto.server.deleteSession` with the refresh JWT. That ends the
//!   refresh token; the last access JWT keeps working until it expires (at most 2 h, observed),
//!   and the app password itself stays valid until revoked in Bluesky's settings — keryx says
//!   both, and forgets the stored app password so no later `--app-password` sign-in reuses it
//!   silently.

use keryx_core::http::{Policy, Verdict, exchange};
use keryx_core::tokens::TokenSet;
use keryx_core::{Context, Error, Result, Revocation, Secret};

use crate::config::join;
use crate::dpop::{DpopKey, Nonces};
use crate::xrpc::classify;

pub async fn revoke(ctx: &Context, tokens: &TokenSet) -> Result<Revocation> {
    let field = |name: &str| {
        tokens
            .extra
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let pds =
        field("pds").ok_or_else(|| Error::platform("the stored Bluesky session names no PDS"))?;
    if field("kind").as_deref() == Some(crate::login::KIND_OAUTH) {
        let (Some(key), Some(client_id)) = (field("dpop_key"), field("client_id")) else {
            return Err(Error::platform(
                "the stored Bluesky OAuth session lacks its DPoP key or client_id, so it cannot be revoked",
            )
            .with_hint(
                "remove keryx's access in Bluesky's settings, then delete the token with `keryx auth bluesky --remove` again",
            ));
        };
        let endpoint = match field("revocation_endpoint") {
            Some(endpoint) => endpoint,
            // Sessions stored before keryx kept the endpoint: ask the server again.
            None => crate::oauth::discover(ctx, &pds)
                .await?
                .revocation_endpoint
                .ok_or_else(|| {
                    Error::platform("Bluesky's authorization server names no revocation endpoint")
                })?,
        };
        let key = DpopKey::from_secret(&Secret::new(key))?;
        let form = [
            ("token", tokens.refresh_token.expose()),
            ("client_id", client_id.as_str()),
        ];
        crate::oauth::dpop_form(
            ctx,
            "Bluesky (revoke)",
            &endpoint,
            &key,
            &Nonces::default(),
            &form,
        )
        .await?;
        return Ok(Revocation::Revoked);
    }
    let url = join(&pds, "/xrpc/com.atproto.server.deleteSession");
    let result = exchange(
        &Policy::from_env(),
        "Bluesky (deleteSession)",
        || {
            ctx.http
                .post(&url)
                .bearer_auth(tokens.refresh_token.expose())
        },
        |reply| match classify(reply) {
            // A refused refresh JWT is a session that had already ended, not one to refresh.
            Verdict::TokenInvalid(error) => Verdict::Failed(error),
            other => other,
        },
    )
    .await;
    let revocation = match result {
        Ok(_) => Revocation::Revoked,
        Err(e) if e.kind() == keryx_core::ErrorKind::Authorisation => {
            tracing::debug!("deleteSession refused the refresh token: {e}");
            Revocation::AlreadyEnded
        }
        Err(e) => return Err(e),
    };
    ctx.secrets.delete(&crate::auth::app_password_secret(ctx))?;
    ctx.ui.warn(
        "the app-password session is ended; its last access token works until it expires (at \
         most 2 hours), and the app password itself until you revoke it in Bluesky (Settings → \
         Privacy and security → App passwords)",
    );
    Ok(revocation)
}
