//! TikTok's own posting options (the rest of a post is core's shared metadata). Each becomes
//! `--tiktok-<name>` and a key of the sidecar's `tiktok:` section.

use keryx_core::PostOption;

pub const ALLOW_COMMENTS: &str = "allow-comments";
pub const ALLOW_DUET: &str = "allow-duet";
pub const ALLOW_STITCH: &str = "allow-stitch";
pub const BRANDED_CONTENT: &str = "branded-content";
pub const YOUR_BRAND: &str = "your-brand";
pub const COVER_AT: &str = "cover-at";

pub const OPTIONS: &[PostOption] = &[
    PostOption::flag(ALLOW_COMMENTS, "Allow comments (off unless given)"),
    PostOption::flag(ALLOW_DUET, "Allow duets (off unless given)"),
    PostOption::flag(ALLOW_STITCH, "Allow stitches (off unless given)"),
    PostOption::flag(
        BRANDED_CONTENT,
        "Disclose commercial content promoting a third party (paid partnership)",
    ),
    PostOption::flag(
        YOUR_BRAND,
        "Disclose commercial content promoting your own brand",
    ),
    PostOption::duration(
        COVER_AT,
        "The cover frame, as a time in the video (2.5s, 1500ms); default the first frame",
    ),
];
