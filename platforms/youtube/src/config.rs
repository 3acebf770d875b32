//! The `platforms.youtube` section of the config.

use serde::Deserialize;

use keryx_core::{Context, Error, Result};

use crate::api::Privacy;

/// Non-final upload chunks must be whole multiples of this (reference §3.3).
pub const CHUNK_UNIT: u64 = 256 * 1024;
/// 8 MiB: small enough for steady progress and cheap retries on a shaky link, large enough that
/// the per-request overhead is negligible (§3.3 calls chunking "rarely necessary" but it is
/// what makes progress and resumption precise).
pub const DEFAULT_CHUNK_SIZE: u64 = 32 * CHUNK_UNIT;

/// ```yaml
/// platforms:
///   youtube:
///     enabled: false          # keryx auth youtube sets it to true
///     client_id: 1234-abc.apps.googleusercontent.com
///     privacy: private        # the cap: private | unlisted | public
///     category: "22"          # optional default category id (People & Blogs)
///     made_for_kids: false    # the channel's usual audience; see below
///     chunk_size: 8388608     # optional, bytes, a multiple of 262144
///     base_url: http://127.0.0.1:7878   # optional: every Google endpoint from here (the emulator)
/// ```
///
/// `made_for_kids` may be left out, but then every post must say it (`--youtube-made-for-kids`, or
/// `made_for_kids:` in the video's sidecar): YouTube requires an audience decision for every
/// upload (§4.2), and keryx will not make that legal declaration on the creator's behalf.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YouTubeConfig {
    #[serde(default)]
    pub enabled: bool,
    /// The Desktop app OAuth client's id (`….apps.googleusercontent.com`; not a secret).
    pub client_id: String,
    /// The most open privacy keryx may use; `privacyStatus` is always sent, since YouTube
    /// makes a video without one public (§5.1).
    #[serde(default = "default_privacy")]
    pub privacy: Privacy,
    /// Default category id, a numeric string such as "22".
    pub category: Option<String>,
    /// Default for `status.selfDeclaredMadeForKids`; per-post metadata overrides it.
    pub made_for_kids: Option<bool>,
    /// Upload chunk size in bytes; a multiple of 262144 (256 KiB).
    pub chunk_size: Option<u64>,
    /// Serve every Google endpoint (authorize, token, API, upload) from here, same paths.
    pub base_url: Option<url::Url>,
}

fn default_privacy() -> Privacy {
    Privacy::Private
}

impl YouTubeConfig {
    /// The section, or an error saying how to write one.
    pub fn load(ctx: &Context) -> Result<YouTubeConfig> {
        let file = ctx.config.path().display().to_string();
        let section: YouTubeConfig = ctx.require_section(
            "youtube",
            "run `keryx auth youtube --client-secrets client_secret.json` with the Desktop app \
             credentials downloaded from the Google Cloud console, or add:\nplatforms:\n  youtube:\n    \
             client_id: <id>.apps.googleusercontent.com\n    privacy: private\n(see docs/youtube.md)",
        )?;
        section.validate(&file)?;
        Ok(section)
    }

    fn validate(&self, file: &str) -> Result<()> {
        if self.client_id.trim().is_empty() {
            return Err(Error::input(format!("{file}: platforms.youtube.client_id is empty")).with_hint(
                "copy the client id of your Desktop app OAuth client from console.cloud.google.com \
                 (APIs & Services > Credentials), or use `keryx auth youtube --client-secrets FILE`",
            ));
        }
        if let Some(category) = &self.category {
            check_category(category)
                .map_err(|e| e.context(format!("{file}: platforms.youtube.category")))?;
        }
        if let Some(size) = self.chunk_size {
            check_chunk_size(size)
                .map_err(|e| e.context(format!("{file}: platforms.youtube.chunk_size")))?;
        }
        if let Some(base) = &self.base_url
            && (!matches!(base.scheme(), "http" | "https") || base.host_str().is_none())
        {
            return Err(Error::input(format!("{file}: platforms.youtube.base_url `{base}` is not an http(s) address"))
                .with_hint("use e.g. http://127.0.0.1:7878 (the emulator), or remove base_url to talk to Google"));
        }
        Ok(())
    }

    pub fn chunk_size(&self) -> u64 {
        self.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE)
    }

    pub fn endpoints(&self) -> Endpoints {
        match &self.base_url {
            Some(base) => {
                let base = base.as_str().trim_end_matches('/').to_string();
                Endpoints {
                    accounts: base.clone(),
                    oauth: base.clone(),
                    api: base,
                }
            }
            None => Endpoints {
                accounts: "https://accounts.google.com".into(),
                oauth: "https://oauth2.googleapis.com".into(),
                api: "https://www.googleapis.com".into(),
            },
        }
    }
}

/// A category id is a numeric string (§4.1); names are not accepted by the API.
pub fn check_category(category: &str) -> Result<()> {
    if category.is_empty() || !category.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::input(format!(
            "category `{category}` is not a YouTube category id"
        ))
        .with_hint(
            "use the number, e.g. \"22\" (People & Blogs); others: 1 Film & Animation, 10 Music, \
             17 Sports, 20 Gaming, 23 Comedy, 24 Entertainment, 26 Howto & Style, 27 Education, \
             28 Science & Technology",
        ));
    }
    Ok(())
}

/// Non-final chunks must be whole multiples of 256 KiB (§3.3).
pub fn check_chunk_size(size: u64) -> Result<()> {
    if size == 0 || !size.is_multiple_of(CHUNK_UNIT) {
        let lower = (size / CHUNK_UNIT).max(1) * CHUNK_UNIT;
        return Err(Error::input(format!(
            "chunk size {size} is not a positive multiple of {CHUNK_UNIT} bytes (256 KiB), which YouTube requires"
        ))
        .with_hint(format!("use e.g. {lower}, or leave chunk_size out for {DEFAULT_CHUNK_SIZE} (8 MiB)")));
    }
    Ok(())
}

/// Where Google's endpoints live: the consent page, the token endpoint and the API/upload host.
#[derive(Debug, Clone)]
pub struct Endpoints {
    accounts: String,
    oauth: String,
    api: String,
}

impl Endpoints {
    /// The consent page (§1.2).
    pub fn authorize(&self) -> String {
        format!("{}/o/oauth2/v2/auth", self.accounts)
    }

    /// The token endpoint (§2).
    pub fn token(&self) -> String {
        format!("{}/token", self.oauth)
    }

    /// The revocation endpoint (§2.5), beside the token endpoint.
    pub fn revoke(&self) -> String {
        format!("{}/revoke", self.oauth)
    }

    /// An API or upload path such as `/youtube/v3/channels` or `/upload/youtube/v3/videos`.
    pub fn api(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> std::result::Result<YouTubeConfig, serde_yaml::Error> {
        serde_yaml::from_str(yaml)
    }

    #[test]
    fn chunk_sizes_must_be_multiples_of_256_kib() {
        assert!(check_chunk_size(262_144).is_ok());
        assert!(check_chunk_size(DEFAULT_CHUNK_SIZE).is_ok());
        assert!(check_chunk_size(100 * 1024 * 1024).is_ok());
        assert!(check_chunk_size(0).is_err());
        assert!(check_chunk_size(262_143).is_err());
        let err = check_chunk_size(524_888).unwrap_err();
        assert!(err.hint().unwrap().contains("524288"), "{:?}", err.hint());
        assert!(
            check_chunk_size(1000)
                .unwrap_err()
                .hint()
                .unwrap()
                .contains("262144")
        );
    }

    #[test]
    fn categories_are_numeric_strings() {
        assert!(check_category("22").is_ok());
        assert!(check_category("").is_err());
        assert!(check_category("People & Blogs").is_err());
        assert!(check_category("-1").is_err());
    }

    #[test]
    fn defaults_and_unknown_keys() {
        let config = parse("client_id: x.apps.googleusercontent.com").unwrap();
        assert!(!config.enabled);
        assert_eq!(config.privacy, Privacy::Private);
        assert_eq!(config.made_for_kids, None);
        assert_eq!(config.chunk_size(), 8 * 1024 * 1024);
        assert!(config.validate("c.yaml").is_ok());
        assert!(parse("client_id: x\nclient_secret: y").is_err());
        assert!(parse("client_id: x\nprivacy: friends").is_err());
        assert!(parse("enabled: true").is_err(), "client_id is required");
        let bad = parse("client_id: x\nchunk_size: 1000").unwrap();
        assert!(
            bad.validate("c.yaml")
                .unwrap_err()
                .message()
                .contains("platforms.youtube.chunk_size")
        );
        let blank = parse("client_id: ' '").unwrap();
        assert!(blank.validate("c.yaml").is_err());
    }

    #[test]
    fn base_url_serves_every_endpoint() {
        let config = parse("client_id: x\nbase_url: http://127.0.0.1:7878/").unwrap();
        let e = config.endpoints();
        assert_eq!(e.authorize(), "http://127.0.0.1:7878/o/oauth2/v2/auth");
        assert_eq!(e.token(), "http://127.0.0.1:7878/token");
        assert_eq!(
            e.api("/upload/youtube/v3/videos"),
            "http://127.0.0.1:7878/upload/youtube/v3/videos"
        );
        let google = parse("client_id: x").unwrap().endpoints();
        assert_eq!(
            google.authorize(),
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        assert_eq!(google.token(), "https://oauth2.googleapis.com/token");
        assert_eq!(
            google.api("/youtube/v3/channels"),
            "https://www.googleapis.com/youtube/v3/channels"
        );
    }
}
