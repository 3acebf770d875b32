//! A strict emulator of the PDS subset keryx uses, at the real XRPC paths with the real error
//! bodies of reference §6: `resolveHandle`, `describeServer`, `createSession` /
//! `refreshSession` / `getSession` (app-password sessions: HS256-shaped JWTs, 2 h access, 90 day
//! rotating refresh with the real server's 2 h grace), `uploadBlob` (Content-Type required,
//! exact Content-Length, the blob limit, MIME sniffing), `createRecord` with the lexicon checks
//! of [`lexicon`], `getRecord`, `listRecords` and `sync.getBlob`.
//!
//! Knobs (YAML, all optional): `blob_limit` (104857600, the harness's default),
//! `fail_uploads_with_5xx` and `drop_connection_on_upload` ([]: 1-based numbers of uploadBlob
//! requests over the emulator's life), `lose_create_record_reply` ([]: those createRecord
//! requests store the record, then answer 502 as a proxy that lost the reply would),
//! `revoke_sessions` (every session's refresh token revoked, as `deleteSession` does),
//! `rate_limited` (every authenticated call answers 429 `RateLimitExceeded`), `access_ttl_secs`
//! (7200); `video_service_pds` (the video service fake stores videos on that PDS, e.g. the real
//! one, instead of this one), `video_jobs_fail` (jobs end `JOB_STATE_FAILED`),
//! `video_service_unavailable` (the video service answers 503), `video_file_limit`;
//! `granular_scopes` (`unlisted`, the default and PDS 0.5.35's behaviour: granular scopes taken
//! and enforced but not in `scopes_supported`; `listed`; `unsupported`: PAR refuses them with
//! `invalid_scope`), `consent_scope` (the consent approves only these of the requested scopes),
//! `browser_user` (the handle the person signs in as at the consent page; default: the
//! `login_hint`'s account).
//!
//! Two accounts live on it ([`accounts::ACCOUNTS`]: `alice.test`, the default, and
//! `bob.test`), each with its own passwords, sessions, repo and blobs.
//!
//! OAuth sessions are scope-checked at every endpoint that needs a permission ([`scopes`]:
//! 403 `ScopeMissingError` naming the scope). Sessions end by `/oauth/revoke` (RFC 7009,
//! DPoP-bound) and `com.atproto.server.deleteSession` (app passwords, the refresh JWT).
//!
//! [`video`] is the video service of reference §4.2, served under `/video`.

#![allow(clippy::result_large_err)]

pub mod accounts;
pub mod lexicon;
mod oauth;
mod scopes;
pub mod video;
mod xrpc;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use keryx_core::emulator::{Conformance, Emulator};
use keryx_core::{Error, Result};

/// The default account of the emulated PDS (the first of [`accounts::ACCOUNTS`]).
pub const HANDLE: &str = accounts::ACCOUNTS[0].handle;
pub const DID: &str = accounts::ACCOUNTS[0].did;
/// Its main password (accepted by createSession like the real server's, never used by keryx).
pub const PASSWORD: &str = accounts::ACCOUNTS[0].password;
/// Its app password: public on purpose, it opens only this fake.
pub const APP_PASSWORD: &str = accounts::ACCOUNTS[0].app_password;
/// The PDS's own DID (the `aud` of its tokens).
pub const SERVICE_DID: &str = "did:web:localhost";
pub const DEFAULT_BLOB_LIMIT: u64 = 104_857_600;
pub const ACCESS_TTL_SECS: i64 = 7200;
pub const REFRESH_TTL_SECS: i64 = 90 * 24 * 3600;
/// How long a rotated refresh token still answers with its successor (`REFRESH_GRACE_MS`).
pub const REFRESH_GRACE_SECS: i64 = 7200;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    blob_limit: Option<u64>,
    fail_uploads_with_5xx: Option<Vec<u64>>,
    drop_connection_on_upload: Option<Vec<u64>>,
    lose_create_record_reply: Option<Vec<u64>>,
    revoke_sessions: Option<bool>,
    deny_authorization: Option<bool>,
    rate_limited: Option<bool>,
    access_ttl_secs: Option<i64>,
    video_service_pds: Option<String>,
    video_jobs_fail: Option<bool>,
    video_service_unavailable: Option<bool>,
    video_file_limit: Option<u64>,
    granular_scopes: Option<oauth::Granular>,
    consent_scope: Option<String>,
    /// The handle the person signs in as at the OAuth consent page, whatever the client's
    /// `login_hint` says; `null`: as the hint says (see `accounts.rs`).
    #[serde(default, deserialize_with = "nullable")]
    browser_user: Option<Option<String>>,
}

/// `Some(None)` for an explicit `null`, `None` when the key is absent.
fn nullable<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

struct Settings {
    blob_limit: u64,
    fail_uploads_with_5xx: Vec<u64>,
    drop_connection_on_upload: Vec<u64>,
    lose_create_record_reply: Vec<u64>,
    rate_limited: bool,
    access_ttl_secs: i64,
}

struct Refresh {
    did: String,
    exp: i64,
    revoked: bool,
    /// Set once used: the pair it was traded for, and until when it may be traded again.
    next: Option<(String, String, i64)>,
}

struct Blob {
    mime: String,
    bytes: Vec<u8>,
}

struct Record {
    /// The repo (account DID) it is in.
    did: String,
    collection: String,
    rkey: String,
    cid: String,
    value: serde_json::Value,
}

#[derive(Default)]
struct Counters {
    sessions_created: u64,
    refreshes: u64,
    upload_requests: u64,
    bytes_received: u64,
    create_record_requests: u64,
    revocations: u64,
    sessions_deleted: u64,
}

struct Inner {
    settings: Settings,
    /// access JWT → (did, exp)
    access: HashMap<String, (String, i64)>,
    refresh: HashMap<String, Refresh>,
    /// (repo DID, CID) → blob: each account's repo holds its own.
    blobs: HashMap<(String, String), Blob>,
    records: Vec<Record>,
    counters: Counters,
    /// The last TID handed out, so rkeys grow strictly.
    last_tid: u64,
    /// HMAC-like key of the JWTs.
    key: String,
    oauth: oauth::OauthState,
    video: video::VideoState,
}

#[derive(Clone)]
struct App {
    inner: Arc<Mutex<Inner>>,
    /// Where it is served: the issuer, and the origin every DPoP `htu` must name.
    base: Arc<str>,
}

impl App {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The emulated PDS. One value is one independent server.
pub struct BlueskyEmulator {
    inner: Arc<Mutex<Inner>>,
}

impl BlueskyEmulator {
    pub fn new() -> Arc<BlueskyEmulator> {
        Arc::new(BlueskyEmulator {
            inner: Arc::new(Mutex::new(Inner {
                settings: Settings {
                    blob_limit: DEFAULT_BLOB_LIMIT,
                    fail_uploads_with_5xx: Vec::new(),
                    drop_connection_on_upload: Vec::new(),
                    lose_create_record_reply: Vec::new(),
                    rate_limited: false,
                    access_ttl_secs: ACCESS_TTL_SECS,
                },
                access: HashMap::new(),
                refresh: HashMap::new(),
                blobs: HashMap::new(),
                records: Vec::new(),
                counters: Counters::default(),
                last_tid: 0,
                key: hex::encode(rand::random::<[u8; 16]>()),
                oauth: oauth::OauthState::new(),
                video: video::VideoState::default(),
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Emulator for BlueskyEmulator {
    fn platform_id(&self) -> &'static str {
        crate::PLATFORM
    }

    fn router(&self, base_url: &str) -> Router {
        let app = App {
            inner: self.inner.clone(),
            base: base_url.trim_end_matches('/').into(),
        };
        Router::new()
            .route(
                "/.well-known/oauth-protected-resource",
                get(oauth::protected_resource),
            )
            .route(
                "/.well-known/oauth-authorization-server",
                get(oauth::authorization_server),
            )
            .route("/oauth/par", post(oauth::par))
            .route("/oauth/authorize", get(oauth::authorize))
            .route("/oauth/token", post(oauth::token))
            .route("/oauth/revoke", post(oauth::revoke))
            .route(
                "/xrpc/com.atproto.server.deleteSession",
                post(xrpc::delete_session),
            )
            .route(
                "/xrpc/com.atproto.identity.resolveHandle",
                get(xrpc::resolve_handle),
            )
            .route(
                "/xrpc/com.atproto.server.describeServer",
                get(xrpc::describe_server),
            )
            .route(
                "/xrpc/com.atproto.server.createSession",
                post(xrpc::create_session),
            )
            .route(
                "/xrpc/com.atproto.server.refreshSession",
                post(xrpc::refresh_session),
            )
            .route(
                "/xrpc/com.atproto.server.getSession",
                get(xrpc::get_session),
            )
            .route("/xrpc/com.atproto.repo.uploadBlob", post(xrpc::upload_blob))
            .route(
                "/xrpc/com.atproto.repo.createRecord",
                post(xrpc::create_record),
            )
            .route("/xrpc/com.atproto.repo.getRecord", get(xrpc::get_record))
            .route(
                "/xrpc/com.atproto.repo.listRecords",
                get(xrpc::list_records),
            )
            .route("/xrpc/com.atproto.sync.getBlob", get(xrpc::get_blob))
            .route(
                "/xrpc/com.atproto.server.getServiceAuth",
                get(xrpc::get_service_auth),
            )
            .route(
                "/xrpc/app.bsky.video.getUploadLimits",
                get(video::no_service),
            )
            .route("/xrpc/app.bsky.video.uploadVideo", post(video::no_service))
            .route("/xrpc/app.bsky.video.getJobStatus", get(video::no_service))
            .route(
                "/video/xrpc/app.bsky.video.getUploadLimits",
                get(video::get_upload_limits),
            )
            .route(
                "/video/xrpc/app.bsky.video.uploadVideo",
                post(video::upload_video),
            )
            .route(
                "/video/xrpc/app.bsky.video.getJobStatus",
                get(video::get_job_status),
            )
            .with_state(app)
    }

    fn configure(&self, knobs: &serde_yaml::Value) -> Result<()> {
        let knobs: Knobs = if knobs.is_null() {
            Knobs::default()
        } else {
            serde_yaml::from_value(knobs.clone())
                .map_err(|e| Error::input(format!("bluesky emulator knobs: {e}")))?
        };
        let browser_user = match &knobs.browser_user {
            Some(Some(handle)) => Some(Some(accounts::find(handle).ok_or_else(|| {
                Error::input(format!(
                    "bluesky emulator knobs: browser_user: no account {handle:?} on this PDS"
                ))
                .with_hint(format!(
                    "use one of: {}",
                    accounts::ACCOUNTS.map(|a| a.handle).join(", ")
                ))
            })?)),
            Some(None) => Some(None),
            None => None,
        };
        let mut inner = self.lock();
        if let Some(account) = browser_user {
            inner.oauth.browser_user = account;
        }
        let s = &mut inner.settings;
        if let Some(v) = knobs.blob_limit {
            s.blob_limit = v;
        }
        if let Some(v) = knobs.fail_uploads_with_5xx {
            s.fail_uploads_with_5xx = v;
        }
        if let Some(v) = knobs.drop_connection_on_upload {
            s.drop_connection_on_upload = v;
        }
        if let Some(v) = knobs.lose_create_record_reply {
            s.lose_create_record_reply = v;
        }
        if let Some(v) = knobs.rate_limited {
            s.rate_limited = v;
        }
        if let Some(v) = knobs.access_ttl_secs {
            s.access_ttl_secs = v;
        }
        if let Some(v) = knobs.video_service_pds {
            inner.video.pds = Some(v);
        }
        if let Some(v) = knobs.video_jobs_fail {
            inner.video.fail_jobs = v;
        }
        if let Some(v) = knobs.video_service_unavailable {
            inner.video.unavailable = v;
        }
        if let Some(v) = knobs.video_file_limit {
            inner.video.file_limit = Some(v);
        }
        if let Some(v) = knobs.granular_scopes {
            inner.oauth.granular = v;
        }
        if let Some(v) = knobs.consent_scope {
            inner.oauth.consent_scope = Some(v);
        }
        if let Some(v) = knobs.deny_authorization {
            inner.oauth.deny = v;
        }
        if knobs.revoke_sessions == Some(true) {
            for refresh in inner.refresh.values_mut() {
                refresh.revoked = true;
            }
            inner.oauth.revoke_all();
        }
        Ok(())
    }

    fn client_config(&self, base_url: &str) -> String {
        format!(
            "    handle: {HANDLE}\n    pds: {base}\n    video_service: {base}/video\n",
            base = base_url.trim_end_matches('/')
        )
    }

    /// Bluesky has no client secret; what a client needs besides the config is the account's
    /// app password.
    fn client_secret(&self) -> (&'static str, String) {
        (crate::APP_PASSWORD_ENV, APP_PASSWORD.into())
    }

    fn secret_name(&self) -> String {
        "bluesky/app_password".into()
    }

    fn stats(&self) -> serde_json::Value {
        let inner = self.lock();
        let c = &inner.counters;
        let blobs: Vec<_> = inner
            .blobs
            .iter()
            .map(|((did, cid), b)| {
                json!({"cid": cid, "did": did, "mime": b.mime, "size": b.bytes.len(),
                       "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&b.bytes))})
            })
            .collect();
        let records: Vec<_> = inner
            .records
            .iter()
            .map(|r| json!({"repo": r.did, "collection": r.collection, "rkey": r.rkey, "cid": r.cid, "value": r.value}))
            .collect();
        json!({
            "sessions_created": c.sessions_created,
            "refreshes": c.refreshes,
            "upload_requests": c.upload_requests,
            "bytes_received": c.bytes_received,
            "create_record_requests": c.create_record_requests,
            "revocations": c.revocations,
            "sessions_deleted": c.sessions_deleted,
            "video_uploads": inner.video.uploads,
            "video_jobs": inner.video.jobs.len(),
            "blobs": blobs,
            "records": records,
        })
    }

    fn conformance(&self) -> Conformance {
        fn fail_nth(n: u32) -> String {
            format!("fail_uploads_with_5xx: [{n}]")
        }
        fn drop_nth(n: u32) -> String {
            format!("drop_connection_on_upload: [{n}]")
        }
        Conformance {
            small_video: 300_000,
            // uploadBlob is one request whatever the size: equal to `small_video`, the suite
            // skips its multi-request flow.
            multi_chunk_video: 300_000,
            server_error_on_upload: fail_nth,
            dropped_connection_on_upload: drop_nth,
            deny_authorization: "deny_authorization: true",
            upload_requests_stat: "upload_requests",
            post_args: &["--title", "keryx conformance"],
            token_path: "/oauth/token",
            api_call: ("GET", "/xrpc/com.atproto.server.getSession"),
            revoke_authorisation: Some("revoke_sessions: true"),
            // keryx sends the video to the video service by default (`upload: auto`).
            upload_call: ("POST", "/video/xrpc/app.bsky.video.uploadVideo"),
            persistent_rate_limit: Some(("rate_limited: true", "RateLimitExceeded")),
        }
    }
}
