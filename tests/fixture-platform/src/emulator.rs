//! The fixture service's strict emulator: it is the service. Served by `keryx emulator` and
//! `keryx demo` beside the built-in platforms' emulators (its paths start with `/fixture/`).
//!
//! Strict where a client could be wrong: the redirect URI must be a loopback `http://127.0.0.1`
//! or `http://localhost` address, PKCE S256 is checked at token time, codes are single-use and
//! bound to their redirect URI, the client secret is checked, chunks must carry an exact
//! `Content-Range` and `Content-Length` and start where the server is.
//!
//! Knobs (YAML, all optional): `deny_authorization` (false), `browser_user` ("fixture-demo",
//! who is signed in on the consent page), `chunk_size` (1048576), `fail_uploads_with_5xx` ([])
//! and `drop_connection_on_upload` ([]): 1-based numbers of chunk PUTs over the emulator's life.

// Handlers end early with the finished error response; at one per request its size does not
// matter, and boxing it would only add noise (as in the built-in emulators).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use keryx_core::emulator::{Conformance, Emulator};
use keryx_core::{Error, Result};

use crate::auth::CLIENT_ID;

/// The client secret the emulator accepts. Public on purpose: it opens only this fake.
pub const CLIENT_SECRET: &str = "fixture-emulator-secret";
/// Who is "signed in" on the consent page unless the `browser_user` knob says otherwise.
pub const BROWSER_USER: &str = "fixture-demo";
const DEFAULT_CHUNK_SIZE: u64 = 1024 * 1024;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    deny_authorization: Option<bool>,
    browser_user: Option<String>,
    chunk_size: Option<u64>,
    fail_uploads_with_5xx: Option<Vec<u64>>,
    drop_connection_on_upload: Option<Vec<u64>>,
    /// Forget every refresh token issued so far, as when the user revokes keryx's access.
    revoke_refresh_tokens: Option<bool>,
    /// Answer every authorised API call `429 rate_limited` with `Retry-After: 60`.
    rate_limited: Option<bool>,
}

struct Settings {
    deny_authorization: bool,
    browser_user: String,
    chunk_size: u64,
    fail_uploads_with_5xx: Vec<u64>,
    drop_connection_on_upload: Vec<u64>,
    rate_limited: bool,
}

struct Code {
    redirect_uri: String,
    challenge: String,
    account: String,
}

struct Upload {
    account: String,
    title: String,
    description: Option<String>,
    tags: Vec<String>,
    size: u64,
    received: u64,
    hasher: Sha256,
    video_id: Option<String>,
}

#[derive(Default)]
struct Counters {
    authorize_requests: u64,
    authorizations: u64,
    token_requests: u64,
    refreshes: u64,
    upload_starts: u64,
    upload_puts: u64,
    bytes_received: u64,
}

struct Inner {
    settings: Settings,
    codes: HashMap<String, Code>,
    /// access token → account
    access: HashMap<String, String>,
    /// refresh token → account
    refresh: HashMap<String, String>,
    uploads: HashMap<String, Upload>,
    /// Published videos, in order.
    videos: Vec<serde_json::Value>,
    counters: Counters,
}

#[derive(Clone)]
struct App {
    inner: Arc<Mutex<Inner>>,
    base_url: Arc<str>,
}

impl App {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The fixture service's emulator. One value is one independent service.
pub struct FixtureEmulator {
    inner: Arc<Mutex<Inner>>,
}

impl FixtureEmulator {
    pub fn new() -> Arc<FixtureEmulator> {
        Arc::new(FixtureEmulator {
            inner: Arc::new(Mutex::new(Inner {
                settings: Settings {
                    deny_authorization: false,
                    browser_user: BROWSER_USER.into(),
                    chunk_size: DEFAULT_CHUNK_SIZE,
                    fail_uploads_with_5xx: Vec::new(),
                    drop_connection_on_upload: Vec::new(),
                    rate_limited: false,
                },
                codes: HashMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                uploads: HashMap::new(),
                videos: Vec::new(),
                counters: Counters::default(),
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Emulator for FixtureEmulator {
    fn platform_id(&self) -> &'static str {
        crate::PLATFORM
    }

    fn router(&self, base_url: &str) -> Router {
        let app = App {
            inner: self.inner.clone(),
            base_url: base_url.trim_end_matches('/').into(),
        };
        Router::new()
            .route("/fixture/oauth/authorize", get(authorize))
            .route("/fixture/oauth/token", post(token))
            .route("/fixture/v1/me", get(me))
            .route("/fixture/v1/uploads", post(start_upload))
            .route("/fixture/v1/uploads/{id}", put(put_chunk))
            .route("/fixture/watch/{id}", get(watch))
            .with_state(app)
    }

    fn configure(&self, knobs: &serde_yaml::Value) -> Result<()> {
        let knobs: Knobs = if knobs.is_null() {
            Knobs::default()
        } else {
            serde_yaml::from_value(knobs.clone())
                .map_err(|e| Error::input(format!("fixture emulator knobs: {e}")))?
        };
        if knobs.chunk_size == Some(0) {
            return Err(Error::input(
                "fixture emulator knobs: chunk_size must be at least 1",
            ));
        }
        let mut inner = self.lock();
        let s = &mut inner.settings;
        if let Some(v) = knobs.deny_authorization {
            s.deny_authorization = v;
        }
        if let Some(v) = knobs.browser_user {
            s.browser_user = v;
        }
        if let Some(v) = knobs.chunk_size {
            s.chunk_size = v;
        }
        if let Some(v) = knobs.fail_uploads_with_5xx {
            s.fail_uploads_with_5xx = v;
        }
        if let Some(v) = knobs.drop_connection_on_upload {
            s.drop_connection_on_upload = v;
        }
        if let Some(v) = knobs.rate_limited {
            s.rate_limited = v;
        }
        if knobs.revoke_refresh_tokens == Some(true) {
            inner.refresh.clear();
        }
        Ok(())
    }

    fn client_config(&self, base_url: &str) -> String {
        format!(
            "    enabled: false\n    account: {BROWSER_USER}\n    base_url: {}\n",
            base_url.trim_end_matches('/')
        )
    }

    fn client_secret(&self) -> (&'static str, String) {
        ("FIXTURE_CLIENT_SECRET", CLIENT_SECRET.into())
    }

    /// Counters, and `videos`: every published video with its title, tags, size and SHA-256.
    fn stats(&self) -> serde_json::Value {
        let inner = self.lock();
        let c = &inner.counters;
        json!({
            "authorize_requests": c.authorize_requests,
            "authorizations": c.authorizations,
            "token_requests": c.token_requests,
            "refreshes": c.refreshes,
            "upload_starts": c.upload_starts,
            "upload_puts": c.upload_puts,
            "bytes_received": c.bytes_received,
            "live_access_tokens": inner.access.len(),
            "videos": inner.videos,
        })
    }

    fn conformance(&self) -> Conformance {
        Conformance {
            small_video: DEFAULT_CHUNK_SIZE / 2,
            multi_chunk_video: 3 * DEFAULT_CHUNK_SIZE + 1,
            server_error_on_upload: |n| format!("fail_uploads_with_5xx: [{n}]\n"),
            dropped_connection_on_upload: |n| format!("drop_connection_on_upload: [{n}]\n"),
            deny_authorization: "deny_authorization: true\n",
            upload_requests_stat: "upload_puts",
            post_args: &[],
            token_path: "/fixture/oauth/token",
            api_call: ("POST", "/fixture/v1/uploads"),
            revoke_authorisation: Some("revoke_refresh_tokens: true\n"),
            upload_call: ("PUT", "/fixture/v1/uploads/*"),
            persistent_rate_limit: Some(("rate_limited: true\n", "rate_limited")),
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "message": message})),
    )
        .into_response()
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Only a loopback `http` redirect with a port is a desktop client's (RFC 8252 §7.3).
fn loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(u.host_str(), Some("127.0.0.1" | "localhost"))
            && u.port().is_some()
            && u.query().is_none()
            && u.fragment().is_none()
    })
}

async fn authorize(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let params = query_params(query.as_deref());
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let mut inner = app.lock();
    inner.counters.authorize_requests += 1;
    // Before the redirect URI is trusted, errors are a page, never a redirect.
    if get("client_id") != CLIENT_ID {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    }
    let redirect_uri = get("redirect_uri").to_string();
    if !loopback_redirect(&redirect_uri) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri must be a loopback http address with a port",
        );
    }
    let state = get("state").to_string();
    let challenge = get("code_challenge").to_string();
    let problem = if get("response_type") != "code" {
        Some("response_type must be code")
    } else if state.is_empty() {
        Some("state is required")
    } else if get("code_challenge_method") != "S256" {
        Some("code_challenge_method must be S256")
    } else if challenge.len() != 43 {
        Some("code_challenge must be 43 characters of base64url")
    } else {
        None
    };
    let Ok(mut location) = url::Url::parse(&redirect_uri) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not a URL",
        );
    };
    if let Some(problem) = problem {
        location
            .query_pairs_mut()
            .append_pair("error", "invalid_request")
            .append_pair("error_description", problem)
            .append_pair("state", &state);
    } else if inner.settings.deny_authorization {
        location
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "the user declined")
            .append_pair("state", &state);
    } else {
        let code = random_token("c-");
        let account = inner.settings.browser_user.clone();
        inner.codes.insert(
            code.clone(),
            Code {
                redirect_uri: redirect_uri.clone(),
                challenge,
                account,
            },
        );
        inner.counters.authorizations += 1;
        location
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state);
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

async fn token(State(app): State<App>, body: Bytes) -> Response {
    let params: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
    let mut inner = app.lock();
    inner.counters.token_requests += 1;
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong client id or secret",
        );
    }
    let account = match get("grant_type") {
        "authorization_code" => {
            // Single-use: the code is gone whatever happens next.
            let Some(code) = inner.codes.remove(get("code")) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            if code.redirect_uri != get("redirect_uri") {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri differs",
                );
            }
            if keryx_core::oauth::challenge_s256(get("code_verifier")) != code.challenge {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            code.account
        }
        "refresh_token" => {
            let Some(account) = inner.refresh.get(get("refresh_token")).cloned() else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown refresh token",
                );
            };
            inner.counters.refreshes += 1;
            account
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "no such grant",
            );
        }
    };
    let access = random_token("a-");
    inner.access.insert(access.clone(), account.clone());
    let mut reply = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600});
    if get("grant_type") == "authorization_code" {
        let refresh = random_token("r-");
        inner.refresh.insert(refresh.clone(), account);
        reply["refresh_token"] = refresh.into();
    }
    axum::Json(reply).into_response()
}

/// The account behind the bearer token, or the 401 to send.
fn bearer(inner: &Inner, headers: &HeaderMap) -> std::result::Result<String, Response> {
    if inner.settings.rate_limited {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests for this account; try again in a minute",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        return Err(response);
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| inner.access.get(t).cloned())
        .ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "missing or unknown access token",
            )
        })
}

async fn me(State(app): State<App>, headers: HeaderMap) -> Response {
    let inner = app.lock();
    match bearer(&inner, &headers) {
        Ok(account) => axum::Json(json!({"account": account})).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    title: String,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    size: u64,
    mime: String,
}

async fn start_upload(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = app.lock();
    let account = match bearer(&inner, &headers) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let start: StartBody = match serde_json::from_slice(&body) {
        Ok(start) => start,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    let title_chars = start.title.chars().count();
    if title_chars == 0 || title_chars > crate::publish::MAX_TITLE_CHARS {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_title",
            "title must be 1-100 characters",
        );
    }
    if start.size == 0 || start.size > crate::publish::MAX_VIDEO_SIZE {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_size",
            "size must be 1 byte to 512 MiB",
        );
    }
    if !start.mime.starts_with("video/") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_mime",
            "mime must be video/*",
        );
    }
    inner.counters.upload_starts += 1;
    let id = random_token("u-");
    inner.uploads.insert(
        id.clone(),
        Upload {
            account,
            title: start.title,
            description: start.description,
            tags: start.tags,
            size: start.size,
            received: 0,
            hasher: Sha256::new(),
            video_id: None,
        },
    );
    let chunk_size = inner.settings.chunk_size;
    axum::Json(json!({"upload_id": id, "chunk_size": chunk_size})).into_response()
}

/// `bytes a-b/total` → (a, b, total).
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((first.parse().ok()?, last.parse().ok()?, total.parse().ok()?))
}

async fn put_chunk(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (drop_connection, fail) = {
        let mut inner = app.lock();
        inner.counters.upload_puts += 1;
        let n = inner.counters.upload_puts;
        (
            inner.settings.drop_connection_on_upload.contains(&n),
            inner.settings.fail_uploads_with_5xx.contains(&n),
        )
    };
    if drop_connection {
        // Read a little, then end the connection without a reply. Unwinding out of the handler
        // makes hyper drop the connection; `resume_unwind` skips the panic hook.
        let _ = body.into_data_stream().next().await;
        std::panic::resume_unwind(Box::new(()));
    }
    if fail {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "injected fault",
        );
    }
    // Checks that need no body, under the lock; then the body is read without it.
    let (first, last) = {
        let inner = app.lock();
        let account = match bearer(&inner, &headers) {
            Ok(account) => account,
            Err(response) => return response,
        };
        let Some(upload) = inner.uploads.get(&id) else {
            return error(StatusCode::NOT_FOUND, "unknown_upload", "no such upload");
        };
        if upload.account != account {
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "another account's upload",
            );
        }
        if upload.video_id.is_some() {
            return error(
                StatusCode::CONFLICT,
                "already_published",
                "the upload is complete",
            );
        }
        let Some((first, last, total)) = content_range(&headers) else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_range",
                "Content-Range: bytes a-b/total is required",
            );
        };
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let chunk_size = inner.settings.chunk_size;
        let is_last = last + 1 == upload.size;
        if total != upload.size || last < first || last >= upload.size {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_range",
                "the range does not fit the upload",
            );
        }
        if length != Some(last - first + 1) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_length",
                "Content-Length must equal the range's length",
            );
        }
        if last - first + 1 > chunk_size || (!is_last && last - first + 1 != chunk_size) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_chunk",
                "chunks are chunk_size bytes, the last may be shorter",
            );
        }
        if first != upload.received {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                axum::Json(json!({"error": "wrong_offset", "received": upload.received})),
            )
                .into_response();
        }
        (first, last)
    };
    let mut data = Vec::with_capacity((last - first + 1) as usize);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => data.extend_from_slice(&bytes),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "incomplete",
                    "the body was cut off",
                );
            }
        }
    }
    if data.len() as u64 != last - first + 1 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_length",
            "the body is not the range's length",
        );
    }
    let mut inner = app.lock();
    inner.counters.bytes_received += data.len() as u64;
    let base_url = app.base_url.clone();
    let Some(upload) = inner.uploads.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "unknown_upload", "no such upload");
    };
    if upload.received != first {
        // Another request got there first.
        return (
            StatusCode::RANGE_NOT_SATISFIABLE,
            axum::Json(json!({"error": "wrong_offset", "received": upload.received})),
        )
            .into_response();
    }
    upload.hasher.update(&data);
    upload.received = last + 1;
    if upload.received < upload.size {
        return axum::Json(json!({"received": upload.received})).into_response();
    }
    let video_id = random_token("v-");
    upload.video_id = Some(video_id.clone());
    let video = json!({
        "video_id": video_id,
        "account": upload.account,
        "title": upload.title,
        "description": upload.description,
        "tags": upload.tags,
        "size": upload.size,
        "sha256": hex::encode(upload.hasher.clone().finalize()),
    });
    inner.videos.push(video);
    let url = format!("{base_url}/fixture/watch/{video_id}");
    (
        StatusCode::CREATED,
        axum::Json(json!({"video_id": video_id, "url": url})),
    )
        .into_response()
}

async fn watch(State(app): State<App>, Path(id): Path<String>) -> Response {
    let inner = app.lock();
    match inner.videos.iter().find(|v| v["video_id"] == id.as_str()) {
        Some(video) => axum::Json(video.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "no such video"),
    }
}
