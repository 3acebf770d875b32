//! A strict fake of Bluesky's video service (reference §4.2), served beside the PDS fake under
//! `/video`: `getUploadLimits` (service token `aud=did:web:video.bsky.app`,
//! `lxm=app.bsky.video.getUploadLimits`), `uploadVideo?did&name` (service token whose `aud` is
//! the user's PDS and `lxm=com.atproto.repo.uploadBlob`; `video/mp4`, exact Content-Length),
//! and `getJobStatus?jobId` walking the lexicon's job states. Like the real service it stores
//! the video on the user's PDS itself, calling `uploadBlob` with the user's service token: on
//! this emulator's PDS by default, or on the PDS named by the `video_service_pds` knob (the
//! real PDS of the end-to-end tests, which then judges the token keryx obtained).
//!
//! Tokens are checked as the atproto verifier does: issuer (= `did`), audience, `lxm`, `exp`;
//! the signature too when the PDS is this emulator (a real PDS signs with the account's
//! ES256K key, whose DID document this fake does not resolve).

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::xrpc::error;
use super::{App, SERVICE_DID};

/// The video service's own DID: the `aud` of `getUploadLimits` tokens.
pub const VIDEO_SERVICE_DID: &str = "did:web:video.bsky.app";
/// A day's allowance (Bluesky's announced 25 videos / 10 GB; `getUploadLimits` is the truth).
pub const DAILY_VIDEOS: u64 = 25;
pub const DAILY_BYTES: u64 = 10_000_000_000;
/// The largest file the service takes (100 MB, announced).
pub const DEFAULT_FILE_LIMIT: u64 = 100_000_000;

/// A job's states in order, one more per `getJobStatus` poll.
const STATES: [(&str, u8); 4] = [
    ("JOB_STATE_CREATED", 0),
    ("JOB_STATE_ENCODING", 40),
    ("JOB_STATE_UPLOADING", 90),
    ("JOB_STATE_COMPLETED", 100),
];

pub(super) struct Job {
    did: String,
    polls: usize,
    /// What the job ends with: the stored blob, or a failure code and message.
    outcome: std::result::Result<Value, (String, String)>,
    already: bool,
}

#[derive(Default)]
pub(super) struct VideoState {
    pub jobs: HashMap<String, Job>,
    /// (did, cid) → blob already processed: a repeat upload is `already_exists`.
    pub done: HashMap<(String, String), Value>,
    /// Where the videos are stored instead of this emulator's PDS (the knob).
    pub pds: Option<String>,
    pub fail_jobs: bool,
    pub unavailable: bool,
    pub file_limit: Option<u64>,
    pub uploads: u64,
    pub bytes: u64,
}

type Params = Query<HashMap<String, String>>;

fn unauthorised(code: &str, message: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, code, message)
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

/// The claims of a service token after the checks every video endpoint makes.
fn check_token(
    app: &App,
    headers: &HeaderMap,
    aud: &str,
    lxm: &str,
) -> std::result::Result<(String, String), Response> {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
    else {
        return Err(unauthorised("AuthMissing", "Authentication Required"));
    };
    let own_pds = app.lock().video.pds.is_none();
    let claims = if own_pds {
        app.lock().verified(&token)
    } else {
        token
            .split('.')
            .nth(1)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let Some(claims) = claims else {
        return Err(unauthorised(
            "BadJwtSignature",
            "jwt signature does not match jwt issuer",
        ));
    };
    let field = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default();
    if !field("iss").starts_with("did:") {
        return Err(unauthorised("BadJwt", "jwt issuer is not a did"));
    }
    if claims.get("exp").and_then(Value::as_i64).unwrap_or(0) <= keryx_core::tokens::unix_now() {
        return Err(unauthorised("JwtExpired", "jwt expired"));
    }
    if field("aud") != aud {
        return Err(unauthorised(
            "BadJwtAudience",
            "jwt audience does not match service did",
        ));
    }
    if field("lxm") != lxm {
        return Err(unauthorised(
            "BadJwtLexiconMethod",
            &format!("bad jwt lexicon method (\"lxm\"). must match: {lxm}"),
        ));
    }
    Ok((field("iss").to_string(), token))
}

/// The DID the user's PDS has (the `aud` uploadVideo's token must carry).
fn pds_did(app: &App) -> String {
    match &app.lock().video.pds {
        None => SERVICE_DID.to_string(),
        Some(pds) => url::Url::parse(pds)
            .ok()
            .and_then(|u| u.host_str().map(|h| format!("did:web:{h}")))
            .unwrap_or_default(),
    }
}

pub(super) async fn get_upload_limits(State(app): State<App>, headers: HeaderMap) -> Response {
    if app.lock().video.unavailable {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "InternalServerError",
            "Service Unavailable",
        );
    }
    if let Err(r) = check_token(
        &app,
        &headers,
        VIDEO_SERVICE_DID,
        "app.bsky.video.getUploadLimits",
    ) {
        return r;
    }
    let v = &app.lock().video;
    axum::Json(json!({
        "canUpload": v.uploads < DAILY_VIDEOS,
        "remainingDailyVideos": DAILY_VIDEOS.saturating_sub(v.uploads),
        "remainingDailyBytes": DAILY_BYTES.saturating_sub(v.bytes),
    }))
    .into_response()
}

fn job_status(id: &str, job: &Job) -> Value {
    let (state, progress) = STATES[job.polls.min(STATES.len() - 1)];
    let mut status = json!({"jobId": id, "did": job.did, "state": state, "progress": progress});
    let last = job.polls + 1 >= STATES.len();
    match &job.outcome {
        Ok(blob) if job.already => {
            status["state"] = json!("JOB_STATE_COMPLETED");
            status["error"] = json!("already_exists");
            status["message"] = json!("Video already processed");
            status["blob"] = blob.clone();
        }
        Ok(blob) if last => status["blob"] = blob.clone(),
        Err((code, message)) if job.polls >= 2 => {
            status["state"] = json!("JOB_STATE_FAILED");
            status["failureCode"] = json!(code);
            status["error"] = json!(code);
            status["message"] = json!(message);
        }
        _ => {}
    }
    status
}

pub(super) async fn upload_video(
    State(app): State<App>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if app.lock().video.unavailable {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "InternalServerError",
            "Service Unavailable",
        );
    }
    let aud = pds_did(&app);
    let (iss, token) = match check_token(&app, &headers, &aud, "com.atproto.repo.uploadBlob") {
        Ok(ok) => ok,
        Err(r) => return r,
    };
    let (Some(did), Some(_name)) = (q.get("did"), q.get("name").filter(|n| !n.is_empty())) else {
        return invalid("Params must have the properties \"did\" and \"name\"");
    };
    if did != &iss {
        return unauthorised("BadJwt", "jwt issuer does not match did");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.split(';').next().map(str::trim) != Some("video/mp4") {
        return invalid("Invalid content type: the video must be video/mp4");
    }
    let (_, drop_connection, fail) = app.lock().upload_fault();
    let limit = app.lock().video.file_limit.unwrap_or(DEFAULT_FILE_LIMIT);
    let Some(declared) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return error(
            StatusCode::LENGTH_REQUIRED,
            "InvalidRequest",
            "Content-Length required",
        );
    };
    if declared > limit {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            "request entity too large",
        );
    }
    let mut stream = body.into_data_stream();
    if drop_connection {
        // As the PDS fake does: end the connection without a reply.
        let _ = stream.next().await;
        std::panic::resume_unwind(Box::new(()));
    }
    let mut bytes = Vec::with_capacity(declared as usize);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(_) => return invalid("request body ended before its Content-Length"),
        }
    }
    if bytes.len() as u64 != declared {
        return invalid("request body does not match its Content-Length");
    }
    app.lock().counters.bytes_received += declared;
    if fail {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal Server Error",
        );
    }
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let cid = crate::cid::raw_sha256(&digest);
    let job_id = hex::encode(rand::random::<[u8; 12]>());
    let (earlier, fail, pds) = {
        let mut inner = app.lock();
        inner.video.uploads += 1;
        inner.video.bytes += declared;
        let v = &inner.video;
        (
            v.done.get(&(did.clone(), cid.clone())).cloned(),
            v.fail_jobs,
            v.pds.clone().unwrap_or_else(|| app.base.to_string()),
        )
    };
    let (outcome, already) = match earlier {
        Some(blob) => (Ok(blob), true),
        None if fail => (
            Err((
                "encoding_failure".to_string(),
                "The video could not be encoded".to_string(),
            )),
            false,
        ),
        None => match store_on_pds(&pds, &token, Bytes::from(bytes)).await {
            Ok(blob) => {
                app.lock()
                    .video
                    .done
                    .insert((did.clone(), cid), blob.clone());
                (Ok(blob), false)
            }
            Err(why) => (Err(("pds_upload_failure".to_string(), why)), false),
        },
    };
    let job = Job {
        did: did.clone(),
        polls: 0,
        outcome,
        already,
    };
    let status = job_status(&job_id, &job);
    app.lock().video.jobs.insert(job_id, job);
    axum::Json(json!({"jobStatus": status})).into_response()
}

/// `uploadBlob` on the user's PDS with the user's service token, as the real service does.
async fn store_on_pds(pds: &str, token: &str, bytes: Bytes) -> std::result::Result<Value, String> {
    let url = format!(
        "{}/xrpc/com.atproto.repo.uploadBlob",
        pds.trim_end_matches('/')
    );
    let reply = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, "video/mp4")
        .body(bytes)
        .send()
        .await
        .map_err(|e| format!("the PDS could not be reached: {e}"))?;
    let status = reply.status();
    let body: Value = reply.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("the PDS answered {status}: {body}"));
    }
    body.get("blob")
        .cloned()
        .ok_or_else(|| "the PDS's reply holds no blob".to_string())
}

pub(super) async fn get_job_status(State(app): State<App>, Query(q): Params) -> Response {
    let Some(id) = q.get("jobId") else {
        return invalid("Params must have the property \"jobId\"");
    };
    let mut inner = app.lock();
    let Some(job) = inner.video.jobs.get_mut(id) else {
        return error(StatusCode::NOT_FOUND, "NotFound", "Job not found");
    };
    job.polls += 1;
    let status = job_status(id, job);
    axum::Json(json!({"jobStatus": status})).into_response()
}

/// The PDS itself serves no `app.bsky.video.*` (reference §4.2, observed on the local PDS).
pub(super) async fn no_service(uri: axum::http::Uri) -> Response {
    let nsid = uri.path().trim_start_matches("/xrpc/");
    invalid(&format!("No service configured for {nsid}"))
}
