//! keryx platform: Bluesky, the AT Protocol's social app.
//!
//! A post is an `app.bsky.feed.post` record in the user's repository on their PDS (personal
//! data server), embedding a video blob (`app.bsky.embed.video`). keryx:
//! - resolves the handle to a DID and the DID to its PDS ([`identity`]);
//! - signs in with OAuth as a native loopback client ([`login`], [`oauth`], [`dpop`]), asking for
//!   the minimal granular scopes where the server takes them ([`scope`]), or with an app password
//!   (`com.atproto.server.createSession`, [`auth`]), keeping the rotating refresh token with
//!   core's `TokenStore` ([`xrpc`]); `--remove` revokes either kind at Bluesky ([`revoke`]);
//! - checks the post before a byte is sent: MP4 only, the PDS's blob limit, text within 300
//!   graphemes with hashtag facets at UTF-8 byte offsets ([`text`], [`publish`]);
//! - uploads the video through core's upload engine, to Bluesky's video service by default
//!   ([`video`]: service-auth tokens from the PDS, `uploadVideo`, job polling) or to the PDS
//!   (`uploadBlob`, also the fallback when the video service cannot be reached), checks the
//!   stored blob's CID against its own
//!   ([`cid`]), and creates the record once: the blob is checkpointed before `createRecord`, and
//!   a rerun or an unclear failure looks for the post with `listRecords` before creating one.
//!
//! [`emulator`] is a strict fake of the PDS subset keryx uses, with the real server's error
//! bodies; the real PDS (`@atproto/pds`, via `shared/peers/bluesky-pds`) judges both in the
//! end-to-end tests.

pub mod auth;
pub mod cid;
pub mod config;
pub mod dpop;
pub mod emulator;
pub mod identity;
pub mod login;
pub mod oauth;
pub mod publish;
pub mod revoke;
pub mod scope;
pub mod text;
pub mod tid;
pub mod video;
pub mod xrpc;

use std::sync::Arc;

use async_trait::async_trait;
use keryx_core::tokens::TokenSet;
use keryx_core::{
    AuthOptions, AuthReport, Context, Emulator, Metadata, Platform, PlatformStatus, PostOption,
    PreparedPost, Registration, Result, Revocation, VideoFile,
};

pub use config::BlueskyConfig;

/// The platform id: config section, CLI word, registry key.
pub const PLATFORM: &str = "bluesky";

/// Where the app password comes from when not typed at the hidden prompt.
pub const APP_PASSWORD_ENV: &str = "BLUESKY_APP_PASSWORD";

pub struct Bluesky;

inventory::submit!(Registration::new(&Bluesky));

/// Referenced by a binary so the linker keeps this crate's registration.
pub fn link() {}

static OPTIONS: [PostOption; 3] = [
    PostOption::text(
        "alt",
        "TEXT",
        "Alt text describing the video for people who cannot see it (at most 1000 graphemes)",
    ),
    PostOption::path(
        "captions",
        "FILE.vtt",
        "WebVTT captions for the video (at most 20,000 bytes)",
    ),
    PostOption::text(
        "caption-lang",
        "LANG",
        "The captions' language, a BCP-47 tag (default: the first of platforms.bluesky.langs)",
    ),
];

#[async_trait]
impl Platform for Bluesky {
    fn id(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "Bluesky"
    }

    /// Per account: an account is a handle: each has its own handle, languages and PDS.
    fn account_keys(&self) -> &'static [&'static str] {
        &["handle", "langs", "pds", "upload"]
    }

    fn options(&self) -> &'static [PostOption] {
        &OPTIONS
    }

    fn app_passwords(&self) -> bool {
        true
    }

    /// A public OAuth client (the loopback `client_id`) or an app password: nothing to register.
    fn needs_registered_app(&self) -> bool {
        false
    }

    fn check_config(&self, ctx: &Context) -> Result<()> {
        BlueskyConfig::load(ctx).map(|_| ())
    }

    /// Besides whose session is stored: when it ends (14 days after an OAuth login; the
    /// app-password refresh token's 90 days, renewed by every post).
    async fn status(&self, ctx: &Context) -> PlatformStatus {
        let token = ctx.tokens(PLATFORM).load().ok().flatten().map(|set| {
            let who = set
                .account
                .clone()
                .unwrap_or_else(|| "an unnamed account".into());
            let kind = set
                .extra
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or("session");
            match set
                .refresh_expires_at
                .and_then(|at| time::OffsetDateTime::from_unix_timestamp(at).ok())
            {
                Some(end) => format!(
                    "stored for {who} ({kind}); the session ends {}-{:02}-{:02} {:02}:{:02} UTC",
                    end.year(),
                    u8::from(end.month()),
                    end.day(),
                    end.hour(),
                    end.minute()
                ),
                None => format!("stored for {who} ({kind})"),
            }
        });
        PlatformStatus {
            platform: PLATFORM.into(),
            enabled: ctx.is_enabled(PLATFORM),
            config_error: self.check_config(ctx).err().map(|e| e.to_string()),
            // A public client: there is no client secret to find.
            secret: Some("none needed".into()),
            token,
        }
    }

    async fn authorize(&self, ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
        auth::authorize(ctx, options).await
    }

    /// OAuth sessions at the authorization server's revocation endpoint, app-password sessions
    /// with `deleteSession` ([`revoke`]).
    async fn revoke(&self, ctx: &Context, tokens: &TokenSet) -> Result<Revocation> {
        revoke::revoke(ctx, tokens).await
    }

    async fn prepare(
        &self,
        ctx: &Context,
        video: &VideoFile,
        metadata: &Metadata,
    ) -> Result<Box<dyn PreparedPost>> {
        publish::prepare(ctx, video, metadata).await
    }

    fn emulator(&self) -> Arc<dyn Emulator> {
        emulator::BlueskyEmulator::new()
    }
}
