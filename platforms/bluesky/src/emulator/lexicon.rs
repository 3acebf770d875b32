//! The lexicon checks the real PDS (0.5.35) makes on `app.bsky.feed.post` with
//! `app.bsky.embed.video`, with its messages (reference §4.3, §6). Like the real server, an
//! unknown embed `$type` and facet offsets are not checked (surprise 8): the tests read the
//! record back and check those themselves.

use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

pub const POST: &str = "app.bsky.feed.post";

/// What is wrong with a record of `collection`, as the XRPC `message`; `None` when it is valid.
pub fn check(collection: &str, record: &Value) -> Option<String> {
    if let Some(kind) = record.get("$type").and_then(Value::as_str)
        && kind != collection
    {
        return Some(format!("Invalid $type: expected {collection}, got {kind}"));
    }
    if collection != POST {
        return None;
    }
    post(record).map(|detail| format!("Invalid {POST} record: {detail}"))
}

fn post(record: &Value) -> Option<String> {
    let Some(map) = record.as_object() else {
        return Some("Expected object at $.record".into());
    };
    let text = match map.get("text") {
        None => return Some("Missing required key \"text\" at $.record".into()),
        Some(Value::String(text)) => text,
        Some(_) => return Some("Expected string at $.record.text".into()),
    };
    if let Some(e) = string_limits(text, 3000, 300, "$.record.text") {
        return Some(e);
    }
    match map.get("createdAt") {
        None => return Some("Missing required key \"createdAt\" at $.record".into()),
        Some(Value::String(at)) => {
            if time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .is_err()
            {
                return Some(format!(
                    "Invalid datetime (got \"{at}\") at $.record.createdAt"
                ));
            }
        }
        Some(_) => return Some("Expected string at $.record.createdAt".into()),
    }
    if let Some(langs) = map.get("langs") {
        let Some(langs) = langs.as_array() else {
            return Some("Expected array at $.record.langs".into());
        };
        if langs.len() > 3 {
            return Some(format!(
                "array too big (maximum 3, got {}) at $.record.langs",
                langs.len()
            ));
        }
        for (i, lang) in langs.iter().enumerate() {
            if !lang.as_str().is_some_and(crate::text::is_language_tag) {
                return Some(format!("Invalid language at $.record.langs[{i}]"));
            }
        }
    }
    if let Some(tags) = map.get("tags") {
        let Some(tags) = tags.as_array() else {
            return Some("Expected array at $.record.tags".into());
        };
        if tags.len() > 8 {
            return Some(format!(
                "array too big (maximum 8, got {}) at $.record.tags",
                tags.len()
            ));
        }
        for (i, tag) in tags.iter().enumerate() {
            let Some(tag) = tag.as_str() else {
                return Some(format!("Expected string at $.record.tags[{i}]"));
            };
            if let Some(e) = string_limits(tag, 640, 64, &format!("$.record.tags[{i}]")) {
                return Some(e);
            }
        }
    }
    if let Some(facets) = map.get("facets") {
        let Some(facets) = facets.as_array() else {
            return Some("Expected array at $.record.facets".into());
        };
        for (i, facet) in facets.iter().enumerate() {
            if let Some(e) = self::facet(facet, &format!("$.record.facets[{i}]")) {
                return Some(e);
            }
        }
    }
    if let Some(embed) = map.get("embed") {
        let Some(kind) = embed.get("$type").and_then(Value::as_str) else {
            return Some("Expected object with $type at $.record.embed".into());
        };
        if kind == "app.bsky.embed.video"
            && let Some(e) = video(embed)
        {
            return Some(e);
        }
    }
    None
}

fn string_limits(text: &str, max_bytes: usize, max_graphemes: usize, at: &str) -> Option<String> {
    if text.len() > max_bytes {
        return Some(format!(
            "string too big (maximum {max_bytes}, got {}) at {at}",
            text.len()
        ));
    }
    let graphemes = text.graphemes(true).count();
    if graphemes > max_graphemes {
        return Some(format!(
            "grapheme too big (maximum {max_graphemes}, got {graphemes}) at {at}"
        ));
    }
    None
}

fn facet(facet: &Value, at: &str) -> Option<String> {
    let Some(index) = facet.get("index") else {
        return Some(format!("Missing required key \"index\" at {at}"));
    };
    for key in ["byteStart", "byteEnd"] {
        match index.get(key) {
            None => return Some(format!("Missing required key \"{key}\" at {at}.index")),
            Some(v) if v.as_u64().is_none() => {
                return Some(format!("Expected integer at {at}.index.{key}"));
            }
            _ => {}
        }
    }
    let Some(features) = facet.get("features").and_then(Value::as_array) else {
        return Some(format!("Missing required key \"features\" at {at}"));
    };
    for (j, feature) in features.iter().enumerate() {
        let at = format!("{at}.features[{j}]");
        match feature.get("$type").and_then(Value::as_str) {
            Some("app.bsky.richtext.facet#tag") => match feature.get("tag").and_then(Value::as_str)
            {
                None => return Some(format!("Missing required key \"tag\" at {at}")),
                Some(tag) => {
                    if let Some(e) = string_limits(tag, 640, 64, &format!("{at}.tag")) {
                        return Some(e);
                    }
                }
            },
            Some("app.bsky.richtext.facet#link") => {
                let uri = feature.get("uri").and_then(Value::as_str).unwrap_or("");
                if url::Url::parse(uri).is_err() {
                    return Some(format!("Invalid uri at {at}.uri"));
                }
            }
            Some("app.bsky.richtext.facet#mention") => {
                let did = feature.get("did").and_then(Value::as_str).unwrap_or("");
                if !did.starts_with("did:") {
                    return Some(format!("Invalid DID at {at}.did"));
                }
            }
            _ => {}
        }
    }
    None
}

fn video(embed: &Value) -> Option<String> {
    let at = "$.record.embed";
    let Some(video) = embed.get("video") else {
        return Some(format!("Missing required key \"video\" at {at}"));
    };
    if let Some(e) = blob(video, &format!("{at}.video"), "video/mp4", 300_000_000) {
        return Some(e);
    }
    if let Some(ratio) = embed.get("aspectRatio") {
        for key in ["width", "height"] {
            match ratio.get(key) {
                None => {
                    return Some(format!(
                        "Missing required key \"{key}\" at {at}.aspectRatio"
                    ));
                }
                Some(v) => match v.as_i64() {
                    None => return Some(format!("Expected integer at {at}.aspectRatio.{key}")),
                    Some(n) if n < 1 => {
                        return Some(format!(
                            "integer too small (minimum 1, got {n}) at {at}.aspectRatio.{key}"
                        ));
                    }
                    _ => {}
                },
            }
        }
    }
    if let Some(alt) = embed.get("alt")
        && !alt.is_string()
    {
        return Some(format!("Expected string at {at}.alt"));
    }
    if let Some(captions) = embed.get("captions") {
        let Some(captions) = captions.as_array() else {
            return Some(format!("Expected array at {at}.captions"));
        };
        if captions.len() > 20 {
            return Some(format!(
                "array too big (maximum 20, got {}) at {at}.captions",
                captions.len()
            ));
        }
        for (i, caption) in captions.iter().enumerate() {
            let here = format!("{at}.captions[{i}]");
            if !caption
                .get("lang")
                .and_then(Value::as_str)
                .is_some_and(crate::text::is_language_tag)
            {
                return Some(format!("Invalid language at {here}.lang"));
            }
            let Some(file) = caption.get("file") else {
                return Some(format!("Missing required key \"file\" at {here}"));
            };
            if let Some(e) = blob(file, &format!("{here}.file"), "text/vtt", 20_000) {
                return Some(e);
            }
        }
    }
    None
}

/// A blob reference: `{"$type":"blob","ref":{"$link"},"mimeType","size"}` of an accepted type.
fn blob(blob: &Value, at: &str, accept: &str, max_size: u64) -> Option<String> {
    if blob.get("$type").and_then(Value::as_str) != Some("blob")
        || blob.pointer("/ref/$link").and_then(Value::as_str).is_none()
    {
        return Some(format!("Expected blob ref at {at}"));
    }
    let mime = blob.get("mimeType").and_then(Value::as_str).unwrap_or("");
    if mime != accept {
        return Some(format!(
            "Expected \"{accept}\" (got \"{mime}\") at {at}.mimeType"
        ));
    }
    let size = blob.get("size").and_then(Value::as_u64).unwrap_or(0);
    if size > max_size {
        return Some(format!(
            "This file is too large. {max_size} bytes maximum at {at}"
        ));
    }
    None
}

/// The CIDs of the blobs a post record references (video and captions).
pub fn blob_refs(record: &Value) -> Vec<String> {
    let mut refs = Vec::new();
    if let Some(link) = record
        .pointer("/embed/video/ref/$link")
        .and_then(Value::as_str)
    {
        refs.push(link.to_string());
    }
    if let Some(captions) = record.pointer("/embed/captions").and_then(Value::as_array) {
        for caption in captions {
            if let Some(link) = caption.pointer("/file/ref/$link").and_then(Value::as_str) {
                refs.push(link.to_string());
            }
        }
    }
    refs
}
