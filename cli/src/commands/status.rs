//! `keryx status`: per platform, is the config fine, is there a secret, is there a token.

use keryx_core::{Context, Result};

use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode) -> Result<()> {
    let mut statuses = Vec::new();
    for platform in keryx_core::registry() {
        statuses.push(platform.status(ctx).await);
    }
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
    for status in statuses {
        println!();
        println!(
            "{}{}",
            status.platform,
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
    }
    Ok(())
}
