//! The `platforms.tiktok` section of the config.

use serde::Deserialize;

use keryx_core::{Context, Error, Result};

use crate::api::Privacy;

/// ```yaml
/// platforms:
///   tiktok:
///     enabled: false        # keryx auth tiktok sets it to true
///     client_key: sbawexample
///     privacy: SELF_ONLY    # the cap until TikTok's content-posting audit passes
///     mode: direct          # direct | inbox
///     base_url: http://127.0.0.1:7878   # optional: every endpoint from here (the emulator)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TikTokConfig {
    #[serde(default)]
    pub enabled: bool,
    /// The app's client key from TikTok for Developers (not a secret).
    pub client_key: String,
    /// The most open privacy keryx may use. Unaudited apps can only post SELF_ONLY.
    #[serde(default = "default_privacy")]
    pub privacy: Privacy,
    #[serde(default)]
    pub mode: Mode,
    /// Serve every TikTok endpoint (authorize, token, API, upload) from here, same paths.
    pub base_url: Option<url::Url>,
}

/// Direct Post publishes at once; inbox sends a draft the creator finishes in the TikTok app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Direct,
    Inbox,
}

fn default_privacy() -> Privacy {
    Privacy::SelfOnly
}

impl TikTokConfig {
    /// The section, or an error saying how to write one.
    pub fn load(ctx: &Context) -> Result<TikTokConfig> {
        let config: TikTokConfig = ctx.require_section(
            "tiktok",
            "add:\nplatforms:\n  tiktok:\n    client_key: <your app's client key>\n    privacy: SELF_ONLY\n(see docs/tiktok.md)",
        )?;
        if config.client_key.trim().is_empty() {
            return Err(Error::input(format!(
                "{}: platforms.tiktok.client_key is empty",
                ctx.config.path().display()
            ))
            .with_hint("copy the client key from your app's page on developers.tiktok.com"));
        }
        Ok(config)
    }

    /// The scopes keryx asks for: posting directly needs `video.publish`, drafts `video.upload`.
    pub fn scopes(&self) -> &'static [&'static str] {
        match self.mode {
            Mode::Direct => &["user.info.basic", "video.publish"],
            Mode::Inbox => &["user.info.basic", "video.upload"],
        }
    }

    /// The scope without which posting cannot work.
    pub fn posting_scope(&self) -> &'static str {
        match self.mode {
            Mode::Direct => "video.publish",
            Mode::Inbox => "video.upload",
        }
    }

    pub fn endpoints(&self) -> Endpoints {
        match &self.base_url {
            Some(base) => {
                let base = base.as_str().trim_end_matches('/').to_string();
                Endpoints {
                    web: base.clone(),
                    api: base,
                }
            }
            None => Endpoints {
                web: "https://www.tiktok.com".into(),
                api: "https://open.tiktokapis.com".into(),
            },
        }
    }
}

/// Where TikTok's endpoints live: the browser page on one host, the API on another.
#[derive(Debug, Clone)]
pub struct Endpoints {
    web: String,
    api: String,
}

impl Endpoints {
    pub fn authorize(&self) -> String {
        format!("{}/v2/auth/authorize/", self.web)
    }

    /// An API path such as `/v2/oauth/token/` (TikTok's paths all end in a slash).
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }
}
