//! `keryx post youtube`: check the metadata, prove the credentials, upload resumably, then set
//! the thumbnail (`thumbnail.rs`) and report what YouTube applied (reference §3, §4, §5.1, §6).

use std::time::Duration;

use async_trait::async_trait;

use keryx_core::{Context, Error, Metadata, PostReport, PreparedPost, Progress, Result, VideoFile};

use crate::api::{Privacy, Video};
use crate::client::{App, PLATFORM, Session};
use crate::resumable::{self, Upload};
use crate::rules::{self, Checked};
use crate::thumbnail;

/// YouTube makes a Short of a square or vertical video of at most 3 minutes (§6).
const SHORTS_MAX: Duration = Duration::from_secs(180);

/// Whether YouTube will make `file` a Short (§6), as far as its header tells.
fn is_short(file: &VideoFile) -> bool {
    file.duration.is_some_and(|d| d <= SHORTS_MAX) && file.is_vertical_or_square() == Some(true)
}

/// A post ready to go: metadata checked, credentials proven, nothing uploaded.
struct PreparedYouTube {
    app: App,
    video: VideoFile,
    checked: Checked,
    account: Option<String>,
}

pub async fn prepare(
    ctx: &Context,
    video: &VideoFile,
    metadata: &Metadata,
) -> Result<Box<dyn PreparedPost>> {
    let app = App::load(ctx)?;
    if !app.config.enabled {
        return Err(Error::input("YouTube is not enabled in the config")
            .with_hint("run `keryx auth youtube` (it sets platforms.youtube.enabled: true)"));
    }
    let checked = rules::check(ctx, &app.config, video, metadata)?;
    if checked.title_from_file {
        ctx.ui.info(&format!(
            "YouTube: no --title given; using the file name \"{}\"",
            checked.insert.snippet.title
        ));
    }

    // A fresh access token from the stored refresh token proves the authorisation still works
    // before any byte is sent.
    drop(Session::start(ctx, &app).await?);
    let account = ctx
        .tokens(PLATFORM)
        .load()
        .ok()
        .flatten()
        .and_then(|set| set.account);
    if let Some(account) = &account {
        ctx.ui.info(&format!("YouTube: posting to {account}"));
    }
    if let Some(saved) = resumable::peek(ctx, video) {
        ctx.ui.info(&format!(
            "YouTube: an interrupted upload of this file is saved; it will be resumed ({} bytes in all)",
            saved.size
        ));
    }
    Ok(Box::new(PreparedYouTube {
        app,
        video: video.clone(),
        checked,
        account,
    }))
}

#[async_trait]
impl PreparedPost for PreparedYouTube {
    fn describe(&self) -> Vec<(String, String)> {
        let snippet = &self.checked.insert.snippet;
        let status = &self.checked.insert.status;
        let chunk = self.app.config.chunk_size();
        let mut lines = vec![
            ("file".to_string(), self.video.path.display().to_string()),
            (
                "upload".to_string(),
                format!(
                    "{} bytes, resumable, in {} request(s) of up to {chunk} bytes",
                    self.video.size,
                    self.video.size.div_ceil(chunk)
                ),
            ),
            ("title".to_string(), snippet.title.clone()),
        ];
        if let Some(description) = &snippet.description {
            lines.push(("description".into(), format!("{} bytes", description.len())));
        }
        if !snippet.tags.is_empty() {
            lines.push(("tags".into(), snippet.tags.join(", ")));
        }
        if let Some(category) = &snippet.category_id {
            lines.push(("category".into(), category.clone()));
        }
        lines.push(("privacy".into(), status.privacy_status.as_str().into()));
        if let Some(at) = &status.publish_at {
            lines.push(("publish_at".into(), at.clone()));
        }
        lines.push((
            "made_for_kids".into(),
            status.self_declared_made_for_kids.to_string(),
        ));
        if let Some(synthetic) = status.contains_synthetic_media {
            lines.push(("ai_generated".into(), synthetic.to_string()));
        }
        if let Some(thumbnail) = &self.checked.thumbnail {
            lines.push((
                "thumbnail".into(),
                format!(
                    "{} ({}, {} bytes{})",
                    thumbnail.path.display(),
                    thumbnail.mime,
                    thumbnail.size,
                    if is_short(&self.video) {
                        "; set once YouTube has processed the Short"
                    } else {
                        ""
                    }
                ),
            ));
        }
        if let Some(account) = &self.account {
            lines.push(("account".into(), account.clone()));
        }
        lines
    }

    async fn publish(
        self: Box<Self>,
        ctx: &Context,
        progress: &dyn Progress,
    ) -> Result<PostReport> {
        let session = Session::start_with_stored(ctx, &self.app).await?;
        let upload = Upload {
            session: &session,
            video: &self.video,
            insert: &self.checked.insert,
            chunk_size: self.app.config.chunk_size(),
        };
        let mut video = upload.run(progress).await?;

        let mut notes = Vec::new();
        if let Some(thumbnail) = &self.checked.thumbnail {
            let short = is_short(&self.video);
            // The video exists; losing it over a thumbnail would be worse than no thumbnail.
            if let Some(note) =
                thumbnail::apply(&session, &mut video, thumbnail, short, progress).await
            {
                ctx.ui.warn(&note);
                notes.push(note);
            }
        }
        Ok(report(
            &self.video,
            &self.checked,
            video,
            self.account.clone(),
            notes,
        ))
    }
}

/// What the user learns: the watch URL, the privacy YouTube actually applied, Shorts.
fn report(
    file: &VideoFile,
    checked: &Checked,
    video: Video,
    account: Option<String>,
    mut notes: Vec<String>,
) -> PostReport {
    let asked = checked.insert.status.privacy_status;
    let status = video.status.unwrap_or_default();
    let applied = status.privacy_status.clone();
    let id = video.id;
    // YouTube gives no reason when it applies another privacy; the creator's account settings
    // can make uploads private (§5.1).
    if let Some(applied) = applied.as_deref()
        && Privacy::parse(applied) != Some(asked)
    {
        notes.push(format!(
            "you asked for {}, but YouTube applied {applied}: the channel's settings can make uploads private; \
             check them in YouTube Studio (Settings > Upload defaults) and change the video's visibility at \
             https://studio.youtube.com/video/{id}/edit",
            asked.as_str()
        ));
    }
    if is_short(file) {
        notes.push(format!(
            "YouTube will show it as a Short: https://www.youtube.com/shorts/{id}"
        ));
    }
    if let Some(at) = &checked.insert.status.publish_at {
        notes.push(format!("scheduled: YouTube makes it public at {at}"));
    }
    let upload_status = status
        .upload_status
        .unwrap_or_else(|| "uploaded".to_string());
    if upload_status == "uploaded" {
        notes.push(format!(
            "YouTube is processing the video; it can take a few minutes to play (https://studio.youtube.com/video/{id}/edit)"
        ));
    }
    if let Some(reason) = status.failure_reason.or(status.rejection_reason) {
        notes.push(format!(
            "YouTube reports a problem with the video: {reason} (see YouTube Studio)"
        ));
    }
    let channel = video
        .snippet
        .and_then(|s| s.channel_title)
        .filter(|t| !t.is_empty());
    PostReport {
        platform: PLATFORM.to_string(),
        status: upload_status,
        url: Some(format!("https://www.youtube.com/watch?v={id}")),
        id: Some(id),
        post_id: None,
        privacy: applied,
        account: account.or(channel),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{SnippetInsert, StatusInsert, VideoInsert, VideoStatus};

    fn file(duration: u64, width: u32, height: u32) -> VideoFile {
        VideoFile {
            path: "v.mp4".into(),
            size: 10,
            container: keryx_core::media::Container::Mp4,
            duration: Some(Duration::from_secs(duration)),
            duration_source: None,
            width: Some(width),
            height: Some(height),
            coded_width: Some(width),
            coded_height: Some(height),
            rotation: Some(0),
            frame_rate: None,
            video_codec: None,
            audio_codec: None,
            moov_before_mdat: Some(true),
            edit_list: Some(false),
            fragmented: false,
        }
    }

    fn checked(privacy: Privacy) -> Checked {
        Checked {
            insert: VideoInsert {
                snippet: SnippetInsert {
                    title: "t".into(),
                    description: None,
                    tags: vec![],
                    category_id: None,
                },
                status: StatusInsert {
                    privacy_status: privacy,
                    publish_at: None,
                    self_declared_made_for_kids: false,
                    contains_synthetic_media: None,
                },
            },
            thumbnail: None,
            title_from_file: false,
        }
    }

    fn video(privacy: &str) -> Video {
        Video {
            id: "abcdefghijk".into(),
            snippet: None,
            processing_details: None,
            status: Some(VideoStatus {
                privacy_status: Some(privacy.into()),
                upload_status: Some("uploaded".into()),
                ..VideoStatus::default()
            }),
        }
    }

    #[test]
    fn another_applied_privacy_is_reported_without_blaming_an_audit() {
        let r = report(
            &file(600, 1920, 1080),
            &checked(Privacy::Public),
            video("private"),
            None,
            vec![],
        );
        assert_eq!(r.privacy.as_deref(), Some("private"));
        assert_eq!(
            r.url.as_deref(),
            Some("https://www.youtube.com/watch?v=abcdefghijk")
        );
        let note = r
            .notes
            .iter()
            .find(|n| n.contains("YouTube applied private"))
            .unwrap_or_else(|| panic!("{:?}", r.notes));
        assert!(note.contains("you asked for public"), "{note}");
        assert!(note.contains("Upload defaults"), "{note}");
        assert!(!note.contains("audit"), "{note}");
        assert!(!r.notes.iter().any(|n| n.contains("/shorts/")));
        for (asked, applied) in [(Privacy::Public, "public"), (Privacy::Private, "private")] {
            let r = report(
                &file(600, 1920, 1080),
                &checked(asked),
                video(applied),
                None,
                vec![],
            );
            assert!(
                !r.notes.iter().any(|n| n.contains("YouTube applied")),
                "{:?}",
                r.notes
            );
        }
        let r = report(
            &file(600, 1920, 1080),
            &checked(Privacy::Unlisted),
            video("public"),
            None,
            vec![],
        );
        assert!(
            r.notes.iter().any(|n| n.contains("YouTube applied public")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn shorts_are_vertical_or_square_and_at_most_three_minutes() {
        let has_short = |f: VideoFile| {
            report(
                &f,
                &checked(Privacy::Private),
                video("private"),
                None,
                vec![],
            )
            .notes
            .iter()
            .any(|n| n.contains("https://www.youtube.com/shorts/abcdefghijk"))
        };
        assert!(has_short(file(180, 1080, 1920)));
        assert!(has_short(file(30, 1080, 1080)));
        assert!(!has_short(file(181, 1080, 1920)));
        assert!(!has_short(file(30, 1920, 1080)));
    }
}
