//! TikTok's wire types (reference: shared/reference/tiktok-api.md §3–7).

use serde::{Deserialize, Deserializer, Serialize};

use keryx_core::Secret;

/// Who may see a post. Ordered from most private to most open, so a cap is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Privacy {
    SelfOnly,
    MutualFollowFriends,
    FollowerOfCreator,
    PublicToEveryone,
}

impl Privacy {
    pub const ALL: [Privacy; 4] = [
        Privacy::SelfOnly,
        Privacy::MutualFollowFriends,
        Privacy::FollowerOfCreator,
        Privacy::PublicToEveryone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::SelfOnly => "SELF_ONLY",
            Privacy::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
            Privacy::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
            Privacy::PublicToEveryone => "PUBLIC_TO_EVERYONE",
        }
    }

    pub fn parse(text: &str) -> Option<Privacy> {
        Privacy::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// Words a creator recognises, for the interactive choice.
    pub fn label(self) -> &'static str {
        match self {
            Privacy::SelfOnly => "Only me (SELF_ONLY)",
            Privacy::MutualFollowFriends => "Friends (MUTUAL_FOLLOW_FRIENDS)",
            Privacy::FollowerOfCreator => "Followers (FOLLOWER_OF_CREATOR)",
            Privacy::PublicToEveryone => "Everyone (PUBLIC_TO_EVERYONE)",
        }
    }
}

/// The token endpoint's flat reply (§3.1); on failure it carries `error` instead (§3.4),
/// sometimes with HTTP 200, so both shapes are read from one struct.
#[derive(Debug, Default, Deserialize)]
pub struct TokenReply {
    pub access_token: Option<Secret>,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<Secret>,
    pub refresh_expires_in: Option<i64>,
    pub open_id: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub log_id: Option<String>,
}

/// The `error` object of every non-OAuth reply (§5.4). Success is exactly `code == "ok"`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, alias = "logid")]
    pub log_id: String,
}

/// The `data` of `{"data": ..., "error": {...}}`, read only once `error.code` said `ok`: on
/// errors `data` may be missing or `{}`, which no typed `T` has to fit (§5.4).
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: Option<T>,
}

#[derive(Debug, Deserialize)]
pub struct UserInfoData {
    pub user: UserInfo,
}

#[derive(Debug, Deserialize)]
pub struct UserInfo {
    pub open_id: Option<String>,
    pub display_name: Option<String>,
}

/// creator_info/query (§5.1).
#[derive(Debug, Clone, Deserialize)]
pub struct CreatorInfo {
    #[serde(default)]
    pub creator_nickname: String,
    #[serde(default)]
    pub creator_username: String,
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    #[serde(default)]
    pub comment_disabled: bool,
    #[serde(default)]
    pub duet_disabled: bool,
    #[serde(default)]
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: Option<u64>,
}

/// video/init body (§5.2); inbox init sends `source_info` only (§10).
#[derive(Debug, Clone, Serialize)]
pub struct InitRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_info: Option<PostInfo>,
    pub source_info: SourceInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub privacy_level: Privacy,
    pub disable_duet: bool,
    pub disable_comment: bool,
    pub disable_stitch: bool,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
    pub is_aigc: bool,
    /// The cover frame; absent = the first frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    pub source: &'static str,
    pub video_size: u64,
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

#[derive(Debug, Deserialize)]
pub struct InitData {
    pub publish_id: String,
    pub upload_url: Option<String>,
}

/// status/fetch (§7).
#[derive(Debug, Deserialize)]
pub struct StatusData {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub fail_reason: String,
    /// Misspelled by TikTok; 19-digit numbers that must not pass through an f64.
    #[serde(
        default,
        alias = "publicly_available_post_id",
        deserialize_with = "post_ids"
    )]
    pub publicaly_available_post_id: Vec<String>,
}

/// Reads a list of post ids given as integers or strings, keeping every digit.
fn post_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Number(u64),
        Text(String),
    }
    let ids: Option<Vec<Id>> = Option::deserialize(deserializer)?;
    Ok(ids
        .unwrap_or_default()
        .into_iter()
        .map(|id| match id {
            Id::Number(n) => n.to_string(),
            Id::Text(s) => s,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_ids_keep_all_nineteen_digits() {
        let body =
            r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7300000000000000001]}"#;
        let status: StatusData = serde_json::from_str(body).expect("parses");
        assert_eq!(
            status.publicaly_available_post_id,
            vec!["7300000000000000001"]
        );
        let body =
            r#"{"status":"PUBLISH_COMPLETE","publicly_available_post_id":["7300000000000000002"]}"#;
        let status: StatusData = serde_json::from_str(body).expect("parses");
        assert_eq!(
            status.publicaly_available_post_id,
            vec!["7300000000000000002"]
        );
    }

    #[test]
    fn privacy_is_ordered_by_openness() {
        assert!(Privacy::SelfOnly < Privacy::PublicToEveryone);
        assert_eq!(Privacy::parse("self_only"), Some(Privacy::SelfOnly));
        assert_eq!(Privacy::parse("everyone"), None);
    }
}
