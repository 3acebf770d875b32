//! keryx platform: TikTok (Login Kit for Desktop + Content Posting API).
//!
//! Same shape as every platform crate: `config.rs` (its config section), `auth.rs` (`keryx
//! auth`), `api.rs` (wire types), `client.rs` (calls, retries, tokens), `publish.rs` (`keryx
//! post`), `error.rs` (TikTok's codes as messages), `emulator.rs` (the strict fake).
//! TikTok-only: `chunks.rs` (the floor() chunk arithmetic).
//!
//! Facts come from `shared/reference/tiktok-api.md`; section numbers in comments refer to it.

mod api;
mod auth;
mod chunks;
mod client;
mod config;
pub mod emulator;
mod error;
mod options;
mod publish;

use std::sync::Arc;

use async_trait::async_trait;

use keryx_core::tokens::TokenSet;
use keryx_core::{
    AuthOptions, AuthReport, Context, Emulator, Metadata, Platform, PostOption, PreparedPost,
    Registration, Result, Revocation, VideoFile,
};

pub use config::TikTokConfig;

pub struct TikTok;

keryx_core::inventory::submit!(Registration::new(&TikTok));

/// Referenced by the keryx binary so the linker keeps this crate's registration.
pub fn link() {}

#[async_trait]
impl Platform for TikTok {
    fn id(&self) -> &'static str {
        client::PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "TikTok"
    }

    /// Per account: the app (client key) is shared; each account caps its own privacy and posting mode.
    fn account_keys(&self) -> &'static [&'static str] {
        &["privacy", "mode"]
    }

    fn options(&self) -> &'static [PostOption] {
        options::OPTIONS
    }

    fn check_config(&self, ctx: &Context) -> Result<()> {
        TikTokConfig::load(ctx).map(|_| ())
    }

    async fn authorize(&self, ctx: &Context, options: &AuthOptions) -> Result<AuthReport> {
        auth::authorize(ctx, options).await
    }

    async fn revoke(&self, ctx: &Context, _tokens: &TokenSet) -> Result<Revocation> {
        client::App::load(ctx)?.revoke(ctx).await
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
        emulator::TikTokEmulator::new()
    }
}
