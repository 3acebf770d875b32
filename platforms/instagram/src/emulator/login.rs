//! The Facebook Login dialog, `oauth/access_token` (code exchange and `fb_exchange_token`),
//! `/me`, `/me/accounts` and `/me/permissions` (reference §1.3, §1.4, §6.2-§6.9).

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{
    APP_ID, APP_SECRET, App, Code, Inner, LONG_LIVED_SECS, PAGES, SHORT_LIVED_SECS, Token,
    TokenKind, USER_ID, graph_error, html_page, query_params,
};

/// Every scope the emulated app may ask for (reference §1.1).
const KNOWN_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "pages_read_engagement",
    "pages_show_list",
    "business_management",
    "pages_manage_posts",
    "ads_management",
    "ads_read",
    "public_profile",
];

/// Does `uri` equal a registration, where a `*` registration port stands for any port?
pub(crate) fn registered(registrations: &[String], uri: &str) -> bool {
    registrations.iter().any(|reg| match reg.split_once('*') {
        None => reg == uri,
        Some((before, after)) => uri
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
            .is_some_and(|port| {
                !port.is_empty()
                    && !port.starts_with('0')
                    && port.len() <= 5
                    && port.bytes().all(|b| b.is_ascii_digit())
            }),
    })
}

fn random(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

/// `GET /www.facebook.com/{v}/dialog/oauth`: the signed-in user approves at once (or cancels).
pub(crate) async fn dialog(
    State(app): State<App>,
    Path(v): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query.as_deref());
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let mut inner = app.lock();
    inner.counters.dialog_requests += 1;
    if !crate::config::is_version(&v) {
        return html_page(
            StatusCode::NOT_FOUND,
            "Sorry, this content isn't available right now",
            "unknown path",
        );
    }
    if get("client_id") != APP_ID {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Invalid App ID",
            "The provided app ID does not look like a valid app ID.",
        );
    }
    let redirect_uri = get("redirect_uri").to_string();
    let Ok(parsed) = url::Url::parse(&redirect_uri) else {
        return html_page(
            StatusCode::BAD_REQUEST,
            "URL Blocked",
            "This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings.",
        );
    };
    if !registered(&inner.settings.redirect_uris, &redirect_uri) {
        return html_page(
            StatusCode::BAD_REQUEST,
            "URL Blocked",
            "This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all your app domains as Valid OAuth Redirect URIs.",
        );
    }
    if parsed.scheme() == "http"
        && !(parsed.host_str() == Some("localhost") && inner.settings.dev_mode)
    {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Insecure Login Blocked",
            "You can't get an access token or log in to this app from an insecure page. Try re-loading the page as https://",
        );
    }
    let response_type = get("response_type");
    if !matches!(response_type, "code" | "token") {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Error",
            "response_type must be code or token",
        );
    }
    let requested: Vec<String> = if !get("config_id").is_empty() {
        KNOWN_SCOPES[..5].iter().map(|s| s.to_string()).collect()
    } else {
        get("scope")
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    if let Some(unknown) = requested
        .iter()
        .find(|s| !KNOWN_SCOPES.contains(&s.as_str()))
    {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Invalid Scopes",
            &format!("Invalid Scopes: {unknown}."),
        );
    }
    let state = get("state").to_string();
    let mut location = parsed.clone();
    if inner.settings.deny {
        location
            .query_pairs_mut()
            .append_pair("error_reason", "user_denied")
            .append_pair("error", "access_denied")
            .append_pair("error_description", "Permissions error")
            .append_pair("state", &state);
        return found(location.to_string());
    }
    let declined = inner.settings.decline_scopes.clone();
    let granted: Vec<String> = requested
        .into_iter()
        .filter(|s| !declined.contains(s))
        .collect();
    let removed = &inner.settings.removed_pages;
    let pages: Vec<&'static str> = inner
        .settings
        .select_pages
        .iter()
        .copied()
        .filter(|p| !removed.contains(p))
        .collect();
    let now = inner.now();
    if response_type == "token" {
        let short = random("EAAS");
        let long = random("EAAL");
        inner.tokens.insert(
            short.clone(),
            Token {
                kind: TokenKind::User,
                scopes: granted.clone(),
                expires_at: Some(now + SHORT_LIVED_SECS),
                long_lived: false,
                pages: pages.clone(),
                revoked: false,
            },
        );
        inner.tokens.insert(
            long.clone(),
            Token {
                kind: TokenKind::User,
                scopes: granted,
                expires_at: Some(now + LONG_LIVED_SECS),
                long_lived: true,
                pages,
                revoked: false,
            },
        );
        let fragment = format!(
            "access_token={short}&data_access_expiration_time={}&expires_in={SHORT_LIVED_SECS}&long_lived_token={long}&state={state}",
            now + 90 * 86400
        );
        return found(format!("{redirect_uri}?#{fragment}"));
    }
    let code = random("AQ");
    inner.codes.insert(
        code.clone(),
        Code {
            redirect_uri: redirect_uri.clone(),
            scopes: granted,
            issued_at: now,
            pages,
        },
    );
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    let suffix = inner.settings.redirect_suffix.clone();
    found(format!("{location}{suffix}"))
}

fn found(location: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// `GET|POST /{v}/oauth/access_token`: a code exchange, or `grant_type=fb_exchange_token`.
pub(crate) fn access_token(inner: &mut Inner, params: &HashMap<String, String>) -> Response {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    inner.counters.token_exchanges += 1;
    if get("client_id") != APP_ID {
        return graph_error(
            400,
            101,
            None,
            "Error validating application. Invalid application ID.",
            false,
        );
    }
    if get("client_secret") != APP_SECRET {
        return graph_error(400, 1, None, "Error validating client secret.", false);
    }
    let now = inner.now();
    if get("grant_type") == "fb_exchange_token" {
        let old = get("fb_exchange_token");
        let (scopes, pages) = match user_token(inner, old) {
            Ok(token) => (token.scopes, token.pages),
            Err(response) => return response,
        };
        let long = random("EAAL");
        inner.tokens.insert(
            long.clone(),
            Token {
                kind: TokenKind::User,
                scopes,
                expires_at: Some(now + LONG_LIVED_SECS),
                long_lived: true,
                pages,
                revoked: false,
            },
        );
        return axum::Json(
            json!({"access_token": long, "token_type": "bearer", "expires_in": LONG_LIVED_SECS}),
        )
        .into_response();
    }
    if !get("grant_type").is_empty() {
        return graph_error(400, 100, None, "Unsupported grant_type", false);
    }
    // Single use: gone whatever happens next.
    let Some(code) = inner.codes.remove(get("code")) else {
        return graph_error(
            400,
            100,
            Some(36009),
            "This authorization code has been used or is invalid.",
            false,
        );
    };
    if now - code.issued_at > 3600 {
        return graph_error(
            400,
            100,
            Some(36007),
            "This authorization code has expired.",
            false,
        );
    }
    if code.redirect_uri != get("redirect_uri") {
        return graph_error(
            400,
            100,
            Some(36008),
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            false,
        );
    }
    inner.counters.codes_exchanged += 1;
    let short = random("EAAS");
    inner.tokens.insert(
        short.clone(),
        Token {
            kind: TokenKind::User,
            scopes: code.scopes,
            expires_at: Some(now + SHORT_LIVED_SECS),
            long_lived: false,
            pages: code.pages,
            revoked: false,
        },
    );
    axum::Json(
        json!({"access_token": short, "token_type": "bearer", "expires_in": SHORT_LIVED_SECS}),
    )
    .into_response()
}

/// The token as it stands now, or the 190 the Graph API answers (reference §6.2).
pub(crate) fn check_token(inner: &Inner, token: Option<&str>) -> Result<Token, Response> {
    let invalid = || {
        graph_error(
            400,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
            false,
        )
    };
    let token = token.ok_or_else(|| {
        graph_error(
            400,
            104,
            None,
            "An access token is required to request this resource.",
            false,
        )
    })?;
    let Some(found) = inner.tokens.get(token) else {
        return Err(invalid());
    };
    if inner.settings.invalidated || found.revoked {
        return Err(graph_error(
            400,
            190,
            Some(460),
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
            false,
        ));
    }
    if found.expires_at.is_some_and(|at| at <= inner.now()) {
        return Err(graph_error(
            400,
            190,
            Some(463),
            "Error validating access token: Session has expired.",
            false,
        ));
    }
    Ok(found.clone())
}

fn user_token(inner: &Inner, token: &str) -> Result<Token, Response> {
    let found = check_token(inner, Some(token))?;
    if found.kind != TokenKind::User {
        return Err(graph_error(
            400,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
            false,
        ));
    }
    Ok(found)
}

pub(crate) fn missing_scope(inner: &Inner, token: &Token, scope: &str) -> Option<Response> {
    let revoked = inner.settings.publish_revoked && scope == "instagram_content_publish";
    (revoked || !token.scopes.iter().any(|s| s == scope)).then(|| {
        graph_error(
            inner.settings.permission_status,
            10,
            None,
            &format!("(#10) Requires {scope} permission to manage the object"),
            false,
        )
    })
}

/// The Pages `token` lets its user see: those shared on the dialog (and still theirs), the
/// business-owned ones only with `business_management`.
pub(crate) fn visible_pages(token: &Token) -> Vec<&'static super::Page> {
    let business = token.scopes.iter().any(|s| s == "business_management");
    PAGES
        .iter()
        .filter(|p| token.pages.contains(&p.id))
        .filter(|p| !p.business_owned || business)
        .collect()
}

/// The Instagram accounts `token` may act for.
pub(crate) fn accounts_of(token: &Token) -> Vec<&'static str> {
    match &token.kind {
        TokenKind::User => visible_pages(token)
            .iter()
            .filter_map(|p| p.ig.map(|ig| ig.0))
            .collect(),
        TokenKind::Page(page) => PAGES
            .iter()
            .filter(|p| p.id == page)
            .filter_map(|p| p.ig.map(|ig| ig.0))
            .collect(),
    }
}

const PAGE_SIZE: usize = 2;

/// `GET /me/accounts`, two Pages per page of results, `paging.next` to follow.
pub(crate) fn accounts(
    inner: &mut Inner,
    token: &Token,
    params: &HashMap<String, String>,
    base: &str,
    v: &str,
) -> Response {
    if token.kind != TokenKind::User {
        return graph_error(
            400,
            100,
            None,
            "(#100) Tried accessing nonexisting field (accounts) on node type (Page)",
            false,
        );
    }
    if let Some(refused) = missing_scope(inner, token, "pages_show_list") {
        return refused;
    }
    let fields: Vec<&str> = params
        .get("fields")
        .map(|f| f.split(',').collect())
        .unwrap_or_else(|| vec!["id", "name"]);
    let after: usize = params
        .get("after")
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let pages = visible_pages(token);
    let mut data = Vec::new();
    for page in pages.iter().skip(after).take(PAGE_SIZE) {
        let mut entry = json!({"id": page.id});
        if fields.contains(&"name") {
            entry["name"] = page.name.into();
        }
        if fields.contains(&"access_token") {
            entry["access_token"] = page_token(inner, token, page.id).into();
        }
        if fields.contains(&"instagram_business_account")
            && let Some((ig, _)) = page.ig
        {
            entry["instagram_business_account"] = json!({"id": ig});
        }
        data.push(entry);
    }
    let mut paging = json!({"cursors": {"before": after.to_string(), "after": (after + data.len()).to_string()}});
    if after + PAGE_SIZE < pages.len() {
        let mut next =
            url::Url::parse(&format!("{base}/graph.facebook.com/{v}/me/accounts")).expect("a URL");
        next.query_pairs_mut()
            .append_pair("fields", &fields.join(","))
            .append_pair("limit", &PAGE_SIZE.to_string())
            .append_pair("after", &(after + PAGE_SIZE).to_string());
        paging["next"] = next.to_string().into();
    }
    axum::Json(json!({"data": data, "paging": paging})).into_response()
}

/// A Page token for `page`: no expiry when the user token is long-lived (reference §1.1).
pub(crate) fn page_token(inner: &mut Inner, user: &Token, page: &'static str) -> String {
    let token = random("EAAP");
    let expires_at = if user.long_lived {
        None
    } else {
        user.expires_at
    };
    inner.tokens.insert(
        token.clone(),
        Token {
            kind: TokenKind::Page(page.to_string()),
            scopes: user.scopes.clone(),
            expires_at,
            long_lived: user.long_lived,
            pages: vec![page],
            revoked: false,
        },
    );
    token
}

pub(crate) fn permissions(token: &Token) -> Response {
    let data: Vec<serde_json::Value> = KNOWN_SCOPES[..5]
        .iter()
        .map(|s| json!({"permission": s, "status": if token.scopes.iter().any(|g| g == s) {"granted"} else {"declined"}}))
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

pub(crate) fn me(token: &Token) -> Response {
    match &token.kind {
        TokenKind::User => {
            axum::Json(json!({"id": USER_ID, "name": "Keryx Demo User"})).into_response()
        }
        TokenKind::Page(page) => {
            let name = PAGES
                .iter()
                .find(|p| p.id == page)
                .map(|p| p.name)
                .unwrap_or_default();
            axum::Json(json!({"id": page, "name": name})).into_response()
        }
    }
}
