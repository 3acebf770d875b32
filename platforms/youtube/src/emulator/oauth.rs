//! Google's OAuth 2.0 endpoints for an installed (Desktop) client: the consent page, the token
//! endpoint and revocation (reference §1, §2, §9.1-§9.3).

use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::state::{AccessToken, Challenge, CodeGrant, RefreshToken, State, after, random_b64};
use super::wire::{Params, error_page, json_reply, oauth_error};
use super::{App, CLIENT_ID, CLIENT_SECRET};

/// Scope URLs Google knows for YouTube (reference §1.2). Anything else is `invalid_scope`.
/// (`openid`/`email`/`profile` are not offered: the emulator issues no id_token.)
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/youtube",
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/youtube.force-ssl",
    "https://www.googleapis.com/auth/youtubepartner",
    "https://www.googleapis.com/auth/youtubepartner-channel-audit",
    "https://www.googleapis.com/auth/youtube.channel-memberships.creator",
];

/// The out-of-band redirect URIs, blocked for all clients since 2023-01-31 (reference §1.6).
const OOB_URIS: &[&str] = &[
    "urn:ietf:wg:oauth:2.0:oob",
    "urn:ietf:wg:oauth:2.0:oob:auto",
    "oob",
];

/// RFC 7636 §4.1: unreserved characters, 43 to 128 of them (reference §1.3).
fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// A Desktop client accepts only `http` loopback redirects on any port (reference §1.4, §9.1).
fn is_loopback_redirect(uri: &str) -> bool {
    // The URL parser silently drops tabs and newlines; a URI carrying them (or spaces or other
    // control characters) is not the one the app listens on, so it is refused outright.
    if uri.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return false;
    }
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    let host_ok = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    };
    url.scheme() == "http"
        && host_ok
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => error_page(
            "invalid_request",
            "The redirect URI cannot be used in a Location header.",
            &[],
        ),
    }
}

/// `redirect_uri` with `pairs` appended to its query, form-encoded (a `/` in the code arrives
/// as `%2F`, reference §1.5).
fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            "redirect_uri_mismatch",
            "The redirect URI is not a valid URL.",
            &[],
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            query.append_pair(key, value);
        }
    }
    redirect(url.as_str())
}

/// `GET /o/oauth2/v2/auth`: checks the request as Google does, then auto-approves as the
/// `browser_user` account (reference §9.1). Client and redirect errors stay on Google's page; the app never
/// hears back (§1.5).
pub(crate) async fn authorize(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let mut st = app.lock();
    st.counters.authorize_requests += 1;
    let response = authorize_checked(&mut st, &params);
    st.persist();
    response
}

fn authorize_checked(st: &mut State, params: &Params) -> Response {
    let page = |error: &str, description: &str| {
        let details: Vec<(&str, &str)> = ["response_type", "client_id", "redirect_uri", "scope"]
            .iter()
            .filter_map(|k| params.get(k).map(|v| (*k, v)))
            .collect();
        error_page(error, description, &details)
    };
    if let Some(key) = params.duplicate() {
        return page(
            "invalid_request",
            &format!("Parameter sent more than once: {key}"),
        );
    }
    match params.get("client_id") {
        None | Some("") => return page("invalid_request", "Missing required parameter: client_id"),
        Some(id) if id != CLIENT_ID => {
            return page("invalid_client", "The OAuth client was not found.");
        }
        Some(_) => {}
    }
    let redirect_uri = match params.get("redirect_uri") {
        None | Some("") => {
            return page(
                "invalid_request",
                "Missing required parameter: redirect_uri",
            );
        }
        Some(uri) if OOB_URIS.contains(&uri) => {
            return page(
                "invalid_request",
                "The out-of-band (OOB) flow has been blocked in order to keep users secure. Follow the Out-of-Band (OOB) flow migration guide linked in the developer docs below to migrate your app to an alternative method.",
            );
        }
        Some(uri) if !is_loopback_redirect(uri) => {
            return page(
                "redirect_uri_mismatch",
                "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. A Desktop app accepts only http loopback redirect URIs (127.0.0.1, [::1] or localhost, any port).",
            );
        }
        Some(uri) => uri.to_string(),
    };
    match params.get("response_type") {
        None => {
            return page(
                "invalid_request",
                "Required parameter is missing: response_type",
            );
        }
        Some("code") => {}
        Some(other) => {
            return page(
                "unsupported_response_type",
                &format!("Invalid response_type: {other}"),
            );
        }
    }
    let requested: Vec<String> = params
        .get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if requested.is_empty() {
        return page("invalid_request", "Missing required parameter: scope");
    }
    let (valid, invalid): (Vec<&String>, Vec<&String>) = requested
        .iter()
        .partition(|s| KNOWN_SCOPES.contains(&s.as_str()));
    if !invalid.is_empty() {
        let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        return page(
            "invalid_scope",
            &format!(
                "Some requested scopes were invalid. {{valid=[{}], invalid=[{}]}}",
                list(&valid),
                list(&invalid)
            ),
        );
    }
    let challenge = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) => None,
        (None, Some(_)) => return page("invalid_request", "Missing code_challenge."),
        // Without a method, `plain` is assumed (reference §1.2).
        (Some(value), method) => {
            let method = method.unwrap_or("plain");
            let valid = match method {
                // base64url of 32 bytes, no padding: exactly 43 characters (reference §1.3).
                "S256" => {
                    value.len() == 43 && URL_SAFE_NO_PAD.decode(value).is_ok_and(|b| b.len() == 32)
                }
                "plain" => is_pkce_string(value),
                _ => {
                    return page(
                        "invalid_request",
                        &format!("Invalid code_challenge_method: {method}"),
                    );
                }
            };
            if !valid {
                return page("invalid_request", "Invalid code_challenge.");
            }
            Some(Challenge {
                method: method.to_string(),
                value: value.to_string(),
            })
        }
    };
    let prompt: Vec<&str> = params
        .get("prompt")
        .map(|p| p.split(' ').collect())
        .unwrap_or_default();
    if prompt
        .iter()
        .any(|p| !["none", "consent", "select_account"].contains(p))
    {
        return page(
            "invalid_request",
            &format!("Invalid prompt: {}", params.get("prompt").unwrap_or("")),
        );
    }
    if prompt.contains(&"none") && prompt.len() > 1 {
        return page(
            "invalid_request",
            "prompt=none must not be combined with other values.",
        );
    }
    if let Some(access_type) = params
        .get("access_type")
        .filter(|a| !["online", "offline"].contains(a))
    {
        return page(
            "invalid_request",
            &format!("Invalid access_type: {access_type}"),
        );
    }
    if let Some(value) = params
        .get("include_granted_scopes")
        .filter(|v| !["true", "false"].contains(v))
    {
        return page(
            "invalid_request",
            &format!("Invalid include_granted_scopes: {value}"),
        );
    }

    // The request is valid: from here on, answers go back to the app.
    let state_param = params.get("state");
    let with_state = |mut pairs: Vec<(&'static str, String)>| {
        if let Some(state) = state_param {
            pairs.insert(0, ("state", state.to_string()));
        }
        pairs
    };
    let send = |pairs: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect_with(&redirect_uri, &pairs)
    };
    if st.settings.deny_authorization {
        return send(with_state(vec![("error", "access_denied".to_string())]));
    }
    // The account the user signs in as (the `browser_user` knob): consent is theirs alone.
    let user = st.settings.browser_user.clone();
    let consented = st.store.consents.contains_key(&user);
    let consent_shown = prompt.contains(&"consent") || !consented;
    if prompt.contains(&"none") && !consented {
        // No UI allowed and nothing granted yet (OpenID Connect `consent_required`).
        return send(with_state(vec![("error", "consent_required".to_string())]));
    }
    let mut granted: Vec<String> = requested
        .into_iter()
        .filter(|s| !st.settings.untick_scopes.contains(s))
        .collect();
    if granted.is_empty() {
        return send(with_state(vec![("error", "access_denied".to_string())]));
    }
    let consent = st.store.consents.entry(user.clone()).or_default();
    if params.get("include_granted_scopes") == Some("true") {
        for scope in &consent.granted_scopes {
            if !granted.contains(scope) {
                granted.push(scope.clone());
            }
        }
    }
    for scope in &granted {
        if !consent.granted_scopes.contains(scope) {
            consent.granted_scopes.push(scope.clone());
        }
    }
    // Google's codes start `4/0A` and contain a `/` (reference §1.5).
    let code = format!("4/0A{}", random_b64(54));
    let now = st.now();
    st.store.codes.retain(|_, c| c.expires_at > now);
    st.store.codes.insert(
        code.clone(),
        CodeGrant {
            user,
            client_id: CLIENT_ID.to_string(),
            redirect_uri: redirect_uri.clone(),
            scopes: granted.clone(),
            challenge,
            expires_at: after(now, st.settings.code_ttl),
            issue_refresh_token: consent_shown || !st.settings.omit_refresh_token_on_repeat_consent,
        },
    );
    let prompt_shown = if consent_shown { "consent" } else { "none" };
    send(with_state(vec![
        ("code", code),
        ("scope", granted.join(" ")),
        ("authuser", "0".to_string()),
        ("prompt", prompt_shown.to_string()),
    ]))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// HTTP Basic client credentials (RFC 6749 §2.3.1: form-encoded, then base64).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// `POST /token` (reference §2, §9.2).
pub(crate) async fn token(
    AxumState(app): AxumState<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = app.lock();
    st.counters.token_requests += 1;
    let response = token_checked(&mut st, &headers, &body);
    st.persist();
    response
}

fn token_checked(st: &mut State, headers: &HeaderMap, body: &[u8]) -> Response {
    // The documented encoding only (reference §9.2, first bullet).
    if !is_form(headers) {
        return oauth_error(
            400,
            "invalid_request",
            "Invalid Content-Type: the body must be application/x-www-form-urlencoded.",
        );
    }
    let params = Params::parse(body);
    if let Some(key) = params.duplicate() {
        return oauth_error(
            400,
            "invalid_request",
            &format!("Parameter sent more than once: {key}"),
        );
    }
    // Client authentication: in the body (normal) or as HTTP Basic (reference §2), not both
    // (RFC 6749 §2.3: a client must not use more than one method).
    let basic = basic_credentials(headers);
    if basic.is_some() && params.has("client_secret") {
        return oauth_error(
            400,
            "invalid_request",
            "Client credentials were sent both in the body and in the Authorization header.",
        );
    }
    let (client_id, client_secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (
            params.get("client_id").map(str::to_string),
            params.get("client_secret").map(str::to_string),
        ),
    };
    match client_id.as_deref() {
        None | Some("") => {
            return oauth_error(
                400,
                "invalid_request",
                "Could not determine client ID from request.",
            );
        }
        Some(id) if id != CLIENT_ID => {
            return oauth_error(401, "invalid_client", "The OAuth client was not found.");
        }
        Some(_) => {}
    }
    // Desktop clients must send the secret even with PKCE (reference §2.1, fact 1).
    match client_secret.as_deref() {
        None | Some("") => return oauth_error(400, "invalid_request", "client_secret is missing."),
        Some(secret) if secret != CLIENT_SECRET => {
            return oauth_error(401, "invalid_client", "Unauthorized");
        }
        Some(_) => {}
    }
    match params.get("grant_type") {
        None | Some("") => oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: grant_type",
        ),
        Some("authorization_code") => exchange_code(st, &params),
        Some("refresh_token") => refresh(st, &params),
        Some(other) => oauth_error(
            400,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
    }
}

fn exchange_code(st: &mut State, params: &Params) -> Response {
    let Some(code) = params.get("code").filter(|c| !c.is_empty()) else {
        return oauth_error(400, "invalid_request", "Missing required parameter: code");
    };
    let now = st.now();
    let Some(grant) = st
        .store
        .codes
        .get(code)
        .filter(|g| g.expires_at > now && g.client_id == CLIENT_ID)
        .cloned()
    else {
        // A code still percent-encoded (`4%2F0A...`) or cut short is "malformed" (reference §2.4).
        if !code.starts_with("4/") || code.contains('%') || code.len() > 256 {
            return oauth_error(400, "invalid_grant", "Malformed auth code.");
        }
        return oauth_error(400, "invalid_grant", "Bad Request");
    };
    match params.get("redirect_uri") {
        None => {
            return oauth_error(
                400,
                "invalid_request",
                "Missing required parameter: redirect_uri",
            );
        }
        // Byte for byte the authorize request's value (reference §2.1).
        Some(uri) if uri != grant.redirect_uri => {
            return oauth_error(400, "redirect_uri_mismatch", "Bad Request");
        }
        Some(_) => {}
    }
    match (&grant.challenge, params.get("code_verifier")) {
        (None, None) => {}
        (Some(_), None) => return oauth_error(400, "invalid_grant", "Missing code verifier."),
        (None, Some(_)) => {
            return oauth_error(
                400,
                "invalid_grant",
                "code_verifier or verifier is not needed.",
            );
        }
        (Some(challenge), Some(verifier)) => {
            let matches = is_pkce_string(verifier)
                && match challenge.method.as_str() {
                    "S256" => {
                        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
                            == challenge.value
                    }
                    _ => verifier == challenge.value,
                };
            if !matches {
                return oauth_error(400, "invalid_grant", "Invalid code verifier.");
            }
        }
    }
    // Single use: spent only by a successful exchange, so a client can correct a request that
    // was refused before the code was accepted (Google's exact behaviour there is unverified).
    st.store.codes.remove(code);
    let refresh_token = if grant.issue_refresh_token {
        Some(mint_refresh_token(st, &grant.user, &grant.scopes, None))
    } else {
        None
    };
    let (access_token, expires_in) =
        mint_access_token(st, &grant.user, &grant.scopes, refresh_token.clone());
    let mut body = json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "scope": grant.scopes.join(" "),
        "token_type": "Bearer",
    });
    if let Some(refresh_token) = refresh_token {
        if let Some(expires_at) = st
            .store
            .refresh_tokens
            .get(&refresh_token)
            .and_then(|t| t.expires_at)
        {
            body["refresh_token_expires_in"] = json!(expires_at.saturating_sub(st.now()));
        }
        body["refresh_token"] = json!(refresh_token);
    }
    token_reply(&body)
}

fn refresh(st: &mut State, params: &Params) -> Response {
    st.counters.refresh_requests += 1;
    let Some(token) = params.get("refresh_token").filter(|t| !t.is_empty()) else {
        return oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: refresh_token",
        );
    };
    let now = st.now();
    let Some(record) = st
        .store
        .refresh_tokens
        .get(token)
        .filter(|t| t.expires_at.is_none_or(|at| now < at))
        .cloned()
    else {
        return oauth_error(400, "invalid_grant", "Token has been expired or revoked.");
    };
    // An optional `scope` may narrow, never widen, the grant (RFC 6749 §6).
    let scopes: Vec<String> = match params.get("scope") {
        Some(scope) => {
            let asked: Vec<String> = scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if asked.is_empty() || asked.iter().any(|s| !record.scopes.contains(s)) {
                return oauth_error(
                    400,
                    "invalid_scope",
                    "Some requested scopes were not granted.",
                );
            }
            asked
        }
        None => record.scopes.clone(),
    };
    // Google does not rotate by default (reference §2.3); the knob does, killing the old token.
    let current = if st.settings.rotate_refresh_tokens {
        st.store.refresh_tokens.remove(token);
        Some(mint_refresh_token(
            st,
            &record.user,
            &record.scopes,
            record.expires_at,
        ))
    } else {
        None
    };
    let family = current.clone().unwrap_or_else(|| token.to_string());
    let (access_token, expires_in) = mint_access_token(st, &record.user, &scopes, Some(family));
    let mut body = json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "scope": scopes.join(" "),
        "token_type": "Bearer",
    });
    if let Some(expires_at) = record.expires_at {
        body["refresh_token_expires_in"] = json!(expires_at.saturating_sub(now));
    }
    if let Some(new_token) = current {
        body["refresh_token"] = json!(new_token);
    }
    token_reply(&body)
}

fn token_reply(body: &serde_json::Value) -> Response {
    let mut response = json_reply(200, body);
    super::wire::no_store(&mut response);
    response
}

/// A new refresh token `1//...` of `user` (reference §2.3). At most `max_refresh_tokens` live
/// per account and client: the account's oldest silently dies (reference §2.4). `expires_at`
/// carries a rotated token's deadline over; a new consent in Testing mode gets 7 days.
fn mint_refresh_token(
    st: &mut State,
    user: &str,
    scopes: &[String],
    expires_at: Option<i64>,
) -> String {
    let now = st.now();
    st.store
        .refresh_tokens
        .retain(|_, t| t.expires_at.is_none_or(|at| now < at));
    while st.live_refresh_tokens(Some(user)) >= st.settings.max_refresh_tokens {
        let oldest = st
            .store
            .refresh_tokens
            .iter()
            .filter(|(_, t)| t.user == user)
            .min_by_key(|(_, t)| t.seq)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(key) => st.store.refresh_tokens.remove(&key),
            None => break,
        };
    }
    let token = format!("1//0{}", random_b64(75));
    let expires_at = expires_at.or_else(|| {
        st.settings
            .testing_mode
            .then_some(after(now, super::state::TESTING_REFRESH_LIFETIME))
    });
    let seq = st.next_seq();
    st.store.refresh_tokens.insert(
        token.clone(),
        RefreshToken {
            user: user.to_string(),
            seq,
            scopes: scopes.to_vec(),
            expires_at,
        },
    );
    token
}

/// A new access token `ya29....` that really expires (reference §9.2, last bullet).
fn mint_access_token(
    st: &mut State,
    user: &str,
    scopes: &[String],
    refresh_token: Option<String>,
) -> (String, u64) {
    let now = st.now();
    st.store.access_tokens.retain(|_, t| now < t.expires_at);
    let lifetime = st.settings.access_token_lifetime;
    let token = format!("ya29.a0{}", random_b64(120));
    st.store.access_tokens.insert(
        token.clone(),
        AccessToken {
            user: user.to_string(),
            scopes: scopes.to_vec(),
            expires_at: after(now, lifetime),
            refresh_token,
        },
    );
    (token, lifetime)
}

/// `POST /revoke` with `token` in the form body or the query (reference §2.5, §9.3).
pub(crate) async fn revoke(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = app.lock();
    st.counters.revoke_requests += 1;
    let from_query = Params::from_query(query.as_deref());
    let from_body = if body.is_empty() {
        Params::default()
    } else if is_form(&headers) {
        Params::parse(&body)
    } else {
        return oauth_error(
            400,
            "invalid_request",
            "Invalid Content-Type: the body must be application/x-www-form-urlencoded.",
        );
    };
    let Some(token) = from_body
        .get("token")
        .or(from_query.get("token"))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
    else {
        return oauth_error(400, "invalid_request", "Missing required parameter: token");
    };
    let now = st.now();
    // Revoking either token of a grant revokes the grant: the refresh token and every access
    // token minted from it (reference §2.5).
    let family = if let Some(access) = st
        .store
        .access_tokens
        .get(&token)
        .filter(|t| now < t.expires_at)
    {
        Some(
            access
                .refresh_token
                .clone()
                .unwrap_or_else(|| token.clone()),
        )
    } else if st
        .store
        .refresh_tokens
        .get(&token)
        .is_some_and(|t| t.expires_at.is_none_or(|at| now < at))
    {
        Some(token.clone())
    } else {
        None
    };
    let Some(family) = family else {
        return oauth_error(400, "invalid_token", "Token expired or revoked");
    };
    st.store.refresh_tokens.remove(&family);
    st.store
        .access_tokens
        .retain(|key, t| *key != token && t.refresh_token.as_deref() != Some(family.as_str()));
    st.persist();
    json_reply(200, &json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects() {
        for ok in [
            "http://127.0.0.1:4567",
            "http://127.0.0.1:4567/callback",
            "http://[::1]:80/",
            "http://localhost:8080/",
            "http://localhost",
        ] {
            assert!(is_loopback_redirect(ok), "{ok}");
        }
        for bad in [
            "https://127.0.0.1:4567",
            "http://example.com:80/",
            "http://127.0.0.2:1/",
            "http://u:p@127.0.0.1:1/",
            "http://127.0.0.1:1/#x",
            "http://127.0.0.1:1/a\r\nb",
            "http://127.0.0.1:1/a b",
            "urn:ietf:wg:oauth:2.0:oob",
            "127.0.0.1:80",
        ] {
            assert!(!is_loopback_redirect(bad), "{bad}");
        }
    }

    #[test]
    fn pkce_strings() {
        assert!(is_pkce_string(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!is_pkce_string("short"));
        assert!(!is_pkce_string(&"a".repeat(129)));
        assert!(!is_pkce_string(&format!("{}=", "a".repeat(43))));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("a%3Ab:s%2Bx"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("a:b".to_string(), "s+x".to_string()))
        );
    }
}
