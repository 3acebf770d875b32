//! `keryx auth bluesky`: OAuth as a native loopback client (reference §2). Handle → DID → PDS →
//! authorization server (its `issuer` checked), PAR with PKCE S256 and a DPoP key generated for
//! this authorisation, the browser sent to `authorize?client_id&request_uri` only, core's
//! loopback capture (any free port; the registered redirect has none), `state` (core) and `iss`
//! checked, the code exchanged, `sub` checked against the DID, and the granted scope checked
//! against what a post needs ([`crate::scope`]: the granular set where the server takes it, else
//! `atproto transition:generic`). The DPoP key, the client_id and the scope asked for are kept
//! with the pending request (so `--code` can finish from another process) and then with the
//! session, as secrets: without the key the session is useless.

use serde::{Deserialize, Serialize};
use serde_json::json;

use keryx_core::oauth::{self, FlowSpec};
use keryx_core::tokens::TokenSet;
use keryx_core::{AuthOptions, AuthReport, Context, Error, Result, Secret};

use crate::PLATFORM;
use crate::config::BlueskyConfig;
use crate::dpop::{DpopKey, Nonces};
use crate::identity;
use crate::oauth::{Push, client_id, discover, exchange_code, push};
use crate::scope;
use crate::xrpc::unix_now;

/// The secret a started OAuth sign-in is kept under, per account.
pub fn pending_secret(ctx: &Context) -> String {
    ctx.account_secret(PLATFORM, "oauth_pending")
}

/// What the pending authorisation keeps besides core's request (a secret: it holds the key).
/// The stored session's kind (`TokenSet.extra["kind"]`).
pub const KIND_OAUTH: &str = "oauth";
/// A public client's session ends this long after the login, however often it refreshes.
pub const SESSION_SECS: i64 = 14 * 24 * 3600;

#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    dpop_key: Secret,
    client_id: String,
    /// The scope asked for (also in the client_id): the granted one is checked against it.
    /// Pending requests saved before keryx asked for granular scopes asked for the fallback.
    #[serde(default = "scope::fallback")]
    scope: String,
}

pub async fn authorize(ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
    let config = BlueskyConfig::load(ctx)?;
    // Everything that can fail before the browser opens does.
    let identity = identity::resolve(ctx, &config).await?;
    let metadata = discover(ctx, &identity.pds).await?;
    let nonces = Nonces::default();
    let no_url = |_: &oauth::AuthRequest| String::new();
    let spec = FlowSpec {
        platform: PLATFORM,
        display_name: "Bluesky",
        callback_path: "/callback",
        authorize_url: &no_url,
    };
    let (callback, key, client, asked) = if options.code.is_some() {
        let callback = oauth::obtain_code(ctx, &spec, options).await?;
        let pending: Pending = ctx
            .secrets
            .get(&pending_secret(ctx))?
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
            pending.scope,
        )
    } else {
        let key = DpopKey::generate();
        let hint = (!config.handle().starts_with("did:")).then(|| config.handle().to_string());
        // Which scope the PAR was accepted with (and so the client_id), set inside the flow.
        let chosen = std::sync::Mutex::new(None::<String>);
        let callback = oauth::obtain_pushed_code(ctx, &spec, options, |request| {
            let (key, nonces, metadata, chosen) = (&key, &nonces, &metadata, &chosen);
            let hint = hint.as_deref();
            async move {
                let (url, asked) =
                    push_with_fallback(ctx, metadata, key, nonces, &request, hint).await?;
                *chosen.lock().unwrap_or_else(|e| e.into_inner()) = Some(asked);
                Ok(url)
            }
        })
        .await?;
        let asked = chosen
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(scope::granular);
        (callback, key, client_id(&asked), asked)
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
    )
    .await;
    // A code is single-use: whatever the answer, this pending authorisation is spent.
    oauth::forget_pending(ctx, PLATFORM)?;
    ctx.secrets.delete(&pending_secret(ctx))?;
    let tokens = exchanged?;
    let granted: Vec<String> = tokens
        .scope
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let (lacking, for_captions) = scope::missing(&granted, config.upload);
    if !lacking.is_empty() {
        // The session keryx will not keep is ended rather than left alive for 14 days.
        if let Some(endpoint) = &metadata.revocation_endpoint {
            let form = [
                ("token", tokens.refresh_token.as_str()),
                ("client_id", client.as_str()),
            ];
            let ended =
                crate::oauth::dpop_form(ctx, "Bluesky (revoke)", endpoint, &key, &nonces, &form)
                    .await;
            if let Err(e) = ended {
                tracing::debug!("could not revoke the refused session: {e}");
            }
        }
        return Err(Error::authorisation(
            keryx_core::Cause::AuthorisationRefused,
            format!(
                "Bluesky granted keryx `{}`, without {} that a post needs (keryx asked for `{asked}`)",
                tokens.scope,
                lacking
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_hint(
            "run `keryx auth bluesky` again and approve every permission keryx asks for, or use `keryx auth bluesky --app-password`",
        ));
    }
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
    if let Some(revocation) = &metadata.revocation_endpoint {
        extra.insert("revocation_endpoint".into(), json!(revocation));
    }
    extra.insert("dpop_key".into(), json!(key.to_secret().expose()));
    extra.insert("session_ends_at".into(), json!(now + SESSION_SECS));
    let set = TokenSet {
        refresh_token: Secret::new(tokens.refresh_token),
        refresh_expires_at: Some(now + SESSION_SECS),
        access_token: Some(Secret::new(tokens.access_token)),
        access_expires_at: Some(now + tokens.expires_in),
        account: Some(format!("{handle} ({})", identity.did)),
        subject: Some(identity.did.clone()),
        scopes: granted,
        extra,
    };
    ctx.tokens(PLATFORM).save_new(&set)?;
    ctx.enable(PLATFORM)?;
    let mut notes = vec![
        "Bluesky ends this sign-in after 14 days whatever happens: run `keryx auth bluesky` \
         again then, or use `keryx auth bluesky --app-password` for unattended runs"
            .to_string(),
    ];
    if !for_captions.is_empty() {
        notes.push(format!(
            "granted without `{}`: posts with --bluesky-captions will be refused; run `keryx auth bluesky` again and approve it to post captions",
            for_captions.join(" ")
        ));
    }
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account: format!("{handle} ({})", identity.did),
        notes,
    })
}

/// PAR with the granular scopes, and again with the fallback when the server refuses them
/// (`invalid_scope`) without having listed granular resources: the authorize URL and the scope
/// it was accepted with. The pending authorisation is saved before each PAR (a callback may
/// come back before the PAR call returns), with that attempt's scope and client_id.
async fn push_with_fallback(
    ctx: &Context,
    metadata: &crate::oauth::ServerMetadata,
    key: &DpopKey,
    nonces: &Nonces,
    request: &oauth::AuthRequest,
    hint: Option<&str>,
) -> Result<(String, String)> {
    let mut scopes = vec![scope::granular()];
    // A server that lists granular resources takes them: its refusal is final.
    if !scope::metadata_lists_granular(&metadata.scopes_supported) {
        scopes.push(scope::fallback());
    }
    let mut refused = String::new();
    for asked in scopes {
        let client = client_id(&asked);
        let pending = Pending {
            state: request.state.clone(),
            dpop_key: key.to_secret(),
            client_id: client.clone(),
            scope: asked.clone(),
        };
        let text = serde_json::to_string(&pending).map_err(|e| Error::platform(e.to_string()))?;
        ctx.secrets.set(&pending_secret(ctx), &Secret::new(text))?;
        let pushed = push(
            ctx,
            metadata,
            key,
            nonces,
            &client,
            &request.redirect_uri,
            &asked,
            &request.state,
            &request.verifier,
            hint,
        )
        .await?;
        match pushed {
            Push::Pushed(pushed) => {
                if !refused.is_empty() {
                    tracing::debug!(
                        "the authorization server refused granular scopes ({refused}); asked for {asked}"
                    );
                }
                return Ok((pushed.authorize_url, asked));
            }
            Push::ScopeRefused(why) => refused = why,
        }
    }
    Err(Error::platform(format!(
        "Bluesky's authorization server refused the scopes keryx asks for ({refused})"
    )))
}
