//! keryx platform: `fixture`, a small made-up video service that exists only as its emulator.
//!
//! It is here to prove that a platform is a crate: nothing in `core/` or `cli/` names it. It has
//! what every platform has — its own config section ([`config`]), an OAuth code flow with PKCE
//! through core's loopback capture ([`auth`]), a resumable chunked upload ([`publish`]), and a
//! strict emulator at its "real" paths ([`emulator`]) — in the same shape as the built-in
//! platform crates, only smaller. `docs/adding-a-platform.md` walks through it.
//!
//! The service, as its client sees it (every path under the config's `base_url`):
//! - `GET  /fixture/oauth/authorize` — the consent page (the emulator approves at once);
//! - `POST /fixture/oauth/token` — code exchange (PKCE S256) and refresh, with the client secret;
//! - `GET  /fixture/v1/me` — who the token belongs to;
//! - `POST /fixture/v1/uploads` — starts an upload: `{title, description, tags, size}` → `{upload_id, chunk_size}`;
//! - `PUT  /fixture/v1/uploads/{upload_id}` — one chunk, `Content-Range: bytes a-b/total`;
//!   `200 {received}` until the last, `201 {video_id, url}` for it; `416 {received}` when
//!   the chunk does not start where the server is.

pub mod auth;
pub mod config;
pub mod emulator;
pub mod publish;

use std::sync::Arc;

use async_trait::async_trait;
use keryx_core::{
    AuthOptions, AuthReport, Context, Emulator, Metadata, Platform, PreparedPost, Registration,
    Result, VideoFile,
};

pub use config::FixtureConfig;

/// The platform id: config section, CLI word, registry key.
pub const PLATFORM: &str = "fixture";

pub struct Fixture;

inventory::submit!(Registration::new(&Fixture));

/// Referenced by a binary so the linker keeps this crate's registration.
pub fn link() {}

#[async_trait]
impl Platform for Fixture {
    fn id(&self) -> &'static str {
        PLATFORM
    }

    fn display_name(&self) -> &'static str {
        "Fixture"
    }

    fn check_config(&self, ctx: &Context) -> Result<()> {
        FixtureConfig::load(ctx).map(|_| ())
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
        emulator::FixtureEmulator::new()
    }
}
