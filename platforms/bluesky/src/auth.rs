//! `keryx auth bluesky --app-password`: an app password (Settings → Privacy and security → App
//! passwords, `xxxx-xxxx-xxxx-xxxx`) traded for a session with `createSession` (reference §3).
//! The password comes from `BLUESKY_APP_PASSWORD` or a hidden prompt, never the command line
//! (which `ps` and shell history show). The session's refresh JWT rotates on every refresh and
//! lives 90 days; core's `TokenStore` keeps it under its lock.

use serde_json::json;

use keryx_core::http::{Policy, Verdict, exchange};
use keryx_core::tokens::TokenSet;
use keryx_core::{AuthOptions, AuthReport, Context, Error, ErrorKind, Result, Secret};

use crate::config::{BlueskyConfig, join};
use crate::identity::{self, Identity};
use crate::xrpc::{SessionReply, classify, decode, unix_now};
use crate::{APP_PASSWORD_ENV, PLATFORM};

/// The secret the app password is kept under.
/// The secret the app password is kept under, per account (`bluesky/app_password` for the
/// default one).
pub fn app_password_secret(ctx: &Context) -> String {
    ctx.account_secret(PLATFORM, "app_password")
}

/// What kind of session is stored (`TokenSet.extra["kind"]`).
pub const KIND_APP_PASSWORD: &str = "app-password";

pub async fn authorize(ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
    if options.client_secrets.is_some() {
        return Err(Error::input("Bluesky has no client-secrets file")
            .with_hint("use `keryx auth bluesky --app-password`"));
    }
    if !options.app_password {
        return crate::login::authorize(ctx, options).await;
    }
    let config = BlueskyConfig::load(ctx)?;
    let password = app_password(ctx, &config)?;
    if !looks_like_app_password(password.expose()) {
        ctx.ui.warn(
            "that does not look like an app password (xxxx-xxxx-xxxx-xxxx). If it is your main \
             password, create an app password instead: it can only post, not change your account \
             or read your messages, and you can revoke it alone in Settings → Privacy and security \
             → App passwords without changing your password",
        );
    }
    let identity = identity::resolve(ctx, &config).await?;
    let session = create_session(ctx, &identity, &password).await?;
    if session.did != identity.did {
        return Err(Error::input(format!(
            "the PDS signed in {} ({}), but {} resolves to {}",
            session.handle,
            session.did,
            config.handle(),
            identity.did
        ))
        .with_hint("check the handle in the config (`platforms.bluesky.handle`, or the account's own `handle` under `accounts:`)"));
    }
    ctx.secrets.set(&app_password_secret(ctx), &password)?;
    let set = token_set(&session, &identity);
    ctx.tokens(PLATFORM).save_new(&set)?;
    ctx.enable(PLATFORM)?;
    let mut notes = vec![
        "signed in with an app password: the session renews itself for 90 days after each post; \
         revoke it in Bluesky's settings to end it"
            .to_string(),
    ];
    if session.email_confirmed == Some(false) {
        notes.push(
            "the account's email is not confirmed: Bluesky's video service needs a confirmed \
             email, so videos go to the PDS directly"
                .into(),
        );
    }
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account: format!("{} ({})", session.handle, session.did),
        notes,
    })
}

/// From the environment, else the one stored by an earlier `keryx auth bluesky --app-password`
/// (or `keryx emulator --write-config`), else the hidden prompt.
fn app_password(ctx: &Context, config: &BlueskyConfig) -> Result<Secret> {
    if let Ok(value) = std::env::var(APP_PASSWORD_ENV)
        && !value.trim().is_empty()
    {
        return Ok(Secret::new(value.trim()));
    }
    if let Some(stored) = ctx.secrets.get(&app_password_secret(ctx))?
        && !stored.is_empty()
    {
        return Ok(stored);
    }
    let missing = || {
        Error::input(format!("no app password: {APP_PASSWORD_ENV} is not set and there is no terminal to ask"))
            .with_hint(format!(
                "create one in Bluesky (Settings → Privacy and security → App passwords), then {APP_PASSWORD_ENV}=xxxx-xxxx-xxxx-xxxx keryx auth bluesky --app-password"
            ))
    };
    let Some(prompter) = ctx.ui.prompter() else {
        return Err(missing());
    };
    let typed = prompter
        .secret(&format!("App password for {}", config.handle()))
        .map_err(|_| missing())?;
    if typed.is_empty() {
        return Err(missing());
    }
    Ok(typed)
}

/// App passwords "usually have the form" `xxxx-xxxx-xxxx-xxxx`, lowercase letters and digits.
pub fn looks_like_app_password(password: &str) -> bool {
    let groups: Vec<&str> = password.split('-').collect();
    groups.len() == 4
        && groups.iter().all(|g| {
            g.len() == 4
                && g.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

async fn create_session(
    ctx: &Context,
    identity: &Identity,
    password: &Secret,
) -> Result<SessionReply> {
    let url = join(&identity.pds, "/xrpc/com.atproto.server.createSession");
    let body = json!({"identifier": identity.did, "password": password.expose()});
    let reply = exchange(
        &Policy::from_env(),
        "Bluesky (createSession)",
        || ctx.http.post(&url).json(&body),
        |reply| match classify(reply) {
            // A wrong password is the user's to fix, not a session to replace; and never retry
            // createSession in a loop (its rate limit is 30 per 5 minutes).
            Verdict::TokenInvalid(e) => Verdict::Failed(e),
            Verdict::RateLimited { error, .. } => Verdict::Failed(error),
            other => other,
        },
    )
    .await
    .map_err(|e| {
        if e.kind() == ErrorKind::Authorisation {
            Error::input(format!(
                "Bluesky refused the app password for {}",
                identity.did
            ))
            .with_hint(format!(
                "check {APP_PASSWORD_ENV} (it may have been revoked) and the handle in the config (`platforms.bluesky.handle`, or the account's own `handle` under `accounts:`)"
            ))
        } else {
            e
        }
    })?;
    decode(&reply, "createSession")
}

pub fn token_set(session: &SessionReply, identity: &Identity) -> TokenSet {
    let reply = session.token_reply();
    let now = unix_now();
    let mut extra = serde_json::Map::new();
    extra.insert("did".into(), json!(session.did));
    extra.insert("handle".into(), json!(session.handle));
    extra.insert("pds".into(), json!(identity.pds));
    extra.insert("kind".into(), json!(KIND_APP_PASSWORD));
    TokenSet {
        refresh_token: Secret::new(session.refresh_jwt.clone()),
        refresh_expires_at: reply.refresh_expires_in.map(|s| now + s),
        access_token: Some(reply.access_token),
        access_expires_at: reply.expires_in.map(|s| now + s),
        account: Some(format!("{} ({})", session.handle, session.did)),
        subject: Some(session.did.clone()),
        scopes: Vec::new(),
        extra,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn app_password_shape() {
        assert!(super::looks_like_app_password("bhju-k546-jsgk-hyxj"));
        assert!(!super::looks_like_app_password("hunter2"));
        assert!(!super::looks_like_app_password("BHJU-k546-jsgk-hyxj"));
    }
}
