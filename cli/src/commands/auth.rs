//! `keryx auth <platform>[:<account>]` (or `--account NAME`): authorise one account once; the
//! platform stores its token under that account.

use std::io::{BufRead, IsTerminal};

use keryx_core::platform::Platform;
use keryx_core::{AuthOptions, Context, Error, Result, Revocation, Secret};

use crate::args::AuthArgs;
use crate::ui::OutputMode;

pub async fn run(ctx: &Context, mode: OutputMode, args: AuthArgs) -> Result<()> {
    let (platform, named) = keryx_core::target::parse(&args.platform)?;
    let account = match (named, &args.account) {
        (Some(a), Some(b)) if a != *b => {
            return Err(Error::input(format!(
                "`{}` and `--account {b}` name two accounts",
                args.platform
            ))
            .with_hint("give the account once"));
        }
        (Some(a), _) => Some(a),
        (None, Some(b)) => {
            keryx_core::target::parse(&format!("{}:{b}", platform.id()))?;
            Some(b.clone())
        }
        (None, None) => None,
    };
    let ctx = &match &account {
        Some(account) => ctx.for_account(account),
        None => ctx.clone(),
    };
    let label = keryx_core::target::label(platform.id(), &ctx.account);
    if args.store_secret {
        return store_client_secret(ctx, platform.id(), mode);
    }
    let mut given = args.platform_options;
    // Options of another platform are refused, not silently dropped.
    if let Some(other) = given.keys().find(|id| id.as_str() != platform.id()) {
        return Err(Error::input(format!(
            "--{other}-... options are for `keryx auth {other}`, not `keryx auth {}`",
            platform.id()
        ))
        .with_hint("leave them out, or run the auth of the platform they belong to"));
    }
    if args.remove {
        if !given.is_empty() {
            return Err(Error::input("--remove takes no other options")
                .with_hint(format!("run `keryx auth {label} --remove` alone")));
        }
        if account.is_some() && ctx.config.has_accounts(platform.id()) {
            keryx_core::target::resolve(&ctx.config, platform, account.as_deref(), |_| None)?;
        }
        return remove(ctx, platform, mode).await;
    }
    if args.app_password && !platform.app_passwords() {
        return Err(
            Error::input(format!("{} has no app passwords", platform.display_name())).with_hint(
                format!("run `keryx auth {}` without --app-password", platform.id()),
            ),
        );
    }
    let options = AuthOptions {
        platform_options: given.remove(platform.id()).unwrap_or_default(),
        code: args.code,
        redirect: args.redirect,
        no_browser: args.no_browser,
        timeout: args.timeout,
        client_secrets: args.client_secrets,
        app_password: args.app_password,
    };
    let report = platform
        .authorize(ctx, &options)
        .await
        .map_err(|e| e.for_account(platform.id(), &ctx.account))?;
    if mode.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        value["ok"] = serde_json::Value::Bool(true);
        println!("{value}");
    } else {
        let which = match ctx.is_default_account() {
            true => String::new(),
            false => format!(" (account {})", ctx.account),
        };
        println!(
            "Authorised {}{which} as {}.",
            platform.display_name(),
            report.account
        );
        for note in &report.notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

/// `--remove`: revoke, forget, disable.
async fn remove(ctx: &Context, platform: &dyn Platform, mode: OutputMode) -> Result<()> {
    let removal = keryx_core::removal::remove_authorisation(ctx, platform)
        .await
        .map_err(|e| e.for_account(platform.id(), &ctx.account))?;
    if mode.json {
        let mut value = serde_json::to_value(&removal).unwrap_or_default();
        value["ok"] = serde_json::Value::Bool(true);
        println!("{value}");
        return Ok(());
    }
    let (name, id) = (platform.display_name(), removal.platform.clone());
    let whose = match &removal.account {
        Some(account) => format!("the {name} authorisation of {account}"),
        None => format!("the {name} authorisation"),
    };
    let how = match removal.revocation {
        Revocation::Revoked => format!("{name} revoked it and keryx forgot its token"),
        Revocation::AlreadyEnded => {
            format!("{name} had already ended it; keryx forgot its token")
        }
        Revocation::Unsupported => format!(
            "keryx forgot its token but cannot revoke it at {name}, so remove keryx's access \
             in your {name} account's settings"
        ),
    };
    println!("Removed {whose}: {how}.");
    if removal.disabled {
        println!(
            "{id} is now disabled in {}; `{}` sets it up again.",
            ctx.config.path().display(),
            keryx_core::target::auth_command(platform.id(), &ctx.account)
        );
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
