//! The `platforms.fixture` section of the config.

use serde::Deserialize;

use keryx_core::{Context, Error, Result};

use crate::PLATFORM;

/// ```yaml
/// platforms:
///   fixture:
///     enabled: false                   # keryx auth fixture sets it to true
///     account: fixture-demo            # optional: refuse an authorisation by anyone else
///     base_url: http://127.0.0.1:7878  # required: the service exists only as its emulator
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureConfig {
    #[serde(default)]
    pub enabled: bool,
    /// The account keryx must be authorised as; any account when absent.
    pub account: Option<String>,
    /// Where the service (its emulator) answers.
    pub base_url: url::Url,
}

impl FixtureConfig {
    /// The section, or an error saying how to write one. Errors inside it come from
    /// `Config::section` with the file, line and key.
    pub fn load(ctx: &Context) -> Result<FixtureConfig> {
        let path = ctx.config.path().display();
        let config: FixtureConfig = ctx.section(PLATFORM)?.ok_or_else(|| {
            Error::input(format!("{path}: no `platforms.fixture` section")).with_hint(
                "add:\nplatforms:\n  fixture:\n    base_url: <the address `keryx emulator` prints>",
            )
        })?;
        if !matches!(config.base_url.scheme(), "http" | "https") {
            return Err(Error::input(format!(
                "{path}: platforms.fixture.base_url must be an http(s) URL, not `{}`",
                config.base_url
            )));
        }
        if config
            .account
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(
                Error::input(format!("{path}: platforms.fixture.account is empty"))
                    .with_hint("remove the key to accept any account, or give the account's name"),
            );
        }
        Ok(config)
    }

    /// `base_url` joined with an absolute `path` (`/fixture/...`).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.as_str().trim_end_matches('/'))
    }
}
