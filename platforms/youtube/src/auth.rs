//! `keryx auth youtube`: Google OAuth for a Desktop app client with PKCE S256 and a loopback
//! redirect (reference §1–2, §8), and the `--client-secrets` credentials file (§1.1).

use std::path::Path;

use keryx_core::oauth::{self, AuthRequest, FlowSpec};
use keryx_core::secrets::Backend;
use keryx_core::tokens::TokenSet;
use keryx_core::{AuthOptions, AuthReport, Context, Error, Result, Secret};

use crate::api::{ChannelList, ClientSecretsFile, SCOPE_READONLY, SCOPE_UPLOAD};
use crate::client::{App, PLATFORM, Session, split_scopes};
use crate::config::YouTubeConfig;
use crate::error::TESTING_NOTE;

pub async fn authorize(ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
    let mut notes = Vec::new();
    // Everything that can be wrong locally is checked before a browser opens.
    let app = match &options.client_secrets {
        Some(path) => install_client_secrets(ctx, path, &mut notes)?,
        None => App::load(ctx)?,
    };

    let authorize = app.endpoints.authorize();
    let client_id = app.config.client_id.clone();
    let authorize_url = move |request: &AuthRequest| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &client_id)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", &format!("{SCOPE_UPLOAD} {SCOPE_READONLY}"))
            .append_pair("state", &request.state)
            // RFC 7636 S256: unpadded base64url of SHA-256 (§1.3).
            .append_pair(
                "code_challenge",
                &oauth::challenge_s256(request.verifier.expose()),
            )
            .append_pair("code_challenge_method", "S256")
            // offline + consent: a refresh token on every authorisation, not only the first (§2.3).
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent")
            .finish();
        format!("{authorize}?{query}")
    };
    // Google accepts any loopback port for Desktop clients; the bare `/` path is the documented form (§1.4).
    let spec = FlowSpec {
        platform: PLATFORM,
        display_name: "YouTube",
        callback_path: "/",
        authorize_url: &authorize_url,
    };
    let callback = oauth::obtain_code(ctx, &spec, options).await?;

    // Granular consent lets the user untick a scope; the redirect says what was granted (§1.5).
    if let Some(granted) = callback.params.get("scope")
        && let Err(e) = check_granted(&split_scopes(granted))
    {
        oauth::forget_pending(ctx, PLATFORM)?;
        return Err(e);
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
    let reply = exchanged?;
    let granted = reply.scopes.clone().unwrap_or_default();
    if !granted.is_empty() {
        check_granted(&granted)?;
    }

    let tokens = ctx.tokens(PLATFORM);
    let previous = tokens.load()?;
    let now = keryx_core::tokens::unix_now();
    // Google may leave the refresh token out on a repeat consent; the one stored earlier
    // is still valid then (§2.3).
    let (refresh_token, refresh_expires_at) = match reply.refresh_token.clone() {
        Some(token) => (token, reply.refresh_expires_in.map(|s| now + s)),
        None => {
            match &previous {
                Some(previous) => (previous.refresh_token.clone(), previous.refresh_expires_at),
                None => {
                    return Err(Error::platform("Google sent no refresh token, so keryx could not post later")
                    .with_hint(
                        "remove keryx's access at https://myaccount.google.com/permissions, then run \
                         `keryx auth youtube` again",
                    ));
                }
            }
        }
    };
    let mut set = TokenSet {
        refresh_token,
        refresh_expires_at,
        access_token: Some(reply.access_token.clone()),
        access_expires_at: reply.expires_in.map(|s| now + s),
        account: None,
        subject: None,
        scopes: granted,
        extra: Default::default(),
    };
    tokens.save_new(&set)?;

    let (channel_id, account) = channel(ctx, &app).await?;
    set.account = Some(account.clone());
    set.subject = Some(channel_id.clone());
    set.extra.insert("channel_id".into(), channel_id.into());
    // The first save let the channel lookup use the token; a channel stored under another
    // account name is refused here, and what this account held before is put back.
    if let Err(e) = tokens.save_new(&set) {
        tokens.put_back(previous.as_ref())?;
        return Err(e);
    }
    ctx.enable(PLATFORM)?;

    if reply.refresh_expires_in.is_some() {
        notes.push(format!(
            "this authorisation expires in 7 days: {TESTING_NOTE}; then run `keryx auth youtube` once more"
        ));
    }
    if app.config.made_for_kids.is_none() {
        notes.push(
            "set `made_for_kids: false` (or true) under platforms.youtube for your usual audience, or pass \
             --youtube-made-for-kids when posting: YouTube needs the answer for every video"
                .to_string(),
        );
    }
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account,
        notes,
    })
}

/// Both scopes are needed: `youtube.upload` to post, `youtube.readonly` to read the channel
/// (§1.2). The broader `youtube` / `youtube.force-ssl` scopes cover both.
pub fn check_granted(granted: &[String]) -> Result<()> {
    let has = |scopes: &[&str]| granted.iter().any(|g| scopes.contains(&g.as_str()));
    const BROAD: [&str; 3] = [
        "https://www.googleapis.com/auth/youtube",
        "https://www.googleapis.com/auth/youtube.force-ssl",
        "https://www.googleapis.com/auth/youtubepartner",
    ];
    let upload = has(&[SCOPE_UPLOAD, BROAD[0], BROAD[1], BROAD[2]]);
    let readonly = has(&[SCOPE_READONLY, BROAD[0], BROAD[1], BROAD[2]]);
    let missing = match (upload, readonly) {
        (true, true) => return Ok(()),
        (false, true) => {
            "\"Manage your YouTube videos\" (youtube.upload), which keryx needs to upload"
        }
        (true, false) => {
            "\"View your YouTube account\" (youtube.readonly), which keryx needs to read your channel name"
        }
        (false, false) => "either YouTube permission (youtube.upload and youtube.readonly)",
    };
    Err(
        Error::input(format!("the Google consent page left out {missing}")).with_hint(
            "run `keryx auth youtube` again and leave both YouTube boxes ticked on Google's page",
        ),
    )
}

/// The channel the token belongs to (§8): its id and a display name. An account without a
/// channel answers with no items or `youtubeSignupRequired`.
async fn channel(ctx: &Context, app: &App) -> Result<(String, String)> {
    let session = Session::start_with_stored(ctx, app).await?;
    let list: ChannelList = session
        .get(
            "/youtube/v3/channels?part=snippet&mine=true",
            "reading your channel",
        )
        .await?;
    let Some(channel) = list.items.into_iter().next() else {
        return Err(Error::platform("the Google account you chose has no YouTube channel").with_hint(
            "create one at https://www.youtube.com/create_channel (or pick the account or brand channel that has \
             one on Google's page), then run `keryx auth youtube` again",
        ));
    };
    let snippet = channel.snippet;
    let title = snippet
        .as_ref()
        .map(|s| s.title.clone())
        .filter(|t| !t.is_empty());
    let handle = snippet.and_then(|s| s.custom_url).filter(|h| !h.is_empty());
    let name = match (title, handle) {
        (Some(title), Some(handle)) => format!("{title} ({handle})"),
        (Some(title), None) => title,
        (None, Some(handle)) => handle,
        (None, None) => format!("channel {}", channel.id),
    };
    Ok((channel.id, name))
}

/// The Desktop client's id and secret from a credentials file.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Reads Google's downloaded credentials JSON (§1.1): an `installed` wrapper with `client_id`
/// and `client_secret`. Web clients (`web`) cannot use a loopback redirect on any port.
pub fn parse_client_secrets(path: &Path, bytes: &[u8]) -> Result<ClientCredentials> {
    let shown = path.display();
    let file: ClientSecretsFile = serde_json::from_slice(bytes).map_err(|e| {
        Error::input(format!("{shown} is not a Google credentials file: {e}")).with_hint(
            "download the JSON again from console.cloud.google.com (APIs & Services > Credentials > your \
             Desktop app client > Download JSON)",
        )
    })?;
    let Some(installed) = file.installed else {
        if file.web.is_some() {
            return Err(Error::input(format!("{shown} belongs to a \"Web application\" OAuth client")).with_hint(
                "keryx needs a \"Desktop app\" client: in console.cloud.google.com, APIs & Services > Credentials > \
                 Create credentials > OAuth client ID > Application type \"Desktop app\", then download its JSON",
            ));
        }
        return Err(Error::input(format!("{shown} has no `installed` client")).with_hint(
            "use the JSON of a \"Desktop app\" OAuth client (APIs & Services > Credentials > Download JSON)",
        ));
    };
    let client_id = installed.client_id.trim().to_string();
    if client_id.is_empty() {
        return Err(Error::input(format!("{shown} has no client_id"))
            .with_hint("download the JSON again from the Desktop app client's page"));
    }
    let Some(client_secret) = installed
        .client_secret
        .filter(|s| !s.expose().trim().is_empty())
    else {
        return Err(Error::input(format!("{shown} has no client_secret")).with_hint(
            "Google shows a new client's secret only once: on the client's page in console.cloud.google.com, \
             add a secret and download the JSON again, or export YOUTUBE_CLIENT_SECRET and put client_id in the config",
        ));
    };
    Ok(ClientCredentials {
        client_id,
        client_secret: Secret::new(client_secret.expose().trim()),
    })
}

/// `--client-secrets FILE`: writes `client_id` into the config and the secret into the secret
/// store, so later runs need neither the file nor an environment variable.
fn install_client_secrets(ctx: &Context, path: &Path, notes: &mut Vec<String>) -> Result<App> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(format!("cannot read {}", path.display()))
            .with_source(e)
            .with_hint("check the --client-secrets path")
    })?;
    let credentials = parse_client_secrets(path, &bytes)?;
    let scalar = keryx_core::config::quote_yaml_string(&credentials.client_id);
    keryx_core::config::set_platform_key(ctx.config.path(), PLATFORM, "client_id", &scalar)?;
    ctx.secrets.set(
        &keryx_core::secrets::client_secret_name(PLATFORM),
        &credentials.client_secret,
    )?;
    let place = match ctx.secrets.backend() {
        Backend::Keychain => "the OS keychain".to_string(),
        // The file backend is keryx-managed and 0600; the user chose it (or has no keychain).
        Backend::ConfigFile => format!(
            "{} (stored_secrets, mode 0600)",
            ctx.config.path().display()
        ),
    };
    ctx.ui.info(&format!(
        "Saved client_id in {} and the client secret in {place}.",
        ctx.config.path().display()
    ));
    let env = keryx_core::secrets::client_secret_env(PLATFORM);
    if std::env::var(&env)
        .is_ok_and(|v| !v.trim().is_empty() && v.trim() != credentials.client_secret.expose())
    {
        notes.push(format!(
            "{env} is set and differs from the stored secret; it takes precedence: unset it"
        ));
    }

    let known: Vec<&str> = keryx_core::registry().iter().map(|p| p.id()).collect();
    let fresh = Context {
        config: keryx_core::config::Config::load(ctx.config.path(), &known)?,
        ..ctx.clone()
    };
    let section = YouTubeConfig::load(&fresh)?;
    Ok(App::new(section, credentials.client_secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ClientCredentials> {
        parse_client_secrets(Path::new("client_secret.json"), json.as_bytes())
    }

    #[test]
    fn installed_credentials() {
        let c = parse(
            r#"{"installed":{"client_id":"123-abc.apps.googleusercontent.com","project_id":"p",
            "auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url":"https://www.googleapis.com/oauth2/v1/certs",
            "client_secret":"GOCSPX-secret","redirect_uris":["http://localhost"]}}"#,
        )
        .unwrap();
        assert_eq!(c.client_id, "123-abc.apps.googleusercontent.com");
        assert_eq!(c.client_secret.expose(), "GOCSPX-secret");
        assert!(
            !format!("{c:?}").contains("GOCSPX"),
            "the secret is never printed"
        );
    }

    #[test]
    fn web_clients_are_explained() {
        let e = parse(r#"{"web":{"client_id":"x","client_secret":"y","redirect_uris":["https://example.com"]}}"#)
            .unwrap_err();
        assert_eq!(e.kind(), keryx_core::ErrorKind::Input);
        assert!(e.message().contains("Web application"));
        assert!(e.hint().unwrap().contains("Desktop app"));
    }

    #[test]
    fn malformed_and_incomplete_files() {
        let e = parse("{\"installed\": ").unwrap_err();
        assert!(
            e.message().contains("not a Google credentials file"),
            "{}",
            e.message()
        );
        assert!(parse("[]").is_err());
        assert!(
            parse("{}")
                .unwrap_err()
                .message()
                .contains("no `installed`")
        );
        let e = parse(r#"{"installed":{"client_id":"x.apps.googleusercontent.com"}}"#).unwrap_err();
        assert!(e.message().contains("no client_secret"));
        assert!(e.hint().unwrap().contains("YOUTUBE_CLIENT_SECRET"));
        assert!(parse(r#"{"installed":{"client_id":"x","client_secret":"  "}}"#).is_err());
        assert!(
            parse(r#"{"installed":{"client_id":"","client_secret":"s"}}"#)
                .unwrap_err()
                .message()
                .contains("client_id")
        );
    }

    #[test]
    fn both_scopes_are_needed() {
        let s = |list: &[&str]| list.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(check_granted(&s(&[SCOPE_UPLOAD, SCOPE_READONLY])).is_ok());
        assert!(check_granted(&s(&["https://www.googleapis.com/auth/youtube"])).is_ok());
        let e = check_granted(&s(&[SCOPE_UPLOAD])).unwrap_err();
        assert!(e.message().contains("youtube.readonly"), "{}", e.message());
        let e = check_granted(&s(&[SCOPE_READONLY])).unwrap_err();
        assert!(e.message().contains("youtube.upload"), "{}", e.message());
        assert!(check_granted(&s(&["openid"])).is_err());
    }
}
