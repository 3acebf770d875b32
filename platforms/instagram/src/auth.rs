//! `keryx auth instagram`: Facebook Login for Business with `response_type=code` to the fixed
//! loopback redirect `http://localhost:<port>/callback` (reference §1.3-§1.5), then code →
//! short-lived user token → long-lived user token → the Pages the user manages and the
//! Instagram professional account linked to each (`/me/accounts`). Or `--instagram-token` and
//! `--instagram-ig-user-id` for a token the user already has, checked by one call.
//!
//! Each linked Instagram account is an account of keryx's: with one linked, it is stored under
//! the account the command is for; with several and no `--account`, each under its username
//! (`instagram:keryx-demo`); with `--account NAME`, the one whose name that is.

use serde::Deserialize;

use keryx_core::http::{Policy, Verdict, exchange};
use keryx_core::oauth::{self, AuthRequest, FlowSpec};
use keryx_core::tokens::TokenSet;
use keryx_core::{AuthOptions, AuthReport, Context, Error, OptionValue, Result, Secret};

use crate::config::InstagramConfig;
use crate::graph::{REQUIRED_SCOPES, SCOPES, classify, decode, exchange_token, unix_now};
use crate::{IG_USER_ID, PLATFORM, TOKEN};

/// Page tokens derived from a long-lived user token do not expire (reference §1.1); the store
/// wants a date, so a far one.
const PAGE_TOKEN_LIFE_SECS: i64 = 10 * 365 * 86_400;

/// One Instagram account found behind a Page.
#[derive(Debug, Clone)]
pub struct Linked {
    pub page_id: String,
    pub page_name: String,
    pub page_token: Secret,
    pub ig_user_id: String,
    pub username: String,
}

fn text<'a>(options: &'a AuthOptions, name: &str) -> Option<&'a str> {
    match options.platform_options.get(name) {
        Some(OptionValue::Text(t)) => Some(t.as_str()),
        _ => None,
    }
}

pub async fn authorize(ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
    if options.client_secrets.is_some() {
        return Err(Error::input("Instagram has no client-secrets file")
            .with_hint("put the app secret in INSTAGRAM_APP_SECRET or store it with `keryx auth instagram --store-secret`"));
    }
    let config = InstagramConfig::load(ctx)?;
    match (text(options, TOKEN), text(options, IG_USER_ID)) {
        (Some(token), Some(id)) => return supplied(ctx, &config, token, id).await,
        (None, None) => {}
        _ => {
            return Err(
                Error::input("--instagram-token and --instagram-ig-user-id go together")
                    .with_hint("give both: the token and the Instagram account id it posts for"),
            );
        }
    }
    // Everything local is checked before the browser opens.
    let (secret, _) = keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM)?;
    let mut options = options.clone();
    if options.redirect.is_none() && options.code.is_none() {
        // Meta matches the redirect exactly and takes http only for the literal `localhost`
        // (reference §1.4), so the redirect is pinned rather than a random 127.0.0.1 port.
        let port = match config.redirect_port {
            0 => free_port()?,
            port => port,
        };
        options.redirect = Some(format!("http://localhost:{port}/callback"));
    }
    let dialog = config.dialog();
    let app_id = config.app_id.clone();
    let authorize_url = move |request: &AuthRequest| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        pairs
            .append_pair("client_id", &app_id)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("state", &request.state)
            .append_pair("response_type", "code")
            .append_pair("scope", &SCOPES.join(","));
        format!("{dialog}?{}", pairs.finish())
    };
    let spec = FlowSpec {
        platform: PLATFORM,
        display_name: "Instagram",
        callback_path: "/callback",
        authorize_url: &authorize_url,
    };
    let callback = oauth::obtain_code(ctx, &spec, &options).await?;
    let policy = Policy::from_env();
    let exchanged = exchange_token(
        ctx,
        &policy,
        &config,
        &[
            ("client_id", &config.app_id),
            ("redirect_uri", &callback.request.redirect_uri),
            ("client_secret", secret.expose()),
            ("code", callback.code.expose()),
        ],
    )
    .await;
    // A code is single-use: whatever the answer, this pending authorisation is spent.
    oauth::forget_pending(ctx, PLATFORM)?;
    let short = exchanged?;
    let long = exchange_token(
        ctx,
        &policy,
        &config,
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", &config.app_id),
            ("client_secret", secret.expose()),
            ("fb_exchange_token", short.access_token.expose()),
        ],
    )
    .await?;
    let granted = granted_scopes(ctx, &config, &long.access_token).await?;
    let missing: Vec<&str> = REQUIRED_SCOPES
        .iter()
        .copied()
        .filter(|s| !granted.iter().any(|g| g == s))
        .collect();
    if !missing.is_empty() {
        return Err(Error::input(format!(
            "the Instagram authorisation lacks {}: keryx cannot find or post to the account without {}",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        ))
        .with_hint("run `keryx auth instagram` again and leave every permission ticked on Meta's page"));
    }
    let (accounts, unlinked) = linked_accounts(ctx, &config, &long.access_token).await?;
    if accounts.is_empty() {
        let mut hint = String::from(
            "link an Instagram professional (Business or Creator) account to a Facebook Page you manage, select that Page on Meta's page, then run `keryx auth instagram` again (docs/instagram.md)",
        );
        if !granted.iter().any(|g| g == "business_management") {
            hint.push_str("; a business-owned Page also needs business_management");
        }
        return Err(Error::input(
            "no Instagram professional account is linked to the Pages keryx may see",
        )
        .with_hint(hint));
    }
    let grant = Grant {
        user_token: long.access_token,
        user_expires_in: long.expires_in,
        scopes: granted,
    };
    let mut report = match accounts.as_slice() {
        [only] if ctx.is_default_account() => {
            // Re-authorising: the account of keryx's that holds it already keeps it, rather
            // than the default account claiming the same person (which the core refuses).
            let held = holders(ctx)
                .into_iter()
                .find(|(_, subject)| *subject == only.ig_user_id);
            match held {
                Some((name, _)) if name != ctx.account => {
                    let mut report = store_one(&ctx.for_account(&name), &grant, only)?;
                    report.notes.push(format!(
                        "stored as {}, which already held @{}",
                        keryx_core::target::label(PLATFORM, &name),
                        only.username
                    ));
                    report
                }
                _ => store_one(ctx, &grant, only)?,
            }
        }
        [only] => store_one(ctx, &grant, only)?,
        _ if !ctx.is_default_account() => {
            let names = account_names(&accounts);
            let Some(i) = names.iter().position(|n| *n == ctx.account) else {
                let found: Vec<String> = names
                    .iter()
                    .zip(&accounts)
                    .map(|(name, a)| format!("{name} (@{})", a.username))
                    .collect();
                return Err(Error::input(format!(
                    "none of the {} Instagram accounts linked to your Pages is named `{}`: found {}",
                    accounts.len(),
                    ctx.account,
                    found.join(", ")
                ))
                .with_hint(format!(
                    "run `keryx auth instagram --account {}` (account names come from the Instagram usernames), or leave out --account to store every one",
                    names[0]
                )));
            };
            store_one(ctx, &grant, &accounts[i])?
        }
        _ => store_all(ctx, &grant, &accounts)?,
    };
    for page in unlinked {
        report.notes.push(format!(
            "the Page \"{page}\" has no linked Instagram professional account"
        ));
    }
    Ok(report)
}

/// What one browser authorisation gave, shared by every account it found.
struct Grant {
    user_token: Secret,
    user_expires_in: Option<i64>,
    scopes: Vec<String>,
}

impl Grant {
    /// The set stored for `linked`: its Page token, and the long-lived user token that
    /// re-derives it at each post.
    fn token_set(&self, linked: &Linked) -> TokenSet {
        let now = unix_now();
        let mut extra = serde_json::Map::new();
        extra.insert("kind".into(), "user".into());
        extra.insert("ig_user_id".into(), linked.ig_user_id.clone().into());
        extra.insert("page_id".into(), linked.page_id.clone().into());
        extra.insert("page_name".into(), linked.page_name.clone().into());
        TokenSet {
            refresh_token: self.user_token.clone(),
            refresh_expires_at: self.user_expires_in.map(|s| now + s),
            access_token: Some(linked.page_token.clone()),
            access_expires_at: Some(now + PAGE_TOKEN_LIFE_SECS),
            account: Some(linked.username.clone()),
            subject: Some(linked.ig_user_id.clone()),
            scopes: self.scopes.clone(),
            extra,
        }
    }
}

/// One account, stored under the account this command is for (`--account`, or the default).
fn store_one(ctx: &Context, grant: &Grant, linked: &Linked) -> Result<AuthReport> {
    save(ctx, grant.token_set(linked))?;
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account: linked.username.clone(),
        notes: vec![format!(
            "posts go to @{} (Instagram account {}, linked to the Page \"{}\")",
            linked.username, linked.ig_user_id, linked.page_name
        )],
    })
}

/// Several linked accounts and no `--account`: each becomes an account of its own, named
/// after its username, except one that an account of keryx already holds (the same Instagram
/// account id), which keeps its name there, so nothing is posted twice and no target moves.
fn store_all(ctx: &Context, grant: &Grant, accounts: &[Linked]) -> Result<AuthReport> {
    let holders = holders(ctx);
    let mut stored = Vec::new();
    let mut notes = Vec::new();
    for (linked, name) in accounts.iter().zip(account_names(accounts)) {
        let held = holders
            .iter()
            .find(|(_, subject)| *subject == linked.ig_user_id);
        let name = match held {
            Some((holder, _)) => holder.clone(),
            None => {
                if let Some((_, other)) = holders.iter().find(|(holder, _)| *holder == name) {
                    let target = keryx_core::target::label(PLATFORM, &name);
                    notes.push(format!(
                        "@{} is not stored: {target} already holds another Instagram account ({other}); to replace it, run `{} --remove`, then `keryx auth instagram` again",
                        linked.username,
                        keryx_core::target::auth_command(PLATFORM, &name)
                    ));
                    continue;
                }
                name
            }
        };
        let account = ctx.for_account(&name);
        save(&account, grant.token_set(linked))?;
        let target = keryx_core::target::label(PLATFORM, &name);
        let kept = match held {
            Some(_) => ", stored there already: token renewed",
            None => "",
        };
        notes.push(format!(
            "@{} → {target} (Instagram account {}, Page \"{}\"{kept})",
            linked.username, linked.ig_user_id, linked.page_name
        ));
        stored.push(format!("@{}", linked.username));
    }
    if stored.is_empty() {
        return Err(Error::input(
            "none of the linked Instagram accounts was stored: their account names hold other Instagram accounts",
        )
        .with_hint(notes.join("; ")));
    }
    notes.push(
        "`keryx post all` posts to each; `keryx post instagram:<account>` to one; `keryx auth instagram --account <account>` re-authorises one".into(),
    );
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account: stored.join(", "),
        notes,
    })
}

/// Every account of the platform that holds a token, with its Instagram account id.
fn holders(ctx: &Context) -> Vec<(String, String)> {
    ctx.config
        .accounts(PLATFORM)
        .into_iter()
        .filter_map(|account| {
            let set = ctx.for_account(&account).tokens(PLATFORM).load().ok()??;
            Some((account, set.subject?))
        })
        .collect()
}

/// The keryx account name of each linked account: its username lowercased, `.` and `_` as
/// `-` (account names are lowercase letters, digits and `-`); a name two usernames share
/// (`a.b`, `a_b`) gets the end of the Instagram account id on the second.
pub fn account_names(accounts: &[Linked]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for linked in accounts {
        let mut name = account_name(&linked.username, &linked.ig_user_id);
        if names.contains(&name) {
            let id = &linked.ig_user_id;
            let tail = &id[id.len().saturating_sub(6)..];
            name = format!("{}-{tail}", &name[..name.len().min(33)]);
        }
        names.push(name);
    }
    names
}

/// `username` as an account name (see [`account_names`]); the id when nothing is left.
pub fn account_name(username: &str, ig_user_id: &str) -> String {
    let name: String = username
        .chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            '.' | '_' => Some('-'),
            _ => None,
        })
        .collect();
    let name = name.trim_start_matches('-');
    let name = &name[..name.len().min(40)];
    match name.is_empty() {
        true => format!("ig-{}", &ig_user_id[..ig_user_id.len().min(37)]),
        false => name.to_string(),
    }
}

/// `--instagram-token`: checked with one call (who the account is) before it is stored.
async fn supplied(
    ctx: &Context,
    config: &InstagramConfig,
    token: &str,
    id: &str,
) -> Result<AuthReport> {
    let id = id.trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::input(format!("--instagram-ig-user-id `{id}` is not an Instagram account id"))
            .with_hint("it is a number such as 17841400000000001: Graph API Explorer shows it as instagram_business_account of your Page"));
    }
    let token = Secret::new(token.trim());
    if token.is_empty() {
        return Err(Error::input("--instagram-token is empty").with_hint("pass the access token"));
    }
    let username = username(ctx, config, &token, id).await?;
    let mut extra = serde_json::Map::new();
    extra.insert("kind".into(), "supplied".into());
    extra.insert("ig_user_id".into(), id.into());
    let set = TokenSet {
        refresh_token: token.clone(),
        refresh_expires_at: None,
        access_token: Some(token),
        access_expires_at: None,
        account: Some(username.clone()),
        subject: Some(id.to_string()),
        scopes: Vec::new(),
        extra,
    };
    save(ctx, set)?;
    Ok(AuthReport {
        platform: PLATFORM.into(),
        account: username,
        notes: vec!["the token is stored as given: when Meta stops accepting it, run `keryx auth instagram` again".into()],
    })
}

fn save(ctx: &Context, set: TokenSet) -> Result<()> {
    ctx.tokens(PLATFORM).save_new(&set)?;
    ctx.enable(PLATFORM)
}

/// A free loopback port, for `redirect_port: 0` (the emulator registers any port).
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::input("cannot find a free loopback port").with_source(e))
}

/// One authorised GET with a token of the auth flow (no session yet: nothing is stored).
async fn get(
    ctx: &Context,
    url: &str,
    what: &str,
    query: &[(&str, &str)],
    token: &Secret,
) -> Result<serde_json::Value> {
    let reply = exchange(
        &Policy::from_env(),
        "Meta's Graph API",
        || ctx.http.get(url).query(query).bearer_auth(token.expose()),
        |reply| match classify(what, reply) {
            Verdict::TokenInvalid(e) => Verdict::Failed(e),
            other => other,
        },
    )
    .await?;
    decode(&reply.body, what)
}

async fn granted_scopes(
    ctx: &Context,
    config: &InstagramConfig,
    token: &Secret,
) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct Grant {
        permission: String,
        status: String,
    }
    #[derive(Deserialize)]
    struct Grants {
        data: Vec<Grant>,
    }
    let value = get(
        ctx,
        &config.graph("/me/permissions"),
        "the granted permissions",
        &[],
        token,
    )
    .await?;
    let grants: Grants = serde_json::from_value(value).map_err(|e| {
        Error::platform("Meta's permissions reply is not what keryx expects").with_source(e)
    })?;
    Ok(grants
        .data
        .into_iter()
        .filter(|g| g.status == "granted")
        .map(|g| g.permission)
        .collect())
}

/// Every Page of `/me/accounts` (following `paging.next`): the linked Instagram accounts, and
/// the names of Pages without one.
async fn linked_accounts(
    ctx: &Context,
    config: &InstagramConfig,
    user: &Secret,
) -> Result<(Vec<Linked>, Vec<String>)> {
    #[derive(Deserialize)]
    struct Ig {
        id: String,
    }
    #[derive(Deserialize)]
    struct Page {
        id: String,
        #[serde(default)]
        name: String,
        access_token: Option<String>,
        instagram_business_account: Option<Ig>,
    }
    #[derive(Deserialize)]
    struct Paging {
        next: Option<String>,
    }
    #[derive(Deserialize)]
    struct Pages {
        data: Vec<Page>,
        paging: Option<Paging>,
    }
    let mut url = config.graph("/me/accounts");
    let mut query = vec![("fields", "id,name,access_token,instagram_business_account")];
    let (mut linked, mut unlinked) = (Vec::new(), Vec::new());
    // Bounded: a Graph paging loop that never ends would be Meta's bug, not a reason to hang.
    for _ in 0..50 {
        let value = get(ctx, &url, "the list of Pages", &query, user).await?;
        let pages: Pages = serde_json::from_value(value).map_err(|e| {
            Error::platform("Meta's Pages reply is not what keryx expects").with_source(e)
        })?;
        for page in pages.data {
            match (page.instagram_business_account, page.access_token) {
                (Some(ig), Some(token)) => {
                    let token = Secret::new(token);
                    let username = username(ctx, config, &token, &ig.id).await?;
                    linked.push(Linked {
                        page_id: page.id,
                        page_name: page.name,
                        page_token: token,
                        ig_user_id: ig.id,
                        username,
                    });
                }
                _ => unlinked.push(page.name),
            }
        }
        match pages.paging.and_then(|p| p.next) {
            Some(next) => {
                url = next;
                query = Vec::new();
            }
            None => break,
        }
    }
    Ok((linked, unlinked))
}

async fn username(
    ctx: &Context,
    config: &InstagramConfig,
    token: &Secret,
    ig: &str,
) -> Result<String> {
    #[derive(Deserialize)]
    struct User {
        username: Option<String>,
    }
    let value = get(
        ctx,
        &config.graph(&format!("/{ig}")),
        "the Instagram account",
        &[("fields", "id,username")],
        token,
    )
    .await?;
    let user: User = serde_json::from_value(value).map_err(|e| {
        Error::platform("Meta's account reply is not what keryx expects").with_source(e)
    })?;
    Ok(user.username.unwrap_or_else(|| ig.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linked(username: &str, id: &str) -> Linked {
        Linked {
            page_id: "1".into(),
            page_name: "Page".into(),
            page_token: Secret::new("t"),
            ig_user_id: id.into(),
            username: username.into(),
        }
    }

    #[test]
    fn usernames_become_account_names() {
        assert_eq!(account_name("keryx.demo", "1"), "keryx-demo");
        assert_eq!(account_name("Studio_Reels.2", "1"), "studio-reels-2");
        assert_eq!(account_name("_hidden", "1"), "hidden");
        assert_eq!(
            account_name("", "17841400000000001"),
            "ig-17841400000000001"
        );
        assert_eq!(account_name(&"a".repeat(45), "1").len(), 40);
        let names = account_names(&[
            linked("a.b", "17841400000000001"),
            linked("a_b", "17841400000000002"),
        ]);
        assert_eq!(names, ["a-b", "a-b-000002"]);
    }
}
