//! Handle → DID → PDS (reference §2.1). With `pds` in the config the handle is resolved by that
//! PDS (`com.atproto.identity.resolveHandle`, the only way `*.test` handles resolve) and the DID
//! document is not read; otherwise the handle's `/.well-known/atproto-did` (falling back on
//! Bluesky's own resolver) gives the DID, and its DID document names the PDS.

use serde::Deserialize;

use keryx_core::http::{Policy, exchange};
use keryx_core::{Context, Error, Result};

use crate::config::{BlueskyConfig, join};
use crate::xrpc::{classify, decode};

pub const DEFAULT_PLC: &str = "https://plc.directory";
/// Answers `resolveHandle` for any handle on the network.
pub const FALLBACK_RESOLVER: &str = "https://bsky.social";

#[derive(Debug, Clone)]
pub struct Identity {
    pub did: String,
    /// The PDS's URL as the DID document states it (DPoP's `htu` must use exactly this).
    pub pds: String,
}

pub async fn resolve(ctx: &Context, config: &BlueskyConfig) -> Result<Identity> {
    let policy = Policy::from_env();
    let handle = config.handle();
    if let Some(pds) = &config.pds {
        let pds = pds.as_str().trim_end_matches('/').to_string();
        let did = if handle.starts_with("did:") {
            handle.to_string()
        } else {
            resolve_handle(ctx, &policy, &pds, handle).await?
        };
        return Ok(Identity { did, pds });
    }
    let did = if handle.starts_with("did:") {
        handle.to_string()
    } else {
        match well_known_did(ctx, handle).await {
            Some(did) => did,
            None => resolve_handle(ctx, &policy, FALLBACK_RESOLVER, handle).await?,
        }
    };
    let pds = pds_of(ctx, &policy, config, &did).await?;
    Ok(Identity { did, pds })
}

async fn resolve_handle(
    ctx: &Context,
    policy: &Policy,
    base: &str,
    handle: &str,
) -> Result<String> {
    #[derive(Deserialize)]
    struct Resolved {
        did: String,
    }
    let url = join(base, "/xrpc/com.atproto.identity.resolveHandle");
    let reply = exchange(
        policy,
        "Bluesky (resolveHandle)",
        || ctx.http.get(&url).query(&[("handle", handle)]),
        classify,
    )
    .await?;
    let resolved: Resolved = decode(&reply, "resolveHandle")?;
    if !resolved.did.starts_with("did:") {
        return Err(Error::platform(format!(
            "the PDS resolved {handle} to `{}`, which is not a DID",
            resolved.did
        )));
    }
    Ok(resolved.did)
}

async fn well_known_did(ctx: &Context, handle: &str) -> Option<String> {
    let url = format!("https://{handle}/.well-known/atproto-did");
    let reply = ctx.http.get(&url).send().await.ok()?;
    if !reply.status().is_success() {
        return None;
    }
    let text = reply.text().await.ok()?;
    let did = text.trim();
    did.starts_with("did:").then(|| did.to_string())
}

async fn pds_of(
    ctx: &Context,
    policy: &Policy,
    config: &BlueskyConfig,
    did: &str,
) -> Result<String> {
    #[derive(Deserialize)]
    struct Service {
        id: String,
        #[serde(rename = "serviceEndpoint")]
        endpoint: String,
    }
    #[derive(Deserialize)]
    struct Document {
        #[serde(default)]
        service: Vec<Service>,
    }
    let url = if let Some(host) = did.strip_prefix("did:web:") {
        format!("https://{host}/.well-known/did.json")
    } else if did.starts_with("did:plc:") {
        let plc = config
            .plc_directory
            .as_ref()
            .map(|u| u.as_str().to_string())
            .unwrap_or_else(|| DEFAULT_PLC.to_string());
        join(&plc, &format!("/{did}"))
    } else {
        return Err(
            Error::input(format!("keryx cannot resolve the DID method of {did}"))
                .with_hint("set platforms.bluesky.pds to the account's PDS"),
        );
    };
    let reply = exchange(policy, "the DID directory", || ctx.http.get(&url), classify).await?;
    let document: Document = decode(&reply, "DID document")?;
    document
        .service
        .into_iter()
        .find(|s| s.id == "#atproto_pds" || s.id.ends_with("#atproto_pds"))
        .map(|s| s.endpoint.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            Error::platform(format!("the DID document of {did} names no PDS"))
                .with_hint("set platforms.bluesky.pds to the account's PDS")
        })
}
