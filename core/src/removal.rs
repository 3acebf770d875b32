//! `keryx auth <platform> --remove`: end an authorisation for good.
//!
//! The platform revokes first and keryx forgets second: a token forgotten before its
//! revocation went through could never be revoked from here again, so a failed revocation
//! keeps everything and says so. Forgetting removes the token (under the platform's token lock,
//! so a refresh in flight cannot store it back), any pending authorisation, and sets
//! `enabled: false`, so `keryx post all` stops posting there instead of failing with exit 4.

use serde::Serialize;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::platform::{Platform, Revocation};
use crate::tokens::TokenStore;

/// What `keryx auth --remove` did.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub platform: String,
    /// Who the forgotten token belonged to, as `keryx auth` named them.
    pub account: Option<String>,
    pub revocation: Revocation,
    /// Whether `enabled: false` was written (false when the config has no section for it).
    pub disabled: bool,
}

/// Revokes the stored authorisation at `platform`, then forgets it.
pub async fn remove_authorisation(ctx: &Context, platform: &dyn Platform) -> Result<Removal> {
    let id = platform.id();
    let store = TokenStore::new(&ctx.secrets, &ctx.paths, id);
    let Some(tokens) = store.load()? else {
        return Err(Error::input(format!(
            "no {} authorisation is stored: nothing to remove",
            platform.display_name()
        ))
        .with_hint("`keryx status` shows which platforms hold a token"));
    };
    let revocation = platform.revoke(ctx, &tokens).await.map_err(|e| {
        e.with_note(format!(
            "nothing was forgotten: the token is still stored, so `keryx auth {id} --remove` can \
             try again"
        ))
    })?;
    store.forget()?;
    crate::oauth::forget_pending(ctx, id)?;
    let disabled = ctx.config.has_section(id);
    if disabled {
        crate::config::set_platform_key(ctx.config.path(), id, "enabled", "false")?;
    }
    Ok(Removal {
        platform: id.to_string(),
        account: tokens.account,
        revocation,
        disabled,
    })
}
