//! YouTube's own posting options (the rest of a post is core's shared metadata). Each becomes
//! `--youtube-<name>` and a key of the sidecar's `youtube:` section.

use keryx_core::PostOption;

pub const CATEGORY: &str = "category";
pub const MADE_FOR_KIDS: &str = "made-for-kids";
pub const PUBLISH_AT: &str = "publish-at";
pub const THUMBNAIL: &str = "thumbnail";

pub const OPTIONS: &[PostOption] = &[
    PostOption::text(
        CATEGORY,
        "ID",
        "Category id, e.g. 22 (People & Blogs); default platforms.youtube.category",
    ),
    PostOption::flag(
        MADE_FOR_KIDS,
        "Declare the video made for kids (default: platforms.youtube.made_for_kids)",
    ),
    PostOption::text(
        PUBLISH_AT,
        "TIME",
        "Publish later (RFC 3339, e.g. 2026-12-24T18:00:00Z); needs privacy private",
    ),
    PostOption::path(
        THUMBNAIL,
        "IMAGE",
        "A custom thumbnail (JPEG or PNG, at most 50 MB); a Short's waits for processing",
    ),
];
