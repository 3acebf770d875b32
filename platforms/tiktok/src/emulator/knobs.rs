//! Knobs: the emulator's modes, limits and one-shot faults, and the effective settings they set.
//!
//! Every numeric limit and every behaviour the reference marks "unverified" is a knob (reference,
//! "What a faithful fake server must enforce", first line). A knob document only changes the
//! knobs it names; `null` clears the optional ones. Unknown knobs are errors, so a typo in a CI
//! knob file cannot silently test nothing.
//!
//! Request counters used by knobs (`fail_chunk_with_5xx`, `drop_connection_on_chunk`) are
//! 1-based and count every upload PUT over the emulator's whole life, not since the last
//! `configure`; `stats().upload_puts` tells a test where the count stands.

use serde::{Deserialize, Deserializer};

use keryx_core::{Error, Result};

/// Scopes TikTok knows (reference §4 and §5). Anything else is `invalid_scope` at authorize time.
pub(crate) const KNOWN_SCOPES: &[&str] = &[
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.list",
    "video.publish",
    "video.upload",
];

/// Codes creator_info answers with HTTP 200 when the creator cannot post (reference §5.1).
pub(crate) const CANNOT_POST_CODES: &[&str] = &[
    "spam_risk_too_many_posts",
    "spam_risk_user_banned_from_posting",
    "reached_active_user_cap",
];

/// Documented `fail_reason` values (reference §7).
pub(crate) const FAIL_REASONS: &[&str] = &[
    "file_format_check_failed",
    "duration_check_failed",
    "frame_rate_check_failed",
    "picture_size_check_failed",
    "internal",
    "video_pull_failed",
    "photo_pull_failed",
    "publish_cancelled",
    "auth_removed",
    "spam_risk_too_many_posts",
    "spam_risk_user_banned_from_posting",
    "spam_risk_text",
    "spam_risk",
];

/// The knob document, exactly as users write it (YAML or JSON). All fields are optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Knobs {
    // --- authorize (reference §1, §2) ---
    deny_authorization: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    error_type: Option<Option<String>>,
    non_sandbox_target: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    withhold_scope: Option<Option<OneOrMany>>,
    browser_user: Option<String>,
    echo_state_on_error: Option<bool>,
    approved_scopes: Option<OneOrMany>,
    redirect_uris: Option<Vec<String>>,
    code_ttl_secs: Option<u64>,
    // --- token endpoint (reference §3) ---
    rotate_refresh_tokens: Option<bool>,
    refresh_grace_secs: Option<u64>,
    refresh_window_restarts: Option<bool>,
    invalidate_old_access_tokens: Option<bool>,
    access_token_ttl_secs: Option<u64>,
    refresh_token_ttl_secs: Option<u64>,
    error_http_status: Option<u16>,
    #[serde(default, deserialize_with = "nullable")]
    token_5xx_once: Option<Option<Fault5xx>>,
    advance_clock_secs: Option<u64>,
    // --- account, creator_info, init (reference §5, §9) ---
    account_private: Option<bool>,
    unaudited: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    creator_cannot_post: Option<Option<String>>,
    max_video_post_duration_sec: Option<u32>,
    comment_disabled: Option<bool>,
    duet_disabled: Option<bool>,
    stitch_disabled: Option<bool>,
    require_creator_info: Option<bool>,
    reject_branded_self_only: Option<bool>,
    daily_post_cap: Option<u32>,
    unaudited_user_cap: Option<u32>,
    pending_share_cap: Option<u32>,
    max_video_size: Option<u64>,
    rate_limits: Option<RateLimitKnobs>,
    rate_limit_init_once: Option<bool>,
    error_data: Option<ErrorData>,
    // --- upload (reference §6) ---
    upload_url_ttl_secs: Option<u64>,
    fail_chunk_with_5xx: Option<Vec<u64>>,
    drop_connection_on_chunk: Option<Vec<u64>>,
    progress_range: Option<ProgressRange>,
    // --- status (reference §7) ---
    polls_until_complete: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    fail_reason: Option<Option<String>>,
}

/// Per-token requests per sliding minute (reference §8, "Rate limits").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitKnobs {
    user_info: Option<u32>,
    creator_info: Option<u32>,
    video_init: Option<u32>,
    inbox_init: Option<u32>,
    status_fetch: Option<u32>,
    /// The sliding window in milliseconds (default 60000, TikTok's minute): a shorter one lets a
    /// test of many concurrent posts wait out several windows in seconds, not minutes.
    window_ms: Option<u64>,
}

/// `withhold_scope: video.publish`, `withhold_scope: "a,b"` or `withhold_scope: [a, b]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            OneOrMany::Many(v) => v,
        }
    }
}

/// `token_5xx_once: true` (503) or an explicit status such as `500`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Fault5xx {
    Flag(bool),
    Status(u16),
}

/// What the `data` of a v2 error envelope is: observed both ways (reference §5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ErrorData {
    /// `"data": {}`.
    EmptyObject,
    /// No `data` key at all.
    Omitted,
}

/// How the progress `Content-Range` of upload replies counts (reference §6.2 leaves it open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProgressRange {
    /// `bytes 0-{last byte index received}/{total}` (`bytes 0-0/{total}` before any byte).
    LastIndex,
    /// `bytes 0-{bytes received}/{total}`.
    ByteCount,
}

/// Distinguishes an absent knob (`None`) from `knob: null` (`Some(None)`, which clears it).
fn nullable<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Per-token sliding-minute limits in force.
#[derive(Debug, Clone)]
pub(crate) struct RateLimits {
    pub user_info: u32,
    pub creator_info: u32,
    pub video_init: u32,
    pub inbox_init: u32,
    pub status_fetch: u32,
    pub window: std::time::Duration,
}

/// The effective configuration. Defaults follow the reference; see the field comments.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Authorize redirects with `error=access_denied` (the likely Cancel value, reference §2).
    pub deny_authorization: bool,
    /// Extra `error_type` on a denial redirect (observed, reference §2).
    pub error_type: Option<String>,
    /// The signed-in account is not a sandbox target user (reference §9.1).
    pub non_sandbox_target: bool,
    /// Scopes the user unticks on the consent page (reference §2, Surprise 3).
    pub withhold_scope: Vec<String>,
    /// The TikTok account signed in to the fake browser; each name is its own creator.
    pub browser_user: String,
    /// Whether error redirects echo `state`; unverified (reference §2), default off so clients
    /// must cope with its absence.
    pub echo_state_on_error: bool,
    pub approved_scopes: Vec<String>,
    /// Registered redirect URIs, `*` standing for any port (reference §1.2).
    pub redirect_uris: Vec<String>,
    /// Authorization code lifetime; unverified, one source says 10 minutes (reference §2).
    pub code_ttl_secs: u64,
    /// Refresh returns a new refresh token (reference §3.2 says it may).
    pub rotate_refresh_tokens: bool,
    /// How long a rotated-out refresh token keeps working; unverified, default 0 = dies at once.
    pub refresh_grace_secs: u64,
    /// Whether a refresh restarts the 365-day window; the doc hints it does not (reference §3.2).
    pub refresh_window_restarts: bool,
    /// A new access token kills that user's older access tokens.
    pub invalidate_old_access_tokens: bool,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    /// HTTP status of OAuth error bodies; undocumented, 200 seen in the wild (reference §3.4).
    pub error_http_status: u16,
    /// One-shot: the next token call answers this 5xx.
    pub token_5xx_once: Option<u16>,
    /// The fake account is private (reference §9.2: unaudited clients need a private account).
    pub account_private: bool,
    /// The client is unaudited (reference §9.2): SELF_ONLY, private accounts, 5 posting users.
    pub unaudited: bool,
    /// creator_info says the creator cannot post (HTTP 200, reference §5.1); init refuses (403).
    pub creator_cannot_post: Option<String>,
    pub max_video_post_duration_sec: u32,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    /// video/init needs a creator_info answer for the user first (reference §9.4 item 1: fresh
    /// creator info every time; the fake checks privacy against the last answer).
    pub require_creator_info: bool,
    /// Branded content may not be SELF_ONLY (reference §5.3; API behaviour unverified).
    pub reject_branded_self_only: bool,
    /// Direct posts per creator per 24 h (reference §8: about 15).
    pub daily_post_cap: u32,
    /// Distinct posting users per 24 h for an unaudited client (reference §9.2).
    pub unaudited_user_cap: u32,
    /// Inbox drafts per creator per 24 h (reference §10).
    pub pending_share_cap: u32,
    /// Largest video: "4 GB" with the strict reading 4,000,000,000 (reference §6.3, Surprise 9).
    pub max_video_size: u64,
    pub rate_limits: RateLimits,
    /// One-shot: the next init (direct or inbox) answers 429 with `Retry-After: 1`.
    pub rate_limit_init_once: bool,
    /// The `data` of v2 error envelopes (reference §5.4: `{}` or missing).
    pub error_data: ErrorData,
    /// Upload URLs live 1 h (reference §5.2).
    pub upload_url_ttl_secs: u64,
    pub fail_chunk_with_5xx: Vec<u64>,
    pub drop_connection_on_chunk: Vec<u64>,
    pub progress_range: ProgressRange,
    /// The Nth status poll after the last chunk reports the final state.
    pub polls_until_complete: u32,
    /// When set, processing ends in FAILED with this reason.
    pub fail_reason: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            deny_authorization: false,
            error_type: None,
            non_sandbox_target: false,
            withhold_scope: Vec::new(),
            browser_user: "keryx_demo".to_string(),
            echo_state_on_error: false,
            approved_scopes: ["user.info.basic", "video.publish", "video.upload"]
                .map(String::from)
                .to_vec(),
            redirect_uris: vec![
                "http://127.0.0.1:*/callback/".to_string(),
                "http://localhost:*/callback/".to_string(),
            ],
            code_ttl_secs: 600,
            rotate_refresh_tokens: true,
            refresh_grace_secs: 0,
            refresh_window_restarts: false,
            invalidate_old_access_tokens: true,
            access_token_ttl_secs: 86_400,
            refresh_token_ttl_secs: 31_536_000,
            error_http_status: 400,
            token_5xx_once: None,
            account_private: true,
            unaudited: true,
            creator_cannot_post: None,
            max_video_post_duration_sec: 300,
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            require_creator_info: true,
            reject_branded_self_only: true,
            daily_post_cap: 15,
            unaudited_user_cap: 5,
            pending_share_cap: 5,
            max_video_size: 4_000_000_000,
            rate_limits: RateLimits {
                user_info: 600,
                creator_info: 20,
                video_init: 6,
                inbox_init: 6,
                status_fetch: 30,
                window: super::state::MINUTE,
            },
            rate_limit_init_once: false,
            error_data: ErrorData::EmptyObject,
            upload_url_ttl_secs: 3_600,
            fail_chunk_with_5xx: Vec::new(),
            drop_connection_on_chunk: Vec::new(),
            progress_range: ProgressRange::LastIndex,
            polls_until_complete: 2,
            fail_reason: None,
        }
    }
}

fn bad(knob: &str, why: impl std::fmt::Display) -> Error {
    Error::input(format!("tiktok emulator: knob `{knob}`: {why}"))
}

fn scopes(knob: &str, list: Vec<String>) -> Result<Vec<String>> {
    for s in &list {
        if !KNOWN_SCOPES.contains(&s.as_str()) {
            return Err(bad(
                knob,
                format!("unknown scope {s:?} (known: {})", KNOWN_SCOPES.join(", ")),
            ));
        }
    }
    Ok(list)
}

fn positive(knob: &str, v: u64) -> Result<u64> {
    if v == 0 {
        Err(bad(knob, "must be at least 1"))
    } else {
        Ok(v)
    }
}

/// A century: far beyond any lifetime worth testing, and small enough that fake times never
/// overflow.
pub(crate) const MAX_SECS: u64 = 100 * 365 * 86_400;

fn seconds(knob: &str, v: u64, min: u64) -> Result<u64> {
    if v < min || v > MAX_SECS {
        return Err(bad(
            knob,
            format!("must be between {min} and {MAX_SECS} seconds"),
        ));
    }
    Ok(v)
}

fn request_numbers(knob: &str, v: Vec<u64>) -> Result<Vec<u64>> {
    if v.contains(&0) {
        return Err(bad(
            knob,
            "request numbers are 1-based (the first upload PUT is 1)",
        ));
    }
    Ok(v)
}

/// A registered redirect (reference §1.2): absolute http(s) loopback URI with a port (or `*`),
/// no query or fragment, fewer than 512 characters.
fn redirect_registration(uri: &str) -> Result<()> {
    let knob = "redirect_uris";
    if uri.len() >= 512 {
        return Err(bad(knob, format!("{uri:?} is 512 characters or longer")));
    }
    let rest = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
        .ok_or_else(|| bad(knob, format!("{uri:?} must start with http:// or https://")))?;
    if uri.contains(['?', '#']) {
        return Err(bad(
            knob,
            format!("{uri:?} must not have a query or fragment"),
        ));
    }
    let (authority, _path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| bad(knob, format!("{uri:?} needs a port (or `*`)")))?;
    if host != "localhost" && host != "127.0.0.1" {
        return Err(bad(
            knob,
            format!("{uri:?}: desktop redirect hosts are localhost or 127.0.0.1"),
        ));
    }
    if port != "*" && port.parse::<u16>().map_or(true, |p| p == 0) {
        return Err(bad(
            knob,
            format!("{uri:?}: the port must be 1-65535 or `*`"),
        ));
    }
    Ok(())
}

impl Knobs {
    pub(crate) fn parse(value: &serde_yaml::Value) -> Result<Knobs> {
        if value.is_null() {
            return Ok(Knobs::default());
        }
        serde_yaml::from_value(value.clone()).map_err(|e| {
            Error::input(format!("tiktok emulator knobs: {e}")).with_hint(
                "see the knob list in keryx-tiktok's emulator documentation (emulator/knobs.rs)",
            )
        })
    }

    /// Validates every knob, then applies them all (nothing changes if one is invalid).
    /// Returns the seconds to add to the fake clock.
    pub(crate) fn apply(self, current: &Settings) -> Result<(Settings, u64)> {
        let mut s = current.clone();
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { s.$f = v; } )* };
        }
        set!(
            deny_authorization,
            non_sandbox_target,
            echo_state_on_error,
            rotate_refresh_tokens,
            refresh_window_restarts,
            invalidate_old_access_tokens,
            account_private,
            unaudited,
            max_video_post_duration_sec,
            comment_disabled,
            duet_disabled,
            stitch_disabled,
            require_creator_info,
            reject_branded_self_only,
            daily_post_cap,
            unaudited_user_cap,
            pending_share_cap,
            rate_limit_init_once,
            error_data,
            progress_range
        );
        if let Some(v) = self.error_type {
            s.error_type = v.filter(|t| !t.is_empty());
        }
        if let Some(v) = self.withhold_scope {
            s.withhold_scope = scopes(
                "withhold_scope",
                v.map(OneOrMany::into_vec).unwrap_or_default(),
            )?;
        }
        if let Some(v) = self.browser_user {
            let ok = !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._".contains(c));
            if !ok {
                return Err(bad(
                    "browser_user",
                    "use 1-64 characters of A-Z a-z 0-9 . _ (a TikTok username)",
                ));
            }
            s.browser_user = v;
        }
        if let Some(v) = self.approved_scopes {
            s.approved_scopes = scopes("approved_scopes", v.into_vec())?;
        }
        if let Some(v) = self.redirect_uris {
            if v.is_empty() || v.len() > 10 {
                return Err(bad(
                    "redirect_uris",
                    "register 1 to 10 URIs (reference §1.2)",
                ));
            }
            for uri in &v {
                redirect_registration(uri)?;
            }
            s.redirect_uris = v;
        }
        if let Some(v) = self.code_ttl_secs {
            s.code_ttl_secs = seconds("code_ttl_secs", v, 1)?;
        }
        if let Some(v) = self.access_token_ttl_secs {
            s.access_token_ttl_secs = seconds("access_token_ttl_secs", v, 1)?;
        }
        if let Some(v) = self.refresh_token_ttl_secs {
            s.refresh_token_ttl_secs = seconds("refresh_token_ttl_secs", v, 1)?;
        }
        if let Some(v) = self.refresh_grace_secs {
            s.refresh_grace_secs = seconds("refresh_grace_secs", v, 0)?;
        }
        if let Some(v) = self.error_http_status {
            if v != 200 && v != 400 {
                return Err(bad("error_http_status", "must be 200 or 400"));
            }
            s.error_http_status = v;
        }
        if let Some(v) = self.token_5xx_once {
            s.token_5xx_once = match v {
                None | Some(Fault5xx::Flag(false)) => None,
                Some(Fault5xx::Flag(true)) => Some(503),
                Some(Fault5xx::Status(code)) if (500..=599).contains(&code) => Some(code),
                Some(Fault5xx::Status(_)) => {
                    return Err(bad(
                        "token_5xx_once",
                        "must be true, false or a status 500-599",
                    ));
                }
            };
        }
        if let Some(v) = self.creator_cannot_post {
            if let Some(code) = &v
                && !CANNOT_POST_CODES.contains(&code.as_str())
            {
                return Err(bad(
                    "creator_cannot_post",
                    format!("must be one of {}", CANNOT_POST_CODES.join(", ")),
                ));
            }
            s.creator_cannot_post = v;
        }
        if let Some(v) = self.max_video_size {
            s.max_video_size = positive("max_video_size", v)?;
        }
        if let Some(r) = self.rate_limits {
            let l = &mut s.rate_limits;
            if let Some(ms) = r.window_ms {
                l.window = std::time::Duration::from_millis(positive("rate_limits.window_ms", ms)?);
            }
            for (name, knob, slot) in [
                ("user_info", r.user_info, &mut l.user_info),
                ("creator_info", r.creator_info, &mut l.creator_info),
                ("video_init", r.video_init, &mut l.video_init),
                ("inbox_init", r.inbox_init, &mut l.inbox_init),
                ("status_fetch", r.status_fetch, &mut l.status_fetch),
            ] {
                if let Some(v) = knob {
                    *slot = positive(&format!("rate_limits.{name}"), v.into())? as u32;
                }
            }
        }
        if let Some(v) = self.upload_url_ttl_secs {
            s.upload_url_ttl_secs = seconds("upload_url_ttl_secs", v, 1)?;
        }
        if let Some(v) = self.fail_chunk_with_5xx {
            s.fail_chunk_with_5xx = request_numbers("fail_chunk_with_5xx", v)?;
        }
        if let Some(v) = self.drop_connection_on_chunk {
            s.drop_connection_on_chunk = request_numbers("drop_connection_on_chunk", v)?;
        }
        if let Some(v) = self.polls_until_complete {
            s.polls_until_complete = positive("polls_until_complete", v.into())? as u32;
        }
        if let Some(v) = self.fail_reason {
            if let Some(reason) = &v
                && !FAIL_REASONS.contains(&reason.as_str())
            {
                return Err(bad(
                    "fail_reason",
                    format!("must be one of {}", FAIL_REASONS.join(", ")),
                ));
            }
            s.fail_reason = v;
        }
        let advance = seconds(
            "advance_clock_secs",
            self.advance_clock_secs.unwrap_or(0),
            0,
        )?;
        Ok((s, advance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(yaml: &str) -> Result<Settings> {
        let value: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        Knobs::parse(&value)?
            .apply(&Settings::default())
            .map(|(s, _)| s)
    }

    #[test]
    fn unknown_knob_is_an_error() {
        let err = apply("no_such_knob: 1").unwrap_err();
        assert!(err.message().contains("no_such_knob"), "{err}");
        assert!(apply("rate_limits: {video_inits: 3}").is_err());
    }

    #[test]
    fn null_clears_and_absent_keeps() {
        let s = apply("fail_reason: internal\nwithhold_scope: video.publish").unwrap();
        assert_eq!(s.fail_reason.as_deref(), Some("internal"));
        assert_eq!(s.withhold_scope, vec!["video.publish"]);
        let value: serde_yaml::Value =
            serde_yaml::from_str("fail_reason: null\ndaily_post_cap: 3").unwrap();
        let (s2, _) = Knobs::parse(&value).unwrap().apply(&s).unwrap();
        assert_eq!(s2.fail_reason, None);
        assert_eq!(s2.withhold_scope, vec!["video.publish"]);
        assert_eq!(s2.daily_post_cap, 3);
    }

    #[test]
    fn values_are_validated() {
        assert!(apply("error_http_status: 401").is_err());
        assert!(apply("fail_chunk_with_5xx: [0]").is_err());
        assert!(apply("creator_cannot_post: nope").is_err());
        assert!(apply("fail_reason: nope").is_err());
        assert!(apply("withhold_scope: [video.nope]").is_err());
        assert!(apply("redirect_uris: ['http://example.com:*/cb/']").is_err());
        assert!(apply("redirect_uris: ['http://127.0.0.1/cb/']").is_err());
        assert!(apply("redirect_uris: ['http://127.0.0.1:8080/cb/?x=1']").is_err());
        assert_eq!(
            apply("token_5xx_once: true").unwrap().token_5xx_once,
            Some(503)
        );
        assert_eq!(
            apply("token_5xx_once: 500").unwrap().token_5xx_once,
            Some(500)
        );
        assert!(apply("token_5xx_once: 404").is_err());
        assert!(apply("code_ttl_secs: 18446744073709551615").is_err());
        assert!(apply("advance_clock_secs: 18446744073709551615").is_err());
        assert_eq!(
            apply("progress_range: byte_count").unwrap().progress_range,
            ProgressRange::ByteCount
        );
    }
}
