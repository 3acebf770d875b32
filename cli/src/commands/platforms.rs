//! `keryx platforms`: what keryx knows and what is set up, one line per account.

use keryx_core::{Context, Result};

use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode) -> Result<()> {
    let rows = super::status::accounts(ctx).await;
    let name = |id: &str| keryx_core::find(id).map_or("", |p| p.display_name());
    if mode.json {
        let list: Vec<_> = rows
            .iter()
            .map(|row| {
                let s = &row.status;
                serde_json::json!({
                    "platform": s.platform,
                    "account_name": row.account,
                    "name": name(&s.platform),
                    "enabled": s.enabled,
                    "authorised": s.token.is_some(),
                    "last_used": row.last_used,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(list));
        return Ok(());
    }
    println!(
        "{:<10} {:<10} {:<10} {:<8} AUTHORISED",
        "PLATFORM", "ACCOUNT", "NAME", "ENABLED"
    );
    for row in rows {
        let s = &row.status;
        println!(
            "{:<10} {:<10} {:<10} {:<8} {}",
            s.platform,
            row.account,
            name(&s.platform),
            if s.enabled { "yes" } else { "no" },
            s.token.as_deref().unwrap_or("no"),
        );
    }
    Ok(())
}
