//! `keryx platforms`: what keryx knows and what is set up.

use keryx_core::{Context, Result};

use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode) -> Result<()> {
    let mut rows = Vec::new();
    for platform in keryx_core::registry() {
        let status = platform.status(ctx).await;
        rows.push((platform, status));
    }
    if mode.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(p, s)| {
                serde_json::json!({
                    "platform": p.id(),
                    "name": p.display_name(),
                    "enabled": s.enabled,
                    "authorised": s.token.is_some(),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(());
    }
    println!(
        "{:<10} {:<10} {:<8} AUTHORISED",
        "PLATFORM", "NAME", "ENABLED"
    );
    for (platform, status) in rows {
        println!(
            "{:<10} {:<10} {:<8} {}",
            platform.id(),
            platform.display_name(),
            if status.enabled { "yes" } else { "no" },
            status.token.as_deref().unwrap_or("no"),
        );
    }
    Ok(())
}
