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
//!
//! # Posting from Rust, without the CLI
//!
//! The job `keryx post all` runs is [`keryx_core::post`]. This example (a doctest, so it runs
//! with the tests) starts this platform's emulator on loopback, authorises against it with a
//! stand-in browser, and posts a video:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use keryx_core::post::{self, Ending, NoTracker, Request, Sidecar, Tracker};
//! use keryx_core::{AuthOptions, Context, Platform, Secret};
//!
//! # struct Browser;
//! # impl keryx_core::Ui for Browser {
//! #     fn info(&self, _: &str) {}
//! #     fn warn(&self, m: &str) { eprintln!("warning: {m}"); }
//! #     fn prompter(&self) -> Option<&dyn keryx_core::Prompter> { None }
//! #     // The emulator's consent page approves at once; follow its redirect to keryx's listener.
//! #     fn show(&self, url: &str) {
//! #         let url = url.trim().to_string();
//! #         tokio::spawn(async move {
//! #             let http = keryx_core::http::client().unwrap();
//! #             let page = http.get(&url).send().await.unwrap();
//! #             let to = page.headers()["location"].to_str().unwrap().to_string();
//! #             http.get(page.url().join(&to).unwrap()).send().await.unwrap();
//! #         });
//! #     }
//! # }
//! # #[tokio::main]
//! # async fn main() -> keryx_core::Result<()> {
//! let platform: &'static dyn Platform = &keryx_fixture_platform::Fixture;
//! let emulator = platform.emulator();
//! let running = keryx_core::emulator::serve(vec![emulator.clone()], 0).await?;
//!
//! // A config that points the platform at the emulator, in a directory of its own.
//! let dir = tempfile::tempdir().unwrap();
//! let paths = keryx_core::paths::Paths {
//!     config_file: dir.path().join("config.yaml"),
//!     state_dir: dir.path().join("state"),
//! };
//! let yaml = format!("secrets: file\nplatforms:\n  fixture:\n{}", emulator.client_config(&running.base_url));
//! std::fs::write(&paths.config_file, yaml).unwrap();
//! let context = |paths: &keryx_core::paths::Paths| -> keryx_core::Result<Context> {
//!     let config = keryx_core::config::Config::load(&paths.config_file, &["fixture"])?;
//!     let ui: Arc<dyn keryx_core::Ui> = Arc::new(Browser);
//!     let secrets = keryx_core::secrets::SecretStore::new(config.secrets_mode(), config.path(), ui.clone());
//!     Ok(Context::new(config, paths.clone(), secrets, keryx_core::http::client()?, ui))
//! };
//! let ctx = context(&paths)?;
//! let (_, client_secret) = emulator.client_secret();
//! ctx.secrets.set(&keryx_core::secrets::client_secret_name("fixture"), &Secret::new(client_secret))?;
//! let auth = AuthOptions { code: None, redirect: None, no_browser: true, timeout: Duration::from_secs(30), client_secrets: None, platform_options: Default::default(), app_password: false };
//! platform.authorize(&ctx, &auth).await?;
//!
//! // `keryx post all reel.mp4 --title "From Rust"`, as a library call.
//! let video = dir.path().join("reel.mp4");
//! keryx_core::media::synthetic::write_mp4(&video, Duration::from_secs(5), 1080, 1920, 200_000).unwrap();
//! let ctx = context(&paths)?; // `auth` changed the config on disk
//! let request = Request {
//!     video,
//!     sidecar: Sidecar::Skip,
//!     flags: keryx_core::Metadata { title: Some("From Rust".into()), ..Default::default() },
//!     options: Default::default(),
//!     targets: keryx_core::target::enabled(&ctx.config), // every enabled account: here, fixture's one
//!     skip_posted: true,
//!     dry_run: false,
//! };
//! let job = post::preflight(&ctx, &request).await.expect("preflight passes");
//! let outcomes = job.publish(&ctx, &|_| Box::new(NoTracker) as Box<dyn Tracker>).await;
//! match &outcomes[0].ending {
//!     Ending::Posted(report) => assert!(report.url.is_some()),
//!     _ => panic!("not posted"),
//! }
//!
//! // A rerun finds the post in the ledger and skips it.
//! let again = post::preflight(&ctx, &request).await.expect("preflight passes");
//! assert!(matches!(again.plans()[0].1, post::Plan::AlreadyPosted(_)));
//! # Ok(())
//! # }
//! ```

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
