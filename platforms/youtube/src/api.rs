//! Google's and YouTube's wire types (reference: shared/reference/youtube-api.md §1.1, §2, §4,
//! §5.3, §8).

use serde::{Deserialize, Serialize};

use keryx_core::Secret;

/// Uploads `youtube.upload` can do (videos.insert, thumbnails.set, §1.2).
pub const SCOPE_UPLOAD: &str = "https://www.googleapis.com/auth/youtube.upload";
/// Reading the channel name (channels.list) needs this; `youtube.upload` cannot (§1.2, §8).
pub const SCOPE_READONLY: &str = "https://www.googleapis.com/auth/youtube.readonly";

/// Who may watch a video. Ordered from most private to most open, so a cap is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privacy {
    Private,
    Unlisted,
    Public,
}

impl Privacy {
    pub const ALL: [Privacy; 3] = [Privacy::Private, Privacy::Unlisted, Privacy::Public];

    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::Private => "private",
            Privacy::Unlisted => "unlisted",
            Privacy::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Option<Privacy> {
        Privacy::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// The token endpoint's reply (§2.3); on failure it carries `error` instead (§2.4), so both
/// shapes are read from one struct.
#[derive(Debug, Default, Deserialize)]
pub struct TokenReply {
    pub access_token: Option<Secret>,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<Secret>,
    /// Only when the refresh token is time-limited: 604799 for apps in Testing (§2.3).
    pub refresh_token_expires_in: Option<i64>,
    /// Space-separated granted scopes.
    pub scope: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_subtype: Option<String>,
}

/// A Google credentials file as downloaded from the Cloud console (§1.1).
#[derive(Debug, Deserialize)]
pub struct ClientSecretsFile {
    pub installed: Option<ClientSecretsEntry>,
    pub web: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct ClientSecretsEntry {
    #[serde(default)]
    pub client_id: String,
    pub client_secret: Option<Secret>,
}

/// The error envelope of every API call (§5.3). Everything is optional: newer replies add
/// `status`, older ones lack it, and some upload-server errors are not JSON at all.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorEnvelope {
    #[serde(default)]
    pub error: ErrorBody,
}

/// Only what keryx reads: `code` repeats the HTTP status, and the gRPC-style `status` and
/// `domain` add nothing the reason does not say.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ErrorItem {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}

impl ErrorEnvelope {
    /// The first machine-readable reason, or "" when there is none.
    pub fn reason(&self) -> &str {
        self.error
            .errors
            .iter()
            .map(|e| e.reason.as_str())
            .find(|r| !r.is_empty())
            .unwrap_or("")
    }

    /// The top-level message, else the first item's.
    pub fn message(&self) -> &str {
        if !self.error.message.is_empty() {
            return &self.error.message;
        }
        self.error
            .errors
            .iter()
            .map(|e| e.message.as_str())
            .find(|m| !m.is_empty())
            .unwrap_or("")
    }
}

/// The resource sent to videos.insert (§4.1, §4.2): only the fields keryx sets.
#[derive(Debug, Clone, Serialize)]
pub struct VideoInsert {
    pub snippet: SnippetInsert,
    pub status: StatusInsert,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnippetInsert {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A string, never a number (§4.1: Google's own sample gets this wrong).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInsert {
    /// Always sent: the default when omitted is unverified (§4.2).
    pub privacy_status: Privacy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<String>,
    /// Always sent: YouTube requires an audience decision (§4.2).
    pub self_declared_made_for_kids: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains_synthetic_media: Option<bool>,
}

/// The video resource in the completion reply (§3.6, §4.3); only what keryx reports.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Video {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub snippet: Option<VideoSnippet>,
    #[serde(default)]
    pub status: Option<VideoStatus>,
    /// Only in `videos.list` replies that ask for it (§4.3).
    #[serde(default, rename = "processingDetails")]
    pub processing_details: Option<ProcessingDetails>,
}

/// `videos.list?id=..&part=status,processingDetails` (§4.3, §6).
#[derive(Debug, Deserialize)]
pub struct VideoList {
    #[serde(default)]
    pub items: Vec<Video>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingDetails {
    /// `processing`, `succeeded`, `failed` or `terminated`.
    pub processing_status: Option<String>,
    pub processing_progress: Option<ProcessingProgress>,
}

/// Google writes these 64-bit counts as JSON strings; numbers are accepted too.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingProgress {
    pub parts_total: Option<serde_json::Value>,
    pub parts_processed: Option<serde_json::Value>,
}

impl ProcessingProgress {
    pub fn parts_processed(&self) -> Option<u64> {
        self.parts_processed.as_ref().and_then(count)
    }

    /// The share processed, in whole percent, when YouTube says enough to tell.
    pub fn percent(&self) -> Option<u64> {
        let total = self
            .parts_total
            .as_ref()
            .and_then(count)
            .filter(|t| *t > 0)?;
        Some((self.parts_processed()?.min(total) * 100) / total)
    }
}

fn count(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::String(text) => text.trim().parse().ok(),
        other => other.as_u64(),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoSnippet {
    pub channel_title: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoStatus {
    /// Kept as text: a value outside the three keryx knows is still worth reporting.
    pub privacy_status: Option<String>,
    pub upload_status: Option<String>,
    pub failure_reason: Option<String>,
    pub rejection_reason: Option<String>,
}

/// channels.list?part=snippet&mine=true (§8). `items` may be missing for an account without a
/// channel.
#[derive(Debug, Deserialize)]
pub struct ChannelList {
    #[serde(default)]
    pub items: Vec<Channel>,
}

#[derive(Debug, Deserialize)]
pub struct Channel {
    #[serde(default)]
    pub id: String,
    pub snippet: Option<ChannelSnippet>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelSnippet {
    #[serde(default)]
    pub title: String,
    pub custom_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_is_ordered_by_openness() {
        assert!(Privacy::Private < Privacy::Unlisted && Privacy::Unlisted < Privacy::Public);
        assert_eq!(Privacy::parse(" Public "), Some(Privacy::Public));
        assert_eq!(Privacy::parse("SELF_ONLY"), None);
    }

    #[test]
    fn the_insert_body_uses_google_field_names() {
        let body = VideoInsert {
            snippet: SnippetInsert {
                title: "T".into(),
                description: None,
                tags: vec![],
                category_id: Some("22".into()),
            },
            status: StatusInsert {
                privacy_status: Privacy::Private,
                publish_at: Some("2026-01-31T18:00:00Z".into()),
                self_declared_made_for_kids: false,
                contains_synthetic_media: Some(true),
            },
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "snippet": {"title": "T", "categoryId": "22"},
                "status": {
                    "privacyStatus": "private",
                    "publishAt": "2026-01-31T18:00:00Z",
                    "selfDeclaredMadeForKids": false,
                    "containsSyntheticMedia": true
                }
            })
        );
    }

    #[test]
    fn processing_progress_reads_strings_and_numbers() {
        let list: VideoList = serde_json::from_str(
            r#"{"items":[{"id":"abcdefghijk","status":{"uploadStatus":"uploaded"},
            "processingDetails":{"processingStatus":"processing",
            "processingProgress":{"partsTotal":"1000","partsProcessed":"333"}}}]}"#,
        )
        .unwrap();
        let details = list.items[0].processing_details.clone().unwrap();
        assert_eq!(details.processing_status.as_deref(), Some("processing"));
        let progress = details.processing_progress.unwrap();
        assert_eq!(progress.parts_processed(), Some(333));
        assert_eq!(progress.percent(), Some(33));
        let numbers: ProcessingProgress =
            serde_json::from_str(r#"{"partsTotal":0,"partsProcessed":5}"#).unwrap();
        assert_eq!(numbers.parts_processed(), Some(5));
        assert_eq!(numbers.percent(), None, "no total, no share");
    }

    #[test]
    fn error_envelopes_with_and_without_status() {
        let body = r#"{"error":{"code":403,"message":"The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.","errors":[{"message":"x","domain":"youtube.quota","reason":"quotaExceeded"}]}}"#;
        let envelope: ErrorEnvelope = serde_json::from_str(body).unwrap();
        assert_eq!(envelope.reason(), "quotaExceeded");
        let body = r#"{"error":{"code":401,"message":"Invalid Credentials","errors":[{"reason":"authError","domain":"global","location":"Authorization","locationType":"header"}],"status":"UNAUTHENTICATED"}}"#;
        let envelope: ErrorEnvelope = serde_json::from_str(body).unwrap();
        assert_eq!(envelope.reason(), "authError");
        assert_eq!(envelope.message(), "Invalid Credentials");
        let body = r#"{"error":{"errors":[{"reason":"badRequest","message":"item text"}]}}"#;
        let envelope: ErrorEnvelope = serde_json::from_str(body).unwrap();
        assert_eq!(envelope.message(), "item text");
    }
}
