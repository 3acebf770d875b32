//! The bearer-token v2 endpoints: user info, creator info, the two inits and status polling.
//! Reference §4, §5, §7, §10 and "Every v2 API call", "creator_info", "video/init",
//! "status/fetch" in "What a faithful fake server must enforce".

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use rand::Rng;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::App;
use super::state::{
    Endpoint, Outcome, Publish, State as EmuState, derived_id, random_b64, random_digits,
};
use super::wire::{Reply, api_body, api_error, api_ok, is_json_utf8, rate_limited};

/// Strict unit intersection of the chunk rules (reference §6.1 and the fake-server section):
/// "5 MB" read as MiB for the minimum, "64 MB" and "128 MB" read as decimal for the maxima.
pub(crate) const MIN_CHUNK: u64 = 5_242_880;
pub(crate) const MAX_CHUNK: u64 = 64_000_000;
pub(crate) const MAX_FINAL_CHUNK: u64 = 128_000_000;
pub(crate) const MAX_CHUNKS: u64 = 1000;

const PRIVATE_OPTIONS: [&str; 3] = ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"];
const PUBLIC_OPTIONS: [&str; 3] = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"];

pub(crate) struct Caller {
    pub user: String,
    pub scopes: Vec<String>,
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = raw.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

fn invalid_params(message: &str, log_id: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, "invalid_params", message, log_id)
}

/// Checks shared by every v2 call ("Every v2 API call"): a live bearer token (else 401
/// `access_token_invalid`), the per-token sliding-minute limit (429), the scope (401
/// `scope_not_authorized`) and, for POSTs, `Content-Type: application/json; charset=UTF-8`.
fn authenticate(
    st: &mut EmuState,
    headers: &HeaderMap,
    endpoint: Endpoint,
    log_id: &str,
) -> Result<Caller, Response> {
    let invalid = || {
        api_error(
            StatusCode::UNAUTHORIZED,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
            log_id,
        )
    };
    let token = bearer(headers).ok_or_else(invalid)?;
    let grant = st.access_live(&token).ok_or_else(invalid)?;
    let caller = Caller {
        user: grant.user.clone(),
        scopes: grant.scopes.clone(),
    };
    st.rate_check(&token, endpoint)
        .map_err(|secs| rate_limited(secs, log_id))?;
    let needed: &[&str] = match endpoint {
        Endpoint::UserInfo => &["user.info.basic"],
        Endpoint::CreatorInfo | Endpoint::VideoInit => &["video.publish"],
        Endpoint::InboxInit => &["video.upload"],
        Endpoint::StatusFetch => &["video.upload", "video.publish"],
    };
    if !needed.iter().any(|s| caller.scopes.iter().any(|g| g == s)) {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "scope_not_authorized",
            "The user did not authorize the scope required for completing this request.",
            log_id,
        ));
    }
    if endpoint != Endpoint::UserInfo && !is_json_utf8(headers) {
        return Err(invalid_params(
            "Content-Type must be application/json; charset=UTF-8.",
            log_id,
        ));
    }
    Ok(caller)
}

fn nickname(user: &str) -> String {
    user.split(['_', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn avatar(user: &str, size: &str) -> String {
    // `.invalid` never resolves: clients show the URL, they do not fetch it.
    format!("https://p16-sign.tiktokcdn.example.invalid/emulator/{user}~c5_{size}.jpeg")
}

/// `GET /v2/user/info/?fields=...` (reference §4).
pub(crate) async fn user_info(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let mut st = app.shared.lock();
    let log_id = st.log_id();
    user_info_inner(&mut st, &headers, query.as_deref().unwrap_or(""), &log_id)
        .unwrap_or_else(|e| e)
}

fn user_info_inner(st: &mut EmuState, headers: &HeaderMap, query: &str, log_id: &str) -> Reply {
    let caller = authenticate(st, headers, Endpoint::UserInfo, log_id)?;
    let fields = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid_params("The fields parameter is required.", log_id))?;
    let user = caller.user.as_str();
    let mut out = Map::new();
    for field in fields.split(',') {
        let (scope, value) = match field {
            "open_id" => ("user.info.basic", json!(derived_id("open_id", user))),
            "union_id" => ("user.info.basic", json!(derived_id("union_id", user))),
            "avatar_url" => ("user.info.basic", json!(avatar(user, "720x720"))),
            "avatar_url_100" => ("user.info.basic", json!(avatar(user, "100x100"))),
            "avatar_large_url" => ("user.info.basic", json!(avatar(user, "1080x1080"))),
            "display_name" => ("user.info.basic", json!(nickname(user))),
            "bio_description" => ("user.info.profile", json!("")),
            "profile_deep_link" => (
                "user.info.profile",
                json!(format!("https://vm.tiktok.example.invalid/@{user}")),
            ),
            "is_verified" => ("user.info.profile", json!(false)),
            "username" => ("user.info.profile", json!(user)),
            "follower_count" | "following_count" | "likes_count" | "video_count" => {
                ("user.info.stats", json!(0))
            }
            other => {
                return Err(invalid_params(
                    &format!("The field {other:?} is invalid."),
                    log_id,
                ));
            }
        };
        if !caller.scopes.iter().any(|s| s == scope) {
            let message =
                format!("The field {field} needs the scope {scope}, which the user did not grant.");
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "scope_permission_missed",
                &message,
                log_id,
            ));
        }
        out.insert(field.to_string(), value);
    }
    Ok(api_ok(json!({ "user": out }), log_id))
}

/// `POST /v2/post/publish/creator_info/query/` (reference §5.1). Cap conditions answer HTTP
/// 200 with a non-`ok` code, on purpose.
pub(crate) async fn creator_info(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = app.shared.lock();
    let log_id = st.log_id();
    creator_info_inner(&mut st, &headers, &body, &log_id).unwrap_or_else(|e| e)
}

fn creator_info_inner(st: &mut EmuState, headers: &HeaderMap, body: &[u8], log_id: &str) -> Reply {
    let caller = authenticate(st, headers, Endpoint::CreatorInfo, log_id)?;
    // The doc sends no body; `{}` is common (reference §5.1). Both pass, anything else not.
    if !body.is_empty() && !matches!(serde_json::from_slice::<Value>(body), Ok(Value::Object(_))) {
        return Err(invalid_params(
            "The request body must be empty or a JSON object.",
            log_id,
        ));
    }
    st.counters.creator_info_queries += 1;
    if let Some((code, message)) = st.cannot_post(&caller.user) {
        return Ok(api_body(StatusCode::OK, json!({}), code, message, log_id));
    }
    let s = &st.settings;
    let private = s.account_private;
    let options = if private {
        PRIVATE_OPTIONS
    } else {
        PUBLIC_OPTIONS
    };
    let data = json!({
        "creator_avatar_url": avatar(&caller.user, "168x168"),
        "creator_username": caller.user,
        "creator_nickname": nickname(&caller.user),
        "privacy_level_options": options,
        "comment_disabled": s.comment_disabled,
        // Private accounts have duet and stitch off (reference §5.1 field table).
        "duet_disabled": s.duet_disabled || private,
        "stitch_disabled": s.stitch_disabled || private,
        "max_video_post_duration_sec": s.max_video_post_duration_sec,
    });
    st.creator(&caller.user).privacy_options = Some(options.to_vec());
    Ok(api_ok(data, log_id))
}

/// What a valid FILE_UPLOAD `source_info` asks for.
struct Source {
    video_size: u64,
    chunk_size: u64,
    chunk_count: u64,
}

/// The chunk arithmetic of reference §6.1 with the strict unit intersection. `Err` is the
/// observed `invalid_params` message.
pub(crate) fn check_chunks(
    video_size: u64,
    chunk_size: u64,
    total_chunk_count: u64,
) -> Result<(), &'static str> {
    const SIZE: &str = "The chunk size is invalid";
    const COUNT: &str = "The total chunk count is invalid";
    if chunk_size == 0 || chunk_size > video_size {
        return Err(SIZE);
    }
    let n = video_size / chunk_size;
    // One request with chunk_size == video_size is how small videos go up; it is fine up to
    // the 64 MB chunk maximum.
    let single = chunk_size == video_size && video_size <= MAX_CHUNK;
    if !single {
        // Videos under 5 MB must be one chunk equal to the whole file.
        if video_size < MIN_CHUNK {
            return Err(SIZE);
        }
        if !(MIN_CHUNK..=MAX_CHUNK).contains(&chunk_size) {
            return Err(SIZE);
        }
        // Videos over 64 MB need at least two chunks.
        if video_size > MAX_CHUNK && n < 2 {
            return Err(SIZE);
        }
    }
    if !(1..=MAX_CHUNKS).contains(&n) {
        return Err(SIZE);
    }
    if video_size - (n - 1) * chunk_size > MAX_FINAL_CHUNK {
        return Err(SIZE);
    }
    // floor, never ceil (reference Surprise 5).
    if total_chunk_count != n {
        return Err(COUNT);
    }
    Ok(())
}

fn field_u64(obj: &Map<String, Value>, name: &str, log_id: &str) -> Result<u64, Response> {
    match obj.get(name) {
        Some(v) => v.as_u64().filter(|n| *n > 0),
        None => None,
    }
    .ok_or_else(|| {
        invalid_params(
            &format!("source_info.{name} must be a positive integer."),
            log_id,
        )
    })
}

/// `source_info` (reference §5.2, §6.1): FILE_UPLOAD with positive integer sizes within the
/// 4 GB cap and valid chunk arithmetic; PULL_FROM_URL needs a verified domain, which the fake
/// never has.
fn check_source(
    st: &EmuState,
    body: &Map<String, Value>,
    log_id: &str,
) -> Result<Source, Response> {
    let Some(Value::Object(src)) = body.get("source_info") else {
        return Err(invalid_params(
            "source_info is required and must be an object.",
            log_id,
        ));
    };
    match src.get("source").and_then(Value::as_str) {
        Some("FILE_UPLOAD") => {}
        Some("PULL_FROM_URL") => {
            if !src.get("video_url").is_some_and(Value::is_string) {
                return Err(invalid_params(
                    "source_info.video_url is required for PULL_FROM_URL.",
                    log_id,
                ));
            }
            return Err(api_error(
                StatusCode::FORBIDDEN,
                "url_ownership_unverified",
                "The domain or URL prefix of video_url is not verified for this app.",
                log_id,
            ));
        }
        _ => {
            return Err(invalid_params(
                "source_info.source must be FILE_UPLOAD or PULL_FROM_URL.",
                log_id,
            ));
        }
    }
    if let Some(k) = src.keys().find(|k| {
        !["source", "video_size", "chunk_size", "total_chunk_count"].contains(&k.as_str())
    }) {
        return Err(invalid_params(
            &format!("Unknown field source_info.{k} for FILE_UPLOAD."),
            log_id,
        ));
    }
    let video_size = field_u64(src, "video_size", log_id)?;
    let chunk_size = field_u64(src, "chunk_size", log_id)?;
    let chunk_count = field_u64(src, "total_chunk_count", log_id)?;
    if video_size > st.settings.max_video_size {
        let message = format!(
            "The video size is invalid: larger than {} bytes.",
            st.settings.max_video_size
        );
        return Err(invalid_params(&message, log_id));
    }
    check_chunks(video_size, chunk_size, chunk_count).map_err(|m| invalid_params(m, log_id))?;
    Ok(Source {
        video_size,
        chunk_size,
        chunk_count,
    })
}

/// `post_info` field types (reference §5.2 table). Unknown fields are refused: TikTok may ignore
/// them, but in a client they are typos (`disable_comments`) that would silently drop a
/// user's choice.
fn check_post_info_types(info: &Map<String, Value>, log_id: &str) -> Result<(), Response> {
    for (k, v) in info {
        let ok = match k.as_str() {
            "title" | "privacy_level" => v.is_string(),
            "disable_duet"
            | "disable_comment"
            | "disable_stitch"
            | "brand_content_toggle"
            | "brand_organic_toggle"
            | "is_aigc" => v.is_boolean(),
            "video_cover_timestamp_ms" => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            _ => {
                return Err(invalid_params(
                    &format!("Unknown field post_info.{k}."),
                    log_id,
                ));
            }
        };
        if !ok {
            return Err(invalid_params(
                &format!("post_info.{k} has the wrong type."),
                log_id,
            ));
        }
    }
    Ok(())
}

fn json_object(body: &[u8], log_id: &str) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid_params(
            "The request body must be a JSON object.",
            log_id,
        )),
    }
}

/// `POST /v2/post/publish/video/init/` (Direct Post, reference §5.2).
pub(crate) async fn video_init(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = app.shared.lock();
    let log_id = st.log_id();
    init_inner(&mut st, &app.base_url, &headers, &body, false, &log_id).unwrap_or_else(|e| e)
}

/// `POST /v2/post/publish/inbox/video/init/` (drafts, reference §10).
pub(crate) async fn inbox_init(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = app.shared.lock();
    let log_id = st.log_id();
    init_inner(&mut st, &app.base_url, &headers, &body, true, &log_id).unwrap_or_else(|e| e)
}

fn init_inner(
    st: &mut EmuState,
    base_url: &str,
    headers: &HeaderMap,
    body: &[u8],
    inbox: bool,
    log_id: &str,
) -> Reply {
    let endpoint = if inbox {
        Endpoint::InboxInit
    } else {
        Endpoint::VideoInit
    };
    let caller = authenticate(st, headers, endpoint, log_id)?;
    if std::mem::take(&mut st.settings.rate_limit_init_once) {
        st.counters.rate_limited += 1;
        return Err(rate_limited(1, log_id));
    }
    let body = json_object(body, log_id)?;
    let allowed: &[&str] = if inbox {
        &["source_info"]
    } else {
        &["post_info", "source_info"]
    };
    if let Some(k) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
        let message = if inbox {
            format!("inbox/video/init takes only source_info; {k} is not accepted.")
        } else {
            format!("Unknown field {k}.")
        };
        return Err(invalid_params(&message, log_id));
    }
    let empty = Map::new();
    let post_info = match body.get("post_info") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err(invalid_params("post_info must be an object.", log_id)),
    };
    check_post_info_types(post_info, log_id)?;
    let source = check_source(st, &body, log_id)?;
    let user = caller.user.as_str();

    let forbidden =
        |code: &str, message: &str| api_error(StatusCode::FORBIDDEN, code, message, log_id);
    let privacy_level = if inbox {
        // Drafts need no creator_info step (reference §10) but respect bans and the
        // pending-draft cap.
        if let Some(code @ "spam_risk_user_banned_from_posting") =
            st.settings.creator_cannot_post.as_deref()
        {
            return Err(forbidden(code, "The creator is banned from posting."));
        }
        if st.inbox_today(user) >= st.settings.pending_share_cap as usize {
            return Err(forbidden(
                "spam_risk_too_many_pending_share",
                "The creator has too many pending drafts in the last 24 hours.",
            ));
        }
        None
    } else {
        if let Some((code, message)) = st.cannot_post(user) {
            return Err(forbidden(code, message));
        }
        // Privacy must be one of the options of the creator's last creator_info answer
        // (reference §5.2). Without one, there is nothing it can match.
        let remembered = st
            .creators
            .get(user)
            .and_then(|c| c.privacy_options.clone());
        let options = match remembered {
            Some(o) => o,
            None if st.settings.require_creator_info => {
                return Err(forbidden(
                    "privacy_level_option_mismatch",
                    "privacy_level must be one of the privacy_level_options of creator_info; query creator_info first.",
                ));
            }
            None if st.settings.account_private => PRIVATE_OPTIONS.to_vec(),
            None => PUBLIC_OPTIONS.to_vec(),
        };
        let privacy = match post_info.get("privacy_level").and_then(Value::as_str) {
            Some(p) if options.contains(&p) => p.to_string(),
            Some(_) => {
                return Err(forbidden(
                    "privacy_level_option_mismatch",
                    "privacy_level is not one of the privacy_level_options of creator_info.",
                ));
            }
            None => {
                return Err(forbidden(
                    "privacy_level_option_mismatch",
                    "privacy_level is required.",
                ));
            }
        };
        // Unaudited clients (reference §9.2): the account must be private at posting time,
        // even for SELF_ONLY, and only SELF_ONLY is allowed.
        if st.settings.unaudited {
            if !st.settings.account_private {
                return Err(forbidden(
                    "unaudited_client_can_only_post_to_private_accounts",
                    "Unaudited clients can only post to private accounts.",
                ));
            }
            if privacy != "SELF_ONLY" {
                return Err(forbidden(
                    "unaudited_client_can_only_post_to_private_accounts",
                    "Unaudited clients can only post with privacy_level SELF_ONLY.",
                ));
            }
        }
        // The doc table marks brand_content_toggle required (reference §5.2).
        let branded = post_info
            .get("brand_content_toggle")
            .and_then(Value::as_bool)
            .ok_or_else(|| invalid_params("post_info.brand_content_toggle is required.", log_id))?;
        if branded && privacy == "SELF_ONLY" && st.settings.reject_branded_self_only {
            return Err(forbidden(
                "privacy_level_option_mismatch",
                "Branded content visibility cannot be set to private.",
            ));
        }
        if let Some(title) = post_info.get("title").and_then(Value::as_str)
            && title.encode_utf16().count() > 2200
        {
            return Err(invalid_params(
                "post_info.title is longer than 2200 UTF-16 code units.",
                log_id,
            ));
        }
        Some(privacy)
    };

    let now = st.now();
    let publish_id = if inbox {
        format!("v_inbox_file~v2.{}", random_digits(19))
    } else {
        format!("v_pub_file~v2-1.{}", random_digits(19))
    };
    let upload_id = random_digits(19);
    let upload_token = random_b64(24);
    let upload_url = format!("{base_url}/video/?upload_id={upload_id}&upload_token={upload_token}");
    let creator = st.creator(user);
    if inbox {
        creator.inbox_posts.push(now);
    } else {
        creator.direct_posts.push(now);
    }
    st.by_upload_id.insert(upload_id, st.publishes.len());
    st.publishes.push(Publish {
        publish_id: publish_id.clone(),
        user: user.to_string(),
        inbox,
        post_info: if inbox {
            Value::Null
        } else {
            Value::Object(post_info.clone())
        },
        privacy_level,
        video_size: source.video_size,
        chunk_size: source.chunk_size,
        chunk_count: source.chunk_count,
        upload_token,
        url_issued_at: now,
        received: 0,
        hasher: Sha256::default(),
        sha256: None,
        polls_after_upload: 0,
        outcome: None,
    });
    st.counters.inits += 1;
    Ok(api_ok(
        json!({ "publish_id": publish_id, "upload_url": upload_url }),
        log_id,
    ))
}

/// `POST /v2/post/publish/status/fetch/` (reference §7).
pub(crate) async fn status_fetch(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = app.shared.lock();
    let log_id = st.log_id();
    status_inner(&mut st, &headers, &body, &log_id).unwrap_or_else(|e| e)
}

fn status_inner(st: &mut EmuState, headers: &HeaderMap, body: &[u8], log_id: &str) -> Reply {
    let caller = authenticate(st, headers, Endpoint::StatusFetch, log_id)?;
    let body = json_object(body, log_id)?;
    if let Some(k) = body.keys().find(|k| *k != "publish_id") {
        return Err(invalid_params(&format!("Unknown field {k}."), log_id));
    }
    let Some(id) = body.get("publish_id").and_then(Value::as_str) else {
        return Err(invalid_params("publish_id is required.", log_id));
    };
    st.counters.status_fetches += 1;
    let Some(idx) = st.publishes.iter().position(|p| p.publish_id == id) else {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "invalid_publish_id",
            "The publish_id is invalid.",
            log_id,
        ));
    };
    // Ownership is per user, not per token: tokens rotate during long uploads.
    if st.publishes[idx].user != caller.user {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "token_not_authorized_for_specified_publish_id",
            "The publish_id belongs to another user.",
            log_id,
        ));
    }
    let (polls_needed, fail_reason) = (
        st.settings.polls_until_complete,
        st.settings.fail_reason.clone(),
    );
    let p = &mut st.publishes[idx];
    // After the last chunk, the Nth poll reports the final state; polls before it say
    // PROCESSING_UPLOAD with all bytes, so clients must really loop.
    if p.outcome.is_none() && p.received == p.video_size {
        p.polls_after_upload += 1;
        if p.polls_after_upload >= polls_needed {
            let outcome = if let Some(reason) = fail_reason {
                Outcome::Failed(reason)
            } else if p.inbox {
                Outcome::Inbox
            } else {
                // Only public posts get an id, a 19-digit integer (reference §7, Surprise 7).
                let public = p.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE");
                let ids = if public {
                    vec![
                        7_000_000_000_000_000_000
                            + rand::rng().random_range(0..1_000_000_000_000_000_000u64),
                    ]
                } else {
                    Vec::new()
                };
                Outcome::Complete { post_ids: ids }
            };
            p.outcome = Some(outcome.clone());
            let c = &mut st.counters;
            match outcome {
                Outcome::Failed(_) => c.posts_failed += 1,
                Outcome::Inbox => c.inbox_delivered += 1,
                Outcome::Complete { .. } => c.posts_completed += 1,
            }
        }
    }
    let p = &st.publishes[idx];
    let (status, reason, ids) = match &p.outcome {
        None => ("PROCESSING_UPLOAD", "", Vec::new()),
        Some(Outcome::Complete { post_ids }) => ("PUBLISH_COMPLETE", "", post_ids.clone()),
        Some(Outcome::Inbox) => ("SEND_TO_USER_INBOX", "", Vec::new()),
        Some(Outcome::Failed(r)) => ("FAILED", r.as_str(), Vec::new()),
    };
    let data = json!({
        "status": status,
        "fail_reason": reason,
        "publicaly_available_post_id": ids,
        "uploaded_bytes": p.received,
    });
    Ok(api_ok(data, log_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn chunk_arithmetic() {
        // Worked examples of reference §6.1.
        assert_eq!(check_chunks(4_194_304, 4_194_304, 1), Ok(()));
        assert_eq!(check_chunks(50_000_123, 10_000_000, 5), Ok(()));
        assert_eq!(
            check_chunks(50_000_123, 10_000_000, 6),
            Err("The total chunk count is invalid")
        );
        assert_eq!(check_chunks(602_285_541, 64_000_000, 9), Ok(()));
        // 64 MiB chunks exceed the 64,000,000 maximum of the strict intersection.
        assert_eq!(
            check_chunks(602_285_541, 67_108_864, 8),
            Err("The chunk size is invalid")
        );
        // 4 GB at 64,000,000: 62 chunks.
        assert_eq!(check_chunks(4_000_000_000, 64_000_000, 62), Ok(()));
        // Under 5 MiB: one chunk equal to the file.
        assert_eq!(
            check_chunks(3 * MIB, MIB, 3),
            Err("The chunk size is invalid")
        );
        assert_eq!(check_chunks(5 * MIB - 1, 5 * MIB - 1, 1), Ok(()));
        // Chunks below 5 MiB are too small once there are several.
        assert_eq!(
            check_chunks(12_000_000, 5_000_000, 2),
            Err("The chunk size is invalid")
        );
        // Over 64 MB needs two chunks.
        assert_eq!(
            check_chunks(100_000_000, 64_000_000, 1),
            Err("The chunk size is invalid")
        );
        assert_eq!(
            check_chunks(100_000_000, 100_000_000, 1),
            Err("The chunk size is invalid")
        );
        assert_eq!(check_chunks(100_000_000, 50_000_000, 2), Ok(()));
        // Chunk bigger than the file.
        assert_eq!(
            check_chunks(6 * MIB, 7 * MIB, 1),
            Err("The chunk size is invalid")
        );
        // floor accepted, ceil rejected.
        assert_eq!(check_chunks(11 * MIB, 5 * MIB, 2), Ok(()));
        assert_eq!(
            check_chunks(11 * MIB, 5 * MIB, 3),
            Err("The total chunk count is invalid")
        );
    }
}
