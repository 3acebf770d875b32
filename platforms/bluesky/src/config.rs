//! The `platforms.bluesky` section of the config.

use serde::Deserialize;

use keryx_core::{Context, Error, Result};

use crate::PLATFORM;

/// ```yaml
/// platforms:
///   bluesky:
///     enabled: false            # keryx auth bluesky sets it
///     handle: alice.bsky.social
///     langs: [en]               # optional: the post's languages (at most 3 BCP-47 tags)
///     # optional: pds (skip resolution), plc_directory, video_service, upload: auto | video-service | pds
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlueskyConfig {
    #[serde(default)]
    pub enabled: bool,
    /// The account: its handle (`alice.bsky.social`) or DID.
    pub handle: String,
    #[serde(default)]
    pub langs: Vec<String>,
    /// The account's PDS; when set, the handle is resolved there and the DID document is not
    /// looked up.
    pub pds: Option<url::Url>,
    /// Where `did:plc` documents are read (default `https://plc.directory`).
    pub plc_directory: Option<url::Url>,
    /// Bluesky's video service (default `https://video.bsky.app`).
    pub video_service: Option<url::Url>,
    /// Which way the video goes: `auto` (default), `video-service` or `pds`.
    #[serde(default)]
    pub upload: UploadPath,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UploadPath {
    #[default]
    Auto,
    VideoService,
    Pds,
}

/// The lexicon's limit on `langs`.
pub const MAX_LANGS: usize = 3;

impl BlueskyConfig {
    /// The section, or an error saying how to write one.
    pub fn load(ctx: &Context) -> Result<BlueskyConfig> {
        let path = ctx.config.path().display();
        let config: BlueskyConfig = ctx.section(PLATFORM)?.ok_or_else(|| {
            Error::input(format!("{path}: no `platforms.bluesky` section")).with_hint(
                "add:\nplatforms:\n  bluesky:\n    handle: <your handle, e.g. alice.bsky.social>",
            )
        })?;
        let handle = config.handle.trim();
        if handle.is_empty() || handle.contains(char::is_whitespace) || handle.starts_with('@') {
            return Err(Error::input(format!(
                "{path}: platforms.bluesky.handle must be a handle like alice.bsky.social or a DID, not `{}`",
                config.handle
            ))
            .with_hint("write the handle without `@`"));
        }
        for (key, url) in [
            ("pds", &config.pds),
            ("plc_directory", &config.plc_directory),
            ("video_service", &config.video_service),
        ] {
            if let Some(url) = url
                && !matches!(url.scheme(), "http" | "https")
            {
                return Err(Error::input(format!(
                    "{path}: platforms.bluesky.{key} must be an http(s) URL, not `{url}`"
                )));
            }
        }
        if config.langs.len() > MAX_LANGS {
            return Err(Error::input(format!(
                "{path}: platforms.bluesky.langs has {} languages; a post takes at most {MAX_LANGS}",
                config.langs.len()
            )));
        }
        for lang in &config.langs {
            if !crate::text::is_language_tag(lang) {
                return Err(Error::input(format!(
                    "{path}: platforms.bluesky.langs: `{lang}` is not a BCP-47 language tag"
                ))
                .with_hint("use tags like en, pt-BR, ja"));
            }
        }
        Ok(config)
    }

    /// The handle as written, trimmed.
    pub fn handle(&self) -> &str {
        self.handle.trim()
    }
}

/// A URL without its trailing slash, joined with an absolute `path`.
pub fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}
