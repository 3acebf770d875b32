//! The Instagram Login route (reference §1.2, §6.1, §6.4, §6.6, §6.7, §6.10): the authorize
//! page on `www.instagram.com`, the code exchange on `api.instagram.com` (with the flat
//! `error_type` errors and both observed reply shapes), the unversioned `access_token` and
//! `refresh_access_token` on `graph.instagram.com`, `/me`, and the media edge that refuses
//! `upload_type=resumable` by default. keryx's client does not use this route (it cannot
//! upload a local file, reference §2.4); the fake exists so that a client of it is tested
//! against the same rules, and so that the refusal is on record.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::login::registered;
use super::{
    App, FIRST_IG_USER, FIRST_USERNAME, Inner, LONG_LIVED_SECS, SHORT_LIVED_SECS, html_page,
    query_params,
};

/// The Instagram app id and secret (distinct from the Meta app's, reference §1.1).
pub const IG_APP_ID: &str = "990001112223334";
pub const IG_APP_SECRET: &str = "instagram-login-emulator-secret";
const SCOPES: &[&str] = &[
    "instagram_business_basic",
    "instagram_business_content_publish",
    "instagram_business_manage_messages",
    "instagram_business_manage_comments",
];
const DEPRECATED: &[&str] = &[
    "business_basic",
    "business_content_publish",
    "business_manage_messages",
    "business_manage_comments",
];
const APP_SCOPED_ID: &str = "27000000000000001";

pub(crate) struct IgToken {
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub expires_at: i64,
}

pub(crate) struct IgCode {
    redirect_uri: String,
    scopes: Vec<String>,
    issued_at: i64,
}

fn random(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

/// The IG host's Graph envelope: `type` is `IGApiException` (reference §6.16).
fn ig_error(status: u16, code: i64, subcode: Option<u64>, message: &str) -> Response {
    let trace: [u8; 9] = rand::random();
    let mut error = json!({"message": message, "type": "IGApiException", "code": code, "is_transient": false, "fbtrace_id": format!("A{}", hex::encode(trace))});
    if let Some(sub) = subcode {
        error["error_subcode"] = sub.into();
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({ "error": error })),
    )
        .into_response()
}

/// api.instagram.com's flat error (reference §5.1).
fn flat_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error_type": "OAuthException", "code": 400, "error_message": message})),
    )
        .into_response()
}

/// `GET /www.instagram.com/oauth/authorize`.
pub(crate) async fn authorize(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let params = query_params(query.as_deref());
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let mut inner = app.lock();
    inner.counters.dialog_requests += 1;
    if get("client_id") != IG_APP_ID {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Invalid platform app",
            "The client_id is not an Instagram app ID.",
        );
    }
    let redirect_uri = get("redirect_uri").to_string();
    let Ok(parsed) = url::Url::parse(&redirect_uri) else {
        return html_page(StatusCode::BAD_REQUEST, "Error", "Invalid redirect_uri");
    };
    let http_ok = inner.settings.ig_allow_http_localhost && parsed.host_str() == Some("localhost");
    if !registered(&inner.settings.ig_redirect_uris, &redirect_uri)
        || (parsed.scheme() != "https" && !http_ok)
    {
        return html_page(StatusCode::BAD_REQUEST, "Error", "Invalid redirect_uri");
    }
    if get("response_type") != "code" {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Error",
            "response_type must be code",
        );
    }
    let requested: Vec<String> = get("scope")
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = requested
        .iter()
        .find(|s| DEPRECATED.contains(&s.as_str()) || !SCOPES.contains(&s.as_str()))
    {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Invalid Scopes",
            &format!("Invalid Scopes: {bad}"),
        );
    }
    let state = get("state").to_string();
    let mut location = parsed.clone();
    if inner.settings.deny {
        location
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_reason", "user_denied")
            .append_pair("error_description", "The user denied your request")
            .append_pair("state", &state);
        return (
            StatusCode::FOUND,
            [(header::LOCATION, location.to_string())],
        )
            .into_response();
    }
    // Partial grant: `decline_scopes` names what the user withheld.
    let declined = inner.settings.decline_scopes.clone();
    let scopes = requested
        .into_iter()
        .filter(|s| !declined.contains(s))
        .collect();
    let code = random("AQB");
    let now = inner.now();
    inner.ig_codes.insert(
        code.clone(),
        IgCode {
            redirect_uri,
            scopes,
            issued_at: now,
        },
    );
    location
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    // Meta appends `#_`, which is not part of the code (reference §1.2).
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{location}#_"))],
    )
        .into_response()
}

/// `POST /api.instagram.com/oauth/access_token` (form).
pub(crate) async fn exchange(State(app): State<App>, body: Bytes) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let mut inner = app.lock();
    inner.counters.token_exchanges += 1;
    if get("client_id") != IG_APP_ID || get("client_secret") != IG_APP_SECRET {
        return flat_error("Invalid platform app");
    }
    if get("grant_type") != "authorization_code" {
        return flat_error("Unsupported grant_type");
    }
    let Some(code) = inner.ig_codes.remove(get("code")) else {
        return flat_error("Matching code was not found or was already used");
    };
    let now = inner.now();
    if now - code.issued_at > 3600 || code.redirect_uri != get("redirect_uri") {
        return flat_error(if now - code.issued_at > 3600 {
            "Matching code was not found or was already used"
        } else {
            "Redirect URI does not match registered redirect URI"
        });
    }
    let token = random("IGAAS");
    inner.ig_tokens.insert(
        token.clone(),
        IgToken {
            scopes: code.scopes.clone(),
            issued_at: now,
            expires_at: now + SHORT_LIVED_SECS,
        },
    );
    let s = &inner.settings;
    let permissions = if s.ig_permissions_array {
        json!(code.scopes)
    } else {
        json!(code.scopes.join(","))
    };
    let user_id = if s.ig_user_id_number {
        json!(FIRST_IG_USER.parse::<u64>().unwrap_or(0))
    } else {
        json!(FIRST_IG_USER)
    };
    let entry = json!({"access_token": token, "user_id": user_id, "permissions": permissions});
    let reply = if s.ig_exchange_flat {
        entry
    } else {
        json!({ "data": [entry] })
    };
    axum::Json(reply).into_response()
}

fn ig_token<'a>(
    inner: &'a Inner,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(String, &'a IgToken), Response> {
    let token = super::bearer(params, headers).ok_or_else(|| {
        ig_error(
            400,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        )
    })?;
    let Some(found) = inner.ig_tokens.get(&token) else {
        // Unknown, or a Facebook-route token on the Instagram host (reference §6.2).
        return Err(ig_error(
            400,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        ));
    };
    if inner.settings.invalidated {
        return Err(ig_error(
            400,
            190,
            Some(460),
            "Error validating access token: The session has been invalidated.",
        ));
    }
    if found.expires_at <= inner.now() {
        return Err(ig_error(
            400,
            190,
            Some(463),
            "Error validating access token: Session has expired.",
        ));
    }
    Ok((token, found))
}

/// `GET /graph.instagram.com/access_token` and `/refresh_access_token` (unversioned).
pub(crate) async fn tokens(
    State(app): State<App>,
    Path(which): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = query_params(query.as_deref());
    let mut inner = app.lock();
    inner.counters.token_exchanges += 1;
    let now = inner.now();
    let (old, scopes, issued_at) = match ig_token(&inner, &params, &headers) {
        Ok((t, found)) => (t, found.scopes.clone(), found.issued_at),
        Err(refused) => return refused,
    };
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    match which.as_str() {
        "access_token" => {
            if get("grant_type") != "ig_exchange_token" || get("client_secret") != IG_APP_SECRET {
                return ig_error(400, 100, None, "Invalid grant_type or client_secret");
            }
        }
        "refresh_access_token" => {
            if get("grant_type") != "ig_refresh_token" {
                return ig_error(400, 100, None, "Invalid grant_type");
            }
            if now - issued_at < 86_400 || !scopes.iter().any(|s| s == "instagram_business_basic") {
                return ig_error(
                    400,
                    190,
                    None,
                    "The access token cannot be refreshed yet (it must be at least 24 hours old) or lacks instagram_business_basic",
                );
            }
            if !inner.settings.ig_refresh_keeps_old {
                inner.ig_tokens.remove(&old);
            }
        }
        _ => {
            return ig_error(
                400,
                2500,
                None,
                &format!("Unknown path components: /{which}"),
            );
        }
    }
    let token = random("IGAAL");
    inner.ig_tokens.insert(
        token.clone(),
        IgToken {
            scopes,
            issued_at: now,
            expires_at: now + LONG_LIVED_SECS,
        },
    );
    axum::Json(
        json!({"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_SECS}),
    )
    .into_response()
}

/// `GET /graph.instagram.com/{v}/me` and `POST /graph.instagram.com/{v}/{ig}/media`.
pub(crate) async fn me(
    State(app): State<App>,
    Path(v): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = query_params(query.as_deref());
    let inner = app.lock();
    if !crate::config::is_version(&v) {
        return ig_error(400, 2500, None, "Unknown path components");
    }
    if let Err(refused) = ig_token(&inner, &params, &headers) {
        return refused;
    }
    let me = json!({"user_id": FIRST_IG_USER, "id": APP_SCOPED_ID, "username": FIRST_USERNAME, "account_type": "BUSINESS"});
    axum::Json(me).into_response()
}

pub(crate) async fn media(
    State(app): State<App>,
    Path((v, ig)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = query_params(query.as_deref());
    params.extend(url::form_urlencoded::parse(&body).into_owned());
    let inner = app.lock();
    if !crate::config::is_version(&v) || (ig != FIRST_IG_USER && ig != APP_SCOPED_ID) {
        return ig_error(400, 100, Some(33), "Unsupported post request.");
    }
    let scopes = match ig_token(&inner, &params, &headers) {
        Ok((_, found)) => found.scopes.clone(),
        Err(refused) => return refused,
    };
    for needed in [
        "instagram_business_basic",
        "instagram_business_content_publish",
    ] {
        if !scopes.iter().any(|s| s == needed) {
            return ig_error(
                403,
                10,
                None,
                &format!("(#10) Requires {needed} permission"),
            );
        }
    }
    if params.get("media_type").map(String::as_str) != Some("REELS") {
        return ig_error(400, 100, Some(2207023), "Unsupported media_type; use REELS");
    }
    let resumable = params.get("upload_type").map(String::as_str) == Some("resumable");
    // Two live reports: the IG host ignores resumable and wants a URL (reference §2.4).
    if (!resumable || !inner.settings.ig_accept_resumable) && !params.contains_key("video_url") {
        return ig_error(400, 100, None, "The parameter video_url is required");
    }
    ig_error(
        400,
        9004,
        Some(2207052),
        "The media could not be fetched from this URI (the emulator fetches nothing)",
    )
}
