//! The video resource sent to `videos.insert`, validated as YouTube does (reference §4.1, §4.2,
//! §9.5), and the `part` parameter.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::state::rfc3339;
use super::wire::ApiError;

/// Part names of the video resource (discovery document).
pub(crate) const VIDEO_PARTS: &[&str] = &[
    "contentDetails",
    "fileDetails",
    "id",
    "liveStreamingDetails",
    "localizations",
    "paidProductPlacementDetails",
    "player",
    "processingDetails",
    "recordingDetails",
    "snippet",
    "statistics",
    "status",
    "suggestions",
    "topicDetails",
];

/// Part names of the channel resource (discovery document).
pub(crate) const CHANNEL_PARTS: &[&str] = &[
    "auditDetails",
    "brandingSettings",
    "contentDetails",
    "contentOwnerDetails",
    "id",
    "localizations",
    "snippet",
    "statistics",
    "status",
    "topicDetails",
];

/// Assignable categories for the US region (reference §4.1). Others (e.g. 18 "Short Movies",
/// 21 "Videoblogging", 30-44) exist but are not assignable.
pub(crate) const ASSIGNABLE_CATEGORIES: &[&str] = &[
    "1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29",
];

/// The category an insert without `categoryId` gets. The real default is undocumented
/// (reference §4.1); 22 "People & Blogs" is the sample default.
pub(crate) const DEFAULT_CATEGORY: &str = "22";

const TITLE_MAX_CHARS: usize = 100;
const DESCRIPTION_MAX_BYTES: usize = 5000;
const TAGS_MAX: usize = 500;

/// What an insert asked for, after validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct VideoMeta {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) tags: Option<Vec<String>>,
    pub(crate) category_id: String,
    pub(crate) default_language: Option<String>,
    pub(crate) default_audio_language: Option<String>,
    pub(crate) localizations: Option<Value>,
    pub(crate) recording_details: Option<Value>,
    pub(crate) privacy_status: Option<String>,
    pub(crate) publish_at: Option<String>,
    pub(crate) license: Option<String>,
    pub(crate) embeddable: Option<bool>,
    pub(crate) public_stats_viewable: Option<bool>,
    pub(crate) self_declared_made_for_kids: Option<bool>,
    pub(crate) contains_synthetic_media: Option<bool>,
    /// Fields the request carried that YouTube ignores (read-only, unknown, or in a part not
    /// named in `part`): Google says nothing, so neither does the emulator, but tests can see
    /// them in `stats()`.
    pub(crate) ignored_fields: Vec<String>,
}

impl VideoMeta {
    /// The privacy asked for. Without one the default is `public` (reference §5.1: the
    /// discovery document's `privacyStatus` description since 2026-11-04), which is why
    /// clients must always send it.
    pub(crate) fn requested_privacy(&self) -> &str {
        self.privacy_status.as_deref().unwrap_or("public")
    }
}

/// Parses a `part` parameter: comma-separated known names (reference §3.1). Repeats are merged.
pub(crate) fn parse_parts(raw: Option<&str>, known: &[&str]) -> Result<Vec<String>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Err(ApiError::required_parameter("part"));
    };
    let mut parts = Vec::new();
    for name in raw.split(',').map(str::trim) {
        if !known.contains(&name) {
            return Err(
                ApiError::bad_request("unknownPart", format!("'{name}'")).at("part", "parameter")
            );
        }
        if !parts.iter().any(|p| p == name) {
            parts.push(name.to_string());
        }
    }
    Ok(parts)
}

/// The tags length by YouTube's rule (reference §4.1): characters, plus the commas between tags,
/// plus two implied quotes for every tag containing a space.
pub(crate) fn tags_length(tags: &[String]) -> usize {
    let chars: usize = tags
        .iter()
        .map(|t| t.chars().count() + if t.contains(' ') { 2 } else { 0 })
        .sum();
    chars + tags.len().saturating_sub(1)
}

fn invalid_title() -> ApiError {
    ApiError::video(
        400,
        "invalidTitle",
        "The request metadata specifies an invalid or empty video title.",
    )
}

fn invalid_description() -> ApiError {
    ApiError::video(
        400,
        "invalidDescription",
        "The request metadata specifies an invalid video description.",
    )
}

fn invalid_tags() -> ApiError {
    ApiError::video(
        400,
        "invalidTags",
        "The request metadata specifies invalid video keywords.",
    )
}

fn invalid_category() -> ApiError {
    ApiError::video(
        400,
        "invalidCategoryId",
        "The snippet.categoryId property specifies an invalid category ID. Use the videoCategories.list method to retrieve supported categories.",
    )
}

fn invalid_metadata() -> ApiError {
    ApiError::video(
        400,
        "invalidVideoMetadata",
        "The request metadata is invalid.",
    )
}

fn forbidden_privacy() -> ApiError {
    ApiError::video(
        403,
        "forbiddenPrivacySetting",
        "The request attempts to set an invalid privacy setting for the video.",
    )
}

fn invalid_publish_at() -> ApiError {
    ApiError::video(
        400,
        "invalidPublishAt",
        "The request metadata specifies an invalid scheduled publishing time.",
    )
}

/// Validates the JSON body of `videos.insert` against the parts named in `part`.
pub(crate) fn validate(parts: &[String], body: &Value) -> Result<VideoMeta, ApiError> {
    let empty = Map::new();
    let Some(resource) = body.as_object() else {
        return Err(invalid_metadata());
    };
    let mut meta = VideoMeta {
        category_id: DEFAULT_CATEGORY.to_string(),
        ..VideoMeta::default()
    };
    let listed = |name: &str| parts.iter().any(|p| p == name);

    for key in resource.keys() {
        match key.as_str() {
            // Read-only identity fields: ignored.
            "kind" | "etag" | "id" => {}
            part if VIDEO_PARTS.contains(&part) && listed(part) => {}
            part if VIDEO_PARTS.contains(&part) => meta
                .ignored_fields
                .push(format!("{part} (not named in part)")),
            other => meta.ignored_fields.push(other.to_string()),
        }
    }
    let section = |name: &str| -> Result<&Map<String, Value>, ApiError> {
        match resource.get(name) {
            Some(value) if listed(name) => value.as_object().ok_or_else(invalid_metadata),
            _ => Ok(&empty),
        }
    };

    // snippet (reference §4.1). A missing snippet is a missing title.
    let snippet = section("snippet")?;
    for key in snippet.keys() {
        if ![
            "title",
            "description",
            "tags",
            "categoryId",
            "defaultLanguage",
            "defaultAudioLanguage",
        ]
        .contains(&key.as_str())
        {
            meta.ignored_fields.push(format!("snippet.{key}"));
        }
    }
    let title = match snippet.get("title") {
        Some(Value::String(title)) => title,
        _ => return Err(invalid_title()),
    };
    // "Missing/empty gives invalidTitle"; a title of only spaces is treated as empty.
    if title.trim().is_empty()
        || title.chars().count() > TITLE_MAX_CHARS
        || title.contains(['<', '>'])
    {
        return Err(invalid_title());
    }
    meta.title = title.clone();
    match snippet.get("description") {
        None | Some(Value::Null) => {}
        Some(Value::String(d)) if d.len() <= DESCRIPTION_MAX_BYTES && !d.contains(['<', '>']) => {
            meta.description = d.clone()
        }
        Some(_) => return Err(invalid_description()),
    }
    match snippet.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let tags: Option<Vec<String>> = items
                .iter()
                .map(|t| t.as_str().map(str::to_string))
                .collect();
            let tags = tags.ok_or_else(invalid_tags)?;
            if tags_length(&tags) > TAGS_MAX || tags.iter().any(|t| t.contains(['<', '>'])) {
                return Err(invalid_tags());
            }
            meta.tags = Some(tags);
        }
        Some(_) => return Err(invalid_tags()),
    }
    match snippet.get("categoryId") {
        None | Some(Value::Null) => {}
        // A string (reference §4.2: `22` as a number is what the guide's sample wrongly sends).
        Some(Value::String(id)) if ASSIGNABLE_CATEGORIES.contains(&id.as_str()) => {
            meta.category_id = id.clone()
        }
        Some(_) => return Err(invalid_category()),
    }
    meta.default_language = optional_language(snippet, "defaultLanguage")?;
    meta.default_audio_language = optional_language(snippet, "defaultAudioLanguage")?;

    // localizations need a default language (reference §4.1).
    if listed("localizations")
        && let Some(localizations) = resource.get("localizations")
    {
        if !localizations.is_object() {
            return Err(invalid_metadata());
        }
        if meta.default_language.is_none() {
            return Err(ApiError::video(
                400,
                "defaultLanguageNotSet",
                "The request is trying to add localized video details without specifying the default language of the video details.",
            ));
        }
        meta.localizations = Some(localizations.clone());
    }

    if listed("recordingDetails")
        && let Some(details) = resource.get("recordingDetails")
    {
        let valid = details
            .as_object()
            .is_some_and(|d| match d.get("recordingDate") {
                None | Some(Value::Null) => true,
                Some(Value::String(date)) => OffsetDateTime::parse(date, &Rfc3339).is_ok(),
                Some(_) => false,
            });
        if !valid {
            return Err(ApiError::video(
                400,
                "invalidRecordingDetails",
                "The metadata specifies invalid recording details.",
            ));
        }
        meta.recording_details = Some(details.clone());
    }

    // status (reference §4.2).
    let status = section("status")?;
    for key in status.keys() {
        if ![
            "privacyStatus",
            "publishAt",
            "license",
            "embeddable",
            "publicStatsViewable",
            "selfDeclaredMadeForKids",
            "containsSyntheticMedia",
        ]
        .contains(&key.as_str())
        {
            meta.ignored_fields.push(format!("status.{key}"));
        }
    }
    match status.get("privacyStatus") {
        None | Some(Value::Null) => {}
        Some(Value::String(p)) if ["private", "unlisted", "public"].contains(&p.as_str()) => {
            meta.privacy_status = Some(p.clone())
        }
        Some(_) => return Err(forbidden_privacy()),
    }
    match status.get("license") {
        None | Some(Value::Null) => {}
        Some(Value::String(l)) if ["youtube", "creativeCommon"].contains(&l.as_str()) => {
            meta.license = Some(l.clone())
        }
        Some(_) => {
            return Err(ApiError::video(
                403,
                "forbiddenLicenseSetting",
                "The request attempts to set an invalid license for the video.",
            ));
        }
    }
    meta.embeddable = optional_bool(status, "embeddable")?;
    meta.public_stats_viewable = optional_bool(status, "publicStatsViewable")?;
    meta.self_declared_made_for_kids = optional_bool(status, "selfDeclaredMadeForKids")?;
    meta.contains_synthetic_media = optional_bool(status, "containsSyntheticMedia")?;
    match status.get("publishAt") {
        None | Some(Value::Null) => {}
        Some(Value::String(at)) => {
            // Only for private videos that were never published (reference §4.2).
            let parsed = OffsetDateTime::parse(at, &Rfc3339).map_err(|_| invalid_publish_at())?;
            if meta.privacy_status.as_deref() != Some("private") {
                return Err(invalid_publish_at());
            }
            meta.publish_at = Some(rfc3339(parsed.unix_timestamp()));
        }
        Some(_) => return Err(invalid_publish_at()),
    }
    Ok(meta)
}

fn optional_bool(section: &Map<String, Value>, key: &str) -> Result<Option<bool>, ApiError> {
    match section.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        // `"true"` or Python's `True` (reference §4.2, last note) is not a JSON boolean.
        Some(_) => Err(invalid_metadata()),
    }
}

/// A BCP-47-looking language tag (`en`, `en-US`, `zh-Hant-TW`).
fn optional_language(section: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match section.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(tag)) => {
            let mut pieces = tag.split('-');
            let primary = pieces.next().unwrap_or("");
            let ok = (2..=3).contains(&primary.len())
                && primary.bytes().all(|b| b.is_ascii_alphabetic())
                && pieces.all(|p| {
                    (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            if ok {
                Ok(Some(tag.clone()))
            } else {
                Err(invalid_metadata())
            }
        }
        Some(_) => Err(invalid_metadata()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts() -> Vec<String> {
        vec!["snippet".into(), "status".into()]
    }

    fn reason(body: Value) -> &'static str {
        validate(&parts(), &body).unwrap_err().reason()
    }

    #[test]
    fn tags_count_commas_and_quotes() {
        assert_eq!(tags_length(&["Foo-Baz".into()]), 7);
        assert_eq!(tags_length(&["Foo Baz".into()]), 9);
        assert_eq!(tags_length(&["a".into(), "b c".into()]), 1 + 1 + 5);
        assert_eq!(tags_length(&[]), 0);
    }

    #[test]
    fn titles() {
        assert_eq!(reason(json!({"snippet": {}})), "invalidTitle");
        assert_eq!(reason(json!({"snippet": {"title": ""}})), "invalidTitle");
        assert_eq!(reason(json!({"snippet": {"title": "a<b"}})), "invalidTitle");
        assert_eq!(
            reason(json!({"snippet": {"title": "é".repeat(101)}})),
            "invalidTitle"
        );
        assert!(validate(&parts(), &json!({"snippet": {"title": "é".repeat(100)}})).is_ok());
    }

    #[test]
    fn description_is_counted_in_bytes() {
        let ok = json!({"snippet": {"title": "t", "description": "a".repeat(5000)}});
        assert!(validate(&parts(), &ok).is_ok());
        // 2500 two-byte characters are 5000 bytes; one more is over.
        assert_eq!(
            reason(json!({"snippet": {"title": "t", "description": "é".repeat(2501)}})),
            "invalidDescription"
        );
    }

    #[test]
    fn tags_limit() {
        let fits: Vec<String> = vec!["x".repeat(498), "y".into()];
        assert!(validate(&parts(), &json!({"snippet": {"title": "t", "tags": fits}})).is_ok());
        assert_eq!(
            reason(json!({"snippet": {"title": "t", "tags": ["a b".repeat(166), "c"]}})),
            "invalidTags"
        );
    }

    #[test]
    fn categories_and_privacy() {
        assert_eq!(
            reason(json!({"snippet": {"title": "t", "categoryId": 22}})),
            "invalidCategoryId"
        );
        assert_eq!(
            reason(json!({"snippet": {"title": "t", "categoryId": "18"}})),
            "invalidCategoryId"
        );
        assert_eq!(
            reason(json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "secret"}})),
            "forbiddenPrivacySetting"
        );
        assert_eq!(
            reason(
                json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "public", "publishAt": "2030-01-01T00:00:00Z"}})
            ),
            "invalidPublishAt"
        );
        assert_eq!(
            reason(
                json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "private", "publishAt": "tomorrow"}})
            ),
            "invalidPublishAt"
        );
        let ok = json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "private", "publishAt": "2030-01-01T10:00:00+02:00"}});
        assert_eq!(
            validate(&parts(), &ok).unwrap().publish_at.as_deref(),
            Some("2030-01-01T08:00:00Z")
        );
        assert_eq!(
            reason(
                json!({"snippet": {"title": "t"}, "status": {"selfDeclaredMadeForKids": "false"}})
            ),
            "invalidVideoMetadata"
        );
    }

    #[test]
    fn parts_outside_part_are_ignored() {
        let meta = validate(
            &["snippet".into()],
            &json!({"snippet": {"title": "t"}, "status": {"privacyStatus": "private"}, "foo": 1}),
        )
        .unwrap();
        assert_eq!(meta.privacy_status, None);
        assert_eq!(meta.requested_privacy(), "public");
        assert_eq!(
            meta.ignored_fields,
            vec!["foo".to_string(), "status (not named in part)".to_string()]
        );
    }

    #[test]
    fn part_parameter() {
        assert_eq!(
            parse_parts(None, VIDEO_PARTS).unwrap_err().reason(),
            "required"
        );
        assert_eq!(
            parse_parts(Some("snippet,bogus"), VIDEO_PARTS)
                .unwrap_err()
                .reason(),
            "unknownPart"
        );
        assert_eq!(
            parse_parts(Some("snippet, status,snippet"), VIDEO_PARTS).unwrap(),
            vec!["snippet", "status"]
        );
    }
}
