//! The emulator's memory: fake clock, codes, grants, tokens, creators, publishes, counters.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use super::knobs::Settings;

pub(crate) const DAY: Duration = Duration::from_secs(86_400);
pub(crate) const MINUTE: Duration = Duration::from_secs(60);

/// An authorization code waiting to be exchanged.
pub(crate) struct AuthCode {
    pub user: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub challenge: String,
    pub issued_at: Duration,
    pub used: bool,
}

/// One user's consent to the app; its refresh tokens share the 365-day window (reference §3.1).
pub(crate) struct Grant {
    pub user: String,
    pub scopes: Vec<String>,
    pub refresh_expires_at: Duration,
}

pub(crate) struct AccessToken {
    pub grant: u64,
    pub expires_at: Duration,
}

pub(crate) struct RefreshToken {
    pub grant: u64,
    /// Set when rotated out with a grace period.
    pub dies_at: Option<Duration>,
}

/// Per creator: the last creator_info answer and the posting history for the 24 h caps.
#[derive(Default)]
pub(crate) struct Creator {
    pub privacy_options: Option<Vec<&'static str>>,
    pub direct_posts: Vec<Duration>,
    pub inbox_posts: Vec<Duration>,
}

#[derive(Clone)]
pub(crate) enum Outcome {
    Complete { post_ids: Vec<u64> },
    Inbox,
    Failed(String),
}

pub(crate) struct Publish {
    pub publish_id: String,
    pub user: String,
    pub inbox: bool,
    pub post_info: serde_json::Value,
    pub privacy_level: Option<String>,
    pub video_size: u64,
    pub chunk_size: u64,
    pub chunk_count: u64,
    pub upload_token: String,
    pub url_issued_at: Duration,
    pub received: u64,
    pub hasher: Sha256,
    pub sha256: Option<String>,
    pub polls_after_upload: u32,
    pub outcome: Option<Outcome>,
}

impl Publish {
    /// Expected length of the chunk starting at `offset` (reference §6.1: the last chunk
    /// swallows the remainder).
    pub fn chunk_len_at(&self, offset: u64) -> u64 {
        let index = offset / self.chunk_size;
        if index + 1 >= self.chunk_count {
            self.video_size - offset
        } else {
            self.chunk_size
        }
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub authorize_requests: u64,
    pub authorizations: u64,
    pub token_requests: u64,
    pub refresh_requests: u64,
    pub revocations: u64,
    pub rate_limited: u64,
    pub creator_info_queries: u64,
    pub inits: u64,
    pub upload_puts: u64,
    pub bytes_received: u64,
    pub uploads_completed: u64,
    pub posts_completed: u64,
    pub posts_failed: u64,
    pub inbox_delivered: u64,
    pub status_fetches: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Endpoint {
    UserInfo,
    CreatorInfo,
    VideoInit,
    InboxInit,
    StatusFetch,
}

pub(crate) struct State {
    pub settings: Settings,
    started: Instant,
    clock_offset: Duration,
    pub codes: HashMap<String, AuthCode>,
    pub grants: HashMap<u64, Grant>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    pub creators: HashMap<String, Creator>,
    pub publishes: Vec<Publish>,
    pub by_upload_id: HashMap<String, usize>,
    rate: HashMap<(String, Endpoint), VecDeque<Duration>>,
    pub counters: Counters,
    pub in_flight: u64,
    pub peak_in_flight: u64,
    next_id: u64,
}

impl State {
    pub fn new() -> Self {
        State {
            settings: Settings::default(),
            started: Instant::now(),
            clock_offset: Duration::ZERO,
            codes: HashMap::new(),
            grants: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            creators: HashMap::new(),
            publishes: Vec::new(),
            by_upload_id: HashMap::new(),
            rate: HashMap::new(),
            counters: Counters::default(),
            in_flight: 0,
            peak_in_flight: 0,
            next_id: 1,
        }
    }

    /// Fake time since the emulator started: real time plus `advance_clock_secs`.
    pub fn now(&self) -> Duration {
        self.started.elapsed() + self.clock_offset
    }

    /// Moves the fake clock forward. The total offset is capped (ten centuries) so fake
    /// timestamps never overflow.
    pub fn advance_clock(&mut self, secs: u64) -> std::result::Result<(), String> {
        let total = self.clock_offset + Duration::from_secs(secs);
        if total.as_secs() > 10 * super::knobs::MAX_SECS {
            return Err(format!(
                "the fake clock would move {} s ahead, more than ten centuries",
                total.as_secs()
            ));
        }
        self.clock_offset = total;
        Ok(())
    }

    pub fn clock_offset_secs(&self) -> u64 {
        self.clock_offset.as_secs()
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A log id like TikTok's `202210112248442CB9319E1FB30C1073F3`: UTC timestamp (on the fake
    /// clock) and 20 uppercase hex digits.
    pub fn log_id(&self) -> String {
        let wall = SystemTime::now() + self.clock_offset;
        let t = time::OffsetDateTime::from(wall);
        let stamp = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        let mut rng = rand::rng();
        let tail: String = (0..20)
            .map(|_| char::from(b"0123456789ABCDEF"[rng.random_range(0..16)]))
            .collect();
        stamp + &tail
    }

    pub fn access_live(&self, token: &str) -> Option<&Grant> {
        let at = self.access.get(token)?;
        if at.expires_at <= self.now() {
            return None;
        }
        self.grants.get(&at.grant)
    }

    pub fn refresh_live(&self, token: &str) -> Option<u64> {
        let rt = self.refresh.get(token)?;
        let now = self.now();
        if rt.dies_at.is_some_and(|d| d <= now) {
            return None;
        }
        let grant = self.grants.get(&rt.grant)?;
        (grant.refresh_expires_at > now).then_some(rt.grant)
    }

    pub fn live_access_tokens(&self) -> usize {
        self.access
            .keys()
            .filter(|t| self.access_live(t).is_some())
            .count()
    }

    pub fn live_refresh_tokens(&self) -> usize {
        self.refresh
            .keys()
            .filter(|t| self.refresh_live(t).is_some())
            .count()
    }

    /// Issues an access token for `grant`; by default the user's older access tokens die.
    pub fn issue_access(&mut self, grant: u64) -> String {
        let user = self.grants[&grant].user.clone();
        if self.settings.invalidate_old_access_tokens {
            let grants = &self.grants;
            self.access
                .retain(|_, t| grants.get(&t.grant).is_none_or(|g| g.user != user));
        }
        let n = self.next_id();
        let token = format!("act.{}!{n:04}.va", random_b64(36));
        let expires_at = self.now() + Duration::from_secs(self.settings.access_token_ttl_secs);
        self.access
            .insert(token.clone(), AccessToken { grant, expires_at });
        token
    }

    pub fn issue_refresh(&mut self, grant: u64) -> String {
        let n = self.next_id();
        let token = format!("rft.{}!{n:04}.va", random_b64(36));
        self.refresh.insert(
            token.clone(),
            RefreshToken {
                grant,
                dies_at: None,
            },
        );
        token
    }

    /// Revoke (reference §3.3): the app leaves the user's permissions, so every token of every
    /// grant of that user dies and unfinished publishes fail with `auth_removed` (reference §7).
    pub fn revoke_user(&mut self, user: &str) {
        let dead: Vec<u64> = self
            .grants
            .iter()
            .filter(|(_, g)| g.user == user)
            .map(|(id, _)| *id)
            .collect();
        self.access.retain(|_, t| !dead.contains(&t.grant));
        self.refresh.retain(|_, t| !dead.contains(&t.grant));
        for id in dead {
            self.grants.remove(&id);
        }
        for p in self
            .publishes
            .iter_mut()
            .filter(|p| p.user == user && p.outcome.is_none())
        {
            p.outcome = Some(Outcome::Failed("auth_removed".into()));
            self.counters.posts_failed += 1;
        }
    }

    /// Counts a request against the per-token sliding minute (reference §8). `Err` carries the
    /// seconds until the oldest request leaves the window.
    pub fn rate_check(&mut self, token: &str, endpoint: Endpoint) -> std::result::Result<(), u64> {
        let limits = &self.settings.rate_limits;
        let limit = match endpoint {
            Endpoint::UserInfo => limits.user_info,
            Endpoint::CreatorInfo => limits.creator_info,
            Endpoint::VideoInit => limits.video_init,
            Endpoint::InboxInit => limits.inbox_init,
            Endpoint::StatusFetch => limits.status_fetch,
        } as usize;
        let span = limits.window;
        let now = self.now();
        let window = self.rate.entry((token.to_string(), endpoint)).or_default();
        while window.front().is_some_and(|t| *t + span <= now) {
            window.pop_front();
        }
        if window.len() >= limit {
            let oldest = window.front().copied().unwrap_or(now);
            self.counters.rate_limited += 1;
            return Err((oldest + span).saturating_sub(now).as_secs_f64().ceil() as u64);
        }
        window.push_back(now);
        Ok(())
    }

    pub fn creator(&mut self, user: &str) -> &mut Creator {
        self.creators.entry(user.to_string()).or_default()
    }

    /// Direct posts by `user` in the last 24 h.
    pub fn posts_today(&self, user: &str) -> usize {
        let now = self.now();
        self.creators.get(user).map_or(0, |c| {
            c.direct_posts.iter().filter(|t| **t + DAY > now).count()
        })
    }

    pub fn inbox_today(&self, user: &str) -> usize {
        let now = self.now();
        self.creators.get(user).map_or(0, |c| {
            c.inbox_posts.iter().filter(|t| **t + DAY > now).count()
        })
    }

    /// Why this creator cannot post now, if so: the knob, the daily cap, or (unaudited) the
    /// distinct-posting-user cap (reference §8 "Posting caps", §9.2).
    pub fn cannot_post(&self, user: &str) -> Option<(&'static str, &'static str)> {
        if let Some(code) = &self.settings.creator_cannot_post {
            let code = super::knobs::CANNOT_POST_CODES
                .iter()
                .copied()
                .find(|c| c == code)?;
            return Some((code, cannot_post_message(code)));
        }
        if self.posts_today(user) >= self.settings.daily_post_cap as usize {
            let code = "spam_risk_too_many_posts";
            return Some((code, cannot_post_message(code)));
        }
        if self.settings.unaudited && self.posts_today(user) == 0 {
            let others = self
                .creators
                .keys()
                .filter(|u| *u != user && self.posts_today(u) > 0)
                .count();
            if others >= self.settings.unaudited_user_cap as usize {
                let code = "reached_active_user_cap";
                return Some((code, cannot_post_message(code)));
            }
        }
        None
    }
}

fn cannot_post_message(code: &str) -> &'static str {
    match code {
        "spam_risk_too_many_posts" => {
            "The creator has reached the daily post cap for API clients. Please try again later."
        }
        "spam_risk_user_banned_from_posting" => "The creator is banned from posting.",
        _ => {
            "The client has reached its daily quota of active posting users. Please try again later."
        }
    }
}

pub(crate) fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

pub(crate) fn random_digits(n: usize) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(n);
    s.push(char::from(b'1' + rng.random_range(0..9u8)));
    for _ in 1..n {
        s.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    s
}

/// A stable per-user id shaped like TikTok's (`afd97af1-b87b-48b9-ac98-410aghda5344`).
pub(crate) fn derived_id(kind: &str, user: &str) -> String {
    let h = hex::encode(Sha256::digest(format!(
        "keryx-tiktok-emulator:{kind}:{user}"
    )));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
