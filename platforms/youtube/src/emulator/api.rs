//! The YouTube Data API v3 besides the upload itself: bearer authentication and scopes (§9.4),
//! `channels.list` (§8), `videos.list` (§4.3) and `thumbnails.set` (§7), per §9.7; and the
//! video resource the upload and `videos.list` return.

use axum::body::Body;
use axum::extract::{RawQuery, State as AxumState};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::App;
use super::metadata::{CHANNEL_PARTS, VIDEO_PARTS, parse_parts};
use super::state::{
    NoChannelReply, Outcome, Settings, State, THUMBNAIL_COST, Video, random_b64, rfc3339,
};
use super::users::{DEFAULT_USER, channel};
use super::wire::{ApiError, Params, json_reply};

const AUTH: &str = "https://www.googleapis.com/auth/";

/// Which scopes an endpoint accepts (reference §1.2, §9.4).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// `videos.insert`, `thumbnails.set`.
    Upload,
    /// `videos.list`: not `youtube.upload` (reference fact 2).
    Read,
    /// `channels.list`: like `Read`, plus `youtubepartner-channel-audit` (reference §8).
    Channels,
}

impl Need {
    fn accepts(self, scope: &str) -> bool {
        let Some(name) = scope.strip_prefix(AUTH) else {
            return false;
        };
        match self {
            Need::Upload => [
                "youtube.upload",
                "youtube",
                "youtube.force-ssl",
                "youtubepartner",
            ]
            .contains(&name),
            Need::Read => [
                "youtube.readonly",
                "youtube",
                "youtube.force-ssl",
                "youtubepartner",
            ]
            .contains(&name),
            Need::Channels => [
                "youtube.readonly",
                "youtube",
                "youtube.force-ssl",
                "youtubepartner",
                "youtubepartner-channel-audit",
            ]
            .contains(&name),
        }
    }
}

/// Checks the bearer token (header, or the `access_token` query parameter, reference §2.6) and
/// its scopes; returns the account it was granted by.
pub(crate) fn authenticate(
    st: &State,
    headers: &HeaderMap,
    params: &Params,
    need: Need,
) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::new(401, "global", "authError", "Invalid Credentials")
            .at("Authorization", "header")
    };
    let token = match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().map_err(|_| invalid())?;
            match value.split_once(' ') {
                Some((scheme, token))
                    if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
                {
                    token.trim()
                }
                _ => return Err(invalid()),
            }
        }
        None => match params.get("access_token") {
            Some(token) => token,
            None => {
                return Err(ApiError::new(401, "global", "required", "Login Required.")
                    .at("Authorization", "header"));
            }
        },
    };
    let now = st.now();
    let Some(record) = st
        .store
        .access_tokens
        .get(token)
        .filter(|t| now < t.expires_at)
    else {
        return Err(invalid());
    };
    if !record.scopes.iter().any(|s| need.accepts(s)) {
        return Err(ApiError::new(
            403,
            "global",
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        )
        .item_message("Insufficient Permission"));
    }
    if st.settings.rate_limited {
        return Err(ApiError::new(
            403,
            "usageLimits",
            "rateLimitExceeded",
            "The request cannot be completed because you have exceeded your rate limit.",
        ));
    }
    Ok(record.user.clone())
}

/// `401 youtubeSignupRequired`: the account has no channel (reference §5.4, §9.4).
pub(crate) fn signup_required() -> ApiError {
    ApiError::new(
        401,
        "youtube.header",
        "youtubeSignupRequired",
        "Unauthorized",
    )
    .at("Authorization", "header")
}

/// Records and renders an error reply.
pub(crate) fn fail(st: &mut State, error: ApiError) -> Response {
    st.count_error(error.reason());
    error.response()
}

/// `GET /youtube/v3/channels` (reference §8, §9.7). 1 unit.
pub(crate) async fn channels_list(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let mut st = app.lock();
    match channels(&mut st, &headers, &params) {
        Ok(body) => json_reply(200, &body),
        Err(e) => fail(&mut st, e),
    }
}

fn channels(st: &mut State, headers: &HeaderMap, params: &Params) -> Result<Value, ApiError> {
    let caller = authenticate(st, headers, params, Need::Channels)?;
    if !st.charge_units(1) {
        return Err(ApiError::quota_exceeded());
    }
    let parts = parse_parts(params.get("part"), CHANNEL_PARTS)?;
    let filters = [
        "mine",
        "id",
        "forHandle",
        "forUsername",
        "managedByMe",
        "mySubscribers",
        "categoryId",
    ];
    let given: Vec<&str> = filters.iter().copied().filter(|f| params.has(f)).collect();
    if given.len() != 1 {
        return Err(ApiError::bad_request(
            "invalidCriteria",
            "Exactly one of the filters mine, id, forHandle, forUsername and managedByMe must be specified.",
        ));
    }
    let exists = !st.settings.no_channel;
    // Channels are public: `id` and `forHandle` find any account's; `mine` the caller's.
    let users = st.known_users();
    let matches: Vec<String> = match given[0] {
        "mine" => match params.get("mine") {
            Some("true") => {
                if !exists && st.settings.no_channel_reply == NoChannelReply::SignupRequired {
                    return Err(signup_required());
                }
                vec![caller]
            }
            Some("false") => Vec::new(),
            Some(other) => {
                return Err(ApiError::bad_request(
                    "invalidParameter",
                    format!("Invalid boolean value: '{other}'"),
                )
                .at("mine", "parameter"));
            }
            None => Vec::new(),
        },
        "id" => {
            let ids: Vec<&str> = params
                .get("id")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .collect();
            users
                .into_iter()
                .filter(|u| ids.contains(&channel(u).id.as_str()))
                .collect()
        }
        "forHandle" => {
            let handle = params
                .get("forHandle")
                .unwrap_or("")
                .trim_start_matches('@');
            users
                .into_iter()
                .filter(|u| {
                    channel(u)
                        .handle
                        .trim_start_matches('@')
                        .eq_ignore_ascii_case(handle)
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let items: Vec<Value> = if exists {
        matches
            .iter()
            .map(|u| channel_json(st, u, &parts))
            .collect()
    } else {
        Vec::new()
    };
    Ok(json!({
        "kind": "youtube#channelListResponse",
        "etag": random_b64(20),
        "pageInfo": { "totalResults": items.len(), "resultsPerPage": 5 },
        "items": items,
    }))
}

fn channel_json(st: &State, user: &str, parts: &[String]) -> Value {
    let owner = channel(user);
    let mut channel = json!({ "kind": "youtube#channel", "etag": random_b64(20), "id": owner.id });
    let slug = if user == DEFAULT_USER {
        "keryx-demo".to_string()
    } else {
        format!("keryx-{user}")
    };
    let thumb = |size: u32| json!({ "url": format!("https://yt3.ggpht.com/{slug}=s{size}-c-k-c0x00ffffff-no-rj"), "width": size, "height": size });
    for part in parts {
        match part.as_str() {
            "snippet" => {
                channel["snippet"] = json!({
                    "title": owner.title,
                    "description": "",
                    "customUrl": owner.handle,
                    "publishedAt": "2020-01-01T00:00:00Z",
                    "thumbnails": { "default": thumb(88), "medium": thumb(240), "high": thumb(800) },
                    "localized": { "title": owner.title, "description": "" },
                })
            }
            "contentDetails" => {
                channel["contentDetails"] = json!({
                    "relatedPlaylists": { "likes": "LL", "uploads": format!("UU{}", &owner.id[2..]) },
                })
            }
            "status" => {
                // An unverified channel can set no thumbnails and needs verification for long
                // uploads (reference §7, §8).
                let long = if st.settings.thumbnail_unverified_channel {
                    "eligible"
                } else {
                    "allowed"
                };
                channel["status"] = json!({
                    "privacyStatus": "public",
                    "isLinked": true,
                    "longUploadsStatus": long,
                    "madeForKids": false,
                    "selfDeclaredMadeForKids": false,
                })
            }
            "statistics" => {
                channel["statistics"] = json!({
                    "viewCount": "0",
                    "subscriberCount": "0",
                    "hiddenSubscriberCount": false,
                    "videoCount": st.store.videos.iter().filter(|v| v.user == user).count().to_string(),
                })
            }
            "contentOwnerDetails" => channel["contentOwnerDetails"] = json!({}),
            "brandingSettings" => {
                channel["brandingSettings"] = json!({ "channel": { "title": owner.title } })
            }
            _ => {}
        }
    }
    channel
}

/// `GET /youtube/v3/videos?id=...` (reference §4.3, §9.7). 1 unit. Each reply that shows a
/// video moves its processing one step.
pub(crate) async fn videos_list(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let mut st = app.lock();
    match videos(&mut st, &headers, &params) {
        Ok(body) => {
            st.persist();
            json_reply(200, &body)
        }
        Err(e) => fail(&mut st, e),
    }
}

fn videos(st: &mut State, headers: &HeaderMap, params: &Params) -> Result<Value, ApiError> {
    let caller = authenticate(st, headers, params, Need::Read)?;
    if !st.charge_units(1) {
        return Err(ApiError::quota_exceeded());
    }
    let parts = parse_parts(params.get("part"), VIDEO_PARTS)?;
    let given: Vec<&str> = ["id", "chart", "myRating"]
        .into_iter()
        .filter(|f| params.has(f))
        .collect();
    if given.len() != 1 {
        return Err(ApiError::bad_request(
            "invalidCriteria",
            "Exactly one of the filters id, chart and myRating must be specified.",
        ));
    }
    let mut items = Vec::new();
    if given[0] == "id" {
        let settings = st.settings.clone();
        for id in params.get("id").unwrap_or("").split(',').map(str::trim) {
            let Some(video) = st.store.videos.iter_mut().find(|v| v.id == id) else {
                continue;
            };
            if video.user != caller {
                // Another channel's video: not at all while private; otherwise without what
                // only its owner may read (`selfDeclaredMadeForKids`, reference §4.2).
                if video.privacy_status != "private" {
                    let public: Vec<String> = parts
                        .iter()
                        .filter(|p| !OWNER_ONLY_PARTS.contains(&p.as_str()))
                        .cloned()
                        .collect();
                    let mut resource = video_json(video, &public, &settings, false);
                    if let Some(status) = resource["status"].as_object_mut() {
                        status.remove("selfDeclaredMadeForKids");
                    }
                    items.push(resource);
                }
                continue;
            }
            items.push(video_json(video, &parts, &settings, false));
            if !settings.processing_stuck {
                video.polls = video.polls.saturating_add(1);
            }
        }
    }
    Ok(json!({
        "kind": "youtube#videoListResponse",
        "etag": random_b64(20),
        "pageInfo": { "totalResults": items.len(), "resultsPerPage": items.len() },
        "items": items,
    }))
}

/// Parts of a video that only its owner can read (the API's `videos` resource documentation,
/// not in the reference: `fileDetails`, `processingDetails`, `suggestions`).
const OWNER_ONLY_PARTS: &[&str] = &["fileDetails", "processingDetails", "suggestions"];

/// `POST /youtube/v3/videos` (no `/upload`): a metadata-only insert has no video
/// (reference §5.4 `mediaBodyRequired`).
pub(crate) async fn insert_without_media(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let mut st = app.lock();
    if let Err(e) = authenticate(&st, &headers, &params, Need::Upload) {
        return fail(&mut st, e);
    }
    fail(
        &mut st,
        ApiError::bad_request(
            "mediaBodyRequired",
            "The request does not include the video content.",
        ),
    )
}

/// `uploadStatus` and `processingDetails` of a video as of its `polls` (reference §4.2, §4.3).
/// `fresh` is the upload's own reply: always `uploaded` / `processing`.
pub(crate) fn processing_state(
    video: &Video,
    settings: &Settings,
    fresh: bool,
) -> (&'static str, Value) {
    let total = 1000u64;
    if fresh || video.polls < settings.processing_polls {
        let done = if fresh {
            0
        } else {
            total * (u64::from(video.polls) + 1) / (u64::from(settings.processing_polls) + 1)
        };
        let details = json!({
            "processingStatus": "processing",
            "processingProgress": { "partsTotal": total.to_string(), "partsProcessed": done.to_string(), "timeLeftMs": ((total - done) * 60).to_string() },
        });
        return ("uploaded", details);
    }
    match settings.processing_outcome {
        Outcome::Succeeded => ("processed", json!({ "processingStatus": "succeeded" })),
        Outcome::Failed => (
            "failed",
            json!({ "processingStatus": "failed", "processingFailureReason": "transcodeFailed" }),
        ),
        Outcome::Rejected => ("rejected", json!({ "processingStatus": "terminated" })),
    }
}

/// The video resource with only the parts asked for (reference §3.6, §9.6 "Completion").
pub(crate) fn video_json(
    video: &Video,
    parts: &[String],
    settings: &Settings,
    fresh: bool,
) -> Value {
    let meta = &video.meta;
    let owner = channel(&video.user);
    let mut resource = json!({ "kind": "youtube#video", "etag": video.etag, "id": video.id });
    let (upload_status, processing) = processing_state(video, settings, fresh);
    for part in parts {
        match part.as_str() {
            "snippet" => {
                let thumb = |name: &str, w: u32, h: u32| json!({ "url": format!("https://i.ytimg.com/vi/{}/{name}.jpg", video.id), "width": w, "height": h });
                let mut snippet = json!({
                    "publishedAt": rfc3339(video.published_at),
                    "channelId": owner.id,
                    "title": meta.title,
                    "description": meta.description,
                    "thumbnails": { "default": thumb("default", 120, 90), "medium": thumb("mqdefault", 320, 180), "high": thumb("hqdefault", 480, 360) },
                    "channelTitle": owner.title,
                    "categoryId": meta.category_id,
                    "liveBroadcastContent": "none",
                    "localized": { "title": meta.title, "description": meta.description },
                });
                if let Some(tags) = &meta.tags {
                    snippet["tags"] = json!(tags);
                }
                if let Some(lang) = &meta.default_language {
                    snippet["defaultLanguage"] = json!(lang);
                }
                if let Some(lang) = &meta.default_audio_language {
                    snippet["defaultAudioLanguage"] = json!(lang);
                }
                resource["snippet"] = snippet;
            }
            "status" => {
                let mut status = json!({
                    "uploadStatus": upload_status,
                    "privacyStatus": video.privacy_status,
                    "license": meta.license.as_deref().unwrap_or("youtube"),
                    "embeddable": meta.embeddable.unwrap_or(true),
                    "publicStatsViewable": meta.public_stats_viewable.unwrap_or(true),
                    "madeForKids": meta.self_declared_made_for_kids.unwrap_or(false),
                });
                if let Some(v) = meta.self_declared_made_for_kids {
                    status["selfDeclaredMadeForKids"] = json!(v);
                }
                if let Some(v) = meta.contains_synthetic_media {
                    status["containsSyntheticMedia"] = json!(v);
                }
                if let Some(at) = &meta.publish_at {
                    status["publishAt"] = json!(at);
                }
                match upload_status {
                    "failed" => status["failureReason"] = json!("codec"),
                    "rejected" => status["rejectionReason"] = json!("duplicate"),
                    _ => {}
                }
                resource["status"] = status;
            }
            "processingDetails" => resource["processingDetails"] = processing.clone(),
            // The emulator does not read the media: "P0D" is what YouTube shows while a video
            // is still processing.
            "contentDetails" => {
                resource["contentDetails"] = json!({
                    "duration": "P0D", "dimension": "2d", "definition": "sd", "caption": "false",
                    "licensedContent": false, "contentRating": {}, "projection": "rectangular",
                })
            }
            "fileDetails" => {
                resource["fileDetails"] = json!({ "fileName": video.file_name.clone().unwrap_or_default(), "fileSize": video.bytes.to_string() })
            }
            "statistics" => {
                resource["statistics"] = json!({ "viewCount": "0", "likeCount": "0", "favoriteCount": "0", "commentCount": "0" })
            }
            "player" => {
                resource["player"] = json!({
                    "embedHtml": format!("<iframe width=\"480\" height=\"270\" src=\"//www.youtube.com/embed/{}\" frameborder=\"0\" allowfullscreen></iframe>", video.id),
                })
            }
            "recordingDetails" => {
                resource["recordingDetails"] =
                    meta.recording_details.clone().unwrap_or_else(|| json!({}))
            }
            "localizations" => {
                if let Some(l) = &meta.localizations {
                    resource["localizations"] = l.clone();
                }
            }
            _ => {}
        }
    }
    resource
}

/// Reads a body up to `limit` bytes; the rest is read and dropped so the client gets the reply.
/// Returns the bytes kept and the total length.
pub(crate) async fn read_limited(body: Body, limit: u64) -> (Vec<u8>, u64) {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut total = 0u64;
    while let Some(frame) = stream.next().await {
        let Ok(data) = frame else { break };
        total += data.len() as u64;
        let room = limit.saturating_sub(kept.len() as u64) as usize;
        kept.extend_from_slice(&data[..data.len().min(room)]);
    }
    (kept, total)
}

/// `POST /upload/youtube/v3/thumbnails/set?videoId=...` (reference §7, §9.7). 50 units.
pub(crate) async fn thumbnails_set(
    AxumState(app): AxumState<App>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let checked = {
        let mut st = app.lock();
        let max = st.settings.thumbnail_max_bytes;
        thumbnail_checks(&mut st, &headers, &params).map(|id| (id, max))
    };
    let (video_id, max) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            let _ = read_limited(body, 0).await;
            return fail(&mut app.lock(), e);
        }
    };
    // Only the signature is looked at; the rest is counted, not kept.
    let (image, total) = read_limited(body, 8).await;
    let mut st = app.lock();
    if total == 0 {
        return fail(
            &mut st,
            ApiError::bad_request(
                "mediaBodyRequired",
                "The request does not include the image content.",
            ),
        );
    }
    if total > max {
        // The discovery document's maxSize (reference §7); the real status is unverified (§9.7).
        return fail(
            &mut st,
            ApiError::new(
                413,
                "global",
                "uploadTooLarge",
                format!("Media larger than: {max}"),
            ),
        );
    }
    let png = image.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
    let jpeg = image.starts_with(&[0xff, 0xd8, 0xff]);
    if !png && !jpeg {
        return fail(
            &mut st,
            ApiError::bad_request("invalidImage", "The provided image content is invalid."),
        );
    }
    let Some(video) = st.store.videos.iter_mut().find(|v| v.id == video_id) else {
        return fail(&mut st, video_not_found());
    };
    video.thumbnail_bytes = Some(total);
    st.counters.thumbnails_set += 1;
    st.persist();
    let entry = |name: &str, w: u32, h: u32| json!({ "url": format!("https://i.ytimg.com/vi/{video_id}/{name}.jpg"), "width": w, "height": h });
    json_reply(
        200,
        &json!({
            "kind": "youtube#thumbnailSetResponse",
            "etag": random_b64(20),
            "items": [{
                "default": entry("default", 120, 90),
                "medium": entry("mqdefault", 320, 180),
                "high": entry("hqdefault", 480, 360),
                "standard": entry("sddefault", 640, 480),
                "maxres": entry("maxresdefault", 1280, 720),
            }],
        }),
    )
}

fn video_not_found() -> ApiError {
    ApiError::new(
        404,
        "youtube.thumbnail",
        "videoNotFound",
        "The video that you are trying to insert a thumbnail image for cannot be found. Check the value of the request's videoId parameter to ensure that it is correct.",
    )
}

fn thumbnail_checks(
    st: &mut State,
    headers: &HeaderMap,
    params: &Params,
) -> Result<String, ApiError> {
    let caller = authenticate(st, headers, params, Need::Upload)?;
    if st.settings.no_channel {
        return Err(signup_required());
    }
    if !st.charge_units(THUMBNAIL_COST) {
        return Err(ApiError::quota_exceeded());
    }
    match params.get("uploadType") {
        None | Some("media") => {}
        Some("resumable" | "multipart") => {
            return Err(ApiError::bad_request(
                "badRequest",
                "The keryx emulator implements thumbnails.set as a single request only (uploadType=media).",
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
    let Some(video_id) = params.get("videoId").filter(|v| !v.is_empty()) else {
        return Err(ApiError::required_parameter("videoId"));
    };
    let Some(video) = st.store.videos.iter().find(|v| v.id == video_id) else {
        return Err(video_not_found());
    };
    if video.user != caller {
        // Another channel's video (the exact reply is unverified; `forbidden` is what the
        // reference lists for "not allowed", §5.4).
        return Err(ApiError::new(
            403,
            "youtube.thumbnail",
            "forbidden",
            "The authenticated user doesnt have permissions to upload and set custom video thumbnails.",
        ));
    }
    // Since 2026-11-03 a Short takes a custom thumbnail once its processing is complete
    // (reference §6); the exact refusal before that is unverified.
    if video.short && processing_state(video, &st.settings, false).0 != "processed" {
        return Err(ApiError::new(
            400,
            "youtube.thumbnail",
            "failedPrecondition",
            "A custom thumbnail can be set for a Short only once its processing is complete.",
        ));
    }
    if st.settings.thumbnail_unverified_channel {
        return Err(ApiError::new(
            403,
            "youtube.thumbnail",
            "forbidden",
            "The authenticated user doesnt have permissions to upload and set custom video thumbnails.",
        ));
    }
    if st.settings.thumbnail_rate_limited {
        return Err(ApiError::new(
            429,
            "youtube.thumbnail",
            "uploadRateLimitExceeded",
            "The channel has uploaded too many thumbnails recently. Please try the request again later.",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !["image/jpeg", "image/png", "application/octet-stream"].contains(&media.as_str()) {
        return Err(ApiError::bad_request(
            "badContent",
            format!(
                "Media type '{content_type}' is not supported. Valid media types: [image/jpeg, image/png, application/octet-stream]"
            ),
        ));
    }
    Ok(video_id.to_string())
}
