//! YouTube's resumable upload (reference §3): open a session, save its URI, PUT chunks, and
//! read every `308` for what the server really stored.
//!
//! The session URI is saved in the state directory before any byte is sent, keyed by the
//! video's canonical path, size and mtime, so running the same `keryx post youtube VIDEO`
//! after a crash or Ctrl-C resumes that session instead of creating a second video. It is
//! deleted once YouTube answered with the video (or refused the upload for good).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use keryx_core::http::{
    Activity, Backoff, SILENCE, is_transient, is_transient_status, local_cause, retry_after,
    until_silent,
};
use keryx_core::{Context, Error, Progress, Result, VideoFile};

use crate::api::{ErrorEnvelope, Video, VideoInsert};
use crate::client::{Session, unreachable};
use crate::error::{INSERT, api_error, is_rate_limit};

/// Token swaps in a row without progress before giving up: a token that is refused right
/// after a refresh will not be accepted by swapping again.
const MAX_TOKEN_SWAPS: u32 = 3;
/// Fresh sessions after a 404 (expired session) before giving up.
const MAX_RESTARTS: u32 = 2;

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

/// The saved-session slot of one video, locked for the life of this value so two keryx
/// processes never feed the same session at once.
pub struct Slot {
    json: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

/// `<state>/youtube-sessions/<key>`, where the key hashes what identifies this exact file
/// content in practice: canonical path, size and modification time.
fn slot_paths(ctx: &Context, video: &VideoFile) -> Result<(PathBuf, PathBuf)> {
    let dir = ctx.paths.state_subdir("youtube-sessions")?;
    let canonical = std::fs::canonicalize(&video.path).map_err(|e| {
        Error::input(format!("cannot resolve {}", video.path.display()))
            .with_source(e)
            .with_hint("check the video path")
    })?;
    let mtime = std::fs::metadata(&canonical)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = Sha256::new();
    hasher.update(canonical.to_string_lossy().as_bytes());
    hasher.update([0]);
    hasher.update(video.size.to_le_bytes());
    hasher.update(mtime.to_le_bytes());
    let key = hex::encode(&hasher.finalize()[..16]);
    Ok((
        dir.join(format!("{key}.json")),
        dir.join(format!("{key}.lock")),
    ))
}

/// The saved session for `video`, if any, without locking (for messages before the upload).
pub fn peek(ctx: &Context, video: &VideoFile) -> Option<SavedSession> {
    let (json, _) = slot_paths(ctx, video).ok()?;
    read_saved(&json).ok().flatten()
}

fn read_saved(path: &Path) -> Result<Option<SavedSession>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Error::input(format!(
                "the saved upload session {} is unreadable",
                path.display()
            ))
            .with_source(e)
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::input(format!("cannot read {}", path.display())).with_source(e)),
    }
}

impl Slot {
    pub fn acquire(ctx: &Context, video: &VideoFile) -> Result<Slot> {
        let (json, lock_path) = slot_paths(ctx, video)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                Error::input(format!("cannot create {}", lock_path.display())).with_source(e)
            })?;
        match fs4::FileExt::try_lock(&lock) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(Error::input(format!(
                    "another keryx is uploading {} to YouTube right now",
                    video.path.display()
                ))
                .with_hint(
                    "wait for it to finish; running both would feed one upload session twice",
                ));
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(
                    Error::input(format!("cannot lock {}", lock_path.display())).with_source(e)
                );
            }
        }
        Ok(Slot {
            json,
            lock_path,
            _lock: lock,
        })
    }

    /// The saved session; an unreadable file is reported and treated as none (the worst case
    /// is re-sending bytes: an unfinished session never becomes a video, §3.6).
    pub fn load(&self, ctx: &Context) -> Option<SavedSession> {
        match read_saved(&self.json) {
            Ok(saved) => saved,
            Err(e) => {
                ctx.ui.warn(&format!("{e}; starting a new upload"));
                None
            }
        }
    }

    /// Writes atomically (temp file + rename) with mode 0600: the URI lets anyone holding it
    /// upload into the session.
    pub fn save(&self, saved: &SavedSession) -> Result<()> {
        let dir = self.json.parent().unwrap_or(Path::new("."));
        let fail = |e: &dyn std::fmt::Display| {
            Error::input(format!("cannot save the upload session in {}: {e}", dir.display()))
                .with_hint("check that the state directory is writable; without it an interrupted upload cannot resume")
        };
        let body = serde_json::to_vec_pretty(saved).map_err(|e| fail(&e))?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
        std::io::Write::write_all(&mut temp, &body).map_err(|e| fail(&e))?;
        temp.as_file().sync_all().map_err(|e| fail(&e))?;
        temp.persist(&self.json).map_err(|e| fail(&e.error))?;
        Ok(())
    }

    /// Forgets the session: the upload finished, or YouTube refused it for good.
    pub fn clear(&self) {
        for path in [&self.json, &self.lock_path] {
            if let Err(e) = std::fs::remove_file(path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }
}

/// What a reply to a PUT says, in the terms of §3.4–3.7.
#[derive(Debug)]
enum Reply {
    /// `308`: bytes `0..stored` are on the server.
    Incomplete {
        stored: u64,
        location: Option<String>,
        wait: Option<Duration>,
    },
    Done(Box<Video>),
    /// 5xx, 429, a rate limit or a dropped connection: wait, then ask where the upload stands.
    Retry {
        wait: Option<Duration>,
        why: String,
    },
    /// 401: the access token expired.
    Unauthorized,
    /// 404/410: the session is gone; a new one starts from byte 0.
    Expired,
    /// Anything else: permanent.
    Failed(Error),
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
    fn ctx(&self) -> &Context {
        self.session.ctx
    }

    fn metadata_sha256(&self) -> String {
        hex::encode(Sha256::digest(
            serde_json::to_vec(self.insert).unwrap_or_default(),
        ))
    }

    /// Uploads the video, resuming a saved session when there is one, and returns the video
    /// resource YouTube created.
    pub async fn run(&self, progress: &dyn Progress) -> Result<Video> {
        let ctx = self.ctx();
        let total = self.video.size;
        let slot = Slot::acquire(ctx, self.video)?;
        progress.phase("uploading", Some(total));

        let digest = self.metadata_sha256();
        let client_id = self.session.app.config.client_id.clone();
        let api = self.session.app.endpoints.api("");
        // A saved session is only worth asking about if it belongs to the same client and server.
        let saved = slot.load(ctx).filter(|s| {
            let same = s.client_id == client_id && s.api == api && s.size == total;
            if !same {
                ctx.ui.warn("a saved YouTube upload session of this file belongs to another client or server; starting a new upload");
            }
            same
        });
        // When the details changed, the old session is still asked once: if it already finished,
        // that video is the answer (never a second one); if not, it never becomes a video (§3.6)
        // and a new session carries the new details.
        let mut only_if_finished = false;
        // A resumed session is asked where it stands before any byte is sent (§3.5).
        let mut query_first = saved.is_some();
        let mut uri = match saved {
            Some(saved) => {
                only_if_finished = saved.metadata_sha256 != digest;
                ctx.ui.info(&format!(
                    "YouTube: resuming the interrupted upload of {} (session opened {})",
                    self.video.path.display(),
                    ago(saved.created_at)
                ));
                saved.session_uri
            }
            None => self.open(&slot, &digest).await?,
        };

        let mut offset: u64 = 0;
        let mut backoff = Backoff::default();
        let mut swaps = 0;
        let mut restarts = 0;
        loop {
            let sent_bytes = !query_first;
            let reply = if query_first {
                self.query(&uri).await
            } else {
                self.put_chunk(&uri, offset, progress).await
            };
            query_first = false;
            match reply {
                Reply::Done(video) => {
                    if only_if_finished {
                        ctx.ui.warn(
                            "the interrupted upload of this file had already finished, with the title and settings of \
                             its first run; change them in YouTube Studio if needed",
                        );
                    }
                    slot.clear();
                    progress.set_position(total);
                    return Ok(*video);
                }
                Reply::Incomplete { .. } if only_if_finished => {
                    only_if_finished = false;
                    ctx.ui.info("YouTube: the title or settings changed since the interrupted upload; starting over with the new ones");
                    uri = self.open(&slot, &digest).await?;
                    offset = 0;
                    progress.set_position(0);
                }
                Reply::Incomplete {
                    stored,
                    location,
                    wait,
                } => {
                    if stored > total {
                        slot.clear();
                        return Err(Error::platform(format!(
                            "YouTube says it holds {stored} bytes of a {total}-byte upload"
                        ))
                        .with_hint("post again; the saved session was discarded"));
                    }
                    let advanced = stored > offset;
                    // Never assume a chunk arrived: resume exactly after what the server holds.
                    offset = stored;
                    progress.set_position(offset);
                    if advanced {
                        swaps = 0;
                        backoff.reset();
                    }
                    if let Some(new) = location.filter(|l| *l != uri) {
                        // §3.4: a 308 may move the session; the saved URI follows it.
                        uri = self.resolve(&new)?;
                        self.remember(&slot, &uri, &digest)?;
                    }
                    if offset == total || (sent_bytes && !advanced) {
                        // Either every byte is there but no final reply came (ask for it, §3.5),
                        // or the server kept none of the chunk just sent (an overlap or gap
                        // stores nothing, §3.4): pause, longer each time, then go on from
                        // what it holds.
                        let delay = backoff.next_delay(wait).ok_or_else(|| {
                            Error::platform(format!(
                                "YouTube's upload server stopped taking bytes: it holds {offset} of {total}"
                            ))
                            .with_hint("run the same command again later: keryx resumes where YouTube left it")
                        })?;
                        tokio::time::sleep(delay).await;
                        query_first = offset == total;
                    } else if let Some(wait) = wait {
                        // §3.4: a Retry-After on a 308 says when to resume.
                        tokio::time::sleep(wait.min(Duration::from_secs(300))).await;
                    }
                }
                Reply::Retry { wait, why } => {
                    let delay = backoff.next_delay(wait).ok_or_else(|| {
                        Error::platform(format!(
                            "the upload to YouTube kept failing ({why}) with {offset} of {total} bytes confirmed"
                        ))
                        .with_hint("run the same command again: keryx resumes this upload where YouTube left it")
                    })?;
                    tracing::info!("YouTube upload: {why}; asking where it stands in {delay:?}");
                    tokio::time::sleep(delay).await;
                    query_first = true;
                }
                Reply::Unauthorized => {
                    swaps += 1;
                    if swaps > MAX_TOKEN_SWAPS {
                        return Err(Error::platform(
                            "YouTube keeps refusing fresh access tokens during the upload",
                        )
                        .with_hint(
                            "run `keryx auth youtube` again, then the same post command to resume",
                        ));
                    }
                    let rejected = self.session.current();
                    self.session
                        .replace(&rejected)
                        .await
                        .map_err(|e| resumable(e, offset, total))?;
                    query_first = true;
                }
                Reply::Expired => {
                    restarts += 1;
                    if restarts > MAX_RESTARTS {
                        slot.clear();
                        return Err(
                            Error::platform("YouTube keeps forgetting the upload session")
                                .with_hint("post again later"),
                        );
                    }
                    ctx.ui.warn("YouTube no longer knows the upload session (it expired); starting the upload again from the beginning");
                    only_if_finished = false;
                    uri = self.open(&slot, &digest).await?;
                    offset = 0;
                    progress.set_position(0);
                }
                Reply::Failed(error) => {
                    // A permanent refusal is replayed to every later query (§3.5): resuming
                    // cannot help, so the next run starts afresh.
                    slot.clear();
                    return Err(error);
                }
            }
        }
    }

    /// Opens a session (§3.1) and saves its URI before any byte is sent.
    async fn open(&self, slot: &Slot, digest: &str) -> Result<String> {
        let uri = self.open_session().await?;
        self.remember(slot, &uri, digest)?;
        Ok(uri)
    }

    fn remember(&self, slot: &Slot, uri: &str, digest: &str) -> Result<()> {
        slot.save(&SavedSession {
            session_uri: uri.to_string(),
            video: self.video.path.display().to_string(),
            size: self.video.size,
            created_at: keryx_core::tokens::unix_now(),
            client_id: self.session.app.config.client_id.clone(),
            api: self.session.app.endpoints.api(""),
            metadata_sha256: digest.to_string(),
        })
    }

    /// A `Location` may be relative; it is taken relative to the upload endpoint.
    fn resolve(&self, location: &str) -> Result<String> {
        let base = url::Url::parse(&self.session.app.endpoints.api("/upload/youtube/v3/videos"))
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
        let url = self
            .session
            .app
            .endpoints
            .api("/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status");
        let body = serde_json::to_vec(self.insert)
            .map_err(|e| Error::platform("cannot encode the video metadata").with_source(e))?;
        let reply = self
            .session
            .send(INSERT, |http, token| {
                http.post(&url)
                    .bearer_auth(token.expose())
                    .header(CONTENT_TYPE, "application/json; charset=UTF-8")
                    .header("X-Upload-Content-Length", self.video.size)
                    .header("X-Upload-Content-Type", self.video.container.mime())
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

    /// Asks where the upload stands: an empty PUT with `Content-Range: bytes */TOTAL` (§3.5).
    async fn query(&self, uri: &str) -> Reply {
        let token = self.session.current();
        let sent = self
            .ctx()
            .http
            .put(uri)
            .timeout(self.session.policy().reply_timeout)
            .bearer_auth(token.expose())
            .header(CONTENT_LENGTH, 0)
            .header(CONTENT_RANGE, format!("bytes */{}", self.video.size))
            .send()
            .await;
        match sent {
            Ok(response) => {
                self.classify(response, "asking YouTube where the upload stands")
                    .await
            }
            Err(e) => network_failure(e),
        }
    }

    /// PUTs the chunk starting at `offset`: a multiple of 256 KiB unless it is the last (§3.3).
    async fn put_chunk(&self, uri: &str, offset: u64, progress: &dyn Progress) -> Reply {
        let total = self.video.size;
        let length = self.chunk_size.min(total - offset);
        if length == 0 {
            return Reply::Retry {
                wait: None,
                why: "nothing left to send".into(),
            };
        }
        let activity = Activity::new();
        let touch = activity.clone();
        let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = sent.clone();
        let body = match keryx_core::upload::file_range_body(
            &self.video.path,
            offset,
            length,
            Some(Arc::new(move |n| {
                touch.touch();
                counter.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            })),
        ) {
            Ok(body) => body,
            Err(e) => return Reply::Failed(e),
        };
        let token = self.session.current();
        let request = self
            .ctx()
            .http
            .put(uri)
            .bearer_auth(token.expose())
            .header(CONTENT_TYPE, self.video.container.mime())
            .header(CONTENT_LENGTH, length)
            .header(
                CONTENT_RANGE,
                format!("bytes {}-{}/{}", offset, offset + length - 1, total),
            )
            .body(body)
            .send();
        let exchange = until_silent(&activity, SILENCE, request);
        tokio::pin!(exchange);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let outcome = loop {
            tokio::select! {
                outcome = &mut exchange => break outcome,
                _ = tick.tick() => progress.set_position(offset + sent.load(std::sync::atomic::Ordering::Relaxed).min(length)),
            }
        };
        match outcome {
            Err(stalled) => Reply::Retry {
                wait: None,
                why: stalled.to_string(),
            },
            Ok(Err(e)) => network_failure(e),
            Ok(Ok(response)) => self.classify(response, "a chunk of the upload").await,
        }
    }

    async fn classify(&self, response: Response, what: &str) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let wait = retry_after(&headers);
        if status == StatusCode::PERMANENT_REDIRECT {
            let range = headers.get(RANGE).and_then(|v| v.to_str().ok());
            return match stored_bytes(range) {
                Ok(stored) => Reply::Incomplete {
                    stored,
                    location: headers
                        .get(LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .map(String::from),
                    wait,
                },
                Err(why) => Reply::Failed(
                    Error::platform(format!(
                        "YouTube's upload server answered with an unreadable {why}"
                    ))
                    .with_hint("post again; if it persists, report it"),
                ),
            };
        }
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return network_failure(e),
        };
        if status == StatusCode::OK || status == StatusCode::CREATED {
            return match serde_json::from_slice::<Video>(&body) {
                Ok(video) if !video.id.is_empty() => Reply::Done(Box::new(video)),
                Ok(_) => Reply::Failed(
                    Error::platform("YouTube finished the upload but its reply names no video")
                        .with_hint("look for the video in YouTube Studio before posting again"),
                ),
                Err(e) => Reply::Failed(
                    Error::platform("YouTube finished the upload but keryx cannot read its reply")
                        .with_source(e)
                        .with_hint("look for the video in YouTube Studio before posting again"),
                ),
            };
        }
        let text = String::from_utf8_lossy(&body);
        let envelope: Option<ErrorEnvelope> = serde_json::from_slice(&body).ok();
        let reason = envelope.as_ref().map(|e| e.reason()).unwrap_or("");
        match status {
            StatusCode::UNAUTHORIZED => Reply::Unauthorized,
            StatusCode::NOT_FOUND | StatusCode::GONE => Reply::Expired,
            s if is_transient_status(s)
                || s == StatusCode::TOO_MANY_REQUESTS
                || is_rate_limit(reason) =>
            {
                Reply::Retry {
                    wait,
                    why: format!("HTTP {s} {reason}").trim().to_string(),
                }
            }
            s => Reply::Failed(api_error(what, s, envelope.as_ref(), &text)),
        }
    }
}

fn network_failure(e: reqwest::Error) -> Reply {
    if let Some(local) = local_cause(&e) {
        // The file changed under keryx: the next run must start afresh with the final file.
        return Reply::Failed(
            Error::input(local.message().to_string()).with_hint(
                local
                    .hint()
                    .unwrap_or("run the command again once the file is final")
                    .to_string(),
            ),
        );
    }
    if is_transient(&e) {
        Reply::Retry {
            wait: None,
            why: format!("connection lost: {e}"),
        }
    } else {
        Reply::Failed(unreachable("YouTube's upload server", e))
    }
}

/// An error that stops an upload whose session is kept: the hint also says that the same
/// command resumes it, so the user does not think the bytes sent so far are lost.
fn resumable(e: Error, offset: u64, total: u64) -> Error {
    let then = format!(
        "then run the same `keryx post` command: it resumes the upload ({offset} of {total} bytes are on YouTube)"
    );
    let hint = match e.hint() {
        Some(hint) => format!("{hint}; {then}"),
        None => then,
    };
    e.with_hint(hint)
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
