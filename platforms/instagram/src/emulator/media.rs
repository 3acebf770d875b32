//! Containers, rupload, status, `media_publish`, the publishing limit and media reads
//! (reference §2, §6.10-§6.15).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::login::{accounts_of, check_token, missing_scope};
use super::mp4::Walker;
use super::{App, Inner, Token, TokenKind, graph_error, rupload_error};

const DAY: i64 = 86_400;
const PUBLISH_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "pages_read_engagement",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Created, no byte yet.
    Waiting,
    Uploading,
    Processing {
        polls_left: u32,
    },
    Finished,
    Error(u64),
    Published,
}

pub(crate) struct Container {
    pub id: String,
    pub owner: String,
    pub caption: String,
    pub share_to_feed: Option<bool>,
    pub thumb_offset: u64,
    pub created_at: i64,
    pub file_size: Option<u64>,
    pub received: u64,
    hasher: Sha256,
    walker: Walker,
    pub phase: Phase,
    /// A ProcessingFailedError killed it (reference §2.3).
    dead: bool,
    pub media_id: Option<String>,
    now: i64,
}

impl Container {
    fn expired(&self) -> bool {
        self.phase != Phase::Published && self.now - self.created_at > DAY
    }

    pub fn status_code(&self) -> &'static str {
        match self.phase {
            _ if self.expired() => "EXPIRED",
            Phase::Waiting | Phase::Uploading | Phase::Processing { .. } => "IN_PROGRESS",
            Phase::Finished => "FINISHED",
            Phase::Error(_) => "ERROR",
            Phase::Published => "PUBLISHED",
        }
    }
}

fn publisher_refused(inner: &Inner, token: &Token) -> Option<Response> {
    let wanted = inner.settings.publish_token.as_str();
    let ok = matches!(
        (&token.kind, wanted),
        (_, "both") | (TokenKind::Page(_), "page") | (TokenKind::User, "user")
    );
    if !ok {
        return Some(graph_error(
            400,
            190,
            None,
            &format!("Invalid OAuth access token - this call takes a {wanted} access token"),
            false,
        ));
    }
    PUBLISH_SCOPES
        .iter()
        .find_map(|s| missing_scope(inner, token, s))
}

/// `POST /{ig-user-id}/media` (reference §6.10).
pub(crate) fn create(
    inner: &mut Inner,
    token: &Token,
    ig: &str,
    params: &HashMap<String, String>,
    base: &str,
    v: &str,
) -> Response {
    if let Some(refused) = publisher_refused(inner, token) {
        return refused;
    }
    let get = |k: &str| params.get(k).map(String::as_str);
    match get("media_type") {
        Some("REELS") => {}
        Some("VIDEO") if get("is_carousel_item") == Some("true") => {}
        Some(other) => {
            return graph_error(
                400,
                100,
                Some(2207023),
                &format!("The media type {other} is not supported here; use REELS"),
                false,
            );
        }
        None => {
            return graph_error(
                400,
                100,
                None,
                "The parameter image_url is required.",
                false,
            );
        }
    }
    match get("upload_type") {
        Some("resumable") => {}
        Some(_) => {
            return graph_error(
                400,
                100,
                None,
                "Invalid parameter: upload_type must be resumable",
                false,
            );
        }
        None => return graph_error(400, 100, None, "The parameter video_url is required", false),
    }
    let caption = get("caption").unwrap_or_default().to_string();
    if caption.chars().count() > 2200 {
        return graph_error(400, 36004, Some(2207010), "The caption is too long.", false);
    }
    if caption.matches('@').count() > 20 {
        return graph_error(
            400,
            100,
            Some(2207040),
            "Cannot use more than 20 tags per created media.",
            false,
        );
    }
    if let Some(max) = inner.settings.max_hashtags
        && caption.matches('#').count() > max
    {
        return graph_error(
            400,
            100,
            None,
            &format!("Cannot use more than {max} hashtags per created media."),
            false,
        );
    }
    let share_to_feed = match get("share_to_feed") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return graph_error(
                400,
                100,
                None,
                "Param share_to_feed must be a boolean",
                false,
            );
        }
    };
    let thumb_offset = match get("thumb_offset").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(ms)) => ms,
        Some(Err(_)) => {
            return graph_error(
                400,
                100,
                None,
                "Param thumb_offset must be a non-negative integer",
                false,
            );
        }
    };
    let now = inner.now();
    let recent = inner
        .containers
        .values()
        .filter(|c| c.owner == ig && now - c.created_at < DAY)
        .count() as u64;
    if recent >= inner.settings.container_cap {
        return graph_error(
            400,
            9,
            None,
            "You reached the maximum number of containers that can be created in 24 hours.",
            false,
        );
    }
    inner.counters.containers_created += 1;
    let id = inner.id("1790");
    inner.containers.insert(
        id.clone(),
        Container {
            id: id.clone(),
            owner: ig.to_string(),
            caption,
            share_to_feed,
            thumb_offset,
            created_at: now,
            file_size: None,
            received: 0,
            hasher: Sha256::new(),
            walker: Walker::default(),
            phase: Phase::Waiting,
            dead: false,
            media_id: None,
            now,
        },
    );
    let mut reply = json!({ "id": id });
    if !inner.settings.omit_uri {
        reply["uri"] = format!("{base}/rupload.facebook.com/ig-api-upload/{v}/{id}").into();
    }
    axum::Json(reply).into_response()
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn unauthorized() -> Response {
    rupload_error(
        400,
        "ProcessingFailedError",
        r#"{"success":false,"error":{"message":"unauthorized user request"}}"#,
        false,
    )
}

/// `POST /ig-api-upload/{v}/{container}` (reference §6.11).
pub(crate) async fn rupload(
    State(app): State<App>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (drop_after, expect) = {
        let mut inner = app.lock();
        inner.counters.rupload_posts += 1;
        let n = inner.counters.rupload_posts;
        let s = &inner.settings;
        if s.fail_rupload_with_5xx.contains(&n) {
            return rupload_error(
                503,
                "ServiceUnavailableError",
                "Service temporarily unavailable",
                true,
            );
        }
        let drop_after = s
            .drop_connection_on_rupload
            .contains(&n)
            .then_some(s.drop_after_bytes);
        let processing_failed = s.processing_failed_on_rupload.contains(&n);
        let partial_reject = s.partial_reject;
        if !crate::config::is_version(&v) {
            return rupload_error(404, "NotFoundError", "Unknown path", false);
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("OAuth "))
            .map(str::to_owned);
        let Ok(token) = check_token(&inner, token.as_deref()) else {
            return unauthorized();
        };
        let now = inner.now();
        let allowed = accounts_of(&token);
        let Some(container) = inner.containers.get_mut(&id) else {
            return rupload_error(
                400,
                "ProcessingFailedError",
                "Request processing failed",
                false,
            );
        };
        container.now = now;
        if !allowed.contains(&container.owner.as_str()) {
            return unauthorized();
        }
        if container.dead
            || container.expired()
            || !matches!(container.phase, Phase::Waiting | Phase::Uploading)
        {
            return rupload_error(
                400,
                "ProcessingFailedError",
                "Request processing failed",
                false,
            );
        }
        let (Some(offset), Some(file_size)) = (
            header_u64(&headers, "offset"),
            header_u64(&headers, "file_size"),
        ) else {
            return rupload_error(
                400,
                "ProcessingFailedError",
                "The offset and file_size headers are required integers",
                false,
            );
        };
        if file_size == 0 || container.file_size.is_some_and(|f| f != file_size) {
            return rupload_error(
                400,
                "ProcessingFailedError",
                "file_size differs from the upload's",
                false,
            );
        }
        if offset != container.received {
            return rupload_error(
                412,
                "OffsetInvalidError",
                "Request starting offset is invalid",
                true,
            );
        }
        let Some(length) = header_u64(&headers, header::CONTENT_LENGTH.as_str()) else {
            return rupload_error(
                400,
                "ProcessingFailedError",
                "Content-Length is required",
                false,
            );
        };
        if length > file_size - offset {
            return rupload_error(
                400,
                "ProcessingFailedError",
                "The body is longer than file_size - offset",
                false,
            );
        }
        if length < file_size - offset && partial_reject {
            return rupload_error(
                400,
                "ProcessingFailedError",
                "Partial request (did not match length of file)",
                false,
            );
        }
        if processing_failed {
            // The intermittent failure that leaves nothing behind (reference §2.3).
            container.dead = true;
            return rupload_error(
                400,
                "ProcessingFailedError",
                "Request processing failed",
                false,
            );
        }
        container.file_size = Some(file_size);
        container.phase = Phase::Uploading;
        (drop_after, (offset, length, file_size))
    };
    let (offset, length, file_size) = expect;
    let mut stream = body.into_data_stream();
    let mut streamed = 0u64;
    while let Some(chunk) = stream.next().await {
        let Ok(bytes) = chunk else {
            return rupload_error(400, "ProcessingFailedError", "The body was cut off", true);
        };
        {
            let mut inner = app.lock();
            inner.counters.bytes_received += bytes.len() as u64;
            let Some(container) = inner.containers.get_mut(&id) else {
                break;
            };
            if container.received != offset + streamed {
                // Another request moved the upload meanwhile.
                return rupload_error(
                    412,
                    "OffsetInvalidError",
                    "Request starting offset is invalid",
                    true,
                );
            }
            container.hasher.update(&bytes);
            container.walker.feed(&bytes);
            container.received += bytes.len() as u64;
        }
        streamed += bytes.len() as u64;
        if drop_after.is_some_and(|k| streamed >= k) {
            // Bytes kept; the connection ends without a reply (resume_unwind skips the hook).
            std::panic::resume_unwind(Box::new(()));
        }
    }
    let mut inner = app.lock();
    let polls = inner.settings.processing_polls;
    let Some(container) = inner.containers.get_mut(&id) else {
        return rupload_error(
            400,
            "ProcessingFailedError",
            "Request processing failed",
            false,
        );
    };
    if streamed != length {
        return rupload_error(
            400,
            "ProcessingFailedError",
            "The body does not match Content-Length",
            true,
        );
    }
    if container.received < file_size {
        return rupload_error(
            206,
            "PartialRequestError",
            "Partial request (did not match length of file)",
            true,
        );
    }
    container.phase = Phase::Processing { polls_left: polls };
    axum::Json(json!({"success": true, "message": "Upload successful."})).into_response()
}

/// `GET /{container}?fields=...`: each poll moves processing one step (reference §6.12).
pub(crate) fn status(
    inner: &mut Inner,
    token: &Token,
    id: &str,
    params: &HashMap<String, String>,
) -> Response {
    inner.counters.status_polls += 1;
    let now = inner.now();
    let allowed = accounts_of(token);
    let (never, forced, field) = (
        inner.settings.never_finish,
        inner.settings.processing_error,
        inner.settings.resume_field.clone(),
    );
    let Some(c) = inner.containers.get_mut(id) else {
        return graph_error(400, 100, Some(33), "Unsupported get request.", false);
    };
    c.now = now;
    if !allowed.contains(&c.owner.as_str()) {
        return graph_error(
            400,
            100,
            Some(33),
            &format!(
                "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
            false,
        );
    }
    if let Phase::Processing { polls_left } = c.phase
        && !never
    {
        c.phase = if polls_left > 1 {
            Phase::Processing {
                polls_left: polls_left - 1,
            }
        } else {
            let size = c.file_size.unwrap_or(0);
            let verdict = forced.or_else(|| c.walker.verdict(size)).or_else(|| {
                c.walker
                    .duration_ms
                    .filter(|d| c.thumb_offset > *d)
                    .map(|_| 2207057)
            });
            match verdict {
                Some(sub) => Phase::Error(sub),
                None => Phase::Finished,
            }
        };
    }
    let code = c.status_code();
    let status = match (code, c.phase) {
        ("ERROR", Phase::Error(sub)) => {
            format!("Error: Media upload has failed with error code {sub}")
        }
        ("FINISHED", _) => {
            "Finished: Media has been uploaded and it is ready to be published.".into()
        }
        ("PUBLISHED", _) => "Published: Media has been successfully published.".into(),
        ("EXPIRED", _) => "Expired: Media was not published within 24 hours.".into(),
        _ => "In Progress: Media is still being processed.".into(),
    };
    let uploading = match c.phase {
        Phase::Waiting => "not_started",
        Phase::Uploading => "in_progress",
        _ => "complete",
    };
    let processing = match c.phase {
        Phase::Waiting | Phase::Uploading => "not_started",
        Phase::Processing { .. } => "in_progress",
        Phase::Error(_) => "error",
        _ => "complete",
    };
    let mut processing_phase = json!({"status": processing});
    if let Phase::Error(sub) = c.phase {
        processing_phase["errors"] =
            json!([{"code": sub, "message": "The video could not be processed"}]);
    }
    let fields = params.get("fields").cloned().unwrap_or_else(|| "id".into());
    let mut reply = json!({"id": id});
    for f in fields.split(',') {
        match f {
            "status_code" => reply["status_code"] = code.into(),
            "status" => reply["status"] = status.clone().into(),
            "video_status" => {
                let mut phase = json!({"status": uploading});
                phase[field.as_str()] = c.received.into();
                reply["video_status"] =
                    json!({"uploading_phase": phase, "processing_phase": processing_phase});
            }
            "copyright_check_status" => {
                let st = if matches!(c.phase, Phase::Finished | Phase::Published) {
                    "completed"
                } else {
                    "in_progress"
                };
                reply["copyright_check_status"] = json!({"matches_found": false, "status": st});
            }
            _ => {}
        }
    }
    axum::Json(reply).into_response()
}

fn used(inner: &Inner, ig: &str, since: i64) -> u64 {
    let published = inner
        .published_at
        .get(ig)
        .map(|t| t.iter().filter(|at| **at > since).count())
        .unwrap_or(0);
    inner.used_before + published as u64
}

/// `POST /{ig-user-id}/media_publish` (reference §6.13, §6.14).
pub(crate) fn publish(
    inner: &mut Inner,
    token: &Token,
    ig: &str,
    params: &HashMap<String, String>,
) -> Response {
    if let Some(refused) = publisher_refused(inner, token) {
        return refused;
    }
    inner.counters.publish_calls += 1;
    let n = inner.counters.publish_calls;
    let Some(creation) = params.get("creation_id").cloned() else {
        return graph_error(
            400,
            100,
            None,
            "The parameter creation_id is required.",
            false,
        );
    };
    let now = inner.now();
    let same_id = inner.settings.republish_same_id;
    let Some(c) = inner
        .containers
        .get_mut(&creation)
        .filter(|c| c.owner == ig)
    else {
        return graph_error(
            400,
            24,
            Some(2207006),
            "The media with id could not be found.",
            false,
        );
    };
    c.now = now;
    match (c.status_code(), c.phase) {
        ("EXPIRED", _) => {
            return graph_error(
                400,
                -2,
                Some(2207020),
                "The media you are trying to publish has expired. Please try again with a new media container.",
                false,
            );
        }
        ("PUBLISHED", _) => {
            return match (&c.media_id, same_id) {
                (Some(media), true) => axum::Json(json!({"id": media})).into_response(),
                _ => graph_error(
                    400,
                    100,
                    None,
                    "The media has already been published.",
                    false,
                ),
            };
        }
        ("ERROR", _) => {
            return graph_error(
                400,
                -1,
                Some(2207032),
                "Create media failed, please try to re-create media.",
                false,
            );
        }
        ("IN_PROGRESS", _) => {
            return not_ready();
        }
        _ => {}
    }
    let caption = c.caption.clone();
    let container_id = c.id.clone();
    let sha = hex::encode(c.hasher.clone().finalize());
    let size = c.file_size.unwrap_or(0);
    let share = c.share_to_feed;
    let thumb = c.thumb_offset;
    if used(inner, ig, now - DAY) >= inner.settings.quota_total {
        return graph_error(
            400,
            9,
            Some(2207042),
            "You reached maximum number of posts that is allowed to be published by Content Publishing API.",
            false,
        );
    }
    let media_id = inner.id("1800");
    let shortcode: String = {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        (0..11)
            .map(|_| ALPHABET[rand::random::<u8>() as usize % ALPHABET.len()] as char)
            .collect()
    };
    let timestamp = format_time(now);
    inner.media.push(json!({
        "id": media_id, "owner": ig, "container": container_id, "caption": caption,
        "permalink": format!("https://www.instagram.com/reel/{shortcode}/"), "shortcode": shortcode,
        "media_type": "VIDEO", "media_product_type": "REELS", "timestamp": timestamp,
        "share_to_feed": share, "thumb_offset": thumb, "size": size, "sha256": sha,
    }));
    inner
        .published_at
        .entry(ig.to_string())
        .or_default()
        .push(now);
    if let Some(c) = inner.containers.get_mut(&creation) {
        c.phase = Phase::Published;
        c.media_id = Some(media_id.clone());
    }
    if inner.settings.publish_error_but_live.contains(&n) {
        return graph_error(
            500,
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
            true,
        );
    }
    axum::Json(json!({ "id": media_id })).into_response()
}

/// "Not ready", with the observed `error_user_title`/`error_user_msg` (reference §2.5).
fn not_ready() -> Response {
    let trace: [u8; 9] = rand::random();
    (
        axum::http::StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {
            "message": "Media ID is not available", "type": "OAuthException", "code": 9007,
            "error_subcode": 2207027, "is_transient": false, "error_user_title": "Cannot Publish",
            "error_user_msg": "The media is not ready for publishing, please wait for a moment",
            "fbtrace_id": format!("A{}", hex::encode(trace)),
        }})),
    )
        .into_response()
}

/// `GET /{ig-user-id}/content_publishing_limit` (reference §2.7).
pub(crate) fn limit(inner: &Inner, ig: &str, params: &HashMap<String, String>) -> Response {
    let now = inner.now();
    let since = match params.get("since").map(|s| s.parse::<i64>()) {
        None => now - DAY,
        Some(Ok(since)) if since >= now - DAY => since,
        Some(_) => {
            return graph_error(
                400,
                100,
                None,
                "The since parameter must be a unix timestamp within the last 24 hours.",
                false,
            );
        }
    };
    let mut entry = json!({"quota_usage": used(inner, ig, since)});
    if params
        .get("fields")
        .is_some_and(|f| f.split(',').any(|f| f == "config"))
    {
        entry["config"] = json!({"quota_total": inner.settings.quota_total, "quota_duration": DAY});
    }
    axum::Json(json!({"data": [entry]})).into_response()
}

fn pick(media: &serde_json::Value, fields: &str) -> serde_json::Value {
    let mut out = json!({"id": media["id"]});
    for f in fields.split(',') {
        if matches!(
            f,
            "permalink"
                | "shortcode"
                | "media_type"
                | "media_product_type"
                | "timestamp"
                | "caption"
        ) {
            out[f] = media[f].clone();
        }
    }
    out
}

/// `GET /{ig-user-id}/media`, newest first.
pub(crate) fn list(inner: &Inner, ig: &str, params: &HashMap<String, String>) -> Response {
    let fields = params.get("fields").cloned().unwrap_or_else(|| "id".into());
    let limit = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25usize);
    let data: Vec<serde_json::Value> = inner
        .media
        .iter()
        .rev()
        .filter(|m| m["owner"] == ig)
        .take(limit)
        .map(|m| pick(m, &fields))
        .collect();
    axum::Json(json!({ "data": data })).into_response()
}

/// `GET /{ig-media-id}` (reference §6.15).
pub(crate) fn read(
    inner: &Inner,
    token: &Token,
    id: &str,
    params: &HashMap<String, String>,
) -> Response {
    if inner.settings.permalink_fails {
        return graph_error(400, -1, None, "An unknown error occurred", false);
    }
    let Some(media) = inner.media.iter().find(|m| m["id"] == id) else {
        return graph_error(400, 100, Some(33), "Unsupported get request.", false);
    };
    let owner = media["owner"].as_str().unwrap_or_default();
    if !accounts_of(token).contains(&owner) {
        return graph_error(400, 100, Some(33), "Unsupported get request.", false);
    }
    let fields = params.get("fields").cloned().unwrap_or_else(|| "id".into());
    axum::Json(pick(media, &fields)).into_response()
}

/// `2026-12-02T13:00:00+0000`, Meta's timestamp form.
fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(DAY);
    let secs = unix.rem_euclid(DAY);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
