//! Login Kit for Desktop: the browser authorize step (auto-approved), the token endpoint
//! (code exchange and refresh with rotation) and revoke. Reference §1–§3 and the
//! "Authorize + redirect" and "Token endpoint" parts of "What a faithful fake server must enforce".

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::state::{AuthCode, Grant, State as EmuState, derived_id, random_b64};
use super::wire::{content_type, error_page, oauth_error};
use super::{App, CLIENT_KEY, CLIENT_SECRET};

const MALFORMED: &str = "The request parameters are malformed.";
const REDIRECT_MISMATCH: &str = "Redirect_uri is not matched with the uri when requesting code.";
const PKCE_INVALID: &str = "Code verifier or code challenge is invalid.";

/// Does `uri` match a registration byte for byte, apart from a `*` port (reference §1.2)?
/// The port must be plain digits 1–65535, so no query, fragment or path change slips through
/// the wildcard.
pub(crate) fn redirect_matches(registrations: &[String], uri: &str) -> bool {
    registrations.iter().any(|reg| match reg.split_once('*') {
        None => reg == uri,
        Some((prefix, suffix)) => uri
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|port| {
                !port.is_empty()
                    && port.len() <= 5
                    && !port.starts_with('0')
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && port.parse::<u16>().is_ok()
            }),
    })
}

/// A 302 to `base?pairs`, form-encoded (reference §2). `*` is percent-encoded too, so codes
/// carry `%2A` and `%21` and a client that decodes twice or not at all breaks here, not in
/// production (reference Surprise 4).
fn redirect_to(base: &str, pairs: &[(&str, &str)]) -> Response {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let location = format!("{base}?{}", ser.finish().replace('*', "%2A"));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Parses an `application/x-www-form-urlencoded` query or body. A repeated parameter is
/// ambiguous, so it is reported as `Err(name)`.
fn form_params(raw: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in url::form_urlencoded::parse(raw).into_owned() {
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(k);
        }
        out.push((k, v));
    }
    Ok(out)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `GET /v2/auth/authorize/`: validates the request, then plays a user who approves at once.
pub(crate) async fn authorize(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let mut st = app.shared.lock();
    st.counters.authorize_requests += 1;
    let log_id = st.log_id();
    let params = match form_params(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(name) => {
            return error_page(
                "invalid_request",
                "param",
                &format!("Parameter {name} is repeated."),
                &log_id,
            );
        }
    };
    // A wrong key or redirect URI stops on TikTok's own error page: there is no trusted place
    // to send the user back to (reference §2, observed `client_key` / `redirect_uri` pages).
    if param(&params, "client_key") != Some(CLIENT_KEY) {
        let why = if param(&params, "client_id").is_some() && param(&params, "client_key").is_none()
        {
            "TikTok expects client_key, not client_id."
        } else {
            "The client_key is unknown, or Login Kit is not enabled for it."
        };
        return error_page("unauthorized_client", "client_key", why, &log_id);
    }
    let Some(redirect_uri) =
        param(&params, "redirect_uri").filter(|r| redirect_matches(&st.settings.redirect_uris, r))
    else {
        return error_page(
            "invalid_request",
            "redirect_uri",
            "The redirect_uri does not match a registered redirect URI.",
            &log_id,
        );
    };
    let state = param(&params, "state");
    let echo_state = st.settings.echo_state_on_error;
    let fail = |error: &str, description: &str, error_type: Option<&str>| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(t) = error_type {
            pairs.push(("error_type", t));
        }
        if let (true, Some(s)) = (echo_state, state) {
            pairs.push(("state", s));
        }
        redirect_to(redirect_uri, &pairs)
    };

    if param(&params, "response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "response_type must be code.",
            None,
        );
    }
    // Comma-separated, every scope approved for the app; one bad scope fails the whole
    // request (reference §1, observed).
    let Some(scope) = param(&params, "scope").filter(|s| !s.is_empty()) else {
        return fail("invalid_scope", "The scope parameter is missing.", None);
    };
    let mut requested: Vec<String> = Vec::new();
    for s in scope.split(',') {
        if !st.settings.approved_scopes.iter().any(|a| a == s) {
            let why = format!(
                "The scope {s:?} is unknown or not approved for this app (scopes are comma-separated)."
            );
            return fail("invalid_scope", &why, None);
        }
        if !requested.iter().any(|r| r == s) {
            requested.push(s.to_string());
        }
    }
    if state.is_none_or(str::is_empty) {
        return fail("invalid_request", "The state parameter is required.", None);
    }
    // PKCE is required on Desktop with method S256 (reference §1). The challenge's encoding is
    // NOT checked here: TikTok accepts a base64url challenge at this step and only fails at
    // token exchange (reference §1.1, Surprise 1), and so does the fake.
    let Some(challenge) = param(&params, "code_challenge").filter(|c| !c.is_empty()) else {
        return fail(
            "invalid_request",
            "code_challenge is required for desktop apps.",
            None,
        );
    };
    if param(&params, "code_challenge_method") != Some("S256") {
        return fail(
            "invalid_request",
            "code_challenge_method must be S256.",
            None,
        );
    }
    if let Some(v) = param(&params, "disable_auto_auth")
        && v != "0"
        && v != "1"
    {
        return fail("invalid_request", "disable_auto_auth must be 0 or 1.", None);
    }

    if st.settings.non_sandbox_target {
        return fail(
            "access_denied",
            "The account is not a target user of this sandbox.",
            Some("non_sandbox_target"),
        );
    }
    if st.settings.deny_authorization {
        let error_type = st.settings.error_type.clone();
        return fail(
            "access_denied",
            "The user denied the authorization request.",
            error_type.as_deref(),
        );
    }

    // The user may untick scopes (reference Surprise 3); `scopes` lists what was granted.
    let granted: Vec<String> = requested
        .into_iter()
        .filter(|s| !st.settings.withhold_scope.contains(s))
        .collect();
    let n = st.next_id();
    // Shaped like real codes (`...Iw*1!6431.u1`, reference §2): `*`, `!`, `.`, `-`, `_`.
    let code = format!("{}*{}!{:04}.u1", random_b64(45), n % 10, n % 10_000);
    let now = st.now();
    let user = st.settings.browser_user.clone();
    st.codes.insert(
        code.clone(),
        AuthCode {
            user,
            scopes: granted.clone(),
            redirect_uri: redirect_uri.to_string(),
            challenge: challenge.to_string(),
            issued_at: now,
            used: false,
        },
    );
    st.counters.authorizations += 1;
    let scopes = granted.join(",");
    redirect_to(
        redirect_uri,
        &[
            ("code", &code),
            ("scopes", &scopes),
            ("state", state.unwrap_or_default()),
        ],
    )
}

/// `POST /v2/oauth/token/`: `authorization_code` and `refresh_token` grants (reference §3.1–3.2).
pub(crate) async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = app.shared.lock();
    st.counters.token_requests += 1;
    let log_id = st.log_id();
    if let Some(code) = st.settings.token_5xx_once.take() {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let error = if code == 503 {
            "temporarily_unavailable"
        } else {
            "server_error"
        };
        return oauth_error(
            status,
            error,
            "The server is temporarily unavailable. Please retry later.",
            &log_id,
        );
    }
    let status = error_status(&st);
    let err = |error: &str, description: &str| oauth_error(status, error, description, &log_id);
    let params = match client_form(&headers, &body) {
        Ok(p) => p,
        Err((e, d)) => return err(e, d),
    };
    if param(&params, "grant_type") == Some("refresh_token") {
        st.counters.refresh_requests += 1;
    }
    if let Err((e, d)) = client_auth(&params) {
        return err(e, d);
    }
    match param(&params, "grant_type") {
        Some("refresh_token" | "authorization_code") => {}
        Some(_) => return err("unsupported_grant_type", "The grant_type is not supported."),
        None => return err("invalid_request", MALFORMED),
    }
    let result = if param(&params, "grant_type") == Some("refresh_token") {
        refresh_grant(&mut st, &params)
    } else {
        code_grant(&mut st, &params)
    };
    match result {
        Ok(body) => (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(body),
        )
            .into_response(),
        Err((e, d)) => err(e, &d),
    }
}

/// The HTTP status of OAuth error bodies: undocumented, so a knob (reference §3.4).
fn error_status(st: &EmuState) -> StatusCode {
    StatusCode::from_u16(st.settings.error_http_status).unwrap_or(StatusCode::BAD_REQUEST)
}

type OAuthErr = (&'static str, &'static str);

/// The body must be form-encoded (reference §3.1); repeated fields are malformed.
fn client_form(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthErr> {
    match content_type(headers) {
        Some((media, _)) if media == "application/x-www-form-urlencoded" => {}
        _ => return Err(("invalid_request", MALFORMED)),
    }
    form_params(body).map_err(|_| ("invalid_request", MALFORMED))
}

/// `client_key` + `client_secret` (reference §3.1, §3.3; Desktop clients send the secret too).
fn client_auth(params: &[(String, String)]) -> Result<(), OAuthErr> {
    match (param(params, "client_key"), param(params, "client_secret")) {
        (None, _) | (_, None) => Err(("invalid_request", MALFORMED)),
        (Some(k), Some(s)) if k == CLIENT_KEY && s == CLIENT_SECRET => Ok(()),
        _ => Err(("invalid_client", "Client key or secret is invalid.")),
    }
}

fn code_grant(
    st: &mut EmuState,
    params: &[(String, String)],
) -> Result<serde_json::Value, (&'static str, String)> {
    let now = st.now();
    let ttl = Duration::from_secs(st.settings.code_ttl_secs);
    let Some(code) = param(params, "code").filter(|c| !c.is_empty()) else {
        return Err(("invalid_request", MALFORMED.into()));
    };
    let Some(entry) = st.codes.get_mut(code) else {
        return Err((
            "invalid_grant",
            "Authorization code is invalid or has expired.".into(),
        ));
    };
    // Single use: any exchange attempt spends the code, even one that fails below, so a client
    // cannot probe with it twice (reference: "known, unused and unexpired").
    if entry.used || entry.issued_at + ttl <= now {
        entry.used = true;
        return Err((
            "invalid_grant",
            "Authorization code is invalid or has expired.".into(),
        ));
    }
    entry.used = true;
    if param(params, "redirect_uri") != Some(entry.redirect_uri.as_str()) {
        return Err(("invalid_request", REDIRECT_MISMATCH.into()));
    }
    // Verifier: 43–128 of [A-Za-z0-9-._~] (reference §1.1); challenge: 64 lowercase hex chars
    // equal to hex(sha256(verifier)). Anything else, including a base64url challenge, fails
    // here with TikTok's observed text.
    let verifier = param(params, "code_verifier").unwrap_or_default();
    let verifier_ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let challenge_ok = entry.challenge.len() == 64
        && entry
            .challenge
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !verifier_ok
        || !challenge_ok
        || hex::encode(Sha256::digest(verifier.as_bytes())) != entry.challenge
    {
        return Err(("invalid_request", PKCE_INVALID.into()));
    }
    let (user, scopes) = (entry.user.clone(), entry.scopes.clone());
    let grant_id = st.next_id();
    let refresh_expires_at = now + Duration::from_secs(st.settings.refresh_token_ttl_secs);
    st.grants.insert(
        grant_id,
        Grant {
            user,
            scopes,
            refresh_expires_at,
        },
    );
    let refresh = st.issue_refresh(grant_id);
    Ok(token_body(st, grant_id, refresh))
}

fn refresh_grant(
    st: &mut EmuState,
    params: &[(String, String)],
) -> Result<serde_json::Value, (&'static str, String)> {
    let Some(old) = param(params, "refresh_token").filter(|t| !t.is_empty()) else {
        return Err(("invalid_request", MALFORMED.into()));
    };
    let Some(grant_id) = st.refresh_live(old) else {
        return Err((
            "invalid_grant",
            "Refresh token is invalid or expired.".into(),
        ));
    };
    let now = st.now();
    // Rotation (reference §3.2; whether the old token dies at once is unverified): by default
    // it does; `refresh_grace_secs` keeps it alive a while; `rotate_refresh_tokens: false`
    // hands the same token back.
    let refresh = if st.settings.rotate_refresh_tokens {
        let grace = st.settings.refresh_grace_secs;
        if grace == 0 {
            st.refresh.remove(old);
        } else if let Some(rt) = st.refresh.get_mut(old) {
            let dies = now + Duration::from_secs(grace);
            rt.dies_at = Some(rt.dies_at.map_or(dies, |d| d.min(dies)));
        }
        st.issue_refresh(grant_id)
    } else {
        old.to_string()
    };
    if st.settings.refresh_window_restarts {
        let ttl = Duration::from_secs(st.settings.refresh_token_ttl_secs);
        if let Some(g) = st.grants.get_mut(&grant_id) {
            g.refresh_expires_at = now + ttl;
        }
    }
    Ok(token_body(st, grant_id, refresh))
}

/// The flat success body of reference §3.1, with the scopes actually granted.
fn token_body(st: &mut EmuState, grant_id: u64, refresh: String) -> serde_json::Value {
    let access = st.issue_access(grant_id);
    let now = st.now();
    let grant = &st.grants[&grant_id];
    json!({
        "access_token": access,
        "expires_in": st.settings.access_token_ttl_secs,
        "open_id": derived_id("open_id", &grant.user),
        // Rounded up, so a fresh grant says exactly 31536000 as in reference §3.1.
        "refresh_expires_in": grant.refresh_expires_at.saturating_sub(now).as_secs_f64().ceil() as u64,
        "refresh_token": refresh,
        "scope": grant.scopes.join(","),
        "token_type": "Bearer",
    })
}

/// `POST /v2/oauth/revoke/` (reference §3.3): `token` is the access token; success is an empty
/// body. Revoking an unknown or already dead token also succeeds (idempotent, as RFC 7009 has
/// it; TikTok's behaviour is undocumented). Sending a refresh token is a client bug and is
/// refused.
pub(crate) async fn revoke(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let mut st = app.shared.lock();
    let log_id = st.log_id();
    let status = error_status(&st);
    let err = |(e, d): OAuthErr| oauth_error(status, e, d, &log_id);
    let params = match client_form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return err(e),
    };
    if let Err(e) = client_auth(&params) {
        return err(e);
    }
    let Some(token) = param(&params, "token").filter(|t| !t.is_empty()) else {
        return err(("invalid_request", MALFORMED));
    };
    if st.refresh.contains_key(token) {
        return err(("invalid_request", MALFORMED));
    }
    if let Some(user) = st.access_live(token).map(|g| g.user.clone()) {
        st.revoke_user(&user);
        st.counters.revocations += 1;
    }
    StatusCode::OK.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_port_matching_is_exact_elsewhere() {
        let regs = vec![
            "http://127.0.0.1:*/callback/".to_string(),
            "http://localhost:*/callback/".to_string(),
        ];
        assert!(redirect_matches(&regs, "http://127.0.0.1:53682/callback/"));
        assert!(redirect_matches(&regs, "http://localhost:1/callback/"));
        for bad in [
            "http://127.0.0.1:53682/callback",
            "http://127.0.0.1/callback/",
            "http://127.0.0.1:/callback/",
            "http://127.0.0.1:99999/callback/",
            "http://127.0.0.1:0/callback/",
            "http://127.0.0.1:080/callback/",
            "https://127.0.0.1:53682/callback/",
            "http://127.0.0.1:53682/callback/?x=1",
            "http://127.0.0.1:53682/callback/#f",
            "http://127.0.0.1:1/x/callback/",
            "http://[::1]:53682/callback/",
            "HTTP://127.0.0.1:53682/callback/",
        ] {
            assert!(!redirect_matches(&regs, bad), "{bad}");
        }
    }

    #[test]
    fn redirect_encodes_code_characters() {
        let resp = redirect_to(
            "http://127.0.0.1:1/callback/",
            &[("code", "ab*1!2.u1"), ("scopes", "a,b")],
        );
        let loc = resp.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(
            loc,
            "http://127.0.0.1:1/callback/?code=ab%2A1%212.u1&scopes=a%2Cb"
        );
    }
}
