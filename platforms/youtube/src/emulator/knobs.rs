//! Knobs: the emulator's modes, limits, one-shot faults and actions (reference §9: "Make every
//! limit configurable and expose fault-injection switches").
//!
//! A knob document only changes the knobs it names; `null` clears the optional ones. Unknown
//! knobs are errors, so a typo in a CI knob file cannot silently test nothing. A document is
//! checked whole before anything is applied.
//!
//! Request numbers (`fail_requests_with_5xx`, `cut_connection`, `expire_access_token_after_requests`,
//! `relocate_session_on_requests`) are 1-based and count every PUT to a session URI over the
//! emulator's life (data, status queries and refused ones alike); `stats().upload_puts` says
//! where the count stands.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use keryx_core::{Error, Result};

use super::state::{Fault, NoChannelReply, Outcome, QuotaModel, State};
use super::users::valid_user;

pub(crate) const HINT: &str = "see the knob list in platforms/youtube/src/emulator/knobs.rs";

/// The knob document, exactly as users write it (YAML or JSON). All fields are optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Knobs {
    // --- consent page (reference §9.1) ---
    /// The Google account the user signs in as and approves with (see `users.rs`): 1-30
    /// lowercase letters and digits. Default `keryxdemo`, the demo channel.
    browser_user: Option<String>,
    /// The simulated user clicks "Cancel": redirect with `error=access_denied`. Default false.
    deny_authorization: Option<bool>,
    /// Scopes the user unticks on the granular consent screen (reference §1.5). Default none.
    untick_scopes: Option<Vec<String>>,
    /// Omit `refresh_token` on a repeat consent without `prompt=consent` (reference §2.3). Default false.
    omit_refresh_token_on_repeat_consent: Option<bool>,
    /// Authorization code lifetime. Default 600.
    code_ttl_secs: Option<u64>,
    // --- tokens (reference §9.2, §9.3) ---
    /// Consent screen in "Testing": refresh tokens die after 7 days. Default false.
    testing_mode: Option<bool>,
    /// Refresh replies carry a new refresh token and kill the old one. Default false.
    rotate_refresh_tokens: Option<bool>,
    /// Live refresh tokens per account and client before the oldest dies. Default 100.
    max_refresh_tokens: Option<usize>,
    /// Lifetime (and `expires_in`) of new access tokens. Default 3599.
    access_token_lifetime_secs: Option<u64>,
    /// Every access token dies right after the n-th upload PUT (the session survives). One-shot.
    #[serde(default, deserialize_with = "nullable")]
    expire_access_token_after_requests: Option<Option<u64>>,
    /// Action: every access token dies now.
    expire_access_tokens: Option<bool>,
    /// Action: every refresh token (and its access tokens) is revoked now, as if the user
    /// removed the app's access in their Google Account.
    revoke_refresh_tokens: Option<bool>,
    /// Action: that account removes the app's access in their Google Account: its tokens die
    /// and its consent is forgotten; other accounts keep theirs.
    revoke_user: Option<String>,
    // --- project, channel and quota (reference §5.1, §5.2) ---
    /// The creator's account settings make uploads default to private, whatever was asked
    /// (reference §5.1; the unaudited-project lock ended on 2026-11-02). Default false.
    private_by_account_settings: Option<bool>,
    /// `buckets` (since 2026-06-01, default) or `legacy` (1600 units per upload).
    quota_model: Option<QuotaModel>,
    /// Upload bucket size in the `buckets` model. Default 100.
    quota_uploads_per_day: Option<u64>,
    /// Shared pool. Default 10000.
    quota_units_per_day: Option<u64>,
    /// The channel's daily upload cap (`uploadLimitExceeded`). Default none (unpublished).
    #[serde(default, deserialize_with = "nullable")]
    channel_upload_cap: Option<Option<u64>>,
    /// No account has a YouTube channel. Default false.
    no_channel: Option<bool>,
    /// What `channels.list?mine=true` answers then: `empty_items` (default) or `signup_required`.
    no_channel_reply: Option<NoChannelReply>,
    // --- sessions and bytes (reference §9.6) ---
    /// Session lifetime. Default 604800 (a week).
    session_ttl_secs: Option<u64>,
    /// Action: every existing session answers 404 from now on.
    expire_sessions: Option<bool>,
    /// What an unknown or expired session answers: 404 (default) or 410.
    session_gone_status: Option<u16>,
    /// Upload PUT numbers answered with a 5xx instead of being processed (nothing is stored):
    /// `[2, 5]` (503) or `[{request: 2, status: 500, retry_after: 3}]`.
    fail_requests_with_5xx: Option<Vec<FaultKnob>>,
    /// `[{request: n, after_bytes: k}]`: read k bytes of that PUT's body, commit only the
    /// 256 KiB-aligned prefix of them, then drop the connection without a reply.
    cut_connection: Option<Vec<CutKnob>>,
    /// Upload PUT numbers whose 308 carries a new session `Location`; the old URI then answers
    /// 404 (reference §3.4: clients should switch to it).
    relocate_session_on_requests: Option<Vec<u64>>,
    /// `Retry-After` seconds on every 308 (reference §3.4). Default none.
    #[serde(default, deserialize_with = "nullable")]
    retry_after_on_308: Option<Option<u64>>,
    /// Commit the largest 256 KiB multiple of a non-final chunk that is not one, instead of
    /// refusing it (reference §3.3, GCS behaviour). Default false (strict).
    lenient_chunk_sizes: Option<bool>,
    /// What a chunk not starting at the committed offset gets: 308 (default) or 400.
    misaligned_offset_status: Option<u16>,
    /// Status of the completing PUT: 201 (default) or 200.
    completion_status: Option<u16>,
    // --- after the upload (reference §9.7) ---
    /// `videos.list` replies that still show the video processing. Default 2.
    processing_polls: Option<u32>,
    /// `succeeded` (default), `failed` or `rejected`.
    processing_outcome: Option<Outcome>,
    /// Processing never ends and its progress stops moving (a stuck transcode). Default false.
    processing_stuck: Option<bool>,
    /// Uploads finished from now on are Shorts (reference §6): their thumbnail is refused until
    /// processing succeeded. The emulator does not read the media, so it cannot tell from the
    /// file as YouTube does (at most 180 s, height >= width). Default false.
    uploads_are_shorts: Option<bool>,
    /// The channel is not phone-verified: `thumbnails.set` answers 403 `forbidden`. Default false.
    thumbnail_unverified_channel: Option<bool>,
    /// `thumbnails.set` answers 429 `uploadRateLimitExceeded`. Default false.
    thumbnail_rate_limited: Option<bool>,
    /// Every authorised call answers 403 `rateLimitExceeded` (reference §5.3: back off and
    /// retry), for as long as it is set. Default false.
    rate_limited: Option<bool>,
    /// Thumbnail size limit. Default 52428800 (50 MiB, since 2026-09-14).
    thumbnail_max_bytes: Option<u64>,
    // --- clock and persistence ---
    /// Moves the fake clock forward (token, code and session expiry; quota days).
    advance_clock_secs: Option<u64>,
    /// Persist codes, tokens, sessions, videos and quota to this JSON file after every change;
    /// setting it loads the file if it exists (a restart that keeps sessions).
    state_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FaultKnob {
    Request(u64),
    Detailed(FaultDetail),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultDetail {
    request: u64,
    #[serde(default = "default_fault_status")]
    status: u16,
    retry_after: Option<u64>,
}

fn default_fault_status() -> u16 {
    503
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CutKnob {
    request: u64,
    after_bytes: u64,
}

/// `Some(None)` for an explicit `null`, `None` when the key is absent.
fn nullable<'de, D, T>(deserializer: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn one_of(name: &str, value: u16, allowed: &[u16]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Error::input(format!(
            "{name}: {value} is not one of {allowed:?}"
        )))
    }
}

fn positive(name: &str, value: u64) -> Result<()> {
    if value == 0 {
        Err(Error::input(format!("{name}: request numbers start at 1")))
    } else {
        Ok(())
    }
}

impl Knobs {
    /// Checks every value, then applies them all (nothing is applied if one is wrong).
    pub(crate) fn apply(self, state: &mut State) -> Result<()> {
        if let Some(status) = self.session_gone_status {
            one_of("session_gone_status", status, &[404, 410])?;
        }
        if let Some(status) = self.misaligned_offset_status {
            one_of("misaligned_offset_status", status, &[308, 400])?;
        }
        if let Some(status) = self.completion_status {
            one_of("completion_status", status, &[200, 201])?;
        }
        let mut faults = Vec::new();
        for fault in self.fail_requests_with_5xx.iter().flatten() {
            let (request, fault) = match fault {
                FaultKnob::Request(n) => (
                    *n,
                    Fault {
                        status: 503,
                        retry_after: None,
                    },
                ),
                FaultKnob::Detailed(d) => (
                    d.request,
                    Fault {
                        status: d.status,
                        retry_after: d.retry_after,
                    },
                ),
            };
            positive("fail_requests_with_5xx", request)?;
            one_of(
                "fail_requests_with_5xx status",
                fault.status,
                &[500, 502, 503, 504],
            )?;
            faults.push((request, fault));
        }
        for cut in self.cut_connection.iter().flatten() {
            positive("cut_connection", cut.request)?;
        }
        for n in self.relocate_session_on_requests.iter().flatten() {
            positive("relocate_session_on_requests", *n)?;
        }
        if let Some(Some(n)) = self.expire_access_token_after_requests {
            positive("expire_access_token_after_requests", n)?;
        }
        for (name, user) in [
            ("browser_user", &self.browser_user),
            ("revoke_user", &self.revoke_user),
        ] {
            if let Some(user) = user.as_deref().filter(|u| !valid_user(u)) {
                return Err(Error::input(format!(
                    "{name}: {user:?} is not an account name: use 1-30 lowercase letters and digits"
                )));
            }
        }
        if self.max_refresh_tokens == Some(0) {
            return Err(Error::input("max_refresh_tokens: must be at least 1"));
        }
        if self.access_token_lifetime_secs == Some(0) {
            return Err(Error::input(
                "access_token_lifetime_secs: must be at least 1",
            ));
        }
        let loaded = match &self.state_file {
            Some(path) => State::load(path).map_err(|e| {
                Error::input(format!("state_file: cannot read {}", path.display()))
                    .with_source(e)
                    .with_hint("delete the file to start from an empty state")
            })?,
            None => None,
        };

        // Everything is valid: apply. The state file first, so the other knobs act on it.
        if let Some(path) = self.state_file {
            if let Some(store) = loaded {
                state.store = store;
            }
            state.state_file = Some(path);
        }
        let s = &mut state.settings;
        set(&mut s.browser_user, self.browser_user);
        set(&mut s.deny_authorization, self.deny_authorization);
        set(&mut s.untick_scopes, self.untick_scopes);
        set(
            &mut s.omit_refresh_token_on_repeat_consent,
            self.omit_refresh_token_on_repeat_consent,
        );
        set(&mut s.code_ttl, self.code_ttl_secs);
        set(&mut s.testing_mode, self.testing_mode);
        set(&mut s.rotate_refresh_tokens, self.rotate_refresh_tokens);
        set(&mut s.max_refresh_tokens, self.max_refresh_tokens);
        set(
            &mut s.access_token_lifetime,
            self.access_token_lifetime_secs,
        );
        set(
            &mut s.expire_tokens_after_put,
            self.expire_access_token_after_requests,
        );
        set(
            &mut s.private_by_account_settings,
            self.private_by_account_settings,
        );
        set(&mut s.quota_model, self.quota_model);
        set(&mut s.quota_uploads_per_day, self.quota_uploads_per_day);
        set(&mut s.quota_units_per_day, self.quota_units_per_day);
        set(&mut s.channel_upload_cap, self.channel_upload_cap);
        set(&mut s.no_channel, self.no_channel);
        set(&mut s.no_channel_reply, self.no_channel_reply);
        set(&mut s.session_ttl, self.session_ttl_secs);
        set(&mut s.session_gone_status, self.session_gone_status);
        if self.fail_requests_with_5xx.is_some() {
            s.faults = faults.into_iter().collect();
        }
        if let Some(cuts) = self.cut_connection {
            s.cuts = cuts
                .into_iter()
                .map(|c| (c.request, c.after_bytes))
                .collect();
        }
        if let Some(relocate) = self.relocate_session_on_requests {
            s.relocate = relocate.into_iter().collect();
        }
        set(&mut s.retry_after_on_308, self.retry_after_on_308);
        set(&mut s.lenient_chunk_sizes, self.lenient_chunk_sizes);
        set(
            &mut s.misaligned_offset_status,
            self.misaligned_offset_status,
        );
        set(&mut s.completion_status, self.completion_status);
        set(&mut s.processing_polls, self.processing_polls);
        set(&mut s.processing_outcome, self.processing_outcome);
        set(&mut s.processing_stuck, self.processing_stuck);
        set(&mut s.uploads_are_shorts, self.uploads_are_shorts);
        set(
            &mut s.thumbnail_unverified_channel,
            self.thumbnail_unverified_channel,
        );
        set(&mut s.thumbnail_rate_limited, self.thumbnail_rate_limited);
        set(&mut s.rate_limited, self.rate_limited);
        set(&mut s.thumbnail_max_bytes, self.thumbnail_max_bytes);

        if let Some(secs) = self.advance_clock_secs {
            state.store.clock_offset_secs = state
                .store
                .clock_offset_secs
                .saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
        }
        if self.expire_sessions == Some(true) {
            for session in state.store.sessions.values_mut() {
                session.expired = true;
            }
        }
        if self.expire_access_tokens == Some(true) {
            state.expire_access_tokens();
        }
        if self.revoke_refresh_tokens == Some(true) {
            state.store.refresh_tokens.clear();
            state
                .store
                .access_tokens
                .retain(|_, t| t.refresh_token.is_none());
        }
        if let Some(user) = self.revoke_user {
            state.revoke_user(&user);
        }
        state.persist();
        Ok(())
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(yaml: &str, state: &mut State) -> Result<()> {
        let knobs: Knobs = serde_yaml::from_str(yaml).map_err(|e| Error::input(e.to_string()))?;
        knobs.apply(state)
    }

    #[test]
    fn unknown_knobs_are_refused() {
        assert!(serde_yaml::from_str::<Knobs>("fail_chunks: [1]").is_err());
        assert!(serde_yaml::from_str::<Knobs>("cut_connection: [{request: 1, after: 3}]").is_err());
    }

    #[test]
    fn a_bad_value_applies_nothing() {
        let mut state = State::new();
        assert!(
            apply(
                "deny_authorization: true\ncompletion_status: 204",
                &mut state
            )
            .is_err()
        );
        assert!(!state.settings.deny_authorization);
        assert!(apply("fail_requests_with_5xx: [0]", &mut state).is_err());
        assert!(
            apply(
                "fail_requests_with_5xx: [{request: 2, status: 501}]",
                &mut state
            )
            .is_err()
        );
    }

    #[test]
    fn accounts_are_named_and_revoked_one_at_a_time() {
        let mut state = State::new();
        assert_eq!(state.settings.browser_user, super::super::DEFAULT_USER);
        assert!(apply("browser_user: Alice", &mut state).is_err());
        assert!(apply("revoke_user: a_b\nbrowser_user: bob", &mut state).is_err());
        assert_eq!(state.settings.browser_user, "keryxdemo", "nothing applied");
        apply("browser_user: bob", &mut state).unwrap();
        assert_eq!(state.settings.browser_user, "bob");
        for (token, user) in [("1//a", "alice"), ("1//b", "bob")] {
            state.store.refresh_tokens.insert(
                token.to_string(),
                super::super::state::RefreshToken {
                    user: user.to_string(),
                    seq: 1,
                    scopes: Vec::new(),
                    expires_at: None,
                },
            );
            state
                .store
                .consents
                .insert(user.to_string(), Default::default());
        }
        apply("revoke_user: alice", &mut state).unwrap();
        let left: Vec<&str> = state
            .store
            .refresh_tokens
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(left, ["1//b"]);
        assert!(!state.store.consents.contains_key("alice"));
        assert!(state.store.consents.contains_key("bob"));
    }

    #[test]
    fn faults_and_nulls() {
        let mut state = State::new();
        apply("fail_requests_with_5xx: [2, {request: 4, status: 500, retry_after: 1}]\nchannel_upload_cap: 3", &mut state)
            .unwrap();
        assert_eq!(state.settings.faults[&2].status, 503);
        assert_eq!(state.settings.faults[&4].status, 500);
        assert_eq!(state.settings.faults[&4].retry_after, Some(1));
        assert_eq!(state.settings.channel_upload_cap, Some(3));
        apply("channel_upload_cap: null", &mut state).unwrap();
        assert_eq!(state.settings.channel_upload_cap, None);
        assert_eq!(
            state.settings.faults.len(),
            2,
            "knobs not named are unchanged"
        );
    }
}
