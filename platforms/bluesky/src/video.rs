//! Path B of reference §4.2: Bluesky's video service. A service-auth token from the user's PDS
//! (`getServiceAuth`, `aud` = the PDS's DID, since the video service stores the blob on the PDS
//! with it), `getUploadLimits` before any byte (a quota problem fails early), `uploadVideo`
//! through core's upload engine (one range, exact Content-Length), then `getJobStatus` paced by
//! core's [`Pacer`] until the job holds a `blob` (whatever its state: `already_exists` comes with
//! the earlier blob) or fails.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use keryx_core::http::{Policy, Reply, Verdict, exchange, is_transient_status};
use keryx_core::poll::Pacer;
use keryx_core::session::Session;
use keryx_core::upload::engine::transport_failure;
use keryx_core::upload::{Begin, RangeProtocol, RangeReply};
use keryx_core::{Cause, Context, Error, Progress, Result, Secret};

use crate::config::join;
use crate::xrpc::{BlueskyApi, ErrorBody, decode, xrpc_error};

pub const DEFAULT_VIDEO_SERVICE: &str = "https://video.bsky.app";
/// The video service's DID: the `aud` of its own endpoints' tokens (`getUploadLimits`).
pub const VIDEO_SERVICE_DID: &str = "did:web:video.bsky.app";
/// The lexicon method the upload token is for: the service calls `uploadBlob` with it.
pub const UPLOAD_LXM: &str = "com.atproto.repo.uploadBlob";
pub const LIMITS_LXM: &str = "app.bsky.video.getUploadLimits";
/// About once a second (reference §4.2), for at most 15 minutes.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
const PROCESSING_PATIENCE: Duration = Duration::from_secs(15 * 60);
/// Service tokens for at most half an hour (the PDS allows an hour).
const TOKEN_LIFETIME: i64 = 1800;

/// Whether a failure means "the video service cannot be reached" (DNS/TCP, timeout, 5xx): then
/// `upload: auto` falls back on the PDS.
pub fn unreachable(error: &Error) -> bool {
    matches!(error.cause(), Some(Cause::Unreachable | Cause::Timeout))
}

/// A service-auth token from the user's PDS.
pub async fn service_auth(
    session: &Session<'_, BlueskyApi>,
    pds: &str,
    aud: &str,
    lxm: &str,
) -> Result<Secret> {
    let url = join(pds, "/xrpc/com.atproto.server.getServiceAuth");
    let api = session.api();
    let exp = (keryx_core::tokens::unix_now() + TOKEN_LIFETIME).to_string();
    let query = [("aud", aud), ("lxm", lxm), ("exp", exp.as_str())];
    let reply = session
        .send("getServiceAuth", |http, token| {
            api.authorised(http.get(&url), "GET", &url, token)
                .query(&query)
        })
        .await?;
    let body: Value = decode(&reply, "getServiceAuth")?;
    body.get("token")
        .and_then(Value::as_str)
        .map(Secret::new)
        .ok_or_else(|| Error::platform("getServiceAuth answered without a `token`"))
}

/// 5xx from the video service: it cannot serve now (no retry: the PDS is the way around).
fn classify(reply: &Reply) -> Verdict {
    if is_transient_status(reply.status) && reply.status.as_u16() != 429 {
        return Verdict::Failed(
            xrpc_error(reply.status, &reply.body).with_cause(Cause::Unreachable),
        );
    }
    crate::xrpc::classify(reply)
}

/// `getUploadLimits`: `Ok` when the account may upload a video of `size` bytes now.
pub async fn check_limits(ctx: &Context, service: &str, token: &Secret, size: u64) -> Result<()> {
    let url = join(service, "/xrpc/app.bsky.video.getUploadLimits");
    let reply = exchange(
        &Policy::from_env(),
        "Bluesky's video service (getUploadLimits)",
        || ctx.http.get(&url).bearer_auth(token.expose()),
        classify,
    )
    .await?;
    let limits: Value = decode(&reply, "getUploadLimits")?;
    let text = |k: &str| limits.get(k).and_then(Value::as_str).unwrap_or_default();
    if limits.get("canUpload").and_then(Value::as_bool) != Some(true) {
        let why = [text("error"), text("message")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
        return Err(Error::platform(format!(
            "Bluesky's video service will not take a video from this account now ({why})"
        ))
        .with_hint(
            "confirm the account's email in Bluesky's settings, wait for the daily allowance to renew, or set platforms.bluesky.upload: pds",
        ));
    }
    if let Some(left) = limits.get("remainingDailyBytes").and_then(Value::as_u64)
        && size > left
    {
        return Err(Error::platform(format!(
            "the video is {size} bytes; Bluesky's video service takes {left} more bytes from this account today"
        ))
        .with_hint("post it tomorrow, or set platforms.bluesky.upload: pds"));
    }
    Ok(())
}

/// `uploadVideo` then the job's polls: the blob the video service stored on the PDS.
pub async fn upload(
    ctx: &Context,
    service: &str,
    token: &Secret,
    did: &str,
    path: &Path,
    size: u64,
    progress: &dyn Progress,
) -> Result<Value> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video.mp4".into());
    progress.phase("uploading", Some(size));
    let protocol = VideoUpload {
        ctx,
        url: join(service, "/xrpc/app.bsky.video.uploadVideo"),
        query: [("did".into(), did.into()), ("name".into(), name)],
        token: token.clone(),
    };
    let answered =
        keryx_core::upload::upload(&protocol, path, size, Begin::Fresh, progress).await?;
    let mut status = answered
        .get("jobStatus")
        .cloned()
        .ok_or_else(|| Error::platform("uploadVideo answered without a `jobStatus`"))?;
    progress.phase("processing", None);
    let url = join(service, "/xrpc/app.bsky.video.getJobStatus");
    let mut pacer = Pacer::new(POLL_INTERVAL, PROCESSING_PATIENCE).slowing_when_stuck();
    let mut last = None;
    loop {
        if let Some(blob) = status.get("blob").filter(|b| b.is_object()) {
            return Ok(blob.clone());
        }
        let field = |k: &str| status.get(k).and_then(Value::as_str).unwrap_or_default();
        let state = field("state").to_string();
        if state == "JOB_STATE_FAILED" {
            let code = [field("failureCode"), field("error")]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("generic_failure");
            return Err(Error::platform(format!(
                "Bluesky's video service could not process the video ({code}: {})",
                field("message")
            ))
            .with_hint(
                "check that the file plays (MP4, H.264, at most 3 minutes) and post again, or set platforms.bluesky.upload: pds",
            ));
        }
        let percent = status.get("progress").and_then(Value::as_u64);
        let shown = match percent {
            Some(p) => format!("{state} {p}%"),
            None => state.clone(),
        };
        progress.status(&shown);
        if last.as_ref() != Some(&shown) {
            pacer.progressed();
            last = Some(shown);
        }
        if !pacer.wait().await {
            return Err(Error::platform(format!(
                "Bluesky's video service was still processing the video after {} s ({state})",
                pacer.waited().as_secs()
            ))
            .with_hint("post again later: an already processed video is not uploaded twice"));
        }
        let job = field("jobId").to_string();
        let reply = exchange(
            &Policy::from_env(),
            "Bluesky's video service (getJobStatus)",
            || ctx.http.get(&url).query(&[("jobId", job.as_str())]),
            crate::xrpc::classify,
        )
        .await?;
        let polled: Value = decode(&reply, "getJobStatus")?;
        status = polled
            .get("jobStatus")
            .cloned()
            .ok_or_else(|| Error::platform("getJobStatus answered without a `jobStatus`"))?;
    }
}

/// `uploadVideo?did&name`: the whole file in one request with the service token.
struct VideoUpload<'a> {
    ctx: &'a Context,
    url: String,
    query: [(String, String); 2],
    token: Secret,
}

#[async_trait]
impl RangeProtocol for VideoUpload<'_> {
    type Done = Value;

    fn server(&self) -> String {
        "Bluesky's video service".into()
    }

    fn send_range(&self, _offset: u64, _len: u64, _total: u64) -> reqwest::RequestBuilder {
        self.ctx
            .http
            .post(&self.url)
            .query(&self.query)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::CONTENT_TYPE, "video/mp4")
    }

    async fn read(
        &self,
        _sent: Option<(u64, u64)>,
        response: reqwest::Response,
    ) -> RangeReply<Value> {
        let status = response.status();
        let retry_after = keryx_core::http::retry_after(response.headers());
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return transport_failure(self, e),
        };
        if status.is_success() {
            return match serde_json::from_slice(&bytes) {
                Ok(done) => RangeReply::Done(done),
                Err(e) => RangeReply::Failed(
                    Error::platform("uploadVideo's reply is not what keryx expects").with_source(e),
                ),
            };
        }
        if status.as_u16() == 429 || is_transient_status(status) {
            return RangeReply::Retry {
                retry_after,
                why: xrpc_error(status, &bytes).to_string(),
            };
        }
        let code = ErrorBody::parse(&bytes).error;
        let error = xrpc_error(status, &bytes);
        RangeReply::Failed(if code.starts_with("BadJwt") || code == "JwtExpired" {
            error.with_hint("the service token keryx got from your PDS was refused: post again")
        } else {
            error
        })
    }

    async fn reauthorise(&self) -> Result<()> {
        Err(Error::platform(
            "the video service refused the service token",
        ))
    }
}
