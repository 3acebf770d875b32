//! `keryx post tiktok`: creator info and the posting UX, init, chunked PUTs, status polling
//! (reference §5–7, §9.4, §10).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

use keryx_core::http::{is_transient_status, retry_after};
use keryx_core::poll::Pacer;
use keryx_core::session::Start;
use keryx_core::upload::{Begin, RangeProtocol, RangeReply};
use keryx_core::{
    Context, Error, Metadata, PostReport, PreparedPost, Progress, Prompter, Result, VideoFile,
};

use crate::api::{CreatorInfo, InitData, InitRequest, PostInfo, Privacy, SourceInfo, StatusData};
use crate::chunks::ChunkPlan;
use crate::client::{self, App, PLATFORM, Session};
use crate::config::Mode;
use crate::error::publish_failed;
use crate::options;

/// The caption limit, in UTF-16 code units (§5.2).
const MAX_CAPTION_UTF16: usize = 2200;
/// status/fetch allows 30 calls a minute per token (§7).
const POLL_INTERVAL: Duration = Duration::from_millis(2100);
/// How long to wait for TikTok's processing before reporting the post as still processing.
const PROCESSING_PATIENCE: Duration = Duration::from_secs(15 * 60);

const MUSIC_CONSENT: &str = "By posting, you agree to TikTok's Music Usage Confirmation";
const BRANDED_CONSENT: &str =
    "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation.";
const MUSIC_URL: &str = "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en";
const BRANDED_URL: &str = "https://www.tiktok.com/legal/page/global/bc-policy/en";

/// A post ready to go: everything chosen and checked, nothing sent yet but creator_info.
struct PreparedTikTok {
    app: App,
    video: VideoFile,
    plan: ChunkPlan,
    post_info: Option<PostInfo>,
    nickname: Option<String>,
    username: Option<String>,
}

pub async fn prepare(
    ctx: &Context,
    video: &VideoFile,
    metadata: &Metadata,
) -> Result<Box<dyn PreparedPost>> {
    let app = App::load(ctx)?;
    if !app.config.enabled {
        return Err(Error::input("TikTok is not enabled in the config")
            .with_hint("run `keryx auth tiktok` (it sets platforms.tiktok.enabled: true)"));
    }
    let cover = cover_timestamp_ms(video, metadata)?;
    let plan = ChunkPlan::for_size(video.size)?;
    let caption = caption(metadata)?;

    // Every post mints a fresh access token from the stored refresh token.
    let session = Session::start(ctx, &app, Start::Mint).await?;

    if app.config.mode == Mode::Inbox {
        if metadata.privacy.is_some()
            || metadata.flag(options::BRANDED_CONTENT).is_some()
            || metadata.flag(options::YOUR_BRAND).is_some()
            || cover.is_some()
        {
            ctx.ui.warn("inbox mode sends a draft: caption, privacy, disclosure and cover are chosen in the TikTok app");
        }
        drop(session);
        ctx.ui
            .info("TikTok: the video goes to your TikTok inbox as a draft.");
        return Ok(Box::new(PreparedTikTok {
            app,
            video: video.clone(),
            plan,
            post_info: None,
            nickname: None,
            username: None,
        }));
    }

    // Fresh creator info every time (§9.4.1): who posts, what they may choose, how long.
    let creator: CreatorInfo = client::call(
        &session,
        Method::POST,
        "/v2/post/publish/creator_info/query/",
        Some(&serde_json::json!({})),
    )
    .await?;
    drop(session);
    let username = (!creator.creator_username.is_empty()).then(|| creator.creator_username.clone());
    ctx.ui.info(&format!(
        "TikTok: posting as {}{}",
        creator.creator_nickname,
        username
            .as_deref()
            .map(|u| format!(" (@{u})"))
            .unwrap_or_default()
    ));
    check_duration(video, &creator)?;
    let post_info = choose(
        ctx,
        ctx.ui.prompter(),
        &app,
        &creator,
        metadata,
        caption,
        video,
    )?;
    Ok(Box::new(PreparedTikTok {
        app,
        video: video.clone(),
        plan,
        post_info: Some(post_info),
        nickname: Some(creator.creator_nickname),
        username,
    }))
}

/// TikTok has one caption: title, description and #tags in that order, within 2200 UTF-16 units.
fn caption(metadata: &Metadata) -> Result<Option<String>> {
    let caption = metadata.caption();
    if caption.is_empty() {
        return Ok(None);
    }
    let units = caption.encode_utf16().count();
    if units > MAX_CAPTION_UTF16 {
        return Err(Error::input(format!(
            "the TikTok caption (title, description and tags) is {units} UTF-16 units; TikTok allows {MAX_CAPTION_UTF16}"
        ))
        .with_hint("shorten the title or description"));
    }
    Ok(Some(caption))
}

/// `--tiktok-cover-at` as `video_cover_timestamp_ms` (reference §5.2): an int32 of
/// milliseconds, within the video when its length is known (TikTok silently falls back to the
/// first frame otherwise, which is not what was asked).
fn cover_timestamp_ms(video: &VideoFile, metadata: &Metadata) -> Result<Option<i32>> {
    let Some(at) = metadata.duration(options::COVER_AT) else {
        return Ok(None);
    };
    if let Some(length) = video.duration
        && at > length
    {
        return Err(Error::input(format!(
            "the cover frame at {:.3} s is past the end of {} ({:.3} s)",
            at.as_secs_f64(),
            video.path.display(),
            length.as_secs_f64()
        ))
        .with_hint("pick a time within the video with --tiktok-cover-at (e.g. 2.5s)"));
    }
    let ms = i32::try_from(at.as_millis()).map_err(|_| {
        Error::input(format!(
            "the cover frame at {} s is too far in",
            at.as_secs()
        ))
        .with_hint("TikTok takes a cover time of at most 24 days (an int32 of milliseconds)")
    })?;
    Ok(Some(ms))
}

fn check_duration(video: &VideoFile, creator: &CreatorInfo) -> Result<()> {
    let Some(max) = creator.max_video_post_duration_sec else {
        return Ok(());
    };
    let duration = video.duration_for_limit("TikTok", &format!("{max} s for this account"))?;
    if duration.as_secs_f64() > max as f64 {
        return Err(Error::input(format!(
            "{} is {:.0} s long; TikTok lets {} post at most {max} s",
            video.path.display(),
            duration.as_secs_f64(),
            if creator.creator_nickname.is_empty() {
                "this account"
            } else {
                &creator.creator_nickname
            },
        ))
        .with_hint("trim the video"));
    }
    Ok(())
}

/// The posting choices (§9.4): asked on a terminal, else taken from flags and config.
fn choose(
    ctx: &Context,
    prompter: Option<&dyn Prompter>,
    app: &App,
    creator: &CreatorInfo,
    metadata: &Metadata,
    caption: Option<String>,
    video: &VideoFile,
) -> Result<PostInfo> {
    let cap = app.config.privacy;
    let offered: Vec<Privacy> = creator
        .privacy_level_options
        .iter()
        .filter_map(|o| Privacy::parse(o))
        .collect();
    let allowed: Vec<Privacy> = offered.iter().copied().filter(|p| *p <= cap).collect();
    if allowed.is_empty() {
        return Err(Error::input(format!(
            "TikTok offers this account {} but the config caps privacy at {}",
            creator.privacy_level_options.join(", "),
            cap.as_str()
        ))
        .with_hint("set platforms.tiktok.privacy to one of the offered levels"));
    }

    let caption = match prompter {
        Some(p) => {
            let edited = p.input("Caption", caption.as_deref().unwrap_or(""))?;
            let edited = (!edited.trim().is_empty()).then_some(edited);
            caption_units_ok(&edited)?;
            edited
        }
        None => caption,
    };

    // Commercial content disclosure: off unless the user says so.
    let (mut your_brand, mut branded) = (
        metadata.flag(options::YOUR_BRAND).unwrap_or(false),
        metadata.flag(options::BRANDED_CONTENT).unwrap_or(false),
    );
    if let Some(p) = prompter.filter(|_| {
        metadata.flag(options::YOUR_BRAND).is_none()
            && metadata.flag(options::BRANDED_CONTENT).is_none()
    }) && p.confirm(
        "Does this video promote a brand, product or service? (commercial content disclosure)",
        false,
    )? {
        let options = [
            "Your brand (promoting yourself)".to_string(),
            "Branded content (a third party)".to_string(),
            "Both".to_string(),
        ];
        let pick = p.select(
            "You need to indicate if your content promotes yourself, a third party, or both.",
            &options,
        )?;
        your_brand = pick != 1;
        branded = pick != 0;
    }
    if branded {
        ctx.ui
            .info("Your video will be labeled as 'Paid partnership'.");
    } else if your_brand {
        ctx.ui
            .info("Your video will be labeled as 'Promotional content'.");
    }

    let privacy = match &metadata.privacy {
        Some(text) => {
            let wanted = Privacy::parse(text).ok_or_else(|| {
                Error::input(format!("`{text}` is not a TikTok privacy level")).with_hint(format!(
                    "use one of: {}",
                    Privacy::ALL
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            if wanted > cap {
                return Err(Error::input(format!(
                    "privacy {} is more open than the config allows ({})",
                    wanted.as_str(),
                    cap.as_str()
                ))
                .with_hint("unaudited apps can only post SELF_ONLY; raise platforms.tiktok.privacy after the audit"));
            }
            if !offered.contains(&wanted) {
                return Err(Error::input(format!(
                    "TikTok does not offer {} for this account; it offers {}",
                    wanted.as_str(),
                    creator.privacy_level_options.join(", ")
                ))
                .with_hint("choose one of the offered levels"));
            }
            wanted
        }
        None => match prompter {
            // No preset: the creator picks from exactly what TikTok offers, within the cap.
            Some(p) => {
                let choices: Vec<Privacy> = allowed
                    .iter()
                    .copied()
                    .filter(|v| !(branded && *v == Privacy::SelfOnly))
                    .collect();
                if choices.is_empty() {
                    return Err(branded_private_error(cap));
                }
                if branded && allowed.contains(&Privacy::SelfOnly) {
                    ctx.ui
                        .info("Branded content visibility cannot be set to private.");
                }
                let labels: Vec<String> = choices.iter().map(|c| c.label().to_string()).collect();
                choices[p.select("Who can see this video?", &labels)?]
            }
            None if allowed.contains(&cap) => cap,
            None => {
                return Err(Error::input(format!(
                    "TikTok does not offer the configured privacy {} for this account",
                    cap.as_str()
                ))
                .with_hint(format!(
                    "pass --privacy with one of: {}",
                    creator.privacy_level_options.join(", ")
                )));
            }
        },
    };
    if branded && privacy == Privacy::SelfOnly {
        return Err(branded_private_error(cap));
    }

    // Interactions: off by default, and off for good where the creator's settings say so.
    let allow = |label: &str, wanted: Option<bool>, disabled: bool| -> Result<bool> {
        if disabled {
            if wanted == Some(true) {
                ctx.ui.warn(&format!(
                    "{label} is turned off in this account's TikTok settings"
                ));
            }
            return Ok(false);
        }
        match (wanted, prompter) {
            (Some(value), _) => Ok(value),
            (None, Some(p)) => p.confirm(&format!("Allow {label}?"), false),
            (None, None) => Ok(false),
        }
    };
    let comments = allow(
        "comments",
        metadata.flag(options::ALLOW_COMMENTS),
        creator.comment_disabled,
    )?;
    let duet = allow(
        "duets",
        metadata.flag(options::ALLOW_DUET),
        creator.duet_disabled,
    )?;
    let stitch = allow(
        "stitches",
        metadata.flag(options::ALLOW_STITCH),
        creator.stitch_disabled,
    )?;

    let post_info = PostInfo {
        title: caption,
        privacy_level: privacy,
        disable_duet: !duet,
        disable_comment: !comments,
        disable_stitch: !stitch,
        brand_content_toggle: branded,
        brand_organic_toggle: your_brand,
        is_aigc: metadata.ai_generated.unwrap_or(false),
        video_cover_timestamp_ms: cover_timestamp_ms(video, metadata)?,
    };

    let consent = if branded {
        format!("{BRANDED_CONSENT} ({BRANDED_URL}, {MUSIC_URL})")
    } else {
        format!("{MUSIC_CONSENT} ({MUSIC_URL})")
    };
    ctx.ui.show(&consent);
    if let Some(p) = prompter {
        ctx.ui.show(&format!(
            "About to post {} to TikTok as {}: {}, comments {}, duets {}, stitches {}{}.",
            video.path.display(),
            creator.creator_nickname,
            privacy.label(),
            on_off(comments),
            on_off(duet),
            on_off(stitch),
            if post_info.is_aigc {
                ", labeled AI-generated"
            } else {
                ""
            },
        ));
        if !p.confirm("Post this video to TikTok now?", false)? {
            return Err(Error::input("cancelled: nothing was sent to TikTok"));
        }
    }
    Ok(post_info)
}

fn caption_units_ok(caption: &Option<String>) -> Result<()> {
    let units = caption
        .as_deref()
        .map(|c| c.encode_utf16().count())
        .unwrap_or(0);
    if units > MAX_CAPTION_UTF16 {
        return Err(Error::input(format!(
            "the caption is {units} UTF-16 units; TikTok allows {MAX_CAPTION_UTF16}"
        )));
    }
    Ok(())
}

fn branded_private_error(cap: Privacy) -> Error {
    Error::input("Branded content visibility cannot be set to private (SELF_ONLY).").with_hint(if cap == Privacy::SelfOnly {
        "the config caps privacy at SELF_ONLY, so branded content cannot be posted until the audit passes".to_string()
    } else {
        "choose a more open --privacy, or leave out --tiktok-branded-content".to_string()
    })
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

#[async_trait]
impl PreparedPost for PreparedTikTok {
    fn describe(&self) -> Vec<(String, String)> {
        let mut lines = vec![
            ("file".to_string(), self.video.path.display().to_string()),
            (
                "mode".to_string(),
                format!("{:?}", self.app.config.mode).to_lowercase(),
            ),
            (
                "upload".to_string(),
                format!(
                    "{} bytes in {} chunk(s) of {} bytes",
                    self.plan.video_size, self.plan.count, self.plan.chunk_size
                ),
            ),
        ];
        if let Some(info) = &self.post_info {
            lines.push(("privacy".into(), info.privacy_level.as_str().into()));
            lines.push(("caption".into(), info.title.clone().unwrap_or_default()));
            lines.push(("ai_generated".into(), info.is_aigc.to_string()));
        }
        if let Some(nickname) = &self.nickname {
            lines.push(("account".into(), nickname.clone()));
        }
        lines
    }

    async fn publish(
        self: Box<Self>,
        ctx: &Context,
        progress: &dyn Progress,
    ) -> Result<PostReport> {
        let session = Session::start(ctx, &self.app, Start::Stored).await?;
        progress.phase("starting", None);
        let inbox = self.post_info.is_none();
        let request = InitRequest {
            post_info: self.post_info.clone(),
            source_info: SourceInfo {
                source: "FILE_UPLOAD",
                video_size: self.plan.video_size,
                chunk_size: self.plan.chunk_size,
                total_chunk_count: self.plan.count,
            },
        };
        let path = if inbox {
            "/v2/post/publish/inbox/video/init/"
        } else {
            "/v2/post/publish/video/init/"
        };
        let body = serde_json::to_value(&request)
            .map_err(|e| Error::platform("cannot encode the init request").with_source(e))?;
        let init: InitData = client::call(&session, Method::POST, path, Some(&body)).await?;
        let upload_url = init
            .upload_url
            .ok_or_else(|| Error::platform("TikTok's init reply has no upload_url"))?;
        upload(ctx, &upload_url, &self.video, &self.plan, progress).await?;

        progress.phase("processing", None);
        let status = poll(&session, &init.publish_id, inbox, progress).await?;
        let post_id = status.publicaly_available_post_id.first().cloned();
        let url = match (&post_id, &self.username) {
            (Some(id), Some(user)) => Some(format!("https://www.tiktok.com/@{user}/video/{id}")),
            _ => None,
        };
        let mut notes = Vec::new();
        match status.status.as_str() {
            "SEND_TO_USER_INBOX" => notes.push("open the notification in the TikTok app to finish the post".to_string()),
            "PUBLISH_COMPLETE" if post_id.is_none() => notes.push(
                "TikTok published it; it may take a few minutes to appear on the profile (private posts get no public id)".to_string(),
            ),
            "PUBLISH_COMPLETE" => {}
            other => notes.push(format!("TikTok is still processing ({other}); check the TikTok app in a few minutes")),
        }
        Ok(PostReport {
            platform: PLATFORM.to_string(),
            status: status.status,
            id: Some(init.publish_id),
            post_id,
            url,
            privacy: self
                .post_info
                .as_ref()
                .map(|p| p.privacy_level.as_str().to_string()),
            account: self.nickname.clone(),
            notes,
        })
    }
}

/// PUTs the chunks in order (§6) through core's upload engine. TikTok has no status request:
/// a fault re-sends the chunk that failed, and a 416 resumes from the progress it reports.
async fn upload(
    ctx: &Context,
    url: &str,
    video: &VideoFile,
    plan: &ChunkPlan,
    progress: &dyn Progress,
) -> Result<()> {
    progress.phase("uploading", Some(plan.video_size));
    let protocol = ChunkedPut {
        ctx,
        url,
        mime: video.container.mime(),
        plan,
    };
    keryx_core::upload::upload(
        &protocol,
        &video.path,
        plan.video_size,
        Begin::Fresh,
        progress,
    )
    .await
}

/// TikTok's chunked `PUT` to the `upload_url` of an init (§6).
struct ChunkedPut<'a> {
    ctx: &'a Context,
    url: &'a str,
    mime: &'static str,
    plan: &'a ChunkPlan,
}

impl ChunkedPut<'_> {
    /// "chunk 2 of 3", for messages.
    fn chunk_name(&self, offset: u64) -> String {
        let index = offset / self.plan.chunk_size.max(1);
        format!(
            "chunk {} of {}",
            (index + 1).min(self.plan.count),
            self.plan.count
        )
    }
}

#[async_trait]
impl RangeProtocol for ChunkedPut<'_> {
    type Done = ();

    fn server(&self) -> String {
        "TikTok's upload server".into()
    }

    /// The plan's chunk starting at `offset`; replies only ever resume at chunk boundaries.
    fn range_len(&self, offset: u64, total: u64) -> u64 {
        match self.plan.chunk_starting_at(offset) {
            Some(index) => self.plan.chunk(index).1,
            None => total - offset,
        }
    }

    fn send_range(&self, offset: u64, len: u64, total: u64) -> reqwest::RequestBuilder {
        self.ctx
            .http
            .put(self.url)
            .header(CONTENT_TYPE, self.mime)
            .header(
                CONTENT_RANGE,
                format!("bytes {}-{}/{}", offset, offset + len - 1, total),
            )
    }

    async fn read(&self, sent: Option<(u64, u64)>, response: reqwest::Response) -> RangeReply<()> {
        let (offset, len) = sent.unwrap_or((0, 0));
        let end = offset + len;
        let status = response.status();
        match status {
            StatusCode::CREATED if end < self.plan.video_size => RangeReply::Failed(
                Error::platform("TikTok said the upload was complete before the last chunk"),
            ),
            StatusCode::CREATED => RangeReply::Done(()),
            StatusCode::PARTIAL_CONTENT => RangeReply::Stored {
                stored: end,
                retry_after: None,
            },
            StatusCode::RANGE_NOT_SATISFIABLE => {
                let reported = response
                    .headers()
                    .get(CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(reported_end);
                match reported.and_then(|end| resume_point(self.plan, end)) {
                    Some(Resume::At(next)) => {
                        tracing::info!(
                            "TikTok reports progress up to chunk {next}; resuming there"
                        );
                        RangeReply::Stored {
                            stored: self.plan.chunk(next).0,
                            retry_after: None,
                        }
                    }
                    Some(Resume::Complete) => RangeReply::Done(()),
                    None => RangeReply::Failed(
                        Error::platform(format!(
                            "TikTok refused {} as out of order and reported no usable progress",
                            self.chunk_name(offset)
                        ))
                        .with_hint("post again"),
                    ),
                }
            }
            s if is_transient_status(s) || s == StatusCode::TOO_MANY_REQUESTS => {
                RangeReply::Retry {
                    retry_after: retry_after(response.headers()),
                    why: format!("{} got {s}", self.chunk_name(offset)),
                }
            }
            StatusCode::FORBIDDEN => RangeReply::Failed(
                Error::platform("TikTok's upload URL expired (uploads must finish within an hour)")
                    .with_hint("post again; on a slow connection, export a smaller file"),
            ),
            StatusCode::NOT_FOUND => RangeReply::Failed(
                Error::platform("TikTok no longer knows this upload").with_hint("post again"),
            ),
            s => {
                let text = response.text().await.unwrap_or_default();
                RangeReply::Failed(
                    Error::platform(format!(
                        "TikTok's upload server refused {} with {s}: {}",
                        self.chunk_name(offset),
                        text.trim()
                    ))
                    .with_hint("if the file changed while uploading, post again; otherwise report this with the message"),
                )
            }
        }
    }
}

/// The `N` of a progress header `bytes 0-N/TOTAL`.
fn reported_end(header: &str) -> Option<u64> {
    let range = header
        .trim()
        .strip_prefix("bytes ")?
        .trim()
        .split('/')
        .next()?;
    range.split('-').nth(1)?.trim().parse().ok()
}

#[derive(Debug, PartialEq, Eq)]
enum Resume {
    At(u64),
    Complete,
}

/// TikTok does not say whether `N` is the last byte stored or the count of bytes (§6.2):
/// the inclusive reading comes first, and only a chunk boundary is a valid place to resume.
fn resume_point(plan: &ChunkPlan, end: u64) -> Option<Resume> {
    for received in [end + 1, end] {
        if received == plan.video_size {
            return Some(Resume::Complete);
        }
        if let Some(index) = plan.chunk_starting_at(received) {
            return Some(Resume::At(index));
        }
    }
    None
}

/// Polls status/fetch until a final state, no faster than TikTok's 30 a minute (§7).
async fn poll(
    session: &Session<'_>,
    publish_id: &str,
    inbox: bool,
    progress: &dyn Progress,
) -> Result<StatusData> {
    let mut pacer = Pacer::new(POLL_INTERVAL, PROCESSING_PATIENCE);
    let body = serde_json::json!({ "publish_id": publish_id });
    loop {
        let status: StatusData = client::call(
            session,
            Method::POST,
            "/v2/post/publish/status/fetch/",
            Some(&body),
        )
        .await?;
        progress.status(&status.status);
        match status.status.as_str() {
            "PUBLISH_COMPLETE" => return Ok(status),
            "SEND_TO_USER_INBOX" if inbox => return Ok(status),
            "FAILED" => return Err(publish_failed(&status.fail_reason)),
            // Anything else, including values TikTok never documented, is still processing.
            _ if !pacer.wait().await => return Ok(status),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_headers() {
        assert_eq!(reported_end("bytes 0-10485759/31457280"), Some(10485759));
        assert_eq!(reported_end("bytes=0-5"), None);
        assert_eq!(reported_end("garbage"), None);
    }

    #[test]
    fn resume_only_at_chunk_boundaries() {
        let plan = ChunkPlan::for_size(200_000_000).unwrap();
        assert_eq!(plan.chunk_size, 64_000_000);
        assert_eq!(resume_point(&plan, 63_999_999), Some(Resume::At(1)));
        assert_eq!(resume_point(&plan, 64_000_000), Some(Resume::At(1)));
        assert_eq!(resume_point(&plan, 199_999_999), Some(Resume::Complete));
        assert_eq!(resume_point(&plan, 5), None);
    }

    #[test]
    fn captions_join_and_count_utf16() {
        let metadata = Metadata {
            title: Some("Sunset".into()),
            description: Some("On the ridge".into()),
            tags: vec!["timelapse".into(), "#sun set".into()],
            ..Metadata::default()
        };
        assert_eq!(
            caption(&metadata).unwrap().unwrap(),
            "Sunset\n\nOn the ridge\n\n#timelapse #sunset"
        );
        // 1100 emoji are 2200 UTF-16 units: allowed; one more is not.
        let ok = Metadata {
            title: Some("😀".repeat(1100)),
            ..Metadata::default()
        };
        assert!(caption(&ok).is_ok());
        let long = Metadata {
            title: Some("😀".repeat(1101)),
            ..Metadata::default()
        };
        assert!(caption(&long).is_err());
    }
}
