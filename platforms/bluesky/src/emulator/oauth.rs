//! The emulated OAuth provider of reference §2, as strict as `@atproto/oauth-provider`: the
//! loopback client_id rules, PAR with PKCE S256 and DPoP required, ES256 proofs checked
//! (signature, `htm`, `htu`, `iat`, `jti` replay, `ath`, the nonce handshake), single-use codes
//! bound to the request's redirect URI, verifier and key, refresh rotation where a replay or a
//! wrong key kills the whole session, and DPoP-bound access tokens at the PDS. The authorize
//! page approves at once (or declines, with the `deny_authorization` knob).

use std::collections::{HashMap, HashSet};

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};

use super::accounts::{self, ACCOUNTS, Account};
use super::{App, Inner};
use crate::dpop::sha256_b64;

pub const ACCESS_TTL: i64 = 3599;

#[derive(Default)]
pub(super) struct OauthState {
    pub nonce: String,
    jtis: HashSet<String>,
    requests: HashMap<String, Pushed>,
    codes: HashMap<String, Pushed>,
    /// access token → (session, jkt)
    access: HashMap<String, (u64, String)>,
    refresh: HashMap<String, RefreshGrant>,
    dead: HashSet<u64>,
    /// session → its granted scope
    scopes: HashMap<u64, String>,
    /// session → the DID of the account that signed in
    dids: HashMap<u64, String>,
    /// Who signs in at the consent page whatever the `login_hint` (the `browser_user` knob).
    pub browser_user: Option<&'static Account>,
    next_session: u64,
    pub deny: bool,
    pub granular: Granular,
    /// The consent approves only these of the requested scopes (a person narrowing the grant,
    /// like the harness's `oauth-consent.mjs --scope`).
    pub consent_scope: Option<String>,
}

/// Whether the emulated authorization server takes granular scopes (`repo:`, `blob:`, `rpc:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granular {
    /// As PDS 0.5.35: takes and enforces them, but `scopes_supported` lists only `atproto` and
    /// `transition:*` (granular scopes are dynamic and cannot be enumerated).
    #[default]
    Unlisted,
    /// Takes them, and `scopes_supported` names the resources.
    Listed,
    /// An older server: PAR refuses them with `invalid_scope`.
    Unsupported,
}

#[derive(Clone)]
struct Pushed {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    challenge: String,
    jkt: String,
    login_hint: Option<String>,
    /// The account that signed in at the consent page (set when approved).
    did: String,
}

struct RefreshGrant {
    session: u64,
    client_id: String,
    scope: String,
    jkt: String,
    used: bool,
}

impl OauthState {
    pub fn new() -> OauthState {
        OauthState {
            nonce: hex::encode(rand::random::<[u8; 16]>()),
            ..Default::default()
        }
    }

    pub fn revoke_all(&mut self) {
        let sessions: Vec<u64> = self.refresh.values().map(|r| r.session).collect();
        self.dead.extend(sessions);
    }

    /// The DID a DPoP-bound access token is for, if it is alive and bound to `jkt`.
    pub fn access_did(&self, token: &str) -> Option<(&str, &str)> {
        let (session, jkt) = self.access.get(token)?;
        let did = self.dids.get(session)?;
        (!self.dead.contains(session)).then_some((did.as_str(), jkt.as_str()))
    }

    /// The scope granted to the session of a live access token.
    pub fn access_scope(&self, token: &str) -> Option<&str> {
        let (session, _) = self.access.get(token)?;
        self.scopes.get(session).map(String::as_str)
    }
}

/// A syntactically valid handle (domain-like: two or more dot-separated labels of letters,
/// digits and `-`) or DID (`did:method:id`), as a `login_hint` must be.
fn is_handle_or_did(hint: &str) -> bool {
    if let Some(rest) = hint.strip_prefix("did:") {
        return rest.split_once(':').is_some_and(|(m, id)| {
            !m.is_empty() && m.bytes().all(|b| b.is_ascii_lowercase()) && !id.is_empty()
        }) && !hint.contains(char::is_whitespace);
    }
    let labels: Vec<&str> = hint.split('.').collect();
    hint.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn as_error(status: StatusCode, code: &str, description: &str, nonce: &str) -> Response {
    let mut r = (
        status,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response();
    r.headers_mut()
        .insert("dpop-nonce", nonce.parse().expect("a header value"));
    r
}

/// A checked DPoP proof: its key's thumbprint, or (status, error, message).
pub(super) fn check_proof(
    inner: &mut Inner,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<String, (StatusCode, &'static str, String)> {
    let unauthorised = |code, m: &str| (StatusCode::UNAUTHORIZED, code, m.to_string());
    let Some(proof) = headers.get("dpop").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorised("invalid_dpop_proof", "DPoP proof required"));
    };
    let decode = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
    };
    let parts: Vec<&str> = proof.split('.').collect();
    let failed = || unauthorised("invalid_dpop_proof", "Failed to verify DPoP proof");
    if parts.len() != 3 {
        return Err(failed());
    }
    let header: Value = decode(parts[0])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(failed)?;
    let claims: Value = decode(parts[1])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(failed)?;
    if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" || header["jwk"]["crv"] != "P-256" {
        return Err(failed());
    }
    let coordinate = |k: &str| {
        header["jwk"][k]
            .as_str()
            .and_then(decode)
            .filter(|b| b.len() == 32)
    };
    let (Some(x), Some(y)) = (coordinate("x"), coordinate("y")) else {
        return Err(failed());
    };
    let point = p256::EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(&x),
        p256::FieldBytes::from_slice(&y),
        false,
    );
    let key = VerifyingKey::from_encoded_point(&point).map_err(|_| failed())?;
    let signature = decode(parts[2])
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or_else(failed)?;
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .map_err(|_| failed())?;
    if claims["htm"] != method {
        return Err(unauthorised("invalid_dpop_proof", "DPoP \"htm\" mismatch"));
    }
    if claims["htu"] != url {
        return Err(unauthorised("invalid_dpop_proof", "DPoP \"htu\" mismatch"));
    }
    let iat = claims["iat"].as_i64().unwrap_or(0);
    let now = keryx_core::tokens::unix_now();
    if iat < now - 190 || iat > now + 10 {
        return Err(unauthorised(
            "invalid_dpop_proof",
            "Failed to verify DPoP proof: \"iat\" claim timestamp check failed (too far in the past)",
        ));
    }
    match (access_token, claims.get("ath").and_then(Value::as_str)) {
        (Some(token), Some(ath)) if ath == sha256_b64(token) => {}
        (Some(_), _) => return Err(unauthorised("invalid_dpop_proof", "DPoP \"ath\" mismatch")),
        (None, Some(_)) => {
            return Err(unauthorised(
                "invalid_dpop_proof",
                "DPoP \"ath\" claim not allowed",
            ));
        }
        (None, None) => {}
    }
    match claims.get("nonce").and_then(Value::as_str) {
        None => {
            return Err(unauthorised(
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof",
            ));
        }
        Some(n) if n != inner.oauth.nonce => {
            return Err(unauthorised("use_dpop_nonce", "DPoP \"nonce\" mismatch"));
        }
        Some(_) => {}
    }
    let jti = claims["jti"].as_str().unwrap_or("").to_string();
    if jti.is_empty() || !inner.oauth.jtis.insert(jti) {
        return Err(unauthorised("invalid_dpop_proof", "DPoP proof replayed"));
    }
    let jwk = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        header["jwk"]["x"].as_str().unwrap_or(""),
        header["jwk"]["y"].as_str().unwrap_or("")
    );
    Ok(sha256_b64(&jwk))
}

/// A proof refused at an OAuth endpoint: 400 for the nonce handshake, else 401.
fn refused(nonce: &str, (status, code, message): (StatusCode, &'static str, String)) -> Response {
    let status = if code == "use_dpop_nonce" {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    as_error(status, code, &message, nonce)
}

pub(super) async fn protected_resource(State(app): State<App>) -> Response {
    let base = app.base.to_string();
    axum::Json(
        json!({"resource": base, "authorization_servers": [base], "scopes_supported": [],
        "bearer_methods_supported": ["header"], "resource_documentation": "https://atproto.com"}),
    )
    .into_response()
}

pub(super) async fn authorization_server(State(app): State<App>) -> Response {
    let b = &app.base;
    let mut scopes = vec![
        "atproto",
        "transition:email",
        "transition:generic",
        "transition:chat.bsky",
    ];
    if app.lock().oauth.granular == Granular::Listed {
        scopes.extend(["repo", "blob", "rpc", "account", "identity", "include"]);
    }
    axum::Json(json!({
        "issuer": b.as_ref(),
        "pushed_authorization_request_endpoint": format!("{b}/oauth/par"),
        "authorization_endpoint": format!("{b}/oauth/authorize"),
        "token_endpoint": format!("{b}/oauth/token"),
        "revocation_endpoint": format!("{b}/oauth/revoke"),
        "require_pushed_authorization_requests": true,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "scopes_supported": scopes,
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
    }))
    .into_response()
}

/// The loopback client's virtual metadata: `(redirect_uris, scopes)`, or the refusal.
fn loopback_client(client_id: &str) -> Option<(Vec<String>, Vec<String>)> {
    let query = client_id.strip_prefix("http://localhost")?;
    if !(query.is_empty() || query.starts_with('?')) {
        return None;
    }
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    let mut redirects: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.clone())
        .collect();
    if redirects.is_empty() {
        redirects = vec!["http://127.0.0.1/".into(), "http://[::1]/".into()];
    }
    let scope = pairs
        .iter()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .unwrap_or("atproto".into());
    Some((
        redirects,
        scope.split_whitespace().map(str::to_string).collect(),
    ))
}

/// Registered without a port, any port matches; the path and query must match exactly.
fn redirect_matches(registered: &str, given: &url::Url) -> bool {
    let Ok(r) = url::Url::parse(registered) else {
        return false;
    };
    r.scheme() == given.scheme()
        && r.host_str() == given.host_str()
        && (r.port().is_none() || r.port() == given.port())
        && r.path() == given.path()
        && r.query() == given.query()
}

pub(super) async fn par(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = app.lock();
    let nonce = inner.oauth.nonce.clone();
    let url = format!("{}/oauth/par", app.base);
    let jkt = match check_proof(&mut inner, &headers, "POST", &url, None) {
        Ok(jkt) => jkt,
        Err(e) => return refused(&nonce, e),
    };
    let bad = |code: &str, m: &str| as_error(StatusCode::BAD_REQUEST, code, m, &nonce);
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let client_id = field("client_id");
    let Some((redirects, declared)) = loopback_client(&client_id) else {
        return bad(
            "invalid_client_metadata",
            &format!("Invalid client ID \"{client_id}\""),
        );
    };
    if field("response_type") != "code" {
        return bad(
            "unsupported_response_type",
            &format!("Unsupported response_type \"{}\"", field("response_type")),
        );
    }
    if field("code_challenge").is_empty() {
        return bad("invalid_request", "Use of PKCE is required");
    }
    if field("code_challenge_method") != "S256" {
        return bad(
            "invalid_request",
            "atproto requires use of \"S256\" code_challenge_method",
        );
    }
    let redirect_uri = field("redirect_uri");
    let Ok(given) = url::Url::parse(&redirect_uri) else {
        return bad(
            "invalid_request",
            &format!("Invalid redirect_uri {redirect_uri}"),
        );
    };
    if given.host_str() == Some("localhost") {
        return bad(
            "invalid_request",
            "Invalid authorization request: Use of \"localhost\" hostname is not allowed (RFC 8252), use a loopback IP such as \"127.0.0.1\" instead at body.redirect_uri",
        );
    }
    if !redirects.iter().any(|r| redirect_matches(r, &given)) {
        return bad(
            "invalid_request",
            &format!("Invalid redirect_uri {redirect_uri}"),
        );
    }
    let scope = field("scope");
    for s in scope.split_whitespace() {
        if !declared.iter().any(|d| d == s) {
            return bad(
                "invalid_scope",
                &format!("Scope \"{s}\" is not declared in the client metadata"),
            );
        }
    }
    if !scope.split_whitespace().any(|s| s == "atproto") {
        return bad("invalid_scope", "The \"atproto\" scope is required");
    }
    if inner.oauth.granular == Granular::Unsupported
        && let Some(s) = scope
            .split_whitespace()
            .find(|s| *s != "atproto" && !s.starts_with("transition:"))
    {
        // No server at hand gives this answer: the shape is `invalid_scope` like every scope
        // refusal at PAR (reference §6), the description keryx's own.
        return bad("invalid_scope", &format!("Scope \"{s}\" is not supported"));
    }
    let login_hint = form.get("login_hint").cloned();
    if let Some(hint) = login_hint.as_deref().filter(|h| !is_handle_or_did(h)) {
        // Observed answer of the real server (reference §6).
        return bad("invalid_request", &format!("Invalid login_hint \"{hint}\""));
    }
    let request_uri = format!(
        "urn:ietf:params:oauth:request_uri:req-{}",
        hex::encode(rand::random::<[u8; 16]>())
    );
    let pushed = Pushed {
        client_id,
        redirect_uri,
        scope,
        state: field("state"),
        challenge: field("code_challenge"),
        jkt,
        login_hint,
        did: String::new(),
    };
    inner.oauth.requests.insert(request_uri.clone(), pushed);
    let mut r = (
        StatusCode::CREATED,
        axum::Json(json!({"request_uri": request_uri, "expires_in": 299})),
    )
        .into_response();
    r.headers_mut()
        .insert("dpop-nonce", nonce.parse().expect("a header value"));
    r
}

pub(super) async fn authorize(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = app.lock();
    let request_uri = q.get("request_uri").cloned().unwrap_or_default();
    let Some(pushed) = inner.oauth.requests.remove(&request_uri) else {
        let page = format!(
            "<!doctype html><p>{}</p>",
            json!({"error": "invalid_request", "error_description": "Unknown request_uri"})
        );
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/html")],
            page,
        )
            .into_response();
    };
    if q.get("client_id") != Some(&pushed.client_id) {
        let page = "<!doctype html><p>{\"error\":\"invalid_request\",\"error_description\":\"client_id mismatch\"}</p>";
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/html")],
            page,
        )
            .into_response();
    }
    let mut target = url::Url::parse(&pushed.redirect_uri).expect("checked at PAR");
    {
        let mut pairs = target.query_pairs_mut();
        pairs
            .append_pair("state", &pushed.state)
            .append_pair("iss", &app.base);
        if inner.oauth.deny {
            pairs
                .append_pair("error", "access_denied")
                .append_pair("error_description", "The user rejected the request");
        } else {
            let code = format!("cod-{}", hex::encode(rand::random::<[u8; 32]>()));
            pairs.append_pair("code", &code);
            let mut approved = pushed.clone();
            // The person signs in as the knob says, else as the hint pre-fills the form.
            let account = inner
                .oauth
                .browser_user
                .or_else(|| pushed.login_hint.as_deref().and_then(accounts::find))
                .unwrap_or(&ACCOUNTS[0]);
            approved.did = account.did.to_string();
            approved.scope = super::scopes::grantable(&approved.scope);
            // The consent may narrow the scope, never widen it.
            if let Some(only) = &inner.oauth.consent_scope {
                approved.scope = approved
                    .scope
                    .split_whitespace()
                    .filter(|s| only.split_whitespace().any(|o| o == *s))
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            inner.oauth.codes.insert(code, approved);
        }
    }
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_string())],
    )
        .into_response()
}

pub(super) async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = app.lock();
    inner.counters.refreshes +=
        u64::from(form.get("grant_type").map(String::as_str) == Some("refresh_token"));
    let nonce = inner.oauth.nonce.clone();
    let url = format!("{}/oauth/token", app.base);
    let jkt = match check_proof(&mut inner, &headers, "POST", &url, None) {
        Ok(jkt) => jkt,
        Err(e) => return refused(&nonce, e),
    };
    let grant = |m: &str| as_error(StatusCode::BAD_REQUEST, "invalid_grant", m, &nonce);
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let client_id = field("client_id");
    if client_id.is_empty() {
        return grant("Client credentials missing: Required at body.client_id");
    }
    let o = &mut inner.oauth;
    let (session, scope) = match field("grant_type").as_str() {
        "authorization_code" => {
            let Some(pushed) = o.codes.remove(&field("code")) else {
                return grant("Invalid code");
            };
            if pushed.client_id != client_id {
                return grant("Token was not issued to this client");
            }
            if pushed.redirect_uri != field("redirect_uri") {
                return grant(
                    "The redirect_uri parameter must match the one used in the authorization request",
                );
            }
            if sha256_b64(&field("code_verifier")) != pushed.challenge {
                return grant("Invalid code_verifier");
            }
            if pushed.jkt != jkt {
                return grant("DPoP proof does not match the expected JKT");
            }
            o.next_session += 1;
            o.dids.insert(o.next_session, pushed.did);
            (o.next_session, pushed.scope)
        }
        "refresh_token" => {
            let Some(old) = o.refresh.get_mut(&field("refresh_token")) else {
                return grant("Invalid refresh token");
            };
            let session = old.session;
            if o.dead.contains(&session) {
                return grant("Invalid refresh token");
            }
            if old.client_id != client_id {
                return grant("Token was not issued to this client");
            }
            if old.used {
                o.dead.insert(session);
                return grant("Refresh token replayed");
            }
            if old.jkt != jkt {
                o.dead.insert(session);
                return grant("DPoP proof does not match the expected JKT");
            }
            old.used = true;
            let scope = old.scope.clone();
            // The session's older access tokens die with the rotation.
            o.access.retain(|_, (s, _)| *s != session);
            (session, scope)
        }
        other => {
            return as_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant_type \"{other}\""),
                &nonce,
            );
        }
    };
    let access = format!("oat-{}", hex::encode(rand::random::<[u8; 32]>()));
    let refresh = format!("ref-{}", hex::encode(rand::random::<[u8; 32]>()));
    o.access.insert(access.clone(), (session, jkt.clone()));
    o.scopes.insert(session, scope.clone());
    o.refresh.insert(
        refresh.clone(),
        RefreshGrant {
            session,
            client_id,
            scope: scope.clone(),
            jkt,
            used: false,
        },
    );
    let sub = o.dids.get(&session).cloned().unwrap_or_default();
    let mut r = axum::Json(
        json!({"access_token": access, "token_type": "DPoP", "refresh_token": refresh,
        "scope": scope, "expires_in": ACCESS_TTL, "sub": sub}),
    )
    .into_response();
    r.headers_mut()
        .insert("dpop-nonce", nonce.parse().expect("a header value"));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("a header value"),
    );
    r
}

/// RFC 7009 revocation, as `@atproto/oauth-provider` 0.22.9 (observed, and its router read):
/// the form must hold `client_id` and `token` (else 400 `invalid_request`); a `DPoP` header, when
/// there is one, must be a valid proof with the current nonce; then the token is looked up among
/// refresh and access tokens and its whole session ended — but only when it was issued to this
/// client and the proof is by the session's key. Every other case (unknown token, another
/// client, no proof, another key) still answers 200 `{}` and ends nothing: RFC 7009 lets the
/// server keep quiet, so a client cannot tell from the answer, only from the session after.
pub(super) async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut inner = app.lock();
    let nonce = inner.oauth.nonce.clone();
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let request = |m: &str| as_error(StatusCode::BAD_REQUEST, "invalid_request", m, &nonce);
    let client_id = field("client_id");
    if client_id.is_empty() {
        return request(
            "Client credentials missing: Required at body.client_id; Invalid literal value, expected \"urn:ietf:params:oauth:client-assertion-type:jwt-bearer\" at body.client_assertion_type; Required at body.client_assertion, or Required at body.client_id; Required at body.client_secret, or Required at body.client_id",
        );
    }
    let token = field("token");
    if token.is_empty() {
        return request(
            "Invalid request payload: Required at body.token, or Required at body.token",
        );
    }
    let url = format!("{}/oauth/revoke", app.base);
    let jkt = if headers.contains_key("dpop") {
        match check_proof(&mut inner, &headers, "POST", &url, None) {
            Ok(jkt) => Some(jkt),
            Err(e) => return refused(&nonce, e),
        }
    } else {
        None
    };
    inner.counters.revocations += 1;
    let o = &mut inner.oauth;
    let found = match o.refresh.get(&token) {
        Some(r) => Some((r.session, r.jkt.clone())),
        None => o
            .access
            .get(&token)
            .map(|(session, jkt)| (*session, jkt.clone())),
    };
    if let Some((session, bound)) = found {
        let issued_to = o
            .refresh
            .values()
            .find(|r| r.session == session)
            .map(|r| r.client_id.clone());
        if issued_to.as_deref() == Some(client_id.as_str()) && jkt.as_deref() == Some(&bound) {
            o.dead.insert(session);
        }
    }
    let mut r = axum::Json(json!({})).into_response();
    r.headers_mut()
        .insert("dpop-nonce", nonce.parse().expect("a header value"));
    r
}

#[cfg(test)]
mod tests {
    use super::is_handle_or_did;

    #[test]
    fn login_hints_are_handles_or_dids() {
        for ok in [
            "alice.test",
            "bob.bsky.social",
            "did:plc:kxemulatoraliceaaaaaaaaa",
            "did:web:example.com",
        ] {
            assert!(is_handle_or_did(ok), "{ok}");
        }
        for bad in [
            "not a handle!",
            "alice",
            ".test",
            "a..test",
            "-a.test",
            "did:",
            "did::x",
            "did:plc:",
        ] {
            assert!(!is_handle_or_did(bad), "{bad}");
        }
    }
}
