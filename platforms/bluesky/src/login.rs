//! `keryx auth bluesky`: OAuth as a native loopback client (reference §2). Handle → DID → PDS →
//! authorization server (its `issuer` checked), PAR with PKCE S256 and a DPoP key generated for
//! this authorisation, the browser sent to `authorize?client_id&request_uri` only, core's
//! loopback capture (any free port; the registered redirect has none), `state` (core) and `iss`
//! checked, the code exchanged, `sub` checked against the DID. The DPoP key and the client_id
//! are kept with the pending request (so `--code` can finish from another process) and then with
//! the session, as secrets: without the key the session is useless.

use serde::{Deserialize, Serialize};
use serde_json::json;

use keryx_core::oauth::{self, FlowSpec};
use keryx_core::tokens::TokenSet;
use keryx_core::{AuthOptions, AuthReport, Context, Error, Result, Secret};

use crate::PLATFORM;
use crate::config::BlueskyConfig;
use crate::dpop::{DpopKey, Nonces};
use crate::identity;
use crate::oauth::{FALLBACK_SCOPE, client_id, discover, exchange_code, push};
use crate::xrpc::unix_now;

/// What the pending authorisation keeps besides core's request (a secret: it holds the key).
pub const PENDING_SECRET: &str = "bluesky/oauth_pending";
/// The stored session's kind (`TokenSet.extra["kind"]`).
pub const KIND_OAUTH: &str = "oauth";
/// A public client's session ends this long after the login, however often it refreshes.
pub const SESSION_SECS: i64 = 14 * 24 * 3600;

#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    dpop_key: Secret,
    client_id: String,
}

pub async fn authorize(ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
    let config = BlueskyConfig::load(ctx)?;
    // Everything that can fail before the browser opens does.
    let identity = identity::resolve(ctx, &config).await?;
    let metadata = discover(ctx, &identity.pds).await?;
    let scope = FALLBACK_SCOPE;
    let nonces = Nonces::default();
    let no_url = |_: &oauth::AuthRequest| String::new();
    let spec = FlowSpec {
        platform: PLATFORM,
        display_name: "Bluesky",
        callback_path: "/callback",
        authorize_url: &no_url,
    };
    let (callback, key, client) = if options.code.is_some() {
        let callback = oauth::obtain_code(ctx, &spec, options).await?;
        let pending: Pending = ctx
            .secrets
            .get(PENDING_SECRET)?
            .and_then(|s| serde_json::from_str(s.expose()).ok())
            .filter(|p: &Pending| p.state == callback.request.state)
            .ok_or_else(|| {
                Error::input("no Bluesky authorisation is waiting for that code")
                    .with_hint("run `keryx auth bluesky` again")
            })?;
        (
            callback,
            DpopKey::from_secret(&pending.dpop_key)?,
            pending.client_id,
        )
    } else {
        let key = DpopKey::generate();
        let client = client_id(scope);
        let hint = (!config.handle().starts_with("did:")).then(|| config.handle().to_string());
        let callback = oauth::obtain_pushed_code(ctx, &spec, options, |request| {
            let (key, client, nonces, metadata) = (&key, &client, &nonces, &metadata);
            async move {
                let pending = Pending {
                    state: request.state.clone(),
                    dpop_key: key.to_secret(),
                    client_id: client.clone(),
                };
                let text =
                    serde_json::to_string(&pending).map_err(|e| Error::platform(e.to_string()))?;
                ctx.secrets.set(PENDING_SECRET, &Secret::new(text))?;
                let pushed = push(
                    ctx,
                    metadata,
                    key,
                    nonces,
                    client,
                    &request.redirect_uri,
                    scope,
                    &request.state,
                    &request.verifier,
                    hint.as_deref(),
                )
                .await?;
                Ok(pushed.authorize_url)
            }
        })
        .await?;
        (callback, key, client)
    };
    let exchanged = exchange_code(
        ctx,
        &metadata,
        &key,
        &nonces,
        &client,
        &callback.request.redirect_uri,
        &callback.code,
        &callback.request.verifier,
        callback.params.get("iss").map(String::as_str),
        &identity.did,
        scope,
    )
    .await;
    // A code is single-use: whatever the answer, this pending authorisation is spent.
    oauth::forget_pending(ctx, PLATFORM)?;
    ctx.secrets.delete(PENDING_SECRET)?;
    let tokens = exchanged?;
    let now = unix_now();
    let handle = if config.handle().starts_with("did:") {
        identity.did.clone()
    } else {
        config.handle().to_string()
    };
    let mut extra = serde_json::Map::new();
    extra.insert("did".into(), json!(identity.did));
    extra.insert("handle".into(), json!(handle));
    extra.insert("pds".into(), json!(identity.pds));
    extra.insert("kind".into(), json!(KIND_OAUTH));
    extra.insert("client_id".into(), json!(client));
    extra.insert("token_endpoint".into(), json!(metadata.token_endpoint));
    extra.insert("dpop_key".into(), json!(key.to_secret().expose()));
    extra.insert("session_ends_at".into(), json!(now + SESSION_SECS));
    let set = TokenSet {
        refresh_token: Secret::new(tokens.refresh_token),
        refresh_expires_at: Some(now + SESSION_SECS),
        access_token: Some(Secret::new(tokens.access_token)),
        access_expires_at: Some(now + tokens.expires_in),
        account: Some(format!("{handle} ({})", identity.did)),
        subject: Some(identity.did.clone()),
        scopes: tokens
            .scope
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        extra,
    };
    ctx.tokens(PLATFORM).save_new(&set)?;
    ctx.enable(PLATFORM)?;
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account: format!("{handle} ({})", identity.did),
        notes: vec![
            "Bluesky ends this sign-in after 14 days whatever happens: run `keryx auth bluesky` \
             again then, or use `keryx auth bluesky --app-password` for unattended runs"
                .into(),
        ],
    })
}
