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

/// Revokes the stored authorisation of `ctx`'s account at `platform`, then forgets it. A named
/// account is disabled (its entry and settings stay); the platform's one account disables the
/// platform.
pub async fn remove_authorisation(ctx: &Context, platform: &dyn Platform) -> Result<Removal> {
    let id = platform.id();
    let store = ctx.tokens(id);
    let target = store.target();
    let Some(tokens) = store.load()? else {
        return Err(Error::input(format!(
            "no {target} authorisation is stored: nothing to remove"
        ))
        .with_hint("`keryx status` shows which accounts hold a token"));
    };
    let revocation = platform.revoke(ctx, &tokens).await.map_err(|e| {
        e.with_note(format!(
            "nothing was forgotten: the token is still stored, so `{} --remove` can try again",
            store.auth_command()
        ))
    })?;
    store.forget()?;
    crate::oauth::forget_pending(ctx, id)?;
    let path = ctx.config.path();
    let disabled = match ctx.config.has_accounts(id) {
        true => {
            crate::config::set_account_key(path, id, &ctx.account, "enabled", "false")?;
            true
        }
        false => {
            let disabled = ctx.config.has_section(id);
            if disabled {
                crate::config::set_platform_key(path, id, "enabled", "false")?;
            }
            disabled
        }
    };
    Ok(Removal {
        platform: target,
        account: tokens.account,
        revocation,
        disabled,
    })
}
