//! What YouTube accepts, checked before a byte is sent (reference §3.1, §4.1, §4.2, §7).
//! Every refusal here would otherwise cost quota and come back as a 400 after the session
//! request, or worse, after the upload.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use keryx_core::{Context, Error, Metadata, Result, VideoFile};

use crate::api::{Privacy, SnippetInsert, StatusInsert, VideoInsert};
use crate::config::{YouTubeConfig, check_category};
use crate::options;

pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_DESCRIPTION_BYTES: usize = 5000;
pub const MAX_TAGS_CHARS: usize = 500;
/// The discovery document's `maxSize` for videos (§3.1).
pub const MAX_VIDEO_BYTES: u64 = 274_877_906_944;
/// YouTube caps videos at 12 hours (§3.1).
pub const MAX_DURATION: Duration = Duration::from_secs(12 * 3600);
/// Longer videos need a phone-verified channel (§3.1).
pub const UNVERIFIED_MAX_DURATION: Duration = Duration::from_secs(15 * 60);
/// thumbnails.set's `maxSize` since 2026-09-14: 50 MiB (discovery revision 20261104, §7).
pub const MAX_THUMBNAIL_BYTES: u64 = 50 * 1024 * 1024;

/// A checked thumbnail. Its bytes are streamed from the file when it is set (up to 50 MiB
/// need not sit in memory); a file that shrinks in between is caught then.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub path: PathBuf,
    pub mime: &'static str,
    pub size: u64,
}

/// Everything `keryx post youtube` will send, checked.
#[derive(Debug, Clone)]
pub struct Checked {
    pub insert: VideoInsert,
    pub thumbnail: Option<Thumbnail>,
    /// The title came from the file name, not from --title.
    pub title_from_file: bool,
}

pub fn check(
    ctx: &Context,
    config: &YouTubeConfig,
    video: &VideoFile,
    metadata: &Metadata,
) -> Result<Checked> {
    check_video(ctx, video)?;

    let (title, title_from_file) = match &metadata.title {
        Some(title) => (title.trim().to_string(), false),
        None => (title_from_path(&video.path)?, true),
    };
    check_title(&title).map_err(|e| {
        if title_from_file {
            e.context("the title taken from the file name")
                .with_hint("give a title with --title")
        } else {
            e
        }
    })?;
    let description = metadata
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(String::from);
    if let Some(description) = &description {
        check_description(description)?;
    }
    let tags = clean_tags(&metadata.tags);
    check_tags(&tags)?;
    let category_id = metadata
        .text(options::CATEGORY)
        .map(String::from)
        .or_else(|| config.category.clone());
    if let Some(category) = &category_id {
        check_category(category)?;
    }

    let publish_at = metadata
        .text(options::PUBLISH_AT)
        .map(|t| parse_publish_at(ctx, t))
        .transpose()?;
    let privacy = choose_privacy(
        config.privacy,
        metadata.privacy.as_deref(),
        publish_at.is_some(),
    )?;

    let made_for_kids = metadata
        .flag(options::MADE_FOR_KIDS)
        .or(config.made_for_kids)
        .ok_or_else(|| {
        Error::input("YouTube needs to know whether this video is made for kids, and keryx will not guess")
            .with_hint(
                "set `made_for_kids: false` (or true) under platforms.youtube in the config for your usual \
                 audience, or pass --youtube-made-for-kids for this video",
            )
    })?;

    let thumbnail = metadata
        .path(options::THUMBNAIL)
        .map(read_thumbnail)
        .transpose()?;

    Ok(Checked {
        insert: VideoInsert {
            snippet: SnippetInsert {
                title,
                description,
                tags,
                category_id,
            },
            status: StatusInsert {
                privacy_status: privacy,
                publish_at,
                self_declared_made_for_kids: made_for_kids,
                contains_synthetic_media: metadata.ai_generated,
            },
        },
        thumbnail,
        title_from_file,
    })
}

fn check_video(ctx: &Context, video: &VideoFile) -> Result<()> {
    if video.size > MAX_VIDEO_BYTES {
        return Err(Error::input(format!(
            "{} is {} bytes; YouTube takes at most 256 GiB ({MAX_VIDEO_BYTES} bytes)",
            video.path.display(),
            video.size
        ))
        .with_hint("export a smaller file"));
    }
    if let Some(duration) = video.duration {
        if duration > MAX_DURATION {
            return Err(Error::input(format!(
                "{} is {:.1} hours long; YouTube takes at most 12 hours",
                video.path.display(),
                duration.as_secs_f64() / 3600.0
            ))
            .with_hint("split or trim the video"));
        }
        if duration > UNVERIFIED_MAX_DURATION {
            ctx.ui.warn("videos over 15 minutes need a phone-verified YouTube channel (https://www.youtube.com/verify)");
        }
    }
    Ok(())
}

/// The file name without its extension, as YouTube Studio does when no title is given.
fn title_from_path(path: &Path) -> Result<String> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().trim().to_string())
        .unwrap_or_default();
    if stem.is_empty() {
        return Err(Error::input(format!("{} gives no title", path.display()))
            .with_hint("give a title with --title"));
    }
    Ok(stem)
}

/// 1–100 characters (Unicode scalar values; §4.1 leaves "characters" unverified), no `<`/`>`.
pub fn check_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(
            Error::input("the YouTube title is empty").with_hint("give a title with --title")
        );
    }
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(Error::input(format!(
            "the YouTube title is {chars} characters; YouTube allows {MAX_TITLE_CHARS}"
        ))
        .with_hint("shorten --title"));
    }
    if title.contains(['<', '>']) {
        return Err(
            Error::input("the YouTube title contains < or >, which YouTube refuses")
                .with_hint("remove the angle brackets from --title"),
        );
    }
    Ok(())
}

/// At most 5000 **bytes** of UTF-8 (§4.1), no `<`/`>`.
pub fn check_description(description: &str) -> Result<()> {
    let bytes = description.len();
    if bytes > MAX_DESCRIPTION_BYTES {
        return Err(Error::input(format!(
            "the YouTube description is {bytes} bytes in UTF-8; YouTube allows {MAX_DESCRIPTION_BYTES} bytes \
             (accented letters and emoji take 2-4 bytes each)"
        ))
        .with_hint("shorten --description"));
    }
    if description.contains(['<', '>']) {
        return Err(
            Error::input("the YouTube description contains < or >, which YouTube refuses")
                .with_hint("remove the angle brackets, e.g. write \"->\" as \"→\""),
        );
    }
    Ok(())
}

/// Tags as the user wrote them, minus surrounding blanks and a leading `#` (a hashtag habit
/// from other platforms; YouTube tags are plain keywords).
pub fn clean_tags(tags: &[String]) -> Vec<String> {
    tags.iter()
        .map(|t| t.trim().trim_start_matches('#').trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The length YouTube counts for tags (§4.1): every character, the commas between tags, and
/// two quote characters for each tag containing a space.
pub fn tags_length(tags: &[String]) -> usize {
    let own: usize = tags
        .iter()
        .map(|t| t.chars().count() + if t.contains(' ') { 2 } else { 0 })
        .sum();
    own + tags.len().saturating_sub(1)
}

pub fn check_tags(tags: &[String]) -> Result<()> {
    let length = tags_length(tags);
    if length > MAX_TAGS_CHARS {
        return Err(Error::input(format!(
            "the YouTube tags count {length} characters; YouTube allows {MAX_TAGS_CHARS} in total"
        ))
        .with_hint("drop some --tag values (commas between tags count, and a tag with a space counts 2 more)"));
    }
    if tags.iter().any(|t| t.contains(['<', '>'])) {
        return Err(Error::input("a YouTube tag contains < or >")
            .with_hint("remove the angle brackets from the tags"));
    }
    Ok(())
}

/// RFC 3339, normalised to UTC for the API (§4.2).
fn parse_publish_at(ctx: &Context, text: &str) -> Result<String> {
    let when = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|e| {
        Error::input(format!(
            "--youtube-publish-at `{text}` is not an RFC 3339 time"
        ))
        .with_source(e)
        .with_hint("write it like 2026-12-24T18:00:00Z or 2026-12-24T19:00:00+01:00")
    })?;
    if when <= OffsetDateTime::now_utc() {
        ctx.ui.warn(&format!("--youtube-publish-at {text} is in the past: YouTube will publish the video as soon as it is processed"));
    }
    when.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| {
            Error::input(format!(
                "--youtube-publish-at `{text}` cannot be written as RFC 3339"
            ))
            .with_source(e)
        })
}

/// The privacy to send: what was asked, or the config's cap, never more open than the cap.
/// A scheduled video is sent private and turns public at `publishAt` (§4.2), so scheduling
/// needs a cap of public.
pub fn choose_privacy(cap: Privacy, asked: Option<&str>, scheduled: bool) -> Result<Privacy> {
    let privacy = match asked {
        Some(text) => Privacy::parse(text).ok_or_else(|| {
            Error::input(format!("`{text}` is not a YouTube privacy"))
                .with_hint("use private, unlisted or public")
        })?,
        None if scheduled => Privacy::Private,
        None => cap,
    };
    if privacy > cap {
        return Err(Error::input(format!(
            "privacy {} is more open than the config allows ({})",
            privacy.as_str(),
            cap.as_str()
        ))
        .with_hint(
            "raise platforms.youtube.privacy in the config, or ask for less with --privacy",
        ));
    }
    if scheduled {
        if privacy != Privacy::Private {
            return Err(Error::input(format!("--youtube-publish-at needs privacy private, not {}", privacy.as_str()))
                .with_hint("YouTube keeps a scheduled video private until the time comes; leave out --privacy or pass --privacy private"));
        }
        if cap != Privacy::Public {
            return Err(Error::input(format!(
                "--youtube-publish-at makes the video public at that time, but the config caps privacy at {}",
                cap.as_str()
            ))
            .with_hint("set platforms.youtube.privacy: public to allow scheduled publishing"));
        }
    }
    Ok(privacy)
}

/// JPEG or PNG by their first bytes, at most 50 MiB (§7).
fn read_thumbnail(path: &Path) -> Result<Thumbnail> {
    use std::io::Read;

    let shown = path.display();
    let unreadable = |e: std::io::Error| {
        Error::input(format!("cannot read the thumbnail {shown}"))
            .with_source(e)
            .with_hint("check the --youtube-thumbnail path")
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let size = file.metadata().map_err(unreadable)?.len();
    if size > MAX_THUMBNAIL_BYTES {
        return Err(Error::input(format!(
            "the thumbnail {shown} is {size} bytes; YouTube takes at most 50 MiB ({MAX_THUMBNAIL_BYTES} bytes)"
        ))
        .with_hint("export it smaller: YouTube recommends 16:9, at most 3840x2160 (a JPEG of that size is a few MB)"));
    }
    let mut head = Vec::with_capacity(8);
    file.take(8).read_to_end(&mut head).map_err(unreadable)?;
    let Some(mime) = image_type(&head) else {
        return Err(Error::input(format!(
            "the thumbnail {shown} is neither a JPEG nor a PNG image"
        ))
        .with_hint("YouTube takes JPEG or PNG thumbnails; convert it first"));
    };
    Ok(Thumbnail {
        path: path.to_path_buf(),
        mime,
        size,
    })
}

/// The MIME type from the magic bytes, never from the file name.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tag_length_rule_from_the_reference() {
        assert_eq!(tags_length(&tags(&["Foo-Baz"])), 7);
        assert_eq!(tags_length(&tags(&["Foo Baz"])), 9);
        assert_eq!(tags_length(&tags(&["Foo-Baz", "Foo Baz"])), 7 + 1 + 9);
        assert_eq!(tags_length(&[]), 0);
        assert_eq!(tags_length(&tags(&["é"])), 1, "characters, not bytes");
        // 50 tags of 9 characters and 49 commas: 499; 500 is the limit, 501 too many.
        let mut list = vec!["abcdefghi".to_string(); 50];
        assert_eq!(tags_length(&list), 499);
        list[0].push('j');
        assert_eq!(tags_length(&list), 500);
        assert!(check_tags(&list).is_ok());
        list[0].push('k');
        assert!(check_tags(&list).is_err());
        // A space costs two: 499 without the quotes becomes 501.
        let mut spaced = vec!["abcdefghi".to_string(); 50];
        spaced[0] = "abcd efgh".to_string();
        assert_eq!(tags_length(&spaced), 501);
        assert!(check_tags(&spaced).is_err());
    }

    #[test]
    fn tags_are_cleaned() {
        assert_eq!(
            clean_tags(&tags(&[" #sunset ", "", "#", "time lapse"])),
            tags(&["sunset", "time lapse"])
        );
    }

    #[test]
    fn title_limits_count_characters() {
        assert!(check_title(&"a".repeat(100)).is_ok());
        assert!(check_title(&"a".repeat(101)).is_err());
        assert!(
            check_title(&"é".repeat(100)).is_ok(),
            "200 bytes but 100 characters"
        );
        assert!(check_title(&"😀".repeat(100)).is_ok());
        assert!(check_title("").is_err());
        assert!(check_title("   ").is_err());
        assert!(check_title("a <b>").is_err());
        assert!(check_title("a > b").is_err());
    }

    #[test]
    fn description_limits_count_bytes() {
        assert!(check_description(&"a".repeat(5000)).is_ok());
        assert!(check_description(&"a".repeat(5001)).is_err());
        assert!(check_description(&"é".repeat(2500)).is_ok());
        let err = check_description(&"é".repeat(2501)).unwrap_err();
        assert!(err.message().contains("5002 bytes"), "{}", err.message());
        assert!(check_description("x < y").is_err());
    }

    #[test]
    fn privacy_stays_within_the_cap() {
        assert_eq!(
            choose_privacy(Privacy::Private, None, false).unwrap(),
            Privacy::Private
        );
        assert_eq!(
            choose_privacy(Privacy::Unlisted, None, false).unwrap(),
            Privacy::Unlisted
        );
        assert_eq!(
            choose_privacy(Privacy::Public, Some("UNLISTED"), false).unwrap(),
            Privacy::Unlisted
        );
        assert!(choose_privacy(Privacy::Private, Some("public"), false).is_err());
        assert!(choose_privacy(Privacy::Unlisted, Some("public"), false).is_err());
        assert!(choose_privacy(Privacy::Public, Some("friends"), false).is_err());
        // Scheduling: private now, public later, so the cap must be public.
        assert_eq!(
            choose_privacy(Privacy::Public, None, true).unwrap(),
            Privacy::Private
        );
        assert_eq!(
            choose_privacy(Privacy::Public, Some("private"), true).unwrap(),
            Privacy::Private
        );
        assert!(choose_privacy(Privacy::Public, Some("unlisted"), true).is_err());
        assert!(choose_privacy(Privacy::Private, None, true).is_err());
    }

    #[test]
    fn thumbnails_are_recognised_by_magic_bytes() {
        assert_eq!(
            image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some("image/jpeg")
        );
        assert_eq!(
            image_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some("image/png")
        );
        assert_eq!(image_type(b"GIF89a"), None);
        assert_eq!(image_type(b""), None);

        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("t.jpg");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\nrest").unwrap();
        assert_eq!(
            read_thumbnail(&png).unwrap().mime,
            "image/png",
            "the name does not matter"
        );
        // 50 MiB is taken (the limit since 2026-09-14), one byte more is not.
        let big = dir.path().join("big.png");
        let file = std::fs::File::create(&big).unwrap();
        std::io::Write::write_all(&mut &file, b"\x89PNG\r\n\x1a\n").unwrap();
        file.set_len(MAX_THUMBNAIL_BYTES).unwrap();
        assert_eq!(read_thumbnail(&big).unwrap().size, 52_428_800);
        file.set_len(MAX_THUMBNAIL_BYTES + 1).unwrap();
        let e = read_thumbnail(&big).unwrap_err();
        assert!(
            e.message().contains("at most 50 MiB (52428800 bytes)"),
            "{}",
            e.message()
        );
        let gif = dir.path().join("t.gif");
        std::fs::write(&gif, b"GIF89a....").unwrap();
        assert!(read_thumbnail(&gif).is_err());
        assert!(read_thumbnail(&dir.path().join("missing.png")).is_err());
    }

    #[test]
    fn titles_from_file_names() {
        assert_eq!(
            title_from_path(Path::new("/v/My trip.mp4")).unwrap(),
            "My trip"
        );
        assert!(title_from_path(Path::new("/")).is_err());
    }
}
