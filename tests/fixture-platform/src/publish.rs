//! `keryx post fixture VIDEO`: checks before upload ([`prepare`]), then a chunked, resumable
//! upload that streams from disk and retries a chunk after a 5xx or a dropped connection.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use keryx_core::http::is_transient_status;
use keryx_core::session::{Session, Start};
use keryx_core::upload::engine::transport_failure;
use keryx_core::upload::{Begin, RangeProtocol, RangeReply};
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
    let store = ctx.tokens(PLATFORM);
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
        let protocol = ChunkUpload {
            ctx,
            post: &self,
            url,
            token,
            chunk_size: started.chunk_size,
        };
        let published =
            keryx_core::upload::upload(&protocol, &self.path, self.size, Begin::Fresh, progress)
                .await?;
        Ok(PostReport {
            platform: PLATFORM.into(),
            status: "published".into(),
            id: Some(published.video_id),
            url: Some(published.url),
            account: Some(self.account.clone()),
            ..PostReport::default()
        })
    }
}

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
}

/// The fixture service's chunk protocol: `PUT` ranges in order, `200 {"received": N}` for a
/// stored chunk, `416` with the same body when the server is elsewhere, `201` with the video.
struct ChunkUpload<'a> {
    ctx: &'a Context,
    post: &'a FixturePost,
    url: String,
    token: Secret,
    chunk_size: u64,
}

#[async_trait]
impl RangeProtocol for ChunkUpload<'_> {
    type Done = Published;

    fn server(&self) -> String {
        "the fixture upload service".into()
    }

    fn range_len(&self, offset: u64, total: u64) -> u64 {
        self.chunk_size.min(total - offset)
    }

    fn send_range(&self, offset: u64, len: u64, total: u64) -> reqwest::RequestBuilder {
        let last = offset + len - 1;
        self.ctx
            .http
            .put(&self.url)
            .bearer_auth(self.token.expose())
            .header(reqwest::header::CONTENT_TYPE, self.post.mime)
            .header(
                reqwest::header::CONTENT_RANGE,
                format!("bytes {offset}-{last}/{total}"),
            )
    }

    async fn read(
        &self,
        _sent: Option<(u64, u64)>,
        response: reqwest::Response,
    ) -> RangeReply<Published> {
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return transport_failure(self, e),
        };
        let unreadable = |what: &str, e: serde_json::Error| {
            RangeReply::Failed(
                Error::platform(format!(
                    "the fixture {what} reply is not what keryx expects"
                ))
                .with_source(e),
            )
        };
        match status.as_u16() {
            201 => match serde_json::from_slice(&bytes) {
                Ok(published) => RangeReply::Done(published),
                Err(e) => unreadable("publish", e),
            },
            // 200: the chunk is stored; 416: the server is elsewhere and says where.
            200 | 416 => match serde_json::from_slice::<Received>(&bytes) {
                Ok(r) => RangeReply::Stored {
                    stored: r.received,
                    retry_after: None,
                },
                Err(e) => unreadable("chunk", e),
            },
            _ if is_transient_status(status) => RangeReply::Retry {
                retry_after: None,
                why: service_error(status, &bytes).to_string(),
            },
            _ => RangeReply::Failed(service_error(status, &bytes)),
        }
    }
}
