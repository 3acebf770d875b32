//! `keryx post instagram VIDEO`: every check before a byte is sent ([`prepare`], reference
//! §4, §2.7), then container → rupload → status polls → `media_publish` → read back, with
//! the container id kept in a checkpoint from the moment it exists, so a rerun resumes and a
//! publish that failed but went live is never repeated (reference §2.5).

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};

use keryx_core::http::Verdict;
use keryx_core::media::Container as Format;
use keryx_core::once::{Failure, send_then_verify};
use keryx_core::poll::Pacer;
use keryx_core::resume::Checkpoint;
use keryx_core::session::{Session, Start};
use keryx_core::upload::Begin;
use keryx_core::{Context, Error, Metadata, PostReport, PreparedPost, Progress, Result, VideoFile};

use crate::config::InstagramConfig;
use crate::graph::{FIX_VIDEO, GraphApi, GraphError, TokenKind, classify, decode};
use crate::rupload::{Rupload, bytes_held};
use crate::{COVER_AT, PLATFORM, REELS_ONLY};

pub const MIN_DURATION: Duration = Duration::from_secs(3);
pub const MAX_DURATION: Duration = Duration::from_secs(15 * 60);
pub const MAX_WIDTH: u32 = 1920;
pub const MAX_CAPTION_CHARS: usize = 2200;
pub const MAX_HASHTAGS: usize = 30;
pub const MAX_MENTIONS: usize = 20;
const CHECKPOINTS: &str = "instagram-containers";
/// How often a publish that failed in transit is tried again (after checking it did not go live).
const PUBLISH_ATTEMPTS: u32 = 3;

/// A container and where its bytes go.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub container: String,
    pub uri: String,
}

/// What a rerun needs: the container of this file on this account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    ig_user_id: String,
    upload: Upload,
}

struct InstagramPost {
    config: InstagramConfig,
    video: VideoFile,
    path: PathBuf,
    caption: String,
    share_to_feed: bool,
    thumb_offset_ms: Option<u64>,
    ig_user_id: String,
    username: String,
    kind: TokenKind,
    page_id: Option<String>,
}

fn count_marked(caption: &str, mark: char) -> usize {
    let chars: Vec<char> = caption.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            **c == mark
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_alphanumeric() || *n == '_' || *n == '.')
        })
        .count()
}

/// Title, description and #tags, as the other platforms compose their captions.
pub fn caption(metadata: &Metadata) -> Result<String> {
    let caption = metadata.caption();
    // Meta does not say whether it counts code points or UTF-16 units (reference §2.1): the
    // stricter count of the two.
    let length = caption.chars().count().max(caption.encode_utf16().count());
    if length > MAX_CAPTION_CHARS {
        return Err(Error::input(format!("the Instagram caption (title, description and tags) is {length} characters; Instagram allows {MAX_CAPTION_CHARS}"))
            .with_hint("shorten the title or description"));
    }
    let hashtags = count_marked(&caption, '#');
    if hashtags > MAX_HASHTAGS {
        return Err(Error::input(format!(
            "the Instagram caption has {hashtags} hashtags; Instagram allows {MAX_HASHTAGS}"
        ))
        .with_hint("use fewer tags"));
    }
    let mentions = count_marked(&caption, '@');
    if mentions > MAX_MENTIONS {
        return Err(Error::input(format!(
            "the Instagram caption has {mentions} @-mentions; Instagram allows {MAX_MENTIONS}"
        ))
        .with_hint("mention fewer accounts"));
    }
    Ok(caption)
}

/// Meta requires the index (`moov`) before the media data and no edit lists (reference §4);
/// a file that breaks either may still be accepted, so keryx warns rather than refuses, and
/// names the remux (no re-encoding) that fixes both: `-use_editlist 0` only when there is an
/// edit list, since it shifts timestamps that need not move otherwise.
pub fn layout_warning(video: &VideoFile) -> Option<String> {
    let name = video.path.display();
    let moov_last = video.moov_before_mdat == Some(false);
    let edited = video.edit_list == Some(true);
    let (what, flags) = match (moov_last, edited) {
        (false, false) => return None,
        (true, false) => (
            "its index (moov) after the media data",
            "-movflags +faststart",
        ),
        (false, true) => (
            "an edit list (its start shifted or trimmed, as encoders do to hide B-frame delay or AAC priming)",
            "-movflags +faststart -use_editlist 0",
        ),
        (true, true) => (
            "its index (moov) after the media data and an edit list",
            "-movflags +faststart -use_editlist 0",
        ),
    };
    Some(format!(
        "{name} has {what}; Meta requires files without and may refuse it. Fix it without re-encoding: ffmpeg -i {name} -c copy {flags} OUT.mp4"
    ))
}

pub async fn prepare(
    ctx: &Context,
    video: &VideoFile,
    metadata: &Metadata,
) -> Result<Box<dyn PreparedPost>> {
    let config = InstagramConfig::load(ctx)?;
    let name = video.path.display();
    if metadata.privacy.is_some() {
        return Err(
            Error::input("Instagram has no --privacy: a Reel is as public as the account")
                .with_hint("leave --privacy out for instagram"),
        );
    }
    if !matches!(video.container, Format::Mp4 | Format::QuickTime) {
        return Err(Error::input(format!(
            "{name} is {}; Instagram takes MP4 or MOV",
            video.container.name()
        ))
        .with_hint(FIX_VIDEO));
    }
    if video.size > config.max_video_bytes {
        return Err(Error::input(format!(
            "{name} is {} bytes; Instagram takes at most {} (platforms.instagram.max_video_bytes)",
            video.size, config.max_video_bytes
        ))
        .with_hint("re-encode it at a lower bitrate (Meta advises at most 25 Mbps)"));
    }
    let duration = video.duration_for_limit("Instagram", "15 minutes")?;
    if !(MIN_DURATION..=MAX_DURATION).contains(&duration) {
        return Err(Error::input(format!(
            "{name} lasts {:.1} s; an Instagram Reel lasts 3 s to 15 min",
            duration.as_secs_f64()
        ))
        .with_hint("trim or extend the video"));
    }
    if let (Some(w), Some(h)) = (video.width, video.height) {
        if w > MAX_WIDTH {
            return Err(Error::input(format!(
                "{name} is {w} px wide; Instagram takes at most {MAX_WIDTH}"
            ))
            .with_hint(
                "scale it: ffmpeg -i IN -vf scale=1080:-2 -c:a copy -movflags +faststart OUT.mp4",
            ));
        }
        let aspect = w as f64 / h.max(1) as f64;
        if !(0.01..=10.0).contains(&aspect) {
            return Err(Error::input(format!(
                "{name} is {w}×{h}; Instagram takes aspect ratios from 0.01:1 to 10:1"
            ))
            .with_hint("crop it (9:16 is recommended)"));
        }
    }
    if let Some(warning) = layout_warning(video) {
        ctx.ui.warn(&warning);
    }
    let caption = caption(metadata)?;
    let thumb_offset_ms = match metadata.duration(COVER_AT) {
        Some(at) if at > duration => {
            return Err(Error::input(format!(
                "--instagram-cover-at {:.1}s is past the end of the video ({:.1} s)",
                at.as_secs_f64(),
                duration.as_secs_f64()
            ))
            .with_hint("give a time inside the video"));
        }
        Some(at) => Some(at.as_millis() as u64),
        None => None,
    };
    let share_to_feed = if metadata.flag(REELS_ONLY) == Some(true) {
        false
    } else {
        config.share_to_feed
    };
    let store = ctx.tokens(PLATFORM);
    let target = store.target();
    let stored = tokio::task::spawn_blocking(move || store.load())
        .await
        .map_err(|e| Error::platform(format!("the token check stopped: {e}")))??;
    let Some(stored) = stored else {
        return Err(Error::input(format!("{target} is not authorised"))
            .with_hint("run `keryx auth instagram`"));
    };
    let kind = match stored.extra.get("kind").and_then(|k| k.as_str()) {
        Some("supplied") => TokenKind::Supplied,
        _ => TokenKind::UserDerived,
    };
    if kind == TokenKind::UserDerived {
        // The post re-derives the Page token with the app secret.
        keryx_core::secrets::client_secret(&ctx.secrets, PLATFORM)?;
    }
    let text = |k: &str| {
        stored
            .extra
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let Some(ig_user_id) = text("ig_user_id") else {
        return Err(
            Error::input("the stored Instagram authorisation names no account")
                .with_hint("run `keryx auth instagram` again"),
        );
    };
    let post = InstagramPost {
        config,
        video: video.clone(),
        path: video.path.clone(),
        caption,
        share_to_feed,
        thumb_offset_ms,
        ig_user_id,
        username: stored.account.clone().unwrap_or_default(),
        kind,
        page_id: text("page_id"),
    };
    post.check_quota(ctx).await?;
    Ok(Box::new(post))
}

#[derive(Deserialize)]
struct Limit {
    data: Vec<LimitEntry>,
}
#[derive(Deserialize)]
struct LimitEntry {
    quota_usage: u64,
    config: Option<LimitConfig>,
}
#[derive(Deserialize)]
struct LimitConfig {
    quota_total: u64,
}

impl InstagramPost {
    fn api(&self) -> GraphApi {
        GraphApi {
            config: self.config.clone(),
            kind: self.kind,
            page_id: self.page_id.clone(),
        }
    }

    /// The account's remaining publishing quota (reference §2.7; never a hard-coded cap).
    async fn check_quota(&self, ctx: &Context) -> Result<()> {
        let api = self.api();
        let session = Session::start(ctx, &api, Start::Stored).await?;
        let url = self
            .config
            .graph(&format!("/{}/content_publishing_limit", self.ig_user_id));
        let reply = session
            .send("the publishing limit", |http, token| {
                http.get(&url)
                    .query(&[("fields", "quota_usage,config")])
                    .bearer_auth(token.expose())
            })
            .await?;
        let limit: Limit = decode(&reply.body, "publishing limit")?;
        if let Some(entry) = limit.data.first()
            && let Some(total) = entry.config.as_ref().map(|c| c.quota_total)
            && entry.quota_usage >= total
        {
            return Err(Error::platform(format!(
                "@{} has used its {total} API posts of the last 24 hours (content_publishing_limit)",
                self.username
            ))
            .with_hint("post again once a post of the last 24 hours is a day old"));
        }
        Ok(())
    }

    async fn create_container(&self, session: &Session<'_, GraphApi>) -> Result<Upload> {
        let url = self.config.graph(&format!("/{}/media", self.ig_user_id));
        let mut form: Vec<(&str, String)> = vec![
            ("media_type", "REELS".into()),
            ("upload_type", "resumable".into()),
            ("caption", self.caption.clone()),
            ("share_to_feed", self.share_to_feed.to_string()),
        ];
        if let Some(ms) = self.thumb_offset_ms {
            form.push(("thumb_offset", ms.to_string()));
        }
        let reply = session
            .send("creating the Reels container", |http, token| {
                http.post(&url).bearer_auth(token.expose()).form(&form)
            })
            .await?;
        #[derive(Deserialize)]
        struct Created {
            id: String,
            uri: Option<String>,
        }
        let created: Created = decode(&reply.body, "container")?;
        // Use `uri` verbatim; build it with the version when Meta leaves it out (reference §2.1).
        let uri = created
            .uri
            .unwrap_or_else(|| self.config.rupload(&created.id));
        Ok(Upload {
            container: created.id,
            uri,
        })
    }

    async fn container_status(
        &self,
        session: &Session<'_, GraphApi>,
        container: &str,
    ) -> Result<serde_json::Value> {
        let url = self.config.graph(&format!("/{container}"));
        let reply = session
            .send("the container status", |http, token| {
                http.get(&url)
                    .query(&[("fields", "id,status_code,status,video_status")])
                    .bearer_auth(token.expose())
            })
            .await?;
        decode(&reply.body, "container status")
    }
}

fn processing_error(status: &serde_json::Value) -> Error {
    let text = status["status"].as_str().unwrap_or_default();
    let sub = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|d| d.len() == 7 && d.starts_with("22"))
        .and_then(|d| d.parse().ok());
    let error = GraphError {
        message: text.to_string(),
        code: 352,
        error_subcode: sub,
        ..GraphError::default()
    };
    let mapped = error.to_error("the video");
    Error::platform(format!("Instagram could not process the video: {text}"))
        .with_hint(mapped.hint().unwrap_or(FIX_VIDEO).to_string())
}

#[async_trait]
impl PreparedPost for InstagramPost {
    fn describe(&self) -> Vec<(String, String)> {
        vec![
            (
                "account".into(),
                format!("@{} ({})", self.username, self.ig_user_id),
            ),
            ("caption".into(), self.caption.clone()),
            ("share to feed".into(), self.share_to_feed.to_string()),
            ("bytes".into(), self.video.size.to_string()),
            (
                "to".into(),
                self.config.graph(&format!("/{}/media", self.ig_user_id)),
            ),
        ]
    }

    async fn publish(
        self: Box<Self>,
        ctx: &Context,
        progress: &dyn Progress,
    ) -> Result<PostReport> {
        progress.phase("starting", None);
        let api = self.api();
        let session = Session::start(ctx, &api, Start::Mint).await?;
        let checkpoint: Checkpoint<Saved> =
            Checkpoint::acquire(ctx, CHECKPOINTS, "Instagram", &self.video)?;
        let saved = checkpoint
            .load(ctx.ui.as_ref())
            .filter(|s| s.ig_user_id == self.ig_user_id);
        let (upload, begin) = match saved {
            Some(saved) => {
                let status = self
                    .container_status(&session, &saved.upload.container)
                    .await?;
                match status["status_code"].as_str() {
                    Some("PUBLISHED") => {
                        tracing::info!("container {} is already published", saved.upload.container);
                        return self.finish(&session, &checkpoint, None).await;
                    }
                    Some("FINISHED") => {
                        return self
                            .publish_and_report(&session, &checkpoint, &saved.upload)
                            .await;
                    }
                    Some("IN_PROGRESS") => {
                        let complete = status["video_status"]["uploading_phase"]["status"]
                            == "complete"
                            || bytes_held(&status) == Some(self.video.size);
                        if complete {
                            return self
                                .poll_then_publish(&session, &checkpoint, &saved.upload, progress)
                                .await;
                        }
                        (saved.upload, Begin::Resume)
                    }
                    // ERROR or EXPIRED: that container is done; a new one.
                    _ => (
                        self.new_container(&session, &checkpoint).await?,
                        Begin::Fresh,
                    ),
                }
            }
            None => (
                self.new_container(&session, &checkpoint).await?,
                Begin::Fresh,
            ),
        };
        progress.phase("uploading", Some(self.video.size));
        let renew = || {
            async {
                let fresh = self.new_container(&session, &checkpoint).await?;
                ctx.ui.warn("Meta's upload server failed the container (ProcessingFailedError); keryx started a new one");
                Ok(fresh)
            }
            .boxed()
        };
        let protocol = Rupload {
            session: &session,
            target: std::sync::Mutex::new(upload),
            chunk_size: self.config.chunk_size,
            renew: &renew,
            restarted: std::sync::Mutex::new(false),
        };
        keryx_core::upload::upload(&protocol, &self.path, self.video.size, begin, progress).await?;
        let upload = protocol
            .target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.poll_then_publish(&session, &checkpoint, &upload, progress)
            .await
    }
}

impl InstagramPost {
    /// A new container, saved before a byte is sent to it.
    async fn new_container(
        &self,
        session: &Session<'_, GraphApi>,
        checkpoint: &Checkpoint<Saved>,
    ) -> Result<Upload> {
        let upload = self.create_container(session).await?;
        checkpoint.save(&Saved {
            ig_user_id: self.ig_user_id.clone(),
            upload: upload.clone(),
        })?;
        Ok(upload)
    }

    fn pacer(&self) -> Pacer {
        Pacer::new(
            Duration::from_millis(self.config.poll_interval_ms),
            Duration::from_secs(self.config.processing_timeout_secs),
        )
    }

    /// Polls `status_code` until FINISHED (reference §2.3), then publishes.
    async fn poll_then_publish(
        &self,
        session: &Session<'_, GraphApi>,
        checkpoint: &Checkpoint<Saved>,
        upload: &Upload,
        progress: &dyn Progress,
    ) -> Result<PostReport> {
        let mut pacer = self.pacer();
        progress.phase("processing", None);
        loop {
            let status = self.container_status(session, &upload.container).await?;
            match status["status_code"].as_str().unwrap_or_default() {
                "FINISHED" => return self.publish_and_report(session, checkpoint, upload).await,
                "PUBLISHED" => return self.finish(session, checkpoint, None).await,
                "ERROR" => {
                    checkpoint.clear();
                    return Err(processing_error(&status));
                }
                "EXPIRED" => {
                    checkpoint.clear();
                    return Err(Error::platform(
                        "the Instagram container expired before it was published",
                    )
                    .with_hint("post again: keryx starts a new container"));
                }
                _ => {
                    let phase = status["video_status"]["processing_phase"]["status"]
                        .as_str()
                        .unwrap_or("in_progress");
                    progress.status(phase);
                }
            }
            if !pacer.wait().await {
                return Err(Error::platform(format!(
                    "Instagram was still processing the video after {} s",
                    pacer.waited().as_secs()
                ))
                .with_hint(
                    "run the same command again later: keryx goes on with the same container",
                ));
            }
        }
    }

    /// `media_publish`, never twice: after a failure in transit the container says whether it
    /// went live (reference §2.5), through core's [`send_then_verify`].
    async fn publish_and_report(
        &self,
        session: &Session<'_, GraphApi>,
        checkpoint: &Checkpoint<Saved>,
        upload: &Upload,
    ) -> Result<PostReport> {
        let url = self
            .config
            .graph(&format!("/{}/media_publish", self.ig_user_id));
        let what = "publishing the Reel";
        let publish = || async {
            let reply = session
                .send_once(
                    what,
                    |http, token| {
                        http.post(&url)
                            .query(&[("creation_id", upload.container.as_str())])
                            .bearer_auth(token.expose())
                    },
                    // Every reply is read below, but a refused token is replaced first.
                    |reply| match classify(what, reply) {
                        refused @ Verdict::TokenInvalid(_) => refused,
                        _ => Verdict::Ok,
                    },
                )
                .await
                .map_err(Failure::of)?;
            if reply.status.is_success() {
                #[derive(Deserialize)]
                struct Published {
                    id: String,
                }
                let published: Published =
                    decode(&reply.body, "publish").map_err(Failure::Final)?;
                return Ok(Some(published.id));
            }
            let error = GraphError::parse(&reply.body).unwrap_or_default();
            let mapped = error.to_error(what);
            let not_ready = error.code == 9007 || error.error_subcode == Some(2207027);
            let passing = error.is_transient
                || reply.status.is_server_error()
                || matches!(error.code, 1 | 2)
                || error.error_subcode == Some(2207008);
            if not_ready || passing {
                return Err(Failure::Unsure(mapped));
            }
            // A rate limit leaves the container worth publishing later; anything else not.
            if !matches!(error.code, 9 | 4 | 17 | 32 | 613 | 80002) {
                checkpoint.clear();
            }
            Err(Failure::Final(mapped))
        };
        // It may be live even so: look before publishing again.
        let live = || async {
            let status = self.container_status(session, &upload.container).await?;
            match status["status_code"].as_str() {
                // Live, but the container never names its media: `finish` looks it up.
                Some("PUBLISHED") => Ok(Some(None)),
                Some("ERROR") => {
                    checkpoint.clear();
                    Err(processing_error(&status))
                }
                _ => Ok(None),
            }
        };
        let gave_up = "the container was not published; run the same command again to retry";
        let media =
            send_then_verify(PUBLISH_ATTEMPTS, &mut self.pacer(), gave_up, publish, live).await?;
        self.finish(session, checkpoint, media).await
    }

    /// The post is live: the media id (looked up when the publish reply did not say), its
    /// permalink and shortcode (a failed read does not fail the post, reference §2.6).
    async fn finish(
        &self,
        session: &Session<'_, GraphApi>,
        checkpoint: &Checkpoint<Saved>,
        media: Option<String>,
    ) -> Result<PostReport> {
        let mut notes = Vec::new();
        let media = match media {
            Some(id) => Some(id),
            None => self.find_media(session).await,
        };
        checkpoint.clear();
        let mut report = PostReport {
            platform: PLATFORM.into(),
            status: "PUBLISHED".into(),
            id: media.clone(),
            account: Some(self.username.clone()),
            privacy: Some("public".into()),
            ..PostReport::default()
        };
        let Some(media) = media else {
            notes.push(
                "published, but Meta did not say which post it is; see the account's latest Reel"
                    .into(),
            );
            report.notes = notes;
            return Ok(report);
        };
        let url = self.config.graph(&format!("/{media}"));
        let read = session
            .send("reading the post back", |http, token| {
                http.get(&url)
                    .query(&[("fields", "id,permalink,shortcode")])
                    .bearer_auth(token.expose())
            })
            .await
            .and_then(|reply| decode::<serde_json::Value>(&reply.body, "media"));
        match read {
            Ok(value) => {
                report.url = value["permalink"].as_str().map(str::to_owned);
                report.post_id = value["shortcode"].as_str().map(str::to_owned);
            }
            Err(e) => notes.push(format!(
                "published, but the permalink could not be read: {e}"
            )),
        }
        if self.kind == TokenKind::UserDerived {
            notes.push("while the Meta app is in Development mode, who can see the Reel is unverified: check from a logged-out browser".into());
        }
        report.notes = notes;
        Ok(report)
    }

    /// The container never names its media (reference §2.5): the newest post with our caption.
    async fn find_media(&self, session: &Session<'_, GraphApi>) -> Option<String> {
        let url = self.config.graph(&format!("/{}/media", self.ig_user_id));
        let reply = session
            .send("listing recent posts", |http, token| {
                http.get(&url)
                    .query(&[("fields", "id,caption,timestamp,permalink"), ("limit", "5")])
                    .bearer_auth(token.expose())
            })
            .await
            .ok()?;
        let value: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
        value["data"]
            .as_array()?
            .iter()
            .find(|m| m["caption"].as_str().unwrap_or_default() == self.caption)
            .and_then(|m| m["id"].as_str().map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn captions_compose_and_count() {
        let m = Metadata {
            title: Some("Hi @a".into()),
            description: Some("Text".into()),
            tags: vec!["x".into(), "#y".into()],
            ..Default::default()
        };
        assert_eq!(caption(&m).unwrap(), "Hi @a\n\nText\n\n#x #y");
        let many = Metadata {
            tags: (0..31).map(|i| format!("t{i}")).collect(),
            ..Default::default()
        };
        assert!(
            caption(&many)
                .unwrap_err()
                .to_string()
                .contains("31 hashtags")
        );
        let mentions = Metadata {
            title: Some((0..21).map(|i| format!("@u{i} ")).collect()),
            ..Default::default()
        };
        assert_eq!(caption(&mentions).unwrap_err().exit_code(), 2);
        let long = Metadata {
            title: Some("x".repeat(2201)),
            ..Default::default()
        };
        assert!(caption(&long).is_err());
        // An @ or # with nothing after it is no tag.
        assert_eq!(count_marked("a @ b # c", '@'), 0);
    }

    #[test]
    fn moov_at_the_end_and_edit_lists_get_their_remux() {
        let mut video = VideoFile::open(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../core/tests/fixtures/landscape_faststart.mp4"
        )))
        .unwrap();
        video.path = "in.mp4".into();
        let warn = |moov_first, edited| {
            let mut v = video.clone();
            v.moov_before_mdat = moov_first;
            v.edit_list = edited;
            layout_warning(&v)
        };
        assert_eq!(warn(Some(true), Some(false)), None);
        // WebM (not sent to Instagram) or no media data: nothing known, nothing said.
        assert_eq!(warn(None, None), None);
        let moov = warn(Some(false), Some(false)).unwrap();
        assert!(moov.contains("index (moov)"), "{moov}");
        assert!(
            moov.ends_with("ffmpeg -i in.mp4 -c copy -movflags +faststart OUT.mp4"),
            "{moov}"
        );
        for moov_first in [Some(true), Some(false)] {
            let edits = warn(moov_first, Some(true)).unwrap();
            assert!(edits.contains("edit list"), "{edits}");
            assert!(
                edits.ends_with(
                    "ffmpeg -i in.mp4 -c copy -movflags +faststart -use_editlist 0 OUT.mp4"
                ),
                "{edits}"
            );
        }
    }
}
