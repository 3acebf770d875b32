//! YouTube's resumable upload (reference §3) as a [`RangeProtocol`] for core's upload engine:
//! open a session, save its URI, PUT chunks, and read every `308` for what the server really
//! stored.
//!
//! The session URI is saved ([`Checkpoint`]) before any byte is sent, keyed by the video's
//! canonical path, size and mtime, so running the same `keryx post youtube VIDEO` after a
//! crash or Ctrl-C resumes that session instead of creating a second video. It is deleted once
//! YouTube answered with the video (or refused the upload for good).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use keryx_core::http::{is_transient_status, retry_after};
use keryx_core::resume::{self, Checkpoint};
use keryx_core::upload::{Begin, RangeProtocol, RangeReply, engine::transport_failure};
use keryx_core::{Context, Error, Progress, Result, VideoFile};

use crate::api::{ErrorEnvelope, Video, VideoInsert};
use crate::client::Session;
use crate::error::{INSERT, api_error, is_rate_limit};

/// The state subdirectory saved sessions live in.
const SESSIONS: &str = "youtube-sessions";

/// What is saved per video between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedSession {
    pub session_uri: String,
    pub video: String,
    pub size: u64,
    /// Unix seconds when the session was opened (YouTube sessions live about a week, §3.8).
    pub created_at: i64,
    /// The OAuth client and API address the session belongs to.
    pub client_id: String,
    pub api: String,
    /// SHA-256 of the metadata JSON the session was opened with.
    pub metadata_sha256: String,
}

/// The saved session for `video`, if any (for messages before the upload).
pub fn peek(ctx: &Context, video: &VideoFile) -> Option<SavedSession> {
    resume::peek(ctx, SESSIONS, video)
}

/// The `N + 1` of `Range: bytes=0-N` (§3.4): how many bytes the server holds. `Ok(0)` when there
/// is no header (nothing stored). A header in any other form is an error, never a guess.
pub fn stored_bytes(range: Option<&str>) -> std::result::Result<u64, String> {
    let Some(range) = range else { return Ok(0) };
    let parsed = range
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(first, last)| {
            Some((
                first.trim().parse::<u64>().ok()?,
                last.trim().parse::<u64>().ok()?,
            ))
        });
    match parsed {
        Some((0, last)) => last
            .checked_add(1)
            .ok_or_else(|| format!("`Range: {range}` is out of bounds")),
        _ => Err(format!("`Range: {range}` is not of the form bytes=0-N")),
    }
}

/// One upload of one video through one session (or, after expiry, a new one).
pub struct Upload<'a> {
    pub session: &'a Session<'a>,
    pub video: &'a VideoFile,
    pub insert: &'a VideoInsert,
    pub chunk_size: u64,
}

impl Upload<'_> {
    /// Uploads the video, resuming a saved session when there is one, and returns the video
    /// resource YouTube created.
    pub async fn run(&self, progress: &dyn Progress) -> Result<Video> {
        let ctx = self.session.ctx;
        let total = self.video.size;
        let checkpoint = Checkpoint::acquire(ctx, SESSIONS, "YouTube", self.video)?;
        progress.phase("uploading", Some(total));

        let digest = hex::encode(Sha256::digest(
            serde_json::to_vec(self.insert).unwrap_or_default(),
        ));
        let client_id = self.session.app.config.client_id.clone();
        let api = self.session.app.endpoints.api("");
        // A saved session is only worth asking about if it belongs to the same client and server.
        let saved = checkpoint.load(ctx.ui.as_ref()).filter(|s: &SavedSession| {
            let same = s.client_id == client_id && s.api == api && s.size == total;
            if !same {
                ctx.ui.warn("a saved YouTube upload session of this file belongs to another client or server; starting a new upload");
            }
            same
        });
        let protocol = Resumable {
            upload: self,
            checkpoint,
            digest,
            uri: Mutex::new(String::new()),
            only_if_finished: AtomicBool::new(false),
        };
        let begin = match saved {
            Some(saved) => {
                // When the details changed, the old session is still asked once: if it already
                // finished, that video is the answer (never a second one); if not, it never
                // becomes a video (§3.6) and a new session carries the new details.
                protocol
                    .only_if_finished
                    .store(saved.metadata_sha256 != protocol.digest, Ordering::Relaxed);
                ctx.ui.info(&format!(
                    "YouTube: resuming the interrupted upload of {} (session opened {})",
                    self.video.path.display(),
                    ago(saved.created_at)
                ));
                protocol.set_uri(saved.session_uri);
                Begin::Resume
            }
            None => {
                protocol.open().await?;
                Begin::Fresh
            }
        };
        let video =
            keryx_core::upload::upload(&protocol, &self.video.path, total, begin, progress).await?;
        protocol.checkpoint.clear();
        Ok(video)
    }
}

/// The protocol of one upload: the session it feeds, and where that session is saved.
struct Resumable<'a> {
    upload: &'a Upload<'a>,
    checkpoint: Checkpoint<SavedSession>,
    /// SHA-256 of the metadata JSON, saved with the session.
    digest: String,
    /// The session URI; a `308` may move it (§3.4).
    uri: Mutex<String>,
    /// The saved session was opened with other details: only its finished video counts.
    only_if_finished: AtomicBool,
}

impl Resumable<'_> {
    fn session(&self) -> &Session<'_> {
        self.upload.session
    }

    fn uri(&self) -> String {
        self.uri.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_uri(&self, uri: String) {
        *self.uri.lock().unwrap_or_else(|e| e.into_inner()) = uri;
    }

    /// Opens a session (§3.1) and saves its URI before any byte is sent.
    async fn open(&self) -> Result<()> {
        let uri = self.open_session().await?;
        self.remember(uri)
    }

    fn remember(&self, uri: String) -> Result<()> {
        let upload = self.upload;
        self.checkpoint.save(&SavedSession {
            session_uri: uri.clone(),
            video: upload.video.path.display().to_string(),
            size: upload.video.size,
            created_at: keryx_core::tokens::unix_now(),
            client_id: self.session().app.config.client_id.clone(),
            api: self.session().app.endpoints.api(""),
            metadata_sha256: self.digest.clone(),
        })?;
        self.set_uri(uri);
        Ok(())
    }

    /// A `Location` may be relative; it is taken relative to the upload endpoint.
    fn resolve(&self, location: &str) -> Result<String> {
        let base = url::Url::parse(
            &self
                .session()
                .app
                .endpoints
                .api("/upload/youtube/v3/videos"),
        )
        .map_err(|e| Error::input("the YouTube API address is not a URL").with_source(e))?;
        base.join(location).map(String::from).map_err(|e| {
            Error::platform(format!(
                "YouTube gave an upload session address keryx cannot read: {location}"
            ))
            .with_source(e)
        })
    }

    /// `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` (§3.1).
    /// Metadata problems, quota and upload limits are refused here, before any byte moves.
    async fn open_session(&self) -> Result<String> {
        let upload = self.upload;
        let url = self
            .session()
            .app
            .endpoints
            .api("/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status");
        let body = serde_json::to_vec(upload.insert)
            .map_err(|e| Error::platform("cannot encode the video metadata").with_source(e))?;
        let reply = self
            .session()
            .send(INSERT, |http, token| {
                http.post(&url)
                    .bearer_auth(token.expose())
                    .header(CONTENT_TYPE, "application/json; charset=UTF-8")
                    .header("X-Upload-Content-Length", upload.video.size)
                    .header("X-Upload-Content-Type", upload.video.container.mime())
                    .body(body.clone())
            })
            .await?;
        let location = reply
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        match location {
            Some(location) => self.resolve(&location),
            None => Err(Error::platform(
                "YouTube opened no upload session (its reply had no Location)",
            )
            .with_hint("try again; if it persists, report it")),
        }
    }

    /// A `308`: how much is stored, and where the session lives now.
    fn incomplete(&self, headers: &reqwest::header::HeaderMap) -> RangeReply<Video> {
        let range = headers.get(RANGE).and_then(|v| v.to_str().ok());
        let stored = match stored_bytes(range) {
            Ok(stored) => stored,
            Err(why) => {
                return RangeReply::Failed(
                    Error::platform(format!(
                        "YouTube's upload server answered with an unreadable {why}"
                    ))
                    .with_hint("post again; if it persists, report it"),
                );
            }
        };
        let moved = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|l| *l != self.uri());
        if let Some(new) = moved {
            // §3.4: a 308 may move the session; the saved URI follows it.
            if let Err(e) = self.resolve(new).and_then(|uri| self.remember(uri)) {
                return RangeReply::Failed(e);
            }
        }
        RangeReply::Stored {
            stored,
            retry_after: retry_after(headers),
        }
    }

    /// A `200`/`201`: the video resource.
    fn finished(&self, body: &[u8]) -> RangeReply<Video> {
        match serde_json::from_slice::<Video>(body) {
            Ok(video) if !video.id.is_empty() => {
                if self.only_if_finished.swap(false, Ordering::Relaxed) {
                    self.session().ctx.ui.warn(
                        "the interrupted upload of this file had already finished, with the title and settings of \
                         its first run; change them in YouTube Studio if needed",
                    );
                }
                RangeReply::Done(video)
            }
            Ok(_) => RangeReply::Failed(
                Error::platform("YouTube finished the upload but its reply names no video")
                    .with_hint("look for the video in YouTube Studio before posting again"),
            ),
            Err(e) => RangeReply::Failed(
                Error::platform("YouTube finished the upload but keryx cannot read its reply")
                    .with_source(e)
                    .with_hint("look for the video in YouTube Studio before posting again"),
            ),
        }
    }
}

#[async_trait]
impl RangeProtocol for Resumable<'_> {
    type Done = Video;

    fn server(&self) -> String {
        "YouTube's upload server".into()
    }

    /// A multiple of 256 KiB unless it is the last (§3.3).
    fn range_len(&self, offset: u64, total: u64) -> u64 {
        self.upload.chunk_size.min(total - offset)
    }

    fn send_range(&self, offset: u64, len: u64, total: u64) -> reqwest::RequestBuilder {
        let token = self.session().current();
        self.session()
            .ctx
            .http
            .put(self.uri())
            .bearer_auth(token.expose())
            .header(CONTENT_TYPE, self.upload.video.container.mime())
            .header(
                CONTENT_RANGE,
                format!("bytes {}-{}/{}", offset, offset + len - 1, total),
            )
    }

    /// An empty PUT with `Content-Range: bytes */TOTAL` (§3.5).
    fn status_request(&self, total: u64) -> Option<reqwest::RequestBuilder> {
        let token = self.session().current();
        Some(
            self.session()
                .ctx
                .http
                .put(self.uri())
                .bearer_auth(token.expose())
                .header(CONTENT_LENGTH, 0)
                .header(CONTENT_RANGE, format!("bytes */{total}")),
        )
    }

    async fn read(&self, sent: Option<(u64, u64)>, response: Response) -> RangeReply<Video> {
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::PERMANENT_REDIRECT {
            if sent.is_none() && self.only_if_finished.swap(false, Ordering::Relaxed) {
                self.session().ctx.ui.info("YouTube: the title or settings changed since the interrupted upload; starting over with the new ones");
                return match self.open().await {
                    Ok(()) => RangeReply::Stored {
                        stored: 0,
                        retry_after: None,
                    },
                    Err(e) => RangeReply::Failed(e),
                };
            }
            return self.incomplete(&headers);
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return transport_failure(self, e),
        };
        if status == StatusCode::OK || status == StatusCode::CREATED {
            return self.finished(&body);
        }
        let text = String::from_utf8_lossy(&body);
        let envelope: Option<ErrorEnvelope> = serde_json::from_slice(&body).ok();
        let reason = envelope.as_ref().map(|e| e.reason()).unwrap_or("");
        match status {
            StatusCode::UNAUTHORIZED => RangeReply::TokenInvalid,
            StatusCode::NOT_FOUND | StatusCode::GONE => RangeReply::Expired,
            s if is_transient_status(s)
                || s == StatusCode::TOO_MANY_REQUESTS
                || is_rate_limit(reason) =>
            {
                RangeReply::Retry {
                    retry_after: retry_after(&headers),
                    why: format!("HTTP {s} {reason}").trim().to_string(),
                }
            }
            s => {
                // A permanent refusal is replayed to every later query (§3.5): resuming
                // cannot help, so the next run starts afresh.
                self.checkpoint.clear();
                let what = if sent.is_some() {
                    "a chunk of the upload"
                } else {
                    "asking YouTube where the upload stands"
                };
                RangeReply::Failed(api_error(what, s, envelope.as_ref(), &text))
            }
        }
    }

    async fn reauthorise(&self) -> Result<()> {
        let rejected = self.session().current();
        self.session().replace(&rejected).await.map_err(|e| {
            let then = "then run the same `keryx post` command: it resumes the upload";
            let hint = match e.hint() {
                Some(hint) => format!("{hint}; {then}"),
                None => then.to_string(),
            };
            e.with_hint(hint)
        })
    }

    async fn restart(&self) -> Result<()> {
        self.session().ctx.ui.warn("YouTube no longer knows the upload session (it expired); starting the upload again from the beginning");
        self.only_if_finished.store(false, Ordering::Relaxed);
        self.open().await
    }

    fn hint_on_give_up(&self) -> &'static str {
        "run the same command again: keryx resumes this upload where YouTube left it"
    }
}

fn ago(when: i64) -> String {
    let secs = (keryx_core::tokens::unix_now() - when).max(0);
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers() {
        assert_eq!(stored_bytes(None), Ok(0), "no Range: nothing stored");
        assert_eq!(stored_bytes(Some("bytes=0-262143")), Ok(262_144));
        assert_eq!(stored_bytes(Some("bytes=0-0")), Ok(1));
        assert_eq!(stored_bytes(Some(" bytes=0-999999 ")), Ok(1_000_000));
        assert!(
            stored_bytes(Some("bytes 0-262143")).is_err(),
            "the form with a space is TikTok's, not Google's"
        );
        assert!(
            stored_bytes(Some("bytes=5-10")).is_err(),
            "storage always starts at 0"
        );
        assert!(stored_bytes(Some("bytes=0-")).is_err());
        assert!(stored_bytes(Some("bytes=0-x")).is_err());
        assert!(stored_bytes(Some("")).is_err());
        assert!(stored_bytes(Some(&format!("bytes=0-{}", u64::MAX))).is_err());
    }
}
