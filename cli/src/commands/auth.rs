//! `keryx auth <platform>`: authorise once; the platform stores its token.

use std::io::{BufRead, IsTerminal};

use keryx_core::{AuthOptions, Context, Error, Result, Secret};

use crate::args::AuthArgs;
use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode, args: AuthArgs) -> Result<()> {
    let platform = crate::platform(&args.platform)?;
    if args.store_secret {
        return store_client_secret(ctx, platform.id(), mode);
    }
    if args.app_password && !platform.app_passwords() {
        return Err(
            Error::input(format!("{} has no app passwords", platform.display_name())).with_hint(
                format!("run `keryx auth {}` without --app-password", platform.id()),
            ),
        );
    }
    let options = AuthOptions {
        code: args.code,
        redirect: args.redirect,
        no_browser: args.no_browser,
        timeout: args.timeout,
        client_secrets: args.client_secrets,
        app_password: args.app_password,
    };
    let report = platform.authorize(ctx, &options).await?;
    if mode.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        value["ok"] = serde_json::Value::Bool(true);
        println!("{value}");
    } else {
        println!(
            "Authorised {} as {}.",
            platform.display_name(),
            report.account
        );
        for note in &report.notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

/// `--store-secret`: one line from stdin into the secret store, so the secret need not live in
/// the environment. Reading stdin (not an argument) keeps it out of shell history and `ps`.
fn store_client_secret(ctx: &Context, platform: &str, mode: OutputMode) -> Result<()> {
    if std::io::stdin().is_terminal() {
        eprint!("Paste the {platform} client secret and press Enter: ");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Error::input("cannot read the client secret from standard input").with_source(e)
    })?;
    let secret = Secret::new(line.trim());
    if secret.is_empty() {
        return Err(
            Error::input("no client secret on standard input").with_hint(format!(
                "echo \"$SECRET\" | keryx auth {platform} --store-secret"
            )),
        );
    }
    let name = format!("{platform}/client_secret");
    ctx.secrets.set(&name, &secret)?;
    let backend = match ctx.secrets.backend() {
        keryx_core::secrets::Backend::Keychain => "the OS keychain".to_string(),
        keryx_core::secrets::Backend::ConfigFile => {
            format!("{} (mode 0600)", ctx.config.path().display())
        }
    };
    if mode.json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "platform": platform, "stored": name})
        );
    } else {
        println!("Stored the {platform} client secret in {backend}. Next: keryx auth {platform}");
    }
    Ok(())
}
