//! `keryx post fixture VIDEO`: checks before upload ([`prepare`]), then a chunked, resumable
//! upload that streams from disk and retries a chunk after a 5xx or a dropped connection.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use keryx_core::http::{Backoff, is_transient, is_transient_status, local_cause};
use keryx_core::session::{Session, Start};
use keryx_core::tokens::TokenStore;
use keryx_core::{
    Context, Error, Metadata, PostReport, PreparedPost, Progress, Result, Secret, VideoFile,
};

use crate::PLATFORM;
use crate::auth::{FixtureApi, service_error};
use crate::config::FixtureConfig;

/// The largest video the service takes.
pub const MAX_VIDEO_SIZE: u64 = 512 * 1024 * 1024;
/// The longest title the service takes, in characters.
pub const MAX_TITLE_CHARS: usize = 100;

/// What a checked post will send.
struct FixturePost {
    config: FixtureConfig,
    path: PathBuf,
    size: u64,
    mime: &'static str,
    title: String,
    description: Option<String>,
    tags: Vec<String>,
    account: String,
}

pub async fn prepare(
    ctx: &Context,
    video: &VideoFile,
    metadata: &Metadata,
) -> Result<Box<dyn PreparedPost>> {
    let config = FixtureConfig::load(ctx)?;
    // What the service cannot do is refused, not silently dropped. (Options of other
    // platforms never reach it: each platform declares its own.)
    if metadata.privacy.is_some() {
        return Err(Error::input("the fixture platform has no --privacy")
            .with_hint("leave it out for this platform"));
    }
    if video.size > MAX_VIDEO_SIZE {
        return Err(Error::input(format!(
            "{} is {} bytes; the fixture platform takes at most {MAX_VIDEO_SIZE}",
            video.path.display(),
            video.size
        )));
    }
    let title = match &metadata.title {
        Some(title) => title.trim().to_string(),
        None => video
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::input(format!(
            "the fixture platform needs a title of 1 to {MAX_TITLE_CHARS} characters"
        ))
        .with_hint("pass --title"));
    }
    // Credentials: a stored authorisation (the secret store may block: keychain).
    let store = TokenStore::new(&ctx.secrets, &ctx.paths, PLATFORM);
    let stored = tokio::task::spawn_blocking(move || store.load())
        .await
        .map_err(|e| Error::platform(format!("the token check stopped: {e}")))??;
    let Some(stored) = stored else {
        return Err(Error::input("fixture is not authorised").with_hint("run `keryx auth fixture`"));
    };
    keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM)?;
    Ok(Box::new(FixturePost {
        config,
        path: video.path.clone(),
        size: video.size,
        mime: video.container.mime(),
        title,
        description: metadata.description.clone(),
        tags: metadata.tags.clone(),
        account: stored.account.unwrap_or_default(),
    }))
}

#[derive(Deserialize)]
struct Started {
    upload_id: String,
    chunk_size: u64,
}

#[derive(Deserialize)]
struct Received {
    received: u64,
}

#[derive(Deserialize)]
struct Published {
    video_id: String,
    url: String,
}

/// One chunk's outcome.
enum Chunk {
    /// The server now holds this many bytes.
    Received(u64),
    Done(Published),
}

#[async_trait]
impl PreparedPost for FixturePost {
    fn describe(&self) -> Vec<(String, String)> {
        vec![
            ("account".into(), self.account.clone()),
            ("title".into(), self.title.clone()),
            ("tags".into(), self.tags.join(", ")),
            ("bytes".into(), self.size.to_string()),
            ("to".into(), self.config.endpoint("/fixture/v1/uploads")),
        ]
    }

    async fn publish(
        self: Box<Self>,
        ctx: &Context,
        progress: &dyn Progress,
    ) -> Result<PostReport> {
        progress.phase("starting", None);
        let api = FixtureApi::load(ctx, self.config.clone())?;
        let session = Session::start(ctx, &api, Start::Mint).await?;
        let started: Started = self.start(&session).await?;
        let token = session.current();
        if started.chunk_size == 0 {
            return Err(Error::platform(
                "the fixture service asked for 0-byte chunks",
            ));
        }
        progress.phase("uploading", Some(self.size));
        let url = self
            .config
            .endpoint(&format!("/fixture/v1/uploads/{}", started.upload_id));
        let mut offset = 0u64;
        let mut backoff = Backoff::default();
        loop {
            let len = started.chunk_size.min(self.size - offset);
            match self
                .put_chunk(ctx, &url, &token, offset, len, progress)
                .await
            {
                Ok(Chunk::Done(published)) => {
                    progress.set_position(self.size);
                    return Ok(PostReport {
                        platform: PLATFORM.into(),
                        status: "published".into(),
                        id: Some(published.video_id),
                        url: Some(published.url),
                        account: Some(self.account.clone()),
                        ..PostReport::default()
                    });
                }
                Ok(Chunk::Received(received)) => {
                    if received > offset {
                        backoff.reset();
                    }
                    if received >= self.size {
                        return Err(Error::platform(
                            "the fixture service holds every byte but did not publish",
                        ));
                    }
                    offset = received;
                    progress.set_position(offset);
                }
                Err(Retry(error)) => {
                    let Some(delay) = backoff.next_delay(None) else {
                        return Err(error.context("fixture upload gave up after retries"));
                    };
                    tracing::info!(
                        "fixture: chunk at {offset} failed ({error}); retrying in {delay:?}"
                    );
                    tokio::time::sleep(delay).await;
                    progress.set_position(offset);
                }
                Err(Fatal(error)) => return Err(error),
            }
        }
    }
}

/// Why a chunk failed: worth another try, or not.
enum Failure {
    Retry(Error),
    Fatal(Error),
}
use Failure::{Fatal, Retry};

impl FixturePost {
    async fn start(&self, session: &Session<'_, FixtureApi>) -> Result<Started> {
        let url = self.config.endpoint("/fixture/v1/uploads");
        let body = json!({
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "size": self.size,
            "mime": self.mime,
        });
        let reply = session
            .send("starting the upload", |http, token| {
                http.post(&url).bearer_auth(token.expose()).json(&body)
            })
            .await?;
        serde_json::from_slice(&reply.body).map_err(|e| {
            Error::platform("the fixture upload start reply is not what keryx expects")
                .with_source(e)
        })
    }

    async fn put_chunk(
        &self,
        ctx: &Context,
        url: &str,
        token: &Secret,
        offset: u64,
        len: u64,
        progress: &dyn Progress,
    ) -> std::result::Result<Chunk, Failure> {
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let on_bytes: keryx_core::upload::OnBytes = Arc::new(move |n| {
            counter.fetch_add(n, Ordering::Relaxed);
        });
        let body = keryx_core::upload::file_range_body(&self.path, offset, len, Some(on_bytes))
            .map_err(Fatal)?;
        let last = offset + len - 1;
        let response = ctx
            .http
            .put(url)
            .bearer_auth(token.expose())
            .header(reqwest::header::CONTENT_LENGTH, len)
            .header(reqwest::header::CONTENT_TYPE, self.mime)
            .header(
                reqwest::header::CONTENT_RANGE,
                format!("bytes {offset}-{last}/{}", self.size),
            )
            .body(body)
            .send()
            .await;
        progress.set_position(offset + sent.load(Ordering::Relaxed));
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                if let Some(local) = local_cause(&e) {
                    return Err(Fatal(Error::input(local.to_string())));
                }
                let error = Error::platform("the fixture upload connection failed").with_source(e);
                return Err(if is_transient_error(&error) {
                    Retry(error)
                } else {
                    Fatal(error)
                });
            }
        };
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        match status.as_u16() {
            201 => serde_json::from_slice(&bytes)
                .map(Chunk::Done)
                .map_err(|e| {
                    Fatal(
                        Error::platform("the fixture publish reply is not what keryx expects")
                            .with_source(e),
                    )
                }),
            // 200: the chunk is stored; 416: the server is elsewhere and says where.
            200 | 416 => serde_json::from_slice::<Received>(&bytes)
                .map(|r| Chunk::Received(r.received))
                .map_err(|e| {
                    Fatal(
                        Error::platform("the fixture chunk reply is not what keryx expects")
                            .with_source(e),
                    )
                }),
            _ if is_transient_status(status) => Err(Retry(service_error(status, &bytes))),
            _ => Err(Fatal(service_error(status, &bytes))),
        }
    }
}

/// `is_transient` for the reqwest error inside a keryx error.
fn is_transient_error(error: &Error) -> bool {
    std::error::Error::source(error)
        .and_then(|s| s.downcast_ref::<reqwest::Error>())
        .is_some_and(is_transient)
}
