//! The strict YouTube emulator: Google's OAuth endpoints for a Desktop client and the parts of
//! the YouTube Data API v3 that keryx uses, at their real paths.
//!
//! It is both a product feature (`keryx emulator` in a user's CI) and the test oracle for the
//! real client, so it rejects what Google rejects, with Google's error shapes: OAuth errors are
//! `{error, error_description}` (reference §2.4), API errors use the envelope of §5.3, and the
//! upload server answers some errors in plain text (§5.3, last bullet). The rules come from
//! `shared/reference/youtube-api.md` §9 ("What a faithful fake server must enforce").
//!
//! Paths (none collide with TikTok's `/v2/...` and `/video/...`):
//!
//! | Path | Method | What |
//! |---|---|---|
//! | `/o/oauth2/v2/auth`, `/o/oauth2/auth` | GET | consent page, auto-approved (§9.1) |
//! | `/token` (aliases `/o/oauth2/token`, `/oauth2/v4/token`) | POST | token endpoint (§9.2) |
//! | `/revoke` | POST | revocation (§9.3) |
//! | `/youtube/v3/channels` | GET | `channels.list` (§8, §9.7) |
//! | `/youtube/v3/videos` | GET | `videos.list` (§9.7); POST answers `mediaBodyRequired` |
//! | `/upload/youtube/v3/videos` (alias `/resumable/upload/...` for POST) | POST | open a resumable session (§9.5) |
//! | `/upload/youtube/v3/videos?upload_id=...` | PUT | bytes and status queries (§9.6) |
//! | `/upload/youtube/v3/thumbnails/set` | POST | `thumbnails.set` (§7, §9.7) |
//!
//! One Desktop client ([`CLIENT_ID`], [`CLIENT_SECRET`]) exists. The consent page approves as
//! the Google account the `browser_user` knob names, [`DEFAULT_USER`] unless told otherwise,
//! who owns the channel [`CHANNEL_TITLE`] ([`CHANNEL_ID`], [`CHANNEL_HANDLE`]); any other
//! name is an account with a channel of its own, its own tokens and videos (`users.rs`).
//! Knobs are documented in `knobs.rs`; what [`Emulator::stats`] reports is documented on
//! `State::stats`.

mod api;
mod knobs;
mod metadata;
mod oauth;
mod session;
mod state;
mod upload;
mod users;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::routing::{get, post};
use keryx_core::emulator::{Conformance, Emulator};
use keryx_core::{Error, Result};

use state::State;
pub use users::DEFAULT_USER;

/// The one registered Desktop OAuth client (reference §1.1: ids end in `.apps.googleusercontent.com`).
pub const CLIENT_ID: &str = "1234-keryxdemo.apps.googleusercontent.com";
/// Its secret (reference §1.1: secrets start `GOCSPX-`). Desktop clients must still send it (§2.1).
pub const CLIENT_SECRET: &str = "GOCSPX-keryx-demo";
/// The environment variable keryx reads the YouTube client secret from.
pub const CLIENT_SECRET_ENV: &str = "YOUTUBE_CLIENT_SECRET";
/// The account's channel id (reference §8: channel ids start `UC`, 24 characters).
pub const CHANNEL_ID: &str = "UCkeryxDemoChannel000001";
/// The channel's name, `snippet.title` in `channels.list`.
pub const CHANNEL_TITLE: &str = "keryx demo channel";
/// The channel's handle, `snippet.customUrl`.
pub const CHANNEL_HANDLE: &str = "@keryxdemo";
/// The Google account that owns the channel.
pub const ACCOUNT_EMAIL: &str = "keryx.demo@gmail.com";

/// Google's resumable-upload granularity: non-final chunks are multiples of 256 KiB (§3.3).
pub const CHUNK_GRANULARITY: u64 = 262_144;

/// A strict fake of Google OAuth and the YouTube Data API v3 upload path. Each value is one
/// independent fake with its own state.
pub struct YouTubeEmulator {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    /// The state, even if a handler panicked while holding it (the state is never left half
    /// written across a panic point, so the data is still consistent).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What every handler gets: the shared state and the base URL the router is served at (for the
/// session URIs it hands out).
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) shared: Arc<Shared>,
    pub(crate) base_url: Arc<str>,
}

impl App {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl YouTubeEmulator {
    pub fn new() -> Arc<Self> {
        Arc::new(YouTubeEmulator {
            shared: Arc::new(Shared {
                state: Mutex::new(State::new()),
            }),
        })
    }
}

impl Emulator for YouTubeEmulator {
    /// How the shared conformance suite drives this emulator (sizes and fault knobs).
    fn conformance(&self) -> Conformance {
        Conformance {
            // One request for any client whose chunk is at least 1 MiB.
            small_video: 1024 * 1024,
            // At least three PUTs for any chunk size up to 13 MiB (the client's default chunk).
            multi_chunk_video: 40 * 1024 * 1024,
            server_error_on_upload: |n| format!("fail_requests_with_5xx: [{n}]\n"),
            dropped_connection_on_upload: |n| {
                format!(
                    "cut_connection: [{{request: {n}, after_bytes: {}}}]\n",
                    3 * CHUNK_GRANULARITY + 1000
                )
            },
            deny_authorization: "deny_authorization: true\n",
            upload_requests_stat: "upload_puts",
            post_args: &["--title", "keryx conformance upload"],
            token_path: "/token",
            api_call: ("POST", "/upload/youtube/v3/videos"),
            revoke_authorisation: Some("revoke_refresh_tokens: true\n"),
            upload_call: ("PUT", "/upload/youtube/v3/videos"),
            persistent_rate_limit: Some(("rate_limited: true\n", "rateLimitExceeded")),
        }
    }

    fn platform_id(&self) -> &'static str {
        "youtube"
    }

    fn router(&self, base_url: &str) -> Router {
        let app = App {
            shared: self.shared.clone(),
            base_url: Arc::from(base_url.trim_end_matches('/')),
        };
        Router::new()
            .route("/o/oauth2/v2/auth", get(oauth::authorize))
            .route("/o/oauth2/auth", get(oauth::authorize))
            .route("/token", post(oauth::token))
            .route("/o/oauth2/token", post(oauth::token))
            .route("/oauth2/v4/token", post(oauth::token))
            .route("/revoke", post(oauth::revoke))
            .route("/youtube/v3/channels", get(api::channels_list))
            .route(
                "/youtube/v3/videos",
                get(api::videos_list).post(api::insert_without_media),
            )
            .route(
                "/upload/youtube/v3/videos",
                post(session::initiate).put(upload::put),
            )
            .route(
                "/resumable/upload/youtube/v3/videos",
                post(session::initiate),
            )
            .route(
                "/upload/youtube/v3/thumbnails/set",
                post(api::thumbnails_set),
            )
            .with_state(app)
    }

    fn configure(&self, knobs: &serde_yaml::Value) -> Result<()> {
        let parsed: knobs::Knobs = if knobs.is_null() {
            knobs::Knobs::default()
        } else {
            serde_yaml::from_value(knobs.clone()).map_err(|e| {
                Error::input(format!("youtube emulator knobs: {e}")).with_hint(knobs::HINT)
            })?
        };
        let mut state = self.shared.lock();
        parsed
            .apply(&mut state)
            .map_err(|e| e.context("youtube emulator knobs"))
    }

    fn client_config(&self, base_url: &str) -> String {
        // The CLI prints `  youtube:` itself; these are the section's keys, one level deeper.
        format!(
            "    enabled: false\n    client_id: {CLIENT_ID}\n    privacy: private\n    made_for_kids: false\n    base_url: {}\n",
            base_url.trim_end_matches('/')
        )
    }

    fn client_secret(&self) -> (&'static str, String) {
        (CLIENT_SECRET_ENV, CLIENT_SECRET.to_string())
    }

    fn stats(&self) -> serde_json::Value {
        self.shared.lock().stats()
    }
}
