//! The Google accounts the emulator plays, each owning one YouTube channel.
//!
//! A studio runs several channels, and keryx must keep their tokens apart, so the consent page
//! approves as whichever account the `browser_user` knob names (the user picking an account on
//! Google's chooser). Every account has its own consent, tokens, channel, videos and daily
//! upload cap; a token of one never shows or uploads into another's channel. The default
//! account is the demo channel ([`super::CHANNEL_TITLE`]); any other name is an account of its
//! own whose channel is derived from the name, so a test needs no set-up to add one.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::state::State;
use super::{ACCOUNT_EMAIL, CHANNEL_HANDLE, CHANNEL_ID, CHANNEL_TITLE};

/// The account the consent page approves as until `browser_user` names another.
pub const DEFAULT_USER: &str = "keryxdemo";

/// One account's channel as `channels.list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Channel {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) handle: String,
    pub(crate) email: String,
}

/// Whether `name` can be a `browser_user`: 1-30 lowercase letters and digits (a Gmail
/// username without its dots, which Gmail ignores, so each account has one spelling).
pub(crate) fn valid_user(name: &str) -> bool {
    (1..=30).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The channel of `user`: the demo channel for [`DEFAULT_USER`], otherwise a stable id
/// (`UC` and 22 base64url characters, 24 in all, reference §8), `<user> channel` and `@<user>`.
pub(crate) fn channel(user: &str) -> Channel {
    if user == DEFAULT_USER {
        return Channel {
            id: CHANNEL_ID.to_string(),
            title: CHANNEL_TITLE.to_string(),
            handle: CHANNEL_HANDLE.to_string(),
            email: ACCOUNT_EMAIL.to_string(),
        };
    }
    let digest = Sha256::digest(format!("keryx-youtube-emulator:channel:{user}").as_bytes());
    let encoded = URL_SAFE_NO_PAD.encode(digest);
    Channel {
        id: format!("UC{}", &encoded[..22]),
        title: format!("{user} channel"),
        handle: format!("@{user}"),
        email: format!("{user}@gmail.com"),
    }
}

pub(crate) fn default_user() -> String {
    DEFAULT_USER.to_string()
}

impl State {
    /// Every account the emulator has seen (consented, holding tokens or videos), the default
    /// account first and always: the channels `channels.list?id=` and `forHandle` can find.
    pub(crate) fn known_users(&self) -> Vec<String> {
        let store = &self.store;
        let mut others: BTreeSet<&str> = store.consents.keys().map(String::as_str).collect();
        others.extend(store.refresh_tokens.values().map(|t| t.user.as_str()));
        others.extend(store.videos.iter().map(|v| v.user.as_str()));
        others.remove(DEFAULT_USER);
        std::iter::once(DEFAULT_USER)
            .chain(others)
            .map(str::to_string)
            .collect()
    }

    /// The account removes this app in their Google Account (the `revoke_user` knob): every
    /// refresh and access token of theirs dies and their consent is forgotten, so the next
    /// authorisation shows the consent screen again. Other accounts are untouched.
    pub(crate) fn revoke_user(&mut self, user: &str) {
        let store = &mut self.store;
        store.refresh_tokens.retain(|_, t| t.user != user);
        store.access_tokens.retain(|_, t| t.user != user);
        store.consents.remove(user);
    }

    /// `stats().channels`: per account, its channel and what landed there.
    pub(crate) fn channel_stats(&mut self) -> Value {
        let users = self.known_users();
        let uploads = self.quota().uploads_by_user.clone();
        let rows: Vec<Value> = users
            .iter()
            .map(|user| {
                let c = channel(user);
                json!({
                    "user": user,
                    "email": c.email,
                    "channel_id": c.id,
                    "title": c.title,
                    "handle": c.handle,
                    "videos": self.store.videos.iter().filter(|v| v.user == *user).count(),
                    "live_refresh_tokens": self.live_refresh_tokens(Some(user)),
                    "uploads_today": uploads.get(user).copied().unwrap_or(0),
                    "sessions_open": self
                        .store
                        .sessions
                        .values()
                        .filter(|s| s.user == *user && s.final_reply.is_none())
                        .filter(|s| !self.session_gone(s))
                        .count(),
                })
            })
            .collect();
        json!(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_account_is_the_demo_channel() {
        let demo = channel(DEFAULT_USER);
        assert_eq!(demo.id, CHANNEL_ID);
        assert_eq!(
            format!("{} ({})", demo.title, demo.handle),
            "keryx demo channel (@keryxdemo)"
        );
        assert_eq!(demo.email, ACCOUNT_EMAIL);
    }

    #[test]
    fn other_accounts_have_channels_of_their_own() {
        let alice = channel("alice");
        let bob = channel("bob");
        for c in [&alice, &bob] {
            assert_eq!(c.id.len(), 24, "{c:?}");
            assert!(c.id.starts_with("UC"));
            assert!(
                c.id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_ne!(c.id, CHANNEL_ID);
        }
        assert_ne!(alice.id, bob.id);
        assert_eq!(alice, channel("alice"), "stable across calls and restarts");
        assert_eq!(
            (alice.title.as_str(), alice.handle.as_str()),
            ("alice channel", "@alice")
        );
    }

    #[test]
    fn user_names() {
        for ok in ["alice", "bob2", DEFAULT_USER, &"a".repeat(30)] {
            assert!(valid_user(ok), "{ok}");
        }
        for bad in ["", "Alice", "a.b", "a_b", "a b", &"a".repeat(31), "ålice"] {
            assert!(!valid_user(bad), "{bad}");
        }
    }
}
