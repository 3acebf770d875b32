//! The custom thumbnail, set after the upload (reference §6, §7). A regular video takes it at
//! once. A Short takes one only once YouTube has finished processing it (since 2026-11-03), so
//! for a Short keryx first waits for `videos.list` to say `succeeded`, within bounds.
//!
//! A thumbnail that cannot be set never costs the video: the outcome is a note for the report.

use std::time::Duration;

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

use keryx_core::http::is_transient_status;
use keryx_core::poll::Pacer;
use keryx_core::upload::{Begin, RangeProtocol, RangeReply};
use keryx_core::{Error, NoProgress, Progress, Result};

use crate::api::{ErrorEnvelope, Video, VideoList};
use crate::client::Session;
use crate::error::{api_error, is_rate_limit};
use crate::rules::Thumbnail;

/// The longest keryx waits for a Short's processing, however steadily it advances.
const PROCESSING_PATIENCE: Duration = Duration::from_secs(10 * 60);

/// The least time between two processing polls: each costs 1 unit of the shared quota (§5.2).
/// A [`Pacer`] slowing when stuck waits at least this long, and the test schedule
/// (`KERYX_RETRY_BASE_MS`) shortens it like any other wait.
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
/// keryx stops waiting: after [`PROCESSING_PATIENCE`], or once the pacer has seen too many
/// polls without the processed share moving (a video that is stuck or queued for long).
/// Progress brings the pacer back to its pace, and the share processed is shown as the phase's status.
async fn wait_for_processing(
    session: &Session<'_>,
    video: &mut Video,
    progress: &dyn Progress,
) -> Result<Processing> {
    let path = format!(
        "/youtube/v3/videos?part=status,processingDetails&id={}",
        url::form_urlencoded::byte_serialize(video.id.as_bytes()).collect::<String>()
    );
    let mut pacer = Pacer::new(POLL_INTERVAL, PROCESSING_PATIENCE).slowing_when_stuck();
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
            pacer.progressed();
        }
        if !pacer.wait().await {
            return Ok(Processing::StillRunning(pacer.waited()));
        }
    }
}

/// thumbnails.set (§7): the image in one POST, streamed from its file through core's upload
/// engine (one range, no status request: a fault re-sends it).
async fn set(session: &Session<'_>, video_id: &str, thumbnail: &Thumbnail) -> Result<()> {
    let url = session.app.endpoints.api(&format!(
        "/upload/youtube/v3/thumbnails/set?videoId={}",
        url::form_urlencoded::byte_serialize(video_id.as_bytes()).collect::<String>()
    ));
    let protocol = SetThumbnail {
        session,
        url,
        mime: thumbnail.mime,
        not_found: AtomicU32::new(0),
    };
    keryx_core::upload::upload(
        &protocol,
        &thumbnail.path,
        thumbnail.size,
        Begin::Fresh,
        &NoProgress,
    )
    .await
}

/// How many `404 videoNotFound` answers are taken for "not visible to the thumbnail service
/// yet" (unverified) before one is believed.
const NOT_FOUND_RETRIES: u32 = 3;

struct SetThumbnail<'a> {
    session: &'a Session<'a>,
    url: String,
    mime: &'static str,
    not_found: AtomicU32,
}

#[async_trait]
impl RangeProtocol for SetThumbnail<'_> {
    type Done = ();

    fn server(&self) -> String {
        "YouTube's thumbnail service".into()
    }

    fn send_range(&self, _offset: u64, _len: u64, _total: u64) -> reqwest::RequestBuilder {
        let token = self.session.current();
        self.session
            .ctx
            .http
            .post(&self.url)
            .bearer_auth(token.expose())
            .header(CONTENT_TYPE, self.mime)
    }

    async fn read(&self, _sent: Option<(u64, u64)>, response: reqwest::Response) -> RangeReply<()> {
        let status = response.status();
        if status.is_success() {
            return RangeReply::Done(());
        }
        let wait = keryx_core::http::retry_after(response.headers());
        let text = response.text().await.unwrap_or_default();
        let envelope: Option<ErrorEnvelope> = serde_json::from_str(&text).ok();
        let reason = envelope.as_ref().map(|e| e.reason()).unwrap_or("");
        if status == StatusCode::UNAUTHORIZED {
            return RangeReply::TokenInvalid;
        }
        let not_yet_visible = status == StatusCode::NOT_FOUND
            && reason == "videoNotFound"
            && self.not_found.fetch_add(1, Ordering::Relaxed) < NOT_FOUND_RETRIES;
        if is_transient_status(status) || is_rate_limit(reason) || not_yet_visible {
            return RangeReply::Retry {
                retry_after: wait,
                why: format!("thumbnails.set answered {status} {reason}")
                    .trim()
                    .to_string(),
            };
        }
        RangeReply::Failed(api_error("the thumbnail", status, envelope.as_ref(), &text))
    }

    async fn reauthorise(&self) -> Result<()> {
        let rejected = self.session.current();
        self.session.replace(&rejected).await
    }
}
