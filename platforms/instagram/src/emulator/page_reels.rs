//! Facebook Page Reels (reference §3, §6.18): `video_reels` start and finish, rupload's
//! `video-upload` namespace, and the status with the Page Reels spelling `bytes_transfered`.
//! keryx posts Instagram Reels, not Page Reels; the fake keeps Meta's other Reels door honest
//! for a client that would.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::login::{check_token, missing_scope};
use super::mp4::Walker;
use super::{App, Inner, Token, TokenKind, graph_error, rupload_error};

const DAY: i64 = 86_400;
const PER_PAGE_PER_DAY: usize = 30;

pub(crate) struct Reel {
    page: String,
    file_size: Option<u64>,
    received: u64,
    walker: Walker,
    /// `draft`, `published` or `scheduled` once finished.
    state: Option<&'static str>,
    finished_at: Option<i64>,
    publish_time: Option<i64>,
}

fn page_token_of(token: &Token, page: &str) -> bool {
    matches!(&token.kind, TokenKind::Page(id) if id == page)
}

/// `POST /{page-id}/video_reels` with `upload_phase=start|finish`.
pub(crate) fn video_reels(
    inner: &mut Inner,
    token: &Token,
    page: &str,
    params: &HashMap<String, String>,
    base: &str,
    v: &str,
) -> Response {
    if !page_token_of(token, page) {
        return graph_error(
            400,
            190,
            None,
            "(#190) This method must be called with a Page Access Token",
            false,
        );
    }
    for scope in [
        "pages_show_list",
        "pages_read_engagement",
        "pages_manage_posts",
    ] {
        if let Some(refused) = missing_scope(inner, token, scope) {
            return refused;
        }
    }
    let now = inner.now();
    match params.get("upload_phase").map(String::as_str) {
        Some("start") => {
            let recent = inner
                .reels
                .values()
                .filter(|r| r.page == page && r.finished_at.is_some_and(|t| now - t < DAY))
                .count();
            if recent >= PER_PAGE_PER_DAY {
                return graph_error(
                    400,
                    100,
                    None,
                    "This Page reached its limit of 30 API-published reels in 24 hours.",
                    false,
                );
            }
            let id = inner.id("1210");
            inner.reels.insert(
                id.clone(),
                Reel {
                    page: page.to_string(),
                    file_size: None,
                    received: 0,
                    walker: Walker::default(),
                    state: None,
                    finished_at: None,
                    publish_time: None,
                },
            );
            axum::Json(json!({"video_id": id, "upload_url": format!("{base}/rupload.facebook.com/video-upload/{v}/{id}")})).into_response()
        }
        Some("finish") => {
            let Some(reel) = params
                .get("video_id")
                .and_then(|id| inner.reels.get_mut(id))
                .filter(|r| r.page == page)
            else {
                return graph_error(
                    400,
                    100,
                    None,
                    "The parameter video_id is required and must be a reel of this Page.",
                    false,
                );
            };
            let state = match params.get("video_state").map(String::as_str) {
                Some("PUBLISHED") => "published",
                Some("DRAFT") => "draft",
                Some("SCHEDULED") => "scheduled",
                _ => {
                    return graph_error(
                        400,
                        100,
                        None,
                        "The parameter video_state is required (PUBLISHED, DRAFT or SCHEDULED).",
                        false,
                    );
                }
            };
            let publish_time = params
                .get("scheduled_publish_time")
                .and_then(|t| t.parse::<i64>().ok());
            if state == "scheduled"
                && !publish_time.is_some_and(|t| t > now + 600 && t <= now + 29 * DAY)
            {
                return graph_error(
                    400,
                    100,
                    None,
                    "scheduled_publish_time must be more than 10 minutes and at most 29 days ahead.",
                    false,
                );
            }
            if reel.file_size.is_none_or(|size| reel.received < size) {
                return graph_error(
                    400,
                    100,
                    None,
                    "The video has not been uploaded completely.",
                    false,
                );
            }
            if !reel
                .walker
                .duration_ms
                .is_some_and(|ms| (3_000..=90_000).contains(&ms))
            {
                return graph_error(400, 100, None, "A Page reel lasts 3 to 90 seconds.", false);
            }
            reel.state = Some(state);
            reel.finished_at = Some(now);
            reel.publish_time = Some(publish_time.unwrap_or(now));
            axum::Json(json!({"success": true})).into_response()
        }
        _ => graph_error(
            400,
            100,
            None,
            "The parameter upload_phase must be start or finish (not complete).",
            false,
        ),
    }
}

/// `POST /rupload.facebook.com/video-upload/{v}/{video_id}`: the rupload header rules.
pub(crate) async fn upload(
    State(app): State<App>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut guard = app.lock();
    let inner = &mut *guard;
    inner.counters.rupload_posts += 1;
    if !crate::config::is_version(&v) {
        return rupload_error(404, "NotFoundError", "Unknown path", false);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("OAuth "))
        .map(str::to_owned);
    let Ok(token) = check_token(inner, token.as_deref()) else {
        return rupload_error(
            400,
            "ProcessingFailedError",
            r#"{"success":false,"error":{"message":"unauthorized user request"}}"#,
            false,
        );
    };
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let (Some(offset), Some(file_size)) = (number("offset"), number("file_size")) else {
        return rupload_error(
            400,
            "ProcessingFailedError",
            "The offset and file_size headers are required integers",
            false,
        );
    };
    let Some(reel) = inner
        .reels
        .get_mut(&id)
        .filter(|r| page_token_of(&token, &r.page))
    else {
        return rupload_error(
            400,
            "ProcessingFailedError",
            "Request processing failed",
            false,
        );
    };
    if reel.file_size.is_some_and(|f| f != file_size) || file_size == 0 {
        return rupload_error(
            400,
            "ProcessingFailedError",
            "file_size differs from the upload's",
            false,
        );
    }
    if offset != reel.received {
        return rupload_error(
            412,
            "OffsetInvalidError",
            "Request starting offset is invalid",
            true,
        );
    }
    if body.len() as u64 > file_size - offset {
        return rupload_error(
            400,
            "ProcessingFailedError",
            "The body is longer than file_size - offset",
            false,
        );
    }
    reel.file_size = Some(file_size);
    reel.walker.feed(&body);
    reel.received += body.len() as u64;
    inner.counters.bytes_received += body.len() as u64;
    if reel.received < file_size {
        return rupload_error(
            206,
            "PartialRequestError",
            "Partial request (did not match length of file)",
            true,
        );
    }
    axum::Json(json!({"success": true})).into_response()
}

pub(crate) fn is_reel(inner: &Inner, id: &str) -> bool {
    inner.reels.contains_key(id)
}

/// `GET /{video-id}?fields=status`, with the `bytes_transfered` spelling (reference §3).
pub(crate) fn status(inner: &Inner, token: &Token, id: &str) -> Response {
    let Some(reel) = inner
        .reels
        .get(id)
        .filter(|r| page_token_of(token, &r.page))
    else {
        return graph_error(400, 100, Some(33), "Unsupported get request.", false);
    };
    let complete = reel.file_size.is_some_and(|s| reel.received >= s);
    let uploading = if complete {
        "complete"
    } else if reel.received > 0 {
        "in_progress"
    } else {
        "not_started"
    };
    let video_status = match (complete, reel.state) {
        (false, _) => "uploading",
        (true, None) => "upload_complete",
        (true, Some(_)) => "ready",
    };
    let publishing = match reel.state {
        Some(state) => {
            json!({"status": "complete", "publish_status": state, "publish_time": reel.publish_time})
        }
        None => json!({"status": "not_started"}),
    };
    axum::Json(json!({"id": id, "status": {
        "video_status": video_status,
        "uploading_phase": {"status": uploading, "bytes_transfered": reel.received, "source_file_size": reel.file_size},
        "processing_phase": {"status": if complete { "complete" } else { "not_started" }},
        "publishing_phase": publishing,
    }}))
    .into_response()
}
