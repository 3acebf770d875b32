//! keryx platform: YouTube (Google OAuth for desktop apps + YouTube Data API v3).
//!
//! Same shape as every platform crate: `config.rs` (its config section), `auth.rs` (`keryx
//! auth`), `api.rs` (wire types), `client.rs` (calls, retries, tokens), `publish.rs` (`keryx
//! post`), `error.rs` (Google's reasons as messages), `emulator` (the strict fake).
//! YouTube-only: `rules.rs` (metadata limits checked before upload), `resumable.rs` (the
//! resumable upload protocol and the saved sessions that let a rerun resume) and
//! `thumbnail.rs` (thumbnails.set, after processing for a Short).
//!
//! Facts come from `shared/reference/youtube-api.md`; section numbers in comments refer to it.

mod api;
mod auth;
mod client;
mod config;
pub mod emulator;
mod error;
mod options;
mod publish;
mod resumable;
mod rules;
mod thumbnail;

use std::sync::Arc;

use async_trait::async_trait;

use keryx_core::tokens::TokenSet;
use keryx_core::{
    AuthOptions, AuthReport, Context, Emulator, Metadata, Platform, PostOption, PreparedPost,
    Registration, Result, Revocation, VideoFile,
};

pub use config::YouTubeConfig;

pub struct YouTube;

keryx_core::inventory::submit!(Registration::new(&YouTube));

/// Referenced by the keryx binary so the linker keeps this crate's registration.
pub fn link() {}

#[async_trait]
impl Platform for YouTube {
    fn id(&self) -> &'static str {
        client::PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "YouTube"
    }

    /// Per account: the OAuth client is shared; each channel has its own privacy cap, category and audience.
    fn account_keys(&self) -> &'static [&'static str] {
        &["privacy", "category", "made_for_kids"]
    }

    fn options(&self) -> &'static [PostOption] {
        options::OPTIONS
    }

    fn check_config(&self, ctx: &Context) -> Result<()> {
        YouTubeConfig::load(ctx).map(|_| ())
    }

    async fn authorize(&self, ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
        auth::authorize(ctx, options).await
    }

    async fn revoke(&self, ctx: &Context, tokens: &TokenSet) -> Result<Revocation> {
        let endpoints = config::YouTubeConfig::load(ctx)?.endpoints();
        client::revoke(ctx, &endpoints, &tokens.refresh_token).await
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
        emulator::YouTubeEmulator::new()
    }
}
