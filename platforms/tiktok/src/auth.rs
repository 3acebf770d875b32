//! `keryx auth tiktok`: Login Kit for Desktop with TikTok's hex PKCE (reference §1–4).

use reqwest::Method;

use keryx_core::oauth::{self, AuthRequest, FlowSpec};
use keryx_core::tokens::TokenSet;
use keryx_core::{AuthOptions, AuthReport, Context, Error, Result};

use crate::api::UserInfoData;
use keryx_core::session::Start;

use crate::client::{self, App, PLATFORM, Session};

pub async fn authorize(ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
    if options.client_secrets.is_some() {
        return Err(Error::input("TikTok has no client-secrets file")
            .with_hint("put client_key in the config and the secret in TIKTOK_CLIENT_SECRET (see docs/tiktok.md)"));
    }
    // Everything that can be wrong locally is checked before a browser opens.
    let app = App::load(ctx)?;
    let scopes = app.config.scopes().join(",");
    let authorize = url::Url::parse(&app.endpoints.authorize()).map_err(|e| {
        Error::input(format!(
            "platforms.tiktok.base_url does not make a valid URL ({e})"
        ))
        .with_hint("use an address like http://127.0.0.1:7878")
    })?;
    let client_key = app.config.client_key.clone();
    let authorize_url = move |request: &AuthRequest| {
        let mut url = authorize.clone();
        url.query_pairs_mut()
            .append_pair("client_key", &client_key)
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("state", &request.state)
            // TikTok Desktop wants the lowercase hex SHA-256, not RFC 7636's base64url (§1.1).
            .append_pair(
                "code_challenge",
                &oauth::challenge_hex(request.verifier.expose()),
            )
            .append_pair("code_challenge_method", "S256");
        url.to_string()
    };
    let spec = FlowSpec {
        platform: PLATFORM,
        display_name: "TikTok",
        callback_path: "/callback/",
        authorize_url: &authorize_url,
    };
    let callback = oauth::obtain_code(ctx, &spec, options).await?;

    // Users can untick scopes on the consent page: the redirect says what was granted (§2).
    let needed = app.config.posting_scope();
    if let Some(granted) = callback.params.get("scopes")
        && !crate::client::split_scopes(granted)
            .iter()
            .any(|s| s == needed)
    {
        oauth::forget_pending(ctx, PLATFORM)?;
        return Err(Error::input(format!(
            "TikTok did not grant `{needed}`, which keryx needs to post"
        ))
        .with_hint("run `keryx auth tiktok` again and leave every permission ticked"));
    }

    let exchanged = app
        .exchange_code(
            ctx,
            &callback.code,
            &callback.request.redirect_uri,
            &callback.request.verifier,
        )
        .await;
    // A code is single-use: whatever the answer, this pending authorisation is spent.
    oauth::forget_pending(ctx, PLATFORM)?;
    let (reply, open_id) = exchanged?;
    let granted = reply.scopes.clone().unwrap_or_default();
    if !granted.is_empty() && !granted.iter().any(|s| s == needed) {
        return Err(Error::input(format!(
            "TikTok did not grant `{needed}`, which keryx needs to post"
        ))
        .with_hint("run `keryx auth tiktok` again and leave every permission ticked"));
    }
    let Some(refresh_token) = reply.refresh_token.clone() else {
        return Err(Error::platform(
            "TikTok's token reply had no refresh token; keryx cannot post later without one",
        ));
    };
    let now = unix_now();
    let mut set = TokenSet {
        refresh_token,
        refresh_expires_at: reply.refresh_expires_in.map(|s| now + s),
        access_token: Some(reply.access_token.clone()),
        access_expires_at: reply.expires_in.map(|s| now + s),
        account: None,
        subject: None,
        scopes: granted,
        extra: Default::default(),
    };
    if let Some(open_id) = open_id {
        set.subject = Some(open_id.clone());
        set.extra.insert("open_id".into(), open_id.into());
    }
    let tokens = ctx.tokens(PLATFORM);
    tokens.save_new(&set)?;

    let name = display_name(ctx, &app).await.unwrap_or_else(|e| {
        ctx.ui.warn(&format!(
            "authorised, but could not read the account name: {e}"
        ));
        "(unknown account)".to_string()
    });
    set.account = Some(name.clone());
    tokens.save_new(&set)?;
    ctx.enable(PLATFORM)?;

    let mut notes = Vec::new();
    if app.config.privacy == crate::api::Privacy::SelfOnly {
        notes.push(
            "posts are private (SELF_ONLY) until the app passes TikTok's content-posting audit"
                .into(),
        );
    }
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account: name,
        notes,
    })
}

/// The display name, from user info (§4), with the token just stored.
async fn display_name(ctx: &Context, app: &App) -> Result<String> {
    let session = Session::start(ctx, app, Start::Stored).await?;
    let info: UserInfoData = client::call(
        &session,
        Method::GET,
        "/v2/user/info/?fields=open_id,display_name",
        None,
    )
    .await?;
    Ok(info
        .user
        .display_name
        .filter(|n| !n.is_empty())
        .or(info.user.open_id)
        .unwrap_or_default())
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
