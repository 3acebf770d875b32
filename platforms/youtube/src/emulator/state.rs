//! The emulator's state: what Google would remember (codes, tokens, sessions, videos, quota), the
//! fake clock, the effective knob settings and the counters behind `stats()`.
//!
//! The part Google would remember is [`Store`]; with the `state_file` knob it is written after
//! every change and read back when the knob is set, so a restarted emulator keeps sessions and
//! tokens (reference §9.6, last bullet: "restart the server with sessions persisted").

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::{Date, Duration, Month, OffsetDateTime};

use super::metadata::VideoMeta;
use super::users::{channel, default_user};

/// Real replies say `expires_in: 3599` (reference §2.3).
pub(crate) const ACCESS_TOKEN_LIFETIME: u64 = 3599;
/// Testing-status apps: `refresh_token_expires_in: 604799`, 7 days (reference §2.3, §2.4).
pub(crate) const TESTING_REFRESH_LIFETIME: u64 = 604_799;
/// Live refresh tokens per (account, client) before the oldest dies (reference §2.4).
pub(crate) const MAX_REFRESH_TOKENS: usize = 100;
/// Session lifetime: "about a week" (reference §3.8).
pub(crate) const SESSION_TTL: u64 = 7 * 24 * 3600;
/// Authorization codes are short-lived (reference §1.5: "a few minutes"; 10 minutes here).
pub(crate) const CODE_TTL: u64 = 600;
/// Upload bucket since 2026-06-01: 100 calls/day (reference §5.2).
pub(crate) const UPLOADS_PER_DAY: u64 = 100;
/// The shared pool: 10,000 units/day (reference §5.2).
pub(crate) const UNITS_PER_DAY: u64 = 10_000;
/// `videos.insert` in the legacy model (reference §5.2).
pub(crate) const LEGACY_INSERT_COST: u64 = 1600;
/// `thumbnails.set` (reference §5.2, §7).
pub(crate) const THUMBNAIL_COST: u64 = 50;
/// `thumbnails.set` `maxSize` from the discovery document revision 20261104 (reference §7):
/// 50 MiB since 2026-09-14.
pub(crate) const THUMBNAIL_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// `videos.insert` `maxSize` from the discovery document (reference §3.1): 256 GiB.
pub(crate) const MAX_UPLOAD_BYTES: u64 = 274_877_906_944;

/// Which quota rules `videos.insert` is charged under (reference §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum QuotaModel {
    /// Since 2026-06-01: a separate upload bucket of N calls/day, 1 per call.
    Buckets,
    /// Before 2025-12-04: 1600 units per upload from the shared 10,000.
    Legacy,
}

/// What `videos.list` polls end in (reference §4.2, §9.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    Succeeded,
    Failed,
    Rejected,
}

/// What `channels.list?mine=true` answers for an account without a channel (reference §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NoChannelReply {
    EmptyItems,
    SignupRequired,
}

/// A one-shot 5xx for one upload PUT (reference §3.7, §9.6).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fault {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<u64>,
}

/// The effective settings the knobs produce. Defaults are Google's behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The account the consent page approves as (see `users.rs`).
    pub(crate) browser_user: String,
    pub(crate) deny_authorization: bool,
    pub(crate) untick_scopes: Vec<String>,
    pub(crate) omit_refresh_token_on_repeat_consent: bool,
    pub(crate) code_ttl: u64,
    pub(crate) testing_mode: bool,
    pub(crate) rotate_refresh_tokens: bool,
    pub(crate) max_refresh_tokens: usize,
    pub(crate) access_token_lifetime: u64,
    pub(crate) expire_tokens_after_put: Option<u64>,
    pub(crate) private_by_account_settings: bool,
    pub(crate) quota_model: QuotaModel,
    pub(crate) quota_uploads_per_day: u64,
    pub(crate) quota_units_per_day: u64,
    pub(crate) channel_upload_cap: Option<u64>,
    pub(crate) no_channel: bool,
    pub(crate) no_channel_reply: NoChannelReply,
    pub(crate) session_ttl: u64,
    pub(crate) session_gone_status: u16,
    pub(crate) faults: BTreeMap<u64, Fault>,
    pub(crate) cuts: BTreeMap<u64, u64>,
    pub(crate) relocate: BTreeSet<u64>,
    pub(crate) retry_after_on_308: Option<u64>,
    pub(crate) lenient_chunk_sizes: bool,
    pub(crate) misaligned_offset_status: u16,
    pub(crate) completion_status: u16,
    pub(crate) processing_polls: u32,
    pub(crate) processing_outcome: Outcome,
    pub(crate) processing_stuck: bool,
    pub(crate) uploads_are_shorts: bool,
    pub(crate) thumbnail_unverified_channel: bool,
    pub(crate) thumbnail_rate_limited: bool,
    pub(crate) rate_limited: bool,
    pub(crate) thumbnail_max_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            browser_user: default_user(),
            deny_authorization: false,
            untick_scopes: Vec::new(),
            omit_refresh_token_on_repeat_consent: false,
            code_ttl: CODE_TTL,
            testing_mode: false,
            rotate_refresh_tokens: false,
            max_refresh_tokens: MAX_REFRESH_TOKENS,
            access_token_lifetime: ACCESS_TOKEN_LIFETIME,
            expire_tokens_after_put: None,
            private_by_account_settings: false,
            quota_model: QuotaModel::Buckets,
            quota_uploads_per_day: UPLOADS_PER_DAY,
            quota_units_per_day: UNITS_PER_DAY,
            channel_upload_cap: None,
            no_channel: false,
            no_channel_reply: NoChannelReply::EmptyItems,
            session_ttl: SESSION_TTL,
            session_gone_status: 404,
            faults: BTreeMap::new(),
            cuts: BTreeMap::new(),
            relocate: BTreeSet::new(),
            retry_after_on_308: None,
            lenient_chunk_sizes: false,
            misaligned_offset_status: 308,
            completion_status: 201,
            processing_polls: 2,
            processing_outcome: Outcome::Succeeded,
            processing_stuck: false,
            uploads_are_shorts: false,
            thumbnail_unverified_channel: false,
            thumbnail_rate_limited: false,
            rate_limited: false,
            thumbnail_max_bytes: THUMBNAIL_MAX_BYTES,
        }
    }
}

/// A PKCE challenge as sent to the authorize endpoint (reference §1.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Challenge {
    pub(crate) method: String,
    pub(crate) value: String,
}

/// An authorization code and everything it is bound to (reference §9.1, last bullet).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CodeGrant {
    /// The account that approved.
    #[serde(default = "default_user")]
    pub(crate) user: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) challenge: Option<Challenge>,
    pub(crate) expires_at: i64,
    pub(crate) issue_refresh_token: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshToken {
    #[serde(default = "default_user")]
    pub(crate) user: String,
    pub(crate) seq: u64,
    pub(crate) scopes: Vec<String>,
    /// `Some` in Testing mode (reference §2.4: 7 days after consent).
    pub(crate) expires_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessToken {
    #[serde(default = "default_user")]
    pub(crate) user: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: i64,
    /// The refresh token of the same grant: revoking either revokes both (reference §2.5).
    pub(crate) refresh_token: Option<String>,
}

/// The exact final reply of a session, replayed for any later PUT (reference §3.5, §9.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FinalReply {
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// A resumable upload session (reference §3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    /// The account that opened it: only its tokens may send bytes.
    #[serde(default = "default_user")]
    pub(crate) user: String,
    pub(crate) created_at: i64,
    pub(crate) parts: Vec<String>,
    pub(crate) meta: VideoMeta,
    pub(crate) notify_subscribers: bool,
    pub(crate) file_name: Option<String>,
    /// `X-Upload-Content-Length`, or the total a final `Content-Range` named.
    pub(crate) total: Option<u64>,
    pub(crate) declared_total: bool,
    pub(crate) content_type: Option<String>,
    pub(crate) committed: u64,
    /// Set by the `expire_sessions` knob: the session answers 404 from now on.
    pub(crate) expired: bool,
    pub(crate) final_reply: Option<FinalReply>,
    pub(crate) video_id: Option<String>,
    /// SHA-256 of the committed bytes; lost (and the video's `sha256` unknown) when the
    /// session is reloaded from a state file, since the hash state cannot be serialised.
    #[serde(skip)]
    pub(crate) hasher: Option<Sha256>,
}

/// A created video.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Video {
    /// The account whose channel it is on.
    #[serde(default = "default_user")]
    pub(crate) user: String,
    pub(crate) id: String,
    pub(crate) etag: String,
    pub(crate) published_at: i64,
    pub(crate) meta: VideoMeta,
    /// The privacy the video really has: the one asked for, or `private` when the creator's
    /// account settings say so (reference §5.1).
    pub(crate) privacy_status: String,
    pub(crate) file_name: Option<String>,
    pub(crate) bytes: u64,
    pub(crate) sha256: Option<String>,
    /// How many `videos.list` replies have shown it (drives processing, reference §9.7).
    pub(crate) polls: u32,
    pub(crate) thumbnail_bytes: Option<u64>,
    /// YouTube classified it as a Short (reference §6); set by the `uploads_are_shorts` knob,
    /// since the emulator does not read the media.
    #[serde(default)]
    pub(crate) short: bool,
}

/// Quota used on one Pacific day (reference §5.2: quotas reset at midnight Pacific Time).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Quota {
    pub(crate) day: i64,
    pub(crate) upload_calls: u64,
    pub(crate) units: u64,
    /// Sessions opened today by account, for the per-channel cap (`uploadLimitExceeded`,
    /// reference §5.2); the project's quota above is shared by all accounts.
    #[serde(default)]
    pub(crate) uploads_by_user: BTreeMap<String, u64>,
}

/// One account's consent to this client (reference §2.3: shown again only with
/// `prompt=consent`; `include_granted_scopes` adds what was granted before).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Consent {
    pub(crate) granted_scopes: Vec<String>,
}

/// What Google would remember; persisted with the `state_file` knob.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Store {
    pub(crate) clock_offset_secs: i64,
    pub(crate) next_seq: u64,
    pub(crate) codes: BTreeMap<String, CodeGrant>,
    pub(crate) refresh_tokens: BTreeMap<String, RefreshToken>,
    pub(crate) access_tokens: BTreeMap<String, AccessToken>,
    /// The accounts that have consented to this client, by account (reference §2.3).
    #[serde(default)]
    pub(crate) consents: BTreeMap<String, Consent>,
    pub(crate) sessions: BTreeMap<String, Session>,
    pub(crate) videos: Vec<Video>,
    pub(crate) quota: Quota,
}

/// Counters behind `stats()`; they describe this process, so they are not persisted.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) authorize_requests: u64,
    pub(crate) token_requests: u64,
    pub(crate) refresh_requests: u64,
    pub(crate) revoke_requests: u64,
    pub(crate) sessions_started: u64,
    pub(crate) upload_puts: u64,
    pub(crate) status_queries: u64,
    pub(crate) bytes_received: u64,
    pub(crate) bytes_committed: u64,
    pub(crate) concurrent_uploads: u64,
    pub(crate) peak_concurrent_uploads: u64,
    pub(crate) injected_5xx: u64,
    pub(crate) connections_cut: u64,
    pub(crate) thumbnails_set: u64,
    pub(crate) put_replies: BTreeMap<u16, u64>,
    pub(crate) api_errors: BTreeMap<&'static str, u64>,
}

pub(crate) struct State {
    pub(crate) store: Store,
    pub(crate) settings: Settings,
    pub(crate) counters: Counters,
    pub(crate) state_file: Option<PathBuf>,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            store: Store::default(),
            settings: Settings::default(),
            counters: Counters::default(),
            state_file: None,
        }
    }

    /// Unix seconds on the fake clock (real time plus `advance_clock_secs`).
    pub(crate) fn now(&self) -> i64 {
        OffsetDateTime::now_utc()
            .unix_timestamp()
            .saturating_add(self.store.clock_offset_secs)
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.store.next_seq += 1;
        self.store.next_seq
    }

    /// Writes the store to the state file, if there is one: to a temporary file, then renamed
    /// over the old one, so a crash never leaves half a file. A failure is logged, not fatal.
    pub(crate) fn persist(&self) {
        let Some(path) = &self.state_file else { return };
        let text = match serde_json::to_string(&self.store) {
            Ok(text) => text,
            Err(e) => {
                tracing::warn!("youtube emulator: cannot serialise state: {e}");
                return;
            }
        };
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        if let Err(e) = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)) {
            tracing::warn!("youtube emulator: cannot write {}: {e}", path.display());
        }
    }

    /// Reads a store written by [`State::persist`]. Sessions with nothing committed can still
    /// report a content hash; the others cannot (see [`Session::hasher`]).
    pub(crate) fn load(path: &std::path::Path) -> std::io::Result<Option<Store>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut store: Store = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        for session in store.sessions.values_mut() {
            if session.committed == 0 {
                session.hasher = Some(Sha256::new());
            }
        }
        Ok(Some(store))
    }

    /// Today's quota record, reset when the Pacific day changed.
    pub(crate) fn quota(&mut self) -> &mut Quota {
        let day = pacific_day(self.now());
        if self.store.quota.day != day {
            self.store.quota = Quota {
                day,
                ..Quota::default()
            };
        }
        &mut self.store.quota
    }

    /// Charges `units` from the shared pool, or refuses when they are not left (reference §5.2).
    pub(crate) fn charge_units(&mut self, units: u64) -> bool {
        let limit = self.settings.quota_units_per_day;
        let quota = self.quota();
        if quota.units.saturating_add(units) > limit {
            return false;
        }
        quota.units += units;
        true
    }

    /// Charges one `videos.insert` call under the selected model (reference §5.2).
    pub(crate) fn charge_insert(&mut self) -> bool {
        match self.settings.quota_model {
            QuotaModel::Buckets => {
                let limit = self.settings.quota_uploads_per_day;
                let quota = self.quota();
                if quota.upload_calls >= limit {
                    return false;
                }
                quota.upload_calls += 1;
                true
            }
            QuotaModel::Legacy => self.charge_units(LEGACY_INSERT_COST),
        }
    }

    /// Whether a session has outlived its TTL or was expired by a knob (reference §3.8).
    pub(crate) fn session_gone(&self, session: &Session) -> bool {
        session.expired || self.now() >= after(session.created_at, self.settings.session_ttl)
    }

    /// Live refresh tokens, of one account or (`None`) of all.
    pub(crate) fn live_refresh_tokens(&self, user: Option<&str>) -> usize {
        let now = self.now();
        self.store
            .refresh_tokens
            .values()
            .filter(|t| t.expires_at.is_none_or(|at| now < at))
            .filter(|t| user.is_none_or(|u| t.user == u))
            .count()
    }

    /// Expires every access token now (the `expire_access_token_after_requests` knob).
    pub(crate) fn expire_access_tokens(&mut self) {
        let now = self.now();
        for token in self.store.access_tokens.values_mut() {
            token.expires_at = token.expires_at.min(now);
        }
    }

    pub(crate) fn count_error(&mut self, reason: &'static str) {
        *self.counters.api_errors.entry(reason).or_default() += 1;
    }

    /// What the emulator saw, for tests and `GET /__emulator/youtube/stats`.
    ///
    /// - `videos`: `{count, items: [{id, channel_id, title, privacy_status,
    ///   requested_privacy_status, upload_status, short, bytes, sha256, thumbnail_bytes}]}`
    /// - `channels`: every account seen, the default first: `[{user, email, channel_id, title,
    ///   handle, videos, live_refresh_tokens, uploads_today, sessions_open}]` (see `users.rs`)
    /// - `sessions_started`, `sessions_open`: resumable sessions opened / still open
    /// - `upload_puts`: every PUT to a session URI (data, status queries, refused ones);
    ///   `status_queries`: those that were status queries; `put_replies`: PUT counts by status
    /// - `bytes_received`: PUT body bytes read (so tests can bound re-sent bytes);
    ///   `bytes_committed`: bytes stored into sessions
    /// - `concurrent_uploads`, `peak_concurrent_uploads`: PUTs reading a body at once
    /// - `injected_5xx`, `connections_cut`: faults injected by knobs
    /// - `live_refresh_tokens`, `live_access_tokens`, `authorize_requests`, `token_requests`,
    ///   `refresh_requests` (refresh grants), `revoke_requests`, `thumbnails_set`
    /// - `quota_used`: `{model, upload_calls, units, channel_uploads}` for the current Pacific day
    /// - `api_errors`: API error replies by `reason`
    pub(crate) fn stats(&mut self) -> Value {
        let now = self.now();
        let settings = self.settings.clone();
        let videos: Vec<Value> = self
            .store
            .videos
            .iter()
            .map(|v| {
                let (upload_status, _) = super::api::processing_state(v, &settings, false);
                json!({
                    "id": v.id,
                    "channel_id": channel(&v.user).id,
                    "title": v.meta.title,
                    "privacy_status": v.privacy_status,
                    "requested_privacy_status": v.meta.requested_privacy(),
                    "upload_status": upload_status,
                    "short": v.short,
                    "bytes": v.bytes,
                    "sha256": v.sha256,
                    "thumbnail_bytes": v.thumbnail_bytes,
                })
            })
            .collect();
        let sessions_open = self
            .store
            .sessions
            .values()
            .filter(|s| s.final_reply.is_none() && !self.session_gone(s))
            .count();
        let live_access_tokens = self
            .store
            .access_tokens
            .values()
            .filter(|t| now < t.expires_at)
            .count();
        let live_refresh_tokens = self.live_refresh_tokens(None);
        let channels = self.channel_stats();
        let model = self.settings.quota_model;
        let quota = self.quota().clone();
        let c = &self.counters;
        let put_replies: BTreeMap<String, u64> = c
            .put_replies
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        json!({
            "videos": { "count": videos.len(), "items": videos },
            "channels": channels,
            "sessions_started": c.sessions_started,
            "sessions_open": sessions_open,
            "upload_puts": c.upload_puts,
            "status_queries": c.status_queries,
            "put_replies": put_replies,
            "bytes_received": c.bytes_received,
            "bytes_committed": c.bytes_committed,
            "concurrent_uploads": c.concurrent_uploads,
            "peak_concurrent_uploads": c.peak_concurrent_uploads,
            "injected_5xx": c.injected_5xx,
            "connections_cut": c.connections_cut,
            "live_refresh_tokens": live_refresh_tokens,
            "live_access_tokens": live_access_tokens,
            "authorize_requests": c.authorize_requests,
            "token_requests": c.token_requests,
            "refresh_requests": c.refresh_requests,
            "revoke_requests": c.revoke_requests,
            "thumbnails_set": c.thumbnails_set,
            "quota_used": {
                "model": model,
                "upload_calls": quota.upload_calls,
                "units": quota.units,
                "channel_uploads": quota.uploads_by_user.values().sum::<u64>(),
            },
            "api_errors": c.api_errors,
        })
    }
}

/// `now + secs` on the fake clock, saturating: knob values can be any u64.
pub(crate) fn after(now: i64, secs: u64) -> i64 {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// `n` random bytes as base64url without padding.
pub(crate) fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// An 11-character video id (reference §4.3): 64 random bits in base64url, as YouTube's ids are.
pub(crate) fn video_id() -> String {
    random_b64(8)
}

/// RFC 3339 with whole seconds and `Z`, as `publishedAt` is.
pub(crate) fn rfc3339(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The day number in Pacific Time, where YouTube's quota day starts (reference §5.2), with US
/// daylight saving time (second Sunday of March to first Sunday of November, 02:00 local).
pub(crate) fn pacific_day(unix: i64) -> i64 {
    let offset = if pacific_dst(unix) {
        -7 * 3600
    } else {
        -8 * 3600
    };
    unix.saturating_add(offset).div_euclid(86_400)
}

fn pacific_dst(unix: i64) -> bool {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(unix) else {
        return false;
    };
    let (Some(start), Some(end)) = (
        nth_sunday(t.year(), Month::March, 2),
        nth_sunday(t.year(), Month::November, 1),
    ) else {
        return false;
    };
    // 02:00 PST is 10:00 UTC; 02:00 PDT is 09:00 UTC.
    let start = start.midnight().assume_utc().unix_timestamp() + 10 * 3600;
    let end = end.midnight().assume_utc().unix_timestamp() + 9 * 3600;
    (start..end).contains(&unix)
}

fn nth_sunday(year: i32, month: Month, n: i64) -> Option<Date> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let to_sunday = (7 - i64::from(first.weekday().number_days_from_sunday())) % 7;
    first.checked_add(Duration::days(to_sunday + 7 * (n - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacific_days_follow_daylight_saving() {
        // 2026-03-08 is the second Sunday of March: 09:59 UTC is still PST (01:59 local).
        let before = OffsetDateTime::parse(
            "2026-03-08T09:59:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp();
        assert!(!pacific_dst(before));
        assert!(pacific_dst(before + 120));
        // Midnight PDT (07:00 UTC) starts a new day in summer; midnight PST (08:00 UTC) in winter.
        let summer = OffsetDateTime::parse(
            "2026-07-01T07:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp();
        assert_eq!(pacific_day(summer), pacific_day(summer - 1) + 1);
        let winter = OffsetDateTime::parse(
            "2026-01-15T08:00:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp();
        assert_eq!(pacific_day(winter), pacific_day(winter - 1) + 1);
    }

    #[test]
    fn video_ids_are_eleven_url_safe_characters() {
        for _ in 0..100 {
            let id = video_id();
            assert_eq!(id.len(), 11);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
    }

    #[test]
    fn rfc3339_has_whole_seconds() {
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
    }
}
