//! Opening a resumable upload session for `videos.insert` (reference §3.1, §9.5): the metadata
//! checked, the quota charged, the session URI handed out. The PUTs that follow are
//! [`super::upload`].

use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::App;
use super::api::{Need, authenticate, fail, signup_required};
use super::metadata::{VIDEO_PARTS, parse_parts, validate};
use super::state::{MAX_UPLOAD_BYTES, Session, State, random_b64};
use super::upload::{UPLOAD_ID_HEADER, session_uri};
use super::wire::{ApiError, Params};

/// `POST /upload/youtube/v3/videos?uploadType=resumable&part=...` (reference §3.1, §9.5).
pub(crate) async fn initiate(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let mut st = app.lock();
    let response = match open_session(&mut st, &app.base_url, &params, &headers, &body) {
        Ok(response) => response,
        Err(e) => fail(&mut st, e),
    };
    // Quota was charged even if the request was refused (reference §5.2).
    st.persist();
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value.to_str().map(Some).map_err(|_| {
            ApiError::bad_request(
                "badRequest",
                format!("The {name} header is not valid text."),
            )
        }),
    }
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(crate) fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn open_session(
    st: &mut State,
    base_url: &str,
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let user = authenticate(st, headers, params, Need::Upload)?;
    if st.settings.no_channel {
        return Err(signup_required());
    }
    // Every request costs quota, even a refused one (reference §5.2), and quota is reported
    // on this request, before any bytes move (§3.1).
    if !st.charge_insert() {
        return Err(ApiError::quota_exceeded());
    }
    if params.has("upload_id") {
        // The bug of §3.9 (chunks sent with POST): a session URI takes PUT.
        return Err(ApiError::bad_request(
            "badRequest",
            "A resumable session URI accepts PUT requests only.",
        ));
    }
    match params.get("uploadType") {
        Some("resumable") => {}
        None => {
            return Err(ApiError::bad_request(
                "wrongUrlForUpload",
                "Upload requests must include an uploadType URL parameter and a URL path beginning with /upload/",
            ));
        }
        Some("media" | "multipart") => {
            return Err(ApiError::bad_request(
                "badRequest",
                "The keryx emulator implements videos.insert as a resumable upload only (uploadType=resumable).",
            ));
        }
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalidParameter",
                format!("Invalid uploadType: {other}"),
            )
            .at("uploadType", "parameter"));
        }
    }
    let parts = parse_parts(params.get("part"), VIDEO_PARTS)?;
    let notify_subscribers = match params.get("notifySubscribers") {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalidParameter",
                format!("Invalid boolean value: '{other}'"),
            )
            .at("notifySubscribers", "parameter"));
        }
    };
    // `video/*` or `application/octet-stream` (reference §3.1, §9.5).
    let content_type = header_str(headers, "x-upload-content-type")?;
    if let Some(value) = content_type {
        let media = media_type(value);
        let video = media
            .strip_prefix("video/")
            .is_some_and(|sub| !sub.is_empty());
        if !video && media != "application/octet-stream" {
            return Err(ApiError::bad_request(
                "badContent",
                format!(
                    "Media type '{value}' is not supported. Valid media types: [video/*, application/octet-stream]"
                ),
            ));
        }
    }
    // A non-negative integer no larger than maxSize (reference §9.5); may be absent (§3.1).
    let total = match header_str(headers, "x-upload-content-length")? {
        None => None,
        Some(value) => {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::bad_request(
                    "badRequest",
                    format!("Invalid X-Upload-Content-Length header: '{value}'"),
                ));
            }
            // Too many digits for u64 is certainly too large.
            let size = value.parse::<u64>().unwrap_or(u64::MAX);
            if size > MAX_UPLOAD_BYTES {
                return Err(ApiError::new(
                    413,
                    "global",
                    "uploadTooLarge",
                    format!("Media larger than: {MAX_UPLOAD_BYTES}"),
                ));
            }
            if size == 0 {
                // An empty file is not a video; refused here rather than failing processing.
                return Err(ApiError::bad_request(
                    "mediaBodyRequired",
                    "The request does not include the video content.",
                ));
            }
            Some(size)
        }
    };
    let file_name = match headers.get("slug") {
        None => None,
        Some(value) => match value.to_str() {
            Ok(name) if !name.trim().is_empty() => Some(name.to_string()),
            _ => {
                return Err(ApiError::bad_request(
                    "invalidFilename",
                    "The video filename specified in the Slug header is invalid.",
                ));
            }
        },
    };
    let resource: Value = if body.is_empty() {
        json!({})
    } else {
        let declared = header_str(headers, "content-type")?.unwrap_or("");
        if media_type(declared) != "application/json" {
            return Err(ApiError::bad_request(
                "badContent",
                format!("Unsupported content with type: {declared}"),
            ));
        }
        serde_json::from_slice(body)
            .map_err(|_| ApiError::bad_request("parseError", "Parse Error"))?
    };
    let meta = validate(&parts, &resource)?;
    // The channel's daily cap, counted in sessions opened today (reference §5.2).
    if let Some(cap) = st.settings.channel_upload_cap
        && st.quota().uploads_by_user.get(&user).copied().unwrap_or(0) >= cap
    {
        return Err(ApiError::video(
            400,
            "uploadLimitExceeded",
            "The user has exceeded the number of videos they may upload.",
        ));
    }
    *st.quota().uploads_by_user.entry(user.clone()).or_default() += 1;
    let upload_id = format!("AUEx{}", random_b64(60));
    let location = session_uri(base_url, &upload_id, &parts);
    let now = st.now();
    st.store.sessions.insert(
        upload_id.clone(),
        Session {
            user,
            created_at: now,
            parts,
            meta,
            notify_subscribers,
            file_name,
            total,
            declared_total: total.is_some(),
            content_type: content_type.map(str::to_string),
            committed: 0,
            expired: false,
            final_reply: None,
            video_id: None,
            hasher: Some(Sha256::new()),
        },
    );
    st.counters.sessions_started += 1;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&upload_id) {
        headers.insert(UPLOAD_ID_HEADER, value);
    }
    Ok(response)
}
