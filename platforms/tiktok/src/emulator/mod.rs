//! The strict TikTok emulator: Login Kit for Desktop and the Content Posting API (Direct Post
//! and inbox drafts, FILE_UPLOAD), at their real paths.
//!
//! It is both a product feature (`keryx emulator`, for users' CI) and the test oracle for the
//! real client, so it rejects what TikTok rejects, with TikTok's error shapes: flat OAuth
//! errors with `log_id`, the `data`/`error` envelope elsewhere, HTTP 200 where TikTok answers
//! 200. The rules are those of `shared/reference/tiktok-api.md`, section "What a faithful fake
//! server must enforce"; comments cite the reference's sections.
//!
//! One app is registered: client key [`CLIENT_KEY`], secret [`CLIENT_SECRET`], redirect URIs
//! `http://127.0.0.1:*/callback/` and `http://localhost:*/callback/`, approved scopes
//! `user.info.basic,video.publish,video.upload`. The authorize page auto-approves as the
//! signed-in account (`browser_user` knob), so flows run unattended.
//!
//! Modes, limits and faults are knobs (listed on `configure`, defined in `knobs.rs`); what the
//! emulator saw is in `stats()`.

// Handlers exit early with the finished error response; its size does not matter at one per
// request, and boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod api;
mod knobs;
mod oauth;
mod state;
mod upload;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post, put};
use serde_json::json;

use keryx_core::Result;
use keryx_core::emulator::{Conformance, Emulator};

use knobs::Knobs;
use state::{Outcome, State};

/// The emulator's registered client key. Sandbox keys start with `sb` (reference §0, observed).
pub const CLIENT_KEY: &str = "sbawkeryxdemo";
/// The client secret the emulator accepts. It is public on purpose: it only opens this fake.
pub const CLIENT_SECRET: &str = "keryx-emulator-tiktok-secret-not-a-real-one";
/// Where the client looks for the secret.
pub const CLIENT_SECRET_ENV: &str = "TIKTOK_CLIENT_SECRET";

/// State shared by the handlers of every router this emulator hands out.
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    /// Locks the state. A poisoned lock is taken over: handlers never leave the state half
    /// updated across a panic point, and the deliberate connection drop holds no lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Router state: the shared emulator plus the base URL upload URLs are built on.
#[derive(Clone)]
pub(crate) struct App {
    shared: Arc<Shared>,
    base_url: Arc<str>,
}

/// The strict fake of TikTok's Login Kit (Desktop) and Content Posting API.
pub struct TikTokEmulator {
    shared: Arc<Shared>,
}

impl Default for TikTokEmulator {
    fn default() -> Self {
        TikTokEmulator {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new()),
            }),
        }
    }
}

impl TikTokEmulator {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}

impl Emulator for TikTokEmulator {
    /// How the shared conformance suite drives this emulator: sizes for the client's chunk
    /// plan and the knobs that inject each fault.
    fn conformance(&self) -> Conformance {
        Conformance {
            // Up to 64,000,000 bytes go up in one request (reference §6.1, recommended plan).
            small_video: 2 * 1024 * 1024,
            // Above that the plan uses chunk_size = min(64,000,000, size / 2) and floor(size /
            // chunk_size) chunks: three requests need at least 3 × 64,000,000 bytes.
            multi_chunk_video: 3 * api::MAX_CHUNK,
            server_error_on_upload: |n| format!("fail_chunk_with_5xx: [{n}]\n"),
            dropped_connection_on_upload: |n| format!("drop_connection_on_chunk: [{n}]\n"),
            // Whether TikTok echoes `state` on an error redirect is unverified (reference §2);
            // keryx only lets a callback with the right `state` end the wait, so the suite's
            // decline is the RFC 6749 one. tests/e2e/tiktok.rs covers the stateless decline.
            deny_authorization: "deny_authorization: true\necho_state_on_error: true\n",
            upload_requests_stat: "upload_puts",
            post_args: &[],
            token_path: "/v2/oauth/token/",
            api_call: ("POST", "/v2/post/publish/creator_info/query/"),
            // Past the refresh token's 365 days (reference §3.1): the refresh is invalid_grant.
            revoke_authorisation: Some("advance_clock_secs: 31622400\n"),
            upload_call: ("PUT", "/video/"),
            // status/fetch allows one call a minute: the second poll waits out the window. Its
            // error envelopes carry `"data": {}` (§5.4), which must not hide the error.
            persistent_rate_limit: Some((
                "rate_limits: {status_fetch: 1}\npolls_until_complete: 3\nerror_data: empty_object\n",
                "rate_limit_exceeded",
            )),
        }
    }

    fn platform_id(&self) -> &'static str {
        "tiktok"
    }

    fn router(&self, base_url: &str) -> Router {
        let app = App {
            shared: self.shared.clone(),
            base_url: base_url.trim_end_matches('/').into(),
        };
        // All v2 paths end with a slash (reference §0); without it they are 404 here too.
        let v2 = Router::new()
            .route("/v2/user/info/", get(api::user_info))
            .route(
                "/v2/post/publish/creator_info/query/",
                post(api::creator_info),
            )
            .route("/v2/post/publish/video/init/", post(api::video_init))
            .route("/v2/post/publish/inbox/video/init/", post(api::inbox_init))
            .route("/v2/post/publish/status/fetch/", post(api::status_fetch))
            .route_layer(axum::middleware::from_fn_with_state(
                app.clone(),
                wire::shape_error_data,
            ));
        Router::new()
            .route("/v2/auth/authorize/", get(oauth::authorize))
            .route("/v2/oauth/token/", post(oauth::token))
            .route("/v2/oauth/revoke/", post(oauth::revoke))
            .merge(v2)
            .route("/video/", put(upload::upload))
            .with_state(app)
    }

    /// Knobs (all optional; absent ones keep their value, `null` clears optional ones):
    ///
    /// - authorize: `deny_authorization` (false), `error_type` (none), `non_sandbox_target`
    ///   (false), `withhold_scope` (none; a scope, "a,b" or a list), `browser_user`
    ///   ("keryx_demo"), `echo_state_on_error` (false), `approved_scopes`, `redirect_uris`,
    ///   `code_ttl_secs` (600)
    /// - tokens: `rotate_refresh_tokens` (true), `refresh_grace_secs` (0),
    ///   `refresh_window_restarts` (false), `invalidate_old_access_tokens` (true),
    ///   `access_token_ttl_secs` (86400), `refresh_token_ttl_secs` (31536000),
    ///   `error_http_status` (400; or 200), `token_5xx_once` (true = 503, or a 5xx status),
    ///   `advance_clock_secs` (adds to the fake clock)
    /// - posting: `account_private` (true), `unaudited` (true), `creator_cannot_post` (none),
    ///   `max_video_post_duration_sec` (300), `comment_disabled`/`duet_disabled`/
    ///   `stitch_disabled` (false), `require_creator_info` (true), `reject_branded_self_only`
    ///   (true), `daily_post_cap` (15), `unaudited_user_cap` (5), `pending_share_cap` (5),
    ///   `max_video_size` (4000000000), `rate_limits` ({user_info: 600, creator_info: 20,
    ///   video_init: 6, inbox_init: 6, status_fetch: 30, window_ms: 60000}), `rate_limit_init_once` (false),
    ///   `error_data` (`empty_object`, or `omitted`: the `data` of v2 error envelopes, §5.4)
    /// - upload: `upload_url_ttl_secs` (3600), `fail_chunk_with_5xx` ([]),
    ///   `drop_connection_on_chunk` ([]) — 1-based numbers of upload PUTs counted over the
    ///   emulator's life — and `progress_range` (last_index | byte_count)
    /// - status: `polls_until_complete` (2), `fail_reason` (none)
    fn configure(&self, knobs: &serde_yaml::Value) -> Result<()> {
        let knobs = Knobs::parse(knobs)?;
        let mut st = self.shared.lock();
        let (settings, advance) = knobs.apply(&st.settings)?;
        st.advance_clock(advance).map_err(|why| {
            keryx_core::Error::input(format!("tiktok emulator: knob `advance_clock_secs`: {why}"))
        })?;
        st.settings = settings;
        Ok(())
    }

    fn client_config(&self, base_url: &str) -> String {
        format!(
            "    enabled: false\n    client_key: {CLIENT_KEY}\n    privacy: SELF_ONLY\n    base_url: {}\n",
            base_url.trim_end_matches('/')
        )
    }

    fn client_secret(&self) -> (&'static str, String) {
        (CLIENT_SECRET_ENV, CLIENT_SECRET.to_string())
    }

    /// Counters over the emulator's life: `authorize_requests`, `authorizations` (codes issued),
    /// `token_requests`, `refresh_requests`, `revocations`, `live_access_tokens`,
    /// `live_refresh_tokens` (usable now, on the fake clock), `rate_limited` (429s),
    /// `creator_info_queries`, `inits` (direct + inbox), `upload_puts` (every PUT, faults
    /// included), `bytes_received` (accepted chunk bytes), `uploads_completed`,
    /// `posts_completed`, `posts_failed`, `inbox_delivered`, `status_fetches`,
    /// `uploads_in_flight`, `peak_concurrent_uploads` (PUTs in flight at once),
    /// `clock_offset_secs`, and `publishes`: one entry per init with its `post_info`, sizes,
    /// `uploaded_bytes`, the `sha256` of the uploaded bytes and the status.
    fn stats(&self) -> serde_json::Value {
        let st = self.shared.lock();
        let c = &st.counters;
        let publishes: Vec<_> = st
            .publishes
            .iter()
            .map(|p| {
                let (status, fail_reason, post_ids) = match &p.outcome {
                    None => ("PROCESSING_UPLOAD", None, Vec::new()),
                    Some(Outcome::Complete { post_ids }) => {
                        ("PUBLISH_COMPLETE", None, post_ids.clone())
                    }
                    Some(Outcome::Inbox) => ("SEND_TO_USER_INBOX", None, Vec::new()),
                    Some(Outcome::Failed(r)) => ("FAILED", Some(r.clone()), Vec::new()),
                };
                json!({
                    "publish_id": p.publish_id,
                    "user": p.user,
                    "mode": if p.inbox { "inbox" } else { "direct" },
                    "post_info": p.post_info,
                    "privacy_level": p.privacy_level,
                    "video_size": p.video_size,
                    "chunk_size": p.chunk_size,
                    "total_chunk_count": p.chunk_count,
                    "uploaded_bytes": p.received,
                    "sha256": p.sha256,
                    "status": status,
                    "fail_reason": fail_reason,
                    "publicaly_available_post_id": post_ids,
                })
            })
            .collect();
        json!({
            "authorize_requests": c.authorize_requests,
            "authorizations": c.authorizations,
            "token_requests": c.token_requests,
            "refresh_requests": c.refresh_requests,
            "revocations": c.revocations,
            "live_access_tokens": st.live_access_tokens(),
            "live_refresh_tokens": st.live_refresh_tokens(),
            "rate_limited": c.rate_limited,
            "creator_info_queries": c.creator_info_queries,
            "inits": c.inits,
            "upload_puts": c.upload_puts,
            "bytes_received": c.bytes_received,
            "uploads_completed": c.uploads_completed,
            "posts_completed": c.posts_completed,
            "posts_failed": c.posts_failed,
            "inbox_delivered": c.inbox_delivered,
            "status_fetches": c.status_fetches,
            "uploads_in_flight": st.in_flight,
            "peak_concurrent_uploads": st.peak_in_flight,
            "clock_offset_secs": st.clock_offset_secs(),
            "publishes": publishes,
        })
    }
}
