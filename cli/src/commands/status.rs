//! `keryx status`: per platform account, is the config fine, is there a secret, is there a
//! token, and when it last posted.

use keryx_core::{Context, PlatformStatus, Result};
use serde::Serialize;

use crate::ui::OutputMode;

/// One account's line in `keryx status` and `keryx platforms`.
#[derive(Serialize)]
pub(crate) struct AccountStatus {
    #[serde(flatten)]
    pub status: PlatformStatus,
    /// As the config names it (`default` without `accounts:`), as in the ledger.
    #[serde(rename = "account_name")]
    pub account: String,
    /// When the ledger last recorded an attempt for it (RFC 3339), if ever.
    pub last_used: Option<String>,
}

/// Every account of every registered platform, in order.
pub(crate) async fn accounts(ctx: &Context) -> Vec<AccountStatus> {
    // Unreadable ledger: no "last used", not an error (status must work when things are broken).
    let history = keryx_core::ledger::Ledger::new(&ctx.paths)
        .read()
        .unwrap_or_default();
    let mut out = Vec::new();
    for platform in keryx_core::registry() {
        for account in ctx.config.accounts(platform.id()) {
            let status = platform.status(&ctx.for_account(&account)).await;
            let last_used = history
                .records
                .iter()
                .rev()
                .find(|r| r.is_for(platform.id(), &account))
                .map(|r| {
                    r.finished_at
                        .clone()
                        .unwrap_or_else(|| r.started_at.clone())
                });
            out.push(AccountStatus {
                status,
                account,
                last_used,
            });
        }
    }
    out
}

pub async fn run(ctx: &Context, mode: OutputMode) -> Result<()> {
    let statuses = accounts(ctx).await;
    let config_file = ctx.config.path().display().to_string();
    let secret_store = match ctx.secrets.backend() {
        keryx_core::secrets::Backend::Keychain => "OS keychain".to_string(),
        keryx_core::secrets::Backend::ConfigFile => {
            format!("{config_file} (stored_secrets, mode 0600)")
        }
    };
    if mode.json {
        println!(
            "{}",
            serde_json::json!({
                "config_file": config_file,
                "config_exists": ctx.config.exists(),
                "state_dir": ctx.paths.state_dir.display().to_string(),
                "secret_store": secret_store,
                "platforms": statuses,
            })
        );
        return Ok(());
    }
    let exists = if ctx.config.exists() {
        ""
    } else {
        " (not created yet)"
    };
    println!("config: {config_file}{exists}");
    println!("state:  {}", ctx.paths.state_dir.display());
    println!("tokens: {secret_store}");
    for AccountStatus {
        status,
        account,
        last_used,
    } in statuses
    {
        println!();
        println!(
            "{}{}",
            keryx_core::target::label(&status.platform, &account),
            if status.enabled { "" } else { " (disabled)" }
        );
        match &status.config_error {
            None => println!("  config: ok"),
            Some(error) => println!("  config: {error}"),
        }
        println!(
            "  secret: {}",
            status.secret.as_deref().unwrap_or("missing")
        );
        println!(
            "  token:  {}",
            status.token.as_deref().unwrap_or("none (run keryx auth)")
        );
        if let Some(at) = last_used {
            println!("  last used: {}", keryx_core::ledger::display_time(&at));
        }
    }
    Ok(())
}
