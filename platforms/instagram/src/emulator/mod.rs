//! The strict emulator of what keryx uses of Meta (reference §6): the Facebook Login dialog,
//! `graph.facebook.com` (token exchanges, `/me/accounts`, `/me/permissions`, containers,
//! `media_publish`, `content_publishing_limit`, media reads) and `rupload.facebook.com`.
//!
//! Meta's hosts are separate virtual hosts; on one port they are path prefixes named after
//! the host (`/graph.facebook.com/v25.0/...`, `/rupload.facebook.com/ig-api-upload/...`,
//! `/www.facebook.com/v25.0/dialog/oauth`), which the config's `graph_url`, `rupload_url` and
//! `dialog_url` point at. Below the prefix every path is Meta's. The Instagram Login route
//! (`www.instagram.com`, `api.instagram.com`, `graph.instagram.com`) is served too
//! ([`ig_login`]), though keryx's client cannot use it for a local file.
//!
//! Knobs (YAML, all optional; see [`Knobs`]). Counters of the fault lists are 1-based over
//! the emulator's life.

// Handlers end early with the finished error response (as in the other emulators).
#![allow(clippy::result_large_err)]

mod graph;
pub mod ig_login;
mod login;
mod media;
mod mp4;
mod page_reels;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use keryx_core::emulator::{Conformance, Emulator};
use keryx_core::{Error, Result};

/// The Meta app the emulator knows (not secret). The secret opens only this fake.
pub const APP_ID: &str = "100200300400500";
pub const APP_SECRET: &str = "instagram-emulator-app-secret";
pub const SECRET_ENV: &str = "INSTAGRAM_APP_SECRET";
/// The first Instagram account (its Page comes first in `/me/accounts`).
pub const FIRST_IG_USER: &str = "17841400000000001";
pub const FIRST_USERNAME: &str = "keryx.demo";
/// The client's chunk size in the emulator's config, so that posts are multi-range.
pub const CLIENT_CHUNK: u64 = 512 * 1024;
/// Long-lived user tokens (reference §6.7: `expires_in` 5183944).
pub const LONG_LIVED_SECS: i64 = 5_183_944;
pub const SHORT_LIVED_SECS: i64 = 3600;

/// Every knob. Lists of numbers count requests of that kind, 1-based.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knobs {
    /// Registered redirect URIs; a `*` stands for the port (default `http://localhost:*/callback`).
    pub redirect_uris: Option<Vec<String>>,
    /// The app is in Development mode (true): only then may a redirect be `http://localhost`.
    pub dev_mode: Option<bool>,
    /// The user cancels on the dialog.
    pub deny_authorization: Option<bool>,
    /// Scopes the user unticks on the dialog.
    pub decline_scopes: Option<Vec<String>>,
    /// Appended to the success redirect, e.g. `#_` (Meta's Instagram dialog does).
    pub redirect_suffix: Option<String>,
    /// How many status polls a container stays IN_PROGRESS after its bytes arrived (2).
    pub processing_polls: Option<u32>,
    /// Processing ends in ERROR with this subcode (2207026, 2207082, 2207085, 2207053...).
    pub processing_error: Option<u64>,
    /// Processing never ends.
    pub never_finish: Option<bool>,
    /// `bytes_transferred` (doc) or `bytes_transfered` (Page Reels spelling).
    pub resume_field: Option<String>,
    /// `store` (206 PartialRequestError, bytes kept) or `reject` a body shorter than the rest.
    pub partial_body: Option<String>,
    /// The resumable create reply leaves out `uri`.
    pub omit_uri: Option<bool>,
    /// The account's publishing limit per 24 h (50) and what is used already (0).
    pub quota_total: Option<u64>,
    pub quota_used: Option<u64>,
    /// Containers per account per 24 h (400).
    pub container_cap: Option<u64>,
    /// These publish calls publish, then answer 500 (a post live behind an error).
    pub publish_error_but_live: Option<Vec<u64>>,
    /// Publishing a PUBLISHED container: `error` (default) or `same_id`.
    pub republish: Option<String>,
    /// These rupload POSTs answer 503 / drop the connection after `drop_after_bytes` /
    /// answer ProcessingFailedError with nothing kept.
    pub fail_rupload_with_5xx: Option<Vec<u64>>,
    pub drop_connection_on_rupload: Option<Vec<u64>>,
    pub drop_after_bytes: Option<u64>,
    pub processing_failed_on_rupload: Option<Vec<u64>>,
    /// These Graph requests answer 500 (code 2, transient).
    pub fail_graph_with_5xx: Option<Vec<u64>>,
    /// Every token now answers 190/460 (password change, app removed).
    pub invalidate_tokens: Option<bool>,
    /// Move the fake clock forward (tokens expire: 190/463).
    pub advance_clock_secs: Option<i64>,
    /// Every Graph call is throttled with this code (4, 17, 32, 613, 80002).
    pub throttle: Option<i64>,
    /// `instagram_content_publish` is revoked: code 10.
    pub revoke_publish_permission: Option<bool>,
    /// HTTP status of permission errors (400; 403 observed).
    pub permission_status: Option<u16>,
    /// Which token may publish: `both` (observed), `page` or `user` (reference §1.3 conflict).
    pub publish_token: Option<String>,
    /// Reading the media back fails after a successful publish.
    pub permalink_fails: Option<bool>,
    /// Graph paths without the version prefix are accepted too (off).
    pub unversioned: Option<bool>,
    /// Instagram Login route: registered redirects (`https://localhost:*/callback`), whether
    /// `http://localhost` passes (unverified: no), the code-exchange reply flat (observed) or
    /// in `data:[...]` (doc), `permissions` as an array, `user_id` as a number, the old token
    /// still valid after a refresh (unverified: yes), and resumable uploads accepted on the
    /// IG host (two live reports: no).
    pub ig_redirect_uris: Option<Vec<String>>,
    pub ig_allow_http_localhost: Option<bool>,
    pub ig_exchange_shape: Option<String>,
    pub ig_permissions_array: Option<bool>,
    pub ig_user_id_number: Option<bool>,
    pub ig_refresh_keeps_old: Option<bool>,
    pub ig_accept_resumable: Option<bool>,
    /// Refuse captions with more hashtags than this (unverified whether Meta does: off).
    pub max_hashtags: Option<usize>,
    /// The Pages (ids or names) the user leaves ticked on the dialog's "choose the Pages"
    /// step: only they are shared with the app (reference §1.3: Pages not selected in the
    /// dialog are missing). Default the first Page only, so one account is linked; list more
    /// (`[Keryx Demo, Keryx Side Project, ...]`) for several.
    pub select_pages: Option<Vec<String>>,
    /// The user loses their role on these Pages (ids or names): the Pages' tokens die
    /// (190/460) and the user's tokens no longer see them, so one account fails alone.
    pub remove_page_role: Option<Vec<String>>,
}

pub(crate) struct Settings {
    pub redirect_uris: Vec<String>,
    pub dev_mode: bool,
    pub deny: bool,
    pub decline_scopes: Vec<String>,
    pub redirect_suffix: String,
    pub processing_polls: u32,
    pub processing_error: Option<u64>,
    pub never_finish: bool,
    pub resume_field: String,
    pub partial_reject: bool,
    pub omit_uri: bool,
    pub quota_total: u64,
    pub container_cap: u64,
    pub publish_error_but_live: Vec<u64>,
    pub republish_same_id: bool,
    pub fail_rupload_with_5xx: Vec<u64>,
    pub drop_connection_on_rupload: Vec<u64>,
    pub drop_after_bytes: u64,
    pub processing_failed_on_rupload: Vec<u64>,
    pub fail_graph_with_5xx: Vec<u64>,
    pub invalidated: bool,
    pub clock_offset: i64,
    pub throttle: Option<i64>,
    pub publish_revoked: bool,
    pub permission_status: u16,
    pub publish_token: String,
    pub permalink_fails: bool,
    pub unversioned: bool,
    pub ig_redirect_uris: Vec<String>,
    pub ig_allow_http_localhost: bool,
    pub ig_exchange_flat: bool,
    pub ig_permissions_array: bool,
    pub ig_user_id_number: bool,
    pub ig_refresh_keeps_old: bool,
    pub ig_accept_resumable: bool,
    pub max_hashtags: Option<usize>,
    pub select_pages: Vec<&'static str>,
    pub removed_pages: Vec<&'static str>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            redirect_uris: vec!["http://localhost:*/callback".into()],
            dev_mode: true,
            deny: false,
            decline_scopes: Vec::new(),
            redirect_suffix: String::new(),
            processing_polls: 2,
            processing_error: None,
            never_finish: false,
            resume_field: "bytes_transferred".into(),
            partial_reject: false,
            omit_uri: false,
            quota_total: 50,
            container_cap: 400,
            publish_error_but_live: Vec::new(),
            republish_same_id: false,
            fail_rupload_with_5xx: Vec::new(),
            drop_connection_on_rupload: Vec::new(),
            drop_after_bytes: 64 * 1024,
            processing_failed_on_rupload: Vec::new(),
            fail_graph_with_5xx: Vec::new(),
            invalidated: false,
            clock_offset: 0,
            throttle: None,
            publish_revoked: false,
            permission_status: 400,
            publish_token: "both".into(),
            permalink_fails: false,
            unversioned: false,
            ig_redirect_uris: vec!["https://localhost:*/callback".into()],
            ig_allow_http_localhost: false,
            ig_exchange_flat: false,
            ig_permissions_array: false,
            ig_user_id_number: false,
            ig_refresh_keeps_old: true,
            ig_accept_resumable: false,
            max_hashtags: None,
            select_pages: vec![PAGES[0].id],
            removed_pages: Vec::new(),
        }
    }
}

/// The ids of the Pages `names` names (by id or name), or which one is unknown.
fn page_ids(names: &[String]) -> std::result::Result<Vec<&'static str>, String> {
    names
        .iter()
        .map(|name| {
            PAGES
                .iter()
                .find(|p| p.id == name || p.name == name)
                .map(|p| p.id)
                .ok_or_else(|| {
                    let known: Vec<&str> = PAGES.iter().map(|p| p.name).collect();
                    format!("no Page {name:?} (the Pages: {})", known.join(", "))
                })
        })
        .collect()
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    User,
    Page(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub scopes: Vec<String>,
    /// Fake-clock seconds; `None` never expires (Page tokens from a long-lived user token).
    pub expires_at: Option<i64>,
    pub long_lived: bool,
    /// The Pages shared with the app on the dialog (a user token) or the Page itself.
    pub pages: Vec<&'static str>,
    /// Killed by the user's role on its Page being removed (190/460).
    pub revoked: bool,
}

pub(crate) struct Code {
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub issued_at: i64,
    pub pages: Vec<&'static str>,
}

pub(crate) struct Page {
    pub id: &'static str,
    pub name: &'static str,
    pub ig: Option<(&'static str, &'static str)>,
    /// Listed only when `business_management` was granted (a business-owned Page).
    pub business_owned: bool,
}

/// The signed-in Facebook user's Pages (reference §6.9: two linked accounts, one Page without
/// an Instagram account, one hidden without `business_management`).
pub(crate) const PAGES: &[Page] = &[
    Page {
        id: "100000000000101",
        name: "Keryx Demo",
        ig: Some((FIRST_IG_USER, FIRST_USERNAME)),
        business_owned: false,
    },
    Page {
        id: "100000000000102",
        name: "Keryx Side Project",
        ig: Some(("17841400000000002", "keryx.side")),
        business_owned: false,
    },
    Page {
        id: "100000000000103",
        name: "Keryx Blog (no Instagram)",
        ig: None,
        business_owned: false,
    },
    Page {
        id: "100000000000104",
        name: "Keryx Studio",
        ig: Some(("17841400000000004", "keryx.studio")),
        business_owned: true,
    },
];
pub(crate) const USER_ID: &str = "10000000000000001";

pub(crate) use media::Container;

#[derive(Default)]
pub(crate) struct Counters {
    pub dialog_requests: u64,
    pub codes_exchanged: u64,
    pub token_exchanges: u64,
    pub graph_requests: u64,
    pub containers_created: u64,
    pub rupload_posts: u64,
    pub bytes_received: u64,
    pub status_polls: u64,
    pub publish_calls: u64,
}

pub(crate) struct Inner {
    pub settings: Settings,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub containers: BTreeMap<String, Container>,
    /// Published media, oldest first.
    pub media: Vec<serde_json::Value>,
    /// Publish times per IG account (fake clock), for the rolling 24 h limit.
    pub published_at: HashMap<String, Vec<i64>>,
    pub used_before: u64,
    pub counters: Counters,
    pub next_id: u64,
    pub ig_codes: HashMap<String, ig_login::IgCode>,
    pub ig_tokens: HashMap<String, ig_login::IgToken>,
    pub reels: BTreeMap<String, page_reels::Reel>,
}

impl Inner {
    pub fn now(&self) -> i64 {
        crate::graph::unix_now() + self.settings.clock_offset
    }

    pub fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:010}", self.next_id)
    }
}

#[derive(Clone)]
pub(crate) struct App {
    pub inner: Arc<Mutex<Inner>>,
    pub base_url: Arc<str>,
}

impl App {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct InstagramEmulator {
    inner: Arc<Mutex<Inner>>,
}

impl InstagramEmulator {
    pub fn new() -> Arc<InstagramEmulator> {
        Arc::new(InstagramEmulator {
            inner: Arc::new(Mutex::new(Inner {
                settings: Settings::default(),
                codes: HashMap::new(),
                tokens: HashMap::new(),
                containers: BTreeMap::new(),
                media: Vec::new(),
                published_at: HashMap::new(),
                used_before: 0,
                counters: Counters::default(),
                next_id: 0,
                ig_codes: HashMap::new(),
                ig_tokens: HashMap::new(),
                reels: BTreeMap::new(),
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Emulator for InstagramEmulator {
    fn platform_id(&self) -> &'static str {
        crate::PLATFORM
    }

    fn router(&self, base_url: &str) -> Router {
        let app = App {
            inner: self.inner.clone(),
            base_url: base_url.trim_end_matches('/').into(),
        };
        Router::new()
            .route("/www.facebook.com/{v}/dialog/oauth", get(login::dialog))
            .route(
                "/graph.facebook.com/{a}",
                get(graph::get1).post(graph::post1),
            )
            .route(
                "/graph.facebook.com/{a}/{b}",
                get(graph::get2).post(graph::post2),
            )
            .route(
                "/graph.facebook.com/{a}/{b}/{c}",
                get(graph::get3).post(graph::post3),
            )
            .route(
                "/rupload.facebook.com/ig-api-upload/{v}/{id}",
                post(media::rupload),
            )
            .route(
                "/rupload.facebook.com/video-upload/{v}/{id}",
                post(page_reels::upload),
            )
            .route(
                "/www.instagram.com/oauth/authorize",
                get(ig_login::authorize),
            )
            .route(
                "/api.instagram.com/oauth/access_token",
                post(ig_login::exchange),
            )
            .route("/graph.instagram.com/{which}", get(ig_login::tokens))
            .route("/graph.instagram.com/{v}/me", get(ig_login::me))
            .route("/graph.instagram.com/{v}/{ig}/media", post(ig_login::media))
            .with_state(app)
    }

    fn configure(&self, knobs: &serde_yaml::Value) -> Result<()> {
        let knobs: Knobs = if knobs.is_null() {
            Knobs::default()
        } else {
            serde_yaml::from_value(knobs.clone())
                .map_err(|e| Error::input(format!("instagram emulator knobs: {e}")))?
        };
        let bad = |why: &str| Err(Error::input(format!("instagram emulator knobs: {why}")));
        if knobs
            .resume_field
            .as_deref()
            .is_some_and(|f| !matches!(f, "bytes_transferred" | "bytes_transfered"))
        {
            return bad("resume_field is bytes_transferred or bytes_transfered");
        }
        if knobs
            .partial_body
            .as_deref()
            .is_some_and(|f| !matches!(f, "store" | "reject"))
        {
            return bad("partial_body is store or reject");
        }
        if knobs
            .republish
            .as_deref()
            .is_some_and(|f| !matches!(f, "error" | "same_id"))
        {
            return bad("republish is error or same_id");
        }
        if knobs
            .publish_token
            .as_deref()
            .is_some_and(|f| !matches!(f, "both" | "page" | "user"))
        {
            return bad("publish_token is both, page or user");
        }
        if knobs
            .ig_exchange_shape
            .as_deref()
            .is_some_and(|f| !matches!(f, "data" | "flat"))
        {
            return bad("ig_exchange_shape is data or flat");
        }
        if knobs
            .throttle
            .is_some_and(|c| ![4, 17, 32, 613, 80002].contains(&c))
        {
            return bad("throttle is one of 4, 17, 32, 613, 80002");
        }
        if knobs
            .permission_status
            .is_some_and(|s| s != 400 && s != 403)
        {
            return bad("permission_status is 400 or 403");
        }
        let selected =
            page_ids(knobs.select_pages.as_deref().unwrap_or_default()).map_err(|why| {
                Error::input(format!("instagram emulator knobs: select_pages: {why}"))
            })?;
        let removed =
            page_ids(knobs.remove_page_role.as_deref().unwrap_or_default()).map_err(|why| {
                Error::input(format!("instagram emulator knobs: remove_page_role: {why}"))
            })?;
        let mut inner = self.lock();
        if knobs.select_pages.is_some() {
            inner.settings.select_pages = selected;
        }
        if !removed.is_empty() {
            for token in inner.tokens.values_mut() {
                if matches!(&token.kind, TokenKind::Page(p) if removed.contains(&p.as_str())) {
                    token.revoked = true;
                }
                token.pages.retain(|p| !removed.contains(p));
            }
            inner.settings.removed_pages.extend(removed);
        }
        if let Some(v) = knobs.quota_used {
            inner.used_before = v;
        }
        let s = &mut inner.settings;
        macro_rules! set {
            ($($knob:ident => $field:ident),* $(,)?) => {$(
                if let Some(v) = knobs.$knob { s.$field = v; }
            )*};
        }
        set!(
            redirect_uris => redirect_uris, dev_mode => dev_mode, deny_authorization => deny,
            decline_scopes => decline_scopes, redirect_suffix => redirect_suffix,
            processing_polls => processing_polls, never_finish => never_finish,
            resume_field => resume_field, omit_uri => omit_uri, quota_total => quota_total,
            container_cap => container_cap, publish_error_but_live => publish_error_but_live,
            fail_rupload_with_5xx => fail_rupload_with_5xx,
            drop_connection_on_rupload => drop_connection_on_rupload,
            drop_after_bytes => drop_after_bytes,
            processing_failed_on_rupload => processing_failed_on_rupload,
            fail_graph_with_5xx => fail_graph_with_5xx, invalidate_tokens => invalidated,
            revoke_publish_permission => publish_revoked, permission_status => permission_status,
            publish_token => publish_token, permalink_fails => permalink_fails,
            unversioned => unversioned, ig_redirect_uris => ig_redirect_uris,
            ig_allow_http_localhost => ig_allow_http_localhost,
            ig_permissions_array => ig_permissions_array, ig_user_id_number => ig_user_id_number,
            ig_refresh_keeps_old => ig_refresh_keeps_old, ig_accept_resumable => ig_accept_resumable,
        );
        if let Some(v) = knobs.ig_exchange_shape {
            s.ig_exchange_flat = v == "flat";
        }
        if let Some(v) = knobs.max_hashtags {
            s.max_hashtags = Some(v);
        }
        if let Some(v) = knobs.processing_error {
            s.processing_error = Some(v);
        }
        if let Some(v) = knobs.throttle {
            s.throttle = Some(v);
        }
        if let Some(v) = knobs.partial_body {
            s.partial_reject = v == "reject";
        }
        if let Some(v) = knobs.republish {
            s.republish_same_id = v == "same_id";
        }
        if let Some(v) = knobs.advance_clock_secs {
            s.clock_offset += v;
        }
        Ok(())
    }

    fn client_config(&self, base_url: &str) -> String {
        let base = base_url.trim_end_matches('/');
        format!(
            "    app_id: \"{APP_ID}\"\n    redirect_port: 0\n    chunk_size: {CLIENT_CHUNK}\n    poll_interval_ms: 50\n    graph_url: {base}/graph.facebook.com\n    rupload_url: {base}/rupload.facebook.com\n    dialog_url: {base}/www.facebook.com\n"
        )
    }

    fn client_secret(&self) -> (&'static str, String) {
        (SECRET_ENV, APP_SECRET.into())
    }

    fn stats(&self) -> serde_json::Value {
        let inner = self.lock();
        let c = &inner.counters;
        let containers: Vec<serde_json::Value> = inner
            .containers
            .values()
            .map(|c| json!({"id": c.id, "ig_user": c.owner, "status_code": c.status_code(), "received": c.received, "file_size": c.file_size}))
            .collect();
        json!({
            "dialog_requests": c.dialog_requests,
            "codes_exchanged": c.codes_exchanged,
            "token_exchanges": c.token_exchanges,
            "graph_requests": c.graph_requests,
            "containers_created": c.containers_created,
            "rupload_posts": c.rupload_posts,
            "bytes_received": c.bytes_received,
            "status_polls": c.status_polls,
            "publish_calls": c.publish_calls,
            "containers": containers,
            "media": {"count": inner.media.len(), "items": inner.media},
        })
    }

    fn conformance(&self) -> Conformance {
        Conformance {
            small_video: 300_000,
            multi_chunk_video: 3 * CLIENT_CHUNK + 1000,
            server_error_on_upload: |n| format!("fail_rupload_with_5xx: [{n}]\n"),
            dropped_connection_on_upload: |n| format!("drop_connection_on_rupload: [{n}]\n"),
            deny_authorization: "deny_authorization: true\n",
            upload_requests_stat: "rupload_posts",
            post_args: &["--title", "Conformance"],
            token_path: "/graph.facebook.com/v25.0/oauth/access_token",
            api_call: ("POST", "/graph.facebook.com/v25.0/17841400000000001/media"),
            revoke_authorisation: Some("invalidate_tokens: true\n"),
            upload_call: ("POST", "/rupload.facebook.com/ig-api-upload/*"),
            persistent_rate_limit: Some(("throttle: 80002\n", "80002")),
        }
    }
}

/// A Graph error envelope with a random `fbtrace_id` (reference §6.16).
pub(crate) fn graph_error(
    status: u16,
    code: i64,
    subcode: Option<u64>,
    message: &str,
    transient: bool,
) -> Response {
    let trace: [u8; 9] = rand::random();
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "is_transient": transient,
        "fbtrace_id": format!("A{}", hex::encode(trace)),
    });
    if let Some(sub) = subcode {
        error["error_subcode"] = sub.into();
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// rupload's `{"debug_info":{...}}` (reference §5.3).
pub(crate) fn rupload_error(status: u16, kind: &str, message: &str, retriable: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        axum::Json(
            json!({"debug_info": {"retriable": retriable, "type": kind, "message": message}}),
        ),
    )
        .into_response()
}

pub(crate) fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("<!doctype html><title>{title}</title><h1>{title}</h1><p>{body}</p>\n"),
    )
        .into_response()
}

pub(crate) fn query_params(raw: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The token a Graph request carries: `access_token` (query or form) or `Authorization: Bearer`.
pub(crate) fn bearer(params: &HashMap<String, String>, headers: &HeaderMap) -> Option<String> {
    if let Some(t) = params.get("access_token") {
        return Some(t.clone());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}
