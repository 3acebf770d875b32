//! The `platforms.instagram` section of the config.

use serde::Deserialize;

use keryx_core::{Context, Error, Result};

use crate::PLATFORM;

/// The Graph API version keryx speaks unless the config pins another (reference §0: v25.0 is
/// shown by Meta's Instagram pages and reported available until 2028-07-29).
pub const DEFAULT_GRAPH_VERSION: &str = "v25.0";
/// The loopback port of the redirect to register in the Meta app (Meta matches redirects
/// exactly, port included: reference §1.4).
pub const DEFAULT_REDIRECT_PORT: u16 = 53682;
/// 300 MB, Meta's documented Reel limit (reference §4; other pages say 1 GB, hence the knob).
pub const DEFAULT_MAX_VIDEO_BYTES: u64 = 300_000_000;
/// Reference §2.3: first poll after ~5 s, then every 10-15 s; deadline 10 min.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 10_000;
pub const DEFAULT_PROCESSING_TIMEOUT_SECS: u64 = 600;

/// ```yaml
/// platforms:
///   instagram:
///     enabled: false            # keryx auth instagram sets it to true
///     app_id: "1234567890"      # your Meta app's App ID (not a secret)
///     graph_version: v25.0      # the Graph API version keryx calls
///     redirect_port: 53682      # register http://localhost:53682/callback in the app
///     max_video_bytes: 300000000
///     share_to_feed: true       # Feed and Reels tab; false: Reels tab only
///     # chunk_size: 8388608     # send the file in ranges (default: one request, as Meta advises)
///     # poll_interval_ms: 10000
///     # processing_timeout_secs: 600
///     # graph_url / rupload_url / dialog_url: point keryx at `keryx emulator`
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstagramConfig {
    #[serde(default)]
    pub enabled: bool,
    /// The Meta app's App ID (App Dashboard > App settings > Basic).
    pub app_id: String,
    #[serde(default = "default_version")]
    pub graph_version: String,
    /// 0 picks a free port (only useful against the emulator, which registers any port).
    #[serde(default = "default_port")]
    pub redirect_port: u16,
    #[serde(default = "default_max")]
    pub max_video_bytes: u64,
    #[serde(default = "default_true")]
    pub share_to_feed: bool,
    pub chunk_size: Option<u64>,
    #[serde(default = "default_poll")]
    pub poll_interval_ms: u64,
    #[serde(default = "default_timeout")]
    pub processing_timeout_secs: u64,
    /// `https://graph.facebook.com` unless set.
    pub graph_url: Option<url::Url>,
    /// `https://rupload.facebook.com` unless set.
    pub rupload_url: Option<url::Url>,
    /// `https://www.facebook.com` (the login dialog) unless set.
    pub dialog_url: Option<url::Url>,
}

fn default_version() -> String {
    DEFAULT_GRAPH_VERSION.into()
}
fn default_port() -> u16 {
    DEFAULT_REDIRECT_PORT
}
fn default_max() -> u64 {
    DEFAULT_MAX_VIDEO_BYTES
}
fn default_true() -> bool {
    true
}
fn default_poll() -> u64 {
    DEFAULT_POLL_INTERVAL_MS
}
fn default_timeout() -> u64 {
    DEFAULT_PROCESSING_TIMEOUT_SECS
}

impl InstagramConfig {
    pub fn load(ctx: &Context) -> Result<InstagramConfig> {
        let config: InstagramConfig = ctx.require_section(
            PLATFORM,
            "add:\nplatforms:\n  instagram:\n    app_id: <your Meta app's App ID>\n(see docs/instagram.md)",
        )?;
        let path = ctx.config.path().display();
        let bad = |key: &str, why: String, hint: &str| {
            Error::input(format!("{path}: platforms.instagram.{key} {why}"))
                .with_hint(hint.to_string())
        };
        if config.app_id.trim().is_empty() {
            return Err(bad(
                "app_id",
                "is empty".into(),
                "copy the App ID from App Dashboard > App settings > Basic",
            ));
        }
        if !is_version(&config.graph_version) {
            return Err(bad(
                "graph_version",
                format!(
                    "is `{}`, not a Graph version such as v25.0",
                    config.graph_version
                ),
                "write it as vNN.N",
            ));
        }
        if config.chunk_size == Some(0) {
            return Err(bad(
                "chunk_size",
                "is 0".into(),
                "remove it to send the file in one request",
            ));
        }
        if config.max_video_bytes == 0 {
            return Err(bad(
                "max_video_bytes",
                "is 0".into(),
                "remove it for Meta's 300 MB",
            ));
        }
        for (key, url) in [
            ("graph_url", &config.graph_url),
            ("rupload_url", &config.rupload_url),
            ("dialog_url", &config.dialog_url),
        ] {
            if let Some(url) = url
                && !matches!(url.scheme(), "http" | "https")
            {
                return Err(bad(
                    key,
                    format!("must be an http(s) URL, not `{url}`"),
                    "remove it to use Meta's host",
                ));
            }
        }
        Ok(config)
    }

    fn base(url: &Option<url::Url>, default: &str) -> String {
        url.as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .unwrap_or_else(|| default.to_string())
    }

    /// A versioned Graph path: `graph("/me/accounts")`.
    pub fn graph(&self, path: &str) -> String {
        format!(
            "{}/{}{path}",
            Self::base(&self.graph_url, "https://graph.facebook.com"),
            self.graph_version
        )
    }

    /// The rupload URL of a container when the create reply had no `uri` (reference §2.1).
    pub fn rupload(&self, container: &str) -> String {
        format!(
            "{}/ig-api-upload/{}/{container}",
            Self::base(&self.rupload_url, "https://rupload.facebook.com"),
            self.graph_version
        )
    }

    pub fn dialog(&self) -> String {
        format!(
            "{}/{}/dialog/oauth",
            Self::base(&self.dialog_url, "https://www.facebook.com"),
            self.graph_version
        )
    }

    /// The rupload base, to check that a `uri` the server hands out goes where it should.
    pub fn rupload_base(&self) -> String {
        Self::base(&self.rupload_url, "https://rupload.facebook.com")
    }
}

pub fn is_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        })
}
