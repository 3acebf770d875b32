//! keryx platform: `instagram`, Instagram Reels through the Instagram API with Facebook Login
//! for Business (the only route Meta documents for uploading a local file, reference §1.1):
//! the Facebook Login dialog to a fixed loopback redirect, code → short-lived → long-lived user
//! token → the Page token of the Page the Instagram professional account is linked to; then a
//! Reels container, the bytes to `rupload.facebook.com`, status polls, `media_publish`.
//!
//! - [`config`]: `platforms.instagram` (app id, Graph version, redirect port, limits, hosts);
//! - [`auth`]: `keryx auth instagram`, or an existing token with `--instagram-token`;
//! - [`graph`]: Meta's errors as messages that say what to do, and core's session contract;
//! - [`publish`]: every check before a byte is sent, and the post itself;
//! - [`emulator`]: the strict fake of every endpoint used.

pub mod auth;
pub mod config;
pub mod emulator;
pub mod graph;
pub mod publish;
mod rupload;

use std::sync::Arc;

use async_trait::async_trait;
use keryx_core::{
    AuthOptions, AuthReport, Context, Emulator, Metadata, Platform, PostOption, PreparedPost,
    Registration, Result, VideoFile,
};

pub use config::InstagramConfig;

pub const PLATFORM: &str = "instagram";

pub const COVER_AT: &str = "cover-at";
pub const REELS_ONLY: &str = "reels-only";
pub const TOKEN: &str = "token";
pub const IG_USER_ID: &str = "ig-user-id";

const OPTIONS: &[PostOption] = &[
    PostOption::duration(
        COVER_AT,
        "The cover frame, as a time in the video (2.5s, 1500ms); default the first frame",
    ),
    PostOption::flag(
        REELS_ONLY,
        "Show the Reel on the Reels tab only, not also in the Feed",
    ),
];

const AUTH_OPTIONS: &[PostOption] = &[
    PostOption::text(
        TOKEN,
        "TOKEN",
        "Store this existing Page (or user) access token instead of the browser flow; needs --instagram-ig-user-id",
    ),
    PostOption::text(
        IG_USER_ID,
        "ID",
        "The Instagram professional account id the token posts for",
    ),
];

pub struct Instagram;

inventory::submit!(Registration::new(&Instagram));

/// Referenced by a binary so the linker keeps this crate's registration.
pub fn link() {}

#[async_trait]
impl Platform for Instagram {
    fn id(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "Instagram"
    }

    /// Per account: the Meta app is shared; a Reel's feed sharing is each account's choice.
    fn account_keys(&self) -> &'static [&'static str] {
        &["share_to_feed"]
    }

    fn options(&self) -> &'static [PostOption] {
        OPTIONS
    }

    fn auth_options(&self) -> &'static [PostOption] {
        AUTH_OPTIONS
    }

    /// Meta calls it the app secret (App Dashboard > App settings > Basic).
    fn client_secret_env(&self) -> Option<&'static str> {
        Some(emulator::SECRET_ENV)
    }

    fn check_config(&self, ctx: &Context) -> Result<()> {
        InstagramConfig::load(ctx).map(|_| ())
    }

    async fn authorize(&self, ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
        auth::authorize(ctx, options).await
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
        emulator::InstagramEmulator::new()
    }
}
