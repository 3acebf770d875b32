//! `keryx post bluesky VIDEO`: every check before a byte is sent ([`prepare`]), then the blob
//! upload through core's engine, the CID check, and one `createRecord` (reference §4.1, §4.3).
//!
//! No duplicate post: the uploaded blob and the post's record key (a TID keryx picks) are
//! checkpointed before `createRecord`; a rerun that finds the checkpoint, and any failed
//! `createRecord`, first looks for that post (`listRecords`): an answer lost on the way back
//! must not become a second post, and a repeated request at the same key is refused.

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use keryx_core::http::{Policy, Verdict, exchange, is_transient_status};
use keryx_core::media::Container;
use keryx_core::resume::Checkpoint;
use keryx_core::session::{Session, Start};
use keryx_core::upload::engine::transport_failure;
use keryx_core::upload::{Begin, RangeProtocol, RangeReply};
use keryx_core::{
    Cause, Context, Error, Metadata, PostReport, PreparedPost, Progress, Result, Secret, VideoFile,
};

use crate::PLATFORM;
use crate::config::{BlueskyConfig, UploadPath, join};
use crate::text::{self, MAX_ALT_GRAPHEMES};
use crate::xrpc::{BlueskyApi, ErrorBody, classify, decode, xrpc_error};

/// The lexicon's cap on a video blob (`app.bsky.embed.video`, Aug 2026).
pub const LEXICON_MAX_VIDEO: u64 = 300_000_000;
/// The checkpoint kind (a state subdirectory).
const CHECKPOINT: &str = "bluesky-blob";
/// How many of the newest posts a duplicate check reads.
const DUPLICATE_WINDOW: u32 = 100;

/// What a checked post will send.
pub struct BlueskyPost {
    video: VideoFile,
    path: PathBuf,
    size: u64,
    text: String,
    facets: Vec<Value>,
    langs: Vec<String>,
    alt: Option<String>,
    /// WebVTT captions: the file, its size and its language.
    captions: Option<(PathBuf, u64, String)>,
    aspect: Option<(u32, u32)>,
    did: String,
    handle: String,
    pds: String,
    limit: Option<u64>,
    /// The PDS's own DID (`describeServer.did`): the `aud` of the video service's upload token.
    pds_did: String,
    upload: UploadPath,
    video_service: String,
    /// The stored session's account and kind (core re-reads its tokens under the lock).
    extra: serde_json::Map<String, Value>,
}

/// What a rerun needs: the blob on the PDS and when this post started.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    cid: String,
    blob: Value,
    /// The post's `createdAt`.
    created_at: String,
    /// The post's record key, chosen by keryx: a repeated `createRecord` cannot add a second post.
    rkey: String,
    /// The captions' blob, when there are captions.
    #[serde(default)]
    captions: Option<Value>,
}

pub async fn prepare(
    ctx: &Context,
    video: &VideoFile,
    metadata: &Metadata,
) -> Result<Box<dyn PreparedPost>> {
    let config = BlueskyConfig::load(ctx)?;
    if video.container != Container::Mp4 {
        return Err(Error::input(format!(
            "{} is {}; Bluesky takes MP4 (video/mp4) only",
            video.path.display(),
            video.container.name()
        ))
        .with_hint(
            "convert it: ffmpeg -i IN -c:v libx264 -c:a aac -movflags +faststart OUT.mp4, then post OUT.mp4",
        ));
    }
    if metadata.privacy.is_some() {
        return Err(
            Error::input("Bluesky posts are public: it has no --privacy")
                .with_hint("leave --privacy out for Bluesky"),
        );
    }
    if metadata.ai_generated == Some(true) {
        return Err(Error::input("Bluesky has no AI-generated label for posts")
            .with_hint("say so in the text instead, and leave --ai-generated out for Bluesky"));
    }
    let text = text::compose(
        metadata.title.as_deref(),
        metadata.description.as_deref(),
        &metadata.tags,
    );
    if let Some(problem) = text::check_text(&text) {
        return Err(Error::input(problem)
            .with_hint("shorten --title, --description or --tags for Bluesky (its sidecar section can hold its own)"));
    }
    let facets = text::facets(&text::hashtags(&text));
    let alt = metadata
        .text("alt")
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty());
    if let Some(alt) = &alt
        && text::graphemes(alt) > MAX_ALT_GRAPHEMES
    {
        return Err(Error::input(format!(
            "the alt text is {} graphemes; Bluesky's apps show at most {MAX_ALT_GRAPHEMES}",
            text::graphemes(alt)
        ))
        .with_hint("shorten --bluesky-alt"));
    }
    let captions = captions(metadata, &config)?;
    if video.size > LEXICON_MAX_VIDEO {
        return Err(too_big(video, LEXICON_MAX_VIDEO, "Bluesky's video embed"));
    }
    let store = ctx.tokens(PLATFORM);
    let stored = tokio::task::spawn_blocking(move || store.load())
        .await
        .map_err(|e| Error::platform(format!("the token check stopped: {e}")))??;
    let Some(stored) = stored else {
        return Err(
            Error::authorisation(Cause::NotAuthorised, "Bluesky is not authorised")
                .with_hint(crate::xrpc::REAUTH_HINT),
        );
    };
    let field = |name: &str| {
        stored
            .extra
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (Some(did), Some(pds)) = (field("did"), field("pds")) else {
        return Err(Error::authorisation(
            Cause::NotAuthorised,
            "the stored Bluesky session does not say which account it is",
        )
        .with_hint(crate::xrpc::REAUTH_HINT));
    };
    let handle = field("handle").unwrap_or_else(|| config.handle().to_string());
    if let Some(ends) = stored.extra.get("session_ends_at").and_then(Value::as_i64) {
        let left = ends - keryx_core::tokens::unix_now();
        if left <= 0 {
            return Err(Error::authorisation(
                Cause::AuthorisationExpired,
                "the Bluesky sign-in ended: Bluesky ends an app's OAuth session 14 days after the login",
            )
            .with_hint(crate::xrpc::REAUTH_HINT));
        }
        if left < 2 * 24 * 3600 {
            ctx.ui.warn(&format!(
                "the Bluesky sign-in ends in {} hours (14 days after the login): run `keryx auth bluesky` again soon, or use --app-password for unattended runs",
                left / 3600
            ));
        }
    }
    let (limit, pds_did) = describe_server(ctx, &pds).await?;
    // Through the video service the PDS's limit does not apply; with `auto` it decides only
    // whether the PDS can take the video when the video service cannot be reached.
    if config.upload == UploadPath::Pds
        && let Some(limit) = limit
        && video.size > limit
    {
        return Err(too_big(
            video,
            limit,
            "your PDS (describeServer.blobUploadLimit)",
        ));
    }
    let aspect = match (video.width, video.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => Some((w, h)),
        _ => None,
    };
    Ok(Box::new(BlueskyPost {
        video: video.clone(),
        path: video.path.clone(),
        size: video.size,
        text,
        facets,
        langs: config.langs.clone(),
        alt,
        captions,
        aspect,
        did,
        handle,
        pds,
        limit,
        pds_did,
        upload: config.upload,
        video_service: config
            .video_service
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string())
            .unwrap_or_else(|| crate::video::DEFAULT_VIDEO_SERVICE.into()),
        extra: stored.extra.clone(),
    }))
}

/// The lexicon's cap on a caption file.
pub const MAX_CAPTION_BYTES: u64 = 20_000;

/// `--bluesky-captions FILE.vtt` and its language, checked: a WebVTT file within 20,000 bytes.
fn captions(metadata: &Metadata, config: &BlueskyConfig) -> Result<Option<(PathBuf, u64, String)>> {
    let Some(path) = metadata.path("captions") else {
        if metadata.text("caption-lang").is_some() {
            return Err(
                Error::input("--bluesky-caption-lang without --bluesky-captions")
                    .with_hint("pass the captions file with --bluesky-captions FILE.vtt"),
            );
        }
        return Ok(None);
    };
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::input(format!("cannot read the captions {shown}"))
            .with_source(e)
            .with_hint("check the path given to --bluesky-captions")
    })?;
    let size = bytes.len() as u64;
    if size > MAX_CAPTION_BYTES {
        return Err(Error::input(format!(
            "the captions {shown} are {size} bytes; Bluesky takes at most {MAX_CAPTION_BYTES}"
        )));
    }
    if !bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .starts_with(b"WEBVTT")
    {
        return Err(Error::input(format!(
            "{shown} is not a WebVTT file (it must start with WEBVTT)"
        ))
        .with_hint("convert the captions to WebVTT, e.g. ffmpeg -i captions.srt captions.vtt"));
    }
    let lang = metadata
        .text("caption-lang")
        .map(str::to_string)
        .or_else(|| config.langs.first().cloned())
        .ok_or_else(|| {
            Error::input("the captions need a language")
                .with_hint("pass --bluesky-caption-lang (e.g. en), or set platforms.bluesky.langs")
        })?;
    if !text::is_language_tag(&lang) {
        return Err(Error::input(format!(
            "--bluesky-caption-lang: `{lang}` is not a BCP-47 language tag"
        )));
    }
    Ok(Some((path.to_path_buf(), size, lang)))
}

fn too_big(video: &VideoFile, limit: u64, whose: &str) -> Error {
    Error::input(format!(
        "{} is {} bytes; {whose} takes at most {limit}",
        video.path.display(),
        video.size
    ))
    .with_hint("make it smaller (shorter, or a lower bitrate) and post again")
}

/// `describeServer`: its `blobUploadLimit`, when the PDS states one, and its `did` (else
/// `did:web:<host>`, what a PDS's DID is).
async fn describe_server(ctx: &Context, pds: &str) -> Result<(Option<u64>, String)> {
    let url = join(pds, "/xrpc/com.atproto.server.describeServer");
    let reply = exchange(
        &Policy::from_env(),
        "Bluesky (describeServer)",
        || ctx.http.get(&url),
        classify,
    )
    .await?;
    let described: Value = decode(&reply, "describeServer")?;
    let did = described
        .get("did")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            url::Url::parse(pds)
                .ok()
                .and_then(|u| u.host_str().map(|h| format!("did:web:{h}")))
        })
        .unwrap_or_default();
    Ok((
        described.get("blobUploadLimit").and_then(Value::as_u64),
        did,
    ))
}

#[async_trait]
impl PreparedPost for BlueskyPost {
    fn describe(&self) -> Vec<(String, String)> {
        let mut lines = vec![
            ("account".into(), format!("{} ({})", self.handle, self.did)),
            ("text".into(), self.text.clone()),
            ("hashtags".into(), self.facets.len().to_string()),
            ("bytes".into(), self.size.to_string()),
        ];
        let to_pds = join(&self.pds, "/xrpc/com.atproto.repo.uploadBlob");
        let to_service = join(&self.video_service, "/xrpc/app.bsky.video.uploadVideo");
        lines.push((
            "to".into(),
            match self.upload {
                UploadPath::Pds => to_pds,
                UploadPath::VideoService => to_service,
                UploadPath::Auto => format!("{to_service} (else {to_pds})"),
            },
        ));
        if let Some(limit) = self.limit {
            lines.push(("blob limit".into(), limit.to_string()));
        }
        if !self.langs.is_empty() {
            lines.push(("langs".into(), self.langs.join(", ")));
        }
        if let Some(alt) = &self.alt {
            lines.push(("alt".into(), alt.clone()));
        }
        lines
    }

    async fn publish(
        self: Box<Self>,
        ctx: &Context,
        progress: &dyn Progress,
    ) -> Result<PostReport> {
        progress.phase("starting", None);
        let checkpoint: Checkpoint<Saved> =
            Checkpoint::acquire(ctx, CHECKPOINT, PLATFORM, &self.video)?;
        let api = BlueskyApi::from_extra(&self.extra)?;
        let session = Session::start(ctx, &api, Start::Mint).await?;
        self.check_session(&session).await?;
        let digest = keryx_core::media::fingerprint(&self.path).await?;
        let local_cid = crate::cid::digest_from_hex(&digest)
            .map(|d| crate::cid::raw_sha256(&d))
            .ok_or_else(|| Error::platform("the file's SHA-256 is not 32 bytes"))?;
        let saved = checkpoint
            .load(ctx.ui.as_ref())
            .filter(|s| s.cid == local_cid);
        let mut notes = Vec::new();
        let saved = match saved {
            Some(saved) => {
                if let Some(post) = self.find_post(&session, &saved).await? {
                    ctx.ui
                        .info("Bluesky: an earlier run already created this post");
                    checkpoint.clear();
                    return Ok(self.report(&post.0, vec![]));
                }
                saved
            }
            None => {
                let blob = self.upload_any(ctx, &session, progress, &mut notes).await?;
                let server_cid = blob
                    .pointer("/ref/$link")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if server_cid != local_cid {
                    return Err(Error::platform(format!(
                        "the stored video is {server_cid}, but the file's CID is {local_cid}: the bytes changed on the way"
                    ))
                    .with_hint("post again"));
                }
                let captions = match &self.captions {
                    Some((path, size, _)) => {
                        Some(self.upload_captions(ctx, &session, path, *size).await?)
                    }
                    None => None,
                };
                let saved = Saved {
                    cid: local_cid.clone(),
                    blob,
                    created_at: now_rfc3339(),
                    rkey: crate::tid::now(),
                    captions,
                };
                checkpoint.save(&saved)?;
                saved
            }
        };
        progress.phase("posting", None);
        let record = self.record(&saved);
        let body = json!({"repo": self.did, "collection": "app.bsky.feed.post",
                          "rkey": saved.rkey, "record": record});
        let url = join(&self.pds, "/xrpc/com.atproto.repo.createRecord");
        let created = session
            .send_classified(
                "createRecord",
                |http, token| {
                    api.authorised(http.post(&url), "POST", &url, token)
                        .json(&body)
                },
                |reply| match classify(reply) {
                    // A 5xx may come after the commit (and a repeat at the same key is a 500
                    // too): not retried blindly; listRecords below tells what happened.
                    Verdict::Transient { error, .. } => Verdict::Failed(error),
                    other => other,
                },
            )
            .await;
        let uri = match created {
            Ok(reply) => {
                let created: Value = decode(&reply, "createRecord")?;
                created
                    .get("uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::platform("createRecord answered without a `uri`"))?
                    .to_string()
            }
            Err(error) => {
                // The record may exist although the answer was lost: look before anyone
                // creates it again.
                match self.find_post(&session, &saved).await {
                    Ok(Some((uri, _))) => uri,
                    _ => {
                        if error.message().contains("Could not find blob") {
                            checkpoint.clear();
                        }
                        return Err(error.with_hint(
                            "run the same command again: keryx first looks for the post, then creates it at the same key",
                        ));
                    }
                }
            }
        };
        checkpoint.clear();
        Ok(self.report(&uri, notes))
    }
}

impl BlueskyPost {
    /// `getSession` before any byte: it proves the session is this account's, and with DPoP it
    /// is the nonce handshake with the PDS, which would otherwise refuse the first upload after
    /// its whole body was sent.
    async fn check_session(&self, session: &Session<'_, BlueskyApi>) -> Result<()> {
        let url = join(&self.pds, "/xrpc/com.atproto.server.getSession");
        let api = session.api();
        let reply = session
            .send("getSession", |http, token| {
                api.authorised(http.get(&url), "GET", &url, token)
            })
            .await?;
        let who: Value = decode(&reply, "getSession")?;
        if who.get("did").and_then(Value::as_str) != Some(self.did.as_str()) {
            return Err(Error::authorisation(
                Cause::AuthorisationRefused,
                format!("the stored Bluesky session is not {}'s", self.did),
            )
            .with_hint(crate::xrpc::REAUTH_HINT));
        }
        Ok(())
    }

    fn record(&self, saved: &Saved) -> Value {
        let mut embed = json!({"$type": "app.bsky.embed.video", "video": saved.blob});
        if let Some((width, height)) = self.aspect {
            embed["aspectRatio"] = json!({"width": width, "height": height});
        }
        if let Some(alt) = &self.alt {
            embed["alt"] = json!(alt);
        }
        if let (Some((_, _, lang)), Some(file)) = (&self.captions, &saved.captions) {
            embed["captions"] = json!([{"lang": lang, "file": file}]);
        }
        let mut record = json!({
            "$type": "app.bsky.feed.post",
            "text": self.text,
            "createdAt": saved.created_at,
            "embed": embed,
        });
        if !self.facets.is_empty() {
            record["facets"] = json!(self.facets);
        }
        if !self.langs.is_empty() {
            record["langs"] = json!(self.langs);
        }
        record
    }

    fn report(&self, uri: &str, notes: Vec<String>) -> PostReport {
        let rkey = uri.rsplit('/').next().unwrap_or_default().to_string();
        PostReport {
            platform: PLATFORM.into(),
            status: "posted".into(),
            id: Some(uri.to_string()),
            post_id: Some(rkey.clone()),
            url: Some(format!(
                "https://bsky.app/profile/{}/post/{rkey}",
                self.handle
            )),
            privacy: Some("public".into()),
            account: Some(self.handle.clone()),
            notes,
        }
    }

    /// The captions file as a `text/vtt` blob, its CID checked like the video's.
    async fn upload_captions(
        &self,
        ctx: &Context,
        session: &Session<'_, BlueskyApi>,
        path: &std::path::Path,
        size: u64,
    ) -> Result<Value> {
        let protocol = BlobUpload {
            ctx,
            session,
            url: join(&self.pds, "/xrpc/com.atproto.repo.uploadBlob"),
            token: Mutex::new(session.current()),
            content_type: "text/vtt",
        };
        let uploaded = keryx_core::upload::upload(
            &protocol,
            path,
            size,
            Begin::Fresh,
            &keryx_core::NoProgress,
        )
        .await?;
        let blob = uploaded
            .get("blob")
            .cloned()
            .ok_or_else(|| Error::platform("the PDS's uploadBlob reply holds no `blob`"))?;
        let digest = keryx_core::media::fingerprint(path).await?;
        let local = crate::cid::digest_from_hex(&digest).map(|d| crate::cid::raw_sha256(&d));
        if blob.pointer("/ref/$link").and_then(Value::as_str) != local.as_deref()
            || blob.get("mimeType").and_then(Value::as_str) != Some("text/vtt")
        {
            return Err(Error::platform(format!(
                "the PDS stored the captions as {blob}, not as keryx sent them"
            ))
            .with_hint("post again"));
        }
        Ok(blob)
    }

    /// The video by the configured path: the video service (`auto`: unless it cannot be
    /// reached and the PDS can take the file) or the PDS.
    async fn upload_any(
        &self,
        ctx: &Context,
        session: &Session<'_, BlueskyApi>,
        progress: &dyn Progress,
        notes: &mut Vec<String>,
    ) -> Result<Value> {
        const PDS_NOTE: &str = "the video went to your PDS: Bluesky shows it once its video service has processed it (usually within minutes)";
        if self.upload != UploadPath::Pds {
            match self.via_video_service(ctx, session, progress).await {
                Ok(blob) => return Ok(blob),
                // Only a service that did not answer `getUploadLimits`: once it has the
                // bytes, a failure is its answer, and a second path could make a second copy.
                Err((error, false))
                    if self.upload == UploadPath::Auto && crate::video::unreachable(&error) =>
                {
                    if let Some(limit) = self.limit
                        && self.size > limit
                    {
                        return Err(error.with_hint(format!(
                            "the video is {} bytes, over your PDS's limit of {limit}, so it cannot go there instead: post again when Bluesky's video service is back",
                            self.size
                        )));
                    }
                    ctx.ui.warn(&format!(
                        "Bluesky's video service ({}) cannot be reached ({}): the video goes to your PDS instead",
                        self.video_service,
                        error.message()
                    ));
                    notes.push(PDS_NOTE.into());
                }
                Err((error, _)) => return Err(error),
            }
        } else {
            notes.push(PDS_NOTE.into());
        }
        self.upload(ctx, session, progress).await
    }

    /// The blob through the video service; the error says whether the service answered
    /// `getUploadLimits` (`true`) before it failed.
    async fn via_video_service(
        &self,
        ctx: &Context,
        session: &Session<'_, BlueskyApi>,
        progress: &dyn Progress,
    ) -> std::result::Result<Value, (Error, bool)> {
        use crate::video;
        let limits_token = video::service_auth(
            session,
            &self.pds,
            video::VIDEO_SERVICE_DID,
            video::LIMITS_LXM,
        )
        .await
        .map_err(|e| (e, true))?;
        video::check_limits(ctx, &self.video_service, &limits_token, self.size)
            .await
            .map_err(|e| (e, false))?;
        let token = video::service_auth(session, &self.pds, &self.pds_did, video::UPLOAD_LXM)
            .await
            .map_err(|e| (e, true))?;
        video::upload(
            ctx,
            &self.video_service,
            &token,
            &self.did,
            &self.path,
            self.size,
            progress,
        )
        .await
        .map_err(|e| (e, true))
    }

    async fn upload(
        &self,
        ctx: &Context,
        session: &Session<'_, BlueskyApi>,
        progress: &dyn Progress,
    ) -> Result<Value> {
        progress.phase("uploading", Some(self.size));
        let protocol = BlobUpload {
            ctx,
            session,
            url: join(&self.pds, "/xrpc/com.atproto.repo.uploadBlob"),
            token: Mutex::new(session.current()),
            content_type: "video/mp4",
        };
        let uploaded =
            keryx_core::upload::upload(&protocol, &self.path, self.size, Begin::Fresh, progress)
                .await?;
        uploaded
            .get("blob")
            .cloned()
            .ok_or_else(|| Error::platform("the PDS's uploadBlob reply holds no `blob`"))
    }

    /// The newest post with this blob created since the checkpoint, if any: `(uri, record)`.
    async fn find_post(
        &self,
        session: &Session<'_, BlueskyApi>,
        saved: &Saved,
    ) -> Result<Option<(String, Value)>> {
        #[derive(Deserialize)]
        struct Listed {
            records: Vec<Entry>,
        }
        #[derive(Deserialize)]
        struct Entry {
            uri: String,
            value: Value,
        }
        let url = join(&self.pds, "/xrpc/com.atproto.repo.listRecords");
        let limit = DUPLICATE_WINDOW.to_string();
        let query = [
            ("repo", self.did.as_str()),
            ("collection", "app.bsky.feed.post"),
            ("limit", limit.as_str()),
        ];
        let reply = session
            .send("listRecords", |http, _| http.get(&url).query(&query))
            .await?;
        let listed: Listed = decode(&reply, "listRecords")?;
        Ok(listed
            .records
            .into_iter()
            .find(|r| {
                r.uri.rsplit('/').next() == Some(saved.rkey.as_str())
                    && r.value
                        .pointer("/embed/video/ref/$link")
                        .and_then(Value::as_str)
                        == Some(saved.cid.as_str())
            })
            .map(|r| (r.uri, r.value)))
    }
}

/// `uploadBlob`: the whole file in one request, `Content-Type: video/mp4`, exact
/// `Content-Length` (the engine's). A fault re-sends it: the same bytes give the same blob.
struct BlobUpload<'a> {
    ctx: &'a Context,
    session: &'a Session<'a, BlueskyApi>,
    url: String,
    token: Mutex<Secret>,
    content_type: &'static str,
}

#[async_trait]
impl RangeProtocol for BlobUpload<'_> {
    type Done = Value;

    fn server(&self) -> String {
        "the Bluesky PDS".into()
    }

    fn send_range(&self, _offset: u64, _len: u64, _total: u64) -> reqwest::RequestBuilder {
        let token = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let request = self.ctx.http.post(&self.url);
        self.session
            .api()
            .authorised(request, "POST", &self.url, &token)
            .header(reqwest::header::CONTENT_TYPE, self.content_type)
    }

    async fn read(
        &self,
        _sent: Option<(u64, u64)>,
        response: reqwest::Response,
    ) -> RangeReply<Value> {
        let status = response.status();
        let retry_after = keryx_core::http::retry_after(response.headers());
        let headers = response.headers().clone();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => return transport_failure(self, e),
        };
        if self.session.api().wants_new_nonce(&headers, &bytes) {
            return RangeReply::Retry {
                retry_after: Some(std::time::Duration::ZERO),
                why: "the PDS asked for a new DPoP nonce".into(),
            };
        }
        if status.is_success() {
            return match serde_json::from_slice(&bytes) {
                Ok(done) => RangeReply::Done(done),
                Err(e) => RangeReply::Failed(
                    Error::platform("the PDS's uploadBlob reply is not what keryx expects")
                        .with_source(e),
                ),
            };
        }
        let code = ErrorBody::parse(&bytes).error;
        match (status.as_u16(), code.as_str()) {
            (400, "ExpiredToken" | "InvalidToken") | (401, "invalid_token") => {
                RangeReply::TokenInvalid
            }
            (429, _) => RangeReply::Retry {
                retry_after,
                why: xrpc_error(status, &bytes).to_string(),
            },
            _ if is_transient_status(status) => RangeReply::Retry {
                retry_after,
                why: xrpc_error(status, &bytes).to_string(),
            },
            _ => RangeReply::Failed(xrpc_error(status, &bytes)),
        }
    }

    async fn reauthorise(&self) -> Result<()> {
        let current = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.session.replace(&current).await?;
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = self.session.current();
        Ok(())
    }
}

/// Now, as the lexicon's datetime: RFC 3339 in UTC with milliseconds (`2026-12-02T02:22:03.000Z`).
pub fn now_rfc3339() -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}
