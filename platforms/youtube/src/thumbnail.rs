//! The custom thumbnail, set after the upload (reference §6, §7). A regular video takes it at
//! once. A Short takes one only once YouTube has finished processing it (since 2026-11-03), so
//! for a Short keryx first waits for `videos.list` to say `succeeded`, within bounds.
//!
//! A thumbnail that cannot be set never costs the video: the outcome is a note for the report.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};

use keryx_core::http::{Backoff, SILENCE, is_transient, is_transient_status, local_cause};
use keryx_core::{Error, Progress, Result};

use crate::api::{ErrorEnvelope, Video, VideoList};
use crate::client::{Session, unreachable};
use crate::error::{api_error, is_rate_limit};
use crate::rules::Thumbnail;

/// The longest keryx waits for a Short's processing, however steadily it advances.
const PROCESSING_PATIENCE: Duration = Duration::from_secs(10 * 60);

/// The least time between two processing polls: each costs 1 unit of the shared quota (§5.2).
/// Passed to [`Backoff::next_delay`] as the wait the protocol asks for, so the test schedule
/// (`KERYX_RETRY_BASE_MS`) shortens it like any other.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Sets `thumbnail` on `video`, first waiting for its processing when it is a Short. Returns
/// the note to show when the thumbnail was not set. `video` gets the status the last poll
/// showed, so the report says what YouTube says now.
pub async fn apply(
    session: &Session<'_>,
    video: &mut Video,
    thumbnail: &Thumbnail,
    short: bool,
    progress: &dyn Progress,
) -> Option<String> {
    let studio = format!("https://studio.youtube.com/video/{}/edit", video.id);
    if short {
        progress.phase("processing", None);
        match wait_for_processing(session, video, progress).await {
            Ok(Processing::Succeeded) => {}
            Ok(Processing::Ended(status)) => {
                return Some(format!(
                    "YouTube's processing of the Short ended `{status}`, so its thumbnail was not set; see {studio}"
                ));
            }
            Ok(Processing::StillRunning(waited)) => {
                return Some(format!(
                    "YouTube was still processing the Short after {} s, so its thumbnail was not set (YouTube takes \
                     a Short's thumbnail only once it is processed): set it later in YouTube Studio, {studio} \
                     (Details > Thumbnail)",
                    waited.as_secs()
                ));
            }
            Err(e) => {
                return Some(not_set(
                    "the Short is up, but keryx could not follow its processing, so its thumbnail was not set",
                    &e,
                    &studio,
                ));
            }
        }
    }
    progress.phase("thumbnail", None);
    match set(session, &video.id, thumbnail).await {
        Ok(()) => None,
        Err(e) => Some(not_set(
            "the video is up, but its thumbnail was not set",
            &e,
            &studio,
        )),
    }
}

fn not_set(lead: &str, e: &Error, studio: &str) -> String {
    let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
    format!("{lead}: {e}{hint}; set it in YouTube Studio, {studio}")
}

/// How a wait for processing ended.
#[derive(Debug, PartialEq, Eq)]
enum Processing {
    Succeeded,
    /// `failed` or `terminated`: the video will not play, and takes no thumbnail.
    Ended(String),
    /// keryx stopped waiting after this long.
    StillRunning(Duration),
}

/// Polls `videos.list?part=status,processingDetails` (§4.3) until processing ends, or until
/// keryx stops waiting: after [`PROCESSING_PATIENCE`], or once the core backoff runs out of
/// attempts without the processed share moving (a video that is stuck or queued for long).
/// Progress resets the backoff, and the share processed is shown as the phase's status.
async fn wait_for_processing(
    session: &Session<'_>,
    video: &mut Video,
    progress: &dyn Progress,
) -> Result<Processing> {
    let started = Instant::now();
    let path = format!(
        "/youtube/v3/videos?part=status,processingDetails&id={}",
        url::form_urlencoded::byte_serialize(video.id.as_bytes()).collect::<String>()
    );
    let mut pacing = Backoff::default();
    // The share processed can go backwards (§4.3): only a new high counts as progress.
    let mut most_processed = None;
    loop {
        let list: VideoList = session
            .get(&path, "checking the video's processing")
            .await?;
        // A video not listed yet is treated as still processing.
        let current = list.items.into_iter().find(|v| v.id == video.id);
        let details = current
            .as_ref()
            .and_then(|v| v.processing_details.clone())
            .unwrap_or_default();
        if let Some(status) = current.and_then(|v| v.status) {
            video.status = Some(status);
        }
        match details.processing_status.as_deref() {
            Some("succeeded") => return Ok(Processing::Succeeded),
            Some(ended @ ("failed" | "terminated")) => {
                return Ok(Processing::Ended(ended.to_string()));
            }
            _ => {}
        }
        let share = details.processing_progress.unwrap_or_default();
        match share.percent() {
            Some(percent) => progress.status(&format!("processing {percent}%")),
            None => progress.status("processing"),
        }
        if share.parts_processed() > most_processed {
            most_processed = share.parts_processed();
            pacing.reset();
        }
        let waited = started.elapsed();
        if waited >= PROCESSING_PATIENCE {
            return Ok(Processing::StillRunning(waited));
        }
        match pacing.next_delay(Some(POLL_INTERVAL)) {
            Some(delay) => tokio::time::sleep(delay).await,
            None => return Ok(Processing::StillRunning(started.elapsed())),
        }
    }
}

/// thumbnails.set (§7): the image in one POST, streamed from its file. `404 videoNotFound`
/// right after an upload may mean the video is not yet visible to the thumbnail service
/// (unverified), so it is retried a few times like a transient failure.
async fn set(session: &Session<'_>, video_id: &str, thumbnail: &Thumbnail) -> Result<()> {
    let url = session.app.endpoints.api(&format!(
        "/upload/youtube/v3/thumbnails/set?videoId={}",
        url::form_urlencoded::byte_serialize(video_id.as_bytes()).collect::<String>()
    ));
    let mut backoff = Backoff::default();
    let mut swapped = false;
    loop {
        let token = session.current();
        let body = keryx_core::upload::file_range_body(&thumbnail.path, 0, thumbnail.size, None)?;
        let sent = session
            .ctx
            .http
            .post(&url)
            // A body of up to 50 MiB: the silence limit of uploads, not the API reply timeout.
            .timeout(SILENCE)
            .bearer_auth(token.expose())
            .header(CONTENT_TYPE, thumbnail.mime)
            .header(CONTENT_LENGTH, thumbnail.size)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                if let Some(local) = local_cause(&e) {
                    return Err(Error::input(local.message().to_string())
                        .with_hint("leave the thumbnail file alone until keryx has set it"));
                }
                if is_transient(&e)
                    && let Some(delay) = backoff.next_delay(None)
                {
                    tokio::time::sleep(delay).await;
                    continue;
                }
                return Err(unreachable("YouTube", e));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let wait = keryx_core::http::retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        let envelope: Option<ErrorEnvelope> = serde_json::from_str(&text).ok();
        let reason = envelope.as_ref().map(|e| e.reason()).unwrap_or("");
        if status == StatusCode::UNAUTHORIZED && !swapped {
            swapped = true;
            session.replace(&token).await?;
            continue;
        }
        let retry = is_transient_status(status)
            || is_rate_limit(reason)
            || (status == StatusCode::NOT_FOUND
                && reason == "videoNotFound"
                && backoff.failures() < 3);
        if retry && let Some(delay) = backoff.next_delay(wait) {
            tracing::info!("thumbnails.set answered {status} {reason}; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
            continue;
        }
        return Err(api_error("the thumbnail", status, envelope.as_ref(), &text));
    }
}
